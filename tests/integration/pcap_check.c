/*
 * pcap_check FILE PORT: opens a capture with libpcap and checks that it holds the TCP
 * handshake on PORT (SYN to it, SYN-ACK from it, then the ACK) and some payload. Prints what
 * it counted; exits 0 if the handshake and data are there, 1 if not, 2 on usage or I/O error.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pcap_check FILE PORT\n");
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline(argv[1], err);
  if (!p) {
    fprintf(stderr, "pcap_check: %s\n", err);
    return 2;
  }
  int port = atoi(argv[2]);
  int link = pcap_datalink(p);
  size_t l2 = link == DLT_EN10MB ? 14 : link == DLT_LINUX_SLL ? 16 : link == DLT_NULL ? 4 : 0;
  long packets = 0, syn = 0, synack = 0, ack_after = 0, payload_packets = 0;
  struct pcap_pkthdr *h;
  const u_char *data;
  while (pcap_next_ex(p, &h, &data) == 1) {
    packets++;
    if (h->caplen < l2 + sizeof(struct iphdr)) continue;
    const struct iphdr *ip = (const struct iphdr *)(data + l2);
    if (ip->version != 4 || ip->protocol != IPPROTO_TCP) continue;
    size_t ihl = (size_t)ip->ihl * 4;
    if (h->caplen < l2 + ihl + sizeof(struct tcphdr)) continue;
    const struct tcphdr *tcp = (const struct tcphdr *)(data + l2 + ihl);
    int sport = ntohs(tcp->source), dport = ntohs(tcp->dest);
    size_t payload = ntohs(ip->tot_len) - ihl - (size_t)tcp->doff * 4;
    if (tcp->syn && !tcp->ack && dport == port) syn++;
    if (tcp->syn && tcp->ack && sport == port) synack++;
    if (!tcp->syn && tcp->ack && dport == port && synack && payload == 0) ack_after++;
    if (payload > 0 && (sport == port || dport == port)) payload_packets++;
  }
  pcap_close(p);
  printf("packets %ld, SYN to %d: %ld, SYN-ACK: %ld, ACK: %ld, with payload: %ld\n", packets, port,
         syn, synack, ack_after, payload_packets);
  return syn >= 1 && synack >= 1 && ack_after >= 1 && payload_packets >= 2 ? 0 : 1;
}
