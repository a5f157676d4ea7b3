// SPDX-License-Identifier: GPL-2.0-only
/*
 * The send_stall incident: a send call on a SIP socket that blocked, with the peers whose
 * unresolved neighbour queues held the socket's buffer meanwhile (asked of the neighbour
 * concern, and remembered from the scans while the socket was nearly full).
 */
#include "sendq.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "decode.h"
#include "incident.h"
#include "log.h"
#include "sendq_priv.h"

#define MAX_HOLDINGS   16 /* peers named in one send_stall incident */
#define MAX_REMEMBERED 256
#define REMEMBER_NS    (60 * 1000000000ULL)
/* A socket this full may be about to block: note who holds its buffer (see remember). */
#define NEARLY_FULL 0.5

/* Holdings seen on nearly full SIP sockets, kept a minute for the stall incident. */
struct remembered_holding {
	uint64_t sk;
	uint64_t seen_ns;
	struct neigh_holding h;
};
static struct remembered_holding remembered[MAX_REMEMBERED];
static int nr_remembered;

void sendq_stalls_reset(void)
{
	nr_remembered = 0;
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
void sendq_stalls_remember(const struct sendq_sock_record *socks, size_t nr_socks)
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

static sendq_stall_annotator_fn stall_annotator;

void sendq_set_stall_annotator(sendq_stall_annotator_fn fn)
{
	stall_annotator = fn;
}

/* Recent stalls by time, for the SIP registration tracker's send_stall cause. */
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

int sendq_on_event(void *ctx, void *data, size_t size)
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
	if (sendq_agent && sendq_agent->cfg.netns_all)
		log_uint(&l, "netns", e->hdr.netns_ino);
	note_stall(e->start_ns, e->hdr.ts_ns);
	if (stall_annotator)
		stall_annotator(&l, e->start_ns, e->hdr.ts_ns);
	log_end(&l);
	return 0;
}
