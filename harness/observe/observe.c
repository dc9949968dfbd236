#include "observe.h"

#include <stdlib.h>
#include <string.h>

struct fl_observe {
  fl_observe_config cfg;
  fl_side_obs sides[FL_N_SIDES];
  int64_t now_ns;
  bool finished;
  fl_end_reason reason;
  int64_t elapsed_ns;
  bool capture_running;
  uint64_t capture_packets, capture_dropped;
  bool wire_source;
  int64_t wire_connections;
  int64_t proxy_last_event_ns;
  /* server: a graceful shutdown's deadline in model time, while it may still fire */
  int64_t shutdown_deadline_ns;
};

const char *fl_side_name(fl_side s) { return s == FL_SIDE_SERVER ? "server" : "client"; }
fl_side fl_side_of_scope(fl_scope scope) {
  return scope == FL_SCOPE_SERVER ? FL_SIDE_SERVER : FL_SIDE_CLIENT;
}
fl_scope fl_scope_of_side(fl_side s) {
  return s == FL_SIDE_SERVER ? FL_SCOPE_SERVER : FL_SCOPE_CLIENT;
}

static const char *const op_names[FL_N_OPS] = {"send", "recv", "close_send", "status"};
const char *fl_op_name(fl_op_kind k) { return (unsigned)k < FL_N_OPS ? op_names[k] : "?"; }
int fl_op_from_name(const char *name) {
  for (int i = 0; name && i < FL_N_OPS; i++)
    if (!strcmp(name, op_names[i])) return i;
  return -1;
}

static uint32_t calls_per_side(const fl_scenario *s) {
  return s && s->calls.count ? s->calls.count : s && s->streams ? s->streams : 1;
}

/* The calls a side has when all have come: the server takes `accept` of them when it says so. */
static uint32_t expected_calls(const fl_observe *o, fl_side side) {
  const fl_scenario *s = o->cfg.scenario;
  uint32_t n = o->sides[side].n_calls;
  if (side == FL_SIDE_SERVER && s && s->server.accept && s->server.accept < n)
    return s->server.accept;
  return n;
}

fl_observe *fl_observe_new(const fl_observe_config *cfg) {
  fl_observe *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  o->cfg = *cfg;
  o->shutdown_deadline_ns = -1;
  uint32_t n = calls_per_side(cfg->scenario);
  for (int i = 0; i < FL_N_SIDES; i++) {
    fl_side_obs *st = &o->sides[i];
    st->calls = calloc(n, sizeof *st->calls);
    if (!st->calls) {
      fl_observe_free(o);
      return NULL;
    }
    st->n_calls = n;
    const fl_side_plan *plan =
        i == FL_SIDE_SERVER ? &cfg->scenario->server : &cfg->scenario->client;
    st->n_waiting_at = plan->n_steps;
    if (!(st->waiting_at = calloc(plan->n_steps ? plan->n_steps : 1, sizeof *st->waiting_at))) {
      fl_observe_free(o);
      return NULL;
    }
    for (uint32_t c = 0; c < n; c++) {
      st->calls[c].step = -1;
      st->calls[c].waiting_barrier = -1;
    }
    st->furthest_step = -1;
    st->first_call_ns = -1;
    st->wire.window_zero_since = -1;
    st->proc.paused_since = -1;
    st->busy_at_ns = -1;
  }
  return o;
}

static void bytes_free(fl_bytes *b) {
  free(b->s);
  b->s = NULL;
  b->len = 0;
}

static void bytes_set(fl_bytes *b, const char *s, size_t len) {
  bytes_free(b);
  b->s = malloc(len + 1);
  if (!b->s) return; /* out of memory: the value reads as unknown */
  memcpy(b->s, s, len);
  b->s[len] = '\0';
  b->len = len;
}

void fl_observe_free(fl_observe *o) {
  if (!o) return;
  for (int i = 0; i < FL_N_SIDES; i++) {
    for (uint32_t c = 0; o->sides[i].calls && c < o->sides[i].n_calls; c++)
      free(o->sides[i].calls[c].message);
    free(o->sides[i].calls);
    free(o->sides[i].waiting_at);
    free(o->sides[i].cpu);
    bytes_free(&o->sides[i].status_message);
    bytes_free(&o->sides[i].headers);
    bytes_free(&o->sides[i].trailers);
    bytes_free(&o->sides[i].failure_message);
    bytes_free(&o->sides[i].error);
    bytes_free(&o->sides[i].wire.goaway_debug);
  }
  free(o);
}

/* ---- events ----------------------------------------------------------------------------- */

static fl_call_obs *call_of(fl_side_obs *st, const fl_event *ev) {
  int64_t n = fl_event_int(ev, FL_ATTR_CALL, 1);
  return n >= 1 && n <= st->n_calls ? &st->calls[n - 1] : &st->calls[0];
}

static void copy_text(char *dst, size_t len, const char *src) {
  snprintf(dst, len, "%s", src ? src : "");
}

static void op_event(fl_observe *o, fl_side_obs *st, fl_call_obs *c, const fl_event *ev, int64_t t,
                     bool start, bool after_deadline) {
  (void)o;
  int k = fl_op_from_name(fl_event_str(ev, FL_ATTR_OP));
  if (k < 0) return;
  fl_op_obs *op = &c->ops[k];
  if (start) {
    *op = (fl_op_obs){.pending = true,
                      .since_ns = t,
                      .sent_bytes_at_start = st->sent_bytes,
                      .step = c->step,
                      .bytes = fl_event_int(ev, FL_ATTR_BYTES, 0)};
    if (k == FL_OP_SEND && fl_event_int(ev, FL_ATTR_BYTES, 0) > st->largest_send)
      st->largest_send = fl_event_int(ev, FL_ATTR_BYTES, 0);
    if (k == FL_OP_CLOSE_SEND) st->close_send_issued = true;
    return;
  }
  int64_t pending_ns = fl_event_int(ev, FL_ATTR_US, 0) * 1000;
  if (k == FL_OP_SEND) {
    if (fl_event_int(ev, FL_ATTR_OK, 0) == 0 || after_deadline) st->sends_failed++;
    if (pending_ns > st->send_max_pending_ns) {
      st->send_max_pending_ns = pending_ns;
      st->send_stall_bytes = op->pending ? op->sent_bytes_at_start : st->sent_bytes;
    }
  }
  if (k == FL_OP_CLOSE_SEND && pending_ns > st->close_send_pending_ns)
    st->close_send_pending_ns = pending_ns;
  op->pending = false;
}

