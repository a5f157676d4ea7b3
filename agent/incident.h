/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ring of recent incidents: every line logged through incident_begin() (agent/log.h) is also
 * kept here, as a JSON object, for the status page and GET /incidents. Bounded: the oldest
 * incident is forgotten first.
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
/* Serve GET /incidents[?kind=K][&limit=N]. */
void incident_routes_add(void);

#endif
