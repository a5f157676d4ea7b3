// SPDX-License-Identifier: GPL-2.0-only
#include "neigh.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <zlib.h>

#include "clock.h"
#include "decode.h"
#include "http.h"
#include "ifname.h"
#include "log.h"
#include "mapwalk.h"
#include "neigh.skel.h"
#include "probes.h"
#include "ratelimit.h"
#include "sip.h"

#define MAX_HOLDS_SNAPSHOT 8192
#define MAX_SIP_HELD	   64

static struct neigh_bpf *skel;
static struct agent *agent;
static bool with_netns;
static long kernel_hz;		    /* CONFIG_HZ, 0 when unknown */
static struct neigh_clock hz_first; /* first clock sample, for calibrating kernel_hz */
static struct mnl_socket *nl;	    /* rtnetlink, for the table dump at scrape */
static struct ratelimit incident_limit;
static struct metric_family *state_changes, *failures, *resolution, *drops, *queue_bytes, *entries,
    *table_limit, *suppressed, *swept;
static struct neigh_hold_snapshot *holds_snap;

static const double res_bounds_s[NEIGH_RES_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						       0.1,   0.25,   0.5,   1,	   2.5,	  5};

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

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_TCP:
		return "tcp";
	case 0:
		return "none";
	default:
		return "other";
	}
}

/* CONFIG_HZ, to turn jiffies into seconds: from /proc/config.gz or /boot/config-<release>. */
static long read_kernel_hz(void)
{
	char line[256], path[300];
	struct utsname u;
	long hz = 0;
	gzFile f;

	f = gzopen("/proc/config.gz", "r");
	if (!f && !uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		f = gzopen(path, "r"); /* reads plain files too */
	}
	if (!f)
		return 0;
	while (gzgets(f, line, sizeof(line)))
		if (sscanf(line, "CONFIG_HZ=%ld", &hz) == 1)
			break;
	gzclose(f);
	return hz;
}

static bool clock_sample(struct neigh_clock *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int fd = skel ? bpf_program__fd(skel->progs.neigh_clock_sample) : -1;

	if (fd < 0)
		return false;
	if (bpf_prog_test_run_opts(fd, &opts)) {
		log_msg(LOG_DEBUG, "neigh: clock sample failed: %s", strerror(errno));
		return false;
	}
	/* A map, not a global: the agent loads with bpf_object__load(), which (libbpf 1.1) does
	 * not map the skeleton's .bss onto the kernel's copy. */
	return !bpf_map_lookup_elem(bpf_map__fd(skel->maps.neigh_clock), &(__u32){0}, out);
}

/* HZ from jiffies counted over a known time, rounded to the values kernels are built with. */
long neigh_hz_from_samples(const struct neigh_clock *a, const struct neigh_clock *b)
{
	static const long common[] = {100, 250, 300, 1000};
	double hz;

	if (b->ns <= a->ns || b->jiffies < a->jiffies)
		return 0;
	hz = (double)(b->jiffies - a->jiffies) * 1e9 / (double)(b->ns - a->ns);
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (hz > (double)common[i] * 0.95 && hz < (double)common[i] * 1.05)
			return common[i];
	return (long)(hz + 0.5);
}

/*
 * Tracepoint calls the kernel never delivered (a timer batch lost while programs were attached
 * elsewhere, measured on 6.18) leave entries in a state no hook reported: neigh_sweep finds and
 * counts those changes (and logs their FAILED incidents) from the entries themselves.
 */
static void sweep(void)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int fd = skel ? bpf_program__fd(skel->progs.neigh_sweep) : -1;

	if (fd < 0)
		return;
	if (bpf_prog_test_run_opts(fd, &opts)) {
		log_msg(LOG_DEBUG, "neigh: sweep failed: %s", strerror(errno));
		return;
	}
	if (opts.retval)
		log_msg(LOG_WARN,
			"neigh: %u neighbour state change(s) reached no tracepoint program, found "
			"by the sweep (sipwatch_neigh_state_changes_swept_total)",
			opts.retval);
}

/* Without a readable kernel config: a second sample at least a second after the first. */
static int neigh_tick(struct agent *ag)
{
	struct neigh_clock now;

	sweep();
	if (kernel_hz || !clock_sample(&now))
		return 0;
	if (!hz_first.ns) {
		hz_first = now;
		return 0;
	}
	if (now.ns - hz_first.ns < 1000000000ull)
		return 0;
	kernel_hz = neigh_hz_from_samples(&hz_first, &now);
	log_msg(LOG_DEBUG, "neigh: kernel HZ calibrated: %ld", kernel_hz);
	return 0;
}

