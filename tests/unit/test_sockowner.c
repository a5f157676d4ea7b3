// SPDX-License-Identifier: GPL-2.0-only
/*
 * The socket-owner lookup behind TCP timeout incidents (issue 17 item 14): bounded work on the
 * event loop. A /proc of the test's own (directories with fd/ symlinks to "socket:[N]" and a
 * comm file); work is counted in descriptors read, not timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sockowner.h"

#define SEC	   1000000000ULL
#define NR_PROCS   12
#define FDS_EACH   1000 /* 12 000 descriptors: more than one lookup may read */
#define FIRST_PID  100
#define OWNER_PID  107
#define OWNER_COMM "kamailio"

static char root[] = "/tmp/test_sockowner.XXXXXX";

/* Process FIRST_PID + i holds sockets i * FDS_EACH + 1 ... (i + 1) * FDS_EACH. */
static int setup(void **state)
{
	char path[256], target[64];

	assert_non_null(mkdtemp(root));
	for (int i = 0; i < NR_PROCS; i++) {
		int pid = FIRST_PID + i;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%d", root, pid);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
		assert_int_equal(mkdir(path, 0700), 0);
		for (int fd = 0; fd < FDS_EACH; fd++) {
			snprintf(path, sizeof(path), "%s/%d/fd/%d", root, pid, fd);
			snprintf(target, sizeof(target), "socket:[%d]", i * FDS_EACH + fd + 1);
			assert_int_equal(symlink(target, path), 0);
		}
		snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
		f = fopen(path, "w");
		fprintf(f, "%s\n", pid == OWNER_PID ? OWNER_COMM : "other");
		fclose(f);
	}
	/* Not processes: skipped without reading. */
	snprintf(path, sizeof(path), "%s/self", root);
	assert_int_equal(mkdir(path, 0700), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static uint32_t socket_of(int pid, int fd)
{
	return (uint32_t)((pid - FIRST_PID) * FDS_EACH + fd + 1);
}

/*
 * Found, with its comm, though /proc holds more descriptors than one lookup may read: a lookup
 * that runs out goes on where the last one stopped (a burst of timeouts of one PBX finds it).
 */
static void test_found_with_comm(void **state)
{
	unsigned long fds = 0;
	char comm[32];
	int pid = 0, lookups = 0;
	bool found = false;

	sockowner_reset();
	while (!found && lookups < 3) {
		found = sockowner_find_at(root, socket_of(OWNER_PID, 500), &pid, comm, sizeof(comm),
					  (10 + (uint64_t)lookups) * SEC, &fds);
		lookups++;
	}
	assert_true(found);
	assert_true(lookups <= 2);
	assert_int_equal(pid, OWNER_PID);
	assert_string_equal(comm, OWNER_COMM);
	assert_true(fds <= NR_PROCS * FDS_EACH);
}

/* The next socket of the same process: only that process's descriptors are read. */
static void test_recent_owner_first(void **state)
{
	unsigned long fds = 0;
	char comm[32];
	int pid = 0;

	sockowner_reset();
	for (int i = 0; i < 2 && !pid; i++)
		sockowner_find_at(root, socket_of(OWNER_PID, 1), &pid, comm, sizeof(comm),
				  (100 + (uint64_t)i) * SEC, &fds);
	assert_int_equal(pid, OWNER_PID);
	fds = 0;
	pid = 0;
	assert_true(sockowner_find_at(root, socket_of(OWNER_PID, 999), &pid, comm, sizeof(comm),
				      102 * SEC, &fds));
	assert_int_equal(pid, OWNER_PID);
	assert_true(fds <= FDS_EACH);
}

/* A socket nobody holds (closed already): one lookup reads at most its share. */
static void test_one_lookup_bounded(void **state)
{
	unsigned long fds = 0;
	char comm[32];
	int pid = 0;

	sockowner_reset();
	assert_false(sockowner_find_at(root, 999999, &pid, comm, sizeof(comm), 200 * SEC, &fds));
	assert_true(fds > 0);
	assert_true(fds <= SOCKOWNER_CALL_MAX_FDS);
}

/* A burst of lookups in one instant shares one budget; a second later there is more. */
static void test_burst_shares_budget(void **state)
{
	unsigned long fds = 0;
	char comm[32];
	int pid = 0;

	sockowner_reset();
	for (int i = 0; i < 20; i++)
		sockowner_find_at(root, 999990 + (uint32_t)i, &pid, comm, sizeof(comm), 300 * SEC,
				  &fds);
	assert_true(fds <= SOCKOWNER_CALL_MAX_FDS);
	fds = 0;
	sockowner_find_at(root, 999989, &pid, comm, sizeof(comm), 301 * SEC, &fds);
	assert_true(fds > 0);
	assert_true(fds <= SOCKOWNER_FDS_PER_SECOND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_found_with_comm),
	    cmocka_unit_test(test_recent_owner_first),
	    cmocka_unit_test(test_one_lookup_bounded),
	    cmocka_unit_test(test_burst_shares_budget),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
