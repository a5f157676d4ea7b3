// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent/mapwalk.c on real maps made here with bpf_map_create (hash, per-CPU hash, per-CPU array
 * of structs, an LRU hash larger than one batch, all walked in batches, and a device map, which
 * the kernel does not walk in batches, walked key by key): every entry visited once with its
 * value, per-CPU copies summed counter by counter, an early stop, an empty map, the size checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "mapwalk.h"

#define NR_KEYS 100

/* A key whose size is not a multiple of 8: the walk's value buffer must still be aligned. */
struct odd_key {
	uint16_t port;
	uint8_t cause;
} __attribute__((packed));

struct three_counters {
	uint64_t a, b, c;
};

struct seen {
	int calls;
	int stop_after; /* 0: never stop */
	uint64_t value_of[NR_KEYS];
	int times[NR_KEYS];
};

static int nr_cpus;

static int make_map(enum bpf_map_type type, size_t key_size, size_t value_size)
{
	int fd =
	    bpf_map_create(type, NULL, (uint32_t)key_size, (uint32_t)value_size, NR_KEYS, NULL);

	assert_true(fd >= 0);
	return fd;
}

static bool note_u64(const void *k, const void *v, void *ctx)
{
	const struct odd_key *key = k;
	struct seen *s = ctx;

	assert_true(key->port < NR_KEYS);
	assert_int_equal(key->cause, key->port % 7);
	assert_int_equal((uintptr_t)v % 8, 0);
	s->value_of[key->port] = *(const uint64_t *)v;
	s->times[key->port]++;
	s->calls++;
	return !s->stop_after || s->calls < s->stop_after;
}

static void test_hash(void **state)
{
	int fd = make_map(BPF_MAP_TYPE_HASH, sizeof(struct odd_key), sizeof(uint64_t));
	struct seen s = {};

	assert_int_equal(map_for_each(fd, sizeof(struct odd_key), sizeof(uint64_t), note_u64, &s),
			 0);
	assert_int_equal(s.calls, 0);
	for (uint16_t i = 0; i < NR_KEYS; i++) {
		struct odd_key key = {.port = i, .cause = (uint8_t)(i % 7)};
		uint64_t v = 1000 + i;

		assert_int_equal(bpf_map_update_elem(fd, &key, &v, BPF_NOEXIST), 0);
	}
	assert_int_equal(map_for_each(fd, sizeof(struct odd_key), sizeof(uint64_t), note_u64, &s),
			 NR_KEYS);
	assert_int_equal(s.calls, NR_KEYS);
	for (int i = 0; i < NR_KEYS; i++) {
		assert_int_equal(s.times[i], 1);
		assert_int_equal(s.value_of[i], 1000 + i);
	}

	memset(&s, 0, sizeof(s));
	s.stop_after = 3;
	assert_int_equal(map_for_each(fd, sizeof(struct odd_key), sizeof(uint64_t), note_u64, &s),
			 3);
	assert_int_equal(s.calls, 3);
	close(fd);
}

static void test_percpu_hash_sum(void **state)
{
	int fd = make_map(BPF_MAP_TYPE_PERCPU_HASH, sizeof(struct odd_key), sizeof(uint64_t));
	uint64_t *copies = calloc((size_t)nr_cpus, sizeof(uint64_t));
	struct seen s = {};

	assert_non_null(copies);
	for (uint16_t i = 0; i < NR_KEYS; i++) {
		struct odd_key key = {.port = i, .cause = (uint8_t)(i % 7)};

		for (int c = 0; c < nr_cpus; c++)
			copies[c] = (uint64_t)i * 1000 + (uint64_t)c + 1;
		assert_int_equal(bpf_map_update_elem(fd, &key, copies, BPF_NOEXIST), 0);
	}
	assert_int_equal(
	    map_for_each_percpu_sum(fd, sizeof(struct odd_key), sizeof(uint64_t), note_u64, &s),
	    NR_KEYS);
	for (int i = 0; i < NR_KEYS; i++) {
		uint64_t want = (uint64_t)i * 1000 * (uint64_t)nr_cpus +
				(uint64_t)nr_cpus * (uint64_t)(nr_cpus + 1) / 2;

		assert_int_equal(s.times[i], 1);
		assert_int_equal(s.value_of[i], want);
	}
	free(copies);
	close(fd);
}

static bool note_counters(const void *k, const void *v, void *ctx)
{
	struct three_counters *out = ctx;

	out[*(const uint32_t *)k] = *(const struct three_counters *)v;
	return true;
}

static void test_percpu_array_struct_sum(void **state)
{
	int fd =
	    make_map(BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(uint32_t), sizeof(struct three_counters));
	struct three_counters *copies = calloc((size_t)nr_cpus, sizeof(*copies));
	struct three_counters got[NR_KEYS];
	uint32_t idx = 5;

	assert_non_null(copies);
	for (int c = 0; c < nr_cpus; c++)
		copies[c] = (struct three_counters){.a = 1, .b = (uint64_t)c, .c = 1ull << 40};
	assert_int_equal(bpf_map_update_elem(fd, &idx, copies, BPF_ANY), 0);
	memset(got, 0xff, sizeof(got));
	/* An array has every index: all of them visited, the untouched ones zero on every CPU. */
	assert_int_equal(map_for_each_percpu_sum(fd, sizeof(uint32_t),
						 sizeof(struct three_counters), note_counters, got),
			 NR_KEYS);
	assert_int_equal(got[5].a, nr_cpus);
	assert_int_equal(got[5].b, (uint64_t)nr_cpus * (uint64_t)(nr_cpus - 1) / 2);
	assert_int_equal(got[5].c, (uint64_t)nr_cpus << 40);
	for (int i = 0; i < NR_KEYS; i++) {
		if (i == 5)
			continue;
		assert_int_equal(got[i].a, 0);
		assert_int_equal(got[i].b, 0);
		assert_int_equal(got[i].c, 0);
	}
	free(copies);
	close(fd);
}

