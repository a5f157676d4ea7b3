// SPDX-License-Identifier: GPL-2.0-only
#include "mapwalk.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each buffer of the walk starts on an 8-byte boundary: the callbacks cast them to structs. */
static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* @nr_cpus 0: a plain map; otherwise the number of per-CPU copies to sum into @value. */
static int walk(int fd, size_t key_size, size_t value_size, int nr_cpus, map_entry_fn fn, void *ctx)
{
	size_t key_room = round8(key_size), value_room = round8(value_size);
	size_t raw_room = nr_cpus ? value_room * (size_t)nr_cpus : 0;
	char *buf, *key, *next, *value, *raw;
	void *prev = NULL;
	int n = 0;

	if (!key_size || !value_size)
		return -EINVAL;
	buf = calloc(1, 2 * key_room + value_room + raw_room);
	if (!buf)
		return -ENOMEM;
	key = buf;
	next = key + key_room;
	value = next + key_room;
	raw = value + value_room;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, nr_cpus ? raw : value))
			continue; /* deleted since its key was found */
		if (nr_cpus) {
			uint64_t *sum = (uint64_t *)value;
			const uint64_t *copy = (const uint64_t *)raw;

			memset(sum, 0, value_size);
			for (int c = 0; c < nr_cpus; c++, copy += value_size / 8)
				for (size_t w = 0; w < value_size / 8; w++)
					sum[w] += copy[w];
		}
		n++;
		if (!fn(key, value, ctx))
			break;
	}
	free(buf);
	return n;
}

int map_for_each(int fd, size_t key_size, size_t value_size, map_entry_fn fn, void *ctx)
{
	return walk(fd, key_size, value_size, 0, fn, ctx);
}

int map_for_each_percpu_sum(int fd, size_t key_size, size_t value_size, map_entry_fn fn, void *ctx)
{
	int nr_cpus = libbpf_num_possible_cpus();

	if (nr_cpus <= 0)
		return nr_cpus < 0 ? nr_cpus : -EINVAL;
	if (value_size % 8)
		return -EINVAL;
	return walk(fd, key_size, value_size, nr_cpus, fn, ctx);
}
