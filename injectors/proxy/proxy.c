#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "event.h"
#include "faults.h"
#include "h2.h"
#include "observe.h"
#include "shaper.h"

/* Direction d carries what side d sends: C2S the client's frames toward the server. Wire
 * counts, `toward` and shaping are all indexed this way: toward server = C2S. */
enum { C2S = 0, S2C = 1 };
static const char *const side_name[2] = {"client", "server"};

/* How much one read takes, and how much may wait unsent in one direction before the proxy
 * stops reading from its sender (the sender then feels TCP back-pressure, as on a path). */
#define READ_CHUNK (256 * 1024)
#define HIGH_WATER (4u * 1024 * 1024)
/* Injected PINGs carry this in their opaque data, so their ACKs are known and kept from the
 * peer that never sent the PING. */
static const uint8_t ping_magic[4] = {'f', 'l', 't', 'p'};

typedef struct {
  uint8_t *p;
  size_t off, len, cap; /* bytes p[off..len) */
} pbuf;

static size_t pbuf_used(const pbuf *b) { return b->len - b->off; }

static int pbuf_reserve(pbuf *b, size_t more) {
  if (b->off && b->off == b->len) b->off = b->len = 0;
  if (b->cap - b->len >= more) return 0;
  if (b->off) {
    memmove(b->p, b->p + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
    if (b->cap - b->len >= more) return 0;
  }
  size_t cap = b->cap ? b->cap : 64 * 1024;
  while (cap - b->len < more) cap *= 2;
  uint8_t *np = realloc(b->p, cap);
  if (!np) return -1;
  b->p = np;
  b->cap = cap;
  return 0;
}

static int pbuf_append(pbuf *b, const void *data, size_t n) {
  if (pbuf_reserve(b, n) < 0) return -1;
  memcpy(b->p + b->len, data, n);
  b->len += n;
  return 0;
}

static void pbuf_consume(pbuf *b, size_t n) {
  b->off += n;
  if (b->off == b->len) b->off = b->len = 0;
}

static void pbuf_free(pbuf *b) {
  free(b->p);
  *b = (pbuf){0};
}

/* What a fault did to a frame the receiver got: the frame event's `action`. */
typedef enum { FATE_NONE, FATE_INJECTED, FATE_DELAYED, FATE_CORRUPTED } fate;
static const char *const fate_name[] = {"", "injected", "delayed", "corrupted"};

/* One frame's `frame` event, waiting for the frame's last byte to be written. */
typedef struct {
  uint64_t end;   /* the shaper's stream offset just past the frame */
  uint64_t n, at; /* its ordinal on the sender's leg (0: injected) and on the receiver's */
  fl_h2_frame_header h;
  int fault; /* -1: none */
  fate fate;
  uint32_t code, last_stream_id, increment;
  uint8_t n_settings;
  fl_setting_value settings[8];
  char debug[128];
  size_t debug_len;
  bool has_window, has_grpc_status;
  int64_t window; /* DATA: the sender's send window after it (stream and connection) */
  int grpc_status;
} frec;

typedef struct {
  frec *r;
  size_t head, count, cap;
} frecq;

static int frecq_push(frecq *q, const frec *r) {
  if (q->count == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 64;
    frec *nr = malloc(cap * sizeof *nr);
    if (!nr) return -1;
    for (size_t i = 0; i < q->count; i++) nr[i] = q->r[(q->head + i) % q->cap];
    free(q->r);
    q->r = nr;
    q->cap = cap;
    q->head = 0;
  }
  q->r[(q->head + q->count++) % q->cap] = *r;
  return 0;
}

static frec *frecq_front(frecq *q) { return q->count ? &q->r[q->head] : NULL; }
static void frecq_pop(frecq *q) {
  q->head = (q->head + 1) % q->cap;
  q->count--;
}

typedef enum { MODE_DETECT, MODE_H2, MODE_RAW } dir_mode;

typedef struct conn conn;

typedef struct {
  int idx; /* C2S or S2C */
  dir_mode mode;
  pbuf in;  /* read from the sender, not yet taken as frames */
  pbuf out; /* taken, not yet written to the receiver */
  /* Taken bytes left where they were read, in `in`, queued behind all of `out`: what is
   * forwarded unchanged is written from there, not copied first (see deliver). Only read_side
   * leaves bytes here, and it writes or copies them into `out` before `in` moves again. */
  const uint8_t *span;
  size_t span_len;
  fl_shaper sh;
  frecq recs;           /* events of frames in `out` */
  uint64_t n_in, n_out; /* frames read from the sender, frames given to the receiver */
  uint64_t delivered;   /* bytes written to the receiver */
  bool eof;             /* the sender closed (read 0) */
  bool read_stop;       /* a close fault: read no more from the sender */
  bool fin_pending;     /* a close fault: FIN once `out` is written */
  bool fin_sent;
  int64_t fin_at; /* slow_close: not before */
  bool wblocked;  /* the last write hit EAGAIN */
  int64_t wake_ns;
  int64_t hold_until; /* delay_frame: what is taken until then waits until then */
  bool header_open;   /* a HEADERS block awaits its CONTINUATION: nothing may go between */
  pbuf pend;          /* frames injected while header_open */
  frecq pend_recs;
  /* A DATA frame forwarded as it arrives (cut through): payload bytes still to come. */
  uint32_t cut_left, cut_stream;
  bool head_done; /* the frame at the head of `in` was judged (counted, triggers run) */
  frec head_rec;
  pbuf held; /* WINDOW_UPDATEs withheld from the receiver */
  frecq held_recs;
  /* For each SETTINGS given to the receiver, in order: -1 the other peer's own, else the
   * fault that injected it; the receiver's ACKs are matched against it. */
  int sq[64];
  size_t sq_head, sq_count;
} dir;

/* Copies the span into `out`, behind what is there: `in` is about to move. */
static int span_keep(dir *d) {
  if (!d->span_len) return 0;
  if (pbuf_append(&d->out, d->span, d->span_len) < 0) return -1;
  d->span_len = 0;
  return 0;
}

typedef struct {
  uint32_t id;
  bool ended[2], reset;
  bool cut[2];    /* the proxy reset it toward direction i's receiver: it is over for that peer */
  int64_t win[2]; /* each side's send window on the stream */
  /* gRPC message framing in each direction: body bytes still to come, or a prefix being
   * gathered. */
  uint32_t need[2];
  uint8_t have[2];
  uint8_t pfx[2][FL_GRPC_PREFIX_LEN];
} stream;

enum { LEG_CLIENT, LEG_SERVER, LEG_LISTEN, LEG_CONTROL, LEG_TIMER };

typedef struct {
  int kind;
  conn *c;
  int fd;
  uint32_t events; /* the interest registered with epoll */
  bool registered;
  bool hup;
} leg;

struct conn {
  int id;
  leg cl, sv;
  bool connecting, closed;
  int first_eof; /* the side that closed first, -1 */
  dir d[2];
  stream *streams;
  size_t n_streams, cap_streams;
  uint32_t max_stream[2]; /* the highest stream id each side opened */
  /* Flow control as each side sees it: its connection send window, and the initial stream
   * window its peer's SETTINGS gave it. */
  int64_t conn_win[2], init_win[2];
  /* HPACK, decoded (never re-encoded) as each receiver decodes it, for grpc-status. */
  nghttp2_hd_inflater *hd[2];
  bool hd_broken[2];
  int block_status[2]; /* grpc-status in the header block being read, -1 none */
  bool refused_reported;
  conn *next;
};

typedef struct {
  bool fired;
  int64_t fired_ns;
  int64_t due_ns; /* after: when; 0 not scheduled */
  bool armed[2];  /* drop/delay/corrupt waiting for a frame in that direction */
} fault_rt;

typedef struct {
  bool active;
  uint32_t stream;
  int64_t until;
  int fault;
} withhold;

struct fl_proxy {
  const fl_scenario *s;
  int events_fd, control_fd;
  int ep, lfd, tfd;
  int port;
  struct sockaddr_in up;
  leg listen_leg, control_leg, timer_leg;
  conn *conns; /* newest first */
  conn *dead;  /* closed in this loop turn; freed after it */
  int next_id;
  fl_shape shape[2];
  bool blackhole[2];
  int64_t slow_close[2];
  withhold wh[2];
  fault_rt *f;
  size_t nf;
  fl_observe *obs; /* what the receivers saw: the wire triggers read it */
  int64_t t0_ns;
  int64_t call_start_ns;
  uint16_t ping_seq;
  char ctl[512];
  size_t ctl_len;
  bool done;
  int64_t timer_at;
  int64_t now;
  int firing;                        /* the fault fire_fault is firing, else -1 */
  char evbuf[4 * FL_EVENT_MAX_LINE]; /* event lines of this loop turn */
  size_t evlen;
};

/* ---- events --------------------------------------------------------------------------- */

#define KV_MAX 24
typedef struct {
  fl_event_kv kv[KV_MAX];
  size_t n;
} kvb;

static void kv(kvb *b, fl_event_kv x) {
  if (b->n < KV_MAX) b->kv[b->n++] = x;
}

static void events_flush(fl_proxy *p) {
  size_t o = 0;
  while (o < p->evlen) {
    ssize_t w = write(p->events_fd, p->evbuf + o, p->evlen - o);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      /* The runner is gone: nobody is left to tell. */
      fprintf(stderr, "faultline-proxy: cannot write events: %s\n", strerror(errno));
      exit(1);
    }
    o += (size_t)w;
  }
  p->evlen = 0;
}

/*
 * One event line (event.h's table checks it), gathered and written once a loop turn: a bulk
 * stream is thousands of frames a second, and a write(2) each was a quarter of the proxy's
 * system calls. Whole lines only, so a reader never sees half of one.
 */
static void emit_at(fl_proxy *p, int64_t stamp, fl_event_id id, const kvb *b) {
  if (sizeof p->evbuf - p->evlen < FL_EVENT_MAX_LINE) events_flush(p);
  char err[256];
  int n = fl_event_format(p->evbuf + p->evlen, stamp, id, b ? b->kv : NULL, b ? b->n : 0, err,
                          sizeof err);
  if (n < 0) {
    fprintf(stderr, "faultline-proxy: an event the table refuses (a bug): %s\n", err);
    exit(1);
  }
  p->evlen += (size_t)n;
}

