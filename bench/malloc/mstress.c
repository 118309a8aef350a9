// SPDX-License-Identifier: MIT
/*
 * mstress.c - many sizes, much live memory, blocks moving between
 * threads, after mimalloc-bench's mstress: THREADS threads each keep
 * SLOTS blocks (about 50 MiB live in all) and, STEPS times, take a
 * random slot and either free its block and allocate another (90% 16 to
 * 256 bytes, 9% up to 4 KiB, 1% up to 64 KiB) or, one time in eight,
 * swap it with a slot of a shared array that every thread swaps with,
 * so blocks end up freed by other threads.  The slots outlive the
 * threads: ROUNDS rounds of new threads churn the same memory.
 */
#include "common.h"

#define THREADS 4
#define SLOTS 20000
#define SHARED 4096
#define ROUNDS 5
#define STEPS 400000 /* per thread and round, times the scale */

struct worker {
	void *slot[SLOTS];
	uint64_t seed;
};

static struct worker workers[THREADS];
static void *shared[SHARED];
static long steps;

static void *alloc_some(uint64_t *seed)
{
	uint64_t r = rnd(seed);
	unsigned pick = r % 100;
	size_t size;

	r >>= 8;
	if (pick < 90)
		size = 16 + r % 241;
	else if (pick < 99)
		size = 256 + r % 3841;
	else
		size = 4096 + r % 61441;
	void *p = xmalloc(size);
	touch(p, size);
	return p;
}

static void *run(void *arg)
{
	struct worker *w = arg;

	for (long i = 0; i < steps; i++) {
		uint64_t r = rnd(&w->seed);
		size_t k = r % SLOTS;

		if ((r >> 32) % 8 == 0) {
			void **s = &shared[(r >> 40) % SHARED];

			w->slot[k] = __atomic_exchange_n(s, w->slot[k],
							 __ATOMIC_ACQ_REL);
		} else {
			free(w->slot[k]);
			w->slot[k] = alloc_some(&w->seed);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];

	steps = scaled(argc, argv, STEPS);
	for (int i = 0; i < THREADS; i++)
		workers[i].seed = 0x9e3779b97f4a7c15ULL * (i + 1);
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < THREADS; i++)
			start(&t[i], run, &workers[(i + r) % THREADS]);
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
	}
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < SLOTS; k++)
			free(workers[i].slot[k]);
	for (int k = 0; k < SHARED; k++)
		free(shared[k]);
	return 0;
}
