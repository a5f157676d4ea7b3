// SPDX-License-Identifier: GPL-2.0-only
/*
 * Send calls on SIP sockets: how long each one was blocked, which ones stalled, which failed; and
 * (iterators) how full each SIP socket's send buffer is.
 *
 * No tracepoint fires while a sender sleeps waiting for send-buffer space, and the hooks that time
 * a send must not cost anything outside socket sends (a PBX host's media, database and event loops
 * make far more system calls than SIP sends). Three sets of programs, one loaded (a "rung" chosen
 * by the agent from feature probes, --stall.hook):
 *
 *  fentry      fentry/fexit on inet_sendmsg and inet6_sendmsg: every send on an IPv4/IPv6 socket,
 *              exact time in the call. Needs BPF trampolines (tracing programs).
 *  tracepoint  tp_btf/sock_send_length (end of every socket send, 6.3+: the socket and the return
 *              value) and tp_btf/sched_switch: a sender that sleeps inside a send on a SIP socket
 *              is noted when it is switched out and its sleeps are summed until the send ends.
 *              The histogram then holds the time blocked (0 for a send that never slept). The
 *              context-switch hook does a few loads per switch and a hash lookup only while a SIP
 *              send is asleep.
 *  syscalls    raw sys_enter/sys_exit: the whole system call, on every kernel back to 5.15, but
 *              any raw syscall tracepoint puts every system call of the host on the slow path
 *              (measured ×1.6–1.7 on getppid/read): only when the operator asks for it.
 *
 * On a send, the order of the reads is the cost of a send on any other socket, which is most sends
 * on a PBX (RTP): both ports first, and only a SIP port's socket pays for family, protocol and
 * namespace.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "sendq_abi.h"

#define S_IFMT	   00170000
#define S_IFSOCK   0140000
#define PF_KTHREAD 0x00200000
/* prev_state bits (include/linux/sched.h) */
#define TASK_INTERRUPTIBLE   0x0001
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_STOPPED_BITS    0x000c /* __TASK_STOPPED | __TASK_TRACED */
#define TASK_FROZEN	     0x8000
#define ENOSYS		     38

/*
 * The system call a task is in, from its user registers. On x86 orig_ax is the syscall number only
 * while ax is -ENOSYS (set at syscall entry, replaced by the return value): that excludes a user
 * page fault (orig_ax holds its error code, 0x14 = __NR_writev) and a task that sleeps after its
 * send returned (ptrace or signal stops, memcg throttling on the way back to user space).
 */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(regs) ((regs)->ax == (unsigned long)-ENOSYS ? (long)(regs)->orig_ax : -1L)
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(regs) ((regs)->syscallno)
#else
#error "sendq: SYSCALL_NR() is not defined for this architecture"
#endif

const volatile struct sendq_syscalls nr = {};
const volatile __u64 stall_threshold_ns = 500000000ULL;

/*
 * The send on a SIP socket each thread is in (key: thread id), created where the send is first
 * seen (fentry, sys_enter, or the first sleep) and deleted where it ends. A preallocated hash: the
 * sched_switch hook runs under the run-queue lock, where nothing may allocate. Not LRU: its
 * per-CPU free lists would evict live entries early on hosts with many CPUs. An entry whose end is
 * never seen (a thread that died inside a send, or a send that slept before it reached the socket
 * and then failed) is removed by the agent's sweep (agent/sendq.c).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SENDQ_MAX_CALLS);
	__type(key, __u32);
	__type(value, struct sendq_call);
} sendq_calls SEC(".maps");

/* Per CPU, so the per-send update needs no atomic operation (slot: see SENDQ_NR_SLOTS). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENDQ_NR_SLOTS);
	__type(key, __u32);
	__type(value, struct sendq_stats);
} sendq_stats SEC(".maps");

/*
 * Entries in sendq_calls: lets the end-of-send hooks skip the lookup while no SIP send is under
 * way. The agent's sweep subtracts the entries it removes.
 */
