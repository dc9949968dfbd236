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
  /* The message's bytes as they came, NUL or invalid UTF-8 included. */
  fl_call_emit(c, FL_EV_STATUS, FL_KV_I(CODE, c->status_code),
               FL_KV_BYTES(MESSAGE, (const char *)GRPC_SLICE_START_PTR(c->status_details),
                           GRPC_SLICE_LENGTH(c->status_details)));
}

/* Creates one call on the channel and starts what every call has pending from its start:
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
  c->call = grpc_channel_create_call(p->channel, NULL, GRPC_PROPAGATE_DEFAULTS, p->cq,
                                     grpc_slice_from_static_string(method), NULL, deadline, NULL);
  if (!c->call) fl_peer_fail(p, "cannot create a call to %s", method);
  grpc_metadata_array_init(&c->initial_md);
  grpc_metadata_array_init(&c->trailing_md);
  c->status_details = grpc_empty_slice();

  grpc_op op = {.op = GRPC_OP_SEND_INITIAL_METADATA};
  fl_call_start(c, &op, 1, &c->md_send, "send_initial_metadata");
  op = (grpc_op){.op = GRPC_OP_RECV_INITIAL_METADATA};
  op.data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
  fl_call_start(c, &op, 1, &c->md_recv, "recv_initial_metadata");
  op = (grpc_op){.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
  op.data.recv_status_on_client.trailing_metadata = &c->trailing_md;
  op.data.recv_status_on_client.status = &c->status_code;
  op.data.recv_status_on_client.status_details = &c->status_details;
  c->final_op.on_done = on_status;
  fl_call_start(c, &op, 1, &c->final_op, "recv_status_on_client");
  c->started = true;
  if (deadline_at)
    fl_call_emit(c, FL_EV_CALL_START, FL_KV_S(METHOD, method), FL_KV_I(DEADLINE_AT, deadline_at));
  else
    fl_call_emit(c, FL_EV_CALL_START, FL_KV_S(METHOD, method));
}

void fl_peer_run_client(fl_peer *p) {
  /* Retries would replay a call the script is trying to break. */
  grpc_arg no_retries = {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES};
  no_retries.value.integer = 0;
  grpc_channel_args *args = fl_peer_args_new(p, &no_retries);
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  p->channel = grpc_channel_create(p->opt.target, creds, args);
  grpc_channel_credentials_release(creds);
  fl_peer_args_free(args);
  if (!p->channel) fl_peer_fail(p, "cannot create a channel to %s", p->opt.target);
  long long limit = fl_peer_recv_limit(p);
  if (limit >= 0)
    fl_peer_emit(p, FL_EV_READY, FL_KV_I(RECV_LIMIT, limit));
  else
    fl_peer_emit(p, FL_EV_READY);

  /* Every stream on the one channel: C core multiplexes them on one HTTP/2 connection. */
  const char *method = fl_scenario_method(p->scenario);
  for (size_t i = 0; i < p->n_calls; i++) start_call(p, &p->calls[i], method);

  fl_peer_run_script(p);
  fl_peer_emit(p, FL_EV_DONE);

  for (size_t i = 0; i < p->n_calls; i++) {
    fl_call *c = &p->calls[i];
    grpc_call_unref(c->call);
    c->call = NULL;
    grpc_metadata_array_destroy(&c->initial_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    grpc_slice_unref(c->status_details);
  }
  grpc_channel_destroy(p->channel);
  p->channel = NULL;
}
