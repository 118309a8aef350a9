// SPDX-License-Identifier: MIT
/*
 * kmalloc.c - the kmalloc family: kmalloc, kzalloc, kcalloc,
 * kmalloc_array, krealloc, kfree, ksize, kmalloc_node, kstrdup, kmemdup,
 * kvmalloc, kvfree.
 *
 * Three kinds of memory, as in the kernel:
 *   - requests of 1..KMALLOC_MAX_CACHE_SIZE bytes go to the smallest of
 *     the kernel's size classes that holds them (kmalloc-8 ... kmalloc-8k,
 *     96 and 192 included), each an ordinary uslab cache created on the
 *     first call and never destroyed; size_index[] picks the class of a
 *     request up to 192 bytes by (size - 1) / 8, the next power of two
 *     picks the rest;
 *   - larger ones, up to KMALLOC_MAX_PAGE_SIZE, get a block of 2^order
 *     pages of the arena (page.c), whose head descriptor is marked as a
 *     kmalloc block (cache NULL, freelist LARGE_MARK, s_mem its address);
 *     kfree() hands the block to page.c's retained blocks, which keep a
 *     few (bounded, given back after an idle reaper interval or on
 *     shrink) for the next request of the same order;
 *   - larger still, a mapping of their own (mmap), recorded in a small
 *     hash table (the huge table) so that kfree() and ksize() can tell
 *     them from foreign pointers without reading memory they do not own.
 * libuslab-malloc.so's malloc() has finer classes of its own above
 * these (kmalloc_fine()); kmalloc() never uses them.
 * kfree() finds which from the pointer alone: a slab's descriptor names
 * its cache (any kmem_cache, not only kmalloc's), a large block's is
 * marked, and a pointer outside the arena is looked up in the huge table.
 *
 * Alignment: a power-of-two request is aligned to its size (the classes
 * up to 4096 are created with that alignment; kmalloc-8k's slots fill
 * their slabs exactly, so its one colour keeps them 8 KiB aligned, but
 * only 4 KiB aligned when debug flags add metadata to its slots; page
 * blocks are aligned to their size by the buddy allocator; a huge
 * mapping is trimmed to its size's alignment).  kmalloc-96 is 32-aligned
 * and kmalloc-192 64-aligned, their largest power-of-two divisors.
 *
 * Locking: the class caches lock as every cache does; fine_lock
 * serialises the creation of malloc()'s finer classes and is taken with
 * no other uslab lock held (it is above the registry's).  huge_lock guards
 * the huge table; it is a leaf (nothing else is taken under it, only
 * mmap/munmap run) and fork's handlers take it around fork() (see
 * huge_init()).  The
 * counters of the requests above the classes are relaxed atomics in
 * stats.c (kmalloc_stat[]), which reports and exports them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "kmalloc-fine.h"
#include "magazine.h"

/* ---- Size classes --------------------------------------------------- */

#define NR_KMALLOC 13

static const struct {
	const char *name;
	unsigned int size, align;
} kmalloc_info[NR_KMALLOC] = {
	{ "kmalloc-8", 8, 8 },
	{ "kmalloc-16", 16, 16 },
	{ "kmalloc-32", 32, 32 },
	{ "kmalloc-64", 64, 64 },
	{ "kmalloc-96", 96, 32 },
	{ "kmalloc-128", 128, 128 },
	{ "kmalloc-192", 192, 64 },
	{ "kmalloc-256", 256, 256 },
	{ "kmalloc-512", 512, 512 },
	{ "kmalloc-1k", 1024, 1024 },
	{ "kmalloc-2k", 2048, 2048 },
	{ "kmalloc-4k", 4096, 4096 },
	{ "kmalloc-8k", 8192, MAX_OBJ_ALIGN },
};

