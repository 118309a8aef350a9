// SPDX-License-Identifier: MIT
/* White-box tests of lib/slab.c: layout, freelists, colouring, lists. */
#include "common.h"

#include <stdint.h>

#include "internal.h"

static void noop_ctor(void *p)
{
	(void)p;
}

/* The layout rules, for every size 1..4096 under each flag set. */
static void check_layout(unsigned int size, unsigned int align,
			 slab_flags_t flags, bool ctor)
{
	struct kmem_cache s;
	unsigned long waste;

	memset(&s, 0, sizeof(s));
	s.object_size = size;
	s.align = align;
	s.flags = flags;
	s.ctor = ctor ? noop_ctor : NULL;
	slab_calculate_sizes(&s);

	ck_assert(IS_POWER_OF_2(s.align));
	ck_assert_uint_ge(s.align, MAX(align, MIN_OBJ_ALIGN));
	if (flags & SLAB_HWCACHE_ALIGN) {
		unsigned int a = CACHE_LINE_SIZE;

		while (size <= a / 2 && a > MIN_OBJ_ALIGN)
			a /= 2;
		ck_assert_uint_ge(s.align, a);
	}
	ck_assert_uint_eq(s.size % s.align, 0);
	ck_assert_uint_ge(s.size, size);
	ck_assert_uint_le(s.offset + sizeof(void *), s.size);
	if (ctor || (flags & (SLAB_POISON | SLAB_RED_ZONE)))
		/* The free pointer must not touch the object's bytes. */
		ck_assert_uint_ge(s.offset, size);
	else
		ck_assert_uint_le(s.offset + sizeof(void *),
				  ALIGN(size, sizeof(void *)));
	ck_assert_uint_ge(s.objects, 1);
	ck_assert_uint_le((unsigned long)s.objects * s.size, slab_bytes(&s));
	waste = slab_bytes(&s) - (unsigned long)s.objects * s.size;
	/*
	 * At most 1/32 of a slab for objects up to a page; big objects fit
	 * a 2 MiB slab only so many times, and there 1/8 is the bound.
	 */
	ck_assert_msg(waste * (size <= 4096 ? 32 : 8) <= slab_bytes(&s),
		      "size %u: %lu bytes of %lu wasted", size, waste,
		      slab_bytes(&s));
	ck_assert_uint_ge(s.colours, 1);
	ck_assert_uint_le((unsigned long)(s.colours - 1) * s.colour_off, waste);
}

/*
 * The slab layer itself, under the magazines: these tests look at slab
 * lists and freelists, which kmem_cache_alloc() reaches only in batches.
 */
static void *salloc(struct kmem_cache *s)
{
	return slab_alloc(s, 0, 0, NULL);
}

static void sfree(struct kmem_cache *s, void *obj)
{
	slab_free(s, virt_to_slab(obj), obj, NULL);
}

START_TEST(test_layout_all_sizes)
{
	unsigned int size;

	for (size = 1; size <= 4096; size++) {
		check_layout(size, 0, 0, false);
		check_layout(size, 0, SLAB_HWCACHE_ALIGN, false);
		check_layout(size, 0, 0, true);
		check_layout(size, 16, SLAB_RED_ZONE | SLAB_STORE_USER, false);
		check_layout(size, 256, 0, false);
	}
	for (size = 4096; size <= KMEM_CACHE_MAX_SIZE; size += 4093)
		check_layout(size, 0, 0, false);
	check_layout(KMEM_CACHE_MAX_SIZE, 0, 0, true);
}
END_TEST

START_TEST(test_obj_index_exact)
{
	struct kmem_cache s;
	unsigned int size, i;

	for (size = 8; size <= KMEM_CACHE_MAX_SIZE + 64; size += 8) {
		memset(&s, 0, sizeof(s));
		s.object_size = size;
		slab_calculate_sizes(&s);
		for (i = 0; i < s.objects; i += 1 + s.objects / 7) {
			unsigned long off = (unsigned long)i * s.size;

			ck_assert_uint_eq(obj_index(&s, off), i);
			ck_assert_uint_eq(obj_index(&s, off + s.size - 1), i);
			if (i)
				ck_assert_uint_eq(obj_index(&s, off - 1),
						  i - 1);
		}
	}
}
END_TEST

