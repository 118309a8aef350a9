// SPDX-License-Identifier: MIT
/*
 * magazine.c - per-CPU magazines (Bonwick & Adams): the allocation fast
 * path and its slow paths, bulk transfers, draining, fork quiescing.
 *
 * Each cache has one slot per possible CPU (struct kmem_cache_cpu) with a
 * loaded and a previous magazine.  Alloc pops from loaded; when loaded is
 * empty and previous is not, they swap; otherwise the slot gives an empty
 * magazine to its node's depot for a full one; only when the depot has
 * none does the slab layer fill a magazine (slab_alloc_refill).  Free is
 * the mirror image.  Debug caches have no slots: every object goes
 * through the slab layer, where the checks are.
 *
 * Fast path (mag_alloc/mag_free, inline in magazine.h) in the rseq
 * modes: one restartable sequence on this CPU's loaded magazine, or, for
 * an object of another node, on the CPU's alien magazine for that node
 * (a remote free: SLAB's alien caches), with no lock and no atomic
 * read-modify-write; its single committing store is the magazine's new
 * rounds word, which also counts a push (rseq-<arch>.h).  A full alien
 * magazine goes to its home node's depot, where that node's CPUs find
 * it.  Everything else is a slow path (names end in _slow, _owned,
 * _lockpath) and works on an owned slot:
 *
 *   Owning a slot: take slot.lock (serialises slow paths for one CPU),
 *   then take out the magazine pointer sections use (loaded, or one
 *   alien): in the rseq modes with rseq_take(), a section on that CPU
 *   that commits mag_none (internal.h: "no magazine", which sections
 *   need no test for); from another CPU (drain, fork) with an atomic
 *   exchange followed by percpu_fence_all(), which waits out any
 *   section that loaded the old pointer.  While it is mag_none no
 *   section can reach the old magazine (nor prev, which sections never
 *   touch), so the owner works on it with plain code and publishes the
 *   result with a release store (a section on any CPU then sees the
 *   magazine's contents, which the owner wrote perhaps on another CPU).
 *   A thread that migrates between locking the slot and rseq_take()
 *   aborts the take, unlocks and starts over on its new CPU.
 *
 * Lock mode: the slot is indexed by sched_getcpu() (a hint: a thread may
 * have moved) and slot.lock guards everything in it, fast path included.
 *
 * Ordering of objects' contents between threads: a free and a later
 * alloc of the same object on one CPU are ordered by that CPU (a thread
 * switch on a CPU is a full barrier); a magazine that changes CPU passes
 * through the depot lock or a slot lock, or a membarrier fence.
 *
 * Locking: slot.lock (level 2), then depot.lock and the slab node locks
 * inside the depot and slab calls.  Two slot locks are never held at
 * once, except by fork, which takes all of them in CPU order.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "magazine.h"
#include "rseq.h"

BUILD_BUG_ON(offsetof(struct magazine, rounds) != 0);
BUILD_BUG_ON(offsetof(struct magazine, capacity) != 8);
/* Slots are indexed by CPU on every call: a shift, not a multiply. */
BUILD_BUG_ON(!IS_POWER_OF_2(sizeof(struct kmem_cache_cpu)));
BUILD_BUG_ON(offsetof(struct magazine, objs) != 32);
/* objs[-1]: the push section's top check reads it when rounds is 0. */
BUILD_BUG_ON(offsetof(struct magazine, node) != 24);
BUILD_BUG_ON(offsetof(struct kmem_cache_cpu, node) >= CACHE_LINE_SIZE);
/* The rounds field of the word holds any capacity, with room above. */
BUILD_BUG_ON(CONFIG_MAGAZINE_MAX >= MAG_PUSH);
BUILD_BUG_ON(CONFIG_MAGAZINE_SIZE >= MAG_PUSH);

/* <uslab/fastpath.h>'s layout is the library's. */
BUILD_BUG_ON(offsetof(struct kmem_cache, cpu_fast) != __USLAB_CACHE_CPU_FAST);
BUILD_BUG_ON(offsetof(struct kmem_cache, size_inv) != __USLAB_CACHE_SIZE_INV);
BUILD_BUG_ON(offsetof(struct kmem_cache, size_shift) !=
	     __USLAB_CACHE_SIZE_SHIFT);
BUILD_BUG_ON(offsetof(struct kmem_cache, objects) != __USLAB_CACHE_OBJECTS);
BUILD_BUG_ON(sizeof(((struct kmem_cache *)0)->size_inv) != 8);
BUILD_BUG_ON(sizeof(((struct kmem_cache *)0)->size_shift) != 4);
BUILD_BUG_ON(sizeof(((struct kmem_cache *)0)->objects) != 4);
BUILD_BUG_ON(sizeof(struct kmem_cache_cpu) != 1 << __USLAB_CPU_SHIFT);
BUILD_BUG_ON(offsetof(struct kmem_cache_cpu, loaded) != __USLAB_CPU_LOADED);
BUILD_BUG_ON(offsetof(struct kmem_cache_cpu, node) != __USLAB_CPU_NODE);
BUILD_BUG_ON(sizeof(((struct kmem_cache_cpu *)0)->node) != sizeof(int));
BUILD_BUG_ON(offsetof(struct kmem_cache_cpu, alien) != __USLAB_CPU_ALIEN);
BUILD_BUG_ON(sizeof(struct alien_slot) != __USLAB_ALIEN_SIZE);
BUILD_BUG_ON(offsetof(struct alien_slot, mag) != __USLAB_ALIEN_MAG);
BUILD_BUG_ON(PAGE_SHIFT != __USLAB_PAGE_SHIFT);
BUILD_BUG_ON(sizeof(struct slab_view) != 1 << __USLAB_VIEW_SHIFT);
BUILD_BUG_ON(offsetof(struct slab_view, cache) != __USLAB_VIEW_CACHE);
BUILD_BUG_ON(offsetof(struct slab_view, mem_node) != __USLAB_VIEW_MEM_NODE);
BUILD_BUG_ON(VIEW_NODE_BITS != __USLAB_VIEW_NODE_BITS);
BUILD_BUG_ON(MAG_PUSH != __USLAB_MAG_PUSH);

