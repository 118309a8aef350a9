// SPDX-License-Identifier: MIT
/*
 * White-box tests of lib/selfcheck.c: with CONFIG_DEBUG_CHECKS, each
 * misuse the witness and the assertions exist for aborts (Check runs
 * every test in a child and expects SIGABRT); without it, the wrappers
 * are bare pthread calls and the checks evaluate nothing.
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>

#include "internal.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;

static void *try_from_other_thread(void *m)
{
	int err = pthread_mutex_trylock(m);

	if (!err)
		pthread_mutex_unlock(m);
	return (void *)(long)err;
}

/* The lock really is taken and given back, in every build. */
START_TEST(test_wrappers_lock)
{
	pthread_t t;
	void *ret;

	uslab_lock(&a, RANK_DEPOT);
	pthread_create(&t, NULL, try_from_other_thread, &a);
	pthread_join(t, &ret);
	ck_assert_int_ne((int)(long)ret, 0); /* busy */
	lock_assert_held(&a);
	uslab_unlock(&a);
	pthread_create(&t, NULL, try_from_other_thread, &a);
	pthread_join(t, &ret);
	ck_assert_int_eq((int)(long)ret, 0);
	ck_assert_int_eq(uslab_trylock(&a, RANK_DEPOT), 0);
	lock_assert_held(&a);
	uslab_unlock(&a);
}
END_TEST

#ifdef CONFIG_DEBUG_CHECKS

static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER;

/* Downwards, nested same-rank when asked, any release order: fine. */
START_TEST(test_order_kept)
{
	uslab_lock(&a, RANK_SLAB_MUTEX);
	uslab_lock(&b, RANK_SLAB_NODE);
	uslab_lock(&c, RANK_PAGE_NODE);
	lock_assert_held(&a);
	lock_assert_held(&b);
	lock_assert_held(&c);
	uslab_unlock(&b);
	uslab_unlock(&c);
	uslab_unlock(&a);
	uslab_lock(&a, RANK_DEPOT);
	uslab_lock_nested(&b, RANK_DEPOT);
	uslab_unlock(&a);
	uslab_unlock(&b);
}
END_TEST

START_TEST(test_upwards_aborts)
{
	uslab_lock(&a, RANK_SLAB_NODE);
	uslab_lock(&b, RANK_DEPOT); /* depot after slab node: wrong */
}
END_TEST

START_TEST(test_same_rank_aborts)
{
	uslab_lock(&a, RANK_SLAB_NODE);
	uslab_lock(&b, RANK_SLAB_NODE); /* two nodes, no order given */
}
END_TEST

START_TEST(test_not_held_aborts)
{
	uslab_lock(&a, RANK_SLAB_NODE);
	uslab_unlock(&a);
	lock_assert_held(&a);
}
END_TEST

START_TEST(test_unlock_not_held_aborts)
{
	uslab_unlock(&c);
}
END_TEST

START_TEST(test_assert_aborts)
{
	int zero = 0;

	uslab_assert(zero == 1);
}
END_TEST

/* A trylock that succeeded counts as held, and for the order. */
START_TEST(test_trylock_recorded)
{
	ck_assert_int_eq(uslab_trylock(&a, RANK_PAGE_NODE), 0);
	lock_assert_held(&a);
	uslab_lock(&b, RANK_SLAB_NODE); /* above a held rank 5 */
}
END_TEST

#else

/* Compiled out: the condition is not even evaluated. */
START_TEST(test_checks_compiled_out)
{
	int evaluated = 0;

	uslab_assert(++evaluated == 42);
	uslab_assert_expensive(++evaluated == 42);
	ck_assert_int_eq(evaluated, 0);
}
END_TEST

#endif

int main(void)
{
	Suite *s = suite_create("selfcheck");
	TCase *tc = tcase_create("witness");

	tcase_add_test(tc, test_wrappers_lock);
#ifdef CONFIG_DEBUG_CHECKS
	tcase_add_test(tc, test_order_kept);
	tcase_add_test_raise_signal(tc, test_upwards_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_same_rank_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_not_held_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_unlock_not_held_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_assert_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_trylock_recorded, SIGABRT);
#else
	tcase_add_test(tc, test_checks_compiled_out);
#endif
	suite_add_tcase(s, tc);
	return run_suite(s);
}
