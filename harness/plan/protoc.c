#include "protoc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* What protoc may say on stderr that we keep. */
#define STDERR_MAX 4096

__attribute__((format(printf, 3, 4))) static int fail(fl_protoc_error *err, fl_protoc_fault fault,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err->fault = fault;
  err->line = err->col = 0;
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Reads the first `max` bytes of a memory file, and says whether it held more. */
static int read_memfd(int fd, size_t max, char **out, size_t *len, bool *more) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -1;
  size_t size = (size_t)st.st_size;
  *more = size > max;
  if (size > max) size = max;
  char *buf = malloc(size + 1);
  if (!buf) return -1;
  size_t got = 0;
  while (got < size) {
    ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  *out = buf;
  *len = got;
  return 0;
}

/* Waits for the child until the deadline; kills it past that. Returns 0 with its wait status,
 * or -1 when it had to be killed (or its end could not be seen). */
static int wait_child(pid_t pid, int64_t deadline_ns, int *status) {
  int pfd = pidfd_open(pid, 0);
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      if (pfd >= 0) close(pfd);
      return -1;
    }
    int64_t left = deadline_ns - fl_mono_ns();
    if (left <= 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
      }
      if (pfd >= 0) close(pfd);
      return -1;
    }
    if (pfd >= 0) {
      /* Readable once the child has exited. */
      struct pollfd p = {.fd = pfd, .events = POLLIN};
      (void)poll(&p, 1, (int)(left / 1000000) + 1);
    } else {
      /* No pidfd (a kernel before 5.3): look again in a millisecond. */
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
  }
  if (pfd >= 0) close(pfd);
  return 0;
}

/* protoc's stderr as one line: lines joined with "; ", its closing "Failed to parse input."
 * dropped when something more precise came before it. */
static void join_lines(const char *in, char *out, size_t outlen) {
  size_t o = 0;
  out[0] = '\0';
  for (const char *p = in; *p && o + 1 < outlen;) {
    size_t n = strcspn(p, "\n");
    bool generic = n == 22 && !strncmp(p, "Failed to parse input.", 22);
    if (n > 0 && !(generic && o > 0)) {
      int k = snprintf(out + o, outlen - o, "%s%.*s", o ? "; " : "", (int)n, p);
      if (k < 0) break;
      o += (size_t)k;
      if (o >= outlen) o = outlen - 1;
    }
    p += n;
    if (*p == '\n') p++;
  }
}

/* Classifies a failed run by what protoc said. */
static int protoc_failed(const char *stderr_text, fl_protoc_error *err) {
  char joined[sizeof err->msg];
  join_lines(stderr_text, joined, sizeof joined);
  int line = 0, col = 0, used = 0;
  if (sscanf(stderr_text, "input:%d:%d: %n", &line, &col, &used) == 2 && used > 0) {
    fail(err, FL_PROTOC_INPUT, "%s", joined + used);
    err->line = line;
    err->col = col;
    return -1;
  }
  if (!strncmp(stderr_text, "Type not defined", 16)) return fail(err, FL_PROTOC_TYPE, "%s", joined);
  if (!strncmp(stderr_text, "Failed to parse input.", 22))
    return fail(err, FL_PROTOC_INPUT, "%s", joined);
  if (!joined[0]) return fail(err, FL_PROTOC_PROTO, "protoc failed and said nothing");
  return fail(err, FL_PROTOC_PROTO, "%s", joined);
}

/*
 * Runs protoc with `mode` (--encode=TYPE or --decode=TYPE) on src, `in` as its stdin. On
 * success *out holds at most `max` bytes of its stdout (*more: it wrote more than that).
 */
