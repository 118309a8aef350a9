// SPDX-License-Identifier: MIT
/*
 * topology.c - CPUs and NUMA nodes: which nodes this process may use, the
 * CPU-to-node map, distances and each node's fallback order, and binding
 * a range of the arena to a node.
 *
 * Real topology comes from the kernel directly, without libnuma (whose
 * constructor reads /proc and /sys in every process that loads it, which
 * a short program under the preload would pay for).  A node is usable
 * when the process may allocate there and it has memory: it is in the
 * cpuset's mems_allowed (get_mempolicy(MPOL_F_MEMS_ALLOWED)) and, when
 * the process policy is MPOL_BIND (numactl --membind, set_mempolicy), in
 * the policy's nodes; and its /sys/devices/system/node/nodeN/meminfo
 * says MemTotal > 0.  Both masks are read once, at library init: a
 * policy set later does not shrink the usable set.  An interleave or
 * preferred policy leaves every node usable; uslab places each node's
 * range with its own mbind(), which overrides the process policy for
 * that range.  Node numbers come from /sys/devices/system/node/online,
 * CPUs from each node's cpulist, distances from each node's distance
 * file (one figure per online node, in order).  A CPU of an unusable
 * node, or of no node, is mapped to the nearest usable one.  Nodes
 * beyond CONFIG_MAX_NODES are not used (said once on stderr).
 *
 * The machine is one node, and no file is read at all, when the kernel
 * has no NUMA system calls (ENOSYS, or EPERM in a sandbox), or when the
 * process may allocate on node 0 only: then node 0 is the one place any
 * page can go, and binding or CPU maps would change nothing.
 *
 * USLAB_FAKE_NUMA=N (1..CONFIG_MAX_NODES, parsed by env.c) splits the
 * configured CPUs into N nodes of consecutive CPU numbers, with distance
 * 10 to itself and 20 to every other node, so that every per-node path
 * (lists, depots, remote frees, fallback) runs on a one-node machine.
 * Fake nodes' pages are labelled in the page descriptors but not bound
 * (page.c asks topology_is_fake()).
 *
 * The CPUs mapped are rseq.c's nr_cpu_ids (the possible CPUs, read
 * once by percpu_init(), which runs first: each read of the count opens
 * a sysfs file).
 *
 * Locking: everything here is written once by topology_init(), under the
 * library's pthread_once, before any cache exists; read-only afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/*
 * Node masks passed to the kernel: get_mempolicy() refuses a mask with
 * fewer bits than the kernel's node count, so it has room for the
 * largest (CONFIG_NODES_SHIFT 10), whatever CONFIG_MAX_NODES is.
 */
#define KERNEL_NODES 1024
#define MASK_LONGS (KERNEL_NODES / 64)

#ifdef USLAB_TEST_HOOKS
static const char *node_sysfs = "/sys/devices/system/node";
#else
#define node_sysfs "/sys/devices/system/node"
#endif

static int nr_nodes = 1;
static bool usable[MAX_NUMNODES] = { true };
static int fake_nodes;
static int nr_cpus_mapped;
static int *cpu_node; /* CPU number -> usable node */
static unsigned char distance[MAX_NUMNODES][MAX_NUMNODES];
static int fallback[MAX_NUMNODES][MAX_NUMNODES]; /* usable, nearest first */
static int nr_usable = 1;

static bool mask_test(const unsigned long *mask, long bit)
{
	return bit >= 0 && bit < KERNEL_NODES &&
	       (mask[bit / 64] >> (bit % 64) & 1);
}

/* The NUMA system calls, raw: glibc has no wrappers for them. */
static long sys_get_mempolicy(int *mode, unsigned long *mask,
			      unsigned long flags)
{
	return syscall(SYS_get_mempolicy, mode, mask,
		       mask ? KERNEL_NODES + 1UL : 0UL, NULL, flags);
}

/* Bind [addr, addr + len) to @node (MPOL_BIND); 0, or -1 and errno. */
int topology_bind(void *addr, unsigned long len, int node)
{
	unsigned long mask[MASK_LONGS] = { 0 };

	mask[node / 64] = 1UL << (node % 64);
	return (int)syscall(SYS_mbind, addr, len, MPOL_BIND, mask,
			    KERNEL_NODES + 1UL, 0U);
}

