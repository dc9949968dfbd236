#include "bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_int.h"
#include "digest.h"

/* A file the archive held, as read (its name relative to TOP). */
typedef struct {
  char *name;
  int64_t size;
  char sha[FL_SHA256_HEX];
  bool listed; /* found in the manifest */
} got_file;

typedef struct {
  const char *archive; /* for messages */
  char *err;
  size_t errlen;
  char top[NAME_MAX + 1];
  got_file *got;
  size_t n_got;
  size_t entries;
  int64_t total;
  char *manifest, *versions; /* the bytes of TOP/bundle.json and TOP/versions.json */
  size_t manifest_len, versions_len;
} reader;

/* The bundle's fault (errno 0): "ARCHIVE: refused: ...". */
FL_PRINTF(2, 3) static int refuse(reader *rd, const char *fmt, ...) {
  char why[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  char plain[256];
  fl_set_err(rd->err, rd->errlen, "%s: refused: %s", fl_printable(rd->archive, plain, sizeof plain),
             why);
  errno = 0;
  return -1;
}

static const char *type_name(mode_t type) {
  switch (type) {
  case AE_IFLNK: return "a symbolic link";
  case AE_IFCHR: return "a character device";
  case AE_IFBLK: return "a block device";
  case AE_IFIFO: return "a fifo";
  case AE_IFSOCK: return "a socket";
  default: return "not a regular file";
  }
}

/* A small file kept in memory as it streams by (bundle.json, versions.json). */
static int keep(reader *rd, char **buf, size_t *len, const void *data, size_t n, const char *name) {
  if (*len + n > FL_BUNDLE_JSON_MAX)
    return refuse(rd, "'%s/%s' is larger than the %d MiB it may hold", rd->top, name,
                  FL_BUNDLE_JSON_MAX >> 20);
  char *grown = realloc(*buf, *len + n + 1);
  if (!grown) {
    errno = ENOMEM;
    return fl_set_err(rd->err, rd->errlen, "out of memory"), -1;
  }
  memcpy(grown + *len, data, n);
  *len += n;
  grown[*len] = '\0';
  *buf = grown;
  return 0;
}

/* The disk writer failed on `path`. The machine's trouble (a full disk, no permission) is
 * faultline's to report as such; anything else (a file where a folder must be, a name the
 * file system refuses) comes from how the archive is laid out, and refuses it. */
static int disk_failed(reader *rd, struct archive *ad, const char *path) {
  char plain[FL_BUNDLE_PATH_MAX + 64];
  int e = archive_errno(ad);
  const char *why = archive_error_string(ad) ? archive_error_string(ad) : strerror(e > 0 ? e : EIO);
  fl_printable(path, plain, sizeof plain);
  switch (e) {
  case ENOSPC:
  case EDQUOT:
  case EIO:
  case EROFS:
  case EACCES:
  case EPERM:
  case ENOMEM:
  case EMFILE:
  case ENFILE:
    fl_set_err(rd->err, rd->errlen, "%s: cannot unpack '%s': %s", rd->archive, plain, why);
    errno = e;
    return -1;
  default: break;
  }
  /* The likeliest layout fault, in words: a name under one that is a file. */
  size_t tl = strlen(rd->top);
  for (size_t i = 0; i < rd->n_got && strlen(path) > tl + 1; i++) {
    size_t n = strlen(rd->got[i].name);
    if (!strncmp(path + tl + 1, rd->got[i].name, n) && path[tl + 1 + n] == '/')
      return refuse(rd, "'%s' is under '%s/%s', which is a file", plain, rd->top, rd->got[i].name);
  }
  return refuse(rd, "cannot unpack '%s': %s", plain, why);
}

/* One entry: checked, then written by the disk writer (cwd is dest). */
static int entry(reader *rd, struct archive *a, struct archive *ad, struct archive_entry *e) {
  char plain[FL_BUNDLE_PATH_MAX + 64], why[160];
  const char *path = archive_entry_pathname(e);
  if (!path) return refuse(rd, "an entry has no name this system can read");
  fl_printable(path, plain, sizeof plain);
  if (++rd->entries > FL_BUNDLE_ENTRIES_MAX)
    return refuse(rd, "more than %d entries", FL_BUNDLE_ENTRIES_MAX);
  if (fl_bundle_name_check(path, why, sizeof why) < 0) return refuse(rd, "'%s' %s", plain, why);

  size_t tl = strcspn(path, "/");
  if (!rd->top[0]) {
    if (tl > NAME_MAX) return refuse(rd, "'%s': its first part is too long", plain);
    memcpy(rd->top, path, tl);
    rd->top[tl] = '\0';
  } else if (tl != strlen(rd->top) || strncmp(path, rd->top, tl)) {
    return refuse(rd, "'%s' is outside the bundle's folder '%s'", plain, rd->top);
  }
  const char *rest = path[tl] ? path + tl + 1 : "";

  const char *link = archive_entry_hardlink(e);
  if (link)
    return refuse(rd,
                  "'%s' is a hard link (to '%s'); a bundle holds regular files and folders only",
                  plain, fl_printable(link, why, sizeof why));
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFLNK) {
    const char *to = archive_entry_symlink(e);
    return refuse(
        rd, "'%s' is a symbolic link (to '%s'); a bundle holds regular files and folders only",
        plain, fl_printable(to ? to : "?", why, sizeof why));
  }
  if (type != AE_IFREG && type != AE_IFDIR)
    return refuse(rd, "'%s' is %s; a bundle holds regular files and folders only", plain,
                  type_name(type));
  if (type == AE_IFREG && (!*rest || path[strlen(path) - 1] == '/'))
    return refuse(rd, "'%s' is a file named like a folder", plain);
  if (archive_entry_sparse_count(e) > 0) return refuse(rd, "'%s' is a sparse file", plain);
  int64_t size = 0;
  if (type == AE_IFREG) {
    if (!archive_entry_size_is_set(e)) return refuse(rd, "'%s' has no size", plain);
    size = archive_entry_size(e);
    if (size < 0 || size > FL_BUNDLE_FILE_MAX)
      return refuse(rd, "'%s' is %lld bytes, more than the 1 GiB a bundled file may hold", plain,
                    (long long)size);
    if (rd->total + size > FL_BUNDLE_TOTAL_MAX)
      return refuse(rd, "more than the 4 GiB a bundle may hold in all (at '%s')", plain);
    for (size_t i = 0; i < rd->n_got; i++)
      if (!strcmp(rd->got[i].name, rest)) return refuse(rd, "'%s' appears twice", plain);
  }

  /* Nothing of the archive's own metadata is trusted: modes are ours, no owner, no
   * attributes. */
  archive_entry_set_perm(e, type == AE_IFREG ? 0644 : 0755);
  archive_entry_xattr_clear(e);
  archive_entry_acl_clear(e);
  archive_entry_set_fflags(e, 0, 0);
  if (archive_write_header(ad, e) != ARCHIVE_OK) {
    /* The disk writer's own refusals (a '..', a link on the way: no system errno; a name
     * written twice: EEXIST) are the bundle's fault. */
    if (archive_errno(ad) <= 0 || archive_errno(ad) == EEXIST)
      return refuse(rd, "'%s': %s", plain, archive_error_string(ad));
    return disk_failed(rd, ad, path);
  }
  if (type == AE_IFDIR)
    return archive_write_finish_entry(ad) == ARCHIVE_OK ? 0 : disk_failed(rd, ad, path);

  bool is_manifest = !strcmp(rest, FL_BUNDLE_MANIFEST),
       is_versions = !strcmp(rest, FL_BUNDLE_VERSIONS);
  fl_sha256 *h = fl_sha256_new();
  if (!h) {
    errno = ENOMEM;
    return fl_set_err(rd->err, rd->errlen, "out of memory"), -1;
  }
  int64_t written = 0;
  int rc = 0;
  for (;;) {
    const void *buf;
    size_t n;
    la_int64_t offset;
    int r = archive_read_data_block(a, &buf, &n, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      rc = refuse(rd, "truncated or corrupt at '%s': %s", plain, archive_error_string(a));
      break;
    }
    if (offset != written || written + (int64_t)n > size) {
      rc = refuse(rd, "'%s' holds data past its size, or holes", plain);
      break;
    }
    fl_sha256_update(h, buf, n);
    if ((is_manifest && keep(rd, &rd->manifest, &rd->manifest_len, buf, n, rest) < 0) ||
        (is_versions && keep(rd, &rd->versions, &rd->versions_len, buf, n, rest) < 0)) {
      rc = -1;
      break;
    }
    if (archive_write_data_block(ad, buf, n, offset) != ARCHIVE_OK) {
      rc = disk_failed(rd, ad, path);
      break;
    }
    written += (int64_t)n;
  }
  if (rc == 0 && written != size)
    rc = refuse(rd, "truncated: '%s' holds %lld of its %lld bytes", plain, (long long)written,
                (long long)size);
  if (rc == 0 && archive_write_finish_entry(ad) != ARCHIVE_OK) rc = disk_failed(rd, ad, path);
  if (rc < 0) {
    fl_sha256_free(h);
    return -1;
  }
  rd->total += size;
  got_file *grown = realloc(rd->got, (rd->n_got + 1) * sizeof *grown);
  char *name = grown ? strdup(rest) : NULL;
  if (grown) rd->got = grown;
  if (!name) {
    fl_sha256_free(h);
    errno = ENOMEM;
    return fl_set_err(rd->err, rd->errlen, "out of memory"), -1;
  }
  got_file *g = &rd->got[rd->n_got++];
  *g = (got_file){.name = name, .size = size};
  fl_sha256_final(h, g->sha);
  return 0;
}

