// SPDX-License-Identifier: GPL-2.0-only
#include "incident.h"

#include <stdlib.h>
#include <string.h>

struct incident {
	char kind[32];
	char *json;
};

static struct incident ring[INCIDENT_RING_SIZE];
static size_t next_slot, stored;

void incident_record(const char *kind, const char *json)
{
	struct incident *slot = &ring[next_slot];
	char *copy = strdup(json);

	if (!copy)
		return;
	free(slot->json);
	slot->json = copy;
	strncpy(slot->kind, kind, sizeof(slot->kind) - 1);
	slot->kind[sizeof(slot->kind) - 1] = '\0';
	next_slot = (next_slot + 1) % INCIDENT_RING_SIZE;
	if (stored < INCIDENT_RING_SIZE)
		stored++;
}

void incidents_to_json(struct strbuf *out, const char *kind, size_t max)
{
	size_t written = 0;

	strbuf_putc(out, '[');
	for (size_t i = 1; i <= stored && written < max; i++) {
		const struct incident *in =
		    &ring[(next_slot + INCIDENT_RING_SIZE - i) % INCIDENT_RING_SIZE];

		if (kind && strcmp(kind, in->kind))
			continue;
		if (written++)
			strbuf_putc(out, ',');
		strbuf_puts(out, in->json);
	}
	strbuf_puts(out, "]\n");
}

size_t incidents_count(void)
{
	return stored;
}

void incidents_clear(void)
{
	for (size_t i = 0; i < INCIDENT_RING_SIZE; i++) {
		free(ring[i].json);
		ring[i].json = NULL;
	}
	next_slot = stored = 0;
}
