#include "jsonw.h"

#include <assert.h>
#include <inttypes.h>

void fl_json_write_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        fprintf(out, "\\u%04x", *p);
      else
        fputc(*p, out);
    }
  }
  fputc('"', out);
}

void fl_jsonw_init(fl_jsonw *w, FILE *out, bool pretty) {
  w->out = out;
  w->depth = 0;
  w->first[0] = true;
  w->pretty = pretty;
  w->after_key = false;
}

static void newline_indent(fl_jsonw *w) {
  if (!w->pretty) return;
  fputc('\n', w->out);
  for (int i = 0; i < w->depth; i++) fputs("  ", w->out);
}

/* Before any value or key at the current depth: separator and indentation. Values that
 * follow a key are not separated (the key already was). */
static void before_item(fl_jsonw *w) {
  if (w->after_key) {
    w->after_key = false;
    return;
  }
  if (w->depth > 0) {
    if (!w->first[w->depth]) fputc(',', w->out);
    newline_indent(w);
  }
  w->first[w->depth] = false;
}

static void open(fl_jsonw *w, char c) {
  before_item(w);
  fputc(c, w->out);
  assert(w->depth + 1 < FL_JSONW_MAX_DEPTH);
  w->depth++;
  w->first[w->depth] = true;
}

static void close(fl_jsonw *w, char c) {
  bool empty = w->first[w->depth];
  w->depth--;
  if (!empty) newline_indent(w);
  fputc(c, w->out);
  if (w->depth == 0 && w->pretty) fputc('\n', w->out);
}

void fl_jsonw_object_begin(fl_jsonw *w) { open(w, '{'); }
void fl_jsonw_object_end(fl_jsonw *w) { close(w, '}'); }
void fl_jsonw_array_begin(fl_jsonw *w) { open(w, '['); }
void fl_jsonw_array_end(fl_jsonw *w) { close(w, ']'); }

void fl_jsonw_key(fl_jsonw *w, const char *key) {
  before_item(w);
  fl_json_write_string(w->out, key);
  fputs(w->pretty ? ": " : ":", w->out);
  w->after_key = true;
}

void fl_jsonw_string(fl_jsonw *w, const char *s) {
  before_item(w);
  if (s)
    fl_json_write_string(w->out, s);
  else
    fputs("null", w->out);
}

void fl_jsonw_int(fl_jsonw *w, int64_t v) {
  before_item(w);
  fprintf(w->out, "%" PRId64, v);
}

void fl_jsonw_double(fl_jsonw *w, double v, int decimals) {
  before_item(w);
  fprintf(w->out, "%.*f", decimals, v);
}

void fl_jsonw_bool(fl_jsonw *w, bool v) {
  before_item(w);
  fputs(v ? "true" : "false", w->out);
}

void fl_jsonw_null(fl_jsonw *w) {
  before_item(w);
  fputs("null", w->out);
}

void fl_jsonw_kv_string(fl_jsonw *w, const char *key, const char *s) {
  fl_jsonw_key(w, key);
  fl_jsonw_string(w, s);
}

void fl_jsonw_kv_int(fl_jsonw *w, const char *key, int64_t v) {
  fl_jsonw_key(w, key);
  fl_jsonw_int(w, v);
}

void fl_jsonw_kv_double(fl_jsonw *w, const char *key, double v, int decimals) {
  fl_jsonw_key(w, key);
  fl_jsonw_double(w, v, decimals);
}

void fl_jsonw_kv_bool(fl_jsonw *w, const char *key, bool v) {
  fl_jsonw_key(w, key);
  fl_jsonw_bool(w, v);
}
