// SPDX-License-Identifier: MIT
/*
 * The kmalloc family against the kernel's semantics (public API only):
 * every size 1..8192 and its class, alignment, page and huge sizes,
 * overflow, krealloc, kfree of any cache's object, ksize, strings,
 * kvmalloc, and bad frees reported and counted.
 */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>

#include <uslab/shrinker.h>
#include <uslab/slab.h>
#include <uslab/stats.h>

static const unsigned int classes[] = { 8,   16,  32,	64,   96,   128, 192,
					256, 512, 1024, 2048, 4096, 8192 };
#define NR_CLASSES (sizeof(classes) / sizeof(classes[0]))

/* The size class a request of @size bytes belongs to. */
static unsigned int class_of(size_t size)
{
	unsigned int i;

	for (i = 0; i < NR_CLASSES; i++)
		if (size <= classes[i])
			return classes[i];
	return 0;
}

static const char *class_name(unsigned int size, char *buf, size_t len)
{
	if (size >= 1024)
		snprintf(buf, len, "kmalloc-%uk", size / 1024);
	else
		snprintf(buf, len, "kmalloc-%u", size);
	return buf;
}

static unsigned long active(struct kmem_cache *s)
{
	struct uslab_cache_info info;

	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	return info.active_objs;
}

static struct uslab_kmalloc_info kinfo(void)
{
	struct uslab_kmalloc_info k;

	ck_assert_int_eq(uslab_kmalloc_info(&k), 0);
	return k;
}

/* ---- Size classes -------------------------------------------------------- */

START_TEST(test_classes_exist)
{
	char name[32];
	unsigned int i;

	kfree(kmalloc(1, GFP_KERNEL));
	for (i = 0; i < NR_CLASSES; i++) {
		struct kmem_cache *s =
			cache_named(class_name(classes[i], name, sizeof(name)));

		ck_assert_uint_eq(kmem_cache_size(s), classes[i]);
	}
}
END_TEST

/* Every size 1..8192: ksize is its class, alignment, all bytes usable. */
START_TEST(test_every_size)
{
	size_t size;

	for (size = 1; size <= KMALLOC_MAX_CACHE_SIZE; size++) {
		unsigned char *p = kmalloc(size, GFP_KERNEL);
		size_t ks;

		ck_assert_ptr_nonnull(p);
		ks = ksize(p);
		ck_assert_uint_ge(ks, size);
		ck_assert_uint_eq(ks, class_of(size));
		ck_assert_uint_eq((uintptr_t)p % 8, 0);
		if ((size & (size - 1)) == 0 && size <= 4096)
			ck_assert_msg((uintptr_t)p % size == 0,
				      "%zu bytes at %p: not aligned", size,
				      (void *)p);
		memset(p, 0xa5, ks);
		kfree(p);
	}
}
END_TEST

/* The boundaries land in the right cache: counted in its active objects. */
START_TEST(test_class_boundaries)
{
	char name[32];
	unsigned int i;

	kfree(kmalloc(1, GFP_KERNEL));
	for (i = 0; i < NR_CLASSES; i++) {
		unsigned int lo = i ? classes[i - 1] + 1 : 1, hi = classes[i];
		struct kmem_cache *s =
			cache_named(class_name(hi, name, sizeof(name)));
		unsigned long before = active(s);
		void *a = kmalloc(lo, GFP_KERNEL), *b = kmalloc(hi, GFP_KERNEL);

		ck_assert_uint_eq(active(s), before + 2);
		ck_assert_uint_eq(ksize(a), hi);
		ck_assert_uint_eq(ksize(b), hi);
		kfree(a);
		kfree(b);
		ck_assert_uint_eq(active(s), before);
	}
}
END_TEST

