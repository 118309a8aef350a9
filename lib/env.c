// SPDX-License-Identifier: MIT
/*
 * env.c - the USLAB_* environment variables, every one parsed here, once,
 * at library start-up, into struct uslab_env (internal.h), which the
 * layers read: USLAB_DEBUG (debug.c's flags for every cache),
 * USLAB_REAP_MS (the reaper, cache.c), USLAB_FAKE_NUMA (topology.c),
 * USLAB_PERCPU (rseq.c), USLAB_EXPORT (export.c; read again in a
 * forked child, which starts its own export), USLAB_MEMORY_LIMIT
 * (reclaim.c), USLAB_PASSTHROUGH (cache.c, passthrough.c),
 * USLAB_FAILSLAB with USLAB_FAILSLAB_FILTER (failslab.c) and
 * USLAB_DEFER_MS (cache.c, under libuslab-malloc.so).
 * Documentation/configuration.md lists the values each accepts.
 *
 * Numbers are strict: decimal digits only, within the variable's range.
 * A sign, a space, a suffix, an empty value or a number out of range is
 * reported on stderr in one line naming the variable and what it
 * expects, and the default is used.
 *
 * Locking: none.  uslab_env is written under the library's pthread_once
 * before any cache exists, and in a forked child, which has one thread;
 * it is read-only otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct uslab_env uslab_env;

/*
 * @v as a decimal number in [@min, @max]: digits only (no sign, no space,
 * no suffix, not empty).  False when it is anything else.
 */
static bool parse_uint(const char *v, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	unsigned long n = 0;

	if (!*v)
		return false;
	for (; *v; v++) {
		unsigned long d = (unsigned long)(*v - '0');

		if (*v < '0' || *v > '9')
			return false;
		if (d > max || n > (max - d) / 10)
			return false; /* above @max, and no overflow */
		n = n * 10 + d;
	}
	if (n < min)
		return false;
	*out = n;
	return true;
}

/*
 * USLAB_DEBUG: the kernel's slab_debug syntax, "<letters>[,<cache>...]":
 * the flags in @e->debug_flags, the cache names in @e->debug_caches
 * (empty: every cache).  Letters before a list may be none (every debug
 * flag, as "slab_debug=,dentry").
 */
static void parse_debug(const char *env, struct uslab_env *e)
{
	const char *list = env ? strchr(env, ',') : NULL;
	slab_flags_t flags = 0;

	e->debug_caches[0] = '\0';
	if (!env) {
		e->debug_flags =
			IS_ENABLED(CONFIG_SLAB_DEBUG_ON) ? SLAB_DEBUG_FLAGS : 0;
		return;
	}
	if (list) {
		if (strlen(list + 1) >= sizeof(e->debug_caches) || !list[1]) {
			uslab_report("USLAB_DEBUG=%s: expected a list of cache "
				     "names of 1..%zu bytes after the letters; "
				     "no debugging",
				     env, sizeof(e->debug_caches) - 1);
			e->debug_flags = 0;
			return;
		}
		strcpy(e->debug_caches, list + 1);
	}
	if (env == list || !*env) {
		e->debug_flags = SLAB_DEBUG_FLAGS; /* like a bare slab_debug */
		return;
	}
	for (; *env && env != list; env++) {
		switch (*env) {
		case 'f':
		case 'F':
			flags |= SLAB_CONSISTENCY_CHECKS;
			break;
		case 'z':
		case 'Z':
			flags |= SLAB_RED_ZONE;
			break;
		case 'p':
		case 'P':
			flags |= SLAB_POISON;
			break;
		case 'u':
		case 'U':
			flags |= SLAB_STORE_USER;
			break;
		case 'a':
		case 'A':
			flags |= SLAB_FAILSLAB;
			break;
		case '-':
			flags = 0;
			break;
		default:
			uslab_report("USLAB_DEBUG: unknown option '%c' "
				     "ignored (use F, Z, P, U, A or -)",
				     *env);
		}
	}
	e->debug_flags = flags;
}

