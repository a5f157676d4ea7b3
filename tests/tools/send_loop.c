// SPDX-License-Identifier: GPL-2.0-only
/*
 * send_loop: a tight loop of UDP sendto() calls for the send-path benchmark.
 *
 *	send_loop --src-port 5060 --dst 10.99.0.2:40000 --count 1000000 --size 1024
 *
 * Prints "ns_per_send=<n> errors=<n>". Bounded by --count (and a 60 s safety limit).
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

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: send_loop --src-port P --dst IPv4:PORT [--count N] [--size BYTES]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	long count = 1000000, size = 1024, errors = 0, i;
	char *host = NULL, buf[65536];
	double start, elapsed;
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
		else
			return usage();
	}
	if (!host || !strchr(host, ':') || size <= 0 || size > (long)sizeof(buf) || count <= 0)
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
	start = now_ns();
	for (i = 0; i < count; i++) {
		if (sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			errors++;
		if ((i & 0xffff) == 0 && now_ns() - start > 60e9)
			break;
	}
	elapsed = now_ns() - start;
	printf("ns_per_send=%.1f sends=%ld errors=%ld\n", elapsed / (double)i, i, errors);
	close(fd);
	return 0;
}