static void emit(fl_proxy *p, fl_event_id id, const kvb *b) { emit_at(p, fl_mono_ns(), id, b); }

static const char *type_text(uint8_t type, char *buf, size_t len) {
  const char *tn = fl_h2_frame_type_name(type);
  if (tn) return tn;
  snprintf(buf, len, "%u", type);
  return buf;
}

static void emit_frame(fl_proxy *p, conn *c, int idx, const frec *r) {
  kvb b = {.n = 0};
  char tbuf[8], sbuf[256];
  kv(&b, FL_KV_I(CONN, c->id));
  kv(&b, FL_KV_S(FROM, side_name[idx]));
  kv(&b, FL_KV_S(TYPE, type_text(r->h.type, tbuf, sizeof tbuf)));
  kv(&b, FL_KV_I(STREAM, r->h.stream_id));
  kv(&b, FL_KV_I(LEN, r->h.length));
  kv(&b, FL_KV_I(FLAGS, r->h.flags));
  kv(&b, FL_KV_I(ORDINAL, r->at));
  switch (r->h.type) {
  case FL_H2_RST_STREAM: kv(&b, FL_KV_I(CODE, r->code)); break;
  case FL_H2_GOAWAY:
    kv(&b, FL_KV_I(CODE, r->code));
    kv(&b, FL_KV_I(LAST_STREAM_ID, r->last_stream_id));
    kv(&b, FL_KV_BYTES(DEBUG, r->debug, r->debug_len));
    break;
  case FL_H2_WINDOW_UPDATE: kv(&b, FL_KV_I(INCREMENT, r->increment)); break;
  case FL_H2_SETTINGS:
    if (r->n_settings) {
      size_t o = 0;
      for (int i = 0; i < r->n_settings && o < sizeof sbuf; i++) {
        const char *sn = fl_h2_setting_name(r->settings[i].id);
        if (sn)
          o += (size_t)snprintf(sbuf + o, sizeof sbuf - o, "%s%s=%" PRIu32, i ? "," : "", sn,
                                r->settings[i].value);
        else
          o += (size_t)snprintf(sbuf + o, sizeof sbuf - o, "%s0x%x=%" PRIu32, i ? "," : "",
                                r->settings[i].id, r->settings[i].value);
      }
      kv(&b, FL_KV_S(SETTINGS, sbuf));
    }
    break;
  default: break;
  }
  if (r->has_grpc_status) kv(&b, FL_KV_I(GRPC_STATUS, r->grpc_status));
  if (r->has_window) kv(&b, FL_KV_I(WINDOW, r->window));
  if (r->fate != FATE_NONE) kv(&b, FL_KV_S(ACTION, fate_name[r->fate]));
  emit(p, FL_EV_FRAME, &b);
}

/* Fault k's event: `effect` is what it did (the table's `action`); the frame it acted on by
 * its type (-1: none) and ordinal (0: none). */
static void emit_fault(fl_proxy *p, int k, const char *effect, const conn *c, uint32_t stream,
                       int type, uint64_t ordinal) {
  kvb b = {.n = 0};
  char tbuf[8];
  kv(&b, FL_KV_I(INDEX, k));
  kv(&b, FL_KV_S(ACTION, effect));
  if (c) kv(&b, FL_KV_I(CONN, c->id));
  if (stream) kv(&b, FL_KV_I(STREAM, stream));
  if (type >= 0) kv(&b, FL_KV_S(TYPE, type_text((uint8_t)type, tbuf, sizeof tbuf)));
  if (ordinal) kv(&b, FL_KV_I(ORDINAL, ordinal));
  /* Stamped with the moment the fault fired, which `after:... since:` counts from. */
  emit_at(p, p->firing == k ? p->f[k].fired_ns : fl_mono_ns(), FL_EV_FAULT, &b);
}

/* The event table has no room for a reason: it goes to stderr (the run keeps the proxy's). */
static void refuse(fl_proxy *p, int k, const conn *c, const char *why) {
  fprintf(stderr, "faultline-proxy: fault %d (%s) refused on connection %d: %s\n", k,
          fl_action_name(p->s->faults[k].action.kind), c ? c->id : 0, why);
  emit_fault(p, k, "refused", c, 0, -1, 0);
}

/* ---- sockets and epoll ------------------------------------------------------------------ */

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void leg_set(fl_proxy *p, leg *l, uint32_t events) {
  if (l->fd < 0) return;
  if (l->registered && l->events == events) return;
  struct epoll_event ev = {.events = events, .data.ptr = l};
  if (epoll_ctl(p->ep, l->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, l->fd, &ev) == 0) {
    l->registered = true;
    l->events = events;
  }
}

