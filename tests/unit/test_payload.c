/* Unit tests for payload kinds (injectors/payload.h): what each kind encodes, that the
 * malformed ones really break protobuf-c, the receiver's counts and the hash. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "payload.h"

static fl_payload_spec spec_of(fl_payload_kind kind) {
  fl_payload_spec s = {.kind = kind, .depth = 8, .seed = 1};
  return s;
}

/* Encodes and inspects message `seq`; returns the encoded length. */
static size_t roundtrip(const fl_payload_spec *spec, uint64_t seq, fl_payload_info *info,
                        uint64_t *hash) {
  uint8_t *buf = NULL;
  size_t len = 0;
  assert_int_equal(fl_payload_encode(spec, seq, &buf, &len), 0);
  assert_non_null(buf);
  fl_payload_inspect(buf, len, info);
  if (hash) *hash = fl_payload_hash(buf, len);
  free(buf);
  return len;
}

static void test_struct(void **state) {
  (void)state;
  fl_payload_spec spec = spec_of(FL_PAYLOAD_STRUCT);
  fl_payload_info info;
  roundtrip(&spec, 7, &info, NULL);
  assert_true(info.decoded);
  assert_null(info.error);
  assert_int_equal(info.seq, 7);
  /* seq, name, even, nested{depth, label, ok}, list[.., {k}] */
  assert_int_equal(info.fields, 5 + 3 + 1);
  assert_int_equal(info.nulls, 0);
  assert_int_equal(info.depth, 2);

  /* padding adds exactly its bytes plus a tag and a length */
  size_t bare = roundtrip(&spec, 7, &info, NULL);
  spec.size = 16384;
  size_t padded = roundtrip(&spec, 7, &info, NULL);
  assert_int_equal(padded, bare + 16384 + 1 + 3); /* 16384 takes a 3-byte varint */
  assert_true(info.decoded);

  Google__Protobuf__Struct *s = fl_payload_struct_new(&spec, 3);
  assert_non_null(s);
  assert_int_equal(s->n_fields, 5);
  assert_string_equal(s->fields[1]->key, "name");
  assert_string_equal(s->fields[1]->value->string_value, "message-3");
  fl_payload_struct_free(s);
}

