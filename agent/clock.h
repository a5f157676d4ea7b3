/* SPDX-License-Identifier: GPL-2.0-only */
/* The agent's clock: CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns(), so BPF timestamps compare.
 */
#ifndef SIPWATCH_CLOCK_H
#define SIPWATCH_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * How often at most a scrape rescans a whole kernel table (neighbour dump, socket iterators, TCP
 * audit): tables of thousands of entries, and scrapes that come back to back share one scan.
 */
#define KERNEL_SCAN_MIN_NS (250ULL * 1000000ULL)

/*
 * True at most once per @interval_ns (and the first time): for work a scrape would otherwise
 * repeat back to back, such as walking the kernel's socket tables. @last_ns is the caller's.
 */
static inline bool interval_elapsed(uint64_t *last_ns, uint64_t interval_ns)
{
	uint64_t now = monotonic_ns();

	if (*last_ns && now - *last_ns < interval_ns)
		return false;
	*last_ns = now;
	return true;
}

#endif /* SIPWATCH_CLOCK_H */
