// The process-wide privilege drop: per-thread steps broadcast to every thread by signal.
#define _GNU_SOURCE
#include "CSidetapLinux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

enum { STEP_PREPARE = 1, STEP_APPLY = 2 };
enum { MAX_THREADS = 4096 };
enum { ACK_PENDING = 0, ACK_DONE = 1, ACK_GONE = 2 };

static pthread_mutex_t dropLock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int currentStep;
static unsigned long long keepMask;
// The target ids, for a thread glibc's own setxid broadcast skips (see runStep).
static uid_t targetUID;
static gid_t targetGID;
static const gid_t *targetGroups;
static int targetGroupCount;
static int lastCapability;
// Threads signalled in the current step; the handler finds its own slot by thread id.
static pid_t targets[MAX_THREADS];
static atomic_int targetCount;
// ACK_* or, for a failed step, -errno.
static atomic_int acks[MAX_THREADS];

static pid_t currentThreadID(void) {
    return (pid_t)syscall(SYS_gettid);
}

// One step on the calling thread, raw syscalls only (it runs inside a signal handler).
// Returns 0 or an errno value.
static int runStep(int step) {
    if (step == STEP_PREPARE) {
        if (syscall(SYS_prctl, PR_SET_KEEPCAPS, 1UL, 0UL, 0UL, 0UL) != 0) return errno;
        for (int capability = 0; capability <= lastCapability && capability < 64; capability++) {
            if (keepMask & (1ULL << capability)) continue;
            if (syscall(SYS_prctl, PR_CAPBSET_DROP, (unsigned long)capability, 0UL, 0UL, 0UL) != 0 && errno != EINVAL) return errno;
        }
        if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) != 0 && errno != EINVAL) return errno;
        return 0;
    }
    // glibc's setgroups/setresgid/setresuid skip a thread it marks as exiting, such as the main
    // thread that dispatch_main parked in pthread_exit's key destructors (sigsuspend forever):
    // it still runs signal handlers, so it is switched here with the raw, per-thread calls.
    if ((uid_t)syscall(SYS_getuid) != targetUID || (gid_t)syscall(SYS_getgid) != targetGID) {
        if (syscall(SYS_setgroups, (size_t)targetGroupCount, targetGroups) != 0) return errno;
        if (syscall(SYS_setresgid, targetGID, targetGID, targetGID) != 0) return errno;
        if (syscall(SYS_setresuid, targetUID, targetUID, targetUID) != 0) return errno;
    }
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    data[0].permitted = data[0].effective = (uint32_t)(keepMask & 0xFFFFFFFFULL);
    data[1].permitted = data[1].effective = (uint32_t)(keepMask >> 32);
    if (syscall(SYS_capset, &header, data) != 0) return errno;
    if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) != 0 && errno != EINVAL) return errno;
    if (syscall(SYS_prctl, PR_SET_KEEPCAPS, 0UL, 0UL, 0UL, 0UL) != 0) return errno;
    if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0) return errno;
    return 0;
}

static void stepHandler(int signal) {
    (void)signal;
    int saved = errno;
    pid_t self = currentThreadID();
    int count = atomic_load_explicit(&targetCount, memory_order_acquire);
    for (int i = 0; i < count; i++) {
        if (targets[i] != self) continue;
        // Only a slot still pending is answered: a second, stray delivery changes nothing.
        if (atomic_load_explicit(&acks[i], memory_order_acquire) != ACK_PENDING) break;
        int result = runStep(atomic_load_explicit(&currentStep, memory_order_acquire));
        atomic_store_explicit(&acks[i], result == 0 ? ACK_DONE : -result, memory_order_release);
        break;
    }
    errno = saved;
}

static void setError(char *error, int errorSize, const char *format, const char *detail, int code) {
    if (errorSize <= 0) return;
    if (code != 0) {
        char text[256];
        snprintf(text, sizeof text, format, detail);
        snprintf(error, (size_t)errorSize, "%s: %s", text, strerror(code));
    } else {
        snprintf(error, (size_t)errorSize, format, detail);
    }
}