static void frame_event(fl_observe *o, const fl_event *ev, int64_t t) {
  const char *type = fl_event_str(ev, FL_ATTR_TYPE);
  const char *from = fl_event_str(ev, FL_ATTR_FROM);
  int ty = type ? fl_h2_frame_type_from_name(type) : -1;
  if (ty < 0 || !from) return;
  const char *debug = fl_event_str(ev, FL_ATTR_DEBUG);
  fl_observed_frame f = {
      .t_ns = t,
      .from = !strcmp(from, "server") ? FL_SIDE_SERVER : FL_SIDE_CLIENT,
      .conn = (uint32_t)fl_event_int(ev, FL_ATTR_CONN, 1),
      .type = (uint8_t)ty,
      .flags = (uint8_t)fl_event_int(ev, FL_ATTR_FLAGS, 0),
      .stream_id = (uint32_t)fl_event_int(ev, FL_ATTR_STREAM, 0),
      .length = (uint32_t)fl_event_int(ev, FL_ATTR_LEN, 0),
      .has_code = fl_event_has(ev, FL_ATTR_CODE),
      .code = (uint32_t)fl_event_int(ev, FL_ATTR_CODE, 0),
      .last_stream_id = (uint32_t)fl_event_int(ev, FL_ATTR_LAST_STREAM_ID, 0),
      .debug = debug,
      .debug_len = debug ? ev->str_len[FL_ATTR_DEBUG] : 0,
      .has_grpc_status = fl_event_has(ev, FL_ATTR_GRPC_STATUS),
      .grpc_status = (int)fl_event_int(ev, FL_ATTR_GRPC_STATUS, 0),
      .has_window = fl_event_has(ev, FL_ATTR_WINDOW),
      .window = fl_event_int(ev, FL_ATTR_WINDOW, 0),
  };
  fl_observe_frame(o, &f);
}

/* Call c waits at the barrier of step `index` now (-1: at none); st->waiting_at follows. */
static void set_waiting(fl_side_obs *st, fl_call_obs *c, int index) {
  if (c->waiting_barrier >= 0 && (size_t)c->waiting_barrier < st->n_waiting_at)
    st->waiting_at[c->waiting_barrier]--;
  c->waiting_barrier = index;
  if (index >= 0 && (size_t)index < st->n_waiting_at) st->waiting_at[index]++;
}

