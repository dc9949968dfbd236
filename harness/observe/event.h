/*
 * event: the line protocol between the processes of a run, defined once.
 *
 * Source -> runner (a built-in peer's or the proxy's --events-fd), one event per line:
 *
 *     <monotonic_ns> <name>[ <key>=<value>]...\n
 *
 * The stamp is the sender's CLOCK_MONOTONIC (shared by every process of the machine unless a
 * scenario fakes a side's clock). Values are percent-encoded (every byte outside 0x21..0x7e,
 * and '%' and '=', becomes %XX), so a status message with tabs, newlines, NUL or any bytes
 * survives exactly. Integer attributes are decimal.
 *
 * FL_EVENTS names every event: who may send it and which attributes it may carry; FL_ATTRS
 * names every attribute with its type. A line that breaks the table (an unknown event or
 * attribute, an attribute the event does not take, a malformed number, a sender the event is
 * not for) is refused by the parser with a message saying so: the runner records it and the
 * run ends in a harness error, so a peer that drifts from the table fails the tests. Writers
 * check their events against the same table before they write.
 *
 * Runner -> source (its --control-fd), FL_CONTROL lines:
 *     go N      releases a peer's `wait` or `dump` step N (its 0-based index in the script)
 *     fire K    tells the proxy that fault K's trigger (a peer-event predicate) holds now
 *     sync K    asks the proxy for `synced index=K` once every event before it is written: the
 *               runner waits for it before it judges a run whose client has finished, since
 *               the proxy's event for a frame it sent may still be on its way when the client
 *               has already acted on that frame and exited
 * End of file on the control fd means the run is over.
 */
#ifndef FL_EVENT_H
#define FL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

