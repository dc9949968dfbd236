#include "ladder.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "predicate.h"

/* Compact, and times (seconds since the capture began) to the microsecond without binary noise
 * (0.001409, not 0.0014090000000000001). */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

/* How many window changes a text line lists before "+N more". */
#define TEXT_WINDOWS 4

typedef struct {
  char *p;
  size_t len, cap;
  bool oom;
} sb;

static void sb_add(sb *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_reset(sb *b) {
  b->len = 0;
  if (b->p) b->p[0] = '\0';
}

static void sb_printf(sb *b, const char *fmt, ...) FL_PRINTF(2, 3);
static void sb_printf(sb *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    sb_add(b, tmp, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    b->oom = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb_add(b, big, (size_t)n);
  free(big);
}

/* Text: valid UTF-8 as is, control bytes and invalid bytes as \xNN. */
static void sb_text(sb *b, const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  for (size_t i = 0; i < n;) {
    size_t k = fl_utf8_len(s + i, n - i);
    if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\'))) {
      sb_printf(b, "\\x%02x", p[i]);
      i++;
    } else {
      sb_add(b, s + i, k);
      i += k;
    }
  }
}

struct fl_wire_ladder {
  FILE *out;
  char name[256];
  fl_ladder_format fmt;
  bool header_done;
  sb line;
  char *jbuf; /* one JSON line */
  size_t jcap;
  /* fields: the packet being gathered */
  uint64_t packet;
  sb streams, types;
};

fl_wire_ladder *fl_wire_ladder_new(FILE *out, const char *name, fl_ladder_format fmt) {
  fl_wire_ladder *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->out = out;
  l->fmt = fmt;
  snprintf(l->name, sizeof l->name, "%s", name ? name : "output");
  return l;
}

void fl_wire_ladder_free(fl_wire_ladder *l) {
  if (!l) return;
  free(l->line.p);
  free(l->jbuf);
  free(l->streams.p);
  free(l->types.p);
  free(l);
}

static const char *type_upper(unsigned type, char *buf, size_t len) {
  const char *n = fl_h2_frame_type_name(type);
  if (!n) {
    snprintf(buf, len, "0x%02x", type);
    return buf;
  }
  size_t i = 0;
  for (; n[i] && i + 1 < len; i++) buf[i] = (char)toupper((unsigned char)n[i]);
  buf[i] = '\0';
  return buf;
}

/* The flags a frame type defines, by name; other bits in hex. */
static void flag_names(uint8_t type, uint8_t flags, char *out, size_t len) {
  static const struct {
    uint8_t bit;
    const char *name;
    uint16_t types; /* bit per frame type */
  } defs[] = {
      {FL_H2_FLAG_END_STREAM, "END_STREAM", 1 << FL_H2_DATA | 1 << FL_H2_HEADERS},
      {FL_H2_FLAG_ACK, "ACK", 1 << FL_H2_SETTINGS | 1 << FL_H2_PING},
      {FL_H2_FLAG_END_HEADERS, "END_HEADERS",
       1 << FL_H2_HEADERS | 1 << FL_H2_PUSH_PROMISE | 1 << FL_H2_CONTINUATION},
      {FL_H2_FLAG_PADDED, "PADDED", 1 << FL_H2_DATA | 1 << FL_H2_HEADERS | 1 << FL_H2_PUSH_PROMISE},
      {FL_H2_FLAG_PRIORITY, "PRIORITY", 1 << FL_H2_HEADERS},
  };
  size_t o = 0;
  out[0] = '\0';
  uint8_t rest = flags;
  for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
    if (!(flags & defs[i].bit) || type >= FL_H2_N_FRAME_TYPES || !(defs[i].types & 1 << type))
      continue;
    o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "|" : "", defs[i].name);
    rest &= (uint8_t)~defs[i].bit;
    if (o >= len) return;
  }
  if (rest) o += (size_t)snprintf(out + o, len - o, "%s0x%02x", o ? "|" : "", rest);
  if (o == 0) snprintf(out, len, "-");
}

static const char *error_name(uint32_t code, char *buf, size_t len) {
  const char *n = fl_h2_error_name(code);
  if (n) return n;
  snprintf(buf, len, "0x%x", code);
  return buf;
}

