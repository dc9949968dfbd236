/*
 * The merged timeline: events.jsonl drawn as four lanes (client, wire, server, faults and the
 * runner) on the run's time axis, every mark with its attributes in an SVG <title> (a tooltip
 * without JavaScript), then the events as a table.
 *
 * Large runs stay usable by tiers. Tier 0 (faults, barriers, alarms, processes), tier 1 (a
 * call's life: start, status, cancel, half-close, RST_STREAM and GOAWAY frames) and tier 2
 * (steps, ops, messages, other frames) are drawn one mark per event, a whole tier at a time,
 * while the marks stay within MARKS_MAX; a tier that does not fit, and every one after it, is
 * counted per lane in BINS bars across the run instead, each bar's <title> naming its counts.
 * Every event is either a mark or counted in one bar (the browser suite checks the sums). The
 * table lists every event up to ROWS_ALL; beyond that the first ROWS_HEAD, the last ROWS_TAIL
 * and every tier-0 event, with one row saying what each gap holds.
 *
 * Only what placing an event needs is kept of each (its time, kind, lane, call and index, and
 * where its line is in events.jsonl); the attributes of the few drawn or listed are read
 * again from the file when they are written, so a run of millions of events (bench/scale) is
 * not held in memory as JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "h2.h"
#include "html.h"

#define MARKS_MAX 1500
#define BINS 240
#define SPANS_MAX 400
#define VLINES_MAX 60
#define LABELS_MAX 20
#define ROWS_ALL 2000
#define ROWS_HEAD 1000
#define ROWS_TAIL 300
#define N_NAMES (FL_N_EVENTS + 1) /* the table's events and one for a name it does not know */

/* Top to bottom: a call's path from the client over the wire to the server, then what the
 * runner did to it. */
enum { LANE_CLIENT, LANE_WIRE, LANE_SERVER, LANE_RUNNER, N_LANES };
static const char *const lane_key[N_LANES] = {"client", "wire", "server", "runner"};
static const char *const lane_label[N_LANES] = {"client", "wire", "server", "faults, runner"};

typedef enum {
  CAT_MSG,
  CAT_OP,
  CAT_FRAME,
  CAT_CALL,
  CAT_BARRIER,
  CAT_FAULT,
  CAT_PROC,
  CAT_ALARM,
  N_CATS
} category;
static const char *const cat_key[N_CATS] = {"msg",     "op",    "frame", "call",
                                            "barrier", "fault", "proc",  "alarm"};

#define TOP 24.0
#define LANE_H 40.0

typedef struct {
  double t;
  off_t off;    /* its line in events.jsonl */
  uint32_t len; /* and that line's length */
  int id;       /* fl_event_id, or FL_N_EVENTS for a name the table does not know */
  int frame;    /* a frame's type (h2.h), or -1 */
  json_int_t call, index;
  unsigned char lane, cat, tier;
  bool drawn;
} tl_event;

struct fl_html_events {
  FILE *f; /* events.jsonl, open until freed: attributes are read again from it */
  tl_event *v;
  size_t n, cap;
  size_t bad, first_bad_line;
  char first_bad[200];
  double t_max;
};

/* How each event is drawn. A switch without default: a new event in event.h does not build
 * until it has its place here. */
