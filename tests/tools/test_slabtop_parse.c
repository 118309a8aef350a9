// SPDX-License-Identifier: MIT
/*
 * What uslab publishes and what uslab-slabtop reads of it:
 *
 *  - ground truth: caches with known objects on known (fake) nodes, read
 *    back exactly through uslab_cache_info, uslab_slabinfo(), the
 *    process's /dev/shm segment (st_read_process) and `uslab-slabtop -o
 *    -p`, with the fragmentation figures of layouts whose padding and
 *    tail waste are known;
 *  - the segment's life: mode 0600, stale segments of dead processes
 *    reported and removed, refused when of the wrong mode, owner or
 *    shape, or when it never holds still;
 *  - fuzzing: thousands of mutated segments and slabinfo texts through
 *    both parsers (under ASan in make check), which must accept or refuse
 *    each one cleanly, never read outside it.
 *
 * main() sets USLAB_FAKE_NUMA=2 before the library starts; Check runs
 * each test in a child, whose library (and segment) is its own.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <uslab/export.h>
#include <uslab/slab.h>
#include <uslab/stats.h>

#include "internal.h"
#include "slabtop.h"

static char err[256];

static const struct st_cache *find(const struct st_snapshot *snap,
				   const char *name)
{
	size_t i;

	for (i = 0; i < snap->nr_caches; i++)
		if (!strcmp(snap->caches[i].name, name))
			return &snap->caches[i];
	return NULL;
}

static void read_self(struct st_snapshot *snap)
{
	int ret = st_read_process(getpid(), snap, err, sizeof(err));

	ck_assert_msg(ret == 0, "st_read_process: %s", err);
	ck_assert_int_eq(snap->pid, getpid());
}

static char seg_path[64];

static const char *self_segment(void)
{
	snprintf(seg_path, sizeof(seg_path),
		 "/dev/shm/" USLAB_EXPORT_PREFIX "%d", (int)getpid());
	return seg_path;
}

/* ---- Ground truth ------------------------------------------------------ */

static struct kmem_cache *big, *small;
static void *objs_big[64], *objs_small[500];

/*
 * big: 1000-byte objects, 16 per 4-page slab (384 bytes of tail each),
 * 37 on node 0 and 21 on node 1 straight from the slabs (__GFP_THISNODE
 * skips the magazines): 3 + 2 slabs, 11 + 11 free slots stranded in
 * partial slabs.  small: 100-byte objects in 104-byte slots, 400 of 500
 * still held.
 */
static void make_known_caches(void)
{
	int i;

	reaper_set_interval(0);
	big = kmem_cache_create("gt-big", 1000, 0, 0, NULL);
	small = kmem_cache_create("gt-small", 100, 0, 0, NULL);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(small);
	for (i = 0; i < 58; i++) {
		objs_big[i] = kmem_cache_alloc_node(
			big, GFP_KERNEL | __GFP_THISNODE, i < 37 ? 0 : 1);
		ck_assert_ptr_nonnull(objs_big[i]);
	}
	for (i = 0; i < 500; i++)
		objs_small[i] = kmem_cache_alloc(small, GFP_KERNEL);
	for (i = 400; i < 500; i++)
		kmem_cache_free(small, objs_small[i]);
}

