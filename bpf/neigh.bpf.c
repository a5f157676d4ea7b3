// SPDX-License-Identifier: GPL-2.0-only
/*
 * Neighbour resolution: follows each neighbour entry's NUD state machine through the neigh:*
 * tracepoints and counts transitions. No tracepoint reports "old → new" for every path, so the
 * last state seen per entry is kept in neigh_tracks and each hook compares against it.
 */
#include "common.bpf.h"
#include "neigh_abi.h"

#define MAX_TRACKED_NEIGH 16384

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_TRACKED_NEIGH);
	__type(key, __u64); /* struct neighbour * */
	__type(value, struct neigh_track);
} neigh_tracks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct neigh_state_key);
	__type(value, __u64);
} neigh_state_changes SEC(".maps");

static __always_inline bool neigh_wanted(const struct neighbour *n, __u8 *family)
{
	__u8 fam = BPF_CORE_READ(n, tbl, family);

	if (fam != SW_AF_INET && fam != SW_AF_INET6)
		return false;
	*family = fam;
	return netns_wanted(BPF_CORE_READ(n, dev, nd_net.net));
}

static __always_inline void count_transition(const struct neighbour *n, __u8 family, __u8 state)
{
	struct neigh_state_key key = {};
	__u64 one = 1, *cnt;

	key.netns_ino = net_ino(BPF_CORE_READ(n, dev, nd_net.net));
	key.ifindex = BPF_CORE_READ(n, dev, ifindex);
	BPF_CORE_READ_STR_INTO(&key.ifname, n, dev, name);
	key.family = family;
	key.state = state;
	cnt = bpf_map_lookup_elem(&neigh_state_changes, &key);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&neigh_state_changes, &key, &one, BPF_NOEXIST);
}

static __always_inline void emit_failed(const struct neighbour *n, __u8 family, __u8 old_state)
{
	struct neigh_failed_event *e = event_reserve(sizeof(*e));
	__u32 keylen;

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = SIPWATCH_EV_NEIGH_FAILED;
	e->hdr.netns_ino = net_ino(BPF_CORE_READ(n, dev, nd_net.net));
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->ifindex = BPF_CORE_READ(n, dev, ifindex);
	BPF_CORE_READ_STR_INTO(&e->ifname, n, dev, name);
	e->family = family;
	e->old_state = old_state;
	e->probes = BPF_CORE_READ(n, probes.counter);
	keylen = family == SW_AF_INET ? 4 : 16;
	bpf_probe_read_kernel(e->addr, keylen, n->primary_key);
	bpf_ringbuf_submit(e, 0);
}

/*
 * Compare the entry's state with the last one seen and count a change. An entry seen for the first
 * time (it predates the agent, or its creation was missed) is only recorded.
 */
static __always_inline void observe(const struct neighbour *n)
{
	struct neigh_track *t, fresh = {};
	__u8 family, state, old;

	if (!n || !neigh_wanted(n, &family))
		return;
	state = BPF_CORE_READ(n, nud_state);
	t = bpf_map_lookup_elem(&neigh_tracks, &n);
	if (!t) {
		fresh.state = state;
		bpf_map_update_elem(&neigh_tracks, &n, &fresh, BPF_ANY);
		return;
	}
	old = t->state;
	if (old == state)
		return;
	t->state = state;
	count_transition(n, family, state);
	if (state == SW_NUD_FAILED)
		emit_failed(n, family, old);
}

/*
 * Fires right after allocation, before n->dev and the key are filled in (and n may still be thrown
 * away if another CPU created the same entry): only note that the entry starts in NONE, so the
 * first state it moves into is counted.
 */
SEC("tp_btf/neigh_create")
int BPF_PROG(neigh_create, struct neigh_table *tbl, struct net_device *dev, const void *pkey,
	     const struct neighbour *n, bool exempt_from_gc)
{
	struct neigh_track fresh = {.state = SW_NUD_NONE};
	__u8 family = BPF_CORE_READ(tbl, family);

	if (!n || (family != SW_AF_INET && family != SW_AF_INET6))
		return 0;
	if (!netns_wanted(BPF_CORE_READ(dev, nd_net.net)))
		return 0;
	bpf_map_update_elem(&neigh_tracks, &n, &fresh, BPF_ANY);
	return 0;
}

/*
 * First statement of __neigh_update: nud_state is still the old state. That old state may be one
 * no other hook saw (INCOMPLETE set and answered inside one __neigh_event_send call), so it counts.
 */
SEC("tp_btf/neigh_update")
int BPF_PROG(neigh_update, struct neighbour *n)
{
	observe(n);
	return 0;
}

SEC("tp_btf/neigh_update_done")
int BPF_PROG(neigh_update_done, struct neighbour *n, int err)
{
	observe(n);
	return 0;
}

/* The only hook that sees INCOMPLETE/PROBE → FAILED, and the timer's REACHABLE → STALE etc. */
SEC("tp_btf/neigh_timer_handler")
int BPF_PROG(neigh_timer_handler, struct neighbour *n, int err)
{
	observe(n);
	return 0;
}

/* Slow path of __neigh_event_send: NONE/FAILED → INCOMPLETE, STALE → DELAY. */
SEC("tp_btf/neigh_event_send_done")
int BPF_PROG(neigh_event_send_done, struct neighbour *n, int rc)
{
	observe(n);
	return 0;
}

SEC("tp_btf/neigh_cleanup_and_release")
int BPF_PROG(neigh_cleanup_and_release, struct neighbour *n, int rc)
{
	bpf_map_delete_elem(&neigh_tracks, &n);
	return 0;
}
