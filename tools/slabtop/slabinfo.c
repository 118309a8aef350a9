// SPDX-License-Identifier: MIT
/*
 * slabinfo.c - slabinfo version 2.x text (the kernel's /proc/slabinfo,
 * uslab_slabinfo()'s output, a saved copy) into a struct st_snapshot.
 *
 * The rules are procps's: the first line is "slabinfo - version: 2.<minor>",
 * lines starting with '#' are comments, and every other line is
 *
 *   name active_objs num_objs objsize objperslab pagesperslab
 *     : tunables limit batchcount sharedfactor
 *     : slabdata active_slabs num_slabs sharedavail [: more sections]
 *
 * where the sections after slabdata (old SLAB's "(statistics)" variant:
 * globalstat, cpustat) are ignored.  Unlike procps, which accepts what
 * sscanf() accepts, the parser is strict, because its input may be
 * anything a user points -f at:
 *
 *  - numbers are unsigned decimals (no sign), within their field's type;
 *  - a name is at most ST_NAME_MAX - 1 bytes (longer is an error, never
 *    a silent truncation) and has no control characters;
 *  - active_objs <= num_objs and active_slabs <= num_slabs;
 *  - a control character anywhere (binary data) is an error;
 *  - lines holding only blanks are skipped, as are comments;
 *  - more than ST_MAX_CACHES rows is an error, found by counting the
 *    lines before anything is allocated; no rows at all is fine.
 *
 * Every error is one line naming the line number.  The parser never reads
 * past len: the text need not be NUL-terminated and may contain NULs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "slabtop.h"

/* The most st_read_slabinfo_file() reads: far beyond any real slabinfo. */
#define ST_FILE_MAX ((size_t)64 << 20)

/* name, 5 numbers, ":", "tunables", 3, ":", "slabdata", 3 */
#define ROW_FIELDS 16

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * A printable, bounded copy of @n bytes at @s for an error message:
 * anything outside printable ASCII becomes '?', and a long text is cut
 * with "...".
 */
