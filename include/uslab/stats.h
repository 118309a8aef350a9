/* SPDX-License-Identifier: MIT */
/*
 * uslab: statistics of live caches.
 *
 * uslab_cache_info() gives one cache's figures, summed over its nodes;
 * uslab_cache_node_info() one node's share.  Each node's figures are read
 * together under that node's lock, so a snapshot is consistent per node,
 * not across nodes.  Structural figures (slabs, objects, bytes) are exact
 * when no thread is allocating from the cache; under load the magazine
 * figures, read without locks, are estimates.
 *
 * active_objs counts objects handed out to users: objects taken from
 * slabs minus those cached in magazines.  allocs and frees count
 * objects handed out and given back through every API call (kept only
 * with CONFIG_STATS, otherwise 0); per node they count that node's
 * objects.  On the rseq fast path they are per-CPU adds just after the
 * commit; a thread preempted at that instruction and moved to another
 * CPU can lose one, so allocs - frees may differ from active_objs by a
 * few counts after heavy migration.  A free refused as a double free
 * late (in a magazine or slab) is counted in frees and bad_frees.
 *
 * uslab_slabinfo() prints every cache in the kernel's /proc/slabinfo
 * format (version 2.1); include/uslab/export.h says how its columns are
 * derived, and how a live process publishes the same figures for
 * uslab-slabtop.
 */
#ifndef USLAB_STATS_H
#define USLAB_STATS_H

#include <stddef.h>
#include <stdio.h>
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
	/* live object bytes / slab bytes, 0 when there is no slab */
	double efficiency;

	/* Layout and the fragmentation picture. */
	unsigned int order;		/* slab = 2^order pages */
	unsigned int page_size;
	slab_flags_t flags;		/* SLAB_* given at creation */
	unsigned long partial_free_objs; /* free, stranded in partial slabs */
	unsigned long padding_bytes;	/* (slot - object size) per object */
	unsigned long tail_bytes;	/* slab bytes no slot uses, all slabs */
	unsigned long free_bytes;	/* slot bytes of every free object */
};

/* Fill @info for @s; 0, or -1 with errno EINVAL when @s or @info is NULL. */
int uslab_cache_info(struct kmem_cache *s, struct uslab_cache_info *info);

/*
 * @s's figures on node @node alone (mag_capacity is that node's depot's;
 * bad_frees is the whole cache's); 0, or -1 with EINVAL for a NULL
 * argument or a node outside 0..uslab_nr_nodes()-1.
 */
int uslab_cache_node_info(struct kmem_cache *s, int node,
			  struct uslab_cache_info *info);

/* Nodes every cache has figures for (some may be unusable); >= 1. */
int uslab_nr_nodes(void);

/*
 * Call @fn for every cache, newest first, until it returns non-zero
 * (that value is returned; 0 when all were visited).  The registry lock
 * is held throughout: @fn must not create or destroy caches.
 */
int uslab_for_each_cache(int (*fn)(struct kmem_cache *s, void *arg),
			 void *arg);

/*
 * Print every cache to @f as the kernel's /proc/slabinfo does (version
 * 2.1: its two header lines, then one row per cache, newest first).
 * 0, or -1 with errno set (EINVAL for a NULL @f, or the write error).
 */
int uslab_slabinfo(FILE *f);

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
