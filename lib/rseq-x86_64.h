/* SPDX-License-Identifier: MIT */
/*
 * rseq-x86_64.h - the library's restartable sequences on x86-64 beyond
 * the fast path's pop and push, which <uslab/fastpath.h> holds (with the
 * descriptor and abort macros, the design of a section and its memory
 * ordering, and __uslab_cpu_start()): the cpu_id read and the take.
 * Another architecture adds its sections to <uslab/fastpath.h> and an
 * rseq-<arch>.h with these; nothing else in lib/ holds asm.
 *
 * The sections read the magazine through fixed offsets, checked by
 * BUILD_BUG_ON in magazine.c: rounds at 0, capacity at 8, objs[] at 32.
 * The rounds word also counts the push sections' commits in its bits
 * from MAG_ROUNDS_BITS (16) up (struct magazine in internal.h).
 */
#ifndef USLAB_RSEQ_X86_64_H
#define USLAB_RSEQ_X86_64_H

#include <uslab/fastpath.h>

#define RSEQ_SIG 0x53053053 /* as glibc's <sys/rseq.h>: __USLAB_RSEQ_SIG */
#define RSEQ_OK __USLAB_RSEQ_OK
#define RSEQ_SLOW __USLAB_RSEQ_SLOW
#define RSEQ_ABORTED __USLAB_RSEQ_ABORTED

/*
 * CPU number the kernel keeps in the area (cpu_id), zero-extended to a
 * word: when unregistered the kernel's -1 or -2 becomes a number above
 * any CPU's, which percpu_thread_cpu()'s bounds check turns into "no
 * CPU".  volatile: read afresh on every call (the kernel rewrites it on
 * migration).  No "memory" clobber: nothing the compiler keeps in
 * registers depends on it, and a clobber would make every caller reload
 * the cache's fields after it.
 */
static inline unsigned long rseq_cpu_id(long off)
{
	unsigned long cpu;

	/* A 32-bit load clears the register's upper half. */
	__asm__ __volatile__("movl %%fs:4(%1), %k0" : "=r"(cpu) : "r"(off));
	return cpu;
}

/* The fast paths' CPU number (see __uslab_cpu_start()). */
static inline unsigned long rseq_cpu_start(long off)
{
	return __uslab_cpu_start(off);
}

/* Address of the thread's static TLS block base (the thread pointer). */
static inline char *rseq_thread_pointer(void)
{
	char *tp;

	__asm__("movq %%fs:0, %0" : "=r"(tp));
	return tp;
}

/*
 * Take: move *@slotp to *@outp and commit @none (a pointer no section
 * pushes to or pops from) to *@slotp.  After it, no section on @cpu can
 * reach the magazine: the caller owns it.
 */
static __attribute__((always_inline)) inline int
rseq_take(long off, unsigned long cpu, void *slotp, void *outp, void *none)
{
	void *m;

	__asm__ __volatile__ goto(
		__USLAB_RSEQ_CS_DESC "movq (%[slot]), %[m]\n\t"
				     "movq %[m], (%[out])\n\t"
				     "movq %[none], (%[slot])\n\t" /* commit */
		__USLAB_RSEQ_ABORT
		: [m] "=&r"(m)
		: [off] "r"(off), [cpu] "r"(cpu), [slot] "r"(slotp),
		  [out] "r"(outp), [none] "r"(none)
		: "memory", "cc"
		: aborted);
	return RSEQ_OK;
aborted:
	return RSEQ_ABORTED;
}

#endif /* USLAB_RSEQ_X86_64_H */