/* X(ID, "key", TYPE, "doc"); TYPE is INT (decimal, int64) or STR (any bytes). */
#define FL_ATTRS(X)                                                                                \
  X(CALL, "call", INT, "the call's 1-based number, when a side runs several calls")                \
  X(PORT, "port", INT, "the port the sender listens on")                                           \
  X(RECV_LIMIT, "recv_limit", INT, "the receive limit in force, in bytes")                         \
  X(METHOD, "method", STR, "the gRPC method path")                                                 \
  X(DEADLINE_AT, "deadline_at", INT, "the call's deadline on the sender's clock, in ns")           \
  X(INDEX, "index", INT, "a script step's 0-based index, or a fault's")                            \
  X(NAME, "name", STR, "a step's kind, or a thread's name")                                        \
  X(OP, "op", STR, "the gRPC op: send, recv, close_send or status")                                \
  X(BYTES, "bytes", INT, "a message's encoded size")                                               \
  X(OK, "ok", INT, "1: the op succeeded; 0: it failed")                                            \
  X(US, "us", INT, "how long the op was pending, in microseconds, on the sender's clock")          \
  X(N, "n", INT, "the message's 1-based number on its call")                                       \
  X(HASH, "hash", STR, "FNV-1a 64 of the message's bytes, 16 hex digits")                          \
  X(NULLS, "nulls", INT, "null_value entries in the message")                                      \
  X(DECODED, "decoded", INT,                                                                       \
    "1: the message decoded (as faultline.Message with protobuf-c, or as the scenario's decode "   \
    "type with protoc); 0: it did not")                                                            \
  X(TEXT, "text", STR,                                                                             \
    "a message of the scenario's own method, as protoc --decode printed it, on one line")          \
  X(RAW, "raw", STR, "a message of the scenario's own method not decoded: its first bytes in hex") \
  X(ERROR, "error", STR, "what is wrong")                                                          \
  X(FIELDS, "fields", INT, "Struct entries in the message, at every depth")                        \
  X(CODE, "code", INT, "a gRPC status code, an HTTP/2 error code or an exit code")                 \
  X(MESSAGE, "message", STR, "a status message, or an error's text")                               \
  X(VALUE, "value", INT, "1: the call ended cancelled")                                            \
  X(EXPR, "expr", STR, "the barrier's predicate as written")                                       \
  X(STARTED, "started", INT, "background messages started")                                        \
  X(OF, "of", INT, "background messages asked for")                                                \
  X(REASON, "reason", STR, "why it ended")                                                         \
  X(MODE, "mode", STR, "graceful or abrupt")                                                       \
  X(DEADLINE_MS, "deadline_ms", INT, "the shutdown's deadline")                                    \
  X(AFTER_MS, "after_ms", INT, "how long it took, or the limit that passed")                       \
  X(PEER, "peer", STR, "the process the runner's event is about: server, client, proxy")           \
  X(PID, "pid", INT, "a process id")                                                               \
  X(SIGNAL, "signal", STR, "a signal's name")                                                      \
  X(FILE, "file", STR, "a file in the run directory")                                              \
  X(THREADS, "threads", INT, "threads in a dump")                                                  \
  X(FILTER, "filter", STR, "the capture's BPF filter")                                             \
  X(QUIET_MS, "quiet_ms", INT, "how long nothing happened")                                        \
  X(LINE, "line", STR, "a line as it was received")                                                \
  X(CONN, "conn", INT, "the proxy's 1-based connection number")                                    \
  X(FROM, "from", STR, "whose frame it is, as the receiving peer sees it: server or client")       \
  X(TYPE, "type", STR, "the HTTP/2 frame type: data, headers, rst_stream, ...")                    \
  X(STREAM, "stream", INT, "the HTTP/2 stream id")                                                 \
  X(LEN, "len", INT, "the frame's payload length")                                                 \
  X(FLAGS, "flags", INT, "the frame's flags")                                                      \
  X(ORDINAL, "ordinal", INT, "the frame's 1-based number on its connection and direction")         \
  X(LAST_STREAM_ID, "last_stream_id", INT, "GOAWAY's last stream id")                              \
  X(DEBUG, "debug", STR, "GOAWAY's debug data")                                                    \
  X(INCREMENT, "increment", INT, "WINDOW_UPDATE's increment")                                      \
  X(SETTINGS, "settings", STR, "SETTINGS values as NAME=VALUE,...")                                \
  X(GRPC_STATUS, "grpc_status", INT, "the grpc-status of trailers")                                \
  X(WINDOW, "window", INT, "the sender's send window on the stream after the frame")               \
  X(ACTION, "action", STR, "what a fault did: injected, dropped, delayed, corrupted, ...")         \
  X(TID, "tid", INT, "a thread id")                                                                \
  X(CPU_MS, "cpu_ms", INT, "CPU time used")                                                        \
  X(WINDOW_MS, "window_ms", INT, "the time it was measured over")                                  \
  X(OFFSET_MS, "offset_ms", INT, "a faked clock's offset from the real one after the jump")        \
  X(CHANNEL, "channel", INT,                                                                       \
    "the client's 1-based channel, in the order it opened them, when it has several")              \
  X(METADATA, "metadata", STR,                                                                     \
    "custom metadata, one 'key=value' line an entry (a -bin value in base64)")                     \
  X(LEFT_MS, "left_ms", INT,                                                                       \
    "how long a deadline had left on the sender's wall clock; negative when it had passed")

typedef enum {
#define FL_ATTR_ENUM(id, key, type, doc) FL_ATTR_##id,
  FL_ATTRS(FL_ATTR_ENUM)
#undef FL_ATTR_ENUM
      FL_N_ATTRS
} fl_attr_id;

typedef enum { FL_ATTR_INT, FL_ATTR_STR } fl_attr_type;

/* Who may send an event. */
#define FL_FROM_SERVER 1u
#define FL_FROM_CLIENT 2u
#define FL_FROM_PEER (FL_FROM_SERVER | FL_FROM_CLIENT)
#define FL_FROM_PROXY 4u
#define FL_FROM_RUNNER 8u

#define FL_A(id) (UINT64_C(1) << FL_ATTR_##id)

