#include "faketime.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Debian's multiarch directories first; then what a source build installs. */
static const char *const library_dirs[] = {
    "/usr/lib/x86_64-linux-gnu/faketime",
    "/usr/lib/aarch64-linux-gnu/faketime",
    "/usr/lib/faketime",
    "/usr/local/lib/faketime",
    NULL,
};

int fl_clock_library(char *path, size_t pathlen, char *err, size_t errlen) {
  for (const char *const *d = library_dirs; *d; d++) {
    int n = snprintf(path, pathlen, "%s/%s", *d, FL_LIBFAKETIME_MT_NAME);
    if (n > 0 && (size_t)n < pathlen && access(path, R_OK) == 0) return 0;
  }
  fl_set_err(err, errlen,
             "clock faults need libfaketime (Debian package libfaketime): no %s in %s, %s, "
             "%s or %s",
             FL_LIBFAKETIME_MT_NAME, library_dirs[0], library_dirs[1], library_dirs[2],
             library_dirs[3]);
  return -1;
}

static bool is_libfaketime(const char *path, size_t len) {
  /* The file name part: libfaketime.so.1, libfaketimeMT.so.1 or any other build of it. */
  size_t base = len;
  while (base > 0 && path[base - 1] != '/') base--;
  return len - base >= 11 && !strncmp(path + base, "libfaketime", 11);
}

static int find_faketime(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  if (info->dlpi_name && is_libfaketime(info->dlpi_name, strlen(info->dlpi_name))) {
    *(const char **)data = info->dlpi_name;
    return 1;
  }
  return 0;
}

int fl_clock_runner_check(char *err, size_t errlen) {
  const char *found = NULL;
  dl_iterate_phdr(find_faketime, &found);
  if (!found) return 0;
  fl_set_err(err, errlen,
             "faultline itself runs under libfaketime (%s is loaded); the timeline must be on "
             "the machine's clock: start faultline without LD_PRELOAD of it (a scenario's "
             "clock: fakes one side's clock)",
             found);
  return -1;
}

/* Copies the entries of an LD_PRELOAD list (separated by ':' or spaces) that are not
 * libfaketime into out, ':'-separated. Returns -1 if they do not fit. */
static int strip_faketime(const char *preload, char *out, size_t len) {
  size_t o = 0;
  out[0] = '\0';
  for (const char *p = preload ? preload : ""; *p;) {
    size_t n = strcspn(p, ": \t");
    if (n > 0 && !is_libfaketime(p, n)) {
      if (o + (o ? 1 : 0) + n + 1 > len) return -1;
      if (o) out[o++] = ':';
      memcpy(out + o, p, n);
      o += n;
      out[o] = '\0';
    }
    p += n;
    p += strspn(p, ": \t");
  }
  return 0;
}

const char *fl_clock_offset_text(int64_t offset_ns, char *buf, size_t len) {
  uint64_t mag = offset_ns < 0 ? (uint64_t)0 - (uint64_t)offset_ns : (uint64_t)offset_ns;
  snprintf(buf, len, "%c%llu.%09llu", offset_ns < 0 ? '-' : '+',
           (unsigned long long)(mag / 1000000000u), (unsigned long long)(mag % 1000000000u));
  return buf;
}

FL_PRINTF(4, 5)
static int add_var(fl_clock_env *env, char *err, size_t errlen, const char *fmt, ...) {
  if (env->n_vars == FL_CLOCK_MAX_VARS) {
    fl_set_err(err, errlen, "clock: more than %d variables", FL_CLOCK_MAX_VARS);
    return -1;
  }
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(env->vars[env->n_vars], FL_CLOCK_VAR_LEN, fmt, ap);
  va_end(ap);
  if (n < 0 || n >= FL_CLOCK_VAR_LEN) {
    fl_set_err(err, errlen, "clock: an environment variable is too long (%d bytes)", n);
    return -1;
  }
  env->n_vars++;
  return 0;
}

