/*
 * libFuzzer target: the predicate language (fl_predicate_parse) and the literal parsers it
 * shares with scenarios (fl_parse_duration, fl_parse_size). A clause that parses is evaluated
 * against values of its field's type and its value formatted, as the verdict does; an error's
 * column stays inside the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "predicate.h"

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) __builtin_trap();                                                                 \
  } while (0)

/* Every field known, with values drawn from the input so comparisons go both ways. */
static bool lookup(void *ctx, fl_scope scope, const fl_field_info *field, fl_value *out) {
  (void)scope;
  uint64_t seed = *(const uint64_t *)ctx;
  out->type = field->type;
  out->known = seed & 1;
  out->i = (int64_t)(seed >> 1);
  if (field->type == FL_VAL_STATUS) out->i = (int64_t)(seed % 17);
  if (field->type == FL_VAL_BOOL) out->i = (int64_t)((seed >> 1) & 1);
  if (field->type == FL_VAL_OUTCOME) out->i = (int64_t)((seed >> 1) % 5);
  out->s = field->type == FL_VAL_STRING ? "seen \"text\"\n\t\x01" : NULL;
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  size_t chars = 0;
  for (const char *p = text; *p; p++) chars += ((unsigned char)*p & 0xC0) != 0x80;

  int64_t v;
  int rc = fl_parse_duration(text, &v);
  REQUIRE(rc == 0 || rc == -1 || rc == -2);
  if (rc == 0) REQUIRE(v >= 0);
  rc = fl_parse_size(text, &v);
  REQUIRE(rc == 0 || rc == -1 || rc == -2);
  if (rc == 0) REQUIRE(v >= 0);

  fl_predicate *p = NULL;
  char msg[512];
  int col = -1;
  if (fl_predicate_parse(text, &p, msg, sizeof msg, &col) == 0) {
    REQUIRE(p != NULL);
    REQUIRE(fl_predicate_field(p) != NULL);
    REQUIRE(fl_predicate_field_text(p)[0] != '\0');
    fl_scope scope = fl_predicate_scope(p);
    REQUIRE(scope == FL_SCOPE_GLOBAL || scope == FL_SCOPE_SERVER || scope == FL_SCOPE_CLIENT);
    uint64_t seeds[3] = {0, size * 2654435761u, ((uint64_t)size << 33) | 1};
    for (int i = 0; i < 3; i++) {
      fl_value seen;
      fl_predicate_eval(p, lookup, &seeds[i], &seen);
      char buf[256];
      fl_value_format(&seen, buf, sizeof buf);
      REQUIRE(memchr(buf, '\0', sizeof buf));
    }
    fl_predicate_free(p);
  } else {
    REQUIRE(msg[0] != '\0' && memchr(msg, '\0', sizeof msg));
    REQUIRE(col >= 0 && (size_t)col <= chars);
  }
  free(text);
  return 0;
}
