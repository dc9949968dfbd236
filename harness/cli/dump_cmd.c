#include "dump_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump_go.h"
#include "dump_pprof.h"
#include "dump_text.h"
#include "threads.h"

#define EXIT_OK 0
#define EXIT_USAGE 2
#define EXIT_CANNOT 3

/* How long --stop waits for every thread of a process to reach the stopped state. A thread in
 * uninterruptible sleep (D) stops only when the kernel lets it go; the dump then goes ahead and
 * its header says the snapshot was not consistent. */
#define STOP_WAIT_MS 2000

static void usage(FILE *out) {
  fputs("usage: faultline dump [--stop] [--format text|go|pprof] [--out FILE] PID...\n"
        "\n"
        "Prints a dump of every thread of each process, in the style of Go's goroutine dumps.\n"
        "\n"
        "Formats (--format, default text), the three files a run directory holds per dump:\n"
        "  text   for people (threads-SIDE-N.txt): a header, a grouped summary that folds\n"
        "         identical stacks (\"14 @ ...\", most common first), then each thread as\n"
        "         `thread TID \"name\" [state, what it waits on]:` with its frames as\n"
        "         `function(...)` / `<tab>file:line +0xoff` (file:line where debug info exists)\n"
        "  go     Go's goroutine-dump grammar (threads-SIDE-N.go.txt), one goroutine per\n"
        "         thread, for panicparse:  faultline dump --format go PID | panicparse\n"
        "  pprof  a gzipped pprof profile (threads-SIDE-N.pb.gz), one sample per thread with\n"
        "         labels thread, state, waits, tid; needs --out and one PID:\n"
        "         faultline dump --format pprof --out t.pb.gz PID; go tool pprof -top t.pb.gz\n"
        "\n"
        "You may dump any process you may trace: your own processes (if dumpable), or any with\n"
        "CAP_SYS_PTRACE. Under Yama ptrace_scope=1 only a parent may; use sudo or run the\n"
        "process under faultline. Each thread is stopped only while it is unwound.\n"
        "\n"
        "Options (anywhere on the line; -- ends them):\n"
        "  -s, --stop         stop each process (SIGSTOP) for the dump and resume it (SIGCONT)\n"
        "                     afterwards, so its threads form one consistent picture; with\n"
        "                     several PIDs all are stopped before the first dump. A process\n"
        "                     that was already stopped stays stopped.\n"
        "  -f, --format FMT   text (default), go or pprof\n"
        "  -o, --out FILE     write the dumps to FILE instead of standard output\n"
        "  -h, --help         this text\n"
        "\n"
        "Set DEBUGINFOD_URLS empty for quick, offline dumps; with it set, missing debuginfo\n"
        "may be downloaded.\n"
        "\n"
        "Exit codes: 0 every process dumped, 2 bad usage, 3 some process could not be dumped\n"
        "(the reason is printed; the others are still dumped).\n",
        out);
}

typedef enum { FORMAT_TEXT, FORMAT_GO, FORMAT_PPROF } dump_format;

static int parse_format(const char *s, dump_format *f) {
  if (strcmp(s, "text") == 0)
    *f = FORMAT_TEXT;
  else if (strcmp(s, "go") == 0)
    *f = FORMAT_GO;
  else if (strcmp(s, "pprof") == 0)
    *f = FORMAT_PPROF;
  else
    return -1;
  return 0;
}

/* Takes one dump and writes it in format. Returns 0, or -1 after a message on stderr. */
static int dump_one(pid_t pid, bool stop, dump_format format, FILE *out) {
  fl_dump_opts o = {.why = stop ? "faultline dump --stop" : "faultline dump"};
  fl_dump *d;
  char err[512];
  int rv = -1;

  if (fl_dump_take(pid, &o, &d, err, sizeof err) != 0) {
    fprintf(stderr, "faultline dump: %s\n", err);
    return -1;
  }
  switch (format) {
  case FORMAT_TEXT: rv = fl_dump_write_text(d, out, err, sizeof err); break;
  case FORMAT_GO: rv = fl_dump_write_go(d, out, err, sizeof err); break;
  case FORMAT_PPROF: rv = fl_dump_write_pprof(d, out, err, sizeof err); break;
  }
  if (rv != 0)
    fprintf(stderr, "faultline dump: cannot write the dump of pid %d: %s\n", (int)pid, err);
  fl_dump_free(d);
  return rv;
}

static int parse_pid(const char *s, pid_t *pid) {
  char *end;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > INT_MAX) return -1;
  *pid = (pid_t)v;
  return 0;
}

/* 'T' once every thread of pid is stopped (or gone), 0 while some still runs, -1 if pid is gone. */
static int all_stopped(pid_t pid) {
  char path[300], buf[512]; /* room for any d_name */
  struct dirent *de;
  DIR *dir;
  int rv = 1;

  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  dir = opendir(path);
  if (dir == NULL) return -1;
  while (rv == 1 && (de = readdir(dir)) != NULL) {
    FILE *f;
    char *p;

    if (de->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, de->d_name);
    f = fopen(path, "re");
    if (f == NULL) continue; /* the thread exited */
    if (fgets(buf, sizeof buf, f) != NULL && (p = strrchr(buf, ')')) != NULL && p[1] == ' ' &&
        p[2] != 'T' && p[2] != 't' && p[2] != 'Z' && p[2] != 'X')
      rv = 0;
    fclose(f);
  }
  closedir(dir);
  return rv;
}

