#define _GNU_SOURCE
#include "CSidetapLinux.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <spawn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int CSidetapLinux_setTimerSlack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0UL, 0UL, 0UL);
}

int CSidetapLinux_tunAttach(int fd, const char *name, short flags, char *actualName) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    request.ifr_flags = flags;
    if (ioctl(fd, TUNSETIFF, &request) != 0) return -1;
    memcpy(actualName, request.ifr_name, IFNAMSIZ);
    actualName[IFNAMSIZ - 1] = 0;
    return 0;
}

short CSidetapLinux_tapFlags(void) {
    return IFF_TAP | IFF_NO_PI;
}

int CSidetapLinux_setInterfaceUp(const char *name) {
    int scratch = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (scratch < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int result = ioctl(scratch, SIOCGIFFLAGS, &request);
    if (result == 0 && !(request.ifr_flags & IFF_UP)) {
        request.ifr_flags |= IFF_UP;
        result = ioctl(scratch, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(scratch);
    errno = saved;
    return result;
}

int CSidetapLinux_dropAllInput(int fd) {
    struct sock_filter rejectAll = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog program = { .len = 1, .filter = &rejectAll };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program);
}

int CSidetapLinux_bindPacketSocket(int fd, int ifindex) {
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = 0;
    address.sll_ifindex = ifindex;
    return bind(fd, (struct sockaddr *)&address, sizeof address);
}

int CSidetapLinux_sendFrames(int fd, const void *const *frames, const unsigned *lengths, unsigned count) {
    struct mmsghdr messages[64];
    struct iovec vectors[64];
    if (count > 64) count = 64;
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = (void *)frames[i];
        vectors[i].iov_len = lengths[i];
        memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int sent;
    do {
        sent = sendmmsg(fd, messages, count, MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

int CSidetapLinux_bypassQdisc(int fd) {
    int one = 1;
    return setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
}

int CSidetapLinux_spawnAddChdir(void *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}