/*
 * Metric label sets: with --netns.all the BPF-fed families carry the namespace too. @netns and
 * the other values are spliced in front of the family's own labels.
 */
/*
 * Add @v to the series (netns,) a, b (, c). Collectors clear a family and add every map key into
 * it: keys that differ only in what the labels do not show (an interface deleted and re-created
 * under the same name has a new ifindex) must sum, not overwrite each other.
 */
static void add_series(struct metric_family *f, uint32_t netns_ino, const char *a, const char *b,
		       const char *c, double v)
{
	char netns[16];

	snprintf(netns, sizeof(netns), "%u", netns_ino);
	if (with_netns)
		metric_add(f, c ? LABELS(netns, a, b, c) : LABELS(netns, a, b), v);
	else
		metric_add(f, c ? LABELS(a, b, c) : LABELS(a, b), v);
}

/* --- holdings: which socket parked what in which entry's queue --------------------------- */

int neigh_holdings_select(const struct neigh_hold_snapshot *snap, int n, uint64_t sk,
			  uint64_t since_ns, neigh_episode_open_fn open, void *open_ctx,
			  struct neigh_holding *out, int max)
{
	int filled = 0;

	for (int i = 0; i < n && filled < max; i++) {
		const struct neigh_hold *h = &snap[i].hold;
		bool held_now;

		if (snap[i].key.sk != sk || !h->queued_packets)
			continue;
		held_now = h->release == NEIGH_HELD && open(snap[i].key.neigh, h->gen, open_ctx);
		if (!held_now && (h->release == NEIGH_HELD || h->released_ns < since_ns))
			continue;
		memset(&out[filled], 0, sizeof(out[filled]));
		memcpy(out[filled].ifname, h->ifname, sizeof(out[filled].ifname));
		out[filled].ifname[sizeof(out[filled].ifname) - 1] = '\0';
		out[filled].family = h->family;
		memcpy(out[filled].addr, h->addr, sizeof(out[filled].addr));
		out[filled].bytes = h->peak_bytes;
		out[filled].packets = h->peak_packets;
		filled++;
	}
	return filled;
}

int neigh_sip_held_sum(const struct neigh_hold_snapshot *snap, int n, bool (*is_sip)(uint16_t port),
		       neigh_episode_open_fn open, void *open_ctx, struct neigh_sip_held *out,
		       int max)
{
	int filled = 0, j;

	for (int i = 0; i < n; i++) {
		const struct neigh_hold *h = &snap[i].hold;

		if (!snap[i].key.sk || h->release != NEIGH_HELD || !h->bytes || !is_sip(h->port) ||
		    !open(snap[i].key.neigh, h->gen, open_ctx))
			continue;
		for (j = 0; j < filled; j++)
			if (out[j].proto == h->proto && out[j].port == h->port)
				break;
		if (j == filled) {
			if (filled == max)
				continue;
			out[filled].proto = h->proto;
			out[filled].port = h->port;
			out[filled].bytes = 0;
			filled++;
		}
		out[j].bytes += h->bytes;
	}
	return filled;
}

/* Is @neigh's current queue episode still @gen (and the entry still tracked)? */
static bool episode_open_in_map(uint64_t neigh, uint32_t gen, void *ctx)
{
	struct neigh_track t;

	if (!skel || bpf_map_lookup_elem(bpf_map__fd(skel->maps.neigh_tracks), &neigh, &t))
		return false;
	return t.gen == gen && t.state == SW_NUD_INCOMPLETE;
}

/* The whole holdings map, in one batch call where the kernel has it (5.6+), else key by key. */
/* The key-by-key walk's step: @ctx counts the entries taken; false once the snapshot is full. */
static bool snapshot_hold(const void *key, const void *hold, void *ctx)
{
	int *n = ctx;

	holds_snap[*n].key = *(const struct neigh_hold_key *)key;
	holds_snap[*n].hold = *(const struct neigh_hold *)hold;
	return ++*n < MAX_HOLDS_SNAPSHOT;
}

