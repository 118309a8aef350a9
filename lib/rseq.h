/* SPDX-License-Identifier: MIT */
/*
 * rseq.h - picks the architecture's restartable sequences.  Each
 * rseq-<arch>.h provides RSEQ_SIG, rseq_cpu_id(), rseq_cpu_start(),
 * rseq_thread_pointer(), rseq_mag_pop(), rseq_mag_push() and rseq_take()
 * (see rseq-x86_64.h).
 */
#ifndef USLAB_RSEQ_H
#define USLAB_RSEQ_H

#if defined(__x86_64__)
#include "rseq-x86_64.h"
#else
/* No sections written for this architecture: percpu_init() picks lock. */
#define RSEQ_ARCH_NONE 1
#define RSEQ_SIG 0
#define RSEQ_OK 0
#define RSEQ_SLOW 1
#define RSEQ_ABORTED (-1)
static inline unsigned long rseq_cpu_id(long off)
{
	(void)off;
	return ~0ul;
}
static inline unsigned long rseq_cpu_start(long off)
{
	(void)off;
	return 0;
}
static inline char *rseq_thread_pointer(void)
{
	return NULL;
}
static inline int rseq_mag_pop(long o, unsigned long c, void *l, void **p)
{
	(void)o;
	(void)c;
	(void)l;
	(void)p;
	return RSEQ_ABORTED;
}
static inline int rseq_mag_push(long o, unsigned long c, void *l, void *p)
{
	(void)o;
	(void)c;
	(void)l;
	(void)p;
	return RSEQ_ABORTED;
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
