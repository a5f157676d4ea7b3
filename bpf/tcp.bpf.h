/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Socket readers shared by bpf/tcp.bpf.c and bpf/tcp_policy.bpf.c: the SIP-port filter on a TCP
 * socket, its endpoints and the keepalive settings in force. Every field is read with CO-RE so the
 * same object runs on 5.15, 6.1 and current kernels.
 */
#ifndef SIPWATCH_TCP_BPF_H
#define SIPWATCH_TCP_BPF_H

#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "tcp_abi.h"

/* TCP states (include/net/tcp_states.h): part of the user ABI via /proc/net/tcp, stable. */
#define SW_TCP_ESTABLISHED 1
#define SW_TCP_SYN_SENT	   2
#define SW_TCP_SYN_RECV	   3
#define SW_TCP_CLOSE	   7
#define SW_TCP_LISTEN	   10

#define SW_IPPROTO_TCP 6

/* Until ≈6.10 sk_flags was a member of struct sock; now it is __sk_common.skc_flags. */
struct sock___sk_flags_member {
	unsigned long sk_flags;
} __attribute__((preserve_access_index));

/*
 * The local port from inet_sport: tcp_set_state(TCP_CLOSE) unhashes the socket and releases its
 * port (inet_num := 0) before the state tracepoint fires, inet_sport stays.
 */
static __always_inline __u16 sock_local_port(const struct sock *sk)
{
	return bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
}

/*
 * The SIP port of a socket, local first, else remote; 0 when neither is a SIP port. The cheap
 * test every hook runs first.
 */
static __always_inline __u16 tcp_sip_port(const struct sock *sk)
{
	__u16 lport = sock_local_port(sk);
	__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));

	if (is_sip_port(lport))
		return lport;
	if (is_sip_port(rport))
		return rport;
	return 0;
}

static __always_inline bool sock_is_tcp(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == SW_IPPROTO_TCP;
}

static __always_inline void tcp_fill_endpoints(const struct sock *sk, __u16 sip_port,
					       struct tcp_endpoints *ep)
{
	ep->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	ep->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	ep->sip_port = sip_port;
	ep->local_port = sock_local_port(sk);
	ep->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (ep->family == SW_AF_INET6) {
		BPF_CORE_READ_INTO(&ep->local_addr, sk,
				   __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&ep->remote_addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO((__u32 *)ep->local_addr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)ep->remote_addr, sk, __sk_common.skc_daddr);
	}
}

static __always_inline unsigned long sock_flags(const struct sock *sk)
{
	const struct sock___sk_flags_member *old = (const void *)sk;

	if (bpf_core_field_exists(old->sk_flags))
		return BPF_CORE_READ(old, sk_flags);
	return BPF_CORE_READ(sk, __sk_common.skc_flags);
}

/*
 * Keepalive settings in force: the socket's own TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, or where it set
 * none (0) the sysctls of its network namespace (what keepalive_time_when() & co. use).
 */
static __always_inline void tcp_read_keepalive(const struct sock *sk,
					       struct tcp_keepalive_settings *ka)
{
	const struct tcp_sock *tp = (const void *)sk;
	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	const struct netns_ipv4 *ipv4 = &net->ipv4;
	unsigned long keepopen = bpf_core_enum_value(enum sock_flags, SOCK_KEEPOPEN);
	__u32 v;

	ka->enabled = (sock_flags(sk) >> keepopen) & 1;
	v = BPF_CORE_READ(tp, keepalive_time);
	ka->own_idle = v != 0;
	ka->idle_jiffies =
	    v ?: (__u32)BPF_CORE_READ_BITFIELD_PROBED(ipv4, sysctl_tcp_keepalive_time);
	v = BPF_CORE_READ(tp, keepalive_intvl);
	ka->own_intvl = v != 0;
	ka->intvl_jiffies =
	    v ?: (__u32)BPF_CORE_READ_BITFIELD_PROBED(ipv4, sysctl_tcp_keepalive_intvl);
	v = BPF_CORE_READ(tp, keepalive_probes);
	ka->own_probes = v != 0;
	ka->probes = v ?: (__u8)BPF_CORE_READ_BITFIELD_PROBED(ipv4, sysctl_tcp_keepalive_probes);
	ka->user_timeout_ms = BPF_CORE_READ(tp, inet_conn.icsk_user_timeout);
}

/* The socket's inode number (as in /proc/PID/fd → socket:[N]); 0 once it has no file. */
static __always_inline __u32 sock_inode(const struct sock *sk)
{
	struct socket *sock = BPF_CORE_READ(sk, sk_socket);
	struct socket_alloc *sa;

	if (!sock)
		return 0;
	/* struct socket_alloc { struct socket socket; struct inode vfs_inode; } (SOCK_INODE()) */
	sa = (void *)sock - bpf_core_field_offset(struct socket_alloc, socket);
	return BPF_CORE_READ(sa, vfs_inode.i_ino);
}

/*
 * The prologue of every iter/tcp program: the socket the iterator stands on (one of the reading
 * process's namespace) if it is an established SIP connection, with its endpoints and keepalive
 * settings read into @ep and @ka; NULL for any other socket.
 */
static __always_inline struct tcp_sock *tcp_iter_sip_conn(struct sock_common *skc,
							  struct tcp_endpoints *ep,
							  struct tcp_keepalive_settings *ka)
{
	struct tcp_sock *tp;
	__u16 port;

	if (!skc || skc->skc_state != SW_TCP_ESTABLISHED)
		return NULL;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return NULL;
	port = tcp_sip_port((const struct sock *)tp);
	if (!port)
		return NULL;
	tcp_fill_endpoints((const struct sock *)tp, port, ep);
	tcp_read_keepalive((const struct sock *)tp, ka);
	return tp;
}

#endif /* SIPWATCH_TCP_BPF_H */
