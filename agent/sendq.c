// SPDX-License-Identifier: GPL-2.0-only
#include "sendq.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "decode.h"
#include "http.h"
#include "log.h"
#include "mapwalk.h"
#include "neigh.h"
#include "probes.h"
#include "sendq.skel.h"
#include "sip.h"

#define MAX_SUMMARIES  32 /* proto x SIP port */
#define MAX_IFACES     64
#define MAX_HOLDINGS   16 /* peers named in one send_stall incident */
#define MAX_REMEMBERED 256
#define REMEMBER_NS    (60 * 1000000000ULL)
/* A socket this full may be about to block: note who holds its buffer (see remember_holdings). */
#define NEARLY_FULL 0.5

static const char *const error_names[SENDQ_NR_ERRORS] = {
    [SENDQ_ERR_EAGAIN] = "eagain",
    [SENDQ_ERR_ENOBUFS] = "enobufs",
    [SENDQ_ERR_EHOSTUNREACH] = "ehostunreach",
    [SENDQ_ERR_ENETUNREACH] = "enetunreach",
    [SENDQ_ERR_ECONNREFUSED] = "econnrefused",
    [SENDQ_ERR_EPERM] = "eperm",
    [SENDQ_ERR_OTHER] = "other",
};

struct iface_limit {
	char ifname[SIPWATCH_IFNAMSIZ];
	uint8_t family;
	uint32_t unres_qlen_bytes;
};

static struct sendq_bpf *skel;
static struct agent *agent;
static struct bpf_link *iter_links[2]; /* udp, tcp: our own links, to create iterators from */
static struct metric_family *blocked, *stalls, *errors, *queue_bytes, *fill_ratio, *sndbuf_bytes,
    *held_unresolved, *rx_drops, *rx_fill_ratio, *rcvbuf_bytes;
static double bucket_bounds_s[SENDQ_NR_BOUNDS];
/* The last iterator scan: every SIP socket of the namespace. */
static struct sendq_sock_record *socks;
static size_t nr_socks, socks_cap;

/* Holdings seen on nearly full SIP sockets, kept a minute for the stall incident. */
struct remembered_holding {
	uint64_t sk;
	uint64_t seen_ns;
	struct neigh_holding h;
};
static struct remembered_holding remembered[MAX_REMEMBERED];
static int nr_remembered;

const char *sendq_error_name(int error)
{
	if (error < 0 || error >= SENDQ_NR_ERRORS)
		return "other";
	return error_names[error];
}

const char *sendq_proto_name(uint8_t proto)
{
	return proto == SENDQ_PROTO_TCP ? "tcp" : "udp";
}

uint32_t sendq_dead_peers_to_stall(uint32_t sndbuf, uint32_t unres_qlen_bytes)
{
	if (!sndbuf || !unres_qlen_bytes)
		return 0;
	return sndbuf / unres_qlen_bytes + 1;
}

static bool port_listed(uint16_t port, const uint16_t *ports, int nr_ports)
{
	for (int i = 0; i < nr_ports; i++)
		if (ports[i] == port)
			return true;
	return false;
}

uint16_t sendq_record_sip_port(const struct sendq_sock_record *r, const uint16_t *ports,
			       int nr_ports)
{
	if (port_listed(r->local_port, ports, nr_ports))
		return r->local_port;
	if (r->remote_port && port_listed(r->remote_port, ports, nr_ports))
		return r->remote_port;
	return 0;
}

double sendq_record_fill_ratio(const struct sendq_sock_record *r)
{
	if (!r->sndbuf)
		return 0;
	return (double)r->wmem_queued / r->sndbuf;
}

int sendq_summarize(const struct sendq_sock_record *recs, size_t nr, const uint16_t *ports,
		    int nr_ports, struct sendq_port_summary *out, int max)
{
	int n = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct sendq_sock_record *r = &recs[i];
		uint16_t port = sendq_record_sip_port(r, ports, nr_ports);
		struct sendq_port_summary *s = NULL;
		double fill;

		if (!port)
			continue;
		for (int j = 0; j < n; j++)
			if (out[j].proto == r->proto && out[j].port == port)
				s = &out[j];
		if (!s) {
			if (n == max)
				continue;
			s = &out[n++];
			*s = (struct sendq_port_summary){.proto = r->proto, .port = port};
		}
		fill = sendq_record_fill_ratio(r);
		s->sockets++;
		s->queued_bytes += r->queued;
		if (fill > s->max_fill_ratio)
			s->max_fill_ratio = fill;
		if (r->sndbuf && (!s->min_sndbuf || r->sndbuf < s->min_sndbuf))
			s->min_sndbuf = r->sndbuf;
		s->rx_drops += r->rx_drops;
		if (r->rcvbuf) {
			double rx_fill = (double)r->rx_queued / r->rcvbuf;

			if (rx_fill > s->max_rx_fill_ratio)
				s->max_rx_fill_ratio = rx_fill;
			if (!s->min_rcvbuf || r->rcvbuf < s->min_rcvbuf)
				s->min_rcvbuf = r->rcvbuf;
		}
	}
	return n;
}

