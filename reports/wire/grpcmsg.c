#include "grpcmsg.h"

#include <stdlib.h>
#include <string.h>

#include "faultline.pb-c.h"

/* faultline.Message's padding: field 3, bytes. Skipped, never copied. */
#define PADDING_FIELD 3
#define SEQ_FIELD 1

void fl_grpc_reader_init(fl_grpc_reader *r, bool faultline) {
  memset(r, 0, sizeof *r);
  r->faultline = faultline;
  r->piece = -1;
}

void fl_grpc_reader_free(fl_grpc_reader *r) {
  free(r->head);
  r->head = NULL;
  r->head_cap = 0;
}

void fl_grpc_frame_begin(fl_grpc_reader *r) { r->piece = -1; }

static fl_wire_message *add_piece(fl_grpc_pieces *out) {
  if (out->n == out->cap) {
    size_t cap = out->cap ? out->cap * 2 : 8;
    fl_wire_message *v = realloc(out->v, cap * sizeof *v);
    if (!v) return NULL;
    out->v = v;
    out->cap = cap;
  }
  fl_wire_message *m = &out->v[out->n++];
  memset(m, 0, sizeof *m);
  return m;
}

/* The piece of the current message in this frame, made if it has none yet. */
static fl_wire_message *piece(fl_grpc_reader *r, fl_grpc_pieces *out, bool starts) {
  if (r->piece >= 0) return &out->v[r->piece];
  fl_wire_message *m = add_piece(out);
  if (!m) return NULL;
  r->piece = (int64_t)(out->n - 1);
  m->ordinal = r->ordinal;
  m->starts = starts;
  m->has_prefix = r->in_body;
  m->compressed = r->pfx.compressed;
  m->length = r->pfx.length;
  m->offset = r->got;
  return m;
}

static void stop(fl_grpc_reader *r, const char *problem) {
  if (problem && !r->problem) r->problem = problem;
  r->w = FL_GRPC_W_STOP;
}

static int collect(fl_grpc_reader *r, const uint8_t *p, size_t n) {
  if (r->head_len + n > FL_WIRE_MAX_MESSAGE_HEAD) {
    r->too_large = true;
    stop(r, NULL);
    return 0;
  }
  if (r->head_len + n > r->head_cap) {
    size_t cap = r->head_cap ? r->head_cap : 256;
    while (cap < r->head_len + n) cap *= 2;
    uint8_t *h = realloc(r->head, cap);
    if (!h) return -1;
    r->head = h;
    r->head_cap = cap;
  }
  memcpy(r->head + r->head_len, p, n);
  r->head_len += n;
  return 0;
}

static void field_done(fl_grpc_reader *r) {
  if (r->field != PADDING_FIELD || r->wire_type != 2) r->head_good = r->head_len;
  if (r->field == SEQ_FIELD) r->seq_seen = true;
  r->w = FL_GRPC_W_TAG;
  r->varint = 0;
  r->shift = 0;
}

/* Walks n body bytes (p == NULL: missing); body_left counts the body bytes from p on. */
static int walk(fl_grpc_reader *r, const uint8_t *p, size_t n, uint64_t body_left) {
  while (n > 0) {
    switch (r->w) {
    case FL_GRPC_W_STOP: return 0;
    case FL_GRPC_W_TAG:
    case FL_GRPC_W_LEN:
    case FL_GRPC_W_VARINT: {
      if (!p) {
        r->missing = true;
        stop(r, NULL);
        return 0;
      }
      uint8_t b = *p;
      bool padding_len = r->w == FL_GRPC_W_LEN && r->field == PADDING_FIELD;
      if (!padding_len && collect(r, p, 1) < 0) return -1;
      if (r->w == FL_GRPC_W_STOP) return 0;
      p++;
      n--;
      body_left--;
      if (r->shift >= 64) {
        stop(r, "a varint longer than 10 bytes");
        return 0;
      }
      r->varint |= (uint64_t)(b & 0x7f) << r->shift;
      r->shift += 7;
      if (b & 0x80) break;
      uint64_t v = r->varint;
      r->varint = 0;
      r->shift = 0;
      if (r->w == FL_GRPC_W_TAG) {
        if (v >> 3 == 0 || v >> 3 > 0x1fffffff) {
          stop(r, "a field number 0 or out of range");
          return 0;
        }
        r->field = (uint32_t)(v >> 3);
        r->wire_type = (uint32_t)(v & 7);
        switch (r->wire_type) {
        case 0: r->w = FL_GRPC_W_VARINT; break;
        case 1:
          r->w = FL_GRPC_W_FIXED;
          r->value_left = 8;
          break;
        case 5:
          r->w = FL_GRPC_W_FIXED;
          r->value_left = 4;
          break;
        case 2:
          r->w = FL_GRPC_W_LEN;
          /* The padding's tag is not kept: the collected fields end before it. */
          if (r->field == PADDING_FIELD) r->head_len = r->head_good;
          break;
        case 3:
        case 4:
          stop(r, "a group (wire type 3 or 4), which faultline.Message has none of");
          return 0;
        default: stop(r, "a field with wire type 6 or 7, which does not exist"); return 0;
        }
      } else if (r->w == FL_GRPC_W_LEN) {
        if (v > body_left) {
          stop(r, "a length-delimited field runs past the end of the message");
          return 0;
        }
        r->value_left = v;
        r->w = r->field == PADDING_FIELD ? FL_GRPC_W_SKIP : FL_GRPC_W_FIXED;
        if (v == 0) field_done(r);
      } else {
        field_done(r);
      }
      break;
    }
    case FL_GRPC_W_FIXED: {
      size_t t = r->value_left < n ? (size_t)r->value_left : n;
      if (!p) {
        r->missing = true;
        stop(r, NULL);
        return 0;
      }
      if (collect(r, p, t) < 0) return -1;
      if (r->w == FL_GRPC_W_STOP) return 0;
      r->value_left -= t;
      p += t;
      n -= t;
      body_left -= t;
      if (r->value_left == 0) field_done(r);
      break;
    }
    case FL_GRPC_W_SKIP: {
      size_t t = r->value_left < n ? (size_t)r->value_left : n;
      r->value_left -= t;
      if (p) p += t;
      n -= t;
      body_left -= t;
      if (r->value_left == 0) field_done(r);
      break;
    }
    }
  }
  return 0;
}

