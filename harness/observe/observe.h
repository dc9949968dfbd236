/*
 * observe: the observation model. What a run observed, from every source, reduced to the state
 * that predicates, barriers, the hang rule, the verdict and the reports read.
 *
 * Pure: no I/O, no processes, no clock of its own. The caller (the runner, a test, the proxy)
 * hands it timestamped observations:
 *   - events from a built-in peer or the proxy (fl_observe_event: a parsed event line),
 *   - the supervision of processes (spawned, exited, their event pipe closed),
 *   - process samples (RSS, threads, fds),
 *   - HTTP/2 frames from the wire (fl_observe_frame; the proxy's `frame` events arrive this way
 *     through fl_observe_event, the capture's decoder calls it directly),
 *   - the capture's statistics and the end of the run,
 * and asks for fields (fl_observe_lookup, the predicate language's lookup: "as of now", the
 * time last given to fl_observe_set_now, or "at the end" once fl_observe_end was called).
 *
 * TIME. Every time the model keeps is nanoseconds since the run began (`t0_ns` on
 * CLOCK_MONOTONIC). A side whose clock is shared with the runner (every process of the machine
 * reads the same CLOCK_MONOTONIC, unless a scenario fakes a side's clock) is placed by its own
 * stamps: that is the causal order, free of the pipe's and the runner's scheduling delays, and
 * cross-side intervals (server.cancel_latency) are measured on those stamps. A side with a faked
 * clock is placed by the runner's arrival stamps. fl_observe_event returns the time it used.
 *
 * THE DEADLINE RULE. When the deadline ends a call, C core completes the call's pending ops,
 * some with success (a send stalled on flow control "completes" though its bytes never left).
 * So a `sent`, a `half_close` or a successful send `op_done` a client call reports at or after
 * its deadline (on the peer's own clock) counts as failed.
 *
 * CALLS. With more than one call (`streams: N`, `calls:`) every event of a call carries its
 * number; ops are tracked per call, counts add up over the calls, and a side's call is "over"
 * (status known, cancelled known) once every one of its calls is: the client's `calls.count`,
 * the server's `accept` of them when it has one. Once the run is over, a side whose started
 * calls all ended is over too (a server restarted mid-run, or one that never saw some calls).
 * While calls come `every` D, the next one's time is a timer of the hang rule.
 */
#ifndef FL_OBSERVE_H
#define FL_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "fields.h"
#include "h2.h"
#include "scenario.h"

typedef enum { FL_SIDE_SERVER, FL_SIDE_CLIENT, FL_N_SIDES } fl_side;

/* "server" / "client"; FL_SCOPE_SERVER <-> FL_SIDE_SERVER. */
const char *fl_side_name(fl_side s);
fl_side fl_side_of_scope(fl_scope scope);
fl_scope fl_scope_of_side(fl_side s);

typedef enum { FL_OP_SEND, FL_OP_RECV, FL_OP_CLOSE_SEND, FL_OP_STATUS, FL_N_OPS } fl_op_kind;
/* "send", ... as the event protocol spells them; fl_op_from_name returns -1 if unknown. */
const char *fl_op_name(fl_op_kind k);
int fl_op_from_name(const char *name);

/* One op of one call. */
typedef struct {
  bool pending;
  int64_t since_ns;            /* when it began */
  int64_t sent_bytes_at_start; /* the side's sent_bytes then */
  int64_t bytes;               /* send: the message's size; else 0 */
  int step;                    /* the call's script step then (-1: after the script) */
} fl_op_obs;

/* One call of one side. */
typedef struct {
  bool started;
  int64_t start_ns, start_stamp; /* its call_start: model time, and the peer's own stamp */
  int64_t deadline_stamp;        /* client: its deadline on the peer's clock; 0: none */
  int64_t deadline_ns;           /* the same in model time; 0: none */
  bool ended;                    /* client: status received; server: close op finished */
  bool have_status;              /* client: received; server: sent */
  int status;
  bool cancelled; /* server: the call ended cancelled */
  int64_t end_ns, end_stamp;
  int step;              /* the step running now; -1 before the first and after `done` */
  int64_t step_start_ns; /* when it began */
  int waiting_barrier;   /* the step index of the barrier it waits at, or -1 */
  fl_op_obs ops[FL_N_OPS];
  uint32_t channel; /* client: its channel's number (1 when the client has one channel) */
  bool headers;     /* its headers arrived (see SIDE.headers_received) */
  char *message;    /* its status message when the status is not OK (malloc'd), else NULL */
} fl_call_obs;