static int run(const fl_protoc_source *src, const char *mode, const char *mode2, const void *in,
               size_t in_len, size_t max, char **out, size_t *out_len, bool *more,
               fl_protoc_error *err) {
  const char *env = getenv("FAULTLINE_PROTOC");
  const char *protoc = env && *env ? env : "protoc";
  size_t n_dirs = src->n_import_dirs ? src->n_import_dirs : 1;
  char **argv = calloc(n_dirs + 5, sizeof *argv);
  char *own_dir = NULL;
  int fd_in = -1, fd_out = -1, fd_err = -1, rc = -1;
  char *errtext = NULL;
  *out = NULL;
  if (!argv) return fail(err, FL_PROTOC_RUN, "out of memory");
  argv[0] = (char *)protoc;
  argv[1] = (char *)mode;
  size_t k = 2, first_owned = 2;
  if (mode2) argv[k++] = (char *)mode2, first_owned = 3;
  for (size_t i = 0; i < src->n_import_dirs; i++) {
    if (asprintf(&argv[k], "--proto_path=%s", src->import_dirs[i]) < 0) argv[k] = NULL;
    if (!argv[k++]) goto oom;
  }
  if (!src->n_import_dirs) {
    const char *slash = strrchr(src->file, '/');
    size_t dl = slash && slash != src->file ? (size_t)(slash - src->file) : 1;
    if (asprintf(&own_dir, "--proto_path=%.*s", (int)dl, src->file) < 0) own_dir = NULL;
    if (!own_dir) goto oom;
    argv[k++] = own_dir;
  }
  /* The file is absolute: it cannot be read as an option. */
  argv[k++] = (char *)src->file;
  argv[k] = NULL;

  fd_in = memfd_create("protoc-stdin", MFD_CLOEXEC);
  fd_out = memfd_create("protoc-stdout", MFD_CLOEXEC);
  fd_err = memfd_create("protoc-stderr", MFD_CLOEXEC);
  if (fd_in < 0 || fd_out < 0 || fd_err < 0) {
    fail(err, FL_PROTOC_RUN, "cannot make protoc's input and output files: %s", strerror(errno));
    goto out;
  }
  if (write_all(fd_in, in, in_len) < 0 || lseek(fd_in, 0, SEEK_SET) < 0) {
    fail(err, FL_PROTOC_RUN, "cannot write protoc's input: %s", strerror(errno));
    goto out;
  }
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0) goto oom;
  /* Nothing of ours beyond the three: a peer's event pipe must not outlive the peer in it. */
  int e = posix_spawn_file_actions_adddup2(&fa, fd_in, 0);
  if (!e) e = posix_spawn_file_actions_adddup2(&fa, fd_out, 1);
  if (!e) e = posix_spawn_file_actions_adddup2(&fa, fd_err, 2);
  if (!e) e = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  pid_t pid = -1;
  if (!e)
    e = strchr(protoc, '/') ? posix_spawn(&pid, protoc, &fa, NULL, argv, environ)
                            : posix_spawnp(&pid, protoc, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e) {
    fail(err, FL_PROTOC_RUN, "cannot run %s: %s%s", protoc, strerror(e),
         e == ENOENT ? " (protoc comes with Debian's protobuf-compiler package)" : "");
    goto out;
  }
  int status = 0;
  if (wait_child(pid, fl_mono_ns() + FL_PROTOC_TIMEOUT_NS, &status) < 0) {
    fail(err, FL_PROTOC_RUN, "%s did not finish within %llds; it was killed", protoc,
         (long long)(FL_PROTOC_TIMEOUT_NS / 1000000000));
    goto out;
  }
  size_t errlen;
  bool errmore;
  if (read_memfd(fd_err, STDERR_MAX, &errtext, &errlen, &errmore) < 0) goto oom;
  if (WIFSIGNALED(status)) {
    fail(err, FL_PROTOC_RUN, "%s was killed by signal %d (%s)", protoc, WTERMSIG(status),
         strsignal(WTERMSIG(status)));
    goto out;
  }
  if (WEXITSTATUS(status) != 0) {
    protoc_failed(errtext, err);
    goto out;
  }
  if (read_memfd(fd_out, max, out, out_len, more) < 0) goto oom;
  rc = 0;
  goto out;
oom:
  fail(err, FL_PROTOC_RUN, "out of memory");
out:
  free(errtext);
  if (fd_in >= 0) close(fd_in);
  if (fd_out >= 0) close(fd_out);
  if (fd_err >= 0) close(fd_err);
  for (size_t i = first_owned; i < k; i++)
    if (argv[i] != src->file) free(argv[i]);
  free(argv);
  return rc;
}

