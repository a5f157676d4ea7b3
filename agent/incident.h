/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ring of recent incidents, kept as JSON objects for the status page and GET /incidents
 * (served by agent/routes.c). The logger hands every line logged through incident_begin()
 * (agent/log.h) to its incident sink, and the top of the program (main.c) makes incident_record()
 * that sink. Bounded: the oldest incident is forgotten first.
 */
#ifndef SIPWATCH_INCIDENT_H
#define SIPWATCH_INCIDENT_H

#include <stddef.h>

#include "strbuf.h"

#define INCIDENT_RING_SIZE 256

/* @json: one complete JSON object (copied). */
void incident_record(const char *kind, const char *json);
/* A JSON array of the most recent incidents, newest first, at most @max, only @kind if non-NULL. */
void incidents_to_json(struct strbuf *out, const char *kind, size_t max);
size_t incidents_count(void);
void incidents_clear(void);

#endif
