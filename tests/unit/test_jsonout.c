/* Unit tests for JSON output (reports/evidence/jsonout.h, timeline.h): whatever bytes come
 * in, what goes out parses as strict JSON and the bytes stay recoverable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jsonout.h"
#include "timeline.h"

/* Serializes obj, parses it back with jansson's strict parser and returns obj2[key]. */
static json_t *round_trip(json_t *obj, json_t **back) {
  char *text = json_dumps(obj, JSON_COMPACT);
  assert_non_null(text);
  json_error_t e;
  *back = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
  if (!*back) fail_msg("not strict JSON: %s: %s", e.text, text);
  free(text);
  return *back;
}

static void test_valid_utf8_is_kept(void **state) {
  (void)state;
  const char s[] = "tab\there\r\nline 2 \xc3\xa9 \xf0\x9f\x98\x80 \x01\x1f\x7f";
  json_t *o = json_object(), *back;
  assert_int_equal(fl_json_set_bytes(o, "m", s, sizeof s - 1), 0);
  round_trip(o, &back);
  json_t *m = json_object_get(back, "m");
  assert_int_equal(json_string_length(m), sizeof s - 1);
  assert_memory_equal(json_string_value(m), s, sizeof s - 1);
  assert_null(json_object_get(back, "m_hex")); /* nothing was replaced */
  json_decref(o);
  json_decref(back);
}

static void test_nul_is_kept(void **state) {
  (void)state;
  const char s[] = {'a', '\0', 'b'};
  json_t *o = json_object(), *back;
  assert_int_equal(fl_json_set_bytes(o, "m", s, 3), 0);
  round_trip(o, &back);
  json_t *m = json_object_get(back, "m");
  assert_int_equal(json_string_length(m), 3);
  assert_memory_equal(json_string_value(m), s, 3);
  json_decref(o);
  json_decref(back);
}

/* 0xFF, a lone continuation byte, a truncated sequence, an overlong form and a surrogate. */
static void test_invalid_utf8_is_replaced_and_kept_in_hex(void **state) {
  (void)state;
  const char s[] = "ok\xff\x80x\xe2\x82\xc0\x80\xed\xa0\x80";
  size_t n = sizeof s - 1;
  json_t *o = json_object(), *back;
  assert_int_equal(fl_json_set_bytes(o, "message", s, n), 0);
  round_trip(o, &back);
  const char *text = json_string_value(json_object_get(back, "message"));
  assert_non_null(strstr(text, "ok\xef\xbf\xbd"));
  const char *hex = json_string_value(json_object_get(back, "message_hex"));
  assert_non_null(hex);
  assert_string_equal(hex, "6f6bff8078e282c080eda080");
  json_decref(o);
  json_decref(back);
}

static void test_long_string(void **state) {
  (void)state;
  size_t n = 1 << 20;
  char *s = malloc(n);
  for (size_t i = 0; i < n; i++) s[i] = (char)(i % 251); /* every byte value, invalid UTF-8 */
  json_t *o = json_object(), *back;
  assert_int_equal(fl_json_set_bytes(o, "m", s, n), 0);
  round_trip(o, &back);
  assert_int_equal(strlen(json_string_value(json_object_get(back, "m_hex"))), 2 * n);
  free(s);
  json_decref(o);
  json_decref(back);
}

/* The timeline ends in causal order, with every line strict JSON. */
static void test_timeline_causal_order(void **state) {
  (void)state;
  char dir[] = "/tmp/fl-timeline-XXXXXX", path[64], err[256];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/events.jsonl", dir);
  /* Live lines in arrival order to one file, the sorted ones to another. */
  char live_path[80];
  snprintf(live_path, sizeof live_path, "%s/live.jsonl", dir);
  FILE *live = fopen(live_path, "w");
  assert_non_null(live);
  fl_timeline *tl;
  assert_int_equal(fl_timeline_new(live, &tl, err, sizeof err), 0);
  const char *lines[] = {"30 cancelled value=1", "10 cancel", "20 status code=1 message=%FFx"};
  unsigned from[] = {FL_FROM_SERVER, FL_FROM_CLIENT, FL_FROM_CLIENT};
  for (int i = 0; i < 3; i++) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", lines[i]);
    fl_event ev;
    assert_int_equal(fl_event_parse(buf, from[i], &ev, err, sizeof err), 0);
    fl_timeline_add(tl, ev.stamp_ns, 100 + i, from[i] == FL_FROM_SERVER ? "server" : "client", &ev,
                    false);
  }
  fl_timeline_add_runner(tl, 25, FL_EV_END, NULL, 0);
  assert_int_equal(fl_timeline_count(tl), 4);
  fl_timeline_detach(tl);
  fclose(live);
  FILE *sorted = fopen(path, "w");
  assert_int_equal(fl_timeline_write_sorted(tl, sorted, err, sizeof err), 0);
  fclose(sorted);
  fl_timeline_free(tl);
  /* The live file kept the arrival order. */
  FILE *lf = fopen(live_path, "r");
  char first[512];
  assert_non_null(fgets(first, sizeof first, lf));
  assert_non_null(strstr(first, "\"cancelled\""));
  fclose(lf);
  unlink(live_path);
  FILE *f = fopen(path, "r");
  char line[512];
  const char *want[] = {"cancel", "status", "end", "cancelled"};
  for (int i = 0; i < 4; i++) {
    assert_non_null(fgets(line, sizeof line, f));
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    if (!j) fail_msg("line %d not JSON: %s", i, e.text);
    assert_string_equal(json_string_value(json_object_get(j, "event")), want[i]);
    json_decref(j);
  }
  assert_null(fgets(line, sizeof line, f));
  fclose(f);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_utf8_is_kept),
      cmocka_unit_test(test_nul_is_kept),
      cmocka_unit_test(test_invalid_utf8_is_replaced_and_kept_in_hex),
      cmocka_unit_test(test_long_string),
      cmocka_unit_test(test_timeline_causal_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
