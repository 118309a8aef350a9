// SPDX-License-Identifier: MIT
/*
 * kvfree_rcu.c - RCU-deferred frees: kfree_rcu(), kvfree_rcu(),
 * kmem_cache_free_rcu(), kvfree_rcu_mightsleep(), kvfree_rcu_barrier().
 *
 * As the kernel's kvfree_rcu: each CPU collects the pointers it is given
 * in a batch, an array of KFREE_BATCH_OBJS pointers in one kmalloc-4k
 * object; a full batch goes to call_rcu() at once, a partial one when
 * the flusher thread ("uslab-kfree-rcu") next passes, KFREE_FLUSH_MS
 * after it began, or at kvfree_rcu_barrier().  One grace period later
 * the callback kvfree()s every pointer and the batch.  So a million
 * frees cost about two thousand callbacks, not a million, and the
 * objects' rcu_heads are not touched.  When no batch can be allocated,
 * the object's own rcu_head is given to call_rcu(), whose callback finds
 * the object from the head (the slot or page block holding it);
 * kvfree_rcu_mightsleep() has no head and waits for a grace period
 * instead.
 *
 * Locking: krc[cpu].lock guards that CPU's batch.  It is taken before
 * any uslab lock (a batch is allocated and call_rcu() called under it;
 * both take only levels 2 to 5 of internal.h's order or none), by
 * callers that hold none; the CPU is only a hint of which lock to take
 * (a thread that moves on just uses another CPU's batch).  flush_lock
 * guards the flusher's start-up and its idle wait, and is never held
 * with a krc lock.  barrier_lock makes barriers take turns and is taken
 * before the krc locks; barrier_wait_lock is a leaf (see the barrier).  fork(): every krc lock is taken (in CPU order) and
 * the child re-initialises them and restarts the flusher if batches are
 * waiting.  Callbacks run on liburcu's call_rcu thread, with no uslab
 * lock held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

#define KFREE_BATCH_BYTES 4096 /* one kmalloc-4k object */
#define KFREE_FLUSH_MS 20 /* a partial batch waits at most this long */

struct kfree_batch {
	struct rcu_head rcu;
	unsigned int nr;
	unsigned int epoch; /* barrier epoch it was submitted in */
	void *objs[(KFREE_BATCH_BYTES - sizeof(struct rcu_head) -
		    2 * sizeof(unsigned int)) /
		   sizeof(void *)];
};
BUILD_BUG_ON(sizeof(struct kfree_batch) > KFREE_BATCH_BYTES);
#define KFREE_BATCH_OBJS ARRAY_SIZE(((struct kfree_batch *)0)->objs)

struct kfree_rcu_cpu {
	pthread_mutex_t lock;
	struct kfree_batch *batch; /* collecting; NULL when none */
} __cacheline_aligned;

static struct kfree_rcu_cpu *krc; /* [nr_krc], set once */
static unsigned int nr_krc;
static pthread_once_t krc_once = PTHREAD_ONCE_INIT;
static int krc_error;

/*
 * kvfree_rcu_barrier() waits for its own callbacks rather than calling
 * urcu_bp_barrier(): batches are counted in inflight[] by the barrier
 * epoch they were submitted in (epoch changes only with every krc lock
 * held, and batches are submitted under one), so a barrier switches the
 * epoch and waits for the old one's count to drain; later batches count
 * in the other.  Batches that used an object's own head (no memory for
 * an array) cannot carry an epoch: heads_inflight counts them, and a
 * barrier waits for it to reach 0.  The counts are atomics; a callback
 * that brings one to 0 wakes the barrier under barrier_wait_lock.
 */
static pthread_mutex_t barrier_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t barrier_wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t barrier_cond = PTHREAD_COND_INITIALIZER;
static unsigned int epoch; /* every krc lock to write; one to read */
static unsigned long inflight[2], heads_inflight;

static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_cond = PTHREAD_COND_INITIALIZER;
static bool flusher_running;
static unsigned long batches_open; /* flush_lock: partial batches */