static category category_of(int id) {
  switch ((fl_event_id)id) {
  case FL_EV_SENT:
  case FL_EV_RECV: return CAT_MSG;
  case FL_EV_STEP:
  case FL_EV_OP_START:
  case FL_EV_OP_DONE: return CAT_OP;
  case FL_EV_FRAME: return CAT_FRAME;
  case FL_EV_WAIT:
  case FL_EV_ARRIVE:
  case FL_EV_RELEASE:
  case FL_EV_DUMP: return CAT_BARRIER;
  case FL_EV_FAULT:
  case FL_EV_FIRE:
  case FL_EV_CLOCK_JUMP: return CAT_FAULT;
  case FL_EV_READY:
  case FL_EV_SPAWN:
  case FL_EV_EXIT:
  case FL_EV_CAPTURE:
  case FL_EV_DONE:
  case FL_EV_SYNCED:
  case FL_EV_END: return CAT_PROC;
  case FL_EV_HANG:
  case FL_EV_BUSY:
  case FL_EV_TIMEOUT:
  case FL_EV_INTERRUPT:
  case FL_EV_ERROR:
  case FL_EV_PROTOCOL_ERROR: return CAT_ALARM;
  case FL_EV_CALL_START:
  case FL_EV_HEADERS:
  case FL_EV_METADATA_DEADLINE:
  case FL_EV_CLOSE_CHANNEL:
  case FL_EV_RECV_END:
  case FL_EV_HALF_CLOSE:
  case FL_EV_CANCEL:
  case FL_EV_STATUS:
  case FL_EV_CANCELLED:
  case FL_EV_STOP_READING:
  case FL_EV_RESUME_READING:
  case FL_EV_BACKGROUND_END:
  case FL_EV_SHUTDOWN_START:
  case FL_EV_SHUTDOWN_CANCEL:
  case FL_EV_SHUTDOWN_DONE:
  case FL_EV_CONN_OPEN:
  case FL_EV_CONN_CLOSE:
  case FL_N_EVENTS: return CAT_CALL;
  }
  return CAT_CALL;
}

static const char *name_of(const tl_event *e) {
  return e->id < FL_N_EVENTS ? fl_event_table[e->id].name : "unknown";
}

static const char *str_attr(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

/* The frame type's name as h2.h spells it, if the event is a frame of a known type. */
static const char *frame_type(const tl_event *e) {
  return e->frame >= 0 ? fl_h2_frame_type_name((unsigned)e->frame) : NULL;
}

/* The event's line parsed again (the caller decrefs), or NULL if it cannot be read. */
static json_t *event_obj(const fl_html_events *ev, const tl_event *e) {
  char stack[4096], *buf = e->len < sizeof stack ? stack : malloc(e->len);
  json_t *obj = NULL;
  if (buf && pread(fileno(ev->f), buf, e->len, e->off) == (ssize_t)e->len)
    obj = json_loadb(buf, e->len, JSON_ALLOW_NUL, NULL);
  if (buf != stack) free(buf);
  return obj;
}

static void classify(tl_event *e, const json_t *obj) {
  const char *side = str_attr(obj, "side"), *name = str_attr(obj, "event");
  const char *type = str_attr(obj, "type");
  e->call = json_integer_value(json_object_get(obj, "call"));
  e->index = json_integer_value(json_object_get(obj, "index"));
  e->id = FL_N_EVENTS;
  for (int i = 0; name && i < FL_N_EVENTS; i++)
    if (!strcmp(fl_event_table[i].name, name)) e->id = i;
  e->frame = e->id == FL_EV_FRAME && type ? fl_h2_frame_type_from_name(type) : -1;
  e->cat = (unsigned char)category_of(e->id);
  if (e->cat == CAT_FAULT || !side)
    e->lane = LANE_RUNNER;
  else if (!strcmp(side, "client"))
    e->lane = LANE_CLIENT;
  else if (!strcmp(side, "server"))
    e->lane = LANE_SERVER;
  else if (!strcmp(side, "proxy"))
    e->lane = LANE_WIRE;
  else
    e->lane = LANE_RUNNER;
  switch ((category)e->cat) {
  case CAT_FAULT:
  case CAT_BARRIER:
  case CAT_ALARM:
  case CAT_PROC: e->tier = 0; break;
  case CAT_CALL: e->tier = 1; break;
  case CAT_FRAME: {
    const char *t = frame_type(e);
    e->tier = t && (!strcmp(t, fl_h2_frame_type_name(FL_H2_RST_STREAM)) ||
                    !strcmp(t, fl_h2_frame_type_name(FL_H2_GOAWAY)))
                  ? 1
                  : 2;
    break;
  }
  case CAT_MSG:
  case CAT_OP:
  case N_CATS: e->tier = 2; break;
  }
}

int fl_html_events_load(const char *path, fl_html_events **out, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fl_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  fl_html_events *e = calloc(1, sizeof *e);
  char *line = NULL;
  size_t cap = 0, lineno = 0;
  ssize_t len;
  off_t off = 0;
  int rc = e ? 0 : -1;
  if (e) e->f = f;
  for (; rc == 0 && (len = getline(&line, &cap, f)) >= 0; off += len) {
    lineno++;
    if (len <= 1) continue;
    json_error_t je;
    json_t *obj = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &je);
    const json_t *t = json_object_get(obj, "t_ms");
    if (!json_is_number(t)) {
      if (e->bad++ == 0) {
        e->first_bad_line = lineno;
        snprintf(e->first_bad, sizeof e->first_bad, "%s", obj ? "no number t_ms" : je.text);
      }
      json_decref(obj);
      continue;
    }
    if (e->n == e->cap) {
      size_t ncap = e->cap ? e->cap * 2 : 256;
      tl_event *nv = realloc(e->v, ncap * sizeof *nv);
      if (!nv) {
        json_decref(obj);
        rc = -1;
        break;
      }
      e->v = nv;
      e->cap = ncap;
    }
    tl_event *ev = &e->v[e->n++];
    *ev = (tl_event){.t = json_number_value(t), .off = off, .len = (uint32_t)len};
    classify(ev, obj);
    json_decref(obj);
    if (ev->t > e->t_max) e->t_max = ev->t;
  }
  free(line);
  if (!e) fclose(f);
  if (rc < 0) {
    fl_html_events_free(e);
    fl_set_err(err, errlen, "cannot read %s: out of memory", path);
    return -1;
  }
  *out = e;
  return 0;
}

