// SPDX-License-Identifier: GPL-2.0-only
/* The send-path concern's lifecycle: the timing programs (the best rung this kernel allows), the
 * send-call metrics, the sweep of dead threads' calls. Sockets and stalls: sendq_priv.h. */
#include "sendq.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mapwalk.h"
#include "probes.h"
#include "sendq.skel.h"
#include "sendq_priv.h"

static const char *const error_names[SENDQ_NR_ERRORS] = {
    [SENDQ_ERR_EAGAIN] = "eagain",
    [SENDQ_ERR_ENOBUFS] = "enobufs",
    [SENDQ_ERR_EHOSTUNREACH] = "ehostunreach",
    [SENDQ_ERR_ENETUNREACH] = "enetunreach",
    [SENDQ_ERR_ECONNREFUSED] = "econnrefused",
    [SENDQ_ERR_EPERM] = "eperm",
    [SENDQ_ERR_OTHER] = "other",
};

struct agent *sendq_agent;
static struct sendq_bpf *skel;
static struct metric_family *blocked, *stalls, *errors;
static double bucket_bounds_s[SENDQ_NR_BOUNDS];

const char *sendq_error_name(int error)
{
	if (error < 0 || error >= SENDQ_NR_ERRORS)
		return "other";
	return error_names[error];
}

const char *sendq_proto_name(uint8_t proto)
{
	return proto == SENDQ_PROTO_TCP ? "tcp" : "udp";
}

/* The iterators are BTF types of their context; kernels before 5.9 have neither. */
static void prepare_iterator(struct agent *ag, struct bpf_program *prog, const char *ctx_type)
{
	char reason[128];

	if (ag->vmlinux_btf &&
	    btf__find_by_name_kind(ag->vmlinux_btf, ctx_type, BTF_KIND_STRUCT) > 0)
		return;
	bpf_program__set_autoload(prog, false);
	snprintf(reason, sizeof(reason), "this kernel has no %s (BPF socket iterators)", ctx_type);
	probe_report(bpf_program__name(prog), false, reason);
}

static void register_metrics(struct agent *ag)
{
	static const uint64_t bounds_us[SENDQ_NR_BOUNDS] = SENDQ_BUCKET_BOUNDS_US;

	for (int i = 0; i < SENDQ_NR_BOUNDS; i++)
		bucket_bounds_s[i] = (double)bounds_us[i] / 1e6;
	blocked = metrics_histogram(
	    ag->reg, "sipwatch_send_blocked_seconds",
	    "Time each send on a SIP socket was blocked (sendmmsg: each message). With "
	    "--stall.hook=fentry the whole time in the kernel's inet send; with tracepoint the "
	    "time "
	    "the sender slept inside the send, waiting for send-buffer space (0 if it never "
	    "slept); "
	    "with syscalls the whole system call.",
	    LABELS("proto", "port"), bucket_bounds_s, SENDQ_NR_BOUNDS);
	stalls = metrics_counter(ag->reg, "sipwatch_send_stalls_total",
				 "Send calls on SIP sockets that took at least --stall.threshold.",
				 LABELS("proto", "port"));
	errors = metrics_counter(ag->reg, "sipwatch_send_errors_total",
				 "Send calls on SIP sockets that failed, by error.",
				 LABELS("proto", "port", "error"));
}

/* The programs of each way of timing sends (bpf/sendq.bpf.c); the rest of the object always loads.
 */
