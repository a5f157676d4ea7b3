// SPDX-License-Identifier: GPL-2.0-only
#include "neigh.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "neigh.skel.h"
#include "neigh_abi.h"

static struct neigh_bpf *skel;
static struct metric_family *state_changes;
static bool with_netns;

const char *neigh_state_name(uint8_t state)
{
	switch (state) {
	case SW_NUD_NONE:
		return "none";
	case SW_NUD_INCOMPLETE:
		return "incomplete";
	case SW_NUD_REACHABLE:
		return "reachable";
	case SW_NUD_STALE:
		return "stale";
	case SW_NUD_DELAY:
		return "delay";
	case SW_NUD_PROBE:
		return "probe";
	case SW_NUD_FAILED:
		return "failed";
	case SW_NUD_NOARP:
		return "noarp";
	case SW_NUD_PERMANENT:
		return "permanent";
	default:
		return "other";
	}
}

const char *neigh_family_name(uint8_t family)
{
	return family == SW_AF_INET6 ? "ipv6" : "ipv4";
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct sipwatch_event_hdr *hdr = data;
	const struct neigh_failed_event *e = data;
	char addr[INET6_ADDRSTRLEN];
	struct log_line l;

	if (size < sizeof(*e) || hdr->type != SIPWATCH_EV_NEIGH_FAILED)
		return 0;
	inet_ntop(e->family == SW_AF_INET6 ? AF_INET6 : AF_INET, e->addr, addr, sizeof(addr));
	if (incident_begin(&l, "neigh_failed", "neighbour resolution failed")) {
		log_str(&l, "ifname", e->ifname);
		log_str(&l, "family", neigh_family_name(e->family));
		log_str(&l, "address", addr);
		log_str(&l, "previous_state", neigh_state_name(e->old_state));
		log_uint(&l, "probes", e->probes);
		if (with_netns)
			log_uint(&l, "netns", e->hdr.netns_ino);
		log_end(&l);
	}
	return 0;
}

static int neigh_start(struct agent *ag)
{
	int attached;

	with_netns = ag->cfg.netns_all;
	state_changes =
	    metrics_counter(ag->reg, "sipwatch_neigh_state_changes_total",
			    "Neighbour (ARP/NDP) entries that moved into each NUD state.",
			    with_netns ? LABELS("netns", "ifname", "family", "state")
				       : LABELS("ifname", "family", "state"));
	skel = neigh_bpf__open();
	if (!skel)
		return -1;
	skel->rodata->cfg = ag->bpf_cfg;
	attached = agent_load_object(ag, skel->obj, on_event, NULL, &skel->bss->events_dropped);
	return attached < 0 ? attached : 0;
}

static void neigh_collect(struct agent *ag)
{
	struct neigh_state_key key, next;
	int fd = bpf_map__fd(skel ? skel->maps.neigh_state_changes : NULL);
	void *prev = NULL;
	char netns[16];
	__u64 count;

	if (!skel || fd < 0)
		return;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &count))
			continue;
		snprintf(netns, sizeof(netns), "%u", key.netns_ino);
		if (with_netns)
			metric_set(state_changes,
				   LABELS(netns, key.ifname, neigh_family_name(key.family),
					  neigh_state_name(key.state)),
				   (double)count);
		else
			metric_set(state_changes,
				   LABELS(key.ifname, neigh_family_name(key.family),
					  neigh_state_name(key.state)),
				   (double)count);
	}
}

static void neigh_stop(struct agent *ag)
{
	neigh_bpf__destroy(skel);
	skel = NULL;
}

const struct concern neigh_concern = {
    .name = "neigh",
    .start = neigh_start,
    .collect = neigh_collect,
    .stop = neigh_stop,
};
