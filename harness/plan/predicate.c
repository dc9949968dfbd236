#include "predicate.h"
#include "h2.h"
#include "util.h"

#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
#define FL_STATUS_NAME(name, code, unused) [code] = #name,
    FL_STATUS_CODES(FL_STATUS_NAME, _)
#undef FL_STATUS_NAME
        NULL,
};
#define N_STATUS FL_N_STATUS

static const char *const outcome_names[] = {
    "completed", "hang", "timeout", "crash", "interrupted", "busy", NULL,
};
#define N_OUTCOME 6

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_CONTAINS, OP_MATCHES } cmp_op;
static const char *const op_text[] = {"==", "!=", "<", "<=", ">", ">=", "contains", "matches"};
#define N_SYMBOL_OPS 6 /* the ones written with operator characters */

struct fl_predicate {
  const fl_field_info *field;
  fl_scope scope;
  cmp_op op;    /* normalised so that the field is on the left */
  fl_value lit; /* lit.s is owned */
  char *field_text;
  bool has_regex; /* OP_MATCHES: lit.s compiled */
  regex_t regex;
};

const char *fl_status_name(int code) {
  return code >= 0 && code < N_STATUS ? status_names[code] : "(unknown status)";
}

int fl_status_from_name(const char *name) {
  for (int i = 0; i < N_STATUS; i++)
    if (!strcmp(name, status_names[i])) return i;
  return -1;
}

const char *fl_outcome_name(fl_outcome o) {
  return (int)o >= 0 && (int)o < N_OUTCOME ? outcome_names[o] : "(unknown outcome)";
}

static int outcome_from_name(const char *name) {
  for (int i = 0; i < N_OUTCOME; i++)
    if (!strcmp(name, outcome_names[i])) return i;
  return -1;
}

/* ---- near misses ------------------------------------------------------------------------ */

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

int fl_edit_distance(const char *a, const char *b) {
  /* Keys and names are short; anything longer than this is no typo of ours. */
  enum { MAXLEN = 64 };
  size_t la = strlen(a), lb = strlen(b);
  if (la > MAXLEN || lb > MAXLEN)
    return la > lb ? (int)(la - lb) + MAXLEN : (int)(lb - la) + MAXLEN;
  int d[MAXLEN + 1][MAXLEN + 1];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      int cost = lower(a[i - 1]) != lower(b[j - 1]);
      int best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
      /* A swapped pair ("stauts") is one slip of the fingers, not two. */
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

const char *fl_near_miss(const char *word, const char *const *candidates) {
  const char *best = NULL;
  int best_d = 3;
  for (const char *const *c = candidates; *c; c++) {
    int d = fl_edit_distance(word, *c);
    /* Without the length check "x" would be a near miss of every two-letter name. */
    if (d < best_d && d < (int)strlen(*c)) {
      best = *c;
      best_d = d;
    }
  }
  return best;
}

/* ---- literals --------------------------------------------------------------------------- */

/*
 * Parses "<digits>[.<digits>]<unit>" into a whole number of base units, where the unit is one
 * of `units` (scaled by `mult`). An empty unit name stands for a bare number, allowed only when
 * the table has one. The result must be whole: 1.5s is 1500000000 ns, 1.5ns is malformed.
 * Returns -1 when malformed, -2 when well formed but beyond INT64_MAX base units.
 */
typedef struct {
  const char *name;
  int64_t mult;
} unit;

static int parse_scaled(const char *s, const unit *units, int64_t *out) {
  const char *p = s;
  int64_t ip = 0;
  bool too_big = false; /* reported only once the rest is known to be well formed */
  if (*p < '0' || *p > '9') return -1;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (ip > (INT64_MAX - (*p - '0')) / 10) too_big = true;
    if (!too_big) ip = ip * 10 + (*p - '0');
  }
  int64_t fp = 0, pow10 = 1;
  bool has_frac = false;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9') return -1;
    const char *fs = p;
    while (*p >= '0' && *p <= '9') p++;
    const char *fe = p;
    while (fe > fs && fe[-1] == '0') fe--; /* "1.500s" is as exact as "1.5s" */
    if (fe - fs > 18) return -1;
    for (const char *q = fs; q < fe; q++) {
      fp = fp * 10 + (*q - '0');
      pow10 *= 10;
    }
    has_frac = true;
  }
  for (const unit *u = units; u->name; u++) {
    if (strcmp(p, u->name)) continue;
    if (u->name[0] == '\0' && has_frac) return -1; /* a bare number must be an integer */
    if (fp) {
      /* In 128 bits: fp < 10^18 times mult up to 3.6*10^12 does not fit in 64. */
      if ((int64_t)(((__int128)fp * u->mult) % pow10) != 0) return -1;
    }
    if (too_big || ip > INT64_MAX / u->mult) return -2;
    int64_t v = ip * u->mult;
    if (fp) {
      __int128 f = (__int128)fp * u->mult / pow10;
      if (f > INT64_MAX - v) return -2;
      v += (int64_t)f;
    }
    *out = v;
    return 0;
  }
  return -1;
}

