/*
 * report: the canonical record of a run (report.json), read back for every other form of it:
 * the short text summary for the terminal and report.html (report_html.h). report.json's shape
 * is documented in the README ("Report contents").
 */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "runner.h"
#include "scenario.h"
#include "verdict.h"

/* Writes report.json to `out` (the CLI gives a run directory's whole-file stream, rundir.h).
 * Its keys are documented in the README ("Run directory"); `fields` holds every predicate field
 * of fields.h by the name `expect:` uses. Returns 0, or -1 with the reason in err and errno set
 * (ENOMEM when the document could not be built, else the stream's error). */
FL_MUST_USE int fl_report_write_json(FILE *out, const fl_scenario *s, const fl_run_result *r,
                                     const fl_verdict *v, char *err, size_t errlen);

/* A barrier some call still waits at: what keeps a hung run from moving. */
typedef struct {
  fl_side side;
  int step, line;    /* the `wait` step's index and its line in the scenario file */
  const char *expr;  /* the predicate as written */
  const char *field; /* the field it reads, e.g. "client.sent" */
  char seen[128];    /* its field's value as the run ended, formatted */
  int calls;         /* how many calls wait there */
} fl_waiting_barrier;

/* The barriers still waited at, at most `max`; returns how many. */
size_t fl_report_waiting_barriers(const fl_scenario *s, fl_observe *obs, fl_waiting_barrier *out,
                                  size_t max);

/*
 * Reads run_dir/report.json back (jansson, JSON_ALLOW_NUL: a status message may hold NUL) and
 * checks it with fl_report_check. Returns 0 and *doc (the caller json_decref's it), or -1 with
 * the reason in err: "cannot read DIR/report.json: No such file or directory",
 * "DIR/report.json:LINE:COL: <jansson's message>", or fl_report_check's message after
 * "DIR/report.json: ".
 */
FL_MUST_USE int fl_report_load(const char *run_dir, json_t **doc, char *err, size_t errlen);

/*
 * Checks that doc has the keys the renderers read, each of its type: an object with
 * `scenario.name`, `verdict`, `outcome` (strings), `elapsed_ms` (number), `expectations` (an
 * array of objects with string `clause` and `seen` and boolean `held`), and, where present,
 * `waiting_barriers`, `thread_dumps` (arrays of objects), `peers`, `capture`, `timeline`
 * (objects), `busy` (object or null). Returns 0, or -1 with the first key at fault in err
 * ("expectations[2].held is not a boolean").
 */
FL_MUST_USE int fl_report_check(const json_t *doc, char *err, size_t errlen);

/*
 * The terminal summary, from the report.json document: the verdict line, each clause with the
 * value seen, the barriers still waited at and the ops still pending (what a hang is made of),
 * busy, the capture, the dumps and where the run directory is. `faultline run` prints it right
 * after writing report.json, from that file; `faultline report --format text` prints the same.
 * Control bytes of any string are printed as \xNN (a status message cannot drive the terminal).
 * `color`: ANSI colours for a terminal.
 */
void fl_report_print_summary(FILE *out, const json_t *doc, const char *run_dir, bool color);

#endif
