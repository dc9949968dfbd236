#include "suite.h"
#include "predicate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static void entry_free(fl_suite_entry *e) {
  free(e->scenario);
  for (size_t i = 0; i < e->n_tags; i++) free(e->tags[i]);
  free(e->tags);
  free(e->origin);
  free(e->group);
}

void fl_suite_free(fl_suite *s) {
  for (size_t i = 0; i < s->n; i++) entry_free(&s->entries[i]);
  free(s->entries);
  *s = (fl_suite){0};
}

/* A new zeroed entry at the end, or NULL when out of memory. */
static fl_suite_entry *push(fl_suite *s) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    fl_suite_entry *grown = realloc(s->entries, cap * sizeof *grown);
    if (!grown) return NULL;
    s->entries = grown;
    s->cap = cap;
  }
  fl_suite_entry *e = &s->entries[s->n++];
  *e = (fl_suite_entry){.repeat = 1};
  return e;
}

int fl_suite_add(fl_suite *s, const char *scenario, char *err, size_t errlen) {
  fl_suite_entry *e = push(s);
  if (!e || !(e->scenario = strdup(scenario))) {
    if (e) s->n--;
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

bool fl_suite_is_file(const char *arg) {
  size_t n = strlen(arg);
  return n > 6 && !strcmp(arg + n - 6, ".suite");
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && !memcmp(s + n - k, suffix, k);
}

static bool is_path_word(const char *w, size_t n) {
  return memchr(w, '/', n) || ends_with(w, n, ".yaml") || ends_with(w, n, ".yml");
}

static bool tag_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '-' || c == '_' || c == '.');
}

static bool valid_tag(const char *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!tag_char(w[i], i == 0)) return false;
  return n > 0;
}

/* The text's bytes are checked first, all of them, so that a word is plain UTF-8 text with no
 * control byte: messages can quote it as it is. */
static int check_bytes(const char *path, const char *text, size_t len, char *err, size_t errlen) {
  int line = 1, col = 1;
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') {
      line++;
      col = 1;
      i++;
      continue;
    }
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
      fl_set_err(err, errlen, "%s:%d:%d: a control byte (0x%02x)", path, line, col, c);
      return -1;
    }
    size_t k = c < 0x80 ? 1 : fl_utf8_len(text + i, len - i);
    if (k == 0) {
      fl_set_err(err, errlen, "%s:%d:%d: not UTF-8", path, line, col);
      return -1;
    }
    i += k;
    col++;
  }
  return 0;
}

/* The folder part of path with its '/', "" when it has none. */
static size_t dir_len(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? (size_t)(slash - path + 1) : 0;
}

/* One field after the scenario word: a tag or KEY=VALUE. */
static int parse_field(fl_suite_entry *e, const char *w, size_t n, const char *where, char *err,
                       size_t errlen) {
  const char *eq = memchr(w, '=', n);
  if (!eq) {
    if (!valid_tag(w, n)) {
      fl_set_err(err, errlen,
                 "%s: tag '%.*s': a tag is a letter or digit, then letters, digits, '-', '_' "
                 "and '.'",
                 where, (int)n, w);
      return -1;
    }
    for (size_t i = 0; i < e->n_tags; i++)
      if (strlen(e->tags[i]) == n && !memcmp(e->tags[i], w, n)) return 0; /* said twice */
    char **grown = realloc(e->tags, (e->n_tags + 1) * sizeof *grown);
    if (!grown) goto oom;
    e->tags = grown;
    if (!(e->tags[e->n_tags] = dup_n(w, n))) goto oom;
    e->n_tags++;
    return 0;
  }
  char key[64];
  size_t klen = (size_t)(eq - w);
  snprintf(key, sizeof key, "%.*s", (int)(klen < sizeof key ? klen : sizeof key - 1), w);
  if (strcmp(key, "repeat") != 0) {
    static const char *const keys[] = {"repeat", NULL};
    const char *near = fl_near_miss(key, keys);
    if (near)
      fl_set_err(err, errlen, "%s: unknown option '%s'; did you mean '%s'?", where, key, near);
    else
      fl_set_err(err, errlen, "%s: unknown option '%s' (the one option is repeat=N)", where, key);
    return -1;
  }
  const char *v = eq + 1;
  size_t vlen = n - klen - 1;
  long count = 0;
  bool ok = vlen > 0 && vlen <= 4;
  for (size_t i = 0; ok && i < vlen; i++) {
    ok = v[i] >= '0' && v[i] <= '9';
    count = count * 10 + (v[i] - '0');
  }
  if (!ok || count < 1 || count > FL_SUITE_MAX_REPEAT) {
    fl_set_err(err, errlen, "%s: repeat=%.*s: a count from 1 to %d", where, (int)vlen, v,
               FL_SUITE_MAX_REPEAT);
    return -1;
  }
  e->repeat = (int)count;
  e->repeat_set = true;
  return 0;
oom:
  fl_set_err(err, errlen, "out of memory");
  return -1;
}

