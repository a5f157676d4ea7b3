/* SPDX-License-Identifier: GPL-2.0-only */
/* Neighbour resolution (bpf/neigh.bpf.c): NUD state transitions, failures, incidents. */
#ifndef SIPWATCH_AGENT_NEIGH_H
#define SIPWATCH_AGENT_NEIGH_H

#include <stdint.h>

#include "agent.h"

extern const struct concern neigh_concern;

/* "reachable", "failed", ...: the metric label value for a NUD state (SW_NUD_*). */
const char *neigh_state_name(uint8_t state);
const char *neigh_family_name(uint8_t family);

#endif
