/*
 * decode_cmd: `faultline decode`, the HTTP/2 frame ladder of a packet capture (reports/wire).
 */
#ifndef FL_DECODE_CMD_H
#define FL_DECODE_CMD_H

/*
 * Runs `faultline decode [--port N]... [--json] [--findings] [--fields] [--stall DURATION]
 * FILE.pcap`; argv[0] is "decode". Options may come anywhere (GNU style).
 * Returns the process exit code: 0 decoded, 2 bad usage (after a message on stderr), 3 the
 * file cannot be read or decoded (the reason on stderr), or the output could not be written.
 */
int fl_cmd_decode(int argc, char **argv);

#endif
