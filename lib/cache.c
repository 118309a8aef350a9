// SPDX-License-Identifier: MIT
/*
 * cache.c - the kmem_cache API: argument checks, the cache registry,
 * create/destroy, alloc/free entry points, bulk, shrink; library start-up,
 * fork handlers and the reaper thread.
 *
 * Every public call validates what it is given and reports misuse on
 * stderr in one line ("uslab: ..."), with errno set where the call can
 * return an error.  kmem_cache_free() checks ownership through the page
 * descriptors: a pointer outside the arena, into a page that is not a
 * slab, into another cache's slab, or into the middle of a slot is
 * reported and ignored (the memory is leaked rather than the cache
 * corrupted).
 *
 * Allocation and free go through the per-CPU magazines (magazine.c);
 * debug caches, and allocations for another node, go to the slab layer;
 * with USLAB_PASSTHROUGH every cache's objects come from malloc
 * (passthrough.c), on the slow paths: such caches have no magazines,
 * and neither have those USLAB_FAILSLAB may fail (failslab.c), whose
 * slow paths ask it first.
 *
 * The reaper thread lives here, at the top, because its pass walks the
 * registry: every CONFIG_REAP_INTERVAL_MS (USLAB_REAP_MS overrides; 0
 * turns it off) it calls depot_reap() and slab_reap_node() for every
 * cache and node.
 *
 * Locking: slab_mutex guards the registry (cache_list) and is taken only
 * by create, destroy, the reaper and other walkers; allocation and free
 * never take it.  drain_mutex keeps fork() out of the drains of
 * kmem_cache_shrink() and kmem_cache_destroy().  reaper_lock guards the
 * reaper's interval and start-up and is never held with another uslab
 * lock.  Library start-up runs once under pthread_once.
 *
 * fork(): the atfork handlers have each layer take its own locks
 * (mag_, depot_, slab_, page_fork_prepare()) in the documented order
 * (internal.h); the magazine layer also parks every CPU's loaded
 * magazine, so the child inherits consistent lists and can allocate at
 * once.  liburcu's own
 * fork hooks go around ours: call_rcu_before_fork() first (its worker
 * finishes the callback it runs, which may take our page locks), then
 * our locks, then urcu_bp_before_fork() last (a thread holding one of our
 * locks may still need urcu-bp's registry lock to enter its first
 * read-side section or call_rcu()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "magazine.h"

static pthread_mutex_t slab_mutex = PTHREAD_MUTEX_INITIALIZER;

/*
 * Held across the drains of kmem_cache_shrink() and kmem_cache_destroy(),
 * which run without slab_mutex (or under it, from a callback of
 * uslab_for_each_cache(): so this lock ranks below it), and by the fork
 * handlers after slab_mutex.  Between its takes and its flush a drain
 * holds CPU magazines that only its own thread can give back, and that
 * thread does not exist in a forked child: fork() waits for the drain
 * to finish instead.  The drains that hold slab_mutex throughout (the
 * reaper's, the out-of-memory shrink of every cache) are kept apart from
 * fork() by slab_mutex itself.
 */
static pthread_mutex_t drain_mutex = PTHREAD_MUTEX_INITIALIZER;

static void cache_drain(struct kmem_cache *s)
{
	uslab_lock(&drain_mutex, RANK_DRAIN);
	mag_drain(s);
	uslab_unlock(&drain_mutex);
}

static struct list_head cache_list = LIST_HEAD_INIT(cache_list);
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_error;

#define CACHE_CREATE_MASK                                              \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON |       \
	 SLAB_HWCACHE_ALIGN | SLAB_STORE_USER | SLAB_RECLAIM_ACCOUNT | \
	 SLAB_PANIC | SLAB_TYPESAFE_BY_RCU | SLAB_NO_MERGE | SLAB_FAILSLAB)

/* ---- The reaper thread ------------------------------------------------- */

/*
 * One pass: each cache's depots give back the magazines the last
 * interval did not need, and its nodes the empty slabs nobody took.
 * slab_mutex keeps caches from being destroyed under it; it takes depot
 * and node locks below it.
 */
static void cache_reap_all(void)
{
	struct kmem_cache *s;
	unsigned int i;

	uslab_lock(&slab_mutex, RANK_SLAB_MUTEX);
	list_for_each_entry(s, &cache_list, list) {
		/* Idle CPUs' magazines first: the slabs may then empty. */
		mag_reap(s);
		for (i = 0; i < s->nr_nodes; i++) {
			if (s->cpu_slab)
				depot_reap(s, s->depot[i]);
			slab_reap_node(s, (int)i);
		}
	}
	uslab_unlock(&slab_mutex);
	/* kmalloc()'s page blocks that the interval did not reuse. */
	page_retained_reap();
}

