/* Unit tests for run directories (reports/evidence/rundir.h), on real directories under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rundir.h"

static char base[PATH_MAX];

static int setup(void **state) {
  (void)state;
  snprintf(base, sizeof base, "/tmp/faultline-rundir-XXXXXX");
  if (!mkdtemp(base)) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  return system(cmd) == 0 ? 0 : -1;
}

static const char *at(const char *rel) {
  static char bufs[4][PATH_MAX];
  static int k;
  char *b = bufs[k++ % 4];
  snprintf(b, PATH_MAX, "%s/%s", base, rel);
  return b;
}

static void put(const char *rel, const char *text) {
  FILE *f = fopen(at(rel), "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *rel) {
  static char buf[8192];
  FILE *f = fopen(at(rel), "r");
  if (!f) return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static bool exists(const char *rel) {
  struct stat st;
  return lstat(at(rel), &st) == 0;
}

/* A run directory as a run leaves it: marker, report.json, events.jsonl. */
static void make_run(const char *rel) {
  fl_rundir *rd;
  char err[512];
  if (fl_rundir_create(at(rel), &rd, err, sizeof err) < 0) fail_msg("%s", err);
  assert_int_equal(fl_rundir_write_file(rd, "report.json", "{}\n", 3, err, sizeof err), 0);
  FILE *f = fl_rundir_fopen(rd, "events.jsonl", err, sizeof err);
  assert_non_null(f);
  fputs("{\"event\":\"end\"}\n", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(fl_rundir_failures(rd, NULL, 0), 0);
  assert_int_equal(fl_rundir_close(rd, err, sizeof err), 0);
}

static void test_new_and_files(void **state) {
  (void)state;
  fl_rundir *rd;
  char err[512];
  /* missing parents are made, as mkdir -p does */
  if (fl_rundir_create(at("a/b/run"), &rd, err, sizeof err) < 0) fail_msg("%s", err);
  assert_string_equal(fl_rundir_path(rd), at("a/b/run"));
  assert_true(fl_rundir_fd(rd) >= 0);
  int fd = fl_rundir_open(rd, "server.stderr", err, sizeof err);
  assert_true(fd >= 0);
  assert_int_equal(fl_rundir_write(rd, fd, "hello\n", 6), 0);
  assert_int_equal(fl_rundir_close_fd(rd, fd), 0);
  /* a name is created once: a second open is refused, not truncated */
  assert_int_equal(fl_rundir_open(rd, "server.stderr", err, sizeof err), -1);
  assert_non_null(strstr(err, "File exists"));
  assert_int_equal(fl_rundir_open(rd, "../escape", err, sizeof err), -1);
  assert_int_equal(fl_rundir_open(rd, FL_RUNDIR_MARKER, err, sizeof err), -1);
  assert_int_equal(fl_rundir_write_file(rd, "scenario.yaml", "name: x\n", 8, err, sizeof err), 0);
  assert_false(exists("a/b/run/.scenario.yaml.tmp"));
  /* a whole file never replaces one that exists */
  assert_int_equal(fl_rundir_write_file(rd, "scenario.yaml", "other", 5, err, sizeof err), -1);
  fl_rundir_failures(rd, NULL, 0);
  assert_int_equal(fl_rundir_close(rd, err, sizeof err), 0);
  assert_string_equal(slurp("a/b/run/server.stderr"), "hello\n");
  assert_string_equal(slurp("a/b/run/scenario.yaml"), "name: x\n");
  char *marker = slurp("a/b/run/" FL_RUNDIR_MARKER);
  assert_non_null(marker);
  assert_int_equal(strncmp(marker, "faultline run directory\n", 24), 0);
  assert_non_null(strstr(marker, "\nserver.stderr\n"));
  assert_non_null(strstr(marker, "\nscenario.yaml\n"));
}

static void test_empty_dir_used(void **state) {
  (void)state;
  assert_int_equal(mkdir(at("empty"), 0755), 0);
  fl_rundir *rd;
  char err[512];
  if (fl_rundir_create(at("empty/"), &rd, err, sizeof err) < 0) fail_msg("%s", err);
  assert_int_equal(fl_rundir_close(rd, err, sizeof err), 0);
  assert_true(exists("empty/" FL_RUNDIR_MARKER));
}

/* A directory that is not an earlier run is never used, and nothing in it is touched. */
static void test_refusals(void **state) {
  (void)state;
  fl_rundir *rd = (fl_rundir *)1;
  char err[512];
  assert_int_equal(mkdir(at("mine"), 0755), 0);
  put("mine/notes.txt", "precious");
  put("mine/b.txt", "precious too");
  assert_int_equal(fl_rundir_create(at("mine"), &rd, err, sizeof err), -1);
  assert_null(rd);
  assert_non_null(strstr(err, "holds 'b.txt', which no faultline run wrote"));
  assert_string_equal(slurp("mine/notes.txt"), "precious");
  assert_false(exists("mine/" FL_RUNDIR_MARKER));

  assert_int_equal(fl_rundir_create("/", &rd, err, sizeof err), -1);
  assert_string_equal(err, "--out /: is the root directory; name a directory of its own for "
                           "the run");
  assert_int_equal(fl_rundir_create("//", &rd, err, sizeof err), -1);
  assert_non_null(strstr(err, "root directory"));

  char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
  assert_int_equal(mkdir(at("home"), 0755), 0);
  setenv("HOME", at("home"), 1);
  assert_int_equal(fl_rundir_create(at("home"), &rd, err, sizeof err), -1);
  assert_non_null(strstr(err, "is your home directory ($HOME)"));
  assert_int_equal(fl_rundir_create(at("home/../home/."), &rd, err, sizeof err), -1);
  assert_non_null(strstr(err, "is your home directory"));
  if (old_home)
    setenv("HOME", old_home, 1);
  else
    unsetenv("HOME");
  free(old_home);

  assert_int_equal(symlink(at("mine"), at("link")), 0);
  assert_int_equal(fl_rundir_create(at("link"), &rd, err, sizeof err), -1);
  assert_non_null(strstr(err, "is a symbolic link; faultline does not follow links"));
  put("plain", "x");
  assert_int_equal(fl_rundir_create(at("plain"), &rd, err, sizeof err), -1);
  assert_non_null(strstr(err, "exists and is not a directory"));

  /* a marker someone else wrote */
  assert_int_equal(mkdir(at("fake"), 0755), 0);
  put("fake/" FL_RUNDIR_MARKER, "not ours\nnotes.txt\n");
  put("fake/notes.txt", "precious");
  assert_int_equal(fl_rundir_create(at("fake"), &rd, err, sizeof err), -1);
  assert_non_null(strstr(err, "holds a .faultline-run that faultline did not write"));
  assert_string_equal(slurp("fake/notes.txt"), "precious");

  /* a real marker, but another user's: as root, /tmp/x made by uid 65534 stays theirs */
  if (geteuid() == 0) {
    make_run("theirs");
    assert_int_equal(chown(at("theirs/" FL_RUNDIR_MARKER), 65534, 65534), 0);
    assert_int_equal(fl_rundir_create(at("theirs"), &rd, err, sizeof err), -1);
    assert_non_null(strstr(err, "belongs to uid 65534, not to you (uid 0)"));
    assert_true(exists("theirs/report.json"));
    assert_int_equal(chown(at("theirs/" FL_RUNDIR_MARKER), 0, 0), 0);
    assert_int_equal(chown(at("theirs"), 65534, 65534), 0);
    assert_int_equal(fl_rundir_create(at("theirs"), &rd, err, sizeof err), -1);
    assert_non_null(strstr(err, "belongs to uid 65534, not to you (uid 0)"));
  }
}

/* An earlier run is replaced as a whole, links in it are removed, never followed. */
static void test_replace_earlier_run(void **state) {
  (void)state;
  fl_rundir *rd;
  char err[512];
  put("victim", "the victim's own content\n");
  make_run("r");
  /* another user turned the old report.json into a link to the victim */
  assert_int_equal(unlink(at("r/report.json")), 0);
  assert_int_equal(symlink(at("victim"), at("r/report.json")), 0);
  if (fl_rundir_create(at("r"), &rd, err, sizeof err) < 0) fail_msg("%s", err);
  assert_false(exists("r/events.jsonl")); /* the new directory starts empty */
  assert_int_equal(fl_rundir_write_file(rd, "report.json", "{\"new\":1}\n", 10, err, sizeof err),
                   0);
  assert_int_equal(fl_rundir_close(rd, err, sizeof err), 0);
  assert_string_equal(slurp("victim"), "the victim's own content\n");
  assert_string_equal(slurp("r/report.json"), "{\"new\":1}\n");
  /* and the earlier one is gone, with nothing of it left aside */
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -q faultline-old", base);
  assert_int_not_equal(system(cmd), 0);
}

/* A file a user added to an earlier run makes it theirs: refused, nothing deleted. */
static void test_earlier_run_with_user_file(void **state) {
  (void)state;
  fl_rundir *rd;
  char err[512];
  make_run("r2");
  put("r2/my-notes.md", "mine");
  assert_int_equal(fl_rundir_create(at("r2"), &rd, err, sizeof err), -1);
  assert_non_null(strstr(err, "holds 'my-notes.md', which no faultline run wrote"));
  assert_string_equal(slurp("r2/my-notes.md"), "mine");
  assert_true(exists("r2/report.json"));
}

/* Standing in an earlier run directory, replacing it would delete the current directory. */
static void test_cwd_refused(void **state) {
  (void)state;
  fl_rundir *rd;
  char err[512], cwd[PATH_MAX];
  make_run("here");
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(at("here")), 0);
  int rc = fl_rundir_create(".", &rd, err, sizeof err);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(rc, -1);
  assert_non_null(strstr(err, "is the current directory (or holds it)"));
  assert_true(exists("here/report.json"));
}

