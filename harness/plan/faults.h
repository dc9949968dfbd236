/*
 * faults: the scenario's `path:` and `faults:` keys, parsed into a plan.
 *
 *   path:                                   # TCP faults always on, for the whole run
 *     latency: { delay: 5ms, jitter: 1ms }  # both directions
 *     toward_client: { bandwidth: { rate: 1MiB/s } }   # only what flows toward the client
 *     toward_server: { slice: { size: 64, delay: 1ms } }
 *   faults:                                 # faults fired by triggers, each at most once
 *     - name: cut                           # optional; `since:` refers to it
 *       on: wire.server.data >= 2           # or `after: 500ms` (since the call started), with
 *       do: { rst_stream: { code: CANCEL } } #   `since: NAME` to count from another fault
 *       toward: client                      # who receives the frame / is affected
 *
 * Every action `do:` can name is one row of FL_FAULT_ACTIONS: its name, its layer (who
 * carries it out) and, in faults.c, its arguments. The TCP rows may also stand in `path:`.
 * The process rows (pause, kill, signal, restart) act on a side's process, named by
 * `toward:` (client, server or both); the runner carries them out, on any trigger.
 *
 * Triggers: `on: PREDICATE` fires the first time the predicate holds. A predicate on a peer's
 * fields (server.sent >= 5) is evaluated by the runner, which tells the proxy `fire K`; one on
 * a wire field (wire.server.data >= 37, wire.client.end_stream == true, wire.connections >= 2;
 * plan/fields.h) is evaluated by the proxy at the exact frame, before that frame is forwarded.
 * `after: D` fires D after the call started (the proxy forwarding the client's first HEADERS), or
 * after fault NAME fired with `since: NAME` (an earlier fault of the list).
 *
 * Errors come back as in scenario.c: "FILE:LINE:COL: what is wrong", with a near-miss
 * suggestion for a misspelt key, action, frame type, error code or setting.
 */
#ifndef FL_FAULTS_H
#define FL_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "plan_yaml.h"
#include "predicate.h"
#include "util.h"

typedef enum {
  FL_LAYER_TCP,     /* the proxy, on the bytes of a connection; also allowed in `path:` */
  FL_LAYER_FRAME,   /* the proxy, on HTTP/2 frames (h2c connections only) */
  FL_LAYER_PROCESS, /* the runner, on a side's process (signals; a restart) */
} fl_fault_layer;

/* X(ENUM, name, layer): every action, in the order the README lists them. */
#define FL_FAULT_ACTIONS(X)                                                                        \
  X(LATENCY, "latency", FL_LAYER_TCP)                                                              \
  X(BANDWIDTH, "bandwidth", FL_LAYER_TCP)                                                          \
  X(SLICE, "slice", FL_LAYER_TCP)                                                                  \
  X(RESET, "reset", FL_LAYER_TCP)                                                                  \
  X(BLACKHOLE, "blackhole", FL_LAYER_TCP)                                                          \
  X(CLOSE, "close", FL_LAYER_TCP)                                                                  \
  X(SLOW_CLOSE, "slow_close", FL_LAYER_TCP)                                                        \
  X(BUFFER, "buffer", FL_LAYER_TCP)                                                                \
  X(RST_STREAM, "rst_stream", FL_LAYER_FRAME)                                                      \
  X(GOAWAY, "goaway", FL_LAYER_FRAME)                                                              \
  X(PING, "ping", FL_LAYER_FRAME)                                                                  \
  X(SETTINGS, "settings", FL_LAYER_FRAME)                                                          \
  X(WITHHOLD_WINDOW_UPDATE, "withhold_window_update", FL_LAYER_FRAME)                              \
  X(DELAY_FRAME, "delay_frame", FL_LAYER_FRAME)                                                    \
  X(DROP_FRAME, "drop_frame", FL_LAYER_FRAME)                                                      \
  X(CORRUPT, "corrupt", FL_LAYER_FRAME)                                                            \
  X(PAUSE, "pause", FL_LAYER_PROCESS)                                                              \
  X(KILL, "kill", FL_LAYER_PROCESS)                                                                \
  X(SIGNAL, "signal", FL_LAYER_PROCESS)                                                            \
  X(RESTART, "restart", FL_LAYER_PROCESS)

typedef enum {
#define FL_FAULT_X(e, name, layer) FL_ACTION_##e,
  FL_FAULT_ACTIONS(FL_FAULT_X)
#undef FL_FAULT_X
      FL_N_ACTIONS
} fl_action_kind;

/* Which way an action works: the peer that receives the injected frame or is affected. */
typedef enum { FL_TOWARD_BOTH, FL_TOWARD_CLIENT, FL_TOWARD_SERVER } fl_toward;

typedef enum {
  FL_CORRUPT_LENGTH_PREFIX,   /* the gRPC message's 4-byte length */
  FL_CORRUPT_COMPRESSED_FLAG, /* the compressed flag set, though no compression was agreed */
} fl_corrupt_what;

