// SPDX-License-Identifier: GPL-2.0-only
#include "tcp.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "decode.h"
#include "http.h"
#include "log.h"
#include "mapwalk.h"
#include "probes.h"
#include "sockowner.h"
#include "tcp.skel.h"

/* Entries in GET /tcp (offenders first); the counts cover every connection. */
#define TCP_JSON_MAX_SOCKETS 512

static struct tcp_bpf *skel;
static struct bpf_link *audit_link;
static struct metric_family *timeouts, *retransmits, *connections, *detection, *audit_scans;
static bool with_netns;
static unsigned kernel_hz;
static uint64_t calib_jiffies, calib_ns; /* first audit sample, while HZ is unknown */

/* One audit scan: the records of the live SIP connections, read at collect time. */
static struct tcp_audit_record *audit;
static size_t audit_len, audit_cap;

const char *tcp_cause_name(uint8_t cause)
{
	switch (cause) {
	case TCP_CAUSE_KEEPALIVE:
		return "keepalive";
	case TCP_CAUSE_RETRANSMISSION:
		return "retransmission";
	case TCP_CAUSE_USER_TIMEOUT:
		return "user_timeout";
	case TCP_CAUSE_UNREACHABLE:
		return "unreachable";
	default:
		return "other";
	}
}

const char *tcp_error_name(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return "etimedout";
	case EHOSTUNREACH:
		return "ehostunreach";
	case ENETUNREACH:
		return "enetunreach";
	default:
		return "other";
	}
}

unsigned tcp_hz_from_config_line(const char *line)
{
	char *end;
	unsigned long hz;

	if (strncmp(line, "CONFIG_HZ=", 10))
		return 0;
	hz = strtoul(line + 10, &end, 10);
	if (end == line + 10 || (*end && *end != '\n') || hz == 0 || hz > 10000)
		return 0;
	return (unsigned)hz;
}

unsigned tcp_hz_from_samples(uint64_t jiffies_delta, uint64_t ns_delta)
{
	static const unsigned allowed[] = {100, 250, 300, 1000};
	double measured;

	if (ns_delta < 1000000000ull)
		return 0;
	measured = (double)jiffies_delta * 1e9 / (double)ns_delta;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (measured > allowed[i] * 0.95 && measured < allowed[i] * 1.05)
			return allowed[i];
	return 0;
}

double tcp_detection_seconds(const struct tcp_keepalive_settings *ka, unsigned hz)
{
	if (!ka->enabled || !hz)
		return -1;
	return ((double)ka->idle_jiffies + (double)ka->intvl_jiffies * ka->probes) / hz;
}

unsigned tcp_kernel_hz(void)
{
	return kernel_hz;
}

/* CONFIG_HZ from /boot/config-$(uname -r) or /proc/config.gz (zlib reads both); 0 if neither. */
static unsigned read_config_hz(void)
{
	const char *paths[2] = {NULL, "/proc/config.gz"};
	char boot[320], line[256];
	struct utsname u;
	unsigned hz = 0;

	if (!uname(&u)) {
		snprintf(boot, sizeof(boot), "/boot/config-%s", u.release);
		paths[0] = boot;
	}
	for (int i = 0; i < 2 && !hz; i++) {
		gzFile f;

		if (!paths[i] || !(f = gzopen(paths[i], "rb")))
			continue;
		while (!hz && gzgets(f, line, sizeof(line)))
			hz = tcp_hz_from_config_line(line);
		gzclose(f);
	}
	return hz;
}

static double jiffies_seconds(uint64_t jiffies)
{
	return kernel_hz ? (double)jiffies / kernel_hz : -1;
}

static void log_keepalive(struct log_line *l, const struct tcp_keepalive_settings *ka)
{
	double detect = tcp_detection_seconds(ka, kernel_hz);

	log_str(l, "keepalive", ka->enabled ? "on" : "off");
	if (kernel_hz) {
		log_double(l, "keepalive_idle_seconds", jiffies_seconds(ka->idle_jiffies));
		log_double(l, "keepalive_interval_seconds", jiffies_seconds(ka->intvl_jiffies));
	}
	log_uint(l, "keepalive_probes", ka->probes);
	if (detect >= 0)
		log_double(l, "keepalive_detection_seconds", detect);
	log_uint(l, "user_timeout_ms", ka->user_timeout_ms);
}

