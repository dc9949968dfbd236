#include "faults.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"

const char *fl_action_name(fl_action_kind k) {
  switch (k) {
#define FL_FAULT_X(e, name, layer)                                                                 \
  case FL_ACTION_##e: return name;
    FL_FAULT_ACTIONS(FL_FAULT_X)
#undef FL_FAULT_X
  case FL_N_ACTIONS: break;
  }
  return "(unknown action)";
}

fl_fault_layer fl_action_layer(fl_action_kind k) {
  switch (k) {
#define FL_FAULT_X(e, name, layer)                                                                 \
  case FL_ACTION_##e: return layer;
    FL_FAULT_ACTIONS(FL_FAULT_X)
#undef FL_FAULT_X
  case FL_N_ACTIONS: break;
  }
  return FL_LAYER_TCP;
}

const char *fl_toward_name(fl_toward t) {
  switch (t) {
  case FL_TOWARD_BOTH: return "both";
  case FL_TOWARD_CLIENT: return "client";
  case FL_TOWARD_SERVER: return "server";
  }
  return "(unknown)";
}

bool fl_faults_need_proxy(const fl_path_plan *path, const fl_fault *faults, size_t n) {
  if (path->present) return true;
  for (size_t i = 0; i < n; i++) {
    switch (fl_action_layer(faults[i].action.kind)) {
    case FL_LAYER_TCP:
    case FL_LAYER_FRAME: return true;
    case FL_LAYER_PROCESS: break;
    }
  }
  return false;
}

bool fl_fault_fired_by_runner(const fl_fault *f) {
  if (fl_action_layer(f->action.kind) == FL_LAYER_PROCESS) return true;
  return f->trigger.kind == FL_TRIGGER_ON && !f->trigger.wire;
}

/* ---- names ------------------------------------------------------------------------------ */

static const char *const action_names[] = {
#define FL_FAULT_X(e, name, layer) name,
    FL_FAULT_ACTIONS(FL_FAULT_X)
#undef FL_FAULT_X
        NULL};

static const struct {
  const char *name;
  uint8_t type;
} frame_types[] = {
#define FL_H2_X(e, code, name) {name, code},
    FL_H2_FRAME_TYPES(FL_H2_X)
#undef FL_H2_X
};
#define N_FRAME_TYPES (sizeof frame_types / sizeof frame_types[0])

static const struct {
  const char *name;
  uint32_t code;
} error_codes[] = {
#define FL_H2_X(e, code) {#e, code},
    FL_H2_ERROR_CODES(FL_H2_X)
#undef FL_H2_X
};
#define N_ERROR_CODES (sizeof error_codes / sizeof error_codes[0])

static const struct {
  const char *name;
  uint16_t id;
} settings_ids[] = {
#define FL_H2_X(e, id) {#e, id},
    FL_H2_SETTINGS(FL_H2_X)
#undef FL_H2_X
};
#define N_SETTINGS (sizeof settings_ids / sizeof settings_ids[0])

static const char *const toward_names[] = {"both", "client", "server", NULL};
static const char *const corrupt_names[] = {"length_prefix", "compressed_flag", NULL};
/* signal: { name }: a real program's own stop and dump paths, and CONT for a paused one. */
static const char *const signal_names[] = {"TERM", "INT",  "QUIT", "HUP",
                                           "USR1", "USR2", "CONT", NULL};
static const int signal_numbers[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGCONT};
static const char *const fault_keys[] = {"name", "on", "after", "since", "do", "toward", NULL};

/* ---- errors and values ------------------------------------------------------------------ */

static bool is_empty_map(const yaml_node_t *n) {
  return n->type == YAML_MAPPING_NODE && n->data.mapping.pairs.top == n->data.mapping.pairs.start;
}

static int get_size(const fl_plan_yaml *y, yaml_node_t *n, const char *key, const char *what,
                    bool rate, uint64_t *out) {
  char d[64], buf[64];
  if (fl_yaml_want_scalar(y, n, key, what) < 0) return -1;
  const char *v = fl_yaml_str(n);
  size_t len = strlen(v);
  /* A rate reads best as 1MiB/s; the "/s" may also be left out. */
  if (rate && len > 2 && len < sizeof buf && !strcmp(v + len - 2, "/s")) {
    memcpy(buf, v, len - 2);
    buf[len - 2] = '\0';
    v = buf;
  }
  int64_t x;
  if (fl_parse_size(v, &x) < 0)
    return fl_yaml_fail_node(y, n, "'%s' must be %s, not %s", key, what,
                             fl_yaml_describe(n, d, sizeof d));
  if (x <= 0) return fl_yaml_fail_node(y, n, "'%s' must be more than 0", key);
  *out = (uint64_t)x;
  return 0;
}

