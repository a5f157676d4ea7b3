// SPDX-License-Identifier: GPL-2.0-only
/* Holdings: which socket parked what in which neighbour entry's unresolved queue, and the
 * /neigh/sockets route that shows them. */
#include "neigh.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "decode.h"
#include "mapwalk.h"
#include "neigh_priv.h"
#include "neigh.skel.h"

#define MAX_HOLDS_SNAPSHOT 8192
#define MAX_SIP_HELD	   64

static struct neigh_hold_snapshot *holds_snap;

int neigh_holdings_init(void)
{
	holds_snap = calloc(MAX_HOLDS_SNAPSHOT, sizeof(*holds_snap));
	return holds_snap ? 0 : -ENOMEM;
}

void neigh_holdings_fini(void)
{
	free(holds_snap);
	holds_snap = NULL;
}

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

	if (!neigh_skel ||
	    bpf_map_lookup_elem(bpf_map__fd(neigh_skel->maps.neigh_tracks), &neigh, &t))
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

	if (!neigh_skel || !holds_snap)
		return 0;
	fd = bpf_map__fd(neigh_skel->maps.neigh_holds);
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
	return neigh_agent && config_is_sip_port(&neigh_agent->cfg, port);
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
	strbuf_printf(j->out, "{\"proto\":\"%s\",\"port\":%u,\"bytes\":%llu}",
		      decode_proto_name(proto), port, (unsigned long long)bytes);
}

/*
 * GET /neigh/sockets[?since=SECONDS]: the sockets that had packets parked in unresolved neighbour
 * queues in the last SECONDS (default 300), with the entries they waited on, and what SIP sockets
 * hold right now. The same calls the send-path concern makes.
 */
int neigh_route_sockets(void *ctx, struct http_request *req, struct strbuf *out,
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
			      first ? "" : ",", decode_proto_name(h->proto), h->port, h->tgid);
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
				      decode_family_name(holdings[j].family), addr,
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