/* Many objects of each power of two: every one naturally aligned. */
START_TEST(test_alignment)
{
	static const size_t pow[] = { 8,	 16,	  32,	     64,
				      128,	 256,	  512,	     1024,
				      2048,	 4096,	  8192,	     16384,
				      65536,	 1 << 20, 2UL << 20, 4UL << 20,
				      16UL << 20 };
	struct uslab_cache_info info;
	void *p[64];
	unsigned int i, j;

	kfree(kmalloc(1, GFP_KERNEL));
	ck_assert_int_eq(uslab_cache_info(cache_named("kmalloc-8k"), &info), 0);
	for (i = 0; i < sizeof(pow) / sizeof(pow[0]); i++) {
		unsigned int n = pow[i] > (1 << 20) ? 4 : 64;
		size_t align = pow[i];

		/* Debug metadata grows 8 KiB slots: 4096, the most a cache
		 * aligns to (USLAB_DEBUG). */
		if (align == 8192 && (info.flags & SLAB_DEBUG_FLAGS))
			align = 4096;
		for (j = 0; j < n; j++) {
			p[j] = kmalloc(pow[i], GFP_KERNEL);
			ck_assert_ptr_nonnull(p[j]);
			ck_assert_msg((uintptr_t)p[j] % align == 0,
				      "%zu bytes at %p", pow[i], p[j]);
		}
		for (j = 0; j < n; j++)
			kfree(p[j]);
	}
	/* 96 and 192: their largest power-of-two divisor. */
	for (j = 0; j < 64; j++) {
		p[j] = kmalloc(96, GFP_KERNEL);
		ck_assert_uint_eq((uintptr_t)p[j] % 32, 0);
		kfree(p[j]);
		p[j] = kmalloc(192, GFP_KERNEL);
		ck_assert_uint_eq((uintptr_t)p[j] % 64, 0);
		kfree(p[j]);
	}
}
END_TEST

