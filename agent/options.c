// SPDX-License-Identifier: GPL-2.0-only
#include "options.h"

#include "log.h"
#include "probe_catalog.h"
#include "sip.h"
#include "webconfig.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A whole number in decimal digits only, at most @max: no sign, no space, no hex, and no value
 * that wraps (strtoul's "4294967297" is 1 in 32 bits; "-1" is ULONG_MAX). -1 when @v is not that.
 * With @end, parsing stops at the first non-digit, which is left in *@end.
 */
static int parse_decimal(const char *v, unsigned long long max, unsigned long long *out,
			 const char **end)
{
	unsigned long long n = 0;
	const char *p = v;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (n > (max - digit) / 10)
			return -1;
		n = n * 10 + digit;
	}
	if (end)
		*end = p;
	else if (*p)
		return -1;
	*out = n;
	return 0;
}

static int set_string(char *dst, size_t cap, const char *value, char *err, size_t errlen)
{
	if (strlen(value) >= cap) {
		snprintf(err, errlen, "value too long (at most %zu characters)", cap - 1);
		return -1;
	}
	strcpy(dst, value);
	return 0;
}

static int parse_bool(const struct option_def *o, void *dst, const char *v, char *err,
		      size_t errlen)
{
	if (!v || !strcmp(v, "true"))
		*(bool *)dst = true;
	else if (!strcmp(v, "false"))
		*(bool *)dst = false;
	else {
		snprintf(err, errlen, "expected true or false, got \"%s\"", v);
		return -1;
	}
	return 0;
}

static int parse_string(const struct option_def *o, void *dst, const char *v, char *err,
			size_t errlen)
{
	return set_string(dst, o->size, v, err, errlen);
}

static int parse_address(const struct option_def *o, void *dst, const char *v, char *err,
			 size_t errlen)
{
	const char *colon = strrchr(v, ':');
	unsigned long long port;

	if (!colon) {
		snprintf(err, errlen, "expected [host]:port, got \"%s\"", v);
		return -1;
	}
	if (v[0] == '[' && (colon == v || colon[-1] != ']')) {
		snprintf(err, errlen, "expected [ipv6-address]:port, got \"%s\"", v);
		return -1;
	}
	if (parse_decimal(colon + 1, 65535, &port, NULL) || port < 1) {
		snprintf(err, errlen, "port must be 1-65535, got \"%s\"", colon + 1);
		return -1;
	}
	return set_string(dst, o->size, v, err, errlen);
}

static int parse_number(const struct option_def *o, void *dst, const char *v, char *err,
			size_t errlen)
{
	unsigned long long n;

	if (parse_decimal(v, o->max, &n, NULL) || (n < o->min && !(o->zero_off && n == 0))) {
		snprintf(err, errlen, "expected %s %llu-%llu%s, got \"%s\"",
			 o->unit ? o->unit : "a whole number", (unsigned long long)o->min,
			 (unsigned long long)o->max, o->note ? o->note : "", v);
		return -1;
	}
	if (o->pow2 && (n & (n - 1))) {
		snprintf(err, errlen, "must be a power of two (%s), got \"%s\"", o->pow2, v);
		return -1;
	}
	*(uint32_t *)dst = (uint32_t)n;
	return 0;
}

/* IDLE,INTERVAL,COUNT: every part, each within its own bounds; "" sets every part to 0 (off). */
static int parse_numbers(const struct option_def *o, void *dst, const char *v, char *err,
			 size_t errlen)
{
	uint32_t *out = dst;
	const char *p = v;

	memset(out, 0, o->nr_parts * sizeof(*out));
	if (!*v)
		return 0;
	for (size_t i = 0; i < o->nr_parts; i++) {
		unsigned long long n;

		if (parse_decimal(p, o->parts[i].max, &n, &p) || n < o->parts[i].min ||
		    *p++ != (i + 1 < o->nr_parts ? ',' : '\0')) {
			size_t len = 0;

			len += (size_t)snprintf(err, errlen, "expected %s (", o->metavar);
			for (size_t j = 0; j < o->nr_parts && len < errlen; j++)
				len += (size_t)snprintf(err + len, errlen - len, "%s%s %u-%u",
							j ? ", " : "", o->parts[j].unit,
							o->parts[j].min, o->parts[j].max);
			if (len < errlen)
				snprintf(err + len, errlen - len, "), got \"%s\"", v);
			memset(out, 0, o->nr_parts * sizeof(*out));
			return -1;
		}
		out[i] = (uint32_t)n;
	}
	return 0;
}

