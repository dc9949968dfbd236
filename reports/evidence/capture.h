/*
 * capture: a packet capture (libpcap) that runs on its own thread and writes a pcap file.
 *
 * The runner opens one capture per run on the loopback interface while the server starts,
 * begins it filtered to the server's port before the client exists, and stops it when the run
 * ends. The kernel hands packets over in blocks at most 1 ms old. The file is flushed at least
 * every 100 ms while packets arrive, so it is readable (by Wireshark, tshark, pcap_open_offline)
 * even if the runner dies mid-run; at worst the last record is cut short.
 *
 * Privileges: opening a packet socket needs CAP_NET_RAW in the user namespace that owns the
 * current network namespace. As an ordinary user, either grant it to the binary
 * (`setcap cap_net_raw+ep faultline`) or run the scenario in a private user+network namespace
 * (fl_netns_enter in harness/netns.h), where the caller holds it.
 *
 * THREAD SAFETY: a capture is owned by the thread that started it; start and stop must not race.
 * The capture thread blocks every signal, so the caller's signal handling is unaffected.
 */
#ifndef FL_CAPTURE_H
#define FL_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct fl_capture fl_capture;

/* Default snaplen (bytes kept of each packet) when fl_capture_start is given 0: whole packets. */
#define FL_CAPTURE_SNAPLEN_DEFAULT 262144

/* Kernel ring buffer size. Bulk loopback traffic at GB/s outruns any buffer (the limit is writing
 * 64 KiB segments to disk), so this is sized for gRPC-scale traffic; drops are always counted. */
#define FL_CAPTURE_BUFFER_BYTES (4 << 20)

typedef struct {
  /* Packets written to the pcap file. This is the count to report as "captured". */
  uint64_t packets_written;
  /* pcap_stats' ps_recv: packets the kernel passed through the filter. On loopback every packet
   * is seen twice by the kernel (the outgoing and the incoming copy; libpcap keeps only the
   * incoming one), so on "lo" this is about twice packets_written. Not a drop indicator. */
  uint64_t received;
  /* pcap_stats' ps_drop: packets that matched the filter but were dropped because the ring
   * buffer was full. Non-zero means the capture is incomplete. */
  uint64_t dropped;
  /* pcap_stats' ps_ifdrop: drops counted by the interface itself (all traffic on it, not just
   * ours; on Linux read from the interface's statistics since the capture started). */
  uint64_t if_dropped;
  /* Empty if the capture ran until fl_capture_stop; otherwise why it ended early (the file then
   * holds the packets up to that point). */
  char error[256];
} fl_capture_stats;

/*
 * Starts capturing on interface `iface` (e.g. "lo") the packets that match the BPF expression
 * `filter` (e.g. "tcp port 43211"; NULL or "" captures everything) into a new pcap file at
 * `path` (created or truncated), keeping `snaplen` bytes of each packet (0: the default above).
 *
 * Returns only once the capture is live: every matching packet sent after the return is in the
 * file after fl_capture_stop. On success returns 0 and sets *out. On failure returns -1, leaves
 * *out untouched and writes a one-line reason into err (errlen bytes, always terminated), e.g.
 *   packet capture not possible on lo: permission denied; needs CAP_NET_RAW (...)
 *   packet capture not possible: no interface "eth9"
 *   bad capture filter "tcp prot 1": syntax error
 *   cannot write capture file /x/capture.pcap: No such file or directory
 */
int fl_capture_start(const char *iface, const char *filter, const char *path, int snaplen,
                     fl_capture **out, char *err, size_t errlen);

/*
 * The same in two halves, so the slow part overlaps other work: fl_capture_open creates and
 * activates the capture (the kernel's ring takes a good part of 10-20 ms to set up) keeping no
 * packets; fl_capture_begin sets the filter and starts the thread, and returns once the capture
 * is live, as fl_capture_start does. The runner opens while the server peer starts and begins
 * once the server's port is known. A capture that was opened but not begun is ended with
 * fl_capture_stop (its file then holds no packets). Errors as for fl_capture_start.
 */
int fl_capture_open(const char *iface, const char *path, int snaplen, fl_capture **out, char *err,
                    size_t errlen);
int fl_capture_begin(fl_capture *c, const char *filter, char *err, size_t errlen);

/*
 * fl_capture_open writing to `stream` instead of a path (a run directory's file from
 * fl_rundir_fopen, which records its own write errors; see rundir.h). `name` names the file in
 * messages. The stream is the capture's from the call on: fl_capture_stop closes it, and a
 * failed open closes it too.
 */
int fl_capture_open_stream(const char *iface, FILE *stream, const char *name, int snaplen,
                           fl_capture **out, char *err, size_t errlen);

/*
 * Stops the capture: wakes the capture thread, joins it, writes out every
 * packet still queued in the kernel's ring, reads the statistics into *st (if st is not NULL),
 * and closes the file and the capture. Frees c in every case.
 *
 * Returns 0, or -1 if the capture ended early or the file could not be written completely
 * (st->error says why; the counts are still filled in).
 */
int fl_capture_stop(fl_capture *c, fl_capture_stats *st);

#endif
