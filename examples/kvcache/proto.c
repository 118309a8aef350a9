// SPDX-License-Identifier: MIT
/*
 * proto.c - memcached's text protocol (doc/protocol.txt): the command
 * line parser and every command.
 *
 * proto_run() works through what the connection has read, one state at a
 * time (enum kv_conn_state): a command line, a value being read into its
 * item, a value being discarded, a multi-get waiting for output room.
 * Before a command runs, room for its reply is made in the output buffer
 * (out_make_room(), which sends what is queued when the buffer is full);
 * if the socket would block, the line stays unconsumed and the command
 * runs once the client has read its replies.  A command therefore never
 * stops half done, except a multi-get, which consumes its line key by key
 * (CS_GET) and continues as room frees up, so that a get of thousands of
 * keys needs one output buffer, not one reply of unbounded size.
 *
 * Replies and error strings are memcached 1.6's.  Where memcached parses
 * a storage command's data block as a command after rejecting the line
 * (a key longer than 250 bytes, bad flags or exptime), this server
 * discards the block when the line gave a valid length: a data block is
 * never executed.  Lines longer than KV_LINE_MAX (the '\r' before the
 * '\n' not counted) get "CLIENT_ERROR line too long" and the connection
 * is closed, except get, gets, gat and gats lines, which may be any
 * length: memcached serves multi-gets of thousands of keys.  A get line
 * still arriving is answered key by key as its keys arrive (CS_GET with
 * get_open), so it needs no buffer of its size.
 *
 * Locking: none of its own.  A command takes the stripe lock of its key
 * (assoc.c) around the lookup and the update, and copies small values
 * into the output buffer while holding it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uslab/shrinker.h>

#include "kvcache.h"

#define GET_CAS 0x1 /* gets, gats */
#define GET_TOUCH 0x2 /* gat, gats */

#define KV_MAX_TOKENS 8
#define KV_VALUE_LINE                           \
	(sizeof("VALUE  4294967295 4294967295 " \
		"18446744073709551615\r\n") +   \
	 KV_KEY_MAX)

/* ---- Helpers ---------------------------------------------------------- */

char *kv_utoa(char *dst, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*dst++ = tmp[--n];
	return dst;
}