int fl_suite_parse(fl_suite *s, const char *path, const char *group, const char *text, size_t len,
                   char *err, size_t errlen) {
  if (check_bytes(path, text, len, err, errlen) < 0) return -1;
  size_t first = s->n; /* this file's entries, for the duplicate check */
  int *lines = NULL;   /* the line of each of this file's entries */
  int rc = -1;
  size_t pos = 0;
  for (int line = 1; pos < len; line++) {
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t llen = nl ? (size_t)(nl - start) : len - pos;
    pos += llen + (nl ? 1 : 0);
    fl_suite_entry *e = NULL;
    size_t i = 0;
    while (i < llen) {
      while (i < llen && (start[i] == ' ' || start[i] == '\t' || start[i] == '\r')) i++;
      if (i == llen || start[i] == '#') break;
      size_t w0 = i;
      while (i < llen && start[i] != ' ' && start[i] != '\t' && start[i] != '\r') i++;
      const char *w = start + w0;
      size_t wn = i - w0;
      /* Columns count characters, as an editor shows them. */
      int col = 1;
      for (size_t k = 0; k < w0; k++)
        if (((unsigned char)start[k] & 0xC0) != 0x80) col++;
      char where[PATH_MAX + 32];
      snprintf(where, sizeof where, "%s:%d:%d", path, line, col);
      if (e) {
        if (parse_field(e, w, wn, where, err, errlen) < 0) goto out;
        continue;
      }
      /* The scenario word. */
      for (size_t k = first; k < s->n; k++) {
        const char *prev = s->entries[k].scenario;
        size_t dl = is_path_word(w, wn) && w[0] != '/' ? dir_len(path) : 0;
        if (strlen(prev) == dl + wn && !strncmp(prev, path, dl) && !memcmp(prev + dl, w, wn)) {
          fl_set_err(err, errlen, "%s: '%.*s' is listed already, at line %d", where, (int)wn, w,
                     lines[k - first]);
          goto out;
        }
      }
      int *grown = realloc(lines, (s->n - first + 1) * sizeof *grown);
      if (!grown || !(e = push(s))) {
        if (grown) lines = grown;
        fl_set_err(err, errlen, "out of memory");
        goto out;
      }
      lines = grown;
      lines[s->n - 1 - first] = line;
      size_t dl = is_path_word(w, wn) && w[0] != '/' ? dir_len(path) : 0;
      e->scenario = malloc(dl + wn + 1);
      e->origin = strdup(where);
      e->group = group ? strdup(group) : NULL;
      if (!e->scenario || !e->origin || (group && !e->group)) {
        fl_set_err(err, errlen, "out of memory");
        goto out;
      }
      memcpy(e->scenario, path, dl);
      memcpy(e->scenario + dl, w, wn);
      e->scenario[dl + wn] = '\0';
    }
  }
  if (s->n == first) {
    fl_set_err(err, errlen, "%s: lists no scenario", path);
    goto out;
  }
  rc = 0;
out:
  if (rc < 0) {
    while (s->n > first) entry_free(&s->entries[--s->n]);
  }
  free(lines);
  return rc;
}

