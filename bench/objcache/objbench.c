// SPDX-License-Identifier: MIT
/*
 * bench/objcache/objbench.c: one measurement of one object-cache workload
 * with one allocator, in a process of its own.
 *
 * The same source builds one binary per malloc (objbench-glibc,
 * objbench-jemalloc, objbench-tcmalloc, objbench-mimalloc: "malloc" is
 * whichever the binary links) and the binaries for the other peers:
 *
 *	OBJBENCH_MALLOC="name"	the label of the linked malloc
 *	OBJBENCH_USLAB		uslab (public API) and the naive list;
 *				with USLAB_INLINE, uslab's inline fast
 *				path (objbench-inline)
 *	OBJBENCH_GSLICE		GLib's g_slice_alloc()/g_slice_free1()
 *	OBJBENCH_DPDK		DPDK's rte_mempool with a per-lcore cache
 *
 * Usage: objbench-X KIND WORKLOAD SIZE THREADS N OPS
 *	KIND	 malloc | naive | uslab | gslice | dpdk
 *	WORKLOAD pair | batch | xthread | churn
 *	N	 batch length (batch), live objects (churn), else 0
 *	OPS	 timed operations per thread (per object for xthread)
 *
 * Each worker thread is pinned to a CPU (modulo the CPUs this process may
 * use), runs a warm-up pass of a tenth of OPS, meets the others at a
 * barrier and runs the timed pass.  The process prints one line:
 *
 *	ok NS_PER_OP MOPS PEAK_RSS_KIB SETUP_RSS_KIB INFO  (tab-separated)
 *
 * NS_PER_OP is each thread's own time per op averaged over the threads
 * (xthread: wall time per object handed over); MOPS is all threads' ops
 * over the wall time from the first thread's start to the last one's
 * end.  The RSS figures are kibibytes above the process's resident set
 * just before the allocator was set up: PEAK from VmHWM after the
 * workload, SETUP from VmRSS once the allocator was ready.  A peer that
 * cannot start prints "unavailable REASON" and exits 3.  The report
 * (report.c) runs these processes and computes medians; nothing here
 * passes or fails on time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifdef OBJBENCH_USLAB
#include <uslab/slab.h>
#endif
#ifdef OBJBENCH_GSLICE
#include <glib.h>
#endif
#ifdef OBJBENCH_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_version.h>
#endif

#ifndef OBJBENCH_MALLOC
#define OBJBENCH_MALLOC "glibc"
#endif

#define always_inline inline __attribute__((always_inline))
#define unlikely(x) __builtin_expect(!!(x), 0)

#define RING_SIZE 1024u /* xthread's ring, a power of 2 */
#define CHURN_SEED 0x9e3779b97f4a7c15ull
#define DPDK_CACHE 256u /* per-lcore mempool cache */
#define MAX_THREADS 64u
#define TIMEOUT_S 120u /* a stuck run dies of SIGALRM */

enum kind { K_MALLOC, K_NAIVE, K_USLAB, K_GSLICE, K_DPDK };
enum workload { W_PAIR, W_BATCH, W_XTHREAD, W_CHURN };

static const char *const kind_names[] = {
	[K_MALLOC] = "malloc", [K_NAIVE] = "naive", [K_USLAB] = "uslab",
	[K_GSLICE] = "gslice", [K_DPDK] = "dpdk",
};
static const char *const workload_names[] = {
	[W_PAIR] = "pair",
	[W_BATCH] = "batch",
	[W_XTHREAD] = "xthread",
	[W_CHURN] = "churn",
};

/* What this process measures; set once by main() before any thread. */
static struct {
	enum kind kind;
	enum workload wl;
	size_t size;
	unsigned int nthreads;
	long n;
	long ops;
	long warm_ops;
	int cpus[MAX_THREADS];
	unsigned int ncpus;
} B;

