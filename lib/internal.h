/* SPDX-License-Identifier: MIT */
/*
 * uslab internals: private structures and prototypes, grouped by the file
 * that defines them.  Nothing here is part of the public API.
 *
 * LOCK ORDER (take only downwards; never hold two of one level, except
 * where a comment says how two are ordered):
 *   0. shrinker_lock        reclaim.c   the shrinkers (a rwlock, read
 *                                       while they run, no other held)
 *   1. slab_mutex           cache.c     the cache registry
 *      drain_mutex          cache.c     below (1), above (2): a drain by
 *                                       kmem_cache_shrink() or destroy,
 *                                       against fork()
 *   2. kmem_cache_cpu.lock  magazine.c  one cache's slot on one CPU
 *   3. depot.lock           depot.c     one cache's depot on one node
 *   4. kmem_cache_node.lock slab.c      one cache's slab lists on one node
 *   5. page_node.lock       page.c      one node's free page blocks
 * The slab layer drops (4) before calling into the page layer when it can,
 * and never calls a constructor while holding any of them.
 *
 * RCU (liburcu-bp): read-side sections (uslab_rcu_read_lock) wait for
 * nothing inside them; they are entered with no lock held, or with (1)
 * held by the statistics walks under uslab_for_each_cache() (the export
 * thread, uslab_slabinfo).  call_rcu() is called with (1), (2) or
 * (3) held, never (4) or (5): it may enter a read-side section itself,
 * which fork's hook order allows (see the top of cache.c).
 */
#ifndef USLAB_INTERNAL_H
#define USLAB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu/urcu-bp.h> /* before call-rcu.h: maps its names */
#include <urcu/call-rcu.h>

#include <generated/autoconf.h>
#include <uslab/shrinker.h>
#include <uslab/slab.h>
#include <uslab/stats.h>

#include "compiler.h"
#include "list.h"
#include "selfcheck.h"

/* Library-internal: direct, not GOT, access from the -fPIC build. */
#pragma GCC visibility push(hidden)

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)

/* Page blocks come in orders 0..PAGE_MAX_ORDER; slabs use the same. */
#define PAGE_MAX_ORDER 9
#define MAX_SLAB_ORDER PAGE_MAX_ORDER
#define MAX_SLAB_SIZE (PAGE_SIZE << MAX_SLAB_ORDER)
#define MIN_OBJ_ALIGN 8 /* ARCH_SLAB_MINALIGN */
#define MAX_OBJ_ALIGN PAGE_SIZE

#define MAX_NUMNODES CONFIG_MAX_NODES

BUILD_BUG_ON(KMEM_CACHE_MAX_SIZE * 4 > MAX_SLAB_SIZE);

/*
 * Locks held for a few dozen instructions (depot, slab node): a waiter
 * spins briefly before it sleeps (glibc's adaptive mutex) instead of
 * paying a futex sleep and wake-up on every contended hand-over.
 */
static inline void mutex_init_adaptive(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
}

/* ---- page.c: backing memory and page descriptors ------------------- */

enum page_type {
	PT_NONE = 0, /* not handed out (never committed, or free tail) */
	PT_BUDDY, /* first page of a free block of 2^order pages */
	PT_HEAD, /* first page of an allocated block (a slab) */
	PT_TAIL, /* later page of an allocated block */
};

/*
 * One descriptor per 4 KiB page of the arena, in a flat array, so that an
 * address maps to its descriptor by a subtraction and a shift.  page.c
 * owns type, order, node and head_off, and the buddy link of a free
 * block's first page; the rest is opaque to it.  While a block is
 * allocated, its owner overlays its own state on the head descriptor
 * (the slab layer's struct slab, as the kernel's overlays struct page),
 * the buddy link's bytes included; tail descriptors point back to it.
 * Fields marked (p) are guarded by the page node lock; the rest are set
 * while the block is private to one thread and stay fixed while it is
 * allocated.
 */
struct page_desc {
	unsigned long __owner_a[2]; /* the block owner's */
	struct list_head buddy; /* (p) free block's list link */
	unsigned long __owner_b[2]; /* the block owner's */
	uint8_t type; /* enum page_type, (p) */
	uint8_t order; /* block order (head/buddy) */
	uint16_t node; /* home node of the page */
	uint32_t head_off; /* tail: pages back to the head */
	unsigned long __owner_c; /* the block owner's */
};
BUILD_BUG_ON(sizeof(struct page_desc) != 64);

/*
 * The free fast paths' record of an arena page (page_map.views, one per
 * page, 16 bytes: four pages to a cache line, where a page descriptor
 * fills one alone).  @cache is the slab's while the page belongs to a
 * live slab and NULL otherwise; @mem_node packs the slab's first object
 * (s_mem, below 2^48: page_init() checks the arena) above the page's
 * node (16 bits).  Written by slab.c only (new_slab(), slab_release()).
 */
struct slab_view {
	struct kmem_cache *cache;
	unsigned long mem_node;
};
BUILD_BUG_ON(sizeof(struct slab_view) != 16);
#define VIEW_NODE_BITS 16
BUILD_BUG_ON(MAX_NUMNODES > 1 << VIEW_NODE_BITS);

static inline char *view_s_mem(const struct slab_view *v)
{
	return (char *)(v->mem_node >> VIEW_NODE_BITS);
}

static inline int view_node(const struct slab_view *v)
{
	return (uint16_t)v->mem_node;
}

