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
static log_incident_sink incident_sink;

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

void log_set_incident_sink(log_incident_sink sink)
{
	incident_sink = sink;
}

bool log_enabled(enum log_level level)
{
	return level >= min_level;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

/*
 * logfmt quotes a value that is empty or holds a space, quote, '=', control character or a byte
 * that is not UTF-8 (which the quoted form writes as \xNN, like every other output).
 */
static void logfmt_value(struct strbuf *sb, const char *v)
{
	bool quote = !*v || !utf8_valid(v);

	for (const char *p = v; *p && !quote; p++)
		quote = *p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20 ||
			(unsigned char)*p == 0x7f;
	if (!quote) {
		strbuf_puts(sb, v);
		return;
	}
	/* JSON string escaping is a valid logfmt quoted value. */
	strbuf_json_string(sb, v);
}

static void put_key(struct strbuf *sb, enum log_format format, const char *key)
{
	if (format == LOG_FORMAT_JSON) {
		strbuf_putc(sb, ',');
		strbuf_json_string(sb, key);
		strbuf_putc(sb, ':');
	} else {
		strbuf_putc(sb, ' ');
		strbuf_puts(sb, key);
		strbuf_putc(sb, '=');
	}
}

void log_str(struct log_line *l, const char *key, const char *val)
{
	if (!val)
		val = "";
	if (l->emit) {
		put_key(&l->sb, l->format, key);
		if (l->format == LOG_FORMAT_JSON)
			strbuf_json_string(&l->sb, val);
		else
			logfmt_value(&l->sb, val);
	}
	if (l->incident_kind) {
		put_key(&l->json, LOG_FORMAT_JSON, key);
		strbuf_json_string(&l->json, val);
	}
}

/* A number is written the same way in logfmt and JSON. */
static void put_number(struct log_line *l, const char *key, const char *num)
{
	if (l->emit) {
		put_key(&l->sb, l->format, key);
		strbuf_puts(&l->sb, num);
	}
	if (l->incident_kind) {
		put_key(&l->json, LOG_FORMAT_JSON, key);
		strbuf_puts(&l->json, num);
	}
}

void log_int(struct log_line *l, const char *key, int64_t val)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", (long long)val);
	put_number(l, key, num);
}

void log_uint(struct log_line *l, const char *key, uint64_t val)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)val);
	put_number(l, key, num);
}

void log_double(struct log_line *l, const char *key, double val)
{
	char num[64];

	snprintf(num, sizeof(num), "%.6g", val);
	put_number(l, key, num);
}

static void format_now(char *when, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void line_start(struct log_line *l, enum log_level level, const char *msg,
		       const char *incident_kind)
{
	char when[64];

	format_now(when, sizeof(when));
	memset(l, 0, sizeof(*l));
	l->format = out_format;
	l->emit = log_enabled(level);
	l->incident_kind = incident_kind;
	if (l->emit) {
		if (l->format == LOG_FORMAT_JSON) {
			strbuf_puts(&l->sb, "{\"ts\":");
			strbuf_json_string(&l->sb, when);
		} else {
			strbuf_puts(&l->sb, "ts=");
			strbuf_puts(&l->sb, when);
		}
	}
	if (incident_kind) {
		strbuf_puts(&l->json, "{\"ts\":");
		strbuf_json_string(&l->json, when);
		put_key(&l->json, LOG_FORMAT_JSON, "kind");
		strbuf_json_string(&l->json, incident_kind);
	}
	log_str(l, "level", level_names[level]);
	log_str(l, "msg", msg);
}

bool log_begin(struct log_line *l, enum log_level level, const char *msg)
{
	if (!log_enabled(level))
		return false;
	line_start(l, level, msg, NULL);
	return true;
}

bool incident_begin(struct log_line *l, const char *kind, const char *msg)
{
	line_start(l, LOG_WARN, msg, kind);
	if (l->emit)
		log_str(l, "incident", kind);
	return true;
}

void log_end(struct log_line *l)
{
	if (l->emit) {
		if (l->format == LOG_FORMAT_JSON)
			strbuf_putc(&l->sb, '}');
		strbuf_putc(&l->sb, '\n');
		if (!l->sb.oom)
			fwrite(l->sb.data, 1, l->sb.len, stderr);
	}
	if (l->incident_kind) {
		strbuf_putc(&l->json, '}');
		if (!l->json.oom && incident_sink)
			incident_sink(l->incident_kind, l->json.data);
	}
	strbuf_free(&l->sb);
	strbuf_free(&l->json);
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
