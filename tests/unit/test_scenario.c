/* Unit tests for scenario files (harness/scenario.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scenario.h"

static int parse(const char *text, fl_scenario **s, fl_error *err) {
  return fl_scenario_parse("test.yaml", text, strlen(text), s, err);
}

static const char full[] =
    "# every key, every step\n"
    "name: closesend-blocked-2\n"
    "summary: The client half-closes while the server has stopped reading.\n"
    "rpc: client_stream\n"
    "deadline: 3s\n"
    "timeout: 1m\n"
    "hang_after: 1500ms\n"
    "server:\n"
    "  args: { grpc.http2.bdp_probe: 0, grpc.http2.lookahead_bytes: 65535, "
    "grpc.primary_user_agent: \"faultline\", quoted.number: \"42\", negative: -7 }\n"
    "  script:\n"
    "    - recv: 1\n"
    "    - wait: client.sent >= 5\n"
    "    - sleep: 250ms\n"
    "    - recv: all\n"
    "    - cancel\n"
    "    - status: { code: NOT_FOUND, message: \"tab\\there\\nline 2 \\u00e9\" }\n"
    "    - status: 3\n"
    "client:\n"
    "  script:\n"
    "    - send: { count: 200, size: 16KiB, payload: struct }\n"
    "    - send: 2\n"
    "    - send: {}\n"
    "    - close_send\n"
    "    - recv: 3\n"
    "    - dump\n"
    "    - status_placeholder_never_seen_is_not_here: null\n"
    "capture: { pcap: false, snaplen: 96, threads: at_end }\n"
    "expect:\n"
    "  - client.status == DEADLINE_EXCEEDED\n"
    "  - 'client.close_send.completed == false'\n"
    "  - \"server.cancelled == true\"\n"
    "  - outcome == hang\n";

static void check_full(const fl_scenario *s) {
  assert_string_equal(s->name, "closesend-blocked-2");
  assert_string_equal(s->summary, "The client half-closes while the server has stopped reading.");
  assert_int_equal(s->rpc, FL_RPC_CLIENT_STREAM);
  assert_int_equal(s->deadline_ns, INT64_C(3000000000));
  assert_int_equal(s->timeout_ns, INT64_C(60000000000));
  assert_int_equal(s->hang_after_ns, INT64_C(1500000000));

  const fl_side_plan *sv = &s->server;
  assert_true(sv->present);
  assert_int_equal(sv->n_args, 5);
  assert_string_equal(sv->args[0].key, "grpc.http2.bdp_probe");
  assert_string_equal(sv->args[0].value, "0");
  assert_true(sv->args[0].is_int);
  assert_int_equal(sv->args[0].int_value, 0);
  assert_string_equal(sv->args[1].key, "grpc.http2.lookahead_bytes");
  assert_true(sv->args[1].is_int);
  assert_int_equal(sv->args[1].int_value, 65535);
  assert_string_equal(sv->args[2].value, "faultline");
  assert_false(sv->args[2].is_int);
  assert_string_equal(sv->args[3].value, "42"); /* quoted: a string, even if it looks numeric */
  assert_false(sv->args[3].is_int);
  assert_true(sv->args[4].is_int);
  assert_int_equal(sv->args[4].int_value, -7);

  assert_int_equal(sv->n_steps, 7);
  const fl_step *st = sv->steps;
  assert_int_equal(st[0].kind, FL_STEP_RECV);
  assert_int_equal(st[0].count, 1);
  assert_int_equal(st[0].line, 11);
  assert_int_equal(st[0].col, 7);
  assert_int_equal(st[1].kind, FL_STEP_WAIT);
  assert_string_equal(st[1].text, "client.sent >= 5");
  assert_non_null(st[1].predicate);
  assert_int_equal(fl_predicate_scope(st[1].predicate), FL_SCOPE_CLIENT);
  assert_int_equal(st[1].line, 12);
  assert_int_equal(st[2].kind, FL_STEP_SLEEP);
  assert_int_equal(st[2].duration_ns, 250000000);
  assert_int_equal(st[3].kind, FL_STEP_RECV);
  assert_true(st[3].count == FL_RECV_ALL);
  assert_int_equal(st[4].kind, FL_STEP_CANCEL);
  assert_int_equal(st[4].line, 15);
  assert_int_equal(st[4].col, 7);
  assert_int_equal(st[5].kind, FL_STEP_STATUS);
  assert_int_equal(st[5].status_code, 5);
  assert_string_equal(st[5].status_message, "tab\there\nline 2 \xc3\xa9");
  assert_int_equal(st[6].kind, FL_STEP_STATUS);
  assert_int_equal(st[6].status_code, 3);
  assert_null(st[6].status_message);

  const fl_side_plan *cl = &s->client;
  assert_true(cl->present);
  assert_int_equal(cl->n_args, 0);
  assert_int_equal(cl->n_steps, 6);
  st = cl->steps;
  assert_int_equal(st[0].kind, FL_STEP_SEND);
  assert_int_equal(st[0].count, 200);
  assert_int_equal(st[0].size, 16384);
  assert_int_equal(st[0].payload, FL_PAYLOAD_STRUCT);
  assert_int_equal(st[0].line, 20);
  assert_int_equal(st[1].kind, FL_STEP_SEND);
  assert_int_equal(st[1].count, 2);
  assert_int_equal(st[1].size, 0);
  assert_int_equal(st[2].kind, FL_STEP_SEND);
  assert_int_equal(st[2].count, 1);
  assert_int_equal(st[3].kind, FL_STEP_CLOSE_SEND);
  assert_int_equal(st[4].kind, FL_STEP_RECV);
  assert_int_equal(st[4].count, 3);
  assert_int_equal(st[5].kind, FL_STEP_DUMP);
  assert_int_equal(st[5].line, 25);

  assert_false(s->capture.pcap);
  assert_int_equal(s->capture.snaplen, 96);
  assert_int_equal(s->capture.threads, FL_THREADS_AT_END);

  assert_int_equal(s->n_expect, 4);
  assert_string_equal(s->expect[0].text, "client.status == DEADLINE_EXCEEDED");
  assert_int_equal(s->expect[0].line, 28);
  assert_int_equal(s->expect[0].col, 5);
  assert_string_equal(fl_predicate_field_text(s->expect[1].predicate),
                      "client.close_send.completed");
  assert_int_equal(fl_predicate_scope(s->expect[2].predicate), FL_SCOPE_SERVER);
  assert_int_equal(fl_predicate_scope(s->expect[3].predicate), FL_SCOPE_GLOBAL);
}

