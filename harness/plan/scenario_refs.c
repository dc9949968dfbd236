#include "scenario_refs.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protoc.h"

const char *fl_ref_kind_name(fl_ref_kind k) {
  switch (k) {
  case FL_REF_FILE: return "file";
  case FL_REF_PROGRAM: return "program";
  }
  return "(unknown)";
}

int fl_scenario_ref_path(const fl_scenario *s, const char *written, char *out, size_t len,
                         char *err, size_t errlen) {
  const char *slash = s->path ? strrchr(s->path, '/') : NULL;
  int n;
  if (written[0] == '/' || !slash)
    n = snprintf(out, len, "%s", written);
  else
    n = snprintf(out, len, "%.*s/%s", (int)(slash - s->path), s->path, written);
  if (n < 0 || (size_t)n >= len) {
    fl_set_err(err, errlen, "%s: the path of '%s' is longer than %zu bytes", s->path, written,
               len - 1);
    return -1;
  }
  return 0;
}

/* execvp's lookup, without running anything: the first PATH entry holding an executable of
 * that name. */
static int path_lookup(const char *name, char *out, size_t len) {
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path; *p;) {
    size_t dl = strcspn(p, ":");
    int n = dl ? snprintf(out, len, "%.*s/%s", (int)dl, p, name) : snprintf(out, len, "%s", name);
    if (n > 0 && (size_t)n < len && access(out, X_OK) == 0) return 0;
    p += dl;
    if (*p == ':') p++;
  }
  return -1;
}

