/*
 * fields: every field the predicate language can name, defined once.
 *
 * One row of FL_FIELDS gives a field's id, its class (how it is named), its name, its type and
 * the one-line doc the README's field list is generated from (`faultline help fields`). The
 * predicate parser looks names up here; the observation model (harness/observe/observe.c)
 * resolves each id in one switch without a default, so a row without a resolver does not
 * build (-Werror=switch); report.json writes every field from this table.
 *
 * Classes, as a user writes them:
 *   PEER  server.NAME, client.NAME       what a peer did (from its events, its process)
 *   WIRE  wire.server.NAME, wire.client.NAME
 *                                       HTTP/2 facts counted as the receiving peer sees them:
 *                                       wire.server.* are the frames the client got from the
 *                                       server's side (a frame a proxy injects toward the client
 *                                       counts as the server's)
 *   RUN   NAME                           the whole run (outcome, elapsed, capture.*,
 * wire.connections)
 */
#ifndef FL_FIELDS_H
#define FL_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  FL_VAL_INT,      /* a count */
  FL_VAL_DURATION, /* nanoseconds */
  FL_VAL_SIZE,     /* bytes */
  FL_VAL_BOOL,
  FL_VAL_STATUS,  /* a grpc_status_code */
  FL_VAL_STRING,  /* bytes, NUL-terminated; may be any bytes a peer sent */
  FL_VAL_OUTCOME, /* an fl_outcome */
  FL_VAL_H2CODE,  /* an HTTP/2 error code (harness/observe/h2.h names them) */
} fl_value_type;

/* How a run ended; `outcome` in predicates. */
typedef enum {
  FL_OUTCOME_COMPLETED,   /* every peer finished its script */
  FL_OUTCOME_HANG,        /* no progress for hang_after while a call was open */
  FL_OUTCOME_TIMEOUT,     /* the scenario's timeout passed */
  FL_OUTCOME_CRASH,       /* a peer died of a signal or exited non-zero */
  FL_OUTCOME_INTERRUPTED, /* the runner got SIGINT, SIGTERM or SIGHUP */
  FL_OUTCOME_BUSY,        /* nothing happened, but a peer was burning CPU when the run ended */
} fl_outcome;

typedef struct {
  fl_value_type type;
  bool known;    /* false: the run never produced this value (e.g. no status yet) */
  int64_t i;     /* INT, DURATION, SIZE, BOOL, STATUS, OUTCOME, H2CODE */
  const char *s; /* STRING; owned by whoever produced the value */
} fl_value;

typedef enum { FL_CLASS_PEER, FL_CLASS_WIRE, FL_CLASS_RUN } fl_field_class;

/* Y(NAME, code, arg): gRPC's status codes, as predicates and reports name them; `arg` is passed
 * through to Y (FL_FIELDS uses it to hand on its own X). */
#define FL_STATUS_CODES(Y, arg)                                                                    \
  Y(OK, 0, arg)                                                                                    \
  Y(CANCELLED, 1, arg)                                                                             \
  Y(UNKNOWN, 2, arg)                                                                               \
  Y(INVALID_ARGUMENT, 3, arg)                                                                      \
  Y(DEADLINE_EXCEEDED, 4, arg)                                                                     \
  Y(NOT_FOUND, 5, arg)                                                                             \
  Y(ALREADY_EXISTS, 6, arg)                                                                        \
  Y(PERMISSION_DENIED, 7, arg)                                                                     \
  Y(RESOURCE_EXHAUSTED, 8, arg)                                                                    \
  Y(FAILED_PRECONDITION, 9, arg)                                                                   \
  Y(ABORTED, 10, arg)                                                                              \
  Y(OUT_OF_RANGE, 11, arg)                                                                         \
  Y(UNIMPLEMENTED, 12, arg)                                                                        \
  Y(INTERNAL, 13, arg)                                                                             \
  Y(UNAVAILABLE, 14, arg)                                                                          \
  Y(DATA_LOSS, 15, arg)                                                                            \
  Y(UNAUTHENTICATED, 16, arg)

#define FL_N_STATUS 17

