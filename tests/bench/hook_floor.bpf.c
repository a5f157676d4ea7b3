// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor under sipwatch's send timing: programs on the same raw_syscalls hooks that do
 * nothing. What they cost a send is the hook's (the syscall slow path, two program dispatches),
 * which any timing of send calls at the syscall boundary pays.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_sys_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret)
{
	return 0;
}
