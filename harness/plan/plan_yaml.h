/*
 * plan_yaml: what the parsers of a scenario's parts (faults.c, external.c) share: the scenario
 * parser's context (fl_plan_yaml) and the helpers that read its YAML nodes with errors in the
 * form "FILE:LINE:COL: what is wrong" (fl_yaml_fail returns -1 after y->fail).
 */
#ifndef FL_PLAN_YAML_H
#define FL_PLAN_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "predicate.h"
#include "util.h"

/*
 * What the parsers need from the scenario parser that calls them: the file (for messages and
 * positions), the document, where errors go, and its predicate parser (which knows where a
 * column inside a quoted value stands in the file). `fail` formats "FILE:LINE:COL: ..." into
 * the caller's error and returns -1.
 */
typedef struct fl_plan_yaml {
  const char *path;
  yaml_document_t *doc;
  void *parser; /* the scenario parser's own context, passed back to the functions below */
  int (*fail)(void *parser, int line, int col, const char *msg);
  int (*parse_predicate)(void *parser, yaml_node_t *n, const char *key, fl_predicate **out,
                         char **text);
} fl_plan_yaml;

/* Where a node stands in the file, 1-based. */
#define FL_YAML_LINE(n) ((int)(n)->start_mark.line + 1)
#define FL_YAML_COL(n) ((int)(n)->start_mark.column + 1)

FL_PRINTF(4, 5)
int fl_yaml_fail(const fl_plan_yaml *y, int line, int col, const char *fmt, ...);
#define fl_yaml_fail_node(y, n, ...) fl_yaml_fail((y), FL_YAML_LINE(n), FL_YAML_COL(n), __VA_ARGS__)

yaml_node_t *fl_yaml_node(const fl_plan_yaml *y, int id);
/* A scalar's text. */
const char *fl_yaml_str(const yaml_node_t *n);
/* A plain scalar that YAML reads as null: empty, ~, null. */
bool fl_yaml_is_null(const yaml_node_t *n);
/* "a map", "a list", "nothing" or the scalar quoted (cut at 40 characters), for messages. */
const char *fl_yaml_describe(const yaml_node_t *n, char *buf, size_t len);
/* "a, b or c" from a NULL-terminated list. */
const char *fl_yaml_list_words(const char *const *names, char *buf, size_t len);
/* A key of a map: a scalar, not repeated, one of `allowed` (near misses suggested). */
int fl_yaml_check_key(const fl_plan_yaml *y, yaml_node_t *map, yaml_node_pair_t *pair,
                      const char *where, const char *const *allowed, const char **key_out);
/* A non-null scalar, else "'KEY' must be WHAT, not ...". */
int fl_yaml_want_scalar(const fl_plan_yaml *y, yaml_node_t *n, const char *key, const char *what);
/* A whole number in 1..max, like 10. */
int fl_yaml_count(const fl_plan_yaml *y, yaml_node_t *n, const char *key, uint64_t max,
                  uint64_t *out);
/* A duration like 500ms or 3s, in min_ns..FL_DURATION_MAX_NS (scenario.h "Limits"); min_ns 1
 * reads "longer than 0". */
int fl_yaml_duration(const fl_plan_yaml *y, yaml_node_t *n, const char *key, int64_t min_ns,
                     int64_t *out);

#endif
