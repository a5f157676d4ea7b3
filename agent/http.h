/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The HTTP endpoint (libmicrohttpd, driven from the agent's event loop: no threads, so a scrape
 * sees one consistent snapshot). It serves a table of routes and knows nothing of what they
 * answer: the top of the program (agent/routes.c) fills the table. GET and HEAD only.
 */
#ifndef SIPWATCH_HTTP_H
#define SIPWATCH_HTTP_H

#include "strbuf.h"

struct http_request;

/*
 * A route writes its body into @out, sets *@content_type and returns the HTTP status.
 * @req gives access to query arguments.
 */
typedef int (*http_route_fn)(void *ctx, struct http_request *req, struct strbuf *out,
			     const char **content_type);

/* Serve @path with @fn, which is handed @ctx. */
int http_add_route(const char *path, http_route_fn fn, void *ctx);
/* The value of query argument @key, or NULL. */
const char *http_query_arg(struct http_request *req, const char *key);

/* Listen on @listen_address ("[host]:port", "host:port" or ":port"); 0 or -1 (logged). */
int http_start(const char *listen_address);
/* Readable when the server has work: the event loop then calls http_run(). -1 before start. */
int http_poll_fd(void);
void http_run(void);
/* How long the event loop may sleep before the HTTP server needs attention (at most @cap). */
int http_timeout_ms(int cap);
void http_stop(void);

#endif
