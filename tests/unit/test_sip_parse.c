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

/*
 * Every corpus sample, every start line the fast path knows, each cut at every length and with
 * each of its first 16 bytes replaced by characters that sit near the tested ones (case, space,
 * ':', CR, digits, NUL).
 */
static void test_fast_path_agrees_with_general_scan(void **state)
{
	static const char *const lines[] = {
	    "SIP/2.0 100 Trying\r\n",
	    "SIP/2.0 699 X\r\n",
	    "SIP/2.0 700 X\r\n",
	    "REGISTER sip:a SIP/2.0\r\n",
	    "SUBSCRIBE sips:a SIP/2.0\r\n",
	    "OPTIONS tel:1 SIP/2.0\r\n",
	    "INVITE SIP:a SIP/2.0\r\n",
	    "INFO sip:a SIP/2.0\r\n",
	    "ACK sip:a SIP/2.0\r\n",
	    "BYE sip:a SIP/2.0\r\n",
	    "CANCEL sip:a SIP/2.0\r\n",
	    "NOTIFY sip:a SIP/2.0\r\n",
	    "UPDATE sip:a SIP/2.0\r\n",
	    "PRACK sip:a SIP/2.0\r\n",
	    "REFER sip:a SIP/2.0\r\n",
	    "PUBLISH sip:a SIP/2.0\r\n",
	    "MESSAGE sip:a SIP/2.0\r\n",
	    "REGISTERX sip:a SIP/2.0\r\n",
	    "INVITES sip:a SIP/2.0\r\n",
	    "\r\nINVITE sip:a SIP/2.0\r\n",
	};
	static const uint8_t subst[] = {'a',  'A', 'z', 'Z', ' ',  ':', '\r',
					'\n', '0', '9', 0,   0xff, '/'};
	uint8_t buf[SIP_WINDOW + 8];

	for (size_t i = 0; i < SIP_CORPUS_SIZE + sizeof(lines) / sizeof(lines[0]); i++) {
		const uint8_t *src;
		size_t len;
		int transport;

		if (i < SIP_CORPUS_SIZE) {
			src = (const uint8_t *)sip_corpus[i].payload;
			len = sip_sample_len(&sip_corpus[i]);
			transport = sip_corpus[i].transport;
		} else {
			src = (const uint8_t *)lines[i - SIP_CORPUS_SIZE];
			len = strlen(lines[i - SIP_CORPUS_SIZE]);
			transport = (int)(i & 1);
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
	    cmocka_unit_test(test_fast_path_agrees_with_general_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
