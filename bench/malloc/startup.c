// SPDX-License-Identifier: MIT
/*
 * startup.c - the cost of starting a process with the allocator: runs
 * /bin/true RUNS times in a row (posix_spawn, then wait), each in the
 * environment this program got, so under mrun each one is preloaded
 * with the allocator measured, and exits 1 if any run failed.  A
 * compiler driver, a shell script or make start many such short
 * processes, which pay the allocator's start-up (loading it and its
 * libraries, its own set-up, its threads) and little else.
 */
#include <spawn.h>
#include <sys/wait.h>

#include "common.h"

#define RUNS 400 /* times the scale */

extern char **environ;

int main(int argc, char **argv)
{
	char *args[] = { "/bin/true", NULL };
	long runs = scaled(argc, argv, RUNS);
	int status;
	pid_t pid;

	for (long i = 0; i < runs; i++) {
		if (posix_spawn(&pid, args[0], NULL, NULL, args, environ)) {
			perror("posix_spawn /bin/true");
			return 1;
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "startup: /bin/true failed\n");
			return 1;
		}
	}
	return 0;
}
