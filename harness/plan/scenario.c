#include "scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "chanargs.h"

const char *fl_rpc_name(fl_rpc_kind k) {
  switch (k) {
  case FL_RPC_UNARY: return "unary";
  case FL_RPC_SERVER_STREAM: return "server_stream";
  case FL_RPC_CLIENT_STREAM: return "client_stream";
  case FL_RPC_BIDI: return "bidi";
  }
  return "(unknown rpc)";
}

const char *fl_rpc_method(fl_rpc_kind k) {
  switch (k) {
  case FL_RPC_UNARY: return "/faultline.Test/Unary";
  case FL_RPC_SERVER_STREAM: return "/faultline.Test/ServerStream";
  case FL_RPC_CLIENT_STREAM: return "/faultline.Test/ClientStream";
  case FL_RPC_BIDI: return "/faultline.Test/Bidi";
  }
  return "(unknown rpc)";
}

const char *fl_step_name(fl_step_kind k) {
  switch (k) {
  case FL_STEP_SEND: return "send";
  case FL_STEP_RECV: return "recv";
  case FL_STEP_SLEEP: return "sleep";
  case FL_STEP_CLOSE_SEND: return "close_send";
  case FL_STEP_CANCEL: return "cancel";
  case FL_STEP_STATUS: return "status";
  case FL_STEP_WAIT: return "wait";
  case FL_STEP_DUMP: return "dump";
  case FL_STEP_STOP_READING: return "stop_reading";
  case FL_STEP_RESUME_READING: return "resume_reading";
  case FL_STEP_SHUTDOWN: return "shutdown";
  case FL_STEP_SEND_HEADERS: return "send_headers";
  case FL_STEP_RECV_HEADERS: return "recv_headers";
  case FL_STEP_CLOSE_CHANNEL: return "close_channel";
  case FL_STEP_STOP_ACCEPTING: return "stop_accepting";
  }
  return "(unknown step)";
}

static const char *const rpc_names[] = {"unary", "server_stream", "client_stream", "bidi", NULL};
/* In fl_step_kind order. */
static const char *const step_names[] = {
    "send",         "recv",           "sleep",          "close_send",
    "cancel",       "status",         "wait",           "dump",
    "stop_reading", "resume_reading", "shutdown",       "send_headers",
    "recv_headers", "close_channel",  "stop_accepting", NULL};
/* In fl_threads_trigger order. */
static const char *const threads_names[] = {"on_hang", "on_failure", "at_end", "never", NULL};

/* A new payload kind is one line here and one enum value in scenario.h. */
static const struct {
  const char *name;
  fl_payload_kind kind;
} payloads[] = {
    {"struct", FL_PAYLOAD_STRUCT},     {"null_values", FL_PAYLOAD_NULL_VALUES},
    {"nested", FL_PAYLOAD_NESTED},     {"empty", FL_PAYLOAD_EMPTY},
    {"bytes", FL_PAYLOAD_BYTES},       {"malformed", FL_PAYLOAD_MALFORMED},
    {"oversize", FL_PAYLOAD_OVERSIZE},
};
#define N_PAYLOADS (sizeof payloads / sizeof payloads[0])

/* In fl_defect order. */
static const char *const defect_names[] = {"bad_wire_type", "truncated_varint", "length_past_end",
                                           "invalid_utf8", NULL};
/* In fl_shutdown_mode order. */
static const char *const shutdown_names[] = {"graceful", "abrupt", NULL};

static const char *const top_keys[] = {"name",     "summary", "rpc",        "method",  "decode",
                                       "deadline", "timeout", "hang_after", "streams", "calls",
                                       "server",   "client",  "capture",    "expect",  "path",
                                       "faults",   NULL};
static const char *const side_keys[] = {
    "args", "script", "clock",   "exec",     "target",   "ready",  "start_timeout",
    "env",  "cwd",    "rlimits", "metadata", "trailers", "accept", "deadline_metadata",
    NULL};
static const char *const send_keys[] = {"count", "size", "payload", "interval", "background", NULL};
static const char *const payload_keys[] = {"kind", "depth",        "seed", "defect", "proto",
                                           "type", "import_paths", "text", "hex",    "file",
                                           NULL};
static const char *const decode_keys[] = {"proto", "import_paths", "request_type", "response_type",
                                          NULL};
static const char *const recv_keys[] = {"count", "delay", NULL};
static const char *const shutdown_keys[] = {"mode", "deadline", NULL};
static const char *const status_keys[] = {"code", "message", NULL};
static const char *const capture_keys[] = {"pcap", "snaplen", "threads", "samples", NULL};

/* ---- errors ----------------------------------------------------------------------------- */

typedef struct {
  const char *path;
  const char *text;
  size_t len;
  yaml_document_t *doc;
  fl_error *err;
  fl_scenario *s; /* for warnings */
} pctx;

const char *fl_printable(const char *in, char *buf, size_t len) {
  size_t o = 0;
  if (len == 0) return buf;
  for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
    char esc[8] = "";
    size_t k = 1;
    if (*p < 0x20 || *p == 0x7F)
      snprintf(esc, sizeof esc, "\\x%02X", *p);
    else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
      snprintf(esc, sizeof esc, "\\u00%02X", p[1]), p++;
    if (esc[0]) k = strlen(esc);
    if (o + k >= len) break;
    if (esc[0])
      memcpy(buf + o, esc, k);
    else
      buf[o] = (char)*p;
    o += k;
  }
  buf[o] = '\0';
  return buf;
}

/* Messages quote the user's text; none of it may reach a terminal as control characters. */
static void format_at(const pctx *c, int line, int col, const char *what, char *out,
                      size_t outlen) {
  char path[256], plain[700];
  fl_printable(c->path, path, sizeof path);
  fl_printable(what, plain, sizeof plain);
  if (line > 0)
    snprintf(out, outlen, "%s:%d:%d: %s", path, line, col, plain);
  else
    snprintf(out, outlen, "%s: %s", path, plain);
}

__attribute__((format(printf, 4, 5))) static int fail_at(pctx *c, int line, int col,
                                                         const char *fmt, ...) {
  char what[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  c->err->line = line;
  c->err->col = col;
  format_at(c, line, col, what, c->err->msg, sizeof c->err->msg);
  return -1;
}

/* A warning: the file is valid, but this is probably not what its author meant. Returns -1
 * only when out of memory. */
__attribute__((format(printf, 4, 5))) static int warn_at(pctx *c, int line, int col,
                                                         const char *fmt, ...) {
  char what[600], msg[800];
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(what, sizeof what, "warning: ");
  vsnprintf(what + n, sizeof what - (size_t)n, fmt, ap);
  va_end(ap);
  format_at(c, line, col, what, msg, sizeof msg);
  char **grown = realloc(c->s->warnings, (c->s->n_warnings + 1) * sizeof *grown);
  if (!grown) return fail_at(c, line, col, "out of memory");
  c->s->warnings = grown;
  if (!(grown[c->s->n_warnings] = strdup(msg))) return fail_at(c, line, col, "out of memory");
  c->s->n_warnings++;
  return 0;
}

#define LINE(n) ((int)(n)->start_mark.line + 1)
#define COL(n) ((int)(n)->start_mark.column + 1)
#define fail_node(c, n, ...) fail_at((c), LINE(n), COL(n), __VA_ARGS__)

static yaml_node_t *node(pctx *c, int id) { return yaml_document_get_node(c->doc, id); }

/*
 * Checks one key of a map: a scalar, not seen before in this map, and one of `allowed`.
 * `where` names the map in messages ("scenario", "server", "send"). `hint` may explain a key
 * that is known elsewhere; it returns NULL when it has nothing to say.
 */
typedef const char *(*misplaced_fn)(const char *key);

static int check_key(pctx *c, yaml_node_t *map, yaml_node_pair_t *pair, const char *where,
                     const char *const *allowed, misplaced_fn hint, const char **key_out) {
  yaml_node_t *k = node(c, pair->key);
  char d[64];
  if (k->type != YAML_SCALAR_NODE)
    return fail_node(c, k, "keys in %s must be names, not %s", where,
                     fl_yaml_describe(k, d, sizeof d));
  const char *key = fl_yaml_str(k);
  for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
    yaml_node_t *qk = node(c, q->key);
    if (qk->type == YAML_SCALAR_NODE && !strcmp(fl_yaml_str(qk), key))
      return fail_node(c, k, "duplicate key '%s' in %s (first at line %d)", key, where, LINE(qk));
  }
  if (allowed) {
    bool ok = false;
    for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, key);
    if (!ok) {
      const char *near = fl_near_miss(key, allowed);
      if (near)
        return fail_node(c, k, "unknown key '%s' in %s; did you mean '%s'?", key, where, near);
      const char *h = hint ? hint(key) : NULL;
      if (h) return fail_node(c, k, "unknown key '%s' in %s; %s", key, where, h);
      char list[256];
      size_t o = 0;
      for (const char *const *a = allowed; *a && o < sizeof list; a++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *a);
      return fail_node(c, k, "unknown key '%s' in %s; expected one of %s", key, where, list);
    }
  }
  *key_out = key;
  return 0;
}

static const char *top_misplaced(const char *key) {
  if (!strcmp(key, "script") || !strcmp(key, "args") || !strcmp(key, "clock"))
    return "it belongs under server: or client:";
  for (const char *const *s = step_names; *s; s++)
    if (!strcmp(key, *s)) return "steps belong in a side's script: list";
  return NULL;
}

static const char *side_misplaced(const char *key) {
  for (const char *const *s = top_keys; *s; s++)
    if (!strcmp(key, *s)) return "it is a top-level key";
  for (const char *const *s = step_names; *s; s++)
    if (!strcmp(key, *s)) return "steps belong in the script: list";
  return NULL;
}

/* ---- values ----------------------------------------------------------------------------- */

/* The parser's context as the part parsers (plan_yaml.h) and the value readers below take it:
 * their errors come back through fail_at, predicates through parse_predicate. */
static int plan_fail(void *c, int line, int col, const char *msg);
static int plan_predicate(void *c, yaml_node_t *n, const char *key, fl_predicate **out,
                          char **text);
static fl_plan_yaml yaml_of(pctx *c) {
  return (fl_plan_yaml){c->path, c->doc, c, plan_fail, plan_predicate};
}

static int want_scalar(pctx *c, yaml_node_t *n, const char *key, const char *what) {
  fl_plan_yaml y = yaml_of(c);
  return fl_yaml_want_scalar(&y, n, key, what);
}

static int get_duration(pctx *c, yaml_node_t *n, const char *key, int64_t min_ns, int64_t *out) {
  fl_plan_yaml y = yaml_of(c);
  return fl_yaml_duration(&y, n, key, min_ns, out);
}

static int get_count(pctx *c, yaml_node_t *n, const char *key, uint64_t max, uint64_t *out) {
  fl_plan_yaml y = yaml_of(c);
  return fl_yaml_count(&y, n, key, max, out);
}

