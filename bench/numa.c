// SPDX-License-Identifier: MIT
/*
 * bench/numa: what a remote node costs, on a fake 2-node topology
 * (USLAB_FAKE_NUMA=2 unless the environment sets another topology), so
 * that it runs on a one-node machine.
 *
 * One thread pinned to CPU 0 (node 0) works in batches of BATCH objects
 * of 64 bytes and times each phase separately, for four kinds of batch:
 *
 *   plain   kmem_cache_alloc(), then kmem_cache_free()
 *   any     kmem_cache_alloc_node(NUMA_NO_NODE), then kmem_cache_free()
 *   local   kmem_cache_alloc_node(0), this CPU's node: the fast path
 *   remote  kmem_cache_alloc_node(1): node 1's slabs; kmem_cache_free()
 *           of node 1 objects: the alien magazine, flushed home in
 *           batches
 *
 * The kinds alternate within each run, so all see the same machine; the
 * report is the median ns per object over RUNS runs, each alloc against
 * kmem_cache_alloc(), and the remote free against the local one.  Fake
 * nodes are labels on one node's memory: the ratios are uslab's own
 * bookkeeping, not memory latency (a real 2-node machine adds its
 * interconnect on top).  A report, not a test.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uslab/slab.h>
#include <uslab/stats.h>

#define RUNS 7
#define BATCH 1000
#define BATCHES 1000 /* per run and kind: 1,000,000 objects */

enum { PLAIN, ANY, LOCAL, REMOTE, NR_KINDS };

static const char *const kind_names[NR_KINDS] = { "kmem_cache_alloc",
						  "alloc_node(NUMA_NO_NODE)",
						  "alloc_node(0, local)",
						  "alloc_node(1, remote)" };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void *p[BATCH];

/*
 * Each timed loop is a function of its own on a cache line of its own:
 * how a loop's branches fall on the fetch blocks moved one kind's figure
 * by 15% between builds that differed only elsewhere, and the ratios
 * compare the kinds, so each gets the same placement.
 */
#define LOOP __attribute__((noinline, aligned(64)))

static LOOP void alloc_plain(struct kmem_cache *s)
{
	for (int i = 0; i < BATCH; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
}

static LOOP void alloc_node(struct kmem_cache *s, int node)
{
	for (int i = 0; i < BATCH; i++)
		p[i] = kmem_cache_alloc_node(s, GFP_KERNEL, node);
}

static LOOP void free_all(struct kmem_cache *s)
{
	for (int i = 0; i < BATCH; i++)
		kmem_cache_free(s, p[i]);
}

/* One batch of @kind: adds the alloc and free phase times in ns. */
static void batch(struct kmem_cache *s, int kind, double *alloc_ns,
		  double *free_ns)
{
	int node = kind == ANY ? NUMA_NO_NODE : kind == LOCAL ? 0 : 1;
	double t0, t1, t2;

	t0 = now_ns();
	if (kind == PLAIN)
		alloc_plain(s);
	else
		alloc_node(s, node);
	t1 = now_ns();
	free_all(s);
	t2 = now_ns();
	if (!p[0] || !p[BATCH - 1]) {
		fprintf(stderr, "bench/numa: allocation failed\n");
		exit(1);
	}
	*alloc_ns += t1 - t0;
	*free_ns += t2 - t1;
}

int main(void)
{
	double alloc[NR_KINDS][RUNS], freed[NR_KINDS][RUNS];
	double a[NR_KINDS], f[NR_KINDS];
	struct uslab_cache_info info;
	struct kmem_cache *s;
	cpu_set_t one;
	int run, b, k;

	setenv("USLAB_FAKE_NUMA", "2", 0);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		perror("bench/numa: cannot pin to CPU 0; numbers are noisier");
	s = kmem_cache_create("bench-numa", 64, 0, 0, NULL);
	if (!s)
		return 1;
	/* Warm both nodes' slabs, magazines and alien magazines. */
	for (b = 0; b < 50; b++)
		for (k = 0; k < NR_KINDS; k++)
			batch(s, k, &a[0], &f[0]);

	for (run = 0; run < RUNS; run++) {
		for (k = 0; k < NR_KINDS; k++)
			a[k] = f[k] = 0;
		for (b = 0; b < BATCHES; b++)
			for (k = 0; k < NR_KINDS; k++) {
				/* Every kind first, last, in between. */
				int kind = (k + b) % NR_KINDS;

				batch(s, kind, &a[kind], &f[kind]);
			}
		for (k = 0; k < NR_KINDS; k++) {
			alloc[k][run] = a[k] / ((double)BATCHES * BATCH);
			freed[k][run] = f[k] / ((double)BATCHES * BATCH);
		}
	}
	uslab_cache_info(s, &info);

	printf("numa: fake %s-node topology, 64 B objects, batches of %d, "
	       "thread on CPU 0 (node 0)\n",
	       getenv("USLAB_FAKE_NUMA"), BATCH);
	printf("median of %d runs of %d objects per kind (ns/object)\n", RUNS,
	       BATCHES * BATCH);
	for (k = 0; k < NR_KINDS; k++) {
		a[k] = median(alloc[k], RUNS);
		f[k] = median(freed[k], RUNS);
	}
	printf("%-28s %9s %18s\n", "alloc", "ns", "/ kmem_cache_alloc");
	for (k = 0; k < NR_KINDS; k++)
		printf("%-28s %9.2f %18.2f\n", kind_names[k], a[k],
		       a[k] / a[PLAIN]);
	printf("%-28s %9s %18s\n", "kmem_cache_free", "ns", "/ local");
	printf("%-28s %9.2f %18.2f\n", "of node 0 objects (local)", f[LOCAL],
	       1.0);
	printf("%-28s %9.2f %18.2f\n", "of node 1 objects (remote)", f[REMOTE],
	       f[REMOTE] / f[LOCAL]);
	printf("remote frees counted by uslab: %lu\n", info.remote_frees);
	kmem_cache_destroy(s);
	return 0;
}
