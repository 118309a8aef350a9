// SPDX-License-Identifier: MIT
/*
 * White-box tests of lib/cache.c: the registry is untouched by bad input,
 * bulk allocation is all-or-nothing, the allocs and frees figures are
 * exact, out-of-memory paths report and set errno, SLAB_TYPESAFE_BY_RCU
 * slabs outlive RCU readers; the library's threads deferred as
 * libuslab-malloc.so asks.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <urcu/urcu-bp.h>

#include "internal.h"

static void setup(void)
{
	ck_assert_int_eq(uslab_ensure_init(), 0);
}

static void teardown(void)
{
	page_set_limit(-1);
}

START_TEST(test_bad_create_leaves_registry)
{
	unsigned int before = cache_count();
	struct capture c;

	capture_begin(&c);
	ck_assert_ptr_null(kmem_cache_create(NULL, 8, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("x", 0, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("x", 8, 6, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("x", 8, 0, 1UL << 40, NULL));
	capture_end(&c);
	ck_assert_int_eq(c.lines, 4);
	ck_assert_uint_eq(cache_count(), before);
}
END_TEST

START_TEST(test_registry_create_destroy)
{
	unsigned int before = cache_count();
	struct kmem_cache *s = kmem_cache_create("reg", 8, 0, 0, NULL);
	struct capture c;

	ck_assert_uint_eq(cache_count(), before + 1);
	kmem_cache_destroy(s);
	ck_assert_uint_eq(cache_count(), before);

	/* A leaked cache stays registered (and its memory mapped). */
	s = kmem_cache_create("reg-leak", 8, 0, 0, NULL);
	(void)kmem_cache_alloc(s, GFP_KERNEL);
	capture_begin(&c);
	kmem_cache_destroy(s);
	capture_end(&c);
	ck_assert(s->leaked);
	ck_assert_uint_eq(cache_count(), before + 1);
}
END_TEST

START_TEST(test_bulk_all_or_nothing)
{
	struct kmem_cache *s = kmem_cache_create("bulk-fail", 512, 0, 0, NULL);
	static void *p[1000];
	struct uslab_cache_info info;
	struct capture c;
	unsigned int i;

	/* Room for two slabs only; 1000 objects need more. */
	page_set_limit((long)page_total_resident() + 2 * (1L << s->order));
	capture_begin(&c);
	errno = 0;
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 1000, p), 0);
	capture_end(&c);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_reported(&c, "out of memory");
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.active_objs, 0); /* all given back */

	/* Within what is left it succeeds. */
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, s->objects, p),
			 (int)s->objects);
	for (i = 0; i < s->objects; i++)
		ck_assert_ptr_nonnull(p[i]);
	kmem_cache_free_bulk(s, s->objects, p);
	page_set_limit(-1);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * The allocs and frees figures are exact for a thread that stays on one
 * CPU, whichever path served it: fast pops (which count nothing: their
 * number is derived from the pushes and the rounds owners take out),
 * magazine swaps and refills, bulk calls, a drain in between.  Readers
 * never see a figure go down.
 */
static void expect_counts(struct kmem_cache *s, unsigned long allocs,
			  unsigned long frees)
{
	struct uslab_cache_info info;
	int i;

	if (!IS_ENABLED(CONFIG_STATS))
		return;
	for (i = 0; i < 3; i++) { /* reading changes nothing */
		ck_assert_int_eq(uslab_cache_info(s, &info), 0);
		ck_assert_uint_eq(info.allocs, allocs);
		ck_assert_uint_eq(info.frees, frees);
	}
}

