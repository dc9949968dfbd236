/*
 * faultline: the command line. Each command parses its own options and prints --help;
 * exit codes are the same for every command (see usage_main).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dump_cmd.h"
#include "event.h"
#include "fields.h"
#include "library.h"
#include "netns.h"
#include "report.h"
#include "report_cmd.h"
#include "report_html.h"
#include "runner.h"
#include "scenario.h"
#include "verdict.h"

#define EXIT_REPRODUCED 0
#define EXIT_NOT_REPRODUCED 1
#define EXIT_USAGE 2
#define EXIT_HARNESS 3
#define EXIT_INTERRUPTED 130

static const char exit_codes[] =
    "Exit codes:\n"
    "  0    every scenario reproduced (validate: every file is valid)\n"
    "  1    some scenario not reproduced\n"
    "  2    bad usage or a broken scenario file (file:line:col in the message)\n"
    "  3    harness error: faultline could not run a scenario (the reason is printed)\n"
    "  130  interrupted by SIGINT or SIGTERM (the run directory is still written)\n";

static void usage_main(FILE *out) {
  fprintf(out,
          "usage: faultline COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Reproduces gRPC streaming failures: runs a scenario's real gRPC server and client,\n"
          "injects its faults and judges its expectations.\n"
          "\n"
          "Commands:\n"
          "  list                 the named scenarios, with one-line summaries\n"
          "  show NAME            print a scenario file\n"
          "  validate FILE...     check scenario files without running them\n"
          "  run NAME|FILE...     run scenarios and write a run directory for each\n"
          "  dump PID...          thread dumps (Go goroutine-dump style) of running processes\n"
          "  report RUNDIR        render a run directory again: report.html, text or json\n"
          "\n"
          "Options for every command: --scenarios DIR (the scenario library, default %s),\n"
          "--help. `faultline COMMAND --help` describes a command.\n"
          "\n%s",
          fl_library_dir(), exit_codes);
}

typedef struct {
  const char *out;
  const char *runs_dir;
  bool quiet;
  bool netns;
} run_opts;

/* Parses a command's options (--scenarios and --help for all; --out, --runs-dir, --quiet for
 * run). Returns 1 for --help, -1 on bad usage (after saying why), 0 otherwise; the command's
 * own arguments start at optind. */
static int parse_opts(int argc, char **argv, run_opts *ro, bool allow_run_opts) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {"scenarios", required_argument, NULL, 'S'},
                                           {"out", required_argument, NULL, 'o'},
                                           {"runs-dir", required_argument, NULL, 'R'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"netns", no_argument, NULL, 'N'},
                                           {NULL, 0, NULL, 0}};
  optind = 1;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "+ho:q", longopts, NULL)) != -1;) {
    switch (c) {
    case 'h': return 1;
    case 'S': fl_library_set_dir(optarg); break;
    case 'o':
    case 'R':
    case 'q':
    case 'N':
      if (!allow_run_opts) goto bad;
      if (c == 'o') ro->out = optarg;
      if (c == 'R') ro->runs_dir = optarg;
      if (c == 'q') ro->quiet = true;
      if (c == 'N') ro->netns = true;
      break;
    default:
    bad:
      fprintf(stderr, "faultline %s: unknown option '%s' (see faultline %s --help)\n", argv[0],
              argv[optind - 1], argv[0]);
      return -1;
    }
  }
  return 0;
}

static int cmd_list(int argc, char **argv) {
  run_opts ro = {0};
  int rc = parse_opts(argc, argv, &ro, false);
  if (rc != 0 || optind != argc) {
    FILE *out = rc == 1 ? stdout : stderr;
    fprintf(out,
            "usage: faultline list [--scenarios DIR]\n\n"
            "Lists the scenario library (%s): each scenario's name and summary.\n"
            "A file that does not parse is listed with its error.\n\n%s",
            fl_library_dir(), exit_codes);
    return rc == 1 ? 0 : EXIT_USAGE;
  }
  char **paths;
  int n = fl_library_list(&paths);
  if (n < 0) {
    fprintf(stderr, "faultline list: cannot read %s: %s\n", fl_library_dir(), strerror(errno));
    return EXIT_USAGE;
  }
  int status = 0;
  for (int i = 0; i < n; i++) {
    fl_scenario *s;
    fl_error err;
    if (fl_scenario_load(paths[i], &s, &err) == 0) {
      printf("%-40s %s\n", s->name, s->summary);
      fl_scenario_free(s);
    } else {
      printf("%-40s (broken: %s)\n", strrchr(paths[i], '/') + 1, err.msg);
      status = EXIT_USAGE;
    }
  }
  fl_library_free(paths, n);
  return status;
}

