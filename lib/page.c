// SPDX-License-Identifier: MIT
/*
 * page.c - backing memory: the arena, page descriptors, page blocks.
 *
 * At start-up one virtual range is reserved (PROT_NONE, no swap
 * reservation) and split into equal per-node arenas of
 * CONFIG_ARENA_SIZE_GB each.  A flat array of 64-byte page descriptors
 * covers the whole reserve, and after it one of 16-byte page views
 * (struct slab_view, slab.c's alone: the free fast paths read them); both
 * are mapped without reservation too, so only the entries of pages in use
 * ever take memory.  page_desc_of() is one subtraction and one shift,
 * which is what lets the layers above find the block holding an address
 * without any lookup structure.
 * page.c owns only each descriptor's type, order, node and head_off, and the
 * buddy link; the rest belongs to whoever holds the block (slab.c
 * overlays its struct slab on the head descriptor).
 *
 * Each node hands out blocks of 2^order pages (order 0..PAGE_MAX_ORDER)
 * with a binary buddy system.  Memory is committed (made readable and
 * writable) in PAGE_MAX_ORDER chunks as the node's high-water mark grows;
 * a freed block is returned to the OS with MADV_DONTNEED before it goes
 * back to the buddy lists, so free blocks cost no resident memory.
 * Pages handed out on all nodes are counted in total_resident, which a
 * budget (reclaim.c's memory limit) may bound: a block that would take
 * the count past it is refused like an exhausted arena.  On a
 * real multi-node machine each node's arena is bound to its node with
 * mbind(MPOL_BIND); the node of an address is (p - base) / arena size,
 * and every descriptor records it.
 *
 * Retained blocks: kmalloc()'s page blocks (kmalloc.c) are not
 * returned to the OS on free but kept, still allocated and resident,
 * in a small per-node, per-order stack (page_free_retain(),
 * page_alloc_retained()), so that a program which frees and allocates
 * blocks of the same size again does not pay an madvise() and fresh
 * page faults each time.  The bound: at most RETAIN_SLOTS blocks of
 * each order and RETAIN_NODE_PAGES pages (4 MiB) in all per node.
 * Blocks that sat there a whole reaper interval unused are given back
 * by page_retained_reap() (the reaper, cache.c), all of them by
 * page_retained_drain() (kmem_cache_shrink(), reclaim), and by
 * page_alloc() itself before it refuses a block for the budget.
 *
 * Locking: one mutex per node (struct page_node.lock) guards that node's
 * buddy lists, its retained blocks, its high-water mark and the
 * type/order of its descriptors.
 * It is the innermost lock (see internal.h) and is never held across a
 * system call that can block for long, except mprotect on growth.
 * total_resident and the budget are atomics, charged before the node
 * lock is taken and uncharged if the block cannot be had.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* Retained blocks of one order: oldest at blk[0]. */
#define RETAIN_SLOTS 16
#define RETAIN_NODE_PAGES (4UL << (20 - PAGE_SHIFT))

struct page_retained {
	unsigned int nr; /* blocks in blk[] */
	unsigned int min_nr; /* least nr since the last reap */
	struct page_desc *blk[RETAIN_SLOTS];
};

struct page_node {
	pthread_mutex_t lock;
	unsigned long committed; /* pages made accessible */
	unsigned long resident; /* pages in allocated blocks */
	unsigned long retained; /* of which pages in retain[] */
	struct list_head free_area[PAGE_MAX_ORDER + 1];
	struct page_retained retain[PAGE_MAX_ORDER + 1];
} __cacheline_aligned;

/* Where the arena and its descriptors are: read on every free. */
struct page_map page_map;

static struct {
	unsigned long node_pages; /* pages per node arena */
	int nr_nodes;
	struct page_node nodes[MAX_NUMNODES];
} arena;

static unsigned long total_resident; /* pages, atomic */
static unsigned long page_budget; /* limit on total_resident; 0: none */

/*
 * Charge @pages to total_resident if that stays within page_budget.
 * The compare-and-swap makes the limit exact however many threads
 * allocate.  Relaxed: the count orders nothing; the node locks order
 * the blocks themselves.
 */