void fl_html_events_free(fl_html_events *e) {
  if (!e) return;
  if (e->f) fclose(e->f);
  free(e->v);
  free(e);
}

size_t fl_html_events_count(const fl_html_events *e) { return e ? e->n : 0; }
double fl_html_events_t_max(const fl_html_events *e) { return e ? e->t_max : 0; }

static double lane_cy(int lane) { return TOP + LANE_H * lane + LANE_H / 2; }

/* Keys every line has, shown in a mark's first line rather than among its attributes. */
static bool is_stamp_key(const char *k) {
  return !strcmp(k, "t_ms") || !strcmp(k, "side") || !strcmp(k, "event");
}

static void write_title(FILE *out, const tl_event *e, json_t *obj) {
  fprintf(out, "<title>%.3f ms \xC2\xB7 ", e->t);
  fl_html_json(out, json_object_get(obj, "side"), false);
  fputs(" \xC2\xB7 ", out);
  fl_html_json(out, json_object_get(obj, "event"), false);
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (is_stamp_key(k)) continue;
    fputc('\n', out);
    fl_html_str(out, k, false);
    fputs(": ", out);
    fl_html_json(out, v, false);
  }
  fputs("</title>", out);
}

static void write_mark(FILE *out, const fl_html_events *ev, size_t i, double t_end, int *labels) {
  const tl_event *e = &ev->v[i];
  double x = fl_html_x(e->t, t_end), cy = lane_cy(e->lane);
  const char *ft = frame_type(e);
  /* Every mark: its classes, its line in events.jsonl and its time (the script zooms by it). */
  char a[192];
  snprintf(a, sizeof a, "class=\"ev c-%s e-%s%s%s\" data-i=\"%zu\" data-t=\"%.3f\"",
           cat_key[e->cat], name_of(e), ft ? " ft-" : "", ft ? ft : "", i, e->t);
  const char *end = "</rect>";
  switch ((category)e->cat) {
  case CAT_MSG:
    fprintf(out, "<rect %s x=\"%.2f\" y=\"%.1f\" width=\"1.6\" height=\"11\">", a, x - 0.8,
            e->id == FL_EV_SENT ? cy - 12 : cy + 1);
    break;
  case CAT_OP:
    fprintf(out, "<rect %s x=\"%.2f\" y=\"%.1f\" width=\"1\" height=\"8\">", a, x - 0.5, cy - 4);
    break;
  case CAT_FRAME:
    fprintf(out, "<rect %s x=\"%.2f\" y=\"%.1f\" width=\"1.6\" height=\"18\">", a, x - 0.8, cy - 9);
    break;
  case CAT_CALL:
    fprintf(out, "<circle %s cx=\"%.2f\" cy=\"%.1f\" r=\"3.5\">", a, x, cy);
    end = "</circle>";
    break;
  case CAT_BARRIER:
    if (e->id == FL_EV_DUMP) {
      fprintf(out, "<rect %s x=\"%.2f\" y=\"%.1f\" width=\"8\" height=\"8\">", a, x - 4, cy - 4);
    } else {
      fprintf(out, "<path %s d=\"M%.2f %.1fl6 6-6 6-6-6z\">", a, x, cy - 6);
      end = "</path>";
    }
    break;
  case CAT_FAULT:
    fprintf(out, "<path %s d=\"M%.2f %.1fl6.5 11h-13z\">", a, x, cy - 7);
    end = "</path>";
    break;
  case CAT_PROC:
    fprintf(out, "<rect %s x=\"%.2f\" y=\"%.1f\" width=\"6\" height=\"6\">", a, x - 3, cy - 3);
    break;
  case CAT_ALARM:
  case N_CATS:
    fprintf(out, "<circle %s cx=\"%.2f\" cy=\"%.1f\" r=\"5\">", a, x, cy);
    end = "</circle>";
    break;
  }
  json_t *obj = event_obj(ev, e);
  write_title(out, e, obj);
  json_decref(obj);
  fputs(end, out);
  if (e->cat == CAT_ALARM && (*labels)++ < LABELS_MAX)
    fprintf(out, "<text class=\"ev-label\" data-t=\"%.3f\" x=\"%.2f\" y=\"%.1f\">%s</text>", e->t,
            x + 7, cy - 6, name_of(e));
  fputc('\n', out);
}

