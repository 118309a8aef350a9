// SPDX-License-Identifier: MIT
/*
 * Per-node paths on a fake topology, and real placement where the
 * machine has the nodes.
 *
 * main() runs the "fake" suite twice, with USLAB_FAKE_NUMA=2 and =4
 * (=4 not under valgrind, which will not reserve four 16 GiB arenas)
 * (Check forks every test, so each child starts the library with the
 * topology of that round), then the "real" suite with the machine's own
 * topology.  The real placement test asks the kernel (move_pages with
 * NULL nodes) where each touched page of kmem_cache_alloc_node(node)
 * objects is; on a one-node machine it says SKIP and checks nothing.
 * The real suite also places threads with numa_run_on_node() and checks
 * that an MPOL_BIND policy (numactl --membind) is never left; both run,
 * trivially satisfied, on one node too.
 * It prints one combined Check summary line last.
 */
#include "common.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>

#include <uslab/slab.h>
#include <uslab/stats.h>

#include "internal.h"

/* The remote frees counted for @node's objects, every CPU's row. */
static unsigned long remote_frees_of(struct kmem_cache *s, int node)
{
	struct node_events ev;

	stat_node_events(s, node, &ev);
	return ev.remote_frees;
}

static struct kmem_cache *mk(const char *name)
{
	struct kmem_cache *s = kmem_cache_create(name, 64, 0, 0, NULL);

	ck_assert_ptr_nonnull(s);
	reaper_set_interval(0); /* counts below must hold still */
	return s;
}

static int node_of(const void *obj)
{
	return page_head_of(obj)->node;
}

/* A CPU of @node, or -1 when no CPU maps there. */
static int cpu_of_node(int node)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF), cpu;

	for (cpu = 0; cpu < cpus; cpu++)
		if (topology_cpu_node((int)cpu) == node)
			return (int)cpu;
	return -1;
}

/* ---- Fake topology --------------------------------------------------- */

START_TEST(test_topology)
{
	int want = atoi(getenv("USLAB_FAKE_NUMA")), n, m, nr;
	const int *order;

	ck_assert_ptr_nonnull(mk("numa-topo"));
	ck_assert(topology_is_fake());
	ck_assert_int_eq(topology_nr_nodes(), want);
	for (n = 0; n < want; n++) {
		ck_assert(topology_node_valid(n));
		order = topology_fallback(n, &nr);
		ck_assert_int_eq(nr, want);
		ck_assert_int_eq(order[0], n); /* itself first */
		for (m = 0; m < want; m++)
			ck_assert_int_eq(topology_distance(n, m),
					 n == m ? 10 : 20);
	}
	ck_assert(!topology_node_valid(want));
	ck_assert(!topology_node_valid(-2));
	/* CPU 0 is on node 0; the last CPU on the last node with CPUs. */
	ck_assert_int_eq(topology_cpu_node(0), 0);
}
END_TEST

