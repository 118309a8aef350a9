// SPDX-License-Identifier: MIT
/*
 * Per-CPU magazines and the depot under stress: threads that migrate
 * themselves between CPUs, more threads than cores, depot exchange
 * storms with lock-free walkers, the reaper and shrink running under
 * load, destroy after heavy use, fork from a busy parent, and the
 * statistics while other CPUs drain.
 *
 * Every object carries a tag word flipped with atomic exchanges: on
 * alloc from "free" (or fresh zero memory) to the owner's tag, on free
 * back to "free".  An object handed out twice, or freed by someone who
 * does not own it, shows up as an unexpected old tag.  Counts are then
 * checked against uslab_cache_info() and, after draining every
 * magazine, against the slab layer's own totals: nothing lost.
 *
 * The suite runs as is and again under GLIBC_TUNABLES=glibc.pthread.rseq=0
 * and USLAB_PERCPU=lock (make check), so each per-CPU path is exercised;
 * test_mode checks that the path the environment asked for is the one
 * in use.  USLAB_TEST_QUICK=1 (valgrind) scales the work down.
 */
#include "common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include <uslab/slab.h>
#include <uslab/stats.h>

#include "internal.h"
#include "magazine.h"
#include "rseq.h"

#define TAG_FREE 0x0f0f0f0fU
#define MAX_THREADS 8
#define HELD 1024 /* objects a worker keeps at most: several magazines */

struct tobj {
	atomic_uint tag; /* TAG_FREE, 0 (never used) or owner */
	uint32_t serial;
	/* The free pointer of a ctor-less 64-byte cache lives at 32. */
	char pad[56];
};

static struct kmem_cache *cache;
static atomic_long errors, live;
static atomic_bool stop;
static long scale = 1;

static void check_setup(void)
{
	const char *q = getenv("USLAB_TEST_QUICK");

	scale = (q && *q == '1') ? 20 : 1;
}

static bool take(struct tobj *o, unsigned int me)
{
	unsigned int old;

	/*
	 * The tag is read as the last owner left it; to memcheck a new
	 * object is undefined (uslab's client requests), so say it is.
	 */
	VALGRIND_MAKE_MEM_DEFINED(&o->tag, sizeof(o->tag));
	old = atomic_exchange(&o->tag, me);

	if (old != TAG_FREE && old != 0) {
		atomic_fetch_add(&errors, 1);
		return false;
	}
	atomic_fetch_add(&live, 1);
	return true;
}

static void give(struct tobj *o, unsigned int me)
{
	unsigned int old = atomic_exchange(&o->tag, TAG_FREE);

	if (old != me)
		atomic_fetch_add(&errors, 1);
	atomic_fetch_sub(&live, 1);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

struct worker {
	pthread_t th;
	unsigned int id;
	long ops;
	bool migrate; /* move to another CPU every few ops */
	bool bulk; /* mix in kmem_cache_{alloc,free}_bulk */
	bool sweep; /* fill up to HELD, then free down to 0, and again */
	long migrations;
	int cpu; /* busy_pinned_main(): the CPU it stays on */
};

static void move_cpu(struct worker *w, uint64_t *x)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (pin_to((int)(rnd(x) % (uint64_t)(ncpu > 0 ? ncpu : 1))) == 0)
		w->migrations++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tobj *held[HELD];
	void *batch[32];
	unsigned int n = 0, me = 0x100 + w->id, i;
	bool filling = true;
	uint64_t x = 0x9e3779b97f4a7c15ULL * (w->id + 1);
	long op;

	for (op = 0; op < w->ops && !atomic_load(&stop); op++) {
		uint64_t r = rnd(&x);

		if (w->migrate && op % 97 == 0)
			move_cpu(w, &x);
		if (n == HELD)
			filling = false;
		else if (n == 0)
			filling = true;
		if (w->bulk && r % 61 == 0) {
			int k = kmem_cache_alloc_bulk(cache, GFP_KERNEL, 32,
						      batch);

			if (k != 32)
				atomic_fetch_add(&errors, 1);
			for (i = 0; i < (unsigned int)k; i++)
				take(batch[i], me);
			for (i = 0; i < (unsigned int)k; i++)
				give(batch[i], me);
			kmem_cache_free_bulk(cache, (size_t)k, batch);
		} else if (w->sweep ? filling : n < HELD && (n == 0 || r % 2)) {
			struct tobj *o = kmem_cache_alloc(cache, GFP_KERNEL);

			if (!o) {
				atomic_fetch_add(&errors, 1);
				continue;
			}
			if (take(o, me))
				held[n++] = o;
		} else {
			i = (unsigned int)(r % n);
			give(held[i], me);
			kmem_cache_free(cache, held[i]);
			held[i] = held[--n];
		}
	}
	while (n) {
		give(held[--n], me);
		kmem_cache_free(cache, held[n]);
	}
	return NULL;
}