static const char *quote(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t i, max = dstlen - 1;
	bool cut = false;

	if (n > max) {
		n = max > 3 ? max - 3 : max;
		cut = true;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (cut && max > 3) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
	return dst;
}

void st_snapshot_free(struct st_snapshot *snap)
{
	size_t i;

	if (!snap)
		return;
	for (i = 0; snap->caches && i < snap->nr_caches; i++)
		free(snap->caches[i].node);
	free(snap->caches);
	memset(snap, 0, sizeof(*snap));
}

struct line {
	const char *s;
	size_t n; /* without the '\n' (and a '\r' before it) */
};

/* The line starting at *pos; false at the end of the text. */
static bool next_line(const char *text, size_t len, size_t *pos, struct line *l)
{
	const char *nl;

	if (*pos >= len)
		return false;
	l->s = text + *pos;
	nl = memchr(l->s, '\n', len - *pos);
	if (nl) {
		l->n = (size_t)(nl - l->s);
		*pos += l->n + 1;
	} else {
		l->n = len - *pos;
		*pos = len;
	}
	if (l->n && l->s[l->n - 1] == '\r')
		l->n--;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool blank_line(const struct line *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!is_blank(l->s[i]))
			return false;
	return true;
}

/* Lines that must be rows: neither comments nor blank. */
static bool row_line(const struct line *l)
{
	return l->n && l->s[0] != '#' && !blank_line(l);
}

/* An unsigned decimal of @n bytes, at most @max. */
static int parse_num(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (!n)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return -1;
		if (x > (max - d) / 10)
			return -2;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* "slabinfo - version: 2.<minor>[ anything]" */
static int parse_version(const struct line *l, char *err, size_t errlen)
{
	static const char prefix[] = "slabinfo - version: ";
	const size_t plen = sizeof(prefix) - 1;
	size_t i = plen, mstart, dot;
	uint64_t major, minor;
	char q[64];

	if (l->n < plen || memcmp(l->s, prefix, plen)) {
		seterr(err, errlen,
		       "line 1: not slabinfo text: first line is \"%s\", not \"slabinfo - version: 2.x\"",
		       quote(q, 48, l->s, l->n));
		return -1;
	}
	mstart = i;
	while (i < l->n && l->s[i] != '.' && !is_blank(l->s[i]))
		i++;
	dot = i;
	if (dot < l->n && l->s[dot] == '.')
		i++;
	while (i < l->n && !is_blank(l->s[i]))
		i++;
	/* The version is the token after the prefix: "2.1", "1.1", "3.0" */
	quote(q, 24, l->s + mstart, i - mstart);
	if (dot >= l->n || l->s[dot] != '.' ||
	    parse_num(l->s + mstart, dot - mstart, UINT32_MAX, &major) ||
	    parse_num(l->s + dot + 1, i - dot - 1, UINT32_MAX, &minor)) {
		seterr(err, errlen,
		       "line 1: bad slabinfo version \"%s\" (want 2.x)", q);
		return -1;
	}
	if (major != 2) {
		seterr(err, errlen,
		       "line 1: unsupported slabinfo version %s (only 2.x is read)",
		       q);
		return -1;
	}
	return 0;
}

struct field {
	const char *name;
	uint64_t max;
};

/* The 11 numbers of a row, in order, after tokens 1-5, 8-10 and 13-15. */
static const struct field fields[11] = {
	{ "active_objs", UINT64_MAX },	{ "num_objs", UINT64_MAX },
	{ "objsize", UINT32_MAX },	{ "objperslab", UINT32_MAX },
	{ "pagesperslab", UINT32_MAX }, { "limit", UINT32_MAX },
	{ "batchcount", UINT32_MAX },	{ "sharedfactor", UINT32_MAX },
	{ "active_slabs", UINT64_MAX }, { "num_slabs", UINT64_MAX },
	{ "sharedavail", UINT64_MAX },
};
static const int field_tok[11] = { 1, 2, 3, 4, 5, 8, 9, 10, 13, 14, 15 };

static int parse_row(const struct line *l, size_t lineno, struct st_cache *c,
		     char *err, size_t errlen)
{
	struct {
		const char *s;
		size_t n;
	} tok[ROW_FIELDS + 1];
	uint64_t v[11];
	size_t i = 0, ntok = 0;
	char q[48];
	int f, rc;

	while (i < l->n && ntok < ROW_FIELDS + 1) {
		while (i < l->n && is_blank(l->s[i]))
			i++;
		if (i == l->n)
			break;
		tok[ntok].s = l->s + i;
		while (i < l->n && !is_blank(l->s[i]))
			i++;
		tok[ntok].n = (size_t)(l->s + i - tok[ntok].s);
		ntok++;
	}
	if (ntok < ROW_FIELDS) {
		seterr(err, errlen,
		       "line %zu: truncated row: %zu of %d fields (name, 5 numbers, \": tunables\" and 3, \": slabdata\" and 3)",
		       lineno, ntok, ROW_FIELDS);
		return -1;
	}
	if (tok[6].n != 1 || tok[6].s[0] != ':' || tok[7].n != 8 ||
	    memcmp(tok[7].s, "tunables", 8) || tok[11].n != 1 ||
	    tok[11].s[0] != ':' || tok[12].n != 8 ||
	    memcmp(tok[12].s, "slabdata", 8)) {
		seterr(err, errlen,
		       "line %zu: malformed row: want \"name 5 numbers : tunables 3 numbers : slabdata 3 numbers\"",
		       lineno);
		return -1;
	}
	/* Old SLAB's "(statistics)" rows go on with ": globalstat ..." */
	if (ntok > ROW_FIELDS &&
	    (tok[ROW_FIELDS].n != 1 || tok[ROW_FIELDS].s[0] != ':')) {
		seterr(err, errlen,
		       "line %zu: unexpected \"%s\" after the slabdata numbers",
		       lineno,
		       quote(q, 32, tok[ROW_FIELDS].s, tok[ROW_FIELDS].n));
		return -1;
	}
	if (tok[0].n > ST_NAME_MAX - 1) {
		seterr(err, errlen,
		       "line %zu: cache name \"%s\" is longer than %d bytes",
		       lineno, quote(q, 32, tok[0].s, tok[0].n),
		       ST_NAME_MAX - 1);
		return -1;
	}
	for (f = 0; f < 11; f++) {
		int t = field_tok[f];

		rc = parse_num(tok[t].s, tok[t].n, fields[f].max, &v[f]);
		if (rc == 0)
			continue;
		quote(q, 32, tok[t].s, tok[t].n);
		if (rc == -2)
			seterr(err, errlen,
			       "line %zu: %s %s is too large (at most %" PRIu64
			       ")",
			       lineno, fields[f].name, q, fields[f].max);
		else if (tok[t].s[0] == '-')
			seterr(err, errlen, "line %zu: %s %s is negative",
			       lineno, fields[f].name, q);
		else
			seterr(err, errlen,
			       "line %zu: %s \"%s\" is not an unsigned decimal number",
			       lineno, fields[f].name, q);
		return -1;
	}
	if (v[0] > v[1]) {
		seterr(err, errlen,
		       "line %zu: active_objs %" PRIu64
		       " is more than num_objs %" PRIu64,
		       lineno, v[0], v[1]);
		return -1;
	}
	if (v[8] > v[9]) {
		seterr(err, errlen,
		       "line %zu: active_slabs %" PRIu64
		       " is more than num_slabs %" PRIu64,
		       lineno, v[8], v[9]);
		return -1;
	}

	memset(c, 0, offsetof(struct st_cache, node));
	memcpy(c->name, tok[0].s, tok[0].n);
	c->name[tok[0].n] = '\0';
	c->active_objs = v[0];
	c->num_objs = v[1];
	c->objsize = (uint32_t)v[2];
	c->objperslab = (uint32_t)v[3];
	c->pagesperslab = (uint32_t)v[4];
	c->limit = (uint32_t)v[5];
	c->batchcount = (uint32_t)v[6];
	c->sharedfactor = (uint32_t)v[7];
	c->active_slabs = v[8];
	c->num_slabs = v[9];
	c->sharedavail = v[10];
	c->has_ext = false;
	return 0;
}

/* A control character (other than tab) means binary data, not text. */
static int check_chars(const struct line *l, size_t lineno, char *err,
		       size_t errlen)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		unsigned char c = (unsigned char)l->s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			seterr(err, errlen,
			       "line %zu: control character 0x%02x in the text (binary data?)",
			       lineno, c);
			return -1;
		}
	}
	return 0;
}