/*
 * What a program built with USLAB_INLINE reads instead of the library's
 * own variables: written once, by mag_init(), before any cache exists.
 * Exported, so this code writes it through the GOT: if the program's
 * link gave it a copy of its own (a copy relocation), that copy is the
 * one written.  Until then it is all zero, and the program's inline free
 * finds no arena and calls kmem_cache_free(); its inline alloc needs a
 * cache, so runs after.
 */
__api struct __uslab_fast __uslab_fast_now;

/* No rounds, no room, never written: see internal.h. */
struct magazine mag_none = { .node = -1 };

/*
 * The fast paths' slots (kmem_cache.cpu_fast) for caches with no
 * magazines: every pointer in them is mag_none and their node is -1,
 * so a pop finds nothing, a push (always to an "alien" slot, as no
 * object's node is -1) no room, and both go to the slow paths, which
 * look at cpu_slab (NULL) instead.  Shared, and never written after
 * mag_init().
 */
struct kmem_cache_cpu *mag_no_slots;
static struct alien_slot no_alien[MAX_NUMNODES];

int mag_init(void)
{
	unsigned int cpu, i;

	mag_no_slots = aligned_alloc(CACHE_LINE_SIZE,
				     nr_cpu_ids * sizeof(*mag_no_slots));
	if (!mag_no_slots)
		return -1;
	memset(mag_no_slots, 0, nr_cpu_ids * sizeof(*mag_no_slots));
	for (i = 0; i < MAX_NUMNODES; i++)
		no_alien[i].mag = &mag_none;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		mag_no_slots[cpu].loaded = &mag_none;
		mag_no_slots[cpu].node = -1;
		mag_no_slots[cpu].alien = no_alien;
	}
	__uslab_fast_now = (struct __uslab_fast){
		.rseq_off = percpu_rseq_off,
		.base = page_map.base,
		.size = page_map.size,
		.views = (const char *)page_map.views,
	};
	return 0;
}

int mag_cache_init(struct kmem_cache *s)
{
	unsigned int cpu, i;
	size_t bytes = nr_cpu_ids * sizeof(struct kmem_cache_cpu);

	if (s->flags & SLAB_DEBUG_FLAGS)
		return 0;
	for (i = 0; i < s->nr_nodes; i++) {
		s->depot[i] = depot_create((int)i, s->object_size);
		if (!s->depot[i])
			goto fail;
	}
	s->cpu_alien =
		calloc((size_t)nr_cpu_ids * s->nr_nodes, sizeof(*s->cpu_alien));
	s->cpu_slab = aligned_alloc(CACHE_LINE_SIZE, bytes);
	if (!s->cpu_slab || !s->cpu_alien)
		goto fail;
	memset(s->cpu_slab, 0, bytes);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct kmem_cache_cpu *c = &s->cpu_slab[cpu];

		pthread_mutex_init(&c->lock, NULL);
		c->node = topology_cpu_node((int)cpu);
		c->alien = s->cpu_alien + (size_t)cpu * s->nr_nodes;
		c->loaded = &mag_none;
		for (i = 0; i < s->nr_nodes; i++)
			c->alien[i].mag = &mag_none;
	}
	return 0;
fail:
	mag_cache_free(s);
	return -1;
}

/* After mag_drain(): every magazine is back, nothing left to flush. */
void mag_cache_free(struct kmem_cache *s)
{
	unsigned int i;

	if (s->cpu_slab) {
		for (i = 0; i < nr_cpu_ids; i++)
			pthread_mutex_destroy(&s->cpu_slab[i].lock);
		free(s->cpu_slab);
		s->cpu_slab = NULL;
	}
	free(s->cpu_alien);
	s->cpu_alien = NULL;
	for (i = 0; i < MAX_NUMNODES; i++) {
		depot_destroy(s->depot[i]);
		s->depot[i] = NULL;
	}
}

/* ---- Owning a slot ----------------------------------------------------- */

static inline struct magazine *slot_loaded(struct kmem_cache_cpu *c)
{
	return slot_mag(&c->loaded);
}

/*
 * The rounds word of @m (struct magazine), 0 for none, in a single load:
 * a drain, a reader or the reaper may read a magazine that a section
 * still commits to.
 */
static inline long mag_word(const struct magazine *m)
{
	return m ? READ_ONCE(m->rounds) : 0;
}

/* Rounds of @m, 0 for none: what an owner takes out or puts back. */
static inline long mag_nr(const struct magazine *m)
{
	return mag_word_rounds(mag_word(m));
}

/*
 * The push counter that sections' pushes into *@slotp belong to: the
 * slot's own frees for loaded, the alien slot's for an alien one.
 */
static inline unsigned long *slot_frees(struct kmem_cache_cpu *c,
					struct magazine **slotp)
{
	if (slotp == &c->loaded)
		return &c->frees;
	return &container_of(slotp, struct alien_slot, mag)->frees;
}

/*
 * CONFIG_STATS: add @n to a slot's push counter.  Only under the slot
 * lock, whose holder is the only writer; the relaxed store lets the
 * reaper's lock-free signature (slot_signature()) read a whole value.
 */
static inline void frees_add(unsigned long *frees, unsigned long n)
{
	if (IS_ENABLED(CONFIG_STATS))
		__atomic_store_n(frees, *frees + n, __ATOMIC_RELAXED);
}

/*
 * @m, taken out of a section-read pointer whose pushes @frees counts
 * and which no section can commit to any more: move the pushes its
 * word counted (struct magazine) to @frees, leaving the bare rounds.
 * Under the slot lock, which orders it with the readers.  A store
 * readers of the rounds see whole (mag_cpu_objects() takes no lock).
 */
static void mag_settle(struct magazine *m, unsigned long *frees)
{
	long w;

	if (!m)
		return;
	w = m->rounds;
	frees_add(frees, mag_word_pushes(w));
	WRITE_ONCE(m->rounds, mag_word_rounds(w));
}

/*
 * CONFIG_STATS: @c's loaded pointer lost (@delta > 0) or got (< 0)
 * rounds that no section popped; kmem_cache_cpu.rounds_out says why.
 * Always under the slot lock, which orders it with the readers.
 */
