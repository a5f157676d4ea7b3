// SPDX-License-Identifier: GPL-2.0-only
#include "decode.h"

#include <arpa/inet.h>
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