static int get_status_code(pctx *c, yaml_node_t *n, const char *key, int *out) {
  static const char what[] = "a status name like NOT_FOUND or a code 0..16";
  char d[64];
  if (want_scalar(c, n, key, what) < 0) return -1;
  const char *v = fl_yaml_str(n);
  char *end;
  errno = 0;
  long code = strtol(v, &end, 10);
  if (*v >= '0' && *v <= '9' && !*end && !errno) {
    if (code > 16) return fail_node(c, n, "'%s' must be %s, not %s", key, what, v);
    *out = (int)code;
    return 0;
  }
  int s = fl_status_from_name(v);
  if (s >= 0) {
    *out = s;
    return 0;
  }
  const char *names[18];
  for (int i = 0; i <= 16; i++) names[i] = fl_status_name(i);
  names[17] = NULL;
  const char *near = fl_near_miss(v, names);
  if (near) return fail_node(c, n, "unknown status '%s'; did you mean '%s'?", v, near);
  return fail_node(c, n, "'%s' must be %s, not %s", key, what, fl_yaml_describe(n, d, sizeof d));
}

static int get_string(pctx *c, yaml_node_t *n, const char *key, char **out) {
  if (want_scalar(c, n, key, "a string") < 0) return -1;
  *out = strdup(fl_yaml_str(n));
  if (!*out) return fail_node(c, n, "out of memory");
  return 0;
}

/* ---- predicates ------------------------------------------------------------------------- */

/* libyaml's mark.index counts characters after the byte order mark, which it consumes while
 * detecting the encoding; the source is UTF-8 (UTF-16 is refused). */
static size_t byte_of_char(const char *text, size_t len, size_t chars) {
  size_t i = len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0;
  for (size_t n = 0; i < len; i++) {
    if (((unsigned char)text[i] & 0xC0) != 0x80) {
      if (n == chars) break;
      n++;
    }
  }
  return i;
}

static size_t utf8_step(const char *p) {
  unsigned char b = (unsigned char)*p;
  size_t n = 1;
  if ((b & 0xE0) == 0xC0)
    n = 2;
  else if ((b & 0xF0) == 0xE0)
    n = 3;
  else if ((b & 0xF8) == 0xF0)
    n = 4;
  for (size_t i = 1; i < n; i++)
    if (!p[i]) return i;
  return n;
}

/*
 * Where, in the file, character `errcol` of a scalar's value stands. On one line the value is
 * the source with the quoting undone, and every source unit ('' in single quotes, one escape
 * in double quotes, or one plain character) yields exactly one character of the value, so we
 * walk units. Anything we cannot follow exactly (block scalars, a value folded over lines)
 * points at the scalar itself rather than at a wrong place.
 */
static fl_place place_of(const yaml_node_t *n) {
  return (fl_place){LINE(n), COL(n), n->start_mark.index,
                    n->type == YAML_SCALAR_NODE ? (int)n->data.scalar.style : 0};
}

static void place_pos(pctx *c, const fl_place *at, int errcol, int *line, int *col) {
  *line = at->line;
  *col = at->col;
  yaml_scalar_style_t style = (yaml_scalar_style_t)at->style;
  if (style != YAML_PLAIN_SCALAR_STYLE && style != YAML_SINGLE_QUOTED_SCALAR_STYLE &&
      style != YAML_DOUBLE_QUOTED_SCALAR_STYLE)
    return;
  size_t b = byte_of_char(c->text, c->len, at->index);
  const char *p = c->text + b, *end = c->text + c->len;
  int adv = 0;
  char quote = style == YAML_SINGLE_QUOTED_SCALAR_STYLE   ? '\''
               : style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ? '"'
                                                          : 0;
  if (quote) {
    if (p >= end || *p != quote) return; /* not where we thought: do not guess */
    p++;
    adv++;
  }
  for (int k = 0; k < errcol; k++) {
    if (p >= end || *p == '\n' || *p == '\r') return;
    if (quote == '\'' && *p == '\'') {
      if (p + 1 >= end || p[1] != '\'') return;
      p += 2;
      adv += 2;
    } else if (quote == '"' && *p == '"') {
      return;
    } else if (quote == '"' && *p == '\\') {
      if (p + 1 >= end) return;
      size_t extra = p[1] == 'x' ? 2 : p[1] == 'u' ? 4 : p[1] == 'U' ? 8 : 0;
      if (p[1] == '\n' || p[1] == '\r' || p + 2 + extra > end) return;
      p += 2 + extra;
      adv += 2 + (int)extra;
    } else {
      p += utf8_step(p);
      adv++;
    }
  }
  *col += adv;
}

static void value_pos(pctx *c, yaml_node_t *n, int errcol, int *line, int *col) {
  fl_place at = place_of(n);
  place_pos(c, &at, errcol, line, col);
}

static int parse_predicate(pctx *c, yaml_node_t *n, const char *key, fl_predicate **out,
                           char **text) {
  if (want_scalar(c, n, key, "a predicate like client.recv >= 3") < 0) return -1;
  char msg[512];
  int errcol = 0;
  if (fl_predicate_parse(fl_yaml_str(n), out, msg, sizeof msg, &errcol) < 0) {
    int line, col;
    value_pos(c, n, errcol, &line, &col);
    return fail_at(c, line, col, "%s", msg);
  }
  *text = strdup(fl_yaml_str(n));
  if (!*text) return fail_node(c, n, "out of memory");
  return 0;
}

static int plan_fail(void *c, int line, int col, const char *msg) {
  return fail_at(c, line, col, "%s", msg);
}
static int plan_predicate(void *c, yaml_node_t *n, const char *key, fl_predicate **out,
                          char **text) {
  return parse_predicate(c, n, key, out, text);
}

/* ---- steps ------------------------------------------------------------------------------ */

/* One of `names` (NULL-terminated); *out is its index. `what` lists them for the message. */
static int get_choice(pctx *c, yaml_node_t *n, const char *key, const char *const *names,
                      const char *what, int *out) {
  char d[64];
  if (want_scalar(c, n, key, what) < 0) return -1;
  for (int i = 0; names[i]; i++) {
    if (!strcmp(names[i], fl_yaml_str(n))) {
      *out = i;
      return 0;
    }
  }
  const char *near = fl_near_miss(fl_yaml_str(n), names);
  if (near)
    return fail_node(c, n, "'%s' must be %s, not %s; did you mean '%s'?", key, what,
                     fl_yaml_describe(n, d, sizeof d), near);
  return fail_node(c, n, "'%s' must be %s, not %s", key, what, fl_yaml_describe(n, d, sizeof d));
}

static int get_bool(pctx *c, yaml_node_t *n, const char *key, bool *out) {
  char d[64];
  if (want_scalar(c, n, key, "true or false") < 0) return -1;
  if (!strcmp(fl_yaml_str(n), "true"))
    *out = true;
  else if (!strcmp(fl_yaml_str(n), "false"))
    *out = false;
  else
    return fail_node(c, n, "'%s' must be true or false, not %s", key,
                     fl_yaml_describe(n, d, sizeof d));
  return 0;
}

static int get_payload_kind(pctx *c, yaml_node_t *n, const char *key, fl_payload_kind *out) {
  char d[64];
  const char *names[N_PAYLOADS + 1];
  if (want_scalar(c, n, key, "a payload kind like struct") < 0) return -1;
  for (size_t i = 0; i < N_PAYLOADS; i++) {
    names[i] = payloads[i].name;
    if (!strcmp(fl_yaml_str(n), payloads[i].name)) {
      *out = payloads[i].kind;
      return 0;
    }
  }
  names[N_PAYLOADS] = NULL;
  const char *near = fl_near_miss(fl_yaml_str(n), names);
  if (near)
    return fail_node(c, n, "unknown payload '%s'; did you mean '%s'?", fl_yaml_str(n), near);
  char list[160];
  size_t o = 0;
  for (size_t i = 0; i < N_PAYLOADS && o < sizeof list; i++)
    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", names[i]);
  (void)d;
  return fail_node(c, n, "unknown payload '%s'; expected one of %s", fl_yaml_str(n), list);
}

/* A string value: what get_string takes, and its place for later errors. */
static int get_placed(pctx *c, yaml_node_t *n, const char *key, const char *what, char **out,
                      fl_place *at) {
  if (want_scalar(c, n, key, what) < 0) return -1;
  *out = strdup(fl_yaml_str(n));
  if (!*out) return fail_node(c, n, "out of memory");
  *at = place_of(n);
  return 0;
}

/* A protobuf full name: identifiers joined by dots (shop.v1.Order). */
static int get_type_name(pctx *c, yaml_node_t *n, const char *key, char **out, fl_place *at) {
  char d[64];
  if (get_placed(c, n, key, "a message's full name like shop.v1.Order", out, at) < 0) return -1;
  const char *v = *out;
  for (size_t i = 0; v[i]; i++) {
    bool start = i == 0 || v[i - 1] == '.';
    bool ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || v[i] == '_' ||
              (!start && ((v[i] >= '0' && v[i] <= '9') || v[i] == '.'));
    if (!ok || (v[i] == '.' && !v[i + 1])) {
      int line, col;
      value_pos(c, n, (int)i, &line, &col);
      return fail_at(c, line, col, "'%s' must be a message's full name like shop.v1.Order, not %s",
                     key, fl_yaml_describe(n, d, sizeof d));
    }
  }
  return 0;
}

/* import_paths: [DIR, ...] */
static int get_import_paths(pctx *c, yaml_node_t *n, fl_proto_ref *ref) {
  char d[64];
  if (n->type != YAML_SEQUENCE_NODE)
    return fail_node(c, n,
                     "'import_paths' must be a list of directories like [proto, vendor], not %s",
                     fl_yaml_describe(n, d, sizeof d));
  size_t k = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  ref->import_paths = calloc(k ? k : 1, sizeof *ref->import_paths);
  ref->import_at = calloc(k ? k : 1, sizeof *ref->import_at);
  if (!ref->import_paths || !ref->import_at) return fail_node(c, n, "out of memory");
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    yaml_node_t *e = node(c, *it);
    size_t i = ref->n_import_paths++;
    if (get_placed(c, e, "import_paths", "a directory", &ref->import_paths[i], &ref->import_at[i]) <
        0)
      return -1;
  }
  return 0;
}

/* hex: pairs of hex digits; spaces and line breaks between them are ignored. */
static int parse_hex(pctx *c, yaml_node_t *n, fl_foreign_payload *f) {
  if (want_scalar(c, n, "hex", "hex digits like \"0a03666f6f\"") < 0) return -1;
  const char *v = fl_yaml_str(n);
  size_t digits = 0, chars = 0, last = 0;
  f->bytes = malloc(strlen(v) / 2 + 1);
  if (!f->bytes) return fail_node(c, n, "out of memory");
  for (const char *p = v; *p; p += utf8_step(p), chars++) {
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') continue;
    int x = *p >= '0' && *p <= '9'   ? *p - '0'
            : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
            : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                     : -1;
    if (x < 0) {
      int line, col;
      value_pos(c, n, (int)chars, &line, &col);
      return fail_at(c, line, col, "'hex' holds '%.*s', which is not a hex digit (0-9, a-f)",
                     (int)utf8_step(p), p);
    }
    if (digits % 2 == 0)
      f->bytes[f->len] = (uint8_t)(x << 4);
    else
      f->bytes[f->len++] |= (uint8_t)x;
    digits++;
    last = chars;
  }
  if (digits % 2) {
    int line, col;
    value_pos(c, n, (int)last, &line, &col);
    return fail_at(c, line, col,
                   "'hex' has an odd number of hex digits (%zu); each byte is two, like 0a",
                   digits);
  }
  f->ready = true;
  return 0;
}

