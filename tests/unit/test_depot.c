// SPDX-License-Identifier: MIT
/*
 * Unit tests of the depot (lib/depot.c), driven directly and on one
 * thread: exchanges, working-set reaping, adaptive magazine growth, the
 * lock-free snapshot; and of the magazine layer's bulk paths and drain.
 */
#include "common.h"

#include <uslab/slab.h>
#include <uslab/stats.h>

#include "internal.h"

/*
 * Each test (its own process) stays on one CPU: the counts below are of
 * one CPU's slot, and a thread that moved would fill another's.
 */
static struct kmem_cache *mk(const char *name)
{
	struct kmem_cache *s;
	cpu_set_t old;

	pin_here(&old);
	s = kmem_cache_create(name, 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(s->cpu_slab);
	reaper_set_interval(0); /* these tests reap by hand */
	return s;
}

/* A magazine of @d filled from @s's slabs. */
static struct magazine *full_mag(struct kmem_cache *s, struct depot *d)
{
	struct magazine *m = depot_mag_new(d);

	ck_assert_ptr_nonnull(m);
	m->rounds = (long)slab_alloc_bulk(s, 0, 0, (size_t)m->capacity, m->objs,
					  NULL);
	ck_assert_int_eq(m->rounds, m->capacity);
	return m;
}

static unsigned long node_active(struct kmem_cache *s)
{
	return s->node[0]->active_objects;
}

START_TEST(test_exchanges)
{
	struct kmem_cache *s = mk("depot-xchg");
	struct depot *d = s->depot[0];
	struct magazine *f1 = full_mag(s, d), *e1 = depot_mag_new(d), *m;
	struct depot_snapshot st;

	ck_assert_uint_eq(d->capacity, CONFIG_MAGAZINE_SIZE);
	/* Nothing full yet: no exchange, the empty stays with the caller. */
	ck_assert_ptr_null(depot_get_full(d, e1));
	ck_assert_uint_eq(d->nr_empty, 0);

	/* Free side: a full one in, no empty to give back. */
	ck_assert_ptr_null(depot_get_empty(s, d, f1));
	ck_assert_uint_eq(d->nr_full, 1);
	/* Alloc side: the empty goes in, the full comes out. */
	m = depot_get_full(d, e1);
	ck_assert_ptr_eq(m, f1);
	ck_assert_uint_eq(d->nr_full, 0);
	ck_assert_uint_eq(d->nr_empty, 1);
	ck_assert_ptr_eq(depot_get_empty(s, d, NULL), e1);

	depot_put_full(d, f1);
	depot_put_empty(d, e1);
	depot_snapshot(d, &st);
	ck_assert_uint_eq(st.full, 1);
	ck_assert_uint_eq(st.empty, 1);
	ck_assert_uint_eq(st.objects, (unsigned long)f1->capacity);
	ck_assert_uint_eq(st.exchanges, 2);

	/* Purge: the objects go back to their slab, magazines are freed. */
	ck_assert_uint_eq(node_active(s), (unsigned long)f1->capacity);
	depot_purge(s, d);
	ck_assert_uint_eq(node_active(s), 0);
	depot_snapshot(d, &st);
	ck_assert_uint_eq(st.full + st.empty, 0);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * Bonwick's working set: a reap frees what stayed in the depot since
 * the previous reap, coldest first, and keeps what was used.
 */
START_TEST(test_reap_working_set)
{
	struct kmem_cache *s = mk("depot-reap");
	struct depot *d = s->depot[0];
	struct magazine *m[6], *got;
	int i;

	for (i = 0; i < 6; i++)
		depot_put_full(d, full_mag(s, d));
	/* First reap: the low mark was 0 since creation; sets it to 6. */
	depot_reap(s, d);
	ck_assert_uint_eq(d->nr_full, 6);
	ck_assert_uint_eq(d->min_full, 6);

	/* Use two, give them back: the low mark is 4. */
	m[0] = depot_get_full(d, NULL);
	m[1] = depot_get_full(d, NULL);
	ck_assert_uint_eq(d->min_full, 4);
	depot_put_full(d, m[1]);
	depot_put_full(d, m[0]);
	ck_assert_uint_eq(d->nr_full, 6);

	depot_reap(s, d);
	ck_assert_uint_eq(d->nr_full, 2); /* the four idle ones went */
	ck_assert_uint_eq(node_active(s), 2UL * CONFIG_MAGAZINE_SIZE);
	/* The two kept are the hot ones, on top. */
	got = depot_get_full(d, NULL);
	ck_assert_ptr_eq(got, m[0]);
	depot_put_full(d, got);

	/* An idle interval frees the rest. */
	depot_reap(s, d);
	depot_reap(s, d);
	ck_assert_uint_eq(d->nr_full, 0);
	ck_assert_uint_eq(node_active(s), 0);
	kmem_cache_destroy(s);
}
END_TEST

/* Lock waits grow new magazines; outgrown empty ones are dropped. */
static void contend(struct depot *d, int waits)
{
	pthread_mutex_lock(&d->lock);
	while (waits--)
		depot_note_contention(d); /* what depot_lock() does */
	pthread_mutex_unlock(&d->lock);
}

START_TEST(test_adaptive_capacity)
{
	struct kmem_cache *s = mk("depot-grow");
	struct depot *d = s->depot[0];
	struct magazine *small = depot_mag_new(d), *big;
	unsigned int cap = d->capacity, rounds = 0;

	depot_put_empty(d, small);
	/* A few waits per interval are normal: no growth. */
	contend(d, 5);
	depot_reap(s, d);
	contend(d, 5);
	ck_assert_uint_eq(d->capacity, cap);
	/* The 16th wait of one interval doubles the size at once. */
	contend(d, 10);
	ck_assert_uint_eq(d->capacity, cap);
	contend(d, 1);
	ck_assert_uint_eq(d->capacity, cap * 2);
	ck_assert_uint_eq(d->contended, 0);
	/* The old empty one is not handed out again. */
	ck_assert_ptr_null(depot_get_empty(s, d, NULL));
	ck_assert_uint_eq(d->nr_empty, 0);
	big = depot_mag_new(d);
	ck_assert_int_eq(big->capacity, (long)cap * 2);
	depot_mag_free(big);

	/* Growth stops at the bound. */
	while (d->capacity < d->max_capacity && rounds++ < 20)
		contend(d, 16);
	contend(d, 16);
	ck_assert_uint_eq(d->capacity, d->max_capacity);
	ck_assert_uint_le(d->max_capacity, CONFIG_MAGAZINE_MAX);
	ck_assert_uint_eq(d->max_capacity, MIN(cap * 8, CONFIG_MAGAZINE_MAX));

	/*
	 * An interval without a wait halves it; one with waits keeps it;
	 * quiet intervals bring it back to where it started, no lower.
	 */
	depot_reap(s, d);
	ck_assert_uint_eq(d->capacity, d->max_capacity / 2);
	contend(d, 3);
	depot_reap(s, d);
	ck_assert_uint_eq(d->capacity, d->max_capacity / 2);
	for (rounds = 0; rounds < 10; rounds++)
		depot_reap(s, d);
	ck_assert_uint_eq(d->capacity, cap);
	/* The bounds follow: the same bytes in more, smaller magazines. */
	ck_assert_uint_ge(d->max_mags, 8);
	kmem_cache_destroy(s);
}
END_TEST

/* Bigger objects get smaller magazines: about the same bytes each. */
START_TEST(test_capacity_by_size)
{
	struct kmem_cache *a = kmem_cache_create("cap-64", 64, 0, 0, NULL);
	struct kmem_cache *b = kmem_cache_create("cap-1k", 1024, 0, 0, NULL);
	struct kmem_cache *c = kmem_cache_create("cap-64k", 65536, 0, 0, NULL);
	struct kmem_cache *dbg =
		kmem_cache_create("cap-dbg", 64, 0, SLAB_POISON, NULL);

	ck_assert_uint_eq(a->depot[0]->capacity, CONFIG_MAGAZINE_SIZE);
	ck_assert_uint_eq(b->depot[0]->capacity, CONFIG_MAGAZINE_SIZE / 4);
	ck_assert_uint_eq(c->depot[0]->capacity, 4);
	/* Debug caches have no magazines: every object is checked. */
	ck_assert_ptr_null(dbg->cpu_slab);
	kmem_cache_destroy(a);
	kmem_cache_destroy(b);
	kmem_cache_destroy(c);
	kmem_cache_destroy(dbg);
}
END_TEST

/* Bulk moves whole magazines; drain empties every CPU slot. */
START_TEST(test_bulk_and_drain)
{
	struct kmem_cache *s = mk("mag-bulk");
	/* More than the depot keeps: some must go back to the slabs. */
	const int N = (int)(s->depot[0]->max_mags + 8) * CONFIG_MAGAZINE_SIZE;
	void **p = malloc((size_t)N * sizeof(*p));
	struct uslab_cache_info info;
	unsigned long exch;
	int i;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, (size_t)N, p), N);
	kmem_cache_free_bulk(s, (size_t)N, p);
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.active_objs, 0);
	/*
	 * Two magazines on this CPU, a full depot (max_mags magazines);
	 * the rest went back to the slabs.  One fill and teardown is not a
	 * cycle: the bound stays.
	 */
	ck_assert_uint_eq(s->depot[0]->bound_kib, CONFIG_DEPOT_KIB);
	ck_assert_uint_eq(info.depot_full, s->depot[0]->max_mags);
	ck_assert_uint_le(info.cpu_cached_objs, 2UL * CONFIG_MAGAZINE_SIZE);
	ck_assert_uint_eq(info.depot_objs,
			  s->depot[0]->max_mags * CONFIG_MAGAZINE_SIZE);
	ck_assert_uint_eq(node_active(s),
			  info.cpu_cached_objs + info.depot_objs);
	exch = info.depot_exchanges;

	/* Again: the depot's full magazines first, then the slabs. */
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, (size_t)N, p), N);
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.active_objs, (unsigned long)N);
	ck_assert_uint_eq(info.depot_exchanges, exch + s->depot[0]->max_mags);
	ck_assert_uint_eq(info.depot_full, 0);
	for (i = 0; i < N; i++)
		kmem_cache_free(s, p[i]);

	mag_drain(s);
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.cpu_cached_objs + info.depot_objs, 0);
	ck_assert_uint_eq(node_active(s), 0);
	free(p);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * A depot keeps max_mags full magazines: the next full one given to it
 * is emptied into its slabs and handed back as the empty one.
 */
