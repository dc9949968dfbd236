/*
 * event: the line protocol between a built-in peer and the runner.
 *
 * Peer -> runner (the peer's --events-fd), one event per line:
 *
 *     <peer_monotonic_ns> <name>[ <key>=<value>]...\n
 *
 * Values are percent-encoded (every byte outside 0x21..0x7e, and '%', '=', becomes %XX) so a
 * status message with tabs, newlines or UTF-8 survives exactly. The peer's own stamp is kept
 * beside the runner's arrival stamp; peers may run under a faked clock.
 *
 * Runner -> peer (the peer's --control-fd): "go <barrier>\n" releases the peer's pending
 * `wait` step number <barrier> (its 0-based index in the side's script).
 *
 * Event names the runner understands (attributes in brackets). With `streams: N` every event
 * of a call also carries [call], the call's 1-based number.
 *   ready [port recv_limit]  server: listening; client: channel created
 *   call_start [method deadline_at]
 *                            the call exists (client: started; server: accepted); the client's
 *                            deadline on the peer's clock, when it has one
 *   step [index name]        a script step begins
 *   op_start [op bytes]      a gRPC op was started; op: send|recv|close_send|status
 *   op_done [op ok us]       that op completed; ok=1 success, 0 failure; us = how long it was
 *                            pending, on the peer's clock
 *   sent [n bytes hash nulls]
 *                            message n (1-based) was sent; its encoded size, FNV-1a 64 hash and
 *                            null_value count
 *   recv [n bytes decoded error fields nulls hash]
 *                            message n was received; decoded=1 if protobuf-c decoded it, error
 *                            names what is wrong with it
 *   recv_end                 the reader saw the end of the stream
 *   half_close               the client's close_send completed
 *   cancel                   the peer cancels its call (sent just before grpc_call_cancel)
 *   status [code message]    client: final status received; server: status sent
 *   cancelled [value]        server: the call's close op finished; value=1 if cancelled
 *   wait [index expr]        the peer blocks on barrier <index> until the runner sends "go"
 *   arrive [index]           the barrier released the peer
 *   dump [index]             the peer waits, as at a barrier, while the runner dumps threads
 *   stop_reading, resume_reading
 *                            the side stops / resumes issuing RECV_MESSAGE ops
 *   background_end [started of reason]
 *                            a background send ended after `started` of `of` messages
 *   shutdown_start, shutdown_cancel, shutdown_done
 *                            server: a shutdown step began; its deadline passed and every call
 *                            was cancelled; the shutdown completed
 *   done                     the peer finished its script and is about to exit 0
 *   error [message]          the peer could not go on (it exits non-zero after this)
 */
#ifndef FL_EVENT_H
#define FL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define FL_EVENT_MAX_ATTRS 8
#define FL_EVENT_MAX_LINE 4096

typedef struct {
  const char *key;
  char *value; /* decoded */
} fl_event_attr;

typedef struct {
  int64_t peer_ns;
  char *name;
  fl_event_attr attrs[FL_EVENT_MAX_ATTRS];
  int n_attrs;
  char buf[FL_EVENT_MAX_LINE]; /* owns name, keys and values */
} fl_event;

/*
 * Writes one event to fd with the peer's CLOCK_MONOTONIC stamp. `kv` holds n_kv pairs,
 * key then value (values may be any bytes up to NUL). Returns 0, or -1 with errno set.
 * One write(2) per event, so lines from one writer never interleave.
 */
int fl_event_write(int fd, const char *name, const char *const *kv, int n_kv);

/* Parses one line (without its newline). Returns 0, or -1 if it is not an event line. */
int fl_event_parse(const char *line, fl_event *ev);

/* The value of `key`, or NULL. */
const char *fl_event_get(const fl_event *ev, const char *key);

/* Percent-encodes src into dst (size dstlen, always NUL-terminated); returns dst. */
char *fl_event_encode(const char *src, char *dst, size_t dstlen);

#endif
