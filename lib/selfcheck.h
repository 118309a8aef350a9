/* SPDX-License-Identifier: MIT */
/*
 * Self-checks (CONFIG_DEBUG_CHECKS): assertions, and a per-thread lock
 * witness that enforces the lock order at the top of internal.h, after
 * jemalloc's witness and the kernel's lockdep_assert_held().  With the
 * option off, every check compiles to nothing and the lock wrappers to
 * the bare pthread calls.
 *
 *   uslab_assert(cond)            cheap invariants, on the slow paths
 *   uslab_assert_expensive(cond)  walks and recounts
 *                                 (CONFIG_DEBUG_CHECKS_EXPENSIVE)
 *   uslab_lock(m, rank)           pthread_mutex_lock(), after checking
 *                                 that no lock of a higher rank, nor
 *                                 another of the same rank, is held
 *   uslab_lock_nested(m, rank)    the same, allowing other locks of
 *                                 that rank (fork's take-them-all walk,
 *                                 which orders them itself)
 *   uslab_trylock(m, rank)        pthread_mutex_trylock(); a trylock
 *                                 cannot deadlock, so only recorded
 *   uslab_unlock(m)
 *   lock_assert_held(m)           in every *_locked function
 *
 * A failed check reports the file, line and condition (or the two
 * locks) and aborts.  The witness's state is per thread: nothing is
 * shared, so it takes no lock of its own.
 */
#ifndef USLAB_SELFCHECK_H
#define USLAB_SELFCHECK_H

#include <pthread.h>
#include <stdbool.h>

#include <generated/autoconf.h>

#include "compiler.h"

/* The levels of internal.h's lock order, outermost first. */
enum lock_rank {
	RANK_SLAB_MUTEX = 1, /* cache.c: the cache registry */
	RANK_DRAIN, /* cache.c: a drain's magazines in hand, vs fork() */
	RANK_CPU_SLOT, /* magazine.c: a cache's slot on a CPU */
	RANK_DEPOT, /* depot.c: a cache's depot on a node */
	RANK_SLAB_NODE, /* slab.c: a cache's slab lists on a node */
	RANK_PAGE_NODE, /* page.c: a node's free page blocks */
};

#pragma GCC visibility push(hidden)

void uslab_assert_fail(const char *file, int line, const char *cond)
	__attribute__((noreturn, cold));

#ifdef CONFIG_DEBUG_CHECKS

#define uslab_assert(cond)                                            \
	do {                                                          \
		if (unlikely(!(cond)))                                \
			uslab_assert_fail(__FILE__, __LINE__, #cond); \
	} while (0)

void witness_lock(pthread_mutex_t *m, enum lock_rank rank, bool nested,
		  const char *file, int line);
void witness_trylocked(pthread_mutex_t *m, enum lock_rank rank);
void witness_unlock(pthread_mutex_t *m, const char *file, int line);
bool witness_held(const pthread_mutex_t *m);
void witness_fork_prepare(void);
void witness_fork_parent(void);
void witness_fork_child(void);

#define lock_assert_held(m)                                   \
	do {                                                  \
		if (unlikely(!witness_held(m)))               \
			uslab_assert_fail(__FILE__, __LINE__, \
					  "lock held: " #m);  \
	} while (0)

#define uslab_lock(m, rank)                                           \
	do {                                                          \
		witness_lock((m), (rank), false, __FILE__, __LINE__); \
		pthread_mutex_lock(m);                                \
	} while (0)

#define uslab_lock_nested(m, rank)                                   \
	do {                                                         \
		witness_lock((m), (rank), true, __FILE__, __LINE__); \
		pthread_mutex_lock(m);                               \
	} while (0)

#define uslab_unlock(m)                                  \
	do {                                             \
		witness_unlock((m), __FILE__, __LINE__); \
		pthread_mutex_unlock(m);                 \
	} while (0)

static inline int uslab_trylock(pthread_mutex_t *m, enum lock_rank rank)
{
	int err = pthread_mutex_trylock(m);

	if (!err)
		witness_trylocked(m, rank);
	return err;
}

#else /* !CONFIG_DEBUG_CHECKS */

/* Type-checked, never evaluated. */
#define uslab_assert(cond) ((void)sizeof(!(cond)))
#define lock_assert_held(m) ((void)sizeof(m))

#define uslab_lock(m, rank) pthread_mutex_lock(m)
#define uslab_lock_nested(m, rank) pthread_mutex_lock(m)
#define uslab_unlock(m) pthread_mutex_unlock(m)
#define uslab_trylock(m, rank) pthread_mutex_trylock(m)

static inline void witness_fork_prepare(void)
{
}

static inline void witness_fork_parent(void)
{
}

static inline void witness_fork_child(void)
{
}

#endif /* CONFIG_DEBUG_CHECKS */

/* Its helpers exist only with the option: the condition is dropped. */
#ifdef CONFIG_DEBUG_CHECKS_EXPENSIVE
#define uslab_assert_expensive(cond) uslab_assert(cond)
#else
#define uslab_assert_expensive(cond) ((void)0)
#endif

#pragma GCC visibility pop

#endif /* USLAB_SELFCHECK_H */
