/* Unit tests for the event protocol (harness/observe/event.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"

static unsigned a_sender(unsigned from) {
  for (unsigned b = 1; b <= FL_FROM_RUNNER; b <<= 1)
    if (from & b) return b;
  return 0;
}

/* Every event, with every attribute it may carry, survives format and parse exactly; string
 * values hold every byte value, NUL included. */
static void test_every_event_round_trips(void **state) {
  (void)state;
  char bytes[256];
  for (int i = 0; i < 256; i++) bytes[i] = (char)i;
  static char line[FL_EVENT_MAX_LINE];
  for (int id = 0; id < FL_N_EVENTS; id++) {
    const fl_event_info *e = &fl_event_table[id];
    assert_non_null(e->name);
    assert_true(strlen(e->doc) > 0);
    assert_true(e->from != 0);
    fl_event_kv kv[FL_N_ATTRS];
    size_t n = 0;
    for (int a = 0; a < FL_N_ATTRS; a++) {
      if (!((e->attrs >> a) & 1)) continue;
      if (fl_attr_table[a].type == FL_ATTR_INT)
        kv[n++] = (fl_event_kv){.key = (fl_attr_id)a, .i = -1234567890123LL + a};
      else
        kv[n++] =
            (fl_event_kv){.key = (fl_attr_id)a, .s = bytes, .len = sizeof bytes, .is_str = true};
    }
    char err[256];
    int len = fl_event_format(line, 42, (fl_event_id)id, kv, n, err, sizeof err);
    if (len < 0) fail_msg("%s: %s", e->name, err);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', (size_t)len - 1)); /* one line, whatever the bytes */
    line[len - 1] = '\0';
    fl_event ev;
    if (fl_event_parse(line, a_sender(e->from), &ev, err, sizeof err) != 0)
      fail_msg("%s: %s", e->name, err);
    assert_int_equal(ev.id, id);
    assert_int_equal(ev.stamp_ns, 42);
    assert_int_equal(ev.n_attrs, (int)n);
    for (size_t k = 0; k < n; k++) {
      fl_attr_id a = kv[k].key;
      assert_true(fl_event_has(&ev, a));
      if (fl_attr_table[a].type == FL_ATTR_INT) {
        assert_int_equal(fl_event_int(&ev, a, 0), kv[k].i);
      } else {
        assert_int_equal(ev.str_len[a], sizeof bytes);
        assert_memory_equal(ev.str[a], bytes, sizeof bytes);
      }
    }
  }
}

/* What the table does not allow is refused, by the writer and by the parser, with a message
 * that names the problem. */
