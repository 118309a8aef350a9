/* SPDX-License-Identifier: MIT */
/*
 * uslab: the Linux kmem_cache API in userspace.
 *
 * Every function is thread-safe and the library initialises itself on the
 * first kmem_cache_create(); no other call is needed first.
 * Documentation/api.md describes each call; the semantics follow Linux
 * (include/linux/slab.h) wherever userspace allows.
 */
#ifndef USLAB_SLAB_H
#define USLAB_SLAB_H

#include <stddef.h>
#include <uslab/gfp.h>
/*
 * struct rcu_head, for kfree_rcu() and kin, is liburcu's, and uslab's
 * grace periods are those of its urcu-bp flavour: readers use
 * urcu_bp_read_lock() (rcu_read_lock() here).
 */
#include <urcu/urcu-bp.h>
#include <urcu/call-rcu.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned long slab_flags_t;

/* Cache flags; the values are Linux's historic ones. */
#define SLAB_CONSISTENCY_CHECKS 0x00000100UL /* check free pointers (debug) */
#define SLAB_RED_ZONE 0x00000400UL /* guard bytes after objects */
#define SLAB_POISON 0x00000800UL /* fill free objects with 0x6b */
#define SLAB_HWCACHE_ALIGN 0x00002000UL /* align objects to cache lines */
#define SLAB_STORE_USER 0x00010000UL /* record last alloc/free caller */
#define SLAB_RECLAIM_ACCOUNT 0x00020000UL /* accepted, no effect */
#define SLAB_PANIC 0x00040000UL /* abort if creation fails */
#define SLAB_TYPESAFE_BY_RCU 0x00080000UL /* slab memory outlives RCU readers */
#define SLAB_NO_MERGE 0x01000000UL /* accepted: uslab never merges */
#define SLAB_FAILSLAB 0x02000000UL /* USLAB_FAILSLAB_FILTER=1 may fail it */

#define SLAB_DEBUG_FLAGS                                         \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | \
	 SLAB_STORE_USER)

#define NUMA_NO_NODE (-1)

/* Largest object a cache can hold (bytes). */
#define KMEM_CACHE_MAX_SIZE (256u * 1024u)

struct kmem_cache;

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
				     unsigned int align, slab_flags_t flags,
				     void (*ctor)(void *));
void kmem_cache_destroy(struct kmem_cache *s);

void *kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp);
void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t gfp, int node);
void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *s, void *obj);

int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t n, void **p);
void kmem_cache_free_bulk(struct kmem_cache *s, size_t n, void **p);

int kmem_cache_shrink(struct kmem_cache *s);
unsigned int kmem_cache_size(struct kmem_cache *s);
const char *kmem_cache_name(struct kmem_cache *s);

/*
 * Check every slab of @s, as "slabinfo -v" has SLUB do: each freelist
 * leads only to free slots of its slab, with as many as the slab has
 * free, and with debug flags each object's red zone and a free object's
 * poison are intact.  Each problem is reported on stderr; a damaged
 * pattern is mended, a slab with a broken freelist is taken out of use.
 * Returns the number of problems found; -1 with EINVAL for a NULL @s.
 */
int uslab_cache_validate(struct kmem_cache *s);

/*
 * The NUMA node of the CPU the caller runs on, numbered as uslab numbers
 * nodes (USLAB_FAKE_NUMA's split, or the machine's): the node whose
 * objects kmem_cache_alloc() hands out on this CPU, and the one for
 * which kmem_cache_alloc_node() takes the per-CPU fast path.  A thread
 * may move right after the call: pin it for a lasting answer.  Starts
 * the library if it was not started; 0 if it cannot start.
 */
int uslab_cpu_node(void);

/*
 * kmalloc: variable-size allocations in the kernel's size classes,
 * kmalloc-8 ... kmalloc-8k (96 and 192 included), each a uslab cache of
 * that name.  Larger requests take whole pages of the arena, up to
 * KMALLOC_MAX_PAGE_SIZE, and their own mapping beyond.  Power-of-two
 * sizes are naturally aligned; every object is at least 8-aligned.
 * kfree() and ksize() also take objects of any kmem_cache.
 * kmalloc(0) returns ZERO_SIZE_PTR, which kfree() accepts.
 */
