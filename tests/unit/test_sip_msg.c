// SPDX-License-Identifier: GPL-2.0-only
/* The agent's bounded SIP header parser (agent/sip_msg.c): fields, forms, and every way a message
 * is refused, including each truncation of a good one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sip_abi.h"
#include "sip_msg.h"

static const char register_req[] = "REGISTER sip:pbx.example.com SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 10.99.0.2:5062;rport;branch=z9hG4bK-abc.1\r\n"
				   "Via: SIP/2.0/UDP 10.99.0.9;branch=z9hG4bKsecond\r\n"
				   "Max-Forwards: 70\r\n"
				   "From: \"Phone, 201\" <sip:201@pbx.example.com>;tag=f1\r\n"
				   "To: <sip:201@pbx.example.com>\r\n"
				   "Call-ID: c1@10.99.0.2\r\n"
				   "CSeq: 7 REGISTER\r\n"
				   "Contact: <sip:201@10.99.0.2:5062;transport=udp>;expires=60\r\n"
				   "Content-Length: 0\r\n"
				   "\r\n";

static const char ok_compact[] =
    "SIP/2.0 200 OK\r\n"
    "v: SIP/2.0/TCP [fd99::2]:5060 ; branch = z9hG4bKx\r\n"
    "f: sip:201@pbx;tag=a\n" /* a bare LF is tolerated */
    "t: sip:201@pbx;tag=b\r\n"
    "i: id-2\r\n"
    "cseq: 8 REGISTER\r\n"
    "m: <sip:201@10.99.0.2:5062>;expires=45, <sip:201@10.99.0.7>;expires=30\r\n"
    "m: <sip:201@10.99.0.8>\r\n"
    "EXPIRES: 120\r\n"
    "\r\n";

static enum sip_msg_error parse(const char *s, struct sip_msg *m)
{
	return sip_msg_parse(s, strlen(s), false, m);
}

static void test_register_fields(void **state)
{
	struct sip_msg m;

	assert_int_equal(parse(register_req, &m), SIP_MSG_OK);
	assert_true(m.request);
	assert_int_equal(m.method, SIP_REQ_REGISTER);
	assert_true(sip_str_eq(m.request_uri, "sip:pbx.example.com"));
	assert_true(sip_str_eq(m.via_branch, "z9hG4bK-abc.1")); /* the top Via only */
	assert_true(sip_str_eq(m.via_sent_by, "10.99.0.2:5062"));
	assert_int_equal(m.cseq, 7);
	assert_int_equal(m.cseq_method, SIP_REQ_REGISTER);
	assert_true(sip_str_eq(m.call_id, "c1@10.99.0.2"));
	assert_true(sip_str_eq(m.from.uri, "sip:201@pbx.example.com"));
	assert_true(sip_str_eq(m.from.tag, "f1"));
	assert_true(sip_str_eq(m.to.uri, "sip:201@pbx.example.com"));
	assert_int_equal(m.to.tag.len, 0);
	assert_int_equal(m.nr_contacts, 1);
	/* A parameter inside <> belongs to the URI, one after it to the header. */
	assert_true(sip_str_eq(m.contacts[0].uri, "sip:201@10.99.0.2:5062;transport=udp"));
	assert_int_equal(m.contacts[0].expires, 60);
	assert_int_equal(m.expires, -1);
	assert_false(m.body_truncated);
}

static void test_compact_forms_and_contact_list(void **state)
{
	struct sip_msg m;

	assert_int_equal(parse(ok_compact, &m), SIP_MSG_OK);
	assert_false(m.request);
	assert_int_equal(m.status, 200);
	assert_true(sip_str_eq(m.via_sent_by, "[fd99::2]:5060"));
	assert_true(sip_str_eq(m.via_branch, "z9hG4bKx"));
	assert_true(sip_str_eq(m.from.uri, "sip:201@pbx"));
	assert_true(sip_str_eq(m.from.tag, "a"));
	assert_true(sip_str_eq(m.to.tag, "b"));
	assert_true(sip_str_eq(m.call_id, "id-2"));
	assert_int_equal(m.cseq, 8);
	assert_int_equal(m.nr_contacts, 3);
	assert_int_equal(m.contacts[0].expires, 45);
	assert_true(sip_str_eq(m.contacts[1].uri, "sip:201@10.99.0.7"));
	assert_int_equal(m.contacts[1].expires, 30);
	assert_int_equal(m.contacts[2].expires, -1);
	assert_int_equal(m.expires, 120);
}