static bool page_charge(unsigned long pages)
{
	unsigned long limit = __atomic_load_n(&page_budget, __ATOMIC_RELAXED);
	unsigned long old = __atomic_load_n(&total_resident, __ATOMIC_RELAXED);

	do {
		if (limit && old + pages > limit)
			return false;
	} while (!__atomic_compare_exchange_n(
		&total_resident, &old, old + pages, true, __ATOMIC_RELAXED,
		__ATOMIC_RELAXED));
	return true;
}

static void page_uncharge(unsigned long pages)
{
	__atomic_fetch_sub(&total_resident, pages, __ATOMIC_RELAXED);
}

/* The budget in pages (0: none); reclaim.c's memory limit. */
void page_set_budget(unsigned long pages)
{
	__atomic_store_n(&page_budget, pages, __ATOMIC_RELAXED);
}

unsigned long page_get_budget(void)
{
	return __atomic_load_n(&page_budget, __ATOMIC_RELAXED);
}

#ifdef USLAB_TEST_HOOKS
/*
 * Test hooks (built into the test programs' library only): a ceiling on
 * resident pages, all nodes together or one node's, past which
 * page_alloc() fails as if the arena were exhausted; -1 means none.
 */
static long page_limit = -1;
static long node_limit[MAX_NUMNODES] = { [0 ... MAX_NUMNODES - 1] = -1 };

void page_set_limit(long pages)
{
	WRITE_ONCE(page_limit, pages);
}

void page_set_node_limit(int node, long pages)
{
	WRITE_ONCE(node_limit[node], pages);
}

static bool page_over_limit(int node, unsigned long resident,
			    unsigned int order)
{
	long limit = READ_ONCE(page_limit);
	long nlimit = READ_ONCE(node_limit[node]);

	/* total_resident already holds this block's charge. */
	if (unlikely(limit >= 0) &&
	    READ_ONCE(total_resident) > (unsigned long)limit)
		return true;
	return unlikely(nlimit >= 0) &&
	       (long)(resident + (1UL << order)) > nlimit;
}
#else
static inline bool page_over_limit(int node, unsigned long resident,
				   unsigned int order)
{
	(void)node;
	(void)resident;
	(void)order;
	return false;
}
#endif

#define CHUNK_ORDER PAGE_MAX_ORDER
#define CHUNK_PAGES (1UL << CHUNK_ORDER)

static inline unsigned long desc_pfn(const struct page_desc *d)
{
	return (unsigned long)(d - page_map.descs);
}

/* Descriptor of page @pfn (relative to node @node's arena). */
static inline struct page_desc *node_desc(int node, unsigned long pfn)
{
	return &page_map.descs[(unsigned long)node * arena.node_pages + pfn];
}

void *page_address(const struct page_desc *d)
{
	return page_map.base + (desc_pfn(d) << PAGE_SHIFT);
}

/*
 * Bind each usable node's arena to that node (MPOL_BIND), so the kernel
 * places every page committed there on it, whichever CPU first touches
 * it.  Not for the fake topology (its nodes are labels) nor for one
 * node.  A refusal is reported once: placement then follows first touch.
 */
static void page_bind_nodes(char *base, unsigned long node_bytes, int nr_nodes)
{
	int n;

	if (nr_nodes < 2 || topology_is_fake())
		return;
	for (n = 0; n < nr_nodes; n++) {
		if (!topology_node_valid(n))
			continue;
		if (topology_bind(base + (unsigned long)n * node_bytes,
				  node_bytes, n)) {
			uslab_report("mbind(node %d): %s; pages follow first "
				     "touch",
				     n, strerror(errno));
			return;
		}
	}
}

