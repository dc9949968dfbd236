/*
 * junit: a batch of runs as JUnit XML, the test report CI systems read (GitLab's
 * artifacts:reports:junit, Jenkins' junit step, GitHub actions that publish test results).
 *
 * The file is one <testsuites> holding one <testsuite>, and in it one <testcase> per scenario
 * run, in the order the runs were given:
 *   - name: the scenario's name, "NAME (run K of N)" when it runs N times (GitLab keeps only
 *     the first of several testcases of one name); classname: the suite file's stem
 *     ("regression"), or "faultline"; file: the scenario file; time: the run's wall time, s;
 *   - not reproduced: <failure message="not reproduced: CLAUSE (seen VALUE); ..."
 *     type="not reproduced">, its text the terminal summary (every clause with its value seen,
 *     what still waited, the run directory); error: <error message="error: WHY" type="error">
 *     the same way; a run that did not take place (interrupted first): <skipped message=.../>;
 *   - <system-out>: "run directory: DIR", then "[[ATTACHMENT|DIR]]" and
 *     "[[ATTACHMENT|DIR/report.html]]", each alone on its line, as GitLab and Jenkins'
 *     junit-attachments look for them. DIR is written as faultline names it: relative to
 *     where faultline ran when --out or --runs-dir is relative (what GitLab wants, from the
 *     project's folder), absolute when they are (what Jenkins wants).
 * Counts on <testsuites> and <testsuite>: tests, failures, errors, skipped; time in seconds;
 * the suite's timestamp (UTC), hostname and <properties> (faultline's version, the shard).
 * tests/junit/junit.xsd is the schema of exactly this, checked in tests with xmllint.
 *
 * Every string is written as XML 1.0 allows: & < > " escaped, bytes that are not UTF-8 and
 * characters XML cannot hold (control characters but tab and newline, U+FFFE, U+FFFF) as
 * U+FFFD, so that no status message can make the file unreadable.
 */
#ifndef FL_JUNIT_H
#define FL_JUNIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

typedef enum {
  FL_JUNIT_PASSED,
  FL_JUNIT_FAILURE, /* not reproduced */
  FL_JUNIT_ERROR,   /* verdict error: faultline could not run it or keep its evidence */
  FL_JUNIT_SKIPPED, /* not run */
} fl_junit_result;

typedef struct {
  const char *name; /* unique in the file */
  const char *classname;
  const char *file;    /* the scenario file, or NULL */
  const char *run_dir; /* or NULL when none was made */
  double seconds;
  fl_junit_result result;
  const char *message; /* one line: the failure's, error's or skip's message (NULL: none) */
  const char *text;    /* the failure's or error's body (NULL: none) */
} fl_junit_case;

typedef struct {
  const char *name;      /* the testsuite's */
  const char *timestamp; /* "2026-11-25T11:01:55Z" */
  const char *hostname;
  double seconds;                /* the batch's wall time */
  const char *const *properties; /* name, value, name, value, ..., NULL */
} fl_junit_suite;

/* The first bytes of every JUnit file faultline writes: how it knows a file it may replace. */
#define FL_JUNIT_HEAD                                                                              \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- faultline run wrote this JUnit file"

/* Writes the document to out. Returns 0, or -1 when the stream reported an error (ferror),
 * with errno as it was left. */
FL_MUST_USE int fl_junit_write(FILE *out, const fl_junit_suite *suite, const fl_junit_case *cases,
                               size_t n);

/*
 * From a run's report.json document: the one-line message ("not reproduced: client.status ==
 * DEADLINE_EXCEEDED (seen OK); ...", "error: WHY", "reproduced") into msg, and in *text (the
 * caller frees it; NULL if out of memory) the terminal summary as report_text prints it without
 * colour.
 */
void fl_junit_describe(const json_t *doc, const char *run_dir, char *msg, size_t msglen,
                       char **text);

/*
 * Whether --junit PATH may be written (asked before anything runs, and again just before the
 * file is put in place): PATH does not exist, or it is a regular file of this user that
 * faultline wrote (it starts with FL_JUNIT_HEAD), which is then replaced. Messages, after
 * "--junit PATH: ": "is a symbolic link; faultline does not follow links: name the file
 * itself", "exists and is not a JUnit file faultline wrote; choose another name, or remove it
 * yourself", "is not a regular file", "belongs to uid N, not to you (uid M)", "cannot read it:
 * ...", "its folder cannot be written: ...".
 */
FL_MUST_USE int fl_junit_check_path(const char *path, char *err, size_t errlen);

/* Puts buf in place as PATH: written whole to a new file beside it (O_EXCL, mode 0644),
 * synced, and renamed to PATH (never over a file fl_junit_check_path refuses; over nothing at
 * all when PATH was absent). Returns 0, or -1 with err ("--junit PATH: ..."). */
FL_MUST_USE int fl_junit_save(const char *path, const char *buf, size_t len, char *err,
                              size_t errlen);

#endif