START_TEST(test_depot_bound)
{
	struct kmem_cache *s = mk("depot-bound");
	struct depot *d = s->depot[0];
	struct magazine *f;
	unsigned long i;

	/* About CONFIG_DEPOT_KIB of objects, in magazines of this size. */
	ck_assert_uint_eq(d->max_mags, ((unsigned long)CONFIG_DEPOT_KIB << 10) /
					       (64UL * CONFIG_MAGAZINE_SIZE));
	ck_assert_uint_ge(d->max_empty, 8);
	for (i = 0; i < d->max_mags; i++)
		ck_assert_ptr_null(depot_get_empty(s, d, full_mag(s, d)));
	ck_assert_uint_eq(d->nr_full, d->max_mags);
	f = full_mag(s, d);
	ck_assert_ptr_eq(depot_get_empty(s, d, f), f);
	ck_assert_int_eq(f->rounds, 0);
	ck_assert_uint_eq(d->nr_full, d->max_mags);
	ck_assert_uint_eq(node_active(s),
			  d->max_mags * (unsigned long)f->capacity);
	depot_mag_free(f);

	/* Empty ones: at most max_empty kept, the rest freed. */
	for (i = 0; i < d->max_empty + 3; i++) {
		struct magazine *m = depot_get_full(d, depot_mag_new(d));

		ck_assert_ptr_nonnull(m);
		depot_put_full(d, m);
	}
	ck_assert_uint_eq(d->nr_empty, d->max_empty);
	kmem_cache_destroy(s);
}
END_TEST

