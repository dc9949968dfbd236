/*
 * procs: the proxy suite's process driver. Starts a built-in server peer, faultline-proxy in
 * front of it and a built-in client peer aimed at the proxy, each in its own process group
 * with its events on a pipe (fd 3) and its control on another (fd 4), as the runner does;
 * collects every event line of all three; waits on events, never on time; and ends them all
 * (control pipes closed, then SIGKILL to each group) on every path, so no process outlives a
 * test.
 */
#ifndef FL_TEST_PROCS_H
#define FL_TEST_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum { P_SERVER, P_PROXY, P_CLIENT, P_N };

#include "event.h"

typedef struct {
  char *line;   /* "<ns> name k=v ..." as written */
  char *parsed; /* a copy the parser decoded in place; ev points into it */
  fl_event ev;
  bool ok; /* the line keeps event.h's table (else `error` says why) */
  char error[160];
} ev_line;

typedef struct {
  const char *name;
  pid_t pid;
  int ev_fd, ctl_fd;
  char buf[65536];
  size_t len;
  ev_line *lines;
  size_t n_lines, cap_lines;
  bool eof;
  int status; /* from waitpid, once reaped */
  bool reaped;
  char stderr_path[256];
} proc;

typedef struct {
  const char *build;    /* the build root: faultline-peer, faultline-proxy */
  const char *scenario; /* the scenario file for all three */
  proc p[P_N];
  char tmp[128];
  int proxy_port, server_port;
} run;

/* Starts server and proxy (waiting for both `ready`), then the client when start_client.
 * With upstream_port > 0 no server peer is started: the proxy dials that port. */
int run_start(run *r, const char *build, const char *scenario, int upstream_port,
              bool start_client);
int run_start_client(run *r);
/* Waits (up to timeout_ms) until process `who` has an event named `name` whose attributes
 * include every "k=v" of `attrs` (NULL-terminated, may be NULL); returns the first such
 * line's index, or -1 on timeout or when the process's events end without one. */
int run_wait(run *r, int who, const char *name, const char *const *attrs, int timeout_ms);
/* Waits until `who` has exited (its events pipe closed). */
int run_wait_exit(run *r, int who, int timeout_ms);
/* Writes a control line to `who`. */
int run_control(run *r, int who, const char *line);
/* Ends every process; the events collected stay for the queries below. */
void run_end(run *r);
/* Prints each process's events and stderr. */
void run_dump(const run *r);
/* Ends what still runs and frees everything. */
void run_free(run *r);

/* Event queries on what was collected. */
int ev_count(const run *r, int who, const char *name, const char *const *attrs);
/* The k-th (0-based) matching event's line index, or -1. */
int ev_find(const run *r, int who, const char *name, const char *const *attrs, int k);
/* An attribute of line i (decoded), into buf; NULL if absent. */
const char *ev_attr(const run *r, int who, int i, const char *key, char *buf, size_t len);
long long ev_attr_num(const run *r, int who, int i, const char *key, long long dflt);
int64_t ev_ns(const run *r, int who, int i);
/* Lines of `who` that break the event table (each printed), 0 if none. */
int ev_protocol_errors(const run *r, int who);

#define ATTRS(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif
