// SPDX-License-Identifier: GPL-2.0-only
/*
 * Neighbour resolution: follows each neighbour entry's NUD state machine through the neigh:*
 * tracepoints and counts transitions. No tracepoint reports "old → new" for every path, so the
 * last state seen per entry is kept in neigh_tracks and each hook compares against it.
 *
 * Parked packets: neigh_event_send_done with rc 1 on an INCOMPLETE entry means the skb was put at
 * the tail of n->arp_queue; it is charged to its socket there (truesize, as in sk_wmem_alloc)
 * until the entry resolves (queue sent), fails (queue dropped) or is destroyed. neigh_holds keeps
 * that per (entry, socket); skb:kfree_skb counts the drops by reason.
 *
 * The kernel does not promise every tracepoint call reaches the program: measured on 6.18, a whole
 * timer-wheel batch of neigh_timer_handler calls (~64 entries expiring in the same tick) went by
 * unseen while other BPF programs were attached or detached elsewhere on the host, with no
 * recursion miss counted. The state such a call leaves behind stays in the entry: neigh_sweep,
 * run by the agent every second, compares each tracked entry's nud_state with the last state
 * seen and counts the change it finds (neigh_swept keeps how many changes only the sweep saw).
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"
#include "neigh_abi.h"

#define MAX_TRACKED_NEIGH 16384
#define MAX_HOLDS	  8192
#define ETH_P_IP	  0x0800
#define ETH_P_IPV6	  0x86DD

/* Set by the agent: the kernel reports IPv4 queue drops with a reason on kfree_skb. Without it
 * (kfree_skb probe down) the FAILED transition counts the queue it drops, as for IPv6. */
const volatile bool ipv4_drops_have_reason = false;

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

/* The share of neigh_state_changes that no tracepoint reported: found by neigh_sweep. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct neigh_state_key);
	__type(value, __u64);
} neigh_swept SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct neigh_drop_key);
	__type(value, __u64);
} neigh_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_HOLDS);
	__type(key, struct neigh_hold_key);
	__type(value, struct neigh_hold);
} neigh_holds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_HOLDS);
	__type(key, __u64); /* struct sk_buff * */
	__type(value, struct neigh_parked_skb);
} neigh_parked SEC(".maps");

/* [0] IPv4, [1] IPv6 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct neigh_res_hist);
} neigh_resolution SEC(".maps");

/* The FAILED record is built here (too big for the stack), then copied into the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct neigh_failed_event);
} neigh_failed_scratch SEC(".maps");

static const __u64 res_bounds_us[NEIGH_RES_BUCKETS] = NEIGH_RES_BOUNDS_US;

static __always_inline bool neigh_wanted(const struct neighbour *n, __u8 *family)
{
	__u8 fam = BPF_CORE_READ(n, tbl, family);

	if (fam != SW_AF_INET && fam != SW_AF_INET6)
		return false;
	*family = fam;
	return netns_wanted(BPF_CORE_READ(n, dev, nd_net.net));
}

static __always_inline void device_key(struct neigh_state_key *key, const struct net_device *dev,
				       __u8 family, __u8 state)
{
	key->netns_ino = net_ino(BPF_CORE_READ(dev, nd_net.net));
	key->ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&key->ifname, dev, name);
	key->family = family;
	key->state = state;
}

static __always_inline void count_transition(const struct neighbour *n, __u8 family, __u8 state,
					     __u8 admin, bool swept)
{
	struct neigh_state_key key = {};

	device_key(&key, BPF_CORE_READ(n, dev), family, state);
	key.admin = admin;
	map_counter_add(&neigh_state_changes, &key, 1);
	if (swept)
		map_counter_add(&neigh_swept, &key, 1);
}

static __always_inline void count_drops(const struct net_device *dev, __u8 family, __u8 reason,
					__u64 packets)
{
	struct neigh_drop_key key = {};

	device_key(&key, dev, family, reason);
	map_counter_add(&neigh_drops, &key, packets);
}

static __always_inline void observe_resolution(__u8 family, __u64 ns)
{
	__u32 idx = family == SW_AF_INET6 ? 1 : 0, b;
	struct neigh_res_hist *h = bpf_map_lookup_elem(&neigh_resolution, &idx);

	if (!h)
		return;
	for (b = 0; b < NEIGH_RES_BUCKETS; b++)
		if (ns <= res_bounds_us[b] * 1000)
			break;
	if (b > NEIGH_RES_BUCKETS)
		return;
	__sync_fetch_and_add(&h->count[b], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

struct release_ctx {
	__u64 neigh;
	__u64 now;
	__u32 gen;
	__u8 how; /* enum neigh_release */
};

