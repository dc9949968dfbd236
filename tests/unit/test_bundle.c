/* Unit tests for bundles (reports/bundle): the entry-name rule, where referenced files go, the
 * versions comparison; and the rule for where a scenario's referenced files are
 * (harness/plan/scenario_refs.h). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "bundle.h"
#include "bundle_int.h"
#include "scenario_refs.h"
#include "versions.h"

static void name_rule(void **state) {
  (void)state;
  char why[160];
  static const char *const good[] = {
      "b/report.json",      "b/",    "b",    "run-1/files/a/b/x.proto",
      "b/name with spaces", "b/..x", "b/x.."};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    assert_int_equal(fl_bundle_name_check(good[i], why, sizeof why), 0);
  static const struct {
    const char *name, *why;
  } bad[] = {
      {"/etc/passwd", "is an absolute path"},
      {"b/../../x", "climbs out of the bundle with '..'"},
      {"..", "climbs out"},
      {"b/..", "climbs out"},
      {"b/./x", "holds a '.' part"},
      {"b//x", "holds an empty part"},
      {"b/x\ny", "holds a control character"},
      {"b/\x1b[2Jx", "holds a control character"},
      {"", "is empty"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(fl_bundle_name_check(bad[i].name, why, sizeof why), -1);
    assert_non_null(strstr(why, bad[i].why));
  }
  char deep[2 * FL_BUNDLE_DEPTH_MAX + 8] = "";
  for (int i = 0; i <= FL_BUNDLE_DEPTH_MAX; i++) strcat(deep, "a/");
  strcat(deep, "x");
  assert_int_equal(fl_bundle_name_check(deep, why, sizeof why), -1);
  assert_non_null(strstr(why, "folders deep"));
  char longname[FL_BUNDLE_PATH_MAX + 2];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(fl_bundle_name_check(longname, why, sizeof why), -1);
  char longpart[NAME_MAX + 8] = "b/";
  memset(longpart + 2, 'p', NAME_MAX + 1);
  longpart[NAME_MAX + 3] = '\0';
  assert_int_equal(fl_bundle_name_check(longpart, why, sizeof why), -1);
  assert_non_null(strstr(why, "has a part longer than 255 bytes"));
}

/* Folds a path lexically ("a/b/../c" -> "a/c"), as the system resolves it in a tree without
 * links. */
static void fold(const char *in, char *out, size_t len) {
  char parts[64][256];
  int n = 0;
  for (const char *p = in; *p;) {
    size_t l = strcspn(p, "/");
    if (l == 2 && !strncmp(p, "..", 2)) {
      assert_true(n > 0);
      n--;
    } else if (l && !(l == 1 && *p == '.')) {
      snprintf(parts[n++], sizeof parts[0], "%.*s", (int)l, p);
    }
    p += l;
    if (*p) p++;
  }
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (i) strncat(out, "/", len - strlen(out) - 1);
    strncat(out, parts[i], len - strlen(out) - 1);
  }
}

