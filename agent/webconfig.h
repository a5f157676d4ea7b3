/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --web.config.file: TLS and basic auth for the HTTP endpoint, in the Prometheus exporter
 * toolkit's format (tls_server_config: cert_file, key_file; basic_auth_users: user: bcrypt hash).
 * Loaded once while the flags are parsed, so a bad file is a bad flag (exit 2).
 */
#ifndef SIPWATCH_WEBCONFIG_H
#define SIPWATCH_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define WEBCONFIG_MAX_USERS 32

struct webconfig_user {
	char name[64];
	char hash[128]; /* crypt(3) string, bcrypt: $2a$/$2b$/$2y$ */
};

struct webconfig {
	char *cert_pem; /* file contents, NULL without TLS */
	char *key_pem;
	int nr_users;
	struct webconfig_user users[WEBCONFIG_MAX_USERS];
};

/* Parse @path into @wc; on error a one-line reason in @err and -1. */
int webconfig_load(const char *path, struct webconfig *wc, char *err, size_t errlen);
void webconfig_free(struct webconfig *wc);
/* True when @user/@password match a configured user (bcrypt, compared in constant time). */
bool webconfig_check_user(const struct webconfig *wc, const char *user, const char *password);

/* The configuration --web.config.file loaded (empty when the flag is absent). */
extern struct webconfig web_config;

#endif
