/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Timing for the benchmark loops (send_loop.c, syscall_loop.c): a loop is timed in blocks and the
 * fastest block counts, so a shared machine's bursts, which land in some blocks only, do not.
 */
#ifndef SIPWATCH_BLOCK_TIMER_H
#define SIPWATCH_BLOCK_TIMER_H

#include <time.h>

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* qsort() order of block times. */
static inline int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif
