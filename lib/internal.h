/* SPDX-License-Identifier: MIT */
/*
 * uslab internals: private structures and prototypes, grouped by the file
 * that defines them.  Nothing here is part of the public API.
 *
 * LOCK ORDER (take only downwards; never hold two of one level):
 *   1. slab_mutex           cache.c  the cache registry
 *   2. kmem_cache_node.lock slab.c   one cache's slab lists on one node
 *   3. page_node.lock       page.c   one node's free page blocks
 * The slab layer drops (2) before calling into the page layer when it can,
 * and never calls a constructor while holding any of them.
 */
#ifndef USLAB_INTERNAL_H
#define USLAB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu/call-rcu.h>

#include <generated/autoconf.h>
#include <uslab/slab.h>
#include <uslab/stats.h>

#include "compiler.h"
#include "list.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)

/* Page blocks come in orders 0..PAGE_MAX_ORDER; slabs use the same. */
#define PAGE_MAX_ORDER	9
#define MAX_SLAB_ORDER	PAGE_MAX_ORDER
#define MAX_SLAB_SIZE	(PAGE_SIZE << MAX_SLAB_ORDER)
#define MIN_OBJ_ALIGN	8	/* ARCH_SLAB_MINALIGN */
#define MAX_OBJ_ALIGN	PAGE_SIZE

#define MAX_NUMNODES	CONFIG_MAX_NODES

BUILD_BUG_ON(KMEM_CACHE_MAX_SIZE * 4 > MAX_SLAB_SIZE);

/* ---- page.c: backing memory and page descriptors ------------------- */

enum page_type {
	PT_NONE = 0,	/* not handed out (never committed, or free tail) */
	PT_BUDDY,	/* first page of a free block of 2^order pages */
	PT_HEAD,	/* first page of an allocated block (a slab) */
	PT_TAIL,	/* later page of an allocated block */
};

/*
 * One descriptor per 4 KiB page of the arena, in a flat array, so that an
 * address maps to its descriptor by a subtraction and a shift.  The head
 * descriptor of a slab carries the slab's state (the kernel's struct slab
 * overlaying struct page); tail descriptors point back to it.
 * Fields marked (n) are guarded by the owning cache's node lock,
 * (p) by the page node lock; the rest are set while the block is private
 * to one thread and stay fixed while it is allocated.
 */
struct page_desc {
	struct kmem_cache *cache;	/* owning cache; NULL if not a slab */
	void *freelist;			/* (n) first free object */
	union {
		struct list_head list;	/* (n) slab list, or (p) buddy list */
		struct rcu_head rcu;	/* SLAB_TYPESAFE_BY_RCU release */
	};
	char *s_mem;			/* first object (after colouring) */
	unsigned int inuse;		/* (n) objects handed out */
	unsigned int objects;		/* objects laid out in this slab */
	uint8_t type;			/* enum page_type, (p) */
	uint8_t order;			/* block order (head/buddy) */
	uint16_t node;			/* home node of the page */
	uint32_t head_off;		/* tail: pages back to the head */
	uint8_t slab_list;		/* (n) enum slab_list it sits on */
	uint8_t pad[7];
};
BUILD_BUG_ON(sizeof(struct page_desc) != 64);

int page_init(int nr_nodes);
struct page_desc *page_alloc(int node, unsigned int order);
void page_free(struct page_desc *head);
struct page_desc *page_desc_of(const void *p);
struct page_desc *page_head_of(const void *p);
void *page_address(const struct page_desc *d);
unsigned long page_resident_bytes(int node);
bool page_in_arena(const void *p);
void page_set_limit(long pages);	/* tests: -1 = no limit */
unsigned long page_total_resident(void);

/* ---- topology.c: CPUs and nodes ------------------------------------- */

int topology_init(void);
int topology_nr_nodes(void);
int numa_node_id(void);		/* node of the calling CPU */
bool topology_node_valid(int node);

/* ---- slab.c: slabs of one cache ------------------------------------- */

enum slab_list { SL_NONE, SL_PARTIAL, SL_FULL, SL_FREE };

