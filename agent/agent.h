/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent: one event loop (epoll over ring buffers, the HTTP server, a 1 s timer and signals)
 * and the concerns that plug into it. A concern (neigh, sendq, tcp, sip, ...) owns one BPF object
 * and the metrics it feeds; agent/concerns.c lists them.
 *
 * The core uses the layers below it (metrics, probes, http, log, ...) and knows nothing above it:
 * the flag parser, the HTTP routes and the incident ring are wired from the top (main.c,
 * routes.c). tests/check_layers.sh holds the layers and `make` checks them.
 */
#ifndef SIPWATCH_AGENT_H
#define SIPWATCH_AGENT_H

#include <bpf/libbpf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "metrics.h"
#include "config.h"
#include "sipwatch.h"

/* The most concerns one agent runs (agent/concerns.c lists fewer). */
#define AGENT_MAX_CONCERNS 32

struct concern;

struct agent {
	struct config cfg;
	struct sipwatch_bpf_config bpf_cfg; /* copied into every BPF object's rodata */
	struct metrics *reg;
	struct btf *vmlinux_btf; /* for feature probes; NULL without kernel BTF */
	int epfd;
	struct ring_buffer *rb;
	bool stopping;
	/* sipwatch doctor's trial start: only hooks the kernel removes with the process, and no
	 * clean-up of what others left. */
	bool trial;
	/* The concerns this agent runs: agent_concerns, unless set before agent_init() (tests). */
	const struct concern *const *concerns;
	/* What each concern's start() returned, by position in @concerns (-EAGAIN: not started
	 * yet); a concern that did not start reports sipwatch_collector_success 0. */
	int start_err[AGENT_MAX_CONCERNS];
};

/* An HTTP path a concern serves; its handler is handed the struct agent. */
struct concern_route {
	const char *path;
	http_route_fn fn;
};

struct concern {
	const char *name;
	/* Served once start() ran, whatever it returned (a route answers with what there is); NULL,
	 * or ended by an entry with a NULL path. */
	const struct concern_route *routes;
	/* Load and attach; register metrics. An error disables this concern only. */
	int (*start)(struct agent *ag);
	/* Bring metrics up to date from maps, right before a scrape renders them. 0, or a negative
	 * errno when some of them could not be read (the scrape still renders what there is). */
	int (*collect)(struct agent *ag);
	/* Once a second, from the event loop. */
	int (*tick)(struct agent *ag); /* 0, or a negative errno */
	/* Detach and free; called once, also after a failed start. */
	void (*stop)(struct agent *ag);
};

/* NULL-terminated, in start order (agent/concerns.c). */
extern const struct concern *const agent_concerns[];

typedef void (*agent_fd_fn)(struct agent *ag, void *ctx);

/* Call @fn from the event loop whenever @fd is readable. */
int agent_watch_fd(struct agent *ag, int fd, agent_fd_fn fn, void *ctx);
void agent_unwatch_fd(struct agent *ag, int fd);

/* Deliver @map's ring-buffer records to @fn from the event loop. */
int agent_add_ringbuf(struct agent *ag, struct bpf_map *map, ring_buffer_sample_fn fn, void *ctx);

/* Count a BPF object's events_dropped global into sipwatch_ringbuf_events_dropped_total. */
void agent_track_event_drops(struct agent *ag, const volatile __u64 *counter);

/*
 * The usual life of a BPF object: rodata config set by the caller, programs whose hook this
 * kernel lacks (or that --probe.disable names) switched off, load, attach each program as a probe,
 * deliver the "events" ring buffer to @on_event. Returns the number of probes attached, or a
 * negative errno when the object could not be loaded (its probes then report 0).
 */
int agent_load_skeleton(struct agent *ag, struct bpf_object_skeleton *skeleton,
			ring_buffer_sample_fn on_event, void *ctx,
			const volatile __u64 *events_dropped);

/* Called after each concern's start() with what it returned (main.c: its routes, a log line). */
typedef void (*agent_started_fn)(struct agent *ag, const struct concern *c, int err);

/* Start every concern in order, remembering how each start went; @after may be NULL. */
void agent_start_concerns(struct agent *ag, agent_started_fn after);

/*
 * Run every concern's collect(): the snapshot a scrape renders. Each one's outcome and duration
 * are exported as sipwatch_collector_success / sipwatch_collector_duration_seconds{concern}.
 */
void agent_collect(struct agent *ag);

/* Run every concern's tick() (once a second, from the event loop); a failure is logged at warn
 * level, at most once a minute per concern. */
void agent_tick(struct agent *ag);

/*
 * What the running kernel offers, from its BTF (ag->vmlinux_btf; all false without BTF). The
 * agent's probes and the concerns' fallback choices are decided by these, never by a version.
 */
/* Tracepoint @name (as a BTF btf_trace_<name> typedef)? */
bool kernel_has_tracepoint(struct agent *ag, const char *name);
/* Enum @enum_name with value @value_name? */
bool kernel_has_enum_value(struct agent *ag, const char *enum_name, const char *value_name);
/* Kfunc (or any kernel function) @name? */
bool kernel_has_function(struct agent *ag, const char *name);
/*
 * Can a fentry program attach to kernel function @func here? Loads and attaches a do-nothing one
 * for a moment: kernels can refuse BPF trampolines at either step (EPERM under some lockdown and
 * hardening settings). 0, or a negative errno (-ENOENT: no such function in the BTF).
 */
int kernel_can_attach_fentry(struct agent *ag, const char *func);

/* SIGINT, SIGTERM and SIGHUP: blocked from the start, so that one arriving while hooks are being
 * attached is acted on (a clean stop) once the event loop runs, not midway. */
void agent_block_signals(sigset_t *old);

int agent_init(struct agent *ag);
int agent_run(struct agent *ag);
void agent_fini(struct agent *ag);

#endif
