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

int64_t fl_real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

size_t fl_utf8_len(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  if (n == 0) return 0;
  if (p[0] < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((p[0] & 0xE0) == 0xC0)
    len = 2, cp = p[0] & 0x1F;
  else if ((p[0] & 0xF0) == 0xE0)
    len = 3, cp = p[0] & 0x0F;
  else if ((p[0] & 0xF8) == 0xF0)
    len = 4, cp = p[0] & 0x07;
  else
    return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}
