// SPDX-License-Identifier: MIT
/*
 * stats.c - the "stats" commands: general figures (memcached's names),
 * "stats uslab" (uslab's own), "stats slabs" from uslab's statistics of
 * each item cache, "stats items" from the LRU lists, "stats settings",
 * and "stats reset".
 *
 * Also "stats sizes", "stats cachedump" and "lru_crawler metadump" (a
 * walk of the LRU lists, see dump_class()), and the per-prefix counters
 * of "stats detail" (detail_record()).
 *
 * A reply is built in a malloc()ed buffer (open_memstream) and queued as
 * one piece once the connection's earlier replies are sent; on a binary
 * connection its lines become binary STAT responses (proto_bin.c).
 *
 * Locking: worker counters are read with relaxed loads (only their worker
 * writes them), the connection and item totals likewise (atomic counters
 * that order nothing); LRU counters under each list's lock; uslab's figures come
 * from uslab_cache_info(), which takes each node's lock in turn.
 * "stats reset" cannot zero counters that their workers update without
 * atomic read-modify-writes, so it records a baseline (under base_lock)
 * that later reports subtract; LRU counters it zeroes under their locks.
 * The prefix table and its counters are under detail_lock, a leaf lock:
 * while detail is on, every counted command takes it, as memcached's
 * STATS_LOCK; while it is off, none does.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <uslab/shrinker.h>
#include <uslab/stats.h>

#include "kvcache.h"

static pthread_mutex_t base_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- Per-prefix counters ("stats detail") ----------------------------- */

#define DETAIL_BUCKETS 256 /* memcached's PREFIX_HASH_SIZE */
#define DETAIL_MAX 65536 /* prefixes kept; later new ones are not counted */

struct prefix_stats {
	struct prefix_stats *next;
	uint64_t n[4]; /* KV_DETAIL_* */
	size_t len;
	char name[];
};

bool kv_detail_enabled;
static pthread_mutex_t detail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct prefix_stats *detail_table[DETAIL_BUCKETS];
static unsigned long detail_count;

/*
 * Count @what for @key's prefix, as memcached's stats_prefix_record_*():
 * a key without the delimiter has no prefix and is not counted; a hit
 * counts as a get too.
 */
void detail_record(const char *key, size_t nkey, int what)
{
	const char *d = memchr(key, settings.prefix_delimiter, nkey);
	struct prefix_stats **head, *p;
	size_t len;

	if (!d)
		return;
	len = (size_t)(d - key);
	head = &detail_table[kv_hash(key, len) % DETAIL_BUCKETS];
	pthread_mutex_lock(&detail_lock);
	for (p = *head; p; p = p->next)
		if (p->len == len && !memcmp(p->name, key, len))
			break;
	if (!p && detail_count < DETAIL_MAX &&
	    (p = calloc(1, sizeof(*p) + len + 1))) {
		memcpy(p->name, key, len);
		p->len = len;
		p->next = *head;
		*head = p;
		detail_count++;
	}
	if (p) {
		if (what == KV_DETAIL_HIT)
			p->n[KV_DETAIL_GET]++;
		p->n[what]++;
	}
	pthread_mutex_unlock(&detail_lock);
}

/* Forget every prefix ("stats reset", shutdown). */
void detail_free_all(void)
{
	unsigned int i;

	pthread_mutex_lock(&detail_lock);
	for (i = 0; i < DETAIL_BUCKETS; i++) {
		while (detail_table[i]) {
			struct prefix_stats *p = detail_table[i];

			detail_table[i] = p->next;
			free(p);
		}
	}
	detail_count = 0;
	pthread_mutex_unlock(&detail_lock);
}

/* "PREFIX <p> get <n> hit <n> set <n> del <n>" lines, then "END". */
static void detail_dump(FILE *f)
{
	unsigned int i;

	pthread_mutex_lock(&detail_lock);
	for (i = 0; i < DETAIL_BUCKETS; i++)
		for (struct prefix_stats *p = detail_table[i]; p; p = p->next)
			fprintf(f,
				"PREFIX %s get %llu hit %llu set %llu "
				"del %llu\r\n",
				p->name,
				(unsigned long long)p->n[KV_DETAIL_GET],
				(unsigned long long)p->n[KV_DETAIL_HIT],
				(unsigned long long)p->n[KV_DETAIL_SET],
				(unsigned long long)p->n[KV_DETAIL_DEL]);
	pthread_mutex_unlock(&detail_lock);
	fputs("END\r\n", f);
}

