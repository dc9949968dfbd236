#include <stdio.h>
#include <string.h>

#include "report.h"

size_t fl_report_waiting_barriers(const fl_scenario *s, fl_observe *obs, fl_waiting_barrier *out,
                                  size_t max) {
  size_t n = 0;
  for (int i = 0; i < FL_N_SIDES; i++) {
    const fl_side_obs *st = fl_observe_side(obs, (fl_side)i);
    const fl_side_plan *plan = i == FL_SIDE_SERVER ? &s->server : &s->client;
    for (uint32_t c = 0; c < st->n_calls; c++) {
      int idx = st->calls[c].waiting_barrier;
      if (idx < 0 || (size_t)idx >= plan->n_steps || plan->steps[idx].kind != FL_STEP_WAIT)
        continue;
      size_t k = 0;
      while (k < n && !(out[k].side == (fl_side)i && out[k].step == idx)) k++;
      if (k < n) {
        out[k].calls++;
        continue;
      }
      if (n == max) return n;
      const fl_step *step = &plan->steps[idx];
      fl_value seen;
      fl_predicate_eval(step->predicate, fl_observe_lookup, obs, &seen);
      out[n] = (fl_waiting_barrier){.side = (fl_side)i,
                                    .step = idx,
                                    .line = step->line,
                                    .expr = step->text,
                                    .field = fl_predicate_field_text(step->predicate),
                                    .calls = 1};
      fl_value_format(&seen, out[n].seen, sizeof out[n].seen);
      n++;
    }
  }
  return n;
}

/* obj[key] as text with its control bytes as \xNN (and \t \n \r as such), cut to the buffer;
 * "" when absent or not a string. */
static const char *text(const json_t *obj, const char *key, char *buf, size_t len) {
  const json_t *v = json_object_get(obj, key);
  const char *s = json_string_value(v);
  size_t n = json_string_length(v), k = 0;
  buf[0] = '\0';
  for (size_t i = 0; s && i < n && k + 5 < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != 0x7f) {
      buf[k++] = (char)c;
      continue;
    }
    const char *named = c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
    k += (size_t)(named ? snprintf(buf + k, len - k, "%s", named)
                        : snprintf(buf + k, len - k, "\\x%02x", c));
  }
  buf[k] = '\0';
  return buf;
}

static double num(const json_t *obj, const char *key) {
  return json_number_value(json_object_get(obj, key));
}

