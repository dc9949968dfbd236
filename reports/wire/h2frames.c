#include "h2frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_h2f_init(fl_h2f *f, bool expect_preface) {
  memset(f, 0, sizeof *f);
  f->state = expect_preface ? FL_H2F_PREFACE : FL_H2F_HEADER;
}

void fl_h2f_free(fl_h2f *f) {
  free(f->buf);
  f->buf = NULL;
  f->cap = 0;
}

static int lose(fl_h2f *f, const char *why, const fl_tcp_stamp *st, const fl_h2f_sink *k, int *rc) {
  f->state = FL_H2F_LOST;
  if (k->lost && (*rc = k->lost(k->user, why, st)) != 0) return -1;
  return 0;
}

static int finish(fl_h2f *f, const uint8_t *payload, const fl_tcp_stamp *st, const fl_h2f_sink *k,
                  int *rc) {
  f->state = FL_H2F_HEADER;
  f->have = 0;
  if (k->frame && (*rc = k->frame(k->user, &f->h, payload, f->pad_len, f->missing, st)) != 0)
    return -1;
  return 0;
}

/* The header is complete: set up the payload's states. */
static int start_payload(fl_h2f *f, const fl_tcp_stamp *st, const fl_h2f_sink *k, int *rc) {
  fl_h2_header_parse(f->hdr, &f->h);
  f->missing = 0;
  f->pad_len = 0;
  f->got = 0;
  f->taken = 0;
  if (k->begin && (*rc = k->begin(k->user, &f->h, st)) != 0) return -1;
  if (f->h.type == FL_H2_DATA) {
    f->left = f->h.length;
    if (f->h.flags & FL_H2_FLAG_PADDED && f->h.length > 0) {
      f->state = FL_H2F_PADLEN;
    } else {
      f->state = FL_H2F_CONTENT;
    }
  } else {
    if (f->h.length > f->cap) {
      size_t cap = f->cap ? f->cap : 256;
      while (cap < f->h.length) cap *= 2;
      uint8_t *b = realloc(f->buf, cap);
      if (!b) return -1;
      f->buf = b;
      f->cap = cap;
    }
    f->left = f->h.length;
    f->state = FL_H2F_PAYLOAD;
  }
  if (f->left == 0) return finish(f, f->h.type == FL_H2_DATA ? NULL : f->buf, st, k, rc);
  return 0;
}

/* DATA: the pad-length byte is known; the content is what remains before the padding. */
static void set_padding(fl_h2f *f, int pad_len) {
  f->pad_len = pad_len;
  f->left = f->h.length - 1;
  if (pad_len >= 0 && (uint32_t)pad_len > f->left) f->pad_len = (int)f->left; /* malformed */
  if (pad_len >= 0) f->left -= (uint32_t)f->pad_len;
}

/* After CONTENT ends: the padding, or the frame's end. */
static int content_done(fl_h2f *f, const fl_tcp_stamp *st, const fl_h2f_sink *k, int *rc) {
  if (f->pad_len > 0) {
    f->state = FL_H2F_PADDING;
    f->left = (uint32_t)f->pad_len;
    return 0;
  }
  return finish(f, NULL, st, k, rc);
}

/* Lost: does this segment's captured start read as a chain of plausible frame headers? */
static bool chain_ok(const uint8_t *p, size_t n, const fl_h2f_sink *k) {
  size_t off = 0, seen = 0;
  while (off + FL_H2_FRAME_HEADER_LEN <= n) {
    fl_h2_frame_header h;
    fl_h2_header_parse(p + off, &h);
    if (!k->plausible(k->user, &h)) return false;
    seen++;
    off += FL_H2_FRAME_HEADER_LEN + (size_t)h.length;
  }
  return seen > 0;
}

