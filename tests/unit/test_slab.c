// SPDX-License-Identifier: MIT
/* White-box tests of lib/slab.c: layout, freelists, colouring, lists. */
#include "common.h"

#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

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

static int cmp_ptr(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	return x < y ? -1 : x > y;
}

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
			/*
			 * One slab, full; in address order (whatever order
			 * CONFIG_SLAB_FREELIST_RANDOM handed them out in),
			 * no object overlaps the next.
			 */
			ck_assert_int_eq(slab->slab_list, SL_FULL);
			qsort(objs, s->objects, sizeof(*objs), cmp_ptr);
			for (i = 0; i < s->objects; i++) {
				char *o = objs[i];

				ck_assert_ptr_eq(virt_to_slab(o), slab);
				/* Its own page's view, head or tail. */
				ck_assert_ptr_eq(slab_view_of(o)->cache, s);
				ck_assert_ptr_eq(view_s_mem(slab_view_of(o)),
						 slab->s_mem);
				ck_assert_int_eq(view_node(slab_view_of(o)),
						 slab_nid(slab));
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

	first = salloc(s);
	slab = virt_to_slab(first);
	n = s->node[slab_nid(slab)];
	ck_assert_int_eq(slab->slab_list, SL_PARTIAL);
	ck_assert_uint_eq(n->nr_partial, 1);
	ck_assert_uint_eq(slab->inuse, 1);

	/*
	 * A new slab has no freelist: every other slot is fresh, handed
	 * out in layout order without a byte of the slab written first.
	 */
	ck_assert_ptr_null(slab->freelist);
	ck_assert_uint_eq(slab->fresh, s->objects - 1);
	if (!sanitize_on) /* the free slots are off limits there */
		for (i = 0; i < s->objects; i++)
			if (slab->s_mem + (unsigned long)i * s->size != first)
				memset(slab->s_mem + (unsigned long)i * s->size,
				       0xa5, s->size);

	/* Fill it: partial -> full; free one: full -> partial. */
	objs = malloc(s->objects * sizeof(*objs));
	objs[0] = first;
	for (i = 1; i < s->objects; i++) {
		unsigned long off, k;

		objs[i] = salloc(s);
		ck_assert_ptr_eq(virt_to_slab(objs[i]), slab);
		off = (unsigned long)((char *)objs[i] - slab->s_mem);
		ck_assert_uint_eq(off % s->size, 0);
		ck_assert_uint_lt(obj_index(s, off), s->objects);
		for (k = 0; k < i; k++) /* each slot once */
			ck_assert_ptr_ne(objs[k], objs[i]);
		for (k = 0; !sanitize_on && k < s->size; k++)
			ck_assert_uint_eq(((unsigned char *)objs[i])[k], 0xa5);
		walked++;
	}
	ck_assert_uint_eq(walked, s->objects - 1);
	ck_assert_uint_eq(slab->fresh, 0);
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
	/*
	 * Emptied, it forgets its freelist: every slot is fresh again and
	 * is handed out in layout order, no free pointer read.
	 */
	ck_assert_ptr_null(slab->freelist);
	ck_assert_uint_eq(slab->fresh, s->objects);
	ck_assert_ptr_eq(salloc(s), first);
	ck_assert_uint_eq(slab->fresh, s->objects - 1);
	sfree(s, first);
	/* A free into the empty slab is a double free, refused. */
	sfree(s, objs[5]);
	ck_assert_uint_eq(s->bad_frees, 1);
	ck_assert_uint_eq(slab->inuse, 0);
	ck_assert_uint_eq(n->active_objects, 0);
	free(objs);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * A slab whose slots had to be written at layout (a constructor) keeps
 * its freelist when it empties: its slots are never handed out unwritten.
 */
START_TEST(test_emptied_ctor_slab_keeps_freelist)
{
	struct kmem_cache *s =
		kmem_cache_create("freelist-ctor", 96, 0, 0, noop_ctor);
	void *a = salloc(s), *b = salloc(s);
	struct slab *slab = virt_to_slab(a);

	ck_assert_ptr_eq(virt_to_slab(b), slab);
	ck_assert_uint_eq(slab->fresh, 0);
	sfree(s, a);
	sfree(s, b);
	ck_assert_int_eq(slab->slab_list, SL_FREE);
	ck_assert_ptr_eq(slab->freelist, b);
	ck_assert_uint_eq(slab->fresh, 0);
	ck_assert_ptr_eq(salloc(s), b);
	sfree(s, b);
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

/* ---- Hardening: CONFIG_SLAB_FREELIST_HARDENED and _RANDOM ------------- */

/* The stored word, as a write after free would see and change it. */
static void **fp_word(struct kmem_cache *s, void *obj)
{
	return (void **)((char *)obj + s->offset);
}

START_TEST(test_freelist_stored_encoded)
{
	struct kmem_cache *a = kmem_cache_create("enc-a", 64, 0, 0, NULL);
	struct kmem_cache *b = kmem_cache_create("enc-b", 64, 0, 0, NULL);
	void *first = salloc(a), *second = salloc(a), *third = salloc(a);
	struct slab *slab = virt_to_slab(first);
	char *fp, *next;

	/*
	 * Two objects given back: a freelist of two (the third keeps the
	 * slab in use; an emptied slab forgets its freelist).
	 */
	ck_assert_ptr_eq(virt_to_slab(third), slab);
	sfree(a, second);
	sfree(a, first);
	fp = slab->freelist;
	next = get_freepointer(a, fp);
	ck_assert_ptr_eq(fp, first);
	ck_assert_ptr_eq(next, second);

	if (!IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED)) {
		ck_assert_ptr_eq(*fp_word(a, fp), next);
	} else {
		/* Not the pointer itself, and another key per cache. */
		ck_assert_ptr_nonnull(next);
		ck_assert_ptr_ne(*fp_word(a, fp), next);
		ck_assert_uint_ne(a->random, b->random);
		/* Encoding is its own inverse: set then get gives it back. */
		set_freepointer(a, fp, next);
		ck_assert_ptr_eq(get_freepointer(a, fp), next);
	}
	sfree(a, third);
	kmem_cache_destroy(a);
	kmem_cache_destroy(b);
}
END_TEST

enum fp_damage {
	DMG_FLIP_LOW, /* one bit of the stored word: a misaligned slot */
	DMG_FLIP_HIGH, /* a high bit: far outside the slab */
	DMG_PLAIN, /* a valid slot's address written in the clear */
	DMG_MID_SLOT, /* encoded, but into the middle of a slot */
	DMG_OTHER_SLAB, /* encoded, but a slot of another slab */
	DMG_ZERO, /* the word cleared */
	DMG_PAST_END, /* encoded, the slot after the slab's last */
	DMG_BELOW, /* encoded, one slot below the slab's first */
	DMG_NR
};

/*
 * Damage the free pointer of the next object a slab hands out; taking
 * that object must report it, take the slab out of use and hand out the
 * (valid) object, and the next allocation must come from another slab.
 */
static void check_fp_damage(enum fp_damage how)
{
	struct kmem_cache *s = kmem_cache_create("harden", 64, 0, 0, NULL);
	struct kmem_cache_node *n = s->node[0];
	void *first = salloc(s), *victim, *got, *other, *again;
	struct slab *slab = virt_to_slab(first), *oslab;
	struct capture c;

	other = slab_alloc(s, 0, 0, NULL);
	/* A second slab for DMG_OTHER_SLAB: fill the first. */
	while (virt_to_slab(other) == slab)
		other = salloc(s);
	oslab = virt_to_slab(other);
	/* Free back all but @first, so @slab is partial again. */
	while (slab->inuse > 1) {
		/* The freelist is full of holes: free a slot in use. */
		unsigned int i;

		for (i = 0; i < slab->objects; i++) {
			char *o = slab->s_mem + (unsigned long)i * s->size;
			char *fp;
			bool free_now = true;

			if (o == first)
				continue;
			for (fp = slab->freelist; fp;
			     fp = get_freepointer(s, fp))
				if (fp == o)
					free_now = false;
			if (free_now)
				sfree(s, o);
		}
	}
	victim = slab->freelist;
	ck_assert_ptr_nonnull(victim);
	switch (how) {
	case DMG_FLIP_LOW:
		*(uintptr_t *)fp_word(s, victim) ^= 8;
		break;
	case DMG_FLIP_HIGH:
		*(uintptr_t *)fp_word(s, victim) ^= 1UL << 45;
		break;
	case DMG_PLAIN:
		*fp_word(s, victim) = get_freepointer(s, victim);
		break;
	case DMG_MID_SLOT:
		set_freepointer(s, victim, (char *)first + 8);
		break;
	case DMG_OTHER_SLAB:
		set_freepointer(s, victim, (char *)oslab->s_mem);
		break;
	case DMG_PAST_END:
		set_freepointer(s, victim,
				slab->s_mem +
					(unsigned long)slab->objects * s->size);
		break;
	case DMG_BELOW:
		set_freepointer(s, victim, slab->s_mem - s->size);
		break;
	default:
		*fp_word(s, victim) = NULL;
		break;
	}

	capture_begin(&c);
	got = salloc(s);
	capture_end(&c);
	ck_assert_ptr_eq(got, victim);
	if (!IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED)) {
		kmem_cache_destroy(s);
		return; /* nothing checks: the test only runs hardened */
	}
	ck_assert_reported(&c, "BUG harden (uslab): Freepointer corrupt");
	ck_assert_reported(&c, "taken out of use");
	ck_assert_int_eq(slab->corrupt, 1);
	ck_assert_int_eq(slab->slab_list, SL_FULL);
	ck_assert_ptr_null(slab->freelist);
	ck_assert_uint_eq(slab->inuse, slab->objects);

	/* Nothing more comes from it, and frees into it are dropped. */
	again = salloc(s);
	ck_assert_ptr_ne(virt_to_slab(again), slab);
	sfree(s, got);
	sfree(s, first);
	ck_assert_int_eq(slab->slab_list, SL_FULL);
	ck_assert_ptr_null(slab->freelist);
	ck_assert_uint_ge(n->active_objects, slab->objects);
	sfree(s, again);
	sfree(s, other);

	/* The cache cannot be destroyed under it: it is reported leaked. */
	capture_begin(&c);
	kmem_cache_destroy(s);
	capture_end(&c);
	ck_assert_reported(&c, "still allocated; cache leaked");
}

