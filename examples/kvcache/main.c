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
#include <grp.h>
#include <netinet/in.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
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
	.unix_mask = 0700,
	.backlog = LISTEN_BACKLOG,
	.slab_automove_window = 30,
	.prefix_delimiter = ':',
	.watcher_logbuf_size = 256 << 10,
	.worker_logbuf_size = 64 << 10,
};

int64_t kv_started;
uint32_t kv_clock = 2;
bool kv_stopping;

static time_t mono_start;
static int main_ep, listen_fd = -1;
int kv_listen_fd = -1; /* listen_fd, for "stats conns" */
static int spare_fd = -1; /* given up to refuse a client past RLIMIT_NOFILE */
static bool accept_paused;
unsigned long kv_listen_disabled; /* accept pauses, atomic: "stats" */
uint64_t kv_listen_disabled_us; /* their total length, atomic: "stats" */
static struct timespec paused_at; /* when accepts last paused */

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
		"usage: kvcache [options]   (memcached 1.6.18's options)\n"
		"  -p, --port=PORT             TCP port to listen on, 0 for any "
		"(default: 11211)\n"
		"  -s, --unix-socket=PATH      UNIX socket to listen on "
		"(disables TCP)\n"
		"  -a, --unix-mask=MASK        access mask for the UNIX socket, "
		"in octal (default: 700)\n"
		"  -A, --enable-shutdown       enable the \"shutdown\" "
		"command\n"
		"  -l, --listen=ADDR           address to listen on "
		"(default: 127.0.0.1)\n"
		"  -u, --user=USER             run as USER (when started as "
		"root)\n"
		"  -c, --conn-limit=MAXCONNS   most simultaneous connections "
		"(default: 1024)\n"
		"  -m, --memory-limit=MB       memory of all slabs (items, "
		"hash table, buffers),\n"
		"                              in megabytes (default: 64)\n"
		"  -t, --threads=THREADS       worker threads "
		"(default: one per CPU)\n"
		"  -I, --max-item-size=SIZE    largest item, bytes or with k/m "
		"(default: 1m, min: 1k, max: %um)\n"
		"  -f, --slab-growth-factor=F  size class growth factor "
		"(default: %.2f)\n"
		"  -b, --listen-backlog=N      listen backlog (default: 1024)\n"
		"  -B, --protocol=NAME         ascii, binary or auto "
		"(default: auto)\n"
		"  -M, --disable-evictions     out of memory: refuse to store "
		"instead of evicting\n"
		"  -C, --disable-cas           no CAS: gets returns 0, cas "
		"answers EXISTS\n"
		"  -R, --max-reqs-per-event=N  requests a connection may run "
		"per event before\n"
		"                              yielding (default: no limit; "
		"4 reads per event)\n"
		"  -F, --disable-flush-all     refuse flush_all\n"
		"  -D CHAR                     key prefix delimiter for stats "
		"detail, which it\n"
		"                              turns on (default: ':', off)\n"
		"  -r, --enable-coredumps      raise the core file limit\n"
		"  -k, --lock-memory           lock all memory (mlockall)\n"
		"  -v, --verbose               verbose (-vv: also every "
		"command)\n"
		"  -o, --extended=OPT,...      idle_timeout=SECONDS; also "
		"accepted, reported by\n"
		"                              stats settings (README: what "
		"each does here):\n"
		"                              maxconns_fast, modern, "
		"no_modern, no_lru_crawler,\n"
		"                              no_lru_maintainer, "
		"slab_reassign, no_slab_reassign,\n"
		"                              slab_automove[=0..2], "
		"slab_automove_window=N,\n"
		"                              slab_chunk_max=N, "
		"read_buf_mem_limit=MB,\n"
		"                              watcher_logbuf_size=KB, "
		"worker_logbuf_size=KB\n"
		"  -U, --udp-port=0            (UDP is not supported; only 0 is "
		"accepted)\n"
		"  -X, --disable-dumping       refuse stats cachedump and "
		"lru_crawler metadump\n"
		"  -W, --disable-watch         refuse the watch command\n"
		"  -P, --pidfile=FILE          (used with -d only, as in "
		"memcached: accepted)\n"
		"  -V, --version               print the version and exit\n"
		"  -i, --license               print the license and exit\n"
		"  -h, --help                  print this help and exit\n"
		"Refused, with the reason: -d, -n, -L, -S, -Y, "
		"-e, -Z, -N.\n",
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

/*
 * memcached options kvcache refuses, and why.  Anything asking for what
 * kvcache does anyway is accepted instead (-U 0, -X, -W, -P).
 */