/* Lists counts by event name, most first: "sent 200, recv 200". */
static void write_counts(FILE *out, const size_t *by_name, const char *sep) {
  bool used[N_NAMES] = {false};
  for (bool first = true;;) {
    int best = -1;
    for (int k = 0; k < N_NAMES; k++)
      if (!used[k] && by_name[k] && (best < 0 || by_name[k] > by_name[best])) best = k;
    if (best < 0) return;
    used[best] = true;
    fprintf(out, "%s%s %zu", first ? "" : sep,
            best < FL_N_EVENTS ? fl_event_table[best].name : "unknown", by_name[best]);
    first = false;
  }
}

/* A wait event's predicate, as written. */
static void write_expr(FILE *out, const fl_html_events *ev, const tl_event *w) {
  json_t *obj = event_obj(ev, w);
  fl_html_json(out, json_object_get(obj, "expr"), false);
  json_decref(obj);
}

/* Barrier waits as bands on the waiting side's lane: from `wait` to the `arrive` of the same
 * call and index, or to the end of the run when the barrier never opened. */
static void write_spans(FILE *out, const fl_html_events *ev, double t_end, size_t *skipped) {
  typedef struct {
    size_t i;
    bool open;
  } wait_ref;
  wait_ref open[SPANS_MAX];
  size_t n_open = 0;
  *skipped = 0;
  fputs("<g class=\"spans\">", out);
  for (size_t i = 0; i < ev->n; i++) {
    const tl_event *e = &ev->v[i];
    if (e->lane != LANE_CLIENT && e->lane != LANE_SERVER) continue;
    if (e->id == FL_EV_WAIT) {
      if (n_open < SPANS_MAX)
        open[n_open++] = (wait_ref){i, true};
      else
        (*skipped)++;
      continue;
    }
    if (e->id != FL_EV_ARRIVE) continue;
    for (size_t k = 0; k < n_open; k++) {
      const tl_event *w = &ev->v[open[k].i];
      if (!open[k].open || w->lane != e->lane || w->call != e->call || w->index != e->index)
        continue;
      open[k].open = false;
      double x0 = fl_html_x(w->t, t_end), x1 = fl_html_x(e->t, t_end);
      fprintf(out,
              "<rect class=\"span-wait\" data-t0=\"%.3f\" data-t1=\"%.3f\" x=\"%.2f\" "
              "y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"><title>%s waits at barrier %lld "
              "from %.3f to %.3f ms: ",
              w->t, e->t, x0, lane_cy(e->lane) - 18, x1 - x0 > 0.5 ? x1 - x0 : 0.5, 5.0,
              lane_key[e->lane], (long long)e->index, w->t, e->t);
      write_expr(out, ev, w);
      fputs("</title></rect>\n", out);
      break;
    }
  }
  for (size_t k = 0; k < n_open; k++) {
    if (!open[k].open) continue;
    const tl_event *w = &ev->v[open[k].i];
    double x0 = fl_html_x(w->t, t_end), x1 = fl_html_x(t_end, t_end);
    fprintf(out,
            "<rect class=\"span-open\" data-t0=\"%.3f\" data-t1=\"%.3f\" x=\"%.2f\" "
            "y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"><title>%s still waits at barrier %lld "
            "since %.3f ms: ",
            w->t, t_end, x0, lane_cy(w->lane) - 18, x1 - x0 > 0.5 ? x1 - x0 : 0.5, 5.0,
            lane_key[w->lane], (long long)w->index, w->t);
    write_expr(out, ev, w);
    fputs("</title></rect>\n", out);
  }
  fputs("</g>\n", out);
}

