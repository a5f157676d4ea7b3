/* SPDX-License-Identifier: GPL-2.0-only */
/* Records shared by bpf/neigh.bpf.c and agent/neigh.c. */
#ifndef SIPWATCH_NEIGH_ABI_H
#define SIPWATCH_NEIGH_ABI_H

#include "sipwatch.h"

/* Key of the state-transition counters: one per (namespace, interface, family, new state). */
struct neigh_state_key {
	__u32 netns_ino;
	__u32 ifindex;
	char ifname[SIPWATCH_IFNAMSIZ];
	__u8 family; /* SW_AF_INET / SW_AF_INET6 */
	__u8 state;  /* SW_NUD_* the entry moved into */
	__u8 pad[2];
};

/* What the BPF side remembers about one neighbour entry, keyed by its kernel address. */
struct neigh_track {
	__u8 state; /* last NUD state seen */
	__u8 pad[7];
};

/* Ring-buffer record: an entry reached FAILED. */
struct neigh_failed_event {
	struct sipwatch_event_hdr hdr;
	__u32 ifindex;
	char ifname[SIPWATCH_IFNAMSIZ];
	__u8 family;
	__u8 old_state;
	__u8 pad[2];
	__u32 probes;
	__u8 addr[16]; /* IPv4 in the first 4 bytes */
};

#endif /* SIPWATCH_NEIGH_ABI_H */
