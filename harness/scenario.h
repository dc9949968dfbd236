/*
 * scenario: a scenario file (YAML) parsed once into a plan.
 *
 * The runner and both built-in peers load the same file with fl_scenario_load, so there is no
 * second format. Every error a user can cause comes back as a value whose message starts with
 * "FILE:LINE:COL: " (1-based line and column, as editors count them).
 *
 * Top-level keys (see README "Scenario language"):
 *   name (required), summary, rpc (unary|server_stream|client_stream|bidi, default bidi),
 *   deadline (client call deadline; default none), timeout (whole run, default 30s),
 *   hang_after (default 2s), server, client, capture ({pcap, snaplen, threads}; defaults true,
 *   262144, on_hang), expect (list of predicates).
 * Side keys: args (map of channel arguments), script (list of steps).
 */
#ifndef FL_SCENARIO_H
#define FL_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "predicate.h"

typedef enum {
  FL_RPC_UNARY,
  FL_RPC_SERVER_STREAM,
  FL_RPC_CLIENT_STREAM,
  FL_RPC_BIDI,
} fl_rpc_kind;

typedef enum {
  FL_STEP_SEND,       /* send: N | {count, size, payload} */
  FL_STEP_RECV,       /* recv: N | all */
  FL_STEP_SLEEP,      /* sleep: DURATION */
  FL_STEP_CLOSE_SEND, /* close_send (client only) */
  FL_STEP_CANCEL,     /* cancel */
  FL_STEP_STATUS,     /* status: CODE | {code, message} (server only) */
  FL_STEP_WAIT,       /* wait: PREDICATE (a barrier on events the runner has seen) */
  FL_STEP_DUMP,       /* dump: the runner dumps both peers' threads at this point */
} fl_step_kind;

typedef enum {
  FL_PAYLOAD_STRUCT, /* a Struct with typed fields: string, number, bool, nested struct, list */
} fl_payload_kind;

#define FL_RECV_ALL UINT64_MAX

typedef struct {
  fl_step_kind kind;
  int line, col; /* where the step stands in the file, 1-based */

  uint64_t count;          /* send: messages (default 1); recv: messages or FL_RECV_ALL */
  uint64_t size;           /* send: padding bytes per message (default 0) */
  fl_payload_kind payload; /* send */
  int64_t duration_ns;     /* sleep */
  int status_code;         /* status */
  char *status_message;    /* status; may be NULL */
  fl_predicate *predicate; /* wait */
  char *text;              /* wait: the predicate as written */
} fl_step;

/* One channel argument, passed to C core as given. Integers (YAML plain scalars that parse
 * as integers) become GRPC_ARG_INTEGER, anything else GRPC_ARG_STRING. */
typedef struct {
  char *key;
  char *value;
  bool is_int;
  long long int_value;
} fl_channel_arg;

typedef struct {
  bool present; /* the side's key appeared in the file */
  fl_channel_arg *args;
  size_t n_args;
  fl_step *steps;
  size_t n_steps;
} fl_side_plan;

/* When the runner takes thread dumps of the peers (besides `dump` steps). */
typedef enum {
  FL_THREADS_ON_HANG,    /* default: when a hang is detected, before the run ends */
  FL_THREADS_ON_FAILURE, /* when the run ends with a failing expect clause or not completed */
  FL_THREADS_AT_END,     /* always, just before the run ends */
  FL_THREADS_NEVER,
} fl_threads_trigger;

/* capture: { pcap: true|false, snaplen: N, threads: on_hang|on_failure|at_end|never,
 *            samples: DURATION } */
typedef struct {
  bool pcap;   /* default true */
  int snaplen; /* default 262144 */
  fl_threads_trigger threads;
  int64_t sample_interval_ns; /* process samples every this long; default 100 ms */
} fl_capture_plan;

typedef struct {
  fl_predicate *predicate;
  char *text; /* as written */
  int line, col;
} fl_expect;

typedef struct {
  char *path; /* the file it came from */
  char *name;
  char *summary; /* "" when absent */
  fl_rpc_kind rpc;
  int64_t deadline_ns;   /* 0: no deadline */
  int64_t timeout_ns;    /* default 30 s */
  int64_t hang_after_ns; /* default 2 s */
  fl_side_plan server, client;
  fl_capture_plan capture;
  fl_expect *expect;
  size_t n_expect;
} fl_scenario;

typedef struct {
  int line, col; /* 0 when the error is not about a place in the file (e.g. cannot open) */
  char msg[768]; /* full message: "FILE:LINE:COL: what is wrong" */
} fl_error;

/* Loads and validates a file. Returns 0 and sets *out, or -1 with *err filled. */
int fl_scenario_load(const char *path, fl_scenario **out, fl_error *err);

/* The same from memory; `path` is used only in messages. */
int fl_scenario_parse(const char *path, const char *text, size_t len, fl_scenario **out,
                      fl_error *err);

void fl_scenario_free(fl_scenario *s);

/* "unary", "server_stream", ...; and the gRPC method path "/faultline.Test/Bidi", ... */
const char *fl_rpc_name(fl_rpc_kind k);
const char *fl_rpc_method(fl_rpc_kind k);
const char *fl_step_name(fl_step_kind k);

#endif
