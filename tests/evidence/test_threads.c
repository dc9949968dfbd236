/*
 * Thread dumps of a real process: tests/evidence/fixture_threads (20 threads in
 * pthread_cond_wait, 2 in nanosleep, main in read), stopped and running; and the plain errors
 * for a process that does not exist and one we may not trace.
 *
 * usage: test_threads FIXTURE
 * Exit 0 pass, 1 fail, 77 skip (ptrace of our own child refused: seccomp, Yama scope 3, ...).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "threads.h"

#include "check.h"

#define FIXTURE_THREADS 23
#define WAITERS 20

typedef struct {
  pid_t pid;
  int stdin_fd; /* closing it ends the fixture */
  int wait_line, nap_line;
} fixture;

static void fixture_end(fixture *fx);

/* Starts the fixture and waits (bounded) for its "ready" line. */
static int fixture_start(const char *path, fixture *fx) {
  int in[2], outp[2];
  char line[256];
  size_t len = 0;
  pid_t pid;
  int ready_pid = 0;

  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0) return -1;
  pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(outp[1], 1);
    execl(path, path, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(outp[1]);
  for (;;) {
    struct pollfd p = {.fd = outp[0], .events = POLLIN};
    ssize_t n;

    if (poll(&p, 1, 20000) <= 0) break;
    n = read(outp[0], line + len, sizeof line - 1 - len);
    if (n <= 0) break;
    len += (size_t)n;
    line[len] = '\0';
    if (strchr(line, '\n') != NULL || len == sizeof line - 1) break;
  }
  close(outp[0]);
  line[len] = '\0';
  if (sscanf(line, "ready pid=%d wait_line=%d nap_line=%d", &ready_pid, &fx->wait_line,
             &fx->nap_line) != 3 ||
      ready_pid != pid) {
    fprintf(stderr, "fixture did not get ready (said \"%s\")\n", line);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(in[1]);
    return -1;
  }
  fx->pid = pid;
  fx->stdin_fd = in[1];
  /* "ready" is printed just before the main thread blocks: wait until it is seen inside its
   * read(2) on stdin (syscall 0), so the dump finds it there and not still in the printf. */
  for (int i = 0; i < 5000; i++) {
    char path[64], buf[64];
    long nr = -1;
    FILE *f;
    struct timespec tick = {0, 1000000};

    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    f = fopen(path, "re");
    if (f != NULL) {
      if (fgets(buf, sizeof buf, f) == NULL || sscanf(buf, "%ld", &nr) != 1) nr = -1;
      fclose(f);
    }
    if (nr == 0) return 0;
    nanosleep(&tick, NULL);
  }
  fprintf(stderr, "fixture's main thread never blocked in read(2)\n");
  fixture_end(fx);
  return -1;
}

static void fixture_end(fixture *fx) {
  kill(fx->pid, SIGKILL);
  kill(fx->pid, SIGCONT);
  waitpid(fx->pid, NULL, 0);
  close(fx->stdin_fd);
}

/* Counts the threads of pid in state `letter` (from /proc/PID/task/TID/stat), and all threads. */
static int threads_in_state(pid_t pid, char letter, int *total) {
  char path[300], st[512];
  struct dirent *de;
  DIR *dir;
  int n = 0;

  *total = 0;
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  dir = opendir(path);
  if (dir == NULL) return -1;
  while ((de = readdir(dir)) != NULL) {
    FILE *f;
    char *p;

    if (de->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, de->d_name);
    f = fopen(path, "re");
    if (f == NULL) continue;
    if (fgets(st, sizeof st, f) != NULL && (p = strrchr(st, ')')) != NULL) {
      (*total)++;
      n += p[2] == letter;
    }
    fclose(f);
  }
  closedir(dir);
  return n;
}

/* Waits (bounded) until every thread of pid is stopped, by looking, not by sleeping a guess. */
static bool wait_all_stopped(pid_t pid) {
  struct timespec tick = {0, 1000000};

  for (int i = 0; i < 5000; i++) {
    int total, stopped = threads_in_state(pid, 'T', &total);

    if (total == FIXTURE_THREADS && stopped == total) return true;
    nanosleep(&tick, NULL);
  }
  return false;
}

static char *dump_to_string(pid_t pid, const char *why, fl_dump_info *info, char *err,
                            size_t errlen, int *rv) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);

  if (mem == NULL) {
    *rv = -1;
    snprintf(err, errlen, "open_memstream failed");
    return NULL;
  }
  *rv = fl_threads_dump(pid, "fixture", why, mem, info, err, errlen);
  fclose(mem);
  return text;
}