START_TEST(test_ground_truth_info)
{
	struct uslab_cache_info in, n0, n1;

	make_known_caches();
	ck_assert_int_eq(uslab_cache_info(big, &in), 0);
	ck_assert_int_eq(uslab_cache_node_info(big, 0, &n0), 0);
	ck_assert_int_eq(uslab_cache_node_info(big, 1, &n1), 0);
	ck_assert_uint_eq(in.objs_per_slab, 16);
	ck_assert_uint_eq(in.slab_size, 16384);
	ck_assert_uint_eq(in.active_objs, 58);
	ck_assert_uint_eq(n0.active_objs, 37);
	ck_assert_uint_eq(n1.active_objs, 21);
	ck_assert_uint_eq(n0.nr_full + n0.nr_partial, 3);
	ck_assert_uint_eq(n1.nr_full + n1.nr_partial, 2);
	ck_assert_uint_eq(n0.partial_free_objs, 11);
	ck_assert_uint_eq(n1.partial_free_objs, 11);
	ck_assert_uint_eq(in.partial_free_objs, 22);
	ck_assert_uint_eq(in.total_objs, 80);
	ck_assert_uint_eq(in.padding_bytes, 0);
	ck_assert_uint_eq(in.tail_bytes, 5 * 384);
	ck_assert_uint_eq(in.free_bytes, 22 * 1000);
	ck_assert_double_eq_tol(in.efficiency, 58.0 * 1000 / (5 * 16384), 1e-9);
	if (IS_ENABLED(CONFIG_STATS)) {
		ck_assert_uint_eq(in.allocs, 58);
		ck_assert_uint_eq(n1.allocs, 21);
		ck_assert_uint_eq(in.frees, 0);
	}
	/* Bad arguments. */
	errno = 0;
	ck_assert_int_eq(uslab_cache_node_info(big, 2, &in), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(uslab_cache_node_info(big, -1, &in), -1);
	ck_assert_int_eq(uslab_nr_nodes(), 2);

	ck_assert_int_eq(uslab_cache_info(small, &in), 0);
	ck_assert_uint_eq(in.slot_size, 104);
	ck_assert_uint_eq(in.active_objs, 400);
	ck_assert_uint_eq(in.padding_bytes, 4 * in.total_objs);
	ck_assert_uint_eq(in.tail_bytes, in.nr_slabs * (4096 - 39 * 104));
	if (IS_ENABLED(CONFIG_STATS)) {
		ck_assert_uint_eq(in.allocs, 500);
		ck_assert_uint_eq(in.frees, 100);
	}
}
END_TEST

static const char kernel_header[] =
	"slabinfo - version: 2.1\n"
	"# name            <active_objs> <num_objs> <objsize> <objperslab> "
	"<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
	"slabdata <active_slabs> <num_slabs> <sharedavail>\n";

START_TEST(test_ground_truth_slabinfo)
{
	struct uslab_cache_info in;
	struct st_snapshot snap;
	const struct st_cache *c;
	char *text = NULL, name[64];
	size_t len = 0;
	unsigned long a, t;
	unsigned int sz, per, pages, lim, batch, shared;
	unsigned long as, ns, avail;
	FILE *f = open_memstream(&text, &len);

	make_known_caches();
	ck_assert_int_eq(uslab_slabinfo(f), 0);
	fclose(f);
	/* The kernel's two header lines, verbatim. */
	ck_assert(!strncmp(text, kernel_header, strlen(kernel_header)));
	/* Newest first: gt-small was created after gt-big. */
	ck_assert(strstr(text, "\ngt-small ") && strstr(text, "\ngt-big ") &&
		  strstr(text, "\ngt-small ") < strstr(text, "\ngt-big "));
	ck_assert_int_eq(sscanf(strstr(text, "\ngt-big ") + 1,
				"%63s %lu %lu %u %u %u : tunables %u %u %u : "
				"slabdata %lu %lu %lu",
				name, &a, &t, &sz, &per, &pages, &lim, &batch,
				&shared, &as, &ns, &avail),
			 12);
	uslab_cache_info(big, &in);
	ck_assert_uint_eq(a, 58);
	ck_assert_uint_eq(t, 80);
	ck_assert_uint_eq(sz, 1000);
	ck_assert_uint_eq(per, 16);
	ck_assert_uint_eq(pages, 4);
	ck_assert_uint_eq(lim, in.mag_capacity);
	ck_assert_uint_eq(as, 5);
	ck_assert_uint_eq(ns, 5);
	ck_assert_uint_eq(avail, in.depot_objs);
	/* The row is in the kernel's column widths. */
	ck_assert(strstr(text, "\ngt-big                58     80   1000   16"
			       "    4 : tunables "));

	/* uslab-slabtop's parser reads the same figures back. */
	ck_assert_msg(st_parse_slabinfo(text, len, &snap, err, sizeof(err)) ==
			      0,
		      "%s", err);
	c = find(&snap, "gt-small");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->active_objs, 400);
	ck_assert_uint_eq(c->objsize, 104);
	st_snapshot_free(&snap);
	free(text);
}
END_TEST

