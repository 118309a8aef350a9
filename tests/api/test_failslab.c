// SPDX-License-Identifier: MIT
/*
 * USLAB_FAILSLAB through the public API, with exact counts: times,
 * interval, space and probability as the kernel's fault_attr, the
 * __GFP_NOFAIL exemption, __GFP_NOWARN's silence, USLAB_FAILSLAB_FILTER
 * with SLAB_FAILSLAB and USLAB_DEBUG=A,<cache>, bulk calls failed as a
 * whole, the statistics count, and that nothing leaks on the ENOMEM
 * paths.  Each test sets the variables and has the library read them
 * again (env_parse(), failslab_init()) before creating its caches.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>

#include "internal.h"

/* Inject as @spec says (NULL: off), @filter as USLAB_FAILSLAB_FILTER. */
static void failslab_setup(const char *spec, const char *filter,
			   const char *debug)
{
	ck_assert_int_eq(uslab_ensure_init(), 0);
	if (spec)
		setenv("USLAB_FAILSLAB", spec, 1);
	else
		unsetenv("USLAB_FAILSLAB");
	if (filter)
		setenv("USLAB_FAILSLAB_FILTER", filter, 1);
	else
		unsetenv("USLAB_FAILSLAB_FILTER");
	if (debug)
		setenv("USLAB_DEBUG", debug, 1);
	else
		unsetenv("USLAB_DEBUG");
	env_parse(&uslab_env);
	failslab_init();
}

static struct uslab_cache_info info_of(struct kmem_cache *s)
{
	struct uslab_cache_info info;

	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	return info;
}

/*
 * @n calls of kmem_cache_alloc(@gfp) on @s; which failed in @failed
 * (may be NULL).  Returns the number of failures; every object is
 * freed again.
 */
static int alloc_n(struct kmem_cache *s, gfp_t gfp, int n, bool *failed)
{
	void *p[1000];
	int i, fails = 0;

	ck_assert_int_le(n, 1000);
	for (i = 0; i < n; i++) {
		errno = 0;
		p[i] = kmem_cache_alloc(s, gfp);
		if (!p[i]) {
			ck_assert_int_eq(errno, ENOMEM);
			fails++;
		}
		if (failed)
			failed[i] = !p[i];
	}
	for (i = 0; i < n; i++)
		kmem_cache_free(s, p[i]);
	return fails;
}

/* Destroyed cleanly: every object that was handed out came back. */
static void destroy_clean(struct kmem_cache *s)
{
	struct capture c;

	ck_assert_uint_eq(info_of(s).active_objs, 0);
	capture_begin(&c);
	kmem_cache_destroy(s);
	capture_end(&c);
	ck_assert_int_eq(c.lines, 0);
}

/* 1,100,0,10: exactly the first ten calls fail, each reported. */
START_TEST(test_times)
{
	struct kmem_cache *s;
	struct uslab_cache_info info;
	struct capture c;
	bool failed[30];
	int i;

	failslab_setup("1,100,0,10", NULL, NULL);
	s = kmem_cache_create("fs_times", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert(s->failslab);
	ck_assert_ptr_null(s->cpu_slab); /* off the fast path */
	capture_begin(&c);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL, 30, failed), 10);
	capture_end(&c);
	for (i = 0; i < 30; i++)
		ck_assert_int_eq(failed[i], i < 10);
	ck_assert_int_eq(c.lines, 10);
	ck_assert_reported(&c, "kmem_cache_alloc(fs_times): failure injected "
			       "(USLAB_FAILSLAB)");
	info = info_of(s);
	ck_assert_uint_eq(info.failslab, 10);
	if (IS_ENABLED(CONFIG_STATS)) {
		ck_assert_uint_eq(info.allocs, 20);
		ck_assert_uint_eq(info.frees, 20);
	}
	destroy_clean(s);
}
END_TEST

/* The times are the process's: two caches share them. */
START_TEST(test_times_shared)
{
	struct kmem_cache *a, *b;

	failslab_setup("1,100,0,5", NULL, NULL);
	a = kmem_cache_create("fs_a", 32, 0, 0, NULL);
	b = kmem_cache_create("fs_b", 200, 0, 0, NULL);
	ck_assert_int_eq(alloc_n(a, GFP_KERNEL | __GFP_NOWARN, 3, NULL), 3);
	ck_assert_int_eq(alloc_n(b, GFP_KERNEL | __GFP_NOWARN, 10, NULL), 2);
	ck_assert_int_eq(alloc_n(a, GFP_KERNEL | __GFP_NOWARN, 10, NULL), 0);
	ck_assert_uint_eq(info_of(a).failslab, 3);
	ck_assert_uint_eq(info_of(b).failslab, 2);
	destroy_clean(a);
	destroy_clean(b);
}
END_TEST

