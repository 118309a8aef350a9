// SPDX-License-Identifier: MIT
/*
 * proto_bin.c - memcached's binary protocol, the opcodes its clients use:
 * GET, GETQ, GETK, GETKQ, SET, ADD, REPLACE, APPEND, PREPEND and their
 * quiet forms, DELETE(Q), INCREMENT(Q), DECREMENT(Q), TOUCH, GAT, GATQ,
 * GATK, GATKQ, FLUSH(Q), NOOP, VERSION, STAT, QUIT(Q), answered as
 * memcached 1.6.18 answers them (status codes and error texts, quiet
 * forms silent on success and GETQ silent on a miss, errors always sent).
 *
 * A connection speaks it when the first byte it sends is 0x80 (a request
 * header's magic), as memcached decides, and keeps to it.  SASL is not
 * supported: SASL_LIST_MECHS, SASL_AUTH and SASL_STEP get "Unknown
 * command" (0x81), as any other opcode, whose body is skipped.  A
 * malformed request (sizes that do not fit the opcode, a key over 250
 * bytes) gets "Invalid arguments" and the connection is closed, as in
 * memcached; a header whose key and extras exceed its body, or a bad
 * magic byte, closes it too.
 *
 * A storage request's value is read straight into its item by proto.c's
 * CS_NREAD (with no "\r\n" to follow); every other request must arrive
 * whole (at most KV_BIN_BODY_MAX bytes of body) before it runs.
 *
 * Locking: none of its own; the key's stripe lock as in proto.c.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "kvcache.h"

#define BIN_REQ 0x80
#define BIN_RES 0x81
#define KV_BIN_HDR 24
#define KV_BIN_BODY_MAX 1024 /* extras + key of a request without a value */

enum {
	OP_GET = 0x00,
	OP_SET = 0x01,
	OP_ADD = 0x02,
	OP_REPLACE = 0x03,
	OP_DELETE = 0x04,
	OP_INCREMENT = 0x05,
	OP_DECREMENT = 0x06,
	OP_QUIT = 0x07,
	OP_FLUSH = 0x08,
	OP_GETQ = 0x09,
	OP_NOOP = 0x0a,
	OP_VERSION = 0x0b,
	OP_GETK = 0x0c,
	OP_GETKQ = 0x0d,
	OP_APPEND = 0x0e,
	OP_PREPEND = 0x0f,
	OP_STAT = 0x10,
	OP_SETQ = 0x11,
	OP_ADDQ = 0x12,
	OP_REPLACEQ = 0x13,
	OP_DELETEQ = 0x14,
	OP_INCREMENTQ = 0x15,
	OP_DECREMENTQ = 0x16,
	OP_QUITQ = 0x17,
	OP_FLUSHQ = 0x18,
	OP_APPENDQ = 0x19,
	OP_PREPENDQ = 0x1a,
	OP_TOUCH = 0x1c,
	OP_GAT = 0x1d,
	OP_GATQ = 0x1e,
	OP_GATK = 0x23,
	OP_GATKQ = 0x24,
};

enum {
	ST_OK = 0x00,
	ST_KEY_ENOENT = 0x01,
	ST_KEY_EEXISTS = 0x02,
	ST_E2BIG = 0x03,
	ST_EINVAL = 0x04,
	ST_NOT_STORED = 0x05,
	ST_DELTA_BADVAL = 0x06,
	ST_AUTH_ERROR = 0x20,
	ST_UNKNOWN_COMMAND = 0x81,
	ST_ENOMEM = 0x82,
};

/* A request or response header, in network byte order on the wire. */
struct bin_hdr {
	uint8_t magic;
	uint8_t opcode;
	uint16_t keylen;
	uint8_t extlen;
	uint8_t datatype;
	uint16_t status; /* vbucket in a request */
	uint32_t bodylen;
	uint32_t opaque;
	uint64_t cas;
} __attribute__((packed));

