/* Unit tests for the predicate language (harness/predicate.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "predicate.h"

/* ---- parsing ---------------------------------------------------------------------------- */

static void test_parse_good(void **state) {
  (void)state;
  static const struct {
    const char *text, *field;
    fl_scope scope;
  } cases[] = {
      {"client.status == DEADLINE_EXCEEDED", "client.status", FL_SCOPE_CLIENT},
      {"client.status==OK", "client.status", FL_SCOPE_CLIENT},
      {"server.status != 5", "server.status", FL_SCOPE_SERVER},
      {"  client.recv == 4  ", "client.recv", FL_SCOPE_CLIENT},
      {"server.cancelled == true", "server.cancelled", FL_SCOPE_SERVER},
      {"client.close_send.completed == false", "client.close_send.completed", FL_SCOPE_CLIENT},
      {"client.duration < 1500ms", "client.duration", FL_SCOPE_CLIENT},
      {"elapsed <= 2m", "elapsed", FL_SCOPE_GLOBAL},
      {"outcome == hang", "outcome", FL_SCOPE_GLOBAL},
      {"hang == outcome", "outcome", FL_SCOPE_GLOBAL},
      {"5 <= server.sent", "server.sent", FL_SCOPE_SERVER},
      {"client.sent_bytes >= 16KiB", "client.sent_bytes", FL_SCOPE_CLIENT},
      {"client.recv_bytes > 1000", "client.recv_bytes", FL_SCOPE_CLIENT},
      {"client.message == \"tab\\there \\\"q\\\" \\\\ \\n \\r é\"", "client.message",
       FL_SCOPE_CLIENT},
      {"\"x\" != server.message", "server.message", FL_SCOPE_SERVER},
      {"client.exit_code == -1", "client.exit_code", FL_SCOPE_CLIENT},
      {"server.started == true", "server.started", FL_SCOPE_SERVER},
      {"client.recv_end == true", "client.recv_end", FL_SCOPE_CLIENT},
      {"server.decode_errors == 0", "server.decode_errors", FL_SCOPE_SERVER},
      {"server.half_closed == true", "server.half_closed", FL_SCOPE_SERVER},
      /* scenario capabilities */
      {"server.last_recv_hash == \"d99d4473f9f30ccc\"", "server.last_recv_hash", FL_SCOPE_SERVER},
      {"server.last_decode_error == \"truncated_varint\"", "server.last_decode_error",
       FL_SCOPE_SERVER},
      {"server.nulls_received == 15", "server.nulls_received", FL_SCOPE_SERVER},
      {"server.send.max_pending >= 1500ms", "server.send.max_pending", FL_SCOPE_SERVER},
      {"server.send.bytes_before_stall <= 200KiB", "server.send.bytes_before_stall",
       FL_SCOPE_SERVER},
      {"client.close_send.pending == true", "client.close_send.pending", FL_SCOPE_CLIENT},
      {"client.close_send.pending_for >= 400ms", "client.close_send.pending_for", FL_SCOPE_CLIENT},
      {"server.shutdown.done == false", "server.shutdown.done", FL_SCOPE_SERVER},
      {"server.cancel_latency < 500ms", "server.cancel_latency", FL_SCOPE_SERVER},
      {"client.calls_ok == 1000", "client.calls_ok", FL_SCOPE_CLIENT},
      {"client.recv_limit == 1MiB", "client.recv_limit", FL_SCOPE_CLIENT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fl_predicate *p = NULL;
    char err[256] = "";
    int col = -1;
    int rc = fl_predicate_parse(cases[i].text, &p, err, sizeof err, &col);
    if (rc != 0) print_error("case '%s': %s\n", cases[i].text, err);
    assert_int_equal(rc, 0);
    assert_non_null(p);
    assert_string_equal(fl_predicate_field_text(p), cases[i].field);
    assert_int_equal(fl_predicate_scope(p), cases[i].scope);
    assert_non_null(fl_predicate_field(p));
    fl_predicate_free(p);
  }
}

static void test_parse_errors(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int col;
    const char *msg;
  } cases[] = {
      {"", 0, "empty predicate"},
      {"   ", 3, "empty predicate"},
      {"client.stauts == OK", 0, "unknown field 'client.stauts'; did you mean 'client.status'?"},
      {"clinet.status == OK", 0, "did you mean 'client.status'?"},
      {"outcom == hang", 0, "unknown field 'outcom'; did you mean 'outcome'?"},
      {"client.bogus == 1", 0, "unknown field 'client.bogus'; fields are"},
      {"server.outcome == hang", 0, "belongs to the whole run"},
      {"outcome == hnag", 11, "unknown outcome 'hnag'; did you mean 'hang'?"},
      {"outcome == sideways", 11, "expected completed, hang, timeout, crash, interrupted or busy"},
      {"client.duration < 1500", 18, "has no unit"},
      {"client.duration < soon", 18, "expected e.g. 250ms"},
      {"client.status < OK", 14, "compare it with == or !="},
      {"server.cancelled >= true", 17, "compare it with == or !="},
      {"client.message > \"a\"", 15, "compare it with == or !="},
      {"outcome < hang", 8, "compare it with == or !="},
      {"client.status == DEADLINE_EXCEDED", 17, "did you mean 'DEADLINE_EXCEEDED'?"},
      {"client.status == deadline_exceeded", 17, "did you mean 'DEADLINE_EXCEEDED'?"},
      {"client.status == 17", 17, "status codes run from 0 (OK) to 16"},
      {"client.status == WHATEVER_THIS_IS", 17, "expected a name like OK"},
      {"client.status == 3s", 17, "expected a name like OK"},
      {"server.cancelled == True", 20, "did you mean 'true'?"},
      {"server.cancelled == 1", 20, "is true or false, not '1'"},
      {"client.sent == 1.5", 15, "is a count; expected an integer"},
      {"client.sent == \"5\"", 15, "is a count, not a string"},
      {"client.sent_bytes >= 16Kb", 21, "is a size"},
      {"client.message == hello", 18, "write the value in double quotes"},
      {"client.message == \"open", 18, "unterminated string"},
      {"client.message == \"bad \\q\"", 23, "unknown escape '\\q'"},
      {"client.message == \"ends in \\", 18, "unterminated string"},
      {"client.message == \"\xff\"", 19, "not valid UTF-8"},
      {"client.sent = 5", 12, "unknown operator '='; did you mean '=='?"},
      {"client.sent => 5", 12, "did you mean '>='?"},
      {"client.sent <> 5", 12, "did you mean '!='?"},
      {"client.sent !== 5", 12, "expected ==, !=, <, <=, > or >="},
      {"client.sent", 11, "expected an operator"},
      {"client.sent 5", 12,
       "expected an operator (==, !=, <, <=, >, >=, contains, matches) after 'client.sent', not "
       "'5'"},
      {"client.sent >= ", 15, "expected a value after '>='"},
      {"client.sent >= >= 5", 15, "not another operator"},
      {"== 5", 0, "expected a field like client.status before '=='"},
      {"client.sent == 5 extra", 17, "unexpected 'extra' after the comparison"},
      {"client.sent == 5 && client.recv == 1", 17, "unexpected '&&'"},
      {"client.sent == client.recv", 15, "are both fields"},
      {"client.send.pendng == true", 0, "did you mean 'client.send.pending'?"},
      {"client.send.pending == 1", 23, "is true or false, not '1'"},
      {"client.last_sent_hash == abc", 25, "write the value in double quotes"},
      {"client.last_sent_hash < \"abc\"", 22, "compare it with == or !="},
      {"server.send.max_pending >= 2", 27, "has no unit"},
      {"server.shutdown.forced == yes", 26, "is true or false, not 'yes'"},
      {"4 == 5", 0, "neither '4' nor '5' is a field"},
      /* Columns count characters, not bytes: "é" is two bytes, one column. */
      {"client.message == \"é\" x", 22, "unexpected 'x'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fl_predicate *p = (fl_predicate *)&p; /* must be reset to NULL on error */
    char err[512] = "";
    int col = -1;
    int rc = fl_predicate_parse(cases[i].text, &p, err, sizeof err, &col);
    if (rc != -1 || col != cases[i].col || !strstr(err, cases[i].msg))
      print_error("case '%s': rc %d col %d (want %d) msg '%s' (want '%s')\n", cases[i].text, rc,
                  col, cases[i].col, err, cases[i].msg);
    assert_int_equal(rc, -1);
    assert_null(p);
    assert_int_equal(col, cases[i].col);
    assert_non_null(strstr(err, cases[i].msg));
  }
}

static void test_parse_small_errbuf(void **state) {
  (void)state;
  fl_predicate *p;
  char err[8];
  int col = -1;
  assert_int_equal(fl_predicate_parse("client.x == 1", &p, err, sizeof err, &col), -1);
  assert_int_equal(strlen(err), sizeof err - 1); /* truncated, still terminated */
  /* errbuf and errcol are optional */
  assert_int_equal(fl_predicate_parse("client.x == 1", &p, NULL, 0, NULL), -1);
}

/* ---- eval ------------------------------------------------------------------------------- */

typedef struct {
  int64_t client_sent, server_sent;
  bool have_status;
  int status;
  const char *message;
  bool cancelled;
  int64_t duration_ns, sent_bytes;
  int outcome;
  bool finished;
  int calls;
} fake_run;

static bool fake_lookup(void *ctx, fl_scope scope, const fl_field_info *f, fl_value *v) {
  fake_run *r = ctx;
  r->calls++;
  v->known = true;
  v->s = NULL;
  if (!strcmp(f->name, "sent"))
    v->i = scope == FL_SCOPE_SERVER ? r->server_sent : r->client_sent;
  else if (!strcmp(f->name, "status"))
    v->known = r->have_status, v->i = r->status;
  else if (!strcmp(f->name, "message"))
    v->known = r->have_status, v->s = r->message;
  else if (!strcmp(f->name, "cancelled"))
    v->i = r->cancelled;
  else if (!strcmp(f->name, "duration"))
    v->i = r->duration_ns;
  else if (!strcmp(f->name, "sent_bytes"))
    v->i = r->sent_bytes;
  else if (!strcmp(f->name, "outcome"))
    v->known = r->finished, v->i = r->outcome;
  else
    return false;
  return true;
}

static bool eval(const char *text, fake_run *r, fl_value *seen) {
  fl_predicate *p;
  char err[256];
  int col;
  if (fl_predicate_parse(text, &p, err, sizeof err, &col) != 0) fail_msg("%s: %s", text, err);
  bool ok = fl_predicate_eval(p, fake_lookup, r, seen);
  fl_predicate_free(p);
  return ok;
}

static void test_eval_int(void **state) {
  (void)state;
  fake_run r = {.client_sent = 5, .server_sent = 2};
  assert_true(eval("client.sent == 5", &r, NULL));
  assert_false(eval("client.sent != 5", &r, NULL));
  assert_true(eval("client.sent >= 5", &r, NULL));
  assert_false(eval("client.sent > 5", &r, NULL));
  assert_true(eval("client.sent <= 5", &r, NULL));
  assert_false(eval("client.sent < 5", &r, NULL));
  assert_true(eval("server.sent < 5", &r, NULL));
  /* the literal on the left flips the comparison */
  assert_true(eval("3 > server.sent", &r, NULL));
  assert_false(eval("3 < server.sent", &r, NULL));
  assert_true(eval("5 <= client.sent", &r, NULL));
  fl_value seen;
  assert_false(eval("server.sent >= 3", &r, &seen));
  assert_true(seen.known);
  assert_int_equal(seen.type, FL_VAL_INT);
  assert_int_equal(seen.i, 2);
}

static void test_eval_duration_size(void **state) {
  (void)state;
  fake_run r = {.duration_ns = INT64_C(1200000000), .sent_bytes = 16384};
  assert_true(eval("client.duration < 1500ms", &r, NULL));
  assert_true(eval("client.duration > 1s", &r, NULL));
  assert_true(eval("client.duration == 1.2s", &r, NULL));
  assert_false(eval("client.duration >= 2s", &r, NULL));
  assert_true(eval("client.sent_bytes == 16KiB", &r, NULL));
  assert_true(eval("client.sent_bytes == 16384", &r, NULL));
  assert_true(eval("client.sent_bytes > 16KB", &r, NULL)); /* 16000 */
  assert_false(eval("client.sent_bytes > 1MiB", &r, NULL));
}

static void test_eval_status_string_bool_outcome(void **state) {
  (void)state;
  fake_run r = {.have_status = true,
                .status = 4,
                .message = "Deadline\tExceeded é",
                .cancelled = true,
                .finished = true,
                .outcome = FL_OUTCOME_HANG};
  assert_true(eval("client.status == DEADLINE_EXCEEDED", &r, NULL));
  assert_true(eval("client.status == 4", &r, NULL));
  assert_true(eval("client.status != OK", &r, NULL));
  assert_true(eval("client.message == \"Deadline\\tExceeded é\"", &r, NULL));
  assert_false(eval("client.message == \"Deadline\"", &r, NULL));
  assert_true(eval("client.message != \"Deadline\"", &r, NULL));
  assert_true(eval("server.cancelled == true", &r, NULL));
  assert_false(eval("server.cancelled != true", &r, NULL));
  assert_true(eval("outcome == hang", &r, NULL));
  assert_false(eval("outcome == completed", &r, NULL));
  assert_true(eval("outcome != timeout", &r, NULL));
}

static void test_eval_unknown_is_false(void **state) {
  (void)state;
  fake_run r = {.have_status = false};
  fl_value seen = {.known = true};
  /* Neither == nor != holds for a value the run never produced. */
  assert_false(eval("client.status == OK", &r, &seen));
  assert_false(seen.known);
  assert_int_equal(seen.type, FL_VAL_STATUS);
  assert_false(eval("client.status != OK", &r, NULL));
  assert_false(eval("client.message != \"x\"", &r, NULL));
  assert_false(eval("outcome != hang", &r, NULL));
  /* a lookup that does not know the field at all */
  assert_false(eval("client.recv_end == false", &r, &seen));
  assert_false(seen.known);
  assert_int_equal(r.calls, 5);
}

static void test_eval_known_string_without_text(void **state) {
  (void)state;
  /* A status that came with no message reads as the empty string. */
  fake_run r = {.have_status = true, .message = NULL};
  assert_true(eval("client.message == \"\"", &r, NULL));
}

/* ---- format ----------------------------------------------------------------------------- */

static const char *fmt(fl_value_type t, int64_t i) {
  static char buf[64];
  fl_value v = {.type = t, .known = true, .i = i};
  return fl_value_format(&v, buf, sizeof buf);
}

static void test_format(void **state) {
  (void)state;
  assert_string_equal(fmt(FL_VAL_DURATION, INT64_C(1500000000)), "1.50s");
  assert_string_equal(fmt(FL_VAL_DURATION, INT64_C(3000000000)), "3.00s");
  assert_string_equal(fmt(FL_VAL_DURATION, 250000000), "250ms");
  assert_string_equal(fmt(FL_VAL_DURATION, 1500000), "1.50ms");
  assert_string_equal(fmt(FL_VAL_DURATION, 12000), "12us");
  assert_string_equal(fmt(FL_VAL_DURATION, 999), "999ns");
  assert_string_equal(fmt(FL_VAL_DURATION, 0), "0s");
  assert_string_equal(fmt(FL_VAL_SIZE, 16384), "16KiB");
  assert_string_equal(fmt(FL_VAL_SIZE, 4 << 20), "4MiB");
  assert_string_equal(fmt(FL_VAL_SIZE, INT64_C(1) << 30), "1GiB");
  assert_string_equal(fmt(FL_VAL_SIZE, 64000), "64000B");
  assert_string_equal(fmt(FL_VAL_SIZE, 0), "0B");
  assert_string_equal(fmt(FL_VAL_SIZE, 1536), "1536B");
  assert_string_equal(fmt(FL_VAL_INT, -3), "-3");
  assert_string_equal(fmt(FL_VAL_BOOL, 1), "true");
  assert_string_equal(fmt(FL_VAL_BOOL, 0), "false");
  assert_string_equal(fmt(FL_VAL_STATUS, 4), "DEADLINE_EXCEEDED");
  assert_string_equal(fmt(FL_VAL_STATUS, 16), "UNAUTHENTICATED");
  assert_string_equal(fmt(FL_VAL_STATUS, 99), "99");
  assert_string_equal(fmt(FL_VAL_OUTCOME, FL_OUTCOME_INTERRUPTED), "interrupted");

  char buf[64];
  fl_value s = {.type = FL_VAL_STRING, .known = true, .s = "a\"b\\c\n\t\r é"};
  assert_string_equal(fl_value_format(&s, buf, sizeof buf), "\"a\\\"b\\\\c\\n\\t\\r é\"");
  fl_value none = {.type = FL_VAL_STATUS, .known = false};
  assert_string_equal(fl_value_format(&none, buf, sizeof buf), "(none)");

  /* A short buffer truncates the string but keeps it quoted and terminated. */
  char small[6];
  fl_value longer = {.type = FL_VAL_STRING, .known = true, .s = "abcdefgh"};
  assert_string_equal(fl_value_format(&longer, small, sizeof small), "\"abc\"");
}

/* A formatted value reads back as the same literal. */
static void test_format_round_trip(void **state) {
  (void)state;
  fake_run r = {
      .duration_ns = 250000000, .sent_bytes = 4 << 20, .have_status = true, .message = "x\"y\n"};
  char text[128], buf[64];
  fl_value v = {.type = FL_VAL_DURATION, .known = true, .i = r.duration_ns};
  snprintf(text, sizeof text, "client.duration == %s", fl_value_format(&v, buf, sizeof buf));
  assert_true(eval(text, &r, NULL));
  v = (fl_value){.type = FL_VAL_SIZE, .known = true, .i = r.sent_bytes};
  snprintf(text, sizeof text, "client.sent_bytes == %s", fl_value_format(&v, buf, sizeof buf));
  assert_true(eval(text, &r, NULL));
  v = (fl_value){.type = FL_VAL_STRING, .known = true, .s = r.message};
  snprintf(text, sizeof text, "client.message == %s", fl_value_format(&v, buf, sizeof buf));
  assert_true(eval(text, &r, NULL));
}

/* ---- literals --------------------------------------------------------------------------- */

static void test_parse_duration(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int64_t ns;
  } good[] = {
      {"250ms", 250000000},
      {"1.5s", 1500000000},
      {"2m", INT64_C(120000000000)},
      {"1h", INT64_C(3600000000000)},
      {"100us", 100000},
      {"100\xc2\xb5s", 100000},
      {"10ns", 10},
      {"0s", 0},
      {"0.5ms", 500000},
      {"1.500000000000s", 1500000000},
      {"0.000000001s", 1},
      {"9223372036854775807ns", INT64_MAX},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    int64_t ns = -1;
    if (fl_parse_duration(good[i].s, &ns) != 0) fail_msg("'%s' did not parse", good[i].s);
    assert_int_equal(ns, good[i].ns);
  }
  static const char *const bad[] = {
      "",
      "250",
      "ms",
      "1.5ns",
      "1.s",
      ".5s",
      "-1s",
      "+1s",
      "1 s",
      "1S",
      "1sec",
      "1ms ",
      "1e3s",
      "2d",
      "1..5s",
      "0.0000000001s",
      "99999999999999999999.5ns",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t ns = 42;
    if (fl_parse_duration(bad[i], &ns) != -1)
      fail_msg("'%s' parsed as %lld", bad[i], (long long)ns);
  }
  /* Well formed but beyond int64: -2, so that a scenario error can say "at most". */
  static const char *const too_large[] = {
      "9223372036854775808ns", "9999999999999h", "99999999999999999999999s",
      "2562047.8h", /* 9.22e18 ns and a bit: the fraction pushes it over */
  };
  for (size_t i = 0; i < sizeof too_large / sizeof too_large[0]; i++) {
    int64_t ns = 42;
    if (fl_parse_duration(too_large[i], &ns) != -2)
      fail_msg("'%s' did not come back as too large (%lld)", too_large[i], (long long)ns);
  }
  int64_t ns;
  assert_int_equal(fl_parse_duration(NULL, &ns), -1);
}

