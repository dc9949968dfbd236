/*
 * hpack: one direction's header blocks decoded with libnghttp2's HPACK inflater
 * (nghttp2_hd_inflate_*), which keeps the dynamic table across blocks as the peer's encoder
 * does. One fl_hpack per connection and direction.
 *
 * A block that cannot be decoded (the inflater's COMPRESSION error, or bytes the capture does
 * not hold) leaves the dynamic table unknown: the direction is "lost" from then on and every
 * later block is refused with the same reason, never guessed.
 *
 * Errors: fl_hpack_init returns -1 when out of memory. fl_hpack_block returns 0 (decoded),
 * 1 (not decoded: h->why says why) or -1 (out of memory).
 */
#ifndef FL_HPACK_H
#define FL_HPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "wire.h"

typedef struct nghttp2_hd_inflater nghttp2_hd_inflater;

typedef struct {
  nghttp2_hd_inflater *inf;
  bool lost;
  char why[160];
  /* The last block's headers; names and values live in arena. */
  fl_wire_header *hv;
  size_t n, cap;
  char *arena;
  size_t arena_len, arena_cap;
} fl_hpack;

FL_MUST_USE int fl_hpack_init(fl_hpack *h);
void fl_hpack_free(fl_hpack *h);
/* The receiver's SETTINGS_HEADER_TABLE_SIZE: the largest table the encoder may use. */
void fl_hpack_table_size(fl_hpack *h, uint32_t size);
/* Decodes a whole header block into h->hv / h->n (valid until the next call). */
FL_MUST_USE int fl_hpack_block(fl_hpack *h, const uint8_t *block, size_t len);
/* Marks the direction lost (why is kept) without decoding. */
void fl_hpack_lose(fl_hpack *h, const char *why);

#endif
