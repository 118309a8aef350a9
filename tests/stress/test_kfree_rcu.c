// SPDX-License-Identifier: MIT
/*
 * RCU-deferred frees: kfree_rcu() and kin against the kernel's promise
 * (readers inside rcu_read_lock never see the object freed), batching
 * (a million frees, a few thousand call_rcu() calls), the barrier,
 * kmem_cache_free_rcu(), SLAB_TYPESAFE_BY_RCU and liburcu's lock-free
 * hash table (cds_lfht), fork, and more threads than this machine has
 * cores.  USLAB_TEST_QUICK=1 scales the work down.
 *
 * Readers use the library's read-side wrappers (uslab_rcu_read_lock and
 * _unlock: urcu_bp_read_lock and _unlock, plus what ThreadSanitizer
 * needs to see the grace period); a published hash-table node is
 * released and acquired for TSan too, since liburcu's publication is
 * not instrumented.
 */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>

#include <uslab/slab.h> /* urcu-bp: the flavour, before the hash table */
#include <uslab/stats.h>
#include <urcu/rculfhash.h>
#include <valgrind/valgrind.h>

#include "internal.h"

static long scale = 1; /* USLAB_TEST_QUICK=1: 1/20 */

/*
 * A teardown that waits inside liburcu (urcu_bp_barrier() for a
 * SLAB_TYPESAFE_BY_RCU cache, the hash table's resize worker): liburcu
 * is not instrumented, so ThreadSanitizer takes its hand-over of the
 * memory it allocates and frees itself for a race.  Under TSan the
 * teardown is left to the process's exit.
 */
#ifdef USLAB_TSAN
#define uninstrumented_teardown(call) ((void)0)
#else
#define uninstrumented_teardown(call) call
#endif

static struct uslab_kmalloc_info kinfo(void)
{
	struct uslab_kmalloc_info k;

	ck_assert_int_eq(uslab_kmalloc_info(&k), 0);
	return k;
}

/* Objects handed out by kmalloc's cache @name. */
static unsigned long class_active(const char *name)
{
	struct uslab_cache_info info;

	kfree(kmalloc(1, GFP_KERNEL));
	ck_assert_int_eq(uslab_cache_info(cache_named(name), &info), 0);
	return info.active_objs;
}

/* 64 bytes: 6 words of a pattern, and the head (unused by batches). */
struct item {
	uint64_t word[6];
	struct rcu_head rcu;
};

/* ---- The barrier and batching --------------------------------------- */

START_TEST(test_barrier_100k)
{
	unsigned long before = class_active("kmalloc-64");
	struct uslab_kmalloc_info k0 = kinfo(), k1;
	long i, n = 100000 / scale;

	for (i = 0; i < n; i++) {
		struct item *it = kmalloc(sizeof(*it), GFP_KERNEL);

		ck_assert_ptr_nonnull(it);
		kfree_rcu(it, rcu);
	}
	/* The flusher may have sent some batches on already. */
	ck_assert_uint_le(class_active("kmalloc-64"), before + n);
	kvfree_rcu_barrier();
	ck_assert_uint_eq(class_active("kmalloc-64"), before);
	k1 = kinfo();
	ck_assert_uint_eq(k1.rcu_queued - k0.rcu_queued, n);
	ck_assert_uint_eq(k1.rcu_freed - k0.rcu_freed, n);
	/* About n / 509 full batches, and a partial one per CPU used. */
	ck_assert_uint_le(k1.rcu_batches - k0.rcu_batches, n / 400 + 64);
}
END_TEST

#define BATCH_THREADS 6 /* more than the cores */

static void *batch_worker(void *arg)
{
	long i, n = *(long *)arg;

	for (i = 0; i < n; i++) {
		void *p = kmalloc(32, GFP_KERNEL);

		if (!p)
			return (void *)1;
		kvfree_rcu_mightsleep(p);
	}
	return NULL;
}