static void run_workers(struct worker *w, int nr)
{
	int i;

	for (i = 0; i < nr; i++) {
		w[i].id = (unsigned int)i;
		ck_assert_int_eq(
			pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < nr; i++)
		pthread_join(w[i].th, NULL);
}

/*
 * Nothing lost or duplicated: the stats agree with the slab layer, and
 * after every magazine is drained each slot laid out is free exactly
 * once: allocating total_objs objects needs no new slab and gives
 * distinct objects.  The reaper is paused first: magazines it is
 * flushing are briefly in neither the depot nor the slabs.
 */
static void check_conserved(void)
{
	struct uslab_cache_info info;
	cpu_set_t old_mask;
	unsigned long i;
	void **all;
	int n;

	reaper_set_interval(0);
	/* One CPU slot: a migrating thread leaves refilled magazines behind. */
	pin_here(&old_mask);
	ck_assert_int_eq(atomic_load(&errors), 0);
	ck_assert_int_eq(atomic_load(&live), 0);
	ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
	ck_assert_uint_eq(info.active_objs, 0);
	ck_assert_uint_eq(info.bad_frees, 0);
	ck_assert_events_balanced(&info);

	mag_drain(cache);
	ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
	ck_assert_uint_eq(info.cpu_cached_objs + info.depot_objs, 0);
	ck_assert_uint_eq(info.depot_full + info.depot_empty, 0);

	/* Every node's slots, from that node's slabs (alloc_node). */
	all = malloc(info.total_objs * sizeof(*all));
	ck_assert_ptr_nonnull(all);
	for (n = 0, i = 0; n < uslab_nr_nodes(); n++) {
		struct uslab_cache_info ni;
		unsigned long k;

		ck_assert_int_eq(uslab_cache_node_info(cache, n, &ni), 0);
		for (k = 0; k < ni.total_objs; k++, i++) {
			all[i] = kmem_cache_alloc_node(cache, GFP_KERNEL, n);
			ck_assert_ptr_nonnull(all[i]);
			ck_assert(take(all[i], 0x77));
		}
	}
	ck_assert_uint_eq(i, info.total_objs);
	{
		struct uslab_cache_info after;

		ck_assert_int_eq(uslab_cache_info(cache, &after), 0);
		ck_assert_uint_eq(after.slabs_allocated, info.slabs_allocated);
		ck_assert_uint_eq(after.active_objs, info.total_objs);
	}
	for (i = 0; i < info.total_objs; i++) {
		give(all[i], 0x77);
		kmem_cache_free(cache, all[i]);
	}
	free(all);
	ck_assert_int_eq(atomic_load(&errors), 0);
	unpin(&old_mask);
	reaper_set_interval(CONFIG_REAP_INTERVAL_MS);
}

static void setup_cache(const char *name)
{
	cache = kmem_cache_create(name, sizeof(struct tobj), 0, 0, NULL);
	ck_assert_ptr_nonnull(cache);
	atomic_store(&errors, 0);
	atomic_store(&live, 0);
	atomic_store(&stop, false);
}

/* ---- The path in use is the one asked for ------------------------------ */

START_TEST(test_mode)
{
	const char *mode = uslab_percpu_mode();
	const char *forced = getenv("USLAB_PERCPU");
	const char *tun = getenv("GLIBC_TUNABLES");

	printf("per-CPU path: %s\n", mode);
	if (forced && !strcmp(forced, "lock"))
		ck_assert_str_eq(mode, "USLAB_PERCPU=lock");
	else if (getenv("USLAB_TEST_VALGRIND"))
		ck_assert_msg(strncmp(mode, "rseq", 4) != 0,
			      "valgrind refuses rseq, yet mode is %s", mode);
	else if (tun && strstr(tun, "glibc.pthread.rseq=0"))
		ck_assert_str_eq(mode, "rseq (own area)");
	else
		ck_assert_str_eq(mode, "rseq (glibc's area)");
}
END_TEST

/*
 * The fast paths index per-CPU arrays with the area's cpu_id_start and
 * no bounds check: nr_cpu_ids must cover every CPU the kernel may ever
 * name (its possible CPUs, holes included).
 */
START_TEST(test_cpu_ids_cover_possible)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	unsigned int a, b, last = 0;
	int n;
	char sep;

	setup_cache("mag-cpu-ids"); /* uslab is initialised */
	kmem_cache_destroy(cache);
	ck_assert_ptr_nonnull(f);
	while ((n = fscanf(f, "%u", &a)) == 1) {
		last = a;
		if (fscanf(f, "%c", &sep) != 1 || sep == '\n')
			break;
		if (sep == '-') {
			ck_assert_int_eq(fscanf(f, "%u", &b), 1);
			last = b;
			if (fscanf(f, "%c", &sep) != 1 || sep == '\n')
				break;
		}
		ck_assert_int_eq(sep, ',');
	}
	fclose(f);
	ck_assert_uint_ge(nr_cpu_ids, last + 1);
	if (!strncmp(uslab_percpu_mode(), "rseq", 4))
		ck_assert_uint_lt(rseq_cpu_start(percpu_rseq_off), nr_cpu_ids);
}
END_TEST