/* A whole number in [min, max]. */
static int get_uint(const fl_plan_yaml *y, yaml_node_t *n, const char *key, uint64_t min,
                    uint64_t max, uint64_t *out) {
  char d[64];
  if (fl_yaml_want_scalar(y, n, key, "a whole number") < 0) return -1;
  const char *v = fl_yaml_str(n);
  uint64_t x = 0;
  const char *p = v;
  if (*p < '0' || *p > '9') goto bad;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) goto range;
    x = x * 10 + (uint64_t)(*p - '0');
  }
  if (*p) goto bad;
  if (x < min || x > max) goto range;
  *out = x;
  return 0;
bad:
  return fl_yaml_fail_node(y, n, "'%s' must be a whole number, not %s", key,
                           fl_yaml_describe(n, d, sizeof d));
range:
  return fl_yaml_fail_node(y, n, "'%s' must be %llu..%llu, not %s", key, (unsigned long long)min,
                           (unsigned long long)max, v);
}

static int get_choice(const fl_plan_yaml *y, yaml_node_t *n, const char *key,
                      const char *const *names, int *out) {
  char d[64], what[200];
  fl_yaml_list_words(names, what, sizeof what);
  if (fl_yaml_want_scalar(y, n, key, what) < 0) return -1;
  for (int i = 0; names[i]; i++) {
    if (!strcmp(names[i], fl_yaml_str(n))) {
      *out = i;
      return 0;
    }
  }
  const char *near = fl_near_miss(fl_yaml_str(n), names);
  if (near)
    return fl_yaml_fail_node(y, n, "'%s' must be %s, not %s; did you mean '%s'?", key, what,
                             fl_yaml_describe(n, d, sizeof d), near);
  return fl_yaml_fail_node(y, n, "'%s' must be %s, not %s", key, what,
                           fl_yaml_describe(n, d, sizeof d));
}

/* An HTTP/2 error code: a name of RFC 9113 section 7, or any 32-bit number (unknown codes
 * are legal on the wire and mean INTERNAL_ERROR to the receiver). */
static int get_error_code(const fl_plan_yaml *y, yaml_node_t *n, const char *key, uint32_t *out) {
  static const char what[] = "an HTTP/2 error code like CANCEL or NO_ERROR, or a number";
  char d[64];
  if (fl_yaml_want_scalar(y, n, key, what) < 0) return -1;
  const char *v = fl_yaml_str(n);
  if (v[0] >= '0' && v[0] <= '9') {
    uint64_t x;
    if (get_uint(y, n, key, 0, UINT32_MAX, &x) < 0) return -1;
    *out = (uint32_t)x;
    return 0;
  }
  const char *names[N_ERROR_CODES + 1];
  for (size_t i = 0; i < N_ERROR_CODES; i++) {
    names[i] = error_codes[i].name;
    if (!strcmp(v, error_codes[i].name)) {
      *out = error_codes[i].code;
      return 0;
    }
  }
  names[N_ERROR_CODES] = NULL;
  const char *near = fl_near_miss(v, names);
  if (near)
    return fl_yaml_fail_node(y, n, "unknown HTTP/2 error code '%s'; did you mean '%s'?", v, near);
  return fl_yaml_fail_node(y, n, "'%s' must be %s, not %s", key, what,
                           fl_yaml_describe(n, d, sizeof d));
}

static int get_frame_type(const fl_plan_yaml *y, yaml_node_t *n, const char *key, uint8_t *out) {
  const char *names[N_FRAME_TYPES + 1];
  for (size_t i = 0; i < N_FRAME_TYPES; i++) names[i] = frame_types[i].name;
  names[N_FRAME_TYPES] = NULL;
  int i;
  if (get_choice(y, n, key, names, &i) < 0) return -1;
  *out = frame_types[i].type;
  return 0;
}

/* ---- action arguments -------------------------------------------------------------------- */

