/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SIP classifier's frame corpus: payloads and what they must be classified as. Used by the
 * cmocka unit test (the parser compiled by gcc) and by the BPF test (the same parser inside the
 * XDP and tc programs), so both sides are held to the same answers.
 */
#ifndef SIPWATCH_TEST_SIP_CORPUS_H
#define SIPWATCH_TEST_SIP_CORPUS_H

#include <stddef.h>

#include "sip_abi.h"

struct sip_sample {
	const char *name;
	const char *payload;
	size_t len; /* 0: strlen(payload) */
	int transport;
	int kind; /* expected enum sip_kind */
};

#define URI " sip:alice@10.99.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.99.0.2;branch=z9hG4bK1\r\n\r\n"
#define REQ(m, k)                                                                                  \
	{m, m URI, 0, SIP_TRANSPORT_UDP, k},                                                       \
	{                                                                                          \
		m "/tcp", m URI, 0, SIP_TRANSPORT_TCP, k                                           \
	}
#define RESP(code, k)                                                                              \
	{"resp " code, "SIP/2.0 " code " Whatever\r\nVia: x\r\n\r\n", 0, SIP_TRANSPORT_UDP, k},    \
	{                                                                                          \
		"resp/tcp " code, "SIP/2.0 " code " Whatever\r\n\r\n", 0, SIP_TRANSPORT_TCP, k     \
	}