struct unregistered {
	unsigned long cpu_id, cpu_id_after;
	bool popped;
	void *obj;
};

/*
 * A new thread in rseq-own mode, before its first call: its area is not
 * registered (cpu_id -1), and cpu_id_start, 0, indexes CPU 0's slot.
 */
static void *unregistered_main(void *arg)
{
	struct unregistered *u = arg;
	void *obj;

	u->cpu_id = rseq_cpu_id(percpu_rseq_off);
	u->popped = mag_alloc_fast(cache, NUMA_NO_NODE, &obj);
	u->obj = kmem_cache_alloc(cache, GFP_KERNEL); /* registers */
	u->cpu_id_after = rseq_cpu_id(percpu_rseq_off);
	return NULL;
}

/*
 * A thread whose area the kernel does not know must never commit a
 * section: it would pop from CPU 0's magazine unprotected from
 * preemption.  CPU 0's loaded magazine holds objects here, so only the
 * section's own CPU test can send the pop to the slow path.  In lock
 * mode no thread's section commits; in rseq-own mode the first call
 * registers the thread.
 */
START_TEST(test_unregistered_sections_abort)
{
	const char *mode = uslab_percpu_mode();
	struct unregistered u = { 0 };
	cpu_set_t old;
	pthread_t t;
	void *p[8], *obj;
	int i;

	setup_cache("mag-unregistered");
	sched_getaffinity(0, sizeof(old), &old);
	ck_assert_int_eq(pin_to(0), 0);
	for (i = 0; i < 8; i++)
		ck_assert_ptr_nonnull(
			p[i] = kmem_cache_alloc(cache, GFP_KERNEL));
	for (i = 0; i < 8; i++)
		kmem_cache_free(cache, p[i]);
	if (!strcmp(mode, "rseq (own area)")) {
		ck_assert_int_eq(
			pthread_create(&t, NULL, unregistered_main, &u), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_uint_ge(u.cpu_id, nr_cpu_ids); /* -1, unregistered */
		ck_assert(!u.popped);
		ck_assert_ptr_nonnull(u.obj);
		ck_assert_uint_lt(u.cpu_id_after, nr_cpu_ids);
		kmem_cache_free(cache, u.obj);
	} else if (strncmp(mode, "rseq", 4)) {
		/* Lock mode: this thread's sections abort too. */
		ck_assert(!mag_alloc_fast(cache, NUMA_NO_NODE, &obj));
		ck_assert_ptr_nonnull(
			obj = kmem_cache_alloc(cache, GFP_KERNEL));
		kmem_cache_free(cache, obj);
		/*
		 * The fast paths then index the slot the lock path used
		 * last, not CPU 0's, which another CPU's thread writes.
		 */
		if (nr_cpu_ids > 1 && pin_to(1) == 0) {
			ck_assert_ptr_nonnull(
				obj = kmem_cache_alloc(cache, GFP_KERNEL));
			ck_assert_uint_eq(rseq_cpu_start(percpu_rseq_off), 1);
			kmem_cache_free(cache, obj);
		}
	}
	unpin(&old);
	kmem_cache_destroy(cache);
}
END_TEST

/* ---- Migration and preemption ------------------------------------------ */

START_TEST(test_migrating_threads)
{
	struct worker w[4] = { 0 };
	long moves = 0;
	int i;

	setup_cache("mag-migrate");
	for (i = 0; i < 4; i++) {
		w[i].ops = 400000 / scale;
		w[i].migrate = true;
		w[i].bulk = i % 2;
	}
	run_workers(w, 4);
	for (i = 0; i < 4; i++)
		moves += w[i].migrations;
	ck_assert_int_gt(moves, 4 * (400000 / scale) / 97 / 2);
	check_conserved();
	kmem_cache_destroy(cache);
}
END_TEST

START_TEST(test_more_threads_than_cores)
{
	struct worker w[MAX_THREADS] = { 0 };
	int i;

	setup_cache("mag-preempt");
	for (i = 0; i < MAX_THREADS; i++) {
		w[i].ops = 300000 / scale;
		w[i].bulk = true;
	}
	run_workers(w, MAX_THREADS);
	check_conserved();
	kmem_cache_destroy(cache);
}
END_TEST

/* ---- Depot: exchange storms, walkers, reaping, shrink under load ------- */

static void *walker_main(void *arg)
{
	struct uslab_cache_info info;
	long *walks = arg;

	while (!atomic_load(&stop)) {
		if (uslab_cache_info(cache, &info) == 0)
			(*walks)++;
		/*
		 * Estimates, but read from live magazines: a capacity read
		 * from freed or foreign memory would break this bound.
		 */
		if (info.depot_objs > info.depot_full * CONFIG_MAGAZINE_MAX)
			atomic_fetch_add(&errors, 1);
	}
	return NULL;
}

static void *shrinker_main(void *arg)
{
	long *shrinks = arg;

	while (!atomic_load(&stop)) {
		kmem_cache_shrink(cache);
		(*shrinks)++;
		usleep(200);
	}
	return NULL;
}

/*
 * Workers that sweep up to HELD objects and back each overflow and
 * drain their two magazines on every sweep, so full and empty magazines
 * cross the depot all the time, while walkers read the depot lists
 * without its lock, the reaper runs every millisecond and another thread
 * shrinks the cache.
 */
START_TEST(test_depot_storm)
{
	struct worker w[4] = { 0 };
	pthread_t walker, shrinker;
	long walks = 0, shrinks = 0;
	struct uslab_cache_info info;
	int i;

	setup_cache("mag-storm");
	reaper_set_interval(1);
	ck_assert_int_eq(pthread_create(&walker, NULL, walker_main, &walks), 0);
	ck_assert_int_eq(
		pthread_create(&shrinker, NULL, shrinker_main, &shrinks), 0);
	for (i = 0; i < 4; i++) {
		w[i].ops = 400000 / scale;
		w[i].bulk = true;
		w[i].sweep = true;
	}
	run_workers(w, 4);
	atomic_store(&stop, true);
	pthread_join(walker, NULL);
	pthread_join(shrinker, NULL);
	reaper_set_interval(CONFIG_REAP_INTERVAL_MS);
	ck_assert_int_gt(walks, 0);
	ck_assert_int_gt(shrinks, 0);
	ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
	ck_assert_uint_gt(info.depot_exchanges, 0);
	check_conserved();
	kmem_cache_destroy(cache);
}
END_TEST

/*
 * Reaping: magazines parked in the depot and idle for a whole interval
 * go back, and so do the slabs they emptied.
 */
START_TEST(test_reaper_returns_idle_memory)
{
	enum { N = 20000 };
	static void *p[N];
	struct uslab_cache_info info;
	cpu_set_t old;
	int i, tries;

	/*
	 * One CPU's slot: a thread that moved mid-loop would leave full
	 * magazines (and the slabs of their objects) on two CPUs.
	 */
	pin_here(&old);
	setup_cache("mag-reap");
	for (i = 0; i < N; i++)
		p[i] = kmem_cache_alloc(cache, GFP_KERNEL);
	for (i = 0; i < N; i++)
		kmem_cache_free(cache, p[i]);
	ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
	ck_assert_uint_gt(info.depot_full, 0);
	ck_assert_uint_gt(info.nr_slabs, 0);

	/* Two passes: the first sets the low marks, the second acts. */
	reaper_set_interval(5);
	for (tries = 0; tries < 400; tries++) {
		usleep(5000);
		ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
		if (info.depot_full == 0 &&
		    info.nr_free <= cache->min_partial &&
		    info.nr_slabs <= 2 + cache->min_partial)
			break;
	}
	reaper_set_interval(CONFIG_REAP_INTERVAL_MS);
	ck_assert_uint_eq(info.depot_full, 0);
	ck_assert_uint_eq(info.depot_empty, 0);
	/*
	 * What is left: min_partial empty slabs kept for reuse, and the
	 * slabs of the objects in this CPU's two magazines.
	 */
	ck_assert_uint_le(info.nr_free, cache->min_partial);
	ck_assert_uint_le(info.nr_slabs, 2 + cache->min_partial);
	kmem_cache_destroy(cache);
	unpin(&old);
}
END_TEST

/* Heavy use, then destroy: every page back, nothing leaked (LSan). */
START_TEST(test_destroy_after_heavy_use)
{
	struct worker w[4] = { 0 };
	unsigned long before = page_total_resident();
	int i;

	setup_cache("mag-destroy");
	for (i = 0; i < 4; i++) {
		w[i].ops = 200000 / scale;
		w[i].bulk = true;
	}
	run_workers(w, 4);
	ck_assert_int_eq(atomic_load(&errors), 0);
	kmem_cache_destroy(cache);
	ck_assert_uint_eq(page_total_resident(), before);
}
END_TEST

/* ---- Reaping idle CPUs ------------------------------------------------- */

static void *busy_pinned_main(void *arg)
{
	struct worker *w = arg;

	if (pin_to(w->cpu))
		atomic_fetch_add(&errors, 1);
	while (!atomic_load(&stop))
		worker_main(w);
	return NULL;
}

/*
 * A CPU whose magazines did not change for a whole reap interval gives
 * them back (their objects go home to the slabs), while a thread on
 * another CPU goes on allocating and freeing; nothing is lost.
 */
START_TEST(test_reaper_drains_idle_cpu)
{
	struct worker w = { .id = 1, .ops = 1000 };
	struct kmem_cache_cpu *c;
	cpu_set_t old, allowed;
	int i, idle = -1, busy = -1, tries;
	void *p[200];

	sched_getaffinity(0, sizeof(allowed), &allowed);
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &allowed)) {
			if (idle < 0)
				idle = i;
			else if (busy < 0)
				busy = i;
		}
	if (busy < 0)
		busy = idle; /* one CPU: the busy thread shares it */
	sched_getaffinity(0, sizeof(old), &old);
	ck_assert_int_eq(pin_to(idle), 0);
	setup_cache("mag-cpu-reap");
	for (i = 0; i < 200; i++)
		p[i] = kmem_cache_alloc(cache, GFP_KERNEL);
	for (i = 0; i < 200; i++)
		kmem_cache_free(cache, p[i]);
	c = &cache->cpu_slab[percpu_mode == PERCPU_LOCK ? percpu_lock_index() :
							  idle];
	ck_assert(slot_mag(&c->loaded) || READ_ONCE(c->prev));

	w.cpu = busy;
	ck_assert_int_eq(pthread_create(&w.th, NULL, busy_pinned_main, &w), 0);
	reaper_set_interval(10);
	for (tries = 0; tries < 300; tries++) {
		usleep(5000);
		if (!slot_mag(&c->loaded) && !READ_ONCE(c->prev))
			break;
	}
	atomic_store(&stop, true);
	pthread_join(w.th, NULL);
	reaper_set_interval(CONFIG_REAP_INTERVAL_MS);
	if (busy != idle) {
		ck_assert_ptr_null(slot_mag(&c->loaded));
		ck_assert_ptr_null(READ_ONCE(c->prev));
	}
	unpin(&old);
	check_conserved();
	kmem_cache_destroy(cache);
}
END_TEST

