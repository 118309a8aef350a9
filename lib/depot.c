// SPDX-License-Identifier: MIT
/*
 * depot.c - the magazine depot (Bonwick & Adams): per cache and per node,
 * a list of full and a list of empty magazines; magazine memory; reaping
 * of the unused working set.
 *
 * Locking: depot.lock guards both lists, their counts and low marks;
 * depot_fork_prepare() holds every depot lock of a cache across fork().
 * Counts that walkers read without it are written with WRITE_ONCE.
 * Pushes and pops happen only under it, which is what makes them ABA-safe:
 * the classic lock-free pop (read head, read head->next, CAS head) breaks
 * when head is popped and pushed back between the two reads; here no pop
 * or push can run between them.  One exchange moves a whole magazine, so
 * the lock is taken once per `capacity` objects (a pop and a push cost
 * about 20 ns together uncontended on a 2-vCPU EPYC virtual machine).
 *
 * RCU: the list heads and ->next are published with release stores and
 * read with acquire loads, so a walker that takes no lock
 * (depot_snapshot: statistics and the slabtop export) sees initialised
 * magazines.  It runs inside an urcu-bp read-side section, and a magazine
 * is freed only through call_rcu(), after every such section that could
 * have reached it has ended: a walker never touches freed memory.  A
 * magazine popped and pushed again while a walker stands on it can send
 * the walker onto the other list or round again; walkers bound their
 * steps and their figures are estimates, which is all they promise.
 * urcu-bp is the flavour because a library cannot make its users
 * register threads; its read side costs about 2.4 ns here, and it is
 * never on the per-object path.
 *
 * Bounds: a depot keeps about CONFIG_DEPOT_KIB of objects in full
 * magazines (max_mags of them, at least DEPOT_MIN_MAGS) and max_empty
 * empty ones (depot_get_empty, depot_get_full); beyond that objects go
 * back to their slabs, where a free object costs no memory, unlike a
 * magazine slot (8 bytes, 12% of a 64-byte object), and magazines are
 * freed at once.  Up to the bound, bursts of frees and allocations stay
 * in magazines: no slab list, no node lock.
 *
 * The bound adapts (bound_kib, from CONFIG_DEPOT_KIB up to
 * CONFIG_DEPOT_MAX_KIB): a full magazine that would overflow a depot
 * which has run dry since its last overflow (a slot found no full
 * magazine and refilled from the slabs) means the workload cycles
 * through more objects than the bound, and each cycle would send them
 * all through the slab lists twice.  From the second such cycle in an
 * interval on (one alone is any fill and teardown), the bound doubles
 * instead and the magazine is kept.  An interval whose full list never
 * reached half the bound halves it again (depot_release), and reaping
 * frees what an interval did not use, so a bound grown for a burst costs
 * memory only while bursts recur.
 *
 * Reaping (Bonwick's minimum-over-interval): min_full and min_empty record
 * the fewest magazines each list held since the last reap.  That many
 * were not needed during the whole interval, so depot_reap() frees them,
 * taking them from the cold end of the list and giving full magazines'
 * objects back to the slab layer.  Contention (lock waits counted since
 * the last reap) grows the capacity of new magazines at once, up to a
 * bound (depot_note_contention).  The reaper thread (cache.c) calls
 * depot_reap() for every depot once per interval.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Lock waits per reap interval above which magazines grow. */
#define DEPOT_CONTENTION_GROW 16
/* Full and empty magazines a depot always may keep (and 2 per CPU). */
#define DEPOT_MIN_MAGS 8

/*
 * max_mags for the current capacity and bound; depot lock held or not
 * yet shared.
 */
static void depot_set_bounds(struct depot *d)
{
	unsigned long floor = MAX(DEPOT_MIN_MAGS, 2UL * nr_cpu_ids);
	unsigned long bytes = d->bound_kib << 10;

	d->max_mags = MAX(
		floor, bytes / ((unsigned long)d->capacity * d->object_size));
	d->max_empty = d->max_mags;
}

BUILD_BUG_ON(sizeof(struct rcu_head) > 2 * sizeof(void *));