START_TEST(test_stats_counts_exact)
{
	struct kmem_cache *s = kmem_cache_create("counts", 64, 0, 0, NULL);
	enum { N = 5000 };
	static void *p[N];
	unsigned long a = 0, f = 0;
	cpu_set_t old;
	int i;

	ck_assert_ptr_nonnull(s);
	pin_here(&old);
	expect_counts(s, 0, 0);
	for (i = 0; i < N; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		if (++a % 997 == 0)
			expect_counts(s, a, f);
	}
	expect_counts(s, a, f);
	for (i = N - 1; i >= 2000; i--, f++)
		kmem_cache_free(s, p[i]);
	expect_counts(s, a, f);
	kmem_cache_shrink(s); /* every magazine drained */
	expect_counts(s, a, f);
	for (i = 0; i < 100000; i++) { /* pairs on the loaded magazine */
		kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL));
		if (++a, ++f, i % 9973 == 0)
			expect_counts(s, a, f);
	}
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 1000, p + 2000),
			 1000);
	a += 1000;
	expect_counts(s, a, f);
	kmem_cache_free_bulk(s, 3000, p);
	f += 3000;
	expect_counts(s, a, f);
	ck_assert_uint_eq(a, f);
	unpin(&old);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_enomem_single)
{
	struct kmem_cache *s = kmem_cache_create("oom", 64, 0, 0, NULL);
	struct capture c;

	page_set_limit(0);
	capture_begin(&c);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc(s, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_null(kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOWARN));
	capture_end(&c);
	ck_assert_int_eq(c.lines, 1); /* NOWARN kept the second quiet */
	ck_assert_reported(&c, "kmem_cache_alloc(oom): out of memory");
	page_set_limit(-1);
	kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL));
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_nofail_reclaims_other_caches)
{
	struct kmem_cache *keep = kmem_cache_create("keeper", 4096, 0, 0, NULL);
	struct kmem_cache *s = kmem_cache_create("nofail-ok", 4096, 0, 0, NULL);
	void *p;

	/*
	 * keeper holds a slab whose objects sit in its magazines; nothing
	 * else is free.
	 */
	kmem_cache_free(keep, kmem_cache_alloc(keep, GFP_KERNEL));
	ck_assert_uint_eq(keep->node[0]->nr_partial + keep->node[0]->nr_free,
			  1);
	page_set_limit((long)page_total_resident());
	p = kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOFAIL);
	ck_assert_ptr_nonnull(p);
	/* Reclaimed: magazines drained, the emptied slab released. */
	ck_assert_uint_eq(keep->node[0]->nr_partial + keep->node[0]->nr_free,
			  0);
	page_set_limit(-1);
	kmem_cache_free(s, p);
	kmem_cache_destroy(s);
	kmem_cache_destroy(keep);
}
END_TEST

START_TEST(test_nofail_aborts_when_nothing_helps)
{
	struct kmem_cache *s = kmem_cache_create("nofail", 64, 0, 0, NULL);

	page_set_limit(0);
	kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOFAIL);
}
END_TEST

/* ---- SLAB_TYPESAFE_BY_RCU ---------------------------------------------- */

static pthread_mutex_t rd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rd_cond = PTHREAD_COND_INITIALIZER;
static int rd_state; /* 1: reader inside, 2: reader may leave */

static void *rcu_reader(void *arg)
{
	(void)arg;
	urcu_bp_read_lock();
	pthread_mutex_lock(&rd_lock);
	rd_state = 1;
	pthread_cond_broadcast(&rd_cond);
	while (rd_state != 2)
		pthread_cond_wait(&rd_cond, &rd_lock);
	pthread_mutex_unlock(&rd_lock);
	urcu_bp_read_unlock();
	return NULL;
}

START_TEST(test_typesafe_by_rcu_defers_release)
{
	struct kmem_cache *s =
		kmem_cache_create("rcu", 128, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	struct slab *slab;
	pthread_t th;
	void *p;

	ck_assert_uint_ge(s->offset, 128); /* fp outside the object */
	p = kmem_cache_alloc(s, GFP_KERNEL);
	slab = virt_to_slab(p);
	pthread_create(&th, NULL, rcu_reader, NULL);
	pthread_mutex_lock(&rd_lock);
	while (rd_state != 1)
		pthread_cond_wait(&rd_cond, &rd_lock);
	pthread_mutex_unlock(&rd_lock);

	kmem_cache_free(s, p);
	ck_assert_int_eq(kmem_cache_shrink(s), 0); /* off the lists */
	usleep(100 * 1000);
	/* A reader is inside: the slab's memory must keep its type. */
	ck_assert_int_eq(slab_page(slab)->type, PT_HEAD);
	ck_assert_ptr_eq(slab->cache, s);

	pthread_mutex_lock(&rd_lock);
	rd_state = 2;
	pthread_cond_broadcast(&rd_cond);
	pthread_mutex_unlock(&rd_lock);
	pthread_join(th, NULL);
	slab_rcu_barrier();
	ck_assert_int_ne(slab_page(slab)->type, PT_HEAD); /* released */
	kmem_cache_destroy(s);
}
END_TEST

/* ---- Deferred threads (libuslab-malloc.so's start-up) ------------------ */

/* Threads of this process named @name (/proc/self/task/<tid>/comm). */
static int threads_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], comm[32];
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* gone meanwhile */
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = '\0';
			n += !strcmp(comm, name);
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* The library not started yet, its threads deferred by @ms. */
static void start_deferred(const char *ms)
{
	setenv("USLAB_DEFER_MS", ms, 1);
	uslab_defer_threads = true;
	ck_assert_int_eq(uslab_ensure_init(), 0);
}

