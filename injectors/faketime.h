/*
 * faketime: the clock injector. Starts a side under libfaketime as its `clock:` plan says
 * (harness/plan/clock.h has the plan, what is refused and why).
 *
 * The runner, for each side it starts (built-in peer or external program alike):
 *   1. once per run: fl_clock_library(lib, sizeof lib, err, errlen): the libfaketime to preload
 *      (the multi-threaded variant, as C core has threads); fails if it is not installed;
 *      fl_clock_runner_check: fails if the runner itself runs under libfaketime;
 *   2. fl_clock_env_build(plan, lib, stamp_path, getenv("LD_PRELOAD"), &env, ...): pure,
 *      the environment to start the side with. With jumps, env.stamp_text is what the
 *      timestamp file must hold when the side starts: write it with fl_clock_stamp_write
 *      (stamp_path: a file of the run directory, e.g. clock-server.rc) before forking;
 *   3. before forking: fl_clock_envp(&env, environ, envp, max) (every side, a side without a
 *      clock too: inherited FAKETIME* variables and libfaketime in LD_PRELOAD are left out),
 *      and in the child execve(peer, argv, envp): nothing is allocated after the fork (the
 *      runner has a capture thread);
 *   4. observation: place the side's events by their arrival when env.monotonic_faked
 *      (fl_observe_config.clock_shared[side] = !env.monotonic_faked);
 *   5. when jump K's trigger holds (its `on` predicate, or `after` since the run's start):
 *      fl_clock_fire_jump(plan, K, &offset_ns, stamp_path, err, errlen), offset_ns being the
 *      side's running total, starting at env.offset_ns. The side reads the file at its next clock
 *      read (FAKETIME_NO_CACHE: every read), which C core makes every few milliseconds.
 *   6. after reaping a side with env.faked: fl_clock_cleanup(pid) (libfaketime's files).
 *
 * How a plan becomes libfaketime's environment:
 *   LD_PRELOAD                   the library, before any inherited preload
 *   FAKETIME_DONT_FAKE_MONOTONIC 1 with fake: realtime (libfaketime fakes CLOCK_MONOTONIC too,
 *                                as the realtime value plus the offset, unless told not to)
 *   FAKETIME                     "+SECONDS.NANOSECONDS" (the offset) without jumps
 *   FAKETIME_TIMESTAMP_FILE      with jumps, the file holding that text instead: libfaketime
 *   FAKETIME_NO_CACHE=1          prefers FAKETIME to the file, so FAKETIME is then not set;
 *                                without NO_CACHE it would read the file every 10 s only
 */
#ifndef FL_INJECTOR_CLOCK_H
#define FL_INJECTOR_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* harness/plan/clock.h (the plan), not this file: the two modules share a name. */
#include "plan/clock.h"
#include "util.h"

/* Where Debian 12's libfaketime package puts its libraries (multiarch directories). */
#define FL_LIBFAKETIME_MT_NAME "libfaketimeMT.so.1"

#define FL_CLOCK_MAX_VARS 6
#define FL_CLOCK_VAR_LEN 4352 /* a PATH_MAX path and its name */

typedef struct {
  char vars[FL_CLOCK_MAX_VARS][FL_CLOCK_VAR_LEN]; /* "NAME=VALUE", to set */
  size_t n_vars;
  bool faked;           /* the side runs under libfaketime */
  bool monotonic_faked; /* its CLOCK_MONOTONIC is faked: place its events by arrival */
  int64_t offset_ns;    /* its offset at start; jumps add to it */
  bool uses_stamp_file; /* jumps: the runner writes stamp_text to the file before the start */
  char stamp_text[64];
} fl_clock_env;

/*
 * Finds the multi-threaded libfaketime. Returns 0 with its path in `path`, or -1: "clock faults
 * need libfaketime (Debian package libfaketime): no libfaketimeMT.so.1 in ...".
 */
int fl_clock_library(char *path, size_t pathlen, char *err, size_t errlen) FL_MUST_USE;

/*
 * Fails (-1) if this process runs under libfaketime: "faultline itself runs under libfaketime
 * (...); the timeline must be on the machine's clock: start faultline without it (a scenario's
 * clock: fakes one side's clock)". The runner calls it before a run with a clock plan.
 */
int fl_clock_runner_check(char *err, size_t errlen) FL_MUST_USE;

/*
 * The environment for a side with `plan` (NULL or not present: faked false, and no variables
 * unless `inherited_preload` holds libfaketime: then LD_PRELOAD without it).
 * `library` comes from fl_clock_library; `stamp_path` is used when the plan has jumps;
 * `inherited_preload` (may be NULL) is the runner's LD_PRELOAD, kept after libfaketime (any
 * libfaketime in it is dropped). Pure: no I/O. Returns 0, or -1 if a path does not fit, if the
 * plan has jumps and no stamp_path was given, or if the plan asks for what fl_clock_parse
 * refuses (a negative offset), so a plan made by hand cannot slip past the parser's refusals.
 */
int fl_clock_env_build(const fl_clock_plan *plan, const char *library, const char *stamp_path,
                       const char *inherited_preload, fl_clock_env *env, char *err,
                       size_t errlen) FL_MUST_USE;

/*
 * The environment to exec the side with: the entries of `base` (NULL-terminated, the runner's
 * environ) except every FAKETIME* variable, and LD_PRELOAD when env sets it, then env's
 * variables. Fills out[0..max-1] with pointers into base and env (nothing is copied) and a
 * final NULL. Returns the number of entries, or -1 if max is too small: at most
 * (entries of base) + FL_CLOCK_MAX_VARS + 1 are needed.
 */
int fl_clock_envp(const fl_clock_env *env, char *const *base, char **out, size_t max) FL_MUST_USE;

/* libfaketime's text for an offset: "+7200.000000000". Returns buf. */
const char *fl_clock_offset_text(int64_t offset_ns, char *buf, size_t len);

/*
 * Writes `text` and a newline to `path` atomically (a temporary file beside it, renamed over
 * it), so the side never reads half a file. Returns 0, or -1: "cannot write PATH: reason".
 */
int fl_clock_stamp_write(const char *path, const char *text, char *err, size_t errlen) FL_MUST_USE;

/*
 * Jump `index` of `plan` fires: *offset_ns (the side's running offset) grows by the jump's step
 * and the timestamp file is rewritten with it. Returns 0, or -1 (index out of range, or the
 * file could not be written) with *offset_ns unchanged.
 */
int fl_clock_fire_jump(const fl_clock_plan *plan, size_t index, int64_t *offset_ns,
                       const char *stamp_path, char *err, size_t errlen) FL_MUST_USE;

/*
 * libfaketime 0.9.10 creates /dev/shm/faketime_shm_PID and /dev/shm/sem.faketime_sem_PID in
 * every process it is loaded into and removes them only when that process exits normally; a
 * peer that is killed or leaves with _exit (as ours do when the run ends) leaves them behind,
 * and a later process with the same pid may then fail to start under libfaketime
 * ("ft_shm_create(), shm_open failed: File exists"). Removes both for `pid` (a reaped side's);
 * what is not there is no error.
 */
void fl_clock_cleanup(pid_t pid);

#endif
