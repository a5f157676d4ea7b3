// SPDX-License-Identifier: GPL-2.0-only
/*
 * hook_floor: attach the do-nothing programs of hook_floor.bpf.c (on sock_send_length,
 * sched_switch and kfree_skb), print "attached", and hold them until SIGTERM/SIGINT or --seconds
 * (default 60) have passed. With --stats the kernel's BPF run-time statistics are on meanwhile,
 * and at exit each program's "prog=<name> runs=<n> run_ns=<total>" is printed: what an empty
 * program on that hook costs per run, to set beside sipwatch's own (--bpf.stats).
 */
#include <bpf/bpf.h>
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

static void print_stats(const struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return;
	printf("prog=%s runs=%llu run_ns=%llu\n", bpf_program__name(prog),
	       (unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns);
}

int main(int argc, char **argv)
{
	struct hook_floor_bpf *skel;
	struct bpf_program *prog;
	int stats_fd = -1;
	long seconds = 60;
	bool stats = false;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--seconds") && a + 1 < argc) {
			seconds = atol(argv[++a]);
		} else if (!strcmp(argv[a], "--stats")) {
			stats = true;
		} else {
			fprintf(stderr, "usage: hook_floor [--seconds N] [--stats]\n");
			return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (stats && (stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0) {
		perror("hook_floor: BPF run-time statistics");
		return 1;
	}
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
	if (stats)
		bpf_object__for_each_program (prog, skel->obj)
			print_stats(prog);
	hook_floor_bpf__destroy(skel);
	if (stats_fd >= 0)
		close(stats_fd);
	return 0;
}
