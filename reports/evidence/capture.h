/*
 * capture: a packet capture of TCP over IPv4 on one interface (the runner's: "lo"), taken on
 * its own thread and written as a pcap file.
 *
 * The runner opens one capture per run while the server starts, begins it filtered to the
 * server's port before the client exists, and stops it once the peers have exited. The file
 * is a standard pcap (microsecond timestamps, link type Ethernet, each packet behind the
 * 14-byte header lo presents: both addresses zero, type IPv4), as libpcap writes for "lo", and
 * every batch of packets is written to it as it is taken, so it is readable (Wireshark, tshark,
 * pcap_open_offline) while the capture runs and even if the runner dies mid-run.
 *
 * HOW, AND WHY NOT A PACKET SOCKET. The capture reads a raw IPv4 socket for TCP, bound to the
 * interface, with the filter compiled by libpcap into the kernel. On loopback such a socket
 * sees every TCP segment once, as the receiving side's IP layer does, with the kernel's receive
 * timestamp. libpcap's own packet socket costs what this cannot afford per run: the kernel waits
 * out an RCU grace period (synchronize_net) both when its ring is set up and when the socket is
 * closed, 15-40 ms each here, and its ring is memory set up front (7-16 ms for 8 MiB, ~400 ms for
 * 128 MiB) that still overflowed on a burst of 1000 x 64 KiB calls. A raw socket opens and closes
 * in microseconds, and its queue (FL_CAPTURE_QUEUE_BYTES) is a limit, not an allocation: it
 * holds packets only while the writer is behind, so it can be sized for the largest burst at
 * no cost to a small run. Packets are taken with recvmmsg and written with writev, BATCH at a
 * time.
 * Limits: IPv4 only (faultline's peers and proxy speak 127.0.0.1; an IPv6 raw socket hands
 * over no IP header); only packets delivered to the host's IP layer (on lo: all of them, unless
 * a firewall rule drops them first).
 *
 * Privileges: a raw socket needs CAP_NET_RAW in the user namespace that owns the current network
 * namespace. The full-size queue needs CAP_NET_ADMIN besides (SO_RCVBUFFORCE); without it the
 * kernel caps the queue at 2 x net.core.rmem_max, and a writer that falls behind by more drops
 * packets (counted, never hidden). As an ordinary user, either grant both to the binary
 * (`setcap cap_net_raw,cap_net_admin+ep faultline`), or run the scenario in a private
 * user+network namespace (fl_netns_enter in harness/netns.h), where the caller holds
 * CAP_NET_RAW (the queue is then the capped one).
 *
 * THREAD SAFETY: a capture is owned by the thread that opened it; its calls must not race.
 * The capture thread blocks every signal, so the caller's signal handling is unaffected.
 */
#ifndef FL_CAPTURE_H
#define FL_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct fl_capture fl_capture;

/* Default snaplen (bytes kept of each packet, link header included) when given 0: whole
 * packets. An IPv4 packet has at most 65535 bytes, so any snaplen above 65549 keeps all. */
#define FL_CAPTURE_SNAPLEN_DEFAULT 262144

/* The socket's queue limit, in bytes of the kernel's accounting (about 1.02x a 64 KiB
 * segment's size, 1-2 KiB for a small one). The burst test (1000 calls x 64 KiB at once, 64 MiB
 * on the wire) peaked at 4-13 MiB here, unloaded and with `stress-ng --cpu 2` on the same 2
 * cores; 256 MiB is headroom for a writer held off the CPU for the whole of a burst that size.
 * Memory is only used while the writer is behind. */
#define FL_CAPTURE_QUEUE_BYTES (256 << 20)

