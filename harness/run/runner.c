#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "jsonw.h"
#include "samples.h"
#include "threads.h"
#include "util.h"

/* How long a peer gets to exit after the end of the run is announced (its control pipe
 * closed), and again after SIGTERM, before its group is killed. */
#define TERM_GRACE_NS (1000 * 1000000LL)

typedef struct {
  fl_peer_state *st;
  const fl_side_plan *plan;
  int ev_fd;            /* read end of the peer's event pipe, -1 once at EOF */
  int ctl_fd;           /* write end of the peer's control pipe */
  int released_barrier; /* last barrier index released, so it is released once */
  char buf[2 * FL_EVENT_MAX_LINE];
  size_t len;
} peer;

typedef struct {
  const fl_scenario *s;
  const fl_run_options *o;
  fl_run_result *r;
  int64_t t0;
  FILE *events;
  int sigfd;
  peer server, client;
  fl_capture *capture;
  FILE *samples;
  int64_t next_sample_ns;
  fl_activity activity[2]; /* per-thread context switches of server and client */
  int dumps_per_side[2];
  bool interrupted, timed_out, hung;
  bool ending; /* end_peers has begun: what peers report now is their teardown */
} run;

static int64_t now_rel(const run *rn) { return fl_mono_ns() - rn->t0; }

static peer *peers_of(run *rn, int i) { return i == 0 ? &rn->server : &rn->client; }

/* ---- the merged timeline ---------------------------------------------------------------- */

static bool numeric_attr(const char *key, const char *value) {
  /* Free-text attributes stay strings even when they look like numbers. */
  if (!strcmp(key, "message") || !strcmp(key, "expr") || !strcmp(key, "method")) return false;
  if (!*value || strlen(value) > 18) return false;
  for (const char *p = value; *p; p++)
    if ((*p < '0' || *p > '9') && !(p == value && *p == '-' && p[1])) return false;
  return true;
}

static void timeline_begin(run *rn, fl_jsonw *w, const char *side, const char *event) {
  fl_jsonw_init(w, rn->events, false);
  fl_jsonw_object_begin(w);
  fl_jsonw_key(w, "t_ms");
  fl_jsonw_double(w, (double)now_rel(rn) / 1e6, 3);
  fl_jsonw_key(w, "side");
  fl_jsonw_string(w, side);
  fl_jsonw_key(w, "event");
  fl_jsonw_string(w, event);
}

static void timeline_end(run *rn, fl_jsonw *w) {
  fl_jsonw_object_end(w);
  fputc('\n', rn->events);
  fflush(rn->events);
  rn->r->n_events++;
}

/* An event of the runner's own: spawn, exit, release, hang, timeout, interrupt, end. */
static void runner_event(run *rn, const char *event, const char *k1, const char *v1, const char *k2,
                         int64_t v2) {
  fl_jsonw w;
  timeline_begin(rn, &w, "runner", event);
  if (k1) {
    fl_jsonw_key(&w, k1);
    fl_jsonw_string(&w, v1);
  }
  if (k2) {
    fl_jsonw_key(&w, k2);
    fl_jsonw_int(&w, v2);
  }
  timeline_end(rn, &w);
}

/* ---- events from peers ------------------------------------------------------------------ */

static fl_op_state *op_slot(fl_peer_state *st, const char *op) {
  fl_op_state *free_slot = NULL;
  for (int i = 0; i < FL_MAX_OPS; i++) {
    if (!strcmp(st->ops[i].op, op)) return &st->ops[i];
    if (!st->ops[i].op[0] && !free_slot) free_slot = &st->ops[i];
  }
  if (free_slot) snprintf(free_slot->op, sizeof free_slot->op, "%s", op);
  return free_slot;
}

static long long attr_int(const fl_event *ev, const char *key) {
  const char *v = fl_event_get(ev, key);
  return v ? strtoll(v, NULL, 10) : 0;
}

