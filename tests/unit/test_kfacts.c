// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shared helpers every concern uses once: kernel facts (CONFIG_HZ from a config line or from
 * clock samples, sysctl files) and the decoders (families, NUD states, protocols, errno names).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "decode.h"
#include "kfacts.h"
#include "sipwatch.h"

#define SEC 1000000000ull

static void test_hz_from_config(void **state)
{
	assert_int_equal(kfacts_hz_from_config_line("CONFIG_HZ=250\n"), 250);
	assert_int_equal(kfacts_hz_from_config_line("CONFIG_HZ=1000"), 1000);
	assert_int_equal(kfacts_hz_from_config_line("CONFIG_HZ_250=y\n"), 0);
	assert_int_equal(kfacts_hz_from_config_line("# CONFIG_HZ_100 is not set\n"), 0);
	assert_int_equal(kfacts_hz_from_config_line("CONFIG_HZ=\n"), 0);
	assert_int_equal(kfacts_hz_from_config_line("CONFIG_HZ=25x\n"), 0);
}

static void test_hz_from_samples(void **state)
{
	assert_int_equal(kfacts_hz_from_samples(500, 2 * SEC), 250);
	assert_int_equal(kfacts_hz_from_samples(501, 2 * SEC), 250); /* a tick of jitter */
	assert_int_equal(kfacts_hz_from_samples(251, 1003000000ull), 250);
	assert_int_equal(kfacts_hz_from_samples(3000, 3 * SEC), 1000);
	assert_int_equal(kfacts_hz_from_samples(300, 3 * SEC), 100);
	assert_int_equal(kfacts_hz_from_samples(600, 2 * SEC), 300);
	assert_int_equal(kfacts_hz_from_samples(250, 900000000ull), 0); /* too short to tell */
	/* No Kconfig HZ matches: unknown, not the measured value (the one rule for neigh and tcp,
	 * where neigh used to answer 1203 here). */
	assert_int_equal(kfacts_hz_from_samples(700, 2 * SEC), 0);
	assert_int_equal(kfacts_hz_from_samples(1203, SEC), 0);
}

static void test_hz_calibrate(void **state)
{
	struct kfacts_hz_calib c = {0};
	const uint64_t j0 = 4294892296ull, t0 = 10 * SEC; /* jiffies start near the 32-bit wrap */

	assert_int_equal(kfacts_hz_calibrate(&c, j0, t0), 0); /* first sample: kept */
	assert_int_equal(kfacts_hz_calibrate(&c, j0 + 100, t0 + SEC / 2), 0); /* too soon */
	assert_int_equal(kfacts_hz_calibrate(&c, j0 + 1001, t0 + 1003000000ull), 1000);
	/* Still measured from the first sample. */
	assert_int_equal(kfacts_hz_calibrate(&c, j0 + 500, t0 + 2 * SEC), 250);
	/* Out of order: unknown, and no wrap-around into a huge delta. */
	assert_int_equal(kfacts_hz_calibrate(&c, j0 - 1, t0 + 2 * SEC), 0);
	assert_int_equal(kfacts_hz_calibrate(&c, j0 + 500, t0 - 1), 0);
}

static void test_sysctl(void **state)
{
	char path[] = "/tmp/sipwatch-kfacts.XXXXXX";
	int fd = mkstemp(path);
	uint64_t v = 0;
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("65536\n", f);
	fclose(f);
	assert_int_equal(kfacts_sysctl_u64(path, &v), 0);
	assert_int_equal(v, 65536);
	f = fopen(path, "w");
	fputs("x\n", f);
	fclose(f);
	assert_int_equal(kfacts_sysctl_u64(path, &v), -EINVAL);
	unlink(path);
	assert_int_equal(kfacts_sysctl_u64(path, &v), -ENOENT);
	/* A real one: every namespace has the default neighbour parameters. */
	assert_int_equal(kfacts_neigh_sysctl_u64(SW_AF_INET, "default", "gc_thresh3", &v), 0);
	assert_true(v > 0);
	assert_int_equal(kfacts_neigh_sysctl_u64(SW_AF_INET6, "no-such-if0", "gc_thresh3", &v),
			 -ENOENT);
}

static void test_decode_names(void **state)
{
	static const int refresh_set[] = {EPERM, ENOENT, ENODEV, EINVAL, 0};

	assert_string_equal(decode_family_name(SW_AF_INET), "ipv4");
	assert_string_equal(decode_family_name(SW_AF_INET6), "ipv6");
	/* The metric contract's NUD state values (sipwatch_neigh_state_changes_total{state}). */
	assert_string_equal(decode_nud_state_name(SW_NUD_NONE), "none");
	assert_string_equal(decode_nud_state_name(SW_NUD_INCOMPLETE), "incomplete");
	assert_string_equal(decode_nud_state_name(SW_NUD_REACHABLE), "reachable");
	assert_string_equal(decode_nud_state_name(SW_NUD_STALE), "stale");
	assert_string_equal(decode_nud_state_name(SW_NUD_DELAY), "delay");
	assert_string_equal(decode_nud_state_name(SW_NUD_PROBE), "probe");
	assert_string_equal(decode_nud_state_name(SW_NUD_FAILED), "failed");
	assert_string_equal(decode_nud_state_name(SW_NUD_NOARP), "noarp");
	assert_string_equal(decode_nud_state_name(SW_NUD_PERMANENT), "permanent");
	/* Not a single state (a mask): never one of the contract's values. */
	assert_string_equal(decode_nud_state_name(SW_NUD_STALE | SW_NUD_DELAY), "other");
	for (size_t i = 0; i < sizeof(decode_nud_states); i++)
		assert_string_not_equal(decode_nud_state_name(decode_nud_states[i]), "other");
	assert_string_equal(decode_proto_name(17), "udp");
	assert_string_equal(decode_proto_name(6), "tcp");
	assert_string_equal(decode_proto_name(0), "none");
	assert_string_equal(decode_proto_name(132), "other");
	assert_string_equal(decode_errno_name(EPERM, refresh_set), "eperm");
	assert_string_equal(decode_errno_name(EINVAL, refresh_set), "einval");
	/* Named in the table, but not in this caller's set: "other". */
	assert_string_equal(decode_errno_name(ETIMEDOUT, refresh_set), "other");
	assert_string_equal(decode_errno_name(0, refresh_set), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hz_from_config), cmocka_unit_test(test_hz_from_samples),
	    cmocka_unit_test(test_hz_calibrate),   cmocka_unit_test(test_sysctl),
	    cmocka_unit_test(test_decode_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