int fl_scenario_refs_add(fl_scenario_refs *r, const fl_scenario *s, fl_ref_kind kind,
                         const char *key, const char *written, int line, int col, char *err,
                         size_t errlen) {
  if (!*written) {
    fl_set_err(err, errlen, "%s:%d:%d: %s: an empty file name", s->path, line, col, key);
    return -1;
  }
  for (const unsigned char *p = (const unsigned char *)written; *p; p++)
    if (*p < 0x20 || *p == 0x7f) {
      fl_set_err(err, errlen, "%s:%d:%d: %s: the file name holds a control character", s->path,
                 line, col, key);
      return -1;
    }
  char path[PATH_MAX];
  if (kind == FL_REF_PROGRAM && !strchr(written, '/')) {
    if (path_lookup(written, path, sizeof path) < 0) snprintf(path, sizeof path, "%s", written);
  } else if (fl_scenario_ref_path(s, written, path, sizeof path, err, errlen) < 0) {
    return -1;
  }
  fl_scenario_ref *grown = realloc(r->refs, (r->n + 1) * sizeof *grown);
  if (!grown) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  r->refs = grown;
  fl_scenario_ref *ref = &r->refs[r->n];
  *ref = (fl_scenario_ref){.kind = kind,
                           .key = strdup(key),
                           .written = strdup(written),
                           .path = strdup(path),
                           .line = line,
                           .col = col};
  r->n++;
  if (!ref->key || !ref->written || !ref->path) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

/* The folder names resolve against, absolute (lexically: protoc is given absolute paths, and
 * its answers keep the prefixes it was given). */
static int base_abs(const fl_scenario *s, char *out, size_t len, char *err, size_t errlen) {
  const char *slash = s->path ? strrchr(s->path, '/') : NULL;
  char cwd[PATH_MAX];
  if ((!s->path || s->path[0] != '/') && !getcwd(cwd, sizeof cwd)) {
    fl_set_err(err, errlen, "cannot tell the current directory: %s", strerror(errno));
    return -1;
  }
  int n;
  if (s->path && s->path[0] == '/')
    n = snprintf(out, len, "%.*s", slash == s->path ? 1 : (int)(slash - s->path), s->path);
  else if (slash)
    n = snprintf(out, len, "%s/%.*s", cwd, (int)(slash - s->path), s->path);
  else
    n = snprintf(out, len, "%s", cwd);
  if (n < 0 || (size_t)n >= len) {
    fl_set_err(err, errlen, "%s: the scenario's folder is too long a path", s->path);
    return -1;
  }
  return 0;
}

/* A .proto and every file protoc reads for it (its imports, transitively), each named as the
 * scenario would name it: the import path it was found under, joined with the rest. Imports
 * from protoc's own include folder (google/protobuf/...) come with protoc and are not listed. */
static int add_proto(fl_scenario_refs *r, const fl_scenario *s, const char *key,
                     const fl_proto_ref *p, char *err, size_t errlen) {
  if (!p->file) return 0;
  if (fl_scenario_refs_add(r, s, FL_REF_FILE, key, p->file, p->file_at.line, p->file_at.col, err,
                           errlen) < 0)
    return -1;
  char base[PATH_MAX];
  if (base_abs(s, base, sizeof base, err, errlen) < 0) return -1;
  size_t nd = p->n_import_paths ? p->n_import_paths : 1;
  char **dirs = calloc(nd, sizeof *dirs), *file = NULL;
  const char **written = calloc(nd, sizeof *written);
  char *own = NULL, **deps = NULL;
  size_t n_deps = 0;
  int rc = -1;
  if (!dirs || !written) goto oom;
  for (size_t i = 0; i < p->n_import_paths; i++) {
    written[i] = p->import_paths[i];
    if ((p->import_paths[i][0] == '/' ? asprintf(&dirs[i], "%s", p->import_paths[i])
                                      : asprintf(&dirs[i], "%s/%s", base, p->import_paths[i])) < 0)
      goto oom;
  }
  if (!p->n_import_paths) {
    const char *slash = strrchr(p->file, '/');
    if (asprintf(&own, "%.*s", slash ? (int)(slash - p->file) : 1, slash ? p->file : ".") < 0)
      goto oom;
    written[0] = own;
    if ((own[0] == '/' ? asprintf(&dirs[0], "%s", own) : asprintf(&dirs[0], "%s/%s", base, own)) <
        0)
      goto oom;
  }
  if ((p->file[0] == '/' ? asprintf(&file, "%s", p->file)
                         : asprintf(&file, "%s/%s", base, p->file)) < 0)
    goto oom;
  /* protoc wants the file under an import path by an exact prefix: canonical paths, as
   * fl_scenario_resolve gives it (what does not exist stays as written; protoc then says so). */
  char canon[PATH_MAX];
  for (size_t i = 0; i < nd; i++)
    if (realpath(dirs[i], canon)) {
      free(dirs[i]);
      if (!(dirs[i] = strdup(canon))) goto oom;
    }
  if (realpath(file, canon)) {
    free(file);
    if (!(file = strdup(canon))) goto oom;
  }
  fl_protoc_source src = {
      .file = file, .import_dirs = (const char *const *)dirs, .n_import_dirs = p->n_import_paths};
  fl_protoc_error pe;
  if (fl_protoc_dependencies(&src, &deps, &n_deps, &pe) < 0) {
    fl_set_err(err, errlen, "%s:%d:%d: %s: cannot list what '%s' imports: %s", s->path,
               p->file_at.line, p->file_at.col, key, p->file, pe.msg);
    goto out;
  }
  for (size_t i = 0; i < n_deps; i++)
    for (size_t d = 0; d < nd; d++) {
      if (!fl_protoc_inside(deps[i], dirs[d])) continue;
      char name[PATH_MAX * 2];
      snprintf(name, sizeof name, "%s/%s", written[d], deps[i] + strlen(dirs[d]) + 1);
      if (fl_scenario_refs_add(r, s, FL_REF_FILE, key, name, p->file_at.line, p->file_at.col, err,
                               errlen) < 0)
        goto out;
      break;
    }
  rc = 0;
  goto out;
oom:
  fl_set_err(err, errlen, "out of memory");
out:
  for (size_t i = 0; i < nd && dirs; i++) free(dirs[i]);
  for (size_t i = 0; i < n_deps; i++) free(deps[i]);
  free(deps);
  free(dirs);
  free(written);
  free(own);
  free(file);
  return rc;
}

static int add_side(fl_scenario_refs *r, const fl_scenario *s, const fl_side_plan *sp, bool server,
                    char *err, size_t errlen) {
  const fl_external_plan *e = &sp->external;
  if (e->present && e->argv && e->argv[0] &&
      fl_scenario_refs_add(r, s, FL_REF_PROGRAM, server ? "server.exec" : "client.exec", e->argv[0],
                           e->line, e->col, err, errlen) < 0)
    return -1;
  for (size_t i = 0; i < sp->n_steps; i++) {
    const fl_foreign_payload *f = sp->steps[i].foreign;
    if (!f) continue;
    if (add_proto(r, s, "payload.proto", &f->proto, err, errlen) < 0) return -1;
    if (f->file && fl_scenario_refs_add(r, s, FL_REF_FILE, "payload.file", f->file, f->file_at.line,
                                        f->file_at.col, err, errlen) < 0)
      return -1;
  }
  return 0;
}

int fl_scenario_refs_list(const fl_scenario *s, fl_scenario_refs *out, char *err, size_t errlen) {
  out->refs = NULL;
  out->n = 0;
  /* In the order of the file: decode: first, as the top-level keys stand before the sides in
   * every scenario of the library; then each side's program and payloads. */
  if (s->decode.present && add_proto(out, s, "decode.proto", &s->decode.proto, err, errlen) < 0)
    return -1;
  if (add_side(out, s, &s->server, true, err, errlen) < 0 ||
      add_side(out, s, &s->client, false, err, errlen) < 0)
    return -1;
  return 0;
}

void fl_scenario_refs_free(fl_scenario_refs *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->refs[i].key);
    free(r->refs[i].written);
    free(r->refs[i].path);
  }
  free(r->refs);
  r->refs = NULL;
  r->n = 0;
}
