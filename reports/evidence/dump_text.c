#include "dump_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int first; /* index of its first thread, for a stable order among equal counts */
  int count;
  int *members;
} group;

const char *fl_dump_basename(const char *path) {
  const char *slash = strrchr(path, '/');

  return slash != NULL ? slash + 1 : path;
}

void fl_dump_format_duration(int64_t ns, char *buf, size_t size) {
  double s = (double)ns / 1e9;

  if (s >= 60)
    snprintf(buf, size, "%lld minutes", (long long)(s / 60));
  else
    snprintf(buf, size, "%.2fs", s);
}

void fl_dump_format_pending(const fl_pending_op *p, char *buf, size_t size) {
  size_t len;

  snprintf(buf, size, "%s", p->op);
  len = strlen(buf);
  if (p->call > 0 && len < size) len += snprintf(buf + len, size - len, "  call %d", p->call);
  if (p->step_file != NULL && len < size) {
    len += snprintf(buf + len, size - len, "  step %s", p->step_file);
    if (p->step_line > 0 && len < size) len += snprintf(buf + len, size - len, ":%d", p->step_line);
  } else if (p->step_line > 0 && len < size) {
    len += snprintf(buf + len, size - len, "  step at line %d", p->step_line);
  }
  if (p->pending_ns >= 0 && len < size)
    len += snprintf(buf + len, size - len, "  pending %.2fs", (double)p->pending_ns / 1e9);
  if (p->queued_bytes >= 0 && len < size)
    snprintf(buf + len, size - len, "  %lld bytes queued behind it", (long long)p->queued_bytes);
}

/* ---- grouping ---------------------------------------------------------------------------- */

static int cmp_stack(const fl_thread *a, const fl_thread *b) {
  if (a->nframes != b->nframes) return a->nframes < b->nframes ? -1 : 1;
  if (a->elided != b->elided) return a->elided ? 1 : -1;
  for (int i = 0; i < a->nframes; i++) {
    if (a->frames[i].pc != b->frames[i].pc) return a->frames[i].pc < b->frames[i].pc ? -1 : 1;
    if (a->frames[i].activation != b->frames[i].activation) return a->frames[i].activation ? 1 : -1;
  }
  return 0;
}

static int cmp_thread_index(const void *pa, const void *pb, void *arg) {
  const fl_dump *d = arg;
  int a = *(const int *)pa, b = *(const int *)pb;
  int c = cmp_stack(&d->threads[a], &d->threads[b]);

  return c != 0 ? c : (a > b) - (a < b);
}

static int cmp_group(const void *pa, const void *pb) {
  const group *a = pa, *b = pb;

  if (a->count != b->count) return a->count > b->count ? -1 : 1;
  return (a->first > b->first) - (a->first < b->first);
}

/* Folds threads with identical stacks. Returns the number of groups, or -1 if out of memory.
 * *order receives the thread indices arranged by group; each group's members point into it. */
static int group_threads(const fl_dump *d, int **order, group **groups) {
  int *idx = malloc((d->nthreads ? d->nthreads : 1) * sizeof *idx);
  group *g = malloc((d->nthreads ? d->nthreads : 1) * sizeof *g);
  int ng = 0;

  if (idx == NULL || g == NULL) {
    free(idx);
    free(g);
    return -1;
  }
  for (int i = 0; i < d->nthreads; i++) idx[i] = i;
  qsort_r(idx, d->nthreads, sizeof *idx, cmp_thread_index, (void *)d);

  for (int i = 0; i < d->nthreads; i++) {
    if (i == 0 || cmp_stack(&d->threads[idx[i - 1]], &d->threads[idx[i]]) != 0) {
      g[ng].first = idx[i]; /* the smallest index: ties were sorted by index */
      g[ng].count = 0;
      g[ng].members = &idx[i];
      ng++;
    }
    g[ng - 1].count++;
  }
  qsort(g, ng, sizeof *g, cmp_group);
  *order = idx;
  *groups = g;
  return ng;
}

/* ---- writing ----------------------------------------------------------------------------- */

static const char *module_name(const fl_dump *d, const fl_symbol *e) {
  return e->module >= 0 ? fl_dump_basename(d->modules[e->module].path) : NULL;
}

static void print_location(FILE *out, const fl_dump *d, const fl_symbol *e) {
  if (e->file != NULL)
    fprintf(out, "%s:%d", e->file, e->line);
  else if (e->module >= 0)
    fprintf(out, "?? (%s)", module_name(d, e));
  else
    fputs("??", out);
}

