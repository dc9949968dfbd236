/*
 * timeline: events.jsonl, the merged timeline of a run.
 *
 * One JSON object per line:
 *   t_ms        when it happened, ms since the run began: the sender's own stamp when its
 *               clock is the runner's (the causal order), else the runner's arrival stamp
 *   arrival_ms  when the runner read it
 *   side        server, client, proxy or runner
 *   event       the event's name (harness/observe/event.h)
 *   peer_ns     the sender's own CLOCK_MONOTONIC stamp (not for the runner's events)
 *   after_end   true: reported while the runner was ending the run (kept, not judged)
 *   ...         the event's attributes, integers as numbers, strings through jsonout
 *
 * While the run goes on, each line is appended to the live stream as it arrives (so a runner
 * that dies leaves a usable file, in arrival order); at the end fl_timeline_write_sorted writes
 * them all again in causal order (stable: equal times keep their arrival order), for the
 * caller to put in the live file's place (the runner: rundir.h's fl_rundir_rewrite). Write
 * errors are the streams' own to record (a run directory's streams do).
 */
#ifndef FL_TIMELINE_H
#define FL_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "event.h"
#include "util.h"

typedef struct fl_timeline fl_timeline;

/* A timeline whose lines also go, as they come, to `live` (NULL: none); the stream stays the
 * caller's. Returns 0 and *out, or -1 (out of memory). */
FL_MUST_USE int fl_timeline_new(FILE *live, fl_timeline **out, char *err, size_t errlen);

/* Adds an event a source sent (`side`: "server", "client", "proxy"). */
void fl_timeline_add(fl_timeline *tl, int64_t t_ns, int64_t arrival_ns, const char *side,
                     const fl_event *ev, bool after_end);

/* Adds one of the runner's own events, with attributes as for fl_event_format. */
void fl_timeline_add_runner(fl_timeline *tl, int64_t t_ns, fl_event_id id, const fl_event_kv *kv,
                            size_t n_kv);

/* Events added so far. */
int fl_timeline_count(const fl_timeline *tl);

/* Stops the live lines (the caller may close that stream now). */
void fl_timeline_detach(fl_timeline *tl);

/* Writes every line, in causal order, to `out`. Returns 0, or -1 with err: a line that could
 * not be kept (out of memory) or a write error of `out`. */
FL_MUST_USE int fl_timeline_write_sorted(fl_timeline *tl, FILE *out, char *err, size_t errlen);

void fl_timeline_free(fl_timeline *tl);

#endif