static int rcu_ran;

static void count_rcu(struct rcu_head *head)
{
	uslab_rcu_callback(head);
	__atomic_fetch_add(&rcu_ran, 1, __ATOMIC_RELAXED);
}

/* Up to 10 s for @n callbacks of count_rcu(). */
static bool rcu_ran_wait(int n)
{
	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(&rcu_ran, __ATOMIC_RELAXED) >= n)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * No thread until the time has passed; a call_rcu() meanwhile waits and
 * runs once the worker starts; the poll past the time starts all three.
 */
START_TEST(test_deferred_threads_start_late)
{
	static struct rcu_head heads[3];

	start_deferred("300");
	ck_assert(!uslab_threads_started());
	ck_assert_int_eq(threads_named("uslab-reaper"), 0);
	ck_assert_int_eq(threads_named("uslab-export"), 0);
	for (int i = 0; i < 3; i++)
		uslab_call_rcu(&heads[i], count_rcu);
	uslab_threads_poll(); /* too early */
	ck_assert(!uslab_threads_started());
	usleep(100000);
	ck_assert_int_eq(__atomic_load_n(&rcu_ran, __ATOMIC_RELAXED), 0);

	usleep(250000);
	uslab_threads_poll();
	ck_assert(uslab_threads_started());
	ck_assert_int_eq(threads_named("uslab-reaper"), 1);
	if (IS_ENABLED(CONFIG_STATS_EXPORT) && uslab_env.export)
		ck_assert_int_eq(threads_named("uslab-export"), 1);
	ck_assert(rcu_ran_wait(3));
	uslab_threads_poll(); /* once only */
	ck_assert_int_eq(threads_named("uslab-reaper"), 1);
}
END_TEST

/* What needs RCU callbacks starts them at once. */
START_TEST(test_deferred_threads_rcu_api)
{
	struct rcu_head head;
	struct kmem_cache *s;
	void *p;

	start_deferred("3600000");
	ck_assert(!uslab_threads_started());
	p = kmalloc(64, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kvfree_call_rcu(&head, p);
	ck_assert(uslab_threads_started());
	kvfree_rcu_barrier(); /* returns: the callbacks run */
	s = kmem_cache_create("deferred-rcu", 64, 0, SLAB_TYPESAFE_BY_RCU,
			      NULL);
	ck_assert_ptr_nonnull(s);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_deferred_threads_typesafe_cache)
{
	struct kmem_cache *s;

	start_deferred("3600000");
	s = kmem_cache_create("deferred-tbr", 64, 0, SLAB_TYPESAFE_BY_RCU,
			      NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert(uslab_threads_started());
	kmem_cache_destroy(s);
}
END_TEST

/* A forked child defers its own threads again, from its own start. */
START_TEST(test_deferred_threads_fork)
{
	int status;
	pid_t pid;

	start_deferred("3600000");
	uslab_threads_now();
	ck_assert(uslab_threads_started());
	ck_assert_int_eq(threads_named("uslab-reaper"), 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(uslab_threads_started() ||
				      threads_named("uslab-reaper") ||
				      threads_named("uslab-export") ?
			      1 :
			      0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("unit-cache");
	TCase *tc = tcase_create("cache");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bad_create_leaves_registry);
	tcase_add_test(tc, test_registry_create_destroy);
	tcase_add_test(tc, test_bulk_all_or_nothing);
	tcase_add_test(tc, test_stats_counts_exact);
	tcase_add_test(tc, test_enomem_single);
	tcase_add_test(tc, test_nofail_reclaims_other_caches);
	tcase_add_test_raise_signal(tc, test_nofail_aborts_when_nothing_helps,
				    SIGABRT);
	tcase_add_test(tc, test_typesafe_by_rcu_defers_release);
	suite_add_tcase(s, tc);

	/* No fixture: each test starts the library itself, deferred. */
	tc = tcase_create("deferred-threads");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_deferred_threads_start_late);
	tcase_add_test(tc, test_deferred_threads_rcu_api);
	tcase_add_test(tc, test_deferred_threads_typesafe_cache);
	tcase_add_test(tc, test_deferred_threads_fork);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cache_suite());
}
