// SPDX-License-Identifier: MIT
/*
 * logger.c - memcached's "watch" command: log lines of what the workers
 * do (fetches, stores, evictions, connections), streamed to the
 * connections that asked for them.
 *
 * Producers are the workers (and whoever evicts, under an allocation);
 * the consumer of a watcher's lines is the worker that owns the
 * watcher's connection (worker.c: watcher_send()), which copies them out
 * and sends them.  There is no logger thread: a line goes straight into
 * each interested watcher's ring, a bounded buffer of -o
 * watcher_logbuf_size bytes.  A line that does not fit (with 128 bytes
 * to spare for a "skipped=N" line, as memcached reserves) is dropped
 * and counted; once there is room again, "skipped=N\n" goes out before
 * the next line, memcached's format.  So a watcher that does not read
 * costs the workers nothing but the lines they format: they never wait
 * for it.
 *
 * Locking: log_lock, a leaf (taken under any of kvcache's locks, and
 * nothing is taken under it), protects the table of watchers, every
 * ring, and the counters below.  A producer holds it to copy one line
 * (at most KV_LOG_LINE bytes) into at most KV_WATCHER_MAX rings; the
 * consumer holds it to copy at most one output buffer (16 KiB) out:
 * both bounded, neither ever makes a system call under it.
 *
 * The fast path, with nobody watching, is one relaxed load of
 * kv_log_flags (kv_logging()).  That word is the OR of the watchers'
 * flags, written under log_lock.  Relaxed, because it is only a hint
 * that orders nothing: a producer that sees a bit set still finds the
 * watchers under log_lock (and none if the last one just left); one
 * that sees it clear a moment after a "watch" misses the line, which
 * memcached allows as well (its workers pick up the flags late, and
 * lines are only promised from the "OK" on).  A command a client sends
 * after reading "OK" reaches the load through the kernel's socket calls
 * on both sides, which order it after the store in practice.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "kvcache.h"

#define KV_WATCHER_MAX 20 /* memcached's WATCHER_LIMIT */
#define KV_LOG_LINE 1024 /* longest line: a 250-byte key is 750 encoded */
#define KV_LOG_SKIP_ROOM 128 /* kept free for "skipped=N\n" */
#define KV_LOG_RING_MIN 4096 /* smallest ring, whatever -o says */

struct kv_watcher {
	char *buf; /* the ring, @size bytes (log_lock) */
	uint32_t size, head, len;
	uint64_t skipped; /* lines dropped since the last one sent */
	unsigned int flags; /* KV_LOG_*, fixed */
	int slot; /* index in watchers[] */
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kv_watcher *watchers[KV_WATCHER_MAX];
static unsigned int nwatchers;
unsigned int kv_log_flags;
/* "stats": lines formatted, lines put in a ring, lines dropped (log_lock) */
static uint64_t log_written, log_sent, log_skipped;
static uint64_t log_gid; /* next line's gid (relaxed: only unique) */

/* ---- Producers -------------------------------------------------------- */

/* Copy @len bytes into @wt's ring (room checked). */
static void ring_put(struct kv_watcher *wt, const char *s, size_t len)
{
	uint32_t tail = (wt->head + wt->len) % wt->size;
	size_t first = wt->size - tail < len ? wt->size - tail : len;

	memcpy(wt->buf + tail, s, first);
	memcpy(wt->buf, s + first, len - first);
	wt->len += (uint32_t)len;
}

/* log_lock held: one line for @wt, or one more dropped. */
static void watcher_push(struct kv_watcher *wt, const char *line, size_t len)
{
	char skip[KV_LOG_SKIP_ROOM];
	int n;

	if (wt->size - wt->len < len + KV_LOG_SKIP_ROOM) {
		wt->skipped++;
		log_skipped++;
		return;
	}
	if (wt->skipped) {
		n = snprintf(skip, sizeof(skip), "skipped=%llu\n",
			     (unsigned long long)wt->skipped);
		ring_put(wt, skip, (size_t)n);
		wt->skipped = 0;
	}
	ring_put(wt, line, len);
	log_sent++;
}

/* Give @line (@len bytes) to every watcher of @what. */
static void log_emit(unsigned int what, const char *line, size_t len)
{
	unsigned int i;

	pthread_mutex_lock(&log_lock);
	log_written++;
	for (i = 0; i < KV_WATCHER_MAX; i++)
		if (watchers[i] && (watchers[i]->flags & what))
			watcher_push(watchers[i], line, len);
	pthread_mutex_unlock(&log_lock);
}

/* "ts=SEC.USEC gid=N ", memcached's prefix; returns its length. */
static int log_prefix(char *buf, size_t size)
{
	struct timeval tv;
	/* Relaxed: a line's number need only be unique and increasing. */
	uint64_t gid = __atomic_fetch_add(&log_gid, 1, __ATOMIC_RELAXED);

	gettimeofday(&tv, NULL);
	return snprintf(buf, size, "ts=%lld.%d gid=%llu ", (long long)tv.tv_sec,
			(int)tv.tv_usec, (unsigned long long)gid);
}

/* memcached's uriencode(): every byte but [A-Za-z0-9._~-] as %XX. */
static char *uri_encode(char *dst, const char *key, size_t nkey)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < nkey; i++) {
		unsigned char ch = (unsigned char)key[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			*dst++ = (char)ch;
		} else {
			*dst++ = '%';
			*dst++ = hex[ch >> 4];
			*dst++ = hex[ch & 15];
		}
	}
	*dst = '\0';
	return dst;
}