static pthread_mutex_t reaper_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reaper_cond; /* wakes the reaper */
static pthread_cond_t reaper_idle = PTHREAD_COND_INITIALIZER;
static bool reaper_running, reaper_busy;
static unsigned int reap_ms; /* from uslab_env; tests change it */

static void *reaper_main(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&reaper_lock);
	for (;;) {
		unsigned int ms = reap_ms;

		if (!ms) {
			pthread_cond_wait(&reaper_cond, &reaper_lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&reaper_cond, &reaper_lock, &ts) !=
		    ETIMEDOUT)
			continue; /* interval changed: start over */
		reaper_busy = true;
		pthread_mutex_unlock(&reaper_lock);
		cache_reap_all();
		pthread_mutex_lock(&reaper_lock);
		reaper_busy = false;
		pthread_cond_broadcast(&reaper_idle);
	}
	return NULL;
}

static void reaper_cond_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&reaper_cond, &attr);
	pthread_condattr_destroy(&attr);
}

/*
 * Start the reaper once per process (again in a forked child, whose
 * reaper did not survive the fork).
 */
static void reaper_start(void)
{
	pthread_mutex_lock(&reaper_lock);
	if (reaper_running) {
		pthread_mutex_unlock(&reaper_lock);
		return;
	}
	reaper_cond_init();
	if (uslab_spawn(reaper_main, NULL, "uslab-reaper") == 0)
		reaper_running = true;
	else
		uslab_report("cannot start the reaper thread; magazines are "
			     "reaped only by kmem_cache_shrink()");
	pthread_mutex_unlock(&reaper_lock);
}

#ifdef USLAB_TEST_HOOKS
/*
 * Tests: change the interval (0 = never) and wake the reaper.  Returns
 * once no pass is running, so after reaper_set_interval(0) no magazine
 * is in the reaper's hands.
 */
void reaper_set_interval(unsigned int ms)
{
	pthread_mutex_lock(&reaper_lock);
	reap_ms = ms;
	pthread_cond_signal(&reaper_cond);
	while (reaper_busy)
		pthread_cond_wait(&reaper_idle, &reaper_lock);
	pthread_mutex_unlock(&reaper_lock);
}
#endif

/* In a forked child: the thread is gone and its lock state is unknown. */
static void reaper_fork_child(void)
{
	pthread_mutex_init(&reaper_lock, NULL);
	pthread_cond_init(&reaper_idle, NULL);
	reaper_running = false;
	reaper_busy = false;
}

/* ---- The library's threads -------------------------------------------- */

/*
 * The reaper, the export thread and liburcu's call_rcu worker start with
 * the library, unless uslab_defer_threads was set before it started
 * (libuslab-malloc.so, where most programs live a few milliseconds and
 * three threads would cost more than the rest of uslab's start-up):
 * then they start USLAB_DEFER_MS later, at the first
 * uslab_threads_poll() past that time (the preload's free() slow path),
 * or at once at uslab_threads_now() (what needs them: the RCU API).
 * Until the worker runs, call_rcu() heads wait in util.c.
 *
 * Locking: threads_lock serialises the start, and is taken with no other
 * uslab lock held; the start takes reaper_lock, export_lock and
 * liburcu's call_rcu_mutex under it.  threads_due_ns is cleared before
 * the start, so a free() the start itself makes (opendir(), under the
 * preload) does not try again; threads_up is a release store once they
 * run, read with acquire.
 */
bool uslab_defer_threads;
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t threads_due_ns; /* deferred start: when; 0: none pending */
static bool threads_up;

/* threads_lock held, or the process has one thread (start-up, fork). */
static void threads_start_locked(void)
{
	WRITE_ONCE(threads_due_ns, 0);
	/*
	 * The worker first: the first call_rcu() would take
	 * call_rcu_mutex to create it, which the fork hooks hold (see top).
	 */
	urcu_bp_get_default_call_rcu_data();
	uslab_rcu_worker_started();
	reaper_start();
	export_start();
	__atomic_store_n(&threads_up, true, __ATOMIC_RELEASE);
}

/* At start-up and in a forked child: start them, or set when. */
static void threads_init(void)
{
	threads_up = false;
	if (uslab_defer_threads && uslab_env.defer_ms)
		threads_due_ns =
			uslab_now_ns() + uslab_env.defer_ms * 1000000ULL;
	else
		threads_start_locked();
}

void uslab_threads_poll(void)
{
	uint64_t due = READ_ONCE(threads_due_ns);

	if (likely(!due) || uslab_now_ns() < due)
		return;
	/* Another thread starting them: nothing to wait for here. */
	if (pthread_mutex_trylock(&threads_lock))
		return;
	if (threads_due_ns)
		threads_start_locked();
	pthread_mutex_unlock(&threads_lock);
}

