// SPDX-License-Identifier: MIT
/*
 * passthrough.c - USLAB_PASSTHROUGH=1: every object of every cache is a
 * block of the system malloc, so that any memory tool (valgrind's leak
 * checker and memcheck, ASan, heaptrack) sees each object as the heap
 * block it is, with its own allocation and free stacks (GLib's
 * G_SLICE=always-malloc).
 *
 * An object is aligned_alloc(align, object_size), or posix_memalign()
 * when the size is not a multiple of the alignment (aligned_alloc() does
 * not allow that, and ASan enforces it): the block is exactly the
 * object, so a one-byte overflow is outside it.  free() gives it back.
 * The constructor runs on every allocation, since no object is ever
 * kept.  Caches in this mode have no per-CPU magazines (cpu_slab is
 * NULL, as for debug caches), so the fast path sends every call to the
 * slow path in cache.c, which calls here; no slab is laid out.
 * Statistics go on: the objects in use are counted on node 0
 * (slab_passthrough_count()), allocations and frees on node 0's event
 * counters.
 *
 * Locking: none of its own; malloc's, and the node lock inside
 * slab_passthrough_count().
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A heap block for one object of @s; NULL with errno ENOMEM. */
static void *passthrough_block(struct kmem_cache *s)
{
	void *obj;

	if (s->object_size % s->align == 0)
		return aligned_alloc(s->align, s->object_size);
	if (posix_memalign(&obj, s->align, s->object_size))
		return NULL;
	return obj;
}

void *passthrough_alloc(struct kmem_cache *s, gfp_t gfp)
{
	void *obj = passthrough_block(s);

	if (unlikely(!obj)) {
		if (gfp & __GFP_NOFAIL) {
			uslab_report("kmem_cache_alloc(%s): out of memory "
				     "with __GFP_NOFAIL (USLAB_PASSTHROUGH)",
				     s->name);
			abort();
		}
		if (!(gfp & __GFP_NOWARN))
			uslab_report("kmem_cache_alloc(%s): out of memory "
				     "(USLAB_PASSTHROUGH)",
				     s->name);
		errno = ENOMEM;
		return NULL;
	}
	if (s->ctor)
		s->ctor(obj);
	if (gfp & __GFP_ZERO)
		memset(obj, 0, s->object_size);
	slab_passthrough_count(s, 1);
	stat_add(s, 0, allocs, 1UL);
	return obj;
}

/* All of p[0..n) or none (the kmem_cache_alloc_bulk() contract). */
size_t passthrough_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t n,
			      void **p)
{
	size_t i;

	for (i = 0; i < n; i++) {
		p[i] = passthrough_alloc(s, gfp);
		if (!p[i]) {
			while (i--)
				passthrough_free(s, p[i]);
			return 0;
		}
	}
	return n;
}

/*
 * kmalloc() in this mode: a block of exactly @size bytes (so a tool sees
 * an overflow past the request, as KASAN does), with the kernel's
 * alignment rule: natural for a power of two up to a page.  No size
 * class, no count; kfree() gives it to free().  NULL: ENOMEM, not
 * reported (the caller does).
 */
void *passthrough_kmalloc(size_t size, gfp_t gfp)
{
	size_t align = size <= PAGE_SIZE && !(size & (size - 1)) ? size : 1;
	void *p = align > alignof(max_align_t) ? aligned_alloc(align, size) :
						 malloc(size);

	if (p && (gfp & __GFP_ZERO))
		memset(p, 0, size);
	return p;
}

/*
 * Give @obj back to malloc.  It cannot be checked as a slab object can:
 * a bad pointer is free()'s (and the memory tool's) to report.
 */
void passthrough_free(struct kmem_cache *s, void *obj)
{
	free(obj);
	slab_passthrough_count(s, -1);
	stat_add(s, 0, frees, 1UL);
}
