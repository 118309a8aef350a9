// SPDX-License-Identifier: MIT
/*
 * segment.c - reading a live uslab process's statistics segment
 * (/dev/shm/uslab.<pid>, format in include/uslab/export.h).
 *
 * The segment is hostile input: another process of the same user can
 * write anything into it, truncate it, or change it while we read.  So:
 * the file must be a regular file of ours with mode 0600; it is read
 * with pread() into private memory (a mapping would fault with SIGBUS
 * when truncated under us), and only the copy is used; the copy is
 * accepted when the sequence count in it and the one read just after
 * are equal and even; then every size, count, string and figure is
 * checked against the copy's length and against each other before the
 * snapshot is built.  The only shared mapping is a page of the header,
 * to bump the request word and wake the writer, under a SIGBUS guard.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <uslab/export.h>

#include "slabtop.h"

#define SEG_DIR "/dev/shm"
#define SEG_MAX_BYTES (256UL << 20)
#define SEQ_TRIES 200
#define FRESH_WAIT_MS 500

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* @s holds a NUL within @len bytes. */
static bool terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* Copy a checked string, control characters shown as '?'. */
static void copy_clean(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < dstlen && src[i]; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ?
				 '?' :
				 src[i];
	dst[i] = '\0';
}

/* One node's counts into @c, added to the cache's sums (no overflow). */
static int node_into(struct st_cache *c, unsigned int i,
		     const struct uslab_export_node *n)
{
	unsigned int k;

	memcpy(c->node[i].count, n->count, sizeof(n->count));
	if (n->active_objs > n->total_objs)
		return -1;
	for (k = 0; k < USLAB_NR_COUNT_STATS; k++)
		if (__builtin_add_overflow(c->ext.count[k], n->count[k],
					   &c->ext.count[k]))
			return -1;
	return 0;
}

/* One checked record into @c; a message in @why when it is damaged. */
static int cache_into(struct st_cache *c, const struct uslab_export_cache *r,
		      const struct uslab_export_node *nodes,
		      unsigned int nr_nodes, uint32_t page_size,
		      const char **why)
{
	struct st_ext *x = &c->ext;
	unsigned int i;

	memset(c, 0, sizeof(*c));
	if (!terminated(r->name, sizeof(r->name)) || !r->name[0]) {
		*why = "name not terminated or empty";
		return -1;
	}
	copy_clean(c->name, sizeof(c->name), r->name);
	if (!r->object_size || r->slot_size < r->object_size ||
	    !r->objs_per_slab || !r->slab_size || r->page_size != page_size ||
	    r->slab_size % page_size ||
	    (uint64_t)r->objs_per_slab * r->slot_size > r->slab_size) {
		*why = "impossible layout (sizes)";
		return -1;
	}
	c->has_ext = true;
	x->flags = r->flags;
	memcpy(x->layout, r->layout, sizeof(x->layout));
	memcpy(x->cache_count, r->cache_count, sizeof(x->cache_count));
	c->node = calloc(nr_nodes, sizeof(*c->node));
	if (!c->node) {
		*why = "out of memory";
		return -1;
	}
	c->nr_nodes = nr_nodes;
	for (i = 0; i < nr_nodes; i++)
		if (node_into(c, i, &nodes[i])) {
			*why = "impossible or overflowing counts";
			return -1;
		}
	/* The library's own rule, which also checks the counts fit. */
	if (uslab_stat_derive(x->layout, x->count, x->derived,
			      &x->efficiency)) {
		*why = "counts do not fit the slabs";
		return -1;
	}
	/* The slabinfo columns, as uslab_slabinfo() prints them. */
	c->active_objs = x->active_objs;
	c->num_objs = x->total_objs;
	c->objsize = x->slot_size;
	c->objperslab = x->objs_per_slab;
	c->pagesperslab = x->slab_size / page_size;
	c->limit = c->batchcount = x->mag_capacity;
	c->active_slabs = x->active_slabs;
	c->num_slabs = x->nr_slabs;
	c->sharedavail = x->depot_objs;
	return 0;
}

