// SPDX-License-Identifier: MIT
/*
 * Unit tests of lib/reclaim.c and the out-of-memory path that uses it:
 * the memory limit refuses slabs past it, a shrinker is called when a
 * cache needs a slab and the limit is spent and what it frees lets the
 * allocation succeed, an unregistered shrinker is no longer called,
 * GFP_NOWAIT does not call shrinkers, a shrinker that allocates does
 * not recurse, threads allocating against a shrinker never take the
 * pages in use past the limit, min_partial decides the empty slabs the
 * reaper keeps, and bad arguments are reported.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>

#include "internal.h"

#define MAX_HELD 65536

/* The victim cache's objects that the test shrinker may free. */
static struct {
	pthread_mutex_t lock;
	struct kmem_cache *cache;
	void *obj[MAX_HELD];
	size_t nr;
	unsigned long counts, scans, freed;
	unsigned long nested_allocs; /* scan's own allocations that failed */
	struct kmem_cache *nested; /* scan allocates here, if set */
} held = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned long held_count(struct shrinker *sh, struct shrink_control *sc)
{
	unsigned long n;

	(void)sh;
	ck_assert_uint_eq(sc->nr_to_scan, 0);
	pthread_mutex_lock(&held.lock);
	held.counts++;
	n = held.nr;
	pthread_mutex_unlock(&held.lock);
	return n;
}

static unsigned long held_scan(struct shrinker *sh, struct shrink_control *sc)
{
	unsigned long n = 0;

	ck_assert_ptr_eq(sh->private_data, &held);
	ck_assert_uint_gt(sc->nr_to_scan, 0);
	ck_assert_uint_le(sc->nr_to_scan, SHRINK_BATCH);
	ck_assert(sc->gfp_mask & __GFP_DIRECT_RECLAIM);
	if (held.nested) {
		/* Needs a slab past the limit: must fail, not recurse. */
		void *p = kmem_cache_alloc(held.nested,
					   GFP_KERNEL | __GFP_NOWARN);

		if (!p)
			held.nested_allocs++;
		else
			kmem_cache_free(held.nested, p);
	}
	pthread_mutex_lock(&held.lock);
	held.scans++;
	while (n < sc->nr_to_scan && held.nr)
		kmem_cache_free(held.cache, held.obj[--held.nr]), n++;
	held.freed += n;
	pthread_mutex_unlock(&held.lock);
	return n ? n : SHRINK_STOP;
}

static struct shrinker held_shrinker = {
	.count_objects = held_count,
	.scan_objects = held_scan,
	.seeks = DEFAULT_SEEKS,
	.private_data = &held,
};

/* Allocate from @s until the limit refuses a slab; keep what came. */
static void fill_to_limit(struct kmem_cache *s)
{
	void *p;

	pthread_mutex_lock(&held.lock);
	held.cache = s;
	while (held.nr < MAX_HELD &&
	       (p = kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOWARN)))
		held.obj[held.nr++] = p;
	pthread_mutex_unlock(&held.lock);
	ck_assert_uint_lt(held.nr, MAX_HELD);
	ck_assert_uint_gt(held.nr, 0);
}

static void free_held(void)
{
	pthread_mutex_lock(&held.lock);
	while (held.nr)
		kmem_cache_free(held.cache, held.obj[--held.nr]);
	held.counts = held.scans = held.freed = 0;
	held.nested_allocs = 0;
	held.nested = NULL;
	pthread_mutex_unlock(&held.lock);
}

static void setup(void)
{
	ck_assert_int_eq(uslab_ensure_init(), 0);
	reaper_set_interval(0);
}

static void teardown(void)
{
	uslab_set_memory_limit(0);
	if (held_shrinker.__registered)
		uslab_unregister_shrinker(&held_shrinker);
	free_held();
}

/* Room for @slabs more slabs of @s beyond what is in use now. */
static size_t limit_for(struct kmem_cache *s, unsigned long slabs)
{
	return uslab_memory_used() + slabs * slab_bytes(s);
}