/* The `full` text above with its one deliberate mistake removed. */
static char *full_text(void) {
  const char *bad = "    - status_placeholder_never_seen_is_not_here: null\n";
  char *t = strdup(full);
  char *p = strstr(t, bad);
  memmove(p, p + strlen(bad), strlen(p + strlen(bad)) + 1);
  return t;
}

static void test_full(void **state) {
  (void)state;
  fl_scenario *s = NULL;
  fl_error err;
  char *text = full_text();
  int rc = parse(text, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  check_full(s);
  assert_string_equal(s->path, "test.yaml");
  fl_scenario_free(s);
  free(text);

  /* and the deliberate mistake is caught where it stands */
  assert_int_equal(parse(full, &s, &err), -1);
  assert_null(s);
  assert_int_equal(err.line, 26);
  assert_int_equal(err.col, 7);
  assert_non_null(strstr(err.msg, "unknown step 'status_placeholder_never_seen_is_not_here'"));
}

static void test_load_file(void **state) {
  (void)state;
  char dir[] = "/tmp/faultline-test-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/closesend-blocked-2.yaml", dir); /* named after its name: */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  assert_true(fd >= 0);
  char *text = full_text();
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  free(text);

  fl_scenario *s = NULL;
  fl_error err;
  int rc = fl_scenario_load(path, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  check_full(s);
  assert_string_equal(s->path, path);
  fl_scenario_free(s);

  /* an error names the file it came from */
  FILE *f = fopen(path, "w");
  fputs("name: x\ndedline: 3s\n", f);
  fclose(f);
  assert_int_equal(fl_scenario_load(path, &s, &err), -1);
  char want[128];
  snprintf(want, sizeof want, "%s:2:1: unknown key 'dedline'", path);
  assert_non_null(strstr(err.msg, want));
  unlink(path);

  assert_int_equal(fl_scenario_load(path, &s, &err), -1);
  assert_null(s);
  assert_int_equal(err.line, 0);
  assert_int_equal(err.col, 0);
  assert_non_null(strstr(err.msg, "cannot open"));
  assert_non_null(strstr(err.msg, path));
  rmdir(dir);
}

static void test_defaults(void **state) {
  (void)state;
  fl_scenario *s = NULL;
  fl_error err;
  assert_int_equal(parse("name: minimal\n", &s, &err), 0);
  assert_string_equal(s->name, "minimal");
  assert_string_equal(s->summary, "");
  assert_int_equal(s->rpc, FL_RPC_BIDI);
  assert_int_equal(s->deadline_ns, 0);
  assert_int_equal(s->timeout_ns, INT64_C(30000000000));
  assert_int_equal(s->hang_after_ns, INT64_C(2000000000));
  assert_false(s->server.present);
  assert_false(s->client.present);
  assert_int_equal(s->n_expect, 0);
  assert_true(s->capture.pcap);
  assert_int_equal(s->capture.snaplen, 262144);
  assert_int_equal(s->capture.threads, FL_THREADS_ON_HANG);
  fl_scenario_free(s);

  /* capture keys left out keep their defaults */
  assert_int_equal(parse("name: x\ncapture: {threads: never}\n", &s, &err), 0);
  assert_true(s->capture.pcap);
  assert_int_equal(s->capture.snaplen, 262144);
  assert_int_equal(s->capture.threads, FL_THREADS_NEVER);
  fl_scenario_free(s);

  /* a side named with nothing under it is present and empty */
  assert_int_equal(parse("name: x\nserver:\nclient: {script: []}\nexpect: []\n", &s, &err), 0);
  assert_true(s->server.present);
  assert_int_equal(s->server.n_steps, 0);
  assert_true(s->client.present);
  assert_int_equal(s->client.n_steps, 0);
  fl_scenario_free(s);

  /* a byte order mark is fine and does not shift columns */
  assert_int_equal(parse("\xef\xbb\xbfname: x\nrpc: unary\n", &s, &err), 0);
  assert_int_equal(s->rpc, FL_RPC_UNARY);
  fl_scenario_free(s);
  assert_int_equal(parse("\xef\xbb\xbfname: x\nexpect: ['client.sent == y']\n", &s, &err), -1);
  assert_int_equal(err.line, 2);
  assert_int_equal(err.col, 26);
}

/*
 * Broken files: where the error is reported and what it says. Columns are 1-based and count
 * characters; when a case is about a predicate, the column is that of the offending token
 * inside the (possibly quoted) scalar.
 */
static const struct {
  const char *yaml;
  int line, col;
  const char *msg;
} broken[] = {
    /* the file as a whole */
    {"", 1, 1, "the scenario is empty"},
    {"# only a comment\n", 1, 1, "the scenario is empty"},
    {"- a\n- b\n", 1, 1, "must be a map of keys"},
    {"just words\n", 1, 1, "must be a map of keys"},
    {"summary: no name\nrpc: unary\n", 1, 1, "the scenario has no 'name'"},
    {"name: x\n---\nname: y\n", 3, 1, "holds one YAML document"},
    /* YAML syntax, with libyaml's own words and place */
    {"name: x\nrpc: [unary\ndeadline: 3s\n", 3, 9,
     "did not find expected ',' or ']' (while parsing a flow sequence started at 2:6)"},
    {"name: x\n\tdeadline: 3s\n", 2, 1, "found a tab character that violates indentation"},
    {"name: \"open\n", 2, 1, "found unexpected end of stream"},
    {"name: x\nsummary: a: b\n", 2, 11, "mapping values are not allowed in this context"},
    {"name: *nope\n", 1, 7, "found undefined alias"},
    {"name: \"x\xff\"\n", 1, 9, "invalid leading UTF-8 octet"},
    /* a reader error's place counts lines as libyaml's marks do: CR alone breaks one (fuzz) */
    {"name: x\r\rsummary: \"x\xff\"\n", 3, 12, "invalid leading UTF-8 octet"},
    {"\xff\xfen\0", 1, 1, "the file is UTF-16"},
    /* keys */
    {"name: x\ndedline: 3s\n", 2, 1, "unknown key 'dedline' in scenario; did you mean 'deadline'?"},
    {"name: x\nhang_afer: 1s\n", 2, 1, "did you mean 'hang_after'?"},
    {"name: x\nSummary: hi\n", 2, 1, "did you mean 'summary'?"},
    {"name: x\ncolour: red\n", 2, 1, "unknown key 'colour' in scenario; expected one of name, "},
    {"name: x\nscript: []\n", 2, 1, "it belongs under server: or client:"},
    {"name: x\nname: y\n", 2, 1, "duplicate key 'name' in scenario (first at line 1)"},
    {"name: x\nserver:\n  script: []\n  script: []\n", 4, 3, "duplicate key 'script' in server"},
    {"name: x\nclient:\n  scirpt: []\n", 3, 3, "unknown key 'scirpt' in client; did you mean"},
    {"name: x\nclient:\n  deadline: 1s\n", 3, 3, "it is a top-level key"},
    {"name: x\n[a]: 1\n", 2, 1, "keys in scenario must be names, not a list"},
    {"name: x\nserver:\n  args: {a: 1, a: 2}\n", 3, 16, "duplicate key 'a' in server args"},
    /* wrong types at the top level */
    {"name: x\ndeadline: fast\n", 2, 11,
     "'deadline' must be a duration like 500ms or 3s, not 'fast'"},
    {"name: x\ndeadline: 3\n", 2, 11, "'3' has no unit"},
    {"name: x\ndeadline:\n", 2, 10, "'deadline' must be a duration like 500ms or 3s, not nothing"},
    {"name: x\ntimeout: 0s\n", 2, 10, "'timeout' must be longer than 0"},
    {"name: x\nhang_after: [1s]\n", 2, 13, "not a list"},
    {"name: Bad Name\n", 1, 7, "'name' must be lowercase letters, digits and '-'"},
    {"name: -leading\n", 1, 7, "'name' must be lowercase letters"},
    {"name: {a: 1}\n", 1, 7, "'name' must be a name like my-scenario, not a map"},
    {"name: x\nsummary: [a]\n", 2, 10, "'summary' must be a line of text, not a list"},
    {"name: x\nrpc: bidy\n", 2, 6, "not 'bidy'; did you mean 'bidi'?"},
    {"name: x\nrpc: streaming\n", 2, 6,
     "'rpc' must be one of unary, server_stream, client_stream, bidi, not 'streaming'"},
    {"name: x\nserver: [recv: 1]\n", 2, 9, "'server' must be a map with script and args"},
    {"name: x\nclient:\n  script: {send: 1}\n", 3, 11, "'script' must be a list of steps"},
    {"name: x\nclient:\n  args: [1]\n", 3, 9, "'args' must be a map of channel arguments"},
    {"name: x\nclient:\n  args: {a: [1]}\n", 3, 13, "channel argument 'a' must be a number"},
    {"name: x\nclient:\n  args: {a: 99999999999}\n", 3, 13, "out of range"},
    {"name: x\nexpect: client.sent == 1\n", 2, 9, "'expect' must be a list of predicates"},
    {"name: x\ncapture: on\n", 2, 10, "'capture' must be a map like {pcap: true"},
    {"name: x\ncapture: {pcap: yes}\n", 2, 17, "'pcap' must be true or false, not 'yes'"},
    {"name: x\ncapture: {snaplen: 0}\n", 2, 20, "'snaplen' must be at least 1"},
    {"name: x\ncapture: {snaplen: 1000000}\n", 2, 20, "'snaplen' must be at most 262144"},
    {"name: x\ncapture: {threads: on_hnag}\n", 2, 20, "did you mean 'on_hang'?"},
    {"name: x\ncapture: {threads: sometimes}\n", 2, 20,
     "'threads' must be one of on_hang, on_failure, at_end, never, not 'sometimes'"},
    {"name: x\ncapture: {pcpa: true}\n", 2, 11,
     "unknown key 'pcpa' in capture; did you mean 'pcap'?"},
    /* steps */
    {"name: x\nclient:\n  script:\n    - sned: 1\n", 4, 7,
     "unknown step 'sned'; did you mean 'send'?"},
    {"name: x\nclient:\n  script:\n    - close_sned\n", 4, 7, "did you mean 'close_send'?"},
    {"name: x\nclient:\n  script:\n    - teleport\n", 4, 7,
     "unknown step 'teleport'; expected send, recv,"},
    {"name: x\nclient:\n  script:\n    - send: 3\n      recv: 1\n", 5, 7,
     "a step has one key; 'recv' follows 'send'"},
    {"name: x\nclient:\n  script:\n    - {}\n", 4, 7, "empty step"},
    {"name: x\nclient:\n  script:\n    - [send]\n", 4, 7, "a step must be a name"},
    {"name: x\nclient:\n  script:\n    - send\n", 4, 7, "'send' needs a value: send: 3"},
    {"name: x\nclient:\n  script:\n    - send: many\n", 4, 13,
     "'send' must be a whole number like 10, not 'many'"},
    {"name: x\nclient:\n  script:\n    - send: 0\n", 4, 13, "'send' must be at least 1"},
    {"name: x\nclient:\n  script:\n    - send: {count: 3, size: big}\n", 4, 30,
     "'size' must be a size like 100, 16KiB or 4MiB, not 'big'"},
    {"name: x\nclient:\n  script:\n    - send: {count: 3, sise: 1}\n", 4, 24,
     "unknown key 'sise' in send; did you mean 'size'?"},
    {"name: x\nclient:\n  script:\n    - send: {payload: strcut}\n", 4, 23,
     "unknown payload 'strcut'; did you mean 'struct'?"},
    {"name: x\nclient:\n  script:\n    - send: {payload: json}\n", 4, 23,
     "unknown payload 'json'; expected one of struct, null_values, nested, empty, bytes, "
     "malformed, oversize"},
    {"name: x\nclient:\n  script:\n    - send: [1]\n", 4, 13, "'send' must be a count or a map"},
    {"name: x\nclient:\n  script:\n    - recv: some\n", 4, 13,
     "'recv' must be a count like 3 or 'all', not 'some'"},
    {"name: x\nclient:\n  script:\n    - sleep: 10\n", 4, 14, "'10' has no unit"},
    {"name: x\nclient:\n  script:\n    - cancel: now\n", 4, 15, "'cancel' takes no value"},
    {"name: x\nclient:\n  script:\n    - dump: 3\n", 4, 13, "'dump' takes no value"},
    {"name: x\nserver:\n  script:\n    - status: NOT_FUOND\n", 4, 15,
     "unknown status 'NOT_FUOND'; did you mean 'NOT_FOUND'?"},
    {"name: x\nserver:\n  script:\n    - status: 17\n", 4, 15,
     "must be a status name like NOT_FOUND or a code 0..16, not 17"},
    {"name: x\nserver:\n  script:\n    - status: {message: hi}\n", 4, 15, "needs a 'code'"},
    {"name: x\nserver:\n  script:\n    - status: {code: OK, mesage: hi}\n", 4, 26,
     "did you mean 'message'?"},
    {"name: x\nserver:\n  script:\n    - status: {code: OK, message: [1]}\n", 4, 35,
     "'message' must be a string"},
    /* streams, payload kinds and their parameters */
    {"name: x\nstreams: 0\n", 2, 10, "'streams' must be at least 1"},
    {"name: x\nstreams: 100001\n", 2, 10, "'streams' must be at most 100000, not '100001'"},
    {"name: x\nstreams: many\n", 2, 10, "'streams' must be a whole number"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: nested, seed: 3}}\n", 4, 38,
     "'seed' belongs to payload kind bytes, not nested"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {depth: 3}}\n", 4, 23,
     "'payload' needs a 'kind' (like {kind: nested, depth: 32}), or one of proto, hex or file"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: nested, depth: 0}}\n", 4, 45,
     "'depth' must be at least 1"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: nested, depth: 5000}}\n", 4, 45,
     "'depth' must be at most 2000, not '5000'"},
    {"name: x\nclient:\n  script:\n    - send: {payload: malformed}\n", 4, 23,
     "payload malformed needs a defect, like {kind: malformed, defect: truncated_varint}"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: malformed}}\n", 4, 23,
     "payload malformed needs a defect: bad_wire_type, truncated_varint"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: malformed, defect: truncated}}\n",
     4, 49,
     "'defect' must be one of bad_wire_type, truncated_varint, length_past_end, "
     "invalid_utf8, not 'truncated'"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: malformed, defect: invalid_utf}}\n",
     4, 49, "did you mean 'invalid_utf8'?"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: struct, defect: invalid_utf8}}\n",
     4, 38, "'defect' belongs to payload kind malformed, not struct"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: nested, depht: 3}}\n", 4, 38,
     "unknown key 'depht' in payload; did you mean 'depth'?"},
    {"name: x\nclient:\n  script:\n    - send: {payload: {kind: nestd}}\n", 4, 30,
     "unknown payload 'nestd'; did you mean 'nested'?"},
    {"name: x\nclient:\n  script:\n    - send: {size: 3, payload: empty}\n", 4, 14,
     "payload empty is a zero-length message; it takes no 'size'"},
    {"name: x\nclient:\n  script:\n    - send: {payload: oversize, size: 3}\n", 4, 33,
     "an oversize message is one byte over the receiver's grpc.max_receive_message_length; it "
     "takes no 'size'"},
    {"name: x\nclient:\n  script:\n    - send: {payload: [1]}\n", 4, 23,
     "'payload' must be a kind like struct, or a map {kind, depth, seed, defect}, {proto, "
     "type, text}, {hex} or {file}, not a list"},
    {"name: x\nclient:\n  script:\n    - send: {interval: fast}\n", 4, 24,
     "'interval' must be a duration like 500ms or 3s, not 'fast'"},
    {"name: x\nclient:\n  script:\n    - send: {background: yes}\n", 4, 26,
     "'background' must be true or false, not 'yes'"},
    {"name: x\nclient:\n  script:\n    - send: {backgrund: true}\n", 4, 14,
     "unknown key 'backgrund' in send; did you mean 'background'?"},
    {"name: x\nserver:\n  args: {grpc.max_receive_message_length: -1}\nclient:\n  script:\n"
     "    - send: 1\n    - send: {payload: oversize}\n",
     7, 7,
     "payload oversize needs a receive limit, but the server sets "
     "grpc.max_receive_message_length to -1 (no limit)"},
    /* recv with a delay */
    {"name: x\nclient:\n  script:\n    - recv: {count: some}\n", 4, 21,
     "'count' must be a count like 3 or 'all', not 'some'"},
    {"name: x\nclient:\n  script:\n    - recv: {count: 0}\n", 4, 21, "'count' must be at least 1"},
    {"name: x\nclient:\n  script:\n    - recv: {delay: 10}\n", 4, 21, "'10' has no unit"},
    {"name: x\nclient:\n  script:\n    - recv: {cnt: 1}\n", 4, 14,
     "unknown key 'cnt' in recv; did you mean 'count'?"},
    {"name: x\nclient:\n  script:\n    - recv: [1]\n", 4, 13,
     "'recv' must be a count, 'all' or a map {count, delay}, not a list"},
    /* reading control */
    {"name: x\nclient:\n  script:\n    - stop_reading: now\n", 4, 21,
     "'stop_reading' takes no value"},
    {"name: x\nclient:\n  script:\n    - stop_reding\n", 4, 7, "did you mean 'stop_reading'?"},
    {"name: x\nclient:\n  script:\n    - recv: 1\n    - stop_reading\n    - send: 1\n"
     "    - recv: all\n",
     7, 7,
     "'recv' while reading is stopped (stop_reading at line 5); put resume_reading before it"},
    {"name: x\nserver:\n  script:\n    - stop_reading\n    - stop_reading\n", 5, 7,
     "reading is already stopped (stop_reading at line 4)"},
    {"name: x\nserver:\n  script:\n    - resume_reading\n", 4, 7,
     "'resume_reading' needs a stop_reading before it"},
    /* shutdown */
    {"name: x\nclient:\n  script:\n    - shutdown: graceful\n", 4, 7,
     "'shutdown' is a server step; a client ends its call with close_send or cancel"},
    {"name: x\nserver:\n  script:\n    - shutdown\n", 4, 7,
     "'shutdown' needs a value: shutdown: graceful, shutdown: abrupt or shutdown: {mode: "
     "graceful, deadline: 500ms}"},
    {"name: x\nserver:\n  script:\n    - shutdown: later\n", 4, 17,
     "'shutdown' must be graceful or abrupt, not 'later'"},
    {"name: x\nserver:\n  script:\n    - shutdown: gracefull\n", 4, 17, "did you mean 'graceful'?"},
    {"name: x\nserver:\n  script:\n    - shutdown: {mode: abrupt, deadline: 1s}\n", 4, 32,
     "an abrupt shutdown cancels every call at once; 'deadline' belongs to mode graceful"},
    {"name: x\nserver:\n  script:\n    - shutdown: {mode: graceful, deadline: 0s}\n", 4, 44,
     "'deadline' must be longer than 0"},
    {"name: x\nserver:\n  script:\n    - shutdown: {mod: graceful}\n", 4, 18,
     "unknown key 'mod' in shutdown; did you mean 'mode'?"},
    {"name: x\nserver:\n  script:\n    - shutdown: [graceful]\n", 4, 17,
     "'shutdown' must be graceful, abrupt or a map {mode, deadline}, not a list"},
    /* side restrictions */
    {"name: x\nserver:\n  script:\n    - recv: 1\n    - close_send\n", 5, 7,
     "'close_send' is a client step"},
    {"name: x\nclient:\n  script:\n    - status: OK\n", 4, 7, "'status' is a server step"},
    /* predicates in wait: and expect:, pointing at the token inside the scalar */
    {"name: x\nclient:\n  script:\n    - wait: server.snet >= 5\n", 4, 13,
     "unknown field 'server.snet'; did you mean 'server.sent'?"},
    {"name: x\nclient:\n  script:\n    - wait: server.sent >= many\n", 4, 28,
     "'server.sent' is a count"},
    {"name: x\nclient:\n  script:\n    - wait: outcome == hang\n", 4, 13,
     "'wait' needs a server.* or client.* field"},
    {"name: x\nclient:\n  script:\n    - wait: \"server.sent >= \\\\t5\"\n", 4, 29, "not '\\t5'"},
    {"name: x\nexpect:\n  - client.stauts == OK\n", 3, 5,
     "unknown field 'client.stauts'; did you mean 'client.status'?"},
    {"name: x\nexpect:\n  - client.status == DEADLINE_EXCEDED\n", 3, 22,
     "did you mean 'DEADLINE_EXCEEDED'?"},
    {"name: x\nexpect:\n  - client.duration < 1500\n", 3, 23, "has no unit"},
    {"name: x\nexpect:\n  - \"client.status < OK\"\n", 3, 20, "compare it with == or !="},
    {"name: x\nexpect:\n  - 'client.message == ''a'' x'\n", 3, 30, "unexpected 'x'"},
    {"name: x\nexpect:\n  - \"client.message == \\\"\\u00e9\\\" x\"\n", 3, 35, "unexpected 'x'"},
    {"name: x\nexpect: [\"\xc3\xa9\xc3\xa9\", client.sent == 1]\n", 2, 13, "expected an operator"},
    {"name: x\nexpect:\n  - client.sent >=\n", 3, 19, "expected a value after '>='"},
    {"name: x\nexpect:\n  - client.sent ==\n    y z\n", 3, 5, "unexpected 'z'"},
    {"name: x\nexpect:\n  - [client.sent]\n", 3, 5, "'expect' must be a predicate"},
    {"name: x\nexpect:\n  -\n", 3, 4,
     "'expect' must be a predicate like client.recv >= 3, not nothing"},
    /* ranges (scenario.h "Limits"): durations */
    {"name: x\ntimeout: 25h\n", 2, 10, "'timeout' must be at most 24h, not '25h'"},
    {"name: x\ndeadline: 9223372036854775807ns\n", 2, 11, "'deadline' must be at most 24h"},
    {"name: x\nhang_after: 99999999999999999999h\n", 2, 13, "'hang_after' must be at most 24h"},
    {"name: x\nclient:\n  script:\n    - sleep: 9223372036854775807ns\n", 4, 14,
     "'sleep' must be at most 24h"},
    {"name: x\nclient:\n  script:\n    - send: {interval: 1441m}\n", 4, 24,
     "'interval' must be at most 24h, not '1441m'"},
    {"name: x\nclient:\n  script:\n    - recv: {delay: 100000h}\n", 4, 21,
     "'delay' must be at most 24h"},
    {"name: x\nserver:\n  script:\n    - shutdown: {deadline: 25h}\n", 4, 28,
     "'deadline' must be at most 24h"},
    {"name: x\ncapture: {samples: 5ms}\n", 2, 20, "'samples' must be at least 10ms, not '5ms'"},
    {"name: x\ncapture: {samples: 48h}\n", 2, 20, "'samples' must be at most 24h"},
    /* sizes */
    {"name: x\nclient:\n  script:\n    - send: {size: 10GiB}\n", 4, 20,
     "'size' must be at most 2147483647 bytes (2 GiB - 1"},
    {"name: x\nclient:\n  script:\n    - send: {size: 2GiB}\n", 4, 20,
     "'size' must be at most 2147483647 bytes"},
    {"name: x\nclient:\n  script:\n    - send: {size: 99999999999999999999999}\n", 4, 20,
     "'size' must be at most 2147483647 bytes"},
    /* counts */
    {"name: x\nclient:\n  script:\n    - send: 1000000000000\n", 4, 13,
     "'send' must be at most 1000000, not '1000000000000'"},
    {"name: x\nclient:\n  script:\n    - send: 99999999999999999999999\n", 4, 13,
     "'send' must be at most 1000000"},
    {"name: x\nclient:\n  script:\n    - recv: {count: 1000001}\n", 4, 21,
     "'count' must be at most 1000000"},
    {"name: x\nclient:\n  script:\n    - recv: 18446744073709551615\n", 4, 13,
     "'recv' must be at most 1000000"},
    {"name: x\nclient:\n  script:\n    - send: {count: 1000000}\n    - send: 1\n", 5, 7,
     "with this step the client sends 1000001 messages (counts x 1 calls), more than 1000000"},
    {"name: x\nstreams: 1000\nserver:\n  script:\n    - send: 1001\n", 5, 7,
     "the server sends 1001000 messages (counts x 1000 calls)"},
    {"name: x\ncapture: {snaplen: 99999999999999999999999}\n", 2, 20,
     "'snaplen' must be at most 262144"},
    /* channel argument values */
    {"name: x\nclient:\n  args: {grpc.keepalive_time_ms: 1.5ms}\n", 3, 34,
     "channel argument 'grpc.keepalive_time_ms': C core takes it in whole milliseconds; '1.5ms' "
     "is not one"},
    {"name: x\nclient:\n  args: {grpc.keepalive_time_ms: soon}\n", 3, 34,
     "channel argument 'grpc.keepalive_time_ms': it takes a number of milliseconds or a duration "
     "like 30s, not 'soon'"},
    {"name: x\nclient:\n  args: {grpc.max_receive_message_length: 8GiB}\n", 3, 43,
     "'8GiB' is out of range for C core's integer arguments (-2147483648..2147483647)"},
    {"name: x\nclient:\n  args: {grpc.http2.bdp_probe: off}\n", 3, 32,
     "it takes true, false or an integer, not 'off'"},
    {"name: x\nclient:\n  args: {grpc.max_concurrent_streams: 10KiB}\n", 3, 39,
     "it takes an integer, not '10KiB'"},
    {"name: x\nclient:\n  args: {grpc.resource_quota: 1}\n", 3, 31, "a C object (a pointer)"},
    {"name: x\nclient:\n  args: {my.window: 8MiB}\n", 3, 21,
     "channel argument 'my.window': '8MiB' has a unit, and for an argument C core does not "
     "declare faultline cannot tell which unit it wants"},
    /* names and text */
    {"name: \"ab\\0cd\"\n", 1, 10, "a NUL character (\\0) inside a value"},
    {"name: x\nsummary: \"one\\0two\"\n", 2, 14, "a NUL character"},
    {"name: x\nclient:\n  args: {\"grpc.x\\0y\": 1}\n", 3, 17, "a NUL character"},
    {"name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaa\n",
     1, 7, "'name' must be at most 100 characters, not 108"},
    {"name: x\nsummary: \"bad \\e[31mred\"\n", 2, 15,
     "'summary' holds a control character (U+001B); a summary is one line of plain text"},
    {"name: x\nsummary: \"a\\tb\"\n", 2, 12, "control character (U+0009)"},
    {"name: x\nsummary: \"a\\u0085b\"\n", 2, 12, "control character (U+0085)"},
    {"name: x\nsummary: |\n  two\n  lines\n", 2, 10, "control character (U+000A)"},
    /* the control characters of a value are shown escaped in the message itself */
    {"name: \"\\e[2J\"\n", 1, 7, "not '\\x1B[2J'"},
};