#define kstat_add(item, n)                                                  \
	__atomic_fetch_add(&kmalloc_stat[USLAB_STAT_##item], (uint64_t)(n), \
			   __ATOMIC_RELAXED)

/* ---- Callbacks (call_rcu's thread, after a grace period) ------------- */

/*
 * One batch fewer in flight in @count.  Acquire-release: the frees
 * before the decrement are visible to the barrier that sees 0.
 */
static void inflight_done(unsigned long *count)
{
	if (__atomic_sub_fetch(count, 1, __ATOMIC_ACQ_REL) == 0) {
		pthread_mutex_lock(&barrier_wait_lock);
		pthread_cond_broadcast(&barrier_cond);
		pthread_mutex_unlock(&barrier_wait_lock);
	}
}

static void kfree_batch_cb(struct rcu_head *head)
{
	struct kfree_batch *b = container_of(head, struct kfree_batch, rcu);
	unsigned int i, e;

	uslab_rcu_callback(head);
	e = b->epoch;
	for (i = 0; i < b->nr; i++)
		kvfree(b->objs[i]);
	kstat_add(rcu_freed, b->nr);
	kfree(b);
	inflight_done(&inflight[e]);
}

/*
 * The object whose rcu_head is @head: the start of the slot of the slab
 * it lies in, or of its page block.  Only arena memory gets here (see
 * kvfree_head_rcu()).
 */
static void *object_of_head(struct rcu_head *head)
{
	struct slab *slab = virt_to_slab(head);
	struct kmem_cache *s = READ_ONCE(slab->cache);
	unsigned long off;

	if (!s)
		return slab->s_mem;
	off = (unsigned long)((char *)head - slab->s_mem);
	return slab->s_mem + (unsigned long)obj_index(s, off) * s->size;
}

static void kfree_head_cb(struct rcu_head *head)
{
	uslab_rcu_callback(head);
	kvfree(object_of_head(head));
	kstat_add(rcu_freed, 1);
	inflight_done(&heads_inflight);
}

/* ---- Per-CPU batches ---------------------------------------------------- */

static void *flusher_main(void *arg);

/* Start the flusher unless it runs; flush_lock held. */
static void flusher_start_locked(void)
{
	if (flusher_running)
		return;
	if (uslab_spawn(flusher_main, NULL, "uslab-kfree-rcu") == 0)
		flusher_running = true;
	else
		uslab_report("cannot start the kfree_rcu flusher thread; "
			     "partial batches wait for kvfree_rcu_barrier()");
}

/* Hand @c's batch to call_rcu(), if it has one; c->lock held. */
static void krc_submit_locked(struct kfree_rcu_cpu *c)
{
	struct kfree_batch *b = c->batch;

	if (!b)
		return;
	c->batch = NULL;
	b->epoch = READ_ONCE(epoch);
	__atomic_fetch_add(&inflight[b->epoch], 1, __ATOMIC_RELAXED);
	kstat_add(rcu_batches, 1);
	uslab_call_rcu(&b->rcu, kfree_batch_cb);
}

static void krc_fork_prepare(void)
{
	unsigned int i;

	pthread_mutex_lock(&barrier_lock);
	pthread_mutex_lock(&flush_lock);
	for (i = 0; i < nr_krc; i++)
		pthread_mutex_lock(&krc[i].lock);
}

static void krc_fork_parent(void)
{
	unsigned int i;

	for (i = 0; i < nr_krc; i++)
		pthread_mutex_unlock(&krc[i].lock);
	pthread_mutex_unlock(&flush_lock);
	pthread_mutex_unlock(&barrier_lock);
}

/* One thread now: the flusher is gone; restart it if batches wait. */
static void krc_fork_child(void)
{
	unsigned int i;

	for (i = 0; i < nr_krc; i++)
		pthread_mutex_init(&krc[i].lock, NULL);
	pthread_mutex_init(&flush_lock, NULL);
	pthread_cond_init(&flush_cond, NULL);
	pthread_mutex_init(&barrier_lock, NULL);
	pthread_mutex_init(&barrier_wait_lock, NULL);
	pthread_cond_init(&barrier_cond, NULL);
	flusher_running = false;
	if (batches_open)
		flusher_start_locked();
}

static void krc_init(void)
{
	unsigned int i;

	if (uslab_ensure_init()) {
		krc_error = errno;
		return;
	}
	krc = calloc(nr_cpu_ids, sizeof(*krc));
	if (!krc) {
		krc_error = ENOMEM;
		return;
	}
	for (i = 0; i < nr_cpu_ids; i++)
		mutex_init_adaptive(&krc[i].lock);
	nr_krc = nr_cpu_ids;
	pthread_atfork(krc_fork_prepare, krc_fork_parent, krc_fork_child);
}

static int krc_ready(void)
{
	pthread_once(&krc_once, krc_init);
	if (!nr_krc) {
		errno = krc_error ? krc_error : ENOMEM;
		return -1;
	}
	/* Callbacks need liburcu's worker (deferred under the preload). */
	uslab_threads_now();
	return 0;
}

static struct kfree_rcu_cpu *this_krc(void)
{
	int cpu = sched_getcpu();

	return &krc[cpu < 0 ? 0 : (unsigned int)cpu % nr_krc];
}

/*
 * Queue @ptr in this CPU's batch; false when there is no batch and none
 * can be allocated.
 */
static bool krc_queue(void *ptr)
{
	struct kfree_rcu_cpu *c = this_krc();
	struct kfree_batch *b;
	bool opened = false;

	pthread_mutex_lock(&c->lock);
	b = c->batch;
	if (!b) {
		b = kmalloc(sizeof(*b), GFP_NOWAIT);
		if (!b) {
			pthread_mutex_unlock(&c->lock);
			return false;
		}
		b->nr = 0;
		c->batch = b;
		opened = true;
	}
	b->objs[b->nr++] = ptr;
	kstat_add(rcu_queued, 1);
	if (b->nr == KFREE_BATCH_OBJS)
		krc_submit_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (opened) {
		pthread_mutex_lock(&flush_lock);
		batches_open++;
		flusher_start_locked();
		pthread_cond_signal(&flush_cond);
		pthread_mutex_unlock(&flush_lock);
	}
	return true;
}

/* Submit every CPU's partial batch. */
static void krc_flush_all(void)
{
	unsigned int i;

	for (i = 0; i < nr_krc; i++) {
		pthread_mutex_lock(&krc[i].lock);
		krc_submit_locked(&krc[i]);
		pthread_mutex_unlock(&krc[i].lock);
	}
}

/*
 * The flusher: idle while no batch was opened since its last pass;
 * otherwise it waits KFREE_FLUSH_MS and submits every partial batch.
 */
static void *flusher_main(void *arg)
{
	struct timespec ts = { 0, KFREE_FLUSH_MS * 1000000L };

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&flush_lock);
		while (!batches_open)
			pthread_cond_wait(&flush_cond, &flush_lock);
		batches_open = 0;
		pthread_mutex_unlock(&flush_lock);
		nanosleep(&ts, NULL);
		krc_flush_all();
	}
	return NULL;
}