/* alloc_node() on every node gives that node's objects; counts add up. */
START_TEST(test_alloc_node_everywhere)
{
	struct kmem_cache *s = mk("numa-everywhere");
	int nodes = topology_nr_nodes(), n, i;
	struct uslab_cache_info info;
	unsigned long active = 0, total = 0;
	void *p[8][100];

	for (n = 0; n < nodes; n++)
		for (i = 0; i < 100; i++) {
			p[n][i] = kmem_cache_alloc_node(s, GFP_KERNEL, n);
			ck_assert_ptr_nonnull(p[n][i]);
			ck_assert_int_eq(node_of(p[n][i]), n);
		}
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	for (n = 0; n < nodes; n++) {
		active += s->node[n]->active_objects;
		total += s->node[n]->total_objects;
		ck_assert_uint_ge(s->node[n]->active_objects, 100);
	}
	ck_assert_uint_eq(info.active_objs + info.cpu_cached_objs +
				  info.depot_objs,
			  active);
	ck_assert_uint_eq(info.total_objs, total);
	ck_assert_uint_eq(info.active_objs, (unsigned long)nodes * 100);

	/* An invalid node: NULL with EINVAL, as documented. */
	errno = 0;
	{
		struct capture c;

		capture_begin(&c);
		ck_assert_ptr_null(kmem_cache_alloc_node(s, GFP_KERNEL, nodes));
		capture_end(&c);
		ck_assert_reported(&c, "does not exist");
	}
	ck_assert_int_eq(errno, EINVAL);

	for (n = 0; n < nodes; n++)
		for (i = 0; i < 100; i++)
			kmem_cache_free(s, p[n][i]);
	/* Shrink empties every node. */
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	for (n = 0; n < nodes; n++)
		ck_assert_uint_eq(s->node[n]->nr_partial + s->node[n]->nr_full +
					  s->node[n]->nr_free,
				  0);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * An object freed on a CPU of another node goes home, batched, and never
 * into the freeing CPU's magazines; remote frees are counted at home.
 */
START_TEST(test_remote_free)
{
	struct kmem_cache *s = mk("numa-remote");
	int home, here = 0, cpu = cpu_of_node(0), i;
	enum { K = 500 };
	static void *p[K];
	struct uslab_cache_info info;

	ck_assert_int_ge(cpu, 0);
	ck_assert_int_eq(pin_to(cpu), 0);
	home = topology_nr_nodes() - 1; /* not node 0 */
	for (i = 0; i < K; i++) {
		p[i] = kmem_cache_alloc_node(s, GFP_KERNEL, home);
		ck_assert_int_eq(node_of(p[i]), home);
	}
	for (i = 0; i < K; i++)
		kmem_cache_free(s, p[i]);
	/* This CPU's own magazines hold none of them. */
	for (i = 0; i < K; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_int_eq(node_of(p[i]), here);
	}
	for (i = 0; i < K; i++)
		kmem_cache_free(s, p[i]);

	mag_drain(s);
	ck_assert_uint_eq(remote_frees_of(s, home), K);
	ck_assert_uint_eq(s->node[home]->active_objects, 0);
	ck_assert_uint_eq(remote_frees_of(s, here), 0);
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.remote_frees, K);
	ck_assert_uint_eq(info.active_objs, 0);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * Per-node figures while the objects sit in this CPU's magazines (no
 * drain): frees of node 0's objects counted in the loaded magazine's
 * word, frees of the last node's in the alien one, each reported for
 * its own node, and the cache's figures their sums.
 */
START_TEST(test_node_info_cpu_events)
{
	struct kmem_cache *s = mk("numa-node-events");
	int home, cpu = cpu_of_node(0), i;
	enum { K = 30 }; /* fewer than a magazine holds */
	static void *p[K], *q[K];
	struct uslab_cache_info all, n0, nh;

	ck_assert_int_ge(cpu, 0);
	ck_assert_int_eq(pin_to(cpu), 0);
	home = topology_nr_nodes() - 1;
	ck_assert_int_ne(home, 0);
	for (i = 0; i < K; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		q[i] = kmem_cache_alloc_node(s, GFP_KERNEL, home);
		ck_assert_int_eq(node_of(p[i]), 0);
		ck_assert_int_eq(node_of(q[i]), home);
	}
	for (i = 0; i < K; i++) {
		kmem_cache_free(s, p[i]);
		kmem_cache_free(s, q[i]);
	}
	ck_assert_int_eq(uslab_cache_node_info(s, 0, &n0), 0);
	ck_assert_int_eq(uslab_cache_node_info(s, home, &nh), 0);
	ck_assert_int_eq(uslab_cache_info(s, &all), 0);
	ck_assert_uint_eq(n0.allocs, K);
	ck_assert_uint_eq(n0.frees, K);
	ck_assert_uint_eq(nh.allocs, K);
	ck_assert_uint_eq(nh.frees, K);
	ck_assert_uint_eq(all.allocs, n0.allocs + nh.allocs);
	ck_assert_uint_eq(all.frees, n0.frees + nh.frees);
	ck_assert_uint_eq(n0.active_objs + nh.active_objs, 0);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * A remote allocation reuses what this CPU freed of that node: the alien
 * magazine's objects, last in first out, then full magazines of the
 * node's depot; each reuse counts as the remote free it was.
 */
START_TEST(test_remote_alloc_reuses_alien)
{
	struct kmem_cache *s = mk("numa-remote-reuse");
	int home, cpu = cpu_of_node(0), i;
	enum { K = 40 }; /* fewer than a magazine holds */
	static void *p[K];
	void *q;
	struct uslab_cache_info info;

	ck_assert_int_ge(cpu, 0);
	ck_assert_int_eq(pin_to(cpu), 0);
	home = topology_nr_nodes() - 1;
	ck_assert_int_ne(home, 0);
	ck_assert_uint_gt(s->depot[home]->capacity, K);
	for (i = 0; i < K; i++)
		p[i] = kmem_cache_alloc_node(s, GFP_KERNEL, home);
	for (i = 0; i < K; i++)
		kmem_cache_free(s, p[i]);
	ck_assert_uint_eq(remote_frees_of(s, home), 0); /* not home */
	for (i = K - 1; i >= 0; i--) {
		q = kmem_cache_alloc_node(s, GFP_KERNEL, home);
		ck_assert_ptr_eq(q, p[i]);
		ck_assert_int_eq(node_of(q), home);
	}
	ck_assert_uint_eq(remote_frees_of(s, home), K);
	/* __GFP_THISNODE still goes to the node's slabs. */
	q = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, home);
	ck_assert_int_eq(node_of(q), home);
	kmem_cache_free(s, q);
	for (i = 0; i < K; i++)
		kmem_cache_free(s, p[i]);

	/* A full magazine sent home comes back from the depot. */
	for (i = 0; i < (int)s->depot[home]->capacity; i++) {
		q = kmem_cache_alloc_node(s, GFP_KERNEL, home);
		ck_assert_int_eq(node_of(q), home);
		kmem_cache_free(s, q);
	}
	mag_drain(s);
	ck_assert_int_eq(uslab_cache_info(s, &info), 0);
	ck_assert_uint_eq(info.active_objs, 0);
	ck_assert_uint_eq(s->node[home]->active_objects, 0);
	ck_assert_uint_eq(info.allocs, info.frees);
	kmem_cache_destroy(s);
}
END_TEST

