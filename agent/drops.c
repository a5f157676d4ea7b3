// SPDX-License-Identifier: GPL-2.0-only
#include "drops.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "decode.h"
#include "drops.skel.h"
#include "drops_abi.h"
#include "log.h"
#include "mapwalk.h"
#include "probes.h"
#include "ratelimit.h"
#include "sendq.h"
#include "sockowner.h"

#define REASON_PREFIX "SKB_DROP_REASON_"
#define MAX_REASONS   512 /* enum skb_drop_reason has about 120 values on 6.18 */
/* A socket's burst of drops is reported once no drop has come for this long. */
#define BURST_QUIET_NS (1000000000ULL)
#define MAX_BURSTS     256 /* socket bursts reported per tick, at most */

/*
 * The reasons sipwatch names in sipwatch_sip_drops_total{reason}: the ones a SIP packet meets on
 * a PBX (socket, netfilter, checksums, routing, neighbour, qdisc). Every other reason of the
 * running kernel is "other", so the label has a bounded set of values whatever the kernel adds.
 */
static const char *const named_reasons[] = {
    "not_specified",
    "no_socket",
    "socket_close",
    "socket_filter",
    "socket_rcvbuff",
    "socket_backlog",
    "pkt_too_small",
    "pkt_too_big",
    "tcp_csum",
    "udp_csum",
    "ip_csum",
    "netfilter_drop",
    "otherhost",
    "ip_inhdr",
    "ip_rpfilter",
    "xfrm_policy",
    "ip_noproto",
    "proto_mem",
    "ip_outnoroutes",
    "ip_innoroutes",
    "ip_inaddrerrors",
    "qdisc_drop",
    "cpu_backlog",
    "full_ring",
    "dev_ready",
    "neigh_failed",
    "neigh_queuefull",
    "neigh_dead",
    "neigh_createfail",
    "tc_ingress",
    "tc_egress",
    "tcp_flags",
    "tcp_zerowindow",
    "tcp_old_data",
    "tcp_overwindow",
    "tcp_ofomerge",
    "tcp_invalid_sequence",
    "tcp_reset",
    "tcp_invalid_syn",
    "tcp_close",
    "tcp_old_ack",
    "tcp_too_old_ack",
    "tcp_ofo_drop",
    "tcp_ofo_queue_prune",
};

static struct drops_bpf *skel;
static struct agent *agent;
static struct metric_family *drops_total;
static const char *reason_labels[MAX_REASONS]; /* by the running kernel's enum value */
static char reason_buf[MAX_REASONS][32];
static struct ratelimit incident_limit;

const char *drops_reason_label(const char *enum_name, char *buf, size_t len)
{
	size_t n = strlen(REASON_PREFIX), i;

	if (strncmp(enum_name, REASON_PREFIX, n) || strlen(enum_name + n) >= len)
		return "other";
	for (i = 0; enum_name[n + i]; i++)
		buf[i] = (char)tolower((unsigned char)enum_name[n + i]);
	buf[i] = '\0';
	for (size_t r = 0; r < sizeof(named_reasons) / sizeof(named_reasons[0]); r++)
		if (!strcmp(buf, named_reasons[r]))
			return buf;
	return "other";
}

/* Label of every value of this kernel's enum skb_drop_reason, from its BTF (numbers move). */
static int load_reason_labels(struct agent *ag)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id;

	for (int i = 0; i < MAX_REASONS; i++)
		reason_labels[i] = "other";
	id = btf__find_by_name_kind(ag->vmlinux_btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id <= 0)
		return -ENOENT;
	t = btf__type_by_id(ag->vmlinux_btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const char *name = btf__name_by_offset(ag->vmlinux_btf, e->name_off);

		if (e->val >= 0 && e->val < MAX_REASONS)
			reason_labels[e->val] =
			    drops_reason_label(name, reason_buf[e->val], sizeof(reason_buf[0]));
	}
	return 0;
}

static const char *reason_label(uint32_t reason)
{
	return reason < MAX_REASONS ? reason_labels[reason] : "other";
}

static const char *direction_name(uint8_t dir)
{
	return dir == DROPS_DIR_TX ? "tx" : "rx";
}

