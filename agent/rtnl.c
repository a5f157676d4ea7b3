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

int rtnl_open(void)
{
	return rtnl_socket() ? 0 : (errno ? -errno : -ENOTCONN);
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

void *rtnl_request(char *buf, uint16_t type, uint16_t flags, uint32_t seq, size_t hdrlen,
		   uint8_t af)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	uint8_t *fam;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	fam = mnl_nlmsg_put_extra_header(nlh, hdrlen); /* zeroed */
	*fam = af;
	return fam;
}

int rtnl_exchange(struct mnl_socket *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid;
	ssize_t n;
	int ret;

	if (!s)
		s = rtnl_socket();
	if (!s)
		return -errno ? -errno : -ENOTCONN;
	portid = mnl_socket_get_portid(s);
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, ctx);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

struct attr_table {
	const struct nlattr **tb;
	int max;
};

static int attr_table_cb(const struct nlattr *attr, void *data)
{
	const struct attr_table *t = data;
	int type = mnl_attr_get_type(attr);

	if (type >= 0 && type <= t->max)
		t->tb[type] = attr;
	return MNL_CB_OK;
}

int rtnl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, int max)
{
	return mnl_attr_parse(nlh, (unsigned int)hdrlen, attr_table_cb,
			      &(struct attr_table){tb, max});
}

int rtnl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	return mnl_attr_parse_nested(nest, attr_table_cb, &(struct attr_table){tb, max});
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct rtnl_route *out = data;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	rtnl_parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX);
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
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct rtmsg *rtm;

	memset(out, 0, sizeof(*out));
	/* The ACK ends the exchange (a single answer has no NLMSG_DONE). */
	rtm = rtnl_request(buf, RTM_GETROUTE, NLM_F_ACK, ++seq, sizeof(*rtm),
			   family == SW_AF_INET6 ? AF_INET6 : AF_INET);
	rtm->rtm_dst_len = (unsigned char)(addr_len(family) * 8);
	mnl_attr_put(nlh, RTA_DST, addr_len(family), addr);
	return rtnl_exchange(NULL, nlh, route_cb, out);
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
	struct neigh_dump d = {fn, ctx};

	rtnl_request(buf, RTM_GETNEIGH, NLM_F_DUMP, ++seq, sizeof(struct ndmsg),
		     family == SW_AF_INET6  ? AF_INET6
		     : family == SW_AF_INET ? AF_INET
					    : AF_UNSPEC);
	return rtnl_exchange(NULL, (struct nlmsghdr *)buf, neigh_cb, &d);
}

struct table_dump {
	rtnl_neigh_table_fn fn;
	void *ctx;
};

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndtmsg *ndt = mnl_nlmsg_get_payload(nlh);
	struct table_dump *d = data;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWNEIGHTBL ||
	    (ndt->ndtm_family != AF_INET && ndt->ndtm_family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ndt))
	{
		if (mnl_attr_get_type(attr) == NDTA_THRESH3 &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			d->fn(ndt->ndtm_family == AF_INET6 ? SW_AF_INET6 : SW_AF_INET,
			      mnl_attr_get_u32(attr), d->ctx);
	}
	return MNL_CB_OK;
}

int rtnl_neigh_tables(rtnl_neigh_table_fn fn, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct table_dump d = {fn, ctx};

	rtnl_request(buf, RTM_GETNEIGHTBL, NLM_F_DUMP, ++seq, sizeof(struct ndtmsg), AF_UNSPEC);
	return rtnl_exchange(NULL, (struct nlmsghdr *)buf, table_cb, &d);
}
