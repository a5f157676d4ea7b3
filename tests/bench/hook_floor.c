// SPDX-License-Identifier: GPL-2.0-only
/*
 * hook_floor: attach the do-nothing sock_send_length/sched_switch programs of hook_floor.bpf.c, print
 * "attached", and hold them until SIGTERM/SIGINT or --seconds (default 60) have passed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hook_floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct hook_floor_bpf *skel;
	long seconds = 60;

	if (argc == 3 && !strcmp(argv[1], "--seconds"))
		seconds = atol(argv[2]);
	else if (argc != 1) {
		fprintf(stderr, "usage: hook_floor [--seconds N]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	skel = hook_floor_bpf__open_and_load();
	if (!skel || hook_floor_bpf__attach(skel)) {
		fprintf(stderr, "hook_floor: cannot load or attach\n");
		hook_floor_bpf__destroy(skel);
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	for (long s = 0; s < seconds * 10 && !stop; s++)
		usleep(100000);
	hook_floor_bpf__destroy(skel);
	return 0;
}