static void apply_event(run *rn, peer *p, const fl_event *ev) {
  fl_peer_state *st = p->st;
  int64_t now = now_rel(rn);
  const char *n = ev->name;
  bool client = !strcmp(st->name, "client");
  /* With `streams: N` a side runs N calls: counts add up over them, and the call is "over"
   * (have_status, have_cancelled) once every one of them is. */
  int64_t streams = rn->s->streams ? rn->s->streams : 1;
  st->last_event_ns = now;
  /* When the deadline ends a call, C core completes its pending ops, some with success: a send
   * stalled on flow control "completes" though its bytes never left. What the peer reports
   * from that moment on is the deadline's doing, and counts as failed. */
  bool after_deadline = st->deadline_at_peer_ns > 0 && ev->peer_ns >= st->deadline_at_peer_ns;

  if (!strcmp(n, "ready")) {
    st->ready = true;
    st->port = (int)attr_int(ev, "port");
    if (fl_event_get(ev, "recv_limit")) {
      st->have_recv_limit = true;
      st->recv_limit = attr_int(ev, "recv_limit");
    }
  } else if (!strcmp(n, "call_start")) {
    if (!st->started) {
      st->started = true;
      st->start_ns = now;
      st->start_peer_ns = ev->peer_ns;
      if (client && rn->s->deadline_ns > 0) st->deadline_at_ns = now + rn->s->deadline_ns;
      if (client) st->deadline_at_peer_ns = attr_int(ev, "deadline_at");
    }
    st->calls++;
  } else if (!strcmp(n, "step")) {
    st->step_index = (int)attr_int(ev, "index");
    st->step_start_ns = now;
    if (st->step_index > st->furthest_step) st->furthest_step = st->step_index;
  } else if (!strcmp(n, "op_start") || !strcmp(n, "op_done")) {
    const char *op = fl_event_get(ev, "op");
    bool start = !strcmp(n, "op_start");
    fl_op_state *slot = op ? op_slot(st, op) : NULL;
    if (op && !strcmp(op, "send")) {
      if (start) {
        st->sends_pending++;
        if (attr_int(ev, "bytes") > st->largest_send) st->largest_send = attr_int(ev, "bytes");
      } else {
        if (st->sends_pending > 0) st->sends_pending--;
        if (attr_int(ev, "ok") == 0 || after_deadline) st->sends_failed++;
        int64_t pending = attr_int(ev, "us") * 1000;
        if (pending > st->send_max_pending_ns) {
          st->send_max_pending_ns = pending;
          st->send_stall_bytes = slot ? slot->sent_bytes_at_start : st->sent_bytes;
        }
      }
    }
    if (op && !strcmp(op, "close_send")) {
      st->close_send_issued = true;
      if (start) {
        st->close_sends_pending++;
      } else {
        if (st->close_sends_pending > 0) st->close_sends_pending--;
        if (attr_int(ev, "us") * 1000 > st->close_send_pending_ns)
          st->close_send_pending_ns = attr_int(ev, "us") * 1000;
      }
    }
    if (slot) {
      slot->pending = start;
      slot->since_ns = now;
      slot->sent_bytes_at_start = st->sent_bytes;
    }
  } else if (!strcmp(n, "sent") && !after_deadline) {
    st->sent++;
    st->sent_bytes += attr_int(ev, "bytes");
    st->nulls_sent += attr_int(ev, "nulls");
    const char *hash = fl_event_get(ev, "hash");
    snprintf(st->last_sent_hash, sizeof st->last_sent_hash, "%s", hash ? hash : "");
  } else if (!strcmp(n, "recv")) {
    st->recv++;
    st->recv_bytes += attr_int(ev, "bytes");
    st->nulls_received += attr_int(ev, "nulls");
    st->fields_received += attr_int(ev, "fields");
    const char *error = fl_event_get(ev, "error");
    if (attr_int(ev, "decoded") == 0)
      st->decode_errors++;
    else if (error && !strcmp(error, "invalid_utf8"))
      st->invalid_utf8++;
    if (error) snprintf(st->last_decode_error, sizeof st->last_decode_error, "%s", error);
    const char *hash = fl_event_get(ev, "hash");
    snprintf(st->last_recv_hash, sizeof st->last_recv_hash, "%s", hash ? hash : "");
  } else if (!strcmp(n, "recv_end")) {
    st->recv_end = true;
  } else if (!strcmp(n, "half_close") && !after_deadline) {
    st->half_closed = true;
  } else if (!strcmp(n, "cancel")) {
    st->cancel_issued = true;
    if (!st->have_cancel_ns) {
      st->have_cancel_ns = true;
      st->cancel_ns = now;
    }
  } else if (!strcmp(n, "status")) {
    const char *msg = fl_event_get(ev, "message");
    st->status_code = (int)attr_int(ev, "code");
    free(st->status_message);
    st->status_message = strdup(msg ? msg : "");
    st->status_ns = now;
    if (client) {
      st->end_peer_ns = ev->peer_ns;
      st->calls_ended++;
      if (st->status_code == 0) st->calls_ok++;
      st->have_status = st->calls_ended >= streams;
    } else {
      st->have_status = true;
    }
  } else if (!strcmp(n, "cancelled")) {
    bool value = attr_int(ev, "value") != 0;
    st->calls_ended++;
    if (!value) st->calls_ok++;
    st->cancelled = st->cancelled || value;
    st->have_cancelled = st->calls_ended >= streams;
    st->closed_ns = now;
    st->end_peer_ns = ev->peer_ns;
  } else if (!strcmp(n, "wait")) {
    /* All calls run one script, so a later barrier is only reached past the earlier ones:
     * the highest index waited on is the one still to open. */
    int idx = (int)attr_int(ev, "index");
    if (idx > st->waiting_barrier) st->waiting_barrier = idx;
  } else if (!strcmp(n, "arrive")) {
    if (attr_int(ev, "index") == st->waiting_barrier) st->waiting_barrier = -1;
  } else if (!strcmp(n, "stop_reading")) {
    st->reading_stopped = true;
  } else if (!strcmp(n, "resume_reading")) {
    st->reading_stopped = false;
  } else if (!strcmp(n, "shutdown_start")) {
    st->shutdown_started = true;
    st->shutdown_start_peer_ns = ev->peer_ns;
  } else if (!strcmp(n, "shutdown_cancel")) {
    st->shutdown_forced = true;
  } else if (!strcmp(n, "shutdown_done")) {
    st->shutdown_done = true;
    st->shutdown_done_peer_ns = ev->peer_ns;
  } else if (!strcmp(n, "done")) {
    st->done = true;
    st->step_index = -1;
  } else if (!strcmp(n, "error")) {
    const char *msg = fl_event_get(ev, "message");
    free(st->error);
    st->error = strdup(msg ? msg : "unknown error");
  }
}

/* Appends the event to the timeline. `after_end`: the runner had already begun ending the
 * run (the peer was reporting its own teardown); such events are kept but not judged. */
static void record_event(run *rn, peer *p, const fl_event *ev, bool after_end) {
  fl_jsonw w;
  timeline_begin(rn, &w, p->st->name, ev->name);
  fl_jsonw_key(&w, "peer_ns");
  fl_jsonw_int(&w, ev->peer_ns);
  if (after_end) fl_jsonw_kv_bool(&w, "after_end", true);
  for (int i = 0; i < ev->n_attrs; i++) {
    fl_jsonw_key(&w, ev->attrs[i].key);
    /* A hash is hex digits: one without a letter is still a string, not a number. */
    if (strcmp(ev->attrs[i].key, "hash") && numeric_attr(ev->attrs[i].key, ev->attrs[i].value))
      fl_jsonw_int(&w, strtoll(ev->attrs[i].value, NULL, 10));
    else
      fl_jsonw_string(&w, ev->attrs[i].value);
  }
  timeline_end(rn, &w);
}

/* Releases every barrier whose predicate now holds. Called after each event, so a barrier
 * opens on the event that makes it true, not on a timer. */
static void release_barriers(run *rn) {
  for (int i = 0; i < 2; i++) {
    peer *p = peers_of(rn, i);
    int idx = p->st->waiting_barrier;
    if (idx < 0 || idx == p->released_barrier || p->ctl_fd < 0) continue;
    if ((size_t)idx >= p->plan->n_steps || p->plan->steps[idx].kind != FL_STEP_WAIT) continue;
    if (!fl_predicate_eval(p->plan->steps[idx].predicate, fl_run_lookup, rn->r, NULL)) continue;
    char line[32];
    int n = snprintf(line, sizeof line, "go %d\n", idx);
    if (write(p->ctl_fd, line, (size_t)n) == n) {
      p->released_barrier = idx;
      runner_event(rn, "release", "peer", p->st->name, "index", idx);
    }
  }
}