int st_parse_slabinfo(const char *text, size_t len, struct st_snapshot *out,
		      char *err, size_t errlen)
{
	struct st_cache *caches = NULL;
	size_t pos = 0, lineno = 1, rows = 0, n = 0;
	struct timespec ts;
	struct line l;
	long pg;

	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!text || !next_line(text, len, &pos, &l)) {
		seterr(err, errlen,
		       "empty input: no \"slabinfo - version: 2.x\" line");
		return -1;
	}
	if (check_chars(&l, 1, err, errlen) || parse_version(&l, err, errlen))
		return -1;

	/* Count the rows first: a huge input fails before any allocation. */
	while (next_line(text, len, &pos, &l)) {
		if (row_line(&l) && ++rows > ST_MAX_CACHES) {
			seterr(err, errlen,
			       "more than %d cache rows: not a slabinfo file?",
			       ST_MAX_CACHES);
			return -1;
		}
	}
	caches = calloc(rows ? rows : 1, sizeof(*caches));
	if (!caches) {
		seterr(err, errlen, "out of memory for %zu caches", rows);
		return -1;
	}

	pos = 0;
	next_line(text, len, &pos, &l);
	while (next_line(text, len, &pos, &l)) {
		lineno++;
		if (check_chars(&l, lineno, err, errlen))
			goto fail;
		if (!row_line(&l))
			continue;
		if (parse_row(&l, lineno, &caches[n], err, errlen))
			goto fail;
		n++;
	}

	out->kind = ST_SLABINFO;
	snprintf(out->origin, sizeof(out->origin), "slabinfo text");
	pg = sysconf(_SC_PAGESIZE);
	out->page_size = pg > 0 ? (uint32_t)pg : 4096;
	clock_gettime(CLOCK_REALTIME, &ts);
	out->updated_ns =
		(uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	out->nr_caches = n;
	out->caches = caches;
	return 0;
fail:
	free(caches);
	return -1;
}

/*
 * Read all of @fd, at most ST_FILE_MAX bytes.  Works for /proc files,
 * whose st_size is 0, and for pipes.
 */
static int read_all(int fd, const char *name, char **bufp, size_t *lenp,
		    char *err, size_t errlen)
{
	size_t cap = 64 << 10, len = 0;
	struct stat st;
	char *buf, *nb;
	ssize_t r;

	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			seterr(err, errlen, "%s: is a directory", name);
			return -1;
		}
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > ST_FILE_MAX) {
			seterr(err, errlen,
			       "%s: larger than %zu MiB: not a slabinfo file?",
			       name, ST_FILE_MAX >> 20);
			return -1;
		}
		if (S_ISREG(st.st_mode) && st.st_size > 0)
			cap = (size_t)st.st_size + 1;
	}
	buf = malloc(cap);
	if (!buf) {
		seterr(err, errlen, "%s: out of memory", name);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap > ST_FILE_MAX) {
				seterr(err, errlen,
				       "%s: larger than %zu MiB: not a slabinfo file?",
				       name, ST_FILE_MAX >> 20);
				goto fail;
			}
			cap = cap * 2 > ST_FILE_MAX + 1 ? ST_FILE_MAX + 1 :
							  cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				seterr(err, errlen, "%s: out of memory", name);
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, "%s: %s", name, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > ST_FILE_MAX) {
		seterr(err, errlen,
		       "%s: larger than %zu MiB: not a slabinfo file?", name,
		       ST_FILE_MAX >> 20);
		goto fail;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	return -1;
}

int st_read_slabinfo_file(const char *path, struct st_snapshot *out, char *err,
			  size_t errlen)
{
	bool is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "standard input" : path;
	char inner[256];
	char *buf = NULL;
	size_t len = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	rc = read_all(fd, name, &buf, &len, err, errlen);
	if (!is_stdin)
		close(fd);
	if (rc)
		return -1;
	rc = st_parse_slabinfo(buf, len, out, inner, sizeof(inner));
	free(buf);
	if (rc) {
		seterr(err, errlen, "%s: %s", name, inner);
		return -1;
	}
	snprintf(out->origin, sizeof(out->origin), "%s", name);
	return 0;
}
