#include "calls.h"

#include <string.h>

static const char *const keys[] = {"count", "concurrency", "every", "channels", NULL};

fl_calls_plan fl_calls_from_streams(uint32_t streams) {
  if (!streams) streams = 1;
  return (fl_calls_plan){.count = streams, .concurrency = streams, .channels = 1};
}

int fl_calls_parse(const fl_plan_yaml *y, yaml_node_t *n, fl_calls_plan *out) {
  char d[64];
  if (n->type != YAML_MAPPING_NODE)
    return fl_yaml_fail_node(y, n,
                             "'calls' must be a map like { count: 10, concurrency: 2, every: "
                             "100ms, channels: 2 }, not %s",
                             fl_yaml_describe(n, d, sizeof d));
  *out = (fl_calls_plan){
      .present = true, .line = FL_YAML_LINE(n), .col = FL_YAML_COL(n), .count = 1, .channels = 1};
  yaml_node_t *concurrency = NULL, *channels = NULL;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    const char *key;
    if (fl_yaml_check_key(y, n, p, "calls", keys, &key) < 0) return -1;
    yaml_node_t *v = fl_yaml_node(y, p->value);
    uint64_t x;
    if (!strcmp(key, "count")) {
      if (fl_yaml_count(y, v, "count", FL_CALLS_MAX, &x) < 0) return -1;
      out->count = (uint32_t)x;
    } else if (!strcmp(key, "concurrency")) {
      if (fl_yaml_count(y, v, "concurrency", FL_CALLS_MAX, &x) < 0) return -1;
      out->concurrency = (uint32_t)x;
      concurrency = v;
    } else if (!strcmp(key, "every")) {
      if (fl_yaml_duration(y, v, "every", 1, &out->every_ns) < 0) return -1;
    } else {
      if (v->type == YAML_SCALAR_NODE && !strcmp(fl_yaml_str(v), "per_call")) {
        out->per_call = true;
      } else {
        if (v->type == YAML_SCALAR_NODE && !fl_yaml_is_null(v) &&
            (fl_yaml_str(v)[0] < '0' || fl_yaml_str(v)[0] > '9'))
          return fl_yaml_fail_node(y, v, "'channels' must be a count like 4 or per_call, not %s",
                                   fl_yaml_describe(v, d, sizeof d));
        if (fl_yaml_count(y, v, "channels", FL_CHANNELS_MAX, &x) < 0) return -1;
        out->channels = (uint32_t)x;
      }
      channels = v;
    }
  }
  if (concurrency && out->concurrency > out->count)
    return fl_yaml_fail_node(y, concurrency,
                             "'concurrency' is %u but the run makes %u calls; at most count "
                             "calls can be open at once",
                             out->concurrency, out->count);
  if (channels && !out->per_call && out->channels > out->count)
    return fl_yaml_fail_node(y, channels,
                             "%u channels for %u calls would leave channels without a call; "
                             "use at most count channels",
                             out->channels, out->count);
  if (!concurrency) out->concurrency = out->every_ns > 0 ? out->count : 1;
  if (out->per_call) out->channels = out->count;
  return 0;
}