/*
 * A thread that only pairs allocations with frees never empties or fills
 * its CPU's loaded magazine, so no slow path settles the pushes that the
 * magazine's word counts (struct magazine); the reaper drains such a slot
 * once the word has counted MAG_PUSHES_SETTLE, long before they wrap.  A
 * pinned thread pairs without pause and once adds MAG_PUSHES_SETTLE
 * pushes to its word under the slot lock (standing for that many real
 * ones).  The test calls the reaper's pass itself (its thread paused),
 * a few milliseconds apart: the pass must settle them while the thread
 * goes on, and the counts must then be exactly what was done plus
 * those.  (A pass that finds the slot unchanged since the last drains
 * it as idle, which proves nothing, so the test says when the thread
 * made no pair in between; a section that the kernel aborts also
 * settles, through the slow path, so without the reaper's check the
 * test fails only as often as the thread runs unpreempted.)
 */
static struct {
	atomic_int bump, bumped; /* main -> pairer -> main */
	atomic_long pairs;
	int cpu;
} ps;

static struct kmem_cache_cpu *pairer_slot(void)
{
	return &cache->cpu_slab[percpu_mode == PERCPU_LOCK ?
					percpu_lock_index() :
					ps.cpu];
}

static void *pairer_main(void *arg)
{
	(void)arg;
	if (pin_to(ps.cpu)) {
		atomic_fetch_add(&errors, 1);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		void *p = kmem_cache_alloc(cache, GFP_KERNEL);

		if (!p) {
			atomic_fetch_add(&errors, 1);
			return NULL;
		}
		kmem_cache_free(cache, p);
		atomic_fetch_add(&ps.pairs, 1);
		if (atomic_load(&ps.bump) && !atomic_load(&ps.bumped)) {
			struct kmem_cache_cpu *c = pairer_slot();
			struct magazine *m;

			/* The lock keeps drains away; no other thread here. */
			uslab_lock(&c->lock, RANK_CPU_SLOT);
			m = slot_mag(&c->loaded);
			if (m) {
				__atomic_fetch_add(
					&m->rounds,
					(long)(MAG_PUSHES_SETTLE * MAG_PUSH),
					__ATOMIC_RELAXED);
				atomic_store(&ps.bumped, 1);
			}
			uslab_unlock(&c->lock);
		}
	}
	return NULL;
}