/* A folder of runs from --out with several scenarios, replaced whole; children numbered. */
static void test_batch(void **state) {
  (void)state;
  fl_rundir *batch, *a, *a2;
  char err[512];
  if (fl_rundir_create(at("batch"), &batch, err, sizeof err) < 0) fail_msg("%s", err);
  if (fl_rundir_create_child(batch, "ping", &a, err, sizeof err) < 0) fail_msg("%s", err);
  if (fl_rundir_create_child(batch, "ping", &a2, err, sizeof err) < 0) fail_msg("%s", err);
  assert_string_equal(fl_rundir_path(a2), at("batch/ping-2"));
  assert_int_equal(fl_rundir_write_file(a, "report.json", "{}", 2, err, sizeof err), 0);
  assert_int_equal(fl_rundir_close(a, err, sizeof err), 0);
  assert_int_equal(fl_rundir_close(a2, err, sizeof err), 0);
  assert_int_equal(fl_rundir_close(batch, err, sizeof err), 0);
  /* again: the folder is an earlier run's, so it goes as a whole */
  if (fl_rundir_create(at("batch"), &batch, err, sizeof err) < 0) fail_msg("%s", err);
  assert_false(exists("batch/ping"));
  assert_int_equal(fl_rundir_close(batch, err, sizeof err), 0);
  /* but not with a stranger in one of its runs */
  if (fl_rundir_create(at("batch"), &batch, err, sizeof err) < 0) fail_msg("%s", err);
  if (fl_rundir_create_child(batch, "ping", &a, err, sizeof err) < 0) fail_msg("%s", err);
  assert_int_equal(fl_rundir_close(a, err, sizeof err), 0);
  assert_int_equal(fl_rundir_close(batch, err, sizeof err), 0);
  put("batch/ping/stranger", "x");
  assert_int_equal(fl_rundir_create(at("batch"), &batch, err, sizeof err), -1);
  assert_non_null(strstr(err, "holds 'ping/stranger', which no faultline run wrote"));

  /* a folder of runs (runs/) is never emptied; children get fresh names */
  fl_rundir *runs, *r1, *r2;
  if (fl_rundir_open_folder(at("runs"), &runs, err, sizeof err) < 0) fail_msg("%s", err);
  put("runs/keep.txt", "kept");
  if (fl_rundir_create_child(runs, "t-x", &r1, err, sizeof err) < 0) fail_msg("%s", err);
  if (fl_rundir_create_child(runs, "t-x", &r2, err, sizeof err) < 0) fail_msg("%s", err);
  assert_string_equal(fl_rundir_path(r2), at("runs/t-x-2"));
  fl_rundir_close(r1, NULL, 0);
  fl_rundir_close(r2, NULL, 0);
  fl_rundir_close(runs, NULL, 0);
  assert_string_equal(slurp("runs/keep.txt"), "kept");
}