static struct kv_thread_stats base;
static struct kv_class_stats base_cls[KV_MAX_CLASSES];

/* Sums over the workers (base_lock held). */
static void sum_thread_stats(struct kv_thread_stats *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < kv_nworkers; i++) {
		struct kv_thread_stats *w = &kv_workers[i].st;
#define X(name) s->name += KV_STAT_READ(w->name);
		KV_THREAD_STATS(X)
#undef X
	}
}

static void sum_class_stats(unsigned int cls, struct kv_class_stats *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < kv_nworkers; i++) {
		struct kv_class_stats *w = &kv_workers[i].cst[cls];
#define X(name) s->name += KV_STAT_READ(w->name);
		KV_CLASS_STATS(X)
#undef X
	}
}

struct lru_sum {
	unsigned long nitems, bytes;
	uint64_t evicted, evicted_nonzero, evicted_unfetched;
	uint64_t reclaimed, expired_unfetched, outofmemory, tail_reflocked;
};

static void sum_lru(unsigned int cls, struct lru_sum *s)
{
	int n;

	memset(s, 0, sizeof(*s));
	for (n = 0; n < kv_nr_nodes; n++) {
		struct kv_lru *l = &kv_classes[cls].lru[n];

		pthread_mutex_lock(&l->lock);
		s->nitems += l->nitems;
		s->bytes += l->bytes;
		s->evicted += l->evicted;
		s->evicted_nonzero += l->evicted_nonzero;
		s->evicted_unfetched += l->evicted_unfetched;
		s->reclaimed += l->reclaimed;
		s->expired_unfetched += l->expired_unfetched;
		s->outofmemory += l->outofmemory;
		s->tail_reflocked += l->tail_reflocked;
		pthread_mutex_unlock(&l->lock);
	}
}

/* Queue the reply @f wrote (the output was drained by stats_open()). */
/*
 * Close @f and queue what it holds: as it is on a text connection, and
 * on a binary one as STAT packets, or as the one STAT @one when @one is
 * not NULL.
 */
static int stats_close_send(struct kv_conn *c, FILE *f, char **buf, size_t *len,
			    const char *one)
{
	if (fclose(f)) {
		KV_STAT_INC(c->w->st.malloc_fails);
		free(*buf);
		if (out_make_room(c, 128, 1, 0))
			OUT_LIT(c, "SERVER_ERROR out of memory writing stats "
				   "response\r\n");
		return KV_CONTINUE;
	}
	if (c->proto == KV_PROTO_BIN) {
		char *bin = one ? bin_stat_one(c, one, *buf, *len, len) :
				  bin_stats(c, *buf, *len, len);

		free(*buf);
		*buf = bin;
		if (!bin) {
			KV_STAT_INC(c->w->st.malloc_fails);
			c->dead = true;
			return KV_CLOSE;
		}
	}
	out_heap(c, *buf, *len);
	return KV_CONTINUE;
}

static int stats_send(struct kv_conn *c, FILE *f, char **buf, size_t *len)
{
	fputs("END\r\n", f);
	return stats_close_send(c, f, buf, len, NULL);
}

/*
 * Begin a reply once the replies before it are sent; NULL and *r to
 * return when they cannot be yet, or when memory is short.
 */
static FILE *stats_open(struct kv_conn *c, char **buf, size_t *len, int *r)
{
	FILE *f;

	if (!out_drain(c)) {
		*r = c->dead ? KV_CLOSE : KV_BLOCKED;
		return NULL;
	}
	*buf = NULL;
	f = open_memstream(buf, len);
	if (!f) {
		KV_STAT_INC(c->w->st.malloc_fails);
		if (out_make_room(c, 128, 1, 0))
			OUT_LIT(c, "SERVER_ERROR out of memory writing stats "
				   "response\r\n");
		*r = KV_CONTINUE;
		return NULL;
	}
	return f;
}