/* The keys each action takes, in fl_action_kind order; one row per action. */
static const char *const *action_keys(fl_action_kind k) {
  static const char *const none[] = {NULL};
  static const char *const latency[] = {"delay", "jitter", NULL};
  static const char *const bandwidth[] = {"rate", NULL};
  static const char *const slice[] = {"size", "delay", NULL};
  static const char *const slow_close[] = {"delay", NULL};
  static const char *const buffer[] = {"bytes", "for", NULL};
  static const char *const rst_stream[] = {"code", "stream", NULL};
  static const char *const goaway[] = {"code", "last_stream_id", "debug", NULL};
  static const char *const ping[] = {"count", NULL};
  static const char *const withhold[] = {"stream", "for", NULL};
  static const char *const delay_frame[] = {"type", "by", NULL};
  static const char *const drop_frame[] = {"type", NULL};
  static const char *const corrupt[] = {"what", "length", NULL};
  static const char *const pause[] = {"for", NULL};
  static const char *const signal[] = {"name", NULL};
  static const char *const restart[] = {"delay", NULL};
  switch (k) {
  case FL_ACTION_LATENCY: return latency;
  case FL_ACTION_BANDWIDTH: return bandwidth;
  case FL_ACTION_SLICE: return slice;
  case FL_ACTION_RESET:
  case FL_ACTION_BLACKHOLE:
  case FL_ACTION_CLOSE: return none;
  case FL_ACTION_SLOW_CLOSE: return slow_close;
  case FL_ACTION_BUFFER: return buffer;
  case FL_ACTION_RST_STREAM: return rst_stream;
  case FL_ACTION_GOAWAY: return goaway;
  case FL_ACTION_PING: return ping;
  case FL_ACTION_SETTINGS: return NULL; /* the keys are SETTINGS parameter names */
  case FL_ACTION_WITHHOLD_WINDOW_UPDATE: return withhold;
  case FL_ACTION_DELAY_FRAME: return delay_frame;
  case FL_ACTION_DROP_FRAME: return drop_frame;
  case FL_ACTION_CORRUPT: return corrupt;
  case FL_ACTION_PAUSE: return pause;
  case FL_ACTION_KILL: return none;
  case FL_ACTION_SIGNAL: return signal;
  case FL_ACTION_RESTART: return restart;
  case FL_N_ACTIONS: break;
  }
  return none;
}

/* How each action is written, for "needs" messages. */
static const char *action_form(fl_action_kind k) {
  switch (k) {
  case FL_ACTION_LATENCY: return "latency: { delay: 5ms, jitter: 1ms }";
  case FL_ACTION_BANDWIDTH: return "bandwidth: { rate: 1MiB/s }";
  case FL_ACTION_SLICE: return "slice: { size: 64, delay: 1ms }";
  case FL_ACTION_RESET: return "reset";
  case FL_ACTION_BLACKHOLE: return "blackhole";
  case FL_ACTION_CLOSE: return "close";
  case FL_ACTION_SLOW_CLOSE: return "slow_close: { delay: 1s }";
  case FL_ACTION_BUFFER: return "buffer: { bytes: 64KiB, for: 8s }";
  case FL_ACTION_RST_STREAM: return "rst_stream: { code: CANCEL }";
  case FL_ACTION_GOAWAY: return "goaway: { code: NO_ERROR, debug: \"draining\" }";
  case FL_ACTION_PING: return "ping: { count: 10 }";
  case FL_ACTION_SETTINGS: return "settings: { INITIAL_WINDOW_SIZE: 1024 }";
  case FL_ACTION_WITHHOLD_WINDOW_UPDATE:
    return "withhold_window_update: { stream: connection, for: forever }";
  case FL_ACTION_DELAY_FRAME: return "delay_frame: { type: data, by: 200ms }";
  case FL_ACTION_DROP_FRAME: return "drop_frame: { type: window_update }";
  case FL_ACTION_CORRUPT: return "corrupt: { what: length_prefix }";
  case FL_ACTION_PAUSE: return "pause: { for: 2s }";
  case FL_ACTION_KILL: return "kill";
  case FL_ACTION_SIGNAL: return "signal: { name: TERM }";
  case FL_ACTION_RESTART: return "restart: { delay: 500ms }";
  case FL_N_ACTIONS: break;
  }
  return "";
}

static int parse_settings(const fl_plan_yaml *y, yaml_node_t *args, fl_action *a) {
  const char *names[N_SETTINGS + 1];
  for (size_t i = 0; i < N_SETTINGS; i++) names[i] = settings_ids[i].name;
  names[N_SETTINGS] = NULL;
  for (yaml_node_pair_t *pr = args->data.mapping.pairs.start; pr < args->data.mapping.pairs.top;
       pr++) {
    const char *key;
    if (fl_yaml_check_key(y, args, pr, "settings", names, &key) < 0) return -1;
    yaml_node_t *v = fl_yaml_node(y, pr->value);
    size_t i = 0;
    while (strcmp(settings_ids[i].name, key)) i++;
    uint16_t id = settings_ids[i].id;
    /* Ranges of RFC 9113 6.5.2: an injected frame is well-formed. */
    uint64_t min = 0, max = UINT32_MAX, x;
    if (id == FL_H2_SETTINGS_ENABLE_PUSH) max = 1;
    if (id == FL_H2_SETTINGS_INITIAL_WINDOW_SIZE) max = FL_H2_MAX_WINDOW;
    if (id == FL_H2_SETTINGS_MAX_FRAME_SIZE) min = FL_H2_DEFAULT_MAX_FRAME, max = 16777215;
    if (get_uint(y, v, key, min, max, &x) < 0) return -1;
    a->settings[a->n_settings].id = id;
    a->settings[a->n_settings].value = (uint32_t)x;
    a->n_settings++;
  }
  if (!a->n_settings)
    return fl_yaml_fail(y, a->line, a->col, "'settings' needs at least one parameter, like %s",
                        action_form(FL_ACTION_SETTINGS));
  return 0;
}