static bool same_peer(const struct neigh_holding *a, const struct neigh_holding *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr)) &&
	       !strncmp(a->ifname, b->ifname, sizeof(a->ifname));
}

/* Add @h to @out (n so far, at most @max) or raise the bytes of the same peer. Returns the new n.
 */
int sendq_merge_holding(struct neigh_holding *out, int n, int max, const struct neigh_holding *h)
{
	for (int i = 0; i < n; i++) {
		if (same_peer(&out[i], h)) {
			if (h->bytes > out[i].bytes) {
				out[i].bytes = h->bytes;
				out[i].packets = h->packets;
			}
			return n;
		}
	}
	if (n < max)
		out[n++] = *h;
	return n;
}

/*
 * While a sender is blocked its buffer is full, and the neighbour concern shows who holds it. When
 * the entries fail, the sender wakes and may at once queue new packets to the same entries: a new
 * queue episode that replaces the old one there. So, once a second, the holdings of nearly full SIP
 * sockets are noted here, and the stall incident reports the most each peer held.
 */
static void remember_holdings(void)
{
	uint64_t now = monotonic_ns();
	int kept = 0;

	for (int i = 0; i < nr_remembered; i++)
		if (now - remembered[i].seen_ns < REMEMBER_NS)
			remembered[kept++] = remembered[i];
	nr_remembered = kept;
	for (size_t i = 0; i < nr_socks; i++) {
		struct neigh_holding h[MAX_HOLDINGS];
		int n;

		if (sendq_record_fill_ratio(&socks[i]) < NEARLY_FULL)
			continue;
		n = neigh_socket_holdings(socks[i].sk, now - REMEMBER_NS, h, MAX_HOLDINGS);
		for (int j = 0; j < n; j++) {
			struct remembered_holding *r = NULL;

			for (int k = 0; k < nr_remembered && !r; k++)
				if (remembered[k].sk == socks[i].sk &&
				    same_peer(&remembered[k].h, &h[j]))
					r = &remembered[k];
			if (!r && nr_remembered < MAX_REMEMBERED) {
				r = &remembered[nr_remembered++];
				*r = (struct remembered_holding){.sk = socks[i].sk, .h = h[j]};
			}
			if (!r)
				continue;
			r->seen_ns = now;
			if (h[j].bytes > r->h.bytes)
				r->h = h[j];
		}
	}
}

/*
 * "10.99.0.2@eth0:107520,10.99.0.3@eth0:105216": the peers whose unresolved neighbour queues held
 * the socket's buffer while the call was blocked, with the most bytes each held. Returns their sum.
 */
static uint64_t format_holdings(const struct sendq_stall_event *e, char *buf, size_t len,
				int *nr_peers)
{
	struct neigh_holding h[MAX_HOLDINGS];
	int n = neigh_socket_holdings(e->sk, e->start_ns, h, MAX_HOLDINGS);
	uint64_t total = 0;
	size_t off = 0;

	if (n < 0)
		n = 0;
	for (int i = 0; i < nr_remembered; i++)
		if (remembered[i].sk == e->sk && remembered[i].seen_ns >= e->start_ns)
			n = sendq_merge_holding(h, n, MAX_HOLDINGS, &remembered[i].h);

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		char addr[INET6_ADDRSTRLEN];
		int w;

		decode_addr(addr, sizeof(addr), h[i].family, h[i].addr);
		w = snprintf(buf + off, len - off, "%s%s@%s:%llu", i ? "," : "", addr, h[i].ifname,
			     (unsigned long long)h[i].bytes);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
		total += h[i].bytes;
	}
	*nr_peers = n;
	return total;
}

static void note_stall(uint64_t start_ns, uint64_t end_ns);

static int on_event(void *ctx, void *data, size_t size)
{
	const struct sendq_stall_event *e = data;
	char local[INET6_ADDRSTRLEN + 8], port[8], held_by[MAX_HOLDINGS * 64];
	struct log_line l;
	uint64_t held;
	int peers;

	if (size < sizeof(*e) || e->hdr.type != SIPWATCH_EV_SEND_STALL)
		return 0;
	decode_endpoint(local, sizeof(local), e->family, e->local_addr, e->local_port);
	held = format_holdings(e, held_by, sizeof(held_by), &peers);
	snprintf(port, sizeof(port), "%u", e->sip_port);
	incident_begin(&l, "send_stall", "send call on a SIP socket blocked");
	log_uint(&l, "pid", e->pid);
	log_uint(&l, "tid", e->tid);
	log_str(&l, "comm", e->comm);
	log_str(&l, "proto", sendq_proto_name(e->proto));
	log_str(&l, "local", local);
	log_str(&l, "port", port);
	log_double(&l, "blocked_seconds", (double)e->blocked_ns / 1e9);
	log_uint(&l, "sndbuf", e->sndbuf);
	log_uint(&l, "peers", (uint64_t)peers);
	log_uint(&l, "held_bytes", held);
	log_str(&l, "held_by", held_by);
	if (e->ret < 0)
		log_str(&l, "error", strerror((int)-e->ret));
	if (agent && agent->cfg.netns_all)
		log_uint(&l, "netns", e->hdr.netns_ino);
	note_stall(e->start_ns, e->hdr.ts_ns);
	sip_log_stall_harm(&l, e->start_ns, e->hdr.ts_ns); /* issue 18: who was hurt */
	log_end(&l);
	return 0;
}

