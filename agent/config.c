// SPDX-License-Identifier: GPL-2.0-only
#include "config.h"

#include <string.h>

#include "sendq_abi.h"

/* Matched by name by the option table (agent/options.c); the order here means nothing. */
const struct config_enum refresh_mode_names[] = {
    {"off", REFRESH_OFF},
    {"use", REFRESH_USE},
    {"managed", REFRESH_MANAGED},
    {NULL, 0},
};

const struct config_enum stall_hook_names[] = {
    {"auto", SENDQ_RUNG_AUTO},
    {"fentry", SENDQ_RUNG_FENTRY},
    {"tracepoint", SENDQ_RUNG_TRACEPOINT},
    {"syscalls", SENDQ_RUNG_SYSCALLS},
    {NULL, 0},
};

const char *config_enum_name(const struct config_enum *table, int value)
{
	for (const struct config_enum *e = table; e->name; e++)
		if (e->value == value)
			return e->name;
	return "unknown";
}

const char *stall_hook_name(int hook)
{
	return config_enum_name(stall_hook_names, hook);
}

bool config_is_sip_port(const struct config *cfg, uint16_t port)
{
	for (int i = 0; i < cfg->nr_sip_ports; i++)
		if (cfg->sip_ports[i] == port)
			return true;
	return false;
}

bool config_probe_disabled(const struct config *cfg, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = cfg->probe_disable; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == len && !strncmp(p, name, len))
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}
