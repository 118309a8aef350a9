// SPDX-License-Identifier: MIT
/*
 * reclaim.c - memory reclaim: the process memory limit, the shrinker
 * registry and shrink_slab(), and the per-cache min_partial setting
 * (include/uslab/shrinker.h).
 *
 * The limit itself is page.c's budget: a bound on the pages handed out
 * as slabs, checked exactly (compare-and-swap) when a block is taken.
 * Here it is set, from USLAB_MEMORY_LIMIT at start-up (cache.c calls
 * reclaim_init()) or uslab_set_memory_limit().  A slab that does not
 * fit makes the allocation fail in the slab layer; cache.c's out-of-
 * memory path then reclaims, calling shrink_slab() between rounds of
 * giving back what every cache keeps (cache_reclaim()).
 *
 * shrink_slab() asks every registered shrinker, as the kernel's
 * do_shrink_slab() does: count_objects(), then scan_objects() in
 * batches, (count >> priority) * 4 / seeks objects in all (count / 2
 * for seeks 0), at least one batch.  A thread that is already inside
 * shrink_slab() (a shrinker that allocates) does not enter it again.
 *
 * Locking: shrinker_lock, a reader-writer lock, is outermost (level 0
 * in internal.h): shrink_slab() holds it for reading while it calls the
 * shrinkers, with no other uslab lock held, and the callbacks take
 * whatever they take (every uslab lock, through kmem_cache_free() and
 * kmem_cache_alloc()).  uslab_register_shrinker() and uslab_unregister_shrinker()
 * hold it for writing, so unregister waits for running callbacks.  The
 * list (shrinkers, each ->__next, ->__registered) is written only under
 * the write lock.  fork() takes it for writing first of all (cache.c's
 * handlers), so the child inherits no reader; a callback therefore must
 * not fork, nor register or unregister (it holds a read lock).
 * in_reclaim is per thread.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

static pthread_rwlock_t shrinker_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct shrinker *shrinkers; /* newest first */
static __thread bool in_reclaim; /* this thread is calling shrinkers */

/* ---- The memory limit ------------------------------------------------ */

/* At library start-up, after env_init(): USLAB_MEMORY_LIMIT. */
void reclaim_init(void)
{
	page_set_budget(uslab_env.memory_limit >> PAGE_SHIFT);
}

__api int uslab_set_memory_limit(size_t bytes)
{
	if (bytes && bytes < PAGE_SIZE) {
		uslab_report("uslab_set_memory_limit(%zu): below one page "
			     "(%lu bytes); 0 removes the limit",
			     bytes, PAGE_SIZE);
		errno = EINVAL;
		return -1;
	}
	if (uslab_ensure_init())
		return -1;
	page_set_budget(bytes >> PAGE_SHIFT);
	return 0;
}

__api size_t uslab_memory_limit(void)
{
	return page_get_budget() << PAGE_SHIFT;
}

__api size_t uslab_memory_used(void)
{
	return page_total_resident() << PAGE_SHIFT;
}

__api int uslab_cache_set_min_partial(struct kmem_cache *s, unsigned int min)
{
	if (!s || min > USLAB_MAX_MIN_PARTIAL) {
		if (!s)
			uslab_report("uslab_cache_set_min_partial: cache is "
				     "NULL");
		else
			uslab_report("uslab_cache_set_min_partial(%s, %u): "
				     "above %u",
				     s->name, min, USLAB_MAX_MIN_PARTIAL);
		errno = EINVAL;
		return -1;
	}
	/* Read by the reaper without a lock (slab_reap_node()). */
	WRITE_ONCE(s->min_partial, min);
	return 0;
}

/* ---- Shrinkers ------------------------------------------------------- */

