#include "dump_pprof.h"
#include "dump_text.h"
#include "profile.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

/* Labels a sample can have (see the header). */
#define MAX_LABELS 6

/* The string table, each string once; index 0 is "" as the format requires. */
typedef struct {
  char **s;
  size_t n, cap;
  size_t *slots; /* open addressing: index + 1 */
  size_t nslots;
  bool oom;
} strtab;

/* Functions, each (name, file) once. */
typedef struct {
  pb_function *f;
  size_t n;
  size_t *slots;
  size_t nslots;
} functab;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */

  for (; *s != '\0'; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int strtab_grow_slots(strtab *t) {
  size_t nslots = t->nslots ? t->nslots * 2 : 256;
  size_t *slots = calloc(nslots, sizeof *slots);

  if (slots == NULL) return -1;
  for (size_t i = 0; i < t->n; i++) {
    size_t k = hash_str(t->s[i]) & (nslots - 1);

    while (slots[k] != 0) k = (k + 1) & (nslots - 1);
    slots[k] = i + 1;
  }
  free(t->slots);
  t->slots = slots;
  t->nslots = nslots;
  return 0;
}

/* The index of s in the table, adding a copy if new. 0 ("") when out of memory (t->oom set). */
static int64_t intern(strtab *t, const char *s) {
  size_t k;

  if (t->oom) return 0;
  if (2 * (t->n + 1) > t->nslots && strtab_grow_slots(t) != 0) goto oom;
  k = hash_str(s) & (t->nslots - 1);
  while (t->slots[k] != 0) {
    if (strcmp(t->s[t->slots[k] - 1], s) == 0) return (int64_t)(t->slots[k] - 1);
    k = (k + 1) & (t->nslots - 1);
  }
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    char **r = realloc(t->s, cap * sizeof *r);

    if (r == NULL) goto oom;
    t->s = r;
    t->cap = cap;
  }
  t->s[t->n] = strdup(s);
  if (t->s[t->n] == NULL) goto oom;
  t->slots[k] = ++t->n;
  return (int64_t)(t->n - 1);
oom:
  t->oom = true;
  return 0;
}

/* The id of the function (name, file), adding it if new; f has room for every symbol. */
static uint64_t function_id(functab *ft, int64_t name, int64_t file) {
  uint64_t h = ((uint64_t)name * 0x9E3779B97F4A7C15ull) ^ (uint64_t)file;
  size_t k = (size_t)(h >> 17) & (ft->nslots - 1);
  pb_function *f;

  while (ft->slots[k] != 0) {
    f = &ft->f[ft->slots[k] - 1];
    if (f->name == name && f->filename == file) return f->id;
    k = (k + 1) & (ft->nslots - 1);
  }
  f = &ft->f[ft->n];
  perftools__profiles__function__init(f);
  f->id = ft->n + 1;
  f->name = name;
  f->system_name = name;
  f->filename = file;
  ft->slots[k] = ++ft->n;
  return f->id;
}

/* Deflates buf into out as one gzip member. */
static int write_gzip(const uint8_t *buf, size_t len, FILE *out, char *err, size_t errlen) {
  z_stream z = {0};
  unsigned char chunk[16384];
  int rc;

  /* 15 + 16: a gzip header and trailer around the deflate stream, as pprof expects. */
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    fl_set_err(err, errlen, "zlib: %s", z.msg ? z.msg : "cannot start deflate");
    return -1;
  }
  z.next_in = (Bytef *)buf;
  z.avail_in = (uInt)len;
  do {
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    rc = deflate(&z, Z_FINISH);
    if (rc == Z_STREAM_ERROR) break;
    if (fwrite(chunk, 1, sizeof chunk - z.avail_out, out) != sizeof chunk - z.avail_out) {
      fl_set_err(err, errlen, "%s", strerror(errno ? errno : EIO));
      deflateEnd(&z);
      return -1;
    }
  } while (rc == Z_OK || rc == Z_BUF_ERROR);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    fl_set_err(err, errlen, "zlib: deflate failed (%d)", rc);
    return -1;
  }
  if (fflush(out) != 0 || ferror(out)) {
    fl_set_err(err, errlen, "%s", strerror(errno ? errno : EIO));
    return -1;
  }
  return 0;
}

static void str_label(pb_label *l, strtab *st, const char *key, const char *value) {
  perftools__profiles__label__init(l);
  l->key = intern(st, key);
  l->str = intern(st, value);
}

static void num_label(pb_label *l, strtab *st, const char *key, int64_t num, const char *unit) {
  perftools__profiles__label__init(l);
  l->key = intern(st, key);
  l->num = num;
  if (unit != NULL) l->num_unit = intern(st, unit);
}

