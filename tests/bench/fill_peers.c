// SPDX-License-Identifier: GPL-2.0-only
/*
 * fill_peers: insert COUNT synthetic SIP peers (10.100.0.1 onwards) into a running agent's
 * kernel peer table (the sip_peers4 map its XDP/tc programs write), so that the agent picks them
 * up through the same path as peers seen on the wire. For the scrape-cost benchmark.
 *
 *	fill_peers AGENT_PID COUNT
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sip_abi.h"

/* The agent's IPv4 peer map (sip_peers4): among the map ids its fds name (fdinfo "map_id:"). */
static int find_peer_map(int pid)
{
	char path[64], line[128];
	struct dirent *e;
	DIR *d;
	int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (fd < 0 && (e = readdir(d))) {
		char file[320];
		FILE *f;

		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		f = fopen(file, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);
			unsigned int id;
			int mfd;

			if (sscanf(line, "map_id: %u", &id) != 1)
				continue;
			mfd = bpf_map_get_fd_by_id(id);
			if (mfd >= 0 && !bpf_obj_get_info_by_fd(mfd, &info, &len) &&
			    !strcmp(info.name, "sip_peers4")) {
				fd = mfd;
				break;
			}
			if (mfd >= 0)
				close(mfd);
		}
		fclose(f);
	}
	closedir(d);
	return fd;
}

int main(int argc, char **argv)
{
	struct timespec ts;
	int fd, count;
	uint32_t first;

	if (argc != 3) {
		fprintf(stderr, "usage: fill_peers AGENT_PID COUNT\n");
		return 2;
	}
	count = atoi(argv[2]);
	fd = find_peer_map(atoi(argv[1]));
	if (fd < 0) {
		fprintf(stderr, "fill_peers: no sip_peers4 map held by pid %s\n", argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	first = ntohl(inet_addr("10.100.0.1"));
	for (int i = 0; i < count; i++) {
		struct sip_peer_value v = {};
		uint32_t key = htonl(first + (uint32_t)i); /* the map's key: the address */

		v.last_rx_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		v.rx_messages = 1;
		if (bpf_map_update_elem(fd, &key, &v, BPF_ANY)) {
			perror("fill_peers: update");
			return 1;
		}
	}
	printf("inserted=%d\n", count);
	return 0;
}
