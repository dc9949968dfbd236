/* Unit tests for suite files, --tag and --shard (harness/cli/suite.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "suite.h"

static int parse(fl_suite *s, const char *text, char *err, size_t errlen) {
  return fl_suite_parse(s, "ci/x.suite", "x", text, strlen(text), err, errlen);
}

/* The message for a text that must not parse; the suite is left as it was. */
static const char *refused(const char *text) {
  static char err[512];
  fl_suite s = {0};
  err[0] = '\0';
  assert_int_equal(parse(&s, text, err, sizeof err), -1);
  assert_int_equal(s.n, 0);
  fl_suite_free(&s);
  return err;
}

static void test_entries(void **state) {
  (void)state;
  fl_suite s = {0};
  char err[512];
  const char *text = "# the regression suite\n"
                     "\n"
                     "ping-pong   smoke unary\n"
                     "  race-one\trace repeat=3   # a comment\n"
                     "../tests/data/mine.yaml local\r\n"
                     "/abs/other.yml\n"
                     "last-no-newline smoke";
  assert_int_equal(parse(&s, text, err, sizeof err), 0);
  assert_int_equal(s.n, 5);
  assert_string_equal(s.entries[0].scenario, "ping-pong");
  assert_int_equal(s.entries[0].n_tags, 2);
  assert_string_equal(s.entries[0].tags[0], "smoke");
  assert_string_equal(s.entries[0].tags[1], "unary");
  assert_int_equal(s.entries[0].repeat, 1);
  assert_false(s.entries[0].repeat_set);
  assert_string_equal(s.entries[0].origin, "ci/x.suite:3:1");
  assert_string_equal(s.entries[0].group, "x");
  assert_string_equal(s.entries[1].scenario, "race-one");
  assert_int_equal(s.entries[1].repeat, 3);
  assert_true(s.entries[1].repeat_set);
  assert_string_equal(s.entries[1].origin, "ci/x.suite:4:3");
  /* A relative FILE is the suite file's folder's; an absolute one is kept. */
  assert_string_equal(s.entries[2].scenario, "ci/../tests/data/mine.yaml");
  assert_string_equal(s.entries[3].scenario, "/abs/other.yml");
  assert_string_equal(s.entries[4].scenario, "last-no-newline");
  assert_int_equal(fl_suite_runs(&s), 1 + 3 + 1 + 1 + 1);
  fl_suite_set_repeat(&s, 2);
  assert_int_equal(fl_suite_runs(&s), 10);
  fl_suite_free(&s);
}

static void test_errors(void **state) {
  (void)state;
  assert_string_equal(refused("ping-pong repat=3\n"),
                      "ci/x.suite:1:11: unknown option 'repat'; did you mean 'repeat'?");
  assert_string_equal(refused("a\nb  tags=x\n"),
                      "ci/x.suite:2:4: unknown option 'tags' (the one option is repeat=N)");
  assert_string_equal(refused("a repeat=0\n"), "ci/x.suite:1:3: repeat=0: a count from 1 to 1000");
  assert_string_equal(refused("a repeat=1001\n"),
                      "ci/x.suite:1:3: repeat=1001: a count from 1 to 1000");
  assert_string_equal(refused("a repeat=\n"), "ci/x.suite:1:3: repeat=: a count from 1 to 1000");
  assert_string_equal(refused("a repeat=2x\n"),
                      "ci/x.suite:1:3: repeat=2x: a count from 1 to 1000");
  assert_string_equal(refused("a sm@ke\n"),
                      "ci/x.suite:1:3: tag 'sm@ke': a tag is a letter or digit, then letters, "
                      "digits, '-', '_' and '.'");
  assert_string_equal(refused("a -x\n"), "ci/x.suite:1:3: tag '-x': a tag is a letter or digit, "
                                         "then letters, digits, '-', '_' and '.'");
  assert_string_equal(refused("a\n# c\n  a smoke\n"),
                      "ci/x.suite:3:3: 'a' is listed already, at line 1");
  assert_string_equal(refused("ok\nb\x07\n"), "ci/x.suite:2:2: a control byte (0x07)");
  assert_string_equal(refused("\xc3\xa9t\xc3\xa9 \xff\n"), "ci/x.suite:1:5: not UTF-8");
  assert_string_equal(refused(""), "ci/x.suite: lists no scenario");
  assert_string_equal(refused("# only\n\n   \n"), "ci/x.suite: lists no scenario");
  /* Columns count characters: the tag after "été " stands at column 5. */
  assert_string_equal(refused("\xc3\xa9t\xc3\xa9 b@d\n"),
                      "ci/x.suite:1:5: tag 'b@d': a tag is a letter or digit, then letters, "
                      "digits, '-', '_' and '.'");
}

/* A failed parse leaves the entries parsed before it (another file's) as they were. */
static void test_failure_keeps_earlier(void **state) {
  (void)state;
  fl_suite s = {0};
  char err[256];
  assert_int_equal(fl_suite_add(&s, "from-cli", err, sizeof err), 0);
  assert_int_equal(parse(&s, "a\nb repeat=x\n", err, sizeof err), -1);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.entries[0].scenario, "from-cli");
  assert_null(s.entries[0].origin);
  fl_suite_free(&s);
}

