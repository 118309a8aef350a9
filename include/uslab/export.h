/* SPDX-License-Identifier: MIT */
/*
 * uslab: the statistics segment a live process publishes for
 * uslab-slabtop and other readers (format version 4).
 *
 * Where: /dev/shm/uslab.<pid> (shm_open name "/uslab.<pid>"), created
 * at library start with mode 0600 (owner only), rewritten by one
 * "uslab-export" thread every CONFIG_EXPORT_INTERVAL_MS and whenever a
 * reader asks, unlinked at exit.  On by default; USLAB_EXPORT=0 or
 * CONFIG_STATS_EXPORT=n turns it off.  A process killed without running
 * its exit handlers leaves its segment behind: such a segment is stale
 * when no process has its pid, or the one that has it started at another
 * time than @start_time; the next uslab process of the same user removes
 * it, and readers report it as stale.
 *
 * Layout: one struct uslab_export_header, then @max_caches records of
 * @cache_size + @nr_nodes * @node_size bytes each (a struct
 * uslab_export_cache followed by its nodes' struct uslab_export_node);
 * the first @nr_caches are in use, newest cache first.  Native byte
 * order and alignment; every field is fixed-width.
 *
 * Consistent snapshots (a sequence count): the writer makes @seq odd,
 * writes, then makes it even again (release ordering both times).  A
 * reader reads @seq, copies the segment, and reads @seq again: the copy
 * is consistent when both reads are equal and even; otherwise it tries
 * again.  A fresh snapshot: add 1 to @request and FUTEX_WAKE it (a
 * shared futex); the writer wakes, writes, and bumps @generation.
 *
 * Readers must treat the segment as hostile input: check the magic,
 * version, sizes and counts against the segment's length, and that
 * every name is NUL-terminated, before using anything.
 *
 * Figures: every name and its meaning is in <uslab/stat_items.h>; a
 * record carries the layout and the counts, and readers derive the rest
 * with uslab_stat_derive(), as the library does.  A cache's counts are
 * the sums over its nodes.
 *
 * slabinfo 2.1 columns derived from them (uslab_slabinfo() prints these):
 *   active_objs, num_objs = total_objs, objsize = slot_size,
 *   objperslab, pagesperslab = slab_size / page_size,
 *   tunables limit = batchcount = mag_capacity, sharedfactor = 0,
 *   active_slabs, num_slabs = nr_slabs, sharedavail = depot_objs.
 */
#ifndef USLAB_EXPORT_H
#define USLAB_EXPORT_H

#include <stdint.h>
#include <uslab/stat_items.h>

#define USLAB_EXPORT_MAGIC "USLABSHM" /* 8 bytes, no NUL */
#define USLAB_EXPORT_VERSION 4
#define USLAB_EXPORT_PREFIX "uslab." /* in /dev/shm */
#define USLAB_EXPORT_NAME_MAX 64 /* cache names, NUL included */

/* header.flags */
#define USLAB_EXPORT_FAKE_NUMA 0x1 /* nodes are USLAB_FAKE_NUMA's */

struct uslab_export_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size; /* sizeof(struct uslab_export_header) */
	uint32_t cache_size; /* sizeof(struct uslab_export_cache) */
	uint32_t node_size; /* sizeof(struct uslab_export_node) */
	uint32_t max_caches; /* records the segment has room for */
	uint32_t nr_nodes; /* node records per cache */
	uint32_t seq; /* even: stable; odd: being written */
	uint32_t request; /* readers: +1 and FUTEX_WAKE */
	uint32_t nr_caches; /* records in use */
	uint32_t dropped; /* caches beyond max_caches, not shown */
	int32_t pid;
	uint32_t page_size;
	uint64_t start_time; /* /proc/<pid>/stat field 22 */
	uint64_t updated_ns; /* CLOCK_REALTIME of this snapshot */
	uint64_t generation; /* snapshots written so far */
	uint32_t interval_ms; /* periodic rewrite */
	uint32_t flags;
	char percpu_mode[48]; /* uslab_percpu_mode() */
	char comm[32]; /* program name */
	char version_str[16]; /* library version */
	/* kmalloc's requests above its size classes (USLAB_STAT_KMALLOC) */
	USLAB_STAT_FIELDS_U64(USLAB_STAT_KMALLOC, kmalloc,
			      USLAB_NR_KMALLOC_STATS);
};

/*
 * One node's counts: the USLAB_STAT_COUNTS list of <uslab/stat_items.h>,
 * in its order, by name or as count[USLAB_STAT_<name>].
 */
struct uslab_export_node {
	USLAB_STAT_FIELDS_U64(USLAB_STAT_COUNTS, count, USLAB_NR_COUNT_STATS);
};

/*
 * A cache: its name, SLAB_* flags, layout (USLAB_STAT_LAYOUT) and
 * cache-wide counts (USLAB_STAT_CACHE).  The derived figures are not
 * stored: readers compute them with uslab_stat_derive().
 */
struct uslab_export_cache {
	char name[USLAB_EXPORT_NAME_MAX];
	uint32_t flags; /* SLAB_* creation flags */
	USLAB_STAT_FIELDS_U32(USLAB_STAT_LAYOUT, layout, USLAB_NR_LAYOUT_STATS);
	USLAB_STAT_FIELDS_U64(USLAB_STAT_CACHE, cache_count,
			      USLAB_NR_CACHE_STATS);
};

/*
 * Helpers for readers and for the library alike (header-only, so that a
 * reader need not link libuslab).  They use only libc.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid in a /dev/shm entry name "uslab.<pid>", or -1 if it is not one. */
static inline int uslab_export_pid(const char *name)
{
	size_t plen = strlen(USLAB_EXPORT_PREFIX);
	const char *digits = name + plen;
	char *end;
	long pid;

	if (strncmp(name, USLAB_EXPORT_PREFIX, plen))
		return -1;
	pid = strtol(digits, &end, 10);
	if (*end || end == digits || *digits == '+' || *digits == '-' ||
	    pid <= 0 || pid > INT_MAX)
		return -1;
	return (int)pid;
}

/*
 * Start time of process @pid (field 22 of /proc/<pid>/stat, in clock
 * ticks since boot), 0 when there is no such process.  A segment whose
 * start_time differs belongs to a process that is gone.
 */
static inline unsigned long long uslab_export_start_time(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command, in parentheses, may hold spaces and ')'. */
	p = strrchr(buf, ')');
	/* ") S ppid ...": field 3 is the state; 22 is starttime. */
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

/*
 * The pid of entry @name of the directory @dirfd (/dev/shm) when it may
 * be a segment of this user's: a regular file (a symlink is not
 * followed) named "uslab.<pid>" and owned by the effective uid; else -1.
 */
static inline int uslab_export_entry(int dirfd, const char *name)
{
	int pid = uslab_export_pid(name);
	struct stat st;

	if (pid < 0 || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return -1;
	return pid;
}

/*
 * Whether @h, the header of the segment named for @pid, was left by a
 * process that is gone: no process has @pid now, or the one that has it
 * is not the one that wrote @h (another start time, or another pid).
 */
static inline int uslab_export_stale(const struct uslab_export_header *h,
				     int pid)
{
	unsigned long long t = uslab_export_start_time(pid);

	return !t || h->pid != pid || h->start_time != t;
}

#endif /* USLAB_EXPORT_H */
