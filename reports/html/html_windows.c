/*
 * Each connection's flow-control windows over time, from frames.jsonl (reports/wire/ladder.h):
 * every frame that changed a send window carries "windows": [{owner, stream, window, delta,
 * cause}], stream 0 being the connection. For each leg and connection, one chart per owner
 * (the client's send windows, then the server's: their sizes differ by orders of magnitude, so
 * each has its own scale), a step line per stream and one for the connection, on the run's
 * time axis (a frame's run time is start_ms + 1000 * t).
 *
 * A window at or below 0 (the owner may send no DATA) is drawn as a band for as long as it
 * stays there: until a change lifts it, the stream closes, or the capture ends. Findings of
 * kind window_exhausted are marked on the chart of the window their frame emptied.
 *
 * Large captures stay readable by caps, each said on the page: CONNS_MAX connections, the
 * connection and STREAMS_MAX streams per chart (those whose window reached 0 first, then the
 * lowest stream ids), a series of more than POINTS_MAX changes drawn by BUCKETS stretches of
 * time (each stretch's first, lowest, highest and last value, so no zero is lost), markers with
 * tooltips only on series of at most MARKERS_MAX changes, ZEROS_MAX bands per series. At most
 * CHANGES_MAX changes are read at all. Every drawn line says in data-changes how many changes
 * its series has in frames.jsonl, for the browser suite.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"

#define CONNS_MAX 8
#define STREAMS_MAX 16
#define POINTS_MAX 1500
#define BUCKETS 400
#define MARKERS_MAX 120
#define ZEROS_MAX 50
#define CHANGES_MAX 2000000

enum { OWNER_CLIENT, OWNER_SERVER, N_OWNERS };
static const char *const owner_name[N_OWNERS] = {"client", "server"};

/* The causes frames.jsonl names (fl_wire_window_cause_name); a name it adds later reads as
 * CAUSE_OTHER, drawn like any change. */
enum { CAUSE_OPEN, CAUSE_DATA, CAUSE_UPDATE, CAUSE_SETTINGS, CAUSE_CLOSE, CAUSE_OTHER, N_CAUSES };
static const char *const cause_key[N_CAUSES] = {"open",     "data",  "window_update",
                                                "settings", "close", "other"};
static const char *const cause_text[N_CAUSES] = {
    "the stream opened", "DATA", "WINDOW_UPDATE", "SETTINGS", "the stream closed", "?"};

typedef struct {
  double t; /* run time, ms */
  int64_t window, delta;
  uint64_t frame;
  unsigned char cause;
} change;

typedef struct {
  unsigned char owner;
  uint32_t stream;
  change *v;
  size_t n, cap;
  int64_t min;
  double first_zero; /* when it first fell to <= 0; INFINITY if never */
} wseries;

typedef struct {
  int64_t leg;
  uint64_t conn;
  char leg_name[64], client[64], server[64];
  wseries *s; /* sorted by (owner, stream) */
  size_t n, cap;
} wconn;

struct fl_html_windows {
  wconn *c;
  size_t n, cap;
  size_t lines, bad, changes, unread; /* unread: changes past CHANGES_MAX */
  size_t first_bad_line;
  double t_max; /* the capture's last frame or notice, run time */
};

static int grow(void **v, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 16;
  while (ncap < need) ncap *= 2;
  void *nv = realloc(*v, ncap * size);
  if (!nv) return -1;
  *v = nv;
  *cap = ncap;
  return 0;
}

static void copy_str(char *dst, size_t len, const json_t *v) {
  const char *s = json_string_value(v);
  snprintf(dst, len, "%s", s ? s : "");
}

static wconn *conn_of(fl_html_windows *w, const json_t *o) {
  const json_t *leg = json_object_get(o, "leg"), *conn = json_object_get(o, "conn");
  if (!json_is_integer(leg) || !json_is_integer(conn) || json_integer_value(conn) < 0) return NULL;
  for (size_t i = 0; i < w->n; i++)
    if (w->c[i].leg == json_integer_value(leg) &&
        w->c[i].conn == (uint64_t)json_integer_value(conn))
      return &w->c[i];
  if (grow((void **)&w->c, &w->cap, w->n + 1, sizeof *w->c) < 0) return NULL;
  wconn *c = &w->c[w->n++];
  memset(c, 0, sizeof *c);
  c->leg = json_integer_value(leg);
  c->conn = (uint64_t)json_integer_value(conn);
  copy_str(c->leg_name, sizeof c->leg_name, json_object_get(o, "leg_name"));
  copy_str(c->client, sizeof c->client, json_object_get(o, "client"));
  copy_str(c->server, sizeof c->server, json_object_get(o, "server"));
  return c;
}

