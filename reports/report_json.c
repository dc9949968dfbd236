#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "jsonw.h"
#include "report.h"

static void duration_ms(fl_jsonw *w, const char *key, int64_t ns) {
  fl_jsonw_kv_double(w, key, (double)ns / 1e6, 3);
}

static void channel_args(fl_jsonw *w, const fl_side_plan *plan) {
  fl_jsonw_key(w, "args");
  fl_jsonw_object_begin(w);
  for (size_t i = 0; i < plan->n_args; i++) {
    fl_jsonw_key(w, plan->args[i].key);
    if (plan->args[i].is_int)
      fl_jsonw_int(w, plan->args[i].int_value);
    else
      fl_jsonw_string(w, plan->args[i].value);
  }
  fl_jsonw_object_end(w);
}

static void peer(fl_jsonw *w, const fl_peer_state *st, const fl_side_plan *plan,
                 const fl_run_result *r) {
  fl_jsonw_key(w, st->name);
  fl_jsonw_object_begin(w);
  fl_jsonw_kv_int(w, "pid", st->pid);
  fl_jsonw_key(w, "exit");
  fl_jsonw_object_begin(w);
  fl_jsonw_key(w, "code");
  if (st->exited && !st->term_signal)
    fl_jsonw_int(w, st->exit_code);
  else
    fl_jsonw_null(w);
  fl_jsonw_key(w, "signal");
  if (st->term_signal)
    fl_jsonw_string(w, strsignal(st->term_signal));
  else
    fl_jsonw_null(w);
  fl_jsonw_kv_bool(w, "ended_by_runner", st->killed_by_runner);
  fl_jsonw_object_end(w);
  fl_jsonw_kv_int(w, "peak_rss_kib", st->peak_rss_kib);
  fl_jsonw_key(w, "samples");
  fl_jsonw_object_begin(w);
  fl_jsonw_kv_int(w, "count", st->samples.n);
  fl_jsonw_kv_int(w, "baseline_rss_kib", st->samples.baseline_rss_kib);
  fl_jsonw_kv_int(w, "peak_rss_kib", st->samples.peak_rss_kib);
  fl_jsonw_kv_int(w, "rss_growth_kib", st->samples.peak_rss_kib - st->samples.baseline_rss_kib);
  fl_jsonw_kv_int(w, "max_threads", st->samples.max_threads);
  fl_jsonw_kv_int(w, "max_fds", st->samples.max_fds);
  fl_jsonw_object_end(w);
  channel_args(w, plan);
  if (st->port) {
    fl_jsonw_kv_int(w, "port", st->port);
  }
  fl_jsonw_kv_bool(w, "call_started", st->started);
  fl_jsonw_kv_int(w, "sent", st->sent);
  fl_jsonw_kv_int(w, "sent_bytes", st->sent_bytes);
  fl_jsonw_kv_int(w, "recv", st->recv);
  fl_jsonw_kv_int(w, "recv_bytes", st->recv_bytes);
  fl_jsonw_kv_int(w, "decode_errors", st->decode_errors);
  fl_jsonw_kv_bool(w, "recv_end", st->recv_end);
  fl_jsonw_kv_bool(w, "half_closed", st->half_closed);
  fl_jsonw_key(w, "status");
  if (st->have_status) {
    fl_jsonw_object_begin(w);
    fl_jsonw_kv_int(w, "code", st->status_code);
    fl_jsonw_kv_string(w, "name", fl_status_name(st->status_code));
    fl_jsonw_kv_string(w, "message", st->status_message);
    duration_ms(w, "at_ms", st->status_ns);
    fl_jsonw_object_end(w);
  } else {
    fl_jsonw_null(w);
  }
  fl_jsonw_key(w, "cancelled");
  if (st->have_cancelled)
    fl_jsonw_bool(w, st->cancelled);
  else
    fl_jsonw_null(w);

  /* Scenario capabilities. Values that need the run's end (a send pending at the end) come
   * from the predicate fields, so the report and `expect:` agree. */
  fl_scope scope = !strcmp(st->name, "server") ? FL_SCOPE_SERVER : FL_SCOPE_CLIENT;
  static const char *const looked_up[] = {"send.max_pending", "send.bytes_before_stall",
                                          "cancel_latency"};
  fl_value found[3];
  for (int i = 0; i < 3; i++) {
    found[i].known = false;
    for (const fl_field_info *f = fl_predicate_fields; f->name; f++)
      if (f->per_side && !strcmp(f->name, looked_up[i]))
        fl_run_lookup((void *)r, scope, f, &found[i]);
  }
  fl_jsonw_key(w, "calls");
  fl_jsonw_object_begin(w);
  fl_jsonw_kv_int(w, "started", st->calls);
  fl_jsonw_kv_int(w, "ended", st->calls_ended);
  fl_jsonw_kv_int(w, "ok", st->calls_ok);
  fl_jsonw_object_end(w);
  fl_jsonw_key(w, "payloads");
  fl_jsonw_object_begin(w);
  fl_jsonw_kv_int(w, "largest_send_bytes", st->largest_send);
  fl_jsonw_key(w, "recv_limit_bytes");
  if (st->have_recv_limit)
    fl_jsonw_int(w, st->recv_limit);
  else
    fl_jsonw_null(w);
  fl_jsonw_kv_int(w, "nulls_sent", st->nulls_sent);
  fl_jsonw_kv_int(w, "nulls_received", st->nulls_received);
  fl_jsonw_kv_int(w, "fields_received", st->fields_received);
  fl_jsonw_kv_int(w, "invalid_utf8", st->invalid_utf8);
  fl_jsonw_kv_string(w, "last_decode_error",
                     st->last_decode_error[0] ? st->last_decode_error : NULL);
  fl_jsonw_kv_string(w, "last_sent_hash", st->last_sent_hash[0] ? st->last_sent_hash : NULL);
  fl_jsonw_kv_string(w, "last_recv_hash", st->last_recv_hash[0] ? st->last_recv_hash : NULL);
  fl_jsonw_object_end(w);
  fl_jsonw_key(w, "sends");
  fl_jsonw_object_begin(w);
  fl_jsonw_kv_int(w, "failed", st->sends_failed);
  fl_jsonw_key(w, "max_pending_ms");
  if (found[0].known)
    fl_jsonw_double(w, (double)found[0].i / 1e6, 3);
  else
    fl_jsonw_null(w);
  fl_jsonw_key(w, "bytes_before_stall");
  if (found[1].known)
    fl_jsonw_int(w, found[1].i);
  else
    fl_jsonw_null(w);
  fl_jsonw_object_end(w);
  fl_jsonw_kv_bool(w, "close_send_issued", st->close_send_issued);
  fl_jsonw_kv_bool(w, "reading_stopped", st->reading_stopped);
  fl_jsonw_key(w, "cancel_latency_ms");
  if (found[2].known)
    fl_jsonw_double(w, (double)found[2].i / 1e6, 3);
  else
    fl_jsonw_null(w);
  fl_jsonw_key(w, "shutdown");
  if (st->shutdown_started) {
    fl_jsonw_object_begin(w);
    fl_jsonw_kv_bool(w, "done", st->shutdown_done);
    fl_jsonw_kv_bool(w, "forced", st->shutdown_forced);
    fl_jsonw_key(w, "duration_ms");
    if (st->shutdown_done)
      fl_jsonw_double(w, (double)(st->shutdown_done_peer_ns - st->shutdown_start_peer_ns) / 1e6, 3);
    else
      fl_jsonw_null(w);
    fl_jsonw_object_end(w);
  } else {
    fl_jsonw_null(w);
  }
  /* Ops still pending when the run ended are evidence: a send stuck on flow control, a
   * close_send that never finished. */
  fl_jsonw_key(w, "pending_ops");
  fl_jsonw_array_begin(w);
  for (int i = 0; i < FL_MAX_OPS; i++) {
    const fl_op_state *op = &st->ops[i];
    if (!op->pending) continue;
    fl_jsonw_object_begin(w);
    fl_jsonw_kv_string(w, "op", op->op);
    duration_ms(w, "since_ms", op->since_ns);
    duration_ms(w, "pending_ms", r->elapsed_ns - op->since_ns);
    fl_jsonw_kv_int(w, "sent_bytes_before", op->sent_bytes_at_start);
    fl_jsonw_object_end(w);
  }
  fl_jsonw_array_end(w);
  fl_jsonw_kv_string(w, "error", st->error);
  fl_jsonw_object_end(w);
}

