// SPDX-License-Identifier: MIT
/*
 * util.c - what every layer may call, at the bottom of the layer order
 * (Documentation/design.md): one-line reports on stderr, and starting the
 * library's own threads, call_rcu() before liburcu's worker runs,
 * random numbers (the hardening's secrets and
 * shuffles, slab.c: one key from the kernel per process, see
 * uslab_getrandom()), the monotonic clock in nanoseconds, and reading
 * small sysfs files and the kernel's lists in them ("0-3,8") for the
 * topology and the per-CPU layer.  It calls no other file of lib/.
 *
 * Locking: a report is one write(), so lines from several threads never
 * mix; uslab_spawn() touches only the calling thread's signal mask;
 * rng_lock guards the random key stream; uslab_random()'s state is per
 * thread; the call_rcu() heads waiting for the worker are a lock-free
 * stack.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
 * call_rcu() before liburcu's worker runs (cache.c defers it under
 * libuslab-malloc.so): the heads wait on a lock-free stack, linked
 * through their own next field, and go to call_rcu() when the worker
 * starts.  They only wait longer for their grace period.
 *
 * Ordering: a pusher pushes, then reads uslab_rcu_worker; the starter
 * sets uslab_rcu_worker, then takes the stack.  Both sequentially
 * consistent, so at least one of them sees the other: either the
 * starter takes the head, or the pusher sees the worker and flushes the
 * stack itself (two flushes take disjoint heads: exchange).
 */
bool uslab_rcu_worker;
static struct rcu_head *rcu_waiting;

static void rcu_flush(void)
{
	struct rcu_head *h =
		__atomic_exchange_n(&rcu_waiting, NULL, __ATOMIC_SEQ_CST);

	while (h) {
		struct rcu_head *next = (struct rcu_head *)(void *)h->next.next;

		urcu_bp_call_rcu(h, h->func);
		h = next;
	}
}

void uslab_call_rcu_deferred(struct rcu_head *head,
			     void (*fn)(struct rcu_head *))
{
	struct rcu_head *old = __atomic_load_n(&rcu_waiting, __ATOMIC_RELAXED);

	head->func = fn;
	do
		head->next.next = (struct cds_wfcq_node *)(void *)old;
	while (!__atomic_compare_exchange_n(&rcu_waiting, &old, head, true,
					    __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED));
	if (__atomic_load_n(&uslab_rcu_worker, __ATOMIC_SEQ_CST))
		rcu_flush();
}

/* The worker runs (cache.c): every waiting head to call_rcu(). */
void uslab_rcu_worker_started(void)
{
	__atomic_store_n(&uslab_rcu_worker, true, __ATOMIC_SEQ_CST);
	rcu_flush();
}

/*
 * Random bytes for the hardening's secrets and shuffles: ChaCha20 (RFC
 * 8439's block function, 20 rounds) keyed once per process with 32
 * bytes from the kernel's random pool, one getrandom() in all, however
 * many caches and threads ask.  Each request takes the next blocks of
 * the key stream (a 64-bit block counter), so no two requests see the
 * same bytes, and without the key no request's bytes tell anything
 * about another's.  A forked child draws a key of its own on its first
 * request (util_fork_child()), so its caches' secrets are not its
 * parent's.
 *
 * Where getrandom() cannot answer (seccomp, a very old kernel), the
 * clock, the thread id and an address stand in for the key: weaker,
 * never absent.
 *
 * Locking: rng_lock (a leaf: nothing is called under it but
 * getrandom()) guards the key, the counter and the seeded flag.
 */
static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t rng_key[8];
static uint64_t rng_block; /* the next block of the key stream */
static bool rng_seeded;
#ifdef USLAB_TEST_HOOKS
unsigned long uslab_rng_reseeds; /* keys drawn: tests count them */
#endif

#define ROTL32(v, n) ((v) << (n) | (v) >> (32 - (n)))
#define CHACHA_QR(a, b, c, d)          \
	do {                           \
		a += b;                \
		d = ROTL32(d ^ a, 16); \
		c += d;                \
		b = ROTL32(b ^ c, 12); \
		a += b;                \
		d = ROTL32(d ^ a, 8);  \
		c += d;                \
		b = ROTL32(b ^ c, 7);  \
	} while (0)