static void print_summary(FILE *out, const fl_dump *d, const group *g, int ng) {
  fprintf(out, "thread profile: total %d\n", d->nthreads);
  for (int k = 0; k < ng; k++) {
    const fl_thread *t = &d->threads[g[k].first];

    fprintf(out, "%d @", g[k].count);
    for (int j = 0; j < t->nframes; j++)
      fprintf(out, " 0x%llx", (unsigned long long)t->frames[j].pc);
    if (t->nframes == 0) fputs(" (no frames)", out);
    fputc('\n', out);
    for (int j = 0; j < t->nframes; j++) {
      const fl_symbol *e = t->frames[j].sym;

      for (int k = 0; k < e->ninlined; k++) {
        fprintf(out, "#\t0x%llx\t%s\t", (unsigned long long)e->pc, e->inlined[k].function);
        if (e->inlined[k].file != NULL)
          fprintf(out, "%s:%d\n", e->inlined[k].file, e->inlined[k].line);
        else
          fputs("??\n", out);
      }
      fprintf(out, "#\t0x%llx\t", (unsigned long long)e->pc);
      if (e->function != NULL)
        fprintf(out, "%s+0x%llx\t", e->function, (unsigned long long)e->function_offset);
      else if (e->module >= 0)
        fprintf(out, "%s+0x%llx\t", module_name(d, e), (unsigned long long)e->module_offset);
      else
        fputs("??\t", out);
      print_location(out, d, e);
      fputc('\n', out);
    }
    if (t->elided) fputs("#\t...additional frames elided...\n", out);
    fputs("# threads:", out);
    for (int m = 0; m < g[k].count; m++) fprintf(out, " %d", (int)d->threads[g[k].members[m]].tid);
    fputs("\n\n", out);
  }
}

static void print_thread(FILE *out, const fl_dump *d, const fl_thread *t) {
  char idle[48] = "";

  if (t->idle_ns > 0) fl_dump_format_duration(t->idle_ns, idle, sizeof idle);
  fprintf(out, "thread %d \"%s\" [%s%s%s%s%s]:\n", (int)t->tid, t->name, t->state,
          t->waits[0] ? ", " : "", t->waits, idle[0] ? ", idle " : "", idle);
  for (int j = 0; j < t->nframes; j++) {
    const fl_frame *f = &t->frames[j];
    const fl_symbol *e = f->sym;
    /* The offset is from the real pc, as Go prints it; the line is the call's (pc-1). */
    unsigned long long off = e->function_offset + (f->activation ? 0 : 1);

    /* Inlined functions as Go prints them: a frame each, without an offset. */
    for (int k = 0; k < e->ninlined; k++) {
      if (e->inlined[k].file != NULL)
        fprintf(out, "%s(...)\n\t%s:%d\n", e->inlined[k].function, e->inlined[k].file,
                e->inlined[k].line);
      else
        fprintf(out, "%s(...)\n\t??\n", e->inlined[k].function);
    }
    if (e->function == NULL) {
      fputs("??\n", out);
      if (e->module >= 0)
        fprintf(out, "\t0x%llx (%s+0x%llx)\n", (unsigned long long)f->pc, module_name(d, e),
                (unsigned long long)e->module_offset + !f->activation);
      else
        fprintf(out, "\t0x%llx\n", (unsigned long long)f->pc);
      continue;
    }
    fprintf(out, "%s(...)\n\t", e->function);
    print_location(out, d, e);
    fprintf(out, " +0x%llx\n", off);
  }
  if (t->elided) fputs("...additional frames elided...\n", out);
  if (t->stop_reason[0] != '\0') fprintf(out, "...unwinding stopped: %s\n", t->stop_reason);
  fputc('\n', out);
}

void fl_dump_write_header(const fl_dump *d, FILE *out) {
  char stamp[64], zone[8];
  struct tm tm;

  fprintf(out, "thread dump: %s, pid %d (%s)\n", d->label, (int)d->pid, d->comm);
  if (d->command[0] != '\0')
    fprintf(out, "command: %s%s\n", d->command, d->command_cut ? " ..." : "");
  localtime_r(&d->when.tv_sec, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  strftime(zone, sizeof zone, "%z", &tm);
  fprintf(out, "when: %s.%03ld%s\n", stamp, d->when.tv_nsec / 1000000, zone);
  if (d->why[0] != '\0') fprintf(out, "why: %s\n", d->why);
  if (d->consistent)
    fputs("snapshot: the process was stopped for the whole dump; the threads form one "
          "consistent picture\n",
          out);
  else
    fputs("snapshot: the process was running; each thread was stopped only while it was "
          "unwound, so threads may show slightly different moments\n",
          out);
  fprintf(out, "threads: %d, unwound in %.1f ms\n", d->nthreads, d->elapsed_ms);
}

int fl_dump_write_text(const fl_dump *d, FILE *out, char *err, size_t errlen) {
  int *order = NULL, ngroups;
  group *groups = NULL;

  ngroups = group_threads(d, &order, &groups);
  if (ngroups < 0) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  fl_dump_write_header(d, out);
  fputc('\n', out);
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
    fputc('\n', out);
  }
  print_summary(out, d, groups, ngroups);
  for (int i = 0; i < d->nthreads; i++) print_thread(out, d, &d->threads[i]);
  free(order);
  free(groups);
  if (fflush(out) != 0 || ferror(out)) {
    fl_set_err(err, errlen, "%s", strerror(errno ? errno : EIO));
    return -1;
  }
  return 0;
}
