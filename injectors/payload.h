/*
 * payload: the messages a built-in peer sends, built for a payload kind, and what a receiver
 * can tell about the bytes it got.
 *
 * Every message is a faultline.Message {seq, data (google.protobuf.Struct), padding}. The bytes
 * are a function of the spec and seq only: the same scenario encodes the same bytes on every
 * run, so a hash of them can show whether encoding is stable.
 *
 * Kinds that are not a well-formed Message at all (empty, bytes, malformed) go through
 * fl_payload_encode only; fl_payload_struct_new is for the kinds that carry a Struct.
 */
#ifndef FL_PAYLOAD_H
#define FL_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline.pb-c.h"
#include "scenario.h"

/* What to build. New kinds add their parameters here (depth, seed, malformed kind, ...). */
typedef struct {
  fl_payload_kind kind;
  uint64_t size; /* padding bytes per message */
} fl_payload_spec;

/*
 * The Struct that message `seq` carries for spec->kind. Every value is owned by the returned
 * tree (allocated with malloc), so fl_payload_struct_free releases it. Returns NULL when out of
 * memory or when the kind carries no Struct.
 */
Google__Protobuf__Struct *fl_payload_struct_new(const fl_payload_spec *spec, uint64_t seq);
void fl_payload_struct_free(Google__Protobuf__Struct *s);

/*
 * Encodes message `seq` as it goes on the wire (without gRPC's 5-byte prefix) into a malloc'd
 * buffer; the caller frees *out. Returns 0, -ENOMEM, -EOVERFLOW (size too large for memory) or
 * -EINVAL (unknown kind).
 */
int fl_payload_encode(const fl_payload_spec *spec, uint64_t seq, uint8_t **out, size_t *len);

/* What a receiver learned from one message's bytes. */
typedef struct {
  bool decoded; /* protobuf-c unpacked it as a faultline.Message */
  uint64_t seq; /* its seq when decoded, else 0 */
} fl_payload_info;

/* Decodes `buf` as a faultline.Message and fills *info. Never fails: bad bytes give
 * decoded == false. */
void fl_payload_inspect(const uint8_t *buf, size_t len, fl_payload_info *info);

#endif
