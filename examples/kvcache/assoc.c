// SPDX-License-Identifier: MIT
/*
 * assoc.c - the hash table: linear hashing over bucket chunks, with
 * striped locks.
 *
 * Buckets are item pointers (chains through item->h_next) kept in 4 KiB
 * chunks of 512 from their own typed cache, kv_hash_chunk; a directory,
 * sized at start for the most items -m can hold, points at the chunks.
 * Chunks are spread over the NUMA nodes in turn, as the kernel spreads
 * its large system hashes (hashdist): every worker reads every bucket.
 *
 * The table grows one bucket at a time (linear hashing, Litwin 1980):
 * with 2^level + split buckets, a hash h lives in bucket h mod 2^level,
 * or h mod 2^(level+1) when that is below split.  Whenever the items
 * outnumber the buckets, an insert splits bucket `split` into itself and
 * bucket split + 2^level, taking a new chunk when that one starts a
 * chunk.  So the table grows with the data at a steady load of one item
 * per bucket, 8 bytes per item (memcached doubles its table at a load of
 * 1.5, so its load swings between 0.75 and 1.5 and its table costs 5 to
 * 11 bytes per item), and no insert ever waits for a rehash of the whole
 * table.  A lookup that hits walks past half an item on average before
 * its own: each is a cache miss, which is why the load is not higher.
 *
 * Locking.  Stripe s (KV_STRIPES of them, a power of two no larger than
 * the smallest table) guards every bucket whose index is s modulo
 * KV_STRIPES.  Since 2^level is a multiple of KV_STRIPES, a bucket and
 * the one it splits into have the same stripe, and the stripe of a hash
 * is simply h mod KV_STRIPES whatever the table's size: take it, then
 * compute the bucket.  A split holds split_lock (one split at a time,
 * taken with trylock so inserters never wait for it) and the stripe of
 * the bucket it splits, and publishes the new (level, split) word before
 * unlocking the stripe.  A reader holding stripe s therefore sees every
 * split of its own buckets (the stripe mutex orders them); splits of
 * other stripes' buckets it may or may not see, and by the linear hashing
 * invariant either word gives the same bucket for a hash of stripe s.
 * Stripe locks also guard the mutable fields of the items on their
 * chains (kvcache.h has the whole lock order).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "kvcache.h"

#define BUCKETS_PER_CHUNK 512
#define ASSOC_MIN_LEVEL 12 /* 4096 buckets at start */
#define ASSOC_MAX_LEVEL 31
#define SPLITS_PER_CALL 4

_Static_assert(KV_STRIPES <= (1u << ASSOC_MIN_LEVEL) &&
		       (KV_STRIPES & (KV_STRIPES - 1)) == 0,
	       "stripes must divide the smallest table");

struct bucket_chunk {
	struct item *b[BUCKETS_PER_CHUNK];
};

DEFINE_KMEM_CACHE(kv_hash_chunk, struct bucket_chunk, 0, NULL)

static struct {
	pthread_mutex_t lock;
} __attribute__((aligned(64))) stripes[KV_STRIPES];

static struct bucket_chunk **dir; /* entries atomic (relaxed) */
static unsigned long dir_len;
static unsigned long nchunks; /* split_lock */
static uint64_t table_state; /* level << 32 | split; atomic */
static unsigned long nitems; /* atomic */
static pthread_mutex_t split_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t hash_seed;

/* ---- Hashing ---------------------------------------------------------- */

/*
 * MurmurHash64A (Austin Appleby, public domain), seeded at start so that
 * clients cannot aim keys at one chain.  Its final mix spreads every
 * input bit into the low bits that pick the stripe and bucket.
 */
uint64_t kv_hash(const char *key, size_t len)
{
	const uint64_t m = 0xc6a4a7935bd1e995ULL;
	const unsigned char *p = (const unsigned char *)key;
	uint64_t h = hash_seed ^ (len * m);
	uint64_t k;

	while (len >= 8) {
		memcpy(&k, p, 8);
		k *= m;
		k ^= k >> 47;
		k *= m;
		h ^= k;
		h *= m;
		p += 8;
		len -= 8;
	}
	if (len) {
		k = 0;
		memcpy(&k, p, len);
		h ^= k;
		h *= m;
	}
	h ^= h >> 47;
	h *= m;
	h ^= h >> 47;
	return h;
}

/* ---- Buckets ---------------------------------------------------------- */

static unsigned long bucket_of(uint64_t hv)
{
	/*
	 * Relaxed: the stripe lock the caller holds orders every split of
	 * this hash's buckets; see the top of the file for the others.
	 */
	uint64_t st = __atomic_load_n(&table_state, __ATOMIC_RELAXED);
	unsigned int level = (unsigned int)(st >> 32);
	unsigned long split = (uint32_t)st;
	unsigned long b = hv & ((1UL << level) - 1);

	if (b < split)
		b = hv & ((1UL << (level + 1)) - 1);
	return b;
}

static struct item **bucket_slot(unsigned long b)
{
	/*
	 * Relaxed: a chunk pointer is stored before any split creates a
	 * bucket in it, and that split is ordered before us by split_lock
	 * and the stripe mutex.
	 */
	struct bucket_chunk *ch =
		__atomic_load_n(&dir[b / BUCKETS_PER_CHUNK], __ATOMIC_RELAXED);

	return &ch->b[b % BUCKETS_PER_CHUNK];
}

static bool chunk_add(unsigned long i)
{
	/* Spread chunks over the nodes, as hashdist does. */
	struct bucket_chunk *ch = kv_hash_chunk_alloc_node(
		GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, (int)(i % kv_nr_nodes));

	if (!ch)
		return false;
	__atomic_store_n(&dir[i], ch, __ATOMIC_RELAXED);
	nchunks++;
	return true;
}

