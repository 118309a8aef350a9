// SPDX-License-Identifier: MIT
/*
 * slab.c - the slabs of one cache: layout, freelists, per-node lists.
 *
 * A slab is one page block of 2^order pages (page.c) holding `objects`
 * slots of `size` bytes, starting `colour * colour_off` bytes in so that
 * slabs of one cache do not all start on the same cache sets.  Slots are
 * handed out first in a layout order (address order, or the cache's
 * random sequence); in caches without a constructor or debug flags a new
 * slab is not written at all, and the slots it never handed out
 * (slab.fresh, the end of the layout order) are free without being
 * linked; when such a slab empties, every slot counts as fresh again
 * and its freelist is dropped.  Slots given back form a singly linked
 * list through a free pointer stored at `offset` in each slot: inside
 * the object (at its middle, as SLUB does) when nothing else needs the
 * object's bytes while it is free, after the object when the cache has
 * a constructor, is SLAB_TYPESAFE_BY_RCU, or is poisoned or red-zoned.
 * The constructor runs once per slot, when the slab is laid out;
 * objects are expected back in constructed state.
 *
 * Slab state (struct slab: cache, freelist, inuse, objects, s_mem and
 * the list it sits on) overlays the head page descriptor of its block,
 * as the kernel's struct slab overlays struct page; internal.h checks at
 * compile time that page.c's fields keep their offsets.  Per cache and
 * node, a struct kmem_cache_node keeps three lists:
 *
 *   partial  0 < inuse < objects    allocation takes from the head
 *   full     inuse == objects
 *   free     inuse == 0             kept for reuse; the reaper releases
 *                                   those that sat unused for a whole
 *                                   interval beyond min_partial, shrink
 *                                   all of them (a grace period, so
 *                                   that a burst of frees costs no
 *                                   madvise() and no page faults)
 *
 * Locking: kmem_cache_node.lock guards the three lists, their counters,
 * and the freelist/inuse of every slab on them.  A new slab is laid out
 * (and its constructors run) with no lock held, then published under the
 * node lock.  Page blocks are returned to page.c after the node lock is
 * dropped.  Debug checks (debug.c) run under the node lock so that two
 * racing frees of one object are caught, not both accepted.
 * slab_fork_prepare() holds every node lock of a cache across fork().
 *
 * This is the slow path under the per-CPU magazines (magazine.c), which
 * move objects in and out in batches (slab_alloc_bulk, slab_free_many);
 * debug caches have no magazines and come here for every object.
 * new_slab() and discard_slab() are the slow parts of this layer.
 *
 * Hardening (Kconfig, on by default): with CONFIG_SLAB_FREELIST_HARDENED
 * a free pointer is stored encoded (get/set_freepointer(), internal.h),
 * and each one taken off a freelist is checked to decode to a slot of
 * its slab (or NULL); one that does not is reported (debug.c) and its
 * slab is taken out of use, marked corrupt and left on the full list
 * with every object counted in use, so nothing follows the pointer and
 * a free into that slab is dropped.  With CONFIG_SLAB_FREELIST_RANDOM a
 * new slab's layout order (its fresh slots, or its first freelist) is
 * the cache's random permutation of slots (random_seq), from a random
 * place in it, as the kernel's shuffle_freelist() does.
 *
 * uslab_cache_validate() walks every slab under its node lock
 * (slab_validate()): a broken freelist takes the slab out of use as a
 * corrupt hardened pointer does; debug.c checks each object's patterns.
 *
 * Under ASan or valgrind (sanitize.c, sanitize_on) every byte of a slab
 * is off limits but the objects in use: a new slab after it is laid
 * out; each slot is opened while this layer works on it, under the node
 * lock, and closed again (or, handed out under ASan, left open).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-bp.h>

#include "internal.h"

#define SLAB_MIN_OBJECTS 16

/* ---- Layout ---------------------------------------------------------- */

static unsigned int ilog2(unsigned long v)
{
	return (unsigned int)(63 - __builtin_clzl(v));
}

/* The inverse of odd @d modulo 2^64 (Newton: each step doubles the bits). */
static uint64_t odd_inverse(uint64_t d)
{
	uint64_t x = d; /* right to 3 bits: d * d == 1 mod 8 */
	int i;

	for (i = 0; i < 5; i++)
		x *= 2 - d * x;
	return x;
}

/* Smallest order whose tail waste is at most 1/@frac of the slab. */
static int slab_order(unsigned int size, unsigned int min_objects,
		      unsigned int frac)
{
	unsigned int order;

	for (order = 0; order <= MAX_SLAB_ORDER; order++) {
		unsigned long bytes = PAGE_SIZE << order;
		unsigned long n = bytes / size;

		if (n < min_objects)
			continue;
		if ((bytes - n * size) * frac <= bytes)
			return (int)order;
	}
	return -1;
}

