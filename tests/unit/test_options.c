// SPDX-License-Identifier: GPL-2.0-only
/* Flag parsing: defaults, every error message, and the one-table-drives-help rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "optdoc.h"
#include "options.h"
#include "probe_catalog.h"
#include "refresh.h"
#include "sendq_abi.h"
#include "sip.h"

static char errbuf[4096];

/* Parse argv with stderr captured into errbuf. */
static enum options_result parse(struct config *cfg, int argc, char **argv)
{
	FILE *saved = stderr, *mem = fmemopen(errbuf, sizeof(errbuf), "w");
	enum options_result r;

	memset(errbuf, 0, sizeof(errbuf));
	stderr = mem;
	r = options_parse(cfg, argc, argv);
	fflush(mem);
	stderr = saved;
	fclose(mem);
	return r;
}

#define PARSE(cfg, ...)                                                                            \
	parse(cfg, sizeof((char *[]){"sipwatch", __VA_ARGS__}) / sizeof(char *),                   \
	      (char *[]){"sipwatch", __VA_ARGS__})

static void test_defaults(void **state)
{
	struct config cfg;
	char *argv[] = {"sipwatch"};

	assert_int_equal(parse(&cfg, 1, argv), OPTIONS_RUN);
	assert_string_equal(cfg.listen_address, ":9060");
	assert_string_equal(cfg.telemetry_path, "/metrics");
	assert_int_equal(cfg.nr_sip_ports, 2);
	assert_int_equal(cfg.sip_ports[0], 5060);
	assert_int_equal(cfg.sip_ports[1], 5061);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_int_equal(cfg.log_format, LOG_FORMAT_LOGFMT);
	assert_false(cfg.netns_all);
	assert_false(cfg.bpf_stats);
	assert_int_equal(cfg.neigh_incident_interval, 60);
	assert_int_equal(cfg.neigh_refresh, REFRESH_OFF);
	assert_int_equal(cfg.neigh_refresh_window_ms, 600000);
	assert_true(cfg.neigh_refresh_rate == 2);
	assert_false(cfg.neigh_failfast);
	assert_int_equal(cfg.neigh_events_ring_kib, 4096);
}

static void test_values_both_spellings(void **state)
{
	struct config cfg;

	assert_int_equal(PARSE(&cfg, "--sip.ports=5070", "--web.listen-address", "127.0.0.1:9999",
			       "--log.level=debug", "--log.format", "json", "--netns.all",
			       "--bpf.stats=false", "--web.telemetry-path=/m"),
			 OPTIONS_RUN);
	assert_int_equal(cfg.nr_sip_ports, 1);
	assert_int_equal(cfg.sip_ports[0], 5070);
	assert_string_equal(cfg.listen_address, "127.0.0.1:9999");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
	assert_true(cfg.netns_all);
	assert_false(cfg.bpf_stats);
	assert_string_equal(cfg.telemetry_path, "/m");
	assert_int_equal(PARSE(&cfg, "--neigh.incident-interval=0"), OPTIONS_RUN);
	assert_int_equal(cfg.neigh_incident_interval, 0);
	assert_int_equal(PARSE(&cfg, "--sip.ports=5070", "--neigh.incident-interval", "5"),
			 OPTIONS_RUN);
	assert_int_equal(cfg.neigh_incident_interval, 5);
	assert_true(config_is_sip_port(&cfg, 5070));
	assert_false(config_is_sip_port(&cfg, 5060));
}

static void test_ipv6_listen_address(void **state)
{
	struct config cfg;

	assert_int_equal(PARSE(&cfg, "--web.listen-address=[::1]:9060"), OPTIONS_RUN);
	assert_string_equal(cfg.listen_address, "[::1]:9060");
}

/*
 * Every error: exit status 2 and one line that names the flag (the argument up to '=') and says
 * what was expected.
 */
