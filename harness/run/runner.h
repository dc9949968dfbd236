/*
 * runner: runs one scenario with two real peer processes and records what happened.
 *
 * fl_run forks the server peer and then the client peer, each in its own process group with
 * PR_SET_PDEATHSIG, relays barrier releases, stamps every event on the runner's monotonic clock,
 * detects hangs and the scenario timeout, and always ends both process groups before it returns,
 * whatever happened (SIGINT and SIGTERM included: they end the run, not the runner).
 *
 * It writes into the run directory: scenario.yaml (the file as run), events.jsonl (the merged
 * timeline), server.stderr and client.stderr. The caller judges the result (verdict) and writes
 * the reports.
 */
#ifndef FL_RUNNER_H
#define FL_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "predicate.h"
#include "scenario.h"

#define FL_MAX_OPS 4

typedef struct {
  char op[16]; /* send, recv, close_send, status */
  bool pending;
  int64_t since_ns;            /* runner clock, relative to run start */
  int64_t sent_bytes_at_start; /* this side's sent_bytes when the op began */
} fl_op_state;

/* What the runner observed of one side. Times are runner-clock ns since the run started. */
typedef struct {
  const char *name; /* "server" or "client" */
  pid_t pid;
  bool spawned, exited;
  int exit_code;   /* valid if exited and term_signal == 0 */
  int term_signal; /* the signal that ended it, 0 if it exited */
  bool killed_by_runner;
  long peak_rss_kib;

  bool ready;
  int port;
  bool started;
  int64_t start_ns;
  /* The peer's own stamps of its call's start and end: call durations are measured on the
   * clock of the process that lived them, free of the runner's scheduling delays. */
  int64_t start_peer_ns, end_peer_ns;
  int64_t deadline_at_peer_ns; /* client: its first call's deadline on its own clock; 0: none */
  int64_t sent, recv, sent_bytes, recv_bytes, decode_errors;
  bool recv_end, half_closed, close_send_issued, cancel_issued;
  bool have_status;
  int status_code;
  char *status_message;
  int64_t status_ns;
  bool have_cancelled, cancelled;
  int64_t closed_ns; /* server: when its call's close op finished */
  bool done;
  char *error; /* the peer's own `error` event */

  /* Scenario capabilities: payloads, pending ops, reading, shutdown, streams. */
  int64_t calls;       /* calls that started on this side (call_start events) */
  int64_t calls_ended; /* client: statuses received; server: calls closed */
  int64_t calls_ok;    /* client: calls ended with OK; server: calls closed not cancelled */
  bool have_recv_limit;
  int64_t recv_limit;   /* the peer's grpc.max_receive_message_length in force (`ready`) */
  int64_t largest_send; /* the biggest message it started to send (op_start bytes) */
  int64_t nulls_sent, nulls_received, fields_received, invalid_utf8;
  char last_decode_error[32]; /* the last received message's problem, "" if none yet */
  char last_sent_hash[17], last_recv_hash[17]; /* FNV-1a 64 hex of the last message */
  bool reading_stopped;
  int64_t sends_pending, close_sends_pending; /* ops in flight now, over all calls */
  int64_t sends_failed;
  int64_t close_send_pending_ns; /* how long a completed close_send op was pending (peer clock) */
  int64_t send_max_pending_ns;   /* the longest a completed send stayed pending (peer clock) */
  int64_t send_stall_bytes;      /* sent_bytes when that send began */
  bool have_cancel_ns;
  int64_t cancel_ns;      /* client: its first `cancel` step */
  int64_t deadline_at_ns; /* client: call start + the scenario's deadline, 0 without one */
  bool shutdown_started, shutdown_forced, shutdown_done;
  int64_t shutdown_start_peer_ns, shutdown_done_peer_ns;

  /* From samples.csv: resources over the run (KiB). The baseline is the sample taken when
   * the call started, so growth leaves out C core's own start-up. */
  struct {
    int n;
    int64_t baseline_rss_kib, peak_rss_kib, last_rss_kib;
    int64_t max_threads, max_fds;
  } samples;

  fl_op_state ops[FL_MAX_OPS];
  int step_index;    /* the step running now, -1 before the first */
  int furthest_step; /* the highest step index that has begun, -1 before the first */
  int64_t step_start_ns;
  int waiting_barrier; /* step index of the barrier the peer waits on, or -1 */
  int64_t last_event_ns;
} fl_peer_state;

#define FL_MAX_DUMPS 16

/* One thread dump the runner took: threads-<side>-<n>.txt in the run directory. */
typedef struct {
  char file[64];
  const char *side;
  char why[160];
  int64_t at_ns;
  int threads;
  double elapsed_ms; /* unwinding and symbolizing, as fl_threads_dump measured it */
  char error[256];   /* why the dump failed; empty if it worked */
} fl_dump_record;

typedef struct {
  bool requested;  /* the scenario asked for a pcap */
  bool running;    /* the capture started (so `stats` is meaningful) */
  char error[320]; /* why there is no capture, in plain words */
  char filter[64];
  fl_capture_stats stats;
} fl_capture_record;

typedef struct {
  bool finished; /* the run is over: outcome and elapsed are final */
  fl_outcome outcome;
  bool harness_error; /* the scenario could not be run; see error */
  char error[512];
  int64_t elapsed_ns;
  char started_at[32]; /* ISO 8601, UTC */
  long runner_peak_rss_kib;
  int n_events;
  fl_peer_state server, client;
  fl_capture_record capture;
  fl_dump_record dumps[FL_MAX_DUMPS];
  int n_dumps;
} fl_run_result;

typedef struct {
  const char *scenario_path; /* the file, copied into the run directory */
  const char *run_dir;       /* must exist */
  const char *peer_path;     /* the faultline-peer executable */
  bool progress;             /* print progress lines to stderr */
} fl_run_options;

/* Runs the scenario. Returns 0 when the run took place (whatever its outcome), or -1 with
 * result->harness_error set and result->error saying why (the peer would not start, the run
 * directory is not writable, ...). Either way no child process is left. */
int fl_run(const fl_scenario *s, const fl_run_options *o, fl_run_result *result);

void fl_run_result_free(fl_run_result *r);

/* Resolves a field for predicates against a finished or ongoing run. ctx is the
 * fl_run_result. */
bool fl_run_lookup(void *ctx, fl_scope scope, const fl_field_info *field, fl_value *out);

#endif
