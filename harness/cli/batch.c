#include "batch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* A worker's collected output beyond this is dropped (and said so): the runner prints a few
 * lines, the summary a few dozen; megabytes would be a bug, not output. */
#define MAX_COLLECTED (4u << 20)

enum { OUT, ERR, RES, N_FDS };

typedef struct {
  pid_t pid;
  size_t idx;
  int fd[N_FDS];
  char *buf[2];
  size_t len[2], cap[2];
  bool cut[2];
  fl_batch_outcome outcome;
  size_t got; /* bytes of outcome read */
  int64_t t0;
} worker;

typedef struct {
  const fl_batch *b;
  fl_batch_result *results;
  worker *w; /* b->jobs slots; pid 0: free */
  size_t ended, failed;
  bool stopping;
  int sigfd;
} batch;

static double since_s(int64_t t0) { return (double)(fl_mono_ns() - t0) / 1e9; }

static bool failed(const fl_batch_outcome *o) { return o->kind != FL_VERDICT_REPRODUCED; }

/* ---- the live status line ----------------------------------------------------------------- */

static void live_erase(const batch *bt) {
  if (!bt->b->live) return;
  fputs("\r\033[K", stderr);
  fflush(stderr);
}

static void live_draw(const batch *bt) {
  const fl_batch *b = bt->b;
  if (!b->live) return;
  struct winsize ws;
  size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 ? ws.ws_col : 80;
  char line[1024];
  size_t o =
      (size_t)snprintf(line, sizeof line, "[%zu/%zu] %zu failed", bt->ended, b->n, bt->failed);
  const char *sep = ", running ";
  for (int j = 0; j < b->jobs && o < sizeof line; j++) {
    if (!bt->w[j].pid) continue;
    o += (size_t)snprintf(line + o, sizeof line - o, "%s%s (%.0fs)", sep,
                          b->label(b->ctx, bt->w[j].idx), since_s(bt->w[j].t0));
    sep = ", ";
  }
  if (o >= width) o = width - 1;
  if (o >= sizeof line) o = sizeof line - 1;
  line[o] = '\0';
  fprintf(stderr, "\r\033[K%s", line);
  fflush(stderr);
}

/* ---- progress lines ------------------------------------------------------------------------ */

static void start_line(const batch *bt, size_t i) {
  const fl_batch *b = bt->b;
  if (b->quiet || b->live) return;
  fprintf(stderr, "running %s (%zu/%zu, timeout %.0fs) ...\n", b->label(b->ctx, i), i + 1, b->n,
          b->timeout_s(b->ctx, i));
  fflush(stderr);
}

/* "[3/22] ping-pong reproduced 0.4s", after the run's own output. */
static void end_line(const batch *bt, size_t i) {
  const fl_batch *b = bt->b;
  const fl_batch_result *r = &bt->results[i];
  if (b->quiet || b->n < 2) return;
  const char *on = "", *off = "";
  if (b->color) {
    on = failed(&r->outcome) ? "\033[31m" : "\033[32m";
    off = "\033[0m";
  }
  fprintf(stderr, "[%zu/%zu] %s %s%s%s %.3fs\n", bt->ended, b->n, b->label(b->ctx, i), on,
          fl_verdict_name(r->outcome.kind), off, r->seconds);
  fflush(stderr);
}

/* A run is over: counted, its output and its progress line printed. */
static void ended(batch *bt, size_t i) {
  bt->ended++;
  if (failed(&bt->results[i].outcome)) bt->failed++;
  if (bt->results[i].outcome.interrupted) bt->stopping = true;
}

/* ---- one run in this process --------------------------------------------------------------- */

