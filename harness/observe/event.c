#include "event.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const fl_attr_info fl_attr_table[FL_N_ATTRS] = {
#define FL_ATTR_ROW(id, key, type, doc) [FL_ATTR_##id] = {key, FL_ATTR_##type, doc},
    FL_ATTRS(FL_ATTR_ROW)
#undef FL_ATTR_ROW
};

const fl_event_info fl_event_table[FL_N_EVENTS] = {
#define FL_EVENT_ROW(id, name, from, attrs, doc) [FL_EV_##id] = {name, from, attrs, doc},
    FL_EVENTS(FL_EVENT_ROW)
#undef FL_EVENT_ROW
};

static bool needs_escape(unsigned char c) { return c < 0x21 || c > 0x7e || c == '%' || c == '='; }

int fl_event_format(char *buf, int64_t stamp_ns, fl_event_id id, const fl_event_kv *kv, size_t n_kv,
                    char *err, size_t errlen) {
  static const char hex[] = "0123456789ABCDEF";
  if ((unsigned)id >= FL_N_EVENTS) {
    fl_set_err(err, errlen, "no event has id %d", (int)id);
    return -1;
  }
  const fl_event_info *e = &fl_event_table[id];
  size_t o = (size_t)snprintf(buf, FL_EVENT_MAX_LINE, "%" PRId64 " %s", stamp_ns, e->name);
  uint64_t seen = 0;
  for (size_t k = 0; k < n_kv; k++) {
    fl_attr_id a = kv[k].key;
    if ((unsigned)a >= FL_N_ATTRS || !((e->attrs >> a) & 1)) {
      fl_set_err(err, errlen, "event '%s' has no attribute '%s'", e->name,
                 (unsigned)a < FL_N_ATTRS ? fl_attr_table[a].key : "?");
      return -1;
    }
    if ((seen >> a) & 1) {
      fl_set_err(err, errlen, "event '%s': attribute '%s' given twice", e->name,
                 fl_attr_table[a].key);
      return -1;
    }
    seen |= UINT64_C(1) << a;
    if (kv[k].is_str != (fl_attr_table[a].type == FL_ATTR_STR)) {
      fl_set_err(err, errlen, "event '%s': attribute '%s' is %s", e->name, fl_attr_table[a].key,
                 fl_attr_table[a].type == FL_ATTR_STR ? "a string" : "an integer");
      return -1;
    }
    const char *key = fl_attr_table[a].key;
    size_t klen = strlen(key);
    /* Room for " key=", the value at its worst (3 bytes a byte) and the newline. */
    const unsigned char *v = (const unsigned char *)(kv[k].s ? kv[k].s : "");
    size_t vlen = !kv[k].is_str ? 20 : kv[k].len == SIZE_MAX ? strlen((const char *)v) : kv[k].len;
    if (o + 2 + klen + 3 * vlen + 2 > FL_EVENT_MAX_LINE) {
      fl_set_err(err, errlen, "event '%s': attribute '%s' is too long for one line (%zu bytes)",
                 e->name, key, vlen);
      return -1;
    }
    buf[o++] = ' ';
    memcpy(buf + o, key, klen);
    o += klen;
    buf[o++] = '=';
    if (!kv[k].is_str) {
      o += (size_t)snprintf(buf + o, 24, "%" PRId64, kv[k].i);
      continue;
    }
    for (size_t i = 0; i < vlen; i++) {
      if (needs_escape(v[i])) {
        buf[o++] = '%';
        buf[o++] = hex[v[i] >> 4];
        buf[o++] = hex[v[i] & 15];
      } else {
        buf[o++] = (char)v[i];
      }
    }
  }
  buf[o++] = '\n';
  return (int)o;
}

int fl_event_write_line(int fd, const char *line, size_t len, char *err, size_t errlen) {
  for (;;) {
    ssize_t w = write(fd, line, len);
    if (w == (ssize_t)len) return 0;
    if (w < 0 && errno == EINTR) continue;
    /* A pipe write of at most PIPE_BUF is whole or nothing; a longer line that was cut would
     * break the protocol, so it is an error too. */
    fl_set_err(err, errlen, "cannot write an event: %s", w < 0 ? strerror(errno) : "short write");
    return -1;
  }
}

int fl_event_write(int fd, fl_event_id id, const fl_event_kv *kv, size_t n_kv, char *err,
                   size_t errlen) {
  static char line[FL_EVENT_MAX_LINE]; /* writers are single-threaded; this keeps stacks small */
  int n = fl_event_format(line, fl_mono_ns(), id, kv, n_kv, err, errlen);
  if (n < 0) return -1;
  return fl_event_write_line(fd, line, (size_t)n, err, errlen);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes in place; returns the decoded length, or -1 on a broken escape. */
static long decode_in_place(char *s) {
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
  return w - s;
}

static int parse_i64(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno) return -1;
  *out = v;
  return 0;
}

int fl_event_from_name(const char *name) {
  for (int i = 0; i < FL_N_EVENTS; i++)
    if (!strcmp(fl_event_table[i].name, name)) return i;
  return -1;
}

static int attr_from_key(const char *key) {
  for (int i = 0; i < FL_N_ATTRS; i++)
    if (!strcmp(fl_attr_table[i].key, key)) return i;
  return -1;
}

