// SPDX-License-Identifier: GPL-2.0-only
/* Interface names by index (agent/ifname.c): the kernel's answer, remembered for a second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ifname.h"

#define SECOND 1000000000ULL

/* Loopback exists in every namespace, with index 1 and the name "lo". */
static void test_loopback_by_index(void **state)
{
	char buf[IF_NAMESIZE];
	unsigned int lo = if_nametoindex("lo");

	assert_true(lo > 0);
	assert_ptr_equal(ifname_of_index(lo, buf), buf);
	assert_string_equal(buf, "lo");
	assert_string_equal(ifname_label((int)lo, buf), "lo");
}

static void test_no_such_interface(void **state)
{
	char buf[IF_NAMESIZE];

	assert_null(ifname_of_index(999999, buf));
	assert_string_equal(ifname_label(999999, buf), "999999");
}

/* A cached answer is the kernel's, whichever slot it sits in and however many indexes were
 * asked for since (more than the cache holds), at any time. */
static void test_cache_answers_like_the_kernel(void **state)
{
	char buf[IF_NAMESIZE], want[IF_NAMESIZE];
	unsigned int lo = if_nametoindex("lo");

	for (unsigned long long t = 1; t < 4 * SECOND; t += SECOND / 3) {
		for (unsigned int i = 1; i < 3 * IFNAME_CACHE_ENTRIES; i++) {
			char *got = ifname_of_index_at(i, buf, t);
			char *kernel = if_indextoname(i, want);

			if (!kernel)
				assert_null(got);
			else
				assert_string_equal(got, want);
		}
		assert_string_equal(ifname_of_index_at(lo, buf, t), "lo");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loopback_by_index),
	    cmocka_unit_test(test_no_such_interface),
	    cmocka_unit_test(test_cache_answers_like_the_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
