/*
 * wire: the HTTP/2 frames of a packet capture, decoded (issue 9, "Frames as evidence").
 *
 * fl_wire_decode_file reads a pcap file (libpcap, offline), puts each TCP connection back in
 * order per direction, splits the bytes into HTTP/2 frames and hands every frame, in capture
 * order, to a visitor as one record: when (the pcap packet that held its last byte and that
 * packet's timestamp), where (leg, connection, which end sent it), the frame header, and what
 * it says (headers decoded with libnghttp2's HPACK inflater, DATA split into gRPC messages and
 * faultline.Message's seq decoded with protobuf-c, error codes, settings, increments, PING
 * data). It also keeps each send window (per stream and per connection, per direction) and
 * reports every change, so a consumer can chart it.
 *
 * Reading:
 *   - Link layers: Ethernet (what Linux's `lo` records), BSD loopback (DLT_NULL/LOOP), Linux
 *     cooked (SLL, SLL2), raw IP. IPv4 and IPv6 (extension headers skipped), TCP only;
 *     IP fragments are skipped.
 *   - Which connections: with options->ports, the TCP connections to one of those ports (the
 *     server's end); each port is a leg (a proxied run has two: client<->proxy and
 *     proxy<->server). Without ports, every connection one of whose ends sends the HTTP/2
 *     client connection preface; that end is the client and the leg is 0.
 *   - The client is the end that sent the preface (with ports: the end not on the port).
 *   - TCP: segments are put in order by sequence number; retransmitted bytes are dropped,
 *     out-of-order segments held until the gap fills. Bytes the capture does not hold (beyond
 *     the snaplen, or a gap the peer acknowledged but the capture never saw) are "missing".
 *     Missing bytes inside a frame's payload are skipped: the frame is still reported, with
 *     `missing` bytes of its payload unknown (a DATA frame's messages keep their boundaries;
 *     a header block with missing bytes leaves that direction's HPACK state unknown, so later
 *     headers of that direction are not decoded, and a notice says so). Missing bytes in a
 *     frame header or the preface lose the direction's framing: a LOST_SYNC notice, and no
 *     frames of that direction until a later segment begins with frame headers that pass
 *     every rule a correct sender keeps (a RESYNC notice); after it, that direction's headers
 *     are not decoded (its HPACK state is unknown) and its messages are not split (their
 *     boundaries are unknown), but its frames, windows and codes are reported again.
 *   - A capture that ends inside a frame: the partial frame is not reported; a CUT notice says
 *     how much of it was there.
 *
 * Numbering: frames are numbered from 1 in the order reported (`index`); `conn_frame` counts
 * from 1 per connection and direction (the preface is not a frame). Connections are numbered
 * from 1 per leg in the order of their first packet. Packets are numbered from 1 as in the
 * file (tshark's frame.number).
 *
 * Lifetime: everything a record points to is valid during the visitor call only.
 *
 * Errors (fl_wire_decode_file returns -1 and says so in err):
 *   "cannot read capture FILE: <libpcap's reason>" (missing, unreadable, not a pcap file)
 *   "FILE: link-layer type N (NAME) is not supported; ..."
 *   "FILE: packet P: <libpcap's reason>" (a damaged record; the frames before it were reported)
 *   "out of memory"
 *   "stopped by the reader at packet P" (a visitor call returned non-zero; its own error is the
 *   visitor's to keep)
 * Nothing about the traffic is an error: what cannot be decoded is a notice or a frame's
 * `problem`.
 */
#ifndef FL_WIRE_H
#define FL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "h2.h"
#include "util.h"

/* Which end sent a frame (or owns a send window). */
typedef enum { FL_WIRE_CLIENT = 0, FL_WIRE_SERVER = 1 } fl_wire_side;
const char *fl_wire_side_name(fl_wire_side s); /* "client", "server" */

/* A server port to decode; its index in options->ports is the leg number. */
typedef struct {
  uint16_t port;
  const char *leg; /* a label, e.g. "client-proxy"; NULL: "port N" */
} fl_wire_port;

/* Marks for frames the path proxy acted on, shown in the ladder. X(ENUM, name). */
#define FL_WIRE_MARKS(X)                                                                           \
  X(INJECTED, "injected")                                                                          \
  X(DROPPED, "dropped")                                                                            \
  X(DELAYED, "delayed")

