/*
 * samples: one reading of a process's resources from /proc, for samples.csv and the
 * rss_growth / peak_rss / threads / fds predicate fields.
 */
#ifndef FL_SAMPLES_H
#define FL_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "threads.h"

typedef struct {
  int64_t rss_kib; /* VmRSS */
  int64_t threads; /* Threads */
  int64_t fds;     /* entries in /proc/PID/fd */
  int64_t voluntary_ctxt_switches, nonvoluntary_ctxt_switches;
  int64_t cpu_ns; /* user + system time of every thread so far (/proc/PID/stat) */
} fl_sample;

/* Reads pid's current sample. Returns 0, or -1 if the process is gone or unreadable. */
int fl_sample_read(pid_t pid, fl_sample *out);

/* The CSV header line and one row (t_ms is the runner clock, ms since the run began). */
void fl_sample_write_header(FILE *out);
void fl_sample_write_row(FILE *out, double t_ms, const char *side, pid_t pid, const fl_sample *s);

/*
 * Per-thread activity, for the "how long" of thread dumps: each update reads every thread's
 * context switches; a thread whose count moved since the last update (or that is new) counts
 * as active at that moment. A thread's idle time is then known to within one update interval,
 * and from the first update on only (before it, nothing was seen).
 */
#define FL_MAX_TRACKED_THREADS 256

typedef struct {
  pid_t tid;
  char comm[16]; /* the thread's name */
  int64_t switches;
  int64_t active_at_ns;            /* when its count last moved, on the caller's clock */
  int64_t cpu_ns, read_at_ns;      /* its CPU time, and when it was read (this update) */
  int64_t prev_cpu_ns, prev_at_ns; /* an earlier reading, FL_ACTIVITY_WINDOW_NS old or more */
} fl_thread_activity;

typedef struct {
  fl_thread_activity threads[FL_MAX_TRACKED_THREADS];
  int n;
} fl_activity;

void fl_activity_update(fl_activity *a, pid_t pid, int64_t now_ns);

/* The span CPU use is compared over: the kernel counts CPU time in 10 ms ticks, so two updates
 * a few milliseconds apart say nothing. */
#define FL_ACTIVITY_WINDOW_NS (100 * 1000000LL)

/* The thread that used the most CPU over the last FL_ACTIVITY_WINDOW_NS or more (between its
 * prev and its current reading); false if none used any. */
bool fl_activity_busiest(const fl_activity *a, fl_thread_activity *out);

/* Writes each tracked thread's idle time as of now_ns into idle (at most max); returns how many. */
size_t fl_activity_idle(const fl_activity *a, int64_t now_ns, fl_thread_idle *idle, size_t max);

#endif