/* The arguments of one action: `args` is its map, or NULL when it was written bare. */
static int parse_args(const fl_plan_yaml *y, yaml_node_t *args, fl_action *a) {
  const char *name = fl_action_name(a->kind);
  char d[64];
  /* Defaults. */
  a->count = 1;
  if (a->kind == FL_ACTION_PAUSE) a->for_ns = FL_FOREVER;
  if (a->kind == FL_ACTION_WITHHOLD_WINDOW_UPDATE) {
    a->stream = FL_STREAM_ALL;
    a->for_ns = FL_FOREVER;
  }
  if (args && (fl_yaml_is_null(args) || is_empty_map(args))) args = NULL;
  if (args && args->type != YAML_MAPPING_NODE)
    return fl_yaml_fail_node(y, args, "'%s' takes a map of arguments, like %s; not %s", name,
                             action_form(a->kind), fl_yaml_describe(args, d, sizeof d));
  if (a->kind == FL_ACTION_SETTINGS) {
    if (!args)
      return fl_yaml_fail(y, a->line, a->col, "'settings' needs at least one parameter, like %s",
                          action_form(a->kind));
    return parse_settings(y, args, a);
  }
  bool seen[8] = {false}; /* by index into the action's key list */
  const char *const *keys = action_keys(a->kind);
  if (args) {
    for (yaml_node_pair_t *pr = args->data.mapping.pairs.start; pr < args->data.mapping.pairs.top;
         pr++) {
      const char *key;
      if (fl_yaml_check_key(y, args, pr, name, keys, &key) < 0) return -1;
      yaml_node_t *v = fl_yaml_node(y, pr->value);
      int ki = 0;
      while (strcmp(keys[ki], key)) ki++;
      seen[ki] = true;
      int rc = 0;
      if (!strcmp(key, "delay") || !strcmp(key, "by")) {
        rc = fl_yaml_duration(y, v, key, a->kind != FL_ACTION_SLICE ? 1 : 0, &a->delay_ns);
      } else if (!strcmp(key, "jitter")) {
        rc = fl_yaml_duration(y, v, key, 0, &a->jitter_ns);
      } else if (!strcmp(key, "rate")) {
        rc = get_size(y, v, key, "a rate like 1MiB/s or 64KB/s", true, &a->rate);
      } else if (!strcmp(key, "size")) {
        rc = get_size(y, v, key, "a size like 64 or 1KiB", false, &a->size);
      } else if (!strcmp(key, "bytes")) {
        rc = get_size(y, v, key, "a size like 64KiB", false, &a->bytes);
      } else if (!strcmp(key, "for")) {
        if ((a->kind == FL_ACTION_WITHHOLD_WINDOW_UPDATE || a->kind == FL_ACTION_PAUSE) &&
            v->type == YAML_SCALAR_NODE && !strcmp(fl_yaml_str(v), "forever"))
          a->for_ns = FL_FOREVER;
        else
          rc = fl_yaml_duration(y, v, key, 1, &a->for_ns);
      } else if (!strcmp(key, "code")) {
        rc = get_error_code(y, v, key, &a->code);
      } else if (!strcmp(key, "stream")) {
        uint64_t x;
        if (a->kind == FL_ACTION_WITHHOLD_WINDOW_UPDATE && v->type == YAML_SCALAR_NODE &&
            !strcmp(fl_yaml_str(v), "connection")) {
          a->stream = 0;
        } else if (a->kind == FL_ACTION_WITHHOLD_WINDOW_UPDATE && v->type == YAML_SCALAR_NODE &&
                   !fl_yaml_is_null(v) && (fl_yaml_str(v)[0] < '0' || fl_yaml_str(v)[0] > '9')) {
          rc = fl_yaml_fail_node(y, v, "'stream' must be a stream number or 'connection', not %s",
                                 fl_yaml_describe(v, d, sizeof d));
        } else {
          rc = get_uint(y, v, key, 1, FL_H2_STREAM_ID_MASK, &x);
          a->stream = (uint32_t)x;
        }
      } else if (!strcmp(key, "last_stream_id")) {
        uint64_t x;
        rc = get_uint(y, v, key, 0, FL_H2_STREAM_ID_MASK, &x);
        a->last_stream_id = (uint32_t)x;
        a->last_stream_id_set = true;
      } else if (!strcmp(key, "debug")) {
        /* Debug data may be empty: "" is a value, a bare key is not. */
        if (v->type != YAML_SCALAR_NODE || fl_yaml_is_null(v))
          rc = fl_yaml_fail_node(y, v, "'debug' must be a string, not %s",
                                 fl_yaml_describe(v, d, sizeof d));
        else if (strlen(fl_yaml_str(v)) > FL_GOAWAY_DEBUG_MAX)
          rc = fl_yaml_fail_node(y, v, "'debug' must be at most %d bytes, not %zu",
                                 FL_GOAWAY_DEBUG_MAX, strlen(fl_yaml_str(v)));
        else if (!(a->debug = strdup(fl_yaml_str(v))))
          rc = fl_yaml_fail_node(y, v, "out of memory");
      } else if (!strcmp(key, "count")) {
        uint64_t x;
        rc = get_uint(y, v, key, 1, FL_PING_MAX, &x);
        a->count = (uint32_t)x;
      } else if (!strcmp(key, "type")) {
        rc = get_frame_type(y, v, key, &a->frame_type);
      } else if (!strcmp(key, "name")) {
        int i;
        rc = get_choice(y, v, key, signal_names, &i);
        if (rc == 0) a->signal = signal_numbers[i];
      } else if (!strcmp(key, "what")) {
        int i;
        rc = get_choice(y, v, key, corrupt_names, &i);
        a->what = (fl_corrupt_what)i;
      } else if (!strcmp(key, "length")) {
        uint64_t x;
        rc = get_uint(y, v, key, 0, UINT32_MAX, &x);
        a->length = (uint32_t)x;
        a->length_set = true;
      }
      if (rc < 0) return -1;
    }
  }

  /* What each action cannot do without. */
  const char *missing = NULL;
  switch (a->kind) {
  case FL_ACTION_LATENCY:
  case FL_ACTION_SLOW_CLOSE:
    if (!seen[0]) missing = "delay";
    break;
  case FL_ACTION_BANDWIDTH:
    if (!seen[0]) missing = "rate";
    break;
  case FL_ACTION_SLICE:
    if (!seen[0]) missing = "size";
    break;
  case FL_ACTION_BUFFER:
    if (!seen[0] && !seen[1]) missing = "bytes or for";
    break;
  case FL_ACTION_RST_STREAM:
  case FL_ACTION_GOAWAY:
    if (!seen[0]) missing = "code";
    break;
  case FL_ACTION_DELAY_FRAME:
    if (!seen[0])
      missing = "type";
    else if (!seen[1])
      missing = "by";
    break;
  case FL_ACTION_DROP_FRAME:
  case FL_ACTION_CORRUPT:
  case FL_ACTION_SIGNAL:
    if (!seen[0]) missing = keys[0];
    break;
  case FL_ACTION_PAUSE:
  case FL_ACTION_KILL:
  case FL_ACTION_RESTART:
  case FL_ACTION_RESET:
  case FL_ACTION_BLACKHOLE:
  case FL_ACTION_CLOSE:
  case FL_ACTION_PING:
  case FL_ACTION_SETTINGS:
  case FL_ACTION_WITHHOLD_WINDOW_UPDATE:
  case FL_N_ACTIONS: break;
  }
  if (missing)
    return fl_yaml_fail(y, a->line, a->col, "'%s' needs '%s', like %s", name, missing,
                        action_form(a->kind));
  if (a->kind == FL_ACTION_LATENCY && a->jitter_ns > a->delay_ns)
    return fl_yaml_fail(y, a->line, a->col, "'latency' jitter must be at most its delay");
  if (a->kind == FL_ACTION_CORRUPT && a->length_set && a->what != FL_CORRUPT_LENGTH_PREFIX)
    return fl_yaml_fail(y, a->line, a->col, "'length' belongs to corrupt what: length_prefix");
  if (!a->debug && !(a->debug = strdup("")))
    return fl_yaml_fail(y, a->line, a->col, "out of memory");
  return 0;
}