static unsigned int calculate_order(unsigned int size)
{
	static const unsigned int fracs[] = { 32, 16, 8, 4 };
	unsigned int min_objects = SLAB_MIN_OBJECTS;
	unsigned int i;
	int order;

	if (min_objects > MAX_SLAB_SIZE / size)
		min_objects = (unsigned int)(MAX_SLAB_SIZE / size);
	for (i = 0; i < ARRAY_SIZE(fracs); i++) {
		order = slab_order(size, min_objects, fracs[i]);
		if (order >= 0)
			return (unsigned int)order;
	}
	return MAX_SLAB_ORDER;
}

/*
 * Work out slot size, free pointer offset, slab order and colouring from
 * s->object_size, s->align (as requested, 0 = none) and s->flags.
 */
int slab_calculate_sizes(struct kmem_cache *s)
{
	unsigned int align = MAX(s->align, MIN_OBJ_ALIGN);
	unsigned int size;
	bool fp_outside;

	if (s->flags & SLAB_HWCACHE_ALIGN) {
		unsigned int a = CACHE_LINE_SIZE;

		while (s->object_size <= a / 2 && a > MIN_OBJ_ALIGN)
			a /= 2;
		align = MAX(align, a);
	}

	/* Object plus word padding; the red zone follows the object. */
	size = ALIGN(s->object_size, (unsigned int)sizeof(void *));
	if (s->flags & SLAB_RED_ZONE)
		size += sizeof(void *);
	s->inuse = size;

	fp_outside = s->ctor || (s->flags & (SLAB_TYPESAFE_BY_RCU |
					     SLAB_POISON | SLAB_RED_ZONE));
	if (fp_outside) {
		s->offset = size;
		size += sizeof(void *);
	} else {
		s->offset = ALIGN_DOWN(s->object_size / 2,
				       (unsigned int)sizeof(void *));
	}
	if (s->flags & SLAB_STORE_USER) {
		s->track_off = size;
		size += 2 * (unsigned int)sizeof(struct debug_track);
	}
	size = ALIGN(size, align);

	s->align = align;
	s->size = size;
	s->order = calculate_order(size);
	/*
	 * slab.fresh counts slots in 16 bits; calculate_order() gives at
	 * most 512 (8-byte slots, one page), the bound is for safety.
	 */
	s->objects = (unsigned int)MIN(slab_bytes(s) / size, UINT16_MAX);
	s->colour_off = MAX(CACHE_LINE_SIZE, align);
	s->colours = (unsigned int)((slab_bytes(s) -
				     (unsigned long)s->objects * size) /
				    s->colour_off) +
		     1;
	s->reciprocal_size = (1ULL << RECIPROCAL_SHIFT) / size + 1;
	s->size_shift = (unsigned int)__builtin_ctz(size);
	s->size_inv = odd_inverse(size >> s->size_shift);
	s->min_partial = MIN(MAX(ilog2(size) / 2, 5u), 10u);
	return 0;
}

/*
 * CONFIG_SLAB_FREELIST_RANDOM: the byte offsets of @s's slots in a random
 * order (Fisher-Yates), which every new slab follows from a random start.
 */
static int slab_init_random_seq(struct kmem_cache *s)
{
	unsigned int i, j, tmp, *seq;
	uint64_t x;

	seq = malloc(s->objects * sizeof(*seq));
	if (!seq)
		return -1;
	uslab_getrandom(&x, sizeof(x));
	for (i = 0; i < s->objects; i++)
		seq[i] = i;
	for (i = s->objects - 1; i > 0; i--) {
		/* A splitmix64 step per swap: unbiased enough for i < 2^32. */
		x += 0x9E3779B97F4A7C15ULL;
		j = (unsigned int)(((x ^ (x >> 31)) >> 16) % (i + 1));
		tmp = seq[i];
		seq[i] = seq[j];
		seq[j] = tmp;
	}
	for (i = 0; i < s->objects; i++)
		seq[i] *= s->size;
	s->random_seq = seq;
	return 0;
}

/*
 * The slab layer's per-cache state: the hardening's secret and random
 * sequence (from the process's key stream, util.c: no system call per
 * cache), then one struct kmem_cache_node per node.
 */
int slab_cache_init_nodes(struct kmem_cache *s, int nr_nodes)
{
	int i;

	/* Never 0, which would leave the free pointers in the clear. */
	while (IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED) && !s->random)
		uslab_getrandom(&s->random, sizeof(s->random));
	if (IS_ENABLED(CONFIG_SLAB_FREELIST_RANDOM) &&
	    slab_init_random_seq(s)) {
		errno = ENOMEM;
		return -1;
	}

	/* The event counters: a row of whole cache lines per CPU. */
	s->ev_row_bytes = (unsigned int)ALIGN(
		(size_t)nr_nodes * sizeof(struct node_events), CACHE_LINE_SIZE);
	s->ev_rows = aligned_alloc(CACHE_LINE_SIZE,
				   (size_t)nr_cpu_ids * s->ev_row_bytes);
	if (!s->ev_rows) {
		slab_cache_free_nodes(s);
		errno = ENOMEM;
		return -1;
	}
	memset(s->ev_rows, 0, (size_t)nr_cpu_ids * s->ev_row_bytes);
	for (i = 0; i < nr_nodes; i++) {
		struct kmem_cache_node *n;

		n = aligned_alloc(CACHE_LINE_SIZE, sizeof(*n));
		if (!n) {
			slab_cache_free_nodes(s);
			errno = ENOMEM;
			return -1;
		}
		memset(n, 0, sizeof(*n));
		mutex_init_adaptive(&n->lock);
		INIT_LIST_HEAD(&n->partial);
		INIT_LIST_HEAD(&n->full);
		INIT_LIST_HEAD(&n->free);
		s->node[i] = n;
		s->nr_nodes = (unsigned int)i + 1;
	}
	return 0;
}

