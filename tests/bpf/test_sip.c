// SPDX-License-Identifier: GPL-2.0-only
/*
 * The real XDP and tc programs of bpf/sip.bpf.c driven with BPF_PROG_TEST_RUN: every sample of the
 * corpus in every encapsulation (IPv4/IPv6, with and without a VLAN tag) must move exactly the
 * expected counter by one and record the peer; truncated frames, non-SIP ports and random frames
 * must count nothing they do not contain. The message copy for the agent (issue 18) is on
 * throughout: every request and response gives exactly one ring-buffer record, nothing else any.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <cmocka.h>

#include "sip_parse.h" /* before the skeleton: it names struct sipwatch_bpf_config */
#include "sip.skel.h"
#include "sip_corpus.h"
#include "sip_frames.h"

static struct sip_bpf *skel;
static int nr_cpus;

static int prog_fd(bool tx, bool tc_ingress)
{
	if (tx)
		return bpf_program__fd(skel->progs.sip_tc_egress);
	return bpf_program__fd(tc_ingress ? skel->progs.sip_tc_ingress : skel->progs.sip_xdp);
}

static int run(int fd, const void *frame, size_t len, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .repeat = repeat);
	return bpf_prog_test_run_opts(fd, &opts);
}

/* The counters summed over CPUs. */
static void read_counts(uint64_t *out)
{
	int fd = bpf_map__fd(skel->maps.sip_counts);
	uint64_t *percpu = calloc((size_t)nr_cpus, sizeof(uint64_t));

	for (uint32_t i = 0; i < SIP_NR_COUNTERS; i++) {
		out[i] = 0;
		assert_int_equal(bpf_map_lookup_elem(fd, &i, percpu), 0);
		for (int c = 0; c < nr_cpus; c++)
			out[i] += percpu[c];
	}
	free(percpu);
}

static void clear_peer_map(int fd)
{
	uint8_t key[16];

	while (!bpf_map_get_next_key(fd, NULL, key))
		bpf_map_delete_elem(fd, key);
}

static void clear_peers(void)
{
	clear_peer_map(bpf_map__fd(skel->maps.sip_peers4));
	clear_peer_map(bpf_map__fd(skel->maps.sip_peers6));
	clear_peer_map(bpf_map__fd(skel->maps.sip_unverified4));
	clear_peer_map(bpf_map__fd(skel->maps.sip_unverified6));
}

/*
 * The kernel peer maps are keyed by the bare address, one map per family, verified peers and
 * unverified sources apart (sip_abi.h).
 */
static int lookup_peer_in(bool ipv6, bool verified, struct sip_peer_value *v)
{
	int fd = verified
		     ? bpf_map__fd(ipv6 ? skel->maps.sip_peers6 : skel->maps.sip_peers4)
		     : bpf_map__fd(ipv6 ? skel->maps.sip_unverified6 : skel->maps.sip_unverified4);

	return bpf_map_lookup_elem(fd, ipv6 ? peer_v6 : peer_v4, v);
}

/* The peer wherever it is; a peer is never in both maps. */
static int lookup_peer(bool ipv6, struct sip_peer_value *v)
{
	struct sip_peer_value other;

	if (!lookup_peer_in(ipv6, true, v))
		return lookup_peer_in(ipv6, false, &other) ? 0 : -1;
	return lookup_peer_in(ipv6, false, v);
}

/* Run one frame and check that exactly counter @expect_idx moved by @times (or none if < 0). */
static void expect_delta(const char *what, int fd, const uint8_t *frame, size_t len, int times,
			 long expect_idx)
{
	uint64_t before[SIP_NR_COUNTERS], after[SIP_NR_COUNTERS];

	read_counts(before);
	if (run(fd, frame, len, times))
		fail_msg("%s: test run of %zu bytes (prog fd %d) failed: %s", what, len, fd,
			 strerror(errno));
	read_counts(after);
	for (long i = 0; i < SIP_NR_COUNTERS; i++) {
		uint64_t want = i == expect_idx ? (uint64_t)times : 0;

		if (after[i] - before[i] != want)
			fail_msg("%s: counter %ld moved by %llu, expected %llu", what, i,
				 (unsigned long long)(after[i] - before[i]),
				 (unsigned long long)want);
	}
}