/* The number of arguments of tracepoint @name (its btf_trace_ typedef's function, less ctx). */
static int tracepoint_args(struct agent *ag, const char *name)
{
	const struct btf_type *t;
	char type[64];
	int id;

	snprintf(type, sizeof(type), "btf_trace_%s", name);
	id = btf__find_by_name_kind(ag->vmlinux_btf, type, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return -1;
	t = btf__type_by_id(ag->vmlinux_btf, btf__resolve_type(ag->vmlinux_btf, id));
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(ag->vmlinux_btf, t->type);
	return t && btf_is_func_proto(t) ? btf_vlen(t) - 1 : -1;
}

static bool add_drops(const void *key, const void *value, void *ctx)
{
	const struct drops_key *k = key;
	char port[8];

	snprintf(port, sizeof(port), "%u", k->port);
	metric_add(drops_total,
		   LABELS(direction_name(k->dir), sendq_proto_name(k->proto), port,
			  reason_label(k->reason)),
		   (double)*(const uint64_t *)value);
	return true;
}

static int drops_collect(struct agent *ag)
{
	if (!skel)
		return 0;
	/* several kernel reasons can share the label "other": the sums are rebuilt each time */
	metric_family_clear(drops_total);
	return map_walk_status(map_for_each_percpu_sum(bpf_map__fd(skel->maps.sip_drops),
						       sizeof(struct drops_key), sizeof(uint64_t),
						       add_drops, NULL));
}

struct finished_bursts {
	struct drops_sock_key key[MAX_BURSTS];
	struct drops_sock burst[MAX_BURSTS];
	int n;
	uint64_t now;
};

static bool note_finished_burst(const void *key, const void *value, void *ctx)
{
	struct finished_bursts *f = ctx;
	const struct drops_sock *v = value;

	if (f->n == MAX_BURSTS)
		return false;
	if (f->now - v->last_ns < BURST_QUIET_NS)
		return true;
	f->key[f->n] = *(const struct drops_sock_key *)key;
	f->burst[f->n] = *v;
	f->n++;
	return true;
}

static void log_burst(const struct drops_sock_key *k, const struct drops_sock *b)
{
	char local[DECODE_ENDPOINT_LEN], peer[DECODE_ENDPOINT_LEN], key[RATELIMIT_KEY_MAX], port[8];
	uint64_t held_back;
	struct log_line l;
	char comm[16];
	int pid;

	decode_endpoint(local, sizeof(local), b->family, b->local_addr, b->local_port);
	decode_endpoint(peer, sizeof(peer), b->family, b->peer_addr, b->peer_port);
	snprintf(key, sizeof(key), "sip_drops %u %s %s %s", b->netns_ino, local,
		 reason_label(k->reason), direction_name(k->dir));
	if (!ratelimit_allow(&incident_limit, key, monotonic_ns(), &held_back))
		return;
	snprintf(port, sizeof(port), "%u", b->port);
	incident_begin(&l, "sip_drops", "the kernel dropped SIP packets of a socket");
	log_str(&l, "direction", direction_name(k->dir));
	log_str(&l, "proto", sendq_proto_name(b->proto));
	log_str(&l, "port", port);
	log_str(&l, "reason", reason_label(k->reason));
	log_str(&l, "local", local);
	log_str(&l, "last_peer", peer);
	log_uint(&l, "drops", b->count);
	log_double(&l, "burst_seconds", (double)(b->last_ns - b->first_ns) / 1e9);
	log_uint(&l, "socket_inode", b->ino);
	/* the socket's owner, looked up with bounded work (agent/sockowner.c); it may be gone */
	if (b->ino && sockowner_find(b->ino, &pid, comm, sizeof(comm))) {
		log_uint(&l, "pid", (uint64_t)pid);
		log_str(&l, "comm", comm);
	}
	if (agent && agent->cfg.netns_all)
		log_uint(&l, "netns", b->netns_ino);
	if (held_back)
		log_uint(&l, "suppressed", held_back);
	log_end(&l);
}

/*
 * Once a second: every socket whose drops stopped coming a second ago is one incident line (a
 * burst), and its entry goes, so that the next burst counts from zero.
 */
static int drops_tick(struct agent *ag)
{
	struct finished_bursts f = {.n = 0, .now = monotonic_ns()};
	int fd, err;

	if (!skel)
		return 0;
	fd = bpf_map__fd(skel->maps.sip_drop_socks);
	/* the bursts found before an error are still logged */
	err = map_walk_status(map_for_each(fd, sizeof(struct drops_sock_key),
					   sizeof(struct drops_sock), note_finished_burst, &f));
	for (int i = 0; i < f.n; i++) {
		/* a drop that came since the walk re-creates the entry: it is the next burst */
		bpf_map_delete_elem(fd, &f.key[i]);
		log_burst(&f.key[i], &f.burst[i]);
	}
	return err;
}

static int drops_start(struct agent *ag)
{
	int args;

	agent = ag;
	drops_total = metrics_counter(
	    ag->reg, "sipwatch_sip_drops_total",
	    "Packets from or to a SIP port that the kernel dropped, by the kernel's drop reason "
	    "(enum skb_drop_reason, lower case; reasons sipwatch does not name are other).",
	    LABELS("direction", "proto", "port", "reason"));
	if (ratelimit_init(&incident_limit,
			   (uint64_t)ag->cfg.neigh_incident_interval * 1000000000ull, 256))
		return -ENOMEM;
	if (!ag->vmlinux_btf || load_reason_labels(ag)) {
		probe_report(
		    "kfree_skb_sip", false,
		    "this kernel has no drop reasons (enum skb_drop_reason, 5.17+): SIP "
		    "drops are counted per socket only (sipwatch_socket_receive_drops_total)");
		return 0;
	}
	args = tracepoint_args(ag, "kfree_skb");
	if (args < 3) {
		probe_report("kfree_skb_sip", false,
			     "this kernel's kfree_skb tracepoint has no reason argument");
		return 0;
	}
	skel = drops_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->cfg = ag->bpf_cfg;
	/* newer kernels name the receiving socket the kernel found (rx_sk) */
	bpf_program__set_autoload(
	    args >= 4 ? skel->progs.kfree_skb_sip___no_rx_sk : skel->progs.kfree_skb_sip, false);
	log_msg(LOG_INFO, "drops: %s",
		args >= 4
		    ? "drops are attributed to the receiving socket the kernel found (rx_sk)"
		    : "this kernel's kfree_skb has no rx_sk: only drops of packets that carry "
		      "their socket (sent ones) are attributed to a socket");
	return agent_load_skeleton(ag, skel->skeleton, NULL, NULL, NULL) < 0 ? -1 : 0;
}

static void drops_stop(struct agent *ag)
{
	drops_bpf__destroy(skel);
	skel = NULL;
	ratelimit_fini(&incident_limit);
}

const struct concern drops_concern = {
    .name = "drops",
    .start = drops_start,
    .collect = drops_collect,
    .tick = drops_tick,
    .stop = drops_stop,
};
