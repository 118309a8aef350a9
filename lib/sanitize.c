// SPDX-License-Identifier: MIT
/*
 * sanitize.c - memory tools see slab objects: AddressSanitizer and
 * valgrind's memcheck report a user's use after free of a slab object,
 * an access past an object into its slot's padding, red zone or free
 * pointer, and an access to a slot that was never handed out.
 *
 * AddressSanitizer: a program built with -fsanitize=address and linked
 * with this (uninstrumented) library has the ASan runtime, found through
 * weak references to two of its calls.  The slab layer then poisons
 * every byte of a slab but the objects in use, through
 * __asan_poison_memory_region() and __asan_unpoison_memory_region().
 * Caches get no magazines (cpu_slab NULL, as debug caches), so every
 * object goes through the slab layer, where the hooks are, under the
 * node lock: poisoning and the allocations and frees it follows are
 * ordered by that lock.
 * uslab's own SAN=asan build leaves this off: its own instrumented code
 * reads free pointers in free slots, which ASan would then report.
 *
 * valgrind: RUNNING_ON_VALGRIND at start-up.  uslab runs on the per-CPU
 * lock path there (valgrind refuses rseq; sanitize_init() also asks for
 * lock mode, so that no rseq fast path could ever bypass the hooks), and
 * caches keep their magazines.  memcheck is told about every object
 * with its client requests:
 *   - the API (cache.c) marks each object handed to the user a heap
 *     block, VALGRIND_MALLOCLIKE_BLOCK (undefined: reading it before
 *     writing it is an error; defined for caches with a constructor),
 *     and each object given back VALGRIND_FREELIKE_BLOCK (no access),
 *     so errors come with the allocation and free stacks and the leak
 *     checker sees lost objects.  (Malloc-like blocks rather than a
 *     memory pool per cache: memcheck describes an address by a live
 *     block before the freed ones only for those, and a slot is
 *     reused at once, so a pool's reports would name the slot's
 *     previous, freed block);
 *   - the slab layer keeps every byte of a slab no-access but the
 *     objects users hold, opening a slot only while it works on it
 *     under the node lock (free pointer, debug patterns); objects in
 *     magazines stay no-access, since the magazine layer never touches
 *     an object's memory.
 * SLAB_TYPESAFE_BY_RCU caches leave a freed object readable under both
 * tools, since RCU readers may still look at it.
 *
 * Without either tool (the usual case) sanitize_on stays false; the
 * slab layer pays one predictable branch on its slow paths and the API
 * one on its slow paths; the rseq fast path pays nothing.
 *
 * Locking: none of its own; the slab hooks are called with the node lock
 * held (objects) or on a slab private to the caller (new slabs), the
 * API hooks on objects the caller owns.
 */
#define _GNU_SOURCE
#include <valgrind/memcheck.h>

#include "internal.h"

bool sanitize_on;
bool sanitize_asan;
bool sanitize_valgrind;

/*
 * The ASan runtime's calls, if it is in the process: weak references,
 * which the dynamic loader binds when it loads the library (the runtime
 * comes first, with the program) or leaves NULL.  No dlsym(): a failed
 * lookup costs every process without ASan an error message allocated
 * at start-up.
 */
#ifndef __SANITIZE_ADDRESS__
void __asan_poison_memory_region(const volatile void *addr, size_t size)
	__attribute__((weak));
void __asan_unpoison_memory_region(const volatile void *addr, size_t size)
	__attribute__((weak));
#endif

static void (*asan_poison)(const volatile void *addr, size_t size);
static void (*asan_unpoison)(const volatile void *addr, size_t size);

/*
 * At library start-up, after env_init(): is the ASan runtime in this
 * process, or is it running on valgrind?
 */
void sanitize_init(void)
{
#ifndef __SANITIZE_ADDRESS__
	asan_poison = __asan_poison_memory_region;
	asan_unpoison = __asan_unpoison_memory_region;
	sanitize_asan = asan_poison && asan_unpoison;
	sanitize_valgrind = !sanitize_asan && RUNNING_ON_VALGRIND;
	if (sanitize_valgrind)
		uslab_env.percpu = PERCPU_WANT_LOCK;
	sanitize_on = sanitize_asan || sanitize_valgrind;
#endif
}