/* The request being answered: the reply needs its opcode and opaque. */
struct bin_req {
	uint8_t opcode;
	uint32_t opaque; /* as sent, network order */
};

static const char *status_text(int status)
{
	switch (status) {
	case ST_KEY_ENOENT:
		return "Not found";
	case ST_KEY_EEXISTS:
		return "Data exists for key.";
	case ST_E2BIG:
		return "Too large.";
	case ST_EINVAL:
		return "Invalid arguments";
	case ST_NOT_STORED:
		return "Not stored.";
	case ST_DELTA_BADVAL:
		return "Non-numeric server-side value for incr or decr";
	case ST_ENOMEM:
		return "Out of memory";
	case ST_AUTH_ERROR:
		return "Auth failure.";
	default:
		return "Unknown command";
	}
}

/* Fill a response header (the body, @bodylen bytes, follows). */
static void put_hdr(char *dst, const struct bin_req *r, int status,
		    unsigned int extlen, unsigned int keylen, uint32_t bodylen,
		    uint64_t cas)
{
	struct bin_hdr h = {
		.magic = BIN_RES,
		.opcode = r->opcode,
		.keylen = htobe16((uint16_t)keylen),
		.extlen = (uint8_t)extlen,
		.status = htobe16((uint16_t)status),
		.bodylen = htobe32(bodylen),
		.opaque = r->opaque,
		.cas = htobe64(cas),
	};

	memcpy(dst, &h, sizeof(h));
}

/* A response with an optional key and body (room made). */
static void respond(struct kv_conn *c, const struct bin_req *r, int status,
		    const char *key, size_t nkey, const char *body,
		    size_t nbody, uint64_t cas)
{
	char *p = out_text(c, KV_BIN_HDR + nkey + nbody);

	put_hdr(p, r, status, 0, (unsigned int)nkey, (uint32_t)(nkey + nbody),
		cas);
	if (nkey)
		memcpy(p + KV_BIN_HDR, key, nkey);
	if (nbody)
		memcpy(p + KV_BIN_HDR + nkey, body, nbody);
}

static void respond_err(struct kv_conn *c, const struct bin_req *r, int status)
{
	const char *s = status_text(status);

	respond(c, r, status, NULL, 0, s, strlen(s), 0);
}

static bool is_quiet(int op)
{
	switch (op) {
	case OP_GETQ:
	case OP_GETKQ:
	case OP_SETQ:
	case OP_ADDQ:
	case OP_REPLACEQ:
	case OP_DELETEQ:
	case OP_INCREMENTQ:
	case OP_DECREMENTQ:
	case OP_QUITQ:
	case OP_FLUSHQ:
	case OP_APPENDQ:
	case OP_PREPENDQ:
	case OP_GATQ:
	case OP_GATKQ:
		return true;
	}
	return false;
}

static uint32_t get_be32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t get_be64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* A binary exptime is memcached's too: signed, relative up to 30 days. */
static uint32_t bin_exptime(uint32_t v)
{
	return kv_realtime((int32_t)v);
}

/* ---- Retrieval and touch ---------------------------------------------- */

