// SPDX-License-Identifier: MIT
/*
 * topology.c - CPUs and NUMA nodes: which nodes this process may use, the
 * CPU-to-node map, distances and each node's fallback order.
 *
 * Real topology comes from libnuma.  A node is usable when the process
 * may allocate there and it has memory: it is in the cpuset's
 * Mems_allowed (numa_get_mems_allowed()) and, when the process policy is
 * MPOL_BIND (numactl --membind, set_mempolicy), in the policy's nodes
 * (numa_get_membind()).  Both are read once, at library init: a policy
 * set later does not shrink the usable set.  An interleave or preferred
 * policy leaves every node usable; uslab places each node's range with
 * its own mbind(), which overrides the process policy for that range.
 * A CPU of an unusable node is mapped to the nearest usable one.  Nodes beyond CONFIG_MAX_NODES are
 * not used (said once on stderr).  When libnuma reports NUMA as
 * unavailable, or a single node, the machine is one node, and nothing
 * more is asked of libnuma (no file read at start-up).
 *
 * USLAB_FAKE_NUMA=N (1..CONFIG_MAX_NODES, parsed by env.c) splits the
 * configured CPUs into N nodes of consecutive CPU numbers, with distance
 * 10 to itself and 20 to every other node, so that every per-node path
 * (lists, depots, remote frees, fallback) runs on a one-node machine.
 * Fake nodes' pages are labelled in the page descriptors but not bound
 * (page.c asks topology_is_fake()).
 *
 * Locking: everything here is written once by topology_init(), under the
 * library's pthread_once, before any cache exists; read-only afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <numa.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "internal.h"

static int nr_nodes = 1;
static bool usable[MAX_NUMNODES] = { true };
static int fake_nodes;
static int nr_cpus_mapped;
static int *cpu_node; /* CPU number -> usable node */
static unsigned char distance[MAX_NUMNODES][MAX_NUMNODES];
static int fallback[MAX_NUMNODES][MAX_NUMNODES]; /* usable, nearest first */
static int nr_usable = 1;

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

static int map_cpus(int cpus)
{
	int cpu;

	cpu_node = calloc((size_t)cpus, sizeof(*cpu_node));
	if (!cpu_node)
		return -1;
	for (cpu = 0; cpu < cpus; cpu++) {
		int node = fake_nodes ? (int)((long)cpu * fake_nodes / cpus) :
			   nr_nodes == 1 ? 0 :
					   numa_node_of_cpu(cpu);

		if (node < 0 || node >= nr_nodes || !usable[node])
			node = nearest_usable(
				node >= 0 && node < nr_nodes ? node : 0);
		cpu_node[cpu] = node;
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

static void init_real(void)
{
	struct bitmask *allowed, *bound;
	int max = numa_max_node() + 1, a, b;

	/*
	 * One node: the process may only be allowed that one, and it has
	 * memory; no cpuset, policy, meminfo or distance file to read (a
	 * short program under the preload would pay for each).
	 */
	if (max == 1) {
		distance[0][0] = 10;
		return;
	}
	allowed = numa_get_mems_allowed();
	bound = numa_get_membind();

	if (max > MAX_NUMNODES) {
		uslab_report("%d NUMA nodes, built for at most %d "
			     "(CONFIG_MAX_NODES); using the first %d",
			     max, MAX_NUMNODES, MAX_NUMNODES);
		max = MAX_NUMNODES;
	}
	nr_nodes = max;
	for (a = 0; a < nr_nodes; a++) {
		usable[a] = numa_bitmask_isbitset(allowed, (unsigned int)a) &&
			    numa_bitmask_isbitset(bound, (unsigned int)a) &&
			    numa_node_size64(a, NULL) > 0;
		for (b = 0; b < nr_nodes; b++) {
			int d = numa_distance(a, b);

			distance[a][b] = (unsigned char)(d > 0 && d < 256 ? d :
							 a == b		  ? 10 :
									    20);
		}
	}
	numa_bitmask_free(allowed);
	numa_bitmask_free(bound);
	for (a = 0; a < nr_nodes && !usable[a]; a++)
		;
	if (a == nr_nodes)
		usable[0] = true; /* libnuma disagrees with itself */
}

int topology_init(void)
{
	int cpus = get_nprocs_conf();

	fake_nodes = uslab_env.fake_numa;
	if (fake_nodes)
		init_fake();
	else if (numa_available() >= 0)
		init_real();
	else
		distance[0][0] = 10;
	build_fallback();
	return map_cpus(cpus > 0 ? cpus : 1);
}

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

/* Node of CPU @cpu (a usable node; 0 for CPUs libnuma did not map). */
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
