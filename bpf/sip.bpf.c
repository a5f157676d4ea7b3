// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP traffic classifier: XDP on ingress (tc ingress where XDP cannot attach), tc clsact on
 * egress. Per packet: Ethernet (one VLAN tag), IPv4/IPv6, UDP/TCP; the ports are checked before any
 * payload byte is touched, and only packets from or to a SIP port go further. Their first
 * SIP_WINDOW payload bytes go through include/sip_parse.h; the result is one per-CPU counter
 * increment and, for classified SIP, one peer-table update. A request or response (not a keepalive,
 * not an unparsed segment) is also copied, its first SIP_MSG_COPY bytes, into the "sip_msgs" ring
 * buffer for the agent's transaction and registration tracking (docs/sip-harm.md: why a copy and
 * not fields extracted here). Nothing of this runs before the port check.
 *
 * Namespace filter: the programs are attached only to interfaces of the agent's network namespace,
 * so every packet they see is the agent's namespace's (cfg.netns_ino is not needed here).
 *
 * Packet access: XDP reads the packet directly with bounds checks (works on every kernel with
 * XDP; bpf_xdp_load_bytes would need 5.18). tc reads the headers directly from the linear part and
 * the payload with bpf_skb_load_bytes (TCP payload usually sits in page fragments).
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "sip_abi.h"
#include "sip_parse.h"

#define ETH_P_IP_BE	bpf_htons(0x0800)
#define ETH_P_IPV6_BE	bpf_htons(0x86DD)
#define ETH_P_8021Q_BE	bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)
#define IP_MF_OFFSET	bpf_htons(0x3fff) /* more-fragments flag and fragment offset */
#define IP_OFFSET	bpf_htons(0x1fff)
#define TC_ACT_UNSPEC	(-1) /* let the next filter / the default action decide */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SIP_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} sip_counts SEC(".maps");

/* Sizes set by the agent from --peers.max before load (include/sip_abi.h: why two maps). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __be32);
	__type(value, struct sip_peer_value);
} sip_peers4 SEC(".maps");

struct sip_peer6_key {
	union {
		__u8 addr[16];
		__u64 half[2]; /* copied from the packet in two loads, not sixteen */
	};
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sip_peer6_key);
	__type(value, struct sip_peer_value);
} sip_peers6 SEC(".maps");

/*
 * Sources not verified yet (include/sip_abi.h): a UDP source the PBX has sent no request or ping
 * to is only an address in a packet header, which anyone can forge. They live in maps of their
 * own, so a flood of forged sources evicts only other unverified ones, never a verified peer.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __be32);
	__type(value, struct sip_peer_value);
} sip_unverified4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sip_peer6_key);
	__type(value, struct sip_peer_value);
} sip_unverified6 SEC(".maps");

/*
 * SIP messages for the agent (include/sip_abi.h, struct sip_msg_event). Apart from "events"
 * (incidents only): 5 000 messages/s is 5.5 MB/s of records, and a burst must not crowd out an
 * incident. 512 KiB holds about 460 records, 90 ms at 5 000 messages/s (the agent drains it as it
 * is woken); records it cannot take are counted in sip_msgs_dropped
 * (sipwatch_ringbuf_events_dropped_total). Not larger: the agent maps the ring twice over, and
 * that is resident memory (1 MiB made the agent's RSS 2 MiB larger at 10 000 peers).
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} sip_msgs SEC(".maps");

__u64 sip_msgs_dropped = 0;

/* A quarter of the ring: about 115 messages, 23 ms at 5 000 messages/s. */
#define SIP_MSGS_WAKEUP_BYTES (128 * 1024)

/* Set by the agent before load: copy messages at all (off: the classifier only). */
const volatile bool sip_copy_msgs = false;
/* bpf_xdp_load_bytes exists (5.18+): without it, XDP ingress copies nothing. */
const volatile bool sip_xdp_copy = false;
/* make bench only: discard the record instead of submitting it (nobody drains the ring while
 * BPF_PROG_TEST_RUN repeats a frame; the work done is the same reserve, copy and commit). */