int st_parse_segment(const void *buf, size_t len, struct st_snapshot *out,
		     char *err, size_t errlen)
{
	const struct uslab_export_header *h = buf;
	size_t stride, need, i;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(*h))
		return fail(err, errlen,
			    "segment truncated: %zu bytes, the "
			    "header alone is %zu",
			    len, sizeof(*h));
	if (memcmp(h->magic, USLAB_EXPORT_MAGIC, sizeof(h->magic)))
		return fail(err, errlen,
			    "not a uslab statistics segment "
			    "(bad magic)");
	if (h->version != USLAB_EXPORT_VERSION)
		return fail(err, errlen,
			    "segment written by %s uslab (format "
			    "version %u); this uslab-slabtop reads version %d "
			    "only: use the uslab-slabtop that came with the "
			    "process's uslab",
			    h->version < USLAB_EXPORT_VERSION ? "an older" :
								"a newer",
			    h->version, USLAB_EXPORT_VERSION);
	if (h->header_size != sizeof(*h) ||
	    h->cache_size != sizeof(struct uslab_export_cache) ||
	    h->node_size != sizeof(struct uslab_export_node))
		return fail(err, errlen,
			    "segment layout does not match "
			    "format version %d (record sizes)",
			    USLAB_EXPORT_VERSION);
	if (h->seq & 1)
		return fail(err, errlen, "snapshot is being written");
	if (!h->nr_nodes || h->nr_nodes > ST_MAX_NODES)
		return fail(err, errlen,
			    "segment claims %u NUMA nodes "
			    "(1..%d)",
			    h->nr_nodes, ST_MAX_NODES);
	if (h->nr_caches > h->max_caches || h->nr_caches > ST_MAX_CACHES)
		return fail(err, errlen,
			    "segment claims %u caches in room "
			    "for %u",
			    h->nr_caches, h->max_caches);
	if (h->page_size < 512 || h->page_size & (h->page_size - 1))
		return fail(err, errlen, "segment claims a page size of %u",
			    h->page_size);
	stride = sizeof(struct uslab_export_cache) +
		 (size_t)h->nr_nodes * sizeof(struct uslab_export_node);
	if (__builtin_mul_overflow((size_t)h->nr_caches, stride, &need) ||
	    __builtin_add_overflow(need, sizeof(*h), &need) || need > len)
		return fail(err, errlen,
			    "segment truncated: %u caches need "
			    "more than its %zu bytes",
			    h->nr_caches, len);
	if (!terminated(h->percpu_mode, sizeof(h->percpu_mode)) ||
	    !terminated(h->comm, sizeof(h->comm)) ||
	    !terminated(h->version_str, sizeof(h->version_str)))
		return fail(err, errlen,
			    "segment header strings are not "
			    "terminated");

	out->kind = ST_PROCESS;
	out->pid = h->pid;
	copy_clean(out->comm, sizeof(out->comm), h->comm);
	copy_clean(out->percpu_mode, sizeof(out->percpu_mode), h->percpu_mode);
	snprintf(out->origin, sizeof(out->origin), "pid %d (%s)", h->pid,
		 out->comm);
	out->page_size = h->page_size;
	out->nr_nodes = h->nr_nodes;
	out->fake_numa = h->flags & USLAB_EXPORT_FAKE_NUMA;
	out->updated_ns = h->updated_ns;
	out->dropped = h->dropped;
	memcpy(out->kmalloc, h->kmalloc, sizeof(out->kmalloc));
	out->caches =
		calloc(h->nr_caches ? h->nr_caches : 1, sizeof(*out->caches));
	if (!out->caches)
		return fail(err, errlen, "out of memory for %u caches",
			    h->nr_caches);
	for (i = 0; i < h->nr_caches; i++) {
		const char *rec = (const char *)(h + 1) + i * stride;
		const char *why = NULL;

		out->nr_caches = i + 1; /* st_snapshot_free() frees its nodes */
		if (cache_into(
			    &out->caches[i], (const void *)rec,
			    (const void *)(rec +
					   sizeof(struct uslab_export_cache)),
			    h->nr_nodes, h->page_size, &why)) {
			st_snapshot_free(out);
			return fail(err, errlen, "segment cache record %zu: %s",
				    i, why);
		}
	}
	return 0;
}

