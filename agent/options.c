// SPDX-License-Identifier: GPL-2.0-only
#include "options.h"

#include "webconfig.h"

#include "refresh.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_string(char *dst, size_t cap, const char *value, char *err, size_t errlen)
{
	if (strlen(value) >= cap) {
		snprintf(err, errlen, "value too long (at most %zu characters)", cap - 1);
		return -1;
	}
	strcpy(dst, value);
	return 0;
}

static int parse_bool(bool *dst, const char *value, char *err, size_t errlen)
{
	if (!value || !strcmp(value, "true"))
		*dst = true;
	else if (!strcmp(value, "false"))
		*dst = false;
	else {
		snprintf(err, errlen, "expected true or false, got \"%s\"", value);
		return -1;
	}
	return 0;
}

static int parse_listen_address(struct config *cfg, const char *v, char *err, size_t errlen)
{
	const char *colon = strrchr(v, ':');
	char *end;
	long port;

	if (!colon) {
		snprintf(err, errlen, "expected [host]:port, got \"%s\"", v);
		return -1;
	}
	if (v[0] == '[' && (colon == v || colon[-1] != ']')) {
		snprintf(err, errlen, "expected [ipv6-address]:port, got \"%s\"", v);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535) {
		snprintf(err, errlen, "port must be 1-65535, got \"%s\"", colon + 1);
		return -1;
	}
	return parse_string(cfg->listen_address, sizeof(cfg->listen_address), v, err, errlen);
}

static int parse_telemetry_path(struct config *cfg, const char *v, char *err, size_t errlen)
{
	if (v[0] != '/' || !strcmp(v, "/")) {
		snprintf(err, errlen, "must start with / and not be / itself, got \"%s\"", v);
		return -1;
	}
	return parse_string(cfg->telemetry_path, sizeof(cfg->telemetry_path), v, err, errlen);
}

static int parse_sip_ports(struct config *cfg, const char *v, char *err, size_t errlen)
{
	const char *p = v;
	int n = 0;

	if (!*v) {
		snprintf(err, errlen, "needs at least one port");
		return -1;
	}
	while (*p) {
		char *end;
		long port;

		errno = 0;
		port = strtol(p, &end, 10);
		if (errno || end == p || (*end && *end != ',') || port < 1 || port > 65535) {
			snprintf(err, errlen,
				 "expected a comma-separated list of ports 1-65535, got \"%s\"", v);
			return -1;
		}
		if (n == SIPWATCH_MAX_SIP_PORTS) {
			snprintf(err, errlen, "at most %d ports", SIPWATCH_MAX_SIP_PORTS);
			return -1;
		}
		for (int i = 0; i < n; i++) {
			if (cfg->sip_ports[i] == port) {
				snprintf(err, errlen, "port %ld listed twice", port);
				return -1;
			}
		}
		cfg->sip_ports[n++] = (uint16_t)port;
		p = *end ? end + 1 : end;
		if (*end && !*p) {
			snprintf(err, errlen, "trailing comma in \"%s\"", v);
			return -1;
		}
	}
	cfg->nr_sip_ports = n;
	return 0;
}

static int parse_log_level(struct config *cfg, const char *v, char *err, size_t errlen)
{
	if (log_level_parse(v, &cfg->log_level)) {
		snprintf(err, errlen, "expected debug, info, warn or error, got \"%s\"", v);
		return -1;
	}
	return 0;
}

static int parse_log_format(struct config *cfg, const char *v, char *err, size_t errlen)
{
	if (log_format_parse(v, &cfg->log_format)) {
		snprintf(err, errlen, "expected logfmt or json, got \"%s\"", v);
		return -1;
	}
	return 0;
}

static int parse_netns_all(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_bool(&cfg->netns_all, v, err, errlen);
}

static int parse_bpf_stats(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_bool(&cfg->bpf_stats, v, err, errlen);
}

static int parse_probe_disable(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_string(cfg->probe_disable, sizeof(cfg->probe_disable), v, err, errlen);
}