/* The names the payload kinds have in messages, in fl_payload_kind order. */
static const char *kind_name(fl_payload_kind k) {
  switch (k) {
  case FL_PAYLOAD_PROTO: return "proto";
  case FL_PAYLOAD_HEX: return "hex";
  case FL_PAYLOAD_FILE: return "file";
  default: return payloads[k].name; /* payloads is in fl_payload_kind order */
  }
}

static bool foreign_kind(fl_payload_kind k) {
  return k == FL_PAYLOAD_PROTO || k == FL_PAYLOAD_HEX || k == FL_PAYLOAD_FILE;
}

/* payload: KIND | {kind, depth, seed, defect} | {proto, type, text, import_paths} | {hex} |
 * {file}. Each parameter belongs to one kind, and saying it for another is an error at the
 * parameter, not a silent no-op. */
static int parse_payload(pctx *c, yaml_node_t *v, fl_step *st) {
  char d[64];
  if (v->type == YAML_SCALAR_NODE) {
    if (get_payload_kind(c, v, "payload", &st->payload) < 0) return -1;
    if (st->payload == FL_PAYLOAD_MALFORMED)
      return fail_node(c, v,
                       "payload malformed needs a defect, like {kind: malformed, defect: "
                       "truncated_varint}; defects: bad_wire_type, truncated_varint, "
                       "length_past_end, invalid_utf8");
    return 0;
  }
  if (v->type != YAML_MAPPING_NODE)
    return fail_node(c, v,
                     "'payload' must be a kind like struct, or a map {kind, depth, seed, "
                     "defect}, {proto, type, text}, {hex} or {file}, not %s",
                     fl_yaml_describe(v, d, sizeof d));
  fl_foreign_payload *f = calloc(1, sizeof *f);
  if (!f) return fail_node(c, v, "out of memory");
  st->foreign = f; /* freed with the step, whatever comes */
  f->at = place_of(v);
  /* The key that says which payload this is (kind, proto, hex or file), and its parameters. */
  yaml_node_t *which = NULL, *depth = NULL, *seed = NULL, *defect = NULL, *type = NULL,
              *text = NULL, *imports = NULL;
  for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, v, pr, "payload", payload_keys, NULL, &key) < 0) return -1;
    yaml_node_t *val = node(c, pr->value), *k = node(c, pr->key);
    bool names_kind = !strcmp(key, "kind") || !strcmp(key, "proto") || !strcmp(key, "hex") ||
                      !strcmp(key, "file");
    if (names_kind && which)
      return fail_node(c, k,
                       "'%s' and '%s' are two payloads; a payload is one of kind, proto, hex "
                       "or file",
                       fl_yaml_str(which), key);
    if (names_kind) which = k;
    if (!strcmp(key, "kind")) {
      if (get_payload_kind(c, val, "kind", &st->payload) < 0) return -1;
    } else if (!strcmp(key, "proto")) {
      st->payload = FL_PAYLOAD_PROTO;
      if (get_placed(c, val, "proto", "a .proto file like shop/v1/orders.proto", &f->proto.file,
                     &f->proto.file_at) < 0)
        return -1;
    } else if (!strcmp(key, "hex")) {
      st->payload = FL_PAYLOAD_HEX;
      if (parse_hex(c, val, f) < 0) return -1;
    } else if (!strcmp(key, "file")) {
      st->payload = FL_PAYLOAD_FILE;
      if (get_placed(c, val, "file", "a file like request.bin", &f->file, &f->file_at) < 0)
        return -1;
    } else if (!strcmp(key, "type")) {
      if (get_type_name(c, val, "type", &f->type, &f->type_at) < 0) return -1;
      type = k;
    } else if (!strcmp(key, "text")) {
      /* An empty text is a message with every field unset: "" is a value, a bare key not. */
      if (val->type != YAML_SCALAR_NODE || fl_yaml_is_null(val))
        return fail_node(c, val,
                         "'text' must be a message in text format like 'id: \"o-1\"', not %s",
                         fl_yaml_describe(val, d, sizeof d));
      if (get_placed(c, val, "text", "", &f->text, &f->text_at) < 0) return -1;
      text = k;
    } else if (!strcmp(key, "import_paths")) {
      if (get_import_paths(c, val, &f->proto) < 0) return -1;
      imports = k;
    } else if (!strcmp(key, "depth")) {
      uint64_t n;
      if (get_count(c, val, "depth", FL_NESTED_MAX_DEPTH, &n) < 0) return -1;
      st->depth = (uint32_t)n;
      depth = k;
    } else if (!strcmp(key, "seed")) {
      if (get_count(c, val, "seed", UINT64_MAX - 1, &st->seed) < 0) return -1;
      seed = k;
    } else {
      int i;
      if (get_choice(c, val, "defect", defect_names,
                     "one of bad_wire_type, truncated_varint, length_past_end, "
                     "invalid_utf8",
                     &i) < 0)
        return -1;
      st->defect = (fl_defect)i;
      defect = k;
    }
  }
  if (!which)
    return fail_node(c, v,
                     "'payload' needs a 'kind' (like {kind: nested, depth: 32}), or one of "
                     "proto, hex or file");
  const char *kname = kind_name(st->payload);
  if (depth && st->payload != FL_PAYLOAD_NESTED)
    return fail_node(c, depth, "'depth' belongs to payload kind nested, not %s", kname);
  if (seed && st->payload != FL_PAYLOAD_BYTES)
    return fail_node(c, seed, "'seed' belongs to payload kind bytes, not %s", kname);
  if (defect && st->payload != FL_PAYLOAD_MALFORMED)
    return fail_node(c, defect, "'defect' belongs to payload kind malformed, not %s", kname);
  yaml_node_t *proto_only = type ? type : text ? text : imports;
  if (proto_only && st->payload != FL_PAYLOAD_PROTO)
    return fail_node(c, proto_only, "'%s' belongs to a proto payload, not %s",
                     fl_yaml_str(proto_only), kname);
  if (!defect && st->payload == FL_PAYLOAD_MALFORMED)
    return fail_node(c, v,
                     "payload malformed needs a defect: bad_wire_type, truncated_varint, "
                     "length_past_end or invalid_utf8");
  if (st->payload == FL_PAYLOAD_PROTO && !type)
    return fail_node(c, v,
                     "a proto payload needs a 'type', the message's full name, like {proto: "
                     "shop.proto, type: shop.v1.Order, text: 'id: \"o-1\"'}");
  if (st->payload == FL_PAYLOAD_PROTO && !text && !(f->text = strdup("")))
    return fail_node(c, v, "out of memory");
  if (!foreign_kind(st->payload)) {
    free(f->bytes);
    free(f);
    st->foreign = NULL;
  }
  return 0;
}

static int parse_send(pctx *c, yaml_node_t *v, fl_step *st) {
  char d[64];
  if (v->type == YAML_SCALAR_NODE) return get_count(c, v, "send", FL_COUNT_MAX, &st->count);
  if (v->type != YAML_MAPPING_NODE)
    return fail_node(c, v,
                     "'send' must be a count or a map {count, size, payload, interval, "
                     "background}, not %s",
                     fl_yaml_describe(v, d, sizeof d));
  yaml_node_t *size_key = NULL;
  for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, v, pr, "send", send_keys, NULL, &key) < 0) return -1;
    yaml_node_t *val = node(c, pr->value);
    if (!strcmp(key, "count")) {
      if (get_count(c, val, "count", FL_COUNT_MAX, &st->count) < 0) return -1;
    } else if (!strcmp(key, "size")) {
      static const char what[] = "a size like 100, 16KiB or 4MiB";
      int64_t size;
      if (want_scalar(c, val, "size", what) < 0) return -1;
      int rc = fl_parse_size(fl_yaml_str(val), &size);
      if (rc == -2 || (rc == 0 && size > FL_SIZE_MAX))
        return fail_node(c, val,
                         "'size' must be at most 2147483647 bytes (2 GiB - 1, the largest "
                         "message C core's limits allow), not %s",
                         fl_yaml_describe(val, d, sizeof d));
      if (rc < 0)
        return fail_node(c, val, "'size' must be %s, not %s", what,
                         fl_yaml_describe(val, d, sizeof d));
      st->size = (uint64_t)size;
      st->size_set = true;
      size_key = node(c, pr->key);
    } else if (!strcmp(key, "interval")) {
      if (get_duration(c, val, "interval", 0, &st->interval_ns) < 0) return -1;
    } else if (!strcmp(key, "background")) {
      if (get_bool(c, val, "background", &st->background) < 0) return -1;
    } else {
      if (parse_payload(c, val, st) < 0) return -1;
    }
  }
  if (size_key && foreign_kind(st->payload))
    return fail_node(c, size_key, "a %s payload is sent as it is; it takes no 'size'",
                     kind_name(st->payload));
  if (size_key && st->payload == FL_PAYLOAD_EMPTY)
    return fail_node(c, size_key, "payload empty is a zero-length message; it takes no 'size'");
  if (size_key && st->payload == FL_PAYLOAD_OVERSIZE)
    return fail_node(c, size_key,
                     "an oversize message is one byte over the receiver's "
                     "grpc.max_receive_message_length; it takes no 'size'");
  if (st->payload == FL_PAYLOAD_BYTES && !st->size_set) st->size = 64;
  return 0;
}

/* recv: N | all | {count: N|all, delay: D} */
static int get_recv_count(pctx *c, yaml_node_t *v, const char *key, uint64_t *out) {
  char d[64];
  if (v->type == YAML_SCALAR_NODE && !strcmp(fl_yaml_str(v), "all")) {
    *out = FL_RECV_ALL;
    return 0;
  }
  if (v->type == YAML_SCALAR_NODE && !fl_yaml_is_null(v) &&
      (fl_yaml_str(v)[0] < '0' || fl_yaml_str(v)[0] > '9'))
    return fail_node(c, v, "'%s' must be a count like 3 or 'all', not %s", key,
                     fl_yaml_describe(v, d, sizeof d));
  return get_count(c, v, key, FL_COUNT_MAX, out);
}

static int parse_recv(pctx *c, yaml_node_t *v, fl_step *st) {
  char d[64];
  if (v->type != YAML_MAPPING_NODE) {
    if (v->type != YAML_SCALAR_NODE)
      return fail_node(c, v, "'recv' must be a count, 'all' or a map {count, delay}, not %s",
                       fl_yaml_describe(v, d, sizeof d));
    return get_recv_count(c, v, "recv", &st->count);
  }
  for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, v, pr, "recv", recv_keys, NULL, &key) < 0) return -1;
    yaml_node_t *val = node(c, pr->value);
    if (!strcmp(key, "count")) {
      if (get_recv_count(c, val, "count", &st->count) < 0) return -1;
    } else {
      if (get_duration(c, val, "delay", 0, &st->delay_ns) < 0) return -1;
    }
  }
  return 0;
}