/* X(ID, "name", SENDERS, ATTRIBUTES, "doc") */
#define FL_EVENTS(X)                                                                               \
  X(READY, "ready", FL_FROM_PEER | FL_FROM_PROXY, FL_A(PORT) | FL_A(RECV_LIMIT),                   \
    "server, proxy: listening; client: its channel exists")                                        \
  X(CALL_START, "call_start", FL_FROM_PEER,                                                        \
    FL_A(CALL) | FL_A(METHOD) | FL_A(DEADLINE_AT) | FL_A(CHANNEL),                                 \
    "a call exists: the client started it (on `channel`), the server accepted it")                 \
  X(HEADERS, "headers", FL_FROM_PEER, FL_A(CALL) | FL_A(METADATA),                                 \
    "server: an accepted call's request headers; client: the response headers arrived "            \
    "(RECV_INITIAL_METADATA completed)")                                                           \
  X(METADATA_DEADLINE, "metadata_deadline", FL_FROM_SERVER,                                        \
    FL_A(CALL) | FL_A(METADATA) | FL_A(LEFT_MS),                                                   \
    "server: the deadline an accepted call carries in its deadline_metadata key, as its wall "     \
    "clock judges it")                                                                             \
  X(STEP, "step", FL_FROM_PEER, FL_A(CALL) | FL_A(INDEX) | FL_A(NAME), "a script step begins")     \
  X(OP_START, "op_start", FL_FROM_PEER, FL_A(CALL) | FL_A(OP) | FL_A(BYTES),                       \
    "a gRPC op was started")                                                                       \
  X(OP_DONE, "op_done", FL_FROM_PEER, FL_A(CALL) | FL_A(OP) | FL_A(OK) | FL_A(US),                 \
    "that op completed")                                                                           \
  X(SENT, "sent", FL_FROM_PEER, FL_A(CALL) | FL_A(N) | FL_A(BYTES) | FL_A(HASH) | FL_A(NULLS),     \
    "a message was sent")                                                                          \
  X(RECV, "recv", FL_FROM_PEER,                                                                    \
    FL_A(CALL) | FL_A(N) | FL_A(BYTES) | FL_A(DECODED) | FL_A(ERROR) | FL_A(FIELDS) |              \
        FL_A(NULLS) | FL_A(HASH) | FL_A(TEXT) | FL_A(RAW),                                         \
    "a message was received")                                                                      \
  X(RECV_END, "recv_end", FL_FROM_PEER, FL_A(CALL), "the reader saw the end of the stream")        \
  X(HALF_CLOSE, "half_close", FL_FROM_CLIENT, FL_A(CALL), "the client's close_send completed")     \
  X(CANCEL, "cancel", FL_FROM_PEER, FL_A(CALL), "the peer cancels its call")                       \
  X(STATUS, "status", FL_FROM_PEER, FL_A(CALL) | FL_A(CODE) | FL_A(MESSAGE) | FL_A(METADATA),      \
    "client: the final status received; server: the status sent; with its trailing metadata")      \
  X(CLOSE_CHANNEL, "close_channel", FL_FROM_CLIENT, FL_A(CALL) | FL_A(CHANNEL),                    \
    "the client destroyed the call's channel (close_channel)")                                     \
  X(CANCELLED, "cancelled", FL_FROM_SERVER, FL_A(CALL) | FL_A(VALUE),                              \
    "server: the call's close op finished")                                                        \
  X(WAIT, "wait", FL_FROM_PEER, FL_A(CALL) | FL_A(INDEX) | FL_A(EXPR),                             \
    "the peer waits at barrier `index` until the runner releases it")                              \
  X(ARRIVE, "arrive", FL_FROM_PEER, FL_A(CALL) | FL_A(INDEX), "the barrier released the peer")     \
  X(DUMP, "dump", FL_FROM_PEER | FL_FROM_RUNNER,                                                   \
    FL_A(INDEX) | FL_A(PEER) | FL_A(FILE) | FL_A(THREADS),                                         \
    "peer: it waits at dump step `index`; runner: a thread dump was written")                      \
  X(STOP_READING, "stop_reading", FL_FROM_PEER, FL_A(CALL),                                        \
    "the side stops issuing RECV_MESSAGE ops")                                                     \
  X(RESUME_READING, "resume_reading", FL_FROM_PEER, FL_A(CALL), "it reads again")                  \
  X(BACKGROUND_END, "background_end", FL_FROM_PEER,                                                \
    FL_A(CALL) | FL_A(STARTED) | FL_A(OF) | FL_A(REASON), "a background send ended")               \
  X(SHUTDOWN_START, "shutdown_start", FL_FROM_SERVER, FL_A(MODE) | FL_A(DEADLINE_MS),              \
    "a shutdown step began")                                                                       \
  X(SHUTDOWN_CANCEL, "shutdown_cancel", FL_FROM_SERVER, FL_A(REASON),                              \
    "every call was cancelled (abrupt, or the shutdown's deadline passed)")                        \
  X(SHUTDOWN_DONE, "shutdown_done", FL_FROM_SERVER, FL_A(AFTER_MS), "the shutdown completed")      \
  X(DONE, "done", FL_FROM_PEER | FL_FROM_PROXY, 0, "the sender finished and is about to exit 0")   \
  X(SYNCED, "synced", FL_FROM_PROXY, FL_A(INDEX),                                                  \
    "proxy: every event before this one is written (the runner's `sync index`)")                   \
  X(ERROR, "error", FL_FROM_PEER | FL_FROM_PROXY, FL_A(MESSAGE),                                   \
    "the sender could not go on (it exits non-zero)")                                              \
  X(CONN_OPEN, "conn_open", FL_FROM_PROXY, FL_A(CONN), "proxy: a client connection came in")       \
  X(CONN_CLOSE, "conn_close", FL_FROM_PROXY, FL_A(CONN) | FL_A(REASON),                            \
    "proxy: a connection ended")                                                                   \
  X(FRAME, "frame", FL_FROM_PROXY,                                                                 \
    FL_A(CONN) | FL_A(FROM) | FL_A(TYPE) | FL_A(STREAM) | FL_A(LEN) | FL_A(FLAGS) |                \
        FL_A(ORDINAL) | FL_A(CODE) | FL_A(LAST_STREAM_ID) | FL_A(DEBUG) | FL_A(INCREMENT) |        \
        FL_A(SETTINGS) | FL_A(GRPC_STATUS) | FL_A(WINDOW) | FL_A(ACTION),                          \
    "proxy: an HTTP/2 frame passed (or was injected)")                                             \
  X(FAULT, "fault", FL_FROM_PROXY | FL_FROM_RUNNER,                                                \
    FL_A(INDEX) | FL_A(ACTION) | FL_A(CONN) | FL_A(STREAM) | FL_A(TYPE) | FL_A(ORDINAL) |          \
        FL_A(PEER),                                                                                \
    "a fault fired, with the frame or process it acted on")                                        \
  X(SPAWN, "spawn", FL_FROM_RUNNER, FL_A(PEER) | FL_A(PID), "the runner started a process")        \
  X(EXIT, "exit", FL_FROM_RUNNER, FL_A(PEER) | FL_A(CODE) | FL_A(SIGNAL), "a process ended")       \
  X(CAPTURE, "capture", FL_FROM_RUNNER, FL_A(FILTER) | FL_A(ERROR),                                \
    "the capture began with this filter, or could not")                                            \
  X(RELEASE, "release", FL_FROM_RUNNER, FL_A(PEER) | FL_A(INDEX),                                  \
    "the runner opened a barrier (or ended a dump step)")                                          \
  X(FIRE, "fire", FL_FROM_RUNNER, FL_A(INDEX), "the runner saw a fault's peer-event trigger hold") \
  X(CLOCK_JUMP, "clock_jump", FL_FROM_RUNNER, FL_A(PEER) | FL_A(INDEX) | FL_A(OFFSET_MS),          \
    "the runner stepped a side's faked clock (its `clock: jump` number `index`)")                  \
  X(HANG, "hang", FL_FROM_RUNNER, FL_A(QUIET_MS), "nothing happened for hang_after")               \
  X(BUSY, "busy", FL_FROM_RUNNER,                                                                  \
    FL_A(PEER) | FL_A(TID) | FL_A(NAME) | FL_A(CPU_MS) | FL_A(WINDOW_MS),                          \
    "nothing happened for hang_after, but this peer burned CPU meanwhile: no hang")                \
  X(TIMEOUT, "timeout", FL_FROM_RUNNER, FL_A(AFTER_MS), "the scenario's timeout passed")           \
  X(INTERRUPT, "interrupt", FL_FROM_RUNNER, FL_A(SIGNAL),                                          \
    "the runner got SIGINT, SIGTERM or SIGHUP")                                                    \
  X(PROTOCOL_ERROR, "protocol_error", FL_FROM_RUNNER, FL_A(PEER) | FL_A(ERROR) | FL_A(LINE),       \
    "a line that breaks the event protocol (a bug of faultline)")                                  \
  X(END, "end", FL_FROM_RUNNER, 0, "the run is over")

