/*
 * shaper: when the bytes queued in one direction of a proxied connection may be written, under
 * the TCP faults that shape time (latency with jitter, bandwidth, slice, buffer).
 *
 * Pure: no I/O and no clock of its own; the caller passes `now` (CLOCK_MONOTONIC ns) and
 * writes the bytes itself. Bytes are counted as a stream: fl_shaper_add appends n bytes that
 * arrived at `now`, fl_shaper_allowed says how many of the oldest unsent ones may go now and
 * when to ask again, fl_shaper_sent records what went. Order is kept: a byte is never released
 * before one queued earlier.
 *
 *   latency  each add is released delay +- jitter after it arrived (uniform, from a generator
 *            seeded at init, so a run's delays repeat), never before the add before it
 *   hold     fl_shaper_add's hold_until: released no earlier (delay_frame holds a frame and
 *            everything behind it)
 *   buffer   released bytes are gathered until `bytes` of them wait, or `for` has passed
 *            since the first of them was released, then all go at once
 *   bandwidth  a token bucket of rate bytes/s holding at most 5 ms of rate (at least 1 byte)
 *   slice    at most `size` bytes a write, and `delay` between writes
 * A field of fl_shape that is 0 is off; with all of them off every queued byte may go at once.
 */
#ifndef FL_SHAPER_H
#define FL_SHAPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct {
  int64_t latency_ns, jitter_ns;
  uint64_t rate; /* bytes per second */
  uint64_t slice_size;
  int64_t slice_delay_ns;
  uint64_t buffer_bytes;
  int64_t buffer_for_ns;
} fl_shape;

typedef struct {
  uint64_t end;  /* absolute stream offset this mark releases up to */
  int64_t at_ns; /* not before */
} fl_shaper_mark;

typedef struct {
  uint64_t added, sent;  /* absolute stream offsets */
  fl_shaper_mark *marks; /* ring */
  size_t head, count, cap;
  int64_t last_release_ns;
  uint64_t rng;
  double tokens;
  bool tokens_set;
  int64_t tokens_ns; /* when tokens was last brought up to date */
  int64_t next_write_ns;
  uint64_t buffered; /* bytes the buffer stage has let go (absolute offset) */
  bool buffering;    /* bytes wait in the buffer stage, the first since buffer_first_ns */
  int64_t buffer_first_ns;
} fl_shaper;

void fl_shaper_init(fl_shaper *s, uint64_t seed);
void fl_shaper_free(fl_shaper *s);

/* Queues n bytes that arrived at now. Returns 0, or -1 out of memory. */
FL_MUST_USE int fl_shaper_add(fl_shaper *s, const fl_shape *p, uint64_t n, int64_t now,
                              int64_t hold_until);

/* How many queued bytes may be written at now. *wake_ns is when to ask again if bytes wait
 * that may not go yet, else 0. */
uint64_t fl_shaper_allowed(fl_shaper *s, const fl_shape *p, int64_t now, int64_t *wake_ns);

/* Records that n of the allowed bytes were written at now. */
void fl_shaper_sent(fl_shaper *s, const fl_shape *p, uint64_t n, int64_t now);

/* Forgets every queued byte (a reset discards them). */
void fl_shaper_drop(fl_shaper *s);

/* The next delay +- jitter, for tests. */
int64_t fl_shaper_latency_sample(fl_shaper *s, const fl_shape *p);

#endif
