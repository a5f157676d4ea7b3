// SPDX-License-Identifier: GPL-2.0-only
/* The refresh token bucket and mode parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "refresh.h"

static void test_bucket_starts_full_then_paces(void **state)
{
	struct token_bucket tb;
	int taken = 0;

	token_bucket_init(&tb, 2, 2, 1000);
	while (token_bucket_take(&tb, 1000))
		taken++;
	assert_int_equal(taken, 2); /* the burst */
	assert_false(token_bucket_take(&tb, 1400));
	assert_true(token_bucket_take(&tb, 1500)); /* 0.5 s at 2/s = one token */
	assert_false(token_bucket_take(&tb, 1500));
}

static void test_bucket_never_exceeds_rate_over_time(void **state)
{
	struct token_bucket tb;
	int taken = 0;

	/* Asking every millisecond for 10 s at 3/s: at most the burst plus 3 per second. */
	token_bucket_init(&tb, 3, 3, 0);
	for (uint64_t t = 0; t <= 10000; t++)
		taken += token_bucket_take(&tb, t);
	assert_true(taken <= 3 + 30);
	assert_true(taken >= 30);
}

static void test_bucket_burst_caps_idle_savings(void **state)
{
	struct token_bucket tb;
	int taken = 0;

	token_bucket_init(&tb, 1, 1, 0);
	assert_true(token_bucket_take(&tb, 0));
	/* An hour idle saves no more than the burst. */
	while (token_bucket_take(&tb, 3600000))
		taken++;
	assert_int_equal(taken, 1);
}

static void test_fractional_rate(void **state)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 0.5, 1, 0);
	assert_true(token_bucket_take(&tb, 0));
	assert_false(token_bucket_take(&tb, 1999));
	assert_true(token_bucket_take(&tb, 2000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket_starts_full_then_paces),
	    cmocka_unit_test(test_bucket_never_exceeds_rate_over_time),
	    cmocka_unit_test(test_bucket_burst_caps_idle_savings),
	    cmocka_unit_test(test_fractional_rate),
	};

	return cmocka_run_group_tests_name("refresh", tests, NULL, NULL);
}
