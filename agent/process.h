/* SPDX-License-Identifier: GPL-2.0-only */
/* The standard process_* metrics every Prometheus exporter serves, read from /proc/self. */
#ifndef SIPWATCH_PROCESS_H
#define SIPWATCH_PROCESS_H

#include "metrics.h"

void process_init(struct metrics *reg);
void process_collect(void);

#endif