static void bin_get(struct kv_conn *c, const struct bin_req *r, const char *ext,
		    const char *key, size_t nkey)
{
	struct kv_worker *w = c->w;
	int op = r->opcode;
	bool touch = op == OP_TOUCH || op == OP_GAT || op == OP_GATQ ||
		     op == OP_GATK || op == OP_GATKQ;
	bool with_key = op == OP_GETK || op == OP_GETKQ || op == OP_GATK ||
			op == OP_GATKQ;
	char hdr[KV_BIN_HDR + 4 + KV_KEY_MAX];
	uint64_t hv = kv_hash(key, nkey);
	struct item *it;
	uint32_t flags;
	size_t klen = with_key ? nkey : 0;
	int miss;

	assoc_lock(hv);
	it = item_get_locked(key, (unsigned int)nkey, hv, kv_now(), &miss,
			     c->fd);
	kv_detail(key, nkey, it ? KV_DETAIL_HIT : KV_DETAIL_GET);
	if (!it) {
		assoc_unlock(hv);
		if (touch) {
			KV_STAT_INC(w->st.cmd_touch);
			KV_STAT_INC(w->st.touch_misses);
		} else {
			KV_STAT_INC(w->st.cmd_get);
			KV_STAT_INC(w->st.get_misses);
		}
		if (is_quiet(op))
			return;
		if (with_key)
			respond(c, r, ST_KEY_ENOENT, key, nkey, NULL, 0, 0);
		else
			respond_err(c, r, ST_KEY_ENOENT);
		return;
	}
	if (touch) {
		it->exptime = bin_exptime(get_be32(ext));
		KV_STAT_INC(w->st.cmd_touch);
		KV_STAT_INC(w->st.touch_hits);
		KV_STAT_INC(w->cst[it->clsid].touch_hits);
	} else {
		KV_STAT_INC(w->st.cmd_get);
		KV_STAT_INC(w->st.get_hits);
		KV_STAT_INC(w->cst[it->clsid].get_hits);
	}
	it->state |= ITEM_ACTIVE | ITEM_FETCHED;
	item_hit_time(it);
	flags = htobe32(item_flags(it));
	memcpy(hdr + KV_BIN_HDR, &flags, 4);
	memcpy(hdr + KV_BIN_HDR + 4, key, klen);
	if (op == OP_TOUCH) {
		put_hdr(hdr, r, ST_OK, 4, 0, 4, item_cas(it));
		assoc_unlock(hv);
		out_str(c, hdr, KV_BIN_HDR + 4);
		return;
	}
	put_hdr(hdr, r, ST_OK, 4, (unsigned int)klen,
		(uint32_t)(4 + klen + it->nbytes), item_cas(it));
	out_value(c, it, hv, hdr, KV_BIN_HDR + 4 + klen, NULL, 0);
}

/* ---- Storage ---------------------------------------------------------- */

static int bin_update(struct kv_conn *c, const struct bin_req *r,
		      const struct bin_hdr *h, const char *ext, const char *key,
		      size_t nkey)
{
	int op = r->opcode, cmd;
	bool set_like = h->extlen == 8;
	uint32_t vlen = h->bodylen - h->extlen - (uint32_t)nkey;
	const char *err;
	struct item *it;

	switch (op) {
	case OP_SET:
	case OP_SETQ:
		cmd = CMD_SET;
		break;
	case OP_ADD:
	case OP_ADDQ:
		cmd = CMD_ADD;
		break;
	case OP_REPLACE:
	case OP_REPLACEQ:
		cmd = CMD_REPLACE;
		break;
	case OP_APPEND:
	case OP_APPENDQ:
		cmd = CMD_APPEND;
		break;
	default:
		cmd = CMD_PREPEND;
		break;
	}
	/*
	 * memcached: a CAS turns set, add and replace into cas; under -C it
	 * is ignored.
	 */
	if (h->cas && cmd <= CMD_REPLACE && !settings.cas_disabled)
		cmd = CMD_CAS;
	kv_detail(key, nkey, KV_DETAIL_SET);
	it = store_alloc(c, key, nkey, set_like ? get_be32(ext) : 0,
			 set_like ? bin_exptime(get_be32(ext + 4)) : 0, vlen,
			 cmd == CMD_SET ? CMD_SET : CMD_ADD, &err);
	if (!it) {
		respond_err(c, r,
			    strstr(err, "too large") ? ST_E2BIG : ST_ENOMEM);
		swallow(c, vlen);
		return KV_CONTINUE;
	}
	c->mret[0] = (char)op;
	memcpy(c->mret + 1, &r->opaque, 4);
	nread_start(c, it, cmd, h->cas, KV_NREAD_BIN);
	return KV_CONTINUE;
}

