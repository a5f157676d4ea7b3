// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SIP sockets themselves, scanned with the BPF socket iterators: send- and receive-buffer
 * gauges per (proto, SIP port), and GET /sockets with each socket and the interfaces'
 * unres_qlen_bytes (the facts "sipwatch doctor" reasons about).
 */
#include "sendq.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "decode.h"
#include "kfacts.h"
#include "log.h"
#include "probes.h"
#include "sendq_priv.h"

#define MAX_SUMMARIES 32 /* proto x SIP port */
#define MAX_IFACES    64

struct iface_limit {
	char ifname[SIPWATCH_IFNAMSIZ];
	uint8_t family;
	uint32_t unres_qlen_bytes;
};

static struct bpf_link *iter_links[2]; /* udp, tcp: our own links, to create iterators from */
static struct metric_family *queue_bytes, *fill_ratio, *sndbuf_bytes, *held_unresolved, *rx_drops,
    *rx_fill_ratio, *rcvbuf_bytes;
/* The last iterator scan: every SIP socket of the namespace. */
static struct sendq_sock_record *socks;
static size_t nr_socks, socks_cap;

void sendq_sockets_register(struct agent *ag)
{
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

void sendq_sockets_attach(struct bpf_program *iters[2])
{
	/* Iterators "attach" as links that create a fresh scan each time; keep our own ones. */
	for (int i = 0; i < 2; i++) {
		if (!bpf_program__autoload(iters[i]) || !probe_is_up(bpf_program__name(iters[i])))
			continue;
		iter_links[i] = bpf_program__attach_iter(iters[i], NULL);
		if (!iter_links[i])
			probe_report(bpf_program__name(iters[i]), false, strerror(errno));
	}
}

void sendq_sockets_stop(void)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(iter_links[i]);
		iter_links[i] = NULL;
	}
	free(socks);
	socks = NULL;
	nr_socks = socks_cap = 0;
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

uint32_t sendq_dead_peers_to_stall(uint32_t sndbuf, uint32_t unres_qlen_bytes)
{
	if (!sndbuf || !unres_qlen_bytes)
		return 0;
	return sndbuf / unres_qlen_bytes + 1;
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
int sendq_sockets_sample(struct agent *ag)
{
	static uint64_t sampled_ns;
	static int scan_err;
	struct sendq_port_summary sum[MAX_SUMMARIES];
	char port[8];
	int n;

	/* Between scans the status is the last scan's. */
	if (!interval_elapsed(&sampled_ns, KERNEL_SCAN_MIN_NS))
		return scan_err;
	nr_socks = 0;
	scan_err = 0;
	for (int i = 0; i < 2; i++) {
		int err = read_iterator(iter_links[i]);

		if (err)
			log_msg(LOG_DEBUG, "sendq: socket iterator: %s", strerror(-err));
		if (err && !scan_err)
			scan_err = err;
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
	sendq_stalls_remember(socks, nr_socks);
	return scan_err;
}

/* unres_qlen_bytes of every interface of the agent's namespace (/proc/sys/net is per netns). */
static int read_iface_limits(struct iface_limit *out, int max)
{
	static const uint8_t fams[] = {SW_AF_INET, SW_AF_INET6};
	int n = 0;

	for (size_t f = 0; f < sizeof(fams); f++) {
		DIR *d = opendir(fams[f] == SW_AF_INET6 ? "/proc/sys/net/ipv6/neigh"
							: "/proc/sys/net/ipv4/neigh");
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d)) && n < max) {
			uint64_t v;

			if (de->d_name[0] == '.' || !strcmp(de->d_name, "default") ||
			    !strcmp(de->d_name, "lo") || strlen(de->d_name) >= SIPWATCH_IFNAMSIZ)
				continue;
			if (kfacts_neigh_sysctl_u64(fams[f], de->d_name, "unres_qlen_bytes", &v))
				continue;
			memcpy(out[n].ifname, de->d_name, strlen(de->d_name) + 1);
			out[n].family = fams[f];
			out[n].unres_qlen_bytes = (uint32_t)v;
			n++;
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
int sendq_route_sockets(void *ctx, struct http_request *req, struct strbuf *out,
			const char **content_type)
{
	struct agent *ag = ctx;
	struct iface_limit ifs[MAX_IFACES];
	int nr_ifs = read_iface_limits(ifs, MAX_IFACES);

	sendq_sockets_sample(ag);
	strbuf_puts(out, "{\"interfaces\":[");
	for (int i = 0; i < nr_ifs; i++) {
		strbuf_printf(out, "%s{\"ifname\":", i ? "," : "");
		strbuf_json_string(out, ifs[i].ifname);
		strbuf_printf(out, ",\"family\":\"%s\",\"unres_qlen_bytes\":%u}",
			      decode_family_name(ifs[i].family), ifs[i].unres_qlen_bytes);
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
			      decode_family_name(r->family),
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