static void leg_close(fl_proxy *p, leg *l, bool rst) {
  if (l->fd < 0) return;
  if (l->registered) epoll_ctl(p->ep, EPOLL_CTL_DEL, l->fd, NULL);
  if (rst) {
    /* SO_LINGER with a zero timeout makes close(2) send RST. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(l->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(l->fd);
  l->fd = -1;
  l->registered = false;
}

/* ---- connections ------------------------------------------------------------------------ */

static const char *close_reason_for(int side, bool reset) {
  static const char *const r[2][2] = {{"client_closed", "client_reset"},
                                      {"server_closed", "server_reset"}};
  return r[side][reset];
}

static void conn_finish(fl_proxy *p, conn *c, const char *reason, bool rst_client,
                        bool rst_server) {
  if (c->closed) return;
  c->closed = true;
  /* Frames taken but never written are no frame of the receiver's: they get no event. */
  leg_close(p, &c->cl, rst_client);
  leg_close(p, &c->sv, rst_server);
  kvb b = {.n = 0};
  kv(&b, FL_KV_I(CONN, c->id));
  kv(&b, FL_KV_S(REASON, reason));
  emit(p, FL_EV_CONN_CLOSE, &b);
  /* Unlinked now, freed after this loop turn: epoll may still hold events for its legs. */
  for (conn **pp = &p->conns; *pp; pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  }
  c->next = p->dead;
  p->dead = c;
}

static void conn_free(conn *c) {
  for (int i = 0; i < 2; i++) {
    dir *d = &c->d[i];
    pbuf_free(&d->in);
    pbuf_free(&d->out);
    pbuf_free(&d->pend);
    pbuf_free(&d->held);
    free(d->recs.r);
    free(d->pend_recs.r);
    free(d->held_recs.r);
    fl_shaper_free(&d->sh);
  }
  for (int i = 0; i < 2; i++)
    if (c->hd[i]) nghttp2_hd_inflate_del(c->hd[i]);
  free(c->streams);
  free(c);
}

static int fd_of(conn *c, int side) { return side == C2S ? c->cl.fd : c->sv.fd; }

static stream *stream_get(conn *c, uint32_t id, bool create) {
  for (size_t i = c->n_streams; i-- > 0;)
    if (c->streams[i].id == id) return &c->streams[i];
  if (!create) return NULL;
  if (c->n_streams == c->cap_streams) {
    /* Sweep the closed ones before growing. */
    size_t w = 0;
    for (size_t i = 0; i < c->n_streams; i++) {
      stream *s = &c->streams[i];
      bool closed = s->reset || (s->ended[0] && s->ended[1]);
      if (!closed) c->streams[w++] = *s;
    }
    c->n_streams = w;
    if (w == c->cap_streams) {
      size_t cap = c->cap_streams ? c->cap_streams * 2 : 16;
      stream *ns = realloc(c->streams, cap * sizeof *ns);
      if (!ns) return NULL;
      c->streams = ns;
      c->cap_streams = cap;
    }
  }
  stream *s = &c->streams[c->n_streams++];
  *s = (stream){.id = id, .win = {c->init_win[0], c->init_win[1]}};
  return s;
}

/* The newest stream still open both ways (not reset, not ended by both). */
static uint32_t newest_open_stream(conn *c) {
  uint32_t best = 0;
  for (size_t i = 0; i < c->n_streams; i++) {
    stream *s = &c->streams[i];
    if (!s->reset && !(s->ended[0] && s->ended[1]) && s->id > best) best = s->id;
  }
  return best;
}

/* ---- faults ------------------------------------------------------------------------------- */

static bool toward_dir(fl_toward t, int idx) {
  /* toward server: what flows toward the server, C2S. */
  return t == FL_TOWARD_BOTH || (t == FL_TOWARD_SERVER && idx == C2S) ||
         (t == FL_TOWARD_CLIENT && idx == S2C);
}

static fl_side side_of(int idx) { return idx == C2S ? FL_SIDE_CLIENT : FL_SIDE_SERVER; }

/* A frame as the observation model takes it. */
static fl_observed_frame wire_frame(const fl_proxy *p, const conn *c, int idx, const frec *r) {
  bool code = r->h.type == FL_H2_RST_STREAM || r->h.type == FL_H2_GOAWAY;
  return (fl_observed_frame){
      .t_ns = p->now - p->t0_ns,
      .from = side_of(idx),
      .conn = (uint32_t)c->id,
      .type = r->h.type,
      .flags = r->h.flags,
      .stream_id = r->h.stream_id,
      .length = r->h.length,
      .has_code = code,
      .code = r->code,
      .last_stream_id = r->last_stream_id,
      .debug = r->debug,
      .debug_len = r->debug_len,
      .has_grpc_status = r->has_grpc_status,
      .grpc_status = r->grpc_status,
      .has_window = r->has_window,
      .window = r->window,
  };
}

/* A process fault (pause, kill, ...) is the runner's: the proxy neither times nor fires it. */
static bool proxy_fault(const fl_fault *f) {
  return fl_action_layer(f->action.kind) != FL_LAYER_PROCESS;
}

/* The model's view with one frame more, not yet given to it: a wire trigger sees the frame
 * it fires at as delivered, before it is (and before a fault may yet drop it). */
typedef struct {
  const fl_proxy *p;
  const fl_observed_frame *f;
} preview;

static bool preview_lookup(void *ctx, fl_scope scope, const fl_field_info *field, fl_value *out) {
  const preview *pv = ctx;
  bool known = fl_observe_lookup(pv->p->obs, scope, field, out);
  const fl_observed_frame *f = pv->f;
  if (field->id == FL_FIELD_WIRE_CONNECTIONS) {
    if (!out->known || out->i < (int64_t)f->conn) *out = (fl_value){FL_VAL_INT, true, f->conn, 0};
    return true;
  }
  if (field->cls != FL_CLASS_WIRE || fl_side_of_scope(scope) != f->from) return known;
  static const struct {
    fl_field_id id;
    uint8_t type;
  } counts[] = {{FL_FIELD_WIRE_DATA, FL_H2_DATA},
                {FL_FIELD_WIRE_HEADERS, FL_H2_HEADERS},
                {FL_FIELD_WIRE_RST_STREAM, FL_H2_RST_STREAM},
                {FL_FIELD_WIRE_GOAWAY, FL_H2_GOAWAY},
                {FL_FIELD_WIRE_PING, FL_H2_PING},
                {FL_FIELD_WIRE_SETTINGS, FL_H2_SETTINGS},
                {FL_FIELD_WIRE_WINDOW_UPDATE, FL_H2_WINDOW_UPDATE}};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    if (field->id != counts[i].id) continue;
    if (f->type != counts[i].type) return known;
    *out = (fl_value){FL_VAL_INT, true, (known ? out->i : 0) + 1, 0};
    return true;
  }
  switch (field->id) {
  case FL_FIELD_WIRE_END_STREAM:
    if (!((f->type == FL_H2_DATA || f->type == FL_H2_HEADERS) &&
          (f->flags & FL_H2_FLAG_END_STREAM)))
      return known;
    *out = (fl_value){FL_VAL_BOOL, true, 1, 0};
    return true;
  case FL_FIELD_WIRE_RST_STREAM_CODE:
    if (!(f->type == FL_H2_RST_STREAM)) return known;
    *out = (fl_value){FL_VAL_H2CODE, true, f->code, 0};
    return true;
  case FL_FIELD_WIRE_GOAWAY_CODE:
    if (!(f->type == FL_H2_GOAWAY)) return known;
    *out = (fl_value){FL_VAL_H2CODE, true, f->code, 0};
    return true;
  case FL_FIELD_WIRE_GOAWAY_LAST_STREAM_ID:
    if (!(f->type == FL_H2_GOAWAY)) return known;
    *out = (fl_value){FL_VAL_INT, true, f->last_stream_id, 0};
    return true;
  case FL_FIELD_WIRE_GOAWAY_DEBUG:
    if (!(f->type == FL_H2_GOAWAY)) return known;
    *out = (fl_value){FL_VAL_STRING, true, 0, f->debug};
    return true;
  case FL_FIELD_WIRE_TRAILERS_STATUS:
    if (!(f->has_grpc_status)) return known;
    *out = (fl_value){FL_VAL_STATUS, true, f->grpc_status, 0};
    return true;
  case FL_FIELD_WIRE_WINDOW_MIN:
    if (!(f->has_window && (!out->known || f->window < out->i))) return known;
    *out = (fl_value){FL_VAL_SIZE, true, f->window, 0};
    return true;
  default: return known;
  }
}

static void fire_fault(fl_proxy *p, int k, conn *c, const fl_h2_frame_header *h, uint64_t n);

/*
 * The one place wire triggers are evaluated: at each frame, before it is forwarded, with the
 * frame counted as its receiver will see it (preview_lookup over the proxy's own observation
 * model). Returns -1 when a fault took the connection away.
 */
static int wire_triggers(fl_proxy *p, conn *c, int idx, const frec *r) {
  fl_observed_frame wf = wire_frame(p, c, idx, r);
  preview pv = {p, &wf};
  for (size_t k = 0; k < p->nf; k++) {
    const fl_fault *f = &p->s->faults[k];
    if (p->f[k].fired || f->trigger.kind != FL_TRIGGER_ON || !f->trigger.wire || !proxy_fault(f))
      continue;
    if (fl_predicate_eval(f->trigger.predicate, preview_lookup, &pv, NULL)) {
      fire_fault(p, (int)k, c, &r->h, r->n);
      if (c->closed) return -1;
    }
  }
  return 0;
}

/* SETTINGS_HEADER_TABLE_SIZE from side idx bounds what its peer's encoder may use: the
 * inflater reading that encoder must allow as much. */
static void hpack_table_size(conn *c, int idx, uint32_t size) {
  int enc = 1 - idx;
  if (c->hd[enc] && !c->hd_broken[enc] && nghttp2_hd_inflate_change_table_size(c->hd[enc], size))
    c->hd_broken[enc] = true;
}

/* Decodes a HEADERS / CONTINUATION frame's header block fragment as its receiver does, to see
 * grpc-status in trailers (read only: the proxy never re-encodes). A block it cannot follow
 * (a dropped HEADERS, say) ends the decoding for that direction. */
static void hpack_frame(conn *c, int idx, frec *r, const uint8_t *pl) {
  const fl_h2_frame_header *h = &r->h;
  if (c->hd_broken[idx]) return;
  if (!c->hd[idx] && nghttp2_hd_inflate_new(&c->hd[idx]) != 0) {
    c->hd_broken[idx] = true;
    return;
  }
  size_t off = 0, end = h->length;
  if (h->type == FL_H2_HEADERS || h->type == FL_H2_PUSH_PROMISE) {
    c->block_status[idx] = -1;
    if (h->flags & FL_H2_FLAG_PADDED) {
      if (!end || pl[0] + 1u > end) goto broken;
      off = 1;
      end -= pl[0];
    }
    if (h->type == FL_H2_HEADERS && (h->flags & FL_H2_FLAG_PRIORITY)) off += 5;
    if (h->type == FL_H2_PUSH_PROMISE) off += 4;
    if (off > end) goto broken;
  }
  bool final = h->flags & FL_H2_FLAG_END_HEADERS;
  const uint8_t *in = pl + off;
  size_t inlen = end - off;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    ssize_t rv = nghttp2_hd_inflate_hd2(c->hd[idx], &nv, &flags, in, inlen, final);
    if (rv < 0) goto broken;
    in += rv;
    inlen -= (size_t)rv;
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) && nv.namelen == 11 &&
        !memcmp(nv.name, "grpc-status", 11) && nv.valuelen && nv.valuelen < 4) {
      char v[4];
      memcpy(v, nv.value, nv.valuelen);
      v[nv.valuelen] = '\0';
      c->block_status[idx] = atoi(v);
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(c->hd[idx]);
      break;
    }
    if (!inlen && !(flags & NGHTTP2_HD_INFLATE_EMIT)) break;
  }
  if (final && c->block_status[idx] >= 0) {
    r->has_grpc_status = true;
    r->grpc_status = c->block_status[idx];
  }
  return;
broken:
  c->hd_broken[idx] = true;
}

/* Flow control, as the receiver of direction idx's frames applies them; and the DATA
 * sender's window after the frame into r. */
static void account(conn *c, int idx, frec *r) {
  const fl_h2_frame_header *h = &r->h;
  switch (h->type) {
  case FL_H2_DATA: {
    stream *st = stream_get(c, h->stream_id, true);
    c->conn_win[idx] -= h->length;
    int64_t w = c->conn_win[idx];
    if (st) {
      st->win[idx] -= h->length;
      if (st->win[idx] < w) w = st->win[idx];
    }
    r->has_window = true;
    r->window = w;
    break;
  }
  case FL_H2_WINDOW_UPDATE:
    if (!h->stream_id) {
      c->conn_win[1 - idx] += r->increment;
    } else {
      stream *st = stream_get(c, h->stream_id, false);
      if (st) st->win[1 - idx] += r->increment;
    }
    break;
  case FL_H2_SETTINGS:
    if (h->flags & FL_H2_FLAG_ACK) break;
    for (int i = 0; i < r->n_settings; i++) {
      uint32_t v = r->settings[i].value;
      if (r->settings[i].id == FL_H2_SETTINGS_HEADER_TABLE_SIZE) hpack_table_size(c, idx, v);
      if (r->settings[i].id != FL_H2_SETTINGS_INITIAL_WINDOW_SIZE) continue;
      /* The peer's new initial window changes every open stream's by the difference. */
      int64_t delta = (int64_t)v - c->init_win[1 - idx];
      c->init_win[1 - idx] = v;
      for (size_t j = 0; j < c->n_streams; j++) c->streams[j].win[1 - idx] += delta;
    }
    break;
  default: break;
  }
}

/* What DATA's window will be once delivered, for the triggers, without applying it. */
static void window_preview(conn *c, int idx, frec *r) {
  if (r->h.type != FL_H2_DATA) return;
  stream *st = stream_get(c, r->h.stream_id, false);
  int64_t w = c->conn_win[idx] - r->h.length;
  int64_t sw = (st ? st->win[idx] : c->init_win[idx]) - r->h.length;
  r->has_window = true;
  r->window = sw < w ? sw : w;
}

static void schedule_after(fl_proxy *p, int since, int64_t from_ns) {
  for (size_t j = 0; j < p->nf; j++) {
    const fl_trigger *t = &p->s->faults[j].trigger;
    if (!proxy_fault(&p->s->faults[j])) continue;
    if (t->kind == FL_TRIGGER_AFTER && t->since == since && !p->f[j].fired && !p->f[j].due_ns)
      p->f[j].due_ns = from_ns + t->after_ns;
  }
}

static int deliver(fl_proxy *p, conn *c, int idx, const uint8_t *bytes, size_t len, frec *r);

/* Whether a frame the proxy makes must wait before going into direction idx: nothing may
 * stand between HEADERS and its CONTINUATION or inside a DATA frame cut through, and a peer's
 * first frame (its SETTINGS, the connection preface) must be its own. */
static bool must_wait(const dir *d) {
  return d->header_open || d->cut_left || d->mode != MODE_H2 || !d->n_out;
}

/* Puts a frame the proxy made into direction idx, or keeps it until an open header block
 * ends (nothing may stand between HEADERS and its CONTINUATION). */
