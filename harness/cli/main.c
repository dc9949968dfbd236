/*
 * faultline: the command line.
 *
 * Conventions (README "Commands"), the same for every command: options anywhere among the
 * arguments, as GNU tools take them (`faultline run NAME --out DIR`); `--` ends the options;
 * `--help` and `--version` everywhere, and `faultline help COMMAND`; each command's help lists
 * the exit codes it can give (exit_codes.h, defined once). Output: colour only on a terminal
 * whose TERM is set and not "dumb", and never when NO_COLOR is set to anything non-empty
 * (no-color.org). A closed stdout (`| head -1`) ends no batch: SIGPIPE is ignored and failed
 * writes to stdout are dropped, the runs and their run directories are not.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle_cmd.h"
#include "config.h"
#include "decode_cmd.h"
#include "dump_cmd.h"
#include "event.h"
#include "exit_codes.h"
#include "fields.h"
#include "library.h"
#include "netns.h"
#include "report.h"
#include "report_cmd.h"
#include "report_html.h"
#include "rundir.h"
#include "runner.h"
#include "scenario.h"
#include "verdict.h"

typedef struct {
  const char *out;
  const char *runs_dir;
  bool quiet;
  bool netns;
  const char *bundle; /* run --bundle FILE */
} run_opts;

typedef struct {
  const char *name;
  const char *usage;   /* after "usage: faultline " */
  const char *allowed; /* the option letters it takes besides --help and --version */
  const char *about;   /* the rest of its help, before the exit codes */
} command;

static const command cmd_list_def = {
    "list", "list [--scenarios DIR]", "S",
    "Lists the scenario library: each scenario's name and one-line summary. A file that does\n"
    "not load is listed with its error.\n\n"
    "  --scenarios DIR  the scenario library (default: see faultline --help)\n"};
static const command cmd_show_def = {"show", "show [--scenarios DIR] NAME|FILE", "S",
                                     "Prints a scenario file, preceded by its path.\n\n"
                                     "  --scenarios DIR  the scenario library for a NAME\n"};
static const command cmd_validate_def = {
    "validate", "validate [--scenarios DIR] NAME|FILE...", "S",
    "Loads each scenario and checks its fields, steps, ranges and predicates without running\n"
    "it. Errors name file, line and column; warnings (a channel argument C core does not\n"
    "declare, say) go to stderr and leave the file valid.\n\n"
    "  --scenarios DIR  the scenario library for NAMEs\n"};
static const command cmd_run_def = {
    "run",
    "run [--out DIR] [--runs-dir DIR] [--netns] [--quiet] NAME|FILE...\n"
    "       faultline run [--out DIR] [--runs-dir DIR] [--netns] [--quiet] --bundle FILE.tar.gz",
    "SoRqNB",
    "Runs each scenario: starts its server and client peers, drives their scripts, judges the\n"
    "expect clauses and writes a run directory with scenario.yaml, events.jsonl,\n"
    "report.json, report.html, capture.pcap, samples.csv, thread dumps and each peer's\n"
    "stderr. Every file is loaded before the first runs. A batch ends with a one-line\n"
    "total.\n\n"
    "  --out DIR        the run directory (with several scenarios: DIR/NAME each). DIR must\n"
    "                   not exist, or be empty, or be the directory of an earlier faultline\n"
    "                   run, which is then replaced as a whole; anything else is refused\n"
    "  --runs-dir DIR   where new run directories are made (default runs/), each named\n"
    "                   <timestamp>-<name>; nothing in DIR is ever replaced\n"
    "  --netns          run inside a new network namespace (and user namespace when not\n"
    "                   root): packet capture without root, ports of our own\n"
    "  --quiet          print only the verdict lines (and the batch's total)\n"
    "  --scenarios DIR  the scenario library for NAMEs\n"
    "  --bundle FILE    rerun the scenario of a bundle (faultline bundle): unpacked into a\n"
    "                   new temporary folder, its referenced files found there; says which\n"
    "                   versions differ from the original run before it runs\n"};

