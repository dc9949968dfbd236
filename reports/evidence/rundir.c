#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The marker's first line; a file called .faultline-run without it is not ours. */
#define MAGIC "faultline run directory"
#define MARKER_HEADER                                                                              \
  MAGIC "\n"                                                                                       \
        "# faultline replaces this directory as a whole when a later run is given it as --out;\n"  \
        "# it deletes only the entries listed below, each of which faultline made here.\n"
/* A marker longer than this was not written by faultline (a run lists a few dozen names). */
#define MARKER_MAX (1024 * 1024)
/* Folders of runs hold runs; runs hold files: nothing faultline makes is deeper. */
#define MAX_DEPTH 3

typedef struct {
  char name[NAME_MAX + 1];
  int fd;    /* while open, -1 after */
  int error; /* the first errno a write, flush, sync, close or rename of it met; 0 if none */
} file_slot;

/* A whole file on its way: the stream on its temporary name, and the name it will get. */
typedef struct {
  FILE *f;
  int fd;
  char tmp[NAME_MAX + 1];
  size_t slot;
  bool replace;      /* fl_rundir_rewrite: the name is this run's own file */
  int earlier_error; /* its error before the rewrite, back if the rewrite fails */
} pending;

struct fl_rundir {
  pthread_mutex_t mu;
  char path[PATH_MAX];
  int fd;
  int marker_fd; /* -1 in a folder of runs, which has no marker */
  int parent_fd; /* while an earlier directory waits to be removed, else -1 */
  char old_name[NAME_MAX + 1];
  file_slot *files;
  size_t n_files, cap_files;
  pending *pend;
  size_t n_pend;
  int stage_fd;
  char stage_name[NAME_MAX + 1];
};

typedef struct {
  fl_rundir *rd;
  int fd;
  size_t slot;
} cookie;

/* ---- names and the marker ----------------------------------------------------------------- */

static bool valid_entry(const char *name) {
  size_t n = strlen(name);
  return n > 0 && n <= NAME_MAX && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t k = write(fd, p, len);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -1;
    if (k == 0) {
      errno = EIO;
      return -1;
    }
    p += k;
    len -= (size_t)k;
  }
  return 0;
}

/* Appends `name` to the marker; the caller holds the lock. */
static int claim_locked(fl_rundir *rd, const char *name, char *err, size_t errlen) {
  if (rd->marker_fd < 0) return 0;
  char line[NAME_MAX + 2];
  int n = snprintf(line, sizeof line, "%s\n", name);
  if (write_all(rd->marker_fd, line, (size_t)n) < 0) {
    fl_set_err(err, errlen, "cannot write %s/%s: %s", rd->path, FL_RUNDIR_MARKER, strerror(errno));
    return -1;
  }
  return 0;
}

int fl_rundir_claim(fl_rundir *rd, const char *name, char *err, size_t errlen) {
  if (!valid_entry(name) || !strcmp(name, FL_RUNDIR_MARKER)) {
    fl_set_err(err, errlen, "'%s' is not a file name for a run directory", name);
    return -1;
  }
  pthread_mutex_lock(&rd->mu);
  int rc = claim_locked(rd, name, err, errlen);
  pthread_mutex_unlock(&rd->mu);
  return rc;
}

/* The names a marker lists. */
typedef struct {
  char **names;
  size_t n;
} name_set;

static void set_free(name_set *s) {
  for (size_t i = 0; i < s->n; i++) free(s->names[i]);
  free(s->names);
  s->names = NULL;
  s->n = 0;
}

static bool set_has(const name_set *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->names[i], name)) return true;
  return false;
}

/* Reads dfd's marker. Returns 1 with *set filled, 0 when there is none, -1 when there is
 * one faultline cannot own (err says why; `where` names the directory in it). */