int fl_h2f_bytes(fl_h2f *f, const uint8_t *p, size_t n, const fl_tcp_stamp *st,
                 const fl_h2f_sink *k, int *rc) {
  *rc = 0;
  f->consumed += n;
  bool seg_start = st->packet != f->packet;
  f->packet = st->packet;
  while (n > 0) {
    switch (f->state) {
    case FL_H2F_LOST:
      if (f->not_h2 || !seg_start || !k->plausible || !chain_ok(p, n, k)) return 0;
      f->state = FL_H2F_HEADER;
      f->have = 0;
      if (k->resync && (*rc = k->resync(k->user, st)) != 0) return -1;
      break;
    case FL_H2F_PREFACE: {
      size_t t = FL_H2_PREFACE_LEN - f->have;
      if (t > n) t = n;
      if (memcmp(p, &FL_H2_PREFACE[f->have], t) != 0) {
        f->not_h2 = true;
        return lose(f, "not HTTP/2: the client's first bytes are not the connection preface", st, k,
                    rc);
      }
      f->have += t;
      p += t;
      n -= t;
      if (f->have == FL_H2_PREFACE_LEN) {
        f->state = FL_H2F_HEADER;
        f->have = 0;
        if (k->preface && (*rc = k->preface(k->user, st)) != 0) return -1;
      }
      break;
    }
    case FL_H2F_HEADER: {
      if (f->have == 0 && n >= FL_H2_FRAME_HEADER_LEN) {
        memcpy(f->hdr, p, FL_H2_FRAME_HEADER_LEN);
        f->have = FL_H2_FRAME_HEADER_LEN;
        p += FL_H2_FRAME_HEADER_LEN;
        n -= FL_H2_FRAME_HEADER_LEN;
      } else {
        size_t t = FL_H2_FRAME_HEADER_LEN - f->have;
        if (t > n) t = n;
        memcpy(f->hdr + f->have, p, t);
        f->have += t;
        p += t;
        n -= t;
      }
      if (f->have == FL_H2_FRAME_HEADER_LEN && start_payload(f, st, k, rc) < 0) return -1;
      break;
    }
    case FL_H2F_PADLEN:
      set_padding(f, p[0]);
      f->state = FL_H2F_CONTENT;
      f->taken++;
      p++;
      n--;
      if (f->left == 0 && content_done(f, st, k, rc) < 0) return -1;
      break;
    case FL_H2F_CONTENT: {
      size_t t = f->left < n ? f->left : n;
      f->left -= (uint32_t)t;
      f->taken += (uint32_t)t;
      if (k->data && (*rc = k->data(k->user, p, t, st)) != 0) return -1;
      p += t;
      n -= t;
      if (f->left == 0 && content_done(f, st, k, rc) < 0) return -1;
      break;
    }
    case FL_H2F_PADDING: {
      size_t t = f->left < n ? f->left : n;
      f->left -= (uint32_t)t;
      f->taken += (uint32_t)t;
      p += t;
      n -= t;
      if (f->left == 0 && finish(f, NULL, st, k, rc) < 0) return -1;
      break;
    }
    case FL_H2F_PAYLOAD: {
      size_t t = f->left < n ? f->left : n;
      memcpy(f->buf + f->got, p, t);
      f->got += (uint32_t)t;
      f->taken += (uint32_t)t;
      f->left -= (uint32_t)t;
      p += t;
      n -= t;
      if (f->left == 0 && finish(f, f->buf, st, k, rc) < 0) return -1;
      break;
    }
    }
  }
  return 0;
}

int fl_h2f_missing(fl_h2f *f, uint64_t n, const fl_tcp_stamp *st, const fl_h2f_sink *k, int *rc) {
  *rc = 0;
  f->consumed += n;
  f->packet = st->packet;
  while (n > 0) {
    switch (f->state) {
    case FL_H2F_LOST: return 0;
    case FL_H2F_PREFACE:
    case FL_H2F_HEADER: {
      char why[160];
      snprintf(why, sizeof why, "%llu bytes not captured where %s was", (unsigned long long)n,
               f->state == FL_H2F_PREFACE ? "the connection preface" : "a frame header");
      return lose(f, why, st, k, rc);
    }
    case FL_H2F_PADLEN:
      f->missing++;
      f->taken++;
      set_padding(f, -1);
      f->state = FL_H2F_CONTENT;
      n--;
      if (f->left == 0 && finish(f, NULL, st, k, rc) < 0) return -1;
      break;
    case FL_H2F_CONTENT:
    case FL_H2F_PADDING:
    case FL_H2F_PAYLOAD: {
      uint64_t t = f->left < n ? f->left : n;
      f->left -= (uint32_t)t;
      f->missing += (uint32_t)t;
      f->taken += (uint32_t)t;
      n -= t;
      if (f->state == FL_H2F_CONTENT) {
        if (k->data && (*rc = k->data(k->user, NULL, (size_t)t, st)) != 0) return -1;
        /* Padding whose length byte was missing cannot be told from content: it all counts
         * as content (missing), so the frame ends here. */
        if (f->left == 0 && content_done(f, st, k, rc) < 0) return -1;
      } else if (f->state == FL_H2F_PAYLOAD) {
        memset(f->buf + f->got, 0, (size_t)t);
        f->got += (uint32_t)t;
        if (f->left == 0 && finish(f, f->buf, st, k, rc) < 0) return -1;
      } else if (f->left == 0 && finish(f, NULL, st, k, rc) < 0) {
        return -1;
      }
      break;
    }
    }
  }
  return 0;
}

bool fl_h2f_partial(const fl_h2f *f, uint64_t *have, uint64_t *total) {
  switch (f->state) {
  case FL_H2F_LOST: return false;
  case FL_H2F_PREFACE:
    *have = f->have;
    *total = FL_H2_PREFACE_LEN;
    return f->have > 0;
  case FL_H2F_HEADER:
    *have = f->have;
    *total = FL_H2_FRAME_HEADER_LEN;
    return f->have > 0;
  case FL_H2F_PADLEN:
  case FL_H2F_CONTENT:
  case FL_H2F_PADDING:
  case FL_H2F_PAYLOAD: break;
  }
  *total = FL_H2_FRAME_HEADER_LEN + (uint64_t)f->h.length;
  *have = FL_H2_FRAME_HEADER_LEN + (uint64_t)f->taken;
  return true;
}
