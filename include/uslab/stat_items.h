/* SPDX-License-Identifier: MIT */
/*
 * uslab: the statistics vocabulary.  Every figure uslab reports is named
 * here, once, with the column heading uslab-slabtop shows it under and a
 * line saying what it is.  struct uslab_cache_info (stats.h), the
 * records of the statistics segment (export.h), and uslab-slabtop's
 * columns, JSON keys and --fields list are all generated from these
 * lists, and uslab_stat_derive() computes the derived figures for the
 * library and the tool alike.
 *
 * Each list calls X(name, column, description).  Four lists, by kind:
 *   USLAB_STAT_LAYOUT   cache-wide layout, uint32_t, the same on every
 *                       node (mag_capacity: the first node's depot that
 *                       has magazines);
 *   USLAB_STAT_COUNTS   counts kept per NUMA node, uint64_t; a cache's
 *                       figure is the sum over its nodes;
 *   USLAB_STAT_CACHE    cache-wide counts, uint64_t;
 *   USLAB_STAT_DERIVED  figures that follow from the three above,
 *                       uint64_t, computed by uslab_stat_derive(); plus
 *                       the efficiency, a double.
 * A struct generated from a list has each item as a named field and, in
 * a union over the same memory, an array indexed by the items' enum
 * (USLAB_STAT_<name>), so code can name one figure or walk them all.
 *
 * The free objects of a node add up (exactly when no thread allocates):
 *   total_objs = active_objs + cpu_cached_objs + depot_objs
 *                + partial_free_objs + nr_free * objs_per_slab
 *
 * Adding a figure: one line in a list here, the code in lib/stats.c that
 * fills it, and USLAB_EXPORT_VERSION in export.h bumped; the segment,
 * its reader and uslab-slabtop follow.
 */
#ifndef USLAB_STAT_ITEMS_H
#define USLAB_STAT_ITEMS_H

#include <stdint.h>

#define USLAB_STAT_LAYOUT(X)                                          \
	X(object_size, "OBJSIZE", "bytes asked for at creation")      \
	X(slot_size, "SLOT",                                          \
	  "bytes per slot: object, metadata "                         \
	  "and alignment")                                            \
	X(align, "ALIGN", "object alignment in bytes")                \
	X(objs_per_slab, "OBJ/SLAB", "objects laid out in each slab") \
	X(slab_size, "SLAB-SIZE", "bytes per slab")                   \
	X(order, "ORDER", "a slab is 2^order pages")                  \
	X(page_size, "PAGE", "bytes per page")                        \
	X(desc_size, "DESC", "bytes of page descriptor per page")     \
	X(mag_capacity, "CAP",                                        \
	  "rounds of a new magazine; 0: the "                         \
	  "cache has no magazines")

#define USLAB_STAT_COUNTS(X)                                               \
	X(total_objs, "OBJS", "objects laid out in slabs")                 \
	X(active_objs, "ACTIVE", "objects handed out to users")            \
	X(cpu_cached_objs, "CPU-OBJS",                                     \
	  "free objects in CPU magazines "                                 \
	  "(loaded, previous, going home)")                                \
	X(depot_objs, "DEPOT-OBJS",                                        \
	  "free objects in the depot's "                                   \
	  "full magazines")                                                \
	X(partial_free_objs, "PART-FREE", "free objects in partial slabs") \
	X(nr_full, "FULL", "slabs with every object taken")                \
	X(nr_partial, "PARTIAL", "slabs with some objects taken")          \
	X(nr_free, "EMPTY", "empty slabs kept for reuse")                  \
	X(depot_full, "MAG-FULL", "full magazines in the depot")           \
	X(depot_empty, "MAG-EMPTY", "empty magazines in the depot")        \
	X(depot_exchanges, "EXCHANGES", "magazines the depot handed out")  \
	X(allocs, "ALLOCS", "objects allocated (CONFIG_STATS)")            \
	X(frees, "FREES", "objects freed (CONFIG_STATS)")                  \
	X(remote_frees, "REM-FREES",                                       \
	  "objects freed on another "                                      \
	  "node's CPU, sent home or reused")                               \
	X(slabs_allocated, "SLABS-NEW", "slabs laid out")                  \
	X(slabs_released, "SLABS-GONE", "slabs given back to the pages")

