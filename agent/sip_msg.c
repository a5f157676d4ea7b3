// SPDX-License-Identifier: GPL-2.0-only
#include "sip_msg.h"

#include <string.h>

#include "sip.h"
#include "sip_abi.h"

static const char *const error_names[SIP_MSG_ERROR_MAX] = {
    [SIP_MSG_OK] = "ok",
    [SIP_MSG_TRUNCATED] = "truncated",
    [SIP_MSG_BAD_START_LINE] = "bad_start_line",
    [SIP_MSG_FOLDED] = "folded",
    [SIP_MSG_BAD_HEADER] = "bad_header",
    [SIP_MSG_BAD_VIA] = "bad_via",
    [SIP_MSG_BAD_CSEQ] = "bad_cseq",
    [SIP_MSG_NO_CALL_ID] = "no_call_id",
    [SIP_MSG_NO_FROM_TO] = "no_from_to",
};

const char *sip_msg_error_name(int err)
{
	return err >= 0 && err < SIP_MSG_ERROR_MAX ? error_names[err] : "other";
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3261 token characters. */
static bool is_token(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
	       (c && strchr("-.!%*_+`'~", c));
}

bool sip_str_eq(struct sip_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && !memcmp(s.p, lit, n);
}

/* Case-insensitive compare with a lower-case literal. */
static bool str_ieq(const char *p, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len && lit[i]; i++)
		if (lower(p[i]) != lit[i])
			return false;
	return i == len && !lit[i];
}

uint64_t sip_str_hash(uint64_t h, struct sip_str s)
{
	for (size_t i = 0; i < s.len; i++) {
		h ^= (uint8_t)s.p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff; /* a separator: ("ab","c") and ("a","bc") differ */
	return h * 0x100000001b3ULL;
}

/*
 * The method labels of agent/sip.c are the lower-case method names: a method is one of them when
 * every character is its upper-case form.
 */
int sip_method_kind(const char *p, size_t len)
{
	if (!len)
		return SIP_NONE;
	for (size_t i = 0; i < len; i++)
		if (!is_token(p[i]))
			return SIP_NONE;
	for (int k = SIP_FIRST_REQUEST; k < SIP_REQ_OTHER; k++) {
		const char *l = sip_kind_label(k);
		size_t i;

		for (i = 0; i < len && l[i]; i++)
			if (p[i] < 'A' || p[i] > 'Z' || lower(p[i]) != l[i])
				break;
		if (i == len && !l[i])
			return k;
	}
	return SIP_REQ_OTHER;
}

/* memchr over [@p, @end), never with a negative length. */
static const char *find_char(const char *p, const char *end, char c)
{
	return p < end ? memchr(p, c, (size_t)(end - p)) : NULL;
}

static struct sip_str mkstr(const char *p, const char *end)
{
	struct sip_str s = {p, (uint16_t)(end - p)};

	return s;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && is_space(*p))
		p++;
	return p;
}

static const char *trim_end(const char *p, const char *end)
{
	while (end > p && is_space(end[-1]))
		end--;
	return end;
}

/* A number of at most 10 digits into *@v; returns the end, or NULL when there is none. */
static const char *parse_number(const char *p, const char *end, int64_t *v)
{
	const char *start = p;

	*v = 0;
	while (p < end && is_digit(*p) && p - start < 10)
		*v = *v * 10 + (*p++ - '0');
	if (p == start || (p < end && is_digit(*p)))
		return NULL;
	return p;
}

/* "METHOD SP Request-URI SP SIP/2.0" or "SIP/2.0 SP 3DIGIT SP reason". */
static bool parse_start_line(const char *p, const char *end, struct sip_msg *m)
{
	const char *sp;

	if (end - p >= 12 && !memcmp(p, "SIP/2.0 ", 8)) {
		if (!is_digit(p[8]) || !is_digit(p[9]) || !is_digit(p[10]) || p[11] != ' ')
			return false;
		m->request = false;
		m->status = (uint16_t)((p[8] - '0') * 100 + (p[9] - '0') * 10 + (p[10] - '0'));
		return m->status >= 100 && m->status <= 699;
	}
	sp = find_char(p, end, ' ');
	if (!sp)
		return false;
	m->request = true;
	m->method = sip_method_kind(p, (size_t)(sp - p));
	if (m->method == SIP_NONE)
		return false;
	p = sp + 1;
	sp = find_char(p, end, ' ');
	if (!sp || sp == p || end - (sp + 1) != 7 || memcmp(sp + 1, "SIP/2.0", 7))
		return false;
	m->request_uri = mkstr(p, sp);
	return true;
}

