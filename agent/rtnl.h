/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small rtnetlink queries through libmnl, on one NETLINK_ROUTE socket of the agent's network
 * namespace: which route (interface, gateway) the kernel would use towards an address, and the
 * neighbour table. Synchronous request/answer, each bounded by the kernel's answer.
 */
#ifndef SIPWATCH_RTNL_H
#define SIPWATCH_RTNL_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* family: SW_AF_INET / SW_AF_INET6; addresses are 4 or 16 bytes. */
struct rtnl_route {
	int oif;	  /* outgoing interface */
	bool has_gateway; /* routed: the next hop is the gateway, not the destination */
	uint8_t gateway[16];
};

struct rtnl_neigh {
	int ifindex;
	uint8_t family;
	uint8_t addr[16];
	uint16_t state; /* NUD_* */
};

/* The route the kernel picks for @addr (RTM_GETROUTE). 0, or a negative errno (-ENETUNREACH...). */
int rtnl_route_get(uint8_t family, const uint8_t *addr, struct rtnl_route *out);

/* The next hop towards @addr: the gateway when routed, @addr itself when on-link. */
int rtnl_next_hop(uint8_t family, const uint8_t *addr, int *ifindex, uint8_t *nexthop);

typedef void (*rtnl_neigh_fn)(const struct rtnl_neigh *n, void *ctx);

/* Every neighbour entry of @family (0: both) (RTM_GETNEIGH dump). 0 or a negative errno. */
int rtnl_neigh_dump(uint8_t family, rtnl_neigh_fn fn, void *ctx);

typedef void (*rtnl_neigh_table_fn)(uint8_t family, uint32_t gc_thresh3, void *ctx);

/* Each neighbour table's hard limit (gc_thresh3), by family (RTM_GETNEIGHTBL dump). */
int rtnl_neigh_tables(rtnl_neigh_table_fn fn, void *ctx);

/*
 * The one netlink request builder: in @buf (MNL_SOCKET_BUFFER_SIZE bytes), a request of @type with
 * NLM_F_REQUEST | @flags, sequence @seq, and a zeroed family header of @hdrlen bytes (ndmsg, rtmsg,
 * tcmsg, ...) whose first byte -- every rtnetlink family header starts with it -- is @af (AF_*).
 * Returns that family header; attributes go after it (mnl_attr_put on (struct nlmsghdr *)@buf).
 */
void *rtnl_request(char *buf, uint16_t type, uint16_t flags, uint32_t seq, size_t hdrlen,
		   uint8_t af);

/*
 * Send @nlh on @s (NULL: this module's own socket) and feed every answer to @cb until the kernel
 * says done, acks or errors. 0, or a negative errno.
 */
int rtnl_exchange(struct mnl_socket *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *ctx);

/*
 * The attributes of message @nlh after its @hdrlen-byte family header (or of nested attribute
 * @nest) into @tb[0..@max], by type (the caller zeroes @tb; types above @max are skipped).
 * MNL_CB_OK, or MNL_CB_ERROR on a malformed attribute.
 */
int rtnl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, int max);
int rtnl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, int max);

/* Open this module's socket now (the calls above open it when first needed). 0 or -errno. */
int rtnl_open(void);
void rtnl_close(void);

#endif
