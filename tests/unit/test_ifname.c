// SPDX-License-Identifier: GPL-2.0-only
/* Interface names by index (agent/ifname.c): the kernel's answer, remembered for a second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
			char *got = ifname_of_index_at(i, buf, t, if_indextoname);
			char *kernel = if_indextoname(i, want);

			if (!kernel)
				assert_null(got);
			else
				assert_string_equal(got, want);
		}
		assert_string_equal(ifname_of_index_at(lo, buf, t, if_indextoname), "lo");
	}
}

/* A stand-in for the kernel: one interface that the test renames and deletes. */
static struct {
	unsigned int ifindex;
	const char *name; /* NULL: no such interface */
	int lookups;
} kernel;

static char *fake_indextoname(unsigned int ifindex, char *buf)
{
	kernel.lookups++;
	if (ifindex != kernel.ifindex || !kernel.name)
		return NULL;
	snprintf(buf, IF_NAMESIZE, "%s", kernel.name);
	return buf;
}

static const char *name_at(unsigned long long t, char *buf)
{
	return ifname_of_index_at(kernel.ifindex, buf, t, fake_indextoname);
}

/*
 * What the cache is for: one question to the kernel per interface and second. A renamed interface
 * keeps its old name for the rest of the second its name was learnt in and shows the new one
 * after it; a deleted one likewise, and "no such interface" is remembered for a second too.
 */
static void test_cache_keeps_a_name_for_a_second(void **state)
{
	const unsigned long long t0 = 100 * SECOND, t1 = t0 + IFNAME_CACHE_NS;
	char buf[IF_NAMESIZE];

	/* an index and times no other test asks for */
	kernel.ifindex = 4242;
	kernel.name = "sip0";
	kernel.lookups = 0;
	assert_string_equal(name_at(t0, buf), "sip0");
	assert_int_equal(kernel.lookups, 1);

	kernel.name = "sip1"; /* renamed */
	assert_string_equal(name_at(t0 + 1, buf), "sip0");
	assert_string_equal(name_at(t1 - 1, buf), "sip0");
	assert_int_equal(kernel.lookups, 1);
	assert_string_equal(name_at(t1, buf), "sip1");
	assert_int_equal(kernel.lookups, 2);

	kernel.name = NULL; /* deleted */
	assert_string_equal(name_at(t1 + IFNAME_CACHE_NS - 1, buf), "sip1");
	assert_int_equal(kernel.lookups, 2);
	assert_null(name_at(t1 + IFNAME_CACHE_NS, buf));
	assert_null(name_at(t1 + 2 * IFNAME_CACHE_NS - 1, buf));
	assert_int_equal(kernel.lookups, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loopback_by_index),
	    cmocka_unit_test(test_no_such_interface),
	    cmocka_unit_test(test_cache_answers_like_the_kernel),
	    cmocka_unit_test(test_cache_keeps_a_name_for_a_second),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
