#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>

/* The close op finishes when the call is over for the server: status sent, or the client
 * cancelled, or the deadline passed. It runs from the pump, so `cancelled` appears when it
 * happens, also in the middle of a sleep or a blocked send. */
static void on_close(fl_peer *p, fl_op *op) {
  p->call_over = true;
  if (!op->ok)
    fprintf(stderr, "faultline-peer(server): RECV_CLOSE_ON_SERVER failed\n");
  fl_peer_emit(p, "cancelled", "value", p->close_cancelled ? "1" : "0", NULL);
}

void fl_peer_run_server(fl_peer *p) {
  grpc_channel_args *args = fl_peer_args_new(p, NULL);
  grpc_server *server = grpc_server_create(args, NULL);
  fl_peer_args_free(args);
  grpc_server_register_completion_queue(server, p->cq, NULL);
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  int port = grpc_server_add_http2_port(server, "127.0.0.1:0", creds);
  grpc_server_credentials_release(creds);
  if (port <= 0) fl_peer_fail(p, "cannot listen on 127.0.0.1:0");
  grpc_server_start(server);
  fl_peer_emit(p, "ready", "port", FL_NUM(port), NULL);

  grpc_call_details details;
  grpc_metadata_array request_md;
  grpc_call_details_init(&details);
  grpc_metadata_array_init(&request_md);
  fl_op accept = {0};
  grpc_call_error e =
      grpc_server_request_call(server, &p->call, &details, &request_md, p->cq, p->cq, &accept);
  if (e != GRPC_CALL_OK)
    fl_peer_fail(p, "grpc_server_request_call: %s", grpc_call_error_to_string(e));
  accept.started = true;
  fl_peer_wait_op(p, &accept);
  if (!accept.ok) fl_peer_fail(p, "accepting the call failed");

  char *method = grpc_slice_to_c_string(details.method);
  fl_peer_emit(p, "call_start", "method", method, NULL);
  gpr_free(method);

  fl_op close_op = {.on_done = on_close};
  grpc_op gop = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
  gop.data.recv_close_on_server.cancelled = &p->close_cancelled;
  fl_peer_start(p, &gop, 1, &close_op, "recv_close_on_server");

  fl_op md_op = {0};
  grpc_op md = {.op = GRPC_OP_SEND_INITIAL_METADATA};
  fl_peer_start(p, &md, 1, &md_op, "send_initial_metadata");

  fl_peer_run_script(p);

  /* A handler that returns without a status ends the call with OK, as in every gRPC server.
   * Whether the client's cancel has arrived yet is a race with the script's last step, so it
   * is not looked at: on a call that is over, the op fails (op_done ok=0, no `status`). */
  if (!p->status_issued && !p->cancelled_by_us)
    fl_peer_send_status(p, GRPC_STATUS_OK, "");
  fl_peer_wait_op(p, &close_op);
  fl_peer_wait_op(p, &md_op);
  fl_peer_emit(p, "done", NULL);

  grpc_call_unref(p->call);
  p->call = NULL;
  grpc_call_details_destroy(&details);
  grpc_metadata_array_destroy(&request_md);

  fl_op shutdown = {.started = true};
  grpc_server_shutdown_and_notify(server, p->cq, &shutdown);
  grpc_server_cancel_all_calls(server);
  fl_peer_wait_op(p, &shutdown);
  grpc_server_destroy(server);
}
