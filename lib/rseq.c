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
 * own_area's, never registered, whose cpu_id stays -1: the fast path's
 * one range check then sends every call to the slow path, which takes
 * the lock path, and lock mode costs the fast path nothing.
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

static void choose_mode(void)
{
	if (uslab_env.percpu == PERCPU_WANT_LOCK) {
		lock_reason = "USLAB_PERCPU=lock";
		return;
	}

#ifdef RSEQ_ARCH_NONE
	if (true) {
		lock_reason = "no rseq sections for this architecture";
	} else
#endif
		if (sys_membarrier(
			    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0,
			    0)) {
		lock_reason = "membarrier rseq fence unavailable";
	} else if (glibc_rseq_usable()) {
		percpu_mode = PERCPU_RSEQ_GLIBC;
		percpu_rseq_off = __rseq_offset;
		return;
	} else if (own_rseq_usable()) {
		percpu_mode = PERCPU_RSEQ_OWN;
		return;
	} else {
		lock_reason = "the kernel refuses rseq";
	}
	if (uslab_env.percpu == PERCPU_WANT_RSEQ)
		uslab_report("USLAB_PERCPU=rseq: %s; using per-CPU locks",
			     lock_reason);
}

int percpu_init(void)
{
	int n = get_nprocs_conf();

	nr_cpu_ids = n > 0 ? (unsigned int)n : 1;
	choose_mode();
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

int percpu_lock_index(void)
{
	int cpu = sched_getcpu();

	if (cpu < 0)
		return 0;
	return (int)((unsigned int)cpu % nr_cpu_ids);
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