const volatile bool sip_msgs_discard = false;

struct sip_pkt {
	void *payload;
	void *saddr; /* into the packet: 4 or 16 bytes */
	void *daddr;
	__u32 payload_off; /* from the start of the frame */
	__u32 payload_len; /* from the IP/UDP lengths, not the frame (Ethernet pads short frames) */
	__u8 transport;	   /* SIP_TRANSPORT_* */
	__u8 family;	   /* SW_AF_* */
	__u16 sport_be, dport_be;
};

static __always_inline bool sip_port_pair(__u16 sport_be, __u16 dport_be)
{
	return is_sip_port(bpf_ntohs(dport_be)) || is_sip_port(bpf_ntohs(sport_be));
}

/*
 * Find the L4 payload of a UDP or TCP packet from or to a SIP port. @frame_len is the whole
 * frame's length (XDP: data_end - data; tc: skb->len). Returns 0 when @p is filled.
 */
static __always_inline int sip_headers(void *data, void *data_end, __u32 frame_len,
				       struct sip_pkt *p)
{
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__u16 proto;
	__u32 l3_len, l4_proto;
	void *l4;

	if (l3 > data_end)
		return -1;
	proto = eth->h_proto;
	if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return -1;
		proto = vlan->h_vlan_encapsulated_proto;
		l3 = vlan + 1;
	}
	if (proto == ETH_P_IP_BE) {
		struct iphdr *ip = l3;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return -1;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip) || (ip->frag_off & IP_OFFSET))
			return -1; /* no L4 header in later fragments */
		l3_len = bpf_ntohs(ip->tot_len);
		l4 = l3 + ihl;
		if (l3_len < ihl)
			return -1;
		l3_len -= ihl; /* now: L4 bytes */
		l4_proto = ip->protocol;
		p->family = SW_AF_INET;
		p->saddr = &ip->saddr;
		p->daddr = &ip->daddr;
	} else if (proto == ETH_P_IPV6_BE) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		l4 = ip6 + 1;
		l3_len = bpf_ntohs(ip6->payload_len); /* no extension headers: nexthdr is L4 */
		l4_proto = ip6->nexthdr;
		p->family = SW_AF_INET6;
		p->saddr = &ip6->saddr;
		p->daddr = &ip6->daddr;
	} else {
		return -1;
	}
	/* The IP header's length must fit in the frame (the kernel drops it otherwise). */
	if ((__u64)(l4 - data) + l3_len > frame_len)
		return -1;

	if (l4_proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		__u32 udp_len;

		if ((void *)(udp + 1) > data_end || !sip_port_pair(udp->source, udp->dest))
			return -1;
		udp_len = bpf_ntohs(udp->len);
		if (udp_len < sizeof(*udp))
			return -1;
		if (udp_len > l3_len) /* first fragment of a larger datagram: what is here */
			udp_len = l3_len;
		p->transport = SIP_TRANSPORT_UDP;
		p->sport_be = udp->source;
		p->dport_be = udp->dest;
		p->payload = udp + 1;
		p->payload_len = udp_len - sizeof(*udp);
	} else if (l4_proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		__u32 doff;

		if ((void *)(tcp + 1) > data_end || !sip_port_pair(tcp->source, tcp->dest))
			return -1;
		doff = tcp->doff * 4;
		if (doff < sizeof(*tcp) || doff > l3_len)
			return -1;
		p->transport = SIP_TRANSPORT_TCP;
		p->sport_be = tcp->source;
		p->dport_be = tcp->dest;
		p->payload = l4 + doff;
		p->payload_len = l3_len - doff;
	} else {
		return -1;
	}
	p->payload_off = p->payload - data;
	return 0;
}

