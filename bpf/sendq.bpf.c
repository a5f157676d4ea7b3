// SPDX-License-Identifier: GPL-2.0-only
/*
 * Send calls on SIP sockets: how long each one spent in the kernel, which ones stalled, which
 * failed; and (iterators) how full each SIP socket's send buffer is.
 *
 * No tracepoint fires while a sender sleeps waiting for send-buffer space, so a call is timed from
 * raw_syscalls sys_enter to sys_exit. At sys_enter the socket is found from the fd (task -> files
 * -> fdtable -> file -> socket -> sock): that works on every kernel back to 5.15, happens before
 * the call can block, and costs a few loads but no map operation, so only sends on SIP sockets pay
 * for more (task-local storage at enter, a per-CPU array slot at exit). sys_exit runs for every
 * syscall, so it first checks a global count of SIP send calls in flight and returns at once when
 * there are none.
 *
 * The walk runs on every send of every process (most of them RTP on a PBX), so its cost is the
 * agent's cost. From the fd table on the pointers are plain ones the verifier cannot type, and
 * reading through them takes a bpf_probe_read_kernel() call per step (tens of nanoseconds each,
 * measured: see README, Benchmarks). Kernels with the bpf_rdonly_cast() kfunc (6.2+) let the
 * program give such a pointer its BTF type and load through it directly (a fault-safe load, no
 * call): sendq_sys_enter does that, sendq_sys_enter___probe_read is the same program with probe
 * reads, and the agent loads the one the kernel supports (both report as probe
 * "sendq_sys_enter").
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "sendq_abi.h"

#define S_IFMT	 00170000
#define S_IFSOCK 0140000

const volatile struct sendq_syscalls nr = {};
const volatile __u64 stall_threshold_ns = 500000000ULL;

/*
 * The send call on a SIP socket a thread is in, if any. Task-local storage: cheaper than a hash
 * keyed by thread, and freed with the thread.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sendq_call);
} sendq_calls SEC(".maps");

/* Per CPU, so the per-send update needs no atomic operation (slot: see SENDQ_NR_SLOTS). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENDQ_NR_SLOTS);
	__type(key, __u32);
	__type(value, struct sendq_stats);
} sendq_stats SEC(".maps");

/* Threads with an active sendq_call: lets sys_exit skip the lookup for every other syscall. */
__s64 calls_in_flight = 0;

static const __u64 bucket_bounds_us[SENDQ_NR_BOUNDS] = SENDQ_BUCKET_BOUNDS_US;

static __always_inline bool is_send_syscall(long id)
{
	return id == nr.sendto || id == nr.sendmsg || id == nr.write || id == nr.writev ||
	       id == nr.sendmmsg;
}

/* 6.2+ (see the top of the file); weak, so that the object loads without it on older kernels. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * @field of kernel object @ptr: a direct load when the program walks with BTF-typed pointers
 * (@direct, a compile-time constant), else a CO-RE probe read.
 */
#define KERNEL_FIELD(direct, ptr, field) ((direct) ? (ptr)->field : BPF_CORE_READ(ptr, field))

/*
 * The struct sock behind file descriptor @fd of the current task, or NULL if it is no socket.
 * task -> files -> fdtable are loaded directly through BTF (no helper call); the fd array holds
 * plain pointers, so the slot takes one probe read, and from the file on it is direct loads
 * through bpf_rdonly_cast() (@direct) or CO-RE probe reads.
 */
static __always_inline struct sock *sock_of_fd(long fd, const bool direct)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **fds, *file;
	struct socket *sock;
	umode_t mode;

	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if (direct) {
		file = bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct file));
		if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
			return NULL;
		sock = bpf_rdonly_cast(file->private_data, bpf_core_type_id_kernel(struct socket));
		return sock->sk;
	}
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* Port (host order) of a user sockaddr_in/sockaddr_in6: both keep it at offset 2. */
static __always_inline __u16 user_sockaddr_port(const void *uaddr)
{
	__u16 fam_port[2];

	if (!uaddr || bpf_probe_read_user(fam_port, sizeof(fam_port), uaddr))
		return 0;
	if (fam_port[0] != SW_AF_INET && fam_port[0] != SW_AF_INET6)
		return 0;
	return bpf_ntohs(fam_port[1]);
}

