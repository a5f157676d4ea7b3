// SPDX-License-Identifier: GPL-2.0-only
#include "hooks.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "rtnl.h"

/*
 * enum bpf_attach_type's tcx values (include/uapi/linux/bpf.h, 6.6+; checked against 6.18's BTF).
 * Spelled out because Debian 12's headers (libbpf 1.1, linux 6.1) predate them; uapi numbers never
 * change. libbpf 1.1's bpf_link_create() passes an attach type it does not know straight to the
 * kernel, with zeroed tcx fields (append after every other tcx program).
 */
#define SW_BPF_TCX_INGRESS 46
#define SW_BPF_TCX_EGRESS  47

#define MAX_FILTERS   64
#define MAX_OUR_PROGS 8

static bool allow_legacy = true;

void hooks_allow_legacy(bool allow)
{
	allow_legacy = allow;
}

/*
 * SIPWATCH_LEGACY_HOOKS=1 attaches as a kernel without XDP and tcx links would make it (netlink
 * XDP, tc filters): how the tests reach the fallback and its crash clean-up on kernels that have
 * links.
 */
static bool links_wanted(void)
{
	const char *v = getenv("SIPWATCH_LEGACY_HOOKS");

	return !(v && !strcmp(v, "1"));
}

static int prog_info(int fd, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static void hook_init(struct packet_hook *h, int ifindex, int prog_fd)
{
	struct bpf_prog_info info;

	memset(h, 0, sizeof(*h));
	h->ifindex = ifindex;
	h->link_fd = -1;
	h->prog_fd = prog_fd;
	if (!prog_info(prog_fd, &info))
		h->prog_id = info.id;
}

int hook_attach_xdp(struct packet_hook *h, int ifindex, int prog_fd, bool native)
{
	__u32 mode = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	struct bpf_link_create_opts opts = {.sz = sizeof(opts), .flags = mode};
	int fd = -EINVAL, err;

	hook_init(h, ifindex, prog_fd);
	if (links_wanted())
		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
	if (fd >= 0) {
		h->kind = HOOK_LINK;
		h->link_fd = fd;
		h->how = native ? "XDP link (native)" : "XDP link (generic)";
		return 0;
	}
	/* EINVAL: no XDP links (before 5.9). Anything else (EBUSY: another program is attached,
	 * EOPNOTSUPP: no driver support) the netlink attach would meet as well. */
	if (fd != -EINVAL || !allow_legacy)
		return fd;
	err = bpf_xdp_attach(ifindex, prog_fd, mode | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err)
		return err;
	h->kind = HOOK_XDP_NETLINK;
	h->xdp_flags = mode;
	h->how = native ? "netlink XDP (native)" : "netlink XDP (generic)";
	return 0;
}

int hook_attach_tc(struct packet_hook *h, int ifindex, int prog_fd, enum bpf_tc_attach_point point)
{
	struct bpf_tc_hook hook = {.sz = sizeof(hook), .ifindex = ifindex, .attach_point = point};
	struct bpf_tc_opts opts = {.sz = sizeof(opts), .prog_fd = prog_fd};
	int fd = -EOPNOTSUPP, err;

	hook_init(h, ifindex, prog_fd);
	h->point = point;
	if (links_wanted())
		fd = bpf_link_create(prog_fd, ifindex,
				     (enum bpf_attach_type)(point == BPF_TC_INGRESS
								? SW_BPF_TCX_INGRESS
								: SW_BPF_TCX_EGRESS),
				     NULL);
	if (fd >= 0) {
		h->kind = HOOK_LINK;
		h->link_fd = fd;
		h->how = "tcx link";
		return 0;
	}
	if (!allow_legacy)
		return fd;
	log_msg(LOG_DEBUG, "hooks: no tcx link on ifindex %d (%s): tc filter instead", ifindex,
		links_wanted() ? strerror(-fd) : "SIPWATCH_LEGACY_HOOKS=1");
	err = bpf_tc_hook_create(&hook);
	if (!err)
		h->created_clsact = true;
	else if (err != -EEXIST)
		return err;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		if (h->created_clsact)
			hook_release_clsact(ifindex);
		h->created_clsact = false;
		return err;
	}
	h->kind = HOOK_TC_FILTER;
	h->handle = opts.handle;
	h->priority = opts.priority;
	h->how = "tc filter";
	return 0;
}

