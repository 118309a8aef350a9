// SPDX-License-Identifier: MIT
/*
 * main.c - kvcache: options, start-up, the acceptor and clock thread, and
 * shutdown.
 *
 * The main thread owns the listening socket, a timerfd and a signalfd in
 * one epoll set.  It accepts every connection and hands it to the next
 * worker in turn (worker_hand_off()); the worker serves it for its whole
 * life.  Why one acceptor rather than an SO_REUSEPORT socket per worker:
 * the kernel spreads SO_REUSEPORT connections by a hash of their
 * addresses, which leaves a few long-lived connections (the usual
 * memcached client pool) unevenly spread over the workers; connections
 * queued on one worker's socket are reset when that socket closes; and
 * -c is a limit for the whole server, which one acceptor enforces without
 * any shared counter on the accept path.  The cost, one pipe write per
 * connection, is paid once per connection, and memcached clients keep
 * theirs open.  Over -c, a new connection gets memcached's "ERROR Too many
 * open connections" and is closed; so does one that arrives when the
 * process is out of descriptors (a spare descriptor, /dev/null, is given
 * up to accept it), and that is logged at most once a second.
 *
 * The clock: every 100 ms the timer updates kv_clock (seconds since start,
 * from CLOCK_MONOTONIC, plus 2 as in memcached) and runs a delayed
 * flush_all that is due.
 *
 * Shutdown: SIGTERM and SIGINT are blocked in every thread (before uslab
 * starts its own threads, which inherit the mask) and read from the
 * signalfd.  The main thread then closes the listening socket, stops the
 * workers (each closes its connections), frees every item, the hash
 * table and the buffers, destroys every cache and exits 0.
 *
 * Locking: the main thread's state is its own.  kv_clock and kv_stopping
 * are atomics written here and read everywhere (see their readers for
 * the memory order).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kvcache.h"

#define TICK_NS (100 * 1000 * 1000)
#define LISTEN_BACKLOG 1024

struct kv_settings settings = {
	.maxbytes = 64UL << 20,
	.maxconns = 1024,
	.port = 11211,
	.addr = "127.0.0.1",
	.item_max = KV_ITEM_MAX_DEFAULT,
	.factor = KV_FACTOR_DEFAULT,
};

int64_t kv_started;
uint32_t kv_clock = 2;
bool kv_stopping;

static time_t mono_start;
static int main_ep, listen_fd = -1;
static int spare_fd = -1; /* given up to refuse a client past RLIMIT_NOFILE */
static bool accept_paused;

enum { EV_LISTEN = 1, EV_SIGNAL, EV_TIMER };

void kv_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write(), so that lines of different threads do not mix. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
}

uint32_t kv_realtime(int64_t exptime)
{
	int64_t t;

	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1; /* already expired */
	if (exptime > 60 * 60 * 24 * 30) { /* absolute unix time */
		if (exptime <= kv_started)
			return 1;
		t = exptime - kv_started;
	} else {
		t = exptime + kv_now();
	}
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* ---- Options ---------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvcache [options]\n"
		"  -p, --port=PORT             TCP port to listen on "
		"(default: 11211)\n"
		"  -l, --listen=ADDR           address to listen on "
		"(default: 127.0.0.1)\n"
		"  -c, --conn-limit=MAXCONNS   most simultaneous connections "
		"(default: 1024)\n"
		"  -m, --memory-limit=MB       memory for items, in megabytes "
		"(default: 64)\n"
		"  -t, --threads=THREADS       worker threads "
		"(default: one per CPU)\n"
		"  -I, --max-item-size=SIZE    largest item, bytes or with k/m "
		"(default: 1m, min: 1k, max: %um)\n"
		"  -f, --slab-growth-factor=F  size class growth factor "
		"(default: %.2f)\n"
		"  -v, --verbose               verbose (-vv: also every "
		"command)\n"
		"  -h, --help                  print this help and exit\n",
		KV_ITEM_MAX_LIMIT >> 20, KV_FACTOR_DEFAULT);
}

static bool parse_ulong(const char *s, unsigned long min, unsigned long max,
			unsigned long *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || x < min || x > max)
		return false;
	*v = x;
	return true;
}