#define USLAB_STAT_CACHE(X)                                    \
	X(bad_frees, "BAD", "kmem_cache_free() calls refused") \
	X(failslab, "FAILSLAB", "allocations USLAB_FAILSLAB failed on purpose")

#define USLAB_STAT_DERIVED(X)                                               \
	X(nr_slabs, "SLABS", "full + partial + empty slabs")                \
	X(active_slabs, "ACT-SLABS",                                        \
	  "slabs with an object taken "                                     \
	  "(full + partial)")                                               \
	X(cached_objs, "CACHED", "free objects in magazines (CPU + depot)") \
	X(slab_bytes, "SLAB-MEM", "bytes of memory in slabs")               \
	X(desc_bytes, "DESC-MEM", "bytes of page descriptors for them")     \
	X(padding_bytes, "PADDING", "(slot - object size) of every object") \
	X(tail_bytes, "TAIL", "slab bytes no slot uses, all slabs")         \
	X(free_bytes, "FREE",                                               \
	  "slot bytes of every object not "                                 \
	  "handed out")

/*
 * kmalloc's requests above its size classes and its RCU-deferred frees
 * (process-wide, uint64_t): struct uslab_kmalloc_info (stats.h) and the
 * segment's header.  The size classes themselves are caches with the
 * figures above.
 */
#define USLAB_STAT_KMALLOC(X)                                               \
	X(large_allocs, "LARGE", "kmalloc() served with arena pages")       \
	X(large_frees, "LARGE-FREED", "arena-page blocks given back")       \
	X(large_bytes, "LARGE-MEM", "bytes of arena pages held by users")   \
	X(huge_allocs, "HUGE", "kmalloc() above 2 MiB, mapped on its own")  \
	X(huge_frees, "HUGE-FREED", "own mappings given back")              \
	X(huge_bytes, "HUGE-MEM", "bytes of own mappings held by users")    \
	X(kfree_bad, "KFREE-BAD",                                           \
	  "kfree() and ksize() calls refused "                              \
	  "outside any cache")                                              \
	X(rcu_queued, "RCU-QUEUED", "objects given to kfree_rcu() and kin") \
	X(rcu_freed, "RCU-FREED", "of them freed after a grace period")     \
	X(rcu_batches, "RCU-CALLS", "call_rcu() calls that carried them")

/* The one figure that is not a count; efficiency in a struct. */
#define USLAB_STAT_EFFICIENCY_COLUMN "EFF%"
#define USLAB_STAT_EFFICIENCY_DOC       \
	"bytes users asked for in the " \
	"objects they hold / slab bytes"

#define USLAB_STAT_ENUM_(name, column, doc) USLAB_STAT_##name,
enum uslab_stat_layout_item {
	USLAB_STAT_LAYOUT(USLAB_STAT_ENUM_) USLAB_NR_LAYOUT_STATS
};
enum uslab_stat_count_item {
	USLAB_STAT_COUNTS(USLAB_STAT_ENUM_) USLAB_NR_COUNT_STATS
};
enum uslab_stat_cache_item {
	USLAB_STAT_CACHE(USLAB_STAT_ENUM_) USLAB_NR_CACHE_STATS
};
enum uslab_stat_kmalloc_item {
	USLAB_STAT_KMALLOC(USLAB_STAT_ENUM_) USLAB_NR_KMALLOC_STATS
};
enum uslab_stat_derived_item {
	USLAB_STAT_DERIVED(USLAB_STAT_ENUM_) USLAB_NR_DERIVED_STATS
};

#define USLAB_STAT_U32_(name, column, doc) uint32_t name;
#define USLAB_STAT_U64_(name, column, doc) uint64_t name;

/*
 * The fields of one list in a struct: by name, and as array @arr.  An
 * anonymous struct in an anonymous union is C11; __extension__ keeps
 * C++ compilers (where it is a GNU extension) quiet under -pedantic.
 */