#define KMALLOC_MIN_SIZE 8
#define KMALLOC_MAX_CACHE_SIZE 8192 /* the largest size class */
#define KMALLOC_MAX_PAGE_SIZE (2UL << 20) /* arena pages up to here */
#define ZERO_SIZE_PTR ((void *)16)
#define ZERO_OR_NULL_PTR(x) ((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

void *kmalloc(size_t size, gfp_t flags);
void *kzalloc(size_t size, gfp_t flags);
void *kmalloc_node(size_t size, gfp_t flags, int node);
void *kzalloc_node(size_t size, gfp_t flags, int node);
void *kmalloc_array(size_t n, size_t size, gfp_t flags);
void *kcalloc(size_t n, size_t size, gfp_t flags);
void *krealloc(const void *p, size_t new_size, gfp_t flags);
void kfree(const void *p);
size_t ksize(const void *p);
char *kstrdup(const char *s, gfp_t gfp);
char *kstrndup(const char *s, size_t max, gfp_t gfp);
void *kmemdup(const void *src, size_t len, gfp_t gfp);
void *kvmalloc(size_t size, gfp_t flags);
void *kvzalloc(size_t size, gfp_t flags);
void kvfree(const void *addr);

/*
 * RCU-deferred frees: the object is freed with kvfree() after an
 * urcu-bp grace period, so readers inside urcu_bp_read_lock() sections
 * that began before the call never see it freed.  Frees are batched per
 * CPU, one call_rcu() per batch; the object's rcu_head is used only when
 * no batch memory can be had.  kvfree_rcu_barrier() returns once every
 * object queued before it is freed; it must not be called inside a
 * read-side section or a call_rcu() callback.
 */
void kvfree_call_rcu(struct rcu_head *head, void *ptr);
void kmem_cache_call_rcu(struct kmem_cache *s, struct rcu_head *head,
			 void *obj);
void kvfree_rcu_mightsleep(void *ptr);
void kvfree_rcu_barrier(void);

/* @ptr is evaluated once; NULL is a no-op, as in Linux. */
#define kfree_rcu(ptr, rhf)                                        \
	do {                                                       \
		__typeof__(ptr) ___p = (ptr);                      \
		if (___p)                                          \
			kvfree_call_rcu(&___p->rhf, (void *)___p); \
	} while (0)
#define kvfree_rcu(ptr, rhf) kfree_rcu(ptr, rhf)
#define kmem_cache_free_rcu(s, ptr, rhf)                                    \
	do {                                                                \
		__typeof__(ptr) ___p = (ptr);                               \
		if (___p)                                                   \
			kmem_cache_call_rcu((s), &___p->rhf, (void *)___p); \
	} while (0)
#define kfree_rcu_mightsleep(ptr) kvfree_rcu_mightsleep((void *)(ptr))

/* A cache named after a struct, sized and aligned for it. */
#define KMEM_CACHE(__struct, __flags)                         \
	kmem_cache_create(#__struct, sizeof(struct __struct), \
			  __alignof__(struct __struct), (__flags), NULL)

/*
 * DEFINE_KMEM_CACHE(name, type, flags, ctor): a type-safe cache.
 *
 * Defines, with static linkage in the including file:
 *	int   name_create(void);	0, or -1 with errno set
 *	void  name_destroy(void);
 *	type *name_alloc(gfp_t gfp);
 *	type *name_zalloc(gfp_t gfp);
 *	type *name_alloc_node(gfp_t gfp, int node);
 *	void  name_free(type *obj);
 *	int   name_alloc_bulk(gfp_t gfp, size_t n, type **p);
 *	void  name_free_bulk(size_t n, type **p);
 *	struct kmem_cache *name_cachep;	the underlying cache
 * ctor is NULL or a function taking a type *.  Freeing a pointer of the
 * wrong type is diagnosed by the compiler (-Wincompatible-pointer-types,
 * an error under -Werror and by default from GCC 14).  The cache's name
 * is #name.
 */
#define __KMEM_CACHE_FN static inline __attribute__((unused))