/* Run one iterator and append its records to socks. */
static int read_iterator(struct bpf_link *link)
{
	char buf[16384];
	size_t have = 0;
	ssize_t n;
	int fd;

	if (!link)
		return 0;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		size_t whole;

		have += (size_t)n;
		whole = have / sizeof(struct sendq_sock_record);
		if (nr_socks + whole > socks_cap) {
			size_t cap = (nr_socks + whole) * 2;
			void *p = realloc(socks, cap * sizeof(*socks));

			if (!p)
				break;
			socks = p;
			socks_cap = cap;
		}
		memcpy(&socks[nr_socks], buf, whole * sizeof(struct sendq_sock_record));
		nr_socks += whole;
		have -= whole * sizeof(struct sendq_sock_record);
		memmove(buf, buf + whole * sizeof(struct sendq_sock_record), have);
	}
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? (int)n : 0;
}

static void set_held(uint8_t proto, uint16_t port, uint64_t bytes, void *ctx)
{
	char p[8];

	snprintf(p, sizeof(p), "%u", port);
	metric_set(held_unresolved, LABELS(sendq_proto_name(proto), p), (double)bytes);
}

/*
 * Scan every SIP socket of the namespace and rebuild the send-buffer gauges, at most every
 * KERNEL_SCAN_MIN_NS: the socket iterators walk the kernel's whole TCP and UDP hash tables
 * (262 144 TCP buckets on a 24 GiB host).
 */
static void sample_sockets(struct agent *ag)
{
	static uint64_t sampled_ns;
	struct sendq_port_summary sum[MAX_SUMMARIES];
	char port[8];
	int n;

	if (!interval_elapsed(&sampled_ns, KERNEL_SCAN_MIN_NS))
		return;
	nr_socks = 0;
	for (int i = 0; i < 2; i++) {
		int err = read_iterator(iter_links[i]);

		if (err)
			log_msg(LOG_DEBUG, "sendq: socket iterator: %s", strerror(-err));
	}
	n = sendq_summarize(socks, nr_socks, ag->cfg.sip_ports, ag->cfg.nr_sip_ports, sum,
			    MAX_SUMMARIES);
	metric_family_clear(queue_bytes);
	metric_family_clear(fill_ratio);
	metric_family_clear(sndbuf_bytes);
	metric_family_clear(held_unresolved);
	metric_family_clear(rx_drops);
	metric_family_clear(rx_fill_ratio);
	metric_family_clear(rcvbuf_bytes);
	for (int i = 0; i < n; i++) {
		const char *proto = sendq_proto_name(sum[i].proto);

		snprintf(port, sizeof(port), "%u", sum[i].port);
		metric_set(queue_bytes, LABELS(proto, port), (double)sum[i].queued_bytes);
		metric_set(fill_ratio, LABELS(proto, port), sum[i].max_fill_ratio);
		metric_set(sndbuf_bytes, LABELS(proto, port), sum[i].min_sndbuf);
		metric_set(held_unresolved, LABELS(proto, port), 0);
		metric_set(rx_drops, LABELS(proto, port), (double)sum[i].rx_drops);
		metric_set(rx_fill_ratio, LABELS(proto, port), sum[i].max_rx_fill_ratio);
		metric_set(rcvbuf_bytes, LABELS(proto, port), sum[i].min_rcvbuf);
	}
	/* The neighbour concern knows which parked packets belong to which socket. */
	neigh_for_each_sip_held(set_held, NULL);
	remember_holdings();
}

/* unres_qlen_bytes of every interface of the agent's namespace (/proc/sys/net is per netns). */
static int read_iface_limits(struct iface_limit *out, int max)
{
	static const struct {
		const char *dir;
		uint8_t family;
	} fams[] = {{"/proc/sys/net/ipv4/neigh", SW_AF_INET},
		    {"/proc/sys/net/ipv6/neigh", SW_AF_INET6}};
	int n = 0;

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		DIR *d = opendir(fams[f].dir);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d)) && n < max) {
			char path[300];
			unsigned long v;
			FILE *fp;

			if (de->d_name[0] == '.' || !strcmp(de->d_name, "default") ||
			    !strcmp(de->d_name, "lo"))
				continue;
			snprintf(path, sizeof(path), "%s/%s/unres_qlen_bytes", fams[f].dir,
				 de->d_name);
			fp = fopen(path, "r");
			if (!fp)
				continue;
			if (fscanf(fp, "%lu", &v) == 1 && strlen(de->d_name) < SIPWATCH_IFNAMSIZ) {
				memcpy(out[n].ifname, de->d_name, strlen(de->d_name) + 1);
				out[n].family = fams[f].family;
				out[n].unres_qlen_bytes = (uint32_t)v;
				n++;
			}
			fclose(fp);
		}
		closedir(d);
	}
	return n;
}

