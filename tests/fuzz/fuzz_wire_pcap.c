/*
 * libFuzzer target: a whole capture file (libpcap's reader, link layers, IPv4/IPv6, TCP, the
 * reassembly, framing, HPACK, messages, windows, findings and both writers), with and without
 * a server port. Seeds: small captures of library scenarios (tests/fuzz/seeds/wire_pcap).
 */
#include <stdint.h>

#include "wire_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_decode_pcap(data, size, NULL);
  /* The seeds' server ports come from the run; any port finds the same connections when the
   * capture holds one: take it from the first TCP packet's destination if there is one. */
  static const fl_wire_port ports[] = {{50051, "one"}, {0, "two"}};
  fl_wire_port p[2] = {ports[0], ports[1]};
  if (size >= 24 + 16 + 14 + 20 + 4)
    p[1].port = (uint16_t)(data[24 + 16 + 14 + 20 + 2] << 8 | data[24 + 16 + 14 + 20 + 3]);
  fl_wire_options opt = {.ports = p, .n_ports = 2};
  fuzz_decode_pcap(data, size, &opt);
  return 0;
}
