#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "html/html.h"
#include "report_html.h"

#define DUMP_MAX (4u << 20)  /* bytes of a thread dump shown */
#define LOG_TAIL (32u << 10) /* bytes of a stderr's end shown */
#define SCENARIO_MAX (256u << 10)

static const json_t *get(const json_t *o, const char *key) { return json_object_get(o, key); }
static const char *str(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}
static double num(const json_t *o, const char *key) {
  return json_number_value(json_object_get(o, key));
}

/* o[key] as escaped text; `dash` when absent or null. */
static void val(FILE *out, const json_t *o, const char *key, const char *dash) {
  const json_t *v = get(o, key);
  if (!v || json_is_null(v))
    fputs(dash, out);
  else
    fl_html_json(out, v, true);
}

static const char *verdict_class(const char *verdict) {
  if (!verdict) return "v-error";
  if (!strcmp(verdict, "reproduced")) return "v-ok";
  if (!strcmp(verdict, "error")) return "v-error";
  return "v-fail";
}

static void fmt_ms(FILE *out, double ms) {
  if (ms >= 1000)
    fprintf(out, "%.2f s", ms / 1000);
  else if (ms >= 10)
    fprintf(out, "%.1f ms", ms);
  else
    fprintf(out, "%.3f ms", ms);
}

static void head(FILE *out, const json_t *doc) {
  const json_t *sc = get(doc, "scenario");
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"faultline " FL_VERSION "\">\n<title>",
        out);
  val(out, sc, "name", "?");
  fputs(": ", out);
  val(out, doc, "verdict", "?");
  fputs(" \xE2\x80\x94 faultline</title>\n<style>\n", out);
  fputs(fl_html_report_css, out);
  fputs("</style></head>\n<body>\n", out);
}

static void header(FILE *out, const json_t *doc) {
  const json_t *sc = get(doc, "scenario");
  fprintf(out, "<header><h1><span class=\"name\">");
  val(out, sc, "name", "?");
  fprintf(out, "</span> <span id=\"verdict\" class=\"badge %s\">",
          verdict_class(str(doc, "verdict")));
  val(out, doc, "verdict", "?");
  fputs("</span></h1>\n<p class=\"summary\">", out);
  val(out, sc, "summary", "");
  fputs("</p>\n<dl class=\"facts\"><dt>outcome</dt><dd>", out);
  val(out, doc, "outcome", "?");
  fputs("</dd><dt>elapsed</dt><dd>", out);
  fmt_ms(out, num(doc, "elapsed_ms"));
  fputs("</dd><dt>started</dt><dd>", out);
  val(out, doc, "started_at", "?");
  fputs("</dd><dt>scenario</dt><dd><code>", out);
  val(out, sc, "file", "?");
  fputs("</code> (", out);
  val(out, sc, "rpc", "?");
  if (json_is_number(get(sc, "deadline_ms"))) {
    fputs(", deadline ", out);
    fmt_ms(out, num(sc, "deadline_ms"));
  }
  fputs(", timeout ", out);
  fmt_ms(out, num(sc, "timeout_ms"));
  fputs(", hang after ", out);
  fmt_ms(out, num(sc, "hang_after_ms"));
  if (num(sc, "streams") > 1) fprintf(out, ", %.0f streams", num(sc, "streams"));
  const json_t *calls = get(sc, "calls");
  if (num(sc, "streams") <= 1 && num(calls, "count") > 1)
    fprintf(out, ", %.0f calls", num(calls, "count"));
  fputs(")</dd><dt>faultline</dt><dd>", out);
  val(out, doc, "faultline_version", "?");
  fputs("</dd></dl>\n", out);
  if (json_is_string(get(doc, "error"))) {
    fputs("<p class=\"error\"><strong>error:</strong> ", out);
    val(out, doc, "error", "");
    fputs("</p>\n", out);
  }
  fputs("<nav><a href=\"#expectations\">Verdict</a> <a href=\"#findings\">Findings</a> "
        "<a href=\"#timeline-section\">Timeline</a> <a href=\"#windows\">Windows</a> "
        "<a href=\"#processes\">Processes</a> "
        "<a href=\"#dumps\">Thread dumps</a> <a href=\"#files\">Files</a></nav></header>\n",
        out);
}