/* Set once by page_init(), read-only afterwards. */
extern struct page_map {
	char *base;
	unsigned long size; /* bytes from base */
	struct page_desc *descs;
	struct slab_view *views;
} page_map;

extern long percpu_rseq_off; /* rseq.c: the rseq area's offset from %fs */

/*
 * The fast path of kmem_cache_alloc(), _node() and kmem_cache_free() is
 * <uslab/fastpath.h>'s, which a program may also have inline
 * (USLAB_INLINE): here it reads the library's own variables, directly,
 * and tells ThreadSanitizer what the sections order.  The program reads
 * their published copy (__uslab_fast<N>, written by mag_init()).  The
 * layout it assumes is checked in magazine.c.
 */
#define __USLAB_RSEQ_OFF percpu_rseq_off
#define __USLAB_ARENA_BASE (page_map.base)
#define __USLAB_ARENA_SIZE (page_map.size)
#define __USLAB_ARENA_VIEWS ((const char *)page_map.views)
#define __USLAB_TSAN_ACQUIRE(p) tsan_acquire(p)
#define __USLAB_TSAN_RELEASE(p) tsan_release(p)
#pragma GCC visibility pop
#include <uslab/fastpath.h>
#pragma GCC visibility push(hidden)

int page_init(int nr_nodes);

/* One unsigned compare: a pointer below base wraps to a huge offset. */
static inline bool page_in_arena(const void *p)
{
	return (unsigned long)p - (unsigned long)page_map.base < page_map.size;
}

/*
 * The descriptor of an arena address; @p must be in the arena.  Never
 * NULL, which the compiler is told so that callers' NULL tests of a
 * result that came from here cost nothing.
 */
static inline struct page_desc *__page_desc_of(const void *p)
{
	struct page_desc *d = &page_map.descs[((unsigned long)p -
					       (unsigned long)page_map.base) >>
					      PAGE_SHIFT];

	if (!d)
		__builtin_unreachable();
	return d;
}

static inline struct page_desc *page_desc_of(const void *p)
{
	if (!page_in_arena(p))
		return NULL;
	return __page_desc_of(p);
}

/*
 * Head descriptor of the allocated block holding @p, or NULL when @p is
 * outside the arena or in memory that is not handed out.  Lock-free: for
 * a pointer into a live slab every field read here is stable.
 */
static inline struct page_desc *page_head_of(const void *p)
{
	struct page_desc *d;
	uint8_t type;

	if (!page_in_arena(p))
		return NULL;
	d = __page_desc_of(p);
	type = READ_ONCE(d->type);
	if (type == PT_TAIL) {
		d -= READ_ONCE(d->head_off);
		type = READ_ONCE(d->type);
	}
	return type == PT_HEAD ? d : NULL;
}

struct page_desc *page_alloc(int node, unsigned int order);
void page_free(struct page_desc *head);
struct page_desc *page_alloc_retained(int node, unsigned int order);
void page_free_retain(struct page_desc *head);
unsigned long page_retained_reap(void);
unsigned long page_retained_drain(void);
unsigned long page_retained_pages(void);
void *page_address(const struct page_desc *d);
unsigned long page_resident_bytes(int node);
#ifdef USLAB_TEST_HOOKS /* the test programs' library only */
void page_set_limit(long pages); /* -1 = no limit */
void page_set_node_limit(int node, long pages); /* -1 = none */
#endif
void page_fork_prepare(void);
void page_fork_parent(void);
void page_fork_child(void);
unsigned long page_total_resident(void);
void page_set_budget(unsigned long pages); /* 0: none */
unsigned long page_get_budget(void);

/* ---- topology.c: CPUs and nodes ------------------------------------- */

int topology_init(void);
int topology_nr_nodes(void);
int numa_node_id(void); /* node of the calling CPU */
int topology_cpu_node(int cpu);
bool topology_node_valid(int node); /* exists and may be used */
bool topology_is_fake(void); /* USLAB_FAKE_NUMA */
int topology_distance(int a, int b);
const int *topology_fallback(int node, int *nr);
int topology_bind(void *addr, unsigned long len, int node); /* MPOL_BIND */
#ifdef USLAB_TEST_HOOKS
int uslab_topology_reinit(const char *root, const unsigned long *allowed);
#endif

/* ---- slab.c: slabs of one cache ------------------------------------- */

enum slab_list { SL_NONE, SL_PARTIAL, SL_FULL, SL_FREE };

/*
 * A slab's state, overlaid on the head descriptor of its page block as
 * the kernel's struct slab overlays struct page: page.c's fields keep
 * their offsets (the __page_ fields, never touched here) and the slab
 * layer has the rest.  Fields marked (n) are guarded by the owning
 * cache's node lock; the rest are set while the slab is private to one
 * thread (new_slab()) and stay fixed until it is released.
 */
struct slab {
	struct kmem_cache *cache; /* owning cache; NULL once released */
	void *freelist; /* (n) first free object */
	union {
		struct list_head list; /* (n) partial/full/free list */
		struct rcu_head rcu; /* SLAB_TYPESAFE_BY_RCU release */
	};
	char *s_mem; /* first object (after colouring) */
	unsigned int inuse; /* (n) objects handed out */
	unsigned int objects; /* objects laid out in this slab */
	uint8_t __page_type; /* page.c's, never written here */
	uint8_t __page_order;
	uint16_t __page_node;
	uint32_t __page_head_off;
	uint8_t slab_list; /* (n) enum slab_list it sits on */
	uint8_t corrupt; /* (n) freelist found corrupt: out of use */
	/*
	 * (n) The last @fresh slots of the slab's layout order (address
	 * order, or the cache's random sequence from @fresh_start) were
	 * never handed out and are not on the freelist; slab.c says which
	 * slabs are laid out so (new_slab()).  0 for the others.
	 */
	uint16_t fresh;
	uint16_t fresh_start;
	uint8_t pad[2];
};

