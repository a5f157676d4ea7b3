// SPDX-License-Identifier: GPL-2.0-only
#include "rtnl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sipwatch.h"

static struct mnl_socket *nl;
static unsigned int seq;

static struct mnl_socket *rtnl_socket(void)
{
	if (nl)
		return nl;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		nl = NULL;
	}
	return nl;
}

void rtnl_close(void)
{
	if (nl)
		mnl_socket_close(nl);
	nl = NULL;
}

static size_t addr_len(uint8_t family)
{
	return family == SW_AF_INET6 ? 16 : 4;
}

/* Send @nlh and feed every answer to @cb until the kernel says done (or errors). */
static int rtnl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *s = rtnl_socket();
	unsigned int portid;
	ssize_t n;
	int ret;

	if (!s)
		return -errno ? -errno : -ENOTCONN;
	portid = mnl_socket_get_portid(s);
	nlh->nlmsg_seq = ++seq;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, ctx);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= RTA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct rtnl_route *out = data;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
	if (tb[RTA_OIF])
		out->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY] &&
	    mnl_attr_get_payload_len(tb[RTA_GATEWAY]) ==
		addr_len(rtm->rtm_family == AF_INET6 ? SW_AF_INET6 : SW_AF_INET)) {
		out->has_gateway = true;
		memcpy(out->gateway, mnl_attr_get_payload(tb[RTA_GATEWAY]),
		       mnl_attr_get_payload_len(tb[RTA_GATEWAY]));
	}
	return MNL_CB_OK;
}

int rtnl_route_get(uint8_t family, const uint8_t *addr, struct rtnl_route *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	memset(out, 0, sizeof(*out));
	nlh->nlmsg_type = RTM_GETROUTE;
	/* The ACK ends the exchange (a single answer has no NLMSG_DONE). */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family == SW_AF_INET6 ? AF_INET6 : AF_INET;
	rtm->rtm_dst_len = (unsigned char)(addr_len(family) * 8);
	mnl_attr_put(nlh, RTA_DST, addr_len(family), addr);
	return rtnl_talk(nlh, route_cb, out);
}

int rtnl_next_hop(uint8_t family, const uint8_t *addr, int *ifindex, uint8_t *nexthop)
{
	struct rtnl_route r;
	int err = rtnl_route_get(family, addr, &r);

	if (err)
		return err;
	if (!r.oif)
		return -ENETUNREACH;
	*ifindex = r.oif;
	memset(nexthop, 0, 16);
	memcpy(nexthop, r.has_gateway ? r.gateway : addr, addr_len(family));
	return 0;
}

struct neigh_dump {
	rtnl_neigh_fn fn;
	void *ctx;
};

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct neigh_dump *d = data;
	struct rtnl_neigh n = {0};
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6))
		return MNL_CB_OK;
	n.family = ndm->ndm_family == AF_INET6 ? SW_AF_INET6 : SW_AF_INET;
	n.ifindex = ndm->ndm_ifindex;
	n.state = ndm->ndm_state;
	mnl_attr_for_each(attr, nlh, sizeof(*ndm))
	{
		if (mnl_attr_get_type(attr) == NDA_DST &&
		    mnl_attr_get_payload_len(attr) == addr_len(n.family)) {
			memcpy(n.addr, mnl_attr_get_payload(attr), addr_len(n.family));
			d->fn(&n, d->ctx);
			break;
		}
	}
	return MNL_CB_OK;
}

int rtnl_neigh_dump(uint8_t family, rtnl_neigh_fn fn, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct neigh_dump d = {fn, ctx};
	struct ndmsg *ndm;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = family == SW_AF_INET6 ? AF_INET6 : family == SW_AF_INET ? AF_INET : 0;
	return rtnl_talk(nlh, neigh_cb, &d);
}
