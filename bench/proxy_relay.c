/*
 * The floor for bench/proxy: the least a relay process can do between two gRPC peers, one
 * connection, read and write, nothing else (no frames, no events, no faults). It takes
 * faultline-proxy's command line (--upstream H:P --events-fd N --control-fd N; the rest is
 * ignored), reports `ready port=N` and leaves when its control fd reaches EOF, so proxy_bench
 * runs it as it runs the proxy. What it costs is what any relay costs on this machine: the
 * part of the proxy's ratio that is not the proxy's own.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int port = 0, ev = 1, ctl = 0;
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--upstream") && strchr(argv[i + 1], ':'))
      port = atoi(strchr(argv[i + 1], ':') + 1);
    if (!strcmp(argv[i], "--events-fd")) ev = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--control-fd")) ctl = atoi(argv[i + 1]);
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 16) < 0 ||
      getsockname(ls, (struct sockaddr *)&a, &al) < 0)
    return 1;
  dprintf(ev, "0 ready port=%d\n", ntohs(a.sin_port));
  struct pollfd lp[2] = {{ls, POLLIN, 0}, {ctl, POLLIN, 0}};
  poll(lp, 2, -1);
  if (lp[1].revents) return 0;
  int fd[2] = {accept(ls, NULL, NULL), socket(AF_INET, SOCK_STREAM, 0)};
  struct sockaddr_in u = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  if (fd[0] < 0 || connect(fd[1], (struct sockaddr *)&u, sizeof u) < 0) return 1;
  int one = 1;
  for (int i = 0; i < 2; i++) setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static char buf[256 * 1024];
  for (;;) {
    struct pollfd pf[3] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}, {ctl, POLLIN, 0}};
    poll(pf, 3, -1);
    if (pf[2].revents) return 0;
    for (int i = 0; i < 2; i++) {
      if (!pf[i].revents) continue;
      ssize_t n = recv(fd[i], buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) return 0;
      for (ssize_t o = 0; o < n;) {
        ssize_t w = send(fd[1 - i], buf + o, (size_t)(n - o), MSG_NOSIGNAL);
        if (w <= 0) return 0;
        o += w;
      }
    }
  }
}
