// SPDX-License-Identifier: MIT
/*
 * A user's program with one memory bug, for tests/api/test_memtools.sh,
 * which builds it (plain, and with -fsanitize=address) against the
 * library as a user would and runs it under the tool that must see the
 * bug.  argv[1] picks the bug:
 *
 *   clean     none
 *   leak      an object allocated and forgotten
 *   uaf       an object written and read after kmem_cache_free()
 *   overflow  a read of the byte just past a 36-byte object, in the 4
 *             bytes of padding its 40-byte slot has
 *   never     a read of a neighbouring slot of a new cache's slab, which
 *             the program never allocated
 *   uninit    a branch on an object's bytes that nobody wrote
 *   double    an object freed twice (by double_free(), exported so
 *             that a build with -rdynamic lets dladdr() name it)
 */
#include <stdio.h>
#include <string.h>

#include <uslab/slab.h>

/* Keep the compiler from proving anything about the accesses. */
static volatile unsigned char sink;
static void *volatile keep;

static void leak(struct kmem_cache *c)
{
	keep = kmem_cache_alloc(c, GFP_KERNEL);
	keep = NULL;
}

static void uaf(struct kmem_cache *c)
{
	unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);

	memset(p, 1, 36);
	kmem_cache_free(c, p);
	p[8] = 2;
	sink = p[8];
}

static void overflow(struct kmem_cache *c)
{
	unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);

	memset(p, 1, 36);
	sink = p[36];
	kmem_cache_free(c, p);
}

static void never(void)
{
	struct kmem_cache *c = kmem_cache_create("fresh", 36, 0, 0, NULL);
	unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);
	unsigned long off = (unsigned long)p % 4096;

	/*
	 * A 4 KiB slab of 102 40-byte slots from its first byte: the next
	 * slot, or the previous one at the end of the page.
	 */
	sink = off + 80 <= 4080 ? p[40] : p[-40];
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
}

static void uninit(struct kmem_cache *c)
{
	unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);

	if (p[3] == 42)
		puts("forty-two");
	kmem_cache_free(c, p);
}

void double_free(struct kmem_cache *c);

__attribute__((noinline)) void double_free(struct kmem_cache *c)
{
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	kmem_cache_free(c, p);
	kmem_cache_free(c, p);
}

int main(int argc, char **argv)
{
	struct kmem_cache *c = kmem_cache_create("user", 36, 0, 0, NULL);
	const char *what = argc > 1 ? argv[1] : "clean";
	void *warm[64];
	int i;

	/* A warm cache, as in a real program: objects that went round. */
	for (i = 0; i < 64; i++)
		warm[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (i = 0; i < 64; i++)
		kmem_cache_free(c, warm[i]);

	if (!strcmp(what, "leak"))
		leak(c);
	else if (!strcmp(what, "uaf"))
		uaf(c);
	else if (!strcmp(what, "overflow"))
		overflow(c);
	else if (!strcmp(what, "never"))
		never();
	else if (!strcmp(what, "uninit"))
		uninit(c);
	else if (!strcmp(what, "double"))
		double_free(c);
	else if (strcmp(what, "clean"))
		return 2;
	if (strcmp(what, "leak"))
		kmem_cache_destroy(c);
	return 0;
}
