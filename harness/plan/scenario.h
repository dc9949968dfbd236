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
 *   hang_after (default 2s), streams (concurrent calls, default 1), calls (calls.h: count,
 *   concurrency, every, channels; not with streams), server, client, capture
 *   ({pcap, snaplen, threads, samples}; defaults true, 262144, on_hang, 100ms), expect (list of
 *   predicates), path and faults (faults.h), method (a gRPC method path, default faultline's
 *   own for the rpc) and decode ({proto, import_paths, request_type, response_type}: how the
 *   messages of that method are decoded). A side is the built-in peer (args, script, clock,
 *   metadata, deadline_metadata; the server's trailers and accept) or an external program or
 * address (external.h: exec or target, ready, start_timeout, env, cwd).
 *
 * Two steps: fl_scenario_parse (and fl_scenario_load) read the file alone and touch nothing
 * else, so the runner, the proxy and the fuzzer can parse a scenario wherever it was copied;
 * fl_scenario_resolve then reads the files the scenario names (a payload's .proto or file, the
 * decode .proto, relative to the scenario's own directory) and encodes its proto payloads with
 * protoc, once, with errors placed in the scenario like every other.
 *
 * Checks beyond the syntax: side-specific steps (close_send, recv_headers and close_channel on
 * the client; status, shutdown and send_headers on the server), no recv between stop_reading and
 * resume_reading, payload parameters only with their kind, an oversize payload only towards a side
 * with a receive limit, every number inside its range (Limits, below), channel argument values as C
 * core reads them (chanargs.h), no NUL in any value, no control character in the summary.
 */
#ifndef FL_SCENARIO_H
#define FL_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calls.h"
#include "clock.h"
#include "external.h"
#include "faults.h"
#include "metadata.h"
#include "predicate.h"
#include "protoc.h"
#include "rlimits.h"
#include "util.h"

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
  FL_STEP_SEND_HEADERS,   /* send_headers: the response headers go now (server only) */
  FL_STEP_RECV_HEADERS,   /* recv_headers: wait for the response headers (client only) */
  FL_STEP_CLOSE_CHANNEL,  /* close_channel: the call's channel is destroyed (client only) */
  FL_STEP_STOP_ACCEPTING, /* stop_accepting: no further call is requested (server only) */
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
  /* Bytes of the user's own, the same for every message of the step (fl_foreign_payload): */
  FL_PAYLOAD_PROTO, /* {proto, type, text, import_paths}: protoc --encode=TYPE of the text */
  FL_PAYLOAD_HEX,   /* {hex}: the bytes written in hex */
  FL_PAYLOAD_FILE,  /* {file}: a regular file's bytes */
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

/*
 * Limits: every number a scenario holds has a range, checked when the file is loaded (an
 * error at the value's file:line:col), so that nothing downstream overflows or fills a disk.
 * This table is the one place they are stated; the README quotes it.
 *
 *   what                              range                      why
 *   a scenario file                   at most 16 MiB, a regular  it is read whole into memory
 *                                     file (no fifo, no device)
 *   name                              1..100 characters,         it names files and folders
 *                                     [a-z0-9-], the file's name
 *   summary                           one line, no control       printed on terminals
 *                                     characters
 *   deadline, timeout, hang_after,    0..24h (deadline, timeout, sums of them with a clock
 *   sleep, interval, delay,           hang_after and a shutdown  reading stay far from int64's
 *   shutdown deadline                 deadline: more than 0)     end
 *   capture.samples                   10ms..24h
 *   size (send), payload bytes size   0..2147483647 bytes        C core's message limits are
 *                                     (2 GiB - 1)                ints (INT_MAX)
 *   count (send, recv)                1..1000000                 each message makes ~0.5 KB of
 *   messages a side sends in a run,   at most 1000000            events.jsonl: at most ~1 GB
 *   over its steps x streams
 *   streams, calls count, concurrency, 1..100000                  (calls.h)
 *   channels
 *   calls every                       more than 0, at most 24h
 *   accept                            1..calls count
 *   metadata                          64 entries, keys of 128    (metadata.h)
 *                                     characters, values of
 *                                     16 KiB
 *   payload depth (nested)            1..2000                    protobuf-c recurses on the
 *                                                                peer's stack
 *   payload seed (bytes)              1..2^64-2
 *   capture.snaplen                   1..262144                  libpcap's MAXIMUM_SNAPLEN
 *   a payload file, a proto payload   at most 64 MiB             held in memory by the runner
 *   once encoded                                                 and by the sending peer
 *   channel argument values           C core's int, after units  (see chanargs.h)
 *   wait:, expect: literals           int64 (durations in ns,
 *                                     sizes in bytes)
 */
#define FL_SCENARIO_MAX_BYTES (16 * 1024 * 1024)
#define FL_NAME_MAX 100
#define FL_DURATION_MAX_NS (INT64_C(24) * 3600 * 1000000000)
#define FL_SAMPLES_MIN_NS INT64_C(10000000)
#define FL_SIZE_MAX INT64_C(2147483647)
#define FL_COUNT_MAX 1000000
#define FL_SIDE_MESSAGES_MAX 1000000
#define FL_STREAMS_MAX FL_CALLS_MAX
/* The deepest `nested` payload: protobuf-c packs and unpacks recursively, three frames per
 * level, on the peer's main stack. */
#define FL_NESTED_MAX_DEPTH 2000
/* libpcap and tcpdump cap a snapshot at 262144 bytes (MAXIMUM_SNAPLEN). */
#define FL_SNAPLEN_MAX 262144

#define FL_RECV_ALL UINT64_MAX

/* The largest payload a `file:` may hold, and a `proto:` encode to: each is held in memory by
 * the runner and by the peer that sends it. */
#define FL_FOREIGN_PAYLOAD_MAX (64 * 1024 * 1024)

/* faultline's own service: a method under it carries faultline.Message both ways. */
#define FL_TEST_SERVICE_PATH "/faultline.Test/"

/* Where a value stands in the file, kept for errors found after parsing (fl_scenario_resolve):
 * line and col 1-based; index and style are libyaml's (the value's first character, counted in
 * characters, and its yaml_scalar_style_t), so that a column inside the value can be placed. */
typedef struct {
  int line, col;
  size_t index;
  int style;
} fl_place;

/* A .proto the scenario names, with its import paths. */
typedef struct {
  char *file; /* as written */
  fl_place file_at;
  char **import_paths; /* as written */
  fl_place *import_at;
  size_t n_import_paths;
  /* By fl_scenario_resolve: absolute and canonical (realpath), what protoc is given. */
  char *file_abs;
  char **import_abs; /* [n_import_paths] */
} fl_proto_ref;

/* The bytes of a `proto`, `hex` or `file` payload. */
typedef struct {
  fl_place at;        /* the payload map */
  fl_proto_ref proto; /* proto */
  char *type;         /* proto: the message's full name, like shop.v1.Order */
  fl_place type_at;
  char *text; /* proto: the message in text format ("" when absent: every field unset) */
  fl_place text_at;
  char *file; /* file: as written */
  fl_place file_at;
  char *file_abs; /* file: by fl_scenario_resolve */
  /* hex: when parsed; proto and file: by fl_scenario_resolve */
  bool ready;
  uint8_t *bytes;
  size_t len;
} fl_foreign_payload;

/* decode: how the received messages of the scenario's own method are decoded (protoc). */
typedef struct {
  bool present;
  int line, col; /* the decode map */
  fl_proto_ref proto;
  char *request_type; /* what the server receives; NULL when not named */
  fl_place request_at;
  char *response_type; /* what the client receives; NULL when not named */
  fl_place response_at;
} fl_decode_plan;

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
  fl_foreign_payload *foreign; /* send, payload proto, hex or file; else NULL */
  int64_t interval_ns;         /* send: pause between one message's completion and the next send */
  bool background;             /* send: the pump issues the messages while the script goes on */
  int64_t delay_ns;            /* recv: pause before asking for each message after the first */
  int64_t duration_ns;         /* sleep */
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
  fl_clock_plan clock;       /* clock: (present false without one) */
  fl_external_plan external; /* exec: or target: (present false: the built-in peer) */
  fl_rlimits_plan rlimits;   /* rlimits: (either kind of side) */
  fl_metadata_plan metadata; /* metadata: the initial metadata of every call (metadata.h) */
  fl_metadata_plan trailers; /* trailers: (server) the trailing metadata with every status */
  uint32_t accept;           /* accept: (server) calls it takes, then no more are requested;
                                0: every call the run makes */
  int accept_line, accept_col;
  char *deadline_metadata; /* deadline_metadata: the key of an absolute deadline (metadata.h);
                              NULL without one */
  int deadline_metadata_line, deadline_metadata_col;
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
  /* The bytes parsed, exactly as read (terminated by a NUL beyond source_len): the run
   * directory's scenario.yaml is written from these, never by reopening `path`. */
  char *source;
  size_t source_len;
  /* What was accepted but is probably not what the user meant, each one line
   * "FILE:LINE:COL: warning: ..." (an argument name C core does not declare, say). The
   * commands print them to stderr; they never make a file invalid. */
  char **warnings;
  size_t n_warnings;
  char *name;
  int name_line, name_col; /* where `name`'s value stands */
  char *summary;           /* "" when absent */
  fl_rpc_kind rpc;
  char *method; /* method: as written; NULL: faultline's own for `rpc` (fl_scenario_method) */
  int method_line, method_col;
  fl_decode_plan decode;
  /* By fl_scenario_resolve: the absolute directory relative paths were resolved against. */
  char *base_dir;
  bool resolved;
  int64_t deadline_ns;   /* 0: no deadline */
  int64_t timeout_ns;    /* default 30 s */
  int64_t hang_after_ns; /* default 2 s */
  uint32_t streams;      /* concurrent calls on one channel, each running its side's script;
                            default 1 */
  fl_calls_plan calls;   /* calls: (calls.h); without it, fl_calls_from_streams(streams) */
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

/*
 * Reads a scenario file whole, refusing before reading what could not be one: it opens with
 * O_NONBLOCK|O_NOCTTY (a fifo does not block the open), and refuses anything but a regular
 * file and anything larger than FL_SCENARIO_MAX_BYTES. Returns 0 with *text (malloc'd, NUL
 * terminated) and *len, or -1 with err->msg one of:
 *   "FILE: cannot open: <strerror>"
 *   "FILE: not a regular file (a fifo|a character device|a directory|...); a scenario is a
 *    YAML file"
 *   "FILE: larger than 16 MiB, the most a scenario file may hold"
 *   "FILE: cannot read: <strerror>"
 */
int fl_scenario_read(const char *path, char **text, size_t *len, fl_error *err) FL_MUST_USE;

/* Loads and validates a file (fl_scenario_read, then fl_scenario_parse). Returns 0 and sets
 * *out, or -1 with *err filled. */
int fl_scenario_load(const char *path, fl_scenario **out, fl_error *err) FL_MUST_USE;

/*
 * The rule of scenario files a user names (every command of the CLI applies it; a peer given
 * a file by the runner does not): the file's name is the scenario's, NAME.yaml or NAME.yml
 * holding `name: NAME`, so that `faultline list` and `show NAME` agree. The one exception is
 * scenario.yaml, the name of a run directory's copy. Returns 0, or -1 with err->msg
 * "FILE:L:C: the file is named 'fail.yaml' but its scenario is named 'fail-me'; ...".
 */
int fl_scenario_check_file_name(const fl_scenario *s, fl_error *err) FL_MUST_USE;

/* The same from memory; `path` is used only in messages. Text longer than
 * FL_SCENARIO_MAX_BYTES is refused as fl_scenario_read does. */
int fl_scenario_parse(const char *path, const char *text, size_t len, fl_scenario **out,
                      fl_error *err) FL_MUST_USE;

/*
 * Reads what the scenario refers to, relative to `base_dir` (NULL: the directory of s->path;
 * the peers, which read the run directory's copy, are told the original's): each proto
 * payload's .proto and import paths (which must exist: the .proto a regular file inside one of
 * its import paths, each import path a directory) and its text, encoded with protoc; each file
 * payload (a regular file, opened without blocking and refused if it is anything else, at most
 * FL_FOREIGN_PAYLOAD_MAX bytes; a link to a regular file is followed, a link to a fifo or a
 * device is refused); the decode .proto and types (protoc must find each type). Returns 0 (at
 * once when s is already resolved), or -1 with err->msg placed at the value at fault:
 *   "FILE:L:C: cannot open 'shop.proto' (/abs/dir/shop.proto): No such file or directory"
 *   "FILE:L:C: 'req.bin' is not a regular file (a fifo); a payload file is read whole"
 *   "FILE:L:C: payload text for shop.v1.Order: protoc: Message type ... has no field named ..."
 *     (the column is the one protoc stopped at, inside the text, when the text is on one line
 *      or a literal block)
 *   "FILE:L:C: protoc --encode=shop.v1.Nope: Type not defined: shop.v1.Nope"
 *   "FILE:L:C: protoc cannot read 'bad.proto': bad.proto:2:9: Expected message name."
 */
int fl_scenario_resolve(fl_scenario *s, const char *base_dir, fl_error *err) FL_MUST_USE;

void fl_scenario_free(fl_scenario *s);

/* The method the client calls: `method:`, or faultline's own for the rpc. */
const char *fl_scenario_method(const fl_scenario *s);
/* The method is not faultline.Test's: its messages are the user's, not faultline.Message. */
bool fl_scenario_foreign(const fl_scenario *s);
/* The type `decode:` names for what this side receives (the server: request_type, the
 * client: response_type), or NULL. */
const char *fl_scenario_recv_type(const fl_scenario *s, bool server);
/* A resolved .proto as protoc takes it. */
fl_protoc_source fl_proto_ref_source(const fl_proto_ref *r);

/* "unary", "server_stream", ...; and the gRPC method path "/faultline.Test/Bidi", ... */
const char *fl_rpc_name(fl_rpc_kind k);
const char *fl_rpc_method(fl_rpc_kind k);
const char *fl_step_name(fl_step_kind k);

/* Copies `s` into buf (len bytes, always terminated, cut if need be) with every control
 * character (C0, DEL, and the C1 range U+0080..U+009F) written as \xHH or \u00HH, so that
 * text from a user's file or folder cannot drive a terminal. Returns buf. */
const char *fl_printable(const char *s, char *buf, size_t len);

#endif