static void note_timeout(const struct tcp_timeout_event *e);

static int on_event(void *ctx, void *data, size_t size)
{
	const struct tcp_timeout_event *e = data;
	char local[64], remote[64], comm[32];
	struct log_line l;
	int pid;

	if (size < sizeof(*e) || e->hdr.type != SIPWATCH_EV_TCP_TIMEOUT)
		return 0;
	note_timeout(e);
	decode_endpoint(local, sizeof(local), e->ep.family, e->ep.local_addr, e->ep.local_port);
	decode_endpoint(remote, sizeof(remote), e->ep.family, e->ep.remote_addr, e->ep.remote_port);
	if (!incident_begin(&l, "tcp_timeout", "the kernel closed a SIP TCP connection: timeout"))
		return 0;
	log_str(&l, "local", local);
	log_str(&l, "remote", remote);
	log_uint(&l, "port", e->ep.sip_port);
	log_str(&l, "cause", tcp_cause_name(e->cause));
	log_str(&l, "error", tcp_error_name(e->err));
	if (e->age_ns)
		log_double(&l, "age_seconds", (double)e->age_ns / 1e9);
	else
		log_str(&l, "age_seconds", "unknown");
	if (kernel_hz)
		log_double(&l, "idle_seconds", jiffies_seconds(e->idle_jiffies));
	log_keepalive(&l, &e->ka);
	log_uint(&l, "retransmits", e->retransmits);
	log_uint(&l, "probes_out", e->probes_out);
	log_uint(&l, "uid", e->uid);
	/* Bounded: agent/sockowner.h. */
	if (e->socket_ino && sockowner_find(e->socket_ino, &pid, comm, sizeof(comm))) {
		log_int(&l, "pid", pid);
		log_str(&l, "comm", comm);
	}
	if (with_netns)
		log_uint(&l, "netns", e->hdr.netns_ino);
	log_end(&l);
	return 0;
}

/* No kernel config to read HZ from: measure it between two scans' clock records. */
static void calibrate_hz(const struct tcp_audit_record *clock)
{
	if (kernel_hz)
		return;
	if (!calib_ns) {
		calib_jiffies = clock->jiffies;
		calib_ns = clock->ktime_ns;
		return;
	}
	kernel_hz = tcp_hz_from_samples(clock->jiffies - calib_jiffies, clock->ktime_ns - calib_ns);
	if (kernel_hz)
		log_msg(LOG_INFO, "kernel HZ measured as %u", kernel_hz);
}

/* Run the audit iterator once: audit[] holds one record per live SIP connection. */
static int run_audit(void)
{
	size_t bytes = 0;
	int fd, err = 0;

	audit_len = 0;
	if (!audit_link)
		return -ENOENT;
	metric_add(audit_scans, NO_LABELS, 1);
	fd = bpf_iter_create(bpf_link__fd(audit_link));
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (audit_cap * sizeof(*audit) - bytes < sizeof(*audit) * 64) {
			size_t cap = audit_cap ? audit_cap * 2 : 256;
			void *grown = realloc(audit, cap * sizeof(*audit));

			if (!grown) {
				err = -ENOMEM;
				break;
			}
			audit = grown;
			audit_cap = cap;
		}
		n = read(fd, (char *)audit + bytes, audit_cap * sizeof(*audit) - bytes);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		bytes += (size_t)n;
	}
	close(fd);
	audit_len = bytes / sizeof(*audit);
	if (audit_len && audit[0].ep.sip_port == 0) {
		calibrate_hz(&audit[0]);
		memmove(audit, audit + 1, --audit_len * sizeof(*audit));
	}
	return err;
}

/*
 * The audit scan, rerun at most every KERNEL_SCAN_MIN_NS: the iterator walks the kernel's whole
 * TCP hash table, on the event loop. Scrapes and GET /tcp share it, so a client requesting /tcp
 * in a loop costs at most four scans a second.
 */