/*
 * GET /sockets: every SIP socket with its send buffer, what is queued in it, and how many dead
 * peers it takes to stall it on each interface (SO_SNDBUF vs unres_qlen_bytes): the facts
 * "sipwatch doctor" reasons about.
 */
static int route_sockets(void *ctx, struct http_request *req, struct strbuf *out,
			 const char **content_type)
{
	struct agent *ag = ctx;
	struct iface_limit ifs[MAX_IFACES];
	int nr_ifs = read_iface_limits(ifs, MAX_IFACES);

	sample_sockets(ag);
	strbuf_puts(out, "{\"interfaces\":[");
	for (int i = 0; i < nr_ifs; i++) {
		strbuf_printf(out, "%s{\"ifname\":", i ? "," : "");
		strbuf_json_string(out, ifs[i].ifname);
		strbuf_printf(out, ",\"family\":\"%s\",\"unres_qlen_bytes\":%u}",
			      ifs[i].family == SW_AF_INET6 ? "ipv6" : "ipv4",
			      ifs[i].unres_qlen_bytes);
	}
	strbuf_puts(out, "],\"sockets\":[");
	for (size_t i = 0; i < nr_socks; i++) {
		const struct sendq_sock_record *r = &socks[i];
		char local[INET6_ADDRSTRLEN + 8], remote[INET6_ADDRSTRLEN + 8];
		bool first = true;

		decode_endpoint(local, sizeof(local), r->family, r->local_addr, r->local_port);
		decode_endpoint(remote, sizeof(remote), r->family, r->remote_addr, r->remote_port);
		strbuf_printf(out,
			      "%s{\"proto\":\"%s\",\"family\":\"%s\",\"port\":%u,\"local\":\"%s\","
			      "\"remote\":\"%s\",\"sndbuf_bytes\":%u,\"queued_bytes\":%u,"
			      "\"fill_ratio\":%.4f,\"rcvbuf_bytes\":%u,\"receive_queued_bytes\":%u,"
			      "\"receive_drops\":%u,\"dead_peers_to_stall\":{",
			      i ? "," : "", sendq_proto_name(r->proto),
			      r->family == SW_AF_INET6 ? "ipv6" : "ipv4",
			      sendq_record_sip_port(r, ag->cfg.sip_ports, ag->cfg.nr_sip_ports),
			      local, r->remote_port ? remote : "", r->sndbuf, r->queued,
			      sendq_record_fill_ratio(r), r->rcvbuf, r->rx_queued, r->rx_drops);
		for (int j = 0; j < nr_ifs; j++) {
			if (ifs[j].family != r->family)
				continue;
			strbuf_printf(out, "%s", first ? "" : ",");
			strbuf_json_string(out, ifs[j].ifname);
			strbuf_printf(
			    out, ":%u",
			    sendq_dead_peers_to_stall(r->sndbuf, ifs[j].unres_qlen_bytes));
			first = false;
		}
		strbuf_puts(out, "}}");
	}
	strbuf_puts(out, "]}\n");
	*content_type = "application/json";
	return 200;
}

/* The iterators are BTF types of their context; kernels before 5.9 have neither. */
static void prepare_iterator(struct agent *ag, struct bpf_program *prog, const char *ctx_type)
{
	char reason[128];

	if (ag->vmlinux_btf &&
	    btf__find_by_name_kind(ag->vmlinux_btf, ctx_type, BTF_KIND_STRUCT) > 0)
		return;
	bpf_program__set_autoload(prog, false);
	snprintf(reason, sizeof(reason), "this kernel has no %s (BPF socket iterators)", ctx_type);
	probe_report(bpf_program__name(prog), false, reason);
}

