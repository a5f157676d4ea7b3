// SPDX-License-Identifier: GPL-2.0-only
/*
 * The facts `sipwatch doctor` judges, read from the current network namespace: sysctls under
 * /proc/sys/net (per namespace), SIP sockets through sock_diag (SO_SNDBUF from SK_MEMINFO, TCP
 * keepalive from the socket's armed timer), neighbour table sizes through rtnetlink, and which
 * probes this kernel offers, by starting every concern once and reading sipwatch_probe_up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "decode.h"
#include "doctor.h"
#include "kfacts.h"
#include "log.h"
#include "rtnl.h"

#define TCP_ESTABLISHED_STATE 1
#define TCP_LISTEN_STATE      10
#define DIAG_TIMER_KEEPALIVE  2

/* A sysctl into a 32-bit fact; left as it was (0: unknown) when it cannot be read. */
static int read_u32(const char *path, uint32_t *v)
{
	uint64_t x;
	int err = kfacts_sysctl_u64(path, &x);

	if (!err)
		*v = (uint32_t)x;
	return err;
}

static void read_neigh_parms(const char *family, const char *ifname, struct doctor_neigh_parms *p)
{
	static const struct {
		const char *name;
		size_t off;
	} knobs[] = {
	    {"unres_qlen_bytes", offsetof(struct doctor_neigh_parms, unres_qlen_bytes)},
	    {"base_reachable_time_ms", offsetof(struct doctor_neigh_parms, base_reachable_time_ms)},
	    {"retrans_time_ms", offsetof(struct doctor_neigh_parms, retrans_time_ms)},
	    {"gc_stale_time", offsetof(struct doctor_neigh_parms, gc_stale_time_s)},
	    {"delay_first_probe_time",
	     offsetof(struct doctor_neigh_parms, delay_first_probe_time_s)},
	    {"mcast_solicit", offsetof(struct doctor_neigh_parms, mcast_solicit)},
	    {"ucast_solicit", offsetof(struct doctor_neigh_parms, ucast_solicit)},
	    {"app_solicit", offsetof(struct doctor_neigh_parms, app_solicit)},
	    {"mcast_resolicit", offsetof(struct doctor_neigh_parms, mcast_resolicit)},
	};
	char path[160];

	p->present = true;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(path, sizeof(path), "/proc/sys/net/%s/neigh/%s/%s", family, ifname,
			 knobs[i].name);
		if (read_u32(path, (uint32_t *)((char *)p + knobs[i].off))) {
			p->present = false; /* no such interface, or IPv6 off on it */
			return;
		}
	}
}

static void gather_sysctls(struct doctor_facts *f)
{
	static const char *const fam[] = {"ipv4", "ipv6"};
	struct if_nameindex *ifs = if_nameindex();
	char path[128];

	read_u32("/proc/sys/net/ipv4/tcp_keepalive_time", &f->keepalive_time_s);
	read_u32("/proc/sys/net/ipv4/tcp_keepalive_intvl", &f->keepalive_intvl_s);
	read_u32("/proc/sys/net/ipv4/tcp_keepalive_probes", &f->keepalive_probes);
	/* net.core is not shown in a child namespace on older kernels (6.1): left 0, unknown */
	read_u32("/proc/sys/net/core/rmem_max", &f->rmem_max);
	read_u32("/proc/sys/net/core/netdev_max_backlog", &f->netdev_max_backlog);
	for (int i = 0; i < DOCTOR_NR_FAMILIES; i++) {
		for (int t = 0; t < 3; t++) {
			snprintf(path, sizeof(path), "/proc/sys/net/%s/neigh/default/gc_thresh%d",
				 fam[i], t + 1);
			read_u32(path, &f->gc_thresh[i][t]);
		}
	}
	for (struct if_nameindex *it = ifs; it && it->if_index; it++) {
		struct doctor_iface *ifc;

		/* Loopback never resolves neighbours. */
		if (!strcmp(it->if_name, "lo") || f->nr_ifaces == DOCTOR_MAX_IFACES)
			continue;
		ifc = &f->ifaces[f->nr_ifaces++];
		snprintf(ifc->name, sizeof(ifc->name), "%s", it->if_name);
		for (int i = 0; i < DOCTOR_NR_FAMILIES; i++)
			read_neigh_parms(fam[i], ifc->name, &ifc->neigh[i]);
	}
	if (ifs)
		if_freenameindex(ifs);
}