START_TEST(test_ground_truth_segment)
{
	struct uslab_cache_info in;
	struct st_snapshot snap;
	const struct st_cache *c;
	struct stat st;

	make_known_caches();
	ck_assert_int_eq(stat(self_segment(), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());

	read_self(&snap);
	ck_assert_uint_eq(snap.nr_nodes, 2);
	ck_assert(snap.fake_numa);
	ck_assert_str_eq(snap.percpu_mode, uslab_percpu_mode());
	c = find(&snap, "gt-big");
	ck_assert_ptr_nonnull(c);
	ck_assert(c->has_ext);
	ck_assert_uint_eq(c->active_objs, 58);
	ck_assert_uint_eq(c->num_objs, 80);
	ck_assert_uint_eq(c->node[0].active_objs, 37);
	ck_assert_uint_eq(c->node[1].active_objs, 21);
	ck_assert_uint_eq(c->node[0].partial_free_objs, 11);
	ck_assert_uint_eq(c->ext.partial_free_objs, 22);
	ck_assert_uint_eq(c->num_slabs, 5);
	ck_assert_uint_eq(c->pagesperslab, 4);
	ck_assert_uint_eq(c->ext.tail_bytes, 5 * 384);
	ck_assert_uint_eq(c->ext.padding_bytes, 0);
	ck_assert_uint_eq(c->ext.slab_bytes, 5 * 16384);
	ck_assert_double_eq_tol(c->ext.efficiency, 58.0 * 1000 / (5 * 16384),
				1e-9);
	/*
	 * One vocabulary, one rule: every figure the tool read or derived
	 * is the library's own (the process is quiet: exact).
	 */
	ck_assert_int_eq(uslab_cache_info(big, &in), 0);
	ck_assert_mem_eq(c->ext.layout, in.layout, sizeof(in.layout));
	ck_assert_mem_eq(c->ext.count, in.count, sizeof(in.count));
	ck_assert_mem_eq(c->ext.cache_count, in.cache_count,
			 sizeof(in.cache_count));
	ck_assert_mem_eq(c->ext.derived, in.derived, sizeof(in.derived));
	ck_assert_double_eq(c->ext.efficiency, in.efficiency);
	ck_assert_uint_eq(c->ext.flags, in.flags);
	ck_assert_uint_eq(c->node[1].total_objs + c->node[0].total_objs,
			  in.total_objs);
	c = find(&snap, "gt-small");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->active_objs, 400);
	ck_assert_uint_eq(c->ext.padding_bytes, 4 * c->num_objs);
	if (IS_ENABLED(CONFIG_STATS)) {
		ck_assert_uint_eq(c->ext.allocs, 500);
		ck_assert_uint_eq(c->ext.frees, 100);
	}
	st_snapshot_free(&snap);

	/* A change is seen at once: the reader asks for a new snapshot. */
	kmem_cache_free(big, objs_big[0]);
	read_self(&snap);
	ck_assert_uint_eq(find(&snap, "gt-big")->active_objs, 57);
	ck_assert_ptr_null(strstr(snap.origin, "not refreshed"));
	st_snapshot_free(&snap);
}
END_TEST

/* The tool itself, `uslab-slabtop -o -p <this pid>`, reports them too. */
START_TEST(test_ground_truth_tool)
{
	const char *build = getenv("USLAB_BUILD");
	char cmd[512], line[512];
	int seen = 0;
	FILE *p;

	make_known_caches();
	snprintf(cmd, sizeof(cmd), "%s/tools/slabtop/uslab-slabtop -o -p %d",
		 build ? build : "build", (int)getpid());
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p)) {
		unsigned long objs, active;
		char name[64];
		int n = 0;

		/* OBJS ACTIVE USE OBJ-SIZE SLABS OBJ/SLAB CACHE-SIZE NAME */
		if (sscanf(line, "%lu %lu %*u%% %*fK %*u %*u %*s %63s%n", &objs,
			   &active, name, &n) != 3)
			continue;
		if (!strcmp(name, "gt-big")) {
			ck_assert_uint_eq(objs, 80);
			ck_assert_uint_eq(active, 58);
			seen++;
		} else if (!strcmp(name, "gt-small")) {
			ck_assert_uint_eq(active, 400);
			seen++;
		}
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_int_eq(seen, 2);
}
END_TEST

