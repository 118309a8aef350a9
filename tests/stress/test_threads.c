// SPDX-License-Identifier: MIT
/*
 * Threaded stress: NTHREADS threads (more than this machine's 2 cores) do
 * mixed alloc/free through a shared table of slots, so most frees happen
 * on a thread other than the allocating one.  Every object carries its
 * owner, a serial and a checksum, plus an in-use flag flipped with atomic
 * exchanges: an object handed out twice, or freed while not in use, is
 * caught by the thread that sees it.  At the end every object laid out
 * must be allocatable again without a new slab: nothing was lost.
 * Fixed seeds; bounded by operation count.
 */
#include "common.h"
#include "tobj.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uslab/slab.h>
#include <uslab/stats.h>

#include "internal.h"

#define NTHREADS 4
#define NSLOTS 8192
#define BULK 16

struct config {
	const char *name;
	unsigned int size;
	slab_flags_t flags;
	bool ctor;
	long ops; /* per thread */
};

static const struct config configs[] = {
	{ "stress-64", 64, 0, false, 1000000 },
	{ "stress-ctor-200", 200, SLAB_HWCACHE_ALIGN, true, 500000 },
	{ "stress-debug", 64,
	  SLAB_RED_ZONE | SLAB_CONSISTENCY_CHECKS | SLAB_STORE_USER, true,
	  200000 },
};

static struct kmem_cache *cache;
static long scale = 1; /* USLAB_TEST_QUICK=1 (valgrind): 1/20 */
static const struct config *cur_cfg;
static _Atomic(struct tobj *) slots[NSLOTS];
static atomic_long allocated, freed;

static void tobj_ctor(void *p)
{
	struct tobj *o = p;

	atomic_init(&o->in_use, 0);
	o->owner = 0;
}

