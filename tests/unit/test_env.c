// SPDX-License-Identifier: MIT
/*
 * Unit tests of lib/env.c: every USLAB_* variable, valid values and junk.
 * Junk is reported in one line naming the variable and the default is
 * used; numbers take decimal digits only (no sign, space or suffix).
 */
#include "common.h"

#include "internal.h"

/* Parse with @name set to @value (NULL: unset); what was reported in @c. */
static struct uslab_env parse_with(const char *name, const char *value,
				   struct capture *c)
{
	struct uslab_env e;

	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
	capture_begin(c);
	env_parse(&e);
	capture_end(c);
	unsetenv(name);
	return e;
}

/*
 * @name=@value is refused: one line naming it and @expected.  @name may
 * be a variable.
 */
#define ck_assert_refused(c, name, value, expected)                     \
	do {                                                            \
		char prefix_[96];                                       \
                                                                        \
		snprintf(prefix_, sizeof(prefix_), "uslab: %s=", name); \
		ck_assert_int_eq((c)->lines, 1);                        \
		ck_assert_reported(c, prefix_);                         \
		ck_assert_reported(c, value);                           \
		ck_assert_reported(c, expected);                        \
	} while (0)

static const char *const bad_numbers[] = {
	" 2",
	"2 ",
	"+5",
	"-1",
	"2x",
	"0x10",
	"1e3",
	"",
	"99999999999",
	"18446744073709551617",
	"99999999999999999999999999999999",
};

static void clear_all(void)
{
	unsetenv("USLAB_DEBUG");
	unsetenv("USLAB_REAP_MS");
	unsetenv("USLAB_FAKE_NUMA");
	unsetenv("USLAB_PERCPU");
	unsetenv("USLAB_EXPORT");
	unsetenv("USLAB_MEMORY_LIMIT");
	unsetenv("USLAB_PASSTHROUGH");
	unsetenv("USLAB_FAILSLAB");
	unsetenv("USLAB_FAILSLAB_FILTER");
	unsetenv("USLAB_DEFER_MS");
}

START_TEST(test_defaults)
{
	struct uslab_env e;
	struct capture c;

	clear_all();
	e = parse_with("USLAB_REAP_MS", NULL, &c);
	ck_assert_str_eq(c.text, "");
	ck_assert_uint_eq(e.debug_flags, IS_ENABLED(CONFIG_SLAB_DEBUG_ON) ?
						 SLAB_DEBUG_FLAGS :
						 0);
	ck_assert_uint_eq(e.reap_ms, CONFIG_REAP_INTERVAL_MS);
	ck_assert_uint_eq(e.defer_ms, 1000);
	ck_assert_int_eq(e.fake_numa, 0);
	ck_assert_int_eq(e.percpu, PERCPU_WANT_AUTO);
	ck_assert(e.export);
	ck_assert_uint_eq(e.memory_limit, 0);
	ck_assert(!e.passthrough);
	ck_assert(!e.failslab);
	ck_assert(!e.failslab_filter);
	ck_assert_str_eq(e.debug_caches, "");
}
END_TEST

