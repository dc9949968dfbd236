/* Unit tests for a side's clock: plan (harness/plan/clock.h) and its environment
 * (injectors/clock.h, the pure part; tests/clock/test_faketime.c runs real processes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "faketime.h"
#include "scenario.h"

#define SEC INT64_C(1000000000)
#define LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

static fl_scenario *parse_ok(const char *text) {
  fl_scenario *s = NULL;
  fl_error err;
  int rc = fl_scenario_parse("t.yaml", text, strlen(text), &s, &err);
  if (rc != 0) fail_msg("unexpected error: %s", err.msg);
  return s;
}

/* Parses `text`, which must fail, and checks the message starts with `want` (file:line:col
 * and the first words). */
static void parse_fails(const char *text, const char *want) {
  fl_scenario *s = NULL;
  fl_error err;
  assert_int_equal(fl_scenario_parse("t.yaml", text, strlen(text), &s, &err), -1);
  assert_null(s);
  if (strncmp(err.msg, want, strlen(want)))
    fail_msg("message\n  %s\ndoes not start with\n  %s", err.msg, want);
}

static void test_offset_realtime(void **state) {
  (void)state;
  fl_scenario *s = parse_ok("name: t\n"
                            "server:\n"
                            "  clock: { fake: realtime, offset: +2h }\n");
  const fl_clock_plan *cp = &s->server.clock;
  assert_true(cp->present);
  assert_int_equal(cp->line, 3);
  assert_int_equal(cp->col, 10);
  assert_int_equal(cp->fake, FL_CLOCK_FAKE_REALTIME);
  assert_true(cp->offset_ns == 2 * 3600 * SEC);
  assert_int_equal(cp->n_jumps, 0);
  assert_false(fl_clock_fakes_monotonic(cp));
  assert_false(s->client.clock.present);
  assert_string_equal(fl_clock_fake_name(cp->fake), "realtime");

  fl_clock_env env;
  char err[256];
  assert_int_equal(fl_clock_env_build(cp, LIB, NULL, NULL, &env, err, sizeof err), 0);
  assert_true(env.faked);
  assert_false(env.monotonic_faked);
  assert_false(env.uses_stamp_file);
  assert_int_equal(env.n_vars, 3);
  assert_string_equal(env.vars[0], "LD_PRELOAD=" LIB);
  assert_string_equal(env.vars[1], "FAKETIME_DONT_FAKE_MONOTONIC=1");
  assert_string_equal(env.vars[2], "FAKETIME=+7200.000000000");

  /* A side without a clock gets nothing to set. */
  assert_int_equal(fl_clock_env_build(&s->client.clock, LIB, NULL, NULL, &env, err, sizeof err), 0);
  assert_false(env.faked);
  assert_int_equal(env.n_vars, 0);
  fl_scenario_free(s);
}

static void test_jumps_monotonic(void **state) {
  (void)state;
  fl_scenario *s = parse_ok("name: t\n"
                            "client:\n"
                            "  clock:\n"
                            "    fake: realtime+monotonic\n"
                            "    offset: 1.5s\n"
                            "    jump:\n"
                            "      - { by: +30s, on: server.recv >= 3 }\n"
                            "      - { by: 250ms, after: 2s }\n");
  const fl_clock_plan *cp = &s->client.clock;
  assert_int_equal(cp->fake, FL_CLOCK_FAKE_REALTIME_MONOTONIC);
  assert_true(fl_clock_fakes_monotonic(cp));
  assert_true(cp->offset_ns == 1500000000);
  assert_int_equal(cp->n_jumps, 2);
  assert_true(cp->jumps[0].by_ns == 30 * SEC);
  assert_non_null(cp->jumps[0].on);
  assert_string_equal(cp->jumps[0].on_text, "server.recv >= 3");
  assert_int_equal(fl_predicate_scope(cp->jumps[0].on), FL_SCOPE_SERVER);
  assert_true(cp->jumps[0].after_ns == -1);
  assert_int_equal(cp->jumps[0].line, 7);
  assert_int_equal(cp->jumps[0].col, 9);
  assert_null(cp->jumps[1].on);
  assert_true(cp->jumps[1].after_ns == 2 * SEC);
  assert_true(cp->jumps[1].by_ns == 250000000);

  fl_clock_env env;
  char err[256];
  /* Jumps need the timestamp file. */
  assert_int_equal(fl_clock_env_build(cp, LIB, NULL, NULL, &env, err, sizeof err), -1);
  assert_non_null(strstr(err, "timestamp file"));
  /* An inherited preload stays, after libfaketime; an inherited libfaketime goes. */
  assert_int_equal(fl_clock_env_build(cp, LIB, "/r/clock-client.rc",
                                      "/lib/x.so /usr/lib/faketime/libfaketime.so.1:/lib/y.so",
                                      &env, err, sizeof err),
                   0);
  assert_true(env.monotonic_faked);
  assert_true(env.uses_stamp_file);
  assert_string_equal(env.stamp_text, "+1.500000000");
  assert_true(env.offset_ns == 1500000000);
  assert_int_equal(env.n_vars, 3);
  assert_string_equal(env.vars[0], "LD_PRELOAD=" LIB ":/lib/x.so:/lib/y.so");
  /* FAKETIME would win over the file: it is not set. */
  assert_string_equal(env.vars[1], "FAKETIME_TIMESTAMP_FILE=/r/clock-client.rc");
  assert_string_equal(env.vars[2], "FAKETIME_NO_CACHE=1");
  fl_scenario_free(s);
}

