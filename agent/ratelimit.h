/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rate limit for repeated log lines: a line with a given key is let through at most once per
 * interval; the ones held back are counted and reported with the next line that gets through.
 * A fixed number of keys is remembered; when full, the key seen least recently is forgotten.
 */
#ifndef SIPWATCH_RATELIMIT_H
#define SIPWATCH_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 96

struct ratelimit_slot {
	char key[RATELIMIT_KEY_MAX];
	uint64_t last_ns;    /* last line let through */
	uint64_t suppressed; /* held back since then */
	bool used;
};

struct ratelimit {
	uint64_t interval_ns; /* 0: let everything through */
	size_t nr_slots;
	struct ratelimit_slot *slots;
	uint64_t suppressed_total;
};

int ratelimit_init(struct ratelimit *rl, uint64_t interval_ns, size_t nr_slots);
void ratelimit_fini(struct ratelimit *rl);
/*
 * May a line with @key be logged at @now_ns? If so, *@suppressed is the number of lines with this
 * key held back since the last one that got through (to be logged with it).
 */
bool ratelimit_allow(struct ratelimit *rl, const char *key, uint64_t now_ns, uint64_t *suppressed);

#endif
