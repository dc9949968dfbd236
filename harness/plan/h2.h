/*
 * h2: the HTTP/2 and gRPC wire vocabulary, defined once (RFC 9113; gRPC's PROTOCOL-HTTP2.md).
 *
 * Frame types, flags, error codes and settings, with their names as the scenario language and
 * the reports spell them ("rst_stream", "NO_ERROR", "INITIAL_WINDOW_SIZE"), and the two fixed
 * layouts every wire module reads and writes: the 9-byte frame header and the 5-byte gRPC
 * message prefix. Pure: no I/O, no allocation. Used by the scenario language (fault actions,
 * error-code literals), the frame decoder (reports/wire), the
 * path proxy (injectors/proxy) and the observation model (wire fields).
 */
#ifndef FL_H2_H
#define FL_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(ENUM, code, name): the name is the predicate language's (wire.server.rst_stream). */
#define FL_H2_FRAME_TYPES(X)                                                                       \
  X(DATA, 0x0, "data")                                                                             \
  X(HEADERS, 0x1, "headers")                                                                       \
  X(PRIORITY, 0x2, "priority")                                                                     \
  X(RST_STREAM, 0x3, "rst_stream")                                                                 \
  X(SETTINGS, 0x4, "settings")                                                                     \
  X(PUSH_PROMISE, 0x5, "push_promise")                                                             \
  X(PING, 0x6, "ping")                                                                             \
  X(GOAWAY, 0x7, "goaway")                                                                         \
  X(WINDOW_UPDATE, 0x8, "window_update")                                                           \
  X(CONTINUATION, 0x9, "continuation")

typedef enum {
#define FL_H2_X(e, code, name) FL_H2_##e = code,
  FL_H2_FRAME_TYPES(FL_H2_X)
#undef FL_H2_X
} fl_h2_frame_type;

#define FL_H2_N_FRAME_TYPES 10

/* X(ENUM, code): error codes of RST_STREAM and GOAWAY, named as RFC 9113 section 7 does. */
#define FL_H2_ERROR_CODES(X)                                                                       \
  X(NO_ERROR, 0x0)                                                                                 \
  X(PROTOCOL_ERROR, 0x1)                                                                           \
  X(INTERNAL_ERROR, 0x2)                                                                           \
  X(FLOW_CONTROL_ERROR, 0x3)                                                                       \
  X(SETTINGS_TIMEOUT, 0x4)                                                                         \
  X(STREAM_CLOSED, 0x5)                                                                            \
  X(FRAME_SIZE_ERROR, 0x6)                                                                         \
  X(REFUSED_STREAM, 0x7)                                                                           \
  X(CANCEL, 0x8)                                                                                   \
  X(COMPRESSION_ERROR, 0x9)                                                                        \
  X(CONNECT_ERROR, 0xa)                                                                            \
  X(ENHANCE_YOUR_CALM, 0xb)                                                                        \
  X(INADEQUATE_SECURITY, 0xc)                                                                      \
  X(HTTP_1_1_REQUIRED, 0xd)

typedef enum {
#define FL_H2_X(e, code) FL_H2_ERR_##e = code,
  FL_H2_ERROR_CODES(FL_H2_X)
#undef FL_H2_X
} fl_h2_error_code;

/* X(ENUM, id): SETTINGS parameters. */
#define FL_H2_SETTINGS(X)                                                                          \
  X(HEADER_TABLE_SIZE, 0x1)                                                                        \
  X(ENABLE_PUSH, 0x2)                                                                              \
  X(MAX_CONCURRENT_STREAMS, 0x3)                                                                   \
  X(INITIAL_WINDOW_SIZE, 0x4)                                                                      \
  X(MAX_FRAME_SIZE, 0x5)                                                                           \
  X(MAX_HEADER_LIST_SIZE, 0x6)

typedef enum {
#define FL_H2_X(e, id) FL_H2_SETTINGS_##e = id,
  FL_H2_SETTINGS(FL_H2_X)
#undef FL_H2_X
} fl_h2_setting;

/* Flags; the same bit means different things per frame type. */
#define FL_H2_FLAG_END_STREAM 0x01  /* DATA, HEADERS */
#define FL_H2_FLAG_ACK 0x01         /* SETTINGS, PING */
#define FL_H2_FLAG_END_HEADERS 0x04 /* HEADERS, PUSH_PROMISE, CONTINUATION */
#define FL_H2_FLAG_PADDED 0x08      /* DATA, HEADERS, PUSH_PROMISE */
#define FL_H2_FLAG_PRIORITY 0x20    /* HEADERS */

#define FL_H2_FRAME_HEADER_LEN 9
/* The client's connection preface, before its first SETTINGS frame. */
#define FL_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define FL_H2_PREFACE_LEN 24
/* Initial flow-control windows and the smallest SETTINGS_MAX_FRAME_SIZE (RFC 9113 6.5.2). */
#define FL_H2_DEFAULT_WINDOW 65535
#define FL_H2_DEFAULT_MAX_FRAME 16384
#define FL_H2_MAX_WINDOW 0x7fffffff
#define FL_H2_STREAM_ID_MASK 0x7fffffffu

typedef struct {
  uint32_t length; /* of the payload, 24 bits */
  uint8_t type;    /* an fl_h2_frame_type, or an unknown type (which HTTP/2 ignores) */
  uint8_t flags;
  uint32_t stream_id; /* 31 bits; the reserved bit is dropped */
} fl_h2_frame_header;

void fl_h2_header_parse(const uint8_t b[FL_H2_FRAME_HEADER_LEN], fl_h2_frame_header *h);
void fl_h2_header_pack(const fl_h2_frame_header *h, uint8_t b[FL_H2_FRAME_HEADER_LEN]);

/* "data", "rst_stream", ...; NULL for a type HTTP/2 does not define. */
const char *fl_h2_frame_type_name(unsigned type);
/* The type for a name, or -1. */
int fl_h2_frame_type_from_name(const char *name);
/* "NO_ERROR", "CANCEL", ...; NULL for a code RFC 9113 does not define. */
const char *fl_h2_error_name(uint32_t code);
/* The code for a name, or -1. */
int64_t fl_h2_error_from_name(const char *name);
/* "INITIAL_WINDOW_SIZE", ...; NULL for an unknown id. */
const char *fl_h2_setting_name(uint16_t id);
int fl_h2_setting_from_name(const char *name);

/* gRPC's length-prefixed message: 1 byte compressed flag, 4 bytes big-endian length. */
#define FL_GRPC_PREFIX_LEN 5
typedef struct {
  uint8_t compressed; /* 0 or 1; anything else is a malformed prefix */
  uint32_t length;
} fl_grpc_prefix;

void fl_grpc_prefix_parse(const uint8_t b[FL_GRPC_PREFIX_LEN], fl_grpc_prefix *p);
void fl_grpc_prefix_pack(const fl_grpc_prefix *p, uint8_t b[FL_GRPC_PREFIX_LEN]);

static inline uint32_t fl_be32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline void fl_put_be32(uint8_t *b, uint32_t v) {
  b[0] = (uint8_t)(v >> 24);
  b[1] = (uint8_t)(v >> 16);
  b[2] = (uint8_t)(v >> 8);
  b[3] = (uint8_t)v;
}

#endif