static void dump_step(run *rn, peer *p, const fl_event *ev);
static void sample_peer(run *rn, peer *p, bool baseline);
static void sample_all(run *rn);

static void handle_line(run *rn, peer *p, const char *line) {
  fl_event ev;
  if (fl_event_parse(line, &ev) < 0) {
    fl_jsonw w;
    timeline_begin(rn, &w, p->st->name, "unparsed");
    fl_jsonw_key(&w, "line");
    fl_jsonw_string(&w, line);
    timeline_end(rn, &w);
    return;
  }
  if (rn->ending) {
    record_event(rn, p, &ev, true);
    return;
  }
  apply_event(rn, p, &ev);
  record_event(rn, p, &ev, false);
  if (!strcmp(ev.name, "dump")) dump_step(rn, p, &ev);
  /* The RSS baseline is taken when the side's first call starts (with streams: N, later
   * calls must not move it). */
  if (!strcmp(ev.name, "call_start") && p->st->calls == 1) sample_peer(rn, p, true);
  release_barriers(rn);
}

/* Reads what the peer wrote; handles whole lines. On EOF closes the pipe. */
static void read_events(run *rn, peer *p) {
  while (p->ev_fd >= 0) {
    ssize_t n = read(p->ev_fd, p->buf + p->len, sizeof p->buf - 1 - p->len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close(p->ev_fd);
      p->ev_fd = -1;
      return;
    }
    p->len += (size_t)n;
    p->buf[p->len] = '\0';
    char *start = p->buf, *nl;
    while ((nl = strchr(start, '\n'))) {
      *nl = '\0';
      handle_line(rn, p, start);
      start = nl + 1;
    }
    p->len -= (size_t)(start - p->buf);
    memmove(p->buf, start, p->len);
    if (p->len == sizeof p->buf - 1) p->len = 0; /* a line longer than the protocol allows */
  }
}

/* ---- processes -------------------------------------------------------------------------- */

/* Moves fd to target in the child, even if the two collide with each other. */
static int move_fd(int fd, int target) {
  if (fd == target) return fcntl(fd, F_SETFD, 0);
  return dup2(fd, target) < 0 ? -1 : 0;
}

static int spawn_peer(run *rn, peer *p, const char *side, const char *scenario_copy,
                      const char *target) {
  int ev[2], ctl[2];
  if (pipe2(ev, O_CLOEXEC) < 0) return -1;
  if (pipe2(ctl, O_CLOEXEC) < 0) {
    close(ev[0]);
    close(ev[1]);
    return -1;
  }
  char errpath[PATH_MAX];
  snprintf(errpath, sizeof errpath, "%s/%s.stderr", rn->o->run_dir, side);
  int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t parent = getpid();
  pid_t pid = errfd < 0 ? -1 : fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); /* the runner died before prctl took effect */
    /* Lift the pipe ends above the target numbers first so dup2 cannot clobber them. */
    int evw = fcntl(ev[1], F_DUPFD_CLOEXEC, 10), ctlr = fcntl(ctl[0], F_DUPFD_CLOEXEC, 10);
    int errw = fcntl(errfd, F_DUPFD_CLOEXEC, 10);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (evw < 0 || ctlr < 0 || errw < 0 || devnull < 0 || move_fd(devnull, 0) || move_fd(errw, 1) ||
        move_fd(errw, 2) || move_fd(evw, 3) || move_fd(ctlr, 4))
      _exit(127);
    const char *argv[12] = {rn->o->peer_path, "--side", side,           "--scenario", scenario_copy,
                            "--events-fd",    "3",      "--control-fd", "4",          NULL};
    if (target) {
      argv[9] = "--target";
      argv[10] = target;
    }
    execv(rn->o->peer_path, (char *const *)argv);
    dprintf(2, "faultline: cannot execute %s: %s\n", rn->o->peer_path, strerror(errno));
    _exit(127);
  }
  int saved = errno;
  close(ev[1]);
  close(ctl[0]);
  if (errfd >= 0) close(errfd);
  if (pid < 0) {
    close(ev[0]);
    close(ctl[1]);
    errno = saved;
    return -1;
  }
  setpgid(pid, pid); /* also here, so the group exists whichever process runs first */
  fcntl(ev[0], F_SETFL, O_NONBLOCK);
  p->ev_fd = ev[0];
  p->ctl_fd = ctl[1];
  p->st->pid = pid;
  p->st->spawned = true;
  runner_event(rn, "spawn", "peer", side, "pid", pid);
  return 0;
}

static void note_exit(run *rn, peer *p, int status, const struct rusage *ru) {
  fl_peer_state *st = p->st;
  st->exited = true;
  st->peak_rss_kib = ru->ru_maxrss;
  if (WIFSIGNALED(status)) {
    st->term_signal = WTERMSIG(status);
    runner_event(rn, "exit", "peer", st->name, "signal", st->term_signal);
  } else {
    st->exit_code = WEXITSTATUS(status);
    runner_event(rn, "exit", "peer", st->name, "code", st->exit_code);
  }
  read_events(rn, p); /* everything it wrote is in the pipe now */
  if (p->ctl_fd >= 0) {
    close(p->ctl_fd);
    p->ctl_fd = -1;
  }
}

static void reap(run *rn, bool block) {
  for (int i = 0; i < 2; i++) {
    peer *p = peers_of(rn, i);
    if (!p->st->spawned || p->st->exited) continue;
    int status;
    struct rusage ru;
    pid_t w = wait4(p->st->pid, &status, block ? 0 : WNOHANG, &ru);
    if (w == p->st->pid) note_exit(rn, p, status, &ru);
  }
}

static bool all_exited(run *rn) {
  return (!rn->server.st->spawned || rn->server.st->exited) &&
         (!rn->client.st->spawned || rn->client.st->exited);
}

