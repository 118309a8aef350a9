// SPDX-License-Identifier: MIT
/* White-box tests of lib/page.c: descriptors, buddy blocks, release. */
#include "common.h"

#include <stdint.h>

#include "internal.h"

static void setup(void)
{
	ck_assert_int_eq(uslab_ensure_init(), 0);
}

START_TEST(test_descriptor_lookup)
{
	struct page_desc *d = page_alloc(0, 3);
	char *base;
	int i;

	ck_assert_ptr_nonnull(d);
	base = page_address(d);
	ck_assert_uint_eq((uintptr_t)base % (PAGE_SIZE << 3), 0);
	ck_assert_int_eq(d->type, PT_HEAD);
	ck_assert_uint_eq(d->order, 3);
	ck_assert_ptr_eq(page_desc_of(base), d);
	/* Every byte of every page maps back to the head in O(1). */
	for (i = 0; i < 8; i++) {
		ck_assert_ptr_eq(page_desc_of(base + i * PAGE_SIZE), d + i);
		ck_assert_ptr_eq(page_head_of(base + i * PAGE_SIZE), d);
		ck_assert_ptr_eq(page_head_of(base + i * PAGE_SIZE + 4095), d);
		if (i)
			ck_assert_int_eq(d[i].type, PT_TAIL);
	}
	ck_assert_int_eq(d->node, 0);
	page_free(d);
	ck_assert_ptr_null(page_head_of(base)); /* no longer handed out */
}
END_TEST

START_TEST(test_outside_arena)
{
	int on_stack = 0;
	void *heap = malloc(16);

	ck_assert_ptr_null(page_desc_of(&on_stack));
	ck_assert_ptr_null(page_head_of(heap));
	ck_assert_ptr_null(page_head_of(NULL));
	ck_assert(!page_in_arena(heap));
	free(heap);
}
END_TEST

