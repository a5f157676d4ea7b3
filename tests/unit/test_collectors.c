// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-concern collector status (issue 21 item 2), as node_exporter reports its collectors:
 * sipwatch_collector_success / sipwatch_collector_duration_seconds{concern} for every concern
 * with a collect(), 0 for one whose start() failed; a failing tick() is a rate-limited warning.
 * Driven with a fake concern list handed to the agent.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "agent.h"
#include "log.h"

static int ok(struct agent *ag)
{
	return 0;
}

static int fails_with_eio(struct agent *ag)
{
	return -EIO;
}

static int fails_with_enoent(struct agent *ag)
{
	return -ENOENT;
}

static int flaky_err = -EIO;
static int flaky_collect(struct agent *ag)
{
	return flaky_err;
}

static int slow_collect(struct agent *ag)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	nanosleep(&ts, NULL);
	return 0;
}

static const struct concern healthy = {.name = "healthy", .start = ok, .collect = ok};
static const struct concern flaky = {
    .name = "flaky", .start = ok, .collect = flaky_collect, .tick = fails_with_eio};
static const struct concern unstarted = {
    .name = "unstarted", .start = fails_with_enoent, .collect = ok};
static const struct concern slow = {.name = "slow", .start = ok, .collect = slow_collect};
static const struct concern tick_only = {.name = "tick_only", .start = ok, .tick = ok};

static const struct concern *const fakes[] = {&healthy, &flaky,	    &unstarted,
					      &slow,	&tick_only, NULL};

static char captured[8192];
static FILE *capture_file;

static void capture_begin(void)
{
	memset(captured, 0, sizeof(captured));
	capture_file = fmemopen(captured, sizeof(captured), "w");
	stderr = capture_file;
}

static void capture_end(FILE *saved)
{
	fflush(capture_file);
	stderr = saved;
	fclose(capture_file);
}

static int started_calls, started_errs[8];
static void on_started(struct agent *ag, const struct concern *c, int err)
{
	started_errs[started_calls++] = err;
}

static struct agent *agent_up(void)
{
	struct agent *ag = calloc(1, sizeof(*ag));
	FILE *saved = stderr;

	assert_non_null(ag);
	ag->epfd = -1;
	ag->concerns = fakes;
	capture_begin(); /* a host without kernel BTF says so: not this test's business */
	assert_int_equal(agent_init(ag), 0);
	capture_end(saved);
	return ag;
}

static void agent_down(struct agent *ag)
{
	agent_fini(ag);
	free(ag);
}

static double value(struct agent *ag, const char *family, const char *concern)
{
	return metric_value(metrics_find(ag->reg, family), LABELS(concern));
}

static double success(struct agent *ag, const char *concern)
{
	return value(ag, "sipwatch_collector_success", concern);
}

static double duration(struct agent *ag, const char *concern)
{
	return value(ag, "sipwatch_collector_duration_seconds", concern);
}

static void test_success_per_concern(void **state)
{
	struct agent *ag = agent_up();
	FILE *saved = stderr;

	started_calls = 0;
	agent_start_concerns(ag, on_started);
	assert_int_equal(started_calls, 5);
	assert_int_equal(started_errs[1], 0);
	assert_int_equal(started_errs[2], -ENOENT);

	flaky_err = -EIO;
	capture_begin();
	agent_collect(ag);
	capture_end(saved);
	assert_true(success(ag, "healthy") == 1);
	assert_true(success(ag, "slow") == 1);
	assert_true(success(ag, "flaky") == 0);
	/* collect() succeeded, but the concern never started: its metrics are not being kept */
	assert_true(success(ag, "unstarted") == 0);
	/* no collect(), nothing to report */
	assert_true(isnan(success(ag, "tick_only")));
	assert_true(isnan(duration(ag, "tick_only")));
	assert_int_equal(metric_family_series(metrics_find(ag->reg, "sipwatch_collector_success")),
			 4);

	/* "last collect": a concern that recovers reports 1 at the next scrape */
	flaky_err = 0;
	agent_collect(ag);
	assert_true(success(ag, "flaky") == 1);
	assert_true(success(ag, "unstarted") == 0);
	agent_down(ag);
}

static void test_duration_is_measured(void **state)
{
	struct agent *ag = agent_up();

	agent_start_concerns(ag, NULL);
	flaky_err = 0;
	agent_collect(ag);
	assert_true(duration(ag, "slow") >= 0.02);
	assert_true(duration(ag, "slow") < 5);
	assert_true(duration(ag, "healthy") >= 0);
	assert_true(duration(ag, "healthy") < duration(ag, "slow"));
	/* a concern that did not start still has its collect() timed */
	assert_true(duration(ag, "unstarted") >= 0);
	agent_down(ag);
}

static void test_rendered_with_help(void **state)
{
	struct agent *ag = agent_up();
	struct strbuf out;

	agent_start_concerns(ag, NULL);
	flaky_err = 0;
	agent_collect(ag);
	strbuf_init(&out);
	metrics_render(ag->reg, &out);
	assert_false(out.oom);
	assert_non_null(strstr(out.data, "# TYPE sipwatch_collector_success gauge\n"));
	assert_non_null(strstr(out.data, "# TYPE sipwatch_collector_duration_seconds gauge\n"));
	assert_non_null(strstr(out.data, "sipwatch_collector_success{concern=\"healthy\"} 1\n"));
	assert_non_null(strstr(out.data, "sipwatch_collector_success{concern=\"unstarted\"} 0\n"));
	/* the HELP text says what a concern that did not start reports */
	assert_non_null(strstr(out.data, "# HELP sipwatch_collector_success "));
	assert_non_null(
	    strstr(strstr(out.data, "# HELP sipwatch_collector_success "), "did not start"));
	strbuf_free(&out);
	agent_down(ag);
}

static int count(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_failing_tick_warns_rate_limited(void **state)
{
	struct agent *ag = agent_up();
	FILE *saved = stderr;

	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
	agent_start_concerns(ag, NULL);
	capture_begin();
	agent_tick(ag);
	agent_tick(ag);
	agent_tick(ag);
	capture_end(saved);
	assert_int_equal(count(captured, "msg=\"concern tick failed\""), 1);
	assert_non_null(strstr(captured, " level=warn msg=\"concern tick failed\" concern=flaky "
					 "error=\"Input/output error\"\n"));
	/* a tick that returns 0 says nothing */
	assert_int_equal(count(captured, "tick_only"), 0);
	agent_down(ag);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_success_per_concern),
	    cmocka_unit_test(test_duration_is_measured),
	    cmocka_unit_test(test_rendered_with_help),
	    cmocka_unit_test(test_failing_tick_warns_rate_limited),
	};

	return cmocka_run_group_tests_name("collectors", tests, NULL, NULL);
}