static void test_tags(void **state) {
  (void)state;
  fl_suite s = {0};
  char err[512];
  assert_int_equal(parse(&s, "a smoke\nb race\nc smoke race\nd\n", err, sizeof err), 0);
  const char *race[] = {"race"};
  assert_int_equal(fl_suite_filter_tags(&s, race, 1, err, sizeof err), 0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.entries[0].scenario, "b");
  assert_string_equal(s.entries[1].scenario, "c");
  fl_suite_free(&s);

  assert_int_equal(parse(&s, "a smoke\nb race\n", err, sizeof err), 0);
  const char *typo[] = {"smok"};
  assert_int_equal(fl_suite_filter_tags(&s, typo, 1, err, sizeof err), -1);
  assert_string_equal(err, "no scenario has tag 'smok' (did you mean 'smoke'?)");
  fl_suite_free(&s);

  assert_int_equal(parse(&s, "a smoke\nb race\n", err, sizeof err), 0);
  const char *two[] = {"zzzzzz", "qqqqqq"};
  assert_int_equal(fl_suite_filter_tags(&s, two, 2, err, sizeof err), -1);
  assert_string_equal(
      err, "no scenario has tag 'zzzzzz' or the others given; the tags are: smoke, race");
  fl_suite_free(&s);

  assert_int_equal(fl_suite_add(&s, "plain", err, sizeof err), 0);
  assert_int_equal(fl_suite_filter_tags(&s, race, 1, err, sizeof err), -1);
  assert_string_equal(err, "no scenario has tag 'race': only a suite file gives tags");
  fl_suite_free(&s);
}

static void test_shard_text(void **state) {
  (void)state;
  int i, n;
  char err[256];
  assert_int_equal(fl_suite_parse_shard("2/4", &i, &n, err, sizeof err), 0);
  assert_int_equal(i, 2);
  assert_int_equal(n, 4);
  assert_int_equal(fl_suite_parse_shard("1/1", &i, &n, err, sizeof err), 0);
  assert_int_equal(fl_suite_parse_shard("5/4", &i, &n, err, sizeof err), -1);
  assert_string_equal(err, "--shard 5/4: I must be from 1 to N");
  assert_int_equal(fl_suite_parse_shard("0/4", &i, &n, err, sizeof err), -1);
  assert_int_equal(fl_suite_parse_shard("1/0", &i, &n, err, sizeof err), -1);
  assert_string_equal(err, "--shard 1/0: N must be from 1 to 1000");
  assert_int_equal(fl_suite_parse_shard("1/1001", &i, &n, err, sizeof err), -1);
  const char *bad[] = {"", "2", "2/", "/4", "a/4", "2/4x", "-1/4", "2 /4", "2/4/"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    assert_int_equal(fl_suite_parse_shard(bad[k], &i, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "give I/N, the shard I of N"));
  }
}

/* For every size of selection and number of shards: the shards together hold each entry
 * exactly once, their sizes differ by at most one, and each keeps the selection's order. */
static void test_shards_cover_once(void **state) {
  (void)state;
  char err[64];
  for (int size = 0; size <= 40; size++)
    for (int count = 1; count <= 9; count++) {
      int seen[41] = {0};
      size_t smallest = (size_t)-1, largest = 0;
      for (int index = 1; index <= count; index++) {
        fl_suite s = {0};
        for (int e = 0; e < size; e++) {
          char name[16];
          snprintf(name, sizeof name, "s%d", e);
          assert_int_equal(fl_suite_add(&s, name, err, sizeof err), 0);
        }
        fl_suite_shard(&s, index, count);
        int last = -1;
        for (size_t k = 0; k < s.n; k++) {
          int e = atoi(s.entries[k].scenario + 1);
          assert_true(e > last);
          last = e;
          seen[e]++;
        }
        if (s.n < smallest) smallest = s.n;
        if (s.n > largest) largest = s.n;
        fl_suite_free(&s);
      }
      for (int e = 0; e < size; e++) assert_int_equal(seen[e], 1);
      assert_true(largest - smallest <= 1);
    }
}

static void test_is_file(void **state) {
  (void)state;
  assert_true(fl_suite_is_file("ci/regression.suite"));
  assert_true(fl_suite_is_file("x.suite"));
  assert_false(fl_suite_is_file(".suite"));
  assert_false(fl_suite_is_file("ping-pong"));
  assert_false(fl_suite_is_file("a.suite.yaml"));
}

static void test_load(void **state) {
  (void)state;
  char dir[] = "/tmp/fl-suite-XXXXXX", path[64], err[512];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/nightly.suite", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("a smoke\nmine.yaml\n", f);
  fclose(f);
  fl_suite s = {0};
  assert_int_equal(fl_suite_load(&s, path, err, sizeof err), 0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.entries[0].group, "nightly");
  char want[80];
  snprintf(want, sizeof want, "%s/mine.yaml", dir);
  assert_string_equal(s.entries[1].scenario, want);
  fl_suite_free(&s);
  unlink(path);
  assert_int_equal(fl_suite_load(&s, path, err, sizeof err), -1);
  assert_non_null(strstr(err, "No such file or directory"));
  assert_int_equal(fl_suite_load(&s, dir, err, sizeof err), -1);
  assert_non_null(strstr(err, "is not a regular file"));
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_entries),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_failure_keeps_earlier),
      cmocka_unit_test(test_tags),
      cmocka_unit_test(test_shard_text),
      cmocka_unit_test(test_shards_cover_once),
      cmocka_unit_test(test_is_file),
      cmocka_unit_test(test_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