static inline void slot_rounds_out(struct kmem_cache_cpu *c, long delta)
{
	lock_assert_held(&c->lock);
	if (IS_ENABLED(CONFIG_STATS))
		c->rounds_out += (unsigned long)delta;
}

/*
 * Take the magazine out of a pointer sections read, leaving mag_none:
 * the magazine, or NULL if there was none.  From any CPU; @order is the
 * caller's (see each).
 */
static inline struct magazine *slot_xchg_none(struct magazine **slotp,
					      int order)
{
	return mag_or_null(__atomic_exchange_n(slotp, &mag_none, order));
}

/* The other way: what a section-read pointer holds for @m (or none). */
static inline struct magazine *mag_or_none(struct magazine *m)
{
	return m ? m : &mag_none;
}

/*
 * The magazine pointer of @c that objects of @node go to: the loaded
 * one for the CPU's own node (or NUMA_NO_NODE), else the alien one.
 */
static inline struct magazine **slot_for(struct kmem_cache_cpu *c, int node)
{
	if (node == NUMA_NO_NODE || node == c->node)
		return &c->loaded;
	return &c->alien[node].mag;
}

/*
 * Lock this CPU's slot and take out the magazine that objects of @node
 * go to (slot_for(); *@mp, maybe NULL), telling where it came from in
 * *@slotp for slot_release_at().  NULL when this thread has no rseq in
 * an rseq mode.
 */
static struct kmem_cache_cpu *slot_own_for(struct kmem_cache *s, int node,
					   struct magazine **mp,
					   struct magazine ***slotp)
{
	struct kmem_cache_cpu *c;
	int cpu;

	if (percpu_mode == PERCPU_LOCK) {
		c = &s->cpu_slab[percpu_lock_index()];
		uslab_lock(&c->lock, RANK_CPU_SLOT);
		*slotp = slot_for(c, node);
		/*
		 * Taken out as in the rseq modes: while owned, no walker
		 * finds it (the owner may hand it to the depot, which may
		 * free it).  The lock orders everything else: relaxed.
		 */
		*mp = slot_xchg_none(*slotp, __ATOMIC_RELAXED);
		goto owned;
	}
	for (;;) {
		cpu = percpu_thread_cpu();
		if (cpu < 0)
			return NULL;
		c = &s->cpu_slab[cpu];
		uslab_lock(&c->lock, RANK_CPU_SLOT);
		*slotp = slot_for(c, node);
		if (rseq_take(percpu_rseq_off, (unsigned long)cpu, *slotp, mp,
			      &mag_none) == RSEQ_OK) {
			tsan_acquire(*slotp); /* see mag_free_fast() */
			*mp = mag_or_null(*mp);
			goto owned;
		}
		uslab_unlock(&c->lock); /* moved: follow the thread */
	}
owned:
	/* No section can touch *@mp now: its rounds are final. */
	mag_settle(*mp, slot_frees(c, *slotp));
	if (*slotp == &c->loaded)
		slot_rounds_out(c, mag_nr(*mp));
	return c;
}

/* Lock this CPU's slot and take its loaded magazine out. */
static struct kmem_cache_cpu *slot_own(struct kmem_cache *s,
				       struct magazine **mp)
{
	struct magazine **slotp;

	return slot_own_for(s, NUMA_NO_NODE, mp, &slotp);
}

/*
 * Release: a walker (mag_cpu_objects) that loads prev with acquire sees
 * the magazine initialised.
 */
static inline void slot_set_prev(struct kmem_cache_cpu *c, struct magazine *m)
{
	__atomic_store_n(&c->prev, m, __ATOMIC_RELEASE);
}

/* The node whose objects go to @c's magazine pointer @slotp. */
static inline __attribute__((unused)) int slot_node(struct kmem_cache_cpu *c,
						    struct magazine **slotp)
{
	if (slotp == &c->loaded)
		return c->node;
	return (int)(container_of(slotp, struct alien_slot, mag) - c->alien);
}

/*
 * Publish @m in the slot's magazine pointer *@slotp; let the slot go.
 * Every magazine a slot publishes is of the node the slot serves: the
 * loaded one comes from the CPU's node's depot, an alien one from its
 * home's.  The push section relies on it and does not check the node.
 */
static void slot_release_at(struct kmem_cache_cpu *c, struct magazine **slotp,
			    struct magazine *m)
{
	uslab_assert(!m || m->node == slot_node(c, slotp));
	/* Settled: the pushes in its word are all this slot's own. */
	uslab_assert(!m || !mag_word_pushes(m->rounds));
	if (slotp == &c->loaded)
		slot_rounds_out(c, -mag_nr(m));
	/*
	 * Release: @m's rounds and objs, written under the lock perhaps on
	 * another CPU, are visible before a section can load @m.  In the
	 * rseq modes *@slotp is mag_none here, so this store cannot race
	 * with a section's commit (sections only write inside magazines,
	 * and never inside mag_none).
	 */
	__atomic_store_n(slotp, mag_or_none(m), __ATOMIC_RELEASE);
	uslab_unlock(&c->lock);
}

static void slot_release(struct kmem_cache_cpu *c, struct magazine *m)
{
	slot_release_at(c, &c->loaded, m);
}

/*
 * Off the lock path and the slow paths (the rseq sections pop on their
 * own).  Under valgrind the slot is cleared, so that memcheck's leak
 * checker finds no stale copy of a pointer the user leaked.
 */
static inline void *mag_pop(struct magazine *m)
{
	long r = m->rounds - 1;
	void *obj = m->objs[r];

	WRITE_ONCE(m->rounds, r);
	if (unlikely(sanitize_valgrind))
		m->objs[r] = NULL;
	return obj;
}

static inline void mag_push(struct magazine *m, void *obj)
{
	m->objs[m->rounds] = obj;
	WRITE_ONCE(m->rounds, m->rounds + 1);
}

