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
 * objects.  On the rseq fast path a free is counted in the same store
 * that pushes it, and allocations are derived from the frees and the
 * magazines' rounds, so no count is lost: on a quiet cache allocs -
 * frees is the objects in use.  Neither figure ever goes down (with the
 * reaper thread on: Documentation/design.md gives the limits).  A free
 * refused as a double free late (in a magazine or slab) is counted in
 * frees and bad_frees.
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
#include <uslab/stat_items.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every figure is named, with its meaning, in <uslab/stat_items.h>; this
 * struct has each as a field (info.total_objs), and each list also as an
 * array indexed by its enum (info.count[USLAB_STAT_total_objs]).
 */
struct uslab_cache_info {
	const char *name; /* valid while the cache lives */
	slab_flags_t flags; /* SLAB_* given at creation */
	USLAB_STAT_ALL_FIELDS;
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

/*
 * total_objs of @s (objects laid out in its slabs, all nodes) without
 * taking a lock or walking the magazines: one relaxed load per node, for
 * callers that need it often.  0 with errno EINVAL when @s is NULL.
 */
unsigned long uslab_cache_objects(struct kmem_cache *s);

/* Nodes every cache has figures for (some may be unusable); >= 1. */
int uslab_nr_nodes(void);

/*
 * Call @fn for every cache, newest first, until it returns non-zero
 * (that value is returned; 0 when all were visited).  The registry lock
 * is held throughout: @fn must not create or destroy caches.
 */
int uslab_for_each_cache(int (*fn)(struct kmem_cache *s, void *arg), void *arg);

/*
 * Print every cache to @f as the kernel's /proc/slabinfo does (version
 * 2.1: its two header lines, then one row per cache, newest first).
 * 0, or -1 with errno set (EINVAL for a NULL @f, or the write error).
 */
int uslab_slabinfo(FILE *f);

/*
 * kmalloc()'s requests above its size classes, process-wide: the
 * USLAB_STAT_KMALLOC list of <uslab/stat_items.h>, by name or as
 * count[USLAB_STAT_<name>].  Relaxed counters, exact when no thread
 * allocates.  0, or -1 with errno EINVAL for a NULL @info.
 */
struct uslab_kmalloc_info {
	USLAB_STAT_FIELDS_U64(USLAB_STAT_KMALLOC, count,
			      USLAB_NR_KMALLOC_STATS);
};

int uslab_kmalloc_info(struct uslab_kmalloc_info *info);

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
