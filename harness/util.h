/*
 * util: the error convention, the clock and the few helpers every module shares.
 *
 * THE ERROR CONVENTION (every module, every fallible fl_ function):
 *   - A function that can fail returns int: 0 (or a count >= 0) on success, -1 on failure.
 *     It is declared FL_MUST_USE, so a caller that drops the result does not build cleanly.
 *   - On failure it has written one line into the caller's buffer `char *err, size_t errlen`
 *     (always terminated, via fl_set_err): what was wrong and where, in words a user can act
 *     on ("cannot write /r/report.json: No space left on device"). errno is not part of the
 *     contract unless the header says so.
 *   - Where a user's file is at fault, the message starts with "FILE:LINE:COL: " (the scenario
 *     parser's fl_error carries line and column besides).
 *   - Functions that cannot fail return void or a value; internal invariants may assert.
 * Messages that are printf formats are checked by the compiler (FL_PRINTF).
 */
#ifndef FL_UTIL_H
#define FL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_MUST_USE __attribute__((warn_unused_result))
#define FL_PRINTF(fmt_arg, first_arg) __attribute__((format(printf, fmt_arg, first_arg)))

/* Formats a message into err (errlen bytes, always terminated; nothing if errlen is 0). */
void fl_set_err(char *err, size_t errlen, const char *fmt, ...) FL_PRINTF(3, 4);

/* CLOCK_MONOTONIC in nanoseconds: the clock every event of this machine is stamped with. */
int64_t fl_mono_ns(void);

/* CLOCK_REALTIME in Unix milliseconds: this process's wall clock (a side's faked one under
 * libfaketime), for what an application reads as "now". */
int64_t fl_real_ms(void);

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0 if there is none
 * there (a stray byte, an overlong form, a surrogate, past U+10FFFF, cut short). */
size_t fl_utf8_len(const char *s, size_t n);

/*
 * Traces for debugging faultline itself: when FAULTLINE_TRACE is set non-empty, fl_trace
 * prints "trace WHO: message" to stderr. Every named state machine (the runner's run, a peer's
 * calls) reports each change of state through it.
 */
bool fl_trace_on(void);
void fl_trace(const char *who, const char *fmt, ...) FL_PRINTF(2, 3);

#endif
