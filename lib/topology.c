// SPDX-License-Identifier: MIT
/*
 * topology.c - CPUs and NUMA nodes, from libnuma.
 *
 * Reads the machine's node count and CPU-to-node map once at start-up.
 * Nodes beyond CONFIG_MAX_NODES are not used (said once on stderr): their
 * CPUs allocate from node 0.  When libnuma reports NUMA as unavailable
 * the machine is one node.  Binding memory to nodes and the fake
 * topology for tests come with the NUMA work.  The map is written
 * once before any cache exists and read-only afterwards: no locking.
 */
#define _GNU_SOURCE
#include <numa.h>
#include <sched.h>
#include <stdlib.h>

#include "internal.h"

static int nr_nodes = 1;
static int nr_cpus_mapped;
static int *cpu_node;		/* CPU number -> node, or NULL */

int topology_init(void)
{
	int cpus, cpu, max;

	if (numa_available() < 0)
		return 0;
	max = numa_max_node() + 1;
	if (max > MAX_NUMNODES) {
		uslab_report("%d NUMA nodes, built for at most %d "
			     "(CONFIG_MAX_NODES); using the first %d",
			     max, MAX_NUMNODES, MAX_NUMNODES);
		max = MAX_NUMNODES;
	}
	nr_nodes = max;

	cpus = numa_num_configured_cpus();
	if (cpus <= 0)
		return 0;
	cpu_node = calloc((size_t)cpus, sizeof(*cpu_node));
	if (!cpu_node)
		return -1;
	for (cpu = 0; cpu < cpus; cpu++) {
		int node = numa_node_of_cpu(cpu);

		cpu_node[cpu] = (node >= 0 && node < nr_nodes) ? node : 0;
	}
	nr_cpus_mapped = cpus;
	return 0;
}

int topology_nr_nodes(void)
{
	return nr_nodes;
}

bool topology_node_valid(int node)
{
	return node >= 0 && node < nr_nodes;
}

/* Node of CPU @cpu (0 for CPUs libnuma did not map). */
int topology_cpu_node(int cpu)
{
	if (cpu < 0 || cpu >= nr_cpus_mapped)
		return 0;
	return cpu_node[cpu];
}

int numa_node_id(void)
{
	int cpu;

	if (nr_nodes == 1)
		return 0;
	cpu = sched_getcpu();
	if (cpu < 0 || cpu >= nr_cpus_mapped)
		return 0;
	return cpu_node[cpu];
}
