// SPDX-License-Identifier: GPL-2.0-only
#include "sip.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "mapwalk.h"
#include "peers.h"
#include "probes.h"
#include "refresh.h"
#include "rtnl.h"
#include "sip_abi.h"
#include "sip.skel.h"

#define MAX_IFACES	 64
#define BPFFS		 "/sys/fs/bpf"
#define ROUTE_MAX_AGE_NS (30ULL * 1000000000ULL) /* next hops re-checked this often */
#define TICK_NS		 1000000000ULL		 /* agent.c's timer */
#define MAX_NEIGH_DUMP	 65536

struct sip_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	struct xdp_program *xdp; /* attached through libxdp */
	enum xdp_attach_mode xdp_mode;
	__u32 xdp_legacy_flags; /* attached with plain libbpf (0: not) */
	bool xdp_legacy;
	struct bpf_tc_opts tc_in; /* handle/priority of our filters (prog_fd 0: none) */
	struct bpf_tc_opts tc_out;
	bool tc_in_attached, tc_out_attached;
	bool created_clsact; /* we made the clsact qdisc: remove it on exit */
};

static struct sip_bpf *skel;
static struct sip_iface ifaces[MAX_IFACES];
static int nr_ifaces;
static bool mounted_bpffs;
static bool use_libxdp; /* bpffs is usable: attach through libxdp */
static struct metric_family *requests, *responses, *keepalives, *unparsed;
static struct rtnl_neigh *neigh_tab;
static int nr_neigh;
static struct agent *agent;

static const char *const kind_labels[SIP_KIND_MAX] = {
    [SIP_REQ_INVITE] = "invite",
    [SIP_REQ_REGISTER] = "register",
    [SIP_REQ_OPTIONS] = "options",
    [SIP_REQ_ACK] = "ack",
    [SIP_REQ_BYE] = "bye",
    [SIP_REQ_CANCEL] = "cancel",
    [SIP_REQ_NOTIFY] = "notify",
    [SIP_REQ_SUBSCRIBE] = "subscribe",
    [SIP_REQ_PRACK] = "prack",
    [SIP_REQ_UPDATE] = "update",
    [SIP_REQ_INFO] = "info",
    [SIP_REQ_REFER] = "refer",
    [SIP_REQ_MESSAGE] = "message",
    [SIP_REQ_PUBLISH] = "publish",
    [SIP_REQ_OTHER] = "other",
    [SIP_RESP_1XX] = "1xx",
    [SIP_RESP_2XX] = "2xx",
    [SIP_RESP_3XX] = "3xx",
    [SIP_RESP_4XX] = "4xx",
    [SIP_RESP_5XX] = "5xx",
    [SIP_RESP_6XX] = "6xx",
    [SIP_KA_CRLF_PING] = "crlf_ping",
    [SIP_KA_CRLF_PONG] = "crlf_pong",
    [SIP_KA_STUN_REQUEST] = "stun_request",
    [SIP_KA_STUN_RESPONSE] = "stun_response",
    [SIP_UNPARSED_TLS] = "tls",
    [SIP_UNPARSED_TCP_MIDSTREAM] = "tcp_midstream",
    [SIP_UNPARSED_UDP_NOT_SIP] = "udp_not_sip",
};

const char *sip_kind_label(int kind)
{
	return kind > SIP_NONE && kind < SIP_KIND_MAX ? kind_labels[kind] : "none";
}

static int libxdp_log(enum libxdp_print_level level, const char *fmt, va_list args)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, args);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_msg(level == LIBXDP_WARN ? LOG_INFO : LOG_DEBUG, "libxdp: %s", msg);
	return 0;
}

/*
 * libxdp keeps its state under bpffs; ip netns exec and fresh machines have none mounted.
 * Returns whether bpffs is usable: without it libxdp is not used at all (libxdp 1.3 crashes in
 * xdp_program__attach() on a program made from an fd when it cannot reach bpffs).
 */
