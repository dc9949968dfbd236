/*
 * dump_cmd: `faultline dump`, the thread dump of any process the user may trace, in any of the
 * three forms the runner writes into a run directory (threads.h): text (dump_text.h), Go's
 * goroutine-dump grammar for panicparse (dump_go.h), a pprof profile (dump_pprof.h).
 */
#ifndef FL_DUMP_CMD_H
#define FL_DUMP_CMD_H

/*
 * Runs `faultline dump [--help] [--stop] [--format text|go|pprof] [--out FILE] PID...`; argv[0]
 * is "dump". GNU option order: options may follow the PIDs; "--" ends them. --format pprof
 * needs --out and one PID (a profile is one binary message).
 * Returns the process exit code: 0 every PID was dumped, 2 bad usage (after a message on
 * stderr), 3 some PID could not be dumped (each reason on stderr; the others are still dumped).
 */
int fl_cmd_dump(int argc, char **argv);

#endif
