/*
 * Packet capture on loopback, on real TCP connections this test makes itself.
 *
 * usage: test_capture live|nocap|netns
 *   live   capture a connection on lo (needs CAP_NET_RAW, else SKIP): the handshake and both
 *          payloads are in the file, nothing else is, the file is readable while the capture
 *          runs, and no packet was dropped
 *   nocap  with CAP_NET_RAW dropped, fl_capture_start fails with the plain message
 *   netns  in a private network namespace (fl_netns_enter) the same capture works: as we are
 *          and, when root, as an unprivileged user through a user namespace (SKIP if the kernel
 *          allows neither)
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "netns.h"

#include "check.h"

#define SKIP 77
#define REQUEST "hello-faultline-request"
#define REPLY "hello-faultline-reply"
#define OTHER "traffic-on-another-port"

/* A listening socket on 127.0.0.1 with a kernel-chosen port (or `port` if non-zero). */
static int listen_on(int port, int *bound) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *bound = ntohs(a.sin_port);
  return fd;
}

static int read_exact(int fd, char *buf, size_t n) {
  size_t got = 0;

  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Connects to port, sends `request` and has the server answer `reply`; both sides read what was
 * sent, so both data segments have passed through lo (and the capture) when this returns. */
static int exchange(int listener, int port, const char *request, const char *reply) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  char buf[64];
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s = -1, rv = -1;

  if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) goto out;
  s = accept(listener, NULL, NULL);
  if (s < 0) goto out;
  if (write(c, request, strlen(request)) != (ssize_t)strlen(request) ||
      read_exact(s, buf, strlen(request)) != 0 ||
      write(s, reply, strlen(reply)) != (ssize_t)strlen(reply) ||
      read_exact(c, buf, strlen(reply)) != 0)
    goto out;
  rv = 0;
out:
  if (s >= 0) close(s);
  if (c >= 0) close(c);
  return rv;
}

typedef struct {
  int packets, syn_to_port, request_to_port, reply_from_port, foreign;
} pcap_findings;

static bool contains(const u_char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);

  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0) return true;
  return false;
}

/* Reads a capture file back with libpcap and classifies its TCP/IPv4 packets. */
static int read_pcap(const char *path, int port, pcap_findings *f) {
  char ebuf[PCAP_ERRBUF_SIZE];
  struct pcap_pkthdr *h;
  const u_char *p;
  pcap_t *pc = pcap_open_offline(path, ebuf);
  int rv;

  memset(f, 0, sizeof *f);
  if (pc == NULL) {
    fprintf(stderr, "pcap_open_offline %s: %s\n", path, ebuf);
    return -1;
  }
  if (pcap_datalink(pc) != DLT_EN10MB) {
    fprintf(stderr, "unexpected link type %d\n", pcap_datalink(pc));
    pcap_close(pc);
    return -1;
  }
  while ((rv = pcap_next_ex(pc, &h, &p)) == 1) {
    size_t ihl, thl, off;
    int sport, dport, flags;

    f->packets++;
    /* Ethernet (14) / IPv4 / TCP, as lo presents them */
    if (h->caplen < 14 + 20 + 20 || p[12] != 0x08 || p[13] != 0x00 || p[14 + 9] != 6) {
      f->foreign++;
      continue;
    }
    ihl = (size_t)(p[14] & 0x0f) * 4;
    off = 14 + ihl;
    sport = p[off] << 8 | p[off + 1];
    dport = p[off + 2] << 8 | p[off + 3];
    thl = (size_t)(p[off + 12] >> 4) * 4;
    flags = p[off + 13];
    if (sport != port && dport != port) f->foreign++;
    if (dport == port && (flags & 0x02) && !(flags & 0x10)) f->syn_to_port++;
    if (off + thl <= h->caplen) {
      if (dport == port && contains(p + off + thl, h->caplen - off - thl, REQUEST))
        f->request_to_port++;
      if (sport == port && contains(p + off + thl, h->caplen - off - thl, REPLY))
        f->reply_from_port++;
    }
  }
  pcap_close(pc);
  return rv == PCAP_ERROR_BREAK ? 0 : -1; /* -2: end of file */
}

/* Capture one connection on `port` while another connection on another port runs; check the
 * file holds exactly ours. Leaves the verdict in `failures`. */
