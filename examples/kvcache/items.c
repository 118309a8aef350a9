// SPDX-License-Identifier: MIT
/*
 * items.c - size classes, items, the memory limit, per-class LRU lists,
 * eviction and flush_all.
 *
 * Size classes.  Class i holds objects of kv_classes[i].size bytes in its
 * own kmem_cache ("kv_item_<size>").  Sizes grow from KV_MIN_CHUNK by the
 * factor -f (default 1.05), rounded up to 8 bytes, up to KV_TOP_CHUNK
 * (uslab's largest object, 256 KiB): 172 classes.  A factor too small
 * to reach the top within KV_MAX_CLASSES classes grows to the step the
 * remaining classes need (class_growth()).  Why 1.05 and not
 * memcached's 1.25: an item loses on average about (f - 1) / 2 of its
 * size to rounding up to its class, ~11% at 1.25 and ~2.5% at 1.05.  What
 * a class costs besides is what stays unused in its partially filled
 * slab, and there the two allocators differ: memcached hands each class
 * whole 1 MiB pages, so every class in use strands up to a megabyte,
 * which is why it keeps classes few; a uslab slab is sized like SLUB's
 * (16 objects or so, 4 KiB to 2 MiB), so a class in use strands at most
 * one small slab per node, and a class with no items costs a kmem_cache
 * and nothing else (magazines come with use).  Many classes are then
 * cheaper in memory than few; the factor stops at 1.05 so that the
 * classes fit in uslab's statistics export (256 caches) with room to
 * spare.
 *
 * The memory limit (-m) is uslab's (uslab_set_memory_limit()): the
 * pages of every slab of the process, items, hash table chunks and
 * connection buffers alike.  When a cache needs a slab and the limit is
 * spent, uslab calls kvcache's shrinker (below), which evicts from the
 * LRU tails of the classes whose slabs are emptiest until whole slabs
 * go back to the page allocator, whatever size is being stored; a store
 * into a full class whose tail is the cache's oldest evicts that one
 * item instead, as memcached does (class_make_room()).  Item
 * classes keep no empty slab (min_partial 0), so memory that deletes
 * free goes back to the OS at the reaper's pace.  mem_used counts the
 * slot bytes of allocated items, a statistic ("stats" slot_bytes).
 *
 * LRU lists are per class and per NUMA node (struct kv_lru), like the
 * kernel's per-node lruvecs: a worker's items go on its node's list, so
 * an eviction on a worker usually frees an object of its own node, which
 * the very next allocation on that CPU gets back from uslab's magazine.
 * New items go to the head.  A hit does not move the item (that would
 * take the LRU lock on every get); it sets ITEM_ACTIVE under the stripe
 * lock, and the evictor gives an active tail item a second chance by
 * moving it to the head (CLOCK), which approximates LRU at no cost on
 * the read path.  Expired and flushed items are dropped lazily: when a
 * lookup finds them, or when the evictor meets them at the tail.
 *
 * flush_all: every item gets a unique, increasing CAS when linked; a
 * flush records the last CAS handed out in flush_cas, and an item with a
 * CAS at or below it is dead.  A delayed flush waits in flush_at until
 * the clock tick reaches it.  Under -C (no CAS) flush_all goes by time
 * instead, as memcached's does without CAS (its oldest_live): a flush
 * records its second in flush_live, and once the clock reaches it an
 * item whose last store or hit (item->time) is not after it is dead, so
 * an item stored in the same second as the flush is lost.
 *
 * Locking: see kvcache.h.  The stripe lock protects an item's exptime and
 * state; kv_lru.lock its list links and the list's counters; flush_lock
 * the pending flush.  The slot byte count (mem_used), cas_id, flush_cas,
 * flush_live and each class's held slots are atomics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include <uslab/shrinker.h>
#include <uslab/stats.h>

#include "kvcache.h"

struct kv_class kv_classes[KV_MAX_CLASSES];
unsigned int kv_nclasses;
int kv_nr_nodes = 1;
uint64_t kv_total_items;

static unsigned long mem_used; /* slot bytes charged against -m */
static uint64_t cas_id; /* last CAS handed out */
static uint64_t flush_cas; /* items with cas <= flush_cas are dead */
static uint32_t flush_at; /* pending delayed flush, relative time */
static uint32_t flush_live; /* -C: items with time <= it are dead, 0: none */
/*
 * The oldest last access of the classes' tail items and its class, -1
 * if none (class_make_room()); atomics, written by the clock.
 */
static uint32_t oldest_tail;
static int oldest_cls = -1;
static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;

static struct shrinker kv_shrinker; /* the shrinker section below */
/*
 * The class this thread is allocating a slot of, -1 if none: uslab runs
 * the shrinker in the allocating thread, which evicts from this class
 * last, so that a class that needs a slab takes it from the others.
 */
static __thread int alloc_cls = -1;

/*
 * Chunk classes for a small -m (item_layout_small()): from the top
 * class down, the largest class of each smaller slab size.  Set once by
 * items_init().
 */
static int chunk_classes[16];
static unsigned int nchunk_cls;

