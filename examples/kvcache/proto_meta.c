// SPDX-License-Identifier: MIT
/*
 * proto_meta.c - memcached's meta commands (protocol.txt, "Meta
 * Commands"): mg, ms, md, ma, mn and me, with their flags, answered as
 * memcached 1.6.18 answers them.
 *
 *   mg <key> <flags>*        get: v value, s size, f client flags, c CAS,
 *                            t TTL left, h hit before, k key, O opaque, q
 *                            quiet (no EN), u no LRU bump, T new TTL,
 *                            N vivify on miss, R recache win below a TTL
 *   ms <key> <len> <flags>*  set: F flags, T TTL, C compare CAS, I
 *                            invalidate (a lower CAS stores a stale
 *                            value), M mode (E add, A append, P prepend,
 *                            R replace, S set), c return CAS, k, O, q
 *   md <key> <flags>*        delete: C, I (mark stale, new CAS), T (with
 *                            I), k, O, q
 *   ma <key> <flags>*        arithmetic: D delta, M mode (I + D -), N
 *                            create on miss, J initial value, C, T, t, c,
 *                            v, k, O, q
 *   mn                       "MN", the end of a quiet pipeline
 *   me <key> [b]             debug: the item's metadata
 *
 * Every command takes b (base64 key) and ignores P and L (proxy hints).
 * Stale items come back from mg with X, and the first client to see one
 * (or to miss with N, or to find less than R's TTL left) gets W: the
 * right to recache; the others get Z (ITEM_STALE and ITEM_TOKEN_SENT in
 * the item's state).
 *
 * Not supported: mg's l flag (seconds since last access) and me's la
 * field, because an item keeps no access time (it would cost every item
 * 4 bytes of header).  l is refused with "CLIENT_ERROR invalid flag".
 *
 * Locking: as proto.c, the stripe lock of the key around the lookup, the
 * update and the reply line (item fields are read under it).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "kvcache.h"

#define META_MAX_TOKENS 19 /* memcached: MFLAG_MAX_OPT_LENGTH - 1 */
#define META_OPAQUE_MAX 32

/* What the flags of one command asked for (memcached's _meta_flags). */
struct meta {
	const char *err; /* the first error found, NULL if none */
	bool bad; /* an error: answer err */
	bool key_binary, value, no_update, quiet, vivify, new_ttl;
	bool has_cas, stale;
	char mode;
	uint32_t client_flags;
	uint32_t exptime, autoviv, recache;
	uint64_t req_cas, delta, initial;
};

/* ---- base64, for binary keys ------------------------------------------ */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(unsigned char ch)
{
	const char *p;

	if (ch == '=')
		return 0;
	p = ch ? strchr(b64, ch) : NULL;
	return p ? (int)(p - b64) : -1;
}

/*
 * Decode in place as memcached does: characters outside the alphabet are
 * skipped, the rest must be a whole number of 4-character blocks, and
 * "=" padding ends it.  The decoded length, 0 if it is not base64.
 */
static size_t b64_decode(char *s, size_t len)
{
	unsigned char block[4];
	size_t i, count = 0, out = 0;
	int pad = 0;

	for (i = 0; i < len; i++)
		count += b64_val((unsigned char)s[i]) >= 0;
	if (!count || count % 4)
		return 0;
	count = 0;
	for (i = 0; i < len; i++) {
		int v = b64_val((unsigned char)s[i]);

		if (v < 0)
			continue;
		pad += s[i] == '=';
		block[count++] = (unsigned char)v;
		if (count < 4)
			continue;
		s[out++] = (char)(block[0] << 2 | block[1] >> 4);
		s[out++] = (char)(block[1] << 4 | block[2] >> 2);
		s[out++] = (char)(block[2] << 6 | block[3]);
		count = 0;
		if (pad) {
			if (pad > 2)
				return 0;
			out -= (size_t)pad;
			break;
		}
	}
	return out;
}

