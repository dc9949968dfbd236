/*
 * jsonw: a streaming JSON writer for report.json and events.jsonl.
 *
 * Keeps a stack of open objects/arrays so commas and nesting come out right; strings are
 * escaped as RFC 8259 requires (control bytes as \u00XX; other bytes pass through, so valid
 * UTF-8 stays valid). Errors of the underlying FILE are left to the caller's fclose/ferror.
 */
#ifndef FL_JSONW_H
#define FL_JSONW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define FL_JSONW_MAX_DEPTH 32

typedef struct {
  FILE *out;
  int depth;
  bool first[FL_JSONW_MAX_DEPTH]; /* no member written yet at this depth */
  bool pretty;
  bool after_key; /* a key was written; its value comes next, with no separator */
} fl_jsonw;

void fl_jsonw_init(fl_jsonw *w, FILE *out, bool pretty);
void fl_jsonw_object_begin(fl_jsonw *w);
void fl_jsonw_object_end(fl_jsonw *w);
void fl_jsonw_array_begin(fl_jsonw *w);
void fl_jsonw_array_end(fl_jsonw *w);
/* Inside an object: the next value's key. */
void fl_jsonw_key(fl_jsonw *w, const char *key);
void fl_jsonw_string(fl_jsonw *w, const char *s); /* NULL writes null */
void fl_jsonw_int(fl_jsonw *w, int64_t v);
void fl_jsonw_double(fl_jsonw *w, double v, int decimals);
void fl_jsonw_bool(fl_jsonw *w, bool v);
void fl_jsonw_null(fl_jsonw *w);

/* A member of the current object: key and value in one call. */
void fl_jsonw_kv_string(fl_jsonw *w, const char *key, const char *s);
void fl_jsonw_kv_int(fl_jsonw *w, const char *key, int64_t v);
void fl_jsonw_kv_double(fl_jsonw *w, const char *key, double v, int decimals);
void fl_jsonw_kv_bool(fl_jsonw *w, const char *key, bool v);

/* Writes s as a JSON string literal (with quotes) to out. */
void fl_json_write_string(FILE *out, const char *s);

#endif
