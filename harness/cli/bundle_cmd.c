#include "bundle_cmd.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "config.h"
#include "exit_codes.h"
#include "faults.h"
#include "scenario_refs.h"
#include "versions.h"

#define MAX_PROGRAMS 16

static void usage(FILE *out) {
  fputs("usage: faultline bundle [-o FILE.tar.gz] RUNDIR\n"
        "\n"
        "Packs a run directory for a ticket: its reports, events, capture, frames, samples,\n"
        "thread dumps, logs and scenario, every file the scenario refers to, and\n"
        "versions.json: faultline's, gRPC core's and the kernel's versions and the path, size,\n"
        "SHA-256 and build id of each program the run starts. `faultline run --bundle FILE`\n"
        "reruns it elsewhere and says which versions differ. Links are never followed, and\n"
        "no file is ever overwritten.\n"
        "\n"
        "  -o, --output FILE  the bundle to write (default: RUNDIR's name + .tar.gz, in the\n"
        "                     current directory); it must not exist\n"
        "  --help             this text\n"
        "\n",
        out);
  fl_exit_codes_print(out, "bundle");
}

/* The programs a run of `s` starts (bundle_cmd.h). `self` holds faultline's own path. */
static size_t programs(const fl_scenario *s, const fl_scenario_refs *refs, const char *peer,
                       const char *proxy, char *self, size_t selflen, fl_program *out) {
  size_t n = 0;
  ssize_t len = readlink("/proc/self/exe", self, selflen - 1);
  self[len > 0 ? len : 0] = '\0';
  out[n++] = (fl_program){"faultline", self};
  out[n++] = (fl_program){"peer", peer};
  if (fl_faults_need_proxy(&s->path_plan, s->faults, s->n_faults))
    out[n++] = (fl_program){"proxy", proxy};
  for (size_t i = 0; i < refs->n && n < MAX_PROGRAMS; i++)
    if (refs->refs[i].kind == FL_REF_PROGRAM)
      out[n++] = (fl_program){refs->refs[i].key, refs->refs[i].path};
  return n;
}

/* versions.json is measured now, not when the run was made: say so where they may differ. */
static void warn_if_changed(const json_t *report, const fl_program *progs, size_t n) {
  const char *v = json_string_value(json_object_get(report, "faultline_version"));
  if (v && strcmp(v, FL_VERSION))
    fprintf(stderr,
            "faultline bundle: warning: the run was made by faultline %s, this is %s; "
            "versions.json records this one\n",
            v, FL_VERSION);
  const char *started = json_string_value(json_object_get(report, "started_at"));
  struct tm tm = {0};
  if (!started || !strptime(started, "%Y-%m-%dT%H:%M:%SZ", &tm)) return;
  time_t at = timegm(&tm);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (stat(progs[i].path, &st) == 0 && st.st_mtime > at)
      fprintf(stderr,
              "faultline bundle: warning: %s (%s) changed after the run; versions.json records "
              "it as it is now\n",
              progs[i].role, progs[i].path);
  }
}

int fl_cmd_bundle(int argc, char **argv, const char *peer, const char *proxy) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {"output", required_argument, NULL, 'o'},
                                           {NULL, 0, NULL, 0}};
  const char *output = NULL;
  optind = 0; /* glibc: start afresh, options anywhere */
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1;) {
    switch (c) {
    case 'h': usage(stdout); return FL_EXIT_OK;
    case 'o': output = optarg; break;
    default:
      fprintf(stderr, "faultline bundle: %s '%s' (faultline bundle --help lists them)\n",
              c == ':' ? "option requires an argument:" : "unknown option", argv[optind - 1]);
      return FL_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "faultline bundle: %s\nusage: faultline bundle [-o FILE.tar.gz] RUNDIR\n",
            optind >= argc ? "which run directory?" : "takes one RUNDIR");
    return FL_EXIT_USAGE;
  }
  char err[2048];
  fl_bundle_run *run;
  char plain[PATH_MAX + NAME_MAX];
  if (fl_bundle_run_open(argv[optind], &run, err, sizeof err) < 0) {
    int code = errno == 0 ? FL_EXIT_USAGE : FL_EXIT_HARNESS;
    fprintf(stderr, "faultline bundle: %s\n", fl_printable(err, plain, sizeof plain));
    return code;
  }
  const fl_scenario *s = fl_bundle_run_scenario(run);
  const char *const *left;
  size_t n_left = fl_bundle_run_left_out(run, &left);
  for (size_t i = 0; i < n_left; i++)
    fprintf(stderr,
            "faultline bundle: left out %s/%s: not a file faultline writes in a run directory\n",
            fl_printable(argv[optind], err, sizeof err),
            fl_printable(left[i], plain, sizeof plain));

  fl_program progs[MAX_PROGRAMS];
  char self[PATH_MAX];
  size_t n = programs(s, fl_bundle_run_refs(run), peer, proxy, self, sizeof self, progs);
  json_t *versions = fl_versions_collect(progs, n);
  char name[PATH_MAX];
  if (!output) {
    snprintf(name, sizeof name, "%s.tar.gz", fl_bundle_top(run));
    output = name;
  }
  fl_bundle_stats st;
  int rc = FL_EXIT_OK;
  if (!versions) {
    fprintf(stderr, "faultline bundle: out of memory\n");
    rc = FL_EXIT_HARNESS;
  } else if (fl_bundle_write(run, versions, output, &st, err, sizeof err) < 0) {
    rc = errno == 0 ? FL_EXIT_USAGE : FL_EXIT_HARNESS;
    fprintf(stderr, "faultline bundle: %s\n", fl_printable(err, plain, sizeof plain));
  } else {
    const char *verdict = json_string_value(json_object_get(fl_bundle_run_report(run), "verdict"));
    printf("%s: %zu files, %.1f KiB in %.1f KiB (scenario %s, verdict %s)\n",
           fl_printable(output, plain, sizeof plain), st.files, (double)st.bytes / 1024,
           (double)st.output / 1024, s->name, verdict ? verdict : "?");
    if (fflush(stdout) != 0) rc = FL_EXIT_HARNESS;
    warn_if_changed(fl_bundle_run_report(run), progs, n);
  }
  json_decref(versions);
  fl_bundle_run_free(run);
  return rc;
}

