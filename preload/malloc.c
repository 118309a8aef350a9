// SPDX-License-Identifier: MIT
/*
 * malloc.c - libuslab-malloc.so: the C allocation calls over kmalloc(),
 * for any program through LD_PRELOAD.  malloc, free, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc,
 * pvalloc and malloc_usable_size; C++'s new and delete reach them
 * through libstdc++.
 *
 * Start-up: nothing here allocates before uslab is ready.  Until this
 * library's constructor has started uslab (and its kmalloc caches),
 * every call goes to glibc's own allocator through its __libc_* entry
 * points: the dynamic loader's and libc's first calls, liburcu's
 * constructor, and uslab's start-up itself (whose own
 * bookkeeping always comes from glibc, see libc-alloc.h).  No dlsym(),
 * so no recursion through it.  Afterwards every request is kmalloc()'s.
 *
 * Size classes: malloc(), calloc() (kzalloc_fine()) and realloc() use
 * kmalloc_fine(), four to eight classes per power of two up to 14 KiB
 * (kmalloc.c), not kmalloc()'s powers of two; the aligned calls keep
 * kmalloc()'s, whose alignment they rely on.  malloc(), calloc() and
 * free() take the magazine fast path inline (kmalloc-fine.h,
 * magazine.h), with their slow paths out of line: no call into uslab
 * and no saved register when the magazine serves them.
 *
 * Whose pointer: one in uslab's arena is kfree()'d; one of kmalloc's own
 * mappings (above 2 MiB, found in its table) is unmapped; anything else
 * came from glibc before uslab was ready, and goes back to glibc.
 *
 * uslab's own threads (the reaper, the statistics export, liburcu's
 * call_rcu worker) would cost a short program more than everything
 * else uslab does at start-up: here they wait USLAB_DEFER_MS (1 s by
 * default) and start at the first call past that time that is off the
 * per-CPU fast path anyway (cache.c's uslab_threads_poll()): a free()
 * that overflows its magazine, the aligned calls, and requests above
 * the size classes (kmalloc_fine(), for calloc() too).
 *
 * fork() and thread exit need nothing here: uslab's fork handlers and
 * per-CPU (not per-thread) caches cover them, and glibc handles its own.
 * No lock of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kmalloc-fine.h"
#include "magazine.h"

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);

/* malloc() fails quietly with ENOMEM: no report, as glibc. */
#define GFP_MALLOC (GFP_KERNEL | __GFP_NOWARN)

static bool ready; /* release store once kmalloc works; acquire loads */

static inline bool uslab_ready(void)
{
	return __atomic_load_n(&ready, __ATOMIC_ACQUIRE);
}

/* kmalloc()'s, or one of its own mappings; else glibc's. */
static inline bool ours(const void *p)
{
	return page_in_arena(p) || huge_size(p);
}

__attribute__((constructor)) static void uslab_malloc_init(void)
{
	/* The reaper, export and RCU threads wait USLAB_DEFER_MS. */
	uslab_defer_threads = true;
	/*
	 * uslab and its classes start here, but no slab: a program that
	 * never allocates (or only from some classes) pays for none.
	 */
	if (uslab_ensure_init()) {
		uslab_report("libuslab-malloc.so: cannot start uslab (%s); "
			     "glibc's malloc stays in use",
			     strerror(errno));
		return;
	}
	/*
	 * USLAB_PASSTHROUGH=1 asks for malloc's blocks: kmalloc() would
	 * call back in here, so glibc keeps serving every call.
	 */
	if (uslab_env.passthrough)
		return;
	if (kmalloc_fine_init()) {
		uslab_report("libuslab-malloc.so: cannot create its size "
			     "classes (%s); glibc's malloc stays in use",
			     strerror(errno));
		return;
	}
	__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
}

static inline void *nomem(void)
{
	errno = ENOMEM;
	return NULL;
}

/* malloc()'s fast path stands in for kmem_cache_alloc(GFP_MALLOC)'s. */
BUILD_BUG_ON((GFP_MALLOC & GFP_NOT_FAST) != 0);

/* Everything malloc()'s fast path left: out of line, no frame there. */
static __noinline void *malloc_slow(size_t size)
{
	void *p;

	if (unlikely(!uslab_ready()))
		return __libc_malloc(size);
	p = kmalloc_fine(size ? size : 1, GFP_MALLOC);
	return likely(p) ? p : nomem();
}

/*
 * malloc() and free() themselves, inline for realloc() too: a call by
 * name would go through the PLT, since a program may interpose them.
 */
static __always_inline void *malloc_inline(size_t size)
{
	void *p;

	if (likely(uslab_ready()) && likely(kmalloc_fine_fast(size, &p)))
		return p;
	return malloc_slow(size);
}

__api void *malloc(size_t size)
{
	return malloc_inline(size);
}

/*
 * free()'s slow paths, out of line so that the fast path saves no
 * registers: an arena block the fast path left (kfree() does the rest),
 * NULL, one of our own mappings, or glibc's block.
 */
static __noinline void free_slow(void *p)
{
	int err;

	if (!p)
		return;
	if (page_in_arena(p)) {
		err = errno; /* free() leaves errno alone */
		kfree(p);
		uslab_threads_poll();
		errno = err;
		return;
	}
	if (!huge_free(p))
		__libc_free(p);
}

