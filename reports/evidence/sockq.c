#include "sockq.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* TCP_ESTABLISHED of the kernel's tcp_states.h. */
#define TCP_STATE_ESTABLISHED 1

static bool wanted(uint16_t port, const uint16_t *ports, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (ports[i] == port) return true;
  return false;
}

/* One dump request for a family; appends the matches. Returns the new count or -1. */
static int dump_family(int fd, uint8_t family, const uint16_t *ports, size_t n_ports, fl_sockq *out,
                       size_t max, size_t count) {
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } msg = {.nlh = {.nlmsg_len = sizeof msg,
                   .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
           .req = {.sdiag_family = family,
                   .sdiag_protocol = IPPROTO_TCP,
                   .idiag_states = 1u << TCP_STATE_ESTABLISHED}};
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -1;
  char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t len = recv(fd, buf, sizeof buf, 0);
    if (len < 0 && errno == EINTR) continue;
    if (len <= 0) return len < 0 ? -1 : (int)count;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) return (int)count;
      if (h->nlmsg_type == NLMSG_ERROR) {
        errno = EPROTO;
        return -1;
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      const struct inet_diag_msg *d = NLMSG_DATA(h);
      uint16_t lp = ntohs(d->id.idiag_sport), rp = ntohs(d->id.idiag_dport);
      if (count < max && (wanted(lp, ports, n_ports) || wanted(rp, ports, n_ports)))
        out[count++] = (fl_sockq){lp, rp, d->idiag_rqueue, d->idiag_wqueue};
    }
  }
}

int fl_sockq_read(const uint16_t *ports, size_t n_ports, fl_sockq *out, size_t max) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -1;
  int n = dump_family(fd, AF_INET, ports, n_ports, out, max, 0);
  if (n >= 0) n = dump_family(fd, AF_INET6, ports, n_ports, out, max, (size_t)n);
  int saved = errno;
  close(fd);
  errno = saved;
  return n;
}
