#include "runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "faketime.h"
#include "goexe.h"
#include "samples.h"
#include "scenario_refs.h"
#include "sockq.h"
#include "dump_go.h"
#include "dump_pprof.h"
#include "dump_text.h"
#include "threads.h"
#include "timeline.h"
#include "util.h"
#include "wire_evidence.h"

extern char **environ;

/* How long a peer gets to exit after the end of the run is announced (its control pipe
 * closed), and again after SIGTERM, before its group is killed. */
#define TERM_GRACE_NS (1000 * 1000000LL)

/* The run's states, changed only through set_state (traced with FAULTLINE_TRACE). */
typedef enum {
  RUN_STARTING_SERVER, /* the server peer is starting; the capture opens meanwhile */
  RUN_STARTING_PROXY,  /* the server is ready; the path proxy starts in front of it */
  RUN_STARTING_CLIENT, /* the server (and proxy) are ready: the capture begins, the client
                          starts */
  RUN_RUNNING,         /* both peers run their scripts */
  RUN_ENDING,          /* the run is over: evidence is taken, the peers are ended */
  RUN_ENDED,
} run_state;

static const char *const run_state_names[] = {
    "starting_server", "starting_proxy", "starting_client", "running", "ending", "ended"};

static const char *const end_names[] = {[FL_END_FINISHED] = "finished",
                                        [FL_END_HANG] = "hang",
                                        [FL_END_TIMEOUT] = "timeout",
                                        [FL_END_INTERRUPTED] = "interrupted",
                                        [FL_END_ERROR] = "error"};

/* The processes of a run: the two sides, indexed by fl_side, then the path proxy. */
enum { SRC_PROXY = FL_N_SIDES, N_SOURCES };

/* One process the runner started and reads events from. */
typedef struct {
  fl_side side;  /* a peer's side (not meaningful for the proxy) */
  bool is_proxy; /* the path proxy: it has no side, plan or script */
  unsigned from; /* its FL_FROM_* bit */
  const char *name;
  const fl_side_plan *plan;
  pid_t pid;
  bool spawned, exited;
  int ev_fd;      /* read end of its event pipe, -1 once at EOF */
  int ctl_fd;     /* write end of its control pipe, -1 once closed */
  bool *released; /* [plan->n_steps]: barriers and dump steps the runner released */
  char buf[2 * FL_EVENT_MAX_LINE];
  size_t len;              /* bytes in buf */
  size_t off;              /* of them, handled: read_events keeps it true across a nested call */
  fl_clock_env clock;      /* the environment its clock: plan starts it with */
  char stamp[PATH_MAX];    /* clock: the timestamp file its jumps rewrite */
  int64_t clock_offset_ns; /* clock: its offset now (jumps add to it) */
  bool jumped[64];         /* clock: jumps that fired */
  /* An external side (plan/external.h): its plan, its output (stdout and stderr, copied into
   * SIDE.stderr), and its readiness. */
  const fl_external_plan *ext;
  char exe[PATH_MAX]; /* the program as started */
  int out_fd;         /* the read end of its output pipe, -1 once at EOF */
  int log_fd;         /* SIDE.stderr */
  bool have_rx, ready_seen;
  regex_t ready_rx;
  char line[4096];
  size_t line_len;
  int port;                  /* a server's {port}, or its target's */
  int64_t ready_deadline_ns; /* a server: its start_timeout ends then */
  FILE *quit_file;           /* a Go program's goroutine dump being written (go_dumps) */
  /* Process faults: a pause in force until resume_at_ns (INT64_MAX: for ever), a restart
   * due at restart_at_ns (-1: none), and how many restarts so far. */
  bool paused;
  int64_t resume_at_ns;
  int64_t restart_at_ns;
  int restarts;
  bool at_line_start; /* in its output, for counting the dump's goroutines */
  int goroutines;
} source;

typedef struct {
  const fl_scenario *s;
  const fl_run_options *o;
  fl_run_result *r;
  fl_observe *obs;
  run_state state;
  bool ended;        /* end_reason is set */
  fl_end_reason end; /* why the run ends; the first reason wins */
  int64_t t0;
  fl_timeline *timeline;
  int sigfd;
  source src[N_SOURCES];
  bool proxied;              /* the client dials the path proxy (faults.h: fl_faults_need_proxy) */
  char proxy_error[400];     /* its own `error` event */
  int64_t *fired_at;         /* [s->n_faults]: when each fault fired (run time), -1 not yet */
  const char *scenario_copy; /* the run directory's scenario.yaml, which the peers read */
  int64_t wall_t0;           /* CLOCK_REALTIME beside t0: the capture's stamps are realtime */
  fl_wire_evidence *wire;
  fl_capture *capture;
  FILE *samples;
  int64_t next_sample_ns;
  int64_t hang_at, hang_asked_at; /* fl_observe_hang_at's last answer and when (hang_due) */
  int64_t sync_until; /* proxy_caught_up: `sync` was sent and is waited for until then; 0: not */
  bool synced;        /* the proxy's `synced` came */
  fl_activity activity[FL_N_SIDES]; /* per-thread context switches, for idle times in dumps */
  int dumps_per_side[FL_N_SIDES];
  char protocol_error[400]; /* the first line that broke the event protocol */
} run;

static int64_t now_rel(const run *rn) { return fl_mono_ns() - rn->t0; }

static void set_state(run *rn, run_state st) {
  if (rn->state == st) return;
  fl_trace("runner", "state %s -> %s (t=%.3fms)", run_state_names[rn->state], run_state_names[st],
           (double)now_rel(rn) / 1e6);
  rn->state = st;
}

/* Ends the run for `reason` (the first reason given wins). */
static void end_run(run *rn, fl_end_reason reason) {
  if (rn->ended) return;
  fl_trace("runner", "end: %s", end_names[reason]);
  rn->ended = true;
  rn->end = reason;
}

#define runner_event(rn, id, ...)                                                                  \
  fl_timeline_add_runner((rn)->timeline, now_rel(rn), (id), (fl_event_kv[]){__VA_ARGS__},          \
                         sizeof((fl_event_kv[]){__VA_ARGS__}) / sizeof(fl_event_kv))

static const char *name_of(const source *p) { return p->name; }

static int fail(run *rn, const char *fmt, const char *arg);

/* ---- events from the peers -------------------------------------------------------------- */

static void dump_step(run *rn, source *p, const fl_event *ev);
static void sample_peer(run *rn, source *p, bool baseline);
static void sample_all(run *rn);

/* Releases every barrier whose predicate now holds: called after each event, so a barrier
 * opens on the event that makes it true, not on a timer. */
static void release_barriers(run *rn) {
  for (int i = 0; i < FL_N_SIDES; i++) {
    source *p = &rn->src[i];
    if (p->ctl_fd < 0) continue;
    for (size_t idx = 0; idx < p->plan->n_steps; idx++) {
      const fl_step *step = &p->plan->steps[idx];
      if (step->kind != FL_STEP_WAIT || p->released[idx] ||
          !fl_observe_waiting_at(rn->obs, p->side, idx))
        continue;
      if (!fl_predicate_eval(step->predicate, fl_observe_lookup, rn->obs, NULL)) continue;
      if (fl_control_write(p->ctl_fd, FL_CONTROL_GO, (uint64_t)idx) == 0) {
        p->released[idx] = true;
        runner_event(rn, FL_EV_RELEASE, FL_KV_S(PEER, name_of(p)), FL_KV_I(INDEX, idx));
      }
    }
  }
}

/* Fires every clock jump whose trigger holds (injectors/clock.h, step 5). */
static void fire_jumps(run *rn, int64_t now) {
  for (int i = 0; i < FL_N_SIDES; i++) {
    source *p = &rn->src[i];
    const fl_clock_plan *cp = &p->plan->clock;
    for (size_t k = 0; k < cp->n_jumps && k < 64; k++) {
      if (p->jumped[k] || !p->spawned) continue;
      const fl_clock_jump *j = &cp->jumps[k];
      bool due =
          j->on ? fl_predicate_eval(j->on, fl_observe_lookup, rn->obs, NULL) : now >= j->after_ns;
      if (!due) continue;
      char err[512];
      p->jumped[k] = true;
      if (fl_clock_fire_jump(cp, k, &p->clock_offset_ns, p->stamp, err, sizeof err) < 0)
        fail(rn, "clock jump: %s", err);
      runner_event(rn, FL_EV_CLOCK_JUMP, FL_KV_S(PEER, name_of(p)), FL_KV_I(INDEX, k),
                   FL_KV_I(OFFSET_MS, p->clock_offset_ns / 1000000));
    }
  }
}

/* Fires every fault whose trigger is the runner's to judge (a predicate on the peers' fields,
 * faults.h) the first time it holds: the proxy is told `fire K` and acts at once. Called after
 * each event, like release_barriers. */
static void process_fault(run *rn, size_t k, int64_t now);

/* When an `after:` trigger of fault k is due (run time), or INT64_MAX while what it counts from
 * has not happened: the first call's start (on either side), or fault `since` firing. */
static int64_t after_due(const run *rn, const fl_fault *f) {
  int64_t from = -1;
  if (f->trigger.since >= 0) {
    from = rn->fired_at[f->trigger.since];
  } else {
    for (int i = 0; i < FL_N_SIDES; i++) {
      const fl_side_obs *st = fl_observe_side(rn->obs, (fl_side)i);
      if (st->n_calls && st->calls[0].started && (from < 0 || st->calls[0].start_ns < from))
        from = st->calls[0].start_ns;
    }
  }
  return from < 0 ? INT64_MAX : from + f->trigger.after_ns;
}

/* The earliest `after:` of a fault the runner fires that is still ahead, or INT64_MAX. */
static int64_t next_fault_due(const run *rn) {
  int64_t next = INT64_MAX;
  for (size_t k = 0; k < rn->s->n_faults && rn->fired_at; k++) {
    const fl_fault *f = &rn->s->faults[k];
    if (rn->fired_at[k] >= 0 || !fl_fault_fired_by_runner(f) || f->trigger.kind != FL_TRIGGER_AFTER)
      continue;
    int64_t due = after_due(rn, f);
    if (due < next) next = due;
  }
  return next;
}