/* seq from the whole fields collected; false if protobuf-c rejects them. */
static bool unpack(const uint8_t *head, size_t len, uint64_t *seq) {
  static const uint8_t none[1];
  Faultline__Message *m = faultline__message__unpack(NULL, len, head ? head : none);
  if (!m) return false;
  *seq = m->seq;
  faultline__message__free_unpacked(m, NULL);
  return true;
}

static void end_message(fl_grpc_reader *r, fl_wire_message *m) {
  m->ends = true;
  if (r->pfx.compressed == 1) {
    m->state = FL_WIRE_MSG_COMPRESSED;
  } else if (r->pfx.compressed > 1) {
    m->state = FL_WIRE_MSG_INVALID;
    m->problem = "the compressed flag is neither 0 nor 1";
  } else if (!r->faultline) {
    m->state = FL_WIRE_MSG_FOREIGN;
  } else {
    bool mid_field = r->w != FL_GRPC_W_TAG && r->w != FL_GRPC_W_STOP;
    if (r->w == FL_GRPC_W_TAG && r->shift > 0) mid_field = true;
    if (r->problem) {
      m->state = FL_WIRE_MSG_INVALID;
      m->problem = r->problem;
    } else if (r->missing) {
      m->state = FL_WIRE_MSG_MISSING;
    } else if (mid_field) {
      m->state = FL_WIRE_MSG_INVALID;
      m->problem = "its last field runs past the end of the message";
    } else if (r->too_large) {
      m->state = FL_WIRE_MSG_TOO_LARGE;
    } else {
      uint64_t seq;
      if (unpack(r->head, r->head_len, &seq)) {
        m->state = FL_WIRE_MSG_DECODED;
        m->has_seq = r->seq_seen;
        m->seq = seq;
      } else {
        m->state = FL_WIRE_MSG_INVALID;
        m->problem = "protobuf-c cannot unpack it as faultline.Message";
      }
    }
    /* Whatever went wrong later, the whole fields before it still tell the seq. */
    uint64_t seq;
    if (m->state != FL_WIRE_MSG_DECODED && r->seq_seen && unpack(r->head, r->head_good, &seq)) {
      m->has_seq = true;
      m->seq = seq;
    }
  }
  r->in_body = false;
  r->prefix_have = 0;
  r->piece = -1;
}

static void start_body(fl_grpc_reader *r) {
  fl_grpc_prefix_parse(r->prefix, &r->pfx);
  r->in_body = true;
  r->got = 0;
  r->w = FL_GRPC_W_TAG;
  r->varint = 0;
  r->shift = 0;
  r->head_len = r->head_good = 0;
  r->seq_seen = r->missing = r->too_large = false;
  r->problem = NULL;
}

int fl_grpc_feed(fl_grpc_reader *r, const uint8_t *p, size_t n, fl_grpc_pieces *out) {
  if (r->lost) {
    if (n > 0 && r->piece < 0) {
      fl_wire_message *m = piece(r, out, false);
      if (!m) return -1;
      m->ordinal = 0;
      m->state = FL_WIRE_MSG_MISSING;
      m->problem = "boundaries lost with bytes not captured";
    }
    if (r->piece >= 0) out->v[r->piece].bytes += (uint32_t)n;
    return 0;
  }
  while (n > 0) {
    if (!r->in_body) {
      if (r->prefix_have == 0) {
        r->ordinal++;
        r->piece = -1;
      }
      fl_wire_message *m = piece(r, out, r->prefix_have == 0);
      if (!m) return -1;
      if (!p) {
        m->ends = true;
        m->state = FL_WIRE_MSG_MISSING;
        m->problem = "boundaries lost with bytes not captured";
        m->bytes += (uint32_t)n;
        r->lost = true;
        return 0;
      }
      size_t t = FL_GRPC_PREFIX_LEN - r->prefix_have;
      if (t > n) t = n;
      memcpy(r->prefix + r->prefix_have, p, t);
      r->prefix_have += (uint8_t)t;
      p += t;
      n -= t;
      if (r->prefix_have < FL_GRPC_PREFIX_LEN) break;
      start_body(r);
      m->has_prefix = true;
      m->compressed = r->pfx.compressed;
      m->length = r->pfx.length;
      m->offset = 0;
      if (r->pfx.length == 0) end_message(r, m);
      continue;
    }
    fl_wire_message *m = piece(r, out, false);
    if (!m) return -1;
    uint32_t left = r->pfx.length - r->got;
    size_t t = left < n ? left : n;
    if (r->faultline && r->pfx.compressed == 0 && walk(r, p, t, left) < 0) return -1;
    m->bytes += (uint32_t)t;
    r->got += (uint32_t)t;
    if (p) p += t;
    n -= t;
    if (r->got == r->pfx.length) end_message(r, m);
  }
  return 0;
}