void uslab_threads_now(void)
{
	if (__atomic_load_n(&threads_up, __ATOMIC_ACQUIRE))
		return;
	/* A start under way holds the lock until the threads run. */
	pthread_mutex_lock(&threads_lock);
	if (!threads_up)
		threads_start_locked();
	pthread_mutex_unlock(&threads_lock);
}

#ifdef USLAB_TEST_HOOKS
bool uslab_threads_started(void)
{
	return __atomic_load_n(&threads_up, __ATOMIC_ACQUIRE);
}
#endif

/* ---- Start-up --------------------------------------------------------- */

static void uslab_fork_prepare(void);
static void uslab_fork_parent(void);
static void uslab_fork_child(void);

static void uslab_init(void)
{
	env_init();
	failslab_init();
	reclaim_init();
	sanitize_init();
	/* percpu_init() first: topology_init() maps its nr_cpu_ids CPUs. */
	if (percpu_init() || topology_init() ||
	    page_init(topology_nr_nodes()) || mag_init()) {
		init_error = errno ? errno : ENOMEM;
		return;
	}
	pthread_atfork(uslab_fork_prepare, uslab_fork_parent, uslab_fork_child);
	reap_ms = uslab_env.reap_ms;
	threads_init();
}

int uslab_ensure_init(void)
{
	pthread_once(&init_once, uslab_init);
	if (init_error) {
		errno = init_error;
		return -1;
	}
	return 0;
}

/* ---- Create and destroy ----------------------------------------------- */

static const char *check_create_args(const char *name, unsigned int size,
				     unsigned int align, slab_flags_t flags)
{
	if (!name)
		return "name is NULL";
	if (!*name)
		return "name is empty";
	/* slabinfo and uslab-slabtop's rows are split at white space. */
	for (const char *c = name; *c; c++)
		if (*c == ' ' || (unsigned char)*c < 0x20 || *c == 0x7f)
			return "name contains white space or a control "
			       "character";
	if (size == 0)
		return "size is 0";
	if (size > KMEM_CACHE_MAX_SIZE)
		return "size is above KMEM_CACHE_MAX_SIZE (262144)";
	if (align && !IS_POWER_OF_2(align))
		return "align is not a power of two";
	if (align > MAX_OBJ_ALIGN)
		return "align is above 4096";
	if (flags & ~CACHE_CREATE_MASK)
		return "unknown flags";
	return NULL;
}

static __cold struct kmem_cache *create_failed(const char *name,
					       unsigned int size,
					       slab_flags_t flags, int err,
					       const char *why)
{
	char shown[72];
	size_t i;

	/* The report stays one line: control characters shown as '?'. */
	snprintf(shown, sizeof(shown), "%s", name ? name : "NULL");
	for (i = 0; shown[i]; i++)
		if ((unsigned char)shown[i] < 0x20 || shown[i] == 0x7f)
			shown[i] = '?';
	if (flags & SLAB_PANIC) {
		uslab_report("kmem_cache_create(%s, %u): %s (SLAB_PANIC)",
			     shown, size, why);
		abort();
	}
	uslab_report("kmem_cache_create(%s, %u): %s", shown, size, why);
	errno = err;
	return NULL;
}

__api struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
					   unsigned int align,
					   slab_flags_t flags,
					   void (*ctor)(void *))
{
	const char *why = check_create_args(name, size, align, flags);
	struct kmem_cache *s;

	if (why)
		return create_failed(name, size, flags, EINVAL, why);
	if (uslab_ensure_init())
		return create_failed(name, size, flags, errno,
				     "cannot reserve the arena");
	/* Its slabs go back through call_rcu(), which needs the worker. */
	if (flags & SLAB_TYPESAFE_BY_RCU)
		uslab_threads_now();

	s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name))) {
		free(s);
		return create_failed(name, size, flags, ENOMEM,
				     "out of memory");
	}
	s->object_size = size;
	s->align = align;
	s->flags = flags | env_debug_flags(name);
	s->ctor = ctor;
	s->passthrough = uslab_env.passthrough;
	s->failslab = failslab_cache(s->flags);
	slab_calculate_sizes(s);
	/*
	 * Pass-through caches, caches failslab may fail, and every cache
	 * under ASan (sanitize.c), have no magazines: cpu_slab stays NULL.
	 */
	if (slab_cache_init_nodes(s, topology_nr_nodes()) ||
	    (!s->passthrough && !s->failslab && !sanitize_asan &&
	     mag_cache_init(s))) {
		slab_cache_free_nodes(s);
		free(s->name);
		free(s);
		return create_failed(name, size, flags, ENOMEM,
				     "out of memory");
	}
	s->cpu_fast = s->cpu_slab ? s->cpu_slab : mag_no_slots;

	uslab_lock(&slab_mutex, RANK_SLAB_MUTEX);
	list_add(&s->list, &cache_list);
	uslab_unlock(&slab_mutex);
	return s;
}

