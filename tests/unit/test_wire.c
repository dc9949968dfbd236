/* Unit tests for the frame decoder (reports/wire): hand-made captures written to pcap files,
 * read back by fl_wire_decode_file, every frame and window checked. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "findings.h"
#include "ladder.h"
#include "test_wire_craft.h"
#include "wire.h"

#define MAX_REC 256

/* What the visitor saw, copied. */
typedef struct {
  uint64_t index, packet, conn_frame;
  int64_t ts_ns;
  fl_wire_side from;
  fl_h2_frame_header h;
  uint32_t pad_len, missing;
  bool block_end, headers_decoded, trailers, end_stream;
  uint32_t block_frames;
  char headers[512]; /* "name: value\n"... */
  int grpc_status;
  char grpc_message[128];
  int64_t grpc_timeout_ns;
  bool has_priority;
  uint32_t depends_on;
  uint16_t weight;
  uint32_t error_code, increment, last_stream_id;
  size_t n_messages;
  fl_wire_message msg[4];
  size_t n_windows;
  fl_wire_window win[8];
  size_t n_settings;
  char problem[128];
  fl_wire_mark_kind mark;
} rec;

typedef struct {
  rec f[MAX_REC];
  size_t n;
  fl_wire_notice_kind notes[32];
  char note_text[32][256];
  size_t n_notes;
  unsigned conns;
  fl_wire_findings *findings;
} seen;

static int on_conn(void *user, const fl_wire_conn *c) {
  seen *s = user;
  s->conns++;
  assert_int_equal(c->conn, s->conns);
  return 0;
}

static int on_frame(void *user, const fl_wire_frame *f) {
  seen *s = user;
  assert_true(s->n < MAX_REC);
  rec *r = &s->f[s->n++];
  memset(r, 0, sizeof *r);
  r->index = f->index;
  r->packet = f->packet;
  r->conn_frame = f->conn_frame;
  r->ts_ns = f->ts_ns;
  r->from = f->from;
  r->h = f->h;
  r->pad_len = f->pad_len;
  r->missing = f->missing;
  r->block_end = f->block_end;
  r->headers_decoded = f->headers_decoded;
  r->trailers = f->trailers;
  r->end_stream = f->end_stream;
  r->block_frames = f->block_frames;
  size_t o = 0;
  for (size_t i = 0; i < f->n_headers; i++)
    o += (size_t)snprintf(r->headers + o, sizeof r->headers - o, "%s: %s\n", f->headers[i].name,
                          f->headers[i].value);
  r->grpc_status = f->grpc_status;
  if (f->grpc_message)
    snprintf(r->grpc_message, sizeof r->grpc_message, "%.*s", (int)f->grpc_message_len,
             f->grpc_message);
  r->grpc_timeout_ns = f->grpc_timeout_ns;
  r->has_priority = f->has_priority;
  r->depends_on = f->depends_on;
  r->weight = f->weight;
  r->error_code = f->error_code;
  r->increment = f->increment;
  r->last_stream_id = f->last_stream_id;
  r->n_messages = f->n_messages;
  for (size_t i = 0; i < f->n_messages && i < 4; i++) r->msg[i] = f->messages[i];
  r->n_windows = f->n_windows;
  for (size_t i = 0; i < f->n_windows && i < 8; i++) r->win[i] = f->windows[i];
  r->n_settings = f->n_settings;
  if (f->problem) snprintf(r->problem, sizeof r->problem, "%s", f->problem);
  r->mark = f->mark;
  if (s->findings) fl_wire_findings_frame(s->findings, f);
  return 0;
}

static int on_notice(void *user, const fl_wire_notice *n) {
  seen *s = user;
  assert_true(s->n_notes < 32);
  s->notes[s->n_notes] = n->kind;
  snprintf(s->note_text[s->n_notes], sizeof s->note_text[0], "%s", n->text);
  s->n_notes++;
  if (s->findings) fl_wire_findings_notice(s->findings, n);
  return 0;
}

/* Writes the capture to a file and decodes it with the server port given (or not). */
static void decode(craft *c, bool with_port, const fl_wire_mark *marks, size_t n_marks, seen *s,
                   fl_wire_stats *st) {
  char path[] = "/tmp/test_wire_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, c->file.p, c->file.len), (ssize_t)c->file.len);
  close(fd);
  fl_wire_port port = {.port = c->port[1], .leg = NULL};
  fl_wire_options opt = {.ports = with_port ? &port : NULL,
                         .n_ports = with_port ? 1 : 0,
                         .marks = marks,
                         .n_marks = n_marks};
  fl_wire_visitor v = {.user = s, .connection = on_conn, .frame = on_frame, .notice = on_notice};
  char err[256];
  int rv = fl_wire_decode_file(path, &opt, &v, st, err, sizeof err);
  /* TEST_WIRE_KEEP=1 keeps the capture for a look with faultline decode or tshark. */
  if (getenv("TEST_WIRE_KEEP"))
    fprintf(stderr, "capture kept: %s\n", path);
  else
    unlink(path);
  if (rv != 0) fail_msg("decode failed: %s", err);
}

static const char *const request[] = {":method",      "POST",
                                      ":scheme",      "http",
                                      ":path",        "/faultline.Test/Bidi",
                                      ":authority",   "x",
                                      "content-type", "application/grpc",
                                      "grpc-timeout", "3S"};
static const char *const response[] = {":status", "200", "content-type", "application/grpc"};

/* Preface and SETTINGS both ways, and stream 1 opened; returns the client's deflater. */
static nghttp2_hd_deflater *open_call(craft *c, uint32_t server_initial_window) {
  craft_handshake(c);
  craft_buf b = {0};
  uint16_t id = FL_H2_SETTINGS_INITIAL_WINDOW_SIZE;
  h2_settings(&b, &id, &server_initial_window, 1);
  craft_send(c, CRAFT_SERVER, b.p, b.len);
  b.len = 0;
  cb_add(&b, FL_H2_PREFACE, FL_H2_PREFACE_LEN);
  h2_settings(&b, NULL, NULL, 0);
  nghttp2_hd_deflater *d;
  assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
  uint8_t blk[512];
  size_t n = hpack_block(d, request, 6, blk, sizeof blk);
  h2_frame(&b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS, 1, blk, n);
  craft_send(c, CRAFT_CLIENT, b.p, b.len);
  free(b.p);
  return d;
}