static double rel(const fl_wire_conn *c, int64_t ts) {
  return (double)(ts - c->capture_ts_ns) / 1e9;
}

static const char *conn_label(const fl_wire_conn *c, char *buf, size_t len) {
  if (c->leg == 0)
    snprintf(buf, len, "%u", c->conn);
  else
    snprintf(buf, len, "L%u:%u", c->leg, c->conn);
  return buf;
}

static void message_text(sb *b, const fl_wire_message *m) {
  if (m->ordinal == 0) {
    sb_printf(b, "messages unknown (%s)", m->problem ? m->problem : "not captured");
    return;
  }
  sb_printf(b, "msg %llu", (unsigned long long)m->ordinal);
  if (!m->has_prefix)
    sb_printf(b, " prefix split across frames");
  else if (m->starts && m->ends)
    sb_printf(b, " len %u", m->length);
  else if (m->starts)
    sb_printf(b, " len %u starts (%u bytes)", m->length, m->bytes);
  else if (m->ends)
    sb_printf(b, " ends (%u bytes, at %u of %u)", m->bytes, m->offset, m->length);
  else
    sb_printf(b, " continues (%u bytes, at %u of %u)", m->bytes, m->offset, m->length);
  if (m->has_prefix && m->compressed == 1) sb_printf(b, " compressed");
  if (!m->ends) return;
  switch (m->state) {
  case FL_WIRE_MSG_PENDING: break;
  case FL_WIRE_MSG_DECODED:
    if (m->has_seq)
      sb_printf(b, " seq %llu", (unsigned long long)m->seq);
    else
      sb_printf(b, " (no seq)");
    break;
  case FL_WIRE_MSG_INVALID:
    if (m->has_seq) sb_printf(b, " seq %llu", (unsigned long long)m->seq);
    sb_printf(b, " invalid: %s", m->problem ? m->problem : "?");
    break;
  case FL_WIRE_MSG_MISSING:
    if (m->has_seq) sb_printf(b, " seq %llu", (unsigned long long)m->seq);
    sb_printf(b, " (bytes not captured)");
    break;
  case FL_WIRE_MSG_COMPRESSED: sb_printf(b, " (not decoded)"); break;
  case FL_WIRE_MSG_FOREIGN: break;
  case FL_WIRE_MSG_TOO_LARGE: sb_printf(b, " (too large to decode)"); break;
  }
}

