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

#include "failfast.h"
#include "ifname.h"
#include "log.h"
#include "probes.h"

#define MAX_ENTRIES	 4096
#define MAX_PEERS_BEHIND 8
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
	uint8_t state; /* NUD_* as last notified; NUD_NONE once the kernel deleted the entry */
	bool exists;   /* the kernel has it now */
	bool managed_by_us;
	uint64_t candidate_until_ms;
	uint64_t last_refresh_ms;
	uint64_t outcome_pending_since_ms;
	bool deferred; /* due, but the token bucket was empty: counted once as skipped */
	uint8_t peers[MAX_PEERS_BEHIND][16]; /* SIP peers whose next hop this is */
	int nr_peers;
};

static struct entry entries[MAX_ENTRIES];
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

int refresh_mode_parse(const char *s, enum refresh_mode *out)
{
	if (!strcmp(s, "off"))
		*out = REFRESH_OFF;
	else if (!strcmp(s, "use"))
		*out = REFRESH_USE;
	else if (!strcmp(s, "managed"))
		*out = REFRESH_MANAGED;
	else
		return -1;
	return 0;
}

static const char *family_name(uint8_t family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
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
	inet_ntop(e->family, e->addr, buf, (socklen_t)len);
}

static const char *errno_label(int err)
{
	switch (err) {
	case EPERM:
		return "eperm";
	case ENOENT:
		return "enoent";
	case ENODEV:
		return "enodev";
	case EINVAL:
		return "einval";
	default:
		return "other";
	}
}

/* Shortest reachable time of @e's interface: base_reachable_time_ms x 0.5. */
static uint64_t min_refresh_interval_ms(const struct entry *e)
{
	char ifname[IF_NAMESIZE], path[128];
	unsigned long base = DEFAULT_BASE_REACHABLE_MS;
	FILE *f;

	if (ifname_of_index((unsigned)e->ifindex, ifname)) {
		snprintf(path, sizeof(path), "/proc/sys/net/%s/neigh/%s/base_reachable_time_ms",
			 e->family == AF_INET6 ? "ipv6" : "ipv4", ifname);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%lu", &base) != 1)
				base = DEFAULT_BASE_REACHABLE_MS;
			fclose(f);
		}
	}
	return base / 2;
}

/*
 * RTM_NEWNEIGH for @e: NTF_USE asks the kernel to (re)resolve it now; @managed sets or clears
 * NTF_EXT_MANAGED. Never NLM_F_CREATE except to re-probe an entry the kernel already dropped.
 */
static int send_neigh_request(const struct entry *e, bool use, int managed, uint16_t state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags =
	    NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | (e->exists ? 0 : NLM_F_CREATE);
	nlh->nlmsg_seq = ++request_seq;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = e->family;
	ndm->ndm_ifindex = e->ifindex;
	ndm->ndm_state = state;
	ndm->ndm_flags = use ? NTF_USE : 0;
	mnl_attr_put(nlh, NDA_DST, addr_len(e->family), e->addr);
	if (managed >= 0)
		mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, managed ? NTF_EXT_MANAGED : 0);
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
	int err = send_neigh_request(e, true, -1, NUD_NONE);

	if (err) {
		count_error(-err, e, "use");
		return;
	}
	e->last_refresh_ms = now;
	e->outcome_pending_since_ms = now;
	e->deferred = false;
	metric_add(refreshes, LABELS(family_name(e->family)), 1);
}

static void set_managed(struct entry *e, bool on)
{
	/* Setting keeps the entry's state; clearing leaves it STALE, as a dynamic entry would be.
	 */
	int err = send_neigh_request(e, false, on, on ? e->state : NUD_STALE);

	if (err) {
		count_error(-err, e, on ? "managed" : "unmanage");
		return;
	}
	e->managed_by_us = on;
	if (on)
		metric_add(refreshes, LABELS(family_name(e->family)), 1);
}

static void apply_failfast(struct entry *e)
{
	char ifname[IF_NAMESIZE] = "";

	if (!failfast_wanted || !failfast_active())
		return;
	ifname_of_index((unsigned)e->ifindex, ifname);
	if (e->state == NUD_FAILED) {
		failfast_block(e->family, e->addr, ifname);
		for (int i = 0; i < e->nr_peers; i++)
			failfast_block(e->family, e->peers[i], ifname);
	} else if (e->state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |
			       NUD_NOARP)) {
		failfast_unblock(e->family, e->addr);
		for (int i = 0; i < e->nr_peers; i++)
			failfast_unblock(e->family, e->peers[i]);
	}
}

