/* SPDX-License-Identifier: MIT */
/*
 * slabtop.h - the model of uslab-slabtop: every source (a slabinfo 2.1
 * text, a live uslab process's shared-memory segment) fills a struct
 * st_snapshot, and every view (once to stdout, JSON, interactive) reads
 * one.  The parsers never trust their input: whatever they are given,
 * they return 0 with a complete snapshot or -1 with a one-line message
 * in err, and never read out of bounds.
 */
#ifndef USLAB_SLABTOP_H
#define USLAB_SLABTOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_NAME_MAX	64	/* cache names, NUL included */
#define ST_MAX_NODES	64
#define ST_MAX_CACHES	100000	/* more rows than this is a damaged input */

/* One node's share of a uslab cache (uslab sources only). */
struct st_node {
	uint64_t total_objs;		/* laid out in this node's slabs */
	uint64_t active_objs;		/* handed out to users */
	uint64_t cpu_cached_objs;	/* free, in CPU magazines */
	uint64_t depot_objs;		/* free, in the depot */
	uint64_t partial_free_objs;	/* free, stranded in partial slabs */
	uint64_t nr_full, nr_partial, nr_free;
	uint64_t allocs, frees;		/* calls made on this node's CPUs */
	uint64_t remote_frees;		/* came home from other nodes' CPUs */
	uint64_t depot_exchanges;
	uint64_t slabs_allocated, slabs_released;
};

struct st_cache {
	char name[ST_NAME_MAX];

	/* The slabinfo 2.1 columns, for every source. */
	uint64_t active_objs;
	uint64_t num_objs;
	uint32_t objsize;		/* slot size, as the kernel prints */
	uint32_t objperslab;
	uint32_t pagesperslab;
	uint32_t limit, batchcount, sharedfactor;	/* tunables */
	uint64_t active_slabs;
	uint64_t num_slabs;
	uint64_t sharedavail;

	/* uslab only (has_ext): totals over the nodes, and the picture. */
	bool has_ext;
	uint32_t object_size;		/* what the user asked for */
	uint32_t slab_size;		/* bytes per slab */
	uint32_t mag_capacity;		/* rounds per new magazine, 0: none */
	uint64_t cpu_cached_objs, depot_objs, partial_free_objs;
	uint64_t nr_full, nr_partial, nr_free;
	uint64_t depot_full, depot_empty, depot_exchanges;
	uint64_t allocs, frees, remote_frees;
	uint64_t slabs_allocated, slabs_released, bad_frees;
	/* Fragmentation, bytes. */
	uint64_t slab_bytes;		/* num_slabs * slab_size */
	uint64_t padding_bytes;		/* (slot - object size) * num_objs */
	uint64_t tail_bytes;		/* unused slab tail * num_slabs */
	uint64_t free_bytes;		/* free slots * slot size */
	double efficiency;		/* live object bytes / slab_bytes */
	uint32_t nr_nodes;
	struct st_node *node;		/* nr_nodes, malloc'd; NULL for text */
};

enum st_source { ST_SLABINFO, ST_PROCESS };

struct st_snapshot {
	enum st_source kind;
	char origin[300];		/* "/proc/slabinfo", "pid 123 (kvcache)" */
	int pid;			/* ST_PROCESS */
	char comm[32];
	char percpu_mode[48];
	uint32_t page_size;
	uint32_t nr_nodes;		/* 0 for slabinfo text */
	bool fake_numa;
	uint64_t updated_ns;		/* CLOCK_REALTIME of the snapshot */
	uint32_t dropped;		/* caches the process could not export */
	size_t nr_caches;
	struct st_cache *caches;	/* malloc'd, nr_caches of them */
};

void st_snapshot_free(struct st_snapshot *snap);

/* slabinfo.c: slabinfo version 2.x text (procps rules, checked). */
int st_parse_slabinfo(const char *text, size_t len, struct st_snapshot *out,
		      char *err, size_t errlen);
int st_read_slabinfo_file(const char *path, struct st_snapshot *out,
			  char *err, size_t errlen);

/* segment.c: a uslab process's /dev/shm segment (include/uslab/export.h). */
int st_parse_segment(const void *buf, size_t len, struct st_snapshot *out,
		     char *err, size_t errlen);
int st_read_process(int pid, struct st_snapshot *out, char *err,
		    size_t errlen);

struct st_proc {
	int pid;
	char comm[32];
	bool stale;			/* its process is gone */
	char why[80];			/* what is wrong, when unreadable */
	size_t nr_caches;
};
/* The uslab segments in /dev/shm this user can see; *out is malloc'd. */
int st_list_processes(struct st_proc **out, size_t *n, char *err,
		      size_t errlen);

#endif /* USLAB_SLABTOP_H */