/* __GFP_THISNODE on an exhausted node fails; without it, fallback. */
START_TEST(test_thisnode_exhaustion)
{
	struct kmem_cache *s = mk("numa-thisnode");
	int full = topology_nr_nodes() - 1, near, nr;
	void *a, *b;
	struct capture c;

	page_set_node_limit(full, 0);
	capture_begin(&c);
	errno = 0;
	a = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, full);
	capture_end(&c);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_reported(&c, "out of memory on node");

	b = kmem_cache_alloc_node(s, GFP_KERNEL, full);
	ck_assert_ptr_nonnull(b);
	near = topology_fallback(full, &nr)[1]; /* nearest other node */
	ck_assert_int_eq(node_of(b), near);
	page_set_node_limit(full, -1);
	kmem_cache_free(s, b);
	kmem_cache_destroy(s);
}
END_TEST

struct pinned {
	pthread_t th;
	int cpu;
	int bad;
};

static struct kmem_cache *pinned_cache;

static void *pinned_main(void *arg)
{
	struct pinned *w = arg;
	void *p[200];
	int i, node = topology_cpu_node(w->cpu);

	if (pin_to(w->cpu))
		w->bad++;
	for (i = 0; i < 200; i++) {
		p[i] = kmem_cache_alloc(pinned_cache, GFP_KERNEL);
		if (!p[i] || node_of(p[i]) != node)
			w->bad++;
	}
	for (i = 0; i < 200; i++)
		kmem_cache_free(pinned_cache, p[i]);
	return NULL;
}

/* Threads pinned to each CPU get their own node's objects. */
START_TEST(test_pinned_threads_local)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), i;
	struct pinned w[64] = { 0 };

	pinned_cache = mk("numa-pinned");
	cpus = MIN(cpus, 64);
	for (i = 0; i < cpus; i++) {
		w[i].cpu = (int)i;
		ck_assert_int_eq(
			pthread_create(&w[i].th, NULL, pinned_main, &w[i]), 0);
	}
	for (i = 0; i < cpus; i++) {
		pthread_join(w[i].th, NULL);
		ck_assert_int_eq(w[i].bad, 0);
	}
	ck_assert_uint_eq(remote_frees_of(pinned_cache, 0), 0);
	kmem_cache_destroy(pinned_cache);
}
END_TEST

/*
 * uslab_cpu_node() is the documented split (CPU c of C on node c * N /
 * C), on every CPU this process may use; kmem_cache_alloc_node() on that
 * node is served from the CPU's magazine (the object just freed there
 * comes back: LIFO), on another node from that node's slabs.
 */