/* A new slab's block, before it is laid out: all accessible. */
void sanitize_slab_open(void *base, size_t bytes)
{
	if (sanitize_asan)
		asan_unpoison(base, bytes);
	else
		VALGRIND_MAKE_MEM_DEFINED(base, bytes);
}

/* Laid out: every byte off limits until an object is handed out. */
void sanitize_slab_close(void *base, size_t bytes)
{
	if (sanitize_asan)
		asan_poison(base, bytes);
	else
		VALGRIND_MAKE_MEM_NOACCESS(base, bytes);
}

/* A slot the slab layer (and its debug checks) is about to touch. */
void sanitize_obj_open(struct kmem_cache *s, void *obj)
{
	if (sanitize_asan)
		asan_unpoison(obj, s->size);
	else
		VALGRIND_MAKE_MEM_DEFINED(obj, s->size);
}

/* The bytes of @obj's slot past the object: off limits. */
static void sanitize_obj_padding(struct kmem_cache *s, void *obj)
{
	char *end = (char *)obj + s->object_size;
	size_t len = s->size - s->object_size;

	if (sanitize_asan)
		asan_poison(end, len);
	else
		VALGRIND_MAKE_MEM_NOACCESS(end, len);
}

/*
 * @obj free again: the whole slot off limits, but for
 * SLAB_TYPESAFE_BY_RCU caches, whose readers may still look at a freed
 * object (as KASAN, only the bytes past the object).
 */
void sanitize_obj_close(struct kmem_cache *s, void *obj)
{
	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		sanitize_obj_padding(s, obj);
	else if (sanitize_asan)
		asan_poison(obj, s->size);
	else
		VALGRIND_MAKE_MEM_NOACCESS(obj, s->size);
}

/*
 * @obj leaves the slab layer.  Under ASan it goes to the user (caches
 * have no magazines): only its object_size bytes accessible.  Under
 * valgrind it may go to a magazine: still free until the API hands it
 * out (sanitize_user_alloc()).
 */
void sanitize_obj_handout(struct kmem_cache *s, void *obj)
{
	if (sanitize_asan)
		sanitize_obj_padding(s, obj);
	else
		sanitize_obj_close(s, obj);
}

/*
 * A walk of @slab's freelist (debug checks, self-checks) reads the free
 * pointers of free slots, which memcheck must not report: its address
 * errors are off in the slab until sanitize_walk_end() (a read of
 * inaccessible memory then yields a defined value).  Under the node
 * lock; another thread's access to the slab in that window goes
 * unreported.  ASan does not check this (uninstrumented) library.
 */
void sanitize_walk_begin(const struct kmem_cache *s, const struct slab *slab)
{
	if (sanitize_valgrind)
		VALGRIND_DISABLE_ADDR_ERROR_REPORTING_IN_RANGE(
			page_address(slab_page(slab)), slab_bytes(s));
}

void sanitize_walk_end(const struct kmem_cache *s, const struct slab *slab)
{
	if (sanitize_valgrind)
		VALGRIND_ENABLE_ADDR_ERROR_REPORTING_IN_RANGE(
			page_address(slab_page(slab)), slab_bytes(s));
}

/*
 * valgrind: @obj handed to the user by an allocation call, a heap block
 * for memcheck (its allocation stack is the caller's), undefined but
 * for a constructor's work.
 */
void sanitize_user_alloc(struct kmem_cache *s, void *obj)
{
	VALGRIND_MALLOCLIKE_BLOCK(obj, s->object_size, 0, 0);
	if (s->ctor)
		VALGRIND_MAKE_MEM_DEFINED(obj, s->object_size);
}

/*
 * valgrind: @obj, validated, given back by a free call: a freed heap
 * block (freeing it again is memcheck's "Invalid free()").  RCU readers
 * may still read it.
 */
void sanitize_user_free(struct kmem_cache *s, void *obj)
{
	VALGRIND_FREELIKE_BLOCK(obj, 0);
	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		VALGRIND_MAKE_MEM_DEFINED(obj, s->object_size);
}
