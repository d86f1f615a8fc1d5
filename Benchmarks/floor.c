/*
 * floor.c — the floor for any libpcap-based reader: a bare loop over pcap_next_ex that counts
 * packets and sums captured lengths, nothing else.
 *
 *   cc -O2 -o floor floor.c -lpcap
 *   ./floor capture.pcap        ->  packets N bytes M
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: floor FILE.pcap\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "floor: %s\n", err);
        return 1;
    }
    uint64_t packets = 0, bytes = 0;
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc = pcap_next_ex(p, &h, &data);
        if (rc == 1) {                     /* a frame */
            packets++;
            bytes += h->caplen;
        } else if (rc == PCAP_ERROR_BREAK) { /* -2: end of the file */
            break;
        } else if (rc == PCAP_ERROR) {     /* -1: read error, e.g. a truncated file */
            fprintf(stderr, "floor: %s: after packet %llu: %s\n", argv[1], (unsigned long long)packets, pcap_geterr(p));
            pcap_close(p);
            return 1;
        } else if (rc == 0) {              /* timeout: live captures only */
            fprintf(stderr, "floor: %s: pcap_next_ex returned 0 (timeout) on an offline capture\n", argv[1]);
            pcap_close(p);
            return 1;
        } else {
            fprintf(stderr, "floor: %s: unexpected pcap_next_ex result %d\n", argv[1], rc);
            pcap_close(p);
            return 1;
        }
    }
    pcap_close(p);
    printf("packets %llu bytes %llu\n", (unsigned long long)packets, (unsigned long long)bytes);
    return 0;
}