static void record_outcome(struct entry *e)
{
	char addr[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE] = "";
	struct log_line l;

	if (!e->outcome_pending_since_ms || !(e->state & (NUD_REACHABLE | NUD_FAILED)))
		return;
	e->outcome_pending_since_ms = 0;
	metric_add(
	    outcomes,
	    LABELS(family_name(e->family), e->state == NUD_REACHABLE ? "reachable" : "failed"), 1);
	if (e->state != NUD_FAILED)
		return;
	format_addr(e, addr, sizeof(addr));
	ifname_of_index((unsigned)e->ifindex, ifname);
	incident_begin(&l, "refresh_dead_peer",
		       "SIP peer's next hop failed a background refresh: it is dead before the PBX "
		       "sends to it");
	log_str(&l, "ifname", ifname);
	log_str(&l, "family", family_name(e->family));
	log_str(&l, "address", addr);
	log_uint(&l, "sip_peers_behind", (uint64_t)e->nr_peers);
	log_end(&l);
}

/* One RTM_NEWNEIGH / RTM_DELNEIGH from the kernel (a notification or a dump reply). */
static int on_neigh_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	const uint8_t *dst = NULL;
	struct entry *e;

	if (nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH)
		return MNL_CB_OK;
	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ndm)) if (mnl_attr_get_type(attr) == NDA_DST &&
						       mnl_attr_get_payload_len(attr) ==
							   addr_len(ndm->ndm_family)) dst =
	    mnl_attr_get_payload(attr);
	if (!dst)
		return MNL_CB_OK;
	/* Only entries that are candidates (SIP next hops) matter; others are not tracked. */
	e = entry_find(ndm->ndm_ifindex, ndm->ndm_family, dst, false);
	if (!e)
		return MNL_CB_OK;
	if (nlh->nlmsg_type == RTM_DELNEIGH) {
		e->exists = false;
		e->managed_by_us = false;
		return MNL_CB_OK;
	}
	e->exists = true;
	e->state = ndm->ndm_state;
	record_outcome(e);
	apply_failfast(e);
	return MNL_CB_OK;
}

static void read_socket(struct mnl_socket *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		int len = (int)n;

		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

				if (err->error)
					metric_add(errors, LABELS(errno_label(-err->error)), 1);
				continue;
			}
			on_neigh_msg(nlh, NULL);
		}
	}
	if (n < 0 && errno == ENOBUFS)
		log_msg(LOG_WARN, "neighbour notifications overran the socket buffer; states "
				  "resync on the next change");
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
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++request_seq;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = e->family;
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
	if (peer && memcmp(peer, nexthop, addr_len(family))) {
		bool known = false;

		for (int i = 0; i < e->nr_peers && !known; i++)
			known = !memcmp(e->peers[i], peer, addr_len(family));
		if (!known && e->nr_peers < MAX_PEERS_BEHIND)
			memcpy(e->peers[e->nr_peers++], peer, addr_len(family));
	}
	if (fresh)
		query_entry(e);
}

static bool is_candidate(const struct entry *e, uint64_t now)
{
	return e->candidate_until_ms > now;
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
		if (failfast_wanted && failfast_active()) {
			failfast_unblock(e->family, e->addr);
			for (int i = 0; i < e->nr_peers; i++)
				failfast_unblock(e->family, e->peers[i]);
		}
		e->used = false;
		return;
	}
	if (mode == REFRESH_OFF)
		return;
	if (mode == REFRESH_MANAGED && e->exists && !e->managed_by_us &&
	    !(e->state & (NUD_PERMANENT | NUD_NOARP))) {
		if (token_bucket_take(&bucket, now))
			set_managed(e, true);
		return;
	}
	/*
	 * "use" (and managed entries that failed anyway): STALE entries are re-probed before the
	 * PBX needs them; FAILED ones are re-probed so a peer that comes back is noticed (and
	 * leaves fail-fast). Never more often than the shortest reachable time.
	 */
	due = (e->state == NUD_STALE || e->state == NUD_FAILED || !e->exists) &&
	      now - e->last_refresh_ms >= min_refresh_interval_ms(e);
	if (!due || (mode == REFRESH_MANAGED && e->state != NUD_FAILED))
		return;
	if (token_bucket_take(&bucket, now)) {
		refresh_entry(e, now);
	} else if (!e->deferred) {
		e->deferred = true;
		metric_add(skipped, LABELS("rate_limit"), 1);
	}
}

static void refresh_tick(struct agent *ag)
{
	uint64_t now = now_ms();

	if (!nl_events)
		return;
	for (size_t i = 0; i < MAX_ENTRIES; i++)
		if (entries[i].used)
			tick_entry(&entries[i], now);
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
		mode == REFRESH_USE	  ? "use"
		: mode == REFRESH_MANAGED ? "managed"
					  : "off",
		ag->cfg.neigh_refresh_rate, (unsigned long long)(window_ms / 1000),
		failfast_wanted ? ", fail-fast on" : "");
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
}

const struct concern refresh_concern = {
    .name = "refresh",
    .start = refresh_start,
    .tick = refresh_tick,
    .stop = refresh_stop,
};