/* 1M frees from 6 threads: counted calls to call_rcu(). */
START_TEST(test_million_frees_few_callbacks)
{
	unsigned long before = class_active("kmalloc-32");
	struct uslab_kmalloc_info k0 = kinfo(), k1;
	long per = 1000000 / BATCH_THREADS / scale, total;
	pthread_t t[BATCH_THREADS];
	unsigned long calls;
	void *ret;
	int i;

	for (i = 0; i < BATCH_THREADS; i++)
		ck_assert_int_eq(
			pthread_create(&t[i], NULL, batch_worker, &per), 0);
	for (i = 0; i < BATCH_THREADS; i++) {
		pthread_join(t[i], &ret);
		ck_assert_ptr_null(ret);
	}
	kvfree_rcu_barrier();
	k1 = kinfo();
	total = per * BATCH_THREADS;
	calls = k1.rcu_batches - k0.rcu_batches;
	printf("kfree_rcu: %ld frees, %lu call_rcu() calls (%.0f frees per "
	       "call)\n",
	       total, calls, (double)total / (double)calls);
	ck_assert_uint_eq(k1.rcu_queued - k0.rcu_queued, total);
	ck_assert_uint_eq(k1.rcu_freed - k0.rcu_freed, total);
	ck_assert_uint_gt(calls, 0);
	ck_assert_uint_le(calls, total / 100);
	ck_assert_uint_eq(class_active("kmalloc-32"), before);
}
END_TEST

/* ---- Readers never see the object freed ---------------------------- */

static struct item *held;
static atomic_int reader_in, reader_go, reader_bad;

static void *holding_reader(void *arg)
{
	struct timespec ts = { 0, 200 * 1000000L };
	struct item *it;
	int i;

	(void)arg;
	uslab_rcu_read_lock();
	it = __atomic_load_n(&held, __ATOMIC_ACQUIRE);
	atomic_store(&reader_in, 1);
	while (!atomic_load(&reader_go))
		sched_yield();
	/* Well past the flusher's pass: the batch is with call_rcu(). */
	nanosleep(&ts, NULL);
	for (i = 0; i < 6; i++)
		if (it->word[i] != 0x1234567800000000ULL + (uint64_t)i)
			atomic_fetch_add(&reader_bad, 1);
	uslab_rcu_read_unlock();
	return NULL;
}

START_TEST(test_reader_holds_object)
{
	struct uslab_kmalloc_info k0, k1;
	struct item *it = kmalloc(sizeof(*it), GFP_KERNEL);
	pthread_t t;
	int i;

	for (i = 0; i < 6; i++)
		it->word[i] = 0x1234567800000000ULL + (uint64_t)i;
	__atomic_store_n(&held, it, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_create(&t, NULL, holding_reader, NULL), 0);
	while (!atomic_load(&reader_in))
		sched_yield();
	k0 = kinfo();
	__atomic_store_n(&held, NULL, __ATOMIC_RELEASE); /* unpublish */
	kfree_rcu(it, rcu);
	atomic_store(&reader_go, 1);
	pthread_join(t, NULL);
	ck_assert_int_eq(atomic_load(&reader_bad), 0);
	kvfree_rcu_barrier();
	k1 = kinfo();
	ck_assert_uint_eq(k1.rcu_freed - k0.rcu_freed, 1);
}
END_TEST

/*
 * The readers' check can fail: once a freed object reaches its slab (a
 * shrink drains the magazines) its words change: the free pointer goes
 * into the middle of a kmalloc object, and a slab given back reads as
 * zeroes.
 */
START_TEST(test_check_sees_a_free)
{
	struct item *it = kmalloc(sizeof(*it), GFP_KERNEL);
	uint64_t w[6];
	int i, changed = 0;

	for (i = 0; i < 6; i++)
		it->word[i] = 0x1234567800000000ULL + (uint64_t)i;
	kfree(it);
	kmem_cache_shrink(cache_named("kmalloc-64"));
	/*
	 * A read after free on purpose (arena memory stays mapped): under
	 * valgrind, memcheck would rightly report it.
	 */
	VALGRIND_DISABLE_ERROR_REPORTING;
	memcpy(w, it, sizeof(w));
	VALGRIND_ENABLE_ERROR_REPORTING;
	for (i = 0; i < 6; i++)
		changed += w[i] != 0x1234567800000000ULL + (uint64_t)i;
	ck_assert_int_gt(changed, 0);
}
END_TEST

