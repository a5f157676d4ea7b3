// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP timeouts on SIP connections: the moment the kernel gives up on a connection, why, and the
 * retransmissions before it; plus the keepalive audit iterator.
 *
 * The kernel gives up in tcp_write_err() (retransmission timer, zero-window probe timer) or in
 * tcp_keepalive_timer(): sk_err := sk_err_soft ?: ETIMEDOUT, then tcp_done() moves the socket to
 * CLOSE. The error report (sock:inet_sk_error_report) comes before tcp_done() on older kernels,
 * after it on 6.x, and not at all for orphaned sockets — so the CLOSE transition, which every
 * kernel passes with sk_err already set, is where the cause is decided, from the socket's state.
 * The keepalive reset (tcp:tcp_send_reset, reason since 6.10) always comes first and is noted per
 * socket, to tell keepalive expiry from zero-window probe expiry where the kernel says so.
 */
#include "tcp.bpf.h"
#include "maps.bpf.h"

#define MAX_TRACKED_CONNS 65536

#define SW_ENETUNREACH	101
#define SW_ETIMEDOUT	110
#define SW_EHOSTUNREACH 113

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_TRACKED_CONNS);
	__type(key, __u64); /* struct sock * */
	__type(value, struct tcp_conn_track);
} tcp_conns SEC(".maps");

/* sipwatch_tcp_connection_timeouts_total{port,cause} */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIPWATCH_MAX_SIP_PORTS *TCP_CAUSE_MAX);
	__type(key, struct tcp_port_key);
	__type(value, __u64);
} tcp_timeouts SEC(".maps");

/* sipwatch_tcp_retransmits_total{port} */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SIPWATCH_MAX_SIP_PORTS);
	__type(key, struct tcp_port_key);
	__type(value, __u64);
} tcp_retransmits SEC(".maps");

/* Does this kernel say why it sends a reset (enum sk_rst_reason, ≈6.10)? */
static __always_inline bool kernel_has_reset_reason(void)
{
	return bpf_core_enum_value_exists(enum sk_rst_reason, SK_RST_REASON_TCP_KEEPALIVE_TIMEOUT);
}

/* Only SIP TCP sockets of the watched namespace; returns their SIP port, else 0. */
static __always_inline __u16 sip_tcp_socket(const struct sock *sk)
{
	__u16 port;

	if (!sk)
		return 0;
	port = tcp_sip_port(sk);
	if (!port || !sock_is_tcp(sk))
		return 0;
	if (!netns_wanted(BPF_CORE_READ(sk, __sk_common.skc_net.net)))
		return 0;
	return port;
}

static __always_inline void count(void *map, __u16 port, __u8 cause)
{
	struct tcp_port_key key = {.port = port, .cause = cause};

	map_counter_add(map, &key, 1);
}

/*
 * Decide why the kernel gave up, from what tcp_write_err()/tcp_keepalive_timer() leave behind.
 * Returns -1 when this close is not a timeout (normal close, reset by the peer: sk_err is 0 or
 * ECONNRESET/EPIPE; an old error the application never read: nothing was retransmitted/probed).
 */
static __always_inline int classify(int err, __u8 retransmits, __u8 probes_out, __u32 user_timeout,
				    bool keepalive_reset)
{
	if (err != SW_ETIMEDOUT && err != SW_EHOSTUNREACH && err != SW_ENETUNREACH)
		return -1;
	if (!retransmits && !probes_out && !keepalive_reset)
		return -1;
	/* The neighbour failed first: arp_error_report → sk_err_soft, promoted by tcp_write_err. */
	if (err != SW_ETIMEDOUT)
		return TCP_CAUSE_UNREACHABLE;
	if (user_timeout)
		return TCP_CAUSE_USER_TIMEOUT;
	if (retransmits)
		return TCP_CAUSE_RETRANSMISSION;
	/*
	 * Probes without retransmissions: keepalive or zero-window probes. A kernel with reset
	 * reasons says which; an older one leaves it to the (far more common) keepalive.
	 */
	if (kernel_has_reset_reason() && !keepalive_reset)
		return TCP_CAUSE_RETRANSMISSION;
	return TCP_CAUSE_KEEPALIVE;
}