/* Faults and alarms as dashed lines through every lane: where they hit the stream. */
static void write_vlines(FILE *out, const fl_html_events *ev, double t_end) {
  int n = 0;
  fputs("<g class=\"vlines\">", out);
  for (size_t i = 0; i < ev->n && n < VLINES_MAX; i++) {
    const tl_event *e = &ev->v[i];
    if (e->cat != CAT_FAULT && e->cat != CAT_ALARM) continue;
    double x = fl_html_x(e->t, t_end);
    fprintf(out,
            "<line class=\"vline c-%s\" data-t=\"%.3f\" x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" "
            "y2=\"%.1f\"/>",
            cat_key[e->cat], e->t, x, x, TOP, TOP + LANE_H * N_LANES);
    n++;
  }
  fputs("</g>\n", out);
}

static void write_lane(FILE *out, const fl_html_events *ev, int lane, double t_end,
                       size_t *by_lane_name, int *labels) {
  size_t n = 0;
  for (size_t i = 0; i < ev->n; i++) n += ev->v[i].lane == lane;
  fprintf(out, "<g class=\"lane\" data-lane=\"%s\" data-events=\"%zu\">\n", lane_key[lane], n);

  /* The bars of what is not drawn one by one, on a log scale so a lone event still shows. */
  size_t count[BINS] = {0}, max = 0;
  double bin_ms = (t_end > 0 ? t_end : 1) / BINS;
  for (size_t i = 0; i < ev->n; i++) {
    const tl_event *e = &ev->v[i];
    if (e->lane != lane || e->drawn) continue;
    int b = (int)(e->t / bin_ms);
    b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
    count[b]++;
    by_lane_name[(size_t)b * N_NAMES + (size_t)e->id]++;
    if (count[b] > max) max = count[b];
  }
  for (int b = 0; b < BINS; b++) {
    if (!count[b]) continue;
    double x0 = fl_html_x(b * bin_ms, t_end), x1 = fl_html_x((b + 1) * bin_ms, t_end);
    double h = 3 + (LANE_H - 10) * log1p((double)count[b]) / log1p((double)max);
    double bottom = TOP + LANE_H * (lane + 1) - 3;
    fprintf(out,
            "<rect class=\"bin\" data-n=\"%zu\" data-t0=\"%.3f\" data-t1=\"%.3f\" x=\"%.2f\" "
            "y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"><title>%zu events from %.3f to %.3f "
            "ms\n",
            count[b], b * bin_ms, (b + 1) * bin_ms, x0, bottom - h, (x1 - x0) * 0.85, h, count[b],
            b * bin_ms, (b + 1) * bin_ms);
    write_counts(out, &by_lane_name[(size_t)b * N_NAMES], "\n");
    fputs("</title></rect>\n", out);
  }
  for (size_t i = 0; i < ev->n; i++)
    if (ev->v[i].lane == lane && ev->v[i].drawn) write_mark(out, ev, i, t_end, labels);
  fputs("</g>\n", out);
}