__s64 calls_in_flight = 0;
/* Threads asleep inside a send on a SIP socket: lets sched_switch skip the lookup for the next
 * task while there are none (nearly always). */
__s64 sleepers = 0;

static const __u64 bucket_bounds_us[SENDQ_NR_BOUNDS] = SENDQ_BUCKET_BOUNDS_US;

/* Where a send goes: the SIP port it is for and its statistics slot. */
struct sip_send {
	__u16 port;
	__u8 proto;
	__u8 slot;
};

static __always_inline bool is_send_syscall(long id)
{
	return id == nr.sendto || id == nr.sendmsg || id == nr.write || id == nr.writev ||
	       id == nr.sendmmsg;
}

/* 6.2+ (see sock_of_fd); weak, so that the object loads without it on older kernels. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * @field of kernel object @ptr: a direct load when the program walks with BTF-typed pointers
 * (@direct, a compile-time constant), else a CO-RE probe read.
 */
#define KERNEL_FIELD(direct, ptr, field) ((direct) ? (ptr)->field : BPF_CORE_READ(ptr, field))

/*
 * The struct sock behind file descriptor @fd of @task (the current one), or NULL if it is no
 * socket. task -> files -> fdtable are loaded directly through BTF (no helper call); the fd array
 * holds plain pointers, so the slot takes one probe read. From the file on it is direct loads
 * through bpf_rdonly_cast() (@direct: kernels 6.2+ have the kfunc) or CO-RE probe reads (tens of
 * nanoseconds each: the syscalls rung on 5.15/6.1 walks that way).
 */
