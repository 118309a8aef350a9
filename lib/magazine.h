/* SPDX-License-Identifier: MIT */
/*
 * magazine.h - the per-CPU magazine fast path, inline so that
 * kmem_cache_alloc()/kmem_cache_free() (cache.c) reach the restartable
 * sequence without a call.  The slow paths and everything else live in
 * magazine.c, whose header comment gives the design and the rules.
 */
#ifndef USLAB_MAGAZINE_H
#define USLAB_MAGAZINE_H

#include "internal.h"
#include "rseq.h"

void *mag_alloc_slow(struct kmem_cache *s);
void mag_free_slow(struct kmem_cache *s, void *obj);

/* An object of @s (which has slots) for this CPU; NULL on ENOMEM. */
static __attribute__((always_inline)) inline void *
mag_alloc(struct kmem_cache *s)
{
	long off = percpu_rseq_off;
	void *obj;
	int cpu, ret;

	for (;;) {
		/* Lock mode reads -1 here: see percpu_rseq_off. */
		cpu = rseq_cpu_id(off);
		if (unlikely((unsigned int)cpu >= nr_cpu_ids))
			return mag_alloc_slow(s);
		ret = rseq_mag_pop(off, cpu, &s->cpu_slab[cpu].loaded, &obj);
		if (likely(ret == RSEQ_OK)) {
			/* Pairs with the pusher's release (TSan only). */
			tsan_acquire(&s->cpu_slab[cpu].loaded);
			return obj;
		}
		if (ret == RSEQ_SLOW)
			return mag_alloc_slow(s);
		/* Aborted (preempted, migrated, signalled): again. */
	}
}

/* Put away @obj, already validated as a slot of @s. */
static __attribute__((always_inline)) inline void
mag_free(struct kmem_cache *s, void *obj)
{
	long off = percpu_rseq_off;
	int cpu, ret;

	for (;;) {
		cpu = rseq_cpu_id(off);
		if (unlikely((unsigned int)cpu >= nr_cpu_ids)) {
			mag_free_slow(s, obj);
			return;
		}
		/*
		 * The CPU orders this push before a later pop on it; TSan
		 * cannot see that, so say it (no code outside TSan).
		 */
		tsan_release(&s->cpu_slab[cpu].loaded);
		ret = rseq_mag_push(off, cpu, &s->cpu_slab[cpu].loaded, obj);
		if (likely(ret == RSEQ_OK))
			return;
		if (ret == RSEQ_SLOW) {
			mag_free_slow(s, obj);
			return;
		}
	}
}

#endif /* USLAB_MAGAZINE_H */
