// SPDX-License-Identifier: GPL-2.0-only
/* The status page: embedded whole, telemetry path filled in and escaped, no external assets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "status.h"

static char *render(const char *path)
{
	struct strbuf sb;
	size_t len;

	strbuf_init(&sb);
	status_page_render(&sb, path);
	assert_false(sb.oom);
	return strbuf_detach(&sb, &len);
}

static void test_page_is_complete_html(void **state)
{
	char *page = render("/metrics");

	assert_non_null(strstr(page, "<!DOCTYPE html>"));
	/* The whole file is embedded: its last line is there, and nothing after it. */
	assert_non_null(strstr(page, "</html>\n"));
	assert_string_equal(strstr(page, "</html>\n"), "</html>\n");
	assert_non_null(strstr(page, "/incidents"));
	assert_non_null(strstr(page, "/peers"));
	free(page);
}

static void test_telemetry_path_filled_in_everywhere(void **state)
{
	char *page = render("/prom/metrics");

	assert_null(strstr(page, "@METRICS_PATH@"));
	assert_non_null(strstr(page, "data-metrics-path=\"/prom/metrics\""));
	assert_non_null(strstr(page, "href=\"/prom/metrics\""));
	free(page);
}

static void test_telemetry_path_is_escaped(void **state)
{
	char *page = render("/m\"><script>x</script>&'");

	assert_null(strstr(page, "/m\"><script>x"));
	assert_non_null(strstr(page, "/m&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;&#39;"));
	free(page);
}

/* A PBX often has no route to the internet: the page must not load anything from elsewhere. */
static void test_no_external_assets(void **state)
{
	char *page = render("/metrics");
	const char *bad[] = {"src=\"http", "href=\"http", "src=\"//",
			     "href=\"//",  "@import",	  "url("};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(page, bad[i]))
			fail_msg("status page references an external asset: %s", bad[i]);
	free(page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_is_complete_html),
	    cmocka_unit_test(test_telemetry_path_filled_in_everywhere),
	    cmocka_unit_test(test_telemetry_path_is_escaped),
	    cmocka_unit_test(test_no_external_assets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
