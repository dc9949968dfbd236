#include "payload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The tree is built node by node and each node is attached as soon as it exists, so on any
 * allocation failure the partial tree is still consistent and protobuf_c_message_free_unpacked
 * can release it. Builders record the failure in `oom` and keep going with NULLs.
 */
typedef struct {
  bool oom;
} builder;

static Google__Protobuf__Value *value_new(builder *b) {
  Google__Protobuf__Value *v = malloc(sizeof *v);
  if (!v) {
    b->oom = true;
    return NULL;
  }
  google__protobuf__value__init(v);
  return v;
}

static Google__Protobuf__Value *value_number(builder *b, double d) {
  Google__Protobuf__Value *v = value_new(b);
  if (v) {
    v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
    v->number_value = d;
  }
  return v;
}

static Google__Protobuf__Value *value_bool(builder *b, bool x) {
  Google__Protobuf__Value *v = value_new(b);
  if (v) {
    v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
    v->bool_value = x;
  }
  return v;
}

static Google__Protobuf__Value *value_null(builder *b) {
  Google__Protobuf__Value *v = value_new(b);
  if (v) {
    /* A oneof member is packed whenever it is the case, so a null (enum value 0) still goes
     * on the wire as field 1 = 0. */
    v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
    v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
  }
  return v;
}

/* Strings are always copied: free_unpacked frees every string that is not the descriptor's
 * default, so a literal must never end up in the tree. */
static Google__Protobuf__Value *value_string(builder *b, const char *s) {
  char *copy = strdup(s);
  if (!copy) {
    b->oom = true;
    return NULL;
  }
  Google__Protobuf__Value *v = value_new(b);
  if (!v) {
    free(copy);
    return NULL;
  }
  v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
  v->string_value = copy;
  return v;
}

static Google__Protobuf__Struct *struct_new(builder *b) {
  Google__Protobuf__Struct *s = malloc(sizeof *s);
  if (!s) {
    b->oom = true;
    return NULL;
  }
  google__protobuf__struct__init(s);
  return s;
}

static Google__Protobuf__Value *value_struct(builder *b, Google__Protobuf__Struct *s) {
  if (!s) return NULL;
  Google__Protobuf__Value *v = value_new(b);
  if (!v) {
    protobuf_c_message_free_unpacked(&s->base, NULL);
    return NULL;
  }
  v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
  v->struct_value = s;
  return v;
}

/* Appends key: v to s, taking v (freed here on failure). */
static void struct_put(builder *b, Google__Protobuf__Struct *s, const char *key,
                       Google__Protobuf__Value *v) {
  if (!s || !v) goto fail;
  Google__Protobuf__Struct__FieldsEntry **fields =
      realloc(s->fields, (s->n_fields + 1) * sizeof *fields);
  if (!fields) goto fail;
  s->fields = fields;
  Google__Protobuf__Struct__FieldsEntry *e = malloc(sizeof *e);
  char *k = strdup(key);
  if (!e || !k) {
    free(e);
    free(k);
    goto fail;
  }
  google__protobuf__struct__fields_entry__init(e);
  e->key = k;
  e->value = v;
  s->fields[s->n_fields++] = e;
  return;
fail:
  b->oom = true;
  if (v) protobuf_c_message_free_unpacked(&v->base, NULL);
}

static Google__Protobuf__Value *value_list(builder *b) {
  Google__Protobuf__ListValue *l = malloc(sizeof *l);
  if (!l) {
    b->oom = true;
    return NULL;
  }
  google__protobuf__list_value__init(l);
  Google__Protobuf__Value *v = value_new(b);
  if (!v) {
    free(l);
    return NULL;
  }
  v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
  v->list_value = l;
  return v;
}

/* Appends x to the list value `list`, taking x. */
static void list_add(builder *b, Google__Protobuf__Value *list, Google__Protobuf__Value *x) {
  if (!list || !x) goto fail;
  Google__Protobuf__ListValue *l = list->list_value;
  Google__Protobuf__Value **values = realloc(l->values, (l->n_values + 1) * sizeof *values);
  if (!values) goto fail;
  l->values = values;
  l->values[l->n_values++] = x;
  return;
fail:
  b->oom = true;
  if (x) protobuf_c_message_free_unpacked(&x->base, NULL);
}