/* What the clause expects, from the clause and the field it names: "client.sent >= 5" gives
 * ">= 5"; "5 < server.sent", with the field on the right, gives "> 5". */
static void expected(FILE *out, const char *clause, size_t len, const char *field) {
  size_t fl = field ? strlen(field) : 0;
  if (fl && len > fl && !strncmp(clause, field, fl)) {
    size_t i = fl;
    while (i < len && clause[i] == ' ') i++;
    fl_html_bytes(out, clause + i, len - i, true);
    return;
  }
  if (fl && len > fl && !memcmp(clause + len - fl, field, fl)) {
    size_t end = len - fl;
    while (end > 0 && clause[end - 1] == ' ') end--;
    static const char *const ops[][2] = {{"<=", ">="}, {">=", "<="}, {"==", "=="},
                                         {"!=", "!="}, {"<", ">"},   {">", "<"}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
      size_t ol = strlen(ops[k][0]);
      if (end < ol || memcmp(clause + end - ol, ops[k][0], ol)) continue;
      size_t vend = end - ol;
      while (vend > 0 && clause[vend - 1] == ' ') vend--;
      fprintf(out, "%s ", ops[k][1]);
      fl_html_bytes(out, clause, vend, true);
      return;
    }
  }
  fl_html_bytes(out, clause, len, true);
}

static void expectations(FILE *out, const json_t *doc) {
  const json_t *a = get(doc, "expectations");
  size_t held = 0, i;
  const json_t *e;
  json_array_foreach(a, i, e) held += json_is_true(get(e, "held"));
  fprintf(out,
          "<section id=\"expectations\"><h2>Verdict</h2>\n<p>%zu of %zu expectations held.</p>\n"
          "<table class=\"verdict\"><thead><tr><th>#</th><th>expectation</th><th>field</th>"
          "<th>expected</th><th>seen</th><th>held</th></tr></thead><tbody>\n",
          held, json_array_size(a));
  json_array_foreach(a, i, e) {
    bool ok = json_is_true(get(e, "held"));
    const json_t *clause = get(e, "clause");
    fprintf(out, "<tr class=\"clause %s\"><td>%zu</td><td><code>", ok ? "held" : "failed", i + 1);
    fl_html_json(out, clause, true);
    fputs("</code>", out);
    if (json_is_number(get(e, "line")))
      fprintf(out, " <span class=\"line\">line %.0f</span>", num(e, "line"));
    fputs("</td><td><code>", out);
    val(out, e, "field", "");
    fputs("</code></td><td><code>", out);
    expected(out, json_string_value(clause), json_string_length(clause), str(e, "field"));
    fputs("</code></td><td><code>", out);
    val(out, e, "seen", "");
    fprintf(out, "</code></td><td class=\"mark\">%s</td></tr>\n",
            ok ? "\xE2\x9C\x93 held" : "\xE2\x9C\x97 failed");
  }
  fputs("</tbody></table>\n", out);

  /* What the run ended in: with a hang, what it is made of. */
  const json_t *waiting = get(doc, "waiting_barriers"), *peers = get(doc, "peers");
  const json_t *busy = get(doc, "busy");
  size_t pending = 0;
  const char *side;
  const json_t *p;
  json_object_foreach((json_t *)peers, side, p) pending += json_array_size(get(p, "pending_ops"));
  if (json_array_size(waiting) || pending || json_is_object(busy)) {
    fputs("<h3>At the end of the run</h3>\n<ul class=\"at-end\">\n", out);
    json_array_foreach(waiting, i, e) {
      fputs("<li class=\"waiting\">", out);
      val(out, e, "side", "?");
      fputs(" still waits at <code>wait: ", out);
      val(out, e, "predicate", "?");
      fprintf(out, "</code> (line %.0f", num(e, "line"));
      if (num(e, "calls") > 1) fprintf(out, ", %.0f calls", num(e, "calls"));
      fputs("); <code>", out);
      val(out, e, "field", "?");
      fputs("</code> is <code>", out);
      val(out, e, "seen", "?");
      fputs("</code></li>\n", out);
    }
    json_object_foreach((json_t *)peers, side, p) {
      json_array_foreach(get(p, "pending_ops"), i, e) {
        fputs("<li class=\"pending\">", out);
        fl_html_str(out, side, true);
        fputs(" <code>", out);
        val(out, e, "op", "?");
        fprintf(out, "</code> of call %.0f pending for ", num(e, "call"));
        fmt_ms(out, num(e, "pending_ms"));
        if (json_is_number(get(e, "line")))
          fprintf(out, ", issued by the step at line %.0f", num(e, "line"));
        fprintf(out, ", after %.0f bytes sent</li>\n", num(e, "sent_bytes_before"));
      }
    }
    if (json_is_object(busy)) {
      fputs("<li class=\"busy\">", out);
      val(out, busy, "side", "?");
      fprintf(out, " thread %.0f &ldquo;", num(busy, "tid"));
      val(out, busy, "thread", "?");
      fputs("&rdquo; used ", out);
      fmt_ms(out, num(busy, "cpu_ms"));
      fputs(" of CPU from ", out);
      fmt_ms(out, num(busy, "since_ms"));
      fputs(" to ", out);
      fmt_ms(out, num(busy, "at_ms"));
      fputs(" without an event: busy, not counted as a hang</li>\n", out);
    }
    fputs("</ul>\n", out);
  }
  fputs("</section>\n", out);
}

