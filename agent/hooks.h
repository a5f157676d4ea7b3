/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet hooks (XDP, tc ingress/egress) that cannot outlive sipwatch and never touch another
 * tool's hooks.
 *
 * Where the kernel has a BPF link for the hook (XDP links, 5.9+; tcx links, 6.6+), the hook is a
 * link: the kernel detaches it when its last fd closes, so SIGKILL, OOM or a crash leaves nothing.
 * Whether it has one is found by trying (BPF_LINK_CREATE), never from the kernel version. Where it
 * has not, the hook is a netlink XDP program or a tc filter in a clsact qdisc: those are detached
 * only while they still hold sipwatch's program (by program id), and the next start removes the
 * ones an earlier sipwatch left (hooks_remove_stale).
 */
#ifndef SIPWATCH_HOOKS_H
#define SIPWATCH_HOOKS_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stdint.h>

enum hook_kind { HOOK_NONE, HOOK_LINK, HOOK_XDP_NETLINK, HOOK_TC_FILTER };

struct packet_hook {
	enum hook_kind kind;
	int ifindex;
	int link_fd;	  /* HOOK_LINK */
	int prog_fd;	  /* the attached program (not owned) */
	uint32_t prog_id; /* the attached program's id */
	uint32_t xdp_flags;
	enum bpf_tc_attach_point point;
	uint32_t handle, priority; /* HOOK_TC_FILTER */
	bool created_clsact;	   /* HOOK_TC_FILTER: this hook's attach created the qdisc */
	const char *how;	   /* "tcx link", "tc filter", "XDP link (generic)", ... */
};

/* Links only (a trial start: nothing may survive the process), or links and legacy hooks. */
void hooks_allow_legacy(bool allow);

/* XDP in driver (@native) or generic mode. 0 or a negative errno (-EBUSY: another program). */
int hook_attach_xdp(struct packet_hook *h, int ifindex, int prog_fd, bool native);

/* tc ingress or egress: a tcx link, else (kernel without tcx) a tc filter. 0 or -errno. */
int hook_attach_tc(struct packet_hook *h, int ifindex, int prog_fd, enum bpf_tc_attach_point point);

/* Detach @h if it is still sipwatch's; a no-op for HOOK_NONE. */
void hook_detach(struct packet_hook *h);

/* Remove the clsact qdisc of @ifindex when it has no filter left (call when a hook created it). */
void hook_release_clsact(int ifindex);

/*
 * On every interface of this network namespace, remove the XDP programs and tc filters an earlier
 * sipwatch left attached: same program name and tag as one of @progs (loaded, not yet attached),
 * and no process holds the program open. Each removal is logged. Returns how many were removed.
 */
int hooks_remove_stale(struct bpf_program *const *progs, int nr_progs);

#endif