static void summary(sb *b, const fl_wire_frame *f) {
  char buf[32];
  if (f->mark) sb_printf(b, "[%s by the proxy] ", fl_wire_mark_name(f->mark));
  switch ((fl_h2_frame_type)f->h.type) {
  case FL_H2_DATA:
    for (size_t i = 0; i < f->n_messages; i++) {
      if (i) sb_add(b, "; ", 2);
      message_text(b, &f->messages[i]);
    }
    if (f->pad_len) sb_printf(b, "%spadding %u", f->n_messages ? "; " : "", f->pad_len);
    break;
  case FL_H2_HEADERS:
  case FL_H2_PUSH_PROMISE:
  case FL_H2_CONTINUATION:
    if (f->h.type == FL_H2_PUSH_PROMISE)
      sb_printf(b, "promised stream %u; ", f->promised_stream_id);
    if (f->has_priority)
      sb_printf(b, "depends on %u%s weight %u; ", f->depends_on, f->exclusive ? " (exclusive)" : "",
                f->weight);
    if (!f->block_end) {
      sb_printf(b, "header block continues");
      break;
    }
    if (!f->headers_decoded) {
      sb_printf(b, "headers not decoded: %s", f->hpack_error ? f->hpack_error : "?");
      break;
    }
    if (f->trailers) {
      sb_printf(b, "trailers");
      if (f->grpc_status >= 0)
        sb_printf(b, " grpc-status %d (%s)", f->grpc_status, fl_status_name(f->grpc_status));
      if (f->grpc_message) {
        sb_printf(b, " grpc-message \"");
        sb_text(b, f->grpc_message, f->grpc_message_len);
        sb_printf(b, "\"");
      }
    } else if (f->path) {
      const char *method = "";
      for (size_t i = 0; i < f->n_headers; i++)
        if (!strcmp(f->headers[i].name, ":method")) method = f->headers[i].value;
      sb_text(b, method, strlen(method));
      sb_add(b, " ", 1);
      sb_text(b, f->path, strlen(f->path));
      for (size_t i = 0; i < f->n_headers; i++)
        if (!strcmp(f->headers[i].name, "grpc-timeout")) {
          sb_printf(b, " grpc-timeout ");
          sb_text(b, f->headers[i].value, f->headers[i].value_len);
        }
    } else if (f->http_status >= 0) {
      sb_printf(b, "status %d", f->http_status);
    } else {
      sb_printf(b, "%zu headers", f->n_headers);
    }
    if (f->block_frames > 1) sb_printf(b, " (block of %u frames)", f->block_frames);
    break;
  case FL_H2_PRIORITY:
    sb_printf(b, "depends on %u%s weight %u", f->depends_on, f->exclusive ? " (exclusive)" : "",
              f->weight);
    break;
  case FL_H2_RST_STREAM:
    if (!f->problem) sb_printf(b, "%s", error_name(f->error_code, buf, sizeof buf));
    break;
  case FL_H2_SETTINGS:
    for (size_t i = 0; i < f->n_settings; i++) {
      const char *n = fl_h2_setting_name(f->settings[i].id);
      if (n)
        sb_printf(b, "%s%s=%u", i ? " " : "", n, f->settings[i].value);
      else
        sb_printf(b, "%s0x%04x=%u", i ? " " : "", f->settings[i].id, f->settings[i].value);
    }
    break;
  case FL_H2_PING:
    if (!f->problem) {
      sb_printf(b, "opaque ");
      for (int i = 0; i < 8; i++) sb_printf(b, "%02x", f->opaque[i]);
    }
    break;
  case FL_H2_GOAWAY:
    if (f->problem) break;
    sb_printf(b, "%s last stream %u", error_name(f->error_code, buf, sizeof buf),
              f->last_stream_id);
    if (f->debug_len) {
      sb_printf(b, " debug \"");
      sb_text(b, (const char *)f->debug, f->debug_len);
      sb_printf(b, "\"");
    }
    break;
  case FL_H2_WINDOW_UPDATE:
    if (!f->problem) sb_printf(b, "+%u", f->increment);
    break;
  }
  if (f->stream_closed) sb_printf(b, " (stream already closed)");
  if (f->missing) sb_printf(b, " (%u bytes not captured)", f->missing);
  if (f->problem) sb_printf(b, " !! %s", f->problem);
  if (f->n_windows) {
    sb_printf(b, " | win");
    for (size_t i = 0; i < f->n_windows && i < TEXT_WINDOWS; i++) {
      const fl_wire_window *w = &f->windows[i];
      char who = w->owner == FL_WIRE_CLIENT ? 'C' : 'S';
      if (w->stream_id)
        sb_printf(b, " %c s%u=%lld", who, w->stream_id, (long long)w->window);
      else
        sb_printf(b, " %c conn=%lld", who, (long long)w->window);
      if (w->cause == FL_WIRE_WIN_CLOSE) sb_printf(b, " closed");
    }
    if (f->n_windows > TEXT_WINDOWS) sb_printf(b, " +%zu more", f->n_windows - TEXT_WINDOWS);
  }
}

static void text_header(fl_wire_ladder *l) {
  if (l->header_done) return;
  l->header_done = true;
  fprintf(l->out, "%6s %10s %7s %-5s %-4s %6s %-13s %-22s %6s  %s\n", "frame", "time(s)", "packet",
          "conn", "dir", "stream", "type", "flags", "length", "summary");
}

static int text_conn(void *user, const fl_wire_conn *c) {
  fl_wire_ladder *l = user;
  char lb[32];
  fprintf(l->out, "# conn %s%s%s%s: client %s, server %s, from packet %llu (%.6fs)\n",
          conn_label(c, lb, sizeof lb), c->leg_name && c->leg_name[0] ? " (" : "",
          c->leg_name ? c->leg_name : "", c->leg_name && c->leg_name[0] ? ")" : "", c->client,
          c->server, (unsigned long long)c->packet, rel(c, c->ts_ns));
  return 0;
}