static void findings(FILE *out, const json_t *doc) {
  const json_t *f = get(doc, "findings");
  fputs("<section id=\"findings\"><h2>Findings</h2>\n", out);
  if (!json_is_array(f)) {
    fputs("<p class=\"none\">No findings: this report has no frame decoder's findings "
          "(report.json has no <code>findings</code>).</p>\n",
          out);
  } else if (json_array_size(f) == 0) {
    fputs("<p class=\"none\">No findings.</p>\n", out);
  } else {
    fputs("<ul class=\"findings\">\n", out);
    size_t i;
    const json_t *e;
    json_array_foreach(f, i, e) {
      fputs("<li class=\"finding\">", out);
      if (json_is_string(get(e, "severity"))) {
        fputs("<span class=\"severity\">", out);
        val(out, e, "severity", "");
        fputs("</span> ", out);
      }
      if (json_is_number(get(e, "at_ms"))) {
        fputs("<span class=\"at\">at ", out);
        fmt_ms(out, num(e, "at_ms"));
        fputs("</span> ", out);
      }
      fl_html_json(out, json_is_object(e) ? get(e, "text") : e, true);
      fputs("</li>\n", out);
    }
    fputs("</ul>\n", out);
  }
  fputs("</section>\n", out);
}

static void timeline(FILE *out, const json_t *doc, fl_html_events *ev, const char *why,
                     double t_end) {
  const json_t *tl = get(doc, "timeline");
  fputs("<section id=\"timeline-section\"><h2>Timeline</h2>\n<p>", out);
  fputs("Merged from <a href=\"events.jsonl\">events.jsonl</a>, ordered by ", out);
  val(out, tl, "order", "?");
  fputs(": ms since the run began.", out);
  if (json_is_number(get(tl, "events")) && ev &&
      (size_t)num(tl, "events") != fl_html_events_count(ev))
    fprintf(out,
            " <span class=\"warn\">report.json counts %.0f events, events.jsonl holds "
            "%zu.</span>",
            num(tl, "events"), fl_html_events_count(ev));
  fputs("</p>\n", out);
  if (ev) {
    fl_html_timeline(out, ev, t_end);
  } else {
    fputs("<p class=\"warn\">", out);
    fl_html_str(out, why, true);
    fputs("</p>\n", out);
  }
  fputs("</section>\n", out);
}