int page_init(int nr_nodes)
{
	unsigned long node_bytes = (unsigned long)CONFIG_ARENA_SIZE_GB << 30;
	unsigned long total, desc_bytes, view_bytes;
	char *raw, *base;
	void *descs;
	int n, o;

	if (nr_nodes < 1 || nr_nodes > MAX_NUMNODES) {
		errno = EINVAL;
		return -1;
	}
	total = node_bytes * (unsigned long)nr_nodes;
	raw = mmap(NULL, total + MAX_SLAB_SIZE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -1;
	/* Align so that buddy blocks are naturally aligned in memory too. */
	base = (char *)ALIGN((uintptr_t)raw, MAX_SLAB_SIZE);

	/* Views pack an object address in 48 bits (struct slab_view). */
	if ((uintptr_t)base + total > 1UL << (64 - VIEW_NODE_BITS)) {
		munmap(raw, total + MAX_SLAB_SIZE);
		errno = ENOMEM;
		return -1;
	}
	desc_bytes = total / PAGE_SIZE * sizeof(struct page_desc);
	view_bytes = total / PAGE_SIZE * sizeof(struct slab_view);
	descs = mmap(NULL, desc_bytes + view_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (descs == MAP_FAILED) {
		int err = errno;

		munmap(raw, total + MAX_SLAB_SIZE);
		errno = err;
		return -1;
	}

	page_bind_nodes(base, node_bytes, nr_nodes);
	page_map.base = base;
	page_map.size = total;
	page_map.descs = descs;
	page_map.views = (struct slab_view *)((char *)descs + desc_bytes);
	arena.node_pages = node_bytes / PAGE_SIZE;
	arena.nr_nodes = nr_nodes;
	for (n = 0; n < nr_nodes; n++) {
		struct page_node *pn = &arena.nodes[n];

		pthread_mutex_init(&pn->lock, NULL);
		for (o = 0; o <= PAGE_MAX_ORDER; o++)
			INIT_LIST_HEAD(&pn->free_area[o]);
	}
	return 0;
}

/* Make one more chunk of @node's arena accessible; its pfn, or -1. */
static long page_grow_locked(int node)
{
	struct page_node *pn = &arena.nodes[node];
	unsigned long pfn = pn->committed;
	char *addr;

	lock_assert_held(&pn->lock);
	if (pfn + CHUNK_PAGES > arena.node_pages) {
		errno = ENOMEM;
		return -1;
	}
	addr = page_address(node_desc(node, pfn));
	if (mprotect(addr, CHUNK_PAGES << PAGE_SHIFT, PROT_READ | PROT_WRITE))
		return -1; /* errno ENOMEM from the kernel */
	pn->committed += CHUNK_PAGES;
	return (long)pfn;
}

/*
 * Allocate 2^@order contiguous, zero-filled pages on @node.  Returns the
 * head descriptor (type PT_HEAD, tails PT_TAIL), or NULL with errno ENOMEM
 * when the block would take the pages in use past the budget or the
 * node's arena is exhausted.
 */
struct page_desc *page_alloc(int node, unsigned int order)
{
	struct page_node *pn = &arena.nodes[node];
	struct page_desc *d;
	unsigned long pfn, i;
	unsigned int o;

	/* Retained blocks count as pages in use: give them back first. */
	if (!page_charge(1UL << order) &&
	    (!page_retained_drain() || !page_charge(1UL << order))) {
		errno = ENOMEM;
		return NULL;
	}
	uslab_lock(&pn->lock, RANK_PAGE_NODE);
	if (page_over_limit(node, pn->resident, order)) {
		uslab_unlock(&pn->lock);
		page_uncharge(1UL << order);
		errno = ENOMEM;
		return NULL;
	}
	for (o = order; o <= PAGE_MAX_ORDER; o++)
		if (!list_empty(&pn->free_area[o]))
			break;
	if (o > PAGE_MAX_ORDER) {
		long grown = page_grow_locked(node);

		if (grown < 0) {
			uslab_unlock(&pn->lock);
			page_uncharge(1UL << order);
			return NULL;
		}
		pfn = (unsigned long)grown;
		o = PAGE_MAX_ORDER;
	} else {
		d = list_first_entry(&pn->free_area[o], struct page_desc,
				     buddy);
		list_del(&d->buddy);
		WRITE_ONCE(d->type, PT_NONE);
		pfn = desc_pfn(d) - (unsigned long)node * arena.node_pages;
	}

	/* Split: give the upper halves back until the block fits. */
	while (o > order) {
		struct page_desc *b;

		o--;
		b = node_desc(node, pfn + (1UL << o));
		b->order = (uint8_t)o;
		WRITE_ONCE(b->type, PT_BUDDY);
		list_add(&b->buddy, &pn->free_area[o]);
	}

	d = node_desc(node, pfn);
	d->order = (uint8_t)order;
	d->node = (uint16_t)node;
	for (i = 1; i < (1UL << order); i++) {
		d[i].node = (uint16_t)node;
		WRITE_ONCE(d[i].head_off, (uint32_t)i);
		WRITE_ONCE(d[i].type, PT_TAIL);
	}
	WRITE_ONCE(d->type, PT_HEAD);
	pn->resident += 1UL << order;
	uslab_unlock(&pn->lock);
	return d;
}

/* Return the block headed by @head to the OS and to its node's buddies. */
void page_free(struct page_desc *head)
{
	int node = head->node;
	struct page_node *pn = &arena.nodes[node];
	unsigned int order = head->order;
	unsigned long pfn, i;

	madvise(page_address(head), PAGE_SIZE << order, MADV_DONTNEED);

	uslab_lock(&pn->lock, RANK_PAGE_NODE);
	for (i = 1; i < (1UL << order); i++)
		WRITE_ONCE(head[i].type, PT_NONE);
	WRITE_ONCE(head->type, PT_NONE);
	pn->resident -= 1UL << order;
	page_uncharge(1UL << order);

	pfn = desc_pfn(head) - (unsigned long)node * arena.node_pages;
	while (order < PAGE_MAX_ORDER) {
		unsigned long bpfn = pfn ^ (1UL << order);
		struct page_desc *b;

		if (bpfn >= pn->committed)
			break;
		b = node_desc(node, bpfn);
		if (b->type != PT_BUDDY || b->order != order)
			break;
		list_del(&b->buddy);
		WRITE_ONCE(b->type, PT_NONE);
		pfn &= ~(1UL << order);
		order++;
	}
	head = node_desc(node, pfn);
	head->order = (uint8_t)order;
	WRITE_ONCE(head->type, PT_BUDDY);
	list_add(&head->buddy, &pn->free_area[order]);
	uslab_unlock(&pn->lock);
}

/* ---- Retained blocks ------------------------------------------------ */

/*
 * A block of 2^@order pages on @node that page_free_retain() kept, or
 * NULL.  Its contents are whatever its last user left there (not
 * zeroed); its descriptors are as page_alloc() left them.
 */
struct page_desc *page_alloc_retained(int node, unsigned int order)
{
	struct page_node *pn = &arena.nodes[node];
	struct page_retained *r = &pn->retain[order];
	struct page_desc *d = NULL;

	/* Unlocked peek: a stale 0 only sends the caller to page_alloc(). */
	if (!READ_ONCE(r->nr))
		return NULL;
	uslab_lock(&pn->lock, RANK_PAGE_NODE);
	if (r->nr) {
		/* WRITE_ONCE: the peeks above and in page_retained_pages(). */
		WRITE_ONCE(r->nr, r->nr - 1);
		d = r->blk[r->nr];
		if (r->nr < r->min_nr)
			r->min_nr = r->nr;
		WRITE_ONCE(pn->retained, pn->retained - (1UL << order));
	}
	uslab_unlock(&pn->lock);
	return d;
}

/*
 * Keep the block headed by @head (allocated, no longer used) for
 * page_alloc_retained(), or give it back with page_free() when its
 * order's stack or its node's bound is full.
 */
void page_free_retain(struct page_desc *head)
{
	struct page_node *pn = &arena.nodes[head->node];
	unsigned int order = head->order;
	struct page_retained *r = &pn->retain[order];
	bool kept = false;

	uslab_lock(&pn->lock, RANK_PAGE_NODE);
	if (r->nr < RETAIN_SLOTS &&
	    pn->retained + (1UL << order) <= RETAIN_NODE_PAGES) {
		/*
		 * WRITE_ONCE: page_alloc_retained() peeks at nr without the
		 * lock (a stale value only costs it a page_alloc() or a
		 * lock round trip); the lock orders the stack itself.
		 */
		r->blk[r->nr] = head;
		WRITE_ONCE(r->nr, r->nr + 1);
		WRITE_ONCE(pn->retained, pn->retained + (1UL << order));
		kept = true;
	}
	uslab_unlock(&pn->lock);
	if (!kept)
		page_free(head);
}

/*
 * Take the @n oldest blocks of @r off it into @out (@n at most r->nr).
 * The node lock held.
 */
static unsigned int retained_take_locked(struct page_node *pn,
					 struct page_retained *r,
					 unsigned int order, unsigned int n,
					 struct page_desc **out)
{
	lock_assert_held(&pn->lock);
	memcpy(out, r->blk, n * sizeof(*out));
	memmove(r->blk, r->blk + n, (r->nr - n) * sizeof(*out));
	WRITE_ONCE(r->nr, r->nr - n);
	WRITE_ONCE(pn->retained, pn->retained - ((unsigned long)n << order));
	return n;
}

/*
 * Give back the retained blocks of every node: all of them (@all), or
 * those no allocation needed since the last such pass (the least
 * number each stack held since then).  Returns the pages given back.
 */
static unsigned long page_retained_release(bool all)
{
	struct page_desc *out[RETAIN_SLOTS];
	unsigned long pages = 0;
	unsigned int o, n, i;
	int node;

	for (node = 0; node < arena.nr_nodes; node++) {
		struct page_node *pn = &arena.nodes[node];

		for (o = 0; o <= PAGE_MAX_ORDER; o++) {
			struct page_retained *r = &pn->retain[o];

			if (!READ_ONCE(r->nr) && !all)
				continue;
			uslab_lock(&pn->lock, RANK_PAGE_NODE);
			n = all ? r->nr : MIN(r->min_nr, r->nr);
			n = retained_take_locked(pn, r, o, n, out);
			r->min_nr = r->nr;
			uslab_unlock(&pn->lock);
			for (i = 0; i < n; i++)
				page_free(out[i]);
			pages += (unsigned long)n << o;
		}
	}
	return pages;
}

/* The reaper's pass: blocks unused for a whole interval go back. */
unsigned long page_retained_reap(void)
{
	return page_retained_release(false);
}

/* Every retained block goes back (shrink, reclaim, the budget). */
unsigned long page_retained_drain(void)
{
	return page_retained_release(true);
}

/* Pages retained on all nodes (a snapshot). */
unsigned long page_retained_pages(void)
{
	unsigned long pages = 0;
	int node;

	for (node = 0; node < arena.nr_nodes; node++)
		pages += READ_ONCE(arena.nodes[node].retained);
	return pages;
}

/* Pages handed out as blocks on all nodes. */
unsigned long page_total_resident(void)
{
	return READ_ONCE(total_resident);
}

/* Bytes of @node's arena currently handed out as blocks. */
unsigned long page_resident_bytes(int node)
{
	struct page_node *pn = &arena.nodes[node];
	unsigned long r;

	uslab_lock(&pn->lock, RANK_PAGE_NODE);
	r = pn->resident;
	uslab_unlock(&pn->lock);
	return r << PAGE_SHIFT;
}

/* fork(): hold every node's lock across it (cache.c's atfork handlers). */
void page_fork_prepare(void)
{
	int n;

	for (n = 0; n < arena.nr_nodes; n++)
		uslab_lock_nested(&arena.nodes[n].lock, RANK_PAGE_NODE);
}

void page_fork_parent(void)
{
	int n;

	for (n = 0; n < arena.nr_nodes; n++)
		uslab_unlock(&arena.nodes[n].lock);
}

void page_fork_child(void)
{
	int n;

	for (n = 0; n < arena.nr_nodes; n++)
		pthread_mutex_init(&arena.nodes[n].lock, NULL);
}