static __always_inline struct sock *sock_of_fd(struct task_struct *task, long fd, const bool direct)
{
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

/* Port (host order) of a sockaddr_in/sockaddr_in6 (both keep it at offset 2), in user memory (the
 * system call's argument) or kernel memory (the msghdr inet_sendmsg gets). */
static __always_inline __u16 sockaddr_port(const void *addr, const bool user)
{
	__u16 fam_port[2];

	if (!addr)
		return 0;
	if (user ? bpf_probe_read_user(fam_port, sizeof(fam_port), addr)
		 : bpf_probe_read_kernel(fam_port, sizeof(fam_port), addr))
		return 0;
	if (fam_port[0] != SW_AF_INET && fam_port[0] != SW_AF_INET6)
		return 0;
	return bpf_ntohs(fam_port[1]);
}

/*
 * Destination port of an unconnected send, from the arguments of system call @id (sendto's
 * address, or the first msghdr's msg_name for sendmsg/sendmmsg: struct mmsghdr starts with its
 * msghdr).
 */
static __always_inline __u16 syscall_destination_port(struct pt_regs *regs, long id)
{
	void *name = NULL;

	if (id == nr.sendto)
		return sockaddr_port((void *)PT_REGS_PARM5_SYSCALL(regs), true);
	if (id != nr.sendmsg && id != nr.sendmmsg)
		return 0;
	if (bpf_probe_read_user(&name, sizeof(name), (void *)PT_REGS_PARM2_SYSCALL(regs)))
		return 0;
	return sockaddr_port(name, true);
}

/* Where a hook sees the send, which says where an unconnected send's destination is found. */
enum send_site {
	AT_SYSCALL,	 /* @regs and @id of the system call */
	AT_SOCK_SENDMSG, /* in the sender's context: its system call's registers */
	AT_INET_SENDMSG, /* @msg, the kernel's copy of the msghdr */
};

/*
 * Is a send on @sk one on a SIP socket of ours? Fills @s. The socket's own ports first (two loads,
 * or one probe read without @direct); the destination of an unconnected IPv4/IPv6 send only when
 * neither is SIP; family, protocol and namespace only once a port matched.
 */
static __always_inline bool sip_send_of(struct sock *sk, const bool direct,
					const enum send_site site, struct pt_regs *regs, long id,
					struct msghdr *msg, struct sip_send *s)
{
	__u16 family, proto, port, dport;
	struct net *net;
	int idx;

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
			return false;
		port = ports.num;
		dport = ports.dport;
	}
	idx = sip_port_index(port);
	if (idx < 0) {
		port = bpf_ntohs(dport);
		if (!port) {
			/* unconnected (UDP; TCP has no unconnected send): the destination is
			 * in this send, not in the socket */
			family = KERNEL_FIELD(direct, sk, __sk_common.skc_family);
			if (family != SW_AF_INET && family != SW_AF_INET6)
				return false;
			if (site == AT_INET_SENDMSG) {
				port = sockaddr_port(msg->msg_name, false);
			} else {
				if (site == AT_SOCK_SENDMSG) {
					regs = (struct pt_regs *)bpf_task_pt_regs(
					    bpf_get_current_task_btf());
					id = SYSCALL_NR(regs);
				}
				port = syscall_destination_port(regs, id);
			}
		}
		idx = port ? sip_port_index(port) : -1;
		if (idx < 0)
			return false;
	}
	family = KERNEL_FIELD(direct, sk, __sk_common.skc_family);
	proto = KERNEL_FIELD(direct, sk, sk_protocol);
	net = KERNEL_FIELD(direct, sk, __sk_common.skc_net.net);
	if ((family != SW_AF_INET && family != SW_AF_INET6) ||
	    (proto != SENDQ_PROTO_UDP && proto != SENDQ_PROTO_TCP) ||
	    !netns_ino_wanted(KERNEL_FIELD(direct, net, ns.inum)))
		return false;
	s->port = port;
	s->proto = proto;
	s->slot = idx * 2 + (proto == SENDQ_PROTO_TCP);
	return true;
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

static __always_inline void account(__u32 slot, __u64 took_ns, long ret)
{
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
	/* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK: a signal interrupted the call, which is
	 * restarted (the caller never sees these); not a failure */
	if (ret < 0 && (ret < -516 || ret > -512)) {
		int e = error_class(ret);

		if (e >= 0 && e < SENDQ_NR_ERRORS)
			st->errors[e]++;
	}
}

/* In the sender's context, at the end of the send. */
static __always_inline void emit_stall(const struct sendq_call *call, __u64 now, __u64 took_ns,
				       long ret)
{
	struct sock *sk = (struct sock *)call->sk;
	struct sendq_stall_event *e = event_reserve(sizeof(*e));
	__u64 pid_tgid = bpf_get_current_pid_tgid();

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

static __always_inline void send_done(const struct sendq_call *call, __u64 now, __u64 took_ns,
				      long ret)
{
	account(call->slot, took_ns, ret);
	if (took_ns >= stall_threshold_ns)
		emit_stall(call, now, took_ns, ret);
}

/* Thread @tid started a send on SIP socket @sk (or, @asleep, first slept in one) at @now. */
static __always_inline void call_begins(__u32 tid, struct sock *sk, const struct sip_send *s,
					__u64 now, const bool asleep)
{
	struct sendq_call c = {
	    .start_ns = now,
	    .sk = (__u64)sk,
	    .asleep_ns = asleep ? now : 0,
	    .port = s->port,
	    .proto = s->proto,
	    .slot = s->slot,
	};
	bool fresh = !bpf_map_lookup_elem(&sendq_calls, &tid);

	if (bpf_map_update_elem(&sendq_calls, &tid, &c, BPF_ANY))
		return;
	if (fresh)
		__sync_fetch_and_add(&calls_in_flight, 1);
	if (asleep)
		__sync_fetch_and_add(&sleepers, 1);
}

/* Thread @tid's send on @sk ends: its entry, copied to @out and removed, if it has one for @sk. */
static __always_inline bool call_ends(__u32 tid, struct sock *sk, struct sendq_call *out)
{
	struct sendq_call *c;
	bool mine;

	if (calls_in_flight <= 0)
		return false;
	c = bpf_map_lookup_elem(&sendq_calls, &tid);
	if (!c)
		return false;
	*out = *c;
	mine = c->sk == (__u64)sk;
	if (bpf_map_delete_elem(&sendq_calls, &tid))
		return false;
	__sync_fetch_and_add(&calls_in_flight, -1);
	return mine;
}

/* ---- rung "fentry": exact time in inet_sendmsg / inet6_sendmsg ---- */

static __always_inline int inet_send_begins(struct socket *sock, struct msghdr *msg)
{
	struct sock *sk = sock->sk;
	struct sip_send s;

	if (!sk || !sip_send_of(sk, true, AT_INET_SENDMSG, NULL, 0, msg, &s))
		return 0;
	call_begins((__u32)bpf_get_current_pid_tgid(), sk, &s, bpf_ktime_get_ns(), false);
	return 0;
}

static __always_inline int inet_send_ends(struct socket *sock, int ret)
{
	struct sendq_call c;
	__u64 now;

	if (!call_ends((__u32)bpf_get_current_pid_tgid(), sock->sk, &c))
		return 0;
	now = bpf_ktime_get_ns();
	send_done(&c, now, now - c.start_ns, ret);
	return 0;
}

SEC("fentry/inet_sendmsg")
int BPF_PROG(sendq_fentry_inet_sendmsg, struct socket *sock, struct msghdr *msg, size_t size)
{
	return inet_send_begins(sock, msg);
}

SEC("fexit/inet_sendmsg")
int BPF_PROG(sendq_fexit_inet_sendmsg, struct socket *sock, struct msghdr *msg, size_t size,
	     int ret)
{
	return inet_send_ends(sock, ret);
}

SEC("fentry/inet6_sendmsg")
int BPF_PROG(sendq_fentry_inet6_sendmsg, struct socket *sock, struct msghdr *msg, size_t size)
{
	return inet_send_begins(sock, msg);
}

SEC("fexit/inet6_sendmsg")
int BPF_PROG(sendq_fexit_inet6_sendmsg, struct socket *sock, struct msghdr *msg, size_t size,
	     int ret)
{
	return inet_send_ends(sock, ret);
}

/* ---- rung "tracepoint": sleeps inside a send (sched_switch), summed at its end ---- */

/* @prev goes to sleep (it is still the current task): is it inside a send on a SIP socket? */
static __always_inline void sleep_begins(struct task_struct *prev)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(prev);
	long id = SYSCALL_NR(regs);
	__u32 tid = prev->pid;
	struct sendq_call *c;
	struct sip_send s;
	struct sock *sk;
	__u64 now;

	if (!is_send_syscall(id))
		return;
	sk = sock_of_fd(prev, PT_REGS_PARM1_SYSCALL(regs), true);
	if (!sk || !sip_send_of(sk, true, AT_SYSCALL, regs, id, NULL, &s))
		return;
	now = bpf_ktime_get_ns();
	c = bpf_map_lookup_elem(&sendq_calls, &tid);
	if (c && c->sk == (__u64)sk) {
		/* asleep again in the same send */
		if (!c->asleep_ns) {
			c->asleep_ns = now;
			__sync_fetch_and_add(&sleepers, 1);
		}
		return;
	}
	call_begins(tid, sk, &s, now, true);
}

/* @tid runs again: add the sleep it wakes from, if it slept in a send on a SIP socket. */
static __always_inline void sleep_ends(__u32 tid)
{
	struct sendq_call *c = bpf_map_lookup_elem(&sendq_calls, &tid);

	if (!c || !c->asleep_ns)
		return;
	c->slept_ns += bpf_ktime_get_ns() - c->asleep_ns;
	c->asleep_ns = 0;
	__sync_fetch_and_add(&sleepers, -1);
}

/*
 * Every context switch: a few loads while no SIP send is asleep and the task leaving the CPU is
 * not going to sleep (preempted, yielding, stopped, or a kernel thread); the syscall number from
 * its registers otherwise, and the fd walk only when that is a send.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(sendq_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	if (sleepers > 0)
		sleep_ends(next->pid);
	/* asleep (not preempted, not stopped, traced or frozen), and not a kernel thread */
	if (!preempt && (prev_state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)) &&
	    !(prev_state & (TASK_STOPPED_BITS | TASK_FROZEN)) && !(prev->flags & PF_KTHREAD))
		sleep_begins(prev);
	return 0;
}