static void register_metrics(struct agent *ag)
{
	static const uint64_t bounds_us[SENDQ_NR_BOUNDS] = SENDQ_BUCKET_BOUNDS_US;

	for (int i = 0; i < SENDQ_NR_BOUNDS; i++)
		bucket_bounds_s[i] = (double)bounds_us[i] / 1e6;
	blocked = metrics_histogram(
	    ag->reg, "sipwatch_send_blocked_seconds",
	    "Time each send on a SIP socket was blocked (sendmmsg: each message). With "
	    "--stall.hook=fentry the whole time in the kernel's inet send; with tracepoint the "
	    "time "
	    "the sender slept inside the send, waiting for send-buffer space (0 if it never "
	    "slept); "
	    "with syscalls the whole system call.",
	    LABELS("proto", "port"), bucket_bounds_s, SENDQ_NR_BOUNDS);
	stalls = metrics_counter(ag->reg, "sipwatch_send_stalls_total",
				 "Send calls on SIP sockets that took at least --stall.threshold.",
				 LABELS("proto", "port"));
	errors = metrics_counter(ag->reg, "sipwatch_send_errors_total",
				 "Send calls on SIP sockets that failed, by error.",
				 LABELS("proto", "port", "error"));
	queue_bytes =
	    metrics_gauge(ag->reg, "sipwatch_socket_send_queue_bytes",
			  "Bytes queued in SIP sockets' send buffers (UDP: sk_wmem_alloc; "
			  "TCP: sent but unacknowledged plus unsent), summed per port.",
			  LABELS("proto", "port"));
	fill_ratio = metrics_gauge(ag->reg, "sipwatch_socket_send_queue_fill_ratio",
				   "Send-buffer use of the fullest SIP socket, over its SO_SNDBUF.",
				   LABELS("proto", "port"));
	held_unresolved = metrics_gauge(
	    ag->reg, "sipwatch_send_queue_held_unresolved_bytes",
	    "Bytes of SIP sockets' send buffers parked in unresolved neighbour queues right now.",
	    LABELS("proto", "port"));
	/* The receive side of the same sockets, from the same iterator records. */
	rx_drops = metrics_counter(
	    ag->reg, "sipwatch_socket_receive_drops_total",
	    "The kernel's own per-socket drop count (sk_drops, the drops column of /proc/net/udp) "
	    "summed over the SIP sockets open now (falls when a socket closes).",
	    LABELS("proto", "port"));
	rx_fill_ratio =
	    metrics_gauge(ag->reg, "sipwatch_socket_receive_queue_fill_ratio",
			  "Receive-queue use of the fullest SIP socket, over its receive "
			  "buffer (sk_rmem_alloc / sk_rcvbuf): near 1, datagrams drop.",
			  LABELS("proto", "port"));
	rcvbuf_bytes = metrics_gauge(
	    ag->reg, "sipwatch_socket_receive_buffer_bytes",
	    "The smallest receive buffer (sk_rcvbuf: SO_RCVBUF as the kernel doubled it) among the "
	    "SIP sockets on this port.",
	    LABELS("proto", "port"));
	sndbuf_bytes = metrics_gauge(
	    ag->reg, "sipwatch_socket_send_buffer_bytes",
	    "The smallest SO_SNDBUF among the SIP sockets on this port (compare with the "
	    "interfaces' unres_qlen_bytes: see GET /sockets).",
	    LABELS("proto", "port"));
}

/* The programs of each way of timing sends (bpf/sendq.bpf.c); the rest of the object always loads.
 */
static void rung_programs(struct sendq_bpf *obj, int rung, bool direct, struct bpf_program **out,
			  int *n)
{
	*n = 0;
	switch (rung) {
	case SENDQ_RUNG_FENTRY:
		out[(*n)++] = obj->progs.sendq_fentry_inet_sendmsg;
		out[(*n)++] = obj->progs.sendq_fexit_inet_sendmsg;
		out[(*n)++] = obj->progs.sendq_fentry_inet6_sendmsg;
		out[(*n)++] = obj->progs.sendq_fexit_inet6_sendmsg;
		break;
	case SENDQ_RUNG_TRACEPOINT:
		out[(*n)++] = obj->progs.sendq_sock_send_length;
		out[(*n)++] = obj->progs.sendq_sched_switch;
		break;
	case SENDQ_RUNG_SYSCALLS:
		out[(*n)++] =
		    direct ? obj->progs.sendq_sys_enter : obj->progs.sendq_sys_enter___probe_read;
		out[(*n)++] = obj->progs.sendq_sys_exit;
		break;
	}
}

#define MAX_RUNG_PROGS 4

static bool is_rung_program(const struct bpf_program *prog, struct bpf_program **rung_progs, int n)
{
	for (int i = 0; i < n; i++)
		if (rung_progs[i] == prog)
			return true;
	return false;
}

/* Load the programs of @rung (and the socket iterators if @iterators), no other. */
static void load_only(struct sendq_bpf *obj, int rung, bool direct, bool iterators)
{
	struct bpf_program *wanted[MAX_RUNG_PROGS], *prog;
	int n;

	rung_programs(obj, rung, direct, wanted, &n);
	bpf_object__for_each_program (prog, obj->obj) {
		bool iterator =
		    prog == obj->progs.sendq_iter_udp || prog == obj->progs.sendq_iter_tcp;

		bpf_program__set_autoload(prog,
					  iterator ? iterators : is_rung_program(prog, wanted, n));
	}
}

static void set_rodata(struct sendq_bpf *obj, const struct agent *ag)
{
	obj->rodata->cfg = ag->bpf_cfg;
	obj->rodata->stall_threshold_ns = ag->cfg.stall_threshold_ns;
	obj->rodata->nr.write = SYS_write;
	obj->rodata->nr.writev = SYS_writev;
	obj->rodata->nr.sendto = SYS_sendto;
	obj->rodata->nr.sendmsg = SYS_sendmsg;
	obj->rodata->nr.sendmmsg = SYS_sendmmsg;
}