static void test_frames_split_across_segments(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 65535);
  craft_buf b = {0};
  craft_buf m = {0};
  grpc_message(&m, 7, 3000);
  h2_frame(&b, FL_H2_DATA, 0, 1, m.p, m.len);
  /* Cut inside the frame header, inside the gRPC prefix, and inside the body. */
  craft_send(&c, CRAFT_CLIENT, b.p, 4);
  craft_send(&c, CRAFT_CLIENT, b.p + 4, 8);
  craft_send(&c, CRAFT_CLIENT, b.p + 12, 1000);
  uint64_t last = c.packets + 1;
  craft_send(&c, CRAFT_CLIENT, b.p + 1012, b.len - 1012);
  seen s = {0};
  fl_wire_stats st;
  decode(&c, true, NULL, 0, &s, &st);
  assert_int_equal(s.conns, 1);
  assert_int_equal(s.n, 4); /* SETTINGS, SETTINGS, HEADERS, DATA */
  rec *r = &s.f[3];
  assert_int_equal(r->h.type, FL_H2_DATA);
  assert_int_equal(r->packet, last);
  assert_int_equal(r->h.length, m.len);
  assert_int_equal(r->n_messages, 1);
  assert_true(r->msg[0].starts && r->msg[0].ends);
  assert_int_equal(r->msg[0].state, FL_WIRE_MSG_DECODED);
  assert_true(r->msg[0].has_seq);
  assert_int_equal(r->msg[0].seq, 7);
  assert_int_equal(r->msg[0].length, m.len - 5);
  /* The client's stream and connection windows went down by the frame's length. */
  assert_int_equal(r->n_windows, 2);
  assert_int_equal(r->win[0].stream_id, 0);
  assert_int_equal(r->win[0].window, 65535 - (int64_t)m.len);
  assert_int_equal(r->win[1].stream_id, 1);
  assert_int_equal(r->win[1].owner, FL_WIRE_CLIENT);
  assert_int_equal(st.frames, 4);
  assert_int_equal(st.frames_by_type[FL_H2_DATA], 1);
  free(b.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_many_frames_in_one_segment(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 65535);
  craft_buf b = {0};
  uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  h2_frame(&b, FL_H2_PING, 0, 0, ping, 8);
  h2_window_update(&b, 0, 1000);
  craft_buf m = {0};
  grpc_message(&m, 1, 10);
  grpc_message(&m, 2, 10);
  grpc_message(&m, 3, 10);
  h2_frame(&b, FL_H2_DATA, 0, 1, m.p, m.len);
  h2_frame(&b, FL_H2_DATA, FL_H2_FLAG_END_STREAM, 1, NULL, 0);
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  seen s = {0};
  decode(&c, true, NULL, 0, &s, NULL);
  assert_int_equal(s.n, 7);
  for (size_t i = 3; i < 7; i++) {
    assert_int_equal(s.f[i].packet, s.f[3].packet);
    assert_int_equal(s.f[i].from, FL_WIRE_CLIENT);
  }
  /* conn_frame counts the client's frames: SETTINGS, HEADERS, then these. */
  assert_int_equal(s.f[3].conn_frame, 3);
  assert_int_equal(s.f[6].conn_frame, 6);
  assert_int_equal(s.f[3].h.type, FL_H2_PING);
  assert_int_equal(s.f[4].increment, 1000);
  assert_int_equal(s.f[5].n_messages, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(s.f[5].msg[i].ordinal, i + 1);
    assert_int_equal(s.f[5].msg[i].seq, i + 1);
  }
  assert_true(s.f[6].end_stream);
  assert_int_equal(s.f[6].n_windows, 0); /* an empty DATA changes no window */
  free(b.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

/* gRPC messages across DATA frames: a prefix cut between two frames, a message over three
 * frames, two in one frame, a compressed one and one that is not a faultline.Message. */
static void test_messages_across_frames(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 1 << 20);
  craft_buf m = {0}, b = {0};
  grpc_message(&m, 3, 100); /* msg 1 */
  size_t len1 = m.len;
  grpc_message(&m, 4, 5000); /* msg 2 */
  grpc_message(&m, 5, 10);   /* msg 3 */
  /* compressed: prefix flag 1 */
  uint8_t comp[5 + 4] = {1, 0, 0, 0, 4, 'a', 'b', 'c', 'd'};
  cb_add(&m, comp, sizeof comp);
  /* not a Message: field 1 with wire type 7 */
  uint8_t bad[5 + 2] = {0, 0, 0, 0, 2, 0x0f, 0x00};
  cb_add(&m, bad, sizeof bad);
  size_t cuts[] = {3, 2000, 4000, m.len};
  size_t at = 0;
  for (size_t i = 0; i < 4; i++) {
    h2_frame(&b, FL_H2_DATA, 0, 1, m.p + at, cuts[i] - at);
    at = cuts[i];
  }
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  seen s = {0};
  decode(&c, true, NULL, 0, &s, NULL);
  assert_int_equal(s.n, 7);
  rec *f = &s.f[3];
  assert_int_equal(f->n_messages, 1);
  assert_false(f->msg[0].has_prefix); /* 3 of its 5 prefix bytes */
  assert_true(f->msg[0].starts);
  f = &s.f[4]; /* the rest of msg 1, and msg 2 begins */
  assert_int_equal(f->n_messages, 2);
  assert_int_equal(f->msg[0].ordinal, 1);
  assert_true(f->msg[0].ends);
  assert_int_equal(f->msg[0].seq, 3);
  assert_int_equal(f->msg[1].ordinal, 2);
  assert_true(f->msg[1].starts);
  assert_false(f->msg[1].ends);
  f = &s.f[5]; /* msg 2 continues */
  assert_int_equal(f->n_messages, 1);
  assert_false(f->msg[0].starts || f->msg[0].ends);
  assert_int_equal(f->msg[0].offset, 2000 - len1 - 5);
  f = &s.f[6]; /* msg 2 ends, msg 3, the compressed one, the bad one */
  assert_int_equal(f->n_messages, 4);
  assert_int_equal(f->msg[0].seq, 4);
  assert_int_equal(f->msg[0].state, FL_WIRE_MSG_DECODED);
  assert_int_equal(f->msg[1].seq, 5);
  assert_int_equal(f->msg[2].state, FL_WIRE_MSG_COMPRESSED);
  assert_int_equal(f->msg[2].compressed, 1);
  assert_int_equal(f->msg[3].state, FL_WIRE_MSG_INVALID);
  assert_non_null(strstr(f->msg[3].problem, "wire type"));
  free(m.p);
  free(b.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_padding_and_priority(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  craft_handshake(&c);
  craft_buf b = {0};
  cb_add(&b, FL_H2_PREFACE, FL_H2_PREFACE_LEN);
  nghttp2_hd_deflater *d;
  assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
  uint8_t blk[512];
  size_t n = hpack_block(d, request, 6, blk, sizeof blk);
  /* HEADERS, PADDED (pad 7) and PRIORITY (depends on 0, exclusive, weight 16). */
  craft_buf pl = {0};
  cb_u8(&pl, 7);
  cb_be32(&pl, 0x80000000u);
  cb_u8(&pl, 15);
  cb_add(&pl, blk, n);
  uint8_t zeros[16] = {0};
  cb_add(&pl, zeros, 7);
  h2_frame(&b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS | FL_H2_FLAG_PADDED | FL_H2_FLAG_PRIORITY, 1,
           pl.p, pl.len);
  /* DATA, PADDED (pad 10), with one message. */
  craft_buf m = {0};
  grpc_message(&m, 42, 100);
  pl.len = 0;
  cb_u8(&pl, 10);
  cb_add(&pl, m.p, m.len);
  cb_add(&pl, zeros, 10);
  h2_frame(&b, FL_H2_DATA, FL_H2_FLAG_PADDED, 1, pl.p, pl.len);
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  seen s = {0};
  decode(&c, true, NULL, 0, &s, NULL);
  assert_int_equal(s.n, 2);
  rec *h = &s.f[0];
  assert_true(h->headers_decoded);
  assert_int_equal(h->pad_len, 7);
  assert_true(h->has_priority);
  assert_int_equal(h->weight, 16);
  assert_non_null(strstr(h->headers, ":path: /faultline.Test/Bidi\n"));
  assert_int_equal(h->grpc_timeout_ns, 3000000000LL);
  rec *r = &s.f[1];
  assert_int_equal(r->pad_len, 10);
  assert_int_equal(r->n_messages, 1);
  assert_int_equal(r->msg[0].seq, 42);
  assert_int_equal(r->msg[0].bytes, m.len - 5);
  /* Flow control counts the whole payload, padding and pad length included. */
  assert_int_equal(r->win[0].delta, -(int64_t)(m.len + 11));
  free(b.p);
  free(pl.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_continuation(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  craft_handshake(&c);
  craft_buf b = {0};
  cb_add(&b, FL_H2_PREFACE, FL_H2_PREFACE_LEN);
  nghttp2_hd_deflater *d;
  assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
  uint8_t blk[512];
  size_t n = hpack_block(d, request, 6, blk, sizeof blk);
  size_t a = n / 3, m2 = 2 * n / 3;
  h2_frame(&b, FL_H2_HEADERS, 0, 1, blk, a);
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  b.len = 0;
  h2_frame(&b, FL_H2_CONTINUATION, 0, 1, blk + a, m2 - a);
  h2_frame(&b, FL_H2_CONTINUATION, FL_H2_FLAG_END_HEADERS, 1, blk + m2, n - m2);
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  seen s = {0};
  decode(&c, true, NULL, 0, &s, NULL);
  assert_int_equal(s.n, 3);
  assert_false(s.f[0].block_end);
  assert_false(s.f[1].block_end);
  assert_true(s.f[2].block_end);
  assert_int_equal(s.f[2].block_frames, 3);
  assert_true(s.f[2].headers_decoded);
  assert_non_null(strstr(s.f[2].headers, ":method: POST\n"));
  assert_non_null(strstr(s.f[2].headers, "grpc-timeout: 3S\n"));
  /* The stream opened at the end of its block. */
  assert_int_equal(s.f[2].n_windows, 2);
  assert_int_equal(s.f[2].win[0].cause, FL_WIRE_WIN_OPEN);
  free(b.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_retransmission_and_out_of_order(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 65535);
  craft_buf b = {0}, m = {0};
  for (uint64_t i = 1; i <= 3; i++) {
    m.len = 0;
    grpc_message(&m, i, 200);
    h2_frame(&b, FL_H2_DATA, 0, 1, m.p, m.len);
  }
  size_t third = b.len / 3;
  uint32_t s0 = c.seq[CRAFT_CLIENT];
  /* Segment 1, then 3, then 2, then 2 again and 1 again (retransmissions). */
  craft_segment_at(&c, CRAFT_CLIENT, s0, CRAFT_ACK, b.p, third, (size_t)-1);
  craft_segment_at(&c, CRAFT_CLIENT, s0 + 2 * (uint32_t)third, CRAFT_ACK, b.p + 2 * third,
                   b.len - 2 * third, (size_t)-1);
  uint64_t filler = c.packets + 1;
  craft_segment_at(&c, CRAFT_CLIENT, s0 + (uint32_t)third, CRAFT_ACK, b.p + third, third,
                   (size_t)-1);
  craft_segment_at(&c, CRAFT_CLIENT, s0 + (uint32_t)third, CRAFT_ACK, b.p + third, third,
                   (size_t)-1);
  craft_segment_at(&c, CRAFT_CLIENT, s0, CRAFT_ACK, b.p, third + 10, (size_t)-1);
  c.seq[CRAFT_CLIENT] += (uint32_t)b.len;
  seen s = {0};
  fl_wire_stats st;
  decode(&c, true, NULL, 0, &s, &st);
  assert_int_equal(s.n, 6); /* 3 before, 3 DATA, each once */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(s.f[3 + i].h.type, FL_H2_DATA);
    assert_int_equal(s.f[3 + i].msg[0].seq, i + 1);
    assert_int_equal(s.f[3 + i].msg[0].state, FL_WIRE_MSG_DECODED);
  }
  /* The frames held behind the gap complete with the segment that filled it. */
  assert_int_equal(s.f[5].packet, filler);
  assert_int_equal(st.segments_out_of_order, 1);
  assert_int_equal(st.bytes_retransmitted, third + third + 10);
  assert_int_equal(st.bytes_missing, 0);
  free(b.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_capture_cut_mid_frame(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 65535);
  craft_buf b = {0}, m = {0};
  grpc_message(&m, 1, 5000);
  h2_frame(&b, FL_H2_DATA, 0, 1, m.p, m.len);
  craft_send(&c, CRAFT_CLIENT, b.p, 2000); /* and the capture stops */
  seen s = {0};
  decode(&c, true, NULL, 0, &s, NULL);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.n_notes, 1);
  assert_int_equal(s.notes[0], FL_WIRE_NOTE_CUT);
  assert_non_null(strstr(s.note_text[0], "inside a data frame on stream 1 (2000 of"));
  free(b.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_snaplen_shorter_than_packets(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 1 << 20);
  craft_buf b = {0}, m = {0};
  /* DATA frames of one message each, one segment per frame, of which only the first 200 bytes
   * are kept: the missing bytes fall inside the padding, so seq is still decoded. */
  grpc_message(&m, 5, 3000);
  h2_frame(&b, FL_H2_DATA, 0, 1, m.p, m.len);
  size_t one = b.len;
  craft_send_cut(&c, CRAFT_CLIENT, b.p, one, 200);
  craft_send_cut(&c, CRAFT_CLIENT, b.p, one, 200);
  /* Cut inside seq itself (header, prefix, tag): the message is MISSING, without seq. */
  craft_send_cut(&c, CRAFT_CLIENT, b.p, one, 9 + 5 + 1);
  /* A segment of two frames whose second header lies beyond the snaplen: the framing is lost. */
  uint8_t *two = malloc(2 * one);
  memcpy(two, b.p, one);
  memcpy(two + one, b.p, one);
  craft_send_cut(&c, CRAFT_CLIENT, two, 2 * one, 200);
  /* A later segment that begins with frame headers: the framing resumes. */
  craft_buf w = {0};
  h2_window_update(&w, 0, 77);
  h2_rst(&w, 1, 8);
  craft_send(&c, CRAFT_CLIENT, w.p, w.len);
  seen s = {0};
  fl_wire_stats st;
  decode(&c, true, NULL, 0, &s, &st);
  assert_int_equal(st.packets_truncated, 4);
  for (int i = 0; i < 2; i++) {
    rec *r = &s.f[3 + i];
    assert_int_equal(r->h.type, FL_H2_DATA);
    assert_int_equal(r->missing, one - 200);
    assert_int_equal(r->msg[0].ordinal, i + 1);
    assert_true(r->msg[0].ends);
    assert_int_equal(r->msg[0].state, FL_WIRE_MSG_DECODED);
    assert_int_equal(r->msg[0].seq, 5);
  }
  rec *r = &s.f[5];
  assert_int_equal(r->missing, one - 15);
  assert_int_equal(r->msg[0].state, FL_WIRE_MSG_MISSING);
  assert_false(r->msg[0].has_seq);
  /* The fourth segment's first frame is whole in length (its bytes partly missing). */
  assert_int_equal(s.f[6].h.type, FL_H2_DATA);
  assert_int_equal(s.f[6].missing, one - 200);
  bool lost = false, resumed = false;
  for (size_t i = 0; i < s.n_notes; i++) {
    lost |= s.notes[i] == FL_WIRE_NOTE_LOST_SYNC;
    resumed |= s.notes[i] == FL_WIRE_NOTE_RESYNC;
  }
  assert_true(lost);
  assert_true(resumed);
  assert_int_equal(st.lost_sync, 1);
  assert_int_equal(s.n, 9);
  rec *wu = &s.f[7], *rst = &s.f[8];
  assert_int_equal(wu->h.type, FL_H2_WINDOW_UPDATE);
  assert_int_equal(wu->increment, 77);
  assert_int_equal(rst->h.type, FL_H2_RST_STREAM);
  assert_int_equal(rst->error_code, FL_H2_ERR_CANCEL);
  assert_int_equal(st.bytes_missing, 3 * (one - 200) + (one - 15) + one);
  free(two);
  free(b.p);
  free(m.p);
  free(w.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

/* A segment the capture dropped: the server's ACK covers it, so its bytes are missing at once
 * (here inside a DATA payload: skipped) instead of holding everything behind the gap. */
static void test_dropped_segment_acknowledged(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 1 << 20);
  craft_buf b = {0}, m = {0};
  grpc_message(&m, 9, 4000);
  h2_frame(&b, FL_H2_DATA, 0, 1, m.p, m.len);
  h2_window_update(&b, 0, 5);
  craft_send(&c, CRAFT_CLIENT, b.p, 1000);
  c.seq[CRAFT_CLIENT] += 2000; /* sent, never captured */
  craft_send(&c, CRAFT_CLIENT, b.p + 3000, b.len - 3000);
  craft_segment_at(&c, CRAFT_SERVER, c.seq[CRAFT_SERVER], CRAFT_ACK, NULL, 0, (size_t)-1);
  uint64_t ack_packet = c.packets;
  seen s = {0};
  fl_wire_stats st;
  decode(&c, true, NULL, 0, &s, &st);
  assert_int_equal(s.n, 5);
  assert_int_equal(s.f[3].h.type, FL_H2_DATA);
  assert_int_equal(s.f[3].missing, 2000);
  assert_int_equal(s.f[3].msg[0].seq, 9);
  assert_int_equal(s.f[3].packet, ack_packet);
  assert_int_equal(s.f[4].h.type, FL_H2_WINDOW_UPDATE);
  assert_int_equal(st.bytes_missing, 2000);
  assert_int_equal(st.lost_sync, 0);
  free(b.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_hpack_dynamic_table_across_frames(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *cd = open_call(&c, 65535);
  nghttp2_hd_deflater *sd;
  assert_int_equal(nghttp2_hd_deflate_new(&sd, 4096), 0);
  static const char *const trailers[] = {"grpc-status", "13", "grpc-message",
                                         "bad%20thing%3A%20%E2%9C%93 100%"};
  uint8_t blk[512];
  craft_buf b = {0};
  size_t n1 = hpack_block(sd, response, 2, blk, sizeof blk);
  h2_frame(&b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS, 1, blk, n1);
  size_t n2 = hpack_block(sd, trailers, 2, blk, sizeof blk);
  h2_frame(&b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS | FL_H2_FLAG_END_STREAM, 1, blk, n2);
  craft_send(&c, CRAFT_SERVER, b.p, b.len);
  /* The client's second call: the same request headers come from the dynamic table. */
  b.len = 0;
  size_t n3 = hpack_block(cd, request, 6, blk, sizeof blk);
  h2_frame(&b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS, 3, blk, n3);
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  seen s = {0};
  decode(&c, true, NULL, 0, &s, NULL);
  rec *first = &s.f[2], *again = &s.f[s.n - 1];
  assert_int_equal(again->h.stream_id, 3);
  assert_true(n3 < first->h.length / 2); /* the dynamic table's entries: a few bytes */
  assert_int_equal(again->h.length, n3);
  assert_true(again->headers_decoded);
  assert_string_equal(again->headers, first->headers);
  rec *t = &s.f[s.n - 2];
  assert_true(t->trailers);
  assert_int_equal(t->grpc_status, 13);
  assert_string_equal(t->grpc_message, "bad thing: \xe2\x9c\x93 100%");
  free(b.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(cd);
  nghttp2_hd_deflate_del(sd);
}

/* Finds the window change of (owner, stream) in a frame. */
static const fl_wire_window *win_of(const rec *r, fl_wire_side owner, uint32_t stream) {
  for (size_t i = 0; i < r->n_windows; i++)
    if (r->win[i].owner == owner && r->win[i].stream_id == stream) return &r->win[i];
  return NULL;
}

static void test_settings_change_initial_window(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 100);
  craft_buf b = {0}, m = {0};
  grpc_message(&m, 1, 50); /* 5 + 2 + 52 bytes? whatever it is, below 100 */
  h2_frame(&b, FL_H2_DATA, 0, 1, m.p, m.len);
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  int64_t after_data = 100 - (int64_t)m.len;
  b.len = 0;
  uint16_t id = FL_H2_SETTINGS_INITIAL_WINDOW_SIZE;
  uint32_t v = 50;
  h2_settings(&b, &id, &v, 1);
  h2_window_update(&b, 1, 30);
  craft_send(&c, CRAFT_SERVER, b.p, b.len);
  seen s = {0};
  decode(&c, true, NULL, 0, &s, NULL);
  /* Stream 1 opened with the server's initial window of 100 for the client. */
  const fl_wire_window *w = win_of(&s.f[2], FL_WIRE_CLIENT, 1);
  assert_non_null(w);
  assert_int_equal(w->window, 100);
  w = win_of(&s.f[3], FL_WIRE_CLIENT, 1);
  assert_int_equal(w->window, after_data);
  /* 100 -> 50 moves every open stream's window by -50, even below zero. */
  w = win_of(&s.f[4], FL_WIRE_CLIENT, 1);
  assert_non_null(w);
  assert_int_equal(w->cause, FL_WIRE_WIN_SETTINGS);
  assert_int_equal(w->delta, -50);
  assert_int_equal(w->window, after_data - 50);
  w = win_of(&s.f[5], FL_WIRE_CLIENT, 1);
  assert_int_equal(w->window, after_data - 50 + 30);
  /* The connection window is not touched by SETTINGS. */
  assert_null(win_of(&s.f[4], FL_WIRE_CLIENT, 0));
  free(b.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_window_to_zero_and_back(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 1000);
  craft_buf b = {0};
  uint8_t body[1000] = {0};
  h2_frame(&b, FL_H2_DATA, 0, 1, body, sizeof body); /* not a gRPC message: boundaries aside */
  int64_t t0 = c.t_ns;
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  c.t_ns = t0 + 500000000; /* half a second later */
  b.len = 0;
  h2_window_update(&b, 1, 400);
  craft_send(&c, CRAFT_SERVER, b.p, b.len);
  seen s = {0};
  s.findings = fl_wire_findings_new(200000000);
  fl_wire_stats st;
  decode(&c, true, NULL, 0, &s, &st);
  const fl_wire_window *w = win_of(&s.f[3], FL_WIRE_CLIENT, 1);
  assert_int_equal(w->window, 0);
  assert_int_equal(w->zero_since_ns, t0);
  w = win_of(&s.f[4], FL_WIRE_CLIENT, 1);
  assert_int_equal(w->window, 400);
  assert_int_equal(w->zero_for_ns, 500000000);
  assert_int_equal(w->zero_since_ns, -1);
  assert_true(st.side[FL_WIRE_CLIENT].window_known);
  assert_int_equal(st.side[FL_WIRE_CLIENT].window_min, 0);
  assert_int_equal(st.side[FL_WIRE_CLIENT].window_zero_for_ns, 500000000);
  assert_int_equal(fl_wire_findings_end(s.findings, st.last_ts_ns), 0);
  const fl_wire_finding *f = NULL;
  for (size_t i = 0; i < fl_wire_findings_count(s.findings); i++)
    if (fl_wire_findings_at(s.findings, i)->kind == FL_WIRE_FINDING_WINDOW_EXHAUSTED) {
      assert_null(f);
      f = fl_wire_findings_at(s.findings, i);
    }
  assert_non_null(f);
  assert_int_equal(f->duration_ns, 500000000);
  assert_int_equal(f->side, FL_WIRE_CLIENT);
  assert_non_null(strstr(f->text, "the client's send window on stream 1 fell to 0"));
  assert_non_null(strstr(f->text, "the server stopped reading"));
  assert_non_null(strstr(f->text, "0.500s"));
  fl_wire_findings_free(s.findings);
  free(b.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

/* Stream 1 of an open call: the server answers with its message 1; the client sends
 * `client_messages` messages and half-closes; the server goes on with its message 2. b and m
 * are left empty. */
static void half_close_while_serving(craft *c, nghttp2_hd_deflater *sd, int client_messages,
                                     craft_buf *b, craft_buf *m) {
  uint8_t blk[512];
  size_t n = hpack_block(sd, response, 2, blk, sizeof blk);
  h2_frame(b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS, 1, blk, n);
  grpc_message(m, 1, 10);
  h2_frame(b, FL_H2_DATA, 0, 1, m->p, m->len);
  craft_send(c, CRAFT_SERVER, b->p, b->len);
  b->len = m->len = 0;
  for (int i = 1; i <= client_messages; i++) grpc_message(m, (uint64_t)i, 10);
  h2_frame(b, FL_H2_DATA, 0, 1, m->p, m->len);
  h2_frame(b, FL_H2_DATA, FL_H2_FLAG_END_STREAM, 1, NULL, 0);
  craft_send(c, CRAFT_CLIENT, b->p, b->len);
  b->len = m->len = 0;
  grpc_message(m, 2, 10);
  h2_frame(b, FL_H2_DATA, 0, 1, m->p, m->len);
  craft_send(c, CRAFT_SERVER, b->p, b->len);
  b->len = m->len = 0;
}

/* A server-streaming call: one request, the half-close, then the server's stream. That is how
 * every such call goes, so it is no half_close finding. */
static void test_no_half_close_after_one_request(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *cd = open_call(&c, 1 << 20);
  nghttp2_hd_deflater *sd;
  assert_int_equal(nghttp2_hd_deflate_new(&sd, 4096), 0);
  craft_buf b = {0}, m = {0};
  half_close_while_serving(&c, sd, 1, &b, &m);
  seen s = {0};
  s.findings = fl_wire_findings_new(0);
  fl_wire_stats st;
  decode(&c, true, NULL, 0, &s, &st);
  assert_int_equal(fl_wire_findings_end(s.findings, st.last_ts_ns), 0);
  for (size_t i = 0; i < fl_wire_findings_count(s.findings); i++)
    if (fl_wire_findings_at(s.findings, i)->kind == FL_WIRE_FINDING_HALF_CLOSE)
      fail_msg("a half_close finding for a single request: %s",
               fl_wire_findings_at(s.findings, i)->text);
  fl_wire_findings_free(s.findings);
  free(b.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(cd);
  nghttp2_hd_deflate_del(sd);
}

static void test_findings(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *cd = open_call(&c, 1 << 20);
  nghttp2_hd_deflater *sd;
  assert_int_equal(nghttp2_hd_deflate_new(&sd, 4096), 0);
  uint8_t blk[512];
  craft_buf b = {0}, m = {0};
  /* The server answers and streams; the client, which streams too (bidi), half-closes; the
   * server keeps sending. */
  half_close_while_serving(&c, sd, 2, &b, &m);
  /* A second stream from the client, then GOAWAY with last stream 1, then RST on 1. */
  size_t n = hpack_block(cd, request, 6, blk, sizeof blk);
  h2_frame(&b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS, 3, blk, n);
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  b.len = 0;
  craft_buf g = {0};
  cb_be32(&g, 1);
  cb_be32(&g, FL_H2_ERR_NO_ERROR);
  cb_add(&g, "draining\xff", 9);
  h2_frame(&b, FL_H2_GOAWAY, 0, 0, g.p, g.len);
  h2_rst(&b, 1, FL_H2_ERR_INTERNAL_ERROR);
  uint64_t rst_frame_packet = c.packets + 1;
  craft_send(&c, CRAFT_SERVER, b.p, b.len);
  seen s = {0};
  s.findings = fl_wire_findings_new(0);
  fl_wire_findings_peer_status(s.findings, 0, FL_WIRE_CLIENT, 0, 14);
  fl_wire_stats st;
  fl_wire_mark mark = {
      .leg = 0, .conn = 1, .from = FL_WIRE_SERVER, .frame = 6, .mark = FL_WIRE_MARK_INJECTED};
  decode(&c, true, &mark, 1, &s, &st);
  assert_int_equal(s.f[s.n - 1].mark, FL_WIRE_MARK_INJECTED);
  assert_int_equal(s.f[s.n - 1].packet, rst_frame_packet);
  assert_int_equal(fl_wire_findings_end(s.findings, st.last_ts_ns), 0);
  bool half = false, goaway = false, rst = false, no_trailers = false;
  for (size_t i = 0; i < fl_wire_findings_count(s.findings); i++) {
    const fl_wire_finding *f = fl_wire_findings_at(s.findings, i);
    switch (f->kind) {
    case FL_WIRE_FINDING_HALF_CLOSE:
      half = true;
      assert_non_null(strstr(f->text, "the client half-closed stream 1 while the server was "
                                      "sending, and the server kept sending: 1 more DATA frame "
                                      "(1 message"));
      break;
    case FL_WIRE_FINDING_GOAWAY:
      goaway = true;
      assert_non_null(strstr(f->text, "the server sent GOAWAY NO_ERROR, last stream id 1, debug "
                                      "\"draining\\xff\""));
      assert_non_null(strstr(f->text, "open then: streams 1, 3; it leaves 3 unprocessed"));
      break;
    case FL_WIRE_FINDING_RST_STREAM:
      rst = true;
      assert_non_null(strstr(f->text, "the server reset stream 1 with INTERNAL_ERROR, after the "
                                      "server's message 2 (seq 2) and the client's message 2 "
                                      "(seq 2) (injected by the proxy)"));
      break;
    case FL_WIRE_FINDING_NO_TRAILERS:
      if (f->stream_id == 1) {
        no_trailers = true;
        assert_non_null(strstr(f->text, "the server reset it with INTERNAL_ERROR"));
      }
      break;
    case FL_WIRE_FINDING_WINDOW_EXHAUSTED:
    case FL_WIRE_FINDING_STATUS_MISMATCH:
    case FL_WIRE_FINDING_LOST_SYNC: fail_msg("unexpected finding: %s", f->text);
    }
  }
  assert_true(half && goaway && rst && no_trailers);
  fl_wire_findings_free(s.findings);
  free(g.p);
  free(b.p);
  free(m.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(cd);
  nghttp2_hd_deflate_del(sd);
}

static void test_status_mismatch(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *cd = open_call(&c, 65535);
  nghttp2_hd_deflater *sd;
  assert_int_equal(nghttp2_hd_deflate_new(&sd, 4096), 0);
  static const char *const trailers[] = {":status", "200", "grpc-status", "0"};
  uint8_t blk[512];
  craft_buf b = {0};
  size_t n = hpack_block(sd, trailers, 2, blk, sizeof blk);
  h2_frame(&b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS | FL_H2_FLAG_END_STREAM, 1, blk, n);
  craft_send(&c, CRAFT_SERVER, b.p, b.len);
  seen s = {0};
  s.findings = fl_wire_findings_new(0);
  fl_wire_findings_peer_status(s.findings, 0, FL_WIRE_CLIENT, 1, 14);
  fl_wire_findings_peer_status(s.findings, 0, FL_WIRE_SERVER, 1, 0);
  fl_wire_stats st;
  decode(&c, true, NULL, 0, &s, &st);
  assert_true(s.f[s.n - 1].trailers);
  assert_int_equal(fl_wire_findings_end(s.findings, st.last_ts_ns), 0);
  size_t mismatches = 0;
  for (size_t i = 0; i < fl_wire_findings_count(s.findings); i++) {
    const fl_wire_finding *f = fl_wire_findings_at(s.findings, i);
    if (f->kind != FL_WIRE_FINDING_STATUS_MISMATCH) continue;
    mismatches++;
    assert_non_null(strstr(f->text, "the client reported status UNAVAILABLE, but the trailers on "
                                    "stream 1 carried grpc-status 0 (OK)"));
  }
  assert_int_equal(mismatches, 1);
  fl_wire_findings_free(s.findings);
  free(b.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(cd);
  nghttp2_hd_deflate_del(sd);
}

/* Without ports: the server's SETTINGS arrive before the client's preface. */
static void test_found_by_preface(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d = open_call(&c, 65535);
  seen s = {0};
  decode(&c, false, NULL, 0, &s, NULL);
  assert_int_equal(s.conns, 1);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.f[0].from, FL_WIRE_SERVER);
  assert_int_equal(s.f[0].packet, 4);
  assert_int_equal(s.f[1].from, FL_WIRE_CLIENT);
  assert_int_equal(s.f[2].h.type, FL_H2_HEADERS);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

/* A proxied run: two legs in one capture, each connection numbered on its own leg, and a
 * frame the proxy injected on the second leg marked. */
static void test_two_legs(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  nghttp2_hd_deflater *d1 = open_call(&c, 65535); /* client -> proxy on 50051 */
  c.port[0] = 39000;
  c.port[1] = 50052;
  c.seq[0] = 7000;
  c.seq[1] = 9000;
  nghttp2_hd_deflater *d2 = open_call(&c, 65535); /* proxy -> server on 50052 */
  craft_buf b = {0};
  h2_rst(&b, 1, FL_H2_ERR_CANCEL);
  craft_send(&c, CRAFT_SERVER, b.p, b.len);
  char path[] = "/tmp/test_wire_XXXXXX";
  int fd = mkstemp(path);
  assert_int_equal(write(fd, c.file.p, c.file.len), (ssize_t)c.file.len);
  close(fd);
  fl_wire_port ports[2] = {{50051, "client-proxy"}, {50052, "proxy-server"}};
  fl_wire_mark mark = {
      .leg = 1, .conn = 1, .from = FL_WIRE_SERVER, .frame = 2, .mark = FL_WIRE_MARK_INJECTED};
  fl_wire_options opt = {.ports = ports, .n_ports = 2, .marks = &mark, .n_marks = 1};
  char *out = NULL;
  size_t out_len = 0;
  FILE *mem = open_memstream(&out, &out_len);
  fl_wire_ladder *l = fl_wire_ladder_new(mem, "memory", FL_LADDER_TEXT);
  fl_wire_visitor v;
  fl_wire_ladder_visitor(l, &v);
  fl_wire_stats st;
  char err[256];
  assert_int_equal(fl_wire_decode_file(path, &opt, &v, &st, err, sizeof err), 0);
  assert_int_equal(fl_wire_ladder_finish(l, NULL, &st, err, sizeof err), 0);
  fl_wire_ladder_free(l);
  fclose(mem);
  unlink(path);
  assert_int_equal(st.connections, 2);
  assert_non_null(strstr(out, "# conn 1 (client-proxy): client 127.0.0.1:44816, server "
                              "127.0.0.1:50051"));
  assert_non_null(strstr(out, "# conn L1:1 (proxy-server): client 127.0.0.1:39000, server "
                              "127.0.0.1:50052"));
  assert_non_null(strstr(out, "C<-S      1 RST_STREAM"));
  assert_non_null(strstr(out, "[injected by the proxy] CANCEL"));
  free(out);
  free(b.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d1);
  nghttp2_hd_deflate_del(d2);
}

static void test_link_layers_and_ipv6(void **state) {
  (void)state;
  static const struct {
    uint32_t linktype;
    bool ipv6;
  } cases[] = {{0, false}, {113, false}, {101, false}, {1, true}, {113, true}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    craft c;
    craft_init(&c, 0, cases[k].linktype);
    c.ipv6 = cases[k].ipv6;
    nghttp2_hd_deflater *d = open_call(&c, 65535);
    seen s = {0};
    decode(&c, true, NULL, 0, &s, NULL);
    assert_int_equal(s.n, 3);
    assert_true(s.f[2].headers_decoded);
    free(c.file.p);
    nghttp2_hd_deflate_del(d);
  }
}

/* A header value that is not UTF-8 is kept as hex beside a replaced string. */
static void test_json_strict_utf8(void **state) {
  (void)state;
  craft c;
  craft_init(&c, 0, 1);
  craft_handshake(&c);
  craft_buf b = {0};
  cb_add(&b, FL_H2_PREFACE, FL_H2_PREFACE_LEN);
  nghttp2_hd_deflater *d;
  assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
  static const char *const nv[] = {":method", "POST",          ":path", "/faultline.Test/Bidi",
                                   "x-bin",   "ok\xc3\x28\xff"};
  uint8_t blk[256];
  size_t n = hpack_block(d, nv, 3, blk, sizeof blk);
  h2_frame(&b, FL_H2_HEADERS, FL_H2_FLAG_END_HEADERS, 1, blk, n);
  craft_send(&c, CRAFT_CLIENT, b.p, b.len);
  char path[] = "/tmp/test_wire_XXXXXX";
  int fd = mkstemp(path);
  assert_int_equal(write(fd, c.file.p, c.file.len), (ssize_t)c.file.len);
  close(fd);
  char *out = NULL;
  size_t out_len = 0;
  FILE *mem = open_memstream(&out, &out_len);
  fl_wire_ladder *l = fl_wire_ladder_new(mem, "memory", FL_LADDER_JSON);
  fl_wire_visitor v;
  fl_wire_ladder_visitor(l, &v);
  char err[256];
  assert_int_equal(fl_wire_decode_file(path, NULL, &v, NULL, err, sizeof err), 0);
  assert_int_equal(fl_wire_ladder_finish(l, NULL, NULL, err, sizeof err), 0);
  fl_wire_ladder_free(l);
  fclose(mem);
  unlink(path);
  json_error_t je;
  json_t *o = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "type")), "headers");
  json_t *hs = json_object_get(o, "headers");
  json_t *h = json_array_get(hs, 2);
  assert_string_equal(json_string_value(json_object_get(h, "name")), "x-bin");
  assert_string_equal(json_string_value(json_object_get(h, "value")),
                      "ok\xef\xbf\xbd(\xef\xbf\xbd");
  assert_string_equal(json_string_value(json_object_get(h, "value_hex")), "6f6bc328ff");
  json_decref(o);
  free(out);
  free(b.p);
  free(c.file.p);
  nghttp2_hd_deflate_del(d);
}

static void test_errors(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(fl_wire_decode_file("/nonexistent/x.pcap", NULL, NULL, NULL, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "cannot read capture /nonexistent/x.pcap"));
  craft c;
  craft_init(&c, 0, 105); /* 802.11 */
  char path[] = "/tmp/test_wire_XXXXXX";
  int fd = mkstemp(path);
  assert_int_equal(write(fd, c.file.p, c.file.len), (ssize_t)c.file.len);
  close(fd);
  assert_int_equal(fl_wire_decode_file(path, NULL, NULL, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "link-layer type 105"));
  assert_non_null(strstr(err, "is not supported"));
  unlink(path);
  free(c.file.p);
}

static void test_grpc_helpers(void **state) {
  (void)state;
  assert_int_equal(fl_wire_parse_grpc_timeout("1S", 2), 1000000000LL);
  assert_int_equal(fl_wire_parse_grpc_timeout("250m", 4), 250000000LL);
  assert_int_equal(fl_wire_parse_grpc_timeout("12345678n", 9), 12345678LL);
  assert_int_equal(fl_wire_parse_grpc_timeout("2H", 2), 7200LL * 1000000000LL);
  assert_int_equal(fl_wire_parse_grpc_timeout("S", 1), -1);
  assert_int_equal(fl_wire_parse_grpc_timeout("123456789S", 10), -1);
  assert_int_equal(fl_wire_parse_grpc_timeout("1x", 2), -1);
  char out[32];
  size_t n = fl_wire_percent_decode("a%20b%zz%4", 10, out);
  assert_int_equal(n, 8);
  assert_memory_equal(out, "a b%zz%4", 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames_split_across_segments),
      cmocka_unit_test(test_many_frames_in_one_segment),
      cmocka_unit_test(test_messages_across_frames),
      cmocka_unit_test(test_padding_and_priority),
      cmocka_unit_test(test_continuation),
      cmocka_unit_test(test_retransmission_and_out_of_order),
      cmocka_unit_test(test_capture_cut_mid_frame),
      cmocka_unit_test(test_snaplen_shorter_than_packets),
      cmocka_unit_test(test_dropped_segment_acknowledged),
      cmocka_unit_test(test_hpack_dynamic_table_across_frames),
      cmocka_unit_test(test_settings_change_initial_window),
      cmocka_unit_test(test_window_to_zero_and_back),
      cmocka_unit_test(test_findings),
      cmocka_unit_test(test_no_half_close_after_one_request),
      cmocka_unit_test(test_status_mismatch),
      cmocka_unit_test(test_found_by_preface),
      cmocka_unit_test(test_two_legs),
      cmocka_unit_test(test_link_layers_and_ipv6),
      cmocka_unit_test(test_json_strict_utf8),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_grpc_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
