#include "peer.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "event.h"
#include "payload.h"

/* How long one pump round may block in C core before it looks at the control fd again; also
 * the latency of a barrier release. */
#define PUMP_SLICE_NS 10000000LL

const char *fl_peer_i64(char *buf, int64_t x) {
  snprintf(buf, 24, "%" PRId64, x);
  return buf;
}

void fl_peer_emitv(fl_peer *p, const fl_call *c, fl_event_id id, const fl_event_kv *kv, size_t n) {
  fl_event_kv all[FL_N_ATTRS + 1];
  size_t k = 0;
  if (c && p->n_calls > 1) all[k++] = FL_KV_I(CALL, c->id);
  for (size_t i = 0; i < n && k < FL_N_ATTRS + 1; i++) all[k++] = kv[i];
  char err[256];
  static char line[FL_EVENT_MAX_LINE]; /* the peer is single-threaded */
  int len = fl_event_format(line, fl_mono_ns(), id, all, k, err, sizeof err);
  if (len < 0) {
    if (id == FL_EV_ERROR) _exit(1); /* the error event itself is broken: nothing is left */
    fl_peer_fail(p, "internal error: %s", err);
  }
  if (fl_event_write_line(p->opt.events_fd, line, (size_t)len, err, sizeof err) < 0) {
    /* The runner is gone; nobody will read an error event either. _exit, not exit: C core's
     * threads are still running and its static destructors must not race them. */
    fprintf(stderr, "faultline-peer(%s): %s\n", p->opt.side, err);
    _exit(1);
  }
}

void fl_peer_fail(fl_peer *p, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "faultline-peer(%s): error: %s\n", p->opt.side, msg);
  fl_peer_emit(p, FL_EV_ERROR, FL_KV_S(MESSAGE, msg));
  _exit(1);
}

/* Takes "go N" lines out of ctl_buf. Anything else is logged and ignored. */
static void control_lines(fl_peer *p) {
  char *nl;
  while ((nl = memchr(p->ctl_buf, '\n', p->ctl_len))) {
    *nl = '\0';
    unsigned long long idx;
    int used = 0;
    if (sscanf(p->ctl_buf, "go %llu%n", &idx, &used) == 1 && p->ctl_buf[used] == '\0' &&
        idx < p->plan->n_steps) {
      p->released[idx] = true;
      p->wake_all = true; /* every call waiting there goes on */
    } else {
      fprintf(stderr, "faultline-peer(%s): ignoring control line \"%s\"\n", p->opt.side,
              p->ctl_buf);
    }
    size_t used_bytes = (size_t)(nl - p->ctl_buf) + 1;
    memmove(p->ctl_buf, nl + 1, p->ctl_len - used_bytes);
    p->ctl_len -= used_bytes;
  }
  if (p->ctl_len == sizeof p->ctl_buf) {
    fprintf(stderr, "faultline-peer(%s): control line too long, dropped\n", p->opt.side);
    p->ctl_len = 0;
  }
}

static void control_read(fl_peer *p) {
  for (;;) {
    struct pollfd pfd = {.fd = p->opt.control_fd, .events = POLLIN};
    int r = poll(&pfd, 1, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fl_peer_fail(p, "poll on control fd: %s", strerror(errno));
    if (r == 0) return;
    ssize_t n = read(p->opt.control_fd, p->ctl_buf + p->ctl_len, sizeof p->ctl_buf - p->ctl_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) fl_peer_fail(p, "read on control fd: %s", strerror(errno));
    if (n == 0) {
      /* The runner closed the pipe: the run is over (or the runner is gone). Leave at once;
       * nothing this peer could still do counts, and C core's threads may be mid-work. */
      _exit(0);
    }
    p->ctl_len += (size_t)n;
    control_lines(p);
  }
}

fl_op *fl_peer_pump(fl_peer *p, int64_t deadline_ns) {
  int64_t wait = PUMP_SLICE_NS;
  if (deadline_ns >= 0) {
    int64_t left = deadline_ns - fl_mono_ns();
    if (left < wait) wait = left > 0 ? left : 0;
  }
  gpr_timespec until =
      gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(wait, GPR_TIMESPAN));
  fl_op *done = NULL;
  grpc_event ev = grpc_completion_queue_next(p->cq, until, NULL);
  if (ev.type == GRPC_OP_COMPLETE) {
    done = ev.tag;
    done->done = true;
    done->ok = ev.success != 0;
    if (done->on_done) done->on_done(p, done);
  } else if (ev.type == GRPC_QUEUE_SHUTDOWN) {
    fl_peer_fail(p, "completion queue shut down while in use");
  }
  control_read(p);
  if (p->is_server) fl_server_term_check(p);
  return done;
}

