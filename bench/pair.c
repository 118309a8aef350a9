// SPDX-License-Identifier: MIT
/*
 * bench/pair: alloc-then-free pairs of one object size on one thread,
 * uslab against glibc malloc and a naive free list (the practical limit),
 * run back to back in one process.  Prints the median ns per pair of
 * RUNS runs and the ratios.  A report, not a test: nothing here passes or
 * fails.  The full peer set (jemalloc, tcmalloc, mimalloc, GSlice, DPDK)
 * and the other workloads are in bench/objcache.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uslab/slab.h>

#define RUNS 7
#define PAIRS 2000000L

static struct kmem_cache *cache;
static unsigned int obj_size;

struct freelist {
	struct freelist *next;
};
static struct freelist *naive_head;

static void *naive_alloc(void)
{
	struct freelist *f = naive_head;

	if (!f)
		return malloc(obj_size);
	naive_head = f->next;
	return f;
}

static void naive_free(void *p)
{
	struct freelist *f = p;

	f->next = naive_head;
	naive_head = f;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Keep the compiler from eliding the pair. */
static void *volatile sink;

static double run_uslab(void)
{
	double t0 = now_ns();

	for (long i = 0; i < PAIRS; i++) {
		sink = kmem_cache_alloc(cache, GFP_KERNEL);
		kmem_cache_free(cache, sink);
	}
	return (now_ns() - t0) / PAIRS;
}

static double run_malloc(void)
{
	double t0 = now_ns();

	for (long i = 0; i < PAIRS; i++) {
		sink = malloc(obj_size);
		free(sink);
	}
	return (now_ns() - t0) / PAIRS;
}

static double run_naive(void)
{
	double t0 = now_ns();

	for (long i = 0; i < PAIRS; i++) {
		sink = naive_alloc();
		naive_free(sink);
	}
	return (now_ns() - t0) / PAIRS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	static const unsigned int sizes[] = { 64, 256 };
	double (*const fns[])(void) = { run_uslab, run_malloc, run_naive };
	double t[3][RUNS], med[3];
	unsigned int z, a, r;

	printf("pair, 1 thread, median of %d runs of %ld pairs (ns/pair)\n",
	       RUNS, PAIRS);
	printf("%-6s %9s %9s %9s %14s %14s\n", "size", "uslab", "glibc",
	       "freelist", "uslab/glibc", "uslab/freelist");
	for (z = 0; z < 2; z++) {
		obj_size = sizes[z];
		cache = kmem_cache_create("bench-pair", obj_size, 0, 0, NULL);
		if (!cache)
			return 1;
		/* Warm-up, then allocators in turn within each run. */
		fns[0]();
		fns[1]();
		fns[2]();
		for (r = 0; r < RUNS; r++)
			for (a = 0; a < 3; a++)
				t[a][r] = fns[a]();
		for (a = 0; a < 3; a++) {
			qsort(t[a], RUNS, sizeof(double), cmp_double);
			med[a] = t[a][RUNS / 2];
		}
		printf("%-6u %9.2f %9.2f %9.2f %14.2f %14.2f\n", obj_size,
		       med[0], med[1], med[2], med[0] / med[1],
		       med[0] / med[2]);
		kmem_cache_destroy(cache);
		free(naive_head);
		naive_head = NULL;
	}
	return 0;
}
