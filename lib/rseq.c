// SPDX-License-Identifier: MIT
/*
 * rseq.c - how this process runs per-CPU critical sections: the mode,
 * per-thread registration, and the fence that ends every CPU's sections.
 *
 * percpu_init() picks one mode for the life of the process:
 *   rseq-glibc  glibc registered an rseq area for every thread
 *               (__rseq_size > 0 and the area has a CPU number);
 *   rseq-own    glibc did not (GLIBC_TUNABLES=glibc.pthread.rseq=0), but
 *               the kernel accepts our own thread-local area: each thread
 *               registers it the first time it finds cpu_id < 0 there;
 *   lock        the kernel refuses rseq (valgrind, old kernels, seccomp),
 *               or membarrier's rseq fence is missing, or the user set
 *               USLAB_PERCPU=lock: a mutex per CPU slot, indexed by
 *               sched_getcpu().
 * USLAB_PERCPU=rseq|lock|auto (default auto, parsed by env.c) chooses;
 * rseq falls back to lock with a message when it cannot work.
 *
 * A thread in an rseq mode that cannot register (someone else's area is
 * registered, EBUSY) gets cpu -1 and allocates through the slab layer
 * directly: correct, only slower.
 *
 * Draining a CPU slot from another CPU (shrink, fork) takes the slot's
 * magazine out with an atomic exchange and then calls percpu_fence_all():
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) returns only after
 * every CPU running one of our threads has left, committed or aborted
 * the section it was in, so nobody still holds the old pointer.  It costs
 * microseconds (an IPI per busy CPU), so it is never on the fast path.
 *
 * No locking: the globals are written once, under pthread_once, before any
 * cache exists; the thread-local area belongs to its thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "internal.h"
#include "rseq.h"

enum percpu_mode percpu_mode = PERCPU_LOCK;
/*
 * Offset of the rseq area from the thread pointer.  In lock mode it is
 * own_area's, never registered, whose cpu_id stays -1: every section
 * aborts at its first test and the call goes to the slow path, which
 * takes the lock path, so lock mode costs the fast path nothing.
 */
long percpu_rseq_off;
unsigned int nr_cpu_ids = 1;
static const char *lock_reason = "not initialised";

/* The kernel ABI's struct rseq, with the fields glibc 2.36 lacks. */
struct rseq_area {
	uint32_t cpu_id_start;
	int32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
} __attribute__((aligned(32)));

/*
 * Our own area, used only in rseq-own mode.  initial-exec TLS sits at a
 * fixed offset from the thread pointer in every thread, which is what
 * lets percpu_rseq_off be one global.  A new thread starts with
 * cpu_id = -1 from the TLS image, so its first fast path falls into
 * percpu_thread_cpu() and registers.
 */
static __thread struct rseq_area own_area
	__attribute__((tls_model("initial-exec"))) = { .cpu_id = -1 };
static __thread bool own_failed __attribute__((tls_model("initial-exec")));

static int sys_rseq(struct rseq_area *area)
{
	return (int)syscall(__NR_rseq, area, sizeof(*area), 0, RSEQ_SIG);
}

static int sys_membarrier(int cmd, unsigned int flags, int cpu)
{
	return (int)syscall(__NR_membarrier, cmd, flags, cpu);
}

static bool glibc_rseq_usable(void)
{
	return __rseq_size > 0 && (int)rseq_cpu_id(__rseq_offset) >= 0;
}

static bool own_rseq_usable(void)
{
	if (sys_rseq(&own_area))
		return false;
	percpu_rseq_off = (long)((char *)&own_area - rseq_thread_pointer());
	return true;
}

/* Why rseq cannot be used, or NULL: percpu_mode is then an rseq mode. */
static const char *try_rseq(bool cpus_known)
{
#ifdef RSEQ_ARCH_NONE
	return "no rseq sections for this architecture";
#endif
	if (!cpus_known)
		return "cannot read /sys/devices/system/cpu/possible";
	if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0,
			   0))
		return "membarrier rseq fence unavailable";
	if (glibc_rseq_usable()) {
		percpu_mode = PERCPU_RSEQ_GLIBC;
		percpu_rseq_off = __rseq_offset;
		return NULL;
	}
	if (own_rseq_usable()) {
		percpu_mode = PERCPU_RSEQ_OWN;
		return NULL;
	}
	return "the kernel refuses rseq";
}