int assoc_init(unsigned long max_items)
{
	unsigned long want = max_items + 1, buckets;
	unsigned int level = ASSOC_MIN_LEVEL + 1, i;

	if (getrandom(&hash_seed, sizeof(hash_seed), GRND_NONBLOCK) !=
	    sizeof(hash_seed))
		hash_seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
	while (level < ASSOC_MAX_LEVEL && (1UL << level) < want)
		level++;
	buckets = 1UL << level;
	dir_len = buckets / BUCKETS_PER_CHUNK;
	dir = calloc(dir_len, sizeof(*dir));
	if (!dir)
		return -1;
	for (i = 0; i < KV_STRIPES; i++)
		pthread_mutex_init(&stripes[i].lock, NULL);
	if (kv_hash_chunk_create() < 0)
		return -1;
	for (i = 0; i < (1u << ASSOC_MIN_LEVEL) / BUCKETS_PER_CHUNK; i++)
		if (!chunk_add(i))
			return -1;
	table_state = (uint64_t)ASSOC_MIN_LEVEL << 32;
	return 0;
}

void assoc_destroy(void)
{
	unsigned long i;

	for (i = 0; i < dir_len && dir; i++)
		if (dir[i])
			kv_hash_chunk_free(dir[i]);
	free(dir);
	dir = NULL;
	kv_hash_chunk_destroy();
	for (i = 0; i < KV_STRIPES; i++)
		pthread_mutex_destroy(&stripes[i].lock);
}

/* ---- Stripes ---------------------------------------------------------- */

void assoc_lock(uint64_t hv)
{
	pthread_mutex_lock(&stripes[hv & (KV_STRIPES - 1)].lock);
}

void assoc_unlock(uint64_t hv)
{
	pthread_mutex_unlock(&stripes[hv & (KV_STRIPES - 1)].lock);
}

bool assoc_trylock(uint64_t hv)
{
	return pthread_mutex_trylock(&stripes[hv & (KV_STRIPES - 1)].lock) == 0;
}

/* ---- Lookup and update (stripe lock held) ----------------------------- */

struct item *assoc_find(const char *key, unsigned int nkey, uint64_t hv)
{
	struct item *it = *bucket_slot(bucket_of(hv));

	for (; it; it = it->h_next)
		if (it->nkey == nkey && !memcmp(it->data, key, nkey))
			return it;
	return NULL;
}

void assoc_insert(struct item *it, uint64_t hv)
{
	struct item **slot = bucket_slot(bucket_of(hv));

	it->h_next = *slot;
	*slot = it;
	/* Relaxed: a count that only steers growth and statistics. */
	__atomic_fetch_add(&nitems, 1, __ATOMIC_RELAXED);
}

void assoc_delete(struct item *it, uint64_t hv)
{
	struct item **pp = bucket_slot(bucket_of(hv));

	while (*pp != it)
		pp = &(*pp)->h_next;
	*pp = it->h_next;
	it->h_next = NULL;
	__atomic_fetch_sub(&nitems, 1, __ATOMIC_RELAXED); /* as above */
}

/* ---- Growth ----------------------------------------------------------- */

/* Relaxed loads: a hint, checked again under split_lock before a split. */
static bool overloaded(uint64_t st)
{
	unsigned long buckets = (1UL << (st >> 32)) + (uint32_t)st;

	return __atomic_load_n(&nitems, __ATOMIC_RELAXED) > buckets;
}

/* split_lock held: split one bucket if the table is overloaded. */
static bool split_one(void)
{
	/* Relaxed: only split_one() stores it, under split_lock (held). */
	uint64_t st = __atomic_load_n(&table_state, __ATOMIC_RELAXED);
	unsigned int level = (unsigned int)(st >> 32);
	unsigned long src = (uint32_t)st, dst = src + (1UL << level);
	struct item **from, **to;
	uint64_t next;

	if (!overloaded(st) || dst >= dir_len * BUCKETS_PER_CHUNK)
		return false;
	if (dst % BUCKETS_PER_CHUNK == 0 && !dir[dst / BUCKETS_PER_CHUNK] &&
	    !chunk_add(dst / BUCKETS_PER_CHUNK))
		return false;
	next = src + 1 == 1UL << level ? (uint64_t)(level + 1) << 32 : st + 1;

	assoc_lock(src); /* dst has the same stripe */
	from = bucket_slot(src);
	to = bucket_slot(dst);
	while (*from) {
		struct item *it = *from;

		if (kv_hash(it->data, it->nkey) & (1UL << level)) {
			*from = it->h_next;
			it->h_next = *to;
			*to = it;
		} else {
			from = &it->h_next;
		}
	}
	/* Relaxed: published to this stripe by its unlock (top of file). */
	__atomic_store_n(&table_state, next, __ATOMIC_RELAXED);
	assoc_unlock(src);
	return true;
}

/* After an insert, with no lock held: grow by a few buckets if due. */
void assoc_maybe_grow(void)
{
	int i;

	if (!overloaded(__atomic_load_n(&table_state, __ATOMIC_RELAXED)))
		return;
	if (pthread_mutex_trylock(&split_lock))
		return;
	for (i = 0; i < SPLITS_PER_CALL && split_one(); i++)
		;
	pthread_mutex_unlock(&split_lock);
}

/* For "stats": relaxed, a snapshot. */
unsigned int assoc_level(void)
{
	return (unsigned int)(__atomic_load_n(&table_state, __ATOMIC_RELAXED) >>
			      32);
}

unsigned long assoc_bytes(void)
{
	unsigned long n;

	pthread_mutex_lock(&split_lock);
	n = nchunks * sizeof(struct bucket_chunk) + dir_len * sizeof(*dir);
	pthread_mutex_unlock(&split_lock);
	return n;
}