/* One field per status code: status_count.OK ... status_count.UNAUTHENTICATED. */
#define FL_STATUS_COUNT_FIELD(name, code, X)                                                       \
  X(STATUS_COUNT_##name, PEER, "status_count." #name, INT,                                         \
    "calls that ended with " #name " (client: received; server: sent)")

/* The side a PEER or WIRE field belongs to; RUN fields have FL_SCOPE_GLOBAL. */
typedef enum { FL_SCOPE_GLOBAL, FL_SCOPE_SERVER, FL_SCOPE_CLIENT } fl_scope;

/* X(ID, CLASS, "name", TYPE, "doc") */
#define FL_FIELDS(X)                                                                               \
  X(SENT, PEER, "sent", INT, "messages this side sent")                                            \
  X(RECV, PEER, "recv", INT, "messages this side received")                                        \
  X(SENT_BYTES, PEER, "sent_bytes", SIZE, "encoded bytes of the messages this side sent")          \
  X(RECV_BYTES, PEER, "recv_bytes", SIZE, "encoded bytes of the messages this side received")      \
  X(STATUS, PEER, "status", STATUS,                                                                \
    "the call's status: the one the client received, the one the server sent")                     \
  X(MESSAGE, PEER, "message", STRING, "the status message that came with status")                  \
  X(CANCELLED, PEER, "cancelled", BOOL,                                                            \
    "server: its call ended cancelled (the client cancelled, or a deadline passed)")               \
  X(HALF_CLOSED, PEER, "half_closed", BOOL, "the client's half-close (close_send) went through")   \
  X(CLOSE_SEND_COMPLETED, PEER, "close_send.completed", BOOL,                                      \
    "the client's close_send op completed (the same as half_closed)")                              \
  X(DURATION, PEER, "duration", DURATION,                                                          \
    "client: call start to status; server: call start to the call's close; on the peer's own "     \
    "clock")                                                                                       \
  X(EXIT_CODE, PEER, "exit_code", INT,                                                             \
    "the peer process's exit code (unknown if it died of a signal)")                               \
  X(KILLED, PEER, "killed", BOOL,                                                                  \
    "a kill or signal fault ended the process (an expected end, not a crash)")                     \
  X(PAUSED_FOR, PEER, "paused_for", DURATION,                                                      \
    "how long pause faults kept the process stopped, in all")                                      \
  X(RESTARTS, PEER, "restarts", INT, "how many times a restart fault started the side again")      \
  X(STARTED, PEER, "started", BOOL, "a call started on this side")                                 \
  X(RECV_END, PEER, "recv_end", BOOL,                                                              \
    "the reader saw the end of the stream (C core also ends a pending read so when the call is "   \
    "cancelled)")                                                                                  \
  X(DECODE_ERRORS, PEER, "decode_errors", INT,                                                     \
    "received messages that did not decode: as faultline.Message (protobuf-c), or as the "         \
    "scenario's decode type (protoc)")                                                             \
  X(LAST_DECODE_ERROR, PEER, "last_decode_error", STRING,                                          \
    "the last problem seen in a received message: truncated_varint, length_past_end, "             \
    "bad_wire_type, invalid_utf8, ..., or protoc's words for a decode type")                       \
  X(INVALID_UTF8, PEER, "invalid_utf8", INT,                                                       \
    "received messages protobuf-c decoded though a string held invalid UTF-8")                     \
  X(FIELDS_RECEIVED, PEER, "fields_received", INT,                                                 \
    "Struct entries in the received messages, at every depth")                                     \
  X(NULLS_RECEIVED, PEER, "nulls_received", INT,                                                   \
    "null_value entries in the received messages, at every depth")                                 \
  X(NULLS_SENT, PEER, "nulls_sent", INT, "null_value entries in the messages this side sent")      \
  X(LAST_SENT_HASH, PEER, "last_sent_hash", STRING,                                                \
    "FNV-1a 64 (16 hex digits) of the last sent message's encoded bytes")                          \
  X(LAST_RECV_HASH, PEER, "last_recv_hash", STRING,                                                \
    "FNV-1a 64 (16 hex digits) of the last received message's bytes")                              \
  X(LARGEST_SEND, PEER, "largest_send", SIZE,                                                      \
    "the biggest message this side started to send, whether or not it went through")               \
  X(RECV_LIMIT, PEER, "recv_limit", SIZE,                                                          \
    "the receive limit in force: grpc.max_receive_message_length, else 4MiB (unknown when -1)")    \
  X(SEND_PENDING, PEER, "send.pending", BOOL, "a send op is in flight now")                        \
  X(SEND_MAX_PENDING, PEER, "send.max_pending", DURATION,                                          \
    "the longest a send op stayed pending (to the end of the run, if it never completed)")         \
  X(SEND_BYTES_BEFORE_STALL, PEER, "send.bytes_before_stall", SIZE,                                \
    "sent_bytes when that longest-pending send began: what went through before the stall")         \
  X(SEND_FAILED, PEER, "send.failed", INT,                                                         \
    "send ops that completed with failure (the call was over)")                                    \
  X(CLOSE_SEND_ISSUED, PEER, "close_send.issued", BOOL, "the client started its half-close")       \
  X(CLOSE_SEND_PENDING, PEER, "close_send.pending", BOOL,                                          \
    "the client's half-close was started and has not completed")                                   \
  X(CLOSE_SEND_PENDING_FOR, PEER, "close_send.pending_for", DURATION,                              \
    "how long the half-close op was pending (to the end, if it never completed)")                  \
  X(READING_STOPPED, PEER, "reading_stopped", BOOL,                                                \
    "the side is between stop_reading and resume_reading")                                         \
  X(CANCEL_LATENCY, PEER, "cancel_latency", DURATION,                                              \
    "server: from the client's cancel (or, without one, the moment its deadline passed) to "       \
    "the server seeing its call cancelled, on the peers' shared clock")                            \
  X(SHUTDOWN_STARTED, PEER, "shutdown.started", BOOL, "a shutdown step ran")                       \
  X(SHUTDOWN_DONE, PEER, "shutdown.done", BOOL, "the server's shutdown completed")                 \
  X(SHUTDOWN_FORCED, PEER, "shutdown.forced", BOOL,                                                \
    "calls were cancelled: abrupt, or the shutdown deadline passed")                               \
  X(SHUTDOWN_DURATION, PEER, "shutdown.duration", DURATION,                                        \
    "from the shutdown step to its completion")                                                    \
  X(CALLS, PEER, "calls", INT, "calls that started on this side")                                  \
  X(CALLS_OK, PEER, "calls_ok", INT,                                                               \
    "client: calls that ended OK; server: calls closed without a cancel")                          \
  X(CALLS_FAILED, PEER, "calls_failed", INT,                                                       \
    "client: calls that ended with a status other than OK; server: calls closed cancelled")        \
  X(FIRST_STATUS, PEER, "first_status", STATUS, "the status of the first call to end")             \
  X(LAST_STATUS, PEER, "last_status", STATUS, "the status of the last call to end")                \
  X(LAST_FAILURE_MESSAGE, PEER, "last_failure_message", STRING,                                    \
    "the status message of the last call that ended with a status other than OK")                  \
  X(MAX_OPEN_CALLS, PEER, "max_open_calls", INT, "the most calls open at once on this side")       \
  X(CHANNELS, PEER, "channels", INT,                                                               \
    "client: the channels it opened (calls: channels, per_call, a close_channel); server: "        \
    "unknown")                                                                                     \
  X(CHANNELS_CLOSED, PEER, "channels_closed", INT,                                                 \
    "client: channels a close_channel step destroyed")                                             \
  X(HEADERS_RECEIVED, PEER, "headers_received", INT,                                               \
    "calls whose headers this side received: the server's accepted calls; the client's calls "     \
    "whose response headers arrived before their deadline (a trailers-only response counts: C "    \
    "core ends the wait then, with no metadata)")                                                  \
  X(HEADERS, PEER, "headers", STRING,                                                              \
    "the custom metadata of the last headers this side received, one 'key=value' line an entry "   \
    "(server: a call's request; client: a response's)")                                            \
  X(TRAILERS, PEER, "trailers", STRING,                                                            \
    "the custom trailing metadata with the last status (client: received; server: sent)")          \
  FL_STATUS_CODES(FL_STATUS_COUNT_FIELD, X)                                                        \
  X(RSS_GROWTH, PEER, "rss_growth", SIZE,                                                          \
    "peak sampled RSS minus the RSS sampled when the side's first call started")                   \
  X(PEAK_RSS, PEER, "peak_rss", SIZE,                                                              \
    "the peer's peak RSS (the kernel's high-water mark once it exited)")                           \
  X(THREADS, PEER, "threads", INT, "the most threads the peer had in a sample")                    \
  X(FDS, PEER, "fds", INT, "the most open file descriptors the peer had in a sample")              \
  /* HTTP/2 on the wire (a path proxy or the capture's decoder), per sending side. */              \
  X(WIRE_DATA, WIRE, "data", INT, "DATA frames")                                                   \
  X(WIRE_HEADERS, WIRE, "headers", INT, "HEADERS frames (trailers included)")                      \
  X(WIRE_RST_STREAM, WIRE, "rst_stream", INT, "RST_STREAM frames")                                 \
  X(WIRE_GOAWAY, WIRE, "goaway", INT, "GOAWAY frames")                                             \
  X(WIRE_PING, WIRE, "ping", INT, "PING frames (acks included)")                                   \
  X(WIRE_SETTINGS, WIRE, "settings", INT, "SETTINGS frames (acks included)")                       \
  X(WIRE_WINDOW_UPDATE, WIRE, "window_update", INT, "WINDOW_UPDATE frames")                        \
  X(WIRE_RST_STREAM_CODE, WIRE, "rst_stream.code", H2CODE,                                         \
    "the error code of the last RST_STREAM (NO_ERROR, CANCEL, ...)")                               \
  X(WIRE_GOAWAY_CODE, WIRE, "goaway.code", H2CODE, "the error code of the last GOAWAY")            \
  X(WIRE_GOAWAY_LAST_STREAM_ID, WIRE, "goaway.last_stream_id", INT,                                \
    "the last stream id of the last GOAWAY")                                                       \
  X(WIRE_GOAWAY_DEBUG, WIRE, "goaway.debug", STRING, "the debug data of the last GOAWAY")          \
  X(WIRE_END_STREAM, WIRE, "end_stream", BOOL, "a frame with END_STREAM was sent")                 \
  X(WIRE_TRAILERS_STATUS, WIRE, "trailers.status", STATUS,                                         \
    "the grpc-status of the last trailers (server side)")                                          \
  X(WIRE_WINDOW_MIN, WIRE, "window.min", SIZE,                                                     \
    "the smallest send window this side was left with toward its peer")                            \
  X(WIRE_WINDOW_ZERO_FOR, WIRE, "window.zero_for", DURATION,                                       \
    "the longest this side's send window stayed at zero (to the end, if it never reopened)")       \
  X(WIRE_SOCKET_UNSENT_MAX, WIRE, "socket.unsent_max", SIZE,                                       \
    "the most bytes this side's socket held unsent (kernel send queue)")                           \
  X(WIRE_SOCKET_UNREAD_MAX, WIRE, "socket.unread_max", SIZE,                                       \
    "the most bytes this side's socket held unread (kernel receive queue)")                        \
  /* The whole run. */                                                                             \
  X(OUTCOME, RUN, "outcome", OUTCOME,                                                              \
    "how the run ended: completed, hang, timeout, crash, interrupted, busy")                       \
  X(ELAPSED, RUN, "elapsed", DURATION, "from the start of the run to its end")                     \
  X(CAPTURE_PACKETS, RUN, "capture.packets", INT,                                                  \
    "packets written to capture.pcap (unknown without a capture)")                                 \
  X(CAPTURE_DROPPED, RUN, "capture.dropped", INT,                                                  \
    "packets the capture lost (libpcap's ps_drop; unknown without a capture)")                     \
  X(WIRE_CONNECTIONS, RUN, "wire.connections", INT, "HTTP/2 connections seen on the wire")

typedef enum {
#define FL_FIELD_ENUM(id, cls, name, type, doc) FL_FIELD_##id,
  FL_FIELDS(FL_FIELD_ENUM)
#undef FL_FIELD_ENUM
      FL_N_FIELDS
} fl_field_id;

typedef struct {
  fl_field_id id;
  fl_field_class cls;
  const char *name; /* after the side's prefix: "status", "close_send.completed", "data" */
  fl_value_type type;
  const char *doc;
} fl_field_info;

/* Indexed by fl_field_id. */
extern const fl_field_info fl_fields[FL_N_FIELDS];

/* The field of class `cls` named `name` (after the prefix), or NULL. */
const fl_field_info *fl_field_find(fl_field_class cls, const char *name, size_t len);

/* The name as a user writes it: "server.sent", "wire.client.data", "outcome". */
void fl_field_full_name(const fl_field_info *f, fl_scope scope, char *buf, size_t len);

/* "a count", "a duration", ... for messages; and the short name for the README ("count"). */
const char *fl_value_type_desc(fl_value_type t);
const char *fl_value_type_name(fl_value_type t);

/* Writes the field list as a Markdown table (the README's) or as plain text. */
void fl_fields_write_markdown(FILE *out);

#endif
