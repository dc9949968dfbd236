#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* What a key must hold. OPTIONAL: it may be absent; NULLABLE: it may be null. */
enum { OPTIONAL = 1, NULLABLE = 2 };

static bool of_type(const json_t *v, char type) {
  switch (type) {
  case 's': return json_is_string(v);
  case 'n': return json_is_number(v);
  case 'b': return json_is_boolean(v);
  case 'o': return json_is_object(v);
  case 'a': return json_is_array(v);
  }
  return false;
}

static const char *type_name(char type) {
  switch (type) {
  case 's': return "a string";
  case 'n': return "a number";
  case 'b': return "a boolean";
  case 'o': return "an object";
  case 'a': return "an array";
  }
  return "?";
}

/* Checks obj[key]; `where` names obj for the message ("" at the top). */
static int want(const json_t *obj, const char *where, const char *key, char type, int how,
                char *err, size_t errlen) {
  const json_t *v = json_object_get(obj, key);
  if ((!v && (how & OPTIONAL)) || (json_is_null(v) && (how & NULLABLE))) return 0;
  if (v && of_type(v, type)) return 0;
  fl_set_err(err, errlen, "%s%s%s %s %s", where, *where ? "." : "", key,
             v ? "is not" : "is missing; it must be", type_name(type));
  return -1;
}

/* Each element of doc[key] (if present) an object with the string keys listed. */
static int want_items(const json_t *doc, const char *key, const char *const *strings, char *err,
                      size_t errlen) {
  const json_t *a = json_object_get(doc, key);
  size_t i;
  const json_t *o;
  json_array_foreach(a, i, o) {
    char where[64];
    snprintf(where, sizeof where, "%s[%zu]", key, i);
    if (!json_is_object(o)) {
      fl_set_err(err, errlen, "%s is not an object", where);
      return -1;
    }
    for (const char *const *k = strings; *k; k++)
      if (want(o, where, *k, 's', NULLABLE | OPTIONAL, err, errlen) < 0) return -1;
  }
  return 0;
}

int fl_report_check(const json_t *doc, char *err, size_t errlen) {
  if (!json_is_object(doc)) {
    fl_set_err(err, errlen, "the document is not a JSON object");
    return -1;
  }
  if (want(doc, "", "scenario", 'o', 0, err, errlen) < 0 ||
      want(json_object_get(doc, "scenario"), "scenario", "name", 's', 0, err, errlen) < 0 ||
      want(doc, "", "verdict", 's', 0, err, errlen) < 0 ||
      want(doc, "", "outcome", 's', 0, err, errlen) < 0 ||
      want(doc, "", "elapsed_ms", 'n', 0, err, errlen) < 0 ||
      want(doc, "", "error", 's', OPTIONAL | NULLABLE, err, errlen) < 0 ||
      want(doc, "", "expectations", 'a', 0, err, errlen) < 0 ||
      want(doc, "", "waiting_barriers", 'a', OPTIONAL, err, errlen) < 0 ||
      want(doc, "", "thread_dumps", 'a', OPTIONAL, err, errlen) < 0 ||
      want(doc, "", "peers", 'o', OPTIONAL, err, errlen) < 0 ||
      want(doc, "", "capture", 'o', OPTIONAL, err, errlen) < 0 ||
      want(doc, "", "timeline", 'o', OPTIONAL, err, errlen) < 0 ||
      want(doc, "", "busy", 'o', OPTIONAL | NULLABLE, err, errlen) < 0 ||
      want(doc, "", "fields", 'o', OPTIONAL, err, errlen) < 0)
    return -1;
  size_t i;
  const json_t *e;
  json_array_foreach(json_object_get(doc, "expectations"), i, e) {
    char where[64];
    snprintf(where, sizeof where, "expectations[%zu]", i);
    if (!json_is_object(e)) {
      fl_set_err(err, errlen, "%s is not an object", where);
      return -1;
    }
    if (want(e, where, "clause", 's', 0, err, errlen) < 0 ||
        want(e, where, "seen", 's', 0, err, errlen) < 0 ||
        want(e, where, "held", 'b', 0, err, errlen) < 0)
      return -1;
  }
  static const char *const barrier_keys[] = {"side", "predicate", "field", "seen", NULL};
  static const char *const dump_keys[] = {"side", "file", "why", "error", NULL};
  return want_items(doc, "waiting_barriers", barrier_keys, err, errlen) < 0 ||
                 want_items(doc, "thread_dumps", dump_keys, err, errlen) < 0
             ? -1
             : 0;
}

int fl_report_load(const char *run_dir, json_t **doc, char *err, size_t errlen) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/report.json", run_dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    fl_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  json_error_t je;
  *doc = json_loadf(f, JSON_ALLOW_NUL, &je);
  fclose(f);
  if (!*doc) {
    fl_set_err(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    return -1;
  }
  char why[256];
  if (fl_report_check(*doc, why, sizeof why) < 0) {
    fl_set_err(err, errlen, "%s: %s", path, why);
    json_decref(*doc);
    *doc = NULL;
    return -1;
  }
  return 0;
}
