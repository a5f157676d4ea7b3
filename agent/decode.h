/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Decoders for what the BPF side and the kernel hand over, written once: families, addresses and
 * endpoints of the SW_AF_* families (include/sipwatch.h), NUD states, transport protocols and errno
 * values, as text for labels, incidents and JSON.
 */
#ifndef SIPWATCH_DECODE_H
#define SIPWATCH_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Longest text of decode_endpoint(): "[" IPv6 "]:" port. */
#define DECODE_ENDPOINT_LEN (46 + 8)

/* "10.99.0.1" / "fd99::1" of a 4- or 16-byte address of family SW_AF_INET / SW_AF_INET6. */
void decode_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr);
/* "10.99.0.1:5060" / "[fd99::1]:5060". */
void decode_endpoint(char *buf, size_t len, uint8_t family, const uint8_t *addr, uint16_t port);

/* "ipv4" / "ipv6": the family label of SW_AF_INET / SW_AF_INET6 -- the values of AF_INET /
 * AF_INET6, so netlink's families too (anything else reads "ipv4"). */
const char *decode_family_name(uint8_t family);

/* "reachable", "failed", ...: the label value of a NUD state (SW_NUD_* = the kernel's NUD_*);
 * "other" for a combination of bits. */
const char *decode_nud_state_name(unsigned state);
/* Every single NUD state decode_nud_state_name() names, for series that show each one. */
extern const uint8_t decode_nud_states[9];

/* "udp", "tcp", "none" (0), "other": an IPPROTO_* number as a label value. */
const char *decode_proto_name(uint8_t proto);

/*
 * "eperm", "etimedout", ...: the lowercase name of positive errno @err when it is one of @known
 * (0-terminated), else "other" -- each caller keeps its label set to the errors its path can meet.
 */
const char *decode_errno_name(int err, const int *known);

#endif
