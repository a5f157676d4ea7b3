/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SIP classifier: what one UDP datagram or TCP segment on a SIP port is, from the first
 * SIP_WINDOW bytes of its payload. Compiled by the BPF programs (bpf/sip.bpf.c) and by the cmocka
 * tests (tests/unit/test_sip_parse.c) on the same frames, so there is exactly one parser.
 *
 * Verifier-friendly by construction: every read goes through sip_byte(), whose index is masked
 * into the window, and every loop has a constant bound. Segment-level only: one classification
 * per datagram/segment (a second message in the same datagram or segment is not counted).
 */
#ifndef SIPWATCH_SIP_PARSE_H
#define SIPWATCH_SIP_PARSE_H

#include "sip_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define SIP_WINDOW 64 /* payload bytes the classifier looks at (a power of two) */

/* The first SIP_WINDOW payload bytes; the bytes past the payload's end are zero. */
struct sip_window {
	union {
		__u8 b[SIP_WINDOW];
		__u64 q[SIP_WINDOW / 8]; /* for copying it in 8-byte loads */
	};
};

/*
 * In BPF the classifier is a global (non-inlined) function: the verifier checks it once, with
 * unknown window contents, instead of once per path of the caller (the window-filling loop would
 * multiply the classifier's paths past the verifier's limit). Needs BTF-typed global function
 * arguments (5.12+). In userspace it is an ordinary static inline.
 */
#ifdef __bpf__
#define SIP_CLASSIFY_FN __attribute__((noinline))
#else
#define SIP_CLASSIFY_FN static inline
#endif
#define SIP_MAX_LEADING_CRLF 8	/* CRLF pairs skipped before a start line (RFC 3261 7.5) */
#define SIP_MAX_METHOD_LEN   16 /* longest method token recognised as a request */
#define SIP_STUN_COOKIE	     0x2112A442u

static __always_inline __u8 sip_byte(const __u8 *w, __u32 i)
{
	return w[i & (SIP_WINDOW - 1)];
}

/* Do the @len bytes at @off equal @s? (@len and @s are constants at every call site.) */
static __always_inline int sip_match(const __u8 *w, __u32 off, const char *s, __u32 len)
{
	for (__u32 i = 0; i < len; i++)
		if (sip_byte(w, off + i) != (__u8)s[i])
			return 0;
	return 1;
}

/* Same, ignoring ASCII case (@s lower-case): URI schemes are case-insensitive. */
static __always_inline int sip_match_nocase(const __u8 *w, __u32 off, const char *s, __u32 len)
{
	for (__u32 i = 0; i < len; i++)
		if ((sip_byte(w, off + i) | 0x20) != (__u8)s[i])
			return 0;
	return 1;
}

/* The method of a request line whose token is @tok bytes at @off, or SIP_REQ_OTHER. */
static __always_inline int sip_method(const __u8 *w, __u32 off, __u32 tok)
{
	switch (tok) {
	case 3:
		if (sip_match(w, off, "ACK", 3))
			return SIP_REQ_ACK;
		if (sip_match(w, off, "BYE", 3))
			return SIP_REQ_BYE;
		break;
	case 4:
		if (sip_match(w, off, "INFO", 4))
			return SIP_REQ_INFO;
		break;
	case 5:
		if (sip_match(w, off, "PRACK", 5))
			return SIP_REQ_PRACK;
		if (sip_match(w, off, "REFER", 5))
			return SIP_REQ_REFER;
		break;
	case 6:
		if (sip_match(w, off, "INVITE", 6))
			return SIP_REQ_INVITE;
		if (sip_match(w, off, "CANCEL", 6))
			return SIP_REQ_CANCEL;
		if (sip_match(w, off, "NOTIFY", 6))
			return SIP_REQ_NOTIFY;
		if (sip_match(w, off, "UPDATE", 6))
			return SIP_REQ_UPDATE;
		break;
	case 7:
		if (sip_match(w, off, "OPTIONS", 7))
			return SIP_REQ_OPTIONS;
		if (sip_match(w, off, "MESSAGE", 7))
			return SIP_REQ_MESSAGE;
		if (sip_match(w, off, "PUBLISH", 7))
			return SIP_REQ_PUBLISH;
		break;
	case 8:
		if (sip_match(w, off, "REGISTER", 8))
			return SIP_REQ_REGISTER;
		break;
	case 9:
		if (sip_match(w, off, "SUBSCRIBE", 9))
			return SIP_REQ_SUBSCRIBE;
		break;
	}
	return SIP_REQ_OTHER;
}

/*
 * Is there a sip:, sips: or tel: URI (scheme case-insensitive) at @uri, within the @n bytes of
 * the window that hold payload? (| 0x20 folds ASCII case and leaves ':' as it is.)
 */
