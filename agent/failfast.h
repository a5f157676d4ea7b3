/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fail-fast (--neigh.fail-fast): SIP packets to a peer whose next hop the kernel found FAILED are
 * refused at cgroup egress (bpf/failfast.bpf.c) instead of parking in the unresolved queue and
 * holding the shared SIP socket's send buffer. The refresh logic (agent/refresh.c) decides who is
 * blocked; this file owns the BPF program, the map and the accounting.
 */
#ifndef SIPWATCH_FAILFAST_H
#define SIPWATCH_FAILFAST_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"

extern const struct concern failfast_concern;

bool failfast_active(void);
/* Refuse SIP packets to @addr (a peer or the failed next hop itself). @ifname: for metrics. */
void failfast_block(uint8_t family, const uint8_t *addr, const char *ifname);
/* Let them through again; logs how many were refused meanwhile. */
void failfast_unblock(uint8_t family, const uint8_t *addr);
bool failfast_is_blocked(uint8_t family, const uint8_t *addr);

#endif