static int series_cmp(unsigned char owner, uint32_t stream, const wseries *s) {
  if (owner != s->owner) return owner < s->owner ? -1 : 1;
  return stream < s->stream ? -1 : stream > s->stream;
}

/* The series (owner, stream) of c, made when new; NULL when out of memory. */
static wseries *series_of(wconn *c, unsigned char owner, uint32_t stream) {
  size_t lo = 0, hi = c->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int r = series_cmp(owner, stream, &c->s[mid]);
    if (r == 0) return &c->s[mid];
    if (r < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  if (grow((void **)&c->s, &c->cap, c->n + 1, sizeof *c->s) < 0) return NULL;
  memmove(&c->s[lo + 1], &c->s[lo], (c->n - lo) * sizeof *c->s);
  c->n++;
  wseries *s = &c->s[lo];
  memset(s, 0, sizeof *s);
  s->owner = owner;
  s->stream = stream;
  s->min = INT64_MAX;
  s->first_zero = INFINITY;
  return s;
}

/* One line's windows; 0, 1 when the line is not a frame's as frames.jsonl writes it, -1 when
 * out of memory. */
static int add_line(fl_html_windows *w, const json_t *o, double start_ms) {
  const json_t *a = json_object_get(o, "windows"), *t = json_object_get(o, "t");
  const json_t *frame = json_object_get(o, "frame");
  if (!json_is_array(a) || !json_is_number(t) || !json_is_integer(frame)) return 1;
  wconn *c = conn_of(w, o);
  if (!c) return json_is_integer(json_object_get(o, "conn")) ? -1 : 1;
  double t_ms = start_ms + 1000 * json_number_value(t);
  size_t i;
  const json_t *e;
  int rc = 0;
  json_array_foreach(a, i, e) {
    const char *owner = json_string_value(json_object_get(e, "owner"));
    const char *cause = json_string_value(json_object_get(e, "cause"));
    const json_t *stream = json_object_get(e, "stream"), *win = json_object_get(e, "window");
    const json_t *delta = json_object_get(e, "delta");
    unsigned char ow = N_OWNERS, ca = CAUSE_OTHER;
    for (unsigned char k = 0; owner && k < N_OWNERS; k++)
      if (!strcmp(owner, owner_name[k])) ow = k;
    for (unsigned char k = 0; cause && k < CAUSE_OTHER; k++)
      if (!strcmp(cause, cause_key[k])) ca = k;
    if (ow == N_OWNERS || !json_is_integer(stream) || json_integer_value(stream) < 0 ||
        json_integer_value(stream) > UINT32_MAX || !json_is_integer(win) ||
        !json_is_integer(delta)) {
      rc = 1;
      continue;
    }
    if (w->changes >= CHANGES_MAX) {
      w->unread++;
      continue;
    }
    wseries *s = series_of(c, ow, (uint32_t)json_integer_value(stream));
    if (!s || grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) < 0) return -1;
    change *ch = &s->v[s->n++];
    ch->t = t_ms;
    ch->window = json_integer_value(win);
    ch->delta = json_integer_value(delta);
    ch->frame = (uint64_t)json_integer_value(frame);
    ch->cause = ca;
    if (ch->window < s->min) s->min = ch->window;
    if (ch->window <= 0 && t_ms < s->first_zero) s->first_zero = t_ms;
    w->changes++;
  }
  return rc;
}

static int conn_order(const void *a, const void *b) {
  const wconn *x = a, *y = b;
  if (x->leg != y->leg) return x->leg < y->leg ? -1 : 1;
  return x->conn < y->conn ? -1 : x->conn > y->conn;
}