/*
 * A magazine from the depot was last written or read by another CPU as
 * often as not (a batch freed on one CPU is allocated on another, and
 * the empty magazines go back the other way), so its object lines are in
 * that CPU's cache.
 *
 * Pops only read them: ask for the lines the fast path meets first, in
 * the order it meets them (from the top down), all at once, so that it
 * does not meet the misses one at a time.  The first MAG_PREFETCH_LINES
 * lines at most: a grown magazine has up to 128, more than the misses a
 * core keeps in flight, and the hardware prefetcher follows the stream
 * past them.
 *
 * Pushes write them, and each line must first be taken from the other
 * CPU's cache.  Met one push at a time, every line's transfer holds up
 * the store buffer, which drains in order: the pushes' own stores, and
 * the caller's, queue behind it, and the buffer fills.  So the owner of
 * an empty magazine writes one word of every object line above its
 * rounds (dead slots: no section reaches the magazine before it is put
 * in a slot) in one burst of stores, whose transfers overlap; by the time
 * the pushes come, the lines are this CPU's.  A prefetch for writing
 * instead of the stores did not do it: on an AMD EPYC (Zen 4) the
 * xthread benchmark's consumer, which frees every object the other CPU
 * allocates, took 7.2 ns per object with the first 16 lines prefetched
 * for writing and 5.2 with every line written (DPDK: 5.8).
 */
#define MAG_PREFETCH_LINES 16

static void mag_prefetch(const struct magazine *m)
{
	const unsigned int step = CACHE_LINE_SIZE / sizeof(void *);
	unsigned int i,
		n = MIN((unsigned int)m->rounds, MAG_PREFETCH_LINES * step);

	for (i = 1; i <= n; i += step)
		__builtin_prefetch(&m->objs[m->rounds - i], 0, 3);
}

/* Make @m's object lines above its rounds this CPU's (see above). */
static void mag_claim_lines(struct magazine *m)
{
	const unsigned int step = CACHE_LINE_SIZE / sizeof(void *);
	long i;

	for (i = m->rounds; i < m->capacity; i += step)
		m->objs[i] = NULL;
}

/* ---- Slow paths on an owned slot --------------------------------------- */

/*
 * One object for the owner of @c, whose loaded magazine is *@mp; leaves
 * in *@mp what should be loaded next.  NULL when neither the magazines,
 * the depot nor the node's existing slabs have a free object: the caller
 * lets the slot go and takes one from slab_alloc(), which lays out a new
 * slab, constructors included, with no lock held (a constructor may
 * allocate, even from this cache).
 */
static void *mag_alloc_owned(struct kmem_cache *s, struct kmem_cache_cpu *c,
			     struct magazine **mp)
{
	struct magazine *m = *mp, *prev = c->prev, *full;
	struct depot *d = s->depot[c->node];
	size_t got;

	lock_assert_held(&c->lock);
	if (m && m->rounds)
		goto pop;
	if (prev && prev->rounds) {
		/* Previous has objects: swap (Bonwick's "prev is full"). */
		slot_set_prev(c, m);
		m = prev;
		goto pop;
	}
	/*
	 * prev leaves the slot before the depot may free it: a walker
	 * that starts after that call_rcu() must not find it (RCU's rule:
	 * unpublish, then retire).
	 */
	slot_set_prev(c, NULL);
	full = depot_get_full(d, prev);
	if (full) {
		mag_prefetch(full);
		/* prev, empty, went to the depot; loaded becomes prev. */
		slot_set_prev(c, m);
		m = full;
		goto pop;
	}
	slot_set_prev(c, prev); /* the depot had none: still ours */
	/* The depot has none: the node's slabs fill a magazine. */
	if (!m) {
		m = prev;
		slot_set_prev(c, NULL);
	}
	if (!m)
		m = depot_mag_new(d);
	*mp = m;
	if (!m)
		return NULL;
	got = slab_alloc_refill(s, c->node, (size_t)m->capacity, m->objs);
	WRITE_ONCE(m->rounds, (long)got);
	if (!got)
		return NULL;
pop:
	*mp = m;
	return mag_pop(m);
}

/*
 * What the push section checks, for the owner of @c's slot: @m has room,
 * @obj is not on top (the naive double free) and is of this CPU's node.
 * Anything else is mag_free_owned()'s to sort out.
 */
static inline bool mag_can_push(struct kmem_cache_cpu *c, struct magazine *m,
				void *obj)
{
	return m && m->rounds < m->capacity &&
	       (!m->rounds || m->objs[m->rounds - 1] != obj) &&
	       obj_home(obj) == c->node;
}

/*
 * Remote free (SLAB's alien caches): @obj's home is @node, not this
 * CPU's.  It goes into this slot's alien magazine for @node; a full one
 * is counted and handed to @node's depot, where that node's CPUs find
 * it (or, past the depot's bound, its objects go back to their slabs).
 * Never into this CPU's own magazines: node-local memory stays local.
 */
/* Objects of @node freed on other nodes' CPUs, counted as they go home. */
static void count_remote(struct kmem_cache *s, int node, unsigned long nr)
{
	__atomic_fetch_add(&stat_events(s, node)->remote_frees, nr,
			   __ATOMIC_RELAXED);
}

/* A full alien magazine goes home; an empty one of @node's, or NULL. */
static struct magazine *alien_send_home(struct kmem_cache *s,
					struct magazine *a, int node)
{
	struct magazine *empty;

	count_remote(s, node, (unsigned long)a->rounds);
	empty = depot_get_empty(s, s->depot[node], a);
	if (empty)
		mag_claim_lines(empty);
	return empty;
}

/*
 * For the owner of @c's alien slot for @node, whose magazine is @a:
 * push @obj, and return what the slot should hold next.  @a may come
 * full (the fast path fills it and leaves the rest to this path): it
 * goes home first.  A magazine that this push fills goes home at once.
 */
static struct magazine *mag_free_remote(struct kmem_cache *s,
					struct kmem_cache_cpu *c,
					struct magazine *a, void *obj, int node)
{
	lock_assert_held(&c->lock);
	if (a && a->rounds && a->objs[a->rounds - 1] == obj) {
		debug_bad_free(s, obj, "double free");
		return a;
	}
	if (a && a->rounds >= a->capacity)
		a = alien_send_home(s, a, node);
	if (!a)
		a = depot_mag_new(s->depot[node]);
	if (!a) {
		count_remote(s, node, 1);
		slab_free_many(s, &obj, 1);
		return NULL;
	}
	mag_push(a, obj);
	if (a->rounds < a->capacity)
		return a;
	return alien_send_home(s, a, node);
}