/* A status message or an error text: any bytes, kept whole. */
typedef struct {
  char *s; /* NUL-terminated (a NUL inside is kept: len says how long) */
  size_t len;
} fl_bytes;

/* The process behind a side. */
typedef struct {
  bool spawned;
  pid_t pid;
  bool exited;
  int exit_code;   /* valid if exited and term_signal == 0 */
  int term_signal; /* the signal that ended it, 0 if it exited */
  bool ended_by_runner;
  bool fault_sent;      /* a kill or signal fault was sent to it: its end is expected */
  bool fault_ended;     /* ... and it ended after that */
  int64_t paused_since; /* a pause fault stopped it then; -1: running */
  int64_t paused_ns;    /* pause faults' stops, in all (the open one not counted) */
  int restarts;
  long peak_rss_kib;  /* the kernel's high-water mark, once reaped */
  bool events_closed; /* its event pipe reached end of file */
} fl_process_obs;

/* HTTP/2 facts of one side's frames, as the receiving peer saw them. */
typedef struct {
  bool seen; /* any frame observed at all (else every wire field is unknown) */
  int64_t frames[FL_H2_N_FRAME_TYPES];
  bool have_rst_code;
  uint32_t rst_code;
  bool have_goaway;
  uint32_t goaway_code, goaway_last_stream_id;
  fl_bytes goaway_debug;
  bool end_stream;
  bool have_trailers_status;
  int trailers_status;
  bool have_window;
  int64_t window_min;
  int64_t window_zero_since; /* -1: not at zero now */
  int64_t window_zero_max;
  bool have_socket;
  int64_t socket_unsent_max, socket_unread_max;
} fl_wire_obs;

/* Everything observed of one side. Read-only for callers. */
typedef struct {
  fl_process_obs proc;

  bool ready;
  int port;
  bool have_recv_limit;
  int64_t recv_limit;

  fl_call_obs *calls; /* [n_calls], indexed by the event's call number - 1 */
  uint32_t n_calls;
  /* [n_steps of the side's script]: how many calls wait at each barrier now, so a barrier is
   * judged once per event, not once per waiting call (12,000 calls wait at one in bench/scale) */
  uint32_t *waiting_at;
  size_t n_waiting_at;

  int64_t calls_started, calls_ended, calls_ok, calls_failed;
  int64_t status_count[FL_N_STATUS]; /* statuses by code: received (client), sent (server) */
  bool have_first_status;
  int first_status;
  int64_t max_open;      /* the most calls open at once */
  int64_t first_call_ns; /* the first call's start (model time); -1 before it */
  int64_t channels;      /* client: the highest channel number seen */
  int64_t channels_closed;
  int64_t headers_received;
  fl_bytes headers, trailers; /* metadata.h's text form: last received headers, last trailers */
  fl_bytes failure_message;   /* the last non-OK status's message; s == NULL if none */
  int64_t sent, recv, sent_bytes, recv_bytes, decode_errors;
  int64_t nulls_sent, nulls_received, fields_received, invalid_utf8;
  int64_t largest_send;
  char last_decode_error[32];
  char last_sent_hash[17], last_recv_hash[17];
  bool recv_end, half_closed, close_send_issued, reading_stopped;
  int64_t sends_failed;
  int64_t send_max_pending_ns; /* the longest a completed send stayed pending (peer clock) */
  int64_t send_stall_bytes;    /* sent_bytes when that send began */
  int64_t close_send_pending_ns;
  bool have_cancel;
  int64_t cancel_ns; /* client: its first `cancel` */
  bool have_status;  /* every call's status is known */
  int status_code;   /* the last status */
  fl_bytes status_message;
  int64_t status_ns;
  bool have_cancelled; /* server: every call's close is known */
  bool cancelled;      /* some call ended cancelled */
  int64_t closed_ns;   /* server: when its last call closed */
  bool shutdown_started, shutdown_forced, shutdown_done;
  int64_t shutdown_start_stamp, shutdown_done_stamp;
  bool done;
  fl_bytes error; /* the peer's own `error` event; s == NULL if none */

  /* An external side (plan/external.h): no event lines; its peer fields come from the wire
   * (EXTERNAL SIDES below). */
  bool external;
  bool have_messages;    /* the capture's decoder counted the gRPC messages on its leg */
  int64_t messages_sent; /* in its DATA frames */
  int64_t messages_recv; /* in its peer's DATA frames, as they reached it */

  int furthest_step; /* the highest step index any call began, -1 before the first */
  int64_t last_event_ns;

  struct {
    int n;
    int64_t baseline_rss_kib, peak_rss_kib, last_rss_kib, max_threads, max_fds;
  } samples;
  /* CPU time by sample, for the busy rule: every sample's (time, CPU), oldest first */
  struct {
    int64_t t_ns, cpu_ns;
  } * cpu;
  size_t n_cpu, cap_cpu;
  int64_t busy_at_ns; /* the last time the busy rule found this side busy; -1: never */

  fl_wire_obs wire;
} fl_side_obs;

