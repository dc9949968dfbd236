/*
 * sockq: the kernel's queues of a run's TCP connections, as `ss -t` reads them (sock_diag,
 * NETLINK_SOCK_DIAG with inet_diag): for each established IPv4 or IPv6 TCP socket on loopback
 * with either end on one of the given ports, its ports and its receive queue (bytes arrived
 * but not yet read by the process) and send queue (bytes written but not yet acknowledged by
 * the peer, including those not yet sent). The runner samples them beside the process
 * samples, so a stall is placed in its layer: an HTTP/2 window at zero, or TCP buffers full
 * while the window is open (issue 9, "the layer below").
 */
#ifndef FL_SOCKQ_H
#define FL_SOCKQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint16_t local_port, remote_port;
  uint32_t rqueue; /* unread */
  uint32_t wqueue; /* unsent or unacknowledged */
} fl_sockq;

/* Fills out[0..max) with the established TCP sockets having an end on one of ports[0..n).
 * Returns how many, or -1 with errno (netlink unavailable). */
int fl_sockq_read(const uint16_t *ports, size_t n_ports, fl_sockq *out, size_t max);

#endif
