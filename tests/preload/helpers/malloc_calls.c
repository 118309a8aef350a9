// SPDX-License-Identifier: MIT
/*
 * Run under libuslab-malloc.so by tests/preload/test_preload.c: every
 * allocation entry point, their limits and alignment, threads started
 * from a constructor (before main, so before any program code could
 * wait for the allocator), threads that exit with memory other threads
 * free, and fork.  Prints one line per failed check on stdout and
 * "done <checks>" at the end; exits 0 only if every check passed.
 * Argument: "uslab" (the allocator must be uslab's: usable sizes are
 * its size classes) or "any".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int checks, failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failed++;                                              \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                              \
	} while (0)

#define ALIGNED(p, a) (((uintptr_t)(p) & ((a)-1)) == 0)

/* ---- A thread started before main ---------------------------------- */

static pthread_t early;
static void *early_blocks[1000];

static void *early_main(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++) {
		early_blocks[i] = malloc((size_t)i * 7 + 1);
		memset(early_blocks[i], i & 0xff, (size_t)i * 7 + 1);
	}
	return NULL;
}

__attribute__((constructor)) static void start_early(void)
{
	pthread_create(&early, NULL, early_main, NULL);
}

/* ---- Entry points ---------------------------------------------------- */

static void entry_points(int uslab)
{
	size_t sizes[] = { 1,	 8,    9,      100,	      192,    1000,
			   8192, 8193, 100000, (2 << 20) + 1, 6 << 20 };
	size_t aligns[] = { 8,	  16,	32,    64,	128,	256,
			    4096, 8192, 65536, 1 << 21, 1 << 22 };
	volatile size_t half = SIZE_MAX / 2, odd_align = 24;
	unsigned int i, j;
	void *p, *q;
	char *s;

	free(NULL);
	p = malloc(0);
	CHECK(p != NULL);
	free(p);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t k, usable;

		p = malloc(sizes[i]);
		CHECK(p && malloc_usable_size(p) >= sizes[i]);
		memset(p, 0x5a, malloc_usable_size(p));
		free(p);
		/* Most likely the same block again: all of it zeroed. */
		p = calloc(sizes[i], 1);
		CHECK(p);
		usable = malloc_usable_size(p);
		for (k = 0; k < usable && !((char *)p)[k]; k++)
			;
		CHECK(k == usable);
		free(p);
	}
	if (uslab) {
		/*
		 * uslab's malloc classes, not glibc's chunk sizes: four per
		 * power of two (eight from 1 to 8 KiB), multiples of 16, up
		 * to 14 KiB; then page blocks.  16-aligned from 9 bytes on; realloc() within
		 * the class keeps the block.
		 */
		static const size_t want[][2] = {
			{ 1, 8 },	 { 9, 16 },	   { 33, 48 },
			{ 100, 112 },	 { 150, 160 },	   { 200, 224 },
			{ 1032, 1152 },	 { 4104, 4608 },   { 4368, 4608 },
			{ 4609, 5120 },	 { 7424, 7680 },   { 7681, 8192 },
			{ 9064, 10240 }, { 14336, 14336 }, { 14337, 16384 },
		};

		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			uintptr_t was;
			size_t u;

			p = malloc(want[i][0]);
			u = malloc_usable_size(p); /* glibc: the check fails */
			CHECK(u == want[i][1]);
			CHECK(want[i][0] < 9 || ALIGNED(p, 16));
			memset(p, 7, u);
			was = (uintptr_t)p;
			p = realloc(p, u);
			CHECK((uintptr_t)p == was);
			q = realloc(p, u + 1);
			CHECK(q && (uintptr_t)q != was &&
			      ((char *)q)[u - 1] == 7);
			free(q);
		}
		/* A block shrunk below half its class moves to a smaller one. */
		p = malloc(5000);
		memset(p, 3, 5000);
		q = realloc(p, 100);
		CHECK(q && malloc_usable_size(q) == 112 &&
		      ((char *)q)[99] == 3);
		free(q);
	}
	CHECK(malloc_usable_size(NULL) == 0);

	/* Overflow (volatile: the compiler would refuse the constants). */
	errno = 0;
	CHECK(calloc(half, 3) == NULL && errno == ENOMEM);
	CHECK(reallocarray(NULL, half, 3) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(malloc(half * 2 - 100) == NULL && errno == ENOMEM);

	/* realloc keeps the contents through every kind of memory. */
	s = NULL;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t keep = i ? sizes[i - 1] : 0, k;

		s = realloc(s, sizes[i]);
		CHECK(s != NULL);
		for (k = 0; k < keep; k += 97)
			if ((unsigned char)s[k] != (unsigned char)(k * 3))
				break;
		CHECK(k >= keep);
		for (k = 0; k < sizes[i]; k++)
			s[k] = (char)(k * 3);
	}
	s = realloc(s, 10); /* shrink */
	CHECK(s && s[9] == 27);
	CHECK(realloc(s, 0) == NULL); /* glibc: frees, gives NULL */
	p = reallocarray(NULL, 10, 10);
	CHECK(p && malloc_usable_size(p) >= 100);
	free(p);

	/* Alignment, every entry point. */
	for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			size_t a = aligns[i], n = sizes[j];

			CHECK(posix_memalign(&p, a, n) == 0 && ALIGNED(p, a));
			CHECK(malloc_usable_size(p) >= n);
			memset(p, 1, n);
			free(p);
			p = aligned_alloc(a, n);
			CHECK(p && ALIGNED(p, a));
			free(p);
			p = memalign(a, n);
			CHECK(p && ALIGNED(p, a));
			free(p);
		}
	}
	CHECK(posix_memalign(&p, 24, 8) == EINVAL);
	CHECK(posix_memalign(&p, 4, 8) == EINVAL);
	/*
	 * glibc 2.36's aligned_alloc, like memalign, rounds 24 up to 32
	 * (volatile: clang refuses the constant).
	 */
	p = aligned_alloc(odd_align, 8);
	CHECK(p && ALIGNED(p, 32));
	free(p);
	p = memalign(odd_align, 8);
	CHECK(p && ALIGNED(p, 32));
	free(p);
	p = valloc(100);
	CHECK(p && ALIGNED(p, 4096));
	free(p);
	p = pvalloc(100);
	CHECK(p && ALIGNED(p, 4096) && malloc_usable_size(p) >= 4096);
	free(p);
	q = malloc(64);
	CHECK(q != NULL);
	free(q);
}