/* Class of a request of 1..192 bytes, by (size - 1) / 8 (size_index). */
static const uint8_t size_index[24] = {
	0, /* 8 */ 1,	/* 16 */ 2,  /* 24 */ 2, /* 32 */
	3, /* 40 */ 3,	/* 48 */ 3,  /* 56 */ 3, /* 64 */
	4, /* 72 */ 4,	/* 80 */ 4,  /* 88 */ 4, /* 96 */
	5, /* 104 */ 5, /* 112 */ 5, /* 120 */ 5, /* 128 */
	6, /* 136 */ 6, /* 144 */ 6, /* 152 */ 6, /* 160 */
	6, /* 168 */ 6, /* 176 */ 6, /* 184 */ 6, /* 192 */
};

/* Class of a request of 193..8192 bytes, by log2 of its power of two. */
#define POW_INDEX(shift) ((shift)-8 + 7) /* 256 is class 7 */

BUILD_BUG_ON(KMALLOC_MAX_CACHE_SIZE != 8192);
BUILD_BUG_ON(KMALLOC_MAX_PAGE_SIZE != PAGE_SIZE << PAGE_MAX_ORDER);

/* Set once by kmalloc_create_caches(); read after kmalloc_ready. */
static struct kmem_cache *kmalloc_caches[NR_KMALLOC];
static bool kmalloc_ready; /* release store, acquire loads */
static int kmalloc_error;
static pthread_once_t kmalloc_once = PTHREAD_ONCE_INIT;

static __always_inline unsigned int kmalloc_index(size_t size)
{
	if (size <= 192)
		return size_index[(size - 1) / 8];
	/* 193..8192: the power of two at or above size. */
	return POW_INDEX(64 - (unsigned int)__builtin_clzl(size - 1));
}

static void kmalloc_create_caches(void)
{
	unsigned int i;

	if (uslab_ensure_init()) {
		kmalloc_error = errno;
		return;
	}
	/* USLAB_PASSTHROUGH: no classes, kmalloc_slow() calls malloc. */
	if (uslab_env.passthrough)
		return;
	for (i = 0; i < NR_KMALLOC; i++) {
		kmalloc_caches[i] = kmem_cache_create(
			kmalloc_info[i].name, kmalloc_info[i].size,
			kmalloc_info[i].align, 0, NULL);
		if (!kmalloc_caches[i]) {
			kmalloc_error = errno;
			return;
		}
	}
	/* Release: a thread that sees the flag sees the caches. */
	__atomic_store_n(&kmalloc_ready, true, __ATOMIC_RELEASE);
}

/* Create the classes once; 0, or -1 with errno set. */
static int kmalloc_init(void)
{
	pthread_once(&kmalloc_once, kmalloc_create_caches);
	if (!__atomic_load_n(&kmalloc_ready, __ATOMIC_ACQUIRE) &&
	    !(uslab_env.passthrough && !kmalloc_error)) {
		errno = kmalloc_error ? kmalloc_error : ENOMEM;
		return -1;
	}
	return 0;
}

/* ---- The preload's finer classes ------------------------------------ */

/*
 * libuslab-malloc.so's malloc() rounds a request to one of four classes
 * per power of two, multiples of 16 (so 16-aligned, as malloc() must
 * be): 8, 16, 32, 48, 64, then 80, 96, 112, 128, 160, ... up to 14 KiB,
 * where the kernel's classes alone would round 4104 bytes to 8192.
 * Between 1 and 8 KiB there are eight per power of two (1152, 1280,
 * ... 2048, 2304, ... 4096, 4608, ... 8192): a power of two and a small
 * header (SQLite's pages of 1032, 4104 and 4368 bytes) would otherwise
 * take a quarter more.
 * Where a size is one of the kernel's classes the class is that cache;
 * the others are caches of their own, named "malloc-<size>" (k for
 * whole KiB: malloc-5k), each created by the first request it serves
 * (kmalloc_fine_new(); a short program uses a few of the 35, and each
 * costs pages and per-CPU slots).  kmalloc() itself never uses them:
 * its classes and ksize() stay the kernel's.
 * The index (fine_index()) and the fast path are in kmalloc-fine.h.
 */
