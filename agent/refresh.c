// SPDX-License-Identifier: GPL-2.0-only
#include "refresh.h"

#include <arpa/inet.h>
#include <bpf/btf.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"
#include "failfast.h"
#include "failfast_abi.h"
#include "ifname.h"
#include "kfacts.h"
#include "log.h"
#include "peers.h"
#include "probes.h"
#include "rtnl.h"

#define MAX_ENTRIES 4096
/*
 * NDA_PROTOCOL stamped on the entries sipwatch marks managed: what a later start recognises as
 * left behind by a sipwatch that could not clean up (killed, crashed). The kernel stores it and
 * never reads it; `ip -d neigh show` prints it as "proto 245". Not one of the RTPROT_* numbers
 * the kernel and the common routing daemons use.
 */
#define SIPWATCH_NEIGH_PROTO 245
/* Blocked peers whose route is looked up again per tick (round robin): route changes lift blocks.
 */
#define BLOCK_ROUTE_CHECKS_PER_TICK 256
/* A refresh's outcome is what the entry becomes within this time (DELAY 5 s + 3 probes). */
#define OUTCOME_WINDOW_MS 15000
/* Shortest reachable time the kernel may pick is base_reachable_time x 0.5 (RFC 4861). */
#define DEFAULT_BASE_REACHABLE_MS 30000

/* One neighbour entry the agent follows (only entries of the observed namespace exist here). */
struct entry {
	bool used;
	int ifindex;
	uint8_t family;
	uint8_t addr[16];
	uint8_t state;	    /* NUD_* as last notified; NUD_NONE once the kernel deleted the entry */
	uint8_t ndm_flags;  /* NTF_* as last notified (NTF_ROUTER, NTF_EXT_LEARNED, ...) */
	uint32_t flags_ext; /* NDA_FLAGS_EXT as last notified (NTF_EXT_MANAGED, ...) */
	uint8_t protocol; /* NDA_PROTOCOL as last notified (SIPWATCH_NEIGH_PROTO: stamped by us) */
	bool exists;	  /* the kernel has it now */
	bool seen_in_resync;
	bool managed_by_us;
	uint64_t candidate_until_ms;
	uint64_t last_refresh_ms;
	uint64_t outcome_pending_since_ms;
	bool deferred; /* due, but the token bucket was empty: counted once as skipped */
};

/*
 * One destination fail-fast refuses now, and the FAILED next hop it is refused for: the next hop
 * itself, or a verified SIP peer whose *current* route goes through it. Kept only while both hold.
 */
struct block {
	bool used;
	uint8_t family;
	uint8_t addr[16];
	int nh_ifindex;
	uint8_t nh[16];
};

static struct entry entries[MAX_ENTRIES];
static struct block blocks[FAILFAST_MAX_DESTS];
static size_t block_cursor;
static unsigned int resync_seq; /* the neighbour dump after a lost notification; 0: none */
static bool leftovers_checked;	/* managed flags an earlier sipwatch left: looked for once */
static enum refresh_mode mode;
static bool failfast_wanted;
static struct mnl_socket *nl_events, *nl_requests;
static unsigned int request_seq;
static struct token_bucket bucket;
static uint64_t window_ms;
static struct metric_family *refreshes, *outcomes, *skipped, *errors;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void token_bucket_init(struct token_bucket *tb, double rate, double burst, uint64_t now)
{
	tb->rate = rate;
	tb->burst = burst < 1 ? 1 : burst;
	tb->tokens = tb->burst;
	tb->last_ms = now;
}

bool token_bucket_take(struct token_bucket *tb, uint64_t now)
{
	if (now > tb->last_ms) {
		tb->tokens += (double)(now - tb->last_ms) / 1000.0 * tb->rate;
		if (tb->tokens > tb->burst)
			tb->tokens = tb->burst;
		tb->last_ms = now;
	}
	if (tb->tokens < 1)
		return false;
	tb->tokens -= 1;
	return true;
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET6 ? 16 : 4;
}

static struct entry *entry_find(int ifindex, uint8_t family, const uint8_t *addr, bool create)
{
	struct entry *free_slot = NULL;

