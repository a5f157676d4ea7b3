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

void strbuf_json_string(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			strbuf_puts(sb, "\\\"");
			break;
		case '\\':
			strbuf_puts(sb, "\\\\");
			break;
		case '\n':
			strbuf_puts(sb, "\\n");
			break;
		case '\r':
			strbuf_puts(sb, "\\r");
			break;
		case '\t':
			strbuf_puts(sb, "\\t");
			break;
		default:
			if (c < 0x20)
				strbuf_printf(sb, "\\u%04x", c);
			else
				strbuf_putc(sb, (char)c);
		}
	}
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
