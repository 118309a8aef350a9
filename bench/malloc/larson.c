// SPDX-License-Identifier: MIT
/*
 * larson.c - a server simulation after Larson and Krishnan's benchmark
 * (as in mimalloc-bench): each of THREADS threads owns an array of
 * SLOTS blocks and, OPS times, frees a random one and allocates a new
 * one of 16 to 1000 bytes in its place.  The arrays outlive the threads:
 * each generation starts new threads and hands each one the array
 * another thread (of the previous generation, or main for the first)
 * filled, so most frees are of blocks another thread allocated, often
 * one that has exited.
 */
#include "common.h"

#define THREADS 2
#define SLOTS 4000
#define GENERATIONS 20
#define OPS 1000000 /* per thread and generation, times the scale */

struct arena {
	void *slot[SLOTS];
	uint64_t seed;
};

static struct arena arenas[THREADS];
static long ops;

static void *worker(void *arg)
{
	struct arena *a = arg;

	for (long i = 0; i < ops; i++) {
		uint64_t r = rnd(&a->seed);
		size_t k = r % SLOTS, size = 16 + (r >> 32) % 985;

		free(a->slot[k]);
		a->slot[k] = xmalloc(size);
		touch(a->slot[k], size);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];

	ops = scaled(argc, argv, OPS);
	for (int i = 0; i < THREADS; i++) {
		arenas[i].seed = 0x9e3779b97f4a7c15ULL * (i + 1);
		for (int k = 0; k < SLOTS; k++) {
			size_t size = 16 + rnd(&arenas[i].seed) % 985;

			arenas[i].slot[k] = xmalloc(size);
			touch(arenas[i].slot[k], size);
		}
	}
	for (int g = 0; g < GENERATIONS; g++) {
		for (int i = 0; i < THREADS; i++)
			start(&t[i], worker, &arenas[(i + g) % THREADS]);
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
	}
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < SLOTS; k++)
			free(arenas[i].slot[k]);
	return 0;
}