	for (size_t i = 0; i < MAX_ENTRIES; i++) {
		struct entry *e = &entries[i];

		if (!e->used) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->ifindex == ifindex && e->family == family &&
		    !memcmp(e->addr, addr, addr_len(family)))
			return e;
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->ifindex = ifindex;
	free_slot->family = family;
	memcpy(free_slot->addr, addr, addr_len(family));
	return free_slot;
}

static void format_addr(const struct entry *e, char *buf, size_t len)
{
	decode_addr(buf, len, e->family, e->addr);
}

static const char *errno_label(int err)
{
	/* What a neighbour request can be refused with, as sipwatch_neigh_refresh_errors_total
	 * documents it. */
	static const int known[] = {EPERM, ENOENT, ENODEV, EINVAL, 0};

	return decode_errno_name(err, known);
}

/* Shortest reachable time of @e's interface: base_reachable_time_ms x 0.5. */
static uint64_t min_refresh_interval_ms(const struct entry *e)
{
	char ifname[IF_NAMESIZE];
	uint64_t base = DEFAULT_BASE_REACHABLE_MS;

	if (!ifname_of_index((unsigned)e->ifindex, ifname) ||
	    kfacts_neigh_sysctl_u64(e->family, ifname, "base_reachable_time_ms", &base))
		base = DEFAULT_BASE_REACHABLE_MS;
	return base / 2;
}

/*
 * Entries sipwatch must never write to: permanent and static ones (NUD_PERMANENT, NUD_NOARP),
 * externally learned ones (NTF_EXT_LEARNED: a routing daemon or EVPN owns them), ones with any
 * NDA_FLAGS_EXT flag it did not set, and managed ones it did not mark itself. Every RTM_NEWNEIGH
 * from an administrator rewrites the entry's flags (the kernel's neigh_update_flags() clears
 * NTF_EXT_LEARNED and NTF_MANAGED unless the request repeats them) and NTF_USE or a managed
 * request turns NUD_PERMANENT into NUD_NONE, so the only safe request to such an entry is none.
 */
static bool entry_not_ours(const struct entry *e)
{
	if (e->state & (NUD_PERMANENT | NUD_NOARP))
		return true;
	if (e->ndm_flags & NTF_EXT_LEARNED)
		return true;
	if (e->flags_ext & ~(uint32_t)NTF_EXT_MANAGED)
		return true;
	return (e->flags_ext & NTF_EXT_MANAGED) && !e->managed_by_us;
}

/*
 * RTM_NEWNEIGH for @e: NTF_USE asks the kernel to (re)resolve it now; @managed sets or clears
 * NTF_EXT_MANAGED. Never NLM_F_CREATE except to re-probe an entry the kernel already dropped.
 * NTF_ROUTER is repeated (an IPv6 router's flag would be cleared otherwise), and so is the
 * managed flag on entries sipwatch keeps managed; managed ones carry sipwatch's protocol stamp.
 */
