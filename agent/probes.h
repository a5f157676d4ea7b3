/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Probes: the kernel hooks sipwatch attaches. Each is decided at run time by probing the running
 * kernel (its BTF: the kernel_has_* questions of agent.h), never by its version; a probe that
 * cannot attach is logged with the reason and reported as sipwatch_probe_up{probe} 0, and the
 * rest carry on. This module keeps the probes' state and metrics; it knows nothing of the agent.
 */
#ifndef SIPWATCH_PROBES_H
#define SIPWATCH_PROBES_H

#include <bpf/libbpf.h>
#include <stdbool.h>

struct metrics;

/* Register the probe metrics in @reg; @bpf_stats: turn on the kernel's BPF run-time statistics
 * while sipwatch runs (--bpf.stats). */
void probes_init(struct metrics *reg, bool bpf_stats);
/* Record a probe's state (sets the gauge, logs the reason when down). */
void probe_report(const char *probe, bool up, const char *reason);
bool probe_is_up(const char *probe);
/*
 * The probe a program reports as: its name up to "___". Variants of one hook for different
 * kernels (the CO-RE flavour convention: "sendq_sys_enter___probe_read") are one probe to
 * operators, to --probe.disable and in the metrics.
 */
const char *probe_name(const struct bpf_program *prog, char *buf, size_t len);

/* The tracepoint @prog hooks (tp_btf/, raw_tp/ or tracepoint/ sections), or NULL. */
const char *probe_tracepoint(const struct bpf_program *prog);
/* After a failed load: every program that was to load reports down with @err. */
void probes_object_failed(struct bpf_object *obj, int err);
/* After load: attach every loaded program that has a hook of its own. Returns how many attached. */
int probes_attach_object(struct bpf_object *obj);
/* Keep @prog's run statistics exported (for programs attached by hand: XDP, tc, sockops). */
void probes_track_program(const struct bpf_program *prog);

int probes_attached_count(void);
void probes_collect(void);
void probes_detach_all(void);

#endif
