/*
 * libFuzzer target: the HPACK path (reports/wire/hpack.h over libnghttp2's inflater): a
 * sequence of header blocks for one direction, and table size changes between them. Once a
 * block fails, every later block must be refused (the direction stays lost); a decoded block's
 * names and values are NUL-terminated copies of the lengths given.
 * Input: records [kind][len hi lo][len bytes]; kind & 1: a SETTINGS_HEADER_TABLE_SIZE of len.
 * Seeds: header blocks of small library scenarios (seeds/wire_hpack).
 */
#include <stdint.h>
#include <string.h>

#include "hpack.h"

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) __builtin_trap();                                                                 \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fl_hpack h;
  if (fl_hpack_init(&h) != 0) return 0;
  bool lost = false;
  for (size_t i = 0; i + 3 <= size;) {
    uint8_t kind = data[i];
    size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
    i += 3;
    if (kind & 1) {
      fl_hpack_table_size(&h, (uint32_t)len * 16);
      lost = lost || h.lost;
      continue;
    }
    if (len > size - i) len = size - i;
    int rv = fl_hpack_block(&h, data + i, len);
    i += len;
    REQUIRE(rv == 0 || rv == 1);
    if (lost) REQUIRE(rv == 1);
    if (rv == 1) {
      lost = true;
      REQUIRE(h.lost && h.why[0]);
      REQUIRE(h.n == 0);
      continue;
    }
    for (size_t k = 0; k < h.n; k++) {
      REQUIRE(h.hv[k].name[h.hv[k].name_len] == '\0');
      REQUIRE(h.hv[k].value[h.hv[k].value_len] == '\0');
    }
  }
  fl_hpack_free(&h);
  return 0;
}