const uint8_t fine_small[8] = { 0, 1, 2, 2, 3, 3, 4, 4 };

/*
 * The kernel's classes set by kmalloc_fine_init(), before the preload
 * lets malloc() in; the others by kmalloc_fine_new() under fine_lock.
 */
struct kmem_cache *fine_caches[NR_FINE];
static pthread_mutex_t fine_lock = PTHREAD_MUTEX_INITIALIZER;

/* The object size of fine class @i. */
static size_t fine_size(unsigned int i)
{
	static const uint8_t small[5] = { 8, 16, 32, 48, 64 };
	unsigned int b = 6 + (i - 5) / 4, q = 4 + (i - 5) % 4;

	if (i < 5)
		return small[i];
	if (i >= FINE_8K)
		return (size_t)(i - FINE_8K + 5) << 11;
	if (i >= FINE_1K) {
		b = 10 + (i - FINE_1K) / 8;
		return (size_t)(9 + (i - FINE_1K) % 8) << (b - 3);
	}
	return (size_t)(q + 1) << (b - 2);
}

BUILD_BUG_ON(FINE_1K != 5 + (10 - 6) * 4);
BUILD_BUG_ON(FINE_8K != FINE_1K + 3 * 8);
/* The last class is KMALLOC_FINE_MAX bytes (fine_size(NR_FINE - 1)). */
BUILD_BUG_ON(KMALLOC_FINE_MAX != (NR_FINE - 1 - FINE_8K + 5) << 11);

/*
 * fork() while a thread creates a class: fine_lock is taken before
 * uslab's own fork handlers take the registry's lock (their prepare
 * handlers run after this one, which is registered later), and is
 * usable again in the child.
 */
static void fine_fork_prepare(void)
{
	pthread_mutex_lock(&fine_lock);
}

static void fine_fork_parent(void)
{
	pthread_mutex_unlock(&fine_lock);
}

static void fine_fork_child(void)
{
	pthread_mutex_init(&fine_lock, NULL);
}

/*
 * Get the finer classes going (once; libuslab-malloc.so's constructor,
 * after kmalloc() works): the sizes the kernel's classes have are those
 * caches; the others wait for their first request.  0, or -1 with errno
 * set.
 */
int kmalloc_fine_init(void)
{
	static bool hooked;
	unsigned int i;
	size_t size;

	if (kmalloc_init())
		return -1;
	for (i = 0; i < NR_FINE; i++) {
		size = fine_size(i);
		if (size <= KMALLOC_MAX_CACHE_SIZE &&
		    kmalloc_info[kmalloc_index(size)].size == size)
			__atomic_store_n(&fine_caches[i],
					 kmalloc_caches[kmalloc_index(size)],
					 __ATOMIC_RELEASE);
	}
	/* After uslab_ensure_init() registered uslab's handlers. */
	if (!hooked && !pthread_atfork(fine_fork_prepare, fine_fork_parent,
				       fine_fork_child))
		hooked = true;
	return 0;
}

static void *kmalloc_failed(size_t size, gfp_t gfp, int err);

