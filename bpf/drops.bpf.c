// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every packet from or to a SIP port that the kernel frees as a drop (skb:kfree_skb), counted by
 * the kernel's own drop reason, direction, protocol and SIP port; and per socket (the receiving
 * socket the kernel found, or the sender's) for the sip_drops incident.
 *
 * This runs for every drop on the host. What it does before the SIP-port test is only what that
 * test needs: the L3 protocol, one read of the IP header with the ports behind it. The reason is
 * kept as the running kernel's number (enum skb_drop_reason moves between versions); the agent
 * names it from the kernel's BTF.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"
#include "drops_abi.h"

#define ETH_P_IP       0x0800
#define ETH_P_IPV6     0x86DD
#define IP_OFFSET_MASK 0x1fff
#define TIME_WAIT      6  /* TCP_TIME_WAIT */
#define NEW_SYN_RECV   12 /* TCP_NEW_SYN_RECV */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct drops_key);
	__type(value, __u64);
} sip_drops SEC(".maps");

/* LRU: a flood of drops on sockets that come and go keeps the most recent ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct drops_sock_key);
	__type(value, struct drops_sock);
} sip_drop_socks SEC(".maps");

/* Addresses and ports of a dropped packet, as on the wire. */
struct packet {
	__u8 family;
	__u8 proto;
	__u16 sport, dport;
	__u8 saddr[16], daddr[16];
};

/*
 * The IP header at the skb's network header and the two ports behind it. Fragments after the
 * first and IPv6 packets with extension headers before UDP/TCP are not looked into (SIP does not
 * send either in practice).
 */
static __always_inline bool parse(const struct sk_buff *skb, struct packet *p)
{
	const unsigned char *l3 = skb->head + skb->network_header;
	__u16 eth_proto = bpf_ntohs(skb->protocol);

	if (eth_proto == ETH_P_IP) {
		struct {
			struct iphdr ip;
			__be16 ports[2];
		} h;

		if (bpf_probe_read_kernel(&h, sizeof(h), l3))
			return false;
		if ((h.ip.protocol != IPPROTO_UDP && h.ip.protocol != IPPROTO_TCP) ||
		    (bpf_ntohs(h.ip.frag_off) & IP_OFFSET_MASK))
			return false;
		if (h.ip.ihl != 5 &&
		    bpf_probe_read_kernel(h.ports, sizeof(h.ports), l3 + h.ip.ihl * 4))
			return false;
		p->family = SW_AF_INET;
		p->proto = h.ip.protocol;
		p->sport = bpf_ntohs(h.ports[0]);
		p->dport = bpf_ntohs(h.ports[1]);
		__builtin_memcpy(p->saddr, &h.ip.saddr, 4);
		__builtin_memcpy(p->daddr, &h.ip.daddr, 4);
		return true;
	}
	if (eth_proto == ETH_P_IPV6) {
		struct {
			struct ipv6hdr ip;
			__be16 ports[2];
		} h;

		if (bpf_probe_read_kernel(&h, sizeof(h), l3))
			return false;
		if (h.ip.nexthdr != IPPROTO_UDP && h.ip.nexthdr != IPPROTO_TCP)
			return false;
		p->family = SW_AF_INET6;
		p->proto = h.ip.nexthdr;
		p->sport = bpf_ntohs(h.ports[0]);
		p->dport = bpf_ntohs(h.ports[1]);
		__builtin_memcpy(p->saddr, &h.ip.saddr, 16);
		__builtin_memcpy(p->daddr, &h.ip.daddr, 16);
		return true;
	}
	return false;
}

/* The socket's own drops, for the incident: full sockets only (not time-wait or request ones). */
static __always_inline void count_socket_drop(struct sock *sk, const struct drops_key *key,
					      const struct packet *p, __u32 netns_ino)
{
	struct drops_sock_key k = {.sk = (__u64)sk, .reason = key->reason, .dir = key->dir};
	struct drops_sock *v;
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	__u64 now = bpf_ktime_get_ns();
	bool rx = key->dir == DROPS_DIR_RX;

	if (state == TIME_WAIT || state == NEW_SYN_RECV)
		return;
	v = bpf_map_lookup_elem(&sip_drop_socks, &k);
	if (!v) {
		struct drops_sock n = {
		    .first_ns = now,
		    .netns_ino = netns_ino,
		    .port = key->port,
		    .local_port = BPF_CORE_READ(sk, __sk_common.skc_num),
		    .proto = key->proto,
		    .family = p->family,
		};

		n.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
		if (p->family == SW_AF_INET6)
			bpf_core_read(n.local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		else
			bpf_core_read(n.local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_map_update_elem(&sip_drop_socks, &k, &n, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&sip_drop_socks, &k);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->count, 1);
	v->last_ns = now;
	v->peer_port = rx ? p->sport : p->dport;
	__builtin_memcpy(v->peer_addr, rx ? p->saddr : p->daddr, 16);
}

static __always_inline int on_drop(struct sk_buff *skb, __u32 reason, struct sock *rx_sk)
{
	struct drops_key key = {.reason = reason};
	struct packet p = {};
	struct net_device *dev;
	struct sock *sk;
	__u16 local, remote;
	__u32 netns_ino;

	if (!parse(skb, &p))
		return 0;
	/* a packet that came in has the interface it came in on */
	key.dir = skb->skb_iif ? DROPS_DIR_RX : DROPS_DIR_TX;
	local = key.dir == DROPS_DIR_RX ? p.dport : p.sport;
	remote = key.dir == DROPS_DIR_RX ? p.sport : p.dport;
	if (is_sip_port(local))
		key.port = local;
	else if (is_sip_port(remote))
		key.port = remote;
	else
		return 0;
	sk = rx_sk ? rx_sk : skb->sk;
	dev = skb->dev;
	if (dev)
		netns_ino = dev->nd_net.net->ns.inum;
	else if (sk)
		netns_ino = sk->__sk_common.skc_net.net->ns.inum;
	else
		return 0;
	if (!netns_ino_wanted(netns_ino))
		return 0;
	key.proto = p.proto;
	map_counter_add(&sip_drops, &key, 1);
	if (sk)
		count_socket_drop(sk, &key, &p, netns_ino);
	return 0;
}

/* 6.11+: the tracepoint also names the receiving socket the kernel found (rx_sk). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_sip, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	return on_drop(skb, reason, rx_sk);
}

/* Kernels with drop reasons (5.17+) but no rx_sk: the socket is the skb's, where it has one. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_sip___no_rx_sk, struct sk_buff *skb, void *location,
	     enum skb_drop_reason reason)
{
	return on_drop(skb, reason, NULL);
}