static void peer_event(fl_observe *o, fl_side side, const fl_event *ev, int64_t t) {
  fl_side_obs *st = &o->sides[side];
  fl_call_obs *c = call_of(st, ev);
  bool client = side == FL_SIDE_CLIENT;
  /* The deadline rule (observe.h): what the peer reports from its deadline on is the
   * deadline's doing. */
  bool after_deadline = c->deadline_stamp > 0 && ev->stamp_ns >= c->deadline_stamp;
  st->last_event_ns = t;

  switch (ev->id) {
  case FL_EV_READY:
    st->ready = true;
    st->port = (int)fl_event_int(ev, FL_ATTR_PORT, 0);
    if (fl_event_has(ev, FL_ATTR_RECV_LIMIT)) {
      st->have_recv_limit = true;
      st->recv_limit = fl_event_int(ev, FL_ATTR_RECV_LIMIT, 0);
    }
    break;
  case FL_EV_CALL_START:
    if (!c->started) {
      c->started = true;
      c->start_ns = t;
      c->start_stamp = ev->stamp_ns;
      c->channel = (uint32_t)fl_event_int(ev, FL_ATTR_CHANNEL, 1);
      if (c->channel > st->channels) st->channels = c->channel;
      if (st->first_call_ns < 0) st->first_call_ns = t;
      int64_t at = fl_event_int(ev, FL_ATTR_DEADLINE_AT, 0);
      if (client && at > 0) {
        c->deadline_stamp = at;
        c->deadline_ns = o->cfg.clock_shared[side]
                             ? at - o->cfg.t0_ns
                             : t + (o->cfg.scenario ? o->cfg.scenario->deadline_ns : 0);
      }
    }
    st->calls_started++;
    if (st->calls_started - st->calls_ended > st->max_open)
      st->max_open = st->calls_started - st->calls_ended;
    break;
  case FL_EV_HEADERS: {
    if (after_deadline) break; /* C core ended the wait: the call is over */
    const char *md = fl_event_str(ev, FL_ATTR_METADATA);
    if (!c->headers) st->headers_received++;
    c->headers = true;
    bytes_set(&st->headers, md ? md : "", md ? ev->str_len[FL_ATTR_METADATA] : 0);
    break;
  }
  case FL_EV_CLOSE_CHANNEL: st->channels_closed++; break;
  case FL_EV_METADATA_DEADLINE: break; /* for the timeline: what it led to is the call's status */
  case FL_EV_STEP: {
    int idx = (int)fl_event_int(ev, FL_ATTR_INDEX, -1);
    c->step = idx;
    c->step_start_ns = t;
    if (idx > st->furthest_step) st->furthest_step = idx;
    break;
  }
  case FL_EV_OP_START: op_event(o, st, c, ev, t, true, after_deadline); break;
  case FL_EV_OP_DONE: op_event(o, st, c, ev, t, false, after_deadline); break;
  case FL_EV_SENT:
    if (after_deadline) break;
    st->sent++;
    st->sent_bytes += fl_event_int(ev, FL_ATTR_BYTES, 0);
    st->nulls_sent += fl_event_int(ev, FL_ATTR_NULLS, 0);
    copy_text(st->last_sent_hash, sizeof st->last_sent_hash, fl_event_str(ev, FL_ATTR_HASH));
    break;
  case FL_EV_RECV: {
    st->recv++;
    st->recv_bytes += fl_event_int(ev, FL_ATTR_BYTES, 0);
    st->nulls_received += fl_event_int(ev, FL_ATTR_NULLS, 0);
    st->fields_received += fl_event_int(ev, FL_ATTR_FIELDS, 0);
    const char *error = fl_event_str(ev, FL_ATTR_ERROR);
    if (fl_event_int(ev, FL_ATTR_DECODED, 1) == 0)
      st->decode_errors++;
    else if (error && !strcmp(error, "invalid_utf8"))
      st->invalid_utf8++;
    if (error) copy_text(st->last_decode_error, sizeof st->last_decode_error, error);
    copy_text(st->last_recv_hash, sizeof st->last_recv_hash, fl_event_str(ev, FL_ATTR_HASH));
    break;
  }
  case FL_EV_RECV_END: st->recv_end = true; break;
  case FL_EV_HALF_CLOSE:
    if (!after_deadline) st->half_closed = true;
    break;
  case FL_EV_CANCEL:
    if (!st->have_cancel) {
      st->have_cancel = true;
      st->cancel_ns = t;
    }
    break;
  case FL_EV_STATUS: {
    const char *msg = fl_event_str(ev, FL_ATTR_MESSAGE);
    st->status_code = (int)fl_event_int(ev, FL_ATTR_CODE, 0);
    if (st->status_code >= 0 && st->status_code < FL_N_STATUS) st->status_count[st->status_code]++;
    if (!st->have_first_status) {
      st->have_first_status = true;
      st->first_status = st->status_code;
    }
    bytes_set(&st->status_message, msg ? msg : "", msg ? ev->str_len[FL_ATTR_MESSAGE] : 0);
    const char *md = fl_event_str(ev, FL_ATTR_METADATA);
    bytes_set(&st->trailers, md ? md : "", md ? ev->str_len[FL_ATTR_METADATA] : 0);
    if (st->status_code != 0)
      bytes_set(&st->failure_message, msg ? msg : "", msg ? ev->str_len[FL_ATTR_MESSAGE] : 0);
    st->status_ns = t;
    c->have_status = true;
    c->status = st->status_code;
    free(c->message);
    c->message = st->status_code != 0
                     ? strndup(msg ? msg : "", msg ? ev->str_len[FL_ATTR_MESSAGE] : 0)
                     : NULL;
    if (client) {
      c->ended = true;
      c->end_ns = t;
      c->end_stamp = ev->stamp_ns;
      st->calls_ended++;
      if (st->status_code == 0)
        st->calls_ok++;
      else
        st->calls_failed++;
      st->have_status = st->calls_ended >= expected_calls(o, side);
    } else {
      st->have_status = true;
    }
    break;
  }
  case FL_EV_CANCELLED: {
    bool value = fl_event_int(ev, FL_ATTR_VALUE, 0) != 0;
    c->ended = true;
    c->cancelled = value;
    c->end_ns = t;
    c->end_stamp = ev->stamp_ns;
    st->calls_ended++;
    if (!value)
      st->calls_ok++;
    else
      st->calls_failed++;
    st->cancelled = st->cancelled || value;
    st->have_cancelled = st->calls_ended >= expected_calls(o, side);
    st->closed_ns = t;
    break;
  }
  case FL_EV_WAIT: set_waiting(st, c, (int)fl_event_int(ev, FL_ATTR_INDEX, -1)); break;
  case FL_EV_ARRIVE:
    if (fl_event_int(ev, FL_ATTR_INDEX, -1) == c->waiting_barrier) set_waiting(st, c, -1);
    break;
  case FL_EV_STOP_READING: st->reading_stopped = true; break;
  case FL_EV_RESUME_READING: st->reading_stopped = false; break;
  case FL_EV_SHUTDOWN_START:
    st->shutdown_started = true;
    st->shutdown_start_stamp = ev->stamp_ns;
    if (fl_event_has(ev, FL_ATTR_DEADLINE_MS))
      o->shutdown_deadline_ns = t + fl_event_int(ev, FL_ATTR_DEADLINE_MS, 0) * 1000000;
    break;
  case FL_EV_SHUTDOWN_CANCEL:
    st->shutdown_forced = true;
    o->shutdown_deadline_ns = -1;
    break;
  case FL_EV_SHUTDOWN_DONE:
    st->shutdown_done = true;
    st->shutdown_done_stamp = ev->stamp_ns;
    o->shutdown_deadline_ns = -1;
    break;
  case FL_EV_DONE:
    st->done = true;
    for (uint32_t i = 0; i < st->n_calls; i++) st->calls[i].step = -1;
    break;
  case FL_EV_ERROR: {
    const char *msg = fl_event_str(ev, FL_ATTR_MESSAGE);
    if (msg)
      bytes_set(&st->error, msg, ev->str_len[FL_ATTR_MESSAGE]);
    else
      bytes_set(&st->error, "unknown error", 13);
    break;
  }
  case FL_EV_BACKGROUND_END:
  case FL_EV_DUMP: /* the runner acts on these; they change no field */ break;
  /* The proxy's and the runner's own events do not come from a peer. */
  case FL_EV_CONN_OPEN:
  case FL_EV_CONN_CLOSE:
  case FL_EV_SYNCED:
  case FL_EV_FRAME:
  case FL_EV_FAULT:
  case FL_EV_SPAWN:
  case FL_EV_EXIT:
  case FL_EV_CAPTURE:
  case FL_EV_RELEASE:
  case FL_EV_FIRE:
  case FL_EV_CLOCK_JUMP:
  case FL_EV_HANG:
  case FL_EV_BUSY:
  case FL_EV_TIMEOUT:
  case FL_EV_INTERRUPT:
  case FL_EV_PROTOCOL_ERROR:
  case FL_EV_END:
  case FL_N_EVENTS: break;
  }
}

int64_t fl_observe_event(fl_observe *o, unsigned source, const fl_event *ev, int64_t arrival_ns) {
  fl_side side = source == FL_FROM_SERVER ? FL_SIDE_SERVER : FL_SIDE_CLIENT;
  bool shared = source == FL_FROM_PROXY || o->cfg.clock_shared[side];
  int64_t t = shared ? ev->stamp_ns - o->cfg.t0_ns : arrival_ns;
  if (source == FL_FROM_PROXY) {
    o->proxy_last_event_ns = t;
    o->wire_source = true;
    int64_t conn = fl_event_int(ev, FL_ATTR_CONN, 0);
    if (ev->id == FL_EV_CONN_OPEN && conn > o->wire_connections) o->wire_connections = conn;
    if (ev->id == FL_EV_FRAME) frame_event(o, ev, t);
    return t;
  }
  peer_event(o, side, ev, t);
  return t;
}

/* ---- the wire --------------------------------------------------------------------------- */

void fl_observe_wire_source(fl_observe *o) { o->wire_source = true; }
bool fl_observe_has_wire_source(const fl_observe *o) { return o->wire_source; }