/* __GFP_NOFAIL never fails and takes nothing; __GFP_NOWARN is quiet. */
START_TEST(test_nofail_nowarn)
{
	struct kmem_cache *s;
	struct capture c;

	failslab_setup("1,100,0,-1", NULL, NULL);
	s = kmem_cache_create("fs_nofail", 100, 0, 0, NULL);
	capture_begin(&c);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL | __GFP_NOFAIL, 50, NULL), 0);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL | __GFP_NOWARN, 50, NULL), 50);
	capture_end(&c);
	ck_assert_int_eq(c.lines, 0);
	ck_assert_uint_eq(info_of(s).failslab, 50);
	destroy_clean(s);
}
END_TEST

/* 4,100,0,-1: every fourth call fails, from the fourth. */
START_TEST(test_interval)
{
	struct kmem_cache *s;
	bool failed[40];
	int i;

	failslab_setup("4,100,0,-1", NULL, NULL);
	s = kmem_cache_create("fs_interval", 24, 0, 0, NULL);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL | __GFP_NOWARN, 40, failed), 10);
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(failed[i], i % 4 == 3);
	destroy_clean(s);
}
END_TEST

/*
 * 1,100,640,-1 on 64-byte objects: calls go through while more than 64
 * bytes of space are left (nine of them), then every call fails.
 */
START_TEST(test_space)
{
	struct kmem_cache *s;
	bool failed[20];
	int i;

	failslab_setup("1,100,640,-1", NULL, NULL);
	s = kmem_cache_create("fs_space", 64, 0, 0, NULL);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL | __GFP_NOWARN, 20, failed), 11);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(failed[i], i >= 9);
	destroy_clean(s);
}
END_TEST

/*
 * Probability 30: about 300 of 1000 calls fail (the binomial's standard
 * deviation is 14.5; the bounds are 10 of them away).  Probability 0
 * never fails, and the cache keeps its magazines.
 */
START_TEST(test_probability)
{
	struct kmem_cache *s;
	int fails;

	failslab_setup("1,30,0,-1", NULL, NULL);
	s = kmem_cache_create("fs_prob", 16, 0, 0, NULL);
	fails = alloc_n(s, GFP_KERNEL | __GFP_NOWARN, 1000, NULL);
	ck_assert_int_gt(fails, 155);
	ck_assert_int_lt(fails, 445);
	ck_assert_uint_eq(info_of(s).failslab, (unsigned long)fails);
	destroy_clean(s);

	failslab_setup("1,0,0,-1", NULL, NULL);
	s = kmem_cache_create("fs_prob0", 16, 0, 0, NULL);
	ck_assert(!s->failslab);
	ck_assert_ptr_nonnull(s->cpu_slab);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL, 1000, NULL), 0);
	destroy_clean(s);

	/* times 0: nothing left to inject from the start. */
	failslab_setup("1,100,0,0", NULL, NULL);
	s = kmem_cache_create("fs_times0", 16, 0, 0, NULL);
	ck_assert(!s->failslab);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL, 100, NULL), 0);
	destroy_clean(s);
}
END_TEST

/* Without USLAB_FAILSLAB, SLAB_FAILSLAB is accepted and does nothing. */
START_TEST(test_off)
{
	struct kmem_cache *s;

	failslab_setup(NULL, "1", NULL);
	s = kmem_cache_create("fs_off", 16, 0, SLAB_FAILSLAB, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert(!s->failslab);
	ck_assert_ptr_nonnull(s->cpu_slab);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL, 100, NULL), 0);
	ck_assert_uint_eq(info_of(s).failslab, 0);
	destroy_clean(s);
}
END_TEST

/*
 * USLAB_FAILSLAB_FILTER=1: only caches with SLAB_FAILSLAB, given at
 * creation or by USLAB_DEBUG=A,<names>, may fail; the others keep
 * their magazines.
 */