/* frames.jsonl, as report.json's `frames` names it: loaded, or NULL with why there is none
 * (no capture, a capture that could not be decoded, a file that cannot be read). */
static fl_html_windows *load_windows(const char *run_dir, const json_t *doc, char *why, size_t len,
                                     bool *warn) {
  const json_t *fr = get(doc, "frames"), *cap = get(doc, "capture");
  const char *name = str(fr, "json_file");
  if (!json_is_object(fr)) {
    if (str(cap, "error"))
      snprintf(why, len, "No capture, so no frames to draw windows from: %s", str(cap, "error"));
    else if (json_is_false(get(cap, "requested")))
      snprintf(why, len,
               "The scenario asks for no packet capture (capture: { pcap: false }), "
               "so there are no frames to draw windows from.");
    else
      snprintf(why, len,
               "No capture was taken in this run, so there are no frames to draw "
               "windows from.");
    return NULL;
  }
  if (!name) {
    snprintf(why, len, "The capture was not decoded into frames: %s",
             str(fr, "error") ? str(fr, "error") : "report.json names no frames file");
    return NULL;
  }
  if (strchr(name, '/') || !strcmp(name, "..")) {
    snprintf(why, len, "report.json names a frames file outside the run directory.");
    return NULL;
  }
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", run_dir, name);
  fl_html_windows *w = NULL;
  /* start_ms is null when the capture held no packet: then there are no frames either. */
  if (fl_html_windows_load(path, num(fr, "start_ms"), &w, why, len) < 0) {
    *warn = true; /* report.json names a file that is not there, or cannot be read */
    return NULL;
  }
  return w;
}

static void windows(FILE *out, const json_t *doc, const fl_html_windows *w, const char *why,
                    bool warn, double t_end) {
  const json_t *fr = get(doc, "frames");
  fputs("<section id=\"windows\"><h2>Flow-control windows</h2>\n", out);
  if (w) {
    fputs("<p>Each connection's send windows, from <a href=\"", out);
    fl_html_href(out, str(fr, "json_file"));
    fputs("\">", out);
    fl_html_str(out, str(fr, "json_file"), true);
    fputs("</a> (the frames decoded from the capture), on the timeline's time axis.</p>\n", out);
    fl_html_windows_charts(out, w, get(doc, "findings"), t_end);
  } else {
    fprintf(out, "<p class=\"%s\">", warn ? "warn" : "none");
    fl_html_str(out, why, true);
    fputs("</p>\n", out);
  }
  fputs("</section>\n", out);
}

static void status_text(FILE *out, const json_t *status) {
  if (!json_is_object(status)) {
    fputs("&mdash;", out);
    return;
  }
  val(out, status, "name", "?");
  fprintf(out, " (%.0f)", num(status, "code"));
  const json_t *m = get(status, "message");
  if (json_is_string(m) && json_string_length(m)) {
    fputs(" <q class=\"msg\">", out);
    fl_html_json(out, m, true);
    fputs("</q>", out);
  }
  if (json_is_string(get(status, "message_hex"))) {
    fputs(" <span class=\"hex\">bytes ", out);
    val(out, status, "message_hex", "");
    fputs("</span>", out);
  }
}

static void calls_text(FILE *out, const json_t *calls) {
  size_t n = json_array_size(calls), i, cancelled = 0;
  fprintf(out, "%zu", n);
  /* By status, in order of first appearance: "OK 998, CANCELLED 2". */
  const char *names[16];
  size_t counts[16], n_names = 0, other = 0;
  const json_t *c;
  json_array_foreach(calls, i, c) {
    cancelled += json_is_true(get(c, "cancelled"));
    const char *s = str(c, "status");
    if (!s) s = "no status";
    size_t k = 0;
    while (k < n_names && strcmp(names[k], s)) k++;
    if (k == n_names && n_names == 16) {
      other++;
      continue;
    }
    if (k == n_names) {
      names[n_names] = s;
      counts[n_names++] = 0;
    }
    counts[k]++;
  }
  if (n > 1) {
    fputs(" (", out);
    for (size_t k = 0; k < n_names; k++) {
      fputs(k ? ", " : "", out);
      fl_html_str(out, names[k], true);
      fprintf(out, " %zu", counts[k]);
    }
    if (other) fprintf(out, ", other %zu", other);
    if (cancelled) fprintf(out, "; %zu cancelled", cancelled);
    fputs(")", out);
  } else if (cancelled) {
    fputs(" (cancelled)", out);
  }
}

