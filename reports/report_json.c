#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "h2.h"
#include "jsonout.h"
#include "report.h"

/* A field's value as JSON: counts, sizes (bytes) and durations (ns) as integers, booleans,
 * status, outcome and HTTP/2 code names as strings; unknown as null. */
static int set_field(json_t *obj, const char *key, const fl_value *v) {
  if (!v->known) return fl_json_set(obj, key, json_null());
  switch (v->type) {
  case FL_VAL_INT:
  case FL_VAL_DURATION:
  case FL_VAL_SIZE: return fl_json_set(obj, key, json_integer(v->i));
  case FL_VAL_BOOL: return fl_json_set(obj, key, json_boolean(v->i));
  case FL_VAL_STATUS: return fl_json_set(obj, key, json_string(fl_status_name((int)v->i)));
  case FL_VAL_OUTCOME: return fl_json_set(obj, key, json_string(fl_outcome_name((fl_outcome)v->i)));
  case FL_VAL_H2CODE: {
    char buf[32];
    return fl_json_set(obj, key, json_string(fl_value_format(v, buf, sizeof buf)));
  }
  case FL_VAL_STRING: return fl_json_set_bytes(obj, key, v->s, SIZE_MAX);
  }
  return -1;
}

/* Every field of the table, under the name `expect:` uses: "server.sent", "wire.client.data",
 * "outcome". A new field in fields.h appears here without a change. */
