/*
 * Unit tests for the observation model (harness/observe/observe.h), driven by canned event
 * lines as a peer would write them: the way curl's declarative test files drive its runner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "observe.h"

#define T0 1000000000000LL /* the run's start on the shared clock */
#define MS 1000000LL

typedef struct {
  fl_scenario *s;
  fl_observe *o;
} fixture;

static fixture make(const char *yaml, bool shared) {
  fixture f;
  fl_error err;
  if (fl_scenario_parse("canned.yaml", yaml, strlen(yaml), &f.s, &err) != 0)
    fail_msg("canned scenario: %s", err.msg);
  fl_observe_config cfg = {.scenario = f.s, .clock_shared = {shared, shared}, .t0_ns = T0};
  f.o = fl_observe_new(&cfg);
  assert_non_null(f.o);
  return f;
}

static void done(fixture *f) {
  fl_observe_free(f->o);
  fl_scenario_free(f->s);
}

/* Feeds one line "SOURCE STAMP_MS NAME k=v..." (stamp in ms after T0), arriving at `arrival_ms`;
 * SOURCE is server, client or proxy. Returns the time the model placed it at. */
static int64_t feed_at(fixture *f, double arrival_ms, const char *text) {
  char source[16], name_and_attrs[1024];
  double stamp_ms;
  if (sscanf(text, "%15s %lf %1023[^\n]", source, &stamp_ms, name_and_attrs) != 3)
    fail_msg("bad canned line: %s", text);
  unsigned from = !strcmp(source, "server")   ? FL_FROM_SERVER
                  : !strcmp(source, "client") ? FL_FROM_CLIENT
                                              : FL_FROM_PROXY;
  char line[1200];
  snprintf(line, sizeof line, "%lld %s", (long long)(T0 + (int64_t)(stamp_ms * MS)),
           name_and_attrs);
  fl_event ev;
  char err[256];
  if (fl_event_parse(line, from, &ev, err, sizeof err) != 0) fail_msg("%s: %s", text, err);
  int64_t arrival = (int64_t)(arrival_ms * MS);
  fl_observe_set_now(f->o, arrival);
  return fl_observe_event(f->o, from, &ev, arrival);
}

/* The usual case: the event arrives 0.1 ms after its stamp. */
static int64_t feed(fixture *f, const char *text) {
  double stamp;
  char source[16];
  sscanf(text, "%15s %lf", source, &stamp);
  return feed_at(f, stamp + 0.1, text);
}

static fl_value get(fixture *f, const char *field) {
  fl_predicate *p;
  char text[160], err[256];
  int col;
  snprintf(text, sizeof text, "%s == 0", field);
  /* Any literal of the right type will do to name the field; build the clause by type. */
  if (fl_predicate_parse(text, &p, err, sizeof err, &col) != 0) {
    snprintf(text, sizeof text, "%s == true", field);
    if (fl_predicate_parse(text, &p, err, sizeof err, &col) != 0) {
      snprintf(text, sizeof text, "%s == \"\"", field);
      if (fl_predicate_parse(text, &p, err, sizeof err, &col) != 0) {
        snprintf(text, sizeof text, "%s == completed", field);
        if (fl_predicate_parse(text, &p, err, sizeof err, &col) != 0) {
          snprintf(text, sizeof text, "%s == NO_ERROR", field);
          if (fl_predicate_parse(text, &p, err, sizeof err, &col) != 0)
            fail_msg("cannot name field %s: %s", field, err);
        }
      }
    }
  }
  fl_value v;
  fl_predicate_eval(p, fl_observe_lookup, f->o, &v);
  fl_predicate_free(p);
  return v;
}

static bool holds(fixture *f, const char *clause) {
  fl_predicate *p;
  char err[256];
  int col;
  if (fl_predicate_parse(clause, &p, err, sizeof err, &col) != 0) fail_msg("%s: %s", clause, err);
  bool r = fl_predicate_eval(p, fl_observe_lookup, f->o, NULL);
  fl_predicate_free(p);
  return r;
}

