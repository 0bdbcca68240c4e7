// Linux calls Swift cannot make directly (variadic C functions), each behind a prefixed shim.
#ifndef CSIDETAPLINUX_H
#define CSIDETAPLINUX_H

/// Sets the calling thread's timer slack in nanoseconds (prctl PR_SET_TIMERSLACK).
/// Returns 0, or -1 with errno set.
int CSidetapLinux_setTimerSlack(unsigned long nanoseconds);

/// Hints the CPU to fetch the cache line at `address` for reading (__builtin_prefetch).
/// Never faults: a prefetch of an unmapped address is dropped.
static inline void CSidetapLinux_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Attaches the open /dev/net/tun descriptor `fd` to the TUN/TAP device `name` with `flags`
/// (IFF_TAP | IFF_NO_PI ...), creating the device when it does not exist (ioctl TUNSETIFF).
/// `actualName` (16 bytes) receives the device's name. Returns 0, or -1 with errno set.
int CSidetapLinux_tunAttach(int fd, const char *name, short flags, char *actualName);

/// The IFF_TAP | IFF_NO_PI flags for CSidetapLinux_tunAttach.
short CSidetapLinux_tapFlags(void);

/// Sets IFF_UP on interface `name` (ioctl SIOCGIFFLAGS then SIOCSIFFLAGS on a scratch
/// AF_INET datagram socket). Returns 0, or -1 with errno set.
int CSidetapLinux_setInterfaceUp(const char *name);

/// Attaches a one-instruction classic BPF program that accepts nothing (setsockopt
/// SO_ATTACH_FILTER), so a send-only raw socket never queues received packets.
/// Returns 0, or -1 with errno set.
int CSidetapLinux_dropAllInput(int fd);

/// Binds the AF_PACKET socket `fd` to interface `ifindex` with protocol 0, so it sends on
/// that interface and receives nothing (bind with a struct sockaddr_ll, which Swift's Glibc
/// module does not export). Returns 0, or -1 with errno set.
int CSidetapLinux_bindPacketSocket(int fd, int ifindex);

/// Sends `count` (at most 64) datagrams or frames on socket `fd` with one sendmmsg(2) call,
/// without waiting (MSG_DONTWAIT): `frames[i]` holds `lengths[i]` bytes. Returns how many of
/// the first frames were sent (a later one may have failed), or -1 with errno set for the
/// first frame.
int CSidetapLinux_sendFrames(int fd, const void *const *frames, const unsigned *lengths, unsigned count);

/// Lets frames sent on the AF_PACKET socket `fd` skip the kernel's queueing discipline and go
/// to the device driver directly (setsockopt PACKET_QDISC_BYPASS). Returns 0, or -1 with errno.
int CSidetapLinux_bypassQdisc(int fd);

/// Adds a change of working directory to a posix_spawn file-actions list
/// (posix_spawn_file_actions_addchdir_np, glibc 2.29+, which Swift's Glibc module does not
/// declare). Returns 0 or an error number.
int CSidetapLinux_spawnAddChdir(void *actions, const char *path);

/// Drops the whole process, every thread, to user `uid`, group `gid` and the `groupCount`
/// supplementary `groups`, keeping only the capabilities whose bits are set in `keep`
/// (bit n = capability n) as permitted and effective; inheritable and ambient sets empty,
/// the bounding set reduced to `keep`, and no_new_privs set.
///
/// Capabilities, keep-caps, the ambient and bounding sets and no_new_privs belong to each
/// thread, so the per-thread steps run in every thread: the caller's directly, every other
/// thread's from a signal handler (tgkill to each thread in /proc/self/task; the handler
/// makes raw syscalls only), and the caller waits up to `timeoutMilliseconds` for every
/// thread to answer. setgroups/setresgid/setresuid go through glibc, which applies them to
/// every thread itself. Threads started during the drop are found by listing the threads
/// again until no new one appears.
///
/// Returns 0, or -1 with a message in `error` (`errorSize` bytes); after a failure the
/// process may be partly dropped and must exit.
int CSidetapLinux_dropPrivileges(unsigned int uid, unsigned int gid, const unsigned int *groups, int groupCount,
                                 unsigned long long keep, int timeoutMilliseconds, char *error, int errorSize);

/// Enters the network namespace whose file is `path` (for example /run/netns/NAME) on the
/// calling thread only (open + setns CLONE_NEWNET). Returns 0, or -1 with errno set.
int CSidetapLinux_enterNetworkNamespace(const char *path);

#endif