typedef enum {
#define FL_EVENT_ENUM(id, name, from, attrs, doc) FL_EV_##id,
  FL_EVENTS(FL_EVENT_ENUM)
#undef FL_EVENT_ENUM
      FL_N_EVENTS
} fl_event_id;

_Static_assert(FL_N_ATTRS <= 64, "attribute sets are 64-bit masks");

typedef struct {
  const char *key;
  fl_attr_type type;
  const char *doc;
} fl_attr_info;

typedef struct {
  const char *name;
  unsigned from;  /* FL_FROM_* bits */
  uint64_t attrs; /* FL_A() bits */
  const char *doc;
} fl_event_info;

extern const fl_attr_info fl_attr_table[FL_N_ATTRS];
extern const fl_event_info fl_event_table[FL_N_EVENTS];

/* The longest line the protocol carries (a value is at most a third of it, encoded). */
#define FL_EVENT_MAX_LINE 65536

/* One attribute to write: built with FL_KV_I / FL_KV_S / FL_KV_BYTES. */
typedef struct {
  fl_attr_id key;
  const char *s; /* STR: the bytes (NULL: written as empty) */
  size_t len;    /* STR: their length; SIZE_MAX: up to the NUL */
  int64_t i;     /* INT */
  bool is_str;
} fl_event_kv;