/*
 * kmem_cache_alloc_node() of another node's object on this CPU (a remote
 * allocation): pop from this CPU's alien magazine for @node, whose
 * objects are @node's, freed here on their way home (counted as remote
 * frees now, since they will not get there); when it is empty, swap it
 * for a full magazine of @node's depot.  NULL when neither has one: the
 * caller takes the object from @node's slabs.  A thread that moved to
 * one of @node's CPUs meanwhile pops from that CPU's loaded magazine,
 * whose objects are @node's too.
 */
void *mag_alloc_remote(struct kmem_cache *s, int node)
{
	struct magazine *m, **slotp, *full;
	struct kmem_cache_cpu *c = slot_own_for(s, node, &m, &slotp);
	bool alien;
	void *obj = NULL;

	if (!c)
		return NULL;
	alien = slotp != &c->loaded;
	if (!m || !m->rounds) {
		/* m (empty) goes to @node's depot in the same lock hold. */
		full = depot_get_full(s->depot[node], m);
		if (full)
			m = full;
	}
	if (m && m->rounds) {
		obj = mag_pop(m);
		if (alien)
			count_remote(s, node, 1);
	}
	slot_release_at(c, slotp, m);
	return obj;
}

/* The mirror of mag_alloc_owned(): put @obj away for the owner of @c. */
static void mag_free_owned(struct kmem_cache *s, struct kmem_cache_cpu *c,
			   struct magazine **mp, void *obj)
{
	struct magazine *m = *mp, *prev = c->prev, *empty;
	struct depot *d = s->depot[c->node];
	int node = obj_home(obj);

	lock_assert_held(&c->lock);
	/* Other nodes' objects go to their alien slot (__mag_free_slow). */
	uslab_assert(node == c->node);
	if (m && m->rounds && m->objs[m->rounds - 1] == obj) {
		debug_bad_free(s, obj, "double free");
		return;
	}
	if (m && m->rounds < m->capacity)
		goto push;
	if (prev && prev->rounds < prev->capacity) {
		/* Previous has room: swap (Bonwick's "prev is empty"). */
		slot_set_prev(c, m);
		m = prev;
		goto push;
	}
	/*
	 * prev (full, or none) goes to the depot for an empty magazine,
	 * and leaves the slot first: the depot may free it (RCU's rule).
	 */
	slot_set_prev(c, NULL);
	empty = depot_get_empty(s, d, prev);
	if (!empty)
		empty = depot_mag_new(d);
	if (empty)
		mag_claim_lines(empty);
	slot_set_prev(c, m);
	if (!empty) {
		/* No memory for a magazine: straight back to the slab. */
		*mp = NULL;
		slab_free_many(s, &obj, 1);
		return;
	}
	m = empty;
push:
	mag_push(m, obj);
	*mp = m;
}

/*
 * mag_alloc_owned(), then let the slot go; if the magazines had nothing,
 * one object from a new slab, laid out with no lock held.
 */
static void *mag_alloc_owned_release(struct kmem_cache *s,
				     struct kmem_cache_cpu *c,
				     struct magazine *m)
{
	void *obj = mag_alloc_owned(s, c, &m);
	int node = c->node;

	slot_release(c, m);
	if (unlikely(!obj))
		obj = slab_alloc(s, 0, node, NULL);
	return obj;
}

/* A thread without rseq in an rseq mode: no slot, the slab layer. */
static __noinline void *mag_alloc_nocpu(struct kmem_cache *s)
{
	return slab_alloc(s, 0, numa_node_id(), NULL);
}

static __noinline void mag_free_nocpu(struct kmem_cache *s, void *obj)
{
	slab_free_many(s, &obj, 1);
}

static void *mag_alloc_lockpath(struct kmem_cache *s);
static bool mag_free_lockpath(struct kmem_cache *s, void *obj);

/*
 * Both slow paths are also where lock mode starts: there the fast path
 * reads cpu_id -1 from an area that is never registered.
 */
static void *__mag_alloc_slow(struct kmem_cache *s)
{
	struct magazine *m;
	struct kmem_cache_cpu *c;

	c = slot_own(s, &m);
	if (!c)
		return mag_alloc_nocpu(s);
	return mag_alloc_owned_release(s, c, m);
}

/*
 * The fast path counts its own objects, and so does lock mode's pop;
 * the other slow paths count here.
 */
__noinline void *mag_alloc_slow(struct kmem_cache *s)
{
	void *obj;

	if (percpu_mode == PERCPU_LOCK)
		return mag_alloc_lockpath(s);
	obj = __mag_alloc_slow(s);
	if (obj)
		stat_obj(s, obj, allocs);
	return obj;
}

/*
 * The free slow path, uncounted: own the slot's magazine that @obj's
 * node goes to (loaded, or the alien one for a remote free) and put it
 * away there.
 */
static void __mag_free_slow(struct kmem_cache *s, void *obj)
{
	struct magazine *m, **slotp;
	struct kmem_cache_cpu *c;
	int node = obj_home(obj);

	c = slot_own_for(s, node, &m, &slotp);
	if (!c) {
		mag_free_nocpu(s, obj);
		return;
	}
	if (slotp == &c->loaded)
		mag_free_owned(s, c, &m, obj);
	else
		m = mag_free_remote(s, c, m, obj, node);
	slot_release_at(c, slotp, m);
}

__noinline void mag_free_slow(struct kmem_cache *s, void *obj)
{
	if (percpu_mode == PERCPU_LOCK && mag_free_lockpath(s, obj))
		return;
	stat_obj(s, obj, frees);
	__mag_free_slow(s, obj);
}

/*
 * Lock mode: the whole operation under the slot lock; a pop from loaded
 * is counted as the fast path's are (rounds_out), the rest here.
 */
static void *mag_alloc_lockpath(struct kmem_cache *s)
{
	struct kmem_cache_cpu *c = &s->cpu_slab[percpu_lock_index()];
	struct magazine *m;
	void *obj;

	uslab_lock(&c->lock, RANK_CPU_SLOT);
	m = slot_loaded(c);
	if (likely(m && m->rounds)) {
		obj = mag_pop(m);
		uslab_unlock(&c->lock);
		return obj;
	}
	obj = mag_alloc_owned_release(s, c, m);
	if (obj)
		stat_obj(s, obj, allocs);
	return obj;
}

