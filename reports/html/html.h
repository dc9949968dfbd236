/*
 * html: the parts report.html is made of (private to reports/; the page is report_html.h).
 *
 * Every byte that reaches the page goes through fl_html_bytes: text comes from peers (status
 * messages), from files a process wrote (stderr) and from the user (scenario files), and none
 * of it may become markup. Every chart is drawn on one time axis, ms since the run began, at
 * the same x for the same time, so the timeline and the resource charts line up one above the
 * other.
 */
#ifndef FL_HTML_H
#define FL_HTML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

/*
 * Writes s (len bytes) as HTML text or attribute value: & < > " ' as character references,
 * bytes that are not well-formed UTF-8 as U+FFFD, and control bytes other than tab and
 * newline (NUL, CR, ESC, DEL, ...) as a visible "\xNN". markup: that "\xNN" is wrapped in
 * <span class="ctl"> (use false inside attribute values and SVG <title>).
 */
void fl_html_bytes(FILE *out, const char *s, size_t len, bool markup);
void fl_html_str(FILE *out, const char *s, bool markup); /* up to the NUL; NULL writes nothing */

/* A JSON value as text: a string's every byte (NUL included), a number as written in JSON,
 * true/false/null. */
void fl_html_json(FILE *out, const json_t *v, bool markup);

/* A file name of the run directory as an href: percent-encoded but for [A-Za-z0-9._-]. */
void fl_html_href(FILE *out, const char *name);

/* Reads a file of the run directory, at most max bytes (*cut: there was more; with tail, the
 * last max bytes are kept). NULL if it cannot be read (errno set). The caller frees. */
char *fl_html_read_file(const char *dir, const char *name, size_t max, bool tail, size_t *len,
                        bool *cut);

/* The time axis: ms since the run began, from 0 to t_end, drawn in viewBox units from
 * FL_HTML_X0 to FL_HTML_X1 of an SVG FL_HTML_VIEW_W wide. */
#define FL_HTML_VIEW_W 1200.0
#define FL_HTML_X0 132.0
#define FL_HTML_X1 1184.0

double fl_html_x(double t_ms, double t_end);

/* A round step (1, 2 or 5 times a power of ten) that cuts range into about `parts`. */
double fl_html_nice_step(double range, int parts);

/* Formats a time in ms for an axis whose ticks are `step` apart: "250ms", "1.5s", "0.2ms". */
void fl_html_fmt_ms(char *buf, size_t len, double ms, double step);

/* Vertical grid lines from y0 to y1 at each tick of the time axis, labelled at label_y. */
void fl_html_time_grid(FILE *out, double t_end, double y0, double y1, double label_y);

/* The attributes an SVG on the time axis carries for report.js: data-t-end, data-x0, data-x1. */
void fl_html_axis_attrs(FILE *out, double t_end);

/* Opens the group of what an SVG draws on the time axis, clipped to the plot's columns so a
 * zoomed view (report.js) hides what falls outside; `id` names the clip path, unique on the
 * page. Every element inside carries its time: data-t (moved as a whole), or data-t0 and
 * data-t1 (a span: moved and stretched). fl_html_plot_close closes the group. */
void fl_html_plot_open(FILE *out, const char *id, double height);
void fl_html_plot_close(FILE *out);

/*
 * A chart of values over time (the resource charts, the flow-control windows): a <figure> with
 * its caption, an SVG on the time axis with a labelled y grid from the values' range, and the
 * plot group (fl_html_plot_open) with the time grid, into which the caller draws. The SVG
 * carries data-y-lo, data-y-hi, data-top and data-bottom: a value v is drawn at
 * y = bottom - (bottom - top) * (v - y_lo) / (y_hi - y_lo) (fl_html_chart_y), which the
 * browser suite reads back.
 */
typedef struct {
  const char *id;     /* unique on the page: the clip path is clip-ID */
  const char *cls;    /* the figure's and the SVG's class beside "chart" */
  const char *title;  /* the caption (text, escaped here) */
  const char *unit;   /* of the y labels, e.g. "MiB"; "" for counts */
  int decimals;       /* digits of a y label when the step is below 1 (0: the step is >= 1) */
  const char *legend; /* markup of the caller's under the caption (a ul.legend), or NULL */
  double vmin, vmax;  /* the range to fit, in the unit; the y grid always holds 0 */
  double t_end;
  /* Set by fl_html_chart_open: */
  double y_lo, y_hi, top, bottom;
} fl_html_chart;

/* Opens the chart; `attrs` (markup of the caller's, may be NULL) goes into the SVG's tag. */
void fl_html_chart_open(FILE *out, fl_html_chart *c, const char *attrs);
double fl_html_chart_y(const fl_html_chart *c, double v);
void fl_html_chart_close(FILE *out);

/* A legend entry: a short line of class `cls` (markup of ours) and its text (escaped). */
void fl_html_legend_item(FILE *out, const char *cls, const char *text, const char *note);

/* events.jsonl, read back: the merged timeline (html_timeline.c). */
typedef struct fl_html_events fl_html_events;

/* Reads path. Returns 0 and *out (lines that do not parse are counted and shown, not fatal),
 * or -1 with the reason (the file cannot be read; out of memory). */
FL_MUST_USE int fl_html_events_load(const char *path, fl_html_events **out, char *err,
                                    size_t errlen);
void fl_html_events_free(fl_html_events *e);
size_t fl_html_events_count(const fl_html_events *e);
double fl_html_events_t_max(const fl_html_events *e); /* the latest t_ms; 0 if none */

/* The timeline section's body: the lanes (an SVG), its legend, the details panel and the
 * event table. How large runs are aggregated is said in html_timeline.c and on the page. */
void fl_html_timeline(FILE *out, const fl_html_events *e, double t_end);

/* samples.csv, read back: each process's resources over time (html_samples.c). */
typedef struct fl_html_samples fl_html_samples;

FL_MUST_USE int fl_html_samples_load(const char *path, fl_html_samples **out, char *err,
                                     size_t errlen);
void fl_html_samples_free(fl_html_samples *s);
size_t fl_html_samples_count(const fl_html_samples *s);
double fl_html_samples_t_max(const fl_html_samples *s);

/* The RSS and the threads of each process over time, one SVG chart each. */
void fl_html_samples_charts(FILE *out, const fl_html_samples *s, double t_end);

/* frames.jsonl, read back: each connection's flow-control windows (html_windows.c). start_ms
 * places the capture's times (seconds since its first packet) in run time. */
typedef struct fl_html_windows fl_html_windows;

FL_MUST_USE int fl_html_windows_load(const char *path, double start_ms, fl_html_windows **out,
                                     char *err, size_t errlen);
void fl_html_windows_free(fl_html_windows *w);
size_t fl_html_windows_changes(const fl_html_windows *w); /* window changes read */
double fl_html_windows_t_max(const fl_html_windows *w);   /* the capture's last frame, run ms */

/* Each leg's and connection's send windows of each owner over time, one SVG chart per owner,
 * the stretches at 0 as bands and report.json's window_exhausted findings (the array, may be
 * NULL) marked. How large captures are capped is said in html_windows.c and on the page. */
void fl_html_windows_charts(FILE *out, const fl_html_windows *w, const json_t *findings,
                            double t_end);

/* The page's stylesheet and script (report.css, report.js), embedded at build time. */
extern const char fl_html_report_css[];
extern const char fl_html_report_js[];

#endif