static void inject(fl_proxy *p, conn *c, int idx, const uint8_t *bytes, size_t len, int k) {
  dir *d = &c->d[idx];
  frec r = {.fault = k, .fate = FATE_INJECTED};
  fl_h2_header_parse(bytes, &r.h);
  const uint8_t *pl = bytes + FL_H2_FRAME_HEADER_LEN;
  if (r.h.type == FL_H2_RST_STREAM) r.code = fl_be32(pl);
  if (r.h.type == FL_H2_WINDOW_UPDATE) r.increment = fl_be32(pl) & FL_H2_STREAM_ID_MASK;
  if (r.h.type == FL_H2_GOAWAY) {
    r.last_stream_id = fl_be32(pl) & FL_H2_STREAM_ID_MASK;
    r.code = fl_be32(pl + 4);
    r.debug_len = r.h.length - 8 < sizeof r.debug - 1 ? r.h.length - 8 : sizeof r.debug - 1;
    memcpy(r.debug, pl + 8, r.debug_len);
    r.debug[r.debug_len] = '\0';
  }
  if (r.h.type == FL_H2_SETTINGS) {
    for (uint32_t o = 0; o + 6 <= r.h.length && r.n_settings < 8; o += 6) {
      r.settings[r.n_settings].id = (uint16_t)(pl[o] << 8 | pl[o + 1]);
      r.settings[r.n_settings++].value = fl_be32(pl + o + 2);
    }
  }
  if (r.h.type == FL_H2_RST_STREAM) {
    stream *st = stream_get(c, r.h.stream_id, false);
    if (st) st->reset = st->cut[idx] = true; /* for the receiver it is over */
  }
  if (must_wait(d)) {
    if (pbuf_append(&d->pend, bytes, len) < 0 || frecq_push(&d->pend_recs, &r) < 0)
      fprintf(stderr, "faultline-proxy: out of memory injecting a frame\n");
    return;
  }
  deliver(p, c, idx, bytes, len, &r);
}

static conn *newest_conn(fl_proxy *p) {
  for (conn *c = p->conns; c; c = c->next)
    if (!c->closed && !c->connecting) return c;
  return NULL;
}

static void conn_reset(fl_proxy *p, conn *c, fl_toward toward) {
  bool rc = toward != FL_TOWARD_SERVER, rs = toward != FL_TOWARD_CLIENT;
  conn_finish(p, c, "reset", rc, rs);
}

/*
 * Fires fault k. `c`, `idx`, `h` and `n` describe the frame that fired it (a wire trigger), or
 * c is NULL (after:, or `fire K` from the runner).
 */
static void fire_action(fl_proxy *p, int k, conn *c, const fl_h2_frame_header *h, uint64_t n);

static void fire_fault(fl_proxy *p, int k, conn *c, const fl_h2_frame_header *h, uint64_t n) {
  int outer = p->firing;
  p->firing = k;
  fire_action(p, k, c, h, n);
  p->firing = outer;
}

static void fire_action(fl_proxy *p, int k, conn *c, const fl_h2_frame_header *h, uint64_t n) {
  const fl_fault *f = &p->s->faults[k];
  const fl_action *a = &f->action;
  fault_rt *rt = &p->f[k];
  p->now = fl_mono_ns();
  rt->fired = true;
  rt->fired_ns = p->now;
  schedule_after(p, k, p->now);
  uint32_t stream = h ? h->stream_id : 0;

  switch (a->kind) {
  case FL_ACTION_LATENCY:
  case FL_ACTION_BANDWIDTH:
  case FL_ACTION_SLICE:
  case FL_ACTION_BUFFER:
  case FL_ACTION_SLOW_CLOSE:
  case FL_ACTION_BLACKHOLE:
    for (int i = 0; i < 2; i++) {
      if (!toward_dir(f->toward, i)) continue;
      fl_shape *s = &p->shape[i];
      if (a->kind == FL_ACTION_LATENCY) s->latency_ns = a->delay_ns, s->jitter_ns = a->jitter_ns;
      if (a->kind == FL_ACTION_BANDWIDTH) s->rate = a->rate;
      if (a->kind == FL_ACTION_SLICE) s->slice_size = a->size, s->slice_delay_ns = a->delay_ns;
      if (a->kind == FL_ACTION_BUFFER) s->buffer_bytes = a->bytes, s->buffer_for_ns = a->for_ns;
      if (a->kind == FL_ACTION_SLOW_CLOSE) p->slow_close[i] = a->delay_ns;
      if (a->kind == FL_ACTION_BLACKHOLE) p->blackhole[i] = true;
    }
    emit_fault(p, k, a->kind == FL_ACTION_BLACKHOLE ? "blackholed" : "shaped", c, stream,
               h ? h->type : -1, n);
    return;
  case FL_ACTION_RESET:
  case FL_ACTION_CLOSE:
    emit_fault(p, k, a->kind == FL_ACTION_RESET ? "reset" : "closed", c, stream, h ? h->type : -1,
               n);
    for (conn *t = p->conns, *next; t; t = next) {
      next = t->next;
      if (c && t != c) continue;
      if (a->kind == FL_ACTION_RESET) {
        conn_reset(p, t, f->toward);
        continue;
      }
      for (int i = 0; i < 2; i++) {
        if (!toward_dir(f->toward, i)) continue;
        t->d[i].read_stop = true;
        t->d[i].fin_pending = true;
      }
    }
    return;
  case FL_ACTION_WITHHOLD_WINDOW_UPDATE:
    for (int i = 0; i < 2; i++) {
      if (!toward_dir(f->toward, i)) continue;
      /* WINDOW_UPDATEs toward X flow in the direction toward X, sent by X's peer. */
      withhold *w = &p->wh[i];
      *w = (withhold){true, a->stream, a->for_ns == FL_FOREVER ? INT64_MAX : p->now + a->for_ns, k};
    }
    emit_fault(p, k, "withheld", c, a->stream == FL_STREAM_ALL ? 0 : a->stream, h ? h->type : -1,
               n);
    return;
  case FL_ACTION_DELAY_FRAME:
  case FL_ACTION_DROP_FRAME:
  case FL_ACTION_CORRUPT:
    for (int i = 0; i < 2; i++)
      if (toward_dir(f->toward, i)) rt->armed[i] = true;
    emit_fault(p, k, "armed", c, stream, h ? h->type : -1, n);
    return;
  case FL_ACTION_RST_STREAM:
  case FL_ACTION_GOAWAY:
  case FL_ACTION_PING:
  case FL_ACTION_SETTINGS: break;
  case FL_ACTION_PAUSE: /* the runner's (proxy_fault) */
  case FL_ACTION_KILL:
  case FL_ACTION_SIGNAL:
  case FL_ACTION_RESTART:
  case FL_N_ACTIONS: return;
  }

  /* Frames injected toward a peer, as if its peer had sent them. */
  conn *t = c ? c : newest_conn(p);
  if (!t) {
    refuse(p, k, NULL, "no open connection");
    return;
  }
  for (int i = 0; i < 2; i++) {
    if (toward_dir(f->toward, i) && t->d[i].mode == MODE_RAW) {
      refuse(p, k, t,
             "the connection does not speak h2c (TLS or another protocol): frame faults need "
             "HTTP/2 frames");
      return;
    }
  }
  if (a->kind == FL_ACTION_RST_STREAM) {
    if (a->stream)
      stream = a->stream;
    else if (!stream)
      stream = newest_open_stream(t);
    if (!stream) {
      refuse(p, k, t, "no open stream");
      return;
    }
  }
  uint64_t first = 0; /* the first injected frame's ordinal toward its receiver */
  int itype = -1;
  for (int i = 0; i < 2; i++) {
    if (!toward_dir(f->toward, i)) continue;
    if (!first && !must_wait(&t->d[i])) first = t->d[i].n_out + 1;
    /* Direction i carries what its sender sends; toward server = C2S: as from the client. */
    uint8_t b[FL_H2_FRAME_HEADER_LEN + 8 + FL_GOAWAY_DEBUG_MAX];
    fl_h2_frame_header fh = {0};
    uint8_t *pl = b + FL_H2_FRAME_HEADER_LEN;
    switch (a->kind) {
    case FL_ACTION_RST_STREAM:
      fh = (fl_h2_frame_header){4, FL_H2_RST_STREAM, 0, stream};
      fl_put_be32(pl, a->code);
      break;
    case FL_ACTION_GOAWAY: {
      size_t dl = strlen(a->debug);
      /* The receiver may open no stream above what its own side opened so far. */
      uint32_t last = a->last_stream_id_set ? a->last_stream_id : t->max_stream[1 - i];
      fh = (fl_h2_frame_header){(uint32_t)(8 + dl), FL_H2_GOAWAY, 0, 0};
      fl_put_be32(pl, last);
      fl_put_be32(pl + 4, a->code);
      memcpy(pl + 8, a->debug, dl);
      break;
    }
    case FL_ACTION_SETTINGS:
      fh = (fl_h2_frame_header){(uint32_t)(6 * a->n_settings), FL_H2_SETTINGS, 0, 0};
      for (size_t s = 0; s < a->n_settings; s++) {
        pl[6 * s] = (uint8_t)(a->settings[s].id >> 8);
        pl[6 * s + 1] = (uint8_t)a->settings[s].id;
        fl_put_be32(pl + 6 * s + 2, a->settings[s].value);
      }
      break;
    default: break;
    }
    if (a->kind == FL_ACTION_PING) {
      for (uint32_t j = 0; j < a->count; j++) {
        fh = (fl_h2_frame_header){8, FL_H2_PING, 0, 0};
        memcpy(pl, ping_magic, 4);
        pl[4] = (uint8_t)(k >> 8);
        pl[5] = (uint8_t)k;
        pl[6] = (uint8_t)(p->ping_seq >> 8);
        pl[7] = (uint8_t)p->ping_seq++;
        fl_h2_header_pack(&fh, b);
        inject(p, t, i, b, FL_H2_FRAME_HEADER_LEN + 8, k);
      }
      continue;
    }
    fl_h2_header_pack(&fh, b);
    itype = fh.type;
    inject(p, t, i, b, FL_H2_FRAME_HEADER_LEN + fh.length, k);
  }
  if (a->kind == FL_ACTION_PING) itype = FL_H2_PING;
  emit_fault(p, k, "injected", t, a->kind == FL_ACTION_RST_STREAM ? stream : 0, itype, first);
}

/* ---- frames ------------------------------------------------------------------------------- */