static void test_broken(void **state) {
  (void)state;
  size_t n = sizeof broken / sizeof broken[0];
  assert_true(n >= 25);
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    fl_scenario *s = (fl_scenario *)&s; /* must be reset to NULL on error */
    fl_error err;
    /* The UTF-16 case carries a NUL: its length is known, not measured. */
    size_t len = broken[i].yaml[0] == '\xff' ? 4 : strlen(broken[i].yaml);
    int rc = fl_scenario_parse("test.yaml", broken[i].yaml, len, &s, &err);
    char where[64];
    snprintf(where, sizeof where, "test.yaml:%d:%d: ", broken[i].line, broken[i].col);
    if (rc != -1 || s != NULL || err.line != broken[i].line || err.col != broken[i].col ||
        strncmp(err.msg, where, strlen(where)) || !strstr(err.msg, broken[i].msg)) {
      print_error("case %zu (%s):\n  got  rc=%d %d:%d %s\n  want %s...%s\n", i, broken[i].yaml, rc,
                  err.line, err.col, err.msg, where, broken[i].msg);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(fl_rpc_name(FL_RPC_UNARY), "unary");
  assert_string_equal(fl_rpc_name(FL_RPC_SERVER_STREAM), "server_stream");
  assert_string_equal(fl_rpc_name(FL_RPC_CLIENT_STREAM), "client_stream");
  assert_string_equal(fl_rpc_name(FL_RPC_BIDI), "bidi");
  assert_string_equal(fl_rpc_method(FL_RPC_UNARY), "/faultline.Test/Unary");
  assert_string_equal(fl_rpc_method(FL_RPC_SERVER_STREAM), "/faultline.Test/ServerStream");
  assert_string_equal(fl_rpc_method(FL_RPC_CLIENT_STREAM), "/faultline.Test/ClientStream");
  assert_string_equal(fl_rpc_method(FL_RPC_BIDI), "/faultline.Test/Bidi");
  static const struct {
    fl_step_kind k;
    const char *name;
  } steps[] = {{FL_STEP_SEND, "send"},
               {FL_STEP_RECV, "recv"},
               {FL_STEP_SLEEP, "sleep"},
               {FL_STEP_CLOSE_SEND, "close_send"},
               {FL_STEP_CANCEL, "cancel"},
               {FL_STEP_STATUS, "status"},
               {FL_STEP_WAIT, "wait"},
               {FL_STEP_DUMP, "dump"},
               {FL_STEP_STOP_READING, "stop_reading"},
               {FL_STEP_RESUME_READING, "resume_reading"},
               {FL_STEP_SHUTDOWN, "shutdown"}};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    assert_string_equal(fl_step_name(steps[i].k), steps[i].name);
  fl_scenario_free(NULL);
}

/* The steps and keys of the scenario capabilities, and their defaults. */
static void test_capabilities(void **state) {
  (void)state;
  const char *yaml = "name: caps\n"
                     "streams: 4\n"
                     "server:\n"
                     "  script:\n"
                     "    - recv: { count: all, delay: 50ms }\n"
                     "    - stop_reading\n"
                     "    - resume_reading\n"
                     "    - recv: { count: 2 }\n"
                     "    - shutdown: graceful\n"
                     "    - shutdown: abrupt\n"
                     "    - shutdown: { mode: graceful, deadline: 500ms }\n"
                     "    - shutdown: { deadline: 1s }\n"
                     "    - send: { payload: oversize }\n"
                     "    - stop_reading\n"
                     "client:\n"
                     "  args: { grpc.max_receive_message_length: 2048 }\n"
                     "  script:\n"
                     "    - send: { count: 200, size: 16KiB, payload: null_values, interval: 10ms, "
                     "background: true }\n"
                     "    - send: { payload: { kind: nested, depth: 32 } }\n"
                     "    - send: { payload: nested }\n"
                     "    - send: { payload: empty }\n"
                     "    - send: { payload: bytes }\n"
                     "    - send: { size: 7, payload: { kind: bytes, seed: 42 } }\n"
                     "    - send: { payload: { kind: malformed, defect: invalid_utf8 } }\n"
                     "    - send: { payload: { defect: length_past_end, kind: malformed } }\n"
                     "    - send: { background: false }\n";
  fl_scenario *s;
  fl_error err;
  int rc = parse(yaml, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s->streams, 4);

  const fl_step *st = s->server.steps;
  assert_int_equal(s->server.n_steps, 10);
  assert_int_equal(st[0].kind, FL_STEP_RECV);
  assert_true(st[0].count == FL_RECV_ALL);
  assert_int_equal(st[0].delay_ns, 50000000);
  assert_int_equal(st[1].kind, FL_STEP_STOP_READING);
  assert_int_equal(st[2].kind, FL_STEP_RESUME_READING);
  assert_int_equal(st[3].count, 2);
  assert_int_equal(st[3].delay_ns, 0);
  assert_int_equal(st[4].kind, FL_STEP_SHUTDOWN);
  assert_int_equal(st[4].shutdown_mode, FL_SHUTDOWN_GRACEFUL);
  assert_int_equal(st[4].shutdown_deadline_ns, 0);
  assert_int_equal(st[5].shutdown_mode, FL_SHUTDOWN_ABRUPT);
  assert_int_equal(st[6].shutdown_mode, FL_SHUTDOWN_GRACEFUL);
  assert_int_equal(st[6].shutdown_deadline_ns, 500000000);
  assert_int_equal(st[7].shutdown_mode, FL_SHUTDOWN_GRACEFUL); /* mode defaults to graceful */
  assert_int_equal(st[7].shutdown_deadline_ns, 1000000000);
  assert_int_equal(st[8].payload, FL_PAYLOAD_OVERSIZE);
  assert_int_equal(st[8].recv_limit, 2048);           /* the client's limit: it receives */
  assert_int_equal(st[9].kind, FL_STEP_STOP_READING); /* never resumed: fine */

  st = s->client.steps;
  assert_int_equal(s->client.n_steps, 9);
  assert_int_equal(st[0].count, 200);
  assert_int_equal(st[0].size, 16384);
  assert_int_equal(st[0].payload, FL_PAYLOAD_NULL_VALUES);
  assert_int_equal(st[0].interval_ns, 10000000);
  assert_true(st[0].background);
  assert_int_equal(st[1].payload, FL_PAYLOAD_NESTED);
  assert_int_equal(st[1].depth, 32);
  assert_int_equal(st[2].depth, 8); /* the default depth */
  assert_int_equal(st[3].payload, FL_PAYLOAD_EMPTY);
  assert_int_equal(st[4].payload, FL_PAYLOAD_BYTES);
  assert_int_equal(st[4].size, 64); /* bytes without a size: 64 */
  assert_int_equal(st[4].seed, 1);
  assert_int_equal(st[5].size, 7);
  assert_int_equal(st[5].seed, 42);
  assert_int_equal(st[6].payload, FL_PAYLOAD_MALFORMED);
  assert_int_equal(st[6].defect, FL_DEFECT_INVALID_UTF8);
  assert_int_equal(st[7].defect, FL_DEFECT_LENGTH_PAST_END);
  assert_false(st[8].background);
  assert_int_equal(st[8].payload, FL_PAYLOAD_STRUCT);
  fl_scenario_free(s);

  /* The defaults: one stream; oversize towards a side without a limit uses C core's 4 MiB. */
  rc = parse("name: d\nclient:\n  script:\n    - send: {payload: oversize}\n", &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s->streams, 1);
  assert_int_equal(s->client.steps[0].recv_limit, FL_DEFAULT_RECV_LIMIT);
  fl_scenario_free(s);
  /* C core reads that argument as an integer whatever the quoting; and a size converts. */
  rc = parse("name: d\nserver:\n  args: {grpc.max_receive_message_length: \"100\"}\nclient:\n"
             "  script:\n    - send: {payload: oversize}\n",
             &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s->client.steps[0].recv_limit, 100);
  fl_scenario_free(s);
  rc = parse("name: d\nserver:\n  args: {grpc.max_receive_message_length: 8MiB}\nclient:\n"
             "  script:\n    - send: {payload: oversize}\n",
             &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s->client.steps[0].recv_limit, 8 << 20);
  fl_scenario_free(s);
}

/* A status message with tabs, newlines and non-ASCII must reach the peer byte for byte. */
static void test_status_message_exact(void **state) {
  (void)state;
  const char *yaml = "name: msg\n"
                     "server:\n"
                     "  script:\n"
                     "    - status:\n"
                     "        code: INVALID_ARGUMENT\n"
                     "        message: \"\\tindented\\n\\u65e5\\u672c \\\"q\\\" \\\\ end \"\n"
                     "    - status: {code: OK, message: ''}\n";
  fl_scenario *s;
  fl_error err;
  int rc = parse(yaml, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s->server.steps[0].status_code, 3);
  assert_string_equal(s->server.steps[0].status_message,
                      "\tindented\n\xe6\x97\xa5\xe6\x9c\xac \"q\" \\ end ");
  assert_string_equal(s->server.steps[1].status_message, "");
  fl_scenario_free(s);
}

/* Writes `text` to dir/name; returns the path (static buffer). */
static const char *write_file(const char *dir, const char *name, const char *text) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
  return path;
}

