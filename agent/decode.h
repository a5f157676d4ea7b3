/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Decoders for what the BPF side hands over, written once: addresses and endpoints of the
 * SW_AF_* families (include/sipwatch.h) as text for labels, incidents and JSON.
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

#endif
