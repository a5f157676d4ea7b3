// SPDX-License-Identifier: GPL-2.0-only
#include "agent.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "probes.h"
#include "process.h"
#include "ratelimit.h"

#define MAX_WATCHED	  64
#define MAX_DROP_COUNTERS 16
/* A concern whose collect() or tick() keeps failing is logged once a minute, not every time. */
#define FAILURE_LOG_INTERVAL_NS (60ULL * 1000000000ULL)

struct watched {
	int fd;
	agent_fd_fn fn;
	void *ctx;
};

static struct watched watched[MAX_WATCHED];
static const volatile __u64 *drop_counters[MAX_DROP_COUNTERS];
static int nr_drop_counters;
static struct metric_family *events_dropped, *collector_success, *collector_duration;
static struct ratelimit failure_limit;
static int signal_fd = -1, timer_fd = -1;

int agent_watch_fd(struct agent *ag, int fd, agent_fd_fn fn, void *ctx)
{
	struct epoll_event ev = {.events = EPOLLIN};

	for (int i = 0; i < MAX_WATCHED; i++) {
		if (watched[i].fn)
			continue;
		watched[i] = (struct watched){fd, fn, ctx};
		ev.data.ptr = &watched[i];
		if (epoll_ctl(ag->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			watched[i].fn = NULL;
			return -errno;
		}
		return 0;
	}
	return -ENOSPC;
}

void agent_unwatch_fd(struct agent *ag, int fd)
{
	for (int i = 0; i < MAX_WATCHED; i++) {
		if (watched[i].fn && watched[i].fd == fd) {
			epoll_ctl(ag->epfd, EPOLL_CTL_DEL, fd, NULL);
			watched[i].fn = NULL;
		}
	}
}

static void consume_ringbuf(struct agent *ag, void *ctx)
{
	ring_buffer__consume(ag->rb);
}

int agent_add_ringbuf(struct agent *ag, struct bpf_map *map, ring_buffer_sample_fn fn, void *ctx)
{
	int err;

	if (ag->rb)
		return ring_buffer__add(ag->rb, bpf_map__fd(map), fn, ctx);
	ag->rb = ring_buffer__new(bpf_map__fd(map), fn, ctx, NULL);
	if (!ag->rb)
		return -errno;
	err = agent_watch_fd(ag, ring_buffer__epoll_fd(ag->rb), consume_ringbuf, NULL);
	return err;
}

void agent_track_event_drops(struct agent *ag, const volatile __u64 *counter)
{
	if (nr_drop_counters < MAX_DROP_COUNTERS)
		drop_counters[nr_drop_counters++] = counter;
}

bool kernel_has_tracepoint(struct agent *ag, const char *name)
{
	char type[128];

	if (!ag->vmlinux_btf)
		return false;
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	return btf__find_by_name_kind(ag->vmlinux_btf, type, BTF_KIND_TYPEDEF) > 0;
}

bool kernel_has_enum_value(struct agent *ag, const char *enum_name, const char *value_name)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id;

	if (!ag->vmlinux_btf)
		return false;
	id = btf__find_by_name_kind(ag->vmlinux_btf, enum_name, BTF_KIND_ENUM);
	if (id <= 0)
		return false;
	t = btf__type_by_id(ag->vmlinux_btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++)
		if (!strcmp(btf__name_by_offset(ag->vmlinux_btf, e->name_off), value_name))
			return true;
	return false;
}

bool kernel_has_function(struct agent *ag, const char *name)
{
	return ag->vmlinux_btf && btf__find_by_name_kind(ag->vmlinux_btf, name, BTF_KIND_FUNC) > 0;
}

int kernel_can_attach_fentry(struct agent *ag, const char *func)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	struct bpf_prog_load_opts opts = {.sz = sizeof(opts),
					  .expected_attach_type = BPF_TRACE_FENTRY};
	int id, prog, link, err = 0;

	id = ag->vmlinux_btf ? btf__find_by_name_kind(ag->vmlinux_btf, func, BTF_KIND_FUNC) : -1;
	if (id <= 0)
		return -ENOENT;
	opts.attach_btf_id = (__u32)id;
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "sw_can_fentry", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), &opts);
	if (prog < 0)
		return -errno;
	/* the way libbpf attaches fentry programs (5.5+): a raw tracepoint link without a name */
	link = bpf_raw_tracepoint_open(NULL, prog);
	if (link < 0)
		err = -errno;
	else
		close(link);
	close(prog);
	return err;
}

/* Before load: switch off programs whose hook is missing or that --probe.disable names. */
static void prepare_object(struct agent *ag, struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program (prog, obj) {
		char buf[64];
		const char *name = probe_name(prog, buf, sizeof(buf));
		const char *tp = probe_tracepoint(prog);
		char reason[160];

		if (!bpf_program__autoload(prog))
			continue; /* the concern already decided (fallback choice) */
		if (config_probe_disabled(&ag->cfg, name)) {
			bpf_program__set_autoload(prog, false);
			probe_report(name, false, "disabled by --probe.disable");
			continue;
		}
		if (tp && !kernel_has_tracepoint(ag, tp)) {
			bpf_program__set_autoload(prog, false);
			snprintf(reason, sizeof(reason),
				 "tracepoint %s is not in this kernel's BTF", tp);
			probe_report(name, false, reason);
		}
	}
}