void fl_call_start(fl_call *c, const grpc_op *ops, size_t n, fl_op *op, const char *what) {
  op->started = true;
  op->done = op->ok = false;
  op->call = c;
  op->started_ns = fl_mono_ns();
  grpc_call_error e = grpc_call_start_batch(c->call, ops, n, op, NULL);
  if (e != GRPC_CALL_OK)
    fl_peer_fail(c->p, "%s: grpc_call_start_batch: %s", what, grpc_call_error_to_string(e));
}

bool fl_peer_timer(fl_peer *p, int64_t at) {
  if (fl_mono_ns() >= at) return true;
  if (at < p->timer_ns) p->timer_ns = at;
  return false;
}

long long fl_peer_recv_limit(const fl_peer *p) {
  for (size_t i = 0; i < p->plan->n_args; i++)
    if (!strcmp(p->plan->args[i].key, "grpc.max_receive_message_length") && p->plan->args[i].is_int)
      return p->plan->args[i].int_value;
  return FL_DEFAULT_RECV_LIMIT;
}

static bool busy(const fl_op *op) { return op->started && !op->done; }

/* `us`: how long the op was pending, on this peer's clock. */
static void op_done_event(fl_call *c, const char *name, const fl_op *op) {
  fl_call_emit(c, FL_EV_OP_DONE, FL_KV_S(OP, name), FL_KV_I(OK, op->ok),
               FL_KV_I(US, (fl_mono_ns() - op->started_ns) / 1000));
}

/* ---- metadata ------------------------------------------------------------------------- */

void fl_peer_metadata_new(fl_peer *p, const fl_metadata_plan *plan, grpc_metadata **out,
                          size_t *n) {
  *out = NULL;
  *n = 0;
  if (!plan->n) return;
  if (!(*out = calloc(plan->n, sizeof **out))) fl_peer_fail(p, "out of memory");
  for (size_t i = 0; i < plan->n; i++) {
    /* Static slices: the plan outlives every call. */
    (*out)[i].key = grpc_slice_from_static_string(plan->entries[i].key);
    (*out)[i].value = grpc_slice_from_static_buffer(plan->entries[i].value, plan->entries[i].len);
  }
  *n = plan->n;
}

const char *fl_peer_metadata_text(const grpc_metadata_array *a, char *buf) {
  buf[0] = '\0';
  for (size_t i = 0; i < a->count; i++)
    fl_metadata_text_add(buf, (const char *)GRPC_SLICE_START_PTR(a->metadata[i].key),
                         GRPC_SLICE_LENGTH(a->metadata[i].key),
                         GRPC_SLICE_START_PTR(a->metadata[i].value),
                         GRPC_SLICE_LENGTH(a->metadata[i].value));
  return buf;
}

/* The server's response headers go with the first batch that needs them (a message, the
 * status) unless a send_headers step sent them: C++'s and Go's servers do the same, and a
 * status alone then makes a trailers-only response. Fills ops[0] and returns 1, or 0 when
 * they went already (and always on the client, whose headers go when its call starts). */
static size_t headers_op(fl_call *c, grpc_op *ops) {
  fl_peer *p = c->p;
  if (!p->is_server || c->headers_sent) return 0;
  c->headers_sent = true;
  ops[0] = (grpc_op){.op = GRPC_OP_SEND_INITIAL_METADATA};
  ops[0].data.send_initial_metadata.count = p->n_md_out;
  ops[0].data.send_initial_metadata.metadata = p->md_out;
  return 1;
}

/* send_headers: the response headers now, alone. */
static void start_headers(fl_call *c) {
  grpc_op gop[1];
  if (!headers_op(c, gop)) return;
  fl_call_start(c, gop, 1, &c->md_send, "send_initial_metadata");
}

/* ---- ops and what their completions say ------------------------------------------------ */

