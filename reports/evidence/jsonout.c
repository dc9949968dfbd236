#include "jsonout.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

json_t *fl_json_bytes(const char *s, size_t len, bool *replaced) {
  bool bad = false;
  for (size_t i = 0; i < len;) {
    size_t k = fl_utf8_len(s + i, len - i);
    if (!k) {
      bad = true;
      break;
    }
    i += k;
  }
  if (replaced) *replaced = bad;
  if (!bad) return json_stringn(s, len);
  /* Each bad byte becomes U+FFFD (3 bytes). */
  char *out = malloc(3 * len + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    size_t k = fl_utf8_len(s + i, len - i);
    if (k) {
      memcpy(out + o, s + i, k);
      o += k;
      i += k;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    }
  }
  json_t *j = json_stringn(out, o);
  free(out);
  return j;
}

int fl_json_set(json_t *obj, const char *key, json_t *value) {
  return json_object_set_new(obj, key, value ? value : json_null()) == 0 ? 0 : -1;
}

int fl_json_set_bytes(json_t *obj, const char *key, const char *s, size_t len) {
  if (!s) return fl_json_set(obj, key, json_null());
  if (len == SIZE_MAX) len = strlen(s);
  bool replaced;
  json_t *j = fl_json_bytes(s, len, &replaced);
  if (!j || fl_json_set(obj, key, j) < 0) return -1;
  if (!replaced) return 0;
  static const char digits[] = "0123456789abcdef";
  char *hex = malloc(2 * len + 1);
  if (!hex) return -1;
  for (size_t i = 0; i < len; i++) {
    hex[2 * i] = digits[(unsigned char)s[i] >> 4];
    hex[2 * i + 1] = digits[(unsigned char)s[i] & 15];
  }
  hex[2 * len] = '\0';
  char hex_key[128];
  snprintf(hex_key, sizeof hex_key, "%s_hex", key);
  int rc = fl_json_set(obj, hex_key, json_string(hex));
  free(hex);
  return rc;
}

json_t *fl_json_ms(int64_t ns) {
  /* Rounded to the microsecond so the text stays short and exact to what was measured. */
  return json_real((double)(ns / 1000) / 1000.0);
}

int fl_json_write(FILE *out, const json_t *value, bool pretty, char *err, size_t errlen) {
  size_t flags =
      JSON_REAL_PRECISION(12) | (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER;
  if (json_dumpf(value, out, flags) < 0 || fputc('\n', out) == EOF || ferror(out)) {
    fl_set_err(err, errlen, "%s", errno ? strerror(errno) : "write error");
    return -1;
  }
  return 0;
}
