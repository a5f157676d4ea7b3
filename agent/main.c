// SPDX-License-Identifier: GPL-2.0-only
/*
 * sipwatch: parse flags, bind the HTTP listener, start every concern, serve until SIGINT/SIGTERM,
 * detach everything. SIGHUP is logged and ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "doctor.h"
#include "incident.h"
#include "log.h"
#include "options.h"
#include "probes.h"
#include "routes.h"

/* After each concern's start(): its routes are served whatever it returned. */
static void concern_started(struct agent *ag, const struct concern *c, int err)
{
	routes_add_concern(ag, c);
	if (err)
		log_msg(LOG_WARN, "%s: not started: %s", c->name,
			err < 0 ? strerror(-err) : "see above");
}

static const char *why_nothing_attached(void)
{
	if (geteuid() != 0)
		return "sipwatch needs root, or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN";
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "this kernel has no BTF (/sys/kernel/btf/vmlinux); CONFIG_DEBUG_INFO_BTF=y "
		       "is required";
	return "see the probe lines above for each hook's reason";
}

int main(int argc, char **argv)
{
	struct agent ag = {.epfd = -1};
	int status = 0;

	if (argc > 1 && !strcmp(argv[1], "doctor"))
		return doctor_main(argc - 1, argv + 1);
	switch (options_parse(&ag.cfg, argc, argv)) {
	case OPTIONS_EXIT_OK:
		return 0;
	case OPTIONS_EXIT_USAGE:
		return 2;
	case OPTIONS_RUN:
		break;
	}
	/* Before anything is attached: a signal during start-up waits for the loop (a clean stop).
	 */
	agent_block_signals(NULL);
	log_setup(ag.cfg.log_level, ag.cfg.log_format);
	/* Incident lines are kept for GET /incidents and the status page. */
	log_set_incident_sink(incident_record);
	log_route_libbpf();
	log_msg(LOG_INFO, "sipwatch %s starting", SIPWATCH_VERSION);
	/* tp_btf and raw_tp attach by BTF id and nothing is pinned: tracefs and bpffs are not
	 * needed. */
	log_msg(LOG_DEBUG,
		"tracefs and bpffs not required: hooks attach through BTF, nothing is pinned");

	if (agent_init(&ag)) {
		status = 1;
		goto out;
	}
	/* The listener (and its TLS material) first: a taken port or a bad certificate ends the
	 * start before any hook is attached or any interface touched. */
	if (routes_http_start(&ag)) {
		status = 1;
		goto out;
	}
	agent_start_concerns(&ag, concern_started);
	if (probes_attached_count() == 0) {
		log_msg(LOG_ERROR, "no kernel hook could be attached: %s", why_nothing_attached());
		status = 1;
		goto out;
	}
	log_msg(LOG_INFO, "sipwatch ready: %d probes attached", probes_attached_count());
	if (agent_run(&ag))
		status = 1;
out:
	agent_fini(&ag);
	log_set_incident_sink(NULL);
	incidents_clear();
	log_msg(LOG_INFO, "sipwatch stopped");
	return status;
}