/* An action named by `name_node` with its arguments `args` (NULL when bare). */
static int parse_action(const fl_plan_yaml *y, yaml_node_t *name_node, yaml_node_t *args,
                        fl_action *a) {
  char list[400];
  const char *name = fl_yaml_str(name_node);
  a->line = FL_YAML_LINE(name_node);
  a->col = FL_YAML_COL(name_node);
  int kind = -1;
  for (int i = 0; action_names[i]; i++)
    if (!strcmp(action_names[i], name)) kind = i;
  if (kind < 0) {
    const char *near = fl_near_miss(name, action_names);
    if (near)
      return fl_yaml_fail_node(y, name_node, "unknown action '%s'; did you mean '%s'?", name, near);
    return fl_yaml_fail_node(y, name_node, "unknown action '%s'; actions are %s", name,
                             fl_yaml_list_words(action_names, list, sizeof list));
  }
  a->kind = (fl_action_kind)kind;
  return parse_args(y, args, a);
}

/* ---- path: ------------------------------------------------------------------------------- */

static const char *path_keys[FL_N_ACTIONS + 3];

static void fill_path_keys(void) {
  size_t n = 0;
  for (int i = 0; i < FL_N_ACTIONS; i++)
    if (fl_action_layer((fl_action_kind)i) == FL_LAYER_TCP) path_keys[n++] = action_names[i];
  path_keys[n++] = "toward_client";
  path_keys[n++] = "toward_server";
  path_keys[n] = NULL;
}

