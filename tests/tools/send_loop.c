// SPDX-License-Identifier: GPL-2.0-only
/*
 * send_loop: a tight loop of UDP sendto() calls for the send-path benchmark.
 *
 *	send_loop --src-port 5060 --dst 10.99.0.2:40000 --count 1000000 --size 1024 [--blocks 20]
 *
 * Prints "ns_per_send=<n> block_min=<n> block_median=<n> sends=<n> errors=<n>". The loop is timed
 * in --blocks equal parts as well as whole: on a shared machine another guest's burst inflates
 * some blocks, and the fastest blocks are what the code costs (the benchmark compares those).
 * Bounded by --count (and a 60 s safety limit).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "block_timer.h"

static int usage(void)
{
	fprintf(stderr, "usage: send_loop --src-port P --dst IPv4:PORT [--count N] [--size BYTES] "
			"[--blocks N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	long count = 1000000, size = 1024, blocks = 1, errors = 0, i;
	static double block_ns[1000];
	char *host = NULL, buf[65536];
	double start, elapsed, block_start;
	long per_block, left_in_block, nr_blocks = 0, sent = 0;
	int fd, one = 1;

	for (int a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--src-port"))
			src.sin_port = htons((unsigned short)atoi(argv[a + 1]));
		else if (!strcmp(argv[a], "--dst"))
			host = argv[a + 1];
		else if (!strcmp(argv[a], "--count"))
			count = atol(argv[a + 1]);
		else if (!strcmp(argv[a], "--size"))
			size = atol(argv[a + 1]);
		else if (!strcmp(argv[a], "--blocks"))
			blocks = atol(argv[a + 1]);
		else
			return usage();
	}
	if (!host || !strchr(host, ':') || size <= 0 || size > (long)sizeof(buf) || count <= 0 ||
	    blocks <= 0 || blocks > (long)(sizeof(block_ns) / sizeof(block_ns[0])) ||
	    blocks > count)
		return usage();
	*strchr(host, ':') = '\0';
	dst.sin_port = htons((unsigned short)atoi(host + strlen(host) + 1));
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		return usage();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src))) {
		perror("send_loop: socket/bind");
		return 1;
	}
	memset(buf, 'x', (size_t)size);
	per_block = left_in_block = count / blocks;
	start = block_start = now_ns();
	for (i = 0; i < count; i++) {
		if (sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			errors++;
		sent++;
		if (--left_in_block == 0 && nr_blocks < blocks) {
			double t = now_ns();

			block_ns[nr_blocks++] = (t - block_start) / (double)per_block;
			block_start = t;
			left_in_block = per_block;
			if (t - start > 60e9)
				break;
		}
	}
	elapsed = now_ns() - start;
	qsort(block_ns, (size_t)nr_blocks, sizeof(block_ns[0]), compare_doubles);
	printf("ns_per_send=%.1f block_min=%.1f block_median=%.1f sends=%ld errors=%ld\n",
	       elapsed / (double)sent, block_ns[0], block_ns[nr_blocks / 2], sent, errors);
	close(fd);
	return 0;
}