static void processes(FILE *out, const json_t *doc, fl_html_samples *samples, const char *why,
                      double t_end) {
  const json_t *peers = get(doc, "peers");
  fputs("<section id=\"processes\"><h2>Processes</h2>\n<table class=\"peers\"><thead><tr>"
        "<th>side</th><th>pid</th><th>port</th><th>exit</th><th>status</th><th>calls</th>"
        "<th>RSS peak</th><th>samples</th><th>threads max</th><th>fds max</th>"
        "<th>channel args</th></tr></thead><tbody>\n",
        out);
  const char *side;
  const json_t *p;
  json_object_foreach((json_t *)peers, side, p) {
    const json_t *exit = get(p, "exit"), *smp = get(p, "samples");
    fputs("<tr><th>", out);
    fl_html_str(out, side, true);
    fputs("</th><td>", out);
    val(out, p, "pid", "&mdash;");
    fputs("</td><td>", out);
    val(out, p, "port", "&mdash;");
    fputs("</td><td>", out);
    if (json_is_string(get(exit, "signal")))
      val(out, exit, "signal", "");
    else if (json_is_number(get(exit, "code")))
      fprintf(out, "code %.0f", num(exit, "code"));
    else
      fputs("&mdash;", out);
    if (json_is_true(get(exit, "ended_by_runner"))) fputs(" (ended by the runner)", out);
    fputs("</td><td>", out);
    status_text(out, get(p, "status"));
    fputs("</td><td>", out);
    calls_text(out, get(p, "calls"));
    fprintf(out, "</td><td>%.1f MiB</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>",
            num(p, "peak_rss_kib") / 1024, num(smp, "count"), num(smp, "max_threads"),
            num(smp, "max_fds"));
    const char *k;
    const json_t *a;
    json_object_foreach((json_t *)get(p, "args"), k, a) {
      fputs("<code>", out);
      fl_html_str(out, k, true);
      fputs("=", out);
      fl_html_json(out, a, true);
      fputs("</code> ", out);
    }
    fputs("</td></tr>\n", out);
    if (json_is_string(get(p, "error"))) {
      fputs("<tr class=\"error\"><td></td><td colspan=\"10\">error: ", out);
      val(out, p, "error", "");
      fputs("</td></tr>\n", out);
    }
  }
  fputs("</tbody></table>\n<h3>Resources over time</h3>\n<p>From <a href=\"samples.csv\">"
        "samples.csv</a>, on the timeline's time axis.</p>\n",
        out);
  if (samples) {
    fl_html_samples_charts(out, samples, t_end);
  } else {
    fputs("<p class=\"warn\">", out);
    fl_html_str(out, why, true);
    fputs("</p>\n", out);
  }
  fputs("</section>\n", out);
}

/* A thread block starts at a line "thread N ..." (faultline's header) or "goroutine N [" (Go's
 * grammar): everything before the first is the dump's header and grouped summary. */
static bool thread_start(const char *line, size_t len) {
  const char *rest = NULL;
  if (len > 7 && !memcmp(line, "thread ", 7)) rest = line + 7;
  if (len > 10 && !memcmp(line, "goroutine ", 10)) rest = line + 10;
  return rest && rest < line + len && *rest >= '0' && *rest <= '9';
}