static void test_corpus_every_encapsulation(void **state)
{
	uint8_t frame[2048];

	for (size_t i = 0; i < SIP_CORPUS_SIZE; i++) {
		const struct sip_sample *s = &sip_corpus[i];

		for (int enc = 0; enc < 4; enc++) {
			for (int dir = 0; dir < 3;
			     dir++) { /* xdp rx, tc egress tx, tc ingress rx */
				bool tx = dir == 1, ipv6 = enc & 1;
				struct frame_spec f = {.ipv6 = ipv6,
						       .vlan = enc & 2,
						       .transport = s->transport,
						       .sport = tx ? 5060 : 40000,
						       .dport = tx ? 40000 : 5060};
				size_t len =
				    build_frame(frame, &f, tx, s->payload, sip_sample_len(s));
				struct sip_peer_value v;
				char what[160];

				snprintf(what, sizeof(what), "%s (ipv6=%d vlan=%d dir=%d)", s->name,
					 ipv6, !!(enc & 2), dir);
				clear_peers();
				expect_delta(what, prog_fd(tx, dir == 2), frame, len, 3,
					     SIP_COUNTER_INDEX(tx ? SIP_DIR_TX : SIP_DIR_RX,
							       s->transport, s->kind));
				if (s->kind < SIP_FIRST_UNPARSED) {
					bool verifies = s->transport == SIP_TRANSPORT_TCP ||
							(tx && (s->kind < SIP_FIRST_RESPONSE ||
								s->kind == SIP_KA_CRLF_PING ||
								s->kind == SIP_KA_STUN_REQUEST));

					if (lookup_peer(ipv6, &v))
						fail_msg("%s: peer not recorded", what);
					if (lookup_peer_in(ipv6, verifies, &v))
						fail_msg("%s: peer recorded as %s", what,
							 verifies ? "unverified" : "verified");
					assert_int_equal(tx ? v.tx_messages : v.rx_messages, 3);
					assert_int_equal(tx ? v.rx_messages : v.tx_messages, 0);
					assert_true((tx ? v.last_tx_ns : v.last_rx_ns) > 0);
				} else if (!lookup_peer(ipv6, &v)) {
					fail_msg("%s: unparsed segment recorded a peer", what);
				}
			}
		}
	}
}

/*
 * Forged sources: a UDP request or ping from an address makes it an unverified source; the PBX
 * answering it (a response, a pong) does not verify it; the PBX sending it a request does, and
 * carries over what was counted. A flood of unverified sources larger than the map evicts only
 * unverified sources, never a verified peer.
 */
static void test_unverified_sources(void **state)
{
	static const char ping[] = "\r\n\r\n", resp[] = "SIP/2.0 401 Unauthorized\r\n\r\n",
			  req[] = "OPTIONS sip:a@10.99.0.2 SIP/2.0\r\n\r\n";
	struct frame_spec rx = {.transport = SIP_TRANSPORT_UDP, .sport = 5060, .dport = 5060};
	struct sip_peer_value v;
	uint8_t frame[256];
	size_t len;

	clear_peers();
	len = build_frame(frame, &rx, false, ping, sizeof(ping) - 1);
	assert_int_equal(run(prog_fd(false, false), frame, len, 2), 0);
	assert_int_not_equal(lookup_peer_in(false, true, &v), 0);
	assert_int_equal(lookup_peer_in(false, false, &v), 0);
	assert_int_equal(v.rx_messages, 2);
	len = build_frame(frame, &rx, true, resp, sizeof(resp) - 1);
	assert_int_equal(run(prog_fd(true, false), frame, len, 1), 0);
	assert_int_not_equal(lookup_peer_in(false, true, &v), 0); /* a response verifies nothing */
	assert_int_equal(lookup_peer_in(false, false, &v), 0);
	assert_int_equal(v.tx_messages, 1);
	len = build_frame(frame, &rx, true, req, sizeof(req) - 1);
	assert_int_equal(run(prog_fd(true, false), frame, len, 1), 0);
	assert_int_not_equal(lookup_peer_in(false, false, &v), 0);
	assert_int_equal(lookup_peer_in(false, true, &v), 0);
	assert_int_equal(v.rx_messages, 2);
	assert_int_equal(v.tx_messages, 2);
	assert_true(v.last_rx_ns > 0 && v.last_tx_ns > 0);
	/* Then 3 x the map's size of forged sources: the verified peer stays. */
	for (uint32_t i = 0; i < 3 * bpf_map__max_entries(skel->maps.sip_unverified4); i++) {
		uint8_t *saddr;

		len = build_frame(frame, &rx, false, ping, sizeof(ping) - 1);
		saddr = frame + 14 + 12; /* IPv4 source: a different forged address each time */
		saddr[0] = 10;
		saddr[1] = 98;
		saddr[2] = (uint8_t)(i >> 8);
		saddr[3] = (uint8_t)i;
		/* the header checksum is not checked by the classifier */
		assert_int_equal(run(prog_fd(false, false), frame, len, 1), 0);
	}
	assert_int_equal(lookup_peer_in(false, true, &v), 0);
	assert_int_equal(v.tx_messages, 2);
}