static const command *const commands[] = {&cmd_list_def, &cmd_show_def, &cmd_validate_def,
                                          &cmd_run_def};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out, const command *c) {
  fprintf(out, "usage: faultline %s\n\n%s\n", c->usage, c->about);
  fl_exit_codes_print(out, c->name);
}

static void usage_main(FILE *out) {
  fprintf(out,
          "usage: faultline COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Reproduces gRPC streaming failures: runs a scenario's real gRPC server and client,\n"
          "injects its faults and judges its expectations.\n"
          "\n"
          "Commands:\n"
          "  list                 the named scenarios, with one-line summaries\n"
          "  show NAME|FILE       print a scenario file\n"
          "  validate NAME|FILE...\n"
          "                       check scenarios without running them\n"
          "  run NAME|FILE...     run scenarios and write a run directory for each\n"
          "  dump PID...          thread dumps (Go goroutine-dump style) of running processes\n"
          "  decode FILE.pcap     the HTTP/2 frame ladder of a capture, and its findings\n"
          "  report RUNDIR        render a run directory again: report.html, text or json\n"
          "  bundle RUNDIR        pack a run directory for a ticket; run --bundle reruns it\n"
          "  help [COMMAND]       this text, or a command's\n"
          "\n"
          "Options for every command: --help, --version; list, show, validate and run take\n"
          "--scenarios DIR, the scenario library (default here: %s;\n"
          "$FAULTLINE_SCENARIOS overrides it). Options may come anywhere among the arguments;\n"
          "-- ends them. `faultline help COMMAND` describes a command.\n"
          "\n",
          fl_library_dir());
  fl_exit_codes_print(out, NULL);
}

static void print_version(void) { printf("faultline %s\n", FL_VERSION); }

/* "--out" or "-o" for a message, from what getopt last looked at. */
static const char *option_text(char **argv, char *buf, size_t len) {
  const char *a = argv[optind - 1];
  if (a && a[0] == '-' && a[1] == '-') {
    snprintf(buf, len, "%.*s", (int)strcspn(a, "="), a);
    return buf;
  }
  snprintf(buf, len, "-%c", optopt ? optopt : '?');
  return buf;
}

/* Parses a command's options, GNU style. Returns 0 (arguments from optind), 1 when --help or
 * --version was handled, -1 on bad usage after saying why on stderr. */
static int parse_opts(const command *c, int argc, char **argv, run_opts *ro) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {"version", no_argument, NULL, 'V'},
                                           {"scenarios", required_argument, NULL, 'S'},
                                           {"out", required_argument, NULL, 'o'},
                                           {"runs-dir", required_argument, NULL, 'R'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"netns", no_argument, NULL, 'N'},
                                           {"bundle", required_argument, NULL, 'B'},
                                           {NULL, 0, NULL, 0}};
  char opt[64];
  optind = 0; /* glibc: start afresh */
  opterr = 0;
  int idx = -1;
  for (int ch; (ch = getopt_long(argc, argv, ":ho:qV", longopts, &idx)) != -1; idx = -1) {
    if (ch == 'h') {
      print_help(stdout, c);
      return 1;
    }
    if (ch == 'V') {
      print_version();
      return 1;
    }
    if (ch == ':') {
      fprintf(stderr, "faultline %s: option '%s' requires an argument\n", c->name,
              option_text(argv, opt, sizeof opt));
      return -1;
    }
    if (ch == '?') {
      fprintf(stderr, "faultline %s: unknown option '%s' (faultline %s --help lists them)\n",
              c->name, option_text(argv, opt, sizeof opt), c->name);
      return -1;
    }
    if (!strchr(c->allowed, ch)) {
      if (idx >= 0)
        snprintf(opt, sizeof opt, "--%s", longopts[idx].name);
      else
        snprintf(opt, sizeof opt, "-%c", ch);
      fprintf(stderr, "faultline %s: option '%s' is not one of %s's (faultline %s --help)\n",
              c->name, opt, c->name, c->name);
      return -1;
    }
    switch (ch) {
    case 'S': fl_library_set_dir(optarg); break;
    case 'o': ro->out = optarg; break;
    case 'R': ro->runs_dir = optarg; break;
    case 'q': ro->quiet = true; break;
    case 'N': ro->netns = true; break;
    case 'B': ro->bundle = optarg; break;
    }
  }
  return 0;
}