static int send_neigh_request(const struct entry *e, bool use, int managed, uint16_t state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct ndmsg *ndm;

	if (managed < 0 && e->managed_by_us)
		managed = 1;
	ndm = rtnl_request(buf, RTM_NEWNEIGH,
			   NLM_F_ACK | NLM_F_REPLACE | (e->exists ? 0 : NLM_F_CREATE),
			   ++request_seq, sizeof(*ndm), e->family);
	ndm->ndm_ifindex = e->ifindex;
	ndm->ndm_state = state;
	ndm->ndm_flags = (uint8_t)((use ? NTF_USE : 0) | (e->ndm_flags & NTF_ROUTER));
	mnl_attr_put(nlh, NDA_DST, addr_len(e->family), e->addr);
	if (managed >= 0)
		mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, managed ? NTF_EXT_MANAGED : 0);
	if (managed > 0)
		mnl_attr_put_u8(nlh, NDA_PROTOCOL, SIPWATCH_NEIGH_PROTO);
	if (mnl_socket_sendto(nl_requests, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

static void count_error(int err, const struct entry *e, const char *what)
{
	char addr[INET6_ADDRSTRLEN];
	struct log_line l;

	metric_add(errors, LABELS(errno_label(err)), 1);
	format_addr(e, addr, sizeof(addr));
	if (log_begin(&l, LOG_WARN, "neighbour refresh request failed")) {
		log_str(&l, "request", what);
		log_str(&l, "address", addr);
		log_str(&l, "error", strerror(err));
		log_end(&l);
	}
}

static void refresh_entry(struct entry *e, uint64_t now)
{
	int err;

	if (e->exists && entry_not_ours(e))
		return;
	err = send_neigh_request(e, true, -1, NUD_NONE);
	if (err) {
		count_error(-err, e, "use");
		return;
	}
	e->last_refresh_ms = now;
	e->outcome_pending_since_ms = now;
	e->deferred = false;
	metric_add(refreshes, LABELS(decode_family_name(e->family)), 1);
}

static void set_managed(struct entry *e, bool on)
{
	/* Setting keeps the entry's state; clearing leaves it STALE, as a dynamic entry would be.
	 */
	int err;

	if (on && entry_not_ours(e))
		return;
	err = send_neigh_request(e, false, on, on ? e->state : NUD_STALE);
	if (err) {
		count_error(-err, e, on ? "managed" : "unmanage");
		return;
	}
	e->managed_by_us = on;
	if (on)
		metric_add(refreshes, LABELS(decode_family_name(e->family)), 1);
}

static bool is_candidate(const struct entry *e, uint64_t now)
{
	return e->candidate_until_ms > now;
}

/* The entry's next hop has failed, as far as fail-fast is concerned. */
static bool entry_blocks(const struct entry *e, uint64_t now)
{
	return e->exists && e->state == NUD_FAILED && is_candidate(e, now);
}

static struct block *block_find(uint8_t family, const uint8_t *addr)
{
	for (size_t i = 0; i < FAILFAST_MAX_DESTS; i++)
		if (blocks[i].used && blocks[i].family == family &&
		    !memcmp(blocks[i].addr, addr, addr_len(family)))
			return &blocks[i];
	return NULL;
}

static void block_add(const struct entry *e, const uint8_t *addr)
{
	char ifname[IF_NAMESIZE] = "";
	struct block *b = NULL;

	if (block_find(e->family, addr))
		return;
	for (size_t i = 0; i < FAILFAST_MAX_DESTS && !b; i++)
		if (!blocks[i].used)
			b = &blocks[i];
	if (!b)
		return;
	ifname_of_index((unsigned)e->ifindex, ifname);
	failfast_block(e->family, addr, ifname);
	if (!failfast_is_blocked(e->family, addr))
		return;
	memset(b, 0, sizeof(*b));
	b->used = true;
	b->family = e->family;
	memcpy(b->addr, addr, addr_len(e->family));
	b->nh_ifindex = e->ifindex;
	memcpy(b->nh, e->addr, addr_len(e->family));
}

static void block_drop(struct block *b)
{
	failfast_unblock(b->family, b->addr);
	b->used = false;
}

/* Verified SIP peers whose next hop (in the peer table) is one entry: fail-fast's "behind". */
static void count_behind(const struct sip_peer *p, void *ctx)
{
	*(uint64_t *)ctx += p->verified;
}

struct enter_ctx {
	const struct entry *e;
	uint64_t now_ns;
};

static void block_peer_behind(const struct sip_peer *p, void *ctx)
{
	const struct enter_ctx *c = ctx;
	const struct entry *e = c->e;

	/* A forged source address must not fill fail-fast's slots (sip_abi.h: verified). */
	if (!p->verified || !memcmp(p->key.addr, e->addr, addr_len(e->family)) ||
	    block_find(e->family, p->key.addr))
		return;
	/* The table's route may be 30 s old: look again, and only block through a current one. */
	if (!peers_recheck_route(&p->key, c->now_ns))
		return;
	if (p->has_next_hop && p->nh_ifindex == e->ifindex &&
	    !memcmp(p->nh_addr, e->addr, addr_len(e->family)))
		block_add(e, p->key.addr);
}

/*
 * @e is FAILED: refuse SIP packets to it and to the verified peers whose route goes through it
 * now. Each such peer's route is looked up again first, so a peer routed elsewhere since is never
 * blocked for a next hop it no longer uses (and the peer table learns its new next hop).
 */
static void failfast_enter_entry(const struct entry *e, uint64_t now)
{
	struct enter_ctx c = {.e = e, .now_ns = now * 1000000ULL};

	block_add(e, e->addr);
	peers_with_next_hop(e->ifindex, e->family, e->addr, block_peer_behind, &c);
}

/* Every block held for next hop @e lifts (it answers again, was deleted, or is no candidate). */
static void failfast_leave_entry(const struct entry *e)
{
	for (size_t i = 0; i < FAILFAST_MAX_DESTS; i++) {
		struct block *b = &blocks[i];

		if (b->used && b->family == e->family && b->nh_ifindex == e->ifindex &&
		    !memcmp(b->nh, e->addr, addr_len(e->family)))
			block_drop(b);
	}
}

static void apply_failfast(struct entry *e, uint64_t now)
{
	if (!failfast_wanted || !failfast_active())
		return;
	if (entry_blocks(e, now))
		failfast_enter_entry(e, now);
	else if (!e->exists || e->state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE |
					   NUD_PERMANENT | NUD_NOARP))
		failfast_leave_entry(e);
}

/*
 * Once a tick: a block stays only while its next hop is still a FAILED candidate and, for a peer,
 * while the peer's route still goes through that next hop (looked up again, a bounded number per
 * tick): after a gateway fails and routing moves to another one, the peer is let through.
 */
static void failfast_recheck(uint64_t now)
{
	int checks = 0;

	if (!failfast_wanted || !failfast_active())
		return;
	for (size_t n = 0; n < FAILFAST_MAX_DESTS; n++) {
		struct block *b = &blocks[(block_cursor + n) % FAILFAST_MAX_DESTS];
		const struct entry *e;
		struct sip_peer_key k = {.family = b->family};
		struct sip_peer *p;

		if (!b->used)
			continue;
		e = entry_find(b->nh_ifindex, b->family, b->nh, false);
		if (!e || !entry_blocks(e, now)) {
			block_drop(b);
			continue;
		}
		if (!memcmp(b->addr, b->nh, addr_len(b->family)))
			continue; /* the next hop itself */
		if (checks == BLOCK_ROUTE_CHECKS_PER_TICK)
			continue;
		checks++;
		memcpy(k.addr, b->addr, addr_len(b->family));
		p = peers_recheck_route(&k, now * 1000000ULL) ? peers_find(&k) : NULL;
		if (!p || !p->has_next_hop || p->nh_ifindex != b->nh_ifindex ||
		    memcmp(p->nh_addr, b->nh, addr_len(b->family)))
			block_drop(b);
	}
	block_cursor = (block_cursor + BLOCK_ROUTE_CHECKS_PER_TICK) % FAILFAST_MAX_DESTS;
}

static void record_outcome(struct entry *e)
{
	char addr[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE] = "";
	uint64_t behind = 0;
	struct log_line l;

	if (!e->outcome_pending_since_ms || !(e->state & (NUD_REACHABLE | NUD_FAILED)))
		return;
	e->outcome_pending_since_ms = 0;
	metric_add(outcomes,
		   LABELS(decode_family_name(e->family),
			  e->state == NUD_REACHABLE ? "reachable" : "failed"),
		   1);
	if (e->state != NUD_FAILED)
		return;
	format_addr(e, addr, sizeof(addr));
	ifname_of_index((unsigned)e->ifindex, ifname);
	peers_with_next_hop(e->ifindex, e->family, e->addr, count_behind, &behind);
	incident_begin(&l, "refresh_dead_peer",
		       "SIP peer's next hop failed a background refresh: it is dead before the PBX "
		       "sends to it");
	log_str(&l, "ifname", ifname);
	log_str(&l, "family", decode_family_name(e->family));
	log_str(&l, "address", addr);
	log_uint(&l, "sip_peers_behind", behind);
	log_end(&l);
}

/* The kernel deleted @e (RTM_DELNEIGH, garbage collection, or missing from a resync dump). */
static void entry_gone(struct entry *e)
{
	e->exists = false;
	e->state = NUD_NONE;
	e->managed_by_us = false;
	e->ndm_flags = 0;
	e->flags_ext = 0;
	/* A blocked destination whose entry is gone would never be resolved again: let it go. */
	if (failfast_wanted && failfast_active())
		failfast_leave_entry(e);
}

/* The attributes of a neighbour message sipwatch reads: destination, NDA_FLAGS_EXT, NDA_PROTOCOL.
 */
static void neigh_attrs(const struct nlmsghdr *nlh, const struct ndmsg *ndm, const uint8_t **dst,
			uint32_t *flags_ext, uint8_t *proto)
{
	struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(*ndm))
	{
		if (mnl_attr_get_type(attr) == NDA_DST &&
		    mnl_attr_get_payload_len(attr) == addr_len(ndm->ndm_family))
			*dst = mnl_attr_get_payload(attr);
		else if (mnl_attr_get_type(attr) == NDA_FLAGS_EXT &&
			 mnl_attr_get_payload_len(attr) == sizeof(uint32_t))
			*flags_ext = mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == NDA_PROTOCOL &&
			 mnl_attr_get_payload_len(attr) == sizeof(uint8_t))
			*proto = mnl_attr_get_u8(attr);
	}
}

