// SPDX-License-Identifier: MIT
/*
 * stats.c - figures of live caches for users, tests and tools: per-node
 * and per-cache snapshots (uslab_cache_info), and /proc/slabinfo text
 * (uslab_slabinfo); kmalloc's counts of requests above its size
 * classes (uslab_kmalloc_info).  export.c publishes the same figures to
 * other processes.
 *
 * Nothing here is kept up to date on the fast path.  Structural figures
 * (slabs, objects) are read from each node's counters under that node's
 * lock, one node at a time; magazine figures come from lock-free walks
 * under RCU (depot_snapshot, mag_cpu_objects); the fragmentation figures
 * are derived from both.  Event counters (CONFIG_STATS) are per CPU for
 * the rseq fast path, which counts a push in its commit (its allocations
 * derived from its frees and the magazines' rounds, under each CPU
 * slot's lock: mag_cpu_events()), and relaxed atomics elsewhere, in a
 * row per CPU (stat_add()), summed here.
 *
 * Locking: a CPU slot lock at a time (level 2), each once per reading
 * whatever the number of nodes, then a node lock at a time (level 4),
 * never two at once; after slab_mutex when called from
 * uslab_for_each_cache().  The walks take no lock, nor does
 * uslab_cache_objects() (one relaxed load per node).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* The CPU slots' event counts of every node, read in one pass. */
struct stats_cpu_events {
	unsigned long allocs[MAX_NUMNODES], frees[MAX_NUMNODES];
};

/* One lock per CPU slot, taken once for all nodes (mag_cpu_events()). */
static void stats_cpu_events(struct kmem_cache *s, struct stats_cpu_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	mag_cpu_events(s, ev->allocs, ev->frees);
}

/*
 * Add node @i's counts to @info (whose layout is set), with @ev the
 * per-CPU event counts of every node (stats_cpu_events()).  mag_capacity
 * is the first depot's with magazines, as include/uslab/stat_items.h
 * says.
 */
static void stats_node_info(struct kmem_cache *s, unsigned int i,
			    const struct stats_cpu_events *ev,
			    struct uslab_cache_info *info)
{
	struct kmem_cache_node *n = s->node[i];
	uint64_t c[USLAB_NR_COUNT_STATS] = { 0 };
	struct node_events slow;
	unsigned long out, cached;
	struct depot_snapshot ds = { 0 };
	unsigned int k;

	uslab_lock(&n->lock, RANK_SLAB_NODE);
	c[USLAB_STAT_nr_full] = n->nr_full;
	c[USLAB_STAT_nr_partial] = n->nr_partial;
	c[USLAB_STAT_nr_free] = n->nr_free;
	c[USLAB_STAT_total_objs] = n->total_objects;
	out = n->active_objects; /* taken from slabs */
	c[USLAB_STAT_slabs_allocated] = n->slabs_allocated;
	c[USLAB_STAT_slabs_released] = n->slabs_released;
	uslab_unlock(&n->lock);

	if (s->cpu_slab) {
		depot_snapshot(s->depot[i], &ds);
		if (!info->mag_capacity)
			info->mag_capacity = ds.capacity;
	}
	cached = mag_cpu_objects(s, (int)i);

	c[USLAB_STAT_cpu_cached_objs] = cached;
	c[USLAB_STAT_depot_objs] = ds.objects;
	c[USLAB_STAT_depot_full] = ds.full;
	c[USLAB_STAT_depot_empty] = ds.empty;
	c[USLAB_STAT_depot_exchanges] = ds.exchanges;
	/* Taken from slabs, minus what sits in magazines (racy walks). */
	cached += ds.objects;
	c[USLAB_STAT_active_objs] = out > cached ? out - cached : 0;
	/* Free in slabs, minus the free slabs' objects: in partial ones. */
	c[USLAB_STAT_partial_free_objs] = c[USLAB_STAT_total_objs] - out -
					  c[USLAB_STAT_nr_free] * s->objects;
	stat_node_events(s, (int)i, &slow);
	c[USLAB_STAT_allocs] = ev->allocs[i] + slow.allocs;
	c[USLAB_STAT_frees] = ev->frees[i] + slow.frees;
	c[USLAB_STAT_remote_frees] = slow.remote_frees;

	for (k = 0; k < USLAB_NR_COUNT_STATS; k++)
		info->count[k] += c[k];
}

static void stats_begin(struct kmem_cache *s, struct uslab_cache_info *info)
{
	memset(info, 0, sizeof(*info));
	info->name = s->name;
	info->flags = s->flags;
	info->object_size = s->object_size;
	info->slot_size = s->size;
	info->align = s->align;
	info->objs_per_slab = s->objects;
	info->slab_size = (unsigned int)slab_bytes(s);
	info->order = s->order;
	info->page_size = PAGE_SIZE;
	info->desc_size = sizeof(struct page_desc);
	info->bad_frees = READ_ONCE(s->bad_frees);
	info->failslab = READ_ONCE(s->failslab_injected);
}