/* shutdown: graceful | abrupt | {mode: graceful|abrupt, deadline: D} */
static int parse_shutdown(pctx *c, yaml_node_t *v, fl_step *st) {
  static const char modes[] = "graceful or abrupt";
  char d[64];
  int mode = FL_SHUTDOWN_GRACEFUL;
  if (v->type == YAML_SCALAR_NODE) {
    if (get_choice(c, v, "shutdown", shutdown_names, modes, &mode) < 0) return -1;
    st->shutdown_mode = (fl_shutdown_mode)mode;
    return 0;
  }
  if (v->type != YAML_MAPPING_NODE)
    return fail_node(c, v, "'shutdown' must be graceful, abrupt or a map {mode, deadline}, not %s",
                     fl_yaml_describe(v, d, sizeof d));
  yaml_node_t *deadline = NULL;
  for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, v, pr, "shutdown", shutdown_keys, NULL, &key) < 0) return -1;
    yaml_node_t *val = node(c, pr->value);
    if (!strcmp(key, "mode")) {
      if (get_choice(c, val, "mode", shutdown_names, modes, &mode) < 0) return -1;
      st->shutdown_mode = (fl_shutdown_mode)mode;
    } else {
      if (get_duration(c, val, "deadline", 1, &st->shutdown_deadline_ns) < 0) return -1;
      deadline = node(c, pr->key);
    }
  }
  if (deadline && st->shutdown_mode == FL_SHUTDOWN_ABRUPT)
    return fail_node(c, deadline,
                     "an abrupt shutdown cancels every call at once; 'deadline' "
                     "belongs to mode graceful");
  return 0;
}

static int parse_status(pctx *c, yaml_node_t *v, fl_step *st) {
  char d[64];
  if (v->type == YAML_SCALAR_NODE) return get_status_code(c, v, "status", &st->status_code);
  if (v->type != YAML_MAPPING_NODE)
    return fail_node(c, v, "'status' must be a code or a map {code, message}, not %s",
                     fl_yaml_describe(v, d, sizeof d));
  bool have_code = false;
  for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, v, pr, "status", status_keys, NULL, &key) < 0) return -1;
    yaml_node_t *val = node(c, pr->value);
    if (!strcmp(key, "code")) {
      if (get_status_code(c, val, "code", &st->status_code) < 0) return -1;
      have_code = true;
    } else {
      /* A status message may legitimately be empty: "" is a value, a bare key is not. */
      if (val->type == YAML_SCALAR_NODE && !fl_yaml_is_null(val)) {
        if (get_string(c, val, "message", &st->status_message) < 0) return -1;
      } else {
        return fail_node(c, val, "'message' must be a string, not %s",
                         fl_yaml_describe(val, d, sizeof d));
      }
    }
  }
  if (!have_code) return fail_node(c, v, "'status' needs a 'code', like {code: NOT_FOUND}");
  return 0;
}

static int parse_step(pctx *c, yaml_node_t *n, bool server, fl_step *st) {
  char d[64];
  yaml_node_t *kn = n, *v = NULL;
  const char *name;
  st->line = LINE(n);
  st->col = COL(n);
  st->count = 1;
  st->payload = FL_PAYLOAD_STRUCT;
  st->depth = 8;
  st->seed = 1;

  if (n->type == YAML_SCALAR_NODE) {
    name = fl_yaml_str(n);
  } else if (n->type == YAML_MAPPING_NODE) {
    yaml_node_pair_t *pairs = n->data.mapping.pairs.start;
    size_t np = (size_t)(n->data.mapping.pairs.top - pairs);
    if (np == 0) return fail_node(c, n, "empty step; expected e.g. 'send: 3' or 'close_send'");
    kn = node(c, pairs[0].key);
    if (kn->type != YAML_SCALAR_NODE)
      return fail_node(c, kn, "a step's name must be a word like send, not %s",
                       fl_yaml_describe(kn, d, sizeof d));
    if (np > 1) {
      yaml_node_t *k2 = node(c, pairs[1].key);
      return fail_node(c, k2,
                       "a step has one key; '%s' follows '%s' in the same step (start each "
                       "step with '- ')",
                       k2->type == YAML_SCALAR_NODE ? fl_yaml_str(k2) : "?", fl_yaml_str(kn));
    }
    name = fl_yaml_str(kn);
    v = node(c, pairs[0].value);
  } else {
    return fail_node(c, n,
                     "a step must be a name like close_send or a key like 'send: 3', not "
                     "a list");
  }

  int kind = -1;
  for (int i = 0; step_names[i]; i++)
    if (!strcmp(step_names[i], name)) kind = i;
  if (kind < 0) {
    const char *near = fl_near_miss(name, step_names);
    if (near) return fail_node(c, kn, "unknown step '%s'; did you mean '%s'?", name, near);
    return fail_node(c, kn,
                     "unknown step '%s'; expected send, recv, sleep, close_send, cancel, status, "
                     "wait, dump, stop_reading, resume_reading, shutdown, send_headers, "
                     "recv_headers, close_channel or stop_accepting",
                     name);
  }
  /* step_names is in fl_step_kind order. */
  st->kind = (fl_step_kind)kind;

  if (st->kind == FL_STEP_CLOSE_SEND && server)
    return fail_node(c, kn,
                     "'close_send' is a client step; the server ends its side with "
                     "'status'");
  if (st->kind == FL_STEP_STATUS && !server)
    return fail_node(c, kn, "'status' is a server step; the client receives the status");
  if (st->kind == FL_STEP_SHUTDOWN && !server)
    return fail_node(c, kn,
                     "'shutdown' is a server step; a client ends its call with "
                     "close_send or cancel");
  if (st->kind == FL_STEP_SEND_HEADERS && !server)
    return fail_node(c, kn,
                     "'send_headers' is a server step; the client's request headers go when "
                     "its call starts");
  if (st->kind == FL_STEP_RECV_HEADERS && server)
    return fail_node(c, kn,
                     "'recv_headers' is a client step; the server has its call's headers when "
                     "it accepts the call");
  if (st->kind == FL_STEP_CLOSE_CHANNEL && server)
    return fail_node(c, kn, "'close_channel' is a client step; a server stops with 'shutdown'");
  if (st->kind == FL_STEP_STOP_ACCEPTING && !server)
    return fail_node(c, kn,
                     "'stop_accepting' is a server step; a client stops making calls when its "
                     "'calls:' are made");

  if (st->kind == FL_STEP_CLOSE_SEND || st->kind == FL_STEP_CANCEL || st->kind == FL_STEP_DUMP ||
      st->kind == FL_STEP_STOP_READING || st->kind == FL_STEP_RESUME_READING ||
      st->kind == FL_STEP_SEND_HEADERS || st->kind == FL_STEP_RECV_HEADERS ||
      st->kind == FL_STEP_CLOSE_CHANNEL || st->kind == FL_STEP_STOP_ACCEPTING) {
    if (v && !fl_yaml_is_null(v))
      return fail_node(c, v, "'%s' takes no value; write it as '- %s'", name, name);
    return 0;
  }
  if (!v) {
    /* How each step that takes a value is written, in fl_step_kind order. */
    static const char *const forms[sizeof step_names / sizeof step_names[0]] = {
        [FL_STEP_SEND] = "send: 3 or send: {count: 3, size: 1KiB}",
        [FL_STEP_RECV] = "recv: 3, recv: all or recv: {count: all, delay: 50ms}",
        [FL_STEP_SHUTDOWN] = "shutdown: graceful, shutdown: abrupt or shutdown: {mode: graceful, "
                             "deadline: 500ms}",
        [FL_STEP_SLEEP] = "sleep: 500ms",
        [FL_STEP_STATUS] = "status: NOT_FOUND or status: {code: NOT_FOUND, message: \"...\"}",
        [FL_STEP_WAIT] = "wait: server.sent >= 5",
    };
    return fail_node(c, n, "'%s' needs a value: %s", name, forms[kind] ? forms[kind] : "");
  }

  switch (st->kind) {
  case FL_STEP_SEND: return parse_send(c, v, st);
  case FL_STEP_RECV: return parse_recv(c, v, st);
  case FL_STEP_SHUTDOWN: return parse_shutdown(c, v, st);
  case FL_STEP_SLEEP: return get_duration(c, v, "sleep", 0, &st->duration_ns);
  case FL_STEP_STATUS: return parse_status(c, v, st);
  case FL_STEP_WAIT:
    if (parse_predicate(c, v, "wait", &st->predicate, &st->text) < 0) return -1;
    /* A barrier is released by the other peer's events; the run's own fields (outcome,
     * elapsed) are only known once it is over, so such a wait could never be released. */
    if (fl_predicate_scope(st->predicate) == FL_SCOPE_GLOBAL)
      return fail_node(c, v,
                       "'wait' needs a server.* or client.* field; '%s' is only known "
                       "when the run is over",
                       fl_predicate_field_text(st->predicate));
    return 0;
  default: return 0;
  }
}

/* ---- sides ------------------------------------------------------------------------------ */

static int parse_args(pctx *c, yaml_node_t *n, fl_side_plan *sp, const char *side) {
  char d[64], where[32];
  snprintf(where, sizeof where, "%s args", side);
  if (n->type != YAML_MAPPING_NODE)
    return fail_node(c, n,
                     "'args' must be a map of channel arguments, like "
                     "{grpc.http2.bdp_probe: 0}, not %s",
                     fl_yaml_describe(n, d, sizeof d));
  size_t np = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  sp->args = calloc(np ? np : 1, sizeof *sp->args);
  if (!sp->args) return fail_node(c, n, "out of memory");
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, n, pr, where, NULL, NULL, &key) < 0) return -1;
    yaml_node_t *v = node(c, pr->value);
    if (v->type != YAML_SCALAR_NODE || fl_yaml_is_null(v))
      return fail_node(c, v, "channel argument '%s' must be a number or a string, not %s", key,
                       fl_yaml_describe(v, d, sizeof d));
    fl_channel_arg *a = &sp->args[sp->n_args++];
    a->key = strdup(key);
    a->value = strdup(fl_yaml_str(v));
    if (!a->key || !a->value) return fail_node(c, v, "out of memory");
    /* The value becomes what C core reads for that argument (chanargs.h states the rule). */
    const fl_chanarg_info *info = fl_chanarg_find(key);
    char why[300];
    if (fl_chanarg_convert(info, fl_yaml_str(v), v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE,
                           &a->is_int, &a->int_value, why, sizeof why) < 0) {
      return fail_node(c, v, "channel argument '%s': %s", key, why);
    }
    if (!info) {
      yaml_node_t *k = node(c, pr->key);
      const char *near = fl_near_miss(key, fl_chanarg_names());
      char hint[160] = "";
      if (near) snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
      if (warn_at(c, LINE(k), COL(k),
                  "'%s' is not a channel argument gRPC C core 1.51 declares%s (passed to C core "
                  "as written)",
                  key, hint) < 0)
        return -1;
    }
  }
  return 0;
}