/* A size in bytes, or with a k or m suffix; false if it overflows. */
static bool parse_size(const char *s, unsigned long *v)
{
	unsigned int shift = 0;
	unsigned long x;
	char *end;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	if (*end == 'k' || *end == 'K')
		shift = 10, end++;
	else if (*end == 'm' || *end == 'M')
		shift = 20, end++;
	if (*end || x > ULONG_MAX >> shift)
		return false;
	*v = x << shift;
	return true;
}

static int parse_options(int argc, char **argv)
{
	unsigned long v;
	char *end;
	int opt;

	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "conn-limit", required_argument, NULL, 'c' },
		{ "memory-limit", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-item-size", required_argument, NULL, 'I' },
		{ "slab-growth-factor", required_argument, NULL, 'f' },
		{ "verbose", optional_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "p:l:c:m:t:I:f:vh", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (!parse_ulong(optarg, 1, 65535, &v))
				goto bad;
			settings.port = (int)v;
			break;
		case 'l':
			settings.addr = optarg;
			break;
		case 'c':
			if (!parse_ulong(optarg, 1, 1000000, &v))
				goto bad;
			settings.maxconns = (unsigned int)v;
			break;
		case 'm':
			if (!parse_ulong(optarg, 1, 1UL << 24, &v))
				goto bad;
			settings.maxbytes = v << 20;
			break;
		case 't':
			if (!parse_ulong(optarg, 1, 1024, &v))
				goto bad;
			settings.nthreads = (unsigned int)v;
			break;
		case 'I':
			if (!parse_size(optarg, &v) || v < 1024 ||
			    v > KV_ITEM_MAX_LIMIT)
				goto bad;
			settings.item_max = (unsigned int)v;
			break;
		case 'f':
			settings.factor = strtod(optarg, &end);
			if (*end || !(settings.factor >= 1.01) ||
			    !(settings.factor <= 2.0))
				goto bad;
			break;
		case 'v':
			settings.verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvcache: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "kvcache: bad value '%s' for -%c\n", optarg, opt);
	usage(stderr);
	return -1;
}

/* ---- Start-up --------------------------------------------------------- */

/* Enough descriptors for -c connections, raising the limit if allowed. */
static void raise_nofile(void)
{
	rlim_t want = (rlim_t)settings.maxconns + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		kv_log("kvcache: -c %u: only %llu file descriptors allowed",
		       settings.maxconns, (unsigned long long)rl.rlim_cur);
	}
}

static int listen_socket(void)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res, *ai;
	char port[8];
	int fd = -1, one = 1, err;

	snprintf(port, sizeof(port), "%d", settings.port);
	err = getaddrinfo(settings.addr, port, &hints, &res);
	if (err) {
		fprintf(stderr, "kvcache: %s: %s\n", settings.addr,
			gai_strerror(err));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) &&
		    !listen(fd, LISTEN_BACKLOG))
			break;
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "kvcache: cannot listen on %s port %d: %m\n",
			settings.addr, settings.port);
	return fd;
}

static int ep_add(int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(main_ep, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- The acceptor and the clock --------------------------------------- */

/*
 * Log @what at most once a second, with how often it happened since the
 * last line: a client retrying in a loop must not flood the log.
 */
static void log_limited(const char *what)
{
	static struct timespec last;
	static unsigned long count;
	struct timespec now;

	count++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (last.tv_sec && now.tv_sec == last.tv_sec)
		return;
	kv_log("kvcache: %s (%lu time%s)", what, count, count > 1 ? "s" : "");
	last = now;
	count = 0;
}

static void refuse(int fd)
{
	static const char full[] = "ERROR Too many open connections\r\n";

	if (write(fd, full, sizeof(full) - 1) < 0) {
		/* The client is gone already. */
	}
	close(fd);
	__atomic_fetch_add(&kv_rejected_conns, 1, __ATOMIC_RELAXED);
}

/*
 * Out of descriptors: give up the spare one to accept the client, tell it
 * why and close it, then take the spare again.  Without the spare, the
 * client would wait in the backlog with no answer.  false when there is
 * no spare (then accepts pause until the next clock tick).
 */
static bool refuse_with_spare(void)
{
	int fd;

	if (spare_fd < 0)
		return false;
	close(spare_fd);
	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		refuse(fd);
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	log_limited("out of file descriptors: connections refused");
	return fd >= 0;
}

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;
			if ((errno == EMFILE || errno == ENFILE) &&
			    refuse_with_spare())
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Try again on the next tick. */
				log_limited("accept: out of descriptors or "
					    "memory; pausing accepts");
				epoll_ctl(main_ep, EPOLL_CTL_DEL, listen_fd,
					  NULL);
				accept_paused = true;
			}
			return;
		}
		/* Relaxed: counters; only this thread adds connections. */
		if (__atomic_load_n(&kv_curr_conns, __ATOMIC_RELAXED) >=
		    settings.maxconns) {
			refuse(fd);
			continue;
		}
		__atomic_fetch_add(&kv_curr_conns, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&kv_total_conns, 1, __ATOMIC_RELAXED);
		if (worker_hand_off(fd) < 0) {
			close(fd);
			__atomic_fetch_sub(&kv_curr_conns, 1, __ATOMIC_RELAXED);
		}
	}
}