START_TEST(test_failslab)
{
	static const char *const bad[] = {
		"",
		"1",
		"1,100",
		"1,100,0",
		"1,100,0,10,",
		"1,100,0,10,5",
		",100,0,10",
		"1,,0,10",
		"1,100,,10",
		"1,100,0,",
		"1,101,0,10",
		"1,100,-1,10",
		"1,100,0,-2",
		"1,100,0,2147483648",
		"1,100,2147483648,1",
		"-1,100,0,10",
		"1, 100,0,10",
		"1,100,0,10 ",
		"1;100;0;10",
		"0x1,100,0,10",
		"18446744073709551616,100,0,10",
		"1,100,0,1000000000000000000000000",
	};
	static const struct {
		const char *v;
		struct failslab_attr a;
	} good[] = {
		{ "1,100,0,10", { 1, 100, 0, 10 } },
		{ "0,0,0,0", { 0, 0, 0, 0 } },
		{ "7,25,4096,-1", { 7, 25, 4096, -1 } },
		{ "18446744073709551615,1,2147483647,2147483647",
		  { ~0UL, 1, 2147483647, 2147483647 } },
		{ "010,050,00,01", { 10, 50, 0, 1 } },
	};
	struct uslab_env e;
	struct capture c;
	size_t i;

	clear_all();
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		e = parse_with("USLAB_FAILSLAB", good[i].v, &c);
		ck_assert_str_eq(c.text, "");
		ck_assert(e.failslab);
		ck_assert_uint_eq(e.failslab_attr.interval, good[i].a.interval);
		ck_assert_uint_eq(e.failslab_attr.probability,
				  good[i].a.probability);
		ck_assert_int_eq(e.failslab_attr.space, good[i].a.space);
		ck_assert_int_eq(e.failslab_attr.times, good[i].a.times);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		e = parse_with("USLAB_FAILSLAB", bad[i], &c);
		ck_assert_msg(!e.failslab, "USLAB_FAILSLAB=%s accepted",
			      bad[i]);
		ck_assert_refused(&c, "USLAB_FAILSLAB", bad[i],
				  "expected <interval>,<probability 0..100>,"
				  "<space 0..2147483647>,<times "
				  "-1..2147483647>; no failure injected");
	}

	e = parse_with("USLAB_FAILSLAB_FILTER", "1", &c);
	ck_assert(e.failslab_filter);
	e = parse_with("USLAB_FAILSLAB_FILTER", "0", &c);
	ck_assert(!e.failslab_filter);
	e = parse_with("USLAB_FAILSLAB_FILTER", "", &c);
	ck_assert(!e.failslab_filter);
	ck_assert_str_eq(c.text, "");
	e = parse_with("USLAB_FAILSLAB_FILTER", "yes", &c);
	ck_assert(!e.failslab_filter);
	ck_assert_refused(&c, "USLAB_FAILSLAB_FILTER", "yes",
			  "expected 0 or 1; every cache may fail");
}
END_TEST

START_TEST(test_memory_limit)
{
	static const char *const bad[] = {
		"4095",
		"1k",
		"1KB",
		"K",
		"M1",
		"+4096",
		"-1",
		" 4096",
		"4096 ",
		"0x1000",
		"1.5G",
		"262145G",
		"281474976710657",
		"",
	};
	static const struct {
		const char *v;
		unsigned long bytes;
	} good[] = {
		{ "0", 0 },
		{ "4096", 4096 },
		{ "0K", 0 },
		{ "4K", 4096 },
		{ "32M", 32UL << 20 },
		{ "2G", 2UL << 30 },
		{ "262144G", 1UL << 48 },
		{ "281474976710656", 1UL << 48 },
		{ "000012345678", 12345678 },
	};
	struct uslab_env e;
	struct capture c;
	size_t i;

	clear_all();
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		e = parse_with("USLAB_MEMORY_LIMIT", good[i].v, &c);
		ck_assert_uint_eq(e.memory_limit, good[i].bytes);
		ck_assert_str_eq(c.text, "");
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		e = parse_with("USLAB_MEMORY_LIMIT", bad[i], &c);
		ck_assert_uint_eq(e.memory_limit, 0);
		ck_assert_refused(&c, "USLAB_MEMORY_LIMIT", bad[i],
				  "expected bytes (digits, an optional K, M "
				  "or G), 0 or 4096..2^48; no limit");
	}
	for (i = 0; i < ARRAY_SIZE(bad_numbers); i++) {
		e = parse_with("USLAB_MEMORY_LIMIT", bad_numbers[i], &c);
		if (!strcmp(bad_numbers[i], "99999999999")) {
			ck_assert_uint_eq(e.memory_limit, 99999999999UL);
			continue; /* a valid number of bytes */
		}
		ck_assert_uint_eq(e.memory_limit, 0);
		ck_assert_int_eq(c.lines, 1);
	}
}
END_TEST

/*
 * A variable of milliseconds, 0 to an hour (parse_ms()): the figure
 * read into the field at @off of struct uslab_env, @def when refused.
 */
