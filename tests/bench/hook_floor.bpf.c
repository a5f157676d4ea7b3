// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor under sipwatch's hooks where it cannot use trampolines (the "tracepoint" rung of
 * bpf/sendq.bpf.c) and under its drop counter (bpf/drops.bpf.c): programs on the same hooks that
 * do nothing. What they cost a send, a context switch or a drop is the hooks' own (the
 * tracepoint's dispatch to a BPF program), which anything timing sends or counting drops at these
 * hooks pays.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sock_send_length")
int BPF_PROG(floor_sock_send_length, struct sock *sk, int ret, int flags)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(floor_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(floor_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return 0;
}