static int snapshot_holds(void)
{
	static struct neigh_hold_key keys[MAX_HOLDS_SNAPSHOT];
	static struct neigh_hold vals[MAX_HOLDS_SNAPSHOT];
	__u64 batch = 0;
	__u32 count = MAX_HOLDS_SNAPSHOT;
	int fd, n = 0, err;

	if (!skel || !holds_snap)
		return 0;
	fd = bpf_map__fd(skel->maps.neigh_holds);
	err = bpf_map_lookup_batch(fd, NULL, &batch, keys, vals, &count, NULL);
	if (!err || errno == ENOENT) { /* ENOENT: the map ended within this batch */
		for (__u32 i = 0; i < count; i++) {
			holds_snap[i].key = keys[i];
			holds_snap[i].hold = vals[i];
		}
		return (int)count;
	}
	map_for_each(fd, sizeof(struct neigh_hold_key), sizeof(struct neigh_hold), snapshot_hold,
		     &n);
	return n;
}

int neigh_socket_holdings(uint64_t sk, uint64_t since_ns, struct neigh_holding *out, int max)
{
	int n = snapshot_holds();

	return neigh_holdings_select(holds_snap, n, sk, since_ns, episode_open_in_map, NULL, out,
				     max);
}

static bool agent_sip_port(uint16_t port)
{
	return agent && config_is_sip_port(&agent->cfg, port);
}

void neigh_for_each_sip_held(void (*fn)(uint8_t proto, uint16_t port, uint64_t bytes, void *ctx),
			     void *ctx)
{
	struct neigh_sip_held held[MAX_SIP_HELD];
	int n = snapshot_holds(), k;

	k = neigh_sip_held_sum(holds_snap, n, agent_sip_port, episode_open_in_map, NULL, held,
			       MAX_SIP_HELD);
	for (int i = 0; i < k; i++)
		fn(held[i].proto, held[i].port, held[i].bytes, ctx);
}

#define ROUTE_MAX_SOCKETS  64
#define ROUTE_MAX_HOLDINGS 16

struct held_now_json {
	struct strbuf *out;
	int rows;
};

static void put_held_now(uint8_t proto, uint16_t port, uint64_t bytes, void *ctx)
{
	struct held_now_json *j = ctx;

	strbuf_printf(j->out, "%s", j->rows++ ? "," : "");
	strbuf_printf(j->out, "{\"proto\":\"%s\",\"port\":%u,\"bytes\":%llu}", proto_name(proto),
		      port, (unsigned long long)bytes);
}

/*
 * GET /neigh/sockets[?since=SECONDS]: the sockets that had packets parked in unresolved neighbour
 * queues in the last SECONDS (default 300), with the entries they waited on, and what SIP sockets
 * hold right now. The same calls the send-path concern makes.
 */
static int route_sockets(void *ctx, struct http_request *req, struct strbuf *out,
			 const char **content_type)
{
	struct neigh_holding holdings[ROUTE_MAX_HOLDINGS];
	struct neigh_hold_snapshot socks[ROUTE_MAX_SOCKETS];
	const char *arg = http_query_arg(req, "since");
	uint64_t now = monotonic_ns(), window = 300 * 1000000000ull, since;
	int n, nr_socks = 0;

	if (arg && neigh_since_window_ns(arg, &window)) {
		strbuf_printf(out, "since: whole seconds 0-%llu expected\n", NEIGH_SINCE_MAX_S);
		*content_type = "text/plain";
		return 400;
	}
	since = now > window ? now - window : 0;
	*content_type = "application/json";
	strbuf_puts(out, "{\"held_now\":[");
	neigh_for_each_sip_held(put_held_now, &(struct held_now_json){.out = out});
	strbuf_puts(out, "],\"sockets\":[");
	n = snapshot_holds();
	/* One row per socket (its first holding stands for its identity). */
	for (int i = 0; i < n && nr_socks < ROUTE_MAX_SOCKETS; i++) {
		int j;

		for (j = 0; j < nr_socks; j++)
			if (socks[j].key.sk == holds_snap[i].key.sk)
				break;
		if (j == nr_socks)
			socks[nr_socks++] = holds_snap[i];
	}
	for (int i = 0, first = 1; i < nr_socks; i++) {
		const struct neigh_hold *h = &socks[i].hold;
		char comm[sizeof(h->comm) + 1];
		int k =
		    neigh_holdings_select(holds_snap, n, socks[i].key.sk, since,
					  episode_open_in_map, NULL, holdings, ROUTE_MAX_HOLDINGS);

		if (!k)
			continue;
		memcpy(comm, h->comm, sizeof(h->comm));
		comm[sizeof(h->comm)] = '\0';
		strbuf_printf(out, "%s{\"proto\":\"%s\",\"port\":%u,\"pid\":%u,\"comm\":",
			      first ? "" : ",", proto_name(h->proto), h->port, h->tgid);
		strbuf_json_string(out, comm);
		strbuf_puts(out, ",\"holdings\":[");
		for (int j = 0; j < k; j++) {
			char addr[INET6_ADDRSTRLEN];

			decode_addr(addr, sizeof(addr), holdings[j].family, holdings[j].addr);
			strbuf_printf(out, "%s{\"ifname\":", j ? "," : "");
			strbuf_json_string(out, holdings[j].ifname);
			strbuf_printf(out,
				      ",\"family\":\"%s\",\"address\":\"%s\",\"bytes\":%llu,"
				      "\"packets\":%u}",
				      neigh_family_name(holdings[j].family), addr,
				      (unsigned long long)holdings[j].bytes, holdings[j].packets);
		}
		strbuf_puts(out, "]}");
		first = 0;
	}
	strbuf_puts(out, "]}\n");
	return 200;
}

