// libnftables (Debian: libnftables-dev), the library the nft program is built on: Sidetap
// sends its ruleset text in-process, so no child process needs capabilities of its own.
// Only its types and flags come from here: the functions are looked up at run time
// (SidetapCut/Block/NftablesAPI.swift), so this module links nothing.
#include <nftables/libnftables.h>