/* A frame cut anywhere before its end is malformed (IP length > frame): it counts nothing. */
static void test_truncated_at_every_offset(void **state)
{
	const char *msgs[] = {"INVITE sip:bob@10.99.0.1 SIP/2.0\r\nVia: x\r\n\r\n", "\r\n\r\n",
			      "SIP/2.0 200 OK\r\n\r\n"};
	uint8_t frame[512];

	for (size_t m = 0; m < 3; m++) {
		for (int enc = 0; enc < 8; enc++) {
			struct frame_spec f = {.ipv6 = enc & 1,
					       .vlan = enc & 2,
					       .transport =
						   enc & 4 ? SIP_TRANSPORT_TCP : SIP_TRANSPORT_UDP,
					       .sport = 40000,
					       .dport = 5060};
			size_t len = build_frame(frame, &f, false, msgs[m], strlen(msgs[m]));

			for (size_t cut = ETH_HLEN + 1; cut < len;
			     cut++) { /* test runs need more than the MAC header */
				char what[96];

				snprintf(what, sizeof(what), "msg %zu enc %d cut at %zu", m, enc,
					 cut);
				expect_delta(what, prog_fd(false, false), frame, cut, 1, -1);
				/* The kernel refuses skb test runs without a whole IP header
				 * (EINVAL): the stack never hands tc such a packet either. */
				if (f.vlan || cut >= ETH_HLEN + (f.ipv6 ? 40u : 20u))
					expect_delta(what, prog_fd(true, false), frame, cut, 1, -1);
			}
		}
	}
}

static void test_ports(void **state)
{
	const char *msg = "OPTIONS sip:pbx SIP/2.0\r\n\r\n";
	uint8_t frame[256];
	struct frame_spec f = {.transport = SIP_TRANSPORT_UDP, .sport = 40000, .dport = 5080};
	size_t len = build_frame(frame, &f, false, msg, strlen(msg));

	expect_delta("SIP on a non-SIP port", prog_fd(false, false), frame, len, 1, -1);
	expect_delta("SIP on a non-SIP port (tc)", prog_fd(true, false), frame, len, 1, -1);
	/* The second configured port, as the source port */
	f.sport = 5061;
	len = build_frame(frame, &f, false, msg, strlen(msg));
	expect_delta("SIP from 5061", prog_fd(false, false), frame, len, 1,
		     SIP_COUNTER_INDEX(SIP_DIR_RX, SIP_TRANSPORT_UDP, SIP_REQ_OPTIONS));
	/* A pure TCP ACK on 5060 has no payload: not counted at all */
	f.transport = SIP_TRANSPORT_TCP;
	f.sport = 5060;
	len = build_frame(frame, &f, false, "", 0);
	expect_delta("empty TCP segment", prog_fd(false, false), frame, len, 1, -1);
}

/* Short frames are padded to 60 bytes on Ethernet: the IP/UDP length decides, not the frame. */
static void test_padded_pong(void **state)
{
	uint8_t frame[128];
	struct frame_spec f = {.transport = SIP_TRANSPORT_TCP, .sport = 40000, .dport = 5060};
	size_t len = build_frame(frame, &f, false, "\r\n", 2);

	assert_true(len < 60);
	memset(frame + len, 0, 60 - len);
	expect_delta("padded pong", prog_fd(false, false), frame, 60, 1,
		     SIP_COUNTER_INDEX(SIP_DIR_RX, SIP_TRANSPORT_TCP, SIP_KA_CRLF_PONG));
}

/* Fixed seed: the run is the same every time. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/*
 * 1 000 000 program runs over random frames: 50 000 frames (random bytes, and valid headers on
 * port 5060 around random payloads), each run 10 times by XDP and 10 times by tc. The frames carry
 * no SIP; the counters must show exactly what the userspace classifier says about each payload.
 */