static void rung_programs(struct sendq_bpf *obj, int rung, bool direct, struct bpf_program **out,
			  int *n)
{
	*n = 0;
	switch (rung) {
	case SENDQ_RUNG_FENTRY:
		out[(*n)++] = obj->progs.sendq_fentry_inet_sendmsg;
		out[(*n)++] = obj->progs.sendq_fexit_inet_sendmsg;
		out[(*n)++] = obj->progs.sendq_fentry_inet6_sendmsg;
		out[(*n)++] = obj->progs.sendq_fexit_inet6_sendmsg;
		break;
	case SENDQ_RUNG_TRACEPOINT:
		out[(*n)++] = obj->progs.sendq_sock_send_length;
		out[(*n)++] = obj->progs.sendq_sched_switch;
		break;
	case SENDQ_RUNG_SYSCALLS:
		out[(*n)++] =
		    direct ? obj->progs.sendq_sys_enter : obj->progs.sendq_sys_enter___probe_read;
		out[(*n)++] = obj->progs.sendq_sys_exit;
		break;
	}
}

#define MAX_RUNG_PROGS 4

static bool is_rung_program(const struct bpf_program *prog, struct bpf_program **rung_progs, int n)
{
	for (int i = 0; i < n; i++)
		if (rung_progs[i] == prog)
			return true;
	return false;
}

/* Load the programs of @rung (and the socket iterators if @iterators), no other. */
static void load_only(struct sendq_bpf *obj, int rung, bool direct, bool iterators)
{
	struct bpf_program *wanted[MAX_RUNG_PROGS], *prog;
	int n;

	rung_programs(obj, rung, direct, wanted, &n);
	bpf_object__for_each_program (prog, obj->obj) {
		bool iterator =
		    prog == obj->progs.sendq_iter_udp || prog == obj->progs.sendq_iter_tcp;

		bpf_program__set_autoload(prog,
					  iterator ? iterators : is_rung_program(prog, wanted, n));
	}
}

static void set_rodata(struct sendq_bpf *obj, const struct agent *ag)
{
	obj->rodata->cfg = ag->bpf_cfg;
	obj->rodata->stall_threshold_ns = ag->cfg.stall_threshold_ns;
	obj->rodata->nr.write = SYS_write;
	obj->rodata->nr.writev = SYS_writev;
	obj->rodata->nr.sendto = SYS_sendto;
	obj->rodata->nr.sendmsg = SYS_sendmsg;
	obj->rodata->nr.sendmmsg = SYS_sendmmsg;
}

/*
 * Open and load the object with the programs of @rung (SENDQ_RUNG_AUTO: none, the iterators only).
 * For the syscalls rung @direct picks the sys_enter that walks fd -> socket with direct loads
 * (bpf_rdonly_cast) over the probe-read one.
 */
static int load(struct agent *ag, int rung, bool direct, struct bpf_program *iters[2])
{
	static const char *const iter_ctx[2] = {"bpf_iter__udp", "bpf_iter__tcp"};

	skel = sendq_bpf__open();
	if (!skel)
		return -errno;
	set_rodata(skel, ag);
	iters[0] = skel->progs.sendq_iter_udp;
	iters[1] = skel->progs.sendq_iter_tcp;
	load_only(skel, rung, direct, true);
	for (int i = 0; i < 2; i++)
		prepare_iterator(ag, iters[i], iter_ctx[i]);
	return agent_load_skeleton(ag, skel->skeleton, sendq_on_event, NULL,
				   &skel->bss->events_dropped);
}

/*
 * Why @rung cannot time sends on this kernel (written to @why), or NULL if it can. Asked of the
 * running kernel (BTF, and a trial attach for fentry), never of its version.
 */
