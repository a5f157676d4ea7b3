// SPDX-License-Identifier: GPL-2.0-only
/*
 * udp_sink: a live UDP peer for the send-path benchmark. Reads datagrams on ADDR:PORT in batches
 * (recvmmsg) so that they are consumed, not dropped: a dropped datagram would run the kernel's
 * drop tracepoint (and sipwatch's program on it) in the sender's time, which a real peer on
 * another host does not.
 *
 *	udp_sink --bind 10.99.0.2:40000 --seconds 60
 *
 * Prints "received=<n>" when --seconds have passed (bounded by that time).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

int main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	static char bufs[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct timeval tick = {.tv_sec = 0, .tv_usec = 200000};
	long seconds = 10, received = 0;
	int rcvbuf = 4 << 20, fd;
	time_t end;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--bind")) {
			char *colon = strrchr(argv[i + 1], ':');

			if (!colon)
				goto usage;
			*colon = '\0';
			if (inet_pton(AF_INET, argv[i + 1], &addr.sin_addr) != 1)
				goto usage;
			addr.sin_port = htons((unsigned short)atoi(colon + 1));
		} else if (!strcmp(argv[i], "--seconds")) {
			seconds = atol(argv[i + 1]);
		} else {
			goto usage;
		}
	}
	if (!addr.sin_port || seconds <= 0 || seconds > 600)
		goto usage;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("udp_sink");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof(bufs[i])};
		msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		int n = recvmmsg(fd, msgs, BATCH, 0, NULL);

		if (n > 0)
			received += n;
	}
	printf("received=%ld\n", received);
	return 0;
usage:
	fprintf(stderr, "usage: udp_sink --bind IPv4:PORT [--seconds N (1..600)]\n");
	return 2;
}