int fl_clock_env_build(const fl_clock_plan *plan, const char *library, const char *stamp_path,
                       const char *inherited_preload, fl_clock_env *env, char *err, size_t errlen) {
  memset(env, 0, sizeof *env);
  char rest[FL_CLOCK_VAR_LEN];
  if (strip_faketime(inherited_preload, rest, sizeof rest) < 0) {
    fl_set_err(err, errlen, "clock: LD_PRELOAD is too long to add libfaketime to");
    return -1;
  }
  if (!plan || !plan->present) {
    /* A side without a clock must not inherit one. */
    if (inherited_preload && strcmp(rest, inherited_preload))
      return add_var(env, err, errlen, "LD_PRELOAD=%s", rest);
    return 0;
  }
  if (plan->offset_ns < 0) {
    fl_set_err(err, errlen, "clock: a negative offset is refused (harness/plan/clock.h)");
    return -1;
  }
  for (size_t i = 0; i < plan->n_jumps; i++) {
    if (plan->jumps[i].by_ns <= 0) {
      fl_set_err(err, errlen, "clock: jump %zu does not step forward (harness/plan/clock.h)", i);
      return -1;
    }
  }
  if (!library || !*library) {
    fl_set_err(err, errlen, "clock: no libfaketime given (fl_clock_library)");
    return -1;
  }
  env->faked = true;
  env->monotonic_faked = plan->fake == FL_CLOCK_FAKE_REALTIME_MONOTONIC;
  env->offset_ns = plan->offset_ns;
  char offset[40];
  fl_clock_offset_text(plan->offset_ns, offset, sizeof offset);
  if (add_var(env, err, errlen, "LD_PRELOAD=%s%s%s", library, *rest ? ":" : "", rest) < 0)
    return -1;
  if (!env->monotonic_faked && add_var(env, err, errlen, "FAKETIME_DONT_FAKE_MONOTONIC=1") < 0)
    return -1;
  if (plan->n_jumps == 0) return add_var(env, err, errlen, "FAKETIME=%s", offset);
  if (!stamp_path || !*stamp_path) {
    fl_set_err(err, errlen, "clock: a plan with jumps needs a timestamp file");
    return -1;
  }
  env->uses_stamp_file = true;
  snprintf(env->stamp_text, sizeof env->stamp_text, "%s", offset);
  if (add_var(env, err, errlen, "FAKETIME_TIMESTAMP_FILE=%s", stamp_path) < 0 ||
      add_var(env, err, errlen, "FAKETIME_NO_CACHE=1") < 0)
    return -1;
  return 0;
}

int fl_clock_envp(const fl_clock_env *env, char *const *base, char **out, size_t max) {
  bool sets_preload = false;
  for (size_t i = 0; env && i < env->n_vars; i++)
    if (!strncmp(env->vars[i], "LD_PRELOAD=", 11)) sets_preload = true;
  size_t n = 0;
  for (char *const *e = base; e && *e; e++) {
    if (!strncmp(*e, "FAKETIME", 8) || (sets_preload && !strncmp(*e, "LD_PRELOAD=", 11))) continue;
    if (n + 1 >= max) return -1;
    out[n++] = *e;
  }
  for (size_t i = 0; env && i < env->n_vars; i++) {
    if (n + 1 >= max) return -1;
    out[n++] = (char *)env->vars[i];
  }
  if (n >= max) return -1;
  out[n] = NULL;
  return (int)n;
}

int fl_clock_stamp_write(const char *path, const char *text, char *err, size_t errlen) {
  char tmp[4200];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    fl_set_err(err, errlen, "cannot write %s: the path is too long", path);
    return -1;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) goto fail;
  size_t len = strlen(text);
  char line[80];
  if (len + 2 > sizeof line) {
    close(fd);
    errno = EINVAL;
    goto fail;
  }
  memcpy(line, text, len);
  line[len++] = '\n';
  if (write(fd, line, len) != (ssize_t)len) {
    int e = errno ? errno : EIO;
    close(fd);
    errno = e;
    goto fail;
  }
  if (close(fd) < 0 || rename(tmp, path) < 0) goto fail;
  return 0;
fail:
  fl_set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
  unlink(tmp);
  return -1;
}

int fl_clock_fire_jump(const fl_clock_plan *plan, size_t index, int64_t *offset_ns,
                       const char *stamp_path, char *err, size_t errlen) {
  if (!plan || index >= plan->n_jumps) {
    fl_set_err(err, errlen, "clock: no jump %zu in the plan", index);
    return -1;
  }
  int64_t by = plan->jumps[index].by_ns;
  if (by > INT64_MAX - *offset_ns) {
    fl_set_err(err, errlen, "clock: jump %zu takes the offset past %lld s", index,
               (long long)(INT64_MAX / 1000000000));
    return -1;
  }
  int64_t next = *offset_ns + by;
  char text[40];
  if (fl_clock_stamp_write(stamp_path, fl_clock_offset_text(next, text, sizeof text), err, errlen) <
      0)
    return -1;
  *offset_ns = next;
  return 0;
}

void fl_clock_cleanup(pid_t pid) {
  char name[64];
  snprintf(name, sizeof name, "/faketime_sem_%ld", (long)pid);
  sem_unlink(name);
  snprintf(name, sizeof name, "/faketime_shm_%ld", (long)pid);
  shm_unlink(name);
}
