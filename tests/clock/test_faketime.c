/*
 * The clock injector (injectors/clock.h) against the real libfaketime: a child started with
 * fl_clock_envp(fl_clock_env_build(plan)) reports, on request, its clocks as libc shows them
 * and as the kernel has them (a raw syscall, which libfaketime does not see), so each test
 * reads the offset the child lives with. Requests go through a pipe: no sleeps, no races.
 * Exits 77 (skip) when libfaketime is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

#include "faketime.h"
#include "scenario.h"

#define SEC INT64_C(1000000000)
#define MS INT64_C(1000000)

static char library[4096];
static char self[4096];

static int64_t libc_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t kernel_ns(clockid_t c) {
  struct timespec ts;
  syscall(SYS_clock_gettime, c, &ts);
  return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

/* The child: for every byte on stdin, one line "REALTIME_OFFSET MONOTONIC_OFFSET" in ns. */
static int probe_main(void) {
  char b;
  while (read(0, &b, 1) == 1) {
    int64_t r = libc_ns(CLOCK_REALTIME) - kernel_ns(CLOCK_REALTIME);
    int64_t m = libc_ns(CLOCK_MONOTONIC) - kernel_ns(CLOCK_MONOTONIC);
    printf("%lld %lld\n", (long long)r, (long long)m);
    fflush(stdout);
  }
  return 0;
}

typedef struct {
  pid_t pid;
  int to, from;
  FILE *in;
} child;

/* Starts the probe with the environment of `plan` (NULL: a side without a clock), as the
 * runner starts a side: envp made before the fork, execve after it. */
static void start(child *ch, const fl_clock_plan *plan, const char *stamp) {
  static fl_clock_env env;
  static char *envp[1024];
  char err[512];
  if (fl_clock_env_build(plan, library, stamp, getenv("LD_PRELOAD"), &env, err, sizeof err) < 0)
    fail_msg("fl_clock_env_build: %s", err);
  if (env.uses_stamp_file && fl_clock_stamp_write(stamp, env.stamp_text, err, sizeof err) < 0)
    fail_msg("%s", err);
  assert_true(fl_clock_envp(&env, environ, envp, sizeof envp / sizeof envp[0]) > 0);
  char *argv[] = {self, "--probe", NULL};
  int to[2], from[2];
  assert_int_equal(pipe(to), 0);
  assert_int_equal(pipe(from), 0);
  ch->pid = fork();
  assert_true(ch->pid >= 0);
  if (ch->pid == 0) {
    dup2(to[0], 0);
    dup2(from[1], 1);
    close(to[0]);
    close(to[1]);
    close(from[0]);
    close(from[1]);
    execve(self, argv, envp);
    _exit(127);
  }
  close(to[0]);
  close(from[1]);
  ch->to = to[1];
  ch->in = fdopen(from[0], "r");
}

static void ask(child *ch, int64_t *real_off, int64_t *mono_off) {
  assert_int_equal(write(ch->to, "?", 1), 1);
  long long r, m;
  if (fscanf(ch->in, "%lld %lld", &r, &m) != 2) fail_msg("the probe did not answer");
  *real_off = r;
  *mono_off = m;
}

