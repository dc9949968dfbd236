#include "dump_go.h"
#include "dump_text.h"

#include <errno.h>
#include <string.h>

/* Writes one item of a goroutine header: no square bracket (it would end the header) and no
 * ", " (it would split the item). */
static void put_item(FILE *out, const char *s) {
  for (; *s != '\0'; s++) {
    if (*s == '[' || *s == ']') continue;
    if (s[0] == ',' && s[1] == ' ') {
      fputc(';', out);
      continue;
    }
    fputc(*s, out);
  }
}

/* A function name Go's tools can read. panicparse 2.3 URL-unescapes a name after locating its
 * package in the escaped form (so an escape such as %2f shifts that split and crashes it), and
 * rejects a '/' that no '.' follows (Go's import paths). Neither '%' nor such a '/' can be
 * in a C name; C++ operators have them ("operator/"). They are written as the look-alike
 * characters U+FF05 and U+2215; Go names ("github.com/x/y.F") keep their slashes. */
static void put_function(FILE *out, const char *s) {
  const char *last_dot = strrchr(s, '.');

  for (const char *c = s; *c != '\0'; c++) {
    if (*c == '%')
      fputs("\xef\xbc\x85", out); /* U+FF05 FULLWIDTH PERCENT SIGN */
    else if (*c == '/' && (last_dot == NULL || c > last_dot))
      fputs("\xe2\x88\x95", out); /* U+2215 DIVISION SLASH */
    else
      fputc(*c, out);
  }
}

/* Go's grammar: a file ending in .c, .go or .s (lower case). */
static bool go_file(const char *file) {
  size_t n = strlen(file);

  return (n > 2 && (strcmp(file + n - 2, ".c") == 0 || strcmp(file + n - 2, ".s") == 0)) ||
         (n > 3 && strcmp(file + n - 3, ".go") == 0);
}

static void put_header(FILE *out, const fl_thread *t) {
  char idle[48];
  bool waits = t->waits[0] != '\0';

  fprintf(out, "goroutine %d [", (int)t->tid);
  put_item(out, waits ? t->waits : t->state);
  if (t->idle_ns >= 60 * (int64_t)1000000000)
    fprintf(out, ", %lld minutes", (long long)(t->idle_ns / (60 * (int64_t)1000000000)));
  if (waits) {
    fputs(", ", out);
    put_item(out, t->state);
  }
  if (t->idle_ns > 0 && t->idle_ns < 60 * (int64_t)1000000000) {
    fl_dump_format_duration(t->idle_ns, idle, sizeof idle);
    fprintf(out, ", idle %s", idle);
  }
  fputs(", thread \"", out);
  put_item(out, t->name);
  fputc('"', out);
  if (t->stop_reason[0] != '\0') {
    fputs(", unwinding stopped: ", out);
    put_item(out, t->stop_reason);
  }
  fputs("]:\n", out);
}

static void put_frame(FILE *out, const fl_dump *d, const fl_frame *f) {
  const fl_symbol *e = f->sym;

  /* Inlined functions as Go prints them: a frame each, without an offset. */
  for (int k = 0; k < e->ninlined; k++) {
    put_function(out, e->inlined[k].function);
    if (e->inlined[k].file != NULL && go_file(e->inlined[k].file))
      fprintf(out, "(...)\n\t%s:%d\n", e->inlined[k].file, e->inlined[k].line);
    else
      fputs("(...)\n\t??:0\n", out);
  }

  if (e->function == NULL) {
    if (e->module >= 0) {
      put_function(out, fl_dump_basename(d->modules[e->module].path));
      fprintf(out, "+0x%llx(...)\n\t??:0\n", (unsigned long long)e->module_offset);
    } else {
      fprintf(out, "0x%llx(...)\n\t??:0\n", (unsigned long long)f->pc);
    }
    return;
  }
  put_function(out, e->function);
  fputs("(...)\n\t", out);
  if (e->file != NULL && go_file(e->file))
    fprintf(out, "%s:%d", e->file, e->line);
  else
    fputs("??:0", out);
  /* The offset is from the real pc, as Go prints it; the line is the call's (pc-1). */
  fprintf(out, " +0x%llx\n", (unsigned long long)e->function_offset + !f->activation);
}

int fl_dump_write_go(const fl_dump *d, FILE *out, char *err, size_t errlen) {
  fputs("# faultline thread dump in Go's goroutine-dump grammar: one goroutine per thread, "
        "numbered by thread id\n",
        out);
  fl_dump_write_header(d, out);
  if (d->npending > 0) {
    fprintf(out,
            "pending operations: %zu (gRPC operations of the peer not completed; its threads "
            "wait for them)\n",
            d->npending);
    for (size_t i = 0; i < d->npending; i++) {
      char line[512];

      fl_dump_format_pending(&d->pending[i], line, sizeof line);
      fprintf(out, "  %s\n", line);
    }
  }
  fputc('\n', out);
  for (int i = 0; i < d->nthreads; i++) {
    const fl_thread *t = &d->threads[i];

    put_header(out, t);
    for (int j = 0; j < t->nframes; j++) put_frame(out, d, &t->frames[j]);
    if (t->nframes == 0) fputs("?\?(...)\n\t??:0\n", out); /* "?\?": "?" "?(" is a trigraph */
    if (t->elided) fputs("...additional frames elided...\n", out);
    fputc('\n', out);
  }
  if (fflush(out) != 0 || ferror(out)) {
    fl_set_err(err, errlen, "%s", strerror(errno ? errno : EIO));
    return -1;
  }
  return 0;
}