/* ---- kmem_cache_free_rcu -------------------------------------------- */

START_TEST(test_kmem_cache_free_rcu)
{
	struct kmem_cache *s =
		kmem_cache_create("rcu-items", sizeof(struct item), 0, 0, NULL);
	struct kmem_cache *other =
		kmem_cache_create("rcu-other", sizeof(struct item), 0, 0, NULL);
	struct uslab_cache_info info;
	struct item *p[1000], *wrong;
	struct capture c;
	int i;

	for (i = 0; i < 1000; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (i = 0; i < 1000; i++)
		kmem_cache_free_rcu(s, p[i], rcu);
	kvfree_rcu_barrier();
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.active_objs, 0);

	wrong = kmem_cache_alloc(other, GFP_KERNEL);
	capture_begin(&c);
	kmem_cache_free_rcu(s, wrong, rcu);
	capture_end(&c);
	ck_assert_reported(&c, "not an object of this cache");
	kvfree_rcu_barrier();
	ck_assert_int_eq(uslab_cache_info(other, &info), 0);
	ck_assert_uint_eq(info.active_objs, 1); /* refused, not freed */
	kmem_cache_free(other, wrong);
	kmem_cache_destroy(other);
	kmem_cache_destroy(s);
	kfree_rcu((struct item *)NULL, rcu); /* no-op */
	kvfree_rcu_mightsleep(NULL);
}
END_TEST

/* ---- cds_lfht: lookups under rcu_read_lock, frees with kfree_rcu ---- */

#define NKEYS 512
#define LFHT_READERS 3
#define LFHT_WRITERS 3 /* 6 threads + main on 2 cores */

struct hnode {
	uint64_t word[6]; /* key * 6 + i */
	uint64_t key;
	struct cds_lfht_node node;
	struct rcu_head rcu;
};

static struct cds_lfht *table;
static atomic_int lfht_stop;
static atomic_long lfht_bad, lfht_found, lfht_freed;

/*
 * LFHT_READERS readers and LFHT_WRITERS writers (ids from 1) until the
 * writers are done; then lfht_stop ends the readers.
 */
static void run_readers_writers(void *(*reader)(void *),
				void *(*writer)(void *))
{
	pthread_t r[LFHT_READERS], w[LFHT_WRITERS];
	int i;

	for (i = 0; i < LFHT_READERS; i++)
		ck_assert_int_eq(pthread_create(&r[i], NULL, reader,
						(void *)(uintptr_t)(i + 1)),
				 0);
	for (i = 0; i < LFHT_WRITERS; i++)
		ck_assert_int_eq(pthread_create(&w[i], NULL, writer,
						(void *)(uintptr_t)(i + 1)),
				 0);
	for (i = 0; i < LFHT_WRITERS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&lfht_stop, 1);
	for (i = 0; i < LFHT_READERS; i++)
		pthread_join(r[i], NULL);
}

static unsigned long hash_key(uint64_t key)
{
	return (unsigned long)(key * 0x9e3779b97f4a7c15ULL);
}

static int match_key(struct cds_lfht_node *node, const void *key)
{
	const struct hnode *h = caa_container_of(node, struct hnode, node);

	tsan_acquire(h); /* reached through the table's publication */
	return h->key == *(const uint64_t *)key;
}

static void *lfht_reader(void *arg)
{
	unsigned long long rng = (unsigned long long)(uintptr_t)arg * 7 + 1;

	while (!atomic_load(&lfht_stop)) {
		uint64_t key = rng_next(&rng) % NKEYS;
		struct cds_lfht_iter iter;
		struct cds_lfht_node *node;

		uslab_rcu_read_lock();
		cds_lfht_lookup(table, hash_key(key), match_key, &key, &iter);
		node = cds_lfht_iter_get_node(&iter);
		if (node) {
			struct hnode *h =
				caa_container_of(node, struct hnode, node);
			int i;

			tsan_acquire(h);
			for (i = 0; i < 6; i++)
				if (h->word[i] != key * 6 + (uint64_t)i)
					atomic_fetch_add(&lfht_bad, 1);
			atomic_fetch_add(&lfht_found, 1);
		}
		uslab_rcu_read_unlock();
	}
	return NULL;
}

