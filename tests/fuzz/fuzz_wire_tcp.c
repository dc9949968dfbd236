/*
 * libFuzzer target: the TCP reassembler (reports/wire/tcp.h) against an oracle. Every segment
 * carries the bytes of one fixed stream at its offset, so whatever the order, overlaps,
 * retransmissions, cuts, acknowledgements and SYNs, what comes out must be that stream in
 * order: each run of bytes equal to the stream at the position reached, missing runs only
 * moving the position, and the position always the reassembler's next offset.
 * Input: 4 bytes initial sequence number, then 8-byte operations
 *   [kind][offset hi lo][length hi lo][kept hi lo][flags]
 *   kind % 3: 0 a segment (flags & 1: SYN), 1 an acknowledgement of offset, 2 a flush.
 */
#include <stdint.h>
#include <string.h>

#include "tcp.h"

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) __builtin_trap();                                                                 \
  } while (0)

#define STREAM 70000

static uint8_t stream[STREAM];

typedef struct {
  fl_tcp_dir *d;
  int64_t base; /* the stream position of offset 0, once started */
  uint64_t pos;
} oracle;

static int on_bytes(void *user, const uint8_t *p, size_t n, const fl_tcp_stamp *st) {
  oracle *o = user;
  (void)st;
  REQUIRE(o->base >= 0);
  REQUIRE(o->base + o->pos + n <= STREAM);
  REQUIRE(memcmp(p, stream + o->base + o->pos, n) == 0);
  o->pos += n;
  REQUIRE(o->pos == o->d->next);
  return 0;
}

static int on_missing(void *user, uint64_t n, const fl_tcp_stamp *st) {
  oracle *o = user;
  (void)st;
  REQUIRE(n > 0);
  o->pos += n;
  REQUIRE(o->pos == o->d->next);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (stream[1] == 0)
    for (size_t i = 0; i < STREAM; i++) stream[i] = (uint8_t)(i * 7 + (i >> 8) * 13 + 1);
  if (size < 4) return 0;
  uint32_t isn = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | data[2] << 8 | data[3];
  fl_tcp_dir d;
  fl_tcp_dir_init(&d);
  oracle o = {.d = &d, .base = -1};
  fl_tcp_sink k = {.user = &o, .bytes = on_bytes, .missing = on_missing};
  int rc;
  for (size_t i = 4; i + 8 <= size; i += 8) {
    const uint8_t *op = data + i;
    uint32_t off = (uint32_t)op[1] << 8 | op[2];
    uint32_t len = (uint32_t)op[3] << 8 | op[4];
    uint32_t kept = (uint32_t)op[5] << 8 | op[6];
    fl_tcp_stamp st = {i, (int64_t)i};
    switch (op[0] % 3) {
    case 0: {
      bool syn = op[7] & 1;
      if (off + len > STREAM) len = STREAM - off;
      if (kept > len) kept = len;
      if (!d.started) o.base = syn ? 0 : (len ? (int64_t)off : -1);
      fl_tcp_segment s = {.seq = syn ? isn - 1 : isn + off,
                          .syn = syn,
                          .data = stream + off,
                          .caplen = syn ? 0 : kept,
                          .len = syn ? 0 : len,
                          .st = st};
      if (syn) s.seq = isn - 1;
      REQUIRE(fl_tcp_dir_segment(&d, &s, &k, &rc) == 0);
      break;
    }
    case 1: REQUIRE(fl_tcp_dir_acked(&d, isn + off, &st, &k, &rc) == 0); break;
    case 2: REQUIRE(fl_tcp_dir_flush(&d, &k, &rc) == 0); break;
    }
    REQUIRE(o.pos == d.next);
  }
  REQUIRE(fl_tcp_dir_flush(&d, &k, &rc) == 0);
  REQUIRE(d.held == NULL && d.held_bytes == 0);
  fl_tcp_dir_free(&d);
  return 0;
}
