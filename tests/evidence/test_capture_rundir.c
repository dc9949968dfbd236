/*
 * The packet capture writing into a run directory's file (fl_capture_prepare, then
 * fl_capture_attach of a file from fl_rundir_open, as the runner makes it): packets of a real
 * loopback connection land in a valid capture.pcap, and when the file cannot take them
 * (RLIMIT_FSIZE: the kernel's EFBIG, as a full disk's ENOSPC) the capture says so with its errno,
 * which the runner notes in the run directory: it then knows capture.pcap is incomplete and why.
 * Needs CAP_NET_RAW (exit 77 without). Exit 0 pass, 1 fail.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture.h"
#include "rundir.h"

#include "check.h"

/* A connection on 127.0.0.1 that moves `bytes` each way; returns the port, -1 on failure. */
static int traffic(int *port_out, int listener, size_t bytes) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (getsockname(listener, (struct sockaddr *)&a, &len) < 0) return -1;
  *port_out = ntohs(a.sin_port);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0) return -1;
  int s = accept(listener, NULL, NULL);
  if (s < 0) return -1;
  char *buf = calloc(1, bytes);
  size_t got = 0;
  int rc = write(c, buf, bytes) == (ssize_t)bytes ? 0 : -1;
  while (rc == 0 && got < bytes) {
    ssize_t k = read(s, buf, bytes - got);
    if (k <= 0) rc = -1;
    got += k > 0 ? (size_t)k : 0;
  }
  free(buf);
  close(c);
  close(s);
  return rc;
}

static int listener(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0) return -1;
  return fd;
}

/* One capture of a connection moving `bytes` into dir/capture.pcap. Returns 0, 77 (no
 * privilege), or 1; *st the capture's counts. */
static int capture_into(fl_rundir *rd, size_t bytes, fl_capture_stats *st) {
  char err[512], filter[64];
  int l = listener(), port;
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (l < 0 || getsockname(l, (struct sockaddr *)&a, &len) < 0) return 1;
  port = ntohs(a.sin_port);
  fl_capture *c;
  if (fl_capture_prepare("lo", 0, &c, err, sizeof err) < 0) {
    close(l);
    if (strstr(err, "CAP_NET_RAW")) return 77;
    CHECK(0, "%s", err);
    return 1;
  }
  int fd = fl_rundir_open(rd, "capture.pcap", err, sizeof err);
  CHECK(fd >= 0, "%s", err);
  if (fd < 0 || fl_capture_attach(c, fd, "capture.pcap", err, sizeof err) < 0) {
    CHECK(0, "%s", err);
    (void)fl_capture_stop(c, NULL);
    close(l);
    return 1;
  }
  snprintf(filter, sizeof filter, "tcp port %d", port);
  CHECK(fl_capture_begin(c, filter, err, sizeof err) == 0, "%s", err);
  CHECK(traffic(&port, l, bytes) == 0, "no traffic");
  (void)fl_capture_stop(c, st);
  if (st->write_errno) fl_rundir_note(rd, "capture.pcap", st->write_errno); /* as the runner does */
  close(l);
  return 0;
}

int main(void) {
  char base[] = "/tmp/faultline-caprd-XXXXXX", err[512], msg[1024], path[300];
  if (!mkdtemp(base)) return 1;
  fl_rundir *rd;

  /* 1. Into a run directory's stream: a readable capture with the connection in it. */
  snprintf(path, sizeof path, "%s/ok", base);
  CHECK(fl_rundir_create(path, &rd, err, sizeof err) == 0, "%s", err);
  fl_capture_stats st = {0};
  int rc = capture_into(rd, 1000, &st);
  if (rc == 77) {
    fprintf(stderr, "skip: no CAP_NET_RAW\n");
    fl_rundir_close(rd, NULL, 0);
    return 77;
  }
  CHECK(st.packets_written >= 6, "%llu packets", (unsigned long long)st.packets_written);
  CHECK(fl_rundir_failures(rd, msg, sizeof msg) == 0, "%s", msg);
  fl_rundir_close(rd, NULL, 0);
  snprintf(path, sizeof path, "%s/ok/capture.pcap", base);
  char ebuf[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline(path, ebuf);
  CHECK(p != NULL, "%s", ebuf);
  if (p) {
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned n = 0;
    while (pcap_next_ex(p, &h, &d) == 1) n++;
    CHECK(n == st.packets_written, "file holds %u packets, the capture wrote %llu", n,
          (unsigned long long)st.packets_written);
    pcap_close(p);
  }

  /* 2. A file that cannot grow: the packets are lost, and the run directory says so. */
  snprintf(path, sizeof path, "%s/full", base);
  CHECK(fl_rundir_create(path, &rd, err, sizeof err) == 0, "%s", err);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, small;
  getrlimit(RLIMIT_FSIZE, &old);
  small = (struct rlimit){.rlim_cur = 4096, .rlim_max = old.rlim_max};
  setrlimit(RLIMIT_FSIZE, &small);
  rc = capture_into(rd, 200000, &st);
  setrlimit(RLIMIT_FSIZE, &old);
  CHECK(rc == 0, "capture failed");
  CHECK(fl_rundir_failures(rd, msg, sizeof msg) == 1, "failures: '%s'", msg);
  CHECK(strstr(msg, "capture.pcap (File too large)") != NULL, "'%s'", msg);
  fl_rundir_close(rd, NULL, 0);

  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", base);
  return failures != 0;
}