static const char *rung_unavailable(struct agent *ag, int rung, char *why, size_t len)
{
	static const char *const fentry_funcs[] = {"inet_sendmsg", "inet6_sendmsg"};
	static const char *const tracepoints[SENDQ_NR_RUNGS][2] = {
	    [SENDQ_RUNG_TRACEPOINT] = {"sock_send_length", "sched_switch"},
	    [SENDQ_RUNG_SYSCALLS] = {"sys_enter", "sys_exit"},
	};
	struct bpf_program *progs[MAX_RUNG_PROGS];
	struct sendq_bpf *names = sendq_bpf__open(); /* the programs' names are the probes' */
	bool disabled = false;
	char name[64];
	int n;

	if (!names) {
		snprintf(why, len, "cannot open the BPF object: %s", strerror(errno));
		return why;
	}
	rung_programs(names, rung, true, progs, &n);
	for (int i = 0; i < n && !disabled; i++)
		disabled =
		    config_probe_disabled(&ag->cfg, probe_name(progs[i], name, sizeof(name)));
	sendq_bpf__destroy(names);
	if (disabled) {
		snprintf(why, len, "%s is disabled by --probe.disable", name);
		return why;
	}
	if (rung == SENDQ_RUNG_FENTRY) {
		for (size_t i = 0; i < 2; i++) {
			int err = kernel_can_attach_fentry(ag, fentry_funcs[i]);

			if (err) {
				snprintf(why, len, "the kernel refuses fentry on %s: %s",
					 fentry_funcs[i], strerror(-err));
				return why;
			}
		}
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (!kernel_has_tracepoint(ag, tracepoints[rung][i])) {
			snprintf(why, len, "this kernel has no tracepoint %s",
				 tracepoints[rung][i]);
			return why;
		}
	}
	if (rung == SENDQ_RUNG_TRACEPOINT && !kernel_has_function(ag, "bpf_rdonly_cast")) {
		snprintf(why, len, "this kernel has no bpf_rdonly_cast kfunc (fd -> socket walk)");
		return why;
	}
	return NULL;
}

/*
 * Load @rung's programs alone and attach them for a moment: a rung is chosen only if all of them
 * load and attach, before anything (ring buffer, probes) is registered for the real object.
 * NULL, or why not (in @why).
 */
static const char *rung_trial(struct agent *ag, int rung, bool direct, char *why, size_t len)
{
	struct bpf_program *progs[MAX_RUNG_PROGS];
	struct bpf_link *links[MAX_RUNG_PROGS] = {};
	struct sendq_bpf *trial = sendq_bpf__open();
	const char *no = NULL;
	int n, err;

	if (!trial) {
		snprintf(why, len, "cannot open the BPF object: %s", strerror(errno));
		return why;
	}
	set_rodata(trial, ag);
	rung_programs(trial, rung, direct, progs, &n);
	load_only(trial, rung, direct, false);
	err = sendq_bpf__load(trial);
	if (err) {
		snprintf(why, len, "the programs do not load: %s", strerror(-err));
		no = why;
	}
	for (int i = 0; !no && i < n; i++) {
		links[i] = bpf_program__attach(progs[i]);
		if (!links[i]) {
			snprintf(why, len, "%s does not attach: %s", bpf_program__name(progs[i]),
				 strerror(errno));
			no = why;
		}
	}
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	sendq_bpf__destroy(trial);
	return no;
}

/*
 * Load the object with @rung's programs, once a trial of them alone went through. The syscalls
 * rung tries the direct-load walk first (@direct), and the probe-read one on a kernel that lists
 * the kfunc but refuses the program. NULL, or why not (in @why).
 */
static const char *load_rung(struct agent *ag, int rung, bool *direct, struct bpf_program *iters[2],
			     char *why, size_t len)
{
	const char *no = rung_trial(ag, rung, *direct, why, len);
	int err;

	if (no && rung == SENDQ_RUNG_SYSCALLS && *direct) {
		*direct = false;
		no = rung_trial(ag, rung, false, why, len);
	}
	if (no)
		return no;
	/* a failed object load registers nothing: safe to destroy and go on */
	err = load(ag, rung, *direct, iters);
	if (err < 0) {
		sendq_bpf__destroy(skel);
		skel = NULL;
		snprintf(why, len, "%s", strerror(-err));
		return why;
	}
	return NULL;
}

static bool rung_attached(int rung, bool direct)
{
	struct bpf_program *progs[MAX_RUNG_PROGS];
	char name[64];
	int n;

	rung_programs(skel, rung, direct, progs, &n);
	for (int i = 0; i < n; i++)
		if (!probe_is_up(probe_name(progs[i], name, sizeof(name))))
			return false;
	return true;
}

