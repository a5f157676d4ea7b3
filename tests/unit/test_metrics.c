// SPDX-License-Identifier: GPL-2.0-only
/* The metric registry and its Prometheus text rendering. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static char *render(struct metrics *reg)
{
	struct strbuf sb;

	strbuf_init(&sb);
	metrics_render(reg, &sb);
	return strbuf_detach(&sb, NULL);
}

static void test_counter_and_help_type(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric_family *f = metrics_counter(reg, "x_total", "Things.", LABELS("kind"));
	char *out;

	metric_add(f, LABELS("a"), 2);
	metric_add(f, LABELS("a"), 3);
	out = render(reg);
	assert_string_equal(
	    out, "# HELP x_total Things.\n# TYPE x_total counter\nx_total{kind=\"a\"} 5\n");
	free(out);
	metrics_free(reg);
}

static void test_families_and_series_sorted(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric_family *b = metrics_gauge(reg, "b", "B.", LABELS("l"));
	struct metric_family *a = metrics_gauge(reg, "a", "A.", NO_LABELS);
	char *out;

	metric_set(b, LABELS("z"), 1);
	metric_set(b, LABELS("m"), 2);
	metric_set(a, NO_LABELS, 0.5);
	out = render(reg);
	assert_string_equal(out, "# HELP a A.\n# TYPE a gauge\na 0.5\n"
				 "# HELP b B.\n# TYPE b gauge\nb{l=\"m\"} 2\nb{l=\"z\"} 1\n");
	free(out);
	metrics_free(reg);
}

static void test_label_and_help_escaping(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric_family *f =
	    metrics_gauge(reg, "g", "back\\slash\nnewline \"quoted\"", LABELS("v"));
	char *out;

	metric_set(f, LABELS("a\"b\\c\nd"), 1);
	out = render(reg);
	assert_non_null(strstr(out, "# HELP g back\\\\slash\\nnewline \"quoted\"\n"));
	assert_non_null(strstr(out, "g{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
	free(out);
	metrics_free(reg);
}

/*
 * Issue 17 item 12: an interface or process name is bytes, not UTF-8. A byte that is not part of
 * valid UTF-8 is written as \xNN (so the exposition stays UTF-8 and Prometheus accepts it); valid
 * multi-byte characters pass untouched.
 */
static void test_label_invalid_utf8(void **state)
{
	static const struct {
		const char *in, *label;
	} cases[] = {
	    {"v\xff", "v\\\\xff"},		       /* not a UTF-8 byte at all */
	    {"eth\xc3", "eth\\\\xc3"},		       /* a sequence cut short (16-byte comm) */
	    {"\x80x", "\\\\x80x"},		       /* a stray continuation byte */
	    {"\xc0\xaf", "\\\\xc0\\\\xaf"},	       /* overlong "/" */
	    {"\xed\xa0\x80", "\\\\xed\\\\xa0\\\\x80"}, /* a UTF-16 surrogate */
	    {"\xf4\x90\x80\x80", "\\\\xf4\\\\x90\\\\x80\\\\x80"}, /* over U+10FFFF */
	    {"caf\xc3\xa9", "caf\xc3\xa9"},			  /* valid: é */
	    {"\xf0\x9f\x93\x9e", "\xf0\x9f\x93\x9e"},		  /* valid: 4 bytes */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct metrics *reg = metrics_new();
		struct metric_family *f = metrics_gauge(reg, "g", "h", LABELS("ifname"));
		char want[128], *out;

		metric_set(f, LABELS(cases[i].in), 1);
		out = render(reg);
		snprintf(want, sizeof(want), "g{ifname=\"%s\"} 1\n", cases[i].label);
		if (!strstr(out, want))
			fail_msg("case %zu: want %s in:\n%s", i, want, out);
		free(out);
		metrics_free(reg);
	}
}

