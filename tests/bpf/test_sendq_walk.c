// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf/sendq.bpf.c's sys_enter finds the socket behind a send call's fd in two ways: direct loads
 * through bpf_rdonly_cast() (kernels 6.2+) and CO-RE probe reads (5.15, 6.1). The agent loads
 * one of them; this test loads each in turn (the direct one only where the kernel has the kfunc)
 * and makes real send calls in a private network namespace: every kind of send on a SIP socket
 * must be timed exactly once, and sends on other sockets, on other files and on bad fds never.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
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

static struct sendq_bpf *skel;
static struct bpf_link *links[2];
static int nr_cpus;
static int sink = -1;

/* Send calls timed on SIP port slot (udp), summed over CPUs and buckets. */
static uint64_t timed(void)
{
	struct sendq_stats *st = calloc((size_t)nr_cpus, sizeof(*st));
	uint32_t slot = 0;
	uint64_t n = 0;

	assert_non_null(st);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.sendq_stats), &slot, st), 0);
	for (int c = 0; c < nr_cpus; c++)
		for (int b = 0; b < SENDQ_NR_BUCKETS; b++)
			n += st[c].buckets[b];
	free(st);
	return n;
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

static void load_variant(bool direct)
{
	struct bpf_program *enter, *prog;
	struct stat st;

	skel = sendq_bpf__open();
	assert_non_null(skel);
	enter = direct ? skel->progs.sendq_sys_enter : skel->progs.sendq_sys_enter___probe_read;
	bpf_object__for_each_program (prog, skel->obj)
		bpf_program__set_autoload(prog,
					  prog == enter || prog == skel->progs.sendq_sys_exit);
	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	skel->rodata->cfg.netns_ino = (uint32_t)st.st_ino;
	skel->rodata->cfg.nr_sip_ports = 1;
	skel->rodata->cfg.sip_ports[0] = SIP_PORT;
	skel->rodata->nr.write = SYS_write;
	skel->rodata->nr.writev = SYS_writev;
	skel->rodata->nr.sendto = SYS_sendto;
	skel->rodata->nr.sendmsg = SYS_sendmsg;
	skel->rodata->nr.sendmmsg = SYS_sendmmsg;
	assert_int_equal(sendq_bpf__load(skel), 0);
	links[0] = bpf_program__attach(enter);
	links[1] = bpf_program__attach(skel->progs.sendq_sys_exit);
	assert_non_null(links[0]);
	assert_non_null(links[1]);
}

static void unload(void)
{
	for (int i = 0; i < 2; i++)
		bpf_link__destroy(links[i]);
	sendq_bpf__destroy(skel);
	skel = NULL;
}

static void check_walk(bool direct)
{
	struct sockaddr_in to_sink = loopback(SINK_PORT), to_sip = loopback(SIP_PORT);
	int sip, other, conn, devnull;
	uint64_t before;
	char byte = 0;

	load_variant(direct);
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
	unload();
}

static void test_probe_read_walk(void **state)
{
	check_walk(false);
}

static void test_direct_walk(void **state)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool has_kfunc =
	    vmlinux && btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC) > 0;

	btf__free(vmlinux);
	if (!has_kfunc) {
		printf("this kernel has no bpf_rdonly_cast: the agent uses the probe-read walk\n");
		skip();
	}
	check_walk(true);
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
	    cmocka_unit_test(test_probe_read_walk),
	    cmocka_unit_test(test_direct_walk),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