/*
 * Open and load the object with the programs of @rung (SENDQ_RUNG_AUTO: none, the iterators only).
 * For the syscalls rung @direct picks the sys_enter that walks fd -> socket with direct loads
 * (bpf_rdonly_cast) over the probe-read one.
 */
static int load(struct agent *ag, int rung, bool direct, struct bpf_program *iters[2])
{
	static const char *const iter_ctx[2] = {"bpf_iter__udp", "bpf_iter__tcp"};

	skel = sendq_bpf__open();
	if (!skel)
		return -errno;
	set_rodata(skel, ag);
	iters[0] = skel->progs.sendq_iter_udp;
	iters[1] = skel->progs.sendq_iter_tcp;
	load_only(skel, rung, direct, true);
	for (int i = 0; i < 2; i++)
		prepare_iterator(ag, iters[i], iter_ctx[i]);
	return agent_load_skeleton(ag, skel->skeleton, on_event, NULL, &skel->bss->events_dropped);
}

/*
 * Why @rung cannot time sends on this kernel (written to @why), or NULL if it can. Asked of the
 * running kernel (BTF, and a trial attach for fentry), never of its version.
 */
static const char *rung_unavailable(struct agent *ag, int rung, char *why, size_t len)
{
	static const char *const fentry_funcs[] = {"inet_sendmsg", "inet6_sendmsg"};
	static const char *const tracepoints[SENDQ_NR_RUNGS][2] = {
	    [SENDQ_RUNG_TRACEPOINT] = {"sock_send_length", "sched_switch"},
	    [SENDQ_RUNG_SYSCALLS] = {"sys_enter", "sys_exit"},
	};
	struct bpf_program *progs[MAX_RUNG_PROGS];
	struct sendq_bpf *names = sendq_bpf__open(); /* the programs' names are the probes' */
	bool disabled = false;
	char name[64];
	int n;

	if (!names) {
		snprintf(why, len, "cannot open the BPF object: %s", strerror(errno));
		return why;
	}
	rung_programs(names, rung, true, progs, &n);
	for (int i = 0; i < n && !disabled; i++)
		disabled =
		    config_probe_disabled(&ag->cfg, probe_name(progs[i], name, sizeof(name)));
	sendq_bpf__destroy(names);
	if (disabled) {
		snprintf(why, len, "%s is disabled by --probe.disable", name);
		return why;
	}
	if (rung == SENDQ_RUNG_FENTRY) {
		for (size_t i = 0; i < 2; i++) {
			int err = kernel_can_attach_fentry(ag, fentry_funcs[i]);

			if (err) {
				snprintf(why, len, "the kernel refuses fentry on %s: %s",
					 fentry_funcs[i], strerror(-err));
				return why;
			}
		}
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (!kernel_has_tracepoint(ag, tracepoints[rung][i])) {
			snprintf(why, len, "this kernel has no tracepoint %s",
				 tracepoints[rung][i]);
			return why;
		}
	}
	if (rung == SENDQ_RUNG_TRACEPOINT && !kernel_has_function(ag, "bpf_rdonly_cast")) {
		snprintf(why, len, "this kernel has no bpf_rdonly_cast kfunc (fd -> socket walk)");
		return why;
	}
	return NULL;
}

/*
 * Load @rung's programs alone and attach them for a moment: a rung is chosen only if all of them
 * load and attach, before anything (ring buffer, probes) is registered for the real object.
 * NULL, or why not (in @why).
 */
static const char *rung_trial(struct agent *ag, int rung, bool direct, char *why, size_t len)
{
	struct bpf_program *progs[MAX_RUNG_PROGS];
	struct bpf_link *links[MAX_RUNG_PROGS] = {};
	struct sendq_bpf *trial = sendq_bpf__open();
	const char *no = NULL;
	int n, err;

	if (!trial) {
		snprintf(why, len, "cannot open the BPF object: %s", strerror(errno));
		return why;
	}
	set_rodata(trial, ag);
	rung_programs(trial, rung, direct, progs, &n);
	load_only(trial, rung, direct, false);
	err = sendq_bpf__load(trial);
	if (err) {
		snprintf(why, len, "the programs do not load: %s", strerror(-err));
		no = why;
	}
	for (int i = 0; !no && i < n; i++) {
		links[i] = bpf_program__attach(progs[i]);
		if (!links[i]) {
			snprintf(why, len, "%s does not attach: %s", bpf_program__name(progs[i]),
				 strerror(errno));
			no = why;
		}
	}
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	sendq_bpf__destroy(trial);
	return no;
}

/*
 * Load the object with @rung's programs, once a trial of them alone went through. The syscalls
 * rung tries the direct-load walk first (@direct), and the probe-read one on a kernel that lists
 * the kfunc but refuses the program. NULL, or why not (in @why).
 */