static void on_send_done(fl_peer *p, fl_op *op) {
  (void)p;
  fl_call *c = op->call;
  grpc_byte_buffer_destroy(c->send_bb);
  c->send_bb = NULL;
  c->last_send_ok = op->ok;
  c->last_send_ns = fl_mono_ns();
  op_done_event(c, "send", op);
  if (!op->ok) return;
  c->sent++;
  char hex[17];
  fl_call_emit(c, FL_EV_SENT, FL_KV_I(N, c->sent), FL_KV_I(BYTES, c->send_len),
               FL_KV_S(HASH, fl_payload_hash_hex(c->send_hash, hex)),
               FL_KV_I(NULLS, c->send_nulls));
}

/* Builds the next message of `st` and starts sending it. op_start carries its size, so a send
 * that never completes (stalled, or refused as too large) still shows how big it was. */
static void start_send(fl_call *c, const fl_step *st) {
  fl_peer *p = c->p;
  fl_payload_spec spec;
  fl_payload_spec_from_step(st, &spec);
  uint8_t *buf;
  size_t len;
  int rc = fl_payload_encode(&spec, c->seq + 1, &buf, &len);
  if (rc < 0)
    fl_peer_fail(p, "%s:%d:%d: cannot build message: %s", p->opt.scenario_path, st->line, st->col,
                 strerror(-rc));
  c->seq++;
  c->send_len = len;
  c->send_hash = fl_payload_hash(buf, len);
  c->send_nulls = fl_payload_nulls(&spec);
  grpc_slice slice;
  if (len) {
    slice = grpc_slice_new(buf, len, free);
  } else {
    free(buf);
    slice = grpc_empty_slice();
  }
  c->send_bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);

  grpc_op gop[2];
  size_t n = headers_op(c, gop);
  gop[n] = (grpc_op){.op = GRPC_OP_SEND_MESSAGE};
  gop[n].data.send_message.send_message = c->send_bb;
  c->send.on_done = on_send_done;
  fl_call_emit(c, FL_EV_OP_START, FL_KV_S(OP, "send"), FL_KV_I(BYTES, len));
  fl_call_start(c, gop, n + 1, &c->send, "send");
}

/*
 * A message of the user's own method (payload.h): its size and hash, and its text when the
 * scenario names this side's type (decode:), else its first bytes in hex. A message protoc
 * cannot decode as that type is a decode error, with protoc's words.
 */
static void foreign_recv(fl_call *c, const uint8_t *buf, size_t len) {
  fl_peer *p = c->p;
  c->received++;
  char hex[17], raw[2 * FL_PAYLOAD_RAW_MAX + 4];
  fl_payload_hash_hex(fl_payload_hash(buf, len), hex);
  const char *type = fl_scenario_recv_type(p->scenario, p->is_server);
  if (!type || p->decoded >= FL_PAYLOAD_DECODE_MAX) {
    fl_call_emit(c, FL_EV_RECV, FL_KV_I(N, c->received), FL_KV_I(BYTES, len), FL_KV_S(HASH, hex),
                 FL_KV_S(RAW, fl_payload_raw_hex(buf, len, raw)));
    return;
  }
  p->decoded++;
  fl_protoc_source src = fl_proto_ref_source(&p->scenario->decode.proto);
  fl_protoc_error pe;
  char *text;
  bool cut;
  if (fl_protoc_decode(&src, type, buf, len, FL_PAYLOAD_TEXT_MAX, &text, &cut, &pe) < 0) {
    char why[sizeof pe.msg + 16];
    snprintf(why, sizeof why, "protoc: %s", pe.msg);
    fl_call_emit(c, FL_EV_RECV, FL_KV_I(N, c->received), FL_KV_I(BYTES, len), FL_KV_I(DECODED, 0),
                 FL_KV_S(ERROR, why), FL_KV_S(HASH, hex),
                 FL_KV_S(RAW, fl_payload_raw_hex(buf, len, raw)));
    return;
  }
  /* A cut text says so at its end; it is then no longer text format. */
  if (cut) {
    size_t n = strlen(text);
    char *longer = realloc(text, n + 4);
    if (longer) memcpy(longer + n, "...", 4), text = longer;
  }
  fl_call_emit(c, FL_EV_RECV, FL_KV_I(N, c->received), FL_KV_I(BYTES, len), FL_KV_I(DECODED, 1),
               FL_KV_S(HASH, hex), FL_KV_S(TEXT, text));
  free(text);
}