/* A wrong number of arguments: the usage line on stderr. */
static int bad_args(const command *c, const char *why) {
  fprintf(stderr, "faultline %s: %s\nusage: faultline %s (faultline %s --help)\n", c->name, why,
          c->usage, c->name);
  return FL_EXIT_USAGE;
}

/* A scenario file a user named: loaded, and named after its scenario (scenario.h). */
static int load(const char *path, fl_scenario **s, fl_error *e) {
  if (fl_scenario_load(path, s, e) < 0) return -1;
  if (fl_scenario_check_file_name(*s, e) == 0) return 0;
  fl_scenario_free(*s);
  *s = NULL;
  return -1;
}

static void print_warnings(const fl_scenario *s) {
  for (size_t i = 0; i < s->n_warnings; i++) fprintf(stderr, "%s\n", s->warnings[i]);
}

static int cmd_list(int argc, char **argv) {
  const command *c = &cmd_list_def;
  run_opts ro = {0};
  int rc = parse_opts(c, argc, argv, &ro);
  if (rc != 0) return rc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
  if (optind != argc) return bad_args(c, "takes no arguments");
  char **paths;
  int n = fl_library_list(&paths);
  if (n < 0) {
    fprintf(stderr, "faultline list: cannot read %s: %s\n", fl_library_dir(), strerror(errno));
    return FL_EXIT_USAGE;
  }
  int status = FL_EXIT_OK;
  for (int i = 0; i < n; i++) {
    fl_scenario *s;
    fl_error err;
    char a[512], b[1024];
    /* Names and summaries are checked at load; a file's own name is not: print it plain. */
    if (load(paths[i], &s, &err) == 0) {
      printf("%-40s %s\n", fl_printable(s->name, a, sizeof a),
             fl_printable(s->summary, b, sizeof b));
      fl_scenario_free(s);
    } else {
      printf("%-40s (broken: %s)\n", fl_printable(strrchr(paths[i], '/') + 1, a, sizeof a),
             err.msg);
      status = FL_EXIT_USAGE;
    }
  }
  fl_library_free(paths, n);
  return status;
}

static int cmd_show(int argc, char **argv) {
  const command *c = &cmd_show_def;
  run_opts ro = {0};
  int rc = parse_opts(c, argc, argv, &ro);
  if (rc != 0) return rc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
  if (optind != argc - 1) return bad_args(c, "takes one NAME or FILE");
  char path[PATH_MAX], err[512];
  if (fl_library_resolve(argv[optind], path, sizeof path, err, sizeof err) < 0) {
    fprintf(stderr, "faultline show: %s\n", err);
    return FL_EXIT_USAGE;
  }
  char *text;
  size_t len;
  fl_error e;
  if (fl_scenario_read(path, &text, &len, &e) < 0) {
    fprintf(stderr, "faultline show: %s\n", e.msg);
    return FL_EXIT_USAGE;
  }
  char plain[PATH_MAX + 64];
  printf("# %s\n", fl_printable(path, plain, sizeof plain));
  fwrite(text, 1, len, stdout);
  free(text);
  return FL_EXIT_OK;
}

static int cmd_validate(int argc, char **argv) {
  const command *c = &cmd_validate_def;
  run_opts ro = {0};
  int rc = parse_opts(c, argc, argv, &ro);
  if (rc != 0) return rc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
  if (optind >= argc) return bad_args(c, "which scenarios? give one or more NAMEs or FILEs");
  int status = FL_EXIT_OK;
  for (int i = optind; i < argc; i++) {
    char path[PATH_MAX], err[512], plain[PATH_MAX + 64];
    fl_scenario *s;
    fl_error e;
    if (fl_library_resolve(argv[i], path, sizeof path, err, sizeof err) < 0) {
      fprintf(stderr, "%s\n", err);
      status = FL_EXIT_USAGE;
    } else if (load(path, &s, &e) < 0) {
      fprintf(stderr, "%s\n", e.msg);
      status = FL_EXIT_USAGE;
    } else {
      print_warnings(s);
      printf("%s: ok (%s)\n", fl_printable(path, plain, sizeof plain), s->name);
      fl_scenario_free(s);
    }
  }
  return status;
}