START_TEST(test_cpu_node)
{
	int want = atoi(getenv("USLAB_FAKE_NUMA"));
	long ncpus = sysconf(_SC_NPROCESSORS_CONF), cpu;
	struct kmem_cache *s = mk("numa-cpu-node");
	cpu_set_t allowed, old;
	int checked = 0;

	sched_getaffinity(0, sizeof(allowed), &allowed);
	old = allowed;
	for (cpu = 0; cpu < ncpus && cpu < CPU_SETSIZE; cpu++) {
		int node = (int)(cpu * want / ncpus), other = (node + 1) % want;
		void *a, *b, *c;

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		ck_assert_int_eq(pin_to((int)cpu), 0);
		ck_assert_int_eq(uslab_cpu_node(), node);
		ck_assert_int_eq(topology_cpu_node((int)cpu), node);
		a = kmem_cache_alloc_node(s, GFP_KERNEL, node);
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(node_of(a), node);
		kmem_cache_free(s, a);
		b = kmem_cache_alloc_node(s, GFP_KERNEL, node);
		ck_assert_ptr_eq(b, a);
		c = kmem_cache_alloc_node(s, GFP_KERNEL, other);
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(node_of(c), other);
		kmem_cache_free(s, b);
		kmem_cache_free(s, c);
		checked++;
	}
	unpin(&old);
	ck_assert_int_gt(checked, 0);
	kmem_cache_destroy(s);
}
END_TEST

static struct kmem_cache *roam_cache;

/*
 * Unpinned, more threads than CPUs: each asks for its CPU's node (which
 * it may have left by the time it allocates) or another node, and must
 * get that node's object, fast path or slow.
 */
static void *roam_main(void *arg)
{
	unsigned long seed = (unsigned long)arg, i, bad = 0;
	int nodes = topology_nr_nodes();
	void *p[16];

	for (i = 0; i < 20000; i++) {
		int k = (int)(i % 16);
		int node = (seed + i) % 3 ? uslab_cpu_node() :
					    (int)((seed + i) % nodes);

		p[k] = kmem_cache_alloc_node(roam_cache, GFP_KERNEL, node);
		if (!p[k] || node_of(p[k]) != node)
			bad++;
		if (k == 15)
			for (k = 0; k < 16; k++)
				kmem_cache_free(roam_cache, p[k]);
	}
	return (void *)bad;
}

START_TEST(test_alloc_node_roaming)
{
	pthread_t th[8];
	void *bad;
	int i;

	roam_cache = mk("numa-roam");
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, roam_main,
						(void *)(long)i),
				 0);
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], &bad);
		ck_assert_ptr_null(bad);
	}
	kmem_cache_destroy(roam_cache);
}
END_TEST

/* ---- Real placement ------------------------------------------------- */

/* The node the kernel placed @obj's (touched) page on, or -errno. */
static int kernel_node_of(void *obj)
{
	void *page = (void *)((uintptr_t)obj & ~(PAGE_SIZE - 1));
	int status = -1;

	if (move_pages(0, 1, &page, NULL, &status, 0))
		return -errno;
	return status;
}

START_TEST(test_real_placement)
{
	struct kmem_cache *s;
	int nodes, n, i, bad = 0;
	enum { PER = 64 };
	void *p[MAX_NUMNODES][PER];

	ck_assert(!topology_is_fake());
	if (numa_available() < 0 || numa_num_configured_nodes() < 2) {
		printf("SKIP: real placement needs 2 or more NUMA nodes; "
		       "this machine has %d\n",
		       numa_available() < 0 ? 1 : numa_num_configured_nodes());
		return;
	}
	s = kmem_cache_create("numa-place", 4096, 0, 0, NULL);
	nodes = topology_nr_nodes();
	for (n = 0; n < nodes; n++) {
		if (!topology_node_valid(n))
			continue;
		for (i = 0; i < PER; i++) {
			int where;

			p[n][i] = kmem_cache_alloc_node(
				s, GFP_KERNEL | __GFP_THISNODE, n);
			ck_assert_ptr_nonnull(p[n][i]);
			memset(p[n][i], 0x5a, 4096); /* touch */
			where = kernel_node_of(p[n][i]);
			ck_assert_int_ge(where, 0); /* move_pages worked */
			if (where != n)
				bad++;
		}
		printf("node %d: %d pages checked\n", n, PER);
	}
	ck_assert_int_eq(bad, 0);
	for (n = 0; n < nodes; n++)
		for (i = 0; topology_node_valid(n) && i < PER; i++)
			kmem_cache_free(s, p[n][i]);
	kmem_cache_destroy(s);
}
END_TEST

