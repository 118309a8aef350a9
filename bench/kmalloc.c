// SPDX-License-Identifier: MIT
/*
 * bench/kmalloc: kmalloc()/kfree() against glibc's malloc()/free(), in
 * one process, run in turn: for several sizes (size classes, and a
 * page-block size), two workloads:
 *   pair   alloc-then-free, one thread;
 *   batch  BATCH objects allocated, then freed in allocation order, by
 *          THREADS threads at once (more than this machine's cores).
 * Prints the median of RUNS runs in ns per alloc+free and the ratio
 * kmalloc/glibc (below 1: kmalloc is faster).  A report, not a test.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uslab/slab.h>

#define RUNS 7
#define PAIRS 1000000L
#define BATCH 1000
#define ROUNDS 200 /* batches per thread per run */
#define THREADS 4

static size_t size;
static void *volatile sink; /* keeps the pair from being elided */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *k_alloc(size_t n)
{
	return kmalloc(n, GFP_KERNEL);
}

static void k_free(void *p)
{
	kfree(p);
}

struct peer {
	const char *name;
	void *(*alloc)(size_t);
	void (*free)(void *);
};

static const struct peer peers[] = {
	{ "kmalloc", k_alloc, k_free },
	{ "glibc", malloc, free },
};
#define NR_PEERS (sizeof(peers) / sizeof(peers[0]))

static const struct peer *cur;

static double run_pair(void)
{
	long n = size > 8192 ? PAIRS / 10 : PAIRS, i;
	double t0 = now_ns();

	for (i = 0; i < n; i++) {
		sink = cur->alloc(size);
		cur->free(sink);
	}
	return (now_ns() - t0) / (double)n;
}

static void *batch_thread(void *arg)
{
	void **p = malloc(BATCH * sizeof(*p));
	int r, i, rounds = size > 8192 ? ROUNDS / 10 : ROUNDS;

	(void)arg;
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < BATCH; i++)
			p[i] = cur->alloc(size);
		for (i = 0; i < BATCH; i++)
			cur->free(p[i]);
	}
	free(p);
	return NULL;
}

static double run_batch(void)
{
	int rounds = size > 8192 ? ROUNDS / 10 : ROUNDS, i;
	pthread_t t[THREADS];
	double t0 = now_ns();

	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, batch_thread, NULL);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return (now_ns() - t0) / ((double)THREADS * rounds * BATCH);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	static const size_t sizes[] = { 16, 100, 512, 4096, 32768 };
	static const struct {
		const char *name;
		double (*fn)(void);
	} loads[] = { { "pair", run_pair }, { "batch", run_batch } };
	double t[NR_PEERS][RUNS], med[NR_PEERS];
	unsigned int l, z, a, r;

	printf("kmalloc/kfree against malloc/free: median of %d runs, ns per "
	       "alloc+free\n(pair: 1 thread; batch: %d threads x %d objects, "
	       "freed in order)\n",
	       RUNS, THREADS, BATCH);
	printf("%-6s %7s %10s %10s %15s\n", "load", "size", "kmalloc", "glibc",
	       "kmalloc/glibc");
	for (l = 0; l < sizeof(loads) / sizeof(loads[0]); l++) {
		for (z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			size = sizes[z];
			for (a = 0; a < NR_PEERS; a++) { /* warm-up */
				cur = &peers[a];
				loads[l].fn();
			}
			for (r = 0; r < RUNS; r++)
				for (a = 0; a < NR_PEERS; a++) {
					cur = &peers[a];
					t[a][r] = loads[l].fn();
				}
			for (a = 0; a < NR_PEERS; a++) {
				qsort(t[a], RUNS, sizeof(double), cmp_double);
				med[a] = t[a][RUNS / 2];
			}
			printf("%-6s %7zu %10.1f %10.1f %15.2f\n",
			       loads[l].name, size, med[0], med[1],
			       med[0] / med[1]);
		}
	}
	return 0;
}
