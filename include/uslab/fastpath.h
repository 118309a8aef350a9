/* SPDX-License-Identifier: MIT */
/*
 * uslab/fastpath.h - the per-CPU fast path of kmem_cache_alloc(),
 * kmem_cache_alloc_node() and kmem_cache_free(), as inline code.
 *
 * Not an API of its own: <uslab/slab.h> includes it when the program
 * defines USLAB_INLINE, and the library builds those functions, and
 * kfree(), from the same code.  With USLAB_INLINE the four calls become
 * inline code in the caller (as DPDK's rte_mempool_get() and put are): a pop
 * from, or a push to, this CPU's magazine in one restartable sequence,
 * with the free's ownership and slot checks; whatever that code cannot
 * finish (empty or full magazine, another node, flags, a bad pointer, a
 * preempted or migrated section, lock mode) calls the library's function,
 * which does everything a call without USLAB_INLINE does.  Results,
 * statistics and error reports are the same either way.
 *
 * The price is a tie to the library's layout: the code below reads its
 * caches' per-CPU slots, magazines and page views at the offsets given
 * here.  A program built with USLAB_INLINE refers to the symbol
 * __uslab_fast<N> (N = __USLAB_FAST_ABI); a library whose layout
 * differs exports another N, so such a program fails to link or start
 * with an undefined symbol rather than misread memory.  Rebuild it against the
 * headers of the library it runs with.
 *
 * The sections' descriptors are in the program's own code, and a
 * thread's rseq area may point at one after the call: a shared object
 * built with USLAB_INLINE that may be dlclose()d must be linked with
 * -z nodelete, as libuslab.so is.
 *
 * Only on x86-64 with GCC 11 or clang 11 or later (asm goto with
 * outputs), and not under ThreadSanitizer: elsewhere USLAB_INLINE
 * changes nothing.  Everything here beginning with __uslab or __USLAB is
 * private to uslab.
 */
#ifndef USLAB_FASTPATH_H
#define USLAB_FASTPATH_H

#include <uslab/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kmem_cache;

/*
 * The layout, checked against the library's structures when the library
 * is built.  Any change to a value here must bump __USLAB_FAST_ABI.
 */
#define __USLAB_FAST_ABI 1

/* struct kmem_cache: its per-CPU slots and what the slot check needs. */
#define __USLAB_CACHE_CPU_FAST 0 /* struct kmem_cache_cpu *, [CPUs] */
#define __USLAB_CACHE_SIZE_INV 16 /* uint64_t */
#define __USLAB_CACHE_SIZE_SHIFT 24 /* unsigned int */
#define __USLAB_CACHE_OBJECTS 48 /* unsigned int, slots per slab */

/* struct kmem_cache_cpu, one per CPU, 1 << __USLAB_CPU_SHIFT bytes. */
#define __USLAB_CPU_SHIFT 7
#define __USLAB_CPU_LOADED 0 /* struct magazine *, never NULL */
#define __USLAB_CPU_NODE 8 /* int, the CPU's node */
#define __USLAB_CPU_ALIEN 48 /* struct alien_slot *, [nodes] */
#define __USLAB_ALIEN_SIZE 24 /* sizeof(struct alien_slot) */
#define __USLAB_ALIEN_MAG 0 /* struct magazine *, never NULL */

/* struct slab_view, one per arena page of 1 << __USLAB_PAGE_SHIFT. */
#define __USLAB_PAGE_SHIFT 12
#define __USLAB_VIEW_SHIFT 4 /* 16 bytes */
#define __USLAB_VIEW_CACHE 0 /* struct kmem_cache *, NULL: no slab */
#define __USLAB_VIEW_MEM_NODE 8 /* first slot << 16 | node */
#define __USLAB_VIEW_NODE_BITS 16

/*
 * struct magazine (in the asm below): the rounds word at 0 (rounds in
 * its low 16 bits, the pushes counted above them), capacity at 8, the
 * node at 24 and objs[] from 32.
 */
#define __USLAB_MAG_PUSH (1L << 16)

/*
 * What the library publishes once it has started, for the code below:
 * the offset of the thread's rseq area from the thread pointer, and the
 * arena (its start, its length in bytes, and its page views).  All zero
 * before that, which sends every free to the library.
 */
