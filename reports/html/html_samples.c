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

/* A side name as a class: letters only (samples.csv is ours, but the page is strict). */
static void side_class(FILE *out, const char *side) {
  for (const char *p = side; *p; p++)
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) fputc(*p, out);
}

typedef struct {
  const char *key, *title, *unit;
  double scale; /* value in the CSV times scale = value drawn */
  int decimals; /* of a tick label below 1; 0: the metric counts whole things */
} metric;

#define CH_TOP 12.0
#define CH_H 130.0

static void chart(FILE *out, const fl_html_samples *s, const metric *m, double t_end) {
  double vmax = 0;
  for (int k = 0; k < s->n_series; k++)
    for (size_t i = 0; i < s->s[k].n; i++) {
      double v =
          (!strcmp(m->key, "rss_kib") ? s->s[k].v[i].rss_kib : s->s[k].v[i].threads) * m->scale;
      if (v > vmax) vmax = v;
    }
  double step = fl_html_nice_step(vmax > 0 ? vmax : 1, 4);
  if (m->decimals == 0 && step < 1) step = 1; /* whole threads */
  double ymax = ceil((vmax > 0 ? vmax : 1) / step) * step;
  double bottom = CH_TOP + CH_H;
  fprintf(out,
          "<figure class=\"resource\"><figcaption>%s</figcaption>"
          "<svg class=\"chart samples\" data-metric=\"%s\" viewBox=\"0 0 %.0f %.0f\" "
          "role=\"img\" aria-label=\"%s over time\"",
          m->title, m->key, FL_HTML_VIEW_W, bottom + 22, m->title);
  fl_html_axis_attrs(out, t_end);
  fputs(">\n", out);
  fputs("<g class=\"grid y\">", out);
  for (int k = 0; k * step <= ymax * 1.0000001 && k < 20; k++) {
    double y = bottom - CH_H * k * step / ymax;
    fprintf(out,
            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.2f\" y2=\"%.2f\"/>"
            "<text x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\">%.*f %s</text>",
            FL_HTML_X0, FL_HTML_X1, y, y, FL_HTML_X0 - 6, y + 4, step < 1 ? m->decimals : 0,
            k * step, m->unit);
  }
  fputs("</g>\n", out);
  fl_html_plot_open(out, m->key, bottom + 22);
  fl_html_time_grid(out, t_end, CH_TOP, bottom, bottom + 16);
  for (int k = 0; k < s->n_series; k++) {
    const series *se = &s->s[k];
    fputs("<polyline class=\"series s-", out);
    side_class(out, se->side);
    fputs("\" data-side=\"", out);
    fl_html_str(out, se->side, false);
    fprintf(out, "\" vector-effect=\"non-scaling-stroke\" data-points=\"%zu\" points=\"", se->n);
    for (size_t i = 0; i < se->n; i++) {
      double v = (!strcmp(m->key, "rss_kib") ? se->v[i].rss_kib : se->v[i].threads) * m->scale;
      fprintf(out, "%s%.2f,%.2f", i ? " " : "", fl_html_x(se->v[i].t, t_end),
              bottom - CH_H * v / ymax);
    }
    fputs("\"/>\n", out);
    if (se->n > MARKERS_MAX) continue;
    for (size_t i = 0; i < se->n; i++) {
      const sample *p = &se->v[i];
      double v = (!strcmp(m->key, "rss_kib") ? p->rss_kib : p->threads) * m->scale;
      fputs("<circle class=\"pt s-", out);
      side_class(out, se->side);
      fprintf(out, "\" data-t=\"%.3f\" cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\"><title>", p->t,
              fl_html_x(p->t, t_end), bottom - CH_H * v / ymax);
      fl_html_str(out, se->side, false);
      fprintf(out, " at %.3f ms: RSS %.0f KiB, %.0f threads</title></circle>\n", p->t, p->rss_kib,
              p->threads);
    }
  }
  fl_html_plot_close(out);
  fputs("</svg></figure>\n", out);
}

void fl_html_samples_charts(FILE *out, const fl_html_samples *s, double t_end) {
  if (s->n == 0) {
    fputs("<p>samples.csv holds no samples.</p>\n", out);
    return;
  }
  fputs("<ul class=\"legend\">", out);
  for (int k = 0; k < s->n_series; k++) {
    fputs("<li><svg width=\"16\" height=\"16\" viewBox=\"0 0 16 16\"><line class=\"series s-", out);
    side_class(out, s->s[k].side);
    fputs("\" x1=\"0\" x2=\"16\" y1=\"8\" y2=\"8\"/></svg>", out);
    fl_html_str(out, s->s[k].side, true);
    fprintf(out, " (%zu samples)</li>", s->s[k].n);
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
