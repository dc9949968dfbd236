/*
 * wire_evidence: a run's capture read back as HTTP/2 frames, once the capture has stopped
 * (issue 9, "Frames as evidence").
 *
 * fl_wire_evidence_write decodes capture.pcap of the run directory with the run's legs (leg 0
 * is the connection the client dialled: the proxy's port when the run is proxied, else the
 * server's; leg 1 is proxy <-> server), writes frames.txt and frames.jsonl through the run
 * directory (rundir.h), marks the frames the proxy injected, dropped or delayed (from its
 * `frame` and `fault` events, given with fl_wire_evidence_proxy_event), compares the statuses
 * the peers reported with the trailers on their legs, and keeps the findings.
 *
 * When no proxy gave the observation model its frames, the model gets every frame of leg 0
 * from here, so `wire.*` fields are known for any run that captures. Times given to the model
 * are model time: the capture's stamps are CLOCK_REALTIME, placed with the run's `wall_t0_ns`
 * (CLOCK_REALTIME read beside the model's t0).
 */
#ifndef FL_WIRE_EVIDENCE_H
#define FL_WIRE_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "observe.h"
#include "rundir.h"
#include "scenario.h"
#include "util.h"

/* One finding of the frames, in plain words (reports/wire/findings.h). */
typedef struct {
  const char *kind; /* "window_exhausted", ... (static) */
  char *text;
  int64_t at_ns;  /* model time */
  uint64_t frame; /* its frame in frames.txt, 0 if none */
} fl_finding_record;

typedef struct fl_wire_evidence fl_wire_evidence;

/* proxied: the client dialled the proxy on proxy_port; s (borrowed) gives the faults. NULL
 * when out of memory. */
fl_wire_evidence *fl_wire_evidence_new(const fl_scenario *s, int server_port, bool proxied,
                                       int proxy_port, int64_t wall_t0_ns);
void fl_wire_evidence_free(fl_wire_evidence *w);

/* A `frame` or `fault` event of the proxy, for the marks in the ladder. */
void fl_wire_evidence_proxy_event(fl_wire_evidence *w, const fl_event *ev);

/*
 * Decodes, writes frames.txt and frames.jsonl, and keeps the findings (fl_wire_evidence_findings).
 * obs gets the frames when the run was not proxied, and gives the peers' statuses. Returns 0,
 * or -1 with err (the capture cannot be read, a file cannot be made or written: the run
 * directory's record holds the write errors).
 */
FL_MUST_USE int fl_wire_evidence_write(fl_wire_evidence *w, fl_rundir *rd, fl_observe *obs,
                                       char *err, size_t errlen);

/* The findings, valid until fl_wire_evidence_free; frames decoded. */
const fl_finding_record *fl_wire_evidence_findings(const fl_wire_evidence *w, size_t *n);
uint64_t fl_wire_evidence_frames(const fl_wire_evidence *w);
/* The capture's first packet in run time (frames.txt's and frames.jsonl's `t` count from it):
 * false when the capture held none. */
bool fl_wire_evidence_start(const fl_wire_evidence *w, int64_t *t_ns);

#endif
