/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --web.config.file: TLS and basic auth for the HTTP endpoint, in the Prometheus exporter
 * toolkit's format (tls_server_config: cert_file, key_file; basic_auth_users: user: bcrypt hash).
 * Loaded once while the flags are parsed, so a bad file is a bad flag (exit 2).
 */
#ifndef SIPWATCH_WEBCONFIG_H
#define SIPWATCH_WEBCONFIG_H

#include <crypt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBCONFIG_MAX_USERS 32

/*
 * Each bcrypt check runs on the event loop (cost 10: ~45 ms), which also drains the kernel's
 * ring buffers. Credentials that passed are remembered for WEBCONFIG_AUTH_CACHE_NS, keyed by a
 * keyed hash (SipHash-2-4 with a random key made at start, 128 bits) of user and password, never
 * the password itself; at most WEBCONFIG_AUTH_CACHE_ENTRIES of them, the oldest replaced. Checks
 * that need bcrypt (anything not in the cache: wrong passwords, unknown users, a new scraper) are
 * limited to WEBCONFIG_BCRYPT_PER_SECOND (burst WEBCONFIG_BCRYPT_BURST); beyond that the request
 * is answered 429 without hashing, so a client guessing passwords cannot stall the loop.
 */
#define WEBCONFIG_AUTH_CACHE_ENTRIES 16
#define WEBCONFIG_AUTH_CACHE_NS	     (300ULL * 1000000000ULL)
#define WEBCONFIG_BCRYPT_PER_SECOND  4
#define WEBCONFIG_BCRYPT_BURST	     8

struct webconfig_auth_cached {
	uint64_t key[2]; /* keyed hash of user and password */
	uint64_t expires_ns;
};

struct webconfig_user {
	char name[64];
	char hash[128]; /* crypt(3) string, bcrypt: $2a$/$2b$/$2y$ */
};

struct webconfig {
	char *cert_pem; /* file contents, NULL without TLS */
	char *key_pem;
	int nr_users;
	struct webconfig_user users[WEBCONFIG_MAX_USERS];
	/* The state of webconfig_authorize(): remembered successes and the bcrypt budget. */
	struct webconfig_auth_cached cache[WEBCONFIG_AUTH_CACHE_ENTRIES];
	double bcrypt_tokens;
	uint64_t bcrypt_tokens_ns;
};

enum webconfig_auth {
	WEBCONFIG_AUTH_OK,
	WEBCONFIG_AUTH_DENIED,
	WEBCONFIG_AUTH_BUSY, /* not checked: the bcrypt budget is spent (answer 429) */
};

/* Parse @path into @wc; on error a one-line reason in @err and -1. */
int webconfig_load(const char *path, struct webconfig *wc, char *err, size_t errlen);
void webconfig_free(struct webconfig *wc);
/*
 * Do @user/@password match a configured user, at monotonic time @now_ns? A remembered success
 * answers without bcrypt; otherwise one bcrypt check, within the budget: an unknown user is
 * hashed against a configured user's hash (the first one's, so the same cost when all users share
 * one) and costs what a wrong password costs. Results compared in constant time.
 */
enum webconfig_auth webconfig_authorize(struct webconfig *wc, const char *user,
					const char *password, uint64_t now_ns);

/* How the check hashes: crypt_r, or a test's stand-in (counting calls). */
extern char *(*webconfig_crypt)(const char *phrase, const char *setting, struct crypt_data *data);
/* SipHash-2-4 of @len bytes at @in with the 16-byte @key (exposed for its test vectors). */
uint64_t webconfig_siphash(const uint8_t key[16], const void *in, size_t len);

/* The configuration --web.config.file loaded (empty when the flag is absent). */
extern struct webconfig web_config;

#endif
