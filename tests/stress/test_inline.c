// SPDX-License-Identifier: MIT
/*
 * The inline fast path (USLAB_INLINE, <uslab/fastpath.h>) as a program
 * gets it: this file uses the public headers only, so the inline code
 * reads the layout the library publishes, not its internals.
 *
 * - The library publishes its rseq offset and arena before the first
 *   cache is handed out, and the inline lookup finds an object's cache.
 * - NTHREADS threads (three per core here) allocate and free through the
 *   inline kmem_cache_alloc(), kmem_cache_alloc_node(), kmem_cache_free()
 *   and kfree(), moving themselves to another CPU every few hundred
 *   operations, with most frees on a thread other than the allocating
 *   one.  Each object carries its owner, a serial, a checksum and an
 *   in-use flag flipped with atomic exchanges: an object handed out
 *   twice, or freed while not in use, is caught.  At the end the
 *   statistics balance, no free was refused and every object comes back.
 * main() runs the suite on this machine's nodes and again with
 * USLAB_FAKE_NUMA=2, where one kmem_cache_alloc_node() call in four asks
 * for the other node and frees of its objects take the inline
 * remote-free path (this CPU's alien magazine).
 */
#define USLAB_INLINE 1
#include "common.h"
#include "tobj.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <generated/autoconf.h> /* this build's CONFIG_STATS */
#include <uslab/slab.h>
#include <uslab/stats.h>

/* Where the fast path can be inline it must be: that is what runs here. */
#if defined(__x86_64__) && !defined(__USLAB_INLINE_OK) && \
	!defined(__USLAB_TSAN_BUILD)
#error "USLAB_INLINE has no effect in this build"
#endif

#define NTHREADS 6
#define NSLOTS 4096
#define OPS 1000000 /* per thread */
#define MOVE_EVERY 300 /* operations between moves to another CPU */

static struct kmem_cache *cache;
static long scale = 1; /* USLAB_TEST_QUICK=1 (valgrind): 1/20 */
static int nr_nodes = 1; /* USLAB_FAKE_NUMA, else 1 */
static _Atomic(struct tobj *) slots[NSLOTS];
static atomic_long allocated, freed, moves;

/* Move the calling thread to one CPU it may run on, picked by @r. */
static void move_to_some_cpu(const cpu_set_t *allowed, unsigned long long r)
{
	int n = CPU_COUNT(allowed), pick = (int)(r % (unsigned int)n), cpu;
	cpu_set_t one;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, allowed) && pick-- == 0)
			break;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) == 0)
		atomic_fetch_add(&moves, 1);
}

/* An object from one of the inline entry points, picked by @r. */
static struct tobj *alloc_one(unsigned long long r)
{
	switch (r % 4) {
	case 0:
		return kmem_cache_alloc_node(cache, GFP_KERNEL,
					     uslab_cpu_node());
	case 1:
		/* Another node's object where there is one. */
		return kmem_cache_alloc_node(cache, GFP_KERNEL,
					     (int)((r >> 8) % nr_nodes));
	default:
		return kmem_cache_alloc(cache, GFP_KERNEL);
	}
}

static void *worker(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	unsigned long long rng = 0x9876543ULL * (id + 1);
	uint64_t serial = 0;
	long ops, nalloc = 0, nfree = 0;
	cpu_set_t allowed;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		CPU_ZERO(&allowed);
	for (ops = 0; ops < OPS / scale; ops++) {
		unsigned long long r = rng_next(&rng);
		unsigned int slot = (unsigned int)(r % NSLOTS);
		struct tobj *o;

		if (ops % MOVE_EVERY == 0 && CPU_COUNT(&allowed) > 0)
			move_to_some_cpu(&allowed, r >> 20);
		o = atomic_exchange(&slots[slot], NULL);
		if (o) {
			tobj_untag(o);
			if ((r >> 32) & 1)
				kmem_cache_free(cache, o);
			else
				kfree(o);
			nfree++;
			continue;
		}
		o = alloc_one(r >> 16);
		if (!o) {
			atomic_fetch_add(&tobj_errors, 1);
			continue;
		}
		nalloc++;
		tobj_tag(o, id, ++serial);
		o = atomic_exchange(&slots[slot], o);
		if (o) { /* another thread filled it meanwhile */
			tobj_untag(o);
			kmem_cache_free(cache, o);
			nfree++;
		}
	}
	atomic_fetch_add(&allocated, nalloc);
	atomic_fetch_add(&freed, nfree);
	return NULL;
}

static void setup(void)
{
	if (getenv("USLAB_TEST_QUICK"))
		scale = 20;
	if (getenv("USLAB_FAKE_NUMA"))
		nr_nodes = atoi(getenv("USLAB_FAKE_NUMA"));
	cache = kmem_cache_create("inline-64", sizeof(struct tobj), 0, 0, NULL);
	ck_assert_ptr_nonnull(cache);
}

static void teardown(void)
{
	kmem_cache_destroy(cache);
	cache = NULL;
}

/*
 * What the inline code reads is published once a cache exists: the
 * arena holds the cache's objects, and an object's page view names its
 * cache.
 */
START_TEST(test_published)
{
	struct tobj *o = kmem_cache_alloc(cache, GFP_KERNEL);

	ck_assert_ptr_nonnull(o);
	ck_assert_uint_gt(__uslab_fast_now.size, 0);
	/* One unsigned compare: below the base wraps to a huge offset. */
	ck_assert_uint_lt((unsigned long)o -
				  (unsigned long)__uslab_fast_now.base,
			  __uslab_fast_now.size);
	ck_assert_ptr_nonnull(__uslab_fast_now.views);
	ck_assert_int_ne(__uslab_fast_now.rseq_off, 0);
	ck_assert_ptr_eq(__uslab_view_cache(__uslab_view_of(o)), cache);
	ck_assert_ptr_null(__uslab_view_of(&o));
	kmem_cache_free(cache, o);
}
END_TEST

START_TEST(test_migrating_workers)
{
	pthread_t th[NTHREADS];
	struct uslab_cache_info info;
	long i;

	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker,
						(void *)(uintptr_t)i),
				 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NSLOTS; i++) {
		struct tobj *o = atomic_exchange(&slots[i], NULL);

		if (o) {
			tobj_untag(o);
			kmem_cache_free(cache, o);
			atomic_fetch_add(&freed, 1);
		}
	}
	ck_assert_int_eq(atomic_load(&tobj_errors), 0);
	ck_assert_int_eq(atomic_load(&allocated), atomic_load(&freed));
	ck_assert_int_gt(atomic_load(&moves), NTHREADS);

	ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
	ck_assert_uint_eq(info.bad_frees, 0);
#ifdef CONFIG_STATS
	/* Every allocation and free counted, inline or not. */
	ck_assert_uint_eq(info.allocs, (unsigned long)allocated);
	ck_assert_uint_eq(info.frees, (unsigned long)freed);
#endif
	/* Nothing is lost: with the magazines drained, nothing is live. */
	kmem_cache_shrink(cache);
	ck_assert_int_eq(uslab_cache_info(cache, &info), 0);
	ck_assert_uint_eq(info.active_objs, 0);
}
END_TEST

static Suite *inline_suite(const char *name)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create("inline");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_published);
	tcase_add_test(tc, test_migrating_workers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	struct tally t = { 0 };

	unsetenv("USLAB_FAKE_NUMA");
	run_counted(inline_suite("inline"), &t);
	setenv("USLAB_FAKE_NUMA", "2", 1);
	run_counted(inline_suite("inline-fake-2"), &t);
	unsetenv("USLAB_FAKE_NUMA");
	return tally_report(&t);
}