static void on_recv_done(fl_peer *p, fl_op *op) {
  fl_call *c = op->call;
  grpc_byte_buffer *bb = c->recv_bb;
  c->recv_bb = NULL;
  c->last_recv_ok = op->ok;
  c->last_recv_ns = fl_mono_ns();
  op_done_event(c, "recv", op);
  if (!op->ok) {
    if (bb) grpc_byte_buffer_destroy(bb);
    return;
  }
  if (!bb) {
    c->recv_ended = true;
    fl_call_emit(c, FL_EV_RECV_END);
    return;
  }
  size_t len = grpc_byte_buffer_length(bb);
  grpc_byte_buffer_reader reader;
  fl_payload_info info = {0};
  if (grpc_byte_buffer_reader_init(&reader, bb)) {
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    if (fl_scenario_foreign(p->scenario))
      foreign_recv(c, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
    else
      fl_payload_inspect(GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), &info);
    grpc_slice_unref(all);
    grpc_byte_buffer_reader_destroy(&reader);
  } else if (fl_scenario_foreign(p->scenario)) {
    foreign_recv(c, NULL, 0);
  }
  grpc_byte_buffer_destroy(bb);
  if (fl_scenario_foreign(p->scenario)) return;
  c->received++;
  char hex[17];
  fl_payload_hash_hex(info.hash, hex);
  /* `error` only when something is wrong: protobuf-c refused the bytes (decoded=0), or
   * accepted a string that is not UTF-8 (decoded=1 error=invalid_utf8). */
  if (!info.decoded)
    fl_call_emit(c, FL_EV_RECV, FL_KV_I(N, c->received), FL_KV_I(BYTES, len), FL_KV_I(DECODED, 0),
                 FL_KV_S(ERROR, info.error), FL_KV_S(HASH, hex));
  else if (info.error)
    fl_call_emit(c, FL_EV_RECV, FL_KV_I(N, c->received), FL_KV_I(BYTES, len), FL_KV_I(DECODED, 1),
                 FL_KV_S(ERROR, info.error), FL_KV_I(FIELDS, info.fields),
                 FL_KV_I(NULLS, info.nulls), FL_KV_S(HASH, hex));
  else
    fl_call_emit(c, FL_EV_RECV, FL_KV_I(N, c->received), FL_KV_I(BYTES, len), FL_KV_I(DECODED, 1),
                 FL_KV_I(FIELDS, info.fields), FL_KV_I(NULLS, info.nulls), FL_KV_S(HASH, hex));
}

static void start_recv(fl_call *c) {
  grpc_op gop = {.op = GRPC_OP_RECV_MESSAGE};
  gop.data.recv_message.recv_message = &c->recv_bb;
  c->recv.on_done = on_recv_done;
  fl_call_emit(c, FL_EV_OP_START, FL_KV_S(OP, "recv"));
  fl_call_start(c, &gop, 1, &c->recv, "recv");
}

static void on_close_send_done(fl_peer *p, fl_op *op) {
  (void)p;
  op_done_event(op->call, "close_send", op);
  if (op->ok) fl_call_emit(op->call, FL_EV_HALF_CLOSE);
}

/* Queued behind a send still in flight, if there is one: C core takes SEND_CLOSE_FROM_CLIENT
 * while a SEND_MESSAGE is pending, and completes it only after that message went out. */
static void start_close_send(fl_call *c) {
  grpc_op gop = {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT};
  c->close_send_issued = true;
  c->close_send.on_done = on_close_send_done;
  fl_call_emit(c, FL_EV_OP_START, FL_KV_S(OP, "close_send"));
  fl_call_start(c, &gop, 1, &c->close_send, "close_send");
}

static void on_status_sent(fl_peer *p, fl_op *op) {
  fl_call *c = op->call;
  op_done_event(c, "status", op);
  /* `status` on the server means "this status went out"; a call that was already over sent
   * nothing. */
  if (op->ok) {
    static char md[FL_METADATA_TEXT_MAX];
    md[0] = '\0';
    for (size_t i = 0; i < p->n_trailers_out; i++)
      fl_metadata_text_add(md, (const char *)GRPC_SLICE_START_PTR(p->trailers_out[i].key),
                           GRPC_SLICE_LENGTH(p->trailers_out[i].key),
                           GRPC_SLICE_START_PTR(p->trailers_out[i].value),
                           GRPC_SLICE_LENGTH(p->trailers_out[i].value));
    fl_event_kv msg = FL_KV_BYTES(MESSAGE, (const char *)GRPC_SLICE_START_PTR(c->status_out),
                                  GRPC_SLICE_LENGTH(c->status_out));
    if (md[0])
      fl_call_emit(c, FL_EV_STATUS, FL_KV_I(CODE, c->status_out_code), msg, FL_KV_S(METADATA, md));
    else
      fl_call_emit(c, FL_EV_STATUS, FL_KV_I(CODE, c->status_out_code), msg);
  }
  grpc_slice_unref(c->status_out);
  c->status_out = grpc_empty_slice();
}

