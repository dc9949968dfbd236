/* Call patterns in the plan (calls.h, metadata.h, the steps and side keys of issue 11): what
 * a scenario's calls:, metadata:, trailers:, accept: and the header and channel steps parse
 * into, and every refusal at its file:line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metadata.h"
#include "scenario.h"

static fl_scenario *parse_ok(const char *yaml) {
  fl_scenario *s = NULL;
  fl_error err;
  if (fl_scenario_parse("test.yaml", yaml, strlen(yaml), &s, &err) != 0)
    fail_msg("unexpected error: %s\n%s", err.msg, yaml);
  return s;
}

static void test_defaults(void **state) {
  (void)state;
  fl_scenario *s = parse_ok("name: x\n");
  assert_false(s->calls.present);
  assert_int_equal(s->calls.count, 1);
  assert_int_equal(s->calls.concurrency, 1);
  assert_int_equal(s->calls.channels, 1);
  assert_int_equal(s->calls.every_ns, 0);
  assert_false(s->calls.per_call);
  assert_int_equal(s->server.accept, 0);
  assert_int_equal(s->client.metadata.n, 0);
  fl_scenario_free(s);

  /* streams: N is N calls at once on one channel. */
  s = parse_ok("name: x\nstreams: 7\n");
  assert_int_equal(s->streams, 7);
  assert_int_equal(s->calls.count, 7);
  assert_int_equal(s->calls.concurrency, 7);
  assert_int_equal(s->calls.channels, 1);
  fl_scenario_free(s);
}

static void test_calls(void **state) {
  (void)state;
  fl_scenario *s = parse_ok("name: x\ncalls: { count: 5 }\n");
  assert_true(s->calls.present);
  assert_int_equal(s->calls.count, 5);
  assert_int_equal(s->calls.concurrency, 1); /* one after another */
  fl_scenario_free(s);

  s = parse_ok("name: x\ncalls: { count: 6, every: 250ms }\n");
  assert_int_equal(s->calls.every_ns, 250000000);
  assert_int_equal(s->calls.concurrency, 6); /* an open loop: no limit */
  fl_scenario_free(s);

  s = parse_ok("name: x\ncalls: { count: 6, every: 1s, concurrency: 2, channels: 3 }\n");
  assert_int_equal(s->calls.concurrency, 2);
  assert_int_equal(s->calls.channels, 3);
  assert_false(s->calls.per_call);
  fl_scenario_free(s);

  s = parse_ok("name: x\ncalls: { count: 9, channels: per_call }\n");
  assert_true(s->calls.per_call);
  assert_int_equal(s->calls.channels, 9);
  fl_scenario_free(s);

  /* The message limit counts every call. */
  s = parse_ok("name: x\ncalls: { count: 100000 }\nclient:\n  script:\n    - send: 10\n");
  assert_int_equal(s->calls.count, FL_CALLS_MAX);
  fl_scenario_free(s);
}

static void test_sides(void **state) {
  (void)state;
  fl_scenario *s = parse_ok("name: x\n"
                            "calls: { count: 3 }\n"
                            "server:\n"
                            "  accept: 2\n"
                            "  metadata: { x-served-by: faultline }\n"
                            "  trailers: { x-checksum: \"42\", x-raw-bin: q6ur }\n"
                            "  script:\n"
                            "    - send_headers\n"
                            "client:\n"
                            "  metadata: { x-user: alice, x-empty: \"\" }\n"
                            "  script:\n"
                            "    - recv_headers\n"
                            "    - close_channel\n");
  assert_int_equal(s->server.accept, 2);
  assert_int_equal(s->server.metadata.n, 1);
  assert_string_equal(s->server.metadata.entries[0].key, "x-served-by");
  assert_int_equal(s->server.metadata.entries[0].len, 9);
  assert_memory_equal(s->server.metadata.entries[0].value, "faultline", 9);
  assert_int_equal(s->server.trailers.n, 2);
  /* A -bin value is written in base64 and sent as its bytes. */
  assert_int_equal(s->server.trailers.entries[1].len, 3);
  assert_memory_equal(s->server.trailers.entries[1].value, "\xab\xab\xab", 3);
  assert_int_equal(s->client.metadata.n, 2);
  assert_int_equal(s->client.metadata.entries[1].len, 0);
  assert_int_equal(s->server.steps[0].kind, FL_STEP_SEND_HEADERS);
  assert_int_equal(s->client.steps[0].kind, FL_STEP_RECV_HEADERS);
  assert_int_equal(s->client.steps[1].kind, FL_STEP_CLOSE_CHANNEL);
  assert_null(s->client.deadline_metadata);
  assert_string_equal(fl_step_name(FL_STEP_SEND_HEADERS), "send_headers");
  assert_string_equal(fl_step_name(FL_STEP_RECV_HEADERS), "recv_headers");
  assert_string_equal(fl_step_name(FL_STEP_CLOSE_CHANNEL), "close_channel");
  assert_string_equal(fl_step_name(FL_STEP_STOP_ACCEPTING), "stop_accepting");
  fl_scenario_free(s);
}

