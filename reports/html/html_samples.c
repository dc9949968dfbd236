/*
 * Each process's resources over time, from samples.csv (reports/evidence/samples.h): one chart
 * for RSS and one for threads, a line per process, on the timeline's time axis. Every sample
 * is a point of its line (data-points says how many, for the browser suite); a line of at most
 * MARKERS_MAX samples also gets a dot per sample with its values in a <title>.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"

#define MAX_SERIES 4
#define MARKERS_MAX 300

typedef struct {
  double t, rss_kib, threads;
} sample;

typedef struct {
  char side[16];
  sample *v;
  size_t n, cap;
} series;

struct fl_html_samples {
  series s[MAX_SERIES];
  int n_series;
  size_t n, bad, other; /* rows read, rows that do not parse, rows of a fifth process */
  double t_max;
};

/* Splits a CSV line (no quoting: samples.csv has none) into at most max fields in place. */
static int split(char *line, char **f, int max) {
  int n = 0;
  for (char *p = line; n < max;) {
    f[n++] = p;
    p = strchr(p, ',');
    if (!p) break;
    *p++ = '\0';
  }
  return n;
}

static bool number(const char *s, double *out) {
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return end != s && (*end == '\0' || *end == '\n' || *end == '\r') && errno == 0;
}

int fl_html_samples_load(const char *path, fl_html_samples **out, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fl_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  fl_html_samples *s = calloc(1, sizeof *s);
  char *line = NULL, *fields[32];
  size_t cap = 0;
  int col_t = -1, col_side = -1, col_rss = -1, col_threads = -1, rc = s ? 0 : -1;
  if (rc == 0 && getline(&line, &cap, f) > 0) {
    int n = split(line, fields, 32);
    for (int i = 0; i < n; i++) {
      fields[i][strcspn(fields[i], "\r\n")] = '\0';
      if (!strcmp(fields[i], "t_ms")) col_t = i;
      if (!strcmp(fields[i], "side")) col_side = i;
      if (!strcmp(fields[i], "rss_kib")) col_rss = i;
      if (!strcmp(fields[i], "threads")) col_threads = i;
    }
  }
  if (rc == 0 && (col_t < 0 || col_side < 0 || col_rss < 0 || col_threads < 0)) {
    fl_set_err(err, errlen, "%s: the header lacks t_ms, side, rss_kib or threads", path);
    fl_html_samples_free(s);
    s = NULL;
    rc = -2;
  }
  while (rc == 0 && getline(&line, &cap, f) > 0) {
    int n = split(line, fields, 32);
    sample v;
    if (n <= col_t || n <= col_side || n <= col_rss || n <= col_threads ||
        !number(fields[col_t], &v.t) || !number(fields[col_rss], &v.rss_kib) ||
        !number(fields[col_threads], &v.threads)) {
      s->bad++;
      continue;
    }
    int k = 0;
    while (k < s->n_series && strcmp(s->s[k].side, fields[col_side])) k++;
    if (k == s->n_series) {
      if (k == MAX_SERIES) {
        s->other++;
        continue;
      }
      snprintf(s->s[k].side, sizeof s->s[k].side, "%s", fields[col_side]);
      s->n_series++;
    }
    series *se = &s->s[k];
    if (se->n == se->cap) {
      size_t ncap = se->cap ? se->cap * 2 : 64;
      sample *nv = realloc(se->v, ncap * sizeof *nv);
      if (!nv) {
        rc = -1;
        break;
      }
      se->v = nv;
      se->cap = ncap;
    }
    se->v[se->n++] = v;
    s->n++;
    if (v.t > s->t_max) s->t_max = v.t;
  }
  free(line);
  fclose(f);
  if (rc == -1) {
    fl_html_samples_free(s);
    fl_set_err(err, errlen, "cannot read %s: out of memory", path);
  }
  if (rc < 0) return -1;
  *out = s;
  return 0;
}

void fl_html_samples_free(fl_html_samples *s) {
  if (!s) return;
  for (int i = 0; i < s->n_series; i++) free(s->s[i].v);
  free(s);
}