static void start_status(fl_call *c, int code, const char *message) {
  if (!message) message = "";
  c->status_out_code = code;
  c->status_out = grpc_slice_from_copied_buffer(message, strlen(message));
  grpc_op gop[2];
  size_t n = headers_op(c, gop);
  gop[n] = (grpc_op){.op = GRPC_OP_SEND_STATUS_FROM_SERVER};
  gop[n].data.send_status_from_server.status = (grpc_status_code)code;
  gop[n].data.send_status_from_server.status_details = &c->status_out;
  gop[n].data.send_status_from_server.trailing_metadata_count = c->p->n_trailers_out;
  gop[n].data.send_status_from_server.trailing_metadata = c->p->trailers_out;
  c->status_issued = true;
  c->status.on_done = on_status_sent;
  fl_call_emit(c, FL_EV_OP_START, FL_KV_S(OP, "status"));
  fl_call_start(c, gop, n + 1, &c->status, "status");
}

/* ---- background sends ------------------------------------------------------------------ */

static void end_background(fl_call *c, const char *why) {
  if (!c->bg) return;
  fl_call_emit(c, FL_EV_BACKGROUND_END, FL_KV_I(STARTED, c->bg_started), FL_KV_I(OF, c->bg->count),
               FL_KV_S(REASON, why));
  c->bg = NULL;
}

/* Issues the next background message once the previous one completed (and its interval
 * passed); ends the run of sends when all went, or one failed. */
static void background(fl_peer *p, fl_call *c) {
  const fl_step *st = c->bg;
  if (!st || busy(&c->send)) return;
  if (c->bg_started > 0 && !c->last_send_ok) {
    end_background(c, "failed");
    return;
  }
  if (c->bg_started == st->count) {
    end_background(c, "done");
    return;
  }
  if (c->bg_started > 0 && st->interval_ns > 0 &&
      !fl_peer_timer(p, c->last_send_ns + st->interval_ns))
    return;
  start_send(c, st);
  c->bg_started++;
}

/* ---- steps ----------------------------------------------------------------------------- */

const char *fl_call_stage_name(fl_call_stage s) {
  switch (s) {
  case FL_STAGE_IDLE: return "idle";
  case FL_STAGE_ENTER: return "enter";
  case FL_STAGE_SEND_NEXT: return "send_next";
  case FL_STAGE_SEND_INFLIGHT: return "send_inflight";
  case FL_STAGE_RECV_INFLIGHT: return "recv_inflight";
  case FL_STAGE_SLEEPING: return "sleeping";
  case FL_STAGE_AWAIT_OP: return "await_op";
  case FL_STAGE_AT_BARRIER: return "at_barrier";
  case FL_STAGE_FINISH_DRAIN: return "finish_drain";
  case FL_STAGE_FINISH_CLOSE: return "finish_close";
  case FL_STAGE_FINISH_AWAIT: return "finish_await";
  }
  return "?";
}

void fl_call_set_stage(fl_call *c, fl_call_stage stage) {
  if (c->stage == stage) return;
  if (fl_trace_on()) {
    char who[48];
    snprintf(who, sizeof who, "%s call %u", c->p->opt.side, c->id);
    fl_trace(who, "step %zu: %s -> %s", c->pc, fl_call_stage_name(c->stage),
             fl_call_stage_name(stage));
  }
  c->stage = stage;
}

/* Each step function is called whenever its call may have moved; it returns true when the
 * step is over. The stage is FL_STAGE_ENTER when a step begins; steps that wait keep where
 * they are in it. */

