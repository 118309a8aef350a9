/* SPDX-License-Identifier: MIT */
/*
 * uslab: a snapshot of one cache's occupancy, consistent per node (each
 * node's figures are read together under that node's lock).
 *
 * Structural figures (slabs, objects, bytes) are exact when no thread is
 * allocating from the cache; under load the magazine figures, read
 * without locks, are estimates.  active_objs counts objects handed out to
 * users: objects taken from slabs minus those cached in magazines.  Event
 * counters (allocs, frees) count objects leaving and re-entering slabs
 * (magazine refills and flushes, not every kmem_cache_alloc), and are
 * kept only when the library was built with CONFIG_STATS; otherwise
 * they read 0.
 */
#ifndef USLAB_STATS_H
#define USLAB_STATS_H

#include <stddef.h>
#include <uslab/slab.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uslab_cache_info {
	const char *name;		/* valid while the cache lives */
	unsigned int object_size;	/* size asked for */
	unsigned int slot_size;		/* object + metadata + alignment */
	unsigned int align;
	unsigned int objs_per_slab;
	unsigned int slab_size;		/* bytes per slab */
	unsigned long nr_slabs;		/* full + partial + free */
	unsigned long nr_full;
	unsigned long nr_partial;
	unsigned long nr_free;		/* empty slabs kept for reuse */
	unsigned long total_objs;	/* objects laid out in all slabs */
	unsigned long active_objs;	/* objects handed out to users */
	unsigned long cpu_cached_objs;	/* free, in per-CPU magazines */
	unsigned long depot_objs;	/* free, in the depots' magazines */
	unsigned long depot_full;	/* full magazines in the depots */
	unsigned long depot_empty;	/* empty magazines in the depots */
	unsigned long depot_exchanges;	/* magazines handed out by depots */
	unsigned int mag_capacity;	/* rounds of new magazines (node 0) */
	unsigned long remote_frees;	/* freed on a CPU of another node */
	unsigned long slab_bytes;	/* memory in slabs */
	unsigned long desc_bytes;	/* page descriptors for those slabs */
	unsigned long allocs;		/* CONFIG_STATS only */
	unsigned long frees;		/* CONFIG_STATS only */
	unsigned long slabs_allocated;
	unsigned long slabs_released;
	unsigned long bad_frees;	/* rejected kmem_cache_free() calls */
	/* live object bytes / (slab + descriptor bytes), 0 when empty */
	double efficiency;
};

/* Fill @info for @s; 0, or -1 with errno EINVAL when @s or @info is NULL. */
int uslab_cache_info(struct kmem_cache *s, struct uslab_cache_info *info);

/*
 * How this process runs the per-CPU fast path: "rseq (glibc's area)",
 * "rseq (own area)", or why it uses per-CPU locks instead (for example
 * "USLAB_PERCPU=lock" or "the kernel refuses rseq").  Starts the library
 * if it was not yet started.
 */
const char *uslab_percpu_mode(void);

#ifdef __cplusplus
}
#endif

#endif /* USLAB_STATS_H */