START_TEST(test_limit_refuses_slabs)
{
	struct kmem_cache *s = kmem_cache_create("rc-limit", 1024, 0, 0, NULL);
	struct capture c;
	size_t limit;
	void *p;

	ck_assert_uint_eq(uslab_memory_limit(), 0);
	limit = limit_for(s, 3);
	ck_assert_int_eq(uslab_set_memory_limit(limit), 0);
	ck_assert_uint_eq(uslab_memory_limit(), limit & ~(PAGE_SIZE - 1));
	fill_to_limit(s);
	ck_assert_uint_le(uslab_memory_used(), limit);
	/* Three slabs' worth of objects, give or take what magazines hold. */
	ck_assert_uint_ge(held.nr, 2 * s->objects);
	ck_assert_uint_le(held.nr, 3 * s->objects);
	capture_begin(&c);
	errno = 0;
	p = kmem_cache_alloc(s, GFP_KERNEL);
	capture_end(&c);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_reported(&c, "kmem_cache_alloc(rc-limit): out of memory");
	/* Lifting the limit lets it grow again. */
	ck_assert_int_eq(uslab_set_memory_limit(0), 0);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kmem_cache_free(s, p);
	free_held();
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_shrinker_frees_for_allocation)
{
	struct kmem_cache *victim =
		kmem_cache_create("rc-victim", 1024, 0, 0, NULL);
	struct kmem_cache *needy =
		kmem_cache_create("rc-needy", 4000, 0, 0, NULL);
	size_t limit;
	void *p;

	limit = limit_for(victim, 4);
	ck_assert_uint_ge(limit - uslab_memory_used(), slab_bytes(needy));
	ck_assert_int_eq(uslab_set_memory_limit(limit), 0);
	fill_to_limit(victim);
	/* Without a shrinker nothing can be had. */
	ck_assert_ptr_null(kmem_cache_alloc(needy, GFP_KERNEL | __GFP_NOWARN));

	ck_assert_int_eq(uslab_register_shrinker(&held_shrinker), 0);
	p = kmem_cache_alloc(needy, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_gt(held.counts, 0);
	ck_assert_uint_gt(held.scans, 0);
	ck_assert_uint_gt(held.freed, 0);
	ck_assert_uint_le(uslab_memory_used(), limit);
	kmem_cache_free(needy, p);

	/* Unregistered: not called again, and the allocation fails. */
	uslab_unregister_shrinker(&held_shrinker);
	ck_assert_int_eq(kmem_cache_shrink(needy), 0);
	held.scans = 0;
	fill_to_limit(victim);
	ck_assert_ptr_null(kmem_cache_alloc(needy, GFP_KERNEL | __GFP_NOWARN));
	ck_assert_uint_eq(held.scans, 0);
	free_held();
	kmem_cache_destroy(needy);
	kmem_cache_destroy(victim);
}
END_TEST

START_TEST(test_bulk_and_nowait)
{
	struct kmem_cache *victim = kmem_cache_create("rc-v2", 512, 0, 0, NULL);
	struct kmem_cache *needy = kmem_cache_create("rc-n2", 2000, 0, 0, NULL);
	void *p[64];
	int n;

	ck_assert_int_eq(uslab_set_memory_limit(limit_for(victim, 32)), 0);
	fill_to_limit(victim);
	ck_assert_int_eq(uslab_register_shrinker(&held_shrinker), 0);
	/* GFP_NOWAIT may not reclaim: no shrinker call, no object. */
	ck_assert_ptr_null(kmem_cache_alloc(needy, GFP_NOWAIT));
	ck_assert_uint_eq(held.scans, 0);
	/* Bulk allocations reclaim like single ones. */
	n = kmem_cache_alloc_bulk(needy, GFP_KERNEL, ARRAY_SIZE(p), p);
	ck_assert_int_eq(n, (int)ARRAY_SIZE(p));
	ck_assert_uint_gt(held.scans, 0);
	ck_assert_uint_le(uslab_memory_used(), uslab_memory_limit());
	kmem_cache_free_bulk(needy, ARRAY_SIZE(p), p);
	uslab_unregister_shrinker(&held_shrinker);
	free_held();
	kmem_cache_destroy(needy);
	kmem_cache_destroy(victim);
}
END_TEST

START_TEST(test_shrinker_allocating_does_not_recurse)
{
	struct kmem_cache *victim =
		kmem_cache_create("rc-v3", 1024, 0, 0, NULL);
	struct kmem_cache *needy = kmem_cache_create("rc-n3", 4000, 0, 0, NULL);
	struct kmem_cache *nested =
		kmem_cache_create("rc-x3", 3000, 0, 0, NULL);
	void *p;

	ck_assert_int_eq(uslab_set_memory_limit(limit_for(victim, 8)), 0);
	fill_to_limit(victim);
	held.nested = nested;
	ck_assert_int_eq(uslab_register_shrinker(&held_shrinker), 0);
	p = kmem_cache_alloc(needy, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	/* The first scan ran with the limit spent: its allocation failed. */
	ck_assert_uint_gt(held.nested_allocs, 0);
	kmem_cache_free(needy, p);
	uslab_unregister_shrinker(&held_shrinker);
	free_held();
	kmem_cache_destroy(nested);
	kmem_cache_destroy(needy);
	kmem_cache_destroy(victim);
}
END_TEST

/* ---- Threads against the limit ---------------------------------------- */

#define NTHREADS 4 /* more than the 2 CPUs of the test machines */
#define ROUNDS 3000

static struct kmem_cache *mt_cache[NTHREADS];
static size_t mt_limit;
static bool mt_over;
static bool mt_stop;

static void *mt_sampler(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&mt_stop, __ATOMIC_RELAXED))
		if (page_total_resident() << PAGE_SHIFT > mt_limit)
			__atomic_store_n(&mt_over, true, __ATOMIC_RELAXED);
	return NULL;
}