/*
 * obj_slot_index(), kmem_cache_free()'s one-multiply check: a slot's
 * offset gives its index, and any other offset (inside an object, past
 * the last one, before the first) gives a number no slab reaches.
 */
static void check_slot_index(const struct kmem_cache *s, unsigned long off)
{
	unsigned long idx = obj_slot_index(s, off);

	if (off % s->size == 0 && off / s->size < s->objects)
		ck_assert_uint_eq(idx, off / s->size);
	else
		ck_assert_msg(idx >= s->objects,
			      "size %u: offset %ld gave slot %lu of %u",
			      s->size, (long)off, idx, s->objects);
}

START_TEST(test_obj_slot_index)
{
	struct kmem_cache s;
	unsigned long off, end;
	unsigned int size, i;

	for (size = 8; size <= KMEM_CACHE_MAX_SIZE + 64; size += 8) {
		memset(&s, 0, sizeof(s));
		s.object_size = size;
		slab_calculate_sizes(&s);
		end = (unsigned long)s.objects * s.size;
		if (s.size <= 512) {
			/* Every offset of the slab, and a slot either side. */
			for (off = -(unsigned long)s.size; off != end + s.size;
			     off++)
				check_slot_index(&s, off);
			continue;
		}
		for (i = 0; i <= s.objects; i += 1 + s.objects / 11) {
			off = (unsigned long)i * s.size;
			check_slot_index(&s, off);
			check_slot_index(&s, off + 1);
			check_slot_index(&s, off + 8);
			check_slot_index(&s, off + s.size / 2);
			check_slot_index(&s, off - 1);
			check_slot_index(&s, off - 8);
		}
		check_slot_index(&s, end);
		check_slot_index(&s, end - s.size);
		check_slot_index(&s, -(unsigned long)s.size);
		check_slot_index(&s, 1UL << 63);
	}
}
END_TEST

/* Real slabs: objects aligned, inside the slab, never overlapping. */
START_TEST(test_objects_in_real_slabs)
{
	static const slab_flags_t flag_sets[] = { 0, SLAB_HWCACHE_ALIGN };
	unsigned int size, f, i;
	char name[32];

	for (f = 0; f < 2; f++) {
		for (size = 1; size <= 4096; size += (size < 300 ? 1 : 61)) {
			struct kmem_cache *s;
			struct slab *slab;
			char *prev_end = NULL, *base;
			void **objs;

			snprintf(name, sizeof(name), "layout-%u", size);
			s = kmem_cache_create(name, size, 0, flag_sets[f],
					      NULL);
			ck_assert_ptr_nonnull(s);
			objs = malloc(s->objects * sizeof(*objs));
			for (i = 0; i < s->objects; i++)
				objs[i] = salloc(s);
			slab = virt_to_slab(objs[0]);
			base = page_address(slab_page(slab));
			/* One slab, full, objects in address order. */
			ck_assert_int_eq(slab->slab_list, SL_FULL);
			for (i = 0; i < s->objects; i++) {
				char *o = objs[i];

				ck_assert_ptr_eq(virt_to_slab(o), slab);
				ck_assert_uint_eq((uintptr_t)o % s->align, 0);
				ck_assert(o >= base);
				ck_assert(o + s->size <= base + slab_bytes(s));
				if (prev_end)
					ck_assert(o >= prev_end);
				prev_end = o + size;
				memset(o, 0xee, size);
			}
			for (i = 0; i < s->objects; i++)
				sfree(s, objs[i]);
			free(objs);
			kmem_cache_destroy(s);
		}
	}
}
END_TEST