static const char *refused(int opt)
{
	switch (opt) {
	case 'd':
		return "daemon mode is not supported: run kvcache under a "
		       "supervisor";
	case 'n':
		return "the smallest item class is fixed (64 bytes)";
	case 'L':
		return "large pages are uslab's business, not an option";
	case 'S':
	case 'Y':
		return "authentication (SASL, auth file) is not supported";
	case 'e':
		return "a memory file (restartable cache) is not supported";
	case 'Z':
		return "TLS is not supported";
	case 'N':
		return "NAPI thread selection is not supported";
	}
	return NULL;
}

/* A number for -o NAME=VAL in [min, max], or -1 with the reason said. */
static int suboption_ulong(const char *name, const char *val, unsigned long min,
			   unsigned long max, unsigned long *v)
{
	if (val && parse_ulong(val, min, max, v))
		return 0;
	fprintf(stderr, "kvcache: -o %s=%s: needs a number from %lu to %lu\n",
		name, val ? val : "", min, max);
	return -1;
}

/*
 * -o a,b=c,...: idle_timeout, or memcached's options that size or tune
 * what kvcache does its own way: checked as memcached checks them and
 * reported by "stats settings" (README, "Options", says what each does
 * here).
 */
static int parse_extended(char *arg)
{
	static const char *const noop[] = {
		"maxconns_fast",    "no_lru_crawler", "no_lru_maintainer",
		"no_slab_reassign", "slab_reassign",  "modern",
	};
	char *save = NULL, *o;

	for (o = strtok_r(arg, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *val = strchr(o, '=');
		unsigned long v;
		size_t i;
		bool ok = false;
		int r = 0;

		if (val)
			*val++ = 0;
		for (i = 0; i < sizeof(noop) / sizeof(noop[0]); i++)
			ok |= !val && !strcmp(o, noop[i]);
		if (!strcmp(o, "idle_timeout")) {
			r = suboption_ulong(o, val, 0, 86400 * 365, &v);
			settings.idle_timeout = (unsigned int)v;
			ok = true;
		} else if (!strcmp(o, "no_modern") && !val) {
			/* memcached's 1.5 defaults: no page mover. */
			settings.no_modern = true;
			settings.slab_automove = 0;
			ok = true;
		} else if (!strcmp(o, "slab_automove")) {
			/* Reported only: pages always move between classes. */
			v = 1;
			if (val)
				r = suboption_ulong(o, val, 0, 2, &v);
			settings.slab_automove = (unsigned int)v;
			ok = true;
		} else if (!strcmp(o, "slab_automove_window")) {
			r = suboption_ulong(o, val, 3, UINT_MAX, &v);
			settings.slab_automove_window = (unsigned int)v;
			ok = true;
		} else if (!strcmp(o, "slab_chunk_max")) {
			/* Checked against -I once every option is read. */
			r = suboption_ulong(o, val, 1, KV_SLAB_PAGE, &v);
			settings.slab_chunk_max = (unsigned int)v;
			ok = true;
		} else if (!strcmp(o, "watcher_logbuf_size") ||
			   !strcmp(o, "worker_logbuf_size")) {
			/* Kilobytes, as memcached's. */
			r = suboption_ulong(o, val, 0, UINT_MAX >> 10, &v);
			*(o[1] == 'a' ? &settings.watcher_logbuf_size :
					&settings.worker_logbuf_size) =
				(unsigned int)v << 10;
			ok = true;
		} else if (!strcmp(o, "read_buf_mem_limit")) {
			/* Megabytes, as memcached's. */
			r = suboption_ulong(o, val, 0, UINT_MAX >> 20, &v);
			settings.read_buf_mem_limit = v << 20;
			ok = true;
		}
		if (r)
			return -1;
		if (!ok) {
			fprintf(stderr,
				"kvcache: -o %s%s%s: not supported by kvcache\n",
				o, val ? "=" : "", val ? val : "");
			return -1;
		}
	}
	return 0;
}

/*
 * memcached's checks of -I and -o slab_chunk_max, made once every option
 * is read: -I at most half of -m; a chunk size that divides -I and
 * memcached's 1 MiB page.  kvcache's own chunk size stays KV_TOP_CHUNK.
 */
static int check_item_max(void)
{
	unsigned int chunk = settings.slab_chunk_max;

	if (settings.item_max > settings.maxbytes / 2) {
		fprintf(stderr,
			"kvcache: -I %u: cannot be more than half of "
			"-m\n",
			settings.item_max);
		return -1;
	}
	if (!chunk)
		return 0;
	if (chunk > settings.item_max || settings.item_max % chunk ||
	    KV_SLAB_PAGE % chunk) {
		fprintf(stderr,
			"kvcache: -o slab_chunk_max=%u: must divide -I (%u) "
			"and %u\n",
			chunk, settings.item_max, KV_SLAB_PAGE);
		return -1;
	}
	return 0;
}

static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "udp-port", required_argument, NULL, 'U' },
		{ "unix-socket", required_argument, NULL, 's' },
		{ "unix-mask", required_argument, NULL, 'a' },
		{ "enable-shutdown", no_argument, NULL, 'A' },
		{ "enable-ssl", no_argument, NULL, 'Z' },
		{ "listen", required_argument, NULL, 'l' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "enable-coredumps", no_argument, NULL, 'r' },
		{ "user", required_argument, NULL, 'u' },
		{ "memory-limit", required_argument, NULL, 'm' },
		{ "disable-evictions", no_argument, NULL, 'M' },
		{ "conn-limit", required_argument, NULL, 'c' },
		{ "lock-memory", no_argument, NULL, 'k' },
		{ "verbose", optional_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "license", no_argument, NULL, 'i' },
		{ "version", no_argument, NULL, 'V' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "slab-growth-factor", required_argument, NULL, 'f' },
		{ "slab-min-size", required_argument, NULL, 'n' },
		{ "enable-largepages", no_argument, NULL, 'L' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-reqs-per-event", required_argument, NULL, 'R' },
		{ "disable-cas", no_argument, NULL, 'C' },
		{ "listen-backlog", required_argument, NULL, 'b' },
		{ "protocol", required_argument, NULL, 'B' },
		{ "max-item-size", required_argument, NULL, 'I' },
		{ "enable-sasl", no_argument, NULL, 'S' },
		{ "disable-flush-all", no_argument, NULL, 'F' },
		{ "disable-dumping", no_argument, NULL, 'X' },
		{ "disable-watch", no_argument, NULL, 'W' },
		{ "auth-file", required_argument, NULL, 'Y' },
		{ "memory-file", required_argument, NULL, 'e' },
		{ "extended", required_argument, NULL, 'o' },
		{ "napi_ids", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv,
				  "a:AZp:s:U:m:Mc:khiVrvdl:u:P:f:n:t:D:LR:Cb:B:"
				  "I:SFXWY:e:o:N:",
				  longopts, NULL)) != -1) {
		const char *why = refused(opt);

		if (why) {
			fprintf(stderr, "kvcache: -%c: %s\n", opt, why);
			return -1;
		}
		switch (opt) {
		case 'p':
			if (!parse_ulong(optarg, 0, 65535, &v))
				goto bad;
			settings.port = (int)v;
			break;
		case 'U':
			if (!parse_ulong(optarg, 0, 0, &v)) {
				fprintf(stderr,
					"kvcache: -U %s: UDP is not "
					"supported (only -U 0)\n",
					optarg);
				return -1;
			}
			break;
		case 's':
			settings.socketpath = optarg;
			break;
		case 'a':
			v = strtoul(optarg, &end, 8);
			if (*end || end == optarg || v > 0777)
				goto bad;
			settings.unix_mask = (unsigned int)v;
			break;
		case 'A':
			settings.shutdown_enabled = true;
			break;
		case 'l':
			settings.addr = optarg;
			break;
		case 'r':
			settings.coredumps = true;
			break;
		case 'u':
			settings.user = optarg;
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
		case 'k':
			settings.lock_memory = true;
			break;
		case 't':
			if (!parse_ulong(optarg, 1, 1024, &v))
				goto bad;
			settings.nthreads = (unsigned int)v;
			break;
		case 'b':
			if (!parse_ulong(optarg, 1, 65535, &v))
				goto bad;
			settings.backlog = (int)v;
			break;
		case 'B':
			if (!strcmp(optarg, "auto"))
				settings.protocol = KV_PROTO_NONE;
			else if (!strcmp(optarg, "ascii"))
				settings.protocol = KV_PROTO_TEXT;
			else if (!strcmp(optarg, "binary"))
				settings.protocol = KV_PROTO_BIN;
			else
				goto bad;
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
		case 'F':
			settings.flush_disabled = true;
			break;
		case 'X':
			settings.dump_disabled = true;
			break;
		case 'M':
			settings.evictions_disabled = true;
			break;
		case 'C':
			settings.cas_disabled = true;
			break;
		case 'R':
			if (!parse_ulong(optarg, 1, UINT_MAX, &v)) {
				fprintf(stderr,
					"kvcache: -R %s: the requests per "
					"event must be above 0\n",
					optarg);
				return -1;
			}
			settings.reqs_per_event = (unsigned int)v;
			break;
		case 'D':
			/* memcached: the delimiter, and detail on from start. */
			if (!optarg[0])
				goto bad;
			settings.prefix_delimiter = optarg[0];
			kv_detail_enabled = true;
			break;
		case 'W':
			settings.watch_disabled = true;
			break;
		case 'P':
			break;
		case 'o':
			if (parse_extended(optarg))
				return -1;
			break;
		case 'v':
			settings.verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("kvcache %s\n", KV_VERSION);
			exit(0);
		case 'i':
			printf("kvcache: a memcached-compatible server on uslab, "
			       "MIT license (SPDX-License-Identifier: MIT)\n");
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
	if (check_item_max())
		return -1;
	if (settings.port == 0 && settings.socketpath == NULL &&
	    !getenv("MEMCACHED_PORT_FILENAME"))
		fprintf(stderr, "kvcache: -p 0: listening on a port of the "
				"kernel's choice; set MEMCACHED_PORT_FILENAME "
				"to learn it\n");
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
	rlim_t want = (rlim_t)settings.maxconns + KV_RESERVED_FDS;
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

/*
 * memcached's MEMCACHED_PORT_FILENAME: "TCP INET: <port>" (or INET6)
 * for the port listened on, written to FILE.lck and renamed to FILE, so
 * that whoever started the server with -p 0 learns the port.
 */
static int write_port_file(int fd)
{
	const char *name = getenv("MEMCACHED_PORT_FILENAME");
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char tmp[4096];
	FILE *f;
	int port;

	if (!name)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	port = ntohs(ss.ss_family == AF_INET6 ?
			     ((struct sockaddr_in6 *)&ss)->sin6_port :
			     ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(tmp, sizeof(tmp), "%s.lck", name);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "TCP %s: %d\n", ss.ss_family == AF_INET6 ? "INET6" : "INET",
		port);
	if (fclose(f))
		return -1;
	return rename(tmp, name);
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
		    !listen(fd, settings.backlog))
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
	else if (write_port_file(fd) < 0)
		fprintf(stderr, "kvcache: cannot write the port file: %m\n");
	return fd;
}

/* -s: a UNIX socket (memcached then listens on no TCP port). */
static int unix_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, err;

	if (strlen(settings.socketpath) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "kvcache: -s %s: path too long\n",
			settings.socketpath);
		return -1;
	}
	strcpy(sa.sun_path, settings.socketpath);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A socket file left by an earlier run, as memcached removes it. */
	unlink(settings.socketpath);
	old = umask(~settings.unix_mask & 0777);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	      listen(fd, settings.backlog);
	umask(old);
	if (err) {
		fprintf(stderr, "kvcache: cannot listen on %s: %m\n",
			settings.socketpath);
		close(fd);
		return -1;
	}
	return fd;
}

