// SPDX-License-Identifier: MIT
/*
 * uslab-slabtop - procps slabtop for uslab processes and slabinfo text.
 *
 * A source (a live uslab process's segment, -p; slabinfo 2.x text, -f;
 * or, by default, the one uslab process of this user or /proc/slabinfo)
 * fills a struct st_snapshot (slabtop.h).  Every view renders one
 * snapshot as lines through struct out, which goes either to stdout (-o)
 * or to the curses screen, so the two print the same text:
 *
 *   slabs  procps slabtop's summary, column header and rows (default);
 *   nodes  one row per cache and node (uslab sources only);
 *   frag   the fragmentation picture per cache (uslab sources only);
 *   mags   magazine and depot occupancy per cache (uslab sources only).
 *
 * --json prints every field of a snapshot as one JSON document.  The
 * procps format is procps-ng 4.0.6's (src/slabtop.c); the differences are
 * listed in Documentation/slabtop.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "slabtop.h"

#define PROG "uslab-slabtop"
#ifndef USLAB_VERSION
#define USLAB_VERSION "unknown"
#endif

#define DEFAULT_DELAY 3
#define DEFAULT_SORT 'o'
#define MIN_ROWS 10
#define MIN_COLS 40
#define LINE_MAX_LEN 512
#define PROC_SLABINFO "/proc/slabinfo"

enum view { VIEW_SLABS, VIEW_NODES, VIEW_FRAG, VIEW_MAGS, NR_VIEWS };

static const char *const view_names[NR_VIEWS] = { "slabs", "nodes", "frag",
						  "mags" };

/* What a view needs that slabinfo text lacks, for the message. */
static const char *const view_needs[NR_VIEWS] = {
	NULL, "per-node figures", "fragmentation figures",
	"magazine and depot figures"
};

struct opts {
	long delay; /* 0: not given */
	bool once, json, human, list;
	char sort;
	enum view view;
	int pid; /* 0: not given */
	const char *file; /* NULL: not given */
};

struct source {
	int pid; /* > 0: a uslab process */
	const char *file; /* otherwise slabinfo text, "-": stdin */
	char note[128]; /* appended to the source line */
};

/* ---- Errors ------------------------------------------------------------ */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fflush(stdout);
	fprintf(stderr, PROG ": %s\n", msg);
	exit(EXIT_FAILURE);
}

/* ---- Arithmetic that cannot wrap on hostile input ---------------------- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* ---- Per-cache figures ------------------------------------------------- */

static uint32_t page_size_of(const struct st_snapshot *snap)
{
	long pg;

	if (snap->page_size)
		return snap->page_size;
	pg = sysconf(_SC_PAGESIZE);
	return pg > 0 ? (uint32_t)pg : 4096;
}

/* procps: (unsigned)(100 * ((float)active / num)), in float. */
static unsigned int cache_use(const struct st_cache *c)
{
	float r;

	if (!c->num_objs)
		return 0;
	r = (float)c->active_objs / (float)c->num_objs;
	return (unsigned int)(100 * r);
}

/* procps: num_slabs * pagesperslab * page_size, an upper bound. */
static uint64_t cache_bytes(const struct st_cache *c, uint32_t page_size)
{
	return sat_mul(sat_mul(c->num_slabs, c->pagesperslab), page_size);
}

/* Control characters never reach the terminal. */
static const char *safe(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[i] = '\0';
	return buf;
}

/* Whatever a parser filled in, strings end and counts stay in bounds. */
static void snap_sanitize(struct st_snapshot *snap)
{
	size_t i;

	snap->origin[sizeof(snap->origin) - 1] = '\0';
	snap->comm[sizeof(snap->comm) - 1] = '\0';
	snap->percpu_mode[sizeof(snap->percpu_mode) - 1] = '\0';
	if (!snap->caches)
		snap->nr_caches = 0;
	for (i = 0; i < snap->nr_caches; i++) {
		struct st_cache *c = &snap->caches[i];

		c->name[ST_NAME_MAX - 1] = '\0';
		if (c->nr_nodes > ST_MAX_NODES || !c->node)
			c->nr_nodes = c->node ? ST_MAX_NODES : 0;
	}
}

static bool snap_has_ext(const struct st_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nr_caches; i++)
		if (snap->caches[i].has_ext)
			return true;
	return false;
}

/* ---- Sorting (procps: stable, all descending but the name) ------------- */

static char sort_key = DEFAULT_SORT;
static const struct st_snapshot *sort_snap;

static const char *sort_name(char key)
{
	switch (key) {
	case 'a':
		return "active objects";
	case 'b':
		return "objects per slab";
	case 'c':
		return "cache size";
	case 'l':
		return "slabs";
	case 'v':
		return "active slabs";
	case 'n':
		return "name";
	case 'p':
		return "pages per slab";
	case 's':
		return "object size";
	case 'u':
		return "utilization";
	default:
		return "objects";
	}
}

static bool is_sort_key(int c)
{
	return c > 0 && c < 256 && strchr("abclvnopsu", tolower(c));
}

/* procps's set_sort_stuff(): an unknown key means the default. */
static char sort_from(int c)
{
	return is_sort_key(c) ? (char)tolower(c) : DEFAULT_SORT;
}