/* Write errors are recorded per file with their reason, from streams and descriptors alike;
 * a replaced run is then kept rather than deleted. RLIMIT_FSIZE gives a real failing write. */
static void test_write_errors(void **state) {
  (void)state;
  fl_rundir *rd;
  char err[512], msg[1024];
  make_run("full");
  if (fl_rundir_create(at("full"), &rd, err, sizeof err) < 0) fail_msg("%s", err);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, small = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
  getrlimit(RLIMIT_FSIZE, &old);
  small.rlim_max = old.rlim_max;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  char big[10000];
  memset(big, 'x', sizeof big);
  FILE *f = fl_rundir_fopen(rd, "events.jsonl", err, sizeof err);
  assert_non_null(f);
  fwrite(big, 1, sizeof big, f);
  fclose(f);
  int fd = fl_rundir_open(rd, "server.stderr", err, sizeof err);
  assert_true(fd >= 0);
  assert_int_equal(fl_rundir_write(rd, fd, big, sizeof big), -1);
  assert_int_equal(fl_rundir_close_fd(rd, fd), 0);
  assert_int_equal(fl_rundir_write_file(rd, "report.json", big, sizeof big, err, sizeof err), -1);
  assert_non_null(strstr(err, "report.json: File too large"));
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  assert_false(exists("full/.report.json.tmp"));
  assert_false(exists("full/report.json"));
  fl_rundir_note(rd, "capture.pcap", ENOSPC);
  fl_rundir_note(rd, "capture.pcap", EIO); /* only the first counts */
  assert_int_equal(fl_rundir_failures(rd, msg, sizeof msg), 4);
  assert_non_null(strstr(msg, "cannot write events.jsonl (File too large), server.stderr (File "
                              "too large), report.json (File too large), capture.pcap (No space "
                              "left on device) in "));
  assert_non_null(strstr(msg, "; the earlier run directory is kept as "));
  assert_int_equal(fl_rundir_close(rd, err, sizeof err), 0);
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -q '^.full.faultline-old-'", base);
  assert_int_equal(system(cmd), 0);
  signal(SIGXFSZ, SIG_DFL);
}