static const unit duration_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 MICRO SIGN, as Go writes it */
    {"\xce\xbcs", 1000}, /* U+03BC GREEK SMALL LETTER MU */
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", INT64_C(60000000000)},
    {"h", INT64_C(3600000000000)},
    {NULL, 0},
};

static const unit size_units[] = {
    {"", 1},
    {"B", 1},
    {"KB", 1000},
    {"kB", 1000},
    {"MB", 1000000},
    {"GB", INT64_C(1000000000)},
    {"TB", INT64_C(1000000000000)},
    {"KiB", INT64_C(1) << 10},
    {"MiB", INT64_C(1) << 20},
    {"GiB", INT64_C(1) << 30},
    {"TiB", INT64_C(1) << 40},
    {NULL, 0},
};

int fl_parse_duration(const char *s, int64_t *ns) {
  if (!s) return -1;
  return parse_scaled(s, duration_units, ns);
}

int fl_parse_size(const char *s, int64_t *bytes) {
  if (!s) return -1;
  return parse_scaled(s, size_units, bytes);
}

/* A signed decimal integer filling the whole string. */
static int parse_int(const char *s, int64_t *out) {
  const char *p = s;
  bool neg = false;
  if (*p == '-' || *p == '+') neg = *p++ == '-';
  if (*p < '0' || *p > '9') return -1;
  uint64_t v = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) return -1;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (*p) return -1;
  if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return -1;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

/* ---- lexer ------------------------------------------------------------------------------ */

typedef enum { TOK_END, TOK_WORD, TOK_STRING, TOK_OP } tok_kind;

typedef struct {
  tok_kind kind;
  size_t off, len; /* bytes of text; a string token includes its quotes */
  int op;          /* TOK_OP: a cmp_op, or -1 for a run of operator characters that is none */
} token;

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_opchar(char c) { return c == '=' || c == '!' || c == '<' || c == '>'; }

typedef struct {
  const char *text;
  char *errbuf;
  size_t errlen;
  int *errcol;
} pstate;

/* Columns count code points, as libyaml's marks do. */
static int column_of(const char *text, size_t off) {
  int col = 0;
  for (size_t i = 0; i < off; i++)
    if (((unsigned char)text[i] & 0xC0) != 0x80) col++;
  return col;
}

__attribute__((format(printf, 3, 4))) static int perr(pstate *ps, size_t off, const char *fmt,
                                                      ...) {
  if (ps->errbuf && ps->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->errbuf, ps->errlen, fmt, ap);
    va_end(ap);
  }
  if (ps->errcol) *ps->errcol = column_of(ps->text, off);
  return -1;
}

/* Scans one token at *pos. Strings are checked here (closing quote, escapes, UTF-8) so that
 * every later step can decode them without failing. */
