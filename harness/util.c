#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>

void fl_set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

int64_t fl_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool fl_trace_on(void) {
  static int on = -1;
  if (on < 0) {
    const char *v = getenv("FAULTLINE_TRACE");
    on = v && *v;
  }
  return on;
}

void fl_trace(const char *who, const char *fmt, ...) {
  if (!fl_trace_on()) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "trace %s: %s\n", who, msg);
}