size_t fl_html_samples_count(const fl_html_samples *s) { return s ? s->n : 0; }
double fl_html_samples_t_max(const fl_html_samples *s) { return s ? s->t_max : 0; }

/* A side name as a class, "s-" and its letters only (samples.csv is ours, but the page is
 * strict). */
static const char *side_class(char buf[24], const char *side) {
  size_t j = (size_t)snprintf(buf, 24, "s-");
  for (const char *p = side; *p && j + 1 < 24; p++)
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) buf[j++] = *p;
  buf[j] = '\0';
  return buf;
}

typedef struct {
  const char *key, *title, *unit;
  double scale; /* value in the CSV times scale = value drawn */
  int decimals; /* of a tick label below 1; 0: the metric counts whole things */
} metric;

static double value(const metric *m, const sample *p) {
  return (!strcmp(m->key, "rss_kib") ? p->rss_kib : p->threads) * m->scale;
}

static void chart(FILE *out, const fl_html_samples *s, const metric *m, double t_end) {
  fl_html_chart c = {.id = m->key,
                     .cls = "samples",
                     .title = m->title,
                     .unit = m->unit,
                     .decimals = m->decimals,
                     .t_end = t_end};
  for (int k = 0; k < s->n_series; k++)
    for (size_t i = 0; i < s->s[k].n; i++)
      if (value(m, &s->s[k].v[i]) > c.vmax) c.vmax = value(m, &s->s[k].v[i]);
  char attrs[64];
  snprintf(attrs, sizeof attrs, "data-metric=\"%s\"", m->key);
  fl_html_chart_open(out, &c, attrs);
  for (int k = 0; k < s->n_series; k++) {
    const series *se = &s->s[k];
    char cls[24];
    fprintf(out, "<polyline class=\"series %s\" data-side=\"", side_class(cls, se->side));
    fl_html_str(out, se->side, false);
    fprintf(out, "\" vector-effect=\"non-scaling-stroke\" data-points=\"%zu\" points=\"", se->n);
    for (size_t i = 0; i < se->n; i++)
      fprintf(out, "%s%.2f,%.2f", i ? " " : "", fl_html_x(se->v[i].t, t_end),
              fl_html_chart_y(&c, value(m, &se->v[i])));
    fputs("\"/>\n", out);
    if (se->n > MARKERS_MAX) continue;
    for (size_t i = 0; i < se->n; i++) {
      const sample *p = &se->v[i];
      fprintf(out,
              "<circle class=\"pt %s\" data-t=\"%.3f\" cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\"><title>",
              cls, p->t, fl_html_x(p->t, t_end), fl_html_chart_y(&c, value(m, p)));
      fl_html_str(out, se->side, false);
      fprintf(out, " at %.3f ms: RSS %.0f KiB, %.0f threads</title></circle>\n", p->t, p->rss_kib,
              p->threads);
    }
  }
  fl_html_chart_close(out);
}

void fl_html_samples_charts(FILE *out, const fl_html_samples *s, double t_end) {
  if (s->n == 0) {
    fputs("<p>samples.csv holds no samples.</p>\n", out);
    return;
  }
  fputs("<ul class=\"legend\">", out);
  for (int k = 0; k < s->n_series; k++) {
    char cls[24], note[48];
    snprintf(note, sizeof note, "(%zu samples)", s->s[k].n);
    fl_html_legend_item(out, side_class(cls, s->s[k].side), s->s[k].side, note);
  }
  fputs("</ul>\n", out);
  static const metric metrics[] = {{"rss_kib", "Resident memory (RSS)", "MiB", 1.0 / 1024, 1},
                                   {"threads", "Threads", "", 1, 0}};
  for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) chart(out, s, &metrics[i], t_end);
  if (s->bad || s->other)
    fprintf(out,
            "<p class=\"warn\">samples.csv: %zu rows do not parse and %zu belong to more "
            "processes than the charts show; they are left out.</p>\n",
            s->bad, s->other);
}