static void write_attrs(FILE *out, json_t *obj) {
  const char *k;
  json_t *v;
  bool first = true;
  json_object_foreach(obj, k, v) {
    if (is_stamp_key(k) || !strcmp(k, "arrival_ms") || !strcmp(k, "peer_ns")) continue;
    if (!first) fputc(' ', out);
    first = false;
    fputs("<span class=\"k\">", out);
    fl_html_str(out, k, true);
    fputs("</span>=", out);
    if (json_is_string(v)) fputc('"', out);
    fl_html_json(out, v, true);
    if (json_is_string(v)) fputc('"', out);
  }
}

static void write_gap(FILE *out, size_t n, const size_t *by_name) {
  fprintf(out,
          "<tr class=\"gap\" data-n=\"%zu\"><td colspan=\"4\">&hellip; %zu events not listed (", n,
          n);
  write_counts(out, by_name, ", ");
  fputs("): every event is in <a href=\"events.jsonl\">events.jsonl</a></td></tr>\n", out);
}

static void write_table(FILE *out, const fl_html_events *ev) {
  size_t listed = 0;
  for (size_t i = 0; i < ev->n; i++)
    listed += ev->n <= ROWS_ALL || i < ROWS_HEAD || i + ROWS_TAIL >= ev->n || ev->v[i].tier == 0;
  fprintf(out, "<details class=\"events\"%s><summary>Event table: %zu events",
          ev->n <= 300 ? " open" : "", ev->n);
  if (listed < ev->n)
    fprintf(out,
            ", %zu listed (the first %d, the last %d and every fault, barrier, alarm and "
            "process event)",
            listed, ROWS_HEAD, ROWS_TAIL);
  fputs("</summary>\n<p class=\"js-only\"><input id=\"ev-filter\" type=\"search\" "
        "placeholder=\"filter rows: event, side or attribute text\" size=\"40\"></p>\n"
        "<table class=\"events\"><thead><tr><th>t (ms)</th><th>side</th><th>event</th>"
        "<th>attributes</th></tr></thead><tbody>\n",
        out);
  size_t gap = 0, gap_names[N_NAMES] = {0};
  for (size_t i = 0; i < ev->n; i++) {
    const tl_event *e = &ev->v[i];
    if (!(ev->n <= ROWS_ALL || i < ROWS_HEAD || i + ROWS_TAIL >= ev->n || e->tier == 0)) {
      gap++;
      gap_names[e->id]++;
      continue;
    }
    if (gap) {
      write_gap(out, gap, gap_names);
      gap = 0;
      memset(gap_names, 0, sizeof gap_names);
    }
    fprintf(out,
            "<tr id=\"ev-%zu\" data-i=\"%zu\" class=\"l-%s c-%s\"><td class=\"t\">%.3f</td><td>", i,
            i, lane_key[e->lane], cat_key[e->cat], e->t);
    json_t *obj = event_obj(ev, e);
    fl_html_json(out, json_object_get(obj, "side"), true);
    fputs("</td><td>", out);
    fl_html_json(out, json_object_get(obj, "event"), true);
    fputs("</td><td class=\"attrs\">", out);
    write_attrs(out, obj);
    json_decref(obj);
    fputs("</td></tr>\n", out);
  }
  if (gap) write_gap(out, gap, gap_names);
  fputs("</tbody></table>\n</details>\n", out);
}

