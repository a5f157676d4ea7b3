// SPDX-License-Identifier: GPL-2.0-only
/*
 * udp_burst: send a bounded burst of UDP datagrams from one socket, round-robin to the given
 * destinations, and report what the sender saw.
 *
 *   udp_burst [--nonblocking] [--count N] [--size BYTES] [--src-port P] [--src ADDR]
 *             [--sndbuf BYTES] [--deadline SECONDS] [--call sendto|sendmsg|sendmmsg]
 *             DEST:PORT...
 *
 * Prints one line: calls=N sent=N eagain=N errors=N max_call_us=N slow_calls=N
 * (slow_calls: calls that took 1 s or more). Exit status 0 unless the arguments were bad or the
 * socket could not be set up. Every call is bounded: at most --count sends, and the loop stops at
 * --deadline (default 30 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DESTS 16

enum call_kind { CALL_SENDTO, CALL_SENDMSG, CALL_SENDMMSG };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	int port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	port = atoi(colon + 1);
	if (port < 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = 0;
		memmove(host, host + 1, strlen(host));
	}
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: udp_burst [--nonblocking] [--count N] [--size BYTES] [--src-port P] "
		"[--src ADDR] [--sndbuf BYTES] [--deadline S] [--call sendto|sendmsg|sendmmsg] "
		"DEST:PORT...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage dests[MAX_DESTS], src;
	socklen_t dest_len[MAX_DESTS], src_len = 0;
	int nr_dests = 0, count = 100, size = 1200, src_port = 0, sndbuf = 0, nonblocking = 0;
	long eagain = 0, errors = 0, sent = 0, calls = 0, slow = 0;
	enum call_kind kind = CALL_SENDTO;
	const char *src_addr = NULL;
	double deadline_s = 30, start, max_call = 0;
	char *payload;
	int fd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--nonblocking"))
			nonblocking = 1;
		else if (!strcmp(a, "--count") && i + 1 < argc)
			count = atoi(argv[++i]);
		else if (!strcmp(a, "--size") && i + 1 < argc)
			size = atoi(argv[++i]);
		else if (!strcmp(a, "--src-port") && i + 1 < argc)
			src_port = atoi(argv[++i]);
		else if (!strcmp(a, "--src") && i + 1 < argc)
			src_addr = argv[++i];
		else if (!strcmp(a, "--sndbuf") && i + 1 < argc)
			sndbuf = atoi(argv[++i]);
		else if (!strcmp(a, "--deadline") && i + 1 < argc)
			deadline_s = atof(argv[++i]);
		else if (!strcmp(a, "--call") && i + 1 < argc) {
			const char *c = argv[++i];

			if (!strcmp(c, "sendto"))
				kind = CALL_SENDTO;
			else if (!strcmp(c, "sendmsg"))
				kind = CALL_SENDMSG;
			else if (!strcmp(c, "sendmmsg"))
				kind = CALL_SENDMMSG;
			else
				return usage();
		} else if (a[0] == '-')
			return usage();
		else if (nr_dests < MAX_DESTS) {
			if (parse_endpoint(a, &dests[nr_dests], &dest_len[nr_dests]))
				return usage();
			nr_dests++;
		} else
			return usage();
	}
	if (!nr_dests || count < 1 || count > 100000 || size < 1 || size > 65000)
		return usage();
	fd = socket(dests[0].ss_family, SOCK_DGRAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (sndbuf && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf))) {
		perror("SO_SNDBUF");
		return 1;
	}
	if (src_port || src_addr) {
		char ep[160];

		snprintf(ep, sizeof(ep), "%s:%d",
			 src_addr ? src_addr
				  : (dests[0].ss_family == AF_INET6 ? "[::]" : "0.0.0.0"),
			 src_port);
		if (parse_endpoint(ep, &src, &src_len) ||
		    bind(fd, (struct sockaddr *)&src, src_len)) {
			perror("bind");
			return 1;
		}
	}
	payload = calloc(1, (size_t)size);
	if (!payload)
		return 1;
	memset(payload, 'x', (size_t)size);
	start = now_s();
	for (int i = 0; i < count && now_s() - start < deadline_s; i++) {
		int d = i % nr_dests;
		struct iovec iov = {payload, (size_t)size};
		struct msghdr mh = {.msg_name = &dests[d],
				    .msg_namelen = dest_len[d],
				    .msg_iov = &iov,
				    .msg_iovlen = 1};
		struct mmsghdr mm = {.msg_hdr = mh};
		double t0 = now_s(), took;
		ssize_t r;

		switch (kind) {
		case CALL_SENDMSG:
			r = sendmsg(fd, &mh, 0);
			break;
		case CALL_SENDMMSG:
			r = sendmmsg(fd, &mm, 1, 0);
			break;
		default:
			r = sendto(fd, payload, (size_t)size, 0, (struct sockaddr *)&dests[d],
				   dest_len[d]);
		}
		took = now_s() - t0;
		calls++;
		if (took > max_call)
			max_call = took;
		if (took >= 1.0)
			slow++;
		if (r >= 0)
			sent++;
		else if (errno == EAGAIN)
			eagain++;
		else
			errors++;
	}
	printf("calls=%ld sent=%ld eagain=%ld errors=%ld max_call_us=%.0f slow_calls=%ld\n", calls,
	       sent, eagain, errors, max_call * 1e6, slow);
	free(payload);
	close(fd);
	return 0;
}