/* The overlay is exact: one size, page.c's fields at page.c's offsets. */
#define SLAB_MATCH(pg, sl)                             \
	BUILD_BUG_ON(offsetof(struct page_desc, pg) != \
		     offsetof(struct slab, sl))
SLAB_MATCH(type, __page_type);
SLAB_MATCH(order, __page_order);
SLAB_MATCH(node, __page_node);
SLAB_MATCH(head_off, __page_head_off);
#undef SLAB_MATCH
BUILD_BUG_ON(sizeof(struct slab) != sizeof(struct page_desc));
/* The slab's fields lie in the opaque space and the buddy link only. */
BUILD_BUG_ON(offsetof(struct slab, objects) + sizeof(unsigned int) >
	     offsetof(struct page_desc, type));
BUILD_BUG_ON(offsetof(struct slab, slab_list) <
	     offsetof(struct page_desc, head_off) + sizeof(uint32_t));
/*
 * ->cache is read without locks by kmem_cache_free(): page.c never writes
 * its bytes, so a released slab's cache stays NULL while page.c has it.
 */
BUILD_BUG_ON(offsetof(struct slab, cache) + sizeof(void *) >
	     offsetof(struct page_desc, buddy));

/* Conversions are casts: no code. */
static inline struct slab *page_slab(const struct page_desc *page)
{
	return (struct slab *)page;
}

static inline struct page_desc *slab_page(const struct slab *slab)
{
	return (struct page_desc *)slab;
}

static inline int slab_nid(const struct slab *slab)
{
	return slab_page(slab)->node;
}

/* The view (struct slab_view) of the page @page describes. */
static inline struct slab_view *page_view(const struct page_desc *page)
{
	return &page_map.views[page - page_map.descs];
}

/* The slab holding @p, or NULL (page_head_of()'s rules). */
static inline struct slab *virt_to_slab(const void *p)
{
	return page_slab(page_head_of(p));
}

/*
 * The free fast paths' lookup: @p's page's view (struct slab_view), one
 * 16-byte read where virt_to_slab() reads a 64-byte descriptor, two for
 * a tail page.  NULL outside the arena.
 *
 * A view's cache is the test of ownership, not the page's type: it is
 * non-NULL only while the page belongs to a live slab, since new_slab()
 * sets it last (mmap()'s zeroes to begin with), slab_release() clears it
 * first, and the other owner of blocks (kmalloc's large ones) leaves it
 * NULL.  Callers test the cache first and read mem_node only if it is
 * one: a load and a compare fewer on every free.
 */
static inline struct slab_view *slab_view_of(const void *p)
{
	return (struct slab_view *)__uslab_view_of(p);
}

/*
 * The cache of the live slab holding @p, read from @p's page view
 * (*@viewp, NULL outside the arena); NULL when no slab holds it.
 * Reports nothing: kfree(), ksize() and the free paths begin here.
 */
static inline struct kmem_cache *view_cache_of(const void *p,
					       struct slab_view **viewp)
{
	struct slab_view *view = slab_view_of(p);

	*viewp = view;
	return view ? READ_ONCE(view->cache) : NULL;
}

/*
 * Home node of @obj, a slot of a live slab: its page's view, which the
 * free fast path has just read, where the descriptor would be a 64-byte
 * line of its own (two for a tail page).  Every page of a slab comes
 * from one node, and new_slab() set the view's node before its cache.
 */
static inline int obj_home(const void *obj)
{
	return view_node(slab_view_of(obj));
}

struct kmem_cache_node {
	pthread_mutex_t lock;
	struct list_head partial; /* some objects free */
	struct list_head full; /* no object free */
	struct list_head free; /* all objects free, memory kept */
	unsigned long nr_partial, nr_full, nr_free;
	/* laid out in all slabs; written with WRITE_ONCE (lockless reader) */
	unsigned long total_objects;
	unsigned long active_objects; /* handed out */
	unsigned long slabs_allocated, slabs_released;
	unsigned long free_min; /* least nr_free since last reap */
} __cacheline_aligned;

/*
 * Event counters of one node's objects, one set per CPU (a row of
 * kmem_cache.ev_rows per CPU, each row whole cache lines): allocs and
 * frees (CONFIG_STATS) count the objects handed out and given back by
 * every path but the rseq fast path, which counts in its slot
 * (kmem_cache_cpu); remote_frees those freed on other nodes' CPUs.
 * Relaxed atomic adds to the row of the CPU the thread runs on, so that
 * the slow paths of different CPUs do not bounce one line between them;
 * a thread moved meanwhile adds to another CPU's row, which only costs
 * locality.  Readers add the rows up (stat_node_events()).
 */
struct node_events {
	unsigned long allocs, frees;
	unsigned long remote_frees;
};