int agent_load_skeleton(struct agent *ag, struct bpf_object_skeleton *skeleton,
			ring_buffer_sample_fn on_event, void *ctx,
			const volatile __u64 *events_dropped_counter)
{
	struct bpf_object *obj = *skeleton->obj;
	struct bpf_map *events;
	int err;

	prepare_object(ag, obj);
	/*
	 * Through the skeleton, not bpf_object__load(): only the skeleton load maps the kernel's
	 * global data (.bss, .data) at skel->bss, so the agent reads and writes what BPF sees.
	 */
	err = bpf_object__load_skeleton(skeleton);
	if (err) {
		probes_object_failed(obj, err);
		return err;
	}
	events = bpf_object__find_map_by_name(obj, "events");
	if (events && on_event) {
		err = agent_add_ringbuf(ag, events, on_event, ctx);
		if (err)
			log_msg(LOG_WARN, "%s: cannot read its ring buffer: %s",
				bpf_object__name(obj), strerror(-err));
	}
	if (events_dropped_counter)
		agent_track_event_drops(ag, events_dropped_counter);
	return probes_attach_object(obj);
}

static void collect_agent_metrics(struct agent *ag)
{
	uint64_t dropped = 0;

	for (int i = 0; i < nr_drop_counters; i++)
		dropped += *drop_counters[i];
	metric_set(events_dropped, NO_LABELS, (double)dropped);
	probes_collect();
	process_collect();
}

/* A concern's collect() or tick() returned @err: a warning, at most once a minute per concern. */
static void log_failure(const struct concern *c, const char *what, int err)
{
	char key[RATELIMIT_KEY_MAX], msg[32];
	uint64_t held_back;
	struct log_line l;

	snprintf(key, sizeof(key), "%s %s", what, c->name);
	snprintf(msg, sizeof(msg), "concern %s failed", what);
	if (!ratelimit_allow(&failure_limit, key, monotonic_ns(), &held_back) ||
	    !log_begin(&l, LOG_WARN, msg))
		return;
	log_str(&l, "concern", c->name);
	log_str(&l, "error", strerror(err < 0 ? -err : err));
	if (held_back)
		log_uint(&l, "suppressed", held_back);
	log_end(&l);
}

void agent_start_concerns(struct agent *ag, agent_started_fn after)
{
	for (int i = 0; ag->concerns[i]; i++) {
		const struct concern *c = ag->concerns[i];

		ag->start_err[i] = c->start(ag);
		if (after)
			after(ag, c, ag->start_err[i]);
	}
}

void agent_collect(struct agent *ag)
{
	collect_agent_metrics(ag);
	for (int i = 0; ag->concerns[i]; i++) {
		const struct concern *c = ag->concerns[i];
		uint64_t start;
		int err;

		if (!c->collect)
			continue;
		/* Collected even when start() failed: whatever it did set up is kept current. */
		start = monotonic_ns();
		err = c->collect(ag);
		metric_set(collector_duration, LABELS(c->name),
			   (double)(monotonic_ns() - start) / 1e9);
		metric_set(collector_success, LABELS(c->name), !err && !ag->start_err[i] ? 1 : 0);
		if (err)
			log_failure(c, "collect", err);
	}
}

void agent_tick(struct agent *ag)
{
	for (const struct concern *const *c = ag->concerns; *c; c++) {
		int err;

		if (!(*c)->tick)
			continue;
		err = (*c)->tick(ag);
		if (err)
			log_failure(*c, "tick", err);
	}
}

/* sipwatch_build_info, and the metrics the agent keeps about itself and its concerns. */
static void register_agent_metrics(struct agent *ag)
{
	struct metric_family *f;
	struct utsname u;
	char libbpf[32];

	uname(&u);
	snprintf(libbpf, sizeof(libbpf), "%d.%d", libbpf_major_version(), libbpf_minor_version());
	f = metrics_gauge(ag->reg, "sipwatch_build_info",
			  "Always 1; labels say which sipwatch, libbpf and kernel are running.",
			  LABELS("version", "libbpf_version", "kernel_release"));
	metric_set(f, LABELS(SIPWATCH_VERSION, libbpf, u.release), 1);
	events_dropped = metrics_counter(
	    ag->reg, "sipwatch_ringbuf_events_dropped_total",
	    "Events the kernel could not hand to the agent (ring buffer full).", NO_LABELS);
	metric_set(events_dropped, NO_LABELS, 0);
	collector_success = metrics_gauge(
	    ag->reg, "sipwatch_collector_success",
	    "1 if the concern's last collect (at this scrape) succeeded; 0 if it failed, or if the "
	    "concern did not start (its metrics are then not being kept up to date; reason in the "
	    "log).",
	    LABELS("concern"));
	collector_duration = metrics_gauge(
	    ag->reg, "sipwatch_collector_duration_seconds",
	    "How long the concern's last collect (at this scrape) took.", LABELS("concern"));
}

