/*
 * Hand-made captures for the wire tests: a pcap file (nanosecond timestamps) of Ethernet/IPv4
 * (or IPv6, other link layers) TCP segments between a client and a server on loopback, with
 * HTTP/2 frames built byte by byte and header blocks encoded by libnghttp2's HPACK deflater.
 */
#ifndef FL_TEST_WIRE_CRAFT_H
#define FL_TEST_WIRE_CRAFT_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faultline.pb-c.h"
#include "h2.h"

typedef struct {
  uint8_t *p;
  size_t len, cap;
} craft_buf;

__attribute__((noinline)) static void cb_add(craft_buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    b->p = realloc(b->p, cap);
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
}

static inline void cb_u8(craft_buf *b, uint8_t v) { cb_add(b, &v, 1); }
static inline void cb_be16(craft_buf *b, uint16_t v) {
  uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  cb_add(b, x, 2);
}
static inline void cb_be32(craft_buf *b, uint32_t v) {
  uint8_t x[4];
  fl_put_be32(x, v);
  cb_add(b, x, 4);
}
static inline void cb_le32(craft_buf *b, uint32_t v) { cb_add(b, &v, 4); }

/* ---- HTTP/2 ---- */

static inline void h2_frame(craft_buf *b, uint8_t type, uint8_t flags, uint32_t stream,
                            const void *pl, size_t len) {
  fl_h2_frame_header h = {
      .length = (uint32_t)len, .type = type, .flags = flags, .stream_id = stream};
  uint8_t hdr[FL_H2_FRAME_HEADER_LEN];
  fl_h2_header_pack(&h, hdr);
  cb_add(b, hdr, sizeof hdr);
  cb_add(b, pl, len);
}

static inline void h2_settings(craft_buf *b, const uint16_t *ids, const uint32_t *vals, size_t n) {
  craft_buf pl = {0};
  for (size_t i = 0; i < n; i++) {
    cb_be16(&pl, ids[i]);
    cb_be32(&pl, vals[i]);
  }
  h2_frame(b, FL_H2_SETTINGS, 0, 0, pl.p, pl.len);
  free(pl.p);
}

static inline void h2_window_update(craft_buf *b, uint32_t stream, uint32_t inc) {
  uint8_t x[4];
  fl_put_be32(x, inc);
  h2_frame(b, FL_H2_WINDOW_UPDATE, 0, stream, x, 4);
}

static inline void h2_rst(craft_buf *b, uint32_t stream, uint32_t code) {
  uint8_t x[4];
  fl_put_be32(x, code);
  h2_frame(b, FL_H2_RST_STREAM, 0, stream, x, 4);
}

/* A header block: names and values alternate in nv (n pairs). */
static inline size_t hpack_block(nghttp2_hd_deflater *d, const char *const *nv, size_t n,
                                 uint8_t *out, size_t cap) {
  nghttp2_nv v[32];
  for (size_t i = 0; i < n; i++)
    v[i] = (nghttp2_nv){(uint8_t *)nv[2 * i], (uint8_t *)nv[2 * i + 1], strlen(nv[2 * i]),
                        strlen(nv[2 * i + 1]), NGHTTP2_NV_FLAG_NONE};
  ssize_t k = nghttp2_hd_deflate_hd(d, out, cap, v, n);
  return k < 0 ? 0 : (size_t)k;
}

/* A gRPC message: the 5-byte prefix and a faultline.Message {seq, padding}. */
static inline void grpc_message(craft_buf *b, uint64_t seq, size_t padding) {
  Faultline__Message m = FAULTLINE__MESSAGE__INIT;
  m.seq = seq;
  uint8_t *pad = calloc(1, padding ? padding : 1);
  m.padding.data = pad;
  m.padding.len = padding;
  size_t n = faultline__message__get_packed_size(&m);
  uint8_t *body = malloc(n);
  faultline__message__pack(&m, body);
  uint8_t pfx[FL_GRPC_PREFIX_LEN];
  fl_grpc_prefix p = {.compressed = 0, .length = (uint32_t)n};
  fl_grpc_prefix_pack(&p, pfx);
  cb_add(b, pfx, sizeof pfx);
  cb_add(b, body, n);
  free(body);
  free(pad);
}

/* ---- the capture ---- */

#define CRAFT_CLIENT 0
#define CRAFT_SERVER 1
#define CRAFT_FIN 0x01
#define CRAFT_SYN 0x02
#define CRAFT_RST 0x04
#define CRAFT_PSH 0x08
#define CRAFT_ACK 0x10

typedef struct {
  craft_buf file;
  uint32_t snaplen;
  uint32_t linktype;
  bool ipv6;
  uint16_t port[2]; /* client, server */
  uint32_t seq[2];  /* next sequence number each end sends */
  int64_t t_ns;     /* the next packet's time */
  uint64_t packets;
} craft;

