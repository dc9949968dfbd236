#include "library.h"
#include "predicate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

static const char *override_dir;

void fl_library_set_dir(const char *dir) { override_dir = dir; }

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where this binary stands tells which library is its own: see library.h. */
static const char *default_dir(void) {
  static char dir[PATH_MAX];
  if (dir[0]) return dir;
  char exe[PATH_MAX], build_root[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", FL_INSTALLED_SCENARIO_DIR);
  if (!realpath("/proc/self/exe", exe)) return dir;
  *strrchr(exe, '/') = '\0';
  if (realpath(FL_BUILD_ROOT, build_root) && !strcmp(exe, build_root)) {
    snprintf(dir, sizeof dir, "%s", FL_SOURCE_SCENARIO_DIR);
    return dir;
  }
#ifdef FL_SCENARIO_DIR_FROM_BINDIR
  char rel[PATH_MAX + 64], real[PATH_MAX];
  snprintf(rel, sizeof rel, "%s/%s", exe, FL_SCENARIO_DIR_FROM_BINDIR);
  if (is_dir(rel) && realpath(rel, real)) snprintf(dir, sizeof dir, "%s", real);
#endif
  return dir;
}

const char *fl_library_dir(void) {
  if (override_dir) return override_dir;
  const char *env = getenv("FAULTLINE_SCENARIOS");
  return env && *env ? env : default_dir();
}

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int is_scenario_file(const char *name) {
  return name[0] != '.' && (has_suffix(name, ".yaml") || has_suffix(name, ".yml"));
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int fl_library_list(char ***paths) {
  const char *dir = fl_library_dir();
  DIR *d = opendir(dir);
  if (!d) return -1;
  char **list = NULL;
  int n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!is_scenario_file(e->d_name)) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **grown = realloc(list, (size_t)cap * sizeof *list);
      if (!grown) break;
      list = grown;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    list[n] = malloc(len);
    if (!list[n]) break;
    snprintf(list[n++], len, "%s/%s", dir, e->d_name);
  }
  closedir(d);
  if (n) qsort(list, (size_t)n, sizeof *list, by_name);
  *paths = list;
  return n;
}

void fl_library_free(char **paths, int n) {
  for (int i = 0; i < n; i++) free(paths[i]);
  free(paths);
}

int fl_library_resolve(const char *arg, char *path, size_t pathlen, char *err, size_t errlen) {
  struct stat st;
  if (strchr(arg, '/') || has_suffix(arg, ".yaml") || has_suffix(arg, ".yml") ||
      (stat(arg, &st) == 0 && S_ISREG(st.st_mode))) {
    if (stat(arg, &st) != 0) {
      snprintf(err, errlen, "%s: %s", arg, strerror(errno));
      return -1;
    }
    snprintf(path, pathlen, "%s", arg);
    return 0;
  }
  const char *dir = fl_library_dir();
  const char *exts[] = {".yaml", ".yml"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, pathlen, "%s/%s%s", dir, arg, exts[i]);
    if (stat(path, &st) == 0) return 0;
  }
  /* Not found: offer the nearest name in the library. The paths become the names, in place:
   * the folder and the extension cut off. */
  char **paths;
  int n = fl_library_list(&paths);
  const char **names = n > 0 ? calloc((size_t)n + 1, sizeof *names) : NULL;
  for (int i = 0; names && i < n; i++) {
    char *base = strrchr(paths[i], '/') + 1;
    *strrchr(base, '.') = '\0';
    names[i] = base;
  }
  const char *near = names ? fl_near_miss(arg, names) : NULL;
  if (near)
    snprintf(err, errlen, "no scenario named '%s' in %s; did you mean '%s'?", arg, dir, near);
  else
    snprintf(err, errlen, "no scenario named '%s' in %s (faultline list shows them)", arg, dir);
  free(names);
  if (n > 0) fl_library_free(paths, n);
  return -1;
}