static char *b64_encode(char *dst, const unsigned char *src, size_t len)
{
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*dst++ = b64[src[i] >> 2];
		*dst++ = b64[(src[i] & 3) << 4 | src[i + 1] >> 4];
		*dst++ = b64[(src[i + 1] & 15) << 2 | src[i + 2] >> 6];
		*dst++ = b64[src[i + 2] & 63];
	}
	if (i < len) {
		*dst++ = b64[src[i] >> 2];
		if (i + 1 < len) {
			*dst++ = b64[(src[i] & 3) << 4 | src[i + 1] >> 4];
			*dst++ = b64[(src[i + 1] & 15) << 2];
		} else {
			*dst++ = b64[(src[i] & 3) << 4];
			*dst++ = '=';
		}
		*dst++ = '=';
	}
	return dst;
}

/* " k<key>", base64 and " b" for a binary key. */
static char *put_key(char *p, const char *key, size_t nkey, bool binary)
{
	*p++ = ' ';
	*p++ = 'k';
	if (!binary) {
		memcpy(p, key, nkey);
		return p + nkey;
	}
	p = b64_encode(p, (const unsigned char *)key, nkey);
	*p++ = ' ';
	*p++ = 'b';
	return p;
}

static char *put_flag_u64(char *p, char flag, uint64_t v)
{
	*p++ = ' ';
	*p++ = flag;
	return kv_utoa(p, v);
}

/* " t<seconds left>", -1 for never. */
static char *put_ttl(char *p, uint32_t exptime)
{
	*p++ = ' ';
	*p++ = 't';
	if (!exptime) {
		*p++ = '-';
		*p++ = '1';
		return p;
	}
	return kv_utoa(p, (uint32_t)(exptime - kv_now()));
}

/* ---- Flags ------------------------------------------------------------ */

static bool tok_i32(const struct tok *t, int64_t *v)
{
	struct tok u = { t->p + 1, t->len - 1 };

	return parse_i64(&u, v) && *v >= INT32_MIN && *v <= INT32_MAX;
}

static bool tok_u64(const struct tok *t, uint64_t *v)
{
	return mc_strtoull(t->p + 1, t->p + t->len, v);
}

static void meta_err(struct meta *m, const char *err)
{
	m->bad = true;
	if (err)
		m->err = err;
}

/*
 * Read the flags t[from..n) (memcached's _meta_flag_preparse()); decodes
 * a base64 key in place.  False on a duplicate or unknown flag, which
 * ends the parse; other errors set m->bad and go on.
 */
static bool meta_parse(struct meta *m, struct tok *t, int from, int n)
{
	bool seen[128] = { false };
	int64_t v;
	int i;

	for (i = from; i < n; i++) {
		unsigned char o = (unsigned char)t[i].p[0];

		if (o >= 127 || seen[o]) {
			m->err = "CLIENT_ERROR duplicate flag";
			return false;
		}
		seen[o] = true;
		switch (o) {
		case 'b':
			t[1].len = b64_decode(t[1].p, t[1].len);
			if (!t[1].len)
				meta_err(m, "CLIENT_ERROR error decoding key");
			m->key_binary = true;
			break;
		case 'N':
		case 'T':
		case 'R':
			if (!tok_i32(&t[i], &v)) {
				meta_err(m, "CLIENT_ERROR bad token in command "
					    "line format");
				break;
			}
			if (o == 'N') {
				m->vivify = true;
				m->autoviv = kv_realtime(v);
			} else if (o == 'T') {
				m->new_ttl = true;
				m->exptime = kv_realtime(v);
			} else {
				m->recache = kv_realtime(v);
			}
			break;
		case 'O':
		case 'P':
		case 'L':
		case 'k':
		case 's':
		case 't':
		case 'c':
		case 'f':
		case 'h':
		case 'l':
			break;
		case 'v':
			m->value = true;
			break;
		case 'u':
			m->no_update = true;
			break;
		case 'q':
			m->quiet = true;
			break;
		case 'F': {
			struct tok u = { t[i].p + 1, t[i].len - 1 };

			if (!parse_u32(&u, &m->client_flags))
				meta_err(m, NULL);
			break;
		}
		case 'C':
			if (tok_u64(&t[i], &m->req_cas))
				m->has_cas = true;
			else
				meta_err(m, "CLIENT_ERROR bad token in command "
					    "line format");
			break;
		case 'M':
			if (t[i].len != 2)
				meta_err(m, "CLIENT_ERROR incorrect length for "
					    "M token");
			else
				m->mode = t[i].p[1];
			break;
		case 'J':
			if (!tok_u64(&t[i], &m->initial))
				meta_err(m, "CLIENT_ERROR invalid numeric "
					    "initial value");
			break;
		case 'D':
			if (!tok_u64(&t[i], &m->delta))
				meta_err(m,
					 "CLIENT_ERROR invalid numeric delta "
					 "value");
			break;
		case 'I':
			m->stale = true;
			break;
		default:
			m->err = "CLIENT_ERROR invalid flag";
			return false;
		}
	}
	return !m->bad;
}