static bool ensure_bpffs(void)
{
	struct statfs st;

	if (!statfs(BPFFS, &st) && st.f_type == BPF_FS_MAGIC)
		return true;
	if (mount("bpf", BPFFS, "bpf", 0, "mode=0700")) {
		log_msg(LOG_WARN,
			"sip: %s is not bpffs and mounting it failed (%s): XDP attaches "
			"through plain libbpf, without libxdp",
			BPFFS, strerror(errno));
		return false;
	}
	mounted_bpffs = true;
	log_msg(LOG_INFO, "sip: mounted bpffs on %s (libxdp needs it; unmounted on exit)", BPFFS);
	return true;
}

static void add_iface(const char *name)
{
	struct sip_iface *i;
	unsigned int idx = if_nametoindex(name);
	char probe[64];

	if (!idx) {
		snprintf(probe, sizeof(probe), "xdp:%s", name);
		probe_report(probe, false, "no such interface");
		return;
	}
	if (nr_ifaces == MAX_IFACES) {
		log_msg(LOG_WARN, "sip: more than %d interfaces, %s not watched", MAX_IFACES, name);
		return;
	}
	i = &ifaces[nr_ifaces++];
	memset(i, 0, sizeof(*i));
	snprintf(i->name, sizeof(i->name), "%s", name);
	i->ifindex = (int)idx;
}

/* --ifaces, or every interface that is up and not loopback now. */
static void choose_ifaces(const char *list)
{
	struct if_nameindex *all, *n;
	int fd;

	if (*list) {
		char buf[sizeof(((struct config *)0)->ifaces)], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", list);
		for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			add_iface(tok);
		return;
	}
	all = if_nameindex();
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (n = all; n && n->if_index; n++) {
		struct ifreq ifr = {0};

		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->if_name);
		if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
			continue;
		if ((ifr.ifr_flags & IFF_UP) && !(ifr.ifr_flags & IFF_LOOPBACK))
			add_iface(n->if_name);
	}
	if (fd >= 0)
		close(fd);
	if (all)
		if_freenameindex(all);
}

static int tc_attach(struct sip_iface *i, enum bpf_tc_attach_point point,
		     const struct bpf_program *prog, struct bpf_tc_opts *opts)
{
	struct bpf_tc_hook hook = {
	    .sz = sizeof(hook), .ifindex = i->ifindex, .attach_point = point};
	int err = bpf_tc_hook_create(&hook);

	if (!err)
		i->created_clsact = true;
	else if (err != -EEXIST)
		return err;
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->prog_fd = bpf_program__fd(prog);
	err = bpf_tc_attach(&hook, opts);
	return err;
}

static void tc_detach(struct sip_iface *i, enum bpf_tc_attach_point point,
		      const struct bpf_tc_opts *attached)
{
	struct bpf_tc_hook hook = {
	    .sz = sizeof(hook), .ifindex = i->ifindex, .attach_point = point};
	struct bpf_tc_opts opts = {
	    .sz = sizeof(opts), .handle = attached->handle, .priority = attached->priority};

	bpf_tc_detach(&hook, &opts);
}

