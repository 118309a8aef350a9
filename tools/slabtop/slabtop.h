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

#include <uslab/stat_items.h>

#define ST_NAME_MAX 64 /* cache names, NUL included */
#define ST_MAX_NODES 64
#define ST_MAX_CACHES 100000 /* more rows than this is a damaged input */

/* One node's counts of a uslab cache (<uslab/stat_items.h>). */
struct st_node {
	USLAB_STAT_FIELDS_U64(USLAB_STAT_COUNTS, count, USLAB_NR_COUNT_STATS);
};

/* A uslab cache's own figures: the vocabulary of <uslab/stat_items.h>. */
struct st_ext {
	uint32_t flags; /* SLAB_* creation flags */
	USLAB_STAT_ALL_FIELDS; /* counts summed over the nodes */
};

struct st_cache {
	char name[ST_NAME_MAX];

	/* The slabinfo 2.1 columns, for every source. */
	uint64_t active_objs;
	uint64_t num_objs;
	uint32_t objsize; /* slot size, as the kernel prints */
	uint32_t objperslab;
	uint32_t pagesperslab;
	uint32_t limit, batchcount, sharedfactor; /* tunables */
	uint64_t active_slabs;
	uint64_t num_slabs;
	uint64_t sharedavail;

	/* uslab sources only (has_ext): every figure, and each node's. */
	bool has_ext;
	struct st_ext ext;
	uint32_t nr_nodes;
	struct st_node *node; /* nr_nodes, malloc'd; NULL for text */
};

enum st_source { ST_SLABINFO, ST_PROCESS };

struct st_snapshot {
	enum st_source kind;
	char origin[300]; /* "/proc/slabinfo", "pid 123 (kvcache)" */
	int pid; /* ST_PROCESS */
	char comm[32];
	char percpu_mode[48];
	uint32_t page_size;
	uint32_t nr_nodes; /* 0 for slabinfo text */
	bool fake_numa;
	uint64_t updated_ns; /* CLOCK_REALTIME of the snapshot */
	uint32_t dropped; /* caches the process could not export */
	/* ST_PROCESS: kmalloc's requests above its size classes */
	USLAB_STAT_FIELDS_U64(USLAB_STAT_KMALLOC, kmalloc,
			      USLAB_NR_KMALLOC_STATS);
	size_t nr_caches;
	struct st_cache *caches; /* malloc'd, nr_caches of them */
};

void st_snapshot_free(struct st_snapshot *snap);

/* slabinfo.c: slabinfo version 2.x text (procps rules, checked). */
int st_parse_slabinfo(const char *text, size_t len, struct st_snapshot *out,
		      char *err, size_t errlen);
int st_read_slabinfo_file(const char *path, struct st_snapshot *out, char *err,
			  size_t errlen);

/* segment.c: a uslab process's /dev/shm segment (include/uslab/export.h). */
int st_parse_segment(const void *buf, size_t len, struct st_snapshot *out,
		     char *err, size_t errlen);
int st_read_process(int pid, struct st_snapshot *out, char *err, size_t errlen);

struct st_proc {
	int pid;
	char comm[32];
	bool stale; /* its process is gone */
	char why[80]; /* what is wrong, when unreadable */
	size_t nr_caches;
};
/* The uslab segments in /dev/shm this user can see; *out is malloc'd. */
int st_list_processes(struct st_proc **out, size_t *n, char *err,
		      size_t errlen);

#endif /* USLAB_SLABTOP_H */