void fl_observe_frame(fl_observe *o, const fl_observed_frame *f) {
  o->wire_source = true;
  if (f->conn > o->wire_connections) o->wire_connections = f->conn;
  fl_wire_obs *w = &o->sides[f->from].wire;
  w->seen = true;
  if (f->type < FL_H2_N_FRAME_TYPES) w->frames[f->type]++;
  if (f->flags & FL_H2_FLAG_END_STREAM && (f->type == FL_H2_DATA || f->type == FL_H2_HEADERS))
    w->end_stream = true;
  if (f->type == FL_H2_RST_STREAM && f->has_code) {
    w->have_rst_code = true;
    w->rst_code = f->code;
  }
  if (f->type == FL_H2_GOAWAY) {
    w->have_goaway = true;
    w->goaway_code = f->code;
    w->goaway_last_stream_id = f->last_stream_id;
    bytes_set(&w->goaway_debug, f->debug ? f->debug : "", f->debug ? f->debug_len : 0);
  }
  if (f->has_grpc_status) {
    w->have_trailers_status = true;
    w->trailers_status = f->grpc_status;
  }
  if (f->has_window) {
    if (!w->have_window || f->window < w->window_min) w->window_min = f->window;
    w->have_window = true;
    if (f->window <= 0 && w->window_zero_since < 0) w->window_zero_since = f->t_ns;
    if (f->window > 0 && w->window_zero_since >= 0) {
      if (f->t_ns - w->window_zero_since > w->window_zero_max)
        w->window_zero_max = f->t_ns - w->window_zero_since;
      w->window_zero_since = -1;
    }
  }
}

/* ---- process faults --------------------------------------------------------------------- */

void fl_observe_fault_signal(fl_observe *o, fl_side side) { o->sides[side].proc.fault_sent = true; }

void fl_observe_paused(fl_observe *o, fl_side side, bool paused, int64_t at_ns) {
  fl_side_obs *st = &o->sides[side];
  if (paused && st->proc.paused_since < 0) st->proc.paused_since = at_ns;
  if (!paused && st->proc.paused_since >= 0) {
    st->proc.paused_ns += at_ns - st->proc.paused_since;
    st->proc.paused_since = -1;
    st->last_event_ns = at_ns; /* continuing is progress: the quiet starts now */
  }
}

void fl_observe_restarted(fl_observe *o, fl_side side) {
  fl_side_obs *st = &o->sides[side];
  int restarts = st->proc.restarts + 1;
  int64_t paused = st->proc.paused_ns;
  st->proc = (fl_process_obs){.restarts = restarts, .paused_ns = paused, .paused_since = -1};
  st->ready = false;
  for (uint32_t i = 0; i < st->n_calls; i++) {
    free(st->calls[i].message);
    st->calls[i] = (fl_call_obs){.step = -1, .waiting_barrier = -1};
  }
  memset(st->waiting_at, 0, st->n_waiting_at * sizeof *st->waiting_at);
  st->calls_started = st->calls_ended = 0;
  st->have_status = st->have_cancelled = false;
  st->done = false;
}

/* ---- external sides --------------------------------------------------------------------- */

void fl_observe_external(fl_observe *o, fl_side side) {
  o->sides[side].external = true;
  /* No event pipe: nothing is left to read once it exits. */
  o->sides[side].proc.events_closed = true;
}

void fl_observe_ready(fl_observe *o, fl_side side, int port) {
  o->sides[side].ready = true;
  o->sides[side].port = port;
}

void fl_observe_wire_messages(fl_observe *o, fl_side side, int64_t sent, int64_t recv) {
  fl_side_obs *st = &o->sides[side];
  st->have_messages = true;
  st->messages_sent = sent;
  st->messages_recv = recv;
}

/* ---- processes, samples, the end -------------------------------------------------------- */

void fl_observe_spawned(fl_observe *o, fl_side side, pid_t pid) {
  o->sides[side].proc.spawned = true;
  o->sides[side].proc.pid = pid;
}

void fl_observe_exited(fl_observe *o, fl_side side, int exit_code, int term_signal,
                       long peak_rss_kib) {
  fl_process_obs *p = &o->sides[side].proc;
  p->exited = true;
  p->fault_ended = p->fault_sent;
  p->exit_code = exit_code;
  p->term_signal = term_signal;
  p->peak_rss_kib = peak_rss_kib;
}

void fl_observe_ending(fl_observe *o, fl_side side) {
  fl_process_obs *p = &o->sides[side].proc;
  if (p->spawned && !p->exited) p->ended_by_runner = true;
}

void fl_observe_events_closed(fl_observe *o, fl_side side) {
  o->sides[side].proc.events_closed = true;
}

void fl_observe_sample(fl_observe *o, fl_side side, int64_t at_ns, int64_t rss_kib, int64_t threads,
                       int64_t fds, int64_t cpu_ns, bool baseline) {
  fl_side_obs *st = &o->sides[side];
  if (cpu_ns >= 0) {
    if (st->n_cpu == st->cap_cpu) {
      size_t cap = st->cap_cpu ? 2 * st->cap_cpu : 64;
      void *grown = realloc(st->cpu, cap * sizeof *st->cpu);
      if (grown) {
        st->cpu = grown;
        st->cap_cpu = cap;
      }
    }
    if (st->n_cpu < st->cap_cpu) {
      st->cpu[st->n_cpu].t_ns = at_ns;
      st->cpu[st->n_cpu].cpu_ns = cpu_ns;
      st->n_cpu++;
    }
  }
  if (baseline || st->samples.n == 0) st->samples.baseline_rss_kib = rss_kib;
  st->samples.n++;
  st->samples.last_rss_kib = rss_kib;
  if (rss_kib > st->samples.peak_rss_kib) st->samples.peak_rss_kib = rss_kib;
  if (threads > st->samples.max_threads) st->samples.max_threads = threads;
  if (fds > st->samples.max_fds) st->samples.max_fds = fds;
}

void fl_observe_socket(fl_observe *o, fl_side side, int64_t unsent, int64_t unread) {
  fl_wire_obs *w = &o->sides[side].wire;
  w->have_socket = true;
  if (unsent > w->socket_unsent_max) w->socket_unsent_max = unsent;
  if (unread > w->socket_unread_max) w->socket_unread_max = unread;
}

void fl_observe_capture(fl_observe *o, bool running, uint64_t packets, uint64_t dropped) {
  o->capture_running = running;
  o->capture_packets = packets;
  o->capture_dropped = dropped;
}

void fl_observe_set_now(fl_observe *o, int64_t now_ns) {
  if (!o->finished) o->now_ns = now_ns;
}

