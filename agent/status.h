/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The live status page at "/": one self-contained HTML page (agent/status.html, embedded in the
 * binary at build time) whose script reads /metrics, /incidents and /peers and redraws itself every
 * few seconds. No external assets, so it works on a PBX with no route to the internet.
 */
#ifndef SIPWATCH_STATUS_H
#define SIPWATCH_STATUS_H

#include "strbuf.h"

/* The page, with every occurrence of the telemetry path (--web.telemetry-path) filled in,
 * HTML-escaped. */
void status_page_render(struct strbuf *out, const char *telemetry_path);

#endif
