/*
 * threads: one stop-and-unwind of every thread of a live process, kept as data (fl_dump), and
 * the three files a dump is written to.
 *
 * fl_dump_take reads each thread's state from /proc and unwinds its stack with libdw's Dwfl
 * API (DWARF CFI, separate debuginfo found by build-id), symbolizes every frame (function,
 * offset, module, source file and line) and lets the Dwfl session go: the fl_dump owns every
 * string it holds, and the renderers need no libdw. A dump is written in three forms:
 *
 *   threads-SIDE-N.txt     the human form (dump_text.h): header, grouped summary, each thread
 *   threads-SIDE-N.go.txt  Go's goroutine-dump grammar (dump_go.h), for panicparse
 *   threads-SIDE-N.pb.gz   a pprof profile (dump_pprof.h), for `go tool pprof`
 *
 * What a dump knows about each thread:
 * - state: the kernel's letter from /proc/PID/task/TID/stat in words (running, sleeping,
 *   disk sleep, stopped, tracing stop, zombie, dead, idle, ...).
 * - waits: the system call the thread is in, from /proc/PID/task/TID/syscall ("futex wait
 *   cv+40", "epoll_wait fd 5 (anon_inode:[eventpoll])", "nanosleep", "read fd 0 (pipe:[1234])",
 *   ...); a stopped thread shows the call it was in when it was stopped. A futex address is
 *   named by symbol when it is in a module's data, otherwise given as an address. When the
 *   syscall file is unreadable, the kernel's wchan ("in futex_wait_queue").
 * - idle: how long it made no progress, as the caller observed it (fl_thread_idle): the kernel
 *   keeps no "blocked since" time, and deriving it needs samples over time.
 * - frames, innermost first, each symbolized at pc-1 for a return address (the call's line, as
 *   Go does) and at pc for the innermost or a signal frame. Function names lose the symbol
 *   version glibc's symbols carry ("pthread_cond_wait@@GLIBC_2.3.2") and are demangled when
 *   libstdc++ can be loaded at run time (otherwise left mangled). Source files are made
 *   absolute by joining them with the compilation unit's DW_AT_comp_dir ("../tests/x.c" in a
 *   meson build directory becomes "/src/proj/tests/x.c"); "." and ".." are folded. Where the
 *   comp_dir is itself relative (Debian builds glibc with -fdebug-prefix-map, so its comp_dir
 *   is "./io" or "./nptl") the joined path stays relative to that library's source root
 *   ("sysdeps/unix/sysv/linux/read.c"), the same root for all its frames.
 *   A frame whose pc lies in inlined code is expanded as Go does it: each inlined function
 *   (DW_TAG_inlined_subroutine) is a frame of its own with its line, and the function it was
 *   inlined into has the line of the call (fl_symbol.inlined).
 *   Binaries without .debug_aranges (Go's linker writes none; clang's and rustc's usually do
 *   not either) are looked up through their compilation units' address ranges, since libdw
 *   0.188 finds no line information in them otherwise.
 *   Unwinding stops after 256 frames (elided); when it stops on an error the reason is kept.
 *
 * Separate debuginfo (e.g. libc6-dbg) is found through the standard paths and build-ids. If
 * DEBUGINFOD_URLS is set, libdw may download debuginfo, which can make a dump take seconds;
 * unset it for predictable dump times.
 */
#ifndef FL_THREADS_H
#define FL_THREADS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "util.h"

/*
 * How long a thread has made no progress, as the caller observed it over time: the kernel keeps
 * no "blocked since" time, but a caller that samples each thread's context switches (the
 * runner does, with every process sample) knows since when a count stood still.
 */
typedef struct {
  pid_t tid;
  int64_t idle_ns; /* at least this long without a context switch; 0: not known */
} fl_thread_idle;

/*
 * A gRPC operation of a built-in peer that has not completed when the dump is taken, as the
 * caller knows it (the runner, from the observation model). C core is asynchronous: the peer's
 * threads all wait in the completion queue, and its pending operations say what they wait for
 * (Go's goroutine blocked in CloseSend is, here, a pending close_send). Unknown fields are
 * left out of the renderings.
 */
