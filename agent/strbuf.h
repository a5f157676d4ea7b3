/* SPDX-License-Identifier: GPL-2.0-only */
/* A growable text buffer: the one place output (metrics, JSON, log lines) is assembled. */
#ifndef SIPWATCH_STRBUF_H
#define SIPWATCH_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *data; /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	int oom; /* set when an allocation failed; further appends are dropped */
};

void strbuf_init(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* A JSON string literal, quotes included. */
void strbuf_json_string(struct strbuf *sb, const char *s);
/* Hand the buffer's memory to the caller (who frees it); the strbuf is left empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

#endif
