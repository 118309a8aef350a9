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
 * which returns RSEQ_ABORTED: nothing was published, and the caller
 * starts over (rseq_take) or leaves the operation to the locked slow
 * path (pop and push).  So a section runs as if atomic with respect to
 * every other section on the same CPU, without a lock or an atomic
 * read-modify-write.
 *
 * Memory ordering: x86-64 is TSO; loads are not reordered with loads nor
 * stores with stores, so the committing store publishes the slot write
 * before it (push), and the pop's loads see what earlier sections on this
 * CPU committed.  Code that moves a magazine between CPUs goes through a
 * mutex or membarrier(), which order the rest (see magazine.c).
 *
 * The sections read the magazine through fixed offsets, checked by
 * BUILD_BUG_ON in magazine.c: rounds at 0, capacity at 8, objs[] at 32.
 * The rounds word also counts the push sections' commits in its bits
 * from MAG_ROUNDS_BITS (16) up (struct magazine in internal.h).
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
#define RSEQ_ABORTED (-1) /* preempted, migrated or signalled */

/* Descriptor 3, start 1, post-commit 2, abort 4 (local labels). */
#define __RSEQ_CS_DESC                       \
	".pushsection __rseq_cs, \"aw\"\n\t" \
	".balign 32\n\t"                     \
	"3:\n\t"                             \
	".long 0x0, 0x0\n\t"                 \
	".quad 1f, (2f - 1f), 4f\n\t"        \
	".popsection\n\t"                    \
	"leaq 3b(%%rip), %[m]\n\t"           \
	"movq %[m], %%fs:8(%[off])\n\t"      \
	"1:\n\t"                             \
	"cmpl %k[cpu], %%fs:4(%[off])\n\t"   \
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
 * m = *loaded; w = its rounds word; r = the rounds in it (the low 16
 * bits).  The pointer is never NULL: a slot with no magazine holds
 * mag_none (internal.h), whose rounds and capacity are 0, so the pop's
 * and push's own tests send it to @slow.  The word is loaded and stored
 * whole: a narrower store followed by a wider load of the same word
 * would stall store-to-load forwarding on the next section.
 */
#define __RSEQ_LOAD_MAG              \
	"movq (%[loaded]), %[m]\n\t" \
	"movq (%[m]), %[w]\n\t"      \
	"movzwl %w[w], %k[r]\n\t"

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

/*
 * The fast paths' CPU number: the area's cpu_id_start, which is always a
 * CPU the kernel has (below nr_cpu_ids, rseq.c) and 0 when the area is
 * not registered (the TLS image, or glibc's area after a failed
 * registration), so callers index their per-CPU arrays with it without a
 * bounds check.  The section's first test compares it with cpu_id, which
 * an unregistered area holds at -1 or -2: such a thread aborts every
 * section and so takes the slow paths, as lock mode does.  When
 * registered the two fields are equal outside the kernel's updates, and
 * a migration after this load aborts the section as any migration does.
 */
static inline unsigned long rseq_cpu_start(long off)
{
	unsigned long cpu;

	__asm__ __volatile__("movl %%fs:0(%1), %k0" : "=r"(cpu) : "r"(off));
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
 * Pop: if *@loadedp has rounds > 0, store its top object in *@objp and
 * commit the word less 1 (rounds 0 borrows on the subtraction: slow;
 * otherwise the pushes above are untouched).  The pop's loads (slot
 * pointer, rounds, object) all happen inside the section, so a magazine
 * swapped out under us cannot hand out a stale object (no ABA).
 */
static __attribute__((always_inline)) inline int
rseq_mag_pop(long off, unsigned long cpu, void *loadedp, void **objp)
{
	void *obj, *m;
	long w;

	/*
	 * Outputs of asm goto are valid on the fall-through (commit) path;
	 * m and w are scratch registers, left for the compiler to choose,
	 * and r holds the index, then the object it loads (one register
	 * fewer: kmem_cache_alloc_node() would otherwise save one on the
	 * stack).
	 */
	__asm__ __volatile__ goto(
		__RSEQ_CS_DESC __RSEQ_LOAD_MAG
		"subq $1, %[r]\n\t"
		"jc %l[slow]\n\t"
		"movq 32(%[m],%[r],8), %[r]\n\t"
		"subq $1, %[w]\n\t"
		"movq %[w], (%[m])\n\t" /* commit */
		__RSEQ_ABORT
		: [r] "=&r"(obj), [m] "=&r"(m), [w] "=&r"(w)
		: [off] "r"(off), [cpu] "r"(cpu), [loaded] "r"(loadedp)
		: "memory", "cc"
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
 * for the object's node) has room (mag_none has none), and its top
 * object is not @obj (the naive double free, left to the slow path),
 * write @obj into the next slot and commit the word plus one round and
 * one counted push (MAG_PUSH): the count costs no store of its own, and
 * an aborted section counts nothing.  With no rounds the "top object"
 * read is objs[-1], the magazine's node: a small number, never an
 * object's address, so an empty magazine needs no test of its own.  The
 * slot write before the commit is invisible until the commit: a section
 * aborted after it leaves only a dead slot above rounds.  The caller
 * picked the magazine pointer by node for @cpu, and a slot's magazines
 * are always of the node it serves (magazine.c), so the section need
 * not look at the magazine's node.
 */
static __attribute__((always_inline)) inline int
rseq_mag_push(long off, unsigned long cpu, void *loadedp, void *obj)
{
	void *m;
	long w, r;

	__asm__ __volatile__ goto(
		__RSEQ_CS_DESC __RSEQ_LOAD_MAG
		"cmpq 8(%[m]), %[r]\n\t"
		"jae %l[slow]\n\t"
		"cmpq %[obj], 24(%[m],%[r],8)\n\t"
		"je %l[slow]\n\t"
		"movq %[obj], 32(%[m],%[r],8)\n\t"
		"addq %[inc], %[w]\n\t"
		"movq %[w], (%[m])\n\t" /* commit */
		__RSEQ_ABORT
		: [m] "=&r"(m), [w] "=&r"(w), [r] "=&r"(r)
		: [off] "r"(off), [cpu] "r"(cpu), [loaded] "r"(loadedp),
		  [obj] "r"(obj), [inc] "i"(MAG_PUSH + 1)
		: "memory", "cc"
		: aborted, slow);
	return RSEQ_OK;
slow:
	return RSEQ_SLOW;
aborted:
	return RSEQ_ABORTED;
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
		__RSEQ_CS_DESC "movq (%[slot]), %[m]\n\t"
			       "movq %[m], (%[out])\n\t"
			       "movq %[none], (%[slot])\n\t" /* commit */
		__RSEQ_ABORT
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