static double tv_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* "STAT name value" for a counter. */
static void stat_u64(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "STAT %s %llu\r\n", name, (unsigned long long)v);
}

/*
 * memcached 1.6.18's general statistics, its names in its order, as it
 * prints them with kvcache's settings (no LRU crawler or maintainer
 * thread, which memcached's -o no_lru_crawler,no_lru_maintainer turn
 * off and kvcache does not have).  Figures of machinery kvcache does
 * not have are what that machinery's events really number here, 0 (the
 * README lists them, and why); uslab's own figures are in "stats uslab".
 */
int stats_general(struct kv_conn *c)
{
	struct kv_thread_stats s;
	struct lru_sum sum, ls;
	struct kv_log_stats lg;
	struct rusage ru;
	unsigned long rbufs, obufs, rbuf_free;
	unsigned int i;
	size_t len;
	char *buf;
	FILE *f;
	int r;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	pthread_mutex_lock(&base_lock);
	sum_thread_stats(&s);
#define X(name) s.name -= base.name;
	KV_THREAD_STATS(X)
#undef X
	pthread_mutex_unlock(&base_lock);
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < kv_nclasses; i++) {
		sum_lru(i, &ls);
		sum.nitems += ls.nitems;
		sum.bytes += ls.bytes;
		sum.evicted += ls.evicted;
		sum.reclaimed += ls.reclaimed;
		sum.expired_unfetched += ls.expired_unfetched;
		sum.evicted_unfetched += ls.evicted_unfetched;
		sum.tail_reflocked += ls.tail_reflocked;
	}
	getrusage(RUSAGE_SELF, &ru);
	conn_buffers(&rbufs, &obufs, &rbuf_free);
	logger_stats(&lg);

	fprintf(f, "STAT pid %d\r\n", (int)getpid());
	fprintf(f, "STAT uptime %u\r\n", kv_now() - 2);
	fprintf(f, "STAT time %lld\r\n", (long long)(kv_started + kv_now()));
	fprintf(f, "STAT version %s\r\n", KV_VERSION);
	/* kvcache's event loop is its own, on epoll: no libevent. */
	fprintf(f, "STAT libevent none\r\n");
	fprintf(f, "STAT pointer_size %d\r\n", (int)(8 * sizeof(void *)));
	fprintf(f, "STAT rusage_user %.6f\r\n", tv_secs(&ru.ru_utime));
	fprintf(f, "STAT rusage_system %.6f\r\n", tv_secs(&ru.ru_stime));
	fprintf(f, "STAT max_connections %u\r\n", settings.maxconns);
	stat_u64(f, "curr_connections",
		 __atomic_load_n(&kv_curr_conns, __ATOMIC_RELAXED));
	stat_u64(f, "total_connections",
		 __atomic_load_n(&kv_total_conns, __ATOMIC_RELAXED));
	stat_u64(f, "rejected_connections",
		 __atomic_load_n(&kv_rejected_conns, __ATOMIC_RELAXED));
	stat_u64(f, "connection_structures", conn_structures());
	stat_u64(f, "response_obj_oom", s.response_obj_oom);
	stat_u64(f, "response_obj_count", obufs);
	stat_u64(f, "response_obj_bytes", obufs * KV_OBUF_SIZE);
	stat_u64(f, "read_buf_count", rbufs);
	stat_u64(f, "read_buf_bytes", rbufs * KV_RBUF_SIZE);
	stat_u64(f, "read_buf_bytes_free", rbuf_free * KV_RBUF_SIZE);
	stat_u64(f, "read_buf_oom", s.read_buf_oom);
	stat_u64(f, "reserved_fds", KV_RESERVED_FDS);
	stat_u64(f, "cmd_get", s.cmd_get);
	stat_u64(f, "cmd_set", s.cmd_set);
	stat_u64(f, "cmd_flush", s.cmd_flush);
	stat_u64(f, "cmd_touch", s.cmd_touch);
	stat_u64(f, "cmd_meta", s.cmd_meta);
	stat_u64(f, "get_hits", s.get_hits);
	stat_u64(f, "get_misses", s.get_misses);
	stat_u64(f, "get_expired", s.get_expired);
	stat_u64(f, "get_flushed", s.get_flushed);
	stat_u64(f, "delete_misses", s.delete_misses);
	stat_u64(f, "delete_hits", s.delete_hits);
	stat_u64(f, "incr_misses", s.incr_misses);
	stat_u64(f, "incr_hits", s.incr_hits);
	stat_u64(f, "decr_misses", s.decr_misses);
	stat_u64(f, "decr_hits", s.decr_hits);
	stat_u64(f, "cas_misses", s.cas_misses);
	stat_u64(f, "cas_hits", s.cas_hits);
	stat_u64(f, "cas_badval", s.cas_badval);
	stat_u64(f, "touch_hits", s.touch_hits);
	stat_u64(f, "touch_misses", s.touch_misses);
	stat_u64(f, "store_too_large", s.store_too_large);
	stat_u64(f, "store_no_memory", s.store_no_memory);
	/* No SASL (-S and -Y are refused): no authentication command. */
	stat_u64(f, "auth_cmds", 0);
	stat_u64(f, "auth_errors", 0);
	if (settings.idle_timeout) /* as memcached: only with a timeout */
		stat_u64(f, "idle_kicks", s.idle_kicks);
	stat_u64(f, "bytes_read", s.bytes_read);
	stat_u64(f, "bytes_written", s.bytes_written);
	stat_u64(f, "limit_maxbytes", kv_maxbytes());
	fprintf(f, "STAT accepting_conns 1\r\n");
	stat_u64(f, "listen_disabled_num",
		 __atomic_load_n(&kv_listen_disabled, __ATOMIC_RELAXED));
	stat_u64(f, "time_in_listen_disabled_us",
		 __atomic_load_n(&kv_listen_disabled_us, __ATOMIC_RELAXED));
	fprintf(f, "STAT threads %u\r\n", kv_nworkers);
	stat_u64(f, "conn_yields", s.conn_yields);
	fprintf(f, "STAT hash_power_level %u\r\n", assoc_level());
	stat_u64(f, "hash_bytes", assoc_bytes());
	/* Linear hashing grows a bucket at a time: never a rehash. */
	fprintf(f, "STAT hash_is_expanding 0\r\n");
	if (!settings.no_modern) {
		/*
		 * memcached's page mover, which kvcache does not have:
		 * slabs go back to uslab's page allocator and any class
		 * takes them from there, no page is ever moved.
		 */
		static const char *const mover[] = {
			"slab_reassign_rescues",
			"slab_reassign_chunk_rescues",
			"slab_reassign_evictions_nomem",
			"slab_reassign_inline_reclaim",
			"slab_reassign_busy_items",
			"slab_reassign_busy_deletes",
			"slab_reassign_running",
			"slabs_moved",
		};

		for (i = 0; i < sizeof(mover) / sizeof(mover[0]); i++)
			stat_u64(f, mover[i], 0);
	}
	stat_u64(f, "malloc_fails", s.malloc_fails);
	/*
	 * The logger ("watch"): workers write their lines straight into
	 * the watchers' rings, with no buffer of their own to overflow, so
	 * log_worker_dropped is 0 by construction.
	 */
	stat_u64(f, "log_worker_dropped", 0);
	stat_u64(f, "log_worker_written", lg.written);
	stat_u64(f, "log_watcher_skipped", lg.skipped);
	stat_u64(f, "log_watcher_sent", lg.sent);
	stat_u64(f, "log_watchers", lg.watchers);
	/* NAPI ids (-N) are refused: no NAPI, no fallback from it. */
	stat_u64(f, "unexpected_napi_ids", 0);
	stat_u64(f, "round_robin_fallback", 0);
	stat_u64(f, "bytes", sum.bytes);
	stat_u64(f, "curr_items", sum.nitems);
	stat_u64(f, "total_items",
		 __atomic_load_n(&kv_total_items, __ATOMIC_RELAXED));
	/*
	 * -m counts only pages in slabs, so no page counted against it is
	 * outside a class's slab: memcached's pool of such pages is empty.
	 */
	stat_u64(f, "slab_global_page_pool", 0);
	stat_u64(f, "expired_unfetched", sum.expired_unfetched);
	stat_u64(f, "evicted_unfetched", sum.evicted_unfetched);
	stat_u64(f, "evictions", sum.evicted);
	stat_u64(f, "reclaimed", sum.reclaimed);
	/* No LRU crawler: what is reclaimed is counted by "reclaimed". */
	stat_u64(f, "crawler_reclaimed", 0);
	stat_u64(f, "crawler_items_checked", 0);
	stat_u64(f, "lrutail_reflocked", sum.tail_reflocked);
	return stats_send(c, f, &buf, &len);
}