/* Reaps peers until all have exited or `grace_ns` has passed, woken by SIGCHLD. */
static void await_exits(run *rn, int64_t grace_ns) {
  int64_t until = fl_mono_ns() + grace_ns;
  for (reap(rn, false); !all_exited(rn) && fl_mono_ns() < until; reap(rn, false)) {
    struct pollfd pfd = {.fd = rn->sigfd, .events = POLLIN};
    if (poll(&pfd, 1, (int)((until - fl_mono_ns()) / 1000000) + 1) > 0) {
      struct signalfd_siginfo si;
      while (read(rn->sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) rn->interrupted = true;
      }
    }
  }
}

/*
 * Ends both peers: first by closing their control pipes (a peer reads EOF as "the run is
 * over": a finished server shuts down cleanly, anything else leaves at once), then SIGTERM to
 * each process group, then SIGKILL. Each step waits a bounded time for SIGCHLD; the final
 * SIGKILL to each group also takes anything a peer may have forked.
 */
static void end_peers(run *rn) {
  rn->ending = true;
  for (int i = 0; i < 2; i++) {
    peer *p = peers_of(rn, i);
    if (p->st->spawned && !p->st->exited) p->st->killed_by_runner = true;
    if (p->ctl_fd >= 0) {
      close(p->ctl_fd);
      p->ctl_fd = -1;
    }
  }
  await_exits(rn, TERM_GRACE_NS);
  for (int i = 0; i < 2; i++) {
    fl_peer_state *st = peers_of(rn, i)->st;
    if (st->spawned && !st->exited) kill(-st->pid, SIGTERM);
  }
  await_exits(rn, TERM_GRACE_NS);
  for (int i = 0; i < 2; i++) {
    fl_peer_state *st = peers_of(rn, i)->st;
    if (st->spawned) kill(-st->pid, SIGKILL);
  }
  reap(rn, true);
}

/* ---- evidence: capture and thread dumps ----------------------------------------------- */

/* Opens the capture while the server peer starts (setting up the kernel's ring is the slow
 * part), keeping nothing yet. Without the privilege the run goes on and the report says why. */
static void open_capture(run *rn) {
  fl_capture_record *c = &rn->r->capture;
  c->requested = rn->s->capture.pcap;
  if (!c->requested) return;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/capture.pcap", rn->o->run_dir);
  int snaplen = rn->s->capture.snaplen > 0 ? rn->s->capture.snaplen : FL_CAPTURE_SNAPLEN_DEFAULT;
  if (fl_capture_open("lo", path, snaplen, &rn->capture, c->error, sizeof c->error) < 0) {
    rn->capture = NULL;
    runner_event(rn, "capture", "error", c->error, NULL, 0);
    if (rn->o->progress) fprintf(stderr, "  %s; the run goes on without it\n", c->error);
  }
}

/* Begins keeping the server port's packets once the port is known and before the client
 * exists, so the capture holds the connection from its handshake on. */
static void begin_capture(run *rn) {
  fl_capture_record *c = &rn->r->capture;
  if (!rn->capture) return;
  snprintf(c->filter, sizeof c->filter, "tcp port %d", rn->r->server.port);
  if (fl_capture_begin(rn->capture, c->filter, c->error, sizeof c->error) < 0) {
    fl_capture_stop(rn->capture, NULL);
    rn->capture = NULL;
    runner_event(rn, "capture", "error", c->error, NULL, 0);
    return;
  }
  c->running = true;
  runner_event(rn, "capture", "filter", c->filter, NULL, 0);
}

static void stop_capture(run *rn) {
  if (!rn->capture) return;
  fl_capture_stop(rn->capture, rn->r->capture.running ? &rn->r->capture.stats : NULL);
  rn->capture = NULL;
}

/*
 * Dumps the threads of every live peer as one consistent picture: all are stopped with
 * SIGSTOP first, dumped, then continued. The runner is their parent, so it may trace them
 * under any ptrace scope.
 */
static void snapshot(run *rn, const char *why) {
  bool stopped[2] = {false, false};
  sample_all(rn); /* the state just before the stop, and fresh per-thread activity */
  for (int i = 0; i < 2; i++) {
    fl_peer_state *st = peers_of(rn, i)->st;
    if (st->spawned && !st->exited && kill(st->pid, SIGSTOP) == 0) stopped[i] = true;
  }
  for (int i = 0; i < 2; i++) {
    if (!stopped[i]) continue;
    peer *p = peers_of(rn, i);
    int status;
    struct rusage ru;
    if (wait4(p->st->pid, &status, WUNTRACED, &ru) != p->st->pid || !WIFSTOPPED(status)) {
      stopped[i] = false;
      if (WIFEXITED(status) || WIFSIGNALED(status)) note_exit(rn, p, status, &ru);
    }
  }
  for (int i = 0; i < 2; i++) {
    if (!stopped[i] || rn->r->n_dumps == FL_MAX_DUMPS) continue;
    fl_peer_state *st = peers_of(rn, i)->st;
    fl_dump_record *d = &rn->r->dumps[rn->r->n_dumps++];
    d->side = st->name;
    d->at_ns = now_rel(rn);
    snprintf(d->why, sizeof d->why, "%s", why);
    snprintf(d->file, sizeof d->file, "threads-%s-%d.txt", st->name, ++rn->dumps_per_side[i]);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", rn->o->run_dir, d->file);
    FILE *f = fopen(path, "w");
    fl_dump_info info = {0};
    if (!f) {
      snprintf(d->error, sizeof d->error, "cannot write %s: %s", path, strerror(errno));
    } else {
      fl_thread_idle idle[FL_MAX_TRACKED_THREADS];
      size_t n_idle = fl_activity_idle(&rn->activity[i], d->at_ns, idle, FL_MAX_TRACKED_THREADS);
      if (fl_threads_dump_idle(st->pid, st->name, why, idle, n_idle, f, &info, d->error,
                               sizeof d->error) < 0)
        fprintf(f, "thread dump of %s (pid %d) failed: %s\n", st->name, (int)st->pid, d->error);
      fclose(f);
    }
    d->threads = info.threads;
    d->elapsed_ms = info.elapsed_ms;
    runner_event(rn, "dump", "file", d->file, "threads", d->threads);
  }
  for (int i = 0; i < 2; i++)
    if (stopped[i]) kill(peers_of(rn, i)->st->pid, SIGCONT);
}

