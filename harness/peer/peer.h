/*
 * peer: a built-in gRPC peer on C core, running one side's script of a scenario.
 *
 * Single-threaded and deterministic: one completion queue, driven only by fl_peer_pump; every
 * op batch has a tag pointing at an fl_op record; a blocking step starts a batch and pumps
 * until its record is done. The pump also reads barrier releases ("go N") from the control fd,
 * so C core I/O and barriers both make progress whatever the script is doing (sleeping,
 * blocked on a send, waiting on a barrier).
 *
 * Events go to the events fd in the line protocol of event.h. A peer that cannot write an
 * event (runner gone) or hits an internal error exits 1 (after an `error` event when it can);
 * fl_peer_run_* return only on success.
 */
#ifndef FL_PEER_H
#define FL_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "scenario.h"

typedef struct fl_peer fl_peer;
typedef struct fl_op fl_op;

/* One op batch in flight. on_done (optional) runs inside the pump as soon as the batch
 * completes, so events such as `status` and `cancelled` appear when they happen. */
struct fl_op {
  bool started, done, ok;
  void (*on_done)(fl_peer *p, fl_op *op);
};

typedef struct {
  const char *side; /* "server" | "client" */
  const char *scenario_path;
  const char *target; /* client: HOST:PORT */
  int events_fd, control_fd;
} fl_peer_options;

struct fl_peer {
  fl_peer_options opt;
  fl_scenario *scenario;
  const fl_side_plan *plan;
  bool is_server;

  grpc_completion_queue *cq;
  grpc_call *call;

  /* Control fd: partial line, end of file, and which barriers the runner released. */
  char ctl_buf[128];
  size_t ctl_len;
  bool ctl_eof;
  bool *released; /* [plan->n_steps] */

  uint64_t seq;      /* last seq put into a message (attempts) */
  uint64_t sent;     /* messages whose send op succeeded */
  uint64_t received; /* messages received */

  bool cancelled_by_us;  /* a `cancel` step ran */
  bool close_send_issued; /* client: SEND_CLOSE_FROM_CLIENT was started */
  bool status_issued;     /* server: SEND_STATUS_FROM_SERVER was started */
  bool call_over;         /* client: status received; server: close op done */

  /* client: RECV_STATUS_ON_CLIENT results, filled before its op completes */
  grpc_status_code status_code;
  grpc_slice status_details;
  grpc_metadata_array trailing_md;
  /* server: RECV_CLOSE_ON_SERVER result */
  int close_cancelled;
};

/* Nanoseconds on CLOCK_MONOTONIC. */
int64_t fl_peer_now_ns(void);

/* Writes one event: pairs of key, value (strings), then NULL. Exits 1 if the write fails. */
void fl_peer_emit(fl_peer *p, const char *name, ...);

/* Emits `error message=...`, logs it to stderr, exits 1. */
__attribute__((noreturn, format(printf, 2, 3))) void fl_peer_fail(fl_peer *p, const char *fmt,
                                                                 ...);

/* Decimal text of x in buf (at least 24 bytes); returns buf. */
const char *fl_peer_i64(char *buf, int64_t x);
#define FL_NUM(x) fl_peer_i64((char[24]){0}, (int64_t)(x))

/* One round: waits up to 10 ms (never past deadline_ns, < 0 for no deadline) for a
 * completion, then reads what the control fd has. */
void fl_peer_pump(fl_peer *p, int64_t deadline_ns);

/* Starts a batch on p->call with `op` as its tag. A call error (an op the script may not issue
 * here, e.g. a second close_send) is fatal: `what` names it in the error event. */
void fl_peer_start(fl_peer *p, const grpc_op *ops, size_t n, fl_op *op, const char *what);

/* Pumps until op is done. */
void fl_peer_wait_op(fl_peer *p, fl_op *op);

/* Runs the side's script, step by step. Side-specific steps (close_send, status) are checked
 * against the side. */
void fl_peer_run_script(fl_peer *p);

/* The steps that are also issued outside the script: the client's closing half-close and the
 * server's closing status. */
void fl_peer_close_send(fl_peer *p);
void fl_peer_send_status(fl_peer *p, int code, const char *message);

/* The sides. Channel args from the plan are converted here; both return when the peer may emit
 * `done` and exit 0. */
void fl_peer_run_server(fl_peer *p);
void fl_peer_run_client(fl_peer *p);

/* The plan's channel args as C core args; `extra` (may be NULL) is appended unless the plan
 * sets that key. Free with fl_peer_args_free. */
grpc_channel_args *fl_peer_args_new(fl_peer *p, const grpc_arg *extra);
void fl_peer_args_free(grpc_channel_args *a);

#endif