/* ---- A live process ---------------------------------------------------- */

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

/*
 * Ask the writer for a fresh snapshot: +1 on the request word and a
 * shared-futex wake.  A segment truncated under us faults with SIGBUS,
 * which is caught; then nothing is asked.
 */
static void request_snapshot(int fd)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	struct uslab_export_header *volatile h;
	long page = sysconf(_SC_PAGESIZE);

	h = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(bus_jmp, 1)) {
		__atomic_fetch_add(&h->request, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &h->request, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	sigaction(SIGBUS, &old, NULL);
	munmap((void *)h, (size_t)page);
}

static int read_header(int fd, struct uslab_export_header *h)
{
	return pread(fd, h, sizeof(*h), 0) == (ssize_t)sizeof(*h) ? 0 : -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A consistent copy of the whole segment into a malloc'd buffer. */
static int read_consistent(int fd, void **bufp, size_t *lenp, char *err,
			   size_t errlen)
{
	struct uslab_export_header *copy, again;
	struct stat st;
	int tries;

	for (tries = 0; tries < SEQ_TRIES; tries++) {
		ssize_t n;

		if (fstat(fd, &st))
			return fail(err, errlen, "cannot stat the segment: %s",
				    strerror(errno));
		if ((size_t)st.st_size < sizeof(*copy))
			return fail(err, errlen,
				    "segment truncated: %lld "
				    "bytes",
				    (long long)st.st_size);
		if ((unsigned long)st.st_size > SEG_MAX_BYTES)
			return fail(err, errlen,
				    "segment is %lld bytes, more "
				    "than a uslab segment can be",
				    (long long)st.st_size);
		copy = malloc((size_t)st.st_size);
		if (!copy)
			return fail(err, errlen, "out of memory");
		/* pread copies in address order: the count comes first. */
		n = pread(fd, copy, (size_t)st.st_size, 0);
		if (n >= (ssize_t)sizeof(*copy) && !read_header(fd, &again) &&
		    !(copy->seq & 1) && copy->seq == again.seq) {
			*bufp = copy;
			*lenp = (size_t)n;
			return 0;
		}
		free(copy);
		if (n >= 0 && n < (ssize_t)sizeof(*copy))
			return fail(err, errlen,
				    "segment truncated while "
				    "reading");
		sleep_ms(1);
	}
	return fail(err, errlen,
		    "segment keeps changing: no consistent "
		    "snapshot in %d tries",
		    SEQ_TRIES);
}

/* Open @pid's segment: ours, a regular file, mode 0600. */
static int open_segment(int pid, bool *writable, char *err, size_t errlen)
{
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), SEG_DIR "/" USLAB_EXPORT_PREFIX "%d", pid);
	*writable = true;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		*writable = false;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno != ENOENT)
			return fail(err, errlen, "%s: %s", path,
				    strerror(errno));
		if (kill(pid, 0) && errno == ESRCH)
			return fail(err, errlen, "pid %d: no such process",
				    pid);
		return fail(err, errlen,
			    "pid %d is not a uslab process (no "
			    "%s; or it runs with USLAB_EXPORT=0)",
			    pid, path);
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, "%s: not a regular file", path);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return fail(err, errlen,
			    "%s belongs to uid %u, not to you: "
			    "refusing another user's segment",
			    path, (unsigned int)st.st_uid);
	}
	if (st.st_mode & 077) {
		close(fd);
		return fail(err, errlen,
			    "%s has mode %04o; a uslab segment "
			    "is 0600: refusing it",
			    path, (unsigned int)(st.st_mode & 07777));
	}
	return fd;
}