/*
 * Lock mode's push, counted: true when @obj fitted in the loaded
 * magazine under the slot lock (it is then of the slot's node);
 * anything else (full, a naive double free, another node's object) is
 * __mag_free_slow()'s, as in the rseq modes.  The count goes to the
 * slot's own frees, where the rseq fast path's pushes end up, not to
 * the node's shared counters: an atomic add on a line every CPU of the
 * node writes was most of the cost with two threads.  Its pops, like
 * the fast path's, are not counted but derived (rounds_out).
 */
static bool mag_free_lockpath(struct kmem_cache *s, void *obj)
{
	struct kmem_cache_cpu *c = &s->cpu_slab[percpu_lock_index()];
	struct magazine *m;
	bool pushed = false;

	uslab_lock(&c->lock, RANK_CPU_SLOT);
	m = slot_loaded(c);
	if (likely(mag_can_push(c, m, obj))) {
		mag_push(m, obj);
		frees_add(&c->frees, 1);
		pushed = true;
	}
	uslab_unlock(&c->lock);
	return pushed;
}

/* ---- Bulk ---------------------------------------------------------------- */

/*
 * Up to @n objects into @p: whole runs out of the loaded and previous
 * magazines, whole full magazines from the depot, then, with the slot
 * let go (constructors may run), one batch from the slab layer.
 * Returns how many (fewer only on ENOMEM).
 */
size_t mag_alloc_bulk(struct kmem_cache *s, size_t n, void **p)
{
	struct magazine *m, *full;
	struct kmem_cache_cpu *c = slot_own(s, &m);
	size_t done = 0;
	int node;

	if (!c)
		return slab_alloc_bulk(s, 0, numa_node_id(), n, p, NULL);
	while (done < n) {
		struct magazine *prev = c->prev;

		if (m && m->rounds) {
			size_t k = MIN(n - done, (size_t)m->rounds);

			memcpy(p + done, m->objs + m->rounds - (long)k,
			       k * sizeof(void *));
			WRITE_ONCE(m->rounds, m->rounds - (long)k);
			if (unlikely(sanitize_valgrind)) /* as mag_pop() */
				memset(m->objs + m->rounds, 0,
				       k * sizeof(void *));
			done += k;
		} else if (prev && prev->rounds) {
			slot_set_prev(c, m);
			m = prev;
		} else {
			/* prev leaves the slot first: the depot may free it. */
			slot_set_prev(c, NULL);
			full = depot_get_full(s->depot[c->node], prev);
			if (!full) {
				slot_set_prev(c, prev);
				break;
			}
			slot_set_prev(c, m);
			m = full;
		}
	}
	node = c->node;
	slot_release(c, m);
	if (done < n)
		done += slab_alloc_bulk(s, 0, node, n - done, p + done, NULL);
	return done;
}

/*
 * Put away @n validated objects (NULLs skipped) through the magazines.
 * Other nodes' objects wait until the loaded magazine is let go: each
 * then owns its alien slot in turn.
 */
void mag_free_bulk(struct kmem_cache *s, size_t n, void **p)
{
	struct magazine *m;
	struct kmem_cache_cpu *c = slot_own(s, &m);
	size_t i, remote = 0;
	int node = c ? c->node : 0;

	for (i = 0; i < n; i++) {
		if (!p[i])
			continue;
		if (!c)
			mag_free_nocpu(s, p[i]);
		else if (mag_can_push(c, m, p[i]))
			mag_push(m, p[i]);
		else if (obj_home(p[i]) != node)
			remote++;
		else
			mag_free_owned(s, c, &m, p[i]);
	}
	if (c)
		slot_release(c, m);
	for (i = 0; remote && i < n; i++)
		if (p[i] && obj_home(p[i]) != node) {
			__mag_free_slow(s, p[i]);
			remote--;
		}
}

/* ---- Draining, statistics, fork ------------------------------------------ */

static void mag_flush(struct kmem_cache *s, struct magazine *m)
{
	if (!m)
		return;
	depot_mag_flush(s, m);
	depot_mag_free(m);
}

/* A magazine a drain or the reaper took from a CPU slot. */
struct taken_mag {
	struct magazine *m;
	/*
	 * For a magazine sections could reach (loaded or alien): its slot,
	 * where its pushes are counted, and its word when taken.
	 */
	struct kmem_cache_cpu *c;
	unsigned long *frees;
	long word;
	int home; /* the node its objects go to; -1: the CPU's own */
};

/*
 * Take *@slotp (loaded or alien) out of @c, under its lock, into @t: its
 * rounds and pushes so far are counted now, as if settled.  Sections on
 * the CPU that loaded the old pointer may still commit on the magazine
 * (several: their stores may not have reached memory yet), so its word
 * is not final until the caller's fence; slot_settle_taken() then
 * counts what they did.  Meanwhile readers do not see those late
 * commits, only what the slot does after the take: a figure that lags
 * and never runs ahead, and the late commits appear at once when
 * settled.
 */
static void slot_take_section(struct kmem_cache_cpu *c, struct magazine **slotp,
			      struct taken_mag *t, int home)
{
	struct magazine *m = slot_xchg_none(slotp, __ATOMIC_ACQ_REL);
	long w = mag_word(m);

	*t = (struct taken_mag){ .m = m,
				 .c = c,
				 .frees = slot_frees(c, slotp),
				 .word = w,
				 .home = home };
	frees_add(t->frees, mag_word_pushes(w));
	if (slotp == &c->loaded)
		slot_rounds_out(c, mag_word_rounds(w));
}

/* After the fence: what sections committed on @t->m after the take. */
static void slot_settle_taken(struct taken_mag *t)
{
	struct kmem_cache_cpu *c = t->c;
	long w;

	if (!t->m)
		return;
	uslab_lock(&c->lock, RANK_CPU_SLOT);
	w = t->m->rounds;
	frees_add(t->frees, mag_word_pushes(w) - mag_word_pushes(t->word));
	if (t->home < 0)
		slot_rounds_out(c,
				mag_word_rounds(w) - mag_word_rounds(t->word));
	WRITE_ONCE(t->m->rounds, mag_word_rounds(w));
	uslab_unlock(&c->lock);
}

