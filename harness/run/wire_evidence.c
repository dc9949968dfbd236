#include "wire_evidence.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "ladder.h"
#include "wire.h"

/* The proxy acts on few frames: marks beyond this many are not shown. */
#define MAX_MARKS 256

struct fl_wire_evidence {
  const fl_scenario *s;
  int server_port, proxy_port;
  bool proxied;
  int64_t wall_t0_ns;
  bool withheld_toward[2]; /* a withhold_window_update fault acted toward that fl_wire_side */
  fl_wire_mark marks[MAX_MARKS];
  size_t n_marks;
  fl_finding_record *findings;
  size_t n_findings;
  uint64_t frames;
  int64_t first_ts_ns;    /* the capture's first packet (CLOCK_REALTIME), 0 if none */
  int64_t messages[2][2]; /* gRPC messages ended in DATA frames, by leg and sender */
  fl_observe *obs;        /* during fl_wire_evidence_write, when the model takes the frames */
};

fl_wire_evidence *fl_wire_evidence_new(const fl_scenario *s, int server_port, bool proxied,
                                       int proxy_port, int64_t wall_t0_ns) {
  fl_wire_evidence *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->s = s;
  w->server_port = server_port;
  w->proxied = proxied;
  w->proxy_port = proxy_port;
  w->wall_t0_ns = wall_t0_ns;
  return w;
}

void fl_wire_evidence_free(fl_wire_evidence *w) {
  if (!w) return;
  for (size_t i = 0; i < w->n_findings; i++) free(w->findings[i].text);
  free(w->findings);
  free(w);
}

static void add_mark(fl_wire_evidence *w, unsigned leg, unsigned conn, fl_wire_side from,
                     uint64_t frame, fl_wire_mark_kind mark) {
  if (w->n_marks == MAX_MARKS || conn == 0 || frame == 0) return;
  w->marks[w->n_marks++] =
      (fl_wire_mark){.leg = leg, .conn = conn, .from = from, .frame = frame, .mark = mark};
}

/* Legs: 0 is client <-> proxy, 1 is proxy <-> server. A frame the client receives is on leg 0,
 * one the server receives on leg 1. */
void fl_wire_evidence_proxy_event(fl_wire_evidence *w, const fl_event *ev) {
  const char *action = fl_event_str(ev, FL_ATTR_ACTION);
  if (!w->proxied || !action) return;
  unsigned conn = (unsigned)fl_event_int(ev, FL_ATTR_CONN, 0);
  uint64_t ordinal = (uint64_t)fl_event_int(ev, FL_ATTR_ORDINAL, 0);
  if (ev->id == FL_EV_FRAME) {
    /* A frame its receiver got: `from` is whose frame the receiver sees it as. */
    const char *from = fl_event_str(ev, FL_ATTR_FROM);
    if (!from) return;
    fl_wire_side sender = !strcmp(from, "server") ? FL_WIRE_SERVER : FL_WIRE_CLIENT;
    unsigned leg = sender == FL_WIRE_SERVER ? 0 : 1;
    if (!strcmp(action, "injected"))
      add_mark(w, leg, conn, sender, ordinal, FL_WIRE_MARK_INJECTED);
    else if (!strcmp(action, "delayed"))
      add_mark(w, leg, conn, sender, ordinal, FL_WIRE_MARK_DELAYED);
  } else if (ev->id == FL_EV_FAULT && !strcmp(action, "withheld")) {
    int64_t k = fl_event_int(ev, FL_ATTR_INDEX, -1);
    if (k < 0 || (size_t)k >= w->s->n_faults) return;
    fl_toward t = w->s->faults[k].toward;
    if (t != FL_TOWARD_SERVER) w->withheld_toward[FL_WIRE_CLIENT] = true;
    if (t != FL_TOWARD_CLIENT) w->withheld_toward[FL_WIRE_SERVER] = true;
  } else if (ev->id == FL_EV_FAULT && !strcmp(action, "dropped")) {
    /* A dropped frame is numbered among its sender's frames, on the sender's leg. The fault
     * says who: drop_frame drops what flows toward its `toward` side; the other drops are the
     * ACKs of a PING or SETTINGS the proxy injected toward that side, sent by it. */
    int64_t k = fl_event_int(ev, FL_ATTR_INDEX, -1);
    if (k < 0 || (size_t)k >= w->s->n_faults) return;
    const fl_fault *f = &w->s->faults[k];
    if (f->toward == FL_TOWARD_BOTH) return;
    fl_wire_side toward = f->toward == FL_TOWARD_CLIENT ? FL_WIRE_CLIENT : FL_WIRE_SERVER;
    fl_wire_side sender =
        f->action.kind == FL_ACTION_DROP_FRAME ? (fl_wire_side)(1 - toward) : toward;
    add_mark(w, sender == FL_WIRE_SERVER ? 1 : 0, conn, sender, ordinal, FL_WIRE_MARK_DROPPED);
  }
}

