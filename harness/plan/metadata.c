#include "metadata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t fl_base64_encode(const uint8_t *in, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < len) v |= in[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
  }
  out[o] = '\0';
  return o;
}

long fl_base64_decode(const char *in, size_t len, uint8_t *out) {
  while (len > 0 && in[len - 1] == '=') len--;
  if (len % 4 == 1) return -1;
  uint32_t acc = 0;
  int bits = 0;
  long o = 0;
  for (size_t i = 0; i < len; i++) {
    const char *p = in[i] ? strchr(alphabet, in[i]) : NULL;
    if (!p) return -1;
    acc = acc << 6 | (uint32_t)(p - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  return o;
}

bool fl_metadata_is_bin(const char *key, size_t len) {
  return len >= 4 && !memcmp(key + len - 4, "-bin", 4);
}

void fl_metadata_text_add(char *text, const char *key, size_t klen, const uint8_t *value,
                          size_t vlen) {
  size_t used = strlen(text);
  const size_t cap = FL_METADATA_TEXT_MAX - 1;
  if (used >= 3 && !strcmp(text + used - 3, "...")) return; /* already cut */
  char *b64 = NULL;
  const char *v = (const char *)value;
  if (fl_metadata_is_bin(key, klen)) {
    if (vlen > FL_METADATA_TEXT_MAX) vlen = FL_METADATA_TEXT_MAX; /* it is cut anyway */
    if (!(b64 = malloc(4 * ((vlen + 2) / 3) + 1))) return;
    vlen = fl_base64_encode(value, vlen, b64);
    v = b64;
  }
  size_t need = (used ? 1 : 0) + klen + 2 + vlen;
  if (used + need > cap) {
    /* Room for "..." is kept: the text says it was cut. */
    size_t room = cap - 3 > used ? cap - 3 - used : 0;
    char line[FL_METADATA_TEXT_MAX];
    int n = snprintf(line, sizeof line, "%s%.*s=%.*s", used ? "\n" : "", (int)klen, key,
                     (int)(vlen < sizeof line ? vlen : sizeof line - 1), v);
    size_t take = n < 0 ? 0 : (size_t)n < room ? (size_t)n : room;
    memcpy(text + used, line, take);
    memcpy(text + used + take, "...", 4);
  } else {
    snprintf(text + used, cap + 1 - used, "%s%.*s=%.*s", used ? "\n" : "", (int)klen, key,
             (int)vlen, v);
  }
  free(b64);
}

/* gRPC's own headers: the transport and C core set them, a script may not. */
static bool reserved(const char *key) {
  return !strncmp(key, "grpc-", 5) || !strcmp(key, "content-type") || !strcmp(key, "te") ||
         !strcmp(key, "user-agent");
}

/* A key as gRPC allows it and a script may set it; `k` is its node, for the message. */
static int check_key(const fl_plan_yaml *y, yaml_node_t *k, const char *key) {
  size_t klen = strlen(key);
  if (klen > FL_METADATA_KEY_MAX)
    return fl_yaml_fail_node(y, k, "metadata key '%.40s...' is longer than %d characters", key,
                             FL_METADATA_KEY_MAX);
  size_t bad = strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-_.");
  if (bad < klen) {
    char shown[8];
    unsigned char ch = (unsigned char)key[bad];
    snprintf(shown, sizeof shown, ch >= 0x20 && ch < 0x7F ? "'%c'" : "\\x%02X", ch);
    return fl_yaml_fail_node(y, k,
                             "metadata key '%s' holds %s; gRPC keys are lowercase letters, "
                             "digits, '-', '_' and '.'",
                             ch >= 0x20 && ch < 0x7F ? key : "...", shown);
  }
  if (reserved(key))
    return fl_yaml_fail_node(y, k, "'%s' is one of gRPC's own headers; a script cannot set it",
                             key);
  return 0;
}

int fl_metadata_parse(const fl_plan_yaml *y, yaml_node_t *n, const char *what,
                      fl_metadata_plan *out) {
  char d[64];
  if (n->type != YAML_MAPPING_NODE)
    return fl_yaml_fail_node(y, n, "'%s' must be a map of metadata like { x-user: alice }, not %s",
                             what, fl_yaml_describe(n, d, sizeof d));
  size_t np = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  if (np > FL_METADATA_MAX_ENTRIES)
    return fl_yaml_fail_node(y, n, "'%s' has %zu entries; at most %d", what, np,
                             FL_METADATA_MAX_ENTRIES);
  out->entries = calloc(np ? np : 1, sizeof *out->entries);
  if (!out->entries) return fl_yaml_fail_node(y, n, "out of memory");
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = fl_yaml_node(y, p->key), *v = fl_yaml_node(y, p->value);
    if (k->type != YAML_SCALAR_NODE || fl_yaml_is_null(k))
      return fl_yaml_fail_node(y, k, "keys in %s must be names, not %s", what,
                               fl_yaml_describe(k, d, sizeof d));
    const char *key = fl_yaml_str(k);
    size_t klen = strlen(key);
    for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
      if (!strcmp(fl_yaml_str(fl_yaml_node(y, q->key)), key))
        return fl_yaml_fail_node(y, k, "duplicate key '%s' in %s (first at line %d)", key, what,
                                 FL_YAML_LINE(fl_yaml_node(y, q->key)));
    if (check_key(y, k, key) < 0) return -1;
    bool bin = fl_metadata_is_bin(key, klen);
    if (v->type != YAML_SCALAR_NODE || fl_yaml_is_null(v))
      return fl_yaml_fail_node(y, v,
                               "metadata '%s' must be a string (\"\" for an empty one), not %s",
                               key, fl_yaml_describe(v, d, sizeof d));
    const char *text = fl_yaml_str(v);
    size_t tlen = strlen(text);
    fl_metadata_entry *e = &out->entries[out->n++];
    if (!(e->key = strdup(key)) || !(e->value = malloc(tlen + 4)))
      return fl_yaml_fail_node(y, v, "out of memory");
    if (bin) {
      long got = fl_base64_decode(text, tlen, e->value);
      if (got < 0)
        return fl_yaml_fail_node(y, v,
                                 "'%s' ends in -bin: its value is binary, written in base64, and "
                                 "%s is not base64",
                                 key, fl_yaml_describe(v, d, sizeof d));
      e->len = (size_t)got;
    } else {
      for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7E)
          return fl_yaml_fail_node(y, v,
                                   "metadata '%s' holds a byte 0x%02X; a value is printable "
                                   "ASCII (binary values need a key ending in -bin, in base64)",
                                   key, (unsigned char)text[i]);
      memcpy(e->value, text, tlen);
      e->len = tlen;
    }
    if (e->len > FL_METADATA_VALUE_MAX)
      return fl_yaml_fail_node(y, v, "metadata '%s' is %zu bytes; at most %d", key, e->len,
                               FL_METADATA_VALUE_MAX);
  }
  return 0;
}

