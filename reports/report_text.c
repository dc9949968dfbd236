#include <stdio.h>
#include <string.h>

#include "report.h"

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