static int desc(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int sort_cmp(const void *pa, const void *pb)
{
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const struct st_cache *a = &sort_snap->caches[ia];
	const struct st_cache *b = &sort_snap->caches[ib];
	uint32_t pg = page_size_of(sort_snap);
	int r;

	switch (sort_key) {
	case 'a':
		r = desc(a->active_objs, b->active_objs);
		break;
	case 'b':
		r = desc(a->objperslab, b->objperslab);
		break;
	case 'c':
		r = desc(cache_bytes(a, pg), cache_bytes(b, pg));
		break;
	case 'l':
		r = desc(a->num_slabs, b->num_slabs);
		break;
	case 'v':
		r = desc(a->active_slabs, b->active_slabs);
		break;
	case 'n':
		r = strcoll(a->name, b->name);
		break;
	case 'p':
		r = desc(a->pagesperslab, b->pagesperslab);
		break;
	case 's':
		r = desc(a->objsize, b->objsize);
		break;
	case 'u':
		r = desc(cache_use(a), cache_use(b));
		break;
	default:
		r = desc(a->num_objs, b->num_objs);
		break;
	}
	if (r)
		return r < 0 ? -1 : 1;
	return ia < ib ? -1 : ia > ib; /* ties keep the input's order */
}

/* The caches' indices in display order; NULL only when out of memory. */
static size_t *sort_order(const struct st_snapshot *snap)
{
	size_t i, *order = malloc((snap->nr_caches + 1) * sizeof(*order));

	if (!order)
		return NULL;
	for (i = 0; i < snap->nr_caches; i++)
		order[i] = i;
	sort_snap = snap;
	qsort(order, snap->nr_caches, sizeof(*order), sort_cmp);
	return order;
}

/* ---- Sizes as procps prints them (local/units.c scale_size) ------------ */

/*
 * @bytes in the fewest characters: "512B", "1.5Ki", "123Ki", "1.0Mi"...
 * the human-readable branch of procps's scale_size(), float and all.
 */
static const char *fmt_human(uint64_t bytes, char *buf, size_t n)
{
	static const char up[] = "BKMGTP";
	double div = 1;
	int i;

	if (snprintf(buf, n, "%" PRIu64 "%c", bytes, up[0]) <= 4)
		return buf;
	for (i = 1; up[i]; i++) {
		double v;

		div *= 1024;
		v = (double)bytes / div;
		if (snprintf(buf, n, "%.1f%ci", (double)(float)v, up[i]) <= 5)
			return buf;
		if (snprintf(buf, n, "%lu%ci", (unsigned long)v, up[i]) <= 5)
			return buf;
	}
	return buf;
}

/* procps's scale_size(bytes / 1024, 0, 0, human): KiB, or human units. */
static const char *fmt_kib(uint64_t bytes, bool human, char *buf, size_t n)
{
	uint64_t kib = bytes / 1024;

	if (!human) {
		snprintf(buf, n, "%" PRIu64, kib);
		return buf;
	}
	return fmt_human(sat_mul(kib, 1024), buf, n);
}

/* ---- Output: stdout or the curses screen ------------------------------- */

struct out {
	bool curses;
	int y, maxy; /* curses: next row, first row not to use */
};

static void out_vline(struct out *o, int attr, const char *fmt, va_list ap)
{
	char buf[2 * LINE_MAX_LEN]; /* the longest line is under 600 */
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (!o->curses) {
		fputs(buf, stdout);
		return;
	}
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (o->y >= o->maxy)
		return;
	if (attr) {
		attron(attr);
		mvhline(o->y, 0, ' ', COLS);
	}
	mvaddnstr(o->y, 0, buf, COLS);
	if (attr)
		attroff(attr);
	o->y++;
}

static void __attribute__((format(printf, 3, 4)))
out_line(struct out *o, int attr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vline(o, attr, fmt, ap);
	va_end(ap);
}

static bool out_full(const struct out *o)
{
	return o->curses && o->y >= o->maxy;
}

/* ---- The vocabulary (<uslab/stat_items.h>) ----------------------------- */

#define HEAD_(name, column, doc) column,
#define KEY_(name, column, doc) #name,
#define DOC_(name, column, doc) doc,

enum stat_src { SRC_LAYOUT, SRC_COUNT, SRC_CACHE, SRC_DERIVED, NR_SRCS };

static const struct stat_list {
	const char *title;
	unsigned int nr;
	const char *const *head, *const *key, *const *doc;
} stat_lists[NR_SRCS] = {
	[SRC_LAYOUT] = {
		"layout (one per cache)", USLAB_NR_LAYOUT_STATS,
		(const char *const[]){ USLAB_STAT_LAYOUT(HEAD_) },
		(const char *const[]){ USLAB_STAT_LAYOUT(KEY_) },
		(const char *const[]){ USLAB_STAT_LAYOUT(DOC_) },
	},
	[SRC_COUNT] = {
		"counts (per node; a cache's are the sums)",
		USLAB_NR_COUNT_STATS,
		(const char *const[]){ USLAB_STAT_COUNTS(HEAD_) },
		(const char *const[]){ USLAB_STAT_COUNTS(KEY_) },
		(const char *const[]){ USLAB_STAT_COUNTS(DOC_) },
	},
	[SRC_CACHE] = {
		"cache-wide counts", USLAB_NR_CACHE_STATS,
		(const char *const[]){ USLAB_STAT_CACHE(HEAD_) },
		(const char *const[]){ USLAB_STAT_CACHE(KEY_) },
		(const char *const[]){ USLAB_STAT_CACHE(DOC_) },
	},
	[SRC_DERIVED] = {
		"derived (computed by readers)", USLAB_NR_DERIVED_STATS,
		(const char *const[]){ USLAB_STAT_DERIVED(HEAD_) },
		(const char *const[]){ USLAB_STAT_DERIVED(KEY_) },
		(const char *const[]){ USLAB_STAT_DERIVED(DOC_) },
	},
};

/* Figure @id of list @src of a cache's uslab figures. */
static uint64_t stat_value(const struct st_ext *x, enum stat_src src,
			   unsigned int id)
{
	switch (src) {
	case SRC_LAYOUT:
		return x->layout[id];
	case SRC_COUNT:
		return x->count[id];
	case SRC_CACHE:
		return x->cache_count[id];
	default:
		return x->derived[id];
	}
}

/* --fields: every figure, its column and what it is. */
static int print_fields(void)
{
	unsigned int s, i;

	for (s = 0; s < NR_SRCS; s++) {
		const struct stat_list *l = &stat_lists[s];

		printf("%s%s:\n", s ? "\n" : "", l->title);
		for (i = 0; i < l->nr; i++)
			printf("  %-18s %-11s %s\n", l->key[i], l->head[i],
			       l->doc[i]);
	}
	printf("  %-18s %-11s %s\n", "efficiency", USLAB_STAT_EFFICIENCY_COLUMN,
	       USLAB_STAT_EFFICIENCY_DOC);
	return 0;
}

/* ---- Summary (procps's print_summary) ---------------------------------- */

struct totals {
	uint64_t aobjs, objs, aslabs, slabs, acaches, caches;
	uint64_t asize, tsize; /* bytes */
	uint64_t min, avg, max; /* object size */
	/* Over the caches with uslab figures (ext). */
	bool ext;
	uint64_t live_bytes; /* active * object size */
	uint64_t count[USLAB_NR_COUNT_STATS];
	uint64_t derived[USLAB_NR_DERIVED_STATS];
};

static void totals_of(const struct st_snapshot *snap, struct totals *t)
{
	size_t i;
	unsigned int k;

	memset(t, 0, sizeof(*t));
	t->min = snap->nr_caches ? UINT64_MAX : 0;
	for (i = 0; i < snap->nr_caches; i++) {
		const struct st_cache *c = &snap->caches[i];
		const struct st_ext *x = &c->ext;

		t->aobjs = sat_add(t->aobjs, c->active_objs);
		t->objs = sat_add(t->objs, c->num_objs);
		t->aslabs = sat_add(t->aslabs, c->active_slabs);
		t->slabs = sat_add(t->slabs, c->num_slabs);
		t->caches++;
		if (c->num_objs)
			t->acaches++;
		t->asize =
			sat_add(t->asize, sat_mul(c->active_objs, c->objsize));
		t->tsize = sat_add(t->tsize, sat_mul(c->num_objs, c->objsize));
		if (c->objsize < t->min)
			t->min = c->objsize;
		if (c->objsize > t->max)
			t->max = c->objsize;
		if (!c->has_ext)
			continue;
		t->ext = true;
		t->live_bytes = sat_add(
			t->live_bytes, sat_mul(x->active_objs, x->object_size));
		for (k = 0; k < USLAB_NR_COUNT_STATS; k++)
			t->count[k] = sat_add(t->count[k], x->count[k]);
		for (k = 0; k < USLAB_NR_DERIVED_STATS; k++)
			t->derived[k] = sat_add(t->derived[k], x->derived[k]);
	}
	if (t->objs)
		t->avg = t->tsize / t->objs;
}

/* The one line naming where the figures come from. */
static void source_text(const struct st_snapshot *snap,
			const struct source *src, bool with_time, char *buf,
			size_t n)
{
	char tmp[sizeof(snap->origin)];
	size_t len;

	snprintf(buf, n, "%s", safe(snap->origin, tmp, sizeof(tmp)));
	len = strlen(buf);
	if (snap->kind == ST_PROCESS) {
		if (snap->nr_nodes)
			len += (size_t)snprintf(
				buf + len, n - len, ", %u node%s%s",
				snap->nr_nodes, snap->nr_nodes == 1 ? "" : "s",
				snap->fake_numa ? " (fake)" : "");
		if (len < n && snap->percpu_mode[0])
			len += (size_t)snprintf(
				buf + len, n - len, ", per-CPU %s",
				safe(snap->percpu_mode, tmp, sizeof(tmp)));
		if (len < n && snap->dropped)
			len += (size_t)snprintf(buf + len, n - len,
						", %u caches not exported",
						snap->dropped);
	}
	if (len < n && src->note[0])
		len += (size_t)snprintf(buf + len, n - len, "%s", src->note);
	if (len < n && with_time && snap->updated_ns) {
		time_t t = (time_t)(snap->updated_ns / 1000000000u);
		struct tm tm;

		if (localtime_r(&t, &tm))
			snprintf(buf + len, n - len, ", at %02d:%02d:%02d",
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
}

/*
 * kmalloc's blocks and mappings above its size classes, held now: one
 * line, for a process that has had any.
 */
static void print_kmalloc(struct out *o, const struct st_snapshot *snap,
			  bool human)
{
	const uint64_t *k = snap->kmalloc;
	char a[32], b[32];
	unsigned int i;

	for (i = 0; i < USLAB_NR_KMALLOC_STATS && !k[i]; i++)
		;
	if (i == USLAB_NR_KMALLOC_STATS)
		return;
	out_line(o, 0, " %-35s: %" PRIu64 " (%s) / %" PRIu64 " (%s)\n",
		 "kmalloc Page Blocks / Own Mappings",
		 k[USLAB_STAT_large_allocs] - k[USLAB_STAT_large_frees],
		 fmt_kib(k[USLAB_STAT_large_bytes], human, a, sizeof(a)),
		 k[USLAB_STAT_huge_allocs] - k[USLAB_STAT_huge_frees],
		 fmt_kib(k[USLAB_STAT_huge_bytes], human, b, sizeof(b)));
}

static void print_summary(struct out *o, const struct totals *t, enum view view,
			  bool human)
{
	char a[32], b[32], c[32];

	out_line(o, 0, " %-35s: %" PRIu64 " / %" PRIu64 " (%.1f%%)\n",
		 "Active / Total Objects (% used)", t->aobjs, t->objs,
		 pct((double)t->aobjs, (double)t->objs));
	out_line(o, 0, " %-35s: %" PRIu64 " / %" PRIu64 " (%.1f%%)\n",
		 "Active / Total Slabs (% used)", t->aslabs, t->slabs,
		 pct((double)t->aslabs, (double)t->slabs));
	out_line(o, 0, " %-35s: %" PRIu64 " / %" PRIu64 " (%.1f%%)\n",
		 "Active / Total Caches (% used)", t->acaches, t->caches,
		 pct((double)t->acaches, (double)t->caches));
	out_line(o, 0, " %-35s: %s / %s (%.1f%%)\n",
		 "Active / Total Size (% used)",
		 fmt_kib(t->asize, human, a, sizeof(a)),
		 fmt_kib(t->tsize, human, b, sizeof(b)),
		 pct((double)t->asize, (double)t->tsize));
	out_line(o, 0, " %-35s: %.2fK / %.2fK / %.2fK\n",
		 "Minimum / Average / Maximum Object", (double)t->min / 1024.0,
		 (double)t->avg / 1024.0, (double)t->max / 1024.0);

	if (t->ext && view == VIEW_FRAG) {
		uint64_t slab = t->derived[USLAB_STAT_slab_bytes];

		out_line(o, 0, " %-35s: %s / %s (%.1f%%)\n",
			 "Live / Slab Memory (efficiency)",
			 fmt_human(t->live_bytes, a, sizeof(a)),
			 fmt_human(slab, b, sizeof(b)),
			 pct((double)t->live_bytes, (double)slab));
		out_line(o, 0, " %-35s: %s / %s / %s\n",
			 "Padding / Tail / Free Bytes",
			 fmt_human(t->derived[USLAB_STAT_padding_bytes], a,
				   sizeof(a)),
			 fmt_human(t->derived[USLAB_STAT_tail_bytes], b,
				   sizeof(b)),
			 fmt_human(t->derived[USLAB_STAT_free_bytes], c,
				   sizeof(c)));
	} else if (t->ext && view == VIEW_MAGS) {
		out_line(o, 0,
			 " %-35s: %" PRIu64 " / %" PRIu64
			 " (%.1f%% of objects)\n",
			 "CPU / Depot Cached Objects",
			 t->count[USLAB_STAT_cpu_cached_objs],
			 t->count[USLAB_STAT_depot_objs],
			 pct((double)t->derived[USLAB_STAT_cached_objs],
			     (double)t->objs));
		out_line(o, 0, " %-35s: %" PRIu64 " / %" PRIu64 "\n",
			 "Depot Full / Empty Magazines",
			 t->count[USLAB_STAT_depot_full],
			 t->count[USLAB_STAT_depot_empty]);
	}
	out_line(o, 0, "\n");
}

/* ---- The views' tables ------------------------------------------------- */

static void rows_slabs(struct out *o, const struct st_snapshot *snap,
		       const size_t *order, bool human)
{
	uint32_t pg = page_size_of(snap);
	char size[32], name[ST_NAME_MAX];
	size_t i;

	/* procps pads the header to 80 columns. */
	out_line(
		o, A_REVERSE, "%-80s\n",
		"    OBJS   ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME");
	for (i = 0; i < snap->nr_caches && !out_full(o); i++) {
		const struct st_cache *c = &snap->caches[order[i]];

		out_line(o, 0,
			 "%8" PRIu64 " %8" PRIu64 " %3u%% %7.2fK %6" PRIu64
			 " %8u %10s %-23s\n",
			 c->num_objs, c->active_objs, cache_use(c),
			 c->objsize / 1024.0, c->num_slabs, c->objperslab,
			 fmt_kib(cache_bytes(c, pg), human, size, sizeof(size)),
			 safe(c->name, name, sizeof(name)));
	}
}

/*
 * The uslab views are tables of figures of the vocabulary: each column
 * names its list and item, and takes its heading from there.
 */
enum col_fmt { F_NUM, F_BYTES, F_CAP, F_EFF };

struct column {
	enum stat_src src;
	unsigned int id;
	enum col_fmt fmt;
};

#define COUNT(x)                                 \
	{                                        \
		SRC_COUNT, USLAB_STAT_##x, F_NUM \
	}
#define BYTES(x)                                     \
	{                                            \
		SRC_DERIVED, USLAB_STAT_##x, F_BYTES \
	}

static const struct column nodes_cols[] = {
	COUNT(total_objs),
	COUNT(active_objs),
	COUNT(cpu_cached_objs),
	COUNT(depot_objs),
	COUNT(partial_free_objs),
	COUNT(remote_frees),
	COUNT(allocs),
	COUNT(frees),
};

static const struct column frag_cols[] = {
	{ SRC_DERIVED, 0, F_EFF },
	BYTES(slab_bytes),
	BYTES(padding_bytes),
	BYTES(tail_bytes),
	BYTES(free_bytes),
	COUNT(partial_free_objs),
	{ SRC_DERIVED, USLAB_STAT_cached_objs, F_NUM },
	COUNT(nr_partial),
	{ SRC_LAYOUT, USLAB_STAT_object_size, F_NUM },
	{ SRC_LAYOUT, USLAB_STAT_slot_size, F_NUM },
};

static const struct column mags_cols[] = {
	{ SRC_LAYOUT, USLAB_STAT_mag_capacity, F_CAP },
	COUNT(cpu_cached_objs),
	COUNT(depot_objs),
	COUNT(depot_full),
	COUNT(depot_empty),
	COUNT(depot_exchanges),
	COUNT(allocs),
	COUNT(frees),
	COUNT(remote_frees),
	{ SRC_CACHE, USLAB_STAT_bad_frees, F_NUM },
};

#undef COUNT
#undef BYTES

static const char *col_head(const struct column *col)
{
	if (col->fmt == F_EFF)
		return USLAB_STAT_EFFICIENCY_COLUMN;
	return stat_lists[col->src].head[col->id];
}

/* Wide enough for its heading and for its figures. */
static int col_width(const struct column *col)
{
	int w = col->fmt == F_NUM ? 9 : 6;
	int h = (int)strlen(col_head(col));

	return h > w ? h : w;
}

/* Figure @col of @x (a node's counts in @node, when given) as text. */
static const char *col_text(const struct column *col, const struct st_ext *x,
			    const struct st_node *node, char *buf, size_t n)
{
	uint64_t v;
	double eff;

	if (!x) {
		snprintf(buf, n, "-");
		return buf;
	}
	if (col->fmt == F_EFF) {
		eff = x->efficiency * 100.0;
		if (!isfinite(eff) || eff < 0)
			eff = 0;
		snprintf(buf, n, "%.1f%%", eff > 999 ? 999 : eff);
		return buf;
	}
	v = node && col->src == SRC_COUNT ? node->count[col->id] :
					    stat_value(x, col->src, col->id);
	if (col->fmt == F_BYTES)
		return fmt_human(v, buf, n);
	if (col->fmt == F_CAP && !v)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%" PRIu64, v);
	return buf;
}

/*
 * One line of a table: @name, @node (NULL: no node column), then every
 * column's heading (@x NULL and @heading) or figure.
 */
static void table_line(struct out *o, const struct column *cols, size_t nr,
		       const char *name, const char *node,
		       const struct st_ext *x, const struct st_node *nd,
		       bool heading)
{
	char line[LINE_MAX_LEN], v[32];
	size_t i, len;

	len = (size_t)snprintf(line, sizeof(line), "%-22s", name);
	if (node)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %4s",
					node);
	for (i = 0; i < nr && len < sizeof(line); i++)
		len += (size_t)snprintf(
			line + len, sizeof(line) - len, " %*s",
			col_width(&cols[i]),
			heading ? col_head(&cols[i]) :
				  col_text(&cols[i], x, nd, v, sizeof(v)));
	out_line(o, heading ? A_REVERSE : 0, "%s\n", line);
}

static void rows_table(struct out *o, const struct st_snapshot *snap,
		       const size_t *order, const struct column *cols,
		       size_t nr, bool per_node)
{
	char name[ST_NAME_MAX], node[16];
	size_t i;
	uint32_t n;

	table_line(o, cols, nr, "NAME", per_node ? "NODE" : NULL, NULL, NULL,
		   true);
	for (i = 0; i < snap->nr_caches && !out_full(o); i++) {
		const struct st_cache *c = &snap->caches[order[i]];
		const struct st_ext *x = c->has_ext ? &c->ext : NULL;

		safe(c->name, name, sizeof(name));
		if (!per_node || !x || !c->nr_nodes) {
			table_line(o, cols, nr, name,
				   per_node ? (x ? "all" : "-") : NULL, x, NULL,
				   false);
			continue;
		}
		for (n = 0; n < c->nr_nodes && !out_full(o); n++) {
			snprintf(node, sizeof(node), "%u", n);
			table_line(o, cols, nr, name, node, x, &c->node[n],
				   false);
		}
	}
}

#define ROWS(o, snap, order, cols, per_node)                             \
	rows_table(o, snap, order, cols, sizeof(cols) / sizeof(cols[0]), \
		   per_node)

static void not_available(char *buf, size_t n, const struct st_snapshot *snap,
			  enum view view)
{
	(void)snap;
	snprintf(
		buf, n,
		"%s: not available in slabinfo text (use -p PID of a uslab process)",
		view_needs[view]);
}

/* The whole screen or -o output of @view, below the source line. */
static void render(struct out *o, const struct st_snapshot *snap,
		   const size_t *order, enum view view, bool human)
{
	struct totals t;
	char msg[LINE_MAX_LEN];

	totals_of(snap, &t);
	print_summary(o, &t, view, human);
	if (snap->kind == ST_PROCESS)
		print_kmalloc(o, snap, human);
	if (view != VIEW_SLABS && !t.ext) {
		not_available(msg, sizeof(msg), snap, view);
		out_line(o, 0, "%s\n", msg);
		return;
	}
	switch (view) {
	case VIEW_NODES:
		ROWS(o, snap, order, nodes_cols, true);
		break;
	case VIEW_FRAG:
		ROWS(o, snap, order, frag_cols, false);
		break;
	case VIEW_MAGS:
		ROWS(o, snap, order, mags_cols, false);
		break;
	default:
		rows_slabs(o, snap, order, human);
		break;
	}
}

/* ---- JSON -------------------------------------------------------------- */

/* A JSON string: escapes, and invalid UTF-8 as U+FFFD. */
static void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putc('"', f);
	while (*p) {
		unsigned char c = *p;
		int len = 0, i;

		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			p++;
			continue;
		}
		if (c < 0x80) {
			putc(c, f);
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		for (i = 1; i < len; i++) {
			unsigned char lo = 0x80, hi = 0xbf;

			if (i == 1 && c == 0xe0)
				lo = 0xa0;
			else if (i == 1 && c == 0xed)
				hi = 0x9f;
			else if (i == 1 && c == 0xf0)
				lo = 0x90;
			else if (i == 1 && c == 0xf4)
				hi = 0x8f;
			if (p[i] < lo || p[i] > hi)
				break;
		}
		if (!len || i < len) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		fwrite(p, 1, (size_t)len, f);
		p += len;
	}
	putc('"', f);
}

static double json_num(double d)
{
	return isfinite(d) ? d : 0.0;
}

#define JU(key, val) fprintf(f, ", \"" key "\": %" PRIu64, (uint64_t)(val))

/*
 * The keys procps's columns and summary already give: a figure of the
 * vocabulary with the same name and meaning is not written twice.
 */
static bool procps_key(const char *key)
{
	static const char *const keys[] = { "active_objs", "num_objs",
					    "active_slabs", "num_slabs" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

/* Every figure of list @src in @v, keyed by its name. */
static void json_list(FILE *f, enum stat_src src, const uint64_t *v,
		      bool skip_procps)
{
	const struct stat_list *l = &stat_lists[src];
	unsigned int i;

	for (i = 0; i < l->nr; i++)
		if (!skip_procps || !procps_key(l->key[i]))
			fprintf(f, ", \"%s\": %" PRIu64, l->key[i], v[i]);
}

static void json_node(FILE *f, const struct st_node *n, uint32_t id)
{
	fprintf(f, "{\"node\": %u", id);
	json_list(f, SRC_COUNT, n->count, false);
	putc('}', f);
}

static void json_cache(FILE *f, const struct st_cache *c, uint32_t pg)
{
	const struct st_ext *x = &c->ext;
	uint64_t layout[USLAB_NR_LAYOUT_STATS];
	unsigned int i;
	uint32_t n;

	fputs("    {\"name\": ", f);
	json_str(f, c->name);
	JU("active_objs", c->active_objs);
	JU("num_objs", c->num_objs);
	JU("objsize", c->objsize);
	JU("objperslab", c->objperslab);
	JU("pagesperslab", c->pagesperslab);
	JU("limit", c->limit);
	JU("batchcount", c->batchcount);
	JU("sharedfactor", c->sharedfactor);
	JU("active_slabs", c->active_slabs);
	JU("num_slabs", c->num_slabs);
	JU("sharedavail", c->sharedavail);
	JU("use_percent", cache_use(c));
	JU("cache_size_bytes", cache_bytes(c, pg));
	fprintf(f, ", \"has_ext\": %s", c->has_ext ? "true" : "false");
	if (!c->has_ext) {
		putc('}', f);
		return;
	}
	JU("flags", x->flags);
	for (i = 0; i < USLAB_NR_LAYOUT_STATS; i++)
		layout[i] = x->layout[i];
	json_list(f, SRC_LAYOUT, layout, true);
	json_list(f, SRC_COUNT, x->count, true);
	json_list(f, SRC_CACHE, x->cache_count, true);
	json_list(f, SRC_DERIVED, x->derived, true);
	fprintf(f, ", \"efficiency\": %.6f", json_num(x->efficiency));
	JU("nr_nodes", c->nr_nodes);
	fputs(",\n     \"nodes\": [", f);
	for (n = 0; n < c->nr_nodes; n++) {
		fputs(n ? ",\n       " : "\n       ", f);
		json_node(f, &c->node[n], n);
	}
	fputs("]}", f);
}

#define KMALLOC_KEY_(name, column, doc) #name,
static const char *const kmalloc_keys[] = { USLAB_STAT_KMALLOC(KMALLOC_KEY_) };
#undef KMALLOC_KEY_

static void print_json(const struct st_snapshot *snap, const size_t *order)
{
	uint32_t pg = page_size_of(snap);
	FILE *f = stdout;
	struct totals t;
	size_t i;

	totals_of(snap, &t);
	fputs("{\n  \"tool\": \"" PROG "\", \"version\": \"" USLAB_VERSION
	      "\",\n  \"source\": {\"kind\": ",
	      f);
	json_str(f, snap->kind == ST_PROCESS ? "process" : "slabinfo");
	fputs(", \"origin\": ", f);
	json_str(f, snap->origin);
	if (snap->kind == ST_PROCESS) {
		fprintf(f, ", \"pid\": %d, \"comm\": ", snap->pid);
		json_str(f, snap->comm);
		fputs(", \"percpu_mode\": ", f);
		json_str(f, snap->percpu_mode);
		fprintf(f, ", \"fake_numa\": %s",
			snap->fake_numa ? "true" : "false");
		JU("dropped", snap->dropped);
		fputs(", \"kmalloc\": {", f);
		for (i = 0; i < USLAB_NR_KMALLOC_STATS; i++)
			fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
				kmalloc_keys[i], snap->kmalloc[i]);
		putc('}', f);
	}
	JU("page_size", pg);
	JU("nr_nodes", snap->nr_nodes);
	JU("updated_ns", snap->updated_ns);
	fprintf(f, "},\n  \"sort\": \"%c\",\n  \"summary\": {", sort_key);
	fprintf(f, "\"active_objs\": %" PRIu64, t.aobjs);
	JU("num_objs", t.objs);
	JU("active_slabs", t.aslabs);
	JU("num_slabs", t.slabs);
	JU("active_caches", t.acaches);
	JU("caches", t.caches);
	JU("active_size_bytes", t.asize);
	JU("total_size_bytes", t.tsize);
	JU("min_obj_size", t.min);
	JU("avg_obj_size", t.avg);
	JU("max_obj_size", t.max);
	if (t.ext) {
		uint64_t slab = t.derived[USLAB_STAT_slab_bytes];

		JU("live_bytes", t.live_bytes);
		json_list(f, SRC_COUNT, t.count, true);
		json_list(f, SRC_DERIVED, t.derived, true);
		fprintf(f, ", \"efficiency\": %.6f",
			slab ? (double)t.live_bytes / (double)slab : 0.0);
	}
	fputs("},\n  \"caches\": [", f);
	for (i = 0; i < snap->nr_caches; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_cache(f, &snap->caches[order[i]], pg);
	}
	fputs(snap->nr_caches ? "\n  ]\n}\n" : "]\n}\n", f);
}

#undef JU

/* ---- Sources ----------------------------------------------------------- */

static int source_read(const struct source *src, struct st_snapshot *snap,
		       char *err, size_t errlen)
{
	int rc;

	if (src->pid > 0)
		rc = st_read_process(src->pid, snap, err, errlen);
	else
		rc = st_read_slabinfo_file(src->file, snap, err, errlen);
	if (rc == 0)
		snap_sanitize(snap);
	return rc;
}

/* stdin is read once; the other sources again at every refresh. */
static bool source_rereadable(const struct source *src)
{
	return src->pid > 0 || strcmp(src->file, "-");
}

static bool owned_by_me(int pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) == 0 && st.st_uid == getuid();
}

static void print_list(const struct st_proc *p, size_t n)
{
	char comm[sizeof(p->comm)], why[sizeof(p->why)], caches[24];
	size_t i;

	if (!n) {
		printf("no uslab processes: no segment in /dev/shm that this user can read\n");
		return;
	}
	printf("%7s %-16s %6s %s\n", "PID", "COMMAND", "CACHES", "STATE");
	for (i = 0; i < n; i++) {
		safe(p[i].comm, comm, sizeof(comm));
		safe(p[i].why, why, sizeof(why));
		if (p[i].stale || why[0])
			snprintf(caches, sizeof(caches), "-");
		else
			snprintf(caches, sizeof(caches), "%zu", p[i].nr_caches);
		printf("%7d %-16s %6s %s%s%s\n", p[i].pid, comm, caches,
		       p[i].stale ? "stale" :
		       why[0]	  ? "unreadable" :
				    "live",
		       why[0] ? ": " : "", why);
	}
}

static int do_list(void)
{
	struct st_proc *p = NULL;
	char err[256];
	size_t n = 0;

	if (st_list_processes(&p, &n, err, sizeof(err)))
		die("%s", err);
	print_list(p, n);
	free(p);
	return 0;
}

/*
 * No -p or -f: the one live uslab process of this user, else
 * /proc/slabinfo, else the list and a hint.
 */
static void choose_default(struct source *src)
{
	struct st_proc *p = NULL;
	size_t n = 0, i, live = 0;
	char err[256];
	int pid = 0, fd;

	if (st_list_processes(&p, &n, err, sizeof(err)) == 0) {
		for (i = 0; i < n; i++) {
			if (p[i].stale || p[i].why[0] || !owned_by_me(p[i].pid))
				continue;
			live++;
			pid = p[i].pid;
		}
	} else {
		p = NULL;
		n = 0;
	}
	if (live == 1) {
		free(p);
		src->pid = pid;
		return;
	}
	fd = open(PROC_SLABINFO, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		free(p);
		src->file = PROC_SLABINFO;
		if (live > 1)
			snprintf(
				src->note, sizeof(src->note),
				" (%zu uslab processes: pick one with -p, see --list)",
				live);
		return;
	}
	print_list(p, n);
	free(p);
	fflush(stdout);
	die("no source: %s; pick one with -p PID or -f FILE",
	    live ? "more than one uslab process and /proc/slabinfo is not readable" :
		   "no uslab process and /proc/slabinfo is not readable");
}

/* ---- Interactive ------------------------------------------------------- */

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct screen {
	const struct source *src;
	struct st_snapshot snap;
	size_t *order;
	enum view view;
	bool human;
	long delay;
	char error[400]; /* the last refresh's failure */
};

static void draw(struct screen *s)
{
	char line[LINE_MAX_LEN], msg[LINE_MAX_LEN];
	struct out o = { .curses = true, .y = 0, .maxy = LINES - 1 };

	erase();
	if (LINES < MIN_ROWS || COLS < MIN_COLS) {
		snprintf(msg, sizeof(msg), "terminal too small (need %dx%d)",
			 MIN_COLS, MIN_ROWS);
		mvaddnstr(0, 0, msg, COLS);
		refresh();
		return;
	}
	source_text(&s->snap, s->src, true, line, sizeof(line));
	out_line(&o, 0, " %-35s: %s\n", "Source", line);
	render(&o, &s->snap, s->order, s->view, s->human);

	if (s->error[0]) {
		snprintf(msg, sizeof(msg), "error: %s (q quits)", s->error);
		attron(A_BOLD | A_REVERSE);
	} else {
		int i, len = 0;

		/* "1 slabs* 2 nodes 3 frag 4 mags": '*' marks the view */
		for (i = 0; i < NR_VIEWS; i++)
			len += snprintf(msg + len, sizeof(msg) - (size_t)len,
					"%d %s%s ", i + 1, view_names[i],
					i == (int)s->view ? "*" : "");
		snprintf(msg + len, sizeof(msg) - (size_t)len,
			 "Tab | sort %c=%s (abclvnopsu) | space | q quit",
			 sort_key, sort_name(sort_key));
	}
	mvaddnstr(LINES - 1, 0, msg, COLS - 1);
	attroff(A_BOLD | A_REVERSE);
	refresh();
}

static void resort(struct screen *s)
{
	size_t *order = sort_order(&s->snap);

	if (!order) {
		snprintf(s->error, sizeof(s->error), "out of memory");
		return;
	}
	free(s->order);
	s->order = order;
}

static void reload(struct screen *s)
{
	struct st_snapshot snap;
	char err[sizeof(s->error) - 64];

	if (!source_rereadable(s->src))
		return;
	if (source_read(s->src, &snap, err, sizeof(err))) {
		char tmp[sizeof(err)];
		time_t t = (time_t)(s->snap.updated_ns / 1000000000u);
		struct tm tm;

		safe(err, tmp, sizeof(tmp));
		if (s->snap.updated_ns && localtime_r(&t, &tm))
			snprintf(s->error, sizeof(s->error),
				 "%s; showing data from %02d:%02d:%02d", tmp,
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
		else
			snprintf(s->error, sizeof(s->error), "%s", tmp);
		return;
	}
	st_snapshot_free(&s->snap);
	s->snap = snap;
	s->error[0] = '\0';
	resort(s);
}

static int run_interactive(const struct source *src, struct st_snapshot *snap,
			   size_t *order, const struct opts *op)
{
	struct screen s = { .src = src,
			    .snap = *snap,
			    .order = order,
			    .view = op->view,
			    .human = op->human,
			    .delay = op->delay };
	struct sigaction sa;
	int64_t next;
	SCREEN *scr;
	bool dirty = true;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		die("interactive mode needs a terminal (use -o or --json)");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* Installed before curses, which then leaves them alone. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	scr = newterm(NULL, stdout, stdin);
	if (!scr)
		die("cannot use terminal type '%s'",
		    getenv("TERM") ? getenv("TERM") : "(unset)");
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);

	next = now_ms() + (int64_t)s.delay * 1000;
	while (!stop_flag) {
		int64_t left;
		int ch;

		if (dirty) {
			draw(&s);
			dirty = false;
		}
		left = next - now_ms();
		if (left <= 0) {
			reload(&s);
			next = now_ms() + (int64_t)s.delay * 1000;
			dirty = true;
			continue;
		}
		/* Short waits: a signal is noticed within 200 ms. */
		timeout(left > 200 ? 200 : (int)left);
		ch = getch();
		if (ch == ERR)
			continue;
		dirty = true;
		if (ch == 'q' || ch == 'Q')
			break;
		if (ch == KEY_RESIZE)
			continue;
		if (ch == 12) { /* ^L */
			clearok(curscr, TRUE);
			continue;
		}
		if (ch == '\t' || ch == KEY_BTAB) {
			s.view = (enum view)(
				(s.view + (ch == '\t' ? 1 : NR_VIEWS - 1)) %
				NR_VIEWS);
			continue;
		}
		if (ch >= '1' && ch < '1' + NR_VIEWS) {
			s.view = (enum view)(ch - '1');
			continue;
		}
		if (is_sort_key(ch)) {
			sort_key = sort_from(ch);
			resort(&s);
			continue;
		}
		/* Any other key (space): refresh now, as procps does. */
		reload(&s);
		next = now_ms() + (int64_t)s.delay * 1000;
	}
	endwin();
	delscreen(scr);
	st_snapshot_free(&s.snap);
	free(s.order);
	return EXIT_SUCCESS;
}

/* ---- Options ----------------------------------------------------------- */

static void __attribute__((noreturn)) usage(void)
{
	printf("\nUsage:\n"
	       " %s [options]\n"
	       "\nOptions:\n"
	       " -d, --delay <secs>  delay updates\n"
	       " -o, --once          only display once, then exit\n"
	       " --human             show human-readable output\n"
	       " -s, --sort <char>   specify sort criteria by character (see below)\n"
	       " -p, --pid <pid>     show the uslab process <pid>\n"
	       " -f, --file <file>   show slabinfo 2.x text from <file> (- for stdin)\n"
	       " --list              list the uslab processes that can be shown\n"
	       " --nodes             per-node view (uslab processes)\n"
	       " --frag              fragmentation view (uslab processes)\n"
	       " --mags              magazine and depot view (uslab processes)\n"
	       " --json              print everything as one JSON document, then exit\n"
	       " --fields            list every uslab figure: JSON key, column, meaning\n"
	       "\n -h, --help     display this help and exit\n"
	       " -V, --version  output version information and exit\n"
	       "\nThe following are valid sort criteria:\n"
	       " a: sort by number of active objects\n"
	       " b: sort by objects per slab\n"
	       " c: sort by cache size\n"
	       " l: sort by number of slabs\n"
	       " v: sort by (non display) number of active slabs\n"
	       " n: sort by name\n"
	       " o: sort by number of objects (the default)\n"
	       " p: sort by (non display) pages per slab\n"
	       " s: sort by object size\n"
	       " u: sort by cache utilization\n"
	       "\nInteractive keys: a sort letter re-sorts; 1 slabs, 2 nodes,\n"
	       " 3 frag, 4 mags view (Tab: next); space refreshes; q quits.\n"
	       "\nWithout -p or -f: the one uslab process of this user if there\n"
	       "is exactly one, else /proc/slabinfo.\n"
	       "\nFor more details see uslab-slabtop(1).\n",
	       PROG);
	exit(EXIT_SUCCESS);
}

static long parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		die("illegal %s: '%s'", what, s);
	return v;
}

