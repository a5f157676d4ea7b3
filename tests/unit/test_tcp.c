// SPDX-License-Identifier: GPL-2.0-only
/* TCP concern helpers: label values, detection-time arithmetic, endpoints (HZ: test_kfacts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "decode.h"
#include "tcp.h"

static void test_cause_names(void **state)
{
	assert_string_equal(tcp_cause_name(TCP_CAUSE_KEEPALIVE), "keepalive");
	assert_string_equal(tcp_cause_name(TCP_CAUSE_RETRANSMISSION), "retransmission");
	assert_string_equal(tcp_cause_name(TCP_CAUSE_USER_TIMEOUT), "user_timeout");
	assert_string_equal(tcp_cause_name(TCP_CAUSE_UNREACHABLE), "unreachable");
	assert_string_equal(tcp_cause_name(TCP_CAUSE_MAX), "other");
	assert_string_equal(tcp_error_name(ETIMEDOUT), "etimedout");
	assert_string_equal(tcp_error_name(EHOSTUNREACH), "ehostunreach");
	assert_string_equal(tcp_error_name(ENETUNREACH), "enetunreach");
	assert_string_equal(tcp_error_name(0), "other");
	/* Named elsewhere (refresh), but not an error a TCP timeout leaves: kept out of the set. */
	assert_string_equal(tcp_error_name(EPERM), "other");
}

static void test_detection_seconds(void **state)
{
	struct tcp_keepalive_settings ka = {
	    .idle_jiffies = 7200 * 250, .intvl_jiffies = 75 * 250, .probes = 9, .enabled = 1};

	/* The kernel defaults: 2 h + 9 x 75 s. */
	assert_true(tcp_detection_seconds(&ka, 250) == 7875.0);
	ka.idle_jiffies = 2 * 1000;
	ka.intvl_jiffies = 1 * 1000;
	ka.probes = 2;
	assert_true(tcp_detection_seconds(&ka, 1000) == 4.0);
	assert_true(tcp_detection_seconds(&ka, 0) < 0); /* HZ unknown */
	ka.enabled = 0;
	assert_true(tcp_detection_seconds(&ka, 1000) < 0); /* never detected */
}

static void test_format_endpoint(void **state)
{
	const uint8_t v4[16] = {10, 99, 0, 1};
	const uint8_t v6[16] = {0xfd, 0x99, [15] = 1};
	char buf[64];

	decode_endpoint(buf, sizeof(buf), SW_AF_INET, v4, 5060);
	assert_string_equal(buf, "10.99.0.1:5060");
	decode_endpoint(buf, sizeof(buf), SW_AF_INET6, v6, 5061);
	assert_string_equal(buf, "[fd99::1]:5061");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cause_names),
	    cmocka_unit_test(test_detection_seconds),
	    cmocka_unit_test(test_format_endpoint),
	};

	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