/* One row of samples.csv for a live peer; `baseline` marks the sample growth is measured
 * from (taken when the call starts). */
static void sample_peer(run *rn, peer *p, bool baseline) {
  fl_peer_state *st = p->st;
  fl_sample smp;
  if (!rn->samples || !st->spawned || st->exited || fl_sample_read(st->pid, &smp) < 0) return;
  fl_activity_update(&rn->activity[p == &rn->server ? 0 : 1], st->pid, now_rel(rn));
  fl_sample_write_row(rn->samples, (double)now_rel(rn) / 1e6, st->name, st->pid, &smp);
  if (baseline || st->samples.n == 0) st->samples.baseline_rss_kib = smp.rss_kib;
  st->samples.n++;
  st->samples.last_rss_kib = smp.rss_kib;
  if (smp.rss_kib > st->samples.peak_rss_kib) st->samples.peak_rss_kib = smp.rss_kib;
  if (smp.threads > st->samples.max_threads) st->samples.max_threads = smp.threads;
  if (smp.fds > st->samples.max_fds) st->samples.max_fds = smp.fds;
}

static void sample_all(run *rn) {
  sample_peer(rn, &rn->server, false);
  sample_peer(rn, &rn->client, false);
  if (rn->samples) fflush(rn->samples);
}

/* A `dump` step: the peer waits (like at a barrier) until the dump is taken. */
static void dump_step(run *rn, peer *p, const fl_event *ev) {
  long long idx = attr_int(ev, "index");
  int line = (idx >= 0 && (size_t)idx < p->plan->n_steps) ? p->plan->steps[idx].line : 0;
  char why[96];
  snprintf(why, sizeof why, "script step: %s dump (line %d)", p->st->name, line);
  snapshot(rn, why);
  char go[32];
  int n = snprintf(go, sizeof go, "go %lld\n", idx);
  if (p->ctl_fd >= 0 && write(p->ctl_fd, go, (size_t)n) == n)
    runner_event(rn, "release", "peer", p->st->name, "index", idx);
}

/* ---- hang detection --------------------------------------------------------------------- */

static bool call_open(const run *rn) {
  const fl_peer_state *c = rn->client.st, *s = rn->server.st;
  return (c->started && !c->have_status && !c->exited) ||
         (s->started && !s->have_cancelled && !s->exited);
}

/*
 * The timers a peer is known to be waiting on: a sleep step's end and the client's deadline.
 * While one lies ahead, silence is expected, not a hang. Returns the earliest future timer
 * (INT64_MAX if none) and, in *last_fired, the latest timer already past.
 */
static int64_t next_timer(const run *rn, int64_t now, int64_t *last_fired) {
  int64_t next = INT64_MAX;
  *last_fired = 0;
  for (int i = 0; i < 2; i++) {
    const peer *p = i == 0 ? &rn->server : &rn->client;
    const fl_peer_state *st = p->st;
    int64_t ends[2] = {-1, -1};
    const fl_step *step = st->step_index >= 0 && (size_t)st->step_index < p->plan->n_steps
                              ? &p->plan->steps[st->step_index]
                              : NULL;
    if (step && !st->exited && step->kind == FL_STEP_SLEEP)
      ends[0] = st->step_start_ns + step->duration_ns;
    if (step && !st->exited && step->kind == FL_STEP_SHUTDOWN && step->shutdown_deadline_ns > 0)
      ends[0] = st->step_start_ns + step->shutdown_deadline_ns;
    if (st->deadline_at_ns > 0 && !st->have_status && !st->exited) ends[1] = st->deadline_at_ns;
    for (int k = 0; k < 2; k++) {
      if (ends[k] < 0) continue;
      if (ends[k] > now && ends[k] < next) next = ends[k];
      if (ends[k] <= now && ends[k] > *last_fired) *last_fired = ends[k];
    }
  }
  return next;
}

/*
 * The longest pause that the steps a side has begun build in between two of its events: a
 * send's interval, a slow reader's delay. Such steps may go on in the background after the
 * script has moved past them, so every step begun so far counts; silence that long is pacing,
 * not a hang (a real hang is then reported that much later).
 */
static int64_t pacing_ns(const peer *p) {
  int64_t longest = 0;
  for (int k = 0; k <= p->st->furthest_step && (size_t)k < p->plan->n_steps; k++) {
    const fl_step *step = &p->plan->steps[k];
    int64_t pause = step->kind == FL_STEP_SEND   ? step->interval_ns
                    : step->kind == FL_STEP_RECV ? step->delay_ns
                                                 : 0;
    if (pause > longest) longest = pause;
  }
  return longest;
}

/* Returns the time at which a hang would be declared if nothing happens before, or
 * INT64_MAX when no hang can be pending. */
static int64_t hang_at(const run *rn, int64_t now) {
  if (!call_open(rn)) return INT64_MAX;
  int64_t last_fired, next = next_timer(rn, now, &last_fired);
  if (next != INT64_MAX) return next; /* re-check when that timer is due */
  int64_t quiet_since = last_fired;
  if (rn->server.st->last_event_ns > quiet_since) quiet_since = rn->server.st->last_event_ns;
  if (rn->client.st->last_event_ns > quiet_since) quiet_since = rn->client.st->last_event_ns;
  int64_t pacing = pacing_ns(&rn->server), client_pacing = pacing_ns(&rn->client);
  if (client_pacing > pacing) pacing = client_pacing;
  return quiet_since + rn->s->hang_after_ns + pacing;
}

