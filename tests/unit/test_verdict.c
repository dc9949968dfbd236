/* Unit tests for the verdict (harness/verdict/verdict.h) on canned observations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict.h"

static const char yaml[] = "name: v\n"
                           "expect:\n"
                           "  - client.status == DEADLINE_EXCEEDED\n"
                           "  - client.recv >= 1\n"
                           "  - outcome == completed\n";

static fl_observe *observed(fl_scenario *s, const char *const *lines) {
  fl_observe_config cfg = {.scenario = s, .clock_shared = {true, true}, .t0_ns = 0};
  fl_observe *o = fl_observe_new(&cfg);
  for (const char *const *l = lines; *l; l++) {
    char buf[256], err[256];
    snprintf(buf, sizeof buf, "%s", *l);
    fl_event ev;
    assert_int_equal(fl_event_parse(buf, FL_FROM_CLIENT, &ev, err, sizeof err), 0);
    fl_observe_event(o, FL_FROM_CLIENT, &ev, ev.stamp_ns);
  }
  fl_observe_end(o, FL_END_FINISHED, 1000);
  return o;
}

static fl_scenario *load(void) {
  fl_scenario *s;
  fl_error err;
  if (fl_scenario_parse("v.yaml", yaml, strlen(yaml), &s, &err) != 0) fail_msg("%s", err.msg);
  return s;
}

static void test_reproduced(void **state) {
  (void)state;
  fl_scenario *s = load();
  const char *lines[] = {"1 call_start method=/x", "2 recv n=1 bytes=1 decoded=1 hash=00",
                         "3 status code=4 message=late", NULL};
  fl_observe *o = observed(s, lines);
  fl_verdict v;
  assert_int_equal(fl_verdict_judge(s, o, NULL, &v), 0);
  assert_int_equal(v.kind, FL_VERDICT_REPRODUCED);
  assert_int_equal(v.n_clauses, 3);
  assert_string_equal(v.clauses[0].seen, "DEADLINE_EXCEEDED");
  assert_string_equal(v.clauses[2].seen, "completed");
  fl_verdict_free(&v);
  fl_observe_free(o);
  fl_scenario_free(s);
}

/* Each failing clause carries the value seen; a value never produced shows as (none). */
static void test_not_reproduced(void **state) {
  (void)state;
  fl_scenario *s = load();
  const char *lines[] = {"1 call_start method=/x", NULL};
  fl_observe *o = observed(s, lines);
  fl_verdict v;
  assert_int_equal(fl_verdict_judge(s, o, NULL, &v), 0);
  assert_int_equal(v.kind, FL_VERDICT_NOT_REPRODUCED);
  assert_false(v.clauses[0].held);
  assert_string_equal(v.clauses[0].seen, "(none)");
  assert_false(v.clauses[1].held);
  assert_string_equal(v.clauses[1].seen, "0");
  assert_true(v.clauses[2].held);
  assert_string_equal(fl_verdict_name(v.kind), "not reproduced");
  fl_verdict_free(&v);
  fl_observe_free(o);
  fl_scenario_free(s);
}

/* A harness error wins over the clauses, which are still judged for the report. */
static void test_error(void **state) {
  (void)state;
  fl_scenario *s = load();
  const char *lines[] = {"1 call_start method=/x", "2 recv n=1 bytes=1 decoded=1 hash=00",
                         "3 status code=4 message=late", NULL};
  fl_observe *o = observed(s, lines);
  fl_verdict v;
  assert_int_equal(fl_verdict_judge(s, o, "cannot write events.jsonl: No space left", &v), 0);
  assert_int_equal(v.kind, FL_VERDICT_ERROR);
  assert_string_equal(v.why, "cannot write events.jsonl: No space left");
  assert_true(v.clauses[0].held);
  fl_verdict_free(&v);
  fl_observe_free(o);
  fl_scenario_free(s);
}

/* A wire clause whose field stayed unknown: an error when the run had no way to see the wire,
 * but a plain failure when it had one and the frame never came (a reset that never fired). */
static void test_wire_unobserved(void **state) {
  (void)state;
  static const char wire_yaml[] = "name: v\nexpect:\n  - wire.server.rst_stream.code == CANCEL\n";
  fl_scenario *s;
  fl_error err;
  if (fl_scenario_parse("v.yaml", wire_yaml, strlen(wire_yaml), &s, &err) != 0)
    fail_msg("%s", err.msg);
  const char *lines[] = {"1 call_start method=/x", NULL};
  for (int source = 0; source < 2; source++) {
    fl_observe *o = observed(s, lines);
    if (source) fl_observe_wire_source(o);
    fl_verdict v;
    assert_int_equal(fl_verdict_judge(s, o, NULL, &v), 0);
    assert_false(v.clauses[0].held);
    assert_string_equal(v.clauses[0].seen, "(none)");
    if (source) {
      assert_int_equal(v.kind, FL_VERDICT_NOT_REPRODUCED);
    } else {
      assert_int_equal(v.kind, FL_VERDICT_ERROR);
      assert_non_null(strstr(v.why, "which this run did not observe"));
    }
    fl_verdict_free(&v);
    fl_observe_free(o);
  }
  fl_scenario_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire_unobserved),
      cmocka_unit_test(test_reproduced),
      cmocka_unit_test(test_not_reproduced),
      cmocka_unit_test(test_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
