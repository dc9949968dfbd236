#include "bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle_int.h"
#include "digest.h"
#include "jsonout.h"
#include "report.h"

struct fl_bundle_run {
  char dir[PATH_MAX]; /* as named, without trailing slashes */
  int dfd;
  char **files; /* the run files to pack, sorted */
  size_t n_files;
  char **left_out;
  size_t n_left_out;
  json_t *report;
  char *scenario_text;
  size_t scenario_len;
  fl_scenario *s;
  char original[PATH_MAX]; /* the scenario file the run named */
  fl_scenario_refs refs;
  /* Where each FL_REF_FILE goes, relative to TOP (NULL for a program), and the scenario's copy
   * beside them. Two names may lead to one place ("a.proto", "./a.proto"): packed once. */
  char **stored;
  char scenario_copy[FL_BUNDLE_PATH_MAX];
  char top[128];
};

/* ---- names ------------------------------------------------------------------------------ */

int fl_bundle_name_check(const char *name, char *why, size_t len) {
  size_t n = strlen(name);
  if (n == 0) return fl_set_err(why, len, "is empty"), -1;
  if (n > FL_BUNDLE_PATH_MAX)
    return fl_set_err(why, len, "is longer than %d bytes", FL_BUNDLE_PATH_MAX), -1;
  if (name[0] == '/')
    return fl_set_err(why, len, "is an absolute path; a bundle's entries are relative"), -1;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    if (*p < 0x20 || *p == 0x7f) return fl_set_err(why, len, "holds a control character"), -1;
  int depth = 0;
  for (const char *p = name; *p;) {
    size_t part = strcspn(p, "/");
    bool last = p[part] == '\0' || (p[part] == '/' && p[part + 1] == '\0');
    if (part == 2 && !strncmp(p, "..", 2))
      return fl_set_err(why, len, "climbs out of the bundle with '..'"), -1;
    if (part == 1 && p[0] == '.') return fl_set_err(why, len, "holds a '.' part"), -1;
    if (part == 0) return fl_set_err(why, len, "holds an empty part ('//')"), -1;
    if (part > NAME_MAX)
      return fl_set_err(why, len, "has a part longer than %d bytes", NAME_MAX), -1;
    if (++depth > FL_BUNDLE_DEPTH_MAX)
      return fl_set_err(why, len, "is more than %d folders deep", FL_BUNDLE_DEPTH_MAX), -1;
    p += part;
    if (last) break;
    p++;
  }
  return 0;
}

/* A name of the run directory that a bundle packs (FL_BUNDLE_RUN_FILES). */
static bool is_run_file(const char *name) {
  static const char *const patterns[] = {FL_BUNDLE_RUN_FILES};
  for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
    if (fnmatch(patterns[i], name, FNM_PERIOD) == 0) return true;
  return false;
}

static bool plain_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 100 || s[0] == '.') return false;
  for (; *s; s++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", *s))
      return false;
  return true;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push(char ***list, size_t *n, const char *name) {
  char **grown = realloc(*list, (*n + 1) * sizeof *grown);
  if (!grown) return -1;
  *list = grown;
  if (!(grown[*n] = strdup(name))) return -1;
  (*n)++;
  return 0;
}

static void free_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++) free(list[i]);
  free(list);
}

/* ---- reading the run directory ---------------------------------------------------------- */