static void stop(child *ch) {
  close(ch->to);
  fclose(ch->in);
  int st;
  assert_int_equal(waitpid(ch->pid, &st, 0), ch->pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void assert_near(int64_t got, int64_t want) {
  if (got < want - 50 * MS || got > want + 50 * MS)
    fail_msg("offset %lld ns, expected %lld ns +- 50 ms", (long long)got, (long long)want);
}

static fl_scenario *load(const char *text) {
  fl_scenario *s = NULL;
  fl_error err;
  if (fl_scenario_parse("t.yaml", text, strlen(text), &s, &err) < 0) fail_msg("%s", err.msg);
  return s;
}

static void test_realtime_offset(void **state) {
  (void)state;
  fl_scenario *s = load("name: t\nserver:\n  clock: { fake: realtime, offset: +2h }\n");
  child ch;
  int64_t r, m;
  start(&ch, &s->server.clock, NULL);
  ask(&ch, &r, &m);
  assert_near(r, 2 * 3600 * SEC);
  assert_near(m, 0); /* the event stamps stay on the machine's clock */
  stop(&ch);
  fl_scenario_free(s);
}

static void test_monotonic_offset(void **state) {
  (void)state;
  fl_scenario *s = load("name: t\nserver:\n  clock: { fake: realtime+monotonic, offset: +30s }\n");
  child ch;
  int64_t r, m;
  start(&ch, &s->server.clock, NULL);
  ask(&ch, &r, &m);
  assert_near(r, 30 * SEC);
  /* libfaketime's CLOCK_MONOTONIC is not the machine's: the runner must use arrival stamps. */
  if (m > -SEC && m < SEC) fail_msg("CLOCK_MONOTONIC is not faked (offset %lld ns)", (long long)m);
  stop(&ch);
  fl_scenario_free(s);
}

static void test_jump(void **state) {
  (void)state;
  fl_scenario *s = load("name: t\n"
                        "client:\n"
                        "  clock:\n"
                        "    fake: realtime+monotonic\n"
                        "    offset: +1s\n"
                        "    jump: [ { by: +30s, after: 1s }, { by: +2h, after: 2s } ]\n");
  char dir[] = "/tmp/fl-clock-XXXXXX", stamp[64], err[512];
  assert_non_null(mkdtemp(dir));
  snprintf(stamp, sizeof stamp, "%s/clock-client.rc", dir);
  child ch;
  int64_t r0, m0, r1, m1, r2, m2;
  start(&ch, &s->client.clock, stamp);
  ask(&ch, &r0, &m0);
  assert_near(r0, SEC);
  int64_t offset = SEC;
  if (fl_clock_fire_jump(&s->client.clock, 0, &offset, stamp, err, sizeof err) < 0)
    fail_msg("%s", err);
  assert_true(offset == 31 * SEC);
  ask(&ch, &r1, &m1); /* the next clock read sees the new file (FAKETIME_NO_CACHE) */
  assert_near(r1, 31 * SEC);
  assert_near(m1 - m0, 30 * SEC); /* the monotonic clock jumps with it */
  if (fl_clock_fire_jump(&s->client.clock, 1, &offset, stamp, err, sizeof err) < 0)
    fail_msg("%s", err);
  ask(&ch, &r2, &m2);
  assert_near(r2, 31 * SEC + 2 * 3600 * SEC);
  stop(&ch);
  unlink(stamp);
  rmdir(dir);
  fl_scenario_free(s);
}

/* A side without a clock is scrubbed of what the runner's environment had. */
static void test_unfaked_side_is_clean(void **state) {
  (void)state;
  char pre[4200];
  snprintf(pre, sizeof pre, "/lib/nothing-here.so:%s", library);
  setenv("FAKETIME", "+1h", 1);
  setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
  fl_clock_env env;
  char *envp[1024], err[256];
  /* As if the runner ran with libfaketime preloaded (fl_clock_runner_check refuses that). */
  assert_int_equal(fl_clock_env_build(NULL, library, NULL, pre, &env, err, sizeof err), 0);
  assert_false(env.faked);
  assert_int_equal(env.n_vars, 1);
  assert_string_equal(env.vars[0], "LD_PRELOAD=/lib/nothing-here.so");
  setenv("LD_PRELOAD", pre, 1);
  int n = fl_clock_envp(&env, environ, envp, sizeof envp / sizeof envp[0]);
  unsetenv("LD_PRELOAD");
  assert_true(n > 0);
  int preloads = 0;
  for (int i = 0; i < n; i++) {
    if (!strncmp(envp[i], "FAKETIME", 8)) fail_msg("%s is passed on", envp[i]);
    if (!strncmp(envp[i], "LD_PRELOAD=", 11)) preloads++;
  }
  assert_int_equal(preloads, 1);
  assert_null(envp[n]);
  assert_int_equal(fl_clock_envp(&env, environ, envp, 2), -1); /* too small */
  /* And a child started with it lives on the machine's clocks. */
  envp[n - 1] = "LD_PRELOAD="; /* the made-up library above would not load */
  child ch;
  int64_t r, m;
  int to[2], from[2];
  assert_int_equal(pipe(to), 0);
  assert_int_equal(pipe(from), 0);
  char *argv[] = {self, "--probe", NULL};
  ch.pid = fork();
  assert_true(ch.pid >= 0);
  if (ch.pid == 0) {
    dup2(to[0], 0);
    dup2(from[1], 1);
    close(to[1]);
    close(from[0]);
    execve(self, argv, envp);
    _exit(127);
  }
  close(to[0]);
  close(from[1]);
  ch.to = to[1];
  ch.in = fdopen(from[0], "r");
  ask(&ch, &r, &m);
  assert_near(r, 0);
  assert_near(m, 0);
  stop(&ch);
  unsetenv("FAKETIME");
  unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
}

/* A side killed under libfaketime leaves its /dev/shm files; fl_clock_cleanup removes them. */
static void test_cleanup_after_kill(void **state) {
  (void)state;
  fl_scenario *s = load("name: t\nserver:\n  clock: { fake: realtime, offset: +1s }\n");
  child ch;
  int64_t r, m;
  start(&ch, &s->server.clock, NULL);
  ask(&ch, &r, &m); /* libfaketime is initialised by now */
  char shm[64], sem[64];
  snprintf(shm, sizeof shm, "/dev/shm/faketime_shm_%ld", (long)ch.pid);
  snprintf(sem, sizeof sem, "/dev/shm/sem.faketime_sem_%ld", (long)ch.pid);
  kill(ch.pid, SIGKILL);
  int st;
  assert_int_equal(waitpid(ch.pid, &st, 0), ch.pid);
  close(ch.to);
  fclose(ch.in);
  if (access(shm, F_OK) != 0 || access(sem, F_OK) != 0)
    fail_msg("libfaketime left no %s or %s: the cleanup would test nothing", shm, sem);
  fl_clock_cleanup(ch.pid);
  assert_int_not_equal(access(shm, F_OK), 0);
  assert_int_not_equal(access(sem, F_OK), 0);
  fl_clock_cleanup(ch.pid); /* twice is no error */
  fl_scenario_free(s);
}

/* The runner refuses to run under libfaketime; here, without it, it runs. */
static void test_runner_check(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(fl_clock_runner_check(err, sizeof err), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setenv("LD_PRELOAD", library, 1);
    execl(self, self, "--runner-check", (char *)NULL);
    _exit(127);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 1);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--probe")) return probe_main();
  if (argc > 1 && !strcmp(argv[1], "--runner-check")) {
    char err[512];
    if (fl_clock_runner_check(err, sizeof err) == 0) return 0;
    if (!strstr(err, "faultline itself runs under libfaketime")) return 2;
    return 1;
  }
  char err[512];
  if (fl_clock_library(library, sizeof library, err, sizeof err) < 0) {
    fprintf(stderr, "skip: %s\n", err);
    return 77;
  }
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_realtime_offset),
      cmocka_unit_test(test_monotonic_offset),
      cmocka_unit_test(test_jump),
      cmocka_unit_test(test_unfaked_side_is_clean),
      cmocka_unit_test(test_runner_check),
      cmocka_unit_test(test_cleanup_after_kill),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