/* Fires every fault the runner judges (faults.h: fl_fault_fired_by_runner) the first time its
 * trigger holds: a path fault on a peer's fields is written to the proxy as `fire K`; a process
 * fault the runner carries out itself. Called after each event, like release_barriers, and at
 * each turn of the loop (for `after:`). */
static void fire_faults(run *rn) {
  source *px = &rn->src[SRC_PROXY];
  int64_t now = now_rel(rn);
  for (size_t k = 0; k < rn->s->n_faults && rn->fired_at; k++) {
    const fl_fault *f = &rn->s->faults[k];
    if (rn->fired_at[k] >= 0 || !fl_fault_fired_by_runner(f)) continue;
    bool due = f->trigger.kind == FL_TRIGGER_ON
                   ? fl_predicate_eval(f->trigger.predicate, fl_observe_lookup, rn->obs, NULL)
                   : after_due(rn, f) <= now;
    if (!due) continue;
    rn->fired_at[k] = now;
    if (fl_action_layer(f->action.kind) == FL_LAYER_PROCESS) {
      process_fault(rn, k, now);
    } else if (px->ctl_fd >= 0 && fl_control_write(px->ctl_fd, FL_CONTROL_FIRE, (uint64_t)k) == 0) {
      runner_event(rn, FL_EV_FIRE, FL_KV_I(INDEX, k));
    }
  }
}

/* What the runner itself takes from the proxy's events: its port, its error, and the frames
 * it acted on (marked in frames.txt). */
static void proxy_event(run *rn, const fl_event *ev) {
  if (ev->id == FL_EV_READY) rn->r->proxy.port = (int)fl_event_int(ev, FL_ATTR_PORT, 0);
  if (ev->id == FL_EV_SYNCED) rn->synced = true;
  if (ev->id == FL_EV_ERROR && !rn->proxy_error[0])
    snprintf(rn->proxy_error, sizeof rn->proxy_error, "the path proxy failed: %.*s",
             (int)ev->str_len[FL_ATTR_MESSAGE],
             fl_event_str(ev, FL_ATTR_MESSAGE) ? fl_event_str(ev, FL_ATTR_MESSAGE) : "");
  if (rn->wire) fl_wire_evidence_proxy_event(rn->wire, ev);
  /* A path fault that fired: a process fault's `since:` may count from it. */
  int64_t k = fl_event_int(ev, FL_ATTR_INDEX, -1);
  if (ev->id == FL_EV_FAULT && k >= 0 && (size_t)k < rn->s->n_faults && rn->fired_at[k] < 0)
    rn->fired_at[k] = now_rel(rn);
}

static void handle_line(run *rn, source *p, char *line) {
  char copy[512], why[256];
  snprintf(copy, sizeof copy, "%s", line);
  fl_event ev;
  int64_t arrival = now_rel(rn);
  if (fl_event_parse(line, p->from, &ev, why, sizeof why) < 0) {
    /* A bug of ours (the peers are faultline's): kept, and the run fails. */
    runner_event(rn, FL_EV_PROTOCOL_ERROR, FL_KV_S(PEER, name_of(p)), FL_KV_S(ERROR, why),
                 FL_KV_S(LINE, copy));
    if (!rn->protocol_error[0])
      snprintf(rn->protocol_error, sizeof rn->protocol_error,
               "the %s peer broke the event "
               "protocol: %s (line \"%.120s\")",
               name_of(p), why, copy);
    return;
  }
  if (rn->state >= RUN_ENDING) {
    /* The peer reports its own teardown: kept, not judged. */
    int64_t t = ev.stamp_ns - rn->t0;
    fl_timeline_add(rn->timeline, t, arrival, name_of(p), &ev, true);
    return;
  }
  fl_observe_set_now(rn->obs, arrival);
  int64_t t = fl_observe_event(rn->obs, p->from, &ev, arrival);
  fl_timeline_add(rn->timeline, t, arrival, name_of(p), &ev, false);
  if (p->is_proxy) proxy_event(rn, &ev);
  if (ev.id == FL_EV_DUMP && !p->is_proxy) dump_step(rn, p, &ev);
  /* The RSS baseline is taken when the side's first call starts (later calls must not move
   * it). */
  if (!p->is_proxy && ev.id == FL_EV_CALL_START &&
      fl_observe_side(rn->obs, p->side)->calls_started == 1)
    sample_peer(rn, p, true);
  release_barriers(rn);
  fire_faults(rn);
  fire_jumps(rn, now_rel(rn));
}

/*
 * Reads what the peer wrote; handles whole lines. On EOF closes the pipe. A line's handling
 * may come back here for the same source (a restart fault it fires reaps the process, which
 * reads the rest of its pipe): each line is marked handled (p->off) before it is handled, so
 * the nested call goes on after it and the outer one finds where the nested one stopped.
 */
static void read_events(run *rn, source *p) {
  while (p->ev_fd >= 0) {
    memmove(p->buf, p->buf + p->off, p->len - p->off);
    p->len -= p->off;
    p->off = 0;
    ssize_t n = read(p->ev_fd, p->buf + p->len, sizeof p->buf - 1 - p->len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close(p->ev_fd);
      p->ev_fd = -1;
      if (!p->is_proxy) fl_observe_events_closed(rn->obs, p->side);
      return;
    }
    p->len += (size_t)n;
    p->buf[p->len] = '\0';
    char *nl;
    while ((nl = memchr(p->buf + p->off, '\n', p->len - p->off))) {
      char *line = p->buf + p->off;
      *nl = '\0';
      p->off = (size_t)(nl + 1 - p->buf);
      handle_line(rn, p, line);
    }
    if (p->len - p->off == sizeof p->buf - 1) {
      p->buf[64] = '\0';
      runner_event(rn, FL_EV_PROTOCOL_ERROR, FL_KV_S(PEER, name_of(p)),
                   FL_KV_S(ERROR, "a line longer than the protocol allows"), FL_KV_S(LINE, p->buf));
      if (!rn->protocol_error[0])
        snprintf(rn->protocol_error, sizeof rn->protocol_error,
                 "the %s peer wrote a line longer than the event protocol allows", name_of(p));
      p->len = p->off = 0;
    }
  }
}

/* ---- processes -------------------------------------------------------------------------- */

/* Moves fd to target in the child, even if the two collide with each other. */
static int move_fd(int fd, int target) {
  if (fd == target) return fcntl(fd, F_SETFD, 0);
  return dup2(fd, target) < 0 ? -1 : 0;
}

/* What a child gets: its program and words, its environment, where its output goes (fd 1
 * and 2), its event and control pipes (fd 3 and 4; -1: none) and its working directory. */
typedef struct {
  const char *program; /* a path; with search_path a name looked up in PATH too */
  bool search_path;
  const char *const *argv;
  char *const *envp;
  int out_fd;
  int events_fd, control_fd;
  const char *cwd; /* NULL: the runner's */
} child_spec;

/* Open files a side needs beyond one a connection: C core's own (epoll, wakeup pipes), the
 * peer's pipes, libraries', with room to spare. */
#define NOFILE_MARGIN 256

/* fl_nofile_record: a connection is a socket on either side, so the client's channels (open at
 * once: `per_call` ones at most `concurrency`) count for both. An external client's
 * connections are its own to know, and leave the limit alone. */
static void plan_nofile(const fl_scenario *s, fl_nofile_record *rec) {
  const fl_calls_plan *cp = &s->calls;
  struct rlimit now;
  if (s->client.external.present || getrlimit(RLIMIT_NOFILE, &now) != 0) return;
  int connections = (int)(cp->per_call ? cp->concurrency : cp->channels);
  long need = connections + NOFILE_MARGIN;
  if (now.rlim_cur == RLIM_INFINITY || (rlim_t)need <= now.rlim_cur) return;
  /* With the privilege (CAP_SYS_RESOURCE) the hard limit goes up too: raised here, in the
   * runner, which is harmless and tells whether it may; the sides inherit it. */
  rlim_t ceiling = now.rlim_max;
  if ((rlim_t)need > now.rlim_max &&
      setrlimit(RLIMIT_NOFILE, &(struct rlimit){now.rlim_cur, (rlim_t)need}) == 0)
    ceiling = (rlim_t)need;
  *rec = (fl_nofile_record){.raised = true,
                            .need = need,
                            .from = (long)now.rlim_cur,
                            .to = (long)((rlim_t)need < ceiling ? (rlim_t)need : ceiling),
                            .connections = connections};
}

/* In the child (async-signal-safe): the raise plan_nofile planned, unless the side's plan
 * sets its own. */
static int apply_nofile(const fl_run_result *r, const fl_side_plan *plan) {
  if (!r->nofile.raised || (plan && plan->rlimits.nofile)) return 0;
  struct rlimit now, want;
  if (getrlimit(RLIMIT_NOFILE, &now) != 0) return -1;
  want.rlim_cur = (rlim_t)r->nofile.to;
  want.rlim_max = now.rlim_max;
  return setrlimit(RLIMIT_NOFILE, &want);
}

/*
 * Forks and execs `c` for `p` in its own process group with PR_SET_PDEATHSIG. Returns 0 with
 * p->pid set, or -1 with the reason in err: a fork that failed, or the child's own start-up
 * failure (its errno comes back through a close-on-exec pipe, as libuv's uv_spawn does, so
 * "cannot execute ...: No such file or directory" is known at once; the child then exits 127
 * and is reaped with the others).
 */