/* One RTM_NEWNEIGH / RTM_DELNEIGH from the kernel (a notification or a dump reply). */
static int on_neigh_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const uint8_t *dst = NULL;
	uint32_t flags_ext = 0;
	uint8_t proto = 0;
	struct entry *e;

	if (nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH)
		return MNL_CB_OK;
	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return MNL_CB_OK;
	neigh_attrs(nlh, ndm, &dst, &flags_ext, &proto);
	if (!dst)
		return MNL_CB_OK;
	/* Only entries that are candidates (SIP next hops) matter; others are not tracked. */
	e = entry_find(ndm->ndm_ifindex, ndm->ndm_family, dst, false);
	if (!e)
		return MNL_CB_OK;
	if (nlh->nlmsg_type == RTM_DELNEIGH) {
		entry_gone(e);
		return MNL_CB_OK;
	}
	if (resync_seq && nlh->nlmsg_seq == resync_seq)
		e->seen_in_resync = true;
	e->exists = true;
	e->state = ndm->ndm_state;
	e->ndm_flags = ndm->ndm_flags;
	e->flags_ext = flags_ext;
	e->protocol = proto;
	/*
	 * Whose managed flag it is follows the entry, not the order notifications arrive in (one
	 * sent before sipwatch's own request may be read after it): sipwatch's carries its stamp
	 * and no other flag. Cleared by someone else: no longer sipwatch's to remove.
	 */
	e->managed_by_us = flags_ext == NTF_EXT_MANAGED && proto == SIPWATCH_NEIGH_PROTO;
	record_outcome(e);
	apply_failfast(e, now_ms());
	return MNL_CB_OK;
}