typedef enum {
  FL_WIRE_MARK_NONE = 0,
#define FL_WIRE_X(e, name) FL_WIRE_MARK_##e,
  FL_WIRE_MARKS(FL_WIRE_X)
#undef FL_WIRE_X
} fl_wire_mark_kind;
const char *fl_wire_mark_name(fl_wire_mark_kind m); /* "injected", ...; NULL for NONE */

typedef struct {
  unsigned leg;      /* index into options->ports */
  unsigned conn;     /* connection ordinal on that leg, from 1 */
  fl_wire_side from; /* the end that sent the frame */
  uint64_t frame;    /* conn_frame: the frame's ordinal on that connection and direction */
  fl_wire_mark_kind mark;
} fl_wire_mark;

typedef struct {
  const fl_wire_port *ports; /* none: find HTTP/2 connections by the client preface */
  size_t n_ports;
  const fl_wire_mark *marks; /* few: each frame is checked against every mark */
  size_t n_marks;
} fl_wire_options;

/* One TCP connection carrying HTTP/2. */
typedef struct {
  unsigned leg;
  const char *leg_name; /* the port's label, or "port N" */
  unsigned conn;        /* from 1, per leg */
  uint16_t server_port;
  char client[56]; /* "127.0.0.1:44816", "[::1]:44816" */
  char server[56];
  uint64_t packet; /* its first packet */
  int64_t ts_ns;
  int64_t capture_ts_ns; /* the capture file's first packet: where relative times start */
} fl_wire_conn;

/* One decoded header field. name and value are NUL-terminated copies of HPACK's bytes; a value
 * may hold any byte (not necessarily UTF-8), so value_len counts them. */
typedef struct {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} fl_wire_header;

typedef struct {
  uint16_t id; /* fl_h2_setting, or an id HTTP/2 does not define */
  uint32_t value;
} fl_wire_setting;

/* What came of a gRPC message whose last byte is in this frame. */
typedef enum {
  FL_WIRE_MSG_PENDING = 0, /* not ended in this frame */
  FL_WIRE_MSG_DECODED,     /* protobuf-c unpacked it as faultline.Message */
  FL_WIRE_MSG_INVALID,     /* not a valid faultline.Message (`problem` says why) */
  FL_WIRE_MSG_MISSING,     /* some of its bytes were not captured (seq still, if it was there) */
  FL_WIRE_MSG_COMPRESSED,  /* compressed flag set: not decoded */
  FL_WIRE_MSG_FOREIGN,     /* not a faultline.Test call: not decoded */
  FL_WIRE_MSG_TOO_LARGE,   /* its fields before the padding exceed FL_WIRE_MAX_MESSAGE_HEAD */
} fl_wire_msg_state;

/* faultline.Message fields other than the padding are collected up to this size to decode. */
#define FL_WIRE_MAX_MESSAGE_HEAD (1u << 20)

/* The part of one gRPC message (5-byte prefix + body) that a DATA frame carries. */
typedef struct {
  uint64_t ordinal;        /* the message's number on its stream in this direction, from 1 */
  bool has_prefix;         /* the 5-byte prefix is complete (length and compressed are known) */
  uint8_t compressed;      /* the flag byte as on the wire (0, 1; anything else is malformed) */
  uint32_t length;         /* the prefix's length */
  uint32_t offset;         /* body bytes of this message before this frame */
  uint32_t bytes;          /* body bytes in this frame */
  bool starts, ends;       /* the prefix starts in this frame / the body's last byte is in it */
  fl_wire_msg_state state; /* when ends */
  bool has_seq;            /* field 1 (seq) was present and decoded */
  uint64_t seq;
  const char *problem; /* INVALID: what is wrong, e.g. "field 1 has wire type 7" */
} fl_wire_message;

/* Why a send window changed. */
typedef enum {
  FL_WIRE_WIN_OPEN,     /* a stream opened: its windows start at the peer's initial size */
  FL_WIRE_WIN_DATA,     /* the owner sent DATA (the frame's whole length, padding included) */
  FL_WIRE_WIN_UPDATE,   /* the peer sent WINDOW_UPDATE */
  FL_WIRE_WIN_SETTINGS, /* the peer's SETTINGS changed INITIAL_WINDOW_SIZE */
  FL_WIRE_WIN_CLOSE,    /* the stream closed (both ends ended it, or RST_STREAM): last value */
} fl_wire_window_cause;
const char *fl_wire_window_cause_name(fl_wire_window_cause c); /* "open", "data", ... */