int neigh_since_window_ns(const char *arg, uint64_t *window_ns)
{
	uint64_t s = 0;

	if (!*arg)
		return -1;
	for (const char *p = arg; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		s = s * 10 + (uint64_t)(*p - '0');
		if (s > NEIGH_SINCE_MAX_S) /* checked per digit: s * 10 cannot wrap */
			return -1;
	}
	*window_ns = s * 1000000000ull;
	return 0;
}

/* --- incidents ----------------------------------------------------------------------------- */

/* "udp:5060 pid=1234 comm=kamailio packets=20 bytes=46080", one per SIP socket, ", "-joined. */
static void format_sockets(const struct neigh_failed_event *e, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < e->nr_sockets && i < NEIGH_EVENT_MAX_SOCKETS && off < len; i++) {
		const struct neigh_failed_socket *s = &e->sockets[i];
		char comm[sizeof(s->comm) + 1];

		memcpy(comm, s->comm, sizeof(s->comm));
		comm[sizeof(s->comm)] = '\0';
		off += (size_t)snprintf(buf + off, len - off,
					"%s%s:%u pid=%u comm=%s packets=%u bytes=%llu",
					i ? ", " : "", proto_name(s->proto), s->port, s->tgid, comm,
					s->packets, (unsigned long long)s->bytes);
	}
}

static void format_behind(const struct neigh_failed_event *e, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < e->nr_behind && i < NEIGH_MAX_BEHIND && off < len; i++) {
		char addr[INET6_ADDRSTRLEN];

		decode_addr(addr, sizeof(addr), e->family, e->behind[i]);
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", addr);
	}
}

