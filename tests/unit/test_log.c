// SPDX-License-Identifier: GPL-2.0-only
/* Log lines (logfmt and JSON quoting) and the incident ring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "incident.h"
#include "log.h"

static char captured[8192];

/* Run @fn with stderr captured into `captured`. */
static void capture(void (*fn)(void))
{
	FILE *saved = stderr, *mem = fmemopen(captured, sizeof(captured), "w");

	memset(captured, 0, sizeof(captured));
	stderr = mem;
	fn();
	fflush(mem);
	stderr = saved;
	fclose(mem);
}

static void write_line(void)
{
	struct log_line l;

	if (log_begin(&l, LOG_WARN, "neighbour failed")) {
		log_str(&l, "ifname", "eth0");
		log_str(&l, "note", "has \"quotes\" and spaces");
		log_str(&l, "empty", "");
		log_uint(&l, "probes", 3);
		log_int(&l, "delta", -2);
		log_end(&l);
	}
}

static void test_logfmt_quoting(void **state)
{
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
	capture(write_line);
	assert_non_null(strstr(captured,
			       " level=warn msg=\"neighbour failed\" ifname=eth0 "
			       "note=\"has \\\"quotes\\\" and spaces\" empty=\"\" probes=3 "
			       "delta=-2\n"));
	assert_true(strncmp(captured, "ts=", 3) == 0);
}

static void test_json_line(void **state)
{
	log_setup(LOG_INFO, LOG_FORMAT_JSON);
	capture(write_line);
	assert_true(captured[0] == '{');
	assert_non_null(strstr(captured,
			       "\"level\":\"warn\",\"msg\":\"neighbour failed\","
			       "\"ifname\":\"eth0\",\"note\":\"has \\\"quotes\\\" and spaces\","
			       "\"empty\":\"\",\"probes\":3,\"delta\":-2}\n"));
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
}

/* Issue 17 item 12: bytes that are not UTF-8 never reach a log line or an incident as they are. */
static void write_bad_utf8(void)
{
	struct log_line l;

	if (incident_begin(&l, "bad_utf8", "a name that is not UTF-8")) {
		log_str(&l, "ifname", "v\xff");
		log_str(&l, "comm", "sip\xc3\xa9\xe2\x82"); /* é, then a euro sign cut short */
		log_end(&l);
	}
}

static void test_invalid_utf8_escaped(void **state)
{
	struct strbuf sb;

	incidents_clear();
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
	capture(write_bad_utf8);
	assert_non_null(
	    strstr(captured, " ifname=\"v\\\\xff\" comm=\"sip\xc3\xa9\\\\xe2\\\\x82\"\n"));
	log_setup(LOG_INFO, LOG_FORMAT_JSON);
	capture(write_bad_utf8);
	assert_non_null(
	    strstr(captured, "\"ifname\":\"v\\\\xff\",\"comm\":\"sip\xc3\xa9\\\\xe2\\\\x82\"}\n"));
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
	strbuf_init(&sb);
	incidents_to_json(&sb, "bad_utf8", 10);
	assert_non_null(
	    strstr(sb.data, "\"ifname\":\"v\\\\xff\",\"comm\":\"sip\xc3\xa9\\\\xe2\\\\x82\"}"));
	assert_true(utf8_valid(captured));
	assert_true(utf8_valid(sb.data));
	/* JSON's own escapes for control characters; DEL and valid UTF-8 pass. */
	strbuf_reset(&sb);
	strbuf_json_string(&sb, "a\x01\x7f\t\xe2\x82\xac");
	assert_string_equal(sb.data, "\"a\\u0001\x7f\\t\xe2\x82\xac\"");
	strbuf_free(&sb);
	incidents_clear();
}

static void test_level_filter(void **state)
{
	log_setup(LOG_ERROR, LOG_FORMAT_LOGFMT);
	capture(write_line);
	assert_string_equal(captured, "");
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
}