/* A send window after a change: the bytes of DATA `owner` may still send on the stream (or on
 * the connection, stream_id 0) before the peer grants more. */
typedef struct {
  const fl_wire_conn *conn;
  fl_wire_side owner;
  uint32_t stream_id;
  int64_t window; /* may go below 0 when the peer lowers INITIAL_WINDOW_SIZE */
  int64_t delta;
  fl_wire_window_cause cause;
  uint64_t frame_index; /* the frame that changed it */
  uint64_t packet;
  int64_t ts_ns;
  int64_t zero_since_ns; /* window <= 0: since when; -1 otherwise */
  int64_t zero_for_ns;   /* this change ended a stay at <= 0 that lasted this long; else 0 */
} fl_wire_window;

/* One HTTP/2 frame. Fields for other frame types are zero / NULL / -1. */
typedef struct {
  uint64_t index;  /* from 1, every frame of the capture in the order reported */
  uint64_t packet; /* pcap packet (from 1) holding the frame's last byte */
  int64_t ts_ns;   /* that packet's timestamp, ns since the epoch as pcap has it (REALTIME) */
  const fl_wire_conn *conn;
  uint64_t conn_frame; /* from 1, per connection and direction */
  fl_wire_side from;
  fl_h2_frame_header h; /* payload length, type, flags, stream id */
  uint32_t pad_len;     /* PADDED: the padding's length */
  uint32_t missing;     /* payload bytes the capture does not hold (skipped) */
  fl_wire_mark_kind mark;
  const char *problem; /* a malformed frame, e.g. "RST_STREAM of length 3" */
  bool stream_closed;  /* its stream had closed already (it crossed a RST_STREAM, say) */

  /* HEADERS, PUSH_PROMISE, CONTINUATION: the frame that ends a header block (END_HEADERS)
   * carries the block's headers; the frames before it have block_end false. */
  bool block_end;
  uint32_t block_frames;   /* frames in the block (1 + CONTINUATIONs) */
  bool headers_decoded;    /* false: see hpack_error */
  const char *hpack_error; /* "HPACK state lost at frame 12 (bytes not captured)", ... */
  const fl_wire_header *headers;
  size_t n_headers;
  bool trailers;            /* the server's header block that carries grpc-status */
  bool end_stream;          /* the block's HEADERS had END_STREAM */
  const char *path;         /* :path, or NULL */
  int http_status;          /* :status, or -1 */
  int grpc_status;          /* grpc-status, or -1 */
  const char *grpc_message; /* grpc-message, percent-decoded (may not be UTF-8), or NULL */
  size_t grpc_message_len;
  int64_t grpc_timeout_ns;     /* grpc-timeout, or -1 */
  uint32_t promised_stream_id; /* PUSH_PROMISE */
  /* HEADERS with PRIORITY, PRIORITY */
  bool has_priority;
  bool exclusive;
  uint32_t depends_on;
  uint16_t weight; /* 1..256 */

  uint32_t error_code;     /* RST_STREAM, GOAWAY (fl_h2_error_name) */
  uint32_t last_stream_id; /* GOAWAY */
  const uint8_t *debug;    /* GOAWAY debug data */
  size_t debug_len;
  const fl_wire_setting *settings; /* SETTINGS */
  size_t n_settings;
  uint32_t increment;              /* WINDOW_UPDATE */
  uint8_t opaque[8];               /* PING */
  const fl_wire_message *messages; /* DATA: the gRPC messages it carries parts of */
  size_t n_messages;
  const fl_wire_window *windows; /* the send windows this frame changed */
  size_t n_windows;
} fl_wire_frame;