/*
 * kmalloc's size classes are caches like any other, and its page blocks
 * and mappings reach the header: the segment has the library's figures,
 * and the tool's -o output shows both.
 */
START_TEST(test_kmalloc_segment)
{
	const char *build = getenv("USLAB_BUILD");
	struct uslab_kmalloc_info k;
	struct st_snapshot snap;
	const struct st_cache *c;
	char cmd[512], line[512];
	void *kobj[300], *large[3], *huge;
	int i, seen = 0;
	FILE *p;

	for (i = 0; i < 300; i++)
		kobj[i] = kmalloc(100, GFP_KERNEL);
	for (i = 0; i < 3; i++)
		large[i] = kmalloc(20000, GFP_KERNEL); /* 32 KiB blocks */
	huge = kmalloc(3 << 20, GFP_KERNEL);
	ck_assert_int_eq(uslab_kmalloc_info(&k), 0);
	read_self(&snap);
	ck_assert_mem_eq(snap.kmalloc, k.count, sizeof(k.count));
	ck_assert_uint_eq(snap.large_allocs, 3);
	ck_assert_uint_eq(snap.large_bytes, 3 * 32768);
	ck_assert_uint_eq(snap.huge_bytes, 3 << 20);
	c = find(&snap, "kmalloc-128");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->active_objs, 300);
	ck_assert_ptr_nonnull(find(&snap, "kmalloc-8k"));
	st_snapshot_free(&snap);

	snprintf(cmd, sizeof(cmd), "%s/tools/slabtop/uslab-slabtop -o -p %d",
		 build ? build : "build", (int)getpid());
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p)) {
		unsigned long active;
		char name[64];

		if (strstr(line, "kmalloc Page Blocks / Own Mappings")) {
			/* Three 32 KiB blocks, one 3 MiB mapping, in KiB. */
			ck_assert_msg(strstr(line, ": 3 (96) / 1 (3072)"), "%s",
				      line);
			seen++;
		} else if (sscanf(line, "%*u %lu %*u%% %*fK %*u %*u %*s %63s",
				  &active, name) == 2 &&
			   !strcmp(name, "kmalloc-128")) {
			ck_assert_uint_eq(active, 300);
			seen++;
		}
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_int_eq(seen, 2);
	for (i = 0; i < 300; i++)
		kfree(kobj[i]);
	for (i = 0; i < 3; i++)
		kfree(large[i]);
	kfree(huge);
	read_self(&snap);
	ck_assert_uint_eq(snap.large_frees, 3);
	ck_assert_uint_eq(snap.large_bytes, 0);
	ck_assert_uint_eq(snap.huge_frees, 1);
	st_snapshot_free(&snap);
}
END_TEST

/* Output of @cmd, NUL-terminated, malloc'd; the command must succeed. */
static char *run_output(const char *cmd)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	FILE *p = popen(cmd, "r");
	size_t n;

	ck_assert_ptr_nonnull(p);
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	return buf;
}

/*
 * --fields lists the vocabulary; every figure in it is a JSON key of a
 * uslab cache's record, and the columns of the views are its headings.
 */