static bool run_here(const fl_batch *b, fl_batch_result *results) {
  batch bt = {.b = b, .results = results, .sigfd = -1};
  fl_batch_result *r = &results[0];
  r->ran = true;
  int64_t t0 = fl_mono_ns();
  if (b->prepare(b->ctx, 0, r->outcome.why, sizeof r->outcome.why) < 0) {
    r->outcome.kind = FL_VERDICT_ERROR;
    fprintf(stderr, "faultline run: %s: %s\n", b->label(b->ctx, 0), r->outcome.why);
  } else {
    start_line(&bt, 0);
    b->run(b->ctx, 0, &r->outcome);
    b->release(b->ctx, 0);
  }
  r->seconds = since_s(t0);
  ended(&bt, 0);
  return r->outcome.interrupted;
}

/* ---- workers ------------------------------------------------------------------------------- */

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* In the worker, between fork and the run: only its own pipes stay open, on 1 and 2. */
static void become_worker(batch *bt, worker *me, pid_t parent) {
  for (int j = 0; j < bt->b->jobs; j++) {
    worker *w = &bt->w[j];
    if (w == me || !w->pid) continue;
    for (int k = 0; k < N_FDS; k++) close_fd(&w->fd[k]);
  }
  close_fd(&bt->sigfd);
  /* The stop signals stay blocked, as the batch had them: one that arrives before the runner
   * takes them over waits, pending, for the runner's signalfd instead of killing this process
   * before its run directory is written. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127);
  if (dup2(me->fd[OUT], STDOUT_FILENO) < 0 || dup2(me->fd[ERR], STDERR_FILENO) < 0) _exit(127);
  close_fd(&me->fd[OUT]);
  close_fd(&me->fd[ERR]);
}

/* Run i ends in an error before it could run (r->outcome.why says why): counted, said. */
static void not_started(batch *bt, size_t i) {
  fl_batch_result *r = &bt->results[i];
  r->outcome.kind = FL_VERDICT_ERROR;
  ended(bt, i);
  live_erase(bt);
  fprintf(stderr, "faultline run: %s: %s\n", bt->b->label(bt->b->ctx, i), r->outcome.why);
  end_line(bt, i);
  live_draw(bt);
}

static void start(batch *bt, size_t i) {
  const fl_batch *b = bt->b;
  fl_batch_result *r = &bt->results[i];
  worker *w = NULL;
  for (int j = 0; j < b->jobs && !w; j++)
    if (!bt->w[j].pid) w = &bt->w[j];
  r->ran = true;
  int64_t t0 = fl_mono_ns();
  if (b->prepare(b->ctx, i, r->outcome.why, sizeof r->outcome.why) < 0) {
    not_started(bt, i);
    return;
  }
  start_line(bt, i);
  /* Each pipe: [0] ours to read, [1] the worker's; close-on-exec, so that no peer holds one. */
  int p[N_FDS][2];
  int made = 0;
  while (made < N_FDS && pipe2(p[made], O_CLOEXEC) == 0) made++;
  if (made == N_FDS) {
    fflush(stdout);
    fflush(stderr);
    *w = (worker){.idx = i, .t0 = t0};
    for (int k = 0; k < N_FDS; k++) w->fd[k] = p[k][1];
    pid_t parent = getpid();
    w->pid = fork();
    if (w->pid == 0) {
      for (int k = 0; k < N_FDS; k++) close(p[k][0]);
      become_worker(bt, w, parent);
      fl_batch_outcome o = {.kind = FL_VERDICT_ERROR};
      b->run(b->ctx, i, &o);
      fflush(stdout);
      fflush(stderr);
      (void)!write(w->fd[RES], &o, sizeof o);
      _exit(0);
    }
  }
  int e = errno;
  for (int k = 0; k < made; k++) close(p[k][1]);
  b->release(b->ctx, i);
  if (made < N_FDS || w->pid < 0) {
    for (int k = 0; k < made; k++) close(p[k][0]);
    w->pid = 0;
    snprintf(r->outcome.why, sizeof r->outcome.why, "cannot start a worker process: %s",
             strerror(e));
    r->seconds = since_s(t0);
    not_started(bt, i);
    return;
  }
  for (int k = 0; k < N_FDS; k++) w->fd[k] = p[k][0];
}

static void collect(worker *w, int k) {
  if (k == RES) {
    ssize_t n = read(w->fd[RES], (char *)&w->outcome + w->got,
                     w->got < sizeof w->outcome ? sizeof w->outcome - w->got : 1);
    if (n > 0 && w->got + (size_t)n <= sizeof w->outcome) w->got += (size_t)n;
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) close_fd(&w->fd[RES]);
    return;
  }
  char chunk[8192];
  ssize_t n = read(w->fd[k], chunk, sizeof chunk);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
    close_fd(&w->fd[k]);
    return;
  }
  if (n < 0) return;
  if (w->len[k] + (size_t)n > MAX_COLLECTED) {
    w->cut[k] = true;
    return;
  }
  if (w->len[k] + (size_t)n > w->cap[k]) {
    size_t cap = w->cap[k] ? w->cap[k] * 2 : 16384;
    while (cap < w->len[k] + (size_t)n) cap *= 2;
    char *grown = realloc(w->buf[k], cap);
    if (!grown) {
      w->cut[k] = true;
      return;
    }
    w->buf[k] = grown;
    w->cap[k] = cap;
  }
  memcpy(w->buf[k] + w->len[k], chunk, (size_t)n);
  w->len[k] += (size_t)n;
}