static const char bidi[] = "name: canned\n"
                           "deadline: 100ms\n"
                           "server:\n"
                           "  script:\n"
                           "    - recv: 1\n"
                           "    - sleep: 50ms\n"
                           "    - status: { code: UNKNOWN, message: boom }\n"
                           "client:\n"
                           "  script:\n"
                           "    - send: { count: 2, interval: 30ms }\n"
                           "    - wait: server.sent >= 1\n"
                           "    - recv: all\n";

/* A whole run of both sides, the wire and the process facts: every field of the table is
 * resolved to a known value for at least one side. A new field without a canned source here
 * fails this test, so each one is exercised at least once. */
static void test_every_field_resolves(void **state) {
  (void)state;
  fixture f = make(bidi, true);
  fl_observe_spawned(f.o, FL_SIDE_SERVER, 100);
  feed(&f, "server 1 ready port=4000 recv_limit=4194304");
  fl_observe_spawned(f.o, FL_SIDE_CLIENT, 101);
  feed(&f, "client 2 ready recv_limit=1048576");
  feed(&f, "client 3 call_start method=/faultline.Test/Bidi deadline_at=1000103000000");
  feed(&f, "server 3.5 call_start method=/faultline.Test/Bidi");
  feed(&f, "server 3.6 headers metadata=x-user%3Dalice");
  feed(&f, "client 3.7 headers");
  feed(&f, "client 3.8 close_channel channel=1");
  fl_observe_sample(f.o, FL_SIDE_CLIENT, 4 * MS, 1000, 5, 9, 0, true);
  fl_observe_sample(f.o, FL_SIDE_SERVER, 4 * MS, 2000, 6, 10, 0, true);
  feed(&f, "client 4 step index=0 name=send");
  feed(&f, "client 4.1 op_start op=send bytes=120");
  feed(&f, "client 5 op_done op=send ok=1 us=900");
  feed(&f, "client 5 sent n=1 bytes=120 hash=00000000000000aa nulls=2");
  feed(&f, "server 6 recv n=1 bytes=120 decoded=1 error=invalid_utf8 fields=7 nulls=2 "
           "hash=00000000000000aa");
  feed(&f, "server 6.5 recv n=2 bytes=3 decoded=0 error=truncated_varint hash=00000000000000bb");
  feed(&f, "client 7 stop_reading");
  feed(&f, "client 8 op_start op=close_send");
  feed(&f, "client 9 op_done op=close_send ok=1 us=1000");
  feed(&f, "client 9 half_close");
  feed(&f, "server 10 op_start op=send bytes=64");
  feed(&f, "server 11 op_done op=send ok=0 us=500");
  feed(&f, "server 12 shutdown_start mode=graceful deadline_ms=10");
  feed(&f, "server 13 shutdown_cancel reason=deadline");
  feed(&f, "server 14 shutdown_done after_ms=2");
  feed(&f, "client 15 cancel");
  feed(&f, "server 16 cancelled value=1");
  feed(&f, "client 17 recv_end");
  feed(&f, "client 18 status code=1 message=Cancelled%20by%20client");
  feed(&f, "server 18.5 status code=2 message=boom");
  feed(&f, "proxy 19 conn_open conn=1");
  feed(&f, "proxy 20 frame conn=1 from=server type=data stream=1 len=100 flags=1 window=0");
  feed(&f, "proxy 21 frame conn=1 from=server type=rst_stream stream=1 len=4 code=8");
  feed(&f, "proxy 22 frame conn=1 from=server type=goaway stream=0 len=20 code=0 "
           "last_stream_id=1 debug=draining");
  feed(&f, "proxy 23 frame conn=1 from=server type=headers stream=1 len=20 flags=5 "
           "grpc_status=2");
  feed(&f, "proxy 24 frame conn=1 from=client type=window_update stream=1 len=4 increment=9");
  feed(&f, "proxy 25 frame conn=1 from=server type=data stream=1 len=1 window=10");
  fl_observed_frame ping = {.t_ns = 26 * MS, .from = FL_SIDE_CLIENT, .conn = 1, .type = FL_H2_PING};
  fl_observe_frame(f.o, &ping);
  fl_observed_frame settings = {
      .t_ns = 27 * MS, .from = FL_SIDE_CLIENT, .conn = 1, .type = FL_H2_SETTINGS};
  fl_observe_frame(f.o, &settings);
  fl_observe_socket(f.o, FL_SIDE_SERVER, 4096, 512);
  fl_observe_exited(f.o, FL_SIDE_CLIENT, 0, 0, 3000);
  fl_observe_exited(f.o, FL_SIDE_SERVER, 0, 0, 4000);
  fl_observe_capture(f.o, true, 42, 0);
  fl_observe_end(f.o, FL_END_FINISHED, 30 * MS);

  for (int i = 0; i < FL_N_FIELDS; i++) {
    const fl_field_info *fi = &fl_fields[i];
    bool known = false;
    for (fl_scope sc = FL_SCOPE_GLOBAL; sc <= FL_SCOPE_CLIENT; sc++) {
      if ((fi->cls == FL_CLASS_RUN) != (sc == FL_SCOPE_GLOBAL)) continue;
      fl_value v = fl_observe_get(f.o, fi->id, sc);
      assert_int_equal(v.type, fi->type);
      known = known || v.known;
    }
    if (!known) fail_msg("field '%s' was never resolved to a value", fi->name);
  }
  /* A few values, to show the reduction is right and not merely known. */
  assert_true(holds(&f, "client.sent == 1"));
  assert_true(holds(&f, "server.recv == 2"));
  assert_true(holds(&f, "server.decode_errors == 1"));
  assert_true(holds(&f, "server.invalid_utf8 == 1"));
  assert_true(holds(&f, "server.last_decode_error == \"truncated_varint\""));
  assert_true(holds(&f, "client.message == \"Cancelled by client\""));
  assert_true(holds(&f, "client.message contains \"by\""));
  assert_true(holds(&f, "client.message matches \"^Cancel+ed\""));
  assert_true(holds(&f, "server.send.failed == 1"));
  assert_true(holds(&f, "server.cancel_latency == 1ms"));
  assert_true(holds(&f, "client.duration == 15ms"));
  assert_true(holds(&f, "server.shutdown.duration == 2ms"));
  assert_true(holds(&f, "wire.server.rst_stream == 1"));
  assert_true(holds(&f, "wire.server.rst_stream.code == CANCEL"));
  assert_true(holds(&f, "wire.server.goaway.debug == \"draining\""));
  assert_true(holds(&f, "wire.server.trailers.status == UNKNOWN"));
  assert_true(holds(&f, "wire.server.window.zero_for == 5ms"));
  assert_true(holds(&f, "wire.client.window_update == 1"));
  assert_true(holds(&f, "wire.connections == 1"));
  assert_true(holds(&f, "client.rss_growth == 0"));
  assert_true(holds(&f, "server.peak_rss == 4000KiB"));
  assert_true(holds(&f, "capture.packets == 42"));
  assert_true(holds(&f, "outcome == completed"));
  done(&f);
}