static const struct {
  const char *yaml;
  int line, col;
  const char *msg;
} broken[] = {
    {"name: x\ncalls: 5\n", 2, 8, "'calls' must be a map like { count: 10"},
    {"name: x\ncalls: { cont: 5 }\n", 2, 10, "unknown key 'cont' in calls; did you mean 'count'?"},
    {"name: x\ncalls: { count: 0 }\n", 2, 17, "'count' must be at least 1"},
    {"name: x\ncalls: { count: 100001 }\n", 2, 17, "'count' must be at most 100000, not '100001'"},
    {"name: x\ncalls: { count: 2, concurrency: 3 }\n", 2, 33,
     "'concurrency' is 3 but the run makes 2 calls"},
    {"name: x\ncalls: { count: 2, channels: 3 }\n", 2, 30,
     "3 channels for 2 calls would leave channels without a call"},
    {"name: x\ncalls: { count: 2, channels: some }\n", 2, 30,
     "'channels' must be a count like 4 or per_call, not 'some'"},
    {"name: x\ncalls: { count: 2, every: 0ms }\n", 2, 27, "'every' must be longer than 0"},
    {"name: x\ncalls: { count: 2, every: 2 }\n", 2, 27, "'2' has no unit"},
    {"name: x\ncalls: { count: 2, every: 25h }\n", 2, 27, "'every' must be at most 24h"},
    {"name: x\nstreams: 2\ncalls: { count: 2 }\n", 3, 1,
     "'streams' and 'calls' both say how many calls the run makes; streams: 2 is calls: { count: "
     "2, concurrency: 2 }"},
    {"name: x\ncalls: { count: 2 }\nstreams: 2\n", 3, 1, "'streams' and 'calls' both say"},
    {"name: x\ncalls: { count: 2 }\nclient:\n  exec: [./c]\n", 2, 1,
     "'calls' drives the built-in client; a client with exec: makes its own calls"},
    {"name: x\ncalls: { count: 2 }\nserver:\n  accept: 3\n", 4, 11,
     "the server would accept 3 calls but the run makes 2"},
    {"name: x\nserver:\n  accept: 0\n", 3, 11, "'accept' must be at least 1"},
    {"name: x\nclient:\n  accept: 1\n", 3, 3, "'accept' is the server's: how many calls it takes"},
    {"name: x\nclient:\n  trailers: { x-a: b }\n", 3, 3,
     "'trailers' is the server's: the client receives trailing metadata with its status"},
    {"name: x\nserver:\n  target: 127.0.0.1:1\n  metadata: { x-a: b }\n", 4, 3,
     "'metadata' drives the built-in peer; a side with exec: or target: sends its own"},
    {"name: x\nclient:\n  metadata: [x-a]\n", 3, 13, "'metadata' must be a map of metadata"},
    {"name: x\nclient:\n  metadata: { X-User: a }\n", 3, 15,
     "metadata key 'X-User' holds 'X'; gRPC keys are lowercase letters, digits, '-', '_' and '.'"},
    {"name: x\nclient:\n  metadata: { grpc-timeout: 1S }\n", 3, 15,
     "'grpc-timeout' is one of gRPC's own headers; a script cannot set it"},
    {"name: x\nclient:\n  metadata: { user-agent: me }\n", 3, 15, "one of gRPC's own headers"},
    {"name: x\nclient:\n  metadata: { x-a: }\n", 3, 20,
     "metadata 'x-a' must be a string (\"\" for an empty one), not nothing"},
    {"name: x\nclient:\n  metadata: { x-a: \"caf\\u00e9\" }\n", 3, 20,
     "metadata 'x-a' holds a byte 0xC3; a value is printable ASCII"},
    {"name: x\nclient:\n  metadata: { x-a-bin: \"not base64!\" }\n", 3, 24,
     "'x-a-bin' ends in -bin: its value is binary, written in base64"},
    {"name: x\nclient:\n  metadata: { x-a: b, x-a: c }\n", 3, 23,
     "duplicate key 'x-a' in metadata (first at line 3)"},
    {"name: x\nclient:\n  script:\n    - send_headers\n", 4, 7, "'send_headers' is a server step"},
    {"name: x\nserver:\n  script:\n    - recv_headers\n", 4, 7, "'recv_headers' is a client step"},
    {"name: x\nserver:\n  script:\n    - close_channel\n", 4, 7,
     "'close_channel' is a client step"},
    {"name: x\nclient:\n  script:\n    - stop_accepting\n", 4, 7,
     "'stop_accepting' is a server step"},
    {"name: x\nserver:\n  script:\n    - stop_accepting: 3\n", 4, 23,
     "'stop_accepting' takes no value; write it as '- stop_accepting'"},
    {"name: x\nclient:\n  script:\n    - close_channel: now\n", 4, 22,
     "'close_channel' takes no value; write it as '- close_channel'"},
    {"name: x\nclient:\n  script:\n    - recv_header\n", 4, 7,
     "unknown step 'recv_header'; did you mean 'recv_headers'?"},
    {"name: x\nclient:\n  deadline_metadata: x-deadline\n", 3, 22,
     "the client sends its call's deadline in 'x-deadline', but the scenario sets no 'deadline:'"},
    {"name: x\ndeadline: 1s\nclient:\n  deadline_metadata: x-deadline-bin\n", 4, 22,
     "'x-deadline-bin' ends in -bin, a binary value"},
    {"name: x\ndeadline: 1s\nclient:\n  deadline_metadata: [x]\n", 4, 22,
     "'deadline_metadata' names a metadata key like x-deadline-unix-ms, not a list"},
    {"name: x\nserver:\n  deadline_metadata: grpc-timeout\n", 3, 22, "one of gRPC's own headers"},
    {"name: x\ndeadline: 1s\nclient:\n  metadata: { x-d: \"1\" }\n  deadline_metadata: x-d\n", 5,
     22, "'x-d' is in the client's metadata already; deadline_metadata sets its value"},
    {"name: x\nserver:\n  target: 127.0.0.1:1\n  deadline_metadata: x-d\n", 4, 3,
     "'deadline_metadata' drives the built-in peer"},
    {"name: x\ncalls: { count: 2 }\nclient:\n  script:\n    - send: 600000\n", 5, 7,
     "the client sends 1200000 messages (counts x 2 calls)"},
};

