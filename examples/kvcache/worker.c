// SPDX-License-Identifier: MIT
/*
 * worker.c - worker threads, connections, socket I/O, and the read and
 * write buffers.
 *
 * One worker per CPU the process may run on (or -t of them, spread over
 * those CPUs in turn), each pinned to its CPU with sched_setaffinity()
 * and serving its connections from its own epoll instance.  A worker's
 * node is uslab's node of its CPU, uslab_cpu_node() once pinned (fake
 * or real topology alike).  Everything a worker allocates (its
 * connections, their buffers, the items its clients store) comes from
 * kmem_cache_alloc_node() on that node, which, being the calling CPU's
 * node, is served from the CPU's magazine (uslab's fast path).
 *
 * A connection is handed to one worker by the acceptor (main.c) and lives
 * and dies there: nothing in struct kv_conn is shared, so nothing in it is
 * locked, but for what "stats conns" (conns_report(), on any worker)
 * reads of it.  There, a worker's list of connections changes only under
 * its conns_lock, which the worker takes to add or close a connection
 * (its own walks of the list need none: nobody else changes it); the
 * reader holds one worker's lock at a time, so a connection it sees is
 * not freed, nor its descriptor closed, meanwhile.  The fields it reads
 * are the descriptor (fixed) and state and last_active, which the worker
 * stores with relaxed atomics (conn_set_state()): the figures are a
 * snapshot and order nothing.  The acceptor passes accepted descriptors
 * through a pipe per worker (4-byte writes, atomic under PIPE_BUF),
 * which also wakes the worker's epoll; a descriptor of -1 only wakes it
 * (shutdown).
 *
 * Memory per connection: the struct kv_conn, from the typed cache
 * kv_conn_cache.  A read buffer (kv_rbuf, 16 KiB: a command line, a get
 * line of any length being consumed as it comes, or pipelined requests)
 * is taken when bytes arrive and given back as
 * soon as everything read has been consumed; an output buffer (kv_obuf,
 * 16 KiB) is taken for a reply and given back once it is sent.  So an
 * idle connection costs one small object however many there are, and a
 * busy one pays a magazine pop and push per request for its buffers.
 * Values being read go straight into their item, large ones by read()
 * into it directly.
 *
 * Output is queued as an iovec list (text in the buffer, large values by
 * reference to their items) and sent with sendmsg().  When the socket
 * would block, the connection stops reading (EPOLLOUT only) until the
 * client has taken its replies: a client that sends and never reads
 * cannot make the server queue without bound.
 *
 * Fairness: a connection gets KV_READ_ROUNDS reads per event; with -R N
 * it also starts at most N requests (w->reqs_left, set per event: the
 * worker runs one connection at a time), then sends its replies and
 * waits for EPOLLOUT, which fires at once but after the worker's other
 * ready connections (c->yielded), as memcached does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <uslab/stats.h>

#include "kvcache.h"

#define KV_EVENTS 64
#define KV_READ_ROUNDS 4 /* reads per wake-up, for fairness */
#define KV_DIRECT_MIN 4096 /* worth a read() into the item */
#define KV_WATCH_MS 10 /* a worker with watchers sends their lines so often */
#define KV_WATCH_ROUNDS 8 /* output buffers a watcher sends per turn */

DEFINE_KMEM_CACHE(kv_conn_cache, struct kv_conn, SLAB_HWCACHE_ALIGN, NULL)

static struct kmem_cache *rbuf_cache, *obuf_cache;

struct kv_worker *kv_workers;
unsigned int kv_nworkers;
/* Atomics, relaxed: counters that order nothing. */
unsigned long kv_curr_conns, kv_total_conns, kv_rejected_conns;

int conns_init(void)
{
	if (kv_conn_cache_create() < 0)
		return -1;
	rbuf_cache = kmem_cache_create("kv_rbuf", KV_RBUF_SIZE, 0, 0, NULL);
	obuf_cache = kmem_cache_create("kv_obuf", KV_OBUF_SIZE, 0, 0, NULL);
	return rbuf_cache && obuf_cache ? 0 : -1;
}