/* When the deadline ends a call, what the client reports from then on counts as failed. */
static void test_deadline_rule(void **state) {
  (void)state;
  fixture f = make(bidi, true);
  /* deadline_at = T0 + 100 ms on the peer's clock */
  feed(&f, "client 1 call_start method=/faultline.Test/Bidi deadline_at=1000100000000");
  feed(&f, "client 2 op_start op=send bytes=10");
  feed(&f, "client 3 op_done op=send ok=1 us=10");
  feed(&f, "client 3 sent n=1 bytes=10 hash=0000000000000001 nulls=0");
  feed(&f, "client 4 op_start op=send bytes=1048576");
  feed(&f, "client 5 op_start op=close_send");
  /* C core completes the stalled send and the queued close at the deadline, with success. */
  feed(&f, "client 100 op_done op=send ok=1 us=96000");
  feed(&f, "client 100 sent n=2 bytes=1048576 hash=0000000000000002 nulls=0");
  feed(&f, "client 100 op_done op=close_send ok=1 us=95000");
  feed(&f, "client 100 half_close");
  feed(&f, "client 100.2 status code=4 message=Deadline%20Exceeded");
  assert_true(holds(&f, "client.sent == 1"));
  assert_true(holds(&f, "client.send.failed == 1"));
  assert_true(holds(&f, "client.half_closed == false"));
  assert_true(holds(&f, "client.close_send.completed == false"));
  assert_true(holds(&f, "client.status == DEADLINE_EXCEEDED"));
  assert_true(holds(&f, "client.send.max_pending == 96ms"));
  assert_true(holds(&f, "client.send.bytes_before_stall == 10"));
  done(&f);
}

