#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In fl_clock_fake order. */
static const char *const fake_names[] = {"realtime", "realtime+monotonic", NULL};
static const char *const clock_keys[] = {"fake", "offset", "jump", "rate", NULL};
static const char *const jump_keys[] = {"by", "on", "after", NULL};

/*
 * Channel arguments whose timers C core 1.51 runs on its EventEngine timer thread (measured:
 * keepalive and max_connection_age; the others share their code: the ping-ack timeout is the
 * keepalive's, idle and grace are timers of max_connection_age's channel_idle filter).
 */
static const char *const event_engine_timer_args[] = {
    "grpc.keepalive_time_ms",
    "grpc.keepalive_timeout_ms",
    "grpc.max_connection_age_ms",
    "grpc.max_connection_age_grace_ms",
    "grpc.max_connection_idle_ms",
    "grpc.client_idle_timeout_ms",
    NULL,
};

const char *fl_clock_fake_name(fl_clock_fake f) {
  switch (f) {
  case FL_CLOCK_FAKE_REALTIME: return "realtime";
  case FL_CLOCK_FAKE_REALTIME_MONOTONIC: return "realtime+monotonic";
  }
  return "(unknown clock)";
}

bool fl_clock_fakes_monotonic(const fl_clock_plan *plan) {
  return plan && plan->present && plan->fake == FL_CLOCK_FAKE_REALTIME_MONOTONIC;
}

typedef struct {
  yaml_document_t *doc;
  char *err;
  size_t errlen;
  int *line, *col;
} cctx;

#define LINE(n) ((int)(n)->start_mark.line + 1)
#define COL(n) ((int)(n)->start_mark.column + 1)

__attribute__((format(printf, 4, 5))) static int fail_at(cctx *c, int line, int col,
                                                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (c->errlen) vsnprintf(c->err, c->errlen, fmt, ap);
  va_end(ap);
  *c->line = line;
  *c->col = col;
  return -1;
}

#define fail_node(c, n, ...) fail_at((c), LINE(n), COL(n), __VA_ARGS__)

static yaml_node_t *node(cctx *c, int id) { return yaml_document_get_node(c->doc, id); }

static const char *sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static bool is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *v = sval(n);
  return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* How a node reads in "..., not X". */
static const char *describe(const yaml_node_t *n, char *buf, size_t len) {
  if (n->type == YAML_MAPPING_NODE) return "a map";
  if (n->type == YAML_SEQUENCE_NODE) return "a list";
  if (is_null(n)) return "nothing";
  snprintf(buf, len, "'%.40s%s'", sval(n), strlen(sval(n)) > 40 ? "..." : "");
  return buf;
}

/* A scalar key of `map`, one of `allowed`, not seen before in it. */
static int check_key(cctx *c, yaml_node_t *map, yaml_node_pair_t *pair, const char *where,
                     const char *const *allowed, const char **key_out) {
  yaml_node_t *k = node(c, pair->key);
  char d[64];
  if (k->type != YAML_SCALAR_NODE)
    return fail_node(c, k, "keys in %s must be names, not %s", where, describe(k, d, sizeof d));
  const char *key = sval(k);
  for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
    yaml_node_t *qk = node(c, q->key);
    if (qk->type == YAML_SCALAR_NODE && !strcmp(sval(qk), key))
      return fail_node(c, k, "duplicate key '%s' in %s (first at line %d)", key, where, LINE(qk));
  }
  for (const char *const *a = allowed; *a; a++) {
    if (!strcmp(*a, key)) {
      *key_out = key;
      return 0;
    }
  }
  const char *near = fl_near_miss(key, allowed);
  if (near) return fail_node(c, k, "unknown key '%s' in %s; did you mean '%s'?", key, where, near);
  char list[128];
  size_t o = 0;
  for (const char *const *a = allowed; *a && o < sizeof list; a++)
    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *a);
  return fail_node(c, k, "unknown key '%s' in %s; expected one of %s", key, where, list);
}

static int want_scalar(cctx *c, yaml_node_t *n, const char *key, const char *what) {
  char d[64];
  if (n->type != YAML_SCALAR_NODE || is_null(n))
    return fail_node(c, n, "'%s' must be %s, not %s", key, what, describe(n, d, sizeof d));
  return 0;
}

