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

#endif
