/*
 * threads: dumps of every thread of a live process, in the style of Go's goroutine dumps.
 *
 * Stacks are unwound with libdw's Dwfl API (DWARF CFI, separate debuginfo found by build-id),
 * thread state comes from /proc. The text, as written by fl_threads_dump:
 *
 *   thread dump: server, pid 4361 (faultline-peer)
 *   when: 2025-01-31T14:03:07.512+0100
 *   why: hang: no progress for 1s
 *   snapshot: the process was stopped for the whole dump; the threads form one consistent picture
 *   threads: 9, unwound in 23.4 ms
 *
 *   thread profile: total 9
 *   6 @ 0x7f3a1c0a3f16 0x7f3a1c0a6a41 0x55d0c2e01a7c 0x7f3a1c0a7134 0x7f3a1c126a40
 *   #	0x7f3a1c0a3f15	__futex_abstimed_wait_common+0xe5	./nptl/futex-internal.c:57
 *   ...
 *   # threads: 4363 4364 4365 4366 4367 4368
 *
 *   1 @ ...
 *
 *   thread 4363 "default-executo" [stopped, futex wait cv+40]:
 *   __futex_abstimed_wait_common(...)
 *   	./nptl/futex-internal.c:57 +0xe6
 *   wait_for_signal(...)
 *   	/src/demo/blocked.c:14 +0x34
 *   start_thread(...)
 *   	./nptl/pthread_create.c:442 +0x304
 *
 * - The summary ("thread profile") is pprof's debug=1 form: threads with identical stacks
 *   (the same return addresses) are folded into one entry "<count> @ <pcs>", most common first,
 *   ties in thread order; the counts add up to the thread count. Each frame line is
 *   "#\t<pc-1>\t<function>+<offset>\t<file>:<line>" and "# threads:" lists the members.
 * - Per thread: `thread TID "comm" [state, what it waits on]:`. state is the kernel's letter
 *   from /proc/PID/task/TID/stat in words (running, sleeping, disk sleep, stopped, tracing stop,
 *   zombie, dead, idle). What it waits on is the system call the thread is in, from
 *   /proc/PID/task/TID/syscall ("futex wait cv+40", "epoll_wait fd 5 (anon_inode:[eventpoll])",
 *   "nanosleep", "read fd 0 (pipe:[1234])", ...); a stopped thread shows the call it was in when
 *   it was stopped. A futex address is named by symbol when it is in a module's data, otherwise
 *   given as an address. When the syscall file is unreadable, the kernel's wchan is shown.
 *   How long a thread has waited is not shown: the kernel keeps no "blocked since" time, and
 *   deriving it needs two samples over time, which is the caller's business.
 * - Frames, innermost first: "function(...)" then "\tfile:line +0xoff", where the line is that of
 *   the call (pc-1 for every frame but the innermost or a signal frame, as Go does) and the offset
 *   is pc minus the function's start. Without line information the second line is
 *   "\t?? (module) +0xoff"; without a symbol the frame is "??" / "\t0xADDR (module+0xoff)".
 *   C++ names are demangled when libstdc++ can be loaded at run time; otherwise left mangled.
 *   Unwinding stops after 256 frames ("...additional frames elided..."); when it stops on an
 *   error the reason is printed as "...unwinding stopped: <why>".
 *
 * Separate debuginfo (e.g. libc6-dbg) is found through the standard paths and build-ids. If
 * DEBUGINFOD_URLS is set, libdw may download debuginfo, which can make a dump take seconds;
 * unset it for predictable dump times.
 */
#ifndef FL_THREADS_H
#define FL_THREADS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct {
  int threads;       /* threads dumped */
  double elapsed_ms; /* time to read, stop, unwind and symbolize every thread (not the writing) */
} fl_dump_info;

/*
 * Writes a dump of every thread of process `pid` to `out`, in the format above. `label` names the
 * process in the header (e.g. "server"; NULL: its comm), `why` says what asked for the dump
 * (NULL: not printed).
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
 * Returns 0 (also when some threads could not be unwound; their entries say why), or -1 with a
 * one-line reason in err (errlen bytes, always terminated) and nothing written, e.g.
 *   no such process: pid 4242
 *   not permitted to trace pid 1 (ptrace: Permission denied); ...
 * info (if not NULL) is filled on success.
 */
int fl_threads_dump(pid_t pid, const char *label, const char *why, FILE *out, fl_dump_info *info,
                    char *err, size_t errlen);

/*
 * How long a thread has made no progress, as the caller observed it over time: the kernel keeps
 * no "blocked since" time, but a caller that samples each thread's context switches (the
 * runner does, with every process sample) knows since when a count stood still.
 */
typedef struct {
  pid_t tid;
  int64_t idle_ns; /* at least this long without a context switch; 0: not known */
} fl_thread_idle;

/* fl_threads_dump, with each thread found in idle[] (n_idle entries) shown as
 * `[state, what it waits on, idle 1.25s]` (", idle N minutes" from a minute on). */
int fl_threads_dump_idle(pid_t pid, const char *label, const char *why, const fl_thread_idle *idle,
                         size_t n_idle, FILE *out, fl_dump_info *info, char *err, size_t errlen);

#endif
