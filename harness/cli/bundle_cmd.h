/*
 * bundle_cmd: `faultline bundle RUNDIR [-o FILE.tar.gz]`, a run directory packed for a ticket,
 * and the unpacking half of `faultline run --bundle FILE.tar.gz` (README "Bundles"). The
 * archive's layout and the rules that keep writing and reading it safe are in
 * reports/bundle/bundle.h; versions.json is reports/bundle/versions.h.
 *
 * The programs a record names (versions.json "programs"): faultline itself, the peer, the proxy
 * when the scenario needs it (fl_faults_need_proxy, the runner's own rule) and every program
 * the scenario refers to (scenario_refs.h FL_REF_PROGRAM), measured when the record is made.
 */
#ifndef FL_BUNDLE_CMD_H
#define FL_BUNDLE_CMD_H

#include <stddef.h>

/*
 * Runs `faultline bundle [-o FILE] RUNDIR`; argv[0] is "bundle". `peer` and `proxy`: the
 * programs `faultline run` would start (main.c decides, for both commands alike). Without -o
 * the bundle is ./TOP.tar.gz, TOP the run directory's name (bundle.h fl_bundle_top): in the
 * current directory, never beside the run directory, whose folder (runs/, an --out folder of
 * runs) holds only what faultline made. Prints "FILE: N files, ..." on stdout and the entries
 * left out on stderr. Returns the exit code (exit_codes.h): FL_EXIT_OK written, FL_EXIT_USAGE
 * bad usage, not a run directory, a file that is not regular, an existing output,
 * FL_EXIT_HARNESS the bundle cannot be written (the reason on stderr).
 */
int fl_cmd_bundle(int argc, char **argv, const char *peer, const char *proxy);

/*
 * For `faultline run --bundle FILE`: unpacks FILE into a new folder faultline-bundle-XXXXXX
 * in $TMPDIR (else /tmp), prints on stdout what the bundle holds and which versions differ
 * from its original run, and puts the path of the scenario to run in `path` (the bundle's copy,
 * beside the files it refers to, so they resolve inside the unpacked tree). The folder is
 * removed when the process exits. Returns FL_EXIT_OK, or after a message on stderr
 * FL_EXIT_USAGE (no such file, not a bundle, or refused: hostile, corrupt, a broken scenario)
 * or FL_EXIT_HARNESS (the folder cannot be made or written).
 */
int fl_bundle_rerun_prepare(const char *bundle, const char *peer, const char *proxy, char *path,
                            size_t len);

#endif