// Reads the hexadecimal SigBlk mask of thread `tid`; 0 when it cannot be read (a thread
// that ended).
static unsigned long long blockedSignals(pid_t tid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    FILE *file = fopen(path, "re");
    if (!file) return 0;
    char line[256];
    unsigned long long mask = 0;
    while (fgets(line, sizeof line, file)) {
        if (strncmp(line, "SigBlk:", 7) == 0) {
            mask = strtoull(line + 7, NULL, 16);
            break;
        }
    }
    fclose(file);
    return mask;
}

// The thread ids of this process, into `tids` (at most `capacity`); -1 when /proc cannot be read.
static int listThreads(pid_t *tids, int capacity) {
    DIR *directory = opendir("/proc/self/task");
    if (!directory) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        if (count == capacity) { closedir(directory); errno = E2BIG; return -1; }
        tids[count++] = (pid_t)atoi(entry->d_name);
    }
    closedir(directory);
    return count;
}

// A signal no thread blocks and nothing else handles: dispatch's worker threads (the Swift
// concurrency pool) block every asynchronous signal but a few, so real-time signals are tried
// first and SIGPROF / SIGSYS after them.
static int chooseSignal(void) {
    pid_t tids[MAX_THREADS];
    int count = listThreads(tids, MAX_THREADS);
    if (count < 0) return -1;
    int candidates[] = { SIGRTMAX - 1, SIGRTMAX - 2, SIGRTMAX - 3, SIGPROF, SIGSYS };
    for (size_t c = 0; c < sizeof candidates / sizeof candidates[0]; c++) {
        int signal = candidates[c];
        struct sigaction current;
        if (sigaction(signal, NULL, &current) != 0) continue;
        if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) continue;
        if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction != NULL) continue;
        int usable = 1;
        for (int i = 0; i < count && usable; i++) {
            if (blockedSignals(tids[i]) & (1ULL << (signal - 1))) usable = 0;
        }
        if (usable) return signal;
    }
    errno = 0;
    return -1;
}

static int threadExists(pid_t tid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
    return access(path, F_OK) == 0;
}