__api void kmem_cache_destroy(struct kmem_cache *s)
{
	unsigned long slabs, live;

	if (!s)
		return;
	cache_drain(s);
	slab_shrink(s);
	slab_count(s, &slabs, &live);
	if (live) {
		/* Keep everything mapped: the user still points into it. */
		uslab_report("kmem_cache_destroy(%s): %lu object%s still "
			     "allocated; cache leaked",
			     s->name, live, live == 1 ? "" : "s");
		uslab_lock(&slab_mutex, RANK_SLAB_MUTEX);
		s->leaked = true;
		uslab_unlock(&slab_mutex);
		return;
	}
	uslab_lock(&slab_mutex, RANK_SLAB_MUTEX);
	list_del(&s->list);
	uslab_unlock(&slab_mutex);
	/*
	 * Wait for the call_rcu() callbacks that use this cache's state:
	 * SLAB_TYPESAFE_BY_RCU slab releases.  Magazine frees queued by the
	 * drain above touch nothing but the magazine itself, so they may
	 * run later; skipping the barrier for them matters, as a barrier
	 * costs about 10 ms (a call_rcu worker round trip).
	 */
	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		slab_rcu_barrier();
	mag_cache_free(s);
	slab_cache_free_nodes(s);
	free(s->name);
	free(s);
}

/* ---- Allocation -------------------------------------------------------- */

static __cold void *alloc_bad_args(struct kmem_cache *s, gfp_t gfp, int node)
{
	if (!s)
		uslab_report("kmem_cache_alloc: cache is NULL");
	else if (gfp & ~__GFP_VALID_MASK)
		uslab_report("kmem_cache_alloc(%s): unknown gfp bits 0x%x",
			     s->name, gfp & ~__GFP_VALID_MASK);
	else
		uslab_report("kmem_cache_alloc_node(%s): node %d does not "
			     "exist",
			     s->name, node);
	errno = EINVAL;
	return NULL;
}

/*
 * Give back what every cache keeps for reuse: the objects in magazines
 * and the empty slabs.  A cache whose CPUs cache no object skips the
 * drain's membarrier fence (an estimate read without locks: an object
 * cached meanwhile is no worse than one cached just after the drain)
 * and has only its depots purged.
 */
static __cold void cache_shrink_all(void)
{
	struct kmem_cache *s;
	unsigned int i;

	uslab_lock(&slab_mutex, RANK_SLAB_MUTEX);
	list_for_each_entry(s, &cache_list, list) {
		if (mag_cpu_objects(s, -1))
			mag_drain(s);
		else if (s->cpu_slab)
			for (i = 0; i < s->nr_nodes; i++)
				depot_purge(s, s->depot[i]);
		slab_shrink(s);
	}
	uslab_unlock(&slab_mutex);
	page_retained_drain();
}

/*
 * One round of reclaim before an allocation of @gfp on @node fails;
 * *@prio starts at -1.  The first round gives back what every cache
 * keeps; later ones call the shrinkers (with __GFP_DIRECT_RECLAIM),
 * priority SHRINK_DEF_PRIORITY down to 0, and give back again what
 * they freed.  False when nothing is left to try.
 */
static __cold bool cache_reclaim(gfp_t gfp, int node, int *prio)
{
	long freed;

	if (*prio < 0) {
		*prio = SHRINK_DEF_PRIORITY;
		cache_shrink_all();
		return true;
	}
	if (!(gfp & __GFP_DIRECT_RECLAIM))
		return false;
	while (*prio >= 0) {
		freed = shrink_slab(gfp, node, (*prio)--);
		if (freed < 0)
			return false; /* no shrinker, or already in one */
		if (freed > 0) {
			cache_shrink_all();
			return true;
		}
	}
	return false;
}

static __cold void alloc_report_enomem(struct kmem_cache *s, gfp_t gfp,
				       int node)
{
	unsigned long pages = 0;
	unsigned int i;

	errno = ENOMEM;
	if (gfp & __GFP_NOWARN)
		return;
	for (i = 0; i < s->nr_nodes; i++)
		pages += page_resident_bytes((int)i) / PAGE_SIZE;
	uslab_report("kmem_cache_alloc(%s): out of memory on node %d "
		     "(%lu pages in use, arena %d GiB per node)",
		     s->name, node, pages, CONFIG_ARENA_SIZE_GB);
}

/*
 * The slab layer found no memory, or the memory limit is spent.  Empty
 * slabs and cached objects that every cache keeps until the reaper's
 * next pass may be what is missing, then what the shrinkers free:
 * reclaim and try again while cache_reclaim() finds something to do,
 * then fail (or, with __GFP_NOFAIL, abort).
 */