/* ---- API ------------------------------------------------------------- */

/* No batch memory: the object's own head goes to call_rcu(). */
static __cold void kvfree_head_rcu(struct rcu_head *head, void *ptr)
{
	kstat_add(rcu_queued, 1);
	if (!page_in_arena(ptr) || !virt_to_slab(head) ||
	    object_of_head(head) != ptr) {
		/* An own mapping, or a head outside its object: wait. */
		urcu_bp_synchronize_rcu();
		kvfree(ptr);
		kstat_add(rcu_freed, 1);
		return;
	}
	kstat_add(rcu_batches, 1);
	__atomic_fetch_add(&heads_inflight, 1, __ATOMIC_RELAXED);
	uslab_call_rcu(head, kfree_head_cb);
}

__api void kvfree_call_rcu(struct rcu_head *head, void *ptr)
{
	if (ZERO_OR_NULL_PTR(ptr))
		return;
	if (krc_ready() || !krc_queue(ptr))
		kvfree_head_rcu(head, ptr);
}

__api void kmem_cache_call_rcu(struct kmem_cache *s, struct rcu_head *head,
			       void *obj)
{
	struct slab *slab;

	if (!obj)
		return;
	slab = virt_to_slab(obj);
	if (!s || !slab || READ_ONCE(slab->cache) != s) {
		debug_bad_free(s, obj,
			       "kmem_cache_free_rcu: not an object of this "
			       "cache");
		return;
	}
	kvfree_call_rcu(head, obj);
}

__api void kvfree_rcu_mightsleep(void *ptr)
{
	if (ZERO_OR_NULL_PTR(ptr))
		return;
	if (krc_ready() == 0 && krc_queue(ptr))
		return;
	kstat_add(rcu_queued, 1);
	urcu_bp_synchronize_rcu();
	kvfree(ptr);
	kstat_add(rcu_freed, 1);
}

/*
 * Submit every partial batch and switch the epoch, all krc locks held
 * (so no batch is submitted in between), then wait for the old epoch's
 * batches and for every head-carried object to be freed.  One barrier
 * at a time: the epoch it leaves must have drained before the next
 * switches back to it.
 */
__api void kvfree_rcu_barrier(void)
{
	unsigned int i, old;

	if (krc_ready())
		return;
	pthread_mutex_lock(&barrier_lock);
	for (i = 0; i < nr_krc; i++)
		pthread_mutex_lock(&krc[i].lock);
	for (i = 0; i < nr_krc; i++)
		krc_submit_locked(&krc[i]);
	old = epoch;
	WRITE_ONCE(epoch, old ^ 1);
	for (i = nr_krc; i-- > 0;)
		pthread_mutex_unlock(&krc[i].lock);

	pthread_mutex_lock(&barrier_wait_lock);
	while (__atomic_load_n(&inflight[old], __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&heads_inflight, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&barrier_cond, &barrier_wait_lock);
	pthread_mutex_unlock(&barrier_wait_lock);
	pthread_mutex_unlock(&barrier_lock);
}