static void test_random_frames(void **state)
{
	uint64_t before[SIP_NR_COUNTERS], after[SIP_NR_COUNTERS], expect[SIP_NR_COUNTERS] = {0};
	enum { FRAMES = 50000, REPEAT = 10 };
	uint8_t frame[600], payload[400];
	unsigned long sip_like = 0;

	read_counts(before);
	for (int i = 0; i < FRAMES; i++) {
		size_t len;

		if (i % 2) {
			len = 14 + rnd() % 300;
			for (size_t b = 0; b < len; b++)
				frame[b] = (uint8_t)rnd();
		} else {
			struct frame_spec f = {.ipv6 = rnd() & 1,
					       .vlan = rnd() & 1,
					       .transport = (int)(rnd() & 1),
					       .sport = 40000,
					       .dport = 5060};
			size_t plen = rnd() % sizeof(payload);
			struct sip_window w = {0};
			int kind;

			for (size_t b = 0; b < plen; b++)
				payload[b] = (uint8_t)rnd();
			len = build_frame(frame, &f, false, payload, plen);
			memcpy(w.b, payload, plen < SIP_WINDOW ? plen : SIP_WINDOW);
			kind = sip_classify(&w, (__u32)plen, (__u32)f.transport);
			if (kind != SIP_NONE) {
				expect[SIP_COUNTER_INDEX(SIP_DIR_RX, f.transport, kind)] += REPEAT;
				expect[SIP_COUNTER_INDEX(SIP_DIR_TX, f.transport, kind)] += REPEAT;
			}
			if (kind != SIP_NONE && kind < SIP_FIRST_UNPARSED)
				sip_like++;
		}
		assert_int_equal(run(prog_fd(false, false), frame, len, REPEAT), 0);
		assert_int_equal(run(prog_fd(true, false), frame, len, REPEAT), 0);
	}
	read_counts(after);
	assert_int_equal(sip_like, 0); /* random bytes never look like SIP to the classifier */
	for (int i = 0; i < SIP_NR_COUNTERS; i++)
		if (after[i] - before[i] != expect[i])
			fail_msg("random frames: counter %d moved by %llu, expected %llu", i,
				 (unsigned long long)(after[i] - before[i]),
				 (unsigned long long)expect[i]);
}

/* Records from the sip_msgs ring buffer, collected by drain(). */
static struct sip_msg_event got[8];
static int nr_got;

static int collect_msg(void *ctx, void *data, size_t size)
{
	assert_int_equal(size, sizeof(struct sip_msg_event));
	if (nr_got < (int)(sizeof(got) / sizeof(got[0])))
		memcpy(&got[nr_got], data, sizeof(got[0]));
	nr_got++;
	return 0;
}

static void drain(struct ring_buffer *rb)
{
	nr_got = 0;
	assert_true(ring_buffer__consume(rb) >= 0);
}

static void expect_copy(const char *what, const struct sip_msg_event *e, const uint8_t *payload,
			size_t len, bool tx, bool ipv6, int transport, int kind)
{
	const uint8_t *peer = ipv6 ? peer_v6 : peer_v4, *local = ipv6 ? local_v6 : local_v4;
	size_t alen = ipv6 ? 16 : 4, copied = len < SIP_MSG_COPY ? len : SIP_MSG_COPY;

	if (e->dir != (tx ? SIP_DIR_TX : SIP_DIR_RX) || e->transport != transport ||
	    e->family != (ipv6 ? SW_AF_INET6 : SW_AF_INET) || e->kind != kind)
		fail_msg("%s: record dir %u transport %u family %u kind %u", what, e->dir,
			 e->transport, e->family, e->kind);
	if (e->sport != (tx ? 5060 : 40000) || e->dport != (tx ? 40000 : 5060))
		fail_msg("%s: ports %u -> %u", what, e->sport, e->dport);
	if (memcmp(e->saddr, tx ? local : peer, alen) || memcmp(e->daddr, tx ? peer : local, alen))
		fail_msg("%s: addresses", what);
	if (e->copied != copied || e->msg_len != len || memcmp(e->data, payload, copied))
		fail_msg("%s: copied %u of %u bytes, expected %zu of %zu", what, e->copied,
			 e->msg_len, copied, len);
	assert_true(e->ts_ns > 0);
}