/* A whole file of the run directory, no link followed, at most `cap` bytes. */
static int read_at(const fl_bundle_run *r, const char *name, size_t cap, char **text, size_t *len,
                   char *err, size_t errlen) {
  int fd = openat(r->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fl_set_err(err, errlen, "cannot read %s/%s: %s", r->dir, name, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > cap) {
    errno = 0;
    fl_set_err(err, errlen, "%s/%s: %s", r->dir, name,
               S_ISREG(st.st_mode) ? "too large to read" : "not a regular file");
    close(fd);
    return -1;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  ssize_t n = 1;
  while (buf && got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
    got += (size_t)n;
  int saved = errno;
  close(fd);
  if (!buf || n < 0) {
    fl_set_err(err, errlen, "cannot read %s/%s: %s", r->dir, name,
               buf ? strerror(saved) : "out of memory");
    free(buf);
    return -1;
  }
  buf[got] = '\0';
  *text = buf;
  *len = got;
  return 0;
}

/* Splits a path into its parts, lexically: "." and empty parts dropped, ".." taking the part
 * before it away, or counted in *ups when there is none. Returns the number of parts, or -1 if
 * there are more than max or one is longer than NAME_MAX. */
static int split(const char *path, char parts[][NAME_MAX + 1], int max, int *ups) {
  int n = 0;
  *ups = 0;
  for (const char *p = path; *p;) {
    size_t len = strcspn(p, "/");
    if (len == 2 && !strncmp(p, "..", 2)) {
      if (n > 0)
        n--;
      else
        (*ups)++;
    } else if (len > 0 && !(len == 1 && p[0] == '.')) {
      if (n == max || len > NAME_MAX) return -1;
      memcpy(parts[n], p, len);
      parts[n++][len] = '\0';
    }
    p += len;
    if (*p == '/') p++;
  }
  return n;
}

/* Joins parts [from, to) after `prefix` into out. */
static int join(char *out, size_t len, const char *prefix, char parts[][NAME_MAX + 1], int from,
                int to) {
  size_t o = (size_t)snprintf(out, len, "%s", prefix);
  for (int i = from; i < to && o < len; i++)
    o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "/" : "", parts[i]);
  return o < len ? 0 : -1;
}

#define MAX_PARTS FL_BUNDLE_DEPTH_MAX

int fl_bundle_layout(const char *dir, const char *const *names, size_t n,
                     char copy[FL_BUNDLE_PATH_MAX], char **stored, size_t *bad, char *why,
                     size_t whylen) {
  static char dir_parts[4 * MAX_PARTS][NAME_MAX + 1], parts[MAX_PARTS][NAME_MAX + 1];
  for (size_t i = 0; i < n; i++) stored[i] = NULL;
  snprintf(copy, FL_BUNDLE_PATH_MAX, "scenario.yaml");
  *bad = 0;
  if (n == 0) return 0;
  int ups, m = split(dir, dir_parts, 4 * MAX_PARTS, &ups), k = 0;
  if (m < 0) return fl_set_err(why, whylen, "the scenario's folder is too deep to bundle"), -1;
  for (size_t i = 0; i < n; i++) {
    int np = split(names[i], parts, MAX_PARTS, &ups);
    *bad = i;
    if (names[i][0] == '/') return fl_set_err(why, whylen, "is an absolute path"), -1;
    if (np < 0) return fl_set_err(why, whylen, "is too long to bundle"), -1;
    if (np == 0) return fl_set_err(why, whylen, "names a folder, not a file"), -1;
    if (ups > m) return fl_set_err(why, whylen, "climbs above the root folder"), -1;
    if (ups > k) k = ups;
  }
  char anchor[FL_BUNDLE_PATH_MAX];
  if (join(anchor, sizeof anchor, "files", dir_parts, m - k, m) < 0 ||
      snprintf(copy, FL_BUNDLE_PATH_MAX, "%s/scenario.yaml", anchor) >= FL_BUNDLE_PATH_MAX)
    return fl_set_err(why, whylen, "the scenario's folder is too deep to bundle"), -1;
  for (size_t i = 0; i < n; i++) {
    int np = split(names[i], parts, MAX_PARTS, &ups);
    char base[FL_BUNDLE_PATH_MAX], place[FL_BUNDLE_PATH_MAX], reason[128];
    *bad = i;
    if (join(base, sizeof base, "files", dir_parts, m - k, m - ups) < 0 ||
        join(place, sizeof place, base, parts, 0, np) < 0)
      return fl_set_err(why, whylen, "is too long to bundle"), -1;
    if (fl_bundle_name_check(place, reason, sizeof reason) < 0)
      return fl_set_err(why, whylen, "cannot be bundled: its place %s", reason), -1;
    if (!strcmp(place, copy))
      return fl_set_err(why, whylen,
                        "is named like the bundle's copy of the scenario (scenario.yaml beside "
                        "it); rename it"),
             -1;
    if (!(stored[i] = strdup(place))) return fl_set_err(why, whylen, "out of memory"), -1;
  }
  *bad = 0;
  return 0;
}

/* Where each file the scenario refers to goes (fl_bundle_layout), after checking that each is
 * a relative name of a regular file that opens. */
static int lay_out_refs(fl_bundle_run *r, char *err, size_t errlen) {
  size_t n = r->refs.n, nf = 0;
  r->stored = calloc(n ? n : 1, sizeof *r->stored);
  const char **names = calloc(n ? n : 1, sizeof *names);
  size_t *which = calloc(n ? n : 1, sizeof *which);
  char **placed = calloc(n ? n : 1, sizeof *placed);
  int rc = -1;
  errno = 0;
  if (!r->stored || !names || !which || !placed) {
    errno = ENOMEM;
    fl_set_err(err, errlen, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    const fl_scenario_ref *ref = &r->refs.refs[i];
    if (ref->kind != FL_REF_FILE) continue;
    if (ref->written[0] == '/') {
      fl_set_err(err, errlen,
                 "%s:%d:%d: %s '%s' is an absolute path: a bundle reruns on other machines, "
                 "where that path is not the bundled file; write it relative to the scenario "
                 "file",
                 r->original, ref->line, ref->col, ref->key, ref->written);
      goto out;
    }
    int fd = open(ref->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
      int e = fd < 0 ? errno : 0;
      if (fd >= 0) close(fd);
      fl_set_err(err, errlen, "%s:%d:%d: %s '%s' (%s): %s%s", r->original, ref->line, ref->col,
                 ref->key, ref->written, ref->path, e ? "cannot open: " : "not a regular file",
                 e ? strerror(e) : "");
      if (e && r->original[0] != '/')
        fl_set_err(err + strlen(err), errlen - strlen(err),
                   " (the run named its scenario '%s', relative to the folder it ran in: bundle "
                   "from there)",
                   r->original);
      errno = 0; /* the scenario's to fix, as a broken scenario file is */
      goto out;
    }
    close(fd);
    which[nf] = i;
    names[nf++] = ref->written;
  }
  /* The folder of the scenario the run named, as an absolute path. */
  char dir[PATH_MAX * 2], cwd[PATH_MAX];
  const char *slash = strrchr(r->original, '/');
  if (r->original[0] != '/' && !getcwd(cwd, sizeof cwd)) {
    fl_set_err(err, errlen, "cannot tell the current directory: %s", strerror(errno));
    goto out;
  }
  if (r->original[0] == '/')
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - r->original), r->original);
  else if (slash)
    snprintf(dir, sizeof dir, "%s/%.*s", cwd, (int)(slash - r->original), r->original);
  else
    snprintf(dir, sizeof dir, "%s", cwd);
  size_t bad;
  char why[256];
  if (fl_bundle_layout(dir, names, nf, r->scenario_copy, placed, &bad, why, sizeof why) < 0) {
    const fl_scenario_ref *ref = &r->refs.refs[which[bad]];
    fl_set_err(err, errlen, "%s:%d:%d: %s '%s' %s", r->original, ref->line, ref->col, ref->key,
               ref->written, why);
    for (size_t i = 0; i < nf; i++) free(placed[i]);
    goto out;
  }
  for (size_t i = 0; i < nf; i++) r->stored[which[i]] = placed[i];
  rc = 0;
out:
  free(names);
  free(which);
  free(placed);
  return rc;
}

int fl_bundle_run_open(const char *dir, fl_bundle_run **out, char *err, size_t errlen) {
  *out = NULL;
  fl_bundle_run *r = calloc(1, sizeof *r);
  if (!r) return fl_set_err(err, errlen, "out of memory"), -1;
  r->dfd = -1;
  snprintf(r->dir, sizeof r->dir, "%s", dir);
  for (size_t n = strlen(r->dir); n > 1 && r->dir[n - 1] == '/'; n--) r->dir[n - 1] = '\0';
  DIR *d = NULL;
  errno = 0;

  r->dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (r->dfd < 0) {
    struct stat st;
    if (lstat(r->dir, &st) == 0 && S_ISLNK(st.st_mode)) {
      errno = 0;
      fl_set_err(err, errlen,
                 "%s: is a symbolic link; faultline does not follow links: name the directory "
                 "itself",
                 r->dir);
    } else if (errno == ENOTDIR) {
      errno = 0;
      fl_set_err(err, errlen, "%s: not a directory; bundle takes a run directory", r->dir);
    } else {
      fl_set_err(err, errlen, "%s: cannot open: %s", r->dir, strerror(errno));
    }
    goto fail;
  }
  int dup_fd = dup(r->dfd);
  if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
    if (dup_fd >= 0) close(dup_fd);
    fl_set_err(err, errlen, "%s: cannot read: %s", r->dir, strerror(errno));
    goto fail;
  }
  int64_t total = 0;
  for (struct dirent *de; (errno = 0, de = readdir(d));) {
    const char *name = de->d_name;
    if (name[0] == '.') continue; /* ".", "..", the marker, temporary names */
    if (!is_run_file(name)) {
      if (push(&r->left_out, &r->n_left_out, name) < 0) goto oom;
      continue;
    }
    struct stat st;
    if (fstatat(r->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      fl_set_err(err, errlen, "%s/%s: %s", r->dir, name, strerror(errno));
      goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
      errno = 0;
      fl_set_err(err, errlen,
                 "%s/%s: %s, not a regular file: a run writes regular files only; refusing to "
                 "bundle it",
                 r->dir, name, S_ISLNK(st.st_mode) ? "a symbolic link" : "something else");
      goto fail;
    }
    if (st.st_size > FL_BUNDLE_FILE_MAX || (total += st.st_size) > FL_BUNDLE_TOTAL_MAX) {
      errno = 0;
      fl_set_err(err, errlen, "%s/%s: %lld bytes, more than the %s a bundle may hold", r->dir, name,
                 (long long)st.st_size,
                 st.st_size > FL_BUNDLE_FILE_MAX ? "1 GiB a bundled file" : "4 GiB in all");
      goto fail;
    }
    if (push(&r->files, &r->n_files, name) < 0) goto oom;
  }
  if (errno) {
    fl_set_err(err, errlen, "%s: cannot read: %s", r->dir, strerror(errno));
    goto fail;
  }
  closedir(d);
  d = NULL;
  if (r->n_files) qsort(r->files, r->n_files, sizeof *r->files, cmp_names);
  if (r->n_left_out) qsort(r->left_out, r->n_left_out, sizeof *r->left_out, cmp_names);

  bool has_report = false, has_scenario = false;
  for (size_t i = 0; i < r->n_files; i++) {
    has_report |= !strcmp(r->files[i], "report.json");
    has_scenario |= !strcmp(r->files[i], "scenario.yaml");
  }
  if (!has_report || !has_scenario) {
    errno = 0;
    fl_set_err(err, errlen,
               "%s: no %s: not a faultline run directory (a folder of runs? name one of them)",
               r->dir, has_report ? "scenario.yaml" : "report.json");
    goto fail;
  }

  char *text;
  size_t len;
  if (read_at(r, "report.json", FL_BUNDLE_FILE_MAX, &text, &len, err, errlen) < 0) goto fail;
  json_error_t je;
  r->report = json_loadb(text, len, JSON_ALLOW_NUL, &je);
  free(text);
  char why[256];
  if (!r->report || fl_report_check(r->report, why, sizeof why) < 0) {
    errno = 0;
    if (!r->report)
      fl_set_err(err, errlen, "%s/report.json:%d:%d: %s", r->dir, je.line, je.column, je.text);
    else
      fl_set_err(err, errlen, "%s/report.json: %s", r->dir, why);
    goto fail;
  }
  if (read_at(r, "scenario.yaml", FL_SCENARIO_MAX_BYTES, &r->scenario_text, &r->scenario_len, err,
              errlen) < 0)
    goto fail;
  char copy[PATH_MAX + 32];
  snprintf(copy, sizeof copy, "%s/scenario.yaml", r->dir);
  fl_error fe;
  if (fl_scenario_parse(copy, r->scenario_text, r->scenario_len, &r->s, &fe) < 0) {
    errno = 0;
    fl_set_err(err, errlen, "%s", fe.msg);
    goto fail;
  }
  const char *original =
      json_string_value(json_object_get(json_object_get(r->report, "scenario"), "file"));
  snprintf(r->original, sizeof r->original, "%s", original && *original ? original : copy);
  snprintf(r->top, sizeof r->top, "%s", r->s->name);
  const char *base = strrchr(r->dir, '/');
  base = base ? base + 1 : r->dir;
  if (plain_name(base) && strcmp(base, "..")) snprintf(r->top, sizeof r->top, "%s", base);

  /* The files it refers to resolve against the scenario the run named, not the copy. */
  fl_scenario named = *r->s;
  named.path = r->original;
  if (fl_scenario_refs_list(&named, &r->refs, err, errlen) < 0) {
    errno = 0; /* the scenario's to fix: a file it names, protoc's view of a .proto */
    goto fail;
  }
  if (lay_out_refs(r, err, errlen) < 0) goto fail;
  *out = r;
  return 0;
oom:
  errno = ENOMEM;
  fl_set_err(err, errlen, "out of memory");
fail:;
  int saved = errno;
  if (d) closedir(d);
  fl_bundle_run_free(r);
  errno = saved;
  return -1;
}

int fl_bundle_run_use_refs(fl_bundle_run *r, fl_scenario_refs *refs, char *err, size_t errlen) {
  if (r->stored)
    for (size_t i = 0; i < r->refs.n; i++) free(r->stored[i]);
  free(r->stored);
  r->stored = NULL;
  fl_scenario_refs_free(&r->refs);
  r->refs = *refs;
  *refs = (fl_scenario_refs){0};
  return lay_out_refs(r, err, errlen);
}

const fl_scenario *fl_bundle_run_scenario(const fl_bundle_run *r) { return r->s; }
const fl_scenario_refs *fl_bundle_run_refs(const fl_bundle_run *r) { return &r->refs; }
const json_t *fl_bundle_run_report(const fl_bundle_run *r) { return r->report; }
const char *fl_bundle_top(const fl_bundle_run *r) { return r->top; }

size_t fl_bundle_run_left_out(const fl_bundle_run *r, const char *const **names) {
  *names = (const char *const *)r->left_out;
  return r->n_left_out;
}

void fl_bundle_run_free(fl_bundle_run *r) {
  if (!r) return;
  if (r->dfd >= 0) close(r->dfd);
  free_list(r->files, r->n_files);
  free_list(r->left_out, r->n_left_out);
  json_decref(r->report);
  free(r->scenario_text);
  if (r->s) fl_scenario_free(r->s);
  if (r->stored)
    for (size_t i = 0; i < r->refs.n; i++) free(r->stored[i]);
  free(r->stored);
  fl_scenario_refs_free(&r->refs);
  free(r);
}

/* ---- writing ---------------------------------------------------------------------------- */

typedef struct {
  const fl_bundle_run *r;
  struct archive *a;
  json_t *files; /* the manifest's list */
  fl_bundle_stats *stats;
  char *err;
  size_t errlen;
} writer;

static int archive_failed(writer *w, const char *what) {
  errno = archive_errno(w->a) > 0 ? archive_errno(w->a) : EIO;
  fl_set_err(w->err, w->errlen, "cannot write the bundle (%s): %s", what,
             archive_error_string(w->a) ? archive_error_string(w->a) : strerror(errno));
  return -1;
}

/* One regular file's header under TOP/name. */
static int header(writer *w, const char *name, int64_t size, const struct timespec *mtime) {
  char path[FL_BUNDLE_PATH_MAX + 160];
  snprintf(path, sizeof path, "%s/%s", w->r->top, name);
  struct archive_entry *e = archive_entry_new();
  if (!e) {
    errno = ENOMEM;
    return fl_set_err(w->err, w->errlen, "out of memory"), -1;
  }
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, size);
  if (mtime) archive_entry_set_mtime(e, mtime->tv_sec, mtime->tv_nsec);
  int rc = archive_write_header(w->a, e);
  archive_entry_free(e);
  return rc < ARCHIVE_WARN ? archive_failed(w, name) : 0;
}