void slab_cache_free_nodes(struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_nodes; i++) {
		pthread_mutex_destroy(&s->node[i]->lock);
		free(s->node[i]);
		s->node[i] = NULL;
	}
	s->nr_nodes = 0;
	free(s->ev_rows);
	s->ev_rows = NULL;
	free(s->random_seq);
	s->random_seq = NULL;
}

/* ---- List helpers (node lock held) ----------------------------------- */

#ifdef CONFIG_DEBUG_CHECKS_EXPENSIVE
/*
 * CONFIG_DEBUG_CHECKS_EXPENSIVE: @slab's free list has exactly its free
 * objects, each a slot of the slab.
 */
static bool slab_freelist_ok(const struct slab *slab)
{
	struct kmem_cache *s = slab->cache;
	unsigned long nr = 0;
	bool ok = true;
	char *obj;

	if (unlikely(sanitize_on))
		sanitize_walk_begin(s, slab);
	for (obj = slab->freelist; obj; obj = get_freepointer(s, obj)) {
		unsigned long off = (unsigned long)(obj - slab->s_mem);

		if (obj < slab->s_mem || off % s->size ||
		    off / s->size >= slab->objects || ++nr > slab->objects) {
			ok = false;
			break;
		}
	}
	if (unlikely(sanitize_on))
		sanitize_walk_end(s, slab);
	return ok && nr == slab->objects - slab->fresh - slab->inuse;
}

/* The same: @n's list counts are its lists' lengths. */
static bool slab_node_counts_ok(const struct kmem_cache_node *n)
{
	unsigned long partial = 0, full = 0, free_slabs = 0;
	const struct list_head *p;

	for (p = n->partial.next; p != &n->partial; p = p->next)
		partial++;
	for (p = n->full.next; p != &n->full; p = p->next)
		full++;
	for (p = n->free.next; p != &n->free; p = p->next)
		free_slabs++;
	return partial == n->nr_partial && full == n->nr_full &&
	       free_slabs == n->nr_free;
}
#endif

static void slab_list_move_locked(struct kmem_cache_node *n, struct slab *slab,
				  enum slab_list to)
{
	static const size_t counter[] = {
		[SL_PARTIAL] = offsetof(struct kmem_cache_node, nr_partial),
		[SL_FULL] = offsetof(struct kmem_cache_node, nr_full),
		[SL_FREE] = offsetof(struct kmem_cache_node, nr_free),
	};
	struct list_head *head = to == SL_PARTIAL ? &n->partial :
				 to == SL_FULL	  ? &n->full :
						    &n->free;

	lock_assert_held(&n->lock);
	uslab_assert_expensive(slab_freelist_ok(slab));
	if (slab->slab_list != SL_NONE) {
		list_del(&slab->list);
		(*(unsigned long *)((char *)n + counter[slab->slab_list]))--;
		n->free_min = MIN(n->free_min, n->nr_free);
	}
	slab->slab_list = (uint8_t)to;
	if (to == SL_NONE)
		return;
	list_add(&slab->list, head);
	(*(unsigned long *)((char *)n + counter[to]))++;
}

/*
 * CONFIG_SLAB_FREELIST_HARDENED: is @fp, a decoded free pointer of
 * @slab, NULL or the start of one of its slots?  obj_slot_index() sends
 * every other address (between slots, past the slab, or below s_mem and
 * wrapped) beyond any slot index, with one multiply.
 */
static inline bool slab_fp_valid(const struct kmem_cache *s,
				 const struct slab *slab, const char *fp)
{
	if (!fp)
		return true;
	return obj_slot_index(s, (unsigned long)(fp - slab->s_mem)) <
	       slab->objects;
}

/*
 * The free pointer in @obj, taken off @slab's freelist, decoded to @fp,
 * which is not one of the slab's slots: report it and take the slab out
 * of use.  Its free objects are lost (counted in use, so the slab stays
 * on the full list and is never released or laid out again); a later
 * free into it is dropped (slab_free_locked()).
 */
static __cold void slab_corrupt_locked(struct kmem_cache *s,
				       struct kmem_cache_node *n,
				       struct slab *slab, void *obj, void *fp)
{
	lock_assert_held(&n->lock);
	debug_freelist_corrupt(s, slab, obj, fp);
	slab->corrupt = 1;
	slab->freelist = NULL;
	slab->fresh = 0;
	n->active_objects += slab->objects - slab->inuse - 1;
	slab->inuse = slab->objects - 1; /* the caller's object is the last */
}

