/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Structured logging to stderr, as logfmt or JSON (--log.format). A line is built field by field:
 *
 *	struct log_line l;
 *	if (log_begin(&l, LOG_WARN, "neighbour resolution failed")) {
 *		log_str(&l, "ifname", "eth0");
 *		log_uint(&l, "probes", 3);
 *		log_end(&l);
 *	}
 */
#ifndef SIPWATCH_LOG_H
#define SIPWATCH_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

struct log_line {
	struct strbuf sb;
	enum log_format format;
	/* Incidents (incident_begin) also build a JSON copy, for the incident sink. */
	struct strbuf json;
	const char *incident_kind;
	bool emit; /* the text line is printed (its level is enabled) */
};

void log_setup(enum log_level level, enum log_format format);
bool log_enabled(enum log_level level);
const char *log_level_name(enum log_level level);

/* Returns false (and the line must not be used) when @level is below the configured level. */
bool log_begin(struct log_line *l, enum log_level level, const char *msg);
void log_str(struct log_line *l, const char *key, const char *val);
void log_int(struct log_line *l, const char *key, int64_t val);
void log_uint(struct log_line *l, const char *key, uint64_t val);
void log_double(struct log_line *l, const char *key, double val);
void log_end(struct log_line *l);

/*
 * An incident: a line at warn level that is also handed, as one JSON object, to the incident sink
 * (the agent keeps them in its ring of recent incidents, agent/incident.c, for the status page).
 * @kind is a short lower-case word ("neigh_failed", "send_stall", "tcp_timeout", ...). Unlike
 * log_begin, always returns true: incidents are recorded whatever the log level.
 */
bool incident_begin(struct log_line *l, const char *kind, const char *msg);

/*
 * Where incidents go besides stderr: @sink gets each one's kind and JSON object (ts, kind, level,
 * msg and the line's fields). The logger is the lowest layer and keeps nothing itself; the top of
 * the program wires the sink. NULL (the default): nowhere.
 */
typedef void (*log_incident_sink)(const char *kind, const char *json);
void log_set_incident_sink(log_incident_sink sink);

/* A line with only a message, printf-style. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Route libbpf's own messages through this logger, at matching levels. */
void log_route_libbpf(void);

#endif