/*
 * Take every magazine out of @c, under its lock, whether or not a thread
 * runs on its CPU: loaded, previous and the alien ones, appended to @t
 * at *@nt.  Acquire: the exchanges see what the last section put in
 * each.  A section may still be pushing to or popping from a taken
 * magazine until the caller's percpu_fence_all(); only then may it
 * touch the magazines (slot_flush_taken()).
 */
static void slot_take_all(struct kmem_cache *s, struct kmem_cache_cpu *c,
			  struct taken_mag *t, size_t *nt)
{
	unsigned int k;

	uslab_lock(&c->lock, RANK_CPU_SLOT);
	slot_take_section(c, &c->loaded, &t[(*nt)++], -1);
	t[(*nt)++] = (struct taken_mag){ .m = c->prev, .home = -1 };
	slot_set_prev(c, NULL);
	for (k = 0; k < s->nr_nodes; k++)
		slot_take_section(c, &c->alien[k].mag, &t[(*nt)++], (int)k);
	uslab_unlock(&c->lock);
}

/* Give back what slot_take_all() took, once the fence is passed. */
static void slot_flush_taken(struct kmem_cache *s, struct taken_mag *t,
			     size_t nt)
{
	size_t i;

	for (i = 0; i < nt; i++) {
		struct magazine *m = t[i].m;

		if (!m)
			continue;
		if (t[i].c)
			slot_settle_taken(&t[i]);
		if (t[i].home >= 0)
			count_remote(s, t[i].home, (unsigned long)m->rounds);
		mag_flush(s, m);
	}
}

#ifdef USLAB_TEST_HOOKS
void (*mag_drain_taken_hook)(void);
#endif

/* Magazines taken from one CPU: loaded, previous, one alien per node. */
#define DRAIN_PER_CPU (2 + MAX_NUMNODES)
/* CPUs drained per membarrier fence: at most 256 magazines (8 KiB). */
#define DRAIN_BATCH (256 / DRAIN_PER_CPU)

/*
 * Give every object cached for @s back to the slab layer: each CPU's
 * magazines, whether or not a thread runs there now (loaded, previous,
 * and the alien ones, whose objects are counted as sent home), then the
 * depots.
 */
void mag_drain(struct kmem_cache *s)
{
	struct taken_mag taken[DRAIN_BATCH * DRAIN_PER_CPU];
	unsigned int first, i, nr;
	size_t nt;

	if (!s->cpu_slab)
		return;
	for (first = 0; first < nr_cpu_ids; first += DRAIN_BATCH) {
		nr = MIN(nr_cpu_ids - first, DRAIN_BATCH);
		nt = 0;
		for (i = 0; i < nr; i++)
			slot_take_all(s, &s->cpu_slab[first + i], taken, &nt);
#ifdef USLAB_TEST_HOOKS
		if (mag_drain_taken_hook)
			mag_drain_taken_hook();
#endif
		/* Sections that loaded a taken pointer are over after this. */
		percpu_fence_all();
		slot_flush_taken(s, taken, nt);
	}
	for (i = 0; i < s->nr_nodes; i++)
		depot_purge(s, s->depot[i]);
}

/* ---- Reaping idle CPUs -------------------------------------------------- */

static unsigned long sig_mix(unsigned long h, unsigned long v)
{
	return (h ^ v) * 0x100000001b3UL;
}

static unsigned long sig_mag(unsigned long h, struct magazine **slot)
{
	struct magazine *m = slot_mag(slot);

	h = sig_mix(h, (unsigned long)m);
	return m ? sig_mix(h, (unsigned long)READ_ONCE(m->rounds)) : h;
}

/*
 * What a slot holds and has counted, folded into one word: any section
 * committed on it, or any slow path that changed it, changes the word
 * (the counters grow; the rounds move; magazines are swapped).  0 for a
 * slot that holds no magazine.  Read without the lock, under RCU.
 */
static unsigned long slot_signature(struct kmem_cache *s,
				    struct kmem_cache_cpu *c)
{
	unsigned long h = 0xcbf29ce484222325UL;
	bool any;
	unsigned int i;

	uslab_rcu_read_lock();
	any = slot_mag(&c->loaded) || READ_ONCE(c->prev);
	h = sig_mag(h, &c->loaded);
	h = sig_mag(h, &c->prev);
	h = sig_mix(h, READ_ONCE(c->frees));
	for (i = 0; i < s->nr_nodes; i++) {
		any |= slot_mag(&c->alien[i].mag) != NULL;
		h = sig_mag(h, &c->alien[i].mag);
		h = sig_mix(h, READ_ONCE(c->alien[i].frees));
	}
	uslab_rcu_read_unlock();
	return any ? h | 1 : 0;
}

/*
 * Whether @c's loaded magazine has counted MAG_PUSHES_SETTLE pushes in
 * its word (struct magazine): a busy slot whose magazine never empties
 * or fills, which only a drain settles.  Read without the lock.
 */
static bool slot_pushes_due(struct kmem_cache_cpu *c)
{
	bool due;

	uslab_rcu_read_lock();
	due = mag_word_pushes(mag_word(slot_mag(&c->loaded))) >=
	      MAG_PUSHES_SETTLE;
	uslab_rcu_read_unlock();
	return due;
}

/*
 * The reaper, once an interval (after SLAB's drain_array(); Bonwick's
 * reaper leaves the CPUs alone): a CPU slot that did not change during
 * a whole interval gives its magazines back, loaded, previous and alien
 * ones, as mag_drain() does, so that an idle CPU (or one whose threads
 * moved away) holds no objects for long.  The objects go to their slabs,
 * which the slab layer's reaping then releases.  A slot that is in use
 * again by then just refills.  So does a busy slot whose loaded word has
 * counted MAG_PUSHES_SETTLE pushes (slot_pushes_due()): about once in
 * twenty minutes at a push per nanosecond.  Called with slab_mutex held.
 */