/* Slot number @k of @slab's layout order. */
static inline char *slab_layout_slot(const struct kmem_cache *s,
				     const struct slab *slab, unsigned int k)
{
	if (s->random_seq) {
		k += slab->fresh_start;
		if (k >= slab->objects)
			k -= slab->objects;
		return slab->s_mem + s->random_seq[k];
	}
	return slab->s_mem + (unsigned long)k * s->size;
}

/*
 * Pop one object from @slab, which must have a free one: off the
 * freelist (objects given back), else the next slot never handed out,
 * whose memory nothing has touched yet.
 */
static void *slab_take_object_locked(struct kmem_cache *s,
				     struct kmem_cache_node *n,
				     struct slab *slab, void *caller)
{
	void *obj = slab->freelist, *next;

	lock_assert_held(&n->lock);
	uslab_assert(slab->inuse < slab->objects);
	if (!obj) {
		uslab_assert(slab->fresh > 0);
		obj = slab_layout_slot(s, slab, slab->objects - slab->fresh--);
		if (unlikely(sanitize_on))
			sanitize_obj_open(s, obj);
		goto taken;
	}
	if (unlikely(sanitize_on))
		sanitize_obj_open(s, obj);
	next = get_freepointer(s, obj);
	if (IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED) &&
	    unlikely(!slab_fp_valid(s, slab, next)))
		slab_corrupt_locked(s, n, slab, obj, next);
	else
		slab->freelist = next;
	/*
	 * The next call reads @next's free pointer: start loading its line
	 * now (SLUB's prefetch_freepointer()).  A refill takes a magazine's
	 * worth in a row, and a random freelist (CONFIG_SLAB_FREELIST_RANDOM)
	 * leaves the hardware prefetcher no stride to follow.
	 */
	__builtin_prefetch((char *)next + s->offset);
taken:
	slab->inuse++;
	n->active_objects++;
	if (slab->inuse == slab->objects)
		slab_list_move_locked(n, slab, SL_FULL);
	else if (slab->slab_list != SL_PARTIAL)
		slab_list_move_locked(n, slab, SL_PARTIAL);
	if (unlikely(s->flags & SLAB_DEBUG_FLAGS))
		debug_alloc_check(s, slab, obj, caller);
	if (unlikely(sanitize_on))
		sanitize_obj_handout(s, obj);
	return obj;
}

/*
 * A random freelist (CONFIG_SLAB_FREELIST_RANDOM) visits @slab's slots in
 * an order the hardware prefetcher cannot follow, and each step of the
 * walk waits for the line the step before named.  When at least half of
 * the slots are on the freelist the walk will touch most of them: ask for
 * all their free-pointer lines at once, so the misses overlap instead of
 * queueing.  Fresh slots (slab.fresh) are not walked: nothing to fetch.
 */
static inline void slab_prefetch_slots(const struct kmem_cache *s,
				       const struct slab *slab)
{
	const char *slot = slab->s_mem + s->offset;
	unsigned int i;

	if (!IS_ENABLED(CONFIG_SLAB_FREELIST_RANDOM) || !s->random_seq ||
	    2 * (slab->objects - slab->fresh - slab->inuse) < slab->objects)
		return;
	for (i = 0; i < slab->objects; i++, slot += s->size) {
		__builtin_prefetch(slot);
		/* GCC deletes a loop that only prefetches. */
		__asm__ volatile("" : : "r"(slot));
	}
}

/* A slab with a free object on @n, or NULL. */
static struct slab *slab_get_partial_locked(struct kmem_cache_node *n)
{
	lock_assert_held(&n->lock);
	if (!list_empty(&n->partial))
		return list_first_entry(&n->partial, struct slab, list);
	if (!list_empty(&n->free))
		return list_first_entry(&n->free, struct slab, list);
	return NULL;
}

/* ---- Slow paths: new and discarded slabs ------------------------------ */

/*
 * A cache whose new slabs are laid out lazily: nothing is written into
 * them, and their slots are handed out in layout order (slab.fresh),
 * each first touched by its user, as mimalloc does (SLUB writes every
 * free pointer at once): a refill from a new slab reads no memory, and
 * its pages are faulted in only as objects are used.  Not when a
 * constructor or the debug patterns must be in every slot beforehand.
 */
static inline bool slab_lays_out_lazily(const struct kmem_cache *s)
{
	return !s->ctor && !(s->flags & SLAB_DEBUG_FLAGS);
}

/*
 * Take a page block on @node and lay out a new slab in it: colour,
 * freelist (or none: slab_lays_out_lazily()), constructors, debug
 * patterns.  No lock is held; the slab is private to the caller until
 * slab_publish_locked().
 */
static struct slab *new_slab(struct kmem_cache *s, int node)
{
	struct page_desc *page = page_alloc(node, s->order);
	struct slab *slab = page_slab(page);
	unsigned int colour, i;
	char *obj, *prev = NULL;

	if (!page)
		return NULL;
	colour = __atomic_fetch_add(&s->colour_next, 1, __ATOMIC_RELAXED) %
		 s->colours;
	slab->s_mem = (char *)page_address(page) + colour * s->colour_off;
	slab->objects = s->objects;
	slab->inuse = 0;
	slab->slab_list = SL_NONE;
	slab->corrupt = 0;
	if (unlikely(sanitize_on))
		sanitize_slab_open(page_address(page), slab_bytes(s));