static int audit_refresh(void)
{
	static uint64_t audited_ns;
	static int audit_err;

	if (interval_elapsed(&audited_ns, KERNEL_SCAN_MIN_NS))
		audit_err = run_audit();
	return audit_err;
}

/* sipwatch_tcp_connections and ..._keepalive_detection_seconds from the audit scan. */
static void collect_audit(struct agent *ag)
{
	int audit_err = audit_refresh();

	metric_family_clear(connections);
	metric_family_clear(detection);
	if (audit_err && !audit_len)
		return;
	for (int i = 0; i < ag->cfg.nr_sip_ports; i++) {
		char port[8];

		snprintf(port, sizeof(port), "%u", ag->cfg.sip_ports[i]);
		metric_set(connections, LABELS(port, "on"), 0);
		metric_set(connections, LABELS(port, "off"), 0);
	}
	for (size_t i = 0; i < audit_len; i++) {
		const struct tcp_audit_record *r = &audit[i];
		double secs = tcp_detection_seconds(&r->ka, kernel_hz);
		char port[8];

		snprintf(port, sizeof(port), "%u", r->ep.sip_port);
		metric_add(connections, LABELS(port, r->ka.enabled ? "on" : "off"), 1);
		/* NaN (no series yet) compares false */
		if (secs >= 0 && !(metric_value(detection, LABELS(port)) >= secs))
			metric_set(detection, LABELS(port), secs);
	}
}

static bool set_timeouts(const void *k, const void *count, void *ctx)
{
	const struct tcp_port_key *key = k;
	char port[8];

	snprintf(port, sizeof(port), "%u", key->port);
	metric_set(timeouts, LABELS(port, tcp_cause_name(key->cause)),
		   (double)*(const __u64 *)count);
	return true;
}

static bool set_retransmits(const void *k, const void *count, void *ctx)
{
	const struct tcp_port_key *key = k;
	char port[8];

	snprintf(port, sizeof(port), "%u", key->port);
	metric_set(retransmits, LABELS(port), (double)*(const __u64 *)count);
	return true;
}

static void collect_counters(void)
{
	map_for_each(bpf_map__fd(skel->maps.tcp_timeouts), sizeof(struct tcp_port_key),
		     sizeof(__u64), set_timeouts, NULL);
	map_for_each_percpu_sum(bpf_map__fd(skel->maps.tcp_retransmits),
				sizeof(struct tcp_port_key), sizeof(__u64), set_retransmits, NULL);
}

static int tcp_collect(struct agent *ag)
{
	if (!skel)
		return 0;
	collect_counters();
	collect_audit(ag);
	return 0;
}

/* The --tcp.keepalive policy's detection bound in seconds; 0 without a policy. */
static double policy_bound(const struct agent *ag)
{
	const struct config *c = &ag->cfg;

	return c->tcp_keepalive_idle ? c->tcp_keepalive_idle +
					   (double)c->tcp_keepalive_intvl * c->tcp_keepalive_probes
				     : 0;
}

/*
 * An offender cannot notice a dead idle peer in time: keepalive off (never, until it next sends),
 * or, with a --tcp.keepalive policy, slower than the policy's bound.
 */
static bool audit_offender(const struct agent *ag, const struct tcp_audit_record *r)
{
	double bound = policy_bound(ag);

	return !r->ka.enabled || (bound > 0 && tcp_detection_seconds(&r->ka, kernel_hz) > bound);
}

