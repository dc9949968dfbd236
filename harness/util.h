/*
 * util: the few helpers every module needs the same way.
 */
#ifndef FL_UTIL_H
#define FL_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Formats a message into err (errlen bytes, always terminated; nothing if errlen is 0): the
 * "char *err, size_t errlen" convention of every fallible fl_ function. */
void fl_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t fl_mono_ns(void);

#endif