/* Nodes with memory in the process policy's (and cpuset's) node set. */
static int allowed_nodes_with_memory(void)
{
	struct bitmask *bound, *mems;
	int n, count = 0;

	if (numa_available() < 0)
		return 1;
	bound = numa_get_membind();
	mems = numa_get_mems_allowed();
	for (n = 0; n <= numa_max_node() && n < MAX_NUMNODES; n++)
		if (numa_bitmask_isbitset(bound, (unsigned int)n) &&
		    numa_bitmask_isbitset(mems, (unsigned int)n) &&
		    numa_node_size64(n, NULL) > 0)
			count++;
	numa_bitmask_free(bound);
	numa_bitmask_free(mems);
	return count;
}

struct on_node {
	pthread_t th;
	int node;
	int got; /* objects allocated */
	int wrong; /* objects of another node (descriptor or kernel) */
};

static struct kmem_cache *on_node_cache;

static void *on_node_main(void *arg)
{
	struct on_node *w = arg;
	enum { N = 300 };
	void *p[N];
	int i;

	if (numa_run_on_node(w->node)) {
		w->wrong = -1;
		return NULL;
	}
	for (i = 0; i < N; i++) {
		p[i] = kmem_cache_alloc(on_node_cache, GFP_KERNEL);
		if (!p[i])
			break;
		memset(p[i], 0xa5, 256);
		w->got++;
		if (node_of(p[i]) != w->node || kernel_node_of(p[i]) != w->node)
			w->wrong++;
	}
	while (i-- > 0)
		kmem_cache_free(on_node_cache, p[i]);
	return NULL;
}

/*
 * Threads placed with numa_run_on_node() get their own node's objects
 * from plain kmem_cache_alloc(), by the descriptors and by the kernel.
 */
START_TEST(test_run_on_node)
{
	struct on_node w[MAX_NUMNODES] = { 0 };
	int nodes, n, ran = 0;

	on_node_cache = kmem_cache_create("numa-run-on", 256, 0, 0, NULL);
	ck_assert_ptr_nonnull(on_node_cache);
	ck_assert(!topology_is_fake());
	nodes = topology_nr_nodes(); /* known once the library started */
	for (n = 0; n < nodes; n++) {
		w[n].node = n;
		if (!topology_node_valid(n))
			continue;
		ck_assert_int_eq(
			pthread_create(&w[n].th, NULL, on_node_main, &w[n]), 0);
	}
	for (n = 0; n < nodes; n++) {
		if (!topology_node_valid(n))
			continue;
		pthread_join(w[n].th, NULL);
		printf("numa_run_on_node(%d): %d objects, %d elsewhere\n", n,
		       w[n].got, w[n].wrong);
		ck_assert_int_eq(w[n].got, 300);
		ck_assert_int_eq(w[n].wrong, 0);
		ran++;
	}
	/* Every node with memory that our policy allows was tried. */
	ck_assert_int_eq(ran, allowed_nodes_with_memory());
	kmem_cache_destroy(on_node_cache);
}
END_TEST

/*
 * Under an MPOL_BIND policy (numactl --membind, set_mempolicy) no memory
 * of another node is ever handed out: only bound nodes are valid, others
 * are refused with EINVAL, and every page the kernel placed, through
 * plain, node-directed and fallback allocations from every CPU, is on a
 * bound node.  Started under numactl --membind the test checks that
 * policy; otherwise it binds itself to the first usable node before the
 * library starts (Check runs each test in a fresh child).
 */