/* ---- the run ---------------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  if (!in) return -1;
  FILE *out = fopen(to, "wb");
  if (!out) {
    fclose(in);
    return -1;
  }
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  int rc = ferror(in) ? -1 : 0;
  fclose(in);
  if (fclose(out) != 0) rc = -1;
  return rc;
}

static void init_peer_state(fl_peer_state *st, const char *name) {
  *st = (fl_peer_state){.name = name, .step_index = -1, .furthest_step = -1, .waiting_barrier = -1};
}

static int fail(run *rn, const char *fmt, const char *arg) {
  rn->r->harness_error = true;
  snprintf(rn->r->error, sizeof rn->r->error, fmt, arg);
  return -1;
}

static bool run_finished(const run *rn) {
  const fl_peer_state *c = rn->client.st, *s = rn->server.st;
  if (!c->exited || rn->client.ev_fd >= 0) return false;
  /* The client is done; the run ends once the server's call is over too. A server whose call
   * never started (the client gave up first) has nothing more to say. */
  return s->exited || s->have_cancelled || !s->started;
}

static fl_outcome decide_outcome(run *rn) {
  if (rn->interrupted) return FL_OUTCOME_INTERRUPTED;
  if (rn->timed_out) return FL_OUTCOME_TIMEOUT;
  if (rn->hung) return FL_OUTCOME_HANG;
  for (int i = 0; i < 2; i++) {
    const fl_peer_state *st = peers_of(rn, i)->st;
    if (st->exited && !st->killed_by_runner && (st->term_signal || st->exit_code != 0))
      return FL_OUTCOME_CRASH;
  }
  return FL_OUTCOME_COMPLETED;
}

/* Whether an expect clause fails on the run as it stands: for `threads: on_failure`, judged
 * before the peers are ended so that their stacks can still be taken. */
static bool run_failing(run *rn) {
  rn->r->finished = true; /* let outcome and elapsed be read as they stand */
  rn->r->elapsed_ns = now_rel(rn);
  bool failing = false;
  for (size_t i = 0; i < rn->s->n_expect && !failing; i++)
    failing = !fl_predicate_eval(rn->s->expect[i].predicate, fl_run_lookup, rn->r, NULL);
  rn->r->finished = false;
  return failing;
}

int fl_run(const fl_scenario *s, const fl_run_options *o, fl_run_result *r) {
  memset(r, 0, sizeof *r);
  init_peer_state(&r->server, "server");
  init_peer_state(&r->client, "client");
  run rn = {.s = s, .o = o, .r = r, .sigfd = -1};
  rn.server = (peer){
      .st = &r->server, .plan = &s->server, .ev_fd = -1, .ctl_fd = -1, .released_barrier = -1};
  rn.client = (peer){
      .st = &r->client, .plan = &s->client, .ev_fd = -1, .ctl_fd = -1, .released_barrier = -1};

  time_t wall = time(NULL);
  strftime(r->started_at, sizeof r->started_at, "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));

  char scenario_copy[PATH_MAX], path[PATH_MAX];
  snprintf(scenario_copy, sizeof scenario_copy, "%s/scenario.yaml", o->run_dir);
  if (copy_file(o->scenario_path, scenario_copy) < 0)
    return fail(&rn, "cannot copy the scenario into the run directory %s", o->run_dir);
  snprintf(path, sizeof path, "%s/events.jsonl", o->run_dir);
  rn.events = fopen(path, "w");
  if (!rn.events) return fail(&rn, "cannot write %s", path);
  snprintf(path, sizeof path, "%s/samples.csv", o->run_dir);
  rn.samples = fopen(path, "w");
  if (!rn.samples) {
    fclose(rn.events);
    return fail(&rn, "cannot write %s", path);
  }
  fl_sample_write_header(rn.samples);

  sigset_t mask, oldmask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, &oldmask);
  /* A shell starts background jobs with SIGINT ignored, and an ignored signal is discarded
   * even while blocked; take the default back so signalfd sees it. */
  struct sigaction dfl = {.sa_handler = SIG_DFL}, old_int, old_term;
  sigaction(SIGINT, &dfl, &old_int);
  sigaction(SIGTERM, &dfl, &old_term);
  rn.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  /* A peer that exits closes its control pipe; writing to it must not kill the runner. */
  struct sigaction ignore = {.sa_handler = SIG_IGN}, old_pipe;
  sigaction(SIGPIPE, &ignore, &old_pipe);

  rn.t0 = fl_mono_ns();
  int rc = 0;
  if (rn.sigfd < 0) {
    rc = fail(&rn, "cannot create a signalfd: %s", strerror(errno));
    goto out;
  }
  if (spawn_peer(&rn, &rn.server, "server", scenario_copy, NULL) < 0) {
    rc = fail(&rn, "cannot start the server peer: %s", strerror(errno));
    goto out;
  }
  open_capture(&rn);

  int64_t deadline = s->timeout_ns;
  while (!rn.interrupted) {
    int64_t now = now_rel(&rn);
    if (now >= deadline) {
      rn.timed_out = true;
      runner_event(&rn, "timeout", NULL, NULL, "after_ms", s->timeout_ns / 1000000);
      break;
    }
    if (run_finished(&rn)) break;
    if (r->server.exited && !r->server.ready) {
      rc =
          fail(&rn, "the server peer exited before it was ready; see %s/server.stderr", o->run_dir);
      break;
    }
    if (r->server.ready && !r->client.spawned) {
      begin_capture(&rn);
      char target[64];
      snprintf(target, sizeof target, "127.0.0.1:%d", r->server.port);
      if (spawn_peer(&rn, &rn.client, "client", scenario_copy, target) < 0) {
        rc = fail(&rn, "cannot start the client peer: %s", strerror(errno));
        break;
      }
    }
    int64_t hang = hang_at(&rn, now);
    if (hang <= now) {
      rn.hung = true;
      runner_event(&rn, "hang", NULL, NULL, "quiet_ms", s->hang_after_ns / 1000000);
      if (o->progress)
        fprintf(stderr, "  hang: no progress for %.1fs with a call open\n",
                (double)s->hang_after_ns / 1e9);
      if (s->capture.threads == FL_THREADS_ON_HANG) {
        char why[96];
        snprintf(why, sizeof why, "hang: no progress for %.1fs with a call open",
                 (double)s->hang_after_ns / 1e9);
        snapshot(&rn, why);
      }
      break;
    }
    if (now >= rn.next_sample_ns) {
      sample_all(&rn);
      while (rn.next_sample_ns <= now) rn.next_sample_ns += s->capture.sample_interval_ns;
    }
    int64_t wake = hang < deadline ? hang : deadline;
    if (rn.next_sample_ns < wake) wake = rn.next_sample_ns;
    int timeout_ms = (int)((wake - now + 999999) / 1000000);

    struct pollfd pfds[3] = {{.fd = rn.sigfd, .events = POLLIN},
                             {.fd = rn.server.ev_fd, .events = POLLIN},
                             {.fd = rn.client.ev_fd, .events = POLLIN}};
    int n = poll(pfds, 3, timeout_ms);
    if (n < 0 && errno != EINTR) {
      rc = fail(&rn, "poll failed: %s", strerror(errno));
      break;
    }
    if (pfds[1].revents) read_events(&rn, &rn.server);
    if (pfds[2].revents) read_events(&rn, &rn.client);
    if (pfds[0].revents) {
      struct signalfd_siginfo si;
      while (read(rn.sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
          rn.interrupted = true;
          runner_event(&rn, "interrupt", "signal", strsignal((int)si.ssi_signo), NULL, 0);
        }
      }
      reap(&rn, false);
    }
  }

out:
  /* Evidence first, cleanup second: the last dump is taken while the peers still live. */
  r->outcome = decide_outcome(&rn);
  if (rc == 0 && (s->capture.threads == FL_THREADS_AT_END ||
                  (s->capture.threads == FL_THREADS_ON_FAILURE && run_failing(&rn))))
    snapshot(&rn, s->capture.threads == FL_THREADS_AT_END ? "at end of run"
                                                          : "failure: an expect clause fails");
  sample_all(&rn); /* the last reading before the peers are ended */
  end_peers(&rn);
  stop_capture(&rn);
  runner_event(&rn, "end", NULL, NULL, NULL, 0);
  r->elapsed_ns = now_rel(&rn);
  r->outcome = decide_outcome(&rn);
  /* A peer that reported its own error could not run the scenario: that is our failure to
   * reproduce, not an observation. */
  for (int i = 0; i < 2 && rc == 0; i++) {
    const fl_peer_state *st = peers_of(&rn, i)->st;
    if (st->error) {
      r->harness_error = true;
      snprintf(r->error, sizeof r->error, "the %s peer failed: %s", st->name, st->error);
      rc = -1;
    }
  }

  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  r->runner_peak_rss_kib = self.ru_maxrss;

  for (int i = 0; i < 2; i++) {
    peer *p = peers_of(&rn, i);
    if (p->ev_fd >= 0) close(p->ev_fd);
    if (p->ctl_fd >= 0) close(p->ctl_fd);
  }
  if (rn.events) fclose(rn.events);
  if (rn.samples) fclose(rn.samples);
  if (rn.sigfd >= 0) {
    /* Consume signals that arrived during cleanup so unblocking does not deliver them. */
    struct signalfd_siginfo si;
    while (read(rn.sigfd, &si, sizeof si) == sizeof si)
      if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) r->outcome = FL_OUTCOME_INTERRUPTED;
    close(rn.sigfd);
  }
  sigaction(SIGPIPE, &old_pipe, NULL);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigprocmask(SIG_SETMASK, &oldmask, NULL);
  r->finished = true;
  return rc;
}