static __cold void *alloc_failed(struct kmem_cache *s, gfp_t gfp, int node,
				 void *caller)
{
	int prio = -1;
	void *obj;

	while (cache_reclaim(gfp, node, &prio)) {
		obj = slab_alloc(s, gfp, node, caller);
		if (obj)
			return obj;
	}
	if (gfp & __GFP_NOFAIL) {
		uslab_report("kmem_cache_alloc(%s): out of memory with "
			     "__GFP_NOFAIL",
			     s->name);
		abort();
	}
	alloc_report_enomem(s, gfp, node);
	return NULL;
}

/* slab_alloc() for the API: the magazine paths count their own. */
static void *slab_alloc_counted(struct kmem_cache *s, gfp_t gfp, int node,
				void *caller)
{
	void *obj = slab_alloc(s, gfp, node, caller);

	if (obj)
		stat_obj(s, obj, allocs);
	return obj;
}

/* Count @n objects of @p (NULLs skipped) under @field, per node. */
#define stat_objs(s, p, n, field)                                \
	do {                                                     \
		unsigned long per[MAX_NUMNODES] = { 0 };         \
		unsigned int nd;                                 \
		size_t k;                                        \
                                                                 \
		if (!IS_ENABLED(CONFIG_STATS))                   \
			break;                                   \
		for (k = 0; k < (n); k++)                        \
			if ((p)[k])                              \
				per[obj_home((p)[k])]++;         \
		for (nd = 0; nd < (s)->nr_nodes; nd++)           \
			if (per[nd])                             \
				stat_add(s, nd, field, per[nd]); \
	} while (0)

static __attribute__((always_inline)) inline void *
cache_alloc(struct kmem_cache *s, gfp_t gfp, int node, void *caller)
{
	void *obj;

	if (unlikely(!s || (gfp & ~__GFP_VALID_MASK)))
		return alloc_bad_args(s, gfp, node);
	if (unlikely(s->failslab) && failslab_should_fail(s, gfp))
		return NULL;
	if (unlikely(s->passthrough)) {
		if (node != NUMA_NO_NODE && !topology_node_valid(node))
			return alloc_bad_args(s, gfp, node);
		return passthrough_alloc(s, gfp);
	}
	if (likely(node == NUMA_NO_NODE && s->cpu_slab &&
		   !(gfp & __GFP_THISNODE))) {
		/* This CPU's magazines hold this node's objects. */
		obj = mag_alloc(s);
	} else if (node == NUMA_NO_NODE) {
		node = numa_node_id();
		obj = slab_alloc_counted(s, gfp, node, caller);
	} else if (unlikely(!topology_node_valid(node))) {
		return alloc_bad_args(s, gfp, node);
	} else if (s->cpu_slab && !(gfp & __GFP_THISNODE) &&
		   node == numa_node_id()) {
		obj = mag_alloc(s);
		/*
		 * Moved to another node's CPU since numa_node_id(): that
		 * magazine's object is not @node's.  Put it back, and take
		 * one from @node's slabs (both calls are counted).
		 */
		if (obj && unlikely(obj_home(obj) != node)) {
			mag_free(s, virt_to_slab(obj), obj);
			obj = slab_alloc_counted(s, gfp, node, caller);
		}
	} else if (s->cpu_slab && !(gfp & __GFP_THISNODE) &&
		   (obj = mag_alloc_remote(s, node))) {
		stat_obj(s, obj, allocs);
	} else {
		obj = slab_alloc_counted(s, gfp, node, caller);
	}
	if (unlikely(!obj)) {
		obj = alloc_failed(s, gfp,
				   node == NUMA_NO_NODE ? numa_node_id() : node,
				   caller);
		if (!obj)
			return NULL;
		stat_obj(s, obj, allocs);
	}
	if (unlikely(sanitize_valgrind))
		sanitize_user_alloc(s, obj);
	if (unlikely(gfp & __GFP_ZERO))
		memset(obj, 0, s->object_size);
	return obj;
}

/* kmem_cache_alloc(), _node() off the fast path (out of line: no frame). */
static __noinline void *cache_alloc_slow(struct kmem_cache *s, gfp_t gfp,
					 int node, void *caller)
{
	return cache_alloc(s, gfp, node, caller);
}

/*
 * The API functions call their slow paths with a real call, not a tail
 * call, so that their own frame stays on the stack: memory tools name
 * it (valgrind's "definitely lost ... kmem_cache_alloc", ASan's
 * allocation and free stacks).  The empty asm after the call is what
 * keeps the compiler from turning it into a jump; the frame is set up
 * on the slow branch only.
 */