static int listed(writer *w, const char *name, int64_t size, const char *sha) {
  json_t *o = json_object();
  if (!o || fl_json_set_bytes(o, "name", name, SIZE_MAX) < 0 ||
      fl_json_set(o, "size", json_integer(size)) < 0 ||
      fl_json_set(o, "sha256", json_string(sha)) < 0 || json_array_append_new(w->files, o) < 0) {
    errno = ENOMEM;
    return fl_set_err(w->err, w->errlen, "out of memory"), -1;
  }
  w->stats->files++;
  w->stats->bytes += size;
  return 0;
}

static int add_bytes(writer *w, const char *name, const void *buf, size_t len, bool list) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (header(w, name, (int64_t)len, &now) < 0) return -1;
  if (len && archive_write_data(w->a, buf, len) != (la_ssize_t)len) return archive_failed(w, name);
  if (!list) {
    w->stats->files++;
    w->stats->bytes += (int64_t)len;
    return 0;
  }
  fl_sha256 *h = fl_sha256_new();
  char sha[FL_SHA256_HEX];
  if (!h) {
    errno = ENOMEM;
    return fl_set_err(w->err, w->errlen, "out of memory"), -1;
  }
  fl_sha256_update(h, buf, len);
  fl_sha256_final(h, sha);
  return listed(w, name, (int64_t)len, sha);
}

