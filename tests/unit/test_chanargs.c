/* Unit tests for the channel argument table (harness/plan/chanargs.h). argv[1] is the list of
 * names gRPC C core's installed headers declare (grpc-arg-names.sh, made at build time). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chanargs.h"

static const char *names_file;

/* The table and the headers hold the same names: an argument a newer C core adds is not
 * silently warned about as unknown, and one it drops is not silently accepted. */
static void test_matches_headers(void **state) {
  (void)state;
  FILE *f = fopen(names_file, "r");
  if (!f) fail_msg("cannot read %s", names_file);
  char line[256];
  size_t n_headers = 0;
  int missing = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!*line) continue;
    n_headers++;
    if (!fl_chanarg_find(line)) {
      print_error("C core declares %s; add it to fl_chanargs with its kind\n", line);
      missing++;
    }
  }
  fclose(f);
  size_t n_table = 0;
  for (const fl_chanarg_info *a = fl_chanargs; a->name; a++) n_table++;
  assert_int_equal(missing, 0);
  assert_true(n_headers > 50); /* the list was really read */
  if (n_table != n_headers)
    fail_msg("fl_chanargs has %zu names, C core's headers %zu: a name is in the table only",
             n_table, n_headers);
}

static void test_sorted_and_found(void **state) {
  (void)state;
  for (const fl_chanarg_info *a = fl_chanargs; a->name; a++) {
    if (a[1].name && strcmp(a->name, a[1].name) >= 0)
      fail_msg("fl_chanargs is not sorted at %s", a->name);
    assert_ptr_equal(fl_chanarg_find(a->name), a);
  }
  assert_null(fl_chanarg_find("grpc.http2.lookahead_byte"));
  assert_null(fl_chanarg_find(""));
  assert_null(fl_chanarg_find("zzz"));
  const char *const *names = fl_chanarg_names();
  assert_string_equal(names[0], fl_chanargs[0].name);
}

static int conv(const char *name, const char *value, bool plain, bool *is_int, long long *v,
                char *err) {
  const fl_chanarg_info *info = name ? fl_chanarg_find(name) : NULL;
  if (name) assert_non_null(info);
  return fl_chanarg_convert(info, value, plain, is_int, v, err, 256);
}

static void test_convert(void **state) {
  (void)state;
  static const struct {
    const char *name; /* NULL: a name C core does not declare */
    const char *value;
    bool plain;
    int rc;
    bool is_int;
    long long v;
    const char *err;
  } cases[] = {
      {"grpc.max_receive_message_length", "8MiB", true, 0, true, 8388608, NULL},
      {"grpc.max_receive_message_length", "8MiB", false, 0, true, 8388608, NULL},
      {"grpc.max_receive_message_length", "-1", true, 0, true, -1, NULL},
      {"grpc.max_receive_message_length", "4GiB", true, -1, false, 0, "out of range"},
      {"grpc.max_receive_message_length", "99999999999999TiB", true, -1, false, 0, "out of range"},
      {"grpc.max_receive_message_length", "lots", true, -1, false, 0,
       "it takes a number of bytes or a size like 8MiB, not 'lots'"},
      {"grpc.http2.lookahead_bytes", "65535", true, 0, true, 65535, NULL},
      {"grpc.http2.lookahead_bytes", "64KiB", true, 0, true, 65536, NULL},
      {"grpc.keepalive_time_ms", "30s", true, 0, true, 30000, NULL},
      {"grpc.keepalive_time_ms", "1500", true, 0, true, 1500, NULL},
      {"grpc.keepalive_time_ms", "1.5ms", true, -1, false, 0, "whole milliseconds"},
      {"grpc.keepalive_time_ms", "1500us", true, -1, false, 0, "whole milliseconds"},
      {"grpc.keepalive_time_ms", "30d", true, -1, false, 0,
       "it takes a number of milliseconds or a duration like 30s"},
      {"grpc.keepalive_time_ms", "600h", true, -1, false, 0, "out of range"},
      {"grpc.dns_ares_query_timeout", "2s", true, 0, true, 2000, NULL},
      {"grpc.http2.bdp_probe", "false", true, 0, true, 0, NULL},
      {"grpc.http2.bdp_probe", "true", true, 0, true, 1, NULL},
      {"grpc.http2.bdp_probe", "0", true, 0, true, 0, NULL},
      {"grpc.http2.bdp_probe", "off", true, -1, false, 0,
       "it takes true, false or an integer, not 'off'"},
      {"grpc.max_concurrent_streams", "100", false, 0, true, 100, NULL}, /* quoting is moot */
      {"grpc.max_concurrent_streams", "1KiB", true, -1, false, 0,
       "it takes an integer, not '1KiB'"},
      {"grpc.max_concurrent_streams", "99999999999", true, -1, false, 0, "out of range"},
      {"grpc.max_concurrent_streams", "99999999999999999999999", true, -1, false, 0,
       "out of range"},
      {"grpc.primary_user_agent", "42", true, 0, false, 0, NULL},
      {"grpc.primary_user_agent", "8MiB", true, 0, false, 0, NULL},
      {"grpc.resource_quota", "1", true, -1, false, 0, "a C object"},
      {NULL, "42", true, 0, true, 42, NULL},
      {NULL, "-7", true, 0, true, -7, NULL},
      {NULL, "42", false, 0, false, 0, NULL},
      {NULL, "hello", true, 0, false, 0, NULL},
      {NULL, "8MiB", true, -1, false, 0, "cannot tell which unit"},
      {NULL, "30s", true, -1, false, 0, "cannot tell which unit"},
      {NULL, "8MiB", false, 0, false, 0, NULL},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool is_int = true;
    long long v = 12345;
    char err[256] = "";
    int rc = conv(cases[i].name, cases[i].value, cases[i].plain, &is_int, &v, err);
    bool ok = rc == cases[i].rc;
    if (ok && rc == 0) ok = is_int == cases[i].is_int && (!is_int || v == cases[i].v);
    if (ok && rc < 0 && cases[i].err) ok = strstr(err, cases[i].err) != NULL;
    if (!ok) {
      print_error("case %zu (%s: %s): rc %d is_int %d v %lld err '%s'\n", i,
                  cases[i].name ? cases[i].name : "(unknown)", cases[i].value, rc, is_int, v, err);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_chanargs NAMES_FILE\n");
    return 2;
  }
  names_file = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_headers),
      cmocka_unit_test(test_sorted_and_found),
      cmocka_unit_test(test_convert),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
