/* SPDX-License-Identifier: MIT */
/*
 * common.h - what the synthetic workloads of bench/malloc share: a
 * seeded xorshift64* generator (every run does the same work), the work
 * scale from the command line, a malloc that exits on failure, and
 * writing into a block so that the compiler cannot drop it.
 *
 * Each workload is one program: "NAME [SCALE]" runs SCALE (default 1)
 * times its fixed amount of work and prints nothing.
 */
#ifndef BENCH_MALLOC_COMMON_H
#define BENCH_MALLOC_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* n scaled by argv[1] (a positive number), at least 1. */
static inline long scaled(int argc, char **argv, long n)
{
	double s = argc > 1 ? strtod(argv[1], NULL) : 1.0;

	if (!(s > 0)) {
		fprintf(stderr, "%s: bad scale '%s'\n", argv[0], argv[1]);
		exit(2);
	}
	n = (long)(n * s);
	return n > 0 ? n : 1;
}

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		perror("malloc");
		exit(1);
	}
	return p;
}

/* Write the first cache line and the last byte of a block. */
static inline void touch(void *p, size_t n)
{
	memset(p, (int)n, n < 64 ? n : 64);
	((volatile char *)p)[n - 1] = 1;
}

static inline void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg)) {
		fprintf(stderr, "pthread_create failed\n");
		exit(1);
	}
}

#endif /* BENCH_MALLOC_COMMON_H */