/* A worker whose pipes are all closed has ended: reaped, its result taken, its output shown. */
static void reap(batch *bt, worker *w) {
  const fl_batch *b = bt->b;
  fl_batch_result *r = &bt->results[w->idx];
  int st = 0;
  while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
  }
  r->seconds = since_s(w->t0);
  if (w->got == sizeof w->outcome) {
    r->outcome = w->outcome;
    r->outcome.why[sizeof r->outcome.why - 1] = '\0';
  } else {
    r->outcome = (fl_batch_outcome){.kind = FL_VERDICT_ERROR};
    if (WIFSIGNALED(st))
      snprintf(r->outcome.why, sizeof r->outcome.why,
               "the run's worker process died of signal %d (%s) before its verdict", WTERMSIG(st),
               strsignal(WTERMSIG(st)));
    else
      snprintf(r->outcome.why, sizeof r->outcome.why,
               "the run's worker process exited with %d before its verdict",
               WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  }
  ended(bt, w->idx);
  live_erase(bt);
  if (w->len[ERR]) fwrite(w->buf[ERR], 1, w->len[ERR], stderr);
  if (w->cut[ERR] || w->cut[OUT])
    fprintf(stderr, "faultline run: %s: output beyond %u MiB was dropped\n",
            b->label(b->ctx, w->idx), MAX_COLLECTED >> 20);
  if (r->outcome.why[0] && w->got != sizeof w->outcome)
    fprintf(stderr, "faultline run: %s: %s\n", b->label(b->ctx, w->idx), r->outcome.why);
  end_line(bt, w->idx);
  if (w->len[OUT]) fwrite(w->buf[OUT], 1, w->len[OUT], stdout);
  fflush(stdout);
  fflush(stderr);
  free(w->buf[OUT]);
  free(w->buf[ERR]);
  *w = (worker){.fd = {-1, -1, -1}};
  live_draw(bt); /* without it: its slot is free */
}

static void stop_all(batch *bt, int signo) {
  bt->stopping = true;
  for (int j = 0; j < bt->b->jobs; j++)
    if (bt->w[j].pid > 0) kill(bt->w[j].pid, signo);
}