struct kmem_cache {
	/*
	 * Read-mostly, on every alloc and free: the first cache line.
	 * cpu_slab is NULL for caches that bypass the magazine layer;
	 * cpu_fast, which the fast paths index, is then mag_no_slots, so
	 * they need no test of their own (magazine.c).
	 */
	struct kmem_cache_cpu *cpu_fast; /* [nr_cpu_ids] */
	struct kmem_cache_cpu *cpu_slab; /* [nr_cpu_ids] */
	uint64_t size_inv; /* for obj_slot_index() */
	unsigned int size_shift;
	unsigned int object_size; /* what the user asked for */
	unsigned int size; /* slot stride */
	unsigned int offset; /* free pointer offset in the slot */
	unsigned int inuse; /* object + red zone, before metadata */
	unsigned int order; /* slab = 2^order pages */
	unsigned int objects; /* objects per slab */
	uint64_t reciprocal_size; /* for obj_index() */
	slab_flags_t flags;
	void (*ctor)(void *);
	unsigned long random; /* CONFIG_SLAB_FREELIST_HARDENED secret */

	/* Layout. */
	unsigned int align;
	unsigned int colour_off; /* colouring step */
	unsigned int colours; /* distinct colours per slab */
	unsigned int colour_next; /* atomic, next slab's colour */
	unsigned int min_partial; /* empty slabs kept per node */
	unsigned int track_off; /* SLAB_STORE_USER records */
	/* CONFIG_SLAB_FREELIST_RANDOM: slot offsets, a random permutation. */
	unsigned int *random_seq;

	/* Registry (slab_mutex). */
	char *name;
	struct list_head list;
	bool leaked; /* destroyed with live objects */
	bool passthrough; /* USLAB_PASSTHROUGH: objects from malloc */
	bool failslab; /* USLAB_FAILSLAB may fail its allocations */

	unsigned long bad_frees; /* atomic */
	unsigned long failslab_injected; /* atomic */
	unsigned int nr_nodes;
	struct kmem_cache_node *node[MAX_NUMNODES];
	/* [nr_cpu_ids] rows of nr_nodes, ev_row_bytes apart (stat_add()) */
	struct node_events *ev_rows;
	unsigned int ev_row_bytes;

	/* Magazine layer (and cpu_slab, above). */
	struct alien_slot *cpu_alien; /* [nr_cpu_ids][nr_nodes] */
	struct depot *depot[MAX_NUMNODES];
};

#define RECIPROCAL_SHIFT 43

/* Index of the object at byte offset @off from s_mem. */
static inline unsigned int obj_index(const struct kmem_cache *s,
				     unsigned long off)
{
	return (unsigned int)((off * s->reciprocal_size) >> RECIPROCAL_SHIFT);
}

/*
 * The index of the slot at byte offset @off from s_mem if @off is a
 * whole number of slots, else a number no slab reaches: one multiply,
 * no division.  size = odd << size_shift, and size_inv is odd's inverse
 * modulo 2^64, so for off = i * size the product is i << size_shift and
 * the rotation gives i back.  The map is a bijection of 64-bit words,
 * so any other offset (not a multiple, or below s_mem and wrapped)
 * lands on a value no slot index has: at least 2^64 / size.  A caller
 * checks the result against the slab's objects.  The free fast path's
 * code (__uslab_slot_index()).
 */
static inline unsigned long obj_slot_index(const struct kmem_cache *s,
					   unsigned long off)
{
	return __uslab_slot_index(s, off);
}

/*
 * A free pointer as stored at @where (CONFIG_SLAB_FREELIST_HARDENED: the
 * kernel's freelist_ptr() encoding, XOR with the cache's secret and the
 * byte-swapped address it is stored at; its own inverse).
 */
static inline uintptr_t freelist_ptr(const struct kmem_cache *s, uintptr_t v,
				     const void *where)
{
	if (IS_ENABLED(CONFIG_SLAB_FREELIST_HARDENED))
		return v ^ s->random ^
		       (uintptr_t)__builtin_bswap64((uintptr_t)where);
	return v;
}

static inline void *get_freepointer(const struct kmem_cache *s, void *obj)
{
	void **where = (void **)((char *)obj + s->offset);

	return (void *)freelist_ptr(s, (uintptr_t)*where, where);
}

static inline void set_freepointer(const struct kmem_cache *s, void *obj,
				   void *fp)
{
	void **where = (void **)((char *)obj + s->offset);

	*where = (void *)freelist_ptr(s, (uintptr_t)fp, where);
}

static inline unsigned long slab_bytes(const struct kmem_cache *s)
{
	return PAGE_SIZE << s->order;
}

int slab_calculate_sizes(struct kmem_cache *s);
int slab_cache_init_nodes(struct kmem_cache *s, int nr_nodes);
void slab_cache_free_nodes(struct kmem_cache *s);
void *slab_alloc(struct kmem_cache *s, gfp_t gfp, int node, void *caller);
size_t slab_alloc_bulk(struct kmem_cache *s, gfp_t gfp, int node, size_t n,
		       void **p, void *caller);
void slab_free(struct kmem_cache *s, struct slab *slab, void *obj,
	       void *caller);
size_t slab_alloc_refill(struct kmem_cache *s, int node, size_t n, void **p);
void slab_free_many(struct kmem_cache *s, void **objs, size_t nr);
void slab_reap_node(struct kmem_cache *s, int node);
void slab_rcu_barrier(void);
void slab_shrink_node(struct kmem_cache *s, int node);
void slab_shrink(struct kmem_cache *s);
void slab_count(struct kmem_cache *s, unsigned long *slabs,
		unsigned long *active);
