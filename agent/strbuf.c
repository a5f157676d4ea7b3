// SPDX-License-Identifier: GPL-2.0-only
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	strbuf_init(sb);
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->data)
		sb->data[0] = '\0';
}

static int strbuf_reserve(struct strbuf *sb, size_t extra)
{
	size_t want = sb->len + extra + 1;
	size_t cap = sb->cap ? sb->cap : 256;
	char *p;

	if (sb->oom)
		return -1;
	if (want <= sb->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	p = realloc(sb->data, cap);
	if (!p) {
		sb->oom = 1;
		return -1;
	}
	sb->data = p;
	sb->cap = cap;
	return 0;
}

void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
	if (strbuf_reserve(sb, n))
		return;
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

void strbuf_putc(struct strbuf *sb, char c)
{
	strbuf_append(sb, &c, 1);
}

void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0 || strbuf_reserve(sb, (size_t)n))
		return;
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

size_t utf8_sequence_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0; /* continuation byte, 0xc0/0xc1 (overlong), 0xf5-0xff */
	/* RFC 3629's table: no overlong forms, no surrogates, nothing over U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf) /* also stops at the terminating NUL */
			return 0;
	return n;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_sequence_len(p);

		if (!n)
			return false;
		p += n;
	}
	return true;
}

/* The escape for ASCII character @c in @format, or NULL to copy it as it is. */
static const char *ascii_escape(unsigned char c, enum text_format format, char *buf, size_t len)
{
	if (format == TEXT_PLAIN) {
		if (c >= 0x20 && c != 0x7f)
			return NULL;
		snprintf(buf, len, "\\x%02x", c); /* no terminal escape sequences either */
		return buf;
	}
	if (c == '\\')
		return "\\\\";
	if (c == '\n')
		return "\\n";
	if (c == '"' && format != TEXT_METRIC_HELP)
		return "\\\"";
	if (format != TEXT_JSON)
		return NULL;
	if (c == '\r')
		return "\\r";
	if (c == '\t')
		return "\\t";
	if (c < 0x20) {
		snprintf(buf, len, "\\u%04x", c);
		return buf;
	}
	return NULL;
}

void strbuf_text(struct strbuf *sb, const char *s, enum text_format format)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_sequence_len(p);
		const char *esc;
		char buf[8];

		if (!n) {
			/* A backslash, escaped as the format escapes one, then xNN. */
			strbuf_printf(sb, format == TEXT_PLAIN ? "\\x%02x" : "\\\\x%02x", *p++);
			continue;
		}
		esc = n == 1 ? ascii_escape(*p, format, buf, sizeof(buf)) : NULL;
		if (esc)
			strbuf_puts(sb, esc);
		else
			strbuf_append(sb, (const char *)p, n);
		p += n;
	}
}

void strbuf_json_string(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	strbuf_text(sb, s, TEXT_JSON);
	strbuf_putc(sb, '"');
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *p = sb->data;

	if (len)
		*len = sb->len;
	if (!p)
		p = calloc(1, 1);
	strbuf_init(sb);
	return p;
}
