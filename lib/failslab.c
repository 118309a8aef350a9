// SPDX-License-Identifier: MIT
/*
 * failslab.c - fault injection, as the kernel's failslab: with
 * USLAB_FAILSLAB=<interval>,<probability>,<space>,<times> (the kernel's
 * fault_attr boot option, parsed by env.c) allocation calls fail on
 * purpose, returning NULL with errno ENOMEM, so that a program's
 * out-of-memory paths can be tested.  The decision is the kernel's
 * should_fail() for one call of object_size bytes:
 *
 *   - no failure while times is 0 (it counts down each failure; -1
 *     never runs out), nor while more than object_size bytes of space
 *     are left (each call takes object_size off it);
 *   - with an interval above 1, only every interval-th call that got
 *     this far may fail;
 *   - then it fails with the given probability, in percent.
 *
 * __GFP_NOFAIL calls never fail.  USLAB_FAILSLAB_FILTER=1 (the kernel's
 * failslab/cache-filter) limits it to caches created with SLAB_FAILSLAB
 * (or given it by USLAB_DEBUG=A,<cache>...).  A bulk allocation is one
 * call, failed as a whole, as the kernel's slab_pre_alloc_hook() does.
 * The kernel's ignore-gfp-wait has no counterpart: any call may fail.
 *
 * Only caches failslab_cache() picks at creation are asked; they have
 * no per-CPU magazines (cpu_slab NULL, as debug caches), so that every
 * allocation reaches cache.c's slow path, where failslab_should_fail()
 * is called.  Every other cache pays nothing.
 *
 * Locking: none.  The state is set by failslab_init() at start-up
 * before any cache exists; afterwards times, space and count change by
 * relaxed atomic operations only, as the kernel's: each is a budget or
 * a counter, ordering nothing else.  times is taken by compare and
 * exchange, so that N threads never inject more than times failures.
 */
#include <errno.h>

#include "internal.h"

static struct {
	bool on; /* some call may still fail */
	bool filter; /* only SLAB_FAILSLAB caches */
	unsigned long interval, probability;
	long space; /* atomic */
	long times; /* atomic; -1: no limit */
	unsigned long count; /* atomic: calls past times and space */
} fs;

/* At start-up (and in tests, before creating their caches). */
void failslab_init(void)
{
	const struct failslab_attr *a = &uslab_env.failslab_attr;

	fs.on = uslab_env.failslab && a->probability && a->times;
	fs.filter = uslab_env.failslab_filter;
	fs.interval = a->interval;
	fs.probability = a->probability;
	__atomic_store_n(&fs.space, a->space, __ATOMIC_RELAXED);
	__atomic_store_n(&fs.times, a->times, __ATOMIC_RELAXED);
	__atomic_store_n(&fs.count, 0, __ATOMIC_RELAXED);
}

/* May a new cache with @flags fail?  Then it gets no magazines. */
bool failslab_cache(slab_flags_t flags)
{
	return fs.on && (!fs.filter || (flags & SLAB_FAILSLAB));
}

/* Take one failure from times: false when none is left. */
static bool failslab_take_time(void)
{
	long t = __atomic_load_n(&fs.times, __ATOMIC_RELAXED);

	do {
		if (t == 0)
			return false;
		if (t < 0)
			return true;
	} while (!__atomic_compare_exchange_n(&fs.times, &t, t - 1, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

/* Does space still let a call of @size bytes through?  Takes them. */
static bool failslab_spend_space(long size)
{
	long sp = __atomic_load_n(&fs.space, __ATOMIC_RELAXED);

	do {
		if (sp <= size)
			return false;
	} while (!__atomic_compare_exchange_n(&fs.space, &sp, sp - size, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

/*
 * Fail this allocation call of @s with @gfp?  When so, it is counted in
 * @s's statistics, reported (unless __GFP_NOWARN) and errno is ENOMEM.
 */
bool failslab_should_fail(struct kmem_cache *s, gfp_t gfp)
{
	if (gfp & __GFP_NOFAIL)
		return false;
	if (__atomic_load_n(&fs.times, __ATOMIC_RELAXED) == 0)
		return false;
	if (failslab_spend_space((long)s->object_size))
		return false;
	if (fs.interval > 1 &&
	    (__atomic_add_fetch(&fs.count, 1, __ATOMIC_RELAXED) % fs.interval))
		return false;
	if (fs.probability < 100 && uslab_random() % 100 >= fs.probability)
		return false;
	if (!failslab_take_time())
		return false;
	__atomic_fetch_add(&s->failslab_injected, 1, __ATOMIC_RELAXED);
	if (!(gfp & __GFP_NOWARN))
		uslab_report("kmem_cache_alloc(%s): failure injected "
			     "(USLAB_FAILSLAB)",
			     s->name);
	errno = ENOMEM;
	return true;
}
