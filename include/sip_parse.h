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

/*
 * The RFC 3261-family methods, the one list both paths of the classifier are made from:
 * SIP_METHOD(token, kind) per method, the token an upper-case string literal of at most
 * SIP_MAX_METHOD_LEN letters. The general scan compares it as a token (sip_method()), the fast path
 * as the first eight-byte word of the start line, its space included (sip_start_line_fast()); both
 * are expanded from this list at compile time into compares with constants (nothing is looked up
 * at run time). The fast path tries them in this order, the most common first. Every kind from
 * SIP_FIRST_REQUEST up to SIP_REQ_OTHER appears exactly once (tests/unit/test_sip_parse.c).
 */
#define SIP_METHODS(SIP_METHOD)                                                                    \
	SIP_METHOD("REGISTER", SIP_REQ_REGISTER)                                                   \
	SIP_METHOD("OPTIONS", SIP_REQ_OPTIONS)                                                     \
	SIP_METHOD("INVITE", SIP_REQ_INVITE)                                                       \
	SIP_METHOD("ACK", SIP_REQ_ACK)                                                             \
	SIP_METHOD("BYE", SIP_REQ_BYE)                                                             \
	SIP_METHOD("CANCEL", SIP_REQ_CANCEL)                                                       \
	SIP_METHOD("NOTIFY", SIP_REQ_NOTIFY)                                                       \
	SIP_METHOD("SUBSCRIBE", SIP_REQ_SUBSCRIBE)                                                 \
	SIP_METHOD("PRACK", SIP_REQ_PRACK)                                                         \
	SIP_METHOD("UPDATE", SIP_REQ_UPDATE)                                                       \
	SIP_METHOD("INFO", SIP_REQ_INFO)                                                           \
	SIP_METHOD("REFER", SIP_REQ_REFER)                                                         \
	SIP_METHOD("MESSAGE", SIP_REQ_MESSAGE)                                                     \
	SIP_METHOD("PUBLISH", SIP_REQ_PUBLISH)

/* The length of a method token given as a string literal. */
#define SIP_METHOD_LEN(token) (sizeof(token) - 1)

/* What a payload that is no SIP start line, keepalive or STUN message counts as. */
static __always_inline int sip_unparsed(__u32 transport)
{
	return transport == SIP_TRANSPORT_TCP ? SIP_UNPARSED_TCP_MIDSTREAM
					      : SIP_UNPARSED_UDP_NOT_SIP;
}

/* The method of a request line whose token is @tok bytes at @off, or SIP_REQ_OTHER. */
static __always_inline int sip_method(const __u8 *w, __u32 off, __u32 tok)
{
#define SIP_METHOD_TOKEN(token, kind)                                                              \
	if (tok == SIP_METHOD_LEN(token) && sip_match(w, off, token, SIP_METHOD_LEN(token)))       \
		return kind;
	SIP_METHODS(SIP_METHOD_TOKEN)
#undef SIP_METHOD_TOKEN
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
 * or one of SIP_METHODS and its space. Every offset is a constant, so each test is one masked
 * compare, where the general scan below costs a load and a branch per byte. Returns what the
 * general scan would return for such a line, or SIP_NONE where it must decide.
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
/* A method token and its space: this many bytes, of which the first word holds at most eight. */
#define SIP_METHOD_SP_LEN(token) (SIP_METHOD_LEN(token) + 1)
#define SIP_METHOD_HEAD(token)	 (SIP_METHOD_SP_LEN(token) < 8 ? SIP_METHOD_SP_LEN(token) : 8)
/* Is @token and a space at offset 0 of the window @w whose first word is @q0? The bytes past the
 * first word (REGISTER's space, SUBSCRIBE's E and space) are compared one by one. */
#define SIP_METHOD_AT_START(w, q0, token)                                                          \
	(((q0)&SIP_WORD_MASK(SIP_METHOD_HEAD(token))) ==                                           \
	     SIP_WORD(token " ", SIP_METHOD_HEAD(token)) &&                                        \
	 sip_match(w, SIP_METHOD_HEAD(token), &(token " ")[SIP_METHOD_HEAD(token)],                \
		   SIP_METHOD_SP_LEN(token) - SIP_METHOD_HEAD(token)))

static __always_inline int sip_start_line_fast(const struct sip_window *win, __u32 n)
{
	const __u8 *w = win->b;
	__u64 q0 = win->q[0];
	__u8 c;

	if (q0 == SIP_WORD("SIP/2.0 ", 8)) {
		c = w[8];
		if (n < 12 || c < '1' || c > '6' || w[9] < '0' || w[9] > '9' || w[10] < '0' ||
		    w[10] > '9')
			return SIP_NONE;
		return SIP_RESP_1XX + (c - '1');
	}
	/*
	 * Then the methods in table order, each one word compare; a masked word (a token shorter
	 * than seven letters) is preceded by a compare of its first byte, which rejects the others
	 * in one instruction. A line that does not start with an upper-case letter (CRLF, a body or
	 * SDP line mid-stream, most datagrams that are not SIP) is left to the general scan at
	 * once.
	 */
	if ((__u8)(w[0] - 'A') > 'Z' - 'A')
		return SIP_NONE;
#define SIP_METHOD_FAST(token, kind)                                                               \
	if ((SIP_METHOD_HEAD(token) == 8 || w[0] == (__u8)token[0]) &&                             \
	    SIP_METHOD_AT_START(w, q0, token))                                                     \
		return sip_uri_ok(w, SIP_METHOD_SP_LEN(token), n) ? kind : SIP_NONE;
	SIP_METHODS(SIP_METHOD_FAST)
#undef SIP_METHOD_FAST
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
	return sip_unparsed(transport);
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
		return sip_unparsed(transport);
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