static __always_inline int sip_uri_ok(const __u8 *w, __u32 uri, __u32 n)
{
	if (uri + 4 > n)
		return 0;
	if (sip_match_nocase(w, uri, "sip:", 4) || sip_match_nocase(w, uri, "tel:", 4))
		return 1;
	return uri + 5 <= n && sip_match_nocase(w, uri, "sips:", 5);
}

/*
 * The common case in eight-byte words: a start line at offset 0 whose first word is "SIP/2.0 "
 * or one of the RFC 3261-family methods and its space. Every offset is a constant, so each test is
 * one masked compare, where the general scan below costs a load and a branch per byte. Returns
 * what the general scan would return for such a line, or SIP_NONE where it must decide.
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SIP_WB(s, i) ((__u64)(__u8)(s)[i] << (8 * (i)))
#else
#define SIP_WB(s, i) ((__u64)(__u8)(s)[i] << (8 * (7 - (i))))
#endif
/* The first @len (1..8) bytes of string literal @s as they sit in a window word; the rest zero. */
#define SIP_WORD(s, len)                                                                           \
	(SIP_WB(s, 0) | ((len) > 1 ? SIP_WB(s, 1) : 0) | ((len) > 2 ? SIP_WB(s, 2) : 0) |          \
	 ((len) > 3 ? SIP_WB(s, 3) : 0) | ((len) > 4 ? SIP_WB(s, 4) : 0) |                         \
	 ((len) > 5 ? SIP_WB(s, 5) : 0) | ((len) > 6 ? SIP_WB(s, 6) : 0) |                         \
	 ((len) > 7 ? SIP_WB(s, 7) : 0))
#define SIP_WORD_MASK(len) SIP_WORD("\xff\xff\xff\xff\xff\xff\xff\xff", len)
/* "METHOD " (@len bytes with the space, at most 8) and a URI right after it. */
#define SIP_FAST_METHOD(q0, w, n, s, len, kind)                                                    \
	if (((q0)&SIP_WORD_MASK(len)) == SIP_WORD(s, len) && sip_uri_ok(w, len, n))                \
		return kind;

static __always_inline int sip_start_line_fast(const struct sip_window *win, __u32 n)
{
	const __u8 *w = win->b;
	__u64 q0 = win->q[0];
	__u8 c;

	switch (w[0]) {
	case 'S':
		if (q0 == SIP_WORD("SIP/2.0 ", 8)) {
			c = w[8];
			if (n < 12 || c < '1' || c > '6' || w[9] < '0' || w[9] > '9' ||
			    w[10] < '0' || w[10] > '9')
				return SIP_NONE;
			return SIP_RESP_1XX + (c - '1');
		}
		if (q0 == SIP_WORD("SUBSCRIB", 8) && w[8] == 'E' && w[9] == ' ' &&
		    sip_uri_ok(w, 10, n))
			return SIP_REQ_SUBSCRIBE;
		break;
	case 'R':
		if (q0 == SIP_WORD("REGISTER", 8) && w[8] == ' ' && sip_uri_ok(w, 9, n))
			return SIP_REQ_REGISTER;
		SIP_FAST_METHOD(q0, w, n, "REFER ", 6, SIP_REQ_REFER);
		break;
	case 'O':
		SIP_FAST_METHOD(q0, w, n, "OPTIONS ", 8, SIP_REQ_OPTIONS);
		break;
	case 'I':
		SIP_FAST_METHOD(q0, w, n, "INVITE ", 7, SIP_REQ_INVITE);
		SIP_FAST_METHOD(q0, w, n, "INFO ", 5, SIP_REQ_INFO);
		break;
	case 'A':
		SIP_FAST_METHOD(q0, w, n, "ACK ", 4, SIP_REQ_ACK);
		break;
	case 'B':
		SIP_FAST_METHOD(q0, w, n, "BYE ", 4, SIP_REQ_BYE);
		break;
	case 'C':
		SIP_FAST_METHOD(q0, w, n, "CANCEL ", 7, SIP_REQ_CANCEL);
		break;
	case 'N':
		SIP_FAST_METHOD(q0, w, n, "NOTIFY ", 7, SIP_REQ_NOTIFY);
		break;
	case 'U':
		SIP_FAST_METHOD(q0, w, n, "UPDATE ", 7, SIP_REQ_UPDATE);
		break;
	case 'P':
		SIP_FAST_METHOD(q0, w, n, "PRACK ", 6, SIP_REQ_PRACK);
		SIP_FAST_METHOD(q0, w, n, "PUBLISH ", 8, SIP_REQ_PUBLISH);
		break;
	case 'M':
		SIP_FAST_METHOD(q0, w, n, "MESSAGE ", 8, SIP_REQ_MESSAGE);
		break;
	}
	return SIP_NONE;
}