/* The opaque flag @t echoed, or *@too_long set when it is too long. */
static char *put_opaque(char *p, const struct tok *t, bool *too_long)
{
	if (t->len > META_OPAQUE_MAX) {
		*too_long = true;
		return p;
	}
	*p++ = ' ';
	memcpy(p, t->p, t->len);
	return p + t->len;
}

/* The opaque and key flags of a reply without an item (misses). */
static char *put_opaque_key(char *p, struct tok *t, int n, bool binary,
			    bool *too_long)
{
	int i;

	for (i = 2; i < n; i++) {
		if (t[i].p[0] == 'O') {
			p = put_opaque(p, &t[i], too_long);
			if (*too_long)
				return p;
		} else if (t[i].p[0] == 'k') {
			p = put_key(p, t[1].p, t[1].len, binary);
		}
	}
	return p;
}

static void reply_err(struct kv_conn *c, const char *err)
{
	out_str(c, err, strlen(err));
	OUT_LIT(c, "\r\n");
}

/* ---- mg --------------------------------------------------------------- */

static void meta_get(struct kv_conn *c, struct tok *t, int n)
{
	struct kv_worker *w = c->w;
	struct meta m = { .err = "CLIENT_ERROR bad command line format" };
	char line[KV_META_LINE], *p = line;
	bool created = false, won = false, ttl_set = false, too_long = false;
	struct item *it;
	uint64_t hv;
	int i, miss;

	if (!meta_parse(&m, t, 2, n)) {
		reply_err(c, m.err);
		return;
	}
	hv = kv_hash(t[1].p, t[1].len);
	assoc_lock(hv);
	it = item_get_locked(t[1].p, (unsigned int)t[1].len, hv, kv_now(),
			     &miss, c->fd);
	if (!it && m.vivify) {
		enum kv_alloc_err err;

		it = item_alloc(w, t[1].p, (unsigned int)t[1].len, 0, 0, 0,
				&err);
		if (it) {
			if (m.key_binary)
				it->state |= ITEM_KEY_BINARY;
			item_link(it, hv);
			item_put(it);
			created = true;
		}
	}
	if (!it) {
		assoc_unlock(hv);
		KV_STAT_INC(w->st.get_misses);
		KV_STAT_INC(w->st.cmd_get);
		memcpy(p, "EN", 2);
		p = put_opaque_key(p + 2, t, n, m.key_binary, &too_long);
		if (too_long) {
			OUT_LIT(c, "CLIENT_ERROR opaque token too long\r\n");
		} else if (!m.quiet) {
			memcpy(p, "\r\n", 2);
			out_str(c, line, (size_t)(p - line) + 2);
		}
		return;
	}
	if (m.value) {
		memcpy(p, "VA ", 3);
		p = kv_utoa(p + 3, it->nbytes);
	} else {
		memcpy(p, "HD", 2);
		p += 2;
	}
	for (i = 2; i < n && !too_long; i++) {
		switch (t[i].p[0]) {
		case 'T':
			ttl_set = true;
			it->exptime = m.exptime;
			break;
		case 'N':
			if (created) {
				it->exptime = m.autoviv;
				won = true;
			}
			break;
		case 'R':
			if (!(it->state & ITEM_TOKEN_SENT) && !created &&
			    it->exptime && it->exptime < m.recache)
				won = true;
			break;
		case 's':
			p = put_flag_u64(p, 's', it->nbytes);
			break;
		case 't':
			p = put_ttl(p, it->exptime);
			break;
		case 'c':
			p = put_flag_u64(p, 'c', item_cas(it));
			break;
		case 'f':
			p = put_flag_u64(p, 'f', item_flags(it));
			break;
		case 'h':
			p = put_flag_u64(p, 'h', !!(it->state & ITEM_FETCHED));
			break;
		case 'l':
			/* Before this access counts, as memcached's. */
			p = put_flag_u64(p, 'l', kv_now() - it->time);
			break;
		case 'O':
			p = put_opaque(p, &t[i], &too_long);
			break;
		case 'k':
			p = put_key(p, item_key(it), it->nkey,
				    it->state & ITEM_KEY_BINARY);
			break;
		}
	}
	if (too_long) {
		assoc_unlock(hv);
		OUT_LIT(c, "CLIENT_ERROR opaque token too long\r\n");
		return;
	}
	/* Z before X, and never W with Z, as memcached. */
	if (it->state & ITEM_TOKEN_SENT) {
		memcpy(p, " Z", 2);
		p += 2;
	}
	if (it->state & ITEM_STALE) {
		memcpy(p, " X", 2);
		p += 2;
		if (!(it->state & ITEM_TOKEN_SENT))
			won = true;
	}
	if (won) {
		memcpy(p, " W", 2);
		p += 2;
		it->state |= ITEM_TOKEN_SENT;
	}
	memcpy(p, "\r\n", 2);
	p += 2;
	if (!m.no_update) {
		it->state |= ITEM_ACTIVE | ITEM_FETCHED;
		item_hit_time(it);
	}
	KV_STAT_INC(w->st.cmd_get);
	if (ttl_set) {
		KV_STAT_INC(w->st.cmd_touch);
		KV_STAT_INC(w->st.touch_hits);
		KV_STAT_INC(w->cst[it->clsid].touch_hits);
	} else {
		KV_STAT_INC(w->st.get_hits);
		KV_STAT_INC(w->cst[it->clsid].get_hits);
	}
	if (m.value) {
		out_value(c, it, hv, line, (size_t)(p - line), "\r\n", 2);
	} else {
		assoc_unlock(hv);
		out_str(c, line, (size_t)(p - line));
	}
}