/*
 * A notification was lost (ENOBUFS: the socket buffer overran while the agent was busy or
 * stopped): nothing the agent believes about the table can be trusted. Dump it again; entries
 * missing from the dump were deleted meanwhile (resync_done()).
 */
static void resync_start(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

	resync_seq = ++request_seq;
	rtnl_request(buf, RTM_GETNEIGH, NLM_F_DUMP, resync_seq, sizeof(struct ndmsg), AF_UNSPEC);
	for (size_t i = 0; i < MAX_ENTRIES; i++)
		entries[i].seen_in_resync = false;
	if (mnl_socket_sendto(nl_requests, nlh, nlh->nlmsg_len) < 0) {
		log_msg(LOG_WARN, "neighbour resync: cannot ask for a dump: %s", strerror(errno));
		resync_seq = 0;
	}
}

/*
 * Only dump replies count as seen: notifications still queued from before the overrun are older
 * than the dump and may name entries deleted since.
 */
static void resync_done(void)
{
	resync_seq = 0;
	for (size_t i = 0; i < MAX_ENTRIES; i++)
		if (entries[i].used && entries[i].exists && !entries[i].seen_in_resync)
			entry_gone(&entries[i]);
	log_msg(LOG_INFO, "neighbour resync: states re-read from a full dump");
}