struct worker {
	pthread_t tid;
	unsigned int idx;
	void **arr; /* batch: N slots, bench-owned memory */
	double t0, t1; /* the timed pass */
} __attribute__((aligned(64)));

static struct worker workers[MAX_THREADS];
static pthread_barrier_t barrier;
static _Atomic unsigned int start_line; /* spin barrier before timing */

static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	/* To the log, and to the report through stdout. */
	fputs("objbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs("failed\t", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

/* A peer that cannot run here: say why on stdout for the report. */
static void unavailable(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn, unused));
static void unavailable(const char *fmt, ...)
{
	va_list ap;

	fputs("unavailable\t", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(3);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * Memory the benchmark itself needs (batch arrays, churn slots, the
 * ring) comes from mmap, never from the allocator under test, and is
 * touched before the RSS baseline.
 */
static void *bench_mem(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes: %s", bytes, strerror(errno));
	memset(p, 0, bytes);
	return p;
}

/* A "VmRSS:" or "VmHWM:" figure of /proc/self/status, in KiB. */
static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	size_t klen = strlen(key);
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen)) {
			v = strtol(line + klen, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Reset VmHWM to the current RSS (Linux 4.0+); harmless if refused. */
static void reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* ---- The allocators ---------------------------------------------------- */

/*
 * The naive per-thread free list, the practical limit: freed objects go
 * on a thread-local singly-linked list, allocations pop it and fall back
 * to malloc when it is empty.  Nothing is ever returned.
 */
struct naive_obj {
	struct naive_obj *next;
};
static __thread struct naive_obj *naive_head;

static always_inline void *naive_alloc(size_t size)
{
	struct naive_obj *o = naive_head;

	if (unlikely(!o))
		return malloc(size);
	naive_head = o->next;
	return o;
}

static always_inline void naive_free(void *p)
{
	struct naive_obj *o = p;

	o->next = naive_head;
	naive_head = o;
}

#ifdef OBJBENCH_USLAB
static struct kmem_cache *cache;
#endif
#ifdef OBJBENCH_DPDK
static struct rte_mempool *pool;
#endif

static always_inline void *obj_alloc(enum kind k, size_t size)
{
	switch (k) {
	case K_MALLOC:
		return malloc(size);
	case K_NAIVE:
		return naive_alloc(size);
#ifdef OBJBENCH_USLAB
	case K_USLAB:
		return kmem_cache_alloc(cache, GFP_KERNEL);
#endif
#ifdef OBJBENCH_GSLICE
	case K_GSLICE:
		return g_slice_alloc(size);
#endif
#ifdef OBJBENCH_DPDK
	case K_DPDK: {
		void *o;

		return rte_mempool_get(pool, &o) ? NULL : o;
	}
#endif
	default:
		__builtin_unreachable();
	}
}

static always_inline void obj_free(enum kind k, size_t size, void *p)
{
	(void)size;
	switch (k) {
	case K_MALLOC:
		free(p);
		return;
	case K_NAIVE:
		naive_free(p);
		return;
#ifdef OBJBENCH_USLAB
	case K_USLAB:
		kmem_cache_free(cache, p);
		return;
#endif
#ifdef OBJBENCH_GSLICE
	case K_GSLICE:
		g_slice_free1(size, p);
		return;
#endif
#ifdef OBJBENCH_DPDK
	case K_DPDK:
		rte_mempool_put(pool, p);
		return;
#endif
	default:
		__builtin_unreachable();
	}
}

static __attribute__((noinline, noreturn)) void alloc_failed(void)
{
	die("%s: allocation failed", kind_names[B.kind]);
}

/*
 * Stand for the user's code between alloc and free: the object escapes
 * and memory may change, so no allocation is elided and nothing (not
 * even the naive list's head) stays in a register across it.
 */
static always_inline void use(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* ---- The workloads ------------------------------------------------------ */

/* pair: allocate and free at once. */
static always_inline void pair_loop(enum kind k, long ops)
{
	const size_t size = B.size;

	for (long i = 0; i < ops; i++) {
		void *p = obj_alloc(k, size);

		if (unlikely(!p))
			alloc_failed();
		use(p);
		obj_free(k, size, p);
	}
}

/* batch: N allocations, then N frees in allocation order; ops/N rounds. */
static always_inline void batch_loop(enum kind k, struct worker *w, long ops)
{
	const size_t size = B.size;
	const long n = B.n;
	void **arr = w->arr;

	for (long r = 0; r < ops / n; r++) {
		for (long i = 0; i < n; i++) {
			void *p = obj_alloc(k, size);

			if (unlikely(!p))
				alloc_failed();
			arr[i] = p;
		}
		use(arr);
		for (long i = 0; i < n; i++)
			obj_free(k, size, arr[i]);
	}
}

/*
 * xthread: thread 0 allocates and passes each object through a
 * single-producer/single-consumer ring to thread 1, which frees it.
 */
static struct ring {
	_Alignas(64) _Atomic unsigned long head; /* producer's */
	_Alignas(64) _Atomic unsigned long tail; /* consumer's */
	_Alignas(64) void *slot[RING_SIZE];
} * ring;

static always_inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static always_inline void xthread_produce(enum kind k, long ops)
{
	const size_t size = B.size;
	unsigned long head =
		atomic_load_explicit(&ring->head, memory_order_relaxed);
	unsigned long tail =
		atomic_load_explicit(&ring->tail, memory_order_acquire);

	for (long i = 0; i < ops; i++) {
		void *p = obj_alloc(k, size);

		if (unlikely(!p))
			alloc_failed();
		while (head - tail == RING_SIZE) {
			cpu_relax();
			tail = atomic_load_explicit(&ring->tail,
						    memory_order_acquire);
		}
		ring->slot[head % RING_SIZE] = p;
		atomic_store_explicit(&ring->head, ++head,
				      memory_order_release);
	}
}

static always_inline void xthread_consume(enum kind k, long ops)
{
	const size_t size = B.size;
	unsigned long tail =
		atomic_load_explicit(&ring->tail, memory_order_relaxed);
	unsigned long head =
		atomic_load_explicit(&ring->head, memory_order_acquire);

	for (long i = 0; i < ops; i++) {
		void *p;

		while (head == tail) {
			cpu_relax();
			head = atomic_load_explicit(&ring->head,
						    memory_order_acquire);
		}
		p = ring->slot[tail % RING_SIZE];
		atomic_store_explicit(&ring->tail, ++tail,
				      memory_order_release);
		obj_free(k, size, p);
	}
}

/*
 * churn: 2N slots, the first N filled; then each step picks a slot at
 * random (xorshift64*, fixed seed) and frees its object or allocates
 * one into it.  The live count drifts back to N (an Ehrenfest walk).
 * Each new object has its first word written, as a user would.
 */
static void **churn_slot;
static uint64_t churn_rng = CHURN_SEED;

static always_inline uint64_t xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static always_inline unsigned long churn_pick(uint64_t *s, unsigned long nslots)
{
	return (unsigned long)(((xorshift64s(s) >> 32) * nslots) >> 32);
}

static always_inline void churn_fill(enum kind k)
{
	for (long i = 0; i < B.n; i++) {
		void *p = obj_alloc(k, B.size);

		if (unlikely(!p))
			alloc_failed();
		*(long *)p = i;
		churn_slot[i] = p;
	}
}

static always_inline void churn_loop(enum kind k, long ops)
{
	const size_t size = B.size;
	const unsigned long nslots = 2 * (unsigned long)B.n;
	uint64_t s = churn_rng;

	for (long i = 0; i < ops; i++) {
		unsigned long j = churn_pick(&s, nslots);
		void *p = churn_slot[j];

		if (p) {
			obj_free(k, size, p);
			churn_slot[j] = NULL;
		} else {
			p = obj_alloc(k, size);
			if (unlikely(!p))
				alloc_failed();
			*(long *)p = i;
			churn_slot[j] = p;
		}
	}
	churn_rng = s;
}

static always_inline void churn_drain(enum kind k)
{
	for (unsigned long j = 0; j < 2 * (unsigned long)B.n; j++)
		if (churn_slot[j])
			obj_free(k, B.size, churn_slot[j]);
}

/* One pass of this process's workload, for a kind fixed at compile time. */
static always_inline void run_pass(enum kind k, struct worker *w, long ops)
{
	switch (B.wl) {
	case W_PAIR:
		pair_loop(k, ops);
		break;
	case W_BATCH:
		batch_loop(k, w, ops);
		break;
	case W_XTHREAD:
		if (w->idx == 0)
			xthread_produce(k, ops);
		else
			xthread_consume(k, ops);
		break;
	case W_CHURN:
		churn_loop(k, ops);
		break;
	}
}

static void pass(struct worker *w, long ops)
{
	switch (B.kind) {
	case K_MALLOC:
		run_pass(K_MALLOC, w, ops);
		break;
	case K_NAIVE:
		run_pass(K_NAIVE, w, ops);
		break;
#ifdef OBJBENCH_USLAB
	case K_USLAB:
		run_pass(K_USLAB, w, ops);
		break;
#endif
#ifdef OBJBENCH_GSLICE
	case K_GSLICE:
		run_pass(K_GSLICE, w, ops);
		break;
#endif
#ifdef OBJBENCH_DPDK
	case K_DPDK:
		run_pass(K_DPDK, w, ops);
		break;
#endif
	default:
		die("%s is not built into this binary", kind_names[B.kind]);
	}
}

/* churn's fill and drain are untimed; no need to specialise them. */
static void churn_setup(void)
{
	switch (B.kind) {
	case K_MALLOC:
		churn_fill(K_MALLOC);
		break;
	case K_NAIVE:
		churn_fill(K_NAIVE);
		break;
#ifdef OBJBENCH_USLAB
	case K_USLAB:
		churn_fill(K_USLAB);
		break;
#endif
#ifdef OBJBENCH_GSLICE
	case K_GSLICE:
		churn_fill(K_GSLICE);
		break;
#endif
#ifdef OBJBENCH_DPDK
	case K_DPDK:
		churn_fill(K_DPDK);
		break;
#endif
	default:
		die("%s is not built into this binary", kind_names[B.kind]);
	}
}

static void churn_teardown(void)
{
	switch (B.kind) {
	case K_MALLOC:
		churn_drain(K_MALLOC);
		break;
	case K_NAIVE:
		churn_drain(K_NAIVE);
		break;
#ifdef OBJBENCH_USLAB
	case K_USLAB:
		churn_drain(K_USLAB);
		break;
#endif
#ifdef OBJBENCH_GSLICE
	case K_GSLICE:
		churn_drain(K_GSLICE);
		break;
#endif
#ifdef OBJBENCH_DPDK
	case K_DPDK:
		churn_drain(K_DPDK);
		break;
#endif
	default:
		break;
	}
}

/* ---- Setup per allocator ------------------------------------------------ */

#ifdef OBJBENCH_DPDK
/* The most objects churn ever has live: the same walk, without memory. */
static long churn_max_live(void)
{
	const unsigned long nslots = 2 * (unsigned long)B.n;
	unsigned char *used = calloc(nslots, 1);
	uint64_t s = CHURN_SEED;
	long live = B.n, max = B.n;

	if (!used)
		die("out of memory");
	memset(used, 1, (size_t)B.n);
	for (long i = 0; i < B.warm_ops + B.ops; i++) {
		unsigned long j = churn_pick(&s, nslots);

		live += used[j] ? -1 : 1;
		used[j] ^= 1;
		if (live > max)
			max = live;
	}
	free(used);
	return max;
}

/* The most objects the workload holds at once, summed over threads. */
static long max_live(void)
{
	switch (B.wl) {
	case W_PAIR:
		return B.nthreads;
	case W_BATCH:
		return (long)B.nthreads * B.n;
	case W_XTHREAD:
		return RING_SIZE + 2;
	case W_CHURN:
		return churn_max_live();
	}
	return 0;
}

/*
 * EAL without hugepages, PCI or shared config, on lcore 0 = our first
 * CPU; the workers register themselves as non-EAL lcores so that each
 * gets its own mempool cache.  The pool holds the workload's most live
 * objects plus what every lcore cache can keep, so a get never fails.
 */
static void dpdk_setup(void)
{
	long n = max_live() +
		 (long)(B.nthreads + 1) * (DPDK_CACHE * 3 / 2 + 1) + 64;
	long mib = 64 + (long)(2 * (size_t)n * (B.size + 128) >> 20);
	char lcore[16], mem[32];
	char *argv[] = {
		"objbench-dpdk",
		"-l",
		lcore,
		"-m",
		mem,
		"--no-huge",
		"--no-pci",
		"--no-shconf",
		"--no-telemetry",
		"--log-level=*:error",
		NULL,
	};

	snprintf(lcore, sizeof(lcore), "%d", B.cpus[0]);
	snprintf(mem, sizeof(mem), "%ld", mib);
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		unavailable("rte_eal_init(-l %s -m %s --no-huge --no-pci "
			    "--no-shconf): %s",
			    lcore, mem, rte_strerror(rte_errno));
	pool = rte_mempool_create("objbench", (unsigned int)n,
				  (unsigned int)B.size, DPDK_CACHE, 0, NULL,
				  NULL, NULL, NULL, SOCKET_ID_ANY, 0);
	if (!pool) /* this configuration only: not unavailable() */
		die("rte_mempool_create(%ld x %zu bytes, cache %u): %s", n,
		    B.size, DPDK_CACHE, rte_strerror(rte_errno));
}
#endif

/* Where this binary's malloc comes from, to show the interposition. */
static void malloc_origin(char *buf, size_t len)
{
	void *(*volatile fn)(size_t) = malloc;
	Dl_info info;
	const char *base;

	if (!dladdr((void *)fn, &info) || !info.dli_fname) {
		snprintf(buf, len, "%s (origin unknown)", OBJBENCH_MALLOC);
		return;
	}
	base = strrchr(info.dli_fname, '/');
	snprintf(buf, len, "%s", base ? base + 1 : info.dli_fname);
}

/*
 * jemalloc, tcmalloc and mimalloc must have replaced glibc's malloc; a
 * binary where they did not would report glibc under their name.
 */
static void check_malloc(void)
{
	const char *want =
		strcmp(OBJBENCH_MALLOC, "glibc") ? OBJBENCH_MALLOC : "libc.so";
	char origin[128];

	malloc_origin(origin, sizeof(origin));
	if (!strstr(origin, want))
		unavailable("malloc comes from %s, not %s: the library did "
			    "not interpose",
			    origin, OBJBENCH_MALLOC);
}

static void setup(void)
{
	switch (B.kind) {
	case K_MALLOC:
	case K_NAIVE:
		check_malloc();
		break;
#ifdef OBJBENCH_USLAB
	case K_USLAB: {
		char name[32];

		snprintf(name, sizeof(name), "bench%zu", B.size);
		cache = kmem_cache_create(name, (unsigned int)B.size, 0, 0,
					  NULL);
		if (!cache)
			unavailable("kmem_cache_create(%s): %s", name,
				    strerror(errno));
		break;
	}
#endif
#ifdef OBJBENCH_GSLICE
	case K_GSLICE:
		break;
#endif
#ifdef OBJBENCH_DPDK
	case K_DPDK:
		dpdk_setup();
		break;
#endif
	default:
		die("%s is not built into this binary", kind_names[B.kind]);
	}
}

static void teardown(void)
{
#ifdef OBJBENCH_USLAB
	if (B.kind == K_USLAB)
		kmem_cache_destroy(cache);
#endif
#ifdef OBJBENCH_DPDK
	if (B.kind == K_DPDK) {
		rte_mempool_free(pool);
		rte_eal_cleanup();
	}
#endif
}

static void describe(char *buf, size_t len)
{
	char m[128];

	malloc_origin(m, sizeof(m));
	switch (B.kind) {
	case K_MALLOC:
		snprintf(buf, len, "malloc from %s", m);
		break;
	case K_NAIVE:
		snprintf(buf, len, "thread-local list over malloc from %s", m);
		break;
	case K_USLAB:
#ifdef USLAB_INLINE
		snprintf(buf, len, "libuslab.a, USLAB_INLINE%s%s",
#else
		snprintf(buf, len, "libuslab.a, public API%s%s",
#endif
			 getenv("USLAB_PERCPU") ? ", USLAB_PERCPU=" : "",
			 getenv("USLAB_PERCPU") ? getenv("USLAB_PERCPU") : "");
		break;
#ifdef OBJBENCH_GSLICE
	case K_GSLICE:
		snprintf(buf, len, "GLib %u.%u.%u g_slice%s",
			 glib_major_version, glib_minor_version,
			 glib_micro_version,
			 getenv("G_SLICE") ? " (G_SLICE set!)" : "");
		break;
#endif
#ifdef OBJBENCH_DPDK
	case K_DPDK:
		snprintf(buf, len, "%s rte_mempool, cache %u, no hugepages",
			 rte_version(), DPDK_CACHE);
		break;
#endif
	default:
		snprintf(buf, len, "%s", kind_names[B.kind]);
		break;
	}
}

/* ---- Threads ------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(B.cpus[w->idx % B.ncpus], &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err)
		die("pthread_setaffinity_np(CPU %d): %s",
		    B.cpus[w->idx % B.ncpus], strerror(err));
#ifdef OBJBENCH_DPDK
	if (B.kind == K_DPDK && rte_thread_register())
		die("rte_thread_register: %s", rte_strerror(rte_errno));
#endif
	if (B.wl == W_CHURN)
		churn_setup(); /* untimed, on the worker's CPU */
	pthread_barrier_wait(&barrier);
	pass(w, B.warm_ops);
	/*
	 * Spin, not sleep, into the timed pass: a thread woken from a
	 * futex can start milliseconds late, which would count against
	 * the aggregate throughput.
	 */
	atomic_fetch_add(&start_line, 1);
	while (atomic_load(&start_line) < B.nthreads)
		cpu_relax();
	w->t0 = now_ns();
	pass(w, B.ops);
	w->t1 = now_ns();
	if (B.wl == W_CHURN)
		churn_teardown();
#ifdef OBJBENCH_DPDK
	if (B.kind == K_DPDK)
		rte_thread_unregister();
#endif
	return NULL;
}

static long parse_long(const char *s, const char *what, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min)
		die("bad %s '%s'", what, s);
	return v;
}

static int lookup(const char *s, const char *const *names, size_t n,
		  const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && !strcmp(s, names[i]))
			return (int)i;
	die("unknown %s '%s'", what, s);
}

static void parse_args(int argc, char **argv)
{
	cpu_set_t set;

	if (argc != 7)
		die("usage: %s KIND WORKLOAD SIZE THREADS N OPS", argv[0]);
	B.kind = (enum kind)lookup(argv[1], kind_names,
				   sizeof(kind_names) / sizeof(*kind_names),
				   "allocator");
	B.wl = (enum workload)lookup(
		argv[2], workload_names,
		sizeof(workload_names) / sizeof(*workload_names), "workload");
	B.size = (size_t)parse_long(argv[3], "size", (long)sizeof(void *));
	B.nthreads = (unsigned int)parse_long(argv[4], "thread count", 1);
	B.n = parse_long(argv[5], "N", 0);
	B.ops = parse_long(argv[6], "op count", 1);
	B.warm_ops = B.ops / 10;

	if (B.nthreads > MAX_THREADS)
		die("at most %u threads", MAX_THREADS);
	if (B.wl == W_XTHREAD && B.nthreads != 2)
		die("xthread takes exactly 2 threads");
	if (B.wl == W_CHURN && B.nthreads != 1)
		die("churn takes exactly 1 thread");
	if ((B.wl == W_BATCH || B.wl == W_CHURN) && B.n < 1)
		die("%s needs N >= 1", workload_names[B.wl]);
	if (B.wl == W_BATCH) {
		/* Whole batches only; at least one of warm-up. */
		B.ops = B.ops < B.n ? B.n : B.ops - B.ops % B.n;
		B.warm_ops =
			B.warm_ops < B.n ? B.n : B.warm_ops - B.warm_ops % B.n;
	}

	/* The CPUs we may run on, before DPDK's EAL pins the main thread. */
	if (sched_getaffinity(0, sizeof(set), &set))
		die("sched_getaffinity: %s", strerror(errno));
	for (int c = 0; c < CPU_SETSIZE && B.ncpus < MAX_THREADS; c++)
		if (CPU_ISSET(c, &set))
			B.cpus[B.ncpus++] = c;
	if (!B.ncpus)
		die("no CPU to run on");
}

int main(int argc, char **argv)
{
	char info[256];
	long rss0, rss_setup, hwm;
	double first = 0, last = 0, per_thread = 0;
	unsigned int t;

	alarm(TIMEOUT_S);
	parse_args(argc, argv);

	/* The benchmark's own memory, then the RSS baseline. */
	for (t = 0; t < B.nthreads; t++) {
		workers[t].idx = t;
		if (B.wl == W_BATCH)
			workers[t].arr =
				bench_mem((size_t)B.n * sizeof(void *));
	}
	if (B.wl == W_XTHREAD)
		ring = bench_mem(sizeof(*ring));
	if (B.wl == W_CHURN)
		churn_slot = bench_mem(2 * (size_t)B.n * sizeof(void *));
	if (pthread_barrier_init(&barrier, NULL, B.nthreads))
		die("pthread_barrier_init failed");
	reset_peak_rss();
	rss0 = status_kib("VmRSS:");

	setup();
	rss_setup = status_kib("VmRSS:");

	for (t = 0; t < B.nthreads; t++) {
		int err = pthread_create(&workers[t].tid, NULL, worker_main,
					 &workers[t]);

		if (err)
			die("pthread_create: %s", strerror(err));
	}
	for (t = 0; t < B.nthreads; t++)
		pthread_join(workers[t].tid, NULL);
	hwm = status_kib("VmHWM:");
	describe(info, sizeof(info));

	for (t = 0; t < B.nthreads; t++) {
		struct worker *w = &workers[t];

		if (!t || w->t0 < first)
			first = w->t0;
		if (!t || w->t1 > last)
			last = w->t1;
		per_thread += (w->t1 - w->t0) / (double)B.ops;
	}
	per_thread /= B.nthreads;
	if (B.wl == W_XTHREAD)
		per_thread = (last - first) / (double)B.ops;

	teardown();

	printf("ok\t%.3f\t%.3f\t%ld\t%ld\t%s\n", per_thread,
	       (double)B.ops * (B.wl == W_XTHREAD ? 1 : B.nthreads) /
		       (last - first) * 1e3,
	       rss0 < 0 || hwm < 0 ? -1 : hwm - rss0,
	       rss0 < 0 || rss_setup < 0 ? -1 : rss_setup - rss0, info);
	return 0;
}
