/*
 * h2frames: one direction's byte stream split into HTTP/2 frames (RFC 9113 section 4).
 *
 * Pure framing, no session state: the client's connection preface (when expected), then
 * 9-byte headers and payloads. A DATA frame's content (the pad-length byte and the padding
 * excluded) is passed on in pieces as it arrives, so a large frame is never copied; every
 * other frame's payload is gathered whole and passed on when its last byte arrives.
 *
 * Missing bytes (fl_h2f_missing: the capture does not hold them):
 *   - inside a payload: skipped; the frame is still passed on, with the count of its payload
 *     bytes that are missing (for a non-DATA frame the gathered payload has zeros there);
 *   - inside the preface or a frame header: the framing is lost. The `lost` callback is
 *     called, and later bytes are ignored until a segment (a new pcap packet) begins with a
 *     frame header the `plausible` callback accepts, followed by more plausible headers as far
 *     as the captured bytes go: the framing resumes there (`resync`). Senders write whole
 *     frames, so segments often begin with one; a segment that begins elsewhere is rarely
 *     mistaken for one, since every header in it must pass.
 * A client preface that does not match is reported through `lost` too (why: "not HTTP/2").
 *
 * Errors: the feeding functions return -1 when a callback returned non-zero (*rc holds its
 * value) or when gathering a payload ran out of memory (*rc == 0).
 */
#ifndef FL_H2FRAMES_H
#define FL_H2FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h2.h"
#include "tcp.h"
#include "util.h"

typedef enum {
  FL_H2F_PREFACE,
  FL_H2F_HEADER,
  FL_H2F_PADLEN,  /* DATA: waiting for the pad-length byte */
  FL_H2F_CONTENT, /* DATA: content bytes */
  FL_H2F_PADDING, /* DATA: padding bytes */
  FL_H2F_PAYLOAD, /* any other frame: gathering */
  FL_H2F_LOST,
} fl_h2f_state;

typedef struct {
  void *user;
  /* The client's preface was complete. */
  int (*preface)(void *user, const fl_tcp_stamp *st);
  /* A frame header was read (before any of its payload). */
  int (*begin)(void *user, const fl_h2_frame_header *h, const fl_tcp_stamp *st);
  /* DATA content: n bytes at p, or n missing bytes (p == NULL). */
  int (*data)(void *user, const uint8_t *p, size_t n, const fl_tcp_stamp *st);
  /* A whole frame. payload: the gathered payload of a non-DATA frame (NULL for DATA);
   * pad_len: DATA's padding length (-1 if its pad-length byte was missing);
   * missing: payload bytes not captured. */
  int (*frame)(void *user, const fl_h2_frame_header *h, const uint8_t *payload, int pad_len,
               uint32_t missing, const fl_tcp_stamp *st);
  /* The framing is lost (why: one line). */
  int (*lost)(void *user, const char *why, const fl_tcp_stamp *st);
  /* Could this header begin a frame here? NULL: the framing never resumes once lost. */
  bool (*plausible)(void *user, const fl_h2_frame_header *h);
  /* The framing resumed at the start of this segment. */
  int (*resync)(void *user, const fl_tcp_stamp *st);
} fl_h2f_sink;

typedef struct {
  fl_h2f_state state;
  uint8_t hdr[FL_H2_FRAME_HEADER_LEN];
  size_t have;          /* bytes of the preface or header so far */
  fl_h2_frame_header h; /* the frame being read */
  uint32_t left;        /* payload bytes still to come in this state */
  int pad_len;
  uint32_t missing;
  uint8_t *buf; /* gathered payload */
  size_t cap;
  uint32_t got;
  uint32_t taken;    /* payload bytes of this frame so far, missing included */
  uint64_t consumed; /* bytes of the stream taken, missing included */
  uint64_t packet;   /* the packet of the last bytes: a new one begins a segment */
  bool not_h2;       /* the preface did not match: never resumes */
} fl_h2f;

/* expect_preface: this is the client's direction and the preface comes first. */
void fl_h2f_init(fl_h2f *f, bool expect_preface);
void fl_h2f_free(fl_h2f *f);
FL_MUST_USE int fl_h2f_bytes(fl_h2f *f, const uint8_t *p, size_t n, const fl_tcp_stamp *st,
                             const fl_h2f_sink *k, int *rc);
FL_MUST_USE int fl_h2f_missing(fl_h2f *f, uint64_t n, const fl_tcp_stamp *st, const fl_h2f_sink *k,
                               int *rc);
/* Inside a frame (or the preface) right now: how many of its bytes were read, of how many.
 * Returns false between frames and once the framing is lost. */
bool fl_h2f_partial(const fl_h2f *f, uint64_t *have, uint64_t *total);

#endif
