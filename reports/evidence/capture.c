#include "capture.h"
#include "util.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* How long a written packet may sit in stdio's buffer before it reaches the file. It is also the
 * poll timeout of the capture thread, so an idle capture still flushes its last packets. */
#define FLUSH_MS 100

/* Bound on the final drain in fl_capture_stop: a sender still flooding the interface must not
 * keep the stop from returning. Each round empties the ring once. */
#define DRAIN_ROUNDS 64

/*
 * The kernel hands over a block of the ring when it is full or this many ms after its first
 * packet. Not immediate mode: there libpcap uses TPACKET_V2, one ring frame per packet sized
 * for the snaplen, so an 8 MiB ring holds 31 whole-packet frames and a burst of 1000 streams'
 * small frames overflowed it (10-50% dropped). TPACKET_V3 packs packets into blocks, so the
 * same ring holds thousands; a short block timeout keeps the file within milliseconds of the
 * wire, as immediate mode would.
 */
#define BLOCK_TIMEOUT_MS 1

struct fl_capture {
  pcap_t *pcap;
  pcap_dumper_t *dumper;
  int stop_fd;          /* eventfd: wakes the thread's poll at once when stopping */
  atomic_bool stopping; /* and this is what the thread checks, every FLUSH_MS at least */
  pthread_t thread;
  bool started; /* fl_capture_begin started the thread */
  /* Written by the capture thread only; read by the stopping thread after the join. */
  uint64_t written;
  bool unflushed;
  char error[256];
};

static int64_t mono_ms(void) { return fl_mono_ns() / 1000000; }

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  fl_capture *c = (fl_capture *)user;

  pcap_dump((u_char *)c->dumper, h, bytes);
  c->written++;
  c->unflushed = true;
}

static int flush(fl_capture *c) {
  c->unflushed = false;
  if (pcap_dump_flush(c->dumper) != 0) {
    snprintf(c->error, sizeof c->error, "writing the capture file failed: %s", strerror(errno));
    return -1;
  }
  return 0;
}

/* The thread polls the capture socket itself, with the socket in non-blocking mode: libpcap's
 * blocking read on Linux keeps polling through its timeout while no packet comes, so it would
 * never return to flush the last packets of a burst. Stopping wakes the poll through an eventfd
 * rather than pcap_breakloop, which does not reach a poll of our own. */
static void *capture_main(void *arg) {
  fl_capture *c = arg;
  struct pollfd fds[2] = {{.fd = pcap_get_selectable_fd(c->pcap), .events = POLLIN},
                          {.fd = c->stop_fd, .events = POLLIN}};
  int64_t last_flush = mono_ms();

  for (;;) {
    int n, ready = poll(fds, 2, FLUSH_MS);

    if (ready < 0 && errno != EINTR) {
      snprintf(c->error, sizeof c->error, "packet capture stopped early: poll: %s",
               strerror(errno));
      break;
    }
    if (atomic_load(&c->stopping)) break; /* fl_capture_stop drains what is left */
    n = ready > 0 ? pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c) : 0;
    if (n < 0) {
      snprintf(c->error, sizeof c->error, "packet capture stopped early: %s",
               n == PCAP_ERROR_BREAK ? "interrupted" : pcap_geterr(c->pcap));
      break;
    }
    /* n == 0: traffic paused, so whatever is buffered goes out now. */
    if (c->unflushed && (n == 0 || mono_ms() - last_flush >= FLUSH_MS)) {
      if (flush(c) != 0) break;
      last_flush = mono_ms();
    }
  }
  return NULL;
}