/* The pushes the pairer's loaded word still counts. */
static unsigned long pairer_word_pushes(void)
{
	struct kmem_cache_cpu *c = pairer_slot();
	struct magazine *m;
	unsigned long n = 0;

	uslab_lock(&c->lock, RANK_CPU_SLOT);
	m = slot_mag(&c->loaded);
	if (m)
		n = mag_word_pushes(READ_ONCE(m->rounds));
	uslab_unlock(&c->lock);
	return n;
}

START_TEST(test_reaper_settles_busy_counts)
{
	struct uslab_cache_info info;
	unsigned long pairs;
	long after_last = 0; /* the reaper, paused, read nothing since */
	bool settled = false, busy = false;
	pthread_t th;
	int tries;

	if (!IS_ENABLED(CONFIG_STATS))
		return;
	memset(&ps, 0, sizeof(ps));
	ps.cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	setup_cache("mag-settle-busy");
	if (percpu_mode == PERCPU_LOCK) {
		/* Lock mode's words count no pushes: nothing to settle. */
		kmem_cache_destroy(cache);
		return;
	}
	reaper_set_interval(0);
	ck_assert_int_eq(pthread_create(&th, NULL, pairer_main, NULL), 0);
	atomic_store(&ps.bump, 1);
	for (tries = 0; tries < 600 && !atomic_load(&ps.bumped); tries++)
		usleep(5000);
	ck_assert_int_eq(atomic_load(&ps.bumped), 1);
	for (tries = 0; tries < 200; tries++) {
		/*
		 * A pair made after the last pass read the slot's
		 * signature (after_last) makes this pass see it in use.
		 */
		busy = atomic_load(&ps.pairs) > after_last;
		mag_reap(cache);
		after_last = atomic_load(&ps.pairs);
		if (pairer_word_pushes() < MAG_PUSHES_SETTLE) {
			settled = true;
			break;
		}
		usleep(2000);
	}
	ck_assert_msg(settled, "a busy slot's pushes were never settled");
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	reaper_set_interval(CONFIG_REAP_INTERVAL_MS);
	if (!busy)
		fprintf(stderr, "settle test: the pairing thread stood still; "
				"the slot may have been drained as idle\n");
	pairs = (unsigned long)atomic_load(&ps.pairs);
	ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
	ck_assert_uint_eq(info.frees, pairs + MAG_PUSHES_SETTLE);
	ck_assert_uint_eq(info.allocs, pairs + MAG_PUSHES_SETTLE);
	check_conserved();
	kmem_cache_destroy(cache);
}
END_TEST