static int text_frame(void *user, const fl_wire_frame *f) {
  fl_wire_ladder *l = user;
  text_header(l);
  char tb[16], fb[64], lb[32];
  flag_names(f->h.type, f->h.flags, fb, sizeof fb);
  sb_reset(&l->line);
  summary(&l->line, f);
  const char *sum = l->line.p ? l->line.p : "";
  fprintf(l->out, "%6llu %10.6f %7llu %-5s %-4s %6u %-13s %-22s %6u%s%s\n",
          (unsigned long long)f->index, rel(f->conn, f->ts_ns), (unsigned long long)f->packet,
          conn_label(f->conn, lb, sizeof lb), f->from == FL_WIRE_CLIENT ? "C->S" : "C<-S",
          f->h.stream_id, type_upper(f->h.type, tb, sizeof tb), fb, f->h.length, *sum ? "  " : "",
          sum);
  for (size_t i = 0; i < f->n_headers; i++) {
    sb_reset(&l->line);
    sb_text(&l->line, f->headers[i].name, f->headers[i].name_len);
    sb_add(&l->line, ": ", 2);
    sb_text(&l->line, f->headers[i].value, f->headers[i].value_len);
    fprintf(l->out, "           %s\n", l->line.p ? l->line.p : "");
  }
  return l->line.oom ? -1 : 0;
}

static int text_notice(void *user, const fl_wire_notice *n) {
  fl_wire_ladder *l = user;
  char lb[32];
  fprintf(l->out, "-- %.6fs packet %llu conn %s %s: %s\n", rel(n->conn, n->ts_ns),
          (unsigned long long)n->packet, conn_label(n->conn, lb, sizeof lb),
          n->from == FL_WIRE_CLIENT ? "C->S" : "C<-S", n->text);
  return 0;
}

/* ---- JSON ---- */

static void hexstr(const uint8_t *p, size_t n, char *out) {
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hx[p[i] >> 4];
    out[2 * i + 1] = hx[p[i] & 15];
  }
  out[2 * n] = '\0';
}

/* o[key] = the bytes as text, and o[key_hex] beside it when they are not UTF-8 (jsonout.h). A
 * member that cannot be made (out of memory) is left out. */
static void set_str(json_t *o, const char *key, const void *s, size_t n) {
  if (fl_json_set_bytes(o, key, s, n) < 0) return;
}

static const char *msg_state_name(fl_wire_msg_state s) {
  switch (s) {
  case FL_WIRE_MSG_PENDING: return "pending";
  case FL_WIRE_MSG_DECODED: return "decoded";
  case FL_WIRE_MSG_INVALID: return "invalid";
  case FL_WIRE_MSG_MISSING: return "missing";
  case FL_WIRE_MSG_COMPRESSED: return "compressed";
  case FL_WIRE_MSG_FOREIGN: return "foreign";
  case FL_WIRE_MSG_TOO_LARGE: return "too_large";
  }
  return "?";
}

/* One line. jansson's json_dumpf writes token by token; one buffer and one fwrite is several
 * times faster. */
static int put_json(fl_wire_ladder *l, json_t *o) {
  if (!o) return -1;
  size_t n = json_dumpb(o, l->jbuf, l->jcap, JSON_FLAGS);
  if (n + 1 > l->jcap) {
    size_t cap = l->jcap ? l->jcap : 4096;
    while (cap < n + 1) cap *= 2;
    char *b = realloc(l->jbuf, cap);
    if (!b) {
      json_decref(o);
      return -1;
    }
    l->jbuf = b;
    l->jcap = cap;
    n = json_dumpb(o, l->jbuf, l->jcap, JSON_FLAGS);
  }
  json_decref(o);
  if (n == 0) return -1;
  l->jbuf[n] = '\n';
  return fwrite(l->jbuf, 1, n + 1, l->out) == n + 1 ? 0 : -1;
}

