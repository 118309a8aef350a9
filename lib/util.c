// SPDX-License-Identifier: MIT
/*
 * util.c - what every layer may call, at the bottom of the layer order
 * (Documentation/design.md): one-line reports on stderr, and starting the
 * library's own threads, random numbers (the hardening's secrets and
 * shuffles, slab.c).  It calls no other file of lib/.
 *
 * Locking: none.  A report is one write(), so lines from several threads
 * never mix; uslab_spawn() touches only the calling thread's signal mask;
 * uslab_random()'s state is per thread.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* TSan's stand-in for a grace period (uslab_rcu_read_unlock() and co.). */
char uslab_rcu_token;

/* One line on stderr, written with a single write() so lines never mix. */
void uslab_report(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	memcpy(buf, "uslab: ", 7);
	va_start(ap, fmt);
	n = vsnprintf(buf + 7, sizeof(buf) - 8, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = MIN(n + 7, (int)sizeof(buf) - 1);
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

/*
 * Start one of the library's own threads, detached and named @name.  It
 * blocks every signal, so the application's handlers never run on it.
 * 0, or an error number.
 */
int uslab_spawn(void *(*fn)(void *), void *arg, const char *name)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, fn, arg);
	if (!err)
		pthread_setname_np(tid, name);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/*
 * Fill @buf with @len bytes from the kernel's random pool (getrandom()).
 * Where it cannot answer (seccomp, a very old kernel), the clock, the
 * thread id and the address of @buf stand in: weaker, never absent.
 */
void uslab_getrandom(void *buf, size_t len)
{
	unsigned char *p = buf;
	struct timespec ts;
	uint64_t x;
	size_t i;

	if (getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
	    ((uint64_t)gettid() << 16) ^ (uint64_t)(uintptr_t)buf;
	for (i = 0; i < len; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (unsigned char)(x >> 56);
	}
}

/*
 * A fast pseudo-random number for choices that need not be secret (where
 * a new slab starts in its cache's random sequence): xorshift64*, one
 * state per thread, seeded from uslab_getrandom() on first use.
 */
uint64_t uslab_random(void)
{
	static __thread uint64_t state;
	uint64_t x = state;

	while (unlikely(!x))
		uslab_getrandom(&x, sizeof(x));
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	return x * 0x2545F4914F6CDD1DULL;
}
