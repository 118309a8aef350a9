// SPDX-License-Identifier: MIT
/*
 * USLAB_PASSTHROUGH=1 through the public API: every object is a block of
 * the system malloc (not in uslab's arena), aligned as the cache asks,
 * constructed on every allocation, counted in the statistics, and given
 * back with free().  main() sets the variable before the library starts.
 * tests/api/test_passthrough_tools.sh runs valgrind's leak checker on it.
 */
#include "common.h"

#include <errno.h>
#include <stdint.h>

#include "internal.h"

static struct uslab_cache_info info_of(struct kmem_cache *s)
{
	struct uslab_cache_info info;

	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	return info;
}

START_TEST(test_objects_are_heap_blocks)
{
	static const unsigned int sizes[] = { 1, 13, 64, 100, 4000 };
	static const unsigned int aligns[] = { 0, 8, 64, 4096 };
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < ARRAY_SIZE(aligns); j++) {
			struct kmem_cache *s =
				kmem_cache_create("pt", sizes[i], aligns[j],
						  SLAB_HWCACHE_ALIGN, NULL);
			unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL);

			ck_assert_ptr_nonnull(p);
			ck_assert(s->passthrough);
			ck_assert_ptr_null(s->cpu_slab);
			ck_assert(!page_in_arena(p));
			ck_assert_uint_eq((uintptr_t)p % s->align, 0);
			memset(p, 0x5a, sizes[i]);
			kmem_cache_free(s, p);
			kmem_cache_destroy(s);
		}
	}
}
END_TEST

static int ctor_calls;

static void count_ctor(void *p)
{
	ctor_calls++;
	memset(p, 0x11, 48);
}

/* No object is kept, so the constructor runs on every allocation. */
START_TEST(test_ctor_every_allocation)
{
	struct kmem_cache *s = kmem_cache_create("ctor", 48, 0, 0, count_ctor);
	unsigned char *p;
	int i;

	ctor_calls = 0;
	for (i = 0; i < 10; i++) {
		p = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_uint_eq(p[47], 0x11);
		kmem_cache_free(s, p);
	}
	ck_assert_int_eq(ctor_calls, 10);
	p = kmem_cache_zalloc(s, GFP_KERNEL);
	ck_assert_int_eq(ctor_calls, 11);
	ck_assert_uint_eq(p[0], 0);
	ck_assert_uint_eq(p[47], 0);
	kmem_cache_free(s, p);
	kmem_cache_destroy(s);
}
END_TEST