/* A barrier is waited at, its predicate opens on the event that makes it true, and the model
 * says which barrier a side waits at. */
static void test_barrier_opens_on_event(void **state) {
  (void)state;
  fixture f = make(bidi, true);
  feed(&f, "client 1 call_start method=/faultline.Test/Bidi");
  feed(&f, "server 1 call_start method=/faultline.Test/Bidi");
  feed(&f, "client 2 step index=1 name=wait");
  feed(&f, "client 2 wait index=1 expr=server.sent%20%3E%3D%201");
  assert_int_equal(fl_observe_waiting_barrier(f.o, FL_SIDE_CLIENT), 1);
  assert_int_equal(fl_observe_waiting_barrier(f.o, FL_SIDE_SERVER), -1);
  const fl_predicate *barrier = f.s->client.steps[1].predicate;
  assert_false(fl_predicate_eval(barrier, fl_observe_lookup, f.o, NULL));
  feed(&f, "server 3 op_start op=send bytes=5");
  assert_false(fl_predicate_eval(barrier, fl_observe_lookup, f.o, NULL));
  feed(&f, "server 4 op_done op=send ok=1 us=3");
  feed(&f, "server 4 sent n=1 bytes=5 hash=0000000000000003 nulls=0");
  assert_true(fl_predicate_eval(barrier, fl_observe_lookup, f.o, NULL));
  feed(&f, "client 5 arrive index=1");
  assert_int_equal(fl_observe_waiting_barrier(f.o, FL_SIDE_CLIENT), -1);
  done(&f);
}

/* With streams: N, counts add up, ops are per call and the call is over when all are. */
static void test_streams_aggregate(void **state) {
  (void)state;
  fixture f = make("name: canned\nstreams: 3\nclient:\n  script:\n    - send: 1\n", true);
  for (int c = 1; c <= 3; c++) {
    char line[128];
    snprintf(line, sizeof line, "client %d call_start call=%d method=/faultline.Test/Bidi", c, c);
    feed(&f, line);
    snprintf(line, sizeof line, "client %d.5 op_start call=%d op=send bytes=10", c, c);
    feed(&f, line);
  }
  const fl_side_obs *st = fl_observe_side(f.o, FL_SIDE_CLIENT);
  assert_int_equal(st->n_calls, 3);
  for (int c = 0; c < 3; c++) assert_true(st->calls[c].ops[FL_OP_SEND].pending);
  feed(&f, "client 5 op_done call=2 op=send ok=1 us=10");
  assert_false(st->calls[1].ops[FL_OP_SEND].pending);
  assert_true(st->calls[0].ops[FL_OP_SEND].pending);
  assert_true(holds(&f, "client.send.pending == true"));
  feed(&f, "client 6 status call=1 code=0 message=");
  feed(&f, "client 7 status call=2 code=14 message=gone");
  assert_false(get(&f, "client.status").known); /* call 3 is still open */
  assert_true(fl_observe_call_open(f.o));
  feed(&f, "client 8 status call=3 code=0 message=");
  assert_true(holds(&f, "client.status == OK"));
  assert_true(holds(&f, "client.calls == 3"));
  assert_true(holds(&f, "client.calls_ok == 2"));
  assert_true(holds(&f, "client.calls_failed == 1"));
  assert_true(holds(&f, "client.status_count.UNAVAILABLE == 1"));
  assert_true(holds(&f, "client.status_count.OK == 2"));
  assert_true(holds(&f, "client.first_status == OK"));
  assert_true(holds(&f, "client.last_status == OK"));
  assert_false(fl_observe_call_open(f.o));
  done(&f);
}

