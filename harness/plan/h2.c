#include "h2.h"

#include <string.h>

void fl_h2_header_parse(const uint8_t b[FL_H2_FRAME_HEADER_LEN], fl_h2_frame_header *h) {
  h->length = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
  h->type = b[3];
  h->flags = b[4];
  h->stream_id = fl_be32(b + 5) & FL_H2_STREAM_ID_MASK;
}

void fl_h2_header_pack(const fl_h2_frame_header *h, uint8_t b[FL_H2_FRAME_HEADER_LEN]) {
  b[0] = (uint8_t)(h->length >> 16);
  b[1] = (uint8_t)(h->length >> 8);
  b[2] = (uint8_t)h->length;
  b[3] = h->type;
  b[4] = h->flags;
  fl_put_be32(b + 5, h->stream_id & FL_H2_STREAM_ID_MASK);
}

const char *fl_h2_frame_type_name(unsigned type) {
  switch (type) {
#define FL_H2_X(e, code, name)                                                                     \
  case code: return name;
    FL_H2_FRAME_TYPES(FL_H2_X)
#undef FL_H2_X
  }
  return NULL;
}

int fl_h2_frame_type_from_name(const char *name) {
#define FL_H2_X(e, code, n)                                                                        \
  if (!strcmp(name, n)) return code;
  FL_H2_FRAME_TYPES(FL_H2_X)
#undef FL_H2_X
  return -1;
}

const char *fl_h2_error_name(uint32_t code) {
  switch (code) {
#define FL_H2_X(e, c)                                                                              \
  case c: return #e;
    FL_H2_ERROR_CODES(FL_H2_X)
#undef FL_H2_X
  }
  return NULL;
}

int64_t fl_h2_error_from_name(const char *name) {
#define FL_H2_X(e, c)                                                                              \
  if (!strcmp(name, #e)) return c;
  FL_H2_ERROR_CODES(FL_H2_X)
#undef FL_H2_X
  return -1;
}

const char *fl_h2_setting_name(uint16_t id) {
  switch (id) {
#define FL_H2_X(e, i)                                                                              \
  case i: return #e;
    FL_H2_SETTINGS(FL_H2_X)
#undef FL_H2_X
  }
  return NULL;
}

int fl_h2_setting_from_name(const char *name) {
#define FL_H2_X(e, i)                                                                              \
  if (!strcmp(name, #e)) return i;
  FL_H2_SETTINGS(FL_H2_X)
#undef FL_H2_X
  return -1;
}

void fl_grpc_prefix_parse(const uint8_t b[FL_GRPC_PREFIX_LEN], fl_grpc_prefix *p) {
  p->compressed = b[0];
  p->length = fl_be32(b + 1);
}

void fl_grpc_prefix_pack(const fl_grpc_prefix *p, uint8_t b[FL_GRPC_PREFIX_LEN]) {
  b[0] = p->compressed;
  fl_put_be32(b + 1, p->length);
}