static size_t dump_file(FILE *out, const char *run_dir, const char *name) {
  size_t len;
  bool cut;
  char *text = fl_html_read_file(run_dir, name, DUMP_MAX, false, &len, &cut);
  if (!text) {
    fprintf(out, "<p class=\"warn\">cannot read it: %s</p>\n", strerror(errno));
    return 0;
  }
  size_t threads = 0, start = 0;
  bool in_thread = false;
  for (size_t i = 0; i <= len;) {
    size_t eol = i;
    while (eol < len && text[eol] != '\n') eol++;
    bool last = eol >= len;
    if (last || thread_start(text + i, eol - i)) {
      /* Close the block that ends here: the header or the previous thread. */
      size_t end = last ? len : i;
      if (!in_thread) {
        fputs("<pre class=\"dump-head\">", out);
        fl_html_bytes(out, text + start, end - start, true);
        fputs("</pre>\n", out);
      } else {
        size_t hdr_end = start;
        while (hdr_end < end && text[hdr_end] != '\n') hdr_end++;
        fputs("<details class=\"thread\"><summary><code>", out);
        fl_html_bytes(out, text + start, hdr_end - start, true);
        fputs("</code></summary><pre>", out);
        if (hdr_end < end) fl_html_bytes(out, text + hdr_end + 1, end - hdr_end - 1, true);
        fputs("</pre></details>\n", out);
        threads++;
      }
      if (last) break;
      start = i;
      in_thread = true;
    }
    i = eol + 1;
  }
  if (cut)
    fprintf(out, "<p class=\"warn\">Cut at %u MiB: the file is longer.</p>\n", DUMP_MAX >> 20);
  free(text);
  return threads;
}

static void dumps(FILE *out, const char *run_dir, const json_t *doc) {
  const json_t *a = get(doc, "thread_dumps");
  fputs("<section id=\"dumps\"><h2>Thread dumps</h2>\n", out);
  if (json_array_size(a) == 0)
    fputs("<p class=\"none\">No thread dumps were taken in this run.</p>\n", out);
  size_t i;
  const json_t *d;
  json_array_foreach(a, i, d) {
    fprintf(out, "<article class=\"dump\" data-threads=\"%.0f\"><h3>", num(d, "threads"));
    val(out, d, "side", "?");
    fputs(": <a href=\"", out);
    if (str(d, "file")) fl_html_href(out, str(d, "file"));
    fputs("\">", out);
    val(out, d, "file", "?");
    fputs("</a></h3>\n<p>", out);
    val(out, d, "why", "");
    fputs(", at ", out);
    fmt_ms(out, num(d, "at_ms"));
    fprintf(out, "; %.0f threads, unwound in ", num(d, "threads"));
    fmt_ms(out, num(d, "dump_ms"));
    fputs(".</p>\n", out);
    if (json_is_string(get(d, "error"))) {
      fputs("<p class=\"warn\">", out);
      val(out, d, "error", "");
      fputs("</p>\n", out);
    }
    if (str(d, "file")) dump_file(out, run_dir, str(d, "file"));
    fputs("</article>\n", out);
  }
  fputs("</section>\n", out);
}

/* A row of the files table; `what` is markup of ours, or (plain) text to escape. */
static void file_row(FILE *out, const char *run_dir, const char *name, const char *what,
                     bool plain) {
  char path[PATH_MAX];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", run_dir, name);
  bool there = !strchr(name, '/') && stat(path, &st) == 0;
  fputs("<tr><td>", out);
  if (there) {
    fputs("<a href=\"", out);
    fl_html_href(out, name);
    fputs("\">", out);
  }
  fl_html_str(out, name, true);
  fputs(there ? "</a>" : "", out);
  fputs("</td><td>", out);
  if (there && st.st_size < 1024)
    fprintf(out, "%lld B", (long long)st.st_size);
  else if (there)
    fprintf(out, "%.1f %s", st.st_size < (1 << 20) ? st.st_size / 1024.0 : st.st_size / 1048576.0,
            st.st_size < (1 << 20) ? "KiB" : "MiB");
  else
    fputs("not written", out);
  fputs("</td><td>", out);
  if (plain)
    fl_html_str(out, what, true);
  else
    fputs(what, out);
  fputs("</td></tr>\n", out);
}

