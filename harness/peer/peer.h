/*
 * peer: a built-in gRPC peer on C core, running one side's script of a scenario.
 *
 * Single-threaded and deterministic: one completion queue, driven only by fl_peer_pump. The
 * script is interpreted, not called: each call (one, `streams:` of them at once, or `calls:`
 * over time and over channels, calls.h) keeps its place in the script (step, stage, messages done)
 * and fl_peer_run_script advances every call as far as it can go, then pumps. A step that must wait
 * (for an op, a timer, a barrier) leaves its call where it is; the op's completion, the timer or
 * the barrier's release advances it again. So C core I/O, background sends, timers and barriers all
 * make progress whatever any one call's script is doing.
 *
 * Every op batch has a tag pointing at an fl_op record inside its call; its on_done runs in
 * the pump as soon as the batch completes, so events such as `sent`, `recv`, `status` and
 * `cancelled` appear when they happen, not when the script next looks.
 *
 * CALLS AND CHANNELS. The client starts its calls as `calls:` says (fl_peer.start_calls, run
 * at every round of the scheduler): at most `concurrency` open, the k-th not before the first's
 * start + k x `every`, each on channel slot k mod `channels` (a new channel per call with
 * per_call; a slot whose channel a close_channel step destroyed gets a new one for its next
 * call). With more than one channel every channel asks for a local subchannel pool, so each
 * is its own HTTP/2 connection. A call's C core objects are given back as soon as it is over.
 * The server requests `accept` calls (default: all the run makes) up front and no more, so
 * further calls wait inside C core; with a stop_accepting step in its script it requests one
 * at a time, the next as soon as one arrives, and the step ends that (the one already
 * requested is still taken: C core cannot take a request back).
 *
 * HEADERS. The client sends its request headers (with `metadata:`) when a call starts. The
 * server sends its response headers with its first message or its status, as a C++ server
 * does, unless a send_headers step sends them earlier; its status carries `trailers:`.
 * With `deadline_metadata: KEY` (metadata.h) the client adds its call's deadline as an
 * absolute time on its wall clock, and the server's handler judges it on its own wall clock
 * when the call arrives and before each step: once passed, the call ends there with
 * DEADLINE_EXCEEDED, as a handler checking such a deadline between its steps does (a step
 * under way, a sleep say, is not cut short).
 *
 * Events go to the events fd in the line protocol of event.h; with more than one call each
 * call's events carry `call=N` (1-based). A peer that cannot write an event (runner gone) or
 * hits an internal error exits 1 (after an `error` event when it can); fl_peer_run_* return
 * only on success.
 */
#ifndef FL_PEER_H
#define FL_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "event.h"
#include "scenario.h"
#include "util.h"

typedef struct fl_peer fl_peer;
typedef struct fl_call fl_call;
typedef struct fl_op fl_op;

/* One op batch in flight. on_done (optional) runs inside the pump as soon as the batch
 * completes. */
struct fl_op {
  bool started, done, ok;
  int64_t started_ns; /* when fl_call_start started it */
  fl_call *call;      /* the call it belongs to; NULL for the peer's own (the server's shutdown) */
  void (*on_done)(fl_peer *p, fl_op *op);
};

typedef struct {
  const char *side; /* "server" | "client" */
  const char *scenario_path;
  const char *target; /* client: HOST:PORT to dial; server: to listen on (default 127.0.0.1:0) */
  /* What the scenario's relative paths (payload proto and file, decode) are resolved against:
   * the directory of the user's scenario file, of which --scenario is a copy; NULL: the
   * directory of --scenario. */
  const char *base_dir;
  int events_fd, control_fd;
} fl_peer_options;

/* Where a call stands inside its current step (or, past the script, in its closing ops).
 * Changed only through fl_call_set_stage, which traces each change with FAULTLINE_TRACE. */
typedef enum {
  FL_STAGE_IDLE,          /* the step has not begun */
  FL_STAGE_ENTER,         /* it has begun: its first action is next */
  FL_STAGE_SEND_NEXT,     /* send: the next message starts when its interval has passed */
  FL_STAGE_SEND_INFLIGHT, /* send: a message is in flight */
  FL_STAGE_RECV_INFLIGHT, /* recv: a RECV_MESSAGE op is pending */
  FL_STAGE_SLEEPING,      /* sleep: until wake_ns */
  FL_STAGE_AWAIT_OP,      /* close_send, status: their op is pending */
  FL_STAGE_AT_BARRIER,    /* wait: until the runner releases it */
  FL_STAGE_FINISH_DRAIN,  /* after the script: background sends run to their end */
  FL_STAGE_FINISH_CLOSE,  /* then the closing ops (half-close or status) start */
  FL_STAGE_FINISH_AWAIT,  /* and every op of the call completes */
} fl_call_stage;

const char *fl_call_stage_name(fl_call_stage s);