static void log_failed(const struct neigh_failed_event *e)
{
	char addr[INET6_ADDRSTRLEN], key[RATELIMIT_KEY_MAX], socks[1024], behind[256];
	bool known = e->old_state != SW_NUD_INCOMPLETE;
	uint64_t held_back;
	struct log_line l;

	decode_addr(addr, sizeof(addr), e->family, e->addr);
	snprintf(key, sizeof(key), "neigh_failed %u %.16s %s", e->hdr.netns_ino, e->ifname, addr);
	if (!ratelimit_allow(&incident_limit, key, monotonic_ns(), &held_back))
		return;
	incident_begin(&l, "neigh_failed",
		       known ? "neighbour stopped answering"
			     : "neighbour resolution got no answer");
	log_str(&l, "ifname", e->ifname);
	log_str(&l, "family", neigh_family_name(e->family));
	log_str(&l, "address", addr);
	/* no_answer: a fresh resolution (INCOMPLETE) never answered; stopped_answering: a peer
	 * that had been resolved failed its re-confirmation (PROBE). */
	log_str(&l, "failure", known ? "stopped_answering" : "no_answer");
	log_str(&l, "previous_state", neigh_state_name(e->old_state));
	log_uint(&l, "probes", e->probes);
	if (known && kernel_hz > 0)
		log_double(&l, "seconds_since_confirmed",
			   (double)e->since_confirmed_jiffies / (double)kernel_hz);
	log_uint(&l, "dropped_packets", e->dropped_packets);
	log_uint(&l, "dropped_bytes", e->dropped_bytes);
	if (e->queued_ns)
		log_double(&l, "queued_seconds", (double)e->queued_ns / 1e9);
	if (e->nr_sockets) {
		format_sockets(e, socks, sizeof(socks));
		log_str(&l, "sip_sockets", socks);
	}
	if (e->other_sockets) {
		log_uint(&l, "other_sockets", e->other_sockets);
		log_uint(&l, "other_packets", e->other_packets);
		log_uint(&l, "other_bytes", e->other_bytes);
	}
	if (e->nr_behind) {
		/* The entry is a next hop (gateway): these destinations were waiting behind it. */
		format_behind(e, behind, sizeof(behind));
		log_str(&l, "peers_behind", behind);
	}
	/* issue 18: the addresses of record registered from the peers behind this next hop */
	sip_log_registrations_behind(&l, e->ifindex, e->family, e->addr);
	if (held_back)
		log_uint(&l, "suppressed", held_back);
	/* No tracepoint call reported it: the sweep found it FAILED (up to a second late). */
	if (e->flags & NEIGH_EVENT_F_SWEPT)
		log_str(&l, "detected_by", "sweep");
	if (with_netns)
		log_uint(&l, "netns", e->hdr.netns_ino);
	log_end(&l);
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct sipwatch_event_hdr *hdr = data;

	if (size < sizeof(*hdr))
		return 0;
	if (hdr->type == SIPWATCH_EV_NEIGH_FAILED && size >= sizeof(struct neigh_failed_event))
		log_failed(data);
	return 0;
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
	int attached;

	agent = ag;
	with_netns = ag->cfg.netns_all;
	kernel_hz = read_kernel_hz();
	if (ratelimit_init(&incident_limit,
			   (uint64_t)ag->cfg.neigh_incident_interval * 1000000000ull, 256))
		return -ENOMEM;
	holds_snap = calloc(MAX_HOLDS_SNAPSHOT, sizeof(*holds_snap));
	if (!holds_snap)
		return -ENOMEM;
#define DEV_LABELS(...)                                                                            \
	(with_netns ? LABELS("netns", "ifname", "family", __VA_ARGS__)                             \
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
	    with_netns ? LABELS("netns", "ifname", "family") : LABELS("ifname", "family"));
	resolution = metrics_histogram(ag->reg, "sipwatch_neigh_resolution_duration_seconds",
				       "Time from INCOMPLETE to REACHABLE of neighbour entries.",
				       LABELS("family"), res_bounds_s, NEIGH_RES_BUCKETS);
	drops = metrics_counter(ag->reg, "sipwatch_neigh_dropped_packets_total",
				"Packets dropped for want of a resolved neighbour, by reason.",
				DEV_LABELS("reason"));
	queue_bytes = metrics_gauge(
	    ag->reg, "sipwatch_neigh_unresolved_queue_bytes",
	    "Bytes (truesize) now parked in the queues of unresolved neighbour entries.",
	    with_netns ? LABELS("netns", "ifname", "family") : LABELS("ifname", "family"));
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

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		nl = NULL;
	}
	if (!nl)
		log_msg(LOG_WARN, "neigh: no rtnetlink socket (%s): no sipwatch_neigh_entries",
			strerror(errno));

	skel = neigh_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->cfg = ag->bpf_cfg;
	/*
	 * A switch or VLAN failure fails every entry behind it at once: the default 4 MiB holds ~6
	 * 500 incident records (640 bytes each), over a second of a 5 000/s burst
	 * (--neigh.events-ring-kib).
	 */
	bpf_map__set_max_entries(skel->maps.events, ag->cfg.neigh_events_ring_kib * 1024);
	drop_reasons = kernel_has_neigh_drop_reasons(ag, why, sizeof(why));
	if (drop_reasons && !kernel_has_tracepoint(ag, "kfree_skb")) {
		snprintf(why, sizeof(why), "tracepoint kfree_skb is not in this kernel's BTF");
		drop_reasons = false;
	}
	if (!drop_reasons && !config_probe_disabled(&ag->cfg, "kfree_skb_neigh")) {
		bpf_program__set_autoload(skel->progs.kfree_skb_neigh, false);
		probe_report("kfree_skb_neigh", false, why);
	}
	/* Only a fallback (HZ calibration): not where it would fail the whole object. */
	if (kernel_hz || !kernel_has_enum_value(ag, "bpf_prog_type", "BPF_PROG_TYPE_SYSCALL"))
		bpf_program__set_autoload(skel->progs.neigh_clock_sample, false);
	if (!kernel_has_enum_value(ag, "bpf_prog_type", "BPF_PROG_TYPE_SYSCALL")) {
		bpf_program__set_autoload(skel->progs.neigh_sweep, false);
		log_msg(LOG_WARN, "neigh: kernel has no syscall programs: no sweep, a state change "
				  "whose tracepoint call is lost is not counted");
	}
	skel->rodata->ipv4_drops_have_reason =
	    drop_reasons && !config_probe_disabled(&ag->cfg, "kfree_skb_neigh");
	attached =
	    agent_load_skeleton(ag, skel->skeleton, on_event, NULL, &skel->bss->events_dropped);
	return attached < 0 ? attached : 0;
}