/*
 * Load the object with the best way of timing sends this kernel allows (see bpf/sendq.bpf.c):
 * --stall.hook's rung, or for auto fentry then tracepoint. The rung in use is reported as probe
 * "send_timing:<rung>"; with none, probe "send_timing" is 0 and the iterators load alone.
 */
static int load_best_rung(struct agent *ag, struct bpf_program *iters[2])
{
	int ladder[2] = {ag->cfg.stall_hook, -1}, err;
	bool direct = kernel_has_function(ag, "bpf_rdonly_cast");
	char why[200], probe[48], reasons[400] = "";

	if (ag->cfg.stall_hook == SENDQ_RUNG_AUTO) {
		ladder[0] = SENDQ_RUNG_FENTRY;
		ladder[1] = SENDQ_RUNG_TRACEPOINT;
	}
	if (config_probe_disabled(&ag->cfg, "send_timing")) {
		ladder[0] = ladder[1] = -1;
		snprintf(reasons, sizeof(reasons), "disabled by --probe.disable");
	}
	for (int i = 0; i < 2 && ladder[i] >= 0; i++) {
		int rung = ladder[i];
		const char *no = rung_unavailable(ag, rung, why, sizeof(why));

		if (!no)
			no = load_rung(ag, rung, &direct, iters, why, sizeof(why));
		if (!no) {
			/* a program that attached in the trial and not now reports itself down */
			snprintf(probe, sizeof(probe), "send_timing:%s", stall_hook_name(rung));
			probe_report(probe, rung_attached(rung, direct),
				     "a program of this rung did not attach");
			log_msg(LOG_INFO,
				"sendq: send calls on SIP sockets are timed with the %s hooks%s",
				stall_hook_name(rung),
				rung != SENDQ_RUNG_SYSCALLS ? ""
				: direct		    ? " (fd -> socket by direct loads)"
							    : " (fd -> socket by probe reads)");
			return 0;
		}
		log_msg(LOG_INFO, "sendq: cannot time sends with the %s hooks: %s",
			stall_hook_name(rung), no);
		snprintf(reasons + strlen(reasons), sizeof(reasons) - strlen(reasons), "%s%s: %s",
			 reasons[0] ? "; " : "", stall_hook_name(rung), no);
	}
	probe_report("send_timing", false, reasons);
	err = load(ag, SENDQ_RUNG_AUTO, direct, iters);
	return err < 0 ? err : 0;
}

static int sendq_start(struct agent *ag)
{
	struct bpf_program *iters[2];
	int err;

	sendq_agent = ag;
	register_metrics(ag);
	sendq_sockets_register(ag);
	err = load_best_rung(ag, iters);
	if (err < 0)
		return err;
	sendq_sockets_attach(iters);
	sendq_sockets_sample(ag);
	return 0;
}

/* Summing per-CPU copies word by word is right only while every field is a __u64 counter. */
_Static_assert(sizeof(struct sendq_stats) ==
		   sizeof(__u64) * (SENDQ_NR_BUCKETS + 2 + SENDQ_NR_ERRORS),
	       "struct sendq_stats: __u64 counters only");

/* One slot of sendq_stats (SIP port index * 2 + TCP), summed over CPUs. */
static bool set_slot_stats(const void *key, const void *value, void *ctx)
{
	const struct agent *ag = ctx;
	uint32_t slot = *(const uint32_t *)key;
	const struct sendq_stats *st = value;
	const char *proto = slot % 2 ? "tcp" : "udp";
	uint64_t calls = 0;
	char port[8];

	if (slot >= (uint32_t)ag->cfg.nr_sip_ports * 2)
		return false; /* the array's keys come in order: no configured port beyond */
	for (int b = 0; b < SENDQ_NR_BUCKETS; b++)
		calls += st->buckets[b];
	if (!calls)
		return true; /* no series for a port and protocol nothing was sent on */
	snprintf(port, sizeof(port), "%u", ag->cfg.sip_ports[slot / 2]);
	metric_histogram_set(blocked, LABELS(proto, port), (const uint64_t *)st->buckets,
			     (double)st->sum_ns / 1e9);
	metric_set(stalls, LABELS(proto, port), (double)st->stalls);
	for (int e = 0; e < SENDQ_NR_ERRORS; e++)
		metric_set(errors, LABELS(proto, port, sendq_error_name(e)), (double)st->errors[e]);
	return true;
}