/*
 * FL_PAYLOAD_STRUCT: one field of every Value type, the shape of the seed's
 * map[string]interface{} rows:
 *   { seq: <seq>, name: "message-<seq>", even: <seq is even>,
 *     nested: { depth: 1, label: "inner-<seq>", ok: true },
 *     list: [ <seq>, "item", false, { k: "v" } ] }
 * Fields are kept in this order; protobuf-c encodes them in array order, so the bytes are
 * stable for a given seq.
 */
static Google__Protobuf__Struct *typed_struct(builder *b, uint64_t seq, const char *name_suffix) {
  char text[64];
  Google__Protobuf__Struct *s = struct_new(b);
  if (!s) return NULL;

  struct_put(b, s, "seq", value_number(b, (double)seq));
  snprintf(text, sizeof text, "message-%" PRIu64 "%s", seq, name_suffix);
  struct_put(b, s, "name", value_string(b, text));
  struct_put(b, s, "even", value_bool(b, seq % 2 == 0));

  Google__Protobuf__Struct *inner = struct_new(b);
  struct_put(b, inner, "depth", value_number(b, 1));
  snprintf(text, sizeof text, "inner-%" PRIu64, seq);
  struct_put(b, inner, "label", value_string(b, text));
  struct_put(b, inner, "ok", value_bool(b, true));
  struct_put(b, s, "nested", value_struct(b, inner));

  Google__Protobuf__Value *list = value_list(b);
  list_add(b, list, value_number(b, (double)seq));
  list_add(b, list, value_string(b, "item"));
  list_add(b, list, value_bool(b, false));
  Google__Protobuf__Struct *kv = struct_new(b);
  struct_put(b, kv, "k", value_string(b, "v"));
  list_add(b, list, value_struct(b, kv));
  struct_put(b, s, "list", list);
  return s;
}

/* FL_PAYLOAD_NULL_VALUES: the seed's nil map values, in every place a Struct can hold them
 * (see payload.h for the shape). */
static Google__Protobuf__Struct *null_struct(builder *b, uint64_t seq) {
  Google__Protobuf__Struct *s = struct_new(b);
  if (!s) return NULL;
  struct_put(b, s, "seq", value_number(b, (double)seq));
  struct_put(b, s, "nothing", value_null(b));
  struct_put(b, s, "empty_struct", value_struct(b, struct_new(b)));
  struct_put(b, s, "empty_list", value_list(b));

  Google__Protobuf__Value *list = value_list(b);
  list_add(b, list, value_null(b));
  list_add(b, list, value_number(b, (double)seq));
  list_add(b, list, value_null(b));
  list_add(b, list, value_string(b, "x"));
  list_add(b, list, value_struct(b, struct_new(b)));
  list_add(b, list, value_list(b));
  struct_put(b, s, "list", list);

  Google__Protobuf__Struct *nested = struct_new(b);
  struct_put(b, nested, "a", value_null(b));
  Google__Protobuf__Struct *inner = struct_new(b);
  struct_put(b, inner, "c", value_null(b));
  struct_put(b, nested, "b", value_struct(b, inner));
  struct_put(b, nested, "d", value_list(b));
  struct_put(b, s, "nested", value_struct(b, nested));
  return s;
}
#define NULLS_PER_NULL_STRUCT 5

/* FL_PAYLOAD_NESTED: built from the innermost level out, so that building needs no recursion
 * however deep. */
static Google__Protobuf__Struct *nested_struct(builder *b, uint32_t depth) {
  Google__Protobuf__Struct *inner = NULL;
  for (uint32_t level = depth; level >= 1; level--) {
    Google__Protobuf__Struct *s = struct_new(b);
    struct_put(b, s, "level", value_number(b, level));
    if (inner) struct_put(b, s, "next", value_struct(b, inner));
    inner = s;
    if (!s) break; /* value_struct freed the inner levels */
  }
  return inner;
}

Google__Protobuf__Struct *fl_payload_struct_new(const fl_payload_spec *spec, uint64_t seq) {
  builder b = {false};
  Google__Protobuf__Struct *s = NULL;
  switch (spec->kind) {
  case FL_PAYLOAD_STRUCT:
  case FL_PAYLOAD_OVERSIZE: s = typed_struct(&b, seq, ""); break;
  case FL_PAYLOAD_MALFORMED:
    /* Not UTF-8: 0xC3 opens a two-byte sequence and '(' cannot continue it. */
    s = typed_struct(&b, seq, spec->defect == FL_DEFECT_INVALID_UTF8 ? "-\xC3\x28" : "");
    break;
  case FL_PAYLOAD_NULL_VALUES: s = null_struct(&b, seq); break;
  case FL_PAYLOAD_NESTED: s = nested_struct(&b, spec->depth ? spec->depth : 1); break;
  case FL_PAYLOAD_EMPTY:
  case FL_PAYLOAD_BYTES:
  case FL_PAYLOAD_PROTO:
  case FL_PAYLOAD_HEX:
  case FL_PAYLOAD_FILE: return NULL;
  }
  if (b.oom && s) {
    fl_payload_struct_free(s);
    s = NULL;
  }
  return s;
}

