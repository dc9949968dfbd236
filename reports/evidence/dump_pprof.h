/*
 * dump_pprof: a thread dump as a pprof profile (threads-SIDE-N.pb.gz): google/pprof's
 * profile.proto (proto/profile.proto), encoded with protobuf-c and gzipped with zlib, for
 * `go tool pprof -top`, `-traces`, `-tags`, `-raw`, its flame graph (`-http`) and any other
 * reader of the format.
 *
 * - One sample per thread, of sample type "threads"/"count" with value 1, so -top counts
 *   threads per function (flat: threads in it, cum: threads with it on the stack).
 * - Its stack is the thread's frames, innermost first, as locations: one location per
 *   distinct looked-up address (pc-1 for a return address), each with one line (function,
 *   source line) and the mapping of its module. Functions are (name, file) pairs; a frame
 *   without a symbol is a function named "module+0xoffset" (as the human summary names it) and
 *   one without line information has line 0 and no file.
 * - Mappings are the process's modules (path, address range, build id), the main program
 *   first (pprof names the profile's "File:" after mapping 1), marked as having
 *   functions, files and lines so pprof does not try to symbolize them again.
 * - Labels of each sample: "thread" (the comm), "state" (the kernel state in words), "waits"
 *   (what it waits on, when known), "unwinding" (why unwinding stopped early, if it did), and
 *   the numeric labels "tid" and "idle" (nanoseconds, when the caller observed it). A thread
 *   that could not be unwound has one location, of a function named "(not unwound)".
 * - The header (what the human form prints before its summary) and each pending operation are
 *   the profile's comments (`go tool pprof -comments`); time_nanos is when the dump began,
 *   duration_nanos how long it took.
 */
#ifndef FL_DUMP_PPROF_H
#define FL_DUMP_PPROF_H

#include <stdio.h>

#include "threads.h"

/* Writes d as a gzipped profile. Returns 0, or -1 with the reason in err ("out of memory",
 * a zlib error, or the write's strerror). */
int fl_dump_write_pprof(const fl_dump *d, FILE *out, char *err, size_t errlen) FL_MUST_USE;

#endif