/*
 * uslab's view: what -m bounds (every slab of the process), the slots of
 * the items, what the item slabs hold, the classes and nodes.
 */
int stats_uslab(struct kv_conn *c)
{
	unsigned long slab_bytes = 0;
	unsigned int i;
	size_t len;
	char *buf;
	FILE *f;
	int r;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	for (i = 0; i < kv_nclasses; i++) {
		struct uslab_cache_info info;

		if (!uslab_cache_info(kv_classes[i].cache, &info))
			slab_bytes += info.slab_bytes;
	}
	fprintf(f, "STAT memory_used %zu\r\n", uslab_memory_used());
	fprintf(f, "STAT slot_bytes %lu\r\n", kv_mem_used());
	fprintf(f, "STAT total_malloced %lu\r\n", slab_bytes);
	fprintf(f, "STAT slab_classes %u\r\n", kv_nclasses);
	fprintf(f, "STAT numa_nodes %d\r\n", kv_nr_nodes);
	return stats_send(c, f, &buf, &len);
}

int stats_slabs(struct kv_conn *c)
{
	unsigned long malloced = 0;
	unsigned int i, active = 0;
	size_t len;
	char *buf;
	FILE *f;
	int r, n;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	for (i = 0; i < kv_nclasses; i++) {
		struct uslab_cache_info info;
		struct kv_class_stats s;
		unsigned int id = i + 1;

		if (uslab_cache_info(kv_classes[i].cache, &info) ||
		    !info.nr_slabs)
			continue;
		active++;
		malloced += info.slab_bytes;
		pthread_mutex_lock(&base_lock);
		sum_class_stats(i, &s);
#define X(name) s.name -= base_cls[i].name;
		KV_CLASS_STATS(X)
#undef X
		pthread_mutex_unlock(&base_lock);
		fprintf(f, "STAT %u:chunk_size %u\r\n", id, info.slot_size);
		fprintf(f, "STAT %u:chunks_per_page %u\r\n", id,
			info.objs_per_slab);
		fprintf(f, "STAT %u:total_pages %lu\r\n", id, info.nr_slabs);
		fprintf(f, "STAT %u:total_chunks %lu\r\n", id, info.total_objs);
		fprintf(f, "STAT %u:used_chunks %lu\r\n", id, info.active_objs);
		fprintf(f, "STAT %u:free_chunks %lu\r\n", id,
			info.total_objs - info.active_objs);
		fprintf(f, "STAT %u:free_chunks_end 0\r\n", id);
#define X(name)                                      \
	fprintf(f, "STAT %u:" #name " %llu\r\n", id, \
		(unsigned long long)s.name);
		KV_CLASS_STATS(X)
#undef X
		/* uslab's extras: slabs, where free chunks are, efficiency. */
		fprintf(f, "STAT %u:page_size %u\r\n", id, info.slab_size);
		fprintf(f, "STAT %u:full_pages %lu\r\n", id, info.nr_full);
		fprintf(f, "STAT %u:partial_pages %lu\r\n", id,
			info.nr_partial);
		fprintf(f, "STAT %u:empty_pages %lu\r\n", id, info.nr_free);
		fprintf(f, "STAT %u:cpu_cached_chunks %lu\r\n", id,
			info.cpu_cached_objs);
		fprintf(f, "STAT %u:depot_chunks %lu\r\n", id, info.depot_objs);
		fprintf(f, "STAT %u:partial_free_chunks %lu\r\n", id,
			info.partial_free_objs);
		fprintf(f, "STAT %u:remote_frees %lu\r\n", id,
			info.remote_frees);
		fprintf(f, "STAT %u:efficiency %.3f\r\n", id, info.efficiency);
		for (n = 0; n < kv_nr_nodes; n++) {
			struct uslab_cache_info ni;

			if (!uslab_cache_node_info(kv_classes[i].cache, n, &ni))
				fprintf(f, "STAT %u:node%d_used_chunks %lu\r\n",
					id, n, ni.active_objs);
		}
	}
	fprintf(f, "STAT active_slabs %u\r\n", active);
	fprintf(f, "STAT total_malloced %lu\r\n", malloced);
	return stats_send(c, f, &buf, &len);
}