void slab_fork_prepare(struct kmem_cache *s);
void slab_fork_parent(struct kmem_cache *s);
void slab_fork_child(struct kmem_cache *s);
void slab_passthrough_count(struct kmem_cache *s, int delta);
int slab_validate(struct kmem_cache *s);

/* ---- sanitize.c: ASan and valgrind see slab objects -------------------- */

extern bool sanitize_on; /* either: the slab layer's hooks */
extern bool sanitize_asan; /* the ASan runtime: no magazines */
extern bool sanitize_valgrind; /* on valgrind: the API's hooks too */
void sanitize_init(void);
void sanitize_slab_open(void *base, size_t bytes);
void sanitize_slab_close(void *base, size_t bytes);
void sanitize_obj_open(struct kmem_cache *s, void *obj);
void sanitize_obj_handout(struct kmem_cache *s, void *obj);
void sanitize_obj_close(struct kmem_cache *s, void *obj);
void sanitize_walk_begin(const struct kmem_cache *s, const struct slab *slab);
void sanitize_walk_end(const struct kmem_cache *s, const struct slab *slab);
void sanitize_user_alloc(struct kmem_cache *s, void *obj);
void sanitize_user_free(struct kmem_cache *s, void *obj);

/* ---- passthrough.c: USLAB_PASSTHROUGH, objects from malloc ----------- */

void *passthrough_alloc(struct kmem_cache *s, gfp_t gfp);
size_t passthrough_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t n,
			      void **p);
void passthrough_free(struct kmem_cache *s, void *obj);
void *passthrough_kmalloc(size_t size, gfp_t gfp);

/* ---- failslab.c: USLAB_FAILSLAB, fault injection ----------------------- */

void failslab_init(void);
bool failslab_cache(slab_flags_t flags);
bool failslab_should_fail(struct kmem_cache *s, gfp_t gfp) __cold;

/* ---- RCU: read-side and call_rcu wrappers over urcu-bp --------------- */

/*
 * urcu-bp: no thread registration asked of users, fork hooks provided
 * (rationale and costs: depot.c).  The flavour is named here and in the
 * includes above, and also outside these wrappers: cache.c (call_rcu
 * worker when the library's threads start, fork hooks), slab.c
 * (urcu_bp_barrier()) and the link flags (liburcu-bp).  The wrappers
 * also tell TSan about grace periods, which it cannot see in the
 * uninstrumented liburcu: a
 * reader's unlock releases, a callback acquires, on one token.
 */
extern char uslab_rcu_token;

static inline void uslab_rcu_read_lock(void)
{
	urcu_bp_read_lock();
}

static inline void uslab_rcu_read_unlock(void)
{
	tsan_release(&uslab_rcu_token);
	urcu_bp_read_unlock();
}

/*
 * call_rcu() once liburcu's worker runs (uslab_rcu_worker); before that
 * (libuslab-malloc.so defers the library's threads, cache.c) the head
 * waits on util.c's list, handed to call_rcu() when the worker starts.
 */
extern bool uslab_rcu_worker;
void uslab_call_rcu_deferred(struct rcu_head *head,
			     void (*fn)(struct rcu_head *));
void uslab_rcu_worker_started(void);

static inline void uslab_call_rcu(struct rcu_head *head,
				  void (*fn)(struct rcu_head *))
{
	tsan_release(head);
	if (unlikely(!__atomic_load_n(&uslab_rcu_worker, __ATOMIC_SEQ_CST))) {
		uslab_call_rcu_deferred(head, fn);
		return;
	}
	urcu_bp_call_rcu(head, fn);
}

/* First thing in every callback passed to uslab_call_rcu(). */
static inline void uslab_rcu_callback(struct rcu_head *head)
{
	tsan_acquire(&uslab_rcu_token);
	tsan_acquire(head);
}

/* ---- rseq.c: how this process runs per-CPU critical sections --------- */

enum percpu_mode {
	PERCPU_LOCK, /* per-CPU mutex indexed by sched_getcpu() */
	PERCPU_RSEQ_GLIBC, /* rseq on the area glibc registered */
	PERCPU_RSEQ_OWN, /* rseq on our own thread-local area */
};

extern enum percpu_mode percpu_mode; /* fixed by percpu_init() */
extern unsigned int nr_cpu_ids; /* per-CPU arrays' length */

int percpu_init(void);
const char *percpu_mode_name(void);
int percpu_thread_cpu(void); /* rseq modes: slow cpu_id, -1 if none */
int percpu_lock_index(void); /* lock mode: slot for this thread */
void percpu_fence_all(void); /* end every CPU's in-flight sections */

/* ---- depot.c: full and empty magazines per cache and node ----------- */

/*
 * A magazine: a stack of up to @capacity objects.  rounds, capacity and
 * objs sit at fixed offsets that the rseq sections use (rseq-<arch>.h).
 * Fields: rounds and objs belong to whoever owns the magazine (a CPU
 * slot, the depot, or a thread that took it out of either); capacity is
 * fixed at birth; next links depot lists and is read by lock-free
 * walkers, so it is written atomically (plain reads happen only under
 * the depot lock or on chains no walker can reach).  A magazine is freed only
 * through call_rcu(), its rcu_head overlaying objs[0..1].
 *
 * The rounds word: the low MAG_ROUNDS_BITS bits are the objects held;
 * the bits above count the pushes that rseq sections made while the
 * magazine sat in a slot's section-read pointer, so that one committing
 * store both pushes and counts (CONFIG_STATS).  Whoever takes the
 * magazine out of that pointer adds them to the slot's frees and clears
 * them (mag_settle() in magazine.c; a drain or reap, after its fence),
 * and a magazine parked across fork() keeps them for its slot: anywhere
 * else, the word is just the count.  mag_word_rounds() reads a word that
 * may carry pushes.  A CPU that pops and pushes without ever emptying or
 * filling its magazine takes no slow path to settle them, so the reaper
 * drains its slot once the word has counted MAG_PUSHES_SETTLE, long
 * before the 48 bits wrap (mag_reap()).
 */
