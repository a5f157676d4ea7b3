/* SPDX-License-Identifier: GPL-2.0-only */
/* Map helpers shared by sipwatch's BPF objects. */
#ifndef SIPWATCH_MAPS_BPF_H
#define SIPWATCH_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

/*
 * Add @by to the __u64 counter at @key of hash map @map, creating it if needed. Race-safe: when
 * another CPU creates the same key first, the insert fails with EEXIST and the add goes to the
 * counter that CPU created (nothing is lost).
 */
static __always_inline void map_counter_add(void *map, const void *key, __u64 by)
{
	__u64 *cnt = bpf_map_lookup_elem(map, key);

	if (cnt) {
		__sync_fetch_and_add(cnt, by);
		return;
	}
	if (!bpf_map_update_elem(map, key, &by, BPF_NOEXIST))
		return;
	cnt = bpf_map_lookup_elem(map, key);
	if (cnt)
		__sync_fetch_and_add(cnt, by);
}

#endif /* SIPWATCH_MAPS_BPF_H */