/* Sum of the "N @" counts of the summary, and whether an "N @" group exists for want. */
static int summary_total(const char *text, int want, bool *found) {
  int sum = 0;
  const char *p = text;

  *found = false;
  while ((p = strstr(p, "\n")) != NULL) {
    int count;
    char at[3];

    p++;
    /* sscanf's %d would skip a blank line and count the next group twice */
    if (*p >= '0' && *p <= '9' && sscanf(p, "%d %2s", &count, at) == 2 && strcmp(at, "@") == 0) {
      sum += count;
      if (count == want) *found = true;
    }
  }
  return sum;
}

static int count_occurrences(const char *text, const char *needle) {
  int n = 0;

  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

static void check_dump_text(const char *text, const fixture *fx, bool stopped) {
  char needle[128];
  bool has20, has2;
  int sum = summary_total(text, WAITERS, &has20);

  summary_total(text, 2, &has2);
  CHECK(strstr(text, "thread profile: total 23\n") != NULL, "summary header missing");
  CHECK(sum == FIXTURE_THREADS, "summary counts add up to %d, want %d", sum, FIXTURE_THREADS);
  CHECK(has20, "no \"20 @\" group");
  CHECK(has2, "no \"2 @\" group for the nappers");

  /* wait_for_signal(...) followed by its file:line, the line of the pthread_cond_wait call. */
  snprintf(needle, sizeof needle, "fixture_threads.c:%d +0x", fx->wait_line);
  CHECK(count_occurrences(text, "wait_for_signal(...)\n\t") == WAITERS,
        "want %d wait_for_signal frames", WAITERS);
  CHECK(count_occurrences(text, needle) == WAITERS, "want %d frames at %s", WAITERS, needle);
  snprintf(needle, sizeof needle, "nap(...)\n\t");
  CHECK(count_occurrences(text, needle) == 2, "want 2 nap frames");
  snprintf(needle, sizeof needle, "fixture_threads.c:%d +0x", fx->nap_line);
  CHECK(count_occurrences(text, needle) == 2, "want 2 frames at %s", needle);
  CHECK(count_occurrences(text, "wait_for_eof(...)\n\t") == 1, "main thread frame missing");
  CHECK(count_occurrences(text, "\nmain(...)\n\t") == 1, "main() frame missing");

  /* States from /proc: the cond wait is a futex on cv (named by symbol), nappers nanosleep,
   * main reads its stdin pipe. */
  snprintf(needle, sizeof needle, "[%s, futex wait cv+", stopped ? "stopped" : "sleeping");
  CHECK(count_occurrences(text, needle) == WAITERS, "want %d threads \"%s\"", WAITERS, needle);
  CHECK(count_occurrences(text, "\"waiter-") == WAITERS, "thread names missing");
  CHECK(count_occurrences(text, ", nanosleep]:") == 2, "nanosleep state missing");
  CHECK(count_occurrences(text, ", read fd 0 (pipe:[") == 1, "main thread's read missing");
  CHECK(strstr(text, stopped ? "snapshot: the process was stopped"
                             : "snapshot: the process was running") != NULL,
        "snapshot line wrong");
  CHECK(strstr(text, "why: test\n") != NULL, "why missing");
  CHECK(strstr(text, "thread dump: fixture, pid ") != NULL, "header missing");
  CHECK(strstr(text, "unwinding stopped") == NULL, "some unwinding failed");
}

/* Returns false if this environment does not allow ptrace at all (the test is then skipped). */
static bool test_dump_stopped_and_running(const fixture *fx) {
  char err[512];
  fl_dump_info info = {0};
  int rv, total, n;
  char *text;

  /* The runner's way: stop, see the stop through wait (the parent's notification is consumed,
   * as the runner does), dump, (dump again), resume. */
  {
    int status = 0;
    CHECK(kill(fx->pid, SIGSTOP) == 0, "kill: %s", strerror(errno));
    CHECK(waitpid(fx->pid, &status, WUNTRACED) == fx->pid && WIFSTOPPED(status),
          "waitpid WUNTRACED: status %d", status);
    CHECK(wait_all_stopped(fx->pid), "fixture did not stop");
  }

  text = dump_to_string(fx->pid, "test", &info, err, sizeof err, &rv);
  if (rv != 0 && strstr(err, "not permitted to trace") != NULL) {
    /* Our own child: only the environment (seccomp, Yama scope 3, ...) forbids this. */
    printf("SKIP: ptrace is not possible here: %s\n", err);
    free(text);
    kill(fx->pid, SIGCONT);
    return false;
  }
  CHECK(rv == 0, "dump failed: %s", err);
  if (rv == 0) {
    CHECK(info.threads == FIXTURE_THREADS, "threads %d", info.threads);
    check_dump_text(text, fx, true);
    printf("stopped dump: %d threads in %.1f ms\n", info.threads, info.elapsed_ms);
  }
  n = threads_in_state(fx->pid, 'T', &total);
  CHECK(total == FIXTURE_THREADS && n == total, "after the dump %d of %d threads stopped", n,
        total);
  if (failures) fputs(text ? text : "", stderr);
  free(text);

  /* Dumping a stopped process twice works and still leaves it stopped. */
  text = dump_to_string(fx->pid, "test", &info, err, sizeof err, &rv);
  CHECK(rv == 0, "second dump failed: %s", err);
  free(text);
  n = threads_in_state(fx->pid, 'T', &total);
  CHECK(n == total, "after the second dump %d of %d threads stopped", n, total);

  /* A running process is dumped too, and left running. */
  CHECK(kill(fx->pid, SIGCONT) == 0, "kill: %s", strerror(errno));
  {
    struct timespec tick = {0, 1000000};
    for (int i = 0; i < 5000 && threads_in_state(fx->pid, 'T', &total) > 0; i++)
      nanosleep(&tick, NULL);
  }
  text = dump_to_string(fx->pid, "test", &info, err, sizeof err, &rv);
  CHECK(rv == 0, "dump of the running fixture failed: %s", err);
  if (rv == 0) {
    /* Resumed waiters go back to the same futex; the dump finds them asleep again, except in
     * the rare case one was caught between wakeup and futex (then "running"), so only the
     * stack checks are strict here. */
    bool has20;
    int sum = summary_total(text, WAITERS, &has20);
    CHECK(sum == FIXTURE_THREADS, "running: counts add up to %d", sum);
    CHECK(strstr(text, "snapshot: the process was running") != NULL, "snapshot line wrong");
    CHECK(count_occurrences(text, "wait_for_signal(...)\n\t") == WAITERS, "running: frames");
    printf("running dump: %d threads in %.1f ms\n", info.threads, info.elapsed_ms);
  }
  free(text);
  n = threads_in_state(fx->pid, 'T', &total);
  CHECK(n == 0 && total == FIXTURE_THREADS, "after dumping the running fixture %d stopped", n);
  n = threads_in_state(fx->pid, 't', &total);
  CHECK(n == 0, "after the dump %d threads still in tracing stop", n);
  return true;
}

static void test_no_such_process(void) {
  char err[512] = "";
  fl_dump_info info;
  pid_t pid;
  int rv;

  fflush(stdout);
  pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0); /* now pid names no process */
  rv = fl_threads_dump(pid, NULL, NULL, stdout, &info, err, sizeof err);
  CHECK(rv == -1, "dump of a gone pid returned %d", rv);
  CHECK(strstr(err, "no such process") != NULL, "message: %s", err);
  printf("gone pid: %s\n", err);
}

