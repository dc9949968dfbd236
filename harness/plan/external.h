/*
 * external: a side that is not faultline's built-in peer (issue 10, "External sides").
 *
 *   server:
 *     exec: [./my-server, --port, "{port}"]  # a program faultline starts; {port}: a free
 *                                           # loopback port faultline chose, {addr}:
 *                                           # 127.0.0.1:{port}
 *     ready: { log: "listening on" }         # ready when a line of its output matches this
 *                                           # POSIX extended regex; without it, when {port}
 *                                           # accepts a connection
 *     start_timeout: 10s                     # how long it may take to be ready (default 10 s)
 *     env: { GODEBUG: http2debug=1 }         # added to its environment
 *     cwd: ../server                         # its working directory, relative to the
 *                                           # scenario file's directory
 *   server: { target: 127.0.0.1:50051 }      # a server that is already running (loopback,
 *                                           # unless `faultline run --allow-remote`)
 *   client:
 *     exec: [./my-client, --addr, "{target}"]  # {target}: the address to dial (the path
 *                                             # proxy when the run has one, else the server)
 *
 * A side with `exec:` or `target:` has no `script:` or `args:` (those drive the built-in peer);
 * `clock:`, `path:`, `faults:` and `capture:` apply to it as to any side. `{{` stands for `{`.
 * Errors come back through fl_plan_yaml as "FILE:LINE:COL: what is wrong".
 */
#ifndef FL_EXTERNAL_H
#define FL_EXTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan_yaml.h"
#include "util.h"

#define FL_EXTERNAL_START_TIMEOUT_DEFAULT_NS (10 * INT64_C(1000000000))
#define FL_EXTERNAL_MAX_ARGS 256

typedef struct {
  bool present;  /* exec: or target: */
  int line, col; /* of the exec: or target: key */
  char **argv;   /* exec, placeholders as written; NULL-terminated */
  size_t argc;
  char *target;             /* server target: "HOST:PORT" as written */
  char target_host[256];    /* its host */
  int target_port;          /* its port */
  bool target_loopback;     /* the host is 127.0.0.0/8, ::1 or localhost */
  char *ready_log;          /* ready: { log: REGEX }; NULL: the port accepting */
  int64_t start_timeout_ns; /* default FL_EXTERNAL_START_TIMEOUT_DEFAULT_NS */
  char **env;               /* "NAME=VALUE" */
  size_t n_env;
  char *cwd;     /* as written; NULL: the runner's */
  int keys_line; /* where the first of ready/start_timeout/env/cwd stands (for errors) */
  int keys_col;
  const char *keys_first; /* which one it was */
} fl_external_plan;

/* Whether `key` of a side is this module's: exec, target, ready, start_timeout, env, cwd. */
bool fl_external_is_key(const char *key);

/* Parses one of those keys' value `v` (key node `k`) for the server or the client side. */
FL_MUST_USE int fl_external_parse_key(const fl_plan_yaml *y, bool server, yaml_node_t *k,
                                      yaml_node_t *v, fl_external_plan *e);

/* The rules between the keys, once the side is parsed: exec or target, not both; ready,
 * start_timeout, env and cwd only with exec; no script or args beside them
 * (script_line/args_line: where they stand, 0 if absent). */
FL_MUST_USE int fl_external_check(const fl_plan_yaml *y, bool server, const fl_external_plan *e,
                                  int script_line, int script_col, int args_line, int args_col);

/* Writes `arg` with its placeholders replaced into out. Returns 0, or -1 when it does not fit
 * or names an unknown placeholder (what is wrong in err). port 0 / target NULL: that
 * placeholder is not available (for a client, {port} and {addr}; for a server, {target}). */
FL_MUST_USE int fl_external_expand(const char *arg, int port, const char *target, char *out,
                                   size_t len, char *err, size_t errlen);

void fl_external_free(fl_external_plan *e);

#endif
