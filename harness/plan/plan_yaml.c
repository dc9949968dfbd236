#include "plan_yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "predicate.h"
#include "scenario.h" /* FL_DURATION_MAX_NS */

int fl_yaml_fail(const fl_plan_yaml *y, int line, int col, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return y->fail(y->parser, line, col, msg);
}

yaml_node_t *fl_yaml_node(const fl_plan_yaml *y, int id) {
  return yaml_document_get_node(y->doc, id);
}
const char *fl_yaml_str(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

bool fl_yaml_is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *v = fl_yaml_str(n);
  return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

const char *fl_yaml_describe(const yaml_node_t *n, char *buf, size_t len) {
  if (n->type == YAML_MAPPING_NODE) return "a map";
  if (n->type == YAML_SEQUENCE_NODE) return "a list";
  if (fl_yaml_is_null(n)) return "nothing";
  const char *v = fl_yaml_str(n);
  size_t shown = strcspn(v, "\n\r");
  if (shown > 40) shown = 40;
  while (shown > 0 && ((unsigned char)v[shown] & 0xC0) == 0x80) shown--;
  snprintf(buf, len, "'%.*s%s'", (int)shown, v, v[shown] ? "..." : "");
  return buf;
}

/* "a, b or c" from a NULL-terminated list. */
const char *fl_yaml_list_words(const char *const *names, char *buf, size_t len) {
  size_t o = 0, n = 0;
  buf[0] = '\0';
  while (names[n]) n++;
  for (size_t i = 0; i < n && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, "%s%s",
                          i == 0       ? ""
                          : i + 1 == n ? " or "
                                       : ", ",
                          names[i]);
  return buf;
}

/* A key of a map: a scalar, not repeated, one of `allowed` (near misses suggested). */
int fl_yaml_check_key(const fl_plan_yaml *y, yaml_node_t *map, yaml_node_pair_t *pair,
                      const char *where, const char *const *allowed, const char **key_out) {
  yaml_node_t *k = fl_yaml_node(y, pair->key);
  char d[64], list[400];
  if (k->type != YAML_SCALAR_NODE)
    return fl_yaml_fail_node(y, k, "keys in %s must be names, not %s", where,
                             fl_yaml_describe(k, d, sizeof d));
  const char *key = fl_yaml_str(k);
  for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
    yaml_node_t *qk = fl_yaml_node(y, q->key);
    if (qk->type == YAML_SCALAR_NODE && !strcmp(fl_yaml_str(qk), key))
      return fl_yaml_fail_node(y, k, "duplicate key '%s' in %s (first at line %d)", key, where,
                               FL_YAML_LINE(qk));
  }
  bool ok = false;
  for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, key);
  if (!ok) {
    const char *near = fl_near_miss(key, allowed);
    if (near)
      return fl_yaml_fail_node(y, k, "unknown key '%s' in %s; did you mean '%s'?", key, where,
                               near);
    if (!allowed[0])
      return fl_yaml_fail_node(y, k, "'%s' takes no arguments, not '%s'", where, key);
    return fl_yaml_fail_node(y, k, "unknown key '%s' in %s; expected %s", key, where,
                             fl_yaml_list_words(allowed, list, sizeof list));
  }
  *key_out = key;
  return 0;
}

int fl_yaml_want_scalar(const fl_plan_yaml *y, yaml_node_t *n, const char *key, const char *what) {
  char d[64];
  if (n->type != YAML_SCALAR_NODE || fl_yaml_is_null(n))
    return fl_yaml_fail_node(y, n, "'%s' must be %s, not %s", key, what,
                             fl_yaml_describe(n, d, sizeof d));
  return 0;
}

int fl_yaml_duration(const fl_plan_yaml *y, yaml_node_t *n, const char *key, int64_t min_ns,
                     int64_t *out) {
  static const char what[] = "a duration like 500ms or 3s";
  char d[64];
  if (fl_yaml_want_scalar(y, n, key, what) < 0) return -1;
  const char *v = fl_yaml_str(n);
  int rc = fl_parse_duration(v, out);
  if (rc == -2 || (rc == 0 && *out > FL_DURATION_MAX_NS))
    return fl_yaml_fail_node(y, n, "'%s' must be at most 24h, not %s", key,
                             fl_yaml_describe(n, d, sizeof d));
  if (rc < 0) {
    if (v[0] >= '0' && v[0] <= '9' && strspn(v, "0123456789.") == strlen(v))
      return fl_yaml_fail_node(y, n, "'%s' must be %s; '%s' has no unit", key, what, v);
    return fl_yaml_fail_node(y, n, "'%s' must be %s, not %s", key, what,
                             fl_yaml_describe(n, d, sizeof d));
  }
  if (min_ns == 1 && *out <= 0) return fl_yaml_fail_node(y, n, "'%s' must be longer than 0", key);
  if (*out < min_ns)
    return fl_yaml_fail_node(y, n, "'%s' must be at least %lldms, not %s", key,
                             (long long)(min_ns / 1000000), fl_yaml_describe(n, d, sizeof d));
  return 0;
}

int fl_yaml_count(const fl_plan_yaml *y, yaml_node_t *n, const char *key, uint64_t max,
                  uint64_t *out) {
  const char what[] = "a whole number like 10";
  char d[64];
  if (fl_yaml_want_scalar(y, n, key, what) < 0) return -1;
  const char *v = fl_yaml_str(n), *p = v;
  uint64_t x = 0;
  bool too_big = false;
  if (*p < '0' || *p > '9')
    return fl_yaml_fail_node(y, n, "'%s' must be %s, not %s", key, what,
                             fl_yaml_describe(n, d, sizeof d));
  for (; *p >= '0' && *p <= '9'; p++) {
    if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) too_big = true;
    if (!too_big) x = x * 10 + (uint64_t)(*p - '0');
  }
  if (*p)
    return fl_yaml_fail_node(y, n, "'%s' must be %s, not %s", key, what,
                             fl_yaml_describe(n, d, sizeof d));
  if (too_big || x > max)
    return fl_yaml_fail_node(y, n, "'%s' must be at most %llu, not %s", key,
                             (unsigned long long)max, fl_yaml_describe(n, d, sizeof d));
  if (x == 0) return fl_yaml_fail_node(y, n, "'%s' must be at least 1", key);
  *out = x;
  return 0;
}