static int cmd_show(int argc, char **argv) {
  run_opts ro = {0};
  int rc = parse_opts(argc, argv, &ro, false);
  if (rc != 0 || optind != argc - 1) {
    FILE *out = rc == 1 ? stdout : stderr;
    fprintf(out,
            "usage: faultline show NAME|FILE\n\n"
            "Prints a scenario file, preceded by its path.\n\n%s",
            exit_codes);
    return rc == 1 ? 0 : EXIT_USAGE;
  }
  char path[PATH_MAX], err[512];
  if (fl_library_resolve(argv[optind], path, sizeof path, err, sizeof err) < 0) {
    fprintf(stderr, "faultline show: %s\n", err);
    return EXIT_USAGE;
  }
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "faultline show: %s: %s\n", path, strerror(errno));
    return EXIT_USAGE;
  }
  printf("# %s\n", path);
  char buf[4096];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, k, stdout);
  fclose(f);
  return 0;
}

static int cmd_validate(int argc, char **argv) {
  run_opts ro = {0};
  int rc = parse_opts(argc, argv, &ro, false);
  if (rc != 0 || optind >= argc) {
    FILE *out = rc == 1 ? stdout : stderr;
    fprintf(out,
            "usage: faultline validate NAME|FILE...\n\n"
            "Parses each scenario and checks its fields, steps and predicates without\n"
            "running it. Errors name file, line and column.\n\n%s",
            exit_codes);
    return rc == 1 ? 0 : EXIT_USAGE;
  }
  int status = 0;
  for (int i = optind; i < argc; i++) {
    char path[PATH_MAX], err[512];
    fl_scenario *s;
    fl_error e;
    if (fl_library_resolve(argv[i], path, sizeof path, err, sizeof err) < 0) {
      fprintf(stderr, "%s\n", err);
      status = EXIT_USAGE;
    } else if (fl_scenario_load(path, &s, &e) < 0) {
      fprintf(stderr, "%s\n", e.msg);
      status = EXIT_USAGE;
    } else {
      printf("%s: ok (%s)\n", path, s->name);
      fl_scenario_free(s);
    }
  }
  return status;
}

static int mkdir_p(const char *dir) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* runs/<timestamp>-<name>, with -2, -3... if two runs start within the same second. */
static int make_run_dir(const run_opts *ro, const char *name, int n_scenarios, char *dir,
                        size_t len) {
  if (ro->out && n_scenarios == 1) {
    snprintf(dir, len, "%s", ro->out);
    return mkdir_p(dir);
  }
  char base[PATH_MAX];
  if (ro->out) {
    snprintf(base, sizeof base, "%s/%s", ro->out, name);
  } else {
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
    snprintf(base, sizeof base, "%s/%s-%s", ro->runs_dir ? ro->runs_dir : "runs", stamp, name);
  }
  snprintf(dir, len, "%s", base);
  for (int k = 2; access(dir, F_OK) == 0 && k < 1000; k++) snprintf(dir, len, "%s-%d", base, k);
  return mkdir_p(dir);
}