static int parse_side(pctx *c, yaml_node_t *n, bool server, fl_side_plan *sp) {
  const char *side = server ? "server" : "client";
  char d[64];
  sp->present = true;
  if (fl_yaml_is_null(n)) return 0; /* `server:` alone: the built-in peer with no script */
  if (n->type != YAML_MAPPING_NODE)
    return fail_node(c, n, "'%s' must be a map with script and args, not %s", side,
                     fl_yaml_describe(n, d, sizeof d));
  fl_plan_yaml y = yaml_of(c);
  int script_line = 0, script_col = 0, args_line = 0, args_col = 0;
  /* The first of the keys only the built-in peer acts on (metadata, trailers, accept,
   * deadline_metadata). */
  int builtin_line = 0, builtin_col = 0;
  const char *builtin_key = NULL;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, n, pr, side, side_keys, side_misplaced, &key) < 0) return -1;
    yaml_node_t *v = node(c, pr->value);
    if (!strcmp(key, "rlimits")) {
      if (fl_rlimits_parse(&y, v, &sp->rlimits) < 0) return -1;
      continue;
    }
    if (!strcmp(key, "metadata") || !strcmp(key, "trailers") || !strcmp(key, "accept") ||
        !strcmp(key, "deadline_metadata")) {
      yaml_node_t *k = node(c, pr->key);
      if (!builtin_line) builtin_line = LINE(k), builtin_col = COL(k), builtin_key = key;
      if (key[0] == 'd') {
        if (fl_metadata_deadline_parse(&y, v, &sp->deadline_metadata) < 0) return -1;
        sp->deadline_metadata_line = LINE(v);
        sp->deadline_metadata_col = COL(v);
        continue;
      }
      if (key[0] == 't' && !server)
        return fail_node(c, k,
                         "'trailers' is the server's: the client receives trailing metadata "
                         "with its status");
      if (key[0] == 'a' && !server)
        return fail_node(c, k, "'accept' is the server's: how many calls it takes");
      if (key[0] == 'a') {
        uint64_t n;
        if (get_count(c, v, "accept", FL_CALLS_MAX, &n) < 0) return -1;
        sp->accept = (uint32_t)n;
        sp->accept_line = LINE(v);
        sp->accept_col = COL(v);
        continue;
      }
      if (fl_metadata_parse(&y, v, key, key[0] == 'm' ? &sp->metadata : &sp->trailers) < 0)
        return -1;
      continue;
    }
    if (fl_external_is_key(key)) {
      if (fl_external_parse_key(&y, server, node(c, pr->key), v, &sp->external) < 0) return -1;
      continue;
    }
    if (!strcmp(key, "args") && !args_line) {
      args_line = LINE(node(c, pr->key));
      args_col = COL(node(c, pr->key));
    }
    if (!strcmp(key, "script") && !script_line) {
      script_line = LINE(node(c, pr->key));
      script_col = COL(node(c, pr->key));
    }
    if (!strcmp(key, "args")) {
      if (fl_yaml_is_null(v)) continue;
      if (parse_args(c, v, sp, side) < 0) return -1;
      continue;
    }
    if (!strcmp(key, "clock")) {
      char msg[600];
      int line = 0, col = 0;
      if (fl_clock_parse(c->doc, v, side, &sp->clock, msg, sizeof msg, &line, &col) < 0)
        return fail_at(c, line, col, "%s", msg);
      continue;
    }
    if (fl_yaml_is_null(v)) continue; /* an empty script */
    if (v->type != YAML_SEQUENCE_NODE)
      return fail_node(c, v,
                       "'script' must be a list of steps (each line starting with '- '), "
                       "not %s",
                       fl_yaml_describe(v, d, sizeof d));
    size_t ns = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    sp->steps = calloc(ns ? ns : 1, sizeof *sp->steps);
    if (!sp->steps) return fail_node(c, v, "out of memory");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
      /* Counted before it is filled, so that fl_scenario_free sees a half-made step. */
      fl_step *st = &sp->steps[sp->n_steps++];
      if (parse_step(c, node(c, *it), server, st) < 0) return -1;
    }
  }
  if (fl_external_check(&y, server, &sp->external, script_line, script_col, args_line, args_col) <
      0)
    return -1;
  if (sp->external.present && builtin_key)
    return fail_at(c, builtin_line, builtin_col,
                   "'%s' drives the built-in peer; a side with exec: or target: sends its own "
                   "metadata and takes its own calls",
                   builtin_key);
  return 0;
}

/* ---- capture ---------------------------------------------------------------------------- */

static int parse_capture(pctx *c, yaml_node_t *n, fl_capture_plan *cp) {
  char d[64];
  if (fl_yaml_is_null(n)) return 0; /* `capture:` alone: the defaults */
  if (n->type != YAML_MAPPING_NODE)
    return fail_node(c, n, "'capture' must be a map like {pcap: true, threads: on_hang}, not %s",
                     fl_yaml_describe(n, d, sizeof d));
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, n, pr, "capture", capture_keys, NULL, &key) < 0) return -1;
    yaml_node_t *v = node(c, pr->value);
    if (!strcmp(key, "pcap")) {
      if (want_scalar(c, v, "pcap", "true or false") < 0) return -1;
      if (!strcmp(fl_yaml_str(v), "true"))
        cp->pcap = true;
      else if (!strcmp(fl_yaml_str(v), "false"))
        cp->pcap = false;
      else
        return fail_node(c, v, "'pcap' must be true or false, not %s",
                         fl_yaml_describe(v, d, sizeof d));
    } else if (!strcmp(key, "snaplen")) {
      uint64_t snaplen;
      if (get_count(c, v, "snaplen", FL_SNAPLEN_MAX, &snaplen) < 0) return -1;
      cp->snaplen = (int)snaplen;
    } else if (!strcmp(key, "samples")) {
      if (get_duration(c, v, "samples", FL_SAMPLES_MIN_NS, &cp->sample_interval_ns) < 0) return -1;
    } else {
      static const char what[] = "one of on_hang, on_failure, at_end, never";
      if (want_scalar(c, v, "threads", what) < 0) return -1;
      int k = -1;
      for (int i = 0; threads_names[i]; i++)
        if (!strcmp(threads_names[i], fl_yaml_str(v))) k = i;
      if (k < 0) {
        const char *near = fl_near_miss(fl_yaml_str(v), threads_names);
        if (near)
          return fail_node(c, v, "'threads' must be %s, not %s; did you mean '%s'?", what,
                           fl_yaml_describe(v, d, sizeof d), near);
        return fail_node(c, v, "'threads' must be %s, not %s", what,
                         fl_yaml_describe(v, d, sizeof d));
      }
      cp->threads = (fl_threads_trigger)k;
    }
  }
  return 0;
}

/* ---- top level -------------------------------------------------------------------------- */

static bool valid_name(const char *s) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-')) return false;
  return true;
}

/* method: /SERVICE/METHOD, the names as protobuf spells them (the service's full name). */
static int parse_method(pctx *c, yaml_node_t *v, fl_scenario *s) {
  static const char what[] = "a gRPC method path like /shop.v1.Orders/Place";
  char d[64];
  if (want_scalar(c, v, "method", what) < 0) return -1;
  const char *m = fl_yaml_str(v);
  int line, col;
  if (m[0] != '/')
    return fail_node(c, v, "'method' must be %s, starting with '/', not %s", what,
                     fl_yaml_describe(v, d, sizeof d));
  const char *second = strchr(m + 1, '/');
  if (!second) {
    value_pos(c, v, (int)strlen(m), &line, &col);
    return fail_at(c, line, col,
                   "'method' needs the method after the service and a '/': %s, not %s", what,
                   fl_yaml_describe(v, d, sizeof d));
  }
  for (size_t i = 1; m[i]; i++) {
    bool in_service = m + i < second;
    bool ok = (m[i] >= 'a' && m[i] <= 'z') || (m[i] >= 'A' && m[i] <= 'Z') || m[i] == '_' ||
              (m[i] >= '0' && m[i] <= '9') || (in_service && m[i] == '.') || m + i == second;
    const char *why = NULL;
    if (m + i == second && i == 1)
      why = "has no service name between its first two '/'";
    else if (m + i == second && !m[i + 1])
      why = "has no method name after the service's '/'";
    else if (m[i] == '/' && m + i != second)
      why = "has a '/' too many; a method path is /SERVICE/METHOD";
    else if (!ok)
      why = in_service ? "holds a character a service name cannot (letters, digits, '_', '.')"
                       : "holds a character a method name cannot (letters, digits, '_')";
    if (why) {
      value_pos(c, v, (int)(m + i == second && !m[i + 1] ? i + 1 : i), &line, &col);
      return fail_at(c, line, col, "'method' %s: %s", why, fl_yaml_describe(v, d, sizeof d));
    }
  }
  if (!(s->method = strdup(m))) return fail_node(c, v, "out of memory");
  s->method_line = LINE(v);
  s->method_col = COL(v);
  return 0;
}

/* decode: {proto, import_paths, request_type, response_type} */
static int parse_decode(pctx *c, yaml_node_t *v, fl_decode_plan *dp) {
  char d[64];
  if (v->type != YAML_MAPPING_NODE)
    return fail_node(c, v,
                     "'decode' must be a map {proto, import_paths, request_type, "
                     "response_type}, not %s",
                     fl_yaml_describe(v, d, sizeof d));
  dp->present = true;
  dp->line = LINE(v);
  dp->col = COL(v);
  for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
    const char *key;
    if (check_key(c, v, pr, "decode", decode_keys, NULL, &key) < 0) return -1;
    yaml_node_t *val = node(c, pr->value);
    if (!strcmp(key, "proto")) {
      if (get_placed(c, val, "proto", "a .proto file like shop/v1/orders.proto", &dp->proto.file,
                     &dp->proto.file_at) < 0)
        return -1;
    } else if (!strcmp(key, "import_paths")) {
      if (get_import_paths(c, val, &dp->proto) < 0) return -1;
    } else if (!strcmp(key, "request_type")) {
      if (get_type_name(c, val, "request_type", &dp->request_type, &dp->request_at) < 0) return -1;
    } else {
      if (get_type_name(c, val, "response_type", &dp->response_type, &dp->response_at) < 0)
        return -1;
    }
  }
  if (!dp->proto.file)
    return fail_node(c, v, "'decode' needs the 'proto' file that defines its types");
  if (!dp->request_type && !dp->response_type)
    return fail_node(c, v,
                     "'decode' needs a request_type (what the server receives), a "
                     "response_type (what the client receives), or both");
  return 0;
}

