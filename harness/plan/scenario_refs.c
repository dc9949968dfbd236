#include "scenario_refs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int fl_scenario_refs_list(const fl_scenario *s, fl_scenario_refs *out, char *err, size_t errlen) {
  /* No key of today's scenario language names a file: the list is empty. Each key that does
   * adds its files here, in the order of the file (scenario_refs.h "ADDING A KEY"). */
  (void)s;
  (void)err;
  (void)errlen;
  out->refs = NULL;
  out->n = 0;
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
