/*
 * faultline-peer: the built-in gRPC server and client on C core (see peer.h).
 * Exit status: 0 after `done`, 1 on an internal error (after an `error` event), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/support/time.h>

#include "config.h"
#include "peer.h"

static void usage(FILE *f) {
  fprintf(f, "usage: faultline-peer --side server|client --scenario FILE --events-fd N\n"
             "                      --control-fd N [--target HOST:PORT] [--base-dir DIR]\n"
             "\n"
             "Runs one side's script of a scenario on gRPC C core. Started by `faultline run`;\n"
             "it can also be driven by hand (e.g. --events-fd 1 --control-fd 0).\n"
             "\n"
             "  --side S          server (listens on 127.0.0.1, port 0, reports `ready port=N`)\n"
             "                    or client (calls --target)\n"
             "  --scenario FILE   the scenario file; the peer runs its side's script\n"
             "  --events-fd N     where events go, one line each (see harness/event.h)\n"
             "  --control-fd N    where barrier releases (\"go <index>\") come from\n"
             "  --target H:P      client: the server's address; server: the address to listen on\n"
             "                    (default 127.0.0.1:0, a port the kernel picks)\n"
             "  --base-dir DIR    where the scenario's relative paths (a payload's proto or\n"
             "                    file, decode's proto) are found: the directory of the file\n"
             "                    FILE is a copy of (default: FILE's own directory)\n"
             "  --version         the version, and gRPC core's as the library says\n"
             "                    (grpc_version_string(); versions.json of a bundle reads it)\n"
             "\n"
             "Exit status: 0 the script ran to the end (`done`), 1 internal error (`error`\n"
             "event), 2 bad usage.\n");
}

static int parse_fd(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < 0 || v > INT_MAX) return -1;
  *out = (int)v;
  return 0;
}

/* Waits for the control pipe's writer to close it (poll reports POLLHUP also with events 0,
 * and leaves the data for the main loop), then ends the process, as fl_peer_pump would. */
static void *watch_control_close(void *arg) {
  struct pollfd pfd = {.fd = *(const int *)arg, .events = 0};
  for (;;) {
    if (poll(&pfd, 1, -1) < 0 && errno == EINTR) continue;
    if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) _exit(0);
  }
  return NULL;
}

int main(int argc, char **argv) {
  enum { OPT_SIDE = 256, OPT_SCENARIO, OPT_EVENTS, OPT_CONTROL, OPT_TARGET, OPT_BASE_DIR };
  static const struct option longopts[] = {
      {"side", required_argument, NULL, OPT_SIDE},
      {"scenario", required_argument, NULL, OPT_SCENARIO},
      {"events-fd", required_argument, NULL, OPT_EVENTS},
      {"control-fd", required_argument, NULL, OPT_CONTROL},
      {"target", required_argument, NULL, OPT_TARGET},
      {"base-dir", required_argument, NULL, OPT_BASE_DIR},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  fl_peer p = {.opt = {.events_fd = -1, .control_fd = -1}};
  for (int c; (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1;) {
    switch (c) {
    case OPT_SIDE: p.opt.side = optarg; break;
    case OPT_SCENARIO: p.opt.scenario_path = optarg; break;
    case OPT_TARGET: p.opt.target = optarg; break;
    case OPT_BASE_DIR: p.opt.base_dir = optarg; break;
    case OPT_EVENTS:
    case OPT_CONTROL:
      if (parse_fd(optarg, c == OPT_EVENTS ? &p.opt.events_fd : &p.opt.control_fd) < 0) {
        fprintf(stderr, "faultline-peer: bad file descriptor \"%s\"\n", optarg);
        return 2;
      }
      break;
    case 'h': usage(stdout); return 0;
    case 'V':
      printf("faultline-peer %s (gRPC core %s)\n", FL_VERSION, grpc_version_string());
      return 0;
    default: usage(stderr); return 2;
    }
  }
  const char *bad = NULL;
  if (optind < argc)
    bad = "unexpected argument";
  else if (!p.opt.side || (strcmp(p.opt.side, "server") && strcmp(p.opt.side, "client")))
    bad = "--side must be server or client";
  else if (!p.opt.scenario_path)
    bad = "--scenario is required";
  else if (p.opt.events_fd < 0 || p.opt.control_fd < 0)
    bad = "--events-fd and --control-fd are required";
  else if (!strcmp(p.opt.side, "client") && !p.opt.target)
    bad = "--target is required for the client";
  if (bad) {
    fprintf(stderr, "faultline-peer: %s\n", bad);
    usage(stderr);
    return 2;
  }
  p.is_server = strcmp(p.opt.side, "server") == 0;

  /* A vanished runner shows up as a failed event write, not as a signal. */
  signal(SIGPIPE, SIG_IGN);

  fl_error err;
  /* Proto payloads are encoded here, once, before the first call: never per message. */
  if (fl_scenario_load(p.opt.scenario_path, &p.scenario, &err) < 0 ||
      fl_scenario_resolve(p.scenario, p.opt.base_dir, &err) < 0)
    fl_peer_fail(&p, "%s", err.msg);
  p.plan = p.is_server ? &p.scenario->server : &p.scenario->client;
  p.n_calls = p.scenario->calls.count ? p.scenario->calls.count : 1;
  fl_peer_metadata_new(&p, &p.plan->metadata, &p.md_out, &p.n_md_out);
  fl_peer_metadata_new(&p, &p.plan->trailers, &p.trailers_out, &p.n_trailers_out);
  if (!(p.released = calloc(p.plan->n_steps + 1, sizeof *p.released)) ||
      !(p.dumped = calloc(p.plan->n_steps + 1, sizeof *p.dumped)) ||
      !(p.calls = calloc(p.n_calls, sizeof *p.calls)))
    fl_peer_fail(&p, "out of memory");
  for (size_t i = 0; i < p.n_calls; i++) {
    p.calls[i].p = &p;
    p.calls[i].id = (unsigned)i + 1;
    p.calls[i].last_send_ok = p.calls[i].last_recv_ok = true;
  }

  /* The end of the run is the control pipe's EOF. The main loop reads the pipe between its
   * completion-queue slices; this thread only watches for the writer's close, so that the peer
   * leaves the moment the run is over, not up to a slice later. */
  /* First, so that every thread started after it (the watcher, C core's) has SIGTERM blocked. */
  if (p.is_server) fl_server_watch_term(&p);
  pthread_t watcher;
  if (pthread_create(&watcher, NULL, watch_control_close, &p.opt.control_fd) != 0)
    fl_peer_fail(&p, "cannot start a thread: %s", strerror(errno));
  pthread_detach(watcher);

  grpc_init();
  p.cq = grpc_completion_queue_create_for_next(NULL);
  if (p.is_server) fl_peer_run_server(&p); /* does not return */
  fl_peer_run_client(&p);

  /* The client's ops have all completed by now; drain whatever C core still queues. */
  grpc_completion_queue_shutdown(p.cq);
  gpr_timespec limit =
      gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(5, GPR_TIMESPAN));
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(p.cq, limit, NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
      /* `done` is out and the script's result stands; do not hang on C core's cleanup. */
      fprintf(stderr, "faultline-peer(%s): completion queue did not drain in 5s\n", p.opt.side);
      _exit(0);
    }
  }
  grpc_completion_queue_destroy(p.cq);
  grpc_shutdown();

  free(p.released);
  free(p.dumped);
  free(p.calls);
  free(p.md_out);
  free(p.trailers_out);
  fl_scenario_free(p.scenario);
  return 0;
}
