// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf/sendq.bpf.c times sends on SIP sockets in three ways ("rungs"): fentry/fexit on
 * inet_sendmsg and inet6_sendmsg; the sock_send_length and sched_switch tracepoints; raw
 * sys_enter/sys_exit, whose fd -> socket walk is done with direct loads through bpf_rdonly_cast()
 * (6.2+) or CO-RE probe reads. The agent loads one of them; this test loads each in turn where the
 * kernel has it and makes real send calls in a private network namespace: every kind of send on a
 * SIP socket must be timed exactly once, sends on other sockets, on other files and on bad fds
 * never, and a send that blocks must be timed with the time it was blocked and counted a stall.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "sendq_abi.h"
#include "sendq.skel.h"

#define SIP_PORT  5060
#define SINK_PORT 40000
#define SENDS	  50

#define STALL_NS  200000000ULL /* the stall threshold loaded into the programs */
#define BLOCK_MS  300	       /* SO_SNDTIMEO of the send that blocks */
#define MAX_LINKS 4

static struct sendq_bpf *skel;
static struct bpf_link *links[MAX_LINKS];
static int nr_links;
static int nr_cpus;
static int sink = -1;

/* Statistics of @slot (SIP port 0: 0 UDP, 1 TCP), summed over CPUs. */
static struct sendq_stats slot_stats(uint32_t slot)
{
	struct sendq_stats *st = calloc((size_t)nr_cpus, sizeof(*st)), sum = {};

	assert_non_null(st);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.sendq_stats), &slot, st), 0);
	for (int c = 0; c < nr_cpus; c++) {
		for (int b = 0; b < SENDQ_NR_BUCKETS; b++)
			sum.buckets[b] += st[c].buckets[b];
		sum.sum_ns += st[c].sum_ns;
		sum.stalls += st[c].stalls;
	}
	free(st);
	return sum;
}

static uint64_t observations(const struct sendq_stats *st)
{
	uint64_t n = 0;

	for (int b = 0; b < SENDQ_NR_BUCKETS; b++)
		n += st->buckets[b];
	return n;
}

/* Send calls timed on the SIP port over UDP. */
static uint64_t timed(void)
{
	struct sendq_stats st = slot_stats(0);

	return observations(&st);
}

