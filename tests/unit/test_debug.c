// SPDX-License-Identifier: MIT
/*
 * White-box tests of lib/debug.c: each check is provoked on purpose (as
 * the kernel's slub_kunit does) and the report is asserted.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

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

/* ---- The kernel's SLUB KUnit corruption cases (slub_kunit.c) ---------- */

/*
 * The kernel's test writes one corruption into a 64-byte object of a
 * cache named as below and expects validate_slab_cache() to report it.
 * Here the same corruptions are found where uslab checks: at the next
 * free (an allocated object) or the next allocation of the object (a
 * free one, handed out again first: a debug cache's freelist is last
 * in, first out).  Each must be reported, mended where it can be, and
 * leave the cache usable: no crash, no second report.
 */

/* How many "BUG <cache>" reports @c holds. */
static int nr_bugs(const struct capture *c)
{
	const char *p = c->text;
	int n = 0;

	while ((p = strstr(p, "BUG ")) != NULL) {
		n++;
		p += 4;
	}
	return n;
}

/* @s keeps working: a round of allocations and frees reports nothing. */
static void ck_assert_cache_usable(struct kmem_cache *s)
{
	void *p[40];
	struct capture c;
	int i;

	capture_begin(&c);
	for (i = 0; i < 40; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], 0x5a, kmem_cache_size(s));
	}
	for (i = 0; i < 40; i++)
		kmem_cache_free(s, p[i]);
	capture_end(&c);
	ck_assert_str_eq(c.text, "");
}

/* test_clobber_zone: the red zone of an allocated object. */
START_TEST(test_kunit_clobber_zone)
{
	struct kmem_cache *s = kmem_cache_create("TestSlub_RZ_alloc", 64, 0,
						 SLAB_RED_ZONE, NULL);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL);
	struct capture c;

	p[64] = 0x12;
	capture_begin(&c);
	kmem_cache_free(s, p);
	capture_end(&c);
	ck_assert_int_eq(nr_bugs(&c), 1);
	ck_assert_reported(&c, "BUG TestSlub_RZ_alloc (uslab): Redzone "
			       "overwritten");
	ck_assert_reported(&c, "@offset=64. First byte 0x12 instead of 0xcc");
	ck_assert_uint_eq(p[64], RED_INACTIVE); /* mended, and freed */
	ck_assert_cache_usable(s);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * test_next_pointer: the stored free pointer of a free object, one byte
 * of it inverted.  With the consistency checks, the freelist walk of the
 * next free in that slab finds it and refuses to extend the chain; with
 * the hardened freelist (on by default), handing the object out finds
 * the pointer leading nowhere and takes the slab out of use instead of
 * following it.
 */
START_TEST(test_kunit_next_pointer)
{
	struct kmem_cache *s =
		kmem_cache_create("TestSlub_next_ptr_free", 64, 0,
				  SLAB_POISON | SLAB_CONSISTENCY_CHECKS, NULL);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL);
	unsigned char *q = kmem_cache_alloc(s, GFP_KERNEL);
	unsigned long saved;
	struct capture c;

	kmem_cache_free(s, p);
	memcpy(&saved, p + s->offset, sizeof(saved));
	p[s->offset] = (unsigned char)~p[s->offset];
	capture_begin(&c);
	kmem_cache_free(s, q);
	capture_end(&c);
	ck_assert_int_eq(nr_bugs(&c), 1);
	ck_assert_reported(&c, "BUG TestSlub_next_ptr_free (uslab): "
			       "Freechain corrupt");
	ck_assert_reported(&c, "not freed");
	/* Put the pointer back: the chain is whole again, q can go. */
	memcpy(p + s->offset, &saved, sizeof(saved));
	capture_begin(&c);
	kmem_cache_free(s, q);
	capture_end(&c);
	ck_assert_str_eq(c.text, "");
	ck_assert_cache_usable(s);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_kunit_next_pointer_hardened)
{
	struct kmem_cache *s = kmem_cache_create("TestSlub_next_ptr_free", 64,
						 0, SLAB_POISON, NULL);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL), *again;
	struct capture c;

	if (!IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED)) {
		/* Nothing would check it: the next allocation follows it. */
		kmem_cache_free(s, p);
		kmem_cache_destroy(s);
		return;
	}
	kmem_cache_free(s, p);
	p[s->offset] = (unsigned char)~p[s->offset];
	capture_begin(&c);
	again = kmem_cache_alloc(s, GFP_KERNEL);
	capture_end(&c);
	ck_assert_ptr_eq(again, p);
	ck_assert_int_eq(nr_bugs(&c), 1);
	ck_assert_reported(&c, "BUG TestSlub_next_ptr_free (uslab): "
			       "Freepointer corrupt");
	ck_assert_reported(&c, "taken out of use");
	/* The object is fine; the cache goes on in other slabs. */
	ck_assert_cache_usable(s);
	kmem_cache_free(s, again);
	/* The slab's lost objects keep the cache from being destroyed. */
	capture_begin(&c);
	kmem_cache_destroy(s);
	capture_end(&c);
	ck_assert_reported(&c, "still allocated; cache leaked");
}
END_TEST

