// SPDX-License-Identifier: GPL-2.0-only
/* The SIP classifier (include/sip_parse.h) compiled by gcc, on the corpus the BPF test uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sip_parse.h"
#include "../bpf/sip_corpus.h"

static int classify(const void *payload, size_t len, int transport)
{
	struct sip_window w = {0};

	memcpy(w.b, payload, len < SIP_WINDOW ? len : SIP_WINDOW);
	return sip_classify(&w, (__u32)len, (__u32)transport);
}

static void test_corpus(void **state)
{
	for (size_t i = 0; i < SIP_CORPUS_SIZE; i++) {
		const struct sip_sample *s = &sip_corpus[i];
		int got = classify(s->payload, sip_sample_len(s), s->transport);

		if (got != s->kind)
			fail_msg("%s: classified %d, expected %d", s->name, got, s->kind);
	}
}

static void test_empty_is_not_counted(void **state)
{
	assert_int_equal(classify("", 0, SIP_TRANSPORT_TCP), SIP_NONE);
	assert_int_equal(classify("", 0, SIP_TRANSPORT_UDP), SIP_NONE);
}

/* Every proper prefix of a request line that stops before the URI scheme is not a request. */
static void test_truncated_start_lines(void **state)
{
	const char *req = "REGISTER sip:pbx SIP/2.0\r\n\r\n";
	const char *resp = "SIP/2.0 180 Ringing\r\n\r\n";

	for (size_t n = 1; n < strlen("REGISTER sip:"); n++)
		assert_int_equal(classify(req, n, SIP_TRANSPORT_TCP), SIP_UNPARSED_TCP_MIDSTREAM);
	assert_int_equal(classify(req, strlen("REGISTER sip:"), SIP_TRANSPORT_TCP),
			 SIP_REQ_REGISTER);
	for (size_t n = 1; n < strlen("SIP/2.0 180"); n++)
		assert_int_equal(classify(resp, n, SIP_TRANSPORT_UDP), SIP_UNPARSED_UDP_NOT_SIP);
	/* "SIP/2.0 180" plus one byte: 12 bytes, a complete status code */
	assert_int_equal(classify(resp, 12, SIP_TRANSPORT_UDP), SIP_RESP_1XX);
}

/* A long payload: only the window is looked at, and the length decides ping vs. message. */
static void test_long_payload(void **state)
{
	char buf[1500];

	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "MESSAGE sip:a@b SIP/2.0\r\n", 25);
	assert_int_equal(classify(buf, sizeof(buf), SIP_TRANSPORT_UDP), SIP_REQ_MESSAGE);
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "\r\n\r\n", 4);
	assert_int_equal(classify(buf, sizeof(buf), SIP_TRANSPORT_TCP), SIP_UNPARSED_TCP_MIDSTREAM);
}

/* Both paths of the classifier on one payload: the word-compare fast path may only ever agree. */
static void expect_paths_agree(const uint8_t *payload, size_t len, int transport)
{
	struct sip_window w = {0};
	int fast, general;

	memcpy(w.b, payload, len < SIP_WINDOW ? len : SIP_WINDOW);
	fast = sip_classify_with(&w, (__u32)len, (__u32)transport, 1);
	general = sip_classify_with(&w, (__u32)len, (__u32)transport, 0);
	if (fast != general)
		fail_msg("\"%.*s\" (%zu bytes): fast path %d, general scan %d", (int)len,
			 (const char *)payload, len, fast, general);
}

/* Every method of the classifier's table (include/sip_parse.h), as the table gives it. */
struct method {
	const char *token;
	int kind;
};

#define METHOD_ENTRY(token, kind) {token, kind},
static const struct method methods[] = {SIP_METHODS(METHOD_ENTRY)};
#define NR_METHODS (sizeof(methods) / sizeof(methods[0]))

/* "TOKEN sip:a SIP/2.0\r\n" for a method of the table. */
static size_t method_line(char *buf, size_t size, const struct method *m)
{
	int len = snprintf(buf, size, "%s sip:a SIP/2.0\r\n", m->token);

	assert_true(len > 0 && (size_t)len < size);
	return (size_t)len;
}

