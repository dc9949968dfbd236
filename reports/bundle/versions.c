#include "versions.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "digest.h"
#include "jsonout.h"
#include "scenario.h"

/* The GNU build id of an ELF file, in hex; "" when it has none (a script, a stripped note). */
static void build_id(int fd, char *hex, size_t len) {
  hex[0] = '\0';
  if (elf_version(EV_CURRENT) == EV_NONE) return;
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (!elf) return;
  const void *id = NULL;
  ssize_t n = elf_kind(elf) == ELF_K_ELF ? dwelf_elf_gnu_build_id(elf, &id) : -1;
  for (ssize_t i = 0; id && i < n && (size_t)(2 * i + 2) < len; i++)
    snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)id)[i]);
  elf_end(elf);
}

json_t *fl_versions_program(const char *role, const char *path) {
  json_t *o = json_object();
  if (!o || fl_json_set_bytes(o, "role", role, SIZE_MAX) < 0 ||
      fl_json_set_bytes(o, "path", path, SIZE_MAX) < 0)
    goto fail;
  char why[256] = "";
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  fl_sha256 *h = NULL;
  if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(why, sizeof why, "cannot open: %s", strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    snprintf(why, sizeof why, "not a regular file");
  } else if (!(h = fl_sha256_new())) {
    snprintf(why, sizeof why, "out of memory");
  } else {
    char buf[65536];
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0) fl_sha256_update(h, buf, (size_t)got);
    if (got < 0) snprintf(why, sizeof why, "cannot read: %s", strerror(errno));
  }
  if (why[0]) {
    fl_sha256_free(h);
    if (fd >= 0) close(fd);
    if (fl_json_set(o, "error", json_string(why)) < 0) goto fail;
    return o;
  }
  char sha[FL_SHA256_HEX], id[256];
  fl_sha256_final(h, sha);
  build_id(fd, id, sizeof id);
  close(fd);
  if (fl_json_set(o, "size", json_integer((json_int_t)st.st_size)) < 0 ||
      fl_json_set(o, "sha256", json_string(sha)) < 0 ||
      fl_json_set(o, "build_id", id[0] ? json_string(id) : json_null()) < 0)
    goto fail;
  return o;
fail:
  json_decref(o);
  return NULL;
}

/* How long `faultline-peer --version` may take: it loads C core and prints one line. */
#define PEER_VERSION_TIMEOUT_MS 5000

extern char **environ;

/* gRPC core's version as the peer reports it ("faultline-peer 0.2.0 (gRPC core 29.0.0)"), into
 * out; "" when it cannot tell (an older peer, a program that is not ours). faultline itself does
 * not link C core: the peer's is the one in force, and loading it would cost every command. */
static void peer_grpc_version(const char *peer, char *out, size_t len) {
  out[0] = '\0';
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  char *argv[] = {(char *)peer, "--version", NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, peer, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    return;
  }
  char buf[512];
  size_t got = 0;
  int64_t until = fl_mono_ns() + (int64_t)PEER_VERSION_TIMEOUT_MS * 1000000;
  for (;;) {
    int left = (int)((until - fl_mono_ns()) / 1000000);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    if (left <= 0 || poll(&pfd, 1, left) <= 0) break;
    ssize_t n = read(p[0], buf + got, sizeof buf - 1 - got);
    if (n <= 0) break;
    got += (size_t)n;
    if (got == sizeof buf - 1) break;
  }
  close(p[0]);
  kill(pid, SIGKILL); /* it has exited by now, unless it hung */
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  buf[got] = '\0';
  const char *v = strstr(buf, "(gRPC core ");
  if (!v) return;
  v += strlen("(gRPC core ");
  size_t l = strcspn(v, ")\n");
  if (v[l] == ')') snprintf(out, len, "%.*s", (int)l, v);
}

