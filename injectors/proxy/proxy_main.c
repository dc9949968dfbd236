/*
 * faultline-proxy: the path proxy (see proxy.h), started by the runner like a peer.
 * Exit status: 0 when the control fd reached EOF, 1 on an error (after an `error` event),
 * 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "proxy.h"

static void usage(FILE *f) {
  fprintf(f, "usage: faultline-proxy --scenario FILE --upstream HOST:PORT --events-fd N\n"
             "                       --control-fd N\n"
             "\n"
             "Forwards TCP connections from 127.0.0.1 (a port the kernel picks, reported as\n"
             "`ready port=N`) to the upstream, with the scenario's path: and faults:. Started by\n"
             "`faultline run`; it can also be driven by hand (--events-fd 1 --control-fd 0).\n"
             "\n"
             "  --scenario FILE     the scenario file (path: and faults:)\n"
             "  --upstream H:P      the server's address (IPv4)\n"
             "  --events-fd N       where events go, one line each (harness/observe/event.h)\n"
             "  --control-fd N      `fire K` lines (fault K's trigger held); EOF ends the run\n"
             "\n"
             "Exit status: 0 the control fd reached EOF, 1 error (`error` event), 2 bad usage.\n");
}

static int parse_fd(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < 0 || v > INT_MAX) return -1;
  *out = (int)v;
  return 0;
}

static _Noreturn void fail(int events_fd, const char *msg) {
  fprintf(stderr, "faultline-proxy: %s\n", msg);
  fl_event_kv kv = FL_KV_S(MESSAGE, msg);
  char err[128];
  if (events_fd >= 0) (void)!fl_event_write(events_fd, FL_EV_ERROR, &kv, 1, err, sizeof err);
  exit(1);
}

int main(int argc, char **argv) {
  enum { OPT_SCENARIO = 256, OPT_UPSTREAM, OPT_EVENTS, OPT_CONTROL };
  static const struct option longopts[] = {
      {"scenario", required_argument, NULL, OPT_SCENARIO},
      {"upstream", required_argument, NULL, OPT_UPSTREAM},
      {"events-fd", required_argument, NULL, OPT_EVENTS},
      {"control-fd", required_argument, NULL, OPT_CONTROL},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  fl_proxy_options opt = {.events_fd = -1, .control_fd = -1};
  const char *scenario = NULL;
  for (int c; (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1;) {
    switch (c) {
    case OPT_SCENARIO: scenario = optarg; break;
    case OPT_UPSTREAM: opt.upstream = optarg; break;
    case OPT_EVENTS:
    case OPT_CONTROL:
      if (parse_fd(optarg, c == OPT_EVENTS ? &opt.events_fd : &opt.control_fd) < 0) {
        fprintf(stderr, "faultline-proxy: bad file descriptor \"%s\"\n", optarg);
        return 2;
      }
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  const char *bad = NULL;
  if (optind < argc)
    bad = "unexpected argument";
  else if (!scenario)
    bad = "--scenario is required";
  else if (!opt.upstream)
    bad = "--upstream is required";
  else if (opt.events_fd < 0 || opt.control_fd < 0)
    bad = "--events-fd and --control-fd are required";
  if (bad) {
    fprintf(stderr, "faultline-proxy: %s\n", bad);
    usage(stderr);
    return 2;
  }
  /* A vanished runner or peer shows up as a failed write, not as a signal. */
  signal(SIGPIPE, SIG_IGN);

  fl_scenario *s;
  fl_error serr;
  if (fl_scenario_load(scenario, &s, &serr) < 0) fail(opt.events_fd, serr.msg);
  opt.scenario = s;
  fl_proxy *p;
  char err[512];
  if (fl_proxy_new(&opt, &p, err, sizeof err) < 0) fail(opt.events_fd, err);
  if (fl_proxy_run(p, err, sizeof err) < 0) fail(opt.events_fd, err);
  fl_proxy_free(p);
  fl_scenario_free(s);
  return 0;
}
