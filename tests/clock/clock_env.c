/*
 * clock_env SCENARIO SIDE [STAMP_FILE]: prints, one per line, the NAME=VALUE variables that
 * injectors/clock.h gives SIDE of SCENARIO (nothing for a side without a clock), writing the
 * timestamp file first when the plan has jumps. peer-clock.sh starts a peer with them: the
 * injector's environment end to end until the runner applies it itself.
 * Exit status: 0, 1 on an error (printed), 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faketime.h"
#include "scenario.h"

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || (strcmp(argv[2], "server") && strcmp(argv[2], "client"))) {
    fprintf(stderr, "usage: clock_env SCENARIO server|client [STAMP_FILE]\n");
    return 2;
  }
  fl_scenario *s;
  fl_error ferr;
  if (fl_scenario_load(argv[1], &s, &ferr) < 0) {
    fprintf(stderr, "clock_env: %s\n", ferr.msg);
    return 1;
  }
  const fl_clock_plan *plan = argv[2][0] == 's' ? &s->server.clock : &s->client.clock;
  char lib[4096], err[512];
  fl_clock_env env;
  int rc = 1;
  if (plan->present && fl_clock_library(lib, sizeof lib, err, sizeof err) < 0) goto out;
  if (fl_clock_env_build(plan, lib, argc == 4 ? argv[3] : NULL, getenv("LD_PRELOAD"), &env, err,
                         sizeof err) < 0)
    goto out;
  if (env.uses_stamp_file && fl_clock_stamp_write(argv[3], env.stamp_text, err, sizeof err) < 0)
    goto out;
  for (size_t i = 0; i < env.n_vars; i++) printf("%s\n", env.vars[i]);
  rc = 0;
out:
  if (rc) fprintf(stderr, "clock_env: %s\n", err);
  fl_scenario_free(s);
  return rc;
}