static bool add_transition(const void *k, const void *v, void *ctx)
{
	const struct neigh_state_key *key = k;
	double count = (double)*(const __u64 *)v;

	add_series(state_changes, key->netns_ino, key->ifname, neigh_family_name(key->family),
		   neigh_state_name(key->state), count);
	/* An entry an administrator deleted went FAILED, but no resolution failed. */
	if (key->state == SW_NUD_FAILED && !key->admin)
		add_series(failures, key->netns_ino, key->ifname, neigh_family_name(key->family),
			   NULL, count);
	return true;
}

static void collect_transitions(void)
{
	metric_family_clear(state_changes);
	metric_family_clear(failures);
	map_for_each(bpf_map__fd(skel->maps.neigh_state_changes), sizeof(struct neigh_state_key),
		     sizeof(__u64), add_transition, NULL);
}

static bool add_drop(const void *k, const void *v, void *ctx)
{
	const struct neigh_drop_key *key = k;

	add_series(drops, key->netns_ino, key->ifname, neigh_family_name(key->family),
		   neigh_drop_reason_name(key->state), (double)*(const __u64 *)v);
	return true;
}

static bool add_swept(const void *k, const void *v, void *ctx)
{
	const struct neigh_state_key *key = k;

	add_series(swept, key->netns_ino, key->ifname, neigh_family_name(key->family),
		   neigh_state_name(key->state), (double)*(const __u64 *)v);
	return true;
}

static void collect_swept(void)
{
	metric_family_clear(swept);
	map_for_each(bpf_map__fd(skel->maps.neigh_swept), sizeof(struct neigh_state_key),
		     sizeof(__u64), add_swept, NULL);
}

static void collect_drops(void)
{
	metric_family_clear(drops);
	map_for_each(bpf_map__fd(skel->maps.neigh_drops), sizeof(struct neigh_drop_key),
		     sizeof(__u64), add_drop, NULL);
}

static void collect_resolution(void)
{
	int fd = bpf_map__fd(skel->maps.neigh_resolution);

	for (__u32 idx = 0; idx < 2; idx++) {
		struct neigh_res_hist h;

		if (bpf_map_lookup_elem(fd, &idx, &h))
			continue;
		metric_histogram_set(resolution,
				     LABELS(neigh_family_name(idx ? SW_AF_INET6 : SW_AF_INET)),
				     (const uint64_t *)h.count, (double)h.sum_ns / 1e9);
	}
}

static bool add_queue_bytes(const void *key, const void *v, void *ctx)
{
	const struct neigh_track *t = v;

	/* Every interface with a tracked entry has a series, 0 when nothing is parked. */
	if (t->family)
		add_series(queue_bytes, t->netns_ino, t->ifname, neigh_family_name(t->family), NULL,
			   t->state == SW_NUD_INCOMPLETE ? (double)t->queue_bytes : 0);
	return true;
}

/* Bytes parked now, per interface: entries still INCOMPLETE with a queue. */
static void collect_queue_bytes(void)
{
	metric_family_clear(queue_bytes);
	map_for_each(bpf_map__fd(skel->maps.neigh_tracks), sizeof(__u64),
		     sizeof(struct neigh_track), add_queue_bytes, NULL);
}

/* --- the kernel's table, by rtnetlink dump ------------------------------------------------- */