/* Objects in use, allocations and frees are counted as for slabs. */
START_TEST(test_statistics_count)
{
	struct kmem_cache *s = kmem_cache_create("stats", 200, 0, 0, NULL);
	struct uslab_cache_info info;
	void *p[100];
	int i;

	for (i = 0; i < 100; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	info = info_of(s);
	ck_assert_uint_eq(info.active_objs, 100);
	ck_assert_uint_eq(info.total_objs, 100);
	if (IS_ENABLED(CONFIG_STATS))
		ck_assert_uint_eq(info.allocs, 100);
	for (i = 0; i < 60; i++)
		kmem_cache_free(s, p[i]);
	info = info_of(s);
	ck_assert_uint_eq(info.active_objs, 40);
	if (IS_ENABLED(CONFIG_STATS))
		ck_assert_uint_eq(info.frees, 60);
	for (i = 60; i < 100; i++)
		kmem_cache_free(s, p[i]);
	info = info_of(s);
	ck_assert_uint_eq(info.active_objs, 0);
	ck_assert_uint_eq(info.bad_frees, 0);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_bulk_and_node)
{
	struct kmem_cache *s = kmem_cache_create("bulk", 32, 0, 0, NULL);
	struct capture c;
	void *p[64];
	int i;

	ck_assert_int_eq(
		kmem_cache_alloc_bulk(s, GFP_KERNEL | __GFP_ZERO, 64, p), 64);
	for (i = 0; i < 64; i++) {
		ck_assert(!page_in_arena(p[i]));
		ck_assert_uint_eq(((unsigned char *)p[i])[31], 0);
	}
	ck_assert_uint_eq(info_of(s).active_objs, 64);
	kmem_cache_free(s, p[5]);
	p[5] = NULL; /* NULLs are skipped */
	kmem_cache_free(s, NULL); /* nothing */
	kmem_cache_free_bulk(s, 64, p);
	ck_assert_uint_eq(info_of(s).active_objs, 0);
	p[0] = kmem_cache_alloc_node(s, GFP_KERNEL, 0);
	ck_assert_ptr_nonnull(p[0]);
	errno = 0;
	capture_begin(&c);
	ck_assert_ptr_null(kmem_cache_alloc_node(s, GFP_KERNEL, 1000));
	capture_end(&c);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_reported(&c, "node 1000 does not exist");
	kmem_cache_free(s, p[0]);
}
END_TEST

/* A cache destroyed with an object still out is reported and kept. */
START_TEST(test_destroy_with_live_object)
{
	struct kmem_cache *s = kmem_cache_create("live", 64, 0, 0, NULL);
	void *p = kmem_cache_alloc(s, GFP_KERNEL);
	struct capture c;

	capture_begin(&c);
	kmem_cache_destroy(s);
	capture_end(&c);
	ck_assert_reported(&c, "1 object still allocated; cache leaked");
	kmem_cache_free(s, p);
	ck_assert_uint_eq(info_of(s).active_objs, 0);
}
END_TEST

/* uslab_for_each_cache(): nonzero (stops) at a kmalloc-* cache. */
static int has_kmalloc_cache(struct kmem_cache *s, void *arg)
{
	(void)arg;
	return !strncmp(kmem_cache_name(s), "kmalloc-", 8);
}

/*
 * The kmalloc family is malloc's in this mode: blocks of the requested
 * size outside the arena, naturally aligned for powers of two, no size
 * class cache, and kfree(), ksize() and krealloc() take them.
 */
START_TEST(test_kmalloc_is_malloc)
{
	static const size_t sizes[] = { 1, 8, 96, 128, 4096, 10000, 3 << 20 };
	struct uslab_kmalloc_info ki;
	size_t i;
	char *p, *z;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		p = kmalloc(sizes[i], GFP_KERNEL);
		ck_assert_ptr_nonnull(p);
		ck_assert(!page_in_arena(p));
		ck_assert_uint_ge(ksize(p), sizes[i]);
		if (!(sizes[i] & (sizes[i] - 1)) && sizes[i] <= 4096)
			ck_assert_uint_eq((uintptr_t)p % sizes[i], 0);
		memset(p, 0x5a, sizes[i]);
		kfree(p);
	}
	z = kzalloc(200, GFP_KERNEL);
	ck_assert_ptr_nonnull(z);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(z[i], 0);
	strcpy(z, "kept");
	z = krealloc(z, 50000, GFP_KERNEL);
	ck_assert_ptr_nonnull(z);
	ck_assert_str_eq(z, "kept");
	ck_assert_uint_ge(ksize(z), 50000);
	kfree(z);
	ck_assert_ptr_eq(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	kfree(NULL);
	/* No class cache was made, and nothing counted as large or huge. */
	ck_assert(!uslab_for_each_cache(has_kmalloc_cache, NULL));
	ck_assert_int_eq(uslab_kmalloc_info(&ki), 0);
	ck_assert_uint_eq(ki.large_allocs + ki.huge_allocs + ki.kfree_bad, 0);
}
END_TEST

static Suite *passthrough_suite(void)
{
	Suite *s = suite_create("api-passthrough");
	TCase *tc = tcase_create("passthrough");

	tcase_add_test(tc, test_objects_are_heap_blocks);
	tcase_add_test(tc, test_ctor_every_allocation);
	tcase_add_test(tc, test_statistics_count);
	tcase_add_test(tc, test_bulk_and_node);
	tcase_add_test(tc, test_destroy_with_live_object);
	tcase_add_test(tc, test_kmalloc_is_malloc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	setenv("USLAB_PASSTHROUGH", "1", 1);
	return run_suite(passthrough_suite());
}
