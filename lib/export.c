// SPDX-License-Identifier: MIT
/*
 * export.c - publishes this process's cache statistics for other
 * processes (uslab-slabtop -p PID) in a shared-memory segment, format
 * and protocol in include/uslab/export.h.
 *
 * One thread, "uslab-export", owns the segment.  It collects every
 * cache's per-node figures into a private image of the segment (taking
 * slab_mutex and each node lock in turn, as uslab_cache_node_info()
 * does), then writes the image to the file inside a sequence-count
 * window.  It rewrites the segment every CONFIG_EXPORT_INTERVAL_MS and
 * whenever a reader bumps the header's request word and wakes it (a
 * shared futex on that word).  Nothing is added to the allocation
 * paths.
 *
 * The file is writable by any process of this user, which may truncate
 * or shrink it under us.  A store through a mapping past the file's end
 * is SIGBUS, so the writer never stores through its mapping: it
 * pwrite()s (which extends a truncated file again, and the segment
 * heals at the next snapshot) and pread()s the request word.  The
 * mapping serves only as the futex's address; a wait on a truncated
 * page fails with EFAULT and becomes a plain sleep.  A file replaced
 * under its name is not ours: we go on writing the one we opened.
 *
 * Life cycle: export_start() at library start creates /dev/shm/
 * uslab.<pid> with O_EXCL and mode 0600, after removing this user's
 * stale segments (their process is gone, or its pid now belongs to a
 * process that started at another time).  An atexit handler unlinks
 * the segment.  A forked child drops the parent's mapping without
 * touching the file and starts its own segment and thread (cache.c
 * starts it: at once, or later under libuslab-malloc.so).  Any failure
 * is reported once and leaves the library running without an export.
 *
 * Locking: only the export thread writes the segment (after start-up);
 * export_lock serialises start-up, fork and exit.  Lock order: the
 * collection takes slab_mutex (level 1) and node locks (level 4).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <uslab/export.h>

#include "internal.h"

#ifdef CONFIG_STATS_EXPORT

#define EXPORT_DIR "/dev/shm"

static pthread_mutex_t export_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uslab_export_header *seg; /* the mapping, NULL when off */
static int seg_fd = -1; /* the file: every write goes through it */
static size_t seg_len;
static char seg_name[32]; /* "/uslab.<pid>" for shm_open */
static pid_t seg_pid; /* the process that created it */
static struct uslab_export_header *scratch; /* the image being written */
static uint32_t seg_seq; /* our count; the file's copy is never read */
static uint64_t seg_generation;
/*
 * The segment's geometry, as we made it.  The header's copies are for
 * readers: any process of this user can rewrite them, so the writer
 * never sizes anything from the shared header.
 */
static unsigned int seg_nodes, seg_max;
static unsigned long long seg_start_time;
static bool exit_hooked;

static size_t record_size(unsigned int nr_nodes)
{
	return sizeof(struct uslab_export_cache) +
	       nr_nodes * sizeof(struct uslab_export_node);
}

/*
 * Is /dev/shm/@name (this user's) a segment whose process is gone?  A
 * segment with our own pid is stale too: we have not made ours yet.
 */
static bool segment_stale(int dirfd, const char *name, pid_t pid)
{
	struct uslab_export_header h;
	bool stale = false;
	int fd;

	if (pid == getpid())
		return true;
	if (kill(pid, 0) && errno == ESRCH)
		return true;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false; /* cannot tell: leave it */
	/*
	 * A live process's file shorter than a header is being created,
	 * or was truncated and its writer fills it again: leave it.
	 */
	if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h))
		stale = uslab_export_stale(&h, (int)pid);
	close(fd);
	return stale;
}

/* Remove this user's segments left by processes that are gone. */
static void export_clean_stale(void)
{
	DIR *dir = opendir(EXPORT_DIR);
	struct dirent *e;

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		int pid = uslab_export_entry(dirfd(dir), e->d_name);

		if (pid > 0 && segment_stale(dirfd(dir), e->d_name, (pid_t)pid))
			unlinkat(dirfd(dir), e->d_name, 0);
	}
	closedir(dir);
}

/* ---- Collecting and publishing ------------------------------------- */

struct collect {
	char *buf;
	unsigned int nr_nodes, max, nr, dropped;
};

static void copy_str(char *dst, size_t len, const char *src)
{
	strncpy(dst, src ? src : "", len - 1);
	dst[len - 1] = '\0';
}

