// libnftables (Debian: libnftables-dev), the library the nft program is built on: Sidetap
// sends its ruleset text in-process, so no child process needs capabilities of its own.
#include <nftables/libnftables.h>