static void write_legend(FILE *out) {
  static const struct {
    const char *cls, *svg, *what;
  } items[] = {
      {"c-msg e-sent", "<rect x=\"7\" y=\"1\" width=\"2\" height=\"7\"/>", "message sent"},
      {"c-msg e-recv", "<rect x=\"7\" y=\"8\" width=\"2\" height=\"7\"/>", "message received"},
      {"c-op", "<rect x=\"7.5\" y=\"4\" width=\"1\" height=\"8\"/>", "step, op start/done"},
      {"c-frame", "<rect x=\"7\" y=\"0\" width=\"2\" height=\"16\"/>", "HTTP/2 frame (wire)"},
      {"c-call", "<circle cx=\"8\" cy=\"8\" r=\"3.5\"/>", "call: start, status, cancel, end"},
      {"c-barrier e-wait", "<path d=\"M8 2l6 6-6 6-6-6z\"/>", "barrier wait"},
      {"c-barrier e-arrive", "<path d=\"M8 2l6 6-6 6-6-6z\"/>", "barrier arrive / release"},
      {"c-barrier e-dump", "<rect x=\"4\" y=\"4\" width=\"8\" height=\"8\"/>", "thread dump"},
      {"c-fault", "<path d=\"M8 2l6.5 11h-13z\"/>", "fault"},
      {"c-proc", "<rect x=\"5\" y=\"5\" width=\"6\" height=\"6\"/>", "process: spawn, ready, exit"},
      {"c-alarm", "<circle cx=\"8\" cy=\"8\" r=\"5\"/>", "hang, timeout, busy, error"},
      {"span-wait", "<rect x=\"0\" y=\"5\" width=\"16\" height=\"5\"/>", "waiting at a barrier"},
      {"span-open", "<rect x=\"0\" y=\"5\" width=\"16\" height=\"5\"/>",
       "still waiting at the end"},
      {"bin", "<rect x=\"3\" y=\"4\" width=\"10\" height=\"12\"/>", "events counted in a bar"},
  };
  fputs("<ul class=\"legend\">", out);
  for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
    fprintf(out,
            "<li><svg width=\"16\" height=\"16\" viewBox=\"0 0 16 16\"><g "
            "class=\"%s\">%s</g></svg>%s</li>",
            items[i].cls, items[i].svg, items[i].what);
  fputs("</ul>\n", out);
}