struct __uslab_fast {
	long rseq_off;
	const char *base;
	unsigned long size;
	const char *views;
};

#define __USLAB_CAT(a, b) a##b
#define __USLAB_XCAT(a, b) __USLAB_CAT(a, b)
#define __uslab_fast_now __USLAB_XCAT(__uslab_fast, __USLAB_FAST_ABI)
extern struct __uslab_fast __uslab_fast_now;

/* The library reads its own variables; a program, the published copy. */
#ifndef __USLAB_RSEQ_OFF
#define __USLAB_RSEQ_OFF (__uslab_fast_now.rseq_off)
#define __USLAB_ARENA_BASE (__uslab_fast_now.base)
#define __USLAB_ARENA_SIZE (__uslab_fast_now.size)
#define __USLAB_ARENA_VIEWS (__uslab_fast_now.views)
#endif

/* What the library tells ThreadSanitizer; nothing in a program. */
#ifndef __USLAB_TSAN_ACQUIRE
#define __USLAB_TSAN_ACQUIRE(p) ((void)(p))
#define __USLAB_TSAN_RELEASE(p) ((void)(p))
#endif

#define __USLAB_AT(p, off, type) (*(type *)((const char *)(p) + (off)))
#define __uslab_likely(x) __builtin_expect(!!(x), 1)
#define __uslab_always_inline __attribute__((always_inline)) inline

/* A section's outcome. */
#define __USLAB_RSEQ_OK 0
#define __USLAB_RSEQ_SLOW 1 /* magazine absent, empty or full */
#define __USLAB_RSEQ_ABORTED (-1) /* preempted, migrated or signalled */

#if defined(__x86_64__) &&                                \
	((defined(__clang__) && __clang_major__ >= 11) || \
	 (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define __USLAB_RSEQ_X86_64 1
#define __USLAB_RSEQ_SIG 0x53053053 /* glibc's and librseq's x86 value */

/*
 * The restartable sequences.  Each is one critical section on the
 * thread's registered rseq area, found at %fs:@off (glibc's
 * __rseq_offset, or the library's own area).  The section first checks
 * that the thread still runs on @cpu, the CPU whose slot it indexed, and
 * ends with a single committing store.  If the thread is preempted,
 * migrated or signalled before that store, the kernel moves it to the
 * abort handler: nothing was published, and the caller leaves the
 * operation to the library's locked slow path.  So a section runs as if
 * atomic with respect to every other section on the same CPU, without a
 * lock or an atomic read-modify-write.
 *
 * Memory ordering: x86-64 is TSO; loads are not reordered with loads nor
 * stores with stores, so the committing store publishes the slot write
 * before it (push), and the pop's loads see what earlier sections on this
 * CPU committed.  Code that moves a magazine between CPUs goes through a
 * mutex or membarrier(), which order the rest (the library's
 * magazine.c).
 *
 * Layout follows the kernel ABI: struct rseq_cs {u32 version, flags;
 * u64 start_ip, post_commit_offset, abort_ip} aligned 32 in __rseq_cs;
 * the abort handler is preceded by the 4-byte signature the area was
 * registered with, encoded in a ud1 instruction so it never executes.
 * Descriptor 3, start 1, post-commit 2, abort 4 (local labels).
 */
#define __USLAB_RSEQ_CS_DESC                 \
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

#define __USLAB_RSEQ_ABORT                        \
	"2:\n\t"                                  \
	".pushsection __rseq_failure, \"ax\"\n\t" \
	".byte 0x0f, 0xb9, 0x3d\n\t"              \
	".long 0x53053053\n\t"                    \
	"4:\n\t"                                  \
	"jmp %l[aborted]\n\t"                     \
	".popsection\n\t"

/*
 * m = *loaded; w = its rounds word; r = the rounds in it (the low 16
 * bits).  The pointer is never NULL: a slot with no magazine holds an
 * empty one with no capacity, so the pop's and push's own tests send it
 * to @slow.  The word is loaded and stored whole: a narrower store
 * followed by a wider load of the same word would stall store-to-load
 * forwarding on the next section.
 */
#define __USLAB_RSEQ_LOAD_MAG        \
	"movq (%[loaded]), %[m]\n\t" \
	"movq (%[m]), %[w]\n\t"      \
	"movzwl %w[w], %k[r]\n\t"

/*
 * The fast paths' CPU number: the area's cpu_id_start, which is always a
 * CPU the kernel has and 0 when the area is not registered, so callers
 * index their per-CPU arrays with it without a bounds check.  The
 * section's first test compares it with cpu_id, which an unregistered
 * area holds at -1 or -2: such a thread aborts every section and so
 * takes the slow paths, as lock mode does.  When registered the two
 * fields are equal outside the kernel's updates, and a migration after
 * this load aborts the section as any migration does.  volatile: read
 * afresh on every call.  No "memory" clobber: nothing the compiler keeps
 * in registers depends on it, and a clobber would make every caller
 * reload the cache's fields after it.
 */
static __uslab_always_inline unsigned long __uslab_cpu_start(long off)
{
	unsigned long cpu;

	__asm__ __volatile__("movl %%fs:0(%1), %k0" : "=r"(cpu) : "r"(off));
	return cpu;
}

/*
 * Pop: if *@loadedp has rounds > 0, store its top object in *@objp and
 * commit the word less 1 (rounds 0 borrows on the subtraction: slow;
 * otherwise the pushes above are untouched).  The pop's loads (slot
 * pointer, rounds, object) all happen inside the section, so a magazine
 * swapped out under us cannot hand out a stale object (no ABA).
 */
static __uslab_always_inline int __uslab_rseq_pop(long off, unsigned long cpu,
						  void *loadedp, void **objp)
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
		__USLAB_RSEQ_CS_DESC __USLAB_RSEQ_LOAD_MAG
		"subq $1, %[r]\n\t"
		"jc %l[slow]\n\t"
		"movq 32(%[m],%[r],8), %[r]\n\t"
		"subq $1, %[w]\n\t"
		"movq %[w], (%[m])\n\t" /* commit */
		__USLAB_RSEQ_ABORT
		: [r] "=&r"(obj), [m] "=&r"(m), [w] "=&r"(w)
		: [off] "r"(off), [cpu] "r"(cpu), [loaded] "r"(loadedp)
		: "memory", "cc"
		: aborted, slow);
	*objp = obj;
	return __USLAB_RSEQ_OK;
slow:
	return __USLAB_RSEQ_SLOW;
aborted:
	return __USLAB_RSEQ_ABORTED;
}