void fl_observe_end(fl_observe *o, fl_end_reason reason, int64_t elapsed_ns) {
  /* No call starts any more: a side whose started calls all ended is over (observe.h, CALLS). */
  for (int i = 0; i < FL_N_SIDES; i++) {
    fl_side_obs *st = &o->sides[i];
    if (st->external || st->calls_started == 0 || st->calls_ended < st->calls_started) continue;
    if (i == FL_SIDE_CLIENT)
      st->have_status = true;
    else
      st->have_cancelled = true;
  }
  o->finished = true;
  o->reason = reason;
  o->elapsed_ns = elapsed_ns;
  o->now_ns = elapsed_ns;
}

/* ---- queries ---------------------------------------------------------------------------- */

const fl_side_obs *fl_observe_side(const fl_observe *o, fl_side side) { return &o->sides[side]; }
bool fl_observe_finished(const fl_observe *o) { return o->finished; }
int64_t fl_observe_elapsed(const fl_observe *o) { return o->finished ? o->elapsed_ns : o->now_ns; }

fl_outcome fl_observe_outcome(const fl_observe *o) {
  if (o->finished) {
    switch (o->reason) {
    case FL_END_INTERRUPTED: return FL_OUTCOME_INTERRUPTED;
    case FL_END_TIMEOUT: {
      int64_t hang_after = o->cfg.scenario ? o->cfg.scenario->hang_after_ns : 0;
      for (int i = 0; i < FL_N_SIDES; i++)
        if (o->sides[i].busy_at_ns >= 0 && o->sides[i].busy_at_ns >= o->elapsed_ns - hang_after)
          return FL_OUTCOME_BUSY;
      return FL_OUTCOME_TIMEOUT;
    }
    case FL_END_HANG: return FL_OUTCOME_HANG;
    case FL_END_FINISHED:
    case FL_END_ERROR: break;
    }
  }
  for (int i = 0; i < FL_N_SIDES; i++) {
    const fl_process_obs *p = &o->sides[i].proc;
    /* An external program's non-zero exit is its way to report; only a signal is a crash. */
    bool failed = p->term_signal || (p->exit_code != 0 && !o->sides[i].external);
    if (p->exited && !p->ended_by_runner && !p->fault_ended && failed) return FL_OUTCOME_CRASH;
  }
  return FL_OUTCOME_COMPLETED;
}

int fl_observe_waiting_barrier(const fl_observe *o, fl_side side) {
  const fl_side_obs *st = &o->sides[side];
  for (size_t i = 0; i < st->n_waiting_at; i++)
    if (st->waiting_at[i]) return (int)i;
  return -1;
}

uint32_t fl_observe_waiting_at(const fl_observe *o, fl_side side, size_t index) {
  const fl_side_obs *st = &o->sides[side];
  return index < st->n_waiting_at ? st->waiting_at[index] : 0;
}

bool fl_observe_call_open(const fl_observe *o) {
  const fl_side_obs *c = &o->sides[FL_SIDE_CLIENT], *s = &o->sides[FL_SIDE_SERVER];
  return (c->calls_started > 0 && !c->have_status && !c->proc.exited) ||
         (s->calls_started > s->calls_ended && !s->proc.exited);
}

bool fl_observe_complete(const fl_observe *o) {
  const fl_side_obs *c = &o->sides[FL_SIDE_CLIENT], *s = &o->sides[FL_SIDE_SERVER];
  if (!c->proc.exited || !c->proc.events_closed) return false;
  /* With the client gone no call comes any more: the server's are over once each that
   * started ended (a restarted server, or one with `accept`, saw fewer than the client made). */
  return s->proc.exited || s->have_cancelled || s->calls_ended >= s->calls_started;
}

/* The earliest timer still ahead (INT64_MAX if none) and, in *last_fired, the latest past. */
static int64_t next_timer(const fl_observe *o, int64_t now, int64_t *last_fired) {
  int64_t next = INT64_MAX;
  *last_fired = 0;
  const fl_scenario *sc = o->cfg.scenario;
#define CONSIDER(at)                                                                               \
  do {                                                                                             \
    int64_t at_ = (at);                                                                            \
    if (at_ > now && at_ < next) next = at_;                                                       \
    if (at_ <= now && at_ > *last_fired) *last_fired = at_;                                        \
  } while (0)
  for (int i = 0; i < FL_N_SIDES; i++) {
    const fl_side_obs *st = &o->sides[i];
    if (st->proc.exited) continue;
    const fl_side_plan *plan = !sc ? NULL : i == FL_SIDE_SERVER ? &sc->server : &sc->client;
    for (uint32_t k = 0; k < st->n_calls; k++) {
      const fl_call_obs *c = &st->calls[k];
      if (plan && c->step >= 0 && (size_t)c->step < plan->n_steps &&
          plan->steps[c->step].kind == FL_STEP_SLEEP)
        CONSIDER(c->step_start_ns + plan->steps[c->step].duration_ns);
      if (c->deadline_ns > 0 && !c->ended) CONSIDER(c->deadline_ns);
    }
  }
  if (o->shutdown_deadline_ns >= 0 && !o->sides[FL_SIDE_SERVER].proc.exited)
    CONSIDER(o->shutdown_deadline_ns);
  /* The client's next call, while calls come `every` D (calls.h). */
  const fl_side_obs *cl = &o->sides[FL_SIDE_CLIENT];
  if (sc && sc->calls.every_ns > 0 && cl->first_call_ns >= 0 && !cl->proc.exited &&
      cl->calls_started < (int64_t)cl->n_calls)
    CONSIDER(cl->first_call_ns + cl->calls_started * sc->calls.every_ns);
#undef CONSIDER
  return next;
}

/* The longest pause the steps a side has begun build in between two of its events: a send's
 * interval, a slow reader's delay. Such steps may go on in the background after the script
 * moved past them, so every step begun so far counts. */
static int64_t pacing_ns(const fl_side_obs *st, const fl_side_plan *plan) {
  int64_t longest = 0;
  for (int k = 0; plan && k <= st->furthest_step && (size_t)k < plan->n_steps; k++) {
    const fl_step *step = &plan->steps[k];
    int64_t pause = step->kind == FL_STEP_SEND   ? step->interval_ns
                    : step->kind == FL_STEP_RECV ? step->delay_ns
                                                 : 0;
    if (pause > longest) longest = pause;
  }
  return longest;
}

/* Since when nothing happened: the last event of any source, the last timer that fired, the
 * last time a side was found busy. */