void fl_payload_struct_free(Google__Protobuf__Struct *s) {
  if (s) protobuf_c_message_free_unpacked(&s->base, NULL);
}

uint64_t fl_payload_nulls(const fl_payload_spec *spec) {
  return spec->kind == FL_PAYLOAD_NULL_VALUES ? NULLS_PER_NULL_STRUCT : 0;
}

void fl_payload_spec_from_step(const fl_step *st, fl_payload_spec *spec) {
  memset(spec, 0, sizeof *spec);
  spec->kind = st->payload;
  spec->size = st->size;
  spec->depth = st->depth;
  spec->seed = st->seed;
  spec->defect = st->defect;
  spec->limit = st->recv_limit;
  if (st->foreign && st->foreign->ready) {
    spec->bytes = st->foreign->bytes;
    spec->bytes_len = st->foreign->len;
  }
}

static size_t varint_len(uint64_t x) {
  size_t n = 1;
  for (; x >= 0x80; x >>= 7) n++;
  return n;
}

/* Padding that makes the whole message `target` bytes, given its size without padding. The
 * padding field costs a tag byte and a length varint besides its bytes; when no padding length
 * lands exactly (the varint grows by a byte at a boundary), the next one up does. */
static uint64_t padding_for(size_t base, uint64_t target) {
  if (base + 2 > target) return 0;
  uint64_t room = target - base - 1; /* for the length varint and the bytes */
  for (size_t vl = 1; vl <= 10 && vl < room; vl++)
    if (varint_len(room - vl) == vl) return room - vl;
  return room;
}

/* A Message carrying the kind's Struct and zero bytes of padding: `size` of them, or for
 * oversize as many as it takes to pass the limit. */
static int encode_struct_message(const fl_payload_spec *spec, uint64_t seq, uint8_t **out,
                                 size_t *len) {
  int rc = 0;
  uint8_t *padding = NULL, *buf = NULL;
  Google__Protobuf__Struct *data = NULL;

  if (!(data = fl_payload_struct_new(spec, seq))) return -ENOMEM;
  Faultline__Message msg = FAULTLINE__MESSAGE__INIT;
  msg.seq = seq;
  msg.data = data;
  uint64_t pad = spec->size;
  if (spec->kind == FL_PAYLOAD_OVERSIZE) {
    if (spec->limit > SIZE_MAX / 2) {
      rc = -EOVERFLOW;
      goto out;
    }
    pad = padding_for(faultline__message__get_packed_size(&msg), spec->limit + 1);
  }
  if (pad > SIZE_MAX / 2) {
    rc = -EOVERFLOW;
    goto out;
  }
  if (pad > 0 && !(padding = calloc(1, (size_t)pad))) {
    rc = -ENOMEM;
    goto out;
  }
  msg.padding.len = (size_t)pad;
  msg.padding.data = padding;

  size_t n = faultline__message__get_packed_size(&msg);
  /* The defects are appended: the bytes before them are a well-formed Message, so a
   * receiver's error comes from the defect and nothing else. */
  static const uint8_t bad_wire_type[] = {0x0F, 0x00};
  static const uint8_t truncated_varint[] = {0x08, 0xFF, 0xFF};
  static const uint8_t length_past_end[] = {0x1A, 0x80, 0x01, 'x', 'x', 'x', 'x'};
  const uint8_t *tail = NULL;
  size_t tail_len = 0;
  if (spec->kind == FL_PAYLOAD_MALFORMED) {
    switch (spec->defect) {
    case FL_DEFECT_BAD_WIRE_TYPE:
      tail = bad_wire_type;
      tail_len = sizeof bad_wire_type;
      break;
    case FL_DEFECT_TRUNCATED_VARINT:
      tail = truncated_varint;
      tail_len = sizeof truncated_varint;
      break;
    case FL_DEFECT_LENGTH_PAST_END:
      tail = length_past_end;
      tail_len = sizeof length_past_end;
      break;
    case FL_DEFECT_INVALID_UTF8: break;
    default: rc = -EINVAL; goto out;
    }
  }
  if (!(buf = malloc(n + tail_len ? n + tail_len : 1))) {
    rc = -ENOMEM;
    goto out;
  }
  faultline__message__pack(&msg, buf);
  if (tail_len) memcpy(buf + n, tail, tail_len);
  *out = buf;
  *len = n + tail_len;
out:
  fl_payload_struct_free(data);
  free(padding);
  return rc;
}

