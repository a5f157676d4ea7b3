// SPDX-License-Identifier: GPL-2.0-only
#include "tcp_policy.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "decode.h"
#include "log.h"
#include "mapwalk.h"
#include "probes.h"
#include "tcp.h"
#include "tcp_policy.skel.h"

#define POLICY_PROBE "keepalive_policy"

static struct tcp_policy_bpf *skel;
static struct bpf_link *sockops_link;
static struct metric_family *applied;

static bool policy_requested(const struct config *c)
{
	return c->tcp_keepalive_idle || c->tcp_user_timeout_ms;
}

/* Open, configure and load; @with_existing: include the iter/tcp program (5.15+). */
static int load(struct agent *ag, bool with_existing)
{
	skel = tcp_policy_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->cfg = ag->bpf_cfg;
	/*
	 * --netns.all observes every namespace; changing other namespaces' sockets (containers'
	 * too) is a separate decision: --tcp.policy-all-netns.
	 */
	skel->rodata->cfg.all_netns = ag->cfg.tcp_policy_all_netns;
	skel->rodata->policy.keepalive_idle_s = ag->cfg.tcp_keepalive_idle;
	skel->rodata->policy.keepalive_intvl_s = ag->cfg.tcp_keepalive_intvl;
	skel->rodata->policy.keepalive_probes = ag->cfg.tcp_keepalive_probes;
	skel->rodata->policy.user_timeout_ms = ag->cfg.tcp_user_timeout_ms;
	if (!with_existing)
		bpf_program__set_autoload(skel->progs.tcp_policy_existing, false);
	return agent_load_skeleton(ag, skel->skeleton, NULL, NULL, NULL);
}

static void log_settings(struct log_line *l, const char *prefix,
			 const struct tcp_keepalive_settings *ka)
{
	char key[48];
	unsigned hz = tcp_kernel_hz();

	snprintf(key, sizeof(key), "%s_keepalive", prefix);
	log_str(l, key, ka->enabled ? "on" : "off");
	if (hz) {
		snprintf(key, sizeof(key), "%s_idle_seconds", prefix);
		log_double(l, key, (double)ka->idle_jiffies / hz);
		snprintf(key, sizeof(key), "%s_interval_seconds", prefix);
		log_double(l, key, (double)ka->intvl_jiffies / hz);
	}
	snprintf(key, sizeof(key), "%s_probes", prefix);
	log_uint(l, key, ka->probes);
	snprintf(key, sizeof(key), "%s_user_timeout_ms", prefix);
	log_uint(l, key, ka->user_timeout_ms);
}

/* Apply the policy to the connections that exist now, logging each change. */
static void apply_to_existing(void)
{
	struct tcp_policy_record rec;
	struct bpf_link *link;
	unsigned changed = 0, refused = 0;
	int fd;

	if (!bpf_program__autoload(skel->progs.tcp_policy_existing) ||
	    !probe_is_up(bpf_program__name(skel->progs.tcp_policy_existing)))
		return;
	link = bpf_program__attach_iter(skel->progs.tcp_policy_existing, NULL);
	fd = link ? bpf_iter_create(bpf_link__fd(link)) : -1;
	if (fd < 0) {
		log_msg(LOG_WARN, "keepalive policy: cannot scan existing connections: %s",
			strerror(errno));
		bpf_link__destroy(link);
		return;
	}
	/* Records are small and bpf_seq_write never splits one across reads. */
	while (read(fd, &rec, sizeof(rec)) == sizeof(rec)) {
		char local[64], remote[64];
		struct log_line l;

		decode_endpoint(local, sizeof(local), rec.ep.family, rec.ep.local_addr,
				rec.ep.local_port);
		decode_endpoint(remote, sizeof(remote), rec.ep.family, rec.ep.remote_addr,
				rec.ep.remote_port);
		rec.err ? refused++ : changed++;
		if (!log_begin(&l, rec.err ? LOG_WARN : LOG_INFO,
			       rec.err ? "keepalive policy refused on an existing connection"
				       : "keepalive policy applied to an existing connection"))
			continue;
		log_str(&l, "local", local);
		log_str(&l, "remote", remote);
		log_settings(&l, "before", &rec.before);
		if (rec.err)
			log_str(&l, "error", strerror(-rec.err));
		log_end(&l);
	}
	close(fd);
	bpf_link__destroy(link);
	log_msg(LOG_INFO, "keepalive policy: %u existing SIP connections changed, %u refused",
		changed, refused);
}