/*
 * Push: if *@loadedp (the CPU's loaded magazine, or its alien magazine
 * for the object's node) has room, and its top object is not @obj (the
 * naive double free, left to the slow path), write @obj into the next
 * slot and commit the word plus one round and one counted push
 * (__USLAB_MAG_PUSH): the count costs no store of its own, and an
 * aborted section counts nothing.  With no rounds the "top object" read
 * is objs[-1], the magazine's node: a small number, never an object's
 * address, so an empty magazine needs no test of its own.  The slot
 * write before the commit is invisible until the commit: a section
 * aborted after it leaves only a dead slot above rounds.  The caller
 * picked the magazine pointer by node for @cpu, and a slot's magazines
 * are always of the node it serves, so the section need not look at the
 * magazine's node.
 */
static __uslab_always_inline int __uslab_rseq_push(long off, unsigned long cpu,
						   void *loadedp, void *obj)
{
	void *m;
	long w, r;

	__asm__ __volatile__ goto(
		__USLAB_RSEQ_CS_DESC __USLAB_RSEQ_LOAD_MAG
		"cmpq 8(%[m]), %[r]\n\t"
		"jae %l[slow]\n\t"
		"cmpq %[obj], 24(%[m],%[r],8)\n\t"
		"je %l[slow]\n\t"
		"movq %[obj], 32(%[m],%[r],8)\n\t"
		"addq %[inc], %[w]\n\t"
		"movq %[w], (%[m])\n\t" /* commit */
		__USLAB_RSEQ_ABORT
		: [m] "=&r"(m), [w] "=&r"(w), [r] "=&r"(r)
		: [off] "r"(off), [cpu] "r"(cpu), [loaded] "r"(loadedp),
		  [obj] "r"(obj), [inc] "i"(__USLAB_MAG_PUSH + 1)
		: "memory", "cc"
		: aborted, slow);
	return __USLAB_RSEQ_OK;
slow:
	return __USLAB_RSEQ_SLOW;
aborted:
	return __USLAB_RSEQ_ABORTED;
}

