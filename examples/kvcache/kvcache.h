/* SPDX-License-Identifier: MIT */
/*
 * kvcache: an in-memory key-value server speaking memcached's text
 * protocol, built on uslab's typed caches.
 *
 * Files and what each owns:
 *   main.c    options, start-up, the acceptor and clock thread, shutdown
 *   worker.c  worker threads (one per CPU, pinned), connections, socket
 *             I/O, read and write buffers
 *   proto.c   the text protocol: parsing and every classic command
 *   proto_meta.c  the meta commands (mg, ms, md, ma, mn, me)
 *   proto_bin.c   the binary protocol
 *   items.c   size classes (one kmem_cache each), items, the memory
 *             limit, per-class per-node LRU lists, eviction, flush_all
 *   assoc.c   the hash table: linear hashing over bucket chunks, striped
 *             locks
 *   stats.c   "stats", "stats uslab", "stats slabs", "stats items",
 *             "stats settings"
 *   logger.c  the "watch" command: log lines for watching connections
 *
 * LOCK ORDER (outermost first; nothing else nests):
 *   1. assoc split_lock    one bucket split at a time (assoc.c)
 *   2. assoc stripe lock   the chains of every bucket whose index is equal
 *                          to the stripe modulo KV_STRIPES, and the
 *                          mutable fields of the items on them: exptime,
 *                          state (assoc.c, items.c)
 *   3. kv_lru.lock         one LRU list per size class and node, its
 *                          counters and the prev/next links of its items
 *                          (items.c)
 *   4. flush_lock          the pending delayed flush_all (items.c), a leaf
 *   log_lock (logger.c, the watchers and their rings) is a leaf, taken
 *   under any of these.
 *   base_lock (stats.c, the "stats reset" baseline) nests nothing and is
 *   taken under none of the others.  detail_lock (stats.c, the
 *   per-prefix counters of "stats detail") is a leaf, taken under a
 *   stripe lock or none.  A worker's conns_lock (worker.c: its list
 *   of connections, for "stats conns") is a leaf too.  uslab's own
 *   locks are taken inside kmem_cache_*() under any of these.  An
 *   allocation may run kvcache's shrinker (items.c), which takes LRU
 *   locks (3) and tries stripes: so kmem_cache_alloc*() is called with
 *   at most split_lock and a stripe lock held (1, 2), never an LRU lock
 *   or flush_lock.
 * The evictor runs with an LRU lock held and must unlink the victim from
 * the hash table, which needs the stripe lock (order 3 -> 2): it only
 * *tries* the stripe lock and skips an item whose stripe is busy, as
 * memcached does, so no thread ever waits for a stripe while holding an
 * LRU lock.
 *
 * Items are reference counted: a new item has its creator's reference,
 * the hash table holds one while the item is linked, a connection holds
 * one per large value it is still sending (small values are copied into
 * the output buffer under the stripe lock instead).  Once an item is
 * linked, references are only taken under its stripe lock, so whoever
 * holds that lock and sees a count of 1 holds the only one; the last put
 * frees the item.
 */
#ifndef KVCACHE_H
#define KVCACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include <uslab/slab.h>

#define KV_VERSION "1.6.0-kvcache" /* memcached protocol level */

#define KV_KEY_MAX 250 /* protocol.txt: key length limit */
#define KV_LINE_MAX 2048 /* longest command line */
#define KV_ITEM_MAX_DEFAULT (1024 * 1024)
#define KV_ITEM_MAX_LIMIT (32 * 1024 * 1024) /* -I ceiling */
#define KV_SLAB_PAGE (1024 * 1024) /* memcached's page: slab_chunk_max */
#define KV_FACTOR_DEFAULT 1.05 /* -f */
#define KV_MAX_CLASSES 200
#define KV_MIN_CHUNK 64 /* smallest size class */
#define KV_TOP_CHUNK KMEM_CACHE_MAX_SIZE /* largest class; chunk size */
#define KV_STRIPES 1024 /* hash table lock stripes */

/* ---- Settings (main.c) ------------------------------------------------ */

/* A connection's protocol (-B forces one; else its first byte decides). */
enum { KV_PROTO_NONE, KV_PROTO_TEXT, KV_PROTO_BIN };

