/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Check test programs. */
#ifndef USLAB_TESTS_COMMON_H
#define USLAB_TESTS_COMMON_H

#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uslab/stats.h>

/* ---- Pinning: a thread that stays on one CPU uses one magazine slot --- */

/* Pin the calling thread to @cpu; sched_setaffinity()'s result. */
static inline int pin_to(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one);
}

/* Pin the calling thread to the CPU it is on; *old keeps its mask. */
static inline void pin_here(cpu_set_t *old)
{
	int cpu = sched_getcpu();

	sched_getaffinity(0, sizeof(*old), old);
	pin_to(cpu < 0 ? 0 : cpu);
}

static inline void unpin(const cpu_set_t *old)
{
	sched_setaffinity(0, sizeof(*old), old);
}

/* ---- Statistics --------------------------------------------------------- */

/*
 * CONFIG_STATS: every object handed out came back to the cache @info
 * describes (struct uslab_cache_info), and the counts say so exactly:
 * none is lost, even to a thread preempted and moved in a fast path.
 * A macro: IS_ENABLED comes with internal.h.
 */
#define ck_assert_events_balanced(info)                           \
	do {                                                      \
		if (!IS_ENABLED(CONFIG_STATS))                    \
			break;                                    \
		ck_assert_uint_gt((info)->allocs, 0);             \
		ck_assert_uint_eq((info)->allocs, (info)->frees); \
	} while (0)

/* ---- stderr capture: what the library reported ------------------------ */

struct capture {
	int saved;
	FILE *tmp;
	char text[8192];
	int lines;
};

static inline void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	ck_assert_ptr_nonnull(c->tmp);
	c->saved = dup(STDERR_FILENO);
	dup2(fileno(c->tmp), STDERR_FILENO);
}

/* Stop capturing; c->text holds what was written, c->lines its lines. */
static inline void capture_end(struct capture *c)
{
	size_t n;
	char *p;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	rewind(c->tmp);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->tmp);
	c->text[n] = '\0';
	fclose(c->tmp);
	c->lines = 0;
	for (p = c->text; *p; p++)
		if (*p == '\n')
			c->lines++;
}

#define ck_assert_reported(c, needle)                                    \
	ck_assert_msg(strstr((c)->text, (needle)) != NULL,               \
		      "expected \"%s\" on stderr, got \"%s\"", (needle), \
		      (c)->text)

/* ---- memory ------------------------------------------------------------ */

/* Resident set size of this process in bytes. */
static inline long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

/* ---- running ----------------------------------------------------------- */

/* Run one suite and return the exit status for main(). */
static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * Several runs of suites in one program (each with its own environment,
 * set before Check forks the tests that start the library): their
 * outcomes add up here, and tally_report() prints the one Check summary
 * line the test runner reads.
 */
struct tally {
	int checks, failed, errors;
};

static inline void run_counted(Suite *s, struct tally *t)
{
	SRunner *sr = srunner_create(s);
	TestResult **r;
	int i, n;

	srunner_run_all(sr, CK_NORMAL);
	n = srunner_ntests_run(sr);
	r = srunner_results(sr);
	for (i = 0; i < n; i++) {
		t->checks++;
		if (tr_rtype(r[i]) == CK_FAILURE)
			t->failed++;
		else if (tr_rtype(r[i]) == CK_ERROR)
			t->errors++;
	}
	free(r);
	srunner_free(sr);
}

static inline int tally_report(const struct tally *t)
{
	printf("%d%%: Checks: %d, Failures: %d, Errors: %d\n",
	       t->checks ?
		       100 * (t->checks - t->failed - t->errors) / t->checks :
		       0,
	       t->checks, t->failed, t->errors);
	return t->failed || t->errors ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Small deterministic PRNG (xorshift64*) for reproducible workloads. */
static inline unsigned long long rng_next(unsigned long long *state)
{
	unsigned long long x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ULL;
}

/* ---- Caches by name ------------------------------------------------------ */

struct cache_find {
	const char *name;
	struct kmem_cache *s;
};

static inline int cache_find_fn(struct kmem_cache *s, void *arg)
{
	struct cache_find *f = arg;

	if (strcmp(kmem_cache_name(s), f->name))
		return 0;
	f->s = s;
	return 1;
}

/* The cache named @name; fails the test when there is none. */
static inline struct kmem_cache *cache_named(const char *name)
{
	struct cache_find f = { name, NULL };

	uslab_for_each_cache(cache_find_fn, &f);
	ck_assert_msg(f.s != NULL, "no cache named %s", name);
	return f.s;
}

#endif /* USLAB_TESTS_COMMON_H */