static void test_offset_text(void **state) {
  (void)state;
  char buf[40];
  assert_string_equal(fl_clock_offset_text(0, buf, sizeof buf), "+0.000000000");
  assert_string_equal(fl_clock_offset_text(30 * SEC + 1, buf, sizeof buf), "+30.000000001");
  assert_string_equal(fl_clock_offset_text(-250000000, buf, sizeof buf), "-0.250000000");
  assert_string_equal(fl_clock_offset_text(INT64_MIN, buf, sizeof buf), "-9223372036.854775808");
}

static void test_args_with_clock(void **state) {
  (void)state;
  /* Offset 0 and no jump: the realtime clock is not moved, every argument runs. */
  fl_scenario *s = parse_ok("name: t\n"
                            "client:\n"
                            "  args: { grpc.keepalive_time_ms: 500 }\n"
                            "  clock: { fake: realtime }\n");
  fl_scenario_free(s);
  /* Arguments without an EventEngine timer run with any clock. */
  s = parse_ok("name: t\n"
               "server:\n"
               "  clock: { fake: realtime, offset: +1h }\n"
               "  args: { grpc.http2.bdp_probe: 0 }\n");
  fl_scenario_free(s);
  parse_fails("name: t\n"
              "server:\n"
              "  clock: { fake: realtime, offset: +1h }\n"
              "  args: { grpc.max_connection_age_ms: 1000 }\n",
              "t.yaml:3:10: server clock: 'grpc.max_connection_age_ms' cannot run with a clock "
              "offset or jump on this platform");
  parse_fails("name: t\n"
              "client:\n"
              "  args: { grpc.keepalive_time_ms: 500 }\n"
              "  clock: { fake: realtime+monotonic, jump: { by: 1s, after: 1s } }\n",
              "t.yaml:4:10: client clock: 'grpc.keepalive_time_ms' cannot run");
}

static void test_refusals(void **state) {
  (void)state;
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, rate: x2 }\n",
              "t.yaml:3:34: 'rate' is refused on this platform: libfaketime 0.9.10 scales");
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, rate: fast }\n",
              "t.yaml:3:34: 'rate' must be a factor like x2 or x0.5, not 'fast'");
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, offset: -2h }\n",
              "t.yaml:3:36: a negative offset (-2h) is refused on this platform");
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, jump: { by: -1s, after: 1s } }\n",
              "t.yaml:3:40: a jump back (-1s) is refused");
}

static void test_errors(void **state) {
  (void)state;
  parse_fails("name: t\nserver:\n  clock: { offset: +2h }\n",
              "t.yaml:3:10: 'clock' needs 'fake: realtime' or 'fake: realtime+monotonic'");
  parse_fails("name: t\nserver:\n  clock: { fake: monotonic }\n",
              "t.yaml:3:18: 'fake' must be realtime or realtime+monotonic, not 'monotonic'");
  parse_fails("name: t\nserver:\n  clock: { fake: realtme }\n",
              "t.yaml:3:18: 'fake' must be realtime or realtime+monotonic, not 'realtme'; did you "
              "mean 'realtime'?");
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, ofset: 1s }\n",
              "t.yaml:3:28: unknown key 'ofset' in server clock; did you mean 'offset'?");
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, speed: 1 }\n",
              "t.yaml:3:28: unknown key 'speed' in server clock; expected one of fake, offset, "
              "jump, rate");
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, fake: realtime }\n",
              "t.yaml:3:28: duplicate key 'fake' in server clock (first at line 3)");
  parse_fails("name: t\nserver:\n  clock: realtime\n",
              "t.yaml:3:10: 'clock' must be a map like {fake: realtime, offset: +2h}, not "
              "'realtime'");
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, offset: 2 }\n",
              "t.yaml:3:36: 'offset' must be a duration with a sign, like +30s or +2h, not '2'");
  parse_fails("name: t\nserver:\n  clock: { fake: realtime, offset: ++2h }\n",
              "t.yaml:3:36: 'offset' must be a duration with a sign");
  parse_fails("name: t\nclock: { fake: realtime }\n",
              "t.yaml:2:1: unknown key 'clock' in scenario; it belongs under server: or client:");
}