START_TEST(test_filter)
{
	struct kmem_cache *plain, *marked, *named, *other;

	failslab_setup("1,100,0,-1", "1", "A,fs_item_*,fs_exact");
	plain = kmem_cache_create("fs_plain", 40, 0, 0, NULL);
	marked = kmem_cache_create("fs_marked", 40, 0, SLAB_FAILSLAB, NULL);
	named = kmem_cache_create("fs_item_64", 64, 0, 0, NULL);
	other = kmem_cache_create("fs_exact2", 64, 0, 0, NULL);
	ck_assert(!plain->failslab);
	ck_assert_ptr_nonnull(plain->cpu_slab);
	ck_assert(!other->failslab);
	ck_assert(marked->failslab);
	ck_assert(named->failslab);
	ck_assert_uint_eq(named->flags & SLAB_DEBUG_FLAGS, 0);
	ck_assert_int_eq(alloc_n(plain, GFP_KERNEL, 100, NULL), 0);
	ck_assert_int_eq(alloc_n(other, GFP_KERNEL, 100, NULL), 0);
	ck_assert_int_eq(alloc_n(marked, GFP_KERNEL | __GFP_NOWARN, 7, NULL),
			 7);
	ck_assert_int_eq(alloc_n(named, GFP_KERNEL | __GFP_NOWARN, 9, NULL), 9);
	ck_assert_uint_eq(info_of(plain).failslab, 0);
	ck_assert_uint_eq(info_of(marked).failslab, 7);
	ck_assert_uint_eq(info_of(named).failslab, 9);
	destroy_clean(plain);
	destroy_clean(marked);
	destroy_clean(named);
	destroy_clean(other);

	/* The filter off: every cache may fail. */
	failslab_setup("1,100,0,-1", "0", NULL);
	plain = kmem_cache_create("fs_plain", 40, 0, 0, NULL);
	ck_assert(plain->failslab);
	ck_assert_int_eq(alloc_n(plain, GFP_KERNEL | __GFP_NOWARN, 5, NULL), 5);
	destroy_clean(plain);
}
END_TEST

/* Every allocation call is a fault point: _node, zalloc, bulk. */
START_TEST(test_every_entry_point)
{
	struct kmem_cache *s;
	void *p[16];
	int i;

	failslab_setup("1,100,0,4", NULL, NULL);
	s = kmem_cache_create("fs_entry", 48, 0, 0, NULL);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc_node(s, GFP_KERNEL, 0));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_zalloc(s, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);
	/* A bulk call is one fault point and fails as a whole. */
	for (i = 0; i < 2; i++) {
		errno = 0;
		ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 16, p),
				 0);
		ck_assert_int_eq(errno, ENOMEM);
		ck_assert_uint_eq(info_of(s).active_objs, 0);
	}
	ck_assert_uint_eq(info_of(s).failslab, 4);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 16, p), 16);
	kmem_cache_free_bulk(s, 16, p);
	p[0] = kmem_cache_zalloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(p[0]);
	kmem_cache_free(s, p[0]);
	/* A bad call is refused before the fault point: no time taken. */
	failslab_setup("1,100,0,1", NULL, NULL);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc(s, 0x80000000u));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOWARN));
	ck_assert_uint_eq(info_of(s).failslab, 5);
	destroy_clean(s);
}
END_TEST

/* Debug caches fail the same, and their checks stay quiet. */
START_TEST(test_debug_cache)
{
	struct kmem_cache *s;
	struct capture c;

	failslab_setup("2,100,0,-1", NULL, NULL);
	s = kmem_cache_create("fs_debug", 48, 0, SLAB_DEBUG_FLAGS, NULL);
	capture_begin(&c);
	ck_assert_int_eq(alloc_n(s, GFP_KERNEL | __GFP_NOWARN, 100, NULL), 50);
	kmem_cache_destroy(s);
	capture_end(&c);
	ck_assert_int_eq(c.lines, 0);
}
END_TEST

#define FS_THREADS 4
#define FS_CALLS 2000

static struct kmem_cache *thread_cache;

static void *fs_thread(void *arg)
{
	long fails = 0;
	int i;

	(void)arg;
	for (i = 0; i < FS_CALLS; i++) {
		void *p = kmem_cache_alloc(thread_cache,
					   GFP_KERNEL | __GFP_NOWARN);

		if (!p)
			fails++;
		kmem_cache_free(thread_cache, p);
	}
	return (void *)fails;
}

/* More threads than CPUs share times exactly: 100 failures, no more. */
START_TEST(test_threads_exact)
{
	pthread_t t[FS_THREADS];
	long total = 0;
	void *r;
	int i;

	failslab_setup("1,50,0,100", NULL, NULL);
	thread_cache = kmem_cache_create("fs_threads", 80, 0, 0, NULL);
	for (i = 0; i < FS_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, fs_thread, NULL),
				 0);
	for (i = 0; i < FS_THREADS; i++) {
		pthread_join(t[i], &r);
		total += (long)r;
	}
	ck_assert_int_eq(total, 100);
	ck_assert_uint_eq(info_of(thread_cache).failslab, 100);
	destroy_clean(thread_cache);
}
END_TEST

static Suite *failslab_suite(void)
{
	Suite *s = suite_create("api-failslab");
	TCase *tc = tcase_create("failslab");

	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_times_shared);
	tcase_add_test(tc, test_nofail_nowarn);
	tcase_add_test(tc, test_interval);
	tcase_add_test(tc, test_space);
	tcase_add_test(tc, test_probability);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_every_entry_point);
	tcase_add_test(tc, test_debug_cache);
	tcase_add_test(tc, test_threads_exact);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(failslab_suite());
}
