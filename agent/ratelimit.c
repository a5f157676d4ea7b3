// SPDX-License-Identifier: GPL-2.0-only
#include "ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ratelimit_init(struct ratelimit *rl, uint64_t interval_ns, size_t nr_slots)
{
	memset(rl, 0, sizeof(*rl));
	rl->interval_ns = interval_ns;
	rl->slots = calloc(nr_slots, sizeof(*rl->slots));
	if (!rl->slots)
		return -ENOMEM;
	rl->nr_slots = nr_slots;
	return 0;
}

void ratelimit_fini(struct ratelimit *rl)
{
	free(rl->slots);
	rl->slots = NULL;
	rl->nr_slots = 0;
}

bool ratelimit_allow(struct ratelimit *rl, const char *key, uint64_t now_ns, uint64_t *suppressed)
{
	struct ratelimit_slot *slot = NULL, *free_slot = NULL, *oldest = NULL;

	*suppressed = 0;
	if (!rl->interval_ns || !rl->nr_slots)
		return true;
	for (size_t i = 0; i < rl->nr_slots; i++) {
		struct ratelimit_slot *s = &rl->slots[i];

		if (!s->used) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (!strncmp(s->key, key, sizeof(s->key) - 1)) {
			slot = s;
			break;
		}
		if (!oldest || s->last_ns < oldest->last_ns)
			oldest = s;
	}
	if (slot && now_ns - slot->last_ns < rl->interval_ns) {
		slot->suppressed++;
		rl->suppressed_total++;
		return false;
	}
	if (slot) {
		*suppressed = slot->suppressed;
	} else {
		/* A new key: take a free slot, or forget the key let through longest ago. */
		slot = free_slot ? free_slot : oldest;
		memset(slot, 0, sizeof(*slot));
		strncpy(slot->key, key, sizeof(slot->key) - 1);
		slot->used = true;
	}
	slot->last_ns = now_ns;
	slot->suppressed = 0;
	return true;
}
