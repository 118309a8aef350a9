/* SPDX-License-Identifier: MIT */
/*
 * uslab: memory reclaim.  A process memory limit on the pages uslab's
 * slabs take, shrinkers that give memory back when it is spent (the
 * kernel's uslab_register_shrinker(), count_objects and scan_objects), and a
 * per-cache count of empty slabs kept for reuse (SLUB's min_partial).
 *
 * What the limit counts: the arena pages handed out as slabs, by every
 * cache on every node.  That includes slabs holding objects in use,
 * partial slabs, the empty slabs caches keep for reuse, the slabs
 * holding objects cached in per-CPU magazines and depots, and
 * SLAB_TYPESAFE_BY_RCU slabs waiting for a grace period.  It does not
 * include page descriptors (64 bytes per 4 KiB page of slab), the
 * magazines' own memory or uslab's other bookkeeping (from malloc()).
 * It is what uslab_memory_used() returns.
 *
 * When a cache needs a new slab and the slab does not fit under the
 * limit (or the arena is exhausted), uslab first gives back what every
 * cache keeps (magazines, empty slabs), then, for an allocation whose
 * gfp has __GFP_DIRECT_RECLAIM (GFP_KERNEL does), calls the registered
 * shrinkers at falling priorities, giving back what caches keep after
 * each pass that freed something, until the slab fits; only then does
 * the allocation fail with ENOMEM.  Every shrinker runs in the thread
 * that allocates, with no uslab lock held.
 */
#ifndef USLAB_SHRINKER_H
#define USLAB_SHRINKER_H

#include <stddef.h>
#include <uslab/gfp.h>
#include <uslab/slab.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a shrinker is asked to do (the kernel's struct shrink_control). */
struct shrink_control {
	gfp_t gfp_mask; /* of the allocation that needs memory */
	int nid; /* the node it wants memory on */
	/* scan_objects(): objects to scan; count_objects(): 0 */
	unsigned long nr_to_scan;
	/*
	 * Set to nr_to_scan before scan_objects(); a shrinker may lower
	 * it to say how many it actually looked at.
	 */
	unsigned long nr_scanned;
};

/* scan_objects(): nothing can be freed now, stop asking this pass. */
#define SHRINK_STOP (~0UL)
/* count_objects(): nothing to free at all. */
#define SHRINK_EMPTY (~0UL - 1)
/* Objects per scan_objects() call when ->batch is 0. */
#define SHRINK_BATCH 128
/* ->seeks for objects as costly to recreate as the kernel's default. */
#define DEFAULT_SEEKS 2

/*
 * Fill in the callbacks, batch, seeks and private_data, then register.
 * count_objects() returns how many objects could be freed (0 or
 * SHRINK_EMPTY: none); scan_objects() frees up to sc->nr_to_scan of
 * them and returns how many it freed, or SHRINK_STOP.  Each pass asks a
 * shrinker for (count >> priority) * 4 / seeks objects (count / 2 with
 * seeks 0), at least one batch, priority falling from 12 to 0.
 * Callbacks may free objects of any cache and may allocate (an
 * allocation that then needs reclaim does not call shrinkers again),
 * but must not register or unregister shrinkers, nor fork().
 */
struct shrinker {
	unsigned long (*count_objects)(struct shrinker *shrinker,
				       struct shrink_control *sc);
	unsigned long (*scan_objects)(struct shrinker *shrinker,
				      struct shrink_control *sc);
	long batch; /* objects per scan_objects() call; 0: SHRINK_BATCH */
	int seeks; /* cost to recreate an object; DEFAULT_SEEKS */
	void *private_data; /* the caller's */
	/* uslab's: zero before registering, then leave alone. */
	struct shrinker *__next;
	int __registered;
};

/*
 * 0, or -1 with errno EINVAL (a NULL shrinker or callback, a negative
 * batch or seeks) or EBUSY (already registered).
 */
int uslab_register_shrinker(struct shrinker *shrinker);
/*
 * Removes @shrinker; returns once no thread runs its callbacks.  A
 * shrinker that is not registered is reported and ignored.
 */
void uslab_unregister_shrinker(struct shrinker *shrinker);

/*
 * The limit on uslab_memory_used(), in bytes (rounded down to whole
 * 4 KiB pages); 0 removes it.  USLAB_MEMORY_LIMIT sets it at start-up.
 * Lowering it below what is in use frees nothing at once: allocations
 * that need a new slab reclaim first.  0, or -1 with errno EINVAL for a
 * limit below one page (other than 0).
 */
int uslab_set_memory_limit(size_t bytes);
size_t uslab_memory_limit(void); /* 0: no limit */
/* Bytes of arena pages handed out as slabs (see the top of this file). */
size_t uslab_memory_used(void);

/*
 * Empty slabs @s keeps per node for reuse when the reaper gives back
 * the rest (SLUB's min_partial; uslab's default is 5 to 9 by slot
 * size).  0 keeps none: every empty slab goes back to the OS one reap
 * interval after it emptied.  0, or -1 with errno EINVAL for a NULL
 * cache or more than USLAB_MAX_MIN_PARTIAL.
 */
#define USLAB_MAX_MIN_PARTIAL 1024u
int uslab_cache_set_min_partial(struct kmem_cache *s, unsigned int min);

#ifdef __cplusplus
}
#endif

#endif /* USLAB_SHRINKER_H */