static int lex(pstate *ps, size_t *pos, token *t) {
  const char *s = ps->text;
  size_t i = *pos;
  while (is_space(s[i])) i++;
  t->off = i;
  t->op = -1;
  if (!s[i]) {
    t->kind = TOK_END;
    t->len = 0;
  } else if (s[i] == '"') {
    size_t j = i + 1;
    for (;;) {
      if (!s[j]) return perr(ps, i, "unterminated string; a closing '\"' is missing");
      if (s[j] == '"') break;
      if (s[j] == '\\') {
        if (!s[j + 1]) return perr(ps, i, "unterminated string; a closing '\"' is missing");
        if (!strchr("\"\\ntr", s[j + 1]))
          return perr(ps, j, "unknown escape '\\%.*s' in string; use \\\" \\\\ \\n \\t or \\r",
                      (int)fl_utf8_len(s + j + 1, strlen(s + j + 1)), s + j + 1);
        j += 2;
        continue;
      }
      size_t n = fl_utf8_len(s + j, strlen(s + j));
      if (!n) return perr(ps, j, "string is not valid UTF-8");
      j += n;
    }
    t->kind = TOK_STRING;
    t->len = j + 1 - i;
  } else if (is_opchar(s[i])) {
    size_t j = i;
    while (is_opchar(s[j])) j++;
    t->kind = TOK_OP;
    t->len = j - i;
    for (int k = 0; k < N_SYMBOL_OPS; k++)
      if (strlen(op_text[k]) == t->len && !strncmp(s + i, op_text[k], t->len)) t->op = k;
  } else {
    size_t j = i;
    while (s[j] && !is_space(s[j]) && !is_opchar(s[j]) && s[j] != '"') j++;
    t->kind = TOK_WORD;
    t->len = j - i;
  }
  *pos = t->off + t->len;
  return 0;
}

/* Decodes a string token (already checked by lex) into a new buffer. */
static char *decode_string(const char *text, const token *t) {
  char *out = malloc(t->len);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = t->off + 1; i < t->off + t->len - 1; i++) {
    if (text[i] == '\\') {
      char c = text[++i];
      out[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
    } else {
      out[o++] = text[i];
    }
  }
  out[o] = '\0';
  return out;
}

/* ---- fields ----------------------------------------------------------------------------- */

#define type_desc fl_value_type_desc

/* The prefix of a per-side field, if the word starts with one: "server." / "client." (PEER)
 * or "wire.server." / "wire.client." (WIRE). Returns the prefix length, 0 if none. */
static size_t side_prefix(const char *w, size_t len, fl_field_class *cls, fl_scope *scope) {
  static const struct {
    const char *text;
    fl_field_class cls;
    fl_scope scope;
  } prefixes[] = {{"server.", FL_CLASS_PEER, FL_SCOPE_SERVER},
                  {"client.", FL_CLASS_PEER, FL_SCOPE_CLIENT},
                  {"wire.server.", FL_CLASS_WIRE, FL_SCOPE_SERVER},
                  {"wire.client.", FL_CLASS_WIRE, FL_SCOPE_CLIENT}};
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
    size_t n = strlen(prefixes[i].text);
    if (len >= n && !strncmp(w, prefixes[i].text, n)) {
      *cls = prefixes[i].cls;
      *scope = prefixes[i].scope;
      return n;
    }
  }
  return 0;
}

static const fl_field_info *global_field(const char *w, size_t len) {
  return fl_field_find(FL_CLASS_RUN, w, len);
}

/* A word the user meant as a field, known or not: a side prefix, a run field's name, or a
 * dotted name that is no number ("clinet.status"). */
static bool looks_like_field(const char *w, size_t len) {
  fl_field_class cls;
  fl_scope scope;
  if (side_prefix(w, len, &cls, &scope) || global_field(w, len)) return true;
  bool alpha = (w[0] >= 'a' && w[0] <= 'z') || (w[0] >= 'A' && w[0] <= 'Z');
  return alpha && memchr(w, '.', len) != NULL;
}

