/*
 * clock: a side's `clock:` plan, the libfaketime fault, parsed from the scenario file.
 *
 *   server:
 *     clock:
 *       fake: realtime              # required: realtime | realtime+monotonic
 *       offset: +2h                 # the side's clock this far ahead from its start (default 0)
 *       jump: { by: +30s, on: server.recv >= 3 }      # or after: 500ms; or a list of them
 *       rate: x2                    # parsed, and refused on this platform (below)
 *
 * The scenario parser calls fl_clock_parse for the value of a side's `clock:` key and
 * fl_clock_check_arg for each of that side's channel arguments once the side is read;
 * injectors/clock.h turns a plan into the environment the side is started with.
 *
 * WHAT IS REFUSED, AND WHY (measured on Debian 12: libfaketime 0.9.10, gRPC C core 1.51 with
 * abseil 20220623; the findings table is in README "Clock faults", the probes in tests/clock):
 *   - `rate`, in every form. libfaketime divides relative waits (epoll_wait, nanosleep) by the
 *     rate, but abseil's futex waits take an absolute CLOCK_REALTIME deadline that the kernel
 *     measures on the real clock, so C core's timers follow neither clock: under x10 (monotonic
 *     faked) a 300 ms client deadline ended after 281 ms of real time (2.8 s of the side's own),
 *     and a 1 s max_connection_age never fired.
 *   - a negative `offset`, and a negative jump. With the side's CLOCK_REALTIME behind, every
 *     abseil timed wait's deadline lies in the past: C core's two timer threads spin
 *     (1.7 to 3 s of CPU in a 2 s call, even at -1s); a monotonic clock stepped back also breaks
 *     CLOCK_MONOTONIC's one promise (the probe's call lasted -27 s on its own clock).
 *   - with a nonzero offset or any jump: channel arguments that arm C core's EventEngine timers
 *     (keepalive, max_connection_age and _grace, max_connection_idle, client_idle_timeout).
 *     Those timers wait in abseil's futex with a deadline taken from the faked realtime clock,
 *     so they fire late by the offset (keepalive pings stopped, max_connection_age never sent
 *     its GOAWAY under +2h): an artefact of libfaketime, not what a skewed clock does to gRPC.
 * What holds: calls, deadlines (C core's iomgr timers, checked by the peer's polling thread on
 * CLOCK_MONOTONIC), grpc-timeout on the wire (relative: a deadline of 300 ms goes out as
 * "299m" whatever the side's clock), and with fake: realtime+monotonic a forward jump moves
 * the side's deadlines and `sleep` steps with it.
 *
 * Errors come back as -1 with a message (no file prefix) and the 1-based line and column of the
 * node at fault; the scenario parser prefixes the file.
 */
#ifndef FL_PLAN_CLOCK_H
#define FL_PLAN_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "predicate.h"
#include "util.h"

/* Which clocks libfaketime fakes for the side. */
typedef enum {
  FL_CLOCK_FAKE_REALTIME,           /* CLOCK_REALTIME, time(), gettimeofday() */
  FL_CLOCK_FAKE_REALTIME_MONOTONIC, /* those, and CLOCK_MONOTONIC (and _RAW, BOOTTIME) */
} fl_clock_fake;

/* One `jump`: step the side's clock by `by_ns` when its trigger holds. */
typedef struct {
  int64_t by_ns;    /* > 0 (a negative step is refused) */
  fl_predicate *on; /* the trigger, a predicate on server.* or client.* fields; NULL with after */
  char *on_text;    /* as written */
  int64_t after_ns; /* or this long after the run began (the runner's clock); -1 with on */
  int line, col;    /* the jump's map in the file */
} fl_clock_jump;

typedef struct {
  bool present; /* the side has a `clock:` key */
  int line, col;
  fl_clock_fake fake;
  int64_t offset_ns; /* >= 0 */
  fl_clock_jump *jumps;
  size_t n_jumps;
} fl_clock_plan;

/*
 * Parses the value of a side's `clock:` key (`side` is "server" or "client", for messages)
 * from `doc` into *out, which must be zeroed. Returns 0, or -1 with the message in err and the
 * place in *line, *col. Errors: not a map; an unknown or duplicate key (with a near miss); no
 * `fake`, or one that is not realtime or realtime+monotonic; an offset or step that is not a
 * signed duration like +30s or -2h; a rate that is not like x2; a jump that is not a map (or a
 * list of maps) with `by` and exactly one of `on` (a predicate on server.* or client.* fields)
 * and `after` (a positive duration); a jump by 0; and the refusals above (rate, negative offset,
 * negative jump), each message saying why. *out may hold partial results on failure; free it
 * with fl_clock_plan_free either way.
 */
int fl_clock_parse(yaml_document_t *doc, yaml_node_t *n, const char *side, fl_clock_plan *out,
                   char *err, size_t errlen, int *line, int *col) FL_MUST_USE;

/*
 * Checks one of the side's channel arguments against its clock plan. Returns 0, or -1 with a
 * message naming the argument and why it cannot run under this clock (the EventEngine timer
 * refusal above). A side without a clock, or with offset 0 and no jump, accepts every argument.
 */
int fl_clock_check_arg(const fl_clock_plan *plan, const char *key, char *err,
                       size_t errlen) FL_MUST_USE;

/* Frees what the plan holds (not the plan itself) and zeroes it. */
void fl_clock_plan_free(fl_clock_plan *plan);

/* "realtime" or "realtime+monotonic", as the scenario and the report spell it. */
const char *fl_clock_fake_name(fl_clock_fake f);

/* True when the side's CLOCK_MONOTONIC is faked: its event stamps are then not on the runner's
 * clock, and the observation model must place its events by their arrival (observe.h, TIME). */
bool fl_clock_fakes_monotonic(const fl_clock_plan *plan);

#endif
