/*
 * The decoder: capture records -> IP/TCP -> connections -> per direction reassembly (tcp.h)
 * -> framing (h2frames.h) -> HTTP/2 semantics here: header blocks (hpack.h), streams, gRPC
 * messages (grpcmsg.h), flow-control windows, and one fl_wire_frame per frame to the visitor.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpcmsg.h"
#include "h2frames.h"
#include "hpack.h"
#include "tcp.h"
#include "wire.h"

/* Bytes of one end kept while waiting for the other end's preface (no ports given): the
 * server's SETTINGS usually arrive before the client's preface. */
#define SNIFF_MAX (64u << 10)
#define FAULTLINE_PATH "/faultline.Test/"

typedef struct stream {
  uint32_t id;
  int64_t window[2];
  int64_t zero_since[2];
  bool ended[2];
  bool headers[2]; /* a header block was sent by that side */
  fl_grpc_reader msg[2];
} stream;

typedef struct chunk {
  struct chunk *next;
  fl_tcp_stamp st;
  uint64_t missing; /* a run of missing bytes instead of data */
  size_t n;
  uint8_t data[];
} chunk;

struct conn;
struct decoder;

typedef struct {
  struct conn *c;
  fl_wire_side side;
  fl_h2f fr;
  fl_hpack hp;
  uint64_t frames;
  int64_t conn_window, conn_zero_since;
  int64_t initial_window; /* this side's new streams' send window: the peer's setting */
  uint32_t max_frame;     /* the largest frame this side accepts (its MAX_FRAME_SIZE) */
  bool lost;              /* its framing was lost, now or before (frames were missed) */
  /* the header block in progress */
  bool in_block;
  uint8_t *block;
  size_t block_len, block_cap;
  uint32_t block_stream, block_frames, block_promised;
  uint8_t block_type, block_flags;
  bool block_missing;
  /* the DATA frame in progress */
  stream *cur;
  fl_grpc_pieces pieces;
} side_state;

typedef struct {
  struct conn *c;
  int ep;
} ep_ref;

typedef struct conn {
  struct decoder *d;
  struct conn *hnext, *next;
  int family;
  uint8_t addr[2][16];
  uint16_t port[2];
  int client_ep; /* -1 while not known */
  bool ignored, announced;
  bool syn[2], fin[2], rst;
  bool had_data;
  fl_tcp_dir tcp[2];
  ep_ref ref[2];
  bool not_client[2]; /* sniffing: that end's first bytes were not the preface */
  chunk *sniff[2], **sniff_tail[2];
  size_t sniff_len[2];
  uint8_t first[2][FL_H2_PREFACE_LEN];
  size_t first_len[2];
  fl_wire_conn info;
  side_state s[2];
  /* streams: open addressing, linear probing */
  stream **tab;
  size_t tab_cap, tab_n;
  uint32_t max_id[2]; /* the highest stream id each side opened */
} conn;

typedef struct decoder {
  const fl_wire_options *opt;
  const fl_wire_visitor *v;
  fl_wire_stats *st;
  conn **hash;
  size_t hash_cap;
  conn *all, **all_tail;
  unsigned *leg_conns;
  char (*leg_names)[32];
  uint64_t frame_index;
  bool oom, stopped;
  int64_t last_ts;
  fl_wire_window *wins;
  size_t n_wins, cap_wins;
  fl_wire_setting *settings;
  size_t cap_settings;
  char problem[160];
} decoder;

const char *fl_wire_side_name(fl_wire_side s) { return s == FL_WIRE_CLIENT ? "client" : "server"; }

const char *fl_wire_mark_name(fl_wire_mark_kind m) {
  switch (m) {
  case FL_WIRE_MARK_NONE: return NULL;
#define FL_WIRE_X(e, name)                                                                         \
  case FL_WIRE_MARK_##e: return name;
    FL_WIRE_MARKS(FL_WIRE_X)
#undef FL_WIRE_X
  }
  return NULL;
}

const char *fl_wire_notice_name(fl_wire_notice_kind k) {
  switch (k) {
#define FL_WIRE_X(e, name)                                                                         \
  case FL_WIRE_NOTE_##e: return name;
    FL_WIRE_NOTICES(FL_WIRE_X)
#undef FL_WIRE_X
  }
  return "?";
}

const char *fl_wire_window_cause_name(fl_wire_window_cause c) {
  switch (c) {
  case FL_WIRE_WIN_OPEN: return "open";
  case FL_WIRE_WIN_DATA: return "data";
  case FL_WIRE_WIN_UPDATE: return "window_update";
  case FL_WIRE_WIN_SETTINGS: return "settings";
  case FL_WIRE_WIN_CLOSE: return "close";
  }
  return "?";
}