int fl_report_write_json(const char *run_dir, const fl_scenario *s, const fl_run_result *r,
                         const fl_verdict *v) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/report.json", run_dir);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fl_jsonw w;
  fl_jsonw_init(&w, f, true);
  fl_jsonw_object_begin(&w);
  fl_jsonw_kv_string(&w, "faultline_version", FL_VERSION);

  fl_jsonw_key(&w, "scenario");
  fl_jsonw_object_begin(&w);
  fl_jsonw_kv_string(&w, "name", s->name);
  fl_jsonw_kv_string(&w, "summary", s->summary);
  fl_jsonw_kv_string(&w, "file", s->path);
  fl_jsonw_kv_string(&w, "rpc", fl_rpc_name(s->rpc));
  fl_jsonw_key(&w, "deadline_ms");
  if (s->deadline_ns)
    fl_jsonw_double(&w, (double)s->deadline_ns / 1e6, 3);
  else
    fl_jsonw_null(&w);
  duration_ms(&w, "timeout_ms", s->timeout_ns);
  duration_ms(&w, "hang_after_ms", s->hang_after_ns);
  fl_jsonw_object_end(&w);

  fl_jsonw_kv_string(&w, "verdict", fl_verdict_name(v->kind));
  fl_jsonw_kv_string(&w, "error", v->kind == FL_VERDICT_ERROR ? v->why : NULL);
  fl_jsonw_kv_string(&w, "outcome", fl_outcome_name(r->outcome));
  fl_jsonw_kv_string(&w, "started_at", r->started_at);
  duration_ms(&w, "elapsed_ms", r->elapsed_ns);

  fl_jsonw_key(&w, "expectations");
  fl_jsonw_array_begin(&w);
  for (size_t i = 0; i < v->n_clauses; i++) {
    fl_jsonw_object_begin(&w);
    fl_jsonw_kv_string(&w, "clause", v->clauses[i].expect->text);
    fl_jsonw_kv_int(&w, "line", v->clauses[i].expect->line);
    fl_jsonw_kv_bool(&w, "held", v->clauses[i].held);
    fl_jsonw_kv_string(&w, "seen", v->clauses[i].seen);
    fl_jsonw_object_end(&w);
  }
  fl_jsonw_array_end(&w);

  fl_jsonw_key(&w, "peers");
  fl_jsonw_object_begin(&w);
  peer(&w, &r->server, &s->server, r);
  peer(&w, &r->client, &s->client, r);
  fl_jsonw_object_end(&w);

  fl_jsonw_key(&w, "capture");
  fl_jsonw_object_begin(&w);
  fl_jsonw_kv_bool(&w, "requested", r->capture.requested);
  fl_jsonw_kv_string(&w, "file", r->capture.running ? "capture.pcap" : NULL);
  fl_jsonw_kv_string(&w, "filter", r->capture.running ? r->capture.filter : NULL);
  fl_jsonw_kv_string(&w, "error", r->capture.error[0] ? r->capture.error : NULL);
  if (r->capture.running) {
    fl_jsonw_kv_int(&w, "packets", (int64_t)r->capture.stats.packets_written);
    fl_jsonw_kv_int(&w, "received", (int64_t)r->capture.stats.received);
    fl_jsonw_kv_int(&w, "dropped", (int64_t)r->capture.stats.dropped);
    fl_jsonw_kv_int(&w, "if_dropped", (int64_t)r->capture.stats.if_dropped);
    fl_jsonw_kv_string(&w, "ended_early",
                       r->capture.stats.error[0] ? r->capture.stats.error : NULL);
  }
  fl_jsonw_object_end(&w);

  fl_jsonw_key(&w, "thread_dumps");
  fl_jsonw_array_begin(&w);
  for (int i = 0; i < r->n_dumps; i++) {
    const fl_dump_record *d = &r->dumps[i];
    fl_jsonw_object_begin(&w);
    fl_jsonw_kv_string(&w, "side", d->side);
    fl_jsonw_kv_string(&w, "file", d->file);
    fl_jsonw_kv_string(&w, "why", d->why);
    duration_ms(&w, "at_ms", d->at_ns);
    fl_jsonw_kv_int(&w, "threads", d->threads);
    fl_jsonw_kv_double(&w, "dump_ms", d->elapsed_ms, 3);
    fl_jsonw_kv_string(&w, "error", d->error[0] ? d->error : NULL);
    fl_jsonw_object_end(&w);
  }
  fl_jsonw_array_end(&w);

  fl_jsonw_key(&w, "runner");
  fl_jsonw_object_begin(&w);
  fl_jsonw_kv_int(&w, "peak_rss_kib", r->runner_peak_rss_kib);
  fl_jsonw_kv_int(&w, "events", r->n_events);
  fl_jsonw_object_end(&w);

  fl_jsonw_key(&w, "files");
  fl_jsonw_object_begin(&w);
  const char *files[][2] = {{"scenario", "scenario.yaml"},
                            {"timeline", "events.jsonl"},
                            {"samples", "samples.csv"},
                            {"server_stderr", "server.stderr"},
                            {"client_stderr", "client.stderr"}};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    fl_jsonw_kv_string(&w, files[i][0], files[i][1]);
  }
  fl_jsonw_object_end(&w);

  fl_jsonw_object_end(&w);
  int rc = ferror(f) ? -1 : 0;
  if (fclose(f) != 0) rc = -1;
  return rc;
}