/* Fill @d's full list to its bound with magazines from @s's slabs. */
static void fill_to_bound(struct kmem_cache *s, struct depot *d)
{
	while (d->nr_full < d->max_mags)
		ck_assert_ptr_null(depot_get_empty(s, d, full_mag(s, d)));
}

/* Run @d dry: flush and free every full magazine, then miss once. */
static void run_dry(struct kmem_cache *s, struct depot *d)
{
	struct magazine *m;

	while (d->nr_full) {
		m = depot_get_full(d, NULL);
		depot_mag_flush(s, m);
		depot_mag_free(m);
	}
	ck_assert_ptr_null(depot_get_full(d, NULL));
	ck_assert_uint_eq(d->ran_dry, 1);
}

/*
 * The adaptive bound: the second overflow after a dry spell in one
 * interval doubles the bound and keeps the magazine; a first one, one
 * without a dry spell, or one at CONFIG_DEPOT_MAX_KIB flushes it; an
 * interval that never used half the bound halves it back, never below
 * CONFIG_DEPOT_KIB.
 */
START_TEST(test_depot_bound_adapts)
{
	struct kmem_cache *s = mk("depot-adapt");
	struct depot *d = s->depot[0];
	unsigned long mags = d->max_mags;
	struct magazine *f;

	ck_assert_uint_eq(d->bound_kib, CONFIG_DEPOT_KIB);
	fill_to_bound(s, d);
	/* Never ran dry: the overflow goes to the slabs, as before. */
	f = full_mag(s, d);
	ck_assert_ptr_eq(depot_get_empty(s, d, f), f);
	ck_assert_int_eq(f->rounds, 0);
	ck_assert_uint_eq(d->bound_kib, CONFIG_DEPOT_KIB);
	depot_mag_free(f);

	/* A dry spell, then an overflow: one cycle, still flushed. */
	run_dry(s, d);
	fill_to_bound(s, d);
	f = full_mag(s, d);
	ck_assert_ptr_eq(depot_get_empty(s, d, f), f);
	ck_assert_uint_eq(d->bound_kib, CONFIG_DEPOT_KIB);
	ck_assert_uint_eq(d->ran_dry, 0);
	depot_mag_free(f);

	/* The second cycle: the bound doubles and the magazine stays. */
	run_dry(s, d);
	fill_to_bound(s, d);
	f = full_mag(s, d);
	ck_assert_ptr_null(depot_get_empty(s, d, f)); /* kept */
	ck_assert_uint_eq(d->bound_kib, 2UL * CONFIG_DEPOT_KIB);
	ck_assert_uint_eq(d->max_mags, 2 * mags);
	ck_assert_uint_eq(d->nr_full, mags + 1);
	ck_assert_uint_eq(d->ran_dry, 0);
	ck_assert_uint_eq(node_active(s),
			  (mags + 1) * (unsigned long)f->capacity);

	/* A dry spell does not lift the ceiling (white box: bound at it). */
	d->bound_kib = CONFIG_DEPOT_MAX_KIB;
	d->max_mags = d->nr_full;
	d->ran_dry = 1;
	f = full_mag(s, d);
	ck_assert_ptr_eq(depot_get_empty(s, d, f), f);
	ck_assert_uint_eq(d->bound_kib, CONFIG_DEPOT_MAX_KIB);
	ck_assert_uint_eq(d->max_mags, mags + 1);
	depot_mag_free(f);
	d->bound_kib = 2UL * CONFIG_DEPOT_KIB;
	d->max_mags = 2 * mags;
	d->ran_dry = 0;

	/*
	 * This interval reached mags + 1 of 2 * mags: more than half, so
	 * the reap keeps the bound (and frees the idle magazines).  The
	 * next interval, left with none, halves it; then it stays put.
	 */
	depot_reap(s, d);
	ck_assert_uint_eq(d->bound_kib, 2UL * CONFIG_DEPOT_KIB);
	depot_reap(s, d);
	depot_reap(s, d);
	ck_assert_uint_eq(d->nr_full, 0);
	ck_assert_uint_eq(d->bound_kib, CONFIG_DEPOT_KIB);
	ck_assert_uint_eq(d->max_mags, mags);
	depot_reap(s, d);
	ck_assert_uint_eq(d->bound_kib, CONFIG_DEPOT_KIB);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * Through the API: a batch of many times the bound's objects, allocated
 * and freed in cycles, is held whole by the depot from the end of the
 * second cycle (the first may be a fill and a teardown), and from then
 * on no object of it goes back to a slab.  The bound doubles at every
 * overflow of that second burst of frees, not once per cycle.
 */
START_TEST(test_batch_cycles_stay_in_depot)
{
	struct kmem_cache *s = mk("depot-cycles");
	struct depot *d = s->depot[0];
	unsigned long n = 16 * d->max_mags * (unsigned long)d->capacity;
	void **p = calloc(n, sizeof(*p));
	unsigned long i;
	int cycle;

	ck_assert_ptr_nonnull(p);
	for (cycle = 0; cycle < 2; cycle++) {
		for (i = 0; i < n; i++) {
			p[i] = kmem_cache_alloc(s, GFP_KERNEL);
			ck_assert_ptr_nonnull(p[i]);
		}
		for (i = 0; i < n; i++)
			kmem_cache_free(s, p[i]);
	}
	ck_assert_uint_gt(d->bound_kib, CONFIG_DEPOT_KIB);
	ck_assert_uint_le(d->bound_kib, CONFIG_DEPOT_MAX_KIB);
	/* Every object of the batch is free, and none is in a slab. */
	ck_assert_uint_ge(node_active(s), n);
	free(p);
	kmem_cache_destroy(s);
}
END_TEST

/* The naive double free is caught at the top of the magazine too. */
START_TEST(test_double_free_at_magazine_top)
{
	struct kmem_cache *s = mk("mag-df");
	struct capture c;
	void *a = kmem_cache_alloc(s, GFP_KERNEL), *b;

	kmem_cache_free(s, a);
	capture_begin(&c);
	kmem_cache_free(s, a);
	capture_end(&c);
	ck_assert_reported(&c, "double free");
	ck_assert_uint_eq(s->bad_frees, 1);
	/* Handed out once, not twice. */
	ck_assert_ptr_eq(kmem_cache_alloc(s, GFP_KERNEL), a);
	b = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_ne(b, a);
	kmem_cache_free(s, a);
	kmem_cache_free(s, b);
	kmem_cache_destroy(s);
}
END_TEST

static Suite *depot_suite(void)
{
	Suite *s = suite_create("unit-depot");
	TCase *tc = tcase_create("depot");

	tcase_add_test(tc, test_exchanges);
	tcase_add_test(tc, test_reap_working_set);
	tcase_add_test(tc, test_adaptive_capacity);
	tcase_add_test(tc, test_capacity_by_size);
	tcase_add_test(tc, test_bulk_and_drain);
	tcase_add_test(tc, test_depot_bound);
	tcase_add_test(tc, test_depot_bound_adapts);
	tcase_add_test(tc, test_batch_cycles_stay_in_depot);
	tcase_add_test(tc, test_double_free_at_magazine_top);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(depot_suite());
}
