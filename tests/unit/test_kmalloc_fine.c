// SPDX-License-Identifier: MIT
/*
 * White-box tests of kmalloc.c's finer classes (kmalloc_fine(), the
 * classes of libuslab-malloc.so's malloc()): every size up to past
 * KMALLOC_FINE_MAX gets the class the table below says, 16-aligned from
 * 9 bytes on, with ksize() the class size and every byte usable;
 * __GFP_ZERO zeroes; kmalloc() and its caches stay the kernel's; a
 * class of its own is created by its first request, once, whatever the
 * threads racing for it, and in a forked child too.
 */
#include "common.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "kmalloc-fine.h"

/*
 * Four classes per power of two, multiples of 16, eight between 1 and 8
 * KiB, written out.
 */
static const unsigned int fine[] = {
	8,    16,   32,	  48,	64,   80,    96,    112,   128,	 160,
	192,  224,  256,  320,	384,  448,   512,   640,   768,	 896,
	1024, 1152, 1280, 1408, 1536, 1664,  1792,  1920,  2048, 2304,
	2560, 2816, 3072, 3328, 3584, 3840,  4096,  4608,  5120, 5632,
	6144, 6656, 7168, 7680, 8192, 10240, 12288, 14336,
};
#define NR_FINE_TEST (sizeof(fine) / sizeof(fine[0]))

static unsigned int fine_class(size_t size)
{
	unsigned int i;

	for (i = 0; i < NR_FINE_TEST; i++)
		if (size <= fine[i])
			return fine[i];
	return 0;
}

static int count_fn(struct kmem_cache *s, void *arg)
{
	struct cache_find *f = arg;

	if (!strcmp(kmem_cache_name(s), f->name))
		f->s = (struct kmem_cache *)((uintptr_t)f->s + 1);
	return 0;
}

/* How many caches are named @name. */
static unsigned long caches_named(const char *name)
{
	struct cache_find f = { name, NULL };

	uslab_for_each_cache(count_fn, &f);
	return (unsigned long)(uintptr_t)f.s;
}

static void setup(void)
{
	ck_assert_int_eq(kmalloc_fine_init(), 0);
}

START_TEST(test_every_size)
{
	size_t n;

	ck_assert_uint_eq(fine[NR_FINE_TEST - 1], KMALLOC_FINE_MAX);
	for (n = 1; n <= KMALLOC_FINE_MAX + 4096; n++) {
		unsigned char *p = kmalloc_fine(n, GFP_KERNEL);
		/* Above: kmalloc()'s page blocks, 2^order pages. */
		size_t want = n <= KMALLOC_FINE_MAX ? fine_class(n) :
			      n <= 16384	    ? 16384 :
						      32768;

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(ksize(p), want);
		if (n > 8)
			ck_assert_uint_eq((uintptr_t)p % 16, 0);
		else
			ck_assert_uint_eq((uintptr_t)p % 8, 0);
		p[0] = 1;
		p[want - 1] = 2;
		kfree(p);
	}
}
END_TEST

/*
 * The classes the kernel does not have are caches named malloc-<size>
 * (k for whole KiB), aligned to the largest power of two dividing their
 * size; the shared ones are the kernel's kmalloc caches.
 */
START_TEST(test_names_and_alignment)
{
	static const struct {
		size_t req;
		const char *name;
		unsigned int align;
	} t[] = {
		{ 40, "malloc-48", 16 },      { 100, "malloc-112", 16 },
		{ 150, "malloc-160", 32 },    { 1032, "malloc-1152", 128 },
		{ 4104, "malloc-4608", 512 }, { 4368, "malloc-4608", 512 },
		{ 4609, "malloc-5k", 1024 },  { 5200, "malloc-5632", 512 },
		{ 7000, "malloc-7k", 1024 },  { 7500, "malloc-7680", 512 },
		{ 9064, "malloc-10k", 2048 }, { 12288, "malloc-12k", 4096 },
		{ 90, "kmalloc-96", 32 },     { 4096, "kmalloc-4k", 4096 },
	};
	unsigned int i, j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		void *p[8];
		struct kmem_cache *s;

		for (j = 0; j < 8; j++) {
			p[j] = kmalloc_fine(t[i].req, GFP_KERNEL);
			ck_assert_ptr_nonnull(p[j]);
			ck_assert_uint_eq((uintptr_t)p[j] % t[i].align, 0);
		}
		s = virt_to_slab(p[0])->cache;
		ck_assert_str_eq(kmem_cache_name(s), t[i].name);
		ck_assert_ptr_eq(cache_named(t[i].name), s);
		for (j = 0; j < 8; j++)
			kfree(p[j]);
	}
}
END_TEST