/* The peer binary sits beside this one; FAULTLINE_PEER overrides it. */
static void peer_path(char *out, size_t len) {
  const char *env = getenv("FAULTLINE_PEER");
  if (env && *env) {
    snprintf(out, len, "%s", env);
    return;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(self, '/');
  if (slash) *slash = '\0';
  snprintf(out, len, "%s/faultline-peer", n > 0 ? self : ".");
}

static int cmd_run(int argc, char **argv) {
  run_opts ro = {0};
  int rc = parse_opts(argc, argv, &ro, true);
  if (rc != 0 || optind >= argc) {
    FILE *out = rc == 1 ? stdout : stderr;
    fprintf(out,
            "usage: faultline run [--out DIR] [--runs-dir DIR] [--netns] [--quiet] NAME|FILE...\n\n"
            "Runs each scenario: starts its server and client peers, drives their scripts,\n"
            "judges the expect clauses and writes a run directory with scenario.yaml,\n"
            "events.jsonl, report.json, capture.pcap, thread dumps and each peer's stderr.\n\n"
            "  --out DIR        the run directory (with several scenarios: DIR/NAME)\n"
            "  --runs-dir DIR   where run directories are made (default runs/), each named\n"
            "                   <timestamp>-<name>\n"
            "  --netns          run inside a new network namespace (and user namespace when\n"
            "                   not root): packet capture without root, ports of our own\n"
            "  --quiet          print only the verdict lines\n"
            "  --scenarios DIR  the scenario library for NAME arguments\n\n%s",
            exit_codes);
    return rc == 1 ? 0 : EXIT_USAGE;
  }

  /* Every file is parsed before anything runs: a typo in the third scenario should not cost
   * the time of running the first two. */
  int n = argc - optind;
  fl_scenario **scenarios = calloc((size_t)n, sizeof *scenarios);
  char(*paths)[PATH_MAX] = calloc((size_t)n, sizeof *paths);
  int status = EXIT_REPRODUCED;
  for (int i = 0; i < n; i++) {
    char err[512];
    fl_error e;
    if (fl_library_resolve(argv[optind + i], paths[i], sizeof paths[i], err, sizeof err) < 0) {
      fprintf(stderr, "faultline run: %s\n", err);
      status = EXIT_USAGE;
    } else if (fl_scenario_load(paths[i], &scenarios[i], &e) < 0) {
      fprintf(stderr, "%s\n", e.msg);
      status = EXIT_USAGE;
    }
  }
  char peer[PATH_MAX];
  peer_path(peer, sizeof peer);
  if (status == EXIT_REPRODUCED && access(peer, X_OK) != 0) {
    fprintf(stderr,
            "faultline run: the peer program %s is missing (%s); build it, or set "
            "FAULTLINE_PEER\n",
            peer, strerror(errno));
    status = EXIT_HARNESS;
  }

  if (status == EXIT_REPRODUCED && ro.netns) {
    char err[256];
    if (fl_netns_enter(err, sizeof err) < 0) {
      fprintf(stderr, "faultline run: --netns: %s\n", err);
      status = EXIT_HARNESS;
    }
  }

  /* Dumps happen while both peers are stopped: libdw must not go to the network for debug
   * info then (it would if DEBUGINFOD_URLS is set). `faultline dump` keeps the user's choice. */
  unsetenv("DEBUGINFOD_URLS");

  bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
  bool worst_error = false, any_failed = false, interrupted = false;
  for (int i = 0; i < n && status == EXIT_REPRODUCED && !interrupted; i++) {
    const fl_scenario *s = scenarios[i];
    char dir[PATH_MAX];
    if (make_run_dir(&ro, s->name, n, dir, sizeof dir) < 0) {
      fprintf(stderr, "faultline run: cannot create the run directory %s: %s\n", dir,
              strerror(errno));
      worst_error = true;
      break;
    }
    if (!ro.quiet)
      fprintf(stderr, "running %s (%d/%d, timeout %.0fs) ...\n", s->name, i + 1, n,
              (double)s->timeout_ns / 1e9);
    fl_run_options o = {
        .scenario_path = paths[i], .run_dir = dir, .peer_path = peer, .progress = !ro.quiet};
    fl_run_result r;
    if (fl_run(s, &o, &r) < 0) {
      /* The run could not take place: r.error says why, and the verdict below is `error`. */
    }
    fl_verdict v;
    if (!r.obs || fl_verdict_judge(s, r.obs, r.harness_error ? r.error : NULL, &v) < 0) {
      fprintf(stderr, "faultline run: out of memory\n");
      fl_run_result_free(&r);
      worst_error = true;
      break;
    }
    char err[512];
    json_t *doc = NULL;
    /* The summary and report.html are rendered from report.json as written, so that
     * `faultline report` shows exactly what this run showed. */
    if (fl_report_write_json(dir, s, &r, &v, err, sizeof err) < 0 ||
        fl_report_load(dir, &doc, err, sizeof err) < 0 ||
        fl_report_write_html(dir, doc, err, sizeof err) < 0) {
      fprintf(stderr, "faultline run: %s\n", err);
      worst_error = true;
    }
    if (doc)
      fl_report_print_summary(stdout, doc, dir, color);
    else
      printf("%s: %s (report.json could not be written or read back; run directory %s)\n", s->name,
             fl_verdict_name(v.kind), dir);
    json_decref(doc);
    fflush(stdout);
    worst_error = worst_error || v.kind == FL_VERDICT_ERROR;
    any_failed = any_failed || v.kind == FL_VERDICT_NOT_REPRODUCED;
    interrupted = fl_observe_outcome(r.obs) == FL_OUTCOME_INTERRUPTED;
    fl_verdict_free(&v);
    fl_run_result_free(&r);
  }
  for (int i = 0; i < n; i++)
    if (scenarios[i]) fl_scenario_free(scenarios[i]);
  free(scenarios);
  free(paths);
  if (status != EXIT_REPRODUCED) return status;
  if (interrupted) return EXIT_INTERRUPTED;
  if (worst_error) return EXIT_HARNESS;
  return any_failed ? EXIT_NOT_REPRODUCED : EXIT_REPRODUCED;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage_main(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  /* The vocabulary, from the tables themselves: the README's lists are this output. */
  if (!strcmp(cmd, "help") && argc == 3 && !strcmp(argv[2], "fields")) {
    fl_fields_write_markdown(stdout);
    return 0;
  }
  if (!strcmp(cmd, "help") && argc == 3 && !strcmp(argv[2], "events")) {
    fl_events_write_markdown(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage_main(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("faultline %s\n", FL_VERSION);
    return 0;
  }
  static const struct {
    const char *name;
    int (*fn)(int, char **);
  } commands[] = {{"list", cmd_list}, {"show", cmd_show},    {"validate", cmd_validate},
                  {"run", cmd_run},   {"dump", fl_cmd_dump}, {"report", fl_cmd_report}};
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(cmd, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "faultline: unknown command '%s'\n\n", cmd);
  usage_main(stderr);
  return EXIT_USAGE;
}
