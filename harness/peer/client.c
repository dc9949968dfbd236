#include "peer.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

/* Runs from the pump as soon as the final status arrives, whatever step is running. */
static void on_status(fl_peer *p, fl_op *op) {
  (void)p;
  fl_call *c = op->call;
  static char md[FL_METADATA_TEXT_MAX];
  fl_peer_metadata_text(&c->trailing_md, md);
  /* The message's bytes as they came, NUL or invalid UTF-8 included. */
  fl_event_kv msg = FL_KV_BYTES(MESSAGE, (const char *)GRPC_SLICE_START_PTR(c->status_details),
                                GRPC_SLICE_LENGTH(c->status_details));
  if (md[0])
    fl_call_emit(c, FL_EV_STATUS, FL_KV_I(CODE, c->status_code), msg, FL_KV_S(METADATA, md));
  else
    fl_call_emit(c, FL_EV_STATUS, FL_KV_I(CODE, c->status_code), msg);
}

/* The response headers arrived (or C core ended the wait for them: a trailers-only response,
 * the call's end). A recv_headers step waiting for them goes on. */
static void on_headers(fl_peer *p, fl_op *op) {
  (void)p;
  fl_call *c = op->call;
  if (!op->ok) return;
  static char md[FL_METADATA_TEXT_MAX];
  if (fl_peer_metadata_text(&c->initial_md, md)[0])
    fl_call_emit(c, FL_EV_HEADERS, FL_KV_S(METADATA, md));
  else
    fl_call_emit(c, FL_EV_HEADERS);
}

/* The channel of call c's slot, opened now if the slot has none (its first call, a call after
 * a close_channel, every call with per_call). */
static grpc_channel *slot_channel(fl_peer *p, fl_call *c) {
  fl_channel_slot *slot = &p->slots[c->slot];
  if (!slot->channel) {
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    slot->channel = grpc_channel_create(p->opt.target, creds, p->channel_args);
    grpc_channel_credentials_release(creds);
    if (!slot->channel) fl_peer_fail(p, "cannot create a channel to %s", p->opt.target);
    slot->no = ++p->channels_opened;
  }
  c->channel_no = slot->no;
  return slot->channel;
}

void fl_client_close_channel(fl_peer *p, fl_call *c) {
  fl_channel_slot *slot = &p->slots[c->slot];
  if (!slot->channel || slot->no != c->channel_no) return; /* closed already */
  grpc_channel_destroy(slot->channel);
  slot->channel = NULL;
  fl_call_emit(c, FL_EV_CLOSE_CHANNEL, FL_KV_I(CHANNEL, c->channel_no));
}

/* Creates one call on its channel and starts what every call has pending from its start:
 * initial metadata both ways and the final status. */
static void start_call(fl_peer *p, fl_call *c, const char *method) {
  gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
  /* The deadline on the clock events are stamped with, read just before C core's own: the
   * runner tells ops that C core completed because the deadline ended the call by it. */
  int64_t deadline_at = 0;
  if (p->scenario->deadline_ns > 0) {
    deadline_at = fl_mono_ns() + p->scenario->deadline_ns;
    deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                            gpr_time_from_nanos(p->scenario->deadline_ns, GPR_TIMESPAN));
  }
  const fl_calls_plan *cp = &p->scenario->calls;
  c->slot = cp->per_call ? c->id - 1 : (c->id - 1) % cp->channels;
  grpc_channel *channel = slot_channel(p, c);
  c->call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, p->cq,
                                     grpc_slice_from_static_string(method), NULL, deadline, NULL);
  if (!c->call) fl_peer_fail(p, "cannot create a call to %s", method);
  grpc_metadata_array_init(&c->initial_md);
  grpc_metadata_array_init(&c->trailing_md);
  c->status_details = grpc_empty_slice();

  /* deadline_metadata (peer.h, HEADERS): the same deadline as an absolute time on this side's
   * wall clock, after the plan's metadata. C core copies the array and refs the value's slice
   * when the batch starts. */
  grpc_metadata md[FL_METADATA_MAX_ENTRIES + 1];
  size_t n_md = p->n_md_out;
  if (n_md) memcpy(md, p->md_out, n_md * sizeof *md);
  grpc_slice deadline_value = grpc_empty_slice();
  if (p->plan->deadline_metadata) {
    char text[FL_METADATA_DEADLINE_TEXT];
    size_t len =
        fl_metadata_deadline_format(fl_real_ms() + p->scenario->deadline_ns / 1000000, text);
    deadline_value = grpc_slice_from_copied_buffer(text, len);
    md[n_md++] = (grpc_metadata){.key = grpc_slice_from_static_string(p->plan->deadline_metadata),
                                 .value = deadline_value};
  }
  grpc_op op = {.op = GRPC_OP_SEND_INITIAL_METADATA};
  op.data.send_initial_metadata.count = n_md;
  op.data.send_initial_metadata.metadata = n_md ? md : NULL;
  fl_call_start(c, &op, 1, &c->md_send, "send_initial_metadata");
  grpc_slice_unref(deadline_value);
  op = (grpc_op){.op = GRPC_OP_RECV_INITIAL_METADATA};
  op.data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
  c->md_recv.on_done = on_headers;
  fl_call_start(c, &op, 1, &c->md_recv, "recv_initial_metadata");
  op = (grpc_op){.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
  op.data.recv_status_on_client.trailing_metadata = &c->trailing_md;
  op.data.recv_status_on_client.status = &c->status_code;
  op.data.recv_status_on_client.status_details = &c->status_details;
  c->final_op.on_done = on_status;
  fl_call_start(c, &op, 1, &c->final_op, "recv_status_on_client");
  c->started = true;
  fl_event_kv kv[3] = {FL_KV_S(METHOD, method)};
  size_t n = 1;
  if (deadline_at) kv[n++] = FL_KV_I(DEADLINE_AT, deadline_at);
  if (p->several_channels) kv[n++] = FL_KV_I(CHANNEL, c->channel_no);
  fl_peer_emitv(p, c, FL_EV_CALL_START, kv, n);
}

