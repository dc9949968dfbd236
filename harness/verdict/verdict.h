/*
 * verdict: the scenario's `expect:` clauses judged against what a run observed.
 *
 *   reproduced      every clause held
 *   not reproduced  some clause did not; each failing clause carries the value seen
 *   error           faultline could not run the scenario (the run's harness_error), with why
 */
#ifndef FL_VERDICT_H
#define FL_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "observe.h"
#include "scenario.h"
#include "util.h"

typedef enum {
  FL_VERDICT_REPRODUCED,
  FL_VERDICT_NOT_REPRODUCED,
  FL_VERDICT_ERROR,
} fl_verdict_kind;

typedef struct {
  const fl_expect *expect;
  bool held;
  char seen[256]; /* the field's value, formatted as a user would write it */
} fl_clause_result;

typedef struct {
  fl_verdict_kind kind;
  fl_clause_result *clauses; /* one per expect clause, in file order */
  size_t n_clauses;
  char why[512]; /* for FL_VERDICT_ERROR */
} fl_verdict;

/* Judges what `obs` observed against s->expect. `harness_error` (NULL: none) is why faultline
 * could not run the scenario or write its evidence: the verdict is then `error`, with the
 * clauses still judged for the report. Returns 0, or -1 if out of memory. */
FL_MUST_USE int fl_verdict_judge(const fl_scenario *s, fl_observe *obs, const char *harness_error,
                                 fl_verdict *v);
void fl_verdict_free(fl_verdict *v);
const char *fl_verdict_name(fl_verdict_kind k);

#endif