#define KEEP_FRAME(v) __asm__ __volatile__("" : "+r"(v))
#define KEEP_FRAME_VOID() __asm__ __volatile__("")

/*
 * The fast path is a leaf: one restartable sequence, no call frame; all
 * else (bad arguments, flags, empty magazine, lock mode, an aborted
 * section) is cache_alloc().
 */
__api void *kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp)
{
	void *obj;

	if (likely(s && !(gfp & GFP_NOT_FAST)) &&
	    likely(mag_alloc_fast(s, NUMA_NO_NODE, &obj)))
		return obj;
	obj = cache_alloc_slow(s, gfp, NUMA_NO_NODE,
			       __builtin_return_address(0));
	KEEP_FRAME(obj);
	return obj;
}

/*
 * The same fast path when @node is NUMA_NO_NODE or this CPU's node (the
 * section's CPU decides); any other node, or one that does not exist,
 * is cache_alloc()'s business.
 */
__api void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t gfp, int node)
{
	void *obj;

	if (likely(s && !(gfp & GFP_NOT_FAST)) &&
	    likely(mag_alloc_fast(s, node, &obj)))
		return obj;
	obj = cache_alloc_slow(s, gfp, node, __builtin_return_address(0));
	KEEP_FRAME(obj);
	return obj;
}

__api void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t gfp)
{
	return cache_alloc(s, gfp | __GFP_ZERO, NUMA_NO_NODE,
			   __builtin_return_address(0));
}

/* ---- Free -------------------------------------------------------------- */

/*
 * The slab of @obj if it is the start of a slot of one of @s's slabs
 * (@s not NULL), else NULL.  Reports nothing; on the free fast path.
 */
static __attribute__((always_inline)) inline struct slab *
cache_slot_of(struct kmem_cache *s, const void *obj)
{
	struct slab *slab = virt_to_slab(obj);
	unsigned long off;

	if (unlikely(!slab || READ_ONCE(slab->cache) != s))
		return NULL;
	off = (unsigned long)obj - (unsigned long)slab->s_mem;
	if (unlikely(obj_slot_index(s, off) >= slab->objects))
		return NULL;
	return slab;
}

/* Say why cache_slot_of() refused @obj. */
static __cold void cache_free_refused(struct kmem_cache *s, const void *obj)
{
	struct slab *slab = virt_to_slab(obj);
	struct kmem_cache *owner;
	char why[160];

	if (!slab) {
		debug_bad_free(s, obj,
			       page_in_arena(obj) ?
				       "not in an allocated slab" :
				       "not a uslab object (foreign pointer)");
		return;
	}
	owner = READ_ONCE(slab->cache);
	if (owner != s) {
		snprintf(why, sizeof(why), "object belongs to cache '%s'",
			 owner ? owner->name : "(none)");
		debug_bad_free(s, obj, why);
		return;
	}
	debug_bad_free(s, obj, "pointer into the middle of an object");
}

/* cache_slot_of(), reporting a bad pointer. */
static __attribute__((always_inline)) inline struct slab *
cache_check_free(struct kmem_cache *s, const void *obj)
{
	struct slab *slab;

	if (unlikely(!s)) {
		debug_bad_free(s, obj, "cache is NULL");
		return NULL;
	}
	slab = cache_slot_of(s, obj);
	if (unlikely(!slab))
		cache_free_refused(s, obj);
	return slab;
}

/*
 * cache_slot_of() for a cache with magazines, read as the free fast path
 * reads it: from @obj's page view, a line that path has just loaded,
 * where the slab's descriptor is a line of its own (two for a tail
 * page).  True if @obj is the start of a slot of one of @s's slabs.
 */
static __attribute__((always_inline)) inline bool
cache_view_slot(struct kmem_cache *s, const void *obj)
{
	struct slab_view *view;
	int node;

	/* @s is not NULL: no view, no cache, no match. */
	return view_cache_of(obj, &view) == s &&
	       __uslab_view_slot(s, (const char *)view, obj, &node);
}

/* Everything but a valid object going into a magazine. */
static __noinline void cache_free(struct kmem_cache *s, void *obj, void *caller)
{
	struct slab *slab;

	if (!obj)
		return;
	/* Most often the fast path's magazine was full. */
	if (likely(s && s->cpu_slab && cache_view_slot(s, obj))) {
		if (unlikely(sanitize_valgrind))
			sanitize_user_free(s, obj);
		mag_free_slow(s, obj);
		return;
	}
	if (s && s->passthrough) {
		passthrough_free(s, obj);
		return;
	}
	slab = cache_check_free(s, obj);
	if (unlikely(!slab))
		return;
	if (unlikely(sanitize_valgrind))
		sanitize_user_free(s, obj);
	if (s->cpu_slab) {
		mag_free_slow(s, obj); /* the fast path said no */
	} else {
		stat_obj(s, obj, frees);
		slab_free(s, slab, obj, caller);
	}
}