/* ---- fork() ------------------------------------------------------------ */

static void *busy_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stop))
		worker_main(w);
	return NULL;
}

/*
 * fork() while four threads allocate and free: each child must allocate
 * and free at once, from the busy cache and from a new one, and exit
 * cleanly; a lock inherited locked or a half-written magazine would
 * hang or corrupt it.
 */
START_TEST(test_fork_while_busy)
{
	struct worker w[4] = { 0 };
	int i, f, status, forks = scale > 1 ? 3 : 20;

	setup_cache("mag-fork");
	for (i = 0; i < 4; i++) {
		w[i].id = (unsigned int)i;
		w[i].ops = 20000;
		w[i].bulk = true;
		ck_assert_int_eq(
			pthread_create(&w[i].th, NULL, busy_main, &w[i]), 0);
	}
	for (f = 0; f < forks; f++) {
		pid_t pid;

		usleep(2000);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct kmem_cache *c2;
			static void *p[5000];
			int k;

			for (k = 0; k < 5000; k++) {
				p[k] = kmem_cache_alloc(cache, GFP_KERNEL);
				if (!p[k] || !take(p[k], 0x55))
					_exit(2);
			}
			for (k = 0; k < 5000; k++) {
				give(p[k], 0x55);
				kmem_cache_free(cache, p[k]);
			}
			c2 = kmem_cache_create("child", 100, 0, 0, NULL);
			for (k = 0; c2 && k < 5000; k++)
				p[k] = kmem_cache_alloc(c2, GFP_KERNEL);
			for (k = 0; c2 && k < 5000; k++)
				kmem_cache_free(c2, p[k]);
			kmem_cache_shrink(cache);
			if (!c2 || atomic_load(&errors))
				_exit(3);
			kmem_cache_destroy(c2);
			/*
			 * The objects the busy threads held at fork() went
			 * with them, as malloc blocks would, and memcheck
			 * (uslab tells it about objects) would call them
			 * lost: no leak check at this exit.
			 */
			VALGRIND_CLO_CHANGE("--leak-check=no");
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "child %d: status 0x%x", f, status);
	}
	atomic_store(&stop, true);
	for (i = 0; i < 4; i++)
		pthread_join(w[i].th, NULL);
	check_conserved();
	kmem_cache_destroy(cache);
}
END_TEST

