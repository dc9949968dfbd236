/*
 * runner: runs one scenario with real processes, and supervises them.
 *
 * fl_run forks the server peer and then the client peer, each in its own process group with
 * PR_SET_PDEATHSIG (a peer that cannot be exec'd is reported at once, with its errno, through a
 * close-on-exec pipe), reads their event lines and hands them to the observation model
 * (harness/observe/observe.h) and to the timeline, relays barrier releases when the model says
 * a barrier's predicate holds, takes the evidence (capture, samples, thread dumps) and detects
 * hangs and the scenario timeout with the model's hang rule. It always ends every process group
 * before it returns, whatever happened: SIGINT, SIGTERM and SIGHUP end the run, not the runner.
 *
 * The runner holds no observations of its own: what happened is in result->obs; the caller
 * judges it (verdict) and writes the reports.
 *
 * It writes into the run directory, every file through rundir.h (so none can follow a link or
 * open an existing file, and every write error is recorded there for the verdict):
 * scenario.yaml (the bytes the plan was parsed from; the user's file is never opened again),
 * events.jsonl (the merged timeline, see reports/evidence/timeline.h), samples.csv,
 * server.stderr and client.stderr, thread dumps and capture.pcap.
 *
 * Debugging faultline itself: with FAULTLINE_TRACE set (or `faultline run --trace`), the runner
 * prints every change of its state to stderr, and the peers print theirs to their stderr files.
 */
#ifndef FL_RUNNER_H
#define FL_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "observe.h"
#include "rundir.h"
#include "scenario.h"
#include "util.h"
#include "wire_evidence.h"

#define FL_MAX_DUMPS 16

/* One thread dump the runner took: threads-<side>-<n>.txt in the run directory. */
typedef struct {
  char file[64];       /* the human form; the Go-grammar and pprof forms beside it: */
  char go_file[64];    /* threads-<side>-<n>.go.txt (panicparse reads it) */
  char pprof_file[64]; /* threads-<side>-<n>.pb.gz (go tool pprof reads it) */
  fl_side side;
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
  char frames_error[320]; /* why frames.txt could not be made from the capture; empty if it was */
} fl_capture_record;

/* The busy rule's last finding (observe.h): who burned CPU while nothing happened, from
 * since_ns to at_ns, and its busiest thread. */
typedef struct {
  bool seen;
  fl_side side;
  pid_t tid;
  char thread[16]; /* its name */
  int64_t cpu_ns, since_ns, at_ns;
} fl_busy_record;

/* The path proxy, when the scenario put one between client and server. */
typedef struct {
  bool used;
  pid_t pid;
  int port;        /* where the client dialled it */
  int exit_code;   /* valid once exited, with term_signal 0 */
  int term_signal; /* the signal that ended it, 0 if it exited */
  bool exited;
} fl_proxy_record;

/* RLIMIT_NOFILE for the peers, when the scenario's connections need more open files than the
 * runner was started with: the runner raises the soft limit (and the hard one as root) in each
 * side's process that sets no `rlimits: nofile` of its own. */
typedef struct {
  bool raised;     /* false: the limit was enough and is left alone */
  long need;       /* the connections, and room for the process's own files */
  long from, to;   /* the soft limit before and as set; to < need: the hard limit stopped it */
  int connections; /* what `need` was counted from */
} fl_nofile_record;

typedef struct {
  fl_observe *obs; /* what the run observed; owned */
  fl_nofile_record nofile;
  fl_proxy_record proxy;
  fl_wire_evidence *wire; /* the capture's frames and findings; NULL without a capture; owned */
  fl_busy_record busy;
  bool harness_error; /* the scenario could not be run, or its evidence not written; see error */
  char error[512];
  char started_at[32];      /* ISO 8601, UTC */
  bool timeline_by_arrival; /* a side's clock was faked: the runner's stamps order the timeline */
  long runner_peak_rss_kib;
  int n_events;
  fl_capture_record capture;
  fl_dump_record dumps[FL_MAX_DUMPS];
  int n_dumps;
} fl_run_result;

typedef struct {
  fl_rundir *rd;          /* the run directory (rundir.h): every file of the run is made
                             through it, and its write errors recorded there */
  const char *peer_path;  /* the faultline-peer executable */
  const char *proxy_path; /* the faultline-proxy executable, started when the scenario has
                             `path:` or a fault that acts on the path */
  bool progress;          /* print progress lines to stderr */
  bool allow_remote;      /* a server target may be another host (--allow-remote) */
} fl_run_options;

/*
 * Runs the scenario. Returns 0 when the run took place (whatever its outcome), or -1 with
 * result->harness_error set and result->error saying why (the peer would not start, the run
 * directory is not writable, ...). Either way no child process is left and result->obs holds
 * what was observed (it may be NULL only if memory ran out).
 */
FL_MUST_USE int fl_run(const fl_scenario *s, const fl_run_options *o, fl_run_result *result);

void fl_run_result_free(fl_run_result *r);

#endif