void mag_reap(struct kmem_cache *s)
{
	size_t per_cpu = 2 + s->nr_nodes, nt = 0;
	struct taken_mag *taken;
	unsigned int cpu;

	if (!s->cpu_slab)
		return;
	taken = malloc(nr_cpu_ids * per_cpu * sizeof(*taken));
	if (!taken)
		return;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct kmem_cache_cpu *c = &s->cpu_slab[cpu];
		unsigned long sig = slot_signature(s, c);

		if ((!sig || sig != c->reap_sig) && !slot_pushes_due(c)) {
			c->reap_sig = sig; /* in use, or nothing to give */
			continue;
		}
		c->reap_sig = 0;
		slot_take_all(s, c, taken, &nt);
	}
	if (!nt)
		goto out;
	/* Sections that loaded a taken pointer are over after this. */
	percpu_fence_all();
	slot_flush_taken(s, taken, nt);
out:
	free(taken);
}

/* Rounds in a slot's magazine pointer (any of them; mag_none has 0). */
static unsigned long mag_rounds(struct magazine **slot)
{
	return (unsigned long)mag_nr(slot_mag(slot));
}

/*
 * Objects of @node (all nodes for -1) in CPU magazines: the loaded,
 * previous and parked magazines of @node's CPUs, and every CPU's batch
 * going home to @node.  Read without the slot locks: an estimate while
 * threads run.
 */
unsigned long mag_cpu_objects(struct kmem_cache *s, int node)
{
	unsigned long n = 0;
	unsigned int cpu, i;

	if (!s->cpu_slab)
		return 0;
	/* Magazines are freed through call_rcu: safe to read in here. */
	uslab_rcu_read_lock();
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct kmem_cache_cpu *c = &s->cpu_slab[cpu];

		if (node < 0 || c->node == node)
			n += mag_rounds(&c->loaded) + mag_rounds(&c->prev) +
			     mag_rounds(&c->frozen);
		for (i = 0; i < s->nr_nodes; i++)
			if (node < 0 || (int)i == node)
				n += mag_rounds(&c->alien[i].mag) +
				     mag_rounds(&c->alien[i].frozen);
	}
	uslab_rcu_read_unlock();
	return n;
}

/*
 * Pushes into the section-read pointer *@slotp of @c so far: its frees
 * and what its magazine's word counts (struct magazine), taken with the
 * rounds in one load into *@rounds.  Under the slot lock, which every
 * change to the frees and to a word's pushes, but the sections', holds.
 */
static unsigned long slot_pushes(struct kmem_cache_cpu *c,
				 struct magazine **slotp, long *rounds)
{
	long w = mag_word(slot_mag(slotp));

	lock_assert_held(&c->lock);
	*rounds = mag_word_rounds(w);
	return *slot_frees(c, slotp) + mag_word_pushes(w);
}

/*
 * The per-CPU counts (CONFIG_STATS), added for each node i to allocs[i]
 * and frees[i] (s->nr_nodes of each): frees of i's objects, and
 * allocations as the pops kmem_cache_cpu's formula gives, for every CPU
 * whose node is i, and every CPU's remote frees of i's objects.  Each
 * slot is read under its lock, taken once for all nodes, so a CPU's
 * figures agree with each other, lag at most the late commits of a
 * drain in progress, and never go down from one reading to the next.
 */
void mag_cpu_events(struct kmem_cache *s, unsigned long *allocs,
		    unsigned long *frees)
{
	unsigned int cpu, k;
	long rounds;

	if (!IS_ENABLED(CONFIG_STATS))
		return;
	for (cpu = 0; s->cpu_slab && cpu < nr_cpu_ids; cpu++) {
		struct kmem_cache_cpu *c = &s->cpu_slab[cpu];
		unsigned long pushes;

		uslab_lock(&c->lock, RANK_CPU_SLOT);
		/* Remote frees of each node's objects, on this CPU. */
		for (k = 0; k < s->nr_nodes; k++)
			frees[k] += slot_pushes(c, &c->alien[k].mag, &rounds);
		pushes = slot_pushes(c, &c->loaded, &rounds);
		frees[c->node] += pushes;
		allocs[c->node] +=
			pushes - (unsigned long)rounds - c->rounds_out;
		uslab_unlock(&c->lock);
	}
}

/* Take the magazine a section may push to out of *@slot, into *@lot. */
static void park(struct magazine **slot, struct magazine **lot)
{
	__atomic_store_n(lot, slot_xchg_none(slot, __ATOMIC_ACQ_REL),
			 __ATOMIC_RELEASE);
}

static void unpark(struct magazine **slot, struct magazine **lot)
{
	__atomic_store_n(slot, mag_or_none(*lot), __ATOMIC_RELEASE);
	WRITE_ONCE(*lot, NULL);
}

/*
 * fork(): lock every slot and park the magazines sections push to
 * (loaded, and the alien ones), so that after the caller's
 * percpu_fence_all() no section is writing any magazine while the
 * address space is copied (a child could otherwise inherit a round
 * count whose slot write it did not get).
 */
void mag_fork_prepare(struct kmem_cache *s)
{
	unsigned int cpu, i;

	if (!s->cpu_slab)
		return;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct kmem_cache_cpu *c = &s->cpu_slab[cpu];

		/* All of them, in CPU order: nested by that order. */
		uslab_lock_nested(&c->lock, RANK_CPU_SLOT);
		park(&c->loaded, &c->frozen);
		for (i = 0; i < s->nr_nodes; i++)
			park(&c->alien[i].mag, &c->alien[i].frozen);
	}
}

static void mag_fork_thaw(struct kmem_cache *s, bool child)
{
	unsigned int cpu, i;

	if (!s->cpu_slab)
		return;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct kmem_cache_cpu *c = &s->cpu_slab[cpu];

		unpark(&c->loaded, &c->frozen);
		for (i = 0; i < s->nr_nodes; i++)
			unpark(&c->alien[i].mag, &c->alien[i].frozen);
		if (child)
			pthread_mutex_init(&c->lock, NULL);
		else
			uslab_unlock(&c->lock);
	}
}

void mag_fork_parent(struct kmem_cache *s)
{
	mag_fork_thaw(s, false);
}

void mag_fork_child(struct kmem_cache *s)
{
	mag_fork_thaw(s, true);
}