/*
 * bpf_for_each_map_elem callback: mark the (entry, socket) holdings of the episode that just ended
 * as released; when the entry failed, their parked packets are the ones it dropped: add them to
 * the FAILED record (SIP sockets by name, the rest as a sum).
 */
static long release_hold(void *map, struct neigh_hold_key *key, struct neigh_hold *h,
			 struct release_ctx *ctx)
{
	struct neigh_failed_event *e;
	struct neigh_failed_socket *s;
	__u32 zero = 0, i;

	if (key->neigh != ctx->neigh || h->gen != ctx->gen || h->release != NEIGH_HELD)
		return 0;
	h->release = ctx->how;
	h->released_ns = ctx->now;
	if (ctx->how != NEIGH_RELEASED_FAILED)
		return 0;
	h->dropped_packets += h->packets;
	h->dropped_bytes += h->bytes;
	e = bpf_map_lookup_elem(&neigh_failed_scratch, &zero);
	if (!e)
		return 0;
	e->dropped_packets += h->packets;
	e->dropped_bytes += h->bytes;
	i = e->nr_sockets;
	if (!key->sk || !is_sip_port(h->port) || i >= NEIGH_EVENT_MAX_SOCKETS) {
		e->other_sockets++;
		e->other_packets += h->packets;
		e->other_bytes += h->bytes;
		return 0;
	}
	s = &e->sockets[i];
	s->sk = key->sk;
	s->bytes = h->bytes;
	s->peak_bytes = h->peak_bytes;
	s->packets = h->packets;
	s->tgid = h->tgid;
	__builtin_memcpy(s->comm, h->comm, sizeof(s->comm));
	s->proto = h->proto;
	s->port = h->port;
	e->nr_sockets = i + 1;
	return 0;
}

static __always_inline void end_episode(const struct neighbour *n, struct neigh_track *t, __u8 how)
{
	struct release_ctx ctx = {
	    .neigh = (__u64)n, .now = bpf_ktime_get_ns(), .gen = t->gen, .how = how};

	if (t->queued)
		bpf_for_each_map_elem(&neigh_holds, release_hold, &ctx, 0);
	t->gen++;
	t->queued = 0;
	t->nr_behind = 0;
	t->queue_bytes = 0;
	t->queue_packets = 0;
	t->first_queued_ns = 0;
}

/*
 * The entry went FAILED. @admin: an administrator deleted it (neigh_delete: `ip neigh del/flush`);
 * what it had parked is dropped all the same, but no resolution failed: no incident record.
 */