/* The peer and proxy programs sit beside this one (in the build root and when installed);
 * FAULTLINE_PEER and FAULTLINE_PROXY override them. */
static void sibling_path(const char *program, const char *env_name, char *out, size_t len) {
  const char *env = getenv(env_name);
  if (env && *env) {
    snprintf(out, len, "%s", env);
    return;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(self, '/');
  if (slash) *slash = '\0';
  snprintf(out, len, "%s/%s", n > 0 ? self : ".", program);
}

/* no-color.org: NO_COLOR set and not empty; and never for a terminal that cannot show it. */
static bool use_color(void) {
  const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
  if (no && *no) return false;
  if (!term || !*term || !strcmp(term, "dumb")) return false;
  return isatty(STDOUT_FILENO);
}

/* The summary as report_text.c prints it from report.json, or with --quiet its verdict lines
 * only (the first line and, for an error, the reason), so that the verdict line has one
 * definition. */
static void print_summary(const char *dir, const json_t *doc, bool quiet, bool color) {
  if (!quiet) {
    fl_report_print_summary(stdout, doc, dir, color);
    return;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (!m) return;
  fl_report_print_summary(m, doc, dir, color);
  fclose(m);
  bool first = true;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    if (first || !strncmp(line, "  error: ", 9)) printf("%s\n", line);
    first = false;
  }
  free(text);
}

/* Makes the verdict `error` with `why`, keeping the clauses judged. */
static void verdict_error(fl_verdict *v, const char *why) {
  if (v->kind == FL_VERDICT_ERROR && v->why[0]) {
    size_t n = strlen(v->why);
    snprintf(v->why + n, sizeof v->why - n, "; %s", why);
  } else {
    v->kind = FL_VERDICT_ERROR;
    snprintf(v->why, sizeof v->why, "%s", why);
  }
}

/* Runs one scenario in rd and reports it; returns its verdict (-1: interrupted). */
static int run_one(const fl_scenario *s, fl_rundir *rd, const char *peer, const char *proxy,
                   const run_opts *ro, int index, int n, bool color, fl_verdict_kind *kind) {
  const char *dir = fl_rundir_path(rd);
  char err[1024];
  if (!ro->quiet)
    fprintf(stderr, "running %s (%d/%d, timeout %.0fs) ...\n", s->name, index + 1, n,
            (double)s->timeout_ns / 1e9);
  fl_run_options o = {.rd = rd, .peer_path = peer, .proxy_path = proxy, .progress = !ro->quiet};
  fl_run_result r;
  if (fl_run(s, &o, &r) < 0) {
    /* The run could not take place: r.error says why, and the verdict below is `error`. */
  }
  fl_verdict v;
  if (!r.obs || fl_verdict_judge(s, r.obs, r.harness_error ? r.error : NULL, &v) < 0) {
    fprintf(stderr, "faultline run: out of memory\n");
    fl_run_result_free(&r);
    *kind = FL_VERDICT_ERROR;
    return 0;
  }
  /* Evidence that could not be written makes the verdict `error`, naming file and reason. */
  if (fl_rundir_failures(rd, err, sizeof err) > 0) verdict_error(&v, err);

  /* report.json is written whole under a temporary name and renamed into place, never over
   * anything; its write errors are the run directory's record. */
  FILE *report = fl_rundir_begin(rd, "report.json", err, sizeof err);
  bool report_ok = report != NULL;
  if (report && fl_report_write_json(report, s, &r, &v, err, sizeof err) < 0) {
    fl_rundir_note(rd, "report.json", errno ? errno : EIO);
    report_ok = false;
  }
  if (report && fl_rundir_commit(rd, report, err, sizeof err) < 0) report_ok = false;
  if (!report_ok) {
    fl_rundir_failures(rd, err, sizeof err);
    verdict_error(&v, err);
  }
  /* The summary and report.html are rendered from report.json as written, so that
   * `faultline report` shows exactly what this run showed. */
  json_t *doc = NULL;
  if (report_ok && fl_report_load(dir, &doc, err, sizeof err) < 0) {
    verdict_error(&v, err);
    report_ok = false;
  }
  if (doc) {
    char why[512] = "";
    FILE *html = fl_rundir_begin(rd, "report.html", why, sizeof why);
    bool html_ok = html != NULL;
    if (html) {
      int rc = fl_report_html(html, dir, doc, why, sizeof why);
      /* The commit closes the stream either way, and renames only a page written whole. */
      if (fl_rundir_commit(rd, html, why, sizeof why) < 0 || rc < 0) html_ok = false;
    }
    if (!html_ok) {
      fprintf(stderr, "faultline run: report.html: %s\n", why);
      v.kind = FL_VERDICT_ERROR;
    }
    print_summary(dir, doc, ro->quiet, color);
  } else {
    /* No document to render: the verdict line alone, with why. */
    printf("%s: %s (report.json: %s)\n", s->name, fl_verdict_name(v.kind), v.why);
  }
  json_decref(doc);
  fflush(stdout);
  *kind = v.kind;
  int interrupted = fl_observe_outcome(r.obs) == FL_OUTCOME_INTERRUPTED;
  fl_verdict_free(&v);
  fl_run_result_free(&r);
  return interrupted ? -1 : 0;
}

static int cmd_run(int argc, char **argv) {
  const command *c = &cmd_run_def;
  run_opts ro = {0};
  int rc = parse_opts(c, argc, argv, &ro);
  if (rc != 0) return rc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
  /* --bundle: the bundle's scenario, unpacked, is the one FILE to run (bundle_cmd.h). */
  char bundled[PATH_MAX], *bundled_argv[] = {bundled, NULL};
  if (ro.bundle) {
    if (optind != argc) return bad_args(c, "--bundle runs the bundle's scenario; give no NAME");
    char peer[PATH_MAX], proxy[PATH_MAX];
    sibling_path("faultline-peer", "FAULTLINE_PEER", peer, sizeof peer);
    sibling_path("faultline-proxy", "FAULTLINE_PROXY", proxy, sizeof proxy);
    int st = fl_bundle_rerun_prepare(ro.bundle, peer, proxy, bundled, sizeof bundled);
    if (st != FL_EXIT_OK) return st;
    argv = bundled_argv;
    argc = 1;
    optind = 0;
  }
  if (optind >= argc) return bad_args(c, "which scenarios? give one or more NAMEs or FILEs");
  if (ro.out && ro.runs_dir) return bad_args(c, "--out and --runs-dir exclude each other");

  /* Every file is loaded before anything runs: a typo in the third scenario should not cost
   * the time of running the first two. */
  int n = argc - optind;
  fl_scenario **scenarios = calloc((size_t)n, sizeof *scenarios);
  if (!scenarios) {
    fprintf(stderr, "faultline run: out of memory\n");
    return FL_EXIT_HARNESS;
  }
  int status = FL_EXIT_OK;
  for (int i = 0; i < n; i++) {
    char path[PATH_MAX], err[512];
    fl_error e;
    if (fl_library_resolve(argv[optind + i], path, sizeof path, err, sizeof err) < 0) {
      fprintf(stderr, "faultline run: %s\n", err);
      status = FL_EXIT_USAGE;
    } else if (load(path, &scenarios[i], &e) < 0) {
      fprintf(stderr, "%s\n", e.msg);
      status = FL_EXIT_USAGE;
    } else {
      print_warnings(scenarios[i]);
    }
  }
  char peer[PATH_MAX], proxy[PATH_MAX];
  sibling_path("faultline-peer", "FAULTLINE_PEER", peer, sizeof peer);
  sibling_path("faultline-proxy", "FAULTLINE_PROXY", proxy, sizeof proxy);
  bool need_proxy = false;
  for (int i = 0; i < n; i++)
    if (scenarios[i] && fl_faults_need_proxy(&scenarios[i]->path_plan, scenarios[i]->faults,
                                             scenarios[i]->n_faults))
      need_proxy = true;
  if (status == FL_EXIT_OK && access(peer, X_OK) != 0) {
    fprintf(stderr,
            "faultline run: the peer program %s is missing (%s); build it, or set "
            "FAULTLINE_PEER\n",
            peer, strerror(errno));
    status = FL_EXIT_HARNESS;
  } else if (status == FL_EXIT_OK && need_proxy && access(proxy, X_OK) != 0) {
    fprintf(stderr,
            "faultline run: the proxy program %s is missing (%s); build it, or set "
            "FAULTLINE_PROXY\n",
            proxy, strerror(errno));
    status = FL_EXIT_HARNESS;
  }

  /* Where the run directories go, decided before anything runs: a refused --out is a usage
   * error, not the first scenario's. */
  fl_rundir *top = NULL;
  if (status == FL_EXIT_OK) {
    char err[1024];
    int made =
        ro.out ? fl_rundir_create(ro.out, &top, err, sizeof err)
               : fl_rundir_open_folder(ro.runs_dir ? ro.runs_dir : "runs", &top, err, sizeof err);
    if (made < 0) {
      bool refused = errno == 0; /* the --out rule said no: the user's to change */
      fprintf(stderr, "faultline run: %s\n", err);
      status = ro.out && refused ? FL_EXIT_USAGE : FL_EXIT_HARNESS;
    }
  }

  if (status == FL_EXIT_OK && ro.netns) {
    char err[256];
    if (fl_netns_enter(err, sizeof err) < 0) {
      fprintf(stderr, "faultline run: --netns: %s\n", err);
      status = FL_EXIT_HARNESS;
    }
  }

  /* Dumps happen while both peers are stopped: libdw must not go to the network for debug
   * info then (it would if DEBUGINFOD_URLS is set). `faultline dump` keeps the user's choice. */
  unsetenv("DEBUGINFOD_URLS");

  bool color = use_color();
  int reproduced = 0, not_reproduced = 0, errors = 0, ran = 0;
  bool interrupted = false;
  for (int i = 0; i < n && status == FL_EXIT_OK && !interrupted; i++) {
    const fl_scenario *s = scenarios[i];
    char err[1024];
    fl_rundir *rd = NULL;
    if (ro.out && n == 1) {
      rd = top;
      top = NULL;
    } else {
      char base[NAME_MAX + 1];
      if (ro.out) {
        snprintf(base, sizeof base, "%s", s->name);
      } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(base, sizeof base, "%s-%s", stamp, s->name);
      }
      if (fl_rundir_create_child(top, base, &rd, err, sizeof err) < 0) {
        fprintf(stderr, "faultline run: %s: %s\n", s->name, err);
        errors++;
        ran++;
        continue;
      }
    }
    fl_verdict_kind kind;
    interrupted = run_one(s, rd, peer, proxy, &ro, i, n, color, &kind) < 0;
    ran++;
    if (kind == FL_VERDICT_REPRODUCED) reproduced++;
    if (kind == FL_VERDICT_NOT_REPRODUCED) not_reproduced++;
    if (kind == FL_VERDICT_ERROR) errors++;
    if (fl_rundir_close(rd, err, sizeof err) < 0) fprintf(stderr, "faultline run: %s\n", err);
  }
  if (top) {
    char err[512];
    if (fl_rundir_close(top, err, sizeof err) < 0) fprintf(stderr, "faultline run: %s\n", err);
  }
  if (status == FL_EXIT_OK && n > 1) {
    printf("%d scenarios: %d reproduced, %d not, %d error%s", n, reproduced, not_reproduced, errors,
           errors == 1 ? "" : "s");
    if (ran < n) printf(", %d not run%s", n - ran, interrupted ? " (interrupted)" : "");
    printf("\n");
    fflush(stdout);
  }
  for (int i = 0; i < n; i++)
    if (scenarios[i]) fl_scenario_free(scenarios[i]);
  free(scenarios);
  if (status != FL_EXIT_OK) return status;
  if (interrupted) return FL_EXIT_INTERRUPTED;
  if (errors) return FL_EXIT_HARNESS;
  return not_reproduced ? FL_EXIT_NOT_REPRODUCED : FL_EXIT_OK;
}