static const char *load_rung(struct agent *ag, int rung, bool *direct, struct bpf_program *iters[2],
			     char *why, size_t len)
{
	const char *no = rung_trial(ag, rung, *direct, why, len);
	int err;

	if (no && rung == SENDQ_RUNG_SYSCALLS && *direct) {
		*direct = false;
		no = rung_trial(ag, rung, false, why, len);
	}
	if (no)
		return no;
	/* a failed object load registers nothing: safe to destroy and go on */
	err = load(ag, rung, *direct, iters);
	if (err < 0) {
		sendq_bpf__destroy(skel);
		skel = NULL;
		snprintf(why, len, "%s", strerror(-err));
		return why;
	}
	return NULL;
}

static bool rung_attached(int rung, bool direct)
{
	struct bpf_program *progs[MAX_RUNG_PROGS];
	char name[64];
	int n;

	rung_programs(skel, rung, direct, progs, &n);
	for (int i = 0; i < n; i++)
		if (!probe_is_up(probe_name(progs[i], name, sizeof(name))))
			return false;
	return true;
}

/*
 * Load the object with the best way of timing sends this kernel allows (see bpf/sendq.bpf.c):
 * --stall.hook's rung, or for auto fentry then tracepoint. The rung in use is reported as probe
 * "send_timing:<rung>"; with none, probe "send_timing" is 0 and the iterators load alone.
 */
static int load_best_rung(struct agent *ag, struct bpf_program *iters[2])
{
	int ladder[2] = {ag->cfg.stall_hook, -1}, err;
	bool direct = kernel_has_function(ag, "bpf_rdonly_cast");
	char why[200], probe[48], reasons[400] = "";

	if (ag->cfg.stall_hook == SENDQ_RUNG_AUTO) {
		ladder[0] = SENDQ_RUNG_FENTRY;
		ladder[1] = SENDQ_RUNG_TRACEPOINT;
	}
	if (config_probe_disabled(&ag->cfg, "send_timing")) {
		ladder[0] = ladder[1] = -1;
		snprintf(reasons, sizeof(reasons), "disabled by --probe.disable");
	}
	for (int i = 0; i < 2 && ladder[i] >= 0; i++) {
		int rung = ladder[i];
		const char *no = rung_unavailable(ag, rung, why, sizeof(why));

		if (!no)
			no = load_rung(ag, rung, &direct, iters, why, sizeof(why));
		if (!no) {
			/* a program that attached in the trial and not now reports itself down */
			snprintf(probe, sizeof(probe), "send_timing:%s", stall_hook_name(rung));
			probe_report(probe, rung_attached(rung, direct),
				     "a program of this rung did not attach");
			log_msg(LOG_INFO,
				"sendq: send calls on SIP sockets are timed with the %s hooks%s",
				stall_hook_name(rung),
				rung != SENDQ_RUNG_SYSCALLS ? ""
				: direct		    ? " (fd -> socket by direct loads)"
							    : " (fd -> socket by probe reads)");
			return 0;
		}
		log_msg(LOG_INFO, "sendq: cannot time sends with the %s hooks: %s",
			stall_hook_name(rung), no);
		snprintf(reasons + strlen(reasons), sizeof(reasons) - strlen(reasons), "%s%s: %s",
			 reasons[0] ? "; " : "", stall_hook_name(rung), no);
	}
	probe_report("send_timing", false, reasons);
	err = load(ag, SENDQ_RUNG_AUTO, direct, iters);
	return err < 0 ? err : 0;
}

static int sendq_start(struct agent *ag)
{
	struct bpf_program *iters[2];
	int err;

	agent = ag;
	register_metrics(ag);
	err = load_best_rung(ag, iters);
	if (err < 0)
		return err;
	/* Iterators "attach" as links that create a fresh scan each time; keep our own ones. */
	for (int i = 0; i < 2; i++) {
		if (!bpf_program__autoload(iters[i]) || !probe_is_up(bpf_program__name(iters[i])))
			continue;
		iter_links[i] = bpf_program__attach_iter(iters[i], NULL);
		if (!iter_links[i])
			probe_report(bpf_program__name(iters[i]), false, strerror(errno));
	}
	sample_sockets(ag);
	return 0;
}

/* Summing per-CPU copies word by word is right only while every field is a __u64 counter. */
_Static_assert(sizeof(struct sendq_stats) ==
		   sizeof(__u64) * (SENDQ_NR_BUCKETS + 2 + SENDQ_NR_ERRORS),
	       "struct sendq_stats: __u64 counters only");