void conns_destroy(void)
{
	kmem_cache_destroy(obuf_cache);
	kmem_cache_destroy(rbuf_cache);
	kv_conn_cache_destroy();
}

unsigned long conn_structures(void)
{
	struct uslab_cache_info info;

	if (uslab_cache_info(kv_conn_cache_cachep, &info))
		return 0;
	return info.active_objs;
}

/*
 * Read and output buffers in use, and read buffers laid out in slabs but
 * free, for "stats" (read_buf, response_obj, read_buf_bytes_free).
 */
void conn_buffers(unsigned long *rbufs, unsigned long *obufs,
		  unsigned long *rbufs_free)
{
	struct uslab_cache_info info;

	*rbufs = *rbufs_free = 0;
	if (!uslab_cache_info(rbuf_cache, &info)) {
		*rbufs = info.active_objs;
		*rbufs_free = info.total_objs - info.active_objs;
	}
	*obufs = uslab_cache_info(obuf_cache, &info) ? 0 : info.active_objs;
}

/* ---- Buffers ---------------------------------------------------------- */

static struct kv_rbuf *rbuf_alloc(struct kv_conn *c)
{
	struct kv_rbuf *rb = kmem_cache_alloc_node(
		rbuf_cache, GFP_KERNEL | __GFP_NOWARN, c->w->alloc_node);

	if (rb) {
		rb->size = (uint32_t)(KV_RBUF_SIZE - sizeof(*rb));
		rb->start = rb->end = 0;
	} else {
		KV_STAT_INC(c->w->st.read_buf_oom);
	}
	return rb;
}

static void rbuf_free(struct kv_conn *c)
{
	kmem_cache_free(rbuf_cache, c->rb);
	c->rb = NULL;
}

/*
 * Room to read into: a buffer if there is none, or the unconsumed bytes
 * moved to the front when the tail runs short.  proto.c consumes every
 * line longer than KV_LINE_MAX as it comes (or refuses it), so a full
 * buffer with nothing consumed cannot happen; false if it did, or if
 * there is no memory.
 */
static bool rbuf_make_space(struct kv_conn *c)
{
	struct kv_rbuf *rb = c->rb;

	if (!rb)
		return (c->rb = rbuf_alloc(c)) != NULL;
	if (rb->start == rb->end)
		rb->start = rb->end = 0;
	if (rb->size - rb->end >= KV_LINE_MAX)
		return true;
	if (rb->start > 0) {
		memmove(rb->data, rb->data + rb->start, rb->end - rb->start);
		rb->end -= rb->start;
		rb->start = 0;
		return true;
	}
	return rb->end < rb->size;
}

static bool obuf_alloc(struct kv_conn *c)
{
	struct kv_obuf *ob = kmem_cache_alloc_node(
		obuf_cache, GFP_KERNEL | __GFP_NOWARN, c->w->alloc_node);

	if (!ob) {
		KV_STAT_INC(c->w->st.response_obj_oom);
		c->dead = true;
		return false;
	}
	ob->tlen = ob->niov = ob->iov_done = ob->nref = 0;
	ob->heap = NULL;
	c->ob = ob;
	return true;
}

static void obuf_release(struct kv_conn *c)
{
	struct kv_obuf *ob = c->ob;
	uint32_t i;

	for (i = 0; i < ob->nref; i++)
		item_put(ob->ref[i]);
	free(ob->heap);
	kmem_cache_free(obuf_cache, ob);
	c->ob = NULL;
}

