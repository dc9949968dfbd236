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
#include <grpc/support/time.h>

#include "payload.h"
#include "event.h"

/* How long one pump round may block in C core before it looks at the control fd again; also
 * the latency of a barrier release. */
#define PUMP_SLICE_NS 10000000LL

int64_t fl_peer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *fl_peer_i64(char *buf, int64_t x) {
  snprintf(buf, 24, "%" PRId64, x);
  return buf;
}

void fl_peer_emit(fl_peer *p, const char *name, ...) {
  const char *kv[2 * FL_EVENT_MAX_ATTRS];
  int n = 0;
  va_list ap;
  va_start(ap, name);
  for (const char *k; (k = va_arg(ap, const char *)) && n < FL_EVENT_MAX_ATTRS;) {
    kv[2 * n] = k;
    kv[2 * n + 1] = va_arg(ap, const char *);
    n++;
  }
  va_end(ap);
  if (fl_event_write(p->opt.events_fd, name, kv, n) < 0) {
    /* The runner is gone; nobody will read an error event either. _exit, not exit: C core's
     * threads are still running and its static destructors must not race them. */
    fprintf(stderr, "faultline-peer(%s): cannot write event %s: %s\n", p->opt.side, name,
            strerror(errno));
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
  fl_peer_emit(p, "error", "message", msg, NULL);
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
  while (!p->ctl_eof) {
    struct pollfd pfd = {.fd = p->opt.control_fd, .events = POLLIN};
    int r = poll(&pfd, 1, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fl_peer_fail(p, "poll on control fd: %s", strerror(errno));
    if (r == 0) return;
    ssize_t n = read(p->opt.control_fd, p->ctl_buf + p->ctl_len, sizeof p->ctl_buf - p->ctl_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) fl_peer_fail(p, "read on control fd: %s", strerror(errno));
    if (n == 0) {
      p->ctl_eof = true;
      return;
    }
    p->ctl_len += (size_t)n;
    control_lines(p);
  }
}

void fl_peer_pump(fl_peer *p, int64_t deadline_ns) {
  int64_t wait = PUMP_SLICE_NS;
  if (deadline_ns >= 0) {
    int64_t left = deadline_ns - fl_peer_now_ns();
    if (left < wait) wait = left > 0 ? left : 0;
  }
  gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                    gpr_time_from_nanos(wait, GPR_TIMESPAN));
  grpc_event ev = grpc_completion_queue_next(p->cq, until, NULL);
  if (ev.type == GRPC_OP_COMPLETE) {
    fl_op *op = ev.tag;
    op->done = true;
    op->ok = ev.success != 0;
    if (op->on_done) op->on_done(p, op);
  } else if (ev.type == GRPC_QUEUE_SHUTDOWN) {
    fl_peer_fail(p, "completion queue shut down while in use");
  }
  control_read(p);
}

void fl_peer_start(fl_peer *p, const grpc_op *ops, size_t n, fl_op *op, const char *what) {
  op->started = true;
  op->done = op->ok = false;
  grpc_call_error e = grpc_call_start_batch(p->call, ops, n, op, NULL);
  if (e != GRPC_CALL_OK)
    fl_peer_fail(p, "%s: grpc_call_start_batch: %s", what, grpc_call_error_to_string(e));
}

void fl_peer_wait_op(fl_peer *p, fl_op *op) {
  while (!op->done) fl_peer_pump(p, -1);
}

static void op_done_event(fl_peer *p, const char *name, const fl_op *op) {
  fl_peer_emit(p, "op_done", "op", name, "ok", op->ok ? "1" : "0", NULL);
}

static void step_send(fl_peer *p, const fl_step *st) {
  fl_payload_spec spec = {.kind = st->payload, .size = st->size};
  for (uint64_t i = 0; i < st->count; i++) {
    uint8_t *buf;
    size_t len;
    int rc = fl_payload_encode(&spec, p->seq + 1, &buf, &len);
    if (rc < 0)
      fl_peer_fail(p, "%s:%d:%d: cannot build message: %s", p->opt.scenario_path, st->line,
                   st->col, strerror(-rc));
    p->seq++;
    grpc_slice slice = grpc_slice_new(buf, len, free);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);

    grpc_op gop = {.op = GRPC_OP_SEND_MESSAGE};
    gop.data.send_message.send_message = bb;
    fl_op op = {0};
    fl_peer_emit(p, "op_start", "op", "send", NULL);
    fl_peer_start(p, &gop, 1, &op, "send");
    fl_peer_wait_op(p, &op);
    grpc_byte_buffer_destroy(bb);
    op_done_event(p, "send", &op);
    if (!op.ok) return;
    p->sent++;
    fl_peer_emit(p, "sent", "n", FL_NUM(p->sent), "bytes", FL_NUM(len), NULL);
  }
}

static void step_recv(fl_peer *p, const fl_step *st) {
  for (uint64_t i = 0; st->count == FL_RECV_ALL || i < st->count; i++) {
    grpc_byte_buffer *bb = NULL;
    grpc_op gop = {.op = GRPC_OP_RECV_MESSAGE};
    gop.data.recv_message.recv_message = &bb;
    fl_op op = {0};
    fl_peer_emit(p, "op_start", "op", "recv", NULL);
    fl_peer_start(p, &gop, 1, &op, "recv");
    fl_peer_wait_op(p, &op);
    op_done_event(p, "recv", &op);
    if (!op.ok) {
      if (bb) grpc_byte_buffer_destroy(bb);
      return;
    }
    if (!bb) {
      fl_peer_emit(p, "recv_end", NULL);
      return;
    }
    size_t len = grpc_byte_buffer_length(bb);
    grpc_byte_buffer_reader reader;
    fl_payload_info info = {0};
    if (grpc_byte_buffer_reader_init(&reader, bb)) {
      grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
      fl_payload_inspect(GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), &info);
      grpc_slice_unref(all);
      grpc_byte_buffer_reader_destroy(&reader);
    }
    grpc_byte_buffer_destroy(bb);
    p->received++;
    fl_peer_emit(p, "recv", "n", FL_NUM(p->received), "bytes", FL_NUM(len), "decoded",
                 info.decoded ? "1" : "0", NULL);
  }
}