/* A sock_diag dump through rtnl.c's request/response loop, on a socket of that protocol. */
static int sock_diag_dump(struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	int err;

	if (!nl)
		return -errno;
	err = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno
							     : rtnl_exchange(nl, req, cb, data);
	mnl_socket_close(nl);
	return err;
}

struct diag_ctx {
	struct doctor_facts *f;
	const struct config *cfg;
	bool tcp;
	/* distinct SIP peer addresses, per family, to count sip_peers */
	struct in6_addr peers[DOCTOR_MAX_SOCKETS];
	int peer_family[DOCTOR_MAX_SOCKETS];
	int nr_peers;
};

/* An inet_diag address and port (network order) as "addr:port" / "[addr]:port". */
static void format_endpoint(char *out, size_t len, int family, const __be32 *addr, __be16 port)
{
	decode_endpoint(out, len, family == AF_INET6 ? SW_AF_INET6 : SW_AF_INET,
			(const uint8_t *)addr, ntohs(port));
}

static void count_peer(struct diag_ctx *c, int family, const __be32 *addr)
{
	struct in6_addr a = {0};
	int fam = family == AF_INET6 ? DOCTOR_IPV6 : DOCTOR_IPV4;

	memcpy(&a, addr, family == AF_INET6 ? 16 : 4);
	for (int i = 0; i < c->nr_peers; i++)
		if (c->peer_family[i] == fam && !memcmp(&c->peers[i], &a, sizeof(a)))
			return;
	if (c->nr_peers == DOCTOR_MAX_SOCKETS)
		return;
	c->peers[c->nr_peers] = a;
	c->peer_family[c->nr_peers++] = fam;
	c->f->sip_peers[fam]++;
}

static int on_diag_msg(const struct nlmsghdr *nlh, void *data)
{
	struct diag_ctx *c = data;
	struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	uint16_t lport = ntohs(m->id.idiag_sport), rport = ntohs(m->id.idiag_dport);
	struct doctor_socket *so;
	struct nlattr *attr;

	if (!config_is_sip_port(c->cfg, lport) && !config_is_sip_port(c->cfg, rport))
		return MNL_CB_OK;
	if (c->f->nr_sockets == DOCTOR_MAX_SOCKETS)
		return MNL_CB_OK;
	so = &c->f->sockets[c->f->nr_sockets++];
	so->tcp = c->tcp;
	so->ipv6 = m->idiag_family == AF_INET6;
	so->local_port = lport;
	so->remote_port = rport;
	so->listening = c->tcp && m->idiag_state == TCP_LISTEN_STATE;
	so->established = m->idiag_state == TCP_ESTABLISHED_STATE;
	so->keepalive_timer = m->idiag_timer == DIAG_TIMER_KEEPALIVE;
	format_endpoint(so->local, sizeof(so->local), m->idiag_family, m->id.idiag_src,
			m->id.idiag_sport);
	format_endpoint(so->remote, sizeof(so->remote), m->idiag_family, m->id.idiag_dst,
			m->id.idiag_dport);
	if (so->established)
		count_peer(c, m->idiag_family, m->id.idiag_dst);
	mnl_attr_for_each(attr, nlh, sizeof(*m))
	{
		if (mnl_attr_get_type(attr) == INET_DIAG_SKMEMINFO &&
		    mnl_attr_get_payload_len(attr) >= sizeof(uint32_t) * (SK_MEMINFO_SNDBUF + 1)) {
			const uint32_t *mem = mnl_attr_get_payload(attr);

			so->sndbuf = mem[SK_MEMINFO_SNDBUF];
			so->rcvbuf = mem[SK_MEMINFO_RCVBUF];
		}
	}
	return MNL_CB_OK;
}

static int gather_sockets(struct doctor_facts *f, const struct config *cfg)
{
	static const int families[] = {AF_INET, AF_INET6};
	static const int protos[] = {IPPROTO_UDP, IPPROTO_TCP};
	struct diag_ctx *c = calloc(1, sizeof(*c));
	int err = 0;

	if (!c)
		return -ENOMEM;
	c->f = f;
	c->cfg = cfg;
	for (size_t p = 0; p < 2; p++) {
		for (size_t fa = 0; fa < 2; fa++) {
			char buf[MNL_SOCKET_BUFFER_SIZE];
			struct inet_diag_req_v2 *req = rtnl_request(
			    buf, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, (uint32_t)time(NULL),
			    sizeof(*req), (uint8_t)families[fa]); /* its first byte: sdiag_family */

			req->sdiag_protocol = (uint8_t)protos[p];
			req->idiag_states = ~0u;
			req->idiag_ext = 1 << (INET_DIAG_SKMEMINFO - 1);
			c->tcp = protos[p] == IPPROTO_TCP;
			err = sock_diag_dump((struct nlmsghdr *)buf, on_diag_msg, c);
			if (err) {
				log_msg(LOG_ERROR, "doctor: sock_diag dump: %s", strerror(-err));
				goto out;
			}
		}
	}
out:
	free(c);
	return err;
}

