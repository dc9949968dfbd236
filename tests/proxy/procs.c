#include "procs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event.h"

static const char *const names[P_N] = {"server", "proxy", "client"};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spawn(run *r, int who, char *const argv[]) {
  proc *p = &r->p[who];
  int ev[2], ctl[2];
  if (pipe2(ev, O_CLOEXEC) < 0 || pipe2(ctl, O_CLOEXEC) < 0) return -1;
  snprintf(p->stderr_path, sizeof p->stderr_path, "%s/%s.stderr", r->tmp, names[who]);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the test dying takes its children with it */
    int err = open(p->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, 2);
    dup2(ev[1], 3);
    dup2(ctl[0], 4);
    execv(argv[0], argv);
    fprintf(stderr, "cannot exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  close(ev[1]);
  close(ctl[0]);
  p->name = names[who];
  p->pid = pid;
  p->ev_fd = ev[0];
  p->ctl_fd = ctl[1];
  fcntl(p->ev_fd, F_SETFL, O_NONBLOCK);
  return 0;
}

static const unsigned senders[P_N] = {FL_FROM_SERVER, FL_FROM_PROXY, FL_FROM_CLIENT};

static void add_line(proc *p, int who, const char *s) {
  if (p->n_lines == p->cap_lines) {
    p->cap_lines = p->cap_lines ? p->cap_lines * 2 : 256;
    p->lines = realloc(p->lines, p->cap_lines * sizeof *p->lines);
  }
  ev_line *l = &p->lines[p->n_lines++];
  l->line = strdup(s);
  l->parsed = strdup(s);
  l->ok = fl_event_parse(l->parsed, senders[who], &l->ev, l->error, sizeof l->error) == 0;
}

/* Reads whatever the processes wrote, waiting at most ms. */
static void pump(run *r, int ms) {
  struct pollfd pf[P_N];
  int map[P_N], n = 0;
  for (int i = 0; i < P_N; i++) {
    if (r->p[i].pid && !r->p[i].eof) {
      pf[n] = (struct pollfd){.fd = r->p[i].ev_fd, .events = POLLIN};
      map[n++] = i;
    }
  }
  if (!n) return;
  if (poll(pf, (nfds_t)n, ms) <= 0) return;
  for (int k = 0; k < n; k++) {
    if (!pf[k].revents) continue;
    proc *p = &r->p[map[k]];
    for (;;) {
      ssize_t got = read(p->ev_fd, p->buf + p->len, sizeof p->buf - 1 - p->len);
      if (got <= 0) {
        if (got == 0) p->eof = true;
        break;
      }
      p->len += (size_t)got;
      p->buf[p->len] = '\0';
      char *start = p->buf, *nl;
      while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        add_line(p, map[k], start);
        start = nl + 1;
      }
      p->len -= (size_t)(start - p->buf);
      memmove(p->buf, start, p->len);
    }
  }
}

/* Whether line l is event `name` with every "k=v" of attrs (values compared as written). */
static bool matches(const ev_line *l, const char *name, const char *const *attrs) {
  if (!l->ok || (int)l->ev.id != fl_event_from_name(name)) return false;
  for (const char *const *a = attrs; a && *a; a++) {
    const char *eq = strchr(*a, '=');
    int k = -1;
    for (int i = 0; i < FL_N_ATTRS; i++)
      if (strlen(fl_attr_table[i].key) == (size_t)(eq - *a) &&
          !strncmp(fl_attr_table[i].key, *a, (size_t)(eq - *a)))
        k = i;
    if (k < 0 || !fl_event_has(&l->ev, (fl_attr_id)k)) return false;
    if (fl_attr_table[k].type == FL_ATTR_INT) {
      if (l->ev.num[k] != strtoll(eq + 1, NULL, 10)) return false;
    } else if (strlen(eq + 1) != l->ev.str_len[k] ||
               memcmp(l->ev.str[k], eq + 1, l->ev.str_len[k])) {
      return false;
    }
  }
  return true;
}

int ev_find(const run *r, int who, const char *name, const char *const *attrs, int k) {
  const proc *p = &r->p[who];
  for (size_t i = 0; i < p->n_lines; i++)
    if (matches(&p->lines[i], name, attrs) && k-- == 0) return (int)i;
  return -1;
}

int ev_count(const run *r, int who, const char *name, const char *const *attrs) {
  int n = 0;
  const proc *p = &r->p[who];
  for (size_t i = 0; i < p->n_lines; i++)
    if (matches(&p->lines[i], name, attrs)) n++;
  return n;
}

const char *ev_attr(const run *r, int who, int i, const char *key, char *buf, size_t len) {
  if (i < 0) return NULL;
  const ev_line *l = &r->p[who].lines[i];
  if (!l->ok) return NULL;
  for (int k = 0; k < FL_N_ATTRS; k++) {
    if (strcmp(fl_attr_table[k].key, key) || !fl_event_has(&l->ev, (fl_attr_id)k)) continue;
    if (fl_attr_table[k].type == FL_ATTR_INT)
      snprintf(buf, len, "%lld", (long long)l->ev.num[k]);
    else
      snprintf(buf, len, "%.*s", (int)l->ev.str_len[k], l->ev.str[k]);
    return buf;
  }
  return NULL;
}

int ev_protocol_errors(const run *r, int who) {
  int n = 0;
  for (size_t i = 0; i < r->p[who].n_lines; i++) {
    const ev_line *l = &r->p[who].lines[i];
    if (l->ok) continue;
    fprintf(stderr, "%s: a line the event table refuses: %s\n  %s\n", r->p[who].name, l->error,
            l->line);
    n++;
  }
  return n;
}