static int parse_top(pctx *c, yaml_node_t *root, fl_scenario *s) {
  char d[64];
  yaml_node_t *name = NULL, *streams = NULL, *calls = NULL;
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
       pr++) {
    const char *key;
    if (check_key(c, root, pr, "scenario", top_keys, top_misplaced, &key) < 0) return -1;
    yaml_node_t *v = node(c, pr->value);
    if (!strcmp(key, "name")) {
      if (want_scalar(c, v, "name", "a name like my-scenario") < 0) return -1;
      /* It names the run directory (runs/<stamp>-NAME) and the file: refused here rather
       * than by the file system at run time. */
      if (strlen(fl_yaml_str(v)) > FL_NAME_MAX)
        return fail_node(c, v, "'name' must be at most %d characters, not %zu", FL_NAME_MAX,
                         strlen(fl_yaml_str(v)));
      if (!valid_name(fl_yaml_str(v)))
        return fail_node(c, v,
                         "'name' must be lowercase letters, digits and '-', starting with a "
                         "letter or digit, not %s",
                         fl_yaml_describe(v, d, sizeof d));
      if (get_string(c, v, "name", &s->name) < 0) return -1;
      s->name_line = LINE(v);
      s->name_col = COL(v);
      name = v;
    } else if (!strcmp(key, "summary")) {
      if (want_scalar(c, v, "summary", "a line of text") < 0) return -1;
      free(s->summary);
      s->summary = NULL;
      if (get_string(c, v, "summary", &s->summary) < 0) return -1;
      /* `faultline list` prints it on a terminal, one line a scenario. */
      size_t chars = 0;
      for (const unsigned char *p = (const unsigned char *)s->summary; *p; p++) {
        bool c1 = *p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F;
        if (*p < 0x20 || *p == 0x7F || c1) {
          int line, col;
          value_pos(c, v, (int)chars, &line, &col);
          return fail_at(c, line, col,
                         "'summary' holds a control character (U+%04X); a summary is one line "
                         "of plain text",
                         c1 ? p[1] : *p);
        }
        if ((*p & 0xC0) != 0x80) chars++;
      }
    } else if (!strcmp(key, "rpc")) {
      static const char what[] = "one of unary, server_stream, client_stream, bidi";
      if (want_scalar(c, v, "rpc", what) < 0) return -1;
      int k = -1;
      for (int i = 0; rpc_names[i]; i++)
        if (!strcmp(rpc_names[i], fl_yaml_str(v))) k = i;
      if (k < 0) {
        const char *near = fl_near_miss(fl_yaml_str(v), rpc_names);
        if (near)
          return fail_node(c, v, "'rpc' must be %s, not %s; did you mean '%s'?", what,
                           fl_yaml_describe(v, d, sizeof d), near);
        return fail_node(c, v, "'rpc' must be %s, not %s", what, fl_yaml_describe(v, d, sizeof d));
      }
      s->rpc = (fl_rpc_kind)k; /* rpc_names is in fl_rpc_kind order */
    } else if (!strcmp(key, "method")) {
      if (parse_method(c, v, s) < 0) return -1;
    } else if (!strcmp(key, "decode")) {
      if (parse_decode(c, v, &s->decode) < 0) return -1;
    } else if (!strcmp(key, "deadline")) {
      if (get_duration(c, v, "deadline", 1, &s->deadline_ns) < 0) return -1;
    } else if (!strcmp(key, "timeout")) {
      if (get_duration(c, v, "timeout", 1, &s->timeout_ns) < 0) return -1;
    } else if (!strcmp(key, "hang_after")) {
      if (get_duration(c, v, "hang_after", 1, &s->hang_after_ns) < 0) return -1;
    } else if (!strcmp(key, "streams")) {
      uint64_t n;
      if (get_count(c, v, "streams", FL_STREAMS_MAX, &n) < 0) return -1;
      s->streams = (uint32_t)n;
      streams = node(c, pr->key);
    } else if (!strcmp(key, "calls")) {
      fl_plan_yaml y = yaml_of(c);
      if (fl_calls_parse(&y, v, &s->calls) < 0) return -1;
      calls = node(c, pr->key);
    } else if (!strcmp(key, "capture")) {
      if (parse_capture(c, v, &s->capture) < 0) return -1;
    } else if (!strcmp(key, "server") || !strcmp(key, "client")) {
      bool server = key[0] == 's';
      if (parse_side(c, v, server, server ? &s->server : &s->client) < 0) return -1;
    } else if (!strcmp(key, "path") || !strcmp(key, "faults")) {
      fl_plan_yaml y = yaml_of(c);
      if (key[0] == 'p' ? fl_path_parse(&y, v, &s->path_plan) < 0
                        : fl_faults_parse(&y, v, &s->faults, &s->n_faults) < 0)
        return -1;
    } else if (!strcmp(key, "expect")) {
      if (v->type != YAML_SEQUENCE_NODE)
        return fail_node(c, v,
                         "'expect' must be a list of predicates (each line starting with "
                         "'- '), not %s",
                         fl_yaml_describe(v, d, sizeof d));
      size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
      s->expect = calloc(n ? n : 1, sizeof *s->expect);
      if (!s->expect) return fail_node(c, v, "out of memory");
      for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
           it++) {
        yaml_node_t *e = node(c, *it);
        fl_expect *x = &s->expect[s->n_expect++];
        x->line = LINE(e);
        x->col = COL(e);
        if (parse_predicate(c, e, "expect", &x->predicate, &x->text) < 0) return -1;
      }
    }
  }
  if (!name) return fail_node(c, root, "the scenario has no 'name' (e.g. name: my-scenario)");
  if (s->decode.present && !fl_scenario_foreign(s))
    return fail_at(c, s->decode.line, s->decode.col,
                   "'decode' names the types of your own method's messages; it needs 'method: "
                   "/pkg.Service/Method' (faultline.Test's messages are decoded as "
                   "faultline.Message)");
  if (streams && calls) {
    yaml_node_t *later = LINE(streams) > LINE(calls) ? streams : calls;
    return fail_node(c, later,
                     "'streams' and 'calls' both say how many calls the run makes; streams: "
                     "%u is calls: { count: %u, concurrency: %u }",
                     s->streams, s->streams, s->streams);
  }
  if (!calls) s->calls = fl_calls_from_streams(s->streams);
  if (calls && s->client.external.present)
    return fail_node(c, calls,
                     "'calls' drives the built-in client; a client with exec: makes its own "
                     "calls");
  if (s->server.accept > s->calls.count)
    return fail_at(c, s->server.accept_line, s->server.accept_col,
                   "the server would accept %u calls but the run makes %u; accept is at most "
                   "the calls' count",
                   s->server.accept, s->calls.count);
  const fl_side_plan *cl = &s->client;
  if (cl->deadline_metadata && s->deadline_ns == 0)
    return fail_at(c, cl->deadline_metadata_line, cl->deadline_metadata_col,
                   "the client sends its call's deadline in '%s', but the scenario sets no "
                   "'deadline:' to send",
                   cl->deadline_metadata);
  for (size_t i = 0; cl->deadline_metadata && i < cl->metadata.n; i++)
    if (!strcmp(cl->metadata.entries[i].key, cl->deadline_metadata))
      return fail_at(c, cl->deadline_metadata_line, cl->deadline_metadata_col,
                     "'%s' is in the client's metadata already; deadline_metadata sets its "
                     "value",
                     cl->deadline_metadata);
  return 0;
}

/* ---- checks across steps and sides ----------------------------------------------------- */

/* The receive limit a side runs with: its grpc.max_receive_message_length when that is an
 * integer (C core ignores a string there), else C core's default. -1 means no limit. */
static long long recv_limit_of(const fl_side_plan *sp) {
  for (size_t i = 0; i < sp->n_args; i++)
    if (!strcmp(sp->args[i].key, "grpc.max_receive_message_length") && sp->args[i].is_int)
      return sp->args[i].int_value;
  return FL_DEFAULT_RECV_LIMIT;
}

static int check_side(pctx *c, fl_scenario *s, bool server) {
  const fl_side_plan *sp = server ? &s->server : &s->client;
  const fl_side_plan *other = server ? &s->client : &s->server;
  const char *receiver = server ? "client" : "server";
  int stopped_at = 0;    /* the line of the stop_reading in force, 0 while reading */
  uint64_t messages = 0; /* what this side sends in the run, over every stream */
  uint64_t streams = s->calls.count ? s->calls.count : 1;
  for (size_t i = 0; i < sp->n_args; i++) {
    char msg[600];
    if (fl_clock_check_arg(&sp->clock, sp->args[i].key, msg, sizeof msg) < 0)
      return fail_at(c, sp->clock.line, sp->clock.col, "%s clock: %s", server ? "server" : "client",
                     msg);
  }
  for (size_t i = 0; i < sp->n_steps; i++) {
    fl_step *st = &sp->steps[i];
    switch (st->kind) {
    case FL_STEP_STOP_READING:
      if (stopped_at)
        return fail_at(c, st->line, st->col, "reading is already stopped (stop_reading at line %d)",
                       stopped_at);
      stopped_at = st->line;
      break;
    case FL_STEP_RESUME_READING:
      if (!stopped_at)
        return fail_at(c, st->line, st->col, "'resume_reading' needs a stop_reading before it");
      stopped_at = 0;
      break;
    case FL_STEP_RECV:
      if (stopped_at)
        return fail_at(c, st->line, st->col,
                       "'recv' while reading is stopped (stop_reading at line %d); put "
                       "resume_reading before it",
                       stopped_at);
      break;
    case FL_STEP_SEND:
      messages += st->count * streams;
      if (messages > FL_SIDE_MESSAGES_MAX)
        return fail_at(c, st->line, st->col,
                       "with this step the %s sends %llu messages (counts x %llu calls), more "
                       "than %d, the most a side may send in a run (each is about 0.5 KB of "
                       "events.jsonl)",
                       server ? "server" : "client", (unsigned long long)messages,
                       (unsigned long long)streams, FL_SIDE_MESSAGES_MAX);
      if (st->payload == FL_PAYLOAD_OVERSIZE) {
        long long limit = recv_limit_of(other);
        if (limit < 0)
          return fail_at(c, st->line, st->col,
                         "payload oversize needs a receive limit, but the %s sets "
                         "grpc.max_receive_message_length to %lld (no limit)",
                         receiver, limit);
        st->recv_limit = (uint64_t)limit;
      }
      break;
    default: break;
    }
  }
  return 0;
}

/* ---- entry points ----------------------------------------------------------------------- */