static bool note_index(const void *k, const void *v, void *ctx)
{
	int *times = ctx;
	uint32_t key = *(const uint32_t *)k;

	assert_true(key < 4 * 1024);
	assert_int_equal(*(const uint64_t *)v, (uint64_t)key * 3);
	times[key]++;
	return true;
}

/* More entries than one batch holds (the peer maps: LRU hash, 4-byte keys): every one once. */
static void test_lru_hash_across_batches(void **state)
{
	enum { N = 4 * 1024 };
	int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, NULL, sizeof(uint32_t), sizeof(uint64_t),
				2 * N, NULL);
	int *times = calloc(N, sizeof(int));

	assert_true(fd >= 0);
	assert_non_null(times);
	for (uint32_t i = 0; i < N; i++) {
		uint64_t v = (uint64_t)i * 3;

		assert_int_equal(bpf_map_update_elem(fd, &i, &v, BPF_NOEXIST), 0);
	}
	assert_int_equal(map_for_each(fd, sizeof(uint32_t), sizeof(uint64_t), note_index, times),
			 N);
	for (int i = 0; i < N; i++)
		assert_int_equal(times[i], 1);
	free(times);
	close(fd);
}

struct key_walk {
	uint32_t ifindex; /* the value of every entry */
	int times[NR_KEYS];
	int calls;
	int stop_after; /* 0: never stop */
};

static bool note_devmap(const void *k, const void *v, void *ctx)
{
	uint32_t key = *(const uint32_t *)k;
	struct key_walk *kw = ctx;

	assert_int_equal(key % 1000, 7);
	assert_true(key / 1000 < NR_KEYS);
	assert_int_equal(*(const uint32_t *)v, kw->ifindex);
	kw->times[key / 1000]++;
	kw->calls++;
	return !kw->stop_after || kw->calls < kw->stop_after;
}

/*
 * The walk key by key, as on kernels that refuse batch lookups (before 5.6), through the same
 * entry point: the kernel has no batch operations for a device map (checked first, so the test
 * says so if it gains them), so map_for_each() must fall back to bpf_map_get_next_key() and a
 * lookup per key, and still hand over every entry once with its value, or stop when told. A
 * device map's values are interface indexes: every entry here is loopback.
 */
static void test_key_by_key_where_batches_are_refused(void **state)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, NULL, sizeof(uint32_t), sizeof(uint32_t),
				NR_KEYS, NULL);
	uint32_t keys[NR_KEYS], values[NR_KEYS], count = NR_KEYS;
	struct key_walk kw = {.ifindex = if_nametoindex("lo")};
	__u64 token = 0;

	assert_true(fd >= 0);
	assert_true(kw.ifindex > 0);
	for (uint32_t i = 0; i < NR_KEYS; i++) {
		uint32_t key = i * 1000 + 7;

		assert_int_equal(bpf_map_update_elem(fd, &key, &kw.ifindex, BPF_NOEXIST), 0);
	}
	if (!bpf_map_lookup_batch(fd, NULL, &token, keys, values, &count, NULL) || errno == ENOENT)
		fail_msg(
		    "the kernel walks a device map in batches now: pick a map type it does not");
	assert_int_equal(map_for_each(fd, sizeof(uint32_t), sizeof(uint32_t), note_devmap, &kw),
			 NR_KEYS);
	assert_int_equal(kw.calls, NR_KEYS);
	for (int i = 0; i < NR_KEYS; i++)
		assert_int_equal(kw.times[i], 1);

	memset(kw.times, 0, sizeof(kw.times));
	kw.calls = 0;
	kw.stop_after = 3;
	assert_int_equal(map_for_each(fd, sizeof(uint32_t), sizeof(uint32_t), note_devmap, &kw), 3);
	assert_int_equal(kw.calls, 3);
	close(fd);
}

static void test_bad_sizes(void **state)
{
	struct seen s = {};

	assert_int_equal(map_for_each(-1, 0, sizeof(uint64_t), note_u64, &s), -EINVAL);
	assert_int_equal(map_for_each(-1, sizeof(uint32_t), 0, note_u64, &s), -EINVAL);
	/* per-CPU values must be __u64 counters */
	assert_int_equal(map_for_each_percpu_sum(-1, sizeof(uint32_t), 12, note_u64, &s), -EINVAL);
	/* a map that is not there: nothing visited, and said (a collect() reports it) */
	assert_int_equal(map_for_each(-1, sizeof(uint32_t), sizeof(uint64_t), note_u64, &s),
			 -EBADF);
	assert_int_equal(s.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_percpu_hash_sum),
	    cmocka_unit_test(test_percpu_array_struct_sum),
	    cmocka_unit_test(test_lru_hash_across_batches),
	    cmocka_unit_test(test_key_by_key_where_batches_are_refused),
	    cmocka_unit_test(test_bad_sizes),
	};

	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus <= 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