static void check_ms_variable(const char *name, size_t off, unsigned int def)
{
	static const struct {
		const char *text;
		unsigned int ms;
	} good[] = { { "0", 0 },
		     { "250", 250 },
		     { "3600000", 3600000 },
		     { "007", 7 },
		     { "050", 50 } };
	char using[64];
	struct uslab_env e;
	const unsigned int *ms = (const unsigned int *)((char *)&e + off);
	struct capture c;
	size_t i;

	clear_all();
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		e = parse_with(name, good[i].text, &c);
		ck_assert_uint_eq(*ms, good[i].ms);
		ck_assert_str_eq(c.text, "");
	}
	snprintf(using, sizeof(using),
		 "expected milliseconds 0..3600000; using %u", def);
	for (i = 0; i <= ARRAY_SIZE(bad_numbers); i++) {
		const char *bad = i < ARRAY_SIZE(bad_numbers) ? bad_numbers[i] :
								"3600001";

		e = parse_with(name, bad, &c);
		ck_assert_uint_eq(*ms, def);
		ck_assert_refused(&c, name, bad, using);
	}
}

START_TEST(test_reap_ms)
{
	check_ms_variable("USLAB_REAP_MS", offsetof(struct uslab_env, reap_ms),
			  CONFIG_REAP_INTERVAL_MS);
}
END_TEST

START_TEST(test_defer_ms)
{
	check_ms_variable("USLAB_DEFER_MS",
			  offsetof(struct uslab_env, defer_ms), 1000);
}
END_TEST

START_TEST(test_fake_numa)
{
	struct uslab_env e;
	struct capture c;
	char max[16], above[16];
	size_t i;

	clear_all();
	snprintf(max, sizeof(max), "%d", MAX_NUMNODES);
	snprintf(above, sizeof(above), "%d", MAX_NUMNODES + 1);
	e = parse_with("USLAB_FAKE_NUMA", "1", &c);
	ck_assert_int_eq(e.fake_numa, 1);
	e = parse_with("USLAB_FAKE_NUMA", max, &c);
	ck_assert_int_eq(e.fake_numa, MAX_NUMNODES);
	ck_assert_str_eq(c.text, "");

	e = parse_with("USLAB_FAKE_NUMA", "0", &c);
	ck_assert_int_eq(e.fake_numa, 0);
	ck_assert_refused(&c, "USLAB_FAKE_NUMA", "0",
			  "using the real topology");
	e = parse_with("USLAB_FAKE_NUMA", above, &c);
	ck_assert_int_eq(e.fake_numa, 0);
	ck_assert_refused(&c, "USLAB_FAKE_NUMA", above,
			  "using the real topology");
	for (i = 0; i < ARRAY_SIZE(bad_numbers); i++) {
		e = parse_with("USLAB_FAKE_NUMA", bad_numbers[i], &c);
		ck_assert_int_eq(e.fake_numa, 0);
		ck_assert_refused(&c, "USLAB_FAKE_NUMA", bad_numbers[i],
				  "expected 1..");
	}
}
END_TEST

START_TEST(test_percpu)
{
	static const char *const bad[] = { "LOCK", " lock", "rseq ", "x" };
	struct uslab_env e;
	struct capture c;
	size_t i;

	clear_all();
	e = parse_with("USLAB_PERCPU", "lock", &c);
	ck_assert_int_eq(e.percpu, PERCPU_WANT_LOCK);
	e = parse_with("USLAB_PERCPU", "rseq", &c);
	ck_assert_int_eq(e.percpu, PERCPU_WANT_RSEQ);
	e = parse_with("USLAB_PERCPU", "auto", &c);
	ck_assert_int_eq(e.percpu, PERCPU_WANT_AUTO);
	e = parse_with("USLAB_PERCPU", "", &c);
	ck_assert_int_eq(e.percpu, PERCPU_WANT_AUTO);
	ck_assert_str_eq(c.text, "");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		e = parse_with("USLAB_PERCPU", bad[i], &c);
		ck_assert_int_eq(e.percpu, PERCPU_WANT_AUTO);
		ck_assert_refused(&c, "USLAB_PERCPU", bad[i],
				  "expected rseq, lock or auto; using auto");
	}
}
END_TEST

