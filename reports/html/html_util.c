#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "html.h"

void fl_html_bytes(FILE *out, const char *s, size_t len, bool markup) {
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80) {
      size_t n = fl_utf8_len(s + i, len - i);
      if (n == 0) {
        fputs("\xEF\xBF\xBD", out); /* U+FFFD */
        i++;
      } else {
        fwrite(s + i, 1, n, out);
        i += n;
      }
      continue;
    }
    i++;
    switch (c) {
    case '&': fputs("&amp;", out); continue;
    case '<': fputs("&lt;", out); continue;
    case '>': fputs("&gt;", out); continue;
    case '"': fputs("&quot;", out); continue;
    case '\'': fputs("&#39;", out); continue;
    case '\t':
    case '\n': fputc(c, out); continue;
    }
    if (c >= 0x20 && c != 0x7f)
      fputc(c, out);
    else if (markup)
      fprintf(out, "<span class=\"ctl\">\\x%02x</span>", c);
    else
      fprintf(out, "\\x%02x", c);
  }
}

void fl_html_str(FILE *out, const char *s, bool markup) {
  if (s) fl_html_bytes(out, s, strlen(s), markup);
}

void fl_html_json(FILE *out, const json_t *v, bool markup) {
  if (json_is_string(v)) {
    fl_html_bytes(out, json_string_value(v), json_string_length(v), markup);
  } else if (json_is_integer(v)) {
    fprintf(out, "%lld", (long long)json_integer_value(v));
  } else if (json_is_real(v)) {
    fprintf(out, "%.12g", json_real_value(v));
  } else if (json_is_boolean(v)) {
    fputs(json_is_true(v) ? "true" : "false", out);
  } else if (v) {
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    fl_html_str(out, text ? text : "null", markup);
    free(text);
  } else {
    fputs("null", out);
  }
}

void fl_html_href(FILE *out, const char *name) {
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '.' || *p == '_' || *p == '-')
      fputc(*p, out);
    else
      fprintf(out, "%%%02X", *p);
  }
}