static const unsigned char stun_request[20] = {
    0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const unsigned char stun_response[32] = {0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42,
						1,    2,    3,	  4,	5,    6,    7,	  8,
						9,    10,   11,	  12,	0x00, 0x20, 0x00, 0x08};
static const unsigned char stun_indication[20] = {
    0x00, 0x11, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const unsigned char tls_hello[8] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00};
static const unsigned char zeros4[4] = {0, 0, 0, 0};

static const struct sip_sample sip_corpus[] = {
    REQ("INVITE", SIP_REQ_INVITE),
    REQ("REGISTER", SIP_REQ_REGISTER),
    REQ("OPTIONS", SIP_REQ_OPTIONS),
    REQ("ACK", SIP_REQ_ACK),
    REQ("BYE", SIP_REQ_BYE),
    REQ("CANCEL", SIP_REQ_CANCEL),
    REQ("NOTIFY", SIP_REQ_NOTIFY),
    REQ("SUBSCRIBE", SIP_REQ_SUBSCRIBE),
    REQ("PRACK", SIP_REQ_PRACK),
    REQ("UPDATE", SIP_REQ_UPDATE),
    REQ("INFO", SIP_REQ_INFO),
    REQ("REFER", SIP_REQ_REFER),
    REQ("MESSAGE", SIP_REQ_MESSAGE),
    REQ("PUBLISH", SIP_REQ_PUBLISH),
    REQ("FOOBAR", SIP_REQ_OTHER),
    REQ("INVITEX", SIP_REQ_OTHER),
    {"sips uri", "INVITE sips:bob@example.com SIP/2.0\r\n\r\n", 0, SIP_TRANSPORT_TCP,
     SIP_REQ_INVITE},
    {"tel uri", "INVITE tel:+4930123 SIP/2.0\r\n\r\n", 0, SIP_TRANSPORT_UDP, SIP_REQ_INVITE},
    {"upper-case scheme", "OPTIONS SIP:a@b SIP/2.0\r\n\r\n", 0, SIP_TRANSPORT_UDP, SIP_REQ_OPTIONS},
    RESP("100", SIP_RESP_1XX),
    RESP("180", SIP_RESP_1XX),
    RESP("200", SIP_RESP_2XX),
    RESP("302", SIP_RESP_3XX),
    RESP("401", SIP_RESP_4XX),
    RESP("486", SIP_RESP_4XX),
    RESP("503", SIP_RESP_5XX),
    RESP("603", SIP_RESP_6XX),
    {"resp class 7", "SIP/2.0 700 Nope\r\n\r\n", 0, SIP_TRANSPORT_UDP, SIP_UNPARSED_UDP_NOT_SIP},
    {"resp 2 digits", "SIP/2.0 20 OK\r\n\r\n", 0, SIP_TRANSPORT_UDP, SIP_UNPARSED_UDP_NOT_SIP},
    {"resp truncated", "SIP/2.0 20", 0, SIP_TRANSPORT_UDP, SIP_UNPARSED_UDP_NOT_SIP},
    {"crlf ping", "\r\n\r\n", 0, SIP_TRANSPORT_TCP, SIP_KA_CRLF_PING},
    {"crlf pong", "\r\n", 0, SIP_TRANSPORT_TCP, SIP_KA_CRLF_PONG},
    {"crlf ping/udp", "\r\n\r\n", 0, SIP_TRANSPORT_UDP, SIP_KA_CRLF_PING},
    {"crlf pong/udp", "\r\n", 0, SIP_TRANSPORT_UDP, SIP_KA_CRLF_PONG},
    {"leading crlf", "\r\n\r\nREGISTER" URI, 0, SIP_TRANSPORT_TCP, SIP_REQ_REGISTER},
    {"leading crlf resp", "\r\nSIP/2.0 200 OK\r\n\r\n", 0, SIP_TRANSPORT_TCP, SIP_RESP_2XX},
    {"8 leading crlf", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nBYE" URI, 0, SIP_TRANSPORT_TCP,
     SIP_REQ_BYE},
    {"9 leading crlf", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nBYE" URI, 0, SIP_TRANSPORT_TCP,
     SIP_UNPARSED_TCP_MIDSTREAM},
    {"stun request", (const char *)stun_request, sizeof(stun_request), SIP_TRANSPORT_UDP,
     SIP_KA_STUN_REQUEST},
    {"stun response", (const char *)stun_response, sizeof(stun_response), SIP_TRANSPORT_UDP,
     SIP_KA_STUN_RESPONSE},
    {"stun indication", (const char *)stun_indication, sizeof(stun_indication), SIP_TRANSPORT_UDP,
     SIP_UNPARSED_UDP_NOT_SIP},
    {"stun short", (const char *)stun_request, 19, SIP_TRANSPORT_UDP, SIP_UNPARSED_UDP_NOT_SIP},
    {"tls record", (const char *)tls_hello, sizeof(tls_hello), SIP_TRANSPORT_TCP, SIP_UNPARSED_TLS},
    {"tls bytes on udp", (const char *)tls_hello, sizeof(tls_hello), SIP_TRANSPORT_UDP,
     SIP_UNPARSED_UDP_NOT_SIP},
    {"zero ping", (const char *)zeros4, sizeof(zeros4), SIP_TRANSPORT_UDP,
     SIP_UNPARSED_UDP_NOT_SIP},
    {"mid-stream body", "v=0\r\no=- 1 1 IN IP4 10.99.0.2\r\ns=-\r\n", 0, SIP_TRANSPORT_TCP,
     SIP_UNPARSED_TCP_MIDSTREAM},
    {"mid-stream header", "Contact: <sip:alice@10.99.0.2>\r\n", 0, SIP_TRANSPORT_TCP,
     SIP_UNPARSED_TCP_MIDSTREAM},
    {"http on 5060", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, SIP_TRANSPORT_TCP,
     SIP_UNPARSED_TCP_MIDSTREAM},
    {"lower-case method", "invite sip:a@b SIP/2.0\r\n\r\n", 0, SIP_TRANSPORT_UDP,
     SIP_UNPARSED_UDP_NOT_SIP},
    {"method no uri", "INVITE  SIP/2.0\r\n\r\n", 0, SIP_TRANSPORT_UDP, SIP_UNPARSED_UDP_NOT_SIP},
    {"method too long", "ABCDEFGHIJKLMNOPQ sip:a@b SIP/2.0\r\n", 0, SIP_TRANSPORT_UDP,
     SIP_UNPARSED_UDP_NOT_SIP},
    {"method truncated", "INVITE sip", 0, SIP_TRANSPORT_UDP, SIP_UNPARSED_UDP_NOT_SIP},
    {"garbage", "\x01\x02\x03hello world", 0, SIP_TRANSPORT_UDP, SIP_UNPARSED_UDP_NOT_SIP},
    {"one byte", "\n", 0, SIP_TRANSPORT_UDP, SIP_UNPARSED_UDP_NOT_SIP},
    /* Two messages in one datagram/segment: segment-level parsing counts the first only. */
    {"two messages", "OPTIONS" URI "SIP/2.0 200 OK\r\n\r\n", 0, SIP_TRANSPORT_UDP, SIP_REQ_OPTIONS},
    {"two messages/tcp", "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\nBYE" URI, 0, SIP_TRANSPORT_TCP,
     SIP_RESP_2XX},
};

#define SIP_CORPUS_SIZE (sizeof(sip_corpus) / sizeof(sip_corpus[0]))

static inline size_t sip_sample_len(const struct sip_sample *s)
{
	return s->len ? s->len : strlen(s->payload);
}

#endif
