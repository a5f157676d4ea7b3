// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static enum log_format out_format = LOG_FORMAT_LOGFMT;

static const char *const level_names[] = {
    [LOG_DEBUG] = "debug",
    [LOG_INFO] = "info",
    [LOG_WARN] = "warn",
    [LOG_ERROR] = "error",
};

void log_setup(enum log_level level, enum log_format format)
{
	min_level = level;
	out_format = format;
}

bool log_enabled(enum log_level level)
{
	return level >= min_level;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (!strcmp(s, "logfmt"))
		*out = LOG_FORMAT_LOGFMT;
	else if (!strcmp(s, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

/* logfmt quotes a value that is empty or holds a space, quote, '=' or control character. */
static void logfmt_value(struct strbuf *sb, const char *v)
{
	bool quote = !*v;

	for (const char *p = v; *p && !quote; p++)
		quote = *p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20;
	if (!quote) {
		strbuf_puts(sb, v);
		return;
	}
	/* JSON string escaping is a valid logfmt quoted value. */
	strbuf_json_string(sb, v);
}

static void put_key(struct log_line *l, const char *key)
{
	if (l->format == LOG_FORMAT_JSON) {
		strbuf_putc(&l->sb, ',');
		strbuf_json_string(&l->sb, key);
		strbuf_putc(&l->sb, ':');
	} else {
		strbuf_putc(&l->sb, ' ');
		strbuf_puts(&l->sb, key);
		strbuf_putc(&l->sb, '=');
	}
}

void log_str(struct log_line *l, const char *key, const char *val)
{
	put_key(l, key);
	if (l->format == LOG_FORMAT_JSON)
		strbuf_json_string(&l->sb, val ? val : "");
	else
		logfmt_value(&l->sb, val ? val : "");
}

void log_int(struct log_line *l, const char *key, int64_t val)
{
	put_key(l, key);
	strbuf_printf(&l->sb, "%lld", (long long)val);
}

void log_uint(struct log_line *l, const char *key, uint64_t val)
{
	put_key(l, key);
	strbuf_printf(&l->sb, "%llu", (unsigned long long)val);
}

void log_double(struct log_line *l, const char *key, double val)
{
	put_key(l, key);
	strbuf_printf(&l->sb, "%.6g", val);
}

bool log_begin(struct log_line *l, enum log_level level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[64];

	if (!log_enabled(level))
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	strbuf_init(&l->sb);
	l->format = out_format;
	if (l->format == LOG_FORMAT_JSON) {
		strbuf_puts(&l->sb, "{\"ts\":");
		strbuf_json_string(&l->sb, when);
	} else {
		strbuf_puts(&l->sb, "ts=");
		strbuf_puts(&l->sb, when);
	}
	log_str(l, "level", level_names[level]);
	log_str(l, "msg", msg);
	return true;
}

void log_end(struct log_line *l)
{
	if (l->format == LOG_FORMAT_JSON)
		strbuf_putc(&l->sb, '}');
	strbuf_putc(&l->sb, '\n');
	if (!l->sb.oom)
		fwrite(l->sb.data, 1, l->sb.len, stderr);
	strbuf_free(&l->sb);
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	struct log_line l;
	char msg[1024];
	size_t n;

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	if (log_begin(&l, level, msg))
		log_end(&l);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN   ? LOG_WARN
			      : level == LIBBPF_INFO ? LOG_INFO
						     : LOG_DEBUG;
	struct log_line l;
	char msg[1024];
	size_t n;

	if (!log_enabled(ours))
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	if (log_begin(&l, ours, msg)) {
		log_str(&l, "source", "libbpf");
		log_end(&l);
	}
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