static void conn_json(json_t *o, const fl_wire_conn *c) {
  json_object_set_new(o, "leg", json_integer(c->leg));
  if (c->leg_name && c->leg_name[0]) json_object_set_new(o, "leg_name", json_string(c->leg_name));
  json_object_set_new(o, "conn", json_integer(c->conn));
  json_object_set_new(o, "client", json_string(c->client));
  json_object_set_new(o, "server", json_string(c->server));
}

static int json_frame(void *user, const fl_wire_frame *f) {
  fl_wire_ladder *l = user;
  json_t *o = json_object();
  if (!o) return -1;
  char tb[16], fb[64];
  json_object_set_new(o, "frame", json_integer((json_int_t)f->index));
  json_object_set_new(o, "packet", json_integer((json_int_t)f->packet));
  json_object_set_new(o, "ts_ns", json_integer(f->ts_ns));
  json_object_set_new(o, "t", json_real(rel(f->conn, f->ts_ns)));
  conn_json(o, f->conn);
  json_object_set_new(o, "conn_frame", json_integer((json_int_t)f->conn_frame));
  json_object_set_new(o, "from", json_string(fl_wire_side_name(f->from)));
  json_object_set_new(o, "stream", json_integer(f->h.stream_id));
  const char *tn = fl_h2_frame_type_name(f->h.type);
  json_object_set_new(o, "type",
                      tn ? json_string(tn) : json_string(type_upper(f->h.type, tb, sizeof tb)));
  json_object_set_new(o, "type_code", json_integer(f->h.type));
  flag_names(f->h.type, f->h.flags, fb, sizeof fb);
  json_object_set_new(o, "flags", json_string(fb));
  json_object_set_new(o, "flags_code", json_integer(f->h.flags));
  json_object_set_new(o, "length", json_integer(f->h.length));
  if (f->pad_len) json_object_set_new(o, "padding", json_integer(f->pad_len));
  if (f->missing) json_object_set_new(o, "missing", json_integer(f->missing));
  if (f->mark) json_object_set_new(o, "mark", json_string(fl_wire_mark_name(f->mark)));
  if (f->problem) json_object_set_new(o, "problem", json_string(f->problem));
  if (f->stream_closed) json_object_set_new(o, "stream_closed", json_true());
  if (f->h.type == FL_H2_DATA || f->block_end)
    json_object_set_new(o, "end_stream", json_boolean(f->end_stream));
  if (f->block_end) {
    json_object_set_new(o, "headers_decoded", json_boolean(f->headers_decoded));
    if (f->hpack_error) json_object_set_new(o, "hpack_error", json_string(f->hpack_error));
    if (f->block_frames > 1) json_object_set_new(o, "block_frames", json_integer(f->block_frames));
    json_t *hs = json_array();
    for (size_t i = 0; i < f->n_headers; i++) {
      json_t *h = json_object();
      set_str(h, "name", f->headers[i].name, f->headers[i].name_len);
      set_str(h, "value", f->headers[i].value, f->headers[i].value_len);
      json_array_append_new(hs, h);
    }
    json_object_set_new(o, "headers", hs);
    if (f->trailers) json_object_set_new(o, "trailers", json_true());
    if (f->path) set_str(o, "path", f->path, strlen(f->path));
    if (f->http_status >= 0) json_object_set_new(o, "http_status", json_integer(f->http_status));
    if (f->grpc_status >= 0) {
      json_object_set_new(o, "grpc_status", json_integer(f->grpc_status));
      json_object_set_new(o, "grpc_status_name", json_string(fl_status_name(f->grpc_status)));
    }
    if (f->grpc_message) set_str(o, "grpc_message", f->grpc_message, f->grpc_message_len);
    if (f->grpc_timeout_ns >= 0)
      json_object_set_new(o, "grpc_timeout_ns", json_integer(f->grpc_timeout_ns));
  }
  if (f->h.type == FL_H2_PUSH_PROMISE)
    json_object_set_new(o, "promised_stream", json_integer(f->promised_stream_id));
  if (f->has_priority) {
    json_object_set_new(o, "depends_on", json_integer(f->depends_on));
    json_object_set_new(o, "weight", json_integer(f->weight));
    json_object_set_new(o, "exclusive", json_boolean(f->exclusive));
  }
  if (!f->problem) switch ((fl_h2_frame_type)f->h.type) {
    case FL_H2_RST_STREAM:
    case FL_H2_GOAWAY: {
      const char *en = fl_h2_error_name(f->error_code);
      json_object_set_new(o, "error_code", en ? json_string(en) : json_null());
      json_object_set_new(o, "error_code_value", json_integer(f->error_code));
      if (f->h.type == FL_H2_GOAWAY) {
        json_object_set_new(o, "last_stream_id", json_integer(f->last_stream_id));
        set_str(o, "debug", f->debug, f->debug_len);
      }
      break;
    }
    case FL_H2_SETTINGS: {
      json_t *a = json_array();
      for (size_t i = 0; i < f->n_settings; i++) {
        json_t *s = json_object();
        const char *n = fl_h2_setting_name(f->settings[i].id);
        json_object_set_new(s, "id", json_integer(f->settings[i].id));
        if (n) json_object_set_new(s, "name", json_string(n));
        json_object_set_new(s, "value", json_integer(f->settings[i].value));
        json_array_append_new(a, s);
      }
      json_object_set_new(o, "settings", a);
      break;
    }
    case FL_H2_PING: {
      char hx[17];
      hexstr(f->opaque, 8, hx);
      json_object_set_new(o, "opaque", json_string(hx));
      break;
    }
    case FL_H2_WINDOW_UPDATE:
      json_object_set_new(o, "increment", json_integer(f->increment));
      break;
    case FL_H2_DATA: {
      json_t *a = json_array();
      for (size_t i = 0; i < f->n_messages; i++) {
        const fl_wire_message *m = &f->messages[i];
        json_t *j = json_object();
        json_object_set_new(j, "n", json_integer((json_int_t)m->ordinal));
        if (m->has_prefix) {
          json_object_set_new(j, "compressed", json_integer(m->compressed));
          json_object_set_new(j, "length", json_integer(m->length));
        }
        json_object_set_new(j, "offset", json_integer(m->offset));
        json_object_set_new(j, "bytes", json_integer(m->bytes));
        json_object_set_new(j, "starts", json_boolean(m->starts));
        json_object_set_new(j, "ends", json_boolean(m->ends));
        if (m->ends) json_object_set_new(j, "state", json_string(msg_state_name(m->state)));
        if (m->has_seq) json_object_set_new(j, "seq", json_integer((json_int_t)m->seq));
        if (m->problem) json_object_set_new(j, "problem", json_string(m->problem));
        json_array_append_new(a, j);
      }
      json_object_set_new(o, "messages", a);
      break;
    }
    case FL_H2_HEADERS:
    case FL_H2_PRIORITY:
    case FL_H2_PUSH_PROMISE:
    case FL_H2_CONTINUATION: break;
    }
  if (f->h.type == FL_H2_SETTINGS || f->h.type == FL_H2_PING)
    json_object_set_new(o, "ack", json_boolean(f->h.flags & FL_H2_FLAG_ACK));
  if (f->n_windows) {
    json_t *a = json_array();
    for (size_t i = 0; i < f->n_windows; i++) {
      const fl_wire_window *w = &f->windows[i];
      json_t *j = json_object();
      json_object_set_new(j, "owner", json_string(fl_wire_side_name(w->owner)));
      json_object_set_new(j, "stream", json_integer(w->stream_id));
      json_object_set_new(j, "window", json_integer(w->window));
      json_object_set_new(j, "delta", json_integer(w->delta));
      json_object_set_new(j, "cause", json_string(fl_wire_window_cause_name(w->cause)));
      if (w->zero_since_ns >= 0)
        json_object_set_new(j, "zero_since_ns", json_integer(w->zero_since_ns));
      if (w->zero_for_ns > 0) json_object_set_new(j, "zero_for_ns", json_integer(w->zero_for_ns));
      json_array_append_new(a, j);
    }
    json_object_set_new(o, "windows", a);
  }
  return put_json(l, o);
}

