/*
 * What the wire fuzz targets share: a decode of a capture in memory with every writer
 * (text ladder, JSON lines, findings), and the one oracle that holds for any input: every JSON
 * line the decoder writes is valid JSON (jansson reads it back, NUL allowed as jsonout.h keeps
 * it), so strictly UTF-8.
 */
#ifndef FL_FUZZ_WIRE_COMMON_H
#define FL_FUZZ_WIRE_COMMON_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "ladder.h"
#include "wire.h"

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) __builtin_trap();                                                                 \
  } while (0)

/* Decodes the pcap bytes with ports (or none) and checks the JSON lines. */
static void fuzz_decode_pcap(const uint8_t *data, size_t size, const fl_wire_options *opt) {
  FILE *in = fmemopen((void *)data, size, "r");
  if (!in) return;
  char *text = NULL, *json = NULL;
  size_t text_len = 0, json_len = 0;
  FILE *ft = open_memstream(&text, &text_len);
  FILE *fj = open_memstream(&json, &json_len);
  REQUIRE(ft && fj);
  fl_wire_ladder *lt = fl_wire_ladder_new(ft, "text", FL_LADDER_TEXT);
  fl_wire_ladder *lj = fl_wire_ladder_new(fj, "json", FL_LADDER_JSON);
  fl_wire_findings *fi = fl_wire_findings_new(0);
  REQUIRE(lt && lj && fi);
  fl_wire_findings_peer_status(fi, 0, FL_WIRE_CLIENT, 0, 4);
  fl_wire_visitor vt, vj, vf, v1, v;
  fl_wire_ladder_visitor(lt, &vt);
  fl_wire_ladder_visitor(lj, &vj);
  fl_wire_findings_visitor(fi, &vf);
  fl_wire_tee t1 = {&vt, &vj}, t2 = {&v1, &vf};
  fl_wire_tee_visitor(&t1, &v1);
  fl_wire_tee_visitor(&t2, &v);
  fl_wire_stats st;
  char err[256];
  if (fl_wire_decode_stream(in, "fuzz", opt, &v, &st, err, sizeof err) == 0) {
    REQUIRE(fl_wire_findings_end(fi, st.last_ts_ns) == 0);
    REQUIRE(fl_wire_ladder_finish(lt, fi, &st, err, sizeof err) == 0);
    REQUIRE(fl_wire_ladder_finish(lj, fi, NULL, err, sizeof err) == 0);
    REQUIRE(st.frames == st.frames_unknown_type + st.frames_by_type[0] + st.frames_by_type[1] +
                             st.frames_by_type[2] + st.frames_by_type[3] + st.frames_by_type[4] +
                             st.frames_by_type[5] + st.frames_by_type[6] + st.frames_by_type[7] +
                             st.frames_by_type[8] + st.frames_by_type[9]);
  }
  fclose(ft);
  fclose(fj);
  /* Every JSON line reads back. */
  for (char *line = json, *end; line && *line; line = end + 1) {
    end = strchr(line, '\n');
    REQUIRE(end);
    json_error_t je;
    json_t *o = json_loadb(line, (size_t)(end - line), JSON_ALLOW_NUL, &je);
    REQUIRE(o);
    json_decref(o);
  }
  free(text);
  free(json);
  fl_wire_ladder_free(lt);
  fl_wire_ladder_free(lj);
  fl_wire_findings_free(fi);
}

#endif