static int path_map(const fl_plan_yaml *y, yaml_node_t *n, fl_toward toward, const char *where,
                    fl_path_plan *out) {
  char d[64];
  if (n->type != YAML_MAPPING_NODE)
    return fl_yaml_fail_node(y, n, "'%s' must be a map of TCP faults, like { %s }, not %s", where,
                             action_form(FL_ACTION_LATENCY), fl_yaml_describe(n, d, sizeof d));
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    const char *key;
    yaml_node_t *kn = fl_yaml_node(y, pr->key);
    for (int i = 0; i < FL_N_ACTIONS && kn->type == YAML_SCALAR_NODE; i++)
      if (fl_action_layer((fl_action_kind)i) != FL_LAYER_TCP &&
          !strcmp(fl_yaml_str(kn), action_names[i]))
        return fl_yaml_fail_node(
            y, kn,
            "'%s' is a %s fault: it fires on a trigger; put it in faults: with "
            "on: or after:",
            fl_yaml_str(kn),
            fl_action_layer((fl_action_kind)i) == FL_LAYER_FRAME ? "frame" : "process");
    if (fl_yaml_check_key(y, n, pr, where, path_keys, &key) < 0) return -1;
    yaml_node_t *k = fl_yaml_node(y, pr->key), *v = fl_yaml_node(y, pr->value);
    if (!strcmp(key, "toward_client") || !strcmp(key, "toward_server")) {
      if (toward != FL_TOWARD_BOTH)
        return fl_yaml_fail_node(y, k, "'%s' inside '%s': directions do not nest", key, where);
      if (path_map(y, v, key[7] == 'c' ? FL_TOWARD_CLIENT : FL_TOWARD_SERVER, key, out) < 0)
        return -1;
      continue;
    }
    fl_path_fault *pf = &out->faults[out->n_faults];
    if (parse_action(y, k, v, &pf->action) < 0) {
      out->n_faults++; /* owned now, whatever it holds, so that fl_path_free frees it */
      return -1;
    }
    out->n_faults++;
    pf->toward = toward;
    /* One of each kind for a direction: the same fault twice would be one of them ignored. */
    for (size_t i = 0; i + 1 < out->n_faults; i++) {
      const fl_path_fault *o = &out->faults[i];
      if (o->action.kind == pf->action.kind &&
          (o->toward == toward || o->toward == FL_TOWARD_BOTH || toward == FL_TOWARD_BOTH))
        return fl_yaml_fail_node(y, k, "'%s' is already set for %s at line %d", key,
                                 o->toward == FL_TOWARD_BOTH     ? "both directions"
                                 : o->toward == FL_TOWARD_CLIENT ? "toward_client"
                                                                 : "toward_server",
                                 o->action.line);
    }
  }
  return 0;
}

static size_t count_path_entries(const fl_plan_yaml *y, yaml_node_t *n) {
  if (n->type != YAML_MAPPING_NODE) return 0;
  size_t c = 0;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = fl_yaml_node(y, pr->key), *v = fl_yaml_node(y, pr->value);
    if (k->type == YAML_SCALAR_NODE &&
        (!strcmp(fl_yaml_str(k), "toward_client") || !strcmp(fl_yaml_str(k), "toward_server")))
      c += count_path_entries(y, v);
    else
      c++;
  }
  return c;
}

int fl_path_parse(const fl_plan_yaml *y, yaml_node_t *n, fl_path_plan *out) {
  fill_path_keys();
  out->present = true;
  out->line = FL_YAML_LINE(n);
  out->col = FL_YAML_COL(n);
  if (fl_yaml_is_null(n) || is_empty_map(n)) return 0; /* `path:` alone: a proxy that forwards */
  size_t cap = count_path_entries(y, n);
  out->faults = calloc(cap ? cap : 1, sizeof *out->faults);
  if (!out->faults) return fl_yaml_fail_node(y, n, "out of memory");
  return path_map(y, n, FL_TOWARD_BOTH, "path", out);
}