static void audit_record_json(struct strbuf *out, const struct agent *ag,
			      const struct tcp_audit_record *r)
{
	char local[64], remote[64];
	double secs = tcp_detection_seconds(&r->ka, kernel_hz);

	decode_endpoint(local, sizeof(local), r->ep.family, r->ep.local_addr, r->ep.local_port);
	decode_endpoint(remote, sizeof(remote), r->ep.family, r->ep.remote_addr, r->ep.remote_port);
	strbuf_puts(out, "{\"local\":");
	strbuf_json_string(out, local);
	strbuf_puts(out, ",\"remote\":");
	strbuf_json_string(out, remote);
	strbuf_printf(out, ",\"port\":%u,\"keepalive\":%s,\"offender\":%s", r->ep.sip_port,
		      r->ka.enabled ? "true" : "false", audit_offender(ag, r) ? "true" : "false");
	if (kernel_hz)
		strbuf_printf(out, ",\"idle_seconds\":%g,\"interval_seconds\":%g",
			      jiffies_seconds(r->ka.idle_jiffies),
			      jiffies_seconds(r->ka.intvl_jiffies));
	strbuf_printf(out, ",\"probes\":%u,\"settings\":\"%s\"", r->ka.probes,
		      r->ka.own_idle || r->ka.own_intvl || r->ka.own_probes ? "socket" : "sysctl");
	if (secs >= 0)
		strbuf_printf(out, ",\"detection_seconds\":%g", secs);
	strbuf_printf(out, ",\"user_timeout_ms\":%u,\"uid\":%u,\"inode\":%u}",
		      r->ka.user_timeout_ms, r->uid, r->socket_ino);
}

/* GET /tcp: the keepalive audit, offenders first. */
static int route_tcp(void *ctx, struct http_request *req, struct strbuf *out,
		     const char **content_type)
{
	struct agent *ag = ctx;
	size_t offenders = 0, written = 0;
	int err;

	*content_type = "application/json";
	if (!skel || !audit_link) {
		strbuf_puts(out, "{\"error\":\"the TCP audit iterator is not available\"}\n");
		return 503;
	}
	err = audit_refresh();
	if (err && !audit_len) {
		strbuf_printf(out, "{\"error\":\"audit failed: %s\"}\n", strerror(-err));
		return 500;
	}
	for (size_t i = 0; i < audit_len; i++)
		offenders += audit_offender(ag, &audit[i]);
	strbuf_printf(out, "{\"connections\":%zu,\"offenders\":%zu,\"hz\":%u", audit_len, offenders,
		      kernel_hz);
	if (policy_bound(ag) > 0)
		strbuf_printf(out, ",\"policy_detection_seconds\":%g", policy_bound(ag));
	strbuf_puts(out, ",\"sockets\":[");
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < audit_len && written < TCP_JSON_MAX_SOCKETS; i++) {
			if (audit_offender(ag, &audit[i]) != (pass == 0))
				continue;
			if (written++)
				strbuf_putc(out, ',');
			audit_record_json(out, ag, &audit[i]);
		}
	}
	strbuf_printf(out, "],\"truncated\":%s}\n", written < audit_len ? "true" : "false");
	return 200;
}

static void register_metrics(struct agent *ag)
{
	timeouts = metrics_counter(ag->reg, "sipwatch_tcp_connection_timeouts_total",
				   "SIP TCP connections the kernel closed for a timeout, by cause.",
				   LABELS("port", "cause"));
	retransmits =
	    metrics_counter(ag->reg, "sipwatch_tcp_retransmits_total",
			    "Retransmitted segments on SIP TCP connections.", LABELS("port"));
	connections = metrics_gauge(ag->reg, "sipwatch_tcp_connections",
				    "Established SIP TCP connections, by whether keepalive is on.",
				    LABELS("port", "keepalive"));
	audit_scans = metrics_counter(ag->reg, "sipwatch_tcp_audit_scans_total",
				      "Scans of the kernel's TCP table by the keepalive audit "
				      "(iter/tcp); scrapes and GET /tcp within 250 ms share one.",
				      NO_LABELS);
	metric_set(audit_scans, NO_LABELS, 0);
	detection = metrics_gauge(ag->reg, "sipwatch_tcp_keepalive_detection_seconds",
				  "Worst dead-peer detection time (idle + interval x probes) among "
				  "SIP TCP connections with keepalive on.",
				  LABELS("port"));
	for (int i = 0; i < ag->cfg.nr_sip_ports; i++) {
		char port[8];

		snprintf(port, sizeof(port), "%u", ag->cfg.sip_ports[i]);
		for (uint8_t c = 0; c < TCP_CAUSE_MAX; c++)
			metric_set(timeouts, LABELS(port, tcp_cause_name(c)), 0);
		metric_set(retransmits, LABELS(port), 0);
	}
}