/* The value of a binary storage request has arrived (proto.c). */
void bin_store(struct kv_conn *c, struct item *it)
{
	struct bin_req r = { .opcode = (uint8_t)c->mret[0] };
	const char *err = NULL;
	uint64_t cas;
	int st, res;

	memcpy(&r.opaque, c->mret + 1, 4);
	res = store_item(c, it, c->cmd, c->req_cas, false, &cas, &err);
	switch (res) {
	case KV_STORED:
		if (!is_quiet(r.opcode))
			respond(c, &r, ST_OK, NULL, 0, NULL, 0, cas);
		return;
	case KV_EXISTS:
		st = ST_KEY_EEXISTS;
		break;
	case KV_NOT_FOUND:
		st = ST_KEY_ENOENT;
		break;
	case KV_NOT_STORED:
		st = r.opcode == OP_ADD || r.opcode == OP_ADDQ ?
			     ST_KEY_EEXISTS :
		     r.opcode == OP_REPLACE || r.opcode == OP_REPLACEQ ?
			     ST_KEY_ENOENT :
			     ST_NOT_STORED;
		break;
	default:
		st = strstr(err, "too large") ? ST_E2BIG : ST_ENOMEM;
		break;
	}
	respond_err(c, &r, st);
}

/* ---- Other requests --------------------------------------------------- */

static void bin_delete(struct kv_conn *c, const struct bin_req *r,
		       const struct bin_hdr *h, const char *key, size_t nkey)
{
	struct kv_worker *w = c->w;
	uint64_t hv = kv_hash(key, nkey);
	struct item *it;
	int miss, st = ST_OK;

	kv_detail(key, nkey, KV_DETAIL_DEL);
	assoc_lock(hv);
	it = item_get_locked(key, (unsigned int)nkey, hv, kv_now(), &miss,
			     c->fd);
	if (!it) {
		st = ST_KEY_ENOENT;
	} else if (h->cas && h->cas != item_cas(it)) {
		st = ST_KEY_EEXISTS;
	} else {
		KV_STAT_INC(w->cst[it->clsid].delete_hits);
		item_unlink(it, hv);
	}
	assoc_unlock(hv);
	if (st == ST_OK) {
		KV_STAT_INC(w->st.delete_hits);
		if (!is_quiet(r->opcode))
			respond(c, r, ST_OK, NULL, 0, NULL, 0, 0);
	} else {
		KV_STAT_INC(w->st.delete_misses);
		respond_err(c, r, st);
	}
}

static void bin_arith(struct kv_conn *c, const struct bin_req *r,
		      const struct bin_hdr *h, const char *ext, const char *key,
		      size_t nkey)
{
	bool incr = r->opcode == OP_INCREMENT || r->opcode == OP_INCREMENTQ;
	uint64_t delta = get_be64(ext), initial = get_be64(ext + 8);
	uint32_t exptime = get_be32(ext + 16);
	uint64_t hv = kv_hash(key, nkey), v, cas = 0;
	struct item *it = NULL;
	char num[24];
	size_t len;
	int res, st = ST_OK;

	assoc_lock(hv);
	res = arith_locked(c, key, nkey, hv, incr, delta, h->cas, num, &len,
			   &it);
	switch (res) {
	case KV_ARITH_OK:
		cas = item_cas(it);
		break;
	case KV_ARITH_MISS:
		/* An expiration of all ones: no creation on a miss. */
		if (exptime == UINT32_MAX) {
			st = ST_KEY_ENOENT;
			break;
		} else {
			enum kv_alloc_err err;

			len = (size_t)(kv_utoa(num, initial) - num);
			it = item_alloc(c->w, key, (unsigned int)nkey, 0,
					bin_exptime(exptime), (uint32_t)len,
					&err);
			if (!it) {
				st = ST_ENOMEM;
				break;
			}
			memcpy(item_value(it), num, len);
			item_link(it, hv);
			cas = item_cas(it);
			item_put(it);
		}
		break;
	case KV_ARITH_EXISTS:
		st = ST_KEY_EEXISTS;
		break;
	case KV_ARITH_NON_NUMERIC:
		st = ST_DELTA_BADVAL;
		break;
	default:
		st = ST_ENOMEM;
		break;
	}
	assoc_unlock(hv);
	if (st != ST_OK) {
		respond_err(c, r, st);
		return;
	}
	if (is_quiet(r->opcode))
		return;
	num[len] = 0;
	v = htobe64(strtoull(num, NULL, 10));
	respond(c, r, ST_OK, NULL, 0, (const char *)&v, 8, cas);
}

