// SPDX-License-Identifier: GPL-2.0-only
#include "failfast.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgroup.h"
#include "decode.h"
#include "failfast.skel.h"
#include "failfast_abi.h"
#include "log.h"
#include "neigh.h"
#include "probes.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define PROBE_NAME "failfast_egress"

/* What the agent remembers of each blocked destination (the map only has the drop counter). */
struct blocked {
	struct failfast_key key;
	char ifname[SIPWATCH_IFNAMSIZ];
	bool used;
};

static struct failfast_bpf *skel;
static struct bpf_link *egress_link;
static struct blocked blocked[FAILFAST_MAX_DESTS];
static struct metric_family *blocked_peers;

/*
 * sipwatch_neigh_dropped_packets_total{reason="fail_fast"} per (ifname, family): the map counts per
 * destination, and a destination's count must survive its unblocking, so it is folded in here.
 */
struct drop_total {
	char ifname[SIPWATCH_IFNAMSIZ];
	uint8_t family;
	uint64_t retired;
};

#define MAX_DROP_TOTALS 64
static struct drop_total totals[MAX_DROP_TOTALS];
static int nr_totals;

bool failfast_active(void)
{
	return skel && egress_link;
}

static void make_key(struct failfast_key *key, uint8_t family, const uint8_t *addr)
{
	memset(key, 0, sizeof(*key));
	key->family = family;
	memcpy(key->addr, addr, family == SW_AF_INET6 ? 16 : 4);
}

static struct blocked *find(const struct failfast_key *key)
{
	for (size_t i = 0; i < FAILFAST_MAX_DESTS; i++)
		if (blocked[i].used && !memcmp(&blocked[i].key, key, sizeof(*key)))
			return &blocked[i];
	return NULL;
}

static void log_transition(const char *msg, const struct blocked *b, uint64_t drops, bool enter)
{
	char addr[INET6_ADDRSTRLEN];
	struct log_line l;

	decode_addr(addr, sizeof(addr), b->key.family, b->key.addr);
	incident_begin(&l, enter ? "fail_fast_enter" : "fail_fast_leave", msg);
	log_str(&l, "ifname", b->ifname);
	log_str(&l, "family", decode_family_name(b->key.family));
	log_str(&l, "address", addr);
	if (!enter)
		log_uint(&l, "refused_packets", drops);
	log_end(&l);
}

static struct drop_total *total_for(const char *ifname, uint8_t family)
{
	for (int i = 0; i < nr_totals; i++)
		if (totals[i].family == family && !strcmp(totals[i].ifname, ifname))
			return &totals[i];
	if (nr_totals == MAX_DROP_TOTALS)
		return NULL;
	snprintf(totals[nr_totals].ifname, sizeof(totals[nr_totals].ifname), "%s", ifname);
	totals[nr_totals].family = family;
	return &totals[nr_totals++];
}

static void update_count(int delta)
{
	skel->bss->nr_dests += delta;
}

void failfast_block(uint8_t family, const uint8_t *addr, const char *ifname)
{
	struct failfast_value zero = {};
	struct failfast_key key;
	struct blocked *slot = NULL;

	if (!failfast_active())
		return;
	make_key(&key, family, addr);
	if (find(&key))
		return;
	for (size_t i = 0; i < FAILFAST_MAX_DESTS && !slot; i++)
		if (!blocked[i].used)
			slot = &blocked[i];
	if (!slot) {
		log_msg(LOG_WARN, "fail-fast: %d destinations blocked already, not adding more",
			FAILFAST_MAX_DESTS);
		return;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.failfast_dests), &key, &zero, BPF_NOEXIST)) {
		log_msg(LOG_WARN, "fail-fast: cannot add a destination: %s", strerror(errno));
		return;
	}
	slot->key = key;
	snprintf(slot->ifname, sizeof(slot->ifname), "%s", ifname);
	slot->used = true;
	total_for(slot->ifname, family);
	update_count(1);
	log_transition(
	    "SIP peer enters fail-fast: its next hop failed, SIP packets to it are refused", slot,
	    0, true);
}

void failfast_unblock(uint8_t family, const uint8_t *addr)
{
	struct failfast_value v = {};
	struct failfast_key key;
	struct blocked *b;
	int fd;

	if (!failfast_active())
		return;
	make_key(&key, family, addr);
	b = find(&key);
	if (!b)
		return;
	fd = bpf_map__fd(skel->maps.failfast_dests);
	bpf_map_lookup_elem(fd, &key, &v);
	bpf_map_delete_elem(fd, &key);
	if (total_for(b->ifname, family))
		total_for(b->ifname, family)->retired += v.drops;
	update_count(-1);
	log_transition("SIP peer leaves fail-fast: its next hop answers again", b, v.drops, false);
	b->used = false;
}

bool failfast_is_blocked(uint8_t family, const uint8_t *addr)
{
	struct failfast_key key;

	make_key(&key, family, addr);
	return find(&key) != NULL;
}