/* Every full field name, "server.sent" ... "outcome", for suggestions. */
enum { MAX_FIELD_NAMES = 2 * FL_N_FIELDS, FIELD_NAME_LEN = 64 };
typedef struct {
  char store[MAX_FIELD_NAMES][FIELD_NAME_LEN];
  const char *list[MAX_FIELD_NAMES + 1];
} field_names;

static void all_field_names(field_names *fn) {
  size_t n = 0;
  for (int i = 0; i < FL_N_FIELDS; i++) {
    const fl_field_info *f = &fl_fields[i];
    if (f->cls == FL_CLASS_RUN) {
      fl_field_full_name(f, FL_SCOPE_GLOBAL, fn->store[n], FIELD_NAME_LEN);
      fn->list[n] = fn->store[n];
      n++;
      continue;
    }
    for (fl_scope sc = FL_SCOPE_SERVER; sc <= FL_SCOPE_CLIENT; sc++) {
      fl_field_full_name(f, sc, fn->store[n], FIELD_NAME_LEN);
      fn->list[n] = fn->store[n];
      n++;
    }
  }
  fn->list[n] = NULL;
}

static const char *field_suggestion(field_names *fn, const char *word) {
  all_field_names(fn);
  return fl_near_miss(word, fn->list);
}

static int resolve_field(pstate *ps, const token *t, fl_predicate *p) {
  const char *w = ps->text + t->off;
  char word[128];
  snprintf(word, sizeof word, "%.*s", (int)t->len, w);
  fl_field_class cls;
  fl_scope scope;
  size_t pre = side_prefix(w, t->len, &cls, &scope);
  if (pre) {
    const fl_field_info *f = fl_field_find(cls, w + pre, t->len - pre);
    if (f) {
      p->scope = scope;
      p->field = f;
      return 0;
    }
    if (global_field(w + pre, t->len - pre))
      return perr(ps, t->off, "'%s' belongs to the whole run, not one side; write '%s'", word + pre,
                  word + pre);
  } else {
    const fl_field_info *f = global_field(w, t->len);
    if (f) {
      p->scope = FL_SCOPE_GLOBAL;
      p->field = f;
      return 0;
    }
  }
  field_names fn;
  const char *near = field_suggestion(&fn, word);
  if (near) return perr(ps, t->off, "unknown field '%s'; did you mean '%s'?", word, near);
  return perr(ps, t->off,
              "unknown field '%s'; fields are server.X, client.X, wire.server.X, "
              "wire.client.X or a run field such as outcome (`faultline help fields` lists "
              "them all)",
              word);
}

/* ---- literal for a field ---------------------------------------------------------------- */