int stats_items(struct kv_conn *c)
{
	unsigned int i;
	size_t len;
	char *buf;
	FILE *f;
	int r, n;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	for (i = 0; i < kv_nclasses; i++) {
		unsigned int id = i + 1;
		struct lru_sum s;

		sum_lru(i, &s);
		if (!s.nitems && !s.evicted && !s.outofmemory && !s.reclaimed)
			continue;
		fprintf(f, "STAT items:%u:number %lu\r\n", id, s.nitems);
		for (n = 0; n < kv_nr_nodes; n++) {
			struct kv_lru *l = &kv_classes[i].lru[n];
			unsigned long num;

			pthread_mutex_lock(&l->lock);
			num = l->nitems;
			pthread_mutex_unlock(&l->lock);
			fprintf(f, "STAT items:%u:number_node%d %lu\r\n", id, n,
				num);
		}
		fprintf(f, "STAT items:%u:mem_requested %lu\r\n", id, s.bytes);
#define P(name)                                            \
	fprintf(f, "STAT items:%u:" #name " %llu\r\n", id, \
		(unsigned long long)s.name)
		P(evicted);
		P(evicted_nonzero);
		P(outofmemory);
		P(reclaimed);
		P(expired_unfetched);
		P(evicted_unfetched);
#undef P
	}
	return stats_send(c, f, &buf, &len);
}