static struct sockaddr_in loopback(uint16_t port)
{
	return (struct sockaddr_in){.sin_family = AF_INET,
				    .sin_port = htons(port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

static int udp_socket(uint16_t bind_port)
{
	struct sockaddr_in a = loopback(bind_port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	if (bind_port)
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Empties the sink so that no send is dropped for a full receive buffer. */
static void drain(void)
{
	char buf[64];

	while (recv(sink, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

/* Every send syscall the program times, SENDS times each, from @fd to @dst. */
static void send_every_way(int fd, const struct sockaddr_in *dst, bool connected)
{
	char msg[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
	struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg) - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct mmsghdr mm = {.msg_hdr = mh};

	if (!connected) {
		mh.msg_name = (void *)dst;
		mh.msg_namelen = sizeof(*dst);
		mm.msg_hdr = mh;
	}
	for (int i = 0; i < SENDS; i++) {
		assert_int_equal(sendto(fd, msg, sizeof(msg) - 1, 0,
					connected ? NULL : (const struct sockaddr *)dst,
					connected ? 0 : sizeof(*dst)),
				 sizeof(msg) - 1);
		assert_int_equal(sendmsg(fd, &mh, 0), sizeof(msg) - 1);
		assert_int_equal(sendmmsg(fd, &mm, 1, 0), 1);
		if (connected) {
			assert_int_equal(write(fd, msg, sizeof(msg) - 1), sizeof(msg) - 1);
			assert_int_equal(writev(fd, &iov, 1), sizeof(msg) - 1);
		}
		drain();
	}
}

/* The programs of one rung, as the agent picks them (agent/sendq.c rung_programs()). */
static int rung_programs(int rung, bool direct, struct bpf_program **out)
{
	int n = 0;

	switch (rung) {
	case SENDQ_RUNG_FENTRY:
		out[n++] = skel->progs.sendq_fentry_inet_sendmsg;
		out[n++] = skel->progs.sendq_fexit_inet_sendmsg;
		out[n++] = skel->progs.sendq_fentry_inet6_sendmsg;
		out[n++] = skel->progs.sendq_fexit_inet6_sendmsg;
		break;
	case SENDQ_RUNG_TRACEPOINT:
		out[n++] = skel->progs.sendq_sock_send_length;
		out[n++] = skel->progs.sendq_sched_switch;
		break;
	default:
		out[n++] =
		    direct ? skel->progs.sendq_sys_enter : skel->progs.sendq_sys_enter___probe_read;
		out[n++] = skel->progs.sendq_sys_exit;
	}
	return n;
}

/* Load and attach @rung's programs; false (and a message) where this kernel refuses them. */
static bool load_rung(int rung, bool direct)
{
	struct bpf_program *wanted[MAX_LINKS], *prog;
	struct stat st;
	int n, err;

	skel = sendq_bpf__open();
	assert_non_null(skel);
	n = rung_programs(rung, direct, wanted);
	bpf_object__for_each_program (prog, skel->obj) {
		bool on = false;

		for (int i = 0; i < n; i++)
			on |= prog == wanted[i];
		bpf_program__set_autoload(prog, on);
	}
	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	skel->rodata->cfg.netns_ino = (uint32_t)st.st_ino;
	skel->rodata->cfg.nr_sip_ports = 1;
	skel->rodata->cfg.sip_ports[0] = SIP_PORT;
	skel->rodata->stall_threshold_ns = STALL_NS;
	skel->rodata->nr.write = SYS_write;
	skel->rodata->nr.writev = SYS_writev;
	skel->rodata->nr.sendto = SYS_sendto;
	skel->rodata->nr.sendmsg = SYS_sendmsg;
	skel->rodata->nr.sendmmsg = SYS_sendmmsg;
	err = sendq_bpf__load(skel);
	nr_links = 0;
	for (int i = 0; !err && i < n; i++) {
		links[nr_links] = bpf_program__attach(wanted[i]);
		if (!links[nr_links])
			err = -errno;
		else
			nr_links++;
	}
	if (err && rung == SENDQ_RUNG_FENTRY &&
	    (err == -EPERM || err == -524 /* ENOTSUPP: no trampolines */)) {
		printf("this kernel refuses fentry programs (%s): the agent uses another rung\n",
		       strerror(-err));
		return false;
	}
	assert_int_equal(err, 0);
	return true;
}

static void unload(void)
{
	for (int i = 0; i < nr_links; i++)
		bpf_link__destroy(links[i]);
	nr_links = 0;
	sendq_bpf__destroy(skel);
	skel = NULL;
}

/*
 * A TCP send to the SIP port that blocks: the receiver never reads, the sender's buffer fills and
 * the send sleeps until SO_SNDTIMEO. It must be one observation of about BLOCK_MS, and a stall.
 */
static void check_blocked_send(void)
{
	struct sockaddr_in to_sip = loopback(SIP_PORT);
	struct timeval tmo = {.tv_usec = BLOCK_MS * 1000};
	int small = 4096, one = 1, lsn, snd, rcv;
	struct sendq_stats before, after;
	size_t len = 8 << 20;
	char *buf = calloc(1, len);
	uint64_t took;

	assert_non_null(buf);
	lsn = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lsn >= 0);
	assert_int_equal(setsockopt(lsn, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(lsn, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(bind(lsn, (struct sockaddr *)&to_sip, sizeof(to_sip)), 0);
	assert_int_equal(listen(lsn, 1), 0);
	snd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(snd >= 0);
	assert_int_equal(setsockopt(snd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(setsockopt(snd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)), 0);
	assert_int_equal(connect(snd, (struct sockaddr *)&to_sip, sizeof(to_sip)), 0);
	rcv = accept(lsn, NULL, NULL);
	assert_true(rcv >= 0);

	before = slot_stats(1);
	/* 8 MiB cannot fit in the buffers: the call sleeps until the timeout, then returns what
	 * it sent */
	assert_true(send(snd, buf, len, 0) < (ssize_t)len);
	after = slot_stats(1);
	took = after.sum_ns - before.sum_ns;
	printf("blocked send timed at %.3f s\n", (double)took / 1e9);
	assert_int_equal(observations(&after) - observations(&before), 1);
	assert_true(took >= (BLOCK_MS - 20) * 1000000ULL);
	assert_true(took < 5ULL * BLOCK_MS * 1000000ULL);
	assert_int_equal(after.stalls - before.stalls, 1);
	close(rcv);
	close(snd);
	close(lsn);
	free(buf);
}

/*
 * A send whose thread ptrace stops at its entry and its exit (syscall-stops, as strace makes them)
 * for BLOCK_MS each: the stops are no part of the send's time on any rung (the tracepoint rung
 * must not take a traced task's sleep, nor a sleep after the call returned, for the send's).
 */
static void check_traced_send(void)
{
	struct sockaddr_in to_sink = loopback(SINK_PORT);
	struct sendq_stats before, after;
	int status, fd;
	pid_t child;

	fd = udp_socket(SIP_PORT);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		sendto(fd, "x", 1, 0, (struct sockaddr *)&to_sink, sizeof(to_sink));
		_exit(0);
	}
	close(fd);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSTOPPED(status));
	assert_int_equal(ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)PTRACE_O_TRACESYSGOOD), 0);
	before = slot_stats(0);
	for (int stops = 0; stops < 50; stops++) {
		assert_int_equal(ptrace(PTRACE_SYSCALL, child, NULL, NULL), 0);
		assert_int_equal(waitpid(child, &status, 0), child);
		if (WIFEXITED(status))
			break;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
			usleep(BLOCK_MS * 1000);
	}
	assert_true(WIFEXITED(status));
	after = slot_stats(0);
	drain();
	printf("traced send timed at %.6f s\n", (double)(after.sum_ns - before.sum_ns) / 1e9);
	assert_int_equal(observations(&after) - observations(&before), 1);
	assert_true(after.sum_ns - before.sum_ns < 50000000ULL);
	assert_int_equal(after.stalls - before.stalls, 0);
}

static void check_rung(int rung, bool direct)
{
	struct sockaddr_in to_sink = loopback(SINK_PORT), to_sip = loopback(SIP_PORT);
	int sip, other, conn, devnull;
	uint64_t before;
	char byte = 0;

	if (!load_rung(rung, direct)) {
		skip();
		return;
	}
	sip = udp_socket(SIP_PORT);
	other = udp_socket(SINK_PORT + 1);

	/* from the SIP port, unconnected: sendto, sendmsg, sendmmsg */
	before = timed();
	send_every_way(sip, &to_sink, false);
	assert_int_equal(timed() - before, 3 * SENDS);

	/* from another port to the SIP port: the destination comes from the call's arguments */
	before = timed();
	send_every_way(other, &to_sip, false);
	drain();
	assert_int_equal(timed() - before, 3 * SENDS);

	/* connected to the SIP port: the destination comes from the socket; write(v) too */
	conn = udp_socket(0);
	assert_int_equal(connect(conn, (struct sockaddr *)&to_sip, sizeof(to_sip)), 0);
	before = timed();
	send_every_way(conn, NULL, true);
	assert_int_equal(timed() - before, 5 * SENDS);

	/* neither port SIP, a file that is no socket, fds that are not open: nothing */
	devnull = open("/dev/null", O_WRONLY);
	assert_true(devnull >= 0);
	before = timed();
	send_every_way(other, &to_sink, false);
	for (int i = 0; i < SENDS; i++) {
		assert_int_equal(write(devnull, &byte, 1), 1);
		assert_int_equal(write(-1, &byte, 1), -1);
		assert_int_equal(write(1 << 20, &byte, 1), -1);
		assert_int_equal(
		    sendto(100000, &byte, 1, 0, (struct sockaddr *)&to_sip, sizeof(to_sip)), -1);
	}
	assert_int_equal(timed() - before, 0);

	close(devnull);
	close(conn);
	close(other);
	close(sip);
	check_blocked_send();
	check_traced_send();
	/* every send that began has ended: nothing left for the hooks to look up */
	assert_int_equal(skel->bss->calls_in_flight, 0);
	assert_int_equal(skel->bss->sleepers, 0);
	unload();
}

static void test_fentry(void **state)
{
	check_rung(SENDQ_RUNG_FENTRY, true);
}

static bool kernel_has(const char *name, int kind)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool has = vmlinux && btf__find_by_name_kind(vmlinux, name, kind) > 0;

	btf__free(vmlinux);
	return has;
}

static void test_tracepoint(void **state)
{
	if (!kernel_has("btf_trace_sock_send_length", BTF_KIND_TYPEDEF)) {
		printf("this kernel has no sock_send_length tracepoint: the agent uses another "
		       "rung\n");
		skip();
	}
	check_rung(SENDQ_RUNG_TRACEPOINT, true);
}

static void test_syscalls_probe_read_walk(void **state)
{
	check_rung(SENDQ_RUNG_SYSCALLS, false);
}

static void test_syscalls_direct_walk(void **state)
{
	if (!kernel_has("bpf_rdonly_cast", BTF_KIND_FUNC)) {
		printf("this kernel has no bpf_rdonly_cast: the agent uses the probe-read walk\n");
		skip();
	}
	check_rung(SENDQ_RUNG_SYSCALLS, true);
}

/* A private network namespace with loopback up: the sends and the sink are this test's alone. */
static int setup(void **state)
{
	struct sockaddr_in a = loopback(SINK_PORT);

	nr_cpus = libbpf_num_possible_cpus();
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	if (system("ip link set lo up"))
		return -1;
	sink = socket(AF_INET, SOCK_DGRAM, 0);
	if (sink < 0 || bind(sink, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fentry),
	    cmocka_unit_test(test_tracepoint),
	    cmocka_unit_test(test_syscalls_probe_read_walk),
	    cmocka_unit_test(test_syscalls_direct_walk),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
