/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the HTTP endpoint serves, wired from the top of the program: the telemetry path (collect,
 * then render), the status page at /, GET /incidents, and each concern's own routes. agent/http.c
 * only serves the table.
 */
#ifndef SIPWATCH_ROUTES_H
#define SIPWATCH_ROUTES_H

struct agent;
struct concern;

/* Register the agent's own routes, listen on --web.listen-address and have the event loop serve
 * it. 0, or -1 (logged): nothing is attached yet, and the start ends there. */
int routes_http_start(struct agent *ag);
/* Serve @c's routes (struct concern's table), whatever its start() returned. */
void routes_add_concern(struct agent *ag, const struct concern *c);

#endif