static void test_broken(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
    fl_scenario *s = NULL;
    fl_error err;
    int rc = fl_scenario_parse("test.yaml", broken[i].yaml, strlen(broken[i].yaml), &s, &err);
    char where[64];
    snprintf(where, sizeof where, "test.yaml:%d:%d: ", broken[i].line, broken[i].col);
    if (rc != -1 || s != NULL || err.line != broken[i].line || err.col != broken[i].col ||
        strncmp(err.msg, where, strlen(where)) || !strstr(err.msg, broken[i].msg)) {
      print_error("case %zu (%s):\n  got  rc=%d %s\n  want %s...%s\n", i, broken[i].yaml, rc,
                  err.msg, where, broken[i].msg);
      failures++;
    }
    fl_scenario_free(s);
  }
  assert_int_equal(failures, 0);
}

/* deadline_metadata's value, both ways: what the client writes the server reads back, and
 * what is not decimal Unix milliseconds is refused. */
static void test_deadline_metadata(void **state) {
  (void)state;
  fl_scenario *s = parse_ok("name: x\n"
                            "deadline: 10s\n"
                            "server: { deadline_metadata: x-deadline-unix-ms }\n"
                            "client: { deadline_metadata: x-deadline-unix-ms }\n");
  assert_string_equal(s->server.deadline_metadata, "x-deadline-unix-ms");
  assert_string_equal(s->client.deadline_metadata, "x-deadline-unix-ms");
  fl_scenario_free(s);
  char text[FL_METADATA_DEADLINE_TEXT];
  size_t n = fl_metadata_deadline_format(INT64_C(1796243108198), text);
  assert_string_equal(text, "1796243108198");
  int64_t ms = 0;
  assert_int_equal(fl_metadata_deadline_read((const uint8_t *)text, n, &ms), 0);
  assert_int_equal(ms, INT64_C(1796243108198));
  assert_int_equal(fl_metadata_deadline_read((const uint8_t *)"", 0, &ms), -1);
  assert_int_equal(fl_metadata_deadline_read((const uint8_t *)"12a", 3, &ms), -1);
  assert_int_equal(fl_metadata_deadline_read((const uint8_t *)"-5", 2, &ms), -1);
  assert_int_equal(fl_metadata_deadline_read((const uint8_t *)"1234567890123456789", 19, &ms), -1);
}

