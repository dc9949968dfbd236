#include "findings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predicate.h"

/* One stream of one connection (stream 0: the connection itself). */
typedef struct {
  uint64_t key;
  bool used;
  unsigned leg, conn;
  uint32_t id;
  char leg_name[32];
  int64_t capture_ts;
  bool opened, closed, rst, ended[2];
  uint64_t open_frame, open_packet;
  int64_t open_ts;
  uint64_t data_frames[2];
  uint64_t last_msg[2];
  bool last_seq_known[2];
  uint64_t last_seq[2];
  /* the client's half-close while the server was sending */
  bool half_closed;
  uint64_t hc_frame, hc_packet;
  int64_t hc_ts;
  uint64_t after_frames, after_msgs, after_bytes, after_last_frame;
  int64_t after_last_ts;
  /* the server's trailers */
  bool trailers;
  int grpc_status;
  uint64_t trailers_frame, trailers_packet;
  int64_t trailers_ts;
  bool end_without_trailers; /* both ends ended the stream, no trailers */
  /* window stays at <= 0, per owner */
  int64_t zero_since[2];
  uint64_t zero_frame[2], zero_packet[2];
  int64_t zero_value[2];
  fl_wire_window_cause zero_cause[2];
  /* stream 0 only: lost framing per side (the first time, how often, how often resumed) */
  uint32_t lost[2], resumed[2];
  int64_t lost_ts[2];
  uint64_t lost_packet[2];
  char lost_text[2][200];
  bool hpack_lost[2];
  int64_t hpack_ts[2];
  uint64_t hpack_packet[2];
  char hpack_text[2][200];
  /* stream 0 only: how the connection ended */
  bool fin[2], tcp_rst;
  int64_t end_ts;
  uint64_t end_packet;
  fl_wire_side end_side;
} rec;

typedef struct {
  unsigned leg;
  fl_wire_side side;
  uint32_t stream_id;
  int code;
} peer_status;

struct fl_wire_findings {
  int64_t stall;
  bool oom;
  rec *tab;
  size_t cap, n;
  fl_wire_finding *v;
  size_t nv, capv;
  peer_status *ps;
  size_t nps;
  /* Legs on which the path proxy withheld WINDOW_UPDATEs, by the side that would have got
   * them (bit 0: the client, bit 1: the server), from fl_wire_findings_withheld. */
  uint8_t withheld[FL_WIRE_FINDINGS_MAX_LEGS];
};

const char *fl_wire_finding_kind_name(fl_wire_finding_kind k) {
  switch (k) {
#define FL_WIRE_X(e, name)                                                                         \
  case FL_WIRE_FINDING_##e: return name;
    FL_WIRE_FINDING_KINDS(FL_WIRE_X)
#undef FL_WIRE_X
  }
  return "?";
}

fl_wire_findings *fl_wire_findings_new(int64_t stall_ns) {
  fl_wire_findings *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->stall = stall_ns > 0 ? stall_ns : FL_WIRE_STALL_DEFAULT_NS;
  return f;
}

void fl_wire_findings_free(fl_wire_findings *f) {
  if (!f) return;
  for (size_t i = 0; i < f->nv; i++) free(f->v[i].text);
  free(f->v);
  free(f->tab);
  free(f->ps);
  free(f);
}

size_t fl_wire_findings_count(const fl_wire_findings *f) { return f->nv; }
const fl_wire_finding *fl_wire_findings_at(const fl_wire_findings *f, size_t i) {
  return i < f->nv ? &f->v[i] : NULL;
}

static uint64_t key_of(unsigned leg, unsigned conn, uint32_t id) {
  return (uint64_t)(leg & 0xff) << 56 | (uint64_t)(conn & 0xffffff) << 32 | id;
}