static int collect_cache(struct kmem_cache *s, void *arg)
{
	struct collect *c = arg;
	struct uslab_export_cache *r;
	struct uslab_export_node *nodes;
	struct uslab_cache_info info;
	uint32_t capacity = 0;
	unsigned int i;

	if (c->nr == c->max) {
		c->dropped++;
		return 0;
	}
	r = (void *)(c->buf + (size_t)c->nr++ * record_size(c->nr_nodes));
	nodes = (void *)(r + 1);
	memset(r, 0, record_size(c->nr_nodes));
	for (i = 0; i < c->nr_nodes && i < s->nr_nodes; i++) {
		uslab_cache_node_info(s, (int)i, &info);
		/* The first depot with a size, as uslab_cache_info() says. */
		if (!capacity)
			capacity = info.mag_capacity;
		memcpy(nodes[i].count, info.count, sizeof(nodes[i].count));
	}
	/* Layout and cache-wide figures: every node's info has them. */
	copy_str(r->name, sizeof(r->name), info.name);
	r->flags = (uint32_t)info.flags;
	memcpy(r->layout, info.layout, sizeof(r->layout));
	r->mag_capacity = capacity;
	memcpy(r->cache_count, info.cache_count, sizeof(r->cache_count));
	return 0;
}

/*
 * Everything in the header but the counts and snapshot fields, from our
 * own copies: rewritten with every snapshot, so a scribbled header heals.
 */
static void header_fill(struct uslab_export_header *h)
{
	memcpy(h->magic, USLAB_EXPORT_MAGIC, sizeof(h->magic));
	h->version = USLAB_EXPORT_VERSION;
	h->header_size = sizeof(*h);
	h->cache_size = sizeof(struct uslab_export_cache);
	h->node_size = sizeof(struct uslab_export_node);
	h->max_caches = seg_max;
	h->nr_nodes = seg_nodes;
	h->pid = (int32_t)seg_pid;
	h->page_size = PAGE_SIZE;
	h->start_time = seg_start_time;
	h->interval_ms = CONFIG_EXPORT_INTERVAL_MS;
	h->flags = topology_is_fake() ? USLAB_EXPORT_FAKE_NUMA : 0;
	copy_str(h->percpu_mode, sizeof(h->percpu_mode), percpu_mode_name());
	copy_str(h->comm, sizeof(h->comm), program_invocation_short_name);
	copy_str(h->version_str, sizeof(h->version_str), USLAB_VERSION);
}

/*
 * pwrite() all of [@off, @off + @len) of the image; false on an error
 * (such as ENOSPC while extending a truncated file): the next snapshot
 * tries again.
 */
