/*
 * rlimits: a side's resource limits (issue 11, "Process faults"), for the built-in peer and an
 * external program alike, set in the child before it execs (setrlimit, soft and hard):
 *
 *   server:
 *     rlimits: { nofile: 64, as: 512MiB, nproc: 256 }
 *
 * nofile: open files (RLIMIT_NOFILE, 16..1048576); as: address space (RLIMIT_AS, a size of at
 * least 64 MiB); nproc: processes and threads of the user (RLIMIT_NPROC, 1..4194304).
 */
#ifndef FL_RLIMITS_H
#define FL_RLIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "plan_yaml.h"
#include "util.h"

typedef struct {
  bool present;
  int64_t nofile, as, nproc; /* 0: not set */
} fl_rlimits_plan;

FL_MUST_USE int fl_rlimits_parse(const fl_plan_yaml *y, yaml_node_t *n, fl_rlimits_plan *out);

/* In the child: applies the limits. Returns 0, or -1 with errno (async-signal-safe). */
int fl_rlimits_apply(const fl_rlimits_plan *r);

#endif