static void test_null_values(void **state) {
  (void)state;
  fl_payload_spec spec = spec_of(FL_PAYLOAD_NULL_VALUES);
  fl_payload_info info;
  roundtrip(&spec, 1, &info, NULL);
  assert_true(info.decoded);
  assert_null(info.error);
  assert_int_equal(info.nulls, 5);
  assert_int_equal(info.nulls, fl_payload_nulls(&spec));
  assert_int_equal(info.fields, 10);
  assert_int_equal(info.depth, 3);

  /* Empty Structs and lists survive as empty, not as absent: unpack and look. */
  uint8_t *buf;
  size_t len;
  assert_int_equal(fl_payload_encode(&spec, 1, &buf, &len), 0);
  Faultline__Message *m = faultline__message__unpack(NULL, len, buf);
  assert_non_null(m);
  Google__Protobuf__Struct *d = m->data;
  assert_int_equal(d->n_fields, 6);
  assert_string_equal(d->fields[1]->key, "nothing");
  assert_int_equal(d->fields[1]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
  assert_int_equal(d->fields[2]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
  assert_int_equal(d->fields[2]->value->struct_value->n_fields, 0);
  assert_int_equal(d->fields[3]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
  assert_int_equal(d->fields[3]->value->list_value->n_values, 0);
  Google__Protobuf__ListValue *l = d->fields[4]->value->list_value;
  assert_int_equal(l->n_values, 6);
  assert_int_equal(l->values[0]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
  assert_int_equal(l->values[4]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
  faultline__message__free_unpacked(m, NULL);
  free(buf);

  assert_int_equal(fl_payload_nulls(&(fl_payload_spec){.kind = FL_PAYLOAD_STRUCT}), 0);
}

static void test_nested(void **state) {
  (void)state;
  fl_payload_spec spec = spec_of(FL_PAYLOAD_NESTED);
  fl_payload_info info;
  static const uint32_t depths[] = {1, 2, 32, 200, FL_NESTED_MAX_DEPTH};
  for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
    spec.depth = depths[i];
    roundtrip(&spec, 1, &info, NULL);
    assert_true(info.decoded);
    assert_null(info.error);
    assert_int_equal(info.depth, depths[i]);
    assert_int_equal(info.fields, 2 * depths[i] - 1);
  }
}

static void test_empty(void **state) {
  (void)state;
  fl_payload_spec spec = spec_of(FL_PAYLOAD_EMPTY);
  fl_payload_info info;
  uint64_t h;
  assert_int_equal(roundtrip(&spec, 5, &info, &h), 0);
  assert_true(info.decoded); /* a zero-length Message is a valid Message */
  assert_null(info.error);
  assert_int_equal(info.seq, 0);
  assert_int_equal(info.fields, 0);
  assert_int_equal(info.depth, 0);
  assert_true(h == UINT64_C(0xcbf29ce484222325)); /* FNV-1a of nothing is its offset basis */
}

static void test_bytes(void **state) {
  (void)state;
  fl_payload_spec spec = spec_of(FL_PAYLOAD_BYTES);
  spec.size = 64;
  uint8_t *a, *b, *c;
  size_t la, lb, lc;
  assert_int_equal(fl_payload_encode(&spec, 1, &a, &la), 0);
  assert_int_equal(fl_payload_encode(&spec, 1, &b, &lb), 0);
  assert_int_equal(la, 64);
  assert_memory_equal(a, b, 64); /* the same seed and seq give the same bytes */
  spec.seed = 2;
  assert_int_equal(fl_payload_encode(&spec, 1, &c, &lc), 0);
  assert_memory_not_equal(a, c, 64);
  free(a);
  free(b);
  free(c);
  /* Whatever they are, inspecting them says something definite. */
  for (uint64_t seq = 1; seq <= 50; seq++) {
    fl_payload_info info;
    roundtrip(&spec, seq, &info, NULL);
    assert_true(info.decoded || info.error != NULL);
  }
}

static void test_malformed(void **state) {
  (void)state;
  static const struct {
    fl_defect defect;
    const char *error;
    bool protobuf_c_decodes;
  } cases[] = {
      {FL_DEFECT_BAD_WIRE_TYPE, "bad_wire_type", false},
      {FL_DEFECT_TRUNCATED_VARINT, "truncated_varint", false},
      {FL_DEFECT_LENGTH_PAST_END, "length_past_end", false},
      /* protobuf-c 1.4 does not validate UTF-8: it decodes, and the walk flags it. */
      {FL_DEFECT_INVALID_UTF8, "invalid_utf8", true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (uint64_t size = 0; size <= 20000; size += 20000) {
      fl_payload_spec spec = spec_of(FL_PAYLOAD_MALFORMED);
      spec.defect = cases[i].defect;
      spec.size = size;
      uint8_t *buf;
      size_t len;
      assert_int_equal(fl_payload_encode(&spec, 4, &buf, &len), 0);
      Faultline__Message *m = faultline__message__unpack(NULL, len, buf);
      if (cases[i].protobuf_c_decodes) {
        assert_non_null(m);
        faultline__message__free_unpacked(m, NULL);
      } else if (m) {
        fail_msg("protobuf-c decoded defect %s", cases[i].error);
      }
      fl_payload_info info;
      fl_payload_inspect(buf, len, &info);
      assert_int_equal(info.decoded, cases[i].protobuf_c_decodes);
      assert_non_null(info.error);
      assert_string_equal(info.error, cases[i].error);
      assert_string_equal(fl_payload_check(buf, len), cases[i].error);
      free(buf);
    }
  }
  fl_payload_spec bad = spec_of(FL_PAYLOAD_MALFORMED);
  bad.defect = (fl_defect)99;
  uint8_t *buf = NULL;
  size_t len;
  assert_int_equal(fl_payload_encode(&bad, 1, &buf, &len), -EINVAL);
}

/* The walk names each problem wherever it sits, also inside the Struct. */
static void test_check(void **state) {
  (void)state;
  static const struct {
    const char *bytes;
    size_t len;
    const char *error;
  } cases[] = {
      {"", 0, NULL},
      {"\x08\x01", 2, NULL},
      {"\x08", 1, "truncated_varint"},
      {"\x08\x80", 2, "truncated_varint"},
      {"\x00\x01", 2, "bad_field_number"},
      {"\x0f\x00", 2, "bad_wire_type"},
      {"\x0b\x00", 2, "bad_wire_type"},  /* a group */
      {"\x0a\x01x", 3, "bad_wire_type"}, /* seq (uint64) sent length-delimited */
      {"\x1a\x05xx", 4, "length_past_end"},
      {"\x29\x01\x02", 3, "truncated_fixed"}, /* an unknown fixed64 cut short */
      {"\x2d\x01\x02\x03\x04", 5, NULL},      /* an unknown fixed32 is skipped */
      /* data { fields { key: "\xff" } } */
      {"\x12\x05\x0a\x03\x0a\x01\xff", 7, "invalid_utf8"},
      /* data { fields { value { string_value: "é" } } } */
      {"\x12\x08\x0a\x06\x12\x04\x1a\x02\xc3\xa9", 10, NULL},
      /* data { fields { value: <length past its Struct> } } */
      {"\x12\x04\x0a\x02\x12\x09", 6, "length_past_end"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got = fl_payload_check((const uint8_t *)cases[i].bytes, cases[i].len);
    if ((got == NULL) != (cases[i].error == NULL) || (got && strcmp(got, cases[i].error)))
      fail_msg("case %zu: got %s, want %s", i, got ? got : "(none)",
               cases[i].error ? cases[i].error : "(none)");
  }
  fl_payload_info info;
  fl_payload_inspect((const uint8_t *)"\x12\x05\x0a\x03\x0a\x01\xff", 7, &info);
  assert_true(info.decoded);
  assert_string_equal(info.error, "invalid_utf8");
}

static void test_oversize(void **state) {
  (void)state;
  static const uint64_t limits[] = {
      0,    10,    100,   127,   128,   129,     200,
      1000, 16383, 16384, 16385, 65536, 1048576, FL_DEFAULT_RECV_LIMIT};
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    fl_payload_spec spec = spec_of(FL_PAYLOAD_OVERSIZE);
    spec.limit = limits[i];
    fl_payload_info info;
    size_t len = roundtrip(&spec, 1, &info, NULL);
    assert_true(len > limits[i]);
    /* exactly one byte over once there is room for padding; at most two */
    if (limits[i] >= 200) assert_true(len <= limits[i] + 2);
    if (limits[i] == 1048576 || limits[i] == FL_DEFAULT_RECV_LIMIT)
      assert_int_equal(len, limits[i] + 1);
    assert_true(info.decoded);
  }
}

/* The same spec gives the same bytes: the hash is the check that encoding is stable. */
static void test_hash_stable(void **state) {
  (void)state;
  static const fl_payload_kind kinds[] = {FL_PAYLOAD_STRUCT, FL_PAYLOAD_NULL_VALUES,
                                          FL_PAYLOAD_NESTED, FL_PAYLOAD_BYTES,
                                          FL_PAYLOAD_MALFORMED};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    fl_payload_spec spec = spec_of(kinds[i]);
    spec.size = 100;
    fl_payload_info a, b, other;
    uint64_t ha, hb, hother;
    roundtrip(&spec, 9, &a, &ha);
    roundtrip(&spec, 9, &b, &hb);
    roundtrip(&spec, 10, &other, &hother);
    assert_true(ha == hb);
    assert_true(a.hash == ha);
    assert_true(ha != hother);
  }
  /* FNV-1a 64 test vectors */
  assert_true(fl_payload_hash((const uint8_t *)"a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
  assert_true(fl_payload_hash((const uint8_t *)"foobar", 6) == UINT64_C(0x85944171f73967e8));
  char hex[17];
  assert_string_equal(fl_payload_hash_hex(UINT64_C(0xaf63dc4c8601ec8c), hex), "af63dc4c8601ec8c");
  assert_string_equal(fl_payload_hash_hex(1, hex), "0000000000000001");

  /* The null_values message of seq 1, pinned: the scenario null-values-in-struct expects
   * this hash on both sides, so a change of encoding shows here first. */
  fl_payload_spec spec = spec_of(FL_PAYLOAD_NULL_VALUES);
  uint64_t h;
  fl_payload_info info;
  roundtrip(&spec, 1, &info, &h);
  print_message("null_values seq 1: %s\n", fl_payload_hash_hex(h, hex));
}

static void test_spec_from_step(void **state) {
  (void)state;
  fl_step st = {.kind = FL_STEP_SEND,
                .payload = FL_PAYLOAD_NESTED,
                .size = 5,
                .depth = 9,
                .seed = 3,
                .defect = FL_DEFECT_LENGTH_PAST_END,
                .recv_limit = 77};
  fl_payload_spec spec;
  fl_payload_spec_from_step(&st, &spec);
  assert_int_equal(spec.kind, FL_PAYLOAD_NESTED);
  assert_int_equal(spec.size, 5);
  assert_int_equal(spec.depth, 9);
  assert_int_equal(spec.seed, 3);
  assert_int_equal(spec.defect, FL_DEFECT_LENGTH_PAST_END);
  assert_int_equal(spec.limit, 77);
}

/* proto, hex and file payloads: the step's bytes as they are, the same for every seq; nothing
 * before they are resolved. */
static void test_foreign(void **state) {
  (void)state;
  static const uint8_t bytes[] = {0x0a, 0x03, 'o', '-', '1'};
  fl_foreign_payload f = {.ready = true, .bytes = (uint8_t *)bytes, .len = sizeof bytes};
  fl_step st = {.kind = FL_STEP_SEND, .payload = FL_PAYLOAD_HEX, .foreign = &f};
  fl_payload_spec spec;
  fl_payload_spec_from_step(&st, &spec);
  for (uint64_t seq = 1; seq <= 3; seq++) {
    uint8_t *out;
    size_t len;
    assert_int_equal(fl_payload_encode(&spec, seq, &out, &len), 0);
    assert_int_equal(len, sizeof bytes);
    assert_memory_equal(out, bytes, len);
    free(out);
  }
  assert_int_equal(fl_payload_nulls(&spec), 0);
  f.len = 0; /* an empty one is a zero-length message */
  fl_payload_spec_from_step(&st, &spec);
  uint8_t *out;
  size_t len = 9;
  assert_int_equal(fl_payload_encode(&spec, 1, &out, &len), 0);
  assert_int_equal(len, 0);
  free(out);
  f.ready = false;
  st.payload = FL_PAYLOAD_PROTO;
  fl_payload_spec_from_step(&st, &spec);
  assert_int_equal(fl_payload_encode(&spec, 1, &out, &len), -EINVAL);

  char hex[2 * FL_PAYLOAD_RAW_MAX + 4];
  assert_string_equal(fl_payload_raw_hex(bytes, sizeof bytes, hex), "0a036f2d31");
  assert_string_equal(fl_payload_raw_hex(NULL, 0, hex), "");
  uint8_t many[FL_PAYLOAD_RAW_MAX + 1];
  memset(many, 0xAB, sizeof many);
  fl_payload_raw_hex(many, sizeof many, hex);
  assert_int_equal(strlen(hex), 2 * FL_PAYLOAD_RAW_MAX + 3);
  assert_string_equal(hex + 2 * FL_PAYLOAD_RAW_MAX, "...");
  fl_payload_raw_hex(many, FL_PAYLOAD_RAW_MAX, hex);
  assert_int_equal(strlen(hex), 2 * FL_PAYLOAD_RAW_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_struct),      cmocka_unit_test(test_null_values),
      cmocka_unit_test(test_nested),      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_bytes),       cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_check),       cmocka_unit_test(test_oversize),
      cmocka_unit_test(test_hash_stable), cmocka_unit_test(test_spec_from_step),
      cmocka_unit_test(test_foreign),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
