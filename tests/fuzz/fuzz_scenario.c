/*
 * libFuzzer target: the scenario parser from memory (fl_scenario_parse), the whole of what a
 * scenario file can feed it. Besides crashes, leaks and undefined behaviour (the sanitizers'),
 * it checks what the parser promises: an error carries a message and a place inside the text,
 * and a scenario it accepts keeps every range of scenario.h "Limits".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) __builtin_trap();                                                                 \
  } while (0)

static void check_duration(int64_t ns, int64_t min) {
  REQUIRE(ns >= min && ns <= FL_DURATION_MAX_NS);
}

static void check_side(const fl_side_plan *sp, uint32_t streams) {
  uint64_t messages = 0;
  for (size_t i = 0; i < sp->n_args; i++) REQUIRE(sp->args[i].key && sp->args[i].value);
  for (size_t i = 0; i < sp->n_steps; i++) {
    const fl_step *st = &sp->steps[i];
    REQUIRE(st->line >= 1 && st->col >= 1);
    REQUIRE(fl_step_name(st->kind)[0] != '(');
    switch (st->kind) {
    case FL_STEP_SEND:
      REQUIRE(st->count >= 1 && st->count <= FL_COUNT_MAX);
      REQUIRE(st->size <= (uint64_t)FL_SIZE_MAX);
      REQUIRE(st->depth >= 1 && st->depth <= FL_NESTED_MAX_DEPTH);
      check_duration(st->interval_ns, 0);
      messages += st->count * streams;
      REQUIRE(messages <= FL_SIDE_MESSAGES_MAX);
      /* The user's own payloads carry what they need; hex has its bytes already, the rest
       * wait for fl_scenario_resolve (which the fuzzer never calls: it reads no file). */
      switch (st->payload) {
      case FL_PAYLOAD_PROTO:
        REQUIRE(st->foreign && st->foreign->proto.file && st->foreign->type && st->foreign->text);
        REQUIRE(!st->foreign->ready && !st->size_set);
        break;
      case FL_PAYLOAD_HEX:
        REQUIRE(st->foreign && st->foreign->ready && st->foreign->bytes && !st->size_set);
        break;
      case FL_PAYLOAD_FILE: REQUIRE(st->foreign && st->foreign->file && !st->foreign->ready); break;
      default: REQUIRE(!st->foreign); break;
      }
      break;
    case FL_STEP_RECV:
      REQUIRE(st->count == FL_RECV_ALL || (st->count >= 1 && st->count <= FL_COUNT_MAX));
      check_duration(st->delay_ns, 0);
      break;
    case FL_STEP_SLEEP: check_duration(st->duration_ns, 0); break;
    case FL_STEP_SHUTDOWN:
      REQUIRE(st->shutdown_deadline_ns == 0 || st->shutdown_deadline_ns <= FL_DURATION_MAX_NS);
      break;
    case FL_STEP_STATUS: REQUIRE(st->status_code >= 0 && st->status_code <= 16); break;
    case FL_STEP_WAIT: REQUIRE(st->predicate && st->text); break;
    default: break;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fl_scenario *s = NULL;
  fl_error err;
  if (fl_scenario_parse("fuzz.yaml", (const char *)data, size, &s, &err) != 0) {
    REQUIRE(s == NULL);
    REQUIRE(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg));
    REQUIRE(err.line >= 0 && err.col >= 0);
    /* lines count from 1; a place beyond the text's last line would mislead. YAML breaks
     * lines at LF, CR, CR LF, NEL, LS and PS. */
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
      bool lf = data[i] == '\n', cr = data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n');
      bool nel = i + 1 < size && data[i] == 0xC2 && data[i + 1] == 0x85;
      bool lsps = i + 2 < size && data[i] == 0xE2 && data[i + 1] == 0x80 &&
                  (data[i + 2] == 0xA8 || data[i + 2] == 0xA9);
      lines += lf || cr || nel || lsps;
    }
    REQUIRE((size_t)err.line <= lines + 1);
    for (const char *p = err.msg; *p; p++) REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7F);
    return 0;
  }
  REQUIRE(s->name && strlen(s->name) >= 1 && strlen(s->name) <= FL_NAME_MAX);
  REQUIRE(s->source_len == size && !memcmp(s->source, data, size));
  for (const char *p = s->summary; *p; p++) REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7F);
  REQUIRE(s->deadline_ns == 0 || (s->deadline_ns > 0 && s->deadline_ns <= FL_DURATION_MAX_NS));
  check_duration(s->timeout_ns, 1);
  check_duration(s->hang_after_ns, 1);
  check_duration(s->capture.sample_interval_ns, FL_SAMPLES_MIN_NS);
  REQUIRE(s->capture.snaplen >= 1 && s->capture.snaplen <= FL_SNAPLEN_MAX);
  REQUIRE(s->streams >= 1 && s->streams <= FL_STREAMS_MAX);
  /* method: /SERVICE/METHOD, exactly two '/', and decode only for such a method */
  if (s->method) {
    const char *m = s->method;
    REQUIRE(m[0] == '/' && strchr(m + 1, '/') && !strchr(strchr(m + 1, '/') + 1, '/'));
  }
  REQUIRE(!s->decode.present || (fl_scenario_foreign(s) && s->decode.proto.file &&
                                 (s->decode.request_type || s->decode.response_type)));
  REQUIRE(!s->resolved && !s->base_dir);
  const fl_calls_plan *cp = &s->calls;
  REQUIRE(cp->count >= 1 && cp->count <= FL_CALLS_MAX);
  REQUIRE(cp->concurrency >= 1 && cp->concurrency <= cp->count);
  REQUIRE(cp->channels >= 1 && cp->channels <= cp->count);
  REQUIRE(cp->every_ns >= 0 && cp->every_ns <= FL_DURATION_MAX_NS);
  REQUIRE(s->server.accept <= cp->count && s->client.accept == 0);
  for (size_t i = 0; i < s->client.metadata.n; i++)
    REQUIRE(s->client.metadata.entries[i].len <= FL_METADATA_VALUE_MAX);
  check_side(&s->server, cp->count);
  check_side(&s->client, cp->count);
  for (size_t i = 0; i < s->n_expect; i++) REQUIRE(s->expect[i].predicate && s->expect[i].text);
  for (size_t i = 0; i < s->n_warnings; i++) REQUIRE(strstr(s->warnings[i], "warning: "));
  fl_scenario_free(s);
  return 0;
}