/* Every entry of `a` into dest, from inside it: libarchive's secure flags hold for paths
 * relative to the current directory, so the process stands in dest while it writes, and goes
 * back where it was on every path. */
static int unpack(reader *rd, struct archive *a, const char *dest) {
  int back = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int into = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (back < 0 || into < 0 || fchdir(into) < 0) {
    fl_set_err(rd->err, rd->errlen, "cannot unpack into %s: %s", dest, strerror(errno));
    if (back >= 0) close(back);
    if (into >= 0) close(into);
    return -1;
  }
  close(into);
  struct archive *ad = archive_write_disk_new();
  int rc = 0;
  if (!ad) {
    errno = ENOMEM;
    rc = -1;
    fl_set_err(rd->err, rd->errlen, "out of memory");
  } else {
    archive_write_disk_set_options(
        ad, ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_NO_OVERWRITE);
  }
  while (rc == 0) {
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      char plain[256];
      fl_set_err(rd->err, rd->errlen, "%s: %s: %s", fl_printable(rd->archive, plain, sizeof plain),
                 rd->entries ? "truncated or corrupt" : "not a faultline bundle",
                 archive_error_string(a) ? archive_error_string(a) : "unreadable");
      errno = 0;
      rc = -1;
      break;
    }
    rc = entry(rd, a, ad, e);
  }
  int saved = errno;
  if (ad) {
    if (archive_write_close(ad) != ARCHIVE_OK && rc == 0) rc = disk_failed(rd, ad, dest);
    archive_write_free(ad);
  }
  if (fchdir(back) < 0 && rc == 0) {
    fl_set_err(rd->err, rd->errlen, "cannot return to the current directory: %s", strerror(errno));
    rc = -1;
  } else {
    errno = saved;
  }
  close(back);
  return rc;
}