int st_read_process(int pid, struct st_snapshot *out, char *err, size_t errlen)
{
	struct uslab_export_header h;
	bool writable, fresh = false;
	size_t len = 0;
	void *buf = NULL;
	int fd, waited, ret;

	memset(out, 0, sizeof(*out));
	if (pid <= 0)
		return fail(err, errlen, "invalid pid %d", pid);
	fd = open_segment(pid, &writable, err, errlen);
	if (fd < 0)
		return -1;
	if (read_header(fd, &h)) {
		close(fd);
		return fail(err, errlen, "pid %d: segment truncated", pid);
	}
	if (uslab_export_stale(&h, pid)) {
		close(fd);
		return fail(err, errlen,
			    "pid %d: stale segment (its process "
			    "is gone)",
			    pid);
	}
	if (writable) {
		uint64_t gen = h.generation;

		request_snapshot(fd);
		for (waited = 0; waited < FRESH_WAIT_MS; waited += 5) {
			if (read_header(fd, &h) == 0 && h.generation != gen) {
				fresh = true;
				break;
			}
			sleep_ms(5);
		}
	}
	ret = read_consistent(fd, &buf, &len, err, errlen);
	close(fd);
	if (ret)
		return -1;
	ret = st_parse_segment(buf, len, out, err, errlen);
	free(buf);
	if (ret)
		return -1;
	if (out->pid != pid) {
		st_snapshot_free(out);
		return fail(err, errlen, "segment of pid %d claims pid %d", pid,
			    h.pid);
	}
	if (!fresh)
		strncat(out->origin,
			" [not refreshed: the process did not "
			"answer]",
			sizeof(out->origin) - strlen(out->origin) - 1);
	return 0;
}

/* ---- Listing ------------------------------------------------------------ */

static void describe(struct st_proc *p, int dirfd, const char *name)
{
	struct uslab_export_header h;
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(p->why, sizeof(p->why), "%s", strerror(errno));
		return;
	}
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		snprintf(p->why, sizeof(p->why), "mode %04o, not 0600",
			 (unsigned int)(st.st_mode & 07777));
	} else if (read_header(fd, &h)) {
		snprintf(p->why, sizeof(p->why), "truncated");
	} else if (memcmp(h.magic, USLAB_EXPORT_MAGIC, sizeof(h.magic))) {
		snprintf(p->why, sizeof(p->why), "not a uslab segment");
	} else if (h.version != USLAB_EXPORT_VERSION) {
		snprintf(p->why, sizeof(p->why),
			 "format version %u (%s "
			 "uslab)",
			 h.version,
			 h.version < USLAB_EXPORT_VERSION ? "older" : "newer");
	} else {
		if (terminated(h.comm, sizeof(h.comm)))
			copy_clean(p->comm, sizeof(p->comm), h.comm);
		p->nr_caches = h.nr_caches;
		p->stale = uslab_export_stale(&h, p->pid);
	}
	close(fd);
}

static int cmp_proc(const void *a, const void *b)
{
	const struct st_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int st_list_processes(struct st_proc **out, size_t *n, char *err, size_t errlen)
{
	DIR *dir = opendir(SEG_DIR);
	struct st_proc *v = NULL;
	size_t nr = 0, cap = 0;
	struct dirent *e;

	*out = NULL;
	*n = 0;
	if (!dir)
		return fail(err, errlen, SEG_DIR ": %s", strerror(errno));
	while ((e = readdir(dir))) {
		int pid = uslab_export_entry(dirfd(dir), e->d_name);

		if (pid < 0)
			continue;
		if (nr == cap) {
			struct st_proc *w;

			cap = cap ? 2 * cap : 16;
			w = realloc(v, cap * sizeof(*v));
			if (!w) {
				free(v);
				closedir(dir);
				return fail(err, errlen, "out of memory");
			}
			v = w;
		}
		memset(&v[nr], 0, sizeof(v[nr]));
		v[nr].pid = (int)pid;
		describe(&v[nr], dirfd(dir), e->d_name);
		nr++;
	}
	closedir(dir);
	if (nr)
		qsort(v, nr, sizeof(*v), cmp_proc);
	*out = v;
	*n = nr;
	return 0;
}
