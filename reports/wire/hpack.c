#include "hpack.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fl_hpack_init(fl_hpack *h) {
  memset(h, 0, sizeof *h);
  return nghttp2_hd_inflate_new(&h->inf) == 0 ? 0 : -1;
}

void fl_hpack_free(fl_hpack *h) {
  if (h->inf) nghttp2_hd_inflate_del(h->inf);
  free(h->hv);
  free(h->arena);
  memset(h, 0, sizeof *h);
}

void fl_hpack_lose(fl_hpack *h, const char *why) {
  if (h->lost) return;
  h->lost = true;
  snprintf(h->why, sizeof h->why, "%s", why);
}

void fl_hpack_table_size(fl_hpack *h, uint32_t size) {
  if (h->lost) return;
  /* Blocks are decoded whole, so the inflater is never inside one here. */
  if (nghttp2_hd_inflate_change_table_size(h->inf, size) != 0)
    fl_hpack_lose(h, "the HPACK table size could not be changed");
}

/* Copies n bytes and a NUL into the arena; returns the copy's offset, or -1. */
static ssize_t keep(fl_hpack *h, const uint8_t *p, size_t n) {
  if (h->arena_len + n + 1 > h->arena_cap) {
    size_t cap = h->arena_cap ? h->arena_cap : 1024;
    while (cap < h->arena_len + n + 1) cap *= 2;
    char *a = realloc(h->arena, cap);
    if (!a) return -1;
    h->arena = a;
    h->arena_cap = cap;
  }
  size_t off = h->arena_len;
  if (n) memcpy(h->arena + off, p, n);
  h->arena[off + n] = '\0';
  h->arena_len += n + 1;
  return (ssize_t)off;
}

int fl_hpack_block(fl_hpack *h, const uint8_t *block, size_t len) {
  static const uint8_t none[1];
  h->n = 0;
  h->arena_len = 0;
  if (h->lost) return 1;
  if (!block) block = none; /* an empty block */
  /* Offsets while the arena may move; pointers once the block is done. */
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    ssize_t rv = nghttp2_hd_inflate_hd2(h->inf, &nv, &flags, block, len, 1);
    if (rv < 0) {
      if (rv == NGHTTP2_ERR_NOMEM) return -1;
      char why[160];
      snprintf(why, sizeof why,
               "HPACK decoding failed (%s): later headers of this direction "
               "are unknown",
               nghttp2_strerror((int)rv));
      fl_hpack_lose(h, why);
      h->n = 0;
      return 1;
    }
    block += rv;
    len -= (size_t)rv;
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        fl_wire_header *v = realloc(h->hv, cap * sizeof *v);
        if (!v) return -1;
        h->hv = v;
        h->cap = cap;
      }
      ssize_t no = keep(h, nv.name, nv.namelen);
      ssize_t vo = no < 0 ? -1 : keep(h, nv.value, nv.valuelen);
      if (vo < 0) return -1;
      h->hv[h->n++] = (fl_wire_header){.name = (const char *)(uintptr_t)no,
                                       .name_len = nv.namelen,
                                       .value = (const char *)(uintptr_t)vo,
                                       .value_len = nv.valuelen};
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(h->inf);
      break;
    }
    if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && len == 0) {
      fl_hpack_lose(h, "HPACK decoding failed (the block ended inside a header field)");
      h->n = 0;
      return 1;
    }
  }
  for (size_t i = 0; i < h->n; i++) {
    h->hv[i].name = h->arena + (uintptr_t)h->hv[i].name;
    h->hv[i].value = h->arena + (uintptr_t)h->hv[i].value;
  }
  return 0;
}