static void read_socket(struct mnl_socket *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		int len = (int)n;

		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_DONE) {
				if (resync_seq && nlh->nlmsg_seq == resync_seq)
					resync_done();
				continue;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

				if (resync_seq && nlh->nlmsg_seq == resync_seq)
					resync_seq = 0;
				if (err->error)
					metric_add(errors, LABELS(errno_label(-err->error)), 1);
				continue;
			}
			on_neigh_msg(nlh, NULL);
		}
	}
	if (n < 0 && errno == ENOBUFS) {
		log_msg(LOG_WARN, "neighbour notifications overran the socket buffer; re-reading "
				  "the whole table");
		resync_start();
	}
}

static void on_events_readable(struct agent *ag, void *ctx)
{
	read_socket(nl_events);
}

static void on_requests_readable(struct agent *ag, void *ctx)
{
	read_socket(nl_requests);
}

/* Ask the kernel for the current state of one entry (the answer comes in as RTM_NEWNEIGH). */
static void query_entry(const struct entry *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct ndmsg *ndm;

	ndm = rtnl_request(buf, RTM_GETNEIGH, 0, ++request_seq, sizeof(*ndm), e->family);
	ndm->ndm_ifindex = e->ifindex;
	mnl_attr_put(nlh, NDA_DST, addr_len(e->family), e->addr);
	mnl_socket_sendto(nl_requests, nlh, nlh->nlmsg_len);
}

void refresh_note_candidate(int ifindex, uint8_t family, const uint8_t *nexthop,
			    const uint8_t *peer, uint64_t until_ms)
{
	struct entry *e;
	bool fresh;

	if (!nl_events)
		return;
	e = entry_find(ifindex, family, nexthop, false);
	fresh = !e;
	if (!e)
		e = entry_find(ifindex, family, nexthop, true);
	if (!e)
		return;
	if (until_ms > e->candidate_until_ms)
		e->candidate_until_ms = until_ms;
	if (fresh)
		query_entry(e);
}

static void tick_entry(struct entry *e, uint64_t now)
{
	bool due;

	if (e->outcome_pending_since_ms && now - e->outcome_pending_since_ms > OUTCOME_WINDOW_MS)
		e->outcome_pending_since_ms = 0;
	if (!is_candidate(e, now)) {
		/* No longer a candidate: give the entry back as it was, forget it. */
		if (e->managed_by_us)
			set_managed(e, false);
		if (failfast_wanted && failfast_active())
			failfast_leave_entry(e);
		e->used = false;
		return;
	}
	if (e->exists && entry_not_ours(e))
		return; /* never written to (entry_not_ours()) */
	if (mode == REFRESH_MANAGED && e->exists && !e->managed_by_us) {
		if (token_bucket_take(&bucket, now))
			set_managed(e, true);
		return;
	}
	/*
	 * "use" (and managed entries that failed anyway): STALE entries are re-probed before the
	 * PBX needs them; FAILED ones are re-probed so a peer that comes back is noticed (and
	 * leaves fail-fast). Never more often than the shortest reachable time. With refresh off,
	 * fail-fast still re-probes the FAILED entries it blocks: nothing else would send to them,
	 * and a peer that came back would stay blocked until some other traffic resolved it.
	 */
	due = (e->state == NUD_STALE || e->state == NUD_FAILED || !e->exists) &&
	      now - e->last_refresh_ms >= min_refresh_interval_ms(e);
	if (!due || (mode == REFRESH_MANAGED && e->state != NUD_FAILED))
		return;
	if (mode == REFRESH_OFF && !(failfast_wanted && failfast_active() && entry_blocks(e, now)))
		return;
	if (token_bucket_take(&bucket, now)) {
		refresh_entry(e, now);
	} else if (!e->deferred) {
		e->deferred = true;
		metric_add(skipped, LABELS("rate_limit"), 1);
	}
}

static bool kernel_has_managed_neigh(struct agent *ag);
static void clear_leftover_managed(void);