static unsigned int mag_capacity_for(unsigned int size)
{
	unsigned int cap = CONFIG_MAGAZINE_SIZE;

	if (size > 256)
		cap = (unsigned int)MAX(4UL,
					CONFIG_MAGAZINE_SIZE * 256UL / size);
	return cap;
}

struct depot *depot_create(int node, unsigned int object_size)
{
	struct depot *d = aligned_alloc(CACHE_LINE_SIZE, sizeof(*d));

	if (!d)
		return NULL;
	memset(d, 0, sizeof(*d));
	mutex_init_adaptive(&d->lock);
	d->node = node;
	d->capacity = mag_capacity_for(object_size);
	d->max_capacity =
		MIN(d->capacity * 8, (unsigned int)CONFIG_MAGAZINE_MAX);
	d->max_capacity = MAX(d->max_capacity, d->capacity);
	d->object_size = object_size;
	d->bound_kib = CONFIG_DEPOT_KIB;
	depot_set_bounds(d);
	return d;
}

/* The depot must be empty (depot_purge) and no longer reachable. */
void depot_destroy(struct depot *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* ---- Magazine memory ---------------------------------------------------- */

struct magazine *depot_mag_new(struct depot *d)
{
	unsigned int cap = READ_ONCE(d->capacity);
	/* Whole cache lines: no false sharing with another CPU's magazine. */
	struct magazine *m = aligned_alloc(
		CACHE_LINE_SIZE,
		ALIGN(sizeof(*m) + cap * sizeof(void *), CACHE_LINE_SIZE));

	if (!m)
		return NULL;
	m->rounds = 0;
	m->capacity = cap;
	m->next = NULL;
	m->node = d->node;
	return m;
}

static void mag_free_rcu(struct rcu_head *head)
{
	struct magazine *m = container_of((void *)head, struct magazine, objs);

	uslab_rcu_callback(head);
	free(m);
}

/*
 * Free @m once no lock-free walker can still be looking at it.  Its objs
 * are dead by now, so the rcu_head lives there.
 */
void depot_mag_free(struct magazine *m)
{
	uslab_call_rcu((struct rcu_head *)(void *)m->objs, mag_free_rcu);
}

/* Free a chain linked by ->next with one callback (reaping, purging). */
/* Give every object of @m back to its slab; @m is left empty. */
void depot_mag_flush(struct kmem_cache *s, struct magazine *m)
{
	slab_free_many(s, m->objs, (size_t)m->rounds);
	WRITE_ONCE(m->rounds, 0);
}

static void mag_chain_free_rcu(struct rcu_head *head)
{
	struct magazine *m = container_of((void *)head, struct magazine, objs);

	uslab_rcu_callback(head);
	while (m) {
		struct magazine *next = m->next;

		free(m);
		m = next;
	}
}

static void depot_chain_free(struct magazine *chain)
{
	if (chain)
		uslab_call_rcu((struct rcu_head *)(void *)chain->objs,
			       mag_chain_free_rcu);
}

/* ---- List operations (depot lock held) -------------------------------- */

/*
 * Bonwick's adaptive sizing, with the depot lock held: after
 * DEPOT_CONTENTION_GROW lock waits in one reap interval, new magazines
 * get twice the rounds (up to max_capacity), so exchanges, and the
 * contention, halve.
 */
void depot_note_contention(struct depot *d)
{
	if (++d->contended < DEPOT_CONTENTION_GROW)
		return;
	d->contended = 0;
	if (d->capacity < d->max_capacity) {
		WRITE_ONCE(d->capacity, MIN(d->capacity * 2, d->max_capacity));
		depot_set_bounds(d); /* the same bytes, fewer magazines */
	}
}

static void depot_lock(struct depot *d)
{
	if (uslab_trylock(&d->lock, RANK_DEPOT)) {
		uslab_lock(&d->lock, RANK_DEPOT);
		depot_note_contention(d);
	}
}

/*
 * Link @m in front of *@head.  Every store of a link a walker may follow
 * (a head or a ->next) is a release, and walkers load links with
 * acquire: whichever path of links a walker takes, each hop carries the
 * initialisation of the magazine it leads to, which its last writer saw
 * under the depot lock.  (A relaxed ->next store made a walker that
 * reached the magazine through a stale ->next see it uninitialised;
 * TSan caught it.)  On x86-64 these are plain stores.
 */
static void list_push_locked(struct depot *d, struct magazine **head,
			     struct magazine *m)
{
	lock_assert_held(&d->lock);
	__atomic_store_n(&m->next, *head, __ATOMIC_RELEASE);
	__atomic_store_n(head, m, __ATOMIC_RELEASE);
}

/*
 * Unlink the first magazine.  Walkers standing on it keep a valid ->next
 * (we leave it), and it is not freed before they are done (call_rcu).
 */
static struct magazine *list_pop_locked(struct depot *d, struct magazine **head)
{
	struct magazine *m = *head;

	lock_assert_held(&d->lock);
	if (m)
		__atomic_store_n(head, m->next, __ATOMIC_RELEASE);
	return m;
}

static struct magazine *pop_full_locked(struct depot *d)
{
	struct magazine *m = list_pop_locked(d, &d->full);

	if (m) {
		uslab_assert(d->nr_full > 0 && m->rounds == m->capacity);
		WRITE_ONCE(d->nr_full, d->nr_full - 1);
		d->min_full = MIN(d->min_full, d->nr_full);
		WRITE_ONCE(d->exchanges, d->exchanges + 1);
	}
	return m;
}

static void push_full_locked(struct depot *d, struct magazine *m)
{
	list_push_locked(d, &d->full, m);
	WRITE_ONCE(d->nr_full, d->nr_full + 1);
	d->high_full = MAX(d->high_full, d->nr_full);
}

/* An empty magazine of the current capacity; smaller ones are dropped. */
static struct magazine *pop_empty_locked(struct depot *d,
					 struct magazine **dropped)
{
	struct magazine *m;

	while ((m = list_pop_locked(d, &d->empty))) {
		uslab_assert(d->nr_empty > 0 && m->rounds == 0);
		WRITE_ONCE(d->nr_empty, d->nr_empty - 1);
		d->min_empty = MIN(d->min_empty, d->nr_empty);
		if (m->capacity >= d->capacity) {
			WRITE_ONCE(d->exchanges, d->exchanges + 1);
			return m;
		}
		/* Outgrown: free it (after the unlock) and try the next. */
		__atomic_store_n(&m->next, *dropped, __ATOMIC_RELEASE);
		*dropped = m;
	}
	return NULL;
}

/* ---- Exchanges ---------------------------------------------------------- */

/*
 * A slot found no full magazine here and refills from the slabs.  The
 * flag is a hint for depot_grow_locked(), kept without the lock:
 * relaxed atomics, and no store when it is already set, so that CPUs
 * refilling at once do not bounce the depot's line.
 */
static void depot_note_miss(struct depot *d)
{
	if (!__atomic_load_n(&d->ran_dry, __ATOMIC_RELAXED))
		__atomic_store_n(&d->ran_dry, 1, __ATOMIC_RELAXED);
}

/*
 * A full magazine is about to overflow @d.  If @d ran dry since the last
 * overflow, the workload cycles: the objects would only come back from
 * the slabs.  The second such cycle in a reap interval (one is any
 * fill followed by a teardown) doubles the bound, up to
 * CONFIG_DEPOT_MAX_KIB, and so does each one after it.  Once grown, the
 * bound doubles again at each overflow until a full magazine leaves the
 * depot: the same burst of frees is still coming in, and it keeps all of
 * its objects in one cycle rather than one doubling per cycle.  The
 * bound so ends at most twice what the burst needed.  Says whether
 * there is room now.
 */
static bool depot_grow_locked(struct depot *d)
{
	lock_assert_held(&d->lock);
	if (__atomic_load_n(&d->ran_dry, __ATOMIC_RELAXED)) {
		__atomic_store_n(&d->ran_dry, 0, __ATOMIC_RELAXED);
		d->growing = ++d->cycles >= 2;
	}
	if (!d->growing || d->bound_kib >= CONFIG_DEPOT_MAX_KIB)
		return false;
	WRITE_ONCE(d->bound_kib,
		   MIN(d->bound_kib * 2, (unsigned long)CONFIG_DEPOT_MAX_KIB));
	depot_set_bounds(d);
	return d->nr_full < d->max_mags;
}

/*
 * A full magazine, or NULL if the depot has none.  When one is handed
 * out, @empty (if not NULL) goes onto the empty list in the same lock
 * hold: Bonwick's alloc-side exchange.
 */
struct magazine *depot_get_full(struct depot *d, struct magazine *empty)
{
	struct magazine *m, *drop = NULL;

	if (!READ_ONCE(d->nr_full)) {
		/* Racy peek; a miss only means a slab refill. */
		depot_note_miss(d);
		return NULL;
	}
	depot_lock(d);
	m = pop_full_locked(d);
	if (!m)
		depot_note_miss(d);
	else
		d->growing = false; /* the burst of frees has turned */
	if (m && empty) {
		if (d->nr_empty < d->max_empty) {
			list_push_locked(d, &d->empty, empty);
			WRITE_ONCE(d->nr_empty, d->nr_empty + 1);
		} else {
			drop = empty; /* enough empties kept */
		}
	}
	uslab_unlock(&d->lock);
	if (drop)
		depot_mag_free(drop);
	return m;
}

/*
 * Put @full (if not NULL) on the full list and take an empty magazine,
 * or NULL if there is none: Bonwick's free-side exchange.  A depot that
 * already keeps max_mags full magazines takes no more: @full's objects
 * go back to their slabs and @full itself is the empty magazine
 * returned.
 */
struct magazine *depot_get_empty(struct kmem_cache *s, struct depot *d,
				 struct magazine *full)
{
	struct magazine *m, *dropped = NULL;

	depot_lock(d);
	if (full && d->nr_full >= d->max_mags && !depot_grow_locked(d)) {
		uslab_unlock(&d->lock);
		depot_mag_flush(s, full);
		if (full->capacity >= READ_ONCE(d->capacity))
			return full;
		depot_mag_free(full); /* outgrown */
		return NULL;
	}
	if (full)
		push_full_locked(d, full);
	m = pop_empty_locked(d, &dropped);
	uslab_unlock(&d->lock);
	depot_chain_free(dropped);
	return m;
}

void depot_put_full(struct depot *d, struct magazine *m)
{
	depot_lock(d);
	push_full_locked(d, m);
	uslab_unlock(&d->lock);
}

void depot_put_empty(struct depot *d, struct magazine *m)
{
	depot_lock(d);
	list_push_locked(d, &d->empty, m);
	WRITE_ONCE(d->nr_empty, d->nr_empty + 1);
	uslab_unlock(&d->lock);
}

/* ---- Reaping and purging ------------------------------------------------ */

/* Cut the last @n magazines off the list at *@head; returns them. */
static struct magazine *list_cut_tail_locked(struct depot *d,
					     struct magazine **head,
					     unsigned long len, unsigned long n)
{
	struct magazine **link = head, *tail;
	unsigned long keep = len - n;

	lock_assert_held(&d->lock);
	uslab_assert(n <= len);
	while (keep--)
		link = &(*link)->next;
	tail = *link;
	/* Walkers past this point finish on the detached chain. */
	__atomic_store_n(link, NULL, __ATOMIC_RELEASE);
	return tail;
}

/* Give every object of a chain of full magazines back to the slabs. */
static void flush_chain(struct kmem_cache *s, struct magazine *chain)
{
	struct magazine *m;

	for (m = chain; m; m = m->next)
		depot_mag_flush(s, m);
}

/*
 * Free the magazines the last interval did not need (the low marks), or
 * with @all every magazine; either way a new interval starts.
 */
static void depot_release(struct kmem_cache *s, struct depot *d, bool all)
{
	struct magazine *full, *empty;
	unsigned long nfull, nempty;

	uslab_lock(&d->lock, RANK_DEPOT); /* not a contended exchange */
	nfull = all ? d->nr_full : MIN(d->min_full, d->nr_full);
	nempty = all ? d->nr_empty : MIN(d->min_empty, d->nr_empty);
	full = list_cut_tail_locked(d, &d->full, d->nr_full, nfull);
	empty = list_cut_tail_locked(d, &d->empty, d->nr_empty, nempty);
	WRITE_ONCE(d->nr_full, d->nr_full - nfull);
	WRITE_ONCE(d->nr_empty, d->nr_empty - nempty);
	/*
	 * A whole interval without a lock wait: the capacity that waits
	 * once doubled comes back down, halving towards the one the object
	 * size gives, and the bounds keep the same bytes.
	 */
	if (!all && !d->contended &&
	    d->capacity > mag_capacity_for(d->object_size)) {
		WRITE_ONCE(d->capacity, MAX(d->capacity / 2,
					    mag_capacity_for(d->object_size)));
		depot_set_bounds(d);
	}
	/*
	 * The interval never used half the bound: a bound that grew for
	 * a burst halves back towards CONFIG_DEPOT_KIB (the low marks above
	 * freed what the interval did not use).
	 */
	if (!all && d->high_full * 2 <= d->max_mags &&
	    d->bound_kib > CONFIG_DEPOT_KIB) {
		WRITE_ONCE(d->bound_kib, MAX(d->bound_kib / 2,
					     (unsigned long)CONFIG_DEPOT_KIB));
		depot_set_bounds(d);
	}
	d->high_full = d->nr_full;
	d->cycles = 0;
	d->growing = false;
	d->contended = 0; /* a new interval */
	d->min_full = d->nr_full;
	d->min_empty = d->nr_empty;
	uslab_unlock(&d->lock);

	flush_chain(s, full);
	depot_chain_free(full);
	depot_chain_free(empty);
}

void depot_reap(struct kmem_cache *s, struct depot *d)
{
	depot_release(s, d, false);
}

/* Free every magazine in the depot (shrink, destroy). */
void depot_purge(struct kmem_cache *s, struct depot *d)
{
	depot_release(s, d, true);
}

/* ---- Lock-free walker --------------------------------------------------- */

static unsigned long walk(struct magazine **head, unsigned long limit,
			  unsigned long *objects)
{
	struct magazine *m = __atomic_load_n(head, __ATOMIC_ACQUIRE);
	unsigned long n = 0;

	while (m && n < limit) {
		n++;
		/* A full magazine holds capacity objects, which never changes. */
		if (objects)
			*objects += (unsigned long)m->capacity;
		m = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE);
	}
	return n;
}