static int64_t quiet_since(const fl_observe *o, int64_t last_fired) {
  int64_t since = last_fired;
  for (int i = 0; i < FL_N_SIDES; i++) {
    if (o->sides[i].last_event_ns > since) since = o->sides[i].last_event_ns;
    if (o->sides[i].busy_at_ns > since) since = o->sides[i].busy_at_ns;
  }
  if (o->proxy_last_event_ns > since) since = o->proxy_last_event_ns;
  return since;
}

bool fl_observe_busy(const fl_observe *o, fl_side side, int64_t *cpu_ns, int64_t *window_ns) {
  const fl_side_obs *st = &o->sides[side];
  *cpu_ns = *window_ns = 0;
  if (st->n_cpu < 2) return false;
  int64_t last_fired;
  next_timer(o, o->now_ns, &last_fired);
  int64_t since = quiet_since(o, last_fired);
  /* From the latest sample taken when it went quiet (or the first one) to the latest. */
  size_t from = 0;
  for (size_t i = 0; i < st->n_cpu; i++)
    if (st->cpu[i].t_ns <= since) from = i;
  *window_ns = st->cpu[st->n_cpu - 1].t_ns - st->cpu[from].t_ns;
  *cpu_ns = st->cpu[st->n_cpu - 1].cpu_ns - st->cpu[from].cpu_ns;
  /* A waiting peer uses next to nothing (C core's timer threads wake rarely); a quarter of a core
   * still counts as busy on a loaded machine where a spinning thread gets only its share. */
  return *window_ns > 0 && 4 * *cpu_ns >= *window_ns;
}

void fl_observe_busy_seen(fl_observe *o, fl_side side, int64_t at_ns) {
  o->sides[side].busy_at_ns = at_ns;
}

int64_t fl_observe_hang_at(const fl_observe *o) {
  if (!fl_observe_call_open(o)) return INT64_MAX;
  /* A side a pause fault stopped is no hang of the scenario. */
  for (int i = 0; i < FL_N_SIDES; i++)
    if (o->sides[i].proc.paused_since >= 0) return INT64_MAX;
  int64_t last_fired, next = next_timer(o, o->now_ns, &last_fired);
  if (next != INT64_MAX) return next;
  const fl_scenario *sc = o->cfg.scenario;
  int64_t since = quiet_since(o, last_fired);
  int64_t pacing = 0;
  for (int i = 0; sc && i < FL_N_SIDES; i++) {
    int64_t p = pacing_ns(&o->sides[i], i == FL_SIDE_SERVER ? &sc->server : &sc->client);
    if (p > pacing) pacing = p;
  }
  return since + (sc ? sc->hang_after_ns : 0) + pacing;
}

/* ---- fields ----------------------------------------------------------------------------- */

static fl_value val(fl_value_type t, bool known, int64_t i) {
  return (fl_value){.type = t, .known = known, .i = i};
}

static fl_value str(bool known, const char *s) {
  return (fl_value){.type = FL_VAL_STRING, .known = known && s, .s = s};
}

/* The longest any op of `kind` stayed pending: the longest completed (`done_ns`), or one still
 * pending as of now, whichever is longer; `bytes` gets the sent_bytes when it began. */
static int64_t longest_pending(const fl_observe *o, const fl_side_obs *st, fl_op_kind kind,
                               int64_t done_ns, int64_t done_bytes, int64_t *bytes, bool *any) {
  int64_t longest = done_ns;
  *bytes = done_bytes;
  for (uint32_t i = 0; i < st->n_calls; i++) {
    const fl_op_obs *op = &st->calls[i].ops[kind];
    if (!op->pending) continue;
    *any = true;
    if (o->now_ns - op->since_ns > longest) {
      longest = o->now_ns - op->since_ns;
      *bytes = op->sent_bytes_at_start;
    }
  }
  return longest;
}

static bool any_pending(const fl_side_obs *st, fl_op_kind kind) {
  for (uint32_t i = 0; i < st->n_calls; i++)
    if (st->calls[i].ops[kind].pending) return true;
  return false;
}

/* The first call's start and the last end, on the peer's own clock. */
static int64_t call_span(const fl_side_obs *st) {
  int64_t start = INT64_MAX, end = INT64_MIN;
  for (uint32_t i = 0; i < st->n_calls; i++) {
    const fl_call_obs *c = &st->calls[i];
    if (c->started && c->start_stamp < start) start = c->start_stamp;
    if (c->ended && c->end_stamp > end) end = c->end_stamp;
  }
  return start == INT64_MAX || end == INT64_MIN ? 0 : end - start;
}

static int64_t first_deadline(const fl_side_obs *st) {
  for (uint32_t i = 0; i < st->n_calls; i++)
    if (st->calls[i].deadline_ns > 0) return st->calls[i].deadline_ns;
  return 0;
}

/* A peer field of an external side, from the wire (observe.h, EXTERNAL SIDES); `known` false
 * leaves it to the caller (process facts). */
static fl_value external_get(const fl_observe *o, fl_field_id id, fl_scope scope, bool *handled) {
  const fl_side_obs *st = &o->sides[fl_side_of_scope(scope)];
  const fl_wire_obs *sw = &o->sides[FL_SIDE_SERVER].wire, *cw = &o->sides[FL_SIDE_CLIENT].wire;
  bool wire = o->wire_source;
  *handled = true;
  switch (id) {
  case FL_FIELD_STATUS:
    return val(FL_VAL_STATUS, wire && sw->have_trailers_status, sw->trailers_status);
  case FL_FIELD_CANCELLED:
    return val(FL_VAL_BOOL, wire && scope == FL_SCOPE_SERVER,
               sw->frames[FL_H2_RST_STREAM] + cw->frames[FL_H2_RST_STREAM] > 0);
  case FL_FIELD_SENT: return val(FL_VAL_INT, st->have_messages, st->messages_sent);
  case FL_FIELD_RECV: return val(FL_VAL_INT, st->have_messages, st->messages_recv);
  case FL_FIELD_STARTED: return val(FL_VAL_BOOL, wire, cw->frames[FL_H2_HEADERS] > 0);
  case FL_FIELD_EXIT_CODE:
  case FL_FIELD_PEAK_RSS:
  case FL_FIELD_THREADS:
  case FL_FIELD_FDS:
  case FL_FIELD_RSS_GROWTH: *handled = false; return val(FL_VAL_INT, false, 0);
  default: return val(FL_VAL_INT, false, 0);
  }
}