/*
 * As kmem_cache_alloc(): a leaf fast path, the rest a call.  The fast
 * path reads @obj's page's view (slab_view_of()); the slow path checks
 * the view again for a cache with magazines (cache_view_slot()), and the
 * slab's head descriptor otherwise or to report.  NULL needs no test of
 * its own: it is outside the arena, so slab_view_of() sends it to the
 * slow path, which ignores it.
 */
__api void kmem_cache_free(struct kmem_cache *s, void *obj)
{
	struct slab_view *view;

	if (likely(s) && likely(view_cache_of(obj, &view) == s) &&
	    likely(cache_free_fast(s, view, obj)))
		return;
	cache_free(s, obj, __builtin_return_address(0));
	KEEP_FRAME_VOID();
}

void cache_free_view(struct kmem_cache *s, struct slab_view *view, void *obj)
{
	if (likely(cache_free_fast(s, view, obj)))
		return;
	cache_free(s, obj, __builtin_return_address(0));
	KEEP_FRAME_VOID();
}

/* ---- Bulk -------------------------------------------------------------- */

static size_t cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, int node,
			       size_t n, void **p)
{
	size_t done;

	if (s->passthrough) /* counts its own */
		return passthrough_alloc_bulk(s, gfp & ~__GFP_NOFAIL, n, p);
	if (s->cpu_slab && !(gfp & __GFP_THISNODE))
		done = mag_alloc_bulk(s, n, p);
	else
		done = slab_alloc_bulk(s, gfp & ~__GFP_NOFAIL, node, n, p,
				       __builtin_return_address(0));
	stat_objs(s, p, done, allocs);
	return done;
}

__api int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t n,
				void **p)
{
	int node = numa_node_id(), prio = -1;
	size_t i, done;

	if (unlikely(!s || !p || (gfp & ~__GFP_VALID_MASK))) {
		if (!p)
			uslab_report("kmem_cache_alloc_bulk: array is NULL");
		else
			alloc_bad_args(s, gfp, 0);
		errno = EINVAL;
		return 0;
	}
	if (n == 0)
		return 0;
	if (n > (size_t)__INT_MAX__) {
		uslab_report("kmem_cache_alloc_bulk(%s): %zu objects is more "
			     "than an int can report",
			     s->name, n);
		errno = EINVAL;
		return 0;
	}
	/* One call, failed as a whole (the kernel's slab_pre_alloc_hook). */
	if (unlikely(s->failslab) && failslab_should_fail(s, gfp))
		return 0;

	done = cache_alloc_bulk(s, gfp, node, n, p);
	/* Reclaim, as alloc_failed() does. */
	while (unlikely(done < n) && cache_reclaim(gfp, node, &prio))
		done += cache_alloc_bulk(s, gfp, node, n - done, p + done);
	/* Handed out, even if given back below (pass-through: malloc's). */
	if (unlikely(sanitize_valgrind) && !s->passthrough)
		for (i = 0; i < done; i++)
			sanitize_user_alloc(s, p[i]);
	if (unlikely(done < n)) {
		/* All or nothing: give back the partial result. */
		kmem_cache_free_bulk(s, done, p);
		alloc_report_enomem(s, gfp, node);
		return 0;
	}
	if (gfp & __GFP_ZERO)
		for (i = 0; i < n; i++)
			memset(p[i], 0, s->object_size);
	return (int)n;
}

__api void kmem_cache_free_bulk(struct kmem_cache *s, size_t n, void **p)
{
	size_t i, bad = 0;

	if (!p) {
		if (n)
			uslab_report("kmem_cache_free_bulk: array is NULL");
		return;
	}
	if (s && s->passthrough) {
		for (i = 0; i < n; i++)
			if (p[i])
				passthrough_free(s, p[i]);
		return;
	}
	/* Validate all first: a clean batch goes through the magazines. */
	for (i = 0; i < n; i++)
		if (p[i] && !cache_check_free(s, p[i]))
			bad++;
	/* Each valid object is given back (cache_slot_of() said so). */
	if (unlikely(sanitize_valgrind))
		for (i = 0; i < n; i++)
			if (s && p[i] && (!bad || cache_slot_of(s, p[i])))
				sanitize_user_free(s, p[i]);
	if (!bad && s && s->cpu_slab) {
		stat_objs(s, p, n, frees);
		mag_free_bulk(s, n, p);
		return;
	}
	/* Bad pointers were reported and are skipped; free the rest. */
	for (i = 0; i < n; i++) {
		struct slab *slab;

		if (!s || !p[i] || !(slab = cache_slot_of(s, p[i])))
			continue;
		if (s->cpu_slab) {
			mag_free(s, slab, p[i]); /* counts */
		} else {
			stat_obj(s, p[i], frees);
			slab_free(s, slab, p[i], __builtin_return_address(0));
		}
	}
}

