/*
 * report: the canonical record of a run (report.json) and the short text summary for the
 * terminal. report.json's shape is documented in the README ("Report contents").
 */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "runner.h"
#include "scenario.h"
#include "verdict.h"

/* Writes report.json into run_dir (a new file renamed into place). Its keys are documented in
 * the README ("Run directory"); `fields` holds every predicate field of fields.h by the name
 * `expect:` uses. Returns 0, or -1 with the reason in err. */
FL_MUST_USE int fl_report_write_json(const char *run_dir, const fl_scenario *s,
                                     const fl_run_result *r, const fl_verdict *v, char *err,
                                     size_t errlen);

/* A barrier some call still waits at: what keeps a hung run from moving. */
typedef struct {
  fl_side side;
  int step, line;   /* the `wait` step's index and its line in the scenario file */
  const char *expr; /* the predicate as written */
  char seen[128];   /* its field's value as the run ended, formatted */
  int calls;        /* how many calls wait there */
} fl_waiting_barrier;

/* The barriers still waited at, at most `max`; returns how many. */
size_t fl_report_waiting_barriers(const fl_scenario *s, fl_observe *obs, fl_waiting_barrier *out,
                                  size_t max);

/* The terminal summary: verdict, each clause with the value seen, the barriers still waited at
 * and the ops still pending (what a hang is made of), the evidence, where the run directory
 * is. */
void fl_report_print_summary(FILE *out, const char *run_dir, const fl_scenario *s,
                             const fl_run_result *r, const fl_verdict *v, bool color);

#endif