/* `dump` parses its own options (dump_cmd.c); --version is answered here for it. */
static int cmd_dump(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--version")) {
      print_version();
      return FL_EXIT_OK;
    }
  return fl_cmd_dump(argc, argv);
}

/* `decode` too (decode_cmd.c). */
static int cmd_decode(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--version")) {
      print_version();
      return FL_EXIT_OK;
    }
  return fl_cmd_decode(argc, argv);
}

/* `bundle` too (bundle_cmd.c), with the programs `run` would start, for versions.json. */
static int cmd_bundle(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--version")) {
      print_version();
      return FL_EXIT_OK;
    }
  char peer[PATH_MAX], proxy[PATH_MAX];
  sibling_path("faultline-peer", "FAULTLINE_PEER", peer, sizeof peer);
  sibling_path("faultline-proxy", "FAULTLINE_PROXY", proxy, sizeof proxy);
  return fl_cmd_bundle(argc, argv, peer, proxy);
}

/* `report` parses its own options (report_cmd.c); colour follows the rule of every command. */
static int cmd_report(int argc, char **argv) { return fl_cmd_report(argc, argv, use_color()); }

static int dispatch(const char *name, int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(int, char **);
  } table[] = {{"list", cmd_list},     {"show", cmd_show},    {"validate", cmd_validate},
               {"run", cmd_run},       {"dump", cmd_dump},    {"decode", cmd_decode},
               {"report", cmd_report}, {"bundle", cmd_bundle}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(name, table[i].name)) return table[i].fn(argc, argv);
  const char *names[] = {"list",   "show",   "validate", "run",  "dump",
                         "decode", "report", "bundle",   "help", NULL};
  const char *near = fl_near_miss(name, names);
  char plain[128];
  if (near)
    fprintf(stderr, "faultline: unknown command '%s'; did you mean '%s'?\n\n",
            fl_printable(name, plain, sizeof plain), near);
  else
    fprintf(stderr, "faultline: unknown command '%s'\n\n", fl_printable(name, plain, sizeof plain));
  usage_main(stderr);
  return FL_EXIT_USAGE;
}

