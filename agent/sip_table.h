/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A bounded table of 64-bit keys for the SIP transaction and registration trackers: a chained
 * hash index plus an age list (oldest first), over slots 0..max-1 whose payload the caller keeps
 * in its own array. Nothing is allocated after init; a full table makes the caller evict the
 * oldest slot (and count it).
 */
#ifndef SIPWATCH_SIP_TABLE_H
#define SIPWATCH_SIP_TABLE_H

#include <stdint.h>

struct sip_table {
	uint32_t max, nr, nr_buckets; /* nr_buckets: a power of two */
	int32_t *bucket;	      /* first slot of each chain, -1 = empty */
	int32_t *next;		      /* next slot in the chain; on the free list, the next free */
	int32_t *older, *newer;	      /* the age list */
	uint64_t *keys;
	int32_t free_head, oldest, newest;
};

int sip_table_init(struct sip_table *t, uint32_t max);
void sip_table_free(struct sip_table *t);
/* The slot of @key, or -1. */
int32_t sip_table_find(const struct sip_table *t, uint64_t key);
/* A free slot for @key, made the newest; -1 when the table is full (evict sip_table_oldest()). */
int32_t sip_table_insert(struct sip_table *t, uint64_t key);
void sip_table_remove(struct sip_table *t, int32_t slot);
/* Make @slot the newest (its age restarts). */
void sip_table_touch(struct sip_table *t, int32_t slot);
static inline int32_t sip_table_oldest(const struct sip_table *t)
{
	return t->oldest;
}
static inline int32_t sip_table_newer(const struct sip_table *t, int32_t slot)
{
	return t->newer[slot];
}

#endif