/* Why the runner ended the run: the model turns it, and the processes' exits, into an outcome. */
typedef enum {
  FL_END_FINISHED,    /* the client finished and the server's call is over */
  FL_END_HANG,        /* the hang rule fired */
  FL_END_TIMEOUT,     /* the scenario's timeout passed */
  FL_END_INTERRUPTED, /* SIGINT, SIGTERM or SIGHUP */
  FL_END_ERROR,       /* faultline could not run the scenario */
} fl_end_reason;

typedef struct {
  const fl_scenario *scenario;   /* the plan: streams, deadline, scripts (for the hang rule) */
  bool clock_shared[FL_N_SIDES]; /* false: the side's clock is faked; use arrival stamps */
  int64_t t0_ns;                 /* the run's start, CLOCK_MONOTONIC */
} fl_observe_config;

typedef struct fl_observe fl_observe;

/* A new, empty model. Returns NULL if out of memory. */
fl_observe *fl_observe_new(const fl_observe_config *cfg);
void fl_observe_free(fl_observe *o);

/*
 * An event from `source` (FL_FROM_SERVER, FL_FROM_CLIENT or FL_FROM_PROXY) that arrived at
 * `arrival_ns` (model time). Returns the event's time in model time (see TIME above). Events a
 * source reports while the runner ends the run are not given to the model (they are kept in
 * the timeline only).
 */
int64_t fl_observe_event(fl_observe *o, unsigned source, const fl_event *ev, int64_t arrival_ns);

/* One HTTP/2 frame. `from` is whose frame it is as the receiving peer sees it. */
typedef struct {
  int64_t t_ns; /* model time */
  fl_side from;
  uint32_t conn; /* 1-based connection */
  uint8_t type, flags;
  uint32_t stream_id, length;
  bool has_code;
  uint32_t code; /* RST_STREAM, GOAWAY */
  uint32_t last_stream_id;
  const char *debug; /* GOAWAY's debug data */
  size_t debug_len;
  bool has_grpc_status; /* trailers */
  int grpc_status;
  bool has_window; /* the sender's send window on this stream after the frame */
  int64_t window;
} fl_observed_frame;

void fl_observe_frame(fl_observe *o, const fl_observed_frame *f);

/* A source of wire facts exists (a proxy, or the capture's decoder): from now on wire counts
 * are known, zero until frames say otherwise. Without one every wire field is unknown. */
void fl_observe_wire_source(fl_observe *o);
/* Whether the run had such a source: a wire field unknown without one was never looked at;
 * with one, it is unknown because the wire never carried it (no RST_STREAM, no trailers). */
bool fl_observe_has_wire_source(const fl_observe *o);

/*
 * EXTERNAL SIDES. A side that is a program of the user's (or an address) sends no events: the
 * runner marks it with fl_observe_external, says when it is ready (fl_observe_ready) and, after
 * the run, gives the messages the capture's decoder counted on its leg
 * (fl_observe_wire_messages). Its peer fields then come from the wire, and a field the wire
 * cannot tell is unknown, never guessed:
 *   status       the grpc-status of the server's trailers (wire.server.trailers.status)
 *   cancelled    (server) a RST_STREAM on its stream, either way
 *   sent, recv   gRPC messages in its DATA frames / its peer's, as counted on its own leg
 *   started      a HEADERS frame of the call was seen
 *   exit_code, peak_rss, threads, fds, rss_growth: its process, as for a built-in peer
 * Everything else (steps, ops, hashes, decode errors, the status message) is unknown.
 */
void fl_observe_external(fl_observe *o, fl_side side);
void fl_observe_ready(fl_observe *o, fl_side side, int port);
void fl_observe_wire_messages(fl_observe *o, fl_side side, int64_t sent, int64_t recv);

