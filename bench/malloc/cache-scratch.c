// SPDX-License-Identifier: MIT
/*
 * cache-scratch.c - passive false sharing, after Hoard's cache-scratch
 * (as in mimalloc-bench): main allocates one small block per thread, in
 * a row, and hands one to each of THREADS threads, which frees it.  Then
 * each thread ITERATIONS times allocates a SIZE-byte block, writes every
 * byte of it REPS times and frees it.  An allocator that gives a
 * thread back the block it freed, next to the other thread's, makes
 * both threads write the same cache line.
 */
#include "common.h"

#define THREADS 2
#define SIZE 8
#define ITERATIONS 1000
#define REPS 160000 /* writes of each byte per block, times the scale */

static long reps;

static void *worker(void *arg)
{
	free(arg);
	for (int i = 0; i < ITERATIONS; i++) {
		volatile char *p = xmalloc(SIZE);

		for (long r = 0; r < reps; r++)
			for (int j = 0; j < SIZE; j++)
				p[j] = (char)(p[j] + 1);
		free((void *)p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];
	void *first[THREADS];

	reps = scaled(argc, argv, REPS);
	for (int i = 0; i < THREADS; i++)
		first[i] = xmalloc(SIZE);
	for (int i = 0; i < THREADS; i++)
		start(&t[i], worker, first[i]);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