/* Events are placed by the peers' own stamps when clocks are shared, whatever order they
 * arrive in; with a faked clock the arrival stamps place them. */
static void test_causal_order(void **state) {
  (void)state;
  fixture f = make(bidi, true);
  feed_at(&f, 5.0, "server 1 call_start method=/faultline.Test/Bidi");
  /* The server's `cancelled` (stamped 10.5) is read before the client's `cancel` (10.0). */
  int64_t t_cancelled = feed_at(&f, 10.6, "server 10.5 cancelled value=1");
  int64_t t_cancel = feed_at(&f, 10.9, "client 10.0 cancel");
  assert_true(t_cancel < t_cancelled);
  assert_int_equal(t_cancel, 10 * MS);
  assert_true(holds(&f, "server.cancel_latency == 500us"));
  done(&f);

  fixture g = make(bidi, false); /* faked clocks: the stamps mean nothing to the runner */
  feed_at(&g, 5.0, "server 999 call_start method=/faultline.Test/Bidi");
  assert_int_equal(feed_at(&g, 10.6, "server 999 cancelled value=1"), (int64_t)(10.6 * MS));
  assert_int_equal(feed_at(&g, 10.9, "client 0 cancel"), (int64_t)(10.9 * MS));
  done(&g);
}

/* The hang rule: a sleep step is a timer, not a hang; silence after it is. */
static void test_hang_rule(void **state) {
  (void)state;
  fixture f = make("name: canned\nhang_after: 1s\nserver:\n  script:\n    - sleep: 5s\n", true);
  assert_int_equal(fl_observe_hang_at(f.o), INT64_MAX); /* no call open */
  feed(&f, "server 10 call_start method=/faultline.Test/Bidi");
  feed(&f, "server 10 step index=0 name=sleep");
  fl_observe_set_now(f.o, 20 * MS);
  assert_int_equal(fl_observe_hang_at(f.o), 10 * MS + 5000 * MS); /* look again at its end */
  fl_observe_set_now(f.o, 6000 * MS);
  assert_int_equal(fl_observe_hang_at(f.o), 10 * MS + 5000 * MS + 1000 * MS);
  feed(&f, "server 6500 cancelled value=1");
  assert_int_equal(fl_observe_hang_at(f.o), INT64_MAX);
  done(&f);
}

static void test_outcome(void **state) {
  (void)state;
  fixture f = make(bidi, true);
  fl_observe_spawned(f.o, FL_SIDE_SERVER, 1);
  fl_observe_exited(f.o, FL_SIDE_SERVER, 0, 11, 100); /* SIGSEGV on its own */
  assert_int_equal(fl_observe_outcome(f.o), FL_OUTCOME_CRASH);
  fl_observe_end(f.o, FL_END_HANG, 10);
  assert_int_equal(fl_observe_outcome(f.o), FL_OUTCOME_HANG);
  assert_true(holds(&f, "server.exit_code == 0") == false); /* died of a signal: unknown */
  done(&f);

  fixture g = make(bidi, true);
  fl_observe_spawned(g.o, FL_SIDE_CLIENT, 2);
  fl_observe_ending(g.o, FL_SIDE_CLIENT);
  fl_observe_exited(g.o, FL_SIDE_CLIENT, 0, 15, 100); /* SIGTERM from the runner */
  fl_observe_end(g.o, FL_END_FINISHED, 10);
  assert_int_equal(fl_observe_outcome(g.o), FL_OUTCOME_COMPLETED);
  done(&g);
}

