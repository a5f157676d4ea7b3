/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Facts about the running kernel that several concerns need, read one way: CONFIG_HZ (to turn
 * jiffies into seconds) and sysctls under /proc/sys (per network namespace for net.*). The
 * neighbour table dump every concern shares is agent/rtnl.c's rtnl_neigh_dump().
 */
#ifndef SIPWATCH_KFACTS_H
#define SIPWATCH_KFACTS_H

#include <stdint.h>

/* The HZ a "CONFIG_HZ=<n>" line of a kernel config sets; 0 for any other line. */
unsigned kfacts_hz_from_config_line(const char *line);

/* CONFIG_HZ of the running kernel from /proc/config.gz or /boot/config-<release>; 0 if neither
 * can be read. */
unsigned kfacts_config_hz(void);

/*
 * HZ from @jiffies_delta ticks counted over @ns_delta nanoseconds: one of the values kernels are
 * built with (100, 250, 300, 1000) within 5 %, else 0 (unknown); 0 also under a second, too
 * short for a tick of jitter to stay under 5 % at 100 Hz.
 */
unsigned kfacts_hz_from_samples(uint64_t jiffies_delta, uint64_t ns_delta);

/* Calibrating HZ from (jiffies, ns) samples when the kernel config cannot be read. */
struct kfacts_hz_calib {
	uint64_t jiffies, ns; /* the first sample; ns 0 before it */
};

/* Feed one sample: the first is kept, a later one returns the HZ measured since (0 while unknown:
 * the first sample is kept, so the next try measures over a longer time). */
unsigned kfacts_hz_calibrate(struct kfacts_hz_calib *c, uint64_t jiffies, uint64_t ns);

/* The unsigned integer in sysctl file @path (/proc/sys/...). 0, or a negative errno. */
int kfacts_sysctl_u64(const char *path, uint64_t *out);

/* /proc/sys/net/{ipv4,ipv6}/neigh/@ifname/@name for @family (SW_AF_INET / SW_AF_INET6). */
int kfacts_neigh_sysctl_u64(uint8_t family, const char *ifname, const char *name, uint64_t *out);

#endif
