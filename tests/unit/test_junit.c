/* Unit tests for the JUnit writer (reports/junit.h): counts, escaping, the file's place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "junit.h"

static char *render(const fl_junit_case *cases, size_t n) {
  char *xml = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&xml, &len);
  assert_non_null(m);
  const char *props[] = {"faultline_version", "0.0", "shard", "2/3", NULL};
  fl_junit_suite js = {.name = "regression",
                       .timestamp = "2026-11-25T11:01:55Z",
                       .hostname = "ci-1",
                       .seconds = 3.5,
                       .properties = props};
  assert_int_equal(fl_junit_write(m, &js, cases, n), 0);
  fclose(m);
  return xml;
}

static void test_counts_and_elements(void **state) {
  (void)state;
  fl_junit_case cases[] = {
      {.name = "a",
       .classname = "regression",
       .file = "scenarios/a.yaml",
       .run_dir = "runs/a",
       .seconds = 0.25,
       .result = FL_JUNIT_PASSED},
      {.name = "b (run 1 of 2)",
       .classname = "regression",
       .run_dir = "runs/b-run1",
       .seconds = 1,
       .result = FL_JUNIT_FAILURE,
       .message = "not reproduced: x == 1 (seen 2)",
       .text = "b: not reproduced\n  FAIL x == 1   seen 2\n"},
      {.name = "c",
       .classname = "regression",
       .seconds = 0,
       .result = FL_JUNIT_ERROR,
       .message = "error: the server peer failed",
       .text = "why"},
      {.name = "d",
       .classname = "regression",
       .result = FL_JUNIT_SKIPPED,
       .message = "not run: the batch was stopped first"},
  };
  char *xml = render(cases, 4);
  assert_true(!strncmp(xml, FL_JUNIT_HEAD, strlen(FL_JUNIT_HEAD)));
  assert_non_null(strstr(xml, "<testsuites name=\"faultline\" tests=\"4\" failures=\"1\" "
                              "errors=\"1\" skipped=\"1\" time=\"3.500\">"));
  assert_non_null(strstr(xml, "<testsuite name=\"regression\" tests=\"4\" failures=\"1\" "
                              "errors=\"1\" skipped=\"1\" time=\"3.500\" "
                              "timestamp=\"2026-11-25T11:01:55Z\" hostname=\"ci-1\">"));
  assert_non_null(strstr(xml, "<property name=\"shard\" value=\"2/3\"/>"));
  assert_non_null(strstr(xml, "<testcase name=\"a\" classname=\"regression\" "
                              "file=\"scenarios/a.yaml\" time=\"0.250\">\n"
                              "      <system-out>run directory: runs/a\n"
                              "[[ATTACHMENT|runs/a]]\n"
                              "[[ATTACHMENT|runs/a/report.html]]\n</system-out>"));
  assert_non_null(strstr(xml, "<failure message=\"not reproduced: x == 1 (seen 2)\" "
                              "type=\"not reproduced\">b: not reproduced\n"
                              "  FAIL x == 1   seen 2\n</failure>"));
  assert_non_null(
      strstr(xml, "<error message=\"error: the server peer failed\" type=\"error\">why</error>"));
  assert_non_null(strstr(xml, "<skipped message=\"not run: the batch was stopped first\"/>"));
  /* No run directory: no system-out. */
  char *c = strstr(xml, "<testcase name=\"c\"");
  assert_non_null(c);
  assert_null(strstr(c, "<system-out>run directory: runs/c"));
  free(xml);
}

/* Whatever the bytes, the output holds only characters XML 1.0 allows, escaped where needed. */
static void test_hostile_text(void **state) {
  (void)state;
  fl_junit_case hostile = {
      .name = "n<&>\"'",
      .classname = "c\x01",
      .run_dir = "runs/]]>x",
      .result = FL_JUNIT_FAILURE,
      .message = "line1\nline2\ttab \x1b[31mred \xff\xfe bad \xef\xbf\xbf nonchar \xc3\xa9 ok",
      .text = "<script>&amp;</script> \x7f \x80 ]]> \xf0\x9f\x98\x80"};
  char *xml = render(&hostile, 1);
  assert_non_null(strstr(xml, "name=\"n&lt;&amp;&gt;&quot;'\""));
  assert_non_null(strstr(xml, "classname=\"c\xEF\xBF\xBD\""));
  assert_non_null(strstr(xml, "message=\"line1&#10;line2&#9;tab \xEF\xBF\xBD[31mred "
                              "\xEF\xBF\xBD\xEF\xBF\xBD bad \xEF\xBF\xBD nonchar \xc3\xa9 ok\""));
  assert_non_null(strstr(xml, "&lt;script&gt;&amp;amp;&lt;/script&gt; \xEF\xBF\xBD "
                              "\xEF\xBF\xBD ]]&gt; \xf0\x9f\x98\x80</failure>"));
  assert_non_null(strstr(xml, "run directory: runs/]]&gt;x\n"));
  for (const unsigned char *p = (const unsigned char *)xml; *p; p++)
    assert_true(*p >= 0x20 || *p == '\n');
  free(xml);
}

