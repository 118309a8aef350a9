// SPDX-License-Identifier: MIT
/*
 * bench/objcache/report.c: the object-cache benchmark's driver and
 * report.  Runs every configuration (workload x object size x threads)
 * with every allocator, each run in a fresh objbench-* process (see
 * objbench.c), in interleaved rounds: for each round, for each
 * configuration, for each allocator, one run, so that drifting machine
 * load hits all allocators alike.  Then prints the median ns per op as a
 * table, with ratios to the naive per-thread free list (the practical
 * limit) and to the best peer, aggregate throughput and 2-thread scaling,
 * churn's peak RSS, and writes the same as TSV.
 *
 * A report, never a test: it exits 0 whatever the numbers say, and a
 * peer that was not built or cannot start here is reported as such while
 * the others carry on.  It exits non-zero only when uslab itself could
 * not be measured or the TSV could not be written.
 *
 * Usage: objcache-report [--bindir DIR] [--tsv FILE] [--log FILE]
 *			  [--runs N] [--scale X] [--only ROW,...]
 *			  [--workload NAME,...]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_RUNS 7
#define MAX_RUNS 25
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One column of the report: an allocator as run by one binary. */
struct row {
	const char *label;
	const char *bin; /* objbench-* in the bin directory */
	const char *kind; /* objbench's KIND argument */
	const char *env; /* NAME=value added to its environment */
	int peer; /* competes for "best peer" */
};

static const struct row rows[] = {
	{ "uslab", "objbench-glibc", "uslab", NULL, 0 },
	{ "uslab-inl", "objbench-inline", "uslab", NULL, 0 },
	{ "uslab-lock", "objbench-glibc", "uslab", "USLAB_PERCPU=lock", 0 },
	{ "naive", "objbench-glibc", "naive", NULL, 0 },
	{ "glibc", "objbench-glibc", "malloc", NULL, 1 },
	{ "jemalloc", "objbench-jemalloc", "malloc", NULL, 1 },
	{ "tcmalloc", "objbench-tcmalloc", "malloc", NULL, 1 },
	{ "mimalloc", "objbench-mimalloc", "malloc", NULL, 1 },
	{ "gslice", "objbench-gslice", "gslice", NULL, 1 },
	{ "dpdk", "objbench-dpdk", "dpdk", NULL, 1 },
};
#define NROWS ARRAY_SIZE(rows)
/* uslab's rows, R_USLAB to R_LOCK, with uslab-inl between them. */
#define R_USLAB 0
#define R_LOCK 2
#define R_NAIVE 3

/* One line of the report: a workload at one size and thread count. */
struct config {
	const char *name; /* as reported */
	const char *wl; /* objbench's WORKLOAD argument */
	unsigned int size;
	unsigned int threads;
	long n;
	long ops; /* per thread, before --scale */
};

static const struct config configs[] = {
	{ "pair", "pair", 64, 1, 0, 2000000 },
	{ "pair", "pair", 64, 2, 0, 2000000 },
	{ "pair", "pair", 256, 1, 0, 2000000 },
	{ "pair", "pair", 256, 2, 0, 2000000 },
	{ "batch-1000", "batch", 64, 1, 1000, 2000000 },
	{ "batch-1000", "batch", 64, 2, 1000, 2000000 },
	{ "batch-100000", "batch", 64, 1, 100000, 2000000 },
	{ "batch-100000", "batch", 64, 2, 100000, 2000000 },
	{ "batch-1000", "batch", 256, 1, 1000, 2000000 },
	{ "batch-1000", "batch", 256, 2, 1000, 2000000 },
	{ "batch-100000", "batch", 256, 1, 100000, 2000000 },
	{ "batch-100000", "batch", 256, 2, 100000, 2000000 },
	{ "xthread", "xthread", 64, 2, 0, 1000000 },
	{ "churn", "churn", 64, 1, 50000, 2000000 },
	{ "churn", "churn", 256, 1, 50000, 2000000 },
};
#define NCONFIGS ARRAY_SIZE(configs)

/* Only churn writes its objects: its rows alone report RSS. */
static int is_churn(size_t ci)
{
	return !strcmp(configs[ci].wl, "churn");
}

struct cell {
	int n; /* successful runs */
	double ns[MAX_RUNS], mops[MAX_RUNS], peak[MAX_RUNS], setup[MAX_RUNS];
	char *failed; /* why a run failed, or NULL */
	/* medians, once all rounds are in */
	double med_ns, min_ns, max_ns, med_mops, med_peak, med_setup;
};