/* ThreadSanitizer cannot see the sections' ordering: calls there. */
#if defined(__SANITIZE_THREAD__)
#define __USLAB_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define __USLAB_TSAN_BUILD 1
#endif
#endif
#ifndef __USLAB_TSAN_BUILD
#define __USLAB_INLINE_OK 1 /* USLAB_INLINE takes effect */
#endif
#else
/* No sections for this architecture or compiler: the library's locks. */
static __uslab_always_inline unsigned long __uslab_cpu_start(long off)
{
	(void)off;
	return 0;
}

static __uslab_always_inline int __uslab_rseq_pop(long off, unsigned long cpu,
						  void *loadedp, void **objp)
{
	(void)off;
	(void)cpu;
	(void)loadedp;
	(void)objp;
	return __USLAB_RSEQ_ABORTED;
}

static __uslab_always_inline int __uslab_rseq_push(long off, unsigned long cpu,
						   void *loadedp, void *obj)
{
	(void)off;
	(void)cpu;
	(void)loadedp;
	(void)obj;
	return __USLAB_RSEQ_ABORTED;
}
#endif

/* @s's slot for the CPU the rseq area names (__uslab_cpu_start()). */
static __uslab_always_inline char *__uslab_cpu_slot(struct kmem_cache *s,
						    unsigned long cpu)
{
	return __USLAB_AT(s, __USLAB_CACHE_CPU_FAST, char *) +
	       (cpu << __USLAB_CPU_SHIFT);
}

/*
 * Pop from this CPU's loaded magazine, or say no (0): magazine empty or
 * absent, no rseq for this thread, lock mode, @node neither -1
 * (NUMA_NO_NODE) nor this CPU's node, or the kernel aborted the section.
 * The caller then goes to the library's slow path, which gives the same
 * result under the slot's lock.  No loop: an abort is rare.
 */
static __uslab_always_inline int __uslab_alloc_fast(struct kmem_cache *s,
						    int node, void **objp)
{
	long off = __USLAB_RSEQ_OFF;
	unsigned long cpu = __uslab_cpu_start(off);
	char *c = __uslab_cpu_slot(s, cpu);

	/*
	 * A slot's node is its CPU's and never changes, and the section
	 * commits only on @cpu: a popped object is @node's.  -1 first, a
	 * test of the argument alone (kmem_cache_alloc()'s constant -1
	 * folds both): on an AMD EPYC (Zen 4), kmem_cache_alloc_node() for
	 * the CPU's own node then took 1.03 times kmem_cache_alloc()'s time
	 * where the slot's node first took 1.17 (bench/numa).
	 */
	if (node != -1 && node != __USLAB_AT(c, __USLAB_CPU_NODE, int))
		return 0;
	if (__uslab_rseq_pop(off, cpu, c + __USLAB_CPU_LOADED, objp) !=
	    __USLAB_RSEQ_OK)
		return 0;
	__USLAB_TSAN_ACQUIRE(c + __USLAB_CPU_LOADED);
	return 1;
}

/*
 * The mirror: push @obj, a validated slot of @s whose home is @node,
 * into this CPU's loaded magazine, or, when @node is another node's,
 * into this CPU's alien magazine for @node (a remote free, batched for
 * home); or say no (0).  An object of another node never goes into the
 * CPU's own magazines: node-local memory stays local.
 */
static __uslab_always_inline int __uslab_push_fast(struct kmem_cache *s,
						   void *obj, int node)
{
	long off = __USLAB_RSEQ_OFF;
	unsigned long cpu = __uslab_cpu_start(off);
	char *c = __uslab_cpu_slot(s, cpu);
	char *slot;

	/* A slot's node is fixed; its magazines are that node's. */
	if (__uslab_likely(node == __USLAB_AT(c, __USLAB_CPU_NODE, int)))
		slot = c + __USLAB_CPU_LOADED;
	else
		slot = __USLAB_AT(c, __USLAB_CPU_ALIEN, char *) +
		       (unsigned long)node * __USLAB_ALIEN_SIZE +
		       __USLAB_ALIEN_MAG;
	/*
	 * The CPU orders this push before a later pop on it, or before its
	 * owner takes the magazine; ThreadSanitizer cannot see that.
	 */
	__USLAB_TSAN_RELEASE(slot);
	return __uslab_rseq_push(off, cpu, slot, obj) == __USLAB_RSEQ_OK;
}