static void test_describe(void **state) {
  (void)state;
  json_error_t je;
  json_t *doc =
      json_loads("{\"verdict\": \"not reproduced\", \"outcome\": \"completed\","
                 " \"elapsed_ms\": 530, \"scenario\": {\"name\": \"s\"},"
                 " \"expectations\": ["
                 "  {\"clause\": \"client.status == OK\", \"held\": true, \"seen\": \"OK\"},"
                 "  {\"clause\": \"client.sent == 2\", \"held\": false, \"seen\": \"1\"},"
                 "  {\"clause\": \"server.recv == 2\", \"held\": false, \"seen\": \"1\"}"
                 "]}",
                 0, &je);
  assert_non_null(doc);
  char msg[256], *text;
  fl_junit_describe(doc, "runs/s", msg, sizeof msg, &text);
  assert_string_equal(msg, "not reproduced: client.sent == 2 (seen 1); server.recv == 2 (seen 1)");
  assert_non_null(text);
  assert_non_null(strstr(text, "s: not reproduced (outcome completed, 0.53s)"));
  assert_non_null(strstr(text, "FAIL client.sent == 2"));
  assert_non_null(strstr(text, "run directory: runs/s"));
  free(text);
  json_decref(doc);

  doc = json_loads("{\"verdict\": \"error\", \"error\": \"the server peer failed\","
                   " \"outcome\": \"crash\", \"elapsed_ms\": 1, \"scenario\": {\"name\": \"e\"},"
                   " \"expectations\": []}",
                   0, &je);
  fl_junit_describe(doc, "runs/e", msg, sizeof msg, &text);
  assert_string_equal(msg, "error: the server peer failed");
  free(text);
  json_decref(doc);
}

static char dir[] = "/tmp/fl-junit-XXXXXX";

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* The file's place: made when absent, replaced when faultline wrote it, refused otherwise. */
static void test_save(void **state) {
  (void)state;
  assert_non_null(mkdtemp(dir));
  char path[128], err[512];
  snprintf(path, sizeof path, "%s/junit.xml", dir);
  const char *doc1 = FL_JUNIT_HEAD " 1 -->\n<testsuites/>\n";
  const char *doc2 = FL_JUNIT_HEAD " 2 -->\n<testsuites/>\n";
  assert_int_equal(fl_junit_check_path(path, err, sizeof err), 0);
  assert_int_equal(fl_junit_save(path, doc1, strlen(doc1), err, sizeof err), 0);
  assert_string_equal(slurp(path), doc1);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  assert_int_equal(fl_junit_save(path, doc2, strlen(doc2), err, sizeof err), 0);
  assert_string_equal(slurp(path), doc2);

  char mine[128];
  snprintf(mine, sizeof mine, "%s/results.xml", dir);
  put(mine, "<testsuites>someone else's</testsuites>\n");
  assert_int_equal(fl_junit_check_path(mine, err, sizeof err), -1);
  assert_non_null(strstr(err, "exists and is not a JUnit file faultline wrote"));
  assert_int_equal(fl_junit_save(mine, doc1, strlen(doc1), err, sizeof err), -1);
  assert_string_equal(slurp(mine), "<testsuites>someone else's</testsuites>\n");

  char link[128];
  snprintf(link, sizeof link, "%s/link.xml", dir);
  assert_int_equal(symlink(path, link), 0);
  assert_int_equal(fl_junit_check_path(link, err, sizeof err), -1);
  assert_non_null(strstr(err, "is a symbolic link"));
  assert_int_equal(fl_junit_save(link, doc1, strlen(doc1), err, sizeof err), -1);
  assert_string_equal(slurp(path), doc2);

  char nodir[160];
  snprintf(nodir, sizeof nodir, "%s/absent/junit.xml", dir);
  assert_int_equal(fl_junit_check_path(nodir, err, sizeof err), -1);
  assert_non_null(strstr(err, "its folder cannot be written"));
  assert_int_equal(fl_junit_check_path(dir, err, sizeof err), -1);
  assert_non_null(strstr(err, "is not a regular file"));

  /* Nothing is left beside them: no temporary file survives a refusal. */
  char cmd[200];
  snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 3", dir);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counts_and_elements),
      cmocka_unit_test(test_hostile_text),
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_save),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