static void test_table_violations_are_caught(void **state) {
  (void)state;
  static char line[FL_EVENT_MAX_LINE];
  char err[256];
  fl_event_kv bad[] = {FL_KV_I(PORT, 1)};
  assert_int_equal(fl_event_format(line, 1, FL_EV_SENT, bad, 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "event 'sent' has no attribute 'port'"));
  fl_event_kv twice[] = {FL_KV_I(N, 1), FL_KV_I(N, 2)};
  assert_int_equal(fl_event_format(line, 1, FL_EV_SENT, twice, 2, err, sizeof err), -1);
  assert_non_null(strstr(err, "given twice"));
  fl_event_kv wrong_type[] = {FL_KV_S(N, "1")};
  assert_int_equal(fl_event_format(line, 1, FL_EV_SENT, wrong_type, 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "is an integer"));

  static const struct {
    const char *line;
    unsigned from;
    const char *msg;
  } cases[] = {
      {"12 sent n=1 colour=blue", FL_FROM_CLIENT, "event 'sent' has no attribute 'colour'"},
      {"12 sent port=1", FL_FROM_CLIENT, "event 'sent' has no attribute 'port'"},
      {"12 sent n=x", FL_FROM_CLIENT, "attribute 'n' is not an integer"},
      {"12 sent n=1 n=2", FL_FROM_CLIENT, "given twice"},
      {"12 status message=%4", FL_FROM_CLIENT, "broken %-escape"},
      {"12 teleport", FL_FROM_CLIENT, "unknown event 'teleport'"},
      {"12 cancelled value=1", FL_FROM_CLIENT, "may not come from this sender"},
      {"12 spawn peer=x pid=1", FL_FROM_SERVER, "may not come from this sender"},
      {"12 sent n", FL_FROM_CLIENT, "is not key=value"},
      {"sent n=1", FL_FROM_CLIENT, "not an event line"},
      {"", FL_FROM_CLIENT, "not an event line"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", cases[i].line);
    fl_event ev;
    err[0] = '\0';
    int rc = fl_event_parse(buf, cases[i].from, &ev, err, sizeof err);
    if (rc != -1 || !strstr(err, cases[i].msg))
      fail_msg("'%s': rc %d msg '%s' (want '%s')", cases[i].line, rc, err, cases[i].msg);
  }
}

/* A value too long for one line is refused, not cut. */
static void test_too_long_is_refused(void **state) {
  (void)state;
  size_t n = FL_EVENT_MAX_LINE / 2;
  char *big = malloc(n);
  memset(big, '%', n); /* each byte takes three when encoded */
  static char line[FL_EVENT_MAX_LINE];
  char err[256];
  fl_event_kv kv[] = {FL_KV_BYTES(MESSAGE, big, n)};
  assert_int_equal(fl_event_format(line, 1, FL_EV_ERROR, kv, 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "too long"));
  free(big);
}

/* Attribute keys never collide with the timeline's own keys. */
static void test_attribute_keys(void **state) {
  (void)state;
  static const char *const reserved[] = {"t_ms",  "arrival_ms", "side",
                                         "event", "peer_ns",    "after_end"};
  for (int a = 0; a < FL_N_ATTRS; a++) {
    for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
      assert_string_not_equal(fl_attr_table[a].key, reserved[r]);
    for (int b = 0; b < a; b++) assert_string_not_equal(fl_attr_table[a].key, fl_attr_table[b].key);
  }
  for (int i = 0; i < FL_N_EVENTS; i++)
    assert_int_equal(fl_event_from_name(fl_event_table[i].name), i);
}

static void test_control_lines(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(fl_control_write(fds[1], FL_CONTROL_GO, 7), 0);
  assert_int_equal(fl_control_write(fds[1], FL_CONTROL_FIRE, 12), 0);
  assert_int_equal(fl_control_write(fds[1], FL_CONTROL_SYNC, 1), 0);
  char buf[64] = {0};
  assert_true(read(fds[0], buf, sizeof buf - 1) > 0);
  assert_string_equal(buf, "go 7\nfire 12\nsync 1\n");
  close(fds[0]);
  close(fds[1]);
  fl_control_verb verb;
  uint64_t n;
  assert_int_equal(fl_control_parse("go 7", &verb, &n), 0);
  assert_int_equal(verb, FL_CONTROL_GO);
  assert_int_equal(n, 7);
  assert_int_equal(fl_control_parse("fire 12", &verb, &n), 0);
  assert_int_equal(verb, FL_CONTROL_FIRE);
  assert_int_equal(n, 12);
  assert_int_equal(fl_control_parse("sync 3", &verb, &n), 0);
  assert_int_equal(verb, FL_CONTROL_SYNC);
  assert_int_equal(n, 3);
  assert_int_equal(fl_control_parse("go", &verb, &n), -1);
  assert_int_equal(fl_control_parse("gone 1", &verb, &n), -1);
  assert_int_equal(fl_control_parse("go -1", &verb, &n), -1);
  assert_int_equal(fl_control_parse("go 1x", &verb, &n), -1);
  assert_int_equal(fl_control_parse("stop 1", &verb, &n), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_event_round_trips),
      cmocka_unit_test(test_table_violations_are_caught),
      cmocka_unit_test(test_too_long_is_refused),
      cmocka_unit_test(test_attribute_keys),
      cmocka_unit_test(test_control_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
