// SPDX-License-Identifier: GPL-2.0-only
#include "options.h"

#include "webconfig.h"

#include "probe_catalog.h"
#include "refresh.h"
#include "sendq_abi.h"

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

/*
 * A whole number in decimal digits only, at most @max: no sign, no space, no hex, and no value
 * that wraps (strtoul's "4294967297" is 1 in 32 bits; "-1" is ULONG_MAX). -1 when @v is not that.
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

static int parse_listen_address(struct config *cfg, const char *v, char *err, size_t errlen)
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
		unsigned long long port;
		const char *end;

		if (parse_decimal(p, 65535, &port, &end) || (*end && *end != ',') || port < 1) {
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
				snprintf(err, errlen, "port %llu listed twice", port);
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

/*
 * Names of the programs in sipwatch's BPF objects (probe_name(): up to "___"); a name that is none
 * of them is a typo that would otherwise leave the probe it meant attached.
 */
static int parse_probe_disable(struct config *cfg, const char *v, char *err, size_t errlen)
{
	const char *p = v;

	while (*p) {
		size_t n = strcspn(p, ",");
		char name[64];

		if (!n || n >= sizeof(name) || (p[n] == ',' && !p[n + 1])) {
			snprintf(err, errlen,
				 "expected a comma-separated list of probe names, got \"%s\"", v);
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (!probe_catalog_has(name)) {
			snprintf(err, errlen,
				 "unknown probe \"%s\": not one of sipwatch's BPF programs (see "
				 "the README)",
				 name);
			return -1;
		}
		for (const char *q = v; q < p; q += strcspn(q, ",") + 1) {
			if (strcspn(q, ",") == n && !strncmp(q, name, n)) {
				snprintf(err, errlen, "probe \"%s\" listed twice", name);
				return -1;
			}
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	return parse_string(cfg->probe_disable, sizeof(cfg->probe_disable), v, err, errlen);
}

/*
 * A duration: decimal digits with an optional fraction and a unit (us, ms, s, m, h), more than 0
 * and under @limit_ns (@limit_text). No sign, exponent, hex or space: "1e3s" or " 5s" are typos.
 */
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
	if (v[0] >= '0' && v[0] <= '9' && strspn(v, "0123456789.") == (size_t)(end - v) && !errno &&
	    x > 0) {
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

static const char *const stall_hook_names[SENDQ_NR_RUNGS] = {
    [SENDQ_RUNG_AUTO] = "auto",
    [SENDQ_RUNG_FENTRY] = "fentry",
    [SENDQ_RUNG_TRACEPOINT] = "tracepoint",
    [SENDQ_RUNG_SYSCALLS] = "syscalls",
};

const char *stall_hook_name(int hook)
{
	return hook >= 0 && hook < SENDQ_NR_RUNGS ? stall_hook_names[hook] : "unknown";
}

static int parse_stall_hook(struct config *cfg, const char *v, char *err, size_t errlen)
{
	for (int rung = 0; rung < SENDQ_NR_RUNGS; rung++) {
		if (!strcmp(v, stall_hook_names[rung])) {
			cfg->stall_hook = rung;
			return 0;
		}
	}
	snprintf(err, errlen, "expected auto, fentry, tracepoint or syscalls, got \"%s\"", v);
	return -1;
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
	if (v[0] < '0' || v[0] > '9' || strspn(v, "0123456789.") != strlen(v) || errno ||
	    end == v || *end || !(rate > 0) || rate > 1000) {
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
	unsigned long long secs;

	if (parse_decimal(v, 86400, &secs, NULL)) {
		snprintf(err, errlen, "expected whole seconds 0-86400, got \"%s\"", v);
		return -1;
	}
	cfg->neigh_incident_interval = (unsigned int)secs;
	return 0;
}

/* Kernel limits: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL (32767 s), MAX_TCP_KEEPCNT (127). */
static int parse_tcp_keepalive(struct config *cfg, const char *v, char *err, size_t errlen)
{
	unsigned long long idle, intvl, probes;
	const char *p = v;

	cfg->tcp_keepalive_idle = cfg->tcp_keepalive_intvl = cfg->tcp_keepalive_probes = 0;
	if (!*v)
		return 0;
	if (parse_decimal(p, 32767, &idle, &p) || *p++ != ',' ||
	    parse_decimal(p, 32767, &intvl, &p) || *p++ != ',' ||
	    parse_decimal(p, 127, &probes, NULL) || idle < 1 || intvl < 1 || probes < 1) {
		snprintf(err, errlen,
			 "expected IDLE,INTERVAL,COUNT (seconds 1-32767, seconds 1-32767, "
			 "probes 1-127), got \"%s\"",
			 v);
		return -1;
	}
	cfg->tcp_keepalive_idle = (unsigned)idle;
	cfg->tcp_keepalive_intvl = (unsigned)intvl;
	cfg->tcp_keepalive_probes = (unsigned)probes;
	return 0;
}

/*
 * TCP_USER_TIMEOUT kills a connection whose data stays unacknowledged this long. Under
 * TCP_USER_TIMEOUT_MIN_MS one or two lost segments would do it (the first retransmissions come
 * 1, 2 and 4 s apart with the kernel's initial RTO of 1 s), taking down every SIP trunk at once
 * on a moment's packet loss.
 */
static int parse_tcp_user_timeout(struct config *cfg, const char *v, char *err, size_t errlen)
{
	unsigned long long ms;

	if (parse_decimal(v, 2147483647ULL, &ms, NULL) || (ms && ms < TCP_USER_TIMEOUT_MIN_MS)) {
		snprintf(err, errlen,
			 "expected milliseconds %u-2147483647 (0 = off; less lets one or two lost "
			 "segments kill every SIP TCP trunk), got \"%s\"",
			 TCP_USER_TIMEOUT_MIN_MS, v);
		return -1;
	}
	cfg->tcp_user_timeout_ms = (unsigned)ms;
	return 0;
}

static int parse_tcp_policy_all_netns(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_bool(&cfg->tcp_policy_all_netns, v, err, errlen);
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
	/* A name twice would be attached twice: the second attach fails and reports it down. */
	for (const char *p = v; *p; p += strcspn(p, ",") + 1) {
		size_t n = strcspn(p, ",");

		for (const char *q = v; q < p; q += strcspn(q, ",") + 1) {
			if (strcspn(q, ",") == n && !strncmp(p, q, n)) {
				snprintf(err, errlen, "interface \"%.*s\" listed twice", (int)n, p);
				return -1;
			}
		}
		if (!p[n])
			break;
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
	unsigned long long n;

	if (parse_decimal(v, (unsigned long long)max, &n, NULL) || n < (unsigned long long)min) {
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

static int parse_sip_transactions_max(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_count(&cfg->sip_transactions_max, v, 0, 10000000, err, errlen);
}

static int parse_sip_registrations_max(struct config *cfg, const char *v, char *err, size_t errlen)
{
	return parse_count(&cfg->sip_registrations_max, v, 16, 10000000, err, errlen);
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
     "Do not attach these probes (BPF program names, as in sipwatch_probe_up); they report 0. "
     "An unknown "
     "or repeated name is an error.",
     parse_probe_disable},
    {"stall.threshold", "DURATION", "500ms",
     "A send on a SIP socket blocked this long (see --stall.hook for what is timed) counts as a "
     "stall and logs a send_stall incident (units us, ms, s).",
     parse_stall_threshold},
    {"stall.hook", "HOOK", "auto",
     "How send calls on SIP sockets are timed. fentry: fentry/fexit on inet_sendmsg and "
     "inet6_sendmsg, the exact time of each send (kernels that allow BPF tracing programs). "
     "tracepoint: tp_btf sock_send_length plus sched_switch, the time a send slept waiting "
     "(6.3+). auto: fentry, else tracepoint; the hooks run on socket sends and context switches "
     "only. syscalls: raw sys_enter/sys_exit, which puts every system call of every process on "
     "the kernel's slow path (measured 1.6-1.7x on getppid and read): never chosen by auto.",
     parse_stall_hook},
    {"neigh.incident-interval", "SECONDS", "60",
     "Log identical neighbour-failure incidents (same interface and address) at most once per "
     "this many seconds (0: every one); the rest are counted.",
     parse_neigh_incident_interval},
    {"neigh.refresh", "MODE", "off",
     "Proactive ARP/NDP refresh of SIP peers' next hops: off, use (re-probe STALE/FAILED entries) "
     "or managed (kernel keeps them resolved, 5.16+). Static, NOARP, externally learned and "
     "operator-managed entries are never written to.",
     parse_neigh_refresh},
    {"neigh.refresh-window", "DURATION", "10m",
     "A verified SIP peer (the PBX sent it a request or ping, or it spoke TCP) seen this recently "
     "is a refresh candidate.",
     parse_neigh_refresh_window},
    {"neigh.refresh-rate", "PER_SECOND", "2",
     "At most this many refresh requests per second (token bucket): ARP/NDP floods hurt switches.",
     parse_neigh_refresh_rate},
    {"neigh.events-ring-kib", "KIB", "4096",
     "Ring buffer for neighbour-failure incidents, in KiB (a power of two, 64-65536): a switch "
     "failure "
     "fails every entry behind it at once; each record is 640 bytes.",
     parse_neigh_events_ring},
    {"neigh.fail-fast", NULL, "false",
     "Refuse SIP packets to peers whose current next hop the kernel found FAILED, instead of "
     "letting them hold the SIP socket's send buffer. The FAILED entries it blocks are re-probed "
     "(also with --neigh.refresh=off), so a peer that comes back is let through.",
     parse_neigh_failfast},
    {"tcp.keepalive", "IDLE,INTERVAL,COUNT", "",
     "Enforce TCP keepalive (seconds, seconds, probes) on SIP TCP connections in the agent's "
     "namespace (opt-in; off by default).",
     parse_tcp_keepalive},
    {"tcp.user-timeout", "MS", "0",
     "Enforce TCP_USER_TIMEOUT (milliseconds) on SIP TCP connections in the agent's namespace "
     "(opt-in; 0 = off). At least 10000: below that one or two lost segments (retransmitted 1, 2, "
     "4 s apart) would close every SIP TCP trunk at once.",
     parse_tcp_user_timeout},
    {"tcp.policy-all-netns", NULL, "false",
     "Apply --tcp.keepalive and --tcp.user-timeout to new SIP TCP connections in every network "
     "namespace, containers included. Without it the policy changes only the agent's own "
     "namespace, also with --netns.all (which only observes).",
     parse_tcp_policy_all_netns},
    {"ifaces", "IFACE[,IFACE...]", "",
     "Interfaces whose SIP traffic is classified (tc or XDP ingress, tc egress); default: every "
     "interface that is up and not loopback when sipwatch starts. A name listed twice is an "
     "error.",
     parse_ifaces},
    {"xdp.mode", "MODE", "auto",
     "Ingress hook. auto or off: tc ingress (a tcx link where the kernel has one), which "
     "never reconfigures the device. generic: generic XDP (the kernel turns off LRO and "
     "hardware GRO on the device while it is attached). native: driver XDP, only if you "
     "accept that attaching and removing it resets the NIC's queues on ixgbe, i40e, ENA, "
     "vmxnet3, mlx5 and others (traffic stops for a moment at every start and stop). XDP "
     "that cannot attach falls back to tc ingress.",
     parse_xdp_mode},
    {"peers.max", "N", "4096",
     "Size of the SIP peer table (LRU in the kernel); unverified UDP sources have a second table "
     "of this size, so forged sources never evict verified peers.",
     parse_peers_max},
    {"peers.idle-timeout", "DURATION", "1h",
     "Drop a SIP peer from the table after this long without a message either way.",
     parse_peers_idle_timeout},
    {"metrics.peer-series", "N", "100",
     "At most this many per-peer series (sipwatch_sip_peer_unreachable); /peers has them all.",
     parse_metrics_peer_series},
    {"sip.transactions-max", "N", "16384",
     "SIP transactions tracked at once (each lives 32 s after its request or final response); "
     "the oldest is evicted and counted when full. 0: no copies of SIP messages to the agent, "
     "no transaction or registration tracking.",
     parse_sip_transactions_max},
    {"sip.registrations-max", "N", "16384",
     "SIP registrations (address of record + contact) tracked; the least recently refreshed is "
     "evicted and counted when full.",
     parse_sip_registrations_max},
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