static void test_histogram_invariants(void **state)
{
	static const double bounds[] = {0.1, 1, 10};
	struct metrics *reg = metrics_new();
	struct metric_family *h = metrics_histogram(reg, "h_seconds", "H.", LABELS("p"), bounds, 3);
	char *out;

	metric_observe(h, LABELS("udp"), 0.05);
	metric_observe(h, LABELS("udp"), 0.1); /* le is inclusive */
	metric_observe(h, LABELS("udp"), 5);
	metric_observe(h, LABELS("udp"), 50);
	out = render(reg);
	assert_non_null(strstr(out, "h_seconds_bucket{p=\"udp\",le=\"0.1\"} 2\n"));
	assert_non_null(strstr(out, "h_seconds_bucket{p=\"udp\",le=\"1\"} 2\n"));
	assert_non_null(strstr(out, "h_seconds_bucket{p=\"udp\",le=\"10\"} 3\n"));
	assert_non_null(strstr(out, "h_seconds_bucket{p=\"udp\",le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(out, "h_seconds_sum{p=\"udp\"} 55.15\n"));
	assert_non_null(strstr(out, "h_seconds_count{p=\"udp\"} 4\n"));
	/* +Inf bucket comes after the finite ones, then sum, then count. */
	assert_true(strstr(out, "le=\"10\"") < strstr(out, "le=\"+Inf\""));
	assert_true(strstr(out, "_sum") < strstr(out, "_count"));
	free(out);
	metrics_free(reg);
}

static void test_histogram_set_from_counts(void **state)
{
	static const double bounds[] = {1, 2};
	static const uint64_t counts[] = {1, 0, 4};
	struct metrics *reg = metrics_new();
	struct metric_family *h = metrics_histogram(reg, "h", "H.", NO_LABELS, bounds, 2);
	char *out;

	metric_histogram_set(h, NO_LABELS, counts, 42.5);
	out = render(reg);
	assert_non_null(
	    strstr(out, "h_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 5\n"
			"h_sum 42.5\nh_count 5\n"));
	free(out);
	metrics_free(reg);
}

/* Values go only to families of their kind; the others (and no family) are left alone. */
static void test_updates_of_the_wrong_kind_ignored(void **state)
{
	static const double bounds[] = {1};
	static const uint64_t counts[] = {1, 1};
	struct metrics *reg = metrics_new();
	struct metric_family *h = metrics_histogram(reg, "h", "H.", NO_LABELS, bounds, 1);
	struct metric_family *g = metrics_gauge(reg, "g", "G.", NO_LABELS);

	metric_set(h, NO_LABELS, 1);
	metric_add(h, NO_LABELS, 1);
	assert_int_equal(metric_family_series(h), 0);
	metric_observe(g, NO_LABELS, 0.5);
	metric_histogram_set(g, NO_LABELS, counts, 1);
	assert_int_equal(metric_family_series(g), 0);
	metric_set(NULL, NO_LABELS, 1);
	metric_add(NULL, NO_LABELS, 1);
	metric_observe(NULL, NO_LABELS, 1);
	metric_histogram_set(NULL, NO_LABELS, counts, 1);
	metric_observe(h, NO_LABELS, 0.5);
	metric_set(g, NO_LABELS, 3);
	assert_int_equal(metric_family_series(h), 1);
	assert_int_equal(metric_family_series(g), 1);
	assert_true(metric_value(g, NO_LABELS) == 3);
	metrics_free(reg);
}

static void test_rejects_bad_registrations(void **state)
{
	static const double unsorted[] = {2, 1};
	struct metrics *reg = metrics_new();

	assert_non_null(metrics_counter(reg, "ok_total", "x", NO_LABELS));
	assert_null(metrics_counter(reg, "ok_total", "dup", NO_LABELS));
	assert_null(metrics_gauge(reg, "1bad", "x", NO_LABELS));
	assert_null(metrics_gauge(reg, "bad-name", "x", NO_LABELS));
	assert_null(metrics_gauge(reg, "g", "x", LABELS("le")));
	assert_null(metrics_gauge(reg, "g2", "x", LABELS("__reserved")));
	assert_null(metrics_histogram(reg, "h", "x", NO_LABELS, unsorted, 2));
	metrics_free(reg);
}

static void test_value_formatting(void **state)
{
	char buf[64];

	metrics_format_value(buf, sizeof(buf), 3);
	assert_string_equal(buf, "3");
	metrics_format_value(buf, sizeof(buf), 0.1);
	assert_string_equal(buf, "0.1");
	metrics_format_value(buf, sizeof(buf), INFINITY);
	assert_string_equal(buf, "+Inf");
	metrics_format_value(buf, sizeof(buf), -INFINITY);
	assert_string_equal(buf, "-Inf");
	metrics_format_value(buf, sizeof(buf), NAN);
	assert_string_equal(buf, "NaN");
	metrics_format_value(buf, sizeof(buf), 1e20);
	assert_true(strtod(buf, NULL) == 1e20);
}

static void test_clear_and_lookup(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric_family *g = metrics_gauge(reg, "g", "G.", LABELS("a", "b"));

	metric_set(g, LABELS("x", "y"), 7);
	assert_true(metric_value(g, LABELS("x", "y")) == 7);
	assert_true(isnan(metric_value(g, LABELS("x", "z"))));
	assert_int_equal(metric_family_series(g), 1);
	metric_family_clear(g);
	assert_int_equal(metric_family_series(g), 0);
	assert_ptr_equal(metrics_find(reg, "g"), g);
	metrics_free(reg);
}

static void test_many_series_stay_sorted(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric_family *g = metrics_gauge(reg, "g", "G.", LABELS("peer"));
	char name[32], *out, *prev, *cur;

	for (int i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "p%04d", i);
		metric_set(g, LABELS(name), i);
	}
	assert_int_equal(metric_family_series(g), 1000);
	out = render(reg);
	prev = strstr(out, "g{peer=\"p0000\"} 0\n");
	assert_non_null(prev);
	cur = strstr(out, "g{peer=\"p0999\"} 999\n");
	assert_true(cur > prev);
	free(out);
	metrics_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counter_and_help_type),
	    cmocka_unit_test(test_families_and_series_sorted),
	    cmocka_unit_test(test_label_and_help_escaping),
	    cmocka_unit_test(test_label_invalid_utf8),
	    cmocka_unit_test(test_histogram_invariants),
	    cmocka_unit_test(test_histogram_set_from_counts),
	    cmocka_unit_test(test_updates_of_the_wrong_kind_ignored),
	    cmocka_unit_test(test_rejects_bad_registrations),
	    cmocka_unit_test(test_value_formatting),
	    cmocka_unit_test(test_clear_and_lookup),
	    cmocka_unit_test(test_many_series_stay_sorted),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
