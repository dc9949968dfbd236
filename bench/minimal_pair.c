/*
 * The baseline for bench/overhead: the smallest C core server and client that do what
 * `faultline run empty-stream` does (a bidi call, half-closed at once, ended OK), in two
 * processes, with nothing else: no scenario, no events, no runner.
 *
 *   minimal_pair        starts the server program, reads its port from a pipe, starts the
 *                       client program, waits for both.
 *
 * Both sides are exec'd as programs of their own (this binary with --server / --client), as
 * faultline's peers are: a fork without exec would skip loading and relocating libgrpc, a
 * cost every real gRPC process pays.
 */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *tag(intptr_t t) { return (void *)t; }

static void wait_tag(grpc_completion_queue *cq, intptr_t want) {
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_OP_COMPLETE && ev.tag == tag(want)) return;
  }
}

static void destroy_cq(grpc_completion_queue *cq) {
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
}

static int run_server(int port_fd) {
  grpc_init();
  grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
  grpc_server *server = grpc_server_create(NULL, NULL);
  grpc_server_register_completion_queue(server, cq, NULL);
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  int port = grpc_server_add_http2_port(server, "127.0.0.1:0", creds);
  grpc_server_credentials_release(creds);
  grpc_server_start(server);
  dprintf(port_fd, "%d\n", port);
  close(port_fd);

  grpc_call *call;
  grpc_call_details details;
  grpc_metadata_array md;
  grpc_call_details_init(&details);
  grpc_metadata_array_init(&md);
  grpc_server_request_call(server, &call, &details, &md, cq, cq, tag(1));
  wait_tag(cq, 1);

  grpc_byte_buffer *msg = NULL;
  int cancelled = 0;
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_RECV_MESSAGE;
  ops[1].data.recv_message.recv_message = &msg;
  grpc_call_start_batch(call, ops, 2, tag(2), NULL);
  wait_tag(cq, 2);
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[0].data.send_status_from_server.status = GRPC_STATUS_OK;
  ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[1].data.recv_close_on_server.cancelled = &cancelled;
  grpc_call_start_batch(call, ops, 2, tag(3), NULL);
  wait_tag(cq, 3);

  grpc_call_unref(call);
  grpc_call_details_destroy(&details);
  grpc_metadata_array_destroy(&md);
  grpc_server_shutdown_and_notify(server, cq, tag(4));
  wait_tag(cq, 4);
  grpc_server_destroy(server);
  destroy_cq(cq);
  grpc_shutdown();
  return 0;
}

static int run_client(int port) {
  grpc_init();
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  grpc_channel *ch = grpc_channel_create(target, creds, NULL);
  grpc_channel_credentials_release(creds);
  grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
  grpc_slice method = grpc_slice_from_static_string("/faultline.Test/Bidi");
  grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                             gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_metadata_array initial, trailing;
  grpc_metadata_array_init(&initial);
  grpc_metadata_array_init(&trailing);
  grpc_status_code status;
  grpc_slice details;
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[2].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[2].data.recv_initial_metadata.recv_initial_metadata = &initial;
  ops[3].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[3].data.recv_status_on_client.trailing_metadata = &trailing;
  ops[3].data.recv_status_on_client.status = &status;
  ops[3].data.recv_status_on_client.status_details = &details;
  grpc_call_start_batch(call, ops, 4, tag(1), NULL);
  wait_tag(cq, 1);
  grpc_slice_unref(details);
  grpc_metadata_array_destroy(&initial);
  grpc_metadata_array_destroy(&trailing);
  grpc_call_unref(call);
  grpc_channel_destroy(ch);
  destroy_cq(cq);
  grpc_shutdown();
  return status == GRPC_STATUS_OK ? 0 : 1;
}

static pid_t spawn(const char *self, const char *role, const char *arg, int keep_fd) {
  pid_t pid = fork();
  if (pid == 0) {
    if (keep_fd >= 0 && keep_fd != 3) {
      dup2(keep_fd, 3);
      close(keep_fd);
    }
    execl(self, self, role, arg, (char *)NULL);
    _exit(127);
  }
  return pid;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--server")) return run_server(3);
  if (argc == 3 && !strcmp(argv[1], "--client")) return run_client(atoi(argv[2]));

  int fds[2];
  if (pipe(fds) < 0) return 3;
  pid_t server = spawn("/proc/self/exe", "--server", "-", fds[1]);
  close(fds[1]);
  char buf[32] = {0};
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  int port = n > 0 ? atoi(buf) : 0;
  if (port <= 0) return 3;
  pid_t client = spawn("/proc/self/exe", "--client", buf, -1);
  int cs, ss;
  waitpid(client, &cs, 0);
  waitpid(server, &ss, 0);
  return WIFEXITED(cs) && WEXITSTATUS(cs) == 0 && WIFEXITED(ss) && WEXITSTATUS(ss) == 0 ? 0 : 1;
}