/* ";name=value" parameters from @p: the value of @name (lower case), if present. */
static struct sip_str find_param(const char *p, const char *end, const char *name)
{
	struct sip_str none = {NULL, 0};

	while (p < end) {
		const char *semi = find_char(p, end, ';'), *next, *eq, *n0, *n1;

		if (!semi)
			break;
		p = semi + 1;
		next = find_char(p, end, ';');
		if (!next)
			next = end;
		eq = find_char(p, next, '=');
		n0 = skip_space(p, next);
		n1 = trim_end(n0, eq ? eq : next);
		if (eq && str_ieq(n0, (size_t)(n1 - n0), name)) {
			const char *v0 = skip_space(eq + 1, next);

			return mkstr(v0, trim_end(v0, next));
		}
		p = next;
	}
	return none;
}

/* The end of the first comma-separated value, commas inside quotes and <...> not counted. */
static const char *value_end(const char *p, const char *end)
{
	bool quoted = false, angle = false;

	for (; p < end; p++) {
		if (quoted) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '"')
				quoted = false;
		} else if (*p == '"') {
			quoted = true;
		} else if (*p == '<') {
			angle = true;
		} else if (*p == '>') {
			angle = false;
		} else if (*p == ',' && !angle) {
			return p;
		}
	}
	return end;
}

/* Top Via: "SIP/2.0/UDP sent-by;params". */
static bool parse_via(const char *p, const char *end, struct sip_msg *m)
{
	const char *v_end = value_end(p, end), *sb, *sb_end;

	p = skip_space(p, v_end);
	while (p < v_end && !is_space(*p)) /* the protocol, "SIP/2.0/UDP" */
		p++;
	sb = skip_space(p, v_end);
	sb_end = sb;
	while (sb_end < v_end && *sb_end != ';' && !is_space(*sb_end))
		sb_end++;
	if (sb_end == sb || p == sb)
		return false;
	m->via_sent_by = mkstr(sb, sb_end);
	m->via_branch = find_param(sb_end, v_end, "branch");
	return true;
}

static bool parse_cseq(const char *p, const char *end, struct sip_msg *m)
{
	int64_t n;
	const char *q;

	p = skip_space(p, end);
	q = parse_number(p, end, &n);
	if (!q || q == end || !is_space(*q) || n > 0x7fffffff)
		return false;
	p = skip_space(q, end);
	end = trim_end(p, end);
	m->cseq = (uint32_t)n;
	m->cseq_method = sip_method_kind(p, (size_t)(end - p));
	return m->cseq_method != SIP_NONE;
}

/* name-addr ("Display" <uri>;params) or addr-spec (uri;params), the first value only. */
static bool parse_uri_hdr(const char *p, const char *end, struct sip_uri_hdr *h)
{
	const char *v_end = value_end(p, end), *lt = NULL, *params;
	bool quoted = false;
	int64_t exp;

	for (const char *q = p; q < v_end; q++) {
		if (*q == '"' && (q == p || q[-1] != '\\'))
			quoted = !quoted;
		else if (*q == '<' && !quoted) {
			lt = q;
			break;
		}
	}
	if (lt) {
		const char *gt = find_char(lt, v_end, '>');

		if (!gt)
			return false;
		h->uri = mkstr(lt + 1, gt);
		params = gt + 1;
	} else {
		const char *u = skip_space(p, v_end), *semi = find_char(u, v_end, ';');

		params = semi ? semi : v_end;
		h->uri = mkstr(u, trim_end(u, params));
	}
	h->tag = find_param(params, v_end, "tag");
	h->expires = -1;
	{
		struct sip_str e = find_param(params, v_end, "expires");

		if (e.len && parse_number(e.p, e.p + e.len, &exp) == e.p + e.len)
			h->expires = exp;
	}
	return h->uri.len > 0;
}

/* Contact values on one line: each counted, the first SIP_MSG_CONTACTS_MAX kept. */
static bool parse_contact(const char *p, const char *end, struct sip_msg *m)
{
	const char *v = skip_space(p, end);

	if (trim_end(v, end) - v == 1 && *v == '*') {
		m->contact_star = true;
		m->nr_contacts++;
		return true;
	}
	while (v < end) {
		const char *v_end = value_end(v, end);

		if (m->nr_contacts < SIP_MSG_CONTACTS_MAX &&
		    !parse_uri_hdr(v, v_end, &m->contacts[m->nr_contacts]))
			return false;
		m->nr_contacts++;
		v = v_end + 1;
	}
	return true;
}