static int json_notice(void *user, const fl_wire_notice *n) {
  fl_wire_ladder *l = user;
  json_t *o = json_object();
  if (!o) return -1;
  json_object_set_new(o, "notice", json_string(fl_wire_notice_name(n->kind)));
  json_object_set_new(o, "packet", json_integer((json_int_t)n->packet));
  json_object_set_new(o, "ts_ns", json_integer(n->ts_ns));
  json_object_set_new(o, "t", json_real(rel(n->conn, n->ts_ns)));
  conn_json(o, n->conn);
  json_object_set_new(o, "from", json_string(fl_wire_side_name(n->from)));
  json_object_set_new(o, "text", json_string(n->text));
  return put_json(l, o);
}

void fl_wire_finding_write_json(FILE *out, const fl_wire_finding *f) {
  json_t *o = json_object();
  if (!o) return;
  json_object_set_new(o, "finding", json_string(fl_wire_finding_kind_name(f->kind)));
  json_object_set_new(o, "ts_ns", json_integer(f->ts_ns));
  if (f->frame) json_object_set_new(o, "frame", json_integer((json_int_t)f->frame));
  json_object_set_new(o, "packet", json_integer((json_int_t)f->packet));
  json_object_set_new(o, "leg", json_integer(f->leg));
  json_object_set_new(o, "conn", json_integer(f->conn));
  json_object_set_new(o, "stream", json_integer(f->stream_id));
  json_object_set_new(o, "side", json_string(fl_wire_side_name(f->side)));
  if (f->duration_ns) json_object_set_new(o, "duration_ns", json_integer(f->duration_ns));
  set_str(o, "text", f->text, strlen(f->text));
  json_dumpf(o, out, JSON_FLAGS);
  fputc('\n', out);
  json_decref(o);
}