/* Send what is queued: 1 all sent, 0 the socket would block, -1 error. */
static int conn_flush(struct kv_conn *c)
{
	struct kv_obuf *ob = c->ob;

	if (!ob)
		return 1;
	while (ob->iov_done < ob->niov) {
		struct msghdr mh = {
			.msg_iov = ob->iov + ob->iov_done,
			.msg_iovlen = ob->niov - ob->iov_done,
		};
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		KV_STAT_ADD(c->w->st.bytes_written, (uint64_t)n);
		while (n > 0) {
			struct iovec *v = &ob->iov[ob->iov_done];

			if ((size_t)n >= v->iov_len) {
				n -= (ssize_t)v->iov_len;
				ob->iov_done++;
			} else {
				v->iov_base = (char *)v->iov_base + n;
				v->iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	obuf_release(c);
	return 1;
}

/* ---- Output, for proto.c and stats.c ---------------------------------- */

/* A reply of the largest item must fit one output buffer's iovecs. */
_Static_assert(KV_MAX_SEGS + 2 <= KV_OIOV, "KV_OIOV below KV_MAX_SEGS + 2");

static bool out_room(struct kv_conn *c, size_t text, unsigned int iov,
		     unsigned int ref)
{
	struct kv_obuf *ob = c->ob;

	if (!ob)
		return true;
	return ob->tlen + text <= KV_OBUF_TEXT && ob->niov + iov <= KV_OIOV &&
	       ob->nref + ref <= KV_OREF;
}

/*
 * Make room for a reply, sending what is queued if need be.  false: the
 * socket would block (the caller stops and is called again once it has
 * drained) or the connection is dead (c->dead).
 */
bool out_make_room(struct kv_conn *c, size_t text, unsigned int iov,
		   unsigned int ref)
{
	if (!out_room(c, text, iov, ref)) {
		int r = conn_flush(c);

		if (r < 0)
			c->dead = true;
		if (r <= 0)
			return false;
	}
	return c->ob || obuf_alloc(c);
}

/* Send everything queued; true when nothing is left. */
bool out_drain(struct kv_conn *c)
{
	int r = conn_flush(c);

	if (r < 0)
		c->dead = true;
	return r > 0;
}

/* Queue @len bytes of text (room made); returns where to write them. */
char *out_text(struct kv_conn *c, size_t len)
{
	struct kv_obuf *ob = c->ob;
	char *p = ob->text + ob->tlen;
	struct iovec *last = ob->niov ? &ob->iov[ob->niov - 1] : NULL;

	if (last && (char *)last->iov_base + last->iov_len == p) {
		last->iov_len += len;
	} else {
		ob->iov[ob->niov].iov_base = p;
		ob->iov[ob->niov].iov_len = len;
		ob->niov++;
	}
	ob->tlen += (uint32_t)len;
	return p;
}

void out_str(struct kv_conn *c, const char *s, size_t len)
{
	memcpy(out_text(c, len), s, len);
}

/* Queue a value by reference; the connection now owns one of @it's. */
void out_ref(struct kv_conn *c, struct item *it, const struct kv_seg *segs,
	     unsigned int nsegs)
{
	struct kv_obuf *ob = c->ob;
	unsigned int i;

	ob->ref[ob->nref++] = it;
	for (i = 0; i < nsegs; i++) {
		if (!segs[i].len)
			continue;
		ob->iov[ob->niov].iov_base = segs[i].p;
		ob->iov[ob->niov].iov_len = segs[i].len;
		ob->niov++;
	}
}

/* Queue a malloc()ed reply (after out_drain()); it is freed once sent. */
void out_heap(struct kv_conn *c, char *buf, size_t len)
{
	if (!c->ob && !obuf_alloc(c)) {
		free(buf);
		return;
	}
	c->ob->heap = buf;
	c->ob->iov[c->ob->niov].iov_base = buf;
	c->ob->iov[c->ob->niov].iov_len = len;
	c->ob->niov++;
}

/* ---- Connections ------------------------------------------------------ */

static void epoll_set(struct kv_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		c->dead = true;
}

static void conn_count_drop(void)
{
	__atomic_fetch_sub(&kv_curr_conns, 1, __ATOMIC_RELAXED);
}

/* Log a connection opening or closing, for "watch connevents". */
static void conn_log(struct kv_conn *c, bool open)
{
	if (kv_logging(KV_LOG_CONNEVENTS))
		log_conn(c->fd, open, c->close_reason);
}

static void conn_new(struct kv_worker *w, int fd)
{
	struct kv_conn *c = kv_conn_cache_alloc_node(GFP_KERNEL | __GFP_NOWARN,
						     w->alloc_node);
	struct epoll_event ev;
	int one = 1;

	if (!c) {
		KV_STAT_INC(w->st.malloc_fails);
		close(fd);
		conn_count_drop();
		return;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->w = w;
	c->state = CS_CMD;
	c->proto = settings.protocol; /* -B; or decided by the first byte */
	c->last_active = kv_now();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		kv_conn_cache_free(c);
		conn_count_drop();
		return;
	}
	pthread_mutex_lock(&w->conns_lock);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	pthread_mutex_unlock(&w->conns_lock);
	if (kv_verbose())
		kv_log("<%d new connection on worker %d", fd, w->id);
	conn_log(c, true);
}

static void conn_close(struct kv_conn *c)
{
	struct kv_worker *w = c->w;

	if (kv_verbose())
		kv_log("<%d connection closed", c->fd);
	if (c->watch) {
		logger_unwatch(c->watch);
		/* watcher_start() linked it, unless it never ran. */
		if (c->wprev)
			c->wprev->wnext = c->wnext;
		else if (w->watchers == c)
			w->watchers = c->wnext;
		if (c->wnext)
			c->wnext->wprev = c->wprev;
	} else {
		conn_log(c, false);
	}
	if (c->it)
		item_put(c->it);
	if (c->ob)
		obuf_release(c);
	if (c->rb)
		rbuf_free(c);
	/* Closed under the lock: "stats conns" may be reading its address. */
	pthread_mutex_lock(&w->conns_lock);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&w->conns_lock);
	kv_conn_cache_free(c);
	conn_count_drop();
}

/*
 * Close after "quit" or a fatal protocol error: send what is queued if
 * the socket takes it, then read what the client already sent, so that
 * close() sends a FIN rather than a reset that could destroy the reply.
 */
static void conn_finish(struct kv_conn *c)
{
	char sink[4096];
	int i;

	if (!c->dead)
		conn_flush(c);
	shutdown(c->fd, SHUT_WR);
	for (i = 0; i < 16 && read(c->fd, sink, sizeof(sink)) > 0; i++)
		;
	conn_close(c);
}

/*
 * Send what @c's ring holds, one output buffer at a time, until the
 * ring is empty or the socket would block (then wait for EPOLLOUT; the
 * producers meanwhile drop what does not fit the ring, and count it).
 * The copy out of the ring is under the logger's lock, the sendmsg()
 * not.  At most KV_WATCH_ROUNDS buffers per call, for fairness.
 */
static void watcher_send(struct kv_conn *c)
{
	int round, r;

	for (round = 0; round < KV_WATCH_ROUNDS; round++) {
		if (!c->ob) {
			size_t n;

			if (!obuf_alloc(c)) {
				conn_close(c);
				return;
			}
			n = logger_take(c->watch, c->ob->text, KV_OBUF_TEXT);
			if (!n) {
				obuf_release(c);
				return;
			}
			out_text(c, n);
		}
		r = conn_flush(c);
		if (r < 0) {
			conn_close(c);
			return;
		}
		if (r == 0) {
			if (!c->blocked) {
				c->blocked = true;
				epoll_set(c, EPOLLIN | EPOLLOUT);
				if (c->dead)
					conn_close(c);
			}
			return;
		}
	}
}

/* "watch" answered: from now on @c only sends its log lines. */
static void watcher_start(struct kv_conn *c)
{
	if (c->ob)
		obuf_release(c); /* empty: process_watch() drained it */
	if (c->rb)
		rbuf_free(
			c); /* what follows "watch" is ignored, as memcached */
	c->wprev = NULL;
	c->wnext = c->w->watchers;
	if (c->wnext)
		c->wnext->wprev = c;
	c->w->watchers = c;
	watcher_send(c);
}

/*
 * An event on a watcher's socket: input is read and thrown away (the end
 * of it closes the watcher), output space sends more lines.
 */
static void watcher_event(struct kv_conn *c, uint32_t events)
{
	char sink[512];
	ssize_t n;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		while ((n = read(c->fd, sink, sizeof(sink))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
			       errno != EINTR)) {
			conn_close(c);
			return;
		}
	}
	if (c->blocked && (events & EPOLLOUT)) {
		c->blocked = false;
		epoll_set(c, EPOLLIN);
		if (c->dead) {
			conn_close(c);
			return;
		}
	}
	if (!c->blocked)
		watcher_send(c);
}

/*
 * Each turn of a worker with watchers: send their new lines.  It walks
 * the worker's watchers alone, however many other connections it has;
 * watcher_send() may close the one it is given, and no other.
 */
static void watchers_send(struct kv_worker *w)
{
	struct kv_conn *c, *next;

	for (c = w->watchers; c; c = next) {
		next = c->wnext;
		if (!c->blocked)
			watcher_send(c);
	}
}

/*
 * Run the protocol on what has been read and send the replies.  false:
 * the connection was closed, or waits for the socket to drain.
 */
static bool conn_run(struct kv_conn *c)
{
	int r = proto_run(c);

	if (r == KV_CLOSE) {
		conn_finish(c);
		return false;
	}
	if (r == KV_WATCH) {
		watcher_start(c);
		return false;
	}
	/*
	 * -R spent: send what is ready, then wait for EPOLLOUT, which fires
	 * at once, so that the worker's other connections run first (what
	 * memcached does).
	 */
	if (r == KV_YIELD) {
		KV_STAT_INC(c->w->st.conn_yields);
		r = conn_flush(c);
		if (r < 0) {
			conn_close(c);
			return false;
		}
		if (r > 0) {
			c->yielded = true;
			epoll_set(c, EPOLLOUT);
			if (c->dead)
				conn_close(c);
			return false;
		}
	} else if (r == KV_MORE) {
		r = conn_flush(c);
		if (r < 0) {
			conn_close(c);
			return false;
		}
		if (r > 0) {
			if (c->rb && c->rb->start == c->rb->end)
				rbuf_free(c);
			return true;
		}
	}
	c->blocked = true;
	epoll_set(c, EPOLLOUT);
	if (c->dead)
		conn_close(c);
	return false;
}

static void conn_read(struct kv_conn *c)
{
	int round;

	for (round = 0; round < KV_READ_ROUNDS; round++) {
		size_t want = 0;
		ssize_t n;
		char *dst;

		if (c->state == CS_NREAD &&
		    (!c->rb || c->rb->start == c->rb->end))
			want = proto_nread_dst(c, &dst);
		if (want >= KV_DIRECT_MIN) {
			n = read(c->fd, dst, want);
			if (n > 0)
				proto_nread_advance(c, (size_t)n);
		} else {
			if (!rbuf_make_space(c)) {
				conn_close(c);
				return;
			}
			dst = c->rb->data + c->rb->end;
			want = c->rb->size - c->rb->end;
			n = read(c->fd, dst, want);
			if (n > 0)
				c->rb->end += (uint32_t)n;
		}
		if (n == 0) {
			c->close_reason = KV_CLOSE_NORMAL;
			conn_close(c);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c);
			return;
		}
		KV_STAT_ADD(c->w->st.bytes_read, (uint64_t)n);
		if (!conn_run(c) || (size_t)n < want)
			return;
	}
	if (c->rb && c->rb->start == c->rb->end)
		rbuf_free(c);
}

