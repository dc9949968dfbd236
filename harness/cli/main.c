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
#include "batch.h"
#include "exit_codes.h"
#include "fields.h"
#include "junit.h"
#include "library.h"
#include "netns.h"
#include "report.h"
#include "report_cmd.h"
#include "report_html.h"
#include "rundir.h"
#include "runner.h"
#include "scenario.h"
#include "suite.h"
#include "verdict.h"

#define MAX_TAGS 32

typedef struct {
  const char *out;
  const char *runs_dir;
  bool quiet;
  bool netns;
  /* A selection (README "Suites and CI"). */
  bool all;
  bool dry_run;
  const char *junit;
  int jobs;                     /* -j: runs at once */
  int repeat;                   /* --repeat: 0 when not given */
  int shard_index, shard_count; /* --shard I/N; count 0 when not given */
  const char *tags[MAX_TAGS];
  size_t n_tags;
  bool allow_remote;      /* --allow-remote: a server target may be another machine */
  const char *proxy_path; /* faultline-proxy, found before the first run */
  const char *bundle;     /* run --bundle FILE */
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
    "run [OPTIONS] NAME|FILE|SUITE...\n"
    "       faultline run [OPTIONS] --all\n"
    "       faultline run [OPTIONS] --bundle FILE.tar.gz",
    "SoRqNAnJjrstXTB",
    "Runs each scenario: starts its server and client peers, drives their scripts, judges the\n"
    "expect clauses and writes a run directory with scenario.yaml, events.jsonl,\n"
    "report.json, report.html, capture.pcap, thread dumps and each peer's stderr. Every file\n"
    "is loaded before the first runs. A batch ends with a one-line total.\n"
    "A SUITE is a file ending in .suite that lists scenarios, one a line, with tags and\n"
    "repeat=N (README \"Suites and CI\"; ci/regression.suite).\n\n"
    "  --out DIR        the run directory (with several runs: DIR/NAME each, DIR/NAME-runK\n"
    "                   for a repeated one). DIR must not exist, or be empty, or be the\n"
    "                   directory of an earlier faultline run, which is then replaced as a\n"
    "                   whole; anything else is refused\n"
    "  --runs-dir DIR   where new run directories are made (default runs/), each named\n"
    "                   <timestamp>-<name>; nothing in DIR is ever replaced\n"
    "  --netns          run inside a new network namespace (and user namespace when not\n"
    "                   root): packet capture without root, ports of our own\n"
    "  --quiet          print only the verdict lines (and the batch's total)\n"
    "  --allow-remote   let a `server: { target: HOST:PORT }` be another machine (by default\n"
    "                   only loopback addresses are reached)\n"
    "  --trace          debugging faultline itself: the runner prints each change of its\n"
    "                   state to stderr, the peers and the proxy theirs to their stderr files\n"
    "                   (the same as FAULTLINE_TRACE=1)\n"
    "  --scenarios DIR  the scenario library for NAMEs\n"
    "  --bundle FILE    rerun the scenario of a bundle (faultline bundle): unpacked into a\n"
    "                   new temporary folder, its referenced files found there; says which\n"
    "                   versions differ from the original run before it runs\n"
    "\n"
    "Suites (several runs):\n"
    "  --all            every scenario of the library\n"
    "  --tag T          only the entries of suite files tagged T (again: any of them)\n"
    "  --shard I/N      only shard I of N: entries I, I+N, I+2N, ... of the selection, so\n"
    "                   that N machines running the same command run each entry once\n"
    "  --repeat N       run each scenario N times (over a suite file's repeat=); one whose\n"
    "                   runs differ is reported FLAKY\n"
    "  -j, --jobs N     N runs at once, each in its own process, run directory and ports\n"
    "                   (default 1; at most the machine's cores)\n"
    "  --junit FILE     write JUnit XML: one testcase per run, the failing clauses or the\n"
    "                   error as its failure, the run directory as its attachment. FILE must\n"
    "                   not exist, or be a JUnit file faultline wrote (then replaced)\n"
    "  --dry-run        load and select, print each scenario with its runs and tags, run\n"
    "                   nothing\n"
    "Progress on stderr: a line per finished run (\"[3/22] ping-pong reproduced 0.047s\"),\n"
    "and on a terminal a live line of what runs and what failed so far.\n"};

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
          "  run NAME|FILE|SUITE...\n"
          "                       run scenarios, suite files or --all; a run directory each\n"
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
                                           {"all", no_argument, NULL, 'A'},
                                           {"dry-run", no_argument, NULL, 'n'},
                                           {"junit", required_argument, NULL, 'J'},
                                           {"jobs", required_argument, NULL, 'j'},
                                           {"repeat", required_argument, NULL, 'r'},
                                           {"shard", required_argument, NULL, 's'},
                                           {"tag", required_argument, NULL, 't'},
                                           {"allow-remote", no_argument, NULL, 'X'},
                                           {"trace", no_argument, NULL, 'T'},
                                           {"bundle", required_argument, NULL, 'B'},
                                           {NULL, 0, NULL, 0}};
  char opt[64];
  optind = 0; /* glibc: start afresh */
  opterr = 0;
  int idx = -1;
  for (int ch; (ch = getopt_long(argc, argv, ":ho:qVj:", longopts, &idx)) != -1; idx = -1) {
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
    case 'A': ro->all = true; break;
    case 'n': ro->dry_run = true; break;
    case 'X': ro->allow_remote = true; break;
    case 'T': setenv("FAULTLINE_TRACE", "1", 1); break; /* read once, by the runner and peers */
    case 'J': ro->junit = optarg; break;
    case 'j':
    case 'r': {
      const char *what = ch == 'j' ? "-j" : "--repeat";
      int max = ch == 'j' ? FL_BATCH_MAX_JOBS : FL_SUITE_MAX_REPEAT;
      char *end;
      errno = 0;
      long v = strtol(optarg, &end, 10);
      if (errno || end == optarg || *end || v < 1 || v > max) {
        fprintf(stderr, "faultline %s: %s '%s': give a count from 1 to %d\n", c->name, what, optarg,
                max);
        return -1;
      }
      *(ch == 'j' ? &ro->jobs : &ro->repeat) = (int)v;
      break;
    }
    case 's': {
      char err[256];
      if (fl_suite_parse_shard(optarg, &ro->shard_index, &ro->shard_count, err, sizeof err) < 0) {
        fprintf(stderr, "faultline %s: %s\n", c->name, err);
        return -1;
      }
      break;
    }
    case 't':
      if (ro->n_tags == MAX_TAGS) {
        fprintf(stderr, "faultline %s: more than %d --tag options\n", c->name, MAX_TAGS);
        return -1;
      }
      ro->tags[ro->n_tags++] = optarg;
      break;
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

/* A scenario file a user named: loaded, named after its scenario, and what it refers to read
 * (its proto payloads encoded) relative to its own directory (scenario.h). */
static int load(const char *path, fl_scenario **s, fl_error *e) {
  if (fl_scenario_load(path, s, e) < 0) return -1;
  if (fl_scenario_check_file_name(*s, e) == 0 && fl_scenario_resolve(*s, NULL, e) == 0) return 0;
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
static bool use_color_on(int fd) {
  const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
  if (no && *no) return false;
  if (!term || !*term || !strcmp(term, "dumb")) return false;
  return isatty(fd);
}

static bool use_color(void) { return use_color_on(STDOUT_FILENO); }

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

/* Runs one scenario in rd and reports it: its summary on stdout, and in out its verdict, why
 * when the report cannot say it, and whether a stop signal ended it. */
static void run_one(const fl_scenario *s, fl_rundir *rd, const char *peer, const run_opts *ro,
                    bool color, fl_batch_outcome *out) {
  const char *dir = fl_rundir_path(rd);
  char err[1024];
  *out = (fl_batch_outcome){.kind = FL_VERDICT_ERROR};
  fl_run_options o = {.rd = rd,
                      .peer_path = peer,
                      .proxy_path = ro->proxy_path,
                      .progress = !ro->quiet,
                      .allow_remote = ro->allow_remote};
  fl_run_result r;
  if (fl_run(s, &o, &r) < 0) {
    /* The run could not take place: r.error says why, and the verdict below is `error`. */
  }
  fl_verdict v;
  if (!r.obs || fl_verdict_judge(s, r.obs, r.harness_error ? r.error : NULL, &v) < 0) {
    fprintf(stderr, "faultline run: out of memory\n");
    snprintf(out->why, sizeof out->why, "out of memory");
    fl_run_result_free(&r);
    return;
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
      snprintf(out->why, sizeof out->why, "report.html: %s", why);
    }
    print_summary(dir, doc, ro->quiet, color);
  } else {
    /* No document to render: the verdict line alone, with why. */
    printf("%s: %s (report.json: %s)\n", s->name, fl_verdict_name(v.kind), v.why);
    snprintf(out->why, sizeof out->why, "%s", v.why);
  }
  json_decref(doc);
  fflush(stdout);
  out->kind = v.kind;
  out->interrupted = fl_observe_outcome(r.obs) == FL_OUTCOME_INTERRUPTED;
  fl_verdict_free(&v);
  fl_run_result_free(&r);
}

/* ---- `run` over a selection: the batch's runs and what it writes at the end ---------------- */

/* One run of the batch: scenario `s` (of selection entry `entry`), its k-th of `of` runs. */
typedef struct {
  const fl_scenario *s;
  size_t entry;
  int k, of;
  char label[NAME_MAX + 32]; /* "ping-pong", "ping-pong (run 2 of 3)" */
  fl_rundir *rd;             /* from prepare until the run (or its release) closes it */
  char dir[PATH_MAX];        /* the run directory, once made */
} run_slot;

typedef struct {
  run_slot *runs;
  fl_rundir *top;
  const run_opts *ro;
  const char *peer;
  bool color;
  bool single; /* one run: with --out it is made in DIR itself */
} run_ctx;

static const char *slot_label(void *ctx, size_t i) { return ((run_ctx *)ctx)->runs[i].label; }

static double slot_timeout(void *ctx, size_t i) {
  return (double)((run_ctx *)ctx)->runs[i].s->timeout_ns / 1e9;
}

/* The run directory: --out DIR itself for a single run, else a new one in the folder,
 * NAME (--out) or <timestamp>-NAME (runs/), with -runK for each of a repeated scenario's runs. */
static int slot_prepare(void *ctx, size_t i, char *why, size_t len) {
  run_ctx *c = ctx;
  run_slot *r = &c->runs[i];
  if (c->ro->out && c->single) {
    r->rd = c->top;
    c->top = NULL;
  } else {
    char base[NAME_MAX + 1], run[32] = "";
    if (r->of > 1) snprintf(run, sizeof run, "-run%d", r->k);
    if (c->ro->out) {
      snprintf(base, sizeof base, "%s%s", r->s->name, run);
    } else {
      char stamp[32];
      time_t now = time(NULL);
      strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
      snprintf(base, sizeof base, "%s-%s%s", stamp, r->s->name, run);
    }
    if (fl_rundir_create_child(c->top, base, &r->rd, why, len) < 0) return -1;
  }
  snprintf(r->dir, sizeof r->dir, "%s", fl_rundir_path(r->rd));
  return 0;
}

static void slot_run(void *ctx, size_t i, fl_batch_outcome *out) {
  run_ctx *c = ctx;
  run_slot *r = &c->runs[i];
  run_one(r->s, r->rd, c->peer, c->ro, c->color, out);
  char err[512];
  if (fl_rundir_close(r->rd, err, sizeof err) < 0) fprintf(stderr, "faultline run: %s\n", err);
  r->rd = NULL;
}

/* In this process after a worker took the run: this copy of the directory is only freed (a
 * run directory made by create_child replaces nothing, so closing deletes nothing). */
static void slot_release(void *ctx, size_t i) {
  run_ctx *c = ctx;
  run_slot *r = &c->runs[i];
  if (!r->rd) return;
  char err[512];
  if (fl_rundir_close(r->rd, err, sizeof err) < 0) fprintf(stderr, "faultline run: %s\n", err);
  r->rd = NULL;
}

/* The selection: --all, NAMEs, FILEs and suite files, then --tag and --shard, then --repeat.
 * Returns an exit status (FL_EXIT_OK to go on), having said what was wrong. */
static int select_runs(const command *c, const run_opts *ro, int argc, char **argv,
                       fl_suite *suite) {
  char err[PATH_MAX + 512];
  int status = FL_EXIT_OK;
  if (ro->all) {
    char **paths;
    int n = fl_library_list(&paths);
    if (n < 0) {
      fprintf(stderr, "faultline run: --all: cannot read %s: %s\n", fl_library_dir(),
              strerror(errno));
      return FL_EXIT_USAGE;
    }
    if (n == 0) {
      fprintf(stderr, "faultline run: --all: no scenario in %s\n", fl_library_dir());
      status = FL_EXIT_USAGE;
    }
    for (int i = 0; i < n && status == FL_EXIT_OK; i++)
      if (fl_suite_add(suite, paths[i], err, sizeof err) < 0) status = FL_EXIT_HARNESS;
    fl_library_free(paths, n);
  }
  for (int i = optind; i < argc && status != FL_EXIT_HARNESS; i++) {
    int rc = fl_suite_is_file(argv[i]) ? fl_suite_load(suite, argv[i], err, sizeof err)
                                       : fl_suite_add(suite, argv[i], err, sizeof err);
    if (rc < 0) {
      fprintf(stderr, "faultline run: %s\n", err);
      status = FL_EXIT_USAGE;
    }
  }
  (void)c;
  if (status != FL_EXIT_OK) return status;
  if (fl_suite_filter_tags(suite, ro->tags, ro->n_tags, err, sizeof err) < 0) {
    fprintf(stderr, "faultline run: --tag: %s\n", err);
    return FL_EXIT_USAGE;
  }
  if (ro->shard_count) fl_suite_shard(suite, ro->shard_index, ro->shard_count);
  if (ro->repeat) fl_suite_set_repeat(suite, ro->repeat);
  return FL_EXIT_OK;
}

/* "ping-pong: 3 of 3 runs reproduced" for each scenario run more than once; one whose runs
 * did not all give the same verdict is flaky, and its line says which runs differed. Returns
 * how many were flaky. */
static int print_repeats(const fl_suite *suite, const run_slot *runs, const fl_batch_result *res,
                         size_t n_runs) {
  int flaky = 0;
  for (size_t e = 0, i = 0; e < suite->n; e++) {
    size_t first = i;
    while (i < n_runs && runs[i].entry == e) i++;
    if (suite->entries[e].repeat < 2 || i == first) continue;
    int ran = 0, repro = 0, by[3] = {0};
    for (size_t k = first; k < i; k++) {
      if (!res[k].ran) continue;
      ran++;
      by[res[k].outcome.kind]++;
      repro += res[k].outcome.kind == FL_VERDICT_REPRODUCED;
    }
    bool varied = ran > 0 && by[FL_VERDICT_REPRODUCED] != ran &&
                  by[FL_VERDICT_NOT_REPRODUCED] != ran && by[FL_VERDICT_ERROR] != ran;
    printf("%s: %d of %d runs reproduced", runs[first].s->name, repro, ran);
    if (ran < runs[first].of) printf(" (%d not run)", runs[first].of - ran);
    if (varied) {
      flaky++;
      printf(" \xE2\x80\x94 FLAKY:");
      const char *sep = " ";
      for (size_t k = first; k < i; k++) {
        if (!res[k].ran || res[k].outcome.kind == FL_VERDICT_REPRODUCED) continue;
        printf("%srun %d %s (%s)", sep, runs[k].k, fl_verdict_name(res[k].outcome.kind),
               runs[k].dir[0] ? runs[k].dir : "no run directory");
        sep = ", ";
      }
    }
    printf("\n");
  }
  return flaky;
}

/* The JUnit file (junit.h), from each run's report.json. Returns 0, or -1 having said why. */
static int write_junit(const char *path, const fl_suite *suite, const run_slot *runs,
                       const fl_batch_result *res, size_t n_runs, const run_opts *ro,
                       const char *started, double seconds) {
  fl_junit_case *cases = calloc(n_runs ? n_runs : 1, sizeof *cases);
  char(*msgs)[2048] = calloc(n_runs ? n_runs : 1, sizeof *msgs);
  char **texts = calloc(n_runs ? n_runs : 1, sizeof *texts);
  if (!cases || !msgs || !texts) {
    free(cases);
    free(msgs);
    free(texts);
    fprintf(stderr, "faultline run: --junit %s: out of memory\n", path);
    return -1;
  }
  /* The suite's name: the suite file's stem when every run came from one, else faultline. */
  const char *group = suite->n ? suite->entries[0].group : NULL;
  for (size_t e = 1; e < suite->n && group; e++)
    if (!suite->entries[e].group || strcmp(suite->entries[e].group, group)) group = NULL;
  for (size_t i = 0; i < n_runs; i++) {
    const run_slot *r = &runs[i];
    const fl_batch_outcome *o = &res[i].outcome;
    fl_junit_case *jc = &cases[i];
    const char *g = suite->entries[r->entry].group;
    *jc = (fl_junit_case){.name = r->label,
                          .classname = g ? g : "faultline",
                          .run_dir = r->dir[0] ? r->dir : NULL,
                          .seconds = res[i].seconds,
                          .message = msgs[i]};
    if (!res[i].ran) {
      jc->result = FL_JUNIT_SKIPPED;
      snprintf(msgs[i], sizeof msgs[i], "not run: the batch was stopped first");
      continue;
    }
    jc->result = o->kind == FL_VERDICT_REPRODUCED       ? FL_JUNIT_PASSED
                 : o->kind == FL_VERDICT_NOT_REPRODUCED ? FL_JUNIT_FAILURE
                                                        : FL_JUNIT_ERROR;
    json_t *doc = NULL;
    char err[1024] = "";
    if (r->dir[0] && fl_report_load(r->dir, &doc, err, sizeof err) == 0) {
      fl_junit_describe(doc, r->dir, msgs[i], sizeof msgs[i], &texts[i]);
      const char *v = json_string_value(json_object_get(doc, "verdict"));
      /* An error the report cannot hold (report.html could not be written): said first. */
      if (o->kind == FL_VERDICT_ERROR && o->why[0] && !(v && !strcmp(v, "error")))
        snprintf(msgs[i], sizeof msgs[i], "error: %s", o->why);
      json_decref(doc);
    } else {
      snprintf(msgs[i], sizeof msgs[i], "error: %s", o->why[0] ? o->why : err);
      texts[i] = strdup(o->why[0] && err[0] ? err : "");
    }
    jc->text = texts[i];
    /* A repeated scenario that varied says so on each of its failing runs. Its runs are
     * next to each other: [first, end). */
    if (jc->result != FL_JUNIT_PASSED && r->of > 1) {
      size_t first = i - (size_t)(r->k - 1), end = first + (size_t)r->of;
      int repro = 0, ran = 0;
      for (size_t k = first; k < end && k < n_runs; k++) {
        ran += res[k].ran;
        repro += res[k].ran && res[k].outcome.kind == FL_VERDICT_REPRODUCED;
      }
      size_t l = strlen(msgs[i]);
      if (repro > 0)
        snprintf(msgs[i] + l, sizeof msgs[i] - l, " [flaky: reproduced in %d of %d runs]", repro,
                 ran);
    }
  }
  char shard[32] = "", jobs[16], host[256] = "";
  if (ro->shard_count) snprintf(shard, sizeof shard, "%d/%d", ro->shard_index, ro->shard_count);
  snprintf(jobs, sizeof jobs, "%d", ro->jobs);
  if (gethostname(host, sizeof host - 1) < 0) host[0] = '\0';
  const char *props[] = {"faultline_version",       FL_VERSION, "jobs", jobs,
                         shard[0] ? "shard" : NULL, shard,      NULL};
  fl_junit_suite js = {.name = group ? group : "faultline",
                       .timestamp = started,
                       .hostname = host[0] ? host : NULL,
                       .seconds = seconds,
                       .properties = props};
  char *xml = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&xml, &len);
  int rc = m && fl_junit_write(m, &js, cases, n_runs) == 0 ? 0 : -1;
  if (m) fclose(m);
  char err[PATH_MAX + 256];
  if (rc < 0)
    fprintf(stderr, "faultline run: --junit %s: out of memory\n", path);
  else if ((rc = fl_junit_save(path, xml, len, err, sizeof err)) < 0)
    fprintf(stderr, "faultline run: %s\n", err);
  free(xml);
  for (size_t i = 0; i < n_runs; i++) free(texts[i]);
  free(texts);
  free(msgs);
  free(cases);
  return rc;
}