/* ---- ms --------------------------------------------------------------- */

static void meta_set(struct kv_conn *c, struct tok *t, int n)
{
	struct meta m = { .err = "CLIENT_ERROR bad command line format" };
	int64_t vlen;
	struct item *it;
	const char *err;
	int i, cmd;

	if (n == 2 || !parse_i64(&t[2], &vlen) || vlen < 0 ||
	    vlen > INT32_MAX - 2) {
		reply_err(c, "CLIENT_ERROR bad command line format");
		return;
	}
	swallow(c, (uint64_t)vlen + 2); /* unless all goes well below */
	if (!meta_parse(&m, t, 3, n)) {
		reply_err(c, m.err);
		return;
	}
	c->mret_len = 0;
	for (i = 3; i < n; i++) {
		char *r = c->mret + c->mret_len;

		switch (t[i].p[0]) {
		case 'O':
			if (t[i].len > META_OPAQUE_MAX) {
				reply_err(c, "CLIENT_ERROR opaque token too "
					     "long");
				return;
			}
			*r++ = ' ';
			memcpy(r, t[i].p, t[i].len);
			c->mret_len = (uint8_t)(c->mret_len + 1 + t[i].len);
			break;
		case 'k':
		case 'c':
			*r++ = ' ';
			*r = t[i].p[0];
			c->mret_len = (uint8_t)(c->mret_len + 2);
			break;
		}
	}
	switch (m.mode) {
	case 0:
	case 'S':
		cmd = CMD_SET;
		break;
	case 'E':
		cmd = CMD_ADD;
		break;
	case 'A':
		cmd = CMD_APPEND;
		break;
	case 'P':
		cmd = CMD_PREPEND;
		break;
	case 'R':
		cmd = CMD_REPLACE;
		break;
	default:
		reply_err(c, "CLIENT_ERROR invalid mode for ms M token");
		return;
	}
	if (m.has_cas && (cmd == CMD_SET || cmd == CMD_REPLACE))
		cmd = CMD_CAS;
	it = store_alloc(c, t[1].p, t[1].len, m.client_flags, m.exptime,
			 (uint32_t)vlen, -1, &err);
	if (!it) {
		reply_err(c, err);
		return;
	}
	if (m.key_binary)
		it->state |= ITEM_KEY_BINARY;
	c->mflags = (uint8_t)((m.quiet ? 1 : 0) |
			      (m.stale && cmd == CMD_CAS ? 2 : 0));
	nread_start(c, it, cmd, m.has_cas ? m.req_cas : 0, KV_NREAD_META);
}

