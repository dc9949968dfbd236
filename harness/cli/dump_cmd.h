/*
 * dump_cmd: `faultline dump`, the thread dump of any process the user may trace, in the same
 * format the runner writes into a run directory (see threads.h).
 */
#ifndef FL_DUMP_CMD_H
#define FL_DUMP_CMD_H

/*
 * Runs `faultline dump [--help] [--stop] [--out FILE] PID...`; argv[0] is "dump".
 * Returns the process exit code: 0 every PID was dumped, 2 bad usage (after a message on
 * stderr), 3 some PID could not be dumped (each reason on stderr; the others are still dumped).
 */
int fl_cmd_dump(int argc, char **argv);

#endif
