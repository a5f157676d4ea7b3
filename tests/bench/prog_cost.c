// SPDX-License-Identifier: GPL-2.0-only
/*
 * prog_cost: what the SIP classifier costs per packet, against programs that do nothing, measured
 * side by side by the kernel itself (BPF_PROG_TEST_RUN with a large repeat count reports the mean
 * run time). Prints one line per frame type and hook:
 *
 *	frame=REGISTER hook=xdp sip_ns=41.2 empty_ns=12.0 copy_ns=... [extract_ns=...]
 *
 * copy_ns: the same classifier with the SIP message copy on (issue 18's chosen data path: the
 * first SIP_MSG_COPY bytes into the "sip_msgs" ring buffer; discarded instead of submitted, as
 * nobody drains the ring during a test run). extract_ns (tc only): the classifier plus the least
 * an in-kernel field extractor would do (tests/bench/sip_extract.bpf.c), the option not chosen.
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
#include "sip_extract.skel.h"
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
    {"REGISTER_full",
     "REGISTER sip:pbx.example.com SIP/2.0\r\n"
     "Via: SIP/2.0/UDP 10.99.0.2:5060;rport;branch=z9hG4bK-524287-1---8f3a2b1c4d5e6f70\r\n"
     "Max-Forwards: 70\r\n"
     "Contact: <sip:201@10.99.0.2:5060;rinstance=2f6b1c3d4e5f6a7b;transport=UDP>\r\n"
     "To: <sip:201@pbx.example.com>\r\n"
     "From: <sip:201@pbx.example.com>;tag=7c2a9e41\r\n"
     "Call-ID: NjQ3ZDc4YjE2YzQ2ZWQxMzY4ZGI1NjA2Y2U0YjU5ZTc\r\n"
     "CSeq: 2 REGISTER\r\n"
     "Expires: 60\r\n"
     "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
     "Supported: replaces, norefersub, extended-refer, timer, outbound, path, "
     "X-cisco-serviceuri\r\n"
     "User-Agent: Z 5.5.12 v2.10.19.9\r\n"
     "Allow-Events: presence, kpml, talk\r\n"
     "Content-Length: 0\r\n\r\n",
     0, SIP_TRANSPORT_UDP, 5060, false},
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
	struct sip_bpf *sip = sip_bpf__open(), *copy = sip_bpf__open();
	struct sip_extract_bpf *extract = sip_extract_bpf__open();
	uint8_t frame[2048];

	if (!empty || !sip || !copy || !extract)
		return 1;
	sip->rodata->cfg.nr_sip_ports = copy->rodata->cfg.nr_sip_ports = 1;
	sip->rodata->cfg.sip_ports[0] = copy->rodata->cfg.sip_ports[0] = 5060;
	sip->rodata->cfg.all_netns = copy->rodata->cfg.all_netns = 1;
	extract->rodata->cfg = sip->rodata->cfg;
	copy->rodata->sip_copy_msgs = true;
	copy->rodata->sip_xdp_copy = true;
	copy->rodata->sip_msgs_discard = true;
	if (sip_bpf__load(sip) || sip_bpf__load(copy) || sip_extract_bpf__load(extract)) {
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
			int copy_fd =
			    bpf_program__fd(hook ? copy->progs.sip_tc_egress : copy->progs.sip_xdp);
			int extract_fd = bpf_program__fd(extract->progs.sip_tc_extract);
			int empty_fd =
			    bpf_program__fd(hook ? empty->progs.empty_tc : empty->progs.empty_xdp);

			for (int r = 0; r < rounds; r++) {
				double e = mean_ns(empty_fd, frame, len, repeat);
				double s = mean_ns(sip_fd, frame, len, repeat);
				double cp = mean_ns(copy_fd, frame, len, repeat);

				printf("frame=%s hook=%s round=%d sip_ns=%.1f empty_ns=%.1f "
				       "copy_ns=%.1f",
				       fc->name, hook ? "tc" : "xdp", r, s, e, cp);
				if (hook)
					printf(" extract_ns=%.1f",
					       mean_ns(extract_fd, frame, len, repeat));
				printf("\n");
			}
		}
	}
	sip_bpf__destroy(sip);
	sip_bpf__destroy(copy);
	sip_extract_bpf__destroy(extract);
	empty_bpf__destroy(empty);
	return 0;
}