int fl_html_windows_load(const char *path, double start_ms, fl_html_windows **out, char *err,
                         size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fl_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  fl_html_windows *w = calloc(1, sizeof *w);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = w ? 0 : -1;
  while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
    w->lines++;
    /* Only a frame that changed a window is parsed whole; the others give the capture's end. */
    const char *tk = strstr(line, ",\"t\":");
    if (tk) {
      double t = start_ms + 1000 * strtod(tk + 5, NULL);
      if (t > w->t_max) w->t_max = t;
    }
    if (!strstr(line, "\"windows\":")) continue;
    json_error_t je;
    json_t *o = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &je);
    int r = o ? add_line(w, o, start_ms) : 1;
    json_decref(o);
    if (r < 0) rc = -1;
    if (r > 0 && w->bad++ == 0) w->first_bad_line = w->lines;
  }
  free(line);
  fclose(f);
  if (rc < 0) {
    fl_html_windows_free(w);
    fl_set_err(err, errlen, "cannot read %s: out of memory", path);
    return -1;
  }
  if (w->n) qsort(w->c, w->n, sizeof *w->c, conn_order); /* w->c is NULL without one */
  *out = w;
  return 0;
}

void fl_html_windows_free(fl_html_windows *w) {
  if (!w) return;
  for (size_t i = 0; i < w->n; i++) {
    for (size_t k = 0; k < w->c[i].n; k++) free(w->c[i].s[k].v);
    free(w->c[i].s);
  }
  free(w->c);
  free(w);
}

size_t fl_html_windows_changes(const fl_html_windows *w) { return w ? w->changes : 0; }
double fl_html_windows_t_max(const fl_html_windows *w) { return w ? w->t_max : 0; }

/* Bytes in the unit a chart of values up to vmax is labelled in. */
typedef struct {
  const char *unit;
  double div;
  int decimals;
} byte_unit;

static byte_unit unit_for(double vmax) {
  if (vmax >= 2 * 1048576.0) return (byte_unit){"MiB", 1048576.0, 1};
  if (vmax >= 2 * 1024.0) return (byte_unit){"KiB", 1024.0, 1};
  return (byte_unit){"B", 1, 0};
}

/* The time a series' line ends: at its stream's close, else where the capture ends. */
static double series_end(const wseries *s, double t_cap) {
  const change *last = &s->v[s->n - 1];
  return last->cause == CAUSE_CLOSE || t_cap < last->t ? last->t : t_cap;
}

/* A line's class: the connection's, or one of 8 colours by the stream's place in its chart. */
static const char *line_class(char buf[24], const wseries *s, size_t place) {
  if (s->stream == 0)
    snprintf(buf, 24, "w-conn");
  else
    snprintf(buf, 24, "w-%zu", place % 8);
  return buf;
}

static void series_name(char *buf, size_t len, const wseries *s) {
  if (s->stream == 0)
    snprintf(buf, len, "the connection");
  else
    snprintf(buf, len, "stream %" PRIu32, s->stream);
}

/* The changes a line is drawn through: all of them, or per stretch of time the first, lowest,
 * highest and last. keep[] gets their indices in order; returns how many. */
static size_t pick_changes(const wseries *s, size_t *keep) {
  if (s->n <= POINTS_MAX) {
    for (size_t i = 0; i < s->n; i++) keep[i] = i;
    return s->n;
  }
  double t0 = s->v[0].t, span = s->v[s->n - 1].t - t0;
  size_t k = 0, i = 0;
  while (i < s->n) {
    size_t b = span > 0 ? (size_t)((s->v[i].t - t0) / span * (BUCKETS - 1)) : 0;
    size_t first = i, lo = i, hi = i, last = i;
    while (i < s->n && (span > 0 ? (size_t)((s->v[i].t - t0) / span * (BUCKETS - 1)) : 0) == b) {
      if (s->v[i].window < s->v[lo].window) lo = i;
      if (s->v[i].window > s->v[hi].window) hi = i;
      last = i++;
    }
    size_t pick[4] = {first, lo < hi ? lo : hi, lo < hi ? hi : lo, last};
    for (int j = 0; j < 4; j++)
      if (k == 0 || pick[j] > keep[k - 1]) keep[k++] = pick[j];
  }
  return k;
}

/* The stretches a series' window stays at or below 0: [t0, t1), open when the capture ended
 * first. Calls fn for each; returns how many there are. */
typedef void (*zero_fn)(void *user, double t0, double t1, bool open);
static size_t zero_stretches(const wseries *s, double t_cap, zero_fn fn, void *user) {
  size_t n = 0;
  double since = 0;
  bool in = false;
  for (size_t i = 0; i < s->n; i++) {
    const change *c = &s->v[i];
    if (in && (c->window > 0 || c->cause == CAUSE_CLOSE)) {
      if (fn) fn(user, since, c->t, false);
      n++;
      in = false;
    }
    if (!in && c->window <= 0 && c->cause != CAUSE_CLOSE) {
      in = true;
      since = c->t;
    }
  }
  if (in) {
    if (fn) fn(user, since, t_cap > since ? t_cap : since, true);
    n++;
  }
  return n;
}

