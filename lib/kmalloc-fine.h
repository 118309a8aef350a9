/* SPDX-License-Identifier: MIT */
/*
 * kmalloc-fine.h - libuslab-malloc.so's size classes: four per power of
 * two up to KMALLOC_FINE_MAX bytes (eight between 1 and 8 KiB), where
 * kmalloc() keeps the kernel's; and their fast path, inline so that
 * malloc() and calloc() reach the magazine's restartable sequence
 * without a call.
 * The classes, their creation and every slow path live in kmalloc.c.
 */
#ifndef USLAB_KMALLOC_FINE_H
#define USLAB_KMALLOC_FINE_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "magazine.h"

/*
 * Index: (size - 1) / 8 for 1..64; above, 5 + 4 per octave past 64 plus
 * the quarter of the octave the size falls in, up to 1 KiB; then
 * FINE_1K + 8 per octave past 1 KiB plus the eighth, up to 8 KiB; then
 * FINE_8K + the quarter.
 */
#define FINE_1K 21 /* the first class above 1024: 1152 */
#define FINE_8K 45 /* the first class above 8192: 10240 */
#define NR_FINE 48
#define KMALLOC_FINE_MAX 14336 /* class NR_FINE - 1 */

int kmalloc_fine_init(void);
void *kmalloc_fine(size_t size, gfp_t flags);
void *kzalloc_fine(size_t size, gfp_t flags);

extern const uint8_t fine_small[8];
/*
 * A class's cache, NULL until its first request creates it.  Written
 * with release stores (kmalloc.c); read with acquire loads: a thread
 * that sees the pointer sees the cache.
 */
extern struct kmem_cache *fine_caches[NR_FINE];

/* The class of @size, 1..KMALLOC_FINE_MAX bytes. */
static __always_inline unsigned int fine_index(size_t size)
{
	unsigned int b, shift;

	if (size <= 64)
		return fine_small[(size - 1) >> 3];
	b = 63 - (unsigned int)__builtin_clzl(size - 1); /* 2^b < size */
	if (unlikely(b >= 10))
		return b < 13 ? FINE_1K + (b - 10) * 8 +
					(unsigned int)((size - 1) >> (b - 3)) -
					8 :
				FINE_8K + (unsigned int)((size - 1) >> 11) - 4;
	shift = b - 2;
	return 5 + (b - 6) * 4 + (unsigned int)((size - 1) >> shift) - 4;
}

/* The cache of @size's class (1..KMALLOC_FINE_MAX), or NULL as yet. */
static __always_inline struct kmem_cache *fine_cache(size_t size)
{
	return __atomic_load_n(&fine_caches[fine_index(size)],
			       __ATOMIC_ACQUIRE);
}

/*
 * malloc()'s and calloc()'s fast path, for gfp flags that
 * kmem_cache_alloc() would also serve on its fast path: an object of
 * @size's class from this CPU's loaded magazine in *@objp, and its cache
 * returned; or NULL, with nothing touched, when @size is 0 or above the
 * classes, its class has no cache yet or the magazine said no.
 * kmalloc_fine() and kzalloc_fine() then do the rest.
 */
static __always_inline struct kmem_cache *kmalloc_fine_fast(size_t size,
							    void **objp)
{
	struct kmem_cache *s;

	if (unlikely(size - 1 >= KMALLOC_FINE_MAX))
		return NULL;
	s = fine_cache(size);
	if (likely(s) && likely(mag_alloc_fast(s, NUMA_NO_NODE, objp)))
		return s;
	return NULL;
}

#endif /* USLAB_KMALLOC_FINE_H */