/* ---- triggers ------------------------------------------------------------------------------ */

/* ---- faults: ------------------------------------------------------------------------------ */

static bool valid_name(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
      return false;
  return true;
}

static int parse_do(const fl_plan_yaml *y, yaml_node_t *v, fl_action *a) {
  char d[64];
  if (v->type == YAML_SCALAR_NODE && !fl_yaml_is_null(v)) return parse_action(y, v, NULL, a);
  if (v->type != YAML_MAPPING_NODE || is_empty_map(v))
    return fl_yaml_fail_node(y, v, "'do' must be one action, like do: { %s }, not %s",
                             action_form(FL_ACTION_RST_STREAM), fl_yaml_describe(v, d, sizeof d));
  yaml_node_pair_t *pairs = v->data.mapping.pairs.start;
  yaml_node_t *k = fl_yaml_node(y, pairs[0].key);
  if (k->type != YAML_SCALAR_NODE)
    return fl_yaml_fail_node(y, k, "an action's name must be a word like rst_stream, not %s",
                             fl_yaml_describe(k, d, sizeof d));
  if (v->data.mapping.pairs.top - pairs > 1) {
    yaml_node_t *k2 = fl_yaml_node(y, pairs[1].key);
    return fl_yaml_fail_node(
        y, k2, "'do' holds one action; '%s' follows '%s' (write another fault for it)",
        k2->type == YAML_SCALAR_NODE ? fl_yaml_str(k2) : "?", fl_yaml_str(k));
  }
  return parse_action(y, k, fl_yaml_node(y, pairs[0].value), a);
}