static struct hnode *hnode_new(uint64_t key)
{
	struct hnode *h = kmalloc(sizeof(*h), GFP_KERNEL);
	int i;

	for (i = 0; i < 6; i++)
		h->word[i] = key * 6 + (uint64_t)i;
	h->key = key;
	cds_lfht_node_init(&h->node);
	tsan_release(h);
	return h;
}

/* Replace keys at random: the old node is freed with kfree_rcu(). */
static void *lfht_writer(void *arg)
{
	unsigned long long rng = (unsigned long long)(uintptr_t)arg * 13 + 5;
	long i, n = 200000 / scale;

	for (i = 0; i < n; i++) {
		uint64_t key = rng_next(&rng) % NKEYS;
		struct hnode *h = hnode_new(key);
		struct cds_lfht_node *old;

		uslab_rcu_read_lock();
		old = cds_lfht_add_replace(table, hash_key(key), match_key,
					   &key, &h->node);
		uslab_rcu_read_unlock();
		if (old) {
			kfree_rcu(caa_container_of(old, struct hnode, node),
				  rcu);
			atomic_fetch_add(&lfht_freed, 1);
		}
	}
	return NULL;
}

START_TEST(test_lfht_kfree_rcu)
{
	unsigned long before = class_active("kmalloc-96");
	struct cds_lfht_node *node;
	struct cds_lfht_iter iter;
	struct hnode *h;
	long left = 0;

	table = cds_lfht_new_flavor(NKEYS, NKEYS, 0, CDS_LFHT_AUTO_RESIZE,
				    &urcu_bp_flavor, NULL);
	ck_assert_ptr_nonnull(table);
	run_readers_writers(lfht_reader, lfht_writer);
	printf("cds_lfht: %ld lookups found a node, %ld nodes freed with "
	       "kfree_rcu, %ld bad\n",
	       atomic_load(&lfht_found), atomic_load(&lfht_freed),
	       atomic_load(&lfht_bad));
	ck_assert_int_eq(atomic_load(&lfht_bad), 0);
	ck_assert_int_gt(atomic_load(&lfht_found), 0);
	ck_assert_int_gt(atomic_load(&lfht_freed), 0);

	/* Empty the table the same way; everything comes back. */
	/* cds_lfht_for_each_entry() offsets a NULL pointer at the end. */
	uslab_rcu_read_lock();
	cds_lfht_for_each(table, &iter, node)
	{
		h = caa_container_of(node, struct hnode, node);
		if (!cds_lfht_del(table, node)) {
			kfree_rcu(h, rcu);
			left++;
		}
	}
	uslab_rcu_read_unlock();
	ck_assert_int_le(left, NKEYS);
	kvfree_rcu_barrier();
	ck_assert_uint_eq(class_active("kmalloc-96"), before);
	uninstrumented_teardown(
		ck_assert_int_eq(cds_lfht_destroy(table, NULL), 0));
}
END_TEST

/* ---- SLAB_TYPESAFE_BY_RCU: memory stays typed while readers look ---- */

#define TS_MAGIC 0x7a7a7a7a5eb5eb5eULL
#define TS_SLOTS 256

struct tsobj {
	uint64_t magic; /* set by the constructor, never cleared */
	uint64_t key; /* revalidated by readers: the object may be reused */
	uint64_t pad[4];
	struct rcu_head rcu;
};

static struct kmem_cache *ts_cache;
static struct tsobj *ts_slot[TS_SLOTS];

static void ts_ctor(void *p)
{
	((struct tsobj *)p)->magic = TS_MAGIC;
}

/*
 * Readers follow a slot's pointer under rcu_read_lock while writers
 * replace it and free the old object at once: the object may be freed
 * and even reused under the reader (its key says so), but its slab is
 * not given back to the pages before the reader leaves: memory given
 * back would read as zeroes.
 */