static __always_inline void sip_count(int dir, __u32 transport, int kind)
{
	__u32 idx = SIP_COUNTER_INDEX(dir, transport, kind);
	__u64 *count = bpf_map_lookup_elem(&sip_counts, &idx);

	if (count)
		*count += 1; /* per-CPU: no atomic needed */
}

/* Last-seen times closer than this are not rewritten (saves a store per message). */
#define SIP_PEER_TIME_STEP_NS (100ULL * 1000000ULL)

static __always_inline void sip_peer_touch(__u64 *last_ns, __u64 now)
{
	if (now - *last_ns >= SIP_PEER_TIME_STEP_NS)
		*last_ns = now;
}

/* This message into a peer's value (a fresh one, or one carried over from the unverified map). */
static __always_inline void sip_peer_apply(struct sip_peer_value *v, int dir, __u32 ifindex,
					   __u64 now)
{
	v->ifindex = ifindex;
	if (dir == SIP_DIR_RX) {
		v->last_rx_ns = now;
		v->rx_messages += 1;
	} else {
		v->last_tx_ns = now;
		v->tx_messages += 1;
	}
}

/*
 * One family's peer update: @verified and @unverified are that family's maps, @key its key.
 * A verified peer (the common case) costs one lookup and an in-place update. A message from an
 * unverified source updates or inserts it in the unverified map; a verifying message (@verifying)
 * inserts the peer into the verified map, carrying over what the unverified map had counted.
 * A macro, not a function: each family's maps must be named in its own call (see below).
 */
#define SIP_PEER_UPDATE(verified, unverified, key)                                                 \
	do {                                                                                       \
		v = bpf_map_lookup_elem(&verified, &key);                                          \
		if (v)                                                                             \
			break;                                                                     \
		u = bpf_map_lookup_elem(&unverified, &key);                                        \
		if (!verifying) {                                                                  \
			if (u) {                                                                   \
				v = u;                                                             \
				break;                                                             \
			}                                                                          \
			sip_peer_apply(&fresh, dir, ifindex, now);                                 \
			bpf_map_update_elem(&unverified, &key, &fresh, BPF_NOEXIST);               \
			return;                                                                    \
		}                                                                                  \
		if (u)                                                                             \
			fresh = *u;                                                                \
		sip_peer_apply(&fresh, dir, ifindex, now);                                         \
		bpf_map_update_elem(&verified, &key, &fresh, BPF_NOEXIST);                         \
		if (u)                                                                             \
			bpf_map_delete_elem(&unverified, &key);                                    \
		return;                                                                            \
	} while (0)

/*
 * The remote side of a classified message: its source on rx, its destination on tx. Lookup
 * first, update in place; insert only when absent. Each family's map is named in its own call:
 * a lookup the verifier sees on one known map is inlined, one on "either map" is an indirect call.
 * The coarse clock (CLOCK_MONOTONIC at tick precision, 5.11+) is enough for an idle timeout of
 * minutes and costs a load, not a clock read.
 */
static __always_inline void sip_peer_seen(const struct sip_pkt *p, void *data_end, int dir,
					  __u32 ifindex, bool verifying)
{
	void *addr = dir == SIP_DIR_RX ? p->saddr : p->daddr;
	__u64 now = bpf_ktime_get_coarse_ns();
	struct sip_peer_value *v, *u, fresh = {};

	if (p->family == SW_AF_INET) {
		__be32 key4;

		if (addr + 4 > data_end)
			return;
		key4 = *(__be32 *)addr;
		SIP_PEER_UPDATE(sip_peers4, sip_unverified4, key4);
	} else {
		struct sip_peer6_key key6;

		if (addr + 16 > data_end)
			return;
		key6.half[0] = *(__u64 *)addr;
		key6.half[1] = *(__u64 *)(addr + 8);
		SIP_PEER_UPDATE(sip_peers6, sip_unverified6, key6);
	}
	if (dir == SIP_DIR_RX) {
		sip_peer_touch(&v->last_rx_ns, now);
		__sync_fetch_and_add(&v->rx_messages, 1);
	} else {
		sip_peer_touch(&v->last_tx_ns, now);
		__sync_fetch_and_add(&v->tx_messages, 1);
	}
	if (v->ifindex != ifindex)
		v->ifindex = ifindex;
}