_Static_assert(KV_KEY_MAX * 3 + 256 < KV_LOG_LINE, "KV_LOG_LINE too small");

void log_item_get(int cfd, const char *key, size_t nkey, int status,
		  const struct item *it)
{
	static const char *const names[] = { "not_found", "found", "flushed",
					     "expired" };
	char line[KV_LOG_LINE], ekey[KV_KEY_MAX * 3 + 1];
	int n = log_prefix(line, sizeof(line));

	uri_encode(ekey, key, nkey);
	n += snprintf(
		line + n, sizeof(line) - (size_t)n,
		"type=item_get key=%s status=%s clsid=%u cfd=%d size=%u\n",
		ekey, names[status], it ? it->clsid + 1U : 0U, cfd,
		it ? it->nbytes : 0U);
	log_emit(KV_LOG_FETCHERS, line, (size_t)n);
}

void log_item_store(int cfd, int status, int cmd, const char *key, size_t nkey,
		    const struct item *it)
{
	/* kvcache's KV_STORED.. order; KV_STORE_ERROR is for want of memory */
	static const char *const st[] = {
		"stored",    "not_stored", "exists",
		"not_found", "no_memory",  "too_large"
	};
	static const char *const cmds[] = { "set",    "add",	 "replace",
					    "append", "prepend", "cas" };
	char line[KV_LOG_LINE], ekey[KV_KEY_MAX * 3 + 1];
	int n = log_prefix(line, sizeof(line));
	uint32_t ttl = it && it->exptime ? it->exptime - kv_now() : 0;

	uri_encode(ekey, key, nkey);
	n += snprintf(line + n, sizeof(line) - (size_t)n,
		      "type=item_store key=%s status=%s cmd=%s ttl=%u "
		      "clsid=%u cfd=%d size=%u\n",
		      ekey, st[status], cmds[cmd], ttl,
		      it ? it->clsid + 1U : 0U, cfd, it ? it->nbytes : 0U);
	log_emit(KV_LOG_MUTATIONS, line, (size_t)n);
}

void log_eviction(const struct item *it, uint32_t now)
{
	char line[KV_LOG_LINE], ekey[KV_KEY_MAX * 3 + 1];
	int n = log_prefix(line, sizeof(line));

	uri_encode(ekey, it->data, it->nkey);
	n += snprintf(line + n, sizeof(line) - (size_t)n,
		      "type=eviction key=%s fetch=%s ttl=%lld la=%d clsid=%u "
		      "size=%u\n",
		      ekey, (it->state & ITEM_FETCHED) ? "yes" : "no",
		      it->exptime ? (long long)it->exptime - now : -1LL,
		      (int)(now - it->time), it->clsid + 1U, it->nbytes);
	log_emit(KV_LOG_EVICTIONS, line, (size_t)n);
}

/* conn_new and conn_close, with the peer's address as memcached logs it. */
void log_conn(int fd, bool open, int reason)
{
	static const char *const reasons[] = { "error", "normal",
					       "idle_timeout", "shutdown" };
	char line[KV_LOG_LINE], rip[INET6_ADDRSTRLEN] = "unix";
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	unsigned int port = 0;
	int n = log_prefix(line, sizeof(line));

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &slen) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, rip, sizeof(rip));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, rip, sizeof(rip));
			port = ntohs(in6->sin6_port);
		}
	}
	n += snprintf(line + n, sizeof(line) - (size_t)n,
		      "type=%s rip=%s rport=%u transport=%s",
		      open ? "conn_new" : "conn_close", rip, port,
		      settings.socketpath ? "local" : "tcp");
	if (!open)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " reason=%s",
			      reasons[reason]);
	n += snprintf(line + n, sizeof(line) - (size_t)n, " cfd=%d\n", fd);
	log_emit(KV_LOG_CONNEVENTS, line, (size_t)n);
}

/* ---- Watchers --------------------------------------------------------- */