static void conn_event(struct kv_conn *c, uint32_t events)
{
	int r;

	if (c->watch) {
		watcher_event(c, events);
		return;
	}
	/* Relaxed: "stats conns" reads it (see the top of this file). */
	__atomic_store_n(&c->last_active, kv_now(), __ATOMIC_RELAXED);
	c->w->reqs_left = settings.reqs_per_event;
	if (c->yielded) {
		c->yielded = false;
		epoll_set(c, EPOLLIN);
		if (c->dead)
			conn_close(c);
		else
			conn_run(c);
		return;
	}
	if (!c->blocked) {
		conn_read(c);
		return;
	}
	if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return;
	r = conn_flush(c);
	if (r < 0) {
		conn_close(c);
		return;
	}
	if (r == 0)
		return;
	c->blocked = false;
	epoll_set(c, EPOLLIN);
	if (c->dead)
		conn_close(c);
	else
		conn_run(c);
}

/* ---- Workers ---------------------------------------------------------- */

/*
 * -o idle_timeout: once a second, close the connections that have had no
 * event for longer, between commands (not while a reply is pending).
 */
static void idle_sweep(struct kv_worker *w)
{
	uint32_t now = kv_now();
	struct kv_conn *c, *next;

	if (now == w->last_sweep)
		return;
	w->last_sweep = now;
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (!c->blocked && c->state == CS_CMD && !c->ob &&
		    now - c->last_active > settings.idle_timeout) {
			if (kv_verbose())
				kv_log("<%d idle for %u s, closing", c->fd,
				       now - c->last_active);
			KV_STAT_INC(w->st.idle_kicks);
			c->close_reason = KV_CLOSE_IDLE;
			conn_close(c);
		}
	}
}