static bool image_write(size_t off, size_t len)
{
	const char *p = (const char *)scratch + off;
	ssize_t n;

	while (len) {
		n = pwrite(seg_fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return true;
}

/* The image's sequence count, set to @seq, into the file. */
static bool seq_write(uint32_t seq)
{
	scratch->seq = seq;
	return image_write(offsetof(struct uslab_export_header, seq),
			   sizeof(scratch->seq));
}

static void export_publish(void)
{
	struct uslab_export_header *h = scratch;
	struct collect c = {
		.buf = (char *)(h + 1),
		.nr_nodes = seg_nodes,
		.max = seg_max,
	};
	size_t req = offsetof(struct uslab_export_header, request);
	struct timespec now;

	uslab_for_each_cache(collect_cache, &c);
	clock_gettime(CLOCK_REALTIME, &now);
	header_fill(h);
	kmalloc_stat_read(h->kmalloc);
	h->nr_caches = c.nr;
	h->dropped = c.dropped;
	h->updated_ns =
		(uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	h->generation = ++seg_generation;

	/*
	 * The seqlock writer, through the file.  Each pwrite() is a copy
	 * into the page cache pages readers map, done in order: the odd
	 * count is in place before any byte of the body, the body before
	 * the even count (x86-64 keeps stores in order, and the syscalls
	 * between them are full barriers).  The copy may store the count
	 * byte by byte, so a reader may see a torn count.  Odd from even
	 * changes bit 0 only, one byte: never torn.  Even from odd may
	 * carry into higher bytes, but the body is final by then, and a
	 * torn value never equals the next odd count.  So a reader whose
	 * two reads agree copied a whole snapshot.  The request word is
	 * not written: readers own it.
	 */
	seg_seq = (seg_seq | 1U) + 1; /* even */
	if (!seq_write(seg_seq - 1))
		return;
	/* The header below carries the odd count seq_write() left in it. */
	if (image_write(0, req) &&
	    image_write(req + sizeof(h->request),
			sizeof(*h) - req - sizeof(h->request) +
				(size_t)c.nr * record_size(c.nr_nodes)))
		seq_write(seg_seq);
}

static long futex(uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *timeout)
{
	return syscall(SYS_futex, uaddr, op, val, timeout, NULL, 0);
}

static void *export_main(void *arg)
{
	struct uslab_export_header *h = arg;
	struct timespec tick = {
		.tv_sec = CONFIG_EXPORT_INTERVAL_MS / 1000,
		.tv_nsec = (CONFIG_EXPORT_INTERVAL_MS % 1000) * 1000000L,
	};

	for (;;) {
		/*
		 * Readers in other processes bump the word; a stale value
		 * only costs one more snapshot.  Read before publishing,
		 * so a request that arrives during the write wakes the
		 * next wait at once.  pread(), not a load: the file may
		 * have been truncated (a short read leaves 0).
		 */
		uint32_t req = 0;

		if (pread(seg_fd, &req, sizeof(req),
			  offsetof(struct uslab_export_header, request)) !=
		    sizeof(req))
			req = 0;
		export_publish();
		/*
		 * Shared (no FUTEX_PRIVATE_FLAG): readers are other
		 * processes.  The kernel reads the word itself, so a
		 * truncated page is EFAULT, not SIGBUS: sleep instead.
		 */
		if (futex(&h->request, FUTEX_WAIT, req, &tick) &&
		    errno == EFAULT)
			nanosleep(&tick, NULL);
	}
	return NULL;
}

static void export_unlink_at_exit(void)
{
	pthread_mutex_lock(&export_lock);
	if (seg && seg_pid == getpid())
		shm_unlink(seg_name);
	pthread_mutex_unlock(&export_lock);
}

/*
 * The scratch image, sized for CONFIG_EXPORT_MAX_CACHES records, from
 * mmap rather than calloc: glibc clears a calloc'd block of a fresh heap,
 * which would make all of it resident, while a snapshot writes only the
 * header and the records of the caches that exist.
 */
static struct uslab_export_header *scratch_new(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void scratch_free(size_t len)
{
	if (scratch)
		munmap(scratch, len);
	scratch = NULL;
}

static int export_create(void)
{
	unsigned int nr_nodes = (unsigned int)topology_nr_nodes();
	unsigned int max = CONFIG_EXPORT_MAX_CACHES;
	struct uslab_export_header *h;
	int fd, tries;
	size_t len;

	len = sizeof(*h) + (size_t)max * record_size(nr_nodes);
	snprintf(seg_name, sizeof(seg_name), "/%s%d", USLAB_EXPORT_PREFIX,
		 (int)getpid());
	for (tries = 0;; tries++) {
		fd = shm_open(seg_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
		if (fd >= 0 || errno != EEXIST || tries)
			break;
		shm_unlink(seg_name); /* ours by pid: a dead process's */
	}
	if (fd < 0)
		return -1;
	scratch = scratch_new(len);
	if (!scratch || fchmod(fd, 0600) || ftruncate(fd, (off_t)len))
		goto fail;
	/* Read-only: the futex's address; nothing stores through it. */
	h = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		goto fail;

	seg = h;
	seg_fd = fd;
	seg_len = len;
	seg_nodes = nr_nodes;
	seg_max = max;
	seg_start_time = uslab_export_start_time((int)getpid());
	seg_pid = getpid();
	seg_seq = 0;
	seg_generation = 0;
	/* An empty snapshot (count 0, no cache) until the first one. */
	header_fill(scratch);
	if (!image_write(0, sizeof(*h))) {
		munmap(h, len);
		seg = NULL;
		seg_fd = -1;
		goto fail;
	}
	return 0;
fail:
	close(fd);
	shm_unlink(seg_name);
	scratch_free(len);
	return -1;
}

/* At library start, and in a forked child: a segment and its thread. */
void export_start(void)
{
	pthread_mutex_lock(&export_lock);
	if (seg || !uslab_env.export)
		goto out;
	export_clean_stale();
	if (export_create()) {
		uslab_report("cannot publish statistics in %s%s (%s); "
			     "uslab-slabtop -p will not see this process",
			     EXPORT_DIR, seg_name, strerror(errno));
		goto out;
	}
	if (uslab_spawn(export_main, seg, "uslab-export")) {
		uslab_report("cannot start the statistics thread; "
			     "uslab-slabtop -p will not see this process");
		munmap(seg, seg_len);
		close(seg_fd);
		seg_fd = -1;
		scratch_free(seg_len);
		shm_unlink(seg_name);
		seg = NULL;
		goto out;
	}
	if (!exit_hooked && !atexit(export_unlink_at_exit))
		exit_hooked = true;
out:
	pthread_mutex_unlock(&export_lock);
}

/*
 * In a forked child: the thread is gone, and the mapping is the
 * parent's segment, which the child must neither write nor unlink.
 * The child's own starts with export_start() (cache.c).
 */
void export_fork_child(void)
{
	pthread_mutex_init(&export_lock, NULL);
	if (seg) {
		munmap(seg, seg_len);
		close(seg_fd);
		scratch_free(seg_len);
	}
	seg = NULL;
	seg_fd = -1;
}

#else /* !CONFIG_STATS_EXPORT */

void export_start(void)
{
}

void export_fork_child(void)
{
}

#endif