static got_file *find(reader *rd, const char *name) {
  for (size_t i = 0; i < rd->n_got; i++)
    if (!strcmp(rd->got[i].name, name)) return &rd->got[i];
  return NULL;
}

/* bundle.json against what was read. */
static int check_manifest(reader *rd, fl_bundle_contents *out) {
  char plain[FL_BUNDLE_PATH_MAX + 64], why[160];
  if (!rd->top[0]) return refuse(rd, "the archive holds nothing: not a faultline bundle");
  got_file *mf = find(rd, FL_BUNDLE_MANIFEST);
  if (!mf) return refuse(rd, "no %s/%s: not a faultline bundle", rd->top, FL_BUNDLE_MANIFEST);
  mf->listed = true;
  json_error_t je;
  json_t *m = json_loadb(rd->manifest ? rd->manifest : "", rd->manifest_len, 0, &je);
  out->manifest = m;
  if (!m) return refuse(rd, "%s:%d:%d: %s", FL_BUNDLE_MANIFEST, je.line, je.column, je.text);
  const char *format = json_string_value(json_object_get(m, "format"));
  if (!json_is_object(m) || !format || strcmp(format, FL_BUNDLE_FORMAT))
    return refuse(rd, "%s is not a faultline bundle's manifest", FL_BUNDLE_MANIFEST);
  json_t *version = json_object_get(m, "version");
  if (!json_is_integer(version) || json_integer_value(version) != FL_BUNDLE_FORMAT_VERSION)
    return refuse(rd, "%s: format version %s; this faultline reads version %d", FL_BUNDLE_MANIFEST,
                  json_is_integer(version) ? "other than 1" : "missing", FL_BUNDLE_FORMAT_VERSION);
  const char *file = json_string_value(json_object_get(json_object_get(m, "scenario"), "file"));
  if (!file) return refuse(rd, "%s: no scenario.file", FL_BUNDLE_MANIFEST);
  if (fl_bundle_name_check(file, why, sizeof why) < 0)
    return refuse(rd, "%s: scenario.file '%s' %s", FL_BUNDLE_MANIFEST,
                  fl_printable(file, plain, sizeof plain), why);
  if (!find(rd, file))
    return refuse(rd, "%s: scenario.file '%s' is not in the archive", FL_BUNDLE_MANIFEST,
                  fl_printable(file, plain, sizeof plain));

  json_t *files = json_object_get(m, "files"), *f;
  if (!json_is_array(files)) return refuse(rd, "%s: no files list", FL_BUNDLE_MANIFEST);
  size_t i;
  json_array_foreach(files, i, f) {
    const char *name = json_string_value(json_object_get(f, "name"));
    const char *sha = json_string_value(json_object_get(f, "sha256"));
    json_t *size = json_object_get(f, "size");
    if (!name || !fl_sha256_is_hex(sha) || !json_is_integer(size))
      return refuse(rd, "%s: files[%zu] is not {name, size, sha256}", FL_BUNDLE_MANIFEST, i);
    fl_printable(name, plain, sizeof plain);
    got_file *g = find(rd, name);
    if (!g) return refuse(rd, "%s lists '%s', which the archive lacks", FL_BUNDLE_MANIFEST, plain);
    if (g->listed) return refuse(rd, "%s lists '%s' twice", FL_BUNDLE_MANIFEST, plain);
    if (g->size != json_integer_value(size) || strcmp(g->sha, sha))
      return refuse(rd, "'%s/%s' does not match %s (size or sha256)", rd->top, plain,
                    FL_BUNDLE_MANIFEST);
    g->listed = true;
  }
  for (i = 0; i < rd->n_got; i++)
    if (!rd->got[i].listed)
      return refuse(rd, "'%s/%s' is not listed in %s", rd->top,
                    fl_printable(rd->got[i].name, plain, sizeof plain), FL_BUNDLE_MANIFEST);
  if (rd->versions) {
    out->versions = json_loadb(rd->versions, rd->versions_len, 0, &je);
    if (!out->versions)
      return refuse(rd, "%s:%d:%d: %s", FL_BUNDLE_VERSIONS, je.line, je.column, je.text);
  } else {
    out->versions = json_null();
  }
  out->files = rd->n_got;
  out->bytes = rd->total;
  return 0;
}

