/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The names --probe.disable accepts: every program in sipwatch's BPF objects, named as
 * probe_name() names it (up to "___"), read from the objects built into the binary, so a probe
 * added or renamed in bpf/ is known here without a second list to keep in step.
 */
#ifndef SIPWATCH_PROBE_CATALOG_H
#define SIPWATCH_PROBE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

/* Is @name a probe of sipwatch's? */
bool probe_catalog_has(const char *name);
/* How many names there are, and the @i-th (for tests and --help). */
size_t probe_catalog_count(void);
const char *probe_catalog_name(size_t i);

#endif