static int fork_child(run *rn, source *p, const child_spec *c, char *err, size_t errlen) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) {
    fl_set_err(err, errlen, "cannot create a pipe: %s", strerror(errno));
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    fl_set_err(err, errlen, "cannot fork: %s", strerror(errno));
    close(report[0]);
    close(report[1]);
    return -1;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); /* the runner died before prctl took effect */
    /* Lift the descriptors above the target numbers first so dup2 cannot clobber them. */
    int out = fcntl(c->out_fd, F_DUPFD_CLOEXEC, 10);
    int evw = c->events_fd >= 0 ? fcntl(c->events_fd, F_DUPFD_CLOEXEC, 10) : -2;
    int ctlr = c->control_fd >= 0 ? fcntl(c->control_fd, F_DUPFD_CLOEXEC, 10) : -2;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || evw == -1 || ctlr == -1 || devnull < 0 || move_fd(devnull, 0) ||
        move_fd(out, 1) || move_fd(out, 2) || (evw >= 0 && move_fd(evw, 3)) ||
        (ctlr >= 0 && move_fd(ctlr, 4)) || (c->cwd && chdir(c->cwd) != 0) ||
        (!p->is_proxy && apply_nofile(rn->r, p->plan) != 0) ||
        (p->plan && fl_rlimits_apply(&p->plan->rlimits) != 0)) {
      int e = errno;
      (void)!write(report[1], &e, sizeof e);
      _exit(127);
    }
    if (c->search_path)
      execvpe(c->program, (char *const *)c->argv, c->envp);
    else
      execve(c->program, (char *const *)c->argv, c->envp);
    int e = errno;
    (void)!write(report[1], &e, sizeof e);
    _exit(127);
  }
  close(report[1]);
  setpgid(pid, pid); /* also here, so the group exists whichever process runs first */
  p->pid = pid;
  p->spawned = true;
  if (!p->is_proxy) fl_observe_spawned(rn->obs, p->side, pid);
  if (p->is_proxy) rn->r->proxy = (fl_proxy_record){.used = true, .pid = pid};
  int child_errno = 0;
  ssize_t n;
  while ((n = read(report[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  close(report[0]);
  if (n == sizeof child_errno) {
    fl_set_err(err, errlen, "cannot execute %s: %s", c->program, strerror(child_errno));
    return -1;
  }
  runner_event(rn, FL_EV_SPAWN, FL_KV_S(PEER, name_of(p)), FL_KV_I(PID, pid));
  return 0;
}

/* SIDE.stderr; after a restart fault SIDE-N.stderr, the Nth start's (the first is kept). */
static void side_log_name(const source *p, char *out, size_t len) {
  if (p->restarts)
    snprintf(out, len, "%s-%d.stderr", name_of(p), p->restarts + 1);
  else
    snprintf(out, len, "%s.stderr", name_of(p));
}

/* The side's environment: the runner's, its clock's (injectors/faketime.h) and, for an
 * external program, its env: entries. NULL when out of memory; free with free(). */
static char **side_env(const source *p) {
  size_t n_env = 0;
  while (environ[n_env]) n_env++;
  size_t extra = p->ext ? p->ext->n_env : 0;
  size_t cap = n_env + FL_CLOCK_MAX_VARS + extra + 1;
  char **envp = calloc(cap, sizeof *envp);
  if (!envp || fl_clock_envp(&p->clock, environ, envp, cap) < 0) {
    free(envp);
    return NULL;
  }
  size_t used = 0;
  while (envp[used]) used++;
  for (size_t i = 0; i < extra; i++) {
    /* A variable the scenario sets replaces the inherited one. */
    const char *e = p->ext->env[i];
    size_t name = strcspn(e, "=");
    size_t j = 0;
    while (j < used && !(strncmp(envp[j], e, name) == 0 && envp[j][name] == '=')) j++;
    envp[j] = (char *)e;
    if (j == used) used++;
  }
  return envp;
}

/*
 * Starts the process for `p`: a built-in peer (`target`: the address its client dials), or the
 * path proxy (`target`: the server it forwards to), with event and control pipes. Returns 0,
 * or -1 with the reason in err.
 */
static int spawn_peer(run *rn, source *p, const char *scenario_copy, const char *target, char *err,
                      size_t errlen) {
  int ev[2] = {-1, -1}, ctl[2] = {-1, -1}, errfd = -1;
  const char *program = p->is_proxy ? rn->o->proxy_path : rn->o->peer_path;
  char errname[32];
  side_log_name(p, errname, sizeof errname);
  char **envp = NULL;
  int rv = -1;
  if (pipe2(ev, O_CLOEXEC) < 0 || pipe2(ctl, O_CLOEXEC) < 0) {
    fl_set_err(err, errlen, "cannot create a pipe: %s", strerror(errno));
    goto out;
  }
  errfd = fl_rundir_open(rn->o->rd, errname, err, errlen);
  if (errfd < 0) goto out;
  if (!(envp = side_env(p))) {
    fl_set_err(err, errlen, "out of memory");
    goto out;
  }
  const char *argv[14] = {program,        "--scenario", scenario_copy, "--events-fd", "3",
                          "--control-fd", "4"};
  int argc = 7;
  if (!p->is_proxy) {
    argv[argc++] = "--side";
    argv[argc++] = name_of(p);
    /* The scenario's relative paths (a payload's proto and file, decode:) are those of the
     * user's file, not of the run directory's copy. */
    if (rn->s->base_dir) {
      argv[argc++] = "--base-dir";
      argv[argc++] = rn->s->base_dir;
    }
  }
  if (target) {
    argv[argc++] = p->is_proxy ? "--upstream" : "--target";
    argv[argc++] = target;
  }
  argv[argc] = NULL;
  child_spec c = {.program = program,
                  .argv = argv,
                  .envp = envp,
                  .out_fd = errfd,
                  .events_fd = ev[1],
                  .control_fd = ctl[0]};
  if (fork_child(rn, p, &c, err, errlen) < 0) goto out;
  fcntl(ev[0], F_SETFL, O_NONBLOCK);
  p->ev_fd = ev[0];
  p->ctl_fd = ctl[1];
  ev[0] = ctl[1] = -1;
  rv = 0;
out:
  free(envp);
  for (int i = 0; i < 2; i++) {
    if (ev[i] >= 0) close(ev[i]);
    if (ctl[i] >= 0) close(ctl[i]);
  }
  if (errfd >= 0) (void)fl_rundir_close_fd(rn->o->rd, errfd);
  return rv;
}

/*
 * Starts the external program of `p` (plan/external.h) with its placeholders filled: `port`
 * for a server, `target` for a client. Its stdout and stderr come to the runner through a
 * pipe (p->out_fd), which copies them into SIDE.stderr and watches them for `ready: { log }`.
 * Returns 0, or -1 with the reason in err.
 */
static int spawn_external(run *rn, source *p, int port, const char *target, char *err,
                          size_t errlen) {
  const fl_external_plan *e = p->ext;
  char errname[32];
  side_log_name(p, errname, sizeof errname);
  int out[2] = {-1, -1};
  char **envp = NULL, **argv = calloc(e->argc + 1, sizeof *argv);
  char cwd[PATH_MAX];
  int rv = -1;
  if (!argv || !(envp = side_env(p))) {
    fl_set_err(err, errlen, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < e->argc; i++) {
    char word[PATH_MAX];
    if (fl_external_expand(e->argv[i], port, target, word, sizeof word, err, errlen) < 0 ||
        !(argv[i] = strdup(word))) {
      if (!argv[i] && !err[0]) fl_set_err(err, errlen, "out of memory");
      goto out;
    }
  }
  /* A relative cwd (and a relative program) is the scenario file's directory's business, not
   * the shell's: `exec: [./server]` beside the scenario works from anywhere. A bare program
   * name is looked up in PATH. Where a written path is: plan/scenario_refs.h's one rule. */
  bool search = !strchr(argv[0], '/');
  char program[PATH_MAX];
  if (fl_scenario_ref_path(rn->s, e->cwd ? e->cwd : ".", cwd, sizeof cwd, err, errlen) < 0 ||
      fl_scenario_ref_path(rn->s, argv[0], program, sizeof program, err, errlen) < 0)
    goto out;
  if (search) snprintf(program, sizeof program, "%s", argv[0]);
  if (!search && !realpath(program, p->exe)) {
    fl_set_err(err, errlen, "cannot find the %s program %s: %s", name_of(p), program,
               strerror(errno));
    goto out;
  }
  if (search) snprintf(p->exe, sizeof p->exe, "%s", program);
  if (pipe2(out, O_CLOEXEC) < 0) {
    fl_set_err(err, errlen, "cannot create a pipe: %s", strerror(errno));
    goto out;
  }
  if ((p->log_fd = fl_rundir_open(rn->o->rd, errname, err, errlen)) < 0) goto out;
  child_spec c = {.program = p->exe,
                  .search_path = search,
                  .argv = (const char *const *)argv,
                  .envp = envp,
                  .out_fd = out[1],
                  .events_fd = -1,
                  .control_fd = -1,
                  .cwd = cwd};
  if (fork_child(rn, p, &c, err, errlen) < 0) goto out;
  fl_observe_external(rn->obs, p->side);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  p->out_fd = out[0];
  out[0] = -1;
  rv = 0;
out:
  for (int i = 0; i < 2; i++)
    if (out[i] >= 0) close(out[i]);
  if (argv)
    for (size_t i = 0; i < e->argc; i++) free(argv[i]);
  free(argv);
  free(envp);
  return rv;
}

/* Copies what an external program wrote into SIDE.stderr; until it is ready, matches each
 * whole line against its `ready: { log }`. On EOF closes the pipe. */
static void read_output(run *rn, source *p) {
  char buf[8192];
  for (;;) {
    ssize_t n = read(p->out_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close(p->out_fd);
      p->out_fd = -1;
      return;
    }
    (void)!fl_rundir_write(rn->o->rd, p->log_fd, buf, (size_t)n);
    if (p->quit_file) {
      fwrite(buf, 1, (size_t)n, p->quit_file);
      for (ssize_t i = 0; i < n; i++) {
        if (p->at_line_start && !strncmp(buf + i, "goroutine ", (size_t)(n - i < 10 ? n - i : 10)))
          p->goroutines++;
        p->at_line_start = buf[i] == '\n';
      }
    }
    if (!p->have_rx || p->ready_seen) continue;
    for (ssize_t i = 0; i < n && !p->ready_seen; i++) {
      if (buf[i] != '\n' && p->line_len < sizeof p->line - 1) {
        p->line[p->line_len++] = buf[i];
        continue;
      }
      if (buf[i] != '\n') continue; /* a line longer than the buffer: its start is judged */
      p->line[p->line_len] = '\0';
      p->line_len = 0;
      if (regexec(&p->ready_rx, p->line, 0, NULL, 0) == 0) p->ready_seen = true;
    }
  }
}

/* Whether something accepts connections on host:port (a loopback connect answers at
 * once: accepted, or refused). */
static bool port_accepts(const char *host, int port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  if (getaddrinfo(host, service, &hints, &ai) != 0) return false;
  bool ok = false;
  for (struct addrinfo *a = ai; a && !ok; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    close(fd);
  }
  freeaddrinfo(ai);
  return ok;
}

/* A loopback port nobody listens on now, for an external server's {port}. */
static int free_port(char *err, size_t errlen) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  else
    fl_set_err(err, errlen, "cannot find a free loopback port: %s", strerror(errno));
  if (fd >= 0) close(fd);
  return port;
}

static void note_exit(run *rn, source *p, int status, const struct rusage *ru) {
  p->exited = true;
  if (p->is_proxy) {
    rn->r->proxy.exited = true;
    rn->r->proxy.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    rn->r->proxy.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  if (p->clock.faked) fl_clock_cleanup(p->pid); /* libfaketime's /dev/shm files */
  if (WIFSIGNALED(status)) {
    if (!p->is_proxy) fl_observe_exited(rn->obs, p->side, 0, WTERMSIG(status), ru->ru_maxrss);
    char sig[32];
    snprintf(sig, sizeof sig, "SIG%s", sigabbrev_np(WTERMSIG(status)));
    runner_event(rn, FL_EV_EXIT, FL_KV_S(PEER, name_of(p)), FL_KV_S(SIGNAL, sig));
  } else {
    if (!p->is_proxy) fl_observe_exited(rn->obs, p->side, WEXITSTATUS(status), 0, ru->ru_maxrss);
    runner_event(rn, FL_EV_EXIT, FL_KV_S(PEER, name_of(p)), FL_KV_I(CODE, WEXITSTATUS(status)));
  }
  read_events(rn, p); /* everything it wrote is in the pipe now */
  if (p->out_fd >= 0) read_output(rn, p);
  if (p->ctl_fd >= 0) {
    close(p->ctl_fd);
    p->ctl_fd = -1;
  }
}

static void reap(run *rn, bool block) {
  for (int i = 0; i < N_SOURCES; i++) {
    source *p = &rn->src[i];
    if (!p->spawned || p->exited) continue;
    int status;
    struct rusage ru;
    pid_t w = wait4(p->pid, &status, block ? 0 : WNOHANG, &ru);
    if (w == p->pid) note_exit(rn, p, status, &ru);
  }
}

static bool all_exited(const run *rn) {
  for (int i = 0; i < N_SOURCES; i++)
    if (rn->src[i].spawned && !rn->src[i].exited) return false;
  return true;
}

static bool stop_signal(uint32_t signo) {
  return signo == SIGINT || signo == SIGTERM || signo == SIGHUP;
}

/* Reaps peers until all have exited or `grace_ns` has passed, woken by SIGCHLD. */
static void await_exits(run *rn, int64_t grace_ns) {
  int64_t until = fl_mono_ns() + grace_ns;
  for (reap(rn, false); !all_exited(rn) && fl_mono_ns() < until; reap(rn, false)) {
    struct pollfd pfd = {.fd = rn->sigfd, .events = POLLIN};
    if (poll(&pfd, 1, (int)((until - fl_mono_ns()) / 1000000) + 1) > 0) {
      struct signalfd_siginfo si;
      while (read(rn->sigfd, &si, sizeof si) == sizeof si)
        if (stop_signal(si.ssi_signo)) end_run(rn, FL_END_INTERRUPTED);
    }
  }
}

/*
 * Ends every peer: first by closing their control pipes (a peer reads EOF as "the run is over"
 * and leaves at once), then SIGTERM to each process group, then SIGKILL. Each step waits a
 * bounded time for SIGCHLD; the final SIGKILL to each group also takes anything a peer may have
 * forked.
 */
static void end_peers(run *rn) {
  set_state(rn, RUN_ENDING);
  for (int i = 0; i < N_SOURCES; i++) {
    source *p = &rn->src[i];
    if (!p->is_proxy) fl_observe_ending(rn->obs, p->side);
    /* A paused process hears nothing but SIGKILL: continue it first. */
    if (p->paused && p->spawned && !p->exited) kill(-p->pid, SIGCONT);
    p->paused = false;
    if (p->ctl_fd >= 0) {
      close(p->ctl_fd);
      p->ctl_fd = -1;
    }
    /* An external program has no control pipe: SIGTERM is how it is told (a real server's
     * own graceful stop). */
    if (p->ext && p->spawned && !p->exited) kill(-p->pid, SIGTERM);
  }
  await_exits(rn, TERM_GRACE_NS);
  for (int i = 0; i < N_SOURCES; i++)
    if (rn->src[i].spawned && !rn->src[i].exited) kill(-rn->src[i].pid, SIGTERM);
  await_exits(rn, TERM_GRACE_NS);
  for (int i = 0; i < N_SOURCES; i++)
    if (rn->src[i].spawned) kill(-rn->src[i].pid, SIGKILL);
  reap(rn, true);
}

/* ---- process faults --------------------------------------------------------------------- */

static int start_server(run *rn, const char *scenario_copy, char *err, size_t errlen);

static void fault_event(run *rn, size_t k, const source *p, const char *action) {
  runner_event(rn, FL_EV_FAULT, FL_KV_I(INDEX, k), FL_KV_S(ACTION, action),
               FL_KV_S(PEER, name_of(p)));
}

static void resume(run *rn, source *p, size_t k, int64_t now) {
  if (!p->paused) return;
  p->paused = false;
  if (p->spawned && !p->exited) kill(-p->pid, SIGCONT);
  fl_observe_paused(rn->obs, p->side, false, now);
  fault_event(rn, k, p, "resumed");
}

/* Ends side p for a restart fault (its exit is the fault's doing) and starts it again now or,
 * with a delay, at restart_at_ns. */
static void restart(run *rn, source *p, const fl_action *a, int64_t now) {
  fl_observe_fault_signal(rn->obs, p->side);
  if (p->paused) kill(-p->pid, SIGCONT);
  p->paused = false;
  if (p->ctl_fd >= 0) {
    close(p->ctl_fd); /* a built-in peer leaves at once */
    p->ctl_fd = -1;
  }
  kill(-p->pid, SIGTERM);
  int64_t until = fl_mono_ns() + TERM_GRACE_NS;
  while (!p->exited && fl_mono_ns() < until) {
    struct pollfd pfd = {.fd = rn->sigfd, .events = POLLIN};
    (void)poll(&pfd, 1, 10);
    reap(rn, false);
  }
  if (!p->exited) {
    kill(-p->pid, SIGKILL);
    reap(rn, true);
  }
  fl_observe_restarted(rn->obs, p->side);
  p->restarts++;
  p->spawned = p->exited = false;
  p->ev_fd = p->out_fd = -1;
  p->len = p->off = 0; /* a line the old process left unfinished is not the new one's */
  if (p->log_fd >= 0) (void)fl_rundir_close_fd(rn->o->rd, p->log_fd);
  p->log_fd = -1;
  memset(p->released, 0, (p->plan->n_steps + 1) * sizeof *p->released);
  p->restart_at_ns = now + a->delay_ns;
}

/* A due restart: the side starts again on its port (a built-in server listens where it did). */
static void restart_due(run *rn, source *p, int64_t now) {
  if (p->restart_at_ns < 0 || now < p->restart_at_ns) return;
  p->restart_at_ns = -1;
  char err[512], addr[64];
  int port = p->port ? p->port : fl_observe_side(rn->obs, p->side)->port;
  int rc;
  if (p->ext) {
    rc = start_server(rn, rn->scenario_copy, err, sizeof err);
  } else {
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    rc = spawn_peer(rn, p, rn->scenario_copy, addr, err, sizeof err);
  }
  if (rc < 0) fail(rn, "a restart fault could not start the server again: %s", err);
  p->port = port;
}

/*
 * Carries out process fault k (plan/faults.h, layer process) on the sides it names, each a
 * `fault` event: pause (SIGSTOP to the side's process group; SIGCONT after `for`), kill
 * (SIGKILL), signal (one signal to the process, as `kill -NAME` would), restart (the server
 * ends and starts again on the same port). A side with no process (not started, gone, or a
 * target) gets `refused`.
 */
static void process_fault(run *rn, size_t k, int64_t now) {
  const fl_fault *f = &rn->s->faults[k];
  const fl_action *a = &f->action;
  for (int i = 0; i < FL_N_SIDES; i++) {
    source *p = &rn->src[i];
    bool aimed = f->toward == FL_TOWARD_BOTH ||
                 (f->toward == FL_TOWARD_SERVER) == (p->side == FL_SIDE_SERVER);
    if (!aimed) continue;
    if (!p->spawned || p->exited) {
      fault_event(rn, k, p, "refused");
      continue;
    }
    switch (a->kind) {
    case FL_ACTION_PAUSE:
      if (p->paused) break;
      kill(-p->pid, SIGSTOP);
      p->paused = true;
      p->resume_at_ns = a->for_ns == FL_FOREVER ? INT64_MAX : now + a->for_ns;
      fl_observe_paused(rn->obs, p->side, true, now);
      fault_event(rn, k, p, "paused");
      break;
    case FL_ACTION_KILL:
      fl_observe_fault_signal(rn->obs, p->side);
      kill(-p->pid, SIGKILL);
      fault_event(rn, k, p, "killed");
      break;
    case FL_ACTION_SIGNAL:
      if (a->signal == SIGCONT && p->paused) {
        resume(rn, p, k, now);
        break;
      }
      if (a->signal != SIGCONT) fl_observe_fault_signal(rn->obs, p->side);
      if (p->paused) kill(-p->pid, SIGCONT); /* else the signal waits behind the stop */
      p->paused = false;
      kill(p->pid, a->signal);
      fault_event(rn, k, p, "signalled");
      break;
    case FL_ACTION_RESTART:
      restart(rn, p, a, now);
      fault_event(rn, k, p, "restarted");
      break;
    default: break; /* path faults are the proxy's */
    }
  }
}

/* Pauses whose time is up, and restarts that are due. */
static void process_timers(run *rn, int64_t now) {
  for (int i = 0; i < FL_N_SIDES; i++) {
    source *p = &rn->src[i];
    if (p->paused && now >= p->resume_at_ns) {
      for (size_t k = 0; k < rn->s->n_faults; k++)
        if (rn->s->faults[k].action.kind == FL_ACTION_PAUSE && rn->fired_at[k] >= 0) {
          resume(rn, p, k, now);
          break;
        }
    }
    restart_due(rn, p, now);
  }
}

/* The earliest of those timers, or INT64_MAX. */
static int64_t next_process_timer(const run *rn) {
  int64_t next = INT64_MAX;
  for (int i = 0; i < FL_N_SIDES; i++) {
    const source *p = &rn->src[i];
    if (p->paused && p->resume_at_ns < next) next = p->resume_at_ns;
    if (p->restart_at_ns >= 0 && p->restart_at_ns < next) next = p->restart_at_ns;
  }
  return next;
}

/* ---- evidence: capture, samples and thread dumps ---------------------------------------- */

/* Opens the capture while the server peer starts (setting up the kernel's ring is the slow
 * part), keeping nothing yet. Without the privilege the run goes on and the report says why. */
static void open_capture(run *rn) {
  fl_capture_record *c = &rn->r->capture;
  c->requested = rn->s->capture.pcap;
  if (!c->requested) return;
  int snaplen = rn->s->capture.snaplen > 0 ? rn->s->capture.snaplen : FL_CAPTURE_SNAPLEN_DEFAULT;
  /* The file only once the socket works: a run without the privilege leaves none. */
  int fd = -1;
  if (fl_capture_prepare("lo", snaplen, &rn->capture, c->error, sizeof c->error) < 0 ||
      (fd = fl_rundir_open(rn->o->rd, "capture.pcap", c->error, sizeof c->error)) < 0 ||
      fl_capture_attach(rn->capture, fd, "capture.pcap", c->error, sizeof c->error) < 0) {
    if (rn->capture) (void)fl_capture_stop(rn->capture, NULL);
    rn->capture = NULL;
    runner_event(rn, FL_EV_CAPTURE, FL_KV_S(ERROR, c->error));
    if (rn->o->progress) fprintf(stderr, "  %s; the run goes on without it\n", c->error);
  }
}

/* Begins keeping the server port's packets once the port is known and before the client
 * exists, so the capture holds the connection from its handshake on. */
static void begin_capture(run *rn) {
  fl_capture_record *c = &rn->r->capture;
  if (!rn->capture) return;
  int server_port = fl_observe_side(rn->obs, FL_SIDE_SERVER)->port;
  if (rn->proxied)
    snprintf(c->filter, sizeof c->filter, "tcp port %d or tcp port %d", rn->r->proxy.port,
             server_port);
  else
    snprintf(c->filter, sizeof c->filter, "tcp port %d", server_port);
  if (fl_capture_begin(rn->capture, c->filter, c->error, sizeof c->error) < 0) {
    (void)fl_capture_stop(rn->capture, NULL);
    rn->capture = NULL;
    runner_event(rn, FL_EV_CAPTURE, FL_KV_S(ERROR, c->error));
    return;
  }
  c->running = true;
  runner_event(rn, FL_EV_CAPTURE, FL_KV_S(FILTER, c->filter));
  rn->wire = rn->r->wire =
      fl_wire_evidence_new(rn->s, server_port, rn->proxied, rn->r->proxy.port, rn->wall_t0);
}

/* The capture read back as frames (wire_evidence.h): frames.txt, frames.jsonl, the findings,
 * and the wire fields of a run without the proxy. A capture that cannot be decoded leaves the
 * run as it is and says why in report.json. */
static void decode_capture(run *rn) {
  if (!rn->wire || !rn->r->capture.running) return;
  fl_capture_record *c = &rn->r->capture;
  if (fl_wire_evidence_write(rn->wire, rn->o->rd, rn->obs, c->frames_error,
                             sizeof c->frames_error) < 0 &&
      rn->o->progress)
    fprintf(stderr, "  frames.txt: %s\n", c->frames_error);
}

static void stop_capture(run *rn) {
  fl_capture_record *c = &rn->r->capture;
  if (rn->capture) {
    /* A capture that ended early or could not write its file is evidence that lost data:
     * the run says so in its verdict. */
    if (fl_capture_stop(rn->capture, c->running ? &c->stats : NULL) < 0 && c->running) {
      /* A write that failed goes to the run directory's record (the verdict names it); a
       * capture that ended early for another reason is incomplete evidence too. */
      if (c->stats.write_errno)
        fl_rundir_note(rn->o->rd, "capture.pcap", c->stats.write_errno);
      else
        fail(rn, "capture.pcap is incomplete: %s", c->stats.error);
    }
    rn->capture = NULL;
  }
  fl_observe_capture(rn->obs, c->running, c->stats.packets_written, c->stats.dropped);
}

/* One row of samples.csv for a live peer; `baseline` marks the sample growth is measured
 * from (taken when the call starts). */
static void sample_peer(run *rn, source *p, bool baseline) {
  fl_sample smp;
  if (!rn->samples || !p->spawned || p->exited || fl_sample_read(p->pid, &smp) < 0) return;
  int64_t now = now_rel(rn);
  fl_activity_update(&rn->activity[p->side], p->pid, now);
  fl_sample_write_row(rn->samples, (double)now / 1e6, name_of(p), p->pid, &smp);
  fl_observe_sample(rn->obs, p->side, now, smp.rss_kib, smp.threads, smp.fds, smp.cpu_ns, baseline);
}

/* The kernel's queues of the run's connections (sockq.h), for wire.SIDE.socket.*: the
 * server's sockets are those on its port, the client's those it dialled (the proxy's port when
 * the run is proxied). The proxy's own upstream sockets are neither side's. */
static void sample_sockets(run *rn) {
  int server_port = fl_observe_side(rn->obs, FL_SIDE_SERVER)->port;
  if (rn->state < RUN_RUNNING || server_port <= 0) return;
  int dialled = rn->proxied ? rn->r->proxy.port : server_port;
  uint16_t ports[2] = {(uint16_t)server_port, (uint16_t)dialled};
  fl_sockq q[64];
  int n = fl_sockq_read(ports, 2, q, 64);
  for (int i = 0; i < n; i++) {
    if (q[i].local_port == server_port)
      fl_observe_socket(rn->obs, FL_SIDE_SERVER, q[i].wqueue, q[i].rqueue);
    else if (q[i].remote_port == dialled)
      fl_observe_socket(rn->obs, FL_SIDE_CLIENT, q[i].wqueue, q[i].rqueue);
  }
}

static void sample_all(run *rn) {
  for (int i = 0; i < FL_N_SIDES; i++) sample_peer(rn, &rn->src[i], false);
  sample_sockets(rn);
  if (rn->samples) fflush(rn->samples);
}

/* A built-in peer's pending gRPC ops, from the model, for its thread dump: C core's threads all
 * wait in the completion queue; what they wait for is these ops (Go's goroutine blocked in
 * CloseSend is a pending close_send). Returns how many were written to out. */
static size_t pending_ops(run *rn, source *p, int64_t now, fl_pending_op *out, size_t max) {
  const fl_side_obs *st = fl_observe_side(rn->obs, p->side);
  size_t n = 0;
  for (uint32_t c = 0; c < st->n_calls; c++) {
    const fl_op_obs *ops = st->calls[c].ops;
    for (int k = 0; k < FL_N_OPS && n < max; k++) {
      if (!ops[k].pending) continue;
      bool step = ops[k].step >= 0 && (size_t)ops[k].step < p->plan->n_steps;
      /* What waits behind it: a send's own message; a half-close waits behind the send in
       * flight on its call. */
      int64_t queued = -1;
      if (k == FL_OP_SEND) queued = ops[k].bytes;
      if (k == FL_OP_CLOSE_SEND) queued = ops[FL_OP_SEND].pending ? ops[FL_OP_SEND].bytes : 0;
      out[n++] = (fl_pending_op){.op = fl_op_name((fl_op_kind)k),
                                 .call = (int)c + 1,
                                 .step_file = rn->s->path,
                                 .step_line = step ? p->plan->steps[ops[k].step].line : 0,
                                 .pending_ns = now - ops[k].since_ns,
                                 .queued_bytes = queued};
    }
  }
  return n;
}

/* One form of a dump into the run directory; a file that cannot be made or written is recorded
 * there (the verdict names it) and the record says so. */
static void write_dump(run *rn, fl_dump_record *d, const char *name, const fl_dump *dump,
                       int (*writer)(const fl_dump *, FILE *, char *, size_t)) {
  char err[256];
  FILE *f = fl_rundir_fopen(rn->o->rd, name, err, sizeof err);
  if (!f || writer(dump, f, err, sizeof err) < 0) {
    if (!d->error[0]) snprintf(d->error, sizeof d->error, "%s: %s", name, err);
  }
  if (f && fclose(f) != 0 && !d->error[0])
    snprintf(d->error, sizeof d->error, "%s: %s", name, strerror(errno));
}

/*
 * Dumps the threads of every live peer as one consistent picture: all are stopped with
 * SIGSTOP first, dumped, then continued. The runner is their parent, so it may trace them
 * under any ptrace scope.
 */
static void go_dumps(run *rn, const char *why);

/* `final`: the run ends after it (a hang, or the end), so a Go program of the user's may be
 * asked for its goroutines too, which ends it. */
static void snapshot(run *rn, const char *why, bool final) {
  bool stopped[FL_N_SIDES] = {false};
  sample_all(rn); /* the state just before the stop, and fresh per-thread activity */
  for (int i = 0; i < FL_N_SIDES; i++) {
    source *p = &rn->src[i];
    if (p->spawned && !p->exited && !p->paused && kill(p->pid, SIGSTOP) == 0) stopped[i] = true;
  }
  for (int i = 0; i < FL_N_SIDES; i++) {
    if (!stopped[i]) continue;
    source *p = &rn->src[i];
    int status;
    struct rusage ru;
    if (wait4(p->pid, &status, WUNTRACED, &ru) != p->pid || !WIFSTOPPED(status)) {
      stopped[i] = false;
      if (WIFEXITED(status) || WIFSIGNALED(status)) note_exit(rn, p, status, &ru);
    }
  }
  for (int i = 0; i < FL_N_SIDES; i++) {
    /* A side a pause fault stopped is dumped as it is, and stays stopped. */
    bool paused = rn->src[i].paused && rn->src[i].spawned && !rn->src[i].exited;
    if ((!stopped[i] && !paused) || rn->r->n_dumps == FL_MAX_DUMPS) continue;
    source *p = &rn->src[i];
    fl_dump_record *d = &rn->r->dumps[rn->r->n_dumps++];
    d->side = p->side;
    d->at_ns = now_rel(rn);
    snprintf(d->why, sizeof d->why, "%s", why);
    char stem[48];
    snprintf(stem, sizeof stem, "threads-%s-%d", name_of(p), ++rn->dumps_per_side[i]);
    snprintf(d->file, sizeof d->file, "%s" FL_DUMP_SUFFIX_TEXT, stem);
    snprintf(d->go_file, sizeof d->go_file, "%s" FL_DUMP_SUFFIX_GO, stem);
    snprintf(d->pprof_file, sizeof d->pprof_file, "%s" FL_DUMP_SUFFIX_PPROF, stem);
    fl_thread_idle idle[FL_MAX_TRACKED_THREADS];
    size_t n_idle = fl_activity_idle(&rn->activity[i], d->at_ns, idle, FL_MAX_TRACKED_THREADS);
    fl_pending_op pending[64];
    size_t n_pending = pending_ops(rn, p, d->at_ns, pending, 64);
    fl_dump_opts opts = {.label = name_of(p),
                         .why = why,
                         .idle = idle,
                         .n_idle = n_idle,
                         .pending = pending,
                         .n_pending = n_pending};
    fl_dump *dump = NULL;
    if (fl_dump_take(p->pid, &opts, &dump, d->error, sizeof d->error) < 0) {
      /* Nothing was taken: the human file says why, and only it exists. */
      d->go_file[0] = d->pprof_file[0] = '\0';
      FILE *f = fl_rundir_fopen(rn->o->rd, d->file, NULL, 0);
      if (f) {
        fprintf(f, "thread dump of %s (pid %d) failed: %s\n", name_of(p), (int)p->pid, d->error);
        fclose(f);
      }
    } else {
      d->threads = dump->nthreads;
      d->elapsed_ms = dump->elapsed_ms;
      write_dump(rn, d, d->file, dump, fl_dump_write_text);
      write_dump(rn, d, d->go_file, dump, fl_dump_write_go);
      write_dump(rn, d, d->pprof_file, dump, fl_dump_write_pprof);
      fl_dump_free(dump);
    }
    runner_event(rn, FL_EV_DUMP, FL_KV_S(PEER, name_of(p)), FL_KV_S(FILE, d->file),
                 FL_KV_I(THREADS, d->threads));
  }
  for (int i = 0; i < FL_N_SIDES; i++)
    if (stopped[i]) kill(rn->src[i].pid, SIGCONT);
  if (final) go_dumps(rn, why);
}

/* How long a Go program gets to print its goroutines and exit after SIGQUIT. */
#define GO_DUMP_GRACE_NS (3000 * 1000000LL)

/*
 * A Go program of the user's (goexe.h), at a hang or the end: SIGQUIT makes it print every
 * goroutine's stack to stderr and exit 2, so it comes after every other piece of evidence of
 * it (the libdw dump above, the samples). Its output from then on is kept as
 * goroutines-SIDE-N.txt (Go's own grammar: panicparse reads it), and its end is the runner's
 * doing, not a crash.
 */
static void go_dumps(run *rn, const char *why) {
  for (int i = 0; i < FL_N_SIDES; i++) {
    source *p = &rn->src[i];
    if (!p->ext || !p->spawned || p->exited || p->out_fd < 0 || rn->r->n_dumps == FL_MAX_DUMPS ||
        !fl_is_go_program(p->pid))
      continue;
    fl_dump_record *d = &rn->r->dumps[rn->r->n_dumps++];
    *d = (fl_dump_record){.side = p->side, .at_ns = now_rel(rn)};
    snprintf(d->why, sizeof d->why, "%s (SIGQUIT: Go's goroutine dump)", why);
    char file[sizeof d->file];
    snprintf(file, sizeof file, "goroutines-%s-%d.txt", name_of(p), ++rn->dumps_per_side[i]);
    memcpy(d->file, file, sizeof file);
    memcpy(d->go_file, file, sizeof file);
    read_output(rn, p); /* what it printed before goes to SIDE.stderr only */
    p->quit_file = fl_rundir_fopen(rn->o->rd, file, d->error, sizeof d->error);
    p->at_line_start = true;
    p->goroutines = 0;
    fl_observe_ending(rn->obs, p->side);
    int64_t t0 = fl_mono_ns();
    kill(p->pid, SIGQUIT);
    while (!p->exited && fl_mono_ns() - t0 < GO_DUMP_GRACE_NS) {
      struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
      if (poll(&pfd, 1, 50) > 0 && p->out_fd >= 0) read_output(rn, p);
      reap(rn, false);
    }
    if (!p->exited && !d->error[0])
      snprintf(d->error, sizeof d->error, "the program did not exit within %.0fs of SIGQUIT",
               GO_DUMP_GRACE_NS / 1e9);
    d->threads = p->goroutines;
    d->elapsed_ms = (double)(fl_mono_ns() - t0) / 1e6;
    if (p->quit_file && fclose(p->quit_file) != 0 && !d->error[0])
      snprintf(d->error, sizeof d->error, "%s: %s", file, strerror(errno));
    p->quit_file = NULL;
    runner_event(rn, FL_EV_DUMP, FL_KV_S(PEER, name_of(p)), FL_KV_S(FILE, file),
                 FL_KV_I(THREADS, d->threads));
  }
}

/* A `dump` step: the peer waits (like at a barrier) until the dump is taken. */
static void dump_step(run *rn, source *p, const fl_event *ev) {
  int64_t idx = fl_event_int(ev, FL_ATTR_INDEX, -1);
  if (idx < 0 || (size_t)idx >= p->plan->n_steps) return;
  char why[96];
  snprintf(why, sizeof why, "script step: %s dump (line %d)", name_of(p), p->plan->steps[idx].line);
  snapshot(rn, why, false);
  if (p->ctl_fd >= 0 && fl_control_write(p->ctl_fd, FL_CONTROL_GO, (uint64_t)idx) == 0) {
    p->released[idx] = true;
    runner_event(rn, FL_EV_RELEASE, FL_KV_S(PEER, name_of(p)), FL_KV_I(INDEX, idx));
  }
}

/* ---- the run ---------------------------------------------------------------------------- */

static int fail(run *rn, const char *fmt, const char *arg) {
  if (rn->r->harness_error) return -1;
  rn->r->harness_error = true;
  snprintf(rn->r->error, sizeof rn->r->error, fmt, arg);
  end_run(rn, FL_END_ERROR);
  return -1;
}

/* Whether an expect clause fails on the run as it stands: for `threads: on_failure`, judged
 * before the peers are ended so that their stacks can still be taken. */
static bool run_failing(run *rn) {
  fl_observe_end(rn->obs, rn->ended ? rn->end : FL_END_FINISHED, now_rel(rn));
  for (size_t i = 0; i < rn->s->n_expect; i++)
    if (!fl_predicate_eval(rn->s->expect[i].predicate, fl_observe_lookup, rn->obs, NULL))
      return true;
  return false;
}

static void handle_signals(run *rn) {
  struct signalfd_siginfo si;
  while (read(rn->sigfd, &si, sizeof si) == sizeof si) {
    if (stop_signal(si.ssi_signo) && !rn->ended) {
      end_run(rn, FL_END_INTERRUPTED);
      runner_event(rn, FL_EV_INTERRUPT, FL_KV_S(SIGNAL, sigabbrev_np((int)si.ssi_signo)));
    }
  }
  reap(rn, false);
}

/* The busy rule (observe.h): a peer burning CPU while nothing happens is no hang. Samples the
 * peers now; records a busy side with its busiest thread and returns true, or returns false. */
static bool found_busy(run *rn, int64_t now) {
  sample_all(rn);
  bool any = false;
  for (int i = 0; i < FL_N_SIDES; i++) {
    int64_t cpu, window;
    if (!fl_observe_busy(rn->obs, (fl_side)i, &cpu, &window)) continue;
    any = true;
    fl_busy_record *b = &rn->r->busy;
    const fl_side_obs *st = fl_observe_side(rn->obs, (fl_side)i);
    /* One busy period lasts while the side stays busy with no event of its own between. */
    bool same_period = b->seen && b->side == (fl_side)i && st->busy_at_ns >= st->last_event_ns;
    if (!same_period)
      *b = (fl_busy_record){.seen = true, .side = (fl_side)i, .since_ns = now - window};
    b->cpu_ns += cpu;
    b->at_ns = now;
    fl_thread_activity t;
    if (fl_activity_busiest(&rn->activity[i], &t)) {
      b->tid = t.tid;
      snprintf(b->thread, sizeof b->thread, "%s", t.comm);
    }
    fl_observe_busy_seen(rn->obs, (fl_side)i, now);
    if (same_period) continue;
    runner_event(rn, FL_EV_BUSY, FL_KV_S(PEER, fl_side_name((fl_side)i)), FL_KV_I(TID, b->tid),
                 FL_KV_S(NAME, b->thread), FL_KV_I(CPU_MS, cpu / 1000000),
                 FL_KV_I(WINDOW_MS, window / 1000000));
    if (rn->o->progress)
      fprintf(stderr,
              "  busy, not hung: %s thread %d \"%s\" used %.2fs of CPU in %.2fs without an "
              "event\n",
              fl_side_name((fl_side)i), (int)b->tid, b->thread, (double)cpu / 1e9,
              (double)window / 1e9);
  }
  return any;
}

/* The address the server is reached at: a built-in or started server on loopback, or the
 * target as the scenario names it. */
static void server_address(const run *rn, char *out, size_t len) {
  const source *srv = &rn->src[FL_SIDE_SERVER];
  int port = fl_observe_side(rn->obs, FL_SIDE_SERVER)->port;
  if (srv->ext && srv->ext->target && !srv->ext->target_loopback)
    snprintf(out, len, "%s", srv->ext->target);
  else
    snprintf(out, len, "127.0.0.1:%d", port);
}

/* Whether an external server is ready yet: its port accepts, or (ready: { log }) a line of its
 * output matched. Returns 0 (ready or not yet), or -1 having failed the run when its
 * start_timeout passed. */
static int external_ready(run *rn, source *p, int64_t now) {
  const fl_external_plan *e = p->ext;
  const char *host = e->target && !e->target_loopback ? e->target_host : "127.0.0.1";
  if (p->have_rx ? p->ready_seen : port_accepts(host, p->port)) {
    fl_observe_ready(rn->obs, p->side, p->port);
    return 0;
  }
  if (now < p->ready_deadline_ns) return 0;
  char why[700];
  if (e->target)
    snprintf(why, sizeof why, "the server target %s accepts no connection (waited %.1fs)",
             e->target, (double)e->start_timeout_ns / 1e9);
  else if (p->have_rx)
    snprintf(why, sizeof why,
             "the server program printed no line matching \"%.200s\" within %.1fs; see "
             "%.300s/server.stderr",
             e->ready_log, (double)e->start_timeout_ns / 1e9, fl_rundir_path(rn->o->rd));
  else
    snprintf(why, sizeof why,
             "the server program did not accept connections on port %d within %.1fs; see "
             "%.300s/server.stderr",
             p->port, (double)e->start_timeout_ns / 1e9, fl_rundir_path(rn->o->rd));
  return fail(rn, "%s", why);
}

/* Starts the server side: the built-in peer, an external program on a free port, or nothing
 * for a target already serving (loopback, unless --allow-remote). Returns 0 or -1 with err. */
static int start_server(run *rn, const char *scenario_copy, char *err, size_t errlen) {
  source *p = &rn->src[FL_SIDE_SERVER];
  if (!p->ext) return spawn_peer(rn, p, scenario_copy, NULL, err, errlen);
  p->ready_deadline_ns = now_rel(rn) + p->ext->start_timeout_ns;
  if (p->ext->target) {
    if (!p->ext->target_loopback && !rn->o->allow_remote) {
      fl_set_err(err, errlen,
                 "the target %s is not on this machine; faultline reaches another host only "
                 "with --allow-remote",
                 p->ext->target);
      return -1;
    }
    p->port = p->ext->target_port;
    fl_observe_external(rn->obs, p->side);
    return 0;
  }
  /* A restart starts it on the port it had. */
  if (!p->port && (p->port = free_port(err, errlen)) < 0) return -1;
  return spawn_external(rn, p, p->port, NULL, err, errlen);
}

/* When a hang would be declared. fl_observe_hang_at looks at every call's timers, and asked
 * once a loop turn it was most of the runner's time with 100,000 calls (bench/scale); so its
 * answer is kept until it is due or HANG_RECHECK_NS old. A kept answer is never acted on:
 * one that is due is asked again first. Events only move a hang later; only a timer that went
 * away (a call with a deadline ended) can make a kept answer late, and then by at most
 * HANG_RECHECK_NS. */
#define HANG_RECHECK_NS INT64_C(50000000)
static int64_t hang_due(run *rn, int64_t now) {
  if (rn->hang_asked_at < 0 || rn->hang_at <= now || now - rn->hang_asked_at >= HANG_RECHECK_NS) {
    rn->hang_at = fl_observe_hang_at(rn->obs);
    rn->hang_asked_at = now;
  }
  return rn->hang_at;
}

/* How long a finished run waits for the proxy's `synced`: it answers within a loop turn, so
 * this bounds only a proxy that is stuck. */
#define SYNC_WAIT_NS (1000 * 1000000LL)

/* Whether every event the proxy wrote before the run finished has been read (event.h, `sync`):
 * asks for it once and then waits, for SYNC_WAIT_NS at most. Without a proxy, or once it is
 * gone, there is nothing to wait for. */
static bool proxy_caught_up(run *rn, int64_t now) {
  source *proxy = &rn->src[SRC_PROXY];
  if (!rn->proxied || proxy->exited || proxy->ctl_fd < 0 || proxy->ev_fd < 0 || rn->synced)
    return true;
  if (!rn->sync_until) {
    if (fl_control_write(proxy->ctl_fd, FL_CONTROL_SYNC, 1) < 0) return true;
    rn->sync_until = now + SYNC_WAIT_NS;
  }
  return now >= rn->sync_until;
}

/* The loop: start the peers, read their events, sample, detect hangs and the timeout. */
static void run_loop(run *rn, const char *scenario_copy) {
  const fl_scenario *s = rn->s;
  char err[512];
  while (!rn->ended) {
    int64_t now = now_rel(rn);
    fl_observe_set_now(rn->obs, now);
    const fl_side_obs *server = fl_observe_side(rn->obs, FL_SIDE_SERVER);
    if (now >= s->timeout_ns) {
      end_run(rn, FL_END_TIMEOUT);
      runner_event(rn, FL_EV_TIMEOUT, FL_KV_I(AFTER_MS, s->timeout_ns / 1000000));
      break;
    }
    if (rn->state == RUN_RUNNING && fl_observe_complete(rn->obs) && proxy_caught_up(rn, now)) {
      end_run(rn, FL_END_FINISHED);
      break;
    }
    source *srv = &rn->src[FL_SIDE_SERVER];
    if (rn->state == RUN_STARTING_SERVER && srv->ext && external_ready(rn, srv, now) < 0) break;
    if (server->proc.exited && !server->ready && srv->restart_at_ns < 0) {
      fail(rn,
           srv->ext ? "the server program exited before it was ready; see %s/server.stderr"
                    : "the server peer exited before it was ready; see %s/server.stderr",
           fl_rundir_path(rn->o->rd));
      break;
    }
    source *proxy = &rn->src[SRC_PROXY];
    if (proxy->exited && !rn->r->proxy.port) {
      fail(rn, "the path proxy exited before it was ready; see %s/proxy.stderr",
           fl_rundir_path(rn->o->rd));
      break;
    }
    if (rn->state == RUN_STARTING_SERVER && server->ready) {
      char upstream[300];
      server_address(rn, upstream, sizeof upstream);
      set_state(rn, rn->proxied ? RUN_STARTING_PROXY : RUN_STARTING_CLIENT);
      if (rn->proxied && spawn_peer(rn, proxy, scenario_copy, upstream, err, sizeof err) < 0) {
        fail(rn, "cannot start the path proxy: %s", err);
        break;
      }
    }
    if (rn->state == RUN_STARTING_PROXY && rn->r->proxy.port) set_state(rn, RUN_STARTING_CLIENT);
    if (rn->state == RUN_STARTING_CLIENT) {
      begin_capture(rn);
      char target[300];
      if (rn->proxied)
        snprintf(target, sizeof target, "127.0.0.1:%d", rn->r->proxy.port);
      else
        server_address(rn, target, sizeof target);
      source *cl = &rn->src[FL_SIDE_CLIENT];
      if ((cl->ext ? spawn_external(rn, cl, 0, target, err, sizeof err)
                   : spawn_peer(rn, cl, scenario_copy, target, err, sizeof err)) < 0) {
        fail(rn, "cannot start the client peer: %s", err);
        break;
      }
      set_state(rn, RUN_RUNNING);
    }
    fire_jumps(rn, now);
    fire_faults(rn);
    process_timers(rn, now);
    int64_t hang = hang_due(rn, now);
    if (hang <= now && found_busy(rn, now)) continue;
    if (hang <= now) {
      end_run(rn, FL_END_HANG);
      runner_event(rn, FL_EV_HANG, FL_KV_I(QUIET_MS, s->hang_after_ns / 1000000));
      char why[96];
      snprintf(why, sizeof why, "hang: no progress for %.1fs with a call open",
               (double)s->hang_after_ns / 1e9);
      if (rn->o->progress) fprintf(stderr, "  %s\n", why);
      if (s->capture.threads == FL_THREADS_ON_HANG) snapshot(rn, why, true);
      break;
    }
    if (now >= rn->next_sample_ns) {
      sample_all(rn);
      while (rn->next_sample_ns <= now) rn->next_sample_ns += s->capture.sample_interval_ns;
    }
    int64_t wake = hang < s->timeout_ns ? hang : s->timeout_ns;
    if (rn->next_sample_ns < wake) wake = rn->next_sample_ns;
    int64_t fault_due = next_fault_due(rn), process_due = next_process_timer(rn);
    if (fault_due < wake) wake = fault_due;
    if (process_due < wake) wake = process_due;
    if (rn->sync_until && !rn->synced && rn->sync_until < wake) wake = rn->sync_until;
    for (int i = 0; i < FL_N_SIDES; i++)
      for (size_t k = 0; k < rn->src[i].plan->clock.n_jumps && k < 64; k++)
        if (!rn->src[i].jumped[k] && rn->src[i].plan->clock.jumps[k].after_ns >= 0 &&
            rn->src[i].plan->clock.jumps[k].after_ns < wake)
          wake = rn->src[i].plan->clock.jumps[k].after_ns;
    int timeout_ms = (int)((wake - now + 999999) / 1000000);

    /* An external server proven ready by its port is looked at again shortly: nothing tells
     * when a program starts listening. */
    if (rn->state == RUN_STARTING_SERVER && srv->ext && !srv->have_rx && timeout_ms > 10)
      timeout_ms = 10;
    struct pollfd pfds[1 + 2 * N_SOURCES] = {{.fd = rn->sigfd, .events = POLLIN}};
    for (int i = 0; i < N_SOURCES; i++) {
      pfds[1 + i] = (struct pollfd){.fd = rn->src[i].ev_fd, .events = POLLIN};
      pfds[1 + N_SOURCES + i] = (struct pollfd){.fd = rn->src[i].out_fd, .events = POLLIN};
    }
    int n = poll(pfds, 1 + 2 * N_SOURCES, timeout_ms);
    if (n < 0 && errno != EINTR) {
      fail(rn, "poll failed: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < N_SOURCES; i++) {
      if (pfds[1 + i].revents) read_events(rn, &rn->src[i]);
      if (pfds[1 + N_SOURCES + i].revents) read_output(rn, &rn->src[i]);
    }
    if (pfds[0].revents) handle_signals(rn);
  }
}

int fl_run(const fl_scenario *s, const fl_run_options *o, fl_run_result *r) {
  memset(r, 0, sizeof *r);
  run rn = {.s = s, .o = o, .r = r, .sigfd = -1, .state = RUN_STARTING_SERVER, .hang_asked_at = -1};
  rn.t0 = fl_mono_ns();
  plan_nofile(s, &r->nofile);
  struct timespec wall_ts;
  clock_gettime(CLOCK_REALTIME, &wall_ts);
  rn.wall_t0 = (int64_t)wall_ts.tv_sec * 1000000000LL + wall_ts.tv_nsec;
  rn.proxied = fl_faults_need_proxy(&s->path_plan, s->faults, s->n_faults);
  rn.fired_at = malloc((s->n_faults + 1) * sizeof *rn.fired_at);
  for (size_t k = 0; rn.fired_at && k < s->n_faults; k++) rn.fired_at[k] = -1;
  fl_observe_config cfg = {.scenario = s, .clock_shared = {true, true}, .t0_ns = rn.t0};
  char clock_err[600] = "";
  char lib[PATH_MAX] = "";
  bool clocks = s->server.clock.present || s->client.clock.present;
  if (clocks && (fl_clock_runner_check(clock_err, sizeof clock_err) < 0 ||
                 fl_clock_library(lib, sizeof lib, clock_err, sizeof clock_err) < 0))
    clocks = false;
  for (int i = 0; i < FL_N_SIDES && !clock_err[0]; i++) {
    source *p = &rn.src[i];
    const fl_side_plan *sp = i == FL_SIDE_SERVER ? &s->server : &s->client;
    /* libfaketime reads the side's timestamp file by path; it lives in the run directory,
     * which faultline made new, so nobody else can have put a link there. */
    char stamp_name[32];
    snprintf(stamp_name, sizeof stamp_name, "clock-%s.rc", fl_side_name((fl_side)i));
    snprintf(p->stamp, sizeof p->stamp, "%s/%s", fl_rundir_path(o->rd), stamp_name);
    if (sp->clock.present && fl_rundir_claim(o->rd, stamp_name, clock_err, sizeof clock_err) < 0)
      break;
    if (fl_clock_env_build(&sp->clock, lib, p->stamp, getenv("LD_PRELOAD"), &p->clock, clock_err,
                           sizeof clock_err) < 0)
      break;
    if (p->clock.uses_stamp_file &&
        fl_clock_stamp_write(p->stamp, p->clock.stamp_text, clock_err, sizeof clock_err) < 0)
      break;
    p->clock_offset_ns = p->clock.offset_ns;
    cfg.clock_shared[i] = !p->clock.monotonic_faked;
  }
  r->obs = rn.obs = fl_observe_new(&cfg);
  for (int i = 0; i < FL_N_SIDES; i++) {
    source *p = &rn.src[i];
    p->side = (fl_side)i;
    p->name = fl_side_name((fl_side)i);
    p->from = i == FL_SIDE_SERVER ? FL_FROM_SERVER : FL_FROM_CLIENT;
    p->plan = i == FL_SIDE_SERVER ? &s->server : &s->client;
    p->ev_fd = p->ctl_fd = -1;
    p->out_fd = p->log_fd = -1;
    p->restart_at_ns = -1;
    p->released = calloc(p->plan->n_steps + 1, sizeof *p->released);
    if (p->plan->external.present) {
      p->ext = &p->plan->external;
      /* Checked when the scenario was loaded; compiled again here for this run. */
      p->have_rx = p->ext->ready_log &&
                   regcomp(&p->ready_rx, p->ext->ready_log, REG_EXTENDED | REG_NOSUB) == 0;
    }
  }
  rn.src[SRC_PROXY] = (source){.is_proxy = true,
                               .name = "proxy",
                               .from = FL_FROM_PROXY,
                               .ev_fd = -1,
                               .ctl_fd = -1,
                               .out_fd = -1,
                               .log_fd = -1};
  r->timeline_by_arrival = !cfg.clock_shared[0] || !cfg.clock_shared[1];

  time_t wall = time(NULL);
  strftime(r->started_at, sizeof r->started_at, "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));

  sigset_t mask, oldmask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, &oldmask);
  /* A shell starts background jobs with SIGINT ignored, and an ignored signal is discarded
   * even while blocked; take the default back so signalfd sees it. */
  struct sigaction dfl = {.sa_handler = SIG_DFL}, old_int, old_term, old_hup;
  sigaction(SIGINT, &dfl, &old_int);
  sigaction(SIGTERM, &dfl, &old_term);
  sigaction(SIGHUP, &dfl, &old_hup);
  rn.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  /* A peer that exits closes its control pipe; writing to it must not kill the runner. */
  struct sigaction ignore = {.sa_handler = SIG_IGN}, old_pipe;
  sigaction(SIGPIPE, &ignore, &old_pipe);

  /* The peers read the scenario from the run directory's copy: the bytes this plan was parsed
   * from, so both sides run exactly what the runner judges. */
  char scenario_copy[PATH_MAX], err[512];
  snprintf(scenario_copy, sizeof scenario_copy, "%s/scenario.yaml", fl_rundir_path(o->rd));
  rn.scenario_copy = scenario_copy;
  FILE *live = NULL;
  bool ready = rn.obs && rn.src[0].released && rn.src[1].released && rn.fired_at;
  if (!ready) {
    fail(&rn, "%s", "out of memory");
  } else if (clock_err[0]) {
    fail(&rn, "%s", clock_err);
  } else if (rn.sigfd < 0) {
    fail(&rn, "cannot create a signalfd: %s", strerror(errno));
  } else if (fl_rundir_write_file(o->rd, "scenario.yaml", s->source, s->source_len, err,
                                  sizeof err) < 0 ||
             !(live = fl_rundir_fopen(o->rd, "events.jsonl", err, sizeof err)) ||
             fl_timeline_new(live, &rn.timeline, err, sizeof err) < 0) {
    fail(&rn, "%s", err);
  } else {
    rn.samples = fl_rundir_fopen(o->rd, "samples.csv", err, sizeof err);
    if (!rn.samples) {
      fail(&rn, "%s", err);
    } else {
      fl_sample_write_header(rn.samples);
      if (start_server(&rn, scenario_copy, err, sizeof err) < 0) {
        fail(&rn,
             rn.src[FL_SIDE_SERVER].ext ? "cannot start the server: %s"
                                        : "cannot start the server peer: %s",
             err);
      } else {
        open_capture(&rn);
        run_loop(&rn, scenario_copy);
      }
    }
  }

  /* Evidence first, cleanup second: the last dump is taken while the peers still live. */
  if (rn.timeline) {
    if (!r->harness_error && (s->capture.threads == FL_THREADS_AT_END ||
                              (s->capture.threads == FL_THREADS_ON_FAILURE && run_failing(&rn))))
      snapshot(&rn,
               s->capture.threads == FL_THREADS_AT_END ? "at end of run"
                                                       : "failure: an expect clause fails",
               true);
    sample_all(&rn); /* the last reading before the peers are ended */
  }
  end_peers(&rn);
  stop_capture(&rn);
  decode_capture(&rn);
  if (rn.timeline) runner_event(&rn, FL_EV_END);
  if (rn.obs) fl_observe_end(rn.obs, rn.ended ? rn.end : FL_END_FINISHED, now_rel(&rn));
  set_state(&rn, RUN_ENDED);

  /* A peer that reported its own error, or broke the protocol, could not run the scenario:
   * that is our failure to reproduce, not an observation. */
  for (int i = 0; i < FL_N_SIDES && rn.obs; i++) {
    const fl_side_obs *st = fl_observe_side(rn.obs, (fl_side)i);
    if (st->error.s) {
      char why[400];
      snprintf(why, sizeof why, "the %s peer failed: %s", fl_side_name((fl_side)i), st->error.s);
      fail(&rn, "%s", why);
    }
  }
  if (rn.proxy_error[0]) fail(&rn, "%s", rn.proxy_error);
  if (rn.protocol_error[0]) fail(&rn, "%s", rn.protocol_error);

  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  r->runner_peak_rss_kib = self.ru_maxrss;

  for (int i = 0; i < N_SOURCES; i++) {
    source *p = &rn.src[i];
    if (p->ev_fd >= 0) close(p->ev_fd);
    if (p->ctl_fd >= 0) close(p->ctl_fd);
    if (p->out_fd >= 0) close(p->out_fd);
    if (p->log_fd >= 0) (void)fl_rundir_close_fd(o->rd, p->log_fd);
    if (p->have_rx) regfree(&p->ready_rx);
    free(p->released);
  }
  free(rn.fired_at);
  /* events.jsonl was written live, in arrival order; now it is rewritten in causal order. Write
   * errors of either go to the run directory's record, and so to the verdict. */
  if (rn.timeline) {
    r->n_events = fl_timeline_count(rn.timeline);
    fl_timeline_detach(rn.timeline);
  }
  if (live) fclose(live);
  if (rn.timeline) {
    FILE *sorted = fl_rundir_rewrite(o->rd, "events.jsonl", err, sizeof err);
    if (!sorted || fl_timeline_write_sorted(rn.timeline, sorted, err, sizeof err) < 0)
      fl_rundir_note(o->rd, "events.jsonl", errno ? errno : EIO);
    if (sorted && fl_rundir_commit(o->rd, sorted, err, sizeof err) < 0)
      fl_rundir_note(o->rd, "events.jsonl", errno ? errno : EIO);
    fl_timeline_free(rn.timeline);
  }
  if (rn.samples) fclose(rn.samples); /* its write errors are the run directory's record */
  if (rn.sigfd >= 0) {
    /* Consume signals that arrived during cleanup so unblocking does not deliver them. */
    struct signalfd_siginfo si;
    while (read(rn.sigfd, &si, sizeof si) == sizeof si)
      if (stop_signal(si.ssi_signo) && rn.obs)
        fl_observe_end(rn.obs, FL_END_INTERRUPTED, fl_observe_elapsed(rn.obs));
    close(rn.sigfd);
  }
  sigaction(SIGPIPE, &old_pipe, NULL);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  sigprocmask(SIG_SETMASK, &oldmask, NULL);
  return r->harness_error ? -1 : 0;
}

void fl_run_result_free(fl_run_result *r) {
  fl_observe_free(r->obs);
  r->obs = NULL;
  fl_wire_evidence_free(r->wire);
  r->wire = NULL;
}