static int sendq_collect(struct agent *ag)
{
	int err, err2;

	if (!skel)
		return 0; /* start failed and said why: nothing to read */
	err = map_walk_status(map_for_each_percpu_sum(bpf_map__fd(skel->maps.sendq_stats),
						      sizeof(uint32_t), sizeof(struct sendq_stats),
						      set_slot_stats, ag));
	err2 = sendq_sockets_sample(ag);
	return err ? err : err2;
}

#define MAX_SWEPT 256

struct dead_calls {
	uint32_t tid[MAX_SWEPT];
	bool asleep[MAX_SWEPT];
	int n;
};

static bool note_dead_thread(const void *key, const void *value, void *ctx)
{
	struct dead_calls *d = ctx;
	const struct sendq_call *call = value;
	uint32_t tid = *(const uint32_t *)key;

	if (d->n == MAX_SWEPT)
		return false;
	/* thread ids are those of the initial PID namespace, as the agent's own */
	if (kill((pid_t)tid, 0) == 0 || errno != ESRCH)
		return true;
	d->tid[d->n] = tid;
	d->asleep[d->n] = call->asleep_ns != 0;
	d->n++;
	return true;
}

/*
 * Entries of sendq_calls whose thread no longer exists (it died inside a send on a SIP socket, or
 * its send slept before reaching the socket, failed, and the thread then exited) are removed, and
 * the counters the hooks skip their lookups by are lowered with them: without this a leaked
 * "asleep" entry would cost every context switch of the host a hash lookup for good.
 */
static int sweep_calls(void)
{
	int fd = bpf_map__fd(skel->maps.sendq_calls), err;
	struct dead_calls d = {.n = 0};

	/* the dead threads found before an error are still removed */
	err = map_walk_status(
	    map_for_each(fd, sizeof(uint32_t), sizeof(struct sendq_call), note_dead_thread, &d));
	for (int i = 0; i < d.n; i++) {
		if (bpf_map_delete_elem(fd, &d.tid[i]))
			continue;
		/* the .bss is shared memory: an atomic op here is one with the programs' */
		__atomic_fetch_sub(&skel->bss->calls_in_flight, 1, __ATOMIC_SEQ_CST);
		if (d.asleep[i])
			__atomic_fetch_sub(&skel->bss->sleepers, 1, __ATOMIC_SEQ_CST);
	}
	if (d.n)
		log_msg(LOG_DEBUG, "sendq: removed %d send(s) of threads that exited", d.n);
	return err;
}

static int sendq_tick(struct agent *ag)
{
	int err, err2;

	if (!skel)
		return 0;
	err = sendq_sockets_sample(ag);
	err2 = sweep_calls();
	return err ? err : err2;
}

static void sendq_stop(struct agent *ag)
{
	sendq_sockets_stop();
	sendq_bpf__destroy(skel);
	skel = NULL;
	sendq_stalls_reset();
	sendq_agent = NULL;
}

static const struct concern_route sendq_routes[] = {
    {"/sockets", sendq_route_sockets},
    {NULL, NULL},
};

const struct concern sendq_concern = {
    .routes = sendq_routes,
    .name = "sendq",
    .start = sendq_start,
    .collect = sendq_collect,
    .tick = sendq_tick,
    .stop = sendq_stop,
};
