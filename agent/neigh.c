// SPDX-License-Identifier: GPL-2.0-only
/* The neighbour concern's lifecycle and metrics; holdings and incidents have files of their own
 * (neigh_priv.h). */
#include "neigh.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "decode.h"
#include "ifname.h"
#include "kfacts.h"
#include "log.h"
#include "mapwalk.h"
#include "neigh.skel.h"
#include "neigh_priv.h"
#include "probes.h"
#include "rtnl.h"

struct neigh_bpf *neigh_skel;
struct agent *neigh_agent;
bool neigh_with_netns;
unsigned neigh_kernel_hz;
struct ratelimit neigh_incident_limit;

static struct kfacts_hz_calib hz_calib; /* without a readable kernel config */
static struct metric_family *state_changes, *failures, *resolution, *drops, *queue_bytes, *entries,
    *table_limit, *suppressed, *swept;

/*
 * Drops other concerns count (fail-fast's refusals) and report through neigh_add_drops(), as
 * running totals: collect clears the family and adds them back after the map's series, so the
 * family is whole whichever concern collects first.
 */
#define MAX_EXTERNAL_DROPS 64
static struct external_drop {
	uint32_t netns_ino;
	char ifname[SIPWATCH_IFNAMSIZ];
	uint8_t family;
	const char *reason; /* a string literal */
	uint64_t total;
} external_drops[MAX_EXTERNAL_DROPS];
static int nr_external_drops;

static const double res_bounds_s[NEIGH_RES_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						       0.1,   0.25,   0.5,   1,	   2.5,	  5};

const char *neigh_drop_reason_name(uint8_t reason)
{
	switch (reason) {
	case NEIGH_DROP_FAILED:
		return "failed";
	case NEIGH_DROP_QUEUE_FULL:
		return "queue_full";
	case NEIGH_DROP_DEAD:
		return "dead";
	case NEIGH_DROP_CREATE_FAILED:
		return "create_failed";
	default:
		return "other";
	}
}

/* 0, or a negative errno when the sampler could not run or be read. */
static int clock_sample(struct neigh_clock *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int fd = bpf_program__fd(neigh_skel->progs.neigh_clock_sample);

	if (bpf_prog_test_run_opts(fd, &opts)) {
		int err = -errno; /* before the log line can change errno */

		log_msg(LOG_DEBUG, "neigh: clock sample failed: %s", strerror(-err));
		return err;
	}
	/* A map, not a global: the agent loads with bpf_object__load(), which (libbpf 1.1) does
	 * not map the skeleton's .bss onto the kernel's copy. */
	if (bpf_map_lookup_elem(bpf_map__fd(neigh_skel->maps.neigh_clock), &(__u32){0}, out))
		return -errno;
	return 0;
}

/*
 * Tracepoint calls the kernel never delivered (a timer batch lost while programs were attached
 * elsewhere, measured on 6.18) leave entries in a state no hook reported: neigh_sweep finds and
 * counts those changes (and logs their FAILED incidents) from the entries themselves.
 */
static int sweep(void)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int fd = bpf_program__fd(neigh_skel->progs.neigh_sweep);

	if (fd < 0) /* not loaded: a kernel without syscall programs (said at start) */
		return 0;
	if (bpf_prog_test_run_opts(fd, &opts)) {
		int err = -errno; /* before the log line can change errno */

		log_msg(LOG_DEBUG, "neigh: sweep failed: %s", strerror(-err));
		return err;
	}
	if (opts.retval)
		log_msg(LOG_WARN,
			"neigh: %u neighbour state change(s) reached no tracepoint program, found "
			"by the sweep (sipwatch_neigh_state_changes_swept_total)",
			opts.retval);
	return 0;
}

/* Without a readable kernel config: HZ measured between samples at least a second apart. */
static int neigh_tick(struct agent *ag)
{
	struct neigh_clock now;
	int err, err2;

	if (!neigh_skel)
		return 0; /* not running: nothing to do, start() said why */
	err = sweep();
	if (neigh_kernel_hz || bpf_program__fd(neigh_skel->progs.neigh_clock_sample) < 0)
		return err;
	err2 = clock_sample(&now);
	if (err2)
		return err ? err : err2;
	neigh_kernel_hz = kfacts_hz_calibrate(&hz_calib, now.jiffies, now.ns);
	if (neigh_kernel_hz)
		log_msg(LOG_DEBUG, "neigh: kernel HZ calibrated: %u", neigh_kernel_hz);
	return err;
}