/*
 * The USLAB_DEBUG flags for the cache @name: all of them when no list
 * was given or @name is in it (exactly, or a "prefix*" entry starts it),
 * else none.
 */
slab_flags_t env_debug_flags(const char *name)
{
	const char *p = uslab_env.debug_caches;

	if (!*p)
		return uslab_env.debug_flags;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len && p[len - 1] == '*') {
			if (!strncmp(name, p, len - 1))
				return uslab_env.debug_flags;
		} else if (len && strlen(name) == len &&
			   !strncmp(name, p, len)) {
			return uslab_env.debug_flags;
		}
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

/*
 * Variable @name, milliseconds from 0 to an hour, @def when unset or
 * invalid: USLAB_REAP_MS (0: never reap) and USLAB_DEFER_MS (0: start
 * the threads at start-up; libuslab-malloc.so's wait before it does).
 */
static unsigned int parse_ms(const char *name, unsigned int def)
{
	const char *env = getenv(name);
	unsigned long v;

	if (!env)
		return def;
	if (!parse_uint(env, 0, 3600000UL, &v)) {
		uslab_report("%s=%s: expected milliseconds 0..3600000; "
			     "using %u",
			     name, env, def);
		return def;
	}
	return (unsigned int)v;
}

/* USLAB_FAKE_NUMA: 1..MAX_NUMNODES nodes; 0 for the real topology. */
static int parse_fake_numa(const char *env)
{
	unsigned long v;

	if (!env)
		return 0;
	if (!parse_uint(env, 1, MAX_NUMNODES, &v)) {
		uslab_report("USLAB_FAKE_NUMA=%s: expected 1..%d; using the "
			     "real topology",
			     env, MAX_NUMNODES);
		return 0;
	}
	return (int)v;
}

/* USLAB_PERCPU: rseq, lock or auto (unset and empty are auto). */
static enum percpu_want parse_percpu(const char *env)
{
	if (!env || !*env || !strcmp(env, "auto"))
		return PERCPU_WANT_AUTO;
	if (!strcmp(env, "rseq"))
		return PERCPU_WANT_RSEQ;
	if (!strcmp(env, "lock"))
		return PERCPU_WANT_LOCK;
	uslab_report("USLAB_PERCPU=%s: expected rseq, lock or auto; "
		     "using auto",
		     env);
	return PERCPU_WANT_AUTO;
}

/* USLAB_EXPORT: 0 or 1 (unset and empty are 1). */
static bool parse_export(const char *env)
{
	if (!env || !*env || !strcmp(env, "1"))
		return true;
	if (!strcmp(env, "0"))
		return false;
	uslab_report("USLAB_EXPORT=%s: expected 0 or 1; exporting", env);
	return true;
}

/*
 * USLAB_MEMORY_LIMIT: bytes, digits with at most one suffix K, M or G
 * (powers of 1024); 0 or unset for none, else at least one page and at
 * most 2^48 bytes.
 */
static unsigned long parse_memory_limit(const char *env)
{
	static const unsigned long max = 1UL << 48;
	char digits[24];
	unsigned int shift = 0;
	unsigned long v;
	size_t len;

	if (!env)
		return 0;
	len = strlen(env);
	if (len && len < sizeof(digits)) {
		switch (env[len - 1]) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		}
		memcpy(digits, env, len - (shift ? 1 : 0));
		digits[len - (shift ? 1 : 0)] = '\0';
		if (parse_uint(digits, 0, max >> shift, &v) &&
		    (v == 0 || v << shift >= PAGE_SIZE))
			return v << shift;
	}
	uslab_report("USLAB_MEMORY_LIMIT=%s: expected bytes (digits, an "
		     "optional K, M or G), 0 or 4096..2^48; no limit",
		     env);
	return 0;
}

/* USLAB_PASSTHROUGH: 0 or 1 (unset and empty are 0). */
static bool parse_passthrough(const char *env)
{
	if (!env || !*env || !strcmp(env, "0"))
		return false;
	if (!strcmp(env, "1"))
		return true;
	uslab_report("USLAB_PASSTHROUGH=%s: expected 0 or 1; slab objects as "
		     "usual",
		     env);
	return false;
}