/* A file streamed in whole: exactly the size it had when opened, or an error. `shown` names it
 * in messages. */
static int add_fd(writer *w, int fd, const char *name, const char *shown) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    errno = 0;
    return fl_set_err(w->err, w->errlen, "%s: not a regular file any more", shown), -1;
  }
  if (st.st_size > FL_BUNDLE_FILE_MAX || w->stats->bytes + st.st_size > FL_BUNDLE_TOTAL_MAX) {
    errno = 0;
    return fl_set_err(w->err, w->errlen, "%s: %lld bytes, more than a bundle may hold", shown,
                      (long long)st.st_size),
           -1;
  }
  if (header(w, name, st.st_size, &st.st_mtim) < 0) return -1;
  fl_sha256 *h = fl_sha256_new();
  if (!h) {
    errno = ENOMEM;
    return fl_set_err(w->err, w->errlen, "out of memory"), -1;
  }
  static char buf[1 << 16];
  int64_t left = st.st_size;
  while (left > 0) {
    ssize_t n = read(fd, buf, left < (int64_t)sizeof buf ? (size_t)left : sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fl_sha256_free(h);
      if (n < 0)
        return fl_set_err(w->err, w->errlen, "cannot read %s: %s", shown, strerror(errno)), -1;
      errno = 0;
      return fl_set_err(w->err, w->errlen,
                        "%s changed while it was read (is a run still writing it?)", shown),
             -1;
    }
    fl_sha256_update(h, buf, (size_t)n);
    if (archive_write_data(w->a, buf, (size_t)n) != n) {
      fl_sha256_free(h);
      return archive_failed(w, name);
    }
    left -= n;
  }
  char extra;
  if (read(fd, &extra, 1) > 0) {
    fl_sha256_free(h);
    errno = 0;
    return fl_set_err(w->err, w->errlen,
                      "%s changed while it was read (is a run still writing it?)", shown),
           -1;
  }
  char sha[FL_SHA256_HEX];
  fl_sha256_final(h, sha);
  return listed(w, name, st.st_size, sha);
}