/*
 * Add @v to the series (netns,) a, b (, c): with --netns.all the BPF-fed families carry the
 * namespace first. Collectors clear a family and add every map key into it: keys that differ only
 * in what the labels do not show (an interface deleted and re-created under the same name has a
 * new ifindex) must sum, not overwrite each other.
 */
static void add_series(struct metric_family *f, uint32_t netns_ino, const char *a, const char *b,
		       const char *c, double v)
{
	char netns[16];

	snprintf(netns, sizeof(netns), "%u", netns_ino);
	if (neigh_with_netns)
		metric_add(f, c ? LABELS(netns, a, b, c) : LABELS(netns, a, b), v);
	else
		metric_add(f, c ? LABELS(a, b, c) : LABELS(a, b), v);
}

void neigh_drops_bind(struct metric_family *f, bool with_netns)
{
	drops = f;
	neigh_with_netns = with_netns;
	memset(external_drops, 0, sizeof(external_drops));
	nr_external_drops = 0;
}

void neigh_add_drops(uint32_t netns_ino, const char *ifname, uint8_t family, const char *reason,
		     uint64_t total)
{
	struct external_drop *d = NULL;

	for (int i = 0; i < nr_external_drops && !d; i++)
		if (external_drops[i].netns_ino == netns_ino &&
		    external_drops[i].family == family &&
		    !strcmp(external_drops[i].reason, reason) &&
		    !strcmp(external_drops[i].ifname, ifname))
			d = &external_drops[i];
	if (!d) {
		if (nr_external_drops == MAX_EXTERNAL_DROPS)
			return;
		d = &external_drops[nr_external_drops++];
		memset(d, 0, sizeof(*d));
		d->netns_ino = netns_ino;
		snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
		d->family = family;
		d->reason = reason;
	}
	/* The family holds the previous total already (neigh collected first) or is about to be
	 * rebuilt with the new one (neigh collects next): adding the difference is right both ways.
	 */
	if (drops && total != d->total)
		add_series(drops, netns_ino, d->ifname, decode_family_name(family), reason,
			   (double)total - (double)d->total);
	d->total = total;
}

/* --- start / collect ----------------------------------------------------------------------- */

static const char *const drop_reason_enums[] = {
    "SKB_DROP_REASON_NEIGH_FAILED", "SKB_DROP_REASON_NEIGH_QUEUEFULL", "SKB_DROP_REASON_NEIGH_DEAD",
    "SKB_DROP_REASON_NEIGH_CREATEFAIL"};

/*
 * kfree_skb gives the drop reason since ≈5.18 and the neighbour reasons since ≈6.0: without all
 * four, the drop probe stays down (IPv4 failed-queue drops are then counted like IPv6's, at the
 * FAILED transition; queue_full/dead/create_failed are not counted).
 */
static bool kernel_has_neigh_drop_reasons(struct agent *ag, char *why, size_t len)
{
	for (size_t i = 0; i < sizeof(drop_reason_enums) / sizeof(drop_reason_enums[0]); i++) {
		if (!kernel_has_enum_value(ag, "skb_drop_reason", drop_reason_enums[i])) {
			snprintf(why, len, "kernel has no drop reason %s", drop_reason_enums[i]);
			return false;
		}
	}
	return true;
}