#define MAG_ROUNDS_BITS 16
#define MAG_PUSH (1L << MAG_ROUNDS_BITS) /* a section's push adds 1 + this */
#define MAG_PUSHES_SETTLE (1UL << 40)

struct magazine {
	long rounds;
	long capacity;
	struct magazine *next;
	long node;
	void *objs[];
};

static inline long mag_word_rounds(long w)
{
	return w & (MAG_PUSH - 1);
}

static inline unsigned long mag_word_pushes(long w)
{
	return (unsigned long)w >> MAG_ROUNDS_BITS;
}

/*
 * What a magazine pointer that sections read (kmem_cache_cpu.loaded,
 * alien_slot.mag) holds when there is no magazine: mag_none, with no
 * rounds and no capacity, so a pop finds it empty and a push full and
 * both leave it to the slow path, which no section ever writes.  The
 * sections then need no NULL test of their own.  slot_mag() reads such
 * a pointer as a magazine or NULL, which is what every other path
 * works with.  Acquire: a magazine published with a release store
 * (slot_release_at() in magazine.c) is seen initialised.
 */
extern struct magazine mag_none;

/* A section-read pointer's value as a magazine or NULL. */
static inline struct magazine *mag_or_null(struct magazine *m)
{
	return m == &mag_none ? NULL : m;
}

static inline struct magazine *slot_mag(struct magazine *const *slotp)
{
	return mag_or_null(__atomic_load_n(slotp, __ATOMIC_ACQUIRE));
}

struct depot {
	pthread_mutex_t lock;
	struct magazine *full; /* rounds == capacity */
	struct magazine *empty; /* rounds == 0 */
	unsigned long nr_full, nr_empty;
	unsigned long min_full, min_empty; /* working-set low marks */
	unsigned long contended; /* lock waits since last reap */
	unsigned long exchanges; /* magazines handed out */
	unsigned int capacity; /* rounds of new magazines */
	unsigned int max_capacity;
	unsigned long max_mags; /* full ones kept */
	unsigned long max_empty; /* empty ones kept */
	unsigned long bound_kib; /* what max_mags is sized for */
	unsigned int ran_dry; /* get_full found none since the last overflow */
	unsigned int
		cycles; /* dry spells ended by an overflow, this interval */
	bool growing; /* grew, and no full magazine left since */
	unsigned long high_full; /* most full ones since the last reap */
	unsigned int object_size;
	int node;
} __cacheline_aligned;

struct depot_snapshot {
	unsigned long full, empty; /* magazines */
	unsigned long objects; /* in full magazines */
	unsigned long exchanges;
	unsigned int capacity;
};

struct depot *depot_create(int node, unsigned int object_size);
void depot_destroy(struct depot *d);
struct magazine *depot_mag_new(struct depot *d);
void depot_mag_free(struct magazine *m);
void depot_mag_flush(struct kmem_cache *s, struct magazine *m);
struct magazine *depot_get_full(struct depot *d, struct magazine *empty);
struct magazine *depot_get_empty(struct kmem_cache *s, struct depot *d,
				 struct magazine *full);
void depot_put_full(struct depot *d, struct magazine *m);
void depot_put_empty(struct depot *d, struct magazine *m);
void depot_purge(struct kmem_cache *s, struct depot *d);
void depot_reap(struct kmem_cache *s, struct depot *d);
void depot_note_contention(struct depot *d);
void depot_snapshot(struct depot *d, struct depot_snapshot *st);
void depot_fork_prepare(struct kmem_cache *s);
void depot_fork_parent(struct kmem_cache *s);
void depot_fork_child(struct kmem_cache *s);

/* ---- export.c: the statistics segment (include/uslab/export.h) ------ */

void export_start(void);
void export_fork_child(void); /* drops the parent's; export_start() after */

/* ---- magazine.c: per-CPU magazines ---------------------------------- */

/*
 * One cache's slot on one CPU.  loaded is what the fast path pops from
 * and pushes to (in rseq modes only inside critical sections on this
 * CPU, or by whoever took it out under @lock); prev and node are
 * guarded by @lock.
 */
/*
 * A CPU's batch of another node's objects (remote frees), going home.
 * @mag is what the rseq remote-free fast path pushes to, exactly as
 * kmem_cache_cpu.loaded is for local frees (and owned the same way);
 * @frees counts those pushes (CONFIG_STATS) for the home node, as
 * kmem_cache_cpu.frees does; @frozen parks @mag across fork().
 */
struct alien_slot {
	struct magazine *mag; /* never NULL: mag_none when empty */
	struct magazine *frozen;
	unsigned long frees;
};