/* ---- fork() in the middle of a drain ----------------------------------- */

static atomic_int drain_fork_state; /* 1: the drain took, 2: forked */
static pid_t drain_fork_pid;

/*
 * mag_drain()'s hook, in the draining thread, with magazines taken and
 * not yet given back: let the forking thread go, and give it 200 ms.
 */
static void drain_taken(void)
{
	atomic_store(&drain_fork_state, 1);
	for (int i = 0; i < 200 && atomic_load(&drain_fork_state) != 2; i++)
		usleep(1000);
}

static void *drain_forker_main(void *arg)
{
	pid_t pid;

	(void)arg;
	while (atomic_load(&drain_fork_state) != 1)
		usleep(100);
	pid = fork();
	if (pid == 0) {
		struct uslab_cache_info info;

		/*
		 * Every object was freed before the drain began, so none
		 * may be in use here, and a shrink leaves no slab: objects
		 * in magazines the drain held would be lost with its
		 * thread, counted in use for ever.
		 */
		mag_drain_taken_hook = NULL;
		kmem_cache_shrink(cache);
		if (uslab_cache_info(cache, &info))
			_exit(2);
		_exit(info.active_objs || info.total_objs ? 1 : 0);
	}
	drain_fork_pid = pid;
	atomic_store(&drain_fork_state, 2);
	return NULL;
}

/*
 * Another thread forks while kmem_cache_shrink() holds the magazines it
 * took from the CPUs: the child must not inherit the drain half done.
 */