/* The first request of class @i: create its cache (once), then serve. */
static __noinline void *kmalloc_fine_new(unsigned int i, gfp_t flags)
{
	size_t size = fine_size(i);
	struct kmem_cache *s;
	char name[32];

	pthread_mutex_lock(&fine_lock);
	s = fine_caches[i];
	if (!s) {
		if (size % 1024)
			snprintf(name, sizeof(name), "malloc-%zu", size);
		else
			snprintf(name, sizeof(name), "malloc-%zuk",
				 size / 1024);
		/* Aligned to the largest power of two dividing the size. */
		s = kmem_cache_create(name, (unsigned int)size,
				      (unsigned int)(size & -size), 0, NULL);
		if (s)
			__atomic_store_n(&fine_caches[i], s, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&fine_lock);
	if (!s)
		return kmalloc_failed(size, flags, ENOMEM);
	return kmem_cache_alloc(s, flags);
}

/*
 * malloc()'s kmalloc(): 1..KMALLOC_FINE_MAX bytes from the finer
 * classes, anything else as kmalloc().  Only after kmalloc_fine_init().
 */
void *kmalloc_fine(size_t size, gfp_t flags)
{
	if (likely(size - 1 < KMALLOC_FINE_MAX)) {
		struct kmem_cache *s = fine_cache(size);

		if (likely(s))
			return kmem_cache_alloc(s, flags);
		return kmalloc_fine_new(fine_index(size), flags);
	}
	/* The preload's caller holds no uslab lock: its threads may start. */
	uslab_threads_poll();
	return kmalloc(size, flags);
}

/*
 * calloc()'s kmalloc_fine(): a zeroed block.  Within the fine classes the
 * object comes off the fast path and is cleared here, all of it (as
 * glibc's calloc() clears its whole chunk), where __GFP_ZERO would send
 * it down the slow path.  Larger sizes, and a class's first request, go
 * to kmalloc_fine() with __GFP_ZERO: page blocks fresh from the kernel
 * need no clearing, and kmalloc() knows which.
 */
void *kzalloc_fine(size_t size, gfp_t flags)
{
	if (likely(size - 1 < KMALLOC_FINE_MAX)) {
		struct kmem_cache *s = fine_cache(size);
		void *p;

		if (likely(s)) {
			p = kmem_cache_alloc(s, flags);
			if (likely(p))
				memset(p, 0, s->object_size);
			return p;
		}
	}
	return kmalloc_fine(size, flags | __GFP_ZERO);
}

/* ---- Counters (kept in stats.c) -------------------------------------- */

#define kstat_add(item, n)                                                  \
	__atomic_fetch_add(&kmalloc_stat[USLAB_STAT_##item], (uint64_t)(n), \
			   __ATOMIC_RELAXED)
#define kstat_sub(item, n)                                                  \
	__atomic_fetch_sub(&kmalloc_stat[USLAB_STAT_##item], (uint64_t)(n), \
			   __ATOMIC_RELAXED)

/* A kfree() or ksize() of a pointer no cache owns: counted, reported. */
static __cold void kfree_refused(const char *fn, const void *p, const char *why)
{
	kstat_add(kfree_bad, 1);
	uslab_report("%s(%p): %s", fn, p, why);
}

/* ---- Failure ---------------------------------------------------------- */

static __cold void *kmalloc_failed(size_t size, gfp_t gfp, int err)
{
	if (err == ENOMEM && (gfp & __GFP_NOFAIL)) {
		uslab_report("kmalloc(%zu): out of memory with __GFP_NOFAIL",
			     size);
		abort();
	}
	if (err == ENOMEM && !(gfp & __GFP_NOWARN))
		uslab_report("kmalloc(%zu): out of memory", size);
	errno = err;
	return NULL;
}

/* ---- Huge: a mapping of its own -------------------------------------- */

/*
 * The huge table: open addressing with linear probing, keyed by the
 * pointer handed out, in memory from mmap (never malloc: under
 * libuslab-malloc.so malloc is kmalloc).  Grown at 1/2 full.
 */
struct huge_ent {
	uintptr_t ptr; /* 0: empty */
	uintptr_t base; /* the mapping */
	size_t len; /* its length */
};

static pthread_mutex_t huge_lock = PTHREAD_MUTEX_INITIALIZER;
static struct huge_ent *huge_tab;
static size_t huge_cap, huge_nr; /* huge_cap: a power of two or 0 */

static size_t huge_slot(uintptr_t ptr, size_t cap)
{
	/* Pointers are page-aligned: mix the page number. */
	return (size_t)(((ptr >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ULL) >> 20) &
	       (cap - 1);
}

static int huge_grow_locked(void)
{
	size_t cap = huge_cap ? huge_cap * 2 : 64, i, j;
	struct huge_ent *tab;

	tab = mmap(NULL, cap * sizeof(*tab), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tab == MAP_FAILED)
		return -1;
	for (i = 0; i < huge_cap; i++) {
		if (!huge_tab[i].ptr)
			continue;
		for (j = huge_slot(huge_tab[i].ptr, cap); tab[j].ptr;
		     j = (j + 1) & (cap - 1))
			;
		tab[j] = huge_tab[i];
	}
	if (huge_tab)
		munmap(huge_tab, huge_cap * sizeof(*tab));
	huge_tab = tab;
	huge_cap = cap;
	return 0;
}

/* The entry of @ptr, or NULL.  huge_lock held. */
static struct huge_ent *huge_find_locked(uintptr_t ptr)
{
	size_t i;

	if (!huge_cap)
		return NULL;
	for (i = huge_slot(ptr, huge_cap); huge_tab[i].ptr;
	     i = (i + 1) & (huge_cap - 1))
		if (huge_tab[i].ptr == ptr)
			return &huge_tab[i];
	return NULL;
}

/* Remove @e, moving back the entries its slot kept out of place. */
static void huge_remove_locked(struct huge_ent *e)
{
	size_t i = (size_t)(e - huge_tab), j = i, k;

	for (;;) {
		huge_tab[i].ptr = 0;
		for (;;) {
			j = (j + 1) & (huge_cap - 1);
			if (!huge_tab[j].ptr)
				return;
			k = huge_slot(huge_tab[j].ptr, huge_cap);
			/* Leave j where it is if its home lies in (i, j]. */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		huge_tab[i] = huge_tab[j];
		i = j;
	}
}

static void huge_fork_prepare(void)
{
	pthread_mutex_lock(&huge_lock);
}

static void huge_fork_parent(void)
{
	pthread_mutex_unlock(&huge_lock);
}

static void huge_fork_child(void)
{
	pthread_mutex_init(&huge_lock, NULL);
}

/*
 * Registered when the library is loaded, before uslab's own handlers
 * and, in practice, before any other's: fork() runs prepare handlers
 * last-registered first and child handlers first-registered first, so
 * huge_lock is taken after every other lock, and is usable again in the
 * child before any other handler (uslab's frees liburcu's memory there,
 * and under libuslab-malloc.so every free() may look in the table).
 */
__attribute__((constructor)) static void huge_init(void)
{
	pthread_atfork(huge_fork_prepare, huge_fork_parent, huge_fork_child);
}

static void *kmalloc_huge(size_t size, gfp_t gfp)
{
	size_t len = ALIGN(size, PAGE_SIZE), align = PAGE_SIZE, map_len;
	uintptr_t base, ptr;
	void *m;

	if (IS_POWER_OF_2(size))
		align = size;
	if (len < size || len + align - PAGE_SIZE < len)
		return kmalloc_failed(size, gfp, ENOMEM);
	map_len = len + align - PAGE_SIZE;
	m = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return kmalloc_failed(size, gfp, ENOMEM);
	base = (uintptr_t)m;
	ptr = ALIGN(base, align);
	/* Trim to @len at @ptr: the rest was only there to align it. */
	if (ptr > base)
		munmap(m, ptr - base);
	if (base + map_len > ptr + len)
		munmap((void *)(ptr + len), base + map_len - (ptr + len));

	pthread_mutex_lock(&huge_lock);
	if ((huge_nr + 1) * 2 > huge_cap && huge_grow_locked()) {
		pthread_mutex_unlock(&huge_lock);
		munmap((void *)ptr, len);
		return kmalloc_failed(size, gfp, ENOMEM);
	}
	{
		size_t i;

		for (i = huge_slot(ptr, huge_cap); huge_tab[i].ptr;
		     i = (i + 1) & (huge_cap - 1))
			;
		huge_tab[i] = (struct huge_ent){ ptr, ptr, len };
	}
	huge_nr++;
	pthread_mutex_unlock(&huge_lock);
	kstat_add(huge_allocs, 1);
	kstat_add(huge_bytes, len);
	return (void *)ptr; /* fresh anonymous memory reads as zeroes */
}

/* The usable length of huge @p, or 0 when it is not one. */
size_t huge_size(const void *p)
{
	struct huge_ent *e;
	size_t len = 0;

	pthread_mutex_lock(&huge_lock);
	e = huge_find_locked((uintptr_t)p);
	if (e)
		len = e->len;
	pthread_mutex_unlock(&huge_lock);
	return len;
}

/* Unmap huge @p; false when it is not one. */
bool huge_free(const void *p)
{
	struct huge_ent *e;
	uintptr_t base;
	size_t len;

	pthread_mutex_lock(&huge_lock);
	e = huge_find_locked((uintptr_t)p);
	if (!e) {
		pthread_mutex_unlock(&huge_lock);
		return false;
	}
	base = e->base;
	len = e->len;
	huge_remove_locked(e);
	huge_nr--;
	pthread_mutex_unlock(&huge_lock);
	munmap((void *)base, len);
	kstat_add(huge_frees, 1);
	kstat_sub(huge_bytes, len);
	return true;
}

/* ---- Large: a block of arena pages ------------------------------------ */

/* freelist of a large block's head: no slab has this pointer there. */
static char large_mark_byte;
#define LARGE_MARK ((void *)&large_mark_byte)

static void *kmalloc_large(size_t size, gfp_t gfp, int node)
{
	unsigned int order = 0;
	struct page_desc *d = NULL;
	struct slab *slab;
	const int *order_of;
	int i, nr;

	while ((PAGE_SIZE << order) < size)
		order++;
	if (node == NUMA_NO_NODE)
		node = numa_node_id();
	/* A block a kfree() kept: not zeroed (page.c's retained blocks). */
	d = page_alloc_retained(node, order);
	if (d) {
		slab = page_slab(d);
		if (gfp & __GFP_ZERO)
			memset(page_address(d), 0, PAGE_SIZE << order);
		goto mark;
	}
	d = page_alloc(node, order);
	if (!d && !(gfp & __GFP_THISNODE)) {
		order_of = topology_fallback(node, &nr);
		for (i = 0; i < nr && !d; i++)
			if (order_of[i] != node)
				d = page_alloc(order_of[i], order);
	}
	if (!d)
		return kmalloc_failed(size, gfp, ENOMEM);
	/*
	 * The block is private until returned.  cache is NULL already
	 * (page.c never writes it; a released slab cleared it).
	 */
	slab = page_slab(d);
mark:
	slab->s_mem = page_address(d);
	WRITE_ONCE(slab->freelist, LARGE_MARK);
	kstat_add(large_allocs, 1);
	kstat_add(large_bytes, PAGE_SIZE << order);
	return slab->s_mem; /* page_alloc()'s blocks read as zeroes */
}

/* Free the large block @p lies in; the caller saw no cache in @slab. */
static void kfree_large(struct slab *slab, const void *p)
{
	unsigned int order = slab_page(slab)->order;

	if (READ_ONCE(slab->freelist) != LARGE_MARK) {
		kfree_refused("kfree", p,
			      "not in an allocated object; not freed");
		return;
	}
	if (p != slab->s_mem) {
		kfree_refused("kfree", p,
			      "pointer into the middle of a block; not freed");
		return;
	}
	/* One of two racing frees of the block wins the mark. */
	if (__atomic_exchange_n(&slab->freelist, NULL, __ATOMIC_RELAXED) !=
	    LARGE_MARK) {
		kfree_refused("kfree", p, "double free; not freed");
		return;
	}
	kstat_add(large_frees, 1);
	kstat_sub(large_bytes, PAGE_SIZE << order);
	page_free_retain(slab_page(slab));
}

/* ---- kmalloc ---------------------------------------------------------- */

/* Every request but a ready size class: init, bad flags, 0, large. */
static __noinline void *kmalloc_slow(size_t size, gfp_t gfp, int node)
{
	if (gfp & ~__GFP_VALID_MASK) {
		uslab_report("kmalloc(%zu): unknown gfp bits 0x%x", size,
			     gfp & ~__GFP_VALID_MASK);
		errno = EINVAL;
		return NULL;
	}
	if (!size)
		return ZERO_SIZE_PTR;
	if (kmalloc_init())
		return kmalloc_failed(size, gfp, errno);
	if (unlikely(uslab_env.passthrough))
		return passthrough_kmalloc(size, gfp) ?:
			       kmalloc_failed(size, gfp, ENOMEM);
	if (size <= KMALLOC_MAX_CACHE_SIZE)
		return kmem_cache_alloc_node(
			kmalloc_caches[kmalloc_index(size)], gfp, node);
	if (node != NUMA_NO_NODE && !topology_node_valid(node)) {
		uslab_report("kmalloc_node(%zu): node %d does not exist", size,
			     node);
		errno = EINVAL;
		return NULL;
	}
	if (size > PTRDIFF_MAX)
		return kmalloc_failed(size, gfp, ENOMEM);
	if (size <= KMALLOC_MAX_PAGE_SIZE)
		return kmalloc_large(size, gfp, node);
	return kmalloc_huge(size, gfp);
}

/* Fast path: a class cache's kmem_cache_alloc(), as a tail call. */
__api void *kmalloc(size_t size, gfp_t flags)
{
	if (likely(size - 1 < KMALLOC_MAX_CACHE_SIZE &&
		   __atomic_load_n(&kmalloc_ready, __ATOMIC_ACQUIRE)))
		return kmem_cache_alloc(kmalloc_caches[kmalloc_index(size)],
					flags);
	return kmalloc_slow(size, flags, NUMA_NO_NODE);
}

__api void *kmalloc_node(size_t size, gfp_t flags, int node)
{
	if (likely(size - 1 < KMALLOC_MAX_CACHE_SIZE &&
		   __atomic_load_n(&kmalloc_ready, __ATOMIC_ACQUIRE)))
		return kmem_cache_alloc_node(
			kmalloc_caches[kmalloc_index(size)], flags, node);
	return kmalloc_slow(size, flags, node);
}

__api void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

__api void *kzalloc_node(size_t size, gfp_t flags, int node)
{
	return kmalloc_node(size, flags | __GFP_ZERO, node);
}

__api void *kmalloc_array(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (unlikely(__builtin_mul_overflow(n, size, &bytes))) {
		errno = ENOMEM;
		return NULL;
	}
	return kmalloc(bytes, flags);
}

__api void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	return kmalloc_array(n, size, flags | __GFP_ZERO);
}

/* ---- kfree and ksize ---------------------------------------------------- */

/* Not a slab object: a large block, a huge mapping, or a bad pointer. */
static __noinline void kfree_other(const void *p)
{
	struct page_desc *d;

	if (page_in_arena(p)) {
		d = page_head_of(p);
		if (!d)
			kfree_refused("kfree", p,
				      "not in an allocated object; not freed");
		else
			kfree_large(page_slab(d), p);
		return;
	}
	if (unlikely(uslab_env.passthrough)) {
		free((void *)p); /* a bad pointer is free()'s to report */
		return;
	}
	if (!huge_free(p))
		kfree_refused("kfree", p,
			      "not a uslab object (foreign pointer); not "
			      "freed");
}

/*
 * Any kmalloc() object or object of any cache: the view of its page
 * (slab_view_of()) names its cache, and cache_free_view() checks
 * the rest (as kmem_cache_free() would, without finding the slab
 * again).
 */
__api void kfree(const void *p)
{
	struct slab_view *view;
	struct kmem_cache *s;

	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	s = view_cache_of(p, &view);
	if (likely(s)) {
		cache_free_view(s, view, (void *)p);
		return;
	}
	kfree_other(p);
}

/*
 * Bytes usable at @p: its cache's object size, its block's or its
 * mapping's length.  0 for NULL and ZERO_SIZE_PTR, and (reported) for a
 * pointer uslab did not hand out.  An object in a slab is taken at its
 * word: a pointer into the middle of one gets the object's size.
 */
__api size_t ksize(const void *p)
{
	struct slab_view *view;
	struct slab *slab;
	struct kmem_cache *s;
	size_t len;

	if (ZERO_OR_NULL_PTR(p))
		return 0;
	/* A slab's object: its own page's view names the cache. */
	s = view_cache_of(p, &view);
	if (likely(s))
		return s->object_size;
	slab = virt_to_slab(p);
	if (slab) {
		if (READ_ONCE(slab->freelist) == LARGE_MARK && p == slab->s_mem)
			return PAGE_SIZE << slab_page(slab)->order;
	} else if (!page_in_arena(p) && uslab_env.passthrough) {
		return malloc_usable_size((void *)p);
	} else if (!page_in_arena(p) && (len = huge_size(p))) {
		return len;
	}
	kfree_refused("ksize", p, "not a uslab object");
	return 0;
}

/* ---- krealloc, strings ---------------------------------------------- */

/*
 * As the kernel: NULL @p is kmalloc(); 0 bytes frees @p and gives
 * ZERO_SIZE_PTR; a size that still fits ksize(@p) keeps @p (with
 * __GFP_ZERO the bytes past @new_size are zeroed); otherwise a new
 * object gets the old contents and @p is freed.  On failure, NULL and
 * @p untouched.
 */
__api void *krealloc(const void *p, size_t new_size, gfp_t flags)
{
	size_t ks;
	void *q;

	if (unlikely(!new_size)) {
		kfree(p);
		return ZERO_SIZE_PTR;
	}
	ks = ZERO_OR_NULL_PTR(p) ? 0 : ksize(p);
	if (!ZERO_OR_NULL_PTR(p) && !ks)
		return NULL; /* not ours: reported by ksize() */
	if (ks >= new_size) {
		if (flags & __GFP_ZERO)
			memset((char *)p + new_size, 0, ks - new_size);
		return (void *)p;
	}
	q = kmalloc(new_size, flags);
	if (!q)
		return NULL;
	if (ks)
		memcpy(q, p, ks);
	kfree(p);
	return q;
}

__api void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = kmalloc(len, gfp);

	if (p && len)
		memcpy(p, src, len);
	return p;
}

__api char *kstrdup(const char *s, gfp_t gfp)
{
	return s ? kmemdup(s, strlen(s) + 1, gfp) : NULL;
}

__api char *kstrndup(const char *s, size_t max, gfp_t gfp)
{
	size_t len;
	char *p;

	if (!s)
		return NULL;
	len = strnlen(s, max);
	p = kmalloc(len + 1, gfp);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* ---- kvmalloc ---------------------------------------------------------- */

/*
 * kmalloc() already maps what the arena cannot hold, so kvmalloc() is
 * kmalloc() with the kernel's limit: more than INT_MAX bytes is refused
 * (reported unless __GFP_NOWARN).
 */
__api void *kvmalloc(size_t size, gfp_t flags)
{
	if (unlikely(size > INT_MAX)) {
		if (!(flags & __GFP_NOWARN))
			uslab_report("kvmalloc(%zu): more than INT_MAX bytes",
				     size);
		errno = ENOMEM;
		return NULL;
	}
	return kmalloc(size, flags);
}

__api void *kvzalloc(size_t size, gfp_t flags)
{
	return kvmalloc(size, flags | __GFP_ZERO);
}

__api void kvfree(const void *addr)
{
	kfree(addr);
}
