// SPDX-License-Identifier: GPL-2.0-only
#include "probes.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kfacts.h"
#include "log.h"
#include "metrics.h"

#define MAX_TRACKED 128

struct tracked_prog {
	char name[64];
	int fd;
};

static struct metric_family *probe_up, *run_seconds, *runs;
static struct bpf_link *links[MAX_TRACKED];
static int nr_links;
static struct tracked_prog progs[MAX_TRACKED];
static int nr_progs;
static int stats_fd = -1; /* held open while --bpf.stats keeps run-time statistics on */

void probes_init(struct metrics *reg, bool bpf_stats)
{
	probe_up = metrics_gauge(
	    reg, "sipwatch_probe_up",
	    "1 if the kernel hook is attached, 0 if it could not be (reason in the log).",
	    LABELS("probe"));
	run_seconds = metrics_counter(reg, "sipwatch_bpf_program_run_seconds_total",
				      "Time the kernel spent running each sipwatch BPF program "
				      "(only while kernel.bpf_stats_enabled is 1).",
				      LABELS("program"));
	runs = metrics_counter(
	    reg, "sipwatch_bpf_program_runs_total",
	    "Runs of each sipwatch BPF program (only while kernel.bpf_stats_enabled is 1).",
	    LABELS("program"));
	if (bpf_stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			log_msg(LOG_WARN, "--bpf.stats: cannot enable BPF run-time statistics: %s",
				strerror(errno));
		else
			log_msg(LOG_INFO, "BPF run-time statistics enabled while sipwatch runs");
	}
}

void probe_report(const char *probe, bool up, const char *reason)
{
	struct log_line l;

	metric_set(probe_up, LABELS(probe), up ? 1 : 0);
	if (log_begin(&l, up ? LOG_DEBUG : LOG_WARN,
		      up ? "probe attached" : "probe not attached")) {
		log_str(&l, "probe", probe);
		if (!up)
			log_str(&l, "reason", reason ? reason : "unknown");
		log_end(&l);
	}
}

bool probe_is_up(const char *probe)
{
	return metric_value(probe_up, LABELS(probe)) == 1;
}

const char *probe_name(const struct bpf_program *prog, char *buf, size_t len)
{
	const char *name = bpf_program__name(prog);
	const char *variant = strstr(name, "___");

	snprintf(buf, len, "%.*s", variant ? (int)(variant - name) : (int)strlen(name), name);
	return buf;
}

/* tp_btf/<name>, raw_tp/<name>, tracepoint/<cat>/<name>: the tracepoint a program hooks, if any. */
const char *probe_tracepoint(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *slash;

	if (!strncmp(sec, "tp_btf/", 7))
		return sec + 7;
	if (!strncmp(sec, "raw_tp/", 7))
		return sec + 7;
	if (!strncmp(sec, "tracepoint/", 11) && (slash = strchr(sec + 11, '/')))
		return slash + 1;
	return NULL;
}

void probes_object_failed(struct bpf_object *obj, int err)
{
	struct bpf_program *prog;
	char reason[160];

	snprintf(reason, sizeof(reason), "BPF object %s failed to load: %s", bpf_object__name(obj),
		 strerror(-err));
	bpf_object__for_each_program (prog, obj) {
		char name[64];

		if (bpf_program__autoload(prog))
			probe_report(probe_name(prog, name, sizeof(name)), false, reason);
	}
}

void probes_track_program(const struct bpf_program *prog)
{
	if (nr_progs == MAX_TRACKED)
		return;
	probe_name(prog, progs[nr_progs].name, sizeof(progs[nr_progs].name));
	progs[nr_progs].fd = bpf_program__fd(prog);
	nr_progs++;
}

static bool attaches_by_itself(const struct bpf_program *prog)
{
	switch (bpf_program__type(prog)) {
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
	case BPF_PROG_TYPE_TRACEPOINT:
		return true;
	default:
		return false;
	}
}

int probes_attach_object(struct bpf_object *obj)
{
	struct bpf_program *prog;
	int attached = 0;

	bpf_object__for_each_program (prog, obj) {
		struct bpf_link *link;
		char reason[160], name[64];

		if (!bpf_program__autoload(prog) || !attaches_by_itself(prog))
			continue;
		probe_name(prog, name, sizeof(name));
		if (nr_links == MAX_TRACKED) {
			probe_report(name, false, "too many probes");
			continue;
		}
		link = bpf_program__attach(prog);
		if (!link) {
			snprintf(reason, sizeof(reason), "attach failed: %s", strerror(errno));
			probe_report(name, false, reason);
			continue;
		}
		links[nr_links++] = link;
		probes_track_program(prog);
		probe_report(name, true, NULL);
		attached++;
	}
	return attached;
}

int probes_attached_count(void)
{
	return nr_links;
}

static bool stats_enabled(void)
{
	uint64_t on;

	if (stats_fd >= 0)
		return true;
	return !kfacts_sysctl_u64("/proc/sys/kernel/bpf_stats_enabled", &on) && on == 1;
}

void probes_collect(void)
{
	if (!stats_enabled())
		return;
	for (int i = 0; i < nr_progs; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(progs[i].fd, &info, &len))
			continue;
		metric_set(run_seconds, LABELS(progs[i].name), (double)info.run_time_ns / 1e9);
		metric_set(runs, LABELS(progs[i].name), (double)info.run_cnt);
	}
}

void probes_detach_all(void)
{
	for (int i = 0; i < nr_links; i++)
		bpf_link__destroy(links[i]);
	nr_links = 0;
	nr_progs = 0;
	if (stats_fd >= 0)
		close(stats_fd);
	stats_fd = -1;
}
