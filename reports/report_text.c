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
      out[n] = (fl_waiting_barrier){
          .side = (fl_side)i, .step = idx, .line = step->line, .expr = step->text, .calls = 1};
      fl_value_format(&seen, out[n].seen, sizeof out[n].seen);
      n++;
    }
  }
  return n;
}

void fl_report_print_summary(FILE *out, const char *run_dir, const fl_scenario *s,
                             const fl_run_result *r, const fl_verdict *v, bool color) {
  const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "",
             *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
  const char *vc = v->kind == FL_VERDICT_REPRODUCED ? green : red;
  fl_outcome outcome = r->obs ? fl_observe_outcome(r->obs) : FL_OUTCOME_COMPLETED;
  double elapsed = r->obs ? (double)fl_observe_elapsed(r->obs) / 1e9 : 0;
  fprintf(out, "%s%s%s: %s%s%s (outcome %s, %.2fs)\n", bold, s->name, reset, vc,
          fl_verdict_name(v->kind), reset, fl_outcome_name(outcome), elapsed);
  if (v->kind == FL_VERDICT_ERROR) fprintf(out, "  error: %s\n", v->why);
  for (size_t i = 0; i < v->n_clauses; i++) {
    const fl_clause_result *c = &v->clauses[i];
    fprintf(out, "  %s%-4s%s %-44s seen %s\n", c->held ? green : red, c->held ? "ok" : "FAIL",
            reset, c->expect->text, c->seen);
  }
  fl_waiting_barrier waiting[16];
  size_t n_waiting = r->obs ? fl_report_waiting_barriers(s, r->obs, waiting, 16) : 0;
  for (size_t i = 0; i < n_waiting; i++) {
    const fl_waiting_barrier *b = &waiting[i];
    char calls[32] = "";
    if (b->calls > 1) snprintf(calls, sizeof calls, " (%d calls)", b->calls);
    fprintf(out, "  waiting at end: %s at `wait: %s` (line %d)%s; %s is %s\n",
            fl_side_name(b->side), b->expr, b->line, calls,
            fl_predicate_field_text(
                (b->side == FL_SIDE_SERVER ? &s->server : &s->client)->steps[b->step].predicate),
            b->seen);
  }
  for (int i = 0; r->obs && i < FL_N_SIDES; i++) {
    const fl_side_obs *st = fl_observe_side(r->obs, (fl_side)i);
    for (uint32_t c = 0; c < st->n_calls; c++)
      for (int k = 0; k < FL_N_OPS; k++) {
        const fl_op_obs *op = &st->calls[c].ops[k];
        if (!op->pending) continue;
        char call[24] = "";
        if (st->n_calls > 1) snprintf(call, sizeof call, " (call %u)", c + 1);
        fprintf(out, "  pending at end: %s %s%s for %.0fms\n", fl_side_name((fl_side)i),
                fl_op_name((fl_op_kind)k), call,
                (double)(fl_observe_elapsed(r->obs) - op->since_ns) / 1e6);
      }
  }
  if (r->busy.seen)
    fprintf(out,
            "  busy: %s thread %d \"%s\" used %.2fs of CPU from %.2fs to %.2fs without an "
            "event (not counted as a hang)\n",
            fl_side_name(r->busy.side), (int)r->busy.tid, r->busy.thread,
            (double)r->busy.cpu_ns / 1e9, (double)r->busy.since_ns / 1e9,
            (double)r->busy.at_ns / 1e9);
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