static struct cell cells[NCONFIGS][NROWS];
static char *row_unavailable[NROWS]; /* not built, or cannot start */
static char *row_info[NROWS]; /* what the binary says it ran */
static int row_enabled[NROWS];
static int config_enabled[NCONFIGS];

static const char *bindir = ".";
static const char *tsv_path = "objcache.tsv";
static const char *log_path;
static int runs = DEFAULT_RUNS;
static double scale = 1.0;
static FILE *log_file;

static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("objcache-report: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static char *xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The 1-minute load average, to tell a busy machine in the header. */
static double loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l = -1;

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static long config_ops(const struct config *c)
{
	long ops = (long)((double)c->ops * scale);

	return ops < 1 ? 1 : ops;
}

/* The environment for one row's processes: ours, plus its variable. */
static char **row_environ(const struct row *r)
{
	size_t n = 0, keylen, i, j = 0;
	char **env;

	if (!r->env)
		return environ;
	keylen = (size_t)(strchr(r->env, '=') - r->env) + 1;
	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		die("out of memory");
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], r->env, keylen))
			env[j++] = environ[i];
	env[j++] = (char *)r->env;
	env[j] = NULL;
	return env;
}

/*
 * Run one process: its stdout comes back in out, its stderr goes to the
 * log.  Returns the wait status, or -1 if it could not be started.
 */