/* What is not a scenario file is refused before it is read: a fifo must not block, a device
 * must not be read for ever, and no file is read past 16 MiB. */
static void test_read_refuses(void **state) {
  (void)state;
  char dir[] = "/tmp/faultline-read-XXXXXX", path[300];
  assert_non_null(mkdtemp(dir));
  fl_scenario *s = (fl_scenario *)&s;
  fl_error err;

  snprintf(path, sizeof path, "%s/fifo.yaml", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(fl_scenario_load(path, &s, &err), -1); /* returns: no writer is waited for */
  assert_null(s);
  assert_non_null(strstr(err.msg, "not a regular file (a fifo); a scenario is a YAML file"));
  assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
  unlink(path);

  assert_int_equal(fl_scenario_load("/dev/zero", &s, &err), -1);
  assert_string_equal(err.msg,
                      "/dev/zero: not a regular file (a character device); a scenario is a YAML "
                      "file");
  assert_int_equal(fl_scenario_load(dir, &s, &err), -1);
  assert_non_null(strstr(err.msg, "not a regular file (a directory)"));

  char *text;
  size_t len;
  assert_int_equal(fl_scenario_read("/dev/null", &text, &len, &err), -1);
  assert_null(text);

  /* 16 MiB and one byte (sparse: no disk is used) */
  snprintf(path, sizeof path, "%s/big.yaml", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, FL_SCENARIO_MAX_BYTES + 1), 0);
  close(fd);
  assert_int_equal(fl_scenario_load(path, &s, &err), -1);
  assert_non_null(strstr(err.msg, "big.yaml: larger than 16 MiB, the most a scenario file may "
                                  "hold"));
  assert_int_equal(truncate(path, FL_SCENARIO_MAX_BYTES), 0); /* the cap itself: read, then */
  assert_int_equal(fl_scenario_read(path, &text, &len, &err), 0);
  assert_int_equal(len, FL_SCENARIO_MAX_BYTES);
  free(text);
  unlink(path);
  char *huge = calloc(1, FL_SCENARIO_MAX_BYTES + 2);
  assert_non_null(huge);
  memset(huge, ' ', FL_SCENARIO_MAX_BYTES + 1);
  assert_int_equal(fl_scenario_parse("mem.yaml", huge, FL_SCENARIO_MAX_BYTES + 1, &s, &err), -1);
  assert_non_null(strstr(err.msg, "larger than 16 MiB"));
  free(huge);
  rmdir(dir);
}