enum {
	OPT_HUMAN = CHAR_MAX + 1,
	OPT_LIST,
	OPT_NODES,
	OPT_FRAG,
	OPT_MAGS,
	OPT_JSON,
	OPT_FIELDS,
};

static void parse_opts(int argc, char **argv, struct opts *op)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, 'o' },
		{ "sort", required_argument, NULL, 's' },
		{ "human", no_argument, NULL, OPT_HUMAN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "pid", required_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'f' },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "nodes", no_argument, NULL, OPT_NODES },
		{ "frag", no_argument, NULL, OPT_FRAG },
		{ "mags", no_argument, NULL, OPT_MAGS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "fields", no_argument, NULL, OPT_FIELDS },
		{ NULL, 0, NULL, 0 }
	};
	bool view_set = false;
	int c;

	memset(op, 0, sizeof(*op));
	op->sort = DEFAULT_SORT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:os:hVp:f:", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'd':
			if (op->once)
				die("Cannot combine -d and -o options");
			if (op->json)
				die("Cannot combine -d and --json options");
			op->delay = parse_long(optarg, "delay");
			if (op->delay < 1 || op->delay > INT_MAX)
				die("delay must be positive integer");
			break;
		case 'o':
			if (op->delay)
				die("Cannot combine -d and -o options");
			op->once = true;
			break;
		case 's':
			op->sort = sort_from((unsigned char)optarg[0]);
			break;
		case OPT_HUMAN:
			op->human = true;
			break;
		case 'h':
			usage();
		case 'V':
			printf(PROG " from uslab " USLAB_VERSION "\n");
			exit(EXIT_SUCCESS);
		case 'p': {
			long pid = parse_long(optarg, "pid");

			if (pid < 1 || pid > INT_MAX)
				die("illegal pid: '%s'", optarg);
			if (op->file)
				die("Cannot combine -p and -f options");
			op->pid = (int)pid;
			break;
		}
		case 'f':
			if (op->pid)
				die("Cannot combine -p and -f options");
			if (!optarg[0])
				die("illegal file: ''");
			op->file = optarg;
			break;
		case OPT_LIST:
			op->list = true;
			break;
		case OPT_NODES:
		case OPT_FRAG:
		case OPT_MAGS: {
			enum view v = c == OPT_NODES ? VIEW_NODES :
				      c == OPT_FRAG  ? VIEW_FRAG :
						       VIEW_MAGS;

			if (view_set && op->view != v)
				die("choose one of --nodes, --frag and --mags");
			op->view = v;
			view_set = true;
			break;
		}
		case OPT_FIELDS:
			exit(print_fields() ? EXIT_FAILURE : EXIT_SUCCESS);
		case OPT_JSON:
			if (op->delay)
				die("Cannot combine -d and --json options");
			op->json = true;
			break;
		case ':':
			die("option '%s' requires an argument (see --help)",
			    argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < CHAR_MAX && isprint(optopt))
				die("invalid option -- '%c' (see --help)",
				    optopt);
			die("unrecognized option '%s' (see --help)",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (op->list && (op->pid || op->file))
		die("Cannot combine --list with -p or -f");
	if (!op->delay)
		op->delay = DEFAULT_DELAY;
}