static int own_netns_inode(uint32_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	*ino = (uint32_t)st.st_ino;
	return 0;
}

int agent_init(struct agent *ag)
{
	int err, n = 0;

	if (!ag->concerns)
		ag->concerns = agent_concerns;
	for (; ag->concerns[n]; n++)
		if (n == AGENT_MAX_CONCERNS) {
			log_msg(LOG_ERROR, "more than %d concerns: raise AGENT_MAX_CONCERNS",
				AGENT_MAX_CONCERNS);
			return -E2BIG;
		}
	for (int i = 0; i < n; i++)
		ag->start_err[i] = -EAGAIN;
	ag->epfd = epoll_create1(EPOLL_CLOEXEC);
	ag->reg = metrics_new();
	if (ag->epfd < 0 || !ag->reg ||
	    ratelimit_init(&failure_limit, FAILURE_LOG_INTERVAL_NS, AGENT_MAX_CONCERNS * 2))
		return -ENOMEM;
	err = own_netns_inode(&ag->bpf_cfg.netns_ino);
	if (err) {
		log_msg(LOG_ERROR, "cannot read /proc/self/ns/net: %s", strerror(-err));
		return err;
	}
	ag->bpf_cfg.all_netns = ag->cfg.netns_all;
	ag->bpf_cfg.nr_sip_ports = (uint8_t)ag->cfg.nr_sip_ports;
	for (int i = 0; i < ag->cfg.nr_sip_ports; i++)
		ag->bpf_cfg.sip_ports[i] = ag->cfg.sip_ports[i];

	ag->vmlinux_btf = btf__load_vmlinux_btf();
	if (!ag->vmlinux_btf)
		log_msg(LOG_ERROR, "this kernel exposes no BTF (/sys/kernel/btf/vmlinux): sipwatch "
				   "needs CONFIG_DEBUG_INFO_BTF=y for CO-RE");
	register_agent_metrics(ag);
	probes_init(ag->reg, ag->cfg.bpf_stats);
	process_init(ag->reg);
	return 0;
}

void agent_block_signals(sigset_t *old)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, old);
}

static void on_signal(struct agent *ag, void *ctx)
{
	struct signalfd_siginfo si;

	if (read(signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		/* Nothing to reload or reopen: flags and --web.config.file are read at start, logs
		 * go to stderr. Ignored rather than fatal (its default action). */
		log_msg(LOG_INFO, "received SIGHUP: ignored (sipwatch reads its configuration only "
				  "at start; restart it to apply changes)");
		return;
	}
	log_msg(LOG_INFO, "received %s, shutting down", strsignal((int)si.ssi_signo));
	ag->stopping = true;
}

static void on_tick(struct agent *ag, void *ctx)
{
	uint64_t expirations;

	if (read(timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	agent_tick(ag);
}

static int setup_loop_fds(struct agent *ag)
{
	struct itimerspec every_second = {{1, 0}, {1, 0}};
	sigset_t mask;

	agent_block_signals(NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (signal_fd < 0 || timer_fd < 0 || timerfd_settime(timer_fd, 0, &every_second, NULL))
		return -errno;
	if (agent_watch_fd(ag, signal_fd, on_signal, NULL) ||
	    agent_watch_fd(ag, timer_fd, on_tick, NULL))
		return -ENOSPC;
	return 0;
}

int agent_run(struct agent *ag)
{
	struct epoll_event evs[16];
	int err = setup_loop_fds(ag);

	if (err) {
		log_msg(LOG_ERROR, "cannot set up the event loop: %s", strerror(-err));
		return err;
	}
	while (!ag->stopping) {
		int n = epoll_wait(ag->epfd, evs, 16, http_timeout_ms(1000));

		if (n < 0 && errno != EINTR) {
			log_msg(LOG_ERROR, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct watched *w = evs[i].data.ptr;

			if (w->fn)
				w->fn(ag, w->ctx);
		}
		http_run();
	}
	return 0;
}

void agent_fini(struct agent *ag)
{
	http_stop();
	/* Links first: from here on no hook of ours runs, whatever the concerns still hold. */
	probes_detach_all();
	ring_buffer__free(ag->rb);
	ag->rb = NULL;
	for (const struct concern *const *c = ag->concerns; c && *c; c++)
		if ((*c)->stop)
			(*c)->stop(ag);
	btf__free(ag->vmlinux_btf);
	ag->vmlinux_btf = NULL;
	metrics_free(ag->reg);
	ag->reg = NULL;
	ratelimit_fini(&failure_limit);
	if (signal_fd >= 0)
		close(signal_fd);
	if (timer_fd >= 0)
		close(timer_fd);
	if (ag->epfd >= 0)
		close(ag->epfd);
	signal_fd = timer_fd = ag->epfd = -1;
}