static const uint8_t nud_states[] = {SW_NUD_NONE,   SW_NUD_INCOMPLETE, SW_NUD_REACHABLE,
				     SW_NUD_STALE,  SW_NUD_DELAY,      SW_NUD_PROBE,
				     SW_NUD_FAILED, SW_NUD_NOARP,      SW_NUD_PERMANENT};

/* (ifindex, family) pairs already given a zero series for every state in this dump. */
struct dump_seen {
	int nr;
	struct {
		int ifindex;
		uint8_t family;
	} pairs[64];
};

static int neigh_entry_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct dump_seen *seen = data;
	char ifname[IF_NAMESIZE] = "";
	const char *family;
	int i;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return MNL_CB_OK;
	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return MNL_CB_OK;
	ifname_label(ndm->ndm_ifindex, ifname);
	family = neigh_family_name((uint8_t)ndm->ndm_family);
	/* Each interface and family shows every state, 0 when it has no entry in it. */
	for (i = 0; i < seen->nr; i++)
		if (seen->pairs[i].ifindex == ndm->ndm_ifindex &&
		    seen->pairs[i].family == ndm->ndm_family)
			break;
	if (i == seen->nr && seen->nr < (int)(sizeof(seen->pairs) / sizeof(seen->pairs[0]))) {
		seen->pairs[seen->nr].ifindex = ndm->ndm_ifindex;
		seen->pairs[seen->nr].family = ndm->ndm_family;
		seen->nr++;
		for (size_t k = 0; k < sizeof(nud_states); k++)
			metric_set(entries, LABELS(ifname, family, neigh_state_name(nud_states[k])),
				   0);
	}
	metric_add(entries, LABELS(ifname, family, neigh_state_name((uint8_t)ndm->ndm_state)), 1);
	return MNL_CB_OK;
}

static int neigh_table_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndtmsg *ndt = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWNEIGHTBL)
		return MNL_CB_OK;
	if (ndt->ndtm_family != AF_INET && ndt->ndtm_family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ndt))
	{
		if (mnl_attr_get_type(attr) == NDTA_THRESH3 &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			metric_set(table_limit,
				   LABELS(neigh_family_name((uint8_t)ndt->ndtm_family)),
				   (double)mnl_attr_get_u32(attr));
	}
	return MNL_CB_OK;
}

static int rtnl_dump(uint16_t type, size_t hdrlen, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned int seq = (unsigned int)time(NULL), portid = mnl_socket_get_portid(nl);
	struct rtgenmsg *g;
	ssize_t len;
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	/* ndmsg and ndtmsg both start with the family byte. */
	g = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((len = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, (size_t)len, seq, portid, cb, data);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
	return len < 0 ? -errno : 0;
}

/*
 * sipwatch_neigh_entries and _table_limit from rtnetlink dumps of the neighbour tables, at most
 * every KERNEL_SCAN_MIN_NS (a dump is the kernel's whole table).
 */
static void collect_table(void)
{
	static uint64_t dumped_ns;
	struct dump_seen seen = {0};

	if (!nl || !interval_elapsed(&dumped_ns, KERNEL_SCAN_MIN_NS))
		return;
	metric_family_clear(entries);
	if (rtnl_dump(RTM_GETNEIGH, sizeof(struct ndmsg), neigh_entry_cb, &seen))
		log_msg(LOG_DEBUG, "neigh: neighbour dump failed: %s", strerror(errno));
	if (rtnl_dump(RTM_GETNEIGHTBL, sizeof(struct ndtmsg), neigh_table_cb, NULL))
		log_msg(LOG_DEBUG, "neigh: neighbour table dump failed: %s", strerror(errno));
}

static int neigh_collect(struct agent *ag)
{
	collect_table();
	metric_set(suppressed, LABELS("neigh_failed"), (double)incident_limit.suppressed_total);
	if (!skel)
		return 0;
	collect_transitions();
	collect_swept();
	collect_drops();
	collect_resolution();
	collect_queue_bytes();
	return 0;
}

static void neigh_stop(struct agent *ag)
{
	neigh_bpf__destroy(skel);
	skel = NULL;
	if (nl)
		mnl_socket_close(nl);
	nl = NULL;
	free(holds_snap);
	holds_snap = NULL;
	ratelimit_fini(&incident_limit);
	memset(&hz_first, 0, sizeof(hz_first));
	agent = NULL;
}

static const struct concern_route neigh_routes[] = {
    {"/neigh/sockets", route_sockets},
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
