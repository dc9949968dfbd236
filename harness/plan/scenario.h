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
 *   hang_after (default 2s), streams (concurrent calls, default 1), server, client, capture
 *   ({pcap, snaplen, threads, samples}; defaults true, 262144, on_hang, 100ms), expect (list of
 *   predicates), path and faults (see faults.h).
 * Side keys: args (map of channel arguments), script (list of steps).
 *
 * Checks beyond the syntax: side-specific steps (close_send on the client; status and shutdown
 * on the server), no recv between stop_reading and resume_reading, payload parameters only
 * with their kind, and an oversize payload only towards a side with a receive limit.
 */
#ifndef FL_SCENARIO_H
#define FL_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faults.h"
#include "predicate.h"

typedef enum {
  FL_RPC_UNARY,
  FL_RPC_SERVER_STREAM,
  FL_RPC_CLIENT_STREAM,
  FL_RPC_BIDI,
} fl_rpc_kind;

typedef enum {
  FL_STEP_SEND,           /* send: N | {count, size, payload} */
  FL_STEP_RECV,           /* recv: N | all */
  FL_STEP_SLEEP,          /* sleep: DURATION */
  FL_STEP_CLOSE_SEND,     /* close_send (client only) */
  FL_STEP_CANCEL,         /* cancel */
  FL_STEP_STATUS,         /* status: CODE | {code, message} (server only) */
  FL_STEP_WAIT,           /* wait: PREDICATE (a barrier on events the runner has seen) */
  FL_STEP_DUMP,           /* dump: the runner dumps both peers' threads at this point */
  FL_STEP_STOP_READING,   /* stop_reading: no RECV_MESSAGE op until resume_reading */
  FL_STEP_RESUME_READING, /* resume_reading */
  FL_STEP_SHUTDOWN,       /* shutdown: graceful | abrupt | {mode, deadline} (server only) */
} fl_step_kind;

/* What a `send` puts on the wire (see injectors/payload.h for the exact shapes). */
typedef enum {
  FL_PAYLOAD_STRUCT, /* a Struct with typed fields: string, number, bool, nested struct, list */
  FL_PAYLOAD_NULL_VALUES, /* a Struct with null_value entries, empty nested Structs and lists */
  FL_PAYLOAD_NESTED,      /* Structs nested `depth` deep */
  FL_PAYLOAD_EMPTY,       /* a zero-length message */
  FL_PAYLOAD_BYTES,       /* `size` seeded random bytes (default 64), not a Message at all */
  FL_PAYLOAD_MALFORMED,   /* a struct message broken in the way `defect` names */
  FL_PAYLOAD_OVERSIZE,    /* a struct message one byte over the receiver's receive limit */
} fl_payload_kind;

/* payload: {kind: malformed, defect: ...}: how the bytes are broken. */
typedef enum {
  FL_DEFECT_BAD_WIRE_TYPE,    /* a tag with wire type 7, which does not exist */
  FL_DEFECT_TRUNCATED_VARINT, /* a varint whose continuation bytes run past the end */
  FL_DEFECT_LENGTH_PAST_END,  /* a length-delimited field longer than what follows */
  FL_DEFECT_INVALID_UTF8,     /* a string field holding bytes that are not UTF-8 */
} fl_defect;

typedef enum {
  FL_SHUTDOWN_GRACEFUL, /* grpc_server_shutdown_and_notify; open calls may finish */
  FL_SHUTDOWN_ABRUPT,   /* the same, and every call cancelled at once */
} fl_shutdown_mode;

/* C core's receive limit when grpc.max_receive_message_length is not set (4 MiB). */
#define FL_DEFAULT_RECV_LIMIT (4 * 1024 * 1024)
/* The deepest `nested` payload: protobuf-c packs and unpacks recursively, three frames per
 * level, on the peer's main stack. */
#define FL_NESTED_MAX_DEPTH 2000
/* The most concurrent calls `streams:` may ask for. */
#define FL_STREAMS_MAX 10000

#define FL_RECV_ALL UINT64_MAX

typedef struct {
  fl_step_kind kind;
  int line, col; /* where the step stands in the file, 1-based */

  uint64_t count;          /* send: messages (default 1); recv: messages or FL_RECV_ALL */
  uint64_t size;           /* send: padding bytes per message (default 0); bytes: the length */
  bool size_set;           /* send: `size` was written */
  fl_payload_kind payload; /* send */
  uint32_t depth;          /* send, payload nested: Structs deep (default 8) */
  uint64_t seed;           /* send, payload bytes: the generator's seed (default 1) */
  fl_defect defect;        /* send, payload malformed */
  uint64_t recv_limit;     /* send, payload oversize: the receiving side's limit, from its args */
  int64_t interval_ns;     /* send: pause between one message's completion and the next send */
  bool background;         /* send: the pump issues the messages while the script goes on */
  int64_t delay_ns;        /* recv: pause before asking for each message after the first */
  int64_t duration_ns;     /* sleep */
  fl_shutdown_mode shutdown_mode; /* shutdown */
  int64_t shutdown_deadline_ns;   /* shutdown, graceful: then cancel every call; 0 = none */
  int status_code;                /* status */
  char *status_message;           /* status; may be NULL */
  fl_predicate *predicate;        /* wait */
  char *text;                     /* wait: the predicate as written */
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
  uint32_t streams;      /* concurrent calls on one channel, each running its side's script;
                            default 1 */
  fl_side_plan server, client;
  fl_capture_plan capture;
  fl_expect *expect;
  size_t n_expect;
  fl_path_plan path_plan; /* path: (see faults.h) */
  fl_fault *faults;       /* faults: */
  size_t n_faults;
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
