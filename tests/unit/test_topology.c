// SPDX-License-Identifier: MIT
/*
 * White-box tests of lib/topology.c reading the kernel's topology without
 * libnuma: each test writes a sysfs node tree of its own (online, and per
 * node cpulist, meminfo, distance) in a temporary directory, points the
 * library at it with a cpuset mask of its choosing, and checks the nodes,
 * usable set, distances, fallback order and CPU map it gets.  Junk and
 * missing files, offline gaps, memoryless nodes, more nodes than
 * CONFIG_MAX_NODES, and a real MPOL_BIND policy of the test process.
 * Every test puts the real topology back at the end.
 */
#include "common.h"

#include <errno.h>
#include <ftw.h>
#include <linux/mempolicy.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "internal.h"

#define MASK_LONGS (1024 / 64)

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* Node @n's directory with its files (a NULL text: no such file). */
static void node(int n, const char *cpulist, const char *meminfo,
		 const char *distance)
{
	char dir[256], rel[64];

	snprintf(dir, sizeof(dir), "%s/node%d", root, n);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	if (cpulist) {
		snprintf(rel, sizeof(rel), "node%d/cpulist", n);
		put(rel, cpulist);
	}
	if (meminfo) {
		snprintf(rel, sizeof(rel), "node%d/meminfo", n);
		put(rel, meminfo);
	}
	if (distance) {
		snprintf(rel, sizeof(rel), "node%d/distance", n);
		put(rel, distance);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	ck_assert_int_eq(uslab_ensure_init(), 0);
	snprintf(root, sizeof(root), "/tmp/uslab-topo-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

/* The kernel's topology again, and the tree removed. */
static void teardown(void)
{
	ck_assert_int_eq(uslab_topology_reinit(NULL, NULL), 0);
	nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void mask_of(unsigned long *mask, const int *nodes, int nr)
{
	memset(mask, 0, MASK_LONGS * sizeof(*mask));
	for (int i = 0; i < nr; i++)
		mask[nodes[i] / 64] |= 1UL << (nodes[i] % 64);
}

static void reinit(const int *allowed, int nr)
{
	unsigned long mask[MASK_LONGS];

	mask_of(mask, allowed, nr);
	ck_assert_int_eq(uslab_topology_reinit(root, mask), 0);
}

/* Three nodes: 1 has no memory; 0 and 2 hold CPUs 0 and 1. */
static void three_nodes(void)
{
	put("online", "0-2\n");
	node(0, "0\n", "Node 0 MemTotal:     1000 kB\nNode 0 MemFree: 5 kB\n",
	     "10 21 31\n");
	node(1, "5-7\n", "Node 1 MemTotal:        0 kB\n", "21 10 21\n");
	node(2, "1\n", "Node 2 MemTotal:      500 kB\n", "31 21 10\n");
}

START_TEST(test_three_nodes)
{
	const int all[] = { 0, 1, 2 };
	const int *order;
	int nr;

	three_nodes();
	reinit(all, 3);
	ck_assert(!topology_is_fake());
	ck_assert_int_eq(topology_nr_nodes(), 3);
	ck_assert(topology_node_valid(0));
	ck_assert(!topology_node_valid(1)); /* no memory */
	ck_assert(topology_node_valid(2));
	ck_assert(!topology_node_valid(3));
	ck_assert_int_eq(topology_distance(0, 2), 31);
	ck_assert_int_eq(topology_distance(2, 0), 31);
	ck_assert_int_eq(topology_distance(0, 1), 21);
	ck_assert_int_eq(topology_distance(1, 1), 10);
	order = topology_fallback(0, &nr);
	ck_assert_int_eq(nr, 2);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 2);
	order = topology_fallback(2, &nr);
	ck_assert_int_eq(order[0], 2);
	ck_assert_int_eq(order[1], 0);
	order = topology_fallback(1, &nr); /* a tie at 21: by number */
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(topology_cpu_node(0), 0);
	if (nr_cpu_ids > 1)
		ck_assert_int_eq(topology_cpu_node(1), 2);
	ck_assert_int_eq(topology_cpu_node(-1), 0);
	ck_assert_int_eq(topology_cpu_node((int)nr_cpu_ids), 0);
}
END_TEST

/* The cpuset decides: node 0 alone is a one-node machine. */
START_TEST(test_cpuset)
{
	const int only0[] = { 0 }, only2[] = { 2 };

	three_nodes();
	reinit(only0, 1);
	ck_assert_int_eq(topology_nr_nodes(), 1);
	ck_assert(topology_node_valid(0));
	ck_assert_int_eq(topology_distance(0, 0), 10);

	/* Node 0 excluded: its CPU counts as the nearest usable node's. */
	reinit(only2, 1);
	ck_assert_int_eq(topology_nr_nodes(), 3);
	ck_assert(!topology_node_valid(0));
	ck_assert(topology_node_valid(2));
	ck_assert_int_eq(topology_cpu_node(0), 2);

	/* No NUMA system calls: one node, whatever the files say. */
	ck_assert_int_eq(uslab_topology_reinit(root, NULL), 0);
	ck_assert_int_eq(topology_nr_nodes(), 1);
	ck_assert_int_eq(topology_cpu_node(0), 0);
}
END_TEST

/*
 * An offline node 1: no directory, and each distance file lists only the
 * online nodes, so its second figure is node 2's.
 */
START_TEST(test_offline_gap)
{
	const int all[] = { 0, 1, 2 };

	put("online", "0,2\n");
	node(0, "0\n", "Node 0 MemTotal: 8 kB\n", "10 40\n");
	node(2, "1\n", "Node 2 MemTotal: 8 kB\n", "40 10\n");
	reinit(all, 3);
	ck_assert_int_eq(topology_nr_nodes(), 3);
	ck_assert(!topology_node_valid(1));
	ck_assert_int_eq(topology_distance(0, 2), 40);
	ck_assert_int_eq(topology_distance(2, 0), 40);
	ck_assert_int_eq(topology_distance(0, 1), 20); /* the default */
}
END_TEST

/* Junk or missing files fall back to one node or to the defaults. */
START_TEST(test_junk)
{
	const int all[] = { 0, 1 };

	reinit(all, 2); /* no online file at all */
	ck_assert_int_eq(topology_nr_nodes(), 1);

	put("online", "junk\n");
	reinit(all, 2);
	ck_assert_int_eq(topology_nr_nodes(), 1);

	put("online", "1-0\n"); /* a reversed range is no range */
	reinit(all, 2);
	ck_assert_int_eq(topology_nr_nodes(), 1);

	put("online", "0-1\n");
	node(0, "x\n", "MemTotal: 12 kB\n", "10 0 999 x\n");
	node(1, NULL, NULL, "300\n"); /* no memory file: unusable */
	reinit(all, 2);
	ck_assert_int_eq(topology_nr_nodes(), 2);
	ck_assert(topology_node_valid(0));
	ck_assert(!topology_node_valid(1));
	ck_assert_int_eq(topology_distance(0, 0), 10);
	ck_assert_int_eq(topology_distance(0, 1), 20); /* 0 is no distance */
	ck_assert_int_eq(topology_distance(1, 0), 20); /* nor 300 */
	ck_assert_int_eq(topology_cpu_node(0), 0);

	/* No node with memory at all: node 0 anyway. */
	put("node0/meminfo", "Node 0 MemTotal: 0 kB\n");
	reinit(all, 2);
	ck_assert(topology_node_valid(0));
	ck_assert(!topology_node_valid(1));
}
END_TEST

/* More nodes than CONFIG_MAX_NODES: the first ones, said once. */
START_TEST(test_too_many_nodes)
{
	int all[MAX_NUMNODES + 2];
	struct capture c;
	char text[32];
	int n;

	snprintf(text, sizeof(text), "0-%d\n", MAX_NUMNODES + 1);
	put("online", text);
	for (n = 0; n < MAX_NUMNODES + 2; n++) {
		snprintf(text, sizeof(text), "Node %d MemTotal: 4 kB\n", n);
		node(n, "", text, NULL);
		all[n] = n;
	}
	capture_begin(&c);
	reinit(all, MAX_NUMNODES + 2);
	capture_end(&c);
	ck_assert_int_eq(c.lines, 1);
	ck_assert_reported(&c, "CONFIG_MAX_NODES");
	ck_assert_int_eq(topology_nr_nodes(), MAX_NUMNODES);
	ck_assert(topology_node_valid(MAX_NUMNODES - 1));
	ck_assert(!topology_node_valid(MAX_NUMNODES));
	ck_assert_int_eq(topology_distance(0, MAX_NUMNODES - 1), 20);
}
END_TEST

/*
 * The process's own MPOL_BIND policy on node 0 (the one node every
 * machine has) leaves node 2 of the tree unusable; any other policy
 * leaves it usable.
 */
START_TEST(test_membind_policy)
{
	const int all[] = { 0, 1, 2 };
	unsigned long mask = 1;

	three_nodes();
	ck_assert_int_eq(syscall(SYS_set_mempolicy, MPOL_BIND, &mask,
				 sizeof(mask) * 8 + 1),
			 0);
	reinit(all, 3);
	ck_assert(topology_node_valid(0));
	ck_assert(!topology_node_valid(2));
	ck_assert_int_eq(topology_cpu_node(0), 0);
	if (nr_cpu_ids > 1) /* node 2's CPU, on the nearest bound node */
		ck_assert_int_eq(topology_cpu_node(1), 0);

	ck_assert_int_eq(syscall(SYS_set_mempolicy, MPOL_PREFERRED, &mask,
				 sizeof(mask) * 8 + 1),
			 0);
	reinit(all, 3);
	ck_assert(topology_node_valid(2));
	ck_assert_int_eq(syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0), 0);
}
END_TEST

static Suite *topology_suite(void)
{
	Suite *s = suite_create("unit-topology");
	TCase *tc = tcase_create("topology");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_three_nodes);
	tcase_add_test(tc, test_cpuset);
	tcase_add_test(tc, test_offline_gap);
	tcase_add_test(tc, test_junk);
	tcase_add_test(tc, test_too_many_nodes);
	tcase_add_test(tc, test_membind_policy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(topology_suite());
}