/* A dumper that may not trace the target gets a plain "not permitted", not a partial dump. */
static void test_not_permitted(const fixture *fx) {
  int status;
  pid_t child;

  if (geteuid() != 0) {
    /* Unprivileged already: a process of another user (init, usually root's) is off limits. */
    char err[512] = "", line[256];
    unsigned owner = 0;
    FILE *f = fopen("/proc/1/status", "re");

    while (f != NULL && fgets(line, sizeof line, f) != NULL)
      if (sscanf(line, "Uid: %u", &owner) == 1) break;
    if (f != NULL) fclose(f);
    if (f == NULL || owner == geteuid()) {
      puts("not-permitted case skipped: no process of another user to try");
      return;
    }
    CHECK(fl_threads_dump(1, NULL, NULL, stdout, NULL, err, sizeof err) == -1, "dumped pid 1");
    CHECK(strstr(err, "not permitted to trace pid 1") != NULL, "message: %s", err);
    printf("unprivileged dumper: %s\n", err);
    return;
  }
  fflush(stdout); /* the child would print our buffered output again */
  child = fork();
  if (child == 0) {
    char err[512] = "";
    int rv;

    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    rv = fl_threads_dump(fx->pid, NULL, NULL, stdout, NULL, err, sizeof err);
    printf("unprivileged dumper: %s\n", err);
    fflush(stdout);
    _exit(rv == -1 && strstr(err, "not permitted to trace") != NULL ? 0 : 1);
  }
  CHECK(child > 0 && waitpid(child, &status, 0) == child, "fork/wait");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unprivileged dump: status %d", status);
}

int main(int argc, char **argv) {
  fixture fx;

  if (argc != 2) {
    fprintf(stderr, "usage: %s FIXTURE\n", argv[0]);
    return 1;
  }
  if (fixture_start(argv[1], &fx) != 0) return 1;

  if (!test_dump_stopped_and_running(&fx)) {
    fixture_end(&fx);
    return 77;
  }
  test_no_such_process();
  test_not_permitted(&fx);

  fixture_end(&fx);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