/* The value of a meta set has arrived: store it, answer (proto.c). */
void meta_store(struct kv_conn *c, struct item *it)
{
	static const char code[][3] = {
		[KV_STORED] = "HD",	 [KV_NOT_STORED] = "NS",
		[KV_EXISTS] = "EX",	 [KV_NOT_FOUND] = "NF",
		[KV_STORE_ERROR] = "NS",
	};
	char line[KV_META_LINE], *p = line;
	const char *err;
	uint64_t cas;
	int r, i;

	r = store_item(c, it, c->cmd, c->req_cas, c->mflags & 2, &cas, &err);
	if (r == KV_STORED && (c->mflags & 1))
		return;
	memcpy(p, code[r], 2);
	p += 2;
	for (i = 0; i < c->mret_len; i++) {
		char f = c->mret[i];

		if (f == 'O') {
			*p++ = ' ';
			while (i < c->mret_len && c->mret[i] != ' ')
				*p++ = c->mret[i++];
		} else if (f == 'k') {
			p = put_key(p, item_key(it), it->nkey,
				    it->state & ITEM_KEY_BINARY);
		} else if (f == 'c') {
			p = put_flag_u64(p, 'c', cas);
		}
	}
	memcpy(p, "\r\n", 2);
	out_str(c, line, (size_t)(p - line) + 2);
}

/* ---- md --------------------------------------------------------------- */

static void meta_delete(struct kv_conn *c, struct tok *t, int n)
{
	struct kv_worker *w = c->w;
	struct meta m = { .err = NULL };
	char line[KV_META_LINE], *p = line + 2;
	bool too_long = false, quiet_ok = false;
	struct item *it;
	uint64_t hv;
	int miss;

	if (!meta_parse(&m, t, 2, n)) {
		reply_err(c, "CLIENT_ERROR invalid or duplicate flag");
		return;
	}
	p = put_opaque_key(p, t, n, m.key_binary, &too_long);
	if (too_long) {
		reply_err(c, "CLIENT_ERROR opaque token too long");
		return;
	}
	hv = kv_hash(t[1].p, t[1].len);
	assoc_lock(hv);
	it = item_get_locked(t[1].p, (unsigned int)t[1].len, hv, kv_now(),
			     &miss, c->fd);
	if (!it) {
		KV_STAT_INC(w->st.delete_misses);
		memcpy(line, "NF", 2);
	} else if (m.has_cas && m.req_cas != item_cas(it)) {
		KV_STAT_INC(w->st.delete_misses);
		memcpy(line, "EX", 2);
	} else if (m.stale) {
		if (m.new_ttl)
			it->exptime = m.exptime;
		it->state |= ITEM_STALE;
		it->state &= (uint8_t)~ITEM_TOKEN_SENT;
		it->cas = item_new_cas();
		memcpy(line, "HD", 2);
		quiet_ok = true;
	} else {
		KV_STAT_INC(w->st.delete_hits);
		KV_STAT_INC(w->cst[it->clsid].delete_hits);
		item_unlink(it, hv);
		memcpy(line, "HD", 2);
		quiet_ok = true;
	}
	assoc_unlock(hv);
	if (quiet_ok && m.quiet)
		return;
	memcpy(p, "\r\n", 2);
	out_str(c, line, (size_t)(p - line) + 2);
}