int fl_dump_write_pprof(const fl_dump *d, FILE *out, char *err, size_t errlen) {
  pb_profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
  pb_value_type type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT, *types[1] = {&type};
  strtab st = {0};
  functab ft = {0};
  size_t nsym = d->nsymbols, nthr = (size_t)d->nthreads, nmod = (size_t)d->nmodules, nframes = 0;
  size_t ncomments = 0, nlabels = 0, nlines = 0;
  pb_mapping *maps = NULL, **mapp = NULL;
  pb_location *locs = NULL, **locp = NULL;
  pb_line *lines = NULL, **linep = NULL;
  pb_function **funcp = NULL;
  pb_sample *samples = NULL, **samplep = NULL;
  pb_label *labels = NULL, **labelp = NULL;
  uint64_t *location_ids = NULL;
  int64_t *values = NULL, *comments = NULL;
  uint8_t *buf = NULL;
  size_t len;
  int rv = -1;

  for (size_t i = 0; i < nthr; i++) nframes += (size_t)d->threads[i].nframes;
  maps = calloc(nmod + 1, sizeof *maps);
  mapp = calloc(nmod + 1, sizeof *mapp);
  locs = calloc(nsym + 1, sizeof *locs);
  locp = calloc(nsym + 1, sizeof *locp);
  nlines = 1; /* the line of the "(not unwound)" location */
  for (size_t i = 0; i < nsym; i++) nlines += 1 + (size_t)d->symbols[i].ninlined;
  lines = calloc(nlines + 1, sizeof *lines);
  linep = calloc(nlines + 1, sizeof *linep);
  ft.f = calloc(nlines + 1, sizeof *ft.f);
  funcp = calloc(nlines + 1, sizeof *funcp);
  for (ft.nslots = 64; ft.nslots < 2 * (nlines + 1);) ft.nslots *= 2;
  nlines = 0;
  ft.slots = calloc(ft.nslots, sizeof *ft.slots);
  samples = calloc(nthr + 1, sizeof *samples);
  samplep = calloc(nthr + 1, sizeof *samplep);
  labels = calloc(MAX_LABELS * (nthr + 1), sizeof *labels);
  labelp = calloc(MAX_LABELS * (nthr + 1), sizeof *labelp);
  location_ids = calloc(nframes + nthr + 1, sizeof *location_ids);
  values = calloc(nthr + 1, sizeof *values);
  comments = calloc(d->npending + 8, sizeof *comments);
  if (maps == NULL || mapp == NULL || locs == NULL || locp == NULL || lines == NULL ||
      linep == NULL || ft.f == NULL || funcp == NULL || ft.slots == NULL || samples == NULL ||
      samplep == NULL || labels == NULL || labelp == NULL || location_ids == NULL ||
      values == NULL || comments == NULL)
    goto oom;
  intern(&st, "");

  type.type = intern(&st, "threads");
  type.unit = intern(&st, "count");
  p.n_sample_type = 1;
  p.sample_type = types;
  p.period_type = &type;
  p.period = 1;
  p.time_nanos = (int64_t)d->when.tv_sec * 1000000000 + d->when.tv_nsec;
  p.duration_nanos = (int64_t)(d->elapsed_ms * 1e6);

  /* The header lines a reader of the human form sees first, and the pending operations. */
  {
    char line[1024];

    snprintf(line, sizeof line, "thread dump: %s, pid %d (%s)", d->label, (int)d->pid, d->comm);
    comments[ncomments++] = intern(&st, line);
    if (d->command[0] != '\0') {
      snprintf(line, sizeof line, "command: %s%s", d->command, d->command_cut ? " ..." : "");
      comments[ncomments++] = intern(&st, line);
    }
    if (d->why[0] != '\0') {
      snprintf(line, sizeof line, "why: %s", d->why);
      comments[ncomments++] = intern(&st, line);
    }
    comments[ncomments++] =
        intern(&st, d->consistent ? "snapshot: the process was stopped for the whole dump"
                                  : "snapshot: the process was running; each thread was stopped "
                                    "only while it was unwound");
    for (size_t i = 0; i < d->npending; i++) {
      char op[512];

      fl_dump_format_pending(&d->pending[i], op, sizeof op);
      snprintf(line, sizeof line, "pending operation: %s", op);
      comments[ncomments++] = intern(&st, line);
    }
  }
  p.n_comment = ncomments;
  p.comment = comments;

  for (size_t i = 0; i < nmod; i++) {
    const fl_module *m = &d->modules[i];

    perftools__profiles__mapping__init(&maps[i]);
    maps[i].id = i + 1;
    maps[i].memory_start = m->start;
    maps[i].memory_limit = m->end;
    maps[i].filename = intern(&st, m->path);
    maps[i].build_id = intern(&st, m->build_id);
    /* Symbolized here already: pprof must not look the addresses up again. */
    maps[i].has_functions = maps[i].has_filenames = maps[i].has_line_numbers = true;
    maps[i].has_inline_frames = true;
    mapp[i] = &maps[i];
  }
  p.n_mapping = nmod;
  p.mapping = mapp;

  for (size_t i = 0; i < nsym; i++) {
    const fl_symbol *e = &d->symbols[i];
    pb_location *l = &locs[i];
    char synth[320];
    int64_t name, file;

    perftools__profiles__location__init(l);
    l->id = i + 1;
    l->mapping_id = e->module >= 0 ? (uint64_t)e->module + 1 : 0;
    l->address = e->pc;
    if (e->function != NULL) {
      name = intern(&st, e->function);
    } else {
      if (e->module >= 0)
        snprintf(synth, sizeof synth, "%s+0x%llx", fl_dump_basename(d->modules[e->module].path),
                 (unsigned long long)e->module_offset);
      else
        snprintf(synth, sizeof synth, "0x%llx", (unsigned long long)e->pc);
      name = intern(&st, synth);
    }
    /* Inlined functions first: pprof reads the last line as the caller they were inlined
     * into. */
    l->line = &linep[nlines];
    for (int k = 0; k < e->ninlined; k++) {
      int64_t iname = intern(&st, e->inlined[k].function);
      int64_t ifile = e->inlined[k].file != NULL ? intern(&st, e->inlined[k].file) : 0;

      perftools__profiles__line__init(&lines[nlines]);
      lines[nlines].function_id = function_id(&ft, iname, ifile);
      lines[nlines].line = e->inlined[k].file != NULL ? e->inlined[k].line : 0;
      linep[nlines] = &lines[nlines];
      nlines++;
    }
    file = e->file != NULL ? intern(&st, e->file) : 0;
    perftools__profiles__line__init(&lines[nlines]);
    lines[nlines].function_id = function_id(&ft, name, file);
    lines[nlines].line = e->file != NULL ? e->line : 0;
    linep[nlines] = &lines[nlines];
    nlines++;
    l->n_line = 1 + (size_t)e->ninlined;
    locp[i] = l;
  }
  /* A thread without frames still gets its sample, which pprof would not show without a
   * location: one that says so, after the symbols' (id nsym + 1), added only if used. */
  {
    pb_location *l = &locs[nsym];

    perftools__profiles__location__init(l);
    l->id = nsym + 1;
    perftools__profiles__line__init(&lines[nlines]);
    lines[nlines].function_id = function_id(&ft, intern(&st, "(not unwound)"), 0);
    linep[nlines] = &lines[nlines];
    l->n_line = 1;
    l->line = &linep[nlines++];
    locp[nsym] = l;
  }
  p.n_location = nsym;
  for (size_t i = 0; i < nthr; i++)
    if (d->threads[i].nframes == 0) p.n_location = nsym + 1;
  p.location = locp;
  for (size_t i = 0; i < ft.n; i++) funcp[i] = &ft.f[i];
  p.n_function = ft.n;
  p.function = funcp;

  nframes = 0;
  for (size_t i = 0; i < nthr; i++) {
    const fl_thread *t = &d->threads[i];
    pb_sample *s = &samples[i];
    pb_label **lp = &labelp[nlabels];
    size_t n = 0;

    perftools__profiles__sample__init(s);
    s->location_id = &location_ids[nframes];
    for (int j = 0; j < t->nframes; j++)
      location_ids[nframes++] = (uint64_t)(t->frames[j].sym - d->symbols) + 1;
    s->n_location_id = (size_t)t->nframes;
    if (t->nframes == 0) {
      location_ids[nframes++] = nsym + 1;
      s->n_location_id = 1;
    }
    values[i] = 1;
    s->n_value = 1;
    s->value = &values[i];
    pb_label *lb = &labels[nlabels];

    str_label(&lb[n++], &st, "thread", t->name);
    str_label(&lb[n++], &st, "state", t->state);
    if (t->waits[0] != '\0') str_label(&lb[n++], &st, "waits", t->waits);
    num_label(&lb[n++], &st, "tid", t->tid, NULL);
    if (t->stop_reason[0] != '\0') str_label(&lb[n++], &st, "unwinding", t->stop_reason);
    if (t->idle_ns > 0) num_label(&lb[n++], &st, "idle", t->idle_ns, "nanoseconds");
    for (size_t k = 0; k < n; k++) lp[k] = &lb[k];
    s->n_label = n;
    s->label = lp;
    nlabels += n;
    samplep[i] = s;
  }
  p.n_sample = nthr;
  p.sample = samplep;

  if (st.oom) goto oom;
  p.n_string_table = st.n;
  p.string_table = st.s;
  len = perftools__profiles__profile__get_packed_size(&p);
  buf = malloc(len ? len : 1);
  if (buf == NULL) goto oom;
  perftools__profiles__profile__pack(&p, buf);
  rv = write_gzip(buf, len, out, err, errlen);
  goto out;

oom:
  fl_set_err(err, errlen, "out of memory");
out:
  free(buf);
  for (size_t i = 0; i < st.n; i++) free(st.s[i]);
  free(st.s);
  free(st.slots);
  free(maps);
  free(mapp);
  free(locs);
  free(locp);
  free(lines);
  free(linep);
  free(ft.f);
  free(ft.slots);
  free(funcp);
  free(samples);
  free(samplep);
  free(labels);
  free(labelp);
  free(location_ids);
  free(values);
  free(comments);
  return rv;
}