static __always_inline void failed(const struct neighbour *n, struct neigh_track *t, __u8 family,
				   __u8 old_state, __u8 admin, bool swept)
{
	struct neigh_failed_event *e;
	__u32 zero = 0, queued = t->queue_packets;
	__u64 first_queued_ns = t->first_queued_ns;

	e = bpf_map_lookup_elem(&neigh_failed_scratch, &zero);
	if (!e)
		return;
	if (admin)
		goto release;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = SIPWATCH_EV_NEIGH_FAILED;
	e->hdr.netns_ino = t->netns_ino;
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->neigh = (__u64)n;
	e->ifindex = t->ifindex;
	__builtin_memcpy(e->ifname, t->ifname, sizeof(e->ifname));
	e->family = family;
	e->old_state = old_state;
	e->probes = BPF_CORE_READ(n, probes.counter);
	__builtin_memcpy(e->addr, t->addr, sizeof(e->addr));
	e->since_confirmed_jiffies = bpf_jiffies64() - BPF_CORE_READ(n, confirmed);
	if (first_queued_ns)
		e->queued_ns = e->hdr.ts_ns - first_queued_ns;
	e->nr_behind = t->nr_behind;
	__builtin_memcpy(e->behind, t->behind, sizeof(e->behind));
	if (swept)
		e->flags = NEIGH_EVENT_F_SWEPT;

release:
	end_episode(n, t, NEIGH_RELEASED_FAILED);

	/* IPv6 (ndisc_error_report) frees the queue without a drop reason: what was parked when
	 * the entry failed is what it dropped. */
	if (queued && (family == SW_AF_INET6 || !ipv4_drops_have_reason))
		count_drops(BPF_CORE_READ(n, dev), family, NEIGH_DROP_FAILED, queued);
	if (admin)
		return;

	e = bpf_map_lookup_elem(&neigh_failed_scratch, &zero);
	if (!e)
		return;
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0))
		__sync_fetch_and_add(&events_dropped, 1);
}

static __always_inline struct neigh_track *track_new(const struct neighbour *n, __u8 family,
						     __u8 state)
{
	struct neigh_track fresh = {.state = state, .family = family};
	const struct net_device *dev = BPF_CORE_READ(n, dev);

	fresh.netns_ino = net_ino(BPF_CORE_READ(dev, nd_net.net));
	fresh.ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&fresh.ifname, dev, name);
	bpf_probe_read_kernel(fresh.addr, family == SW_AF_INET ? 4 : 16, n->primary_key);
	if (state == SW_NUD_INCOMPLETE)
		fresh.incomplete_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&neigh_tracks, &n, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&neigh_tracks, &n);
}

/*
 * The entry @t tracks is now in @state, not in the last state seen: count the change, and end
 * the queue episode it closes. @swept: found by neigh_sweep, no tracepoint reported it.
 */
static __always_inline void transition(const struct neighbour *n, struct neigh_track *t,
				       __u8 family, __u8 state, bool swept)
{
	__u8 old = t->state, admin;

	t->state = state;
	admin = state == SW_NUD_FAILED && t->admin_failing;
	t->admin_failing = 0;
	count_transition(n, family, state, admin, swept);
	if (state == SW_NUD_INCOMPLETE)
		t->incomplete_ns = bpf_ktime_get_ns();
	if (old == SW_NUD_INCOMPLETE && state == SW_NUD_REACHABLE && t->incomplete_ns)
		observe_resolution(family, bpf_ktime_get_ns() - t->incomplete_ns);
	if (state != SW_NUD_INCOMPLETE)
		t->incomplete_ns = 0;
	if (state == SW_NUD_FAILED)
		failed(n, t, family, old, admin, swept);
	else if (old == SW_NUD_INCOMPLETE)
		end_episode(n, t, NEIGH_RELEASED_SENT);
}

/*
 * Compare the entry's state with the last one seen and count a change. An entry seen for the first
 * time (it predates the agent, or its creation was missed) is only recorded. Returns the track.
 */
static __always_inline struct neigh_track *observe(const struct neighbour *n)
{
	struct neigh_track *t;
	__u8 family, state;

	if (!n || !neigh_wanted(n, &family))
		return NULL;
	state = BPF_CORE_READ(n, nud_state);
	t = bpf_map_lookup_elem(&neigh_tracks, &n);
	if (!t)
		return track_new(n, family, state);
	if (!t->family) /* created by neigh_create, before the key was filled in */
		bpf_probe_read_kernel(t->addr, family == SW_AF_INET ? 4 : 16, n->primary_key);
	t->family = family;
	if (t->state != state)
		transition(n, t, family, state, false);
	return t;
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
	fresh.netns_ino = net_ino(BPF_CORE_READ(dev, nd_net.net));
	fresh.ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&fresh.ifname, dev, name);
	bpf_map_update_elem(&neigh_tracks, &n, &fresh, BPF_ANY);
	return 0;
}

