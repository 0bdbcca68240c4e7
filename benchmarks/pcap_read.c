/*
 * pcap_read: the ceiling for reading a capture with libpcap — pcap_next_ex over the whole
 * file, counting packets and bytes, nothing else.
 *
 *   pcap_read FILE
 *
 * Prints "packets=N bytes=B seconds=S pps=P" on stdout; exits 1 on an open or read error.
 * Built by run.sh: gcc -O2 -o pcap_read pcap_read.c -lpcap
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    char errbuf[PCAP_ERRBUF_SIZE];
    double start = monotonic_seconds();
    pcap_t *handle = pcap_open_offline(argv[1], errbuf);
    if (handle == NULL) {
        fprintf(stderr, "pcap_read: %s: %s\n", argv[1], errbuf);
        return 1;
    }
    struct pcap_pkthdr *header;
    const u_char *data;
    uint64_t packets = 0, bytes = 0;
    int status;
    while ((status = pcap_next_ex(handle, &header, &data)) == 1) {
        packets++;
        bytes += header->caplen;
    }
    if (status == PCAP_ERROR) {
        fprintf(stderr, "pcap_read: %s: %s\n", argv[1], pcap_geterr(handle));
        pcap_close(handle);
        return 1;
    }
    pcap_close(handle);
    double seconds = monotonic_seconds() - start;
    printf("packets=%llu bytes=%llu seconds=%.6f pps=%.0f\n", (unsigned long long)packets,
           (unsigned long long)bytes, seconds, seconds > 0 ? (double)packets / seconds : 0.0);
    return 0;
}