#define DEFINE_KMEM_CACHE(name, type, flags, ctor)                           \
	static struct kmem_cache *name##_cachep;                             \
	static __attribute__((unused)) void name##_ctor_thunk(void *obj)     \
	{                                                                    \
		void (*fn)(type *) = (ctor);                                 \
		fn((type *)obj);                                             \
	}                                                                    \
	__KMEM_CACHE_FN int name##_create(void)                              \
	{                                                                    \
		void (*fn)(type *) = (ctor);                                 \
		name##_cachep = kmem_cache_create(                           \
			#name, sizeof(type), __alignof__(type), (flags),     \
			fn ? name##_ctor_thunk : NULL);                      \
		return name##_cachep ? 0 : -1;                               \
	}                                                                    \
	__KMEM_CACHE_FN void name##_destroy(void)                            \
	{                                                                    \
		kmem_cache_destroy(name##_cachep);                           \
		name##_cachep = NULL;                                        \
	}                                                                    \
	__KMEM_CACHE_FN type *name##_alloc(gfp_t gfp)                        \
	{                                                                    \
		return (type *)kmem_cache_alloc(name##_cachep, gfp);         \
	}                                                                    \
	__KMEM_CACHE_FN type *name##_zalloc(gfp_t gfp)                       \
	{                                                                    \
		return (type *)kmem_cache_zalloc(name##_cachep, gfp);        \
	}                                                                    \
	__KMEM_CACHE_FN type *name##_alloc_node(gfp_t gfp, int node)         \
	{                                                                    \
		return (type *)kmem_cache_alloc_node(name##_cachep, gfp,     \
						     node);                  \
	}                                                                    \
	__KMEM_CACHE_FN void name##_free(type *obj)                          \
	{                                                                    \
		kmem_cache_free(name##_cachep, obj);                         \
	}                                                                    \
	__KMEM_CACHE_FN int name##_alloc_bulk(gfp_t gfp, size_t n, type **p) \
	{                                                                    \
		return kmem_cache_alloc_bulk(name##_cachep, gfp, n,          \
					     (void **)p);                    \
	}                                                                    \
	__KMEM_CACHE_FN void name##_free_bulk(size_t n, type **p)            \
	{                                                                    \
		kmem_cache_free_bulk(name##_cachep, n, (void **)p);          \
	}

#ifdef __cplusplus
}
#endif

/*
 * USLAB_INLINE, defined before this header is included: the fast paths
 * of kmem_cache_alloc(), kmem_cache_alloc_node(), kmem_cache_free() and
 * kfree() are inline in the caller, each falling back to the library's
 * function for the rest (<uslab/fastpath.h>).  Same results; the program
 * must then run with the library whose headers it was built with.
 * No effect where the fast path is not inline (see that header).
 */
#ifdef USLAB_INLINE
#include <uslab/fastpath.h>
#endif
#if defined(USLAB_INLINE) && defined(__USLAB_INLINE_OK)
static __uslab_always_inline void *
__uslab_alloc_node_inline(struct kmem_cache *s, gfp_t gfp, int node)
{
	void *obj;

	if (__uslab_likely(s && !(gfp & __USLAB_GFP_NOT_FAST)) &&
	    __uslab_likely(__uslab_alloc_fast(s, node, &obj)))
		return obj;
	return (kmem_cache_alloc_node)(s, gfp, node);
}

static __uslab_always_inline void __uslab_free_inline(struct kmem_cache *s,
						      void *obj)
{
	if (__uslab_likely(__uslab_free_fast(s, obj)))
		return;
	(kmem_cache_free)(s, obj);
}

static __uslab_always_inline void __uslab_kfree_inline(const void *p)
{
	const char *v = __uslab_view_of(p);
	struct kmem_cache *s;

	if (__uslab_likely(v && (s = __uslab_view_cache(v))) &&
	    __uslab_likely(__uslab_free_view_fast(s, v, (void *)p)))
		return;
	(kfree)(p);
}

#define kmem_cache_alloc(s, gfp) \
	__uslab_alloc_node_inline((s), (gfp), NUMA_NO_NODE)
#define kmem_cache_alloc_node(s, gfp, node) \
	__uslab_alloc_node_inline((s), (gfp), (node))
#define kmem_cache_free(s, obj) __uslab_free_inline((s), (obj))
#define kfree(p) __uslab_kfree_inline(p)
#endif

#endif /* USLAB_SLAB_H */