static void *ts_reader(void *arg)
{
	unsigned long long rng = (unsigned long long)(uintptr_t)arg * 3 + 11;

	while (!atomic_load(&lfht_stop)) {
		unsigned int i = (unsigned int)(rng_next(&rng) % TS_SLOTS);
		struct tsobj *o;

		uslab_rcu_read_lock();
		o = __atomic_load_n(&ts_slot[i], __ATOMIC_ACQUIRE);
		if (o) {
			tsan_acquire(o);
			if (__atomic_load_n(&o->magic, __ATOMIC_RELAXED) !=
			    TS_MAGIC)
				atomic_fetch_add(&lfht_bad, 1);
			if (__atomic_load_n(&o->key, __ATOMIC_RELAXED) %
				    TS_SLOTS ==
			    i)
				atomic_fetch_add(&lfht_found, 1);
		}
		uslab_rcu_read_unlock();
	}
	return NULL;
}

/*
 * Replace the slots in turn, freeing at once, so that old slabs empty;
 * shrink now and then, which gives them back (after a grace period).
 */
static void *ts_writer(void *arg)
{
	long n = 200000 / scale, k;

	(void)arg;
	for (k = 0; k < n; k++) {
		unsigned int i = (unsigned int)(k % TS_SLOTS);
		struct tsobj *o = kmem_cache_alloc(ts_cache, GFP_KERNEL), *old;

		__atomic_store_n(&o->key, (uint64_t)k * TS_SLOTS + i,
				 __ATOMIC_RELAXED);
		tsan_release(o);
		old = __atomic_exchange_n(&ts_slot[i], o, __ATOMIC_ACQ_REL);
		if (old)
			kmem_cache_free(ts_cache, old);
		if (k % 2048 == 0)
			kmem_cache_shrink(ts_cache);
	}
	return NULL;
}

START_TEST(test_typesafe_by_rcu)
{
	struct uslab_cache_info info;
	int i;

	ts_cache = kmem_cache_create("typesafe", sizeof(struct tsobj), 0,
				     SLAB_TYPESAFE_BY_RCU, ts_ctor);
	ck_assert_ptr_nonnull(ts_cache);
	run_readers_writers(ts_reader, ts_writer);
	ck_assert_int_eq(atomic_load(&lfht_bad), 0);
	ck_assert_int_gt(atomic_load(&lfht_found), 0);
	ck_assert_int_eq(uslab_cache_info(ts_cache, &info), 0);
	printf("SLAB_TYPESAFE_BY_RCU: %ld reads of a live key, %lu slabs "
	       "given back, 0 reads of memory given back\n",
	       atomic_load(&lfht_found), (unsigned long)info.slabs_released);
	/* The survivors go with kmem_cache_free_rcu(), too. */
	for (i = 0; i < TS_SLOTS; i++)
		if (ts_slot[i])
			kmem_cache_free_rcu(ts_cache, ts_slot[i], rcu);
	kvfree_rcu_barrier();
	ck_assert_int_eq(kmem_cache_shrink(ts_cache), 0);
	uninstrumented_teardown(kmem_cache_destroy(ts_cache));
}
END_TEST

/*
 * A reader holds an object of a SLAB_TYPESAFE_BY_RCU cache while every
 * object is freed and the cache shrunk: the emptied slab goes back to
 * the pages only after the reader leaves.
 */
static struct tsobj *ts_held;
static atomic_int ts_in, ts_go;
static atomic_ulong ts_seen_magic;

static void *ts_holder(void *arg)
{
	struct timespec ts = { 0, 100 * 1000000L };
	struct tsobj *o;

	(void)arg;
	uslab_rcu_read_lock();
	o = __atomic_load_n(&ts_held, __ATOMIC_ACQUIRE);
	atomic_store(&ts_in, 1);
	while (!atomic_load(&ts_go))
		sched_yield();
	nanosleep(&ts, NULL); /* the shrink's call_rcu() is queued */
	atomic_store(&ts_seen_magic, o->magic);
	uslab_rcu_read_unlock();
	return NULL;
}