/*
 * A free object's poison damaged at @off with @val (test_first_word:
 * offset 0, 0x78; test_clobber_50th_byte: offset 50, 0x9a): reported
 * when the object is handed out again, mended, and handed out.
 */
static void kunit_poison_case(const char *name, unsigned int off,
			      unsigned char val)
{
	struct kmem_cache *s =
		kmem_cache_create(name, 64, 0, SLAB_POISON, NULL);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL), *again;
	char want[64];
	struct capture c;
	unsigned int i;

	kmem_cache_free(s, p);
	p[off] = val;
	capture_begin(&c);
	again = kmem_cache_alloc(s, GFP_KERNEL);
	capture_end(&c);
	ck_assert_ptr_eq(again, p);
	ck_assert_int_eq(nr_bugs(&c), 1);
	snprintf(want, sizeof(want), "BUG %s (uslab): Poison overwritten",
		 name);
	ck_assert_reported(&c, want);
	snprintf(want, sizeof(want),
		 "@offset=%u. First byte 0x%x instead of "
		 "0x6b",
		 off, val);
	ck_assert_reported(&c, want);
	for (i = 0; i < 63; i++)
		ck_assert_uint_eq(p[i], POISON_FREE); /* mended */
	kmem_cache_free(s, again);
	ck_assert_cache_usable(s);
	kmem_cache_destroy(s);
}

START_TEST(test_kunit_first_word)
{
	kunit_poison_case("TestSlub_1th_word_free", 0, 0x78);
}
END_TEST

START_TEST(test_kunit_clobber_50th_byte)
{
	kunit_poison_case("TestSlub_50th_word_free", 50, 0x9a);
}
END_TEST

/* test_clobber_redzone_free: the red zone of a free object. */
START_TEST(test_kunit_clobber_redzone_free)
{
	struct kmem_cache *s = kmem_cache_create("TestSlub_RZ_free", 64, 0,
						 SLAB_RED_ZONE, NULL);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL), *again;
	struct capture c;

	kmem_cache_free(s, p);
	ck_assert_uint_eq(p[64], RED_INACTIVE);
	p[64] = 0xab;
	capture_begin(&c);
	again = kmem_cache_alloc(s, GFP_KERNEL);
	capture_end(&c);
	ck_assert_ptr_eq(again, p);
	ck_assert_int_eq(nr_bugs(&c), 1);
	ck_assert_reported(&c, "BUG TestSlub_RZ_free (uslab): Redzone "
			       "overwritten");
	ck_assert_reported(&c, "@offset=64. First byte 0xab instead of 0xbb");
	ck_assert_uint_eq(p[64], RED_ACTIVE); /* allocated again */
	capture_begin(&c);
	kmem_cache_free(s, again);
	capture_end(&c);
	ck_assert_str_eq(c.text, "");
	ck_assert_cache_usable(s);
	kmem_cache_destroy(s);
}
END_TEST

/* ---- uslab_cache_validate() --------------------------------------------- */

/* uslab_cache_validate(@s), its report in @c. */
static int validate(struct kmem_cache *s, struct capture *c)
{
	int r;

	capture_begin(c);
	r = uslab_cache_validate(s);
	capture_end(c);
	return r;
}

/* A clean cache of each kind, busy or idle, validates without a word. */
START_TEST(test_validate_clean)
{
	static const slab_flags_t flags[] = { 0, SLAB_DEBUG_FLAGS,
					      SLAB_RED_ZONE | SLAB_POISON,
					      SLAB_TYPESAFE_BY_RCU };
	struct capture c;
	void *p[500];
	size_t f;
	int i;

	for (f = 0; f < ARRAY_SIZE(flags); f++) {
		struct kmem_cache *s =
			kmem_cache_create("valid", 72, 0, flags[f], NULL);

		ck_assert_int_eq(validate(s, &c), 0);
		for (i = 0; i < 500; i++)
			p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		for (i = 0; i < 500; i += 3)
			kmem_cache_free(s, p[i]);
		ck_assert_int_eq(validate(s, &c), 0);
		ck_assert_str_eq(c.text, "");
		for (i = 0; i < 500; i++)
			if (i % 3)
				kmem_cache_free(s, p[i]);
		ck_assert_int_eq(validate(s, &c), 0);
		ck_assert_str_eq(c.text, "");
		kmem_cache_destroy(s);
	}
	errno = 0;
	capture_begin(&c);
	ck_assert_int_eq(uslab_cache_validate(NULL), -1);
	capture_end(&c);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_reported(&c, "uslab_cache_validate: cache is NULL");
}
END_TEST

