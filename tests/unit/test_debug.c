// SPDX-License-Identifier: MIT
/*
 * White-box tests of lib/debug.c: each check is provoked on purpose (as
 * the kernel's slub_kunit does) and the report is asserted.
 */
#include "common.h"

#include "internal.h"

START_TEST(test_redzone_overflow)
{
	struct kmem_cache *s =
		kmem_cache_create("rz", 40, 0, SLAB_RED_ZONE, NULL);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL);
	struct uslab_cache_info info;
	struct capture c;

	ck_assert_uint_eq(p[40], RED_ACTIVE);
	p[40] = 0; /* one byte past the end */
	capture_begin(&c);
	kmem_cache_free(s, p);
	capture_end(&c);
	ck_assert_reported(&c, "BUG rz (uslab): Redzone overwritten");
	ck_assert_reported(&c, "@offset=40. First byte 0x0 instead of 0xcc");
	/* Mended, and the free went ahead. */
	ck_assert_uint_eq(p[40], RED_INACTIVE);
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.active_objs, 0);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_double_free_redzone)
{
	struct kmem_cache *s = kmem_cache_create(
		"rz2", 64, 0, SLAB_RED_ZONE | SLAB_STORE_USER, NULL);
	void *p = kmem_cache_alloc(s, GFP_KERNEL), *q;
	struct uslab_cache_info info;
	struct capture c;

	kmem_cache_free(s, p);
	capture_begin(&c);
	kmem_cache_free(s, p);
	capture_end(&c);
	ck_assert_reported(&c, "Object already free");
	ck_assert_reported(&c, "Allocated by");
	ck_assert_reported(&c, "Freed by");
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.bad_frees, 1);
	/* The freelist was not corrupted: p comes back once, not twice. */
	p = kmem_cache_alloc(s, GFP_KERNEL);
	q = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_ne(p, q);
	kmem_cache_free(s, p);
	kmem_cache_free(s, q);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_double_free_consistency)
{
	struct kmem_cache *s =
		kmem_cache_create("cc", 64, 0, SLAB_CONSISTENCY_CHECKS, NULL);
	void *a = kmem_cache_alloc(s, GFP_KERNEL);
	void *b = kmem_cache_alloc(s, GFP_KERNEL);
	struct capture c;

	kmem_cache_free(s, a);
	kmem_cache_free(s, b); /* a is no longer the freelist head */
	capture_begin(&c);
	kmem_cache_free(s, a);
	capture_end(&c);
	ck_assert_reported(&c, "Object already free");
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_corrupt_freechain_refuses_free)
{
	struct kmem_cache *s = kmem_cache_create("chain", 64, 0,
						 SLAB_CONSISTENCY_CHECKS, NULL);
	void *a = kmem_cache_alloc(s, GFP_KERNEL);
	void *b = kmem_cache_alloc(s, GFP_KERNEL);
	struct slab *slab = virt_to_slab(a);
	struct uslab_cache_info info;
	struct capture c;

	kmem_cache_free(s, a);
	set_freepointer(s, a, (char *)a + 3); /* scribble after free */
	capture_begin(&c);
	kmem_cache_free(s, b);
	capture_end(&c);
	ck_assert_reported(&c, "Freechain corrupt");
	ck_assert_reported(&c, "not freed");
	ck_assert_ptr_eq(slab->freelist, a); /* chain not extended */
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.bad_frees, 1);
	ck_assert_uint_eq(info.active_objs, 1);
}
END_TEST

START_TEST(test_use_after_free_poison)
{
	struct kmem_cache *s =
		kmem_cache_create("poison", 32, 0, SLAB_POISON, NULL);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL), *q;
	struct capture c;
	int i;

	kmem_cache_free(s, p);
	for (i = 0; i < 31; i++)
		ck_assert_uint_eq(p[i], POISON_FREE);
	ck_assert_uint_eq(p[31], POISON_END);
	p[5] = 0x42; /* write after free */
	capture_begin(&c);
	q = kmem_cache_alloc(s, GFP_KERNEL); /* LIFO: the same object */
	capture_end(&c);
	ck_assert_ptr_eq(p, q);
	ck_assert_reported(&c, "Poison overwritten");
	ck_assert_reported(&c, "First byte 0x42 instead of 0x6b");
	kmem_cache_free(s, q);
	kmem_cache_destroy(s);
}
END_TEST

static void fill_ctor(void *p)
{
	memset(p, 0x11, 32);
}

START_TEST(test_poison_skipped_with_ctor)
{
	/* As in the kernel, a constructed object is never poisoned. */
	struct kmem_cache *s =
		kmem_cache_create("poison-ctor", 32, 0, SLAB_POISON, fill_ctor);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL);
	int i;

	kmem_cache_free(s, p);
	for (i = 0; i < 32; i++)
		ck_assert_uint_eq(p[i], 0x11); /* constructed state kept */
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_clean_run_reports_nothing)
{
	struct kmem_cache *s =
		kmem_cache_create("clean", 100, 0, SLAB_DEBUG_FLAGS, NULL);
	void *p[300];
	struct capture c;
	int i;

	capture_begin(&c);
	for (i = 0; i < 300; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		memset(p[i], 0, 100);
	}
	for (i = 0; i < 300; i++)
		kmem_cache_free(s, p[i]);
	for (i = 0; i < 300; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (i = 0; i < 300; i++)
		kmem_cache_free(s, p[i]);
	capture_end(&c);
	ck_assert_str_eq(c.text, "");
	kmem_cache_destroy(s);
}
END_TEST

static Suite *debug_suite(void)
{
	Suite *s = suite_create("unit-debug");
	TCase *tc = tcase_create("debug");

	tcase_add_test(tc, test_redzone_overflow);
	tcase_add_test(tc, test_double_free_redzone);
	tcase_add_test(tc, test_double_free_consistency);
	tcase_add_test(tc, test_corrupt_freechain_refuses_free);
	tcase_add_test(tc, test_use_after_free_poison);
	tcase_add_test(tc, test_poison_skipped_with_ctor);
	tcase_add_test(tc, test_clean_run_reports_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(debug_suite());
}