static size_t slot(uint64_t key, size_t cap) {
  return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static rec *find(fl_wire_findings *f, const fl_wire_conn *c, uint32_t id, bool make) {
  uint64_t key = key_of(c->leg, c->conn, id);
  if (f->cap) {
    for (size_t i = slot(key, f->cap);; i = (i + 1) & (f->cap - 1)) {
      if (!f->tab[i].used) break;
      if (f->tab[i].key == key) return &f->tab[i];
    }
  }
  if (!make) return NULL;
  if ((f->n + 1) * 2 > f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 64;
    rec *t = calloc(cap, sizeof *t);
    if (!t) return f->oom = true, NULL;
    for (size_t i = 0; i < f->cap; i++) {
      if (!f->tab[i].used) continue;
      size_t j = slot(f->tab[i].key, cap);
      while (t[j].used) j = (j + 1) & (cap - 1);
      t[j] = f->tab[i];
    }
    free(f->tab);
    f->tab = t;
    f->cap = cap;
  }
  size_t j = slot(key, f->cap);
  while (f->tab[j].used) j = (j + 1) & (f->cap - 1);
  rec *r = &f->tab[j];
  memset(r, 0, sizeof *r);
  r->used = true;
  r->key = key;
  r->leg = c->leg;
  r->conn = c->conn;
  r->id = id;
  r->grpc_status = -1;
  r->zero_since[0] = r->zero_since[1] = -1;
  r->capture_ts = c->capture_ts_ns;
  snprintf(r->leg_name, sizeof r->leg_name, "%s", c->leg_name ? c->leg_name : "");
  f->n++;
  return r;
}

static double rel(const rec *r, int64_t ts) { return (double)(ts - r->capture_ts) / 1e9; }

static void add(fl_wire_findings *f, fl_wire_finding_kind k, const rec *r, fl_wire_side side,
                int64_t ts, uint64_t frame, uint64_t packet, int64_t duration, const char *fmt, ...)
    FL_PRINTF(9, 10);
static void add(fl_wire_findings *f, fl_wire_finding_kind k, const rec *r, fl_wire_side side,
                int64_t ts, uint64_t frame, uint64_t packet, int64_t duration, const char *fmt,
                ...) {
  if (f->nv == f->capv) {
    size_t cap = f->capv ? f->capv * 2 : 16;
    fl_wire_finding *v = realloc(f->v, cap * sizeof *v);
    if (!v) {
      f->oom = true;
      return;
    }
    f->v = v;
    f->capv = cap;
  }
  char body[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  char where[96];
  if (frame)
    snprintf(where, sizeof where, "%.3fs frame %llu (packet %llu)", rel(r, ts),
             (unsigned long long)frame, (unsigned long long)packet);
  else
    snprintf(where, sizeof where, "%.3fs packet %llu", rel(r, ts), (unsigned long long)packet);
  char conn[64];
  if (r->leg > 0 || (r->leg_name[0] && strncmp(r->leg_name, "port ", 5) != 0))
    snprintf(conn, sizeof conn, "conn %u (%s)", r->conn, r->leg_name);
  else
    snprintf(conn, sizeof conn, "conn %u", r->conn);
  char *text;
  if (asprintf(&text, "%s, %s: %s", where, conn, body) < 0) {
    f->oom = true;
    return;
  }
  f->v[f->nv++] = (fl_wire_finding){.kind = k,
                                    .ts_ns = ts,
                                    .frame = frame,
                                    .packet = packet,
                                    .leg = r->leg,
                                    .conn = r->conn,
                                    .stream_id = r->id,
                                    .side = side,
                                    .duration_ns = duration,
                                    .text = text};
}

static const char *peer_of(fl_wire_side s) { return s == FL_WIRE_CLIENT ? "server" : "client"; }

static void window_words(const rec *r, fl_wire_side owner, char *out, size_t len) {
  if (r->id == 0)
    snprintf(out, len, "the %s's connection send window", fl_wire_side_name(owner));
  else
    snprintf(out, len, "the %s's send window on stream %u", fl_wire_side_name(owner), r->id);
}

static const char *cause_words(fl_wire_window_cause c, fl_wire_side owner) {
  switch (c) {
  case FL_WIRE_WIN_DATA: return "after its DATA";
  case FL_WIRE_WIN_SETTINGS:
    return owner == FL_WIRE_CLIENT ? "after the server's SETTINGS" : "after the client's SETTINGS";
  case FL_WIRE_WIN_OPEN: return "when the stream opened";
  case FL_WIRE_WIN_UPDATE: return "after a WINDOW_UPDATE";
  case FL_WIRE_WIN_CLOSE: return "when the stream closed";
  }
  return "";
}

static void stall_found(fl_wire_findings *f, rec *r, fl_wire_side o, int64_t until,
                        const fl_wire_window *w) {
  int64_t dur = until - r->zero_since[o];
  if (dur < f->stall) return;
  char win[96];
  window_words(r, o, win, sizeof win);
  const char *peer = peer_of(o);
  char end[160];
  if (!w)
    snprintf(end, sizeof end, "for %.3fs, until the capture ended", (double)dur / 1e9);
  else if (w->cause == FL_WIRE_WIN_CLOSE)
    snprintf(end, sizeof end, "for %.3fs, until the stream closed at %.3fs (frame %llu)",
             (double)dur / 1e9, rel(r, w->ts_ns), (unsigned long long)w->frame_index);
  else
    snprintf(end, sizeof end, "for %.3fs, until its %s at %.3fs (frame %llu) reopened it",
             (double)dur / 1e9, w->cause == FL_WIRE_WIN_UPDATE ? "WINDOW_UPDATE" : "SETTINGS",
             rel(r, w->ts_ns), (unsigned long long)w->frame_index);
  /* Who held the window shut: the peer, which stopped reading, or the path between. */
  bool path = r->leg < FL_WIRE_FINDINGS_MAX_LEGS && (f->withheld[r->leg] & (1u << o));
  char why[96], who[48];
  snprintf(who, sizeof who, path ? "the path passed" : "the %s sent", peer);
  if (path)
    snprintf(why, sizeof why, "the path proxy withheld the %s's WINDOW_UPDATEs", peer);
  else
    snprintf(why, sizeof why, "the %s stopped reading", peer);
  add(f, FL_WIRE_FINDING_WINDOW_EXHAUSTED, r, o, r->zero_since[o], r->zero_frame[o],
      r->zero_packet[o], dur,
      "window exhausted: %s fell to %lld (%s); %s no WINDOW_UPDATE for it %s: %s", win,
      (long long)r->zero_value[o], cause_words(r->zero_cause[o], o), who, end, why);
}

static void on_window(fl_wire_findings *f, const fl_wire_window *w) {
  rec *r = find(f, w->conn, w->stream_id, true);
  if (!r) return;
  fl_wire_side o = w->owner;
  if (w->zero_since_ns >= 0 && r->zero_since[o] < 0) {
    r->zero_since[o] = w->zero_since_ns;
    r->zero_frame[o] = w->frame_index;
    r->zero_packet[o] = w->packet;
    r->zero_value[o] = w->window;
    r->zero_cause[o] = w->cause;
  } else if (w->zero_since_ns < 0 && r->zero_since[o] >= 0) {
    stall_found(f, r, o, w->ts_ns, w);
    r->zero_since[o] = -1;
  }
}

static void last_messages(const rec *r, char *out, size_t len) {
  size_t o = 0;
  for (int side = FL_WIRE_SERVER; side >= FL_WIRE_CLIENT && o < len; side--) {
    const char *sep = o ? " and " : "after ";
    if (r->last_msg[side] == 0) continue;
    if (r->last_seq_known[side])
      o += (size_t)snprintf(out + o, len - o, "%sthe %s's message %llu (seq %llu)", sep,
                            fl_wire_side_name((fl_wire_side)side),
                            (unsigned long long)r->last_msg[side],
                            (unsigned long long)r->last_seq[side]);
    else
      o += (size_t)snprintf(out + o, len - o, "%sthe %s's message %llu", sep,
                            fl_wire_side_name((fl_wire_side)side),
                            (unsigned long long)r->last_msg[side]);
  }
  if (o == 0) snprintf(out, len, "before any message");
}

/* Printable ASCII as is, anything else as \xNN. */
static void printable(const uint8_t *p, size_t n, char *out, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 5 < len; i++) {
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
      out[o++] = (char)p[i];
    else
      o += (size_t)snprintf(out + o, len - o, "\\x%02x", p[i]);
  }
  out[o] = '\0';
}

static int by_id(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* "1, 3, 5" (the first ones, sorted), with the count. */
static void id_list(const uint32_t *ids, size_t n, char *out, size_t len) {
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && o + 24 < len; i++)
    o += (size_t)snprintf(out + o, len - o, "%s%u", i ? ", " : "", ids[i]);
  if (o + 24 >= len) snprintf(out + o, len - o, ", ...");
}

static void on_goaway(fl_wire_findings *f, const fl_wire_frame *fr, rec *cr) {
  uint32_t *ids = malloc((f->n + 1) * sizeof *ids);
  if (!ids) {
    f->oom = true;
    return;
  }
  size_t n_open = 0, n_above = 0;
  for (size_t i = 0; i < f->cap; i++) {
    rec *r = &f->tab[i];
    if (!r->used || r->id == 0 || r->leg != fr->conn->leg || r->conn != fr->conn->conn ||
        !r->opened || r->closed)
      continue;
    ids[n_open++] = r->id;
  }
  qsort(ids, n_open, sizeof *ids, by_id);
  for (size_t i = 0; i < n_open; i++)
    if (ids[i] > fr->last_stream_id) n_above++;
  char open[256], above[256];
  id_list(ids, n_open, open, sizeof open);
  id_list(ids + (n_open - n_above), n_above, above, sizeof above);
  free(ids);
  const char *code = fl_h2_error_name(fr->error_code);
  char codebuf[16], debug[200] = "";
  if (!code) {
    snprintf(codebuf, sizeof codebuf, "0x%x", fr->error_code);
    code = codebuf;
  }
  if (fr->debug_len) {
    char d[160];
    printable(fr->debug, fr->debug_len, d, sizeof d);
    snprintf(debug, sizeof debug, ", debug \"%s\"", d);
  }
  char streams[600];
  if (n_open == 0)
    snprintf(streams, sizeof streams, "no stream was open");
  else if (n_above == 0)
    snprintf(streams, sizeof streams,
             "open then: stream%s %s, all at or below the last stream "
             "id, so the %s may still finish them",
             n_open > 1 ? "s" : "", open, fl_wire_side_name(fr->from));
  else
    snprintf(streams, sizeof streams,
             "open then: stream%s %s; it leaves %s unprocessed (above "
             "the last stream id: safe to retry)",
             n_open > 1 ? "s" : "", open, above);
  add(f, FL_WIRE_FINDING_GOAWAY, cr, fr->from, fr->ts_ns, fr->index, fr->packet, 0,
      "the %s sent GOAWAY %s, last stream id %u%s%s; %s", fl_wire_side_name(fr->from), code,
      fr->last_stream_id, debug,
      fr->mark == FL_WIRE_MARK_INJECTED ? " (injected by the proxy)" : "", streams);
}

void fl_wire_findings_frame(fl_wire_findings *f, const fl_wire_frame *fr) {
  rec *cr = find(f, fr->conn, 0, true);
  if (!cr) return;
  for (size_t i = 0; i < fr->n_windows; i++) on_window(f, &fr->windows[i]);
  fl_wire_side side = fr->from, other = side == FL_WIRE_CLIENT ? FL_WIRE_SERVER : FL_WIRE_CLIENT;
  uint32_t id = fr->h.stream_id;
  switch ((fl_h2_frame_type)fr->h.type) {
  case FL_H2_GOAWAY:
    if (!fr->problem) on_goaway(f, fr, cr);
    return;
  case FL_H2_DATA:
  case FL_H2_HEADERS:
  case FL_H2_CONTINUATION:
  case FL_H2_RST_STREAM: break;
  case FL_H2_PRIORITY:
  case FL_H2_SETTINGS:
  case FL_H2_PUSH_PROMISE:
  case FL_H2_PING:
  case FL_H2_WINDOW_UPDATE: return;
  }
  if (fr->h.type >= FL_H2_N_FRAME_TYPES || id == 0) return;
  bool opens = fr->block_end && side == FL_WIRE_CLIENT && !fr->problem;
  rec *r = find(f, fr->conn, id, opens);
  if (!r) return;
  if (opens && !r->opened) {
    r->opened = true;
    r->open_frame = fr->index;
    r->open_packet = fr->packet;
    r->open_ts = fr->ts_ns;
  }
  if (!r->opened || r->closed) return;
  if (fr->h.type == FL_H2_DATA) {
    r->data_frames[side]++;
    uint64_t ended = 0;
    for (size_t i = 0; i < fr->n_messages; i++) {
      const fl_wire_message *m = &fr->messages[i];
      if (!m->ends || m->ordinal == 0) continue;
      ended++;
      r->last_msg[side] = m->ordinal;
      r->last_seq_known[side] = m->has_seq;
      r->last_seq[side] = m->seq;
    }
    if (side == FL_WIRE_SERVER && r->half_closed) {
      r->after_frames++;
      r->after_msgs += ended;
      r->after_bytes += fr->h.length;
      r->after_last_frame = fr->index;
      r->after_last_ts = fr->ts_ns;
    }
  }
  if (fr->trailers) {
    r->trailers = true;
    r->grpc_status = fr->grpc_status;
    r->trailers_frame = fr->index;
    r->trailers_packet = fr->packet;
    r->trailers_ts = fr->ts_ns;
  }
  if (fr->h.type == FL_H2_RST_STREAM && !fr->problem) {
    char after[200];
    last_messages(r, after, sizeof after);
    const char *code = fl_h2_error_name(fr->error_code);
    char codebuf[16];
    if (!code) {
      snprintf(codebuf, sizeof codebuf, "0x%x", fr->error_code);
      code = codebuf;
    }
    add(f, FL_WIRE_FINDING_RST_STREAM, r, side, fr->ts_ns, fr->index, fr->packet, 0,
        "the %s reset stream %u with %s, %s%s", fl_wire_side_name(side), id, code, after,
        fr->mark == FL_WIRE_MARK_INJECTED ? " (injected by the proxy)" : "");
    if (!r->trailers)
      add(f, FL_WIRE_FINDING_NO_TRAILERS, r, side, fr->ts_ns, fr->index, fr->packet, 0,
          "stream %u ended without trailers: the %s reset it with %s", id, fl_wire_side_name(side),
          code);
    r->rst = r->closed = true;
    return;
  }
  if (fr->end_stream && !r->ended[side]) {
    r->ended[side] = true;
    /* After a single request, half-closing while the server streams is how every
     * server-streaming call goes: only a client that streamed too (bidi) races the server. */
    if (side == FL_WIRE_CLIENT && !r->ended[other] && r->data_frames[FL_WIRE_SERVER] > 0 &&
        r->last_msg[FL_WIRE_CLIENT] >= 2) {
      r->half_closed = true;
      r->hc_frame = fr->index;
      r->hc_packet = fr->packet;
      r->hc_ts = fr->ts_ns;
    }
    if (r->ended[0] && r->ended[1]) {
      r->closed = true;
      if (!r->trailers) r->end_without_trailers = true;
    }
  }
}

void fl_wire_findings_notice(fl_wire_findings *f, const fl_wire_notice *n) {
  rec *cr = find(f, n->conn, 0, true);
  if (!cr) return;
  switch (n->kind) {
  case FL_WIRE_NOTE_FIN:
  case FL_WIRE_NOTE_RST:
    if (!cr->fin[0] && !cr->fin[1] && !cr->tcp_rst) {
      cr->end_ts = n->ts_ns;
      cr->end_packet = n->packet;
      cr->end_side = n->from;
    }
    if (n->kind == FL_WIRE_NOTE_RST)
      cr->tcp_rst = true;
    else
      cr->fin[n->from] = true;
    break;
  case FL_WIRE_NOTE_LOST_SYNC:
    if (cr->lost[n->from]++ == 0) {
      cr->lost_ts[n->from] = n->ts_ns;
      cr->lost_packet[n->from] = n->packet;
      snprintf(cr->lost_text[n->from], sizeof cr->lost_text[n->from], "%s", n->text);
    }
    break;
  case FL_WIRE_NOTE_RESYNC: cr->resumed[n->from]++; break;
  case FL_WIRE_NOTE_HPACK_LOST:
    if (!cr->hpack_lost[n->from]) {
      cr->hpack_lost[n->from] = true;
      cr->hpack_ts[n->from] = n->ts_ns;
      cr->hpack_packet[n->from] = n->packet;
      snprintf(cr->hpack_text[n->from], sizeof cr->hpack_text[n->from], "%s", n->text);
    }
    break;
  case FL_WIRE_NOTE_CUT:
  case FL_WIRE_NOTE_NOT_HTTP2: break;
  }
}

void fl_wire_findings_peer_status(fl_wire_findings *f, unsigned leg, fl_wire_side side,
                                  uint32_t stream_id, int code) {
  peer_status *v = realloc(f->ps, (f->nps + 1) * sizeof *v);
  if (!v) {
    f->oom = true;
    return;
  }
  f->ps = v;
  f->ps[f->nps++] = (peer_status){leg, side, stream_id, code};
}

void fl_wire_findings_withheld(fl_wire_findings *f, unsigned leg, fl_wire_side toward) {
  if (leg < FL_WIRE_FINDINGS_MAX_LEGS) f->withheld[leg] |= (uint8_t)(1u << toward);
}

static int by_time(const void *a, const void *b) {
  const fl_wire_finding *x = a, *y = b;
  if (x->ts_ns != y->ts_ns) return x->ts_ns < y->ts_ns ? -1 : 1;
  if (x->frame != y->frame) return x->frame < y->frame ? -1 : 1;
  return x->kind < y->kind ? -1 : x->kind > y->kind;
}

int fl_wire_findings_end(fl_wire_findings *f, int64_t end_ns) {
  for (size_t i = 0; i < f->cap; i++) {
    rec *r = &f->tab[i];
    if (!r->used) continue;
    for (int o = 0; o < 2; o++)
      if (r->zero_since[o] >= 0 && !(r->id && r->closed))
        stall_found(f, r, (fl_wire_side)o, end_ns, NULL);
    for (int o = 0; r->id == 0 && o < 2; o++) {
      if (r->lost[o])
        add(f, FL_WIRE_FINDING_LOST_SYNC, r, (fl_wire_side)o, r->lost_ts[o], 0, r->lost_packet[o],
            0,
            "the %s's framing was lost %u time%s (bytes the capture does not hold), first: %s; "
            "it resumed %u time%s; frames in the gaps are missing from the ladder",
            fl_wire_side_name((fl_wire_side)o), r->lost[o], r->lost[o] == 1 ? "" : "s",
            r->lost_text[o], r->resumed[o], r->resumed[o] == 1 ? "" : "s");
      else if (r->hpack_lost[o])
        add(f, FL_WIRE_FINDING_LOST_SYNC, r, (fl_wire_side)o, r->hpack_ts[o], 0, r->hpack_packet[o],
            0, "the %s's headers: %s", fl_wire_side_name((fl_wire_side)o), r->hpack_text[o]);
    }
    if (r->id == 0 || !r->opened) continue;
    if (r->half_closed && r->after_frames > 0)
      add(f, FL_WIRE_FINDING_HALF_CLOSE, r, FL_WIRE_CLIENT, r->hc_ts, r->hc_frame, r->hc_packet, 0,
          "the client half-closed stream %u while the server was sending, and the server kept "
          "sending: %llu more DATA frame%s (%llu message%s, %llu bytes) until %.3fs (frame %llu)",
          r->id, (unsigned long long)r->after_frames, r->after_frames == 1 ? "" : "s",
          (unsigned long long)r->after_msgs, r->after_msgs == 1 ? "" : "s",
          (unsigned long long)r->after_bytes, rel(r, r->after_last_ts),
          (unsigned long long)r->after_last_frame);
    if (r->end_without_trailers) {
      add(f, FL_WIRE_FINDING_NO_TRAILERS, r, FL_WIRE_SERVER, r->open_ts, r->open_frame,
          r->open_packet, 0,
          "stream %u ended without trailers: the server ended it with END_STREAM before any "
          "header block with grpc-status",
          r->id);
    } else if (!r->closed && !r->trailers) {
      rec *cr = NULL;
      for (size_t j = 0; j < f->cap; j++)
        if (f->tab[j].used && f->tab[j].id == 0 && f->tab[j].leg == r->leg &&
            f->tab[j].conn == r->conn)
          cr = &f->tab[j];
      if (cr && (cr->fin[0] || cr->fin[1] || cr->tcp_rst))
        add(f, FL_WIRE_FINDING_NO_TRAILERS, r, cr->end_side, cr->end_ts, 0, cr->end_packet, 0,
            "stream %u ended without trailers: the connection closed (the %s sent TCP %s)", r->id,
            fl_wire_side_name(cr->end_side), cr->tcp_rst ? "RST" : "FIN");
      else
        add(f, FL_WIRE_FINDING_NO_TRAILERS, r, FL_WIRE_SERVER, r->open_ts, r->open_frame,
            r->open_packet, 0,
            "stream %u had no trailers: it was still open when the capture ended", r->id);
    }
  }
  for (size_t k = 0; k < f->nps; k++) {
    const peer_status *p = &f->ps[k];
    for (size_t i = 0; i < f->cap; i++) {
      rec *r = &f->tab[i];
      if (!r->used || r->id == 0 || r->leg != p->leg || !r->trailers || r->grpc_status < 0)
        continue;
      if (p->stream_id && r->id != p->stream_id) continue;
      if (r->grpc_status == p->code) continue;
      add(f, FL_WIRE_FINDING_STATUS_MISMATCH, r, p->side, r->trailers_ts, r->trailers_frame,
          r->trailers_packet, 0,
          "the %s reported status %s, but the trailers on stream %u carried grpc-status %d (%s)",
          fl_wire_side_name(p->side), fl_status_name(p->code), r->id, r->grpc_status,
          fl_status_name(r->grpc_status));
    }
  }
  if (f->nv > 1) qsort(f->v, f->nv, sizeof *f->v, by_time);
  return f->oom ? -1 : 0;
}

static int visit_frame(void *user, const fl_wire_frame *fr) {
  fl_wire_findings_frame(user, fr);
  return 0;
}

static int visit_notice(void *user, const fl_wire_notice *n) {
  fl_wire_findings_notice(user, n);
  return 0;
}

void fl_wire_findings_visitor(fl_wire_findings *f, fl_wire_visitor *v) {
  *v = (fl_wire_visitor){.user = f, .frame = visit_frame, .notice = visit_notice};
}