void fl_report_print_summary(FILE *out, const json_t *doc, const char *run_dir, bool color) {
  const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "",
             *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
  char a[2048], b[2048], c[512];
  const char *verdict = json_string_value(json_object_get(doc, "verdict"));
  const json_t *capture = json_object_get(doc, "capture");
  /* Evidence that lost packets is said on the verdict's own line, so no reader misses it. */
  char lost[96] = "";
  if (json_is_string(json_object_get(capture, "file")) && num(capture, "dropped") > 0)
    snprintf(lost, sizeof lost, " %s\xE2\x80\x94 capture dropped %.0f of %.0f packets%s", red,
             num(capture, "dropped"), num(capture, "received"), reset);
  fprintf(out, "%s%s%s: %s%s%s (outcome %s, %.2fs)%s\n", bold,
          text(json_object_get(doc, "scenario"), "name", a, sizeof a), reset,
          verdict && !strcmp(verdict, "reproduced") ? green : red,
          text(doc, "verdict", b, sizeof b), reset, text(doc, "outcome", c, sizeof c),
          num(doc, "elapsed_ms") / 1e3, lost);
  if (json_is_string(json_object_get(doc, "error")))
    fprintf(out, "  error: %s\n", text(doc, "error", a, sizeof a));

  size_t i;
  const json_t *e;
  json_array_foreach(json_object_get(doc, "expectations"), i, e) {
    bool held = json_is_true(json_object_get(e, "held"));
    fprintf(out, "  %s%-4s%s %-44s seen %s\n", held ? green : red, held ? "ok" : "FAIL", reset,
            text(e, "clause", a, sizeof a), text(e, "seen", b, sizeof b));
  }

  json_array_foreach(json_object_get(doc, "waiting_barriers"), i, e) {
    int calls = (int)num(e, "calls");
    char n_calls[32] = "";
    if (calls > 1) snprintf(n_calls, sizeof n_calls, " (%d calls)", calls);
    char side[32], seen[256];
    fprintf(out, "  waiting at end: %s at `wait: %s` (line %d)%s; %s is %s\n",
            text(e, "side", side, sizeof side), text(e, "predicate", a, sizeof a),
            (int)num(e, "line"), n_calls, text(e, "field", b, sizeof b),
            text(e, "seen", seen, sizeof seen));
  }

  /* Pending ops, server first as the JSON lists them; "(call N)" only when a side ran
   * several calls. */
  const json_t *peers = json_object_get(doc, "peers");
  static const char *const sides[] = {"server", "client"};
  enum { SHOWN_PENDING = 10 }; /* a side's first ones: with 100,000 calls they are legion */
  for (size_t s = 0; s < sizeof sides / sizeof sides[0]; s++) {
    const json_t *p = json_object_get(peers, sides[s]);
    bool several = json_array_size(json_object_get(p, "calls")) > 1;
    const json_t *pending = json_object_get(p, "pending_ops");
    json_array_foreach(pending, i, e) {
      if (i == SHOWN_PENDING) {
        fprintf(out, "  ... %zu more %s ops pending at end in report.json\n",
                json_array_size(pending) - i, sides[s]);
        break;
      }
      char call[32] = "";
      if (several) snprintf(call, sizeof call, " (call %d)", (int)num(e, "call"));
      fprintf(out, "  pending at end: %s %s%s for %.0fms\n", sides[s], text(e, "op", a, sizeof a),
              call, num(e, "pending_ms"));
    }
  }

  const json_t *busy = json_object_get(doc, "busy");
  if (json_is_object(busy))
    fprintf(out,
            "  busy: %s thread %d \"%s\" used %.2fs of CPU from %.2fs to %.2fs without an "
            "event (not counted as a hang)\n",
            text(busy, "side", c, sizeof c), (int)num(busy, "tid"),
            text(busy, "thread", a, sizeof a), num(busy, "cpu_ms") / 1e3,
            num(busy, "since_ms") / 1e3, num(busy, "at_ms") / 1e3);

  const json_t *nofile = json_object_get(json_object_get(doc, "runner"), "nofile");
  if (json_is_object(nofile) && num(nofile, "to") >= num(nofile, "need"))
    fprintf(
        out,
        "  open files: RLIMIT_NOFILE of the peers raised from %.0f to %.0f for %.0f connections\n",
        num(nofile, "from"), num(nofile, "to"), num(nofile, "connections"));
  else if (json_is_object(nofile))
    fprintf(out,
            "  open files: %.0f connections need %.0f open files, but the hard limit let the "
            "peers have %.0f (from %.0f): raise it (ulimit -Hn) or run as root\n",
            num(nofile, "connections"), num(nofile, "need"), num(nofile, "to"),
            num(nofile, "from"));

  if (json_is_string(json_object_get(capture, "file")))
    fprintf(out, "  capture: %s, %.0f packets, %.0f dropped\n", text(capture, "file", a, sizeof a),
            num(capture, "packets"), num(capture, "dropped"));
  else if (json_is_string(json_object_get(capture, "error")))
    fprintf(out, "  capture: none: %s\n", text(capture, "error", a, sizeof a));

  /* The frames read back from the capture, and what they show: the first few findings here,
   * all of them in frames.txt and report.json. */
  const json_t *frames = json_object_get(doc, "frames");
  if (json_is_string(json_object_get(frames, "file")))
    fprintf(out, "  frames: %s, %.0f frames\n", text(frames, "file", a, sizeof a),
            num(frames, "frames"));
  else if (json_is_string(json_object_get(frames, "error")))
    fprintf(out, "  frames: none: %s\n", text(frames, "error", a, sizeof a));
  const json_t *findings = json_object_get(doc, "findings");
  enum { SHOWN_FINDINGS = 6 };
  json_array_foreach(findings, i, e) {
    if (i == SHOWN_FINDINGS) {
      fprintf(out, "  ... %zu more findings in frames.txt\n", json_array_size(findings) - i);
      break;
    }
    char finding[1024];
    fprintf(out, "  finding: %s\n", text(e, "text", finding, sizeof finding));
  }

  json_array_foreach(json_object_get(doc, "thread_dumps"), i, e) {
    const json_t *error = json_object_get(e, "error");
    char err[1024];
    fprintf(out, "  thread dump: %s (%s, %d threads)%s%s\n", text(e, "file", a, sizeof a),
            text(e, "why", b, sizeof b), (int)num(e, "threads"), json_is_string(error) ? ": " : "",
            text(e, "error", err, sizeof err));
  }
  fprintf(out, "  run directory: %s\n", run_dir);
}