struct kmem_cache_cpu {
	/* First line: what the fast path reads and writes. */
	struct magazine *loaded; /* never NULL: mag_none when empty */
	int node;
	/*
	 * CONFIG_STATS, counted without counting allocations: the pushes
	 * into loaded are @frees plus those its rounds word still carries
	 * (struct magazine), which the rseq fast path counts in its
	 * commit and lock mode's push adds to @frees under @lock.  Pops
	 * are not counted: every round that leaves loaded otherwise goes
	 * through an owner of the slot, which adds the rounds it takes out
	 * to @rounds_out and subtracts those it puts back, so the pops so
	 * far are
	 *
	 *	frees + pushes(loaded) - rounds(loaded) - rounds_out
	 *
	 * (mag_cpu_events(); unsigned, wrapping).  @frees and @rounds_out
	 * change only under @lock, and loaded's word is read in one load,
	 * so a reader holding @lock gets rounds and counts that agree.
	 * Every other path counts in kmem_cache.ev_rows (stat_add()).
	 */
	unsigned long rounds_out, frees;
	struct magazine *prev;
	struct magazine *frozen; /* loaded, parked across fork() */
	/*
	 * Other nodes' objects freed here, batched for home: nr_nodes
	 * slots, kept outside so the slot stays 128 bytes.
	 */
	struct alien_slot *alien;
	pthread_mutex_t lock;
	/* What the reaper saw last (mag_reap(); the reaper thread's own). */
	unsigned long reap_sig;
} __cacheline_aligned;

int mag_init(void);
extern struct kmem_cache_cpu *mag_no_slots;
int mag_cache_init(struct kmem_cache *s);
void mag_cache_free(struct kmem_cache *s);
void *mag_alloc_remote(struct kmem_cache *s, int node);
size_t mag_alloc_bulk(struct kmem_cache *s, size_t n, void **p);
void mag_free_bulk(struct kmem_cache *s, size_t n, void **p);
void mag_drain(struct kmem_cache *s);
void mag_reap(struct kmem_cache *s);
unsigned long mag_cpu_objects(struct kmem_cache *s, int node);
void mag_cpu_events(struct kmem_cache *s, unsigned long *allocs,
		    unsigned long *frees);
#ifdef USLAB_TEST_HOOKS
/* Called by mag_drain() with magazines taken and not yet given back. */
extern void (*mag_drain_taken_hook)(void);
#endif
void mag_fork_prepare(struct kmem_cache *s);
void mag_fork_parent(struct kmem_cache *s);
void mag_fork_child(struct kmem_cache *s);

/* ---- debug.c: poison, red zones, owner tracking --------------------- */

#define POISON_FREE 0x6b /* body of a free, poisoned object */
#define POISON_END 0xa5 /* its last byte */
#define RED_INACTIVE 0xbb /* red zone of a free object */
#define RED_ACTIVE 0xcc /* red zone of an allocated object */

/* SLAB_STORE_USER: who last allocated / freed a slot. */
struct debug_track {
	void *addr; /* caller's return address */
	int cpu;
	int tid;
	unsigned long when_ns; /* CLOCK_MONOTONIC */
};

void debug_init_object(struct kmem_cache *s, void *obj);
bool debug_alloc_check(struct kmem_cache *s, struct slab *slab, void *obj,
		       void *caller);
bool debug_free_check(struct kmem_cache *s, struct slab *slab, void *obj,
		      void *caller);
void debug_bad_free(struct kmem_cache *s, const void *obj,
		    const char *why) __cold;
void debug_freelist_corrupt(struct kmem_cache *s, struct slab *slab, void *obj,
			    void *fp) __cold;
bool debug_validate_object(struct kmem_cache *s, struct slab *slab, void *obj,
			   bool free);
void debug_slab_corrupt(struct kmem_cache *s, struct slab *slab,
			const char *why, void *obj) __cold;

/* ---- cache.c: the API and registry ---------------------------------- */

/*
 * gfp bits that take an allocation off the fast path (kmem_cache_alloc()
 * and callers of mag_alloc_fast() that stand in for it).
 */
#define GFP_NOT_FAST __USLAB_GFP_NOT_FAST

int uslab_ensure_init(void);
unsigned int cache_count(void);
/*
 * kmem_cache_free() for a caller that has found @obj's slab_view_of()
 * and read its cache @s from it (kfree(), free()): no second lookup.
 * Its fast path alone is cache_free_fast() (magazine.h).
 */
void cache_free_view(struct kmem_cache *s, struct slab_view *view, void *obj);
/*
 * The library's threads (reaper, export, call_rcu's worker).  Set
 * uslab_defer_threads before the library starts to have them wait
 * USLAB_DEFER_MS (libuslab-malloc.so); then uslab_threads_poll() starts
 * them once that time has passed, uslab_threads_now() at once.  Both
 * with no uslab lock held.
 */
extern bool uslab_defer_threads;
void uslab_threads_poll(void);
void uslab_threads_now(void);
#ifdef USLAB_TEST_HOOKS
void reaper_set_interval(unsigned int ms); /* 0 = never */
bool uslab_threads_started(void);
#endif

/* ---- reclaim.c: the memory limit and the shrinkers -------------------- */

#define SHRINK_DEF_PRIORITY 12 /* the kernel's DEF_PRIORITY */

void reclaim_init(void);
long shrink_slab(gfp_t gfp, int nid, int priority);
void reclaim_fork_prepare(void);
void reclaim_fork_parent(void);
void reclaim_fork_child(void);

/* ---- kmalloc.c: above the caches ----------------------------------- */