long long ev_attr_num(const run *r, int who, int i, const char *key, long long dflt) {
  char b[64];
  const char *v = ev_attr(r, who, i, key, b, sizeof b);
  return v ? strtoll(v, NULL, 10) : dflt;
}

int64_t ev_ns(const run *r, int who, int i) { return i < 0 ? 0 : r->p[who].lines[i].ev.stamp_ns; }

int run_wait(run *r, int who, const char *name, const char *const *attrs, int timeout_ms) {
  int64_t until = now_ms() + timeout_ms;
  for (;;) {
    int i = ev_find(r, who, name, attrs, 0);
    if (i >= 0) return i;
    if (r->p[who].eof) return -1;
    int64_t left = until - now_ms();
    if (left <= 0) return -1;
    pump(r, (int)left);
  }
}

int run_wait_exit(run *r, int who, int timeout_ms) {
  int64_t until = now_ms() + timeout_ms;
  while (!r->p[who].eof) {
    int64_t left = until - now_ms();
    if (left <= 0) return -1;
    pump(r, (int)left);
  }
  return 0;
}

int run_control(run *r, int who, const char *line) {
  size_t n = strlen(line);
  return write(r->p[who].ctl_fd, line, n) == (ssize_t)n ? 0 : -1;
}

int run_start(run *r, const char *build, const char *scenario, int upstream_port,
              bool start_client) {
  char tmpl[] = "/tmp/fl-proxy-test-XXXXXX";
  if (!mkdtemp(tmpl)) return -1;
  snprintf(r->tmp, sizeof r->tmp, "%s", tmpl);
  r->build = build;
  r->scenario = scenario;
  char peer[512], proxy[512], up[64];
  snprintf(peer, sizeof peer, "%s/faultline-peer", build);
  snprintf(proxy, sizeof proxy, "%s/faultline-proxy", build);
  char *sargv[] = {peer,          "--side", "server",       "--scenario", (char *)scenario,
                   "--events-fd", "3",      "--control-fd", "4",          NULL};
  int i;
  if (upstream_port > 0) {
    r->server_port = upstream_port;
  } else {
    if (spawn(r, P_SERVER, sargv) < 0) return -1;
    i = run_wait(r, P_SERVER, "ready", NULL, 10000);
    if (i < 0) {
      fprintf(stderr, "the server peer did not report ready\n");
      return -1;
    }
    r->server_port = (int)ev_attr_num(r, P_SERVER, i, "port", 0);
  }
  snprintf(up, sizeof up, "127.0.0.1:%d", r->server_port);
  char *pargv[] = {proxy,         "--scenario", (char *)scenario, "--upstream", up,
                   "--events-fd", "3",          "--control-fd",   "4",          NULL};
  if (spawn(r, P_PROXY, pargv) < 0) return -1;
  i = run_wait(r, P_PROXY, "ready", NULL, 10000);
  if (i < 0) {
    fprintf(stderr, "the proxy did not report ready\n");
    return -1;
  }
  r->proxy_port = (int)ev_attr_num(r, P_PROXY, i, "port", 0);
  return start_client ? run_start_client(r) : 0;
}

int run_start_client(run *r) {
  char peer[512], target[64];
  snprintf(peer, sizeof peer, "%s/faultline-peer", r->build);
  snprintf(target, sizeof target, "127.0.0.1:%d", r->proxy_port);
  char *cargv[] = {peer,       "--side", "client",      "--scenario", (char *)r->scenario,
                   "--target", target,   "--events-fd", "3",          "--control-fd",
                   "4",        NULL};
  return spawn(r, P_CLIENT, cargv);
}

static void dump_file(const char *label, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[1024];
  bool any = false;
  while (fgets(line, sizeof line, f)) {
    if (!any) fprintf(stderr, "--- %s stderr:\n", label);
    any = true;
    fputs(line, stderr);
  }
  fclose(f);
}

void run_end(run *r) {
  /* As the runner ends a run: close every control pipe (peers and proxy leave at once). */
  for (int i = 0; i < P_N; i++)
    if (r->p[i].pid && r->p[i].ctl_fd >= 0) {
      close(r->p[i].ctl_fd);
      r->p[i].ctl_fd = -1;
    }
  int64_t until = now_ms() + 3000;
  for (int i = 0; i < P_N; i++) {
    proc *p = &r->p[i];
    if (!p->pid || p->reaped) continue;
    while (!p->eof && now_ms() < until) pump(r, (int)(until - now_ms()));
    /* Whatever is still alive in the group goes now: no orphans, on any path. */
    kill(-p->pid, SIGKILL);
    waitpid(p->pid, &p->status, 0);
    p->reaped = true;
    close(p->ev_fd);
  }
}

void run_dump(const run *r) {
  for (int i = 0; i < P_N; i++) {
    const proc *p = &r->p[i];
    if (!p->pid) continue;
    fprintf(stderr, "--- %s events (%zu):\n", p->name, p->n_lines);
    for (size_t k = 0; k < p->n_lines; k++) fprintf(stderr, "%s\n", p->lines[k].line);
    dump_file(p->name, p->stderr_path);
  }
}

void run_free(run *r) {
  run_end(r);
  for (int i = 0; i < P_N; i++) {
    proc *p = &r->p[i];
    if (p->pid) unlink(p->stderr_path);
    for (size_t k = 0; k < p->n_lines; k++) {
      free(p->lines[k].line);
      free(p->lines[k].parsed);
    }
    free(p->lines);
    p->lines = NULL;
    p->n_lines = 0;
  }
  if (r->tmp[0]) rmdir(r->tmp);
}