static long long millisecondsNow(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static const char *stepName(int step) {
    return step == STEP_PREPARE ? "keep capabilities across the user change, shrink the bounding set"
                                : "set the kept capabilities, clear ambient, set no_new_privs";
}

// Runs `step` on this thread and on every other thread (signal `signal`), listing the threads
// again until a pass finds no new one; waits for every answer.
static int broadcast(int step, int signal, int timeoutMilliseconds, char *error, int errorSize) {
    atomic_store_explicit(&targetCount, 0, memory_order_release);
    atomic_store_explicit(&currentStep, step, memory_order_release);
    int result = runStep(step);
    if (result != 0) {
        setError(error, errorSize, "calling thread: %s", stepName(step), result);
        return -1;
    }
    pid_t self = currentThreadID();
    long long deadline = millisecondsNow() + timeoutMilliseconds;
    pid_t tids[MAX_THREADS];
    for (;;) {
        int count = listThreads(tids, MAX_THREADS);
        if (count < 0) {
            setError(error, errorSize, "%s", "cannot list /proc/self/task", errno);
            return -1;
        }
        int added = 0;
        for (int i = 0; i < count; i++) {
            if (tids[i] == self) continue;
            int known = atomic_load_explicit(&targetCount, memory_order_acquire), seen = 0;
            for (int k = 0; k < known && !seen; k++) seen = targets[k] == tids[i];
            if (seen) continue;
            if (known == MAX_THREADS) {
                setError(error, errorSize, "%s", "more than 4096 threads", 0);
                return -1;
            }
            targets[known] = tids[i];
            atomic_store_explicit(&acks[known], ACK_PENDING, memory_order_relaxed);
            atomic_store_explicit(&targetCount, known + 1, memory_order_release);
            added++;
            if (syscall(SYS_tgkill, getpid(), tids[i], signal) != 0) {
                if (errno == ESRCH) {
                    atomic_store_explicit(&acks[known], ACK_GONE, memory_order_release);
                } else {
                    char which[32];
                    snprintf(which, sizeof which, "%d", (int)tids[i]);
                    setError(error, errorSize, "cannot signal thread %s", which, errno);
                    return -1;
                }
            }
        }
        // Wait for every answer so far.
        for (;;) {
            int known = atomic_load_explicit(&targetCount, memory_order_acquire), pending = 0;
            for (int k = 0; k < known; k++) {
                int ack = atomic_load_explicit(&acks[k], memory_order_acquire);
                if (ack < 0) {
                    char which[160];
                    snprintf(which, sizeof which, "thread %d: %s", (int)targets[k], stepName(step));
                    setError(error, errorSize, "%s", which, -ack);
                    return -1;
                }
                if (ack == ACK_PENDING) {
                    if (threadExists(targets[k])) pending++;
                    else atomic_store_explicit(&acks[k], ACK_GONE, memory_order_release);
                }
            }
            if (pending == 0) break;
            if (millisecondsNow() > deadline) {
                char which[160];
                snprintf(which, sizeof which, "%d thread(s) did not answer within %d ms (step: %s)", pending, timeoutMilliseconds, stepName(step));
                setError(error, errorSize, "%s", which, 0);
                return -1;
            }
            struct timespec pause = { .tv_sec = 0, .tv_nsec = 1000000 };
            nanosleep(&pause, NULL);
        }
        if (added == 0) return 0;
    }
}

static int readLastCapability(void) {
    FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int value = -1;
    if (file) {
        if (fscanf(file, "%d", &value) != 1) value = -1;
        fclose(file);
    }
    return value < 0 ? CAP_LAST_CAP : value;
}

int CSidetapLinux_dropPrivileges(unsigned int uid, unsigned int gid, const unsigned int *groups, int groupCount,
                                 unsigned long long keep, int timeoutMilliseconds, char *error, int errorSize) {
    if (errorSize > 0) error[0] = 0;
    pthread_mutex_lock(&dropLock);
    keepMask = keep;
    lastCapability = readLastCapability();
    int signal = chooseSignal();
    if (signal < 0) {
        setError(error, errorSize, "%s", "no signal is free and unblocked in every thread to reach them with", errno);
        pthread_mutex_unlock(&dropLock);
        return -1;
    }
    struct sigaction action, previous;
    memset(&action, 0, sizeof action);
    action.sa_handler = stepHandler;
    action.sa_flags = SA_RESTART;
    sigfillset(&action.sa_mask);
    if (sigaction(signal, &action, &previous) != 0) {
        setError(error, errorSize, "%s", "cannot install the signal handler", errno);
        pthread_mutex_unlock(&dropLock);
        return -1;
    }
    gid_t list[groupCount > 0 ? groupCount : 1];
    for (int i = 0; i < groupCount; i++) list[i] = (gid_t)groups[i];
    targetUID = uid;
    targetGID = gid;
    targetGroups = list;
    targetGroupCount = groupCount;
    int status = broadcast(STEP_PREPARE, signal, timeoutMilliseconds, error, errorSize);
    if (status == 0) {
        if (setgroups((size_t)groupCount, list) != 0) {
            setError(error, errorSize, "%s", "setgroups", errno);
            status = -1;
        } else if (setresgid(gid, gid, gid) != 0) {
            setError(error, errorSize, "%s", "setresgid", errno);
            status = -1;
        } else if (setresuid(uid, uid, uid) != 0) {
            setError(error, errorSize, "%s", "setresuid", errno);
            status = -1;
        }
    }
    if (status == 0) status = broadcast(STEP_APPLY, signal, timeoutMilliseconds, error, errorSize);
    // A thread that was slow to answer could still run the handler: leave it installed until
    // every slot has answered, then restore what was there.
    if (status == 0) sigaction(signal, &previous, NULL);
    pthread_mutex_unlock(&dropLock);
    return status;
}

int CSidetapLinux_enterNetworkNamespace(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int result = setns(fd, CLONE_NEWNET);
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}
