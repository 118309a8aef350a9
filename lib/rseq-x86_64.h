/* SPDX-License-Identifier: MIT */
/*
 * rseq-x86_64.h - the restartable sequences of the magazine fast path,
 * for x86-64.  Another architecture adds an rseq-<arch>.h with the same
 * four functions and RSEQ_SIG; nothing else in lib/ holds asm.
 *
 * Each function is one critical section on the thread's registered rseq
 * area, found at %fs:@off (glibc's __rseq_offset, or our own area's
 * offset from the thread pointer).  The section first checks that the
 * thread still runs on @cpu, the CPU whose slot it indexed, and ends with
 * a single committing store.  If the thread is preempted, migrated or
 * signalled before that store, the kernel moves it to the abort handler,
 * which returns RSEQ_ABORTED: nothing was published and the caller starts
 * over.  So a section runs as if atomic with respect to every other
 * section on the same CPU, without a lock or an atomic read-modify-write.
 *
 * Memory ordering: x86-64 is TSO; loads are not reordered with loads nor
 * stores with stores, so the committing store publishes the slot write
 * before it (push), and the pop's loads see what earlier sections on this
 * CPU committed.  Code that moves a magazine between CPUs goes through a
 * mutex or membarrier(), which order the rest (see magazine.c).
 *
 * The sections read the magazine through fixed offsets, checked by
 * BUILD_BUG_ON in magazine.c: rounds at 0, capacity at 8, node at 24,
 * objs[] at 32; and the slot's counters: allocs at 16, frees at 24.
 *
 * Layout follows the kernel ABI: struct rseq_cs {u32 version, flags;
 * u64 start_ip, post_commit_offset, abort_ip} aligned 32 in __rseq_cs;
 * the abort handler is preceded by the 4-byte signature the area was
 * registered with, encoded in a ud1 instruction so it never executes.
 */
#ifndef USLAB_RSEQ_X86_64_H
#define USLAB_RSEQ_X86_64_H

#define RSEQ_SIG 0x53053053 /* glibc's and librseq's x86 value */

#define RSEQ_OK 0
#define RSEQ_SLOW 1 /* magazine absent, empty or full */
#define RSEQ_ABORTED (-1) /* preempted or migrated: retry */

/* Descriptor 3, start 1, post-commit 2, abort 4 (local labels). */
#define __RSEQ_CS_DESC                       \
	".pushsection __rseq_cs, \"aw\"\n\t" \
	".balign 32\n\t"                     \
	"3:\n\t"                             \
	".long 0x0, 0x0\n\t"                 \
	".quad 1f, (2f - 1f), 4f\n\t"        \
	".popsection\n\t"                    \
	"leaq 3b(%%rip), %%rax\n\t"          \
	"movq %%rax, %%fs:8(%[off])\n\t"     \
	"1:\n\t"                             \
	"cmpl %[cpu], %%fs:4(%[off])\n\t"    \
	"jnz %l[aborted]\n\t"

#define __RSEQ_ABORT                              \
	"2:\n\t"                                  \
	".pushsection __rseq_failure, \"ax\"\n\t" \
	".byte 0x0f, 0xb9, 0x3d\n\t"              \
	".long 0x53053053\n\t"                    \
	"4:\n\t"                                  \
	"jmp %l[aborted]\n\t"                     \
	".popsection\n\t"

/*
 * CONFIG_STATS: add 1 to a per-CPU counter, just after the commit and so
 * outside the section: an add inside it would count twice when the
 * section aborts after it and restarts.  A plain add, no lock prefix:
 * only a thread preempted between the commit and this add and moved to
 * another CPU can race with that CPU's own adds (and lose one).  The pop
 * counts at @off bytes from its slot (kmem_cache_cpu.allocs); the push
 * at the address it is given (kmem_cache_cpu.frees, or an alien slot's).
 */
#ifdef CONFIG_STATS
#define __RSEQ_COUNT(off) "addq $1, " #off "(%[loaded])\n\t"
#define __RSEQ_COUNT_AT "addq $1, (%[ctr])\n\t"
#else
#define __RSEQ_COUNT(off) ""
#define __RSEQ_COUNT_AT ""
#endif

/* rax = *loaded; to @slow if there is no magazine; rcx = its rounds. */
#define __RSEQ_LOAD_MAG               \
	"movq (%[loaded]), %%rax\n\t" \
	"testq %%rax, %%rax\n\t"      \
	"jz %l[slow]\n\t"             \
	"movq (%%rax), %%rcx\n\t"

