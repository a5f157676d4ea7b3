/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A bounded SIP header parser (RFC 3261 §7, §20) for the messages bpf/sip.bpf.c copies into the
 * "sip_msgs" ring buffer: the start line and the headers transactions and registrations are
 * matched on. Every field is a pointer and a length into the caller's buffer, never past @len;
 * nothing is copied, allocated or NUL-terminated. A message that is not usable is reported with
 * a reason (counted by the caller), never half-used.
 */
#ifndef SIPWATCH_SIP_MSG_H
#define SIPWATCH_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest line the parser looks at; longer ones make the message "bad_header". */
#define SIP_MSG_LINE_MAX     1024
#define SIP_MSG_CONTACTS_MAX 8

struct sip_str {
	const char *p;
	uint16_t len; /* 0: absent */
};

struct sip_uri_hdr {
	struct sip_str uri; /* inside <...>, or the bare addr-spec */
	struct sip_str tag; /* the tag parameter (From/To) */
	int64_t expires;    /* the expires parameter (Contact), -1 when absent */
};

struct sip_msg {
	bool request;
	int method;	 /* enum sip_kind of the request line's method (requests only) */
	uint16_t status; /* responses only: 100..699 */
	struct sip_str request_uri;
	/* The top Via value only (the first Via line, up to its first comma). */
	struct sip_str via_branch, via_sent_by;
	uint32_t cseq;
	int cseq_method; /* enum sip_kind: SIP_REQ_* */
	struct sip_str call_id;
	struct sip_uri_hdr from, to;
	/* The first SIP_MSG_CONTACTS_MAX Contact values (a 2xx to REGISTER lists every binding). */
	struct sip_uri_hdr contacts[SIP_MSG_CONTACTS_MAX];
	bool contact_star;   /* "Contact: *" (remove all bindings) */
	int nr_contacts;     /* contact values seen, over every Contact line */
	int64_t expires;     /* Expires header, -1 when absent */
	bool body_truncated; /* the headers are complete, the body is not all there */
};

/* Why a message was not usable. The order fixes sip_msg_error_name(). */
enum sip_msg_error {
	SIP_MSG_OK = 0,
	SIP_MSG_TRUNCATED,	/* the copy ended before the blank line after the headers */
	SIP_MSG_BAD_START_LINE, /* neither "METHOD URI SIP/2.0" nor "SIP/2.0 NNN reason" */
	SIP_MSG_FOLDED,	    /* a header continued on the next line (obsolete, RFC 3261 §7.3.1) */
	SIP_MSG_BAD_HEADER, /* a line without a name and colon, a NUL, or a line too long */
	SIP_MSG_BAD_VIA,    /* no Via, or one without a sent-by */
	SIP_MSG_BAD_CSEQ,   /* no CSeq, or not "number method" */
	SIP_MSG_NO_CALL_ID,
	SIP_MSG_NO_FROM_TO, /* From or To missing or without a URI */
	SIP_MSG_ERROR_MAX,
};

/* Parse @len bytes at @buf (@truncated: the packet had more than @len bytes). */
enum sip_msg_error sip_msg_parse(const char *buf, size_t len, bool truncated, struct sip_msg *m);
/* Label value: "truncated", "bad_start_line", ... ("ok" for SIP_MSG_OK). */
const char *sip_msg_error_name(int err);
/* enum sip_kind of a method token (SIP_REQ_OTHER for an extension method), or SIP_NONE when @p is
 * not a token at all. Methods are case-sensitive (RFC 3261 §7.1): "invite" is an extension. */
int sip_method_kind(const char *p, size_t len);
bool sip_str_eq(struct sip_str s, const char *lit);
/* FNV-1a of @s's bytes folded into @h: the tables key on hashes of unbounded header values. */
uint64_t sip_str_hash(uint64_t h, struct sip_str s);
#define SIP_HASH_INIT 0xcbf29ce484222325ULL

#endif