static int parse_literal(pstate *ps, const fl_predicate *p, const char *field, const token *t,
                         fl_value *v) {
  fl_value_type type = p->field->type;
  v->type = type;
  v->known = true;
  if (t->kind == TOK_STRING) {
    if (type != FL_VAL_STRING)
      return perr(ps, t->off, "'%s' is %s, not a string", field, type_desc(type));
    v->s = decode_string(ps->text, t);
    if (!v->s) return perr(ps, t->off, "out of memory");
    return 0;
  }
  char word[128];
  if (t->len >= sizeof word) return perr(ps, t->off, "value is too long");
  memcpy(word, ps->text + t->off, t->len);
  word[t->len] = '\0';
  int64_t n = 0;
  int rc;
  switch (type) {
  case FL_VAL_INT:
    if (parse_int(word, &n) == 0) break;
    return perr(ps, t->off, "'%s' is a count; expected an integer like 5, not '%s'", field, word);
  case FL_VAL_DURATION:
    rc = fl_parse_duration(word, &n);
    if (rc == 0) break;
    if (rc == -2) return perr(ps, t->off, "'%s' is out of range for a duration", word);
    if (parse_int(word, &n) == 0)
      return perr(ps, t->off, "'%s' is a duration and '%s' has no unit; write e.g. %sms or %ss",
                  field, word, word, word);
    return perr(ps, t->off, "'%s' is a duration; expected e.g. 250ms, 1.5s or 2m, not '%s'", field,
                word);
  case FL_VAL_SIZE:
    rc = fl_parse_size(word, &n);
    if (rc == 0) break;
    if (rc == -2) return perr(ps, t->off, "'%s' is out of range for a size", word);
    return perr(ps, t->off, "'%s' is a size; expected e.g. 100, 100B, 16KiB or 4MiB, not '%s'",
                field, word);
  case FL_VAL_BOOL:
    if (!strcmp(word, "true"))
      n = 1;
    else if (!strcmp(word, "false"))
      n = 0;
    else {
      static const char *const bools[] = {"true", "false", NULL};
      const char *near = fl_near_miss(word, bools);
      if (near)
        return perr(ps, t->off, "'%s' is true or false, not '%s'; did you mean '%s'?", field, word,
                    near);
      return perr(ps, t->off, "'%s' is true or false, not '%s'", field, word);
    }
    break;
  case FL_VAL_STATUS:
    if (parse_int(word, &n) == 0) {
      if (n < 0 || n >= N_STATUS)
        return perr(ps, t->off, "status codes run from 0 (OK) to 16 (UNAUTHENTICATED), not %s",
                    word);
      break;
    }
    n = fl_status_from_name(word);
    if (n >= 0) break;
    {
      const char *near = fl_near_miss(word, status_names);
      if (near) return perr(ps, t->off, "unknown status '%s'; did you mean '%s'?", word, near);
      return perr(ps, t->off,
                  "'%s' is a status; expected a name like OK or DEADLINE_EXCEEDED or a code "
                  "0..16, not '%s'",
                  field, word);
    }
  case FL_VAL_OUTCOME:
    n = outcome_from_name(word);
    if (n >= 0) break;
    {
      const char *near = fl_near_miss(word, outcome_names);
      if (near) return perr(ps, t->off, "unknown outcome '%s'; did you mean '%s'?", word, near);
      return perr(ps, t->off,
                  "unknown outcome '%s'; expected completed, hang, timeout, crash, "
                  "interrupted or busy",
                  word);
    }
  case FL_VAL_H2CODE: {
    int64_t code = fl_h2_error_from_name(word);
    if (code >= 0) {
      n = code;
      break;
    }
    if (parse_int(word, &n) == 0 && n >= 0 && n <= UINT32_MAX) break;
    static const char *const h2_names[] = {
#define FL_H2_X(e, c) #e,
        FL_H2_ERROR_CODES(FL_H2_X)
#undef FL_H2_X
            NULL};
    const char *near = fl_near_miss(word, h2_names);
    if (near)
      return perr(ps, t->off, "unknown HTTP/2 error code '%s'; did you mean '%s'?", word, near);
    return perr(ps, t->off,
                "'%s' is an HTTP/2 error code; expected a name like NO_ERROR, CANCEL or "
                "INTERNAL_ERROR, or a number, not '%s'",
                field, word);
  }
  case FL_VAL_STRING:
    return perr(ps, t->off, "'%s' is a string; write the value in double quotes: \"%s\"", field,
                word);
  }
  v->i = n;
  return 0;
}

/* ---- parse ------------------------------------------------------------------------------ */

static cmp_op flip(cmp_op op) {
  switch (op) {
  case OP_LT: return OP_GT;
  case OP_LE: return OP_GE;
  case OP_GT: return OP_LT;
  case OP_GE: return OP_LE;
  default: return op;
  }
}

static int bad_operator(pstate *ps, const token *t) {
  char op[16];
  snprintf(op, sizeof op, "%.*s", (int)(t->len < 8 ? t->len : 8), ps->text + t->off);
  static const struct {
    const char *typo, *meant;
  } typos[] = {{"=", "=="},  {"===", "=="}, {"=>", ">="}, {"=<", "<="},
               {"<>", "!="}, {"!", "!="},   {"=!", "!="}};
  for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++)
    if (!strcmp(op, typos[i].typo))
      return perr(ps, t->off, "unknown operator '%s'; did you mean '%s'?", op, typos[i].meant);
  return perr(ps, t->off, "unknown operator '%s'; expected ==, !=, <, <=, > or >=", op);
}