static int parse_real(const struct option_def *o, void *dst, const char *v, char *err,
		      size_t errlen)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (v[0] < '0' || v[0] > '9' || strspn(v, "0123456789.") != strlen(v) || errno ||
	    end == v || *end || !(x > 0) || x > (double)o->max) {
		snprintf(err, errlen, "expected %s, more than 0 and at most %llu, got \"%s\"",
			 o->unit, (unsigned long long)o->max, v);
		return -1;
	}
	*(double *)dst = x;
	return 0;
}

static const struct {
	const char *unit;
	uint64_t ns;
} duration_units[] = {
    {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000}, {"h", 3600000000000}};
#define NR_DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

/* @ns in the largest unit that divides it ("24h", "1s"), for messages and docs. */
static void format_duration(char *buf, size_t len, uint64_t ns)
{
	for (size_t i = NR_DURATION_UNITS; i-- > 0;) {
		if (ns % duration_units[i].ns == 0) {
			snprintf(buf, len, "%llu%s",
				 (unsigned long long)(ns / duration_units[i].ns),
				 duration_units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%lluns", (unsigned long long)ns);
}

/*
 * A duration: decimal digits with an optional fraction and a unit (us, ms, s, m, h), at least 1 ns
 * and o->min, under o->max. No sign, exponent, hex or space: "1e3s" or " 5s" are typos.
 */
static int parse_duration(const struct option_def *o, void *dst, const char *v, char *err,
			  size_t errlen)
{
	char limit[32], *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (v[0] >= '0' && v[0] <= '9' && strspn(v, "0123456789.") == (size_t)(end - v) && !errno &&
	    x > 0) {
		for (size_t i = 0; i < NR_DURATION_UNITS; i++) {
			double ns = x * (double)duration_units[i].ns;

			if (strcmp(end, duration_units[i].unit) || ns < 1 || ns >= (double)o->max)
				continue;
			if (ns < (double)o->min) {
				format_duration(limit, sizeof(limit), o->min);
				snprintf(err, errlen, "must be at least %s, got \"%s\"", limit, v);
				return -1;
			}
			*(uint64_t *)dst = (uint64_t)(ns + 0.5) / o->scale_ns;
			return 0;
		}
	}
	format_duration(limit, sizeof(limit), o->max);
	snprintf(err, errlen, "expected a duration like 500ms, 2s or 10m (under %s), got \"%s\"",
		 limit, v);
	return -1;
}

void option_values(const struct option_def *o, char *buf, size_t len)
{
	char lo[32], hi[32];

	buf[0] = '\0';
	switch (o->type) {
	case OPT_NUMBER:
		snprintf(buf, len, "%s %llu-%llu%s%s", o->unit ? o->unit : "A whole number",
			 (unsigned long long)o->min, (unsigned long long)o->max,
			 o->zero_off ? ", or 0 (off)" : "", o->pow2 ? ", a power of two" : "");
		break;
	case OPT_REAL:
		snprintf(buf, len, "More than 0, at most %llu", (unsigned long long)o->max);
		break;
	case OPT_DURATION:
		format_duration(hi, sizeof(hi), o->max);
		if (o->min) {
			format_duration(lo, sizeof(lo), o->min);
			snprintf(buf, len,
				 "A duration (units us, ms, s, m, h), at least %s, under %s", lo,
				 hi);
		} else {
			snprintf(buf, len, "A duration (units us, ms, s, m, h) under %s", hi);
		}
		break;
	case OPT_NUMBERS: {
		size_t used = (size_t)snprintf(buf, len, "%s:", o->metavar);

		for (size_t i = 0; i < o->nr_parts && used < len; i++)
			used +=
			    (size_t)snprintf(buf + used, len - used, "%s %s %u-%u", i ? "," : "",
					     o->parts[i].unit, o->parts[i].min, o->parts[i].max);
		break;
	}
	case OPT_PORTS:
		snprintf(buf, len, "At most %zu ports 1-65535, none twice",
			 o->size / sizeof(uint16_t));
		break;
	case OPT_NAMES:
		snprintf(buf, len, "No %s name twice", o->unit);
		break;
	default:
		break;
	}
	if (buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
}

/* "a, b, c or d": the names of an enum flag, for its error message and the docs. */
static void enum_list(char *buf, size_t len, const struct config_enum *names, const char *quote)
{
	size_t n = 0, used = 0;

	while (names[n].name)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s%s",
					 !i	     ? ""
					 : i + 1 < n ? ", "
						     : " or ",
					 quote, names[i].name, quote);
}

static int parse_enum(const struct option_def *o, void *dst, const char *v, char *err,
		      size_t errlen)
{
	char names[128];

	for (const struct config_enum *e = o->enum_names; e->name; e++) {
		if (!strcmp(v, e->name)) {
			*(int *)dst = e->value;
			return 0;
		}
	}
	enum_list(names, sizeof(names), o->enum_names, "");
	snprintf(err, errlen, "expected %s, got \"%s\"", names, v);
	return -1;
}

static int parse_ports(const struct option_def *o, void *dst, const char *v, char *err,
		       size_t errlen)
{
	uint16_t *ports = dst;
	size_t cap = o->size / sizeof(*ports);
	const char *p = v;
	int n = 0;

	if (!*v) {
		snprintf(err, errlen, "needs at least one port");
		return -1;
	}
	while (*p) {
		unsigned long long port;
		const char *end;

		if (parse_decimal(p, 65535, &port, &end) || (*end && *end != ',') || port < 1) {
			snprintf(err, errlen,
				 "expected a comma-separated list of ports 1-65535, got \"%s\"", v);
			return -1;
		}
		if ((size_t)n == cap) {
			snprintf(err, errlen, "at most %zu ports", cap);
			return -1;
		}
		for (int i = 0; i < n; i++) {
			if (ports[i] == port) {
				snprintf(err, errlen, "port %llu listed twice", port);
				return -1;
			}
		}
		ports[n++] = (uint16_t)port;
		p = *end ? end + 1 : end;
		if (*end && !*p) {
			snprintf(err, errlen, "trailing comma in \"%s\"", v);
			return -1;
		}
	}
	return n;
}

/*
 * Comma-separated names: none empty (",a", "a,,b", "a,"), none twice (an interface listed twice
 * would be attached twice; a probe twice is a typo), each known() where the flag has a catalog.
 */
static int parse_names(const struct option_def *o, void *dst, const char *v, char *err,
		       size_t errlen)
{
	for (const char *p = v; *p; p += strcspn(p, ",") + 1) {
		size_t n = strcspn(p, ",");
		char name[256];

		if (!n || (p[n] == ',' && !p[n + 1])) {
			snprintf(err, errlen,
				 "expected a comma-separated list of %s names, got \"%s\"", o->unit,
				 v);
			return -1;
		}
		if (o->known) {
			snprintf(name, sizeof(name), "%.*s", (int)n, p);
			if (n >= sizeof(name) || !o->known(name)) {
				snprintf(err, errlen, "unknown %s \"%.*s\": %s", o->unit, (int)n, p,
					 o->unknown_why);
				return -1;
			}
		}
		for (const char *q = v; q < p; q += strcspn(q, ",") + 1) {
			if (strcspn(q, ",") == n && !strncmp(p, q, n)) {
				snprintf(err, errlen, "%s \"%.*s\" listed twice", o->unit, (int)n,
					 p);
				return -1;
			}
		}
		if (!p[n])
			break;
	}
	return set_string(dst, o->size, v, err, errlen);
}

/* One value of flag @o into @cfg: the type's parser, then the flag's own check. */
static int option_set(const struct option_def *o, struct config *cfg, const char *v, char *err,
		      size_t errlen)
{
	static int (*const parsers[])(const struct option_def *, void *, const char *, char *,
				      size_t) = {
	    [OPT_BOOL] = parse_bool,	     [OPT_STRING] = parse_string,
	    [OPT_ADDRESS] = parse_address,   [OPT_NUMBER] = parse_number,
	    [OPT_NUMBERS] = parse_numbers,   [OPT_REAL] = parse_real,
	    [OPT_DURATION] = parse_duration, [OPT_ENUM] = parse_enum,
	    [OPT_PORTS] = parse_ports,	     [OPT_NAMES] = parse_names,
	};
	int r = parsers[o->type](o, (char *)cfg + o->field, v, err, errlen);

	if (r < 0)
		return -1;
	if (o->type == OPT_PORTS)
		*(int *)((char *)cfg + o->count_field) = r;
	return o->check ? o->check(cfg, v, err, errlen) : 0;
}

static int check_telemetry_path(struct config *cfg, const char *v, char *err, size_t errlen)
{
	if (v[0] != '/' || !strcmp(v, "/")) {
		snprintf(err, errlen, "must start with / and not be / itself, got \"%s\"", v);
		return -1;
	}
	return 0;
}

/* The file is read here, once: a bad one is a bad flag (exit 2), not a failure at run time. */
static int load_web_config(struct config *cfg, const char *v, char *err, size_t errlen)
{
	webconfig_free(&web_config);
	if (!*v)
		return 0;
	return webconfig_load(v, &web_config, err, errlen);
}

static const struct config_enum log_level_names[] = {
    {"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"error", LOG_ERROR}, {NULL, 0},
};

static const struct config_enum log_format_names[] = {
    {"logfmt", LOG_FORMAT_LOGFMT},
    {"json", LOG_FORMAT_JSON},
    {NULL, 0},
};

static const struct config_enum xdp_mode_names[] = {
    {"auto", SIP_XDP_AUTO},
    {"native", SIP_XDP_NATIVE},
    {"generic", SIP_XDP_GENERIC},
    {"off", SIP_XDP_OFF},
    {NULL, 0},
};

/* Kernel limits: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL (32767 s), MAX_TCP_KEEPCNT (127). */
static const struct option_part keepalive_parts[] = {
    {"seconds", 1, 32767},
    {"seconds", 1, 32767},
    {"probes", 1, 127},
};

#define FIELD(f) .field = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define SECOND	 1000000000ULL
#define HOUR	 (3600 * SECOND)

const struct option_def option_table[] = {
    {.name = "web.listen-address",
     .metavar = "[HOST]:PORT",
     .def = ":9060",
     .help = "Address on which to expose metrics and the status page.",
     .doc = "An IPv6 address is written in brackets: `[::1]:9060`.",
     .type = OPT_ADDRESS,
     FIELD(listen_address)},
    {.name = "web.config.file",
     .metavar = "PATH",
     .def = "",
     .help = "TLS and basic auth for the endpoint, in the Prometheus exporter toolkit's web config "
	     "format.",
     .doc = "The file is read once at start; a file that cannot be read or parsed exits 2.",
     .type = OPT_STRING,
     FIELD(web_config_file),
     .check = load_web_config},
    {.name = "web.telemetry-path",
     .metavar = "PATH",
     .def = "/metrics",
     .help = "Path under which to expose metrics.",
     .type = OPT_STRING,
     FIELD(telemetry_path),
     .check = check_telemetry_path},
    {.name = "sip.ports",
     .metavar = "PORT[,PORT...]",
     .def = "5060,5061",
     .help = "SIP signalling ports (local or remote) whose traffic and sockets are watched.",
     .type = OPT_PORTS,
     FIELD(sip_ports),
     .count_field = offsetof(struct config, nr_sip_ports)},
    {.name = "log.level",
     .metavar = "LEVEL",
     .def = "info",
     .help = "Only log messages with this level or above: debug, info, warn, error.",
     .type = OPT_ENUM,
     FIELD(log_level),
     .enum_names = log_level_names},
    {.name = "log.format",
     .metavar = "FORMAT",
     .def = "logfmt",
     .help = "Log line format: logfmt or json.",
     .type = OPT_ENUM,
     FIELD(log_format),
     .enum_names = log_format_names},
    {.name = "netns.all",
     .def = "false",
     .help = "Observe every network namespace (adds a netns label) instead of only the agent's "
	     "own.",
     .doc = "The `netns` label is the namespace's inode number, as in `ls -l /proc/PID/ns/net`.",
     .type = OPT_BOOL,
     FIELD(netns_all)},
    {.name = "bpf.stats",
     .def = "false",
     .help = "Switch on the kernel's BPF run-time statistics (kernel.bpf_stats_enabled) while "
	     "running.",
     .type = OPT_BOOL,
     FIELD(bpf_stats)},
    {.name = "probe.disable",
     .metavar = "PROBE[,PROBE...]",
     .def = "",
     .help = "Do not attach these probes (BPF program names, as in sipwatch_probe_up); they "
	     "report 0. An unknown or repeated name is an error.",
     .doc = "The names are those of the programs in sipwatch's BPF objects (as in "
	    "`sipwatch_probe_up{probe}`: `neigh_update`, `neigh_timer_handler`, `kfree_skb_neigh`, "
	    "`sendq_sock_send_length`, `sip_xdp`, `tcp_set_state`, `failfast_egress`, ...; "
	    "`send_timing` switches off send timing whatever the rung). The `sipwatch_probe_up` "
	    "names that are not programs (`keepalive_policy`, `neigh_refresh`, `xdp:IFACE`...) are "
	    "refused too: this flag never switched them off.",
     .type = OPT_NAMES,
     FIELD(probe_disable),
     .unit = "probe",
     .known = probe_catalog_has,
     .unknown_why = "not one of sipwatch's BPF programs (see the README)"},
    {.name = "stall.threshold",
     .metavar = "DURATION",
     .def = "500ms",
     .help = "A send on a SIP socket blocked this long (see --stall.hook for what is timed) counts "
	     "as a stall and logs a send_stall incident (units us, ms, s).",
     .doc = "Counted in `sipwatch_send_stalls_total`. The default is SIP's T1: a send that waits "
	    "longer has already missed the first retransmission.",
     .type = OPT_DURATION,
     FIELD(stall_threshold_ns),
     .max = HOUR,
     .scale_ns = 1},
    {.name = "stall.hook",
     .metavar = "HOOK",
     .def = "auto",
     .help = "How send calls on SIP sockets are timed. fentry: fentry/fexit on inet_sendmsg and "
	     "inet6_sendmsg, the exact time of each send (kernels that allow BPF tracing "
	     "programs). tracepoint: tp_btf sock_send_length plus sched_switch, the time a send "
	     "slept waiting (6.3+). auto: fentry, else tracepoint; the hooks run on socket sends "
	     "and context switches only. syscalls: raw sys_enter/sys_exit, which puts every system "
	     "call of every process on the kernel's slow path (measured 1.6-1.7x on getppid and "
	     "read): never chosen by auto.",
     .doc = "The rung in use is `sipwatch_probe_up{probe=\"send_timing:HOOK\"}`; with none, "
	    "`probe=\"send_timing\"` is 0.",
     .type = OPT_ENUM,
     FIELD(stall_hook),
     .enum_names = stall_hook_names},
    {.name = "neigh.incident-interval",
     .metavar = "SECONDS",
     .def = "60",
     .help = "Log identical neighbour-failure incidents (same interface and address) at most once "
	     "per this many seconds (0: every one); the rest are counted.",
     .doc = "The held-back lines are counted in `sipwatch_incidents_suppressed_total` and the next "
	    "line logged for that address carries `suppressed=N`.",
     .type = OPT_NUMBER,
     FIELD(neigh_incident_interval),
     .unit = "whole seconds",
     .max = 86400},
    {.name = "neigh.refresh",
     .metavar = "MODE",
     .def = "off",
     .help = "Proactive ARP/NDP refresh of SIP peers' next hops: off, use (re-probe STALE/FAILED "
	     "entries) or managed (kernel keeps them resolved, 5.16+). Static, NOARP, externally "
	     "learned and operator-managed entries are never written to.",
     .doc = "`managed` falls back to `use` on a kernel without managed neighbour entries.",
     .type = OPT_ENUM,
     FIELD(neigh_refresh),
     .enum_names = refresh_mode_names},
    {.name = "neigh.refresh-window",
     .metavar = "DURATION",
     .def = "10m",
     .help = "A verified SIP peer (the PBX sent it a request or ping, or it spoke TCP) seen this "
	     "recently is a refresh candidate.",
     .type = OPT_DURATION,
     FIELD(neigh_refresh_window_ms),
     .min = SECOND,
     .max = 24 * HOUR,
     .scale_ns = 1000000},
    {.name = "neigh.refresh-rate",
     .metavar = "PER_SECOND",
     .def = "2",
     .help = "At most this many refresh requests per second (token bucket): ARP/NDP floods hurt "
	     "switches.",
     .doc = "The bucket's burst is the rate.",
     .type = OPT_REAL,
     FIELD(neigh_refresh_rate),
     .unit = "refreshes per second",
     .max = 1000},
    {.name = "neigh.events-ring-kib",
     .metavar = "KIB",
     .def = "4096",
     .help = "Ring buffer for neighbour-failure incidents, in KiB (a power of two, 64-65536): a "
	     "switch failure fails every entry behind it at once; each record is 640 bytes.",
     .doc = "4 MiB holds about 6 500 records: over a second of a 5 000/s failure burst. Counters "
	    "never depend on it; only incident lines can be lost "
	    "(`sipwatch_ringbuf_events_dropped_total`).",
     .type = OPT_NUMBER,
     FIELD(neigh_events_ring_kib),
     .min = 64,
     .max = 65536,
     .pow2 = "a BPF ring buffer's size"},
    {.name = "neigh.fail-fast",
     .def = "false",
     .help = "Refuse SIP packets to peers whose current next hop the kernel found FAILED, instead "
	     "of letting them hold the SIP socket's send buffer. The FAILED entries it blocks are "
	     "re-probed (also with --neigh.refresh=off), so a peer that comes back is let through.",
     .doc = "The sender gets `EPERM` at once.",
     .type = OPT_BOOL,
     FIELD(neigh_failfast)},
    {.name = "tcp.keepalive",
     .metavar = "IDLE,INTERVAL,COUNT",
     .def = "",
     .help = "Enforce TCP keepalive (seconds, seconds, probes) on SIP TCP connections in the "
	     "agent's namespace (opt-in; off by default).",
     .doc = "SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.",
     .def_doc = "off",
     .type = OPT_NUMBERS,
     FIELD(tcp_keepalive),
     .parts = keepalive_parts,
     .nr_parts = sizeof(keepalive_parts) / sizeof(keepalive_parts[0])},
    {.name = "tcp.user-timeout",
     .metavar = "MS",
     .def = "0",
     .help = "Enforce TCP_USER_TIMEOUT (milliseconds) on SIP TCP connections in the agent's "
	     "namespace (opt-in; 0 = off). At least 10000: below that one or two lost segments "
	     "(retransmitted 1, 2, 4 s apart) would close every SIP TCP trunk at once.",
     .def_doc = "0 (off)",
     .type = OPT_NUMBER,
     FIELD(tcp_user_timeout_ms),
     .unit = "milliseconds",
     .note = " (0 = off; less lets one or two lost segments kill every SIP TCP trunk)",
     .min = TCP_USER_TIMEOUT_MIN_MS,
     .max = 2147483647,
     .zero_off = true},
    {.name = "tcp.policy-all-netns",
     .def = "false",
     .help = "Apply --tcp.keepalive and --tcp.user-timeout to new SIP TCP connections in every "
	     "network namespace, containers included. Without it the policy changes only the "
	     "agent's own namespace, also with --netns.all (which only observes).",
     .type = OPT_BOOL,
     FIELD(tcp_policy_all_netns)},
    {.name = "ifaces",
     .metavar = "IFACE[,IFACE...]",
     .def = "",
     .help = "Interfaces whose SIP traffic is classified (tc or XDP ingress, tc egress); default: "
	     "every interface that is up and not loopback when sipwatch starts. A name listed "
	     "twice is an error.",
     .doc = "The default list is taken once at start: interfaces created or brought up later are "
	    "not picked up (restart the agent).",
     .def_doc = "every up, non-loopback interface",
     .type = OPT_NAMES,
     FIELD(ifaces),
     .unit = "interface"},
    {.name = "xdp.mode",
     .metavar = "MODE",
     .def = "auto",
     .help = "Ingress hook. auto or off: tc ingress (a tcx link where the kernel has one), which "
	     "never reconfigures the device. generic: generic XDP (the kernel turns off LRO and "
	     "hardware GRO on the device while it is attached). native: driver XDP, only if you "
	     "accept that attaching and removing it resets the NIC's queues on ixgbe, i40e, ENA, "
	     "vmxnet3, mlx5 and others (traffic stops for a moment at every start and stop). XDP "
	     "that cannot attach falls back to tc ingress.",
     .doc = "XDP cannot attach when another program is there or the driver has no support.",
     .type = OPT_ENUM,
     FIELD(xdp_mode),
     .enum_names = xdp_mode_names},
    {.name = "peers.max",
     .metavar = "N",
     .def = "4096",
     .help = "Size of the SIP peer table (LRU in the kernel); unverified UDP sources have a "
	     "second table of this size, so forged sources never evict verified peers.",
     .doc = "The least recently seen peer makes room for a new one.",
     .type = OPT_NUMBER,
     FIELD(peers_max),
     .min = 16,
     .max = 1000000},
    {.name = "peers.idle-timeout",
     .metavar = "DURATION",
     .def = "1h",
     .help = "Drop a SIP peer from the table after this long without a message either way.",
     .doc = "Also from the kernel's table.",
     .type = OPT_DURATION,
     FIELD(peers_idle_timeout_ms),
     .min = SECOND,
     .max = 24 * HOUR,
     .scale_ns = 1000000},
    {.name = "metrics.peer-series",
     .metavar = "N",
     .def = "100",
     .help = "At most this many per-peer series (sipwatch_sip_peer_unreachable, and the SIP harm "
	     "series sipwatch_sip_peer_* for the peers with the most harm); /peers has them all.",
     .type = OPT_NUMBER,
     FIELD(metrics_peer_series),
     .max = 10000},
    {.name = "sip.transactions-max",
     .metavar = "N",
     .def = "16384",
     .help = "SIP transactions tracked at once (each stays 32 s after its request or final "
	     "response; Timer C, 180 s, for a ringing INVITE); the oldest is evicted and counted "
	     "(sipwatch_sip_transactions_evicted_total) when full. 0: the kernel copies no SIP "
	     "message to the agent, no transaction or registration tracking.",
     .type = OPT_NUMBER,
     FIELD(sip_transactions_max),
     .max = 10000000},
    {.name = "sip.registrations-max",
     .metavar = "N",
     .def = "16384",
     .help = "SIP registrations (address of record + contact) tracked; the least recently "
	     "refreshed is evicted and counted (sipwatch_sip_registrations_evicted_total) when "
	     "full.",
     .type = OPT_NUMBER,
     FIELD(sip_registrations_max),
     .min = 16,
     .max = 10000000},
};
const size_t option_count = sizeof(option_table) / sizeof(option_table[0]);

void options_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: sipwatch [flags]\n"
	    "       sipwatch doctor [--format=text|json] [flags]   audit this host, exit 1 if at "
	    "risk\n\n"
	    "eBPF observability for SIP signalling hosts: neighbour resolution failures, SIP\n"
	    "socket send stalls, TCP keepalive expiry and SIP traffic, as Prometheus metrics.\n\n"
	    "flags:\n");
	for (size_t i = 0; i < option_count; i++) {
		const struct option_def *o = &option_table[i];
		char left[80];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? "=" : "",
			 o->metavar ? o->metavar : "");
		fprintf(out, "  %-36s %s", left, o->help);
		if (o->def && *o->def && o->metavar)
			fprintf(out, " (default: %s)", o->def);
		fputc('\n', out);
	}
	fprintf(out, "  %-36s %s\n  %-36s %s\n", "--version", "Print the version and exit.",
		"--help", "Print this help and exit.");
	fprintf(out,
		"\nsignals: SIGTERM, SIGINT: detach every hook and exit 0. SIGHUP: logged and "
		"ignored\n(flags and --web.config.file are read only at start: restart to apply "
		"changes).\n");
}

static const struct option_def *option_find(const char *name, size_t len)
{
	for (size_t i = 0; i < option_count; i++)
		if (strlen(option_table[i].name) == len &&
		    !strncmp(option_table[i].name, name, len))
			return &option_table[i];
	return NULL;
}

static enum options_result usage_error(const char *flag, const char *msg)
{
	fprintf(stderr, "sipwatch: --%s: %s (see --help)\n", flag, msg);
	return OPTIONS_EXIT_USAGE;
}

enum options_result options_parse(struct config *cfg, int argc, char **argv)
{
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < option_count; i++) {
		const struct option_def *o = &option_table[i];

		if (option_set(o, cfg, o->def, err, sizeof(err))) {
			fprintf(stderr, "sipwatch: bad built-in default for --%s: %s\n", o->name,
				err);
			return OPTIONS_EXIT_USAGE;
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *value = NULL;
		const struct option_def *o;
		size_t len;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			options_usage(stdout);
			return OPTIONS_EXIT_OK;
		}
		if (!strcmp(arg, "--version")) {
			printf("sipwatch %s (libbpf %d.%d)\n", SIPWATCH_VERSION,
			       libbpf_major_version(), libbpf_minor_version());
			return OPTIONS_EXIT_OK;
		}
		if (strncmp(arg, "--", 2) || !arg[2]) {
			fprintf(stderr, "sipwatch: unexpected argument \"%s\" (see --help)\n", arg);
			return OPTIONS_EXIT_USAGE;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = option_find(name, len);
		if (!o) {
			fprintf(stderr, "sipwatch: unknown flag --%.*s (see --help)\n", (int)len,
				name);
			return OPTIONS_EXIT_USAGE;
		}
		if (eq)
			value = eq + 1;
		else if (o->metavar) {
			if (i + 1 >= argc)
				return usage_error(o->name, "needs a value");
			value = argv[++i];
		}
		if (option_set(o, cfg, value, err, sizeof(err)))
			return usage_error(o->name, err);
	}
	return OPTIONS_RUN;
}