static int extract(struct archive *a, const char *name, const char *dest, fl_bundle_contents *out,
                   char *err, size_t errlen) {
  reader rd = {.archive = name, .err = err, .errlen = errlen};
  int rc = unpack(&rd, a, dest);
  if (rc == 0) rc = check_manifest(&rd, out);
  if (rc == 0) {
    const char *file =
        json_string_value(json_object_get(json_object_get(out->manifest, "scenario"), "file"));
    if (snprintf(out->top, sizeof out->top, "%s/%s", dest, rd.top) >= (int)sizeof out->top ||
        snprintf(out->scenario, sizeof out->scenario, "%s/%s", out->top, file) >=
            (int)sizeof out->scenario) {
      errno = ENAMETOOLONG;
      fl_set_err(err, errlen, "cannot unpack into %s: %s", dest, strerror(errno));
      rc = -1;
    }
  }
  int saved = errno;
  for (size_t i = 0; i < rd.n_got; i++) free(rd.got[i].name);
  free(rd.got);
  free(rd.manifest);
  free(rd.versions);
  if (rc < 0) fl_bundle_contents_free(out);
  errno = saved;
  return rc;
}

/* Every message is printable, whatever the archive put in it (names, libarchive's and
 * jansson's words about its bytes). */
static void printable_err(char *err, size_t errlen) {
  if (!errlen) return;
  char raw[2048];
  snprintf(raw, sizeof raw, "%s", err);
  fl_printable(raw, err, errlen);
}