static void test_contact_star_and_methods(void **state)
{
	static const char dereg[] =
	    "REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	    "From: <sip:a@pbx>;tag=1\r\nTo: <sip:a@pbx>\r\nCall-ID: x\r\n"
	    "CSeq: 3 REGISTER\r\nContact: *\r\nExpires: 0\r\n\r\n";
	struct sip_msg m;

	assert_int_equal(parse(dereg, &m), SIP_MSG_OK);
	assert_true(m.contact_star);
	assert_int_equal(m.expires, 0);
	assert_int_equal(sip_method_kind("INVITE", 6), SIP_REQ_INVITE);
	assert_int_equal(sip_method_kind("PUBLISH", 7), SIP_REQ_PUBLISH);
	/* methods are case-sensitive: a lower-case one is an extension method */
	assert_int_equal(sip_method_kind("invite", 6), SIP_REQ_OTHER);
	assert_int_equal(sip_method_kind("FOO", 3), SIP_REQ_OTHER);
	assert_int_equal(sip_method_kind("A B", 3), SIP_NONE);
	assert_int_equal(sip_method_kind("", 0), SIP_NONE);
}

struct bad_case {
	const char *msg;
	enum sip_msg_error err;
};

#define HDRS                                                                                       \
	"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"         \
	"Call-ID: x\r\nCSeq: 1 OPTIONS\r\n"