static void capture_one_connection(const char *dir) {
  char path[256], filter[64], err[512] = "";
  fl_capture *cap = NULL;
  fl_capture_stats st;
  pcap_findings f;
  int port, other_port, ls, other;
  bool seen_live = false;

  ls = listen_on(0, &port);
  other = listen_on(0, &other_port);
  CHECK(ls >= 0 && other >= 0, "listen: %s", strerror(errno));
  if (ls < 0 || other < 0) return;
  snprintf(path, sizeof path, "%s/capture.pcap", dir);
  snprintf(filter, sizeof filter, "tcp port %d", port);

  CHECK(fl_capture_start("lo", filter, path, 0, &cap, err, sizeof err) == 0, "start: %s", err);
  if (cap == NULL) goto out;
  /* Sent right after fl_capture_start returned: must be in the file. */
  CHECK(exchange(ls, port, REQUEST, REPLY) == 0, "exchange on %d: %s", port, strerror(errno));
  CHECK(exchange(other, other_port, OTHER, OTHER) == 0, "exchange on %d", other_port);

  /* The capture flushes at least every 100 ms: the file shows the exchange before the stop. */
  for (int i = 0; i < 2000 && !seen_live; i++) {
    struct timespec tick = {0, 1000000};
    if (read_pcap(path, port, &f) == 0 && f.request_to_port > 0 && f.reply_from_port > 0)
      seen_live = true;
    else
      nanosleep(&tick, NULL);
  }
  CHECK(seen_live, "the running capture's file did not show the exchange within 2 s");

  CHECK(fl_capture_stop(cap, &st) == 0, "stop: %s", st.error);
  printf("captured %llu packets, kernel received %llu (lo counts each twice), dropped %llu, "
         "interface dropped %llu\n",
         (unsigned long long)st.packets_written, (unsigned long long)st.received,
         (unsigned long long)st.dropped, (unsigned long long)st.if_dropped);
  CHECK(st.dropped == 0, "dropped %llu", (unsigned long long)st.dropped);
  CHECK(st.error[0] == '\0', "error: %s", st.error);

  CHECK(read_pcap(path, port, &f) == 0, "reading %s", path);
  CHECK(f.packets == (int)st.packets_written, "file has %d packets, stats say %llu", f.packets,
        (unsigned long long)st.packets_written);
  CHECK(f.syn_to_port == 1, "SYN to port %d seen %d times", port, f.syn_to_port);
  CHECK(f.request_to_port == 1, "request payload seen %d times", f.request_to_port);
  CHECK(f.reply_from_port == 1, "reply payload seen %d times", f.reply_from_port);
  CHECK(f.foreign == 0, "%d packets outside the filter", f.foreign);
out:
  unlink(path);
  close(ls);
  close(other);
}

static int make_dir(char *dir, size_t size) {
  snprintf(dir, size, "/tmp/fl-capture-XXXXXX");
  if (mkdtemp(dir) == NULL) {
    fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

static int test_live(void) {
  char dir[64], err[256];
  fl_capture *cap;

  if (!fl_have_cap_net_raw()) {
    puts("SKIP: no CAP_NET_RAW (run as root, or see the netns test)");
    return SKIP;
  }
  if (make_dir(dir, sizeof dir) != 0) return 1;
  capture_one_connection(dir);

  /* Errors a user can cause come back as plain messages. */
  CHECK(fl_capture_start("fl-no-such0", "", "/dev/null", 0, &cap, err, sizeof err) == -1,
        "capture on a missing interface started");
  CHECK(strstr(err, "fl-no-such0") != NULL, "message: %s", err);
  printf("missing interface: %s\n", err);
  CHECK(fl_capture_start("lo", "tcp prot 1", "/dev/null", 0, &cap, err, sizeof err) == -1,
        "bad filter accepted");
  CHECK(strstr(err, "bad capture filter \"tcp prot 1\"") != NULL, "message: %s", err);
  printf("bad filter: %s\n", err);
  CHECK(fl_capture_start("lo", "", "/nonexistent-dir/x.pcap", 0, &cap, err, sizeof err) == -1,
        "unwritable file accepted");
  CHECK(strstr(err, "/nonexistent-dir/x.pcap") != NULL, "message: %s", err);
  printf("unwritable file: %s\n", err);

  rmdir(dir);
  return failures ? 1 : 0;
}

/* Drops CAP_NET_RAW from every set of this process (the bounding set too, so nothing can bring
 * it back). Plain capset(2): the test needs no libcap. */
static int drop_net_raw(void) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  uint32_t bit = UINT32_C(1) << (CAP_NET_RAW % 32);
  int i = CAP_NET_RAW / 32;

  /* Fails without CAP_SETPCAP, which is fine: the effective set is what counts. */
  prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0);
  if (syscall(SYS_capget, &hdr, data) != 0) return -1;
  data[i].effective &= ~bit;
  data[i].permitted &= ~bit;
  data[i].inheritable &= ~bit;
  return (int)syscall(SYS_capset, &hdr, data);
}

