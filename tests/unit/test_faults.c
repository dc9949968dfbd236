/* Unit tests for the scenario's path: and faults: keys (harness/plan/faults.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scenario.h"

static int parse(const char *text, fl_scenario **s, fl_error *err) {
  return fl_scenario_parse("f.yaml", text, strlen(text), s, err);
}

static const char good[] =
    "name: faults-everything\n"
    "path:\n"
    "  latency: { delay: 5ms, jitter: 1ms }\n"
    "  toward_client:\n"
    "    bandwidth: { rate: 1MiB/s }\n"
    "    buffer: { bytes: 64KiB, for: 8s }\n"
    "  toward_server: { slice: { size: 64, delay: 1ms }, slow_close: { delay: 1s } }\n"
    "  blackhole:\n"
    "faults:\n"
    "  - name: cut\n"
    "    on: wire.server.data >= 37\n"
    "    do: { rst_stream: { code: CANCEL, stream: 3 } }\n"
    "    toward: client\n"
    "  - on: client.sent >= 10\n"
    "    do: { goaway: { code: NO_ERROR, last_stream_id: 1, debug: \"draining\" } }\n"
    "    toward: client\n"
    "  - after: 500ms\n"
    "    since: cut\n"
    "    do: reset\n"
    "  - on: wire.client.end_stream == true\n"
    "    do: { ping: { count: 100 } }\n"
    "    toward: both\n"
    "  - after: 0s\n"
    "    do: { settings: { INITIAL_WINDOW_SIZE: 1024, MAX_FRAME_SIZE: 16384 } }\n"
    "    toward: server\n"
    "  - after: 1s\n"
    "    do: { withhold_window_update: { stream: connection, for: 2s } }\n"
    "    toward: server\n"
    "  - after: 1s\n"
    "    do: withhold_window_update\n"
    "    toward: client\n"
    "  - on: server.sent >= 5\n"
    "    do: { delay_frame: { type: window_update, by: 200ms } }\n"
    "    toward: server\n"
    "  - on: wire.server.headers > 0\n"
    "    do: { drop_frame: { type: data } }\n"
    "    toward: client\n"
    "  - on: wire.server.data >= 1\n"
    "    do: { corrupt: { what: length_prefix, length: 7 } }\n"
    "    toward: client\n"
    "  - after: 2s\n"
    "    do: { corrupt: { what: compressed_flag } }\n"
    "    toward: client\n"
    "  - after: 3s\n"
    "    do: { latency: { delay: 100ms } }\n"
    "    toward: server\n";

static void test_good(void **state) {
  (void)state;
  fl_scenario *s;
  fl_error err;
  int rc = parse(good, &s, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);

  const fl_path_plan *pp = &s->path_plan;
  assert_true(pp->present);
  assert_int_equal(pp->n_faults, 6);
  assert_int_equal(pp->faults[0].action.kind, FL_ACTION_LATENCY);
  assert_int_equal(pp->faults[0].toward, FL_TOWARD_BOTH);
  assert_int_equal(pp->faults[0].action.delay_ns, 5000000);
  assert_int_equal(pp->faults[0].action.jitter_ns, 1000000);
  assert_int_equal(pp->faults[1].action.kind, FL_ACTION_BANDWIDTH);
  assert_int_equal(pp->faults[1].toward, FL_TOWARD_CLIENT);
  assert_int_equal(pp->faults[1].action.rate, 1 << 20);
  assert_int_equal(pp->faults[2].action.kind, FL_ACTION_BUFFER);
  assert_int_equal(pp->faults[2].action.bytes, 64 * 1024);
  assert_int_equal(pp->faults[2].action.for_ns, INT64_C(8000000000));
  assert_int_equal(pp->faults[3].action.kind, FL_ACTION_SLICE);
  assert_int_equal(pp->faults[3].toward, FL_TOWARD_SERVER);
  assert_int_equal(pp->faults[3].action.size, 64);
  assert_int_equal(pp->faults[4].action.kind, FL_ACTION_SLOW_CLOSE);
  assert_int_equal(pp->faults[5].action.kind, FL_ACTION_BLACKHOLE);
  assert_int_equal(pp->faults[5].action.line, 8);
  assert_int_equal(pp->faults[5].action.col, 3);

  assert_int_equal(s->n_faults, 12);
  const fl_fault *f = s->faults;
  assert_string_equal(f[0].name, "cut");
  assert_int_equal(f[0].line, 10);
  assert_int_equal(f[0].trigger.kind, FL_TRIGGER_ON);
  assert_true(f[0].trigger.wire);
  assert_false(fl_fault_fired_by_runner(&f[0]));
  assert_int_equal(fl_predicate_scope(f[0].trigger.predicate), FL_SCOPE_SERVER);
  assert_int_equal(fl_predicate_field(f[0].trigger.predicate)->id, FL_FIELD_WIRE_DATA);
  assert_string_equal(f[0].trigger.text, "wire.server.data >= 37");
  assert_int_equal(f[0].action.kind, FL_ACTION_RST_STREAM);
  assert_int_equal(f[0].action.code, 8);
  assert_int_equal(f[0].action.stream, 3);
  assert_int_equal(f[0].toward, FL_TOWARD_CLIENT);

  assert_null(f[1].name);
  assert_non_null(f[1].trigger.predicate);
  assert_true(fl_fault_fired_by_runner(&f[1]));
  assert_int_equal(f[1].action.kind, FL_ACTION_GOAWAY);
  assert_int_equal(f[1].action.code, 0);
  assert_true(f[1].action.last_stream_id_set);
  assert_int_equal(f[1].action.last_stream_id, 1);
  assert_string_equal(f[1].action.debug, "draining");

  assert_int_equal(f[2].trigger.kind, FL_TRIGGER_AFTER);
  assert_int_equal(f[2].trigger.after_ns, 500000000);
  assert_int_equal(f[2].trigger.since, 0);
  assert_int_equal(f[2].action.kind, FL_ACTION_RESET);
  assert_int_equal(f[2].toward, FL_TOWARD_BOTH); /* TCP faults default to both */

  assert_true(f[3].trigger.wire);
  assert_int_equal(fl_predicate_field(f[3].trigger.predicate)->id, FL_FIELD_WIRE_END_STREAM);
  assert_int_equal(fl_predicate_scope(f[3].trigger.predicate), FL_SCOPE_CLIENT);
  assert_int_equal(f[3].action.count, 100);
  assert_int_equal(f[3].toward, FL_TOWARD_BOTH);

  assert_int_equal(f[4].trigger.since, -1);
  assert_int_equal(f[4].action.n_settings, 2);
  assert_int_equal(f[4].action.settings[0].id, 4);
  assert_int_equal(f[4].action.settings[0].value, 1024);
  assert_int_equal(f[4].action.settings[1].id, 5);

  assert_int_equal(f[5].action.stream, 0); /* the connection */
  assert_int_equal(f[5].action.for_ns, INT64_C(2000000000));
  assert_int_equal(f[6].action.stream, FL_STREAM_ALL);
  assert_int_equal(f[6].action.for_ns, FL_FOREVER);

  assert_int_equal(f[7].action.frame_type, 8);
  assert_int_equal(f[7].action.delay_ns, 200000000);
  assert_int_equal(f[8].action.frame_type, 0);
  assert_int_equal(fl_predicate_field(f[8].trigger.predicate)->id, FL_FIELD_WIRE_HEADERS);
  assert_int_equal(f[9].action.what, FL_CORRUPT_LENGTH_PREFIX);
  assert_true(f[9].action.length_set);
  assert_int_equal(f[9].action.length, 7);
  assert_int_equal(f[10].action.what, FL_CORRUPT_COMPRESSED_FLAG);
  assert_int_equal(f[11].action.kind, FL_ACTION_LATENCY);
  assert_int_equal(fl_action_layer(f[11].action.kind), FL_LAYER_TCP);
  assert_int_equal(fl_action_layer(f[10].action.kind), FL_LAYER_FRAME);
  assert_string_equal(fl_action_name(FL_ACTION_WITHHOLD_WINDOW_UPDATE), "withhold_window_update");
  assert_true(fl_faults_need_proxy(&s->path_plan, s->faults, s->n_faults));
  fl_scenario_free(s);
}