/* Allocate, keeping a sliding window; the shrinker frees held objects. */
static void *mt_worker(void *arg)
{
	struct kmem_cache *s = mt_cache[(long)arg];
	void *win[32] = { 0 };
	unsigned long fails = 0;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		void **slot = &win[i % ARRAY_SIZE(win)];

		kmem_cache_free(s, *slot);
		*slot = kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOWARN);
		fails += !*slot;
	}
	for (i = 0; i < (int)ARRAY_SIZE(win); i++)
		kmem_cache_free(s, win[i]);
	return (void *)fails;
}

START_TEST(test_threads_never_exceed_limit)
{
	struct kmem_cache *victim = kmem_cache_create("rc-v4", 256, 0, 0, NULL);
	pthread_t th[NTHREADS], sampler;
	char name[32];
	long i;

	for (i = 0; i < NTHREADS; i++) {
		snprintf(name, sizeof(name), "rc-mt%ld", i);
		/* Different sizes: each thread needs slabs of its own. */
		mt_cache[i] = kmem_cache_create(name, 1000 + 700 * (unsigned)i,
						0, 0, NULL);
	}
	mt_limit = uslab_memory_used() + (2UL << 20);
	ck_assert_int_eq(uslab_set_memory_limit(mt_limit), 0);
	fill_to_limit(victim);
	ck_assert_int_eq(uslab_register_shrinker(&held_shrinker), 0);
	mt_stop = mt_over = false;
	pthread_create(&sampler, NULL, mt_sampler, NULL);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, mt_worker, (void *)i);
	for (i = 0; i < NTHREADS; i++) {
		void *fails;

		pthread_join(th[i], &fails);
		/* The victim had enough to give: every allocation worked. */
		ck_assert_ptr_null(fails);
	}
	__atomic_store_n(&mt_stop, true, __ATOMIC_RELAXED);
	pthread_join(sampler, NULL);
	ck_assert(!mt_over);
	ck_assert_uint_le(uslab_memory_used(), mt_limit);
	ck_assert_uint_gt(held.freed, 0);
	uslab_unregister_shrinker(&held_shrinker);
	free_held();
	for (i = 0; i < NTHREADS; i++)
		kmem_cache_destroy(mt_cache[i]);
	kmem_cache_destroy(victim);
}
END_TEST

/* ---- min_partial ------------------------------------------------------- */

/* Empty slabs @s keeps on node 0 after two reaps with everything free. */
static unsigned long kept_after_reap(struct kmem_cache *s, unsigned int slabs)
{
	void **p = calloc(slabs * s->objects, sizeof(*p));
	unsigned long i, kept;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < slabs * s->objects; i++)
		p[i] = slab_alloc(s, GFP_KERNEL, 0, NULL);
	for (i = 0; i < slabs * s->objects; i++)
		slab_free(s, virt_to_slab(p[i]), p[i], NULL);
	free(p);
	slab_reap_node(s, 0); /* starts the interval: all sat unused */
	slab_reap_node(s, 0);
	pthread_mutex_lock(&s->node[0]->lock);
	kept = s->node[0]->nr_free;
	pthread_mutex_unlock(&s->node[0]->lock);
	return kept;
}