static void *worker(void *arg)
{
	const struct config *cfg = cur_cfg;
	uint32_t id = (uint32_t)(uintptr_t)arg;
	unsigned long long rng = 0x1234567ULL * (id + 1);
	uint64_t serial = 0;
	long ops, nalloc = 0, nfree = 0;
	struct tobj *bulk[BULK];
	int i;

	for (ops = 0; ops < cfg->ops / scale; ops++) {
		unsigned long long r = rng_next(&rng);
		unsigned int slot = (unsigned int)(r % NSLOTS);
		struct tobj *o;

		if ((r >> 40) % 64 == 0) {
			/* A batch through the bulk calls. */
			if (kmem_cache_alloc_bulk(cache, GFP_KERNEL, BULK,
						  (void **)bulk) != BULK) {
				atomic_fetch_add(&tobj_errors, 1);
				continue;
			}
			for (i = 0; i < BULK; i++)
				tobj_tag(bulk[i], id, ++serial);
			for (i = 0; i < BULK; i++)
				tobj_untag(bulk[i]);
			kmem_cache_free_bulk(cache, BULK, (void **)bulk);
			nalloc += BULK;
			nfree += BULK;
			continue;
		}

		o = atomic_exchange(&slots[slot], NULL);
		if (o) {
			tobj_untag(o);
			kmem_cache_free(cache, o);
			nfree++;
			continue;
		}
		o = kmem_cache_alloc(cache, GFP_KERNEL);
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

START_TEST(test_threads_mixed)
{
	const struct config *cfg = &configs[_i];
	struct uslab_cache_info before, after;
	cpu_set_t old_mask;
	pthread_t th[NTHREADS];
	struct tobj **all;
	unsigned long i;

	cur_cfg = cfg;
	cache = kmem_cache_create(cfg->name, cfg->size, 0, cfg->flags,
				  cfg->ctor ? tobj_ctor : NULL);
	ck_assert_ptr_nonnull(cache);
	atomic_store(&tobj_errors, 0);
	atomic_store(&allocated, 0);
	atomic_store(&freed, 0);

	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker,
						(void *)(uintptr_t)(i + 1)),
				 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);

	/* Drain the table. */
	for (i = 0; i < NSLOTS; i++) {
		struct tobj *o = atomic_exchange(&slots[i], NULL);

		if (o) {
			tobj_untag(o);
			kmem_cache_free(cache, o);
			atomic_fetch_add(&freed, 1);
		}
	}
	ck_assert_msg(atomic_load(&tobj_errors) == 0,
		      "%ld objects handed out twice or damaged",
		      atomic_load(&tobj_errors));
	ck_assert_int_eq(atomic_load(&allocated), atomic_load(&freed));
	ck_assert_int_ge(atomic_load(&allocated),
			 NTHREADS * (cfg->ops / scale) / 2);

	/*
	 * Quiet for the counts: no reaper pass (it moves objects and
	 * releases slabs), and one CPU slot (a thread that migrated would
	 * leave a refilled magazine behind on the CPU it left).
	 */
	reaper_set_interval(0);
	pin_here(&old_mask);
	ck_assert_int_eq(uslab_cache_info(cache, &before), 0);
	ck_assert_uint_eq(before.active_objs, 0);
	ck_assert_uint_eq(before.bad_frees, 0);
	ck_assert_events_balanced(&before);

	/* Every CPU's magazines back to the slabs: all count as free. */
	mag_drain(cache);
	ck_assert_int_eq(uslab_cache_info(cache, &before), 0);
	ck_assert_uint_eq(before.cpu_cached_objs + before.depot_objs, 0);

	/* Nothing lost: every slot laid out can be handed out once more. */
	all = malloc(before.total_objs * sizeof(*all));
	for (i = 0; i < before.total_objs; i++) {
		all[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		ck_assert_ptr_nonnull(all[i]);
		tobj_tag(all[i], 0, i);
	}
	ck_assert_int_eq(uslab_cache_info(cache, &after), 0);
	ck_assert_uint_eq(after.slabs_allocated, before.slabs_allocated);
	ck_assert_uint_eq(after.nr_full, after.nr_slabs);
	ck_assert_msg(atomic_load(&tobj_errors) == 0,
		      "%ld objects handed out twice or damaged",
		      atomic_load(&tobj_errors)); /* all distinct */
	for (i = 0; i < before.total_objs; i++) {
		tobj_untag(all[i]);
		kmem_cache_free(cache, all[i]);
	}
	free(all);
	ck_assert_msg(atomic_load(&tobj_errors) == 0,
		      "%ld objects handed out twice or damaged",
		      atomic_load(&tobj_errors));
	unpin(&old_mask);
	reaper_set_interval(CONFIG_REAP_INTERVAL_MS);
	kmem_cache_destroy(cache);
}
END_TEST

/* ---- kmalloc()'s retained page blocks under threads ----------------- */

#define LSLOTS 64
static _Atomic(unsigned char *) lslots[LSLOTS];
static atomic_bool lstop;

/*
 * Blocks of 12 KiB to 200 KiB (orders 2 to 6) through a shared table,
 * so that most are freed by another thread: each carries its length
 * and a fill byte at both ends and in the middle, checked on free.
 */
static void *large_worker(void *arg)
{
	unsigned long long rng = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL;
	unsigned long ops = 20000 / (unsigned long)scale, i;

	for (i = 0; i < ops; i++) {
		size_t len = 12288 + rng_next(&rng) % (200 * 1024 - 12288);
		unsigned char fill = (unsigned char)(rng_next(&rng) | 1);
		unsigned char *p = kmalloc(len, GFP_KERNEL), *old;

		if (!p) {
			atomic_fetch_add(&tobj_errors, 1);
			continue;
		}
		memcpy(p, &len, sizeof(len));
		p[sizeof(len)] = fill;
		p[len / 2] = fill;
		p[len - 1] = fill;
		old = atomic_exchange(&lslots[rng_next(&rng) % LSLOTS], p);
		if (old) {
			memcpy(&len, old, sizeof(len));
			if (ksize(old) < len || !old[sizeof(len)] ||
			    old[len / 2] != old[sizeof(len)] ||
			    old[len - 1] != old[sizeof(len)])
				atomic_fetch_add(&tobj_errors, 1);
			kfree(old);
		}
	}
	return NULL;
}

/* Gives back every retained block while the workers run. */
static void *large_shrinker(void *arg)
{
	struct kmem_cache *c = arg;

	while (!atomic_load(&lstop)) {
		kmem_cache_shrink(c);
		usleep(500);
	}
	return NULL;
}

START_TEST(test_large_retained_threads)
{
	struct kmem_cache *c = kmem_cache_create("lshrink", 64, 0, 0, NULL);
	struct uslab_kmalloc_info k;
	pthread_t th[NTHREADS], sh;
	unsigned long i;

	ck_assert_ptr_nonnull(c);
	atomic_store(&tobj_errors, 0);
	atomic_store(&lstop, false);
	reaper_set_interval(1); /* reap (nearly) all the time */
	ck_assert_int_eq(pthread_create(&sh, NULL, large_shrinker, c), 0);
	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, large_worker,
						(void *)(uintptr_t)(i + 1)),
				 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&lstop, true);
	pthread_join(sh, NULL);
	reaper_set_interval(CONFIG_REAP_INTERVAL_MS);
	for (i = 0; i < LSLOTS; i++)
		kfree(atomic_exchange(&lslots[i], NULL));
	ck_assert_msg(atomic_load(&tobj_errors) == 0,
		      "%ld blocks lost or damaged", atomic_load(&tobj_errors));
	ck_assert_int_eq(uslab_kmalloc_info(&k), 0);
	ck_assert_uint_eq(k.large_bytes, 0);
	ck_assert_uint_eq(k.large_allocs, k.large_frees);
	ck_assert_uint_eq(k.kfree_bad, 0);
	/* Bounded while kept, and all given back on shrink. */
	ck_assert_uint_le(page_retained_pages(), 4UL << (20 - PAGE_SHIFT));
	kmem_cache_shrink(c);
	ck_assert_uint_eq(page_retained_pages(), 0);
	kmem_cache_destroy(c);
}
END_TEST

static Suite *stress_suite(void)
{
	Suite *s = suite_create("stress-threads");
	TCase *tc = tcase_create("mixed");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_threads_mixed, 0,
			    (int)(sizeof(configs) / sizeof(configs[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("large");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_large_retained_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *q = getenv("USLAB_TEST_QUICK");

	if (q && *q == '1')
		scale = 20;
	return run_suite(stress_suite());
}