/* --- tc filters through rtnetlink (libbpf cannot list them) ------------------------------------
 */

struct tc_filter {
	uint32_t handle, priority, prog_id;
	char kind[16];
	char prog_name[BPF_OBJ_NAME_LEN]; /* from TCA_BPF_NAME, "name:[id]" as libbpf sets it */
	uint8_t tag[BPF_TAG_SIZE];	  /* TCA_BPF_TAG */
	bool has_tag;
};

struct tc_filter_list {
	int nr;
	struct tc_filter f[MAX_FILTERS];
};

static int filter_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1] = {0}, *opt[TCA_BPF_MAX + 1] = {0};
	struct tc_filter_list *l = data;
	struct tc_filter *f;

	if (nlh->nlmsg_type != RTM_NEWTFILTER || l->nr == MAX_FILTERS)
		return MNL_CB_OK;
	f = &l->f[l->nr++];
	memset(f, 0, sizeof(*f));
	f->handle = tcm->tcm_handle;
	f->priority = TC_H_MAJ(tcm->tcm_info) >> 16;
	rtnl_parse_attrs(nlh, sizeof(*tcm), tb, TCA_MAX);
	if (tb[TCA_KIND])
		snprintf(f->kind, sizeof(f->kind), "%s", mnl_attr_get_str(tb[TCA_KIND]));
	if (tb[TCA_OPTIONS] && !strcmp(f->kind, "bpf") &&
	    rtnl_parse_nested(tb[TCA_OPTIONS], opt, TCA_BPF_MAX) >= 0) {
		if (opt[TCA_BPF_ID])
			f->prog_id = mnl_attr_get_u32(opt[TCA_BPF_ID]);
		if (opt[TCA_BPF_NAME])
			snprintf(f->prog_name, sizeof(f->prog_name), "%.*s",
				 (int)strcspn(mnl_attr_get_str(opt[TCA_BPF_NAME]), ":"),
				 mnl_attr_get_str(opt[TCA_BPF_NAME]));
		f->has_tag =
		    opt[TCA_BPF_TAG] && mnl_attr_get_payload_len(opt[TCA_BPF_TAG]) == BPF_TAG_SIZE;
		if (f->has_tag)
			memcpy(f->tag, mnl_attr_get_payload(opt[TCA_BPF_TAG]), BPF_TAG_SIZE);
	}
	return MNL_CB_OK;
}

