// SPDX-License-Identifier: MIT
/*
 * selfcheck.c - failed assertions, and the lock witness of
 * CONFIG_DEBUG_CHECKS (selfcheck.h says what each check is).
 *
 * The witness keeps, per thread, the locks the thread holds and their
 * ranks.  Taking a lock of rank r while holding one of a higher rank, or
 * another of rank r without saying it is nested, is the start of a
 * deadlock that may never happen in a test: it is reported at once,
 * with both locks' places, and the process aborts.  Between fork's
 * prepare and its parent or child hook the forking thread holds every
 * lock, more than the table has room for: the witness then counts that
 * thread as holding them all, and checks only that the walk takes the
 * levels in order (all of one level, ordered by the walk, then the
 * next).
 *
 * Locking: none.  Everything is thread-local.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

void uslab_assert_fail(const char *file, int line, const char *cond)
{
	fprintf(stderr, "uslab: %s:%d: self-check failed: %s\n", file, line,
		cond);
	fflush(stderr);
	abort();
}

#ifdef CONFIG_DEBUG_CHECKS

/* More than the six levels: a few same-rank nestings fit too. */
#define WITNESS_MAX 16

struct witness_entry {
	const pthread_mutex_t *lock;
	const char *file;
	int line;
	enum lock_rank rank;
};

static __thread struct witness_entry held[WITNESS_MAX];
static __thread unsigned int nr_held;
static __thread bool forking;
static __thread enum lock_rank fork_rank; /* highest taken by fork */

static const char *const rank_names[] = {
	[RANK_SLAB_MUTEX] = "slab_mutex",
	[RANK_DRAIN] = "drain_mutex",
	[RANK_CPU_SLOT] = "kmem_cache_cpu.lock",
	[RANK_DEPOT] = "depot.lock",
	[RANK_SLAB_NODE] = "kmem_cache_node.lock",
	[RANK_PAGE_NODE] = "page_node.lock",
};

static void __attribute__((noreturn, cold))
witness_fail(const char *what, const struct witness_entry *e,
	     enum lock_rank rank, const char *file, int line)
{
	fprintf(stderr, "uslab: %s:%d: lock order: %s %s (rank %d)", file, line,
		what, rank_names[rank], (int)rank);
	if (e)
		fprintf(stderr, " while holding %s (rank %d) taken at %s:%d",
			rank_names[e->rank], (int)e->rank, e->file, e->line);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

static void witness_push(pthread_mutex_t *m, enum lock_rank rank,
			 const char *file, int line)
{
	if (nr_held == WITNESS_MAX)
		witness_fail("too many locks held to take", NULL, rank, file,
			     line);
	held[nr_held++] = (struct witness_entry){ m, file, line, rank };
}

void witness_lock(pthread_mutex_t *m, enum lock_rank rank, bool nested,
		  const char *file, int line)
{
	unsigned int i;

	if (forking) {
		if (rank < fork_rank)
			witness_fail("fork() taking", NULL, rank, file, line);
		fork_rank = rank;
		return;
	}
	for (i = 0; i < nr_held; i++) {
		const struct witness_entry *e = &held[i];

		if (e->lock == m)
			witness_fail("taking again", e, rank, file, line);
		if (e->rank > rank || (e->rank == rank && !nested))
			witness_fail("taking", e, rank, file, line);
	}
	witness_push(m, rank, file, line);
}

void witness_trylocked(pthread_mutex_t *m, enum lock_rank rank)
{
	if (!forking)
		witness_push(m, rank, "(trylock)", 0);
}

void witness_unlock(pthread_mutex_t *m, const char *file, int line)
{
	unsigned int i;

	if (forking)
		return;
	/* Usually the last one taken; any order is allowed. */
	for (i = nr_held; i-- > 0;) {
		if (held[i].lock != m)
			continue;
		held[i] = held[--nr_held];
		return;
	}
	fprintf(stderr,
		"uslab: %s:%d: unlocking a lock this thread does not "
		"hold\n",
		file, line);
	fflush(stderr);
	abort();
}

bool witness_held(const pthread_mutex_t *m)
{
	unsigned int i;

	if (forking)
		return true;
	for (i = 0; i < nr_held; i++)
		if (held[i].lock == m)
			return true;
	return false;
}

/*
 * fork(): the prepare hook takes every lock, which is uslab's own
 * business and checked by its order of walks, not one by one here.
 * The forking thread must hold nothing when fork() starts.
 */
void witness_fork_prepare(void)
{
	if (nr_held)
		witness_fail("fork() entered holding", &held[nr_held - 1],
			     held[nr_held - 1].rank, __FILE__, __LINE__);
	forking = true;
	fork_rank = 0;
}

void witness_fork_parent(void)
{
	forking = false;
}

/* The child's locks were re-initialised, not unlocked. */
void witness_fork_child(void)
{
	forking = false;
	nr_held = 0;
}

#endif /* CONFIG_DEBUG_CHECKS */