static void test_parse_size(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int64_t b;
  } good[] = {
      {"100", 100},
      {"100B", 100},
      {"0", 0},
      {"16KiB", 16384},
      {"4MiB", 4 << 20},
      {"1GiB", INT64_C(1) << 30},
      {"2TiB", INT64_C(2) << 40},
      {"64KB", 64000},
      {"64kB", 64000},
      {"3MB", 3000000},
      {"1GB", 1000000000},
      {"1.5KiB", 1536},
      {"0.5MB", 500000},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    int64_t b = -1;
    if (fl_parse_size(good[i].s, &b) != 0) fail_msg("'%s' did not parse", good[i].s);
    assert_int_equal(b, good[i].b);
  }
  static const char *const bad[] = {
      "", "B", "1.5", "1.5B", "16K", "16kib", "16 KiB", "-1", "1.0001KiB", "16KiBs", "1e3",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t b = 42;
    if (fl_parse_size(bad[i], &b) != -1) fail_msg("'%s' parsed as %lld", bad[i], (long long)b);
  }
  int64_t b;
  assert_int_equal(fl_parse_size("99999999999999999999", &b), -2);
  assert_int_equal(fl_parse_size("9000000TiB", &b), -2);
  assert_int_equal(fl_parse_size("8388607TiB", &b), 0); /* the last whole TiB below 2^63 */
}

