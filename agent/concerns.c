// SPDX-License-Identifier: GPL-2.0-only
/* Every concern the agent runs, in start order. */
#include "agent.h"
#include "drops.h"
#include "failfast.h"
#include "neigh.h"
#include "refresh.h"
#include "sendq.h"
#include "sip.h"
#include "tcp.h"
#include "tcp_policy.h"

const struct concern *const agent_concerns[] = {
    &neigh_concern,   &sendq_concern, &failfast_concern,
    &refresh_concern, &tcp_concern,   &tcp_policy_concern,
    &sip_concern,     &drops_concern, NULL,
};