START_TEST(test_export)
{
	static const char *const bad[] = { " 0", "+0", "00", "2", "no" };
	struct uslab_env e;
	struct capture c;
	size_t i;

	clear_all();
	e = parse_with("USLAB_EXPORT", "0", &c);
	ck_assert(!e.export);
	e = parse_with("USLAB_EXPORT", "1", &c);
	ck_assert(e.export);
	e = parse_with("USLAB_EXPORT", "", &c);
	ck_assert(e.export);
	ck_assert_str_eq(c.text, "");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		e = parse_with("USLAB_EXPORT", bad[i], &c);
		ck_assert(e.export);
		ck_assert_refused(&c, "USLAB_EXPORT", bad[i],
				  "expected 0 or 1; exporting");
	}
}
END_TEST

START_TEST(test_passthrough)
{
	static const char *const bad[] = { " 1",  "1 ",	  "+1", "01", "2",
					   "yes", "true", "on", "-1" };
	struct uslab_env e;
	struct capture c;
	size_t i;

	clear_all();
	e = parse_with("USLAB_PASSTHROUGH", "1", &c);
	ck_assert(e.passthrough);
	e = parse_with("USLAB_PASSTHROUGH", "0", &c);
	ck_assert(!e.passthrough);
	e = parse_with("USLAB_PASSTHROUGH", "", &c);
	ck_assert(!e.passthrough);
	ck_assert_str_eq(c.text, "");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		e = parse_with("USLAB_PASSTHROUGH", bad[i], &c);
		ck_assert(!e.passthrough);
		ck_assert_refused(&c, "USLAB_PASSTHROUGH", bad[i],
				  "expected 0 or 1; slab objects as usual");
	}
}
END_TEST

START_TEST(test_debug)
{
	struct uslab_env e;
	struct capture c;

	clear_all();
	e = parse_with("USLAB_DEBUG", "ZP", &c);
	ck_assert_uint_eq(e.debug_flags, SLAB_RED_ZONE | SLAB_POISON);
	e = parse_with("USLAB_DEBUG", "fzpu", &c);
	ck_assert_uint_eq(e.debug_flags, SLAB_DEBUG_FLAGS);
	e = parse_with("USLAB_DEBUG", "", &c);
	ck_assert_uint_eq(e.debug_flags, SLAB_DEBUG_FLAGS);
	e = parse_with("USLAB_DEBUG", "FU-", &c);
	ck_assert_uint_eq(e.debug_flags, 0);
	ck_assert_str_eq(c.text, "");

	e = parse_with("USLAB_DEBUG", "a", &c);
	ck_assert_uint_eq(e.debug_flags, SLAB_FAILSLAB);
	ck_assert_str_eq(e.debug_caches, "");
	ck_assert_str_eq(c.text, "");

	e = parse_with("USLAB_DEBUG", "Fx", &c);
	ck_assert_uint_eq(e.debug_flags, SLAB_CONSISTENCY_CHECKS);
	ck_assert_int_eq(c.lines, 1);
	ck_assert_reported(&c, "USLAB_DEBUG: unknown option 'x'");
}
END_TEST

/* The same flags for uslab_env, and env_debug_flags() for @name. */
static slab_flags_t debug_for(const char *value, const char *name)
{
	struct capture c;

	uslab_env = parse_with("USLAB_DEBUG", value, &c);
	ck_assert_str_eq(c.text, "");
	return env_debug_flags(name);
}