/* Hands a whole frame (or, raw, any bytes when r is NULL) to the receiver's queue. */
static int deliver(fl_proxy *p, conn *c, int idx, const uint8_t *bytes, size_t len, frec *r) {
  dir *d = &c->d[idx];
  /* Bytes of the sender's own input stay there (the span) while they follow on from the last
   * ones kept so; anything else first puts the span into `out`, so the order holds. */
  bool from_in = d->in.p && bytes >= d->in.p && bytes < d->in.p + d->in.cap;
  if (from_in && d->span_len && bytes == d->span + d->span_len) {
    d->span_len += len;
  } else {
    if (span_keep(d) < 0) return -1;
    if (from_in) {
      d->span = bytes;
      d->span_len = len;
    } else if (pbuf_append(&d->out, bytes, len) < 0) {
      return -1;
    }
  }
  if (fl_shaper_add(&d->sh, &p->shape[idx], len, p->now, d->hold_until) < 0) return -1;
  if (!r) return 0;
  r->at = ++d->n_out;
  r->end = d->sh.added;
  account(c, idx, r);
  fl_observed_frame wf = wire_frame(p, c, idx, r);
  fl_observe_frame(p->obs, &wf);
  if (r->h.type == FL_H2_SETTINGS && !(r->h.flags & FL_H2_FLAG_ACK)) {
    if (d->sq_count < sizeof d->sq / sizeof d->sq[0])
      d->sq[(d->sq_head + d->sq_count++) % (sizeof d->sq / sizeof d->sq[0])] =
          r->fate == FATE_INJECTED ? r->fault : -1;
  }
  return frecq_push(&d->recs, r);
}

/*
 * Walks a DATA frame's data through the stream's gRPC message framing in direction idx; if
 * `corrupt` is set and a message prefix lies whole in this frame, breaks the first one as
 * the action says and returns true. The framing follows the sender's real lengths.
 */
static bool grpc_walk(stream *st, int idx, uint8_t *data, size_t len, const fl_action *corrupt) {
  bool done = false;
  size_t pos = 0;
  while (pos < len) {
    if (st->need[idx]) {
      size_t take = len - pos < st->need[idx] ? len - pos : st->need[idx];
      st->need[idx] -= (uint32_t)take;
      pos += take;
      continue;
    }
    if (st->have[idx] == 0 && corrupt && !done && len - pos >= FL_GRPC_PREFIX_LEN) {
      fl_grpc_prefix pf;
      fl_grpc_prefix_parse(data + pos, &pf);
      if (corrupt->what == FL_CORRUPT_COMPRESSED_FLAG) {
        data[pos] = 1;
      } else {
        fl_grpc_prefix bad = {pf.compressed, corrupt->length_set ? corrupt->length : pf.length + 1};
        fl_grpc_prefix_pack(&bad, data + pos);
      }
      done = true;
      st->need[idx] = pf.length;
      pos += FL_GRPC_PREFIX_LEN;
      continue;
    }
    st->pfx[idx][st->have[idx]++] = data[pos++];
    if (st->have[idx] == FL_GRPC_PREFIX_LEN) {
      fl_grpc_prefix pf;
      fl_grpc_prefix_parse(st->pfx[idx], &pf);
      st->need[idx] = pf.length;
      st->have[idx] = 0;
    }
  }
  return done;
}

static void set_call_start(fl_proxy *p) {
  if (p->call_start_ns) return;
  p->call_start_ns = p->now;
  schedule_after(p, -1, p->now);
}

static void report_refusals(fl_proxy *p, conn *c) {
  if (c->refused_reported) return;
  c->refused_reported = true;
  for (size_t k = 0; k < p->nf; k++) {
    const fl_fault *f = &p->s->faults[k];
    if (fl_action_layer(f->action.kind) == FL_LAYER_FRAME || (f->trigger.wire && proxy_fault(f)))
      refuse(p, (int)k, c,
             "the connection does not speak h2c (TLS or another protocol): frame faults and "
             "wire triggers need HTTP/2 frames");
  }
}

static bool window_update_withheld(const withhold *w, const fl_h2_frame_header *h) {
  return w->active && (w->stream == FL_STREAM_ALL || w->stream == h->stream_id);
}

/*
 * The first half of taking a frame from side idx: its ordinal, what its payload says (when
 * it is all there), its count, and the wire triggers, which fire before anything of it is
 * forwarded. Returns -1 when a fault took the connection away.
 */
static int frame_head(fl_proxy *p, conn *c, int idx, const uint8_t *frame, frec *out) {
  dir *d = &c->d[idx];
  frec r = {.fault = -1};
  fl_h2_header_parse(frame, &r.h);
  const fl_h2_frame_header *h = &r.h;
  const uint8_t *pl = frame + FL_H2_FRAME_HEADER_LEN;
  r.n = ++d->n_in;
  switch (h->type) {
  case FL_H2_RST_STREAM:
    if (h->length >= 4) r.code = fl_be32(pl);
    break;
  case FL_H2_GOAWAY:
    if (h->length >= 8) {
      r.last_stream_id = fl_be32(pl) & FL_H2_STREAM_ID_MASK;
      r.code = fl_be32(pl + 4);
      size_t dl = h->length - 8;
      if (dl > sizeof r.debug - 1) dl = sizeof r.debug - 1;
      memcpy(r.debug, pl + 8, dl);
      r.debug[dl] = '\0';
      r.debug_len = dl;
    }
    break;
  case FL_H2_HEADERS:
  case FL_H2_PUSH_PROMISE:
  case FL_H2_CONTINUATION: hpack_frame(c, idx, &r, pl); break;
  case FL_H2_WINDOW_UPDATE:
    if (h->length >= 4) r.increment = fl_be32(pl) & FL_H2_STREAM_ID_MASK;
    break;
  case FL_H2_SETTINGS:
    for (uint32_t o = 0; o + 6 <= h->length && r.n_settings < 8; o += 6) {
      r.settings[r.n_settings].id = (uint16_t)(pl[o] << 8 | pl[o + 1]);
      r.settings[r.n_settings++].value = fl_be32(pl + o + 2);
    }
    break;
  default: break;
  }

  window_preview(c, idx, &r);
  if (wire_triggers(p, c, idx, &r) < 0) return -1;
  *out = r;
  return 0;
}

static void flush_pend(fl_proxy *p, conn *c, int idx);

/* Whether the proxy reset stream `id` toward direction idx's receiver (see take_frame). */
static bool stream_cut(conn *c, int idx, uint32_t id) {
  const stream *st = id ? stream_get(c, id, false) : NULL;
  return st && st->cut[idx];
}

/* Gives the sender of direction idx back `n` bytes of connection window with a WINDOW_UPDATE
 * as from the receiver, for DATA the proxy did not forward (the receiver would have). */
static void credit_sender(fl_proxy *p, conn *c, int idx, uint32_t n, int k) {
  uint8_t b[FL_H2_FRAME_HEADER_LEN + 4];
  fl_h2_frame_header fh = {4, FL_H2_WINDOW_UPDATE, 0, 0};
  fl_h2_header_pack(&fh, b);
  fl_put_be32(b + FL_H2_FRAME_HEADER_LEN, n);
  inject(p, c, 1 - idx, b, sizeof b, k);
}

