#include "report_cmd.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "exit_codes.h"
#include "jsonout.h"
#include "report.h"
#include "report_html.h"

static void usage(FILE *out) {
  fputs("usage: faultline report [--format html|text|json] RUNDIR\n"
        "\n"
        "Renders a run directory again from its report.json and the files beside it\n"
        "(events.jsonl, samples.csv, the thread dumps, the logs):\n"
        "  --format html   write RUNDIR/report.html, the page to open in a browser (default)\n"
        "  --format text   print the summary `faultline run` printed at the end of the run\n"
        "  --format json   print report.json, checked: it parses and holds the keys the other\n"
        "                  forms read\n"
        "  --help          this text; --version: faultline's version\n"
        "\n",
        out);
  fl_exit_codes_print(out, "report");
}

int fl_cmd_report(int argc, char **argv, bool color) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {"version", no_argument, NULL, 'V'},
                                           {"format", required_argument, NULL, 'f'},
                                           {NULL, 0, NULL, 0}};
  const char *format = "html";
  optind = 0; /* glibc: start afresh; options may stand anywhere, as GNU tools take them */
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, ":hf:", longopts, NULL)) != -1;) {
    switch (c) {
    case 'h': usage(stdout); return FL_EXIT_OK;
    case 'V': printf("faultline %s\n", FL_VERSION); return FL_EXIT_OK;
    case 'f': format = optarg; break;
    default:
      fprintf(stderr, "faultline report: %s '%s' (see faultline report --help)\n",
              c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
      return FL_EXIT_USAGE;
    }
  }
  if (strcmp(format, "html") && strcmp(format, "text") && strcmp(format, "json")) {
    fprintf(stderr, "faultline report: unknown format '%s': html, text or json\n", format);
    return FL_EXIT_USAGE;
  }
  if (optind != argc - 1) {
    usage(stderr);
    return FL_EXIT_USAGE;
  }
  const char *dir = argv[optind];
  char err[1024];
  json_t *doc;
  if (fl_report_load(dir, &doc, err, sizeof err) < 0) {
    fprintf(stderr, "faultline report: %s\n", err);
    return FL_EXIT_HARNESS;
  }
  int rc = FL_EXIT_OK;
  if (!strcmp(format, "text")) {
    fl_report_print_summary(stdout, doc, dir, color);
  } else if (!strcmp(format, "json")) {
    if (fl_json_write(stdout, doc, true, err, sizeof err) < 0) {
      fprintf(stderr, "faultline report: cannot write the JSON: %s\n", err);
      rc = FL_EXIT_HARNESS;
    }
  } else if (fl_report_write_html(dir, doc, err, sizeof err) < 0) {
    fprintf(stderr, "faultline report: %s\n", err);
    rc = FL_EXIT_HARNESS;
  } else {
    printf("%s/report.html\n", dir);
  }
  json_decref(doc);
  if (fflush(stdout) != 0 && rc == FL_EXIT_OK) rc = FL_EXIT_HARNESS;
  return rc;
}