/* One gRPC call running the side's script. */
struct fl_call {
  fl_peer *p;
  unsigned id; /* 1-based */
  grpc_call *call;
  bool started;  /* the call is live: the client created it, the server accepted it */
  bool finished; /* its script and closing ops are done (or it never started) */

  /* Where the script stands. pc == n_steps: the closing ops (half-close or status). */
  size_t pc;
  fl_call_stage stage;
  uint64_t i;      /* messages done in this step */
  int64_t wake_ns; /* sleep: when it ends */

  /* One op of each kind at a time, as C core allows. final_op is the client's
   * RECV_STATUS_ON_CLIENT or the server's RECV_CLOSE_ON_SERVER. */
  fl_op accept, md_send, md_recv, final_op, send, recv, close_send, status;
  grpc_byte_buffer *send_bb, *recv_bb;
  size_t send_len;
  uint64_t send_hash, send_nulls;
  bool last_send_ok, last_recv_ok;
  int64_t last_send_ns, last_recv_ns; /* when the last send / recv op completed */

  /* A `send: {background: true}` in progress: the step that started it and how many of its
   * messages have been started. */
  const fl_step *bg;
  uint64_t bg_started;

  uint64_t seq;      /* last seq put into a message */
  uint64_t sent;     /* messages whose send op succeeded */
  uint64_t received; /* messages received */
  bool recv_ended;   /* the reader saw the end of the stream */

  bool cancelled_by_us;   /* a `cancel` step ran */
  bool close_send_issued; /* client: SEND_CLOSE_FROM_CLIENT was started */
  bool status_issued;     /* server: SEND_STATUS_FROM_SERVER was started */
  int status_out_code;    /* server: the status being sent */
  grpc_slice status_out;  /* server: its message, alive until the op completes */

  /* client: RECV_STATUS_ON_CLIENT results, filled before its op completes */
  grpc_metadata_array initial_md, trailing_md;
  grpc_status_code status_code;
  grpc_slice status_details;
  /* server: the accepted call and RECV_CLOSE_ON_SERVER's result */
  grpc_call_details details;
  grpc_metadata_array request_md;
  int close_cancelled;
  bool headers_sent; /* server: its initial metadata went (send_headers, first message, status) */
  /* server, with deadline_metadata: what the call's key held (a deadline in Unix ms, or bytes
   * that are not one), judged before each step (peer.c, metadata_deadline_ends) */
  enum { FL_MD_DEADLINE_NONE, FL_MD_DEADLINE_SET, FL_MD_DEADLINE_BAD } md_deadline;
  int64_t md_deadline_unix_ms;

  uint32_t slot;       /* client: the channel slot it runs on (calls.h) */
  unsigned channel_no; /* client: that channel's number, 1-based in the order opened */
  bool released;       /* its C core objects were given back (client, once it is over) */
};

/* A client channel slot: its channel (NULL before its first call, or once closed). */
typedef struct {
  grpc_channel *channel;
  unsigned no;
} fl_channel_slot;

struct fl_peer {
  fl_peer_options opt;
  fl_scenario *scenario;
  const fl_side_plan *plan;
  bool is_server;

  grpc_completion_queue *cq;
  grpc_channel *channel; /* client */
  grpc_server *server;   /* server */

  /* Control fd: a partial line, and which barriers the runner released. Its end of file
   * ends the process (see control_read). */
  char ctl_buf[128];
  size_t ctl_len;
  bool *released; /* [plan->n_steps] */
  bool *dumped;   /* [plan->n_steps]: the `dump` event went out (once for all calls) */

  fl_call *calls; /* [n_calls] */
  size_t n_calls, n_finished;
  uint64_t decoded; /* messages of the user's method decoded with protoc (FL_PAYLOAD_DECODE_MAX) */
  size_t n_started, n_open; /* client: calls started so far, and open now */
  int64_t first_start_ns;   /* client: when its first call started */
  /* client: starts the calls that are due (run at every round of the scheduler); both: a call
   * is over, its script and ops done. Either may be NULL. */
  void (*start_calls)(fl_peer *p);
  void (*call_over)(fl_peer *p, fl_call *c);
  fl_channel_slot *slots; /* client: [calls.channels] */
  unsigned channels_opened;
  bool several_channels;           /* client: calls may run on more than one channel */
  grpc_channel_args *channel_args; /* client: what every channel is created with */

  /* The metadata this side sends, built once from the plan (their bytes are the plan's). */
  grpc_metadata *md_out, *trailers_out;
  size_t n_md_out, n_trailers_out;

  /* The scheduler: advance every call at the next round (a barrier opened, the peer's own op
   * completed), and the earliest time a waiting step or a shutdown deadline is due. */
  bool wake_all;
  int64_t timer_ns;

  /* server: calls asked of C core so far (grpc_server_request_call, in slot order) and how many
   * it may ask for (`accept`, else every call; a stop_accepting step lowers it to `requested`) */
  size_t requested, accept_limit;

