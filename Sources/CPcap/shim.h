// libpcap for Swift: the public header only.
#include <pcap/pcap.h>