START_TEST(test_freelist_corruption_caught)
{
	/* _i: one damage per run (tcase_add_loop_test). */
	check_fp_damage((enum fp_damage)_i);
}
END_TEST

/* A healthy freelist, taken end to end, reports nothing. */
START_TEST(test_freelist_hardened_clean)
{
	struct kmem_cache *s = kmem_cache_create("clean", 24, 0, 0, NULL);
	unsigned int i, nr = s->objects * 4;
	void **objs = malloc(nr * sizeof(*objs));
	struct capture c;

	capture_begin(&c);
	for (i = 0; i < nr; i++)
		objs[i] = salloc(s);
	for (i = 0; i < nr; i++)
		sfree(s, objs[i]);
	for (i = 0; i < nr; i++)
		objs[i] = salloc(s);
	for (i = 0; i < nr; i++)
		sfree(s, objs[i]);
	capture_end(&c);
	ck_assert_str_eq(c.text, "");
	free(objs);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * A new slab hands out each of its slots exactly once, and, with
 * CONFIG_SLAB_FREELIST_RANDOM, not in address order: a random order of
 * 64 slots has about one adjacent successor on average.
 */
START_TEST(test_new_slab_random_order)
{
	struct kmem_cache *s = kmem_cache_create("shuffle", 64, 0, 0, NULL);
	unsigned int i, adjacent = 0, nr = s->objects;
	char **objs = malloc(nr * sizeof(*objs));
	bool *seen = calloc(nr, sizeof(*seen));
	struct slab *slab;

	ck_assert_uint_eq(nr, 64);
	for (i = 0; i < nr; i++)
		objs[i] = salloc(s);
	slab = virt_to_slab(objs[0]);
	for (i = 0; i < nr; i++) {
		unsigned long off = (unsigned long)(objs[i] - slab->s_mem);

		ck_assert_ptr_eq(virt_to_slab(objs[i]), slab);
		ck_assert_uint_eq(off % s->size, 0);
		ck_assert_uint_lt(off / s->size, nr);
		ck_assert(!seen[off / s->size]);
		seen[off / s->size] = true;
		if (i && objs[i] == objs[i - 1] + s->size)
			adjacent++;
	}
	if (IS_ENABLED(CONFIG_SLAB_FREELIST_RANDOM)) {
		ck_assert_uint_lt(adjacent, 16);
		/* The first four are not four neighbours. */
		ck_assert(!(objs[1] == objs[0] + s->size &&
			    objs[2] == objs[1] + s->size &&
			    objs[3] == objs[2] + s->size));
	} else {
		ck_assert_uint_eq(adjacent, nr - 1);
	}
	for (i = 0; i < nr; i++)
		sfree(s, objs[i]);
	free(seen);
	free(objs);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * The views of a slab's pages (slab_view_of()) name its cache exactly
 * as long as the slab lives: once it is released, a pointer into any of
 * its pages finds no cache, and a free of it is refused.
 */
START_TEST(test_tail_views_cleared)
{
	struct kmem_cache *s = kmem_cache_create("tails", 1000, 0, 0, NULL);
	struct capture c;
	struct slab *slab;
	char *last = NULL;
	void **objs;
	unsigned int i;

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_ge(s->order, 1);
	objs = malloc(s->objects * sizeof(*objs));
	for (i = 0; i < s->objects; i++) {
		objs[i] = salloc(s);
		if (!last || (char *)objs[i] > last)
			last = objs[i];
	}
	slab = virt_to_slab(last);
	ck_assert_ptr_ne(slab_view_of(last), page_view(slab_page(slab)));
	ck_assert_ptr_eq(slab_view_of(last)->cache, s); /* a tail's */
	ck_assert_ptr_eq(page_view(slab_page(slab))->cache, s);
	for (i = 0; i < s->objects; i++)
		sfree(s, objs[i]);
	free(objs);
	uslab_cache_set_min_partial(s, 0);
	kmem_cache_shrink(s);
	ck_assert_ptr_null(READ_ONCE(slab_view_of(last)->cache));
	ck_assert_ptr_null(READ_ONCE(page_view(slab_page(slab))->cache));
	ck_assert_ptr_null(READ_ONCE(slab->cache));
	capture_begin(&c);
	kmem_cache_free(s, last);
	kfree(last);
	capture_end(&c);
	ck_assert_int_eq(c.lines, 2);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * The block function: RFC 8439's appendix A.1 vectors 1 and 2 (a zero
 * key, blocks 0 and 1), the first 16 bytes of each.
 */
START_TEST(test_chacha20_vectors)
{
	static const unsigned char want[2][16] = {
		{ 0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d,
		  0x6a, 0xe5, 0x53, 0x86, 0xbd, 0x28 },
		{ 0x9f, 0x07, 0xe7, 0xbe, 0x55, 0x51, 0x38, 0x7a, 0x98, 0xba,
		  0x97, 0x7c, 0x73, 0x2d, 0x08, 0x0d },
	};
	uint32_t key[8] = { 0 }, out[16];
	unsigned char bytes[16];
	int i, w;

	for (i = 0; i < 2; i++) {
		uslab_chacha20_block(key, (uint64_t)i, out);
		for (w = 0; w < 4; w++) /* little-endian words */
			for (int b = 0; b < 4; b++)
				bytes[w * 4 + b] =
					(unsigned char)(out[w] >> (8 * b));
		ck_assert_mem_eq(bytes, want[i], 16);
	}
}
END_TEST

#define NR_SECRET_CACHES 40

/*
 * Every cache's hardening secret and shuffle come from one key per
 * process: creating many caches draws no new key, and every secret is
 * non-zero and its own.
 */
START_TEST(test_secrets_one_key)
{
	struct kmem_cache *c[NR_SECRET_CACHES];
	unsigned long before;
	char name[32];
	int i, j;

	kmem_cache_destroy(kmem_cache_create("key-first", 64, 0, 0, NULL));
	before = uslab_rng_reseeds;
	ck_assert_uint_ge(before, 1);
	for (i = 0; i < NR_SECRET_CACHES; i++) {
		snprintf(name, sizeof(name), "key-%d", i);
		c[i] = kmem_cache_create(name, 64, 0, 0, NULL);
		ck_assert_ptr_nonnull(c[i]);
	}
	ck_assert_uint_eq(uslab_rng_reseeds, before);
	for (i = 0; i < NR_SECRET_CACHES; i++) {
		if (IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED))
			ck_assert_uint_ne(c[i]->random, 0);
		for (j = 0; j < i; j++) {
			if (IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED))
				ck_assert_uint_ne(c[i]->random, c[j]->random);
			/* 64 slots of 64 bytes or more: 64! orders. */
			if (IS_ENABLED(CONFIG_SLAB_FREELIST_RANDOM))
				ck_assert(memcmp(
					c[i]->random_seq, c[j]->random_seq,
					c[i]->objects * sizeof(unsigned int)));
		}
	}
	for (i = 0; i < NR_SECRET_CACHES; i++)
		kmem_cache_destroy(c[i]);
}
END_TEST