/* A duration: a positive number with a unit, us, ms or s ("500ms", "1.5s"). */
/* A duration with a unit (us, ms, s, m, h), more than 0 and under @limit_ns (@limit_text). */
static int parse_duration_ns(uint64_t *dst, const char *v, double limit_ns, const char *limit_text,
			     char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (!errno && end != v && x > 0) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (!strcmp(end, units[i].unit) && x * units[i].ns >= 1 &&
			    x * units[i].ns < limit_ns) {
				*dst = (uint64_t)(x * units[i].ns + 0.5);
				return 0;
			}
		}
	}
	snprintf(err, errlen, "expected a duration like 500ms, 2s or 10m (under %s), got \"%s\"",
		 limit_text, v);
	return -1;
}

static int parse_stall_threshold(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_duration_ns(&cfg->stall_threshold_ns, v, 3600e9, "1h", err, errlen);
}

static int parse_neigh_refresh(struct config *cfg, const char *v, char *err, size_t errlen)
{
	enum refresh_mode m;

	if (refresh_mode_parse(v, &m)) {
		snprintf(err, errlen, "expected off, use or managed, got \"%s\"", v);
		return -1;
	}
	cfg->neigh_refresh = m;
	return 0;
}

/* A window or timeout: a duration of at least 1s and under 24h, kept in milliseconds. */
static int parse_window_ms(uint64_t *dst_ms, const char *v, char *err, size_t errlen)
{
	uint64_t ns;

	if (parse_duration_ns(&ns, v, 86400e9, "24h", err, errlen))
		return -1;
	if (ns < 1000000000ULL) {
		snprintf(err, errlen, "must be at least 1s, got \"%s\"", v);
		return -1;
	}
	*dst_ms = ns / 1000000;
	return 0;
}

static int parse_neigh_refresh_window(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_window_ms(&cfg->neigh_refresh_window_ms, v, err, errlen);
}

static int parse_neigh_refresh_rate(struct config *cfg, const char *v, char *err, size_t errlen)
{
	char *end;
	double rate;

	errno = 0;
	rate = strtod(v, &end);
	if (errno || end == v || *end || !(rate > 0) || rate > 1000) {
		snprintf(err, errlen,
			 "expected refreshes per second, more than 0 and at most 1000, got \"%s\"",
			 v);
		return -1;
	}
	cfg->neigh_refresh_rate = rate;
	return 0;
}

static int parse_neigh_failfast(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_bool(&cfg->neigh_failfast, v, err, errlen);
}

static int parse_neigh_incident_interval(struct config *cfg, const char *v, char *err,
					 size_t errlen)
{
	char *end;
	long secs;

	errno = 0;
	secs = strtol(v, &end, 10);
	if (errno || end == v || *end || secs < 0 || secs > 86400) {
		snprintf(err, errlen, "expected whole seconds 0-86400, got \"%s\"", v);
		return -1;
	}
	cfg->neigh_incident_interval = (unsigned int)secs;
	return 0;
}

/* Kernel limits: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL (32767 s), MAX_TCP_KEEPCNT (127). */
static int parse_tcp_keepalive(struct config *cfg, const char *v, char *err, size_t errlen)
{
	unsigned idle, intvl, probes;
	char tail;

	cfg->tcp_keepalive_idle = cfg->tcp_keepalive_intvl = cfg->tcp_keepalive_probes = 0;
	if (!*v)
		return 0;
	if (strchr(v, '-') || sscanf(v, "%u,%u,%u%c", &idle, &intvl, &probes, &tail) != 3 ||
	    idle < 1 || idle > 32767 || intvl < 1 || intvl > 32767 || probes < 1 || probes > 127) {
		snprintf(err, errlen,
			 "expected IDLE,INTERVAL,COUNT (seconds 1-32767, seconds 1-32767, "
			 "probes 1-127), got \"%s\"",
			 v);
		return -1;
	}
	cfg->tcp_keepalive_idle = idle;
	cfg->tcp_keepalive_intvl = intvl;
	cfg->tcp_keepalive_probes = probes;
	return 0;
}

