/*
 * samples: one reading of a process's resources from /proc, for samples.csv and the
 * rss_growth / peak_rss / threads / fds predicate fields.
 */
#ifndef FL_SAMPLES_H
#define FL_SAMPLES_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct {
  int64_t rss_kib;   /* VmRSS */
  int64_t threads;   /* Threads */
  int64_t fds;       /* entries in /proc/PID/fd */
  int64_t voluntary_ctxt_switches, nonvoluntary_ctxt_switches;
} fl_sample;

/* Reads pid's current sample. Returns 0, or -1 if the process is gone or unreadable. */
int fl_sample_read(pid_t pid, fl_sample *out);

/* The CSV header line and one row (t_ms is the runner clock, ms since the run began). */
void fl_sample_write_header(FILE *out);
void fl_sample_write_row(FILE *out, double t_ms, const char *side, pid_t pid, const fl_sample *s);

#endif
