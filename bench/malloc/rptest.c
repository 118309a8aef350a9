// SPDX-License-Identifier: MIT
/*
 * rptest.c - random sizes with a bounded live set, after rpmalloc's
 * benchmark (rptest in mimalloc-bench): each of THREADS threads keeps a
 * ring of LIVE blocks and, OPS times, frees the oldest and allocates a
 * new one in its place, of 16 bytes to 8 KiB, each power-of-two range
 * as likely as the others (so small sizes are the most common), writing
 * its first cache line and last byte.
 */
#include "common.h"

#define THREADS 2
#define LIVE 8192
#define OPS 6000000 /* per thread, times the scale */

static long ops;

static void *worker(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uintptr_t)arg;
	void **ring = calloc(LIVE, sizeof(*ring));

	if (!ring)
		exit(1);
	for (long i = 0; i < ops; i++) {
		uint64_t r = rnd(&seed);
		size_t base = (size_t)16 << (r % 9); /* 16 to 4096 */
		size_t size = base + (r >> 8) % (base + 1);
		void **s = &ring[i % LIVE];

		free(*s);
		*s = xmalloc(size);
		touch(*s, size);
	}
	for (int k = 0; k < LIVE; k++)
		free(ring[k]);
	free(ring);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];

	ops = scaled(argc, argv, OPS);
	for (uintptr_t i = 0; i < THREADS; i++)
		start(&t[i], worker, (void *)(i + 1));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