START_TEST(test_membind)
{
	struct bitmask *bound;
	unsigned long mask = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	int mode = -1, n, i, nodes, pages = 0;
	struct kmem_cache *s;
	enum { PER = 64 };
	static void *p[64 + MAX_NUMNODES][PER];

	ck_assert_int_eq(get_mempolicy(&mode, &mask, sizeof(mask) * 8, NULL, 0),
			 0);
	if (mode == MPOL_BIND) {
		printf("membind: started with MPOL_BIND, nodes 0x%lx\n", mask);
	} else {
		struct bitmask *mems = numa_get_mems_allowed();

		for (n = 0; !numa_bitmask_isbitset(mems, (unsigned int)n); n++)
			;
		numa_bitmask_free(mems);
		mask = 1UL << n;
		ck_assert_int_eq(
			set_mempolicy(MPOL_BIND, &mask, sizeof(mask) * 8), 0);
		printf("membind: bound the test to node %d\n", n);
	}

	s = kmem_cache_create("numa-membind", 4096, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	bound = numa_get_membind();
	nodes = topology_nr_nodes();
	for (n = 0; n < nodes; n++) {
		void *x;

		if (!numa_bitmask_isbitset(bound, (unsigned int)n)) {
			struct capture c;

			ck_assert(!topology_node_valid(n));
			capture_begin(&c);
			errno = 0;
			x = kmem_cache_alloc_node(s, GFP_KERNEL, n);
			capture_end(&c);
			ck_assert_ptr_null(x);
			ck_assert_int_eq(errno, EINVAL);
			continue;
		}
		if (!topology_node_valid(n)) /* bound but memoryless */
			continue;
		for (i = 0; i < PER; i++) {
			p[64 + n][i] = kmem_cache_alloc_node(s, GFP_KERNEL, n);
			ck_assert_ptr_nonnull(p[64 + n][i]);
		}
	}
	/* Plain allocations from every CPU, each mapped to a bound node. */
	for (cpu = 0; cpu < MIN(cpus, 64); cpu++) {
		if (pin_to((int)cpu))
			continue; /* not in our cpuset */
		for (i = 0; i < PER; i++) {
			p[cpu][i] = kmem_cache_alloc(s, GFP_KERNEL);
			ck_assert_ptr_nonnull(p[cpu][i]);
		}
	}
	for (n = 0; n < 64 + MAX_NUMNODES; n++)
		for (i = 0; i < PER && p[n][i]; i++) {
			int where;

			memset(p[n][i], 0x3c, 4096); /* touch */
			where = kernel_node_of(p[n][i]);
			ck_assert_int_ge(where, 0);
			ck_assert_msg(numa_bitmask_isbitset(
					      bound, (unsigned int)where),
				      "page on node %d, outside the bound set",
				      where);
			ck_assert(numa_bitmask_isbitset(
				bound, (unsigned int)node_of(p[n][i])));
			pages++;
		}
	printf("membind: %d pages, all on bound nodes\n", pages);
	for (n = 0; n < 64 + MAX_NUMNODES; n++)
		for (i = 0; i < PER && p[n][i]; i++)
			kmem_cache_free(s, p[n][i]);
	numa_bitmask_free(bound);
	kmem_cache_destroy(s);
}
END_TEST

static Suite *fake_suite(const char *name)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create("fake");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_topology);
	tcase_add_test(tc, test_alloc_node_everywhere);
	tcase_add_test(tc, test_remote_free);
	tcase_add_test(tc, test_remote_alloc_reuses_alien);
	tcase_add_test(tc, test_node_info_cpu_events);
	tcase_add_test(tc, test_thisnode_exhaustion);
	tcase_add_test(tc, test_pinned_threads_local);
	tcase_add_test(tc, test_cpu_node);
	tcase_add_test(tc, test_alloc_node_roaming);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *real_suite(void)
{
	Suite *s = suite_create("numa-real");
	TCase *tc = tcase_create("real");

	tcase_add_test(tc, test_real_placement);
	tcase_add_test(tc, test_run_on_node);
	tcase_add_test(tc, test_membind);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	struct tally t = { 0 };

	setenv("USLAB_FAKE_NUMA", "2", 1);
	run_counted(fake_suite("numa-fake-2"), &t);
	/*
	 * Four 16 GiB arenas are more address space than valgrind hands
	 * out; the 2-node round covers the same paths there.
	 */
	if (getenv("USLAB_TEST_VALGRIND")) {
		printf("SKIP: USLAB_FAKE_NUMA=4 under valgrind (address "
		       "space)\n");
	} else {
		setenv("USLAB_FAKE_NUMA", "4", 1);
		run_counted(fake_suite("numa-fake-4"), &t);
	}
	unsetenv("USLAB_FAKE_NUMA");
	run_counted(real_suite(), &t);
	return tally_report(&t);
}