/*
 * kmalloc()'s own mappings (above KMALLOC_MAX_PAGE_SIZE): the usable
 * length of one, 0 when @p is not one; unmap one, false when @p is not
 * one.  Neither reports; libuslab-malloc.so tells its pointers from
 * glibc's with them.
 */
size_t huge_size(const void *p);
bool huge_free(const void *p);

/* ---- env.c: the USLAB_* environment, parsed once --------------------- */

enum percpu_want {
	PERCPU_WANT_AUTO, /* unset, empty or "auto" */
	PERCPU_WANT_RSEQ,
	PERCPU_WANT_LOCK,
};

/* USLAB_FAILSLAB: the kernel's fault_attr (failslab.c) */
struct failslab_attr {
	unsigned long interval; /* fail every interval-th call (0, 1: any) */
	unsigned long probability; /* percent, 0..100 */
	long space; /* bytes of objects to let through first */
	long times; /* failures at most; -1: no limit */
};

#define ENV_DEBUG_CACHES_MAX 256

struct uslab_env {
	slab_flags_t debug_flags; /* USLAB_DEBUG, CONFIG_SLAB_DEBUG_ON */
	/*
	 * USLAB_DEBUG's cache names, "name,prefix*,...": the flags are
	 * only for those caches; empty: for every cache.
	 */
	char debug_caches[ENV_DEBUG_CACHES_MAX];
	unsigned int reap_ms; /* USLAB_REAP_MS, Kconfig's */
	int fake_numa; /* USLAB_FAKE_NUMA; 0: real */
	enum percpu_want percpu; /* USLAB_PERCPU */
	bool export; /* USLAB_EXPORT */
	unsigned long memory_limit; /* USLAB_MEMORY_LIMIT, bytes; 0: none */
	bool passthrough; /* USLAB_PASSTHROUGH */
	bool failslab; /* USLAB_FAILSLAB is set */
	struct failslab_attr failslab_attr;
	bool failslab_filter; /* USLAB_FAILSLAB_FILTER */
	unsigned int
		defer_ms; /* USLAB_DEFER_MS: libuslab-malloc.so's threads */
};

/* Set by env_init() at start-up (export again in a forked child). */
extern struct uslab_env uslab_env;

void env_parse(struct uslab_env *e); /* tests: parse into @e */
slab_flags_t env_debug_flags(const char *cache_name);
void env_init(void);
void env_fork_child(void);

/* ---- util.c: reports and the library's threads, for every layer ---- */

void uslab_report(const char *fmt, ...) __printf(1, 2) __cold;
int uslab_spawn(void *(*fn)(void *), void *arg, const char *name);
void uslab_getrandom(void *buf, size_t len);
uint64_t uslab_random(void);
uint64_t uslab_now_ns(void);
void util_fork_child(void);
/* sysfs: a small file read with open() and read() (no stdio), lists. */
ssize_t uslab_read_file(const char *path, char *buf, size_t size);
const char *uslab_next_range(const char *s, long *lo, long *hi);
#ifdef USLAB_TEST_HOOKS
extern unsigned long uslab_rng_reseeds; /* keys drawn from the kernel */
void uslab_chacha20_block(const uint32_t key[8], uint64_t n, uint32_t out[16]);
#endif

/* ---- stats.c -------------------------------------------------------- */

/* CPU @cpu's row of event counters, one struct node_events per node. */
static inline struct node_events *stat_row(const struct kmem_cache *s,
					   unsigned long cpu)
{
	return (struct node_events *)((char *)s->ev_rows +
				      cpu * s->ev_row_bytes);
}

/*
 * This CPU's counters for node @nid's objects (struct node_events): the
 * rseq area's CPU, always one the kernel has (0 in a thread without
 * rseq, whose adds all go to the first row).
 */
static inline struct node_events *stat_events(const struct kmem_cache *s,
					      int nid)
{
	return stat_row(s, __uslab_cpu_start(percpu_rseq_off)) + nid;
}

/*
 * Count @nr objects handed out (allocs) or given back (frees) for @node
 * by a path other than the rseq fast path.  Relaxed: a counter orders
 * nothing, readers only add it up.
 */
#define stat_add(s, nid, field, nr)                                           \
	do {                                                                  \
		if (IS_ENABLED(CONFIG_STATS))                                 \
			__atomic_fetch_add(&stat_events(s, nid)->field, (nr), \
					   __ATOMIC_RELAXED);                 \
	} while (0)

/* Node @nid's events in *@sum: every CPU's row added up (racy reads). */
static inline void stat_node_events(const struct kmem_cache *s, int nid,
				    struct node_events *sum)
{
	*sum = (struct node_events){ 0 };
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		const struct node_events *e = stat_row(s, cpu) + nid;

		sum->allocs += READ_ONCE(e->allocs);
		sum->frees += READ_ONCE(e->frees);
		sum->remote_frees += READ_ONCE(e->remote_frees);
	}
}

/* kmalloc's figures above its size classes (USLAB_STAT_KMALLOC). */
extern uint64_t kmalloc_stat[USLAB_NR_KMALLOC_STATS];
void kmalloc_stat_read(uint64_t *count);

/* As stat_add() for one object, counted on the node it belongs to. */
#define stat_obj(s, obj, field) stat_add(s, obj_home(obj), field, 1UL)

#pragma GCC visibility pop

#endif /* USLAB_INTERNAL_H */