/* USLAB_DEBUG=<letters>,<cache>...: the flags for those caches only. */
START_TEST(test_debug_caches)
{
	char longest[ENV_DEBUG_CACHES_MAX + 8];
	struct uslab_env e;
	struct capture c;

	clear_all();
	e = parse_with("USLAB_DEBUG", "PZ,dentry,kv_*", &c);
	ck_assert_str_eq(c.text, "");
	ck_assert_uint_eq(e.debug_flags, SLAB_POISON | SLAB_RED_ZONE);
	ck_assert_str_eq(e.debug_caches, "dentry,kv_*");

	ck_assert_uint_eq(debug_for("A,dentry,kv_*", "dentry"), SLAB_FAILSLAB);
	ck_assert_uint_eq(debug_for("A,dentry,kv_*", "kv_item_64"),
			  SLAB_FAILSLAB);
	ck_assert_uint_eq(debug_for("A,dentry,kv_*", "kv_"), SLAB_FAILSLAB);
	ck_assert_uint_eq(debug_for("A,dentry,kv_*", "dentry2"), 0);
	ck_assert_uint_eq(debug_for("A,dentry,kv_*", "dentr"), 0);
	ck_assert_uint_eq(debug_for("A,dentry,kv_*", "kv"), 0);
	ck_assert_uint_eq(debug_for("A,dentry,kv_*", "inode"), 0);
	/* No letters: every debug flag, as slab_debug=,dentry. */
	ck_assert_uint_eq(debug_for(",dentry", "dentry"), SLAB_DEBUG_FLAGS);
	ck_assert_uint_eq(debug_for(",dentry", "inode"), 0);
	/* "*" alone is every cache; empty entries match nothing. */
	ck_assert_uint_eq(debug_for("U,*", "anything"), SLAB_STORE_USER);
	ck_assert_uint_eq(debug_for("U,,a,", ""), 0);
	ck_assert_uint_eq(debug_for("U,,a,", "a"), SLAB_STORE_USER);
	/* No list: every cache. */
	ck_assert_uint_eq(debug_for("U", "anything"), SLAB_STORE_USER);

	/* A trailing comma, or a list too long to keep, is refused. */
	e = parse_with("USLAB_DEBUG", "F,", &c);
	ck_assert_uint_eq(e.debug_flags, 0);
	ck_assert_refused(&c, "USLAB_DEBUG", "F,",
			  "expected a list of cache names of 1..255 bytes");
	memset(longest, 'x', sizeof(longest) - 1);
	longest[0] = 'F';
	longest[1] = ',';
	longest[sizeof(longest) - 1] = '\0';
	e = parse_with("USLAB_DEBUG", longest, &c);
	ck_assert_uint_eq(e.debug_flags, 0);
	ck_assert_int_eq(c.lines, 1);
	longest[ENV_DEBUG_CACHES_MAX] = '\0'; /* 254 bytes of list */
	e = parse_with("USLAB_DEBUG", longest, &c);
	ck_assert_str_eq(c.text, "");
	ck_assert_uint_eq(e.debug_flags, SLAB_CONSISTENCY_CHECKS);
	ck_assert_uint_eq(strlen(e.debug_caches), ENV_DEBUG_CACHES_MAX - 2);
	env_parse(&uslab_env);
}
END_TEST

/* Every bad variable at once: one line each, every default kept. */
START_TEST(test_all_junk)
{
	struct uslab_env e;
	struct capture c;

	setenv("USLAB_REAP_MS", "+5", 1);
	setenv("USLAB_FAKE_NUMA", " 2", 1);
	setenv("USLAB_PERCPU", "fast", 1);
	setenv("USLAB_EXPORT", "yes", 1);
	setenv("USLAB_DEBUG", "q", 1);
	setenv("USLAB_MEMORY_LIMIT", "12T", 1);
	setenv("USLAB_PASSTHROUGH", "y", 1);
	setenv("USLAB_FAILSLAB", "1,100", 1);
	setenv("USLAB_FAILSLAB_FILTER", "2", 1);
	capture_begin(&c);
	env_parse(&e);
	capture_end(&c);
	clear_all();
	ck_assert_int_eq(c.lines, 9);
	ck_assert(!e.failslab);
	ck_assert(!e.failslab_filter);
	ck_assert_uint_eq(e.memory_limit, 0);
	ck_assert(!e.passthrough);
	ck_assert_uint_eq(e.reap_ms, CONFIG_REAP_INTERVAL_MS);
	ck_assert_int_eq(e.fake_numa, 0);
	ck_assert_int_eq(e.percpu, PERCPU_WANT_AUTO);
	ck_assert(e.export);
	ck_assert_uint_eq(e.debug_flags, 0);
}
END_TEST

static Suite *env_suite(void)
{
	Suite *s = suite_create("unit-env");
	TCase *tc = tcase_create("env");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_reap_ms);
	tcase_add_test(tc, test_defer_ms);
	tcase_add_test(tc, test_memory_limit);
	tcase_add_test(tc, test_fake_numa);
	tcase_add_test(tc, test_percpu);
	tcase_add_test(tc, test_export);
	tcase_add_test(tc, test_passthrough);
	tcase_add_test(tc, test_debug);
	tcase_add_test(tc, test_debug_caches);
	tcase_add_test(tc, test_failslab);
	tcase_add_test(tc, test_all_junk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(env_suite());
}