static inline void craft_init(craft *c, uint32_t snaplen, uint32_t linktype) {
  memset(c, 0, sizeof *c);
  c->snaplen = snaplen ? snaplen : 262144;
  c->linktype = linktype;
  c->port[0] = 44816;
  c->port[1] = 50051;
  c->seq[0] = 1000;
  c->seq[1] = 5000;
  c->t_ns = 1700000000LL * 1000000000LL;
  cb_le32(&c->file, 0xa1b23c4d); /* nanosecond pcap */
  uint16_t v[2] = {2, 4};
  cb_add(&c->file, v, 4);
  cb_le32(&c->file, 0);
  cb_le32(&c->file, 0);
  cb_le32(&c->file, c->snaplen);
  cb_le32(&c->file, linktype);
}

/* One raw record; keeps min(len, caplen, snaplen) bytes. */
static inline void craft_record(craft *c, const uint8_t *pkt, size_t len, size_t caplen) {
  if (caplen > len) caplen = len;
  if (caplen > c->snaplen) caplen = c->snaplen;
  cb_le32(&c->file, (uint32_t)(c->t_ns / 1000000000));
  cb_le32(&c->file, (uint32_t)(c->t_ns % 1000000000));
  cb_le32(&c->file, (uint32_t)caplen);
  cb_le32(&c->file, (uint32_t)len);
  cb_add(&c->file, pkt, caplen);
  c->packets++;
  c->t_ns += 1000; /* 1 us apart unless the test moves the clock */
}

/* A TCP segment from `from` with sequence number seq (not advancing the end's counter). */
static inline void craft_segment_at(craft *c, int from, uint32_t seq, uint8_t flags,
                                    const void *data, size_t len, size_t caplen) {
  craft_buf p = {0};
  size_t l3 = 0;
  switch (c->linktype) {
  case 1: { /* Ethernet */
    uint8_t mac[12] = {0};
    cb_add(&p, mac, 12);
    cb_be16(&p, c->ipv6 ? 0x86dd : 0x0800);
    break;
  }
  case 0: cb_le32(&p, c->ipv6 ? 30 : 2); break; /* BSD loopback */
  case 113: {                                   /* Linux cooked */
    uint8_t sll[14] = {0, 0, 0, 772 >> 8, 772 & 0xff, 0, 6};
    cb_add(&p, sll, 14);
    cb_be16(&p, c->ipv6 ? 0x86dd : 0x0800);
    break;
  }
  default: break; /* raw IP */
  }
  l3 = p.len;
  size_t tcp_len = 20 + len;
  if (c->ipv6) {
    cb_be32(&p, 0x60000000);
    cb_be16(&p, (uint16_t)tcp_len);
    cb_u8(&p, 6);
    cb_u8(&p, 64);
    uint8_t lo[16] = {0};
    lo[15] = 1;
    cb_add(&p, lo, 16);
    cb_add(&p, lo, 16);
  } else {
    cb_u8(&p, 0x45);
    cb_u8(&p, 0);
    cb_be16(&p, (uint16_t)(20 + tcp_len));
    cb_be16(&p, 0);
    cb_be16(&p, 0x4000);
    cb_u8(&p, 64);
    cb_u8(&p, 6);
    cb_be16(&p, 0);
    uint8_t lo[4] = {127, 0, 0, 1};
    cb_add(&p, lo, 4);
    cb_add(&p, lo, 4);
  }
  cb_be16(&p, c->port[from]);
  cb_be16(&p, c->port[1 - from]);
  cb_be32(&p, seq);
  cb_be32(&p, flags & CRAFT_ACK ? c->seq[1 - from] : 0);
  cb_u8(&p, 5 << 4);
  cb_u8(&p, flags);
  cb_be16(&p, 65535);
  cb_be32(&p, 0);
  cb_add(&p, data, len);
  size_t hdrs = p.len - len;
  (void)l3;
  craft_record(c, p.p, p.len, caplen == (size_t)-1 ? p.len : hdrs + caplen);
  free(p.p);
}

/* A segment at the end's next sequence number, which then advances. */
static inline void craft_send(craft *c, int from, const void *data, size_t len) {
  craft_segment_at(c, from, c->seq[from], CRAFT_ACK | CRAFT_PSH, data, len, (size_t)-1);
  c->seq[from] += (uint32_t)len;
}

/* The same with only `caplen` payload bytes kept (a short snaplen). */
static inline void craft_send_cut(craft *c, int from, const void *data, size_t len, size_t caplen) {
  craft_segment_at(c, from, c->seq[from], CRAFT_ACK | CRAFT_PSH, data, len, caplen);
  c->seq[from] += (uint32_t)len;
}

static inline void craft_handshake(craft *c) {
  craft_segment_at(c, CRAFT_CLIENT, c->seq[0], CRAFT_SYN, NULL, 0, (size_t)-1);
  c->seq[0]++;
  craft_segment_at(c, CRAFT_SERVER, c->seq[1], CRAFT_SYN | CRAFT_ACK, NULL, 0, (size_t)-1);
  c->seq[1]++;
  craft_segment_at(c, CRAFT_CLIENT, c->seq[0], CRAFT_ACK, NULL, 0, (size_t)-1);
}

static inline void craft_fin(craft *c, int from) {
  craft_segment_at(c, from, c->seq[from], CRAFT_FIN | CRAFT_ACK, NULL, 0, (size_t)-1);
  c->seq[from]++;
}

#endif
