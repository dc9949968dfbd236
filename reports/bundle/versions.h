/*
 * versions: what was in force for a run, as a bundle's versions.json records it, and what
 * differs between two such records.
 *
 * versions.json, one object (no host name, no user name):
 *   faultline   this program's version (config.h FL_VERSION)
 *   grpc_core   gRPC core's version, grpc_version_string() of the C core the built-in peer
 *               links, as `faultline-peer --version` prints it (faultline itself does not load
 *               C core); null when the peer cannot tell (not ours, older, or it did not answer
 *               within 5 s)
 *   kernel      {sysname, release, version, machine}: uname(2) without the nodename
 *   programs    one object per program the run starts, in order: {role, path, size, sha256,
 *               build_id}; role "faultline", "peer", "proxy" for faultline's own, the scenario
 *               key ("server.exec") for an external one (scenario_refs.h); build_id the ELF
 *               GNU build id in hex, null when the file has none; a program that cannot be
 *               read has {role, path, error} instead
 * A record is measured when it is made (`faultline bundle`, `faultline run --bundle`), from the
 * programs as they are then.
 */
#ifndef FL_VERSIONS_H
#define FL_VERSIONS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

typedef struct {
  const char *role; /* "peer", "server.exec", ... */
  const char *path;
} fl_program;

/* The record for these programs. NULL only if out of memory. */
json_t *fl_versions_collect(const fl_program *programs, size_t n);

/* One program's facts (the objects of "programs" above). NULL only if out of memory. */
json_t *fl_versions_program(const char *role, const char *path);

/*
 * Prints what differs from `then` (a bundle's record: untrusted, every key type-checked; a
 * missing one reads "(not recorded)") to `now`, one line each under a heading, then what is
 * the same:
 *   versions that differ from the original run (original -> here):
 *     kernel: Linux 6.1.0-18-amd64 x86_64 -> Linux 6.1.0-20-amd64 x86_64
 *     program peer: sha256 3f2a9c1b0d4e -> 77b0e2d19a55, build id 1c9e0a4b -> 5d21f0c8
 *   the same: faultline 0.2.0, gRPC core 29.0.0, programs faultline, proxy
 * or "versions: the same as the original run (faultline 0.2.0, gRPC core 29.0.0, kernel ...,
 * programs faultline, peer)". Programs are matched by role and compared by SHA-256 and build
 * id, not by path (another machine keeps them elsewhere). Returns how many differ.
 */
size_t fl_versions_diff(FILE *out, const json_t *then, const json_t *now);

#endif
