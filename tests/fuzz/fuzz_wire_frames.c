/*
 * libFuzzer target: the frame parser and the HTTP/2 semantics behind it. The input is one
 * direction's bytes (first byte: bit 0 picks the direction, the rest seeds how the bytes are
 * cut into TCP segments, some kept short as a small snaplen would); a fixed opening from the
 * other end goes first. The capture is built in memory and decoded with every writer.
 * Seeds: the client's and the server's bytes of small library scenarios (seeds/wire_frames).
 */
#include <stdint.h>

#include "test_wire_craft.h"
#include "wire_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int from = data[0] & 1 ? CRAFT_SERVER : CRAFT_CLIENT;
  uint32_t seed = data[0] * 2654435761u + (uint32_t)size;
  data++;
  size--;
  craft c;
  craft_init(&c, 0, 1);
  craft_handshake(&c);
  craft_buf open = {0};
  if (from == CRAFT_SERVER) {
    /* The client opens streams 1, 3 and 5 with literal headers (no dynamic table). */
    static const uint8_t headers[] = {0x83, 0x86, 0x44, 0x13, '/', 'f', 'a', 'u',
                                      'l',  't',  'l',  'i',  'n', 'e', '.', 'T',
                                      'e',  's',  't',  '/',  'B', 'i', 'd', 'i'};
    cb_add(&open, FL_H2_PREFACE, FL_H2_PREFACE_LEN);
    h2_settings(&open, NULL, NULL, 0);
    for (uint32_t s = 1; s <= 5; s += 2)
      h2_frame(&open, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS, s, headers, sizeof headers);
  } else {
    h2_settings(&open, NULL, NULL, 0);
  }
  craft_send(&c, 1 - from, open.p, open.len);
  free(open.p);
  for (size_t off = 0; off < size;) {
    seed = seed * 1103515245u + 12345u;
    size_t n = 1 + (seed >> 8) % 3000;
    if (n > size - off) n = size - off;
    if ((seed >> 20) % 16 == 0)
      craft_send_cut(&c, from, data + off, n, (seed >> 4) % (n + 1));
    else
      craft_send(&c, from, data + off, n);
    off += n;
  }
  fl_wire_port port = {c.port[1], NULL};
  fl_wire_options opt = {.ports = &port, .n_ports = 1};
  fuzz_decode_pcap(c.file.p, c.file.len, &opt);
  fuzz_decode_pcap(c.file.p, c.file.len, NULL);
  free(c.file.p);
  return 0;
}
