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
static Google__Protobuf__Struct *typed_struct(builder *b, uint64_t seq) {
  char text[64];
  Google__Protobuf__Struct *s = struct_new(b);
  if (!s) return NULL;

  struct_put(b, s, "seq", value_number(b, (double)seq));
  snprintf(text, sizeof text, "message-%" PRIu64, seq);
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

Google__Protobuf__Struct *fl_payload_struct_new(const fl_payload_spec *spec, uint64_t seq) {
  builder b = {false};
  Google__Protobuf__Struct *s = NULL;
  switch (spec->kind) {
  case FL_PAYLOAD_STRUCT:
    s = typed_struct(&b, seq);
    break;
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

/* A Message carrying the kind's Struct and `size` zero bytes of padding. */
static int encode_struct_message(const fl_payload_spec *spec, uint64_t seq, uint8_t **out,
                                 size_t *len) {
  int rc = 0;
  uint8_t *padding = NULL, *buf = NULL;
  Google__Protobuf__Struct *data = NULL;

  if (spec->size > SIZE_MAX / 2) return -EOVERFLOW;
  if (spec->size > 0 && !(padding = calloc(1, (size_t)spec->size))) return -ENOMEM;
  if (!(data = fl_payload_struct_new(spec, seq))) {
    rc = -ENOMEM;
    goto out;
  }

  Faultline__Message msg = FAULTLINE__MESSAGE__INIT;
  msg.seq = seq;
  msg.data = data;
  msg.padding.len = (size_t)spec->size;
  msg.padding.data = padding;

  size_t n = faultline__message__get_packed_size(&msg);
  if (!(buf = malloc(n ? n : 1))) {
    rc = -ENOMEM;
    goto out;
  }
  faultline__message__pack(&msg, buf);
  *out = buf;
  *len = n;
out:
  fl_payload_struct_free(data);
  free(padding);
  return rc;
}

int fl_payload_encode(const fl_payload_spec *spec, uint64_t seq, uint8_t **out, size_t *len) {
  switch (spec->kind) {
  case FL_PAYLOAD_STRUCT:
    return encode_struct_message(spec, seq, out, len);
  }
  return -EINVAL;
}

void fl_payload_inspect(const uint8_t *buf, size_t len, fl_payload_info *info) {
  memset(info, 0, sizeof *info);
  Faultline__Message *m = faultline__message__unpack(NULL, len, buf);
  if (!m) return;
  info->decoded = true;
  info->seq = m->seq;
  faultline__message__free_unpacked(m, NULL);
}