/* One whole frame from side idx. Returns -1 when the connection went away under it. */
static int take_frame(fl_proxy *p, conn *c, int idx, uint8_t *frame) {
  dir *d = &c->d[idx];
  frec r;
  if (d->head_done) {
    r = d->head_rec;
    d->head_done = false;
  } else if (frame_head(p, c, idx, frame, &r) < 0) {
    return -1;
  }
  const fl_h2_frame_header *h = &r.h;
  uint8_t *pl = frame + FL_H2_FRAME_HEADER_LEN;
  size_t flen = FL_H2_FRAME_HEADER_LEN + h->length;
  /* A frame the receiver will not get has no frame event; one HPACK state can no longer be
   * followed once a header block went missing. */
  bool headers = h->type == FL_H2_HEADERS || h->type == FL_H2_CONTINUATION;
  if (d->fin_pending) {
    /* A close fault fired at this frame: the FIN goes after what was already on its way. */
    if (headers) c->hd_broken[idx] = true;
    return 0;
  }

  /* An ACK for a SETTINGS or PING the proxy injected: the other peer never sent it. */
  int absorbed = -1;
  if (h->type == FL_H2_SETTINGS && (h->flags & FL_H2_FLAG_ACK)) {
    dir *toward_me = &c->d[1 - idx];
    if (toward_me->sq_count) {
      absorbed = toward_me->sq[toward_me->sq_head];
      toward_me->sq_head =
          (toward_me->sq_head + 1) % (sizeof toward_me->sq / sizeof toward_me->sq[0]);
      toward_me->sq_count--;
    }
  } else if (h->type == FL_H2_PING && (h->flags & FL_H2_FLAG_ACK) && h->length == 8 &&
             !memcmp(pl, ping_magic, 4)) {
    absorbed = pl[4] << 8 | pl[5];
  }
  if (absorbed >= 0) {
    emit_fault(p, absorbed, "dropped", c, 0, h->type, r.n);
    return 0;
  }

  /* A stream the proxy reset toward this receiver is closed for it: the sender's later DATA,
   * RST_STREAM and WINDOW_UPDATE on it are not forwarded (RFC 9113 5.1: the receiver would
   * have to treat them as a stream error), and DATA's bytes are credited back to the sender
   * on the connection, as the receiver would have. Header blocks still go: the receiver's
   * HPACK state needs them. */
  if ((h->type == FL_H2_DATA || h->type == FL_H2_RST_STREAM || h->type == FL_H2_WINDOW_UPDATE) &&
      stream_cut(c, idx, h->stream_id)) {
    if (h->type == FL_H2_DATA && h->length) credit_sender(p, c, idx, h->length, -1);
    return 0;
  }

  /* Frame actions armed toward this direction's receiver. */
  stream *st = NULL;
  bool corrupted = false;
  for (size_t k = 0; k < p->nf; k++) {
    fault_rt *rt = &p->f[k];
    if (!rt->armed[idx]) continue;
    const fl_action *a = &p->s->faults[k].action;
    if (a->kind == FL_ACTION_DROP_FRAME && h->type == a->frame_type) {
      rt->armed[idx] = false;
      if (headers) c->hd_broken[idx] = true;
      /* Ordinal on the sender's leg: the receiver's never had it. */
      emit_fault(p, (int)k, "dropped", c, h->stream_id, h->type, r.n);
      return 0;
    }
    if (a->kind == FL_ACTION_DELAY_FRAME && h->type == a->frame_type) {
      rt->armed[idx] = false;
      d->hold_until = p->now + a->delay_ns;
      emit_fault(p, (int)k, "delayed", c, h->stream_id, h->type, d->n_out + 1);
      r.fault = (int)k;
      r.fate = FATE_DELAYED;
    }
    if (a->kind == FL_ACTION_CORRUPT && h->type == FL_H2_DATA && !corrupted) {
      size_t off = 0, dlen = h->length;
      if (h->flags & FL_H2_FLAG_PADDED) {
        if (!h->length || pl[0] + 1u > h->length) continue;
        off = 1;
        dlen = h->length - 1 - pl[0];
      }
      if (!(st = stream_get(c, h->stream_id, true))) return -1;
      if (grpc_walk(st, idx, pl + off, dlen, a)) {
        corrupted = true;
        rt->armed[idx] = false;
        emit_fault(p, (int)k, "corrupted", c, h->stream_id, h->type, d->n_out + 1);
        r.fault = (int)k;
        r.fate = FATE_CORRUPTED;
      } else {
        corrupted = true; /* walked: the framing is up to date; try again at the next frame */
      }
    }
  }
  if (h->type == FL_H2_WINDOW_UPDATE && window_update_withheld(&p->wh[idx], h)) {
    r.fault = p->wh[idx].fault;
    r.fate = FATE_DELAYED;
    if (pbuf_append(&d->held, frame, flen) < 0 || frecq_push(&d->held_recs, &r) < 0) return -1;
    return 0;
  }

  /* The proxy's view of the streams. */
  if (h->type == FL_H2_DATA && !corrupted && h->stream_id) {
    size_t off = 0, dlen = h->length;
    bool ok = true;
    if (h->flags & FL_H2_FLAG_PADDED) {
      ok = h->length && pl[0] + 1u <= h->length;
      off = 1;
      if (ok) dlen = h->length - 1 - pl[0];
    }
    if (ok && (st = stream_get(c, h->stream_id, true))) grpc_walk(st, idx, pl + off, dlen, NULL);
  }
  if (h->stream_id &&
      (h->type == FL_H2_HEADERS || h->type == FL_H2_DATA || h->type == FL_H2_RST_STREAM)) {
    if (!st) st = stream_get(c, h->stream_id, h->type == FL_H2_HEADERS);
    /* Streams a side opens: odd ids the client's, even ones the server's. */
    if (h->type == FL_H2_HEADERS && (h->stream_id & 1) == (idx == C2S) &&
        h->stream_id > c->max_stream[idx])
      c->max_stream[idx] = h->stream_id;
    if (st) {
      if (h->type == FL_H2_RST_STREAM) st->reset = true;
      if (h->flags & FL_H2_FLAG_END_STREAM && h->type != FL_H2_RST_STREAM) st->ended[idx] = true;
    }
  }

  if (deliver(p, c, idx, frame, flen, &r) < 0) return -1;
  if (h->type == FL_H2_HEADERS || h->type == FL_H2_PUSH_PROMISE)
    d->header_open = !(h->flags & FL_H2_FLAG_END_HEADERS);
  else if (h->type == FL_H2_CONTINUATION && (h->flags & FL_H2_FLAG_END_HEADERS))
    d->header_open = false;
  flush_pend(p, c, idx);
  if (idx == C2S && h->type == FL_H2_HEADERS) set_call_start(p);
  return 0;
}

/* Frames injected while a header block was open or a DATA frame was cut through go right
 * behind it. */
static void flush_pend(fl_proxy *p, conn *c, int idx) {
  dir *d = &c->d[idx];
  if (must_wait(d) || !pbuf_used(&d->pend)) return;
  size_t o = d->pend.off;
  for (frec *pr; (pr = frecq_front(&d->pend_recs));) {
    frec copy = *pr;
    frecq_pop(&d->pend_recs);
    size_t l = FL_H2_FRAME_HEADER_LEN + copy.h.length;
    if (deliver(p, c, idx, d->pend.p + o, l, &copy) < 0)
      fprintf(stderr, "faultline-proxy: out of memory delivering a frame\n");
    o += l;
  }
  d->pend.off = d->pend.len = 0;
}

/* A DATA frame may be forwarded as it arrives unless a frame action waits toward its
 * receiver (those need the whole frame). */
static bool may_cut(const fl_proxy *p, int idx) {
  for (size_t k = 0; k < p->nf; k++)
    if (p->f[k].armed[idx]) return false;
  return true;
}

/* Forwards `n` payload bytes of the DATA frame being cut through. */
static int cut_bytes(fl_proxy *p, conn *c, int idx, uint8_t *b, size_t n) {
  dir *d = &c->d[idx];
  stream *st = stream_get(c, d->cut_stream, true);
  if (st) grpc_walk(st, idx, b, n, NULL);
  if (deliver(p, c, idx, b, n, NULL) < 0) return -1;
  d->cut_left -= (uint32_t)n;
  if (!d->cut_left) flush_pend(p, c, idx);
  return 0;
}

/* Starts cutting through the DATA frame at b, of which n bytes (header included) are in. */
static int cut_start(fl_proxy *p, conn *c, int idx, uint8_t *b, size_t n, frec *r) {
  dir *d = &c->d[idx];
  const fl_h2_frame_header *h = &r->h;
  stream *st = stream_get(c, h->stream_id, true);
  if (st && (h->flags & FL_H2_FLAG_END_STREAM)) st->ended[idx] = true;
  r->at = ++d->n_out;
  r->end = d->sh.added + FL_H2_FRAME_HEADER_LEN + h->length;
  account(c, idx, r);
  fl_observed_frame wf = wire_frame(p, c, idx, r);
  fl_observe_frame(p->obs, &wf);
  if (frecq_push(&d->recs, r) < 0 || deliver(p, c, idx, b, FL_H2_FRAME_HEADER_LEN, NULL) < 0)
    return -1;
  d->cut_stream = h->stream_id;
  d->cut_left = h->length;
  return cut_bytes(p, c, idx, b + FL_H2_FRAME_HEADER_LEN, n - FL_H2_FRAME_HEADER_LEN);
}

static void go_raw(fl_proxy *p, conn *c) {
  for (int i = 0; i < 2; i++) {
    dir *d = &c->d[i];
    d->mode = MODE_RAW;
    if (pbuf_used(&d->pend))
      fprintf(stderr, "faultline-proxy: connection %d is not h2c: %zu injected frames not sent\n",
              c->id, d->pend_recs.count);
    d->pend.off = d->pend.len = 0;
    while (frecq_front(&d->pend_recs)) frecq_pop(&d->pend_recs);
  }
  set_call_start(p);
  report_refusals(p, c);
}

/* Takes what can be taken from direction idx's input. Returns -1 if the connection went. */
static int parse_input(fl_proxy *p, conn *c, int idx) {
  dir *d = &c->d[idx];
  while (pbuf_used(&d->in)) {
    if (d->fin_pending) {
      pbuf_consume(&d->in, pbuf_used(&d->in)); /* closed by a fault: nothing more goes */
      return 0;
    }
    uint8_t *b = d->in.p + d->in.off;
    size_t n = pbuf_used(&d->in);
    if (d->mode == MODE_DETECT) {
      if (idx == C2S) {
        size_t m = n < FL_H2_PREFACE_LEN ? n : FL_H2_PREFACE_LEN;
        if (memcmp(b, FL_H2_PREFACE, m)) {
          go_raw(p, c);
          continue;
        }
        if (n < FL_H2_PREFACE_LEN) return 0;
        d->mode = MODE_H2;
        if (deliver(p, c, idx, b, FL_H2_PREFACE_LEN, NULL) < 0) return -1;
        pbuf_consume(&d->in, FL_H2_PREFACE_LEN);
        continue;
      }
      if (n < FL_H2_FRAME_HEADER_LEN) return 0;
      fl_h2_frame_header h;
      fl_h2_header_parse(b, &h);
      if (h.type == FL_H2_SETTINGS && h.stream_id == 0 && !(h.flags & FL_H2_FLAG_ACK) &&
          h.length % 6 == 0 && c->d[C2S].mode != MODE_RAW) {
        d->mode = MODE_H2;
      } else {
        go_raw(p, c);
      }
      continue;
    }
    if (d->mode == MODE_RAW) {
      if (deliver(p, c, idx, b, n, NULL) < 0) return -1;
      pbuf_consume(&d->in, n);
      return 0;
    }
    if (d->cut_left) {
      size_t take = n < d->cut_left ? n : d->cut_left;
      pbuf_consume(&d->in, take);
      if (cut_bytes(p, c, idx, b, take) < 0) return -1;
      continue;
    }
    if (n < FL_H2_FRAME_HEADER_LEN) return 0;
    uint32_t len = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
    if (n < FL_H2_FRAME_HEADER_LEN + len) {
      /* C core allows frames of 4 MiB: a DATA frame is forwarded as it comes, so that the
       * proxy does not hold back megabytes (and the sender's window with them). Anything
       * else, and a DATA frame a fault waits for, is taken whole. */
      bool data = b[3] == FL_H2_DATA && !(b[4] & FL_H2_FLAG_PADDED);
      if (data && !d->head_done) {
        frec r;
        if (frame_head(p, c, idx, b, &r) < 0) return -1;
        if (d->fin_pending) continue; /* the frame goes with the rest of `in` */
        if (may_cut(p, idx) && !stream_cut(c, idx, r.h.stream_id)) {
          pbuf_consume(&d->in, n);
          if (cut_start(p, c, idx, b, n, &r) < 0) return -1;
          continue;
        }
        d->head_done = true;
        d->head_rec = r;
      }
      if (span_keep(d) < 0 || pbuf_reserve(&d->in, FL_H2_FRAME_HEADER_LEN + len - n) < 0) return -1;
      return 0;
    }
    /* Consumed first: take_frame may inject into this direction, but never reads `in`. */
    pbuf_consume(&d->in, FL_H2_FRAME_HEADER_LEN + len);
    if (take_frame(p, c, idx, b) < 0) return -1;
    if (c->closed) return -1;
  }
  return 0;
}

/* ---- I/O ------------------------------------------------------------------------------------ */