/* "STAT name value\r\n" lines and "END\r\n" as binary STAT responses. */
char *bin_stats(struct kv_conn *c, const char *text, size_t len,
		size_t *out_len)
{
	struct bin_req r = { .opcode = OP_STAT };
	const char *p = text, *end = text + len;
	char *out = malloc(len * 2 + KV_BIN_HDR), *q = out;

	if (!out)
		return NULL;
	memcpy(&r.opaque, c->mret + 1, 4);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *name, *val, *sp;
		size_t nname, nval;

		if (!nl || (size_t)(nl - p) < 7 || memcmp(p, "STAT ", 5))
			break;
		name = p + 5;
		sp = memchr(name, ' ', (size_t)(nl - name));
		if (!sp)
			break;
		nname = (size_t)(sp - name);
		val = sp + 1;
		nval = (size_t)(nl - val) - (nl[-1] == '\r');
		put_hdr(q, &r, ST_OK, 0, (unsigned int)nname,
			(uint32_t)(nname + nval), 0);
		memcpy(q + KV_BIN_HDR, name, nname);
		memcpy(q + KV_BIN_HDR + nname, val, nval);
		q += KV_BIN_HDR + nname + nval;
		p = nl + 1;
	}
	put_hdr(q, &r, ST_OK, 0, 0, 0, 0);
	*out_len = (size_t)(q - out) + KV_BIN_HDR;
	return out;
}

/* One STAT response @name = @val and the terminating empty one. */
char *bin_stat_one(struct kv_conn *c, const char *name, const char *val,
		   size_t nval, size_t *out_len)
{
	struct bin_req r = { .opcode = OP_STAT };
	size_t nname = strlen(name);
	char *out = malloc(2 * KV_BIN_HDR + nname + nval);

	if (!out)
		return NULL;
	memcpy(&r.opaque, c->mret + 1, 4);
	put_hdr(out, &r, ST_OK, 0, (unsigned int)nname,
		(uint32_t)(nname + nval), 0);
	memcpy(out + KV_BIN_HDR, name, nname);
	memcpy(out + KV_BIN_HDR + nname, val, nval);
	put_hdr(out + KV_BIN_HDR + nname + nval, &r, ST_OK, 0, 0, 0, 0);
	*out_len = 2 * KV_BIN_HDR + nname + nval;
	return out;
}

static int bin_stat(struct kv_conn *c, const struct bin_req *r, const char *key,
		    size_t nkey)
{
	struct tok t = { (char *)key, nkey };

	c->mret[0] = (char)r->opcode;
	memcpy(c->mret + 1, &r->opaque, 4);
	if (!nkey)
		return stats_general(c);
	if (TOK_IS(&t, "slabs"))
		return stats_slabs(c);
	if (TOK_IS(&t, "uslab"))
		return stats_uslab(c);
	if (TOK_IS(&t, "items"))
		return stats_items(c);
	if (TOK_IS(&t, "settings"))
		return stats_settings(c);
	if (TOK_IS(&t, "conns"))
		return stats_conns(c);
	if (TOK_IS(&t, "reset")) {
		stats_reset();
		respond(c, r, ST_OK, NULL, 0, NULL, 0, 0);
		return KV_CONTINUE;
	}
	/* memcached matches "detail" and then " dump", " on", " off". */
	if (nkey >= 6 && !memcmp(key, "detail", 6)) {
		const char *sub = key + 6;
		size_t nsub = nkey - 6;

		if (nsub >= 5 && !memcmp(sub, " dump", 5))
			return stats_detail_dump(c);
		if ((nsub >= 3 && !memcmp(sub, " on", 3)) ||
		    (nsub >= 4 && !memcmp(sub, " off", 4))) {
			/* Relaxed: a switch (kvcache.h). */
			__atomic_store_n(&kv_detail_enabled, sub[2] == 'n',
					 __ATOMIC_RELAXED);
			respond(c, r, ST_OK, NULL, 0, NULL, 0, 0);
			return KV_CONTINUE;
		}
	}
	respond_err(c, r, ST_KEY_ENOENT);
	return KV_CONTINUE;
}

