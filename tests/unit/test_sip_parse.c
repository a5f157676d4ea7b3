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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus),
	    cmocka_unit_test(test_empty_is_not_counted),
	    cmocka_unit_test(test_truncated_start_lines),
	    cmocka_unit_test(test_long_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