int main(int argc, char **argv) {
  /* A reader that goes away (`faultline run a b c | head -1`) must not end the batch: writes
   * to it fail with EPIPE instead, and the runs go on. */
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    usage_main(stderr);
    return FL_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    usage_main(stdout);
    return FL_EXIT_OK;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
    print_version();
    return FL_EXIT_OK;
  }
  /* The vocabulary, from the tables themselves: the README's lists are this output. */
  if (!strcmp(cmd, "help") && argc == 3 && !strcmp(argv[2], "fields")) {
    fl_fields_write_markdown(stdout);
    return FL_EXIT_OK;
  }
  if (!strcmp(cmd, "help") && argc == 3 && !strcmp(argv[2], "events")) {
    fl_events_write_markdown(stdout);
    return FL_EXIT_OK;
  }
  if (!strcmp(cmd, "help")) {
    if (argc == 2) {
      usage_main(stdout);
      return FL_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
      if (!strcmp(argv[2], commands[i]->name)) {
        print_help(stdout, commands[i]);
        return FL_EXIT_OK;
      }
    if (!strcmp(argv[2], "dump")) {
      char *dump_help[] = {"dump", "--help", NULL};
      return fl_cmd_dump(2, dump_help);
    }
    if (!strcmp(argv[2], "decode")) {
      char *decode_help[] = {"decode", "--help", NULL};
      return fl_cmd_decode(2, decode_help);
    }
    if (!strcmp(argv[2], "report")) {
      char *report_help[] = {"report", "--help", NULL};
      return fl_cmd_report(2, report_help, false);
    }
    if (!strcmp(argv[2], "bundle")) {
      char *bundle_help[] = {"bundle", "--help", NULL};
      return fl_cmd_bundle(2, bundle_help, "", "");
    }
    if (!strcmp(argv[2], "help")) {
      usage_main(stdout);
      return FL_EXIT_OK;
    }
    return dispatch(argv[2], 0, NULL);
  }
  return dispatch(cmd, argc - 1, argv + 1);
}
