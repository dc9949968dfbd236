/*
 * findings: what the frames of a capture show, in plain words, with times and frame numbers.
 *
 * A pure reducer: it is fed the decoder's records (frames, notices) in capture order, keeps
 * what it needs, and at the end produces the findings. No I/O; tested with canned frames.
 *
 *   window_exhausted  a send window at or below 0 for at least `stall` with no WINDOW_UPDATE:
 *                     whose window (stream or connection), from which frame, how long, and
 *                     that its peer stopped reading (granting no more room)
 *   half_close        the client half-closed (END_STREAM) a stream on which it had sent
 *                     several messages and the server had been sending DATA, and the server
 *                     kept sending after it (after a single request it is how every
 *                     server-streaming call goes, and no finding)
 *   rst_stream        who reset which stream with which code, after which message of each
 *                     side (ordinal and seq), and whether the path proxy injected it
 *   goaway            who sent it, code, last stream id, debug data, the streams open then
 *                     and which of them it leaves unprocessed (above the last stream id)
 *   no_trailers       a stream that ended (reset, connection gone, capture over) without the
 *                     server's trailers (its header block with grpc-status)
 *   status_mismatch   a status a peer reported (fl_wire_findings_peer_status) differs from the
 *                     grpc-status in the trailers on that peer's leg
 *   lost_sync         the decoder could not follow a direction (framing or HPACK lost)
 * Times are seconds since the capture's first packet.
 *
 * Errors: fl_wire_findings_end returns -1 if memory ran out at any point (the findings then
 * may be incomplete).
 */
#ifndef FL_FINDINGS_H
#define FL_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "wire.h"

/* How long a window must stay at zero to be a finding, by default. */
#define FL_WIRE_STALL_DEFAULT_NS 200000000LL

#define FL_WIRE_FINDING_KINDS(X)                                                                   \
  X(WINDOW_EXHAUSTED, "window_exhausted")                                                          \
  X(HALF_CLOSE, "half_close")                                                                      \
  X(RST_STREAM, "rst_stream")                                                                      \
  X(GOAWAY, "goaway")                                                                              \
  X(NO_TRAILERS, "no_trailers")                                                                    \
  X(STATUS_MISMATCH, "status_mismatch")                                                            \
  X(LOST_SYNC, "lost_sync")

typedef enum {
#define FL_WIRE_X(e, name) FL_WIRE_FINDING_##e,
  FL_WIRE_FINDING_KINDS(FL_WIRE_X)
#undef FL_WIRE_X
} fl_wire_finding_kind;
const char *fl_wire_finding_kind_name(fl_wire_finding_kind k);

typedef struct {
  fl_wire_finding_kind kind;
  int64_t ts_ns;  /* when it began (pcap time) */
  uint64_t frame; /* the frame it begins at (fl_wire_frame.index), 0 if none */
  uint64_t packet;
  unsigned leg, conn;
  uint32_t stream_id;  /* 0: the connection */
  fl_wire_side side;   /* the window's owner, who half-closed, who reset, who sent GOAWAY */
  int64_t duration_ns; /* window_exhausted: how long it stayed at zero; else 0 */
  char *text;          /* one line */
} fl_wire_finding;

typedef struct fl_wire_findings fl_wire_findings;

/* stall_ns: 0 for FL_WIRE_STALL_DEFAULT_NS. NULL when out of memory. */
fl_wire_findings *fl_wire_findings_new(int64_t stall_ns);
void fl_wire_findings_free(fl_wire_findings *f);

void fl_wire_findings_frame(fl_wire_findings *f, const fl_wire_frame *fr);
void fl_wire_findings_notice(fl_wire_findings *f, const fl_wire_notice *n);

/* The hook for the runner: `side` of leg `leg` reported status `code` for the call on stream
 * `stream_id` (0: every call on that leg). Compared at the end with the trailers. */
void fl_wire_findings_peer_status(fl_wire_findings *f, unsigned leg, fl_wire_side side,
                                  uint32_t stream_id, int code);

/* The hook for the runner: the path proxy withheld WINDOW_UPDATEs on leg `leg` toward `toward`
 * (the side whose frames they are not, the sender of DATA whose window stays shut), so a
 * window exhaustion there is the path's doing, not a reader that stopped. */
#define FL_WIRE_FINDINGS_MAX_LEGS 8
void fl_wire_findings_withheld(fl_wire_findings *f, unsigned leg, fl_wire_side toward);

/* The capture ended at end_ns (its last packet): windows still at zero, streams still open. */
FL_MUST_USE int fl_wire_findings_end(fl_wire_findings *f, int64_t end_ns);

size_t fl_wire_findings_count(const fl_wire_findings *f);
const fl_wire_finding *fl_wire_findings_at(const fl_wire_findings *f, size_t i);

/* A visitor that feeds f (frame and notice callbacks; user is f). */
void fl_wire_findings_visitor(fl_wire_findings *f, fl_wire_visitor *v);

#endif