static void update_interest(fl_proxy *p, conn *c) {
  if (c->closed) return;
  for (int side = 0; side < 2; side++) {
    leg *l = side == C2S ? &c->cl : &c->sv;
    if (l->fd < 0) continue;
    dir *rd = &c->d[side], *wd = &c->d[1 - side];
    uint32_t ev = 0;
    bool can_read = !(side == S2C && c->connecting) && !rd->eof && !rd->read_stop &&
                    !p->blackhole[side] && !l->hup &&
                    pbuf_used(&rd->out) < HIGH_WATER + p->shape[side].buffer_bytes;
    if (can_read) ev |= EPOLLIN;
    if ((side == S2C && c->connecting) || wd->wblocked) ev |= EPOLLOUT;
    if (l->hup && !(ev & EPOLLOUT)) {
      /* A hung-up socket is reported for ever: keep it out of epoll until it can be used. */
      if (l->registered) {
        epoll_ctl(p->ep, EPOLL_CTL_DEL, l->fd, NULL);
        l->registered = false;
      }
      continue;
    }
    leg_set(p, l, ev);
  }
}

/* Writes what the shaper lets go in direction idx, then the FIN when it is due. */
static void flush_dir(fl_proxy *p, conn *c, int idx) {
  dir *d = &c->d[idx];
  int wfd = fd_of(c, 1 - idx);
  d->wake_ns = 0;
  if (c->closed || (idx == C2S && c->connecting) || wfd < 0) return;
  if (p->blackhole[idx]) return;
  d->wblocked = false;
  while (pbuf_used(&d->out) || d->span_len) {
    int64_t wake;
    uint64_t allowed = fl_shaper_allowed(&d->sh, &p->shape[idx], p->now, &wake);
    d->wake_ns = wake;
    if (!allowed) break;
    /* `out` first, then the span behind it. */
    bool from_out = pbuf_used(&d->out) > 0;
    const uint8_t *src = from_out ? d->out.p + d->out.off : d->span;
    size_t avail = from_out ? pbuf_used(&d->out) : d->span_len;
    if (allowed > avail) allowed = avail;
    ssize_t w = send(wfd, src, allowed, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        d->wblocked = true;
        break;
      }
      if (errno == EINTR) continue;
      /* The receiver is gone (RST): so is the connection, for the sender too. */
      conn_finish(p, c, close_reason_for(1 - idx, true), idx == C2S, idx == S2C);
      return;
    }
    if (from_out) {
      pbuf_consume(&d->out, (size_t)w);
    } else {
      d->span += w;
      d->span_len -= (size_t)w;
    }
    fl_shaper_sent(&d->sh, &p->shape[idx], (uint64_t)w, p->now);
    d->delivered += (uint64_t)w;
    for (frec *r; (r = frecq_front(&d->recs)) && r->end <= d->delivered;) {
      emit_frame(p, c, idx, r);
      frecq_pop(&d->recs);
    }
    if ((uint64_t)w < allowed) {
      d->wblocked = true;
      break;
    }
  }
  if (!pbuf_used(&d->out) && !d->span_len && (d->eof || d->fin_pending) && !d->fin_sent) {
    if (p->slow_close[idx] && !d->fin_at) d->fin_at = p->now + p->slow_close[idx];
    if (d->fin_at > p->now) {
      d->wake_ns = d->fin_at;
      return;
    }
    shutdown(wfd, SHUT_WR);
    d->fin_sent = true;
  }
}

static void service(fl_proxy *p, conn *c) {
  for (int i = 0; i < 2 && !c->closed; i++) flush_dir(p, c, i);
  if (c->closed) return;
  if (c->d[C2S].fin_sent && c->d[S2C].fin_sent) {
    int first = c->first_eof >= 0 ? c->first_eof : C2S;
    conn_finish(p, c, close_reason_for(first, false), false, false);
    return;
  }
  update_interest(p, c);
}

/* What a read left in the span is written now, as far as the receiver takes it, and the rest
 * copied into `out`: the next read moves `in`. Returns -1 if the connection went. */
static int settle(fl_proxy *p, conn *c, int idx) {
  dir *d = &c->d[idx];
  if (c->closed) return -1;
  if (!d->span_len) return 0;
  flush_dir(p, c, idx);
  if (c->closed) return -1;
  return span_keep(d);
}

/* Reads from side idx's socket. Returns -1 if the connection went. */
static int read_side(fl_proxy *p, conn *c, int idx, bool to_eof) {
  dir *d = &c->d[idx];
  int fd = fd_of(c, idx);
  /* A few reads a turn keep one busy sender from starving the others; a hung-up socket is
   * read to its end, since epoll will not report it again. */
  for (int round = 0; (to_eof || round < 4) && !d->eof; round++) {
    if (pbuf_reserve(&d->in, READ_CHUNK) < 0) return -1;
    ssize_t n = recv(fd, d->in.p + d->in.len, d->in.cap - d->in.len, 0);
    if (n > 0) {
      d->in.len += (size_t)n;
      int rc = parse_input(p, c, idx);
      if (settle(p, c, idx) < 0 || rc < 0) return -1;
      if ((size_t)n < READ_CHUNK / 2 && !to_eof) break;
      continue;
    }
    if (n == 0) {
      d->eof = true;
      if (c->first_eof < 0) c->first_eof = idx;
      /* What is left of a cut frame still goes: the receiver sees the stream as it was. */
      if (pbuf_used(&d->in)) {
        int rc = deliver(p, c, idx, d->in.p + d->in.off, pbuf_used(&d->in), NULL);
        pbuf_consume(&d->in, pbuf_used(&d->in));
        if (settle(p, c, idx) < 0 || rc < 0) return -1;
      }
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    /* The sender reset its leg: pass the RST on. */
    conn_finish(p, c, close_reason_for(idx, true), idx == S2C, idx == C2S);
    return -1;
  }
  return 0;
}

static void accept_conns(fl_proxy *p) {
  for (;;) {
    int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    conn *c = calloc(1, sizeof *c);
    int sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!c || sfd < 0) {
      fprintf(stderr, "faultline-proxy: cannot take a connection: %s\n", strerror(errno));
      close(fd);
      if (sfd >= 0) close(sfd);
      free(c);
      continue;
    }
    c->id = ++p->next_id;
    c->first_eof = -1;
    for (int i = 0; i < 2; i++) {
      c->conn_win[i] = c->init_win[i] = FL_H2_DEFAULT_WINDOW;
      c->block_status[i] = -1;
    }
    c->cl = (leg){.kind = LEG_CLIENT, .c = c, .fd = fd};
    c->sv = (leg){.kind = LEG_SERVER, .c = c, .fd = sfd};
    for (int i = 0; i < 2; i++) {
      c->d[i].idx = i;
      /* The same seed on every run: the same jitter. */
      fl_shaper_init(&c->d[i].sh, (uint64_t)c->id * 2 + (uint64_t)i + 1);
    }
    set_nodelay(fd);
    set_nodelay(sfd);
    c->next = p->conns;
    p->conns = c;
    kvb b = {.n = 0};
    kv(&b, FL_KV_I(CONN, c->id));
    emit(p, FL_EV_CONN_OPEN, &b);
    int rc = connect(sfd, (struct sockaddr *)&p->up, sizeof p->up);
    c->connecting = rc < 0 && errno == EINPROGRESS;
    if (rc < 0 && !c->connecting) {
      fprintf(stderr, "faultline-proxy: cannot connect upstream: %s\n", strerror(errno));
      conn_finish(p, c, "upstream_refused", false, false);
      continue;
    }
    /* path: reset and close hold for every connection: each is cut as it opens. */
    const fl_path_plan *pp = &p->s->path_plan;
    for (size_t i = 0; i < pp->n_faults && !c->closed; i++) {
      const fl_path_fault *pf = &pp->faults[i];
      if (pf->action.kind == FL_ACTION_RESET) conn_reset(p, c, pf->toward);
      for (int d = 0; d < 2 && pf->action.kind == FL_ACTION_CLOSE; d++) {
        if (!toward_dir(pf->toward, d)) continue;
        c->d[d].read_stop = true;
        c->d[d].fin_pending = true;
      }
    }
    if (!c->closed) service(p, c);
  }
}

static void connect_done(fl_proxy *p, conn *c) {
  int e = 0;
  socklen_t el = sizeof e;
  getsockopt(c->sv.fd, SOL_SOCKET, SO_ERROR, &e, &el);
  if (e) {
    fprintf(stderr, "faultline-proxy: cannot connect upstream: %s\n", strerror(e));
    conn_finish(p, c, "upstream_refused", false, false);
    return;
  }
  c->connecting = false;
}

static void leg_event(fl_proxy *p, leg *l, uint32_t events) {
  conn *c = l->c;
  if (c->closed) return;
  int side = l->kind == LEG_CLIENT ? C2S : S2C;
  if (side == S2C && c->connecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) connect_done(p, c);
    if (c->closed) return;
  }
  if (events & EPOLLERR) {
    int e = 0;
    socklen_t el = sizeof e;
    getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &e, &el);
    if (e) {
      conn_finish(p, c, close_reason_for(side, true), side == S2C, side == C2S);
      return;
    }
  }
  if (events & EPOLLHUP) l->hup = true;
  if (events & (EPOLLIN | EPOLLHUP)) {
    dir *d = &c->d[side];
    bool may = !d->read_stop && !p->blackhole[side];
    if (may && read_side(p, c, side, l->hup) < 0) return;
  }
  service(p, c);
}

/* ---- control and timers ------------------------------------------------------------------- */

static void control_line(fl_proxy *p, const char *line) {
  fl_control_verb verb;
  uint64_t k;
  bool ok = fl_control_parse(line, &verb, &k) == 0;
  if (ok && verb == FL_CONTROL_FIRE && k < p->nf) {
    if (!p->f[k].fired) fire_fault(p, (int)k, NULL, NULL, 0);
    return;
  }
  if (ok && verb == FL_CONTROL_SYNC) {
    /* Behind every event gathered so far in this turn and before it (event.h). */
    kvb b = {.n = 0};
    kv(&b, FL_KV_I(INDEX, (int64_t)k));
    emit(p, FL_EV_SYNCED, &b);
    return;
  }
  fprintf(stderr, "faultline-proxy: ignoring control line \"%s\"\n", line);
}