/*
 * The page view of @p, or NULL outside the arena: one unsigned compare
 * (a pointer below the base wraps to a huge offset).
 */
static __uslab_always_inline const char *__uslab_view_of(const void *p)
{
	unsigned long a = (unsigned long)p - (unsigned long)__USLAB_ARENA_BASE;
	const char *v;

	if (a >= __USLAB_ARENA_SIZE)
		return (const char *)0;
	v = __USLAB_ARENA_VIEWS +
	    ((a >> __USLAB_PAGE_SHIFT) << __USLAB_VIEW_SHIFT);
	if (!v) /* never: the callers' NULL test then costs nothing */
		__builtin_unreachable();
	return v;
}

/*
 * The cache the page view @v names: its slab's while the page belongs to
 * a live slab, NULL otherwise; read once (it changes only when the slab
 * is made or released, never while one of its objects is live).
 */
static __uslab_always_inline struct kmem_cache *
__uslab_view_cache(const char *v)
{
	return *(struct kmem_cache *const volatile *)(v + __USLAB_VIEW_CACHE);
}

/*
 * The index of the slot at byte offset @off from a slab's first slot of
 * @s, for an offset that is a slot's start: the offset times the inverse
 * of the odd part of the slot size, rotated right by the size's power of
 * two.  Any other offset lands on a value no slot index has (at least
 * 2^64 / size), so one compare with the slots per slab tells both.
 */
static __uslab_always_inline unsigned long
__uslab_slot_index(const struct kmem_cache *s, unsigned long off)
{
	unsigned long x = off * __USLAB_AT(s, __USLAB_CACHE_SIZE_INV,
					   const unsigned long);
	unsigned int k =
		__USLAB_AT(s, __USLAB_CACHE_SIZE_SHIFT, const unsigned int);

	return (x >> k) | (x << (-k & 63));
}

/*
 * The slot check of kmem_cache_free(): 1 if @obj, on a page whose view
 * @v names @s, is the start of one of its slab's slots, with the view's
 * node (the object's home) in *@nodep.
 */
static __uslab_always_inline int __uslab_view_slot(const struct kmem_cache *s,
						   const char *v,
						   const void *obj, int *nodep)
{
	unsigned long mem_node =
		__USLAB_AT(v, __USLAB_VIEW_MEM_NODE, const unsigned long);
	unsigned long off =
		(unsigned long)obj - (mem_node >> __USLAB_VIEW_NODE_BITS);

	*nodep = (int)(unsigned short)mem_node;
	return __uslab_slot_index(s, off) <
	       __USLAB_AT(s, __USLAB_CACHE_OBJECTS, const unsigned int);
}

/*
 * kmem_cache_free()'s fast path once @v, @obj's page view, has named @s:
 * @obj must be the start of a slot, then the push.  1 if @obj went into
 * a magazine; 0 leaves it to the slow path, with nothing touched.
 */
static __uslab_always_inline int
__uslab_free_view_fast(struct kmem_cache *s, const char *v, void *obj)
{
	int node;

	return __uslab_likely(__uslab_view_slot(s, v, obj, &node)) &&
	       __uslab_likely(__uslab_push_fast(s, obj, node));
}

/* The whole of kmem_cache_free()'s fast path: 1 if @obj was put away. */
static __uslab_always_inline int __uslab_free_fast(struct kmem_cache *s,
						   void *obj)
{
	const char *v;

	return __uslab_likely(s) && __uslab_likely(v = __uslab_view_of(obj)) &&
	       __uslab_likely(__uslab_view_cache(v) == s) &&
	       __uslab_likely(__uslab_free_view_fast(s, v, obj));
}

/* gfp flags kmem_cache_alloc() leaves to its slow path. */
#define __USLAB_GFP_NOT_FAST (~__GFP_VALID_MASK | __GFP_THISNODE | __GFP_ZERO)

#ifdef __cplusplus
}
#endif

#endif /* USLAB_FASTPATH_H */
