// SPDX-License-Identifier: MIT
/*
 * test_kmalloc.c again, built as a program that defines USLAB_INLINE: every
 * kmem_cache_alloc(), kmem_cache_alloc_node(), kmem_cache_free() and
 * kfree() there runs <uslab/fastpath.h>'s inline fast path before the
 * library's function, and the results, reports and statistics must be
 * the same.
 */
#define USLAB_INLINE 1
#include "test_kmalloc.c"

#if defined(__x86_64__) && !defined(__USLAB_INLINE_OK) && \
	!defined(__USLAB_TSAN_BUILD)
#error "USLAB_INLINE has no effect in this build"
#endif