/* A file written live and then whole again (the timeline): the second replaces the first. */
static void test_rewrite(void **state) {
  (void)state;
  fl_rundir *rd;
  char err[512];
  if (fl_rundir_create(at("rw"), &rd, err, sizeof err) < 0) fail_msg("%s", err);
  assert_null(fl_rundir_rewrite(rd, "events.jsonl", err, sizeof err)); /* not made yet */
  FILE *f = fl_rundir_fopen(rd, "events.jsonl", err, sizeof err);
  assert_non_null(f);
  assert_null(fl_rundir_rewrite(rd, "events.jsonl", err, sizeof err)); /* still open */
  fputs("b\na\n", f);
  fclose(f);
  fl_rundir_note(rd, "events.jsonl", ENOSPC); /* the live file was cut short */
  f = fl_rundir_rewrite(rd, "events.jsonl", err, sizeof err);
  assert_non_null(f);
  fputs("a\nb\n", f);
  assert_int_equal(fl_rundir_commit(rd, f, err, sizeof err), 0);
  assert_int_equal(fl_rundir_failures(rd, NULL, 0), 0); /* whole now */
  assert_int_equal(fl_rundir_close(rd, err, sizeof err), 0);
  assert_string_equal(slurp("rw/events.jsonl"), "a\nb\n");
  assert_false(exists("rw/.events.jsonl.tmp"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_new_and_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_dir_used, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replace_earlier_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_earlier_run_with_user_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cwd_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rewrite, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
