/*
 * report_cmd: `faultline report`, a run directory rendered again from its report.json and the
 * files beside it (an older run, one a CI system kept, one from another machine).
 */
#ifndef FL_REPORT_CMD_H
#define FL_REPORT_CMD_H

#include <stdbool.h>

/*
 * Runs `faultline report [--format html|text|json] RUNDIR`; argv[0] is "report". `color`: the
 * text summary may use ANSI colours (main.c decides, for every command alike).
 *   html (the default): writes RUNDIR/report.html and prints its path;
 *   text: prints the summary `faultline run` printed at the end of the run, the same text;
 *   json: prints report.json as read back and checked (fl_report_check).
 * Returns the process exit code (exit_codes.h): FL_EXIT_OK rendered, FL_EXIT_USAGE bad usage
 * (after a message on stderr), FL_EXIT_HARNESS report.json cannot be read or is not a faultline
 * report, or report.html cannot be written (the reason on stderr).
 */
int fl_cmd_report(int argc, char **argv, bool color);

#endif