static void layout(void **state) {
  (void)state;
  const char *names[] = {"../protos/orders.proto", "request.bin", "./sub/c.bin",
                         "../../shared/common.proto", "sub/../request.bin"};
  size_t n = sizeof names / sizeof names[0], bad;
  char copy[FL_BUNDLE_PATH_MAX], why[256], *stored[8];
  assert_int_equal(
      fl_bundle_layout("/home/u/proj/scenarios", names, n, copy, stored, &bad, why, sizeof why), 0);
  assert_string_equal(copy, "files/proj/scenarios/scenario.yaml");
  assert_string_equal(stored[0], "files/proj/protos/orders.proto");
  assert_string_equal(stored[1], "files/proj/scenarios/request.bin");
  assert_string_equal(stored[2], "files/proj/scenarios/sub/c.bin");
  assert_string_equal(stored[3], "files/shared/common.proto");
  assert_string_equal(stored[4], stored[1]); /* two names of one file: one place */
  /* The promise: from the copy's folder, each name as written leads to its place. */
  char from[FL_BUNDLE_PATH_MAX];
  snprintf(from, sizeof from, "%.*s", (int)(strrchr(copy, '/') - copy), copy);
  for (size_t i = 0; i < n; i++) {
    char joined[2 * FL_BUNDLE_PATH_MAX], folded[2 * FL_BUNDLE_PATH_MAX];
    snprintf(joined, sizeof joined, "%s/%s", from, names[i]);
    fold(joined, folded, sizeof folded);
    assert_string_equal(folded, stored[i]);
    free(stored[i]);
  }

  /* No names: the run directory's own copy. */
  assert_int_equal(fl_bundle_layout("/x", NULL, 0, copy, stored, &bad, why, sizeof why), 0);
  assert_string_equal(copy, "scenario.yaml");

  static const struct {
    const char *name, *why;
  } refused[] = {
      {"../../../../x", "climbs above the root folder"},
      {"/abs/x.proto", "is an absolute path"},
      {"sub/..", "names a folder, not a file"},
      {"scenario.yaml", "named like the bundle's copy of the scenario"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    const char *two[] = {"ok.bin", refused[i].name};
    assert_int_equal(fl_bundle_layout("/a/b", two, 2, copy, stored, &bad, why, sizeof why), -1);
    assert_int_equal(bad, 1);
    assert_non_null(strstr(why, refused[i].why));
    free(stored[0]);
  }
}

static json_t *record(const char *kernel_release, const char *peer_sha, const char *peer_id) {
  json_t *r = json_pack(
      "{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:[{s:s, s:s, s:i, s:s, s:o}]}", "faultline", "0.2.0",
      "grpc_core", "29.0.0", "kernel", "sysname", "Linux", "release", kernel_release, "version",
      "#1 SMP", "machine", "x86_64", "programs", "role", "peer", "path", "/b/faultline-peer",
      "size", 1000, "sha256", peer_sha, "build_id", peer_id ? json_string(peer_id) : json_null());
  assert_non_null(r);
  return r;
}

static size_t diff(const json_t *a, const json_t *b, char *out, size_t len) {
  FILE *f = fmemopen(out, len, "w");
  assert_non_null(f);
  size_t n = fl_versions_diff(f, a, b);
  fclose(f);
  return n;
}

static void versions_compare(void **state) {
  (void)state;
  char out[4096];
  const char *sha1 = "1111111111111111111111111111111111111111111111111111111111111111";
  const char *sha2 = "2222222222222222222222222222222222222222222222222222222222222222";
  json_t *a = record("6.1.0-18", sha1, "abcdef0123456789");
  json_t *same = record("6.1.0-18", sha1, "abcdef0123456789");
  assert_int_equal(diff(a, same, out, sizeof out), 0);
  assert_string_equal(out, "versions: the same as the original run (faultline 0.2.0, gRPC core "
                           "29.0.0, kernel 6.1.0-18, programs peer)\n");

  json_t *b = record("6.1.0-20", sha2, NULL);
  assert_int_equal(diff(a, b, out, sizeof out), 2);
  assert_string_equal(out,
                      "versions that differ from the original run (original -> here):\n"
                      "  kernel: Linux 6.1.0-18 #1 SMP x86_64 -> Linux 6.1.0-20 #1 SMP x86_64\n"
                      "  program peer: sha256 111111111111 -> 222222222222, build id "
                      "abcdef012345 -> none\n"
                      "the same: faultline 0.2.0, gRPC core 29.0.0\n");

  /* A bundle's record is untrusted: missing keys, wrong types, control characters. */
  json_t *hostile = json_pack("{s:i, s:s, s:[{s:s}, {s:i}]}", "faultline", 7, "grpc_core",
                              "29\x1b[2J", "programs", "role", "peer\n", "role", 3);
  assert_int_equal(diff(hostile, same, out, sizeof out), 5);
  assert_non_null(strstr(out, "  faultline: (not recorded) -> 0.2.0\n"));
  assert_non_null(strstr(out, "  gRPC core: 29\\x1B[2J -> 29.0.0\n"));
  assert_non_null(strstr(out, "  kernel: (not recorded) (not recorded)"));
  assert_non_null(strstr(out, "  program peer\\x0A: not run here\n"));
  assert_non_null(strstr(out, "  program peer: not run originally\n"));
  assert_null(strchr(out, '\x1b'));
  json_decref(hostile);
  json_t *null_then = json_null();
  assert_true(diff(null_then, same, out, sizeof out) >= 3);
  json_decref(null_then);
  json_decref(a);
  json_decref(same);
  json_decref(b);
}

static void ref_rule(void **state) {
  (void)state;
  fl_scenario s = {.path = "dir/sub/x.yaml"};
  char out[PATH_MAX], err[256];
  assert_int_equal(fl_scenario_ref_path(&s, "a.proto", out, sizeof out, err, sizeof err), 0);
  assert_string_equal(out, "dir/sub/a.proto");
  assert_int_equal(fl_scenario_ref_path(&s, "../p/a.proto", out, sizeof out, err, sizeof err), 0);
  assert_string_equal(out, "dir/sub/../p/a.proto"); /* kept as written, resolved by the system */
  assert_int_equal(fl_scenario_ref_path(&s, "/abs/a.proto", out, sizeof out, err, sizeof err), 0);
  assert_string_equal(out, "/abs/a.proto");
  fl_scenario here = {.path = "x.yaml"};
  assert_int_equal(fl_scenario_ref_path(&here, "a.proto", out, sizeof out, err, sizeof err), 0);
  assert_string_equal(out, "a.proto");
  char small[8];
  assert_int_equal(fl_scenario_ref_path(&s, "a.proto", small, sizeof small, err, sizeof err), -1);
  assert_non_null(strstr(err, "longer than 7 bytes"));

  fl_scenario_refs r = {0};
  assert_int_equal(fl_scenario_refs_add(&r, &s, FL_REF_FILE, "payload.proto", "p/a.proto", 3, 7,
                                        err, sizeof err),
                   0);
  assert_int_equal(
      fl_scenario_refs_add(&r, &s, FL_REF_PROGRAM, "server.exec", "sh", 4, 3, err, sizeof err), 0);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.refs[0].path, "dir/sub/p/a.proto");
  assert_int_equal(r.refs[0].line, 3);
  /* A program without '/' is found in PATH, as execvp finds it. */
  assert_true(!strcmp(r.refs[1].path, "/usr/bin/sh") || !strcmp(r.refs[1].path, "/bin/sh") ||
              strstr(r.refs[1].path, "/sh"));
  assert_int_equal(
      fl_scenario_refs_add(&r, &s, FL_REF_FILE, "payload.file", "a\tb", 5, 9, err, sizeof err), -1);
  assert_string_equal(err, "dir/sub/x.yaml:5:9: payload.file: the file name holds a control "
                           "character");
  assert_int_equal(
      fl_scenario_refs_add(&r, &s, FL_REF_FILE, "payload.file", "", 5, 9, err, sizeof err), -1);
  fl_scenario_refs_free(&r);
  assert_int_equal(r.n, 0);
}