/*
 * The general scan: up to SIP_MAX_LEADING_CRLF CRLFs (a keepalive when that is all), then a
 * status line or a request line with any method token. Byte by byte at variable offsets.
 */
static __always_inline int sip_start_line(const __u8 *w, __u32 n, __u32 payload_len,
					  __u32 transport)
{
	__u32 off = 0, tok = 0;
	__u8 c;

	for (int i = 0; i < SIP_MAX_LEADING_CRLF; i++) {
		if (off + 2 > n || sip_byte(w, off) != '\r' || sip_byte(w, off + 1) != '\n')
			break;
		off += 2;
	}
	if (off && off == payload_len)
		return off == 2 ? SIP_KA_CRLF_PONG : SIP_KA_CRLF_PING;

	if (off + 12 <= n && sip_match(w, off, "SIP/2.0 ", 8)) {
		c = sip_byte(w, off + 8);
		if (c < '1' || c > '6')
			goto unparsed;
		for (__u32 i = 9; i < 11; i++)
			if (sip_byte(w, off + i) < '0' || sip_byte(w, off + i) > '9')
				goto unparsed;
		return SIP_RESP_1XX + (c - '1');
	}

	for (int i = 0; i < SIP_MAX_METHOD_LEN; i++) {
		c = sip_byte(w, off + tok);
		if (off + tok >= n || c < 'A' || c > 'Z')
			break;
		tok++;
	}
	if (tok && off + tok < n && sip_byte(w, off + tok) == ' ' &&
	    sip_uri_ok(w, off + tok + 1, n))
		return sip_method(w, off, tok);
unparsed:
	return transport == SIP_TRANSPORT_TCP ? SIP_UNPARSED_TCP_MIDSTREAM
					      : SIP_UNPARSED_UDP_NOT_SIP;
}

/*
 * Classify a payload of @payload_len bytes whose first min(@payload_len, SIP_WINDOW) bytes are in
 * @win. @transport is SIP_TRANSPORT_UDP or _TCP. Returns an enum sip_kind.
 *
 *  - STUN binding request / success or error response: 20-byte header, top two bits of the type
 *    zero, magic cookie at offset 4.
 *  - TLS (TCP only): a record header (content type 20-23, major version 3).
 *  - Only CRLFs: exactly one CRLF is a pong, two or more a ping (RFC 5626 4.4.1).
 *  - After at most SIP_MAX_LEADING_CRLF leading CRLFs: "SIP/2.0 " and three digits (class 1-6)
 *    is a response; an upper-case token of 1-16 letters, a space and a sip:, sips: or tel: URI is
 *    a request.
 *  - Anything else is unparsed: a TCP segment that continues a message, or a UDP datagram that
 *    is not SIP. A truncated start line is unparsed too.
 * @fast: take sip_start_line_fast() first (always, but for the test that compares the two).
 */
static __always_inline int sip_classify_with(const struct sip_window *win, __u32 payload_len,
					     __u32 transport, int fast)
{
	const __u8 *w;
	__u32 n = payload_len < SIP_WINDOW ? payload_len : SIP_WINDOW;
	int kind;

	if (!win || !payload_len)
		return SIP_NONE;
	w = win->b;
	if (n >= 20 && (w[0] & 0xc0) == 0 && w[4] == 0x21 && w[5] == 0x12 && w[6] == 0xa4 &&
	    w[7] == 0x42) {
		__u16 type = (__u16)(w[0] << 8 | w[1]);

		if (type == 0x0001)
			return SIP_KA_STUN_REQUEST;
		if (type == 0x0101 || type == 0x0111)
			return SIP_KA_STUN_RESPONSE;
		return transport == SIP_TRANSPORT_TCP ? SIP_UNPARSED_TCP_MIDSTREAM
						      : SIP_UNPARSED_UDP_NOT_SIP;
	}
	if (transport == SIP_TRANSPORT_TCP && n >= 5 && w[0] >= 0x14 && w[0] <= 0x17 &&
	    w[1] == 0x03)
		return SIP_UNPARSED_TLS;
	if (fast) {
		kind = sip_start_line_fast(win, n);
		if (kind != SIP_NONE)
			return kind;
	}
	return sip_start_line(w, n, payload_len, transport);
}

SIP_CLASSIFY_FN int sip_classify(const struct sip_window *win, __u32 payload_len, __u32 transport)
{
	return sip_classify_with(win, payload_len, transport, 1);
}

#endif /* SIPWATCH_SIP_PARSE_H */