/*
 * What makes a peer verified: a message on TCP (a handshake took place: the source is real), or
 * a request or ping the PBX sends (it chose to contact this address). Not a response or a pong
 * the PBX sends: a forged request from any address draws those.
 */
static __always_inline bool sip_verifies(int kind, int dir, __u8 transport)
{
	if (transport == SIP_TRANSPORT_TCP)
		return true;
	if (dir != SIP_DIR_TX)
		return false;
	return kind < SIP_FIRST_RESPONSE || kind == SIP_KA_CRLF_PING || kind == SIP_KA_STUN_REQUEST;
}

/* Returns the kind. */
static __always_inline int sip_account(const struct sip_pkt *p, void *data_end,
				       const struct sip_window *w, int dir, __u32 ifindex)
{
	int kind = sip_classify(w, p->payload_len, p->transport);

	if (kind == SIP_NONE)
		return kind;
	sip_count(dir, p->transport, kind);
	if (kind < SIP_FIRST_UNPARSED)
		sip_peer_seen(p, data_end, dir, ifindex, sip_verifies(kind, dir, p->transport));
	return kind;
}

/*
 * A ring-buffer record for a request or response, everything but the data filled in; NULL for
 * any other kind, when copying is off, or when the ring is full (counted).
 */
static __always_inline struct sip_msg_event *sip_msg_start(const struct sip_pkt *p, void *data_end,
							   int kind, int dir, __u32 ifindex)
{
	struct sip_msg_event *e;

	if (!sip_copy_msgs || kind < SIP_FIRST_REQUEST || kind >= SIP_FIRST_KEEPALIVE)
		return NULL;
	e = bpf_ringbuf_reserve(&sip_msgs, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&sip_msgs_dropped, 1);
		return NULL;
	}
	__builtin_memset(e->saddr, 0, 32);
	if (p->family == SW_AF_INET) {
		if (p->saddr + 4 > data_end || p->daddr + 4 > data_end)
			goto discard;
		__builtin_memcpy(e->saddr, p->saddr, 4);
		__builtin_memcpy(e->daddr, p->daddr, 4);
	} else {
		if (p->saddr + 16 > data_end || p->daddr + 16 > data_end)
			goto discard;
		__builtin_memcpy(e->saddr, p->saddr, 16);
		__builtin_memcpy(e->daddr, p->daddr, 16);
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = ifindex;
	e->msg_len = p->payload_len > 0xffff ? 0xffff : p->payload_len;
	e->copied = 0;
	e->dir = dir;
	e->transport = p->transport;
	e->family = p->family;
	e->kind = kind;
	e->sport = bpf_ntohs(p->sport_be);
	e->dport = bpf_ntohs(p->dport_be);
	return e;
discard:
	bpf_ringbuf_discard(e, 0);
	return NULL;
}

/* 1..SIP_MSG_COPY by arithmetic (the 6.1 verifier learns no lower bound from a test). */
static __always_inline __u32 sip_msg_copy_len(__u32 payload_len)
{
	__u64 n = payload_len < SIP_MSG_COPY ? payload_len : SIP_MSG_COPY;

	return ((n - 1) & (SIP_MSG_COPY - 1)) + 1;
}

static __always_inline void sip_msg_finish(struct sip_msg_event *e, long err, __u32 n)
{
	if (err || sip_msgs_discard) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	e->copied = n;
	/* The agent is woken only once a batch is waiting (and drains the rest every tick and
	 * before every scrape): a wakeup per message was most of its CPU at 5 000 messages/s. */
	bpf_ringbuf_submit(e,
			   bpf_ringbuf_query(&sip_msgs, BPF_RB_AVAIL_DATA) >= SIP_MSGS_WAKEUP_BYTES
			       ? BPF_RB_FORCE_WAKEUP
			       : BPF_RB_NO_WAKEUP);
}