/* ---- names ------------------------------------------------------------------------------ */

static void test_names(void **state) {
  (void)state;
  assert_string_equal(fl_status_name(0), "OK");
  assert_string_equal(fl_status_name(4), "DEADLINE_EXCEEDED");
  assert_string_equal(fl_status_name(16), "UNAUTHENTICATED");
  assert_non_null(fl_status_name(-1));
  assert_non_null(fl_status_name(17));
  for (int i = 0; i <= 16; i++) assert_int_equal(fl_status_from_name(fl_status_name(i)), i);
  assert_int_equal(fl_status_from_name("ok"), -1);
  assert_int_equal(fl_status_from_name("NOPE"), -1);
  assert_string_equal(fl_outcome_name(FL_OUTCOME_COMPLETED), "completed");
  assert_string_equal(fl_outcome_name(FL_OUTCOME_TIMEOUT), "timeout");
  assert_string_equal(fl_outcome_name(FL_OUTCOME_CRASH), "crash");
  assert_non_null(fl_outcome_name((fl_outcome)42));
}

static void test_field_table(void **state) {
  (void)state;
  static const char *const required[] = {
      "sent",
      "recv",
      "sent_bytes",
      "recv_bytes",
      "status",
      "message",
      "cancelled",
      "half_closed",
      "close_send.completed",
      "duration",
      "exit_code",
      "started",
      "recv_end",
      "decode_errors",
      "last_decode_error",
      "invalid_utf8",
      "fields_received",
      "nulls_received",
      "nulls_sent",
      "last_sent_hash",
      "last_recv_hash",
      "largest_send",
      "recv_limit",
      "send.pending",
      "send.max_pending",
      "send.bytes_before_stall",
      "send.failed",
      "close_send.issued",
      "close_send.pending",
      "close_send.pending_for",
      "reading_stopped",
      "cancel_latency",
      "shutdown.started",
      "shutdown.done",
      "shutdown.forced",
      "shutdown.duration",
      "calls",
      "calls_ok",
      "outcome",
      "elapsed",
      NULL,
  };
  for (const char *const *r = required; *r; r++) {
    bool run = !strcmp(*r, "outcome") || !strcmp(*r, "elapsed");
    const fl_field_info *f = fl_field_find(run ? FL_CLASS_RUN : FL_CLASS_PEER, *r, strlen(*r));
    if (!f) fail_msg("field '%s' is missing", *r);
    assert_non_null(f->doc);
    assert_true(strlen(f->doc) > 0);
  }
  /* The table is indexed by id, every row has a doc, and names are unique in their class. */
  for (int i = 0; i < FL_N_FIELDS; i++) {
    assert_int_equal(fl_fields[i].id, i);
    assert_non_null(fl_fields[i].name);
    assert_true(strlen(fl_fields[i].doc) > 0);
    for (int k = 0; k < i; k++)
      if (fl_fields[k].cls == fl_fields[i].cls && !strcmp(fl_fields[k].name, fl_fields[i].name))
        fail_msg("field '%s' is defined twice", fl_fields[i].name);
  }
}