fl_value fl_observe_get(const fl_observe *o, fl_field_id id, fl_scope scope) {
  const fl_side_obs *st = &o->sides[fl_side_of_scope(scope)];
  if (st->external && fl_fields[id].cls == FL_CLASS_PEER) {
    bool handled;
    fl_value v = external_get(o, id, scope, &handled);
    if (handled) return v;
  }
  const fl_wire_obs *w = &st->wire;
  bool wire = o->wire_source;
  bool started = st->calls_started > 0;
  switch (id) {
  case FL_FIELD_SENT: return val(FL_VAL_INT, true, st->sent);
  case FL_FIELD_RECV: return val(FL_VAL_INT, true, st->recv);
  case FL_FIELD_SENT_BYTES: return val(FL_VAL_SIZE, true, st->sent_bytes);
  case FL_FIELD_RECV_BYTES: return val(FL_VAL_SIZE, true, st->recv_bytes);
  case FL_FIELD_STATUS: return val(FL_VAL_STATUS, st->have_status, st->status_code);
  case FL_FIELD_MESSAGE: return str(st->have_status, st->status_message.s);
  case FL_FIELD_CANCELLED: return val(FL_VAL_BOOL, st->have_cancelled, st->cancelled);
  case FL_FIELD_HALF_CLOSED:
  case FL_FIELD_CLOSE_SEND_COMPLETED: return val(FL_VAL_BOOL, true, st->half_closed);
  case FL_FIELD_DURATION: {
    bool ended = scope == FL_SCOPE_CLIENT ? st->have_status : st->have_cancelled;
    return val(FL_VAL_DURATION, started && ended, call_span(st));
  }
  case FL_FIELD_EXIT_CODE:
    return val(FL_VAL_INT, st->proc.exited && !st->proc.term_signal, st->proc.exit_code);
  case FL_FIELD_KILLED: return val(FL_VAL_BOOL, true, st->proc.fault_ended);
  case FL_FIELD_PAUSED_FOR: {
    int64_t open = st->proc.paused_since >= 0 ? o->now_ns - st->proc.paused_since : 0;
    return val(FL_VAL_DURATION, true, st->proc.paused_ns + open);
  }
  case FL_FIELD_RESTARTS: return val(FL_VAL_INT, true, st->proc.restarts);
  case FL_FIELD_STARTED: return val(FL_VAL_BOOL, true, started);
  case FL_FIELD_RECV_END: return val(FL_VAL_BOOL, true, st->recv_end);
  case FL_FIELD_DECODE_ERRORS: return val(FL_VAL_INT, true, st->decode_errors);
  case FL_FIELD_LAST_DECODE_ERROR:
    return str(st->last_decode_error[0] != '\0', st->last_decode_error);
  case FL_FIELD_INVALID_UTF8: return val(FL_VAL_INT, true, st->invalid_utf8);
  case FL_FIELD_FIELDS_RECEIVED: return val(FL_VAL_INT, true, st->fields_received);
  case FL_FIELD_NULLS_RECEIVED: return val(FL_VAL_INT, true, st->nulls_received);
  case FL_FIELD_NULLS_SENT: return val(FL_VAL_INT, true, st->nulls_sent);
  case FL_FIELD_LAST_SENT_HASH: return str(st->last_sent_hash[0] != '\0', st->last_sent_hash);
  case FL_FIELD_LAST_RECV_HASH: return str(st->last_recv_hash[0] != '\0', st->last_recv_hash);
  case FL_FIELD_LARGEST_SEND: return val(FL_VAL_SIZE, st->largest_send > 0, st->largest_send);
  case FL_FIELD_RECV_LIMIT: return val(FL_VAL_SIZE, st->have_recv_limit, st->recv_limit);
  case FL_FIELD_SEND_PENDING: return val(FL_VAL_BOOL, true, any_pending(st, FL_OP_SEND));
  case FL_FIELD_SEND_MAX_PENDING:
  case FL_FIELD_SEND_BYTES_BEFORE_STALL: {
    bool any = st->sent > 0 || st->sends_failed > 0;
    int64_t bytes, longest = longest_pending(o, st, FL_OP_SEND, st->send_max_pending_ns,
                                             st->send_stall_bytes, &bytes, &any);
    if (id == FL_FIELD_SEND_MAX_PENDING) return val(FL_VAL_DURATION, any, longest);
    return val(FL_VAL_SIZE, any, bytes);
  }
  case FL_FIELD_SEND_FAILED: return val(FL_VAL_INT, true, st->sends_failed);
  case FL_FIELD_CLOSE_SEND_ISSUED: return val(FL_VAL_BOOL, true, st->close_send_issued);
  case FL_FIELD_CLOSE_SEND_PENDING:
    return val(FL_VAL_BOOL, true, any_pending(st, FL_OP_CLOSE_SEND));
  case FL_FIELD_CLOSE_SEND_PENDING_FOR: {
    bool any = false;
    int64_t bytes, longest = longest_pending(o, st, FL_OP_CLOSE_SEND, st->close_send_pending_ns, 0,
                                             &bytes, &any);
    return val(FL_VAL_DURATION, st->close_send_issued, longest);
  }
  case FL_FIELD_READING_STOPPED: return val(FL_VAL_BOOL, true, st->reading_stopped);
  case FL_FIELD_CANCEL_LATENCY: {
    /* The server's side of a cancel: from the client's cancel, or without one from the moment
     * its deadline passed, to the server's `cancelled`; both on the shared clock. */
    const fl_side_obs *c = &o->sides[FL_SIDE_CLIENT];
    int64_t deadline = first_deadline(c);
    int64_t from = c->have_cancel ? c->cancel_ns : deadline;
    bool known = scope == FL_SCOPE_SERVER && st->have_cancelled && st->cancelled &&
                 (c->have_cancel || deadline > 0);
    return val(FL_VAL_DURATION, known, st->closed_ns > from ? st->closed_ns - from : 0);
  }
  case FL_FIELD_SHUTDOWN_STARTED: return val(FL_VAL_BOOL, true, st->shutdown_started);
  case FL_FIELD_SHUTDOWN_DONE: return val(FL_VAL_BOOL, true, st->shutdown_done);
  case FL_FIELD_SHUTDOWN_FORCED: return val(FL_VAL_BOOL, true, st->shutdown_forced);
  case FL_FIELD_SHUTDOWN_DURATION:
    return val(FL_VAL_DURATION, st->shutdown_done,
               st->shutdown_done_stamp - st->shutdown_start_stamp);
  case FL_FIELD_CALLS: return val(FL_VAL_INT, true, st->calls_started);
  case FL_FIELD_CALLS_OK: return val(FL_VAL_INT, true, st->calls_ok);
  case FL_FIELD_CALLS_FAILED: return val(FL_VAL_INT, true, st->calls_failed);
  case FL_FIELD_FIRST_STATUS: return val(FL_VAL_STATUS, st->have_first_status, st->first_status);
  case FL_FIELD_LAST_STATUS: return val(FL_VAL_STATUS, st->have_first_status, st->status_code);
  case FL_FIELD_LAST_FAILURE_MESSAGE:
    return str(st->failure_message.s != NULL, st->failure_message.s);
  case FL_FIELD_MAX_OPEN_CALLS: return val(FL_VAL_INT, true, st->max_open);
  case FL_FIELD_CHANNELS:
    return val(FL_VAL_INT, scope == FL_SCOPE_CLIENT,
               st->channels ? st->channels : st->calls_started > 0);
  case FL_FIELD_CHANNELS_CLOSED:
    return val(FL_VAL_INT, scope == FL_SCOPE_CLIENT, st->channels_closed);
  case FL_FIELD_HEADERS_RECEIVED: return val(FL_VAL_INT, true, st->headers_received);
  case FL_FIELD_HEADERS: return str(st->headers.s != NULL, st->headers.s);
  case FL_FIELD_TRAILERS: return str(st->have_first_status, st->trailers.s);
#define FL_STATUS_COUNT_CASE(name, code, unused)                                                   \
  case FL_FIELD_STATUS_COUNT_##name: return val(FL_VAL_INT, true, st->status_count[code]);
    FL_STATUS_CODES(FL_STATUS_COUNT_CASE, _)
#undef FL_STATUS_COUNT_CASE
  case FL_FIELD_RSS_GROWTH:
    return val(FL_VAL_SIZE, st->samples.n > 0,
               (st->samples.peak_rss_kib - st->samples.baseline_rss_kib) * 1024);
  case FL_FIELD_PEAK_RSS: {
    /* The kernel's high-water mark once the peer is reaped; the sampled peak before. */
    int64_t kib = st->proc.peak_rss_kib > st->samples.peak_rss_kib ? st->proc.peak_rss_kib
                                                                   : st->samples.peak_rss_kib;
    return val(FL_VAL_SIZE, kib > 0, kib * 1024);
  }
  case FL_FIELD_THREADS: return val(FL_VAL_INT, st->samples.n > 0, st->samples.max_threads);
  case FL_FIELD_FDS: return val(FL_VAL_INT, st->samples.n > 0, st->samples.max_fds);

  case FL_FIELD_WIRE_DATA: return val(FL_VAL_INT, wire, w->frames[FL_H2_DATA]);
  case FL_FIELD_WIRE_HEADERS: return val(FL_VAL_INT, wire, w->frames[FL_H2_HEADERS]);
  case FL_FIELD_WIRE_RST_STREAM: return val(FL_VAL_INT, wire, w->frames[FL_H2_RST_STREAM]);
  case FL_FIELD_WIRE_GOAWAY: return val(FL_VAL_INT, wire, w->frames[FL_H2_GOAWAY]);
  case FL_FIELD_WIRE_PING: return val(FL_VAL_INT, wire, w->frames[FL_H2_PING]);
  case FL_FIELD_WIRE_SETTINGS: return val(FL_VAL_INT, wire, w->frames[FL_H2_SETTINGS]);
  case FL_FIELD_WIRE_WINDOW_UPDATE: return val(FL_VAL_INT, wire, w->frames[FL_H2_WINDOW_UPDATE]);
  case FL_FIELD_WIRE_RST_STREAM_CODE: return val(FL_VAL_H2CODE, w->have_rst_code, w->rst_code);
  case FL_FIELD_WIRE_GOAWAY_CODE: return val(FL_VAL_H2CODE, w->have_goaway, w->goaway_code);
  case FL_FIELD_WIRE_GOAWAY_LAST_STREAM_ID:
    return val(FL_VAL_INT, w->have_goaway, w->goaway_last_stream_id);
  case FL_FIELD_WIRE_GOAWAY_DEBUG: return str(w->have_goaway, w->goaway_debug.s);
  case FL_FIELD_WIRE_END_STREAM: return val(FL_VAL_BOOL, wire, w->end_stream);
  case FL_FIELD_WIRE_TRAILERS_STATUS:
    return val(FL_VAL_STATUS, w->have_trailers_status, w->trailers_status);
  case FL_FIELD_WIRE_WINDOW_MIN: return val(FL_VAL_SIZE, w->have_window, w->window_min);
  case FL_FIELD_WIRE_WINDOW_ZERO_FOR: {
    int64_t longest = w->window_zero_max;
    if (w->window_zero_since >= 0 && o->now_ns - w->window_zero_since > longest)
      longest = o->now_ns - w->window_zero_since;
    return val(FL_VAL_DURATION, w->have_window, longest);
  }
  case FL_FIELD_WIRE_SOCKET_UNSENT_MAX:
    return val(FL_VAL_SIZE, w->have_socket, w->socket_unsent_max);
  case FL_FIELD_WIRE_SOCKET_UNREAD_MAX:
    return val(FL_VAL_SIZE, w->have_socket, w->socket_unread_max);

  case FL_FIELD_OUTCOME: return val(FL_VAL_OUTCOME, o->finished, fl_observe_outcome(o));
  case FL_FIELD_ELAPSED: return val(FL_VAL_DURATION, o->finished, o->elapsed_ns);
  case FL_FIELD_CAPTURE_PACKETS:
    return val(FL_VAL_INT, o->finished && o->capture_running, (int64_t)o->capture_packets);
  case FL_FIELD_CAPTURE_DROPPED:
    return val(FL_VAL_INT, o->finished && o->capture_running, (int64_t)o->capture_dropped);
  case FL_FIELD_WIRE_CONNECTIONS: return val(FL_VAL_INT, wire, o->wire_connections);
  case FL_N_FIELDS: break;
  }
  return val(FL_VAL_INT, false, 0);
}

bool fl_observe_lookup(void *ctx, fl_scope scope, const fl_field_info *field, fl_value *out) {
  *out = fl_observe_get(ctx, field->id, scope);
  return true;
}
