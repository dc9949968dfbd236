/*
 * metadata: the custom gRPC metadata a built-in side sends (issue 11, "Headers and metadata"),
 * and the one text form received metadata is shown in (events, the SIDE.headers and
 * SIDE.trailers fields, report.json).
 *
 *   client:
 *     metadata: { x-user: alice, x-trace-bin: q83v }  # request headers of every call
 *   server:
 *     metadata: { x-served-by: faultline }           # response headers
 *     trailers: { x-checksum: "42" }                 # trailing metadata, with every status
 *
 * Keys are what gRPC allows (lowercase letters, digits, '-', '_', '.'), at most
 * FL_METADATA_KEY_MAX characters, none of gRPC's own (grpc-*, content-type, te, user-agent).
 * A value is printable ASCII (space to '~') sent as written; the value of a key ending in
 * "-bin" is binary, written in base64 (padding optional) and sent as the bytes it stands for
 * (C core base64-encodes them again on the wire). The text form is one "key=value" line an
 * entry, in the order received, a -bin value in padded base64.
 */
#ifndef FL_METADATA_H
#define FL_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan_yaml.h"
#include "util.h"

#define FL_METADATA_MAX_ENTRIES 64
#define FL_METADATA_KEY_MAX 128
/* A value's bytes: past C core's default limit for a whole set (grpc.max_metadata_size, 8 KiB),
 * so a scenario can show what that limit does. */
#define FL_METADATA_VALUE_MAX 16384
/* The text form is cut there (it travels in one event line): it then ends in "...". */
#define FL_METADATA_TEXT_MAX 16384

typedef struct {
  char *key;
  uint8_t *value; /* the bytes sent (a -bin value decoded) */
  size_t len;
} fl_metadata_entry;

typedef struct {
  fl_metadata_entry *entries;
  size_t n;
} fl_metadata_plan;

/* Parses a map of metadata; `what` names it in messages ("metadata", "trailers"). */
FL_MUST_USE int fl_metadata_parse(const fl_plan_yaml *y, yaml_node_t *n, const char *what,
                                  fl_metadata_plan *out);
void fl_metadata_free(fl_metadata_plan *m);

/* Whether a key ends in -bin (its value is binary). */
bool fl_metadata_is_bin(const char *key, size_t len);

/* Appends "key=value" to `text` (FL_METADATA_TEXT_MAX bytes, NUL-terminated, "" to begin
 * with), after a newline when it holds an entry already. What does not fit is cut, and the
 * text then ends in "..."; nothing is added after that. */
void fl_metadata_text_add(char *text, const char *key, size_t klen, const uint8_t *value,
                          size_t vlen);

/*
 * deadline_metadata: KEY — an application deadline passed as an absolute wall-clock time in
 * request metadata, as some services do beside (or instead of) gRPC's relative grpc-timeout.
 * The client puts its call's deadline there (its own CLOCK_REALTIME when the call starts plus
 * the scenario's `deadline:`) as decimal Unix milliseconds; the server's handler reads the
 * key and judges it on its own CLOCK_REALTIME, so a skew between the two wall clocks moves
 * that deadline, where gRPC's own deadline (relative, on each side's monotonic clock) holds.
 * KEY is a metadata key a script may set (as in `metadata:`), not a -bin one.
 */
FL_MUST_USE int fl_metadata_deadline_parse(const fl_plan_yaml *y, yaml_node_t *n, char **out);

/* The value's text: decimal Unix milliseconds, at most FL_METADATA_DEADLINE_TEXT bytes with
 * its NUL. Format writes it into out and returns its length; read takes the bytes a server
 * received and returns 0, or -1 when they are not such a number. */
#define FL_METADATA_DEADLINE_TEXT 24
size_t fl_metadata_deadline_format(int64_t unix_ms, char *out);
int fl_metadata_deadline_read(const uint8_t *value, size_t len, int64_t *unix_ms);

/* Base64 (RFC 4648, standard alphabet). Encode writes padded text into out (at least
 * 4 * ((len + 2) / 3) + 1 bytes) and returns its length. Decode takes text with or without
 * padding and writes the bytes into out (at least 3 * (strlen / 4) + 3 bytes); returns their
 * number, or -1 if the text is not base64. */
size_t fl_base64_encode(const uint8_t *in, size_t len, char *out);
long fl_base64_decode(const char *in, size_t len, uint8_t *out);

#endif
