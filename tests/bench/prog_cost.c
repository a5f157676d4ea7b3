// SPDX-License-Identifier: GPL-2.0-only
/*
 * prog_cost: what the SIP classifier costs per packet, against programs that do nothing, measured
 * side by side by the kernel itself (BPF_PROG_TEST_RUN with a large repeat count reports the mean
 * run time). Prints one line per frame type and hook:
 *
 *	frame=REGISTER hook=xdp sip_ns=41.2 empty_ns=12.0 ...
 *
 * ROUNDS rounds alternate the two programs; every round's difference is printed, so the caller can
 * take the median and spread.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_parse.h" /* before the skeleton: it names struct sipwatch_bpf_config */
#include "sip.skel.h"
#include "empty.skel.h"
#include "sip_frames.h"

struct frame_case {
	const char *name;
	const char *payload;
	size_t len; /* 0: strlen */
	int transport;
	uint16_t dport;
	bool ipv6;
};

static const unsigned char stun_request[20] = {
    0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static const struct frame_case cases[] = {
    {"REGISTER",
     "REGISTER sip:pbx.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.99.0.2;branch=z9hG4bK1\r\n\r\n",
     0, SIP_TRANSPORT_UDP, 5060, false},
    {"REGISTER_IPv6",
     "REGISTER sip:pbx.example.com SIP/2.0\r\nVia: SIP/2.0/UDP [fd99::2];branch=z9hG4bK1\r\n\r\n",
     0, SIP_TRANSPORT_UDP, 5060, true},
    {"OPTIONS",
     "OPTIONS sip:pbx.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.99.0.2;branch=z9hG4bK2\r\n\r\n", 0,
     SIP_TRANSPORT_UDP, 5060, false},
    {"200_OK", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.99.0.2;branch=z9hG4bK1\r\n\r\n", 0,
     SIP_TRANSPORT_UDP, 5060, false},
    {"CRLF_ping", "\r\n\r\n", 0, SIP_TRANSPORT_TCP, 5060, false},
    {"STUN", (const char *)stun_request, sizeof(stun_request), SIP_TRANSPORT_UDP, 5060, false},
    {"non_SIP_UDP", "just some datagram that is not SIP at all", 0, SIP_TRANSPORT_UDP, 40000,
     false},
    {"TCP_mid_stream", "a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", 0, SIP_TRANSPORT_TCP, 5060, false},
};

static double mean_ns(int fd, const void *frame, size_t len, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -1;
	return (double)opts.duration;
}

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 1000000, rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct empty_bpf *empty = empty_bpf__open_and_load();
	struct sip_bpf *sip = sip_bpf__open();
	uint8_t frame[2048];

	if (!empty || !sip)
		return 1;
	sip->rodata->cfg.nr_sip_ports = 1;
	sip->rodata->cfg.sip_ports[0] = 5060;
	sip->rodata->cfg.all_netns = 1;
	if (sip_bpf__load(sip)) {
		fprintf(stderr, "prog_cost: cannot load the SIP classifier\n");
		return 1;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct frame_case *fc = &cases[c];
		struct frame_spec spec = {.ipv6 = fc->ipv6,
					  .transport = fc->transport,
					  .sport = 5060,
					  .dport = fc->dport};
		size_t plen = fc->len ? fc->len : strlen(fc->payload);
		size_t len = build_frame(frame, &spec, false, fc->payload, plen);

		for (int hook = 0; hook < 2; hook++) {
			int sip_fd =
			    bpf_program__fd(hook ? sip->progs.sip_tc_egress : sip->progs.sip_xdp);
			int empty_fd =
			    bpf_program__fd(hook ? empty->progs.empty_tc : empty->progs.empty_xdp);

			for (int r = 0; r < rounds; r++) {
				double e = mean_ns(empty_fd, frame, len, repeat);
				double s = mean_ns(sip_fd, frame, len, repeat);

				printf("frame=%s hook=%s round=%d sip_ns=%.1f empty_ns=%.1f\n",
				       fc->name, hook ? "tc" : "xdp", r, s, e);
			}
		}
	}
	sip_bpf__destroy(sip);
	empty_bpf__destroy(empty);
	return 0;
}