int fl_event_parse(char *line, unsigned from, fl_event *ev, char *err, size_t errlen) {
  ev->present = 0;
  ev->n_attrs = 0;
  char *save = NULL;
  char *stamp = strtok_r(line, " ", &save);
  char *name = strtok_r(NULL, " ", &save);
  if (!stamp || !name || parse_i64(stamp, &ev->stamp_ns) < 0) {
    fl_set_err(err, errlen, "not an event line (expected '<ns> <name> key=value...')");
    return -1;
  }
  int id = fl_event_from_name(name);
  if (id < 0) {
    fl_set_err(err, errlen, "unknown event '%s'", name);
    return -1;
  }
  ev->id = (fl_event_id)id;
  const fl_event_info *e = &fl_event_table[id];
  if (!(e->from & from)) {
    fl_set_err(err, errlen, "event '%s' may not come from this sender", name);
    return -1;
  }
  for (char *tok; (tok = strtok_r(NULL, " ", &save));) {
    char *eq = strchr(tok, '=');
    if (!eq) {
      fl_set_err(err, errlen, "event '%s': '%s' is not key=value", name, tok);
      return -1;
    }
    *eq = '\0';
    int a = attr_from_key(tok);
    if (a < 0 || !((e->attrs >> a) & 1)) {
      fl_set_err(err, errlen, "event '%s' has no attribute '%s'", name, tok);
      return -1;
    }
    if (fl_event_has(ev, (fl_attr_id)a)) {
      fl_set_err(err, errlen, "event '%s': attribute '%s' given twice", name, tok);
      return -1;
    }
    long len = decode_in_place(eq + 1);
    if (len < 0) {
      fl_set_err(err, errlen, "event '%s': attribute '%s' has a broken %%-escape", name, tok);
      return -1;
    }
    if (fl_attr_table[a].type == FL_ATTR_INT && parse_i64(eq + 1, &ev->num[a]) < 0) {
      fl_set_err(err, errlen, "event '%s': attribute '%s' is not an integer", name, tok);
      return -1;
    }
    ev->str[a] = eq + 1;
    ev->str_len[a] = (size_t)len;
    ev->present |= UINT64_C(1) << a;
    ev->order[ev->n_attrs++] = (uint8_t)a;
  }
  return 0;
}

int64_t fl_event_int(const fl_event *ev, fl_attr_id k, int64_t dflt) {
  return fl_event_has(ev, k) && fl_attr_table[k].type == FL_ATTR_INT ? ev->num[k] : dflt;
}

const char *fl_event_str(const fl_event *ev, fl_attr_id k) {
  return fl_event_has(ev, k) ? ev->str[k] : NULL;
}

static void senders(unsigned from, char *buf, size_t len) {
  static const char *const names[] = {"server", "client", "proxy", "runner"};
  size_t o = 0;
  buf[0] = '\0';
  for (int b = 0; b < 4; b++)
    if (from & (1u << b)) o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[b]);
}

void fl_events_write_markdown(FILE *out) {
  fprintf(out, "| event | from | attributes | meaning |\n|---|---|---|---|\n");
  for (int i = 0; i < FL_N_EVENTS; i++) {
    const fl_event_info *e = &fl_event_table[i];
    char from[64], attrs[512];
    senders(e->from, from, sizeof from);
    size_t o = 0;
    attrs[0] = '\0';
    for (int a = 0; a < FL_N_ATTRS; a++)
      if ((e->attrs >> a) & 1)
        o += (size_t)snprintf(attrs + o, sizeof attrs - o, "%s`%s`", o ? " " : "",
                              fl_attr_table[a].key);
    fprintf(out, "| `%s` | %s | %s | %s |\n", e->name, from, attrs, e->doc);
  }
  fprintf(out, "\n| attribute | type | meaning |\n|---|---|---|\n");
  for (int a = 0; a < FL_N_ATTRS; a++)
    fprintf(out, "| `%s` | %s | %s |\n", fl_attr_table[a].key,
            fl_attr_table[a].type == FL_ATTR_INT ? "integer" : "string", fl_attr_table[a].doc);
}

/* In fl_control_verb order. */
static const char *const control_verbs[] = {"go", "fire", "sync"};

int fl_control_write(int fd, fl_control_verb verb, uint64_t n) {
  char line[48];
  int len = snprintf(line, sizeof line, "%s %" PRIu64 "\n", control_verbs[verb], n);
  for (;;) {
    ssize_t w = write(fd, line, (size_t)len);
    if (w == len) return 0;
    if (w < 0 && errno == EINTR) continue;
    if (w >= 0) errno = EIO;
    return -1;
  }
}

int fl_control_parse(const char *line, fl_control_verb *verb, uint64_t *n) {
  const char *arg = NULL;
  for (size_t k = 0; k < sizeof control_verbs / sizeof control_verbs[0] && !arg; k++) {
    size_t len = strlen(control_verbs[k]);
    if (!strncmp(line, control_verbs[k], len) && line[len] == ' ') {
      *verb = (fl_control_verb)k;
      arg = line + len + 1;
    }
  }
  if (!arg) return -1;
  if (*arg < '0' || *arg > '9') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(arg, &end, 10);
  if (*end || errno) return -1;
  *n = v;
  return 0;
}