static void test_jump_errors(void **state) {
  (void)state;
  const char *head = "name: t\nserver:\n  clock:\n    fake: realtime+monotonic\n    jump: ";
  struct {
    const char *jump, *want;
  } cases[] = {
      {"30s", "t.yaml:5:11: a jump must be a map like {by: +30s, on: server.recv >= 3}"},
      {"[]", "t.yaml:5:11: 'jump' is an empty list"},
      {"{ after: 1s }", "t.yaml:5:11: a jump needs 'by', the step"},
      {"{ by: 30s }", "t.yaml:5:11: a jump needs a trigger: 'on: PREDICATE'"},
      {"{ by: 0s, after: 1s }", "t.yaml:5:17: a jump by 0 does nothing"},
      {"{ by: 1s, after: 0s }", "t.yaml:5:28: 'after' must be a duration longer than 0"},
      {"{ by: 1s, after: 1s, on: server.recv >= 1 }",
       "t.yaml:5:32: a jump has one trigger: 'on' or 'after', not both"},
      {"{ by: 1s, on: server.recv >== 1 }",
       "t.yaml:5:37: unknown operator '>=='; expected ==, !=, <, <=, > or >="},
      {"{ by: 1s, on: 'server.rcv >= 1' }",
       "t.yaml:5:26: unknown field 'server.rcv'; did you mean 'server.recv'?"},
      {"{ by: 1s, on: elapsed > 1s }", "t.yaml:5:25: a jump's 'on' needs a server.* or client.*"},
      {"{ by: 1s, at: 1s }",
       "t.yaml:5:21: unknown key 'at' in jump; expected one of by, on, after"},
      {"[ { by: 1s, after: 1s }, 5 ]", "t.yaml:5:36: a jump must be a map"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s\n", head, cases[i].jump);
    parse_fails(text, cases[i].want);
  }
}

static void test_env_refuses_what_parser_refuses(void **state) {
  (void)state;
  fl_clock_plan cp = {.present = true, .fake = FL_CLOCK_FAKE_REALTIME, .offset_ns = -SEC};
  fl_clock_env env;
  char err[256];
  assert_int_equal(fl_clock_env_build(&cp, LIB, NULL, NULL, &env, err, sizeof err), -1);
  assert_non_null(strstr(err, "negative offset"));
  cp.offset_ns = 0;
  assert_int_equal(fl_clock_env_build(&cp, NULL, NULL, NULL, &env, err, sizeof err), -1);
  assert_non_null(strstr(err, "no libfaketime"));
  fl_clock_jump j = {.by_ns = -SEC, .after_ns = SEC};
  cp.jumps = &j;
  cp.n_jumps = 1;
  assert_int_equal(fl_clock_env_build(&cp, LIB, "/r/x.rc", NULL, &env, err, sizeof err), -1);
  assert_non_null(strstr(err, "does not step forward"));
}

static void test_fire_jump_errors(void **state) {
  (void)state;
  fl_clock_jump j = {.by_ns = INT64_MAX, .after_ns = SEC};
  fl_clock_plan cp = {.present = true, .jumps = &j, .n_jumps = 1};
  int64_t offset = SEC;
  char err[256];
  assert_int_equal(fl_clock_fire_jump(&cp, 1, &offset, "/nonexistent/x.rc", err, sizeof err), -1);
  assert_non_null(strstr(err, "no jump 1"));
  assert_int_equal(fl_clock_fire_jump(&cp, 0, &offset, "/nonexistent/x.rc", err, sizeof err), -1);
  assert_non_null(strstr(err, "past"));
  j.by_ns = SEC;
  assert_int_equal(fl_clock_fire_jump(&cp, 0, &offset, "/nonexistent/x.rc", err, sizeof err), -1);
  assert_string_equal(err, "cannot write /nonexistent/x.rc: No such file or directory");
  assert_true(offset == SEC); /* unchanged on failure */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_offset_realtime),
      cmocka_unit_test(test_jumps_monotonic),
      cmocka_unit_test(test_offset_text),
      cmocka_unit_test(test_args_with_clock),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_jump_errors),
      cmocka_unit_test(test_env_refuses_what_parser_refuses),
      cmocka_unit_test(test_fire_jump_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