START_TEST(test_fields_are_json_keys)
{
	const char *build = getenv("USLAB_BUILD");
	char cmd[512], *fields, *json, *line, *save;
	int keys = 0;

	make_known_caches();
	snprintf(cmd, sizeof(cmd), "%s/tools/slabtop/uslab-slabtop --fields",
		 build ? build : "build");
	fields = run_output(cmd);
	snprintf(cmd, sizeof(cmd),
		 "%s/tools/slabtop/uslab-slabtop --json "
		 "-p %d",
		 build ? build : "build", (int)getpid());
	json = run_output(cmd);
	for (line = strtok_r(fields, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[64], quoted[80];

		if (sscanf(line, "  %63s", key) != 1 || line[0] != ' ')
			continue;
		snprintf(quoted, sizeof(quoted), "\"%s\": ", key);
		ck_assert_msg(strstr(json, quoted), "%s not in --json", key);
		keys++;
	}
	ck_assert_int_eq(keys, USLAB_NR_LAYOUT_STATS + USLAB_NR_COUNT_STATS +
				       USLAB_NR_CACHE_STATS +
				       USLAB_NR_DERIVED_STATS + 1);
	free(fields);
	free(json);
}
END_TEST

/* ---- The segment's life ------------------------------------------------ */

/* A pid that no process has now (a child that has exited). */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* A copy of our own segment, as it is now. */
static void *own_segment(size_t *len)
{
	struct st_snapshot snap;
	struct stat st;
	void *buf;
	int fd;

	read_self(&snap); /* a fresh, settled snapshot */
	st_snapshot_free(&snap);
	fd = open(self_segment(), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	fstat(fd, &st);
	buf = malloc((size_t)st.st_size);
	ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/*
 * A copy of our segment made out to @pid (its start time, 0 for a dead
 * one), and in @path the name a segment of @pid has.
 */
static void *segment_for(pid_t pid, size_t *len, char path[64])
{
	struct uslab_export_header *h = own_segment(len);

	h->pid = pid;
	h->start_time = uslab_export_start_time((int)pid);
	snprintf(path, 64, "/dev/shm/" USLAB_EXPORT_PREFIX "%d", (int)pid);
	return h;
}

static void write_file(const char *path, const void *buf, size_t len,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	fchmod(fd, mode);
	close(fd);
}

START_TEST(test_stale_segment)
{
	struct st_proc *list;
	struct st_snapshot snap;
	size_t len, n, i;
	char path[64];
	pid_t dead, child;
	int found = 0, status;
	void *buf;

	ck_assert_ptr_nonnull(kmem_cache_create("stale", 64, 0, 0, NULL));
	dead = dead_pid();
	buf = segment_for(dead, &len, path);
	write_file(path, buf, len, 0600);

	ck_assert_int_eq(st_list_processes(&list, &n, err, sizeof(err)), 0);
	for (i = 0; i < n; i++) {
		if (list[i].pid == dead) {
			ck_assert(list[i].stale);
			found++;
		}
		if (list[i].pid == getpid()) {
			ck_assert(!list[i].stale);
			found++;
		}
	}
	free(list);
	ck_assert_int_eq(found, 2);
	ck_assert_int_eq(st_read_process(dead, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "stale"), "%s", err);

	/* The next uslab process of this user removes it. */
	child = fork();
	if (child == 0)
		_exit(0); /* the fork hook started its export */
	waitpid(child, &status, 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	free(buf);
}
END_TEST

/*
 * Another process of this user scribbles on our segment's geometry: the
 * writer sizes nothing from the shared header (ASan would see it write
 * past its buffer) and the next snapshot heals the header.
 */
START_TEST(test_scribbled_header)
{
	size_t geometry = offsetof(struct uslab_export_header, seq) - 8;
	size_t counts = offsetof(struct uslab_export_header, nr_caches);
	unsigned char ff[64];
	struct st_snapshot snap;
	int fd;

	make_known_caches();
	memset(ff, 0xff, sizeof(ff));
	fd = open(self_segment(), O_RDWR);
	ck_assert_int_ge(fd, 0);
	/* Magic stays; version, record sizes, room and nodes do not. */
	ck_assert_int_eq(pwrite(fd, ff, geometry, 8), (ssize_t)geometry);
	/* nr_caches and dropped too; pid and start time (identity) stay. */
	ck_assert_int_eq(pwrite(fd, ff, 8, (off_t)counts), 8);
	close(fd);
	read_self(&snap); /* asks for, and waits for, a new snapshot */
	ck_assert_ptr_nonnull(find(&snap, "gt-big"));
	ck_assert_uint_eq(find(&snap, "gt-big")->active_objs, 58);
	ck_assert_uint_eq(snap.nr_nodes, 2);
	st_snapshot_free(&snap);
}
END_TEST

/* Wait (up to 10 s) until our segment reads back with gt-big's figures. */
static bool segment_heals(void)
{
	struct st_snapshot snap;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		if (st_read_process(getpid(), &snap, err, sizeof(err)) == 0) {
			const struct st_cache *c = find(&snap, "gt-big");
			bool ok = c && c->active_objs == 58;

			st_snapshot_free(&snap);
			if (ok)
				return true;
		}
		usleep(10000);
	}
	return false;
}

/*
 * Another process of this user truncates our segment, shrinks it to
 * part of the header, or replaces the file: the writer must not die of
 * SIGBUS (this test runs in a child, which would), the segment heals at
 * the next snapshot, and a replaced file is left alone.
 */
START_TEST(test_truncated_segment)
{
	const off_t sizes[] = { 0, 1, sizeof(struct uslab_export_header) / 2,
				sizeof(struct uslab_export_header) + 100 };
	struct stat st;
	size_t i;
	int fd;

	make_known_caches();
	ck_assert(segment_heals());
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		fd = open(self_segment(), O_RDWR);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, sizes[i]), 0);
		close(fd);
		ck_assert_msg(segment_heals(), "truncated to %ld: %s",
			      (long)sizes[i], err);
	}
	/* Replaced: a new file under the name, with nothing in it. */
	ck_assert_int_eq(unlink(self_segment()), 0);
	fd = open(self_segment(), O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	usleep(300000);
	ck_assert_int_eq(stat(self_segment(), &st), 0);
	ck_assert_int_eq(st.st_size, 0); /* not written: not ours */
	kmem_cache_free(big, kmem_cache_alloc(big, GFP_KERNEL));
	unlink(self_segment());
}
END_TEST

/* A live process without a segment, to hold crafted segments. */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(100000); /* exec'd: its start time is final */
	return pid;
}