void fl_html_timeline(FILE *out, const fl_html_events *ev, double t_end) {
  if (ev->bad)
    fprintf(out,
            "<p class=\"warn\">events.jsonl: %zu lines do not parse (the first, line %zu: %s); "
            "they are left out.</p>\n",
            ev->bad, ev->first_bad_line, ev->first_bad);
  if (ev->n == 0) {
    fputs("<p>events.jsonl holds no events.</p>\n", out);
    return;
  }
  size_t per_tier[3] = {0};
  for (size_t i = 0; i < ev->n; i++) per_tier[ev->v[i].tier]++;
  size_t budget = MARKS_MAX;
  bool tier_drawn[3] = {false};
  for (int t = 0; t < 3 && per_tier[t] <= budget; t++) {
    tier_drawn[t] = true;
    budget -= per_tier[t];
  }
  size_t drawn = 0;
  for (size_t i = 0; i < ev->n; i++) {
    ev->v[i].drawn = tier_drawn[ev->v[i].tier];
    drawn += ev->v[i].drawn;
  }

  size_t *by_bin_name = calloc((size_t)BINS * N_NAMES, sizeof *by_bin_name);
  if (!by_bin_name) {
    fputs("<p class=\"warn\">The timeline could not be drawn: out of memory.</p>\n", out);
    return;
  }
  double height = TOP + LANE_H * N_LANES + 6;
  fputs("<p class=\"js-only zoom\">Drag across the timeline or a chart to zoom in on that "
        "stretch of time (every chart follows); double-click to see the whole run again. "
        "<button id=\"zoom-reset\" type=\"button\" disabled>Whole run</button> "
        "<span id=\"zoom-range\"></span></p>\n",
        out);
  fprintf(out,
          "<figure class=\"timeline\"><svg id=\"timeline\" class=\"chart timeline\" "
          "viewBox=\"0 0 %.0f %.0f\" data-events=\"%zu\" data-drawn=\"%zu\" role=\"img\" "
          "aria-label=\"timeline of %zu events in four lanes\"",
          FL_HTML_VIEW_W, height, ev->n, drawn, ev->n);
  fl_html_axis_attrs(out, t_end);
  fputs(">\n", out);
  for (int l = 0; l < N_LANES; l++) {
    size_t n = 0;
    for (size_t i = 0; i < ev->n; i++) n += ev->v[i].lane == l;
    fprintf(out,
            "<rect class=\"lane-bg lane-%d\" x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.1f\"/>"
            "<text class=\"lane-label\" x=\"8\" y=\"%.1f\">%s</text>"
            "<text class=\"lane-count\" x=\"8\" y=\"%.1f\">%zu events</text>\n",
            l % 2, TOP + LANE_H * l, FL_HTML_VIEW_W, LANE_H, lane_cy(l) - 2, lane_label[l],
            lane_cy(l) + 11, n);
  }
  fl_html_plot_open(out, "timeline", height);
  fl_html_time_grid(out, t_end, TOP, TOP + LANE_H * N_LANES, TOP - 8);
  size_t spans_skipped;
  write_spans(out, ev, t_end, &spans_skipped);
  write_vlines(out, ev, t_end);
  int labels = 0;
  for (int l = 0; l < N_LANES; l++) {
    memset(by_bin_name, 0, (size_t)BINS * N_NAMES * sizeof *by_bin_name);
    write_lane(out, ev, l, t_end, by_bin_name, &labels);
  }
  fl_html_plot_close(out);
  fputs("</svg>\n<figcaption>", out);
  if (drawn == ev->n) {
    fprintf(out,
            "%zu events, one mark each: hover a mark for its attributes, click it to keep "
            "them below.",
            ev->n);
  } else {
    size_t binned[N_NAMES] = {0};
    for (size_t i = 0; i < ev->n; i++)
      if (!ev->v[i].drawn) binned[ev->v[i].id]++;
    fprintf(out,
            "%zu events, more than %d marks can show: %zu drawn one mark each; the other %zu (",
            ev->n, MARKS_MAX, drawn, ev->n - drawn);
    write_counts(out, binned, ", ");
    fprintf(out,
            ") counted per lane in bars of %.3f ms (height on a log scale; hover a bar for "
            "its counts).",
            t_end / BINS);
  }
  if (spans_skipped)
    fprintf(out, " %zu barrier waits past the first %d are not drawn as bands.", spans_skipped,
            SPANS_MAX);
  fputs("</figcaption></figure>\n", out);
  free(by_bin_name);
  write_legend(out);
  fputs("<div id=\"ev-detail\" class=\"detail\" aria-live=\"polite\">Hover a mark or a bar for "
        "its attributes; with JavaScript, click it to keep them here.</div>\n",
        out);
  write_table(out, ev);
}