static void step_sleep(fl_peer *p, int64_t ns) {
  int64_t end = fl_peer_now_ns() + ns;
  while (fl_peer_now_ns() < end) fl_peer_pump(p, end);
}

static void await_release(fl_peer *p, size_t index) {
  while (!p->released[index]) {
    if (p->ctl_eof) fl_peer_fail(p, "control fd closed while waiting on barrier %zu", index);
    fl_peer_pump(p, -1);
  }
}

static void step_wait(fl_peer *p, size_t index, const fl_step *st) {
  fl_peer_emit(p, "wait", "index", FL_NUM(index), "expr", st->text ? st->text : "", NULL);
  await_release(p, index);
  fl_peer_emit(p, "arrive", "index", FL_NUM(index), NULL);
}

/* A dump step: the runner stops both peers, dumps their threads and then releases this one,
 * so the dump shows exactly this point of the script. */
static void step_dump(fl_peer *p, size_t index) {
  fl_peer_emit(p, "dump", "index", FL_NUM(index), NULL);
  await_release(p, index);
}

void fl_peer_close_send(fl_peer *p) {
  grpc_op gop = {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT};
  fl_op op = {0};
  p->close_send_issued = true;
  fl_peer_emit(p, "op_start", "op", "close_send", NULL);
  fl_peer_start(p, &gop, 1, &op, "close_send");
  fl_peer_wait_op(p, &op);
  op_done_event(p, "close_send", &op);
  if (op.ok) fl_peer_emit(p, "half_close", NULL);
}

void fl_peer_send_status(fl_peer *p, int code, const char *message) {
  if (!message) message = "";
  grpc_slice details = grpc_slice_from_copied_buffer(message, strlen(message));
  grpc_op gop = {.op = GRPC_OP_SEND_STATUS_FROM_SERVER};
  gop.data.send_status_from_server.status = (grpc_status_code)code;
  gop.data.send_status_from_server.status_details = &details;
  fl_op op = {0};
  p->status_issued = true;
  fl_peer_emit(p, "op_start", "op", "status", NULL);
  fl_peer_start(p, &gop, 1, &op, "status");
  fl_peer_wait_op(p, &op);
  grpc_slice_unref(details);
  op_done_event(p, "status", &op);
  /* `status` on the server means "this status went out"; a call that was already over sent
   * nothing. */
  if (op.ok) fl_peer_emit(p, "status", "code", FL_NUM(code), "message", message, NULL);
}

void fl_peer_run_script(fl_peer *p) {
  for (size_t i = 0; i < p->plan->n_steps; i++) {
    const fl_step *st = &p->plan->steps[i];
    fl_peer_emit(p, "step", "index", FL_NUM(i), "name", fl_step_name(st->kind), NULL);
    switch (st->kind) {
    case FL_STEP_SEND:
      step_send(p, st);
      break;
    case FL_STEP_RECV:
      step_recv(p, st);
      break;
    case FL_STEP_SLEEP:
      step_sleep(p, st->duration_ns);
      break;
    case FL_STEP_CLOSE_SEND:
      if (p->is_server)
        fl_peer_fail(p, "%s:%d:%d: close_send is a client step", p->opt.scenario_path,
                     st->line, st->col);
      fl_peer_close_send(p);
      break;
    case FL_STEP_CANCEL:
      /* The event goes first: grpc_call_cancel already sends RST_STREAM, and the runner
       * must not see the other side's reaction before the cause. */
      fl_peer_emit(p, "cancel", NULL);
      p->cancelled_by_us = true;
      grpc_call_cancel(p->call, NULL);
      break;
    case FL_STEP_STATUS:
      if (!p->is_server)
        fl_peer_fail(p, "%s:%d:%d: status is a server step", p->opt.scenario_path, st->line,
                     st->col);
      fl_peer_send_status(p, st->status_code, st->status_message);
      break;
    case FL_STEP_WAIT:
      step_wait(p, i, st);
      break;
    case FL_STEP_DUMP:
      step_dump(p, i);
      break;
    default:
      fl_peer_fail(p, "%s:%d:%d: step kind %d is not supported by this peer",
                   p->opt.scenario_path, st->line, st->col, (int)st->kind);
    }
  }
}

grpc_channel_args *fl_peer_args_new(fl_peer *p, const grpc_arg *extra) {
  const fl_side_plan *plan = p->plan;
  grpc_channel_args *a = calloc(1, sizeof *a);
  if (!a || !(a->args = calloc(plan->n_args + 1, sizeof *a->args)))
    fl_peer_fail(p, "out of memory");
  bool extra_set = false;
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
    if (extra && strcmp(ca->key, extra->key) == 0) extra_set = true;
  }
  if (extra && !extra_set) a->args[a->num_args++] = *extra;
  return a;
}

void fl_peer_args_free(grpc_channel_args *a) {
  if (!a) return;
  free(a->args);
  free(a);
}