static struct archive *reader_new(void) {
  struct archive *a = archive_read_new();
  if (!a) return NULL;
  /* What faultline writes, gzip'd tar, and plain tar: no other format or filter is parsed. */
  if (archive_read_support_filter_gzip(a) < ARCHIVE_WARN ||
      archive_read_support_filter_none(a) != ARCHIVE_OK ||
      archive_read_support_format_tar(a) != ARCHIVE_OK) {
    archive_read_free(a);
    return NULL;
  }
  return a;
}

int fl_bundle_extract(const char *archive, const char *dest, fl_bundle_contents *out, char *err,
                      size_t errlen) {
  *out = (fl_bundle_contents){0};
  char plain[256];
  fl_printable(archive, plain, sizeof plain);
  int fd = open(archive, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int e = errno;
    fl_set_err(err, errlen, "%s: cannot open: %s", plain, strerror(e));
    if (fd >= 0) close(fd);
    errno = e == ENOENT || e == EACCES ? 0 : e; /* the user's to fix */
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    fl_set_err(err, errlen, "%s: not a regular file; a bundle is a .tar.gz file", plain);
    errno = 0;
    return -1;
  }
  struct archive *a = reader_new();
  int rc = -1;
  if (!a) {
    errno = ENOMEM;
    fl_set_err(err, errlen, "out of memory");
  } else if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
    fl_set_err(err, errlen, "%s: not a faultline bundle: %s", plain, archive_error_string(a));
    errno = 0;
  } else {
    rc = extract(a, archive, dest, out, err, errlen);
  }
  int saved = errno;
  if (a) archive_read_free(a);
  close(fd);
  if (rc < 0) printable_err(err, errlen);
  errno = saved;
  return rc;
}

int fl_bundle_extract_memory(const void *buf, size_t len, const char *name, const char *dest,
                             fl_bundle_contents *out, char *err, size_t errlen) {
  *out = (fl_bundle_contents){0};
  struct archive *a = reader_new();
  int rc = -1;
  if (!a) {
    errno = ENOMEM;
    fl_set_err(err, errlen, "out of memory");
  } else if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
    fl_set_err(err, errlen, "%s: not a faultline bundle: %s", name, archive_error_string(a));
    errno = 0;
  } else {
    rc = extract(a, name, dest, out, err, errlen);
  }
  int saved = errno;
  if (a) archive_read_free(a);
  if (rc < 0) printable_err(err, errlen);
  errno = saved;
  return rc;
}

void fl_bundle_contents_free(fl_bundle_contents *c) {
  json_decref(c->manifest);
  json_decref(c->versions);
  c->manifest = c->versions = NULL;
}

const char *fl_bundle_manifest_text(const json_t *manifest, const char *object, const char *key,
                                    char *buf, size_t len) {
  const char *s = json_string_value(json_object_get(json_object_get(manifest, object), key));
  return fl_printable(s ? s : "(not recorded)", buf, len);
}