/* Starts the calls that are due (calls.h): while fewer than `concurrency` are open, the next
 * one, once its time (the first's start + k x `every`) has come. */
static void start_due_calls(fl_peer *p) {
  const fl_calls_plan *cp = &p->scenario->calls;
  const char *method = fl_scenario_method(p->scenario);
  while (p->n_started < p->n_calls && p->n_open < cp->concurrency) {
    if (cp->every_ns > 0 && p->n_started > 0 &&
        !fl_peer_timer(p, p->first_start_ns + (int64_t)p->n_started * cp->every_ns))
      return;
    fl_call *c = &p->calls[p->n_started++];
    if (p->n_started == 1) p->first_start_ns = fl_mono_ns();
    p->n_open++;
    start_call(p, c, method);
  }
}

/* A call is over: its C core objects go back at once (a long run of calls holds only the open
 * ones), and with per_call its channel closes. */
static void release_call(fl_peer *p, fl_call *c) {
  if (c->released || !c->call) return;
  c->released = true;
  grpc_call_unref(c->call);
  c->call = NULL;
  grpc_metadata_array_destroy(&c->initial_md);
  grpc_metadata_array_destroy(&c->trailing_md);
  grpc_slice_unref(c->status_details);
  fl_channel_slot *slot = &p->slots[c->slot];
  if (p->scenario->calls.per_call && slot->channel) {
    grpc_channel_destroy(slot->channel);
    slot->channel = NULL;
  }
}

/* A step of the script closes channels: the calls after it on that slot need their own. */
static bool has_close_channel(const fl_side_plan *plan) {
  for (size_t i = 0; i < plan->n_steps; i++)
    if (plan->steps[i].kind == FL_STEP_CLOSE_CHANNEL) return true;
  return false;
}

void fl_peer_run_client(fl_peer *p) {
  const fl_calls_plan *cp = &p->scenario->calls;
  p->several_channels =
      cp->channels > 1 || cp->per_call || (cp->count > 1 && has_close_channel(p->plan));
  /* Retries would replay a call the script is trying to break. Several channels to one
   * target would share one connection through C core's global subchannel pool; a local pool
   * gives each its own. */
  grpc_arg extra[2] = {{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES},
                       {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL}};
  extra[0].value.integer = 0;
  extra[1].value.integer = 1;
  p->channel_args = fl_peer_args_new(p, extra, p->several_channels ? 2 : 1);
  if (!(p->slots = calloc(cp->channels ? cp->channels : 1, sizeof *p->slots)))
    fl_peer_fail(p, "out of memory");
  /* The first channel exists before `ready`, as it always did; the others when their first
   * call starts. */
  fl_call first = {.p = p, .slot = 0};
  slot_channel(p, &first);
  long long limit = fl_peer_recv_limit(p);
  if (limit >= 0)
    fl_peer_emit(p, FL_EV_READY, FL_KV_I(RECV_LIMIT, limit));
  else
    fl_peer_emit(p, FL_EV_READY);

  p->start_calls = start_due_calls;
  p->call_over = release_call;
  fl_peer_run_script(p);
  fl_peer_emit(p, FL_EV_DONE);

  for (size_t i = 0; i < p->n_calls; i++) release_call(p, &p->calls[i]);
  for (uint32_t i = 0; i < (cp->channels ? cp->channels : 1); i++)
    if (p->slots[i].channel) grpc_channel_destroy(p->slots[i].channel);
  free(p->slots);
  p->slots = NULL;
  fl_peer_args_free(p->channel_args);
  p->channel_args = NULL;
}
