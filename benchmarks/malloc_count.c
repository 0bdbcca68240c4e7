/*
 * malloc_count: counts heap allocations of a whole process, for the benchmark's
 * "no allocation per packet" check (valgrind 3.19 cannot run Swift 6 binaries here).
 *
 *   gcc -O2 -shared -fPIC -o malloc_count.so malloc_count.c
 *   MALLOC_COUNT_OUT=/tmp/counts LD_PRELOAD=./malloc_count.so sidetap run CONFIG
 *
 * Wraps malloc, calloc, realloc, memalign, posix_memalign, aligned_alloc and valloc over
 * glibc's __libc_* entry points (no dlsym, so no bootstrap recursion) and, at exit, writes
 * "allocations=N" (calls that returned new memory) to $MALLOC_COUNT_OUT or stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_ulong allocations;

void *malloc(size_t n) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
void *valloc(size_t n) { return memalign((size_t)sysconf(_SC_PAGESIZE), n); }
int posix_memalign(void **out, size_t a, size_t n) {
    void *p = memalign(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

__attribute__((destructor)) static void report(void) {
    char line[64];
    int len = snprintf(line, sizeof line, "allocations=%lu\n", atomic_load(&allocations));
    const char *path = getenv("MALLOC_COUNT_OUT");
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : 2;
    if (fd >= 0) {
        ssize_t ignored = write(fd, line, (size_t)len);
        (void)ignored;
        if (path) close(fd);
    }
}