json_t *fl_versions_collect(const fl_program *programs, size_t n) {
  struct utsname u;
  if (uname(&u) < 0) memset(&u, 0, sizeof u);
  char grpc[128] = "";
  for (size_t i = 0; i < n && !grpc[0]; i++)
    if (!strcmp(programs[i].role, "peer")) peer_grpc_version(programs[i].path, grpc, sizeof grpc);
  json_t *o = json_object(), *kernel = json_object(), *list = json_array();
  if (!o || !kernel || !list) {
    json_decref(kernel);
    json_decref(list);
    goto fail;
  }
  if (fl_json_set(o, "faultline", json_string(FL_VERSION)) < 0 ||
      fl_json_set_bytes(o, "grpc_core", grpc[0] ? grpc : NULL, SIZE_MAX) < 0 ||
      fl_json_set(o, "kernel", kernel) < 0 || fl_json_set(o, "programs", list) < 0 ||
      fl_json_set_bytes(kernel, "sysname", u.sysname, SIZE_MAX) < 0 ||
      fl_json_set_bytes(kernel, "release", u.release, SIZE_MAX) < 0 ||
      fl_json_set_bytes(kernel, "version", u.version, SIZE_MAX) < 0 ||
      fl_json_set_bytes(kernel, "machine", u.machine, SIZE_MAX) < 0)
    goto fail;
  for (size_t i = 0; i < n; i++) {
    json_t *p = fl_versions_program(programs[i].role, programs[i].path);
    if (!p || json_array_append_new(list, p) < 0) goto fail;
  }
  return o;
fail:
  json_decref(o);
  return NULL;
}

/* ---- comparing ------------------------------------------------------------------------- */

/* A string of an untrusted record, printable; "(not recorded)" when absent or not a string. */
static const char *text(const json_t *o, const char *key, char *buf, size_t len) {
  const char *s = json_string_value(json_object_get(o, key));
  return fl_printable(s ? s : "(not recorded)", buf, len);
}

static bool same_string(const json_t *a, const json_t *b, const char *key) {
  const char *x = json_string_value(json_object_get(a, key));
  const char *y = json_string_value(json_object_get(b, key));
  return x && y && !strcmp(x, y);
}

static void kernel_text(const json_t *k, char *buf, size_t len) {
  char a[128], b[128], c[256], d[64];
  snprintf(buf, len, "%s %s %s %s", text(k, "sysname", a, sizeof a),
           text(k, "release", b, sizeof b), text(k, "version", c, sizeof c),
           text(k, "machine", d, sizeof d));
}

/* The program of that role in a record's list, or NULL. */
static const json_t *program(const json_t *record, const char *role) {
  const json_t *list = json_object_get(record, "programs");
  size_t i;
  const json_t *p;
  json_array_foreach(list, i, p) {
    const char *r = json_string_value(json_object_get(p, "role"));
    if (r && !strcmp(r, role)) return p;
  }
  return NULL;
}

/* "3f2a9c1b0d4e" of a hex value, "none" for null, "(not recorded)" otherwise. */
static const char *short_hex(const json_t *p, const char *key, char *buf, size_t len) {
  const json_t *v = json_object_get(p, key);
  if (json_is_null(v)) return "none";
  const char *s = json_string_value(v);
  if (!s) return "(not recorded)";
  char cut[16];
  snprintf(cut, sizeof cut, "%.12s", s);
  return fl_printable(cut, buf, len);
}