START_TEST(test_buddy_split_and_merge)
{
	struct page_desc *a, *b, *big;
	char *pa, *pb;

	a = page_alloc(0, 0);
	b = page_alloc(0, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	pa = page_address(a);
	pb = page_address(b);
	ck_assert_ptr_ne(pa, pb);
	/* Blocks never overlap. */
	ck_assert(pb >= pa + PAGE_SIZE || pa >= pb + PAGE_SIZE);
	page_free(a);
	page_free(b);

	/* Freed buddies merge: a large block is available again. */
	big = page_alloc(0, PAGE_MAX_ORDER);
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq((uintptr_t)page_address(big) % MAX_SLAB_SIZE, 0);
	page_free(big);
}
END_TEST

START_TEST(test_free_returns_memory_and_zeroes)
{
	struct page_desc *d = page_alloc(0, PAGE_MAX_ORDER);
	unsigned long resident = page_resident_bytes(0);
	long before, touched, after;
	char *p = page_address(d);

	before = rss_bytes();
	memset(p, 0x77, MAX_SLAB_SIZE);
	touched = rss_bytes();
	ck_assert_int_ge(touched - before, (long)MAX_SLAB_SIZE * 9 / 10);
	page_free(d);
	after = rss_bytes();
	ck_assert_int_le(after, touched - (long)MAX_SLAB_SIZE * 9 / 10);
	ck_assert_uint_eq(page_resident_bytes(0), resident - MAX_SLAB_SIZE);

	/* The block comes back zero-filled. */
	d = page_alloc(0, PAGE_MAX_ORDER);
	p = page_address(d);
	ck_assert_uint_eq((unsigned char)p[0], 0);
	ck_assert_uint_eq((unsigned char)p[MAX_SLAB_SIZE - 1], 0);
	page_free(d);
}
END_TEST

START_TEST(test_many_blocks_distinct)
{
	enum { N = 600 };
	static struct page_desc *d[N];
	static char *addr[N];
	int i, j;

	for (i = 0; i < N; i++) {
		d[i] = page_alloc(0, (unsigned int)(i % 4));
		ck_assert_ptr_nonnull(d[i]);
		addr[i] = page_address(d[i]);
		memset(addr[i], i & 0xff, PAGE_SIZE << (i % 4));
	}
	for (i = 0; i < N; i++) {
		unsigned long len = PAGE_SIZE << (i % 4);

		/* Nobody else wrote over this block. */
		ck_assert_uint_eq((unsigned char)addr[i][0],
				  (unsigned)(i & 0xff));
		ck_assert_uint_eq((unsigned char)addr[i][len - 1],
				  (unsigned)(i & 0xff));
		for (j = i + 1; j < N; j++)
			ck_assert_ptr_ne(addr[i], addr[j]);
	}
	for (i = 0; i < N; i += 2)
		page_free(d[i]);
	for (i = 1; i < N; i += 2)
		page_free(d[i]);
}
END_TEST

START_TEST(test_resident_limit)
{
	struct page_desc *ok, *fail, *again;

	page_set_limit((long)page_total_resident() + 1);
	ok = page_alloc(0, 0);
	fail = page_alloc(0, 0);
	ck_assert_ptr_nonnull(ok);
	ck_assert_ptr_null(fail);
	page_free(ok);
	again = page_alloc(0, 0); /* freed pages count again */
	ck_assert_ptr_nonnull(again);
	page_free(again);
	page_set_limit(-1);
}
END_TEST

/* Retained blocks: LIFO reuse, contents kept, tails intact. */
START_TEST(test_retain_reuse)
{
	struct page_desc *d = page_alloc(0, 2), *e;
	unsigned long before = page_retained_pages();
	char *p;

	ck_assert_ptr_nonnull(d);
	p = page_address(d);
	memset(p, 0x77, PAGE_SIZE << 2);
	page_free_retain(d);
	ck_assert_uint_eq(page_retained_pages(), before + 4);
	ck_assert_ptr_null(page_alloc_retained(0, 1)); /* other orders: none */
	e = page_alloc_retained(0, 2);
	ck_assert_ptr_eq(e, d);
	ck_assert_uint_eq(page_retained_pages(), before);
	ck_assert_int_eq(e->type, PT_HEAD);
	ck_assert_uint_eq(e->order, 2);
	ck_assert_ptr_eq(page_head_of(p + 3 * PAGE_SIZE + 5), e);
	ck_assert_uint_eq((unsigned char)p[(PAGE_SIZE << 2) - 1], 0x77);
	page_free(e);
}
END_TEST

/*
 * The bound: RETAIN_SLOTS blocks of one order, 4 MiB a node; the rest
 * go back to the buddy lists at once.  Reaping gives back only what a
 * whole interval left unused; draining gives back everything.
 */
START_TEST(test_retain_bound_and_release)
{
	enum { N = 40 };
	struct page_desc *d[N];
	unsigned long used;
	int i;

	page_retained_drain();
	used = page_total_resident();
	for (i = 0; i < N; i++) {
		d[i] = page_alloc(0, 2);
		ck_assert_ptr_nonnull(d[i]);
	}
	for (i = 0; i < N; i++)
		page_free_retain(d[i]);
	ck_assert_uint_eq(page_retained_pages(), 16 * 4);
	ck_assert_uint_eq(page_total_resident(), used + 16 * 4);
	/* Three 2 MiB blocks: only two fit the 4 MiB of a node. */
	for (i = 0; i < 3; i++) {
		d[i] = page_alloc(0, PAGE_MAX_ORDER);
		ck_assert_ptr_nonnull(d[i]);
	}
	for (i = 0; i < 3; i++)
		page_free_retain(d[i]);
	ck_assert_uint_eq(page_retained_pages(), 16 * 4 + 512);

	/* First pass: the stacks were empty during the interval. */
	ck_assert_uint_eq(page_retained_reap(), 0);
	/* One block taken and put back: the rest sat idle. */
	d[0] = page_alloc_retained(0, 2);
	ck_assert_ptr_nonnull(d[0]);
	page_free_retain(d[0]);
	ck_assert_uint_eq(page_retained_reap(), 15 * 4 + 512);
	ck_assert_uint_eq(page_retained_pages(), 4);
	ck_assert_uint_eq(page_retained_drain(), 4);
	ck_assert_uint_eq(page_retained_pages(), 0);
	ck_assert_uint_eq(page_total_resident(), used);
}
END_TEST

/* The budget: retained blocks are given back before a block is refused. */
START_TEST(test_retain_budget)
{
	struct page_desc *d = page_alloc(0, 3), *e;

	ck_assert_ptr_nonnull(d);
	page_free_retain(d);
	page_set_budget(page_total_resident());
	e = page_alloc(0, 3);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(page_retained_pages(), 0);
	ck_assert_ptr_null(page_alloc(0, 0)); /* nothing left to give */
	page_set_budget(0);
	page_free(e);
}
END_TEST

static Suite *page_suite(void)
{
	Suite *s = suite_create("unit-page");
	TCase *tc = tcase_create("page");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_descriptor_lookup);
	tcase_add_test(tc, test_outside_arena);
	tcase_add_test(tc, test_buddy_split_and_merge);
	tcase_add_test(tc, test_free_returns_memory_and_zeroes);
	tcase_add_test(tc, test_many_blocks_distinct);
	tcase_add_test(tc, test_resident_limit);
	tcase_add_test(tc, test_retain_reuse);
	tcase_add_test(tc, test_retain_bound_and_release);
	tcase_add_test(tc, test_retain_budget);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(page_suite());
}