/*
 * NEIGH_UPDATE_F_ADMIN: the update came from an administrator (netlink). Its value changed when
 * NEIGH_UPDATE_F_MANAGED was added (v5.16), in the same patch as neigh_table.managed_list.
 */
static __always_inline __u32 neigh_update_f_admin(void)
{
	return bpf_core_field_exists(struct neigh_table, managed_list) ? 1u << 7 : 1u << 31;
}

/*
 * First statement of __neigh_update: nud_state is still the old state. That old state may be one
 * no other hook saw (INCOMPLETE set and answered inside one __neigh_event_send call), so it counts.
 * @new and @flags say what was asked: neigh_delete (`ip neigh del`, `ip neigh flush`) asks for
 * FAILED with NEIGH_UPDATE_F_ADMIN, which neigh_update_done must not take for a failed resolution.
 */
SEC("tp_btf/neigh_update")
int BPF_PROG(neigh_update, struct neighbour *n, const __u8 *lladdr, __u8 new_state, __u32 flags)
{
	struct neigh_track *t = observe(n);

	if (t)
		t->admin_failing = new_state == SW_NUD_FAILED && (flags & neigh_update_f_admin());
	return 0;
}

SEC("tp_btf/neigh_update_done")
int BPF_PROG(neigh_update_done, struct neighbour *n, int err)
{
	struct neigh_track *t = observe(n);

	if (t) /* the update is over: a later FAILED is the kernel's own */
		t->admin_failing = 0;
	return 0;
}

/* The only hook that sees INCOMPLETE/PROBE → FAILED, and the timer's REACHABLE → STALE etc. */
SEC("tp_btf/neigh_timer_handler")
int BPF_PROG(neigh_timer_handler, struct neighbour *n, int err)
{
	observe(n);
	return 0;
}