static void describe(const char *text, const token *t, char *buf, size_t len) {
  if (t->len > 40)
    snprintf(buf, len, "%.40s...", text + t->off);
  else
    snprintf(buf, len, "%.*s", (int)t->len, text + t->off);
}

int fl_predicate_parse(const char *text, fl_predicate **out, char *errbuf, size_t errlen,
                       int *errcol) {
  pstate ps = {text ? text : "", errbuf, errlen, errcol};
  token t[4];
  size_t pos = 0;
  char a[64], b[64];
  *out = NULL;

  if (lex(&ps, &pos, &t[0]) < 0) return -1;
  if (t[0].kind == TOK_END)
    return perr(&ps, t[0].off, "empty predicate; expected a comparison like client.recv == 4");
  if (t[0].kind == TOK_OP) {
    describe(ps.text, &t[0], a, sizeof a);
    return perr(&ps, t[0].off, "expected a field like client.status before '%s'", a);
  }
  if (lex(&ps, &pos, &t[1]) < 0) return -1;
  /* The string operators are words. */
  for (int k = N_SYMBOL_OPS; t[1].kind == TOK_WORD && k <= OP_MATCHES; k++) {
    if (strlen(op_text[k]) == t[1].len && !strncmp(ps.text + t[1].off, op_text[k], t[1].len)) {
      t[1].kind = TOK_OP;
      t[1].op = k;
    }
  }
  describe(ps.text, &t[0], a, sizeof a);
  if (t[1].kind == TOK_END)
    return perr(&ps, t[1].off,
                "expected an operator (==, !=, <, <=, >, >=, contains, matches) after '%s'", a);
  if (t[1].kind != TOK_OP) {
    describe(ps.text, &t[1], b, sizeof b);
    return perr(&ps, t[1].off,
                "expected an operator (==, !=, <, <=, >, >=, contains, matches) after '%s', not "
                "'%s'",
                a, b);
  }
  if (t[1].op < 0) return bad_operator(&ps, &t[1]);
  if (lex(&ps, &pos, &t[2]) < 0) return -1;
  describe(ps.text, &t[1], b, sizeof b);
  if (t[2].kind == TOK_END) return perr(&ps, t[2].off, "expected a value after '%s'", b);
  if (t[2].kind == TOK_OP) {
    describe(ps.text, &t[2], a, sizeof a);
    return perr(&ps, t[2].off, "expected a value after '%s', not another operator '%s'", b, a);
  }
  if (lex(&ps, &pos, &t[3]) < 0) return -1;
  if (t[3].kind != TOK_END) {
    describe(ps.text, &t[3], a, sizeof a);
    return perr(&ps, t[3].off,
                "unexpected '%s' after the comparison; a predicate is one comparison", a);
  }

  const token *lhs = &t[0], *rhs = &t[2];
  bool lf = lhs->kind == TOK_WORD && looks_like_field(ps.text + lhs->off, lhs->len);
  bool rf = rhs->kind == TOK_WORD && looks_like_field(ps.text + rhs->off, rhs->len);
  if (lf && rf) {
    describe(ps.text, lhs, a, sizeof a);
    describe(ps.text, rhs, b, sizeof b);
    return perr(&ps, rhs->off,
                "'%s' and '%s' are both fields; compare a field with a value, like "
                "client.recv == 4",
                a, b);
  }
  if (!lf && !rf) {
    /* Neither looks like a field: perhaps a misspelt global one ("outcom == hang"). */
    field_names fn;
    for (int k = 0; k < 2; k++) {
      const token *w = k ? rhs : lhs;
      if (w->kind != TOK_WORD) continue;
      describe(ps.text, w, a, sizeof a);
      const char *near = field_suggestion(&fn, a);
      if (near) return perr(&ps, w->off, "unknown field '%s'; did you mean '%s'?", a, near);
    }
    describe(ps.text, lhs, a, sizeof a);
    describe(ps.text, rhs, b, sizeof b);
    return perr(&ps, lhs->off,
                "neither '%s' nor '%s' is a field; compare a field with a value, like "
                "client.status == OK",
                a, b);
  }
  const token *ft = lf ? lhs : rhs, *lt = lf ? rhs : lhs;

  fl_predicate *p = calloc(1, sizeof *p);
  if (!p) return perr(&ps, 0, "out of memory");
  if (resolve_field(&ps, ft, p) < 0) goto fail;
  p->field_text = strndup(ps.text + ft->off, ft->len);
  if (!p->field_text) {
    perr(&ps, 0, "out of memory");
    goto fail;
  }
  p->op = lf ? (cmp_op)t[1].op : flip((cmp_op)t[1].op);
  fl_value_type type = p->field->type;
  bool string_op = p->op == OP_CONTAINS || p->op == OP_MATCHES;
  if (string_op && type != FL_VAL_STRING) {
    perr(&ps, t[1].off, "'%s' is %s; '%s' takes a string field", p->field_text, type_desc(type),
         op_text[p->op]);
    goto fail;
  }
  if (string_op && !lf) {
    perr(&ps, t[1].off, "write the field first: %s %s \"...\"", p->field_text, op_text[p->op]);
    goto fail;
  }
  if ((type == FL_VAL_BOOL || type == FL_VAL_STRING || type == FL_VAL_STATUS ||
       type == FL_VAL_OUTCOME || type == FL_VAL_H2CODE) &&
      p->op != OP_EQ && p->op != OP_NE && !string_op) {
    perr(&ps, t[1].off, "'%s' is %s; compare it with == or !=%s, not '%s'", p->field_text,
         type_desc(type), type == FL_VAL_STRING ? " (or contains, matches)" : "", op_text[t[1].op]);
    goto fail;
  }
  if (parse_literal(&ps, p, p->field_text, lt, &p->lit) < 0) goto fail;
  if (p->op == OP_MATCHES) {
    int rc = regcomp(&p->regex, p->lit.s, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char why[128];
      regerror(rc, &p->regex, why, sizeof why);
      perr(&ps, lt->off, "bad regular expression: %s", why);
      goto fail;
    }
    p->has_regex = true;
  }
  *out = p;
  return 0;

fail:
  fl_predicate_free(p);
  return -1;
}