/*
 * PROCESS FAULTS (plan/faults.h, layer process), as the runner carries them out:
 * fl_observe_fault_signal before a kill or signal fault's signal (the exit that may follow is
 * the fault's doing, `killed`, not a crash); fl_observe_paused when a pause fault stops or
 * continues the side (while any side is paused there is no hang, and the continue counts as
 * progress); fl_observe_restarted when a restart fault started the side again (its calls
 * begin afresh; counts add up).
 */
void fl_observe_fault_signal(fl_observe *o, fl_side side);
void fl_observe_paused(fl_observe *o, fl_side side, bool paused, int64_t at_ns);
void fl_observe_restarted(fl_observe *o, fl_side side);

/* The process side. */
void fl_observe_spawned(fl_observe *o, fl_side side, pid_t pid);
void fl_observe_exited(fl_observe *o, fl_side side, int exit_code, int term_signal,
                       long peak_rss_kib);
void fl_observe_ending(fl_observe *o, fl_side side); /* the runner begins to end it */
void fl_observe_events_closed(fl_observe *o, fl_side side);

/* A process sample at `at_ns` (cpu_ns: its CPU time so far, -1 unknown); `baseline`: the one
 * growth is measured from. */
void fl_observe_sample(fl_observe *o, fl_side side, int64_t at_ns, int64_t rss_kib, int64_t threads,
                       int64_t fds, int64_t cpu_ns, bool baseline);

/* A reading of the kernel's queues of `side`'s connection socket (bytes unsent, bytes unread),
 * as sock_diag reports them. */
void fl_observe_socket(fl_observe *o, fl_side side, int64_t unsent, int64_t unread);

/* The capture's counts, once it stopped (running: it ran, so the counts mean something). */
void fl_observe_capture(fl_observe *o, bool running, uint64_t packets, uint64_t dropped);

/* "As of now" for lookups and the hang rule. */
void fl_observe_set_now(fl_observe *o, int64_t now_ns);

/* The run is over: lookups answer "at the end" from now on. */
void fl_observe_end(fl_observe *o, fl_end_reason reason, int64_t elapsed_ns);

/* ---- queries --------------------------------------------------------------------------- */

/* The fl_field_lookup of the predicate language; ctx is the fl_observe. */
bool fl_observe_lookup(void *ctx, fl_scope scope, const fl_field_info *field, fl_value *out);

/* A field's value without a predicate (report.json writes every field this way). */
fl_value fl_observe_get(const fl_observe *o, fl_field_id id, fl_scope scope);

const fl_side_obs *fl_observe_side(const fl_observe *o, fl_side side);

/* The outcome as the run stands (final once fl_observe_end was called). */
fl_outcome fl_observe_outcome(const fl_observe *o);
bool fl_observe_finished(const fl_observe *o); /* fl_observe_end was called */
int64_t fl_observe_elapsed(const fl_observe *o);

/* The lowest index of a barrier some call of `side` waits at, or -1. */
int fl_observe_waiting_barrier(const fl_observe *o, fl_side side);
/* How many calls of `side` wait at the barrier of step `index` now. */
uint32_t fl_observe_waiting_at(const fl_observe *o, fl_side side, size_t index);

/* A call is open: started on a side, not over there, and that side still alive. */
bool fl_observe_call_open(const fl_observe *o);

/* The run is complete: the client exited and its events are all read, and the server's calls
 * are over (or never started, or the server exited). */
bool fl_observe_complete(const fl_observe *o);

/*
 * The hang rule. Returns when a hang would be declared if nothing happens before (model time),
 * or INT64_MAX when none can be: no call is open. While a timer a peer is known to wait on lies
 * ahead (a sleep step, a shutdown deadline, a call's deadline) the answer is that timer, to look
 * again then. Otherwise it is the last event (or the last timer that fired) plus hang_after
 * plus the longest pause the steps begun so far build in (a send interval, a read delay).
 */
int64_t fl_observe_hang_at(const fl_observe *o);

/*
 * THE BUSY RULE. Silence is no hang while a peer burns CPU (a client packing a huge message
 * spends seconds in memmove without an event). When the hang rule fires, the runner samples
 * the peers and asks fl_observe_busy: a side that used at least a quarter of a core since the run
 * went quiet is busy (its CPU time and the window it was measured over are returned). The
 * runner then records it with fl_observe_busy_seen, which counts as progress, and waits on;
 * a run that reaches its timeout while a side was busy within hang_after ends `busy`.
 */
bool fl_observe_busy(const fl_observe *o, fl_side side, int64_t *cpu_ns, int64_t *window_ns);
void fl_observe_busy_seen(fl_observe *o, fl_side side, int64_t at_ns);

#endif