/* Every filter (and per-priority head) under @ifindex's clsact @point. 0 or a negative errno. */
static int tc_filters(int ifindex, enum bpf_tc_attach_point point, struct tc_filter_list *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct tcmsg *tcm;
	int err;

	l->nr = 0;
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	tcm = rtnl_request(buf, RTM_GETTFILTER, NLM_F_DUMP, 1, sizeof(*tcm), AF_UNSPEC);
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent =
	    TC_H_MAKE(TC_H_CLSACT, point == BPF_TC_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
	err = rtnl_exchange(nl, (struct nlmsghdr *)buf, filter_cb, l);
out:
	if (nl)
		mnl_socket_close(nl);
	return err;
}

static int tc_filter_count(int ifindex)
{
	struct tc_filter_list *l = malloc(sizeof(*l));
	int n = -ENOMEM;

	if (l && !tc_filters(ifindex, BPF_TC_INGRESS, l)) {
		n = l->nr;
		if (!tc_filters(ifindex, BPF_TC_EGRESS, l))
			n += l->nr;
		else
			n = -EIO;
	}
	free(l);
	return n;
}

void hook_release_clsact(int ifindex)
{
	struct bpf_tc_hook hook = {
	    .sz = sizeof(hook), .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS};
	int n = tc_filter_count(ifindex);

	/* Deleting the qdisc deletes every filter in it: only when none is left. */
	if (n == 0)
		bpf_tc_hook_destroy(&hook);
	else
		log_msg(LOG_DEBUG, "hooks: clsact qdisc on ifindex %d kept (%d filters of others)",
			ifindex, n);
}

void hook_detach(struct packet_hook *h)
{
	struct bpf_tc_hook hook = {
	    .sz = sizeof(hook), .ifindex = h->ifindex, .attach_point = h->point};
	struct bpf_xdp_attach_opts xopts = {.sz = sizeof(xopts), .old_prog_fd = h->prog_fd};
	struct bpf_tc_opts query = {
	    .sz = sizeof(query), .handle = h->handle, .priority = h->priority};
	struct bpf_tc_opts del = {.sz = sizeof(del), .handle = h->handle, .priority = h->priority};

	switch (h->kind) {
	case HOOK_NONE:
		return;
	case HOOK_LINK:
		close(h->link_fd);
		break;
	case HOOK_XDP_NETLINK:
		/* XDP_FLAGS_REPLACE: the kernel detaches only if our program is still there. */
		if (bpf_xdp_detach(h->ifindex, h->xdp_flags | XDP_FLAGS_REPLACE, &xopts))
			log_msg(
			    LOG_WARN,
			    "hooks: XDP on ifindex %d is no longer sipwatch's program: left alone",
			    h->ifindex);
		break;
	case HOOK_TC_FILTER:
		if (bpf_tc_query(&hook, &query) || query.prog_id != h->prog_id) {
			log_msg(
			    LOG_WARN,
			    "hooks: tc filter %u:%u on ifindex %d is no longer sipwatch's: left "
			    "alone",
			    h->priority, h->handle, h->ifindex);
			break;
		}
		bpf_tc_detach(&hook, &del);
		break;
	}
	h->kind = HOOK_NONE;
	h->link_fd = -1;
}

/* --- what an earlier sipwatch left ------------------------------------------------------------ */

struct our_prog {
	char name[BPF_OBJ_NAME_LEN];
	uint8_t tag[BPF_TAG_SIZE];
};

static struct our_prog ours[MAX_OUR_PROGS];
static int nr_ours;

/*
 * Whether another process (as far as /proc shows this one) holds program @id open, or a link to
 * it. This one is skipped: it holds the fd it inspects the program through.
 */
static bool prog_held(uint32_t id)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	char want[32], line[128], self[16];
	bool held = false;

	snprintf(self, sizeof(self), "%d", (int)getpid());
	snprintf(want, sizeof(want), "prog_id:\t%u\n", id);
	while (proc && !held && (p = readdir(proc))) {
		char path[600];
		DIR *fds;
		struct dirent *fd;

		if (p->d_name[0] < '1' || p->d_name[0] > '9' || !strcmp(p->d_name, self))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", p->d_name);
		fds = opendir(path);
		while (fds && !held && (fd = readdir(fds))) {
			FILE *f;

			if (fd->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", p->d_name, fd->d_name);
			f = fopen(path, "re");
			while (f && !held && fgets(line, sizeof(line), f))
				held = !strcmp(line, want);
			if (f)
				fclose(f);
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	return held;
}

/*
 * Program @id, named @name with @tag, is one of ours, attached by a sipwatch that is gone. Name and
 * tag come from the tc filter dump, or for XDP from the program itself (BPF_PROG_GET_FD_BY_ID:
 * that needs CAP_SYS_ADMIN, which the systemd unit does not grant; tc's dump needs nothing).
 */
static bool is_stale(uint32_t id, const char *name, const uint8_t *tag, const char *where)
{
	bool same_name = false, stale = false;

	for (int i = 0; i < nr_ours && !stale; i++) {
		if (strncmp(name, ours[i].name, BPF_OBJ_NAME_LEN))
			continue;
		same_name = true;
		stale = !memcmp(tag, ours[i].tag, BPF_TAG_SIZE);
	}
	if (same_name && !stale)
		log_msg(LOG_WARN,
			"hooks: %s holds a program named %s (id %u) whose tag is not this "
			"sipwatch's (another build or tool): left alone",
			where, name, id);
	if (stale && prog_held(id)) {
		log_msg(LOG_WARN,
			"hooks: %s holds sipwatch's program %s (id %u), still open in a running "
			"process (another sipwatch?): left alone",
			where, name, id);
		stale = false;
	}
	return stale;
}

static int remove_stale_xdp(int ifindex, const char *ifname)
{
	struct bpf_xdp_query_opts q = {.sz = sizeof(q)};
	static const __u32 modes[2] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE};
	__u32 ids[2];
	char where[64];
	int removed = 0;

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	ids[0] = q.drv_prog_id;
	ids[1] = q.skb_prog_id;
	snprintf(where, sizeof(where), "XDP on %s", ifname);
	for (int i = 0; i < 2; i++) {
		struct bpf_xdp_attach_opts o = {.sz = sizeof(o)};
		struct bpf_prog_info info;
		int fd;

		if (!ids[i])
			continue;
		/* The fd also makes the detach conditional on the program (XDP_FLAGS_REPLACE). */
		fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0) {
			log_msg(LOG_DEBUG, "hooks: XDP program %u on %s not inspected: %s", ids[i],
				ifname, strerror(errno));
			continue;
		}
		if (prog_info(fd, &info) || !is_stale(ids[i], info.name, info.tag, where)) {
			close(fd);
			continue;
		}
		o.old_prog_fd = fd;
		if (!bpf_xdp_detach(ifindex, modes[i] | XDP_FLAGS_REPLACE, &o)) {
			log_msg(LOG_WARN,
				"hooks: removed XDP program id %u from %s, left attached by an "
				"earlier sipwatch that did not stop cleanly",
				ids[i], ifname);
			removed++;
		}
		close(fd);
	}
	return removed;
}

static int remove_stale_tc(int ifindex, const char *ifname, struct tc_filter_list *l)
{
	static const enum bpf_tc_attach_point points[] = {BPF_TC_INGRESS, BPF_TC_EGRESS};
	char where[64];
	int removed = 0;

	for (int p = 0; p < 2; p++) {
		struct bpf_tc_hook hook = {
		    .sz = sizeof(hook), .ifindex = ifindex, .attach_point = points[p]};

		snprintf(where, sizeof(where), "tc %s on %s",
			 points[p] == BPF_TC_INGRESS ? "ingress" : "egress", ifname);
		if (tc_filters(ifindex, points[p], l))
			continue;
		for (int i = 0; i < l->nr; i++) {
			struct bpf_tc_opts del = {.sz = sizeof(del),
						  .handle = l->f[i].handle,
						  .priority = l->f[i].priority};

			if (!l->f[i].prog_id || !l->f[i].handle || !l->f[i].has_tag ||
			    !is_stale(l->f[i].prog_id, l->f[i].prog_name, l->f[i].tag, where))
				continue;
			if (bpf_tc_detach(&hook, &del))
				continue;
			log_msg(LOG_WARN,
				"hooks: removed tc filter %u:%u (program id %u) from %s, left "
				"attached by an earlier sipwatch that did not stop cleanly",
				l->f[i].priority, l->f[i].handle, l->f[i].prog_id, where);
			removed++;
		}
	}
	/* An earlier sipwatch made the clsact qdisc it left: gone with its last filter. */
	if (removed && tc_filter_count(ifindex) == 0) {
		hook_release_clsact(ifindex);
		log_msg(LOG_INFO,
			"hooks: removed the clsact qdisc of %s, empty once sipwatch's "
			"stale filters were gone",
			ifname);
	}
	return removed;
}

int hooks_remove_stale(struct bpf_program *const *progs, int nr_progs)
{
	struct if_nameindex *all = if_nameindex(), *n;
	struct tc_filter_list *l = malloc(sizeof(*l));
	int removed = 0;

	nr_ours = 0;
	for (int i = 0; i < nr_progs && nr_ours < MAX_OUR_PROGS; i++) {
		struct bpf_prog_info info;

		if (bpf_program__fd(progs[i]) < 0 || prog_info(bpf_program__fd(progs[i]), &info))
			continue;
		memcpy(ours[nr_ours].name, info.name, sizeof(ours[nr_ours].name));
		memcpy(ours[nr_ours].tag, info.tag, sizeof(ours[nr_ours].tag));
		nr_ours++;
	}
	for (n = all; n && n->if_index && l && nr_ours; n++) {
		removed += remove_stale_xdp((int)n->if_index, n->if_name);
		removed += remove_stale_tc((int)n->if_index, n->if_name, l);
	}
	free(l);
	if (all)
		if_freenameindex(all);
	return removed;
}