/* ---- the model's reader: frames of leg 0 as the receiving peer saw them -------------------- */

static int64_t model_time(const fl_wire_evidence *w, int64_t ts_ns) {
  return ts_ns - w->wall_t0_ns;
}

static int to_model(void *user, const fl_wire_frame *f) {
  fl_wire_evidence *w = user;
  w->frames++;
  for (size_t i = 0; f->h.type == FL_H2_DATA && f->conn->leg < 2 && i < f->n_messages; i++)
    if (f->messages[i].ends) w->messages[f->conn->leg][f->from]++;
  if (!w->obs || f->conn->leg != 0) return 0;
  fl_observed_frame o = {
      .t_ns = model_time(w, f->ts_ns),
      .from = f->from == FL_WIRE_SERVER ? FL_SIDE_SERVER : FL_SIDE_CLIENT,
      .conn = f->conn->conn,
      .type = f->h.type,
      .flags = f->h.flags,
      .stream_id = f->h.stream_id,
      .length = f->h.length,
      .has_code = f->h.type == FL_H2_RST_STREAM || f->h.type == FL_H2_GOAWAY,
      .code = f->error_code,
      .last_stream_id = f->last_stream_id,
      .debug = (const char *)f->debug,
      .debug_len = f->debug_len,
      .has_grpc_status = f->trailers && f->grpc_status >= 0,
      .grpc_status = f->grpc_status,
  };
  /* The sender's send window after a DATA frame: the smaller of its stream's and its
   * connection's, as the proxy reports it. */
  for (size_t i = 0; f->h.type == FL_H2_DATA && i < f->n_windows; i++) {
    const fl_wire_window *win = &f->windows[i];
    if (win->owner != f->from) continue;
    if (!o.has_window || win->window < o.window) o.window = win->window;
    o.has_window = true;
  }
  fl_observe_frame(w->obs, &o);
  return 0;
}

/* ---- writing ------------------------------------------------------------------------------ */

static int keep_findings(fl_wire_evidence *w, const fl_wire_findings *f) {
  size_t n = fl_wire_findings_count(f);
  if (n == 0) return 0;
  w->findings = calloc(n, sizeof *w->findings);
  if (!w->findings) return -1;
  /* frames.txt gives a finding's time from the capture's first packet; report.json gives it
   * in run time, like every other event. */
  for (size_t i = 0; i < n; i++) {
    const fl_wire_finding *x = fl_wire_findings_at(f, i);
    fl_finding_record *r = &w->findings[w->n_findings];
    r->kind = fl_wire_finding_kind_name(x->kind);
    r->text = strdup(x->text ? x->text : "");
    if (!r->text) return -1;
    r->at_ns = model_time(w, x->ts_ns);
    r->frame = x->frame;
    w->n_findings++;
  }
  return 0;
}

