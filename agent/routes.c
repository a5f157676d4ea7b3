// SPDX-License-Identifier: GPL-2.0-only
#include "routes.h"

#include <stdlib.h>

#include "agent.h"
#include "http.h"
#include "incident.h"
#include "log.h"
#include "status.h"

/* The telemetry path: every concern brings its metrics up to date, then all of them render. */
static int route_metrics(void *ctx, struct http_request *req, struct strbuf *out,
			 const char **content_type)
{
	struct agent *ag = ctx;

	agent_collect(ag);
	metrics_render(ag->reg, out);
	*content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 200;
}

/* GET /: the status page, pointed at the telemetry path. */
static int route_status(void *ctx, struct http_request *req, struct strbuf *out,
			const char **content_type)
{
	struct agent *ag = ctx;

	status_page_render(out, ag->cfg.telemetry_path);
	*content_type = "text/html; charset=utf-8";
	return 200;
}

/* GET /incidents[?kind=K][&limit=N]: the most recent incidents, newest first. */
static int route_incidents(void *ctx, struct http_request *req, struct strbuf *out,
			   const char **content_type)
{
	const char *limit = http_query_arg(req, "limit");
	long max = limit ? strtol(limit, NULL, 10) : INCIDENT_RING_SIZE;

	if (max <= 0 || max > INCIDENT_RING_SIZE)
		max = INCIDENT_RING_SIZE;
	incidents_to_json(out, http_query_arg(req, "kind"), (size_t)max);
	*content_type = "application/json";
	return 200;
}

static void on_http_ready(struct agent *ag, void *ctx)
{
	http_run();
}

int routes_http_start(struct agent *ag)
{
	http_add_route(ag->cfg.telemetry_path, route_metrics, ag);
	http_add_route("/", route_status, ag);
	http_add_route("/incidents", route_incidents, NULL);
	if (http_start(ag->cfg.listen_address))
		return -1;
	log_msg(LOG_INFO, "listening on %s, metrics at %s", ag->cfg.listen_address,
		ag->cfg.telemetry_path);
	return agent_watch_fd(ag, http_poll_fd(), on_http_ready, NULL);
}

void routes_add_concern(struct agent *ag, const struct concern *c)
{
	for (const struct concern_route *r = c->routes; r && r->path; r++)
		http_add_route(r->path, r->fn, ag);
}
