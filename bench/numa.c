// SPDX-License-Identifier: MIT
/*
 * bench/numa: what a remote node costs, on a fake 2-node topology
 * (USLAB_FAKE_NUMA=2 unless the environment sets another topology), so
 * that it runs on a one-node machine.
 *
 * One thread pinned to CPU 0 (node 0) works in batches of BATCH objects
 * of 64 bytes and times each phase separately:
 *
 *   alloc  local   kmem_cache_alloc_node(s, gfp, NUMA_NO_NODE): magazines
 *          remote  kmem_cache_alloc_node(s, gfp, 1): node 1's slabs
 *   free   local   kmem_cache_free() of node 0 objects: magazines
 *          remote  kmem_cache_free() of node 1 objects: the alien
 *                  magazine, flushed home in batches
 *
 * Local and remote batches alternate within each run, so both see the
 * same machine; the report is the median ns per object over RUNS runs and
 * the remote/local ratios.  Fake nodes are labels on one node's memory:
 * the ratios are uslab's own bookkeeping, not memory latency (a real
 * 2-node machine adds its interconnect on top).  A report, not a test.
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

enum { LOCAL, REMOTE };

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

/* One batch of @kind: adds the alloc and free phase times in ns. */
static void batch(struct kmem_cache *s, int kind, double *alloc_ns,
		  double *free_ns)
{
	static void *p[BATCH];
	int node = kind == LOCAL ? NUMA_NO_NODE : 1, i;
	double t0, t1, t2;

	t0 = now_ns();
	for (i = 0; i < BATCH; i++)
		p[i] = kmem_cache_alloc_node(s, GFP_KERNEL, node);
	t1 = now_ns();
	for (i = 0; i < BATCH; i++)
		kmem_cache_free(s, p[i]);
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
	double alloc[2][RUNS], freed[2][RUNS], a[2], f[2];
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
		for (k = LOCAL; k <= REMOTE; k++)
			batch(s, k, &a[0], &f[0]);

	for (run = 0; run < RUNS; run++) {
		a[0] = a[1] = f[0] = f[1] = 0;
		for (b = 0; b < BATCHES; b++)
			for (k = LOCAL; k <= REMOTE; k++) {
				int kind = b & 1 ? 1 - k : k;

				batch(s, kind, &a[kind], &f[kind]);
			}
		for (k = LOCAL; k <= REMOTE; k++) {
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
	printf("%-28s %9s %9s %14s\n", "", "local", "remote", "remote/local");
	a[LOCAL] = median(alloc[LOCAL], RUNS);
	a[REMOTE] = median(alloc[REMOTE], RUNS);
	f[LOCAL] = median(freed[LOCAL], RUNS);
	f[REMOTE] = median(freed[REMOTE], RUNS);
	printf("%-28s %9.2f %9.2f %14.2f\n", "kmem_cache_alloc_node", a[LOCAL],
	       a[REMOTE], a[REMOTE] / a[LOCAL]);
	printf("%-28s %9.2f %9.2f %14.2f\n", "kmem_cache_free", f[LOCAL],
	       f[REMOTE], f[REMOTE] / f[LOCAL]);
	printf("free throughput (Mops/s)     %9.1f %9.1f %14.2f\n",
	       1e3 / f[LOCAL], 1e3 / f[REMOTE], f[LOCAL] / f[REMOTE]);
	printf("remote frees counted by uslab: %lu\n", info.remote_frees);
	kmem_cache_destroy(s);
	return 0;
}