/* ---- Threads that exit, freeing each other's memory ------------------ */

#define NTHREADS 16 /* far more than the cores */
#define PER_THREAD 20000

static void *passed[NTHREADS][64];

static void *churn(void *arg)
{
	long id = (long)arg;
	unsigned int seed = (unsigned int)id * 7919u + 1;
	void *mine[256] = { 0 };
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		unsigned int k = (unsigned int)rand_r(&seed) % 256;
		size_t n = (size_t)rand_r(&seed) % 3000 + 1;

		free(mine[k]);
		mine[k] = malloc(n);
		if (!mine[k])
			return (void *)1;
		memset(mine[k], (int)id, n);
	}
	/* Hand some to the next thread; free the rest here. */
	for (i = 0; i < 256; i++) {
		if (i < 64)
			passed[id][i] = mine[i];
		else
			free(mine[i]);
	}
	return NULL;
}

static void threads(void)
{
	pthread_t t[NTHREADS];
	void *ret;
	long i;
	int j, bad = 0;

	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, churn, (void *)i);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &ret);
		bad += ret != NULL;
	}
	CHECK(bad == 0);
	for (i = 0; i < NTHREADS; i++)
		for (j = 0; j < 64; j++)
			free(passed[i][j]); /* their threads are gone */
}

/* ---- fork ------------------------------------------------------------- */

static void *forker_noise(void *arg)
{
	volatile int *stop = arg;

	while (!*stop)
		free(malloc(rand() % 5000 + 1));
	return NULL;
}

static void forks(void)
{
	volatile int stop = 0;
	pthread_t noise;
	void *big = malloc(3 << 20), *small = malloc(50);
	int i, ok = 0;

	/* Another thread allocates all along: fork() catches it anywhere. */
	pthread_create(&noise, NULL, forker_noise, (void *)&stop);
	for (i = 0; i < 50; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			void *p[100];
			int k;

			for (k = 0; k < 100; k++)
				p[k] = malloc((size_t)k * 100 + 1);
			for (k = 0; k < 100; k++)
				free(p[k]);
			free(big);
			free(small);
			_exit(0);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	stop = 1;
	pthread_join(noise, NULL);
	CHECK(ok == 50);
	free(big);
	free(small);
}

/*
 * "hold": 5000 objects of 128 bytes and one of 5 MiB stay allocated
 * until stdin closes, for uslab-slabtop -p to see.
 */
static void *volatile big_held; /* the compiler may not drop it */

static int hold(void)
{
	static void *held[5000];
	char buf[64];
	int i;

	big_held = malloc(5 << 20);
	for (i = 0; i < 5000; i++)
		held[i] = malloc(128);
	printf("holding\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	for (i = 0; i < 5000; i++)
		free(held[i]);
	free(big_held);
	return 0;
}

int main(int argc, char **argv)
{
	int uslab = argc > 1 && !strcmp(argv[1], "uslab");
	int i, bad = 0;

	if (argc > 1 && !strcmp(argv[1], "hold"))
		return hold();

	pthread_join(early, NULL);
	for (i = 0; i < 1000; i++) {
		unsigned char *b = early_blocks[i];

		bad += !b || b[i * 7] != (unsigned char)(i & 0xff);
		free(b);
	}
	CHECK(bad == 0);
	if (uslab) /* libuslab-malloc.so is there, with the kmalloc API */
		CHECK(dlsym(RTLD_DEFAULT, "kmalloc") != NULL);
	entry_points(uslab);
	threads();
	forks();
	printf("done %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
