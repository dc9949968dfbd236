/*
 * dump_go: a thread dump in Go's goroutine-dump grammar (threads-SIDE-N.go.txt), so the tools
 * Go engineers read goroutine dumps with read it; checked with panicparse 2.3, which parses
 * every thread of it:
 *
 *   # faultline thread dump in Go's goroutine-dump grammar: one goroutine per thread, ...
 *   thread dump: server, pid 4361 (faultline-peer)
 *   ... (the header of dump_text.h)
 *   pending operations: 1 (...)
 *     close_send  call 1  step /src/scenarios/x.yaml:17  pending 1.25s  65536 bytes queued ...
 *
 *   goroutine 4363 [futex wait cv+40, 2 minutes, stopped, thread "default-executo"]:
 *   __futex_abstimed_wait_common(...)
 *   	nptl/futex-internal.c:57 +0xe6
 *   grpc_core::Executor::ThreadMain(void*)(...)
 *   	??:0 +0x5b
 *   libgrpc.so.29+0x1a2b3c(...)
 *   	??:0
 *
 * - The text before the first goroutine is the human header (panicparse prints it through).
 *   The pending operations are part of it, not goroutines: a goroutine is a thread here, so
 *   a tool's goroutine count is the dump's thread count.
 * - `goroutine TID [STATE, EXTRAS]:` — the goroutine number is the thread id. STATE, which
 *   panicparse shows and groups by, is what the thread waits on (the wait reason, as Go
 *   prints "chan receive"), or its kernel state when it waits on nothing known. Then Go's
 *   ", N minutes" when the caller saw it idle for a minute or more (panicparse keeps it), and
 *   faultline's own facts as further ", "-separated items, which Go's grammar allows and
 *   panicparse skips: the kernel state (when STATE is a wait), "idle 1.25s" (below a minute),
 *   `thread "comm"`, "unwinding stopped: <why>". Square brackets are dropped and ", " inside
 *   an item becomes "; ", so no item breaks the header.
 * - Frames as Go prints them: "function(...)" then "\tfile:line +0xoff". Go's grammar knows
 *   only files ending in .c, .go or .s; a frame in any other file (.cc, .h, .S) or without line
 *   information is written "\t??:0 +0xoff" (the human form has its file). A frame without a
 *   symbol is named "module+0xoffset" (or "0xADDR" outside any module) with "\t??:0". A '%' in
 *   a function name, and a '/' that no '.' follows (C++'s operator/, never a C name), would
 *   stop or crash panicparse and are written as look-alikes (U+FF05, U+2215). A thread that
 *   could not be unwound at all gets one frame "??(...)" / "\t??:0".
 * - "...additional frames elided..." after 256 frames; a blank line ends each goroutine.
 */
#ifndef FL_DUMP_GO_H
#define FL_DUMP_GO_H

#include <stdio.h>

#include "threads.h"

/* Writes d in the form above. Returns 0, or -1 with the reason in err if writing failed. */
int fl_dump_write_go(const fl_dump *d, FILE *out, char *err, size_t errlen) FL_MUST_USE;

#endif