int64_t fl_wire_parse_grpc_timeout(const char *s, size_t len) {
  if (len < 2 || len > 9) return -1;
  int64_t v = 0;
  for (size_t i = 0; i + 1 < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  switch (s[len - 1]) {
  case 'H': return v * 3600 * 1000000000LL;
  case 'M': return v * 60 * 1000000000LL;
  case 'S': return v * 1000000000LL;
  case 'm': return v * 1000000LL;
  case 'u': return v * 1000LL;
  case 'n': return v;
  default: return -1;
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t fl_wire_percent_decode(const char *s, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
        (lo = hexval(s[i + 2])) >= 0) {
      out[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  return o;
}

/* ---- the visitor ---- */

static int call_frame(decoder *d, const fl_wire_frame *f) {
  if (d->v && d->v->frame && d->v->frame(d->v->user, f) != 0) return d->stopped = true, -1;
  if (d->v && d->v->window)
    for (size_t i = 0; i < f->n_windows; i++)
      if (d->v->window(d->v->user, &f->windows[i]) != 0) return d->stopped = true, -1;
  return 0;
}

static int notice(decoder *d, conn *c, fl_wire_side from, fl_wire_notice_kind k,
                  const fl_tcp_stamp *st, const char *text) {
  if (k == FL_WIRE_NOTE_LOST_SYNC) d->st->lost_sync++;
  if (!d->v || !d->v->notice) return 0;
  fl_wire_notice n = {.kind = k,
                      .conn = &c->info,
                      .from = from,
                      .packet = st->packet,
                      .ts_ns = st->ts_ns,
                      .text = text};
  if (d->v->notice(d->v->user, &n) != 0) return d->stopped = true, -1;
  return 0;
}

/* ---- streams ---- */

static size_t slot_of(uint32_t id, size_t cap) { return (id * 2654435761u) & (cap - 1); }

static stream *find_stream(conn *c, uint32_t id) {
  if (!c->tab || id == 0) return NULL;
  for (size_t i = slot_of(id, c->tab_cap);; i = (i + 1) & (c->tab_cap - 1)) {
    if (!c->tab[i]) return NULL;
    if (c->tab[i]->id == id) return c->tab[i];
  }
}

static int put_stream(conn *c, stream *s) {
  if ((c->tab_n + 1) * 2 > c->tab_cap) {
    size_t cap = c->tab_cap ? c->tab_cap * 2 : 16;
    stream **t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < c->tab_cap; i++) {
      if (!c->tab[i]) continue;
      size_t j = slot_of(c->tab[i]->id, cap);
      while (t[j]) j = (j + 1) & (cap - 1);
      t[j] = c->tab[i];
    }
    free(c->tab);
    c->tab = t;
    c->tab_cap = cap;
  }
  size_t j = slot_of(s->id, c->tab_cap);
  while (c->tab[j]) j = (j + 1) & (c->tab_cap - 1);
  c->tab[j] = s;
  c->tab_n++;
  return 0;
}

static void free_stream(stream *s) {
  fl_grpc_reader_free(&s->msg[0]);
  fl_grpc_reader_free(&s->msg[1]);
  free(s);
}

/* Removes s (linear probing: the rest of its cluster is put back). */
static void drop_stream(conn *c, stream *s) {
  size_t i = slot_of(s->id, c->tab_cap);
  while (c->tab[i] != s) i = (i + 1) & (c->tab_cap - 1);
  c->tab[i] = NULL;
  c->tab_n--;
  for (size_t j = (i + 1) & (c->tab_cap - 1); c->tab[j]; j = (j + 1) & (c->tab_cap - 1)) {
    stream *m = c->tab[j];
    c->tab[j] = NULL;
    size_t k = slot_of(m->id, c->tab_cap);
    while (c->tab[k]) k = (k + 1) & (c->tab_cap - 1);
    c->tab[k] = m;
  }
  for (int side = 0; side < 2; side++)
    if (c->s[side].cur == s) c->s[side].cur = NULL;
  free_stream(s);
}

/* A stream id that was opened before and is gone: closed (ids are never reused). */
static bool closed_id(const conn *c, uint32_t id) {
  if (id == 0) return false;
  return id <= c->max_id[id % 2 ? FL_WIRE_CLIENT : FL_WIRE_SERVER];
}

/* ---- windows ---- */

static void side_stat(decoder *d, fl_wire_side owner, int64_t window, int64_t zero_for) {
  fl_wire_side_stats *ss = &d->st->side[owner];
  if (!ss->window_known || window < ss->window_min) ss->window_min = window;
  ss->window_known = true;
  if (zero_for > ss->window_zero_for_ns) ss->window_zero_for_ns = zero_for;
}

static int win_change(decoder *d, conn *c, fl_wire_side owner, stream *s, int64_t delta,
                      fl_wire_window_cause cause, const fl_wire_frame *f) {
  int64_t *w = s ? &s->window[owner] : &c->s[owner].conn_window;
  int64_t *zs = s ? &s->zero_since[owner] : &c->s[owner].conn_zero_since;
  if (cause == FL_WIRE_WIN_OPEN) {
    *w = 0;
    *zs = -1;
  }
  *w += delta;
  int64_t zero_for = 0;
  if (*w <= 0 && cause != FL_WIRE_WIN_CLOSE) {
    if (*zs < 0) *zs = f->ts_ns;
  } else if (*zs >= 0) {
    zero_for = f->ts_ns - *zs;
    *zs = -1;
  }
  side_stat(d, owner, *w, zero_for);
  if (d->n_wins == d->cap_wins) {
    size_t cap = d->cap_wins ? d->cap_wins * 2 : 64;
    fl_wire_window *v = realloc(d->wins, cap * sizeof *v);
    if (!v) return d->oom = true, -1;
    d->wins = v;
    d->cap_wins = cap;
  }
  d->wins[d->n_wins++] = (fl_wire_window){.conn = &c->info,
                                          .owner = owner,
                                          .stream_id = s ? s->id : 0,
                                          .window = *w,
                                          .delta = delta,
                                          .cause = cause,
                                          .frame_index = f->index,
                                          .packet = f->packet,
                                          .ts_ns = f->ts_ns,
                                          .zero_since_ns = *zs,
                                          .zero_for_ns = zero_for};
  return 0;
}

static int close_stream(decoder *d, conn *c, stream *s, const fl_wire_frame *f) {
  for (int side = 0; side < 2; side++)
    if (win_change(d, c, (fl_wire_side)side, s, 0, FL_WIRE_WIN_CLOSE, f) < 0) return -1;
  drop_stream(c, s);
  return 0;
}

static int open_stream(decoder *d, conn *c, uint32_t id, bool faultline, const fl_wire_frame *f,
                       stream **out) {
  stream *s = calloc(1, sizeof *s);
  if (!s) return d->oom = true, -1;
  s->id = id;
  fl_grpc_reader_init(&s->msg[0], faultline);
  fl_grpc_reader_init(&s->msg[1], faultline);
  if (put_stream(c, s) < 0) {
    free_stream(s);
    return d->oom = true, -1;
  }
  for (int side = 0; side < 2; side++)
    if (win_change(d, c, (fl_wire_side)side, s, c->s[side].initial_window, FL_WIRE_WIN_OPEN, f) < 0)
      return -1;
  *out = s;
  return 0;
}

/* ---- frames ---- */

static fl_wire_mark_kind find_mark(decoder *d, const conn *c, fl_wire_side side, uint64_t n) {
  for (size_t i = 0; i < d->opt->n_marks; i++) {
    const fl_wire_mark *m = &d->opt->marks[i];
    if (m->leg == c->info.leg && m->conn == c->info.conn && m->from == side && m->frame == n)
      return m->mark;
  }
  return FL_WIRE_MARK_NONE;
}

static const char *problem(decoder *d, const char *fmt, unsigned long long a) {
  snprintf(d->problem, sizeof d->problem, fmt, a);
  return d->problem;
}

static bool header_is(const fl_wire_header *h, const char *name) {
  return h->name_len == strlen(name) && !memcmp(h->name, name, h->name_len);
}

/* The gRPC facts of a decoded block. */
static void header_facts(fl_wire_frame *f, fl_wire_header *hv, size_t n) {
  for (size_t i = 0; i < n; i++) {
    fl_wire_header *h = &hv[i];
    if (header_is(h, ":path")) {
      f->path = h->value;
    } else if (header_is(h, ":status")) {
      f->http_status = atoi(h->value);
    } else if (header_is(h, "grpc-status")) {
      char *end;
      long v = strtol(h->value, &end, 10);
      if (end != h->value && *end == '\0' && v >= 0 && v < 1000) f->grpc_status = (int)v;
    } else if (header_is(h, "grpc-timeout")) {
      f->grpc_timeout_ns = fl_wire_parse_grpc_timeout(h->value, h->value_len);
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (!header_is(&hv[i], "grpc-message")) continue;
    f->grpc_message = hv[i].value; /* percent-decoded by the caller, into a copy */
    f->grpc_message_len = hv[i].value_len;
  }
}

/* The end of a header block: decode it, and what it means for the stream. */
static int block_end(decoder *d, conn *c, side_state *ss, fl_wire_frame *f, char **msgbuf) {
  f->block_end = true;
  f->block_frames = ss->block_frames;
  f->end_stream = ss->block_flags & FL_H2_FLAG_END_STREAM;
  ss->in_block = false;
  int rv;
  if (ss->block_missing) {
    char why[160];
    snprintf(why, sizeof why,
             "HPACK state lost at frame %llu: a header block was not fully captured",
             (unsigned long long)f->index);
    bool first = !ss->hp.lost;
    fl_hpack_lose(&ss->hp, why);
    if (first && notice(d, c, ss->side, FL_WIRE_NOTE_HPACK_LOST,
                        &(fl_tcp_stamp){f->packet, f->ts_ns}, why) < 0)
      return -1;
    rv = 1;
  } else {
    bool was_lost = ss->hp.lost;
    rv = fl_hpack_block(&ss->hp, ss->block, ss->block_len);
    if (rv < 0) return d->oom = true, -1;
    if (rv == 1 && !was_lost &&
        notice(d, c, ss->side, FL_WIRE_NOTE_HPACK_LOST, &(fl_tcp_stamp){f->packet, f->ts_ns},
               ss->hp.why) < 0)
      return -1;
  }
  if (rv == 0) {
    f->headers_decoded = true;
    f->headers = ss->hp.hv;
    f->n_headers = ss->hp.n;
    header_facts(f, ss->hp.hv, ss->hp.n);
    if (f->grpc_message) {
      /* The header keeps the value as it was on the wire; the fact is the decoded text. */
      *msgbuf = malloc(f->grpc_message_len + 1);
      if (!*msgbuf) return d->oom = true, -1;
      f->grpc_message_len = fl_wire_percent_decode(f->grpc_message, f->grpc_message_len, *msgbuf);
      (*msgbuf)[f->grpc_message_len] = '\0';
      f->grpc_message = *msgbuf;
    }
  } else {
    f->hpack_error = ss->hp.why;
  }
  if (ss->block_type == FL_H2_PUSH_PROMISE) {
    stream *s;
    if (!find_stream(c, ss->block_promised) && ss->block_promised > c->max_id[FL_WIRE_SERVER]) {
      c->max_id[FL_WIRE_SERVER] = ss->block_promised;
      if (open_stream(d, c, ss->block_promised, false, f, &s) < 0) return -1;
      s->headers[FL_WIRE_SERVER] = true;
    }
    return 0;
  }
  uint32_t id = ss->block_stream;
  stream *s = find_stream(c, id);
  /* The client's HEADERS may be among the frames lost with its framing. */
  bool missed = ss->side == FL_WIRE_SERVER && c->s[FL_WIRE_CLIENT].lost && id % 2 == 1;
  if (!s && (ss->side == FL_WIRE_CLIENT || missed) && id > c->max_id[FL_WIRE_CLIENT]) {
    c->max_id[FL_WIRE_CLIENT] = id;
    bool faultline = !f->headers_decoded ||
                     (f->path && !strncmp(f->path, FAULTLINE_PATH, strlen(FAULTLINE_PATH)));
    if (open_stream(d, c, id, faultline, f, &s) < 0) return -1;
  }
  if (!s) {
    /* Frames that crossed a RST_STREAM (or came after both ends ended) are normal. */
    if (closed_id(c, id)) {
      f->stream_closed = true;
      if (ss->side == FL_WIRE_SERVER && f->grpc_status >= 0) f->trailers = true;
    } else if (!f->problem) {
      f->problem = problem(d, "HEADERS on stream %llu, which is not open", id);
    }
    return 0;
  }
  if (ss->side == FL_WIRE_SERVER && f->grpc_status >= 0) f->trailers = true;
  if (ss->side == FL_WIRE_SERVER && s->headers[FL_WIRE_SERVER] && f->end_stream) f->trailers = true;
  s->headers[ss->side] = true;
  if (f->end_stream) {
    s->ended[ss->side] = true;
    if (s->ended[0] && s->ended[1]) return close_stream(d, c, s, f);
  }
  return 0;
}

static int append_block(decoder *d, side_state *ss, const uint8_t *p, size_t n) {
  if (n == 0) return 0;
  if (ss->block_len + n > ss->block_cap) {
    size_t cap = ss->block_cap ? ss->block_cap : 1024;
    while (cap < ss->block_len + n) cap *= 2;
    uint8_t *b = realloc(ss->block, cap);
    if (!b) return d->oom = true, -1;
    ss->block = b;
    ss->block_cap = cap;
  }
  memcpy(ss->block + ss->block_len, p, n);
  ss->block_len += n;
  return 0;
}

static int on_begin(void *user, const fl_h2_frame_header *h, const fl_tcp_stamp *st) {
  side_state *ss = user;
  (void)st;
  ss->pieces.n = 0;
  ss->cur = NULL;
  if (h->type == FL_H2_DATA) {
    ss->cur = find_stream(ss->c, h->stream_id);
    if (ss->cur) fl_grpc_frame_begin(&ss->cur->msg[ss->side]);
  }
  return 0;
}

static int on_data(void *user, const uint8_t *p, size_t n, const fl_tcp_stamp *st) {
  side_state *ss = user;
  (void)st;
  if (!ss->cur) return 0;
  if (fl_grpc_feed(&ss->cur->msg[ss->side], p, n, &ss->pieces) < 0) {
    ss->c->d->oom = true;
    return -1;
  }
  return 0;
}

static int on_frame_impl(decoder *d, side_state *ss, const fl_h2_frame_header *h, const uint8_t *pl,
                         int pad_len, uint32_t missing, const fl_tcp_stamp *st) {
  conn *c = ss->c;
  fl_wire_side other = ss->side == FL_WIRE_CLIENT ? FL_WIRE_SERVER : FL_WIRE_CLIENT;
  fl_wire_frame f = {.index = ++d->frame_index,
                     .packet = st->packet,
                     .ts_ns = st->ts_ns,
                     .conn = &c->info,
                     .conn_frame = ++ss->frames,
                     .from = ss->side,
                     .h = *h,
                     .missing = missing,
                     .http_status = -1,
                     .grpc_status = -1,
                     .grpc_timeout_ns = -1};
  d->n_wins = 0;
  d->problem[0] = '\0';
  if (d->opt->n_marks) f.mark = find_mark(d, c, ss->side, f.conn_frame);
  d->st->frames++;
  d->st->side[ss->side].frames++;
  if (h->type < FL_H2_N_FRAME_TYPES)
    d->st->frames_by_type[h->type]++;
  else
    d->st->frames_unknown_type++;
  uint32_t len = h->length;
  char *msgbuf = NULL;
  int rv = 0;

  if (ss->in_block && h->type != FL_H2_CONTINUATION) {
    f.problem = "a header block was left without its CONTINUATION";
    ss->in_block = false;
    fl_hpack_lose(&ss->hp, "HPACK state lost: a header block was never finished");
  }

  switch ((fl_h2_frame_type)h->type) {
  case FL_H2_DATA: {
    if (pad_len > 0) f.pad_len = (uint32_t)pad_len;
    f.end_stream = h->flags & FL_H2_FLAG_END_STREAM;
    f.messages = ss->pieces.v;
    f.n_messages = ss->pieces.n;
    stream *s = ss->cur;
    if (h->stream_id == 0) {
      f.problem = "DATA on stream 0";
    } else if (!s && closed_id(c, h->stream_id)) {
      f.stream_closed = true;
    } else if (!s) {
      f.problem = problem(d, "DATA on stream %llu, which is not open", h->stream_id);
    }
    if (len > 0 && win_change(d, c, ss->side, NULL, -(int64_t)len, FL_WIRE_WIN_DATA, &f) < 0)
      return -1;
    if (s && len > 0 && win_change(d, c, ss->side, s, -(int64_t)len, FL_WIRE_WIN_DATA, &f) < 0)
      return -1;
    if (s && h->flags & FL_H2_FLAG_END_STREAM) {
      s->ended[ss->side] = true;
      if (s->ended[0] && s->ended[1] && close_stream(d, c, s, &f) < 0) return -1;
    }
    break;
  }
  case FL_H2_HEADERS:
  case FL_H2_PUSH_PROMISE: {
    uint32_t off = 0, pad = 0;
    if (h->flags & FL_H2_FLAG_PADDED) {
      if (len < 1) {
        f.problem = "PADDED without a pad length";
        break;
      }
      pad = pl[0];
      off = 1;
      f.pad_len = pad;
    }
    if (h->type == FL_H2_HEADERS && h->flags & FL_H2_FLAG_PRIORITY) {
      if (len < off + 5) {
        f.problem = "PRIORITY flag on a frame too short for it";
        break;
      }
      uint32_t dep = fl_be32(pl + off);
      f.has_priority = true;
      f.exclusive = dep >> 31;
      f.depends_on = dep & FL_H2_STREAM_ID_MASK;
      f.weight = (uint16_t)(pl[off + 4] + 1);
      off += 5;
    }
    if (h->type == FL_H2_PUSH_PROMISE) {
      if (len < off + 4) {
        f.problem = "PUSH_PROMISE too short for its promised stream id";
        break;
      }
      f.promised_stream_id = fl_be32(pl + off) & FL_H2_STREAM_ID_MASK;
      off += 4;
    }
    if (off + pad > len) {
      f.problem = "padding longer than the frame";
      fl_hpack_lose(&ss->hp, "HPACK state lost: a header block with a bad padding length");
      break;
    }
    ss->in_block = true;
    ss->block_len = 0;
    ss->block_frames = 1;
    ss->block_stream = h->stream_id;
    ss->block_type = h->type;
    ss->block_flags = h->flags;
    ss->block_promised = f.promised_stream_id;
    ss->block_missing = missing > 0;
    if (append_block(d, ss, pl + off, len - off - pad) < 0) return -1;
    if (h->flags & FL_H2_FLAG_END_HEADERS) rv = block_end(d, c, ss, &f, &msgbuf);
    break;
  }
  case FL_H2_CONTINUATION:
    if (!ss->in_block || ss->block_stream != h->stream_id) {
      f.problem = "CONTINUATION without a header block before it";
      break;
    }
    ss->block_frames++;
    if (missing) ss->block_missing = true;
    if (append_block(d, ss, pl, len) < 0) return -1;
    if (h->flags & FL_H2_FLAG_END_HEADERS) rv = block_end(d, c, ss, &f, &msgbuf);
    break;
  case FL_H2_PRIORITY:
    if (len != 5) {
      f.problem = problem(d, "PRIORITY of length %llu (not 5)", len);
      break;
    }
    f.has_priority = true;
    f.exclusive = pl[0] >> 7;
    f.depends_on = fl_be32(pl) & FL_H2_STREAM_ID_MASK;
    f.weight = (uint16_t)(pl[4] + 1);
    break;
  case FL_H2_RST_STREAM: {
    if (len != 4) {
      f.problem = problem(d, "RST_STREAM of length %llu (not 4)", len);
      break;
    }
    f.error_code = fl_be32(pl);
    stream *s = find_stream(c, h->stream_id);
    if (s)
      rv = close_stream(d, c, s, &f);
    else
      f.stream_closed = closed_id(c, h->stream_id);
    break;
  }
  case FL_H2_SETTINGS: {
    if (h->flags & FL_H2_FLAG_ACK) {
      if (len != 0) f.problem = "SETTINGS ACK with a payload";
      break;
    }
    if (len % 6 != 0) {
      f.problem = problem(d, "SETTINGS of length %llu (not a multiple of 6)", len);
      break;
    }
    size_t n = len / 6;
    if (n > d->cap_settings) {
      fl_wire_setting *v = realloc(d->settings, n * sizeof *v);
      if (!v) return d->oom = true, -1;
      d->settings = v;
      d->cap_settings = n;
    }
    for (size_t i = 0; i < n; i++) {
      const uint8_t *e = pl + 6 * i;
      fl_wire_setting s = {.id = (uint16_t)(e[0] << 8 | e[1]), .value = fl_be32(e + 2)};
      d->settings[i] = s;
      if (missing) continue; /* values with holes in them change nothing */
      if (s.id == FL_H2_SETTINGS_INITIAL_WINDOW_SIZE) {
        if (s.value > FL_H2_MAX_WINDOW) {
          f.problem = "INITIAL_WINDOW_SIZE above 2^31-1";
          continue;
        }
        /* What the peer may send on every stream moves by the difference (RFC 9113 6.9.2). */
        int64_t delta = (int64_t)s.value - c->s[other].initial_window;
        c->s[other].initial_window = s.value;
        if (delta == 0) continue;
        for (size_t k = 0; k < c->tab_cap; k++)
          if (c->tab[k] && win_change(d, c, other, c->tab[k], delta, FL_WIRE_WIN_SETTINGS, &f) < 0)
            return -1;
      } else if (s.id == FL_H2_SETTINGS_MAX_FRAME_SIZE) {
        ss->max_frame = s.value;
      } else if (s.id == FL_H2_SETTINGS_HEADER_TABLE_SIZE) {
        fl_hpack_table_size(&c->s[other].hp, s.value);
      }
    }
    f.settings = d->settings;
    f.n_settings = n;
    break;
  }
  case FL_H2_PING:
    if (len != 8) {
      f.problem = problem(d, "PING of length %llu (not 8)", len);
      break;
    }
    memcpy(f.opaque, pl, 8);
    break;
  case FL_H2_GOAWAY:
    if (len < 8) {
      f.problem = problem(d, "GOAWAY of length %llu (less than 8)", len);
      break;
    }
    f.last_stream_id = fl_be32(pl) & FL_H2_STREAM_ID_MASK;
    f.error_code = fl_be32(pl + 4);
    f.debug = pl + 8;
    f.debug_len = len - 8;
    break;
  case FL_H2_WINDOW_UPDATE: {
    if (len != 4) {
      f.problem = problem(d, "WINDOW_UPDATE of length %llu (not 4)", len);
      break;
    }
    f.increment = fl_be32(pl) & 0x7fffffffu;
    if (f.increment == 0) f.problem = "WINDOW_UPDATE with an increment of 0";
    if (missing || f.increment == 0) break;
    /* The sender grants its peer more room to send. */
    if (h->stream_id == 0) {
      rv = win_change(d, c, other, NULL, f.increment, FL_WIRE_WIN_UPDATE, &f);
    } else {
      stream *s = find_stream(c, h->stream_id);
      if (s)
        rv = win_change(d, c, other, s, f.increment, FL_WIRE_WIN_UPDATE, &f);
      else
        f.stream_closed = closed_id(c, h->stream_id);
    }
    break;
  }
  }
  if (rv < 0) {
    free(msgbuf);
    return -1;
  }
  if (missing && !f.problem && h->type != FL_H2_DATA)
    f.problem = "part of the payload was not captured";
  f.windows = d->wins;
  f.n_windows = d->n_wins;
  rv = call_frame(d, &f);
  free(msgbuf);
  ss->pieces.n = 0;
  return rv;
}

/* ---- connections ---- */

static int on_frame(void *user, const fl_h2_frame_header *h, const uint8_t *payload, int pad_len,
                    uint32_t missing, const fl_tcp_stamp *st) {
  side_state *ss = user;
  static const uint8_t none[1];
  if (!payload) payload = none; /* a frame of length 0 before any was gathered */
  return on_frame_impl(ss->c->d, ss, h, payload, pad_len, missing, st) < 0 ? -1 : 0;
}

static int on_preface(void *user, const fl_tcp_stamp *st) {
  (void)user;
  (void)st;
  return 0;
}

static int on_lost(void *user, const char *why, const fl_tcp_stamp *st) {
  side_state *ss = user;
  conn *c = ss->c;
  decoder *d = c->d;
  ss->lost = true;
  bool not_h2 = !strncmp(why, "not HTTP/2", 10);
  if (not_h2) {
    c->ignored = true;
    return notice(d, c, ss->side, FL_WIRE_NOTE_NOT_HTTP2, st, why) < 0 ? -1 : 0;
  }
  char text[256];
  snprintf(text, sizeof text,
           "%s: frames of the %s are not decoded until a segment begins with frame headers "
           "again",
           why, fl_wire_side_name(ss->side));
  return notice(d, c, ss->side, FL_WIRE_NOTE_LOST_SYNC, st, text) < 0 ? -1 : 0;
}

/* After the framing was lost: could h begin a frame of this side here? Every rule of RFC 9113
 * a correct sender keeps (known type, its flags, its length, its stream id) must hold. */
static bool on_plausible(void *user, const fl_h2_frame_header *h) {
  side_state *ss = user;
  conn *c = ss->c;
  fl_wire_side other = ss->side == FL_WIRE_CLIENT ? FL_WIRE_SERVER : FL_WIRE_CLIENT;
  if (h->type >= FL_H2_N_FRAME_TYPES || h->length > c->s[other].max_frame) return false;
  static const uint8_t allowed[FL_H2_N_FRAME_TYPES] = {
      [FL_H2_DATA] = FL_H2_FLAG_END_STREAM | FL_H2_FLAG_PADDED,
      [FL_H2_HEADERS] =
          FL_H2_FLAG_END_STREAM | FL_H2_FLAG_END_HEADERS | FL_H2_FLAG_PADDED | FL_H2_FLAG_PRIORITY,
      [FL_H2_SETTINGS] = FL_H2_FLAG_ACK,
      [FL_H2_PUSH_PROMISE] = FL_H2_FLAG_END_HEADERS | FL_H2_FLAG_PADDED,
      [FL_H2_PING] = FL_H2_FLAG_ACK,
      [FL_H2_CONTINUATION] = FL_H2_FLAG_END_HEADERS,
  };
  if (h->flags & ~allowed[h->type]) return false;
  bool conn_level = h->type == FL_H2_SETTINGS || h->type == FL_H2_PING || h->type == FL_H2_GOAWAY;
  if (conn_level != (h->stream_id == 0) && h->type != FL_H2_WINDOW_UPDATE) return false;
  switch ((fl_h2_frame_type)h->type) {
  case FL_H2_RST_STREAM:
  case FL_H2_WINDOW_UPDATE:
    return h->length == 4 && (h->stream_id == 0 || find_stream(c, h->stream_id) ||
                              h->stream_id <= c->max_id[FL_WIRE_CLIENT]);
  case FL_H2_PRIORITY: return h->length == 5;
  case FL_H2_PING: return h->length == 8;
  case FL_H2_SETTINGS: return h->flags & FL_H2_FLAG_ACK ? h->length == 0 : h->length % 6 == 0;
  case FL_H2_GOAWAY: return h->length >= 8;
  case FL_H2_CONTINUATION: return false; /* its block began in what was lost */
  case FL_H2_PUSH_PROMISE: return ss->side == FL_WIRE_SERVER;
  case FL_H2_DATA: return find_stream(c, h->stream_id) != NULL;
  case FL_H2_HEADERS:
    /* An open stream, or a new one the client may open next. */
    return find_stream(c, h->stream_id) ||
           (h->stream_id % 2 == 1 && h->stream_id > c->max_id[FL_WIRE_CLIENT] &&
            h->stream_id <= c->max_id[FL_WIRE_CLIENT] + 2000);
  }
  return false;
}

static int on_resync(void *user, const fl_tcp_stamp *st) {
  side_state *ss = user;
  conn *c = ss->c;
  /* What was lost may have held header blocks and parts of messages. */
  fl_hpack_lose(&ss->hp, "HPACK state lost with the framing: headers of this direction after "
                         "it are not decoded");
  for (size_t i = 0; i < c->tab_cap; i++)
    if (c->tab[i]) {
      fl_grpc_reader *r = &c->tab[i]->msg[ss->side];
      r->lost = true;
      r->in_body = false;
      r->prefix_have = 0;
    }
  ss->in_block = false;
  ss->cur = NULL;
  char text[200];
  snprintf(text, sizeof text,
           "framing resumed: this segment begins with frame headers again (headers and message "
           "boundaries of the %s stay unknown)",
           fl_wire_side_name(ss->side));
  return notice(c->d, c, ss->side, FL_WIRE_NOTE_RESYNC, st, text) < 0 ? -1 : 0;
}

static const fl_h2f_sink frame_sink = {.preface = on_preface,
                                       .begin = on_begin,
                                       .data = on_data,
                                       .frame = on_frame,
                                       .lost = on_lost,
                                       .plausible = on_plausible,
                                       .resync = on_resync};

static int side_bytes(conn *c, fl_wire_side side, const uint8_t *p, size_t n,
                      const fl_tcp_stamp *st) {
  side_state *ss = &c->s[side];
  if (c->ignored) return 0;
  int rc;
  fl_h2f_sink k = frame_sink;
  k.user = ss;
  if (fl_h2f_bytes(&ss->fr, p, n, st, &k, &rc) < 0) return -1;
  return 0;
}

static int side_missing(conn *c, fl_wire_side side, uint64_t n, const fl_tcp_stamp *st) {
  side_state *ss = &c->s[side];
  if (c->ignored) return 0;
  int rc;
  fl_h2f_sink k = frame_sink;
  k.user = ss;
  if (fl_h2f_missing(&ss->fr, n, st, &k, &rc) < 0) return -1;
  return 0;
}

static int init_sides(decoder *d, conn *c, bool expect_preface) {
  for (int side = 0; side < 2; side++) {
    side_state *ss = &c->s[side];
    ss->c = c;
    ss->side = (fl_wire_side)side;
    fl_h2f_init(&ss->fr, side == FL_WIRE_CLIENT && expect_preface);
    if (fl_hpack_init(&ss->hp) < 0) return d->oom = true, -1;
    ss->conn_window = FL_H2_DEFAULT_WINDOW;
    ss->conn_zero_since = -1;
    ss->initial_window = FL_H2_DEFAULT_WINDOW;
    ss->max_frame = FL_H2_DEFAULT_MAX_FRAME;
  }
  return 0;
}

static void addr_text(const conn *c, int ep, char *out, size_t len) {
  char a[INET6_ADDRSTRLEN];
  inet_ntop(c->family, c->addr[ep], a, sizeof a);
  if (c->family == AF_INET6)
    snprintf(out, len, "[%s]:%u", a, c->port[ep]);
  else
    snprintf(out, len, "%s:%u", a, c->port[ep]);
}

static int announce(decoder *d, conn *c, unsigned leg, const fl_tcp_stamp *first) {
  c->announced = true;
  c->info.leg = leg;
  c->info.leg_name = d->leg_names[leg];
  c->info.conn = ++d->leg_conns[leg];
  c->info.server_port = c->port[1 - c->client_ep];
  addr_text(c, c->client_ep, c->info.client, sizeof c->info.client);
  addr_text(c, 1 - c->client_ep, c->info.server, sizeof c->info.server);
  c->info.packet = first->packet;
  c->info.ts_ns = first->ts_ns;
  c->info.capture_ts_ns = d->st->first_ts_ns;
  d->st->connections++;
  if (d->v && d->v->connection && d->v->connection(d->v->user, &c->info) != 0)
    return d->stopped = true, -1;
  return 0;
}

static void free_chunks(chunk *h) {
  for (chunk *n; h; h = n) {
    n = h->next;
    free(h);
  }
}

/* Sniffing (no ports): keeps an end's bytes until some end is seen to send the preface. */
static int sniff_keep(decoder *d, conn *c, int ep, const uint8_t *p, size_t n, uint64_t missing,
                      const fl_tcp_stamp *st) {
  if (c->sniff_len[ep] + n > SNIFF_MAX) {
    c->ignored = true;
    return 0;
  }
  chunk *k = malloc(sizeof *k + n);
  if (!k) return d->oom = true, -1;
  k->next = NULL;
  k->st = *st;
  k->missing = missing;
  k->n = n;
  if (n) memcpy(k->data, p, n);
  if (!c->sniff_tail[ep]) c->sniff_tail[ep] = &c->sniff[ep];
  *c->sniff_tail[ep] = k;
  c->sniff_tail[ep] = &k->next;
  c->sniff_len[ep] += n;
  return 0;
}

static int replay(conn *c, int ep) {
  chunk *h = c->sniff[ep];
  c->sniff[ep] = NULL;
  c->sniff_tail[ep] = NULL;
  fl_wire_side side = ep == c->client_ep ? FL_WIRE_CLIENT : FL_WIRE_SERVER;
  int rv = 0;
  for (chunk *k = h; k && rv == 0; k = k->next)
    rv = k->missing ? side_missing(c, side, k->missing, &k->st)
                    : side_bytes(c, side, k->data, k->n, &k->st);
  free_chunks(h);
  return rv;
}

static int sniff(decoder *d, conn *c, int ep, const uint8_t *p, size_t n, uint64_t missing,
                 const fl_tcp_stamp *st) {
  if (c->ignored) return 0;
  if (!missing && !c->not_client[ep] && c->first_len[ep] < FL_H2_PREFACE_LEN) {
    size_t t = FL_H2_PREFACE_LEN - c->first_len[ep];
    if (t > n) t = n;
    memcpy(c->first[ep] + c->first_len[ep], p, t);
    c->first_len[ep] += t;
    if (memcmp(c->first[ep], FL_H2_PREFACE, c->first_len[ep]) != 0) c->not_client[ep] = true;
  } else if (missing && c->first_len[ep] < FL_H2_PREFACE_LEN) {
    c->not_client[ep] = true;
  }
  if (sniff_keep(d, c, ep, p, n, missing, st) < 0) return -1;
  if (c->not_client[0] && c->not_client[1]) c->ignored = true;
  if (c->ignored) {
    free_chunks(c->sniff[0]);
    free_chunks(c->sniff[1]);
    c->sniff[0] = c->sniff[1] = NULL;
    c->sniff_tail[0] = c->sniff_tail[1] = NULL;
    return 0;
  }
  if (c->first_len[ep] == FL_H2_PREFACE_LEN && !c->not_client[ep]) {
    c->client_ep = ep;
    if (init_sides(d, c, true) < 0) return -1;
    /* The connection counts from its first packet, as with ports. */
    fl_tcp_stamp first = {c->info.packet, c->info.ts_ns};
    if (announce(d, c, 0, &first) < 0) return -1;
    /* The server's bytes first: they came first (or the preface would have been seen). */
    chunk *sk = c->sniff[1 - ep], *ck = c->sniff[ep];
    uint64_t sp = sk ? sk->st.packet : UINT64_MAX, cp = ck ? ck->st.packet : UINT64_MAX;
    if (sp <= cp) {
      if (replay(c, 1 - ep) < 0 || replay(c, ep) < 0) return -1;
    } else {
      if (replay(c, ep) < 0 || replay(c, 1 - ep) < 0) return -1;
    }
  }
  return 0;
}

static int tcp_bytes(void *user, const uint8_t *p, size_t n, const fl_tcp_stamp *st) {
  ep_ref *r = user;
  conn *c = r->c;
  if (c->client_ep < 0) return sniff(c->d, c, r->ep, p, n, 0, st) < 0 ? -1 : 0;
  return side_bytes(c, r->ep == c->client_ep ? FL_WIRE_CLIENT : FL_WIRE_SERVER, p, n, st) < 0 ? -1
                                                                                              : 0;
}

static int tcp_missing(void *user, uint64_t n, const fl_tcp_stamp *st) {
  ep_ref *r = user;
  conn *c = r->c;
  c->d->st->bytes_missing += n;
  if (c->client_ep < 0) return sniff(c->d, c, r->ep, NULL, 0, n, st) < 0 ? -1 : 0;
  return side_missing(c, r->ep == c->client_ep ? FL_WIRE_CLIENT : FL_WIRE_SERVER, n, st) < 0 ? -1
                                                                                             : 0;
}

static size_t conn_hash(int family, const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb,
                        size_t cap) {
  /* Symmetric: both directions find the same bucket. */
  size_t alen = family == AF_INET6 ? 16 : 4;
  uint64_t ha = 1469598103934665603ull, hb = ha;
  for (size_t i = 0; i < alen; i++) {
    ha = (ha ^ a[i]) * 1099511628211ull;
    hb = (hb ^ b[i]) * 1099511628211ull;
  }
  ha = (ha ^ pa) * 1099511628211ull;
  hb = (hb ^ pb) * 1099511628211ull;
  return (size_t)((ha ^ hb) & (cap - 1));
}

static void free_conn(conn *c) {
  for (int i = 0; i < 2; i++) {
    fl_tcp_dir_free(&c->tcp[i]);
    free_chunks(c->sniff[i]);
    fl_h2f_free(&c->s[i].fr);
    if (c->s[i].hp.inf) fl_hpack_free(&c->s[i].hp);
    free(c->s[i].block);
    free(c->s[i].pieces.v);
  }
  for (size_t i = 0; i < c->tab_cap; i++)
    if (c->tab[i]) free_stream(c->tab[i]);
  free(c->tab);
  free(c);
}

/* The end of a connection's capture: held segments, then what was left unfinished. */
static int finish_conn(decoder *d, conn *c) {
  for (int ep = 0; ep < 2; ep++) {
    int rc;
    fl_tcp_sink k = {.user = &c->ref[ep], .bytes = tcp_bytes, .missing = tcp_missing};
    if (fl_tcp_dir_flush(&c->tcp[ep], &k, &rc) < 0) return -1;
    d->st->bytes_retransmitted += c->tcp[ep].retransmitted;
    d->st->segments_out_of_order += c->tcp[ep].out_of_order;
    c->tcp[ep].retransmitted = c->tcp[ep].out_of_order = 0;
  }
  if (!c->announced || c->ignored) return 0;
  for (int side = 0; side < 2; side++) {
    side_state *ss = &c->s[side];
    uint64_t have, total;
    if (fl_h2f_partial(&ss->fr, &have, &total)) {
      char text[200];
      const char *tn = fl_h2_frame_type_name(ss->fr.h.type);
      if (ss->fr.state == FL_H2F_PREFACE || ss->fr.state == FL_H2F_HEADER)
        snprintf(text, sizeof text, "the capture ends inside a frame header (%llu of 9 bytes)",
                 (unsigned long long)have);
      else
        snprintf(text, sizeof text,
                 "the capture ends inside a %s frame on stream %u (%llu of %llu bytes)",
                 tn ? tn : "unknown", ss->fr.h.stream_id, (unsigned long long)have,
                 (unsigned long long)total);
      if (notice(d, c, (fl_wire_side)side, FL_WIRE_NOTE_CUT,
                 &(fl_tcp_stamp){d->st->packets, d->last_ts}, text) < 0)
        return -1;
    }
    /* Windows still at zero stayed there until the capture ended. */
    if (ss->conn_zero_since >= 0)
      side_stat(d, (fl_wire_side)side, ss->conn_window, d->last_ts - ss->conn_zero_since);
    for (size_t i = 0; i < c->tab_cap; i++) {
      stream *s = c->tab[i];
      if (s && s->zero_since[side] >= 0)
        side_stat(d, (fl_wire_side)side, s->window[side], d->last_ts - s->zero_since[side]);
    }
  }
  return 0;
}

static int leg_of_port(const decoder *d, uint16_t port) {
  for (size_t i = 0; i < d->opt->n_ports; i++)
    if (d->opt->ports[i].port == port) return (int)i;
  return -1;
}

static conn *new_conn(decoder *d, int family, const uint8_t *src, uint16_t sport,
                      const uint8_t *dst, uint16_t dport, const fl_tcp_stamp *st) {
  conn *c = calloc(1, sizeof *c);
  if (!c) return d->oom = true, NULL;
  c->d = d;
  size_t alen = family == AF_INET6 ? 16 : 4;
  c->family = family;
  memcpy(c->addr[0], src, alen);
  memcpy(c->addr[1], dst, alen);
  c->port[0] = sport;
  c->port[1] = dport;
  c->client_ep = -1;
  for (int i = 0; i < 2; i++) {
    fl_tcp_dir_init(&c->tcp[i]);
    c->ref[i] = (ep_ref){c, i};
  }
  c->info.packet = st->packet;
  c->info.ts_ns = st->ts_ns;
  size_t h = conn_hash(family, src, sport, dst, dport, d->hash_cap);
  c->hnext = d->hash[h];
  d->hash[h] = c;
  *d->all_tail = c;
  d->all_tail = &c->next;
  return c;
}

static void unhash(decoder *d, conn *c) {
  size_t h = conn_hash(c->family, c->addr[0], c->port[0], c->addr[1], c->port[1], d->hash_cap);
  for (conn **p = &d->hash[h]; *p; p = &(*p)->hnext)
    if (*p == c) {
      *p = c->hnext;
      return;
    }
}

static conn *find_conn(decoder *d, int family, const uint8_t *src, uint16_t sport,
                       const uint8_t *dst, uint16_t dport, int *ep) {
  size_t alen = family == AF_INET6 ? 16 : 4;
  size_t h = conn_hash(family, src, sport, dst, dport, d->hash_cap);
  for (conn *c = d->hash[h]; c; c = c->hnext) {
    if (c->family != family) continue;
    if (c->port[0] == sport && c->port[1] == dport && !memcmp(c->addr[0], src, alen) &&
        !memcmp(c->addr[1], dst, alen)) {
      *ep = 0;
      return c;
    }
    if (c->port[1] == sport && c->port[0] == dport && !memcmp(c->addr[1], src, alen) &&
        !memcmp(c->addr[0], dst, alen)) {
      *ep = 1;
      return c;
    }
  }
  return NULL;
}

typedef struct {
  int family;
  const uint8_t *src, *dst;
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t flags;
  const uint8_t *data;
  uint32_t caplen, len;
} tcp_pkt;

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

static int on_tcp(decoder *d, const tcp_pkt *t, const fl_tcp_stamp *st) {
  int leg = -1, ep;
  bool server_is_dst = false;
  if (d->opt->n_ports) {
    int ld = leg_of_port(d, t->dport), ls = leg_of_port(d, t->sport);
    if (ld < 0 && ls < 0) return 0;
    leg = ld >= 0 ? ld : ls;
    server_is_dst = ld >= 0;
  }
  conn *c = find_conn(d, t->family, t->src, t->sport, t->dst, t->dport, &ep);
  bool syn_only = (t->flags & (TH_SYN | TH_ACK)) == TH_SYN;
  if (c && syn_only && (c->had_data || c->fin[0] || c->fin[1] || c->rst) &&
      !(c->syn[ep] && !c->had_data)) {
    /* The same four-tuple again: a new connection. */
    if (finish_conn(d, c) < 0) return -1;
    unhash(d, c);
    c = NULL;
  }
  if (!c) {
    if (t->flags & TH_RST) return 0;
    c = new_conn(d, t->family, t->src, t->sport, t->dst, t->dport, st);
    if (!c) return -1;
    ep = 0;
    if (leg >= 0) {
      c->client_ep = server_is_dst ? 0 : 1;
      /* A capture that begins after the handshake may begin after the preface too. */
      bool expect = (t->flags & TH_SYN) ||
                    (ep == c->client_ep && t->caplen >= 4 && !memcmp(t->data, "PRI ", 4));
      if (init_sides(d, c, expect) < 0) return -1;
      if (announce(d, c, (unsigned)leg, st) < 0) return -1;
    }
  }
  d->st->packets_decoded++;
  if (t->flags & TH_SYN) c->syn[ep] = true;
  if (t->len > 0) c->had_data = true;
  fl_tcp_segment seg = {.seq = t->seq,
                        .syn = t->flags & TH_SYN,
                        .data = t->data,
                        .caplen = t->caplen,
                        .len = t->len,
                        .st = *st};
  int rc;
  fl_tcp_sink k = {.user = &c->ref[ep], .bytes = tcp_bytes, .missing = tcp_missing};
  if (fl_tcp_dir_segment(&c->tcp[ep], &seg, &k, &rc) < 0) return -1;
  if (t->flags & TH_ACK) {
    fl_tcp_sink ko = {.user = &c->ref[1 - ep], .bytes = tcp_bytes, .missing = tcp_missing};
    if (fl_tcp_dir_acked(&c->tcp[1 - ep], t->ack, st, &ko, &rc) < 0) return -1;
  }
  if (t->flags & (TH_FIN | TH_RST) && c->announced && !c->ignored) {
    fl_wire_side side = ep == c->client_ep ? FL_WIRE_CLIENT : FL_WIRE_SERVER;
    bool rst = t->flags & TH_RST;
    if ((rst && !c->rst) || (!rst && !c->fin[ep])) {
      char text[80];
      snprintf(text, sizeof text, "the %s sent TCP %s", fl_wire_side_name(side),
               rst ? "RST" : "FIN");
      if (notice(d, c, side, rst ? FL_WIRE_NOTE_RST : FL_WIRE_NOTE_FIN, st, text) < 0) return -1;
    }
  }
  if (t->flags & TH_FIN) c->fin[ep] = true;
  if (t->flags & TH_RST) c->rst = true;
  return 0;
}

/* ---- packets ---- */

static int on_ip(decoder *d, const uint8_t *p, size_t cap, const fl_tcp_stamp *st) {
  if (cap < 1) return 0;
  tcp_pkt t = {0};
  size_t l4, l4len;
  uint8_t proto;
  if (p[0] >> 4 == 4) {
    if (cap < 20) return 0;
    size_t ihl = (size_t)(p[0] & 0xf) * 4;
    size_t total = (size_t)p[2] << 8 | p[3];
    if (ihl < 20 || cap < ihl) return 0;
    if ((p[6] & 0x3f) || p[7]) return 0; /* a fragment */
    if (total == 0) total = cap;         /* segmentation offload: the length is not filled */
    if (total < ihl) return 0;
    proto = p[9];
    t.family = AF_INET;
    t.src = p + 12;
    t.dst = p + 16;
    l4 = ihl;
    l4len = total - ihl;
  } else if (p[0] >> 4 == 6) {
    if (cap < 40) return 0;
    size_t plen = (size_t)p[4] << 8 | p[5];
    proto = p[6];
    t.family = AF_INET6;
    t.src = p + 8;
    t.dst = p + 24;
    l4 = 40;
    l4len = plen;
    for (;;) {
      if (proto == 0 || proto == 43 || proto == 60 || proto == 51) {
        if (cap < l4 + 2) return 0;
        size_t el = proto == 51 ? ((size_t)p[l4 + 1] + 2) * 4 : ((size_t)p[l4 + 1] + 1) * 8;
        if (el > l4len) return 0;
        proto = p[l4];
        l4 += el;
        l4len -= el;
      } else {
        break;
      }
    }
  } else {
    return 0;
  }
  if (proto != 6) return 0;
  if (cap < l4 + 20) return 0;
  const uint8_t *h = p + l4;
  size_t doff = (size_t)(h[12] >> 4) * 4;
  if (doff < 20 || l4len < doff || cap < l4 + doff) return 0;
  t.sport = (uint16_t)(h[0] << 8 | h[1]);
  t.dport = (uint16_t)(h[2] << 8 | h[3]);
  t.seq = fl_be32(h + 4);
  t.ack = fl_be32(h + 8);
  t.flags = h[13];
  t.len = (uint32_t)(l4len - doff);
  size_t have = cap - l4 - doff;
  t.caplen = have < t.len ? (uint32_t)have : t.len;
  t.data = h + doff;
  return on_tcp(d, &t, st);
}

static int on_packet(decoder *d, int linktype, const uint8_t *p, size_t cap,
                     const fl_tcp_stamp *st) {
  size_t off = 0;
  unsigned etype = 0;
  switch (linktype) {
  case DLT_EN10MB:
    if (cap < 14) return 0;
    etype = (unsigned)p[12] << 8 | p[13];
    off = 14;
    while ((etype == 0x8100 || etype == 0x88a8) && cap >= off + 4) {
      etype = (unsigned)p[off + 2] << 8 | p[off + 3];
      off += 4;
    }
    if (etype != 0x0800 && etype != 0x86dd) return 0;
    break;
  case DLT_NULL:
  case DLT_LOOP: off = 4; break; /* the address family; the IP version tells the same */
  case DLT_LINUX_SLL:
    if (cap < 16) return 0;
    etype = (unsigned)p[14] << 8 | p[15];
    if (etype != 0x0800 && etype != 0x86dd) return 0;
    off = 16;
    break;
#ifdef DLT_LINUX_SLL2
  case DLT_LINUX_SLL2:
    if (cap < 20) return 0;
    etype = (unsigned)p[0] << 8 | p[1];
    if (etype != 0x0800 && etype != 0x86dd) return 0;
    off = 20;
    break;
#endif
  default: off = 0; break; /* raw IP (DLT_RAW, IPV4, IPV6) */
  }
  if (cap < off) return 0;
  return on_ip(d, p + off, cap - off, st);
}

static bool linktype_ok(int lt) {
  switch (lt) {
  case DLT_EN10MB:
  case DLT_NULL:
  case DLT_LOOP:
  case DLT_LINUX_SLL:
  case DLT_RAW:
#ifdef DLT_LINUX_SLL2
  case DLT_LINUX_SLL2:
#endif
#ifdef DLT_IPV4
  case DLT_IPV4:
  case DLT_IPV6:
#endif
    return true;
  default: return false;
  }
}

static int run(pcap_t *pc, const char *name, const fl_wire_options *opt, const fl_wire_visitor *v,
               fl_wire_stats *stats, char *err, size_t errlen) {
  static const fl_wire_options none = {0};
  decoder d = {.opt = opt ? opt : &none, .v = v, .st = stats};
  memset(stats, 0, sizeof *stats);
  int lt = pcap_datalink(pc);
  stats->linktype = lt;
  if (!linktype_ok(lt)) {
    const char *ln = pcap_datalink_val_to_name(lt);
    fl_set_err(err, errlen,
               "%s: link-layer type %d (%s) is not supported; supported: Ethernet, BSD "
               "loopback, Linux cooked (SLL, SLL2), raw IP",
               name, lt, ln ? ln : "unknown");
    pcap_close(pc);
    return -1;
  }
  size_t nlegs = d.opt->n_ports ? d.opt->n_ports : 1;
  d.leg_conns = calloc(nlegs, sizeof *d.leg_conns);
  d.leg_names = calloc(nlegs, sizeof *d.leg_names);
  d.hash_cap = 4096;
  d.hash = calloc(d.hash_cap, sizeof *d.hash);
  d.all_tail = &d.all;
  int rv = 0;
  bool pcap_failed = false;
  if (!d.leg_conns || !d.leg_names || !d.hash) {
    d.oom = true;
    rv = -1;
    goto out;
  }
  for (size_t i = 0; i < nlegs; i++) {
    if (d.opt->n_ports && d.opt->ports[i].leg)
      snprintf(d.leg_names[i], sizeof d.leg_names[i], "%s", d.opt->ports[i].leg);
    else if (d.opt->n_ports)
      snprintf(d.leg_names[i], sizeof d.leg_names[i], "port %u", d.opt->ports[i].port);
    else
      d.leg_names[i][0] = '\0'; /* found by the preface: one leg, no name */
  }
  struct pcap_pkthdr *ph;
  const u_char *data;
  int r;
  while ((r = pcap_next_ex(pc, &ph, &data)) == 1) {
    stats->packets++;
    stats->bytes_captured += ph->caplen;
    if (ph->caplen < ph->len) stats->packets_truncated++;
    /* With nanosecond precision asked for, tv_usec holds nanoseconds. */
    int64_t ts = (int64_t)ph->ts.tv_sec * 1000000000 + ph->ts.tv_usec;
    if (stats->packets == 1) stats->first_ts_ns = ts;
    stats->last_ts_ns = d.last_ts = ts;
    fl_tcp_stamp st = {stats->packets, ts};
    if (on_packet(&d, lt, data, ph->caplen, &st) < 0) {
      rv = -1;
      break;
    }
  }
  pcap_failed = rv == 0 && r == -1;
  if (pcap_failed) {
    fl_set_err(err, errlen, "%s: packet %llu: %s", name, (unsigned long long)stats->packets + 1,
               pcap_geterr(pc));
    rv = -1;
  }
  for (conn *c = d.all; c && rv == 0; c = c->next)
    if (finish_conn(&d, c) < 0) rv = -1;
out:
  /* Every other failure is memory: a held segment, a payload, a table that could not grow. */
  if (rv < 0 && !d.stopped && !pcap_failed) fl_set_err(err, errlen, "out of memory");
  if (rv < 0 && d.stopped)
    fl_set_err(err, errlen, "stopped by the reader at packet %llu",
               (unsigned long long)stats->packets);
  for (conn *c = d.all, *n; c; c = n) {
    n = c->next;
    free_conn(c);
  }
  free(d.hash);
  free(d.leg_conns);
  free(d.leg_names);
  free(d.wins);
  free(d.settings);
  pcap_close(pc);
  return rv;
}

int fl_wire_decode_file(const char *pcap_path, const fl_wire_options *opt, const fl_wire_visitor *v,
                        fl_wire_stats *stats, char *err, size_t errlen) {
  fl_wire_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  char ebuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t *pc = pcap_open_offline_with_tstamp_precision(pcap_path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
  if (!pc) {
    /* libpcap's reason may begin with the path already. */
    size_t n = strlen(pcap_path);
    const char *why =
        !strncmp(ebuf, pcap_path, n) && !strncmp(ebuf + n, ": ", 2) ? ebuf + n + 2 : ebuf;
    fl_set_err(err, errlen, "cannot read capture %s: %s", pcap_path, why);
    return -1;
  }
  return run(pc, pcap_path, opt, v, stats, err, errlen);
}

int fl_wire_decode_stream(FILE *file, const char *name, const fl_wire_options *opt,
                          const fl_wire_visitor *v, fl_wire_stats *stats, char *err,
                          size_t errlen) {
  fl_wire_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  char ebuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, ebuf);
  if (!pc) {
    fclose(file);
    fl_set_err(err, errlen, "cannot read capture %s: %s", name, ebuf);
    return -1;
  }
  return run(pc, name, opt, v, stats, err, errlen);
}