#define USLAB_STAT_FIELDS_U32(list, arr, nr)  \
	__extension__ union {                 \
		__extension__ struct {        \
			list(USLAB_STAT_U32_) \
		};                            \
		uint32_t arr[nr];             \
	}
#define USLAB_STAT_FIELDS_U64(list, arr, nr)  \
	__extension__ union {                 \
		__extension__ struct {        \
			list(USLAB_STAT_U64_) \
		};                            \
		uint64_t arr[nr];             \
	}

/* Every figure of a cache, as struct uslab_cache_info holds them. */
#define USLAB_STAT_ALL_FIELDS                                                  \
	USLAB_STAT_FIELDS_U32(USLAB_STAT_LAYOUT, layout,                       \
			      USLAB_NR_LAYOUT_STATS);                          \
	USLAB_STAT_FIELDS_U64(USLAB_STAT_COUNTS, count, USLAB_NR_COUNT_STATS); \
	USLAB_STAT_FIELDS_U64(USLAB_STAT_CACHE, cache_count,                   \
			      USLAB_NR_CACHE_STATS);                           \
	USLAB_STAT_FIELDS_U64(USLAB_STAT_DERIVED, derived,                     \
			      USLAB_NR_DERIVED_STATS);                         \
	double efficiency

/*
 * The derived figures from @layout and @count (a cache's sums or one
 * node's), into @derived and *@efficiency.  Returns 0, or -1 when the
 * inputs are impossible (a slot smaller than its object, more objects
 * than the slabs hold, more active objects than objects) or a product
 * overflows; the outputs are then unspecified.  Readers of the segment
 * use it as a consistency check; the library's own figures always pass.
 */
static inline int uslab_stat_derive(const uint32_t *layout,
				    const uint64_t *count, uint64_t *derived,
				    double *efficiency)
{
#define L_(x) ((uint64_t)layout[USLAB_STAT_##x])
#define C_(x) (count[USLAB_STAT_##x])
#define D_(x) (derived[USLAB_STAT_##x])
	uint64_t live, room, pages, tail, cached;

	*efficiency = 0.0;
	if (!L_(page_size) || L_(slot_size) < L_(object_size) ||
	    L_(objs_per_slab) * L_(slot_size) > L_(slab_size) ||
	    C_(active_objs) > C_(total_objs))
		return -1;
	pages = L_(slab_size) / L_(page_size);
	tail = L_(slab_size) - L_(objs_per_slab) * L_(slot_size);
	if (__builtin_add_overflow(C_(nr_full), C_(nr_partial),
				   &D_(active_slabs)) ||
	    __builtin_add_overflow(D_(active_slabs), C_(nr_free),
				   &D_(nr_slabs)) ||
	    __builtin_add_overflow(C_(cpu_cached_objs), C_(depot_objs),
				   &cached) ||
	    __builtin_mul_overflow(D_(nr_slabs), L_(slab_size),
				   &D_(slab_bytes)) ||
	    __builtin_mul_overflow(D_(nr_slabs), pages * L_(desc_size),
				   &D_(desc_bytes)) ||
	    __builtin_mul_overflow(C_(total_objs),
				   L_(slot_size) - L_(object_size),
				   &D_(padding_bytes)) ||
	    __builtin_mul_overflow(D_(nr_slabs), tail, &D_(tail_bytes)) ||
	    __builtin_mul_overflow(C_(total_objs) - C_(active_objs),
				   L_(slot_size), &D_(free_bytes)) ||
	    __builtin_mul_overflow(C_(active_objs), L_(object_size), &live) ||
	    __builtin_mul_overflow(D_(nr_slabs), L_(objs_per_slab), &room) ||
	    C_(total_objs) > room)
		return -1;
	D_(cached_objs) = cached;
	if (D_(slab_bytes))
		*efficiency = (double)live / (double)D_(slab_bytes);
	return 0;
#undef L_
#undef C_
#undef D_
}

#endif /* USLAB_STAT_ITEMS_H */
