/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by every sipwatch BPF object: the agent's configuration (rodata), the namespace filter,
 * the SIP port filter and the ring buffer with its drop counter.
 */
#ifndef SIPWATCH_COMMON_BPF_H
#define SIPWATCH_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sipwatch.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct sipwatch_bpf_config cfg = {};

/* Incidents only: rare, interesting things. Per-packet and per-send data stays in maps. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Records the ring buffer could not take (full): exported as sipwatch_ringbuf_events_dropped_total.
 */
__u64 events_dropped = 0;

static __always_inline void *event_reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		__sync_fetch_and_add(&events_dropped, 1);
	return e;
}

static __always_inline __u32 net_ino(const struct net *net)
{
	return BPF_CORE_READ(net, ns.inum);
}

/* True when namespace inode @ino is one the agent was told to observe. */
static __always_inline bool netns_ino_wanted(__u32 ino)
{
	return cfg.all_netns || ino == cfg.netns_ino;
}

/* The same for @net, read with CO-RE. */
static __always_inline bool netns_wanted(const struct net *net)
{
	return netns_ino_wanted(net_ino(net));
}

static __always_inline bool is_sip_port(__u16 port)
{
#pragma unroll
	for (int i = 0; i < SIPWATCH_MAX_SIP_PORTS; i++) {
		if (i >= cfg.nr_sip_ports)
			break;
		if (cfg.sip_ports[i] == port)
			return true;
	}
	return false;
}

/* Index of @port in cfg.sip_ports, or -1: for per-port slots in arrays. */
static __always_inline int sip_port_index(__u16 port)
{
#pragma unroll
	for (int i = 0; i < SIPWATCH_MAX_SIP_PORTS; i++) {
		if (i >= cfg.nr_sip_ports)
			break;
		if (cfg.sip_ports[i] == port)
			return i;
	}
	return -1;
}

#endif /* SIPWATCH_COMMON_BPF_H */