static void test_near_miss(void **state) {
  (void)state;
  assert_int_equal(fl_edit_distance("status", "status"), 0);
  assert_int_equal(fl_edit_distance("stauts", "status"), 1); /* a transposition */
  assert_int_equal(fl_edit_distance("dedline", "deadline"), 1);
  assert_int_equal(fl_edit_distance("OK", "ok"), 0);
  assert_int_equal(fl_edit_distance("", "abc"), 3);
  static const char *const keys[] = {"deadline", "timeout", "rpc", NULL};
  assert_string_equal(fl_near_miss("dedline", keys), "deadline");
  assert_string_equal(fl_near_miss("timout", keys), "timeout");
  assert_null(fl_near_miss("nothing", keys));
  assert_null(fl_near_miss("x", keys)); /* 'rpc' is 3 away, and would be no real hint */
  assert_string_equal(fl_near_miss("rcp", keys), "rpc");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_good),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_parse_small_errbuf),
      cmocka_unit_test(test_eval_int),
      cmocka_unit_test(test_eval_duration_size),
      cmocka_unit_test(test_eval_status_string_bool_outcome),
      cmocka_unit_test(test_eval_unknown_is_false),
      cmocka_unit_test(test_eval_known_string_without_text),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_format_round_trip),
      cmocka_unit_test(test_parse_duration),
      cmocka_unit_test(test_parse_size),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_field_table),
      cmocka_unit_test(test_near_miss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