/* ---- fields (tshark's -T fields) ---- */

static void fields_flush(fl_wire_ladder *l) {
  if (!l->packet) return;
  fprintf(l->out, "%llu\t%s\t%s\n", (unsigned long long)l->packet, l->streams.p, l->types.p);
  l->packet = 0;
  sb_reset(&l->streams);
  sb_reset(&l->types);
}

static int fields_frame(void *user, const fl_wire_frame *f) {
  fl_wire_ladder *l = user;
  if (f->packet != l->packet) fields_flush(l);
  char b[16];
  int n = snprintf(b, sizeof b, "%s%u", l->packet ? "," : "", f->h.stream_id);
  sb_add(&l->streams, b, (size_t)n);
  n = snprintf(b, sizeof b, "%s%u", l->packet ? "," : "", f->h.type);
  sb_add(&l->types, b, (size_t)n);
  l->packet = f->packet;
  return l->streams.oom || l->types.oom ? -1 : 0;
}

void fl_wire_ladder_visitor(fl_wire_ladder *l, fl_wire_visitor *v) {
  *v = (fl_wire_visitor){.user = l};
  switch (l->fmt) {
  case FL_LADDER_TEXT:
    v->connection = text_conn;
    v->frame = text_frame;
    v->notice = text_notice;
    break;
  case FL_LADDER_JSON:
    v->frame = json_frame;
    v->notice = json_notice;
    break;
  case FL_LADDER_FIELDS: v->frame = fields_frame; break;
  }
}

int fl_wire_ladder_finish(fl_wire_ladder *l, const fl_wire_findings *findings,
                          const fl_wire_stats *st, char *err, size_t errlen) {
  if (l->fmt == FL_LADDER_FIELDS) fields_flush(l);
  if (l->fmt == FL_LADDER_TEXT) {
    if (findings) {
      size_t n = fl_wire_findings_count(findings);
      fprintf(l->out, "\n# findings: %s\n", n ? "" : "none");
      for (size_t i = 0; i < n; i++)
        fprintf(l->out, "%s\n", fl_wire_findings_at(findings, i)->text);
    }
    if (st) {
      fprintf(l->out,
              "\n# %llu frames on %u HTTP/2 connection%s, %llu packets (%llu truncated by the "
              "snaplen), %llu bytes not captured, %llu retransmitted, %llu segments out of "
              "order, %u direction%s lost sync\n",
              (unsigned long long)st->frames, st->connections, st->connections == 1 ? "" : "s",
              (unsigned long long)st->packets, (unsigned long long)st->packets_truncated,
              (unsigned long long)st->bytes_missing, (unsigned long long)st->bytes_retransmitted,
              (unsigned long long)st->segments_out_of_order, st->lost_sync,
              st->lost_sync == 1 ? "" : "s");
    }
  } else if (l->fmt == FL_LADDER_JSON && findings) {
    for (size_t i = 0; i < fl_wire_findings_count(findings); i++)
      fl_wire_finding_write_json(l->out, fl_wire_findings_at(findings, i));
  }
  if (fflush(l->out) != 0 || ferror(l->out)) {
    fl_set_err(err, errlen, "cannot write %s: %s", l->name, strerror(errno ? errno : EIO));
    return -1;
  }
  return 0;
}

