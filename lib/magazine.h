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
#include "rseq.h"

void *mag_alloc_slow(struct kmem_cache *s);
void mag_free_slow(struct kmem_cache *s, void *obj);

/*
 * The fast path alone: pop from this CPU's loaded magazine, or say no
 * (magazine empty or absent, no rseq for this thread, lock mode, @node
 * neither NUMA_NO_NODE nor this CPU's node, or the kernel aborted the
 * section: preempted, migrated or signalled) and leave the rest to the
 * slow paths, which give the same result under the slot's lock.  For
 * callers that want no call frame, and no loop: an abort is rare.
 */
static __attribute__((always_inline)) inline bool
mag_alloc_fast(struct kmem_cache *s, int node, void **objp)
{
	long off = percpu_rseq_off;
	struct kmem_cache_cpu *c;
	unsigned long cpu = rseq_cpu_start(off); /* below nr_cpu_ids */

	c = &s->cpu_fast[cpu];
	/*
	 * A slot's node is its CPU's and never changes, and the section
	 * commits only on @cpu: a popped object is @node's.  The CPU's own
	 * node first: kmem_cache_alloc_node() callers mostly pass it, and
	 * kmem_cache_alloc()'s constant NUMA_NO_NODE folds both tests.
	 */
	if (node != c->node && node != NUMA_NO_NODE)
		return false;
	if (rseq_mag_pop(off, cpu, &c->loaded, objp) != RSEQ_OK)
		return false;
	tsan_acquire(&c->loaded); /* pairs with mag_free */
	return true;
}

/*
 * The mirror of mag_alloc_fast(): push @obj, a validated slot of @s
 * whose home is @node, into this CPU's loaded magazine, or, when @node
 * is another node's, into this CPU's alien magazine for @node (a remote
 * free, batched for home), or say no and leave the rest to the slow
 * paths.  An object of another node is never put in the CPU's own
 * magazines: node-local memory stays local.  As for the pop, an aborted
 * section goes to the slow path: no loop, so nothing but the section's
 * own operands lives across it.
 */
static __attribute__((always_inline)) inline bool
mag_free_fast(struct kmem_cache *s, void *obj, int node)
{
	long off = percpu_rseq_off;
	struct kmem_cache_cpu *c;
	struct magazine **slot;
	unsigned long cpu = rseq_cpu_start(off); /* below nr_cpu_ids */

	c = &s->cpu_fast[cpu];
	/*
	 * A slot's node is fixed, and the section commits only on @cpu:
	 * the magazine it finds there is @node's (slot_release_at() in
	 * magazine.c).
	 */
	if (likely(node == c->node))
		slot = &c->loaded;
	else
		slot = &c->alien[node].mag;
	/*
	 * The CPU orders this push before a later pop on it, or before its
	 * owner takes the magazine; TSan cannot see that, so say it (no
	 * code outside TSan).
	 */
	tsan_release(slot);
	return rseq_mag_push(off, cpu, slot, obj) == RSEQ_OK;
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
	unsigned long off =
		(unsigned long)obj - (unsigned long)view_s_mem(view);

	return likely(obj_slot_index(s, off) < s->objects) &&
	       likely(mag_free_fast(s, obj, view_node(view)));
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