static void worker_take_conns(struct kv_worker *w)
{
	int fds[64];
	ssize_t n;

	while ((n = read(w->pipe_rd, fds, sizeof(fds))) > 0) {
		size_t i;

		for (i = 0; i < (size_t)n / sizeof(int); i++) {
			if (fds[i] < 0)
				continue;
			/* Relaxed: the flag publishes nothing (see main.c). */
			if (__atomic_load_n(&kv_stopping, __ATOMIC_RELAXED)) {
				close(fds[i]);
				conn_count_drop();
			} else {
				conn_new(w, fds[i]);
			}
		}
	}
}

static void *worker_main(void *arg)
{
	struct kv_worker *w = arg;
	struct epoll_event ev[KV_EVENTS];
	struct kv_conn *probe;
	cpu_set_t set;
	int i, n;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		kv_log("worker %d: cannot pin to CPU %d: %m", w->id, w->cpu);
	/* Pinned: the node stays this CPU's. */
	w->node = uslab_cpu_node();
	w->alloc_node = w->node;
	/* A node uslab cannot allocate on (cpuset, policy): let it choose. */
	probe = kv_conn_cache_alloc_node(GFP_KERNEL | __GFP_NOWARN, w->node);
	if (probe)
		kv_conn_cache_free(probe);
	else if (errno == EINVAL)
		w->alloc_node = NUMA_NO_NODE;
	if (kv_verbose())
		kv_log("worker %d: CPU %d, node %d", w->id, w->cpu, w->node);

	while (!__atomic_load_n(&kv_stopping, __ATOMIC_RELAXED)) {
		n = epoll_wait(w->epfd, ev, KV_EVENTS,
			       w->watchers	     ? KV_WATCH_MS :
			       settings.idle_timeout ? 1000 :
						       -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			kv_log("worker %d: epoll_wait: %m", w->id);
			break;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr)
				conn_event(ev[i].data.ptr, ev[i].events);
			else
				worker_take_conns(w);
		}
		if (settings.idle_timeout)
			idle_sweep(w);
		if (w->watchers)
			watchers_send(w);
	}
	while (w->conns) {
		w->conns->close_reason = KV_CLOSE_SHUTDOWN;
		conn_close(w->conns);
	}
	worker_take_conns(w);
	return NULL;
}

