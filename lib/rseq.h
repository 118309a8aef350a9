/* SPDX-License-Identifier: MIT */
/*
 * rseq.h - picks the architecture's restartable sequences.  The fast
 * path's (__uslab_cpu_start(), __uslab_rseq_pop() and _push()) are in
 * <uslab/fastpath.h>, with a stand-in that always aborts where there are
 * none; each rseq-<arch>.h adds RSEQ_SIG, rseq_cpu_id(), rseq_cpu_start(),
 * rseq_thread_pointer() and rseq_take() (see rseq-x86_64.h).
 */
#ifndef USLAB_RSEQ_H
#define USLAB_RSEQ_H

#include <uslab/fastpath.h>

#ifdef __USLAB_RSEQ_X86_64
#include "rseq-x86_64.h"
#else
/* No sections written for this architecture: percpu_init() picks lock. */
#define RSEQ_ARCH_NONE 1
#define RSEQ_SIG 0
#define RSEQ_OK __USLAB_RSEQ_OK
#define RSEQ_SLOW __USLAB_RSEQ_SLOW
#define RSEQ_ABORTED __USLAB_RSEQ_ABORTED
static inline unsigned long rseq_cpu_id(long off)
{
	(void)off;
	return ~0ul;
}
static inline unsigned long rseq_cpu_start(long off)
{
	return __uslab_cpu_start(off);
}
static inline char *rseq_thread_pointer(void)
{
	return NULL;
}
static inline int rseq_take(long o, unsigned long c, void *l, void *p, void *n)
{
	(void)o;
	(void)c;
	(void)l;
	(void)p;
	(void)n;
	return RSEQ_ABORTED;
}
#endif

#endif /* USLAB_RSEQ_H */