char *fl_html_read_file(const char *dir, const char *name, size_t max, bool tail, size_t *len,
                        bool *cut) {
  char path[PATH_MAX];
  /* Only plain names of the run directory: a report.json that names "../x" reads nothing. */
  if (!name || !*name || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".")) {
    errno = EINVAL;
    return NULL;
  }
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  struct stat st;
  off_t size = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
  if (size < 0) {
    fclose(f);
    errno = EINVAL;
    return NULL;
  }
  *cut = (size_t)size > max;
  size_t want = *cut ? max : (size_t)size;
  if (*cut && tail && fseeko(f, size - (off_t)want, SEEK_SET) != 0) want = 0;
  char *buf = malloc(want + 1);
  if (!buf) {
    fclose(f);
    errno = ENOMEM;
    return NULL;
  }
  *len = fread(buf, 1, want, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

double fl_html_x(double t_ms, double t_end) {
  if (t_end <= 0) return FL_HTML_X0;
  return FL_HTML_X0 + (FL_HTML_X1 - FL_HTML_X0) * t_ms / t_end;
}

double fl_html_nice_step(double range, int parts) {
  if (!(range > 0) || parts < 1) return 1;
  double raw = range / parts, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

void fl_html_fmt_ms(char *buf, size_t len, double ms, double step) {
  if (step >= 500) {
    int digits = fmod(step, 1000) == 0 ? 0 : fmod(step, 100) == 0 ? 1 : 2;
    snprintf(buf, len, "%.*fs", digits, ms / 1000);
  } else {
    int digits = step >= 1 ? 0 : (int)ceil(-log10(step));
    snprintf(buf, len, "%.*fms", digits, ms);
  }
}

void fl_html_time_grid(FILE *out, double t_end, double y0, double y1, double label_y) {
  double step = fl_html_nice_step(t_end, 8);
  fprintf(out, "<g class=\"grid t\" data-y0=\"%.1f\" data-y1=\"%.1f\" data-label-y=\"%.1f\">", y0,
          y1, label_y);
  for (int k = 0; k * step <= t_end * 1.0000001 && k < 100; k++) {
    double t = k * step, x = fl_html_x(t, t_end);
    char label[32];
    fl_html_fmt_ms(label, sizeof label, t, step);
    fprintf(out,
            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
            x, x, y0, y1, x, label_y, label);
  }
  fprintf(out, "</g>\n");
}

void fl_html_plot_open(FILE *out, const char *id, double height) {
  /* A little wider than the plot: a tick label or a mark at either end stays whole. */
  fprintf(out,
          "<clipPath id=\"clip-%s\"><rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%.1f\"/>"
          "</clipPath><g class=\"plot\" clip-path=\"url(#clip-%s)\">\n",
          id, FL_HTML_X0 - 16, FL_HTML_X1 - FL_HTML_X0 + 32, height, id);
}

void fl_html_plot_close(FILE *out) { fputs("</g>\n", out); }

void fl_html_axis_attrs(FILE *out, double t_end) {
  fprintf(out, " data-t-end=\"%.3f\" data-x0=\"%.1f\" data-x1=\"%.1f\"", t_end, FL_HTML_X0,
          FL_HTML_X1);
}

#define CHART_TOP 12.0
#define CHART_H 130.0

void fl_html_chart_open(FILE *out, fl_html_chart *c, const char *attrs) {
  double lo = c->vmin < 0 ? c->vmin : 0, hi = c->vmax > 0 ? c->vmax : 0;
  if (!(hi > lo)) hi = lo + 1;
  double step = fl_html_nice_step(hi - lo, 4);
  if (c->decimals == 0 && step < 1) step = 1; /* whole things */
  c->y_lo = floor(lo / step) * step;
  c->y_hi = ceil(hi / step) * step;
  c->top = CHART_TOP;
  c->bottom = CHART_TOP + CHART_H;
  fprintf(out, "<figure class=\"chart %s\"><figcaption>", c->cls);
  fl_html_str(out, c->title, true);
  fputs("</figcaption>", out);
  if (c->legend) fputs(c->legend, out);
  fprintf(out,
          "<svg class=\"chart %s\" %s viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
          "aria-label=\"",
          c->cls, attrs ? attrs : "", FL_HTML_VIEW_W, c->bottom + 22);
  fl_html_str(out, c->title, false);
  fprintf(out,
          " over time\" data-y-lo=\"%.17g\" data-y-hi=\"%.17g\" data-top=\"%.1f\" "
          "data-bottom=\"%.1f\"",
          c->y_lo, c->y_hi, c->top, c->bottom);
  fl_html_axis_attrs(out, c->t_end);
  fputs(">\n<g class=\"grid y\">", out);
  for (int k = 0; c->y_lo + k * step <= c->y_hi + step * 1e-7 && k < 40; k++) {
    double v = c->y_lo + k * step, y = fl_html_chart_y(c, v);
    fprintf(out,
            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.2f\" y2=\"%.2f\"/>"
            "<text x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\">%.*f%s%s</text>",
            FL_HTML_X0, FL_HTML_X1, y, y, FL_HTML_X0 - 6, y + 4, step < 1 ? c->decimals : 0,
            fabs(v) < step * 1e-9 ? 0.0 : v, *c->unit ? " " : "", c->unit);
  }
  fputs("</g>\n", out);
  fl_html_plot_open(out, c->id, c->bottom + 22);
  fl_html_time_grid(out, c->t_end, c->top, c->bottom, c->bottom + 16);
}

double fl_html_chart_y(const fl_html_chart *c, double v) {
  return c->bottom - (c->bottom - c->top) * (v - c->y_lo) / (c->y_hi - c->y_lo);
}

void fl_html_chart_close(FILE *out) {
  fl_html_plot_close(out);
  fputs("</svg></figure>\n", out);
}

void fl_html_legend_item(FILE *out, const char *cls, const char *text, const char *note) {
  fprintf(out,
          "<li><svg width=\"16\" height=\"16\" viewBox=\"0 0 16 16\"><line class=\"series %s\" "
          "x1=\"0\" x2=\"16\" y1=\"8\" y2=\"8\"/></svg>",
          cls);
  fl_html_str(out, text, true);
  if (note) {
    fputc(' ', out);
    fl_html_str(out, note, true);
  }
  fputs("</li>", out);
}
