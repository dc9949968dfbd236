#include "junit.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* s as XML character data (or an attribute value, `attr`), as junit.h says. */
static void put_text(FILE *out, const char *s, bool attr) {
  if (!s) return;
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
      i++;
      switch (c) {
      case '&': fputs("&amp;", out); continue;
      case '<': fputs("&lt;", out); continue;
      case '>': fputs("&gt;", out); continue;
      case '"': fputs(attr ? "&quot;" : "\"", out); continue;
      case '\t': fputs(attr ? "&#9;" : "\t", out); continue;
      case '\n': fputs(attr ? "&#10;" : "\n", out); continue;
      case '\r': fputs("&#13;", out); continue;
      }
      if (c < 0x20 || c == 0x7f)
        fputs("\xEF\xBF\xBD", out);
      else
        fputc(c, out);
      continue;
    }
    size_t k = fl_utf8_len(s + i, n - i);
    /* U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML characters. */
    bool nonchar =
        k == 3 && c == 0xEF && (unsigned char)s[i + 1] == 0xBF && (unsigned char)s[i + 2] >= 0xBE;
    if (k == 0 || nonchar) {
      fputs("\xEF\xBF\xBD", out);
      i += k ? k : 1;
      continue;
    }
    fwrite(s + i, 1, k, out);
    i += k;
  }
}

static void put_attr(FILE *out, const char *key, const char *value) {
  fprintf(out, " %s=\"", key);
  put_text(out, value, true);
  fputc('"', out);
}

static void count(const fl_junit_case *cases, size_t n, size_t by[4]) {
  memset(by, 0, 4 * sizeof *by);
  for (size_t i = 0; i < n; i++) by[cases[i].result]++;
}

static void put_counts(FILE *out, size_t n, const size_t by[4], double seconds) {
  fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"", n,
          by[FL_JUNIT_FAILURE], by[FL_JUNIT_ERROR], by[FL_JUNIT_SKIPPED], seconds);
}

static void put_case(FILE *out, const fl_junit_case *c) {
  fputs("    <testcase", out);
  put_attr(out, "name", c->name);
  put_attr(out, "classname", c->classname);
  if (c->file) put_attr(out, "file", c->file);
  fprintf(out, " time=\"%.3f\">\n", c->seconds < 0 ? 0 : c->seconds);
  const char *tag = c->result == FL_JUNIT_FAILURE   ? "failure"
                    : c->result == FL_JUNIT_ERROR   ? "error"
                    : c->result == FL_JUNIT_SKIPPED ? "skipped"
                                                    : NULL;
  if (c->result == FL_JUNIT_SKIPPED) {
    fputs("      <skipped", out);
    if (c->message) put_attr(out, "message", c->message);
    fputs("/>\n", out);
  } else if (tag) {
    fprintf(out, "      <%s", tag);
    put_attr(out, "message", c->message ? c->message : "");
    put_attr(out, "type", c->result == FL_JUNIT_FAILURE ? "not reproduced" : "error");
    fputc('>', out);
    put_text(out, c->text, false);
    fprintf(out, "</%s>\n", tag);
  }
  if (c->run_dir) {
    fputs("      <system-out>run directory: ", out);
    put_text(out, c->run_dir, false);
    fputs("\n[[ATTACHMENT|", out);
    put_text(out, c->run_dir, false);
    fputs("]]\n[[ATTACHMENT|", out);
    put_text(out, c->run_dir, false);
    fputs("/report.html]]\n</system-out>\n", out);
  }
  fputs("    </testcase>\n", out);
}

int fl_junit_write(FILE *out, const fl_junit_suite *suite, const fl_junit_case *cases, size_t n) {
  size_t by[4];
  count(cases, n, by);
  fputs(FL_JUNIT_HEAD "; it replaces the file when asked to write it again -->\n", out);
  fputs("<testsuites", out);
  put_attr(out, "name", "faultline");
  put_counts(out, n, by, suite->seconds);
  fputs(">\n  <testsuite", out);
  put_attr(out, "name", suite->name);
  put_counts(out, n, by, suite->seconds);
  if (suite->timestamp) put_attr(out, "timestamp", suite->timestamp);
  if (suite->hostname) put_attr(out, "hostname", suite->hostname);
  fputs(">\n", out);
  if (suite->properties && suite->properties[0]) {
    fputs("    <properties>\n", out);
    for (const char *const *p = suite->properties; p[0] && p[1]; p += 2) {
      fputs("      <property", out);
      put_attr(out, "name", p[0]);
      put_attr(out, "value", p[1]);
      fputs("/>\n", out);
    }
    fputs("    </properties>\n", out);
  }
  for (size_t i = 0; i < n; i++) put_case(out, &cases[i]);
  fputs("  </testsuite>\n</testsuites>\n", out);
  if (fflush(out) != 0 || ferror(out)) {
    if (!errno) errno = EIO;
    return -1;
  }
  return 0;
}