__api int uslab_for_each_cache(int (*fn)(struct kmem_cache *s, void *arg),
			       void *arg)
{
	struct kmem_cache *s;
	int ret = 0;

	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	if (uslab_ensure_init())
		return -1;
	uslab_lock(&slab_mutex, RANK_SLAB_MUTEX);
	list_for_each_entry(s, &cache_list, list) {
		ret = fn(s, arg);
		if (ret)
			break;
	}
	uslab_unlock(&slab_mutex);
	return ret;
}

/* Caches in the registry (destroyed-but-leaked ones included). */
unsigned int cache_count(void)
{
	struct kmem_cache *s;
	unsigned int n = 0;

	uslab_lock(&slab_mutex, RANK_SLAB_MUTEX);
	list_for_each_entry(s, &cache_list, list)
		n++;
	uslab_unlock(&slab_mutex);
	return n;
}

/* ---- fork() ----------------------------------------------------------- */

/*
 * Every lock of every cache, in the order internal.h gives: each layer
 * takes its own for one cache (mag_, depot_, slab_fork_prepare()), level
 * by level over all caches, then the page layer its node locks.
 */
static void uslab_fork_prepare(void)
{
	struct kmem_cache *s;

	reclaim_fork_prepare();
	urcu_bp_call_rcu_before_fork();
	witness_fork_prepare();
	uslab_lock(&slab_mutex, RANK_SLAB_MUTEX);
	uslab_lock(&drain_mutex, RANK_DRAIN);
	list_for_each_entry(s, &cache_list, list)
		mag_fork_prepare(s);
	/* No section may still be writing a parked magazine. */
	percpu_fence_all();
	list_for_each_entry(s, &cache_list, list)
		depot_fork_prepare(s);
	list_for_each_entry(s, &cache_list, list)
		slab_fork_prepare(s);
	page_fork_prepare();
	urcu_bp_before_fork();
}

static void uslab_fork_parent(void)
{
	struct kmem_cache *s;

	urcu_bp_after_fork_parent();
	page_fork_parent();
	list_for_each_entry(s, &cache_list, list) {
		slab_fork_parent(s);
		depot_fork_parent(s);
		mag_fork_parent(s);
	}
	uslab_unlock(&drain_mutex);
	uslab_unlock(&slab_mutex);
	witness_fork_parent();
	urcu_bp_call_rcu_after_fork_parent();
	reclaim_fork_parent();
}

/*
 * The child has one thread, the one that forked: every lock is
 * re-initialised rather than unlocked, and the reaper and the export
 * start anew (or later, as at start-up: threads_init()).
 */
static void uslab_fork_child(void)
{
	struct kmem_cache *s;

	util_fork_child();
	urcu_bp_after_fork_child();
	page_fork_child();
	list_for_each_entry(s, &cache_list, list) {
		slab_fork_child(s);
		depot_fork_child(s);
		mag_fork_child(s);
	}
	pthread_mutex_init(&slab_mutex, NULL);
	pthread_mutex_init(&drain_mutex, NULL);
	witness_fork_child();
	urcu_bp_call_rcu_after_fork_child();
	reclaim_fork_child();
	reaper_fork_child();
	env_fork_child();
	export_fork_child();
	pthread_mutex_init(&threads_lock, NULL);
	threads_init();
}

/* ---- Shrink and queries ------------------------------------------------ */

/*
 * Give every empty slab back to the OS.  Returns 0 if the cache now holds
 * no slab at all, 1 otherwise (the kernel's convention).
 */
__api int kmem_cache_shrink(struct kmem_cache *s)
{
	unsigned long slabs, live;

	if (!s)
		return 0;
	cache_drain(s);
	slab_shrink(s);
	/* And kmalloc()'s retained page blocks, whichever cache it is. */
	page_retained_drain();
	slab_count(s, &slabs, &live);
	return slabs ? 1 : 0;
}

__api int uslab_cache_validate(struct kmem_cache *s)
{
	int errors;

	if (!s) {
		uslab_report("uslab_cache_validate: cache is NULL");
		errno = EINVAL;
		return -1;
	}
	if (s->passthrough)
		return 0; /* malloc's blocks: no slab to check */
	errors = slab_validate(s);
	if (errors < 0) {
		uslab_report("uslab_cache_validate(%s): out of memory",
			     s->name);
		errno = ENOMEM;
	}
	return errors;
}

__api unsigned int kmem_cache_size(struct kmem_cache *s)
{
	return s ? s->object_size : 0;
}

__api const char *kmem_cache_name(struct kmem_cache *s)
{
	return s ? s->name : NULL;
}