static volatile bool flipping;

/* Keep the crafted segment's count odd: a writer that never finishes. */
static void *flip_main(void *arg)
{
	const char *path = arg;
	uint32_t odd = 1;
	int fd = open(path, O_WRONLY);

	while (flipping) {
		pwrite(fd, &odd, sizeof(odd),
		       offsetof(struct uslab_export_header, seq));
		odd += 2;
	}
	close(fd);
	return NULL;
}

/* A segment of another format version is refused, saying which. */
START_TEST(test_other_version)
{
	struct uslab_export_header *h;
	struct st_snapshot snap;
	char older[32];
	size_t len;

	make_known_caches();
	h = own_segment(&len);
	ck_assert_int_eq(st_parse_segment(h, len, &snap, err, sizeof(err)), 0);
	st_snapshot_free(&snap);
	h->version = USLAB_EXPORT_VERSION - 1;
	snprintf(older, sizeof(older), "format version %d)",
		 USLAB_EXPORT_VERSION - 1);
	ck_assert_int_eq(st_parse_segment(h, len, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "older uslab") && strstr(err, older), "%s",
		      err);
	h->version = USLAB_EXPORT_VERSION + 1;
	ck_assert_int_eq(st_parse_segment(h, len, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "newer uslab"), "%s", err);
	free(h);
}
END_TEST