static void write_incident(void)
{
	struct log_line l;

	incident_begin(&l, "neigh_failed", "neighbour resolution failed");
	log_str(&l, "address", "10.0.0.2");
	log_uint(&l, "dropped", 20);
	log_end(&l);
}

static void test_incident_recorded_even_when_not_printed(void **state)
{
	struct strbuf sb;

	incidents_clear();
	log_setup(LOG_ERROR, LOG_FORMAT_LOGFMT);
	capture(write_incident);
	assert_string_equal(captured, "");
	assert_int_equal(incidents_count(), 1);
	strbuf_init(&sb);
	incidents_to_json(&sb, NULL, 10);
	assert_non_null(strstr(sb.data, "\"kind\":\"neigh_failed\""));
	assert_non_null(strstr(sb.data, "\"address\":\"10.0.0.2\",\"dropped\":20}"));
	strbuf_free(&sb);
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
	capture(write_incident);
	assert_non_null(strstr(captured, "incident=neigh_failed"));
	incidents_clear();
}

static void test_incident_ring_bounded_newest_first(void **state)
{
	struct strbuf sb;
	char json[64];

	incidents_clear();
	for (int i = 0; i < INCIDENT_RING_SIZE + 10; i++) {
		snprintf(json, sizeof(json), "{\"n\":%d}", i);
		incident_record(i % 2 ? "odd" : "even", json);
	}
	assert_int_equal(incidents_count(), INCIDENT_RING_SIZE);
	strbuf_init(&sb);
	incidents_to_json(&sb, NULL, 2);
	snprintf(json, sizeof(json), "[{\"n\":%d},{\"n\":%d}]\n", INCIDENT_RING_SIZE + 9,
		 INCIDENT_RING_SIZE + 8);
	assert_string_equal(sb.data, json);
	strbuf_reset(&sb);
	incidents_to_json(&sb, "even", 1);
	snprintf(json, sizeof(json), "[{\"n\":%d}]\n", INCIDENT_RING_SIZE + 8);
	assert_string_equal(sb.data, json);
	strbuf_free(&sb);
	incidents_clear();
	assert_int_equal(incidents_count(), 0);
}

static char sunk_kind[32], sunk_json[512];
static int sunk;

static void recording_sink(const char *kind, const char *json)
{
	snprintf(sunk_kind, sizeof(sunk_kind), "%s", kind);
	snprintf(sunk_json, sizeof(sunk_json), "%s", json);
	sunk++;
}

/* The logger keeps nothing itself: an incident goes to whichever sink the top wired, or nowhere. */
static void test_incident_goes_to_the_sink(void **state)
{
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
	incidents_clear();
	sunk = 0;
	log_set_incident_sink(recording_sink);
	capture(write_incident);
	assert_int_equal(sunk, 1);
	assert_string_equal(sunk_kind, "neigh_failed");
	assert_true(strncmp(sunk_json, "{\"ts\":", 6) == 0);
	assert_non_null(strstr(sunk_json, "\"kind\":\"neigh_failed\",\"level\":\"warn\","
					  "\"msg\":\"neighbour resolution failed\""));
	assert_int_equal(incidents_count(), 0);

	log_set_incident_sink(NULL);
	capture(write_incident);
	assert_int_equal(sunk, 1);
	assert_non_null(strstr(captured, "incident=neigh_failed"));
	assert_int_equal(incidents_count(), 0);
	log_set_incident_sink(incident_record);
}

/* As the agent does (main.c): incidents are kept in the ring. */
static int wire_ring(void **state)
{
	log_set_incident_sink(incident_record);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_logfmt_quoting),
	    cmocka_unit_test(test_json_line),
	    cmocka_unit_test(test_invalid_utf8_escaped),
	    cmocka_unit_test(test_level_filter),
	    cmocka_unit_test(test_incident_recorded_even_when_not_printed),
	    cmocka_unit_test(test_incident_ring_bounded_newest_first),
	    cmocka_unit_test(test_incident_goes_to_the_sink),
	};

	return cmocka_run_group_tests_name("log", tests, wire_ring, NULL);
}