/* ---- ma --------------------------------------------------------------- */

static void meta_arith(struct kv_conn *c, struct tok *t, int n)
{
	struct kv_worker *w = c->w;
	struct meta m = { .err = NULL, .delta = 1 };
	char line[KV_META_LINE], *p = line, num[24];
	bool incr = true, created = false, too_long = false;
	struct item *it = NULL;
	size_t len = 0;
	uint64_t hv;
	int i, r;

	if (!meta_parse(&m, t, 2, n)) {
		reply_err(c, "CLIENT_ERROR invalid or duplicate flag");
		return;
	}
	switch (m.mode) {
	case 0:
	case 'I':
	case '+':
		break;
	case 'D':
	case '-':
		incr = false;
		break;
	default:
		reply_err(c, "CLIENT_ERROR invalid mode for ma M token");
		return;
	}
	hv = kv_hash(t[1].p, t[1].len);
	assoc_lock(hv);
	r = arith_locked(c, t[1].p, t[1].len, hv, incr, m.delta,
			 m.has_cas ? m.req_cas : 0, num, &len, &it);
	if (r == KV_ARITH_MISS && m.vivify) {
		enum kv_alloc_err err;

		len = (size_t)(kv_utoa(num, m.initial) - num);
		it = item_alloc(w, t[1].p, (unsigned int)t[1].len, 0, 0,
				(uint32_t)len, &err);
		if (!it) {
			assoc_unlock(hv);
			reply_err(c, "SERVER_ERROR Out of memory allocating "
				     "new item");
			return;
		}
		memcpy(item_value(it), num, len);
		if (m.key_binary)
			it->state |= ITEM_KEY_BINARY;
		item_link(it, hv);
		item_put(it);
		created = true;
	} else if (r == KV_ARITH_NON_NUMERIC || r == KV_ARITH_NO_MEMORY) {
		assoc_unlock(hv);
		reply_err(c, r == KV_ARITH_NO_MEMORY ?
				     "SERVER_ERROR out of memory" :
				     "CLIENT_ERROR cannot increment or "
				     "decrement non-numeric value");
		return;
	}
	if (!it) {
		memcpy(p, r == KV_ARITH_EXISTS ? "EX" : "NF", 2);
		p = put_opaque_key(p + 2, t, n, m.key_binary, &too_long);
	} else {
		if (m.value) {
			memcpy(p, "VA ", 3);
			p = kv_utoa(p + 3, len);
		} else {
			memcpy(p, "HD", 2);
			p += 2;
		}
		for (i = 2; i < n && !too_long; i++) {
			switch (t[i].p[0]) {
			case 'c':
				p = put_flag_u64(p, 'c', item_cas(it));
				break;
			case 't':
				p = put_ttl(p, it->exptime);
				break;
			case 'T':
				it->exptime = m.exptime;
				break;
			case 'N':
				if (created)
					it->exptime = m.autoviv;
				break;
			case 'O':
				p = put_opaque(p, &t[i], &too_long);
				break;
			case 'k':
				p = put_key(p, t[1].p, t[1].len, m.key_binary);
				break;
			}
		}
	}
	assoc_unlock(hv);
	if (too_long) {
		reply_err(c, "CLIENT_ERROR opaque token too long");
		return;
	}
	if (it && !created && m.quiet)
		return;
	memcpy(p, "\r\n", 2);
	p += 2;
	if (it && m.value) {
		memcpy(p, num, len);
		memcpy(p + len, "\r\n", 2);
		p += len + 2;
	}
	out_str(c, line, (size_t)(p - line));
}