void fl_junit_describe(const json_t *doc, const char *run_dir, char *msg, size_t msglen,
                       char **text) {
  const char *verdict = json_string_value(json_object_get(doc, "verdict"));
  size_t o = (size_t)snprintf(msg, msglen, "%s", verdict ? verdict : "no verdict");
  if (verdict && !strcmp(verdict, "error")) {
    const char *why = json_string_value(json_object_get(doc, "error"));
    if (why && o < msglen) o += (size_t)snprintf(msg + o, msglen - o, ": %s", why);
  } else if (verdict && !strcmp(verdict, "not reproduced")) {
    const json_t *list = json_object_get(doc, "expectations");
    size_t i, k = 0;
    json_t *e;
    json_array_foreach(list, i, e) {
      if (json_is_true(json_object_get(e, "held")) || o >= msglen) continue;
      o += (size_t)snprintf(msg + o, msglen - o, "%s%s (seen %s)", k++ ? "; " : ": ",
                            json_string_value(json_object_get(e, "clause")),
                            json_string_value(json_object_get(e, "seen")));
    }
  }
  *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(text, &len);
  if (!m) return;
  fl_report_print_summary(m, doc, run_dir, false);
  fclose(m);
}

/* 1: PATH is absent, 0: it is a file faultline wrote, -1: refused (err says why). */
static int target_state(const char *path, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno != ENOENT) {
      fl_set_err(err, errlen, "--junit %s: cannot read it: %s", path, strerror(errno));
      return -1;
    }
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    if (access(dir, W_OK | X_OK) < 0) {
      fl_set_err(err, errlen, "--junit %s: its folder cannot be written: %s", path,
                 strerror(errno));
      return -1;
    }
    return 1;
  }
  if (S_ISLNK(st.st_mode)) {
    fl_set_err(err, errlen,
               "--junit %s: is a symbolic link; faultline does not follow links: name the file "
               "itself",
               path);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    fl_set_err(err, errlen, "--junit %s: is not a regular file", path);
    return -1;
  }
  if (st.st_uid != geteuid()) {
    fl_set_err(err, errlen, "--junit %s: belongs to uid %u, not to you (uid %u)", path,
               (unsigned)st.st_uid, (unsigned)geteuid());
    return -1;
  }
  char head[sizeof FL_JUNIT_HEAD];
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  ssize_t n = fd >= 0 ? read(fd, head, sizeof head - 1) : -1;
  int e = errno;
  if (fd >= 0) close(fd);
  if (n < 0) {
    fl_set_err(err, errlen, "--junit %s: cannot read it: %s", path, strerror(e));
    return -1;
  }
  if ((size_t)n != sizeof head - 1 || memcmp(head, FL_JUNIT_HEAD, sizeof head - 1)) {
    fl_set_err(err, errlen,
               "--junit %s: exists and is not a JUnit file faultline wrote; choose another "
               "name, or remove it yourself",
               path);
    return -1;
  }
  return 0;
}

int fl_junit_check_path(const char *path, char *err, size_t errlen) {
  return target_state(path, err, errlen) < 0 ? -1 : 0;
}

int fl_junit_save(const char *path, const char *buf, size_t len, char *err, size_t errlen) {
  char copy[PATH_MAX], tmp[PATH_MAX + 32];
  snprintf(copy, sizeof copy, "%s", path);
  const char *slash = strrchr(path, '/');
  snprintf(tmp, sizeof tmp, "%.*s.%s.faultline-XXXXXX", slash ? (int)(slash - path + 1) : 0, path,
           basename(copy));
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    fl_set_err(err, errlen, "--junit %s: cannot create a file beside it: %s", path,
               strerror(errno));
    return -1;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, buf + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  int e = done == len ? 0 : (errno ? errno : EIO);
  if (!e && fchmod(fd, 0644) < 0) e = errno;
  if (!e && fsync(fd) < 0) e = errno;
  if (close(fd) < 0 && !e) e = errno;
  if (e) {
    fl_set_err(err, errlen, "--junit %s: cannot write %s: %s", path, tmp, strerror(e));
    unlink(tmp);
    return -1;
  }
  int state = target_state(path, err, errlen);
  int rc = -1;
  if (state == 1)
    rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
  else if (state == 0)
    rc = rename(tmp, path);
  if (rc < 0) {
    if (state >= 0)
      fl_set_err(err, errlen, "--junit %s: cannot put it in place: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}