static void control_read(fl_proxy *p) {
  ssize_t n = read(p->control_fd, p->ctl + p->ctl_len, sizeof p->ctl - 1 - p->ctl_len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    p->done = true;
    return;
  }
  p->ctl_len += (size_t)n;
  p->ctl[p->ctl_len] = '\0';
  char *start = p->ctl, *nl;
  while ((nl = strchr(start, '\n'))) {
    *nl = '\0';
    control_line(p, start);
    start = nl + 1;
  }
  p->ctl_len -= (size_t)(start - p->ctl);
  memmove(p->ctl, start, p->ctl_len);
  if (p->ctl_len == sizeof p->ctl - 1) p->ctl_len = 0; /* a line too long: not ours */
}

/* Faults whose time has come, and withholding that has ended. */
static void timers(fl_proxy *p) {
  for (size_t k = 0; k < p->nf; k++) {
    if (!p->f[k].fired && p->f[k].due_ns && p->f[k].due_ns <= p->now)
      fire_fault(p, (int)k, NULL, NULL, 0);
  }
  for (int i = 0; i < 2; i++) {
    withhold *w = &p->wh[i];
    if (!w->active || w->until > p->now) continue;
    w->active = false;
    emit_fault(p, w->fault, "released", NULL, 0, -1, 0);
    for (conn *c = p->conns; c; c = c->next) {
      dir *d = &c->d[i];
      size_t o = d->held.off;
      for (frec *r; (r = frecq_front(&d->held_recs));) {
        frec copy = *r;
        frecq_pop(&d->held_recs);
        size_t l = FL_H2_FRAME_HEADER_LEN + copy.h.length;
        if (must_wait(d)) {
          if (pbuf_append(&d->pend, d->held.p + o, l) == 0 && frecq_push(&d->pend_recs, &copy) < 0)
            fprintf(stderr, "faultline-proxy: out of memory releasing a frame\n");
        } else {
          deliver(p, c, i, d->held.p + o, l, &copy);
        }
        o += l;
      }
      d->held.off = d->held.len = 0;
    }
  }
}

static int64_t next_wake(fl_proxy *p) {
  int64_t t = 0;
#define CONSIDER(x)                                                                                \
  do {                                                                                             \
    int64_t v_ = (x);                                                                              \
    if (v_ > 0 && (!t || v_ < t)) t = v_;                                                          \
  } while (0)
  for (size_t k = 0; k < p->nf; k++)
    if (!p->f[k].fired) CONSIDER(p->f[k].due_ns);
  for (int i = 0; i < 2; i++)
    if (p->wh[i].active && p->wh[i].until != INT64_MAX) CONSIDER(p->wh[i].until);
  for (conn *c = p->conns; c; c = c->next)
    for (int i = 0; i < 2; i++) CONSIDER(c->d[i].wake_ns);
#undef CONSIDER
  return t;
}

static void arm_timer(fl_proxy *p, int64_t at) {
  if (at == p->timer_at) return;
  struct itimerspec its = {0};
  if (at > 0) {
    its.it_value.tv_sec = at / 1000000000;
    its.it_value.tv_nsec = at % 1000000000;
  }
  timerfd_settime(p->tfd, TFD_TIMER_ABSTIME, &its, NULL);
  p->timer_at = at;
}

/* ---- the loop ------------------------------------------------------------------------------ */

int fl_proxy_run(fl_proxy *p, char *err, size_t errlen) {
  struct epoll_event evs[64];
  while (!p->done) {
    arm_timer(p, next_wake(p));
    events_flush(p);
    int n = epoll_wait(p->ep, evs, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fl_set_err(err, errlen, "epoll_wait: %s", strerror(errno));
      return -1;
    }
    p->now = fl_mono_ns();
    bool timer = false;
    for (int i = 0; i < n && !p->done; i++) {
      leg *l = evs[i].data.ptr;
      /* Fresh for each event: what one does is stamped as close to when it happened. */
      p->now = fl_mono_ns();
      switch (l->kind) {
      case LEG_LISTEN: accept_conns(p); break;
      case LEG_CONTROL: control_read(p); break;
      case LEG_TIMER: {
        uint64_t x;
        if (read(p->tfd, &x, sizeof x) < 0) { /* nothing to do: it was read already */
        }
        p->timer_at = -1;
        timer = true;
        break;
      }
      default: leg_event(p, l, evs[i].events); break;
      }
    }
    if (timer || p->nf) {
      timers(p);
    }
    if (timer) {
      for (conn *c = p->conns, *next; c; c = next) {
        next = c->next;
        service(p, c);
      }
    } else if (p->nf) {
      /* A fault fired in this turn may have touched any connection. */
      for (conn *c = p->conns, *next; c; c = next) {
        next = c->next;
        service(p, c);
      }
    }
    while (p->dead) {
      conn *c = p->dead;
      p->dead = c->next;
      conn_free(c);
    }
  }
  while (p->conns) conn_finish(p, p->conns, "end", false, false);
  while (p->dead) {
    conn *c = p->dead;
    p->dead = c->next;
    conn_free(c);
  }
  emit(p, FL_EV_DONE, NULL);
  events_flush(p);
  return 0;
}

int fl_proxy_new(const fl_proxy_options *opt, fl_proxy **out, char *err, size_t errlen) {
  *out = NULL;
  char host[64];
  const char *colon = strrchr(opt->upstream, ':');
  char *end;
  long port = colon ? strtol(colon + 1, &end, 10) : -1;
  if (!colon || colon == opt->upstream || (size_t)(colon - opt->upstream) >= sizeof host || *end ||
      port <= 0 || port > 65535) {
    fl_set_err(err, errlen, "--upstream must be HOST:PORT like 127.0.0.1:50051, not \"%s\"",
               opt->upstream);
    return -1;
  }
  snprintf(host, sizeof host, "%.*s", (int)(colon - opt->upstream), opt->upstream);
  fl_proxy *p = calloc(1, sizeof *p);
  if (!p) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  p->s = opt->scenario;
  p->events_fd = opt->events_fd;
  p->control_fd = opt->control_fd;
  p->ep = p->lfd = p->tfd = -1;
  p->firing = -1;
  p->up.sin_family = AF_INET;
  p->up.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &p->up.sin_addr) != 1) {
    fl_set_err(err, errlen, "--upstream: \"%s\" is not an IPv4 address", host);
    goto fail;
  }
  p->t0_ns = fl_mono_ns();
  fl_observe_config oc = {.scenario = p->s, .clock_shared = {true, true}, .t0_ns = p->t0_ns};
  if (!(p->obs = fl_observe_new(&oc))) {
    fl_set_err(err, errlen, "out of memory");
    goto fail;
  }
  fl_observe_wire_source(p->obs);
  p->nf = p->s->n_faults;
  p->f = calloc(p->nf ? p->nf : 1, sizeof *p->f);
  if (!p->f) {
    fl_set_err(err, errlen, "out of memory");
    goto fail;
  }
  /* path: holds from the start, for every connection. */
  const fl_path_plan *pp = &p->s->path_plan;
  for (size_t i = 0; i < pp->n_faults; i++) {
    const fl_action *a = &pp->faults[i].action;
    for (int d = 0; d < 2; d++) {
      if (!toward_dir(pp->faults[i].toward, d)) continue;
      fl_shape *s = &p->shape[d];
      switch (a->kind) {
      case FL_ACTION_LATENCY:
        s->latency_ns = a->delay_ns;
        s->jitter_ns = a->jitter_ns;
        break;
      case FL_ACTION_BANDWIDTH: s->rate = a->rate; break;
      case FL_ACTION_SLICE:
        s->slice_size = a->size;
        s->slice_delay_ns = a->delay_ns;
        break;
      case FL_ACTION_BUFFER:
        s->buffer_bytes = a->bytes;
        s->buffer_for_ns = a->for_ns;
        break;
      case FL_ACTION_SLOW_CLOSE: p->slow_close[d] = a->delay_ns; break;
      case FL_ACTION_BLACKHOLE: p->blackhole[d] = true; break;
      default: break; /* reset and close in path: act on each new connection (below) */
      }
    }
  }

  p->ep = epoll_create1(EPOLL_CLOEXEC);
  p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->ep < 0 || p->tfd < 0 || p->lfd < 0) {
    fl_set_err(err, errlen, "cannot set up the loop: %s", strerror(errno));
    goto fail;
  }
  int one = 1;
  setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(p->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(p->lfd, 1024) < 0 ||
      getsockname(p->lfd, (struct sockaddr *)&a, &al) < 0) {
    fl_set_err(err, errlen, "cannot listen on 127.0.0.1: %s", strerror(errno));
    goto fail;
  }
  p->port = ntohs(a.sin_port);
  set_nonblock(p->control_fd);
  p->listen_leg = (leg){.kind = LEG_LISTEN, .fd = p->lfd};
  p->control_leg = (leg){.kind = LEG_CONTROL, .fd = p->control_fd};
  p->timer_leg = (leg){.kind = LEG_TIMER, .fd = p->tfd};
  leg_set(p, &p->listen_leg, EPOLLIN);
  leg_set(p, &p->control_leg, EPOLLIN);
  leg_set(p, &p->timer_leg, EPOLLIN);
  if (!p->control_leg.registered) {
    fl_set_err(err, errlen, "the control fd %d cannot be watched: %s", p->control_fd,
               strerror(errno));
    goto fail;
  }
  kvb b = {.n = 0};
  kv(&b, FL_KV_I(PORT, p->port));
  emit(p, FL_EV_READY, &b);
  events_flush(p);
  *out = p;
  return 0;
fail:
  fl_proxy_free(p);
  return -1;
}

int fl_proxy_port(const fl_proxy *p) { return p->port; }

void fl_proxy_free(fl_proxy *p) {
  if (!p) return;
  while (p->conns) {
    conn *c = p->conns;
    p->conns = c->next;
    leg_close(p, &c->cl, false);
    leg_close(p, &c->sv, false);
    conn_free(c);
  }
  if (p->lfd >= 0) close(p->lfd);
  if (p->tfd >= 0) close(p->tfd);
  if (p->ep >= 0) close(p->ep);
  fl_observe_free(p->obs);
  free(p->f);
  free(p);
}