static json_t *all_fields(const fl_observe *obs) {
  json_t *o = json_object();
  int rc = o ? 0 : -1;
  for (int i = 0; rc == 0 && i < FL_N_FIELDS; i++) {
    const fl_field_info *f = &fl_fields[i];
    fl_scope scopes[2] = {FL_SCOPE_SERVER, FL_SCOPE_CLIENT};
    int n = f->cls == FL_CLASS_RUN ? 1 : 2;
    if (f->cls == FL_CLASS_RUN) scopes[0] = FL_SCOPE_GLOBAL;
    for (int k = 0; rc == 0 && k < n; k++) {
      char name[96];
      fl_field_full_name(f, scopes[k], name, sizeof name);
      fl_value v = fl_observe_get(obs, f->id, scopes[k]);
      rc = set_field(o, name, &v);
    }
  }
  if (rc < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *channel_args(const fl_side_plan *plan) {
  json_t *o = json_object();
  for (size_t i = 0; o && i < plan->n_args; i++) {
    const fl_channel_arg *a = &plan->args[i];
    if ((a->is_int ? fl_json_set(o, a->key, json_integer(a->int_value))
                   : fl_json_set_bytes(o, a->key, a->value, SIZE_MAX)) < 0) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

/* A new object attached to parent[key], or appended to an array (the parent owns it); NULL if
 * out of memory. Attaching first means a failure only ever frees the top object. */
static json_t *child(json_t *parent, const char *key) {
  json_t *o = json_object();
  return o && fl_json_set(parent, key, o) == 0 ? o : NULL;
}

static json_t *item(json_t *array) {
  json_t *o = json_object();
  return o && json_array_append_new(array, o) == 0 ? o : NULL;
}

/* Ops still pending at the end are evidence: a send stuck on flow control, a close_send that
 * never finished. Each with its call and the script step (file line) that issued it. */
static json_t *pending_ops(const fl_observe *obs, const fl_side_obs *st, const fl_side_plan *plan) {
  json_t *a = json_array();
  int64_t end = fl_observe_elapsed(obs);
  for (uint32_t c = 0; a && c < st->n_calls; c++) {
    for (int k = 0; k < FL_N_OPS; k++) {
      const fl_op_obs *op = &st->calls[c].ops[k];
      if (!op->pending) continue;
      json_t *o = item(a);
      bool step = op->step >= 0 && (size_t)op->step < plan->n_steps;
      if (!o || fl_json_set(o, "call", json_integer(c + 1)) < 0 ||
          fl_json_set(o, "op", json_string(fl_op_name((fl_op_kind)k))) < 0 ||
          fl_json_set(o, "step", step ? json_integer(op->step) : json_null()) < 0 ||
          fl_json_set(o, "line", step ? json_integer(plan->steps[op->step].line) : json_null()) <
              0 ||
          fl_json_set(o, "since_ms", fl_json_ms(op->since_ns)) < 0 ||
          fl_json_set(o, "pending_ms", fl_json_ms(end - op->since_ns)) < 0 ||
          fl_json_set(o, "sent_bytes_before", json_integer(op->sent_bytes_at_start)) < 0)
        goto fail;
    }
  }
  return a;
fail:
  json_decref(a);
  return NULL;
}

/* Each call: when it started and ended (ms since the run began), how (a failed call's status
 * message), whether its headers came and, on the client, its channel. */
static json_t *calls(const fl_side_obs *st, bool client) {
  json_t *a = json_array();
  for (uint32_t c = 0; a && c < st->n_calls; c++) {
    const fl_call_obs *call = &st->calls[c];
    json_t *o = item(a);
    if (!o || fl_json_set(o, "call", json_integer(c + 1)) < 0 ||
        fl_json_set(o, "started_ms", call->started ? fl_json_ms(call->start_ns) : json_null()) <
            0 ||
        fl_json_set(o, "ended_ms", call->ended ? fl_json_ms(call->end_ns) : json_null()) < 0 ||
        fl_json_set(o, "status",
                    call->have_status ? json_string(fl_status_name(call->status)) : json_null()) <
            0 ||
        fl_json_set(o, "cancelled", json_boolean(call->cancelled)) < 0 ||
        fl_json_set_bytes(o, "message", call->message, SIZE_MAX) < 0 ||
        fl_json_set(o, "headers", json_boolean(call->headers)) < 0 ||
        fl_json_set(o, "channel",
                    client && call->started ? json_integer(call->channel) : json_null()) < 0)
      goto fail;
  }
  return a;
fail:
  json_decref(a);
  return NULL;
}

/* A side's clock fault: which clocks libfaketime fakes, the offset it starts with, its jumps;
 * null for a side on the machine's own clock. */
static json_t *clock_plan(const fl_clock_plan *c) {
  if (!c->present) return json_null();
  json_t *o = json_object();
  if (!o || fl_json_set(o, "faked_by", json_string("libfaketime")) < 0 ||
      fl_json_set(o, "fake", json_string(fl_clock_fake_name(c->fake))) < 0 ||
      fl_json_set(o, "offset_ms", fl_json_ms(c->offset_ns)) < 0 ||
      fl_json_set(o, "jumps", json_integer((json_int_t)c->n_jumps)) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* An external side (plan/external.h): what the scenario ran or reached; null for the built-in
 * peer. Its fields come from the wire (observe.h, EXTERNAL SIDES). */
static json_t *external(const fl_external_plan *e) {
  if (!e->present) return json_null();
  json_t *o = json_object(), *argv = e->argv ? json_array() : json_null();
  if (!o || fl_json_set(o, "exec", argv) < 0 ||
      fl_json_set_bytes(o, "target", e->target, SIZE_MAX) < 0 ||
      fl_json_set_bytes(o, "ready_log", e->ready_log, SIZE_MAX) < 0 ||
      fl_json_set_bytes(o, "cwd", e->cwd, SIZE_MAX) < 0)
    goto fail;
  for (size_t i = 0; i < e->argc; i++)
    if (json_array_append_new(argv, json_stringn(e->argv[i], strlen(e->argv[i]))) < 0) goto fail;
  return o;
fail:
  json_decref(o);
  return NULL;
}

static json_t *peer(const fl_run_result *r, fl_side side, const fl_side_plan *plan) {
  const fl_side_obs *st = fl_observe_side(r->obs, side);
  const fl_process_obs *p = &st->proc;
  json_t *o = json_object();
  if (!o || fl_json_set(o, "pid", p->spawned ? json_integer(p->pid) : json_null()) < 0) goto fail;
  json_t *exit = child(o, "exit");
  char sig[32] = "";
  if (p->term_signal) snprintf(sig, sizeof sig, "SIG%s", sigabbrev_np(p->term_signal));
  if (!exit ||
      fl_json_set(exit, "code",
                  p->exited && !p->term_signal ? json_integer(p->exit_code) : json_null()) < 0 ||
      fl_json_set(exit, "signal", p->term_signal ? json_string(sig) : json_null()) < 0 ||
      fl_json_set(exit, "ended_by_runner", json_boolean(p->ended_by_runner)) < 0 ||
      fl_json_set(o, "peak_rss_kib", json_integer(p->peak_rss_kib)) < 0)
    goto fail;
  json_t *samples = child(o, "samples");
  if (!samples || fl_json_set(samples, "count", json_integer(st->samples.n)) < 0 ||
      fl_json_set(samples, "baseline_rss_kib", json_integer(st->samples.baseline_rss_kib)) < 0 ||
      fl_json_set(samples, "peak_rss_kib", json_integer(st->samples.peak_rss_kib)) < 0 ||
      fl_json_set(samples, "max_threads", json_integer(st->samples.max_threads)) < 0 ||
      fl_json_set(samples, "max_fds", json_integer(st->samples.max_fds)) < 0 ||
      fl_json_set(o, "args", channel_args(plan)) < 0 ||
      fl_json_set(o, "port", st->port ? json_integer(st->port) : json_null()) < 0 ||
      fl_json_set(o, "clock", clock_plan(&plan->clock)) < 0 ||
      fl_json_set(o, "calls", calls(st, side == FL_SIDE_CLIENT)) < 0)
    goto fail;
  if (!st->have_status) {
    if (fl_json_set(o, "status", json_null()) < 0) goto fail;
  } else {
    json_t *status = child(o, "status");
    if (!status || fl_json_set(status, "code", json_integer(st->status_code)) < 0 ||
        fl_json_set(status, "name", json_string(fl_status_name(st->status_code))) < 0 ||
        fl_json_set_bytes(status, "message", st->status_message.s, st->status_message.len) < 0 ||
        fl_json_set(status, "at_ms", fl_json_ms(st->status_ns)) < 0)
      goto fail;
  }
  if (fl_json_set(o, "pending_ops", pending_ops(r->obs, st, plan)) < 0 ||
      fl_json_set_bytes(o, "error", st->error.s, st->error.len) < 0 ||
      fl_json_set(o, "external", external(&plan->external)) < 0)
    goto fail;
  return o;
fail:
  json_decref(o);
  return NULL;
}

static json_t *scenario(const fl_scenario *s) {
  json_t *o = json_object();
  if (!o || fl_json_set(o, "name", json_string(s->name)) < 0 ||
      fl_json_set_bytes(o, "summary", s->summary, SIZE_MAX) < 0 ||
      fl_json_set_bytes(o, "file", s->path, SIZE_MAX) < 0 ||
      fl_json_set(o, "rpc", json_string(fl_rpc_name(s->rpc))) < 0 ||
      fl_json_set(o, "deadline_ms", s->deadline_ns ? fl_json_ms(s->deadline_ns) : json_null()) <
          0 ||
      fl_json_set(o, "timeout_ms", fl_json_ms(s->timeout_ns)) < 0 ||
      fl_json_set(o, "hang_after_ms", fl_json_ms(s->hang_after_ns)) < 0 ||
      fl_json_set(o, "streams", json_integer(s->streams ? s->streams : 1)) < 0 ||
      fl_json_set_bytes(o, "method", fl_scenario_method(s), SIZE_MAX) < 0)
    goto fail;
  /* calls: as the plan has it (calls.h), also for a scenario that wrote streams: */
  json_t *calls = child(o, "calls");
  const fl_calls_plan *cp = &s->calls;
  if (!calls || fl_json_set(calls, "count", json_integer(cp->count)) < 0 ||
      fl_json_set(calls, "concurrency", json_integer(cp->concurrency)) < 0 ||
      fl_json_set(calls, "every_ms", cp->every_ns ? fl_json_ms(cp->every_ns) : json_null()) < 0 ||
      fl_json_set(calls, "channels",
                  cp->per_call ? json_string("per_call") : json_integer(cp->channels)) < 0)
    goto fail;
  return o;
fail:
  json_decref(o);
  return NULL;
}

static json_t *expectations(const fl_verdict *v) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < v->n_clauses; i++) {
    json_t *o = item(a);
    if (!o || fl_json_set_bytes(o, "clause", v->clauses[i].expect->text, SIZE_MAX) < 0 ||
        fl_json_set(o, "field",
                    json_string(fl_predicate_field_text(v->clauses[i].expect->predicate))) < 0 ||
        fl_json_set(o, "line", json_integer(v->clauses[i].expect->line)) < 0 ||
        fl_json_set(o, "held", json_boolean(v->clauses[i].held)) < 0 ||
        fl_json_set_bytes(o, "seen", v->clauses[i].seen, SIZE_MAX) < 0)
      goto fail;
  }
  return a;
fail:
  json_decref(a);
  return NULL;
}

static json_t *capture(const fl_capture_record *c) {
  json_t *o = json_object();
  if (!o || fl_json_set(o, "requested", json_boolean(c->requested)) < 0 ||
      fl_json_set(o, "file", c->running ? json_string("capture.pcap") : json_null()) < 0 ||
      fl_json_set(o, "filter", c->running ? json_string(c->filter) : json_null()) < 0 ||
      fl_json_set_bytes(o, "error", c->error[0] ? c->error : NULL, SIZE_MAX) < 0)
    goto fail;
  if (c->running &&
      (fl_json_set(o, "packets", json_integer((json_int_t)c->stats.packets_written)) < 0 ||
       fl_json_set(o, "received", json_integer((json_int_t)c->stats.received)) < 0 ||
       fl_json_set(o, "dropped", json_integer((json_int_t)c->stats.dropped)) < 0 ||
       fl_json_set(o, "if_dropped", json_integer((json_int_t)c->stats.if_dropped)) < 0 ||
       fl_json_set_bytes(o, "ended_early", c->stats.error[0] ? c->stats.error : NULL, SIZE_MAX) <
           0))
    goto fail;
  return o;
fail:
  json_decref(o);
  return NULL;
}

/* The path proxy: where the client dialled it, and how it ended. */
static json_t *proxy(const fl_proxy_record *p) {
  if (!p->used) return json_null();
  json_t *o = json_object();
  char sig[32] = "";
  if (p->term_signal) snprintf(sig, sizeof sig, "SIG%s", sigabbrev_np(p->term_signal));
  if (!o || fl_json_set(o, "pid", json_integer(p->pid)) < 0 ||
      fl_json_set(o, "port", p->port ? json_integer(p->port) : json_null()) < 0 ||
      fl_json_set(o, "exit_code",
                  p->exited && !p->term_signal ? json_integer(p->exit_code) : json_null()) < 0 ||
      fl_json_set(o, "signal", p->term_signal ? json_string(sig) : json_null()) < 0 ||
      fl_json_set(o, "stderr", json_string("proxy.stderr")) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* The open-file limit the runner raised for the peers (runner.h), or null. */
static json_t *nofile(const fl_nofile_record *n) {
  if (!n->raised) return json_null();
  json_t *o = json_object();
  if (o && (fl_json_set(o, "connections", json_integer(n->connections)) < 0 ||
            fl_json_set(o, "need", json_integer(n->need)) < 0 ||
            fl_json_set(o, "from", json_integer(n->from)) < 0 ||
            fl_json_set(o, "to", json_integer(n->to)) < 0)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* The capture read back as frames: frames.txt and frames.jsonl, or why there are none. */
static json_t *frames(const fl_run_result *r) {
  if (!r->capture.running) return json_null();
  json_t *o = json_object();
  bool ok = r->wire && !r->capture.frames_error[0];
  int64_t start = 0;
  bool have_start = ok && fl_wire_evidence_start(r->wire, &start);
  if (!o || fl_json_set(o, "file", ok ? json_string("frames.txt") : json_null()) < 0 ||
      fl_json_set(o, "json_file", ok ? json_string("frames.jsonl") : json_null()) < 0 ||
      fl_json_set(o, "frames",
                  ok ? json_integer((json_int_t)fl_wire_evidence_frames(r->wire)) : json_null()) <
          0 ||
      fl_json_set(o, "start_ms", have_start ? fl_json_ms(start) : json_null()) < 0 ||
      fl_json_set_bytes(o, "error", r->capture.frames_error[0] ? r->capture.frames_error : NULL,
                        SIZE_MAX) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* What the frames show, in plain words (reports/wire/findings.h); [] when the capture was
 * decoded and showed nothing, null when there was no capture to decode. */
static json_t *findings(const fl_run_result *r) {
  if (!r->wire || r->capture.frames_error[0]) return json_null();
  size_t n;
  const fl_finding_record *f = fl_wire_evidence_findings(r->wire, &n);
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) {
    json_t *o = item(a);
    if (!o || fl_json_set(o, "kind", json_string(f[i].kind)) < 0 ||
        fl_json_set_bytes(o, "text", f[i].text, SIZE_MAX) < 0 ||
        fl_json_set(o, "at_ms", fl_json_ms(f[i].at_ns)) < 0 ||
        fl_json_set(o, "frame", f[i].frame ? json_integer((json_int_t)f[i].frame) : json_null()) <
            0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static json_t *dumps(const fl_run_result *r) {
  json_t *a = json_array();
  for (int i = 0; a && i < r->n_dumps; i++) {
    const fl_dump_record *d = &r->dumps[i];
    json_t *o = item(a);
    if (!o || fl_json_set(o, "side", json_string(fl_side_name(d->side))) < 0 ||
        fl_json_set(o, "file", json_string(d->file)) < 0 ||
        fl_json_set(o, "go_file", d->go_file[0] ? json_string(d->go_file) : json_null()) < 0 ||
        fl_json_set(o, "pprof_file", d->pprof_file[0] ? json_string(d->pprof_file) : json_null()) <
            0 ||
        fl_json_set_bytes(o, "why", d->why, SIZE_MAX) < 0 ||
        fl_json_set(o, "at_ms", fl_json_ms(d->at_ns)) < 0 ||
        fl_json_set(o, "threads", json_integer(d->threads)) < 0 ||
        fl_json_set(o, "dump_ms", json_real(d->elapsed_ms)) < 0 ||
        fl_json_set_bytes(o, "error", d->error[0] ? d->error : NULL, SIZE_MAX) < 0)
      goto fail;
  }
  return a;
fail:
  json_decref(a);
  return NULL;
}

/* The barriers still waited at when the run ended: with pending_ops, what a hang is made of. */
static json_t *waiting(const fl_scenario *s, const fl_run_result *r) {
  fl_waiting_barrier b[16];
  size_t n = fl_report_waiting_barriers(s, r->obs, b, 16);
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) {
    json_t *o = item(a);
    if (!o || fl_json_set(o, "side", json_string(fl_side_name(b[i].side))) < 0 ||
        fl_json_set(o, "step", json_integer(b[i].step)) < 0 ||
        fl_json_set(o, "line", json_integer(b[i].line)) < 0 ||
        fl_json_set_bytes(o, "predicate", b[i].expr, SIZE_MAX) < 0 ||
        fl_json_set(o, "field", json_string(b[i].field)) < 0 ||
        fl_json_set_bytes(o, "seen", b[i].seen, SIZE_MAX) < 0 ||
        fl_json_set(o, "calls", json_integer(b[i].calls)) < 0)
      goto fail;
  }
  return a;
fail:
  json_decref(a);
  return NULL;
}

static json_t *busy(const fl_busy_record *b) {
  if (!b->seen) return json_null();
  json_t *o = json_object();
  if (!o || fl_json_set(o, "side", json_string(fl_side_name(b->side))) < 0 ||
      fl_json_set(o, "tid", json_integer(b->tid)) < 0 ||
      fl_json_set_bytes(o, "thread", b->thread, SIZE_MAX) < 0 ||
      fl_json_set(o, "cpu_ms", fl_json_ms(b->cpu_ns)) < 0 ||
      fl_json_set(o, "since_ms", fl_json_ms(b->since_ns)) < 0 ||
      fl_json_set(o, "at_ms", fl_json_ms(b->at_ns)) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *report(const fl_scenario *s, const fl_run_result *r, const fl_verdict *v) {
  json_t *o = json_object();
  if (!o || fl_json_set(o, "faultline_version", json_string(FL_VERSION)) < 0 ||
      fl_json_set(o, "scenario", scenario(s)) < 0 ||
      fl_json_set(o, "verdict", json_string(fl_verdict_name(v->kind))) < 0 ||
      fl_json_set_bytes(o, "error", v->kind == FL_VERDICT_ERROR ? v->why : NULL, SIZE_MAX) < 0 ||
      fl_json_set(o, "outcome", json_string(fl_outcome_name(fl_observe_outcome(r->obs)))) < 0 ||
      fl_json_set(o, "started_at", json_string(r->started_at)) < 0 ||
      fl_json_set(o, "elapsed_ms", fl_json_ms(fl_observe_elapsed(r->obs))) < 0 ||
      fl_json_set(o, "expectations", expectations(v)) < 0 ||
      fl_json_set(o, "fields", all_fields(r->obs)) < 0 ||
      fl_json_set(o, "waiting_barriers", waiting(s, r)) < 0 ||
      fl_json_set(o, "busy", busy(&r->busy)) < 0)
    goto fail;
  json_t *peers = child(o, "peers");
  if (!peers || fl_json_set(peers, "server", peer(r, FL_SIDE_SERVER, &s->server)) < 0 ||
      fl_json_set(peers, "client", peer(r, FL_SIDE_CLIENT, &s->client)) < 0)
    goto fail;
  json_t *timeline = child(o, "timeline");
  if (!timeline || fl_json_set(timeline, "file", json_string("events.jsonl")) < 0 ||
      fl_json_set(timeline, "events", json_integer(r->n_events)) < 0 ||
      fl_json_set(timeline, "order",
                  json_string(r->timeline_by_arrival ? "arrival" : "peer clocks")) < 0 ||
      fl_json_set(o, "proxy", proxy(&r->proxy)) < 0 ||
      fl_json_set(o, "capture", capture(&r->capture)) < 0 ||
      fl_json_set(o, "frames", frames(r)) < 0 || fl_json_set(o, "findings", findings(r)) < 0 ||
      fl_json_set(o, "thread_dumps", dumps(r)) < 0)
    goto fail;
  json_t *runner = child(o, "runner");
  if (!runner || fl_json_set(runner, "peak_rss_kib", json_integer(r->runner_peak_rss_kib)) < 0 ||
      fl_json_set(runner, "events", json_integer(r->n_events)) < 0 ||
      fl_json_set(runner, "nofile", nofile(&r->nofile)) < 0)
    goto fail;
  json_t *files = child(o, "files");
  static const char *const file_names[][2] = {{"scenario", "scenario.yaml"},
                                              {"timeline", "events.jsonl"},
                                              {"samples", "samples.csv"},
                                              {"server_stderr", "server.stderr"},
                                              {"client_stderr", "client.stderr"}};
  for (size_t i = 0; i < sizeof file_names / sizeof file_names[0]; i++)
    if (!files || fl_json_set(files, file_names[i][0], json_string(file_names[i][1])) < 0)
      goto fail;
  bool proxied = fl_faults_need_proxy(&s->path_plan, s->faults, s->n_faults);
  if (fl_json_set(files, "proxy_stderr", proxied ? json_string("proxy.stderr") : json_null()) < 0)
    goto fail;
  return o;
fail:
  json_decref(o);
  return NULL;
}

int fl_report_write_json(FILE *out, const fl_scenario *s, const fl_run_result *r,
                         const fl_verdict *v, char *err, size_t errlen) {
  json_t *doc = r->obs ? report(s, r, v) : NULL;
  if (!doc) {
    errno = ENOMEM;
    fl_set_err(err, errlen, "cannot build report.json: out of memory");
    return -1;
  }
  char why[128];
  int rc = fl_json_write(out, doc, true, why, sizeof why);
  if (rc < 0) fl_set_err(err, errlen, "cannot write report.json: %s", why);
  json_decref(doc);
  return rc;
}
