#include "CSidetapLinux.h"

#include <sys/prctl.h>

int CSidetapLinux_setTimerSlack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0UL, 0UL, 0UL);
}