/*
 * Destination port of an unconnected send (sendto's address, or the first msghdr's msg_name for
 * sendmsg/sendmmsg: struct mmsghdr starts with its msghdr).
 */
static __always_inline __u16 destination_port(struct pt_regs *regs, long id)
{
	void *name = NULL;

	if (id == nr.sendto)
		return user_sockaddr_port((void *)PT_REGS_PARM5_SYSCALL(regs));
	if (id != nr.sendmsg && id != nr.sendmmsg)
		return 0;
	if (bpf_probe_read_user(&name, sizeof(name), (void *)PT_REGS_PARM2_SYSCALL(regs)))
		return 0;
	return user_sockaddr_port(name);
}

/*
 * The order of the reads is the cost of a send on any other socket, which is most sends on a PBX
 * (RTP): the fd walk, then both ports, and only a SIP port's socket pays for family, protocol and
 * namespace. The syscall arguments are loaded from the BTF-typed pt_regs directly (x86: no helper
 * call; other architectures read them with CO-RE).
 */
static __always_inline int on_sys_enter(struct pt_regs *regs, long id, const bool direct)
{
	__u16 family, proto, port, dport;
	struct sendq_call *call;
	struct sock *sk;
	struct net *net;
	int idx;

	if (!is_send_syscall(id))
		return 0;
	sk = sock_of_fd(PT_REGS_PARM1_SYSCALL(regs), direct);
	if (!sk)
		return 0;
	if (direct) {
		port = sk->__sk_common.skc_num;
		dport = sk->__sk_common.skc_dport;
	} else {
		struct {
			__be16 dport;
			__u16 num;
		} ports;

		/* both in one read: skc_portpair */
		if (bpf_core_read(&ports, sizeof(ports), &sk->__sk_common.skc_portpair))
			return 0;
		port = ports.num;
		dport = ports.dport;
	}
	idx = sip_port_index(port);
	if (idx < 0) {
		port = bpf_ntohs(dport);
		/* unconnected UDP (TCP has no unconnected send): the destination is in this
		 * call's arguments */
		if (!port)
			port = destination_port(regs, id);
		idx = port ? sip_port_index(port) : -1;
		if (idx < 0)
			return 0;
	}
	family = KERNEL_FIELD(direct, sk, __sk_common.skc_family);
	proto = KERNEL_FIELD(direct, sk, sk_protocol);
	net = KERNEL_FIELD(direct, sk, __sk_common.skc_net.net);
	if ((family != SW_AF_INET && family != SW_AF_INET6) ||
	    (proto != SENDQ_PROTO_UDP && proto != SENDQ_PROTO_TCP) ||
	    !netns_ino_wanted(KERNEL_FIELD(direct, net, ns.inum)))
		return 0;

	call = bpf_task_storage_get(&sendq_calls, bpf_get_current_task_btf(), NULL,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!call)
		return 0;
	call->start_ns = bpf_ktime_get_ns();
	call->sk = (__u64)sk;
	call->port = port;
	call->proto = proto;
	call->slot = idx * 2 + (proto == SENDQ_PROTO_TCP);
	if (!call->active) {
		call->active = 1;
		__sync_fetch_and_add(&calls_in_flight, 1);
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sendq_sys_enter, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id, true);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sendq_sys_enter___probe_read, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id, false);
}

static __always_inline int error_class(long ret)
{
	switch (-ret) {
	case 11: /* EAGAIN */
		return SENDQ_ERR_EAGAIN;
	case 105: /* ENOBUFS */
		return SENDQ_ERR_ENOBUFS;
	case 113: /* EHOSTUNREACH */
		return SENDQ_ERR_EHOSTUNREACH;
	case 101: /* ENETUNREACH */
		return SENDQ_ERR_ENETUNREACH;
	case 111: /* ECONNREFUSED */
		return SENDQ_ERR_ECONNREFUSED;
	case 1: /* EPERM: a firewall rule said no */
		return SENDQ_ERR_EPERM;
	default:
		return SENDQ_ERR_OTHER;
	}
}