static int worker_init(struct kv_worker *w, int id, int cpu)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int fds[2];

	pthread_mutex_init(&w->conns_lock, NULL);
	w->id = id;
	w->cpu = cpu;
	w->epfd = -1;
	w->pipe_rd = w->pipe_wr = -1;
	w->cst = calloc(kv_nclasses, sizeof(*w->cst));
	if (!w->cst || pipe2(fds, O_NONBLOCK | O_CLOEXEC))
		return -1;
	w->pipe_rd = fds[0];
	w->pipe_wr = fds[1];
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->pipe_rd, &ev))
		return -1;
	return pthread_create(&w->thread, NULL, worker_main, w) ? -1 : 0;
}

/* Start the workers on the CPUs this process may use. */
int workers_start(void)
{
	static int cpus[CPU_SETSIZE];
	cpu_set_t allowed;
	int ncpu = 0, cpu;
	unsigned int i;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			cpus[ncpu++] = cpu;
	if (!ncpu)
		return -1;
	if (!settings.nthreads)
		settings.nthreads = (unsigned int)ncpu;
	kv_workers = aligned_alloc(64, sizeof(*kv_workers) * settings.nthreads);
	if (!kv_workers)
		return -1;
	memset(kv_workers, 0, sizeof(*kv_workers) * settings.nthreads);
	for (i = 0; i < settings.nthreads; i++) {
		if (worker_init(&kv_workers[i], (int)i,
				cpus[i % (unsigned int)ncpu]) < 0) {
			free(kv_workers[i].cst);
			if (kv_workers[i].epfd >= 0)
				close(kv_workers[i].epfd);
			if (kv_workers[i].pipe_rd >= 0) {
				close(kv_workers[i].pipe_rd);
				close(kv_workers[i].pipe_wr);
			}
			return -1;
		}
		kv_nworkers = i + 1;
	}
	return 0;
}