static void test_base64(void **state) {
  (void)state;
  char out[16];
  uint8_t bytes[16];
  assert_int_equal(fl_base64_encode((const uint8_t *)"\xab\xab\xab", 3, out), 4);
  assert_string_equal(out, "q6ur");
  assert_int_equal(fl_base64_encode((const uint8_t *)"a", 1, out), 4);
  assert_string_equal(out, "YQ==");
  assert_int_equal(fl_base64_encode((const uint8_t *)"", 0, out), 0);
  assert_int_equal(fl_base64_decode("YQ==", 4, bytes), 1);
  assert_int_equal(bytes[0], 'a');
  assert_int_equal(fl_base64_decode("YQ", 2, bytes), 1); /* padding is optional */
  assert_int_equal(fl_base64_decode("YWJj", 4, bytes), 3);
  assert_memory_equal(bytes, "abc", 3);
  assert_int_equal(fl_base64_decode("Y", 1, bytes), -1);
  assert_int_equal(fl_base64_decode("Y*==", 4, bytes), -1);
}

static void test_metadata_text(void **state) {
  (void)state;
  static char text[FL_METADATA_TEXT_MAX];
  text[0] = '\0';
  fl_metadata_text_add(text, "x-a", 3, (const uint8_t *)"1", 1);
  assert_string_equal(text, "x-a=1");
  fl_metadata_text_add(text, "x-b-bin", 7, (const uint8_t *)"\xab\xab\xab", 3);
  assert_string_equal(text, "x-a=1\nx-b-bin=q6ur");
  assert_true(fl_metadata_is_bin("x-b-bin", 7));
  assert_false(fl_metadata_is_bin("bin", 3));

  /* What does not fit is cut, and says so; nothing comes after the cut. */
  static uint8_t big[FL_METADATA_TEXT_MAX];
  memset(big, 'v', sizeof big);
  text[0] = '\0';
  fl_metadata_text_add(text, "x-big", 5, big, sizeof big);
  size_t n = strlen(text);
  assert_int_equal(n, FL_METADATA_TEXT_MAX - 1);
  assert_string_equal(text + n - 3, "...");
  assert_memory_equal(text, "x-big=vvv", 9);
  fl_metadata_text_add(text, "x-c", 3, (const uint8_t *)"1", 1);
  assert_int_equal(strlen(text), n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_calls),
      cmocka_unit_test(test_sides),
      cmocka_unit_test(test_broken),
      cmocka_unit_test(test_deadline_metadata),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_metadata_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