static void inline_file(FILE *out, const char *run_dir, const char *name, size_t max, bool tail,
                        bool skip_empty) {
  size_t len;
  bool cut;
  char *text = fl_html_read_file(run_dir, name, max, tail, &len, &cut);
  if (!text || (skip_empty && len == 0)) {
    free(text);
    return;
  }
  fputs("<details class=\"file\"><summary>", out);
  fl_html_str(out, name, true);
  if (cut) fprintf(out, " (%s %zu KiB)", tail ? "its last" : "its first", max >> 10);
  fputs("</summary><pre>", out);
  fl_html_bytes(out, text, len, true);
  fputs("</pre></details>\n", out);
  free(text);
}

static void files(FILE *out, const char *run_dir, const json_t *doc) {
  const json_t *cap = get(doc, "capture"), *tl = get(doc, "timeline");
  fputs("<section id=\"files\"><h2>Files</h2>\n<table class=\"files\"><thead><tr><th>file</th>"
        "<th>size</th><th>what</th></tr></thead><tbody>\n",
        out);
  file_row(out, run_dir, "report.json", "the canonical record this page is rendered from", false);
  char what[512];
  snprintf(what, sizeof what, "the merged timeline: %.0f events, one JSON object a line",
           num(tl, "events"));
  file_row(out, run_dir, "events.jsonl", what, false);
  file_row(out, run_dir, "samples.csv", "each process's RSS, threads, fds, switches, CPU", false);
  /* The capture: open it in Wireshark, or tshark -d tcp.port==PORT,http2. */
  if (json_is_string(get(cap, "file"))) {
    snprintf(what, sizeof what, "packet capture: %.0f packets, %.0f dropped%s", num(cap, "packets"),
             num(cap, "dropped"), num(cap, "dropped") > 0 ? " (<strong>incomplete</strong>)" : "");
    file_row(out, run_dir, "capture.pcap", what, false);
  } else {
    fputs("<tr><td>capture.pcap</td><td>not written</td><td>", out);
    if (json_is_string(get(cap, "error")))
      val(out, cap, "error", "");
    else
      fputs("no capture was asked for", out);
    fputs("</td></tr>\n", out);
  }
  size_t i;
  const json_t *d;
  json_array_foreach(get(doc, "thread_dumps"), i, d) {
    if (str(d, "file")) file_row(out, run_dir, str(d, "file"), "a thread dump", false);
    if (str(d, "go_file"))
      file_row(out, run_dir, str(d, "go_file"), "the same dump in Go's grammar (panicparse)",
               false);
    if (str(d, "pprof_file"))
      file_row(out, run_dir, str(d, "pprof_file"),
               "the same dump as a pprof profile (go tool pprof)", false);
  }
  /* Whatever else report.json lists (the scenario, each peer's stderr, files added later). */
  const char *key;
  const json_t *f;
  json_object_foreach((json_t *)get(doc, "files"), key, f) {
    const char *name = json_string_value(f);
    if (!name || !strcmp(name, "events.jsonl") || !strcmp(name, "samples.csv")) continue;
    char w[128];
    snprintf(w, sizeof w, "%s", key);
    for (char *p = w; *p; p++)
      if (*p == '_') *p = ' ';
    file_row(out, run_dir, name, w, true);
  }
  fputs("</tbody></table>\n", out);
  if (json_is_string(get(cap, "filter"))) {
    fputs("<p>Capture filter <code>", out);
    val(out, cap, "filter", "");
    fputs("</code>. Decode with <code>tshark -r capture.pcap -d tcp.port==PORT,http2</code> "
          "(PORT from the filter).</p>\n",
          out);
  }
  inline_file(out, run_dir, "scenario.yaml", SCENARIO_MAX, false, false);
  json_object_foreach((json_t *)get(doc, "files"), key, f) {
    const char *name = json_string_value(f);
    size_t nl = name ? strlen(name) : 0;
    if (nl > 7 && !strcmp(name + nl - 7, ".stderr"))
      inline_file(out, run_dir, name, LOG_TAIL, true, true);
  }
  fputs("</section>\n", out);
}