void fl_run_result_free(fl_run_result *r) {
  fl_peer_state *sides[2] = {&r->server, &r->client};
  for (int i = 0; i < 2; i++) {
    free(sides[i]->status_message);
    free(sides[i]->error);
    sides[i]->status_message = sides[i]->error = NULL;
  }
}

/* ---- predicate fields ------------------------------------------------------------------- */

static void set(fl_value *v, fl_value_type t, bool known, int64_t i) {
  v->type = t;
  v->known = known;
  v->i = i;
  v->s = NULL;
}

bool fl_run_lookup(void *ctx, fl_scope scope, const fl_field_info *f, fl_value *v) {
  const fl_run_result *r = ctx;
  const char *n = f->name;
  if (scope == FL_SCOPE_GLOBAL) {
    if (!strcmp(n, "outcome"))
      set(v, FL_VAL_OUTCOME, r->finished, r->outcome);
    else if (!strcmp(n, "elapsed"))
      set(v, FL_VAL_DURATION, r->finished, r->elapsed_ns);
    else if (!strcmp(n, "capture.packets"))
      set(v, FL_VAL_INT, r->finished && r->capture.running,
          (int64_t)r->capture.stats.packets_written);
    else if (!strcmp(n, "capture.dropped"))
      set(v, FL_VAL_INT, r->finished && r->capture.running, (int64_t)r->capture.stats.dropped);
    else
      return false;
    return true;
  }
  const fl_peer_state *st = scope == FL_SCOPE_SERVER ? &r->server : &r->client;
  if (!strcmp(n, "sent"))
    set(v, FL_VAL_INT, true, st->sent);
  else if (!strcmp(n, "recv"))
    set(v, FL_VAL_INT, true, st->recv);
  else if (!strcmp(n, "sent_bytes"))
    set(v, FL_VAL_SIZE, true, st->sent_bytes);
  else if (!strcmp(n, "recv_bytes"))
    set(v, FL_VAL_SIZE, true, st->recv_bytes);
  else if (!strcmp(n, "decode_errors"))
    set(v, FL_VAL_INT, true, st->decode_errors);
  else if (!strcmp(n, "status"))
    set(v, FL_VAL_STATUS, st->have_status, st->status_code);
  else if (!strcmp(n, "message")) {
    set(v, FL_VAL_STRING, st->have_status, 0);
    v->s = st->status_message;
  } else if (!strcmp(n, "cancelled"))
    set(v, FL_VAL_BOOL, st->have_cancelled, st->cancelled);
  else if (!strcmp(n, "half_closed"))
    set(v, FL_VAL_BOOL, true, st->half_closed);
  else if (!strcmp(n, "close_send.completed"))
    set(v, FL_VAL_BOOL, true, st->half_closed);
  else if (!strcmp(n, "started"))
    set(v, FL_VAL_BOOL, true, st->started);
  else if (!strcmp(n, "recv_end"))
    set(v, FL_VAL_BOOL, true, st->recv_end);
  else if (!strcmp(n, "exit_code"))
    set(v, FL_VAL_INT, st->exited && !st->term_signal, st->exit_code);
  else if (!strcmp(n, "duration")) {
    /* From the call's start to its end as this side saw it: the client's status, the
     * server's close. */
    bool ended = scope == FL_SCOPE_CLIENT ? st->have_status : st->have_cancelled;
    set(v, FL_VAL_DURATION, st->started && ended, st->end_peer_ns - st->start_peer_ns);
  }
  /* Scenario capabilities: streams, payloads, pending ops, reading, shutdown. */
  else if (!strcmp(n, "calls"))
    set(v, FL_VAL_INT, true, st->calls);
  else if (!strcmp(n, "calls_ok"))
    set(v, FL_VAL_INT, true, st->calls_ok);
  else if (!strcmp(n, "nulls_sent"))
    set(v, FL_VAL_INT, true, st->nulls_sent);
  else if (!strcmp(n, "nulls_received"))
    set(v, FL_VAL_INT, true, st->nulls_received);
  else if (!strcmp(n, "fields_received"))
    set(v, FL_VAL_INT, true, st->fields_received);
  else if (!strcmp(n, "invalid_utf8"))
    set(v, FL_VAL_INT, true, st->invalid_utf8);
  else if (!strcmp(n, "last_decode_error") || !strcmp(n, "last_sent_hash") ||
           !strcmp(n, "last_recv_hash")) {
    const char *text = !strcmp(n, "last_decode_error") ? st->last_decode_error
                       : !strcmp(n, "last_sent_hash")  ? st->last_sent_hash
                                                       : st->last_recv_hash;
    set(v, FL_VAL_STRING, text[0] != '\0', 0);
    v->s = text;
  } else if (!strcmp(n, "largest_send"))
    set(v, FL_VAL_SIZE, st->largest_send > 0, st->largest_send);
  else if (!strcmp(n, "recv_limit"))
    set(v, FL_VAL_SIZE, st->have_recv_limit, st->recv_limit);
  else if (!strcmp(n, "reading_stopped"))
    set(v, FL_VAL_BOOL, true, st->reading_stopped);
  else if (!strcmp(n, "send.pending"))
    set(v, FL_VAL_BOOL, true, st->sends_pending > 0);
  else if (!strcmp(n, "send.failed"))
    set(v, FL_VAL_INT, true, st->sends_failed);
  else if (!strcmp(n, "send.max_pending") || !strcmp(n, "send.bytes_before_stall")) {
    /* A send still pending when the run ended counts with how long it had been pending. */
    int64_t longest = st->send_max_pending_ns, bytes = st->send_stall_bytes;
    bool any = st->sent > 0 || st->sends_failed > 0;
    for (int i = 0; r->finished && i < FL_MAX_OPS; i++) {
      const fl_op_state *op = &st->ops[i];
      if (!op->pending || strcmp(op->op, "send")) continue;
      any = true;
      if (r->elapsed_ns - op->since_ns > longest) {
        longest = r->elapsed_ns - op->since_ns;
        bytes = op->sent_bytes_at_start;
      }
    }
    if (!strcmp(n, "send.max_pending"))
      set(v, FL_VAL_DURATION, any, longest);
    else
      set(v, FL_VAL_SIZE, any, bytes);
  } else if (!strcmp(n, "close_send.issued"))
    set(v, FL_VAL_BOOL, true, st->close_send_issued);
  else if (!strcmp(n, "close_send.pending"))
    set(v, FL_VAL_BOOL, true, st->close_sends_pending > 0);
  else if (!strcmp(n, "close_send.pending_for")) {
    /* Until it completed, or, still pending, to the end of the run. */
    int64_t longest = st->close_send_pending_ns;
    for (int i = 0; r->finished && i < FL_MAX_OPS; i++)
      if (st->ops[i].pending && !strcmp(st->ops[i].op, "close_send") &&
          r->elapsed_ns - st->ops[i].since_ns > longest)
        longest = r->elapsed_ns - st->ops[i].since_ns;
    set(v, FL_VAL_DURATION, st->close_send_issued, longest);
  } else if (!strcmp(n, "cancel_latency")) {
    /* The server's side of a cancel: from the client's cancel step, or without one from the
     * moment its deadline passed, to the server's `cancelled`. */
    const fl_peer_state *c = &r->client;
    int64_t from = c->have_cancel_ns ? c->cancel_ns : c->deadline_at_ns;
    bool known = scope == FL_SCOPE_SERVER && st->have_cancelled && st->cancelled &&
                 (c->have_cancel_ns || c->deadline_at_ns > 0);
    set(v, FL_VAL_DURATION, known, st->closed_ns > from ? st->closed_ns - from : 0);
  } else if (!strcmp(n, "shutdown.started"))
    set(v, FL_VAL_BOOL, true, st->shutdown_started);
  else if (!strcmp(n, "shutdown.done"))
    set(v, FL_VAL_BOOL, true, st->shutdown_done);
  else if (!strcmp(n, "shutdown.forced"))
    set(v, FL_VAL_BOOL, true, st->shutdown_forced);
  else if (!strcmp(n, "shutdown.duration"))
    set(v, FL_VAL_DURATION, st->shutdown_done,
        st->shutdown_done_peer_ns - st->shutdown_start_peer_ns);
  else if (!strcmp(n, "rss_growth")) {
    set(v, FL_VAL_SIZE, st->samples.n > 0,
        (st->samples.peak_rss_kib - st->samples.baseline_rss_kib) * 1024);
  } else if (!strcmp(n, "peak_rss")) {
    /* The kernel's high-water mark once the peer is reaped; the sampled peak before. */
    int64_t kib =
        st->peak_rss_kib > st->samples.peak_rss_kib ? st->peak_rss_kib : st->samples.peak_rss_kib;
    set(v, FL_VAL_SIZE, kib > 0, kib * 1024);
  } else if (!strcmp(n, "threads"))
    set(v, FL_VAL_INT, st->samples.n > 0, st->samples.max_threads);
  else if (!strcmp(n, "fds"))
    set(v, FL_VAL_INT, st->samples.n > 0, st->samples.max_fds);
  else
    return false;
  return true;
}