int stats_settings(struct kv_conn *c)
{
	size_t len;
	char *buf;
	FILE *f;
	int r;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	fprintf(f, "STAT maxbytes %lu\r\n", kv_maxbytes());
	fprintf(f, "STAT slab_automove %u\r\n",
		__atomic_load_n(&settings.slab_automove, __ATOMIC_RELAXED));
	fprintf(f, "STAT maxconns %u\r\n", settings.maxconns);
	fprintf(f, "STAT tcpport %d\r\n", settings.port);
	fprintf(f, "STAT udpport 0\r\n"); /* no UDP */
	fprintf(f, "STAT domain_socket %s\r\n",
		settings.socketpath ? settings.socketpath : "NULL");
	fprintf(f, "STAT umask %o\r\n", settings.unix_mask);
	fprintf(f, "STAT inter %s\r\n", settings.addr);
	fprintf(f, "STAT verbosity %d\r\n", kv_verbose());
	fprintf(f, "STAT evictions %s\r\n",
		settings.evictions_disabled ? "off" : "on");
	fprintf(f, "STAT growth_factor %.2f\r\n", settings.factor);
	fprintf(f, "STAT chunk_size %u\r\n", kv_classes[0].size);
	fprintf(f, "STAT num_threads %u\r\n", kv_nworkers);
	fprintf(f, "STAT stat_key_prefix %c\r\n", settings.prefix_delimiter);
	fprintf(f, "STAT detail_enabled %s\r\n",
		__atomic_load_n(&kv_detail_enabled, __ATOMIC_RELAXED) ? "yes" :
									"no");
	fprintf(f, "STAT reqs_per_event %u\r\n", settings.reqs_per_event);
	fprintf(f, "STAT auth_enabled_sasl no\r\n"); /* no -S */
	fprintf(f, "STAT auth_enabled_ascii no\r\n"); /* no -Y */
	fprintf(f, "STAT cas_enabled %s\r\n",
		settings.cas_disabled ? "no" : "yes");
	fprintf(f, "STAT tcp_backlog %d\r\n", settings.backlog);
	fprintf(f, "STAT idle_timeout %u\r\n", settings.idle_timeout);
	fprintf(f, "STAT flush_enabled %s\r\n",
		settings.flush_disabled ? "no" : "yes");
	fprintf(f, "STAT shutdown_command %s\r\n",
		settings.shutdown_enabled ? "yes" : "no");
	fprintf(f, "STAT binding_protocol %s\r\n",
		settings.protocol == KV_PROTO_TEXT ? "ascii" :
		settings.protocol == KV_PROTO_BIN  ? "binary" :
						     "auto-negotiate");
	fprintf(f, "STAT item_size_max %u\r\n", settings.item_max);
	/* kvcache's chunk size, whatever -o slab_chunk_max asked for. */
	fprintf(f, "STAT slab_chunk_max %u\r\n", KV_TOP_CHUNK);
	fprintf(f, "STAT slab_reassign %s\r\n",
		settings.no_modern ? "no" : "yes");
	fprintf(f, "STAT slab_automove_window %u\r\n",
		settings.slab_automove_window);
	fprintf(f, "STAT watcher_logbuf_size %u\r\n",
		settings.watcher_logbuf_size);
	fprintf(f, "STAT worker_logbuf_size %u\r\n",
		settings.worker_logbuf_size);
	fprintf(f, "STAT read_buf_mem_limit %lu\r\n",
		settings.read_buf_mem_limit);
	fprintf(f, "STAT hash_algorithm murmur64a\r\n");
	fprintf(f, "STAT numa_nodes %d\r\n", kv_nr_nodes);
	fprintf(f, "STAT uslab_percpu_mode ");
	for (const char *p = uslab_percpu_mode(); *p; p++)
		fputc(*p == ' ' ? '_' : *p, f); /* one token */
	fputs("\r\n", f);
	return stats_send(c, f, &buf, &len);
}