/* +30s, -2h, 1.5s: a duration with an optional sign. */
static int get_signed_duration(cctx *c, yaml_node_t *n, const char *key, int64_t *out) {
  static const char what[] = "a duration with a sign, like +30s or +2h";
  char d[64];
  if (want_scalar(c, n, key, what) < 0) return -1;
  const char *v = sval(n);
  bool neg = *v == '-';
  int64_t ns;
  if (fl_parse_duration(v + (*v == '+' || *v == '-'), &ns) < 0)
    return fail_node(c, n, "'%s' must be %s, not %s", key, what, describe(n, d, sizeof d));
  *out = neg ? -ns : ns;
  return 0;
}

/* Refusals name the measurement behind them; README "Clock faults" has the table. */
static int refuse_rate(cctx *c, yaml_node_t *n) {
  char d[64];
  const char *v = n->type == YAML_SCALAR_NODE ? sval(n) : "";
  char *end = NULL;
  double r = v[0] == 'x' ? strtod(v + 1, &end) : 0;
  if (!end || end == v + 1 || *end || !(r > 0))
    return fail_node(c, n, "'rate' must be a factor like x2 or x0.5, not %s",
                     describe(n, d, sizeof d));
  return fail_node(c, n,
                   "'rate' is refused on this platform: libfaketime 0.9.10 scales C core's "
                   "relative waits but not abseil's absolute futex waits, so gRPC 1.51's timers "
                   "keep neither clock (under x10 a 300ms deadline ended after 281ms of real "
                   "time, 2.8s on the side's clock, and a 1s max_connection_age never fired); "
                   "see README \"Clock faults\"");
}

static int get_trigger(cctx *c, yaml_node_t *n, fl_clock_jump *j) {
  if (want_scalar(c, n, "on", "a predicate like server.recv >= 3") < 0) return -1;
  char msg[512];
  int errcol = 0;
  if (fl_predicate_parse(sval(n), &j->on, msg, sizeof msg, &errcol) < 0) {
    /* On one line, a plain scalar's characters are the value's; a quoted one starts one
     * column later (escapes inside quotes would shift this, so those point at the value). */
    yaml_scalar_style_t st = n->data.scalar.style;
    int shift = st == YAML_PLAIN_SCALAR_STYLE ? 0
                : st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE
                    ? 1
                    : -1;
    if (shift < 0 || strpbrk(sval(n), "\\'\"\n")) return fail_node(c, n, "%s", msg);
    return fail_at(c, LINE(n), COL(n) + shift + errcol, "%s", msg);
  }
  if (fl_predicate_scope(j->on) == FL_SCOPE_GLOBAL)
    return fail_node(c, n,
                     "a jump's 'on' needs a server.* or client.* field; '%s' is only known when "
                     "the run is over",
                     fl_predicate_field_text(j->on));
  j->on_text = strdup(sval(n));
  if (!j->on_text) return fail_node(c, n, "out of memory");
  return 0;
}

static int parse_jump(cctx *c, yaml_node_t *n, fl_clock_jump *j) {
  char d[64];
  j->line = LINE(n);
  j->col = COL(n);
  j->after_ns = -1;
  if (n->type != YAML_MAPPING_NODE)
    return fail_node(c, n,
                     "a jump must be a map like {by: +30s, on: server.recv >= 3} or {by: +30s, "
                     "after: 1s}, not %s",
                     describe(n, d, sizeof d));
  yaml_node_t *by = NULL, *on = NULL, *after = NULL;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, n, pr, "jump", jump_keys, &key) < 0) return -1;
    yaml_node_t *v = node(c, pr->value);
    if (!strcmp(key, "by")) {
      if (get_signed_duration(c, v, "by", &j->by_ns) < 0) return -1;
      by = v;
    } else if (!strcmp(key, "on")) {
      if (after)
        return fail_node(c, node(c, pr->key), "a jump has one trigger: 'on' or 'after', not both");
      if (get_trigger(c, v, j) < 0) return -1;
      on = v;
    } else {
      if (on)
        return fail_node(c, node(c, pr->key), "a jump has one trigger: 'on' or 'after', not both");
      if (want_scalar(c, v, "after", "a duration like 500ms") < 0) return -1;
      if (fl_parse_duration(sval(v), &j->after_ns) < 0 || j->after_ns <= 0)
        return fail_node(c, v, "'after' must be a duration longer than 0 like 500ms, not %s",
                         describe(v, d, sizeof d));
      after = v;
    }
  }
  if (!by) return fail_node(c, n, "a jump needs 'by', the step: {by: +30s, on: ...}");
  if (!on && !after)
    return fail_node(c, n,
                     "a jump needs a trigger: 'on: PREDICATE' (like server.recv >= 3) or "
                     "'after: DURATION'");
  if (j->by_ns == 0) return fail_node(c, by, "a jump by 0 does nothing; give a step like +30s");
  if (j->by_ns < 0)
    return fail_node(c, by,
                     "a jump back (%s) is refused: with the side's realtime clock stepped back, "
                     "C core 1.51's timer threads spin on abseil waits whose deadlines lie in the "
                     "past, and a monotonic clock that steps back breaks CLOCK_MONOTONIC's one "
                     "promise (the probe's call lasted -27s on its own clock)",
                     sval(by));
  return 0;
}