static int refresh_tick(struct agent *ag)
{
	uint64_t now = now_ms();

	/*
	 * At the first tick, not at start: `sipwatch doctor` starts every concern for a trial and
	 * must change nothing, and it never ticks.
	 */
	if (!leftovers_checked) {
		leftovers_checked = true;
		if (kernel_has_managed_neigh(ag))
			clear_leftover_managed();
	}
	if (!nl_events)
		return 0;
	for (size_t i = 0; i < MAX_ENTRIES; i++)
		if (entries[i].used)
			tick_entry(&entries[i], now);
	failfast_recheck(now);
	/* Peers that joined a FAILED next hop since (new, or routed to it) are blocked with it. */
	if (failfast_wanted && failfast_active())
		for (size_t i = 0; i < MAX_ENTRIES; i++)
			if (entries[i].used && entry_blocks(&entries[i], now))
				failfast_enter_entry(&entries[i], now);
	return 0;
}

/* NTF_EXT_MANAGED exists from 5.16: the kernel then has struct neighbour.managed_list. */
static bool kernel_has_managed_neigh(struct agent *ag)
{
	const struct btf_type *t;
	const struct btf_member *m;
	int id;

	if (!ag->vmlinux_btf)
		return false;
	id = btf__find_by_name_kind(ag->vmlinux_btf, "neighbour", BTF_KIND_STRUCT);
	if (id <= 0)
		return false;
	t = btf__type_by_id(ag->vmlinux_btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(ag->vmlinux_btf, m->name_off), "managed_list"))
			return true;
	return false;
}

static struct mnl_socket *open_rtnl(unsigned int groups)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (nl && mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

/* One managed entry an earlier sipwatch left behind (it carries SIPWATCH_NEIGH_PROTO). */
struct leftovers {
	int n;
	struct entry found[256];
};

static int on_leftover(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct leftovers *l = data;
	const uint8_t *dst = NULL;
	uint32_t flags_ext = 0;
	uint8_t proto = 0;
	struct entry *e;

	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6))
		return MNL_CB_OK;
	neigh_attrs(nlh, ndm, &dst, &flags_ext, &proto);
	/* Exactly what sipwatch sets, nothing more: any other flag is the operator's. */
	if (!dst || proto != SIPWATCH_NEIGH_PROTO || flags_ext != NTF_EXT_MANAGED ||
	    (ndm->ndm_flags & NTF_EXT_LEARNED) || (ndm->ndm_state & (NUD_PERMANENT | NUD_NOARP)) ||
	    l->n == (int)(sizeof(l->found) / sizeof(l->found[0])))
		return MNL_CB_OK;
	e = &l->found[l->n++];
	memset(e, 0, sizeof(*e));
	e->ifindex = ndm->ndm_ifindex;
	e->family = ndm->ndm_family;
	memcpy(e->addr, dst, addr_len(ndm->ndm_family));
	e->state = ndm->ndm_state;
	e->ndm_flags = ndm->ndm_flags;
	e->flags_ext = flags_ext;
	e->exists = true;
	e->managed_by_us = true;
	return MNL_CB_OK;
}

/*
 * A sipwatch that was killed (SIGKILL, OOM, a crash) could not remove the managed flags it set.
 * The next start removes them: only from entries that carry sipwatch's protocol stamp and no
 * other flag, never from an operator's managed entry. One neighbour dump; writes only if any.
 */
static void clear_leftover_managed(void)
{
	static struct leftovers found;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC),
			  *requests = nl_requests;

	if (!nl)
		return;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	found.n = 0;
	rtnl_request(buf, RTM_GETNEIGH, NLM_F_DUMP, ++request_seq, sizeof(struct ndmsg), AF_UNSPEC);
	/* What the dump delivered before an error is still worth clearing. */
	rtnl_exchange(nl, (struct nlmsghdr *)buf, on_leftover, &found);
	nl_requests = nl;
	for (int i = 0; i < found.n; i++) {
		char addr[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE] = "";
		int err = send_neigh_request(&found.found[i], false, 0, NUD_STALE);

		format_addr(&found.found[i], addr, sizeof(addr));
		ifname_of_index((unsigned)found.found[i].ifindex, ifname);
		log_msg(err ? LOG_WARN : LOG_INFO,
			"neighbour refresh: %s the managed flag an earlier sipwatch left on %s "
			"(%s)%s%s",
			err ? "cannot remove" : "removed", addr, ifname, err ? ": " : "",
			err ? strerror(-err) : "");
	}
	nl_requests = requests;
