#include "verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fl_verdict_name(fl_verdict_kind k) {
  switch (k) {
  case FL_VERDICT_REPRODUCED: return "reproduced";
  case FL_VERDICT_NOT_REPRODUCED: return "not reproduced";
  case FL_VERDICT_ERROR: return "error";
  }
  return "?";
}

int fl_verdict_judge(const fl_scenario *s, fl_observe *obs, const char *harness_error,
                     fl_verdict *v) {
  memset(v, 0, sizeof *v);
  v->clauses = calloc(s->n_expect ? s->n_expect : 1, sizeof *v->clauses);
  if (!v->clauses) return -1;
  v->n_clauses = s->n_expect;
  bool all_held = true;
  /* Clauses that failed only because the run saw no wire: with a proxy or a capture, a wire
   * field left unknown is a fact (the frame never came), and such a clause simply fails. */
  size_t unobserved = 0;
  bool wire_seen = fl_observe_has_wire_source(obs);
  const char *first_unobserved = NULL;
  for (size_t i = 0; i < s->n_expect; i++) {
    fl_clause_result *c = &v->clauses[i];
    fl_value seen = {0};
    c->expect = &s->expect[i];
    c->held = fl_predicate_eval(s->expect[i].predicate, fl_observe_lookup, obs, &seen);
    fl_value_format(&seen, c->seen, sizeof c->seen);
    all_held = all_held && c->held;
    const fl_field_info *field = fl_predicate_field(s->expect[i].predicate);
    if (!c->held && !seen.known && field && field->cls == FL_CLASS_WIRE && !wire_seen) {
      if (!unobserved++) first_unobserved = fl_predicate_field_text(s->expect[i].predicate);
    }
  }
  if (harness_error) {
    v->kind = FL_VERDICT_ERROR;
    snprintf(v->why, sizeof v->why, "%s", harness_error);
  } else if (unobserved) {
    /* Not a failure to reproduce: faultline could not look (no capture, e.g. without
     * CAP_NET_RAW, and no path proxy), so it cannot say. */
    v->kind = FL_VERDICT_ERROR;
    snprintf(v->why, sizeof v->why,
             "%zu expect clause%s read%s the wire (%s%s), which this run did not observe: it "
             "had no capture and no path proxy",
             unobserved, unobserved == 1 ? "" : "s", unobserved == 1 ? "s" : "",
             first_unobserved ? first_unobserved : "wire.*", unobserved > 1 ? ", ..." : "");
  } else {
    v->kind = all_held ? FL_VERDICT_REPRODUCED : FL_VERDICT_NOT_REPRODUCED;
  }
  return 0;
}

void fl_verdict_free(fl_verdict *v) {
  free(v->clauses);
  v->clauses = NULL;
}