START_TEST(test_zero_and_kmalloc_unchanged)
{
	unsigned char *p;
	size_t i, n;

	/* Dirty a slot, free it, and ask for it zeroed. */
	for (n = 40; n <= KMALLOC_FINE_MAX; n = n * 3 / 2) {
		p = kmalloc_fine(n, GFP_KERNEL);
		memset(p, 0xa5, ksize(p));
		kfree(p);
		p = kmalloc_fine(n, GFP_KERNEL | __GFP_ZERO);
		for (i = 0; i < ksize(p); i++)
			ck_assert_uint_eq(p[i], 0);
		kfree(p);
	}
	/* kmalloc() keeps the kernel's classes. */
	p = kmalloc(100, GFP_KERNEL);
	ck_assert_uint_eq(ksize(p), 128);
	kfree(p);
	p = kmalloc(4104, GFP_KERNEL);
	ck_assert_uint_eq(ksize(p), 8192);
	kfree(p);
	/* Twice: nothing is made again (5166 bytes made malloc-5632). */
	ck_assert_int_eq(kmalloc_fine_init(), 0);
	ck_assert_uint_eq(caches_named("malloc-5632"), 1);
	ck_assert_uint_eq(caches_named("kmalloc-4k"), 1);
}
END_TEST

/* The kernel's classes are there at once; the others at first use. */
START_TEST(test_classes_on_first_use)
{
	void *p;

	ck_assert_uint_eq(caches_named("kmalloc-96"), 1);
	ck_assert_uint_eq(caches_named("malloc-48"), 0);
	ck_assert_uint_eq(caches_named("malloc-5k"), 0);
	p = kmalloc_fine(40, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(caches_named("malloc-48"), 1);
	ck_assert_ptr_eq(virt_to_slab(p)->cache, cache_named("malloc-48"));
	ck_assert_uint_eq(caches_named("malloc-5k"), 0);
	kfree(p);
	p = kmalloc_fine(40, GFP_KERNEL);
	ck_assert_uint_eq(caches_named("malloc-48"), 1);
	kfree(p);
}
END_TEST

#define RACERS 4

static pthread_barrier_t race_start;

/* Every class's first request at once from each thread, largest first. */
static void *race(void *arg)
{
	void *p[NR_FINE_TEST];
	unsigned int i;

	(void)arg;
	pthread_barrier_wait(&race_start);
	for (i = NR_FINE_TEST; i-- > 0;)
		p[i] = kmalloc_fine(fine[i], GFP_KERNEL);
	for (i = 0; i < NR_FINE_TEST; i++) {
		if (!p[i] || ksize(p[i]) != fine[i])
			return (void *)1;
		kfree(p[i]);
	}
	return NULL;
}

/* More threads than CPUs race for every class: one cache each. */
START_TEST(test_first_use_race)
{
	pthread_t t[RACERS];
	char name[32];
	unsigned int i;
	void *ret;

	pthread_barrier_init(&race_start, NULL, RACERS);
	for (i = 0; i < RACERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, race, NULL), 0);
	for (i = 0; i < RACERS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	for (i = 0; i < NR_FINE_TEST; i++) {
		if (fine[i] % 1024)
			snprintf(name, sizeof(name), "malloc-%u", fine[i]);
		else
			snprintf(name, sizeof(name), "malloc-%uk",
				 fine[i] / 1024);
		/* The kernel's sizes are kmalloc-N, never malloc-N. */
		ck_assert_uint_le(caches_named(name), 1);
		ck_assert_uint_eq(
			caches_named(name) +
				(fine[i] <= 8192 && IS_POWER_OF_2(fine[i])) +
				(fine[i] == 96 || fine[i] == 192),
			1);
	}
	pthread_barrier_destroy(&race_start);
}
END_TEST

/* A forked child creates classes of its own (fine_lock usable there). */
START_TEST(test_class_after_fork)
{
	int status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		void *p = kmalloc_fine(1032, GFP_KERNEL);

		_exit(p && ksize(p) == 1152 &&
				      caches_named("malloc-1152") == 1 ?
			      0 :
			      1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The parent's registry did not see the child's. */
	ck_assert_uint_eq(caches_named("malloc-1152"), 0);
}
END_TEST

static Suite *fine_suite(void)
{
	Suite *s = suite_create("unit-kmalloc-fine");
	TCase *tc = tcase_create("fine");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_every_size);
	tcase_add_test(tc, test_names_and_alignment);
	tcase_add_test(tc, test_zero_and_kmalloc_unchanged);
	tcase_add_test(tc, test_classes_on_first_use);
	tcase_add_test(tc, test_first_use_race);
	tcase_add_test(tc, test_class_after_fork);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(fine_suite());
}