void fl_report_print_summary(FILE *out, const char *run_dir, const fl_scenario *s,
                             const fl_run_result *r, const fl_verdict *v, bool color) {
  const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "",
             *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
  const char *vc = v->kind == FL_VERDICT_REPRODUCED ? green : red;
  fprintf(out, "%s%s%s: %s%s%s (outcome %s, %.2fs)\n", bold, s->name, reset, vc,
          fl_verdict_name(v->kind), reset, fl_outcome_name(r->outcome),
          (double)r->elapsed_ns / 1e9);
  if (v->kind == FL_VERDICT_ERROR) fprintf(out, "  error: %s\n", v->why);
  for (size_t i = 0; i < v->n_clauses; i++) {
    const fl_clause_result *c = &v->clauses[i];
    fprintf(out, "  %s%-4s%s %-44s seen %s\n", c->held ? green : red, c->held ? "ok" : "FAIL",
            reset, c->expect->text, c->seen);
  }
  const fl_peer_state *sides[2] = {&r->server, &r->client};
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < FL_MAX_OPS; k++)
      if (sides[i]->ops[k].pending)
        fprintf(out, "  pending at end: %s %s for %.0fms\n", sides[i]->name, sides[i]->ops[k].op,
                (double)(r->elapsed_ns - sides[i]->ops[k].since_ns) / 1e6);
  if (r->capture.running)
    fprintf(out, "  capture: capture.pcap, %llu packets, %llu dropped\n",
            (unsigned long long)r->capture.stats.packets_written,
            (unsigned long long)r->capture.stats.dropped);
  else if (r->capture.error[0])
    fprintf(out, "  capture: none: %s\n", r->capture.error);
  for (int i = 0; i < r->n_dumps; i++)
    fprintf(out, "  thread dump: %s (%s, %d threads)%s%s\n", r->dumps[i].file, r->dumps[i].why,
            r->dumps[i].threads, r->dumps[i].error[0] ? ": " : "", r->dumps[i].error);
  fprintf(out, "  run directory: %s\n", run_dir);
}