static int neigh_start(struct agent *ag)
{
	char why[160];
	bool drop_reasons;
	int attached, err;

	neigh_agent = ag;
	neigh_with_netns = ag->cfg.netns_all;
	neigh_kernel_hz = kfacts_config_hz();
	if (ratelimit_init(&neigh_incident_limit,
			   (uint64_t)ag->cfg.neigh_incident_interval * 1000000000ull, 256))
		return -ENOMEM;
	if (neigh_holdings_init())
		return -ENOMEM;
#define DEV_LABELS(...)                                                                            \
	(neigh_with_netns ? LABELS("netns", "ifname", "family", __VA_ARGS__)                       \
			  : LABELS("ifname", "family", __VA_ARGS__))
	state_changes = metrics_counter(
	    ag->reg, "sipwatch_neigh_state_changes_total",
	    "Neighbour (ARP/NDP) entries that moved into each NUD state.", DEV_LABELS("state"));
	swept = metrics_counter(
	    ag->reg, "sipwatch_neigh_state_changes_swept_total",
	    "The part of sipwatch_neigh_state_changes_total no tracepoint reported: "
	    "found by the agent's one-second sweep of the entries.",
	    DEV_LABELS("state"));
	failures = metrics_counter(
	    ag->reg, "sipwatch_neigh_resolution_failures_total",
	    "Neighbour entries that reached FAILED (no answer to a fresh resolution, or a known "
	    "peer that stopped answering).",
	    neigh_with_netns ? LABELS("netns", "ifname", "family") : LABELS("ifname", "family"));
	resolution = metrics_histogram(ag->reg, "sipwatch_neigh_resolution_duration_seconds",
				       "Time from INCOMPLETE to REACHABLE of neighbour entries.",
				       LABELS("family"), res_bounds_s, NEIGH_RES_BUCKETS);
	drops = metrics_counter(ag->reg, "sipwatch_neigh_dropped_packets_total",
				"Packets dropped for want of a resolved neighbour, by reason.",
				DEV_LABELS("reason"));
	queue_bytes = metrics_gauge(
	    ag->reg, "sipwatch_neigh_unresolved_queue_bytes",
	    "Bytes (truesize) now parked in the queues of unresolved neighbour entries.",
	    neigh_with_netns ? LABELS("netns", "ifname", "family") : LABELS("ifname", "family"));
	entries = metrics_gauge(ag->reg, "sipwatch_neigh_entries",
				"Neighbour table entries of the agent's namespace, by NUD state.",
				LABELS("ifname", "family", "state"));
	table_limit =
	    metrics_gauge(ag->reg, "sipwatch_neigh_table_limit",
			  "The neighbour table's hard limit (gc_thresh3).", LABELS("family"));
	suppressed = metrics_counter(
	    ag->reg, "sipwatch_incidents_suppressed_total",
	    "Incident lines not logged because an identical one was logged less than "
	    "--neigh.incident-interval ago.",
	    LABELS("kind"));
#undef DEV_LABELS

	err = rtnl_open();
	if (err)
		log_msg(LOG_WARN, "neigh: no rtnetlink socket (%s): no sipwatch_neigh_entries",
			strerror(-err));

	neigh_skel = neigh_bpf__open();
	if (!neigh_skel)
		return -errno;
	neigh_skel->rodata->cfg = ag->bpf_cfg;
	/*
	 * A switch or VLAN failure fails every entry behind it at once: the default 4 MiB holds ~6
	 * 500 incident records (640 bytes each), over a second of a 5 000/s burst
	 * (--neigh.events-ring-kib).
	 */
	bpf_map__set_max_entries(neigh_skel->maps.events, ag->cfg.neigh_events_ring_kib * 1024);
	drop_reasons = kernel_has_neigh_drop_reasons(ag, why, sizeof(why));
	if (drop_reasons && !kernel_has_tracepoint(ag, "kfree_skb")) {
		snprintf(why, sizeof(why), "tracepoint kfree_skb is not in this kernel's BTF");
		drop_reasons = false;
	}
	if (!drop_reasons && !config_probe_disabled(&ag->cfg, "kfree_skb_neigh")) {
		bpf_program__set_autoload(neigh_skel->progs.kfree_skb_neigh, false);
		probe_report("kfree_skb_neigh", false, why);
	}
	/* Only a fallback (HZ calibration): not where it would fail the whole object. */
	if (neigh_kernel_hz || !kernel_has_enum_value(ag, "bpf_prog_type", "BPF_PROG_TYPE_SYSCALL"))
		bpf_program__set_autoload(neigh_skel->progs.neigh_clock_sample, false);
	if (!kernel_has_enum_value(ag, "bpf_prog_type", "BPF_PROG_TYPE_SYSCALL")) {
		bpf_program__set_autoload(neigh_skel->progs.neigh_sweep, false);
		log_msg(LOG_WARN, "neigh: kernel has no syscall programs: no sweep, a state change "
				  "whose tracepoint call is lost is not counted");
	}
	neigh_skel->rodata->ipv4_drops_have_reason =
	    drop_reasons && !config_probe_disabled(&ag->cfg, "kfree_skb_neigh");
	attached = agent_load_skeleton(ag, neigh_skel->skeleton, neigh_on_event, NULL,
				       &neigh_skel->bss->events_dropped);
	return attached < 0 ? attached : 0;
}