static bool run_workers(const fl_batch *b, fl_batch_result *results) {
  batch bt = {.b = b, .results = results, .sigfd = -1};
  bt.w = calloc((size_t)b->jobs, sizeof *bt.w);
  if (!bt.w) {
    for (size_t i = 0; i < b->n; i++)
      results[i] = (fl_batch_result){.ran = true, .outcome = {.kind = FL_VERDICT_ERROR}};
    return false;
  }
  for (int j = 0; j < b->jobs; j++) bt.w[j] = (worker){.fd = {-1, -1, -1}};

  /* The stop signals come through a signalfd; a shell may have started us with SIGINT
   * ignored, and an ignored signal is discarded even while blocked: take the default back. */
  sigset_t mask, oldmask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, &oldmask);
  struct sigaction dfl = {.sa_handler = SIG_DFL}, old[3];
  sigaction(SIGINT, &dfl, &old[0]);
  sigaction(SIGTERM, &dfl, &old[1]);
  sigaction(SIGHUP, &dfl, &old[2]);
  bt.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  /* Without one a stop signal must still stop us (the workers then get their PDEATHSIG). */
  if (bt.sigfd < 0) sigprocmask(SIG_SETMASK, &oldmask, NULL);

  size_t next = 0;
  for (;;) {
    int active = 0;
    for (int j = 0; j < b->jobs; j++) active += bt.w[j].pid > 0;
    while (!bt.stopping && active < b->jobs && next < b->n) {
      start(&bt, next++);
      active = 0;
      for (int j = 0; j < b->jobs; j++) active += bt.w[j].pid > 0;
    }
    if (active == 0 && (bt.stopping || next == b->n)) break;
    live_draw(&bt);

    struct pollfd pfd[1 + FL_BATCH_MAX_JOBS * N_FDS];
    size_t np = 0;
    if (bt.sigfd >= 0) pfd[np++] = (struct pollfd){.fd = bt.sigfd, .events = POLLIN};
    for (int j = 0; j < b->jobs && np + N_FDS <= sizeof pfd / sizeof pfd[0]; j++)
      for (int k = 0; k < N_FDS; k++)
        if (bt.w[j].pid > 0 && bt.w[j].fd[k] >= 0)
          pfd[np++] = (struct pollfd){.fd = bt.w[j].fd[k], .events = POLLIN};
    /* A live line shows how long each run has gone: redrawn every second. */
    if (poll(pfd, np, b->live ? 1000 : -1) < 0 && errno != EINTR) break;

    struct signalfd_siginfo si;
    while (bt.sigfd >= 0 && read(bt.sigfd, &si, sizeof si) == sizeof si) {
      if (!bt.stopping) {
        live_erase(&bt);
        fprintf(stderr, "faultline run: %s: stopping; no run starts now, the running ones end\n",
                strsignal((int)si.ssi_signo));
      }
      stop_all(&bt, (int)si.ssi_signo);
    }
    for (int j = 0; j < b->jobs; j++) {
      worker *w = &bt.w[j];
      if (w->pid <= 0) continue;
      for (size_t p = 0; p < np; p++)
        for (int k = 0; k < N_FDS; k++)
          if (w->fd[k] >= 0 && pfd[p].fd == w->fd[k] && (pfd[p].revents & (POLLIN | POLLHUP)))
            collect(w, k);
      if (w->fd[OUT] < 0 && w->fd[ERR] < 0 && w->fd[RES] < 0) reap(&bt, w);
    }
  }
  live_erase(&bt);
  /* Signals that came after the last read are consumed here, so that unblocking them does not
   * end this process: they stopped the batch already, or would have. */
  if (bt.sigfd >= 0) {
    struct signalfd_siginfo si;
    while (read(bt.sigfd, &si, sizeof si) == sizeof si) bt.stopping = true;
    close(bt.sigfd);
  }
  sigaction(SIGINT, &old[0], NULL);
  sigaction(SIGTERM, &old[1], NULL);
  sigaction(SIGHUP, &old[2], NULL);
  sigprocmask(SIG_SETMASK, &oldmask, NULL);
  bool stopped = bt.stopping;
  free(bt.w);
  return stopped;
}

bool fl_batch_run(const fl_batch *b, fl_batch_result *results) {
  for (size_t i = 0; i < b->n; i++) results[i] = (fl_batch_result){0};
  if (b->n == 0) return false;
  return b->n == 1 ? run_here(b, results) : run_workers(b, results);
}