int fl_metadata_deadline_parse(const fl_plan_yaml *y, yaml_node_t *n, char **out) {
  char d[64];
  if (n->type != YAML_SCALAR_NODE || fl_yaml_is_null(n))
    return fl_yaml_fail_node(y, n,
                             "'deadline_metadata' names a metadata key like x-deadline-unix-ms, "
                             "not %s",
                             fl_yaml_describe(n, d, sizeof d));
  const char *key = fl_yaml_str(n);
  if (check_key(y, n, key) < 0) return -1;
  if (fl_metadata_is_bin(key, strlen(key)))
    return fl_yaml_fail_node(y, n,
                             "'%s' ends in -bin, a binary value; the deadline is sent as decimal "
                             "text, so its key must not",
                             key);
  if (!(*out = strdup(key))) return fl_yaml_fail_node(y, n, "out of memory");
  return 0;
}

size_t fl_metadata_deadline_format(int64_t unix_ms, char *out) {
  int n = snprintf(out, FL_METADATA_DEADLINE_TEXT, "%lld", (long long)unix_ms);
  return n < 0 ? 0 : (size_t)n;
}

int fl_metadata_deadline_read(const uint8_t *value, size_t len, int64_t *unix_ms) {
  /* At most 18 digits: far past any date, and no overflow. */
  if (len == 0 || len > 18) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (value[i] < '0' || value[i] > '9') return -1;
    v = v * 10 + (value[i] - '0');
  }
  *unix_ms = v;
  return 0;
}

void fl_metadata_free(fl_metadata_plan *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->entries[i].key);
    free(m->entries[i].value);
  }
  free(m->entries);
  m->entries = NULL;
  m->n = 0;
}
