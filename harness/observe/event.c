#include "event.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int needs_escape(unsigned char c) { return c < 0x21 || c > 0x7e || c == '%' || c == '='; }

char *fl_event_encode(const char *src, char *dst, size_t dstlen) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)src; *p && o + 4 <= dstlen; p++) {
    if (needs_escape(*p)) {
      dst[o++] = '%';
      dst[o++] = hex[*p >> 4];
      dst[o++] = hex[*p & 15];
    } else {
      dst[o++] = (char)*p;
    }
  }
  if (dstlen > 0) dst[o < dstlen ? o : dstlen - 1] = '\0';
  return dst;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes in place; returns -1 on a broken escape. */
static int decode_in_place(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (*r == '%') {
      int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
      if (hi < 0 || lo < 0) return -1;
      *w++ = (char)(hi << 4 | lo);
      r += 2;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
  return 0;
}

int fl_event_write(int fd, const char *name, const char *const *kv, int n_kv) {
  char line[FL_EVENT_MAX_LINE];
  int n = snprintf(line, sizeof line, "%" PRId64 " %s", fl_mono_ns(), name);
  for (int i = 0; i + 1 < 2 * n_kv && n < (int)sizeof line - 8; i += 2) {
    char enc[FL_EVENT_MAX_LINE];
    fl_event_encode(kv[i + 1] ? kv[i + 1] : "", enc, sizeof enc);
    n += snprintf(line + n, sizeof line - (size_t)n, " %s=%s", kv[i], enc);
  }
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  for (;;) {
    ssize_t w = write(fd, line, (size_t)n);
    if (w == n) return 0;
    if (w < 0 && errno == EINTR) continue;
    if (w >= 0) errno = EIO;
    return -1;
  }
}

int fl_event_parse(const char *line, fl_event *ev) {
  memset(ev, 0, sizeof *ev);
  size_t len = strlen(line);
  if (len >= sizeof ev->buf) return -1;
  memcpy(ev->buf, line, len + 1);

  char *save = NULL;
  char *stamp = strtok_r(ev->buf, " ", &save);
  char *name = strtok_r(NULL, " ", &save);
  if (!stamp || !name) return -1;
  char *end;
  errno = 0;
  ev->peer_ns = strtoll(stamp, &end, 10);
  if (*end || errno) return -1;
  ev->name = name;
  for (char *tok; (tok = strtok_r(NULL, " ", &save));) {
    char *eq = strchr(tok, '=');
    if (!eq || ev->n_attrs == FL_EVENT_MAX_ATTRS) return -1;
    *eq = '\0';
    if (decode_in_place(eq + 1) < 0) return -1;
    ev->attrs[ev->n_attrs].key = tok;
    ev->attrs[ev->n_attrs].value = eq + 1;
    ev->n_attrs++;
  }
  return 0;
}

const char *fl_event_get(const fl_event *ev, const char *key) {
  for (int i = 0; i < ev->n_attrs; i++)
    if (strcmp(ev->attrs[i].key, key) == 0) return ev->attrs[i].value;
  return NULL;
}