/*
 * One number of USLAB_FAILSLAB at *@v, up to the next comma or the end
 * (*@v then moves past it), in [@min, @max]; "-1" as well when @minus.
 */
static bool failslab_field(const char **v, unsigned long min, unsigned long max,
			   bool minus, long *sv, unsigned long *uv)
{
	size_t len = strcspn(*v, ",");
	char digits[24];
	unsigned long n;

	if (len >= sizeof(digits))
		return false;
	memcpy(digits, *v, len);
	digits[len] = '\0';
	*v += len + ((*v)[len] == ',');
	if (minus && !strcmp(digits, "-1")) {
		*sv = -1;
		return true;
	}
	if (!parse_uint(digits, min, max, &n))
		return false;
	if (uv)
		*uv = n;
	else
		*sv = (long)n;
	return true;
}

/*
 * USLAB_FAILSLAB: the kernel's fault_attr boot option,
 * "<interval>,<probability>,<space>,<times>": interval and probability
 * (percent, 0..100) unsigned, space 0..INT_MAX bytes, times -1 (no
 * limit) or 0..INT_MAX.  Unset, or invalid: no failure injected.
 */
static void parse_failslab(const char *env, struct uslab_env *e)
{
	struct failslab_attr a = { 0 };
	const char *v = env;

	e->failslab = false;
	memset(&e->failslab_attr, 0, sizeof(e->failslab_attr));
	if (!env)
		return;
	if (failslab_field(&v, 0, ~0UL, false, NULL, &a.interval) &&
	    v[-1] == ',' &&
	    failslab_field(&v, 0, 100, false, NULL, &a.probability) &&
	    v[-1] == ',' &&
	    failslab_field(&v, 0, __INT_MAX__, false, &a.space, NULL) &&
	    v[-1] == ',' &&
	    failslab_field(&v, 0, __INT_MAX__, true, &a.times, NULL) &&
	    v[-1] != ',') {
		e->failslab = true;
		e->failslab_attr = a;
		return;
	}
	uslab_report("USLAB_FAILSLAB=%s: expected <interval>,<probability "
		     "0..100>,<space 0..2147483647>,<times -1..2147483647>; "
		     "no failure injected",
		     env);
}

/* USLAB_FAILSLAB_FILTER: 0 or 1 (unset and empty are 0). */
static bool parse_failslab_filter(const char *env)
{
	if (!env || !*env || !strcmp(env, "0"))
		return false;
	if (!strcmp(env, "1"))
		return true;
	uslab_report("USLAB_FAILSLAB_FILTER=%s: expected 0 or 1; every cache "
		     "may fail",
		     env);
	return false;
}

/* Parse the environment into @e, reporting what is invalid. */
void env_parse(struct uslab_env *e)
{
	parse_debug(getenv("USLAB_DEBUG"), e);
	e->reap_ms = parse_ms("USLAB_REAP_MS", CONFIG_REAP_INTERVAL_MS);
	e->fake_numa = parse_fake_numa(getenv("USLAB_FAKE_NUMA"));
	e->percpu = parse_percpu(getenv("USLAB_PERCPU"));
	e->export = parse_export(getenv("USLAB_EXPORT"));
	e->memory_limit = parse_memory_limit(getenv("USLAB_MEMORY_LIMIT"));
	e->passthrough = parse_passthrough(getenv("USLAB_PASSTHROUGH"));
	parse_failslab(getenv("USLAB_FAILSLAB"), e);
	e->failslab_filter =
		parse_failslab_filter(getenv("USLAB_FAILSLAB_FILTER"));
	e->defer_ms = parse_ms("USLAB_DEFER_MS", 1000);
}

/* At library start-up, before any layer reads uslab_env. */
void env_init(void)
{
	env_parse(&uslab_env);
}

/* In a forked child, before it starts its own export. */
void env_fork_child(void)
{
	uslab_env.export = parse_export(getenv("USLAB_EXPORT"));
}