/*
 * agent_load_skeleton() attached the iterator as a probe (tcp_audit); an iterator link only makes
 * scans when read, so the audit keeps a link of its own to create them.
 */
static void attach_audit(void)
{
	char reason[160];

	if (!probe_is_up("tcp_audit"))
		return;
	audit_link = bpf_program__attach_iter(skel->progs.tcp_audit, NULL);
	if (!audit_link) {
		snprintf(reason, sizeof(reason), "iter/tcp attach failed: %s", strerror(errno));
		probe_report("tcp_audit", false, reason);
	}
}

static int tcp_start(struct agent *ag)
{
	int attached;

	with_netns = ag->cfg.netns_all;
	register_metrics(ag);
	kernel_hz = read_config_hz();
	if (!kernel_hz)
		log_msg(LOG_INFO,
			"kernel config not readable: HZ will be measured by the TCP audit");
	skel = tcp_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->cfg = ag->bpf_cfg;
	/* Before ≈6.10 tcp:tcp_send_reset has no reason argument: classify by socket state. */
	if (!kernel_has_enum_value(ag, "sk_rst_reason", "SK_RST_REASON_TCP_KEEPALIVE_TIMEOUT")) {
		bpf_program__set_autoload(skel->progs.tcp_send_reset, false);
		probe_report("tcp_send_reset", false,
			     "no reset reasons in this kernel (6.10+): keepalive expiry is told "
			     "from zero-window probing by socket state only");
	}
	attached =
	    agent_load_skeleton(ag, skel->skeleton, on_event, NULL, &skel->bss->events_dropped);
	if (attached < 0) {
		tcp_bpf__destroy(skel);
		skel = NULL;
		return attached;
	}
	attach_audit();
	return 0;
}

/* Until HZ is known, scan once a second for the clock (a few µs: the namespace's sockets). */
static int tcp_tick(struct agent *ag)
{
	if (!kernel_hz && skel)
		run_audit();
	return 0;
}

static void tcp_stop(struct agent *ag)
{
	bpf_link__destroy(audit_link);
	audit_link = NULL;
	tcp_bpf__destroy(skel);
	skel = NULL;
	free(audit);
	audit = NULL;
	audit_len = audit_cap = 0;
}

static const struct concern_route tcp_routes[] = {
    {"/tcp", route_tcp},
    {NULL, NULL},
};

const struct concern tcp_concern = {
    .routes = tcp_routes,
    .name = "tcp",
    .start = tcp_start,
    .collect = tcp_collect,
    .tick = tcp_tick,
    .stop = tcp_stop,
};

/* --- for the SIP registration tracker (issue 18): recent timeouts by peer ------------------- */

#define RECENT_TIMEOUTS 256
static struct {
	uint64_t ts_ns;
	uint8_t family;
	uint8_t addr[16];
} recent_timeouts[RECENT_TIMEOUTS];
static uint64_t nr_recent_timeouts;

static void note_timeout(const struct tcp_timeout_event *e)
{
	uint64_t i = nr_recent_timeouts++ % RECENT_TIMEOUTS;

	recent_timeouts[i].ts_ns = e->hdr.ts_ns;
	recent_timeouts[i].family = e->ep.family;
	memcpy(recent_timeouts[i].addr, e->ep.remote_addr, sizeof(recent_timeouts[i].addr));
}

bool tcp_timed_out_between(uint8_t family, const uint8_t *addr, uint64_t t0_ns, uint64_t t1_ns)
{
	uint64_t first =
	    nr_recent_timeouts > RECENT_TIMEOUTS ? nr_recent_timeouts - RECENT_TIMEOUTS : 0;

	for (uint64_t i = first; i < nr_recent_timeouts; i++) {
		uint64_t k = i % RECENT_TIMEOUTS;

		if (recent_timeouts[k].family == family && recent_timeouts[k].ts_ns >= t0_ns &&
		    recent_timeouts[k].ts_ns <= t1_ns &&
		    !memcmp(recent_timeouts[k].addr, addr, family == SW_AF_INET ? 4 : 16))
			return true;
	}
	return false;
}