static int yaml_failure(pctx *c, yaml_parser_t *p) {
  if (p->error == YAML_MEMORY_ERROR) return fail_at(c, 0, 0, "out of memory reading YAML");
  if (p->error == YAML_READER_ERROR) {
    /* Reader errors carry a byte offset, not a mark. */
    int line = 1, col = 1;
    for (size_t i = 0; i < p->problem_offset && i < c->len; i++) {
      /* libyaml's marks break lines at CR too; so do we, to agree with them */
      bool cr = c->text[i] == '\r' && (i + 1 >= c->len || c->text[i + 1] != '\n');
      if (c->text[i] == '\n' || cr)
        line++, col = 1;
      else if (((unsigned char)c->text[i] & 0xC0) != 0x80)
        col++;
    }
    return fail_at(c, line, col, "%s", p->problem ? p->problem : "cannot read the file");
  }
  int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
  if (p->context)
    return fail_at(c, line, col, "%s (%s started at %d:%d)", p->problem, p->context,
                   (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
  return fail_at(c, line, col, "%s", p->problem ? p->problem : "YAML syntax error");
}

/* A value holding a NUL would be cut short by every C string that carries it. */
static int check_no_nul(pctx *c, yaml_document_t *doc) {
  for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
    if (n->type != YAML_SCALAR_NODE || strlen(fl_yaml_str(n)) == n->data.scalar.length) continue;
    int chars = 0, line, col;
    for (const char *p = fl_yaml_str(n); *p; p++)
      if (((unsigned char)*p & 0xC0) != 0x80) chars++;
    value_pos(c, n, chars, &line, &col);
    return fail_at(c, line, col,
                   "a NUL character (\\0) inside a value; scenario text cannot hold one");
  }
  return 0;
}

int fl_scenario_parse(const char *path, const char *text, size_t len, fl_scenario **out,
                      fl_error *err) {
  fl_error scratch;
  pctx c = {path ? path : "(scenario)",
            text ? text : "",
            text ? len : 0,
            NULL,
            err ? err : &scratch,
            NULL};
  yaml_parser_t parser;
  yaml_document_t doc, extra;
  bool have_doc = false;
  int rc = -1;
  *out = NULL;
  c.err->line = c.err->col = 0;
  c.err->msg[0] = '\0';

  if (c.len > FL_SCENARIO_MAX_BYTES)
    return fail_at(&c, 0, 0, "larger than 16 MiB, the most a scenario file may hold");
  fl_scenario *s = calloc(1, sizeof *s);
  if (!s) return fail_at(&c, 0, 0, "out of memory");
  c.s = s;
  s->rpc = FL_RPC_BIDI;
  s->timeout_ns = INT64_C(30000000000);
  s->hang_after_ns = INT64_C(2000000000);
  s->streams = 1;
  s->capture.pcap = true;
  s->capture.snaplen = 262144;
  s->capture.threads = FL_THREADS_ON_HANG;
  s->capture.sample_interval_ns = 100000000;
  s->path = strdup(c.path);
  s->summary = strdup("");
  s->source = malloc(c.len + 1);
  if (s->source) {
    memcpy(s->source, c.text, c.len);
    s->source[c.len] = '\0';
    s->source_len = c.len;
  }
  if (!s->path || !s->summary || !s->source) {
    fail_at(&c, 0, 0, "out of memory");
    goto fail_scenario;
  }

  if (!yaml_parser_initialize(&parser)) {
    fail_at(&c, 0, 0, "out of memory");
    goto fail_scenario;
  }
  /* Columns of predicate errors are computed from the text, which must then be UTF-8;
   * libyaml would take UTF-16 too. */
  if (c.len >= 2 && ((unsigned char)c.text[0] == 0xFF || (unsigned char)c.text[0] == 0xFE) &&
      ((unsigned char)c.text[1] == 0xFF || (unsigned char)c.text[1] == 0xFE)) {
    fail_at(&c, 1, 1, "the file is UTF-16; scenario files are UTF-8");
    goto fail_parser;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)c.text, c.len);
  if (!yaml_parser_load(&parser, &doc)) {
    yaml_failure(&c, &parser);
    goto fail_parser;
  }
  have_doc = true;
  c.doc = &doc;

  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root || fl_yaml_is_null(root)) {
    fail_at(&c, 1, 1, "the scenario is empty; it must be a map with at least 'name'");
    goto fail_parser;
  }
  if (root->type != YAML_MAPPING_NODE) {
    char d[64];
    fail_node(&c, root, "a scenario must be a map of keys (name, rpc, server, client, ...), not %s",
              fl_yaml_describe(root, d, sizeof d));
    goto fail_parser;
  }
  if (check_no_nul(&c, &doc) < 0) goto fail_parser;
  if (parse_top(&c, root, s) < 0) goto fail_parser;
  if (check_side(&c, s, true) < 0 || check_side(&c, s, false) < 0) goto fail_parser;

  /* A second document ("---") would be ignored silently by a plain load: refuse it. */
  if (!yaml_parser_load(&parser, &extra)) {
    yaml_failure(&c, &parser);
    goto fail_parser;
  }
  yaml_node_t *more = yaml_document_get_root_node(&extra);
  if (more) {
    fail_node(&c, more, "a scenario file holds one YAML document; remove the second one");
    yaml_document_delete(&extra);
    goto fail_parser;
  }
  yaml_document_delete(&extra);
  *out = s;
  s = NULL;
  rc = 0;

fail_parser:
  if (have_doc) yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
fail_scenario:
  fl_scenario_free(s);
  return rc;
}

static const char *file_kind(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a fifo";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a plain file";
}