START_TEST(test_zero_size)
{
	ck_assert_ptr_eq(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_eq(kzalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_eq(kmalloc_array(0, 8, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_uint_eq(ksize(ZERO_SIZE_PTR), 0);
	ck_assert_uint_eq(ksize(NULL), 0);
	kfree(ZERO_SIZE_PTR);
	kfree(NULL);
	kvfree(NULL);
	ck_assert(ZERO_OR_NULL_PTR(NULL));
	ck_assert(ZERO_OR_NULL_PTR(ZERO_SIZE_PTR));
}
END_TEST

START_TEST(test_kzalloc_zeroes)
{
	static const size_t sizes[] = { 8, 100, 192, 4000, 8192, 20000 };
	unsigned int i;
	size_t j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = kmalloc(sizes[i], GFP_KERNEL);

		/* Dirty one, free it: the next one of the class reuses it. */
		memset(p, 0xff, sizes[i]);
		kfree(p);
		p = kzalloc(sizes[i], GFP_KERNEL);
		for (j = 0; j < sizes[i]; j++)
			ck_assert_uint_eq(p[j], 0);
		kfree(p);
		p = kcalloc(sizes[i], 1, GFP_KERNEL);
		for (j = 0; j < sizes[i]; j++)
			ck_assert_uint_eq(p[j], 0);
		kfree(p);
	}
}
END_TEST

START_TEST(test_overflow)
{
	errno = 0;
	ck_assert_ptr_null(kmalloc_array(SIZE_MAX / 2, 3, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_null(kcalloc(SIZE_MAX, SIZE_MAX, GFP_KERNEL));
	ck_assert_ptr_null(kmalloc_array((SIZE_MAX >> 4) + 1, 16, 0));
	/* Exactly at the limit of size_t but too big to map. */
	ck_assert_ptr_null(kmalloc(SIZE_MAX, GFP_KERNEL | __GFP_NOWARN));
	ck_assert_ptr_null(kmalloc(SIZE_MAX - 4095, GFP_NOWAIT));
	ck_assert_ptr_null(kmalloc((size_t)PTRDIFF_MAX + 1, GFP_NOWAIT));
	ck_assert_ptr_null(kmalloc(1UL << 62, GFP_NOWAIT));
	ck_assert_int_eq(errno, ENOMEM);
	/* An array that fits is fine. */
	void *p = kmalloc_array(1000, 8, GFP_KERNEL);

	ck_assert_uint_ge(ksize(p), 8000);
	kfree(p);
}
END_TEST

/* ---- Page blocks and own mappings ---------------------------------- */

START_TEST(test_large_sizes)
{
	static const size_t sizes[] = { 8193,	   12288,
					16384,	   100000,
					1 << 20,   (2UL << 20) - 1,
					2UL << 20, (2UL << 20) + 1,
					10UL << 20 };
	struct uslab_kmalloc_info k0 = kinfo(), k1;
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = kmalloc(sizes[i], GFP_KERNEL);
		bool huge = sizes[i] > KMALLOC_MAX_PAGE_SIZE;
		size_t ks, j;

		ck_assert_ptr_nonnull(p);
		ks = ksize(p);
		ck_assert_uint_ge(ks, sizes[i]);
		ck_assert_uint_eq(ks % 4096, 0);
		ck_assert_uint_eq((uintptr_t)p % 4096, 0);
		if (!huge) /* a block of 2^order pages */
			ck_assert_uint_eq(ks & (ks - 1), 0);
		for (j = 0; j < ks; j += 512)
			p[j] = 0x5a; /* all of it is usable */
		p[ks - 1] = 0x5a;
		k1 = kinfo();
		if (huge) {
			ck_assert_uint_eq(k1.huge_allocs, k0.huge_allocs + 1);
			ck_assert_uint_eq(k1.huge_bytes, k0.huge_bytes + ks);
		} else {
			ck_assert_uint_eq(k1.large_allocs, k0.large_allocs + 1);
			ck_assert_uint_eq(k1.large_bytes, k0.large_bytes + ks);
		}
		kfree(p);
		k0 = kinfo();
		ck_assert_uint_eq(k0.large_bytes, 0);
		ck_assert_uint_eq(k0.huge_bytes, 0);
		ck_assert_uint_eq(k0.large_allocs, k0.large_frees);
		ck_assert_uint_eq(k0.huge_allocs, k0.huge_frees);
	}
}
END_TEST

/*
 * A freed page block is kept for the next request of its size: handed
 * out again with its contents (zeroed for kzalloc()), counted in
 * uslab_memory_used(), and given back by kmem_cache_shrink() of any
 * cache, after which a new block reads as zeroes.
 */
START_TEST(test_large_retained)
{
	struct kmem_cache *c = kmem_cache_create("retain", 64, 0, 0, NULL);
	unsigned char *p, *q;
	struct capture cap;
	uint64_t bad0;
	size_t used, i;

	ck_assert_ptr_nonnull(c);
	p = kmalloc(16384, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	memset(p, 1, 16384);
	used = uslab_memory_used();
	kfree(p);
	ck_assert_uint_eq(uslab_memory_used(), used);
	ck_assert_uint_eq(kinfo().large_bytes, 0);
	q = kzalloc(16384 - 100, GFP_KERNEL); /* the same order */
	ck_assert_ptr_eq(q, p);
	for (i = 0; i < 16384; i++)
		ck_assert_uint_eq(q[i], 0);
	memset(q, 2, 16384);
	kfree(q);
	bad0 = kinfo().kfree_bad;
	capture_begin(&cap);
	kfree(q); /* twice: refused, not kept twice */
	capture_end(&cap);
	ck_assert_reported(&cap, "not in an allocated object");
	ck_assert_uint_eq(kinfo().kfree_bad, bad0 + 1);
	q = kmalloc(12289, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(q[16383], 2); /* kmalloc() does not zero */
	p = kmalloc(16384, GFP_KERNEL);
	ck_assert_ptr_ne(p, q); /* it was kept only once */
	kfree(p);
	kfree(q);
	p = q;
	ck_assert_int_eq(kmem_cache_shrink(c), 0);
	ck_assert_uint_lt(uslab_memory_used(), used);
	p = kmalloc(16384, GFP_KERNEL);
	for (i = 0; i < 16384; i += 512)
		ck_assert_uint_eq(p[i], 0);
	kfree(p);
	kmem_cache_destroy(c);
}
END_TEST

/* The table of own mappings: many live at once, freed in any order. */
START_TEST(test_many_huge)
{
	enum { N = 300 };
	static unsigned char *p[N];
	unsigned long long rng = 42;
	size_t i, n;

	for (i = 0; i < N; i++) {
		p[i] = kmalloc((3UL << 20) + i * 4096, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		p[i][0] = (unsigned char)i;
	}
	ck_assert_uint_eq(kinfo().huge_allocs - kinfo().huge_frees, N);
	/* Free a random half, then check every one still known. */
	for (n = 0; n < N / 2; n++) {
		i = rng_next(&rng) % N;
		if (p[i]) {
			kfree(p[i]);
			p[i] = NULL;
		}
	}
	for (i = 0; i < N; i++) {
		if (!p[i])
			continue;
		ck_assert_uint_eq(ksize(p[i]), (3UL << 20) + i * 4096);
		ck_assert_uint_eq(p[i][0], (unsigned char)i);
		kfree(p[i]);
	}
	ck_assert_uint_eq(kinfo().huge_bytes, 0);
}
END_TEST

START_TEST(test_node)
{
	int node = uslab_cpu_node();
	void *p = kmalloc_node(100, GFP_KERNEL, node);
	unsigned char *q = kzalloc_node(50000, GFP_KERNEL, node);

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q[49999], 0);
	kfree(p);
	kfree(q);
	p = kmalloc_node(100, GFP_KERNEL, NUMA_NO_NODE);
	ck_assert_ptr_nonnull(p);
	kfree(p);
}
END_TEST

/* ---- krealloc ------------------------------------------------------------ */

static void fill(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + 1);
}

static void check_fill(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + 1))
			break;
	ck_assert_msg(i == n, "byte %zu of %zu lost", i, n);
}

START_TEST(test_krealloc)
{
	static const size_t steps[] = { 1,	  8,	     9,
					100,	  192,	     193,
					4096,	  8192,	     8193,
					70000,	  2UL << 20, (2UL << 20) + 1,
					5UL << 20 };
	unsigned char *p = krealloc(NULL, 1, GFP_KERNEL), *q;
	unsigned int i;

	ck_assert_ptr_nonnull(p); /* NULL: kmalloc() */
	fill(p, 1);
	/* Grow through classes, pages and a mapping: contents kept. */
	for (i = 1; i < sizeof(steps) / sizeof(steps[0]); i++) {
		q = krealloc(p, steps[i], GFP_KERNEL);
		ck_assert_ptr_nonnull(q);
		check_fill(q, steps[i - 1]);
		ck_assert_uint_ge(ksize(q), steps[i]);
		fill(q, steps[i]);
		p = q;
	}
	/* Shrink back down: it still fits, so the object stays. */
	for (i = sizeof(steps) / sizeof(steps[0]) - 1; i-- > 0;) {
		q = krealloc(p, steps[i], GFP_KERNEL);
		ck_assert_ptr_eq(q, p);
		check_fill(q, steps[i]);
	}
	/* Within the class: the same object. */
	q = krealloc(p, 3, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	kfree(q);
	/* __GFP_ZERO on a shrink zeroes what lies past the new size. */
	p = kmalloc(64, GFP_KERNEL);
	fill(p, 64);
	q = krealloc(p, 10, GFP_KERNEL | __GFP_ZERO);
	ck_assert_ptr_eq(q, p);
	check_fill(q, 10);
	ck_assert_uint_eq(q[10], 0);
	ck_assert_uint_eq(q[63], 0);
	/* 0 frees and gives ZERO_SIZE_PTR, which krealloc also takes. */
	ck_assert_ptr_eq(krealloc(q, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	p = krealloc(ZERO_SIZE_PTR, 40, GFP_KERNEL);
	ck_assert_uint_eq(ksize(p), 64);
	kfree(p);
	kfree(krealloc(krealloc(NULL, 0, GFP_KERNEL), 0, GFP_KERNEL));
	kfree(kmalloc(1, GFP_KERNEL));
	ck_assert_uint_eq(kinfo().huge_bytes, 0);
	ck_assert_uint_eq(kinfo().large_bytes, 0);
}
END_TEST

/* A failed krealloc leaves the old object alone. */
START_TEST(test_krealloc_fails)
{
	unsigned char *p = kmalloc(100, GFP_KERNEL);

	fill(p, 100);
	ck_assert_ptr_null(krealloc(p, SIZE_MAX, GFP_NOWAIT));
	check_fill(p, 100);
	kfree(p);
}
END_TEST

/* ---- kfree of a cache object, ksize ---------------------------------- */

START_TEST(test_kfree_cache_object)
{
	struct kmem_cache *s = kmem_cache_create("kfree-me", 72, 0, 0, NULL);
	void *p[100];
	unsigned int i;

	for (i = 0; i < 100; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_eq(active(s), 100);
	ck_assert_uint_eq(ksize(p[0]), 72);
	for (i = 0; i < 100; i++)
		kfree(p[i]);
	ck_assert_uint_eq(active(s), 0);
	/* And krealloc of one moves it into kmalloc. */
	p[0] = kmem_cache_alloc(s, GFP_KERNEL);
	fill(p[0], 72);
	p[1] = krealloc(p[0], 500, GFP_KERNEL);
	check_fill(p[1], 72);
	ck_assert_uint_eq(active(s), 0);
	ck_assert_uint_eq(ksize(p[1]), 512);
	kfree(p[1]);
	kmem_cache_destroy(s);
}
END_TEST

/* ---- Bad frees ----------------------------------------------------------- */

START_TEST(test_bad_frees)
{
	struct kmem_cache *c64;
	struct capture c;
	struct uslab_cache_info info;
	uint64_t bad0;
	char stack_obj[32];
	char *p = kmalloc(64, GFP_KERNEL), *big, *huge;

	c64 = cache_named("kmalloc-64");
	bad0 = kinfo().kfree_bad;

	capture_begin(&c);
	kfree(stack_obj); /* foreign */
	capture_end(&c);
	ck_assert_reported(&c, "not a uslab object");
	ck_assert_uint_eq(kinfo().kfree_bad, bad0 + 1);

	capture_begin(&c);
	kfree(p + 8); /* middle of a slab object */
	capture_end(&c);
	ck_assert_reported(&c, "kmalloc-64");
	ck_assert_reported(&c, "middle");
	ck_assert_int_eq(uslab_cache_info(c64, &info), 0);
	ck_assert_uint_eq(info.bad_frees, 1);
	kfree(p);

	big = kmalloc(30000, GFP_KERNEL);
	capture_begin(&c);
	kfree(big + 4096); /* middle of a page block */
	capture_end(&c);
	ck_assert_reported(&c, "middle of a block");
	kfree(big);
	capture_begin(&c);
	kfree(big); /* twice: the block is gone */
	capture_end(&c);
	ck_assert_reported(&c, "not in an allocated object");

	huge = kmalloc(3UL << 20, GFP_KERNEL);
	capture_begin(&c);
	kfree(huge + 4096); /* into an own mapping, not its start */
	ck_assert_uint_eq(ksize(huge + 4096), 0);
	capture_end(&c);
	ck_assert_reported(&c, "foreign");
	ck_assert_reported(&c, "ksize");
	kfree(huge);
	capture_begin(&c);
	kfree(huge); /* twice */
	capture_end(&c);
	ck_assert_reported(&c, "foreign");
	ck_assert_uint_eq(kinfo().kfree_bad, bad0 + 6);
	ck_assert_uint_eq(kinfo().huge_bytes, 0);
}
END_TEST

START_TEST(test_bad_args)
{
	struct capture c;

	capture_begin(&c);
	errno = 0;
	ck_assert_ptr_null(kmalloc(10, 0x80000000u));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(kmalloc(100000, 0x80000000u));
	ck_assert_ptr_null(kmalloc_node(100, GFP_KERNEL, 999));
	ck_assert_ptr_null(kmalloc_node(100000, GFP_KERNEL, 999));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(uslab_kmalloc_info(NULL), -1);
	capture_end(&c);
	ck_assert_int_ge(c.lines, 4);
}
END_TEST

/* ---- Strings, kvmalloc ------------------------------------------------- */

START_TEST(test_strings)
{
	static const char text[] = "the quick brown fox";
	char *s = kstrdup(text, GFP_KERNEL), *t;
	unsigned char *m;

	ck_assert_str_eq(s, text);
	ck_assert_uint_eq(ksize(s), 32);
	t = kstrndup(text, 9, GFP_KERNEL);
	ck_assert_str_eq(t, "the quick");
	kfree(t);
	t = kstrndup(text, 1000, GFP_KERNEL);
	ck_assert_str_eq(t, text);
	kfree(t);
	kfree(s);
	ck_assert_ptr_null(kstrdup(NULL, GFP_KERNEL));
	ck_assert_ptr_null(kstrndup(NULL, 5, GFP_KERNEL));
	m = kmemdup(text, 5, GFP_KERNEL);
	ck_assert_int_eq(memcmp(m, "the q", 5), 0);
	kfree(m);
	ck_assert_ptr_eq(kmemdup(text, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	s = kstrdup("", GFP_KERNEL);
	ck_assert_str_eq(s, "");
	kfree(s);
}
END_TEST

START_TEST(test_kvmalloc)
{
	struct capture c;
	unsigned char *p = kvmalloc(100, GFP_KERNEL);

	ck_assert_uint_eq(ksize(p), 128);
	kvfree(p);
	p = kvzalloc(6UL << 20, GFP_KERNEL);
	ck_assert_uint_eq(p[(6UL << 20) - 1], 0);
	kvfree(p);
	capture_begin(&c);
	ck_assert_ptr_null(kvmalloc((size_t)INT_MAX + 1, GFP_KERNEL));
	capture_end(&c);
	ck_assert_reported(&c, "INT_MAX");
	capture_begin(&c);
	ck_assert_ptr_null(kvmalloc((size_t)INT_MAX + 1, GFP_NOWAIT));
	capture_end(&c);
	ck_assert_int_eq(c.lines, 0);
}
END_TEST

/* Child after fork: every kind works, the parent's objects free there. */
START_TEST(test_fork)
{
	void *a = kmalloc(100, GFP_KERNEL), *b = kmalloc(50000, GFP_KERNEL);
	void *h = kmalloc(3UL << 20, GFP_KERNEL);
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		void *x = kmalloc(4UL << 20, GFP_KERNEL);
		struct uslab_kmalloc_info k;

		kfree(a);
		kfree(b);
		kfree(h);
		kfree(x);
		uslab_kmalloc_info(&k);
		_exit(k.huge_bytes || k.large_bytes || k.kfree_bad ? 1 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(ksize(h), 3UL << 20);
	kfree(a);
	kfree(b);
	kfree(h);
}
END_TEST

static Suite *kmalloc_suite(void)
{
	Suite *s = suite_create("kmalloc");
	TCase *tc;

	tc = tcase_create("classes");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_classes_exist);
	tcase_add_test(tc, test_every_size);
	tcase_add_test(tc, test_class_boundaries);
	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_zero_size);
	tcase_add_test(tc, test_kzalloc_zeroes);
	tcase_add_test(tc, test_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("large");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_large_sizes);
	tcase_add_test(tc, test_large_retained);
	tcase_add_test(tc, test_many_huge);
	tcase_add_test(tc, test_node);
	tcase_add_test(tc, test_fork);
	suite_add_tcase(s, tc);

	tc = tcase_create("realloc-free");
	tcase_add_test(tc, test_krealloc);
	tcase_add_test(tc, test_krealloc_fails);
	tcase_add_test(tc, test_kfree_cache_object);
	tcase_add_test(tc, test_bad_frees);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_kvmalloc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(kmalloc_suite());
}