/*
 * A forked child draws a key of its own: its next cache's secret is not
 * the one its parent's next cache gets from the same point of the
 * parent's key stream.
 */
START_TEST(test_secrets_fork_rekeys)
{
	struct kmem_cache *s;
	unsigned long theirs = 0, ours;
	int fds[2], status;
	pid_t pid;

	if (!IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED))
		return;
	kmem_cache_destroy(kmem_cache_create("fork-first", 64, 0, 0, NULL));
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		unsigned long reseeds = uslab_rng_reseeds;

		s = kmem_cache_create("fork-child", 64, 0, 0, NULL);
		ours = s ? s->random : 0;
		/* One new key in the child, for its first request. */
		if (uslab_rng_reseeds != reseeds + 1)
			ours = 0;
		_exit(write(fds[1], &ours, sizeof(ours)) == sizeof(ours) ? 0 :
									   1);
	}
	s = kmem_cache_create("fork-parent", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(read(fds[0], &theirs, sizeof(theirs)), sizeof(theirs));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_ne(theirs, 0);
	ck_assert_uint_ne(theirs, s->random);
	close(fds[0]);
	close(fds[1]);
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
	tcase_add_test(tc, test_emptied_ctor_slab_keeps_freelist);
	tcase_add_test(tc, test_min_partial_bound);
	tcase_add_test(tc, test_colouring);
	tcase_add_test(tc, test_tail_views_cleared);
	suite_add_tcase(s, tc);

	tc = tcase_create("hardening");
	tcase_add_test(tc, test_freelist_stored_encoded);
	tcase_add_loop_test(tc, test_freelist_corruption_caught, 0, DMG_NR);
	tcase_add_test(tc, test_freelist_hardened_clean);
	tcase_add_test(tc, test_new_slab_random_order);
	tcase_add_test(tc, test_chacha20_vectors);
	tcase_add_test(tc, test_secrets_one_key);
	tcase_add_test(tc, test_secrets_fork_rekeys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(slab_suite());
}
