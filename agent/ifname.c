// SPDX-License-Identifier: GPL-2.0-only
#include "ifname.h"

#include "clock.h"

#include <stdio.h>
#include <string.h>

struct ifname_slot {
	unsigned int ifindex; /* 0: unused (no interface has index 0) */
	unsigned long long at_ns;
	char name[IF_NAMESIZE]; /* "" when the index named no interface then */
};

static struct ifname_slot cache[IFNAME_CACHE_ENTRIES];

char *ifname_of_index_at(unsigned int ifindex, char *buf, unsigned long long now_ns,
			 ifname_lookup_fn lookup)
{
	struct ifname_slot *slot = &cache[0];

	for (int i = 0; i < IFNAME_CACHE_ENTRIES; i++) {
		if (cache[i].ifindex == ifindex && ifindex) {
			slot = &cache[i];
			if (now_ns - slot->at_ns < IFNAME_CACHE_NS)
				goto found;
			break;
		}
		if (cache[i].at_ns < slot->at_ns) /* the oldest (or an unused) slot is reused */
			slot = &cache[i];
	}
	slot->ifindex = ifindex;
	slot->at_ns = now_ns;
	if (!lookup(ifindex, slot->name))
		slot->name[0] = '\0';
found:
	if (!slot->name[0])
		return NULL;
	memcpy(buf, slot->name, IF_NAMESIZE);
	return buf;
}

char *ifname_of_index(unsigned int ifindex, char *buf)
{
	return ifname_of_index_at(ifindex, buf, monotonic_ns(), if_indextoname);
}

const char *ifname_label(int ifindex, char *buf)
{
	if (!ifname_of_index((unsigned int)ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "%d", ifindex);
	return buf;
}