static __always_inline bool addr_equal(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/* The IP destination of a queued packet: a peer behind this entry when it is a gateway. */
static __always_inline void note_destination(const struct neighbour *n, struct neigh_track *t,
					     const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u8 dst[16] __attribute__((aligned(8))) = {};
	__u32 i;

	if (t->family == SW_AF_INET)
		bpf_probe_read_kernel(dst, 4, head + nh + offsetof(struct iphdr, daddr));
	else
		bpf_probe_read_kernel(dst, 16, head + nh + offsetof(struct ipv6hdr, daddr));
	if (addr_equal(dst, t->addr))
		return;
	for (i = 0; i < NEIGH_MAX_BEHIND; i++) {
		if (i >= t->nr_behind)
			break;
		if (addr_equal(dst, t->behind[i]))
			return;
	}
	if (i < NEIGH_MAX_BEHIND) {
		__builtin_memcpy(t->behind[i], dst, 16);
		t->nr_behind = i + 1;
	}
}

static __always_inline void note_queued(const struct neighbour *n, struct neigh_track *t)
{
	struct sk_buff *skb = (struct sk_buff *)BPF_CORE_READ(n, arp_queue.prev);
	struct neigh_parked_skb parked = {.neigh = (__u64)n, .gen = t->gen};
	struct neigh_hold_key key = {.neigh = (__u64)n};
	struct neigh_hold *h, fresh = {};
	__u64 now = bpf_ktime_get_ns(), skb_addr = (__u64)skb;
	__u32 truesize;
	struct sock *sk;

	/* Empty queue: the list head points at itself. */
	if (!skb || (void *)skb == (void *)&n->arp_queue)
		return;
	truesize = BPF_CORE_READ(skb, truesize);
	sk = BPF_CORE_READ(skb, sk);
	key.sk = (__u64)sk;

	if (!t->queued)
		t->first_queued_ns = now;
	t->queued = 1;
	t->queue_bytes = BPF_CORE_READ(n, arp_queue_len_bytes);
	t->queue_packets = BPF_CORE_READ(n, arp_queue.qlen);
	note_destination(n, t, skb);
	bpf_map_update_elem(&neigh_parked, &skb_addr, &parked, BPF_ANY);

	h = bpf_map_lookup_elem(&neigh_holds, &key);
	if (!h || h->gen != t->gen || h->release != NEIGH_HELD) {
		fresh.first_ns = now;
		fresh.gen = t->gen;
		fresh.tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		fresh.netns_ino = t->netns_ino;
		fresh.ifindex = t->ifindex;
		__builtin_memcpy(fresh.ifname, t->ifname, sizeof(fresh.ifname));
		__builtin_memcpy(fresh.addr, t->addr, sizeof(fresh.addr));
		fresh.family = t->family;
		if (sk) {
			__u8 sk_state = BPF_CORE_READ(sk, __sk_common.skc_state);

			/* Request and time-wait sockets share only sock_common with a full
			 * socket: no sk_protocol to read, and both are TCP. */
			if (sk_state == TCP_NEW_SYN_RECV || sk_state == TCP_TIME_WAIT)
				fresh.proto = IPPROTO_TCP;
			else
				fresh.proto = BPF_CORE_READ(sk, sk_protocol);
			fresh.port = BPF_CORE_READ(sk, __sk_common.skc_num);
		}
		if (h) { /* keep the socket's drop history across episodes */
			fresh.dropped_packets = h->dropped_packets;
			fresh.dropped_bytes = h->dropped_bytes;
		}
		bpf_map_update_elem(&neigh_holds, &key, &fresh, BPF_ANY);
		h = bpf_map_lookup_elem(&neigh_holds, &key);
		if (!h)
			return;
	}
	h->last_ns = now;
	h->bytes += truesize;
	h->packets++;
	h->queued_packets++;
	if (h->bytes > h->peak_bytes)
		h->peak_bytes = h->bytes;
	if (h->packets > h->peak_packets)
		h->peak_packets = h->packets;
}

/*
 * Slow path of __neigh_event_send: NONE/FAILED → INCOMPLETE, STALE → DELAY. rc 1 with the entry
 * still INCOMPLETE: the skb was queued, it is the queue's tail. (An entry answered within the
 * call is already REACHABLE here, its queue sent: nothing stays parked.)
 */
SEC("tp_btf/neigh_event_send_done")
int BPF_PROG(neigh_event_send_done, struct neighbour *n, int rc)
{
	struct neigh_track *t = observe(n);

	if (t && rc == 1 && t->state == SW_NUD_INCOMPLETE)
		note_queued(n, t);
	return 0;
}

SEC("tp_btf/neigh_cleanup_and_release")
int BPF_PROG(neigh_cleanup_and_release, struct neighbour *n, int rc)
{
	struct neigh_track *t = bpf_map_lookup_elem(&neigh_tracks, &n);

	if (t && t->queued)
		end_episode(n, t, NEIGH_RELEASED_GONE);
	bpf_map_delete_elem(&neigh_tracks, &n);
	return 0;
}

/* A queued skb evicted to make room for a new one: take it off its socket's holding. */
static __always_inline void unpark_evicted(const struct sk_buff *skb)
{
	__u64 skb_addr = (__u64)skb;
	struct neigh_parked_skb *p = bpf_map_lookup_elem(&neigh_parked, &skb_addr);
	struct neigh_hold_key key = {};
	struct neigh_hold *h;
	__u32 truesize;

	if (!p)
		return;
	key.neigh = p->neigh;
	key.sk = (__u64)BPF_CORE_READ(skb, sk);
	h = bpf_map_lookup_elem(&neigh_holds, &key);
	if (h && h->gen == p->gen && h->release == NEIGH_HELD && h->packets) {
		truesize = BPF_CORE_READ(skb, truesize);
		h->bytes = h->bytes > truesize ? h->bytes - truesize : 0;
		h->packets--;
		h->dropped_packets++;
		h->dropped_bytes += truesize;
	}
	bpf_map_delete_elem(&neigh_parked, &skb_addr);
}

/*
 * A change the hooks report is reported by the call that made it: the sweep leaves alone entries
 * that changed less than this many jiffies ago (2-20 ms), so that it does not race a hook.
 */
#define SWEEP_MIN_AGE_JIFFIES 2

struct sweep_ctx {
	__u64 now_jiffies;
	__u32 found;
};

/*
 * bpf_for_each_map_elem callback over neigh_tracks. The key is the entry's address: a track whose
 * entry went away unseen (its cleanup call was lost too) may point at freed or reused memory, so
 * the entry is read with probe reads and must still be the one tracked (table family, device,
 * address) and not dead before its state is taken.
 */
static long sweep_track(void *map, __u64 *key, struct neigh_track *t, struct sweep_ctx *ctx)
{
	const struct neighbour *n = (const struct neighbour *)*key;
	__u8 addr[16] __attribute__((aligned(8))) = {};
	__u8 family = t->family, state;

	if (family != SW_AF_INET && family != SW_AF_INET6)
		return 0; /* neigh_create only: no hook has seen the entry since */
	if (BPF_CORE_READ(n, dead) || BPF_CORE_READ(n, tbl, family) != family ||
	    BPF_CORE_READ(n, dev, ifindex) != (int)t->ifindex)
		return 0;
	bpf_probe_read_kernel(addr, family == SW_AF_INET ? 4 : 16, n->primary_key);
	if (!addr_equal(addr, t->addr))
		return 0;
	state = BPF_CORE_READ(n, nud_state);
	if (state == t->state ||
	    ctx->now_jiffies - BPF_CORE_READ(n, updated) < SWEEP_MIN_AGE_JIFFIES)
		return 0;
	transition(n, t, family, state, true);
	ctx->found++;
	return 0;
}

/* Run by the agent every second (BPF_PROG_TEST_RUN): returns how many changes it found. */
SEC("syscall")
int neigh_sweep(void *ctx)
{
	struct sweep_ctx sweep = {.now_jiffies = bpf_jiffies64()};

	bpf_for_each_map_elem(&neigh_tracks, sweep_track, &sweep, 0);
	return sweep.found;
}

/*
 * Run by the agent (BPF_PROG_TEST_RUN), never attached: the incident's "seconds since confirmed"
 * is a jiffies difference, and where the kernel's config file (CONFIG_HZ) is not readable the
 * agent calibrates HZ from two of these samples.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct neigh_clock);
} neigh_clock SEC(".maps");

SEC("syscall")
int neigh_clock_sample(void *ctx)
{
	__u32 zero = 0;
	struct neigh_clock *c = bpf_map_lookup_elem(&neigh_clock, &zero);

	if (c) {
		c->jiffies = bpf_jiffies64();
		c->ns = bpf_ktime_get_ns();
	}
	return 0;
}

/*
 * Every drop on the host comes through here: the reason is checked first (enum values are read
 * from this kernel's BTF, they move between versions), then the namespace.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_neigh, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	const struct net_device *dev;
	__u16 proto;
	__u8 why, family;

	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NEIGH_FAILED))
		why = NEIGH_DROP_FAILED;
	else if (reason ==
		 bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NEIGH_QUEUEFULL))
		why = NEIGH_DROP_QUEUE_FULL;
	else if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NEIGH_DEAD))
		why = NEIGH_DROP_DEAD;
	else if (reason ==
		 bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NEIGH_CREATEFAIL))
		why = NEIGH_DROP_CREATE_FAILED;
	else
		return 0;
	dev = BPF_CORE_READ(skb, dev);
	if (!dev || !netns_wanted(BPF_CORE_READ(dev, nd_net.net)))
		return 0;
	proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	if (proto == ETH_P_IP)
		family = SW_AF_INET;
	else if (proto == ETH_P_IPV6)
		family = SW_AF_INET6;
	else
		return 0;
	/* IPv6 frees its failed queue without this reason: counted at the FAILED transition. */
	if (why == NEIGH_DROP_FAILED && family == SW_AF_INET6)
		return 0;
	count_drops(dev, family, why, 1);
	if (why == NEIGH_DROP_QUEUE_FULL)
		unpark_evicted(skb);
	return 0;
}