static __always_inline void account(const struct sendq_call *call, __u64 took_ns, long ret)
{
	__u32 slot = call->slot;
	struct sendq_stats *st = bpf_map_lookup_elem(&sendq_stats, &slot);
	int i, b = SENDQ_NR_BOUNDS;

	if (!st)
		return;
	for (i = 0; i < SENDQ_NR_BOUNDS; i++) {
		/* "le" buckets: a call of exactly 100 us belongs to the 100 us one. */
		if (took_ns <= bucket_bounds_us[i] * 1000) {
			b = i;
			break;
		}
	}
	if (b >= 0 && b < SENDQ_NR_BUCKETS)
		st->buckets[b]++;
	st->sum_ns += took_ns;
	if (took_ns >= stall_threshold_ns)
		st->stalls++;
	if (ret < 0) {
		int e = error_class(ret);

		if (e >= 0 && e < SENDQ_NR_ERRORS)
			st->errors[e]++;
	}
}

static __always_inline void emit_stall(const struct sendq_call *call, __u64 now, __u64 took_ns,
				       long ret, __u64 pid_tgid)
{
	struct sock *sk = (struct sock *)call->sk;
	struct sendq_stall_event *e = event_reserve(sizeof(*e));

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = SIPWATCH_EV_SEND_STALL;
	e->hdr.netns_ino = net_ino(BPF_CORE_READ(sk, __sk_common.skc_net.net));
	e->hdr.ts_ns = now;
	e->sk = call->sk;
	e->start_ns = call->start_ns;
	e->blocked_ns = took_ns;
	e->ret = ret;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->sndbuf = BPF_CORE_READ(sk, sk_sndbuf);
	e->sip_port = call->port;
	e->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->proto = call->proto;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (e->family == SW_AF_INET6)
		bpf_core_read(e->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	else
		bpf_core_read(e->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sendq_sys_exit, struct pt_regs *regs, long ret)
{
	struct sendq_call *call;
	__u64 now, took;

	if (!calls_in_flight)
		return 0;
	call = bpf_task_storage_get(&sendq_calls, bpf_get_current_task_btf(), NULL, 0);
	if (!call || !call->active)
		return 0;
	call->active = 0;
	__sync_fetch_and_add(&calls_in_flight, -1);
	now = bpf_ktime_get_ns();
	took = now - call->start_ns;
	account(call, took, ret);
	if (took >= stall_threshold_ns)
		emit_stall(call, now, took, ret, bpf_get_current_pid_tgid());
	return 0;
}

static __always_inline bool sip_socket(const struct sock *sk, __u16 *lport, __u16 *rport)
{
	*lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	*rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return is_sip_port(*lport) || (*rport && is_sip_port(*rport));
}

static __always_inline void fill_addresses(struct sendq_sock_record *r, const struct sock *sk)
{
	r->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (r->family == SW_AF_INET6) {
		bpf_core_read(r->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(r->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		bpf_core_read(r->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(r->remote_addr, 4, &sk->__sk_common.skc_daddr);
	}
}

/* One record per SIP UDP socket of the agent's namespace (the iterator's own). */
SEC("iter/udp")
int sendq_iter_udp(struct bpf_iter__udp *ctx)
{
	struct sendq_sock_record r = {};
	struct udp_sock *udp_sk = ctx->udp_sk;
	struct sock *sk;

	if (!udp_sk)
		return 0;
	sk = (struct sock *)udp_sk;
	if (!sip_socket(sk, &r.local_port, &r.remote_port))
		return 0;
	r.sk = (__u64)sk;
	/* sk_wmem_alloc starts at 1 (the socket's own reference), as in the kernel's udp4_seq_show
	 */
	r.queued = BPF_CORE_READ(sk, sk_wmem_alloc.refs.counter) - 1;
	r.wmem_queued = r.queued;
	r.sndbuf = BPF_CORE_READ(sk, sk_sndbuf);
	r.proto = SENDQ_PROTO_UDP;
	r.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	fill_addresses(&r, sk);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* One record per SIP TCP socket (not listening, not time-wait/request) of the namespace. */
SEC("iter/tcp")
int sendq_iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sendq_sock_record r = {};
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct sock *sk;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	r.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (r.state == TCP_LISTEN || !sip_socket(sk, &r.local_port, &r.remote_port))
		return 0;
	r.sk = (__u64)sk;
	r.queued = BPF_CORE_READ(tp, write_seq) - BPF_CORE_READ(tp, snd_una);
	r.wmem_queued = BPF_CORE_READ(sk, sk_wmem_queued);
	r.sndbuf = BPF_CORE_READ(sk, sk_sndbuf);
	r.proto = SENDQ_PROTO_TCP;
	fill_addresses(&r, sk);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