static ssize_t read_node_file(int node, const char *name, char *buf,
			      size_t size)
{
	char path[256];

	if (snprintf(path, sizeof(path), "%s/node%d/%s", node_sysfs, node,
		     name) >= (int)sizeof(path))
		return -1;
	return uslab_read_file(path, buf, size);
}

/* MemTotal of @node's meminfo ("Node 0 MemTotal: 123 kB"), or 0. */
static unsigned long node_mem_kb(int node)
{
	char buf[256], *p;

	if (read_node_file(node, "meminfo", buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "MemTotal:");
	return p ? strtoul(p + strlen("MemTotal:"), NULL, 10) : 0;
}

static int nearest_usable(int node)
{
	int best = -1, i;

	for (i = 0; i < nr_nodes; i++)
		if (usable[i] &&
		    (best < 0 || distance[node][i] < distance[node][best]))
			best = i;
	return best < 0 ? 0 : best;
}

/* For each node, the usable nodes ordered by distance, then by number. */
static void build_fallback(void)
{
	int from, i, j, n = 0;

	for (from = 0; from < nr_nodes; from++) {
		n = 0;
		for (i = 0; i < nr_nodes; i++)
			if (usable[i])
				fallback[from][n++] = i;
		for (i = 1; i < n; i++) { /* insertion sort, stable */
			int v = fallback[from][i];

			for (j = i;
			     j > 0 && distance[from][fallback[from][j - 1]] >
					      distance[from][v];
			     j--)
				fallback[from][j] = fallback[from][j - 1];
			fallback[from][j] = v;
		}
	}
	nr_usable = n; /* the same for every node */
}

/* Give @node's CPUs (its cpulist) below @cpus that node in cpu_node. */
static void map_node_cpus(int node, int cpus)
{
	char buf[4096];
	const char *s = buf;
	long lo, hi, cpu;

	if (read_node_file(node, "cpulist", buf, sizeof(buf)) <= 0)
		return;
	while ((s = uslab_next_range(s, &lo, &hi)))
		for (cpu = lo; cpu <= hi && cpu < cpus; cpu++)
			cpu_node[cpu] = node;
}

static int map_cpus(int cpus)
{
	int cpu, node;

	cpu_node = calloc((size_t)cpus, sizeof(*cpu_node));
	if (!cpu_node)
		return -1;
	for (cpu = 0; cpu < cpus; cpu++)
		cpu_node[cpu] =
			fake_nodes ? (int)((long)cpu * fake_nodes / cpus) : -1;
	if (!fake_nodes && nr_nodes > 1)
		for (node = 0; node < nr_nodes; node++)
			map_node_cpus(node, cpus);
	for (cpu = 0; cpu < cpus; cpu++) {
		node = cpu_node[cpu];
		if (node < 0 || node >= nr_nodes || !usable[node])
			cpu_node[cpu] = nearest_usable(node >= 0 ? node : 0);
	}
	nr_cpus_mapped = cpus;
	return 0;
}

static void init_fake(void)
{
	int a, b;

	nr_nodes = fake_nodes;
	for (a = 0; a < nr_nodes; a++) {
		usable[a] = true;
		for (b = 0; b < nr_nodes; b++)
			distance[a][b] = a == b ? 10 : 20;
	}
}

/*
 * @a's distance file: one figure per online node, in node order (the
 * kernel's for_each_online_node()); figures out of 1..255 are ignored.
 */
static void read_distances(int a, const unsigned long *online)
{
	char buf[4096], *s = buf, *end;
	long b = -1, d;

	if (read_node_file(a, "distance", buf, sizeof(buf)) <= 0)
		return;
	for (;;) {
		d = strtol(s, &end, 10);
		if (end == s)
			return;
		s = end;
		while (++b < KERNEL_NODES && !mask_test(online, b))
			;
		if (b >= nr_nodes)
			return;
		if (d > 0 && d < 256)
			distance[a][b] = (unsigned char)d;
	}
}

/*
 * Several nodes the process may use: read their numbers, memory, CPUs
 * and distances.  @allowed is the cpuset's mems_allowed.
 */
static void init_real(const unsigned long *allowed)
{
	unsigned long online[MASK_LONGS] = { 0 }, bound[MASK_LONGS];
	char buf[4096], path[256];
	const char *s = buf;
	long lo, hi, bit;
	int mode, max = 0, a, b;

	snprintf(path, sizeof(path), "%s/online", node_sysfs);
	if (uslab_read_file(path, buf, sizeof(buf)) <= 0)
		return;
	while ((s = uslab_next_range(s, &lo, &hi)))
		for (bit = lo; bit <= hi && bit < KERNEL_NODES; bit++) {
			online[bit / 64] |= 1UL << (bit % 64);
			max = (int)bit + 1;
		}
	if (max > MAX_NUMNODES) {
		uslab_report("%d NUMA nodes, built for at most %d "
			     "(CONFIG_MAX_NODES); using the first %d",
			     max, MAX_NUMNODES, MAX_NUMNODES);
		max = MAX_NUMNODES;
	}
	if (max < 2)
		return;
	/* Only MPOL_BIND limits the nodes; any other policy leaves all. */
	if (sys_get_mempolicy(&mode, bound, 0) ||
	    (mode & ~MPOL_MODE_FLAGS) != MPOL_BIND)
		memset(bound, 0xff, sizeof(bound));
	nr_nodes = max;
	for (a = 0; a < nr_nodes; a++) {
		usable[a] = mask_test(online, a) && mask_test(allowed, a) &&
			    mask_test(bound, a) && node_mem_kb(a) > 0;
		for (b = 0; b < nr_nodes; b++)
			distance[a][b] = a == b ? 10 : 20;
	}
	for (a = 0; a < nr_nodes; a++)
		if (mask_test(online, a))
			read_distances(a, online);
	for (a = 0; a < nr_nodes && !usable[a]; a++)
		;
	if (a == nr_nodes)
		usable[0] = true; /* the kernel's figures disagree */
}

/* The process may allocate on node 0 and nowhere else. */
static bool only_node0(const unsigned long *allowed)
{
	int i;

	for (i = 1; i < MASK_LONGS; i++)
		if (allowed[i])
			return false;
	return allowed[0] == 1;
}

/* @allowed: the cpuset's mems_allowed, NULL without NUMA calls. */
static int topology_setup(const unsigned long *allowed)
{
	distance[0][0] = 10;
	fake_nodes = uslab_env.fake_numa;
	if (fake_nodes)
		init_fake();
	else if (allowed && !only_node0(allowed))
		init_real(allowed);
	build_fallback();
	return map_cpus((int)nr_cpu_ids);
}

int topology_init(void)
{
	unsigned long allowed[MASK_LONGS] = { 0 };

	if (sys_get_mempolicy(NULL, allowed, MPOL_F_MEMS_ALLOWED))
		return topology_setup(NULL);
	return topology_setup(allowed);
}

#ifdef USLAB_TEST_HOOKS
/*
 * Tests: forget the topology and read it again from the tree at @root
 * (standing for /sys/devices/system/node), with @allowed standing for
 * the cpuset's mems_allowed (KERNEL_NODES bits; NULL: no NUMA calls).
 * With NULL @root, the kernel's own again.  Only while no cache exists.
 */
int uslab_topology_reinit(const char *root, const unsigned long *allowed)
{
	unsigned long own[MASK_LONGS] = { 0 };

	node_sysfs = root ? root : "/sys/devices/system/node";
	nr_nodes = 1;
	nr_usable = 1;
	memset(usable, 0, sizeof(usable));
	usable[0] = true;
	memset(distance, 0, sizeof(distance));
	free(cpu_node);
	cpu_node = NULL;
	nr_cpus_mapped = 0;
	if (!root && sys_get_mempolicy(NULL, own, MPOL_F_MEMS_ALLOWED) == 0)
		allowed = own;
	return topology_setup(allowed);
}
#endif

/* Node ids 0..topology_nr_nodes()-1 have arenas; some may be unusable. */
int topology_nr_nodes(void)
{
	return nr_nodes;
}

bool topology_node_valid(int node)
{
	return node >= 0 && node < nr_nodes && usable[node];
}

bool topology_is_fake(void)
{
	return fake_nodes > 0;
}

int topology_distance(int a, int b)
{
	return distance[a][b];
}

/* Usable nodes nearest first from @node (itself first if usable). */
const int *topology_fallback(int node, int *nr)
{
	*nr = nr_usable;
	return fallback[node];
}

/* Node of CPU @cpu (a usable node; 0 for CPUs beyond the configured). */
int topology_cpu_node(int cpu)
{
	if (cpu < 0 || cpu >= nr_cpus_mapped)
		return 0;
	return cpu_node[cpu];
}

int numa_node_id(void)
{
	if (nr_nodes == 1)
		return 0;
	return topology_cpu_node(sched_getcpu());
}