/* Decimal, an optional '+', nothing else (memcached's safe_strtoull). */
bool parse_u64(const struct tok *t, uint64_t *v)
{
	const char *p = t->p, *end = t->p + t->len;
	uint64_t x = 0;

	if (p < end && *p == '+')
		p++;
	if (p == end)
		return false;
	for (; p < end; p++) {
		unsigned int d = (unsigned int)(unsigned char)*p - '0';

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

bool parse_u32(const struct tok *t, uint32_t *v)
{
	uint64_t x;

	if (!parse_u64(t, &x) || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

bool parse_i64(const struct tok *t, int64_t *v)
{
	struct tok u = *t;
	bool neg = u.len && *u.p == '-';
	uint64_t x;

	if (neg) {
		u.p++;
		u.len--;
		if (u.len && *u.p == '+')
			return false;
	}
	if (!parse_u64(&u, &x) || x > (uint64_t)INT64_MAX + neg)
		return false;
	*v = neg ? (int64_t)(0 - x) : (int64_t)x;
	return true;
}

/*
 * protocol.txt: at most 250 bytes, without control characters or
 * whitespace.  Only the length is checked, as memcached does: clients
 * use control bytes in keys (memcaslap puts binary bytes in each key's
 * first eight), and a space cannot be part of a token anyway.
 */

int tokenize(char *p, char *end, struct tok *t, int max)
{
	int n = 0;

	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return n;
		if (n == max)
			return max + 1;
		t[n].p = p;
		while (p < end && *p != ' ')
			p++;
		t[n].len = (size_t)(p - t[n].p);
		n++;
	}
}

static void reply(struct kv_conn *c, const char *s, size_t len)
{
	if (!c->noreply)
		out_str(c, s, len);
}

#define REPLY(c, lit) reply((c), lit, sizeof(lit) - 1)

/* What proto_run() returns when out_make_room() could not make room. */
int out_wait(struct kv_conn *c)
{
	return c->dead ? KV_CLOSE : KV_BLOCKED;
}

void swallow(struct kv_conn *c, uint64_t bytes)
{
	c->swallow = bytes;
	conn_set_state(c, CS_SWALLOW);
}

/* ---- Value segments, for reading values and for append/prepend -------- */

/* Where the next value bytes of c->it go, and how many fit there. */
size_t proto_nread_dst(struct kv_conn *c, char **dst)
{
	struct kv_seg segs[KV_MAX_SEGS];
	size_t n;

	if (!c->it->chunked) {
		*dst = item_value(c->it) + c->seg_off;
		return c->left;
	}
	item_segs(c->it, segs);
	*dst = segs[c->seg].p + c->seg_off;
	n = segs[c->seg].len - c->seg_off;
	return n < c->left ? n : c->left;
}

void proto_nread_advance(struct kv_conn *c, size_t n)
{
	struct kv_seg segs[KV_MAX_SEGS];

	c->left -= (uint32_t)n;
	c->seg_off += (uint32_t)n;
	if (c->it->chunked && c->left) {
		item_segs(c->it, segs);
		if (c->seg_off == segs[c->seg].len) {
			c->seg++;
			c->seg_off = 0;
		}
	}
}

/* Copy @src's value into @dst's, from byte @off of @dst's. */
static void item_copy(struct item *dst, uint32_t off, struct item *src)
{
	struct kv_seg d[KV_MAX_SEGS], s[KV_MAX_SEGS];
	unsigned int nd = item_segs(dst, d), ns = item_segs(src, s);
	unsigned int di = 0, si;

	while (di < nd && off >= d[di].len && d[di].len) {
		off -= d[di].len;
		di++;
	}
	for (si = 0; si < ns; si++) {
		const char *p = s[si].p;
		uint32_t len = s[si].len;

		while (len) {
			uint32_t n = d[di].len - off;

			if (n > len)
				n = len;
			memcpy(d[di].p + off, p, n);
			p += n;
			len -= n;
			off += n;
			if (off == d[di].len) {
				di++;
				off = 0;
			}
		}
	}
}

/* ---- Storage commands ------------------------------------------------- */

/* Remove @key: a failed "set" must not leave the old value behind. */
void unlink_key(struct kv_conn *c, const char *key, size_t nkey)
{
	uint64_t hv = kv_hash(key, nkey);
	struct item *it;
	int miss;

	assoc_lock(hv);
	it = item_get_locked(key, (unsigned int)nkey, hv, kv_now(), &miss,
			     c->fd);
	if (it)
		item_unlink(it, hv);
	assoc_unlock(hv);
}

/*
 * The item a storage command's value will be read into, or NULL and the
 * error to answer (the value must then be swallowed).  A failed "set"
 * must not leave the old value behind: memcached removes it (@cmd
 * CMD_SET), whatever mode a meta set asked for (@cmd -1).
 */
struct item *store_alloc(struct kv_conn *c, const char *key, size_t nkey,
			 uint32_t flags, uint32_t exptime, uint32_t vlen,
			 int cmd, const char **err)
{
	struct kv_worker *w = c->w;
	enum kv_alloc_err e;
	struct item *it;

	it = item_alloc(w, key, (unsigned int)nkey, flags, exptime, vlen, &e);
	if (!it) {
		if (e == KV_TOO_LARGE) {
			KV_STAT_INC(w->st.store_too_large);
			*err = "SERVER_ERROR object too large for cache";
		} else {
			KV_STAT_INC(w->st.store_no_memory);
			*err = "SERVER_ERROR out of memory storing object";
		}
		if (kv_logging(KV_LOG_MUTATIONS))
			log_item_store(c->fd,
				       e == KV_TOO_LARGE ? KV_LOG_TOO_LARGE :
							   KV_STORE_ERROR,
				       cmd < 0 ? CMD_SET : cmd, key, nkey,
				       NULL);
		if (cmd == CMD_SET || cmd < 0)
			unlink_key(c, key, nkey);
		return NULL;
	}
	KV_STAT_INC(w->st.cmd_set);
	KV_STAT_INC(w->cst[it->clsid].cmd_set);
	return it;
}

/* Read @vlen value bytes into @it, then store it (CS_NREAD). */
void nread_start(struct kv_conn *c, struct item *it, int cmd, uint64_t cas,
		 uint8_t nread_proto)
{
	c->it = it;
	c->cmd = (uint8_t)cmd;
	c->req_cas = cas;
	c->nread_proto = nread_proto;
	c->left = it->nbytes;
	c->seg = c->seg_off = 0;
	c->ntail = 0;
	if (nread_proto == KV_NREAD_BIN) {
		/* No "\r\n" follows a binary value. */
		c->tail[0] = '\r';
		c->tail[1] = '\n';
		c->ntail = 2;
	}
	conn_set_state(c, CS_NREAD);
}

/*
 * set/add/replace/append/prepend <key> <flags> <exptime> <bytes> [noreply]
 * cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
 */
static int process_storage(struct kv_conn *c, struct tok *t, int n, int cmd)
{
	int base = cmd == CMD_CAS ? 6 : 5;
	int64_t exptime, vlen;
	const char *err;
	uint64_t cas = 0;
	uint32_t flags;
	bool len_ok;
	struct item *it;

	if (n != base && n != base + 1) {
		REPLY(c, "ERROR\r\n");
		return KV_CONTINUE;
	}
	c->noreply = n == base + 1 && TOK_IS(&t[base], "noreply");
	len_ok = parse_i64(&t[4], &vlen) && vlen >= 0 && vlen <= INT32_MAX - 2;
	if (!key_ok(t[1].len) || !parse_u32(&t[2], &flags) ||
	    !parse_i64(&t[3], &exptime) || !len_ok ||
	    (cmd == CMD_CAS && !parse_u64(&t[5], &cas))) {
		REPLY(c, "CLIENT_ERROR bad command line format\r\n");
		if (len_ok)
			swallow(c, (uint64_t)vlen + 2);
		return KV_CONTINUE;
	}
	kv_detail(t[1].p, t[1].len, KV_DETAIL_SET);
	it = store_alloc(c, t[1].p, t[1].len, flags, kv_realtime(exptime),
			 (uint32_t)vlen, cmd, &err);
	if (!it) {
		reply(c, err, strlen(err));
		REPLY(c, "\r\n");
		swallow(c, (uint64_t)vlen + 2);
		return KV_CONTINUE;
	}
	nread_start(c, it, cmd, cas, KV_NREAD_TEXT);
	return KV_CONTINUE;
}

/* append/prepend: a new item holding both values, or NULL and *err. */
static struct item *concat(struct kv_conn *c, int cmd, struct item *old,
			   struct item *add, const char **err)
{
	uint64_t total = (uint64_t)old->nbytes + add->nbytes;
	bool append = cmd == CMD_APPEND;
	enum kv_alloc_err e = KV_TOO_LARGE;
	struct item *it = NULL;

	if (total <= UINT32_MAX)
		it = item_alloc(c->w, item_key(old), old->nkey, item_flags(old),
				old->exptime, (uint32_t)total, &e);
	if (!it) {
		if (e == KV_TOO_LARGE) {
			KV_STAT_INC(c->w->st.store_too_large);
			*err = "SERVER_ERROR object too large for cache";
		} else {
			KV_STAT_INC(c->w->st.store_no_memory);
			*err = "SERVER_ERROR out of memory storing object";
		}
		return NULL;
	}
	item_copy(it, 0, append ? old : add);
	item_copy(it, append ? old->nbytes : add->nbytes, append ? add : old);
	return it;
}

/*
 * Store @it as @cmd says, memcached's do_store_item(): a non-zero
 * @req_cas must match for CMD_CAS, append and prepend (under -C, CMD_CAS
 * never matches and append and prepend ignore it); with @stale_ok (a
 * meta set's I flag) a CAS lower than the item's stores the value marked
 * stale, keeping the old TTL.  *cas: the CAS of what was stored (0 when
 * nothing was); *err for KV_STORE_ERROR.
 */
int store_item(struct kv_conn *c, struct item *it, int cmd, uint64_t req_cas,
	       bool stale_ok, uint64_t *cas, const char **err)
{
	struct kv_worker *w = c->w;
	uint64_t hv = kv_hash(item_key(it), it->nkey);
	struct item *old, *nit = NULL;
	int r = KV_STORED;
	int miss;

	*cas = 0;
	assoc_lock(hv);
	old = item_get_locked(item_key(it), it->nkey, hv, kv_now(), &miss,
			      c->fd);
	switch (cmd) {
	case CMD_SET:
		nit = it;
		break;
	case CMD_ADD:
		if (old) {
			old->state |= ITEM_ACTIVE;
			r = KV_NOT_STORED;
		} else {
			nit = it;
		}
		break;
	case CMD_REPLACE:
		if (old)
			nit = it;
		else
			r = KV_NOT_STORED;
		break;
	case CMD_APPEND:
	case CMD_PREPEND:
		if (!old)
			r = KV_NOT_STORED;
		else if (req_cas && !settings.cas_disabled &&
			 req_cas != old->cas)
			r = KV_EXISTS;
		else if (!(nit = concat(c, cmd, old, it, err)))
			r = KV_STORE_ERROR;
		break;
	case CMD_CAS:
		if (!old) {
			KV_STAT_INC(w->st.cas_misses);
			r = KV_NOT_FOUND;
		} else if (settings.cas_disabled) {
			/*
			 * memcached -C: a new item's CAS is 0, "none", so
			 * a compare-and-swap never matches.
			 */
			KV_STAT_INC(w->st.cas_badval);
			KV_STAT_INC(w->cst[old->clsid].cas_badval);
			r = KV_EXISTS;
		} else if (old->cas == req_cas ||
			   (stale_ok && req_cas && req_cas < old->cas)) {
			KV_STAT_INC(w->st.cas_hits);
			KV_STAT_INC(w->cst[old->clsid].cas_hits);
			if (old->cas != req_cas) {
				it->exptime = old->exptime;
				it->state |= ITEM_STALE |
					     (old->state & ITEM_TOKEN_SENT);
			}
			nit = it;
		} else {
			KV_STAT_INC(w->st.cas_badval);
			KV_STAT_INC(w->cst[old->clsid].cas_badval);
			r = KV_EXISTS;
		}
		break;
	}
	if (nit) {
		if (old)
			item_replace(old, nit, hv);
		else
			item_link(nit, hv);
		*cas = item_cas(nit);
		if (nit != it)
			item_put(nit);
	}
	/* Under the stripe lock: a linked item's expiry may change. */
	if (kv_logging(KV_LOG_MUTATIONS))
		log_item_store(c->fd, r, cmd, item_key(it), it->nkey, it);
	assoc_unlock(hv);
	if (nit)
		assoc_maybe_grow();
	return r;
}

/* The value has arrived: store it and answer in the text protocol. */
static void store(struct kv_conn *c, struct item *it)
{
	static const char *const text[] = {
		[KV_STORED] = "STORED\r\n",
		[KV_NOT_STORED] = "NOT_STORED\r\n",
		[KV_EXISTS] = "EXISTS\r\n",
		[KV_NOT_FOUND] = "NOT_FOUND\r\n",
	};
	const char *err = NULL;
	uint64_t cas;
	int r = store_item(c, it, c->cmd, c->req_cas, false, &cas, &err);

	if (r == KV_STORE_ERROR) {
		reply(c, err, strlen(err));
		REPLY(c, "\r\n");
	} else {
		reply(c, text[r], strlen(text[r]));
	}
}

/* CS_NREAD: the value, then its "\r\n", then the command. */
static int proto_nread(struct kv_conn *c)
{
	struct kv_rbuf *rb = c->rb;
	struct item *it;

	while (c->left && rb && rb->start < rb->end) {
		char *dst;
		size_t n = proto_nread_dst(c, &dst);

		if (n > rb->end - rb->start)
			n = rb->end - rb->start;
		memcpy(dst, rb->data + rb->start, n);
		rb->start += (uint32_t)n;
		proto_nread_advance(c, n);
	}
	while (!c->left && c->ntail < 2 && rb && rb->start < rb->end)
		c->tail[c->ntail++] = rb->data[rb->start++];
	if (c->left || c->ntail < 2)
		return KV_MORE;
	if (!out_make_room(c, KV_META_LINE, 2, 0))
		return out_wait(c);
	it = c->it;
	c->it = NULL;
	conn_set_state(c, CS_CMD);
	if (c->tail[0] != '\r' || c->tail[1] != '\n')
		REPLY(c, "CLIENT_ERROR bad data chunk\r\n");
	else if (c->nread_proto == KV_NREAD_META)
		meta_store(c, it);
	else if (c->nread_proto == KV_NREAD_BIN)
		bin_store(c, it);
	else
		store(c, it);
	item_put(it);
	return KV_CONTINUE;
}

/* CS_SWALLOW: drop a value that will not be stored. */
static int proto_swallow(struct kv_conn *c)
{
	struct kv_rbuf *rb = c->rb;
	uint64_t n = rb ? rb->end - rb->start : 0;

	if (n > c->swallow)
		n = c->swallow;
	if (rb)
		rb->start += (uint32_t)n;
	c->swallow -= n;
	if (c->swallow)
		return KV_MORE;
	conn_set_state(c, CS_CMD);
	return KV_CONTINUE;
}

/* ---- Retrieval -------------------------------------------------------- */

/*
 * Queue @line, @it's value and @tail, and unlock @hv's stripe, which the
 * caller holds (room made: KV_COPY_MAX + the lengths, KV_MAX_SEGS + 2
 * iovecs, a reference).  Small values are copied under the lock; a large
 * one is sent from the item, which the connection holds a reference to.
 */
void out_value(struct kv_conn *c, struct item *it, uint64_t hv,
	       const char *line, size_t len, const char *tail, size_t tlen)
{
	struct kv_seg segs[KV_MAX_SEGS];
	unsigned int nsegs;

	if (!it->chunked && it->nbytes <= KV_COPY_MAX) {
		char *dst = out_text(c, len + it->nbytes + tlen);

		memcpy(dst, line, len);
		memcpy(dst + len, item_value(it), it->nbytes);
		if (tlen)
			memcpy(dst + len + it->nbytes, tail, tlen);
		assoc_unlock(hv);
		return;
	}
	/*
	 * Relaxed: taken under the stripe lock, which orders it before any
	 * evictor's or deleter's look at the count.
	 */
	__atomic_fetch_add(&it->refcount, 1, __ATOMIC_RELAXED);
	nsegs = item_segs(it, segs);
	assoc_unlock(hv);
	out_str(c, line, len);
	out_ref(c, it, segs, nsegs);
	if (tlen)
		out_str(c, tail, tlen);
}

static void get_one(struct kv_conn *c, const char *key, size_t nkey)
{
	struct kv_worker *w = c->w;
	uint64_t hv = kv_hash(key, nkey);
	char line[KV_VALUE_LINE], *q = line;
	struct item *it;
	int miss;

	KV_STAT_INC(w->st.cmd_get);
	if (c->get_kind & GET_TOUCH)
		KV_STAT_INC(w->st.cmd_touch);
	assoc_lock(hv);
	it = item_get_locked(key, (unsigned int)nkey, hv, kv_now(), &miss,
			     c->fd);
	kv_detail(key, nkey, it ? KV_DETAIL_HIT : KV_DETAIL_GET);
	if (!it) {
		assoc_unlock(hv);
		KV_STAT_INC(w->st.get_misses);
		if (miss == KV_MISS_EXPIRED)
			KV_STAT_INC(w->st.get_expired);
		else if (miss == KV_MISS_FLUSHED)
			KV_STAT_INC(w->st.get_flushed);
		if (c->get_kind & GET_TOUCH)
			KV_STAT_INC(w->st.touch_misses);
		return;
	}
	if (c->get_kind & GET_TOUCH) {
		it->exptime = c->gat_exptime;
		KV_STAT_INC(w->st.touch_hits);
		KV_STAT_INC(w->cst[it->clsid].touch_hits);
	}
	if ((it->state & (ITEM_ACTIVE | ITEM_FETCHED)) !=
	    (ITEM_ACTIVE | ITEM_FETCHED))
		it->state |= ITEM_ACTIVE | ITEM_FETCHED;
	item_hit_time(it);
	KV_STAT_INC(w->st.get_hits);
	KV_STAT_INC(w->cst[it->clsid].get_hits);

	memcpy(q, "VALUE ", 6);
	q += 6;
	memcpy(q, key, nkey);
	q += nkey;
	*q++ = ' ';
	q = kv_utoa(q, item_flags(it));
	*q++ = ' ';
	q = kv_utoa(q, it->nbytes);
	if (c->get_kind & GET_CAS) {
		*q++ = ' ';
		q = kv_utoa(q, item_cas(it));
	}
	*q++ = '\r';
	*q++ = '\n';
	out_value(c, it, hv, line, (size_t)(q - line), "\r\n", 2);
}

/* A bad key in a get line: the error, and the rest of the line dropped. */
static int get_bad_key(struct kv_conn *c)
{
	if (!out_make_room(c, KV_REPLY_MAX, 2, 0))
		return out_wait(c);
	OUT_LIT(c, "CLIENT_ERROR bad command line format\r\n");
	if (c->get_open) {
		conn_set_state(c, CS_SKIPLINE);
	} else {
		c->rb->start = c->get_next;
		conn_set_state(c, CS_CMD);
	}
	return KV_CONTINUE;
}

/* An open get line: has its end arrived? */
static void get_find_end(struct kv_conn *c)
{
	struct kv_rbuf *rb = c->rb;
	char *p = rb->data + rb->start;
	char *nl = memchr(p, '\n', rb->end - rb->start);

	if (!nl)
		return;
	c->get_open = false;
	c->get_next = (uint32_t)(nl + 1 - rb->data);
	if (nl > p && nl[-1] == '\r')
		nl--;
	c->get_end = (uint32_t)(nl - rb->data);
}

/*
 * CS_GET: the keys from rb->start, then END.  Keys are consumed as they
 * are answered, so the line may be any length: while its end has not
 * arrived (get_open), only keys followed by a space are taken, and the
 * read buffer holds no more than the part of a key still coming.
 */
static int proto_get(struct kv_conn *c)
{
	struct kv_rbuf *rb = c->rb;
	char *base, *p, *end, *key;

	if (!rb)
		return KV_MORE; /* open, everything taken */
	if (c->get_open)
		get_find_end(c);
	base = rb->data;
	p = base + rb->start;
	if (c->get_open) {
		end = base + rb->end;
		while (end > p && end[-1] != ' ')
			end--;
	} else {
		end = base + c->get_end;
	}
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		rb->start = (uint32_t)(p - base);
		if (p == end)
			break;
		key = p;
		while (p < end && *p != ' ')
			p++;
		if (!key_ok((size_t)(p - key)))
			return get_bad_key(c);
		if (!out_make_room(c, KV_VALUE_LINE + KV_COPY_MAX + 2,
				   KV_MAX_SEGS + 2, 1))
			return out_wait(c);
		get_one(c, key, (size_t)(p - key));
	}
	if (c->get_open) {
		/* A key and the '\r' before the line's '\n' at most. */
		if (rb->end - rb->start > KV_KEY_MAX + 1)
			return get_bad_key(c);
		return KV_MORE;
	}
	if (!out_make_room(c, 5, 1, 0))
		return out_wait(c);
	OUT_LIT(c, "END\r\n");
	rb->start = c->get_next;
	conn_set_state(c, CS_CMD);
	return KV_CONTINUE;
}

/* CS_SKIPLINE: drop the rest of a refused line. */
static int proto_skipline(struct kv_conn *c)
{
	struct kv_rbuf *rb = c->rb;
	char *nl;

	if (!rb)
		return KV_MORE;
	nl = memchr(rb->data + rb->start, '\n', rb->end - rb->start);
	if (!nl) {
		rb->start = rb->end;
		return KV_MORE;
	}
	rb->start = (uint32_t)(nl + 1 - rb->data);
	conn_set_state(c, CS_CMD);
	return KV_CONTINUE;
}

/*
 * get|gets <key>*, gat|gats <exptime> <key>*, from @p to @end.  A whole
 * line (@open false; proto_line() has consumed it up to rb->start) has
 * its keys checked before any is answered, as memcached does.  An open
 * one, longer than a command line and still arriving, is answered key
 * by key as it comes.
 */
static int process_get(struct kv_conn *c, int kind, char *p, char *end,
		       bool open)
{
	struct kv_rbuf *rb = c->rb;
	int64_t exptime = 0;
	size_t nkeys = 0;
	struct tok t;
	char *q;

	if (kind & GET_TOUCH) {
		while (p < end && *p == ' ')
			p++;
		t.p = p;
		while (p < end && *p != ' ')
			p++;
		t.len = (size_t)(p - t.p);
		if (!t.len) {
			REPLY(c, "ERROR\r\n");
			return KV_CONTINUE;
		}
		if ((open && p == end) || !parse_i64(&t, &exptime)) {
			REPLY(c, "CLIENT_ERROR invalid exptime argument\r\n");
			if (open)
				conn_set_state(c, CS_SKIPLINE);
			return KV_CONTINUE;
		}
	}
	c->get_kind = (uint8_t)kind;
	c->gat_exptime = kv_realtime(exptime);
	c->get_open = open;
	if (open) {
		rb->start = (uint32_t)(p - rb->data);
		conn_set_state(c, CS_GET);
		return KV_CONTINUE;
	}
	for (q = p;;) {
		char *key;

		while (q < end && *q == ' ')
			q++;
		if (q == end)
			break;
		key = q;
		while (q < end && *q != ' ')
			q++;
		if (!key_ok((size_t)(q - key))) {
			REPLY(c, "CLIENT_ERROR bad command line format\r\n");
			return KV_CONTINUE;
		}
		nkeys++;
	}
	/* memcached answers "gat <exptime>" with no key with an END. */
	if (!nkeys && !(kind & GET_TOUCH)) {
		REPLY(c, "ERROR\r\n");
		return KV_CONTINUE;
	}
	c->get_next = rb->start;
	c->get_end = (uint32_t)(end - rb->data);
	rb->start = (uint32_t)(p - rb->data);
	conn_set_state(c, CS_GET);
	return KV_CONTINUE;
}

/* ---- Other commands --------------------------------------------------- */

static void process_delete(struct kv_conn *c, struct tok *t, int n)
{
	struct kv_worker *w = c->w;
	struct item *it;
	uint64_t hv;
	int miss;

	c->noreply = n > 2 && TOK_IS(&t[n - 1], "noreply");
	if (n > 2 && !(n == 3 && (c->noreply || TOK_IS(&t[2], "0"))) &&
	    !(n == 4 && c->noreply && TOK_IS(&t[2], "0"))) {
		REPLY(c, "CLIENT_ERROR bad command line format.  "
			 "Usage: delete <key> [noreply]\r\n");
		return;
	}
	if (!key_ok(t[1].len)) {
		REPLY(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	kv_detail(t[1].p, t[1].len, KV_DETAIL_DEL);
	hv = kv_hash(t[1].p, t[1].len);
	assoc_lock(hv);
	it = item_get_locked(t[1].p, (unsigned int)t[1].len, hv, kv_now(),
			     &miss, c->fd);
	if (it) {
		KV_STAT_INC(w->cst[it->clsid].delete_hits);
		item_unlink(it, hv);
	}
	assoc_unlock(hv);
	if (it) {
		KV_STAT_INC(w->st.delete_hits);
		REPLY(c, "DELETED\r\n");
	} else {
		KV_STAT_INC(w->st.delete_misses);
		REPLY(c, "NOT_FOUND\r\n");
	}
}

static bool is_space(char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

/*
 * A number as memcached's safe_strtoull() reads it with strtoull():
 * leading white space, a sign, decimal digits that fit in 64 bits, then
 * white space or the end.  A '-' negates modulo 2^64, and a result that
 * is negative as a signed number is refused: "-0" is 0, "-1" is refused.
 */
bool mc_strtoull(const char *p, const char *end, uint64_t *v)
{
	bool neg = false;
	uint64_t x = 0;
	const char *digits;

	while (p < end && is_space(*p))
		p++;
	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	for (digits = p; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (p == digits || (p < end && !is_space(*p)))
		return false;
	if (neg) {
		x = 0 - x;
		if ((int64_t)x < 0)
			return false;
	}
	*v = x;
	return true;
}

/* The value of @it as memcached's incr/decr read it. */
bool item_u64(struct item *it, uint64_t *v)
{
	const char *p;

	if (it->chunked || !it->nbytes)
		return false;
	p = item_value(it);
	return mc_strtoull(p, p + it->nbytes, v);
}

/*
 * The start of "<cmd> <key> <arg> [noreply]" (incr, decr, touch): the
 * token count, noreply and the key.  False when it has answered.
 */
static bool key_arg_start(struct kv_conn *c, struct tok *t, int n)
{
	if (n != 3 && n != 4) {
		REPLY(c, "ERROR\r\n");
		return false;
	}
	c->noreply = n == 4 && TOK_IS(&t[3], "noreply");
	if (!key_ok(t[1].len)) {
		REPLY(c, "CLIENT_ERROR bad command line format\r\n");
		return false;
	}
	return true;
}

/* incr|decr <key> <value> [noreply] */
/*
 * incr/decr on @key's item, with its stripe (@hv) locked: the new value
 * in @num (*numlen digits) and the new item in *out (linked, no
 * reference taken), or why not.  A non-zero @req_cas must match.
 */
int arith_locked(struct kv_conn *c, const char *key, size_t nkey, uint64_t hv,
		 bool incr, uint64_t delta, uint64_t req_cas, char *num,
		 size_t *numlen, struct item **out)
{
	struct kv_worker *w = c->w;
	struct item *it, *nit;
	enum kv_alloc_err err;
	uint64_t v;
	int miss;

	it = item_get_locked(key, (unsigned int)nkey, hv, kv_now(), &miss,
			     c->fd);
	if (!it) {
		KV_STAT_INC(*(incr ? &w->st.incr_misses : &w->st.decr_misses));
		return KV_ARITH_MISS;
	}
	if (req_cas && req_cas != item_cas(it))
		return KV_ARITH_EXISTS;
	if (!item_u64(it, &v))
		return KV_ARITH_NON_NUMERIC;
	/* protocol.txt: incr wraps at 2^64, decr stops at 0. */
	v = incr ? v + delta : v < delta ? 0 : v - delta;
	*numlen = (size_t)(kv_utoa(num, v) - num);
	nit = item_alloc(w, item_key(it), it->nkey, item_flags(it), it->exptime,
			 (uint32_t)*numlen, &err);
	if (!nit) {
		KV_STAT_INC(w->st.store_no_memory);
		return KV_ARITH_NO_MEMORY;
	}
	memcpy(item_value(nit), num, *numlen);
	nit->state |= it->state & ITEM_KEY_BINARY;
	KV_STAT_INC(*(incr ? &w->st.incr_hits : &w->st.decr_hits));
	KV_STAT_INC(*(incr ? &w->cst[nit->clsid].incr_hits :
			     &w->cst[nit->clsid].decr_hits));
	item_replace(it, nit, hv);
	item_put(nit);
	*out = nit;
	return KV_ARITH_OK;
}

static void process_arith(struct kv_conn *c, struct tok *t, int n, bool incr)
{
	char num[24];
	struct item *it;
	uint64_t delta, hv;
	size_t len;
	int r;

	if (!key_arg_start(c, t, n))
		return;
	if (!mc_strtoull(t[2].p, t[2].p + t[2].len, &delta)) {
		REPLY(c, "CLIENT_ERROR invalid numeric delta argument\r\n");
		return;
	}
	hv = kv_hash(t[1].p, t[1].len);
	assoc_lock(hv);
	r = arith_locked(c, t[1].p, t[1].len, hv, incr, delta, 0, num, &len,
			 &it);
	assoc_unlock(hv);
	switch (r) {
	case KV_ARITH_OK:
		memcpy(num + len, "\r\n", 2);
		reply(c, num, len + 2);
		break;
	case KV_ARITH_MISS:
		REPLY(c, "NOT_FOUND\r\n");
		break;
	case KV_ARITH_NON_NUMERIC:
		REPLY(c, "CLIENT_ERROR cannot increment or decrement "
			 "non-numeric value\r\n");
		break;
	default:
		REPLY(c, "SERVER_ERROR out of memory\r\n");
		break;
	}
}

/* touch <key> <exptime> [noreply] */
static void process_touch(struct kv_conn *c, struct tok *t, int n)
{
	struct kv_worker *w = c->w;
	struct item *it;
	int64_t exptime;
	uint64_t hv;
	int miss;

	if (!key_arg_start(c, t, n))
		return;
	if (!parse_i64(&t[2], &exptime)) {
		REPLY(c, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	KV_STAT_INC(w->st.cmd_touch);
	hv = kv_hash(t[1].p, t[1].len);
	assoc_lock(hv);
	it = item_get_locked(t[1].p, (unsigned int)t[1].len, hv, kv_now(),
			     &miss, c->fd);
	if (it) {
		it->exptime = kv_realtime(exptime);
		it->state |= ITEM_ACTIVE;
		item_hit_time(it);
		KV_STAT_INC(w->cst[it->clsid].touch_hits);
	}
	assoc_unlock(hv);
	if (it) {
		KV_STAT_INC(w->st.touch_hits);
		REPLY(c, "TOUCHED\r\n");
	} else {
		KV_STAT_INC(w->st.touch_misses);
		REPLY(c, "NOT_FOUND\r\n");
	}
}

/* flush_all [delay] [noreply] */
static void process_flush(struct kv_conn *c, struct tok *t, int n)
{
	int64_t delay = 0;

	if (n > 3) {
		REPLY(c, "ERROR\r\n");
		return;
	}
	c->noreply = n > 1 && TOK_IS(&t[n - 1], "noreply");
	if (settings.flush_disabled) {
		REPLY(c, "CLIENT_ERROR flush_all not allowed\r\n");
		return;
	}
	if (n - c->noreply >= 2 && !parse_i64(&t[1], &delay)) {
		REPLY(c, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	KV_STAT_INC(c->w->st.cmd_flush);
	item_flush(delay);
	REPLY(c, "OK\r\n");
}

/*
 * shutdown [graceful], with -A: the connection closes and the server
 * stops as on SIGINT (both forms: kvcache's stop is always graceful).
 */
static int process_shutdown(struct kv_conn *c, struct tok *t, int n)
{
	if (!settings.shutdown_enabled) {
		REPLY(c, "ERROR: shutdown not enabled\r\n");
		return KV_CONTINUE;
	}
	if (n > 2 || (n == 2 && !TOK_IS(&t[1], "graceful"))) {
		REPLY(c, "CLIENT_ERROR invalid shutdown mode\r\n");
		return KV_CONTINUE;
	}
	if (kv_verbose())
		kv_log("<%d shutdown", c->fd);
	/* The main thread reads SIGINT from its signalfd. */
	kill(getpid(), SIGINT);
	c->close_reason = KV_CLOSE_SHUTDOWN;
	conn_set_state(c, CS_CLOSE);
	return KV_CLOSE;
}

/*
 * watch [event ...]: the connection becomes a watcher (logger.c), with
 * memcached's answers.  Its replies so far must have been sent: the
 * watcher's output is its log lines alone.
 */
static int process_watch(struct kv_conn *c, struct tok *t, int n)
{
	if (settings.watch_disabled) {
		REPLY(c, "CLIENT_ERROR watch commands not allowed\r\n");
		return KV_CONTINUE;
	}
	if (c->ob && c->ob->niov > c->ob->iov_done && !out_drain(c)) {
		REPLY(c, "ERROR cannot pipeline other commands before watch"
			 "\r\n");
		return KV_CONTINUE;
	}
	switch (logger_watch(c, t, n)) {
	case WATCH_OK:
		conn_set_state(c, CS_WATCH);
		return KV_WATCH;
	case WATCH_BAD:
		REPLY(c, "ERROR\r\n");
		break;
	case WATCH_TOO_MANY:
		REPLY(c, "WATCHER_TOO_MANY log watcher limit reached\r\n");
		break;
	default:
		REPLY(c, "WATCHER_FAILED failed to add log watcher\r\n");
		break;
	}
	return KV_CONTINUE;
}

/* verbosity <level> [noreply]; "verbose" is accepted too. */
static void process_verbosity(struct kv_conn *c, struct tok *t, int n)
{
	uint32_t level;

	if (n != 2 && n != 3) {
		REPLY(c, "ERROR\r\n");
		return;
	}
	c->noreply = TOK_IS(&t[n - 1], "noreply");
	if (n - c->noreply == 2) {
		if (!parse_u32(&t[1], &level)) {
			REPLY(c, "CLIENT_ERROR bad command line format\r\n");
			return;
		}
		/* Relaxed: a logging level; a late reader logs one line less. */
		__atomic_store_n(&settings.verbose,
				 (int)(level > 2 ? 2 : level),
				 __ATOMIC_RELAXED);
	}
	REPLY(c, "OK\r\n");
}

/*
 * cache_memlimit <MB> [noreply]: a new -m, with memcached's answers.
 * uslab's limit moves at once; lowering it below what is in use makes
 * the next allocations evict (the shrinker), as memcached's would.
 */
static void process_memlimit(struct kv_conn *c, struct tok *t, int n)
{
	uint32_t mb;

	c->noreply = TOK_IS(&t[n - 1], "noreply");
	if (!parse_u32(&t[1], &mb))
		REPLY(c, "ERROR\r\n");
	else if (mb < 8)
		REPLY(c, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less "
			 "than 8m\r\n");
	else if (mb > 1000000000)
		REPLY(c, "MEMLIMIT_ADJUST_FAILED input value is megabytes "
			 "not bytes\r\n");
	else if (uslab_set_memory_limit((size_t)mb << 20))
		REPLY(c, "MEMLIMIT_ADJUST_FAILED out of bounds or unable to "
			 "adjust\r\n");
	else {
		/* Relaxed: a bound items.c and stats read as they go. */
		__atomic_store_n(&settings.maxbytes, (unsigned long)mb << 20,
				 __ATOMIC_RELAXED);
		if (kv_verbose())
			kv_log("maxbytes adjusted to %um", mb);
		REPLY(c, "OK\r\n");
	}
}

/*
 * slabs automove <0|1|2> and slabs reassign <src> <dst>.  kvcache's
 * classes draw slabs from one page pool, and a class's empty slabs go
 * back to it, so pages move without an automover: the automove setting
 * is kept and reported only.  Reassign gives back the source class's
 * empty slabs (every class but dst for src -1) for any class to take,
 * and answers OK: whatever src does not use is the pool's already (its
 * empty slabs mostly went back as they emptied), so there is nothing to
 * wait for and no NOSPARE.
 */
static void process_slabs(struct kv_conn *c, struct tok *t, int n)
{
	int64_t src, dst;
	uint32_t v;
	unsigned int i;

	c->noreply = TOK_IS(&t[n - 1], "noreply");
	if (n - c->noreply == 3 && TOK_IS(&t[1], "automove")) {
		if (!parse_u32(&t[2], &v))
			REPLY(c, "CLIENT_ERROR bad command line format\r\n");
		else if (v > 2)
			REPLY(c, "ERROR\r\n");
		else {
			/* Relaxed: a figure "stats settings" reports. */
			__atomic_store_n(&settings.slab_automove, v,
					 __ATOMIC_RELAXED);
			REPLY(c, "OK\r\n");
		}
		return;
	}
	if (n - c->noreply != 4 || !TOK_IS(&t[1], "reassign")) {
		REPLY(c, "ERROR\r\n");
		return;
	}
	if (!parse_i64(&t[2], &src) || !parse_i64(&t[3], &dst)) {
		REPLY(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	if (src == dst) {
		REPLY(c, "SAME src and dst class are identical\r\n");
		return;
	}
	if (src < -1 || src == 0 || src > kv_nclasses || dst < 1 ||
	    dst > kv_nclasses) {
		REPLY(c, "BADCLASS invalid src or dst class id\r\n");
		return;
	}
	for (i = 1; i <= kv_nclasses; i++)
		if (src == -1 ? i != dst : i == src)
			kmem_cache_shrink(kv_classes[i - 1].cache);
	REPLY(c, "OK\r\n");
}

/* lru_crawler metadump all|<classes>: what kvcache's LRU lists hold. */
static int process_lru_crawler(struct kv_conn *c, struct tok *t, int n)
{
	if (n == 3 && TOK_IS(&t[1], "metadump")) {
		if (settings.dump_disabled) {
			REPLY(c, "ERROR metadump not allowed\r\n");
			return KV_CONTINUE;
		}
		return stats_metadump(c, t[2].p, t[2].len);
	}
	/* kvcache has no crawler thread to start, stop or tune. */
	REPLY(c, "CLIENT_ERROR lru_crawler: only metadump is supported\r\n");
	return KV_CONTINUE;
}

static int process_stats(struct kv_conn *c, struct tok *t, int n)
{
	if (n == 1)
		return stats_general(c);
	if (n == 2 && TOK_IS(&t[1], "slabs"))
		return stats_slabs(c);
	if (n == 2 && TOK_IS(&t[1], "uslab"))
		return stats_uslab(c);
	if (n == 2 && TOK_IS(&t[1], "items"))
		return stats_items(c);
	if (n == 2 && TOK_IS(&t[1], "settings"))
		return stats_settings(c);
	if (n == 2 && TOK_IS(&t[1], "sizes"))
		return stats_sizes(c);
	if (n == 2 && TOK_IS(&t[1], "conns"))
		return stats_conns(c);
	if (n >= 2 && TOK_IS(&t[1], "cachedump")) {
		uint32_t id, limit;

		if (settings.dump_disabled)
			REPLY(c,
			      "CLIENT_ERROR stats cachedump not allowed\r\n");
		else if (n < 4)
			REPLY(c, "CLIENT_ERROR bad command line\r\n");
		else if (!parse_u32(&t[2], &id) || !parse_u32(&t[3], &limit))
			REPLY(c, "CLIENT_ERROR bad command line format\r\n");
		else
			return stats_cachedump(c, id, limit);
		return KV_CONTINUE;
	}
	if (n == 2 && TOK_IS(&t[1], "reset")) {
		stats_reset();
		REPLY(c, "RESET\r\n");
		return KV_CONTINUE;
	}
	if (n >= 2 && TOK_IS(&t[1], "detail")) {
		if (n == 3 && TOK_IS(&t[2], "dump"))
			return stats_detail_dump(c);
		if (n == 3 && (TOK_IS(&t[2], "on") || TOK_IS(&t[2], "off"))) {
			/* Relaxed: a switch (kvcache.h). */
			__atomic_store_n(&kv_detail_enabled,
					 TOK_IS(&t[2], "on"), __ATOMIC_RELAXED);
			REPLY(c, "OK\r\n");
		} else {
			REPLY(c, "CLIENT_ERROR usage: stats detail "
				 "on|off|dump\r\n");
		}
		return KV_CONTINUE;
	}
	REPLY(c, "ERROR\r\n");
	return KV_CONTINUE;
}

/* ---- Command lines ---------------------------------------------------- */

static bool is_get_line(const char *p, size_t len)
{
	while (len && *p == ' ') {
		p++;
		len--;
	}
	return (len > 4 && (!memcmp(p, "get ", 4) || !memcmp(p, "gat ", 4))) ||
	       (len > 5 && (!memcmp(p, "gets ", 5) || !memcmp(p, "gats ", 5)));
}

/* One command line, @p to @end; @open: a get line still arriving. */
static int dispatch(struct kv_conn *c, char *p, char *end, bool open)
{
	struct tok t[KV_MAX_TOKENS + 1];
	char *cmd;
	size_t len;
	int n;

	while (p < end && *p == ' ')
		p++;
	cmd = p;
	while (p < end && *p != ' ')
		p++;
	len = (size_t)(p - cmd);
	if (len == 3 && !memcmp(cmd, "get", 3))
		return process_get(c, 0, p, end, open);
	if (len == 4 && !memcmp(cmd, "gets", 4))
		return process_get(c, GET_CAS, p, end, open);
	if (len == 3 && !memcmp(cmd, "gat", 3))
		return process_get(c, GET_TOUCH, p, end, open);
	if (len == 4 && !memcmp(cmd, "gats", 4))
		return process_get(c, GET_TOUCH | GET_CAS, p, end, open);
	if (len == 2 && cmd[0] == 'm')
		return process_meta(c, cmd, end);

	n = tokenize(cmd, end, t, KV_MAX_TOKENS);
	if (n == 0 || n > KV_MAX_TOKENS) {
		REPLY(c, "ERROR\r\n");
		return KV_CONTINUE;
	}
	if (TOK_IS(&t[0], "set"))
		return process_storage(c, t, n, CMD_SET);
	if (TOK_IS(&t[0], "add"))
		return process_storage(c, t, n, CMD_ADD);
	if (TOK_IS(&t[0], "replace"))
		return process_storage(c, t, n, CMD_REPLACE);
	if (TOK_IS(&t[0], "append"))
		return process_storage(c, t, n, CMD_APPEND);
	if (TOK_IS(&t[0], "prepend"))
		return process_storage(c, t, n, CMD_PREPEND);
	if (TOK_IS(&t[0], "cas"))
		return process_storage(c, t, n, CMD_CAS);
	if (TOK_IS(&t[0], "quit")) {
		c->close_reason = KV_CLOSE_NORMAL;
		conn_set_state(c, CS_CLOSE);
		return KV_CLOSE;
	}
	if (TOK_IS(&t[0], "watch"))
		return process_watch(c, t, n);
	if (TOK_IS(&t[0], "stats"))
		return process_stats(c, t, n);
	if (TOK_IS(&t[0], "version")) {
		REPLY(c, "VERSION " KV_VERSION "\r\n");
		return KV_CONTINUE;
	}
	if (n >= 2) {
		if (TOK_IS(&t[0], "delete"))
			process_delete(c, t, n);
		else if (TOK_IS(&t[0], "incr"))
			process_arith(c, t, n, true);
		else if (TOK_IS(&t[0], "decr"))
			process_arith(c, t, n, false);
		else if (TOK_IS(&t[0], "touch"))
			process_touch(c, t, n);
		else if (TOK_IS(&t[0], "verbosity") || TOK_IS(&t[0], "verbose"))
			process_verbosity(c, t, n);
		else if (TOK_IS(&t[0], "flush_all"))
			process_flush(c, t, n);
		else if (TOK_IS(&t[0], "shutdown"))
			return process_shutdown(c, t, n);
		else if (TOK_IS(&t[0], "lru_crawler"))
			return process_lru_crawler(c, t, n);
		else if (TOK_IS(&t[0], "cache_memlimit"))
			process_memlimit(c, t, n);
		else if (TOK_IS(&t[0], "slabs"))
			process_slabs(c, t, n);
		else if (t[n - 1].len >= 5 && !memcmp(t[n - 1].p, "HTTP/", 5))
			return KV_CLOSE; /* an HTTP request: memcached closes */
		else
			REPLY(c, "ERROR\r\n");
		return KV_CONTINUE;
	}
	if (TOK_IS(&t[0], "flush_all"))
		process_flush(c, t, n);
	else if (TOK_IS(&t[0], "shutdown"))
		return process_shutdown(c, t, n);
	else if (t[n - 1].len >= 5 && !memcmp(t[n - 1].p, "HTTP/", 5))
		return KV_CLOSE; /* an HTTP request: memcached closes */
	else
		REPLY(c, "ERROR\r\n");
	return KV_CONTINUE;
}

static int line_too_long(struct kv_conn *c)
{
	if (kv_verbose())
		kv_log("<%d line too long, closing", c->fd);
	if (out_make_room(c, KV_REPLY_MAX, 2, 0))
		OUT_LIT(c, "CLIENT_ERROR line too long\r\n");
	conn_set_state(c, CS_CLOSE);
	return KV_CLOSE;
}

/*
 * CS_CMD: one command line, if a whole one has arrived, or a get line
 * longer than KV_LINE_MAX, answered as it arrives.  The line is consumed
 * before the command runs; a command that must wait for the replies
 * before it to be sent (the stats commands) returns KV_BLOCKED with the
 * state unchanged, and its line is given back to run again.
 */
static int proto_line(struct kv_conn *c)
{
	struct kv_rbuf *rb = c->rb;
	char *p, *nl, *end;
	size_t avail;
	uint32_t start;
	int r;

	if (!rb || rb->start == rb->end)
		return KV_MORE;
	p = rb->data + rb->start;
	avail = rb->end - rb->start;
	nl = memchr(p, '\n', avail);
	if (nl) {
		end = nl;
		if (end > p && end[-1] == '\r')
			end--;
		if (end - p > KV_LINE_MAX && !is_get_line(p, (size_t)(end - p)))
			return line_too_long(c);
	} else if (avail <= KV_LINE_MAX) {
		return KV_MORE;
	} else if (!is_get_line(p, avail)) {
		return line_too_long(c);
	} else {
		end = rb->data + rb->end;
	}
	if (!out_make_room(c, KV_REPLY_MAX, 2, 0))
		return out_wait(c);
	start = rb->start;
	rb->start = nl ? (uint32_t)(nl + 1 - rb->data) : rb->end;
	c->noreply = false;
	if (kv_verbose() > 1)
		kv_log("<%d %.*s", c->fd, (int)(end - p > 256 ? 256 : end - p),
		       p);
	r = dispatch(c, p, end, !nl);
	if (r == KV_BLOCKED && c->state == CS_CMD)
		rb->start = start;
	return r;
}

int proto_run(struct kv_conn *c)
{
	int r;

	for (;;) {
		if (c->dead)
			return KV_CLOSE;
		switch (c->state) {
		case CS_CMD:
			/*
			 * -R: a request starts only within the event's
			 * budget (only the buffered ones count; the worker
			 * runs one connection at a time).
			 */
			if (settings.reqs_per_event && c->rb &&
			    c->rb->start < c->rb->end) {
				if (!c->w->reqs_left)
					return KV_YIELD;
				c->w->reqs_left--;
			}
			/* memcached's choice: 0x80 first is the binary protocol. */
			if (c->proto == KV_PROTO_NONE && c->rb &&
			    c->rb->start < c->rb->end)
				c->proto =
					(unsigned char)c->rb->data
								[c->rb->start] ==
							0x80 ?
						KV_PROTO_BIN :
						KV_PROTO_TEXT;
			if (c->proto == KV_PROTO_BIN)
				r = proto_bin(c);
			else
				r = proto_line(c);
			break;
		case CS_NREAD:
			r = proto_nread(c);
			break;
		case CS_SWALLOW:
			r = proto_swallow(c);
			break;
		case CS_GET:
			r = proto_get(c);
			break;
		case CS_SKIPLINE:
			r = proto_skipline(c);
			break;
		default:
			return KV_CLOSE;
		}
		if (r != KV_CONTINUE)
			return r;
	}
}