int fl_clock_parse(yaml_document_t *doc, yaml_node_t *n, const char *side, fl_clock_plan *out,
                   char *err, size_t errlen, int *line, int *col) {
  cctx c = {doc, err, errlen, line, col};
  char d[64], where[32];
  snprintf(where, sizeof where, "%s clock", side);
  out->present = true;
  out->line = LINE(n);
  out->col = COL(n);
  if (n->type != YAML_MAPPING_NODE)
    return fail_node(&c, n, "'clock' must be a map like {fake: realtime, offset: +2h}, not %s",
                     describe(n, d, sizeof d));
  yaml_node_t *fake = NULL;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(&c, n, pr, where, clock_keys, &key) < 0) return -1;
    yaml_node_t *v = node(&c, pr->value);
    if (!strcmp(key, "fake")) {
      static const char what[] = "realtime or realtime+monotonic";
      if (want_scalar(&c, v, "fake", what) < 0) return -1;
      int k = -1;
      for (int i = 0; fake_names[i]; i++)
        if (!strcmp(fake_names[i], sval(v))) k = i;
      if (k < 0) {
        const char *near = fl_near_miss(sval(v), fake_names);
        if (near)
          return fail_node(&c, v, "'fake' must be %s, not %s; did you mean '%s'?", what,
                           describe(v, d, sizeof d), near);
        return fail_node(&c, v, "'fake' must be %s, not %s", what, describe(v, d, sizeof d));
      }
      out->fake = (fl_clock_fake)k; /* fake_names is in fl_clock_fake order */
      fake = v;
    } else if (!strcmp(key, "offset")) {
      if (get_signed_duration(&c, v, "offset", &out->offset_ns) < 0) return -1;
      if (out->offset_ns < 0)
        return fail_node(&c, v,
                         "a negative offset (%s) is refused on this platform: with the side's "
                         "realtime clock behind, abseil's timed waits in C core 1.51 find their "
                         "deadlines already past and its two timer threads spin (1.7-3s of CPU "
                         "in a 2s call, even at -1s); put the other side's clock ahead instead",
                         sval(v));
    } else if (!strcmp(key, "rate")) {
      return refuse_rate(&c, v);
    } else {
      bool list = v->type == YAML_SEQUENCE_NODE;
      size_t nj = list ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start) : 1;
      if (nj == 0) return fail_node(&c, v, "'jump' is an empty list; remove it or add a jump");
      out->jumps = calloc(nj, sizeof *out->jumps);
      if (!out->jumps) return fail_node(&c, v, "out of memory");
      for (size_t i = 0; i < nj; i++) {
        /* Counted before it is filled, so that fl_clock_plan_free sees a half-made jump. */
        fl_clock_jump *j = &out->jumps[out->n_jumps++];
        if (parse_jump(&c, list ? node(&c, v->data.sequence.items.start[i]) : v, j) < 0) return -1;
      }
    }
  }
  if (!fake)
    return fail_node(&c, n,
                     "'clock' needs 'fake: realtime' or 'fake: realtime+monotonic': which clocks "
                     "are faked changes what C core does, so the scenario says it");
  return 0;
}

int fl_clock_check_arg(const fl_clock_plan *plan, const char *key, char *err, size_t errlen) {
  if (!plan || !plan->present || (plan->offset_ns == 0 && plan->n_jumps == 0)) return 0;
  for (const char *const *a = event_engine_timer_args; *a; a++) {
    if (strcmp(*a, key)) continue;
    fl_set_err(err, errlen,
               "'%s' cannot run with a clock offset or jump on this platform: C core 1.51 runs "
               "its timer on the EventEngine timer thread, which waits in abseil's futex until "
               "a deadline taken from the faked realtime clock, so it would fire late by the "
               "offset (measured: no keepalive ping and no max_connection_age GOAWAY under +2h)",
               key);
    return -1;
  }
  return 0;
}

void fl_clock_plan_free(fl_clock_plan *plan) {
  if (!plan) return;
  for (size_t i = 0; i < plan->n_jumps; i++) {
    fl_predicate_free(plan->jumps[i].on);
    free(plan->jumps[i].on_text);
  }
  free(plan->jumps);
  memset(plan, 0, sizeof *plan);
}