	/* Layout order: the random sequence from a random start, or
	 * address order. */
	slab->fresh_start = 0;
	if (s->random_seq)
		slab->fresh_start = (uint16_t)(uslab_random() % s->objects);
	slab->freelist = NULL;
	if (slab_lays_out_lazily(s)) {
		/* Nothing to write: slots are handed out in layout order. */
		slab->fresh = (uint16_t)s->objects;
	} else {
		slab->fresh = 0;
		for (i = 0; i < s->objects; i++, prev = obj) {
			obj = slab_layout_slot(s, slab, i);
			if (unlikely(s->flags & SLAB_DEBUG_FLAGS))
				debug_init_object(s, obj);
			if (s->ctor)
				s->ctor(obj);
			if (prev)
				set_freepointer(s, prev, obj);
			else
				slab->freelist = obj;
		}
		set_freepointer(s, prev, NULL);
	}
	if (unlikely(sanitize_on))
		sanitize_slab_close(page_address(page), slab_bytes(s));
	/*
	 * Readers of a view's cache without the node lock (the free fast
	 * paths' ownership check) only look at slabs whose objects they
	 * hold, so they were ordered after these stores by the node lock
	 * that handed the object out.
	 */
	for (i = 0; i < 1U << s->order; i++) {
		struct slab_view *v = page_view(page + i);

		v->mem_node = (unsigned long)slab->s_mem << VIEW_NODE_BITS |
			      (unsigned long)page[i].node;
		WRITE_ONCE(v->cache, s);
	}
	WRITE_ONCE(slab->cache, s);
	return slab;
}

static void slab_publish_locked(struct kmem_cache *s, struct kmem_cache_node *n,
				struct slab *slab)
{
	lock_assert_held(&n->lock);
	/* Relaxed store: uslab_cache_objects() reads it without the lock. */
	WRITE_ONCE(n->total_objects, n->total_objects + slab->objects);
	n->slabs_allocated++;
	slab_list_move_locked(n, slab, SL_PARTIAL);
	(void)s;
}

/*
 * Hand @slab's block back to page.c.  The views' cache goes first, then
 * the head's: from here on the free fast paths' lock-free ownership
 * check refuses the slab's addresses, and page.c never writes those
 * words.
 */
static void slab_release(struct slab *slab)
{
	struct page_desc *page = slab_page(slab);
	unsigned long i;

	for (i = 0; i < 1UL << page->order; i++)
		WRITE_ONCE(page_view(page + i)->cache, NULL);
	WRITE_ONCE(slab->cache, NULL);
	page_free(page);
}

static void slab_rcu_free(struct rcu_head *head)
{
	uslab_rcu_callback(head);
	slab_release(container_of(head, struct slab, rcu));
}

/* Give an empty slab, already off every list, back to page.c. */
static void discard_slab(struct kmem_cache *s, struct slab *slab)
{
	if (s->flags & SLAB_TYPESAFE_BY_RCU) {
		/*
		 * Readers under rcu_read_lock() may still look at objects
		 * of this slab: its memory keeps its type until they are
		 * done.  Objects themselves were reusable at once.
		 */
		uslab_call_rcu(&slab->rcu, slab_rcu_free);
		return;
	}
	slab_release(slab);
}

void slab_rcu_barrier(void)
{
	urcu_bp_barrier();
}

/* ---- Allocation ------------------------------------------------------- */

/* One object from @node's lists or a new slab on @node; NULL if none. */
static void *slab_alloc_on_node(struct kmem_cache *s, int node, void *caller)
{
	struct kmem_cache_node *n = s->node[node];
	struct slab *slab;
	void *obj;

	uslab_lock(&n->lock, RANK_SLAB_NODE);
	slab = slab_get_partial_locked(n);
	if (likely(slab)) {
		obj = slab_take_object_locked(s, n, slab, caller);
		uslab_unlock(&n->lock);
		return obj;
	}
	uslab_unlock(&n->lock);

	slab = new_slab(s, node);
	if (!slab)
		return NULL;
	uslab_lock(&n->lock, RANK_SLAB_NODE);
	slab_publish_locked(s, n, slab);
	obj = slab_take_object_locked(s, n, slab, caller);
	uslab_unlock(&n->lock);
	return obj;
}

/*
 * Allocate one object, preferring @node (a valid node).  Unless
 * __GFP_THISNODE, an exhausted node falls back to the other usable
 * nodes, nearest first.  NULL with errno ENOMEM when none has memory.
 */
void *slab_alloc(struct kmem_cache *s, gfp_t gfp, int node, void *caller)
{
	const int *order;
	int i, nr;
	void *obj;

	obj = slab_alloc_on_node(s, node, caller);
	if (likely(obj) || (gfp & __GFP_THISNODE))
		return obj;
	order = topology_fallback(node, &nr);
	for (i = 0; i < nr; i++) {
		if (order[i] == node)
			continue;
		obj = slab_alloc_on_node(s, order[i], caller);
		if (obj)
			return obj;
	}
	errno = ENOMEM;
	return NULL;
}