static const struct {
	char *arg;
	const char *fragment;
} usage_errors[] = {
    {"--web.listen-address=nocolon", "expected [host]:port"},
    {"--web.listen-address=:0", "port must be 1-65535"},
    {"--web.listen-address=:70000", "port must be 1-65535"},
    {"--web.listen-address=:http", "port must be 1-65535"},
    {"--web.listen-address=[::1:9060", "[ipv6-address]:port"},
    {"--web.telemetry-path=metrics", "must start with /"},
    {"--web.telemetry-path=/", "must start with /"},
    {"--sip.ports=", "at least one port"},
    {"--sip.ports=0", "comma-separated list"},
    {"--sip.ports=5060,abc", "comma-separated list"},
    {"--sip.ports=5060,", "trailing comma"},
    {"--sip.ports=5060,5060", "listed twice"},
    {"--sip.ports=1,2,3,4,5,6,7,8,9", "at most 8"},
    {"--log.level=verbose", "expected debug, info, warn or error"},
    {"--log.format=xml", "expected logfmt or json"},
    {"--netns.all=yes", "expected true or false"},
    {"--bpf.stats=1", "expected true or false"},
    {"--log.level", "needs a value"},
    {"--neigh.incident-interval=-1", "expected whole seconds 0-86400"},
    {"--neigh.incident-interval=1.5", "expected whole seconds 0-86400"},
    {"--neigh.incident-interval=86401", "expected whole seconds 0-86400"},
    {"--neigh.refresh=always", "expected off, use or managed"},
    {"--neigh.refresh-window=10", "expected a duration like"},
    {"--neigh.refresh-window=500ms", "must be at least 1s"},
    {"--neigh.refresh-window=24h", "under 24h"},
    {"--stall.threshold=1h", "under 1h"},
    {"--stall.threshold=500", "expected a duration"},
    {"--stall.threshold=0s", "expected a duration"},
    {"--stall.threshold=-1s", "expected a duration"},
    {"--stall.threshold=2h", "expected a duration"},
    {"--stall.threshold=3600s", "expected a duration"},
    {"--stall.threshold=fast", "expected a duration"},
    {"--neigh.refresh-rate=0", "more than 0"},
    {"--neigh.refresh-rate=fast", "more than 0"},
    {"--neigh.refresh-rate=1001", "at most 1000"},
    {"--neigh.fail-fast=on", "expected true or false"},
    {"--neigh.events-ring-kib=100", "power of two"},
    {"--neigh.events-ring-kib=32", "64-65536"},
    {"--neigh.events-ring-kib=131072", "64-65536"},
    {"--tcp.keepalive=2,1", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=0,1,2", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=2,1,128", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=2,-1,2", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=2,1,2x", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.user-timeout=-5", "expected milliseconds"},
    {"--tcp.user-timeout=3s", "expected milliseconds"},
    {"--web.config.file=/nonexistent/web.yml", "cannot read /nonexistent/web.yml"},
    {"--ifaces=eth0,,eth1", "comma-separated list"},
    {"--ifaces=eth0,", "comma-separated list"},
    {"--xdp.mode=offload", "expected auto, native, generic or off"},
    {"--peers.max=8", "expected a whole number 16-1000000"},
    {"--peers.max=lots", "expected a whole number"},
    {"--peers.idle-timeout=60", "expected a duration like"},
    {"--peers.idle-timeout=100ms", "must be at least 1s"},
    {"--metrics.peer-series=-1", "expected a whole number 0-10000"},
    /* Issue 17 item 11: values that would wrap in 32 bits, signs, spaces, hex, exponents. */
    {"--tcp.keepalive=4294967297,1,1", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=1,4294967297,1", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=1,1,4294967297", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=18446744073709551617,1,1", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=+2,1,2", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive= 2,1,2", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.keepalive=2,1,2,", "expected IDLE,INTERVAL,COUNT"},
    {"--tcp.user-timeout=1", "expected milliseconds 10000-2147483647"},
    {"--tcp.user-timeout=9999", "expected milliseconds 10000-2147483647"},
    {"--tcp.user-timeout=4294967297", "expected milliseconds"},
    {"--tcp.user-timeout=18446744073709551617", "expected milliseconds"},
    {"--tcp.user-timeout=0x2710", "expected milliseconds"},
    {"--peers.max=4294967312", "expected a whole number 16-1000000"},
    {"--peers.max=18446744073709551632", "expected a whole number 16-1000000"},
    {"--peers.max= 4096", "expected a whole number"},
    {"--metrics.peer-series=4294967296", "expected a whole number 0-10000"},
    {"--neigh.events-ring-kib=4294967360", "64-65536"},
    {"--neigh.incident-interval=4294967356", "expected whole seconds 0-86400"},
    {"--neigh.incident-interval=+5", "expected whole seconds 0-86400"},
    {"--sip.ports=4294972356", "comma-separated list"},
    {"--sip.ports=+5060", "comma-separated list"},
    {"--sip.ports= 5060", "comma-separated list"},
    {"--web.listen-address=:4294976356", "port must be 1-65535"},
    {"--web.listen-address=:+9060", "port must be 1-65535"},
    {"--stall.threshold=1e3ms", "expected a duration"},
    {"--stall.threshold=0x10ms", "expected a duration"},
    {"--stall.threshold= 5ms", "expected a duration"},
    {"--stall.threshold=18446744073709551617s", "expected a duration"},
    {"--stall.threshold=infs", "expected a duration"},
    {"--peers.idle-timeout=1e2s", "expected a duration"},
    {"--neigh.refresh-window=99999999999999999999h", "under 24h"},
    {"--neigh.refresh-rate=1e2", "more than 0"},
    {"--neigh.refresh-rate=0x10", "more than 0"},
    {"--neigh.refresh-rate=nan", "more than 0"},
    /* Issue 17 item 15: repeated interfaces and unknown probe names are typos, not no-ops. */
    {"--ifaces=eth0,eth1,eth0", "interface \"eth0\" listed twice"},
    {"--ifaces=eth0,eth0", "interface \"eth0\" listed twice"},
    {"--probe.disable=neigh_updat", "unknown probe \"neigh_updat\""},
    {"--probe.disable=neigh_update,bogus", "unknown probe \"bogus\""},
    {"--probe.disable=neigh_update,neigh_update", "probe \"neigh_update\" listed twice"},
    {"--probe.disable=neigh_update,", "comma-separated list of probe names"},
    {"--probe.disable=,neigh_update", "comma-separated list of probe names"},
    {"--bogus", "unknown flag"},
    {"stray", "unexpected argument"},
};

static void test_every_error_message(void **state)
{
	int bad = 0;

	/* Every case is tried and reported, not only the first that fails. */
	for (size_t i = 0; i < sizeof(usage_errors) / sizeof(usage_errors[0]); i++) {
		char *arg = usage_errors[i].arg, *argv[] = {"sipwatch", arg};
		size_t flag_len = strcspn(arg, "=");
		struct config cfg;
		const char *nl;

		if (parse(&cfg, 2, argv) != OPTIONS_EXIT_USAGE) {
			print_error("%s: not a usage error\n", arg);
			bad++;
			continue;
		}
		nl = strchr(errbuf, '\n');
		if (!memmem(errbuf, strlen(errbuf), arg, flag_len) ||
		    !strstr(errbuf, usage_errors[i].fragment) || !nl || strchr(nl + 1, '\n')) {
			print_error("%s: want one line naming the flag with \"%s\", got: %s", arg,
				    usage_errors[i].fragment, errbuf);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_tcp_policy_flags(void **state)
{
	struct config cfg;
	char *argv[] = {"sipwatch"};

	assert_int_equal(parse(&cfg, 1, argv), OPTIONS_RUN);
	assert_int_equal(cfg.tcp_keepalive_idle, 0); /* off by default */
	assert_int_equal(cfg.tcp_user_timeout_ms, 0);
	/* --netns.all observes; only --tcp.policy-all-netns changes other namespaces. */
	assert_false(cfg.tcp_policy_all_netns);
	assert_int_equal(PARSE(&cfg, "--netns.all"), OPTIONS_RUN);
	assert_false(cfg.tcp_policy_all_netns);
	assert_int_equal(PARSE(&cfg, "--tcp.policy-all-netns"), OPTIONS_RUN);
	assert_true(cfg.tcp_policy_all_netns);
	assert_int_equal(PARSE(&cfg, "--tcp.keepalive=30,5,3", "--tcp.user-timeout=20000"),
			 OPTIONS_RUN);
	assert_int_equal(cfg.tcp_keepalive_idle, 30);
	assert_int_equal(cfg.tcp_keepalive_intvl, 5);
	assert_int_equal(cfg.tcp_keepalive_probes, 3);
	assert_int_equal(cfg.tcp_user_timeout_ms, 20000);
}

static void test_sip_flags(void **state)
{
	struct config cfg;
	char *argv[] = {"sipwatch"};

	assert_int_equal(parse(&cfg, 1, argv), OPTIONS_RUN);
	assert_string_equal(cfg.ifaces, "");
	assert_int_equal(cfg.xdp_mode, 0); /* auto */
	assert_int_equal(cfg.peers_max, 4096);
	assert_true(cfg.peers_idle_timeout_ms == 3600000ULL);
	assert_int_equal(cfg.metrics_peer_series, 100);
	assert_int_equal(PARSE(&cfg, "--ifaces=eth0,vlan42", "--xdp.mode=off", "--peers.max=16",
			       "--peers.idle-timeout=90s", "--metrics.peer-series=0"),
			 OPTIONS_RUN);
	assert_string_equal(cfg.ifaces, "eth0,vlan42");
	assert_int_equal(cfg.xdp_mode, 3);
	assert_int_equal(cfg.peers_max, 16);
	assert_true(cfg.peers_idle_timeout_ms == 90000ULL);
	assert_int_equal(cfg.metrics_peer_series, 0);
}

static void test_probe_disable_list(void **state)
{
	struct config cfg;

	assert_int_equal(PARSE(&cfg, "--probe.disable=neigh_update,neigh_create"), OPTIONS_RUN);
	assert_true(config_probe_disabled(&cfg, "neigh_update"));
	assert_true(config_probe_disabled(&cfg, "neigh_create"));
	assert_false(config_probe_disabled(&cfg, "neigh_upd"));
	assert_false(config_probe_disabled(&cfg, "neigh_update_done"));
	/* Every name the BPF objects have is accepted; "___" variants count as one probe. */
	assert_true(probe_catalog_count() > 10);
	for (size_t i = 0; i < probe_catalog_count(); i++) {
		char arg[128];

		snprintf(arg, sizeof(arg), "--probe.disable=%s", probe_catalog_name(i));
		assert_int_equal(PARSE(&cfg, arg), OPTIONS_RUN);
		assert_null(strstr(probe_catalog_name(i), "___"));
	}
	assert_int_equal(PARSE(&cfg, "--probe.disable=kfree_skb_neigh,failfast_egress"),
			 OPTIONS_RUN);
}

/* Distinct names that share a prefix are not a repeat. */
static void test_list_flags_not_repeats(void **state)
{
	struct config cfg;

	assert_int_equal(PARSE(&cfg, "--ifaces=eth0,eth0.42,eth"), OPTIONS_RUN);
	assert_string_equal(cfg.ifaces, "eth0,eth0.42,eth");
	assert_int_equal(PARSE(&cfg, "--probe.disable=neigh_update,neigh_update_done"),
			 OPTIONS_RUN);
	assert_true(config_probe_disabled(&cfg, "neigh_update_done"));
	assert_int_equal(PARSE(&cfg, "--tcp.keepalive=32767,32767,127", "--tcp.user-timeout=10000"),
			 OPTIONS_RUN);
	assert_int_equal(cfg.tcp_keepalive_idle, 32767);
	assert_int_equal(cfg.tcp_keepalive_probes, 127);
	assert_int_equal(cfg.tcp_user_timeout_ms, 10000);
	assert_int_equal(PARSE(&cfg, "--tcp.user-timeout=0"), OPTIONS_RUN);
	assert_int_equal(cfg.tcp_user_timeout_ms, 0);
	assert_int_equal(PARSE(&cfg, "--tcp.user-timeout=2147483647"), OPTIONS_RUN);
	assert_int_equal(PARSE(&cfg, "--neigh.refresh-rate=0.5"), OPTIONS_RUN);
	assert_true(cfg.neigh_refresh_rate == 0.5);
}

static void test_stall_threshold(void **state)
{
	struct config cfg;
	char *argv[] = {"sipwatch"};

	assert_int_equal(parse(&cfg, 1, argv), OPTIONS_RUN);
	assert_true(cfg.stall_threshold_ns == 500000000ULL);
	assert_int_equal(PARSE(&cfg, "--stall.threshold=2s"), OPTIONS_RUN);
	assert_true(cfg.stall_threshold_ns == 2000000000ULL);
	assert_int_equal(PARSE(&cfg, "--stall.threshold", "1.5ms"), OPTIONS_RUN);
	assert_true(cfg.stall_threshold_ns == 1500000ULL);
	assert_int_equal(PARSE(&cfg, "--stall.threshold=250us"), OPTIONS_RUN);
	assert_true(cfg.stall_threshold_ns == 250000ULL);
}

static void test_help_lists_every_option(void **state)
{
	char out[8192] = "";
	FILE *mem = fmemopen(out, sizeof(out), "w");

	options_usage(mem);
	fclose(mem);
	for (size_t i = 0; i < option_count; i++) {
		char flag[128];

		snprintf(flag, sizeof(flag), "--%s", option_table[i].name);
		assert_non_null(strstr(out, flag));
		assert_non_null(strstr(out, option_table[i].help));
	}
}

/*
 * Enum flags are matched by name from their tables, whatever the order of the enum: each name
 * gives its own value, a different case or an empty value is refused.
 */
static void test_enum_values_by_name(void **state)
{
	static const struct {
		char *arg;
		size_t field;
		int want;
	} cases[] = {
	    {"--neigh.refresh=off", offsetof(struct config, neigh_refresh), REFRESH_OFF},
	    {"--neigh.refresh=use", offsetof(struct config, neigh_refresh), REFRESH_USE},
	    {"--neigh.refresh=managed", offsetof(struct config, neigh_refresh), REFRESH_MANAGED},
	    {"--stall.hook=auto", offsetof(struct config, stall_hook), SENDQ_RUNG_AUTO},
	    {"--stall.hook=fentry", offsetof(struct config, stall_hook), SENDQ_RUNG_FENTRY},
	    {"--stall.hook=tracepoint", offsetof(struct config, stall_hook), SENDQ_RUNG_TRACEPOINT},
	    {"--stall.hook=syscalls", offsetof(struct config, stall_hook), SENDQ_RUNG_SYSCALLS},
	    {"--xdp.mode=auto", offsetof(struct config, xdp_mode), SIP_XDP_AUTO},
	    {"--xdp.mode=native", offsetof(struct config, xdp_mode), SIP_XDP_NATIVE},
	    {"--xdp.mode=generic", offsetof(struct config, xdp_mode), SIP_XDP_GENERIC},
	    {"--xdp.mode=off", offsetof(struct config, xdp_mode), SIP_XDP_OFF},
	    {"--log.level=warn", offsetof(struct config, log_level), LOG_WARN},
	    {"--log.level=error", offsetof(struct config, log_level), LOG_ERROR},
	};
	struct config cfg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {"sipwatch", cases[i].arg};

		assert_int_equal(parse(&cfg, 2, argv), OPTIONS_RUN);
		assert_int_equal(*(int *)((char *)&cfg + cases[i].field), cases[i].want);
	}
	assert_int_equal(PARSE(&cfg, "--neigh.refresh=Use"), OPTIONS_EXIT_USAGE);
	assert_int_equal(PARSE(&cfg, "--neigh.refresh="), OPTIONS_EXIT_USAGE);
	/* The names back, for log lines and probe labels. */
	assert_string_equal(stall_hook_name(SENDQ_RUNG_TRACEPOINT), "tracepoint");
	assert_string_equal(stall_hook_name(SENDQ_NR_RUNGS), "unknown");
	assert_string_equal(config_enum_name(refresh_mode_names, REFRESH_MANAGED), "managed");
}

/* The whole text of @name, read from the top of the tree or from build/ (where the tests run). */
static char *slurp(const char *name)
{
	char path[256], *text = NULL;
	size_t len = 0, n;
	char buf[4096];
	FILE *f = fopen(name, "r"), *mem;

	if (!f) {
		snprintf(path, sizeof(path), "../%s", name);
		f = fopen(path, "r");
	}
	if (!f)
		fail_msg("cannot read %s", name);
	mem = open_memstream(&text, &len);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(f);
	fclose(mem);
	return text;
}

/* What @print writes, as one string. */
static char *printed(void (*print)(FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	print(mem);
	fclose(mem);
	return text;
}

/* The first line where @got and @want differ, for the failure message. */
static void assert_same_text(const char *got, const char *want, const char *what)
{
	int line = 1;
	size_t i = 0;

	while (got[i] && got[i] == want[i])
		line += got[i++] == '\n';
	if (got[i] || want[i])
		fail_msg(
		    "%s differs from the option table at line %d (run `make docs`): has \"%.60s\", "
		    "the table gives \"%.60s\"",
		    what, line, got + i, want + i);
}

/* docs/sipwatch.8 is exactly what the option table prints now: no flag, default or text drifts. */
static void test_man_page_is_generated(void **state)
{
	char *file = slurp("docs/sipwatch.8"), *want = printed(optdoc_man);

	assert_same_text(file, want, "docs/sipwatch.8");
	/* Every flag has its entry (a check of the generator itself, not only of the file). */
	for (size_t i = 0; i < option_count; i++) {
		char entry[128] = ".TP\n\\fB\\-\\-";
		size_t n = strlen(entry);

		for (const char *p = option_table[i].name; *p && n + 3 < sizeof(entry); p++) {
			if (*p == '-')
				entry[n++] = '\\';
			entry[n++] = *p;
		}
		entry[n] = '\0';
		if (!strstr(want, entry))
			fail_msg("the man page has no entry for --%s", option_table[i].name);
	}
	free(file);
	free(want);
}

/*
 * The README's flag table (between its options markers) is what the table prints now, and it has
 * a row per flag.
 */
static void test_readme_table_is_generated(void **state)
{
	char *readme = slurp("README.md"), *want = printed(optdoc_readme_rows), *begin, *end;

	begin = strstr(readme, OPTDOC_README_BEGIN);
	assert_non_null(begin);
	begin += strlen(OPTDOC_README_BEGIN);
	end = strstr(begin, OPTDOC_README_END);
	assert_non_null(end);
	*end = '\0';
	assert_same_text(begin, want, "README.md's flag table");
	for (size_t i = 0; i < option_count; i++) {
		char row[128];

		snprintf(row, sizeof(row), "| `--%s", option_table[i].name);
		if (!strstr(begin, row))
			fail_msg("README.md has no flag-table row for --%s", option_table[i].name);
	}
	free(readme);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_values_both_spellings),
	    cmocka_unit_test(test_ipv6_listen_address),
	    cmocka_unit_test(test_every_error_message),
	    cmocka_unit_test(test_tcp_policy_flags),
	    cmocka_unit_test(test_probe_disable_list),
	    cmocka_unit_test(test_list_flags_not_repeats),
	    cmocka_unit_test(test_sip_flags),
	    cmocka_unit_test(test_stall_threshold),
	    cmocka_unit_test(test_help_lists_every_option),
	    cmocka_unit_test(test_enum_values_by_name),
	    cmocka_unit_test(test_man_page_is_generated),
	    cmocka_unit_test(test_readme_table_is_generated),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
