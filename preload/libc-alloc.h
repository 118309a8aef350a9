/* SPDX-License-Identifier: MIT */
/*
 * Forced into every lib/ file of libuslab-malloc.so (-include): uslab's
 * own bookkeeping (cache descriptors, magazines, per-CPU slots, names)
 * is allocated from glibc's allocator, through its __libc_* entry
 * points, and never from the malloc this library puts in front of the
 * program.  Otherwise a magazine allocated for a cache while that
 * cache's slot is held would come from the same cache.  Memory that
 * libc or liburcu allocate on uslab's behalf goes through the program's
 * malloc and free, which tell the two apart by address
 * (preload/malloc.c).
 */
#ifndef USLAB_PRELOAD_LIBC_ALLOC_H
#define USLAB_PRELOAD_LIBC_ALLOC_H

#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);

static inline char *uslab_libc_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = __libc_malloc(n);

	return p ? memcpy(p, s, n) : NULL;
}

#define malloc(n) __libc_malloc(n)
#define calloc(n, size) __libc_calloc(n, size)
#define aligned_alloc(align, size) __libc_memalign(align, size)
#define free(p) __libc_free(p)
#define strdup(s) uslab_libc_strdup(s)

#endif /* USLAB_PRELOAD_LIBC_ALLOC_H */