static int test_nocap(void) {
  char dir[64], path[128];
  pid_t child;
  int status;

  if (make_dir(dir, sizeof dir) != 0) return 1;
  snprintf(path, sizeof path, "%s/capture.pcap", dir);
  fflush(stdout);
  child = fork();
  if (child == 0) {
    char err[512] = "";
    fl_capture *cap = NULL;
    int rv;

    if (drop_net_raw() != 0) {
      fprintf(stderr, "capset: %s\n", strerror(errno));
      _exit(1);
    }
    if (fl_have_cap_net_raw()) {
      fputs("FAIL: CAP_NET_RAW still effective after dropping it\n", stderr);
      _exit(1);
    }
    rv = fl_capture_start("lo", "tcp port 9", path, 0, &cap, err, sizeof err);
    printf("without CAP_NET_RAW: %s\n", err);
    fflush(stdout);
    if (rv != -1 || cap != NULL) {
      fputs("FAIL: capture started without CAP_NET_RAW\n", stderr);
      _exit(1);
    }
    if (strstr(err, "packet capture not possible on lo") == NULL ||
        strstr(err, "needs CAP_NET_RAW (run as root, setcap cap_net_raw+ep, or use --netns)") ==
            NULL) {
      fputs("FAIL: the message does not say plainly what is missing\n", stderr);
      _exit(1);
    }
    _exit(0);
  }
  CHECK(child > 0 && waitpid(child, &status, 0) == child, "fork/wait");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  unlink(path);
  rmdir(dir);
  return failures ? 1 : 0;
}

/* In a child: enter a namespace (optionally first becoming `nobody`), check the ports are
 * private, capture. Exit code: 0 pass, 1 fail, 77 namespaces not available. */
static int netns_child(bool as_nobody, int host_port) {
  char dir[64], err[512] = "";
  int fd, port;

  if (as_nobody && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
    fprintf(stderr, "cannot become nobody: %s\n", strerror(errno));
    return 1;
  }
  if (fl_netns_enter(err, sizeof err) != 0) {
    printf("SKIP%s: %s\n", as_nobody ? " (as nobody)" : "", err);
    return SKIP;
  }
  CHECK(fl_have_cap_net_raw(), "no CAP_NET_RAW inside the namespace");
  /* The host's listener holds host_port; in our own namespace that port is free. */
  fd = listen_on(host_port, &port);
  CHECK(fd >= 0, "port %d not free inside the namespace: %s", host_port, strerror(errno));
  if (fd >= 0) close(fd);
  if (make_dir(dir, sizeof dir) != 0) return 1;
  capture_one_connection(dir);
  rmdir(dir);
  printf("netns%s: %s\n", as_nobody ? " as nobody (user namespace)" : "",
         failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}

static int run_netns_case(bool as_nobody, int host_port) {
  int status;
  pid_t child;

  fflush(stdout);
  child = fork();
  if (child == 0) {
    int rv = netns_child(as_nobody, host_port);
    fflush(stdout);
    _exit(rv);
  }
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 1;
  return WEXITSTATUS(status);
}

static int test_netns(void) {
  int host_port, host = listen_on(0, &host_port);
  int a, b = SKIP;

  if (host < 0) return 1;
  a = run_netns_case(false, host_port);
  /* As root the first case took the plain network-namespace path; the user-namespace path is
   * what an ordinary user gets, so run it as nobody too. */
  if (geteuid() == 0) b = run_netns_case(true, host_port);
  close(host);
  if (a == 1 || b == 1) return 1;
  return a == SKIP && b == SKIP ? SKIP : 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "live") == 0) return test_live();
  if (argc == 2 && strcmp(argv[1], "nocap") == 0) return test_nocap();
  if (argc == 2 && strcmp(argv[1], "netns") == 0) return test_netns();
  fprintf(stderr, "usage: %s live|nocap|netns\n", argv[0]);
  return 1;
}