__api int uslab_register_shrinker(struct shrinker *sh)
{
	if (!sh || !sh->count_objects || !sh->scan_objects || sh->batch < 0 ||
	    sh->seeks < 0) {
		uslab_report("uslab_register_shrinker: %s",
			     !sh ? "shrinker is NULL" :
			     !sh->count_objects || !sh->scan_objects ?
				   "a callback is NULL" :
				   "negative batch or seeks");
		errno = EINVAL;
		return -1;
	}
	pthread_rwlock_wrlock(&shrinker_lock);
	if (sh->__registered) {
		pthread_rwlock_unlock(&shrinker_lock);
		uslab_report("uslab_register_shrinker: already registered");
		errno = EBUSY;
		return -1;
	}
	sh->__next = shrinkers;
	sh->__registered = 1;
	/*
	 * Relaxed: shrink_slab() only peeks at the head to skip the lock
	 * when nothing is registered; the lock orders the list itself.
	 */
	__atomic_store_n(&shrinkers, sh, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&shrinker_lock);
	return 0;
}

__api void uslab_unregister_shrinker(struct shrinker *sh)
{
	struct shrinker **pp;
	bool found;

	if (!sh)
		return;
	pthread_rwlock_wrlock(&shrinker_lock);
	for (pp = &shrinkers; *pp && *pp != sh; pp = &(*pp)->__next)
		;
	found = *pp != NULL;
	if (found) {
		/* Relaxed: see shrink_slab()'s peek. */
		__atomic_store_n(pp, sh->__next, __ATOMIC_RELAXED);
		sh->__next = NULL;
		sh->__registered = 0;
	}
	pthread_rwlock_unlock(&shrinker_lock);
	if (!found)
		uslab_report("uslab_unregister_shrinker: not registered");
}

/* One shrinker's share of a pass at @priority; what it freed. */
static unsigned long do_shrink(struct shrinker *sh, struct shrink_control *sc,
			       int priority)
{
	unsigned long batch =
		sh->batch ? (unsigned long)sh->batch : SHRINK_BATCH;
	unsigned long freeable, total, freed = 0;

	sc->nr_to_scan = 0;
	sc->nr_scanned = 0;
	freeable = sh->count_objects(sh, sc);
	if (freeable == 0 || freeable == SHRINK_EMPTY)
		return 0;
	if (sh->seeks)
		total = (freeable >> priority) * 4 / (unsigned long)sh->seeks;
	else
		total = freeable / 2;
	total = MAX(total, MIN(batch, freeable));
	while (total) {
		unsigned long nr = MIN(batch, total), ret;

		sc->nr_to_scan = nr;
		sc->nr_scanned = nr;
		ret = sh->scan_objects(sh, sc);
		if (ret == SHRINK_STOP)
			break;
		freed += ret;
		/* At least one object per call, so that the loop ends. */
		total -= MIN(total, MAX(sc->nr_scanned, 1UL));
	}
	return freed;
}

/*
 * Ask every shrinker to free objects, for an allocation of @gfp on
 * @nid at @priority (SHRINK_DEF_PRIORITY down to 0: each lower one asks
 * twice as much).  Returns the objects the shrinkers say they freed, or
 * -1 when none was asked: none is registered, or this thread is
 * already in a shrinker.  No uslab lock may be held.
 */
long shrink_slab(gfp_t gfp, int nid, int priority)
{
	struct shrink_control sc = { .gfp_mask = gfp, .nid = nid };
	unsigned long freed = 0;
	struct shrinker *sh;

	if (in_reclaim || !__atomic_load_n(&shrinkers, __ATOMIC_RELAXED))
		return -1;
	in_reclaim = true;
	pthread_rwlock_rdlock(&shrinker_lock);
	for (sh = shrinkers; sh; sh = sh->__next)
		freed += do_shrink(sh, &sc, priority);
	pthread_rwlock_unlock(&shrinker_lock);
	in_reclaim = false;
	return (long)MIN(freed, (unsigned long)__LONG_MAX__);
}

/* fork(): first of all, so that no reader is inside in the child. */
void reclaim_fork_prepare(void)
{
	pthread_rwlock_wrlock(&shrinker_lock);
}

void reclaim_fork_parent(void)
{
	pthread_rwlock_unlock(&shrinker_lock);
}

void reclaim_fork_child(void)
{
	pthread_rwlock_init(&shrinker_lock, NULL);
}