static int set_filter(fl_capture *c, const char *filter, char *err, size_t errlen) {
  struct bpf_program prog;
  if (filter == NULL || filter[0] == '\0') filter = ""; /* everything */
  if (pcap_compile(c->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    fl_set_err(err, errlen, "bad capture filter \"%s\": %s", filter, pcap_geterr(c->pcap));
    return -1;
  }
  /* libpcap filters in user space whatever reached the ring before the kernel filter was set,
   * so no unfiltered packet slips into the file. */
  int rv = pcap_setfilter(c->pcap, &prog);
  pcap_freecode(&prog);
  if (rv != 0) {
    fl_set_err(err, errlen, "cannot set capture filter \"%s\": %s", filter, pcap_geterr(c->pcap));
    return -1;
  }
  return 0;
}

/* Everything up to the start of the thread; on failure frees what it made. The file is `path`,
 * or `stream` when not NULL (then `path` only names it in messages, and the stream is the
 * dumper's from here on, or closed on failure). */
static int open_capture(fl_capture *c, const char *iface, const char *path, FILE *stream,
                        int snaplen, char *err, size_t errlen) {
  char ebuf[PCAP_ERRBUF_SIZE] = "";
  int rv;

  c->pcap = pcap_create(iface, ebuf);
  if (c->pcap == NULL) {
    fl_set_err(err, errlen, "packet capture not possible on %s: %s", iface, ebuf);
    return -1;
  }
  if (pcap_set_snaplen(c->pcap, snaplen > 0 ? snaplen : FL_CAPTURE_SNAPLEN_DEFAULT) != 0 ||
      pcap_set_promisc(c->pcap, 0) != 0 || pcap_set_immediate_mode(c->pcap, 0) != 0 ||
      pcap_set_buffer_size(c->pcap, FL_CAPTURE_BUFFER_BYTES) != 0 ||
      pcap_set_timeout(c->pcap, BLOCK_TIMEOUT_MS) != 0) {
    fl_set_err(err, errlen, "packet capture not possible on %s: %s", iface, pcap_geterr(c->pcap));
    goto fail_pcap;
  }

  rv = pcap_activate(c->pcap);
  if (rv == PCAP_ERROR_PERM_DENIED || rv == PCAP_ERROR_PROMISC_PERM_DENIED) {
    fl_set_err(err, errlen,
               "packet capture not possible on %s: it needs CAP_NET_RAW (run as root, "
               "setcap cap_net_raw+ep, or use --netns); libpcap said: %s",
               iface, pcap_geterr(c->pcap));
    goto fail_pcap;
  }
  if (rv == PCAP_ERROR_NO_SUCH_DEVICE) {
    fl_set_err(err, errlen, "packet capture not possible: no interface \"%s\" (%s)", iface,
               pcap_geterr(c->pcap));
    goto fail_pcap;
  }
  if (rv == PCAP_ERROR_IFACE_NOT_UP) {
    fl_set_err(err, errlen, "packet capture not possible: interface \"%s\" is down", iface);
    goto fail_pcap;
  }
  if (rv < 0) {
    fl_set_err(err, errlen, "packet capture not possible on %s: %s", iface, pcap_geterr(c->pcap));
    goto fail_pcap;
  }
  /* rv > 0 is a warning (e.g. promiscuous mode unsupported); the capture works. */

  /* Until fl_capture_begin names the traffic, keep nothing. */
  if (set_filter(c, "less 0", err, errlen) != 0) goto fail_pcap;

  if (pcap_setnonblock(c->pcap, 1, ebuf) != 0 || pcap_get_selectable_fd(c->pcap) < 0) {
    fl_set_err(err, errlen, "packet capture not possible on %s: cannot poll it: %s", iface, ebuf);
    goto fail_pcap;
  }

  c->dumper = stream ? pcap_dump_fopen(c->pcap, stream) : pcap_dump_open(c->pcap, path);
  if (c->dumper == NULL) {
    fl_set_err(err, errlen, "cannot write capture file: %s", pcap_geterr(c->pcap));
    goto fail_pcap;
  }
  stream = NULL; /* the dumper's now */
  /* The header alone makes a valid, empty capture file; write it now so even a run that dies
   * before its first packet leaves one. */
  if (pcap_dump_flush(c->dumper) != 0) {
    fl_set_err(err, errlen, "cannot write capture file %s: %s", path, strerror(errno));
    goto fail_dumper;
  }
  return 0;

fail_dumper:
  pcap_dump_close(c->dumper);
fail_pcap:
  pcap_close(c->pcap);
  if (stream) fclose(stream);
  return -1;
}

static int open_with(const char *iface, const char *path, FILE *stream, int snaplen,
                     fl_capture **out, char *err, size_t errlen) {
  fl_capture *c = calloc(1, sizeof *c);
  if (c == NULL) {
    fl_set_err(err, errlen, "packet capture not possible: out of memory");
    return -1;
  }
  c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c->stop_fd < 0) {
    fl_set_err(err, errlen, "packet capture not possible: eventfd: %s", strerror(errno));
    free(c);
    if (stream) fclose(stream);
    return -1;
  }
  if (open_capture(c, iface, path, stream, snaplen, err, errlen) != 0) {
    close(c->stop_fd);
    free(c);
    return -1;
  }
  *out = c;
  return 0;
}