/* Tail items the evictor may look at before giving up. */
#define EVICT_SEARCH 5
/* Active tail items it may rotate to the head on one pass. */
#define EVICT_ROTATE 64

/* ---- Size classes ----------------------------------------------------- */

static int class_create(unsigned int id, unsigned int size)
{
	struct kv_class *c = &kv_classes[id];
	struct uslab_cache_info info;
	int n;

	c->size = size;
	snprintf(c->name, sizeof(c->name), "kv_item_%u", size);
	c->cache = kmem_cache_create(c->name, size, 0, 0, NULL);
	/* Empty slabs go back to the OS one reap interval after. */
	if (!c->cache || uslab_cache_set_min_partial(c->cache, 0) < 0)
		return -1;
	if (uslab_cache_info(c->cache, &info) == 0) {
		c->perslab = info.objs_per_slab;
		c->slab_size = info.slab_size;
	}
	c->lru = aligned_alloc(64, sizeof(*c->lru) * (size_t)kv_nr_nodes);
	if (!c->lru)
		return -1;
	memset(c->lru, 0, sizeof(*c->lru) * (size_t)kv_nr_nodes);
	for (n = 0; n < kv_nr_nodes; n++)
		pthread_mutex_init(&c->lru[n].lock, NULL);
	return 0;
}

/*
 * The growth from @size to the next class: @factor, or more when the
 * classes left (@left, the top one included) could not otherwise reach
 * KV_TOP_CHUNK.  So the table always ends at KV_TOP_CHUNK with every
 * class below it in use, whatever -f says: a factor too small for
 * KV_MAX_CLASSES classes grows the step to the geometric mean of what
 * is left, (KV_TOP_CHUNK / size)^(1 / left).
 */
static double class_growth(double size, double factor, unsigned int left)
{
	double need = pow(KV_TOP_CHUNK / size, 1.0 / left);

	return factor > need ? factor : need;
}

int items_init(void)
{
	double size = KV_MIN_CHUNK;
	unsigned int prev = 0, i;

	/* Starts uslab if need be (USLAB_FAKE_NUMA is read then). */
	kv_nr_nodes = uslab_nr_nodes();
	if (kv_nr_nodes > 64) /* item->node has 6 bits */
		kv_nr_nodes = 64;
	/* -m bounds every uslab slab of the process (shrinker.h). */
	if (uslab_set_memory_limit(settings.maxbytes) < 0)
		return -1;
	for (;;) {
		unsigned int sz = size >= KV_TOP_CHUNK ?
					  KV_TOP_CHUNK :
					  ((unsigned int)size + 7) & ~7u;

		if (sz <= prev)
			sz = prev + 8;
		if (sz >= KV_TOP_CHUNK || kv_nclasses == KV_MAX_CLASSES - 1)
			sz = KV_TOP_CHUNK;
		if (class_create(kv_nclasses, sz) < 0) {
			kv_nclasses++;
			return -1;
		}
		kv_nclasses++;
		prev = sz;
		if (sz == KV_TOP_CHUNK)
			break;
		size *= class_growth(size, settings.factor,
				     KV_MAX_CLASSES - kv_nclasses);
	}
	for (i = kv_nclasses;
	     i-- > 0 &&
	     nchunk_cls < sizeof(chunk_classes) / sizeof(chunk_classes[0]);)
		if (!nchunk_cls ||
		    kv_classes[i].slab_size <
			    kv_classes[chunk_classes[nchunk_cls - 1]].slab_size)
			chunk_classes[nchunk_cls++] = (int)i;
	return uslab_register_shrinker(&kv_shrinker);
}

void items_destroy(void)
{
	unsigned int i;
	int n;

	if (kv_shrinker.__registered)
		uslab_unregister_shrinker(&kv_shrinker);
	for (i = 0; i < kv_nclasses; i++) {
		struct kv_class *c = &kv_classes[i];

		kmem_cache_destroy(c->cache);
		c->cache = NULL;
		if (c->lru) {
			for (n = 0; n < kv_nr_nodes; n++)
				pthread_mutex_destroy(&c->lru[n].lock);
			free(c->lru);
			c->lru = NULL;
		}
	}
	kv_nclasses = 0;
	nchunk_cls = 0;
}

/* The smallest class holding @size bytes, or -1 above the top class. */
static int kv_class_of(size_t size)
{
	unsigned int lo = 0, hi = kv_nclasses;

	if (size > KV_TOP_CHUNK)
		return -1;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (kv_classes[mid].size < size)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)lo;
}

/* ---- Layout ----------------------------------------------------------- */

struct item_layout {
	size_t total; /* header, key, flags, value (for -I) */
	unsigned long charge; /* slot bytes charged against -m */
	int clsid; /* class of the head */
	uint32_t nchunks; /* 0: the value is in the head */
	uint32_t head_cap; /* value bytes in the head */
	uint32_t last_len; /* value bytes in the last chunk */
	int last_cls;
};

