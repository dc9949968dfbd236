/*
 * jsonout: how faultline writes JSON (report.json, events.jsonl, frames), through jansson.
 *
 * Every file faultline writes parses with a strict JSON parser: jansson refuses strings that
 * are not UTF-8, so bytes from the outside world (a status message a peer sent, a GOAWAY's
 * debug data) go through fl_json_set_bytes, which keeps the original bytes recoverable: the
 * value is the text with each byte that is not part of valid UTF-8 replaced by U+FFFD, and,
 * only when something was replaced, a sibling key "<key>_hex" holds the raw bytes in hex.
 * NUL and control characters are valid UTF-8 and are kept (JSON escapes them).
 */
#ifndef FL_JSONOUT_H
#define FL_JSONOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

/* A JSON string of the bytes, with invalid UTF-8 replaced; *replaced (may be NULL) says
 * whether anything was. NULL only if out of memory. */
json_t *fl_json_bytes(const char *s, size_t len, bool *replaced);

/* Sets obj[key] to the bytes as above (len SIZE_MAX: up to the NUL; s NULL: JSON null), and
 * obj[key + "_hex"] when bytes were replaced. Returns 0, or -1 if out of memory. */
FL_MUST_USE int fl_json_set_bytes(json_t *obj, const char *key, const char *s, size_t len);

/* obj[key] = value, taking the reference (value NULL: JSON null). Returns 0, or -1. */
FL_MUST_USE int fl_json_set(json_t *obj, const char *key, json_t *value);

/* Milliseconds from nanoseconds, to the microsecond (3 decimals). */
json_t *fl_json_ms(int64_t ns);

/* Writes `value` to `out` (pretty: indented; else one line) followed by a newline. Returns 0,
 * or -1 with the reason in err (the stream's error). */
FL_MUST_USE int fl_json_write(FILE *out, const json_t *value, bool pretty, char *err,
                              size_t errlen);

#endif
