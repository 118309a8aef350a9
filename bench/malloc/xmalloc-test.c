// SPDX-License-Identifier: MIT
/*
 * xmalloc-test.c - producer and consumer, after xmalloc-test (as in
 * mimalloc-bench): in each of PAIRS pairs of threads one allocates
 * batches of BATCH blocks of 16 to 512 bytes (the batch's array too)
 * and hands them over through a queue of at most DEPTH batches; the
 * other frees them.  Every block is freed by a thread that did not
 * allocate it.
 */
#include "common.h"

#define PAIRS 2
#define BATCH 256
#define DEPTH 16
#define BATCHES 30000 /* per pair, times the scale */

struct pair {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void **queue[DEPTH]; /* ring of batches; NULL ends the stream */
	unsigned head, tail;
	uint64_t seed;
};

static struct pair pairs[PAIRS];
static long batches;

static void put(struct pair *p, void **batch)
{
	pthread_mutex_lock(&p->lock);
	while (p->tail - p->head == DEPTH)
		pthread_cond_wait(&p->cond, &p->lock);
	p->queue[p->tail++ % DEPTH] = batch;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void **get(struct pair *p)
{
	void **batch;

	pthread_mutex_lock(&p->lock);
	while (p->tail == p->head)
		pthread_cond_wait(&p->cond, &p->lock);
	batch = p->queue[p->head++ % DEPTH];
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return batch;
}

static void *producer(void *arg)
{
	struct pair *p = arg;

	for (long b = 0; b < batches; b++) {
		void **batch = xmalloc(BATCH * sizeof(*batch));

		for (int i = 0; i < BATCH; i++) {
			size_t size = 16 + rnd(&p->seed) % 497;

			batch[i] = xmalloc(size);
			touch(batch[i], size);
		}
		put(p, batch);
	}
	put(p, NULL);
	return NULL;
}

static void *consumer(void *arg)
{
	struct pair *p = arg;
	void **batch;

	while ((batch = get(p))) {
		for (int i = 0; i < BATCH; i++)
			free(batch[i]);
		free(batch);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[2 * PAIRS];

	batches = scaled(argc, argv, BATCHES);
	for (int i = 0; i < PAIRS; i++) {
		pthread_mutex_init(&pairs[i].lock, NULL);
		pthread_cond_init(&pairs[i].cond, NULL);
		pairs[i].seed = 0x9e3779b97f4a7c15ULL * (i + 1);
		start(&t[2 * i], producer, &pairs[i]);
		start(&t[2 * i + 1], consumer, &pairs[i]);
	}
	for (int i = 0; i < 2 * PAIRS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