START_TEST(test_fork_during_drain)
{
	static void *p[1000];
	pthread_t forker;
	int i, status;

	setup_cache("mag-fork-drain");
	reaper_set_interval(0);
	for (i = 0; i < 1000; i++) {
		p[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
	}
	for (i = 0; i < 1000; i++)
		kmem_cache_free(cache, p[i]);
	atomic_store(&drain_fork_state, 0);
	ck_assert_int_eq(pthread_create(&forker, NULL, drain_forker_main, NULL),
			 0);
	mag_drain_taken_hook = drain_taken;
	kmem_cache_shrink(cache);
	mag_drain_taken_hook = NULL;
	pthread_join(forker, NULL);
	ck_assert_int_gt(drain_fork_pid, 0);
	ck_assert_int_eq(waitpid(drain_fork_pid, &status, 0), drain_fork_pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child: status 0x%x", status);
	reaper_set_interval(CONFIG_REAP_INTERVAL_MS);
	check_conserved();
	kmem_cache_destroy(cache);
}
END_TEST

/* ---- Statistics while other CPUs drain --------------------------------- */

/*
 * The allocation count is derived from the frees and the magazines'
 * rounds, and the fast path's frees are counted in the magazines' round
 * words until their slot settles them; a drain takes a CPU's loaded
 * magazine while sections there may still commit on it.  A worker on
 * CPU 0 allocates and frees in bursts while threads on the last CPU
 * drain the cache (shrink) and read its figures without pause.  No
 * reading may run ahead of the allocations or frees made or go down,
 * and whenever the worker stops between bursts (and the drainer between
 * drains) the figures are exact.
 */
#define DRAIN_BURST 4096

static struct {
	atomic_long allocs_done, frees_done; /* the worker's, after each */
	atomic_long burst, checked; /* worker -> main -> worker */
	atomic_int pause, paused; /* main -> drainer and reader */
	long allocs, frees; /* the worker's own, read between bursts */
} dr;

static void drain_pause_point(void)
{
	if (!atomic_load(&dr.pause))
		return;
	atomic_fetch_add(&dr.paused, 1);
	while (atomic_load(&dr.pause) && !atomic_load(&stop))
		sched_yield();
	atomic_fetch_sub(&dr.paused, 1);
}

static void *drain_worker(void *arg)
{
	static void *p[DRAIN_BURST];
	long b, i;

	(void)arg;
	pin_to(0);
	for (b = 1; !atomic_load(&stop); b++) {
		for (i = 0; i < DRAIN_BURST; i++) {
			p[i] = kmem_cache_alloc(cache, GFP_KERNEL);
			if (!p[i]) {
				atomic_fetch_add(&errors, 1);
				atomic_store(&stop, true);
				return NULL;
			}
			atomic_store(&dr.allocs_done, ++dr.allocs);
		}
		for (i = 0; i < DRAIN_BURST; i++) {
			kmem_cache_free(cache, p[i]);
			atomic_store(&dr.frees_done, ++dr.frees);
		}
		atomic_store(&dr.burst, b);
		while (atomic_load(&dr.checked) < b && !atomic_load(&stop))
			sched_yield();
	}
	return NULL;
}

static void *drain_drainer(void *arg)
{
	(void)arg;
	pin_to((int)sysconf(_SC_NPROCESSORS_ONLN) - 1);
	while (!atomic_load(&stop)) {
		drain_pause_point();
		kmem_cache_shrink(cache);
	}
	return NULL;
}

static void *drain_reader(void *arg)
{
	struct uslab_cache_info info;
	unsigned long last = 0, last_frees = 0;

	(void)arg;
	pin_to((int)sysconf(_SC_NPROCESSORS_ONLN) - 1);
	while (!atomic_load(&stop)) {
		drain_pause_point();
		if (uslab_cache_info(cache, &info) || info.allocs < last ||
		    info.allocs >
			    (unsigned long)atomic_load(&dr.allocs_done) + 1 ||
		    info.frees < last_frees ||
		    info.frees > (unsigned long)atomic_load(&dr.frees_done) + 1)
			atomic_fetch_add(&errors, 1);
		last = info.allocs;
		last_frees = info.frees;
	}
	return NULL;
}

START_TEST(test_stats_while_draining)
{
	long bursts = 400 / scale, b;
	pthread_t th[3];
	int i;

	if (!IS_ENABLED(CONFIG_STATS))
		return;
	setup_cache("mag-stats-drain");
	memset(&dr, 0, sizeof(dr));
	ck_assert_int_eq(pthread_create(&th[0], NULL, drain_worker, NULL), 0);
	ck_assert_int_eq(pthread_create(&th[1], NULL, drain_drainer, NULL), 0);
	ck_assert_int_eq(pthread_create(&th[2], NULL, drain_reader, NULL), 0);
	for (b = 1; b <= bursts && !atomic_load(&stop); b++) {
		struct uslab_cache_info info;

		while (atomic_load(&dr.burst) < b && !atomic_load(&stop))
			sched_yield();
		atomic_store(&dr.pause, 1);
		while (atomic_load(&dr.paused) < 2 && !atomic_load(&stop))
			sched_yield();
		ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
		ck_assert_uint_eq(info.allocs, dr.allocs);
		ck_assert_uint_eq(info.frees, dr.frees);
		atomic_store(&dr.pause, 0);
		while (atomic_load(&dr.paused) > 0)
			sched_yield();
		atomic_store(&dr.checked, b);
	}
	atomic_store(&stop, true);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&errors), 0);
	ck_assert_int_gt(b, bursts);
	kmem_cache_destroy(cache);
}
END_TEST

static Suite *magazine_suite(const char *name)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create("magazines");

	tcase_add_unchecked_fixture(tc, check_setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_cpu_ids_cover_possible);
	tcase_add_test(tc, test_unregistered_sections_abort);
	tcase_add_test(tc, test_migrating_threads);
	tcase_add_test(tc, test_more_threads_than_cores);
	tcase_add_test(tc, test_depot_storm);
	tcase_add_test(tc, test_reaper_returns_idle_memory);
	tcase_add_test(tc, test_reaper_drains_idle_cpu);
	tcase_add_test(tc, test_reaper_settles_busy_counts);
	tcase_add_test(tc, test_destroy_after_heavy_use);
	tcase_add_test(tc, test_fork_while_busy);
	tcase_add_test(tc, test_fork_during_drain);
	tcase_add_test(tc, test_stats_while_draining);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	struct tally t = { 0 };

	run_counted(magazine_suite("stress-magazines"), &t);
	/*
	 * Again on a fake 2-node topology: threads that move between the
	 * CPUs of two nodes free objects remotely, so the alien magazines,
	 * their fast path, their drain and fork are under the same load.
	 */
	if (getenv("USLAB_TEST_VALGRIND")) {
		/* Minutes there; every other build runs it, TSan included. */
		printf("SKIP: the fake 2-node round under valgrind (time)\n");
		return tally_report(&t);
	}
	setenv("USLAB_FAKE_NUMA", "2", 1);
	run_counted(magazine_suite("stress-magazines-fake-2"), &t);
	return tally_report(&t);
}