START_TEST(test_typesafe_reader_holds_slab)
{
	struct kmem_cache *s =
		kmem_cache_create("typesafe-held", sizeof(struct tsobj), 0,
				  SLAB_TYPESAFE_BY_RCU, ts_ctor);
	struct uslab_cache_info info;
	struct tsobj *o = kmem_cache_alloc(s, GFP_KERNEL);
	struct timespec ms = { 0, 1000000L };
	pthread_t t;
	int i;

	__atomic_store_n(&ts_held, o, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_create(&t, NULL, ts_holder, NULL), 0);
	while (!atomic_load(&ts_in))
		sched_yield();
	kmem_cache_free(s, o); /* at once: typesafe */
	ck_assert_int_eq(kmem_cache_shrink(s), 0); /* the slab is released */
	atomic_store(&ts_go, 1);
	pthread_join(t, NULL);
	ck_assert_uint_eq(atomic_load(&ts_seen_magic), TS_MAGIC);
	/*
	 * The slab's release runs after a grace period: wait up to 10 s
	 * for it to be counted and its memory given back (read as zeroes).
	 */
	for (i = 0; i < 10000; i++) {
		ck_assert_int_eq(uslab_cache_info(s, &info), 0);
		if (info.slabs_released &&
		    !__atomic_load_n(&o->magic, __ATOMIC_RELAXED))
			break;
		nanosleep(&ms, NULL);
	}
	ck_assert_uint_eq(info.slabs_released, 1);
	ck_assert_uint_eq(__atomic_load_n(&o->magic, __ATOMIC_RELAXED), 0);
	uninstrumented_teardown(kmem_cache_destroy(s));
}
END_TEST

/* ---- fork ------------------------------------------------------------ */

/*
 * As in Linux, the macros evaluate their pointer once (a kmalloc() in
 * the argument is one allocation) and ignore NULL.
 */
START_TEST(test_macro_arguments)
{
	unsigned long a0 = class_active("kmalloc-64");
	struct uslab_kmalloc_info k0 = kinfo(), k1;
	struct item *null = NULL;
	int calls = 0;

	kfree_rcu((calls++,
		   (struct item *)kmalloc(sizeof(struct item), GFP_KERNEL)),
		  rcu);
	kvfree_rcu(null, rcu);
	kfree_rcu((struct item *)NULL, rcu);
	kvfree_rcu_barrier();
	k1 = kinfo();
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(k1.rcu_queued - k0.rcu_queued, 1);
	ck_assert_uint_eq(k1.rcu_freed - k0.rcu_freed, 1);
	ck_assert_uint_eq(class_active("kmalloc-64"), a0);
}
END_TEST

START_TEST(test_fork)
{
	unsigned long a0 = class_active("kmalloc-64");
	struct uslab_kmalloc_info k0 = kinfo(), k1;
	pid_t pid;
	int i, status;

	for (i = 0; i < 100; i++)
		kfree_rcu(
			(struct item *)kmalloc(sizeof(struct item), GFP_KERNEL),
			rcu);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The parent's queued frees and the child's own. */
		for (i = 0; i < 100; i++)
			kfree_rcu((struct item *)kmalloc(sizeof(struct item),
							 GFP_KERNEL),
				  rcu);
		kvfree_rcu_barrier();
		k1 = kinfo();
		_exit(k1.rcu_freed - k0.rcu_freed == 200 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	kvfree_rcu_barrier();
	k1 = kinfo();
	ck_assert_uint_eq(k1.rcu_freed - k0.rcu_freed, 100);
	ck_assert_uint_eq(class_active("kmalloc-64"), a0);
}
END_TEST

static Suite *kfree_rcu_suite(void)
{
	Suite *s = suite_create("kfree_rcu");
	TCase *tc = tcase_create("kfree_rcu");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_barrier_100k);
	tcase_add_test(tc, test_million_frees_few_callbacks);
	tcase_add_test(tc, test_reader_holds_object);
	tcase_add_test(tc, test_check_sees_a_free);
	tcase_add_test(tc, test_kmem_cache_free_rcu);
	tcase_add_test(tc, test_lfht_kfree_rcu);
	tcase_add_test(tc, test_typesafe_by_rcu);
	tcase_add_test(tc, test_typesafe_reader_holds_slab);
	tcase_add_test(tc, test_macro_arguments);
	tcase_add_test(tc, test_fork);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *q = getenv("USLAB_TEST_QUICK");

	if (q && *q == '1')
		scale = 20;
	return run_suite(kfree_rcu_suite());
}
