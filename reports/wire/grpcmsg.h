/*
 * grpcmsg: one stream direction's DATA content split into gRPC messages (5-byte prefix:
 * compressed flag, big-endian length; then the body), across frames, and faultline's own
 * messages decoded with protobuf-c to show their seq.
 *
 * A faultline.Message body is walked field by field as it arrives (protobuf's wire format:
 * tag, then a varint, a fixed 32/64-bit value or a length and bytes). Every field but the
 * padding (field 3, length-delimited) is collected; the padding is skipped by its length and
 * never copied. When the message ends, what was collected is a valid message of its own (a
 * protobuf message is the concatenation of its fields) and protobuf-c unpacks it. Bytes the
 * capture does not hold inside the padding change nothing; inside another field, the fields
 * before them are still unpacked (so seq is known when it came first, as protobuf-c writes
 * it) and the message is MISSING. A prefix with missing bytes loses the boundaries: nothing
 * more of that stream direction is split.
 *
 * Errors: fl_grpc_feed returns -1 when out of memory.
 */
#ifndef FL_GRPCMSG_H
#define FL_GRPCMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "wire.h"

/* The message pieces of one frame. */
typedef struct {
  fl_wire_message *v;
  size_t n, cap;
} fl_grpc_pieces;

typedef enum {
  FL_GRPC_W_TAG,
  FL_GRPC_W_LEN,    /* the length of a length-delimited field */
  FL_GRPC_W_VARINT, /* a varint value */
  FL_GRPC_W_FIXED,  /* a fixed32/fixed64 value, or a length-delimited one being collected */
  FL_GRPC_W_SKIP,   /* the padding's bytes */
  FL_GRPC_W_STOP,   /* nothing more to collect (broken, missing or too large) */
} fl_grpc_walk;

typedef struct {
  bool faultline; /* decode bodies as faultline.Message */
  bool lost;      /* boundaries lost: a prefix was not captured */
  uint64_t ordinal;
  uint8_t prefix[FL_GRPC_PREFIX_LEN];
  uint8_t prefix_have;
  bool in_body;
  fl_grpc_prefix pfx;
  uint32_t got;  /* body bytes so far */
  int64_t piece; /* index of this message's piece in the current frame's pieces, or -1 */
  /* the walk */
  fl_grpc_walk w;
  uint64_t varint;
  unsigned shift;
  uint32_t field, wire_type;
  uint64_t value_left;
  uint8_t *head;
  size_t head_len, head_cap, head_good; /* head_good: bytes up to the last whole field */
  bool seq_seen;                        /* field 1 is within head_good */
  bool missing, too_large;
  const char *problem;
} fl_grpc_reader;

void fl_grpc_reader_init(fl_grpc_reader *r, bool faultline);
void fl_grpc_reader_free(fl_grpc_reader *r);
/* A new DATA frame of this stream direction begins. */
void fl_grpc_frame_begin(fl_grpc_reader *r);
/* DATA content: n bytes at p, or n missing ones (p == NULL). Pieces are added to out. */
FL_MUST_USE int fl_grpc_feed(fl_grpc_reader *r, const uint8_t *p, size_t n, fl_grpc_pieces *out);

#endif
