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

#define BATCH_ENTRIES 256 /* entries per BPF_MAP_LOOKUP_BATCH call */

struct walk {
	int fd;
	size_t key_size, value_size;
	int nr_cpus;	   /* 0: a plain map; otherwise the number of per-CPU copies to sum */
	char *key, *value; /* the aligned copies handed to fn */
	map_entry_fn fn;
	void *ctx;
	int n;
};

/* Hand one entry to the callback: key and value copied to aligned buffers, per-CPU copies summed
 * (each copy of a per-CPU value is rounded up to 8 bytes). False: the callback ended the walk. */
static bool deliver(struct walk *w, const void *key, const void *raw)
{
	memcpy(w->key, key, w->key_size);
	if (w->nr_cpus) {
		uint64_t *sum = (uint64_t *)w->value;
		const uint64_t *copy = raw;

		memset(sum, 0, w->value_size);
		for (int c = 0; c < w->nr_cpus; c++, copy += round8(w->value_size) / 8)
			for (size_t i = 0; i < w->value_size / 8; i++)
				sum[i] += copy[i];
	} else {
		memcpy(w->value, raw, w->value_size);
	}
	w->n++;
	return w->fn(w->key, w->value, w->ctx);
}

/*
 * BPF_MAP_LOOKUP_BATCH (5.6+; hash, LRU hash, array and their per-CPU kinds): BATCH_ENTRIES
 * entries a system call, where the key walk takes two a entry — at 10 000 SIP peers 20 000 calls
 * a second, tens of milliseconds in which the agent serves no scrape. Returns -EOPNOTSUPP when
 * the first call is refused (the caller walks key by key instead); an error later ends the walk
 * with what was delivered (entries are never handed over twice).
 */
static int walk_batched(struct walk *w)
{
	size_t raw_size = w->nr_cpus ? round8(w->value_size) * (size_t)w->nr_cpus : w->value_size;
	/* Zeroed, not for us (only the count entries the kernel wrote are read) but for valgrind:
	 * it has no model of BPF_MAP_LOOKUP_BATCH, so what the kernel writes would stay
	 * "uninitialised" and every metric derived from it would be reported (tests/valgrind.sh).
	 */
	char *keys = calloc(BATCH_ENTRIES, w->key_size), *values = calloc(BATCH_ENTRIES, raw_size);
	__u64 token = 0; /* the kernel's cursor (a bucket number for hash maps) */
	void *in = NULL;
	int err = 0;

	if (!keys || !values) {
		err = -ENOMEM;
		goto out;
	}
	do {
		__u32 count = BATCH_ENTRIES;

		err = bpf_map_lookup_batch(w->fd, in, &token, keys, values, &count, NULL);
		if (err && errno != ENOENT) {
			err = in ? -errno : -EOPNOTSUPP;
			goto out;
		}
		for (__u32 i = 0; i < count; i++)
			if (!deliver(w, keys + i * w->key_size, values + i * raw_size)) {
				err = 0;
				goto out;
			}
		in = &token;
	} while (!err);
	err = 0;
out:
	free(keys);
	free(values);
	return err;
}

/* The walk by keys: bpf_map_get_next_key() from one key to the next, then the value. */
static int walk_by_key(struct walk *w, int fd, size_t raw_size)
{
	char *next = malloc(round8(w->key_size)), *prev = malloc(round8(w->key_size));
	char *raw = malloc(raw_size);
	bool started = false;
	int err = 0;

	if (!next || !prev || !raw) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (bpf_map_get_next_key(fd, started ? prev : NULL, next)) {
			if (errno !=
			    ENOENT) /* ENOENT: past the last key; else the map is unreadable */
				err = -errno;
			break;
		}
		memcpy(prev, next, w->key_size);
		started = true;
		if (bpf_map_lookup_elem(fd, prev, raw))
			continue; /* deleted since its key was found */
		if (!deliver(w, prev, raw))
			break;
	}
out:
	free(next);
	free(prev);
	free(raw);
	return err;
}

static int walk(int fd, size_t key_size, size_t value_size, int nr_cpus, map_entry_fn fn, void *ctx)
{
	struct walk w = {.key_size = key_size,
			 .value_size = value_size,
			 .nr_cpus = nr_cpus,
			 .fn = fn,
			 .ctx = ctx,
			 .fd = fd};
	size_t raw_size = nr_cpus ? round8(value_size) * (size_t)nr_cpus : value_size;
	int err;

	if (!key_size || !value_size)
		return -EINVAL;
	w.key = calloc(1, round8(key_size));
	w.value = calloc(1, round8(value_size));
	if (!w.key || !w.value) {
		err = -ENOMEM;
		goto out;
	}
	err = walk_batched(&w);
	if (err == -EOPNOTSUPP)
		err = walk_by_key(&w, fd, raw_size);
out:
	free(w.key);
	free(w.value);
	return err ? err : w.n;
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