static __always_inline void emit_timeout(const struct sock *sk, __u16 port, int err, __u8 cause,
					 __u8 retransmits, __u8 probes_out,
					 const struct tcp_conn_track *t)
{
	const struct tcp_sock *tp = (const void *)sk;
	struct tcp_timeout_event *e;
	__u32 now = (__u32)bpf_jiffies64(), last_rx, acked;

	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = SIPWATCH_EV_TCP_TIMEOUT;
	e->hdr.netns_ino = net_ino(BPF_CORE_READ(sk, __sk_common.skc_net.net));
	e->hdr.ts_ns = bpf_ktime_get_ns();
	tcp_fill_endpoints(sk, port, &e->ep);
	tcp_read_keepalive(sk, &e->ka);
	if (t && t->established_ns)
		e->age_ns = e->hdr.ts_ns - t->established_ns;
	/* What tcp_keepalive_timer() measures: the later of the last data and the last ACK. */
	last_rx = BPF_CORE_READ(tp, inet_conn.icsk_ack.lrcvtime);
	acked = BPF_CORE_READ(tp, rcv_tstamp);
	if ((__s32)(acked - last_rx) > 0)
		last_rx = acked;
	e->idle_jiffies = now - last_rx;
	e->err = err;
	e->uid = BPF_CORE_READ(sk, sk_uid.val);
	e->socket_ino = sock_inode(sk);
	e->cause = cause;
	e->retransmits = retransmits;
	e->probes_out = probes_out;
	e->keepalive_reset = t ? t->keepalive_reset : 0;
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_set_state, const struct sock *sk, int oldstate, int newstate)
{
	const struct tcp_sock *tp = (const void *)sk;
	struct tcp_conn_track fresh = {}, *t;
	__u8 retransmits, probes_out;
	__u16 port;
	__u64 key = (__u64)sk;
	int err, cause;

	if (newstate != SW_TCP_ESTABLISHED && newstate != SW_TCP_CLOSE)
		return 0;
	port = sip_tcp_socket(sk);
	if (!port)
		return 0;
	if (newstate == SW_TCP_ESTABLISHED) {
		fresh.established_ns = bpf_ktime_get_ns();
		bpf_map_update_elem(&tcp_conns, &key, &fresh, BPF_ANY);
		return 0;
	}
	t = bpf_map_lookup_elem(&tcp_conns, &key);
	/* A connect() or handshake that timed out never was a connection. */
	if (oldstate == SW_TCP_SYN_SENT || oldstate == SW_TCP_SYN_RECV)
		goto out;
	err = BPF_CORE_READ(sk, sk_err);
	retransmits = BPF_CORE_READ(tp, inet_conn.icsk_retransmits);
	probes_out = BPF_CORE_READ(tp, inet_conn.icsk_probes_out);
	cause = classify(err, retransmits, probes_out,
			 BPF_CORE_READ(tp, inet_conn.icsk_user_timeout), t && t->keepalive_reset);
	if (cause < 0)
		goto out;
	count(&tcp_timeouts, port, (__u8)cause);
	emit_timeout(sk, port, err, (__u8)cause, retransmits, probes_out, t);
out:
	if (t)
		bpf_map_delete_elem(&tcp_conns, &key);
	return 0;
}

/*
 * Loaded only where enum sk_rst_reason exists (the agent checks BTF): on older kernels the
 * tracepoint has no third argument and the verifier would refuse to read it.
 */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_send_reset, const struct sock *sk, const struct sk_buff *skb, int reason)
{
	struct tcp_conn_track fresh = {.keepalive_reset = 1}, *t;
	__u64 key = (__u64)sk;

	if (skb ||
	    reason != bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_KEEPALIVE_TIMEOUT))
		return 0;
	if (!sip_tcp_socket(sk))
		return 0;
	t = bpf_map_lookup_elem(&tcp_conns, &key);
	if (t)
		t->keepalive_reset = 1;
	else
		bpf_map_update_elem(&tcp_conns, &key, &fresh, BPF_ANY);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	__u16 port = sip_tcp_socket(sk);

	if (port)
		count(&tcp_retransmits, port, 0);
	return 0;
}

/*
 * The keepalive audit: one record per established SIP connection of the agent's namespace (an
 * iterator sees only the namespace of the process that reads it).
 */
SEC("iter/tcp")
int tcp_audit(struct bpf_iter__tcp *ctx)
{
	struct tcp_audit_record rec = {};
	struct tcp_sock *tp;

	/*
	 * First a clock record (sip_port 0): jiffies and monotonic time together, from which the
	 * agent measures HZ where the kernel config is not readable. The agent's own HTTP listener
	 * guarantees the iterator visits at least one socket.
	 */
	rec.jiffies = bpf_jiffies64();
	rec.ktime_ns = bpf_ktime_get_ns();
	if (ctx->meta->seq_num == 0)
		bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	tp = tcp_iter_sip_conn(ctx->sk_common, &rec.ep, &rec.ka);
	if (!tp)
		return 0;
	rec.uid = ctx->uid;
	rec.socket_ino = sock_inode((const struct sock *)tp);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