static json_t *manifest(const fl_bundle_run *r, json_t *files) {
  json_t *o = json_object(), *sc = json_object(), *run = json_object(), *refs = json_array();
  if (!o || !sc || !run || !refs) {
    json_decref(sc);
    json_decref(run);
    json_decref(refs);
    json_decref(o);
    return NULL;
  }
  bool ok = fl_json_set(o, "format", json_string(FL_BUNDLE_FORMAT)) == 0 &&
            fl_json_set(o, "version", json_integer(FL_BUNDLE_FORMAT_VERSION)) == 0 &&
            fl_json_set(o, "scenario", sc) == 0 && fl_json_set(o, "run", run) == 0 &&
            fl_json_set(o, "refs", refs) == 0 &&
            fl_json_set(sc, "name", json_string(r->s->name)) == 0 &&
            fl_json_set_bytes(sc, "file", r->scenario_copy, SIZE_MAX) == 0 &&
            fl_json_set_bytes(sc, "original", r->original, SIZE_MAX) == 0;
  static const char *const run_keys[][2] = {{"verdict", "verdict"},
                                            {"outcome", "outcome"},
                                            {"started_at", "started_at"},
                                            {"faultline_version", "faultline_version"}};
  for (size_t i = 0; ok && i < sizeof run_keys / sizeof run_keys[0]; i++) {
    json_t *v = json_object_get(r->report, run_keys[i][1]);
    ok = fl_json_set(run, run_keys[i][0], v ? json_incref(v) : json_null()) == 0;
  }
  for (size_t i = 0; ok && i < r->refs.n; i++) {
    const fl_scenario_ref *ref = &r->refs.refs[i];
    json_t *e = json_object();
    const char *stored = r->stored[i];
    ok = e && fl_json_set_bytes(e, "key", ref->key, SIZE_MAX) == 0 &&
         fl_json_set(e, "kind", json_string(fl_ref_kind_name(ref->kind))) == 0 &&
         fl_json_set_bytes(e, "written", ref->written, SIZE_MAX) == 0 &&
         fl_json_set(e, "line", json_integer(ref->line)) == 0 &&
         fl_json_set(e, "col", json_integer(ref->col)) == 0 &&
         fl_json_set_bytes(e, "stored", stored, SIZE_MAX) == 0 &&
         json_array_append_new(refs, e) == 0;
    if (!ok && e) json_decref(e);
  }
  ok = ok && fl_json_set(o, "files", json_incref(files)) == 0;
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* The archive into fd. */
static int write_archive(writer *w, int fd, const json_t *versions) {
  const fl_bundle_run *r = w->r;
  if (archive_write_add_filter_gzip(w->a) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
      archive_write_open_fd(w->a, fd) != ARCHIVE_OK)
    return archive_failed(w, "opening");
  for (size_t i = 0; i < r->n_files; i++) {
    char shown[PATH_MAX + NAME_MAX + 2];
    snprintf(shown, sizeof shown, "%s/%s", r->dir, r->files[i]);
    int in = openat(r->dfd, r->files[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0) {
      if (errno == ELOOP) errno = 0;
      fl_set_err(w->err, w->errlen, "cannot read %s: %s", shown,
                 errno ? strerror(errno) : "a symbolic link now");
      return -1;
    }
    int rc = add_fd(w, in, r->files[i], shown);
    close(in);
    if (rc < 0) return -1;
  }
  char *v = json_dumps(versions, JSON_INDENT(2));
  int rc = v ? add_bytes(w, FL_BUNDLE_VERSIONS, v, strlen(v), true) : -1;
  if (!v) fl_set_err(w->err, w->errlen, "out of memory");
  free(v);
  if (rc < 0) return -1;
  bool any_file = false;
  for (size_t i = 0; i < r->refs.n; i++) any_file |= r->stored[i] != NULL;
  if (any_file && add_bytes(w, r->scenario_copy, r->scenario_text, r->scenario_len, true) < 0)
    return -1;
  for (size_t i = 0; i < r->refs.n; i++) {
    bool packed = !r->stored[i];
    for (size_t j = 0; j < i && !packed; j++)
      packed = r->stored[j] && !strcmp(r->stored[j], r->stored[i]);
    if (packed) continue;
    const fl_scenario_ref *ref = &r->refs.refs[i];
    int in = open(ref->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
      return fl_set_err(w->err, w->errlen, "%s:%d:%d: %s '%s' (%s): cannot open: %s", r->original,
                        ref->line, ref->col, ref->key, ref->written, ref->path, strerror(errno)),
             -1;
    rc = add_fd(w, in, r->stored[i], ref->path);
    close(in);
    if (rc < 0) return -1;
  }
  json_t *m = manifest(r, w->files);
  char *text = m ? json_dumps(m, JSON_INDENT(2)) : NULL;
  json_decref(m);
  rc = text ? add_bytes(w, FL_BUNDLE_MANIFEST, text, strlen(text), false) : -1;
  if (!text) fl_set_err(w->err, w->errlen, "out of memory");
  free(text);
  if (rc < 0) return -1;
  if (archive_write_close(w->a) != ARCHIVE_OK) return archive_failed(w, "closing");
  return 0;
}

int fl_bundle_write(const fl_bundle_run *r, const json_t *versions, const char *output,
                    fl_bundle_stats *stats, char *err, size_t errlen) {
  *stats = (fl_bundle_stats){0};
  struct stat st, rst;
  if (lstat(output, &st) == 0) {
    errno = 0;
    return fl_set_err(err, errlen,
                      "%s: exists; faultline never overwrites a file: choose another -o or "
                      "remove it",
                      output),
           -1;
  }
  if (errno != ENOENT) return fl_set_err(err, errlen, "%s: %s", output, strerror(errno)), -1;
  char dir[PATH_MAX], tmp[PATH_MAX + NAME_MAX + 16];
  const char *slash = strrchr(output, '/');
  const char *base = slash ? slash + 1 : output;
  if (!*base) {
    errno = 0;
    return fl_set_err(err, errlen, "%s: names a folder; -o takes a file name", output), -1;
  }
  if (slash == output)
    snprintf(dir, sizeof dir, "/");
  else
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - output) : 1, slash ? output : ".");
  if (stat(dir, &st) < 0)
    return fl_set_err(err, errlen, "%s: cannot write in %s: %s", output, dir, strerror(errno)), -1;
  if (fstat(r->dfd, &rst) == 0 && st.st_dev == rst.st_dev && st.st_ino == rst.st_ino) {
    errno = 0;
    return fl_set_err(err, errlen, "%s: is inside the run directory %s; write the bundle elsewhere",
                      output, r->dir),
           -1;
  }
  snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, base);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) return fl_set_err(err, errlen, "cannot write in %s: %s", dir, strerror(errno)), -1;
  mode_t mask = umask(0);
  umask(mask);
  writer w = {.r = r,
              .a = archive_write_new(),
              .files = json_array(),
              .stats = stats,
              .err = err,
              .errlen = errlen};
  int rc = -1;
  if (!w.a || !w.files) {
    errno = ENOMEM;
    fl_set_err(err, errlen, "out of memory");
  } else if (write_archive(&w, fd, versions) == 0) {
    if (fchmod(fd, 0644 & ~mask) < 0 || fsync(fd) < 0 || fstat(fd, &st) < 0) {
      fl_set_err(err, errlen, "cannot write %s: %s", output, strerror(errno));
    } else {
      stats->output = st.st_size;
      rc = 0;
    }
  }
  if (w.a) archive_write_free(w.a);
  json_decref(w.files);
  if (close(fd) < 0 && rc == 0) {
    fl_set_err(err, errlen, "cannot write %s: %s", output, strerror(errno));
    rc = -1;
  }
  if (rc == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, output, RENAME_NOREPLACE) < 0) {
    /* A file system without RENAME_NOREPLACE: link refuses an existing name just as well. */
    if ((errno == EINVAL || errno == ENOSYS) && link(tmp, output) == 0) {
      unlink(tmp);
      return 0;
    }
    if (errno == EEXIST) {
      errno = 0;
      fl_set_err(err, errlen,
                 "%s: exists (made while the bundle was written); it is left as it was", output);
    } else {
      fl_set_err(err, errlen, "cannot rename %s to %s: %s", tmp, output, strerror(errno));
    }
    rc = -1;
  }
  if (rc < 0) {
    int saved = errno;
    unlink(tmp);
    errno = saved;
  }
  return rc;
}
