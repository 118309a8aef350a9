// SPDX-License-Identifier: MIT
/*
 * uslab-demo: what `make run` shows until the cache server replaces it.
 *
 * Three typed caches model a small server: sessions (constructed once per
 * slot), requests, and 1 KiB buffers.  Four threads open sessions, attach
 * requests and buffers, and hand finished sessions to the next thread,
 * which frees them: every free of a session is a cross-thread free.  The
 * report then prints each cache's occupancy as uslab counts it, and, when
 * USLAB_SLABTOP names the uslab-slabtop program (make run sets it), as
 * `uslab-slabtop -o -p <this pid>` reads it from outside the process.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uslab/slab.h>
#include <uslab/stats.h>

#define NTHREADS 4
#define ROUNDS 200000
#define LIVE 4096 /* sessions each thread keeps open */

struct session {
	uint64_t id;
	int state;
	struct request *first;
	char peer[32]; /* 56 bytes: with the free pointer, one line */
};

struct request {
	struct request *next;
	uint32_t len;
	char *buf;
	char line[80];
};

static void session_ctor(struct session *s)
{
	s->state = 0;
	s->first = NULL;
}

DEFINE_KMEM_CACHE(session_cache, struct session, SLAB_HWCACHE_ALIGN,
		  session_ctor)
DEFINE_KMEM_CACHE(request_cache, struct request, 0, NULL)
static struct kmem_cache *buffer_cache;

/* Sessions handed from thread i to thread i+1 (one slot each, spin). */
static _Atomic(struct session *) handoff[NTHREADS];
static atomic_ulong failures;
static pthread_barrier_t done, reported; /* main + workers */

static void session_close(struct session *s)
{
	struct request *r, *next;

	for (r = s->first; r; r = next) {
		next = r->next;
		kmem_cache_free(buffer_cache, r->buf);
		request_cache_free(r);
	}
	s->first = NULL; /* back to constructed state */
	s->state = 0;
	session_cache_free(s);
}

static void *worker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg, i, k;
	struct session **live = calloc(LIVE, sizeof(*live));
	unsigned long long rng = id + 1;

	for (i = 0; i < ROUNDS; i++) {
		struct session *s, *old;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (unsigned int)(rng >> 33) % LIVE;
		s = session_cache_alloc(GFP_KERNEL);
		if (!s) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		s->id = ((uint64_t)id << 32) | i;
		s->state = 1;
		for (unsigned int n = 0; n < 1 + (rng >> 60) % 3; n++) {
			struct request *r = request_cache_alloc(GFP_KERNEL);

			r->buf = kmem_cache_alloc(buffer_cache, GFP_KERNEL);
			r->len = 1024;
			r->next = s->first;
			s->first = r;
		}
		/* Replace a live session; pass the old one on to be closed. */
		old = live[k];
		live[k] = s;
		if (old) {
			old = atomic_exchange(&handoff[(id + 1) % NTHREADS],
					      old);
			if (old)
				session_close(old);
		}
		old = atomic_exchange(&handoff[id], NULL);
		if (old)
			session_close(old);
	}
	/* Keep the sessions open while main reports on the caches. */
	pthread_barrier_wait(&done);
	pthread_barrier_wait(&reported);
	for (k = 0; k < LIVE; k++)
		if (live[k])
			session_close(live[k]);
	free(live);
	return NULL;
}

static void report(struct kmem_cache *s)
{
	struct uslab_cache_info in;

	uslab_cache_info(s, &in);
	printf("%-14s %6u %6u %5u %8lu %8lu %6lu %9lu %6.1f%%\n", in.name,
	       in.object_size, in.slot_size, in.objs_per_slab, in.active_objs,
	       in.total_objs, in.nr_slabs,
	       (in.slab_bytes + in.desc_bytes) / 1024, in.efficiency * 100);
}

/* This process's caches, read from outside by uslab-slabtop. */
static void show_slabtop(const char *when)
{
	const char *tool = getenv("USLAB_SLABTOP");
	char pid[16];
	char *argv[] = { "uslab-slabtop", "-o", "-p", pid, NULL };
	pid_t child;
	int status;

	if (!tool)
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	printf("\n%s, as `uslab-slabtop -o -p %s` sees this process:\n", when,
	       pid);
	fflush(stdout);
	if (posix_spawn(&child, tool, NULL, NULL, argv, environ) ||
	    waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "uslab-demo: %s failed\n", tool);
		atomic_fetch_add(&failures, 1);
	}
}

int main(void)
{
	pthread_t th[NTHREADS];
	struct timespec t0, t1;
	struct session *left;
	unsigned long i;
	double secs;

	if (session_cache_create() || request_cache_create())
		return 1;
	buffer_cache = kmem_cache_create("buffer-1k", 1024, 0, 0, NULL);
	if (!buffer_cache)
		return 1;

	printf("uslab demo: %d threads x %d rounds, %d live sessions each, "
	       "sessions closed by the next thread\n\n",
	       NTHREADS, ROUNDS, LIVE);
	pthread_barrier_init(&done, NULL, NTHREADS + 1);
	pthread_barrier_init(&reported, NULL, NTHREADS + 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	pthread_barrier_wait(&done);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("With every thread's sessions still open:\n");
	printf("%-14s %6s %6s %5s %8s %8s %6s %9s %7s\n", "cache", "objsz",
	       "slot", "/slab", "active", "total", "slabs", "mem KiB", "effic");
	report(session_cache_cachep);
	report(request_cache_cachep);
	report(buffer_cache);
	show_slabtop("With the sessions open");
	pthread_barrier_wait(&reported);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NTHREADS; i++) {
		left = atomic_exchange(&handoff[i], NULL);
		if (left)
			session_close(left);
	}

	printf("\nAfter closing everything and kmem_cache_shrink():\n");
	kmem_cache_shrink(session_cache_cachep);
	kmem_cache_shrink(request_cache_cachep);
	kmem_cache_shrink(buffer_cache);
	report(session_cache_cachep);
	report(request_cache_cachep);
	report(buffer_cache);
	printf("\n%.2f s, %lu allocation failures; per-CPU path: %s\n", secs,
	       (unsigned long)atomic_load(&failures), uslab_percpu_mode());
	show_slabtop("After closing and shrinking");

	session_cache_destroy();
	request_cache_destroy();
	kmem_cache_destroy(buffer_cache);
	return atomic_load(&failures) ? 1 : 0;
}
