/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ABI between bpf/ and agent/: configuration handed to every BPF object as rodata, and the
 * constants both sides name. One record header per concern lives next to it
 * (include/<concern>_abi.h).
 *
 * This header is compiled by clang -target bpf (with vmlinux.h) and by gcc (with the uapi
 * headers), so it uses only __u8 … __u64 and defines nothing that either side already has.
 */
#ifndef SIPWATCH_H
#define SIPWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SIPWATCH_MAX_SIP_PORTS 8
#define SIPWATCH_IFNAMSIZ      16

/* Set by the agent in each skeleton's rodata before load; the verifier prunes what it disables. */
struct sipwatch_bpf_config {
	__u32 netns_ino; /* observe only this network namespace ... */
	__u8 all_netns;	 /* ... unless this is set (--netns.all) */
	__u8 nr_sip_ports;
	__u16 sip_ports[SIPWATCH_MAX_SIP_PORTS]; /* host byte order */
};

/*
 * Neighbour (NUD) states: the uapi values of <linux/neighbour.h>. Macros are not in BTF, so the
 * BPF side needs them spelled out; they are part of the kernel's user ABI and never change.
 */
#define SW_NUD_NONE	  0x00
#define SW_NUD_INCOMPLETE 0x01
#define SW_NUD_REACHABLE  0x02
#define SW_NUD_STALE	  0x04
#define SW_NUD_DELAY	  0x08
#define SW_NUD_PROBE	  0x10
#define SW_NUD_FAILED	  0x20
#define SW_NUD_NOARP	  0x40
#define SW_NUD_PERMANENT  0x80

#define SW_AF_INET  2
#define SW_AF_INET6 10

/* Every ring-buffer record starts with this, so one callback can dispatch on type. */
enum sipwatch_event_type {
	SIPWATCH_EV_NEIGH_FAILED = 1,
	SIPWATCH_EV_SEND_STALL = 2,  /* include/sendq_abi.h */
	SIPWATCH_EV_TCP_TIMEOUT = 3, /* include/tcp_abi.h */
};

struct sipwatch_event_hdr {
	__u32 type; /* enum sipwatch_event_type */
	__u32 netns_ino;
	__u64 ts_ns; /* bpf_ktime_get_ns() */
};

#endif /* SIPWATCH_H */
