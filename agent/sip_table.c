// SPDX-License-Identifier: GPL-2.0-only
#include "sip_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sip_table_init(struct sip_table *t, uint32_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->nr_buckets = 16;
	while (t->nr_buckets < max)
		t->nr_buckets <<= 1;
	t->bucket = malloc(t->nr_buckets * sizeof(*t->bucket));
	t->next = calloc(max ? max : 1, sizeof(*t->next));
	t->older = calloc(max ? max : 1, sizeof(*t->older));
	t->newer = calloc(max ? max : 1, sizeof(*t->newer));
	t->keys = calloc(max ? max : 1, sizeof(*t->keys));
	if (!t->bucket || !t->next || !t->older || !t->newer || !t->keys) {
		sip_table_free(t);
		return -ENOMEM;
	}
	memset(t->bucket, 0xff, t->nr_buckets * sizeof(*t->bucket));
	for (uint32_t i = 0; i < max; i++)
		t->next[i] = i + 1 < max ? (int32_t)i + 1 : -1;
	t->free_head = max ? 0 : -1;
	t->oldest = t->newest = -1;
	return 0;
}

void sip_table_free(struct sip_table *t)
{
	free(t->bucket);
	free(t->next);
	free(t->older);
	free(t->newer);
	free(t->keys);
	memset(t, 0, sizeof(*t));
	t->free_head = t->oldest = t->newest = -1;
}

static uint32_t bucket_of(const struct sip_table *t, uint64_t key)
{
	key ^= key >> 29; /* the keys are FNV hashes: mix the high bits into the index */
	key *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(key >> 32) & (t->nr_buckets - 1);
}

int32_t sip_table_find(const struct sip_table *t, uint64_t key)
{
	if (!t->max)
		return -1;
	for (int32_t s = t->bucket[bucket_of(t, key)]; s >= 0; s = t->next[s])
		if (t->keys[s] == key)
			return s;
	return -1;
}

static void age_unlink(struct sip_table *t, int32_t s)
{
	if (t->older[s] >= 0)
		t->newer[t->older[s]] = t->newer[s];
	else
		t->oldest = t->newer[s];
	if (t->newer[s] >= 0)
		t->older[t->newer[s]] = t->older[s];
	else
		t->newest = t->older[s];
}

static void age_append(struct sip_table *t, int32_t s)
{
	t->older[s] = t->newest;
	t->newer[s] = -1;
	if (t->newest >= 0)
		t->newer[t->newest] = s;
	else
		t->oldest = s;
	t->newest = s;
}

int32_t sip_table_insert(struct sip_table *t, uint64_t key)
{
	int32_t s = t->free_head;
	uint32_t b;

	if (s < 0)
		return -1;
	t->free_head = t->next[s];
	b = bucket_of(t, key);
	t->keys[s] = key;
	t->next[s] = t->bucket[b];
	t->bucket[b] = s;
	age_append(t, s);
	t->nr++;
	return s;
}

void sip_table_remove(struct sip_table *t, int32_t s)
{
	int32_t *link = &t->bucket[bucket_of(t, t->keys[s])];

	while (*link >= 0 && *link != s)
		link = &t->next[*link];
	if (*link != s)
		return; /* not in the table */
	*link = t->next[s];
	age_unlink(t, s);
	t->next[s] = t->free_head;
	t->free_head = s;
	t->nr--;
}

void sip_table_touch(struct sip_table *t, int32_t s)
{
	age_unlink(t, s);
	age_append(t, s);
}