static const struct bad_case bad[] = {
    {"OPTIONS sip:a SIP/2.0\r\n" HDRS, SIP_MSG_TRUNCATED}, /* no blank line */
    {"OPTIONS sip:a SIP/3.0\r\n" HDRS "\r\n", SIP_MSG_BAD_START_LINE},
    {"OPTIONS  SIP/2.0\r\n" HDRS "\r\n", SIP_MSG_BAD_START_LINE},
    {"SIP/2.0 20 OK\r\n" HDRS "\r\n", SIP_MSG_BAD_START_LINE},
    {"SIP/2.0 099 Low\r\n" HDRS "\r\n", SIP_MSG_BAD_START_LINE},
    {"SIP/2.0 700 High\r\n" HDRS "\r\n", SIP_MSG_BAD_START_LINE},
    {"OPT IONS sip:a SIP/2.0\r\n" HDRS "\r\n", SIP_MSG_BAD_START_LINE},
    {"OPTIONS sip:a SIP/2.0\r\n" HDRS "Subject: a\r\n  folded\r\n\r\n", SIP_MSG_FOLDED},
    {"OPTIONS sip:a SIP/2.0\r\n" HDRS "no colon here\r\n\r\n", SIP_MSG_BAD_HEADER},
    {"OPTIONS sip:a SIP/2.0\r\n" HDRS "Bad Name: x\r\n\r\n", SIP_MSG_BAD_HEADER},
    {"OPTIONS sip:a SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
     "CSeq: 1 OPTIONS\r\n\r\n",
     SIP_MSG_BAD_VIA},
    {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP\r\n\r\n", SIP_MSG_BAD_VIA},
    {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: OPTIONS\r\n\r\n", SIP_MSG_BAD_CSEQ},
    {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 99999999999 OPTIONS\r\n\r\n",
     SIP_MSG_BAD_CSEQ},
    {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1\r\n\r\n", SIP_MSG_BAD_CSEQ},
    {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n", SIP_MSG_BAD_CSEQ},
    {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>\r\n"
     "To: <sip:a@b>\r\n\r\n",
     SIP_MSG_NO_CALL_ID},
    {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 OPTIONS\r\nCall-ID: x\r\n"
     "To: <sip:a@b>\r\n\r\n",
     SIP_MSG_NO_FROM_TO},
    {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 OPTIONS\r\nCall-ID: x\r\n"
     "From: <sip:a@b\r\nTo: <sip:a@b>\r\n\r\n",
     SIP_MSG_NO_FROM_TO},
};

static void test_malformed(void **state)
{
	struct sip_msg m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum sip_msg_error err = parse(bad[i].msg, &m);

		if (err != bad[i].err)
			fail_msg("case %zu: got %s, expected %s", i, sip_msg_error_name(err),
				 sip_msg_error_name(bad[i].err));
	}
}

static void test_nul_and_long_line(void **state)
{
	char buf[4096];
	struct sip_msg m;
	size_t n;

	memcpy(buf, register_req, sizeof(register_req));
	buf[40] = '\0';
	assert_int_equal(sip_msg_parse(buf, sizeof(register_req) - 1, false, &m),
			 SIP_MSG_BAD_HEADER);
	n = (size_t)snprintf(buf, sizeof(buf), "OPTIONS sip:a SIP/2.0\r\n" HDRS "X-Long: ");
	memset(buf + n, 'a', SIP_MSG_LINE_MAX + 10);
	n += SIP_MSG_LINE_MAX + 10;
	memcpy(buf + n, "\r\n\r\n", 4);
	assert_int_equal(sip_msg_parse(buf, n + 4, false, &m), SIP_MSG_BAD_HEADER);
}

/*
 * Every cut of a good message is either refused as truncated (the blank line is missing), or, from
 * the blank line on, parsed whole; never anything else, and never a read past the cut (ASan runs
 * this on a heap copy of exactly the cut's length).
 */
static void test_every_truncation(void **state)
{
	const char *good[] = {register_req, ok_compact};

	for (size_t g = 0; g < 2; g++) {
		size_t len = strlen(good[g]);
		const char *blank = strstr(good[g], "\r\n\r\n");
		size_t whole = (size_t)(blank - good[g]) + 4;

		for (size_t cut = 0; cut <= len; cut++) {
			char *copy = malloc(cut ? cut : 1);
			struct sip_msg m;
			enum sip_msg_error err;

			memcpy(copy, good[g], cut);
			err = sip_msg_parse(copy, cut, true, &m);
			if (cut < whole)
				assert_int_equal(err, SIP_MSG_TRUNCATED);
			else
				assert_int_equal(err, SIP_MSG_OK);
			free(copy);
		}
	}
}

static void test_body_truncated_and_leading_crlf(void **state)
{
	static const char invite[] =
	    "\r\n\r\nINVITE sip:b@pbx SIP/2.0\r\n" HDRS "Content-Length: 300\r\n\r\nv=0\r\no=";
	struct sip_msg m;

	assert_int_equal(sip_msg_parse(invite, strlen(invite), true, &m), SIP_MSG_OK);
	assert_int_equal(m.method, SIP_REQ_INVITE);
	assert_int_equal(m.cseq_method, SIP_REQ_OPTIONS);
	assert_true(m.body_truncated);
}

static void test_hash_separates_fields(void **state)
{
	struct sip_str ab = {"ab", 2}, c = {"c", 1}, a = {"a", 1}, bc = {"bc", 2};
	uint64_t h1 = sip_str_hash(sip_str_hash(SIP_HASH_INIT, ab), c);
	uint64_t h2 = sip_str_hash(sip_str_hash(SIP_HASH_INIT, a), bc);

	assert_true(h1 != h2);
}

/* Random bytes and random mutations of good messages: any result, but no crash or overread. */
static void test_fuzz(void **state)
{
	unsigned seed = 18;
	char buf[1024];

	for (int i = 0; i < 20000; i++) {
		const char *base = i & 1 ? register_req : ok_compact;
		size_t len = strlen(base);
		struct sip_msg m;
		char *copy;

		memcpy(buf, base, len);
		for (int k = 0; k < 4; k++)
			buf[rand_r(&seed) % len] = (char)(rand_r(&seed) & 0xff);
		len = (size_t)rand_r(&seed) % (len + 1);
		copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		(void)sip_msg_parse(copy, len, true, &m);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_fields),
	    cmocka_unit_test(test_compact_forms_and_contact_list),
	    cmocka_unit_test(test_contact_star_and_methods),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_nul_and_long_line),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_body_truncated_and_leading_crlf),
	    cmocka_unit_test(test_hash_separates_fields),
	    cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