/* The end of every socket send (sock_sendmsg), in the sender's context. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(sendq_sock_send_length, struct sock *sk, int ret, int flags)
{
	struct sendq_call c;
	struct sip_send s;
	__u64 now, slept = 0;

	if (!sk || !sip_send_of(sk, true, AT_SOCK_SENDMSG, NULL, 0, NULL, &s))
		return 0;
	now = bpf_ktime_get_ns();
	if (call_ends((__u32)bpf_get_current_pid_tgid(), sk, &c)) {
		slept = c.slept_ns;
		if (c.asleep_ns) /* cannot be: it runs; keep the count right anyway */
			__sync_fetch_and_add(&sleepers, -1);
	} else {
		c = (struct sendq_call){.start_ns = now,
					.sk = (__u64)sk,
					.port = s.port,
					.proto = s.proto,
					.slot = s.slot};
	}
	send_done(&c, now, slept, ret);
	return 0;
}

/* ---- rung "syscalls": raw sys_enter/sys_exit, on --stall.hook=syscalls only ---- */

static __always_inline int on_sys_enter(struct pt_regs *regs, long id, const bool direct)
{
	struct sip_send s;
	struct sock *sk;

	if (!is_send_syscall(id))
		return 0;
	sk = sock_of_fd(bpf_get_current_task_btf(), PT_REGS_PARM1_SYSCALL(regs), direct);
	if (!sk || !sip_send_of(sk, direct, AT_SYSCALL, regs, id, NULL, &s))
		return 0;
	call_begins((__u32)bpf_get_current_pid_tgid(), sk, &s, bpf_ktime_get_ns(), false);
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

SEC("tp_btf/sys_exit")
int BPF_PROG(sendq_sys_exit, struct pt_regs *regs, long ret)
{
	struct sendq_call *c, copy;
	__u32 tid;
	__u64 now;

	if (calls_in_flight <= 0)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	c = bpf_map_lookup_elem(&sendq_calls, &tid);
	if (!c)
		return 0;
	copy = *c;
	if (bpf_map_delete_elem(&sendq_calls, &tid))
		return 0;
	__sync_fetch_and_add(&calls_in_flight, -1);
	now = bpf_ktime_get_ns();
	send_done(&copy, now, now - copy.start_ns, ret);
	return 0;
}

static __always_inline bool sip_socket(const struct sock *sk, __u16 *lport, __u16 *rport)
{
	*lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	*rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return is_sip_port(*lport) || (*rport && is_sip_port(*rport));
}

/*
 * sk_drops_read(): 6.18's UDP sockets count their drops in per-NUMA-node counters
 * (sk_drop_counters) and leave sk_drops at 0; everything else counts in sk_drops. The sum is right
 * on both.
 */
static __always_inline __u32 socket_drops(const struct sock *sk)
{
	__u32 drops = BPF_CORE_READ(sk, sk_drops.counter);

	if (bpf_core_field_exists(sk->sk_drop_counters)) {
		struct numa_drop_counters *ndc = BPF_CORE_READ(sk, sk_drop_counters);

		if (ndc)
			drops +=
			    BPF_CORE_READ(ndc, drops0.counter) + BPF_CORE_READ(ndc, drops1.counter);
	}
	return drops;
}

static __always_inline void fill_receive_side(struct sendq_sock_record *r, const struct sock *sk)
{
	r->rx_drops = socket_drops(sk);
	r->rx_queued = BPF_CORE_READ(sk, sk_backlog.rmem_alloc.counter);
	r->rcvbuf = BPF_CORE_READ(sk, sk_rcvbuf);
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
	fill_receive_side(&r, sk);
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
	fill_receive_side(&r, sk);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
