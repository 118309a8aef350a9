// SPDX-License-Identifier: MIT
/*
 * A program built with USLAB_INLINE against the installed headers and
 * library, as a user builds one (tests/api/test_inline_link.sh links it
 * in several ways).  Exits 0 and prints "ok" when the inline fast path
 * saw the layout the library published and everything balanced.
 */
#define USLAB_INLINE 1
#include <stdio.h>
#include <string.h>

#include <uslab/slab.h>
#include <uslab/stats.h>

#define N 256

int main(void)
{
	struct kmem_cache *s = kmem_cache_create("inline-user", 64, 0, 0, NULL);
	struct uslab_cache_info info;
	void *p[N];
	int i;

	if (!s)
		return 2;
	for (i = 0; i < N; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		if (!p[i])
			return 3;
		memset(p[i], i, 64);
	}
	/*
	 * What this program reads is what the library wrote, even where
	 * the link gave the program a copy of its own (a copy relocation).
	 */
	if (!__uslab_fast_now.size ||
	    (unsigned long)p[0] - (unsigned long)__uslab_fast_now.base >=
		    __uslab_fast_now.size ||
	    __uslab_view_cache(__uslab_view_of(p[0])) != s) {
		fprintf(stderr, "user: the published layout is not seen\n");
		return 4;
	}
	for (i = 0; i < N; i++)
		kmem_cache_free(s, p[i]);
	kmem_cache_free(s, (char *)p[1] + 8); /* reported: not an object */
	if (uslab_cache_info(s, &info) || info.bad_frees != 1 ||
	    info.allocs != info.frees) {
		fprintf(stderr, "user: bad_frees %lu, allocs %lu, frees %lu\n",
			info.bad_frees, info.allocs, info.frees);
		return 5;
	}
	kmem_cache_destroy(s);
	puts("ok");
	return 0;
}