static int parse_fault(const fl_plan_yaml *y, yaml_node_t *n, fl_fault *all, size_t index) {
  fl_fault *f = &all[index];
  char d[64];
  f->line = FL_YAML_LINE(n);
  f->col = FL_YAML_COL(n);
  f->trigger.since = -1;
  if (n->type != YAML_MAPPING_NODE)
    return fl_yaml_fail_node(
        y, n,
        "each fault must be a map with a trigger (on: or after:), do: and toward:, "
        "not %s",
        fl_yaml_describe(n, d, sizeof d));
  yaml_node_t *on = NULL, *after = NULL, *since = NULL, *since_v = NULL, *act = NULL,
              *toward = NULL;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    const char *key;
    if (fl_yaml_check_key(y, n, pr, "fault", fault_keys, &key) < 0) return -1;
    yaml_node_t *v = fl_yaml_node(y, pr->value), *k = fl_yaml_node(y, pr->key);
    if (!strcmp(key, "name")) {
      if (fl_yaml_want_scalar(y, v, "name", "a name like cut-stream") < 0) return -1;
      if (!valid_name(fl_yaml_str(v)))
        return fl_yaml_fail_node(y, v,
                                 "'name' must be lowercase letters, digits, '-' and '_', not %s",
                                 fl_yaml_describe(v, d, sizeof d));
      for (size_t i = 0; i < index; i++)
        if (all[i].name && !strcmp(all[i].name, fl_yaml_str(v)))
          return fl_yaml_fail_node(y, v, "fault name '%s' is taken by the fault at line %d",
                                   fl_yaml_str(v), all[i].line);
      if (!(f->name = strdup(fl_yaml_str(v)))) return fl_yaml_fail_node(y, v, "out of memory");
    } else if (!strcmp(key, "on")) {
      on = v;
      (void)k;
    } else if (!strcmp(key, "after")) {
      after = v;
    } else if (!strcmp(key, "since")) {
      since = k;
      since_v = v;
    } else if (!strcmp(key, "do")) {
      act = v;
    } else {
      toward = v;
      int t;
      if (get_choice(y, v, "toward", toward_names, &t) < 0) return -1;
      f->toward = (fl_toward)t;
    }
  }
  if (on && after) {
    yaml_node_t *second = on->start_mark.index > after->start_mark.index ? on : after;
    return fl_yaml_fail_node(
        y, second,
        "a fault has one trigger, 'on' or 'after', not both (write two faults, the "
        "second with since:)");
  }
  if (!on && !after)
    return fl_yaml_fail_node(
        y, n,
        "a fault needs a trigger: 'on: PREDICATE' (e.g. on: wire.server.data >= 2) "
        "or 'after: DURATION'");
  if (since && !after)
    return fl_yaml_fail_node(y, since, "'since' goes with 'after': after: 500ms, since: NAME");
  if (since) {
    yaml_node_t *v = since_v;
    if (fl_yaml_want_scalar(y, v, "since", "the name of an earlier fault") < 0) return -1;
    const char *names[index + 1];
    size_t nn = 0;
    int found = -1;
    for (size_t i = 0; i < index; i++) {
      if (!all[i].name) continue;
      names[nn++] = all[i].name;
      if (!strcmp(all[i].name, fl_yaml_str(v))) found = (int)i;
    }
    names[nn] = NULL;
    if (found < 0) {
      const char *near = fl_near_miss(fl_yaml_str(v), names);
      if (near)
        return fl_yaml_fail_node(y, v, "'since' names no earlier fault '%s'; did you mean '%s'?",
                                 fl_yaml_str(v), near);
      char list[300];
      if (!nn)
        return fl_yaml_fail_node(
            y, v,
            "'since' names no earlier fault '%s'; give that fault a 'name:' and put "
            "it above this one",
            fl_yaml_str(v));
      return fl_yaml_fail_node(y, v, "'since' names no earlier fault '%s'; earlier faults are %s",
                               fl_yaml_str(v), fl_yaml_list_words(names, list, sizeof list));
    }
    f->trigger.since = found;
  }
  if (!act)
    return fl_yaml_fail_node(y, n, "a fault needs 'do: { ACTION: ARGS }', like do: { %s }",
                             action_form(FL_ACTION_RST_STREAM));

  fl_trigger *t = &f->trigger;
  if (on) {
    t->kind = FL_TRIGGER_ON;
    t->line = FL_YAML_LINE(on);
    t->col = FL_YAML_COL(on);
    if (fl_yaml_want_scalar(y, on, "on", "a predicate like wire.server.data >= 2") < 0) return -1;
    if (y->parse_predicate(y->parser, on, "on", &t->predicate, &t->text) < 0) return -1;
    const fl_field_info *fi = fl_predicate_field(t->predicate);
    /* wire.connections is the run's, but the proxy sees it as it happens. */
    bool wire_run = fi->id == FL_FIELD_WIRE_CONNECTIONS;
    if (fi->cls == FL_CLASS_RUN && !wire_run)
      return fl_yaml_fail_node(
          y, on,
          "'on' needs a server.*, client.* or wire.* field (or wire.connections); '%s' "
          "is only known when the run is over",
          fl_predicate_field_text(t->predicate));
    t->wire = fi->cls == FL_CLASS_WIRE || wire_run;
  } else {
    t->kind = FL_TRIGGER_AFTER;
    t->line = FL_YAML_LINE(after);
    t->col = FL_YAML_COL(after);
    if (fl_yaml_duration(y, after, "after", 0, &t->after_ns) < 0) return -1;
  }

  if (parse_do(y, act, &f->action) < 0) return -1;
  if (!toward && fl_action_layer(f->action.kind) == FL_LAYER_PROCESS)
    return fl_yaml_fail_node(y, n,
                             "'%s' needs 'toward: client', 'toward: server' or 'toward: both': "
                             "the side whose process it acts on",
                             fl_action_name(f->action.kind));
  if (f->action.kind == FL_ACTION_RESTART && f->toward != FL_TOWARD_SERVER)
    return fl_yaml_fail_node(y, n,
                             "'restart' is for the server (toward: server): it starts again on "
                             "the same port, and the client reconnects");
  if (!toward && fl_action_layer(f->action.kind) == FL_LAYER_FRAME)
    return fl_yaml_fail_node(
        y, n,
        "'%s' needs 'toward: client', 'toward: server' or 'toward: both': the peer "
        "that receives the frame",
        fl_action_name(f->action.kind));
  return 0;
}

int fl_faults_parse(const fl_plan_yaml *y, yaml_node_t *n, fl_fault **out, size_t *n_out) {
  char d[64];
  *out = NULL;
  *n_out = 0;
  if (fl_yaml_is_null(n)) return 0;
  if (n->type != YAML_SEQUENCE_NODE)
    return fl_yaml_fail_node(y, n,
                             "'faults' must be a list of faults (each starting with '- '), not %s",
                             fl_yaml_describe(n, d, sizeof d));
  size_t cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  *out = calloc(cap ? cap : 1, sizeof **out);
  if (!*out) return fl_yaml_fail_node(y, n, "out of memory");
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    size_t index = (*n_out)++; /* counted before it is filled, for fl_faults_free */
    if (parse_fault(y, fl_yaml_node(y, *it), *out, index) < 0) return -1;
  }
  return 0;
}

void fl_path_free(fl_path_plan *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n_faults; i++) free(p->faults[i].action.debug);
  free(p->faults);
  p->faults = NULL;
  p->n_faults = 0;
}

void fl_faults_free(fl_fault *f, size_t n) {
  if (!f) return;
  for (size_t i = 0; i < n; i++) {
    free(f[i].name);
    free(f[i].trigger.text);
    fl_predicate_free(f[i].trigger.predicate);
    free(f[i].action.debug);
  }
  free(f);
}
