// SPDX-License-Identifier: GPL-2.0-only
/*
 * udp_spray: one small non-blocking UDP datagram to each of COUNT consecutive IPv4 addresses,
 * paced at RATE per second — each creates a neighbour entry to resolve (the neighbour-churn
 * benchmark). The addresses must belong to a test host (one whose link is down, for churn).
 *
 *	udp_spray --first 10.99.64.1 --count 15000 --rate 5000 --src-port 5060 --dst-port 5060
 *
 * Prints "sent=<n> seconds=<s>". Bounded by COUNT and a 60 s limit.
 *
 * Every datagram parked behind an unresolved neighbour keeps its truesize charged to the socket's
 * send buffer (the failure sipwatch watches for), so one socket would hit EAGAIN after a few
 * hundred: a fresh socket is opened every SENDS_PER_SOCKET datagrams.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SENDS_PER_SOCKET 100

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	long count = 0, rate = 1000, sent = 0;
	struct in_addr first = {0};
	double start;
	int fd;

	for (int a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--first"))
			inet_pton(AF_INET, argv[a + 1], &first);
		else if (!strcmp(argv[a], "--count"))
			count = atol(argv[a + 1]);
		else if (!strcmp(argv[a], "--rate"))
			rate = atol(argv[a + 1]);
		else if (!strcmp(argv[a], "--src-port"))
			src.sin_port = htons((unsigned short)atoi(argv[a + 1]));
		else if (!strcmp(argv[a], "--dst-port"))
			dst.sin_port = htons((unsigned short)atoi(argv[a + 1]));
	}
	if (!first.s_addr || count <= 0 || rate <= 0) {
		fprintf(stderr, "usage: udp_spray --first IPv4 --count N --rate PER_S "
				"[--src-port P] [--dst-port P]\n");
		return 2;
	}
	start = now_s();
	fd = -1;
	for (long i = 0; i < count; i++) {
		if (i % SENDS_PER_SOCKET == 0) {
			int one = 1;

			if (fd >= 0)
				close(fd);
			fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src))) {
				perror("udp_spray");
				return 1;
			}
		}
		/* Pace: never ahead of i / rate seconds since the start. */
		while (now_s() - start < (double)i / (double)rate)
			usleep(100);
		if (now_s() - start > 60)
			break;
		dst.sin_addr.s_addr = htonl(ntohl(first.s_addr) + (uint32_t)i);
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&dst, sizeof(dst)) == 1)
			sent++;
	}
	printf("sent=%ld seconds=%.3f\n", sent, now_s() - start);
	close(fd);
	return 0;
}
