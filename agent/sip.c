// SPDX-License-Identifier: GPL-2.0-only
#include "sip.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "decode.h"
#include "hooks.h"
#include "http.h"
#include "log.h"
#include "mapwalk.h"
#include "peers.h"
#include "probes.h"
#include "refresh.h"
#include "rtnl.h"
#include "sendq.h"
#include "sip_abi.h"
#include "sip_msg.h"
#include "sip_reg.h"
#include "sip_txn.h"
#include "sip.skel.h"
#include "tcp.h"

#define MAX_IFACES	 64
#define ROUTE_MAX_AGE_NS (30ULL * 1000000000ULL) /* next hops re-checked this often */
#define TICK_NS		 1000000000ULL		 /* agent.c's timer */
#define MAX_NEIGH_DUMP	 65536

struct sip_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	struct packet_hook xdp, tc_in, tc_out; /* agent/hooks.h */
};

static struct sip_bpf *skel;
static struct sip_iface ifaces[MAX_IFACES];
static int nr_ifaces;
static struct metric_family *requests, *responses, *keepalives, *unparsed, *parses, *suppressed;
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

static void add_iface(const char *name)
{
	struct sip_iface *i;
	unsigned int idx = if_nametoindex(name);
	char probe[64];

	if (!idx) {
		snprintf(probe, sizeof(probe), "tc_ingress:%.16s", name);
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

static void report(const char *kind, const struct sip_iface *i, int err, const char *why,
		   const struct packet_hook *h)
{
	char probe[64], reason[160];

	snprintf(probe, sizeof(probe), "%s:%.16s", kind, i->name);
	if (err && agent->trial) {
		/* Not a finding: the agent would attach a tc filter where the doctor may not. */
		log_msg(LOG_INFO,
			"sip: %s not tried by the trial start (no tcx link: %s; a tc filter "
			"would outlive a killed sipwatch doctor)",
			probe, strerror(-err));
		return;
	}
	if (err)
		snprintf(reason, sizeof(reason), "%s: %.100s", why, strerror(-err));
	else
		log_msg(LOG_DEBUG, "sip: %s attached as %s", probe, h->how);
	probe_report(probe, !err, reason);
}

/*
 * Ingress through XDP only when --xdp.mode asks for it: attaching or removing a device's only XDP
 * program makes drivers such as ixgbe, i40e, ENA, vmxnet3 and mlx5 reset their queues (native),
 * and generic XDP turns off LRO and hardware GRO. By default ingress is a tc hook, which never
 * reconfigures the device.
 */
static void attach_iface(struct sip_iface *i, enum sip_xdp_mode mode)
{
	int err = -EOPNOTSUPP;

	if (mode == SIP_XDP_NATIVE || mode == SIP_XDP_GENERIC) {
		err = hook_attach_xdp(&i->xdp, i->ifindex, bpf_program__fd(skel->progs.sip_xdp),
				      mode == SIP_XDP_NATIVE);
		report("xdp", i, err, "XDP attach failed (tc ingress instead)", &i->xdp);
	}
	if (err) {
		err = hook_attach_tc(&i->tc_in, i->ifindex,
				     bpf_program__fd(skel->progs.sip_tc_ingress), BPF_TC_INGRESS);
		report("tc_ingress", i, err, "tc attach failed", &i->tc_in);
	}
	err = hook_attach_tc(&i->tc_out, i->ifindex, bpf_program__fd(skel->progs.sip_tc_egress),
			     BPF_TC_EGRESS);
	report("tc_egress", i, err, "tc attach failed", &i->tc_out);
}

static void detach_iface(struct sip_iface *i)
{
	bool made_clsact = i->tc_in.created_clsact || i->tc_out.created_clsact;

	hook_detach(&i->xdp);
	hook_detach(&i->tc_in);
	hook_detach(&i->tc_out);
	if (made_clsact)
		hook_release_clsact(i->ifindex);
}

static void drain_sip_msgs(void);

static int route_peers(void *ctx, struct http_request *req, struct strbuf *out,
		       const char **content_type)
{
	*content_type = "application/json";
	drain_sip_msgs(); /* the per-peer SIP fields as of now */
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
	parses = metrics_counter(
	    ag->reg, "sipwatch_sip_header_parses_total",
	    "SIP messages copied to the agent for transaction tracking, by parse result: ok, or "
	    "why "
	    "the message was not used (truncated, bad_start_line, folded, bad_header, bad_via, "
	    "bad_cseq, no_call_id, no_from_to).",
	    LABELS("direction", "result"));
	for (int d = 0; d < SIP_DIR_MAX; d++)
		metric_set(parses, LABELS(d == SIP_DIR_TX ? "tx" : "rx", "ok"), 0);
	peers_register_metrics(ag->reg);
	sip_txn_register_metrics(ag->reg);
	sip_reg_register_metrics(ag->reg);
}

/* One SIP message from the kernel (include/sip_abi.h): parse, then transactions. */
static int on_sip_msg(void *ctx, void *data, size_t size)
{
	const struct sip_msg_event *e = data;
	struct sip_msg m;
	struct sip_msg_meta meta;
	enum sip_msg_error err;
	size_t copied;

	if (size < sizeof(*e))
		return 0;
	copied = e->copied <= SIP_MSG_COPY ? e->copied : SIP_MSG_COPY;
	err = sip_msg_parse((const char *)e->data, copied, copied < e->msg_len, &m);
	metric_add(parses, LABELS(e->dir == SIP_DIR_TX ? "tx" : "rx", sip_msg_error_name(err)), 1);
	if (err)
		return 0;
	memset(&meta, 0, sizeof(meta));
	meta.ts_ns = e->ts_ns;
	meta.dir = e->dir;
	meta.transport = e->transport;
	meta.peer.family = e->family;
	memcpy(meta.peer.addr, e->dir == SIP_DIR_RX ? e->saddr : e->daddr,
	       e->family == SW_AF_INET ? 4 : 16);
	meta.peer_port = e->dir == SIP_DIR_RX ? e->sport : e->dport;
	sip_txn_message(&m, &meta);
	return 0;
}

/* Unreachable now, or at a tick within the window (the entry may be gone by the lapse). */
static bool peer_neigh_failed(const struct sip_peer_key *key, uint64_t t0_ns, uint64_t t1_ns)
{
	const struct sip_peer *p = peers_find(key);

	return p && (peer_unreachable(p) || (p->unreachable_ns >= t0_ns && p->unreachable_ns));
}

/*
 * The kernel wakes the agent only for a batch of SIP messages (bpf/sip.bpf.c): what is waiting is
 * taken before timers run, before a scrape renders, and before another concern's incident asks
 * what SIP saw. Not from within on_sip_msg itself (a message never asks).
 */
static struct ring_buffer *msgs_rb;

static void drain_sip_msgs(void)
{
	if (msgs_rb)
		ring_buffer__consume(msgs_rb);
}

static void consume_msgs(struct agent *ag, void *ctx)
{
	drain_sip_msgs();
}

static bool peer_tcp_timed_out(const struct sip_peer_key *key, uint64_t t0_ns, uint64_t t1_ns)
{
	return tcp_timed_out_between(key->family, key->addr, t0_ns, t1_ns);
}

static const struct sip_reg_causes kernel_causes = {
    .neigh_failed = peer_neigh_failed,
    .send_stalled = sendq_stalled_between,
    .tcp_timed_out = peer_tcp_timed_out,
};

struct stall_harm {
	char names[1024];
	size_t off;
	uint32_t peers, retransmissions, unanswered;
};

static void add_hurt_peer(const struct sip_peer_key *key, uint32_t retrans, uint32_t unanswered,
			  void *ctx)
{
	struct stall_harm *h = ctx;
	char addr[64];

	decode_addr(addr, sizeof(addr), key->family, key->addr);
	h->peers++;
	h->retransmissions += retrans;
	h->unanswered += unanswered;
	if (h->off < sizeof(h->names))
		h->off += (size_t)snprintf(h->names + h->off, sizeof(h->names) - h->off,
					   "%s%s(retransmissions=%u,unanswered=%u)",
					   h->off ? "," : "", addr, retrans, unanswered);
}

void sip_log_stall_harm(struct log_line *l, uint64_t start_ns, uint64_t end_ns)
{
	struct stall_harm h = {.off = 0};

	if (!skel)
		return;
	drain_sip_msgs(); /* the retransmissions of the blocked interval may still wait there */
	sip_txn_peers_hurt_between(start_ns, end_ns, add_hurt_peer, &h);
	if (h.peers) {
		log_str(l, "sip_peers_hurt", h.names);
		log_uint(l, "sip_retransmissions", h.retransmissions);
		log_uint(l, "sip_unanswered", h.unanswered);
	}
	log_uint(l, "registrations_lapsed", sip_reg_lapsed_by_stall_between(start_ns, end_ns));
}

struct aor_list {
	char buf[512];
	size_t off;
};

static void add_aor(const char *aor, void *ctx)
{
	struct aor_list *a = ctx;

	if (a->off < sizeof(a->buf))
		a->off += (size_t)snprintf(a->buf + a->off, sizeof(a->buf) - a->off, "%s%s",
					   a->off ? "," : "", aor);
}

static void aors_of_peer(const struct sip_peer *p, void *ctx)
{
	sip_reg_for_peer(&p->key, add_aor, ctx);
}

void sip_log_registrations_behind(struct log_line *l, int ifindex, uint8_t family,
				  const uint8_t *addr)
{
	struct aor_list a = {.off = 0};

	if (!skel)
		return;
	drain_sip_msgs();
	peers_with_next_hop(ifindex, family, addr, aors_of_peer, &a);
	if (a.off)
		log_str(l, "registrations", a.buf);
}

static int sip_start(struct agent *ag)
{
	int err;

	agent = ag;
	register_metrics(ag);
	if (peers_init(ag->cfg.peers_max, ag->cfg.peers_idle_timeout_ms * 1000000ULL))
		return -ENOMEM;
	if (sip_txn_init(ag->cfg.sip_transactions_max) ||
	    sip_reg_init(ag->cfg.sip_registrations_max, &kernel_causes,
			 (uint64_t)ag->cfg.neigh_incident_interval * 1000000000ULL))
		return -ENOMEM;
	neigh_tab = calloc(MAX_NEIGH_DUMP, sizeof(*neigh_tab));
	if (!neigh_tab)
		return -ENOMEM;

	skel = sip_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->cfg = ag->bpf_cfg;
	skel->rodata->sip_copy_msgs = ag->cfg.sip_transactions_max > 0;
	/* XDP copies with bpf_xdp_load_bytes (5.18+); without it, XDP ingress copies nothing. */
	skel->rodata->sip_xdp_copy =
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_load_bytes, NULL) == 1;
	bpf_map__set_max_entries(skel->maps.sip_peers4, ag->cfg.peers_max);
	bpf_map__set_max_entries(skel->maps.sip_peers6, ag->cfg.peers_max);
	bpf_map__set_max_entries(skel->maps.sip_unverified4, ag->cfg.peers_max);
	bpf_map__set_max_entries(skel->maps.sip_unverified6, ag->cfg.peers_max);
	err = agent_load_skeleton(ag, skel->skeleton, NULL, NULL, &skel->bss->events_dropped);
	if (err < 0)
		return err;
	if (ag->cfg.sip_transactions_max) {
		/*
		 * A ring_buffer of its own, not the agent's shared one: the sip concern drains it
		 * whenever it needs the latest messages (a tick, a scrape, another concern's
		 * incident), and consuming the shared one from inside another ring's callback
		 * would process that ring's records twice.
		 */
		msgs_rb =
		    ring_buffer__new(bpf_map__fd(skel->maps.sip_msgs), on_sip_msg, NULL, NULL);
		if (!msgs_rb ||
		    agent_watch_fd(ag, ring_buffer__epoll_fd(msgs_rb), consume_msgs, NULL))
			log_msg(LOG_WARN, "sip: cannot read the SIP message ring buffer: %s",
				strerror(errno));
		agent_track_event_drops(ag, &skel->bss->sip_msgs_dropped);
	}
	probes_track_program(skel->progs.sip_xdp);
	probes_track_program(skel->progs.sip_tc_egress);
	probes_track_program(skel->progs.sip_tc_ingress);
	/* A trial start (sipwatch doctor) attaches only what the kernel removes with the process.
	 */
	hooks_allow_legacy(!ag->trial);
	if (!ag->trial) {
		struct bpf_program *progs[] = {skel->progs.sip_xdp, skel->progs.sip_tc_ingress,
					       skel->progs.sip_tc_egress};

		hooks_remove_stale(progs, 3);
	}
	choose_ifaces(ag->cfg.ifaces);
	if (!nr_ifaces)
		log_msg(LOG_WARN, "sip: no interface to watch: no SIP traffic counts");
	for (int i = 0; i < nr_ifaces; i++)
		attach_iface(&ifaces[i],
			     ag->trial ? SIP_XDP_AUTO : (enum sip_xdp_mode)ag->cfg.xdp_mode);
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

static int sip_collect(struct agent *ag)
{
	if (!skel)
		return 0;
	drain_sip_msgs();
	collect_counters();
	/* The neigh concern registers the family (kind="neigh_failed"); the lapses are its other
	 * kind. */
	suppressed =
	    suppressed ? suppressed : metrics_find(ag->reg, "sipwatch_incidents_suppressed_total");
	if (suppressed)
		metric_set(suppressed, LABELS("registration_lapsed"),
			   (double)sip_reg_incidents_suppressed());
	peers_collect_metrics(ag->cfg.metrics_peer_series);
	return 0;
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

static int sip_tick(struct agent *ag)
{
	uint64_t now;

	if (!skel)
		return 0;
	drain_sip_msgs();
	now = monotonic_ns(); /* after the drain: no message is newer than the timers' "now" */
	sync_peers(now);
	peers_refresh_routes(now, ROUTE_MAX_AGE_NS, TICK_NS);
	nr_neigh = 0;
	if (!rtnl_neigh_dump(0, neigh_collect_cb, NULL))
		peers_set_neigh_states(neigh_tab, nr_neigh);
	peers_note_unreachable(now);
	peers_for_each(note_refresh_candidate, NULL);
	sip_txn_tick(now);
	sip_reg_tick(now);
	return 0;
}

static void sip_stop(struct agent *ag)
{
	if (msgs_rb) {
		agent_unwatch_fd(ag, ring_buffer__epoll_fd(msgs_rb));
		ring_buffer__free(msgs_rb);
		msgs_rb = NULL;
	}
	for (int i = 0; i < nr_ifaces; i++)
		detach_iface(&ifaces[i]);
	nr_ifaces = 0;
	sip_bpf__destroy(skel);
	skel = NULL;
	suppressed = NULL;
	peers_free();
	sip_txn_free();
	sip_reg_free();
	free(neigh_tab);
	neigh_tab = NULL;
	rtnl_close();
}

static const struct concern_route sip_routes[] = {
    {"/peers", route_peers},
    {NULL, NULL},
};

const struct concern sip_concern = {
    .routes = sip_routes,
    .name = "sip",
    .start = sip_start,
    .collect = sip_collect,
    .tick = sip_tick,
    .stop = sip_stop,
};