static bool step_send(fl_peer *p, fl_call *c, const fl_step *st) {
  if (st->background) {
    /* One run of background sends per call: a second one waits for the first to end. */
    if (c->bg || busy(&c->send)) return false;
    c->bg = st;
    c->bg_started = 0;
    /* The first message starts now, so that a close_send right after is queued behind it. */
    background(p, c);
    return true;
  }
  for (;;) {
    switch (c->stage) {
    case FL_STAGE_ENTER: /* C core takes one SEND_MESSAGE at a time: background sends first */
      if (c->bg || busy(&c->send)) return false;
      fl_call_set_stage(c, FL_STAGE_SEND_NEXT);
      break;
    case FL_STAGE_SEND_NEXT:
      if (c->i == st->count || (c->i > 0 && !c->last_send_ok)) return true;
      if (c->i > 0 && st->interval_ns > 0 && !fl_peer_timer(p, c->last_send_ns + st->interval_ns))
        return false;
      start_send(c, st);
      fl_call_set_stage(c, FL_STAGE_SEND_INFLIGHT);
      break;
    default: /* FL_STAGE_SEND_INFLIGHT */
      if (busy(&c->send)) return false;
      c->i++;
      fl_call_set_stage(c, FL_STAGE_SEND_NEXT);
      break;
    }
  }
}

static bool step_recv(fl_peer *p, fl_call *c, const fl_step *st) {
  for (;;) {
    switch (c->stage) {
    case FL_STAGE_ENTER: /* the next read starts when its delay has passed */
      if (c->recv_ended || (st->count != FL_RECV_ALL && c->i == st->count)) return true;
      if (c->i > 0 && st->delay_ns > 0 && !fl_peer_timer(p, c->last_recv_ns + st->delay_ns))
        return false;
      start_recv(c);
      fl_call_set_stage(c, FL_STAGE_RECV_INFLIGHT);
      break;
    default: /* FL_STAGE_RECV_INFLIGHT */
      if (busy(&c->recv)) return false;
      /* Stops early at the end of the stream, or when a read failed (the call is over). */
      if (!c->last_recv_ok || c->recv_ended) return true;
      c->i++;
      fl_call_set_stage(c, FL_STAGE_ENTER);
      break;
    }
  }
}

/* A barrier (or a dump, which the runner releases the same way). */
static bool released(fl_peer *p, size_t index) { return p->released[index]; }

static bool run_step(fl_peer *p, fl_call *c, const fl_step *st) {
  bool entering = c->stage == FL_STAGE_ENTER;
  switch (st->kind) {
  case FL_STEP_SEND: return step_send(p, c, st);
  case FL_STEP_RECV: return step_recv(p, c, st);
  case FL_STEP_SLEEP:
    if (entering) {
      c->wake_ns = fl_mono_ns() + st->duration_ns;
      fl_call_set_stage(c, FL_STAGE_SLEEPING);
    }
    return fl_peer_timer(p, c->wake_ns);
  case FL_STEP_CLOSE_SEND:
    if (p->is_server)
      fl_peer_fail(p, "%s:%d:%d: close_send is a client step", p->opt.scenario_path, st->line,
                   st->col);
    if (entering) {
      /* The message in flight stays in flight; no further one is started after the close. */
      end_background(c, "close_send");
      start_close_send(c);
      fl_call_set_stage(c, FL_STAGE_AWAIT_OP);
    }
    return !busy(&c->close_send);
  case FL_STEP_CANCEL:
    end_background(c, "cancel");
    /* The event goes first: grpc_call_cancel already sends RST_STREAM, and the runner must
     * not see the other side's reaction before the cause. */
    fl_call_emit(c, FL_EV_CANCEL);
    c->cancelled_by_us = true;
    grpc_call_cancel(c->call, NULL);
    return true;
  case FL_STEP_STATUS:
    if (!p->is_server)
      fl_peer_fail(p, "%s:%d:%d: status is a server step", p->opt.scenario_path, st->line, st->col);
    if (entering) {
      end_background(c, "status");
      start_status(c, st->status_code, st->status_message);
      fl_call_set_stage(c, FL_STAGE_AWAIT_OP);
    }
    return !busy(&c->status);
  case FL_STEP_WAIT:
    if (entering) {
      fl_call_emit(c, FL_EV_WAIT, FL_KV_I(INDEX, c->pc), FL_KV_S(EXPR, st->text ? st->text : ""));
      fl_call_set_stage(c, FL_STAGE_AT_BARRIER);
    }
    if (!released(p, c->pc)) return false;
    fl_call_emit(c, FL_EV_ARRIVE, FL_KV_I(INDEX, c->pc));
    return true;
  case FL_STEP_DUMP:
    /* The runner stops both peers, dumps their threads and then releases this step, so the
     * dump shows exactly this point of the script; with many calls, the first to get here
     * asks for it. */
    if (!p->dumped[c->pc]) {
      p->dumped[c->pc] = true;
      fl_peer_emit(p, FL_EV_DUMP, FL_KV_I(INDEX, c->pc));
    }
    fl_call_set_stage(c, FL_STAGE_AT_BARRIER);
    return released(p, c->pc);
  case FL_STEP_STOP_READING:
    /* The scenario parser has made sure no recv follows until resume_reading: from here no
     * RECV_MESSAGE op is pending, so C core stops opening the stream's window. */
    fl_call_emit(c, FL_EV_STOP_READING);
    return true;
  case FL_STEP_RESUME_READING: fl_call_emit(c, FL_EV_RESUME_READING); return true;
  case FL_STEP_SHUTDOWN:
    if (!p->is_server)
      fl_peer_fail(p, "%s:%d:%d: shutdown is a server step", p->opt.scenario_path, st->line,
                   st->col);
    fl_server_shutdown_start(p, st);
    return true;
  case FL_STEP_SEND_HEADERS:
    if (!p->is_server)
      fl_peer_fail(p, "%s:%d:%d: send_headers is a server step", p->opt.scenario_path, st->line,
                   st->col);
    if (entering) {
      start_headers(c); /* nothing to do when a message or the status took them already */
      fl_call_set_stage(c, FL_STAGE_AWAIT_OP);
    }
    return !busy(&c->md_send);
  case FL_STEP_RECV_HEADERS:
    if (p->is_server)
      fl_peer_fail(p, "%s:%d:%d: recv_headers is a client step", p->opt.scenario_path, st->line,
                   st->col);
    /* RECV_INITIAL_METADATA has been pending since the call started. */
    fl_call_set_stage(c, FL_STAGE_AWAIT_OP);
    return c->md_recv.done;
  case FL_STEP_STOP_ACCEPTING:
    if (!p->is_server)
      fl_peer_fail(p, "%s:%d:%d: stop_accepting is a server step", p->opt.scenario_path, st->line,
                   st->col);
    fl_server_stop_accepting(p);
    return true;
  case FL_STEP_CLOSE_CHANNEL:
    if (p->is_server)
      fl_peer_fail(p, "%s:%d:%d: close_channel is a client step", p->opt.scenario_path, st->line,
                   st->col);
    fl_client_close_channel(p, c);
    return true;
  }
  fl_peer_fail(p, "%s:%d:%d: step kind %d is not supported by this peer", p->opt.scenario_path,
               st->line, st->col, (int)st->kind);
}

