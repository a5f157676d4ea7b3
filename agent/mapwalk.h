/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Walks over the entries of a BPF map from user space, as every concern's collect() does to turn
 * map counters into metrics: entries read in batches (BPF_MAP_LOOKUP_BATCH), or, where the kernel
 * refuses that, bpf_map_get_next_key() from one key to the next with the value read by
 * bpf_map_lookup_elem(); per-CPU copies summed. Works on hash, LRU hash and array maps.
 */
#ifndef SIPWATCH_MAPWALK_H
#define SIPWATCH_MAPWALK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Called once per entry with the walk's own copies of its key and value (aligned for any type).
 * Return false to end the walk there.
 */
typedef bool (*map_entry_fn)(const void *key, const void *value, void *ctx);

/*
 * @fn for every entry of the map @fd (keys of @key_size, values of @value_size bytes). An entry
 * deleted between finding its key and reading its value is passed over; deleting entries in @fn
 * may make the kernel start the walk again from the first key (collect keys and delete after).
 * Returns the number of entries handed to @fn, or -errno when no memory or a size is 0.
 */
int map_for_each(int fd, size_t key_size, size_t value_size, map_entry_fn fn, void *ctx);

/*
 * The same for a per-CPU map whose values are made of __u64 counters (one __u64, or a struct of
 * them: @value_size a multiple of 8, else -EINVAL): @fn gets each value summed over every
 * possible CPU, counter by counter.
 */
int map_for_each_percpu_sum(int fd, size_t key_size, size_t value_size, map_entry_fn fn, void *ctx);

/* A walk's result as a collect() status: 0 (however many entries), or the negative errno. */
static inline int map_walk_status(int n)
{
	return n < 0 ? n : 0;
}

#endif /* SIPWATCH_MAPWALK_H */