/*
 * Fill p[0..n) taking each node lock once per slab rather than once per
 * object.  With @refill (a magazine being filled, its slot locked), take
 * only what the existing slabs have: never lay out a new slab, whose
 * constructors must run with no lock held.  Returns how many were
 * allocated (n, fewer with @refill, or fewer on ENOMEM; the caller
 * undoes a partial result).
 */
static size_t slab_alloc_many(struct kmem_cache *s, gfp_t gfp, int node,
			      size_t n, void **p, void *caller, bool refill)
{
	struct kmem_cache_node *kn = s->node[node];
	struct slab *slab;
	size_t done = 0;

	while (done < n) {
		struct slab *last = NULL;

		uslab_lock(&kn->lock, RANK_SLAB_NODE);
		while (done < n && (slab = slab_get_partial_locked(kn))) {
			if (slab != last) {
				slab_prefetch_slots(s, slab);
				last = slab;
			}
			p[done++] =
				slab_take_object_locked(s, kn, slab, caller);
		}
		uslab_unlock(&kn->lock);
		if (done == n || refill)
			break;

		slab = new_slab(s, node);
		if (!slab) {
			/* Let the single-object path try other nodes. */
			p[done] = slab_alloc(s, gfp, node, caller);
			if (!p[done])
				break;
			done++;
			continue;
		}
		uslab_lock(&kn->lock, RANK_SLAB_NODE);
		slab_publish_locked(s, kn, slab);
		while (done < n && slab->inuse < slab->objects)
			p[done++] =
				slab_take_object_locked(s, kn, slab, caller);
		uslab_unlock(&kn->lock);
	}
	return done;
}

size_t slab_alloc_bulk(struct kmem_cache *s, gfp_t gfp, int node, size_t n,
		       void **p, void *caller)
{
	return slab_alloc_many(s, gfp, node, n, p, caller, false);
}

/* Up to @n free objects of @node's existing slabs, for a magazine. */
size_t slab_alloc_refill(struct kmem_cache *s, int node, size_t n, void **p)
{
	return slab_alloc_many(s, 0, node, n, p, NULL, true);
}

/* ---- Free ------------------------------------------------------------- */

/*
 * Put @obj back on @slab, @n's lock held.  An empty slab stays on the
 * free list: the reaper releases it once it sat unused for a whole
 * interval (slab_reap_node), shrink at once.  Releasing it here would
 * cost an madvise() now and page faults on the next refill, for every
 * burst of frees.
 */
static void slab_free_locked(struct kmem_cache *s, struct kmem_cache_node *n,
			     struct slab *slab, void *obj)
{
	lock_assert_held(&n->lock);
	if (unlikely(slab->corrupt))
		return; /* out of use (slab_corrupt_locked()) */
	/* @obj heads the freelist, or the slab is empty: all free already. */
	if (unlikely(slab->freelist == obj || !slab->inuse)) {
		debug_bad_free(s, obj, "double free");
		return;
	}
	uslab_assert(n->active_objects > 0);
	set_freepointer(s, obj, slab->freelist);
	slab->freelist = obj;
	slab->inuse--;
	n->active_objects--;

	if (slab->inuse == 0) {
		/*
		 * Every slot is free: a lazily laid out slab forgets its
		 * freelist and hands its slots out in layout order again,
		 * so the refill that takes it reads none of their free
		 * pointers (a cache miss each, under the node lock, for a
		 * slab emptied by a burst of frees long evicted).
		 */
		if (slab_lays_out_lazily(s)) {
			slab->freelist = NULL;
			slab->fresh = slab->objects;
		}
		slab_list_move_locked(n, slab, SL_FREE);
	} else if (slab->slab_list == SL_FULL)
		slab_list_move_locked(n, slab, SL_PARTIAL);
}

static void discard_slabs(struct kmem_cache *s, struct list_head *gone)
{
	struct slab *slab, *tmp;

	list_for_each_entry_safe(slab, tmp, gone, list) {
		list_del(&slab->list);
		discard_slab(s, slab);
	}
}

/*
 * Return @obj (validated by the caller: a slot of @slab, which belongs to
 * @s) to its slab, with the debug checks.
 */
void slab_free(struct kmem_cache *s, struct slab *slab, void *obj, void *caller)
{
	struct kmem_cache_node *n = s->node[slab_nid(slab)];

	bool ok = true;

	uslab_lock(&n->lock, RANK_SLAB_NODE);
	if (unlikely(sanitize_on))
		sanitize_obj_open(s, obj);
	if (unlikely(s->flags & SLAB_DEBUG_FLAGS)) {
		/* Its freelist walk reads other free slots' free pointers. */
		if (unlikely(sanitize_on))
			sanitize_walk_begin(s, slab);
		ok = debug_free_check(s, slab, obj, caller);
		if (unlikely(sanitize_on))
			sanitize_walk_end(s, slab);
	}
	if (unlikely(!ok)) {
		if (unlikely(sanitize_on))
			sanitize_obj_close(s, obj);
		uslab_unlock(&n->lock);
		__atomic_fetch_add(&s->bad_frees, 1, __ATOMIC_RELAXED);
		return;
	}
	slab_free_locked(s, n, slab, obj);
	if (unlikely(sanitize_on))
		sanitize_obj_close(s, obj);
	uslab_unlock(&n->lock);
}