/* A file is named after its scenario, so that `list` and `show NAME` agree. */
static void test_file_name_agrees(void **state) {
  (void)state;
  char dir[] = "/tmp/faultline-name-XXXXXX";
  assert_non_null(mkdtemp(dir));
  fl_scenario *s;
  fl_error err;
  const char *p = write_file(dir, "fail.yaml", "# a comment\nname: fail-me\n");
  assert_int_equal(fl_scenario_load(p, &s, &err), 0);         /* a valid scenario, */
  assert_int_equal(fl_scenario_check_file_name(s, &err), -1); /* in a file misnamed */
  fl_scenario_free(s);
  char want[512];
  snprintf(want, sizeof want,
           "%s:2:7: the file is named 'fail.yaml' but its scenario is named 'fail-me'; a "
           "scenario file is named after its scenario: rename the file to fail-me.yaml, or "
           "change 'name' to 'fail'",
           p);
  assert_string_equal(err.msg, want);
  unlink(p);
  p = write_file(dir, "ok-one.yml", "name: ok-one\n");
  assert_int_equal(fl_scenario_load(p, &s, &err), 0);
  assert_int_equal(fl_scenario_check_file_name(s, &err), 0);
  fl_scenario_free(s);
  unlink(p);
  /* a run directory's copy keeps the name scenario.yaml */
  const char *text = "name: ping-pong\nsummary: copy\n";
  p = write_file(dir, "scenario.yaml", text);
  assert_int_equal(fl_scenario_load(p, &s, &err), 0);
  assert_int_equal(fl_scenario_check_file_name(s, &err), 0);
  /* and the bytes parsed are kept whole, for the next copy */
  assert_int_equal(s->source_len, strlen(text));
  assert_memory_equal(s->source, text, strlen(text));
  fl_scenario_free(s);
  unlink(p);
  /* the loader alone does not care (a peer loads what the runner gives it) */
  p = write_file(dir, "peer-data.yaml", "name: interop-thing\n");
  assert_int_equal(fl_scenario_load(p, &s, &err), 0);
  fl_scenario_free(s);
  unlink(p);
  rmdir(dir);
}