/*
 * The layout of an item in the classes up to @chunk_cls: one object of
 * its class if it fits one of @chunk_cls, else a head of @chunk_cls, its
 * chunks of @chunk_cls and a last one of the smallest class that holds
 * the rest.  false if that takes more than KV_MAX_SEGS segments.
 */
static bool item_layout_in(unsigned int nkey, bool cflags, uint32_t nbytes,
			   int chunk_cls, struct item_layout *l)
{
	size_t hdr = KV_ITEM_HDR + nkey + (cflags ? 4 : 0);
	size_t chunk = kv_classes[chunk_cls].size;
	uint32_t n;

	l->total = hdr + nbytes;
	if (l->total > settings.item_max)
		return true; /* too large: nothing else is needed */
	if (l->total <= chunk) {
		l->clsid = kv_class_of(l->total);
		l->charge = kv_classes[l->clsid].size;
		l->nchunks = 0;
		l->head_cap = nbytes;
		return true;
	}
	/* Chunked: n chunk pointers in the head, n chunks after it. */
	hdr += sizeof(uint32_t);
	for (n = 1;; n++) {
		size_t cap;

		if (hdr + n * sizeof(void *) >= chunk || n + 1 > KV_MAX_SEGS)
			return false;
		cap = chunk - hdr - n * sizeof(void *);
		if (cap + (size_t)n * chunk >= nbytes)
			break;
	}
	l->nchunks = n;
	l->head_cap = (uint32_t)(chunk - hdr - n * sizeof(void *));
	l->last_len = (uint32_t)(nbytes - l->head_cap - (n - 1) * chunk);
	l->last_cls = kv_class_of(l->last_len);
	l->clsid = chunk_cls;
	l->charge = (unsigned long)n * chunk + kv_classes[l->last_cls].size;
	return true;
}

/* The layout of a new item, in the usual classes (up to KV_TOP_CHUNK). */
static void item_layout(unsigned int nkey, bool cflags, uint32_t nbytes,
			struct item_layout *l)
{
	item_layout_in(nkey, cflags, nbytes, (int)kv_nclasses - 1, l);
}

/* The layout of a stored item: a chunked one's head class is its chunks'. */
static void item_layout_of(const struct item *it, struct item_layout *l)
{
	item_layout_in(it->nkey, it->cflags, it->nbytes,
		       it->chunked ? it->clsid : (int)kv_nclasses - 1, l);
}

/*
 * Bytes of new slabs storing an item may take at worst: each class it
 * uses may have to lay out slabs for all its objects of the item.
 */
static unsigned long item_slab_need(const struct item_layout *l)
{
	const struct kv_class *c = &kv_classes[l->clsid];
	unsigned long per = c->perslab ? c->perslab : 1;

	if (!l->nchunks)
		return c->slab_size;
	/* The head and every chunk but the last are of the top class. */
	return (l->nchunks + per - 1) / per * c->slab_size +
	       kv_classes[l->last_cls].slab_size;
}

/*
 * A layout for an item whose usual one needs slabs of more than half of
 * -m (a 66 KB item's class has 2 MiB slabs, too much for -m 3): chunks
 * of the largest class whose slabs are small enough, as memcached
 * chunks items larger than its slab_chunk_max.  false if none does.
 */
static bool item_layout_small(unsigned int nkey, bool cflags, uint32_t nbytes,
			      struct item_layout *l)
{
	unsigned int i;

	for (i = 1; i < nchunk_cls; i++)
		if (item_layout_in(nkey, cflags, nbytes, chunk_classes[i], l) &&
		    item_slab_need(l) <= kv_maxbytes() / 2)
			return true;
	return false;
}

/* Where the chunk count and pointers of a chunked item live. */
static char *item_chunk_table(struct item *it)
{
	return it->data + it->nkey + (it->cflags ? 4 : 0);
}

static void *item_chunk(struct item *it, uint32_t i)
{
	void *p;

	memcpy(&p, item_chunk_table(it) + 4 + i * sizeof(void *), sizeof(p));
	return p;
}

/* Header + key + flags + value: what "bytes" counts, as memcached's does. */
static size_t item_total(const struct item *it)
{
	return KV_ITEM_HDR + it->nkey + (it->cflags ? 4 : 0) + it->nbytes;
}

/* The value as segments; returns how many (at most KV_MAX_SEGS). */
unsigned int item_segs(struct item *it, struct kv_seg *segs)
{
	struct item_layout l;
	uint32_t i;

	if (!it->chunked) {
		segs[0].p = item_value(it);
		segs[0].len = it->nbytes;
		return 1;
	}
	item_layout_of(it, &l);
	segs[0].p = item_chunk_table(it) + 4 + l.nchunks * sizeof(void *);
	segs[0].len = l.head_cap;
	for (i = 0; i < l.nchunks; i++) {
		segs[i + 1].p = item_chunk(it, i);
		segs[i + 1].len = i + 1 < l.nchunks ? kv_classes[l.clsid].size :
						      l.last_len;
	}
	return l.nchunks + 1;
}

/* ---- Slot bytes ------------------------------------------------------- */

/*
 * mem_used counts the slot bytes of allocated items ("stats" slot_bytes);
 * -m itself is uslab's memory limit.  Relaxed: a statistic.
 */