static int read_marker(int dfd, const char *where, name_set *set, char *err, size_t errlen) {
  set->names = NULL;
  set->n = 0;
  int fd = openat(dfd, FL_RUNDIR_MARKER, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return 0;
  if (fd < 0) {
    fl_set_err(err, errlen, "holds a %s%s that cannot be read: %s", where, FL_RUNDIR_MARKER,
               strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MARKER_MAX) {
    close(fd);
    fl_set_err(err, errlen, "holds a %s%s that faultline did not write", where, FL_RUNDIR_MARKER);
    return -1;
  }
  if (st.st_uid != geteuid()) {
    close(fd);
    fl_set_err(err, errlen,
               "holds a faultline marker (%s%s) that belongs to uid %u, not to you "
               "(uid %u); faultline replaces only its own run directories",
               where, FL_RUNDIR_MARKER, (unsigned)st.st_uid, (unsigned)geteuid());
    return -1;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t len = 0;
  if (!buf) {
    close(fd);
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  for (;;) {
    ssize_t k = read(fd, buf + len, (size_t)st.st_size - len);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    len += (size_t)k;
    if (len == (size_t)st.st_size) break;
  }
  close(fd);
  buf[len] = '\0';
  int rc = 1;
  char *save = NULL, *line = strtok_r(buf, "\n", &save);
  if (!line || strcmp(line, MAGIC)) rc = -1;
  while (rc == 1 && (line = strtok_r(NULL, "\n", &save))) {
    if (line[0] == '#') continue;
    if (!valid_entry(line)) {
      rc = -1;
      break;
    }
    char **grown = realloc(set->names, (set->n + 1) * sizeof *grown);
    if (!grown || !(grown[set->n] = strdup(line))) {
      if (grown) set->names = grown;
      free(buf);
      fl_set_err(err, errlen, "out of memory");
      return -1;
    }
    set->names = grown;
    set->n++;
  }
  free(buf);
  if (rc < 0) {
    set_free(set);
    fl_set_err(err, errlen, "holds a %s%s that faultline did not write", where, FL_RUNDIR_MARKER);
  }
  return rc;
}

/* ---- what an existing directory is ------------------------------------------------------- */

/* Opens a listing of dfd without taking dfd over. */
static DIR *list_dir(int dfd) {
  int copy = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return NULL;
  DIR *d = fdopendir(copy);
  if (!d) close(copy);
  if (d) rewinddir(d);
  return d;
}

/* The alphabetically first entry of dfd other than . and .. (for a message that does not
 * depend on the order readdir returns), or "" when dfd is empty. -1 if unreadable. */
static int first_entry(int dfd, char *out, size_t len) {
  DIR *d = list_dir(dfd);
  if (!d) return -1;
  out[0] = '\0';
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (!out[0] || strcmp(e->d_name, out) < 0) snprintf(out, len, "%s", e->d_name);
  }
  closedir(d);
  return 0;
}

/*
 * Whether dfd (named `where` in messages, "" or "run-a/" below the top) is a directory
 * faultline made and may delete as a whole: owned by us, a marker of ours, every entry listed,
 * every listed directory the same, on the same file system. Returns 0, or -1 with err.
 */
static int check_tree(int dfd, const char *where, int depth, char *err, size_t errlen) {
  struct stat dst;
  if (fstat(dfd, &dst) < 0) {
    fl_set_err(err, errlen, "cannot read %s: %s", *where ? where : "it", strerror(errno));
    return -1;
  }
  name_set set;
  int m = read_marker(dfd, where, &set, err, errlen);
  if (m < 0) return -1;
  if (m == 0) {
    char first[NAME_MAX + 1];
    if (first_entry(dfd, first, sizeof first) < 0) {
      fl_set_err(err, errlen, "cannot read it: %s", strerror(errno));
      return -1;
    }
    fl_set_err(err, errlen,
               "holds '%s%s', which no faultline run wrote; faultline writes into a new or empty "
               "directory or replaces an earlier run's directory as a whole: choose another "
               "--out, or empty it yourself",
               where, first);
    return -1;
  }
  if (dst.st_uid != geteuid()) {
    set_free(&set);
    fl_set_err(err, errlen,
               "%sbelongs to uid %u, not to you (uid %u); faultline replaces only its own run "
               "directories",
               *where ? where : "", (unsigned)dst.st_uid, (unsigned)geteuid());
    return -1;
  }
  DIR *d = list_dir(dfd);
  if (!d) {
    set_free(&set);
    fl_set_err(err, errlen, "cannot read it: %s", strerror(errno));
    return -1;
  }
  int rc = 0;
  char foreign[NAME_MAX + 1] = "";
  for (struct dirent *e; rc == 0 && (e = readdir(d));) {
    const char *n = e->d_name;
    if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, FL_RUNDIR_MARKER)) continue;
    if (!set_has(&set, n)) {
      if (!foreign[0] || strcmp(n, foreign) < 0) snprintf(foreign, sizeof foreign, "%s", n);
      continue;
    }
    struct stat st;
    if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) continue; /* gone meanwhile */
    if (!S_ISDIR(st.st_mode)) continue;
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s%s/", where, n);
    if (st.st_dev != dst.st_dev) {
      fl_set_err(err, errlen, "holds '%s', on another file system (a mount point)", sub);
      rc = -1;
    } else if (depth >= MAX_DEPTH) {
      fl_set_err(err, errlen, "holds '%s', deeper than any directory faultline makes", sub);
      rc = -1;
    } else {
      int cfd = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (cfd < 0) {
        fl_set_err(err, errlen, "cannot read '%s': %s", sub, strerror(errno));
        rc = -1;
      } else {
        rc = check_tree(cfd, sub, depth + 1, err, errlen);
        close(cfd);
      }
    }
  }
  closedir(d);
  set_free(&set);
  if (rc == 0 && foreign[0]) {
    fl_set_err(err, errlen,
               "holds '%s%s', which no faultline run wrote; faultline writes into a new or empty "
               "directory or replaces an earlier run's directory as a whole: choose another "
               "--out, or empty it yourself",
               where, foreign);
    rc = -1;
  }
  return rc;
}