static bool add_transition(const void *k, const void *v, void *ctx)
{
	const struct neigh_state_key *key = k;
	double count = (double)*(const __u64 *)v;

	add_series(state_changes, key->netns_ino, key->ifname, decode_family_name(key->family),
		   decode_nud_state_name(key->state), count);
	/* An entry an administrator deleted went FAILED, but no resolution failed. */
	if (key->state == SW_NUD_FAILED && !key->admin)
		add_series(failures, key->netns_ino, key->ifname, decode_family_name(key->family),
			   NULL, count);
	return true;
}

static int collect_transitions(void)
{
	metric_family_clear(state_changes);
	metric_family_clear(failures);
	return map_walk_status(map_for_each(bpf_map__fd(neigh_skel->maps.neigh_state_changes),
					    sizeof(struct neigh_state_key), sizeof(__u64),
					    add_transition, NULL));
}

static bool add_drop(const void *k, const void *v, void *ctx)
{
	const struct neigh_drop_key *key = k;

	add_series(drops, key->netns_ino, key->ifname, decode_family_name(key->family),
		   neigh_drop_reason_name(key->state), (double)*(const __u64 *)v);
	return true;
}

static bool add_swept(const void *k, const void *v, void *ctx)
{
	const struct neigh_state_key *key = k;

	add_series(swept, key->netns_ino, key->ifname, decode_family_name(key->family),
		   decode_nud_state_name(key->state), (double)*(const __u64 *)v);
	return true;
}

static int collect_swept(void)
{
	metric_family_clear(swept);
	return map_walk_status(map_for_each(bpf_map__fd(neigh_skel->maps.neigh_swept),
					    sizeof(struct neigh_state_key), sizeof(__u64),
					    add_swept, NULL));
}

/* The map's drops and then the other concerns' (neigh_add_drops()). */
int neigh_drops_collect(void)
{
	int err = 0;

	metric_family_clear(drops);
	if (neigh_skel)
		err = map_walk_status(map_for_each(bpf_map__fd(neigh_skel->maps.neigh_drops),
						   sizeof(struct neigh_drop_key), sizeof(__u64),
						   add_drop, NULL));
	for (int i = 0; i < nr_external_drops; i++)
		add_series(drops, external_drops[i].netns_ino, external_drops[i].ifname,
			   decode_family_name(external_drops[i].family), external_drops[i].reason,
			   (double)external_drops[i].total);
	return err;
}

static int collect_resolution(void)
{
	int fd = bpf_map__fd(neigh_skel->maps.neigh_resolution), err = 0;

	for (__u32 idx = 0; idx < 2; idx++) {
		struct neigh_res_hist h;

		if (bpf_map_lookup_elem(fd, &idx, &h)) { /* an array's index: never absent */
			err = -errno;
			continue;
		}
		metric_histogram_set(resolution,
				     LABELS(decode_family_name(idx ? SW_AF_INET6 : SW_AF_INET)),
				     (const uint64_t *)h.count, (double)h.sum_ns / 1e9);
	}
	return err;
}

static bool add_queue_bytes(const void *key, const void *v, void *ctx)
{
	const struct neigh_track *t = v;

	/* Every interface with a tracked entry has a series, 0 when nothing is parked. */
	if (t->family)
		add_series(queue_bytes, t->netns_ino, t->ifname, decode_family_name(t->family),
			   NULL, t->state == SW_NUD_INCOMPLETE ? (double)t->queue_bytes : 0);
	return true;
}