out:
	mnl_socket_close(nl);
}

static int refresh_start(struct agent *ag)
{
	refreshes =
	    metrics_counter(ag->reg, "sipwatch_neigh_refreshes_total",
			    "Neighbour refresh requests sent to the kernel for SIP next hops "
			    "(NTF_USE re-probes, or entries marked managed).",
			    LABELS("family"));
	outcomes = metrics_counter(
	    ag->reg, "sipwatch_neigh_refresh_outcomes_total",
	    "What re-probed entries became: reachable, or failed (a dead peer found "
	    "before the PBX sent to it).",
	    LABELS("family", "outcome"));
	skipped = metrics_counter(
	    ag->reg, "sipwatch_neigh_refreshes_skipped_total",
	    "Refreshes that were due but not sent (rate_limit: --neigh.refresh-rate).",
	    LABELS("reason"));
	errors = metrics_counter(
	    ag->reg, "sipwatch_neigh_refresh_errors_total",
	    "Neighbour requests the kernel refused (eperm, enoent, enodev, einval, other).",
	    LABELS("error"));
	metric_set(skipped, LABELS("rate_limit"), 0);
	mode = ag->cfg.neigh_refresh;
	failfast_wanted = ag->cfg.neigh_failfast;
	window_ms = ag->cfg.neigh_refresh_window_ms;
	leftovers_checked = false;
	/* Without either flag sipwatch neither reads nor writes the neighbour table here. */
	if (mode == REFRESH_OFF && !failfast_wanted)
		return 0;
	if (mode == REFRESH_MANAGED && !kernel_has_managed_neigh(ag)) {
		log_msg(LOG_WARN,
			"--neigh.refresh=managed: this kernel has no managed neighbour entries "
			"(5.16+); falling back to use");
		mode = REFRESH_USE;
	}
	token_bucket_init(&bucket, ag->cfg.neigh_refresh_rate, ag->cfg.neigh_refresh_rate,
			  now_ms());
	nl_events = open_rtnl(1U << (RTNLGRP_NEIGH - 1));
	nl_requests = open_rtnl(0);
	if (!nl_events || !nl_requests) {
		log_msg(LOG_ERROR, "neighbour refresh: cannot open rtnetlink: %s", strerror(errno));
		probe_report("neigh_refresh", false, "rtnetlink socket refused");
		return -errno;
	}
	agent_watch_fd(ag, mnl_socket_get_fd(nl_events), on_events_readable, NULL);
	agent_watch_fd(ag, mnl_socket_get_fd(nl_requests), on_requests_readable, NULL);
	probe_report("neigh_refresh", true, NULL);
	log_msg(LOG_INFO, "neighbour refresh: mode %s, at most %.3g per second, window %llus%s",
		config_enum_name(refresh_mode_names, mode), ag->cfg.neigh_refresh_rate,
		(unsigned long long)(window_ms / 1000), failfast_wanted ? ", fail-fast on" : "");
	return 0;
}

static void refresh_stop(struct agent *ag)
{
	/* Managed flags are ours to remove: leave the table as it was. */
	for (size_t i = 0; i < MAX_ENTRIES; i++)
		if (entries[i].used && entries[i].managed_by_us && nl_requests)
			set_managed(&entries[i], false);
	if (nl_events)
		mnl_socket_close(nl_events);
	if (nl_requests)
		mnl_socket_close(nl_requests);
	nl_events = nl_requests = NULL;
	memset(entries, 0, sizeof(entries));
	memset(blocks, 0, sizeof(blocks));
	resync_seq = 0;
}

const struct concern refresh_concern = {
    .name = "refresh",
    .start = refresh_start,
    .tick = refresh_tick,
    .stop = refresh_stop,
};
