// SPDX-License-Identifier: MIT
/*
 * sanitize.c - AddressSanitizer sees slab objects.  A program built with
 * -fsanitize=address and linked with this (uninstrumented) library gets
 * ASan's own reports for a use after free of a slab object, a read or
 * write past an object into its slot's padding, red zone or free
 * pointer, and an access to a slot that was never handed out: the slab
 * layer poisons every byte of a slab but the objects in use, through
 * the ASan runtime's __asan_poison_memory_region() and
 * __asan_unpoison_memory_region().
 *
 * The runtime is looked up once at start-up with dlsym(); without it
 * (the usual case) sanitize_on stays false, every cache keeps its
 * magazines and the slab layer pays one predictable branch on its slow
 * paths.  With it, caches get no magazines (cpu_slab NULL, as debug
 * caches), so every object goes through the slab layer, where the hooks
 * are, under the node lock: poisoning and the allocations and frees it
 * follows are ordered by that lock.  uslab's own SAN=asan build leaves
 * this off: its own instrumented code reads free pointers in free
 * slots, which ASan would then report.
 *
 * Locking: none of its own; the hooks are called with the node lock held
 * (objects) or on a slab private to the caller (new slabs).
 */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "internal.h"

bool sanitize_on;

static void (*asan_poison)(const volatile void *addr, size_t size);
static void (*asan_unpoison)(const volatile void *addr, size_t size);

/* At library start-up: is the ASan runtime in this process? */
void sanitize_init(void)
{
#ifndef __SANITIZE_ADDRESS__
	asan_poison = (void (*)(const volatile void *, size_t))dlsym(
		RTLD_DEFAULT, "__asan_poison_memory_region");
	asan_unpoison = (void (*)(const volatile void *, size_t))dlsym(
		RTLD_DEFAULT, "__asan_unpoison_memory_region");
	sanitize_on = asan_poison && asan_unpoison;
#endif
}

/* A new slab's block, before it is laid out: all accessible. */
void sanitize_slab_open(void *base, size_t bytes)
{
	asan_unpoison(base, bytes);
}

/* Laid out: every byte poisoned until an object is handed out. */
void sanitize_slab_close(void *base, size_t bytes)
{
	asan_poison(base, bytes);
}

/* A slot the slab layer (and its debug checks) is about to touch. */
void sanitize_obj_open(struct kmem_cache *s, void *obj)
{
	asan_unpoison(obj, s->size);
}

/* @obj handed out: only its object_size bytes stay accessible. */
void sanitize_obj_handout(struct kmem_cache *s, void *obj)
{
	asan_poison((char *)obj + s->object_size, s->size - s->object_size);
}

/*
 * @obj free again: the whole slot poisoned, but for SLAB_TYPESAFE_BY_RCU
 * caches, whose readers may still look at a freed object (as KASAN, only
 * the bytes past the object).
 */
void sanitize_obj_close(struct kmem_cache *s, void *obj)
{
	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		sanitize_obj_handout(s, obj);
	else
		asan_poison(obj, s->size);
}