/* NULL is outside the arena: free_slow() ignores it. */
static __always_inline void free_inline(void *p)
{
	if (likely(page_in_arena(p))) {
		/* kfree()'s fast path, which leaves errno alone. */
		struct slab_view *view;
		struct kmem_cache *s = view_cache_of(p, &view);

		if (likely(s && cache_free_fast(s, view, p)))
			return;
	}
	free_slow(p);
}

__api void free(void *p)
{
	free_inline(p);
}

/* Everything calloc()'s fast path left, @bytes = @n * @size. */
static __noinline void *calloc_slow(size_t n, size_t size, size_t bytes)
{
	void *p;

	if (unlikely(!uslab_ready()))
		return __libc_calloc(n, size);
	p = kzalloc_fine(bytes ? bytes : 1, GFP_MALLOC);
	return likely(p) ? p : nomem();
}

/*
 * The whole object is cleared, as glibc's calloc() clears its whole
 * chunk (kzalloc_fine() does the same on the slow path).
 */
__api void *calloc(size_t n, size_t size)
{
	struct kmem_cache *s;
	size_t bytes;
	void *p;

	if (unlikely(__builtin_mul_overflow(n, size, &bytes)))
		return nomem();
	if (likely(uslab_ready()) && (s = kmalloc_fine_fast(bytes, &p))) {
		memset(p, 0, s->object_size);
		return p;
	}
	return calloc_slow(n, size, bytes);
}

/*
 * glibc's usable size of its chunk @p: the chunk size in the word
 * before it, less that word (and the one before for a chunk of its own
 * mapping, IS_MMAPPED = 2).
 */
static size_t libc_usable_size(const void *p)
{
	size_t head = ((const size_t *)p)[-1];

	return (head & ~(size_t)7) - (head & 2 ? 2 : 1) * sizeof(size_t);
}

/*
 * krealloc() with malloc()'s classes: @p stays where it is while @size
 * fits it and takes at least half of it (a block shrunk further moves,
 * so that it gives the rest back); otherwise the contents move to a
 * new block.
 */
__api void *realloc(void *p, size_t size)
{
	size_t ks;
	void *q;

	if (!p)
		return malloc_inline(size);
	if (!size) {
		free_inline(p);
		return NULL;
	}
	if (likely(page_in_arena(p))) {
		/* ksize()'s own first step, without the call. */
		struct slab_view *view;
		struct kmem_cache *s = view_cache_of(p, &view);

		ks = likely(s) ? s->object_size : ksize(p);
	} else if (huge_size(p)) {
		ks = ksize(p);
	} else {
		return __libc_realloc(p, size);
	}
	if (!ks)
		return nomem(); /* not an object: reported by ksize() */
	if (size <= ks && size >= ks / 2)
		return p;
	q = malloc_inline(size); /* sets errno if it fails */
	if (!q)
		return NULL;
	memcpy(q, p, MIN(ks, size));
	free_inline(p);
	return q;
}

__api void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return nomem();
	return realloc(p, bytes);
}

/*
 * @size bytes aligned to @align, a power of two.  kmalloc() aligns a
 * power-of-two request to its size and every size class of at least 32
 * bytes to 32, page blocks to their size and its own mappings to their
 * size when that is a power of two, else to a page; so ask for a size
 * that brings the alignment along.
 */
static void *alloc_aligned(size_t align, size_t size)
{
	size_t n = size > align ? size : align;
	void *p;

	if (unlikely(!uslab_ready()))
		return __libc_memalign(align, size);
	if (align <= sizeof(void *))
		n = size ? size : 1;
	else if (align > 32 &&
		 (n <= KMALLOC_MAX_CACHE_SIZE ||
		  (n > KMALLOC_MAX_PAGE_SIZE && align > PAGE_SIZE))) {
		/* The power of two at or above n: aligned to itself. */
		if (n > (SIZE_MAX >> 1) + 1)
			return nomem();
		n = (size_t)1 << (64 - __builtin_clzl(n - 1));
		/*
		 * kmalloc-8k objects are only 4 KiB aligned when debug
		 * metadata grows their slots: take a page block instead.
		 */
		if (n == KMALLOC_MAX_CACHE_SIZE)
			n++;
	}
	uslab_threads_poll();
	p = kmalloc(n, GFP_MALLOC);
	return likely(p) ? p : nomem();
}

__api int posix_memalign(void **memptr, size_t align, size_t size)
{
	void *p;
	int err = errno;

	if (!IS_POWER_OF_2(align) || align % sizeof(void *))
		return EINVAL;
	p = alloc_aligned(align, size);
	if (!p) {
		errno = err;
		return ENOMEM;
	}
	*memptr = p;
	return 0;
}

/*
 * glibc's (2.36) memalign and aligned_alloc: an alignment below a
 * pointer's is raised to it, one that is not a power of two rounded up.
 */
__api void *memalign(size_t align, size_t size)
{
	if (align > (SIZE_MAX >> 1) + 1)
		return nomem();
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (!IS_POWER_OF_2(align))
		align = (size_t)1 << (64 - __builtin_clzl(align - 1));
	return alloc_aligned(align, size);
}

__api void *valloc(size_t size)
{
	return alloc_aligned(PAGE_SIZE, size);
}

__api void *pvalloc(size_t size)
{
	size_t n = ALIGN(size ? size : 1, PAGE_SIZE);

	if (n < size)
		return nomem();
	return alloc_aligned(PAGE_SIZE, n);
}

__api size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (ours(p))
		return ksize(p);
	return libc_usable_size(p);
}

__api void *aligned_alloc(size_t align, size_t size)
{
	return memalign(align, size);
}