/*
 * The window from packet data read directly: eight bytes a load where they are in the packet,
 * then byte by byte to its end. Offsets stay constants for the verifier, and a short payload costs
 * 8 + 7 steps, not 64. The 8-byte loads are unaligned (the verifier allows that for packet data,
 * and the JIT emits plain loads). Bytes past @data_end stay zero.
 */
static __always_inline void sip_window_fill(struct sip_window *w, __u8 *pl, void *data_end)
{
#pragma unroll
	for (int c = 0; c < SIP_WINDOW / 8; c++) {
		if ((void *)(pl + 8 * c + 8) <= data_end) {
			w->q[c] = *(__u64 *)(pl + 8 * c);
			continue;
		}
#pragma unroll
		for (int i = 8 * c; i < 8 * c + 8; i++) {
			if ((void *)(pl + i + 1) > data_end)
				break;
			w->b[i] = pl[i];
		}
		break;
	}
}

SEC("xdp")
int sip_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct sip_window w = {};
	struct sip_pkt p;
	struct sip_msg_event *e;
	int kind;

	if (sip_headers(data, data_end, data_end - data, &p) || !p.payload_len)
		return XDP_PASS;
	sip_window_fill(&w, p.payload, data_end);
	kind = sip_account(&p, data_end, &w, SIP_DIR_RX, ctx->ingress_ifindex);
	if (!sip_xdp_copy)
		return XDP_PASS;
	e = sip_msg_start(&p, data_end, kind, SIP_DIR_RX, ctx->ingress_ifindex);
	if (e) {
		__u32 n = sip_msg_copy_len(p.payload_len);

		sip_msg_finish(e, bpf_xdp_load_bytes(ctx, p.payload_off, e->data, n), n);
	}
	return XDP_PASS;
}

static __always_inline int sip_tc(struct __sk_buff *skb, int dir)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct sip_window w = {};
	struct sip_pkt p;
	struct sip_msg_event *e;
	int kind;
	__u64 n; /* 64-bit: no zero-extended copy between the bound check and the call */

	if (sip_headers(data, data_end, skb->len, &p) || !p.payload_len)
		return TC_ACT_UNSPEC;
	n = p.payload_len < SIP_WINDOW ? p.payload_len : SIP_WINDOW;
	/* In the linear part (a datagram the host sends usually is): read it like XDP does, which
	 * saves a helper call; TCP payload in page fragments takes bpf_skb_load_bytes. */
	if (p.payload + n <= data_end) {
		sip_window_fill(&w, p.payload, data_end);
		goto classify;
	}
	/*
	 * 1..SIP_WINDOW by arithmetic, not by a test: the 6.1 verifier learns no lower bound from
	 * "n < 1" and rejects a possibly zero-sized read (payload_len is at least 1 here).
	 */
	n = ((n - 1) & (SIP_WINDOW - 1)) + 1;
	if (bpf_skb_load_bytes(skb, p.payload_off, w.b, n))
		return TC_ACT_UNSPEC;
classify:
	kind = sip_account(&p, data_end, &w, dir, skb->ifindex);
	e = sip_msg_start(&p, data_end, kind, dir, skb->ifindex);
	if (e) {
		__u32 len = sip_msg_copy_len(p.payload_len);

		sip_msg_finish(e, bpf_skb_load_bytes(skb, p.payload_off, e->data, len), len);
	}
	return TC_ACT_UNSPEC;
}

SEC("tc")
int sip_tc_egress(struct __sk_buff *skb)
{
	return sip_tc(skb, SIP_DIR_TX);
}

/* Ingress on interfaces where XDP cannot attach at all. */
SEC("tc")
int sip_tc_ingress(struct __sk_buff *skb)
{
	return sip_tc(skb, SIP_DIR_RX);
}