/* How far ahead slab_free_many() prefetches the free pointers it writes. */
#define SLAB_FREE_PREFETCH 8

/*
 * Return @nr objects of @s (already validated; a cache without debug
 * flags) to their slabs, taking each node lock once per run of objects
 * from that node: how magazines are flushed.
 */
void slab_free_many(struct kmem_cache *s, void **objs, size_t nr)
{
	struct kmem_cache_node *n = NULL;
	size_t i;

	for (i = 0; i < SLAB_FREE_PREFETCH && i < nr; i++)
		__builtin_prefetch((char *)objs[i] + s->offset, 1);

	for (i = 0; i < nr; i++) {
		struct slab *slab = virt_to_slab(objs[i]);
		struct kmem_cache_node *kn = s->node[slab_nid(slab)];

		/*
		 * A free pointer to write a few objects ahead: the
		 * addresses are all known, so several misses can be on
		 * their way at once (see slab_take_object_locked()).
		 */
		if (i + SLAB_FREE_PREFETCH < nr)
			__builtin_prefetch(
				(char *)objs[i + SLAB_FREE_PREFETCH] +
					s->offset,
				1);

		if (kn != n) {
			if (n)
				uslab_unlock(&n->lock);
			n = kn;
			uslab_lock(&n->lock, RANK_SLAB_NODE);
		}
		if (unlikely(sanitize_on))
			sanitize_obj_open(s, objs[i]);
		slab_free_locked(s, n, slab, objs[i]);
		if (unlikely(sanitize_on))
			sanitize_obj_close(s, objs[i]);
	}
	if (n)
		uslab_unlock(&n->lock);
}

/* Take up to @max empty slabs of @n off its lists, coldest first. */
static void slab_take_free_locked(struct kmem_cache_node *n, unsigned long max,
				  struct list_head *gone)
{
	struct slab *slab;

	lock_assert_held(&n->lock);
	uslab_assert_expensive(slab_node_counts_ok(n));
	while (max-- && !list_empty(&n->free)) {
		slab = list_last_entry(&n->free, struct slab, list);
		slab_list_move_locked(n, slab, SL_NONE);
		WRITE_ONCE(n->total_objects, n->total_objects - slab->objects);
		n->slabs_released++;
		list_add(&slab->list, gone);
	}
}

/* Release every empty slab of @s on @node. */
void slab_shrink_node(struct kmem_cache *s, int node)
{
	struct kmem_cache_node *n = s->node[node];
	struct list_head gone;

	INIT_LIST_HEAD(&gone);
	uslab_lock(&n->lock, RANK_SLAB_NODE);
	slab_take_free_locked(n, ~0UL, &gone);
	n->free_min = 0;
	uslab_unlock(&n->lock);
	discard_slabs(s, &gone);
}

/*
 * Release the empty slabs that no allocation needed since the last reap
 * (the fewest that sat on the free list all interval), keeping
 * min_partial of them, then start a new interval.
 */
void slab_reap_node(struct kmem_cache *s, int node)
{
	struct kmem_cache_node *n = s->node[node];
	struct list_head gone;
	unsigned long keep = READ_ONCE(s->min_partial); /* a setter's */

	INIT_LIST_HEAD(&gone);
	uslab_lock(&n->lock, RANK_SLAB_NODE);
	if (n->free_min > keep)
		slab_take_free_locked(n, n->free_min - keep, &gone);
	n->free_min = n->nr_free;
	uslab_unlock(&n->lock);
	discard_slabs(s, &gone);
}

/* Release every empty slab of @s on every node. */
void slab_shrink(struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_nodes; i++)
		slab_shrink_node(s, (int)i);
}

/* ---- uslab_cache_validate() ------------------------------------------- */

/*
 * Take @slab, whose freelist cannot be trusted, out of use as a corrupt
 * hardened free pointer does (slab_corrupt_locked()): every object
 * counted in use, on the full list, never laid out again.
 */
static void slab_isolate_locked(struct kmem_cache_node *n, struct slab *slab)
{
	lock_assert_held(&n->lock);
	slab->corrupt = 1;
	slab->freelist = NULL;
	slab->fresh = 0;
	n->active_objects += slab->objects - slab->inuse;
	slab->inuse = slab->objects;
	slab_list_move_locked(n, slab, SL_FULL);
}

/*
 * One slab, @n's lock held: the freelist (each pointer a slot of the
 * slab, no slot twice, as many as the slab has free), then with debug
 * flags every slot's patterns.  @map is scratch, a bit per slot (set: free).
 * Returns the problems found.
 */
static int slab_validate_one(struct kmem_cache *s, struct kmem_cache_node *n,
			     struct slab *slab, unsigned long *map)
{
	const unsigned long bits = 8 * sizeof(unsigned long);
	unsigned int i, nr = 0;
	int errors = 0;
	char *obj, *prev = NULL;