int fl_wire_evidence_write(fl_wire_evidence *w, fl_rundir *rd, fl_observe *obs, char *err,
                           size_t errlen) {
  char pcap[PATH_MAX];
  snprintf(pcap, sizeof pcap, "%s/capture.pcap", fl_rundir_path(rd));
  fl_wire_port ports[2];
  size_t n_ports = 0;
  if (w->proxied) ports[n_ports++] = (fl_wire_port){(uint16_t)w->proxy_port, "client-proxy"};
  ports[n_ports++] = (fl_wire_port){(uint16_t)w->server_port, w->proxied ? "proxy-server" : NULL};
  fl_wire_options opt = {
      .ports = ports, .n_ports = n_ports, .marks = w->marks, .n_marks = w->n_marks};

  fl_wire_findings *findings = fl_wire_findings_new(0);
  if (!findings) {
    fl_set_err(err, errlen, "out of memory");
    return -1;
  }
  /* The statuses the peers reported, against the trailers on their own legs; with several
   * calls a side's one status would not name each call's, so only a single call is compared. */
  const fl_side_obs *server = fl_observe_side(obs, FL_SIDE_SERVER);
  const fl_side_obs *client = fl_observe_side(obs, FL_SIDE_CLIENT);
  if (client->have_status && client->n_calls == 1)
    fl_wire_findings_peer_status(findings, 0, FL_WIRE_CLIENT, 0, client->status_code);
  if (server->have_status && server->n_calls == 1)
    fl_wire_findings_peer_status(findings, w->proxied ? 1 : 0, FL_WIRE_SERVER, 0,
                                 server->status_code);

  /* WINDOW_UPDATEs withheld toward a side keep its window shut on the leg it sends on: the
   * server's on proxy <-> server, the client's on client <-> proxy. */
  if (w->withheld_toward[FL_WIRE_SERVER]) fl_wire_findings_withheld(findings, 1, FL_WIRE_SERVER);
  if (w->withheld_toward[FL_WIRE_CLIENT]) fl_wire_findings_withheld(findings, 0, FL_WIRE_CLIENT);
  w->obs = w->proxied ? NULL : obs;
  if (w->obs) fl_observe_wire_source(obs);
  fl_wire_visitor model = {.user = w, .frame = to_model};
  int rv = -1;
  FILE *txt = fl_rundir_fopen(rd, "frames.txt", err, errlen);
  FILE *jsonl = txt ? fl_rundir_fopen(rd, "frames.jsonl", err, errlen) : NULL;
  fl_wire_stats stats;
  if (jsonl &&
      fl_wire_write_run(pcap, txt, jsonl, &opt, findings, &model, &stats, err, errlen) == 0)
    rv = keep_findings(w, findings);
  if (rv == 0) w->first_ts_ns = stats.first_ts_ns;
  /* An external side's messages, as counted on its own leg (observe.h, EXTERNAL SIDES): the
   * client's is leg 0, the server's leg 1 when proxied. */
  for (int i = 0; rv == 0 && i < FL_N_SIDES; i++) {
    fl_wire_side me = i == FL_SIDE_SERVER ? FL_WIRE_SERVER : FL_WIRE_CLIENT;
    unsigned leg = me == FL_WIRE_SERVER && w->proxied ? 1 : 0;
    if (fl_observe_side(obs, (fl_side)i)->external)
      fl_observe_wire_messages(obs, (fl_side)i, w->messages[leg][me], w->messages[leg][1 - me]);
  }
  if (rv < 0 && txt && jsonl && !err[0]) fl_set_err(err, errlen, "out of memory");
  /* The streams record their own write errors in the run directory (the verdict names them). */
  if (txt) fclose(txt);
  if (jsonl) fclose(jsonl);
  w->obs = NULL;
  fl_wire_findings_free(findings);
  return rv;
}

const fl_finding_record *fl_wire_evidence_findings(const fl_wire_evidence *w, size_t *n) {
  *n = w->n_findings;
  return w->findings;
}

uint64_t fl_wire_evidence_frames(const fl_wire_evidence *w) { return w->frames; }

bool fl_wire_evidence_start(const fl_wire_evidence *w, int64_t *t_ns) {
  *t_ns = model_time(w, w->first_ts_ns);
  return w->first_ts_ns != 0;
}