  /* server: the `shutdown` step, once per peer whichever call runs it */
  struct {
    bool started, forced, done;
    bool by_signal; /* SIGTERM started it: the server exits once it is done */
    fl_shutdown_mode mode;
    int64_t start_ns, deadline_at_ns; /* deadline_at_ns 0: none */
    fl_op op;
  } shutdown;
};

/*
 * Writes one event with its attributes (FL_KV_I / FL_KV_S / FL_KV_BYTES from event.h), checked
 * against the event table: an attribute the event does not take is a bug, and the peer fails
 * with an `error` event naming it. fl_call_emit adds the call's number when the peer runs more
 * than one call. A write that fails (the runner is gone) exits 1.
 */
void fl_peer_emitv(fl_peer *p, const fl_call *c, fl_event_id id, const fl_event_kv *kv, size_t n);
#define FL_KVS(...)                                                                                \
  (fl_event_kv[]){__VA_ARGS__}, sizeof((fl_event_kv[]){__VA_ARGS__}) / sizeof(fl_event_kv)
#define fl_peer_emit(p, id, ...) fl_peer_emitv((p), NULL, (id), FL_KVS(__VA_ARGS__))
#define fl_call_emit(c, id, ...) fl_peer_emitv((c)->p, (c), (id), FL_KVS(__VA_ARGS__))

/* Emits `error message=...`, logs it to stderr, exits 1. */
__attribute__((noreturn, format(printf, 2, 3))) void fl_peer_fail(fl_peer *p, const char *fmt, ...);

/* Decimal text of x in buf (at least 24 bytes); returns buf. */
const char *fl_peer_i64(char *buf, int64_t x);
#define FL_NUM(x) fl_peer_i64((char[24]){0}, (int64_t)(x))

/* One round: waits up to 10 ms (never past deadline_ns, < 0 for no deadline) for a
 * completion, runs its op's on_done, then reads what the control fd has. Returns the op that
 * completed, or NULL. */
fl_op *fl_peer_pump(fl_peer *p, int64_t deadline_ns);

void fl_call_set_stage(fl_call *c, fl_call_stage stage);

/* Starts a batch on c->call with `op` as its tag. A call error (an op the script may not issue
 * here, e.g. a second status) is fatal: `what` names it in the error event. */
void fl_call_start(fl_call *c, const grpc_op *ops, size_t n, fl_op *op, const char *what);

/* True once `at` (CLOCK_MONOTONIC ns) has come; else the scheduler is told to look again
 * then. */
bool fl_peer_timer(fl_peer *p, int64_t at);

/* Runs every call's script and closing ops to the end; returns when every call is over. The
 * calls must exist: the client's created, the server's requested. */
void fl_peer_run_script(fl_peer *p);

/* The receive limit this side runs with (its grpc.max_receive_message_length, or C core's
 * default), -1 for none. */
long long fl_peer_recv_limit(const fl_peer *p);

/* The sides. Channel args from the plan are converted here; both return when the peer may emit
 * `done` and exit 0. */
/* The server never returns: after its script it serves until the control pipe closes. */
_Noreturn void fl_peer_run_server(fl_peer *p);
void fl_peer_run_client(fl_peer *p);

/* server: the `shutdown` step (starts it; the script goes on), and its deadline, looked at
 * whenever the scheduler advances every call. */
void fl_server_shutdown_start(fl_peer *p, const fl_step *st);
void fl_server_shutdown_tick(fl_peer *p);

/* server: the stop_accepting step: no call is requested from here on, and the slots never
 * requested count as over for the script. */
void fl_server_stop_accepting(fl_peer *p);

/* server: SIGTERM is a real server's graceful stop (Go's GracefulStop on SIGTERM): blocked in
 * every thread (call before grpc_init, so C core's threads inherit the mask) and waited for by
 * a thread of its own; fl_server_term_check, from every pump, then starts a graceful shutdown,
 * and the server exits 0 once it is done. */
void fl_server_watch_term(fl_peer *p);
void fl_server_term_check(fl_peer *p);

/* client: the close_channel step: destroys the channel call c runs on (once: a channel already
 * closed stays so); the calls on it go on as C core lets them. */
void fl_client_close_channel(fl_peer *p, fl_call *c);

/* The metadata of `plan` as C core takes it (*out NULL when there is none); and the text form
 * of received metadata (metadata.h) in buf (FL_METADATA_TEXT_MAX bytes), returned. */
void fl_peer_metadata_new(fl_peer *p, const fl_metadata_plan *plan, grpc_metadata **out, size_t *n);
const char *fl_peer_metadata_text(const grpc_metadata_array *a, char *buf);

/* The plan's channel args as C core args; each of `extra` (n_extra of them) is appended unless
 * the plan sets that key. Free with fl_peer_args_free. */
grpc_channel_args *fl_peer_args_new(fl_peer *p, const grpc_arg *extra, size_t n_extra);
void fl_peer_args_free(grpc_channel_args *a);

#endif