/* Accepted but probably not meant: a warning with file:line:col, and the file stays valid. */
static void test_warnings(void **state) {
  (void)state;
  fl_scenario *s;
  fl_error err;
  int rc = parse("name: w\nclient:\n  args:\n    grpc.http2.lookahead_byte: 100\n"
                 "    grpc.keepalive_time_ms: 30s\n    grpc.http2.bdp_probe: false\n"
                 "    custom.thing: hello\n",
                 &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s->n_warnings, 2);
  assert_string_equal(s->warnings[0],
                      "test.yaml:4:5: warning: 'grpc.http2.lookahead_byte' is not a channel "
                      "argument gRPC C core 1.51 declares; did you mean "
                      "'grpc.http2.lookahead_bytes'? (passed to C core as written)");
  assert_string_equal(s->warnings[1],
                      "test.yaml:7:5: warning: 'custom.thing' is not a channel argument gRPC C "
                      "core 1.51 declares (passed to C core as written)");
  const fl_channel_arg *a = s->client.args;
  assert_true(a[0].is_int);
  assert_int_equal(a[0].int_value, 100);
  assert_true(a[1].is_int);
  assert_int_equal(a[1].int_value, 30000);
  assert_string_equal(a[1].value, "30s"); /* as written, for the report */
  assert_true(a[2].is_int);
  assert_int_equal(a[2].int_value, 0);
  assert_false(a[3].is_int);
  fl_scenario_free(s);

  rc = parse("name: w\nserver:\n  args: {grpc.http2.bdp_probe: 0}\n", &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s->n_warnings, 0);
  fl_scenario_free(s);
}

