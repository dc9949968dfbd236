/*
 * batch: the runs of one `faultline run`, at most J at a time (-j), each isolated.
 *
 * A batch of one run runs in this process, its output going out as it comes. A batch of more
 * runs gives each run a worker process of its own (fork, no exec): the runner's process-wide
 * state (its signalfd, its children, SIGCHLD) belongs to one run only, a run that crashes ends
 * only its worker, and the worker's stdout and stderr are collected and printed whole when it
 * ends, so that the summaries of parallel runs never interleave. Each run has its own run
 * directory (made by `prepare`, in this process, so that names in a shared folder are chosen
 * by one process) and its own ports (the peers listen on port 0).
 *
 * Progress goes to stderr:
 *   - before a run starts, unless quiet or live: "running NAME (3/22, timeout 10s) ...";
 *   - when a run of a batch of several ends, unless quiet: "[3/22] NAME reproduced 0.4s" (the
 *     count is of runs ended, the time the run's wall time);
 *   - live (stderr is a terminal): one status line kept at the bottom and rewritten in place,
 *     "[3/22] 1 failed · running ping-pong, cancel-vs-deadline", erased at the end.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP stop the batch. No run starts after one; each running
 * worker is sent the same signal (its runner ends the run, writes its run directory and leaves
 * no peer, runner.h), and the batch waits for them. A worker whose parent dies gets SIGTERM
 * (PR_SET_PDEATHSIG).
 */
#ifndef FL_BATCH_H
#define FL_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "verdict.h"

/* At most this many runs at once, whatever -j says (the caller bounds -j by the cores too). */
#define FL_BATCH_MAX_JOBS 64

/* What a run reports back to the batch (from its worker through a pipe: one write, smaller
 * than PIPE_BUF, so it arrives whole or not at all). */
typedef struct {
  fl_verdict_kind kind;
  bool interrupted; /* the run ended on a stop signal */
  char why[1024];   /* for an error the report cannot say itself (no report.json, say) */
} fl_batch_outcome;

typedef struct {
  fl_batch_outcome outcome;
  bool ran;       /* false: not started (the batch was stopped first) */
  double seconds; /* wall time, from start to its end */
} fl_batch_result;

typedef struct {
  size_t n; /* runs */
  int jobs; /* at most this many at once (>= 1) */
  bool quiet;
  bool live;  /* a live status line on stderr */
  bool color; /* colours in the progress lines */
  void *ctx;
  /* Run i's name for progress lines ("ping-pong", "ping-pong (run 2 of 3)") and its timeout. */
  const char *(*label)(void *ctx, size_t i);
  double (*timeout_s)(void *ctx, size_t i);
  /* In this process, before run i starts: makes what it needs (its run directory). Returns 0,
   * or -1 with why: the run is then an error that did not run. */
  int (*prepare)(void *ctx, size_t i, char *why, size_t len);
  /* Runs run i (in its worker, or here for a batch of one) and says how it went. */
  void (*run)(void *ctx, size_t i, fl_batch_outcome *out);
  /* In this process, once run i is started elsewhere or over: frees what prepare made here. */
  void (*release)(void *ctx, size_t i);
} fl_batch;

/* Runs the batch; results[i] says how run i went. Returns true when a stop signal stopped it
 * (then the runs not started have ran == false). */
bool fl_batch_run(const fl_batch *b, fl_batch_result *results);

#endif
