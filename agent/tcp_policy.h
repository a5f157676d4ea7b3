/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The opt-in keepalive policy (bpf/tcp_policy.bpf.c): --tcp.keepalive / --tcp.user-timeout
 * applied to SIP TCP connections of the agent's namespace, new ones by sockops on the cgroup v2
 * root, existing ones once at start-up by an iter/tcp program. sipwatch_probe_up
 * {probe="keepalive_policy"} says whether it is active. Connections keep the settings after exit.
 */
#ifndef SIPWATCH_AGENT_TCP_POLICY_H
#define SIPWATCH_AGENT_TCP_POLICY_H

#include "agent.h"

extern const struct concern tcp_policy_concern;

#endif
