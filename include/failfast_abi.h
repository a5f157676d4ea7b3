/* SPDX-License-Identifier: GPL-2.0-only */
/* Records shared by bpf/failfast.bpf.c and agent/failfast.c. */
#ifndef SIPWATCH_FAILFAST_ABI_H
#define SIPWATCH_FAILFAST_ABI_H

#include "sipwatch.h"

#define FAILFAST_MAX_DESTS 4096

/* A SIP peer whose next hop the kernel itself found FAILED. */
struct failfast_key {
	__u8 family; /* SW_AF_INET / SW_AF_INET6 */
	__u8 pad[3];
	__u8 addr[16]; /* IPv4 in the first 4 bytes */
};

struct failfast_value {
	__u64 drops; /* SIP packets refused on their way to this peer */
};

#endif /* SIPWATCH_FAILFAST_ABI_H */