/* Deletes what dfd's marker lists (recursing into listed directories), then the marker: never
 * an unlisted entry, never through a link. Returns 0, or -1 if something stayed. */
static int remove_listed(int dfd, int depth) {
  name_set set;
  char scratch[64];
  if (read_marker(dfd, "", &set, scratch, sizeof scratch) != 1) return -1;
  struct stat dst;
  int rc = fstat(dfd, &dst);
  for (size_t i = 0; i < set.n; i++) {
    struct stat st;
    if (fstatat(dfd, set.names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dst.st_dev || depth >= MAX_DEPTH) {
        rc = -1;
        continue;
      }
      int cfd = openat(dfd, set.names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (cfd < 0 || remove_listed(cfd, depth + 1) < 0) rc = -1;
      if (cfd >= 0) close(cfd);
      if (unlinkat(dfd, set.names[i], AT_REMOVEDIR) < 0) rc = -1;
    } else if (unlinkat(dfd, set.names[i], 0) < 0) {
      rc = -1;
    }
  }
  set_free(&set);
  if (unlinkat(dfd, FL_RUNDIR_MARKER, 0) < 0) rc = -1;
  return rc;
}

/* ---- making directories ------------------------------------------------------------------ */

/* mkdir -p of every component of `dir` (following links: the path is the user's). */
static int mkdir_parents(const char *dir) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static fl_rundir *new_rundir(const char *path) {
  fl_rundir *rd = calloc(1, sizeof *rd);
  if (!rd) return NULL;
  pthread_mutex_init(&rd->mu, NULL);
  snprintf(rd->path, sizeof rd->path, "%s", path);
  rd->fd = rd->marker_fd = rd->parent_fd = rd->stage_fd = -1;
  return rd;
}

static void free_rundir(fl_rundir *rd) {
  if (rd->fd >= 0) close(rd->fd);
  if (rd->marker_fd >= 0) close(rd->marker_fd);
  if (rd->parent_fd >= 0) close(rd->parent_fd);
  if (rd->stage_fd >= 0) close(rd->stage_fd);
  pthread_mutex_destroy(&rd->mu);
  free(rd->files);
  free(rd->pend);
  free(rd);
}

static int write_marker(fl_rundir *rd, char *err, size_t errlen) {
  rd->marker_fd = openat(rd->fd, FL_RUNDIR_MARKER,
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0644);
  if (rd->marker_fd < 0 || write_all(rd->marker_fd, MARKER_HEADER, strlen(MARKER_HEADER)) < 0) {
    fl_set_err(err, errlen, "cannot write %s/%s: %s", rd->path, FL_RUNDIR_MARKER, strerror(errno));
    return -1;
  }
  return 0;
}

/* Whether `full` (canonical) is the current directory or one of its ancestors. */
static bool holds_cwd(const char *full) {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return false;
  size_t n = strlen(full);
  return !strncmp(cwd, full, n) && (cwd[n] == '\0' || cwd[n] == '/');
}

int fl_rundir_create(const char *path, fl_rundir **out, char *err, size_t errlen) {
  char p[PATH_MAX], parent[PATH_MAX], name[NAME_MAX + 1], full[PATH_MAX + NAME_MAX + 2];
  char why[900];
  bool refused = false;  /* by the rule, rather than by the system: errno 0 on return */
  bool made_new = false; /* PATH did not exist: a failure removes what was made */
  *out = NULL;
  if (!path || !*path) {
    fl_set_err(err, errlen, "--out: the directory's name is empty");
    errno = 0;
    return -1;
  }
  if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
    fl_set_err(err, errlen, "--out %s: %s", path, strerror(ENAMETOOLONG));
    return -1;
  }
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
  const char *last = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
  /* "." and ".." name a directory by where one stands; name it by its path instead. */
  if (!strcmp(last, ".") || !strcmp(last, "..")) {
    char real[PATH_MAX];
    if (!realpath(p, real)) {
      fl_set_err(err, errlen, "--out %s: %s", path, strerror(errno));
      return -1;
    }
    snprintf(p, sizeof p, "%s", real);
    last = strrchr(p, '/') + 1;
  }
  if (!strcmp(p, "/")) {
    fl_set_err(err, errlen,
               "--out %s: is the root directory; name a directory of its own for "
               "the run",
               path);
    errno = 0;
    return -1;
  }
  if (strlen(last) > NAME_MAX) {
    fl_set_err(err, errlen, "--out %s: %s", path, strerror(ENAMETOOLONG));
    return -1;
  }
  snprintf(name, sizeof name, "%s", last);
  if (last == p)
    snprintf(parent, sizeof parent, ".");
  else if (last == p + 1)
    snprintf(parent, sizeof parent, "/");
  else
    snprintf(parent, sizeof parent, "%.*s", (int)(last - p - 1), p);

  if (mkdir_parents(parent) < 0) {
    fl_set_err(err, errlen, "--out %s: cannot create %s: %s", path, parent, strerror(errno));
    return -1;
  }
  char real_parent[PATH_MAX];
  if (!realpath(parent, real_parent)) {
    fl_set_err(err, errlen, "--out %s: %s: %s", path, parent, strerror(errno));
    return -1;
  }
  snprintf(full, sizeof full, "%s/%s", strcmp(real_parent, "/") ? real_parent : "", name);
  const char *home = getenv("HOME");
  char real_home[PATH_MAX];
  if (home && *home && realpath(home, real_home) && !strcmp(real_home, full)) {
    fl_set_err(err, errlen,
               "--out %s: is your home directory ($HOME); name a directory of its "
               "own for the run",
               path);
    errno = 0;
    return -1;
  }

  fl_rundir *rd = new_rundir(p);
  if (!rd) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) {
    fl_set_err(err, errlen, "--out %s: cannot open %s: %s", path, parent, strerror(errno));
    goto fail_parent;
  }
  for (int attempt = 0;; attempt++) {
    struct stat st;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) {
        fl_set_err(err, errlen, "--out %s: %s", path, strerror(errno));
        goto fail_parent;
      }
      if (mkdirat(pfd, name, 0755) < 0) {
        if (errno == EEXIST && attempt == 0) continue; /* made meanwhile: look again */
        fl_set_err(err, errlen, "--out %s: cannot create it: %s", path, strerror(errno));
        goto fail_parent;
      }
      made_new = true;
    } else if (S_ISLNK(st.st_mode)) {
      fl_set_err(err, errlen,
                 "--out %s: is a symbolic link; faultline does not follow links: "
                 "name the directory itself",
                 path);
      refused = true;
      goto fail_parent;
    } else if (!S_ISDIR(st.st_mode)) {
      fl_set_err(err, errlen, "--out %s: exists and is not a directory", path);
      refused = true;
      goto fail_parent;
    }
    rd->fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rd->fd < 0) {
      if ((errno == ENOENT || errno == ELOOP || errno == ENOTDIR) && attempt == 0) continue;
      fl_set_err(err, errlen, "--out %s: cannot open it: %s", path, strerror(errno));
      goto fail_parent;
    }
    break;
  }

  char first[NAME_MAX + 1];
  if (first_entry(rd->fd, first, sizeof first) < 0) {
    fl_set_err(err, errlen, "--out %s: cannot read it: %s", path, strerror(errno));
    goto fail_parent;
  }
  if (first[0]) {
    /* Not empty: only an earlier run's directory may go, and only as a whole. */
    if (check_tree(rd->fd, "", 1, why, sizeof why) < 0) {
      fl_set_err(err, errlen, "--out %s: %s", path, why);
      refused = true;
      goto fail_parent;
    }
    if (holds_cwd(full)) {
      fl_set_err(err, errlen,
                 "--out %s: is the current directory (or holds it), which replacing "
                 "it would delete: run faultline from elsewhere",
                 path);
      refused = true;
      goto fail_parent;
    }
    /* Aside under a fresh hidden name, never over anything. */
    int renamed = -1;
    for (int k = 0; k < 100 && renamed < 0; k++) {
      static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
      uint64_t x = (uint64_t)fl_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)k * 2654435761u;
      char suffix[7];
      for (int i = 0; i < 6; i++, x /= 62) suffix[i] = digits[x % 62];
      suffix[6] = '\0';
      snprintf(rd->old_name, sizeof rd->old_name, ".%.*s.faultline-old-%s", NAME_MAX - 30, name,
               suffix);
      renamed = renameat2(pfd, name, pfd, rd->old_name, RENAME_NOREPLACE);
      if (renamed < 0 && errno != EEXIST) break;
    }
    if (renamed < 0) {
      fl_set_err(err, errlen, "--out %s: cannot move the earlier run aside: %s", path,
                 strerror(errno));
      rd->old_name[0] = '\0';
      goto fail_parent;
    }
    close(rd->fd);
    rd->fd = -1;
    if (mkdirat(pfd, name, 0755) < 0 ||
        (rd->fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
      int e = errno;
      /* Someone made the name meanwhile: put the earlier run back if the name is free. */
      if (renameat2(pfd, rd->old_name, pfd, name, RENAME_NOREPLACE) == 0) rd->old_name[0] = '\0';
      fl_set_err(err, errlen, "--out %s: cannot create it: %s", path, strerror(e));
      goto fail_parent;
    }
    rd->parent_fd = pfd;
    pfd = -1;
  }
  if (write_marker(rd, err, errlen) < 0) {
    int e = errno;
    unlinkat(rd->fd, FL_RUNDIR_MARKER, 0);
    if (rd->parent_fd >= 0) {
      /* The earlier run goes back where it was: nothing of it is lost to a full disk. */
      if (unlinkat(rd->parent_fd, name, AT_REMOVEDIR) == 0 &&
          renameat2(rd->parent_fd, rd->old_name, rd->parent_fd, name, RENAME_NOREPLACE) == 0)
        rd->old_name[0] = '\0';
    } else if (made_new) {
      unlinkat(pfd, name, AT_REMOVEDIR);
    }
    errno = e;
    goto fail_parent;
  }
  if (pfd >= 0) close(pfd);
  *out = rd;
  return 0;