int fl_protoc_encode(const fl_protoc_source *src, const char *type, const char *text,
                     size_t text_len, size_t max, uint8_t **out, size_t *len,
                     fl_protoc_error *err) {
  char *mode;
  bool more;
  char *bytes;
  *out = NULL;
  *len = 0;
  if (asprintf(&mode, "--encode=%s", type) < 0) return fail(err, FL_PROTOC_RUN, "out of memory");
  int rc = run(src, mode, NULL, text, text_len, max, &bytes, len, &more, err);
  free(mode);
  if (rc < 0) return -1;
  if (more) {
    free(bytes);
    *len = 0;
    return fail(err, FL_PROTOC_RUN,
                "the encoded message is larger than %zu bytes, the most a payload may be", max);
  }
  *out = (uint8_t *)bytes;
  return 0;
}

/* Every line break and the indentation after it become one space; trailing space goes. */
static void one_line(char *s) {
  char *o = s;
  for (const char *p = s; *p;) {
    if (*p == '\n' || *p == '\r') {
      while (*p == '\n' || *p == '\r' || *p == ' ') p++;
      if (*p && o != s) *o++ = ' ';
      continue;
    }
    *o++ = *p++;
  }
  *o = '\0';
}

int fl_protoc_decode(const fl_protoc_source *src, const char *type, const uint8_t *buf, size_t len,
                     size_t max, char **text, bool *cut, fl_protoc_error *err) {
  char *mode;
  size_t n;
  bool more;
  *text = NULL;
  *cut = false;
  if (asprintf(&mode, "--decode=%s", type) < 0) return fail(err, FL_PROTOC_RUN, "out of memory");
  /* Indentation is two spaces a level: read enough that `max` bytes remain once it is gone. */
  size_t want = max > SIZE_MAX / 4 ? SIZE_MAX / 2 : max * 4;
  int rc = run(src, mode, NULL, buf, len, want, text, &n, &more, err);
  free(mode);
  if (rc < 0) return -1;
  one_line(*text);
  n = strlen(*text);
  if (n > max || more) {
    /* Cut on a character's boundary. */
    size_t at = n > max ? max : n;
    while (at > 0 && ((unsigned char)(*text)[at] & 0xC0) == 0x80) at--;
    (*text)[at] = '\0';
    *cut = true;
  }
  return 0;
}

int fl_protoc_check_type(const fl_protoc_source *src, const char *type, fl_protoc_error *err) {
  char *text;
  bool cut;
  if (fl_protoc_decode(src, type, NULL, 0, 64, &text, &cut, err) < 0) return -1;
  free(text);
  return 0;
}

int fl_protoc_dependencies(const fl_protoc_source *src, char ***files, size_t *n,
                           fl_protoc_error *err) {
  *files = NULL;
  *n = 0;
  char *text;
  size_t len;
  bool more;
  /* protoc writes the make rule to its stdout (a memory file) and the descriptors nowhere. */
  if (run(src, "--dependency_out=/dev/stdout", "--descriptor_set_out=/dev/null", "", 0, 1 << 20,
          &text, &len, &more, err) < 0)
    return -1;
  if (more) {
    free(text);
    return fail(err, FL_PROTOC_RUN, "protoc listed more than 1 MiB of imports");
  }
  /* "/dev/null: /a/x.proto \\\n /a/y.proto\n"; a space in a name is written "\\ ". */
  char *p = strstr(text, ": ");
  p = p ? p + 2 : text + len;
  char *word = malloc(len + 1);
  int rc = word ? 0 : fail(err, FL_PROTOC_RUN, "out of memory");
  while (rc == 0 && *p) {
    size_t w = 0;
    while (*p == ' ' || *p == '\t' || *p == '\n' || (*p == '\\' && p[1] == '\n'))
      p += *p == '\\' ? 2 : 1;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n' && !(*p == '\\' && p[1] == '\n')) {
      if (*p == '\\' && p[1] == ' ') p++;
      word[w++] = *p++;
    }
    if (!w) continue;
    word[w] = '\0';
    char **grown = realloc(*files, (*n + 1) * sizeof *grown);
    if (!grown || !(grown[*n] = strdup(word))) {
      if (grown) *files = grown;
      rc = fail(err, FL_PROTOC_RUN, "out of memory");
      break;
    }
    *files = grown;
    (*n)++;
  }
  free(word);
  free(text);
  if (rc < 0) {
    for (size_t i = 0; i < *n; i++) free((*files)[i]);
    free(*files);
    *files = NULL;
    *n = 0;
  }
  return rc;
}

bool fl_protoc_inside(const char *file, const char *dir) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  if (n == 1 && dir[0] == '/') return file[0] == '/';
  return !strncmp(file, dir, n) && file[n] == '/';
}