/*
 * Can cgroup_skb programs call bpf_get_netns_cookie() here (6.18 yes, Debian's 6.1 and 6.12 no)?
 * Asked by loading the smallest such program. libbpf_probe_bpf_helper() is not enough: libbpf 1.1
 * takes 6.12's "program of this type cannot use helper" for support.
 */
static bool cgroup_skb_has_netns_cookie(void)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_netns_cookie}, /* r1 = ctx */
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	struct bpf_prog_load_opts opts = {.sz = sizeof(opts),
					  .expected_attach_type = BPF_CGROUP_INET_EGRESS};
	int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, NULL, "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), &opts);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int own_netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

static int failfast_start(struct agent *ag)
{
	char cgroup[256], reason[320];
	uint64_t cookie = 0;
	int cg_fd, err;

	blocked_peers = metrics_gauge(
	    ag->reg, "sipwatch_neigh_failfast_peers",
	    "SIP destinations whose SIP packets are refused now (--neigh.fail-fast).", NO_LABELS);
	metric_set(blocked_peers, NO_LABELS, 0);
	if (!ag->cfg.neigh_failfast)
		return 0;
	if (config_probe_disabled(&ag->cfg, PROBE_NAME)) {
		probe_report(PROBE_NAME, false, "disabled by --probe.disable");
		return 0;
	}
	/* The namespace filter needs bpf_get_netns_cookie() in cgroup_skb programs. */
	if (!ag->cfg.netns_all && (!cgroup_skb_has_netns_cookie() || own_netns_cookie(&cookie))) {
		probe_report(
		    PROBE_NAME, false,
		    "this kernel offers no network-namespace cookie to cgroup_skb programs");
		return 0;
	}
	cg_fd = cgroup2_root_open(cgroup, sizeof(cgroup));
	if (cg_fd < 0) {
		snprintf(reason, sizeof(reason), "no cgroup v2 root to attach to: %s",
			 strerror(-cg_fd));
		probe_report(PROBE_NAME, false, reason);
		return 0;
	}
	skel = failfast_bpf__open();
	if (!skel) {
		close(cg_fd);
		return -errno;
	}
	skel->rodata->cfg = ag->bpf_cfg;
	skel->rodata->netns_cookie = cookie;
	err = failfast_bpf__load(skel);
	if (err) {
		snprintf(reason, sizeof(reason), "the kernel refused the program: %s",
			 strerror(-err));
	} else {
		egress_link = bpf_program__attach_cgroup(skel->progs.failfast_egress, cg_fd);
		err = egress_link ? 0 : -errno;
		if (err)
			snprintf(reason, sizeof(reason), "cannot attach at cgroup %s: %s", cgroup,
				 strerror(-err));
	}
	close(cg_fd);
	if (err) {
		probe_report(PROBE_NAME, false, reason);
		failfast_bpf__destroy(skel);
		skel = NULL;
		return 0;
	}
	probes_track_program(skel->progs.failfast_egress);
	probe_report(PROBE_NAME, true, NULL);
	log_msg(LOG_INFO, "fail-fast active at cgroup %s egress", cgroup);
	return 0;
}

static int failfast_collect(struct agent *ag)
{
	int fd, n = 0, err = 0;

	if (!failfast_active())
		return 0; /* off, or not attached (start said why): nothing counts */
	fd = bpf_map__fd(skel->maps.failfast_dests);
	for (int t = 0; t < nr_totals; t++) {
		uint64_t sum = totals[t].retired;

		for (size_t i = 0; i < FAILFAST_MAX_DESTS; i++) {
			struct failfast_value v = {};

			if (!blocked[i].used || blocked[i].key.family != totals[t].family ||
			    strcmp(blocked[i].ifname, totals[t].ifname))
				continue;
			/* A blocked destination is in the map until failfast_unblock(). */
			if (bpf_map_lookup_elem(fd, &blocked[i].key, &v))
				err = -errno;
			sum += v.drops;
		}
		/* The neighbour concern owns the family; it adds these to its own drops. */
		neigh_add_drops(ag->bpf_cfg.netns_ino, totals[t].ifname, totals[t].family,
				"fail_fast", sum);
	}
	for (size_t i = 0; i < FAILFAST_MAX_DESTS; i++)
		n += blocked[i].used;
	metric_set(blocked_peers, NO_LABELS, n);
	return err;
}

static void failfast_stop(struct agent *ag)
{
	bpf_link__destroy(egress_link);
	egress_link = NULL;
	failfast_bpf__destroy(skel);
	skel = NULL;
	memset(blocked, 0, sizeof(blocked));
	nr_totals = 0;
}

const struct concern failfast_concern = {
    .name = "failfast",
    .start = failfast_start,
    .collect = failfast_collect,
    .stop = failfast_stop,
};
