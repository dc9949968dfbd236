/*
 * tcp: one direction of a TCP connection put back in order, from the segments a capture holds.
 *
 * Each segment is placed by its sequence number, relative to the first one (the SYN's, if the
 * capture has it). Bytes already delivered (retransmissions, overlaps) are dropped and counted;
 * a segment beyond the next expected byte is copied and held until the gap before it fills.
 * The sink receives the stream in order, as runs of captured bytes and counts of missing ones:
 *   - the tail of a segment beyond the capture's snaplen (caplen < the segment's length);
 *   - a gap the peer acknowledged (fl_tcp_dir_acked) that no captured segment filled: the
 *     peer got those bytes, the capture did not (a dropped packet);
 *   - a gap still open when more than FL_TCP_MAX_HELD bytes wait behind it, or at the end
 *     (fl_tcp_dir_flush).
 * Each run comes with the stamp (pcap packet number and time) of the segment it came from.
 *
 * Errors: fl_tcp_dir_segment and fl_tcp_dir_flush return -1 when the sink returned non-zero
 * (its value is passed on in *sink_rc) or when holding a segment ran out of memory
 * (*sink_rc == 0).
 */
#ifndef FL_TCP_H
#define FL_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Out-of-order bytes held behind one gap before the gap is declared missing. */
#define FL_TCP_MAX_HELD (8u << 20)

typedef struct {
  uint64_t packet; /* pcap packet number, from 1 */
  int64_t ts_ns;
} fl_tcp_stamp;

typedef struct {
  void *user;
  int (*bytes)(void *user, const uint8_t *p, size_t n, const fl_tcp_stamp *st);
  int (*missing)(void *user, uint64_t n, const fl_tcp_stamp *st);
} fl_tcp_sink;

typedef struct fl_tcp_held fl_tcp_held;

typedef struct {
  bool started;
  uint32_t isn;      /* sequence number of stream offset 0 */
  uint64_t next;     /* stream offset of the next byte to deliver */
  fl_tcp_held *held; /* sorted by offset */
  size_t held_bytes;
  uint64_t retransmitted, out_of_order, missing;
} fl_tcp_dir;

typedef struct {
  uint32_t seq;
  bool syn;
  const uint8_t *data;
  uint32_t caplen; /* bytes of the payload the capture holds */
  uint32_t len;    /* the payload's length on the wire */
  fl_tcp_stamp st;
} fl_tcp_segment;

void fl_tcp_dir_init(fl_tcp_dir *d);
FL_MUST_USE int fl_tcp_dir_segment(fl_tcp_dir *d, const fl_tcp_segment *s, const fl_tcp_sink *k,
                                   int *sink_rc);
/* The peer acknowledged everything before `ack` (its ACK field, at stamp st). */
FL_MUST_USE int fl_tcp_dir_acked(fl_tcp_dir *d, uint32_t ack, const fl_tcp_stamp *st,
                                 const fl_tcp_sink *k, int *sink_rc);
/* End of the capture: every held segment is delivered, gaps before them as missing. */
FL_MUST_USE int fl_tcp_dir_flush(fl_tcp_dir *d, const fl_tcp_sink *k, int *sink_rc);
void fl_tcp_dir_free(fl_tcp_dir *d);

#endif
