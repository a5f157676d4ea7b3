// SPDX-License-Identifier: GPL-2.0-only
#include "webconfig.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

bool webconfig_check_user(const struct webconfig *wc, const char *user, const char *password)
{
	struct crypt_data data;
	bool ok = false;

	for (int i = 0; i < wc->nr_users; i++) {
		const char *h = wc->users[i].hash, *got;
		unsigned char diff = 0;
		size_t len = strlen(h);

		if (strcmp(wc->users[i].name, user))
			continue;
		memset(&data, 0, sizeof(data));
		got = crypt_r(password, h, &data);
		if (!got || strlen(got) != len)
			return false;
		for (size_t k = 0; k < len; k++)
			diff |= (unsigned char)(got[k] ^ h[k]);
		ok = diff == 0;
		break;
	}
	return ok;
}
