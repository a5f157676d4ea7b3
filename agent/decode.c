// SPDX-License-Identifier: GPL-2.0-only
#include "decode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>

#include "sipwatch.h"

void decode_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr)
{
	if (!inet_ntop(family == SW_AF_INET6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void decode_endpoint(char *buf, size_t len, uint8_t family, const uint8_t *addr, uint16_t port)
{
	char ip[INET6_ADDRSTRLEN];

	decode_addr(ip, sizeof(ip), family, addr);
	snprintf(buf, len, family == SW_AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

const char *decode_family_name(uint8_t family)
{
	return family == SW_AF_INET6 ? "ipv6" : "ipv4";
}

const uint8_t decode_nud_states[9] = {SW_NUD_NONE,   SW_NUD_INCOMPLETE, SW_NUD_REACHABLE,
				      SW_NUD_STALE,  SW_NUD_DELAY,	SW_NUD_PROBE,
				      SW_NUD_FAILED, SW_NUD_NOARP,	SW_NUD_PERMANENT};

const char *decode_nud_state_name(unsigned state)
{
	switch (state) {
	case SW_NUD_NONE:
		return "none";
	case SW_NUD_INCOMPLETE:
		return "incomplete";
	case SW_NUD_REACHABLE:
		return "reachable";
	case SW_NUD_STALE:
		return "stale";
	case SW_NUD_DELAY:
		return "delay";
	case SW_NUD_PROBE:
		return "probe";
	case SW_NUD_FAILED:
		return "failed";
	case SW_NUD_NOARP:
		return "noarp";
	case SW_NUD_PERMANENT:
		return "permanent";
	default:
		return "other";
	}
}

const char *decode_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_TCP:
		return "tcp";
	case 0:
		return "none";
	default:
		return "other";
	}
}

static const struct {
	int err;
	const char *name;
} errno_names[] = {
    {EPERM, "eperm"},
    {ENOENT, "enoent"},
    {ENODEV, "enodev"},
    {EINVAL, "einval"},
    {ETIMEDOUT, "etimedout"},
    {EHOSTUNREACH, "ehostunreach"},
    {ENETUNREACH, "enetunreach"},
};

const char *decode_errno_name(int err, const int *known)
{
	for (const int *k = known; *k; k++) {
		if (*k != err)
			continue;
		for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
			if (errno_names[i].err == err)
				return errno_names[i].name;
	}
	return "other";
}