/* ---- run --bundle ------------------------------------------------------------------------ */

static char unpacked[PATH_MAX];
static pid_t unpacked_by;

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  remove(path);
  return 0;
}

/* Removes the unpacked tree: every entry is a file or folder faultline made (no link was
 * unpacked), and nothing is followed. Only in the process that made it. */
static void remove_unpacked(void) {
  if (!unpacked[0] || getpid() != unpacked_by) return;
  nftw(unpacked, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  unpacked[0] = '\0';
}

int fl_bundle_rerun_prepare(const char *bundle, const char *peer, const char *proxy, char *path,
                            size_t len) {
  char plain[PATH_MAX], err[2048];
  fl_printable(bundle, plain, sizeof plain);
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  snprintf(unpacked, sizeof unpacked, "%s/faultline-bundle-XXXXXX", tmp);
  if (!mkdtemp(unpacked)) {
    fprintf(stderr, "faultline run: --bundle: cannot make a folder in %s: %s\n", tmp,
            strerror(errno));
    unpacked[0] = '\0';
    return FL_EXIT_HARNESS;
  }
  unpacked_by = getpid();
  static bool registered;
  if (!registered) registered = atexit(remove_unpacked) == 0;

  fl_bundle_contents c;
  if (fl_bundle_extract(bundle, unpacked, &c, err, sizeof err) < 0) {
    int code = errno == 0 ? FL_EXIT_USAGE : FL_EXIT_HARNESS;
    fprintf(stderr, "faultline run: --bundle %s\n", err);
    remove_unpacked();
    return code;
  }
  fl_scenario *s = NULL;
  fl_error fe;
  if (fl_scenario_load(c.scenario, &s, &fe) < 0) {
    fprintf(stderr, "faultline run: --bundle %s: its scenario: %s\n", plain, fe.msg);
    fl_bundle_contents_free(&c);
    remove_unpacked();
    return FL_EXIT_USAGE;
  }
  fl_scenario_refs refs = {0};
  if (fl_scenario_refs_list(s, &refs, err, sizeof err) < 0) {
    fprintf(stderr, "faultline run: --bundle %s: %s\n", plain, err);
    fl_scenario_refs_free(&refs);
    fl_scenario_free(s);
    fl_bundle_contents_free(&c);
    remove_unpacked();
    return FL_EXIT_USAGE;
  }
  fl_program progs[MAX_PROGRAMS];
  char self[PATH_MAX];
  size_t n = programs(s, &refs, peer, proxy, self, sizeof self, progs);
  json_t *now = fl_versions_collect(progs, n);

  char name[128], verdict[64], started[64], made_by[64];
  fl_bundle_manifest_text(c.manifest, "scenario", "name", name, sizeof name);
  fl_bundle_manifest_text(c.manifest, "run", "verdict", verdict, sizeof verdict);
  fl_bundle_manifest_text(c.manifest, "run", "started_at", started, sizeof started);
  fl_bundle_manifest_text(c.manifest, "run", "faultline_version", made_by, sizeof made_by);
  printf("bundle %s: scenario %s, run at %s by faultline %s: %s\n", plain, name, started, made_by,
         verdict);
  if (now) fl_versions_diff(stdout, c.versions, now);
  fflush(stdout);
  int rc = FL_EXIT_OK;
  if (!now) {
    fprintf(stderr, "faultline run: out of memory\n");
    rc = FL_EXIT_HARNESS;
  } else if (snprintf(path, len, "%s", c.scenario) >= (int)len) {
    fprintf(stderr, "faultline run: --bundle: the unpacked path is too long\n");
    rc = FL_EXIT_HARNESS;
  }
  json_decref(now);
  fl_scenario_refs_free(&refs);
  fl_scenario_free(s);
  fl_bundle_contents_free(&c);
  if (rc != FL_EXIT_OK) remove_unpacked();
  return rc;
}
