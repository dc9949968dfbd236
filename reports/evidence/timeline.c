#include "timeline.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonout.h"

typedef struct {
  int64_t t_ns;
  size_t seq;
  char *line; /* compact JSON, no newline */
} entry;

struct fl_timeline {
  FILE *live;
  entry *entries;
  size_t n, cap;
  char error[256]; /* the first write error */
};

int fl_timeline_new(FILE *live, fl_timeline **out, char *err, size_t errlen) {
  fl_timeline *tl = calloc(1, sizeof *tl);
  if (!tl) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  tl->live = live;
  *out = tl;
  return 0;
}

static void note_error(fl_timeline *tl, const char *what) {
  if (!tl->error[0]) snprintf(tl->error, sizeof tl->error, "events.jsonl: %s", what);
}

static json_t *begin(int64_t t_ns, int64_t arrival_ns, const char *side, fl_event_id id) {
  json_t *o = json_object();
  if (!o) return NULL;
  if (fl_json_set(o, "t_ms", fl_json_ms(t_ns)) < 0 ||
      fl_json_set(o, "arrival_ms", fl_json_ms(arrival_ns)) < 0 ||
      fl_json_set(o, "side", json_string(side)) < 0 ||
      fl_json_set(o, "event", json_string(fl_event_table[id].name)) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static void append(fl_timeline *tl, int64_t t_ns, json_t *o) {
  char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
  json_decref(o);
  if (!line) {
    note_error(tl, "out of memory");
    return;
  }
  if (tl->n == tl->cap) {
    size_t cap = tl->cap ? 2 * tl->cap : 256;
    entry *e = realloc(tl->entries, cap * sizeof *e);
    if (!e) {
      free(line);
      note_error(tl, "out of memory");
      return;
    }
    tl->entries = e;
    tl->cap = cap;
  }
  tl->entries[tl->n] = (entry){t_ns, tl->n, line};
  tl->n++;
  if (tl->live &&
      (fputs(line, tl->live) == EOF || fputc('\n', tl->live) == EOF || fflush(tl->live) == EOF))
    note_error(tl, strerror(errno));
}

void fl_timeline_add(fl_timeline *tl, int64_t t_ns, int64_t arrival_ns, const char *side,
                     const fl_event *ev, bool after_end) {
  json_t *o = begin(t_ns, arrival_ns, side, ev->id);
  int rc = o ? fl_json_set(o, "peer_ns", json_integer(ev->stamp_ns)) : -1;
  if (rc == 0 && after_end) rc = fl_json_set(o, "after_end", json_true());
  for (int i = 0; rc == 0 && i < ev->n_attrs; i++) {
    fl_attr_id a = ev->order[i];
    const char *key = fl_attr_table[a].key;
    if (fl_attr_table[a].type == FL_ATTR_INT)
      rc = fl_json_set(o, key, json_integer(ev->num[a]));
    else
      rc = fl_json_set_bytes(o, key, ev->str[a], ev->str_len[a]);
  }
  if (rc < 0) {
    json_decref(o);
    o = NULL;
  }
  append(tl, t_ns, o);
}

void fl_timeline_add_runner(fl_timeline *tl, int64_t t_ns, fl_event_id id, const fl_event_kv *kv,
                            size_t n_kv) {
  json_t *o = begin(t_ns, t_ns, "runner", id);
  int rc = o ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < n_kv; i++) {
    const char *key = fl_attr_table[kv[i].key].key;
    if (kv[i].is_str)
      rc = fl_json_set_bytes(o, key, kv[i].s ? kv[i].s : "", kv[i].len);
    else
      rc = fl_json_set(o, key, json_integer(kv[i].i));
  }
  if (rc < 0) {
    json_decref(o);
    o = NULL;
  }
  append(tl, t_ns, o);
}

int fl_timeline_count(const fl_timeline *tl) { return (int)tl->n; }

static int by_time(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->t_ns != y->t_ns) return x->t_ns < y->t_ns ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void fl_timeline_detach(fl_timeline *tl) { tl->live = NULL; }

int fl_timeline_write_sorted(fl_timeline *tl, FILE *out, char *err, size_t errlen) {
  qsort(tl->entries, tl->n, sizeof *tl->entries, by_time);
  for (size_t i = 0; i < tl->n && !tl->error[0]; i++)
    if (fputs(tl->entries[i].line, out) == EOF || fputc('\n', out) == EOF)
      note_error(tl, strerror(errno ? errno : EIO));
  if (!tl->error[0] && fflush(out) == EOF) note_error(tl, strerror(errno ? errno : EIO));
  if (!tl->error[0]) return 0;
  fl_set_err(err, errlen, "%s", tl->error);
  return -1;
}

void fl_timeline_free(fl_timeline *tl) {
  if (!tl) return;
  for (size_t i = 0; i < tl->n; i++) free(tl->entries[i].line);
  free(tl->entries);
  free(tl);
}
