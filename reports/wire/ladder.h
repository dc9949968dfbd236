/*
 * ladder: the frames of a capture written out, as a visitor of fl_wire_decode_file.
 *
 * FL_LADDER_TEXT (frames.txt): a line per connection when it starts, then one line per frame
 *
 *     frame  time(s)    packet conn dir   stream type          flags               length  summary
 *         9  0.000771        9 1    C->S       1 HEADERS       END_HEADERS            93  POST
 * /faultline.Test/Bidi :method: POST
 *               ...
 *
 *   (time since the capture's first packet; dir C->S: the client sent it, C<-S: the server;
 *   the headers of a header block indented under the frame that ends it; the send windows a
 *   frame changed at the end of its summary, e.g. "win C s1=0 conn=30000"), a line per notice
 *   ("-- ..."), and with fl_wire_ladder_finish the findings and a count.
 * FL_LADDER_JSON (frames.jsonl): one JSON object per frame ({"frame": N, ...}), one per notice
 *   ({"notice": "lost_sync", ...}); strict UTF-8: a string whose bytes are not UTF-8 is written
 *   with U+FFFD in place of each bad byte, and beside it "<key>_hex" with its bytes in hex.
 * FL_LADDER_FIELDS: tshark's `-T fields -e frame.number -e http2.streamid -e http2.type`:
 *   one line per packet that completes frames, "PACKET<TAB>STREAM,...<TAB>TYPE,...".
 *
 * Errors: fl_wire_ladder_finish returns -1 if writing failed ("cannot write NAME: reason").
 */
#ifndef FL_LADDER_H
#define FL_LADDER_H

#include <stdio.h>

#include "findings.h"
#include "util.h"
#include "wire.h"

typedef enum { FL_LADDER_TEXT, FL_LADDER_JSON, FL_LADDER_FIELDS } fl_ladder_format;

typedef struct fl_wire_ladder fl_wire_ladder;

/* name: the output's name for messages. NULL when out of memory. */
fl_wire_ladder *fl_wire_ladder_new(FILE *out, const char *name, fl_ladder_format fmt);
/* The visitor that writes (user is l). */
void fl_wire_ladder_visitor(fl_wire_ladder *l, fl_wire_visitor *v);
/* Writes the end: findings (may be NULL) and the totals in stats (may be NULL), then flushes. */
FL_MUST_USE int fl_wire_ladder_finish(fl_wire_ladder *l, const fl_wire_findings *findings,
                                      const fl_wire_stats *stats, char *err, size_t errlen);
void fl_wire_ladder_free(fl_wire_ladder *l);

/* One finding as a line of text (its text), or as a JSON object on one line. */
void fl_wire_finding_write_json(FILE *out, const fl_wire_finding *f);

/* Calls a and then b for every record; stops at the first non-zero. */
typedef struct {
  const fl_wire_visitor *a, *b;
} fl_wire_tee;
void fl_wire_tee_visitor(fl_wire_tee *t, fl_wire_visitor *v);

/*
 * What the runner calls once a run's capture has stopped: decodes the capture file `pcap` and
 * writes the ladder (then the findings) to `txt` (frames.txt) and the frames as JSON lines to
 * `jsonl` (frames.jsonl), both streams the caller made and closes. Every record also goes to
 * `findings` (may be NULL; give it the peers' statuses with fl_wire_findings_peer_status
 * before), which is ended (fl_wire_findings_end) at the capture's last packet, and to `also`
 * (may be NULL: the runner's own reader, which gives the frames to the observation model).
 * stats may be NULL. Returns 0, or -1 with err set (the capture cannot be read or decoded, a
 * stream cannot be written, out of memory).
 */
FL_MUST_USE int fl_wire_write_run(const char *pcap, FILE *txt, FILE *jsonl,
                                  const fl_wire_options *opt, fl_wire_findings *findings,
                                  const fl_wire_visitor *also, fl_wire_stats *stats, char *err,
                                  size_t errlen);

#endif