/* Without a wire source every wire field is unknown, never guessed as zero. */
static void test_wire_unknown_without_source(void **state) {
  (void)state;
  fixture f = make(bidi, true);
  assert_false(get(&f, "wire.server.data").known);
  assert_false(get(&f, "wire.connections").known);
  fl_observe_wire_source(f.o);
  assert_true(holds(&f, "wire.server.data == 0"));
  assert_false(get(&f, "wire.server.rst_stream.code").known);
  done(&f);
}

/* An external server: no events; its fields come from the wire, the rest stay unknown. */
static void test_external_side(void **state) {
  (void)state;
  fixture f = make("name: x\nrpc: bidi\nserver:\n  exec: [./s, \"{port}\"]\n", true);
  fl_observe_spawned(f.o, FL_SIDE_SERVER, 4242);
  fl_observe_external(f.o, FL_SIDE_SERVER);
  assert_false(get(&f, "server.status").known);
  assert_false(get(&f, "server.sent").known);
  fl_observe_ready(f.o, FL_SIDE_SERVER, 5000);
  assert_int_equal(fl_observe_side(f.o, FL_SIDE_SERVER)->port, 5000);
  feed(&f, "proxy 5 frame conn=1 from=server type=headers stream=1 len=10 flags=5 ordinal=1 "
           "grpc_status=5");
  assert_true(holds(&f, "server.status == NOT_FOUND"));
  assert_false(holds(&f, "server.cancelled == true"));
  fl_observe_wire_messages(f.o, FL_SIDE_SERVER, 3, 2);
  assert_true(holds(&f, "server.sent == 3"));
  assert_true(holds(&f, "server.recv == 2"));
  assert_false(get(&f, "server.last_recv_hash").known);
  /* Its non-zero exit is how it reports, not a crash. */
  fl_observe_exited(f.o, FL_SIDE_SERVER, 1, 0, 100);
  assert_true(holds(&f, "server.exit_code == 1"));
  fl_observe_end(f.o, FL_END_FINISHED, 10 * MS);
  assert_int_equal(fl_observe_outcome(f.o), FL_OUTCOME_COMPLETED);
  done(&f);
}

/* Process faults: a pause is no hang and its time is counted; a kill is no crash. */
static void test_process_faults(void **state) {
  (void)state;
  fixture f = make("name: x\nrpc: bidi\nhang_after: 1s\n", true);
  fl_observe_spawned(f.o, FL_SIDE_SERVER, 10);
  fl_observe_spawned(f.o, FL_SIDE_CLIENT, 11);
  feed(&f, "client 1 call_start method=/faultline.Test/Bidi");
  feed(&f, "server 2 call_start method=/faultline.Test/Bidi");
  assert_true(fl_observe_hang_at(f.o) < INT64_MAX);
  fl_observe_paused(f.o, FL_SIDE_SERVER, true, 10 * MS);
  assert_true(fl_observe_hang_at(f.o) == INT64_MAX);
  fl_observe_set_now(f.o, 500 * MS);
  assert_true(holds(&f, "server.paused_for >= 490ms"));
  fl_observe_paused(f.o, FL_SIDE_SERVER, false, 2010 * MS);
  /* Continuing is progress: the quiet starts at the continue. */
  assert_true(fl_observe_hang_at(f.o) >= 3010 * MS);
  assert_true(holds(&f, "server.paused_for == 2s"));
  assert_true(holds(&f, "server.killed == false"));
  fl_observe_fault_signal(f.o, FL_SIDE_SERVER);
  fl_observe_exited(f.o, FL_SIDE_SERVER, 0, 9, 100);
  assert_true(holds(&f, "server.killed == true"));
  fl_observe_end(f.o, FL_END_FINISHED, 3000 * MS);
  assert_int_equal(fl_observe_outcome(f.o), FL_OUTCOME_COMPLETED);
  done(&f);
}