typedef struct {
  /* Packets written to the pcap file. This is the count to report as "captured". */
  uint64_t packets_written;
  /* Packets that matched the filter from fl_capture_begin to the stop: written + dropped. */
  uint64_t received;
  /* Packets that matched the filter but are not in the file: the socket's queue was full
   * (the kernel's count for this socket, SO_MEMINFO). Non-zero means the capture is
   * incomplete. */
  uint64_t dropped;
  /* Packets the interface itself dropped on receive in the same time (all traffic on it, not
   * only ours: /sys/class/net/IFACE/statistics/rx_dropped). These never reached TCP either. */
  uint64_t if_dropped;
  /* The queue limit the kernel granted (bytes; FL_CAPTURE_QUEUE_BYTES, or less without
   * CAP_NET_ADMIN), and the most it held when the writer looked. */
  uint64_t queue_bytes, queue_peak_bytes;
  /* Empty if the capture ran until fl_capture_stop; otherwise why it ended early (the file then
   * holds the packets up to that point). */
  char error[256];
  /* The errno of a write to the file that failed (ENOSPC, EFBIG, ...); 0 if none did. */
  int write_errno;
} fl_capture_stats;

/*
 * Opens a capture on interface `iface` (e.g. "lo") into a new pcap file at `path` (created or
 * truncated; a symbolic link there is refused), keeping `snaplen` bytes of each packet (0: the
 * default above), and keeping no packets yet. Takes well under a millisecond.
 * On success returns 0 and sets *out. On failure returns -1, leaves *out untouched and writes a
 * one-line reason into err, e.g.
 *   packet capture not possible on lo: it needs CAP_NET_RAW (run as root, setcap
 *     cap_net_raw+ep, or use --netns); socket: Operation not permitted
 *   packet capture not possible: no interface "eth9" (SO_BINDTODEVICE: No such device)
 *   packet capture not possible: interface "eth9" is down
 *   cannot write capture file /x/capture.pcap: No such file or directory
 */
FL_MUST_USE int fl_capture_open(const char *iface, const char *path, int snaplen, fl_capture **out,
                                char *err, size_t errlen);

/* fl_capture_open in two halves, for a caller that creates the file itself (the runner, through
 * its run directory, rundir.h): fl_capture_prepare opens the socket (the errors above, but for
 * the file), and only then fl_capture_attach hands the capture `fd`, a file open for writing
 * that the capture owns from here (closed with the capture, or at once on failure); `name`
 * names it in messages. A capture prepared but never attached is ended with fl_capture_stop.
 * A write to the file that fails sets stats.write_errno. */
FL_MUST_USE int fl_capture_prepare(const char *iface, int snaplen, fl_capture **out, char *err,
                                   size_t errlen);
FL_MUST_USE int fl_capture_attach(fl_capture *c, int fd, const char *name, char *err,
                                  size_t errlen);

/*
 * Begins keeping the packets that match the BPF expression `filter` (e.g. "tcp port 43211";
 * NULL or "" keeps every TCP packet) and starts the capture thread. Returns once the capture is
 * live: every matching packet sent after the return is in the file after fl_capture_stop.
 * Returns 0, or -1 with err set, e.g.
 *   bad capture filter "tcp prot 1": syntax error
 * after which the capture is still to be ended with fl_capture_stop.
 */
FL_MUST_USE int fl_capture_begin(fl_capture *c, const char *filter, char *err, size_t errlen);

/* fl_capture_open and fl_capture_begin in one call; on failure nothing is left open. */
FL_MUST_USE int fl_capture_start(const char *iface, const char *filter, const char *path,
                                 int snaplen, fl_capture **out, char *err, size_t errlen);

/*
 * Stops the capture: wakes and joins its thread, writes every packet still queued (waiting
 * until the socket has been empty for a millisecond, so the last segments the peers sent while
 * exiting are in; for at most half a second, after which new packets are refused and what is
 * queued is written), reads the statistics into *st (if st is not NULL), and closes the file
 * and the socket. The file is complete when it returns; nothing of the capture is left (no
 * thread, no descriptor). Takes about a millisecond plus the time to write what was queued.
 * Frees c in every case; a capture opened but not begun leaves a file with no packets.
 *
 * Returns 0, or -1 if the capture ended early or the file could not be written completely
 * (st->error says why; the counts are still filled in).
 */
int fl_capture_stop(fl_capture *c, fl_capture_stats *st);

#endif
