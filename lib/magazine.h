/* SPDX-License-Identifier: MIT */
/*
 * magazine.h - the per-CPU magazine fast path, inline so that
 * kmem_cache_alloc()/kmem_cache_free() (cache.c) reach the restartable
 * sequence without a call.  The slow paths and everything else live in
 * magazine.c, whose header comment gives the design and the rules.
 */
#ifndef USLAB_MAGAZINE_H
#define USLAB_MAGAZINE_H

#include <stdbool.h>

#include "internal.h"

void *mag_alloc_slow(struct kmem_cache *s);
void mag_free_slow(struct kmem_cache *s, void *obj);

/*
 * The fast paths themselves are <uslab/fastpath.h>'s, the code that a
 * program built with USLAB_INLINE also runs inline; here under the
 * names and types the library uses.
 *
 * mag_alloc_fast(): pop from this CPU's loaded magazine, or say no
 * (magazine empty or absent, no rseq for this thread, lock mode, @node
 * neither NUMA_NO_NODE nor this CPU's node, or the kernel aborted the
 * section: preempted, migrated or signalled) and leave the rest to the
 * slow paths, which give the same result under the slot's lock.  For
 * callers that want no call frame, and no loop: an abort is rare.
 */
static __attribute__((always_inline)) inline bool
mag_alloc_fast(struct kmem_cache *s, int node, void **objp)
{
	return __uslab_alloc_fast(s, node, objp);
}

/*
 * The mirror: push @obj, a validated slot of @s whose home is @node,
 * into this CPU's loaded magazine, or, when @node is another node's,
 * into this CPU's alien magazine for @node (a remote free, batched for
 * home), or say no and leave the rest to the slow paths.  As for the
 * pop, an aborted section goes to the slow path: no loop, so nothing but
 * the section's own operands lives across it.
 */
static __attribute__((always_inline)) inline bool
mag_free_fast(struct kmem_cache *s, void *obj, int node)
{
	return __uslab_push_fast(s, obj, node);
}

/*
 * kmem_cache_free()'s fast path without its lookup: @view is
 * slab_view_of(@obj) and @s the cache read from it, so only the slot
 * check is left (a slab of @s has s->objects slots, from the view's
 * s_mem).  True if @obj went into a magazine; false leaves it to the
 * slow path (no slots, not a slot's start, or the push said no), with
 * nothing touched, errno included.  Inline for kmem_cache_free(),
 * kfree() and the preloaded free(): a call here would cost as much as
 * the push.
 */
static __attribute__((always_inline)) inline bool
cache_free_fast(struct kmem_cache *s, const struct slab_view *view, void *obj)
{
	return __uslab_free_view_fast(s, (const char *)view, obj);
}

/* An object of @s (which has slots) for this CPU; NULL on ENOMEM. */
static __attribute__((always_inline)) inline void *
mag_alloc(struct kmem_cache *s)
{
	void *obj;

	if (likely(mag_alloc_fast(s, NUMA_NO_NODE, &obj)))
		return obj;
	return mag_alloc_slow(s);
}

/* Put away @obj, already validated as a slot of @s's slab @slab. */
static __attribute__((always_inline)) inline void
mag_free(struct kmem_cache *s, struct slab *slab, void *obj)
{
	if (unlikely(!mag_free_fast(s, obj, slab_nid(slab))))
		mag_free_slow(s, obj);
}

#endif /* USLAB_MAGAZINE_H */