START_TEST(test_hostile_files)
{
	struct uslab_export_header *h;
	struct st_snapshot snap;
	char path[64];
	pthread_t th;
	size_t len;
	pid_t pid;
	void *buf;

	ck_assert_ptr_nonnull(kmem_cache_create("hostile", 64, 0, 0, NULL));
	pid = sleeper();
	buf = segment_for(pid, &len, path);
	h = buf;

	/* As crafted, it reads (not refreshed: nobody answers). */
	write_file(path, buf, len, 0600);
	ck_assert_msg(st_read_process(pid, &snap, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert(strstr(snap.origin, "not refreshed"));
	st_snapshot_free(&snap);

	/* Others may write it: refused. */
	chmod(path, 0644);
	ck_assert_int_eq(st_read_process(pid, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "mode 0644"), "%s", err);
	chmod(path, 0600);

	/* Another user's: refused. */
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(st_read_process(pid, &snap, err, sizeof(err)),
				 -1);
		ck_assert_msg(strstr(err, "uid 65534"), "%s", err);
		ck_assert_int_eq(chown(path, 0, 0), 0);
	}

	/* Truncated below its records, then below its header. */
	write_file(path, buf, sizeof(*h) + 10, 0600);
	ck_assert_int_eq(st_read_process(pid, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "truncated"), "%s", err);
	write_file(path, buf, 20, 0600);
	ck_assert_int_eq(st_read_process(pid, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "truncated"), "%s", err);

	/* A writer that never finishes: an error, not a hang. */
	write_file(path, buf, len, 0600);
	flipping = true;
	pthread_create(&th, NULL, flip_main, path);
	ck_assert_int_eq(st_read_process(pid, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "keeps changing") ||
			      strstr(err, "being written"),
		      "%s", err);
	flipping = false;
	pthread_join(th, NULL);

	/* A symlink in its place is not followed. */
	unlink(path);
	ck_assert_int_eq(symlink(self_segment(), path), 0);
	ck_assert_int_eq(st_read_process(pid, &snap, err, sizeof(err)), -1);
	unlink(path);

	/* Without a segment: not a uslab process; gone: no such process. */
	ck_assert_int_eq(st_read_process(pid, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not a uslab process"), "%s", err);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(st_read_process(pid, &snap, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no such process"), "%s", err);
	free(buf);
}
END_TEST

/* ---- Fuzzing ------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Values that break naive arithmetic. */
static uint64_t nasty(void)
{
	static const uint64_t v[] = { 0,
				      1,
				      2,
				      0x7f,
				      0xff,
				      0x100,
				      4095,
				      4096,
				      0x7fffffff,
				      0x80000000,
				      0xffffffff,
				      0x100000000ULL,
				      0x7fffffffffffffffULL,
				      0xffffffffffffffffULL };

	return next() & 1 ? v[next() % (sizeof(v) / sizeof(v[0]))] : next();
}

/* One mutation of @buf (len bytes); returns the new length. */
static size_t mutate(unsigned char *buf, size_t len, size_t cap, bool text)
{
	size_t at = len ? next() % len : 0, k;
	uint64_t v;

	switch (next() % 8) {
	case 0: /* flip bits */
		if (len)
			buf[at] ^= (unsigned char)(1u << (next() % 8));
		return len;
	case 1: /* a random byte */
		if (len)
			buf[at] = (unsigned char)next();
		return len;
	case 2: /* truncate */
		return len ? next() % len : 0;
	case 3: /* a nasty number over 4 or 8 bytes */
		v = nasty();
		k = next() & 1 ? 8 : 4;
		if (text) {
			char num[24];
			int n = snprintf(num, sizeof(num), "%llu",
					 (unsigned long long)v);

			if (at + (size_t)n <= len)
				memcpy(buf + at, num, (size_t)n);
		} else if (at + k <= len) {
			memcpy(buf + at, &v, k);
		}
		return len;
	case 4: /* duplicate a chunk (grow) */
		k = next() % 256;
		if (len + k <= cap && at + k <= len) {
			memmove(buf + at + k, buf + at, len - at);
			return len + k;
		}
		return len;
	case 5: /* delete a chunk */
		k = next() % 64;
		if (at + k <= len) {
			memmove(buf + at, buf + at + k, len - at - k);
			return len - k;
		}
		return len;
	case 6: /* header-sized fields: aim at the start */
		if (!text && len >= 64) {
			v = nasty();
			memcpy(buf + (next() % 16) * 4, &v, 4);
		} else if (len) {
			buf[next() % MIN(len, (size_t)200)] =
				(unsigned char)" \n:#0123456789-abc\t\xff"
					[next() % 21];
		}
		return len;
	default: /* overwrite with text or digits */
		if (len)
			buf[at] = (unsigned char)"0123456789 :\n"[next() % 13];
		return len;
	}
}

static void check_snapshot(const struct st_snapshot *s)
{
	size_t i;

	ck_assert_uint_le(s->nr_caches, ST_MAX_CACHES);
	for (i = 0; i < s->nr_caches; i++) {
		ck_assert_ptr_nonnull(
			memchr(s->caches[i].name, '\0', ST_NAME_MAX));
		ck_assert_uint_le(s->caches[i].active_objs,
				  s->caches[i].num_objs);
	}
}

static void fuzz(const void *seed, size_t seed_len, bool text, int rounds,
		 int *accepted, int *refused)
{
	size_t cap = seed_len + 4096;
	unsigned char *work = malloc(cap);
	int r, m;

	for (r = 0; r < rounds; r++) {
		struct st_snapshot snap;
		unsigned char *exact;
		size_t len = seed_len;
		int ret;

		memcpy(work, seed, seed_len);
		for (m = 1 + (int)(next() % 4); m > 0; m--)
			len = mutate(work, len, cap, text);
		/* An exact-size copy: ASan sees any read past the end. */
		exact = malloc(len ? len : 1);
		memcpy(exact, work, len);
		ret = text ? st_parse_slabinfo((char *)exact, len, &snap, err,
					       sizeof(err)) :
			     st_parse_segment(exact, len, &snap, err,
					      sizeof(err));
		if (ret == 0) {
			check_snapshot(&snap);
			st_snapshot_free(&snap);
			(*accepted)++;
		} else {
			ck_assert_int_eq(ret, -1);
			ck_assert(err[0] && !strchr(err, '\n'));
			(*refused)++;
		}
		free(exact);
	}
	free(work);
}

static int fuzz_rounds(void)
{
	return getenv("USLAB_TEST_QUICK") ? 2000 : 20000;
}

START_TEST(test_fuzz_segment)
{
	int accepted = 0, refused = 0;
	size_t len;
	void *seed;

	make_known_caches();
	seed = own_segment(&len);
	/* Only the records in use: mutations then hit what is parsed. */
	len = sizeof(struct uslab_export_header) +
	      ((struct uslab_export_header *)seed)->nr_caches *
		      (sizeof(struct uslab_export_cache) +
		       2 * sizeof(struct uslab_export_node));
	fuzz(seed, len, false, fuzz_rounds(), &accepted, &refused);
	printf("fuzz segment: %d mutated segments, %d accepted, %d refused\n",
	       accepted + refused, accepted, refused);
	ck_assert_int_gt(accepted, 0);
	ck_assert_int_gt(refused, 0);
	free(seed);
}
END_TEST

START_TEST(test_fuzz_slabinfo)
{
	int accepted = 0, refused = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	FILE *k = fopen("/proc/slabinfo", "r");
	char line[512];

	make_known_caches();
	uslab_slabinfo(f);
	/* The kernel's own rows too, when this user may read them. */
	while (k && fgets(line, sizeof(line), k))
		if (line[0] != 's' && line[0] != '#')
			fputs(line, f);
	if (k)
		fclose(k);
	fclose(f);
	fuzz(text, len, true, fuzz_rounds(), &accepted, &refused);
	printf("fuzz slabinfo: %d mutated texts, %d accepted, %d refused\n",
	       accepted + refused, accepted, refused);
	ck_assert_int_gt(accepted, 0);
	ck_assert_int_gt(refused, 0);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("slabtop-sources");
	TCase *tc = tcase_create("sources");
	SRunner *sr;
	int failed;

	/* Before the library starts in any test child. */
	setenv("USLAB_FAKE_NUMA", "2", 1);
	unsetenv("USLAB_EXPORT");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ground_truth_info);
	tcase_add_test(tc, test_ground_truth_slabinfo);
	tcase_add_test(tc, test_ground_truth_segment);
	tcase_add_test(tc, test_ground_truth_tool);
	tcase_add_test(tc, test_kmalloc_segment);
	tcase_add_test(tc, test_stale_segment);
	tcase_add_test(tc, test_hostile_files);
	tcase_add_test(tc, test_scribbled_header);
	tcase_add_test(tc, test_truncated_segment);
	tcase_add_test(tc, test_other_version);
	tcase_add_test(tc, test_fields_are_json_keys);
	tcase_add_test(tc, test_fuzz_segment);
	tcase_add_test(tc, test_fuzz_slabinfo);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