/* One slot of sendq_stats (SIP port index * 2 + TCP), summed over CPUs. */
static bool set_slot_stats(const void *key, const void *value, void *ctx)
{
	const struct agent *ag = ctx;
	uint32_t slot = *(const uint32_t *)key;
	const struct sendq_stats *st = value;
	const char *proto = slot % 2 ? "tcp" : "udp";
	uint64_t calls = 0;
	char port[8];

	if (slot >= (uint32_t)ag->cfg.nr_sip_ports * 2)
		return false; /* the array's keys come in order: no configured port beyond */
	for (int b = 0; b < SENDQ_NR_BUCKETS; b++)
		calls += st->buckets[b];
	if (!calls)
		return true; /* no series for a port and protocol nothing was sent on */
	snprintf(port, sizeof(port), "%u", ag->cfg.sip_ports[slot / 2]);
	metric_histogram_set(blocked, LABELS(proto, port), (const uint64_t *)st->buckets,
			     (double)st->sum_ns / 1e9);
	metric_set(stalls, LABELS(proto, port), (double)st->stalls);
	for (int e = 0; e < SENDQ_NR_ERRORS; e++)
		metric_set(errors, LABELS(proto, port, sendq_error_name(e)), (double)st->errors[e]);
	return true;
}

static int sendq_collect(struct agent *ag)
{
	if (!skel)
		return 0;
	map_for_each_percpu_sum(bpf_map__fd(skel->maps.sendq_stats), sizeof(uint32_t),
				sizeof(struct sendq_stats), set_slot_stats, ag);
	sample_sockets(ag);
	return 0;
}

#define MAX_SWEPT 256

struct dead_calls {
	uint32_t tid[MAX_SWEPT];
	bool asleep[MAX_SWEPT];
	int n;
};

static bool note_dead_thread(const void *key, const void *value, void *ctx)
{
	struct dead_calls *d = ctx;
	const struct sendq_call *call = value;
	uint32_t tid = *(const uint32_t *)key;

	if (d->n == MAX_SWEPT)
		return false;
	/* thread ids are those of the initial PID namespace, as the agent's own */
	if (kill((pid_t)tid, 0) == 0 || errno != ESRCH)
		return true;
	d->tid[d->n] = tid;
	d->asleep[d->n] = call->asleep_ns != 0;
	d->n++;
	return true;
}

/*
 * Entries of sendq_calls whose thread no longer exists (it died inside a send on a SIP socket, or
 * its send slept before reaching the socket, failed, and the thread then exited) are removed, and
 * the counters the hooks skip their lookups by are lowered with them: without this a leaked
 * "asleep" entry would cost every context switch of the host a hash lookup for good.
 */
static void sweep_calls(void)
{
	int fd = bpf_map__fd(skel->maps.sendq_calls);
	struct dead_calls d = {.n = 0};

	map_for_each(fd, sizeof(uint32_t), sizeof(struct sendq_call), note_dead_thread, &d);
	for (int i = 0; i < d.n; i++) {
		if (bpf_map_delete_elem(fd, &d.tid[i]))
			continue;
		/* the .bss is shared memory: an atomic op here is one with the programs' */
		__atomic_fetch_sub(&skel->bss->calls_in_flight, 1, __ATOMIC_SEQ_CST);
		if (d.asleep[i])
			__atomic_fetch_sub(&skel->bss->sleepers, 1, __ATOMIC_SEQ_CST);
	}
	if (d.n)
		log_msg(LOG_DEBUG, "sendq: removed %d send(s) of threads that exited", d.n);
}

static int sendq_tick(struct agent *ag)
{
	if (!skel)
		return 0;
	sample_sockets(ag);
	sweep_calls();
	return 0;
}

static void sendq_stop(struct agent *ag)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(iter_links[i]);
		iter_links[i] = NULL;
	}
	sendq_bpf__destroy(skel);
	skel = NULL;
	free(socks);
	socks = NULL;
	nr_remembered = 0;
	nr_socks = socks_cap = 0;
}

static const struct concern_route sendq_routes[] = {
    {"/sockets", route_sockets},
    {NULL, NULL},
};

const struct concern sendq_concern = {
    .routes = sendq_routes,
    .name = "sendq",
    .start = sendq_start,
    .collect = sendq_collect,
    .tick = sendq_tick,
    .stop = sendq_stop,
};

/* --- for the SIP registration tracker (issue 18): recent stalls by time --------------------- */

#define RECENT_STALLS 256
static struct {
	uint64_t start_ns, end_ns;
} recent_stalls[RECENT_STALLS];
static uint64_t nr_recent_stalls;

static void note_stall(uint64_t start_ns, uint64_t end_ns)
{
	recent_stalls[nr_recent_stalls % RECENT_STALLS].start_ns = start_ns;
	recent_stalls[nr_recent_stalls % RECENT_STALLS].end_ns = end_ns;
	nr_recent_stalls++;
}

bool sendq_stalled_between(uint64_t t0_ns, uint64_t t1_ns)
{
	uint64_t first = nr_recent_stalls > RECENT_STALLS ? nr_recent_stalls - RECENT_STALLS : 0;

	for (uint64_t i = first; i < nr_recent_stalls; i++)
		if (recent_stalls[i % RECENT_STALLS].start_ns <= t1_ns &&
		    recent_stalls[i % RECENT_STALLS].end_ns >= t0_ns)
			return true;
	return false;
}