/* ---- tee ---- */

static int tee_conn(void *user, const fl_wire_conn *c) {
  fl_wire_tee *t = user;
  if (t->a->connection && t->a->connection(t->a->user, c)) return -1;
  return t->b->connection ? t->b->connection(t->b->user, c) : 0;
}
static int tee_frame(void *user, const fl_wire_frame *f) {
  fl_wire_tee *t = user;
  if (t->a->frame && t->a->frame(t->a->user, f)) return -1;
  return t->b->frame ? t->b->frame(t->b->user, f) : 0;
}
static int tee_window(void *user, const fl_wire_window *w) {
  fl_wire_tee *t = user;
  if (t->a->window && t->a->window(t->a->user, w)) return -1;
  return t->b->window ? t->b->window(t->b->user, w) : 0;
}
static int tee_notice(void *user, const fl_wire_notice *n) {
  fl_wire_tee *t = user;
  if (t->a->notice && t->a->notice(t->a->user, n)) return -1;
  return t->b->notice ? t->b->notice(t->b->user, n) : 0;
}

void fl_wire_tee_visitor(fl_wire_tee *t, fl_wire_visitor *v) {
  *v = (fl_wire_visitor){.user = t,
                         .connection = (t->a->connection || t->b->connection) ? tee_conn : NULL,
                         .frame = (t->a->frame || t->b->frame) ? tee_frame : NULL,
                         .window = (t->a->window || t->b->window) ? tee_window : NULL,
                         .notice = (t->a->notice || t->b->notice) ? tee_notice : NULL};
}

/* ---- a run directory ---- */

int fl_wire_write_run(const char *pcap, FILE *txt, FILE *jsonl, const fl_wire_options *opt,
                      fl_wire_findings *findings, const fl_wire_visitor *also, fl_wire_stats *stats,
                      char *err, size_t errlen) {
  fl_wire_stats local;
  if (!stats) stats = &local;
  int rv = -1;
  fl_wire_ladder *lt = fl_wire_ladder_new(txt, "frames.txt", FL_LADDER_TEXT);
  fl_wire_ladder *lj = fl_wire_ladder_new(jsonl, "frames.jsonl", FL_LADDER_JSON);
  if (!lt || !lj) {
    fl_set_err(err, errlen, "out of memory");
    goto out;
  }
  fl_wire_visitor vt, vj, vf = {0}, v1, v2, v;
  fl_wire_ladder_visitor(lt, &vt);
  fl_wire_ladder_visitor(lj, &vj);
  if (findings) fl_wire_findings_visitor(findings, &vf);
  fl_wire_tee t1 = {&vt, &vj};
  fl_wire_tee_visitor(&t1, &v1);
  fl_wire_tee t2 = {&v1, &vf};
  fl_wire_tee_visitor(&t2, &v2);
  fl_wire_visitor none = {0};
  fl_wire_tee t3 = {&v2, also ? also : &none};
  fl_wire_tee_visitor(&t3, &v);
  if (fl_wire_decode_file(pcap, opt, &v, stats, err, errlen) < 0) goto out;
  if (findings && fl_wire_findings_end(findings, stats->last_ts_ns) < 0) {
    fl_set_err(err, errlen, "out of memory");
    goto out;
  }
  if (fl_wire_ladder_finish(lt, findings, stats, err, errlen) < 0) goto out;
  if (fl_wire_ladder_finish(lj, NULL, NULL, err, errlen) < 0) goto out;
  rv = 0;
out:
  fl_wire_ladder_free(lt);
  fl_wire_ladder_free(lj);
  return rv;
}