/* Calls over time: counts over many calls, the most open at once, the last failure's message,
 * and, with `every`, the next call's time as a timer of the hang rule. */
static void test_calls_over_time(void **state) {
  (void)state;
  fixture f = make("name: canned\nhang_after: 1s\ncalls: { count: 3, every: 2s }\n", true);
  const fl_side_obs *st = fl_observe_side(f.o, FL_SIDE_CLIENT);
  assert_int_equal(st->n_calls, 3);
  feed(&f, "client 10 call_start call=1 method=/faultline.Test/Unary");
  feed(&f, "client 20 status call=1 code=14 message=refused");
  assert_false(get(&f, "client.status").known); /* two calls are still to come */
  assert_true(fl_observe_call_open(f.o));
  /* Quiet until the next call is due at 10 ms + 2 s, then the hang rule counts from there. */
  assert_int_equal(fl_observe_hang_at(f.o), 2010 * MS);
  fl_observe_set_now(f.o, 2011 * MS);
  assert_int_equal(fl_observe_hang_at(f.o), 2010 * MS + 1000 * MS);
  feed(&f, "client 2010 call_start call=2 method=/faultline.Test/Unary");
  feed(&f, "client 2011 call_start call=3 method=/faultline.Test/Unary");
  assert_true(holds(&f, "client.max_open_calls == 2"));
  feed(&f, "client 2020 status call=2 code=0 message=");
  feed(&f, "client 2030 status call=3 code=4 message=late");
  assert_true(holds(&f, "client.status == DEADLINE_EXCEEDED"));
  assert_true(holds(&f, "client.calls == 3"));
  assert_true(holds(&f, "client.calls_failed == 2"));
  assert_true(holds(&f, "client.last_failure_message == \"late\""));
  assert_true(holds(&f, "client.first_status == UNAVAILABLE"));
  assert_string_equal(st->calls[0].message, "refused");
  assert_null(st->calls[1].message); /* OK */
  assert_false(fl_observe_call_open(f.o));
  assert_int_equal(fl_observe_hang_at(f.o), INT64_MAX);
  done(&f);
}

/* Headers and metadata: the text each side received, headers after the deadline not counted,
 * channels from call_start, and trailers from the status. */
static void test_headers_and_channels(void **state) {
  (void)state;
  fixture f = make("name: canned\ndeadline: 100ms\ncalls: { count: 2, concurrency: 2, channels: 2 "
                   "}\n",
                   true);
  feed(&f, "client 1 call_start call=1 method=/faultline.Test/Bidi deadline_at=1000101000000 "
           "channel=1");
  feed(&f, "client 1 call_start call=2 method=/faultline.Test/Bidi deadline_at=1000101000000 "
           "channel=2");
  feed(&f, "server 2 call_start call=1 method=/faultline.Test/Bidi");
  feed(&f, "server 2 headers call=1 metadata=x-user%3Dalice");
  feed(&f, "client 3 headers call=1 metadata=x-served-by%3Dme");
  /* C core ends the wait for headers at the deadline: that is no response's headers. */
  feed(&f, "client 101 headers call=2");
  feed(&f, "client 101 close_channel call=2 channel=2");
  assert_true(holds(&f, "client.headers_received == 1"));
  assert_true(holds(&f, "client.headers == \"x-served-by=me\""));
  assert_true(holds(&f, "server.headers == \"x-user=alice\""));
  assert_true(holds(&f, "server.headers_received == 1"));
  assert_true(holds(&f, "client.channels == 2"));
  assert_true(holds(&f, "client.channels_closed == 1"));
  assert_false(get(&f, "server.channels").known);
  assert_false(get(&f, "client.trailers").known); /* no status yet */
  feed(&f, "client 5 status call=1 code=0 message= metadata=x-sum%3D42");
  assert_true(holds(&f, "client.trailers == \"x-sum=42\""));
  const fl_side_obs *st = fl_observe_side(f.o, FL_SIDE_CLIENT);
  assert_int_equal(st->calls[1].channel, 2);
  assert_true(st->calls[0].headers);
  assert_false(st->calls[1].headers);
  done(&f);
}

