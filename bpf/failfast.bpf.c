// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fail-fast: refuse SIP packets to peers whose next hop the kernel found FAILED, before they
 * reach the neighbour layer. A cgroup_skb egress program at the cgroup v2 root runs in
 * ip_finish_output()/ip6_finish_output(), ahead of neighbour resolution (tc egress runs after it
 * and would be too late): a refused packet is never parked in the unresolved queue, never holds
 * the socket's send buffer, and the sender gets EPERM at once instead of blocking for seconds.
 *
 * The agent fills failfast_dests; an empty map costs one global load per packet.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "failfast_abi.h"

#define ETH_P_IP    0x0800
#define ETH_P_IPV6  0x86DD
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* The agent's namespace, by cookie: cgroups span namespaces, so every packet is checked. */
const volatile __u64 netns_cookie = 0;

/* Number of entries in failfast_dests, kept by the agent: the fast path when nothing is dead. */
__u32 nr_dests = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FAILFAST_MAX_DESTS);
	__type(key, struct failfast_key);
	__type(value, struct failfast_value);
} failfast_dests SEC(".maps");

static __always_inline bool sip_ports_at(struct __sk_buff *skb, __u32 l4_off)
{
	__u16 ports[2];

	if (bpf_skb_load_bytes(skb, l4_off, ports, sizeof(ports)))
		return false;
	return is_sip_port(bpf_ntohs(ports[0])) || is_sip_port(bpf_ntohs(ports[1]));
}

SEC("cgroup_skb/egress")
int failfast_egress(struct __sk_buff *skb)
{
	struct failfast_key key = {};
	struct failfast_value *v;
	__u32 l4_off;
	__u8 proto;

	if (!nr_dests)
		return 1;
	if (!cfg.all_netns && bpf_get_netns_cookie(skb) != netns_cookie)
		return 1;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr iph;

		if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
			return 1;
		proto = iph.protocol;
		l4_off = iph.ihl * 4;
		key.family = SW_AF_INET;
		__builtin_memcpy(key.addr, &iph.daddr, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6h;

		if (bpf_skb_load_bytes(skb, 0, &ip6h, sizeof(ip6h)))
			return 1;
		proto = ip6h.nexthdr; /* extension headers: not SIP signalling as sent by PBXs */
		l4_off = sizeof(ip6h);
		key.family = SW_AF_INET6;
		__builtin_memcpy(key.addr, &ip6h.daddr, 16);
	} else {
		return 1;
	}
	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return 1;
	v = bpf_map_lookup_elem(&failfast_dests, &key);
	if (!v || !sip_ports_at(skb, l4_off))
		return 1;
	__sync_fetch_and_add(&v->drops, 1);
	return 0;
}
