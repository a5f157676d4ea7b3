// SPDX-License-Identifier: GPL-2.0-only
#include "status.h"

#include <string.h>

/*
 * agent/status.html, embedded as-is: the page stays an ordinary HTML file that can be edited and
 * checked with any HTML tool, and the binary needs nothing at run time. The path is relative to
 * the directory make runs in; the Makefile makes status.o depend on the file.
 */
__asm__(".pushsection .rodata\n"
	".global sipwatch_status_html\n"
	".type sipwatch_status_html, @object\n"
	"sipwatch_status_html:\n"
	".incbin \"agent/status.html\"\n"
	".byte 0\n"
	".size sipwatch_status_html, . - sipwatch_status_html\n"
	".popsection\n");
extern const char sipwatch_status_html[];

#define METRICS_PATH_PLACEHOLDER "@METRICS_PATH@"

static void html_escape(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			strbuf_puts(out, "&amp;");
			break;
		case '<':
			strbuf_puts(out, "&lt;");
			break;
		case '>':
			strbuf_puts(out, "&gt;");
			break;
		case '"':
			strbuf_puts(out, "&quot;");
			break;
		case '\'':
			strbuf_puts(out, "&#39;");
			break;
		default:
			strbuf_putc(out, *s);
		}
	}
}

void status_page_render(struct strbuf *out, const char *telemetry_path)
{
	const char *page = sipwatch_status_html, *hole;

	while ((hole = strstr(page, METRICS_PATH_PLACEHOLDER))) {
		strbuf_append(out, page, (size_t)(hole - page));
		html_escape(out, telemetry_path);
		page = hole + strlen(METRICS_PATH_PLACEHOLDER);
	}
	strbuf_puts(out, page);
}