/* CPU number the kernel keeps in the area; negative when unregistered. */
static inline int rseq_cpu_id(long off)
{
	int cpu;

	__asm__ __volatile__("movl %%fs:4(%1), %0"
			     : "=r"(cpu)
			     : "r"(off)
			     : "memory");
	return cpu;
}

/* Address of the thread's static TLS block base (the thread pointer). */
static inline char *rseq_thread_pointer(void)
{
	char *tp;

	__asm__("movq %%fs:0, %0" : "=r"(tp));
	return tp;
}

/*
 * Pop: if *@loadedp is a magazine with rounds > 0, store its top object
 * in *@objp and commit rounds - 1.  The pop's loads (slot pointer,
 * rounds, object) all happen inside the section, so a magazine swapped
 * out under us cannot hand out a stale object (no ABA).
 */
static __attribute__((always_inline)) inline int
rseq_mag_pop(long off, int cpu, void *loadedp, void **objp)
{
	void *obj;

	/* An output of asm goto: valid on the fall-through (commit) path. */
	__asm__ goto(__RSEQ_CS_DESC __RSEQ_LOAD_MAG
		     "testq %%rcx, %%rcx\n\t"
		     "jz %l[slow]\n\t"
		     "subq $1, %%rcx\n\t"
		     "movq 32(%%rax,%%rcx,8), %[obj]\n\t"
		     "movq %%rcx, (%%rax)\n\t" /* commit */
		     __RSEQ_ABORT __RSEQ_COUNT(16)
		     : [obj] "=&r"(obj)
		     : [off] "r"(off), [cpu] "r"(cpu), [loaded] "r"(loadedp)
		     : "memory", "cc", "rax", "rcx"
		     : aborted, slow);
	*objp = obj;
	return RSEQ_OK;
slow:
	return RSEQ_SLOW;
aborted:
	return RSEQ_ABORTED;
}

/*
 * Push: if *@loadedp (the CPU's loaded magazine, or its alien magazine
 * for @node) is a magazine of node @node with room, and its top object
 * is not @obj (the naive double free, left to the slow path to report),
 * write @obj into the next slot, commit rounds + 1, and count at @ctr.
 * The slot write before the commit is invisible until the commit: a
 * section aborted after it leaves only a dead slot above rounds.  A
 * magazine of another node sends the object to the slow path.
 */
static __attribute__((always_inline)) inline int
rseq_mag_push(long off, int cpu, void *loadedp, void *obj, long node,
	      unsigned long *ctr)
{
	__asm__ goto(__RSEQ_CS_DESC __RSEQ_LOAD_MAG
		     "cmpq %[node], 24(%%rax)\n\t"
		     "jne %l[slow]\n\t"
		     "cmpq 8(%%rax), %%rcx\n\t"
		     "jae %l[slow]\n\t"
		     "testq %%rcx, %%rcx\n\t"
		     "jz 5f\n\t"
		     "cmpq %[obj], 24(%%rax,%%rcx,8)\n\t"
		     "je %l[slow]\n\t"
		     "5:\n\t"
		     "movq %[obj], 32(%%rax,%%rcx,8)\n\t"
		     "addq $1, %%rcx\n\t"
		     "movq %%rcx, (%%rax)\n\t" /* commit */
		     __RSEQ_ABORT __RSEQ_COUNT_AT
		     :
		     : [off] "r"(off), [cpu] "r"(cpu), [loaded] "r"(loadedp),
		       [obj] "r"(obj), [node] "r"(node), [ctr] "r"(ctr)
		     : "memory", "cc", "rax", "rcx"
		     : aborted, slow);
	return RSEQ_OK;
slow:
	return RSEQ_SLOW;
aborted:
	return RSEQ_ABORTED;
}

/*
 * Take: move *@slotp to *@outp and commit NULL to *@slotp.  After it,
 * no section on @cpu can reach the magazine: the caller owns it.
 */
static __attribute__((always_inline)) inline int
rseq_take(long off, int cpu, void *slotp, void *outp)
{
	__asm__ goto(__RSEQ_CS_DESC "movq (%[slot]), %%rax\n\t"
				    "movq %%rax, (%[out])\n\t"
				    "movq $0, (%[slot])\n\t" /* commit */
		     __RSEQ_ABORT
		     :
		     : [off] "r"(off), [cpu] "r"(cpu), [slot] "r"(slotp),
		       [out] "r"(outp)
		     : "memory", "cc", "rax"
		     : aborted);
	return RSEQ_OK;
aborted:
	return RSEQ_ABORTED;
}

#endif /* USLAB_RSEQ_X86_64_H */