/*
 * After the last step: a client that never half-closed does (or a server in `recv: all` would
 * wait forever), a server that sent no status ends with OK, as every gRPC server does. Neither
 * looks at whether the call is already over: that is a race with the script's last step, and
 * the events must not depend on it (on a call that is over, the op just fails).
 */
static bool finish_call(fl_peer *p, fl_call *c) {
  for (;;) {
    switch (c->stage) {
    case FL_STAGE_FINISH_DRAIN:
      if (c->bg || busy(&c->send)) return false;
      fl_call_set_stage(c, FL_STAGE_FINISH_CLOSE);
      break;
    case FL_STAGE_FINISH_CLOSE:
      if (p->is_server && !c->status_issued && !c->cancelled_by_us)
        start_status(c, GRPC_STATUS_OK, "");
      if (!p->is_server && !c->close_send_issued && !c->cancelled_by_us) start_close_send(c);
      fl_call_set_stage(c, FL_STAGE_FINISH_AWAIT);
      break;
    default: /* FL_STAGE_FINISH_AWAIT */
      return !busy(&c->close_send) && !busy(&c->status) && c->final_op.done && !busy(&c->md_send) &&
             !busy(&c->md_recv);
    }
  }
}

/* deadline_metadata on the server (peer.h, HEADERS), judged before a step begins: a deadline
 * that passed by this server's wall clock, or a value that is no deadline, ends the call
 * there with a status, as the handler would; returns true when it did. */