fail_parent:;
  int e = refused ? 0 : errno ? errno : EIO;
  if (pfd >= 0) close(pfd);
  free_rundir(rd);
  errno = e;
  return -1;
}

int fl_rundir_open_folder(const char *path, fl_rundir **out, char *err, size_t errlen) {
  *out = NULL;
  if (mkdir_parents(path) < 0) {
    fl_set_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return -1;
  }
  fl_rundir *rd = new_rundir(path);
  if (!rd) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  rd->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rd->fd < 0) {
    fl_set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
    free_rundir(rd);
    return -1;
  }
  *out = rd;
  return 0;
}

int fl_rundir_create_child(fl_rundir *parent, const char *base, fl_rundir **out, char *err,
                           size_t errlen) {
  *out = NULL;
  if (!valid_entry(base) || !strcmp(base, FL_RUNDIR_MARKER) || strlen(base) > NAME_MAX - 4) {
    fl_set_err(err, errlen, "'%s' cannot name a run directory", base);
    return -1;
  }
  char name[NAME_MAX + 1];
  pthread_mutex_lock(&parent->mu);
  int made = -1, e = EEXIST;
  for (int k = 1; k < 1000 && made < 0 && e == EEXIST; k++) {
    if (k == 1)
      snprintf(name, sizeof name, "%s", base);
    else
      snprintf(name, sizeof name, "%s-%d", base, k);
    if (faccessat(parent->fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) continue;
    if (claim_locked(parent, name, err, errlen) < 0) {
      pthread_mutex_unlock(&parent->mu);
      return -1;
    }
    made = mkdirat(parent->fd, name, 0755);
    e = made < 0 ? errno : 0;
  }
  pthread_mutex_unlock(&parent->mu);
  if (made < 0) {
    fl_set_err(err, errlen, "cannot create %s/%s: %s", parent->path, name, strerror(e));
    return -1;
  }
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", parent->path, name);
  fl_rundir *rd = new_rundir(path);
  if (!rd) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  rd->fd = openat(parent->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rd->fd < 0) {
    fl_set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
    free_rundir(rd);
    return -1;
  }
  if (write_marker(rd, err, errlen) < 0) {
    unlinkat(rd->fd, FL_RUNDIR_MARKER, 0);
    unlinkat(parent->fd, name, AT_REMOVEDIR);
    free_rundir(rd);
    return -1;
  }
  *out = rd;
  return 0;
}

const char *fl_rundir_path(const fl_rundir *rd) { return rd->path; }
int fl_rundir_fd(const fl_rundir *rd) { return rd->fd; }

/* ---- files --------------------------------------------------------------------------------- */

/* The slot for `name`, made if new; the caller holds the lock. SIZE_MAX when out of memory. */
static size_t slot_locked(fl_rundir *rd, const char *name) {
  for (size_t i = 0; i < rd->n_files; i++)
    if (!strcmp(rd->files[i].name, name)) return i;
  if (rd->n_files == rd->cap_files) {
    size_t cap = rd->cap_files ? rd->cap_files * 2 : 16;
    file_slot *grown = realloc(rd->files, cap * sizeof *grown);
    if (!grown) return SIZE_MAX;
    rd->files = grown;
    rd->cap_files = cap;
  }
  file_slot *f = &rd->files[rd->n_files];
  snprintf(f->name, sizeof f->name, "%s", name);
  f->fd = -1;
  f->error = 0;
  return rd->n_files++;
}

static void note_slot(fl_rundir *rd, size_t slot, int errnum) {
  pthread_mutex_lock(&rd->mu);
  if (slot < rd->n_files && rd->files[slot].error == 0)
    rd->files[slot].error = errnum ? errnum : EIO;
  pthread_mutex_unlock(&rd->mu);
}

void fl_rundir_note(fl_rundir *rd, const char *name, int errnum) {
  pthread_mutex_lock(&rd->mu);
  size_t s = slot_locked(rd, name);
  if (s != SIZE_MAX && rd->files[s].error == 0) rd->files[s].error = errnum ? errnum : EIO;
  pthread_mutex_unlock(&rd->mu);
}

/* Creates `file` (listed in the marker under itself) and binds it to the slot of `name`. */
static int create_locked(fl_rundir *rd, const char *file, const char *name, size_t *slot, char *err,
                         size_t errlen) {
  if (!valid_entry(file) || !strcmp(file, FL_RUNDIR_MARKER)) {
    fl_set_err(err, errlen, "'%s' is not a file name for a run directory", file);
    return -1;
  }
  size_t s = slot_locked(rd, name);
  if (s == SIZE_MAX) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  if (claim_locked(rd, file, err, errlen) < 0) {
    if (rd->files[s].error == 0) rd->files[s].error = errno ? errno : EIO;
    return -1;
  }
  int fd = openat(rd->fd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    if (rd->files[s].error == 0) rd->files[s].error = e;
    fl_set_err(err, errlen, "cannot create %s/%s: %s", rd->path, file, strerror(e));
    return -1;
  }
  rd->files[s].fd = fd;
  *slot = s;
  return fd;
}

int fl_rundir_open(fl_rundir *rd, const char *name, char *err, size_t errlen) {
  size_t slot;
  pthread_mutex_lock(&rd->mu);
  int fd = create_locked(rd, name, name, &slot, err, errlen);
  pthread_mutex_unlock(&rd->mu);
  return fd;
}

static size_t slot_of_fd(fl_rundir *rd, int fd) {
  size_t s = SIZE_MAX;
  pthread_mutex_lock(&rd->mu);
  for (size_t i = 0; i < rd->n_files && s == SIZE_MAX; i++)
    if (rd->files[i].fd == fd) s = i;
  pthread_mutex_unlock(&rd->mu);
  return s;
}

int fl_rundir_write(fl_rundir *rd, int fd, const void *buf, size_t len) {
  if (write_all(fd, buf, len) == 0) return 0;
  int e = errno;
  note_slot(rd, slot_of_fd(rd, fd), e);
  errno = e;
  return -1;
}

int fl_rundir_close_fd(fl_rundir *rd, int fd) {
  size_t s = slot_of_fd(rd, fd);
  int rc = close(fd);
  int e = errno;
  pthread_mutex_lock(&rd->mu);
  if (s < rd->n_files) {
    rd->files[s].fd = -1;
    if (rc < 0 && e != EINTR && rd->files[s].error == 0) rd->files[s].error = e;
  }
  pthread_mutex_unlock(&rd->mu);
  return rc < 0 && e != EINTR ? -1 : 0;
}

/* fopencookie(3): the number of bytes taken, or 0 on error, never negative (glibc's stdio
 * miscounts its buffer after a -1 and overruns it: found by test_write_errors). */
static ssize_t cookie_write(void *c, const char *buf, size_t len) {
  cookie *k = c;
  if (write_all(k->fd, buf, len) == 0) return (ssize_t)len;
  int e = errno;
  note_slot(k->rd, k->slot, e);
  errno = e;
  return 0;
}

static int cookie_close(void *c) {
  cookie *k = c;
  int rc = close(k->fd);
  if (rc < 0 && errno != EINTR) note_slot(k->rd, k->slot, errno);
  pthread_mutex_lock(&k->rd->mu);
  if (k->slot < k->rd->n_files && k->rd->files[k->slot].fd == k->fd) k->rd->files[k->slot].fd = -1;
  pthread_mutex_unlock(&k->rd->mu);
  free(k);
  return rc < 0 && errno != EINTR ? -1 : 0;
}

static FILE *stream_on(fl_rundir *rd, int fd, size_t slot, char *err, size_t errlen) {
  cookie *k = malloc(sizeof *k);
  FILE *f = NULL;
  if (k) {
    *k = (cookie){rd, fd, slot};
    f = fopencookie(k, "w", (cookie_io_functions_t){.write = cookie_write, .close = cookie_close});
  }
  if (!f) {
    free(k);
    close(fd);
    fl_set_err(err, errlen, "out of memory");
  }
  return f;
}

FILE *fl_rundir_fopen(fl_rundir *rd, const char *name, char *err, size_t errlen) {
  size_t slot;
  pthread_mutex_lock(&rd->mu);
  int fd = create_locked(rd, name, name, &slot, err, errlen);
  pthread_mutex_unlock(&rd->mu);
  return fd < 0 ? NULL : stream_on(rd, fd, slot, err, errlen);
}

static FILE *begin(fl_rundir *rd, const char *name, bool replace, char *err, size_t errlen) {
  char tmp[NAME_MAX + 1];
  if (!valid_entry(name) || strlen(name) > NAME_MAX - 5) {
    fl_set_err(err, errlen, "'%s' is not a file name for a run directory", name);
    return NULL;
  }
  snprintf(tmp, sizeof tmp, ".%s.tmp", name);
  size_t slot;
  int earlier = 0;
  pthread_mutex_lock(&rd->mu);
  int fd = -1;
  pending *grown = realloc(rd->pend, (rd->n_pend + 1) * sizeof *grown);
  if (grown) rd->pend = grown;
  size_t own = SIZE_MAX;
  for (size_t i = 0; replace && i < rd->n_files; i++)
    if (!strcmp(rd->files[i].name, name) && rd->files[i].fd < 0) own = i;
  if (!grown) {
    fl_set_err(err, errlen, "out of memory");
  } else if (replace && own == SIZE_MAX) {
    fl_set_err(err, errlen, "%s/%s is not a closed file of this run: it cannot be rewritten",
               rd->path, name);
  } else if (replace || claim_locked(rd, name, err, errlen) == 0) {
    if (replace) {
      earlier = rd->files[own].error;
      rd->files[own].error = 0;
    }
    fd = create_locked(rd, tmp, name, &slot, err, errlen);
    if (fd < 0 && replace && rd->files[own].error == 0) rd->files[own].error = earlier;
  }
  pthread_mutex_unlock(&rd->mu);
  if (fd < 0) return NULL;
  FILE *f = stream_on(rd, fd, slot, err, errlen);
  if (!f) {
    unlinkat(rd->fd, tmp, 0);
    return NULL;
  }
  pthread_mutex_lock(&rd->mu);
  pending *p = &rd->pend[rd->n_pend++];
  p->f = f;
  p->fd = fd;
  p->slot = slot;
  p->replace = replace;
  p->earlier_error = earlier;
  snprintf(p->tmp, sizeof p->tmp, "%s", tmp);
  pthread_mutex_unlock(&rd->mu);
  return f;
}

FILE *fl_rundir_begin(fl_rundir *rd, const char *name, char *err, size_t errlen) {
  return begin(rd, name, false, err, errlen);
}

FILE *fl_rundir_rewrite(fl_rundir *rd, const char *name, char *err, size_t errlen) {
  return begin(rd, name, true, err, errlen);
}

int fl_rundir_commit(fl_rundir *rd, FILE *f, char *err, size_t errlen) {
  pthread_mutex_lock(&rd->mu);
  pending p = {0};
  bool found = false;
  for (size_t i = 0; i < rd->n_pend && !found; i++) {
    if (rd->pend[i].f != f) continue;
    p = rd->pend[i];
    rd->pend[i] = rd->pend[--rd->n_pend];
    found = true;
  }
  char name[NAME_MAX + 1];
  if (found) snprintf(name, sizeof name, "%s", rd->files[p.slot].name);
  pthread_mutex_unlock(&rd->mu);
  if (!found) {
    fl_set_err(err, errlen, "fl_rundir_commit: not a stream from fl_rundir_begin");
    return -1;
  }
  /* Flushed and synced before the rename: the name never shows a file cut short. */
  if (fflush(f) == 0 && fsync(p.fd) < 0) note_slot(rd, p.slot, errno);
  fclose(f);
  pthread_mutex_lock(&rd->mu);
  int e = rd->files[p.slot].error;
  pthread_mutex_unlock(&rd->mu);
  if (e == 0 && renameat2(rd->fd, p.tmp, rd->fd, name, p.replace ? 0 : RENAME_NOREPLACE) < 0) {
    e = errno;
    note_slot(rd, p.slot, e);
  }
  if (e && p.earlier_error) {
    /* The rewrite failed: the file keeps its first error, from before. */
    pthread_mutex_lock(&rd->mu);
    rd->files[p.slot].error = p.earlier_error;
    pthread_mutex_unlock(&rd->mu);
  }
  if (e) {
    unlinkat(rd->fd, p.tmp, 0);
    fl_set_err(err, errlen, "cannot write %s/%s: %s", rd->path, name, strerror(e));
    return -1;
  }
  return 0;
}

int fl_rundir_write_file(fl_rundir *rd, const char *name, const void *buf, size_t len, char *err,
                         size_t errlen) {
  FILE *f = fl_rundir_begin(rd, name, err, errlen);
  if (!f) return -1;
  if (len) fwrite(buf, 1, len, f);
  return fl_rundir_commit(rd, f, err, errlen);
}

size_t fl_rundir_failures(fl_rundir *rd, char *msg, size_t len) {
  size_t n = 0, o = 0;
  if (msg && len) msg[0] = '\0';
  pthread_mutex_lock(&rd->mu);
  for (size_t i = 0; i < rd->n_files; i++) {
    if (!rd->files[i].error) continue;
    if (msg && o < len)
      o += (size_t)snprintf(msg + o, len - o, "%s%s (%s)", n ? ", " : "cannot write ",
                            rd->files[i].name, strerror(rd->files[i].error));
    n++;
  }
  pthread_mutex_unlock(&rd->mu);
  if (n && msg && o < len) o += (size_t)snprintf(msg + o, len - o, " in %s", rd->path);
  if (n && msg && o < len && rd->old_name[0]) {
    const char *slash = strrchr(rd->path, '/');
    snprintf(msg + o, len - o, "; the earlier run directory is kept as %.*s%s",
             slash ? (int)(slash - rd->path + 1) : 0, rd->path, rd->old_name);
  }
  return n;
}

int fl_rundir_close(fl_rundir *rd, char *err, size_t errlen) {
  if (!rd) return 0;
  int rc = 0;
  if (rd->old_name[0] && rd->parent_fd >= 0 && fl_rundir_failures(rd, NULL, 0) == 0) {
    int ofd = openat(rd->parent_fd, rd->old_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ofd < 0 || remove_listed(ofd, 1) < 0 ||
        unlinkat(rd->parent_fd, rd->old_name, AT_REMOVEDIR) < 0) {
      const char *slash = strrchr(rd->path, '/');
      fl_set_err(err, errlen, "the earlier run directory %.*s%s could not be removed whole: %s",
                 slash ? (int)(slash - rd->path + 1) : 0, rd->path, rd->old_name, strerror(errno));
      rc = -1;
    }
    if (ofd >= 0) close(ofd);
  }
  free_rundir(rd);
  return rc;
}
