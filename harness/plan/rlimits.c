#include "rlimits.h"

#include <string.h>
#include <sys/resource.h>

static const char *const keys[] = {"nofile", "as", "nproc", NULL};

int fl_rlimits_parse(const fl_plan_yaml *y, yaml_node_t *n, fl_rlimits_plan *out) {
  char d[64];
  if (n->type != YAML_MAPPING_NODE)
    return fl_yaml_fail_node(y, n,
                             "'rlimits' must be a map like { nofile: 64, as: 512MiB }, not %s",
                             fl_yaml_describe(n, d, sizeof d));
  out->present = true;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    const char *key;
    if (fl_yaml_check_key(y, n, p, "rlimits", keys, &key) < 0) return -1;
    yaml_node_t *v = fl_yaml_node(y, p->value);
    bool size = !strcmp(key, "as");
    if (fl_yaml_want_scalar(y, v, key, size ? "a size like 512MiB" : "a count") < 0) return -1;
    int64_t x;
    char *end;
    if (size) {
      if (fl_parse_size(fl_yaml_str(v), &x) < 0 || x < (INT64_C(64) << 20))
        return fl_yaml_fail_node(y, v, "'as' must be a size of at least 64MiB, not %s",
                                 fl_yaml_describe(v, d, sizeof d));
      out->as = x;
      continue;
    }
    long long c = strtoll(fl_yaml_str(v), &end, 10);
    long long min = key[1] == 'o' ? 16 : 1, max = key[1] == 'o' ? 1048576 : 4194304;
    if (*end || end == fl_yaml_str(v) || c < min || c > max)
      return fl_yaml_fail_node(y, v, "'%s' must be a count from %lld to %lld, not %s", key, min,
                               max, fl_yaml_describe(v, d, sizeof d));
    if (key[1] == 'o')
      out->nofile = c;
    else
      out->nproc = c;
  }
  return 0;
}

int fl_rlimits_apply(const fl_rlimits_plan *r) {
  if (!r->present) return 0;
  const struct {
    int resource;
    int64_t value;
  } set[] = {{RLIMIT_NOFILE, r->nofile}, {RLIMIT_AS, r->as}, {RLIMIT_NPROC, r->nproc}};
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
    if (!set[i].value) continue;
    struct rlimit rl = {(rlim_t)set[i].value, (rlim_t)set[i].value};
    if (setrlimit(set[i].resource, &rl) != 0) return -1;
  }
  return 0;
}