struct kv_settings {
	/* -m, bytes; cache_memlimit changes it (relaxed atomic accesses) */
	unsigned long maxbytes;
	unsigned int maxconns; /* -c */
	int port; /* -p */
	const char *addr; /* -l */
	unsigned int nthreads; /* -t */
	unsigned int item_max; /* -I, bytes */
	double factor; /* -f */
	int verbose; /* -v, -vv */
	const char *socketpath; /* -s: a UNIX socket instead of TCP */
	unsigned int unix_mask; /* -a */
	const char *user; /* -u */
	int backlog; /* -b */
	uint8_t protocol; /* -B: KV_PROTO_NONE (auto), _TEXT or _BIN */
	bool shutdown_enabled; /* -A */
	bool flush_disabled; /* -F */
	bool coredumps; /* -r */
	bool lock_memory; /* -k */
	bool dump_disabled; /* -X */
	bool evictions_disabled; /* -M */
	bool cas_disabled; /* -C */
	bool watch_disabled; /* -W */
	unsigned int reqs_per_event; /* -R, 0 = no limit */
	unsigned int idle_timeout; /* -o idle_timeout, seconds, 0 = none */
	/*
	 * -o slab_automove, "slabs automove": 0 to 2, reported only; the
	 * classes share one page pool, so pages always move (relaxed).
	 */
	unsigned int slab_automove;
	/*
	 * Accepted from memcached's command line and reported by "stats
	 * settings", sizing nothing here (README, "Options"): the other
	 * -o slab_automove tunable, memcached's per-worker logger buffer
	 * (kvcache's workers write straight into the watchers' rings), and
	 * the cap on its pool of read buffers and response objects
	 * (kvcache's buffers are one read and one output buffer per
	 * connection, under -m), in bytes.
	 */
	unsigned int slab_automove_window;
	unsigned int worker_logbuf_size;
	unsigned int watcher_logbuf_size; /* each watcher's ring, bytes */
	unsigned long read_buf_mem_limit;
	bool no_modern; /* -o no_modern: "stats settings" says so */
	char prefix_delimiter; /* -D, for "stats detail" (default ':') */
	/* -o slab_chunk_max as given (0: not given), checked only */
	unsigned int slab_chunk_max;
};

extern struct kv_settings settings;

/* -m as it is now: "cache_memlimit" may change it while workers run. */
static inline unsigned long kv_maxbytes(void)
{
	return __atomic_load_n(&settings.maxbytes, __ATOMIC_RELAXED);
}

static inline int kv_verbose(void)
{
	/* Relaxed: "verbosity" may change it while others log. */
	return __atomic_load_n(&settings.verbose, __ATOMIC_RELAXED);
}

/* ---- Time (main.c) ---------------------------------------------------- */

/*
 * Like memcached, time is kept in seconds relative to process start
 * (kv_started, a unix time two seconds before start so that relative
 * time 1 is always in the past: it marks "expired at once").  The clock
 * thread advances kv_clock; everyone else reads it.
 */
extern int64_t kv_started;
extern uint32_t kv_clock;

static inline uint32_t kv_now(void)
{
	/*
	 * Relaxed: the clock publishes nothing but its own value; a reader
	 * a tick late sees the previous second, as with memcached's clock.
	 */
	return __atomic_load_n(&kv_clock, __ATOMIC_RELAXED);
}

/* Relative expiry time for a protocol exptime (0 = never). */
uint32_t kv_realtime(int64_t exptime);

/* Set by the acceptor on SIGTERM/SIGINT; workers leave their loops. */
extern bool kv_stopping;

/* Logging for -v: one line on stderr. */
void kv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- Statistics ------------------------------------------------------- */

/* Per-worker counters, written only by their worker. */
/* clang-format off */
#define KV_THREAD_STATS(X)                                              \
	X(cmd_get)                                                      \
	X(cmd_set)                                                      \
	X(cmd_flush)                                                    \
	X(cmd_touch)                                                    \
	X(cmd_meta)                                                     \
	X(get_hits)                                                     \
	X(get_misses)                                                   \
	X(get_expired)                                                  \
	X(get_flushed)                                                  \
	X(delete_misses)                                                \
	X(delete_hits)                                                  \
	X(incr_misses)                                                  \
	X(incr_hits)                                                    \
	X(decr_misses)                                                  \
	X(decr_hits)                                                    \
	X(cas_misses)                                                   \
	X(cas_hits)                                                     \
	X(cas_badval)                                                   \
	X(touch_hits)                                                   \
	X(touch_misses)                                                 \
	X(store_too_large)                                              \
	X(store_no_memory)                                              \
	X(bytes_read)                                                   \
	X(bytes_written)                                                \
	X(conn_yields)                                                   \
	X(idle_kicks)                                                   \
	X(read_buf_oom)                                                 \
	X(response_obj_oom)                                             \
	X(malloc_fails)