static void count_neighbour(const struct rtnl_neigh *n, void *data)
{
	struct doctor_facts *f = data;

	/* Entries that never resolve (NOARP: loopback, point-to-point) and static ones are not
	 * counted against gc_thresh by the kernel (tbl->gc_entries) either. */
	if (n->state & (NUD_NOARP | NUD_PERMANENT))
		return;
	f->neighbours[n->family == SW_AF_INET6 ? DOCTOR_IPV6 : DOCTOR_IPV4]++;
}

static int gather_neighbours(struct doctor_facts *f)
{
	return rtnl_neigh_dump(0, count_neighbour, f);
}

void doctor_parse_probe_up(struct doctor_facts *f, const char *exposition)
{
	static const char prefix[] = "sipwatch_probe_up{probe=\"";

	for (const char *p = exposition; p && *p;) {
		const char *eol = strchr(p, '\n'), *end;

		if (!strncmp(p, prefix, sizeof(prefix) - 1) && f->nr_probes < DOCTOR_MAX_PROBES) {
			const char *name = p + sizeof(prefix) - 1;

			end = strstr(name, "\"} ");
			if (end && (!eol || end < eol) && (size_t)(end - name) < 64) {
				struct doctor_probe *pr = &f->probes[f->nr_probes++];

				snprintf(pr->name, sizeof(pr->name), "%.*s", (int)(end - name),
					 name);
				pr->up = end[3] == '1';
			}
		}
		p = eol ? eol + 1 : NULL;
	}
}

/*
 * Start every concern as the agent would, note which probes came up, detach everything. A trial
 * start (ag.trial): only hooks the kernel removes with the process (links), no XDP (it may reset
 * the NIC), and SIGINT/SIGTERM/SIGHUP held until everything is detached again, so a Ctrl-C
 * midway still leaves nothing behind (it takes effect right after).
 */
static void gather_probes(struct doctor_facts *f, const struct config *cfg)
{
	struct agent ag = {.epfd = -1, .trial = true};
	struct strbuf out;
	sigset_t old;

	ag.cfg = *cfg;
	/*
	 * A trial start must change nothing on the host: the keepalive policy would rewrite live
	 * connections' settings at start-up, so it is left out (its probe is then not reported).
	 */
	ag.cfg.tcp_keepalive_idle = ag.cfg.tcp_keepalive_intvl = ag.cfg.tcp_keepalive_probes = 0;
	ag.cfg.tcp_user_timeout_ms = 0;
	agent_block_signals(&old);
	if (agent_init(&ag)) {
		snprintf(f->probes_why, sizeof(f->probes_why), "the agent could not initialise");
		agent_fini(&ag);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	agent_start_concerns(&ag, NULL);
	strbuf_init(&out);
	metrics_render(ag.reg, &out);
	doctor_parse_probe_up(f, out.data);
	strbuf_free(&out);
	agent_fini(&ag);
	sigprocmask(SIG_SETMASK, &old, NULL);
	f->probes_checked = true;
}

int doctor_gather(struct doctor_facts *f, const struct config *cfg)
{
	int err;

	f->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	gather_sysctls(f);
	err = gather_sockets(f, cfg);
	if (err)
		return err;
	err = gather_neighbours(f);
	if (err) {
		log_msg(LOG_ERROR, "doctor: neighbour dump: %s", strerror(-err));
		return err;
	}
	if (f->btf)
		gather_probes(f, cfg);
	if (f->probes_checked && f->nr_probes && geteuid() != 0) {
		bool any_up = false;

		for (int i = 0; i < f->nr_probes; i++)
			any_up |= f->probes[i].up;
		if (!any_up) {
			/* Nothing loads without CAP_BPF + CAP_PERFMON: that says nothing about
			 * the kernel. */
			f->probes_checked = false;
			snprintf(f->probes_why, sizeof(f->probes_why),
				 "no probe could be loaded without root (or CAP_BPF + "
				 "CAP_PERFMON)");
		}
	}
	return 0;
}
