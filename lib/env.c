// SPDX-License-Identifier: MIT
/*
 * env.c - the USLAB_* environment variables, every one parsed here, once,
 * at library start-up, into struct uslab_env (internal.h), which the
 * layers read: USLAB_DEBUG (debug.c's flags for every cache),
 * USLAB_REAP_MS (the reaper, cache.c), USLAB_FAKE_NUMA (topology.c),
 * USLAB_PERCPU (rseq.c), USLAB_EXPORT (export.c; read again in a
 * forked child, which starts its own export), USLAB_MEMORY_LIMIT
 * (reclaim.c) and USLAB_PASSTHROUGH (cache.c, passthrough.c).
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

/* USLAB_DEBUG: the kernel's slab_debug letters. */
static slab_flags_t parse_debug(const char *env)
{
	slab_flags_t flags = 0;

	if (!env)
		return IS_ENABLED(CONFIG_SLAB_DEBUG_ON) ? SLAB_DEBUG_FLAGS : 0;
	if (!*env)
		return SLAB_DEBUG_FLAGS; /* like a bare slab_debug */
	for (; *env; env++) {
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
		case '-':
			flags = 0;
			break;
		default:
			uslab_report("USLAB_DEBUG: unknown option '%c' "
				     "ignored (use F, Z, P, U or -)",
				     *env);
		}
	}
	return flags;
}

/* USLAB_REAP_MS: milliseconds, 0 (never) to an hour. */
static unsigned int parse_reap_ms(const char *env)
{
	unsigned int def = CONFIG_REAP_INTERVAL_MS;
	unsigned long v;

	if (!env)
		return def;
	if (!parse_uint(env, 0, 3600000UL, &v)) {
		uslab_report("USLAB_REAP_MS=%s: expected milliseconds "
			     "0..3600000; using %u",
			     env, def);
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

/* Parse the environment into @e, reporting what is invalid. */
void env_parse(struct uslab_env *e)
{
	e->debug_flags = parse_debug(getenv("USLAB_DEBUG"));
	e->reap_ms = parse_reap_ms(getenv("USLAB_REAP_MS"));
	e->fake_numa = parse_fake_numa(getenv("USLAB_FAKE_NUMA"));
	e->percpu = parse_percpu(getenv("USLAB_PERCPU"));
	e->export = parse_export(getenv("USLAB_EXPORT"));
	e->memory_limit = parse_memory_limit(getenv("USLAB_MEMORY_LIMIT"));
	e->passthrough = parse_passthrough(getenv("USLAB_PASSTHROUGH"));
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
