/*
 * fixture_threads: a process with a known set of blocked threads, for the thread-dump tests and
 * bench/dump.
 *
 *   20 threads "waiter-N" blocked in pthread_cond_wait, called from wait_for_signal()
 *    2 threads "napper-N" blocked in nanosleep, called from nap()
 *    1 main thread blocked in read(0), called from wait_for_eof()
 *
 * Once every worker has been *seen* blocked in its system call (through /proc/self/task), it
 * prints one line on stdout:
 *
 *   ready pid=PID wait_line=L nap_line=M
 *
 * where L and M are the source lines of the blocking calls (what a dump must show as
 * fixture_threads.c:L). It exits when its stdin reaches end of file, and dies with its parent.
 * Built with -g -O0 -fno-omit-frame-pointer so every frame is there.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAITERS 20
#define NAPPERS 2
#define READY_DEADLINE_MS 10000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;         /* the waiters wait on this */
static pthread_cond_t started_cv = PTHREAD_COND_INITIALIZER; /* main waits for the workers */
static int started;
static int released; /* never set: the waiters wait forever */
static pid_t tids[WAITERS + NAPPERS];

/* Set by the workers just before they block, read by main once it has seen them blocked. */
static _Atomic int wait_line, nap_line;

static void register_self(int index) {
  pthread_mutex_lock(&mu);
  tids[index] = (pid_t)syscall(SYS_gettid);
  started++;
  pthread_cond_signal(&started_cv);
  pthread_mutex_unlock(&mu);
}

static __attribute__((noinline)) void wait_for_signal(void) {
  pthread_mutex_lock(&mu);
  while (!released) {
    wait_line = __LINE__ + 1;
    pthread_cond_wait(&cv, &mu);
  }
  pthread_mutex_unlock(&mu);
}

static __attribute__((noinline)) void nap(void) {
  for (;;) {
    struct timespec hour = {3600, 0};
    nap_line = __LINE__ + 1;
    nanosleep(&hour, NULL);
  }
}

static void *waiter(void *arg) {
  int index = (int)(long)arg;
  char name[16];

  snprintf(name, sizeof name, "waiter-%d", index);
  pthread_setname_np(pthread_self(), name);
  register_self(index);
  wait_for_signal();
  return NULL;
}

static void *napper(void *arg) {
  int index = (int)(long)arg;
  char name[16];

  snprintf(name, sizeof name, "napper-%d", index - WAITERS);
  pthread_setname_np(pthread_self(), name);
  register_self(index);
  nap();
  return NULL;
}

/* The syscall number a thread of ours is blocked in, or -1 (running, or not in a syscall). */
static long blocked_in(pid_t tid) {
  char path[64], buf[256];
  FILE *f;
  long nr = -1;

  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  f = fopen(path, "re");
  if (f == NULL) return -1;
  if (fgets(buf, sizeof buf, f) == NULL || sscanf(buf, "%ld", &nr) != 1) nr = -1;
  fclose(f);
  return nr;
}

/* Registered is not yet blocked: a waiter has released the mutex a moment before it enters the
 * futex. Ready means each worker is observed inside its blocking system call. */
static int wait_until_blocked(void) {
  struct timespec tick = {0, 1000000};

  for (int waited = 0; waited < READY_DEADLINE_MS; waited++) {
    int blocked = 0;

    for (int i = 0; i < WAITERS + NAPPERS; i++) {
      long nr = blocked_in(tids[i]);

      if (i < WAITERS ? nr == SYS_futex : nr == SYS_clock_nanosleep || nr == SYS_nanosleep)
        blocked++;
    }
    if (blocked == WAITERS + NAPPERS) return 0;
    nanosleep(&tick, NULL);
  }
  return -1;
}

static __attribute__((noinline)) void wait_for_eof(void) {
  char buf[64];

  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);

    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}

int main(void) {
  pthread_t th;

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (long i = 0; i < WAITERS + NAPPERS; i++) {
    if (pthread_create(&th, NULL, i < WAITERS ? waiter : napper, (void *)i) != 0) {
      fprintf(stderr, "fixture_threads: pthread_create failed\n");
      return 1;
    }
    pthread_detach(th);
  }
  pthread_mutex_lock(&mu);
  while (started < WAITERS + NAPPERS) pthread_cond_wait(&started_cv, &mu);
  pthread_mutex_unlock(&mu);
  if (wait_until_blocked() != 0) {
    fprintf(stderr, "fixture_threads: the workers did not block within %d ms\n", READY_DEADLINE_MS);
    return 1;
  }
  printf("ready pid=%d wait_line=%d nap_line=%d\n", (int)getpid(), (int)wait_line, (int)nap_line);
  fflush(stdout);
  wait_for_eof();
  return 0;
}