typedef struct {
  FILE *out;
  const fl_html_chart *c;
  const wseries *s;
  const char *owner;
  size_t drawn;
} zero_ctx;

static void draw_zero(void *user, double t0, double t1, bool open) {
  zero_ctx *z = user;
  if (z->drawn++ >= ZEROS_MAX) return;
  char name[32];
  series_name(name, sizeof name, z->s);
  double x0 = fl_html_x(t0, z->c->t_end), x1 = fl_html_x(t1, z->c->t_end);
  double w = x1 - x0 > 0.5 ? x1 - x0 : 0.5, y0 = fl_html_chart_y(z->c, 0);
  char title[256];
  snprintf(title, sizeof title,
           "the %s's send window on %s at 0 or below from %.3f ms to %.3f ms (%.1f ms)%s: it "
           "could send no DATA there",
           z->owner, name, t0, t1, t1 - t0, open ? ", until the capture ended" : "");
  /* A faint band through the plot, and a strip on the zero line that stays visible when the
   * band is narrow. */
  fprintf(z->out,
          "<rect class=\"zero-band\" data-t0=\"%.3f\" data-t1=\"%.3f\" x=\"%.2f\" y=\"%.1f\" "
          "width=\"%.2f\" height=\"%.1f\"/>",
          t0, t1, x0, z->c->top, w, z->c->bottom - z->c->top);
  fprintf(z->out,
          "<rect class=\"zero\" data-owner=\"%s\" data-stream=\"%" PRIu32
          "\" data-t0=\"%.3f\" data-t1=\"%.3f\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
          "height=\"6\"><title>%s</title></rect>\n",
          z->owner, z->s->stream, t0, t1, x0, y0 - 3, w, title);
}

static void fmt_bytes(char *buf, size_t len, int64_t v) {
  int64_t a = v < 0 ? -v : v;
  if (a >= 1048576)
    snprintf(buf, len, "%" PRId64 " B (%.2f MiB)", v, v / 1048576.0);
  else if (a >= 1024)
    snprintf(buf, len, "%" PRId64 " B (%.1f KiB)", v, v / 1024.0);
  else
    snprintf(buf, len, "%" PRId64 " B", v);
}

/* Priority of a stream to be drawn when a chart has more than STREAMS_MAX: the earlier its
 * window reached 0 the sooner, then the lower its id. */
static int stream_priority(const void *a, const void *b) {
  const wseries *x = *(const wseries *const *)a, *y = *(const wseries *const *)b;
  if (x->first_zero != y->first_zero) return x->first_zero < y->first_zero ? -1 : 1;
  return x->stream < y->stream ? -1 : x->stream > y->stream;
}

static int stream_order(const void *a, const void *b) {
  const wseries *x = *(const wseries *const *)a, *y = *(const wseries *const *)b;
  return x->stream < y->stream ? -1 : x->stream > y->stream;
}

/* The window_exhausted findings of report.json placed on this chart: those whose frame
 * emptied a window of this connection and owner. */
static size_t finding_marks(FILE *out, const fl_html_chart *c, const wconn *cn, unsigned char owner,
                            const json_t *findings) {
  size_t i, placed = 0;
  const json_t *f;
  json_array_foreach(findings, i, f) {
    const char *kind = json_string_value(json_object_get(f, "kind"));
    const json_t *frame = json_object_get(f, "frame"), *at = json_object_get(f, "at_ms");
    if (!kind || strcmp(kind, "window_exhausted") || !json_is_integer(frame) || !json_is_number(at))
      continue;
    bool here = false;
    for (size_t k = 0; k < cn->n && !here; k++) {
      const wseries *s = &cn->s[k];
      if (s->owner != owner) continue;
      for (size_t j = 0; j < s->n && !here; j++)
        here = s->v[j].frame == (uint64_t)json_integer_value(frame) && s->v[j].window <= 0;
    }
    if (!here) continue;
    double t = json_number_value(at), x = fl_html_x(t, c->t_end);
    fprintf(out,
            "<g class=\"finding-mark\" data-t=\"%.3f\" data-frame=\"%" PRId64 "\">"
            "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" y2=\"%.1f\"/>"
            "<path d=\"M%.2f %.1f l-6 -9 h12 z\"/><title>",
            t, (int64_t)json_integer_value(frame), x, x, c->top, c->bottom, x, c->top);
    fl_html_json(out, json_object_get(f, "text"), false);
    fputs("</title></g>\n", out);
    placed++;
  }
  return placed;
}

