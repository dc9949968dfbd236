#include "peer.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

/* Runs from the pump as soon as the final status arrives, whatever step is running. */
static void on_status(fl_peer *p, fl_op *op) {
  (void)op;
  p->call_over = true;
  char *message = grpc_slice_to_c_string(p->status_details);
  fl_peer_emit(p, "status", "code", FL_NUM(p->status_code), "message", message, NULL);
  gpr_free(message);
}

void fl_peer_run_client(fl_peer *p) {
  /* Retries would replay a call the script is trying to break. */
  grpc_arg no_retries = {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES};
  no_retries.value.integer = 0;
  grpc_channel_args *args = fl_peer_args_new(p, &no_retries);
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  grpc_channel *channel = grpc_channel_create(p->opt.target, creds, args);
  grpc_channel_credentials_release(creds);
  fl_peer_args_free(args);
  if (!channel) fl_peer_fail(p, "cannot create a channel to %s", p->opt.target);
  fl_peer_emit(p, "ready", NULL);

  const char *method = fl_rpc_method(p->scenario->rpc);
  gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
  if (p->scenario->deadline_ns > 0)
    deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                            gpr_time_from_nanos(p->scenario->deadline_ns, GPR_TIMESPAN));
  grpc_slice method_slice = grpc_slice_from_static_string(method);
  p->call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, p->cq, method_slice,
                                     NULL, deadline, NULL);
  if (!p->call) fl_peer_fail(p, "cannot create a call to %s", method);

  fl_op md_send = {0}, md_recv = {0}, status = {.on_done = on_status};
  grpc_metadata_array initial_md;
  grpc_metadata_array_init(&initial_md);
  grpc_metadata_array_init(&p->trailing_md);
  p->status_details = grpc_empty_slice();

  grpc_op op = {.op = GRPC_OP_SEND_INITIAL_METADATA};
  fl_peer_start(p, &op, 1, &md_send, "send_initial_metadata");
  op = (grpc_op){.op = GRPC_OP_RECV_INITIAL_METADATA};
  op.data.recv_initial_metadata.recv_initial_metadata = &initial_md;
  fl_peer_start(p, &op, 1, &md_recv, "recv_initial_metadata");
  op = (grpc_op){.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
  op.data.recv_status_on_client.trailing_metadata = &p->trailing_md;
  op.data.recv_status_on_client.status = &p->status_code;
  op.data.recv_status_on_client.status_details = &p->status_details;
  fl_peer_start(p, &op, 1, &status, "recv_status_on_client");
  fl_peer_emit(p, "call_start", "method", method, NULL);

  fl_peer_run_script(p);

  /* A client that ends its script without half-closing would leave a server in `recv: all`
   * waiting forever, so close it. This does not look at whether the status has arrived: that
   * is a race with the script's last step, and the events must not depend on it. */
  if (!p->close_send_issued && !p->cancelled_by_us) fl_peer_close_send(p);
  fl_peer_wait_op(p, &status);
  fl_peer_wait_op(p, &md_send);
  fl_peer_wait_op(p, &md_recv);
  fl_peer_emit(p, "done", NULL);

  grpc_call_unref(p->call);
  p->call = NULL;
  grpc_metadata_array_destroy(&initial_md);
  grpc_metadata_array_destroy(&p->trailing_md);
  grpc_slice_unref(p->status_details);
  grpc_channel_destroy(channel);
}