/* Wake every worker, wait for it to close its connections, free it. */
void workers_stop(void)
{
	unsigned int i;
	int wake = -1;

	/* Relaxed: the pipe write below is what wakes each worker. */
	__atomic_store_n(&kv_stopping, true, __ATOMIC_RELAXED);
	for (i = 0; i < kv_nworkers; i++)
		if (write(kv_workers[i].pipe_wr, &wake, sizeof(wake)) < 0) {
			/* A full pipe wakes the worker as well. */
		}
	/*
	 * Every worker is joined before any is freed: until it leaves its
	 * loop, a worker may be answering "stats", which reads every
	 * worker's counters.
	 */
	for (i = 0; i < kv_nworkers; i++)
		pthread_join(kv_workers[i].thread, NULL);
	for (i = 0; i < kv_nworkers; i++) {
		struct kv_worker *w = &kv_workers[i];

		pthread_mutex_destroy(&w->conns_lock);
		close(w->epfd);
		close(w->pipe_rd);
		close(w->pipe_wr);
		free(w->cst);
	}
	free(kv_workers);
	kv_workers = NULL;
	kv_nworkers = 0;
}

/* ---- "stats conns" ----------------------------------------------------- */

/* "tcp:ADDR:PORT", "tcp6:[ADDR]:PORT" or "unix:PATH", as memcached's. */
static void sock_name(char *buf, size_t len, const struct sockaddr_storage *ss,
		      socklen_t slen)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "tcp:%s:%u", host, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "tcp6:[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (ss->ss_family == AF_UNIX &&
		   slen > offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *un = (const void *)ss;

		snprintf(buf, len, "unix:%.*s",
			 (int)(slen - offsetof(struct sockaddr_un, sun_path)),
			 un->sun_path);
	} else {
		snprintf(buf, len, "unix:%s",
			 settings.socketpath ? settings.socketpath : "");
	}
}