/* xorshift64* (Vigna): small, and the same bytes on every platform for a seed. */
static int encode_bytes(const fl_payload_spec *spec, uint64_t seq, uint8_t **out, size_t *len) {
  if (spec->size > SIZE_MAX / 2) return -EOVERFLOW;
  size_t n = (size_t)spec->size;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return -ENOMEM;
  uint64_t x = spec->seed * UINT64_C(0x9E3779B97F4A7C15) ^ (seq + 1) * UINT64_C(0xBF58476D1CE4E5B9);
  if (!x) x = 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    buf[i] = (uint8_t)((x * UINT64_C(0x2545F4914F6CDD1D)) >> 56);
  }
  *out = buf;
  *len = n;
  return 0;
}

int fl_payload_encode(const fl_payload_spec *spec, uint64_t seq, uint8_t **out, size_t *len) {
  switch (spec->kind) {
  case FL_PAYLOAD_STRUCT:
  case FL_PAYLOAD_NULL_VALUES:
  case FL_PAYLOAD_NESTED:
  case FL_PAYLOAD_MALFORMED:
  case FL_PAYLOAD_OVERSIZE: return encode_struct_message(spec, seq, out, len);
  case FL_PAYLOAD_EMPTY:
    if (!(*out = malloc(1))) return -ENOMEM;
    *len = 0;
    return 0;
  case FL_PAYLOAD_BYTES: return encode_bytes(spec, seq, out, len);
  case FL_PAYLOAD_PROTO:
  case FL_PAYLOAD_HEX:
  case FL_PAYLOAD_FILE:
    if (!spec->bytes) return -EINVAL; /* not resolved (fl_scenario_resolve) */
    if (!(*out = malloc(spec->bytes_len ? spec->bytes_len : 1))) return -ENOMEM;
    memcpy(*out, spec->bytes, spec->bytes_len);
    *len = spec->bytes_len;
    return 0;
  }
  return -EINVAL;
}

/* ---- what a receiver sees ------------------------------------------------------------- */