static int attach_sockops(void)
{
	char where[256] = "", reason[320];
	int cg_fd = cgroup2_root_open(where, sizeof(where));

	if (cg_fd < 0) {
		snprintf(reason, sizeof(reason), "no cgroup v2 root: %s", strerror(-cg_fd));
		probe_report(POLICY_PROBE, false, reason);
		return cg_fd;
	}
	sockops_link = bpf_program__attach_cgroup(skel->progs.tcp_keepalive_policy, cg_fd);
	close(cg_fd);
	if (!sockops_link) {
		snprintf(reason, sizeof(reason), "sockops attach to %s failed: %s", where,
			 strerror(errno));
		probe_report(POLICY_PROBE, false, reason);
		return -errno;
	}
	probes_track_program(skel->progs.tcp_keepalive_policy);
	probe_report(POLICY_PROBE, true, NULL);
	return 0;
}

static int tcp_policy_start(struct agent *ag)
{
	const struct config *c = &ag->cfg;
	struct log_line l;
	int err;

	if (!policy_requested(c))
		return 0;
	applied = metrics_counter(ag->reg, "sipwatch_tcp_keepalive_policy_applied_total",
				  "SIP TCP connections the keepalive policy was applied to "
				  "(connections: new at establishment, existing at start-up).",
				  LABELS("port", "connections"));
	err = load(ag, true);
	if (err < 0) {
		/* Before ≈5.15 bpf_setsockopt is refused in iter/tcp: new connections only. */
		log_msg(LOG_WARN,
			"keepalive policy: existing connections cannot be changed on "
			"this kernel (bpf_setsockopt in iter/tcp needs 5.15+); new ones only");
		tcp_policy_bpf__destroy(skel);
		err = load(ag, false);
	}
	if (err < 0) {
		probe_report(POLICY_PROBE, false, "BPF object tcp_policy failed to load");
		tcp_policy_bpf__destroy(skel);
		skel = NULL;
		return err;
	}
	/* New connections first, then the existing ones: none slips through in between. */
	err = attach_sockops();
	if (err)
		return err;
	if (log_begin(&l, LOG_INFO, "keepalive policy active on SIP TCP connections")) {
		if (c->tcp_keepalive_idle) {
			log_uint(&l, "idle_seconds", c->tcp_keepalive_idle);
			log_uint(&l, "interval_seconds", c->tcp_keepalive_intvl);
			log_uint(&l, "probes", c->tcp_keepalive_probes);
		}
		log_uint(&l, "user_timeout_ms", c->tcp_user_timeout_ms);
		log_end(&l);
	}
	apply_to_existing();
	return 0;
}

static bool set_applied(const void *k, const void *count, void *ctx)
{
	const struct tcp_port_key *key = k;
	char port[8];

	snprintf(port, sizeof(port), "%u", key->port);
	/* Refusals (key.pad) are not exported: the kernel accepts every value the flags
	 * allow, so no test could make one; refused existing connections are logged. */
	if (!key->pad)
		metric_set(applied, LABELS(port, key->cause ? "existing" : "new"),
			   (double)*(const __u64 *)count);
	return true;
}

static int tcp_policy_collect(struct agent *ag)
{
	if (!skel)
		return 0; /* no policy, or start said why it is not applied */
	return map_walk_status(map_for_each(bpf_map__fd(skel->maps.policy_applied),
					    sizeof(struct tcp_port_key), sizeof(__u64), set_applied,
					    NULL));
}

static void tcp_policy_stop(struct agent *ag)
{
	/* Detach from the root cgroup; the connections keep what was set on them. */
	bpf_link__destroy(sockops_link);
	sockops_link = NULL;
	tcp_policy_bpf__destroy(skel);
	skel = NULL;
}

const struct concern tcp_policy_concern = {
    .name = "tcp_policy",
    .start = tcp_policy_start,
    .collect = tcp_policy_collect,
    .stop = tcp_policy_stop,
};