enum hdr { H_OTHER, H_VIA, H_CSEQ, H_CALL_ID, H_FROM, H_TO, H_CONTACT, H_EXPIRES };

/* Long and compact forms (RFC 3261 §7.3.3), case-insensitive. */
static enum hdr header_id(const char *p, size_t len)
{
	static const struct {
		const char *name;
		enum hdr id;
	} names[] = {
	    {"via", H_VIA},   {"v", H_VIA},	      {"cseq", H_CSEQ}, {"call-id", H_CALL_ID},
	    {"i", H_CALL_ID}, {"from", H_FROM},	      {"f", H_FROM},	{"to", H_TO},
	    {"t", H_TO},      {"contact", H_CONTACT}, {"m", H_CONTACT}, {"expires", H_EXPIRES},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_ieq(p, len, names[i].name))
			return names[i].id;
	return H_OTHER;
}

/* One header line (without its line end). */
static enum sip_msg_error parse_header(const char *p, const char *end, struct sip_msg *m,
				       bool *seen_via)
{
	const char *colon = find_char(p, end, ':'), *name_end, *v;
	int64_t n;

	if (!colon)
		return SIP_MSG_BAD_HEADER;
	name_end = trim_end(p, colon);
	for (const char *q = p; q < name_end; q++)
		if (!is_token(*q))
			return SIP_MSG_BAD_HEADER;
	if (name_end == p)
		return SIP_MSG_BAD_HEADER;
	v = skip_space(colon + 1, end);
	end = trim_end(v, end);
	switch (header_id(p, (size_t)(name_end - p))) {
	case H_VIA:
		if (*seen_via)
			return SIP_MSG_OK; /* only the top one matters */
		*seen_via = true;
		return parse_via(v, end, m) ? SIP_MSG_OK : SIP_MSG_BAD_VIA;
	case H_CSEQ:
		return parse_cseq(v, end, m) ? SIP_MSG_OK : SIP_MSG_BAD_CSEQ;
	case H_CALL_ID:
		m->call_id = mkstr(v, end);
		return SIP_MSG_OK;
	case H_FROM:
		return parse_uri_hdr(v, end, &m->from) ? SIP_MSG_OK : SIP_MSG_NO_FROM_TO;
	case H_TO:
		return parse_uri_hdr(v, end, &m->to) ? SIP_MSG_OK : SIP_MSG_NO_FROM_TO;
	case H_CONTACT:
		return parse_contact(v, end, m) ? SIP_MSG_OK : SIP_MSG_BAD_HEADER;
	case H_EXPIRES:
		if (parse_number(v, end, &n) == end)
			m->expires = n;
		return SIP_MSG_OK;
	default:
		return SIP_MSG_OK;
	}
}

enum sip_msg_error sip_msg_parse(const char *buf, size_t len, bool truncated, struct sip_msg *m)
{
	const char *p = buf, *end = buf + len;
	bool first = true, seen_via = false;

	memset(m, 0, sizeof(*m));
	m->expires = -1;
	if (memchr(buf, '\0', len)) /* never text; and no parser below has to think about it */
		return SIP_MSG_BAD_HEADER;
	/* Leading CRLFs on a stream are ignored (RFC 3261 §7.5); the classifier allows them too. */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	for (;;) {
		const char *nl = find_char(p, end, '\n'), *line_end;
		enum sip_msg_error err;

		if (!nl)
			return SIP_MSG_TRUNCATED; /* no blank line within what was copied */
		line_end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (line_end - p > SIP_MSG_LINE_MAX)
			return SIP_MSG_BAD_HEADER;
		if (line_end == p) {
			m->body_truncated = truncated;
			break; /* the blank line: the headers are all here */
		}
		if (first) {
			if (!parse_start_line(p, line_end, m))
				return SIP_MSG_BAD_START_LINE;
			first = false;
		} else if (is_space(*p)) {
			return SIP_MSG_FOLDED;
		} else {
			err = parse_header(p, line_end, m, &seen_via);
			if (err)
				return err;
		}
		p = nl + 1;
	}
	if (!seen_via)
		return SIP_MSG_BAD_VIA;
	if (!m->cseq_method)
		return SIP_MSG_BAD_CSEQ;
	if (!m->call_id.len)
		return SIP_MSG_NO_CALL_ID;
	if (!m->from.uri.len || !m->to.uri.len)
		return SIP_MSG_NO_FROM_TO;
	return SIP_MSG_OK;
}