/* Bytes parked now, per interface: entries still INCOMPLETE with a queue. */
static int collect_queue_bytes(void)
{
	metric_family_clear(queue_bytes);
	return map_walk_status(map_for_each(bpf_map__fd(neigh_skel->maps.neigh_tracks),
					    sizeof(__u64), sizeof(struct neigh_track),
					    add_queue_bytes, NULL));
}

/* (ifindex, family) pairs already given a zero series for every state in this dump. */
struct dump_seen {
	int nr;
	struct {
		int ifindex;
		uint8_t family;
	} pairs[64];
};

static void count_entry(const struct rtnl_neigh *n, void *data)
{
	struct dump_seen *seen = data;
	char ifname[SIPWATCH_IFNAMSIZ] = "";
	const char *family = decode_family_name(n->family);
	int i;

	ifname_label(n->ifindex, ifname);
	/* Each interface and family shows every state, 0 when it has no entry in it. */
	for (i = 0; i < seen->nr; i++)
		if (seen->pairs[i].ifindex == n->ifindex && seen->pairs[i].family == n->family)
			break;
	if (i == seen->nr && seen->nr < (int)(sizeof(seen->pairs) / sizeof(seen->pairs[0]))) {
		seen->pairs[seen->nr].ifindex = n->ifindex;
		seen->pairs[seen->nr].family = n->family;
		seen->nr++;
		for (size_t k = 0; k < sizeof(decode_nud_states); k++)
			metric_set(
			    entries,
			    LABELS(ifname, family, decode_nud_state_name(decode_nud_states[k])), 0);
	}
	metric_add(entries, LABELS(ifname, family, decode_nud_state_name(n->state)), 1);
}

static void set_table_limit(uint8_t family, uint32_t gc_thresh3, void *ctx)
{
	metric_set(table_limit, LABELS(decode_family_name(family)), (double)gc_thresh3);
}

/*
 * sipwatch_neigh_entries and _table_limit from rtnetlink dumps of the neighbour tables (the one
 * dump agent/rtnl.c makes for every concern), at most every KERNEL_SCAN_MIN_NS: a dump is the
 * kernel's whole table.
 */
static int collect_table(void)
{
	static uint64_t dumped_ns;
	struct dump_seen seen = {0};
	int err, err2;

	if (!interval_elapsed(&dumped_ns, KERNEL_SCAN_MIN_NS))
		return 0;
	metric_family_clear(entries);
	err = rtnl_neigh_dump(0, count_entry, &seen);
	if (err)
		log_msg(LOG_DEBUG, "neigh: neighbour dump failed: %s", strerror(-err));
	err2 = rtnl_neigh_tables(set_table_limit, NULL);
	if (err2)
		log_msg(LOG_DEBUG, "neigh: neighbour table dump failed: %s", strerror(-err2));
	return err ? err : err2;
}

/* 0, or the first negative errno of a map or dump that could not be read. */
static int neigh_collect(struct agent *ag)
{
	int errs[7] = {collect_table()}, n = 1;

	metric_set(suppressed, LABELS("neigh_failed"),
		   (double)neigh_incident_limit.suppressed_total);
	errs[n++] = neigh_drops_collect(); /* also without the object: other concerns' drops */
	if (neigh_skel) {
		errs[n++] = collect_transitions();
		errs[n++] = collect_swept();
		errs[n++] = collect_resolution();
		errs[n++] = collect_queue_bytes();
	}
	for (int i = 0; i < n; i++)
		if (errs[i])
			return errs[i];
	return 0;
}

static void neigh_stop(struct agent *ag)
{
	neigh_bpf__destroy(neigh_skel);
	neigh_skel = NULL;
	neigh_holdings_fini();
	ratelimit_fini(&neigh_incident_limit);
	memset(&hz_calib, 0, sizeof(hz_calib));
	neigh_drops_bind(NULL, false);
	neigh_agent = NULL;
}

static const struct concern_route neigh_routes[] = {
    {"/neigh/sockets", neigh_route_sockets},
    {NULL, NULL},
};

const struct concern neigh_concern = {
    .routes = neigh_routes,
    .name = "neigh",
    .start = neigh_start,
    .collect = neigh_collect,
    .tick = neigh_tick,
    .stop = neigh_stop,
};