typedef struct {
  const char *op;        /* the operation, e.g. "close_send", "send_message"; never NULL */
  int call;              /* the call it belongs to (1, 2, ... in the peer's order); 0: unknown */
  const char *step_file; /* the scenario file of the script step that issued it; NULL: unknown */
  int step_line;         /* that step's line; 0: unknown */
  int64_t pending_ns;    /* how long it has been pending; < 0: unknown */
  int64_t queued_bytes;  /* bytes queued behind it, not yet on the wire; < 0: unknown */
} fl_pending_op;

/* What a dump is taken with; every field may be 0/NULL. The dump copies what it keeps. */
typedef struct {
  const char *label;            /* names the process in headers ("server"); NULL: its comm */
  const char *why;              /* what asked for the dump ("hang: ..."); NULL: not said */
  const fl_thread_idle *idle;   /* per-thread idle times the caller observed */
  size_t n_idle;                /* entries in idle */
  const fl_pending_op *pending; /* a built-in peer's pending operations */
  size_t n_pending;             /* entries in pending */
} fl_dump_opts;

/* An ELF object mapped into the process (the main program, a shared library, the vDSO). */
typedef struct {
  char *path;        /* as /proc/PID/maps names it ("[vdso]" for the vDSO) */
  uint64_t start;    /* lowest mapped address */
  uint64_t end;      /* one past the highest */
  char build_id[66]; /* lower-case hex; "" if it has none */
} fl_module;

/* A function the compiler inlined at an address, which Go (and addr2line -i) show as a frame
 * of its own, above the function it was inlined into. */
typedef struct {
  char *function; /* "??" if the DWARF names none */
  char *file;     /* NULL: unknown */
  int line;       /* > 0 with file */
} fl_inline;

/* What one looked-up address resolves to; frames with the same address share one. */
typedef struct {
  uint64_t pc;              /* the address looked up: pc-1 for a return address, else pc */
  int module;               /* index into fl_dump.modules; -1: no module maps pc */
  uint64_t module_offset;   /* pc minus the module's start */
  char *function;           /* NULL: no symbol covers pc */
  uint64_t function_offset; /* pc minus the function's start (with function only) */
  char *file;               /* NULL: no line information */
  int line;                 /* > 0 with file; in function, the call of inlined[last] if any */
  fl_inline *inlined;       /* functions inlined at pc, innermost first; inlined[0] holds the
                               line of pc itself, each further one the call of the one before */
  int ninlined;
} fl_symbol;

typedef struct {
  uint64_t pc;          /* as unwound: a return address for every frame but an activation */
  bool activation;      /* the innermost frame or one a signal interrupted: pc is exact */
  const fl_symbol *sym; /* never NULL */
} fl_frame;

typedef struct {
  pid_t tid;
  char name[32];     /* its comm ("default-executo"; gRPC names its threads) */
  char state_letter; /* from /proc/.../stat; 0 if the thread was gone */
  const char *state; /* state_letter in words ("sleeping"; "gone") */
  char waits[200];   /* what it waits on, see above; "" if not in a known wait */
  int64_t idle_ns;   /* from fl_dump_opts.idle; 0: not known */
  fl_frame *frames;  /* innermost first */
  int nframes;
  bool elided;           /* more frames than were kept */
  char stop_reason[160]; /* why unwinding ended early; "" if it reached the outermost frame */
} fl_thread;

/* One dump: read-only for everyone but fl_dump_take and fl_dump_free. */
typedef struct {
  pid_t pid;
  char label[64];       /* fl_dump_opts.label, or the comm */
  char comm[64];        /* "?" if unreadable */
  char command[512];    /* the command line, arguments joined by spaces; "" if unreadable */
  bool command_cut;     /* command was longer than the buffer */
  char why[256];        /* "" if not said */
  struct timespec when; /* CLOCK_REALTIME when the dump began */
  bool consistent;      /* every thread was stopped (by someone) before it was unwound */
  double elapsed_ms;    /* reading, stopping, unwinding and symbolizing (not the writing) */
  fl_thread *threads;   /* in the order the kernel lists them; the main thread first */
  int nthreads;
  fl_module *modules; /* the executable first */
  int nmodules;
  fl_symbol *symbols; /* every distinct looked-up address of every frame */
  size_t nsymbols;
  fl_pending_op *pending; /* copies of fl_dump_opts.pending (strings owned) */
  size_t npending;
} fl_dump;

