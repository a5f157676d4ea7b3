/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small rtnetlink queries through libmnl, on one NETLINK_ROUTE socket of the agent's network
 * namespace: which route (interface, gateway) the kernel would use towards an address, and the
 * neighbour table. Synchronous request/answer, each bounded by the kernel's answer.
 */
#ifndef SIPWATCH_RTNL_H
#define SIPWATCH_RTNL_H

#include <stdbool.h>
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

void rtnl_close(void);

#endif