/*
 * The KUnit cases as the kernel runs them, through validation
 * (validate_slab_cache()): each corruption found once, mended, and the
 * next validation clean.
 */
START_TEST(test_validate_kunit_cases)
{
	struct kmem_cache *rz = kmem_cache_create("TestSlub_RZ_alloc", 64, 0,
						  SLAB_RED_ZONE, NULL);
	struct kmem_cache *po = kmem_cache_create("TestSlub_1th_word_free", 64,
						  0, SLAB_POISON, NULL);
	unsigned char *a = kmem_cache_alloc(rz, GFP_KERNEL);
	unsigned char *b = kmem_cache_alloc(rz, GFP_KERNEL);
	unsigned char *p = kmem_cache_alloc(po, GFP_KERNEL);
	unsigned char *q = kmem_cache_alloc(po, GFP_KERNEL);
	struct capture c;

	/* test_clobber_zone, test_clobber_redzone_free */
	kmem_cache_free(rz, b);
	a[64] = 0x12;
	b[64] = 0xab;
	ck_assert_int_eq(validate(rz, &c), 2);
	ck_assert_int_eq(nr_bugs(&c), 2);
	ck_assert_reported(&c, "First byte 0x12 instead of 0xcc");
	ck_assert_reported(&c, "First byte 0xab instead of 0xbb");
	ck_assert_int_eq(validate(rz, &c), 0);
	ck_assert_str_eq(c.text, "");
	/* test_first_word, test_clobber_50th_byte */
	kmem_cache_free(po, p);
	kmem_cache_free(po, q);
	p[0] = 0x78;
	q[50] = 0x9a;
	ck_assert_int_eq(validate(po, &c), 2);
	ck_assert_reported(&c, "@offset=0. First byte 0x78 instead of 0x6b");
	ck_assert_reported(&c, "@offset=50. First byte 0x9a instead of 0x6b");
	ck_assert_int_eq(validate(po, &c), 0);
	/* Mended: handing them out again finds nothing. */
	capture_begin(&c);
	p = kmem_cache_alloc(po, GFP_KERNEL);
	q = kmem_cache_alloc(po, GFP_KERNEL);
	kmem_cache_free(rz, a);
	capture_end(&c);
	ck_assert_str_eq(c.text, "");
	kmem_cache_free(po, p);
	kmem_cache_free(po, q);
	kmem_cache_destroy(rz);
	kmem_cache_destroy(po);
}
END_TEST

/*
 * test_next_pointer through validation: a freelist that leaves the slab,
 * or loops, and a slab whose count disagrees with its freelist, are
 * each reported once and the slab is taken out of use; the cache goes
 * on in its other slabs.
 */
/*
 * A lazily laid out slab (no constructor, no debug flags): the slots it
 * never handed out count as free, and a freelist that names one of them
 * (which would hand it out twice) is refused.
 */
START_TEST(test_validate_fresh_slots)
{
	struct kmem_cache *s = kmem_cache_create("fresh", 64, 0, 0, NULL);
	void *p = slab_alloc(s, 0, 0, NULL), *q = slab_alloc(s, 0, 0, NULL);
	struct slab *slab = virt_to_slab(p);
	unsigned int k;
	struct capture c;
	char *fresh;

	ck_assert_ptr_eq(virt_to_slab(q), slab);
	ck_assert_uint_eq(slab->fresh, slab->objects - 2);
	ck_assert_int_eq(validate(s, &c), 0);
	slab_free(s, slab, q, NULL); /* a freelist of one, then fresh slots */
	ck_assert_ptr_eq(slab->freelist, q);
	ck_assert_int_eq(validate(s, &c), 0);
	ck_assert_int_eq(nr_bugs(&c), 0);

	/* The next fresh slot, in the slab's layout order. */
	k = slab->objects - slab->fresh;
	if (s->random_seq)
		fresh = slab->s_mem +
			s->random_seq[(slab->fresh_start + k) % slab->objects];
	else
		fresh = slab->s_mem + (unsigned long)k * s->size;
	set_freepointer(s, q, fresh);
	ck_assert_int_eq(validate(s, &c), 1);
	ck_assert_reported(&c, "Freechain loops");
	ck_assert(slab->corrupt);
	slab_free(s, slab, p, NULL); /* into a slab out of use: dropped */
	ck_assert_int_eq(validate(s, &c), 0);
	ck_assert_cache_usable(s);
}
END_TEST