/* "stats conns": the listening socket and every connection (worker.c). */
int stats_conns(struct kv_conn *c)
{
	size_t len;
	char *buf;
	FILE *f;
	int r;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	conns_report(f, c, kv_listen_fd);
	return stats_send(c, f, &buf, &len);
}

/* "stats detail dump"; on a binary connection one "detailed" STAT. */
int stats_detail_dump(struct kv_conn *c)
{
	size_t len;
	char *buf;
	FILE *f;
	int r;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	detail_dump(f); /* ends with its own END */
	return stats_close_send(c, f, &buf, &len, "detailed");
}

int stats_sizes(struct kv_conn *c)
{
	size_t len;
	char *buf;
	FILE *f;
	int r;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	/* memcached's answer without -o track_sizes, which kvcache lacks. */
	fputs("STAT sizes_status disabled\r\n", f);
	return stats_send(c, f, &buf, &len);
}

#define DUMP_MAX (2 * 1024 * 1024) /* memcached's cap on a cachedump */

/*
 * The linked items of class @cls, newest first on each node's list, as
 * "stats cachedump" or "lru_crawler metadump" print them, until @limit
 * (0: all) or DUMP_MAX bytes.  The walk holds an LRU lock, so it may only
 * try stripe locks (lock order): an item whose stripe is busy this
 * instant is left out.  Keys and lengths never change; expiry, CAS and
 * state are read under the stripe lock.
 */
