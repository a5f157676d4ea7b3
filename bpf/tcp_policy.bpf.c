// SPDX-License-Identifier: GPL-2.0-only
/*
 * The opt-in keepalive policy (--tcp.keepalive, --tcp.user-timeout): SO_KEEPALIVE, TCP_KEEPIDLE,
 * TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT set with bpf_setsockopt on SIP TCP connections
 * of the agent's namespace only. New connections: a sockops program on the cgroup v2 root, at the
 * established callbacks. Existing ones: an iter/tcp program (bpf_setsockopt there needs ≈5.15),
 * run once at start-up; it writes what each socket had before.
 */
#include "tcp.bpf.h"
#include "maps.bpf.h"

/* Socket option numbers: uapi (asm-generic/socket.h, linux/tcp.h), not in BTF. */
#define SW_SOL_SOCKET	    1
#define SW_SO_KEEPALIVE	    9
#define SW_SOL_TCP	    6
#define SW_TCP_KEEPIDLE	    4
#define SW_TCP_KEEPINTVL    5
#define SW_TCP_KEEPCNT	    6
#define SW_TCP_USER_TIMEOUT 18

/* BPF_SOCK_OPS_*_ESTABLISHED_CB: uapi enum, also in BTF; named by CO-RE below. */

const volatile struct tcp_policy_config policy = {};

/*
 * Connections the policy was applied to: key.cause = 0 new (sockops), 1 existing (iterator);
 * key.pad = 1 when bpf_setsockopt refused.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIPWATCH_MAX_SIP_PORTS * 4);
	__type(key, struct tcp_port_key);
	__type(value, __u64);
} policy_applied SEC(".maps");

static __always_inline void count_applied(__u16 port, __u8 existing, bool failed)
{
	struct tcp_port_key key = {.port = port, .cause = existing, .pad = failed};

	map_counter_add(&policy_applied, &key, 1);
}

static __always_inline int set_int(void *s, int level, int name, int value)
{
	return bpf_setsockopt(s, level, name, &value, sizeof(value));
}

/* @s: the sockops context or a tcp_sock (iterator); the verifier checks each caller's type. */
static __always_inline int apply_policy(void *s)
{
	int err = 0;

	if (policy.keepalive_idle_s) {
		err = set_int(s, SW_SOL_SOCKET, SW_SO_KEEPALIVE, 1);
		err = err ?: set_int(s, SW_SOL_TCP, SW_TCP_KEEPIDLE, (int)policy.keepalive_idle_s);
		err =
		    err ?: set_int(s, SW_SOL_TCP, SW_TCP_KEEPINTVL, (int)policy.keepalive_intvl_s);
		err = err ?: set_int(s, SW_SOL_TCP, SW_TCP_KEEPCNT, (int)policy.keepalive_probes);
	}
	if (!err && policy.user_timeout_ms)
		err = set_int(s, SW_SOL_TCP, SW_TCP_USER_TIMEOUT, (int)policy.user_timeout_ms);
	return err;
}

SEC("sockops")
int tcp_keepalive_policy(struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk;
	struct tcp_sock *tp;
	__u16 port;
	int err;

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	bsk = skops->sk;
	if (!bsk)
		return 1;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return 1;
	port = tcp_sip_port((const struct sock *)tp);
	if (!port)
		return 1;
	/* The program sits on the root cgroup: every namespace's sockets pass here. */
	if (!netns_wanted(BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.__sk_common.skc_net.net)))
		return 1;
	err = apply_policy(skops);
	count_applied(port, 0, err != 0);
	return 1;
}

/* Existing connections of the agent's namespace (the iterator's own), once at start-up. */
SEC("iter/tcp")
int tcp_policy_existing(struct bpf_iter__tcp *ctx)
{
	struct tcp_policy_record rec = {};
	struct tcp_sock *tp;

	tp = tcp_iter_sip_conn(ctx->sk_common, &rec.ep, &rec.before);
	if (!tp)
		return 0;
	rec.err = apply_policy(tp);
	count_applied(rec.ep.sip_port, 1, rec.err != 0);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
