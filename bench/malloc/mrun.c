// SPDX-License-Identifier: MIT
/*
 * mrun.c - run one command and measure it: "mrun LIB DIR CMD ARG..."
 * forks, and the child goes to DIR, sends its standard output to
 * /dev/null, sets LD_PRELOAD=LIB (or removes LD_PRELOAD when LIB is
 * empty) and executes CMD.  The parent waits for it with wait4() and
 * prints one line: wall seconds (CLOCK_MONOTONIC from before the fork
 * to the end of the wait), peak RSS in KiB (ru_maxrss: the largest of
 * the command's and of every descendant it waited for), the exit
 * status (128 + the signal if a signal ended it) and CPU seconds (user
 * and system time of the command and of every descendant it waited
 * for: what other processes on the machine do not add to, unlike the
 * wall time, which includes waiting for a CPU).
 *
 * mrun itself is never preloaded, so the only memory in the figure
 * that is not the command's is this small program's, copied by fork()
 * and counted until the exec, the same for every allocator.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	int status, null;
	double t0;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: mrun LIB DIR CMD [ARG...]\n");
		return 2;
	}
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, STDOUT_FILENO) < 0 ||
		    chdir(argv[2])) {
			perror("mrun");
			_exit(127);
		}
		if (argv[1][0])
			setenv("LD_PRELOAD", argv[1], 1);
		else
			unsetenv("LD_PRELOAD");
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid) {
		perror("wait4");
		return 1;
	}
	printf("%.4f %ld %d %.4f\n", now() - t0, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
