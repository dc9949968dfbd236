/* Unit tests for the forms of report.json (reports/report.h, report_html.h, html/html.h):
 * escaping, the document check, the terminal summary, and the timeline's promise that every
 * event is a mark or counted in a bar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "html.h"
#include "report.h"
#include "report_html.h"

/* A memory stream's text, for comparing what a writer wrote. */
typedef struct {
  char *buf;
  size_t len;
  FILE *f;
} sink;

static void sink_open(sink *s) {
  s->buf = NULL;
  s->f = open_memstream(&s->buf, &s->len);
  assert_non_null(s->f);
}

static char *sink_close(sink *s) {
  assert_int_equal(fclose(s->f), 0);
  return s->buf;
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static void test_escaping(void **state) {
  (void)state;
  const char in[] = "<a href='x'>&\"\0\x1b\xff\xc3\xa9\ttab\nline";
  sink s;
  sink_open(&s);
  fl_html_bytes(s.f, in, sizeof in - 1, true);
  char *out = sink_close(&s);
  assert_string_equal(out, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;<span class=\"ctl\">\\x00</span>"
                           "<span class=\"ctl\">\\x1b</span>\xEF\xBF\xBD\xc3\xa9\ttab\nline");
  free(out);
  sink_open(&s);
  fl_html_bytes(s.f, in, sizeof in - 1, false); /* in an attribute: no markup at all */
  out = sink_close(&s);
  assert_string_equal(
      out, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\\x00\\x1b\xEF\xBF\xBD\xc3\xa9\ttab\nline");
  free(out);
  sink_open(&s);
  fl_html_href(s.f, "threads-server 1?.txt");
  out = sink_close(&s);
  assert_string_equal(out, "threads-server%201%3F.txt");
  free(out);
}

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *doc = json_loads(text, JSON_ALLOW_NUL, &e);
  if (!doc) fail_msg("test JSON: %s", e.text);
  return doc;
}

#define MINIMAL                                                                                    \
  "\"scenario\": {\"name\": \"s\"}, \"verdict\": \"not reproduced\", \"outcome\": \"hang\", "      \
  "\"elapsed_ms\": 1500.0"

static void test_check_names_the_key(void **state) {
  (void)state;
  static const struct {
    const char *doc, *why;
  } cases[] = {
      {"[]", "the document is not a JSON object"},
      {"{\"scenario\": {\"name\": \"s\"}}", "verdict is missing; it must be a string"},
      {"{" MINIMAL "}", "expectations is missing; it must be an array"},
      {"{" MINIMAL ", \"expectations\": [{\"clause\": \"a\", \"seen\": \"1\", \"held\": 1}]}",
       "expectations[0].held is not a boolean"},
      {"{" MINIMAL ", \"expectations\": [], \"busy\": 3}", "busy is not an object"},
      {"{" MINIMAL ", \"expectations\": [], \"thread_dumps\": [{\"file\": 3}]}",
       "thread_dumps[0].file is not a string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *doc = parse(cases[i].doc);
    char err[256] = "";
    assert_int_equal(fl_report_check(doc, err, sizeof err), -1);
    assert_string_equal(err, cases[i].why);
    json_decref(doc);
  }
  json_t *doc = parse("{" MINIMAL ", \"expectations\": [], \"busy\": null}");
  char err[256];
  assert_int_equal(fl_report_check(doc, err, sizeof err), 0);
  json_decref(doc);
}

static void test_summary_from_the_document(void **state) {
  (void)state;
  json_t *doc = parse(
      "{" MINIMAL ", \"error\": null,"
      "\"expectations\": [{\"clause\": \"client.status == OK\", \"held\": false,"
      "                    \"seen\": \"a\\u001bb\\u0000c\"},"
      "                   {\"clause\": \"outcome == hang\", \"held\": true, \"seen\": \"hang\"}],"
      "\"waiting_barriers\": [{\"side\": \"server\", \"predicate\": \"client.sent >= 2\","
      "  \"field\": \"client.sent\", \"line\": 12, \"seen\": \"1\", \"calls\": 2}],"
      "\"busy\": {\"side\": \"client\", \"tid\": 7, \"thread\": \"spin\", \"cpu_ms\": 900,"
      "  \"since_ms\": 100, \"at_ms\": 1100},"
      "\"peers\": {\"server\": {\"calls\": [{}, {}], \"pending_ops\": [{\"call\": 2, \"op\": "
      "\"send\","
      "  \"pending_ms\": 812.4}]}, \"client\": {\"calls\": [{}], \"pending_ops\": [{\"call\": 1,"
      "  \"op\": \"recv\", \"pending_ms\": 20}]}},"
      "\"capture\": {\"file\": null, \"error\": \"no CAP_NET_RAW\"},"
      "\"thread_dumps\": [{\"file\": \"threads-server-1.txt\", \"why\": \"hang\", \"threads\": 8,"
      "  \"error\": null}]}");
  sink s;
  sink_open(&s);
  fl_report_print_summary(s.f, doc, "runs/x", false);
  char *out = sink_close(&s);
  assert_string_equal(
      out, "s: not reproduced (outcome hang, 1.50s)\n"
           "  FAIL client.status == OK                          seen a\\x1bb\\x00c\n"
           "  ok   outcome == hang                              seen hang\n"
           "  waiting at end: server at `wait: client.sent >= 2` (line 12) (2 calls); "
           "client.sent is 1\n"
           "  pending at end: server send (call 2) for 812ms\n"
           "  pending at end: client recv for 20ms\n"
           "  busy: client thread 7 \"spin\" used 0.90s of CPU from 0.10s to 1.10s without an "
           "event (not counted as a hang)\n"
           "  capture: none: no CAP_NET_RAW\n"
           "  thread dump: threads-server-1.txt (hang, 8 threads)\n"
           "  run directory: runs/x\n");
  free(out);
  json_decref(doc);
}

/* A run directory made by hand: report.json, events.jsonl, samples.csv, a stderr. */
static void write_file(const char *dir, const char *name, const char *text, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static void test_every_event_is_a_mark_or_in_a_bar(void **state) {
  (void)state;
  char dir[] = "/tmp/test_report_XXXXXX";
  assert_non_null(mkdtemp(dir));
  /* 3000 ops and messages (tier 2: too many for marks), a barrier and a fault (tier 0), a call
   * start per 100 (tier 1), and one line that does not parse. */
  char *events = NULL;
  size_t len;
  FILE *f = open_memstream(&events, &len);
  for (int i = 0; i < 3000; i++) {
    const char *side = i % 3 == 0 ? "client" : i % 3 == 1 ? "server" : "proxy";
    const char *ev = i % 3 == 2 ? "frame" : i % 2 ? "sent" : "op_start";
    fprintf(f, "{\"t_ms\":%d.5,\"side\":\"%s\",\"event\":\"%s\",\"n\":%d}\n", i, side, ev, i);
    if (i % 100 == 0)
      fprintf(f, "{\"t_ms\":%d.6,\"side\":\"client\",\"event\":\"call_start\"}\n", i);
  }
  fprintf(f, "{\"t_ms\":10,\"side\":\"server\",\"event\":\"wait\",\"index\":1,\"expr\":\"a<b\"}\n"
             "{\"t_ms\":20,\"side\":\"server\",\"event\":\"arrive\",\"index\":1}\n"
             "{\"t_ms\":30,\"side\":\"proxy\",\"event\":\"fault\",\"index\":0}\n"
             "not json\n");
  assert_int_equal(fclose(f), 0);
  write_file(dir, "events.jsonl", events, len);
  free(events);

  char path[600], err[256];
  snprintf(path, sizeof path, "%s/events.jsonl", dir);
  fl_html_events *ev;
  assert_int_equal(fl_html_events_load(path, &ev, err, sizeof err), 0);
  assert_int_equal(fl_html_events_count(ev), 3000 + 30 + 3);
  sink s;
  sink_open(&s);
  fl_html_timeline(s.f, ev, fl_html_events_t_max(ev));
  char *out = sink_close(&s);
  fl_html_events_free(ev);

  size_t marks = count(out, "<rect class=\"ev ") + count(out, "<circle class=\"ev ") +
                 count(out, "<path class=\"ev "),
         binned = 0;
  for (const char *p = out; (p = strstr(p, "class=\"bin\" data-n=\"")); p++)
    binned += strtoul(p + strlen("class=\"bin\" data-n=\""), NULL, 10);
  assert_int_equal(marks + binned, 3033);
  assert_int_equal(marks, 33); /* tiers 0 and 1 fit; the 3000 do not */
  assert_non_null(strstr(out, "1 lines do not parse (the first, line 3034"));
  assert_non_null(strstr(out, "class=\"span-wait\""));     /* the barrier's wait, as a band */
  assert_non_null(strstr(out, "class=\"vline c-fault\"")); /* the fault, through every lane */
  /* The table: the first and the last rows, every tier-0 event, gaps for the rest. */
  size_t rows = count(out, "<tr id=\"ev-"), gaps = 0;
  for (const char *p = out; (p = strstr(p, "class=\"gap\" data-n=\"")); p++)
    gaps += strtoul(p + strlen("class=\"gap\" data-n=\""), NULL, 10);
  assert_int_equal(rows + gaps, 3033);
  assert_true(rows < 3033);
  free(out);

  /* The whole page: a status message with NUL and markup, a log with bytes that are not UTF-8,
   * a report.json that names a file outside the run directory. */
  const char report[] =
      "{" MINIMAL ", \"expectations\": [],"
      "\"peers\": {\"server\": {\"status\": {\"code\": 2, \"name\": \"UNKNOWN\","
      "  \"message\": \"<b>\\u0000</b>\"}}},"
      "\"thread_dumps\": [{\"side\": \"server\", \"file\": \"../../etc/passwd\", \"threads\": 1}],"
      "\"files\": {\"server_stderr\": \"server.stderr\"}}";
  write_file(dir, "report.json", report, sizeof report - 1);
  write_file(dir, "server.stderr", "bad \xff\xfe bytes\n", strlen("bad \xff\xfe bytes\n"));
  const char samples[] = "t_ms,side,pid,rss_kib,threads\n1.0,server,5,1024,3\n";
  write_file(dir, "samples.csv", samples, sizeof samples - 1);
  json_t *doc;
  assert_int_equal(fl_report_load(dir, &doc, err, sizeof err), 0);
  assert_int_equal(fl_report_write_html(dir, doc, err, sizeof err), 0);
  json_decref(doc);
  size_t n;
  bool cut;
  char *page = fl_html_read_file(dir, "report.html", 1 << 24, false, &n, &cut);
  assert_non_null(page);
  assert_int_equal(strlen(page), n); /* no NUL reached the page */
  for (size_t i = 0; i < n;) {
    size_t k = fl_utf8_len(page + i, n - i);
    if ((unsigned char)page[i] < 0x80) k = 1;
    if (k == 0) fail_msg("report.html is not UTF-8 at byte %zu", i);
    i += k;
  }
  assert_non_null(strstr(page, "&lt;b&gt;<span class=\"ctl\">\\x00</span>&lt;/b&gt;"));
  assert_non_null(strstr(page, "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes"));
  assert_null(strstr(page, "root:"));
  assert_non_null(strstr(page, "cannot read it: Invalid argument"));
  assert_non_null(
      strstr(page, "data-side=\"server\" vector-effect=\"non-scaling-stroke\" data-points=\"1\""));
  free(page);
  assert_null(fl_html_read_file(dir, "../report.json", 100, false, &n, &cut));

  static const char *const files[] = {"events.jsonl", "report.json", "report.html", "server.stderr",
                                      "samples.csv"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* A page's part between two strings (both included), or NULL. */
static char *between(const char *page, const char *from, const char *to) {
  const char *a = strstr(page, from), *b = a ? strstr(a, to) : NULL;
  if (!b) return NULL;
  size_t n = (size_t)(b - a) + strlen(to);
  char *out = malloc(n + 1);
  assert_non_null(out);
  memcpy(out, a, n);
  out[n] = '\0';
  return out;
}

static char *windows_page(const char *dir, const char *frames, double start_ms,
                          const char *findings_json, double t_end) {
  write_file(dir, "frames.jsonl", frames, strlen(frames));
  char path[600], err[256];
  snprintf(path, sizeof path, "%s/frames.jsonl", dir);
  fl_html_windows *w;
  assert_int_equal(fl_html_windows_load(path, start_ms, &w, err, sizeof err), 0);
  json_t *findings = findings_json ? parse(findings_json) : NULL;
  sink s;
  sink_open(&s);
  fl_html_windows_charts(s.f, w, findings, t_end);
  json_decref(findings);
  fl_html_windows_free(w);
  unlink(path);
  return sink_close(&s);
}

#define WIN_LINE(frame, t, owner, stream, window, delta, cause)                                    \
  "{\"frame\":" #frame ",\"t\":" #t ",\"leg\":0,\"leg_name\":\"<b>leg</b>\",\"conn\":1,"           \
  "\"client\":\"c:1\",\"server\":\"s:2\",\"windows\":[{\"owner\":\"" owner                         \
  "\",\"stream\":" #stream ",\"window\":" #window ",\"delta\":" #delta ",\"cause\":\"" cause       \
  "\"}]}\n"

/* The steps of a window, its stretches at 0 (until lifted, closed, or the capture's end) and
 * a window_exhausted finding marked where its frame emptied the window. */
static void test_windows_steps_and_stretches_at_zero(void **state) {
  (void)state;
  char dir[] = "/tmp/test_report_XXXXXX";
  assert_non_null(mkdtemp(dir));
  /* start_ms 10: a frame at t 0.001 s is at 11 ms of the run. */
  const char frames[] = WIN_LINE(1, 0.001, "server", 1, 100, 100, "open") /* 11 ms: opens at 100 */
      WIN_LINE(1, 0.001, "client", 1, 65535, 65535, "open")    /* the client's own chart */
      WIN_LINE(2, 0.002, "server", 1, 0, -100, "data")         /* 12 ms: to 0 */
      WIN_LINE(2, 0.002, "server", 0, 900, -100, "data")       /* the connection: from 1000 */
      WIN_LINE(3, 0.004, "server", 1, 50, 50, "window_update") /* 14 ms: lifted */
      WIN_LINE(4, 0.005, "server", 1, 0, -50, "data")          /* 15 ms: to 0 again */
      "{\"frame\":7,\"t\":0.007,\"leg\":0,\"conn\":1,\"windows\":[{\"owner\":\"proxy\","
      "\"stream\":1,\"window\":1,\"delta\":1,\"cause\":\"data\"}]}\n" /* line 7: no such owner */
      WIN_LINE(5, 0.008, "server", 1, 0, 0, "close")                  /* 18 ms: closed at 0 */
      WIN_LINE(6, 0.009, "server", 0, 0, -900, "data")           /* 19 ms: the connection at 0 */
      "{\"notice\":\"fin\",\"t\":0.020,\"leg\":0,\"conn\":1}\n"; /* the capture ends at 30 ms */
  char *out = windows_page(dir, frames, 10,
                           "[{\"kind\": \"window_exhausted\", \"frame\": 2, \"at_ms\": 12,"
                           "  \"text\": \"the server's <window>\"},"
                           " {\"kind\": \"window_exhausted\", \"frame\": 99, \"at_ms\": 13},"
                           " {\"kind\": \"rst_stream\", \"frame\": 5, \"at_ms\": 18}]",
                           40);
  rmdir(dir);
  assert_non_null(strstr(out, "8 window changes on 1 connection"));
  assert_non_null(strstr(out, "Leg &lt;b&gt;leg&lt;/b&gt;, connection 1: client c:1"));
  assert_null(strstr(out, "<b>"));
  assert_int_equal(count(out, "<svg class=\"chart windows\""), 2);
  char *server = between(out, "data-owner=\"server\" data-series", "</svg>");
  assert_non_null(server);
  /* x = 132 + 1052 * t / 40; the axis 0..1000 B from y 142 up to 12, so y = 142 - 0.13 * v. */
  assert_non_null(strstr(server, "data-stream=\"1\" data-changes=\"5\" data-drawn=\"5\" "
                                 "data-min=\"0\" vector-effect=\"non-scaling-stroke\" "
                                 "points=\"421.30,129.00 447.60,129.00 447.60,142.00 500.20,142.00 "
                                 "500.20,135.50 526.50,135.50 526.50,142.00 605.40,142.00 "
                                 "605.40,142.00\""));
  /* The connection: from its value before the first change (1000), held to the capture's end. */
  assert_non_null(strstr(server, "data-stream=\"0\" data-changes=\"2\" data-drawn=\"2\" "
                                 "data-min=\"0\" vector-effect=\"non-scaling-stroke\" "
                                 "points=\"447.60,12.00 447.60,25.00 631.70,25.00 631.70,142.00 "
                                 "921.00,142.00\""));
  assert_non_null(strstr(server, "data-stream=\"1\" data-t0=\"12.000\" data-t1=\"14.000\""));
  assert_non_null(strstr(server, "data-stream=\"1\" data-t0=\"15.000\" data-t1=\"18.000\""));
  assert_non_null(strstr(server, "data-stream=\"0\" data-t0=\"19.000\" data-t1=\"30.000\""));
  assert_non_null(strstr(server, ", until the capture ended"));
  assert_int_equal(count(server, "<rect class=\"zero\""), 3);
  assert_int_equal(count(server, "<g class=\"finding-mark\" data-t=\"12.000\" data-frame=\"2\">"),
                   1);
  assert_non_null(strstr(server, "<title>the server&#39;s &lt;window&gt;</title>"));
  assert_int_equal(count(out, "finding-mark"), 1); /* not on the client's chart, not rst_stream */
  free(server);
  assert_non_null(strstr(out, "1 of the 2 window exhausted findings are not marked"));
  assert_non_null(
      strstr(out, "1 lines hold windows that do not read as a frame's (the first, line 7)"));
  free(out);
}

/* Large captures: at most 8 connections, the connection and 16 streams a chart (those at 0
 * first), a line of many changes thinned but its zeros kept; each said on the page. */
static void test_windows_caps(void **state) {
  (void)state;
  char dir[] = "/tmp/test_report_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *frames = NULL;
  size_t len;
  FILE *f = open_memstream(&frames, &len);
  unsigned frame = 1;
  for (int c = 1; c <= 10; c++)
    fprintf(f,
            "{\"frame\":%u,\"t\":0.001,\"leg\":0,\"conn\":%d,\"windows\":[{\"owner\":\"server\","
            "\"stream\":0,\"window\":1000,\"delta\":-10,\"cause\":\"data\"}]}\n",
            frame++, c);
  for (int s = 1; s <= 40; s++) /* stream 39 is the one of these that reaches 0 */
    fprintf(f,
            "{\"frame\":%u,\"t\":0.002,\"leg\":0,\"conn\":1,\"windows\":[{\"owner\":\"server\","
            "\"stream\":%d,\"window\":%d,\"delta\":-10,\"cause\":\"data\"}]}\n",
            frame++, 2 * s - 1, s == 39 ? 0 : 500);
  for (int i = 0; i < 5000; i++) /* stream 81: 2500 stays at 0 */
    fprintf(f,
            "{\"frame\":%u,\"t\":%.6f,\"leg\":0,\"conn\":1,\"windows\":[{\"owner\":\"server\","
            "\"stream\":81,\"window\":%d,\"delta\":%d,\"cause\":\"%s\"}]}\n",
            frame++, 0.003 + i * 1e-4, i % 2 ? 800 : 0, i % 2 ? 800 : -800,
            i % 2 ? "window_update" : "data");
  assert_int_equal(fclose(f), 0);
  char *out = windows_page(dir, frames, 0, "[]", 600);
  free(frames);
  rmdir(dir);
  assert_int_equal(count(out, "<article class=\"conn\""), 8);
  assert_non_null(strstr(out, "Showing the first 8 of 10 connections"));
  char *c1 = between(out, "<article class=\"conn\" data-leg=\"0\" data-conn=\"1\">", "</article>");
  assert_non_null(c1);
  assert_non_null(strstr(c1, "data-series=\"42\" data-shown=\"17\""));
  assert_int_equal(count(c1, "<polyline class=\"series"), 17);
  assert_non_null(strstr(c1, "Showing the connection and 16 of the 41 streams"));
  /* Those at 0 first (77, then 81), then the lowest ids (1, 3, ... 27). */
  assert_non_null(strstr(c1, "data-stream=\"77\" data-changes=\"1\""));
  assert_non_null(strstr(c1, "data-stream=\"27\" data-changes=\"1\""));
  assert_null(strstr(c1, "data-stream=\"29\""));
  char *big = between(c1, "data-stream=\"81\" data-changes=\"5000\"", "</polyline>");
  assert_non_null(big);
  size_t drawn = strtoul(strstr(big, "data-drawn=\"") + strlen("data-drawn=\""), NULL, 10);
  assert_true(drawn < 1600 && drawn > 400);
  assert_non_null(strstr(big, "data-min=\"0\""));
  assert_non_null(strstr(big, ",142.00")); /* a zero is drawn */
  free(big);
  assert_non_null(strstr(c1, "stream 81: 5000 changes, drawn through"));
  assert_int_equal(count(c1, "<rect class=\"zero\" data-owner=\"server\" data-stream=\"81\""), 50);
  assert_non_null(strstr(c1, "2450 more stretches at 0 are not drawn"));
  assert_int_equal(count(c1, "<circle class=\"pt"),
                   1 + 15); /* the connection, 15 streams: not 81 */
  free(c1);
  free(out);
}

/* Without frames.jsonl the section says why, never an error. */
static void test_windows_section_says_why(void **state) {
  (void)state;
  static const struct {
    const char *frames_capture, *why;
  } cases[] = {
      {"\"frames\": null, \"capture\": {\"requested\": false}",
       "<p class=\"none\">The scenario asks for no packet capture"},
      {"\"frames\": null, \"capture\": {\"requested\": true, \"error\": \"no <CAP_NET_RAW>\"}",
       "<p class=\"none\">No capture, so no frames to draw windows from: no &lt;CAP_NET_RAW&gt;"},
      {"\"frames\": {\"json_file\": null, \"error\": \"capture.pcap: truncated\"}",
       "<p class=\"none\">The capture was not decoded into frames: capture.pcap: truncated"},
      {"\"frames\": {\"json_file\": \"frames.jsonl\", \"start_ms\": 1}",
       "<p class=\"warn\">cannot read "},
      {"\"frames\": {\"json_file\": \"../frames.jsonl\", \"start_ms\": 1}",
       "a frames file outside the run directory"},
  };
  char dir[] = "/tmp/test_report_XXXXXX";
  assert_non_null(mkdtemp(dir));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char report[1024], err[256];
    int n = snprintf(report, sizeof report, "{" MINIMAL ", \"expectations\": [], %s}",
                     cases[i].frames_capture);
    write_file(dir, "report.json", report, (size_t)n);
    json_t *doc;
    assert_int_equal(fl_report_load(dir, &doc, err, sizeof err), 0);
    assert_int_equal(fl_report_write_html(dir, doc, err, sizeof err), 0);
    json_decref(doc);
    size_t len;
    bool cut;
    char *page = fl_html_read_file(dir, "report.html", 1 << 24, false, &len, &cut);
    assert_non_null(page);
    char *section = between(page, "<section id=\"windows\">", "</section>");
    assert_non_null(section);
    if (!strstr(section, cases[i].why)) fail_msg("case %zu: %s", i, section);
    assert_null(strstr(section, "<svg"));
    free(section);
    free(page);
  }
  char path[600];
  snprintf(path, sizeof path, "%s/report.json", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/report.html", dir);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escaping),
      cmocka_unit_test(test_check_names_the_key),
      cmocka_unit_test(test_summary_from_the_document),
      cmocka_unit_test(test_every_event_is_a_mark_or_in_a_bar),
      cmocka_unit_test(test_windows_steps_and_stretches_at_zero),
      cmocka_unit_test(test_windows_caps),
      cmocka_unit_test(test_windows_section_says_why),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