static void flags_update_locked(void)
{
	unsigned int i, f = 0;

	for (i = 0; i < KV_WATCHER_MAX; i++)
		if (watchers[i])
			f |= watchers[i]->flags;
	/* Relaxed: a hint (see the top of this file). */
	__atomic_store_n(&kv_log_flags, f, __ATOMIC_RELAXED);
}

/*
 * "watch [fetchers|mutations|evictions|connevents|...]": @c becomes a
 * watcher; its ring starts with memcached's "OK\r\n".  The words
 * memcached takes for events kvcache does not have (rawcmds, sysevents,
 * the proxy's) are accepted and never produce a line.
 */
int logger_watch(struct kv_conn *c, const struct tok *t, int n)
{
	static const struct {
		const char *name;
		unsigned int flag;
	} words[] = {
		{ "fetchers", KV_LOG_FETCHERS },
		{ "mutations", KV_LOG_MUTATIONS },
		{ "evictions", KV_LOG_EVICTIONS },
		{ "connevents", KV_LOG_CONNEVENTS },
		{ "rawcmds", KV_LOG_NONE },
		{ "sysevents", KV_LOG_NONE },
		{ "proxyreqs", KV_LOG_NONE },
		{ "proxyevents", KV_LOG_NONE },
		{ "proxyuser", KV_LOG_NONE },
	};
	struct kv_watcher *wt;
	unsigned int flags = 0, slot;
	int i;

	if (settings.watch_disabled)
		return WATCH_DISABLED;
	for (i = 1; i < n; i++) {
		size_t k;

		for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
			if (t[i].len == strlen(words[k].name) &&
			    !memcmp(t[i].p, words[k].name, t[i].len))
				break;
		if (k == sizeof(words) / sizeof(words[0]))
			return WATCH_BAD;
		flags |= words[k].flag;
	}
	if (n == 1)
		flags = KV_LOG_FETCHERS;
	wt = kmalloc(sizeof(*wt), GFP_KERNEL | __GFP_NOWARN);
	if (!wt)
		return WATCH_FAILED;
	/* Room for a line and a skipped line at least: 4 KiB or more. */
	wt->size = settings.watcher_logbuf_size < KV_LOG_RING_MIN ?
			   KV_LOG_RING_MIN :
			   settings.watcher_logbuf_size;
	wt->buf = kmalloc(wt->size, GFP_KERNEL | __GFP_NOWARN);
	if (!wt->buf) {
		kfree(wt);
		return WATCH_FAILED;
	}
	wt->head = wt->len = 0;
	wt->skipped = 0;
	wt->flags = flags;
	ring_put(wt, "OK\r\n", 4);
	pthread_mutex_lock(&log_lock);
	for (slot = 0; slot < KV_WATCHER_MAX && watchers[slot]; slot++)
		;
	if (slot == KV_WATCHER_MAX) {
		pthread_mutex_unlock(&log_lock);
		kfree(wt->buf);
		kfree(wt);
		return WATCH_TOO_MANY;
	}
	wt->slot = (int)slot;
	watchers[slot] = wt;
	nwatchers++;
	flags_update_locked();
	pthread_mutex_unlock(&log_lock);
	c->watch = wt;
	return WATCH_OK;
}

/* The watcher's connection closes: no more lines for it. */
void logger_unwatch(struct kv_watcher *wt)
{
	pthread_mutex_lock(&log_lock);
	watchers[wt->slot] = NULL;
	nwatchers--;
	flags_update_locked();
	pthread_mutex_unlock(&log_lock);
	kfree(wt->buf);
	kfree(wt);
}

/* Move up to @max bytes of @wt's lines to @dst; how many. */
size_t logger_take(struct kv_watcher *wt, char *dst, size_t max)
{
	size_t n, first;

	pthread_mutex_lock(&log_lock);
	n = wt->len < max ? wt->len : max;
	first = wt->size - wt->head < n ? wt->size - wt->head : n;
	memcpy(dst, wt->buf + wt->head, first);
	memcpy(dst + first, wt->buf, n - first);
	wt->head = (uint32_t)((wt->head + n) % wt->size);
	wt->len -= (uint32_t)n;
	pthread_mutex_unlock(&log_lock);
	return n;
}

void logger_stats(struct kv_log_stats *s)
{
	pthread_mutex_lock(&log_lock);
	s->written = log_written;
	s->sent = log_sent;
	s->skipped = log_skipped;
	s->watchers = nwatchers;
	pthread_mutex_unlock(&log_lock);
}

void logger_stats_reset(void)
{
	pthread_mutex_lock(&log_lock);
	log_written = log_sent = log_skipped = 0;
	pthread_mutex_unlock(&log_lock);
}
