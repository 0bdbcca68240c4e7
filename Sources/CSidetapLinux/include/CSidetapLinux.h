// Linux calls Swift cannot make directly (variadic C functions), each behind a prefixed shim.
#ifndef CSIDETAPLINUX_H
#define CSIDETAPLINUX_H

/// Sets the calling thread's timer slack in nanoseconds (prctl PR_SET_TIMERSLACK).
/// Returns 0, or -1 with errno set.
int CSidetapLinux_setTimerSlack(unsigned long nanoseconds);

#endif