struct kmem_cache_node {
	pthread_mutex_t lock;
	struct list_head partial;	/* some objects free */
	struct list_head full;		/* no object free */
	struct list_head free;		/* all objects free, memory kept */
	unsigned long nr_partial, nr_full, nr_free;
	unsigned long total_objects;	/* laid out in all slabs */
	unsigned long active_objects;	/* handed out */
	unsigned long allocs, frees;	/* CONFIG_STATS */
	unsigned long slabs_allocated, slabs_released;
} __cacheline_aligned;

struct kmem_cache {
	/* Read-mostly, on every alloc and free. */
	unsigned int object_size;	/* what the user asked for */
	unsigned int size;		/* slot stride */
	unsigned int offset;		/* free pointer offset in the slot */
	unsigned int inuse;		/* object + red zone, before metadata */
	unsigned int order;		/* slab = 2^order pages */
	unsigned int objects;		/* objects per slab */
	uint64_t reciprocal_size;	/* for obj_index() */
	slab_flags_t flags;
	void (*ctor)(void *);

	/* Layout. */
	unsigned int align;
	unsigned int colour_off;	/* colouring step */
	unsigned int colours;		/* distinct colours per slab */
	unsigned int colour_next;	/* atomic, next slab's colour */
	unsigned int min_partial;	/* empty slabs kept per node */
	unsigned int track_off;		/* SLAB_STORE_USER records */

	/* Registry (slab_mutex). */
	char *name;
	struct list_head list;
	bool leaked;			/* destroyed with live objects */

	unsigned long bad_frees;	/* atomic */
	unsigned int nr_nodes;
	struct kmem_cache_node *node[MAX_NUMNODES];
};

#define RECIPROCAL_SHIFT 43

/* Index of the object at byte offset @off from s_mem. */
static inline unsigned int obj_index(const struct kmem_cache *s,
				     unsigned long off)
{
	return (unsigned int)((off * s->reciprocal_size) >> RECIPROCAL_SHIFT);
}

static inline void *get_freepointer(const struct kmem_cache *s, void *obj)
{
	return *(void **)((char *)obj + s->offset);
}

static inline void set_freepointer(const struct kmem_cache *s, void *obj,
				   void *fp)
{
	*(void **)((char *)obj + s->offset) = fp;
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
void slab_free(struct kmem_cache *s, struct page_desc *slab, void *obj,
	       void *caller);
void slab_rcu_barrier(void);
void slab_shrink_node(struct kmem_cache *s, int node);
void slab_shrink(struct kmem_cache *s);
void slab_count(struct kmem_cache *s, unsigned long *slabs,
		unsigned long *active);

/* ---- debug.c: poison, red zones, owner tracking --------------------- */

#define POISON_FREE	0x6b	/* body of a free, poisoned object */
#define POISON_END	0xa5	/* its last byte */
#define RED_INACTIVE	0xbb	/* red zone of a free object */
#define RED_ACTIVE	0xcc	/* red zone of an allocated object */

/* SLAB_STORE_USER: who last allocated / freed a slot. */
struct debug_track {
	void *addr;		/* caller's return address */
	int cpu;
	int tid;
	unsigned long when_ns;	/* CLOCK_MONOTONIC */
};

slab_flags_t debug_default_flags(void);

void debug_init_object(struct kmem_cache *s, void *obj);
bool debug_alloc_check(struct kmem_cache *s, struct page_desc *slab,
		       void *obj, void *caller);
bool debug_free_check(struct kmem_cache *s, struct page_desc *slab,
		      void *obj, void *caller);

/* ---- cache.c: the API and registry ---------------------------------- */

void uslab_report(const char *fmt, ...) __printf(1, 2) __cold;
int uslab_ensure_init(void);
void cache_bad_free(struct kmem_cache *s, const void *obj, const char *why)
	__cold;
unsigned int cache_count(void);

/* ---- stats.c -------------------------------------------------------- */

#define stat_inc(n, field)					\
	do {							\
		if (IS_ENABLED(CONFIG_STATS))			\
			(n)->field++;				\
	} while (0)

#endif /* USLAB_INTERNAL_H */