START_TEST(test_freelist_and_lists)
{
	struct kmem_cache *s = kmem_cache_create("freelist", 96, 0, 0, NULL);
	struct kmem_cache_node *n;
	struct slab *slab;
	void *first, **objs;
	unsigned int i, walked = 0;
	char *fp;

	first = salloc(s);
	slab = virt_to_slab(first);
	n = s->node[slab_nid(slab)];
	ck_assert_int_eq(slab->slab_list, SL_PARTIAL);
	ck_assert_uint_eq(n->nr_partial, 1);
	ck_assert_uint_eq(slab->inuse, 1);

	/* The freelist of a fresh slab holds every other slot exactly once. */
	for (fp = slab->freelist; fp; fp = get_freepointer(s, fp)) {
		unsigned long off = (unsigned long)(fp - slab->s_mem);

		ck_assert_uint_eq(off % s->size, 0);
		ck_assert_ptr_ne(fp, first);
		ck_assert_uint_lt(obj_index(s, off), s->objects);
		walked++;
		ck_assert_uint_le(walked, s->objects);
	}
	ck_assert_uint_eq(walked, s->objects - 1);

	/* Fill it: partial -> full; free one: full -> partial. */
	objs = malloc(s->objects * sizeof(*objs));
	objs[0] = first;
	for (i = 1; i < s->objects; i++) {
		objs[i] = salloc(s);
		ck_assert_ptr_eq(virt_to_slab(objs[i]), slab);
	}
	ck_assert_int_eq(slab->slab_list, SL_FULL);
	ck_assert_ptr_null(slab->freelist);
	sfree(s, objs[3]);
	ck_assert_int_eq(slab->slab_list, SL_PARTIAL);
	ck_assert_ptr_eq(slab->freelist, objs[3]);
	/* LIFO: the object just freed is the next one handed out. */
	ck_assert_ptr_eq(salloc(s), objs[3]);
	for (i = 0; i < s->objects; i++)
		sfree(s, objs[i]);
	ck_assert_int_eq(slab->slab_list, SL_FREE); /* kept for reuse */
	ck_assert_uint_eq(n->nr_free, 1);
	ck_assert_uint_eq(n->active_objects, 0);
	free(objs);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_min_partial_bound)
{
	struct kmem_cache *s =
		kmem_cache_create("minpartial", 1024, 0, 0, NULL);
	unsigned int total = s->objects * (s->min_partial + 5), i;
	struct kmem_cache_node *n = s->node[0];
	void **objs = malloc(total * sizeof(*objs));

	for (i = 0; i < total; i++)
		objs[i] = salloc(s);
	ck_assert_uint_eq(n->nr_full, s->min_partial + 5);
	for (i = 0; i < total; i++)
		sfree(s, objs[i]);
	/* Empty slabs wait for the reaper: no madvise() on a burst. */
	ck_assert_uint_eq(n->nr_free, s->min_partial + 5);
	ck_assert_uint_eq(n->slabs_released, 0);
	/* Two passes: the first sets the low mark, the second releases. */
	slab_reap_node(s, 0);
	ck_assert_uint_eq(n->nr_free, s->min_partial + 5);
	slab_reap_node(s, 0);
	/* min_partial of them are kept, the rest went back. */
	ck_assert_uint_eq(n->nr_free, s->min_partial);
	ck_assert_uint_eq(n->slabs_released, 5);
	ck_assert_uint_eq(n->total_objects,
			  (unsigned long)s->min_partial * s->objects);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(n->nr_free, 0);
	ck_assert_uint_eq(n->total_objects, 0);
	free(objs);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_colouring)
{
	/* 200-byte slots leave 96 bytes per 4 KiB slab: two colours. */
	struct kmem_cache *s = kmem_cache_create("colour", 200, 0, 0, NULL);
	unsigned int i, seen[2] = { 0, 0 };
	void **objs;

	ck_assert_uint_eq(s->colours, 2);
	objs = malloc(s->objects * 8 * sizeof(*objs));
	for (i = 0; i < s->objects * 8; i++)
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (i = 0; i < s->objects * 8; i += s->objects) {
		struct slab *slab = virt_to_slab(objs[i]);
		char *base = page_address(slab_page(slab));
		unsigned long c =
			(unsigned long)(slab->s_mem - base) / s->colour_off;

		ck_assert_uint_lt(c, 2);
		seen[c]++;
	}
	ck_assert_uint_gt(seen[0], 0);
	ck_assert_uint_gt(seen[1], 0);
	for (i = 0; i < s->objects * 8; i++)
		kmem_cache_free(s, objs[i]);
	free(objs);
	kmem_cache_destroy(s);
}
END_TEST

static Suite *slab_suite(void)
{
	Suite *s = suite_create("unit-slab");
	TCase *tc = tcase_create("slab");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_layout_all_sizes);
	tcase_add_test(tc, test_obj_index_exact);
	tcase_add_test(tc, test_obj_slot_index);
	tcase_add_test(tc, test_objects_in_real_slabs);
	tcase_add_test(tc, test_freelist_and_lists);
	tcase_add_test(tc, test_min_partial_bound);
	tcase_add_test(tc, test_colouring);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(slab_suite());
}