int main(int argc, char **argv)
{
	struct source src = { 0 };
	struct st_snapshot snap;
	char err[512], line[LINE_MAX_LEN];
	struct opts op;
	size_t *order;

	setlocale(LC_ALL, "");
	/* Figures and JSON always use '.', whatever the locale. */
	setlocale(LC_NUMERIC, "C");
	parse_opts(argc, argv, &op);
	sort_key = op.sort;

	if (op.list)
		return do_list();
	if (op.pid)
		src.pid = op.pid;
	else if (op.file)
		src.file = op.file;
	else
		choose_default(&src);

	if (source_read(&src, &snap, err, sizeof(err)))
		die("%s", err);
	order = sort_order(&snap);
	if (!order)
		die("out of memory");

	if (op.json) {
		print_json(&snap, order);
	} else if (op.once) {
		struct out o = { .curses = false };

		if (op.view != VIEW_SLABS && !snap_has_ext(&snap)) {
			not_available(line, sizeof(line), &snap, op.view);
			die("%s", line);
		}
		source_text(&snap, &src, false, line, sizeof(line));
		out_line(&o, 0, " %-35s: %s\n", "Source", line);
		render(&o, &snap, order, op.view, op.human);
	} else {
		return run_interactive(&src, &snap, order, &op);
	}
	st_snapshot_free(&snap);
	free(order);
	if (fflush(stdout) || ferror(stdout))
		die("write error: %s", strerror(errno));
	return EXIT_SUCCESS;
}
