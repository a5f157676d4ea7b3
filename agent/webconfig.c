// SPDX-License-Identifier: GPL-2.0-only
#include "webconfig.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <yaml.h>

struct webconfig web_config;

#define MAX_PEM_BYTES (1 << 20)

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	size_t n;

	if (!fp) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_PEM_BYTES + 1);
	n = buf ? fread(buf, 1, MAX_PEM_BYTES + 1, fp) : 0;
	fclose(fp);
	if (!buf || n == 0 || n > MAX_PEM_BYTES) {
		snprintf(err, errlen, "%s: empty, unreadable or larger than 1 MiB", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static bool is_bcrypt(const char *h)
{
	return strlen(h) == 60 && h[0] == '$' && h[1] == '2' && strchr("aby", h[2]) && h[3] == '$';
}

/*
 * The file is a mapping of at most two levels: section -> mapping of key -> scalar. Anything
 * else (unknown sections, sequences, a third level) is an error, as in the exporter toolkit.
 */
int webconfig_load(const char *path, struct webconfig *wc, char *err, size_t errlen)
{
	char section[64] = "", key[128] = "", cert[4096] = "", keyfile[4096] = "";
	FILE *fp = fopen(path, "r");
	int depth = 0, rc = -1;
	bool have_key = false, done = false;
	yaml_parser_t parser;
	yaml_event_t ev;

	memset(wc, 0, sizeof(*wc));
	if (!fp) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, errlen, "%s: YAML error at line %zu: %s", path,
				 parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "?");
			goto out;
		}
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
			if (++depth > 2 || (depth == 2 && !section[0])) {
				snprintf(err, errlen, "%s: unexpected nesting at line %zu", path,
					 ev.start_mark.line + 1);
				goto bad_event;
			}
			break;
		case YAML_MAPPING_END_EVENT:
			if (--depth == 1)
				section[0] = '\0';
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_ALIAS_EVENT:
			snprintf(err, errlen, "%s: unexpected list or alias at line %zu", path,
				 ev.start_mark.line + 1);
			goto bad_event;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;

			if (depth == 1) {
				if (strcmp(v, "tls_server_config") &&
				    strcmp(v, "basic_auth_users")) {
					snprintf(err, errlen, "%s: unknown section \"%s\"", path,
						 v);
					goto bad_event;
				}
				snprintf(section, sizeof(section), "%s", v);
			} else if (depth == 2 && !have_key) {
				snprintf(key, sizeof(key), "%s", v);
				have_key = true;
				break;
			} else if (depth == 2 && !strcmp(section, "tls_server_config")) {
				if (!strcmp(key, "cert_file"))
					snprintf(cert, sizeof(cert), "%s", v);
				else if (!strcmp(key, "key_file"))
					snprintf(keyfile, sizeof(keyfile), "%s", v);
				else {
					snprintf(err, errlen,
						 "%s: tls_server_config: unsupported key \"%s\"",
						 path, key);
					goto bad_event;
				}
			} else if (depth == 2) {
				struct webconfig_user *u = &wc->users[wc->nr_users];

				if (wc->nr_users == WEBCONFIG_MAX_USERS || !is_bcrypt(v) ||
				    strlen(key) >= sizeof(u->name) || !key[0]) {
					snprintf(err, errlen,
						 "%s: basic_auth_users: \"%s\" needs a bcrypt hash "
						 "($2y$...), at most %d users",
						 path, key, WEBCONFIG_MAX_USERS);
					goto bad_event;
				}
				/* strlen(key) < sizeof(u->name): checked above */
				memcpy(u->name, key, strlen(key) + 1);
				snprintf(u->hash, sizeof(u->hash), "%s", v);
				wc->nr_users++;
			}
			have_key = false;
			break;
		}
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (!!cert[0] != !!keyfile[0]) {
		snprintf(err, errlen, "%s: tls_server_config needs both cert_file and key_file",
			 path);
		goto out;
	}
	if (cert[0]) {
		wc->cert_pem = read_file(cert, err, errlen);
		wc->key_pem = wc->cert_pem ? read_file(keyfile, err, errlen) : NULL;
		if (!wc->key_pem)
			goto out;
	}
	rc = 0;
	goto out;
bad_event:
	yaml_event_delete(&ev);
out:
	yaml_parser_delete(&parser);
	fclose(fp);
	if (rc)
		webconfig_free(wc);
	return rc;
}

void webconfig_free(struct webconfig *wc)
{
	free(wc->cert_pem);
	if (wc->key_pem)
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
	free(wc->key_pem);
	memset(wc, 0, sizeof(*wc));
}

char *(*webconfig_crypt)(const char *phrase, const char *setting,
			 struct crypt_data *data) = crypt_r;

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