/* Sends SIGSTOP unless the process is already stopped, and waits (bounded) until every thread
 * has stopped. Returns 1 if it stopped the process (so it must resume it), 0 if it was already
 * stopped, -1 on error (message printed). */
static int stop_process(pid_t pid) {
  struct timespec tick = {0, 1000000};

  if (all_stopped(pid) == 1) return 0;
  if (kill(pid, SIGSTOP) != 0) {
    fprintf(stderr, "faultline dump: cannot stop pid %d: %s\n", (int)pid, strerror(errno));
    return -1;
  }
  /* Stopping is asynchronous: each thread stops when it next handles the signal. */
  for (int waited = 0; waited < STOP_WAIT_MS && all_stopped(pid) == 0; waited++)
    nanosleep(&tick, NULL);
  return 1;
}

int fl_cmd_dump(int argc, char **argv) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {"out", required_argument, NULL, 'o'},
                                           {"stop", no_argument, NULL, 's'},
                                           {"format", required_argument, NULL, 'f'},
                                           {NULL, 0, NULL, 0}};
  const char *out_path = NULL;
  dump_format format = FORMAT_TEXT;
  bool stop = false;
  FILE *out = stdout;
  pid_t *pids;
  signed char *stopped;
  int npids, rv = EXIT_OK;
  sigset_t block, old;

  /* 0, not 1: glibc then starts afresh, permuting so options may follow the PIDs. */
  optind = 0;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "hso:f:", longopts, NULL)) != -1;) {
    switch (c) {
    case 'h': usage(stdout); return EXIT_OK;
    case 'o': out_path = optarg; break;
    case 's': stop = true; break;
    case 'f':
      if (parse_format(optarg, &format) != 0) {
        fprintf(stderr, "faultline dump: unknown --format \"%s\" (text, go or pprof)\n", optarg);
        return EXIT_USAGE;
      }
      break;
    default:
      fprintf(stderr, "faultline dump: unknown or incomplete option %s\n", argv[optind - 1]);
      fputs("try: faultline dump --help\n", stderr);
      return EXIT_USAGE;
    }
  }
  npids = argc - optind;
  if (npids <= 0) {
    fputs("faultline dump: which process? give one or more PIDs (faultline dump --help)\n", stderr);
    return EXIT_USAGE;
  }
  /* A profile is one binary message: two cannot share a file, nor a terminal. */
  if (format == FORMAT_PPROF && (out_path == NULL || npids != 1)) {
    fputs("faultline dump: --format pprof writes one process's profile to a file: give --out "
          "FILE and one PID\n",
          stderr);
    return EXIT_USAGE;
  }
  pids = calloc(npids, sizeof *pids);
  stopped = calloc(npids, sizeof *stopped);
  if (pids == NULL || stopped == NULL) {
    fputs("faultline dump: out of memory\n", stderr);
    rv = EXIT_CANNOT;
    goto out_free;
  }
  for (int i = 0; i < npids; i++) {
    if (parse_pid(argv[optind + i], &pids[i]) != 0) {
      fprintf(stderr, "faultline dump: not a process id: \"%s\"\n", argv[optind + i]);
      rv = EXIT_USAGE;
      goto out_free;
    }
  }
  if (out_path != NULL) {
    out = fopen(out_path, format == FORMAT_PPROF ? "wbe" : "we");
    if (out == NULL) {
      fprintf(stderr, "faultline dump: cannot write %s: %s\n", out_path, strerror(errno));
      rv = EXIT_CANNOT;
      goto out_free;
    }
  }

  /* A stopped process must not stay stopped because faultline was interrupted between the stop
   * and the resume: the usual terminating signals wait until every process is resumed. */
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGQUIT);
  sigaddset(&block, SIGPIPE); /* a reader that quits early (| head) */
  if (stop) sigprocmask(SIG_BLOCK, &block, &old);
  for (int i = 0; stop && i < npids; i++) {
    stopped[i] = (signed char)stop_process(pids[i]);
    if (stopped[i] < 0) rv = EXIT_CANNOT;
  }

  for (int i = 0; i < npids; i++) {
    if (stop && stopped[i] < 0) continue;
    if (i > 0) fputc('\n', out);
    if (dump_one(pids[i], stop, format, out) != 0) rv = EXIT_CANNOT;
  }

  for (int i = 0; stop && i < npids; i++)
    if (stopped[i] == 1 && kill(pids[i], SIGCONT) != 0) {
      fprintf(stderr, "faultline dump: could not resume pid %d (it stays stopped): %s\n",
              (int)pids[i], strerror(errno));
      rv = EXIT_CANNOT;
    }
  if (stop) sigprocmask(SIG_SETMASK, &old, NULL);

  if (out != stdout && fclose(out) != 0) {
    fprintf(stderr, "faultline dump: cannot write %s: %s\n", out_path, strerror(errno));
    rv = EXIT_CANNOT;
  } else if (out == stdout && fflush(stdout) != 0) {
    fprintf(stderr, "faultline dump: cannot write the dump: %s\n", strerror(errno));
    rv = EXIT_CANNOT;
  }
out_free:
  free(pids);
  free(stopped);
  return rv;
}