static char base[PATH_MAX];

static const char *at(const char *rel) {
  static char bufs[4][PATH_MAX + 64];
  static int k;
  char *b = bufs[k++ % 4];
  snprintf(b, PATH_MAX + 64, "%s/%s", base, rel);
  return b;
}

static void put(const char *rel, const char *text) {
  FILE *f = fopen(at(rel), "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path) {
  static char buf[4096];
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static int tree_up(void **state) {
  (void)state;
  snprintf(base, sizeof base, "/tmp/faultline-bundle-test-XXXXXX");
  if (!mkdtemp(base)) return -1;
  static const char *const dirs[] = {"proj", "proj/scenarios", "proj/protos", "run", "x", "y"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    if (mkdir(at(dirs[i]), 0755) < 0) return -1;
  return 0;
}

static int tree_down(void **state) {
  (void)state;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  return system(cmd) == 0 ? 0 : -1;
}

/* The files a scenario refers to, packed and found again from the unpacked copy by the rule
 * every reader of such a file uses (fl_scenario_ref_path). */
static void refs_round_trip(void **state) {
  (void)state;
  const char *scenario = "name: refs-demo\n";
  put("proj/scenarios/refs-demo.yaml", scenario);
  put("proj/protos/a.proto", "syntax = \"proto3\";\n");
  put("proj/scenarios/req.bin", "request bytes\n");
  put("run/scenario.yaml", scenario);
  char report[PATH_MAX + 256];
  snprintf(report, sizeof report,
           "{\"scenario\": {\"name\": \"refs-demo\", \"file\": \"%s\"}, \"verdict\": "
           "\"reproduced\", \"outcome\": \"completed\", \"elapsed_ms\": 1, \"expectations\": []}",
           at("proj/scenarios/refs-demo.yaml"));
  put("run/report.json", report);

  char err[2048];
  fl_bundle_run *r;
  assert_int_equal(fl_bundle_run_open(at("run"), &r, err, sizeof err), 0);
  assert_string_equal(fl_bundle_top(r), "run");
  fl_scenario named = {.path = (char *)at("proj/scenarios/refs-demo.yaml")};
  fl_scenario_refs refs = {0};
  assert_int_equal(fl_scenario_refs_add(&refs, &named, FL_REF_FILE, "payload.proto",
                                        "../protos/a.proto", 5, 3, err, sizeof err),
                   0);
  assert_int_equal(fl_scenario_refs_add(&refs, &named, FL_REF_FILE, "payload.file", "req.bin", 6, 3,
                                        err, sizeof err),
                   0);
  assert_int_equal(fl_scenario_refs_add(&refs, &named, FL_REF_FILE, "payload.file", "./req.bin", 7,
                                        3, err, sizeof err),
                   0);
  assert_int_equal(fl_scenario_refs_add(&refs, &named, FL_REF_PROGRAM, "server.exec", "sh", 8, 3,
                                        err, sizeof err),
                   0);
  assert_int_equal(fl_bundle_run_use_refs(r, &refs, err, sizeof err), 0);
  json_t *versions = json_object();
  fl_bundle_stats st;
  assert_int_equal(fl_bundle_write(r, versions, at("b.tar.gz"), &st, err, sizeof err), 0);
  /* report.json, scenario.yaml, versions.json, the copy, a.proto, req.bin once, bundle.json */
  assert_int_equal(st.files, 7);

  fl_bundle_contents c;
  assert_int_equal(fl_bundle_extract(at("b.tar.gz"), at("x"), &c, err, sizeof err), 0);
  assert_string_equal(c.scenario, at("x/run/files/scenarios/scenario.yaml"));
  assert_string_equal(slurp(c.scenario), scenario);
  fl_scenario *s;
  fl_error fe;
  assert_int_equal(fl_scenario_load(c.scenario, &s, &fe), 0);
  char path[PATH_MAX];
  assert_int_equal(fl_scenario_ref_path(s, "../protos/a.proto", path, sizeof path, err, sizeof err),
                   0);
  assert_string_equal(slurp(path), "syntax = \"proto3\";\n");
  assert_int_equal(fl_scenario_ref_path(s, "./req.bin", path, sizeof path, err, sizeof err), 0);
  assert_string_equal(slurp(path), "request bytes\n");
  fl_scenario_free(s);
  json_t *mrefs = json_object_get(c.manifest, "refs");
  assert_int_equal(json_array_size(mrefs), 4);
  assert_string_equal(json_string_value(json_object_get(json_array_get(mrefs, 0), "stored")),
                      "files/protos/a.proto");
  assert_string_equal(json_string_value(json_object_get(json_array_get(mrefs, 2), "stored")),
                      "files/scenarios/req.bin");
  assert_true(json_is_null(json_object_get(json_array_get(mrefs, 3), "stored")));
  fl_bundle_contents_free(&c);

  /* What a bundle cannot carry is refused with the file, line and column of its name. */
  assert_int_equal(fl_scenario_refs_add(&refs, &named, FL_REF_FILE, "payload.proto",
                                        "/etc/hostname", 9, 5, err, sizeof err),
                   0);
  assert_int_equal(fl_bundle_run_use_refs(r, &refs, err, sizeof err), -1);
  assert_non_null(
      strstr(err, "refs-demo.yaml:9:5: payload.proto '/etc/hostname' is an absolute path"));
  assert_int_equal(fl_scenario_refs_add(&refs, &named, FL_REF_FILE, "payload.file", "nope.bin", 10,
                                        5, err, sizeof err),
                   0);
  assert_int_equal(fl_bundle_run_use_refs(r, &refs, err, sizeof err), -1);
  assert_non_null(strstr(err, "refs-demo.yaml:10:5: payload.file 'nope.bin'"));
  assert_non_null(strstr(err, "cannot open: No such file or directory"));

  /* An existing output is never replaced. */
  assert_int_equal(fl_bundle_write(r, versions, at("b.tar.gz"), &st, err, sizeof err), -1);
  assert_non_null(strstr(err, "exists; faultline never overwrites a file"));
  json_decref(versions);
  fl_bundle_run_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(name_rule),
      cmocka_unit_test(layout),
      cmocka_unit_test(versions_compare),
      cmocka_unit_test(ref_rule),
      cmocka_unit_test_setup_teardown(refs_round_trip, tree_up, tree_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