/* A server that takes `accept` of the calls is over once those are; one restarted mid-run, or
 * one that saw fewer calls than the client made, once the client is gone and every call it
 * started ended. */
static void test_server_sees_fewer_calls(void **state) {
  (void)state;
  fixture f =
      make("name: canned\ncalls: { count: 3, concurrency: 3 }\nserver:\n  accept: 1\n", true);
  feed(&f, "server 1 call_start call=1 method=/faultline.Test/Unary");
  feed(&f, "server 2 cancelled call=1 value=0");
  assert_true(holds(&f, "server.cancelled == false")); /* known: its one call closed */
  done(&f);

  f = make("name: canned\ncalls: { count: 4 }\n", true);
  fl_observe_spawned(f.o, FL_SIDE_SERVER, 100);
  fl_observe_spawned(f.o, FL_SIDE_CLIENT, 101);
  feed(&f, "server 1 call_start call=1 method=/faultline.Test/Unary");
  feed(&f, "server 2 cancelled call=1 value=0");
  fl_observe_fault_signal(f.o, FL_SIDE_SERVER);
  fl_observe_exited(f.o, FL_SIDE_SERVER, 0, 15, 0);
  fl_observe_restarted(f.o, FL_SIDE_SERVER);
  fl_observe_spawned(f.o, FL_SIDE_SERVER, 102);
  feed(&f, "server 5 call_start call=1 method=/faultline.Test/Unary");
  feed(&f, "server 6 call_start call=2 method=/faultline.Test/Unary");
  feed(&f, "server 7 cancelled call=1 value=0");
  for (int c = 1; c <= 4; c++) {
    char line[96];
    snprintf(line, sizeof line, "client %d status call=%d code=%d message=", 2 + c, c,
             c == 2 ? 14 : 0);
    feed(&f, line);
  }
  fl_observe_exited(f.o, FL_SIDE_CLIENT, 0, 0, 0);
  fl_observe_events_closed(f.o, FL_SIDE_CLIENT);
  assert_false(fl_observe_complete(f.o)); /* the new server's call 2 is still open */
  assert_true(fl_observe_call_open(f.o));
  feed(&f, "server 8 cancelled call=2 value=0");
  assert_true(fl_observe_complete(f.o));
  assert_false(fl_observe_call_open(f.o));
  assert_false(get(&f, "server.cancelled").known); /* 2 of 4 calls, during the run */
  fl_observe_end(f.o, FL_END_FINISHED, 10 * MS);
  assert_true(holds(&f, "server.cancelled == false"));
  assert_true(holds(&f, "server.calls == 2"));
  assert_true(holds(&f, "server.calls_ok == 3")); /* counts add up over the restart */
  done(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_field_resolves),
      cmocka_unit_test(test_deadline_rule),
      cmocka_unit_test(test_barrier_opens_on_event),
      cmocka_unit_test(test_streams_aggregate),
      cmocka_unit_test(test_causal_order),
      cmocka_unit_test(test_hang_rule),
      cmocka_unit_test(test_outcome),
      cmocka_unit_test(test_wire_unknown_without_source),
      cmocka_unit_test(test_external_side),
      cmocka_unit_test(test_process_faults),
      cmocka_unit_test(test_calls_over_time),
      cmocka_unit_test(test_headers_and_channels),
      cmocka_unit_test(test_server_sees_fewer_calls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