static int parse_tcp_user_timeout(struct config *cfg, const char *v, char *err, size_t errlen)
{
	char *end;
	long ms;

	errno = 0;
	ms = strtol(v, &end, 10);
	if (errno || end == v || *end || ms < 0 || ms > 2147483647L) {
		snprintf(err, errlen, "expected milliseconds 0-2147483647 (0 = off), got \"%s\"",
			 v);
		return -1;
	}
	cfg->tcp_user_timeout_ms = (unsigned)ms;
	return 0;
}

static int parse_web_config_file(struct config *cfg, const char *v, char *err, size_t errlen)
{
	webconfig_free(&web_config);
	if (!*v)
		return 0;
	return webconfig_load(v, &web_config, err, errlen);
}

static int parse_ifaces(struct config *cfg, const char *v, char *err, size_t errlen)
{
	for (const char *p = v; *p; p++) {
		if (*p == ',' && (p == v || p[1] == ',' || !p[1])) {
			snprintf(err, errlen,
				 "expected a comma-separated list of interface names, got \"%s\"",
				 v);
			return -1;
		}
	}
	return parse_string(cfg->ifaces, sizeof(cfg->ifaces), v, err, errlen);
}

static int parse_xdp_mode(struct config *cfg, const char *v, char *err, size_t errlen)
{
	static const char *const modes[] = {"auto", "native", "generic", "off"};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(v, modes[i])) {
			cfg->xdp_mode = (int)i; /* enum sip_xdp_mode has this order */
			return 0;
		}
	}
	snprintf(err, errlen, "expected auto, native, generic or off, got \"%s\"", v);
	return -1;
}

static int parse_count(uint32_t *dst, const char *v, long min, long max, char *err, size_t errlen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		snprintf(err, errlen, "expected a whole number %ld-%ld, got \"%s\"", min, max, v);
		return -1;
	}
	*dst = (uint32_t)n;
	return 0;
}

static int parse_peers_max(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_count(&cfg->peers_max, v, 16, 1000000, err, errlen);
}

static int parse_peers_idle_timeout(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_window_ms(&cfg->peers_idle_timeout_ms, v, err, errlen);
}

static int parse_neigh_events_ring(struct config *cfg, const char *v, char *err, size_t errlen)
{
	uint32_t kib;

	if (parse_count(&kib, v, 64, 65536, err, errlen))
		return -1;
	if (kib & (kib - 1)) {
		snprintf(err, errlen,
			 "must be a power of two (a BPF ring buffer's size), got \"%s\"", v);
		return -1;
	}
	cfg->neigh_events_ring_kib = kib;
	return 0;
}

static int parse_metrics_peer_series(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_count(&cfg->metrics_peer_series, v, 0, 10000, err, errlen);
}