#define FL_KV_I(k, v) ((fl_event_kv){.key = FL_ATTR_##k, .i = (int64_t)(v)})
#define FL_KV_S(k, v) ((fl_event_kv){.key = FL_ATTR_##k, .s = (v), .len = SIZE_MAX, .is_str = true})
#define FL_KV_BYTES(k, v, n)                                                                       \
  ((fl_event_kv){.key = FL_ATTR_##k, .s = (v), .len = (n), .is_str = true})

/*
 * Formats one event line (with its newline) into buf (at least FL_EVENT_MAX_LINE bytes),
 * stamped `stamp_ns`. Checks it against the table: an attribute the event does not take, one
 * given twice, or a value of the wrong type is refused. Returns the line's length, or -1 with
 * the reason in err.
 */
FL_MUST_USE int fl_event_format(char *buf, int64_t stamp_ns, fl_event_id id, const fl_event_kv *kv,
                                size_t n_kv, char *err, size_t errlen);

/* Writes a line fl_event_format made in one write(2). Returns 0, or -1 with the reason. */
FL_MUST_USE int fl_event_write_line(int fd, const char *line, size_t len, char *err, size_t errlen);

/* Formats (stamped with fl_mono_ns now) and writes one event to fd in one write(2), so lines
 * of one writer never interleave. Returns 0, or -1 with the reason in err (a table violation,
 * or the write's errno text). */
FL_MUST_USE int fl_event_write(int fd, fl_event_id id, const fl_event_kv *kv, size_t n_kv,
                               char *err, size_t errlen);

/* A parsed line. Strings point into the line, which is decoded in place. */
typedef struct {
  int64_t stamp_ns;
  fl_event_id id;
  uint64_t present; /* FL_A() bits */
  int64_t num[FL_N_ATTRS];
  const char *str[FL_N_ATTRS];
  size_t str_len[FL_N_ATTRS];
  uint8_t order[FL_N_ATTRS]; /* attributes in the order they came */
  int n_attrs;
} fl_event;

/*
 * Parses one line (without its newline; `line` is modified: values are decoded in place) sent
 * by `from` (one FL_FROM_* bit). Returns 0, or -1 with the reason in err: not an event line,
 * an unknown event, an event `from` may not send, an unknown attribute or one the event does
 * not take, an attribute twice, a malformed number or escape.
 */
FL_MUST_USE int fl_event_parse(char *line, unsigned from, fl_event *ev, char *err, size_t errlen);

static inline bool fl_event_has(const fl_event *ev, fl_attr_id k) { return (ev->present >> k) & 1; }
/* An INT attribute, or `dflt` when absent. */
int64_t fl_event_int(const fl_event *ev, fl_attr_id k, int64_t dflt);
/* A STR attribute, or NULL when absent. */
const char *fl_event_str(const fl_event *ev, fl_attr_id k);

/* The event for a name, or -1. */
int fl_event_from_name(const char *name);

/* Writes the event and attribute tables as Markdown (the README's lists). */
void fl_events_write_markdown(FILE *out);

/* ---- control lines (runner -> source) ------------------------------------------------ */

typedef enum { FL_CONTROL_GO, FL_CONTROL_FIRE, FL_CONTROL_SYNC } fl_control_verb;

/* Writes "go N\n", "fire N\n" or "sync N\n" in one write(2). Returns 0, or -1 with errno set. */
FL_MUST_USE int fl_control_write(int fd, fl_control_verb verb, uint64_t n);

/* Parses one control line (without its newline). Returns 0, or -1 if it is none. */
FL_MUST_USE int fl_control_parse(const char *line, fl_control_verb *verb, uint64_t *n);

#endif