/* clang-format on */

/* Per-worker, per-class counters ("stats slabs"). */
/* clang-format off */
#define KV_CLASS_STATS(X)                                               \
	X(get_hits)                                                     \
	X(cmd_set)                                                      \
	X(delete_hits)                                                  \
	X(incr_hits)                                                    \
	X(decr_hits)                                                    \
	X(cas_hits)                                                     \
	X(cas_badval)                                                   \
	X(touch_hits)
/* clang-format on */

#define KV_STAT_FIELD(name) uint64_t name;

struct kv_thread_stats {
	KV_THREAD_STATS(KV_STAT_FIELD)
};

struct kv_class_stats {
	KV_CLASS_STATS(KV_STAT_FIELD)
};

/*
 * Bump a counter that only the calling worker writes.  Readers (the stats
 * command, on any worker) load it relaxed: the figure is a snapshot, and
 * the atomic store keeps the access free of data races without a locked
 * read-modify-write.
 */
#define KV_STAT_ADD(field, n)                                               \
	__atomic_store_n(&(field),                                          \
			 __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define KV_STAT_INC(field) KV_STAT_ADD(field, 1)
#define KV_STAT_READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* ---- Items (items.c) -------------------------------------------------- */

/*
 * One item is one slab object: this 52-byte header, the key, the client
 * flags when they are not 0, then the value (no NUL after the key, no
 * "\r\n" after the value: both are written on the way out).  memcached's
 * header is 56 bytes with CAS, plus a NUL and "\r\n" per item.
 *
 * An item larger than the largest class (KV_TOP_CHUNK) is chunked: its
 * head is a top-class object holding the header, the key, the flags, a
 * u32 chunk count, the chunk pointers and the first part of the value;
 * the rest of the value follows in top-class chunks and one last chunk
 * of the smallest class that fits.  Chunks carry no header.
 */
struct item {
	struct item *h_next; /* hash chain (stripe lock) */
	struct item *prev, *next; /* LRU list (LRU lock) */
	uint64_t cas; /* unique, set before linking */
	uint32_t refcount; /* atomic */
	uint32_t exptime; /* relative time, 0 = never (stripe) */
	uint32_t time; /* kv_now() of the last store or hit (stripe) */
	uint32_t nbytes; /* value length */
	uint8_t nkey;
	uint8_t clsid; /* size class of this object */
	uint8_t node : 6; /* LRU list: the allocating node */
	uint8_t cflags : 1; /* client flags stored after the key */
	uint8_t chunked : 1; /* value in chunks */
	uint8_t state; /* ITEM_* below (stripe lock) */
	char data[]; /* key, [flags], value */
};

/*
 * The CAS clients see and compare with: 0 under -C, as memcached -C
 * answers.  Items keep their internal CAS anyway (the header is one
 * layout), but under -C nothing compares with it: flush_all goes by
 * item->time then (items.c).
 */
static inline uint64_t item_cas(const struct item *it)
{
	return settings.cas_disabled ? 0 : it->cas;
}

/* Bytes before the key: the header without the struct's tail padding. */
#define KV_ITEM_HDR offsetof(struct item, data)
_Static_assert(offsetof(struct item, data) == 52, "item header size");

#define ITEM_LINKED 0x1 /* in the hash table and an LRU */
#define ITEM_ACTIVE 0x2 /* hit since it last was the tail */
#define ITEM_FETCHED 0x4 /* hit at least once */
#define ITEM_STALE 0x8 /* marked stale by a meta command (md I, ms I) */
#define ITEM_TOKEN_SENT 0x10 /* a client won the right to recache it */
#define ITEM_KEY_BINARY 0x20 /* stored by a meta command with a base64 key */

struct kv_seg {
	char *p;
	uint32_t len;
};

/* Most segments a value can have: the head's part, chunks, the last. */
#define KV_MAX_SEGS (2 + KV_ITEM_MAX_LIMIT / KV_TOP_CHUNK)

struct kv_lru {
	pthread_mutex_t lock;
	struct item *head, *tail;
	unsigned long nitems; /* linked items on this list */
	unsigned long bytes; /* their header, key, flags, value */
	uint64_t evicted, evicted_nonzero, evicted_unfetched;
	uint64_t reclaimed, expired_unfetched, outofmemory;
	uint64_t tail_reflocked; /* tail items skipped: a connection sends */
} __attribute__((aligned(64)));

/*
 * held changes on every allocation and free of the class: it has a line
 * of its own, apart from the fields every operation reads and from the
 * other classes' counts.  class_make_room() (items.c) compares it with
 * uslab_cache_objects() of the class's cache.
 */
struct kv_class {
	unsigned int size; /* object size of the class's cache */
	unsigned int perslab; /* objects per slab, from uslab */
	unsigned int slab_size;
	struct kmem_cache *cache;
	struct kv_lru *lru; /* [kv_nr_nodes] */
	char name[24];
	/* slots kvcache holds (atomic) */
	unsigned long held __attribute__((aligned(64)));
} __attribute__((aligned(64)));

extern struct kv_class kv_classes[KV_MAX_CLASSES];
extern unsigned int kv_nclasses;
extern int kv_nr_nodes;
extern uint64_t kv_total_items; /* atomic, a statistic */

struct kv_worker;

enum kv_alloc_err { KV_ALLOC_OK, KV_TOO_LARGE, KV_NO_MEMORY };

int items_init(void);
void items_destroy(void);
struct item *item_alloc(struct kv_worker *w, const char *key, unsigned int nkey,
			uint32_t flags, uint32_t exptime, uint32_t nbytes,
			enum kv_alloc_err *err);
void item_put(struct item *it);
unsigned int item_segs(struct item *it, struct kv_seg *segs);
void item_link(struct item *it, uint64_t hv);
void item_unlink(struct item *it, uint64_t hv);
void item_replace(struct item *old, struct item *it, uint64_t hv);
struct item *item_get_locked(const char *key, unsigned int nkey, uint64_t hv,
			     uint32_t now, int *miss, int cfd);
void item_flush(int64_t delay);
void item_clock_tick(uint32_t now);
unsigned long kv_mem_used(void);
void items_free_all(void);
uint64_t item_new_cas(void);

static inline char *item_key(struct item *it)
{
	return it->data;
}

static inline uint32_t item_flags(const struct item *it)
{
	uint32_t f = 0;

	if (it->cflags)
		__builtin_memcpy(&f, it->data + it->nkey, sizeof(f));
	return f;
}

/* The value of an unchunked item. */
static inline char *item_value(struct item *it)
{
	return it->data + it->nkey + (it->cflags ? sizeof(uint32_t) : 0);
}

/*
 * A hit (stripe lock held): the item's last access is now.  The clock
 * is in seconds, so the store happens at most once a second per item
 * (memcached's current_time, not a system call per access).
 */
static inline void item_hit_time(struct item *it)
{
	uint32_t now = kv_now();

	if (it->time != now)
		it->time = now;
}

/* Why item_get_locked() missed. */
enum { KV_MISS_NONE, KV_MISS_EXPIRED, KV_MISS_FLUSHED };

/* ---- Hash table (assoc.c) --------------------------------------------- */

int assoc_init(unsigned long max_items);
void assoc_destroy(void);
uint64_t kv_hash(const char *key, size_t len);
void assoc_lock(uint64_t hv);
void assoc_unlock(uint64_t hv);
bool assoc_trylock(uint64_t hv);
struct item *assoc_find(const char *key, unsigned int nkey, uint64_t hv);
void assoc_insert(struct item *it, uint64_t hv);
void assoc_delete(struct item *it, uint64_t hv);
void assoc_maybe_grow(void);
unsigned int assoc_level(void);
unsigned long assoc_bytes(void);

/* ---- Workers and connections (worker.c) ------------------------------- */

struct kv_rbuf {
	uint32_t size; /* bytes of data[] */
	uint32_t start, end; /* unconsumed bytes */
	char data[];
};

#define KV_RBUF_SIZE (16 * 1024) /* object size, header included */

#define KV_OBUF_SIZE (16 * 1024)
#define KV_OIOV 160 /* KV_MAX_SEGS + 2 and more */
#define KV_OREF 32

struct kv_obuf {
	uint32_t tlen; /* text[] bytes queued */
	uint32_t niov; /* iov[] entries queued */
	uint32_t iov_done; /* first iov not fully sent */
	uint32_t nref; /* ref[] entries */
	char *heap; /* malloc()ed reply, freed when sent */
	struct iovec iov[KV_OIOV];
	struct item *ref[KV_OREF]; /* references held until sent */
	char text[];
};

#define KV_OBUF_TEXT (KV_OBUF_SIZE - sizeof(struct kv_obuf))

enum kv_conn_state {
	CS_CMD, /* waiting for a command line */
	CS_NREAD, /* reading a value into c->it */
	CS_SWALLOW, /* discarding a value that will not be stored */
	CS_GET, /* a multi-get: its keys as output room and input come */
	CS_SKIPLINE, /* discarding the rest of a refused get line */
	CS_CLOSE, /* close once the output is sent */
	CS_WATCH, /* a watcher: sends log lines, ignores input */
};

struct kv_worker;

#define KV_META_RET 40 /* " O" + 32-byte opaque + " k" + " c" */

struct kv_conn {
	int fd;
	uint8_t state; /* enum kv_conn_state */
	bool blocked; /* output full: wait for EPOLLOUT */
	bool noreply; /* current command is silent */
	bool dead; /* write error or no memory: close */
	uint8_t proto; /* KV_PROTO_*: decided by the first byte */
	bool yielded; /* -R spent with requests left: wait for EPOLLOUT */
	uint32_t last_active; /* kv_now() of the last event: idle_timeout */
	uint8_t cmd; /* storage command being read */
	uint8_t close_reason; /* KV_CLOSE_*, for the conn_close log line */
	struct kv_watcher *watch; /* CS_WATCH: its ring (logger.c) */
	struct kv_worker *w;
	struct kv_conn *prev, *next; /* the worker's connections */
	struct kv_conn *wprev, *wnext; /* CS_WATCH: the worker's watchers */
	struct kv_rbuf *rb; /* NULL while idle */
	struct kv_obuf *ob; /* NULL while nothing is queued */

	/* CS_NREAD */
	struct item *it;
	uint64_t req_cas;
	uint32_t left; /* value bytes still to come */
	uint32_t seg, seg_off; /* where they go */
	uint8_t ntail; /* bytes of tail[] read */
	char tail[2]; /* must be "\r\n" */

	/* CS_SWALLOW */
	uint64_t swallow;

	/*
	 * CS_GET: the keys from rb->start to rb->data[get_end], the next
	 * line at get_next; while get_open, the line's end has not arrived.
	 */
	uint32_t get_end, get_next;
	bool get_open;
	uint8_t get_kind;
	uint32_t gat_exptime;

	/*
	 * CS_NREAD of a meta set (proto_meta.c): its return flags as sent
	 * ("Oopaque", "k", "c", in order) and its options.  On a binary
	 * connection (proto_bin.c), mret holds the opcode and opaque of the
	 * request being answered.
	 */
	uint8_t nread_proto; /* KV_NREAD_* */
	uint8_t mflags; /* KV_MS_* */
	uint8_t mret_len;
	char mret[KV_META_RET];
};

struct kv_worker {
	pthread_t thread;
	int id, cpu;
	int node; /* uslab's node of the CPU: LRU index */
	int alloc_node; /* node, or NUMA_NO_NODE */
	int epfd;
	int pipe_rd, pipe_wr; /* accepted fds from the acceptor */
	struct kv_conn *conns; /* every open connection */
	struct kv_conn *watchers; /* of which watchers (CS_WATCH) */
	/* changes to conns, and closing theirs fds (worker.c) */
	pthread_mutex_t conns_lock;
	uint32_t last_sweep; /* kv_now() of the last idle_timeout sweep */
	unsigned int reqs_left; /* -R: requests the current event may start */
	struct kv_thread_stats st;
	struct kv_class_stats *cst; /* [kv_nclasses], worker-allocated */
} __attribute__((aligned(64)));

extern struct kv_worker *kv_workers;
extern unsigned int kv_nworkers;
extern unsigned long kv_curr_conns, kv_total_conns, kv_rejected_conns;

int workers_start(void);
void workers_stop(void);
int worker_hand_off(int fd);
int conns_init(void);
void conns_destroy(void);
unsigned long conn_structures(void);
void conn_buffers(unsigned long *rbufs, unsigned long *obufs,
		  unsigned long *rbufs_free);
void conns_report(FILE *f, struct kv_conn *self, int listen_fd);
extern int kv_listen_fd; /* main.c: -1 before listening */
/* Descriptors asked for beyond -c, for kvcache's own (main.c). */
#define KV_RESERVED_FDS 64

/* "stats conns" reads c->state from other workers (worker.c): relaxed. */
static inline void conn_set_state(struct kv_conn *c, uint8_t state)
{
	__atomic_store_n(&c->state, state, __ATOMIC_RELAXED);
}
extern unsigned long kv_listen_disabled;
extern uint64_t kv_listen_disabled_us;

/* Output, for proto.c and stats.c. */
bool out_make_room(struct kv_conn *c, size_t text, unsigned int iov,
		   unsigned int ref);
bool out_drain(struct kv_conn *c);
char *out_text(struct kv_conn *c, size_t len);
void out_str(struct kv_conn *c, const char *s, size_t len);
void out_ref(struct kv_conn *c, struct item *it, const struct kv_seg *segs,
	     unsigned int nsegs);
void out_heap(struct kv_conn *c, char *buf, size_t len);

#define OUT_LIT(c, s) out_str((c), s, sizeof(s) - 1)

/* ---- Protocol (proto.c) ----------------------------------------------- */

/*
 * What proto_run() tells the connection loop: it needs more input, the
 * output would block, or the connection must close.  KV_CONTINUE is
 * internal to the protocol code: go on with the connection's next state.
 */
enum { KV_MORE, KV_BLOCKED, KV_CLOSE, KV_CONTINUE, KV_YIELD, KV_WATCH };

int proto_run(struct kv_conn *c);
size_t proto_nread_dst(struct kv_conn *c, char **dst);
void proto_nread_advance(struct kv_conn *c, size_t n);

/* For the meta commands (proto_meta.c) and the binary protocol. */

#define KV_REPLY_MAX 128 /* room made for a one-line reply */
#define KV_COPY_MAX 2048 /* copy values up to this; hold others */
#define KV_META_LINE 1024 /* room for a meta reply line */

struct tok {
	char *p;
	size_t len;
};

#define TOK_IS(t, lit) \
	((t)->len == sizeof(lit) - 1 && !memcmp((t)->p, lit, sizeof(lit) - 1))

enum { CMD_SET, CMD_ADD, CMD_REPLACE, CMD_APPEND, CMD_PREPEND, CMD_CAS };
enum { KV_NREAD_TEXT, KV_NREAD_META, KV_NREAD_BIN };
enum { KV_STORED, KV_NOT_STORED, KV_EXISTS, KV_NOT_FOUND, KV_STORE_ERROR };
enum {
	KV_ARITH_OK,
	KV_ARITH_MISS,
	KV_ARITH_EXISTS,
	KV_ARITH_NON_NUMERIC,
	KV_ARITH_NO_MEMORY,
};

/* protocol.txt: 1 to 250 bytes; only the length is checked (proto.c). */
static inline bool key_ok(size_t len)
{
	return len && len <= KV_KEY_MAX;
}

char *kv_utoa(char *dst, uint64_t v);
bool parse_u64(const struct tok *t, uint64_t *v);
bool parse_u32(const struct tok *t, uint32_t *v);
bool parse_i64(const struct tok *t, int64_t *v);
bool mc_strtoull(const char *p, const char *end, uint64_t *v);
int tokenize(char *p, char *end, struct tok *t, int max);
int out_wait(struct kv_conn *c);
void swallow(struct kv_conn *c, uint64_t bytes);
void unlink_key(struct kv_conn *c, const char *key, size_t nkey);
struct item *store_alloc(struct kv_conn *c, const char *key, size_t nkey,
			 uint32_t flags, uint32_t exptime, uint32_t vlen,
			 int cmd, const char **err);
void nread_start(struct kv_conn *c, struct item *it, int cmd, uint64_t cas,
		 uint8_t nread_proto);
int store_item(struct kv_conn *c, struct item *it, int cmd, uint64_t req_cas,
	       bool stale_ok, uint64_t *cas, const char **err);
bool item_u64(struct item *it, uint64_t *v);
int arith_locked(struct kv_conn *c, const char *key, size_t nkey, uint64_t hv,
		 bool incr, uint64_t delta, uint64_t req_cas, char *num,
		 size_t *numlen, struct item **out);
void out_value(struct kv_conn *c, struct item *it, uint64_t hv,
	       const char *line, size_t len, const char *tail, size_t tlen);

/* ---- Meta commands (proto_meta.c) ------------------------------------- */

int process_meta(struct kv_conn *c, char *p, char *end);
void meta_store(struct kv_conn *c, struct item *it);

/* ---- Binary protocol (proto_bin.c) ------------------------------------ */

int proto_bin(struct kv_conn *c);
void bin_store(struct kv_conn *c, struct item *it);
char *bin_stats(struct kv_conn *c, const char *text, size_t len,
		size_t *out_len);
char *bin_stat_one(struct kv_conn *c, const char *name, const char *val,
		   size_t nval, size_t *out_len);

/* ---- Statistics output (stats.c) -------------------------------------- */

/*
 * Per-prefix counters ("stats detail on|off|dump", -D): what each key
 * prefix (the key up to the delimiter) had of gets, hits, sets and
 * deletes, counted where memcached counts them (text and binary gets,
 * storage commands and deletes; not meta commands) while
 * kv_detail_enabled (relaxed: a switch, ordering nothing).
 */
enum { KV_DETAIL_GET, KV_DETAIL_HIT, KV_DETAIL_SET, KV_DETAIL_DEL };
extern bool kv_detail_enabled;
void detail_record(const char *key, size_t nkey, int what);

static inline void kv_detail(const char *key, size_t nkey, int what)
{
	if (__atomic_load_n(&kv_detail_enabled, __ATOMIC_RELAXED))
		detail_record(key, nkey, what);
}

int stats_detail_dump(struct kv_conn *c);
int stats_conns(struct kv_conn *c);
void detail_free_all(void);

int stats_general(struct kv_conn *c);
int stats_uslab(struct kv_conn *c);
int stats_slabs(struct kv_conn *c);
int stats_items(struct kv_conn *c);
int stats_settings(struct kv_conn *c);
int stats_sizes(struct kv_conn *c);
int stats_cachedump(struct kv_conn *c, unsigned int id, unsigned int limit);
int stats_metadump(struct kv_conn *c, const char *which, size_t n);
void stats_reset(void);

/* ---- The logger: "watch" (logger.c) ---------------------------------- */

enum {
	KV_LOG_NONE = 0, /* memcached's events that kvcache does not have */
	KV_LOG_FETCHERS = 1 << 0,
	KV_LOG_MUTATIONS = 1 << 1,
	KV_LOG_EVICTIONS = 1 << 2,
	KV_LOG_CONNEVENTS = 1 << 3,
};

/* Why a connection closed, memcached's reasons in its order. */
enum {
	KV_CLOSE_ERROR,
	KV_CLOSE_NORMAL,
	KV_CLOSE_IDLE,
	KV_CLOSE_SHUTDOWN,
};

/* item_store statuses besides KV_STORED..KV_STORE_ERROR (no_memory). */
#define KV_LOG_TOO_LARGE (KV_STORE_ERROR + 1)

enum { WATCH_OK, WATCH_DISABLED, WATCH_BAD, WATCH_FAILED, WATCH_TOO_MANY };

struct kv_log_stats {
	uint64_t written, sent, skipped;
	unsigned int watchers;
};

extern unsigned int kv_log_flags;

/* Is anyone watching @what?  A relaxed hint: see logger.c. */
static inline bool kv_logging(unsigned int what)
{
	return __atomic_load_n(&kv_log_flags, __ATOMIC_RELAXED) & what;
}

void log_item_get(int cfd, const char *key, size_t nkey, int status,
		  const struct item *it);
void log_item_store(int cfd, int status, int cmd, const char *key, size_t nkey,
		    const struct item *it);
void log_eviction(const struct item *it, uint32_t now);
void log_conn(int fd, bool open, int reason);
int logger_watch(struct kv_conn *c, const struct tok *t, int n);
void logger_unwatch(struct kv_watcher *wt);
size_t logger_take(struct kv_watcher *wt, char *dst, size_t max);
void logger_stats(struct kv_log_stats *s);
void logger_stats_reset(void);

#endif /* KVCACHE_H */
