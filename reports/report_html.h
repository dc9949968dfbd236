/*
 * report_html: report.html, the page a person opens to see what a run did.
 *
 * One self-contained file (its stylesheet and script inline; a Content-Security-Policy that
 * forbids every load, so it never reaches the network), rendered from the report.json
 * document and the files beside it in the run directory:
 *   - the verdict and what the run was (scenario, outcome, time, error);
 *   - the verdict table: each expect clause, its expected value, the value seen, held or not;
 *     then what the run ended in: barriers still waited at, ops still pending, a busy peer;
 *   - findings (section #findings: report.json's `findings`, once the frame decoder writes
 *     them: an array of objects with a `text`, optionally `severity` and `at_ms`);
 *   - the merged timeline from events.jsonl: lanes for client, wire, server and faults/runner,
 *     barrier waits as bands, faults and alarms as lines through every lane, each mark's
 *     attributes as its tooltip, and the events as a table (html/html_timeline.c says how a
 *     large run is aggregated);
 *   - each process's facts, and its RSS and threads over time from samples.csv;
 *   - the thread dumps: each file's header and grouped summary, then every thread folded in
 *     a <details>;
 *   - links to every file of the run directory (capture.pcap, events.jsonl, the logs) with
 *     their sizes, scenario.yaml and the tail of each peer's stderr inline.
 * Every string is escaped (html/html.h): status messages and logs hold any bytes. The page
 * reads without JavaScript (tooltips are SVG titles, folding is <details>); the script adds
 * click-to-keep details and a filter for the event table.
 * Evidence that is missing or unreadable is said on the page, never an error.
 */
#ifndef FL_REPORT_HTML_H
#define FL_REPORT_HTML_H

#include <jansson.h>
#include <stdio.h>

#include "util.h"

/* Writes the page to out. Returns 0, or -1 with the stream's error in err. */
FL_MUST_USE int fl_report_html(FILE *out, const char *run_dir, const json_t *doc, char *err,
                               size_t errlen);

/* Writes run_dir/report.html again, for `faultline report` (a run writes its page through its
 * run directory, rundir.h): a new file renamed into place, so a reader never sees half a page.
 * Returns 0, or -1 with "cannot write DIR/report.html: REASON" in err. */
FL_MUST_USE int fl_report_write_html(const char *run_dir, const json_t *doc, char *err,
                                     size_t errlen);

#endif