typedef struct {
  int threads;       /* threads dumped */
  double elapsed_ms; /* time to read, stop, unwind and symbolize every thread (not the writing) */
} fl_dump_info;

/*
 * Takes a dump of every thread of process `pid` into *out (free it with fl_dump_free).
 *
 * Each thread is ptrace-attached, unwound and detached in turn; a running process therefore
 * keeps running between threads and its dump is not one instant. For a consistent picture stop
 * the process first (SIGSTOP, and for a pair stop both before dumping either): the dump works on
 * a stopped process and leaves it stopped. A process that was running is left running.
 *
 * The caller must be allowed to ptrace `pid` (same uid and the target dumpable, or
 * CAP_SYS_PTRACE; under Yama ptrace_scope=1 only an ancestor may, which the runner is). While
 * this runs, ptrace stops of the target are reported to the caller's wait calls: no other thread
 * of the caller may call waitpid(-1, ...)/wait() with __WALL, or waitpid on `pid` itself,
 * or it may take the notification the dump waits for. A SIGCHLD may arrive for the stops.
 *
 * Returns 0 (also when some threads could not be unwound; their stop_reason says why), or -1
 * with a one-line reason in err and *out left NULL, e.g.
 *   no such process: pid 4242
 *   not permitted to trace pid 1 (ptrace: Permission denied); ...
 *   cannot dump pid 4242: it is already being traced by pid 17 (a debugger?); ...
 *   cannot dump pid 4242: it has exited (zombie)
 *   cannot dump pid 4242: out of memory
 */
int fl_dump_take(pid_t pid, const fl_dump_opts *opts, fl_dump **out, char *err,
                 size_t errlen) FL_MUST_USE;

/* Frees a dump (NULL is fine). */
void fl_dump_free(fl_dump *d);

/* The file name suffixes of the three forms, after a stem such as "threads-server-1". */
#define FL_DUMP_SUFFIX_TEXT ".txt"
#define FL_DUMP_SUFFIX_GO ".go.txt"
#define FL_DUMP_SUFFIX_PPROF ".pb.gz"

/*
 * Writes the three forms of d as STEM.txt, STEM.go.txt and STEM.pb.gz, relative to the
 * directory dirfd (AT_FDCWD: the working directory; stem may hold a path), created with mode
 * 0644 (less the umask) or truncated. If one cannot be written the others still are.
 * Returns 0, or -1 with the first failure in err ("cannot write /r/threads-server-1.pb.gz: No
 * space left on device"; the directory is named as "." when dirfd is not AT_FDCWD).
 */
int fl_dump_write_files(const fl_dump *d, int dirfd, const char *stem, char *err,
                        size_t errlen) FL_MUST_USE;

/*
 * fl_dump_take + fl_dump_write_files + fl_dump_free: the call a run directory's dump is made
 * with. On a failed take nothing is written. info (if not NULL) is filled when the take worked,
 * even if writing then failed. Returns 0 or -1 with a reason in err.
 */
int fl_threads_dump_files(pid_t pid, const fl_dump_opts *opts, int dirfd, const char *stem,
                          fl_dump_info *info, char *err, size_t errlen) FL_MUST_USE;

/*
 * Takes a dump and writes its human form (dump_text.h) to `out`. `label` and `why` as in
 * fl_dump_opts; each thread found in idle[] (n_idle entries) shows its idle time. Returns 0,
 * or -1 with a reason in err and nothing written; also -1 if writing to out failed
 * ("cannot write the dump of pid N: ..."). info (if not NULL) is filled on success.
 */
int fl_threads_dump(pid_t pid, const char *label, const char *why, FILE *out, fl_dump_info *info,
                    char *err, size_t errlen) FL_MUST_USE;
int fl_threads_dump_idle(pid_t pid, const char *label, const char *why, const fl_thread_idle *idle,
                         size_t n_idle, FILE *out, fl_dump_info *info, char *err,
                         size_t errlen) FL_MUST_USE;

#endif