START_TEST(test_min_partial)
{
	struct kmem_cache *s = kmem_cache_create("rc-mp", 512, 0, 0, NULL);
	unsigned int def = s->min_partial;

	ck_assert_uint_ge(def, 5);
	ck_assert_uint_eq(kept_after_reap(s, def + 4), def);
	ck_assert_int_eq(uslab_cache_set_min_partial(s, 0), 0);
	ck_assert_uint_eq(kept_after_reap(s, def + 4), 0);
	ck_assert_int_eq(uslab_cache_set_min_partial(s, 2), 0);
	ck_assert_uint_eq(kept_after_reap(s, 6), 2);
	ck_assert_int_eq(kmem_cache_shrink(s), 0); /* shrink ignores it */
	kmem_cache_destroy(s);
}
END_TEST

/* ---- Bad arguments ----------------------------------------------------- */

static unsigned long no_count(struct shrinker *sh, struct shrink_control *sc)
{
	(void)sh;
	(void)sc;
	return 0;
}

START_TEST(test_bad_arguments)
{
	struct shrinker bad = { .count_objects = no_count };
	struct kmem_cache *s = kmem_cache_create("rc-bad", 64, 0, 0, NULL);
	struct capture c;

	capture_begin(&c);
	errno = 0;
	ck_assert_int_eq(uslab_register_shrinker(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(uslab_register_shrinker(&bad),
			 -1); /* no scan_objects */
	ck_assert_int_eq(errno, EINVAL);
	bad.scan_objects = no_count;
	bad.batch = -1;
	errno = 0;
	ck_assert_int_eq(uslab_register_shrinker(&bad), -1);
	ck_assert_int_eq(errno, EINVAL);
	bad.batch = 0;
	bad.seeks = -2;
	errno = 0;
	ck_assert_int_eq(uslab_register_shrinker(&bad), -1);
	ck_assert_int_eq(errno, EINVAL);
	bad.seeks = 0;
	ck_assert_int_eq(uslab_register_shrinker(&bad), 0);
	errno = 0;
	ck_assert_int_eq(uslab_register_shrinker(&bad), -1);
	ck_assert_int_eq(errno, EBUSY);
	uslab_unregister_shrinker(&bad);
	uslab_unregister_shrinker(&bad); /* reported */
	uslab_unregister_shrinker(NULL); /* silent */
	errno = 0;
	ck_assert_int_eq(uslab_set_memory_limit(PAGE_SIZE - 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(uslab_cache_set_min_partial(NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(
		uslab_cache_set_min_partial(s, USLAB_MAX_MIN_PARTIAL + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	capture_end(&c);
	ck_assert_int_eq(c.lines, 9);
	ck_assert_reported(&c, "uslab_register_shrinker: shrinker is NULL");
	ck_assert_reported(&c, "uslab_register_shrinker: a callback is NULL");
	ck_assert_reported(&c,
			   "uslab_register_shrinker: negative batch or seeks");
	ck_assert_reported(&c, "uslab_register_shrinker: already registered");
	ck_assert_reported(&c, "uslab_unregister_shrinker: not registered");
	ck_assert_reported(&c, "uslab_set_memory_limit(4095): below one page");
	ck_assert_reported(&c, "uslab_cache_set_min_partial: cache is NULL");
	ck_assert_reported(&c, "uslab_cache_set_min_partial(rc-bad, 1025)");
	ck_assert_uint_eq(uslab_memory_limit(), 0); /* unchanged */
	ck_assert_int_eq(uslab_cache_set_min_partial(s, USLAB_MAX_MIN_PARTIAL),
			 0);
	kmem_cache_destroy(s);
}
END_TEST

static Suite *reclaim_suite(void)
{
	Suite *s = suite_create("unit-reclaim");
	TCase *tc = tcase_create("reclaim");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_limit_refuses_slabs);
	tcase_add_test(tc, test_shrinker_frees_for_allocation);
	tcase_add_test(tc, test_bulk_and_nowait);
	tcase_add_test(tc, test_shrinker_allocating_does_not_recurse);
	tcase_add_test(tc, test_threads_never_exceed_limit);
	tcase_add_test(tc, test_min_partial);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(reclaim_suite());
}