static int ep_add(int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(main_ep, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * -u, -r and -k, once the socket is bound (a low port may need root).
 * -u is ignored unless started as root, as in memcached; unlike
 * memcached, kvcache started as root without -u stays root.
 */
static int drop_privileges(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct passwd *pw;

	if (settings.coredumps && setrlimit(RLIMIT_CORE, &rl) &&
	    !getrlimit(RLIMIT_CORE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_CORE, &rl);
	}
	if (settings.lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE))
		kv_log("kvcache: -k: mlockall: %m; continuing unlocked");
	if (!settings.user || (getuid() != 0 && geteuid() != 0))
		return 0;
	pw = getpwnam(settings.user);
	if (!pw) {
		fprintf(stderr, "kvcache: -u %s: no such user\n",
			settings.user);
		return -1;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		fprintf(stderr, "kvcache: -u %s: cannot switch user: %m\n",
			settings.user);
		return -1;
	}
	return 0;
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
				clock_gettime(CLOCK_MONOTONIC, &paused_at);
				/* Relaxed: a statistic. */
				__atomic_fetch_add(&kv_listen_disabled, 1,
						   __ATOMIC_RELAXED);
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
	if (accept_paused && !ep_add(listen_fd, EV_LISTEN)) {
		accept_paused = false;
		/* Relaxed: a statistic. */
		__atomic_fetch_add(
			&kv_listen_disabled_us,
			(uint64_t)((ts.tv_sec - paused_at.tv_sec) * 1000000 +
				   (ts.tv_nsec - paused_at.tv_nsec) / 1000),
			__ATOMIC_RELAXED);
	}
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
	listen_fd = settings.socketpath ? unix_socket() : listen_socket();
	kv_listen_fd = listen_fd;
	if (listen_fd < 0 || drop_privileges() < 0)
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
	detail_free_all();
	close(tfd);
	close(sfd);
	close(main_ep);
	return 0;
}
