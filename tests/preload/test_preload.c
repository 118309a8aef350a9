// SPDX-License-Identifier: MIT
/*
 * libuslab-malloc.so under LD_PRELOAD: the helper programs of
 * tests/preload/helpers (every C allocation call, threads started
 * before main, threads that exit, fork under load; C++ new and delete)
 * run to the end with uslab as their malloc, on each per-CPU path, and
 * uslab-slabtop -p shows a preloaded program's kmalloc caches live.
 * The build directory comes from USLAB_BUILD (scripts/run-tests.sh).
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

static const char *build(void)
{
	const char *b = getenv("USLAB_BUILD");

	return b ? b : "build";
}

/* Output of @cmd (run by sh) in @out; its exit status. */
static int run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

static void run_helper(const char *env, const char *helper, const char *arg,
		       const char *want)
{
	char cmd[1024], out[8192];
	int status;

	snprintf(cmd, sizeof(cmd),
		 "%s LD_PRELOAD=%s/libuslab-malloc.so %s/tests/preload/"
		 "helpers/%s %s 2>&1",
		 env, build(), build(), helper, arg);
	status = run(cmd, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: status %d, output:\n%s", cmd, status, out);
	ck_assert_msg(strstr(out, want), "%s: no \"%s\" in:\n%s", cmd, want,
		      out);
	ck_assert_msg(!strstr(out, "uslab:"), "%s reported:\n%s", cmd, out);
}

static const char *const envs[] = {
	"",
	"USLAB_PERCPU=lock",
	"GLIBC_TUNABLES=glibc.pthread.rseq=0",
};

START_TEST(test_malloc_calls)
{
	run_helper(envs[_i], "malloc_calls", "uslab", "0 failed");
}
END_TEST

START_TEST(test_cxx_new)
{
	run_helper(envs[_i], "cxx_new", "", "done");
}
END_TEST

/* The same helper on glibc alone: its checks are not uslab's own. */
START_TEST(test_helper_on_glibc)
{
	char cmd[512], out[8192];
	int status;

	snprintf(cmd, sizeof(cmd), "%s/tests/preload/helpers/malloc_calls any",
		 build());
	status = run(cmd, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	/* On uslab the class sizes differ from glibc's: the check bites. */
	snprintf(cmd, sizeof(cmd),
		 "%s/tests/preload/helpers/malloc_calls uslab", build());
	status = run(cmd, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
	ck_assert_msg(strstr(out, "u == want[i][1]"), "%s", out);
}
END_TEST

/* A preloaded program holds 5000 objects; uslab-slabtop -p sees them. */
START_TEST(test_slabtop_sees_preloaded)
{
	char cmd[1024], out[16384], line[256];
	int to_child[2], from_child[2], status;
	unsigned long active = 0;
	FILE *in;
	pid_t pid;
	char *p;

	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(from_child), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char lib[512], helper[512];

		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		snprintf(lib, sizeof(lib), "%s/libuslab-malloc.so", build());
		snprintf(helper, sizeof(helper),
			 "%s/tests/preload/helpers/malloc_calls", build());
		setenv("LD_PRELOAD", lib, 1);
		/* The export at once, not after USLAB_DEFER_MS. */
		setenv("USLAB_DEFER_MS", "0", 1);
		execl(helper, helper, "hold", (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	in = fdopen(from_child[0], "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), in));
	ck_assert_str_eq(line, "holding\n");

	snprintf(cmd, sizeof(cmd), "%s/tools/slabtop/uslab-slabtop -o -p %d",
		 build(), (int)pid);
	status = run(cmd, out, sizeof(out));
	close(to_child[1]); /* the helper frees and exits */
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fclose(in);

	ck_assert_msg(strstr(out, "(malloc_calls)"), "%s", out);
	ck_assert_msg(strstr(out, "kmalloc-8k"), "%s", out);
	p = strstr(out, " kmalloc-128");
	ck_assert_msg(p != NULL, "%s", out);
	while (p > out && p[-1] != '\n')
		p--;
	ck_assert_int_eq(sscanf(p, "%*u %lu", &active), 1);
	ck_assert_uint_ge(active, 5000);
	/* 5 MiB held in an own mapping: the summary line says so. */
	ck_assert_msg(strstr(out, "kmalloc Page Blocks / Own Mappings"), "%s",
		      out);
}
END_TEST

static Suite *preload_suite(void)
{
	Suite *s = suite_create("preload");
	TCase *tc = tcase_create("preload");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_malloc_calls, 0,
			    (int)(sizeof(envs) / sizeof(envs[0])));
	tcase_add_loop_test(tc, test_cxx_new, 0,
			    (int)(sizeof(envs) / sizeof(envs[0])));
	tcase_add_test(tc, test_helper_on_glibc);
	tcase_add_test(tc, test_slabtop_sees_preloaded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(preload_suite());
}