int fl_suite_load(fl_suite *s, const char *path, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fl_set_err(err, errlen, "%s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode) || st.st_size > FL_SUITE_MAX_FILE_BYTES) {
    fl_set_err(err, errlen, "%s: %s", path,
               S_ISREG(st.st_mode) ? "is larger than 1 MiB; a suite file lists scenarios"
                                   : "is not a regular file");
    close(fd);
    return -1;
  }
  char *text = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (text && got < (size_t)st.st_size) {
    ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  int e = errno;
  close(fd);
  if (!text || got != (size_t)st.st_size) {
    fl_set_err(err, errlen, "%s: %s", path, text ? strerror(e ? e : EIO) : "out of memory");
    free(text);
    return -1;
  }
  /* The group is the file's stem: ci/regression.suite -> regression. */
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char group[NAME_MAX + 1];
  snprintf(group, sizeof group, "%.*s", (int)(strlen(base) - strlen(".suite")), base);
  int rc = fl_suite_parse(s, path, group, text, got, err, errlen);
  free(text);
  return rc;
}

static bool has_tag(const fl_suite_entry *e, const char *tag) {
  for (size_t i = 0; i < e->n_tags; i++)
    if (!strcmp(e->tags[i], tag)) return true;
  return false;
}

int fl_suite_filter_tags(fl_suite *s, const char *const *tags, size_t n, char *err, size_t errlen) {
  if (n == 0) return 0;
  /* Every tag there is, for the message when none is left. */
  const char **all = NULL;
  size_t n_all = 0;
  for (size_t i = 0; i < s->n; i++)
    for (size_t t = 0; t < s->entries[i].n_tags; t++) {
      size_t k = 0;
      while (k < n_all && strcmp(all[k], s->entries[i].tags[t])) k++;
      if (k < n_all) continue;
      const char **grown = realloc(all, (n_all + 2) * sizeof *grown);
      if (!grown) {
        free(all);
        fl_set_err(err, errlen, "out of memory");
        return -1;
      }
      all = grown;
      all[n_all++] = s->entries[i].tags[t];
      all[n_all] = NULL;
    }
  size_t kept = 0;
  for (size_t i = 0; i < s->n; i++) {
    bool keep = false;
    for (size_t t = 0; t < n && !keep; t++) keep = has_tag(&s->entries[i], tags[t]);
    kept += keep;
  }
  if (kept == 0) {
    /* Said while the entries, and so the tags listed, still exist. */
    const char *near = all ? fl_near_miss(tags[0], all) : NULL;
    if (n_all == 0) {
      fl_set_err(err, errlen, "no scenario has tag '%s': only a suite file gives tags", tags[0]);
    } else if (near && n == 1) {
      fl_set_err(err, errlen, "no scenario has tag '%s' (did you mean '%s'?)", tags[0], near);
    } else {
      char list[512] = "";
      size_t o = 0;
      for (size_t k = 0; k < n_all && o < sizeof list; k++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "", all[k]);
      fl_set_err(err, errlen, "no scenario has tag '%s'%s; the tags are: %s", tags[0],
                 n > 1 ? " or the others given" : "", list);
    }
  }
  kept = 0;
  for (size_t i = 0; i < s->n; i++) {
    bool keep = false;
    for (size_t t = 0; t < n && !keep; t++) keep = has_tag(&s->entries[i], tags[t]);
    if (keep)
      s->entries[kept++] = s->entries[i];
    else
      entry_free(&s->entries[i]);
  }
  s->n = kept;
  free(all);
  return kept ? 0 : -1;
}

int fl_suite_parse_shard(const char *text, int *index, int *count, char *err, size_t errlen) {
  long i = 0, n = 0;
  const char *p = text;
  int di = 0, dn = 0;
  while (*p >= '0' && *p <= '9' && di < 5) i = i * 10 + (*p++ - '0'), di++;
  bool ok = di > 0 && *p == '/';
  if (ok) p++;
  while (ok && *p >= '0' && *p <= '9' && dn < 5) n = n * 10 + (*p++ - '0'), dn++;
  ok = ok && dn > 0 && *p == '\0';
  if (!ok) {
    fl_set_err(err, errlen, "--shard '%s': give I/N, the shard I of N, as in 2/4", text);
    return -1;
  }
  if (n < 1 || n > FL_SUITE_MAX_SHARDS) {
    fl_set_err(err, errlen, "--shard %s: N must be from 1 to %d", text, FL_SUITE_MAX_SHARDS);
    return -1;
  }
  if (i < 1 || i > n) {
    fl_set_err(err, errlen, "--shard %s: I must be from 1 to N", text);
    return -1;
  }
  *index = (int)i;
  *count = (int)n;
  return 0;
}

void fl_suite_shard(fl_suite *s, int index, int count) {
  size_t kept = 0;
  for (size_t i = 0; i < s->n; i++) {
    if ((int)(i % (size_t)count) == index - 1)
      s->entries[kept++] = s->entries[i];
    else
      entry_free(&s->entries[i]);
  }
  s->n = kept;
}

void fl_suite_set_repeat(fl_suite *s, int n) {
  for (size_t i = 0; i < s->n; i++) s->entries[i].repeat = n;
}

size_t fl_suite_runs(const fl_suite *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++) n += (size_t)s->entries[i].repeat;
  return n;
}
