/*
 * calls: how many calls a run makes and how they are spread over time and over connections
 * (issue 11, "Call patterns"). The built-in client makes them; the built-in server accepts as
 * many.
 *
 *   calls:
 *     count: 20          # calls in all (1..100000; default 1)
 *     concurrency: 4     # at most this many open at once (default 1: one after another;
 *                        # with `every`, no limit)
 *     every: 100ms       # a new call every D from the first one's start, whether or not the
 *                        # earlier ones are over (a call whose time came waits for a free
 *                        # slot when `concurrency` is set too)
 *     channels: 4        # the calls spread round-robin over N client channels, one HTTP/2
 *                        # connection each (default 1); `per_call`: a new channel for every
 *                        # call, closed when the call is over
 *
 * `streams: N` (N calls at once on one channel) stays what it was: it is calls: {count: N,
 * concurrency: N}, and a scenario says one or the other. Every call runs the side's script.
 * Errors come back through fl_plan_yaml as "FILE:LINE:COL: what is wrong".
 */
#ifndef FL_CALLS_H
#define FL_CALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "plan_yaml.h"
#include "util.h"

/* The most calls a run makes (calls: count, streams): each call is a few hundred bytes of the
 * observation model on each side and about 2 KB of events.jsonl. */
#define FL_CALLS_MAX 100000
/* The most client channels (calls: channels): each is a connection, a socket on either side. */
#define FL_CHANNELS_MAX FL_CALLS_MAX

typedef struct {
  bool present; /* calls: was written */
  int line, col;
  uint32_t count;       /* calls in all */
  uint32_t concurrency; /* at most this many open at once */
  int64_t every_ns;     /* a new call every this long; 0: as soon as a slot is free */
  uint32_t channels;    /* channels the calls are spread over (per_call: one per call) */
  bool per_call;        /* channels: per_call */
} fl_calls_plan;

/* Parses `calls:` (the scenario parser refuses it beside `streams:`). */
FL_MUST_USE int fl_calls_parse(const fl_plan_yaml *y, yaml_node_t *n, fl_calls_plan *out);

/* The plan for a scenario without `calls:`: `streams` calls at once on one channel. */
fl_calls_plan fl_calls_from_streams(uint32_t streams);

#endif