static void choose_mode(bool cpus_known)
{
	const char *why = "USLAB_PERCPU=lock";

	if (uslab_env.percpu != PERCPU_WANT_LOCK)
		why = try_rseq(cpus_known);
	if (!why)
		return;
	lock_reason = why;
	if (uslab_env.percpu == PERCPU_WANT_RSEQ)
		uslab_report("USLAB_PERCPU=rseq: %s; using per-CPU locks",
			     lock_reason);
}

/*
 * One more than the highest CPU number the kernel may ever report: the
 * highest number in /sys/devices/system/cpu/possible ("0-3", "0,2-5"),
 * or 0 if it cannot be read.  Read with open() and read(), not stdio,
 * which would fault its code in at start-up.
 */
static unsigned int possible_cpu_ids(void)
{
	char buf[1024];
	const char *s = buf;
	long lo, hi, last = -1;

	if (uslab_read_file("/sys/devices/system/cpu/possible", buf,
			    sizeof(buf)) <= 0)
		return 0;
	while ((s = uslab_next_range(s, &lo, &hi)))
		last = MAX(last, hi);
	/* No kernel has as many: a number that large is a bad read. */
	return last < 0 || last > 1L << 24 ? 0 : (unsigned int)last + 1;
}

/*
 * nr_cpu_ids bounds every CPU number the fast paths index with
 * (rseq_cpu_start() takes no bounds check): the kernel's possible CPUs,
 * which may have holes that get_nprocs_conf() does not count (it counts
 * the same file's CPUs, so it is asked only when the file cannot be
 * read).  A process that cannot read them stays in lock mode
 * (choose_mode()), whose slots are taken modulo nr_cpu_ids.
 */
int percpu_init(void)
{
	unsigned int possible = possible_cpu_ids();
	int n = possible ? 0 : get_nprocs_conf();

	nr_cpu_ids = possible ? possible : n > 0 ? (unsigned int)n : 1U;
	choose_mode(possible > 0);
	if (percpu_mode == PERCPU_LOCK)
		percpu_rseq_off =
			(long)((char *)&own_area - rseq_thread_pointer());
	return 0;
}

const char *percpu_mode_name(void)
{
	switch (percpu_mode) {
	case PERCPU_RSEQ_GLIBC:
		return "rseq (glibc's area)";
	case PERCPU_RSEQ_OWN:
		return "rseq (own area)";
	default:
		return lock_reason;
	}
}

/*
 * Slow half of "which CPU am I on" in the rseq modes: called when the
 * area reads cpu_id < 0 or out of range.  Registers our area the first
 * time in rseq-own mode.  -1 means this thread has no usable rseq.
 */
int percpu_thread_cpu(void)
{
	unsigned long cpu;

	if (percpu_mode == PERCPU_RSEQ_OWN && own_area.cpu_id < 0 &&
	    !own_failed) {
		if (sys_rseq(&own_area))
			own_failed = true;
	}
	cpu = rseq_cpu_id(percpu_rseq_off);
	if (cpu >= nr_cpu_ids) /* unregistered: -1 and -2 are huge here */
		return -1;
	return (int)cpu;
}

/*
 * Lock mode's slot for this thread, which also becomes the area's
 * cpu_id_start: the free fast path reads that slot's node before its
 * section aborts, and a thread reading another CPU's slot, the one a
 * thread there writes under its lock, would share its cache line (two
 * pinned threads' pairs took 42 ns instead of 28 on an AMD EPYC when
 * every thread read CPU 0's).  The area is never registered, so the
 * kernel writes neither field and the sections keep aborting.
 */
int percpu_lock_index(void)
{
	int cpu = sched_getcpu();
	unsigned int idx = cpu < 0 ? 0 : (unsigned int)cpu % nr_cpu_ids;

	if (percpu_mode == PERCPU_LOCK)
		own_area.cpu_id_start = idx;
	return (int)idx;
}

void percpu_fence_all(void)
{
	if (percpu_mode == PERCPU_LOCK)
		return;
	/*
	 * Registered in choose_mode(), so this cannot fail with EPERM; it
	 * is only interrupted by nothing (not a blocking call).  If it did
	 * fail, a section could still run on a taken magazine, so stop.
	 */
	if (sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0)) {
		uslab_report("membarrier(PRIVATE_EXPEDITED_RSEQ): %s",
			     strerror(errno));
		abort();
	}
}
