// SPDX-License-Identifier: MIT
/*
 * stats.c - per-cache occupancy figures for users, tests and tools.
 *
 * Structural figures are read from each node's counters under that
 * node's lock (one node at a time, so a snapshot of a multi-node cache is
 * consistent per node, not across nodes).  Magazine figures come from
 * lock-free walks under RCU (depot_snapshot, mag_cpu_objects): they
 * never stop an allocating thread and are exact only when none runs.  Event counters exist only
 * with CONFIG_STATS; they are bumped under the node lock the slab path
 * already holds, so they cost no extra atomic.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

__api int uslab_cache_info(struct kmem_cache *s, struct uslab_cache_info *info)
{
	unsigned long cached;
	unsigned int i;

	if (!s || !info) {
		errno = EINVAL;
		return -1;
	}
	memset(info, 0, sizeof(*info));
	info->name = s->name;
	info->object_size = s->object_size;
	info->slot_size = s->size;
	info->align = s->align;
	info->objs_per_slab = s->objects;
	info->slab_size = (unsigned int)slab_bytes(s);

	for (i = 0; i < s->nr_nodes; i++) {
		struct kmem_cache_node *n = s->node[i];

		pthread_mutex_lock(&n->lock);
		info->nr_full += n->nr_full;
		info->nr_partial += n->nr_partial;
		info->nr_free += n->nr_free;
		info->total_objs += n->total_objects;
		info->active_objs += n->active_objects;
		info->allocs += n->allocs;
		info->frees += n->frees;
		info->slabs_allocated += n->slabs_allocated;
		info->slabs_released += n->slabs_released;
		info->remote_frees += READ_ONCE(n->remote_frees);
		pthread_mutex_unlock(&n->lock);
	}
	for (i = 0; s->cpu_slab && i < s->nr_nodes; i++) {
		struct depot_snapshot ds;

		depot_snapshot(s->depot[i], &ds);
		info->depot_objs += ds.objects;
		info->depot_full += ds.full;
		info->depot_empty += ds.empty;
		info->depot_exchanges += ds.exchanges;
		if (i == 0)
			info->mag_capacity = ds.capacity;
	}
	info->cpu_cached_objs = mag_cpu_objects(s);
	cached = info->cpu_cached_objs + info->depot_objs;
	/* Taken from slabs, minus what sits in magazines. */
	info->active_objs = info->active_objs > cached ?
			    info->active_objs - cached : 0;
	info->nr_slabs = info->nr_full + info->nr_partial + info->nr_free;
	info->slab_bytes = info->nr_slabs * slab_bytes(s);
	info->desc_bytes = info->nr_slabs * (1UL << s->order) *
			   sizeof(struct page_desc);
	info->bad_frees = READ_ONCE(s->bad_frees);
	if (info->slab_bytes)
		info->efficiency = (double)info->active_objs *
				   s->object_size /
				   (double)(info->slab_bytes + info->desc_bytes);
	return 0;
}

__api const char *uslab_percpu_mode(void)
{
	if (uslab_ensure_init())
		return "not initialised";
	return percpu_mode_name();
}
