// SPDX-License-Identifier: GPL-2.0-only
#include "http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "log.h"
#include "webconfig.h"

#define MAX_ROUTES		16
#define CONNECTION_LIMIT	256
#define PER_IP_CONNECTION_LIMIT 64
#define CONNECTION_TIMEOUT_S	10
#define CONNECTION_MEMORY_LIMIT (64 * 1024)

struct route {
	char path[64];
	http_route_fn fn;
	void *ctx;
};

struct http_request {
	struct MHD_Connection *conn;
};

static struct MHD_Daemon *daemon_handle;
static struct route routes[MAX_ROUTES];
static int nr_routes;

int http_add_route(const char *path, http_route_fn fn, void *ctx)
{
	if (nr_routes == MAX_ROUTES || strlen(path) >= sizeof(routes[0].path))
		return -1;
	snprintf(routes[nr_routes].path, sizeof(routes[nr_routes].path), "%s", path);
	routes[nr_routes].fn = fn;
	routes[nr_routes].ctx = ctx;
	nr_routes++;
	return 0;
}

const char *http_query_arg(struct http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned int status,
				 const char *content_type, char *body, size_t len, bool allow)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* --web.config.file basic_auth_users: OK when no users are configured or the request names one
 * with the right password; BUSY when checking would exceed the bcrypt budget (webconfig.h). */
static enum webconfig_auth authorized(struct MHD_Connection *conn)
{
	char *password = NULL, *user;
	enum webconfig_auth ok = WEBCONFIG_AUTH_DENIED;

	if (!web_config.nr_users)
		return WEBCONFIG_AUTH_OK;
	user = MHD_basic_auth_get_username_password(conn, &password);
	if (user && password)
		ok = webconfig_authorize(&web_config, user, password, monotonic_ns());
	if (password)
		explicit_bzero(password, strlen(password));
	MHD_free(user);
	MHD_free(password);
	return ok;
}

/* 429: credentials not checked now (the bcrypt budget is spent); try again in a second. */
static enum MHD_Result send_busy(struct MHD_Connection *conn)
{
	static char body[] = "too many credential checks, retry in a second\n";
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(sizeof(body) - 1, body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Retry-After", "1");
	ret = MHD_queue_response(conn, 429, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_unauthorized(struct MHD_Connection *conn)
{
	static char body[] = "unauthorized\n";
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(sizeof(body) - 1, body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_basic_auth_fail_response(conn, "sipwatch", resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static int first_call_marker;
	struct http_request req = {conn};
	const char *content_type = "text/plain; charset=utf-8";
	struct strbuf out;
	int status = MHD_HTTP_NOT_FOUND;
	size_t len;
	char *body;

	/* The first call only announces the request; any upload body arrives in later calls. */
	if (*con_cls == NULL) {
		*con_cls = &first_call_marker;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* discard bodies: no route takes one */
		return MHD_YES;
	}
	switch (authorized(conn)) {
	case WEBCONFIG_AUTH_OK:
		break;
	case WEBCONFIG_AUTH_BUSY:
		return send_busy(conn);
	default:
		return send_unauthorized(conn);
	}
	strbuf_init(&out);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		strbuf_puts(&out, "method not allowed\n");
		body = strbuf_detach(&out, &len);
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, content_type, body, len, true);
	}
	for (int i = 0; i < nr_routes; i++) {
		if (!strcmp(url, routes[i].path)) {
			status = routes[i].fn(routes[i].ctx, &req, &out, &content_type);
			break;
		}
	}
	if (status == MHD_HTTP_NOT_FOUND && !out.len)
		strbuf_puts(&out, "not found\n");
	if (out.oom) {
		strbuf_free(&out);
		strbuf_puts(&out, "out of memory\n");
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	body = strbuf_detach(&out, &len);
	return send_text(conn, (unsigned int)status, content_type, body, len, false);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_msg(LOG_DEBUG, "http: %s", msg);
}

/* "[host]:port", "host:port" or ":port" → socket address (empty host: every address). */
static int resolve_listen_address(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
	const char *colon = strrchr(addr, ':');
	char host[256];
	size_t hlen = (size_t)(colon - addr);
	int err;

	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, hlen);
		host[strlen(host) - 1] = '\0';
	}
	err = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (err) {
		log_msg(LOG_ERROR, "--web.listen-address %s: %s", addr, gai_strerror(err));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static struct MHD_Daemon *start_daemon(unsigned int flags, uint16_t port, struct sockaddr *sa)
{
	/* --web.config.file's certificate and key, when it has them (an empty array otherwise). */
	struct MHD_OptionItem tls[] = {
	    {web_config.cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
	     web_config.cert_pem},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, web_config.key_pem},
	    {MHD_OPTION_END, 0, NULL},
	};

	if (web_config.cert_pem)
		flags |= MHD_USE_TLS;
	return MHD_start_daemon(
	    flags, port, NULL, NULL, handle, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    PER_IP_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_LIMIT, MHD_OPTION_ARRAY,
	    tls, sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, sa, MHD_OPTION_END);
}

int http_start(const char *addr)
{
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint16_t port;

	if (resolve_listen_address(addr, &ss, &sslen))
		return -1;
	port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
	if (addr[0] == ':') {
		/* No host: every IPv6 and IPv4 address, or IPv4 only where IPv6 is off. */
		daemon_handle = start_daemon(flags | MHD_USE_DUAL_STACK, port, NULL);
		if (!daemon_handle)
			daemon_handle = start_daemon(flags, port, NULL);
	} else {
		daemon_handle = start_daemon(flags | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
					     port, (struct sockaddr *)&ss);
	}
	if (!daemon_handle) {
		log_msg(LOG_ERROR,
			"cannot listen on %s (address in use, or not an address of this host)",
			addr);
		return -1;
	}
	return 0;
}

int http_poll_fd(void)
{
	return daemon_handle
		   ? MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd
		   : -1;
}

void http_run(void)
{
	if (daemon_handle)
		MHD_run(daemon_handle);
}

int http_timeout_ms(int cap)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (daemon_handle && MHD_get_timeout(daemon_handle, &t) == MHD_YES && t < (unsigned)cap)
		return (int)t;
	return cap;
}

void http_stop(void)
{
	if (daemon_handle)
		MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
	nr_routes = 0;
	webconfig_free(&web_config);
}
