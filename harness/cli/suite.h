/*
 * suite: what a batch of `faultline run` runs. The selection is made of entries, each a
 * scenario to run (a library NAME or a FILE) with its tags and how many times: from the
 * command line's NAMEs and FILEs, from suite files, or from the whole library (--all). Then
 * --tag keeps the entries with a tag, and --shard I/N keeps one N-th of them.
 *
 * A SUITE FILE (README "Suites and CI"; ci/regression.suite), UTF-8 text, one entry a line:
 *
 *     # comment: from '#' to the end of the line, at the start or after a blank
 *     ping-pong                        smoke unary
 *     closesend-race-client-first      race repeat=3
 *     ../tests/data/mine.yaml          local
 *
 *   - the first word is the scenario: a NAME of the library, or a FILE when it has a '/' or
 *     ends in .yaml or .yml (a relative FILE is relative to the suite file's own folder);
 *   - the other words are tags (a letter or digit, then letters, digits, '-', '_', '.') or
 *     options KEY=VALUE; the one option is repeat=N (1..FL_SUITE_MAX_REPEAT), how many times
 *     the scenario runs;
 *   - blank lines and comments are ignored; a scenario may be listed once.
 * Errors name the place, "ci/regression.suite:4:19: unknown option 'repat'; did you mean
 * 'repeat'?". A file of no entries is an error too ("FILE: lists no scenario").
 *
 * SHARDS. --shard I/N keeps the entries at positions I, I+N, I+2N, ... (1-based) of the
 * selection after --tag, in the order it was given: every machine of a CI matrix that runs
 * the same command gets a different, stable part, the N parts together hold each entry exactly
 * once, and their sizes differ by at most one. An entry's repeats stay together in its shard,
 * so that a flaky scenario is seen as one.
 *
 * Errors follow util.h: 0 on success, -1 with one line in err. Nothing here runs a scenario or
 * resolves a name: the caller resolves each entry's `scenario` word (library.h), and adds
 * "ORIGIN: " (fl_suite_entry.origin, "FILE:LINE:COL") before a message about it.
 */
#ifndef FL_SUITE_H
#define FL_SUITE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define FL_SUITE_MAX_REPEAT 1000
#define FL_SUITE_MAX_SHARDS 1000
/* A suite file lists names: one larger than this is not one. */
#define FL_SUITE_MAX_FILE_BYTES (1024 * 1024)

typedef struct {
  char *scenario; /* the word as resolvable: a NAME, or a FILE path (made relative to the
                     working directory for a suite file's relative FILE) */
  char **tags;    /* n_tags words */
  size_t n_tags;
  int repeat;      /* how many runs (>= 1) */
  bool repeat_set; /* the suite file said repeat= */
  char *origin;    /* "FILE:LINE:COL" of the scenario word, or NULL from the command line */
  char *group;     /* the suite file's stem ("regression"), or NULL */
} fl_suite_entry;

typedef struct {
  fl_suite_entry *entries;
  size_t n, cap;
} fl_suite;

/* Adds one entry from the command line (NAME or FILE, no tags, repeat 1). */
FL_MUST_USE int fl_suite_add(fl_suite *s, const char *scenario, char *err, size_t errlen);

/*
 * Parses a suite file's text. `path` names it in messages and places its relative FILEs;
 * `group` is what its entries are grouped as (the caller passes the file's stem).
 * Messages: "PATH:L:C: unknown option 'KEY'; did you mean 'repeat'?",
 * "PATH:L:C: repeat=VALUE: a count from 1 to 1000", "PATH:L:C: 'NAME' is listed already, at
 * line L2", "PATH:L:C: tag 'WORD': a tag is a letter or digit, then letters, digits, '-', '_'
 * and '.'", "PATH:L:C: a control byte (0xNN)", "PATH:L:C: not UTF-8", "PATH: lists no scenario".
 */
FL_MUST_USE int fl_suite_parse(fl_suite *s, const char *path, const char *group, const char *text,
                               size_t len, char *err, size_t errlen);

/* Reads a suite file (at most FL_SUITE_MAX_FILE_BYTES) and parses it, grouped by its stem. */
FL_MUST_USE int fl_suite_load(fl_suite *s, const char *path, char *err, size_t errlen);

/* Whether a command-line argument names a suite file: it ends in ".suite". */
bool fl_suite_is_file(const char *arg);

/*
 * Keeps the entries that carry at least one of `tags` (n of them; nothing changes for n 0).
 * None left is an error that names the tags there are: "no scenario has tag 'smok' (did you
 * mean 'smoke'?)", "no scenario has tag 'x'; the tags are: race, smoke",
 * "no scenario has tag 'x': only a suite file gives tags".
 */
FL_MUST_USE int fl_suite_filter_tags(fl_suite *s, const char *const *tags, size_t n, char *err,
                                     size_t errlen);

/* "I/N" as --shard takes it: 1 <= I <= N <= FL_SUITE_MAX_SHARDS. Messages: "--shard 'x': give
 * I/N, the shard I of N, as in 2/4", "--shard 5/4: I must be from 1 to N". */
FL_MUST_USE int fl_suite_parse_shard(const char *text, int *index, int *count, char *err,
                                     size_t errlen);

/* Keeps shard `index` of `count` (1-based), as described above. */
void fl_suite_shard(fl_suite *s, int index, int count);

/* Sets every entry's repeat to n (--repeat overrides a suite file's repeat=). */
void fl_suite_set_repeat(fl_suite *s, int n);

/* The number of runs: the sum of the entries' repeats. */
size_t fl_suite_runs(const fl_suite *s);

void fl_suite_free(fl_suite *s);

#endif