/* Why two records of one program differ, or "" when they do not. */
static void program_diff(const json_t *a, const json_t *b, char *out, size_t len) {
  char x[64], y[64], u[64], v[64], e[256];
  out[0] = '\0';
  if (!b) {
    snprintf(out, len, "not run here");
    return;
  }
  const char *err_a = json_string_value(json_object_get(a, "error"));
  const char *err_b = json_string_value(json_object_get(b, "error"));
  if (err_a || err_b) {
    snprintf(out, len, "%s -> %s", err_a ? fl_printable(err_a, e, sizeof e) : "readable",
             err_b ? fl_printable(err_b, x, sizeof x) : "readable");
    return;
  }
  bool sha = same_string(a, b, "sha256");
  const json_t *ia = json_object_get(a, "build_id"), *ib = json_object_get(b, "build_id");
  bool id = json_equal(ia, ib) || (json_is_null(ia) && json_is_null(ib));
  if (sha && id) return;
  snprintf(out, len, "sha256 %s -> %s", short_hex(a, "sha256", x, sizeof x),
           short_hex(b, "sha256", y, sizeof y));
  if (!id) {
    size_t n = strlen(out);
    snprintf(out + n, len - n, ", build id %s -> %s", short_hex(a, "build_id", u, sizeof u),
             short_hex(b, "build_id", v, sizeof v));
  }
}

size_t fl_versions_diff(FILE *out, const json_t *then, const json_t *now) {
  char differ[4096] = "", same[2048] = "";
  size_t nd = 0, od = 0, os = 0;
#define DIFFER(...)                                                                                \
  do {                                                                                             \
    if (od < sizeof differ) od += (size_t)snprintf(differ + od, sizeof differ - od, __VA_ARGS__);  \
    nd++;                                                                                          \
  } while (0)
#define SAME(...)                                                                                  \
  do {                                                                                             \
    if (os < sizeof same)                                                                          \
      os += (size_t)snprintf(same + os, sizeof same - os, "%s", os ? ", " : "");                   \
    if (os < sizeof same) os += (size_t)snprintf(same + os, sizeof same - os, __VA_ARGS__);        \
  } while (0)
  char a[256], b[256];
  if (same_string(then, now, "faultline"))
    SAME("faultline %s", text(now, "faultline", a, sizeof a));
  else
    DIFFER("  faultline: %s -> %s\n", text(then, "faultline", a, sizeof a),
           text(now, "faultline", b, sizeof b));
  if (same_string(then, now, "grpc_core"))
    SAME("gRPC core %s", text(now, "grpc_core", a, sizeof a));
  else
    DIFFER("  gRPC core: %s -> %s\n", text(then, "grpc_core", a, sizeof a),
           text(now, "grpc_core", b, sizeof b));
  const json_t *kt = json_object_get(then, "kernel"), *kn = json_object_get(now, "kernel");
  char kx[600], ky[600];
  kernel_text(kt, kx, sizeof kx);
  kernel_text(kn, ky, sizeof ky);
  if (!strcmp(kx, ky) && json_is_object(kt))
    SAME("kernel %s", text(kn, "release", a, sizeof a));
  else
    DIFFER("  kernel: %s -> %s\n", kx, ky);

  /* Every program of the original run, by role; then any this run starts that it did not. */
  char progs[1024] = "";
  size_t op = 0;
  const json_t *list = json_object_get(then, "programs"), *p;
  size_t i;
  json_array_foreach(list, i, p) {
    const char *role = json_string_value(json_object_get(p, "role"));
    if (!role) continue;
    char why[512];
    program_diff(p, program(now, role), why, sizeof why);
    if (why[0]) {
      DIFFER("  program %s: %s\n", fl_printable(role, a, sizeof a), why);
    } else if (op < sizeof progs) {
      op += (size_t)snprintf(progs + op, sizeof progs - op, "%s%s", op ? ", " : "",
                             fl_printable(role, a, sizeof a));
    }
  }
  json_array_foreach(json_object_get(now, "programs"), i, p) {
    const char *role = json_string_value(json_object_get(p, "role"));
    if (role && !program(then, role))
      DIFFER("  program %s: not run originally\n", fl_printable(role, a, sizeof a));
  }
  if (progs[0]) SAME("programs %s", progs);
#undef DIFFER
#undef SAME
  if (nd == 0) {
    fprintf(out, "versions: the same as the original run (%s)\n", same);
  } else {
    fprintf(out, "versions that differ from the original run (original -> here):\n%s", differ);
    if (same[0]) fprintf(out, "the same: %s\n", same);
  }
  return nd;
}