void fl_predicate_free(fl_predicate *p) {
  if (!p) return;
  if (p->has_regex) regfree(&p->regex);
  free((char *)p->lit.s);
  free(p->field_text);
  free(p);
}

fl_scope fl_predicate_scope(const fl_predicate *p) { return p->scope; }

const char *fl_predicate_field_text(const fl_predicate *p) { return p->field_text; }

const fl_field_info *fl_predicate_field(const fl_predicate *p) { return p->field; }

/* ---- eval ------------------------------------------------------------------------------- */

bool fl_predicate_eval(const fl_predicate *p, fl_field_lookup lookup, void *ctx, fl_value *seen) {
  fl_value v = {.type = p->field->type, .known = false};
  if (!lookup(ctx, p->scope, p->field, &v)) v.known = false;
  /* The lookup answers for this field; its type is the field's whatever it wrote. */
  v.type = p->field->type;
  if (v.type == FL_VAL_STRING && v.known && !v.s) v.s = "";
  if (seen) *seen = v;
  if (!v.known) return false;

  if (p->op == OP_CONTAINS) return strstr(v.s, p->lit.s) != NULL;
  if (p->op == OP_MATCHES) return regexec(&p->regex, v.s, 0, NULL, 0) == 0;
  int c;
  if (v.type == FL_VAL_STRING) {
    c = strcmp(v.s, p->lit.s);
  } else {
    c = v.i < p->lit.i ? -1 : v.i > p->lit.i;
  }
  switch (p->op) {
  case OP_EQ: return c == 0;
  case OP_NE: return c != 0;
  case OP_LT: return c < 0;
  case OP_LE: return c <= 0;
  case OP_GT: return c > 0;
  case OP_GE: return c >= 0;
  case OP_CONTAINS:
  case OP_MATCHES: break; /* answered above */
  }
  return false;
}