/* ---- Requests --------------------------------------------------------- */

/* Do the sizes fit the opcode (memcached's dispatch_bin_command())? */
static bool sizes_ok(int op, const struct bin_hdr *h)
{
	unsigned int ext = h->extlen, key = h->keylen;
	uint32_t body = h->bodylen;

	switch (op) {
	case OP_VERSION:
	case OP_NOOP:
	case OP_QUIT:
	case OP_QUITQ:
		return !ext && !key && !body;
	case OP_FLUSH:
	case OP_FLUSHQ:
		return !key && body == ext && (ext == 0 || ext == 4);
	case OP_SET:
	case OP_SETQ:
	case OP_ADD:
	case OP_ADDQ:
	case OP_REPLACE:
	case OP_REPLACEQ:
		return ext == 8 && key && body >= key + 8;
	case OP_GET:
	case OP_GETQ:
	case OP_GETK:
	case OP_GETKQ:
	case OP_DELETE:
	case OP_DELETEQ:
		return !ext && key && body == key;
	case OP_INCREMENT:
	case OP_INCREMENTQ:
	case OP_DECREMENT:
	case OP_DECREMENTQ:
		return key && ext == 20 && body == key + 20;
	case OP_APPEND:
	case OP_APPENDQ:
	case OP_PREPEND:
	case OP_PREPENDQ:
		return key && !ext;
	case OP_STAT:
		return !ext;
	case OP_TOUCH:
	case OP_GAT:
	case OP_GATQ:
	case OP_GATK:
	case OP_GATKQ:
		return ext == 4 && key;
	}
	return true; /* unknown: "Unknown command", body skipped */
}

static bool is_storage(int op)
{
	switch (op) {
	case OP_SET:
	case OP_SETQ:
	case OP_ADD:
	case OP_ADDQ:
	case OP_REPLACE:
	case OP_REPLACEQ:
	case OP_APPEND:
	case OP_APPENDQ:
	case OP_PREPEND:
	case OP_PREPENDQ:
		return true;
	}
	return false;
}

static bool is_known(int op)
{
	return op <= OP_PREPENDQ || op == OP_TOUCH || op == OP_GAT ||
	       op == OP_GATQ || op == OP_GATK || op == OP_GATKQ;
}

/* Answer "Invalid arguments" and close (memcached's protocol error). */
static int bin_protocol_error(struct kv_conn *c, const struct bin_req *r,
			      int status)
{
	if (kv_verbose())
		kv_log("<%d binary protocol error (opcode %02x), closing",
		       c->fd, r->opcode);
	respond_err(c, r, status);
	conn_set_state(c, CS_CLOSE);
	return KV_CLOSE;
}