static void test_empty_path(void **state) {
  (void)state;
  fl_scenario *s;
  fl_error err;
  assert_int_equal(parse("name: p\npath:\n", &s, &err), 0);
  assert_true(s->path_plan.present);
  assert_int_equal(s->path_plan.n_faults, 0);
  assert_int_equal(s->n_faults, 0);
  fl_scenario_free(s);
  assert_int_equal(parse("name: p\n", &s, &err), 0);
  assert_false(s->path_plan.present);
  assert_false(fl_faults_need_proxy(&s->path_plan, s->faults, s->n_faults));
  fl_scenario_free(s);
}

/* Each broken file and the exact message it must give. */
static const struct {
  const char *text;
  const char *msg;
} broken[] = {
    {"name: b\npath:\n  latncy: { delay: 5ms }\n",
     "f.yaml:3:3: unknown key 'latncy' in path; did you mean 'latency'?"},
    {"name: b\npath:\n  rst_stream: { code: CANCEL }\n",
     "f.yaml:3:3: 'rst_stream' is a frame fault: it fires on a trigger; put it in faults: with "
     "on: or after:"},
    {"name: b\npath:\n  latency: { delay: 5 }\n",
     "f.yaml:3:21: 'delay' must be a duration like 500ms or 3s; '5' has no unit"},
    {"name: b\npath:\n  latency: { delay: 48h }\n",
     "f.yaml:3:21: 'delay' must be at most 24h, not '48h'"},
    {"name: b\npath:\n  latency: { jitter: 1ms }\n",
     "f.yaml:3:3: 'latency' needs 'delay', like latency: { delay: 5ms, jitter: 1ms }"},
    {"name: b\npath:\n  latency: { delay: 1ms, jitter: 2ms }\n",
     "f.yaml:3:3: 'latency' jitter must be at most its delay"},
    {"name: b\npath:\n  latency: { delay: 1ms }\n  toward_client: { latency: { delay: 2ms } }\n",
     "f.yaml:4:20: 'latency' is already set for both directions at line 3"},
    {"name: b\npath:\n  bandwidth: { rate: fast }\n",
     "f.yaml:3:22: 'rate' must be a rate like 1MiB/s or 64KB/s, not 'fast'"},
    {"name: b\npath:\n  reset: { after: 1s }\n",
     "f.yaml:3:12: 'reset' takes no arguments, not 'after'"},
    {"name: b\npath: [latency]\n",
     "f.yaml:2:7: 'path' must be a map of TCP faults, like { latency: { delay: 5ms, jitter: 1ms } "
     "}, not a list"},
    {"name: b\nfaults:\n  on: wire.server.data >= 1\n",
     "f.yaml:3:3: 'faults' must be a list of faults (each starting with '- '), not a map"},
    {"name: b\nfaults:\n  - do: reset\n",
     "f.yaml:3:5: a fault needs a trigger: 'on: PREDICATE' (e.g. on: wire.server.data >= 2) or "
     "'after: DURATION'"},
    {"name: b\nfaults:\n  - after: 1s\n    on: client.sent >= 1\n    do: reset\n",
     "f.yaml:4:9: a fault has one trigger, 'on' or 'after', not both (write two faults, the "
     "second with since:)"},
    {"name: b\nfaults:\n  - on: client.sent >= 1\n",
     "f.yaml:3:5: a fault needs 'do: { ACTION: ARGS }', like do: { rst_stream: { code: CANCEL } }"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { rst_strem: { code: CANCEL } }\n    toward: "
     "client\n",
     "f.yaml:4:11: unknown action 'rst_strem'; did you mean 'rst_stream'?"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { rst_stream: { code: CANCLE } }\n    toward: "
     "client\n",
     "f.yaml:4:31: unknown HTTP/2 error code 'CANCLE'; did you mean 'CANCEL'?"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { rst_stream: {} }\n    toward: client\n",
     "f.yaml:4:11: 'rst_stream' needs 'code', like rst_stream: { code: CANCEL }"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { rst_stream: { code: CANCEL } }\n",
     "f.yaml:3:5: 'rst_stream' needs 'toward: client', 'toward: server' or 'toward: both': the "
     "peer that receives the frame"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { ping: {} }\n    toward: clinet\n",
     "f.yaml:5:13: 'toward' must be both, client or server, not 'clinet'; did you mean 'client'?"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { ping: {}, reset: {} }\n    toward: client\n",
     "f.yaml:4:21: 'do' holds one action; 'reset' follows 'ping' (write another fault for it)"},
    {"name: b\nfaults:\n  - after: 1s\n    since: cat\n    do: reset\n",
     "f.yaml:4:12: 'since' names no earlier fault 'cat'; give that fault a 'name:' and put it "
     "above this one"},
    {"name: b\nfaults:\n  - name: cut\n    after: 1s\n    do: reset\n  - after: 1s\n    since: "
     "cat\n    do: reset\n",
     "f.yaml:7:12: 'since' names no earlier fault 'cat'; did you mean 'cut'?"},
    {"name: b\nfaults:\n  - on: client.sent >= 1\n    since: x\n    do: reset\n",
     "f.yaml:4:5: 'since' goes with 'after': after: 500ms, since: NAME"},
    {"name: b\nfaults:\n  - name: Cut\n    after: 1s\n    do: reset\n",
     "f.yaml:3:11: 'name' must be lowercase letters, digits, '-' and '_', not 'Cut'"},
    {"name: b\nfaults:\n  - name: a\n    after: 1s\n    do: reset\n  - name: a\n    after: "
     "1s\n    do: reset\n",
     "f.yaml:6:11: fault name 'a' is taken by the fault at line 3"},
    {"name: b\nfaults:\n  - on: wire.server.dta >= 2\n    do: reset\n",
     "f.yaml:3:9: unknown field 'wire.server.dta'; did you mean 'wire.server.data'?"},
    {"name: b\nfaults:\n  - on: wire.sever.data >= 2\n    do: reset\n",
     "f.yaml:3:9: unknown field 'wire.sever.data'; did you mean 'wire.server.data'?"},
    {"name: b\nfaults:\n  - on: wire.server.data >= x\n    do: reset\n",
     "f.yaml:3:29: 'wire.server.data' is a count; expected an integer like 5, not 'x'"},
    {"name: b\nfaults:\n  - on: wire.server.data = 2\n    do: reset\n",
     "f.yaml:3:26: unknown operator '='; did you mean '=='?"},
    {"name: b\nfaults:\n  - on: wire.client.end_stream >= true\n    do: reset\n",
     "f.yaml:3:32: 'wire.client.end_stream' is true or false; compare it with == or !=, not "
     "'>='"},
    {"name: b\nfaults:\n  - on: wire.server.data >= 2 3\n    do: reset\n",
     "f.yaml:3:31: unexpected '3' after the comparison; a predicate is one comparison"},
    {"name: b\nfaults:\n  - on: clinet.sent >= 2\n    do: reset\n",
     "f.yaml:3:9: unknown field 'clinet.sent'; did you mean 'client.sent'?"},
    {"name: b\nfaults:\n  - on: \"client.sent >= 2x\"\n    do: reset\n",
     "f.yaml:3:25: 'client.sent' is a count; expected an integer like 5, not '2x'"},
    {"name: b\nfaults:\n  - on: outcome == hang\n    do: reset\n",
     "f.yaml:3:9: 'on' needs a server.*, client.* or wire.* field (or wire.connections); "
     "'outcome' is only known when the run is over"},
    {"name: b\nfaults:\n  - on: wire.server.rst_stream.code == CANCEL\n    do: reset\n  - on: "
     "wire.connections >= 2\n    do: reset\n  - on: wire.server.goaway.debug contains \"x\"\n    "
     "do: reset\n  - on: wire.server.trailers.statsu == OK\n    do: reset\n",
     "f.yaml:9:9: unknown field 'wire.server.trailers.statsu'; did you mean "
     "'wire.server.trailers.status'?"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { settings: { INITIAL_WINDOW_SIZ: 5 } }\n    "
     "toward: client\n",
     "f.yaml:4:23: unknown key 'INITIAL_WINDOW_SIZ' in settings; did you mean "
     "'INITIAL_WINDOW_SIZE'?"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { settings: { MAX_FRAME_SIZE: 100 } }\n    toward: "
     "client\n",
     "f.yaml:4:39: 'MAX_FRAME_SIZE' must be 16384..16777215, not 100"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { settings: {} }\n    toward: client\n",
     "f.yaml:4:11: 'settings' needs at least one parameter, like settings: { INITIAL_WINDOW_SIZE: "
     "1024 }"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { withhold_window_update: { stream: conn } }\n    "
     "toward: client\n",
     "f.yaml:4:45: 'stream' must be a stream number or 'connection', not 'conn'"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { drop_frame: { type: dta } }\n    toward: client\n",
     "f.yaml:4:31: 'type' must be data, headers, priority, rst_stream, settings, push_promise, "
     "ping, goaway, window_update or continuation, not 'dta'; did you mean 'data'?"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { corrupt: { what: length } }\n    toward: client\n",
     "f.yaml:4:28: 'what' must be length_prefix or compressed_flag, not 'length'"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { corrupt: { what: compressed_flag, length: 3 } }\n "
     " "
     "  toward: client\n",
     "f.yaml:4:11: 'length' belongs to corrupt what: length_prefix"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { ping: { count: 0 } }\n    toward: client\n",
     "f.yaml:4:26: 'count' must be 1..100000, not 0"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { goaway: { code: 1, debug: } }\n    toward: "
     "client\n",
     "f.yaml:4:37: 'debug' must be a string, not nothing"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { delay_frame: { type: data } }\n    toward: "
     "client\n",
     "f.yaml:4:11: 'delay_frame' needs 'by', like delay_frame: { type: data, by: 200ms }"},
    {"name: b\nfaults:\n  - after: 1s\n    do: { buffer: {} }\n",
     "f.yaml:4:11: 'buffer' needs 'bytes or for', like buffer: { bytes: 64KiB, for: 8s }"},
    {"name: b\nfaults:\n  - after: 1s\n    do: [reset]\n",
     "f.yaml:4:9: 'do' must be one action, like do: { rst_stream: { code: CANCEL } }, not a list"},
    {"name: b\nfaults:\n  - after: 1s\n    do: reset\n    when: now\n",
     "f.yaml:5:5: unknown key 'when' in fault; expected name, on, after, since, do or toward"},
    /* process faults */
    {"name: b\nfaults:\n  - on: client.recv >= 1\n    do: kill\n",
     "f.yaml:3:5: 'kill' needs 'toward: client', 'toward: server' or 'toward: both': the side "
     "whose process it acts on"},
    {"name: b\nfaults:\n  - on: client.recv >= 1\n    do: { signal: { name: KILL } }\n    "
     "toward: server\n",
     "f.yaml:4:27: 'name' must be TERM, INT, QUIT, HUP, USR1, USR2 or CONT, not 'KILL'"},
    {"name: b\nfaults:\n  - on: client.recv >= 1\n    do: { signal: {} }\n    toward: server\n",
     "f.yaml:4:11: 'signal' needs 'name', like signal: { name: TERM }"},
    {"name: b\nfaults:\n  - on: client.recv >= 1\n    do: restart\n    toward: client\n",
     "f.yaml:3:5: 'restart' is for the server (toward: server): it starts again on the same "
     "port, and the client reconnects"},
    {"name: b\nfaults:\n  - on: client.recv >= 1\n    do: { pause: { for: never } }\n    "
     "toward: server\n",
     "f.yaml:4:25: 'for' must be a duration like 500ms or 3s, not 'never'"},
    {"name: b\npath:\n  pause: { for: 1s }\n",
     "f.yaml:3:3: 'pause' is a process fault: it fires on a trigger; put it in faults: with on: "
     "or after:"},
    /* external sides */
    {"name: b\nserver:\n  exec: [./s, \"{target}\"]\n",
     "f.yaml:3:15: '{target}' is not a placeholder here; a server's are {port} and {addr}, a "
     "client's {target} (write {{ for a literal {)"},
    {"name: b\nclient:\n  exec: [./c, \"{port}\"]\n",
     "f.yaml:3:15: '{port}' is not a placeholder here; a server's are {port} and {addr}, a "
     "client's {target} (write {{ for a literal {)"},
    {"name: b\nserver:\n  exec: [./s]\n  target: 127.0.0.1:5\n",
     "f.yaml:4:3: 'target' and 'exec' exclude each other: a side is a program faultline starts "
     "or an address already serving"},
    {"name: b\nserver:\n  target: 127.0.0.1\n",
     "f.yaml:3:11: 'target' must be HOST:PORT (e.g. 127.0.0.1:50051), not '127.0.0.1'"},
    {"name: b\nclient:\n  target: 127.0.0.1:5\n",
     "f.yaml:3:3: 'target' is for the server: a client is a program (client: { exec: [...] }) "
     "or the built-in peer"},
    {"name: b\nserver:\n  exec: [./s]\n  script:\n    - recv: 1\n",
     "f.yaml:4:3: the server is an external program (line 3): 'script' drives only the built-in "
     "peer"},
    {"name: b\nserver:\n  ready: { log: \"up\" }\n",
     "f.yaml:3:3: 'ready' is for a program the server side runs; it needs 'exec'"},
    {"name: b\nserver:\n  exec: [./s]\n  ready: { log: \"(\" }\n",
     "f.yaml:4:17: 'log' is not a POSIX extended regular expression: Unmatched ( or \\("},
    {"name: b\nserver:\n  exec: []\n",
     "f.yaml:3:9: 'exec' must be a list: the program, then its arguments, not a list"},
    {"name: b\nserver:\n  exec: [./s]\n  env: { \"A-B\": 1 }\n",
     "f.yaml:4:10: 'A-B' is not an environment variable name"},
    /* rlimits */
    {"name: b\nserver:\n  rlimits: { nofile: 3 }\n",
     "f.yaml:3:22: 'nofile' must be a count from 16 to 1048576, not '3'"},
    {"name: b\nclient:\n  rlimits: { as: 1MiB }\n",
     "f.yaml:3:18: 'as' must be a size of at least 64MiB, not '1MiB'"},
};

static void test_broken(void **state) {
  (void)state;
  int bad = 0;
  for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
    fl_scenario *s = NULL;
    fl_error err;
    int rc = parse(broken[i].text, &s, &err);
    if (rc == 0) {
      fprintf(stderr, "case %zu: parsed, want: %s\n", i, broken[i].msg);
      fl_scenario_free(s);
      bad++;
      continue;
    }
    if (strcmp(err.msg, broken[i].msg)) {
      fprintf(stderr, "case %zu:\n  got:  %s\n  want: %s\n", i, err.msg, broken[i].msg);
      bad++;
    }
    assert_null(s);
  }
  assert_int_equal(bad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good),
      cmocka_unit_test(test_empty_path),
      cmocka_unit_test(test_broken),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