/* XDP in @mode through libxdp, else plain libbpf. 0 or a negative errno. */
static int xdp_attach_mode(struct sip_iface *i, enum xdp_attach_mode mode)
{
	int fd = bpf_program__fd(skel->progs.sip_xdp);
	__u32 flags = mode == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	struct xdp_program *xp = use_libxdp ? xdp_program__from_fd(fd) : NULL;
	int err = xp ? (int)libxdp_get_error(xp) : -ENOTSUP;

	if (!err) {
		err = xdp_program__attach(xp, i->ifindex, mode, 0);
		if (!err) {
			i->xdp = xp;
			i->xdp_mode = mode;
			return 0;
		}
		xdp_program__close(xp);
		log_msg(LOG_DEBUG, "sip: libxdp could not attach to %s (%s); trying libbpf",
			i->name, strerror(-err));
	}
	err = bpf_xdp_attach(i->ifindex, fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (!err) {
		i->xdp_legacy = true;
		i->xdp_legacy_flags = flags;
	}
	return err;
}

static void attach_iface(struct sip_iface *i, enum sip_xdp_mode mode)
{
	char probe[64], reason[160] = "";
	int err = -EOPNOTSUPP;

	snprintf(probe, sizeof(probe), "xdp:%.16s", i->name);
	if (mode == SIP_XDP_OFF) {
		snprintf(reason, sizeof(reason), "--xdp.mode=off");
	} else {
		if (mode == SIP_XDP_AUTO || mode == SIP_XDP_NATIVE)
			err = xdp_attach_mode(i, XDP_MODE_NATIVE);
		if (err && (mode == SIP_XDP_AUTO || mode == SIP_XDP_GENERIC))
			err = xdp_attach_mode(i, XDP_MODE_SKB);
		if (err)
			snprintf(reason, sizeof(reason), "XDP attach failed: %.100s",
				 strerror(-err));
	}
	probe_report(probe, !err, reason);
	if (err) {
		/* Ingress still has to be seen: tc ingress instead. */
		snprintf(probe, sizeof(probe), "tc_ingress:%.16s", i->name);
		err = tc_attach(i, BPF_TC_INGRESS, skel->progs.sip_tc_ingress, &i->tc_in);
		i->tc_in_attached = !err;
		snprintf(reason, sizeof(reason), "tc attach failed: %.100s", strerror(-err));
		probe_report(probe, !err, reason);
	}
	snprintf(probe, sizeof(probe), "tc_egress:%.16s", i->name);
	err = tc_attach(i, BPF_TC_EGRESS, skel->progs.sip_tc_egress, &i->tc_out);
	i->tc_out_attached = !err;
	snprintf(reason, sizeof(reason), "tc attach failed: %.100s", strerror(-err));
	probe_report(probe, !err, reason);
}

static void detach_iface(struct sip_iface *i)
{
	if (i->xdp) {
		xdp_program__detach(i->xdp, i->ifindex, i->xdp_mode, 0);
		xdp_program__close(i->xdp);
		i->xdp = NULL;
	}
	if (i->xdp_legacy) {
		bpf_xdp_detach(i->ifindex, i->xdp_legacy_flags, NULL);
		i->xdp_legacy = false;
	}
	if (i->tc_in_attached)
		tc_detach(i, BPF_TC_INGRESS, &i->tc_in);
	if (i->tc_out_attached)
		tc_detach(i, BPF_TC_EGRESS, &i->tc_out);
	i->tc_in_attached = i->tc_out_attached = false;
	if (i->created_clsact) {
		struct bpf_tc_hook hook = {.sz = sizeof(hook),
					   .ifindex = i->ifindex,
					   .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS};

		bpf_tc_hook_destroy(&hook);
		i->created_clsact = false;
	}
}

static int route_peers(struct agent *ag, struct http_request *req, struct strbuf *out,
		       const char **content_type)
{
	*content_type = "application/json";
	peers_to_json(out, http_query_arg(req, "state"), monotonic_ns());
	return 200;
}

static void register_metrics(struct agent *ag)
{
	requests = metrics_counter(ag->reg, "sipwatch_sip_requests_total",
				   "SIP requests seen on the SIP ports, by method.",
				   LABELS("direction", "transport", "method"));
	responses = metrics_counter(ag->reg, "sipwatch_sip_responses_total",
				    "SIP responses seen on the SIP ports, by status class.",
				    LABELS("direction", "transport", "class"));
	keepalives = metrics_counter(
	    ag->reg, "sipwatch_sip_keepalives_total",
	    "RFC 5626 keepalives on the SIP ports: CRLF ping/pong, STUN binding request/response.",
	    LABELS("direction", "transport", "kind"));
	unparsed = metrics_counter(
	    ag->reg, "sipwatch_sip_unparsed_segments_total",
	    "Datagrams/segments on the SIP ports that do not start a SIP message: tls, "
	    "tcp_midstream (continuation of a message, or not SIP), udp_not_sip.",
	    LABELS("direction", "transport", "kind"));
	peers_register_metrics(ag->reg);
}

static int sip_start(struct agent *ag)
{
	int err;

	agent = ag;
	libxdp_set_print(libxdp_log);
	register_metrics(ag);
	if (peers_init(ag->cfg.peers_max, ag->cfg.peers_idle_timeout_ms * 1000000ULL))
		return -ENOMEM;
	neigh_tab = calloc(MAX_NEIGH_DUMP, sizeof(*neigh_tab));
	if (!neigh_tab)
		return -ENOMEM;
	http_add_route("/peers", route_peers);

	skel = sip_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->cfg = ag->bpf_cfg;
	bpf_map__set_max_entries(skel->maps.sip_peers4, ag->cfg.peers_max);
	bpf_map__set_max_entries(skel->maps.sip_peers6, ag->cfg.peers_max);
	bpf_map__set_max_entries(skel->maps.sip_unverified4, ag->cfg.peers_max);
	bpf_map__set_max_entries(skel->maps.sip_unverified6, ag->cfg.peers_max);
	err = agent_load_skeleton(ag, skel->skeleton, NULL, NULL, &skel->bss->events_dropped);
	if (err < 0)
		return err;
	probes_track_program(skel->progs.sip_xdp);
	probes_track_program(skel->progs.sip_tc_egress);
	probes_track_program(skel->progs.sip_tc_ingress);
	if (ag->cfg.xdp_mode != SIP_XDP_OFF)
		use_libxdp = ensure_bpffs();
	choose_ifaces(ag->cfg.ifaces);
	if (!nr_ifaces)
		log_msg(LOG_WARN, "sip: no interface to watch: no SIP traffic counts");
	for (int i = 0; i < nr_ifaces; i++)
		attach_iface(&ifaces[i], (enum sip_xdp_mode)ag->cfg.xdp_mode);
	return 0;
}

/* One counter of sip_counts (index: kind, transport, direction), summed over CPUs. */
static bool set_counter(const void *key, const void *value, void *ctx)
{
	uint32_t idx = *(const uint32_t *)key, kind = idx % SIP_KIND_MAX, rest = idx / SIP_KIND_MAX;
	const char *dir = rest / SIP_TRANSPORT_MAX == SIP_DIR_TX ? "tx" : "rx";
	const char *transport = rest % SIP_TRANSPORT_MAX == SIP_TRANSPORT_TCP ? "tcp" : "udp";
	uint64_t sum = *(const uint64_t *)value;
	struct metric_family *f;

	if (idx >= SIP_NR_COUNTERS || kind == SIP_NONE || !sum)
		return true; /* series appear with their first message */
	if (kind >= SIP_FIRST_UNPARSED)
		f = unparsed;
	else if (kind >= SIP_FIRST_KEEPALIVE)
		f = keepalives;
	else if (kind >= SIP_FIRST_RESPONSE)
		f = responses;
	else
		f = requests;
	metric_set(f, LABELS(dir, transport, kind_labels[kind]), (double)sum);
	return true;
}

static void collect_counters(void)
{
	if (skel)
		map_for_each_percpu_sum(bpf_map__fd(skel->maps.sip_counts), sizeof(uint32_t),
					sizeof(uint64_t), set_counter, NULL);
}

static void sip_collect(struct agent *ag)
{
	if (!skel)
		return;
	collect_counters();
	peers_collect_metrics(ag->cfg.metrics_peer_series);
}

/* One walk over a family's kernel peer map; stale peers are deleted after it, which they would
 * upset. */
struct peer_walk {
	uint64_t now_ns;
	uint8_t family;
	bool verified;
	uint32_t addr_len; /* the map's key: the bare address (include/sip_abi.h) */
	int nr_stale;
	uint8_t stale[64][16];
};

static bool sync_peer(const void *key, const void *value, void *ctx)
{
	struct peer_walk *w = ctx;
	struct sip_peer_key peer = {.family = w->family};

	memcpy(peer.addr, key, w->addr_len);
	if (!peers_sync_add(&peer, value, w->now_ns, w->verified) && w->nr_stale < 64)
		memcpy(w->stale[w->nr_stale++], key, w->addr_len);
	return true;
}

/* One family's kernel peer map into the agent's table, whose key is family + address. */
static void sync_peer_map(int fd, uint8_t family, bool verified, uint64_t now_ns)
{
	struct peer_walk w = {.now_ns = now_ns,
			      .family = family,
			      .verified = verified,
			      .addr_len = family == SW_AF_INET ? 4 : 16};

	map_for_each(fd, w.addr_len, sizeof(struct sip_peer_value), sync_peer, &w);
	for (int i = 0; i < w.nr_stale; i++)
		bpf_map_delete_elem(fd, w.stale[i]);
}

static void sync_peers(uint64_t now_ns)
{
	peers_sync_begin();
	/* Verified peers first: unverified sources only ever get the room they leave. */
	sync_peer_map(bpf_map__fd(skel->maps.sip_peers4), SW_AF_INET, true, now_ns);
	sync_peer_map(bpf_map__fd(skel->maps.sip_peers6), SW_AF_INET6, true, now_ns);
	sync_peer_map(bpf_map__fd(skel->maps.sip_unverified4), SW_AF_INET, false, now_ns);
	sync_peer_map(bpf_map__fd(skel->maps.sip_unverified6), SW_AF_INET6, false, now_ns);
	peers_sync_end();
}

static void neigh_collect_cb(const struct rtnl_neigh *n, void *ctx)
{
	if (nr_neigh < MAX_NEIGH_DUMP)
		neigh_tab[nr_neigh++] = *n;
}

/*
 * Active verified peers make their next hop a candidate for the neighbour refresh
 * (agent/refresh.c). Unverified sources never do: a forged source address would spend the
 * refresh budget on ARP probes for it.
 */
static void note_refresh_candidate(const struct sip_peer *p, void *ctx)
{
	uint64_t last = p->v.last_rx_ns > p->v.last_tx_ns ? p->v.last_rx_ns : p->v.last_tx_ns;

	if (p->has_next_hop && p->verified)
		refresh_note_candidate(p->nh_ifindex, p->key.family, p->nh_addr, p->key.addr,
				       last / 1000000 + agent->cfg.neigh_refresh_window_ms);
}

static void sip_tick(struct agent *ag)
{
	uint64_t now = monotonic_ns();

	if (!skel)
		return;
	sync_peers(now);
	peers_refresh_routes(now, ROUTE_MAX_AGE_NS, TICK_NS);
	nr_neigh = 0;
	if (!rtnl_neigh_dump(0, neigh_collect_cb, NULL))
		peers_set_neigh_states(neigh_tab, nr_neigh);
	peers_for_each(note_refresh_candidate, NULL);
}

static void sip_stop(struct agent *ag)
{
	for (int i = 0; i < nr_ifaces; i++)
		detach_iface(&ifaces[i]);
	nr_ifaces = 0;
	sip_bpf__destroy(skel);
	skel = NULL;
	if (mounted_bpffs && !umount2(BPFFS, MNT_DETACH))
		mounted_bpffs = false;
	peers_free();
	free(neigh_tab);
	neigh_tab = NULL;
	rtnl_close();
}

const struct concern sip_concern = {
    .name = "sip",
    .start = sip_start,
    .collect = sip_collect,
    .tick = sip_tick,
    .stop = sip_stop,
};
