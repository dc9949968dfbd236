/*
 * Packet capture on loopback, on real TCP connections this test makes itself.
 *
 * usage: test_capture live|nocap|netns|cycles|drops
 *   live   capture a connection on lo (needs CAP_NET_RAW, else SKIP): the handshake and both
 *          payloads are in the file, nothing else is, the file is readable while the capture
 *          runs, and no packet was dropped
 *   nocap  with CAP_NET_RAW dropped, fl_capture_start fails with the plain message
 *   netns  in a private network namespace (fl_netns_enter) the same capture works: as we are
 *          and, when root, as an unprivileged user through a user namespace (SKIP if the kernel
 *          allows neither)
 *   cycles many captures one after another, as a batch of runs makes them: each file is
 *          complete when fl_capture_stop returns, no descriptor or thread is left behind, and
 *          start and stop take milliseconds (a packet socket's close alone waits 15-40 ms)
 *   drops  drops are counted, not hidden: without CAP_NET_ADMIN (so the queue is the kernel's
 *          capped one) and with the writer held up (the file is a fifo nobody reads yet), a
 *          stream larger than the queue loses packets, and the capture says how many: the
 *          count is non-zero and agrees with the bytes missing from the file
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
#include <pthread.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
  long long payload_to_port; /* TCP payload bytes toward the port, as the IP headers say */
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
    if (dport == port) f->payload_to_port += (p[14 + 2] << 8 | p[14 + 3]) - (long long)(ihl + thl);
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
  printf("captured %llu packets, matched the filter %llu, dropped %llu, interface dropped %llu\n",
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
  CHECK(f.payload_to_port == (long long)strlen(REQUEST), "%lld payload bytes to the port",
        f.payload_to_port);
  CHECK(st.received == st.packets_written + st.dropped, "received %llu",
        (unsigned long long)st.received);
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
  /* A full disk is an error, not an empty capture. */
  CHECK(fl_capture_start("lo", "", "/dev/full", 0, &cap, err, sizeof err) == -1,
        "a capture onto a full device started");
  CHECK(strstr(err, "cannot write capture file /dev/full: No space left on device") != NULL,
        "message: %s", err);
  printf("full disk: %s\n", err);

  rmdir(dir);
  return failures ? 1 : 0;
}

/* Drops capability `cap` from every set of this process (the bounding set too, so nothing can
 * bring it back). Plain capset(2): the test needs no libcap. */
