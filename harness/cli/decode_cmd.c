#include "decode_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "ladder.h"
#include "library.h"
#include "predicate.h"
#include "wire.h"

#define EXIT_OK 0
#define EXIT_USAGE 2
#define EXIT_CANNOT 3
#define MAX_PORTS 16

static void usage(FILE *out) {
  fputs("usage: faultline decode [--port N]... [--json] [--findings] [--fields]\n"
        "                        [--stall DURATION] FILE.pcap\n"
        "\n"
        "Prints the HTTP/2 frame ladder of a packet capture: one line per frame with its\n"
        "time (seconds since the first packet), direction (C->S: sent by the client, C<-S: by\n"
        "the server), stream, type, flags, length and what it says: headers (HPACK-decoded,\n"
        "indented under their frame), gRPC messages in DATA (with faultline's seq), error\n"
        "codes, settings, window increments, and the send windows each frame changed.\n"
        "TCP is reassembled per connection and direction; bytes the capture lacks (snaplen,\n"
        "drops) are skipped or said to be lost. The ladder ends with the findings.\n"
        "\n"
        "Options:\n"
        "  --port N          decode the connections to server port N (repeat for several\n"
        "                    legs, e.g. the proxy's port and the server's); without it, every\n"
        "                    connection that starts with the HTTP/2 client preface\n"
        "  --json            one JSON object per frame (and per notice) instead of text\n"
        "  --findings        only the findings (window exhaustion, half-close while sending,\n"
        "                    RST_STREAM, GOAWAY, streams without trailers, lost sync); as JSON\n"
        "                    objects with --json\n"
        "  --fields          tshark's `-T fields -e frame.number -e http2.streamid -e\n"
        "                    http2.type` output, to compare with Wireshark's decoder\n"
        "  --stall DURATION  a window at zero this long is a finding (default 200ms)\n"
        "  --help            this text\n"
        "\n"
        "Exit codes: 0 decoded, 2 bad usage, 3 the file cannot be read or decoded (the\n"
        "reason is printed).\n",
        out);
}

int fl_cmd_decode(int argc, char **argv) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {"port", required_argument, NULL, 'p'},
                                           {"json", no_argument, NULL, 'j'},
                                           {"findings", no_argument, NULL, 'f'},
                                           {"fields", no_argument, NULL, 'F'},
                                           {"stall", required_argument, NULL, 's'},
                                           {"scenarios", required_argument, NULL, 'S'},
                                           {NULL, 0, NULL, 0}};
  fl_wire_port ports[MAX_PORTS];
  size_t n_ports = 0;
  bool json = false, findings_only = false, fields = false;
  int64_t stall = 0;
  optind = 1;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1;) {
    switch (c) {
    case 'h': usage(stdout); return EXIT_OK;
    case 'p': {
      char *end;
      errno = 0;
      long v = strtol(optarg, &end, 10);
      if (errno || end == optarg || *end || v < 1 || v > 65535) {
        fprintf(stderr, "faultline decode: --port %s: expected a port number 1-65535\n", optarg);
        return EXIT_USAGE;
      }
      if (n_ports == MAX_PORTS) {
        fprintf(stderr, "faultline decode: at most %d --port options\n", MAX_PORTS);
        return EXIT_USAGE;
      }
      ports[n_ports++] = (fl_wire_port){.port = (uint16_t)v, .leg = NULL};
      break;
    }
    case 'j': json = true; break;
    case 'f': findings_only = true; break;
    case 'F': fields = true; break;
    case 's':
      if (fl_parse_duration(optarg, &stall) < 0 || stall <= 0) {
        fprintf(stderr, "faultline decode: --stall %s: expected a duration like 200ms or 1s\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'S': fl_library_set_dir(optarg); break;
    default:
      if (optopt)
        fprintf(stderr,
                "faultline decode: option '%s' needs a value (see faultline decode --help)\n",
                argv[optind - 1]);
      else
        fprintf(stderr, "faultline decode: unknown option '%s' (see faultline decode --help)\n",
                argv[optind - 1]);
      return EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "faultline decode: %s\n\n",
            optind == argc ? "which capture? give one FILE.pcap" : "give one capture file");
    usage(stderr);
    return EXIT_USAGE;
  }
  if (fields && (json || findings_only)) {
    fprintf(stderr, "faultline decode: --fields goes alone (not with --json or --findings)\n");
    return EXIT_USAGE;
  }
  const char *path = argv[optind];
  fl_wire_options opt = {.ports = ports, .n_ports = n_ports};
  fl_wire_findings *findings = fl_wire_findings_new(stall);
  fl_ladder_format fmt = fields ? FL_LADDER_FIELDS : json ? FL_LADDER_JSON : FL_LADDER_TEXT;
  fl_wire_ladder *ladder =
      findings_only ? NULL : fl_wire_ladder_new(stdout, "standard output", fmt);
  if (!findings || (!findings_only && !ladder)) {
    fprintf(stderr, "faultline decode: out of memory\n");
    fl_wire_findings_free(findings);
    fl_wire_ladder_free(ladder);
    return EXIT_CANNOT;
  }
  fl_wire_visitor vl = {0}, vf, v;
  if (ladder) fl_wire_ladder_visitor(ladder, &vl);
  fl_wire_findings_visitor(findings, &vf);
  fl_wire_tee tee = {&vl, &vf};
  fl_wire_tee_visitor(&tee, &v);
  fl_wire_stats st;
  char err[512];
  int status = EXIT_OK;
  if (fl_wire_decode_file(path, &opt, fields ? &vl : &v, &st, err, sizeof err) < 0) {
    fprintf(stderr, "faultline decode: %s\n", err);
    status = EXIT_CANNOT;
  } else if (fl_wire_findings_end(findings, st.last_ts_ns) < 0) {
    fprintf(stderr, "faultline decode: out of memory\n");
    status = EXIT_CANNOT;
  } else if (ladder) {
    if (fl_wire_ladder_finish(ladder, fields ? NULL : findings, fields ? NULL : &st, err,
                              sizeof err) < 0) {
      fprintf(stderr, "faultline decode: %s\n", err);
      status = EXIT_CANNOT;
    }
  } else {
    size_t n = fl_wire_findings_count(findings);
    for (size_t i = 0; i < n; i++) {
      if (json)
        fl_wire_finding_write_json(stdout, fl_wire_findings_at(findings, i));
      else
        printf("%s\n", fl_wire_findings_at(findings, i)->text);
    }
    if (!json && n == 0) printf("no findings\n");
    if (fflush(stdout) != 0) {
      fprintf(stderr, "faultline decode: cannot write standard output: %s\n", strerror(errno));
      status = EXIT_CANNOT;
    }
  }
  if (status == EXIT_OK && st.connections == 0)
    fprintf(stderr, "faultline decode: %s: no HTTP/2 connection found%s\n", path,
            n_ports ? " on the given ports" : " (none starts with the client preface)");
  fl_wire_ladder_free(ladder);
  fl_wire_findings_free(findings);
  return status;
}