static void sock_addr(int fd, bool peer, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss,
					       &slen))
		snprintf(buf, len, "unknown");
	else
		sock_name(buf, len, &ss, slen);
}

/* memcached's name for what a connection is doing. */
static const char *conn_state_name(const struct kv_conn *c, bool self)
{
	/* Relaxed: a snapshot (see the top of this file). */
	switch (__atomic_load_n(&c->state, __ATOMIC_RELAXED)) {
	case CS_CMD:
		return self ? "conn_parse_cmd" : "conn_waiting";
	case CS_NREAD:
		return "conn_nread";
	case CS_SWALLOW:
	case CS_SKIPLINE:
		return "conn_swallow";
	case CS_GET:
		return "conn_mwrite";
	case CS_WATCH:
		return "conn_watch";
	default:
		return "conn_closing";
	}
}

struct conn_line {
	int fd;
	char *text; /* its STAT lines, malloc()ed */
};

static int conn_line_cmp(const void *a, const void *b)
{
	const struct conn_line *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/*
 * "stats conns": the listening socket, then every worker's connections,
 * one worker's lock at a time (see the top of this file), listed in the
 * order of their descriptors as memcached lists them (its table is
 * indexed by descriptor: a client finds itself last when it is the
 * newest); @self is the asking connection, which its own worker is
 * running.  What does not fit in memory is left out.
 */
void conns_report(FILE *f, struct kv_conn *self, int listen_fd)
{
	char addr[128 + sizeof(((struct sockaddr_un *)0)->sun_path)];
	char peer[sizeof(addr)];
	struct conn_line *lines = NULL, *more;
	size_t n = 0, cap = 0, k;
	uint32_t now = kv_now();
	unsigned int i;

	if (listen_fd >= 0) {
		sock_addr(listen_fd, false, addr, sizeof(addr));
		fprintf(f, "STAT %d:addr %s\r\n", listen_fd, addr);
		fprintf(f, "STAT %d:state conn_listening\r\n", listen_fd);
		fprintf(f, "STAT %d:secs_since_last_cmd %u\r\n", listen_fd,
			now - 2);
	}
	for (i = 0; i < kv_nworkers; i++) {
		struct kv_worker *w = &kv_workers[i];
		struct kv_conn *c;

		pthread_mutex_lock(&w->conns_lock);
		for (c = w->conns; c; c = c->next) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				more = realloc(lines, cap * sizeof(*lines));
				if (!more)
					break;
				lines = more;
			}
			sock_addr(c->fd, true, peer, sizeof(peer));
			sock_addr(c->fd, false, addr, sizeof(addr));
			lines[n].fd = c->fd;
			if (asprintf(&lines[n].text,
				     "STAT %d:addr %s\r\n"
				     "STAT %d:listen_addr %s\r\n"
				     "STAT %d:state %s\r\n"
				     "STAT %d:secs_since_last_cmd %u\r\n",
				     c->fd, peer, c->fd, addr, c->fd,
				     conn_state_name(c, c == self), c->fd,
				     now - __atomic_load_n(&c->last_active,
							   __ATOMIC_RELAXED)) <
			    0)
				break;
			n++;
		}
		pthread_mutex_unlock(&w->conns_lock);
	}
	if (n)
		qsort(lines, n, sizeof(*lines), conn_line_cmp);
	for (k = 0; k < n; k++) {
		fputs(lines[k].text, f);
		free(lines[k].text);
	}
	free(lines);
}

/* The acceptor: give @fd to the next worker; -1 if its pipe is full. */
int worker_hand_off(int fd)
{
	static unsigned int next; /* the acceptor thread only */
	struct kv_worker *w = &kv_workers[next++ % kv_nworkers];

	return write(w->pipe_wr, &fd, sizeof(fd)) == sizeof(fd) ? 0 : -1;
}
