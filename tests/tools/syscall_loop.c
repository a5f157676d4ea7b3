// SPDX-License-Identifier: GPL-2.0-only
/*
 * syscall_loop: what a hook costs processes that make no socket send, for the benchmark.
 *
 *	syscall_loop --call getppid|read|pingpong [--count N] [--blocks N]
 *
 * getppid: the cheapest system call; read: 1-byte read() of /dev/zero; pingpong: two processes
 * passing one byte back and forth over two pipes, each blocking in read() in turn (a round trip is
 * two context switches on each side: the path a sched_switch hook taxes). Prints
 * "block_min=<ns per call or round trip> block_median=<n> calls=<n>": the loop is timed in
 * --blocks equal parts and the fastest counts (see send_loop.c). Bounded by --count and 60 s.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "block_timer.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: syscall_loop --call getppid|read|pingpong [--count N] [--blocks N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	long count = 1000000, blocks = 30, per_block, nr_blocks = 0, done = 0;
	static double block_ns[1000];
	int to_child[2], to_parent[2], zero = -1;
	const char *call = NULL;
	double start, block_start;
	pid_t child = -1;
	char byte = 0;

	for (int a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--call"))
			call = argv[a + 1];
		else if (!strcmp(argv[a], "--count"))
			count = atol(argv[a + 1]);
		else if (!strcmp(argv[a], "--blocks"))
			blocks = atol(argv[a + 1]);
		else
			return usage();
	}
	if (!call || count <= 0 || blocks <= 0 ||
	    blocks > (long)(sizeof(block_ns) / sizeof(block_ns[0])) || blocks > count)
		return usage();
	if (!strcmp(call, "read")) {
		zero = open("/dev/zero", O_RDONLY);
		if (zero < 0)
			return perror("syscall_loop: /dev/zero"), 1;
	} else if (!strcmp(call, "pingpong")) {
		if (pipe(to_child) || pipe(to_parent))
			return perror("syscall_loop: pipe"), 1;
		child = fork();
		if (child < 0)
			return perror("syscall_loop: fork"), 1;
		if (child == 0) {
			/* echo every byte back until the parent closes its end */
			close(to_child[1]);
			close(to_parent[0]);
			while (read(to_child[0], &byte, 1) == 1)
				if (write(to_parent[1], &byte, 1) != 1)
					break;
			_exit(0);
		}
		close(to_child[0]);
		close(to_parent[1]);
	} else if (strcmp(call, "getppid")) {
		return usage();
	}
	per_block = count / blocks;
	start = block_start = now_ns();
	for (long i = 0; i < per_block * blocks; i++) {
		if (zero >= 0) {
			if (read(zero, &byte, 1) != 1)
				break;
		} else if (child > 0) {
			if (write(to_child[1], &byte, 1) != 1 || read(to_parent[0], &byte, 1) != 1)
				break;
		} else {
			getppid();
		}
		done++;
		if (done % per_block == 0) {
			double t = now_ns();

			block_ns[nr_blocks++] = (t - block_start) / (double)per_block;
			block_start = t;
			if (t - start > 60e9)
				break;
		}
	}
	if (child > 0) {
		close(to_child[1]);
		waitpid(child, NULL, 0);
	}
	if (!nr_blocks)
		return fprintf(stderr, "syscall_loop: no block completed\n"), 1;
	qsort(block_ns, (size_t)nr_blocks, sizeof(block_ns[0]), compare_doubles);
	printf("block_min=%.1f block_median=%.1f calls=%ld\n", block_ns[0], block_ns[nr_blocks / 2],
	       done);
	return 0;
}