/* Block @n of the key stream into @out (RFC 8439, a zero nonce). */
static void chacha20_block(const uint32_t key[8], uint64_t n, uint32_t out[16])
{
	uint32_t in[16] = {
		0x61707865,  0x3320646e,
		0x79622d32,  0x6b206574, /* constant */
		key[0],	     key[1],
		key[2],	     key[3],
		key[4],	     key[5],
		key[6],	     key[7],
		(uint32_t)n, (uint32_t)(n >> 32),
		0,	     0,
	};
	uint32_t x[16];
	int i;

	memcpy(x, in, sizeof(x));
	for (i = 0; i < 10; i++) {
		CHACHA_QR(x[0], x[4], x[8], x[12]); /* columns */
		CHACHA_QR(x[1], x[5], x[9], x[13]);
		CHACHA_QR(x[2], x[6], x[10], x[14]);
		CHACHA_QR(x[3], x[7], x[11], x[15]);
		CHACHA_QR(x[0], x[5], x[10], x[15]); /* diagonals */
		CHACHA_QR(x[1], x[6], x[11], x[12]);
		CHACHA_QR(x[2], x[7], x[8], x[13]);
		CHACHA_QR(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 16; i++)
		out[i] = x[i] + in[i];
}

#ifdef USLAB_TEST_HOOKS
/* Tests: the block function against RFC 8439's vectors. */
void uslab_chacha20_block(const uint32_t key[8], uint64_t n, uint32_t out[16])
{
	chacha20_block(key, n, out);
}
#endif

/* The key: getrandom(), or the stand-ins.  rng_lock held. */
static void rng_seed_locked(void)
{
	unsigned char *p = (unsigned char *)rng_key;
	struct timespec ts;
	uint64_t x;
	size_t i;

	rng_block = 0;
	rng_seeded = true;
#ifdef USLAB_TEST_HOOKS
	uslab_rng_reseeds++;
#endif
	if (getrandom(rng_key, sizeof(rng_key), GRND_NONBLOCK) ==
	    (ssize_t)sizeof(rng_key))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
	    ((uint64_t)gettid() << 16) ^ (uint64_t)(uintptr_t)&ts;
	for (i = 0; i < sizeof(rng_key); i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (unsigned char)(x >> 56);
	}
}

/* Fill @buf with @len bytes of the key stream. */
void uslab_getrandom(void *buf, size_t len)
{
	unsigned char *p = buf;
	uint32_t block[16];
	size_t n;

	pthread_mutex_lock(&rng_lock);
	if (!rng_seeded)
		rng_seed_locked();
	while (len) {
		chacha20_block(rng_key, rng_block++, block);
		n = MIN(len, sizeof(block));
		memcpy(p, block, n);
		p += n;
		len -= n;
	}
	pthread_mutex_unlock(&rng_lock);
	/* The rest of the block stays secret: no copy left on the stack. */
	memset(block, 0, sizeof(block));
	__asm__ volatile("" : : "r"(block) : "memory");
}

/*
 * In a forked child, which has one thread: the lock may have been held
 * by a thread that did not survive, and the key is the parent's.
 */
void util_fork_child(void)
{
	pthread_mutex_init(&rng_lock, NULL);
	rng_seeded = false;
}

/*
 * A fast pseudo-random number for choices that need not be secret (where
 * a new slab starts in its cache's random sequence): xorshift64*, one
 * state per thread, seeded from uslab_getrandom() on first use (no
 * system call: the process's key stream).
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

/* Nanoseconds on the monotonic clock (deadlines, debug tracks). */
uint64_t uslab_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- Small sysfs files -------------------------------------------------- */

/* Read a small sysfs file into @buf as a string; its length, or -1. */
ssize_t uslab_read_file(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)len < size - 1 &&
	       (n = read(fd, buf + len, size - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return len;
}

/*
 * One range of a kernel list ("0-3,8,10-11"): [*lo, *hi] and the rest of
 * the list, or NULL at its end or at anything that is not a range.
 */
const char *uslab_next_range(const char *s, long *lo, long *hi)
{
	char *end;

	while (*s == ',')
		s++;
	if (*s < '0' || *s > '9')
		return NULL;
	*lo = strtol(s, &end, 10);
	*hi = *lo;
	if (*end == '-') {
		s = end + 1;
		if (*s < '0' || *s > '9')
			return NULL;
		*hi = strtol(s, &end, 10);
	}
	return *hi >= *lo ? end : NULL;
}
