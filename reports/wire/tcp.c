#include "tcp.h"

#include <stdlib.h>
#include <string.h>

struct fl_tcp_held {
  fl_tcp_held *next;
  uint64_t off;
  uint32_t caplen, len;
  fl_tcp_stamp st;
  uint8_t data[];
};

void fl_tcp_dir_init(fl_tcp_dir *d) { memset(d, 0, sizeof *d); }

void fl_tcp_dir_free(fl_tcp_dir *d) {
  for (fl_tcp_held *h = d->held, *n; h; h = n) {
    n = h->next;
    free(h);
  }
  d->held = NULL;
  d->held_bytes = 0;
}

/* The stream offset of seq, taken as the nearest one to what is expected next (sequence
 * numbers wrap at 2^32). */
static int64_t offset_of(const fl_tcp_dir *d, uint32_t seq) {
  uint32_t expected = d->isn + (uint32_t)d->next;
  return (int64_t)d->next + (int32_t)(seq - expected);
}

static int emit_missing(fl_tcp_dir *d, uint64_t n, const fl_tcp_stamp *st, const fl_tcp_sink *k,
                        int *rc) {
  if (n == 0) return 0;
  d->missing += n;
  d->next += n;
  if (k->missing && (*rc = k->missing(k->user, n, st)) != 0) return -1;
  return 0;
}

/* Delivers a segment that starts at or before d->next, without what was delivered already. */
static int deliver(fl_tcp_dir *d, int64_t off, const uint8_t *data, uint32_t caplen, uint32_t len,
                   const fl_tcp_stamp *st, const fl_tcp_sink *k, int *rc) {
  uint64_t end = (uint64_t)off + len;
  if (end <= d->next) {
    d->retransmitted += len;
    return 0;
  }
  uint64_t skip = d->next - (uint64_t)off;
  d->retransmitted += skip;
  if (skip < caplen) {
    size_t n = caplen - skip;
    d->next += n;
    if (k->bytes && (*rc = k->bytes(k->user, data + skip, n, st)) != 0) return -1;
  }
  return emit_missing(d, end - d->next, st, k, rc);
}

/* Delivers the held segments that now touch d->next, stamped with the packet that let them go
 * (`now`: the one that filled the gap or told it was lost), or their own at the end. */
static int drain(fl_tcp_dir *d, const fl_tcp_stamp *now, const fl_tcp_sink *k, int *rc) {
  while (d->held && d->held->off <= d->next) {
    fl_tcp_held *h = d->held;
    d->held = h->next;
    d->held_bytes -= h->caplen;
    int r = deliver(d, (int64_t)h->off, h->data, h->caplen, h->len, now ? now : &h->st, k, rc);
    free(h);
    if (r < 0) return -1;
  }
  return 0;
}

static int hold(fl_tcp_dir *d, int64_t off, const fl_tcp_segment *s) {
  fl_tcp_held *h = malloc(sizeof *h + s->caplen);
  if (!h) return -1;
  h->off = (uint64_t)off;
  h->caplen = s->caplen;
  h->len = s->len;
  h->st = s->st;
  memcpy(h->data, s->data, s->caplen);
  fl_tcp_held **p = &d->held;
  while (*p && (*p)->off <= h->off) p = &(*p)->next;
  h->next = *p;
  *p = h;
  d->held_bytes += s->caplen;
  d->out_of_order++;
  return 0;
}

/* Declares the gap before the first held segment missing and delivers what follows it. */
static int give_up_gap(fl_tcp_dir *d, const fl_tcp_stamp *now, const fl_tcp_sink *k, int *rc) {
  if (!d->held) return 0;
  if (emit_missing(d, d->held->off - d->next, now ? now : &d->held->st, k, rc) < 0) return -1;
  return drain(d, now, k, rc);
}

int fl_tcp_dir_segment(fl_tcp_dir *d, const fl_tcp_segment *s, const fl_tcp_sink *k, int *sink_rc) {
  *sink_rc = 0;
  uint32_t seq = s->seq;
  if (s->syn) {
    /* The SYN takes one sequence number; a repeated SYN changes nothing. */
    if (!d->started) {
      d->started = true;
      d->isn = seq + 1;
      d->next = 0;
    }
    seq++;
  }
  if (s->len == 0) return 0;
  if (!d->started) {
    /* The capture began after the handshake: this segment is offset 0. */
    d->started = true;
    d->isn = seq;
    d->next = 0;
  }
  int64_t off = offset_of(d, seq);
  if (off < 0 && (uint64_t)(-off) >= s->len) {
    d->retransmitted += s->len;
    return 0;
  }
  if (off <= (int64_t)d->next) {
    if (off < 0) {
      /* Partly before offset 0: only possible for a segment from before the SYN's stream. */
      uint32_t cut = (uint32_t)-off;
      fl_tcp_segment t = *s;
      t.len -= cut;
      t.caplen = t.caplen > cut ? t.caplen - cut : 0;
      t.data += t.caplen ? cut : 0;
      return deliver(d, 0, t.data, t.caplen, t.len, &t.st, k, sink_rc) < 0
                 ? -1
                 : drain(d, &s->st, k, sink_rc);
    }
    if (deliver(d, off, s->data, s->caplen, s->len, &s->st, k, sink_rc) < 0) return -1;
    return drain(d, &s->st, k, sink_rc);
  }
  if (hold(d, off, s) < 0) return -1;
  if (d->held_bytes > FL_TCP_MAX_HELD) return give_up_gap(d, &s->st, k, sink_rc);
  return 0;
}

int fl_tcp_dir_acked(fl_tcp_dir *d, uint32_t ack, const fl_tcp_stamp *st, const fl_tcp_sink *k,
                     int *sink_rc) {
  *sink_rc = 0;
  if (!d->started) return 0;
  int64_t off = offset_of(d, ack);
  if (off <= (int64_t)d->next) return 0;
  uint64_t upto = (uint64_t)off;
  /* One sequence number past the data, with nothing held, is a FIN the capture did not show. */
  if (!d->held && upto == d->next + 1) return 0;
  if (d->held && d->held->off < upto) upto = d->held->off;
  if (upto > d->next && emit_missing(d, upto - d->next, st, k, sink_rc) < 0) return -1;
  return drain(d, st, k, sink_rc);
}

int fl_tcp_dir_flush(fl_tcp_dir *d, const fl_tcp_sink *k, int *sink_rc) {
  *sink_rc = 0;
  while (d->held)
    if (give_up_gap(d, NULL, k, sink_rc) < 0) return -1;
  return 0;
}