static void mem_charge(unsigned long bytes)
{
	__atomic_fetch_add(&mem_used, bytes, __ATOMIC_RELAXED);
}

static void mem_uncharge(unsigned long bytes)
{
	__atomic_fetch_sub(&mem_used, bytes, __ATOMIC_RELAXED);
}

unsigned long kv_mem_used(void)
{
	return __atomic_load_n(&mem_used, __ATOMIC_RELAXED);
}

/* ---- Freeing ---------------------------------------------------------- */

/* Give a slot of class @clsid back (class_alloc() took it). */
static void class_free(int clsid, void *p)
{
	struct kv_class *c = &kv_classes[clsid];

	kmem_cache_free(c->cache, p);
	/* Relaxed: a count read as a hint (class_make_room()). */
	__atomic_fetch_sub(&c->held, 1, __ATOMIC_RELAXED);
}

static void item_free(struct item *it)
{
	struct item_layout l;
	uint32_t i;

	item_layout_of(it, &l);
	if (it->chunked)
		for (i = 0; i < l.nchunks; i++)
			class_free(i + 1 < l.nchunks ? l.clsid : l.last_cls,
				   item_chunk(it, i));
	class_free(it->clsid, it);
	mem_uncharge(l.charge);
}

void item_put(struct item *it)
{
	/*
	 * Release: this holder's reads of the item come before the free
	 * that the last put makes; acquire (on the last one): every other
	 * holder's reads come before our free.
	 */
	if (__atomic_sub_fetch(&it->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		item_free(it);
}

/* ---- LRU -------------------------------------------------------------- */

static struct kv_lru *item_lru(const struct item *it)
{
	return &kv_classes[it->clsid].lru[it->node];
}

static void lru_add_locked(struct kv_lru *l, struct item *it)
{
	it->prev = NULL;
	it->next = l->head;
	if (l->head)
		l->head->prev = it;
	l->head = it;
	if (!l->tail)
		l->tail = it;
}

static void lru_del_locked(struct kv_lru *l, struct item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		l->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		l->tail = it->prev;
	it->prev = it->next = NULL;
}

/* Stripe and LRU locks held: take @it out of both; the caller puts it. */
static void item_unlink_locked(struct kv_lru *l, struct item *it, uint64_t hv)
{
	assoc_delete(it, hv);
	it->state &= (uint8_t)~ITEM_LINKED;
	lru_del_locked(l, it);
	l->nitems--;
	l->bytes -= item_total(it);
}

/*
 * Is @it flushed?  By its CAS, or under -C by the second of its last
 * store or hit, which item_link() and item_hit_time() write under the
 * stripe lock that the caller holds.  A hit never revives a flushed
 * item: every lookup asks this before it counts a hit.
 */
static bool item_flushed(const struct item *it, uint32_t now)
{
	uint32_t live;

	/*
	 * Relaxed: flush_cas and flush_live are one word each and publish
	 * nothing else.  A command that follows a flush_all's "OK" on
	 * another connection reaches these loads through socket system
	 * calls, which order them after the stores.
	 */
	if (!settings.cas_disabled)
		return it->cas <= __atomic_load_n(&flush_cas, __ATOMIC_RELAXED);
	live = __atomic_load_n(&flush_live, __ATOMIC_RELAXED);
	return live && live <= now && it->time <= live;
}

static bool item_dead(const struct item *it, uint32_t now, bool *flushed)
{
	if (item_flushed(it, now)) {
		*flushed = true;
		return true;
	}
	*flushed = false;
	return it->exptime && it->exptime <= now;
}

/*
 * Unlink the tail item of @l if it is expired or flushed and nobody else
 * holds it, counting it reclaimed; the caller puts it.  What memcached
 * does on every allocation: the object the put frees goes to this CPU's
 * magazine, where the allocation that follows finds it, so dead items
 * make room before live ones are evicted and before new slabs are
 * taken.  May be called with a stripe lock held: it only tries the
 * tail's (which fails if it is the caller's own).
 */
static struct item *lru_take_dead_tail(struct kv_lru *l, uint32_t now)
{
	struct item *it, *victim = NULL;
	bool flushed;

	pthread_mutex_lock(&l->lock);
	it = l->tail;
	if (it) {
		uint64_t hv = kv_hash(item_key(it), it->nkey);

		if (assoc_trylock(hv)) {
			/* Acquire: as in lru_pull_tail(). */
			if (__atomic_load_n(&it->refcount, __ATOMIC_ACQUIRE) ==
				    1 &&
			    item_dead(it, now, &flushed)) {
				l->reclaimed++;
				if (!(it->state & ITEM_FETCHED))
					l->expired_unfetched++;
				item_unlink_locked(l, it, hv);
				victim = it;
			}
			assoc_unlock(hv);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return victim;
}

/*
 * Free one item from the tail of @l: an expired or flushed one (reclaimed)
 * or the least recently used one (evicted) if its last access is at or
 * before @before (UINT32_MAX: whatever its age).  Skips items whose
 * stripe is locked (see the lock order) or that a connection still
 * sends.
 */
static unsigned long lru_pull_tail(struct kv_lru *l, uint32_t now,
				   uint32_t before)
{
	struct item *it, *victim = NULL;
	struct item_layout lay;
	int search = EVICT_SEARCH, rotate = EVICT_ROTATE;
	bool flushed, evicted = false;

	pthread_mutex_lock(&l->lock);
	it = l->tail;
	while (it && search > 0) {
		struct item *prev = it->prev;
		uint64_t hv = kv_hash(item_key(it), it->nkey);

		if (!assoc_trylock(hv)) {
			search--;
			it = prev;
			continue;
		}
		/*
		 * Acquire: pairs with the release of a connection's put, so
		 * that its last read of the item comes before our free.  No
		 * new reference can appear: they are taken under the stripe
		 * lock, which we hold.
		 */
		if (__atomic_load_n(&it->refcount, __ATOMIC_ACQUIRE) != 1) {
			l->tail_reflocked++;
			assoc_unlock(hv);
			search--;
			it = prev;
			continue;
		}
		if (item_dead(it, now, &flushed)) {
			l->reclaimed++;
			if (!(it->state & ITEM_FETCHED))
				l->expired_unfetched++;
		} else if ((it->state & ITEM_ACTIVE) && rotate > 0) {
			it->state &= (uint8_t)~ITEM_ACTIVE;
			lru_del_locked(l, it);
			lru_add_locked(l, it);
			assoc_unlock(hv);
			rotate--;
			it = prev;
			continue;
		} else if (settings.evictions_disabled) {
			/* -M: only the dead are reclaimed, as in memcached. */
			assoc_unlock(hv);
			search--;
			it = prev;
			continue;
		} else if (it->time > before) {
			/* Too young; those before it on the list are too. */
			assoc_unlock(hv);
			break;
		} else {
			l->evicted++;
			if (it->exptime)
				l->evicted_nonzero++;
			if (!(it->state & ITEM_FETCHED))
				l->evicted_unfetched++;
			evicted = true;
		}
		item_unlink_locked(l, it, hv);
		assoc_unlock(hv);
		victim = it;
		break;
	}
	pthread_mutex_unlock(&l->lock);
	if (!victim)
		return 0;
	/* Ours alone now: unlinked, and nobody else held it. */
	if (evicted && kv_logging(KV_LOG_EVICTIONS))
		log_eviction(victim, now);
	item_layout_of(victim, &lay);
	item_put(victim);
	return lay.charge;
}

/*
 * Evict from class @c (items last accessed at or before @before), @node's
 * list first; the slot bytes freed.
 */
static unsigned long class_pull_tail(struct kv_class *c, int node, uint32_t now,
				     uint32_t before)
{
	unsigned long freed;
	int i;

	for (i = 0; i < kv_nr_nodes; i++) {
		freed = lru_pull_tail(&c->lru[(node + i) % kv_nr_nodes], now,
				      before);
		if (freed)
			return freed;
	}
	return 0;
}

/* ---- The shrinker ------------------------------------------------------ */

/*
 * uslab calls it when a cache needs a slab and the limit (-m) is spent.
 * Its objects are 4 KiB pages of item slots.  To free pages, whole
 * slabs must empty: it evicts the oldest items of the class whose slabs
 * are the emptiest (the fewest of their objects in use), so that the
 * slabs nearest to empty go first, then of the next emptiest, and so on.
 * Every class draws from one page allocator, so the slabs it empties
 * serve whatever size is being stored: no class keeps memory another
 * needs (no calcification).  The class whose allocation called it
 * (alloc_cls) goes last: a class that needs a slab takes it from the
 * others first.  An item's oldest neighbours in its class
 * were allocated with it, from the same slabs: evicting from the tail
 * empties slabs rather than thinning them all.
 */
#define KV_SHRINK_PAGE 4096UL
#define KV_SHRINK_BATCH 64 /* pages per scan: 256 KiB */

static unsigned long class_items(struct kv_class *c)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < kv_nr_nodes; i++) {
		pthread_mutex_lock(&c->lru[i].lock);
		n += c->lru[i].nitems;
		pthread_mutex_unlock(&c->lru[i].lock);
	}
	return n;
}

static unsigned long kv_shrink_count(struct shrinker *sh,
				     struct shrink_control *sc)
{
	unsigned long bytes = 0;
	unsigned int i;

	(void)sh;
	(void)sc;
	for (i = 0; i < kv_nclasses; i++)
		bytes += class_items(&kv_classes[i]) * kv_classes[i].size;
	return bytes ? (bytes + KV_SHRINK_PAGE - 1) / KV_SHRINK_PAGE :
		       SHRINK_EMPTY;
}

struct kv_victim {
	double fill; /* objects in use / objects in slabs */
	unsigned int cls;
};

static int victim_cmp(const void *a, const void *b)
{
	const struct kv_victim *x = a, *y = b;

	return (x->fill > y->fill) - (x->fill < y->fill);
}

static unsigned long kv_shrink_scan(struct shrinker *sh,
				    struct shrink_control *sc)
{
	struct kv_victim v[KV_MAX_CLASSES];
	unsigned long want = sc->nr_to_scan * KV_SHRINK_PAGE, freed = 0, got;
	unsigned int i, nv = 0;
	uint32_t now = kv_now();
	int node = sc->nid >= 0 ? sc->nid % kv_nr_nodes : 0;

	(void)sh;
	for (i = 0; i < kv_nclasses; i++) {
		struct uslab_cache_info info;

		if (!class_items(&kv_classes[i]) ||
		    uslab_cache_info(kv_classes[i].cache, &info) ||
		    !info.total_objs)
			continue;
		/* The class being allocated for goes last (alloc_cls). */
		v[nv].fill = (int)i == alloc_cls ?
				     2.0 :
				     (double)info.active_objs /
					     (double)info.total_objs;
		v[nv++].cls = i;
	}
	qsort(v, nv, sizeof(v[0]), victim_cmp);
	for (i = 0; i < nv && freed < want; i++)
		while (freed < want &&
		       (got = class_pull_tail(&kv_classes[v[i].cls], node, now,
					      UINT32_MAX)))
			freed += got;
	if (!freed)
		return SHRINK_STOP;
	return (freed + KV_SHRINK_PAGE - 1) / KV_SHRINK_PAGE;
}

static struct shrinker kv_shrinker = {
	.count_objects = kv_shrink_count,
	.scan_objects = kv_shrink_scan,
	.batch = KV_SHRINK_BATCH,
	.seeks = DEFAULT_SEEKS,
};

/* ---- Allocation ------------------------------------------------------- */

/*
 * memcached's rule once memory is full: a store whose class has no free
 * slot, and no room under -m for a new slab, evicts the tail item of its
 * class's LRU and takes the slot that frees, one item per slot needed.
 * The object the eviction frees goes to this CPU's magazine, where the
 * allocation that follows finds it; no slab is taken or given back, so
 * the shrinker (which evicts until whole slabs go back, leaving free
 * slots behind) is not needed.
 *
 * Unlike memcached without its page mover, a class does not keep to the
 * memory it has (calcification): its tail item is evicted only if its
 * class holds the oldest tail item (last access) of the classes holding
 * a slab's worth of items or more (oldest_cls, from the clock), so the
 * item evicted is about the least recently used of the cache.  Another
 * class falls through to the shrinker, which evicts from the emptiest
 * classes until a slab goes back, and the class grows.
 */
static void class_make_room(int clsid, int node)
{
	struct kv_class *c = &kv_classes[clsid];
	uint32_t now = kv_now(), oldest;

	/*
	 * A free slot: the class's slabs hold more objects than kvcache
	 * holds of them (the rest are free in a slab or a magazine).  Both
	 * figures are read without locks (uslab_cache_objects() costs a
	 * load per node, where uslab_cache_info() would take every node's
	 * lock and walk every CPU's magazines on each store).  Relaxed: a
	 * hint, as the free slot may be in another CPU's magazine anyway.
	 */
	if (uslab_memory_used() + c->slab_size <= kv_maxbytes() ||
	    __atomic_load_n(&c->held, __ATOMIC_RELAXED) <
		    uslab_cache_objects(c->cache))
		return;
	/*
	 * Relaxed: hints the clock refreshes every second (a pair read
	 * across a refresh only moves one store's choice).  Another class
	 * holds the oldest tail: leave ours to the shrinker.  Ours: evict
	 * a tail of its second or the next, since the tail the clock saw
	 * may since have been evicted.
	 */
	oldest = __atomic_load_n(&oldest_tail, __ATOMIC_RELAXED);
	if (!oldest || oldest >= now)
		oldest = now;
	else if (__atomic_load_n(&oldest_cls, __ATOMIC_RELAXED) != clsid)
		return;
	else
		oldest++;
	class_pull_tail(c, node, now, oldest);
}

/* A slot of class @clsid, counted in its held slots (class_free()). */
static void *class_alloc(int clsid, struct kv_worker *w)
{
	struct kv_class *c = &kv_classes[clsid];
	void *p;

	class_make_room(clsid, w->node);
	alloc_cls = clsid;
	p = kmem_cache_alloc_node(c->cache, GFP_KERNEL | __GFP_NOWARN,
				  w->alloc_node);
	alloc_cls = -1;
	if (p) /* Relaxed: a count read as a hint (class_make_room()). */
		__atomic_fetch_add(&c->held, 1, __ATOMIC_RELAXED);
	return p;
}

/*
 * A new, unlinked item with one reference (the caller's), on the node of
 * worker @w, or NULL with *err set.  The value is left for the caller to
 * fill.  May evict; may be called with a stripe lock held.
 */
struct item *item_alloc(struct kv_worker *w, const char *key, unsigned int nkey,
			uint32_t flags, uint32_t exptime, uint32_t nbytes,
			enum kv_alloc_err *err)
{
	struct kv_class *c;
	struct item_layout l;
	struct kv_lru *lru;
	struct item *it;
	uint32_t i;

	item_layout(nkey, flags != 0, nbytes, &l);
	if (l.total > settings.item_max) {
		*err = KV_TOO_LARGE;
		return NULL;
	}
	c = &kv_classes[l.clsid];
	/*
	 * Slabs of more than half of -m may never be had beside the rest
	 * (the hash table, the buffers, other classes' partial slabs):
	 * chunk the item in smaller classes, or refuse it at once rather
	 * than let the shrinker evict everything trying.
	 */
	if (item_slab_need(&l) > kv_maxbytes() / 2) {
		if (!item_layout_small(nkey, flags != 0, nbytes, &l))
			goto nomem;
		c = &kv_classes[l.clsid];
	}
	it = lru_take_dead_tail(&c->lru[w->node], kv_now());
	if (it)
		item_put(it);
	it = class_alloc(l.clsid, w);
	if (!it)
		goto nomem;
	it->h_next = it->prev = it->next = NULL;
	it->cas = 0;
	it->refcount = 1;
	it->exptime = exptime;
	it->time = kv_now();
	it->nbytes = nbytes;
	it->nkey = (uint8_t)nkey;
	it->clsid = (uint8_t)l.clsid;
	it->node = (uint8_t)w->node & 63;
	it->cflags = flags != 0;
	it->chunked = l.nchunks != 0;
	it->state = 0;
	memcpy(it->data, key, nkey);
	if (flags)
		memcpy(it->data + nkey, &flags, sizeof(flags));
	if (l.nchunks) {
		char *table = item_chunk_table(it);

		memcpy(table, &l.nchunks, sizeof(l.nchunks));
		for (i = 0; i < l.nchunks; i++) {
			void *chunk = class_alloc(
				i + 1 < l.nchunks ? l.clsid : l.last_cls, w);

			if (!chunk) {
				while (i-- > 0)
					class_free(i + 1 < l.nchunks ?
							   l.clsid :
							   l.last_cls,
						   item_chunk(it, i));
				class_free(l.clsid, it);
				goto nomem;
			}
			memcpy(table + 4 + i * sizeof(void *), &chunk,
			       sizeof(chunk));
		}
	}
	mem_charge(l.charge);
	return it;
nomem:
	lru = &c->lru[w->node];
	pthread_mutex_lock(&lru->lock);
	lru->outofmemory++;
	pthread_mutex_unlock(&lru->lock);
	*err = KV_NO_MEMORY;
	return NULL;
}

static uint64_t item_next_cas(void)
{
	/* Relaxed: only uniqueness and increase matter; flush reads it. */
	return __atomic_add_fetch(&cas_id, 1, __ATOMIC_RELAXED);
}

/* ---- Linking (stripe lock held) --------------------------------------- */

/* Link a new item: the table takes a reference of its own. */
void item_link(struct item *it, uint64_t hv)
{
	struct kv_lru *l = item_lru(it);

	it->cas = item_next_cas();
	it->time = kv_now();
	it->state |= ITEM_LINKED;
	/* Relaxed: under the stripe lock, which orders it for evictors. */
	__atomic_fetch_add(&it->refcount, 1, __ATOMIC_RELAXED);
	assoc_insert(it, hv);
	pthread_mutex_lock(&l->lock);
	lru_add_locked(l, it);
	l->nitems++;
	l->bytes += item_total(it);
	pthread_mutex_unlock(&l->lock);
	/* Relaxed: a statistic. */
	__atomic_fetch_add(&kv_total_items, 1, __ATOMIC_RELAXED);
}

/* Unlink and drop the table's reference. */
void item_unlink(struct item *it, uint64_t hv)
{
	struct kv_lru *l = item_lru(it);

	pthread_mutex_lock(&l->lock);
	item_unlink_locked(l, it, hv);
	pthread_mutex_unlock(&l->lock);
	item_put(it);
}

void item_replace(struct item *old, struct item *it, uint64_t hv)
{
	item_unlink(old, hv);
	item_link(it, hv);
}

/*
 * The live item for @key, without taking a reference; a dead one found
 * on the way is unlinked and *miss says why.  Every lookup of a command
 * is one line for "watch fetchers", as memcached logs them, with the
 * asking connection's descriptor @cfd.
 */
struct item *item_get_locked(const char *key, unsigned int nkey, uint64_t hv,
			     uint32_t now, int *miss, int cfd)
{
	struct item *it = assoc_find(key, nkey, hv);
	bool flushed;

	*miss = KV_MISS_NONE;
	if (it && item_dead(it, now, &flushed)) {
		*miss = flushed ? KV_MISS_FLUSHED : KV_MISS_EXPIRED;
		if (!flushed && !(it->state & ITEM_FETCHED)) {
			struct kv_lru *l = item_lru(it);

			pthread_mutex_lock(&l->lock);
			l->expired_unfetched++;
			pthread_mutex_unlock(&l->lock);
		}
		item_unlink(it, hv);
		it = NULL;
	}
	if (kv_logging(KV_LOG_FETCHERS))
		log_item_get(cfd, key, nkey,
			     it			      ? 1 :
			     *miss == KV_MISS_FLUSHED ? 2 :
			     *miss == KV_MISS_EXPIRED ? 3 :
							0,
			     it);
	return it;
}

/* ---- flush_all -------------------------------------------------------- */

/*
 * flush_at is written under flush_lock and peeked at without it by the
 * clock tick, hence atomic; relaxed, since the lock orders the decisions
 * and the word publishes nothing else.  flush_cas: see item_dead().
 */

static void flush_now_locked(void)
{
	/* Relaxed: see item_dead(). */
	__atomic_store_n(&flush_cas, __atomic_load_n(&cas_id, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&flush_at, 0, __ATOMIC_RELAXED);
}

void item_flush(int64_t delay)
{
	if (settings.cas_disabled) {
		/*
		 * memcached's flush without CAS: its second (a delay's, else
		 * now's), which item_flushed() compares item times with from
		 * that second on; no tick is needed.  Relaxed: see there.
		 */
		__atomic_store_n(&flush_live,
				 delay > 0 ? kv_realtime(delay) : kv_now(),
				 __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_lock(&flush_lock);
	if (delay > 0) {
		uint32_t when = kv_realtime(delay);

		if (when > kv_now())
			__atomic_store_n(&flush_at, when, __ATOMIC_RELAXED);
		else
			flush_now_locked();
	} else {
		flush_now_locked();
	}
	pthread_mutex_unlock(&flush_lock);
}

/* The clock thread, each tick: run a delayed flush that is due. */
/*
 * Over -m after "cache_memlimit" lowered it: uslab frees nothing until a
 * new slab is needed, so give back, once a second, the empty slabs and
 * cached objects of the item classes, as memcached returns pages to the
 * OS while it is over its limit.  Only the clock thread calls this.
 */
static void item_trim(uint32_t now)
{
	static uint32_t last;
	unsigned int i;

	if (now == last || uslab_memory_used() <= kv_maxbytes())
		return;
	last = now;
	for (i = 0; i < kv_nclasses; i++)
		kmem_cache_shrink(kv_classes[i].cache);
}

/*
 * Once a second, the oldest last access of the tail items of the classes
 * that hold at least a slab's worth of items, for class_make_room(): a
 * class with fewer holds at most a slab, and the shrinker, which takes
 * the emptiest classes first, reclaims it when slabs are needed.  Only
 * the clock thread calls this.  It holds an LRU lock and only tries the
 * tail's stripe (lock order), whose lock guards item->time; a busy tail
 * is left out this time.
 */
static void item_tail_ages(uint32_t now)
{
	static uint32_t last;
	uint32_t oldest = 0;
	unsigned int i;
	int n, cls = -1;

	if (now == last)
		return;
	last = now;
	for (i = 0; i < kv_nclasses; i++) {
		uint32_t cls_oldest = 0;
		unsigned long items = 0;

		for (n = 0; n < kv_nr_nodes; n++) {
			struct kv_lru *l = &kv_classes[i].lru[n];
			struct item *it;

			pthread_mutex_lock(&l->lock);
			items += l->nitems;
			it = l->tail;
			if (it) {
				uint64_t hv = kv_hash(item_key(it), it->nkey);

				if (assoc_trylock(hv)) {
					if (!cls_oldest ||
					    it->time < cls_oldest)
						cls_oldest = it->time;
					assoc_unlock(hv);
				}
			}
			pthread_mutex_unlock(&l->lock);
		}
		if (cls_oldest && items >= kv_classes[i].perslab &&
		    (!oldest || cls_oldest < oldest)) {
			oldest = cls_oldest;
			cls = (int)i;
		}
	}
	/* Relaxed: hints, see class_make_room(). */
	__atomic_store_n(&oldest_tail, oldest, __ATOMIC_RELAXED);
	__atomic_store_n(&oldest_cls, cls, __ATOMIC_RELAXED);
}

void item_clock_tick(uint32_t now)
{
	uint32_t when;

	item_trim(now);
	item_tail_ages(now);
	/* Relaxed peek; the decision is taken again under flush_lock. */
	if (!__atomic_load_n(&flush_at, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&flush_lock);
	when = __atomic_load_n(&flush_at, __ATOMIC_RELAXED);
	if (when && when <= now)
		flush_now_locked();
	pthread_mutex_unlock(&flush_lock);
}

/* ---- Shutdown --------------------------------------------------------- */

/* Unlink and free every item; no worker runs any more. */
void items_free_all(void)
{
	unsigned int i;
	int n;

	for (i = 0; i < kv_nclasses; i++) {
		for (n = 0; n < kv_nr_nodes; n++) {
			struct kv_lru *l = &kv_classes[i].lru[n];
			struct item *it;

			while ((it = l->tail)) {
				uint64_t hv = kv_hash(item_key(it), it->nkey);

				assoc_lock(hv);
				item_unlink(it, hv);
				assoc_unlock(hv);
			}
		}
	}
}

/* ---- For the meta commands -------------------------------------------- */

/* A new CAS unique, for "md <key> I" (mark stale), stripe lock held. */
uint64_t item_new_cas(void)
{
	return item_next_cas();
}
