// SPDX-License-Identifier: GPL-2.0-only
#include "kfacts.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "sipwatch.h"

unsigned kfacts_hz_from_config_line(const char *line)
{
	char *end;
	unsigned long hz;

	if (strncmp(line, "CONFIG_HZ=", 10))
		return 0;
	hz = strtoul(line + 10, &end, 10);
	if (end == line + 10 || (*end && *end != '\n') || hz == 0 || hz > 10000)
		return 0;
	return (unsigned)hz;
}

unsigned kfacts_config_hz(void)
{
	/* The running kernel's own copy first; /boot may hold a config edited after the build. */
	const char *paths[2] = {"/proc/config.gz", NULL};
	char boot[320], line[256];
	struct utsname u;
	unsigned hz = 0;

	if (!uname(&u)) {
		snprintf(boot, sizeof(boot), "/boot/config-%s", u.release);
		paths[1] = boot;
	}
	for (int i = 0; i < 2 && !hz; i++) {
		gzFile f;

		/* gzopen reads plain files too */
		if (!paths[i] || !(f = gzopen(paths[i], "rb")))
			continue;
		while (!hz && gzgets(f, line, sizeof(line)))
			hz = kfacts_hz_from_config_line(line);
		gzclose(f);
	}
	return hz;
}

/*
 * On a measurement that matches no Kconfig choice the answer is "unknown" (0), not the measured
 * value: CONFIG_HZ can only be one of these (kernel/Kconfig.hz), so such a measurement was
 * disturbed (the sampler preempted between its two reads, a suspend) and seconds converted with it
 * would be silently wrong. Callers omit what needs HZ and measure again, over a longer time.
 * (neigh.c used to return the measured value, tcp.c 0; this is tcp.c's rule for both.)
 */
unsigned kfacts_hz_from_samples(uint64_t jiffies_delta, uint64_t ns_delta)
{
	static const unsigned allowed[] = {100, 250, 300, 1000};
	double measured;

	if (ns_delta < 1000000000ull)
		return 0;
	measured = (double)jiffies_delta * 1e9 / (double)ns_delta;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (measured > allowed[i] * 0.95 && measured < allowed[i] * 1.05)
			return allowed[i];
	return 0;
}

unsigned kfacts_hz_calibrate(struct kfacts_hz_calib *c, uint64_t jiffies, uint64_t ns)
{
	if (!c->ns) {
		c->jiffies = jiffies;
		c->ns = ns;
		return 0;
	}
	/* Out of order (a sample from before the first): unknown. */
	if (ns <= c->ns || jiffies < c->jiffies)
		return 0;
	return kfacts_hz_from_samples(jiffies - c->jiffies, ns - c->ns);
}

int kfacts_sysctl_u64(const char *path, uint64_t *out)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%" SCNu64, out) != 1)
		err = -EINVAL;
	fclose(f);
	return err;
}

int kfacts_neigh_sysctl_u64(uint8_t family, const char *ifname, const char *name, uint64_t *out)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/net/%s/neigh/%s/%s",
		 family == SW_AF_INET6 ? "ipv6" : "ipv4", ifname, name);
	return kfacts_sysctl_u64(path, out);
}