	if (slab->corrupt)
		return 0; /* out of use since it was reported */
	memset(map, 0, (slab->objects + bits - 1) / bits * sizeof(*map));
	/* Slots never handed out are free; the freelist must not name one. */
	for (i = slab->objects - slab->fresh; i < slab->objects; i++) {
		unsigned long idx = obj_index(
			s, (unsigned long)(slab_layout_slot(s, slab, i) -
					   slab->s_mem));

		map[idx / bits] |= 1UL << (idx % bits);
		nr++;
	}
	for (obj = slab->freelist; obj;
	     prev = obj, obj = get_freepointer(s, obj)) {
		unsigned long idx;

		if (!slab_fp_valid(s, slab, obj)) {
			debug_slab_corrupt(s, slab, "Freechain corrupt", prev);
			slab_isolate_locked(n, slab);
			return 1;
		}
		idx = obj_index(s, (unsigned long)(obj - slab->s_mem));
		if (map[idx / bits] & (1UL << (idx % bits))) {
			debug_slab_corrupt(s, slab, "Freechain loops", obj);
			slab_isolate_locked(n, slab);
			return 1;
		}
		map[idx / bits] |= 1UL << (idx % bits);
		nr++;
	}
	if (nr != slab->objects - slab->inuse) {
		debug_slab_corrupt(s, slab, "Wrong number of free objects",
				   NULL);
		slab_isolate_locked(n, slab);
		return 1;
	}
	if (!(s->flags & SLAB_DEBUG_FLAGS))
		return 0;
	for (i = 0; i < slab->objects; i++) {
		obj = slab->s_mem + (unsigned long)i * s->size;
		if (!debug_validate_object(s, slab, obj,
					   map[i / bits] & (1UL << (i % bits))))
			errors++;
	}
	return errors;
}

/*
 * uslab_cache_validate(): every slab of @s, node by node under the node
 * lock.  Objects in per-CPU magazines count as taken from their slabs;
 * caches with debug flags, the only ones whose patterns are checked,
 * have no magazines.  Returns the problems found, or -1 (ENOMEM).
 */
int slab_validate(struct kmem_cache *s)
{
	static const size_t bits = 8 * sizeof(unsigned long);
	unsigned long *map =
		calloc((s->objects + bits - 1) / bits, sizeof(*map));
	struct list_head *lists[3];
	struct slab *slab, *tmp;
	unsigned int i, l;
	int errors = 0;

	if (!map)
		return -1;
	for (i = 0; i < s->nr_nodes; i++) {
		struct kmem_cache_node *n = s->node[i];

		lists[0] = &n->partial;
		lists[1] = &n->full;
		lists[2] = &n->free;
		uslab_lock(&n->lock, RANK_SLAB_NODE);
		for (l = 0; l < 3; l++) {
			list_for_each_entry_safe(slab, tmp, lists[l], list) {
				if (unlikely(sanitize_on))
					sanitize_walk_begin(s, slab);
				errors += slab_validate_one(s, n, slab, map);
				if (unlikely(sanitize_on))
					sanitize_walk_end(s, slab);
			}
		}
		uslab_unlock(&n->lock);
	}
	free(map);
	return errors;
}

/* Slabs and handed-out objects of @s over all nodes. */
void slab_count(struct kmem_cache *s, unsigned long *slabs,
		unsigned long *active)
{
	unsigned int i;

	*slabs = *active = 0;
	for (i = 0; i < s->nr_nodes; i++) {
		struct kmem_cache_node *n = s->node[i];

		uslab_lock(&n->lock, RANK_SLAB_NODE);
		*slabs += n->nr_partial + n->nr_full + n->nr_free;
		*active += n->active_objects;
		uslab_unlock(&n->lock);
	}
}

/*
 * USLAB_PASSTHROUGH (passthrough.c): @delta objects (+1 or -1) more in use
 * outside any slab, counted on node 0 as laid out and handed out, so the
 * statistics, slabinfo and kmem_cache_destroy()'s leak check see them.
 */
void slab_passthrough_count(struct kmem_cache *s, int delta)
{
	struct kmem_cache_node *n = s->node[0];

	uslab_lock(&n->lock, RANK_SLAB_NODE);
	n->active_objects += (unsigned long)(long)delta;
	WRITE_ONCE(n->total_objects,
		   n->total_objects + (unsigned long)(long)delta);
	uslab_unlock(&n->lock);
}

/* ---- fork() ------------------------------------------------------------ */

/*
 * cache.c's atfork handlers: hold every node lock of @s across fork(),
 * after the depot locks (level 3) and before page.c's (level 5).
 */
void slab_fork_prepare(struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_nodes; i++)
		uslab_lock_nested(&s->node[i]->lock, RANK_SLAB_NODE);
}

void slab_fork_parent(struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_nodes; i++)
		uslab_unlock(&s->node[i]->lock);
}

/* The child has one thread: re-initialise rather than unlock. */
void slab_fork_child(struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_nodes; i++)
		mutex_init_adaptive(&s->node[i]->lock);
}