#define FL_FOREVER INT64_MAX     /* withhold_window_update: {for: forever} */
#define FL_STREAM_ALL UINT32_MAX /* withhold_window_update without `stream`: every one */
#define FL_PING_MAX 100000       /* ping: {count} at most */
#define FL_GOAWAY_DEBUG_MAX 1024 /* goaway: {debug} bytes at most, well inside one frame */
#define FL_SETTINGS_MAX 6        /* settings: one value per SETTINGS parameter */

typedef struct {
  uint16_t id; /* an fl_h2_setting */
  uint32_t value;
} fl_setting_value;

/*
 * One action with its arguments. Each field belongs to the actions named beside it; the rest
 * are zero. Durations in ns, sizes in bytes.
 */
typedef struct {
  fl_action_kind kind;
  int line, col; /* where the action's name stands */

  int64_t delay_ns;  /* latency {delay}, slice {delay}, slow_close {delay}, delay_frame {by},
                        restart {delay}: between the end and the new start */
  int64_t jitter_ns; /* latency: each delay is delay +- jitter, from a seeded generator */
  uint64_t rate;     /* bandwidth: bytes per second */
  uint64_t size;     /* slice: bytes per write */
  uint64_t bytes;    /* buffer: release once this many have gathered; 0 = no such limit */
  int64_t for_ns;    /* buffer: release this long after the first held byte (0 = no such
                        limit); withhold_window_update, pause: how long, or FL_FOREVER */
  int signal;        /* signal {name}: TERM, INT, QUIT, HUP, USR1, USR2, CONT (a number) */
  uint32_t code;     /* rst_stream, goaway: an HTTP/2 error code */
  uint32_t stream;   /* rst_stream: 0 = the trigger's stream (else the newest open one);
                        withhold_window_update: N, 0 = the connection, FL_STREAM_ALL = all */
  bool last_stream_id_set;
  uint32_t last_stream_id; /* goaway; unset: the highest stream the receiver opened */
  char *debug;             /* goaway: debug data, "" when absent */
  uint32_t count;          /* ping: how many (default 1) */
  fl_setting_value settings[FL_SETTINGS_MAX]; /* settings, in the order written */
  size_t n_settings;
  uint8_t frame_type;   /* delay_frame, drop_frame: an fl_h2_frame_type */
  fl_corrupt_what what; /* corrupt */
  bool length_set;
  uint32_t length; /* corrupt length_prefix: the length to declare; unset: the real one + 1 */
} fl_action;

/* `path:`: one always-on action for one direction or both. */
typedef struct {
  fl_action action; /* of layer FL_LAYER_TCP */
  fl_toward toward;
} fl_path_fault;

typedef struct {
  bool present; /* the key appeared: the runner puts the proxy between client and server */
  int line, col;
  fl_path_fault *faults;
  size_t n_faults;
} fl_path_plan;

typedef enum {
  FL_TRIGGER_ON,    /* on: PREDICATE */
  FL_TRIGGER_AFTER, /* after: DURATION [since: NAME] */
} fl_trigger_kind;

typedef struct {
  fl_trigger_kind kind;
  int line, col;
  char *text;              /* on: the predicate as written */
  fl_predicate *predicate; /* on */
  bool wire; /* on a wire.* field: the proxy evaluates it at each frame; else (server.* or
                client.*) the runner does, and sends `fire K` */
  /* after */
  int64_t after_ns;
  int since; /* -1: since the call started; else the index of the fault counted from */
} fl_trigger;

/* One entry of `faults:`. Its index in the list is the K of `fire K` and of `fault` events. */
typedef struct {
  char *name; /* NULL when unnamed */
  int line, col;
  fl_trigger trigger;
  fl_action action;
  fl_toward toward;
} fl_fault;

/* Whether the run needs the path proxy: `path:` is there, or a fault acts on the path (a TCP
 * or frame fault; process faults are the runner's). */
bool fl_faults_need_proxy(const fl_path_plan *path, const fl_fault *faults, size_t n);

/* "latency", "rst_stream", ...; and the layer of an action. */
const char *fl_action_name(fl_action_kind k);
fl_fault_layer fl_action_layer(fl_action_kind k);
/* "both", "client", "server". */
const char *fl_toward_name(fl_toward t);

/* Who evaluates a fault's trigger: the proxy (wire predicates and `after:` of path faults) or
 * the runner (predicates on the peers' fields, for which it writes `fire K` to the proxy's
 * control fd; and every trigger of a process fault, which it carries out itself). */
bool fl_fault_fired_by_runner(const fl_fault *f);

/* Parses the value of `path:` into *out (zeroed by the caller). Returns 0, or -1 after
 * y->fail. Partial results stay in *out for fl_path_free. */
FL_MUST_USE int fl_path_parse(const fl_plan_yaml *y, yaml_node_t *n, fl_path_plan *out);

/* Parses the value of `faults:` into a new array (*out, *n_out; freed with fl_faults_free,
 * also after a failure). Returns 0, or -1 after y->fail. */
FL_MUST_USE int fl_faults_parse(const fl_plan_yaml *y, yaml_node_t *n, fl_fault **out,
                                size_t *n_out);

void fl_path_free(fl_path_plan *p);
void fl_faults_free(fl_fault *f, size_t n);

#endif
