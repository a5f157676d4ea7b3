/* SPDX-License-Identifier: GPL-2.0-only */
/* A growable text buffer: the one place output (metrics, JSON, log lines) is assembled. */
#ifndef SIPWATCH_STRBUF_H
#define SIPWATCH_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
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
/*
 * Text that leaves the agent (metric labels, JSON, log lines) comes partly from the kernel and the
 * network: interface names and process names are bytes, not UTF-8, and one invalid byte makes
 * Prometheus reject the whole scrape and JSON parsers the whole document. strbuf_text() is the
 * one place such text is written: valid UTF-8 is copied, each byte that is not part of valid
 * UTF-8 becomes the four characters \xNN (lower-case hex), and the characters @format needs
 * escaped are escaped (so in every format the reader decodes the same text, e.g. "v\xff").
 */
enum text_format {
	TEXT_JSON,	   /* inside a JSON string literal: " \ and control characters */
	TEXT_METRIC_LABEL, /* a Prometheus label value: \ " and newline */
	TEXT_METRIC_HELP,  /* a Prometheus HELP line: \ and newline */
	TEXT_PLAIN,	   /* text for a terminal: control characters as \xNN, nothing else */
};
void strbuf_text(struct strbuf *sb, const char *s, enum text_format format);
/*
 * Length of the well-formed UTF-8 sequence starting at @s (1-4), or 0 when the byte there starts
 * none: a stray continuation byte, an overlong form, a surrogate, a code point over U+10FFFF, or a
 * sequence cut short (as the kernel cuts a 16-byte process name).
 */
size_t utf8_sequence_len(const unsigned char *s);
/* Is @s well-formed UTF-8 throughout? */
bool utf8_valid(const char *s);
/* A JSON string literal, quotes included (strbuf_text with TEXT_JSON). */
void strbuf_json_string(struct strbuf *sb, const char *s);
/* Hand the buffer's memory to the caller (who frees it); the strbuf is left empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

#endif