/* ---- format ----------------------------------------------------------------------------- */

static void format_duration(int64_t ns, char *buf, size_t len) {
  const char *sign = ns < 0 ? "-" : "";
  uint64_t a = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
  if (a == 0)
    snprintf(buf, len, "0s");
  else if (a >= 1000000000u)
    snprintf(buf, len, "%s%.2fs", sign, (double)a / 1e9);
  else if (a >= 1000000u && a % 1000000u == 0)
    snprintf(buf, len, "%s%" PRIu64 "ms", sign, a / 1000000u);
  else if (a >= 1000000u)
    snprintf(buf, len, "%s%.2fms", sign, (double)a / 1e6);
  else if (a >= 1000u && a % 1000u == 0)
    snprintf(buf, len, "%s%" PRIu64 "us", sign, a / 1000u);
  else if (a >= 1000u)
    snprintf(buf, len, "%s%.2fus", sign, (double)a / 1e3);
  else
    snprintf(buf, len, "%s%" PRIu64 "ns", sign, a);
}

static void format_size(int64_t b, char *buf, size_t len) {
  static const char *const names[] = {"TiB", "GiB", "MiB", "KiB"};
  for (int k = 0; k < 4; k++) {
    int64_t u = INT64_C(1) << (10 * (4 - k));
    if (b != 0 && b % u == 0) {
      snprintf(buf, len, "%" PRId64 "%s", b / u, names[k]);
      return;
    }
  }
  snprintf(buf, len, "%" PRId64 "B", b);
}

/* Quotes a string the way the predicate language reads it back. */
static void format_string(const char *s, char *buf, size_t len) {
  size_t o = 0;
  if (len < 3) {
    if (len) buf[0] = '\0';
    return;
  }
  buf[o++] = '"';
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    const char *e = NULL;
    if (*p == '"')
      e = "\\\"";
    else if (*p == '\\')
      e = "\\\\";
    else if (*p == '\n')
      e = "\\n";
    else if (*p == '\t')
      e = "\\t";
    else if (*p == '\r')
      e = "\\r";
    else if (*p < 0x20 || *p == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", *p);
      e = esc;
    }
    size_t n = e ? strlen(e) : 1;
    if (o + n + 2 > len) break; /* room for the closing quote and NUL */
    if (e)
      memcpy(buf + o, e, n);
    else
      buf[o] = (char)*p;
    o += n;
  }
  buf[o++] = '"';
  buf[o] = '\0';
}

const char *fl_value_format(const fl_value *v, char *buf, size_t len) {
  if (!buf || !len) return buf;
  if (!v->known) {
    snprintf(buf, len, "(none)");
    return buf;
  }
  switch (v->type) {
  case FL_VAL_INT: snprintf(buf, len, "%" PRId64, v->i); break;
  case FL_VAL_DURATION: format_duration(v->i, buf, len); break;
  case FL_VAL_SIZE: format_size(v->i, buf, len); break;
  case FL_VAL_BOOL: snprintf(buf, len, "%s", v->i ? "true" : "false"); break;
  case FL_VAL_STATUS:
    if (v->i >= 0 && v->i < N_STATUS)
      snprintf(buf, len, "%s", status_names[v->i]);
    else
      snprintf(buf, len, "%" PRId64, v->i);
    break;
  case FL_VAL_STRING: format_string(v->s ? v->s : "", buf, len); break;
  case FL_VAL_OUTCOME: snprintf(buf, len, "%s", fl_outcome_name((fl_outcome)v->i)); break;
  case FL_VAL_H2CODE: {
    const char *name = v->i >= 0 && v->i <= UINT32_MAX ? fl_h2_error_name((uint32_t)v->i) : NULL;
    if (name)
      snprintf(buf, len, "%s", name);
    else
      snprintf(buf, len, "0x%" PRIx64, v->i);
    break;
  }
  }
  return buf;
}