/* The top of every range is accepted: the limits are inclusive, as the README says. */
static void test_limits_inclusive(void **state) {
  (void)state;
  fl_scenario *s;
  fl_error err;
  int rc = parse("name: edge\ntimeout: 24h\ndeadline: 86400s\nhang_after: 1440m\n"
                 "capture: {samples: 10ms, snaplen: 262144}\n"
                 "client:\n  script:\n    - send: {count: 1000000, size: 2147483647}\n"
                 "    - sleep: 24h\n    - recv: 1000000\n",
                 &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s->timeout_ns, FL_DURATION_MAX_NS);
  assert_int_equal(s->client.steps[0].size, FL_SIZE_MAX);
  assert_int_equal(s->client.steps[0].count, FL_COUNT_MAX);
  fl_scenario_free(s);
  char name[FL_NAME_MAX + 16];
  memset(name, 'a', FL_NAME_MAX);
  name[FL_NAME_MAX] = '\0';
  char text[256];
  snprintf(text, sizeof text, "name: %s\n", name);
  rc = parse(text, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  fl_scenario_free(s);
}

static void test_printable(void **state) {
  (void)state;
  char buf[64];
  assert_string_equal(fl_printable("plain é 日本", buf, sizeof buf), "plain é 日本");
  assert_string_equal(fl_printable("\x1b[31mred\x7f", buf, sizeof buf), "\\x1B[31mred\\x7F");
  assert_string_equal(fl_printable("a\tb\nc", buf, sizeof buf), "a\\x09b\\x0Ac");
  assert_string_equal(fl_printable("c1:\xc2\x9b!", buf, sizeof buf), "c1:\\u009B!");
  assert_string_equal(fl_printable("\x1b\x1b", buf, 6), "\\x1B"); /* cut whole, terminated */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_broken),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_status_message_exact),
      cmocka_unit_test(test_capabilities),
      cmocka_unit_test(test_read_refuses),
      cmocka_unit_test(test_file_name_agrees),
      cmocka_unit_test(test_warnings),
      cmocka_unit_test(test_limits_inclusive),
      cmocka_unit_test(test_printable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
