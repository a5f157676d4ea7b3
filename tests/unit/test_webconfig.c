// SPDX-License-Identifier: GPL-2.0-only
/*
 * Basic auth on the event loop (issue 17 item 14): a remembered success costs no bcrypt, an
 * unknown user costs the same bcrypt as a wrong password, the cache is bounded in size and time,
 * and checks beyond the bcrypt budget are refused unhashed. bcrypt is counted, not timed: the
 * check goes through webconfig_crypt, replaced here by crypt_r plus a counter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "webconfig.h"

#define SEC 1000000000ULL

static int crypt_calls;
static char last_setting[128];

static char *counting_crypt(const char *phrase, const char *setting, struct crypt_data *data)
{
	crypt_calls++;
	snprintf(last_setting, sizeof(last_setting), "%s", setting);
	return crypt_r(phrase, setting, data);
}

/* A web config with users "prometheus" and "alice" (password "s3cret", bcrypt cost 4). */
static struct webconfig wc;
static char prom_hash[128];

static int setup(void **state)
{
	char path[] = "/tmp/test_webconfig.XXXXXX", err[256], salt[64];
	struct crypt_data data;
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
	memset(&data, 0, sizeof(data));
	snprintf(prom_hash, sizeof(prom_hash), "%s", crypt_r("s3cret", salt, &data));
	fprintf(f, "basic_auth_users:\n  prometheus: '%s'\n  alice: '%s'\n", prom_hash, prom_hash);
	fclose(f);
	assert_int_equal(webconfig_load(path, &wc, err, sizeof(err)), 0);
	unlink(path);
	webconfig_crypt = counting_crypt;
	return 0;
}

static int teardown(void **state)
{
	webconfig_free(&wc);
	webconfig_crypt = crypt_r;
	return 0;
}

static enum webconfig_auth check(const char *user, const char *password, uint64_t now)
{
	return webconfig_authorize(&wc, user, password, now);
}

static void test_siphash_vectors(void **state)
{
	uint8_t key[16], msg[15];

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* The reference implementation's vectors (vectors.h): empty input and 15 bytes. */
	assert_true(webconfig_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(webconfig_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
}

static void test_success_remembered(void **state)
{
	uint64_t t = 1000 * SEC;

	crypt_calls = 0;
	assert_int_equal(check("prometheus", "s3cret", t), WEBCONFIG_AUTH_OK);
	assert_int_equal(crypt_calls, 1);
	/* Every scrape after that, for the cache's lifetime: no bcrypt. */
	for (int i = 1; i <= 100; i++)
		assert_int_equal(check("prometheus", "s3cret", t + i * SEC), WEBCONFIG_AUTH_OK);
	assert_int_equal(crypt_calls, 1);
	/* The cache holds the pair, not the user: another password is hashed and refused. */
	assert_int_equal(check("prometheus", "s3cret ", t + 101 * SEC), WEBCONFIG_AUTH_DENIED);
	assert_int_equal(crypt_calls, 2);
	/* Nor another user with the same password. */
	assert_int_equal(check("alice", "s3cret", t + 102 * SEC), WEBCONFIG_AUTH_OK);
	assert_int_equal(crypt_calls, 3);
	/* Expired: hashed again. */
	assert_int_equal(check("prometheus", "s3cret", t + WEBCONFIG_AUTH_CACHE_NS + 1),
			 WEBCONFIG_AUTH_OK);
	assert_int_equal(crypt_calls, 4);
}

static void test_unknown_user_costs_a_bcrypt(void **state)
{
	uint64_t t = 5000 * SEC;

	crypt_calls = 0;
	assert_int_equal(check("prometheus", "wrong", t), WEBCONFIG_AUTH_DENIED);
	assert_int_equal(crypt_calls, 1);
	assert_string_equal(last_setting, prom_hash);
	last_setting[0] = '\0';
	/* An unknown user: one bcrypt against a configured hash (same cost), then refused. */
	assert_int_equal(check("root", "s3cret", t + 10 * SEC), WEBCONFIG_AUTH_DENIED);
	assert_int_equal(crypt_calls, 2);
	assert_string_equal(last_setting, prom_hash);
	/* Refusals are not remembered. */
	assert_int_equal(check("root", "s3cret", t + 20 * SEC), WEBCONFIG_AUTH_DENIED);
	assert_int_equal(crypt_calls, 3);
}

/* A stand-in under which every password of a known user matches: many distinct successes. */
static char *always_matches(const char *phrase, const char *setting, struct crypt_data *data)
{
	crypt_calls++;
	return (char *)setting;
}

static void test_cache_bounded(void **state)
{
	uint64_t t = 9000 * SEC;
	int n = WEBCONFIG_AUTH_CACHE_ENTRIES * 2;

	webconfig_crypt = always_matches;
	crypt_calls = 0;
	for (int i = 0; i < n; i++) {
		char pw[16];

		snprintf(pw, sizeof(pw), "pw%d", i);
		assert_int_equal(check("prometheus", pw, t + (uint64_t)i * SEC), WEBCONFIG_AUTH_OK);
	}
	assert_int_equal(crypt_calls, n);
	/* The newest ENTRIES are remembered, the older ones were replaced: hashed again. */
	crypt_calls = 0;
	for (int i = n - WEBCONFIG_AUTH_CACHE_ENTRIES; i < n; i++) {
		char pw[16];

		snprintf(pw, sizeof(pw), "pw%d", i);
		assert_int_equal(check("prometheus", pw, t + (uint64_t)n * SEC), WEBCONFIG_AUTH_OK);
	}
	assert_int_equal(crypt_calls, 0);
	assert_int_equal(check("prometheus", "pw0", t + (uint64_t)(n + 1) * SEC),
			 WEBCONFIG_AUTH_OK);
	assert_int_equal(crypt_calls, 1);
	webconfig_crypt = counting_crypt;
}

static void test_bcrypt_budget(void **state)
{
	uint64_t t = 20000 * SEC;
	int busy = 0, denied = 0;

	assert_int_equal(check("prometheus", "s3cret", t), WEBCONFIG_AUTH_OK);
	t += 10 * SEC; /* a full bucket */
	crypt_calls = 0;
	/* 50 wrong guesses in the same instant: the burst is hashed, the rest refused unhashed. */
	for (int i = 0; i < 50; i++) {
		enum webconfig_auth r = check(i % 2 ? "root" : "prometheus", "guess", t);

		busy += r == WEBCONFIG_AUTH_BUSY;
		denied += r == WEBCONFIG_AUTH_DENIED;
	}
	assert_int_equal(crypt_calls, WEBCONFIG_BCRYPT_BURST);
	assert_int_equal(denied, WEBCONFIG_BCRYPT_BURST);
	assert_int_equal(busy, 50 - WEBCONFIG_BCRYPT_BURST);
	/* The remembered scraper is still let in while the budget is spent. */
	assert_int_equal(check("prometheus", "s3cret", t), WEBCONFIG_AUTH_OK);
	assert_int_equal(crypt_calls, WEBCONFIG_BCRYPT_BURST);
	/* A second later, WEBCONFIG_BCRYPT_PER_SECOND more checks. */
	crypt_calls = 0;
	for (int i = 0; i < 10; i++)
		check("root", "guess", t + SEC);
	assert_int_equal(crypt_calls, WEBCONFIG_BCRYPT_PER_SECOND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_siphash_vectors),
	    cmocka_unit_test(test_success_remembered),
	    cmocka_unit_test(test_unknown_user_costs_a_bcrypt),
	    cmocka_unit_test(test_cache_bounded),
	    cmocka_unit_test(test_bcrypt_budget),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