static int drop_capability(int cap) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  uint32_t bit = UINT32_C(1) << (cap % 32);
  int i = cap / 32;

  /* Fails without CAP_SETPCAP, which is fine: the effective set is what counts. */
  prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
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

    if (drop_capability(CAP_NET_RAW) != 0) {
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

/* Entries in a /proc/self directory (fd, task): what a capture must give back when it ends.
 * For fd the count includes the directory's own descriptor, the same each time. */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  if (d == NULL) return -1;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static double ms_since(int64_t t0) { return (double)(fl_mono_ns() - t0) / 1e6; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#define CYCLES 20

static int test_cycles(void) {
  char dir[64], path[128], filter[64], err[512] = "";
  double start_ms[CYCLES], stop_ms[CYCLES];
  int port, ls;

  if (!fl_have_cap_net_raw()) {
    puts("SKIP: no CAP_NET_RAW (run as root, or see the netns test)");
    return SKIP;
  }
  if (make_dir(dir, sizeof dir) != 0) return 1;
  ls = listen_on(0, &port);
  CHECK(ls >= 0, "listen: %s", strerror(errno));
  if (ls < 0) return 1;
  snprintf(path, sizeof path, "%s/capture.pcap", dir);
  snprintf(filter, sizeof filter, "tcp port %d", port);
  int fds = count_entries("/proc/self/fd"), threads = count_entries("/proc/self/task");

  for (int i = 0; i < CYCLES; i++) {
    fl_capture *cap = NULL;
    fl_capture_stats st;
    pcap_findings f;
    int64_t t0 = fl_mono_ns();
    CHECK(fl_capture_start("lo", filter, path, 0, &cap, err, sizeof err) == 0, "start: %s", err);
    start_ms[i] = ms_since(t0);
    if (cap == NULL) break;
    CHECK(exchange(ls, port, REQUEST, REPLY) == 0, "exchange: %s", strerror(errno));
    t0 = fl_mono_ns();
    CHECK(fl_capture_stop(cap, &st) == 0, "stop: %s", st.error);
    stop_ms[i] = ms_since(t0);
    /* Complete as soon as the stop returns: the whole connection, FIN included. */
    CHECK(read_pcap(path, port, &f) == 0, "reading %s", path);
    CHECK(f.packets == (int)st.packets_written && f.syn_to_port == 1 && f.request_to_port == 1 &&
              f.reply_from_port == 1 && st.dropped == 0,
          "cycle %d: %d packets in the file (%llu written), SYN %d, request %d, reply %d, "
          "dropped %llu",
          i, f.packets, (unsigned long long)st.packets_written, f.syn_to_port, f.request_to_port,
          f.reply_from_port, (unsigned long long)st.dropped);
  }
  int fds_after = count_entries("/proc/self/fd"), threads_after = count_entries("/proc/self/task");
  CHECK(fds_after == fds, "%d descriptors before the captures, %d after", fds, fds_after);
  CHECK(threads_after == threads, "%d threads before the captures, %d after", threads,
        threads_after);
  qsort(start_ms, CYCLES, sizeof start_ms[0], cmp_double);
  qsort(stop_ms, CYCLES, sizeof stop_ms[0], cmp_double);
  printf("%d captures: start median %.2f ms (max %.2f), stop median %.2f ms (max %.2f); "
         "descriptors %d -> %d, threads %d -> %d\n",
         CYCLES, start_ms[CYCLES / 2], start_ms[CYCLES - 1], stop_ms[CYCLES / 2],
         stop_ms[CYCLES - 1], fds, fds_after, threads, threads_after);
  /* The bound is loose for a loaded machine; a packet socket's close alone takes 15-40 ms. */
  CHECK(start_ms[CYCLES / 2] < 10 && stop_ms[CYCLES / 2] < 10,
        "start or stop takes longer than 10 ms (median)");
  close(ls);
  unlink(path);
  rmdir(dir);
  return failures ? 1 : 0;
}

/* Copies the fifo into a regular file until its writer closes it. */
typedef struct {
  int fifo, out;
  long long bytes;
} drain_job;

static void *drain_fifo(void *arg) {
  drain_job *j = arg;
  char buf[1 << 16];
  ssize_t n;
  while ((n = read(j->fifo, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0 && write(j->out, buf, (size_t)n) == n) j->bytes += n;
  return NULL;
}

/* Writes `total` bytes into a fresh connection to the listener and reads them all at the
 * other end (a thread each way would be simpler to read; one process, interleaved, is enough
 * over loopback). */
static int stream(int listener, int port, long long total) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  static char buf[1 << 16];
  long long sent = 0, got = 0;
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s = -1, rv = -1;
  if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) goto out;
  s = accept(listener, NULL, NULL);
  if (s < 0) goto out;
  fcntl(c, F_SETFL, O_NONBLOCK);
  while (got < total) {
    if (sent < total) {
      size_t want = total - sent < (long long)sizeof buf ? (size_t)(total - sent) : sizeof buf;
      ssize_t w = write(c, buf, want);
      if (w > 0) sent += w;
      if (w < 0 && errno != EAGAIN) goto out;
    }
    ssize_t r = recv(s, buf, sizeof buf, MSG_DONTWAIT);
    if (r > 0) got += r;
    if (r == 0 || (r < 0 && errno != EAGAIN)) goto out;
  }
  rv = 0;
out:
  if (s >= 0) close(s);
  if (c >= 0) close(c);
  return rv;
}

static int drops_child(void) {
  char dir[64], fifo[128], copy[128], filter[64], err[512] = "";
  unsigned long long rmem_max = 0;
  fl_capture *cap = NULL;
  fl_capture_stats st;
  pcap_findings f;
  int port, ls;

  FILE *rm = fopen("/proc/sys/net/core/rmem_max", "r");
  if (rm == NULL || fscanf(rm, "%llu", &rmem_max) != 1) rmem_max = 0;
  if (rm) fclose(rm);
  /* Four times what the capped queue holds is sure to overflow it while the writer waits. */
  long long total = 8 * (long long)rmem_max + (16 << 20);
  if (rmem_max == 0 || total > (1LL << 30)) {
    printf("SKIP: net.core.rmem_max is %llu; the capped queue cannot be overflowed cheaply\n",
           rmem_max);
    return SKIP;
  }
  if (drop_capability(CAP_NET_ADMIN) != 0) {
    fprintf(stderr, "capset: %s\n", strerror(errno));
    return 1;
  }
  if (make_dir(dir, sizeof dir) != 0) return 1;
  snprintf(fifo, sizeof fifo, "%s/capture.pcap", dir);
  snprintf(copy, sizeof copy, "%s/copy.pcap", dir);
  ls = listen_on(0, &port);
  CHECK(ls >= 0 && mkfifo(fifo, 0600) == 0, "listen or mkfifo: %s", strerror(errno));
  if (failures) return 1;
  drain_job job = {.fifo = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC),
                   .out = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  CHECK(job.fifo >= 0 && job.out >= 0, "open: %s", strerror(errno));
  snprintf(filter, sizeof filter, "tcp port %d", port);
  CHECK(fl_capture_start("lo", filter, fifo, 0, &cap, err, sizeof err) == 0, "start: %s", err);
  if (cap == NULL || failures) return 1;

  /* Nobody reads the fifo yet: once its 64 KiB are full the writer waits, and the socket's
   * queue takes the rest until it is full too. */
  CHECK(stream(ls, port, total) == 0, "streaming %lld bytes: %s", total, strerror(errno));
  fcntl(job.fifo, F_SETFL, 0);
  pthread_t reader;
  CHECK(pthread_create(&reader, NULL, drain_fifo, &job) == 0, "pthread_create");
  CHECK(fl_capture_stop(cap, &st) == 0, "stop: %s", st.error);
  pthread_join(reader, NULL);
  close(job.fifo);
  close(job.out);

  CHECK(read_pcap(copy, port, &f) == 0, "reading the copy of the fifo");
  printf("without CAP_NET_ADMIN: queue %llu bytes (rmem_max %llu), peak %llu; %lld bytes sent, "
         "%lld in the file; %llu packets written, %llu dropped, %llu received\n",
         (unsigned long long)st.queue_bytes, rmem_max, (unsigned long long)st.queue_peak_bytes,
         total, f.payload_to_port, (unsigned long long)st.packets_written,
         (unsigned long long)st.dropped, (unsigned long long)st.received);
  CHECK(st.queue_bytes <= 2 * rmem_max, "queue %llu bytes without CAP_NET_ADMIN",
        (unsigned long long)st.queue_bytes);
  CHECK(st.dropped > 0,
        "a stream of %lld bytes through a queue of %llu with the writer held "
        "up dropped nothing",
        total, (unsigned long long)st.queue_bytes);
  CHECK(f.payload_to_port < total, "the file holds all %lld bytes, yet %llu packets dropped", total,
        (unsigned long long)st.dropped);
  CHECK(f.packets == (int)st.packets_written, "file has %d packets, stats say %llu", f.packets,
        (unsigned long long)st.packets_written);
  CHECK(st.received == st.packets_written + st.dropped, "received %llu",
        (unsigned long long)st.received);
  CHECK(f.syn_to_port == 1, "the SYN is missing: %d", f.syn_to_port);
  close(ls);
  unlink(fifo);
  unlink(copy);
  rmdir(dir);
  return failures ? 1 : 0;
}

static int test_drops(void) {
  int status;
  if (!fl_have_cap_net_raw()) {
    puts("SKIP: no CAP_NET_RAW (run as root, or see the netns test)");
    return SKIP;
  }
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    int rv = drops_child();
    fflush(stdout);
    _exit(rv);
  }
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 1;
  return WEXITSTATUS(status);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "live") == 0) return test_live();
  if (argc == 2 && strcmp(argv[1], "nocap") == 0) return test_nocap();
  if (argc == 2 && strcmp(argv[1], "netns") == 0) return test_netns();
  if (argc == 2 && strcmp(argv[1], "cycles") == 0) return test_cycles();
  if (argc == 2 && strcmp(argv[1], "drops") == 0) return test_drops();
  fprintf(stderr, "usage: %s live|nocap|netns|cycles|drops\n", argv[0]);
  return 1;
}
