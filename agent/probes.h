/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Probes: the kernel hooks sipwatch attaches. Each is decided at run time by probing the running
 * kernel (its BTF), never by its version; a probe that cannot attach is logged with the reason and
 * reported as sipwatch_probe_up{probe} 0, and the rest carry on.
 */
#ifndef SIPWATCH_PROBES_H
#define SIPWATCH_PROBES_H

#include <bpf/libbpf.h>
#include <stdbool.h>

struct agent;

void probes_init(struct agent *ag);
/* Record a probe's state (sets the gauge, logs the reason when down). */
void probe_report(const char *probe, bool up, const char *reason);
bool probe_is_up(const char *probe);
/* Does the running kernel have tracepoint @name (as a BTF btf_trace_<name> typedef)? */
bool kernel_has_tracepoint(struct agent *ag, const char *name);
/* Does the running kernel's BTF have @enum_name with @value_name? */
bool kernel_has_enum_value(struct agent *ag, const char *enum_name, const char *value_name);
/* Does the running kernel's BTF have kfunc (or any kernel function) @name? */
bool kernel_has_function(struct agent *ag, const char *name);
/*
 * Can a fentry program attach to kernel function @func here? Loads and attaches a do-nothing one
 * for a moment: kernels can refuse BPF trampolines at either step (EPERM under some lockdown and
 * hardening settings). 0, or a negative errno (-ENOENT: no such function in the BTF).
 */
int kernel_can_attach_fentry(struct agent *ag, const char *func);
/*
 * The probe a program reports as: its name up to "___". Variants of one hook for different
 * kernels (the CO-RE flavour convention: "sendq_sys_enter___probe_read") are one probe to
 * operators, to --probe.disable and in the metrics.
 */
const char *probe_name(const struct bpf_program *prog, char *buf, size_t len);

/* Before load: switch off programs whose hook is missing or disabled by flag. */
void probes_prepare_object(struct agent *ag, struct bpf_object *obj);
/* After a failed load: every program that was to load reports down with @err. */
void probes_object_failed(struct bpf_object *obj, int err);
/* After load: attach every loaded program that has a hook of its own. Returns how many attached. */
int probes_attach_object(struct bpf_object *obj);
/* Keep @prog's run statistics exported (for programs attached by hand: XDP, tc, sockops). */
void probes_track_program(const struct bpf_program *prog);

int probes_attached_count(void);
void probes_collect(struct agent *ag);
void probes_detach_all(void);

#endif
