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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escaping),
      cmocka_unit_test(test_check_names_the_key),
      cmocka_unit_test(test_summary_from_the_document),
      cmocka_unit_test(test_every_event_is_a_mark_or_in_a_bar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
