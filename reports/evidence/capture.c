#include "capture.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Packets taken from the socket in one recvmmsg, and written with one writev. */
#define BATCH 64

/* An IPv4 packet is at most 65535 bytes (lo's MTU is 65536; its GSO limit 65536). */
#define IP_MAX 65535

/* Each record in the file: pcap's 16-byte record header, then the 14-byte Ethernet header lo
 * presents (both addresses zero, type IPv4), then the IP packet. */
#define REC_HDR 16
#define ETH_HDR 14

/* The stop's final drain: the packets the peers sent last (a FIN in a backlog that ksoftirqd
 * has not run yet) are waited for until the socket stays empty this long... */
#define QUIET_MS 1
/* ...and for at most this long; a sender still flooding the interface then has its packets
 * refused from that moment by the filter, and everything already queued is written. */
#define DRAIN_MAX_MS 500

struct fl_capture {
  int fd;      /* the raw socket */
  int stop_fd; /* eventfd: wakes the thread's poll at once when stopping */
  int file_fd;
  int write_errno; /* the first write to the file that failed */
  atomic_bool stopping;
  pthread_t thread;
  bool started;         /* fl_capture_begin started the thread */
  int snaplen;          /* of each record: Ethernet header + IP packet */
  size_t keep;          /* bytes kept of each IP packet */
  size_t slot;          /* bytes of one receive slot: record header + Ethernet header + keep */
  unsigned char *slots; /* BATCH slots */
  uint32_t drops_at_begin;
  uint64_t if_drops_at_begin;
  char iface[IF_NAMESIZE];
  uint64_t queue_bytes;
  /* Written by the capture thread only, then by the stopping thread after the join. */
  uint64_t written, queue_peak;
  char error[256];
};

/* The classic-BPF program that accepts nothing: the socket's filter until fl_capture_begin
 * names the traffic, and again once the stop's drain gives up waiting for quiet. */
static int refuse_all(int fd) {
  struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);
  struct sock_fprog prog = {.len = 1, .filter = &none};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/* The kernel's accounting of the socket: SK_MEMINFO_RMEM_ALLOC (bytes queued) and
 * SK_MEMINFO_DROPS (packets refused for want of queue space, since the socket was made). */
static uint32_t meminfo(int fd, int which) {
  uint32_t mem[SK_MEMINFO_VARS] = {0};
  socklen_t len = sizeof mem;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0) return 0;
  return mem[which];
}

/* The interface's own count of packets it dropped on receive (all traffic on it). */
static uint64_t iface_drops(const char *iface) {
  char path[96];
  unsigned long long n = 0;
  snprintf(path, sizeof path, "/sys/class/net/%s/statistics/rx_dropped", iface);
  FILE *f = fopen(path, "re");
  if (f) {
    if (fscanf(f, "%llu", &n) != 1) n = 0;
    fclose(f);
  }
  return n;
}