const struct option_def option_table[] = {
    {"web.listen-address", "[HOST]:PORT", ":9060",
     "Address on which to expose metrics and the status page.", parse_listen_address},
    {"web.config.file", "PATH", "",
     "TLS and basic auth for the endpoint, in the Prometheus exporter toolkit's web config format.",
     parse_web_config_file},
    {"web.telemetry-path", "PATH", "/metrics", "Path under which to expose metrics.",
     parse_telemetry_path},
    {"sip.ports", "PORT[,PORT...]", "5060,5061",
     "SIP signalling ports (local or remote) whose traffic and sockets are watched.",
     parse_sip_ports},
    {"log.level", "LEVEL", "info",
     "Only log messages with this level or above: debug, info, warn, error.", parse_log_level},
    {"log.format", "FORMAT", "logfmt", "Log line format: logfmt or json.", parse_log_format},
    {"netns.all", NULL, "false",
     "Observe every network namespace (adds a netns label) instead of only the agent's own.",
     parse_netns_all},
    {"bpf.stats", NULL, "false",
     "Switch on the kernel's BPF run-time statistics (kernel.bpf_stats_enabled) while running.",
     parse_bpf_stats},
    {"probe.disable", "PROBE[,PROBE...]", "",
     "Do not attach these probes (names as in sipwatch_probe_up); they report 0.",
     parse_probe_disable},
    {"stall.threshold", "DURATION", "500ms",
     "A send call on a SIP socket that spends this long in the kernel counts as a stall and "
     "logs a send_stall incident (units us, ms, s).",
     parse_stall_threshold},
    {"neigh.incident-interval", "SECONDS", "60",
     "Log identical neighbour-failure incidents (same interface and address) at most once per "
     "this many seconds (0: every one); the rest are counted.",
     parse_neigh_incident_interval},
    {"neigh.refresh", "MODE", "off",
     "Proactive ARP/NDP refresh of SIP peers' next hops: off, use (re-probe STALE/FAILED entries) "
     "or managed (kernel keeps them resolved, 5.16+).",
     parse_neigh_refresh},
    {"neigh.refresh-window", "DURATION", "10m",
     "A SIP peer seen this recently is a refresh candidate.", parse_neigh_refresh_window},
    {"neigh.refresh-rate", "PER_SECOND", "2",
     "At most this many refresh requests per second (token bucket): ARP/NDP floods hurt switches.",
     parse_neigh_refresh_rate},
    {"neigh.events-ring-kib", "KIB", "4096",
     "Ring buffer for neighbour-failure incidents, in KiB (a power of two, 64-65536): a switch "
     "failure "
     "fails every entry behind it at once; each record is 640 bytes.",
     parse_neigh_events_ring},
    {"neigh.fail-fast", NULL, "false",
     "Refuse SIP packets to peers whose next hop the kernel found FAILED, instead of letting them "
     "hold the SIP socket's send buffer.",
     parse_neigh_failfast},
    {"tcp.keepalive", "IDLE,INTERVAL,COUNT", "",
     "Enforce TCP keepalive (seconds, seconds, probes) on SIP TCP connections in the agent's "
     "namespace (opt-in; off by default).",
     parse_tcp_keepalive},
    {"tcp.user-timeout", "MS", "0",
     "Enforce TCP_USER_TIMEOUT (milliseconds) on SIP TCP connections in the agent's namespace "
     "(opt-in; 0 = off).",
     parse_tcp_user_timeout},
    {"ifaces", "IFACE[,IFACE...]", "",
     "Interfaces whose SIP traffic is classified (tc or XDP ingress, tc egress); default: every "
     "interface that is up and not loopback when sipwatch starts.",
     parse_ifaces},
    {"xdp.mode", "MODE", "auto",
     "Ingress hook. auto or off: tc ingress (a tcx link where the kernel has one), which "
     "never reconfigures the device. generic: generic XDP (the kernel turns off LRO and "
     "hardware GRO on the device while it is attached). native: driver XDP, only if you "
     "accept that attaching and removing it resets the NIC's queues on ixgbe, i40e, ENA, "
     "vmxnet3, mlx5 and others (traffic stops for a moment at every start and stop). XDP "
     "that cannot attach falls back to tc ingress.",
     parse_xdp_mode},
    {"peers.max", "N", "4096", "Size of the SIP peer table (LRU in the kernel).", parse_peers_max},
    {"peers.idle-timeout", "DURATION", "1h",
     "Drop a SIP peer from the table after this long without a message either way.",
     parse_peers_idle_timeout},
    {"metrics.peer-series", "N", "100",
     "At most this many per-peer series (sipwatch_sip_peer_unreachable); /peers has them all.",
     parse_metrics_peer_series},
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

		if (o->parse(cfg, o->metavar ? o->def : "false", err, sizeof(err))) {
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
		if (o->parse(cfg, value, err, sizeof(err)))
			return usage_error(o->name, err);
	}
	return OPTIONS_RUN;
}

bool config_is_sip_port(const struct config *cfg, uint16_t port)
{
	for (int i = 0; i < cfg->nr_sip_ports; i++)
		if (cfg->sip_ports[i] == port)
			return true;
	return false;
}

bool config_probe_disabled(const struct config *cfg, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = cfg->probe_disable; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == len && !strncmp(p, name, len))
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}