/* CS_CMD on a binary connection: one request, if it has arrived. */
int proto_bin(struct kv_conn *c)
{
	struct kv_rbuf *rb = c->rb;
	struct bin_hdr h;
	struct bin_req r;
	size_t avail, need;
	uint32_t start;
	char *p, *ext, *key;
	int op, ret;

	if (!rb || rb->end - rb->start < KV_BIN_HDR)
		return KV_MORE;
	p = rb->data + rb->start;
	avail = rb->end - rb->start;
	memcpy(&h, p, sizeof(h));
	h.keylen = be16toh(h.keylen);
	h.bodylen = be32toh(h.bodylen);
	h.cas = be64toh(h.cas);
	op = h.opcode;
	r.opcode = h.opcode;
	r.opaque = h.opaque;
	if (!out_make_room(c, KV_BIN_HDR * 2 + 4 + KV_KEY_MAX + KV_COPY_MAX,
			   KV_MAX_SEGS + 2, 1))
		return out_wait(c);
	if (h.magic != BIN_REQ) {
		if (kv_verbose())
			kv_log("<%d invalid binary magic %02x, closing", c->fd,
			       h.magic);
		conn_set_state(c, CS_CLOSE);
		return KV_CLOSE;
	}
	if ((uint64_t)h.keylen + h.extlen > h.bodylen)
		return bin_protocol_error(c, &r, ST_UNKNOWN_COMMAND);
	if (h.keylen > KV_KEY_MAX || !sizes_ok(op, &h))
		return bin_protocol_error(c, &r, ST_EINVAL);
	if (!is_known(op)) {
		rb->start += KV_BIN_HDR;
		respond_err(c, &r, ST_UNKNOWN_COMMAND);
		swallow(c, h.bodylen);
		return KV_CONTINUE;
	}
	need = KV_BIN_HDR + h.extlen + h.keylen;
	if (!is_storage(op)) {
		if (h.bodylen > KV_BIN_BODY_MAX)
			return bin_protocol_error(c, &r, ST_EINVAL);
		need = KV_BIN_HDR + h.bodylen;
	}
	if (avail < need)
		return KV_MORE;
	start = rb->start;
	rb->start += (uint32_t)need;
	ext = p + KV_BIN_HDR;
	key = ext + h.extlen;
	if (kv_verbose() > 1)
		kv_log("<%d binary opcode %02x, key %.*s", c->fd, op,
		       (int)h.keylen, key);
	switch (op) {
	case OP_GET:
	case OP_GETQ:
	case OP_GETK:
	case OP_GETKQ:
	case OP_TOUCH:
	case OP_GAT:
	case OP_GATQ:
	case OP_GATK:
	case OP_GATKQ:
		bin_get(c, &r, ext, key, h.keylen);
		break;
	case OP_DELETE:
	case OP_DELETEQ:
		bin_delete(c, &r, &h, key, h.keylen);
		break;
	case OP_INCREMENT:
	case OP_INCREMENTQ:
	case OP_DECREMENT:
	case OP_DECREMENTQ:
		bin_arith(c, &r, &h, ext, key, h.keylen);
		break;
	case OP_FLUSH:
	case OP_FLUSHQ:
		if (settings.flush_disabled) { /* -F: memcached's answer */
			respond_err(c, &r, ST_AUTH_ERROR);
			break;
		}
		KV_STAT_INC(c->w->st.cmd_flush);
		item_flush(h.extlen ? (int32_t)get_be32(ext) : 0);
		if (op == OP_FLUSH)
			respond(c, &r, ST_OK, NULL, 0, NULL, 0, 0);
		break;
	case OP_NOOP:
		respond(c, &r, ST_OK, NULL, 0, NULL, 0, 0);
		break;
	case OP_VERSION:
		respond(c, &r, ST_OK, NULL, 0, KV_VERSION,
			sizeof(KV_VERSION) - 1, 0);
		break;
	case OP_QUIT:
	case OP_QUITQ:
		if (op == OP_QUIT)
			respond(c, &r, ST_OK, NULL, 0, NULL, 0, 0);
		c->close_reason = KV_CLOSE_NORMAL;
		conn_set_state(c, CS_CLOSE);
		return KV_CLOSE;
	case OP_STAT:
		ret = bin_stat(c, &r, key, h.keylen);
		if (ret == KV_BLOCKED)
			rb->start = start; /* again once the output drains */
		return ret;
	default:
		return bin_update(c, &r, &h, ext, key, h.keylen);
	}
	return KV_CONTINUE;
}
