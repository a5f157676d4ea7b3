/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Ethernet frames around a SIP payload, for driving the real XDP and tc programs with
 * BPF_PROG_TEST_RUN: the BPF tests (tests/bpf/test_sip.c) and the per-packet benchmark
 * (tests/bench/prog_cost.c) build their frames here.
 */
#ifndef SIPWATCH_TEST_SIP_FRAMES_H
#define SIPWATCH_TEST_SIP_FRAMES_H

#include <arpa/inet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sip_abi.h"

struct frame_spec {
	bool ipv6;
	bool vlan;
	int transport;
	uint16_t sport, dport;
};

static const uint8_t peer_v4[4] __attribute__((unused)) = {10, 99, 0, 2};
static const uint8_t local_v4[4] __attribute__((unused)) = {10, 99, 0, 1};
static const uint8_t peer_v6[16] __attribute__((unused)) = {0xfd, 0x99, [15] = 2};
static const uint8_t local_v6[16] __attribute__((unused)) = {0xfd, 0x99, [15] = 1};

/* Build an Ethernet frame (rx: from the peer; tx: to it) around @payload. Returns its length. */
static inline size_t build_frame(uint8_t *buf, const struct frame_spec *f, bool tx,
				 const void *payload, size_t len)
{
	size_t off = 12, l4len = (f->transport == SIP_TRANSPORT_TCP ? 20 : 8) + len;
	const uint8_t *src, *dst;
	uint8_t *l4;

	memset(buf, 0, 14 + 4 + 40 + 20 + len);
	memcpy(buf, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	if (f->vlan) {
		memcpy(buf + off, "\x81\x00\x00\x2a", 4);
		off += 4;
	}
	if (f->ipv6) {
		struct ipv6hdr *ip6 = (void *)(buf + off + 2);

		memcpy(buf + off, "\x86\xdd", 2);
		ip6->version = 6;
		ip6->payload_len = htons((uint16_t)l4len);
		ip6->nexthdr = f->transport == SIP_TRANSPORT_TCP ? IPPROTO_TCP : IPPROTO_UDP;
		ip6->hop_limit = 64;
		src = tx ? local_v6 : peer_v6;
		dst = tx ? peer_v6 : local_v6;
		memcpy(&ip6->saddr, src, 16);
		memcpy(&ip6->daddr, dst, 16);
		l4 = (uint8_t *)(ip6 + 1);
	} else {
		struct iphdr *ip = (void *)(buf + off + 2);

		memcpy(buf + off, "\x08\x00", 2);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(20 + l4len));
		ip->ttl = 64;
		ip->protocol = f->transport == SIP_TRANSPORT_TCP ? IPPROTO_TCP : IPPROTO_UDP;
		src = tx ? local_v4 : peer_v4;
		dst = tx ? peer_v4 : local_v4;
		memcpy(&ip->saddr, src, 4);
		memcpy(&ip->daddr, dst, 4);
		l4 = (uint8_t *)(ip + 1);
	}
	if (f->transport == SIP_TRANSPORT_TCP) {
		struct tcphdr *tcp = (void *)l4;

		tcp->source = htons(f->sport);
		tcp->dest = htons(f->dport);
		tcp->doff = 5;
		tcp->ack = 1;
		tcp->psh = 1;
		l4 += 20;
	} else {
		struct udphdr *udp = (void *)l4;

		udp->source = htons(f->sport);
		udp->dest = htons(f->dport);
		udp->len = htons((uint16_t)l4len);
		l4 += 8;
	}
	memcpy(l4, payload, len);
	return (size_t)(l4 - buf) + len;
}

#endif /* SIPWATCH_TEST_SIP_FRAMES_H */