static bool metadata_deadline_ends(fl_peer *p, fl_call *c) {
  if (c->md_deadline == FL_MD_DEADLINE_NONE) return false;
  const char *key = p->plan->deadline_metadata;
  char msg[256];
  int code;
  if (c->md_deadline == FL_MD_DEADLINE_BAD) {
    code = GRPC_STATUS_INVALID_ARGUMENT;
    snprintf(msg, sizeof msg, "%s: not a deadline in Unix milliseconds", key);
  } else {
    int64_t late = fl_real_ms() - c->md_deadline_unix_ms;
    if (late < 0) return false;
    code = GRPC_STATUS_DEADLINE_EXCEEDED;
    snprintf(msg, sizeof msg, "the deadline in %s (%lld) passed %lld ms ago by the server's clock",
             key, (long long)c->md_deadline_unix_ms, (long long)late);
  }
  end_background(c, "deadline_metadata");
  start_status(c, code, msg);
  c->pc = p->plan->n_steps;
  fl_call_set_stage(c, FL_STAGE_FINISH_DRAIN);
  return true;
}

/* Moves one call as far as it can go. */
static void advance(fl_peer *p, fl_call *c) {
  while (c->started && !c->finished) {
    background(p, c);
    if (c->pc < p->plan->n_steps) {
      const fl_step *st = &p->plan->steps[c->pc];
      if (c->stage == FL_STAGE_IDLE && p->is_server && metadata_deadline_ends(p, c)) continue;
      if (c->stage == FL_STAGE_IDLE) {
        fl_call_emit(c, FL_EV_STEP, FL_KV_I(INDEX, c->pc), FL_KV_S(NAME, fl_step_name(st->kind)));
        fl_call_set_stage(c, FL_STAGE_ENTER);
        c->i = 0;
      }
      if (!run_step(p, c, st)) return;
      c->pc++;
      fl_call_set_stage(c, c->pc < p->plan->n_steps ? FL_STAGE_IDLE : FL_STAGE_FINISH_DRAIN);
      continue;
    }
    if (c->stage == FL_STAGE_IDLE) fl_call_set_stage(c, FL_STAGE_FINISH_DRAIN); /* no steps */
    if (!finish_call(p, c)) return;
    c->finished = true;
    p->n_finished++;
    if (p->n_open) p->n_open--;
    if (p->call_over) p->call_over(p, c);
    /* A slot is free: the client's next call may start. (Only the client starts calls: on
     * the server this would make every call's end a round over all calls.) */
    if (p->start_calls && p->n_started < p->n_calls) p->wake_all = true;
  }
}

void fl_peer_run_script(fl_peer *p) {
  p->wake_all = true;
  p->timer_ns = INT64_MAX;
  while (p->n_finished < p->n_calls) {
    if (p->wake_all || fl_mono_ns() >= p->timer_ns) {
      p->wake_all = false;
      p->timer_ns = INT64_MAX;
      if (p->start_calls) p->start_calls(p);
      for (size_t i = 0; i < p->n_calls; i++) advance(p, &p->calls[i]);
      if (p->is_server) fl_server_shutdown_tick(p);
      continue;
    }
    fl_op *op = fl_peer_pump(p, p->timer_ns == INT64_MAX ? -1 : p->timer_ns);
    if (!op) continue;
    if (op->call)
      advance(p, op->call);
    else
      p->wake_all = true; /* the peer's own op (a shutdown) may concern every call */
  }
}

grpc_channel_args *fl_peer_args_new(fl_peer *p, const grpc_arg *extra, size_t n_extra) {
  const fl_side_plan *plan = p->plan;
  grpc_channel_args *a = calloc(1, sizeof *a);
  if (!a || !(a->args = calloc(plan->n_args + n_extra + 1, sizeof *a->args)))
    fl_peer_fail(p, "out of memory");
  for (size_t i = 0; i < plan->n_args; i++) {
    const fl_channel_arg *ca = &plan->args[i];
    grpc_arg *g = &a->args[a->num_args++];
    g->key = ca->key;
    if (ca->is_int) {
      if (ca->int_value < INT_MIN || ca->int_value > INT_MAX)
        fl_peer_fail(p, "channel argument %s: %lld does not fit a C core integer", ca->key,
                     ca->int_value);
      g->type = GRPC_ARG_INTEGER;
      g->value.integer = (int)ca->int_value;
    } else {
      g->type = GRPC_ARG_STRING;
      g->value.string = ca->value;
    }
  }
  for (size_t k = 0; k < n_extra; k++) {
    bool set = false;
    for (size_t i = 0; i < plan->n_args && !set; i++)
      set = !strcmp(plan->args[i].key, extra[k].key);
    if (!set) a->args[a->num_args++] = extra[k];
  }
  return a;
}

void fl_peer_args_free(grpc_channel_args *a) {
  if (!a) return;
  free(a->args);
  free(a);
}