static void clock_tick(void)
{
	struct timespec ts;
	uint32_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint32_t)(ts.tv_sec - mono_start) + 2;
	/* Relaxed: see kv_now(). */
	__atomic_store_n(&kv_clock, now, __ATOMIC_RELAXED);
	item_clock_tick(now);
	if (accept_paused && !ep_add(listen_fd, EV_LISTEN))
		accept_paused = false;
}

static int timer_fd(void)
{
	struct itimerspec its = {
		.it_interval = { .tv_nsec = TICK_NS },
		.it_value = { .tv_nsec = TICK_NS },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void main_loop(int sfd, int tfd)
{
	struct epoll_event ev[8];
	int i, n;

	for (;;) {
		n = epoll_wait(main_ep, ev, 8, -1);
		if (n < 0 && errno != EINTR) {
			kv_log("kvcache: epoll_wait: %m");
			return;
		}
		for (i = 0; i < n; i++) {
			struct signalfd_siginfo si;
			uint64_t ticks;

			switch (ev[i].data.u32) {
			case EV_LISTEN:
				accept_all();
				break;
			case EV_TIMER:
				if (read(tfd, &ticks, sizeof(ticks)) > 0)
					clock_tick();
				break;
			case EV_SIGNAL:
				if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (kv_verbose())
						kv_log("kvcache: signal %u, "
						       "shutting down",
						       si.ssi_signo);
					return;
				}
				break;
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct timespec ts;
	sigset_t sigs;
	int sfd, tfd;

	if (parse_options(argc, argv))
		return 2;
	/* Before any thread exists, so that every thread inherits it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	mono_start = ts.tv_sec;
	kv_started = (int64_t)time(NULL) - 2;
	raise_nofile();

	if (items_init() < 0) {
		fprintf(stderr, "kvcache: cannot create the item caches: %m\n");
		return 1;
	}
	if (assoc_init(settings.maxbytes / KV_MIN_CHUNK) < 0 ||
	    conns_init() < 0) {
		fprintf(stderr, "kvcache: out of memory at start-up\n");
		return 1;
	}
	listen_fd = listen_socket();
	if (listen_fd < 0)
		return 1;
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	main_ep = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	tfd = timer_fd();
	if (main_ep < 0 || sfd < 0 || tfd < 0 || ep_add(listen_fd, EV_LISTEN) ||
	    ep_add(sfd, EV_SIGNAL) || ep_add(tfd, EV_TIMER)) {
		fprintf(stderr, "kvcache: cannot set up the main loop: %m\n");
		return 1;
	}
	if (workers_start() < 0) {
		fprintf(stderr, "kvcache: cannot start the workers: %m\n");
		return 1;
	}
	if (kv_verbose())
		kv_log("kvcache %s: %s port %d, %u workers, %d node(s), "
		       "%u size classes (%u..%u bytes), -m %lu MB, -c %u",
		       KV_VERSION, settings.addr, settings.port, kv_nworkers,
		       kv_nr_nodes, kv_nclasses, kv_classes[0].size,
		       kv_classes[kv_nclasses - 1].size,
		       settings.maxbytes >> 20, settings.maxconns);

	main_loop(sfd, tfd);

	close(listen_fd);
	if (spare_fd >= 0)
		close(spare_fd);
	workers_stop();
	items_free_all();
	assoc_destroy();
	conns_destroy();
	items_destroy();
	close(tfd);
	close(sfd);
	close(main_ep);
	return 0;
}