int fl_capture_open(const char *iface, const char *path, int snaplen, fl_capture **out, char *err,
                    size_t errlen) {
  return open_with(iface, path, NULL, snaplen, out, err, errlen);
}

int fl_capture_open_stream(const char *iface, FILE *stream, const char *name, int snaplen,
                           fl_capture **out, char *err, size_t errlen) {
  return open_with(iface, name, stream, snaplen, out, err, errlen);
}

int fl_capture_begin(fl_capture *c, const char *filter, char *err, size_t errlen) {
  sigset_t all, old;
  if (set_filter(c, filter, err, errlen) != 0) return -1;
  /* The socket is bound and filtered once pcap_setfilter returns: packets queue in the ring
   * from now on, whether or not the thread has reached pcap_dispatch yet. The thread inherits
   * a full signal mask so signals meant for the runner never land on it. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rv = pthread_create(&c->thread, NULL, capture_main, c);
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

int fl_capture_stop(fl_capture *c, fl_capture_stats *st) {
  const uint64_t one = 1;
  struct pcap_stat ps;
  int rv = 0;

  if (c->started) {
    atomic_store(&c->stopping, true);
    /* If this write failed the thread would still see the flag within FLUSH_MS. */
    (void)!write(c->stop_fd, &one, sizeof one);
    pthread_join(c->thread, NULL);
  }

  /* Packets that arrived before the stop may still sit in the ring (the thread leaves as soon as
   * it is woken), some in a block the kernel hands over only when its timeout passes. Read
   * until a wait of twice that timeout brings nothing more, so the file holds everything that
   * was sent before fl_capture_stop was called. */
  struct pollfd pfd = {.fd = pcap_get_selectable_fd(c->pcap), .events = POLLIN};
  for (int i = 0; c->error[0] == '\0' && i < DRAIN_ROUNDS; i++) {
    int n = pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c);
    if (n < 0 || (n == 0 && poll(&pfd, 1, 2 * BLOCK_TIMEOUT_MS) <= 0)) break;
  }
  if (c->unflushed) flush(c);

  if (st != NULL) {
    memset(st, 0, sizeof *st);
    st->packets_written = c->written;
    if (pcap_stats(c->pcap, &ps) == 0) {
      st->received = ps.ps_recv;
      st->dropped = ps.ps_drop;
      st->if_dropped = ps.ps_ifdrop;
    } else if (c->error[0] == '\0') {
      snprintf(c->error, sizeof c->error, "capture statistics unavailable: %s",
               pcap_geterr(c->pcap));
    }
    snprintf(st->error, sizeof st->error, "%s", c->error);
  }
  if (c->error[0] != '\0') rv = -1;

  pcap_dump_close(c->dumper);
  pcap_close(c->pcap);
  close(c->stop_fd);
  free(c);
  return rv;
}