typedef struct {
  size_t markers_page; /* markers drawn on the page so far */
  size_t placed;       /* window_exhausted findings marked */
  int chart_no;
} page_state;

#define MARKERS_PAGE 3000

/* One owner's windows on one connection. */
static void owner_chart(FILE *out, const fl_html_windows *w, const wconn *cn, unsigned char owner,
                        const json_t *findings, double t_end, page_state *ps) {
  size_t total = 0, streams = 0;
  const wseries *conn = NULL;
  for (size_t k = 0; k < cn->n; k++) {
    if (cn->s[k].owner != owner) continue;
    total++;
    if (cn->s[k].stream == 0)
      conn = &cn->s[k];
    else
      streams++;
  }
  if (total == 0) return;
  const wseries **pick = malloc((streams + 1) * sizeof *pick);
  size_t *keep = NULL;
  if (!pick) {
    fputs("<p class=\"warn\">Out of memory drawing this chart.</p>\n", out);
    return;
  }
  size_t np = 0, longest = 0;
  for (size_t k = 0; k < cn->n; k++)
    if (cn->s[k].owner == owner && cn->s[k].stream != 0) pick[np++] = &cn->s[k];
  if (np > STREAMS_MAX) {
    qsort(pick, np, sizeof *pick, stream_priority);
    np = STREAMS_MAX;
  }
  qsort(pick, np, sizeof *pick, stream_order);
  /* The connection's line first (under the streams'), then the streams' by id. */
  if (conn) {
    memmove(pick + 1, pick, np * sizeof *pick);
    pick[0] = conn;
    np++;
  }
  double t_cap = w->t_max;
  int64_t vmax = 0, vmin = 0;
  for (size_t k = 0; k < np; k++) {
    const wseries *s = pick[k];
    if (s->n > longest) longest = s->n;
    for (size_t i = 0; i < s->n; i++) {
      int64_t before = s->v[i].window - s->v[i].delta;
      if (s->v[i].window > vmax) vmax = s->v[i].window;
      if (s->v[i].window < vmin) vmin = s->v[i].window;
      if (i == 0 && s->v[0].cause != CAUSE_OPEN && before > vmax) vmax = before;
      if (i == 0 && s->v[0].cause != CAUSE_OPEN && before < vmin) vmin = before;
    }
  }
  keep = malloc((longest ? longest : 1) * sizeof *keep);
  if (!keep) {
    free(pick);
    fputs("<p class=\"warn\">Out of memory drawing this chart.</p>\n", out);
    return;
  }
  byte_unit u = unit_for((double)vmax);
  char id[48], title[256], attrs[256];
  snprintf(id, sizeof id, "win-%d", ps->chart_no++);
  const char *peer = owner_name[owner == OWNER_CLIENT ? OWNER_SERVER : OWNER_CLIENT];
  snprintf(title, sizeof title,
           "The %s's send windows: the bytes of DATA it may still send "
           "before the %s grants more",
           owner_name[owner], peer);
  snprintf(attrs, sizeof attrs,
           "data-leg=\"%" PRId64 "\" data-conn=\"%" PRIu64
           "\" data-owner=\"%s\" data-series=\"%zu\" data-shown=\"%zu\" data-div=\"%.0f\"",
           cn->leg, cn->conn, owner_name[owner], total, np, u.div);
  fl_html_chart c = {.id = id,
                     .cls = "windows",
                     .title = title,
                     .unit = u.unit,
                     .decimals = u.decimals,
                     .vmin = vmin / u.div,
                     .vmax = vmax / u.div,
                     .t_end = t_end};

  /* The legend under the caption: which line is which stream. */
  char *legend = NULL;
  size_t legend_len;
  FILE *lf = open_memstream(&legend, &legend_len);
  if (lf) {
    fputs("<ul class=\"legend\">", lf);
    for (size_t k = 0; k < np; k++) {
      const wseries *s = pick[k];
      char cls[24], name[32], note[96];
      series_name(name, sizeof name, s);
      size_t zeros = zero_stretches(s, t_cap, NULL, NULL);
      snprintf(note, sizeof note, "(%zu changes%s)", s->n, zeros ? ", reached 0" : "");
      fl_html_legend_item(lf, line_class(cls, s, k - (conn != NULL)), name, note);
    }
    fputs("<li><svg width=\"16\" height=\"16\" viewBox=\"0 0 16 16\"><rect class=\"zero\" "
          "x=\"0\" y=\"5\" width=\"16\" height=\"6\"/></svg>at 0: no DATA may be sent</li>",
          lf);
    fputs("</ul>\n", lf);
    if (fclose(lf) != 0) {
      free(legend);
      legend = NULL;
    }
  }
  c.legend = legend;
  fl_html_chart_open(out, &c, attrs);
  size_t placed = 0, zeros_left = 0;
  for (size_t k = 0; k < np; k++) {
    const wseries *s = pick[k];
    zero_ctx z = {out, &c, s, owner_name[owner], 0};
    size_t nz = zero_stretches(s, t_cap, draw_zero, &z);
    if (nz > ZEROS_MAX) zeros_left += nz - ZEROS_MAX;
  }
  for (size_t k = 0; k < np; k++) {
    const wseries *s = pick[k];
    char cls[24], name[32];
    line_class(cls, s, k - (conn != NULL));
    series_name(name, sizeof name, s);
    size_t nk = pick_changes(s, keep);
    fprintf(out,
            "<polyline class=\"series %s\" data-owner=\"%s\" data-stream=\"%" PRIu32
            "\" data-changes=\"%zu\" data-drawn=\"%zu\" data-min=\"%" PRId64
            "\" vector-effect=\"non-scaling-stroke\" points=\"",
            cls, owner_name[owner], s->stream, s->n, nk, s->min);
    /* Steps: the value holds until the next change, then moves at once. */
    const change *c0 = &s->v[keep[0]];
    double y_before = fl_html_chart_y(&c, (double)(c0->window - c0->delta) / u.div);
    if (c0->cause != CAUSE_OPEN && keep[0] == 0)
      fprintf(out, "%.2f,%.2f ", fl_html_x(c0->t, t_end), y_before);
    for (size_t i = 0; i < nk; i++) {
      const change *ch = &s->v[keep[i]];
      double x = fl_html_x(ch->t, t_end), y = fl_html_chart_y(&c, (double)ch->window / u.div);
      if (i > 0)
        fprintf(out, " %.2f,%.2f ", x,
                fl_html_chart_y(&c, (double)s->v[keep[i - 1]].window / u.div));
      fprintf(out, "%.2f,%.2f", x, y);
    }
    double t_last = series_end(s, t_cap);
    if (t_last > s->v[s->n - 1].t)
      fprintf(out, " %.2f,%.2f", fl_html_x(t_last, t_end),
              fl_html_chart_y(&c, (double)s->v[s->n - 1].window / u.div));
    fprintf(out,
            "\"><title>the %s's send window on %s: %zu changes, lowest %" PRId64
            " B</title></polyline>\n",
            owner_name[owner], name, s->n, s->min);
    if (s->n > MARKERS_MAX || ps->markers_page + s->n > MARKERS_PAGE) continue;
    ps->markers_page += s->n;
    for (size_t i = 0; i < s->n; i++) {
      const change *ch = &s->v[i];
      char v[64], d[64];
      fmt_bytes(v, sizeof v, ch->window);
      fmt_bytes(d, sizeof d, ch->delta);
      fprintf(out,
              "<circle class=\"pt %s\" data-t=\"%.3f\" cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\"><title>"
              "the %s's send window on %s: %s at %.3f ms, %s%s by %s (frame %" PRIu64
              ")</title></circle>\n",
              cls, ch->t, fl_html_x(ch->t, t_end), fl_html_chart_y(&c, (double)ch->window / u.div),
              owner_name[owner], name, v, ch->t, ch->delta > 0 ? "+" : "", d, cause_text[ch->cause],
              ch->frame);
    }
  }
  placed = finding_marks(out, &c, cn, owner, findings);
  ps->placed += placed;
  fl_html_chart_close(out);
  free(legend);

  if (streams > STREAMS_MAX)
    fprintf(out,
            "<p class=\"warn cap\">Showing %s%d of the %zu streams: those whose window reached "
            "0 first, then the lowest stream ids. Every stream's changes are in "
            "<a href=\"frames.jsonl\">frames.jsonl</a>.</p>\n",
            conn ? "the connection and " : "", STREAMS_MAX, streams);
  for (size_t k = 0; k < np; k++) {
    if (pick[k]->n <= POINTS_MAX) continue;
    char name[32];
    series_name(name, sizeof name, pick[k]);
    fprintf(out,
            "<p class=\"warn cap\">%s: %zu changes, drawn through %zu (in each of %d stretches "
            "of time its first, lowest, highest and last value); the bands at 0 are exact.</p>\n",
            name, pick[k]->n, pick_changes(pick[k], keep), BUCKETS);
  }
  if (zeros_left)
    fprintf(out,
            "<p class=\"warn cap\">%zu more stretches at 0 are not drawn (at most %d per "
            "line).</p>\n",
            zeros_left, ZEROS_MAX);
  free(keep);
  free(pick);
}

