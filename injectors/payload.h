/*
 * payload: the messages a built-in peer sends, built for a payload kind, and what a receiver
 * can tell about the bytes it got.
 *
 * Every message is a faultline.Message {seq, data (google.protobuf.Struct), padding}. The bytes
 * are a function of the spec and seq only: the same scenario encodes the same bytes on every
 * run, so a hash of them shows whether encoding is stable (protobuf-c packs a Struct's map
 * entries in the order they were built; Go's map iteration does not give that).
 *
 * The kinds (scenario.h, fl_payload_kind), for message `seq`:
 *   struct       { seq: <seq>, name: "message-<seq>", even: <bool>,
 *                  nested: { depth: 1, label: "inner-<seq>", ok: true },
 *                  list: [ <seq>, "item", false, { k: "v" } ] }      + `size` padding bytes
 *   null_values  { seq: <seq>, nothing: null, empty_struct: {}, empty_list: [],
 *                  list: [ null, <seq>, null, "x", {}, [] ],
 *                  nested: { a: null, b: { c: null }, d: [] } }     + padding
 *                  (5 nulls, 10 fields, Structs 3 deep)
 *   nested       { level: 1, next: { level: 2, next: ... { level: <depth> } } } + padding
 *                  (`depth` Structs, 2*depth-1 fields)
 *   empty        zero bytes (decodes as a Message with every field unset)
 *   bytes        `size` bytes from a xorshift64* generator seeded with (seed, seq); not a
 *                Message, though a few such strings happen to decode
 *   malformed    a struct message with the defect appended or planted:
 *                  bad_wire_type     tag 0x0F 0x00: field 1 with wire type 7, which does not exist
 *                  truncated_varint  tag 0x08 then 0xFF 0xFF: the varint runs past the end
 *                  length_past_end   tag 0x1A, length 128, then 4 bytes
 *                  invalid_utf8      "name" holds "message-<seq>-\xC3\x28"; protobuf-c 1.4 does
 *                                    not check UTF-8 and decodes it (Go's proto3 decoder
 *                                    rejects it): the receiver reports it as invalid_utf8
 *   oversize     a struct message padded to exactly limit + 1 bytes (limit + 2 when the
 *                padding's length prefix cannot land on limit + 1)
 *   proto, hex,  the step's own bytes as the scenario loaded them (fl_scenario_resolve: protoc
 *   file         --encode of the text, the hex digits, the file), the same for every seq
 *
 * A message of a method that is not faultline.Test's (fl_scenario_foreign) is the user's, not a
 * faultline.Message: its receiver reports its size and hash, and either decodes it with protoc
 * (the scenario's `decode:` type for that side; the first FL_PAYLOAD_DECODE_MAX messages a peer
 * receives, each a protoc run of a few milliseconds in which the peer does not read) into text
 * of at most FL_PAYLOAD_TEXT_MAX bytes, or keeps its first FL_PAYLOAD_RAW_MAX bytes in hex.
 */
#ifndef FL_PAYLOAD_H
#define FL_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline.pb-c.h"
#include "scenario.h"

/* What to build. */
typedef struct {
  fl_payload_kind kind;
  uint64_t size;        /* padding bytes per message; bytes: the message's length */
  uint32_t depth;       /* nested: Structs deep, >= 1 */
  uint64_t seed;        /* bytes */
  fl_defect defect;     /* malformed */
  uint64_t limit;       /* oversize: the receiver's grpc.max_receive_message_length */
  const uint8_t *bytes; /* proto, hex, file: the step's bytes (NULL until resolved) */
  size_t bytes_len;
} fl_payload_spec;

/* What a receiver keeps of a message of the user's own method (above). */
#define FL_PAYLOAD_DECODE_MAX 100
#define FL_PAYLOAD_TEXT_MAX 4096
#define FL_PAYLOAD_RAW_MAX 64

/* The first FL_PAYLOAD_RAW_MAX bytes of buf as lowercase hex, with "..." after them when there
 * were more. Returns out. */
const char *fl_payload_raw_hex(const uint8_t *buf, size_t len,
                               char out[2 * FL_PAYLOAD_RAW_MAX + 4]);

/* The spec a `send` step describes. */
void fl_payload_spec_from_step(const fl_step *st, fl_payload_spec *spec);

/*
 * The Struct that message `seq` carries for spec->kind. Every value is owned by the returned
 * tree (allocated with malloc), so fl_payload_struct_free releases it. Returns NULL when out of
 * memory or when the kind carries no Struct (empty, bytes).
 */
Google__Protobuf__Struct *fl_payload_struct_new(const fl_payload_spec *spec, uint64_t seq);
void fl_payload_struct_free(Google__Protobuf__Struct *s);

/* The null_value entries one message of this kind carries (the same for every seq). */
uint64_t fl_payload_nulls(const fl_payload_spec *spec);

/*
 * Encodes message `seq` as it goes on the wire (without gRPC's 5-byte prefix) into a malloc'd
 * buffer; the caller frees *out (also when *len is 0). Returns 0, -ENOMEM, -EOVERFLOW (size
 * too large for memory) or -EINVAL (unknown kind or defect, or a proto, hex or file payload
 * whose bytes were never resolved).
 */
int fl_payload_encode(const fl_payload_spec *spec, uint64_t seq, uint8_t **out, size_t *len);

/* What a receiver learned from one message's bytes. */
typedef struct {
  bool decoded; /* protobuf-c unpacked it as a faultline.Message */
  /* NULL when nothing is wrong. Else the first problem of the bytes, found by walking the wire
   * format against faultline.Message's descriptors: "bad_wire_type", "truncated_varint",
   * "length_past_end", "truncated_fixed", "bad_field_number", "invalid_utf8" (the only one
   * protobuf-c lets through, so it may come with decoded == true), "too_deep"; or "rejected"
   * when protobuf-c refused bytes the walk found nothing wrong with. */
  const char *error;
  uint64_t seq;    /* its seq when decoded, else 0 */
  uint64_t fields; /* Struct entries at every depth, when decoded */
  uint64_t nulls;  /* Values holding null_value, in Structs and lists at every depth */
  uint32_t depth;  /* Structs deep: 0 without data, 1 for a flat Struct */
  uint64_t hash;   /* fl_payload_hash of the bytes */
} fl_payload_info;

/* Decodes `buf` as a faultline.Message and fills *info. Never fails: bad bytes give
 * decoded == false and an error name. */
void fl_payload_inspect(const uint8_t *buf, size_t len, fl_payload_info *info);

/* The wire-format walk on its own: NULL, or the name of the first problem (as in
 * fl_payload_info.error, never "rejected"). */
const char *fl_payload_check(const uint8_t *buf, size_t len);

/* FNV-1a 64 of the bytes, and as 16 lowercase hex digits (hex needs 17 bytes). */
uint64_t fl_payload_hash(const uint8_t *buf, size_t len);
const char *fl_payload_hash_hex(uint64_t h, char hex[17]);

#endif