static int run_child(const struct row *r, const struct config *c, char *out,
		     size_t outlen)
{
	char path[PATH_MAX], size[16], thr[16], n[32], ops[32];
	char *argv[] = {
		path, (char *)r->kind, (char *)c->wl, size, thr, n, ops, NULL
	};
	posix_spawn_file_actions_t fa;
	char **env = row_environ(r);
	size_t got = 0;
	int fds[2], status, err;
	pid_t pid;
	ssize_t k;

	snprintf(path, sizeof(path), "%s/%s", bindir, r->bin);
	snprintf(size, sizeof(size), "%u", c->size);
	snprintf(thr, sizeof(thr), "%u", c->threads);
	snprintf(n, sizeof(n), "%ld", c->n);
	snprintf(ops, sizeof(ops), "%ld", config_ops(c));
	fprintf(log_file, "+ %s%s%s %s %s %s %s %s %s\n", r->env ? r->env : "",
		r->env ? " " : "", path, argv[1], argv[2], size, thr, n, ops);
	fflush(log_file);

	if (pipe2(fds, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fileno(log_file), 2);
	err = posix_spawn(&pid, path, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	if (env != environ)
		free(env);
	close(fds[1]);
	if (err) {
		close(fds[0]);
		snprintf(out, outlen, "cannot run %s: %s", r->bin,
			 strerror(err));
		return -1;
	}
	while (got + 1 < outlen &&
	       (k = read(fds[0], out + got, outlen - 1 - got)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)k;
	}
	out[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return status;
}

static void chomp(char *s)
{
	s[strcspn(s, "\n")] = '\0';
}

/* One run of one allocator on one configuration. */
static void measure(size_t ri, size_t ci)
{
	const struct row *r = &rows[ri];
	struct cell *cell = &cells[ci][ri];
	char out[1024], info[512];
	double ns, mops;
	long peak, setup;
	int st;

	if (row_unavailable[ri] || cell->failed)
		return;
	st = run_child(r, &configs[ci], out, sizeof(out));
	if (st == -1) {
		row_unavailable[ri] = xasprintf("%s", out);
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3 &&
	    !strncmp(out, "unavailable\t", 12)) {
		chomp(out);
		row_unavailable[ri] = xasprintf("%s", out + 12);
		return;
	}
	if (WIFEXITED(st) && !WEXITSTATUS(st) &&
	    sscanf(out, "ok\t%lf\t%lf\t%ld\t%ld\t%511[^\n]", &ns, &mops, &peak,
		   &setup, info) == 5) {
		cell->ns[cell->n] = ns;
		cell->mops[cell->n] = mops;
		cell->peak[cell->n] = (double)peak;
		cell->setup[cell->n] = (double)setup;
		cell->n++;
		if (!row_info[ri])
			row_info[ri] = xasprintf("%s", info);
		return;
	}
	chomp(out);
	if (!strncmp(out, "failed\t", 7))
		cell->failed = xasprintf("%s", out + 7);
	else if (WIFSIGNALED(st))
		cell->failed =
			xasprintf("killed by signal %d (%s)%s", WTERMSIG(st),
				  strsignal(WTERMSIG(st)),
				  WTERMSIG(st) == SIGALRM ? ", timed out" : "");
	else
		cell->failed =
			xasprintf("exited %d, see the log", WEXITSTATUS(st));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[MAX_RUNS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void summarise(void)
{
	for (size_t ci = 0; ci < NCONFIGS; ci++)
		for (size_t ri = 0; ri < NROWS; ri++) {
			struct cell *c = &cells[ci][ri];
			double s[MAX_RUNS];

			if (!c->n)
				continue;
			c->med_ns = median(c->ns, c->n);
			c->med_mops = median(c->mops, c->n);
			c->med_peak = median(c->peak, c->n);
			c->med_setup = median(c->setup, c->n);
			memcpy(s, c->ns, (size_t)c->n * sizeof(*s));
			qsort(s, (size_t)c->n, sizeof(*s), cmp_double);
			c->min_ns = s[0];
			c->max_ns = s[c->n - 1];
		}
}

static int ok(size_t ci, size_t ri)
{
	return row_enabled[ri] && config_enabled[ci] && cells[ci][ri].n > 0;
}

/* The fastest peer (not uslab, not the naive list) here, or -1. */
static int best_peer(size_t ci)
{
	int best = -1;

	for (size_t ri = 0; ri < NROWS; ri++)
		if (rows[ri].peer && ok(ci, ri) &&
		    (best < 0 || cells[ci][ri].med_ns < cells[ci][best].med_ns))
			best = (int)ri;
	return best;
}

/* "n/a" for an allocator that is out, "FAIL" for a failed run. */
static const char *why_not(size_t ci, size_t ri)
{
	if (!row_enabled[ri])
		return "-";
	if (row_unavailable[ri])
		return "n/a";
	if (cells[ci][ri].failed)
		return "FAIL";
	return "-";
}

static void print_head(const char *title)
{
	printf("\n%s\n%-12s %4s %3s", title, "workload", "size", "thr");
	for (size_t ri = 0; ri < NROWS; ri++)
		if (row_enabled[ri])
			printf(" %10s", rows[ri].label);
	putchar('\n');
}

static void print_config(size_t ci)
{
	printf("%-12s %4u %3u", configs[ci].name, configs[ci].size,
	       configs[ci].threads);
}

enum matrix { M_NS, M_LIMIT, M_MOPS };

static void print_matrix(enum matrix m, const char *title)
{
	print_head(title);
	for (size_t ci = 0; ci < NCONFIGS; ci++) {
		if (!config_enabled[ci])
			continue;
		print_config(ci);
		for (size_t ri = 0; ri < NROWS; ri++) {
			const struct cell *c = &cells[ci][ri];

			if (!row_enabled[ri])
				continue;
			if (!ok(ci, ri))
				printf(" %10s", why_not(ci, ri));
			else if (m == M_NS)
				printf(" %10.2f", c->med_ns);
			else if (m == M_MOPS)
				printf(" %10.1f", c->med_mops);
			else if (ok(ci, R_NAIVE))
				printf(" %10.2f",
				       c->med_ns / cells[ci][R_NAIVE].med_ns);
			else
				printf(" %10s", "-");
		}
		putchar('\n');
	}
}

static void print_ratio(size_t ci, size_t ri, int best)
{
	if (!row_enabled[ri])
		return;
	if (!ok(ci, ri)) {
		printf(" %9s %7s %7s", why_not(ci, ri), "", "");
		return;
	}
	printf(" %9.2f", cells[ci][ri].med_ns);
	if (ok(ci, R_NAIVE))
		printf(" %7.2f",
		       cells[ci][ri].med_ns / cells[ci][R_NAIVE].med_ns);
	else
		printf(" %7s", "-");
	if (best >= 0)
		printf(" %7.2f", cells[ci][ri].med_ns / cells[ci][best].med_ns);
	else
		printf(" %7s", "-");
}

/*
 * The geometric mean over the configurations of each uslab row's ns over
 * the best peer's, where both ran.
 */
static void print_geomeans(void)
{
	printf("%-21s %-9s %9s", "geometric mean", "", "");
	for (size_t ri = R_USLAB; ri <= R_LOCK; ri++) {
		double logs = 0;
		unsigned int n = 0;

		if (!row_enabled[ri])
			continue;
		for (size_t ci = 0; ci < NCONFIGS; ci++) {
			int best = best_peer(ci);

			if (!ok(ci, ri) || best < 0)
				continue;
			logs += log(cells[ci][ri].med_ns /
				    cells[ci][best].med_ns);
			n++;
		}
		if (n)
			printf(" %9s %7s %7.3f", "", "", exp(logs / n));
		else
			printf(" %9s %7s %7s", "", "", "-");
	}
	putchar('\n');
}

static void print_uslab_ratios(void)
{
	printf("\nuslab against the limit (naive list) and the best peer: "
	       "ns/op and ratios\n(x limit = ns / naive ns, x best = "
	       "ns / best peer's ns; 1.00 is as fast, 2.00 twice as slow)\n");
	printf("%-12s %4s %3s %9s %-9s %9s", "workload", "size", "thr",
	       "limit ns", "best peer", "best ns");
	for (size_t ri = R_USLAB; ri <= R_LOCK; ri++)
		if (row_enabled[ri])
			printf(" %9s %7s %7s", rows[ri].label, "x limit",
			       "x best");
	putchar('\n');
	for (size_t ci = 0; ci < NCONFIGS; ci++) {
		int best = best_peer(ci);

		if (!config_enabled[ci])
			continue;
		print_config(ci);
		if (ok(ci, R_NAIVE))
			printf(" %9.2f", cells[ci][R_NAIVE].med_ns);
		else
			printf(" %9s", "-");
		if (best >= 0)
			printf(" %-9s %9.2f", rows[best].label,
			       cells[ci][best].med_ns);
		else
			printf(" %-9s %9s", "-", "-");
		for (size_t ri = R_USLAB; ri <= R_LOCK; ri++)
			print_ratio(ci, ri, best);
		putchar('\n');
	}
	print_geomeans();
}

/* Aggregate throughput with 2 threads over that with 1, per allocator. */
static void print_scaling(void)
{
	int any = 0;

	for (size_t ci = 0; ci + 1 < NCONFIGS; ci++) {
		const struct config *a = &configs[ci], *b = &configs[ci + 1];

		if (strcmp(a->name, b->name) || a->size != b->size ||
		    a->threads != 1 || b->threads != 2 || !config_enabled[ci] ||
		    !config_enabled[ci + 1])
			continue;
		if (!any++) {
			print_head("2-thread scaling: aggregate throughput "
				   "with 2 threads / with 1 (2.00 is perfect)");
		}
		printf("%-12s %4u %3s", a->name, a->size, "2/1");
		for (size_t ri = 0; ri < NROWS; ri++) {
			if (!row_enabled[ri])
				continue;
			if (ok(ci, ri) && ok(ci + 1, ri))
				printf(" %10.2f",
				       cells[ci + 1][ri].med_mops /
					       cells[ci][ri].med_mops);
			else
				printf(" %10s", "-");
		}
		putchar('\n');
	}
}

static void print_churn_config(size_t ci)
{
	const struct config *c = &configs[ci];

	printf("\nchurn: %ld live %u-byte objects, %ld random steps "
	       "(op = one step: an alloc or a free)\n",
	       c->n, c->size, config_ops(c));
	printf("%-10s %9s %9s %8s %14s %14s\n", "allocator", "ns/op", "Mops/s",
	       "x limit", "peak RSS KiB", "setup RSS KiB");
	for (size_t ri = 0; ri < NROWS; ri++) {
		const struct cell *cc = &cells[ci][ri];

		if (!row_enabled[ri])
			continue;
		if (!ok(ci, ri)) {
			printf("%-10s %9s\n", rows[ri].label, why_not(ci, ri));
			continue;
		}
		printf("%-10s %9.2f %9.1f", rows[ri].label, cc->med_ns,
		       cc->med_mops);
		if (ok(ci, R_NAIVE))
			printf(" %8.2f",
			       cc->med_ns / cells[ci][R_NAIVE].med_ns);
		else
			printf(" %8s", "-");
		printf(" %14.0f %14.0f\n", cc->med_peak, cc->med_setup);
	}
}

static void print_churn(void)
{
	int any = 0;

	for (size_t ci = 0; ci < NCONFIGS; ci++) {
		if (!config_enabled[ci] || !is_churn(ci))
			continue;
		if (!any++)
			printf("\n(churn's peak RSS = VmHWM after the run minus "
			       "VmRSS before the allocator was set\n up; "
			       "setup = what the allocator's setup alone added, "
			       "e.g. DPDK's EAL and prefilled pool)\n");
		print_churn_config(ci);
	}
}

static void print_status(void)
{
	int any = 0;

	printf("\nallocators:\n");
	for (size_t ri = 0; ri < NROWS; ri++) {
		if (!row_enabled[ri])
			continue;
		if (row_unavailable[ri])
			printf("  %-10s NOT MEASURED: %s\n", rows[ri].label,
			       row_unavailable[ri]);
		else
			printf("  %-10s %s\n", rows[ri].label,
			       row_info[ri] ? row_info[ri] :
					      "no successful run");
	}
	for (size_t ci = 0; ci < NCONFIGS; ci++)
		for (size_t ri = 0; ri < NROWS; ri++)
			if (row_enabled[ri] && config_enabled[ci] &&
			    cells[ci][ri].failed) {
				if (!any++)
					printf("failed runs (the other "
					       "allocators carried on):\n");
				printf("  %s %s %u x%u: %s\n", rows[ri].label,
				       configs[ci].name, configs[ci].size,
				       configs[ci].threads,
				       cells[ci][ri].failed);
			}
}

static void tsv_num(FILE *f, int have, const char *fmt, double v)
{
	fputc('\t', f);
	if (have)
		fprintf(f, fmt, v);
	else
		fputs("NA", f);
}

static int write_tsv(void)
{
	FILE *f = fopen(tsv_path, "w");

	if (!f) {
		fprintf(stderr, "objcache-report: %s: %s\n", tsv_path,
			strerror(errno));
		return -1;
	}
	fprintf(f, "workload\tsize\tthreads\tn\tallocator\tmedian_ns_per_op"
		   "\tmin_ns_per_op\tmax_ns_per_op\tthroughput_mops"
		   "\tratio_to_limit\tratio_to_best_peer\tbest_peer"
		   "\tpeak_rss_kib\tsetup_rss_kib\truns\tstatus\n");
	for (size_t ci = 0; ci < NCONFIGS; ci++) {
		const struct config *c = &configs[ci];
		int best = best_peer(ci);

		if (!config_enabled[ci])
			continue;
		for (size_t ri = 0; ri < NROWS; ri++) {
			const struct cell *cc = &cells[ci][ri];
			int have = ok(ci, ri);

			if (!row_enabled[ri])
				continue;
			fprintf(f, "%s\t%u\t%u\t%ld\t%s", c->name, c->size,
				c->threads, c->n, rows[ri].label);
			tsv_num(f, have, "%.3f", cc->med_ns);
			tsv_num(f, have, "%.3f", cc->min_ns);
			tsv_num(f, have, "%.3f", cc->max_ns);
			tsv_num(f, have, "%.3f", cc->med_mops);
			tsv_num(f, have && ok(ci, R_NAIVE), "%.3f",
				cc->med_ns / cells[ci][R_NAIVE].med_ns);
			tsv_num(f, have && best >= 0, "%.3f",
				best >= 0 ?
					cc->med_ns / cells[ci][best].med_ns :
					0);
			fprintf(f, "\t%s", best >= 0 ? rows[best].label : "NA");
			tsv_num(f, have && is_churn(ci), "%.0f", cc->med_peak);
			tsv_num(f, have && is_churn(ci), "%.0f", cc->med_setup);
			fprintf(f, "\t%d\t%s\n", cc->n,
				row_unavailable[ri] ? row_unavailable[ri] :
				cc->failed	    ? cc->failed :
				have		    ? "ok" :
						      "no run");
		}
	}
	if (fclose(f)) {
		fprintf(stderr, "objcache-report: %s: %s\n", tsv_path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Enable the comma-separated names in list (NULL: all). */
static void select_names(const char *list, int *enabled, size_t count,
			 const char *(*name)(size_t), const char *what)
{
	char *copy, *tok, *save = NULL;

	for (size_t i = 0; i < count; i++)
		enabled[i] = !list;
	if (!list)
		return;
	copy = xasprintf("%s", list);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int found = 0;

		for (size_t i = 0; i < count; i++)
			if (!strcmp(tok, name(i))) {
				enabled[i] = 1;
				found = 1;
			}
		if (!found)
			die("unknown %s '%s'", what, tok);
	}
	free(copy);
}

static const char *row_name(size_t i)
{
	return rows[i].label;
}

static const char *config_name(size_t i)
{
	return configs[i].name;
}

static void usage(void)
{
	fprintf(stderr, "usage: objcache-report [--bindir DIR] [--tsv FILE] "
			"[--log FILE] [--runs N]\n"
			"                       [--scale X] [--only ROW,...] "
			"[--workload NAME,...]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bindir", required_argument, NULL, 'b' },
		{ "tsv", required_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'l' },
		{ "runs", required_argument, NULL, 'r' },
		{ "scale", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "workload", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL, *workloads = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'b':
			bindir = optarg;
			break;
		case 't':
			tsv_path = optarg;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'r':
			runs = atoi(optarg);
			if (runs < 1 || runs > MAX_RUNS)
				die("--runs takes 1 to %d", MAX_RUNS);
			break;
		case 's':
			scale = atof(optarg);
			if (!(scale > 0))
				die("--scale takes a positive number");
			break;
		case 'o':
			only = optarg;
			break;
		case 'w':
			workloads = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	select_names(only, row_enabled, NROWS, row_name, "allocator");
	select_names(workloads, config_enabled, NCONFIGS, config_name,
		     "workload");
	if (!log_path) {
		const char *dot = strrchr(tsv_path, '.');
		int stem = dot ? (int)(dot - tsv_path) : (int)strlen(tsv_path);

		log_path = xasprintf("%.*s.log", stem, tsv_path);
	}
}

int main(int argc, char **argv)
{
	double t0 = now_s(), load0 = loadavg(), load1;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	parse_args(argc, argv);
	log_file = fopen(log_path, "w");
	if (!log_file)
		die("%s: %s", log_path, strerror(errno));

	/* A binary that was not built is a peer that is out, not an error. */
	for (size_t ri = 0; ri < NROWS; ri++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", bindir, rows[ri].bin);
		if (row_enabled[ri] && access(path, X_OK))
			row_unavailable[ri] = xasprintf(
				"not built: no %s (see %s.log)", path, path);
	}

	fprintf(stderr,
		"objcache: %d rounds x %zu configurations x up to "
		"%zu allocators, one process each (log: %s)\n",
		runs, NCONFIGS, NROWS, log_path);
	for (int r = 0; r < runs; r++) {
		for (size_t ci = 0; ci < NCONFIGS; ci++)
			for (size_t ri = 0; ri < NROWS; ri++)
				if (row_enabled[ri] && config_enabled[ci])
					measure(ri, ci);
		fprintf(stderr, "objcache: round %d/%d done, %.0f s\n", r + 1,
			runs, now_s() - t0);
	}
	load1 = loadavg();
	summarise();
	fclose(log_file);

	printf("\nobjcache: object-cache benchmark (a report; nothing "
	       "passes or fails on time)\n");
	printf("median of %d runs per cell, each run a fresh process with a "
	       "warm-up pass;\nrounds interleaved across allocators; threads "
	       "pinned over %ld CPUs; ops scaled x%g;\nload average %.2f "
	       "before the run, %.2f after (the benchmark alone adds\nabout "
	       "1-2; more means other work, which also shows in the TSV's "
	       "max_ns_per_op)\n",
	       runs, ncpu, scale, load0, load1);
	printf("op: pair/batch = one alloc + one free; xthread = one object "
	       "allocated on\nCPU 0 and freed on CPU 1 (wall time per object);"
	       " churn = one random step.\nns/op is per thread (each "
	       "thread's own time, averaged).\n");
	print_status();
	print_matrix(M_NS, "ns per op, median (lower is better)");
	print_matrix(M_LIMIT, "ns per op / naive list's (the limit; "
			      "xthread: naive never recycles, not a limit)");
	print_uslab_ratios();
	print_matrix(M_MOPS, "aggregate throughput, Mops/s, all threads "
			     "(higher is better)");
	print_scaling();
	print_churn();

	if (write_tsv())
		return 1;
	printf("\nTSV: %s\nchild stderr and commands: %s\ntotal %.0f s\n",
	       tsv_path, log_path, now_s() - t0);
	/* The report is useless without uslab itself. */
	return row_enabled[R_USLAB] && row_unavailable[R_USLAB] ? 1 : 0;
}