/*
 * Count the depot's magazines without its lock (statistics, export).
 * The bound stops a walker that a concurrent pop and push sends round.
 */
void depot_snapshot(struct depot *d, struct depot_snapshot *st)
{
	unsigned long limit;

	memset(st, 0, sizeof(*st));
	limit = READ_ONCE(d->nr_full) + READ_ONCE(d->nr_empty) + 64;
	uslab_rcu_read_lock();
	st->full = walk(&d->full, limit, &st->objects);
	st->empty = walk(&d->empty, limit, NULL);
	uslab_rcu_read_unlock();
	st->exchanges = READ_ONCE(d->exchanges);
	st->capacity = READ_ONCE(d->capacity);
}

/* ---- fork() ------------------------------------------------------------- */

/*
 * cache.c's atfork handlers, for each cache with magazines: hold every
 * depot lock of @s across fork(), after the slots (level 2) and before
 * the slab node locks (level 4).
 */
void depot_fork_prepare(struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; s->cpu_slab && i < s->nr_nodes; i++)
		uslab_lock_nested(&s->depot[i]->lock, RANK_DEPOT);
}

void depot_fork_parent(struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; s->cpu_slab && i < s->nr_nodes; i++)
		uslab_unlock(&s->depot[i]->lock);
}

/* The child has one thread: re-initialise rather than unlock. */
void depot_fork_child(struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; s->cpu_slab && i < s->nr_nodes; i++)
		mutex_init_adaptive(&s->depot[i]->lock);
}