static int cmd_run(int argc, char **argv) {
  const command *c = &cmd_run_def;
  run_opts ro = {.jobs = 1};
  int rc = parse_opts(c, argc, argv, &ro);
  if (rc != 0) return rc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
  /* --bundle: the bundle's scenario, unpacked, is the one FILE to run (bundle_cmd.h). */
  char bundled[PATH_MAX], *bundled_argv[] = {bundled, NULL};
  if (ro.bundle) {
    if (optind != argc || ro.all)
      return bad_args(c, "--bundle runs the bundle's scenario; give no NAME, FILE or --all");
    char peer[PATH_MAX], proxy[PATH_MAX];
    sibling_path("faultline-peer", "FAULTLINE_PEER", peer, sizeof peer);
    sibling_path("faultline-proxy", "FAULTLINE_PROXY", proxy, sizeof proxy);
    int st = fl_bundle_rerun_prepare(ro.bundle, peer, proxy, bundled, sizeof bundled);
    if (st != FL_EXIT_OK) return st;
    argv = bundled_argv;
    argc = 1;
    optind = 0;
  }
  if (!ro.all && optind >= argc)
    return bad_args(c, "which scenarios? give NAMEs, FILEs or suite files, or --all");
  if (ro.all && optind < argc)
    return bad_args(c, "--all runs the whole library; give no NAME or FILE with it");
  if (ro.out && ro.runs_dir) return bad_args(c, "--out and --runs-dir exclude each other");
  /* Runs share the machine's cores: two timing-sensitive scenarios on one core measure the
   * scheduler, not the scenario (a deadline of 300 ms, a hang window of 1 s). */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores < 1) cores = 1;
  if (cores > FL_BATCH_MAX_JOBS) cores = FL_BATCH_MAX_JOBS;
  if (ro.jobs > cores) {
    fprintf(stderr, "faultline run: -j %d: this machine has %ld core%s; running %ld at a time\n",
            ro.jobs, cores, cores == 1 ? "" : "s", cores);
    ro.jobs = (int)cores;
  }

  fl_suite suite = {0};
  int status = select_runs(c, &ro, argc, argv, &suite);
  bool selected = status == FL_EXIT_OK;
  bool interrupted = false;
  int reproduced = 0, not_reproduced = 0, errors = 0, ran = 0;

  /* Every file is loaded before anything runs: a typo in the third scenario should not cost
   * the time of running the first two. */
  fl_scenario **scenarios = calloc(suite.n ? suite.n : 1, sizeof *scenarios);
  if (!scenarios) {
    fprintf(stderr, "faultline run: out of memory\n");
    fl_suite_free(&suite);
    return FL_EXIT_HARNESS;
  }
  for (size_t i = 0; i < suite.n && selected; i++) {
    const fl_suite_entry *e = &suite.entries[i];
    char path[PATH_MAX], err[512];
    fl_error fe;
    if (fl_library_resolve(e->scenario, path, sizeof path, err, sizeof err) < 0) {
      if (e->origin)
        fprintf(stderr, "%s: %s\n", e->origin, err);
      else
        fprintf(stderr, "faultline run: %s\n", err);
      status = FL_EXIT_USAGE;
    } else if (load(path, &scenarios[i], &fe) < 0) {
      fprintf(stderr, "%s\n", fe.msg);
      if (e->origin) fprintf(stderr, "  (listed at %s)\n", e->origin);
      status = FL_EXIT_USAGE;
    } else {
      print_warnings(scenarios[i]);
    }
  }

  if (status == FL_EXIT_OK && ro.dry_run) {
    for (size_t i = 0; i < suite.n; i++) {
      const fl_suite_entry *e = &suite.entries[i];
      printf("%-40s %4d run%s", scenarios[i]->name, e->repeat, e->repeat == 1 ? " " : "s");
      for (size_t t = 0; t < e->n_tags; t++) printf("%s%s", t ? "," : "  ", e->tags[t]);
      printf("\n");
    }
    goto out;
  }

  char peer[PATH_MAX], proxy[PATH_MAX];
  sibling_path("faultline-peer", "FAULTLINE_PEER", peer, sizeof peer);
  sibling_path("faultline-proxy", "FAULTLINE_PROXY", proxy, sizeof proxy);
  ro.proxy_path = proxy;
  bool need_proxy = false;
  for (size_t i = 0; i < suite.n; i++)
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
  if (status == FL_EXIT_OK && ro.junit) {
    char err[PATH_MAX + 256];
    if (fl_junit_check_path(ro.junit, err, sizeof err) < 0) {
      fprintf(stderr, "faultline run: %s\n", err);
      status = FL_EXIT_USAGE;
    }
  }

  size_t n_runs = fl_suite_runs(&suite);
  run_slot *runs = calloc(n_runs ? n_runs : 1, sizeof *runs);
  fl_batch_result *res = calloc(n_runs ? n_runs : 1, sizeof *res);
  if (status == FL_EXIT_OK && (!runs || !res)) {
    fprintf(stderr, "faultline run: out of memory\n");
    status = FL_EXIT_HARNESS;
  }
  for (size_t e = 0, i = 0; status == FL_EXIT_OK && e < suite.n; e++)
    for (int k = 1; k <= suite.entries[e].repeat; k++, i++) {
      run_slot *r = &runs[i];
      *r = (run_slot){.s = scenarios[e], .entry = e, .k = k, .of = suite.entries[e].repeat};
      if (r->of > 1)
        snprintf(r->label, sizeof r->label, "%s (run %d of %d)", r->s->name, k, r->of);
      else
        snprintf(r->label, sizeof r->label, "%s", r->s->name);
      /* A scenario named twice keeps its labels apart, NAME #2: CI systems keep one testcase
       * a name. */
      int seen = 1;
      for (size_t f = 0; f < e; f++) seen += !strcmp(scenarios[f]->name, r->s->name);
      if (seen > 1) {
        size_t l = strlen(r->label);
        snprintf(r->label + l, sizeof r->label - l, " #%d", seen);
      }
    }

  /* Where the run directories go, decided before anything runs: a refused --out is a usage
   * error, not the first scenario's. */
  run_ctx ctx = {
      .runs = runs, .ro = &ro, .peer = peer, .color = use_color(), .single = n_runs == 1};
  if (status == FL_EXIT_OK && n_runs > 0) {
    char err[1024];
    int made = ro.out ? fl_rundir_create(ro.out, &ctx.top, err, sizeof err)
                      : fl_rundir_open_folder(ro.runs_dir ? ro.runs_dir : "runs", &ctx.top, err,
                                              sizeof err);
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

  char started[32];
  time_t wall = time(NULL);
  strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));
  int64_t t0 = fl_mono_ns();
  if (status == FL_EXIT_OK) {
    if (n_runs == 0)
      fprintf(stderr, "faultline run: shard %d/%d holds none of the selection; nothing to run\n",
              ro.shard_index, ro.shard_count);
    const char *term = getenv("TERM");
    fl_batch b = {.n = n_runs,
                  .jobs = ro.jobs,
                  .quiet = ro.quiet,
                  .live = n_runs > 1 && isatty(STDERR_FILENO) && term && *term &&
                          strcmp(term, "dumb") != 0,
                  .color = use_color_on(STDERR_FILENO),
                  .ctx = &ctx,
                  .label = slot_label,
                  .timeout_s = slot_timeout,
                  .prepare = slot_prepare,
                  .run = slot_run,
                  .release = slot_release};
    interrupted = fl_batch_run(&b, res);
    for (size_t i = 0; i < n_runs; i++) {
      if (!res[i].ran) continue;
      ran++;
      reproduced += res[i].outcome.kind == FL_VERDICT_REPRODUCED;
      not_reproduced += res[i].outcome.kind == FL_VERDICT_NOT_REPRODUCED;
      errors += res[i].outcome.kind == FL_VERDICT_ERROR;
    }
  }
  double seconds = (double)(fl_mono_ns() - t0) / 1e9;
  if (ctx.top) {
    char err[512];
    if (fl_rundir_close(ctx.top, err, sizeof err) < 0) fprintf(stderr, "faultline run: %s\n", err);
  }
  if (status == FL_EXIT_OK && n_runs > 1) {
    print_repeats(&suite, runs, res, n_runs);
    if (n_runs == suite.n)
      printf("%zu scenarios: ", suite.n);
    else
      printf("%zu scenario%s, %zu runs: ", suite.n, suite.n == 1 ? "" : "s", n_runs);
    printf("%d reproduced, %d not, %d error%s", reproduced, not_reproduced, errors,
           errors == 1 ? "" : "s");
    if ((size_t)ran < n_runs)
      printf(", %zu not run%s", n_runs - (size_t)ran, interrupted ? " (interrupted)" : "");
    printf("\n");
    fflush(stdout);
    if (!ro.quiet)
      fprintf(stderr, "faultline run: %d of %zu runs in %.1fs, %d at a time\n", ran, n_runs,
              seconds, ro.jobs);
  }
  if (status == FL_EXIT_OK && ro.junit &&
      write_junit(ro.junit, &suite, runs, res, n_runs, &ro, started, seconds) < 0)
    status = FL_EXIT_HARNESS;
  free(runs);
  free(res);
out:
  for (size_t i = 0; i < suite.n; i++)
    if (scenarios[i]) fl_scenario_free(scenarios[i]);
  free(scenarios);
  fl_suite_free(&suite);
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