/* SipHash-2-4 (Aumasson and Bernstein), as in the reference implementation. */
uint64_t webconfig_siphash(const uint8_t key[16], const void *in, size_t len)
{
	const uint8_t *p = in, *end = p + len - len % 8;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56;

	for (; p != end; p += 8) {
		uint64_t m = le64(p);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* 128 bits: two SipHash-2-4 with independent random keys over "user\0password". */
static void credentials_key(const char *user, const char *password, uint64_t out[2])
{
	static uint8_t keys[2][16];
	static bool have_keys;
	size_t ul = strlen(user), pl = strlen(password);
	char *buf;

	if (!have_keys) {
		if (getrandom(keys, sizeof(keys), 0) != (ssize_t)sizeof(keys)) {
			/* No randomness: no cache (a key nobody else has is the point). */
			out[0] = out[1] = 0;
			return;
		}
		have_keys = true;
	}
	buf = malloc(ul + pl + 2);
	if (!buf) {
		out[0] = out[1] = 0;
		return;
	}
	memcpy(buf, user, ul + 1);
	memcpy(buf + ul + 1, password, pl + 1);
	out[0] = webconfig_siphash(keys[0], buf, ul + pl + 2);
	out[1] = webconfig_siphash(keys[1], buf, ul + pl + 2);
	explicit_bzero(buf, ul + pl + 2);
	free(buf);
}

/* A remembered success for @key at @now_ns? Every slot is compared, hit or not. */
static bool cache_hit(const struct webconfig *wc, const uint64_t key[2], uint64_t now_ns)
{
	bool hit = false;

	if (!key[0] && !key[1])
		return false;
	for (int i = 0; i < WEBCONFIG_AUTH_CACHE_ENTRIES; i++) {
		const struct webconfig_auth_cached *c = &wc->cache[i];
		uint64_t diff = (c->key[0] ^ key[0]) | (c->key[1] ^ key[1]);

		hit |= !diff && c->expires_ns > now_ns;
	}
	return hit;
}

static void cache_add(struct webconfig *wc, const uint64_t key[2], uint64_t now_ns)
{
	struct webconfig_auth_cached *slot = &wc->cache[0];

	if (!key[0] && !key[1])
		return;
	for (int i = 1; i < WEBCONFIG_AUTH_CACHE_ENTRIES; i++)
		if (wc->cache[i].expires_ns < slot->expires_ns)
			slot = &wc->cache[i]; /* the one that expires first, or an empty one */
	slot->key[0] = key[0];
	slot->key[1] = key[1];
	slot->expires_ns = now_ns + WEBCONFIG_AUTH_CACHE_NS;
}

/* Take one bcrypt check from the token bucket; false when it is empty. */
static bool bcrypt_budget(struct webconfig *wc, uint64_t now_ns)
{
	if (!wc->bcrypt_tokens_ns) {
		wc->bcrypt_tokens = WEBCONFIG_BCRYPT_BURST;
	} else if (now_ns > wc->bcrypt_tokens_ns) {
		wc->bcrypt_tokens +=
		    (double)(now_ns - wc->bcrypt_tokens_ns) / 1e9 * WEBCONFIG_BCRYPT_PER_SECOND;
		if (wc->bcrypt_tokens > WEBCONFIG_BCRYPT_BURST)
			wc->bcrypt_tokens = WEBCONFIG_BCRYPT_BURST;
	}
	wc->bcrypt_tokens_ns = now_ns;
	if (wc->bcrypt_tokens < 1)
		return false;
	wc->bcrypt_tokens -= 1;
	return true;
}

enum webconfig_auth webconfig_authorize(struct webconfig *wc, const char *user,
					const char *password, uint64_t now_ns)
{
	struct crypt_data data;
	const char *hash = NULL, *got;
	unsigned char diff = 0;
	uint64_t key[2];
	size_t len;

	if (!wc->nr_users)
		return WEBCONFIG_AUTH_DENIED;
	credentials_key(user, password, key);
	if (cache_hit(wc, key, now_ns))
		return WEBCONFIG_AUTH_OK;
	if (!bcrypt_budget(wc, now_ns))
		return WEBCONFIG_AUTH_BUSY;
	for (int i = 0; i < wc->nr_users; i++)
		if (!hash && !strcmp(wc->users[i].name, user))
			hash = wc->users[i].hash;
	/* An unknown user is hashed too, against a real hash, and then refused. */
	memset(&data, 0, sizeof(data));
	got = webconfig_crypt(password, hash ? hash : wc->users[0].hash, &data);
	if (!hash || !got)
		goto denied;
	len = strlen(hash);
	if (strlen(got) != len)
		goto denied;
	for (size_t k = 0; k < len; k++)
		diff |= (unsigned char)(got[k] ^ hash[k]);
	if (diff)
		goto denied;
	explicit_bzero(&data, sizeof(data));
	cache_add(wc, key, now_ns);
	return WEBCONFIG_AUTH_OK;
denied:
	explicit_bzero(&data, sizeof(data));
	return WEBCONFIG_AUTH_DENIED;
}