/* Each request kind but SIP_REQ_OTHER is in the table once, and each entry is a valid token. */
static void test_method_table_covers_every_request_kind(void **state)
{
	int times[SIP_KIND_MAX] = {0};

	for (size_t i = 0; i < NR_METHODS; i++) {
		size_t len = strlen(methods[i].token);

		assert_in_range(methods[i].kind, SIP_FIRST_REQUEST, SIP_REQ_OTHER - 1);
		times[methods[i].kind]++;
		assert_in_range(len, 1, SIP_MAX_METHOD_LEN);
		for (size_t k = 0; k < len; k++)
			assert_in_range(methods[i].token[k], 'A', 'Z');
	}
	for (int kind = SIP_FIRST_REQUEST; kind < SIP_REQ_OTHER; kind++)
		if (times[kind] != 1)
			fail_msg("request kind %d is in the method table %d times", kind,
				 times[kind]);
}

/*
 * Each table entry's request line is the fast path's own (it does not leave it to the general
 * scan), and the general scan alone finds the same method.
 */
static void test_every_method_through_both_paths(void **state)
{
	char line[64];

	for (size_t i = 0; i < NR_METHODS; i++) {
		size_t len = method_line(line, sizeof(line), &methods[i]);
		struct sip_window w = {0};
		int fast, general;

		memcpy(w.b, line, len);
		fast = sip_start_line_fast(&w, (__u32)len);
		for (int transport = 0; transport < SIP_TRANSPORT_MAX; transport++) {
			general = sip_start_line(w.b, (__u32)len, (__u32)len, (__u32)transport);
			if (fast != methods[i].kind || general != methods[i].kind)
				fail_msg("%s: fast path %d, general scan %d, table %d",
					 methods[i].token, fast, general, methods[i].kind);
		}
	}
}

/*
 * Every corpus sample, every start line the fast path knows (each method of the table and the
 * lines below), each cut at every length and with each of its first 16 bytes replaced by
 * characters that sit near the tested ones (case, space, ':', CR, digits, NUL).
 */
static void test_fast_path_agrees_with_general_scan(void **state)
{
	static const char *const lines[] = {
	    "SIP/2.0 100 Trying\r\n",
	    "SIP/2.0 699 X\r\n",
	    "SIP/2.0 700 X\r\n",
	    "SUBSCRIBE sips:a SIP/2.0\r\n",
	    "OPTIONS tel:1 SIP/2.0\r\n",
	    "INVITE SIP:a SIP/2.0\r\n",
	    "REGISTERX sip:a SIP/2.0\r\n",
	    "INVITES sip:a SIP/2.0\r\n",
	    "\r\nINVITE sip:a SIP/2.0\r\n",
	};
	static const uint8_t subst[] = {'a',  'A', 'z', 'Z', ' ',  ':', '\r',
					'\n', '0', '9', 0,   0xff, '/'};
	const size_t nr_lines = sizeof(lines) / sizeof(lines[0]);
	uint8_t buf[SIP_WINDOW + 8];
	char method[64];

	for (size_t i = 0; i < SIP_CORPUS_SIZE + nr_lines + NR_METHODS; i++) {
		const uint8_t *src;
		size_t len;
		int transport = (int)(i & 1);

		if (i < SIP_CORPUS_SIZE) {
			src = (const uint8_t *)sip_corpus[i].payload;
			len = sip_sample_len(&sip_corpus[i]);
			transport = sip_corpus[i].transport;
		} else if (i < SIP_CORPUS_SIZE + nr_lines) {
			src = (const uint8_t *)lines[i - SIP_CORPUS_SIZE];
			len = strlen(lines[i - SIP_CORPUS_SIZE]);
		} else {
			len = method_line(method, sizeof(method),
					  &methods[i - SIP_CORPUS_SIZE - nr_lines]);
			src = (const uint8_t *)method;
		}
		if (len > sizeof(buf))
			len = sizeof(buf);
		for (size_t cut = 1; cut <= len; cut++)
			expect_paths_agree(src, cut, transport);
		for (size_t pos = 0; pos < 16 && pos < len; pos++)
			for (size_t k = 0; k < sizeof(subst); k++) {
				memcpy(buf, src, len);
				buf[pos] = subst[k];
				expect_paths_agree(buf, len, transport);
			}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus),
	    cmocka_unit_test(test_empty_is_not_counted),
	    cmocka_unit_test(test_truncated_start_lines),
	    cmocka_unit_test(test_long_payload),
	    cmocka_unit_test(test_method_table_covers_every_request_kind),
	    cmocka_unit_test(test_every_method_through_both_paths),
	    cmocka_unit_test(test_fast_path_agrees_with_general_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
