// SPDX-License-Identifier: GPL-2.0-only
/* The neigh_failed incident: one log line per entry that reached FAILED, rate-limited per entry. */
#include "neigh.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "decode.h"
#include "incident.h"
#include "log.h"
#include "neigh_priv.h"

/* "udp:5060 pid=1234 comm=kamailio packets=20 bytes=46080", one per SIP socket, ", "-joined. */
static neigh_failed_annotator_fn failed_annotator;

void neigh_set_failed_annotator(neigh_failed_annotator_fn fn)
{
	failed_annotator = fn;
}

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
					i ? ", " : "", decode_proto_name(s->proto), s->port,
					s->tgid, comm, s->packets, (unsigned long long)s->bytes);
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
	if (!ratelimit_allow(&neigh_incident_limit, key, monotonic_ns(), &held_back))
		return;
	incident_begin(&l, "neigh_failed",
		       known ? "neighbour stopped answering"
			     : "neighbour resolution got no answer");
	log_str(&l, "ifname", e->ifname);
	log_str(&l, "family", decode_family_name(e->family));
	log_str(&l, "address", addr);
	/* no_answer: a fresh resolution (INCOMPLETE) never answered; stopped_answering: a peer
	 * that had been resolved failed its re-confirmation (PROBE). */
	log_str(&l, "failure", known ? "stopped_answering" : "no_answer");
	log_str(&l, "previous_state", decode_nud_state_name(e->old_state));
	log_uint(&l, "probes", e->probes);
	if (known && neigh_kernel_hz > 0)
		log_double(&l, "seconds_since_confirmed",
			   (double)e->since_confirmed_jiffies / (double)neigh_kernel_hz);
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
	if (failed_annotator)
		failed_annotator(&l, e->ifindex, e->family, e->addr);
	if (held_back)
		log_uint(&l, "suppressed", held_back);
	/* No tracepoint call reported it: the sweep found it FAILED (up to a second late). */
	if (e->flags & NEIGH_EVENT_F_SWEPT)
		log_str(&l, "detected_by", "sweep");
	if (neigh_with_netns)
		log_uint(&l, "netns", e->hdr.netns_ino);
	log_end(&l);
}

int neigh_on_event(void *ctx, void *data, size_t size)
{
	const struct sipwatch_event_hdr *hdr = data;

	if (size < sizeof(*hdr))
		return 0;
	if (hdr->type == SIPWATCH_EV_NEIGH_FAILED && size >= sizeof(struct neigh_failed_event))
		log_failed(data);
	return 0;
}