static void bad_note(FILE *out, const fl_html_windows *w) {
  if (w->bad)
    fprintf(out,
            "<p class=\"warn\">frames.jsonl: %zu lines hold windows that do not read as a "
            "frame's (the first, line %zu); those are left out.</p>\n",
            w->bad, w->first_bad_line);
}

void fl_html_windows_charts(FILE *out, const fl_html_windows *w, const json_t *findings,
                            double t_end) {
  if (w->changes == 0 && w->unread == 0) {
    fprintf(out,
            "<p class=\"none\">No frame in frames.jsonl changed a send window (%zu lines).</p>\n",
            w->lines);
    bad_note(out, w);
    return;
  }
  size_t exhausted = 0, i;
  const json_t *f;
  json_array_foreach(findings, i, f) {
    const char *kind = json_string_value(json_object_get(f, "kind"));
    exhausted += kind && !strcmp(kind, "window_exhausted");
  }
  fprintf(out,
          "<p>%zu window changes on %zu connection%s. A step is a change: DATA sent lowers "
          "the sender's window, a WINDOW_UPDATE of its peer raises it. Bands mark a window at "
          "0 or below",
          w->changes, w->n, w->n == 1 ? "" : "s");
  if (exhausted == 1)
    fputs("; a red triangle marks the <em>window exhausted</em> finding", out);
  else if (exhausted)
    fprintf(out, "; a red triangle marks each of the %zu <em>window exhausted</em> findings",
            exhausted);
  fputs(".</p>\n", out);
  page_state ps = {0, 0, 0};
  for (size_t k = 0; k < w->n && k < CONNS_MAX; k++) {
    const wconn *cn = &w->c[k];
    fprintf(out, "<article class=\"conn\" data-leg=\"%" PRId64 "\" data-conn=\"%" PRIu64 "\"><h3>",
            cn->leg, cn->conn);
    if (cn->leg_name[0]) {
      fputs("Leg ", out);
      fl_html_str(out, cn->leg_name, true);
      fputs(", c", out);
    } else {
      fputs("C", out);
    }
    fprintf(out, "onnection %" PRIu64, cn->conn);
    if (cn->client[0] || cn->server[0]) {
      fputs(": client ", out);
      fl_html_str(out, cn->client[0] ? cn->client : "?", true);
      fputs(" \xE2\x86\x92 server ", out);
      fl_html_str(out, cn->server[0] ? cn->server : "?", true);
    }
    fputs("</h3>\n", out);
    for (unsigned char o = 0; o < N_OWNERS; o++) owner_chart(out, w, cn, o, findings, t_end, &ps);
    fputs("</article>\n", out);
  }
  if (w->n > CONNS_MAX)
    fprintf(out,
            "<p class=\"warn cap\">Showing the first %d of %zu connections (by leg and number); "
            "the others' windows are in <a href=\"frames.jsonl\">frames.jsonl</a>.</p>\n",
            CONNS_MAX, w->n);
  if (ps.placed < exhausted)
    fprintf(out,
            "<p class=\"warn\">%zu of the %zu window exhausted findings are not marked: their "
            "frame emptied no window drawn here.</p>\n",
            exhausted - ps.placed, exhausted);
  if (w->unread)
    fprintf(out,
            "<p class=\"warn cap\">Only the first %d window changes are read; %zu more are "
            "left out.</p>\n",
            CHANGES_MAX, w->unread);
  bad_note(out, w);
}