static void dump_class(FILE *f, unsigned int cls, unsigned int limit, bool meta,
		       size_t *bytes)
{
	unsigned int shown = 0;
	int n;

	for (n = 0; n < kv_nr_nodes; n++) {
		struct kv_lru *l = &kv_classes[cls].lru[n];
		struct item *it;

		pthread_mutex_lock(&l->lock);
		for (it = l->head; it && (!limit || shown < limit);
		     it = it->next) {
			uint64_t hv = kv_hash(item_key(it), it->nkey);
			long long exp, la;
			uint64_t cas;
			bool fetched;
			int w, i;

			if (!assoc_trylock(hv))
				continue;
			exp = it->exptime ?
				      (long long)it->exptime + kv_started :
				      0;
			la = (long long)it->time + kv_started;
			cas = item_cas(it);
			fetched = it->state & ITEM_FETCHED;
			assoc_unlock(hv);
			if (*bytes + 3 * KV_KEY_MAX + 128 > DUMP_MAX)
				break;
			if (!meta) {
				w = fprintf(f, "ITEM %.*s [%u b; %lld s]\r\n",
					    (int)it->nkey, item_key(it),
					    it->nbytes, exp);
			} else {
				w = fputs("key=", f) < 0 ? -1 : 4;
				/* memcached URI-encodes the key. */
				for (i = 0; i < it->nkey; i++) {
					unsigned char ch =
						(unsigned char)item_key(it)[i];

					if ((ch >= '0' && ch <= '9') ||
					    (ch >= 'a' && ch <= 'z') ||
					    (ch >= 'A' && ch <= 'Z') ||
					    strchr("-._~", ch))
						w += fputc(ch, f) < 0 ? 0 : 1;
					else
						w += fprintf(f, "%%%02X", ch);
				}
				w += fprintf(f,
					     " exp=%lld la=%lld cas=%llu "
					     "fetch=%s cls=%u size=%zu\n",
					     it->exptime ? exp : -1LL, la,
					     (unsigned long long)cas,
					     fetched ? "yes" : "no", cls + 1,
					     KV_ITEM_HDR + it->nkey +
						     it->nbytes);
			}
			*bytes += w > 0 ? (size_t)w : 0;
			shown++;
		}
		pthread_mutex_unlock(&l->lock);
	}
}

/* stats cachedump <class> <limit>: class numbers as "stats items". */
int stats_cachedump(struct kv_conn *c, unsigned int id, unsigned int limit)
{
	size_t len, bytes = 0;
	char *buf;
	FILE *f;
	int r;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	if (id >= 1 && id <= kv_nclasses)
		dump_class(f, id - 1, limit, false, &bytes);
	return stats_send(c, f, &buf, &len);
}

/* lru_crawler metadump all|<class>[,<class>...] */
int stats_metadump(struct kv_conn *c, const char *which, size_t n)
{
	size_t len, bytes = 0;
	unsigned int i;
	char *buf;
	FILE *f;
	int r;

	if (!(f = stats_open(c, &buf, &len, &r)))
		return r;
	if (n == 3 && !memcmp(which, "all", 3)) {
		for (i = 0; i < kv_nclasses; i++)
			dump_class(f, i, 0, true, &bytes);
	} else {
		const char *p = which, *end = which + n;

		while (p < end) {
			unsigned long id = strtoul(p, NULL, 10);

			if (id >= 1 && id <= kv_nclasses)
				dump_class(f, (unsigned int)id - 1, 0, true,
					   &bytes);
			p = memchr(p, ',', (size_t)(end - p));
			if (!p)
				break;
			p++;
		}
	}
	return stats_send(c, f, &buf, &len);
}

void stats_reset(void)
{
	unsigned int i;
	int n;

	pthread_mutex_lock(&base_lock);
	sum_thread_stats(&base);
	for (i = 0; i < kv_nclasses; i++)
		sum_class_stats(i, &base_cls[i]);
	pthread_mutex_unlock(&base_lock);
	for (i = 0; i < kv_nclasses; i++) {
		for (n = 0; n < kv_nr_nodes; n++) {
			struct kv_lru *l = &kv_classes[i].lru[n];

			pthread_mutex_lock(&l->lock);
			l->evicted = l->evicted_nonzero = 0;
			l->evicted_unfetched = l->reclaimed = 0;
			l->expired_unfetched = l->outofmemory = 0;
			l->tail_reflocked = 0;
			pthread_mutex_unlock(&l->lock);
		}
	}
	detail_free_all();
	logger_stats_reset();
	/* Relaxed: statistics. */
	__atomic_store_n(&kv_total_items, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&kv_total_conns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&kv_rejected_conns, 0, __ATOMIC_RELAXED);
}