/* What follows from the summed figures: the one rule readers use too. */
static void stats_derive(struct uslab_cache_info *info)
{
	/* Figures read under the node locks always pass its checks. */
	uslab_stat_derive(info->layout, info->count, info->derived,
			  &info->efficiency);
}

__api int uslab_cache_info(struct kmem_cache *s, struct uslab_cache_info *info)
{
	struct stats_cpu_events ev;
	unsigned int i;

	if (!s || !info) {
		errno = EINVAL;
		return -1;
	}
	stats_begin(s, info);
	stats_cpu_events(s, &ev);
	for (i = 0; i < s->nr_nodes; i++)
		stats_node_info(s, i, &ev, info);
	stats_derive(info);
	return 0;
}

__api int uslab_cache_node_info(struct kmem_cache *s, int node,
				struct uslab_cache_info *info)
{
	struct stats_cpu_events ev;

	if (!s || !info || node < 0 || (unsigned int)node >= s->nr_nodes) {
		errno = EINVAL;
		return -1;
	}
	stats_begin(s, info);
	stats_cpu_events(s, &ev);
	stats_node_info(s, (unsigned int)node, &ev, info);
	stats_derive(info);
	return 0;
}

/*
 * The one figure read without any lock: a relaxed load of each node's
 * count, which slab.c stores with WRITE_ONCE under the node lock.  It
 * orders nothing; a slab laid out or released meanwhile is counted or
 * not.
 */
__api unsigned long uslab_cache_objects(struct kmem_cache *s)
{
	unsigned long objs = 0;
	unsigned int i;

	if (!s) {
		errno = EINVAL;
		return 0;
	}
	for (i = 0; i < s->nr_nodes; i++)
		objs += READ_ONCE(s->node[i]->total_objects);
	return objs;
}

__api int uslab_nr_nodes(void)
{
	if (uslab_ensure_init())
		return 1;
	return topology_nr_nodes();
}

__api int uslab_cpu_node(void)
{
	if (uslab_ensure_init())
		return 0;
	return numa_node_id();
}

/* ---- /proc/slabinfo -------------------------------------------------- */

/*
 * The kernel's rows (mm/slab_common.c), with uslab's figures: objsize is
 * the slot, active_objs what users hold, the tunables the magazine size,
 * active_slabs those with an object in use, sharedavail the depot's
 * objects (include/uslab/export.h).
 */
static int slabinfo_row(struct kmem_cache *s, void *arg)
{
	struct uslab_cache_info info;
	FILE *f = arg;

	uslab_cache_info(s, &info);
	if (fprintf(f,
		    "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u "
		    ": slabdata %6lu %6lu %6lu\n",
		    s->name, info.active_objs, info.total_objs, info.slot_size,
		    info.objs_per_slab, 1 << info.order, info.mag_capacity,
		    info.mag_capacity, 0U, info.active_slabs, info.nr_slabs,
		    info.depot_objs) < 0)
		return errno ? errno : EIO;
	return 0;
}

__api int uslab_slabinfo(FILE *f)
{
	int err;

	if (!f) {
		errno = EINVAL;
		return -1;
	}
	if (uslab_ensure_init())
		return -1;
	if (fputs("slabinfo - version: 2.1\n"
		  "# name            <active_objs> <num_objs> <objsize> "
		  "<objperslab> <pagesperslab> : tunables <limit> "
		  "<batchcount> <sharedfactor> : slabdata <active_slabs> "
		  "<num_slabs> <sharedavail>\n",
		  f) < 0) {
		errno = errno ? errno : EIO;
		return -1;
	}
	err = uslab_for_each_cache(slabinfo_row, f);
	if (!err && fflush(f))
		err = errno ? errno : EIO;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

__api const char *uslab_percpu_mode(void)
{
	if (uslab_ensure_init())
		return "not initialised";
	return percpu_mode_name();
}

/*
 * kmalloc.c's counts of its requests above the size classes, by
 * enum uslab_stat_kmalloc_item: relaxed atomics, added to by kmalloc.c
 * and read here and by export.c.
 */
uint64_t kmalloc_stat[USLAB_NR_KMALLOC_STATS];

void kmalloc_stat_read(uint64_t *count)
{
	unsigned int i;

	for (i = 0; i < USLAB_NR_KMALLOC_STATS; i++)
		count[i] = __atomic_load_n(&kmalloc_stat[i], __ATOMIC_RELAXED);
}

__api int uslab_kmalloc_info(struct uslab_kmalloc_info *info)
{
	if (!info) {
		errno = EINVAL;
		return -1;
	}
	kmalloc_stat_read(info->count);
	return 0;
}