/*
 * Every corpus sample through each program once: a request or response is copied exactly once,
 * with its direction, addresses, ports and bytes; a keepalive or unparsed segment never. A message
 * longer than the copy is cut at SIP_MSG_COPY with its real length recorded.
 */
static void test_message_copies(void **state)
{
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(skel->maps.sip_msgs), collect_msg, NULL, NULL);
	uint8_t frame[4096], big[1500];

	assert_non_null(rb);
	drain(rb);
	for (size_t i = 0; i < SIP_CORPUS_SIZE; i++) {
		const struct sip_sample *s = &sip_corpus[i];
		bool copied = s->kind >= SIP_FIRST_REQUEST && s->kind < SIP_FIRST_KEEPALIVE;

		for (int enc = 0; enc < 2; enc++) {
			for (int dir = 0; dir < 3; dir++) {
				bool tx = dir == 1, ipv6 = enc & 1;
				struct frame_spec f = {.ipv6 = ipv6,
						       .transport = s->transport,
						       .sport = tx ? 5060 : 40000,
						       .dport = tx ? 40000 : 5060};
				size_t len =
				    build_frame(frame, &f, tx, s->payload, sip_sample_len(s));
				char what[160];

				snprintf(what, sizeof(what), "%s (ipv6=%d dir=%d)", s->name, ipv6,
					 dir);
				assert_int_equal(run(prog_fd(tx, dir == 2), frame, len, 1), 0);
				drain(rb);
				if (nr_got != (copied ? 1 : 0))
					fail_msg("%s: %d records", what, nr_got);
				if (copied)
					expect_copy(what, &got[0], (const uint8_t *)s->payload,
						    sip_sample_len(s), tx, ipv6, s->transport,
						    s->kind);
			}
		}
	}
	/* 1 400 bytes: cut at the copy's size. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "INVITE sip:b@pbx SIP/2.0\r\n", 26);
	for (int dir = 0; dir < 3; dir++) {
		bool tx = dir == 1;
		struct frame_spec f = {.transport = SIP_TRANSPORT_UDP,
				       .sport = tx ? 5060 : 40000,
				       .dport = tx ? 40000 : 5060};
		size_t len = build_frame(frame, &f, tx, big, 1400);

		assert_int_equal(run(prog_fd(tx, dir == 2), frame, len, 1), 0);
		drain(rb);
		assert_int_equal(nr_got, 1);
		expect_copy("1400-byte INVITE", &got[0], big, 1400, tx, false, SIP_TRANSPORT_UDP,
			    SIP_REQ_INVITE);
	}
	ring_buffer__free(rb);
}

/*
 * BPF_PROG_TEST_RUN of an XDP program swaps it into the kernel's XDP dispatcher and out again,
 * with an RCU grace period each way (~10 ms per run). A program that is already attached in native
 * mode somewhere stays in the dispatcher, and test runs are then as fast as tc ones. So: a private
 * network namespace (gone when the test exits) with a veth pair, the XDP program on one end.
 */
static int pin_xdp_in_dispatcher(void)
{
	int ifindex;

	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	if (system("ip link add swtest0 type veth peer name swtest1 && ip link set swtest0 up && "
		   "ip link set swtest1 up"))
		return -1;
	ifindex = (int)if_nametoindex("swtest0");
	if (!ifindex)
		return -1;
	return bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.sip_xdp), XDP_FLAGS_DRV_MODE,
			      NULL);
}

static int setup(void **state)
{
	nr_cpus = libbpf_num_possible_cpus();
	skel = sip_bpf__open();
	if (!skel)
		return -1;
	skel->rodata->cfg.nr_sip_ports = 2;
	skel->rodata->cfg.sip_ports[0] = 5060;
	skel->rodata->cfg.sip_ports[1] = 5061;
	skel->rodata->sip_copy_msgs = true; /* as the agent loads it */
	skel->rodata->sip_xdp_copy = true;
	if (sip_bpf__load(skel)) {
		fprintf(stderr, "sip.bpf.o failed to load\n");
		return -1;
	}
	if (pin_xdp_in_dispatcher()) {
		fprintf(stderr, "cannot attach the XDP program to a test veth\n");
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	sip_bpf__destroy(skel);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_message_copies),
	    cmocka_unit_test(test_corpus_every_encapsulation),
	    cmocka_unit_test(test_truncated_at_every_offset),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_padded_pong),
	    cmocka_unit_test(test_unverified_sources),
	    cmocka_unit_test(test_random_frames),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
