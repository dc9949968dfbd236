/*
 * dump_text: the human form of a thread dump (threads-SIDE-N.txt), in the style of Go's
 * goroutine dumps:
 *
 *   thread dump: server, pid 4361 (faultline-peer)
 *   command: /src/build/faultline-peer --side server --scenario ...
 *   when: 2025-01-31T14:03:07.512+0100
 *   why: hang: no progress for 1s
 *   snapshot: the process was stopped for the whole dump; the threads form one consistent picture
 *   threads: 9, unwound in 23.4 ms
 *
 *   pending operations: 1 (gRPC operations of the peer not completed; its threads wait for them)
 *     close_send  call 1  step /src/scenarios/x.yaml:17  pending 1.25s  65536 bytes queued behind
 * it
 *
 *   thread profile: total 9
 *   6 @ 0x7f3a1c0a3f16 0x7f3a1c0a6a41 0x55d0c2e01a7c 0x7f3a1c0a7134 0x7f3a1c126a40
 *   #	0x7f3a1c0a3f15	__futex_abstimed_wait_common+0xe5	nptl/futex-internal.c:57
 *   ...
 *   # threads: 4363 4364 4365 4366 4367 4368
 *
 *   1 @ ...
 *
 *   thread 4363 "default-executo" [stopped, futex wait cv+40, idle 1.25s]:
 *   __futex_abstimed_wait_common(...)
 *   	nptl/futex-internal.c:57 +0xe6
 *   wait_for_signal(...)
 *   	/src/demo/blocked.c:14 +0x34
 *   start_thread(...)
 *   	nptl/pthread_create.c:442 +0x304
 *
 * - The pending operations appear only when the dump has any (fl_dump.pending); each line
 *   leaves out what is unknown.
 * - The summary ("thread profile") is pprof's debug=1 form: threads with identical stacks
 *   (the same return addresses) are folded into one entry "<count> @ <pcs>", most common first,
 *   ties in thread order; the counts add up to the thread count. Each frame line is
 *   "#\t<pc-1>\t<function>+<offset>\t<file>:<line>" and "# threads:" lists the members.
 * - Per thread: `thread TID "comm" [state, what it waits on, idle T]:`, with idle as "1.25s"
 *   below a minute and "N minutes" from one on, shown only when the caller observed it.
 * - Frames, innermost first: "function(...)" then "\tfile:line +0xoff", the offset being pc
 *   minus the function's start, as Go prints it. Without line information the second line is
 *   "\t?? (module) +0xoff"; without a symbol the frame is "??" / "\t0xADDR (module+0xoff)".
 *   "...additional frames elided..." after 256 frames; "...unwinding stopped: <why>" when
 *   unwinding ended on an error.
 */
#ifndef FL_DUMP_TEXT_H
#define FL_DUMP_TEXT_H

#include <stdint.h>
#include <stdio.h>

#include "threads.h"

/* Writes d in the form above. Returns 0, or -1 with the reason (strerror of the write) in
 * err if writing failed (out may then hold part of it). */
int fl_dump_write_text(const fl_dump *d, FILE *out, char *err, size_t errlen) FL_MUST_USE;

/* The header's lines (from "thread dump:" to "threads:", no blank line after), which the
 * Go-grammar form shares. */
void fl_dump_write_header(const fl_dump *d, FILE *out);

/* One pending operation in words, fields that are unknown left out:
 * "close_send  call 1  step x.yaml:17  pending 1.25s  65536 bytes queued behind it" (the time
 * in seconds however long). */
void fl_dump_format_pending(const fl_pending_op *p, char *buf, size_t size);

/* A duration as the dumps print it: "1.25s" below a minute, "N minutes" from one on (Go's
 * word, never singular, as Go prints it: "1 minutes"). */
void fl_dump_format_duration(int64_t ns, char *buf, size_t size);

/* The last component of a path. */
const char *fl_dump_basename(const char *path);

#endif