uint64_t fl_payload_hash(const uint8_t *buf, size_t len) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < len; i++) {
    h ^= buf[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

const char *fl_payload_hash_hex(uint64_t h, char hex[17]) {
  snprintf(hex, 17, "%016" PRIx64, h);
  return hex;
}

const char *fl_payload_raw_hex(const uint8_t *buf, size_t len,
                               char out[2 * FL_PAYLOAD_RAW_MAX + 4]) {
  static const char digits[] = "0123456789abcdef";
  size_t n = len < FL_PAYLOAD_RAW_MAX ? len : FL_PAYLOAD_RAW_MAX, o = 0;
  for (size_t i = 0; i < n; i++) {
    out[o++] = digits[buf[i] >> 4];
    out[o++] = digits[buf[i] & 15];
  }
  if (len > n) memcpy(out + o, "...", 3), o += 3;
  out[o] = '\0';
  return out;
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t x = 0;
  for (int shift = 0; shift < 70 && *p < end; shift += 7) {
    uint8_t byte = *(*p)++;
    if (shift < 64) x |= (uint64_t)(byte & 0x7F) << shift;
    if (!(byte & 0x80)) {
      *out = x;
      return true;
    }
  }
  return false; /* ran off the end, or more than 10 bytes */
}

/* RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t k;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      k = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      k = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      k = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i <= k) return false;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += k + 1;
  }
  return true;
}

static bool varint_type(ProtobufCType t) {
  return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 || t == PROTOBUF_C_TYPE_UINT32 ||
         t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_UINT64 ||
         t == PROTOBUF_C_TYPE_BOOL || t == PROTOBUF_C_TYPE_ENUM;
}

static bool fixed64_type(ProtobufCType t) {
  return t == PROTOBUF_C_TYPE_FIXED64 || t == PROTOBUF_C_TYPE_SFIXED64 ||
         t == PROTOBUF_C_TYPE_DOUBLE;
}

static bool fixed32_type(ProtobufCType t) {
  return t == PROTOBUF_C_TYPE_FIXED32 || t == PROTOBUF_C_TYPE_SFIXED32 ||
         t == PROTOBUF_C_TYPE_FLOAT;
}

/* Deeper than any nested payload we build (three message levels per Struct), and shallow
 * enough for the main thread's stack. */
#define MAX_WALK_DEPTH (3 * FL_NESTED_MAX_DEPTH + 8)

/*
 * Walks one message's fields against its descriptor. Unknown fields are skipped by their wire
 * type, as every decoder does; a known field must come with the wire type of its type (or
 * length-delimited, for a packed repeated scalar).
 */
static const char *walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
                        int depth) {
  if (depth > MAX_WALK_DEPTH) return "too_deep";
  const uint8_t *end = p + len;
  while (p < end) {
    uint64_t tag, x;
    if (!read_varint(&p, end, &tag)) return "truncated_varint";
    if (tag >> 3 == 0 || tag >> 3 > 0x1FFFFFFF) return "bad_field_number";
    const ProtobufCFieldDescriptor *f =
        d ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3)) : NULL;
    switch (tag & 7) {
    case 0:
      if (!read_varint(&p, end, &x)) return "truncated_varint";
      if (f && !varint_type(f->type)) return "bad_wire_type";
      break;
    case 1:
      if (end - p < 8) return "truncated_fixed";
      p += 8;
      if (f && !fixed64_type(f->type)) return "bad_wire_type";
      break;
    case 5:
      if (end - p < 4) return "truncated_fixed";
      p += 4;
      if (f && !fixed32_type(f->type)) return "bad_wire_type";
      break;
    case 2:
      if (!read_varint(&p, end, &x)) return "truncated_varint";
      if (x > (uint64_t)(end - p)) return "length_past_end";
      if (f) {
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
          const char *e = walk(f->descriptor, p, (size_t)x, depth + 1);
          if (e) return e;
        } else if (f->type == PROTOBUF_C_TYPE_STRING) {
          if (!utf8_valid(p, (size_t)x)) return "invalid_utf8";
        } else if (f->type != PROTOBUF_C_TYPE_BYTES && f->label != PROTOBUF_C_LABEL_REPEATED) {
          return "bad_wire_type";
        }
      }
      p += x;
      break;
    default:
      /* 3 and 4 are proto2 groups, which faultline.proto has none of; 6 and 7 do not exist. */
      return "bad_wire_type";
    }
  }
  return NULL;
}

const char *fl_payload_check(const uint8_t *buf, size_t len) {
  return walk(&faultline__message__descriptor, buf, len, 0);
}

static void count_struct(const Google__Protobuf__Struct *s, uint32_t depth, fl_payload_info *info);

static void count_value(const Google__Protobuf__Value *v, uint32_t depth, fl_payload_info *info) {
  if (!v) return;
  switch (v->kind_case) {
  case GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE: info->nulls++; break;
  case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
    count_struct(v->struct_value, depth + 1, info);
    break;
  case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
    if (v->list_value)
      for (size_t i = 0; i < v->list_value->n_values; i++)
        count_value(v->list_value->values[i], depth, info);
    break;
  default: break;
  }
}

static void count_struct(const Google__Protobuf__Struct *s, uint32_t depth, fl_payload_info *info) {
  if (!s) return;
  if (depth > info->depth) info->depth = depth;
  info->fields += s->n_fields;
  for (size_t i = 0; i < s->n_fields; i++) count_value(s->fields[i]->value, depth, info);
}

void fl_payload_inspect(const uint8_t *buf, size_t len, fl_payload_info *info) {
  memset(info, 0, sizeof *info);
  info->hash = fl_payload_hash(buf, len);
  /* protobuf-c says only yes or no; the walk names what is wrong, and finds the invalid
   * UTF-8 that protobuf-c accepts. */
  info->error = fl_payload_check(buf, len);
  Faultline__Message *m = faultline__message__unpack(NULL, len, buf);
  if (!m) {
    if (!info->error) info->error = "rejected";
    return;
  }
  info->decoded = true;
  info->seq = m->seq;
  count_struct(m->data, 1, info);
  faultline__message__free_unpacked(m, NULL);
}