int fl_scenario_read(const char *path, char **text, size_t *len, fl_error *err) {
  fl_error scratch;
  pctx c = {path, "", 0, NULL, err ? err : &scratch, NULL};
  *text = NULL;
  *len = 0;
  c.err->line = c.err->col = 0;
  /* O_NONBLOCK: opening a fifo for reading would otherwise wait for a writer, for ever. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return fail_at(&c, 0, 0, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return fail_at(&c, 0, 0, "cannot open: %s", strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return fail_at(&c, 0, 0, "not a regular file (%s); a scenario is a YAML file",
                   file_kind(st.st_mode));
  }
  if (st.st_size > FL_SCENARIO_MAX_BYTES) {
    close(fd);
    return fail_at(&c, 0, 0, "larger than 16 MiB, the most a scenario file may hold");
  }
  /* The size may change while we read: read up to one byte past the cap to know. */
  size_t cap = (size_t)st.st_size + 1;
  if (cap > FL_SCENARIO_MAX_BYTES + 1) cap = FL_SCENARIO_MAX_BYTES + 1;
  char *buf = malloc(cap + 1);
  if (!buf) {
    close(fd);
    return fail_at(&c, 0, 0, "out of memory");
  }
  size_t n = 0;
  for (;;) {
    if (n == cap) {
      if (cap > FL_SCENARIO_MAX_BYTES) break;
      size_t ncap = cap * 2 > FL_SCENARIO_MAX_BYTES + 1 ? FL_SCENARIO_MAX_BYTES + 1 : cap * 2;
      char *nb = realloc(buf, ncap + 1);
      if (!nb) {
        free(buf);
        close(fd);
        return fail_at(&c, 0, 0, "out of memory");
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t k = read(fd, buf + n, cap - n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return fail_at(&c, 0, 0, "cannot read: %s", strerror(e));
    }
    if (k == 0) break;
    n += (size_t)k;
  }
  close(fd);
  if (n > FL_SCENARIO_MAX_BYTES) {
    free(buf);
    return fail_at(&c, 0, 0, "larger than 16 MiB, the most a scenario file may hold");
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

int fl_scenario_load(const char *path, fl_scenario **out, fl_error *err) {
  char *text;
  size_t len;
  *out = NULL;
  if (fl_scenario_read(path, &text, &len, err) < 0) return -1;
  int rc = fl_scenario_parse(path, text, len, out, err);
  free(text);
  return rc;
}

int fl_scenario_check_file_name(const fl_scenario *s, fl_error *err) {
  fl_error scratch;
  pctx c = {s->path, "", 0, NULL, err ? err : &scratch, NULL};
  const char *base = strrchr(s->path, '/') ? strrchr(s->path, '/') + 1 : s->path;
  if (!strcmp(base, "scenario.yaml")) return 0;
  size_t n = strlen(base);
  size_t stem = n > 5 && !strcmp(base + n - 5, ".yaml")  ? n - 5
                : n > 4 && !strcmp(base + n - 4, ".yml") ? n - 4
                                                         : n;
  if (stem == strlen(s->name) && !strncmp(base, s->name, stem)) return 0;
  return fail_at(&c, s->name_line, s->name_col,
                 "the file is named '%s' but its scenario is named '%s'; a scenario file is "
                 "named after its scenario: rename the file to %s.yaml, or change 'name' to "
                 "'%.*s'",
                 base, s->name, s->name, (int)stem, base);
}

/* ---- what the scenario refers to ------------------------------------------------------- */

const char *fl_scenario_method(const fl_scenario *s) {
  return s->method ? s->method : fl_rpc_method(s->rpc);
}

bool fl_scenario_foreign(const fl_scenario *s) {
  return s->method && strncmp(s->method, FL_TEST_SERVICE_PATH, strlen(FL_TEST_SERVICE_PATH)) != 0;
}

const char *fl_scenario_recv_type(const fl_scenario *s, bool server) {
  if (!s->decode.present) return NULL;
  return server ? s->decode.request_type : s->decode.response_type;
}

fl_protoc_source fl_proto_ref_source(const fl_proto_ref *r) {
  return (fl_protoc_source){r->file_abs, (const char *const *)r->import_abs, r->n_import_paths};
}

/*
 * `rel` against `base` (absolute), made plain without asking the file system: "." and empty
 * parts dropped, ".." taking the part before it off. protoc tells which import path a .proto
 * lies in by comparing the strings, so both are written the same way.
 */
static char *join_path(const char *base, const char *rel) {
  size_t n = strlen(base) + strlen(rel) + 2;
  char *in = malloc(n), *out = malloc(n + 1);
  if (!in || !out) {
    free(in);
    free(out);
    return NULL;
  }
  if (rel[0] == '/')
    snprintf(in, n, "%s", rel);
  else
    snprintf(in, n, "%s/%s", base, rel);
  size_t o = 0;
  for (char *part = in; *part;) {
    size_t k = strcspn(part, "/");
    if (k == 0 || (k == 1 && part[0] == '.')) {
      /* nothing */
    } else if (k == 2 && part[0] == '.' && part[1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
    } else {
      out[o++] = '/';
      memcpy(out + o, part, k);
      o += k;
    }
    part += k;
    if (*part == '/') part++;
  }
  if (o == 0) out[o++] = '/';
  out[o] = '\0';
  free(in);
  return out;
}

/* Where a resolve error points: the value's place, moved to a column inside it if need be. */
__attribute__((format(printf, 3, 4))) static int fail_place(pctx *c, const fl_place *at,
                                                            const char *fmt, ...) {
  char what[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return fail_at(c, at->line, at->col, "%s", what);
}

/* `written` resolved against the base into *abs, which must exist and be a regular file
 * (want_dir false) or a directory. `what` names it in messages. */
static int resolve_file(pctx *c, const fl_place *at, const char *written, const char *base,
                        bool want_dir, const char *what, char **abs) {
  char wp[256];
  fl_printable(written, wp, sizeof wp);
  *abs = join_path(base, written);
  if (!*abs) return fail_place(c, at, "out of memory");
  struct stat st;
  if (stat(*abs, &st) < 0) {
    char ap[512];
    return fail_place(c, at, "cannot open '%s' (%s): %s", wp, fl_printable(*abs, ap, sizeof ap),
                      strerror(errno));
  }
  if (want_dir && !S_ISDIR(st.st_mode))
    return fail_place(c, at, "'%s' is not a directory; %s", wp, what);
  if (!want_dir && !S_ISREG(st.st_mode))
    return fail_place(c, at, "'%s' is not a regular file (%s); %s", wp, file_kind(st.st_mode),
                      what);
  return 0;
}

static int resolve_proto(pctx *c, fl_proto_ref *r, const char *base) {
  if (r->file_abs) return 0;
  /* What an earlier attempt that failed left (a peer may try again with another base). */
  for (size_t i = 0; r->import_abs && i < r->n_import_paths; i++) free(r->import_abs[i]);
  free(r->import_abs);
  r->import_abs = calloc(r->n_import_paths + 1, sizeof *r->import_abs);
  if (!r->import_abs) return fail_place(c, &r->file_at, "out of memory");
  for (size_t i = 0; i < r->n_import_paths; i++)
    if (resolve_file(c, &r->import_at[i], r->import_paths[i], base, true,
                     "an import path is a directory protoc looks for imports in",
                     &r->import_abs[i]) < 0)
      return -1;
  char *file;
  if (resolve_file(c, &r->file_at, r->file, base, false, "a .proto is a text file", &file) < 0) {
    free(file);
    return -1;
  }
  r->file_abs = file;
  bool inside = r->n_import_paths == 0;
  for (size_t i = 0; i < r->n_import_paths && !inside; i++)
    inside = fl_protoc_inside(file, r->import_abs[i]);
  if (!inside) {
    char wp[256];
    return fail_place(c, &r->file_at,
                      "'%s' is not inside any of its import_paths; protoc reads a .proto from "
                      "under one of them",
                      fl_printable(r->file, wp, sizeof wp));
  }
  return 0;
}

/* A place inside a text value for protoc's 1-based line and column in it, if it can be told:
 * a one-line value (plain or quoted), or a literal block (`|`). Returns false if not. */
static bool text_pos(pctx *c, const fl_place *at, int tline, int tcol, int *line, int *col) {
  if (tline < 1 || tcol < 1) return false;
  if (at->style == YAML_LITERAL_SCALAR_STYLE) {
    /* The block's lines start on the line after its `|`, at the first one's indentation. */
    size_t b = byte_of_char(c->text, c->len, at->index);
    while (b < c->len && c->text[b] != '\n') b++;
    size_t indent = 0;
    for (size_t i = b + 1; i < c->len; i++) {
      if (c->text[i] == ' ') {
        indent++;
        continue;
      }
      if (c->text[i] != '\n' && c->text[i] != '\r') break;
      indent = 0; /* a blank line: the next one tells */
    }
    *line = at->line + tline;
    *col = (int)indent + tcol;
    return true;
  }
  if (tline != 1) return false;
  place_pos(c, at, tcol - 1, line, col);
  return tcol == 1 || *line != at->line || *col != at->col;
}

/* A protoc failure, placed at the part of the scenario protoc found at fault. */
static int protoc_fail(pctx *c, const fl_protoc_error *pe, const char *mode, const char *type,
                       const fl_proto_ref *r, const fl_place *type_at, const fl_place *text_at) {
  char wp[256];
  switch (pe->fault) {
  case FL_PROTOC_RUN: return fail_place(c, type_at, "protoc %s=%s: %s", mode, type, pe->msg);
  case FL_PROTOC_PROTO:
    return fail_place(c, &r->file_at, "protoc cannot read '%s': %s",
                      fl_printable(r->file, wp, sizeof wp), pe->msg);
  case FL_PROTOC_TYPE: return fail_place(c, type_at, "protoc %s=%s: %s", mode, type, pe->msg);
  case FL_PROTOC_INPUT: break;
  }
  if (!text_at) return fail_place(c, type_at, "protoc %s=%s: %s", mode, type, pe->msg);
  int line, col;
  if (text_pos(c, text_at, pe->line, pe->col, &line, &col))
    return fail_at(c, line, col, "payload text for %s: protoc: %s", type, pe->msg);
  if (pe->line > 0)
    return fail_place(c, text_at, "payload text for %s, at its line %d, column %d: protoc: %s",
                      type, pe->line, pe->col, pe->msg);
  return fail_place(c, text_at, "payload text for %s: protoc: %s", type, pe->msg);
}

/* A payload file, read whole: a regular file only, opened so that nothing can block. */
static int read_payload_file(pctx *c, fl_foreign_payload *f, const char *base) {
  char wp[256], ap[512];
  fl_printable(f->file, wp, sizeof wp);
  free(f->file_abs);
  free(f->bytes);
  f->bytes = NULL;
  if (!(f->file_abs = join_path(base, f->file))) return fail_place(c, &f->file_at, "out of memory");
  fl_printable(f->file_abs, ap, sizeof ap);
  /* O_NONBLOCK: opening a fifo would otherwise wait for a writer. */
  int fd = open(f->file_abs, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return fail_place(c, &f->file_at, "cannot open '%s' (%s): %s", wp, ap, strerror(errno));
  struct stat st;
  int rc = -1;
  if (fstat(fd, &st) < 0) {
    fail_place(c, &f->file_at, "cannot open '%s' (%s): %s", wp, ap, strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    fail_place(c, &f->file_at, "'%s' is not a regular file (%s); a payload file is read whole", wp,
               file_kind(st.st_mode));
  } else if (st.st_size > FL_FOREIGN_PAYLOAD_MAX) {
    fail_place(c, &f->file_at,
               "'%s' holds %lld bytes, more than %d MiB, the most a payload file may", wp,
               (long long)st.st_size, FL_FOREIGN_PAYLOAD_MAX / (1024 * 1024));
  } else if (!(f->bytes = malloc((size_t)st.st_size + 1))) {
    fail_place(c, &f->file_at, "out of memory");
  } else {
    /* It may grow while we read: never past what fstat said. */
    size_t want = (size_t)st.st_size;
    f->len = 0;
    rc = 0;
    while (f->len < want && rc == 0) {
      ssize_t n = read(fd, f->bytes + f->len, want - f->len);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        rc = fail_place(c, &f->file_at, "cannot read '%s': %s", wp, strerror(errno));
      else if (n == 0)
        break; /* it shrank: what it holds now */
      else
        f->len += (size_t)n;
    }
    f->ready = rc == 0;
  }
  close(fd);
  return rc;
}

static int resolve_side(pctx *c, fl_side_plan *sp, const char *base) {
  for (size_t i = 0; i < sp->n_steps; i++) {
    fl_foreign_payload *f = sp->steps[i].foreign;
    if (!f || f->ready) continue;
    if (sp->steps[i].payload == FL_PAYLOAD_FILE) {
      if (read_payload_file(c, f, base) < 0) return -1;
      continue;
    }
    if (resolve_proto(c, &f->proto, base) < 0) return -1;
    fl_protoc_source src = fl_proto_ref_source(&f->proto);
    fl_protoc_error pe;
    if (fl_protoc_encode(&src, f->type, f->text, strlen(f->text), FL_FOREIGN_PAYLOAD_MAX, &f->bytes,
                         &f->len, &pe) < 0)
      return protoc_fail(c, &pe, "--encode", f->type, &f->proto, &f->type_at, &f->text_at);
    f->ready = true;
  }
  return 0;
}

int fl_scenario_resolve(fl_scenario *s, const char *base_dir, fl_error *err) {
  fl_error scratch;
  pctx c = {s->path, s->source ? s->source : "", s->source_len, NULL, err ? err : &scratch, s};
  c.err->line = c.err->col = 0;
  c.err->msg[0] = '\0';
  if (s->resolved) return 0;
  char dir[PATH_MAX];
  if (base_dir) {
    snprintf(dir, sizeof dir, "%s", base_dir);
  } else {
    const char *slash = strrchr(s->path, '/');
    if (!slash)
      snprintf(dir, sizeof dir, ".");
    else
      snprintf(dir, sizeof dir, "%.*s", slash == s->path ? 1 : (int)(slash - s->path), s->path);
  }
  free(s->base_dir);
  if (!(s->base_dir = realpath(dir, NULL))) {
    char dp[256];
    return fail_at(&c, 0, 0, "cannot find the scenario's directory '%s': %s",
                   fl_printable(dir, dp, sizeof dp), strerror(errno));
  }
  if (resolve_side(&c, &s->server, s->base_dir) < 0 ||
      resolve_side(&c, &s->client, s->base_dir) < 0)
    return -1;
  fl_decode_plan *dp = &s->decode;
  if (dp->present) {
    if (resolve_proto(&c, &dp->proto, s->base_dir) < 0) return -1;
    fl_protoc_source src = fl_proto_ref_source(&dp->proto);
    fl_protoc_error pe;
    if (dp->request_type && fl_protoc_check_type(&src, dp->request_type, &pe) < 0)
      return protoc_fail(&c, &pe, "--decode", dp->request_type, &dp->proto, &dp->request_at, NULL);
    if (dp->response_type && fl_protoc_check_type(&src, dp->response_type, &pe) < 0)
      return protoc_fail(&c, &pe, "--decode", dp->response_type, &dp->proto, &dp->response_at,
                         NULL);
  }
  s->resolved = true;
  return 0;
}

static void free_proto_ref(fl_proto_ref *r) {
  free(r->file);
  free(r->file_abs);
  for (size_t i = 0; i < r->n_import_paths; i++) {
    free(r->import_paths[i]);
    if (r->import_abs) free(r->import_abs[i]);
  }
  free(r->import_paths);
  free(r->import_at);
  free(r->import_abs);
}

static void free_foreign(fl_foreign_payload *f) {
  if (!f) return;
  free_proto_ref(&f->proto);
  free(f->type);
  free(f->text);
  free(f->file);
  free(f->file_abs);
  free(f->bytes);
  free(f);
}

static void free_side(fl_side_plan *sp) {
  for (size_t i = 0; i < sp->n_args; i++) {
    free(sp->args[i].key);
    free(sp->args[i].value);
  }
  free(sp->args);
  for (size_t i = 0; i < sp->n_steps; i++) {
    free(sp->steps[i].status_message);
    fl_predicate_free(sp->steps[i].predicate);
    free(sp->steps[i].text);
    free_foreign(sp->steps[i].foreign);
  }
  free(sp->steps);
  fl_clock_plan_free(&sp->clock);
  fl_external_free(&sp->external);
  fl_metadata_free(&sp->metadata);
  fl_metadata_free(&sp->trailers);
  free(sp->deadline_metadata);
}

void fl_scenario_free(fl_scenario *s) {
  if (!s) return;
  free(s->path);
  free(s->source);
  for (size_t i = 0; i < s->n_warnings; i++) free(s->warnings[i]);
  free(s->warnings);
  free(s->name);
  free(s->summary);
  free(s->method);
  free_proto_ref(&s->decode.proto);
  free(s->decode.request_type);
  free(s->decode.response_type);
  free(s->base_dir);
  free_side(&s->server);
  free_side(&s->client);
  for (size_t i = 0; i < s->n_expect; i++) {
    fl_predicate_free(s->expect[i].predicate);
    free(s->expect[i].text);
  }
  free(s->expect);
  fl_path_free(&s->path_plan);
  fl_faults_free(s->faults, s->n_faults);
  free(s);
}
