/*
 * pcap_complete FILE: checks, from the TCP headers alone, that a capture lost nothing: in each
 * direction of each IPv4 TCP connection, every sequence number from the SYN up to the highest
 * one the other side acknowledged (or sent) is covered by a captured segment. A drop counter
 * can be wrong; a hole in a byte stream cannot. Segments cut short by the snaplen still count
 * whole: their length comes from the IP header.
 *
 * Prints the packet count ("packets N") and one line per direction; exits 0 if every direction
 * is whole, 1 if some bytes are missing (or no connection's handshake is in the file), 2 on
 * usage or I/O errors (a file cut short is one).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint32_t start, end; /* relative to the direction's base */
} span;

typedef struct {
  uint32_t saddr, daddr;
  uint16_t sport, dport;
  bool have_base, have_syn;
  uint32_t base;  /* the SYN's sequence number, else the first one seen */
  uint32_t acked; /* highest ack of this direction's bytes seen from the other side, rel. */
  bool any_ack;
  span *spans;
  size_t n, cap;
} flow;

static flow *flows;
static size_t n_flows, cap_flows;

static flow *find(uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp, bool create) {
  for (size_t i = 0; i < n_flows; i++)
    if (flows[i].saddr == sa && flows[i].sport == sp && flows[i].daddr == da &&
        flows[i].dport == dp)
      return &flows[i];
  if (!create) return NULL;
  if (n_flows == cap_flows) {
    cap_flows = cap_flows ? 2 * cap_flows : 16;
    flows = realloc(flows, cap_flows * sizeof *flows);
    if (!flows) exit(2);
  }
  flows[n_flows] = (flow){.saddr = sa, .daddr = da, .sport = sp, .dport = dp};
  return &flows[n_flows++];
}

static int by_start(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

static void addr(uint32_t a, uint16_t p, char *out, size_t size) {
  struct in_addr in = {.s_addr = a};
  snprintf(out, size, "%s:%u", inet_ntoa(in), p);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pcap_complete FILE\n");
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline(argv[1], err);
  if (!p) {
    fprintf(stderr, "pcap_complete: %s\n", err);
    return 2;
  }
  if (pcap_datalink(p) != DLT_EN10MB) {
    fprintf(stderr, "pcap_complete: link type %d, not Ethernet\n", pcap_datalink(p));
    return 2;
  }
  struct pcap_pkthdr *h;
  const u_char *d;
  long packets = 0;
  int rv;
  while ((rv = pcap_next_ex(p, &h, &d)) == 1) {
    packets++;
    if (h->caplen < 14 + sizeof(struct iphdr) || d[12] != 0x08 || d[13] != 0x00) continue;
    /* Copied out: a record's bytes need not be aligned for these structs. */
    struct iphdr ipv;
    struct tcphdr tv;
    memcpy(&ipv, d + 14, sizeof ipv);
    const struct iphdr *ip = &ipv;
    size_t ihl = (size_t)ip->ihl * 4;
    if (ip->version != 4 || ip->protocol != IPPROTO_TCP ||
        h->caplen < 14 + ihl + sizeof(struct tcphdr))
      continue;
    memcpy(&tv, d + 14 + ihl, sizeof tv);
    const struct tcphdr *t = &tv;
    size_t total = ntohs(ip->tot_len);
    size_t payload = total - ihl - (size_t)t->doff * 4;
    uint32_t seq = ntohl(t->seq);
    uint32_t len = (uint32_t)payload + t->syn + t->fin;

    flow *f = find(ip->saddr, ntohs(t->source), ip->daddr, ntohs(t->dest), true);
    if (t->syn) {
      f->base = seq;
      f->have_base = f->have_syn = true;
    } else if (!f->have_base) {
      f->base = seq;
      f->have_base = true;
    }
    uint32_t rel = seq - f->base;
    if (len > 0 && rel < (1u << 31)) {
      if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 256;
        f->spans = realloc(f->spans, f->cap * sizeof *f->spans);
        if (!f->spans) return 2;
      }
      f->spans[f->n++] = (span){rel, rel + len};
    }
    if (t->ack) {
      /* This acknowledges the reverse direction's bytes. */
      flow *r = find(ip->daddr, ntohs(t->dest), ip->saddr, ntohs(t->source), true);
      if (r->have_base) {
        uint32_t a = ntohl(t->ack_seq) - r->base;
        if (a < (1u << 31) && (!r->any_ack || a > r->acked)) r->acked = a;
        r->any_ack = true;
      }
    }
  }
  if (rv != PCAP_ERROR_BREAK) {
    fprintf(stderr, "pcap_complete: %s: %s\n", argv[1], pcap_geterr(p));
    return 2;
  }
  pcap_close(p);

  printf("packets %ld\n", packets);
  int status = 0, handshakes = 0;
  for (size_t i = 0; i < n_flows; i++) {
    flow *f = &flows[i];
    char from[32], to[32];
    addr(f->saddr, f->sport, from, sizeof from);
    addr(f->daddr, f->dport, to, sizeof to);
    qsort(f->spans, f->n, sizeof *f->spans, by_start);
    uint32_t covered = 0, missing = 0, first_hole = 0;
    for (size_t k = 0; k < f->n; k++) {
      if (f->spans[k].start > covered) {
        if (missing == 0) first_hole = covered;
        missing += f->spans[k].start - covered;
      }
      if (f->spans[k].end > covered) covered = f->spans[k].end;
    }
    if (f->any_ack && f->acked > covered) {
      if (missing == 0) first_hole = covered;
      missing += f->acked - covered;
    }
    handshakes += f->have_syn;
    printf("%s -> %s: %zu segments with data, %u sequence numbers%s, %u missing", from, to, f->n,
           covered, f->have_syn ? " from the SYN" : " (no SYN)", missing);
    if (missing) printf(" (the first at +%u)", first_hole);
    printf("\n");
    if (missing) status = 1;
    free(f->spans);
  }
  if (handshakes == 0) {
    printf("no TCP handshake in the file\n");
    status = 1;
  }
  free(flows);
  return status;
}