static int write_all(fl_capture *c, struct iovec *iov, int n) {
  while (n > 0) {
    ssize_t w = writev(c->file_fd, iov, n > IOV_MAX ? IOV_MAX : n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      c->write_errno = w < 0 ? errno : EIO;
      snprintf(c->error, sizeof c->error, "writing the capture file failed: %s",
               w < 0 ? strerror(errno) : "nothing written");
      return -1;
    }
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return 0;
}

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

/* Takes what the socket holds, up to BATCH packets, and appends them to the file in one
 * writev. Returns the number of packets written (0: the socket is empty), or -1 (c->error). */
static int read_batch(fl_capture *c) {
  struct mmsghdr m[BATCH];
  struct iovec in[BATCH], out[BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(struct timespec))];
    struct cmsghdr align;
  } ctrl[BATCH];
  size_t keep = c->keep;

  memset(m, 0, sizeof m);
  for (int i = 0; i < BATCH; i++) {
    in[i] = (struct iovec){c->slots + (size_t)i * c->slot + REC_HDR + ETH_HDR, keep};
    m[i].msg_hdr = (struct msghdr){.msg_iov = &in[i],
                                   .msg_iovlen = 1,
                                   .msg_control = ctrl[i].buf,
                                   .msg_controllen = sizeof ctrl[i].buf};
  }
  /* How far behind the writer is, before it catches up: the margin left to dropping. */
  uint64_t queued = meminfo(c->fd, SK_MEMINFO_RMEM_ALLOC);
  if (queued > c->queue_peak) c->queue_peak = queued;
  int n = recvmmsg(c->fd, m, BATCH, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    snprintf(c->error, sizeof c->error, "packet capture stopped early: recvmmsg: %s",
             strerror(errno));
    return -1;
  }
  for (int i = 0; i < n; i++) {
    unsigned char *rec = c->slots + (size_t)i * c->slot;
    struct timespec ts = {0, 0};
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m[i].msg_hdr); cm; cm = CMSG_NXTHDR(&m[i].msg_hdr, cm))
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS)
        memcpy(&ts, CMSG_DATA(cm), sizeof ts);
    if (ts.tv_sec == 0) clock_gettime(CLOCK_REALTIME, &ts);
    /* The filter cut the packet to `keep` bytes in the kernel; its length on the wire is in
     * its IPv4 header (0 there for a BIG TCP segment, which only the socket's count knows). */
    const unsigned char *ip = rec + REC_HDR + ETH_HDR;
    size_t got = m[i].msg_len < keep ? m[i].msg_len : keep, len = m[i].msg_len;
    if (got >= 4 && (ip[0] >> 4) == 4 && (size_t)(ip[2] << 8 | ip[3]) > len)
      len = (size_t)(ip[2] << 8 | ip[3]);
    len += ETH_HDR;
    size_t cap = ETH_HDR + got;
    if (cap > (size_t)c->snaplen) cap = (size_t)c->snaplen;
    put32(rec, (uint32_t)ts.tv_sec);
    put32(rec + 4, (uint32_t)(ts.tv_nsec / 1000));
    put32(rec + 8, (uint32_t)cap);
    put32(rec + 12, (uint32_t)len);
    memset(rec + REC_HDR, 0, 12);
    rec[REC_HDR + 12] = 0x08; /* ETHERTYPE_IP */
    rec[REC_HDR + 13] = 0x00;
    out[i] = (struct iovec){rec, REC_HDR + cap};
  }
  if (n > 0 && write_all(c, out, n) != 0) return -1;
  c->written += (uint64_t)n;
  return n;
}

/* The thread empties the socket whenever it is readable: each batch goes straight to the file
 * (no user-space buffering), so the file is as current as the thread. Stopping wakes its poll
 * through an eventfd; the stopping thread then drains what is left. */
static void *capture_main(void *arg) {
  fl_capture *c = arg;
  struct pollfd fds[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = c->stop_fd, .events = POLLIN}};

  while (!atomic_load(&c->stopping)) {
    int n = read_batch(c);
    if (n < 0) break;
    if (n > 0) continue;
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      snprintf(c->error, sizeof c->error, "packet capture stopped early: poll: %s",
               strerror(errno));
      break;
    }
  }
  /* A capture that failed keeps nothing more: the queue must not fill with packets nobody will
   * write. */
  if (c->error[0] != '\0') (void)refuse_all(c->fd);
  return NULL;
}

static int fail_errno(char *err, size_t errlen, const char *iface, const char *what) {
  int e = errno;
  if (e == EPERM || e == EACCES)
    fl_set_err(err, errlen,
               "packet capture not possible on %s: it needs CAP_NET_RAW (run as root, "
               "setcap cap_net_raw+ep, or use --netns); %s: %s",
               iface, what, strerror(e));
  else if (e == ENODEV)
    fl_set_err(err, errlen, "packet capture not possible: no interface \"%s\" (%s: %s)", iface,
               what, strerror(e));
  else
    fl_set_err(err, errlen, "packet capture not possible on %s: %s: %s", iface, what, strerror(e));
  return -1;
}

static int open_socket(fl_capture *c, const char *iface, char *err, size_t errlen) {
  /* The kernel doubles what it is asked for (its own overhead), and reports the double. */
  int one = 1, queue = FL_CAPTURE_QUEUE_BYTES / 2, granted = 0;
  struct ifreq ifr;
  socklen_t len = sizeof granted;

  c->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
  if (c->fd < 0) return fail_errno(err, errlen, iface, "socket");
  if (strlen(iface) >= IF_NAMESIZE) {
    errno = ENODEV;
    fail_errno(err, errlen, iface, "name too long");
    goto fail;
  }
  /* Nothing is kept until fl_capture_begin names the traffic; what slipped in before this
   * filter was set is read away below. */
  if (refuse_all(c->fd) != 0) {
    fail_errno(err, errlen, iface, "SO_ATTACH_FILTER");
    goto fail;
  }
  if (setsockopt(c->fd, SOL_SOCKET, SO_BINDTODEVICE, iface, (socklen_t)strlen(iface) + 1) != 0) {
    fail_errno(err, errlen, iface, "SO_BINDTODEVICE");
    goto fail;
  }
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
  if (ioctl(c->fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    fl_set_err(err, errlen, "packet capture not possible: interface \"%s\" is down", iface);
    goto fail;
  }
  if (setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) {
    fail_errno(err, errlen, iface, "SO_TIMESTAMPNS");
    goto fail;
  }
  /* The queue is a limit, not an allocation: it costs nothing until the writer falls behind.
   * Without CAP_NET_ADMIN the kernel caps it at net.core.rmem_max. */
  if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &queue, sizeof queue) != 0)
    (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &queue, sizeof queue);
  if (getsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &granted, &len) == 0 && granted > 0)
    c->queue_bytes = (uint64_t)granted;
  unsigned char scratch[64];
  while (recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
  }
  snprintf(c->iface, sizeof c->iface, "%s", iface);
  return 0;