START_TEST(test_validate_freelist)
{
	struct kmem_cache *s = kmem_cache_create("TestSlub_next_ptr_free", 64,
						 0, SLAB_POISON, NULL);
	unsigned char *p = kmem_cache_alloc(s, GFP_KERNEL);
	struct slab *slab = virt_to_slab(p);
	struct capture c;
	void *q;

	kmem_cache_free(s, p);
	p[s->offset] = (unsigned char)~p[s->offset];
	ck_assert_int_eq(validate(s, &c), 1);
	ck_assert_int_eq(nr_bugs(&c), 1);
	ck_assert_reported(&c, "BUG TestSlub_next_ptr_free (uslab): "
			       "Freechain corrupt");
	ck_assert_reported(&c, "taken out of use");
	ck_assert(slab->corrupt);
	ck_assert_int_eq(validate(s, &c), 0);
	q = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_ne(virt_to_slab(q), slab);
	kmem_cache_free(s, q);

	/* A loop: the freelist head points to itself. */
	q = kmem_cache_alloc(s, GFP_KERNEL);
	slab = virt_to_slab(q);
	kmem_cache_free(s, q);
	ck_assert_ptr_eq(slab->freelist, q);
	set_freepointer(s, q, q);
	ck_assert_int_eq(validate(s, &c), 1);
	ck_assert_reported(&c, "Freechain loops");
	ck_assert(slab->corrupt);

	/* A count that disagrees with the freelist. */
	q = kmem_cache_alloc(s, GFP_KERNEL);
	slab = virt_to_slab(q);
	slab->inuse--; /* as if one object more were free */
	ck_assert_int_eq(validate(s, &c), 1);
	ck_assert_reported(&c, "Wrong number of free objects");
	ck_assert(slab->corrupt);
	kmem_cache_free(s, q); /* into a slab out of use: dropped */
	ck_assert_int_eq(validate(s, &c), 0);
	ck_assert_cache_usable(s);
}
END_TEST

struct churn {
	struct kmem_cache *s;
	atomic_bool stop;
};

static void *churn_main(void *arg)
{
	struct churn *ch = arg;
	void *p[64];
	int i;

	while (!atomic_load(&ch->stop)) {
		for (i = 0; i < 64; i++)
			p[i] = kmem_cache_alloc(ch->s, GFP_KERNEL);
		for (i = 0; i < 64; i++)
			kmem_cache_free(ch->s, p[i]);
	}
	return NULL;
}

/* Validation while other threads allocate and free: nothing to report. */
START_TEST(test_validate_busy)
{
	static const slab_flags_t flags[] = { 0, SLAB_DEBUG_FLAGS };
	struct churn ch;
	pthread_t t[3];
	struct capture c;
	size_t f;
	int i, round;

	for (f = 0; f < ARRAY_SIZE(flags); f++) {
		ch.s = kmem_cache_create("busy", 120, 0, flags[f], NULL);
		atomic_init(&ch.stop, false);
		for (i = 0; i < 3; i++)
			ck_assert_int_eq(
				pthread_create(&t[i], NULL, churn_main, &ch),
				0);
		for (round = 0; round < 50; round++) {
			ck_assert_int_eq(validate(ch.s, &c), 0);
			ck_assert_str_eq(c.text, "");
		}
		atomic_store(&ch.stop, true);
		for (i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
		kmem_cache_destroy(ch.s);
	}
}
END_TEST

/*
 * Callers in reports are symbolized with dladdr(): this program's own
 * functions are not in its dynamic symbol table, so they show as the
 * file and the offset addr2line takes.
 */
START_TEST(test_report_symbolized)
{
	struct kmem_cache *s = kmem_cache_create(
		"sym", 64, 0, SLAB_RED_ZONE | SLAB_STORE_USER, NULL);
	void *p = kmem_cache_alloc(s, GFP_KERNEL);
	struct capture c;

	kmem_cache_free(s, p);
	capture_begin(&c);
	kmem_cache_free(s, p);
	capture_end(&c);
	ck_assert_reported(&c, "Allocated by (");
	ck_assert_reported(&c, "test_debug+0x");
	ck_assert_reported(&c, "Freed again by (");
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
	tcase_add_test(tc, test_kunit_clobber_zone);
	tcase_add_test(tc, test_kunit_next_pointer);
	tcase_add_test(tc, test_kunit_next_pointer_hardened);
	tcase_add_test(tc, test_kunit_first_word);
	tcase_add_test(tc, test_kunit_clobber_50th_byte);
	tcase_add_test(tc, test_kunit_clobber_redzone_free);
	tcase_add_test(tc, test_validate_clean);
	tcase_add_test(tc, test_validate_kunit_cases);
	tcase_add_test(tc, test_validate_freelist);
	tcase_add_test(tc, test_validate_fresh_slots);
	tcase_add_test(tc, test_validate_busy);
	tcase_add_test(tc, test_report_symbolized);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(debug_suite());
}
