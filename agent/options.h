/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Command-line options: one table (agent/options.c) in which every flag declares its type, its
 * bounds or names, its default, its help and the struct config field it fills; a few typed parsers
 * do the work (xdp-tools' lib/util/params is the model). --help, the man page docs/sipwatch.8 and
 * the README's flag table are all printed from that table (agent/optdoc.c), so none of them can
 * disagree with the parser. A bad flag or value is one error line naming the flag and exit
 * status 2. The parser sits at the top of the agent's layers; everything below reads struct config
 * (agent/config.h).
 */
#ifndef SIPWATCH_OPTIONS_H
#define SIPWATCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

enum option_type {
	OPT_BOOL,     /* bool: bare flag, =true or =false */
	OPT_STRING,   /* char[]: any text that fits */
	OPT_ADDRESS,  /* char[]: [HOST]:PORT, PORT 1-65535 */
	OPT_NUMBER,   /* uint32_t: decimal digits, min-max (0 too with zero_off), power of two */
	OPT_NUMBERS,  /* uint32_t[]: exactly as many comma-separated numbers as parts; "" = zeros */
	OPT_REAL,     /* double: more than 0, at most max */
	OPT_DURATION, /* uint64_t: number + unit (us, ms, s, m, h), kept in ns or ms */
	OPT_ENUM,     /* int: a name of enum_names */
	OPT_PORTS,    /* uint16_t[] + int count: comma-separated ports 1-65535, none twice */
	OPT_NAMES,    /* char[]: comma-separated names, none twice, each known() if set */
};

/* One part of an OPT_NUMBERS value, e.g. the COUNT of IDLE,INTERVAL,COUNT. */
struct option_part {
	const char *unit; /* "seconds", "probes": for the error message */
	uint32_t min, max;
};

struct option_def {
	const char *name;    /* without the leading "--" */
	const char *metavar; /* NULL for a boolean flag */
	const char *def;     /* default, as it would be typed */
	const char *help;    /* one paragraph for --help */
	/* More for the man page and the README (`code` spans are marked with backquotes). */
	const char *doc;
	const char *def_doc; /* the default in words when the typed one says too little */
	enum option_type type;
	size_t field;	    /* offsetof(struct config, ...) */
	size_t size;	    /* of that field (arrays: the whole array) */
	size_t count_field; /* OPT_PORTS: offsetof the int count */
	const char *unit;   /* OPT_NUMBER: "whole seconds"... (default "a whole number"); OPT_REAL:
			       what is counted; OPT_NAMES: what one name is ("probe") */
	const char *note;   /* appended to the range in the error message */
	uint64_t min, max;  /* OPT_NUMBER, OPT_REAL (max); OPT_DURATION in ns (max exclusive) */
	bool zero_off;	    /* OPT_NUMBER: 0 is also allowed (and means off) */
	const char *pow2;   /* OPT_NUMBER: must be a power of two, for this reason */
	uint64_t scale_ns;  /* OPT_DURATION: the field holds units of this many ns */
	const struct config_enum *enum_names; /* OPT_ENUM */
	const struct option_part *parts;      /* OPT_NUMBERS */
	size_t nr_parts;
	bool (*known)(const char *name); /* OPT_NAMES */
	const char *unknown_why;	 /* OPT_NAMES: why an unknown name is refused */
	/* Checks beyond the type, or what the value sets outside struct config. */
	int (*check)(struct config *cfg, const char *value, char *err, size_t errlen);
};

extern const struct option_def option_table[];
extern const size_t option_count;

enum options_result { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_EXIT_USAGE };

/*
 * Fill @cfg with defaults, then parse @argv. Prints --help/--version itself; on a bad flag
 * writes "sipwatch: <message>" to stderr and returns OPTIONS_EXIT_USAGE.
 */
enum options_result options_parse(struct config *cfg, int argc, char **argv);
void options_usage(FILE *out);
/*
 * The values flag @o accepts beyond what its help says, from its type and bounds ("a whole number
 * 16-1000000", "a duration at least 1s and under 24h"), for the man page and the README; "" when
 * the type says nothing more (a switch, a string, an enum whose names the help lists).
 */
void option_values(const struct option_def *o, char *buf, size_t len);

#endif