fail:
  close(c->fd);
  return -1;
}

/* Writes the file header into fd, which the capture then owns (closed on failure too). */
static int open_file(fl_capture *c, int fd, const char *path, char *err, size_t errlen) {
  /* pcap's file header: microsecond timestamps, version 2.4, Ethernet. */
  unsigned char hdr[24];
  uint32_t magic = 0xa1b2c3d4, zero = 0, snap = (uint32_t)c->snaplen, link = DLT_EN10MB;
  uint16_t major = 2, minor = 4;
  memcpy(hdr, &magic, 4);
  memcpy(hdr + 4, &major, 2);
  memcpy(hdr + 6, &minor, 2);
  memcpy(hdr + 8, &zero, 4);
  memcpy(hdr + 12, &zero, 4);
  memcpy(hdr + 16, &snap, 4);
  memcpy(hdr + 20, &link, 4);

  c->file_fd = fd;
  /* The header alone makes a valid, empty capture file; written now so even a run that dies
   * before its first packet leaves one. */
  ssize_t w = write(c->file_fd, hdr, sizeof hdr);
  if (w != (ssize_t)sizeof hdr) {
    fl_set_err(err, errlen, "cannot write capture file %s: %s", path,
               w < 0 ? strerror(errno) : "short write");
    close(c->file_fd);
    c->file_fd = -1;
    return -1;
  }
  return 0;
}

int fl_capture_prepare(const char *iface, int snaplen, fl_capture **out, char *err, size_t errlen) {
  fl_capture *c = calloc(1, sizeof *c);
  if (c == NULL) {
    fl_set_err(err, errlen, "packet capture not possible: out of memory");
    return -1;
  }
  c->file_fd = -1;
  c->snaplen = snaplen > 0 ? snaplen : FL_CAPTURE_SNAPLEN_DEFAULT;
  c->keep = c->snaplen > ETH_HDR ? (size_t)c->snaplen - ETH_HDR : 1;
  if (c->keep > IP_MAX) c->keep = IP_MAX;
  /* Slots 8-byte aligned, so each record header is. */
  c->slot = (REC_HDR + ETH_HDR + c->keep + 7) & ~(size_t)7;
  c->slots = malloc(c->slot * BATCH);
  if (c->slots == NULL) {
    fl_set_err(err, errlen, "packet capture not possible: out of memory");
    goto fail_c;
  }
  c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c->stop_fd < 0) {
    fl_set_err(err, errlen, "packet capture not possible: eventfd: %s", strerror(errno));
    goto fail_slots;
  }
  if (open_socket(c, iface, err, errlen) != 0) goto fail_eventfd;
  *out = c;
  return 0;

fail_eventfd:
  close(c->stop_fd);
fail_slots:
  free(c->slots);
fail_c:
  free(c);
  return -1;
}

int fl_capture_attach(fl_capture *c, int fd, const char *name, char *err, size_t errlen) {
  return open_file(c, fd, name, err, errlen);
}

int fl_capture_open(const char *iface, const char *path, int snaplen, fl_capture **out, char *err,
                    size_t errlen) {
  fl_capture *c;
  if (fl_capture_prepare(iface, snaplen, &c, err, errlen) != 0) return -1;
  /* The file only once the socket works: a run without the privilege leaves none. */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    fl_set_err(err, errlen, "cannot write capture file %s: %s", path, strerror(errno));
    (void)fl_capture_stop(c, NULL);
    return -1;
  }
  if (fl_capture_attach(c, fd, path, err, errlen) != 0) {
    (void)fl_capture_stop(c, NULL);
    return -1;
  }
  *out = c;
  return 0;
}