/* ---- me --------------------------------------------------------------- */

static void meta_debug(struct kv_conn *c, struct tok *t, int n)
{
	char line[KV_META_LINE], *p = line;
	struct item *it;
	uint64_t hv;
	int miss;

	if (n >= 3 && TOK_IS(&t[2], "b")) {
		t[1].len = b64_decode(t[1].p, t[1].len);
		if (!t[1].len) {
			reply_err(c, "CLIENT_ERROR bad command line format");
			return;
		}
	}
	hv = kv_hash(t[1].p, t[1].len);
	assoc_lock(hv);
	it = item_get_locked(t[1].p, (unsigned int)t[1].len, hv, kv_now(),
			     &miss, c->fd);
	if (!it) {
		assoc_unlock(hv);
		OUT_LIT(c, "EN\r\n");
		return;
	}
	memcpy(p, "ME ", 3);
	p += 3;
	if (it->state & ITEM_KEY_BINARY) {
		p = b64_encode(p, (unsigned char *)item_key(it), it->nkey);
	} else {
		memcpy(p, item_key(it), it->nkey);
		p += it->nkey;
	}
	/*
	 * exp is memcached's figure: now minus the expiry time (so minus
	 * the seconds left), -1 for never.
	 */
	p += snprintf(p, 128,
		      " exp=%d la=%u cas=%llu fetch=%s cls=%u size=%zu\r\n",
		      it->exptime ? (int)(kv_now() - it->exptime) : -1,
		      kv_now() - it->time, (unsigned long long)item_cas(it),
		      (it->state & ITEM_FETCHED) ? "yes" : "no", it->clsid + 1,
		      KV_ITEM_HDR + it->nkey +
			      (it->cflags ? sizeof(uint32_t) : 0) + it->nbytes);
	assoc_unlock(hv);
	out_str(c, line, (size_t)(p - line));
}

/* ---- Dispatch --------------------------------------------------------- */

/* A line starting with a two-letter command beginning with 'm'. */
int process_meta(struct kv_conn *c, char *p, char *end)
{
	struct tok t[META_MAX_TOKENS + 2];
	int n = tokenize(p, end, t, META_MAX_TOKENS + 1);
	char cmd = t[0].p[1];

	if (!strchr("gsdanme", cmd)) {
		OUT_LIT(c, "ERROR\r\n");
		return KV_CONTINUE;
	}
	if (cmd == 'n') {
		OUT_LIT(c, "MN\r\n");
		return KV_CONTINUE;
	}
	if (n < 2) {
		if (cmd == 'e')
			reply_err(c, "CLIENT_ERROR bad command line format");
		else
			OUT_LIT(c, "ERROR\r\n");
		return KV_CONTINUE;
	}
	if (t[1].len > KV_KEY_MAX) {
		reply_err(c, "CLIENT_ERROR bad command line format");
		return KV_CONTINUE;
	}
	if (n > META_MAX_TOKENS) {
		reply_err(c, cmd == 'g' ?
				     "CLIENT_ERROR options flags are too "
				     "long" :
				     "CLIENT_ERROR options flags too long");
		return KV_CONTINUE;
	}
	/* Every reply fits in the room proto_line() made, but a value. */
	if (!out_make_room(c, KV_META_LINE + KV_COPY_MAX + 2, KV_MAX_SEGS + 2,
			   1))
		return out_wait(c);
	KV_STAT_INC(c->w->st.cmd_meta);
	switch (cmd) {
	case 'g':
		meta_get(c, t, n);
		break;
	case 's':
		meta_set(c, t, n);
		break;
	case 'd':
		meta_delete(c, t, n);
		break;
	case 'a':
		meta_arith(c, t, n);
		break;
	case 'e':
		meta_debug(c, t, n);
		break;
	}
	return KV_CONTINUE;
}