int fl_report_html(FILE *out, const char *run_dir, const json_t *doc, char *err, size_t errlen) {
  char path[PATH_MAX], ev_why[512] = "", sm_why[512] = "", win_why[512] = "";
  fl_html_events *ev = NULL;
  fl_html_samples *samples = NULL;
  bool win_warn = false;
  fl_html_windows *win = load_windows(run_dir, doc, win_why, sizeof win_why, &win_warn);
  snprintf(path, sizeof path, "%s/events.jsonl", run_dir);
  if (fl_html_events_load(path, &ev, ev_why, sizeof ev_why) < 0) ev = NULL;
  snprintf(path, sizeof path, "%s/samples.csv", run_dir);
  if (fl_html_samples_load(path, &samples, sm_why, sizeof sm_why) < 0) samples = NULL;

  /* One time axis for the timeline and the charts: to the last thing seen. */
  double t_end = num(doc, "elapsed_ms");
  if (fl_html_events_t_max(ev) > t_end) t_end = fl_html_events_t_max(ev);
  if (fl_html_samples_t_max(samples) > t_end) t_end = fl_html_samples_t_max(samples);
  if (fl_html_windows_t_max(win) > t_end) t_end = fl_html_windows_t_max(win);
  if (t_end <= 0) t_end = 1;

  head(out, doc);
  header(out, doc);
  fputs("<main>\n", out);
  expectations(out, doc);
  findings(out, doc);
  timeline(out, doc, ev, ev_why, t_end);
  windows(out, doc, win, win_why, win_warn, t_end);
  processes(out, doc, samples, sm_why, t_end);
  dumps(out, run_dir, doc);
  files(out, run_dir, doc);
  fputs("</main>\n<footer>Rendered by faultline " FL_VERSION
        " from report.json and the files beside it; <code>faultline report DIR</code> renders "
        "it again.</footer>\n<script>\n",
        out);
  fputs(fl_html_report_js, out);
  fputs("</script>\n</body></html>\n", out);
  fl_html_events_free(ev);
  fl_html_samples_free(samples);
  fl_html_windows_free(win);
  if (fflush(out) != 0 || ferror(out)) {
    fl_set_err(err, errlen, "%s", strerror(errno ? errno : EIO));
    return -1;
  }
  return 0;
}

int fl_report_write_html(const char *run_dir, const json_t *doc, char *err, size_t errlen) {
  char path[PATH_MAX], tmp[PATH_MAX], why[256];
  snprintf(path, sizeof path, "%s/report.html", run_dir);
  /* A new file of a name of its own (O_EXCL: it follows no link, opens nothing that exists),
   * renamed over the page: a reader never sees half a page, and a link named report.html is
   * replaced, never written through. */
  snprintf(tmp, sizeof tmp, "%s/.report.html.XXXXXX", run_dir);
  int fd = mkostemp(tmp, O_CLOEXEC);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (!f) {
    fl_set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0) {
      close(fd);
      unlink(tmp);
    }
    return -1;
  }
  int rc = fchmod(fd, 0644) == 0 ? 0 : -1;
  if (rc < 0) snprintf(why, sizeof why, "%s", strerror(errno));
  if (rc == 0) rc = fl_report_html(f, run_dir, doc, why, sizeof why);
  if (fclose(f) != 0 && rc == 0) {
    snprintf(why, sizeof why, "%s", strerror(errno));
    rc = -1;
  }
  if (rc == 0 && rename(tmp, path) != 0) {
    snprintf(why, sizeof why, "%s", strerror(errno));
    rc = -1;
  }
  if (rc < 0) {
    fl_set_err(err, errlen, "cannot write %s: %s", path, why);
    unlink(tmp);
  }
  return rc;
}