int fl_capture_begin(fl_capture *c, const char *filter, char *err, size_t errlen) {
  struct bpf_program prog;
  sigset_t all, old;

  if (filter == NULL) filter = ""; /* everything */
  /* The socket sees IP packets (no link header): compile for raw IP. The program's "accept"
   * value is the number of bytes kept, so the kernel cuts each packet to the snaplen. */
  pcap_t *dead = pcap_open_dead(DLT_RAW, (int)c->keep);
  if (dead == NULL) {
    fl_set_err(err, errlen, "packet capture not possible: out of memory");
    return -1;
  }
  if (pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    fl_set_err(err, errlen, "bad capture filter \"%s\": %s", filter, pcap_geterr(dead));
    pcap_close(dead);
    return -1;
  }
  pcap_close(dead);
  struct sock_fprog fprog = {.len = (unsigned short)prog.bf_len,
                             .filter = (struct sock_filter *)prog.bf_insns};
  c->drops_at_begin = meminfo(c->fd, SK_MEMINFO_DROPS);
  c->if_drops_at_begin = iface_drops(c->iface);
  int rv = setsockopt(c->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog);
  int e = errno;
  pcap_freecode(&prog);
  if (rv != 0) {
    fl_set_err(err, errlen, "cannot set capture filter \"%s\": %s", filter, strerror(e));
    return -1;
  }
  /* Packets queue on the socket from now on, whether or not the thread runs yet. The thread
   * inherits a full signal mask so signals meant for the runner never land on it. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rv = pthread_create(&c->thread, NULL, capture_main, c);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rv != 0) {
    fl_set_err(err, errlen, "packet capture not possible: cannot start its thread: %s",
               strerror(rv));
    return -1;
  }
  c->started = true;
  return 0;
}

int fl_capture_start(const char *iface, const char *filter, const char *path, int snaplen,
                     fl_capture **out, char *err, size_t errlen) {
  fl_capture *c;
  if (fl_capture_open(iface, path, snaplen, &c, err, errlen) != 0) return -1;
  if (fl_capture_begin(c, filter, err, errlen) != 0) {
    fl_capture_stop(c, NULL);
    return -1;
  }
  *out = c;
  return 0;
}

/* Writes what is still queued: until the socket stays empty for QUIET_MS, and past
 * DRAIN_MAX_MS refusing new packets so the drain ends. */
static void drain(fl_capture *c) {
  struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
  int64_t give_up = fl_mono_ns() + DRAIN_MAX_MS * 1000000LL;
  bool refusing = false;
  while (c->error[0] == '\0') {
    int n = read_batch(c);
    if (n < 0) break;
    if (n > 0) {
      if (!refusing && fl_mono_ns() > give_up) refusing = refuse_all(c->fd) == 0;
      continue;
    }
    if (refusing || poll(&pfd, 1, QUIET_MS) <= 0) break;
  }
}

int fl_capture_stop(fl_capture *c, fl_capture_stats *st) {
  const uint64_t one = 1;
  uint64_t dropped = 0, if_dropped = 0;

  if (c->started) {
    atomic_store(&c->stopping, true);
    (void)!write(c->stop_fd, &one, sizeof one);
    pthread_join(c->thread, NULL);
    drain(c);
    /* The kernel's counter is 32 bits wide; the difference is right across a wrap. */
    dropped = (uint32_t)(meminfo(c->fd, SK_MEMINFO_DROPS) - c->drops_at_begin);
    if_dropped = iface_drops(c->iface) - c->if_drops_at_begin;
  }
  if (c->file_fd >= 0 && close(c->file_fd) != 0 && c->error[0] == '\0') {
    c->write_errno = errno;
    snprintf(c->error, sizeof c->error, "writing the capture file failed: %s", strerror(errno));
  }
  fl_trace("capture", "stopped: %llu packets written, %llu dropped, queue peak %llu of %llu bytes",
           (unsigned long long)c->written, (unsigned long long)dropped,
           (unsigned long long)c->queue_peak, (unsigned long long)c->queue_bytes);
  if (st != NULL) {
    *st = (fl_capture_stats){.packets_written = c->written,
                             .received = c->written + dropped,
                             .dropped = dropped,
                             .if_dropped = if_dropped,
                             .queue_bytes = c->queue_bytes,
                             .queue_peak_bytes = c->queue_peak,
                             .write_errno = c->write_errno};
    snprintf(st->error, sizeof st->error, "%s", c->error);
  }
  int rv = c->error[0] != '\0' ? -1 : 0;
  close(c->fd);
  close(c->stop_fd);
  free(c->slots);
  free(c);
  return rv;
}