/* Things about the capture that are not frames. */
#define FL_WIRE_NOTICES(X)                                                                         \
  X(FIN, "fin")               /* the end sent TCP FIN */                                           \
  X(RST, "rst")               /* the end sent TCP RST */                                           \
  X(LOST_SYNC, "lost_sync")   /* bytes missing where a frame header was: framing lost */           \
  X(RESYNC, "resync")         /* a later segment begins with frame headers: framing resumed */     \
  X(HPACK_LOST, "hpack_lost") /* a header block was not decodable: later headers unknown */        \
  X(CUT, "cut")               /* the capture ends inside a frame */                                \
  X(NOT_HTTP2, "not_http2")   /* on a server port, but the client sent no preface */

typedef enum {
#define FL_WIRE_X(e, name) FL_WIRE_NOTE_##e,
  FL_WIRE_NOTICES(FL_WIRE_X)
#undef FL_WIRE_X
} fl_wire_notice_kind;
const char *fl_wire_notice_name(fl_wire_notice_kind k);

typedef struct {
  fl_wire_notice_kind kind;
  const fl_wire_conn *conn;
  fl_wire_side from; /* the direction it concerns */
  uint64_t packet;
  int64_t ts_ns;
  const char *text; /* one line, e.g. "4312 bytes not captured where a frame header was" */
} fl_wire_notice;

/* Callbacks, each may be NULL. A non-zero return stops the decode. Calls come in capture
 * order: a connection before its frames; a frame before the window calls it caused. */
typedef struct {
  void *user;
  int (*connection)(void *user, const fl_wire_conn *c);
  int (*frame)(void *user, const fl_wire_frame *f);
  /* Every window change, one call each: the same as the causing frame's windows[]. */
  int (*window)(void *user, const fl_wire_window *w);
  int (*notice)(void *user, const fl_wire_notice *n);
} fl_wire_visitor;

/* Per side, over every connection: the send windows that side was left with. */
typedef struct {
  uint64_t frames;
  bool window_known;          /* it had a window (sent or could send DATA) */
  int64_t window_min;         /* wire.SIDE.window.min */
  int64_t window_zero_for_ns; /* wire.SIDE.window.zero_for: longest stay at <= 0 (until the
                                 window reopened, its stream closed or the capture ended) */
} fl_wire_side_stats;

typedef struct {
  int linktype;
  uint64_t packets;           /* records in the file */
  uint64_t packets_truncated; /* caplen < len */
  uint64_t packets_decoded;   /* TCP segments of decoded connections */
  uint64_t bytes_captured;    /* sum of caplen */
  uint32_t connections;       /* HTTP/2 connections */
  uint64_t frames;
  uint64_t frames_by_type[FL_H2_N_FRAME_TYPES]; /* by fl_h2_frame_type */
  uint64_t frames_unknown_type;
  uint64_t bytes_missing;       /* stream bytes not in the capture */
  uint64_t bytes_retransmitted; /* seen twice; the copy is dropped */
  uint64_t segments_out_of_order;
  uint32_t lost_sync;              /* directions whose framing was lost */
  int64_t first_ts_ns, last_ts_ns; /* of the file's first and last packet; 0 if none */
  fl_wire_side_stats side[2];      /* by fl_wire_side */
} fl_wire_stats;

/*
 * Decodes the capture at pcap_path (see the top of this file). opt may be NULL (no ports, no
 * marks); v may be NULL (only stats); stats may be NULL. Returns 0, or -1 with err set.
 * Statistics are filled in for what was read, also on failure.
 */
FL_MUST_USE int fl_wire_decode_file(const char *pcap_path, const fl_wire_options *opt,
                                    const fl_wire_visitor *v, fl_wire_stats *stats, char *err,
                                    size_t errlen);

/* The same for a capture already open (e.g. from fmemopen); `name` is for messages. The file
 * is read to its end and closed in every case. */
FL_MUST_USE int fl_wire_decode_stream(FILE *file, const char *name, const fl_wire_options *opt,
                                      const fl_wire_visitor *v, fl_wire_stats *stats, char *err,
                                      size_t errlen);

/* "1S" -> 1e9: gRPC's TimeoutValue TimeoutUnit (H M S m u n, at most 8 digits); -1 if malformed. */
int64_t fl_wire_parse_grpc_timeout(const char *s, size_t len);

/* gRPC's grpc-message percent-decoding into out (at least len bytes); returns the decoded
 * length. A '%' not followed by two hex digits is kept as it is. */
size_t fl_wire_percent_decode(const char *s, size_t len, char *out);

#endif
