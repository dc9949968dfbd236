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
 * While the run goes on, each line is appended as it arrives (so a runner that dies leaves a
 * usable file, in arrival order). fl_timeline_finish then rewrites the file in causal order
 * (stable: equal times keep their arrival order) through a temporary file and a rename.
 */
#ifndef FL_TIMELINE_H
#define FL_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "util.h"

typedef struct fl_timeline fl_timeline;

/* Opens `path` for the live lines. Returns 0 and *out, or -1 with the reason. */
FL_MUST_USE int fl_timeline_open(const char *path, fl_timeline **out, char *err, size_t errlen);

/* Adds an event a source sent (`side`: "server", "client", "proxy"). */
void fl_timeline_add(fl_timeline *tl, int64_t t_ns, int64_t arrival_ns, const char *side,
                     const fl_event *ev, bool after_end);

/* Adds one of the runner's own events, with attributes as for fl_event_format. */
void fl_timeline_add_runner(fl_timeline *tl, int64_t t_ns, fl_event_id id, const fl_event_kv *kv,
                            size_t n_kv);

/* Events added so far. */
int fl_timeline_count(const fl_timeline *tl);

/* Rewrites the file in causal order and closes it; frees tl. Returns 0, or -1 with the first
 * write error of the whole timeline (a live line that could not be written included). */
FL_MUST_USE int fl_timeline_finish(fl_timeline *tl, char *err, size_t errlen);

#endif
