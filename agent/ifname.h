/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Interface names by index, for labels and log fields. if_indextoname() costs three system calls
 * (socket, ioctl, close), and a scrape at 10 000 SIP peers labels thousands of series with a
 * handful of interfaces: names are remembered for IFNAME_CACHE_NS, so a renamed or re-created
 * interface shows its new name within that time.
 */
#ifndef SIPWATCH_IFNAME_H
#define SIPWATCH_IFNAME_H

#include <net/if.h>

#define IFNAME_CACHE_NS	     1000000000ULL /* 1 s */
#define IFNAME_CACHE_ENTRIES 64

/* Like if_indextoname(): @buf (IF_NAMESIZE bytes) filled and returned, NULL for no interface. */
char *ifname_of_index(unsigned int ifindex, char *buf);

/* For a label: the interface's name, or its index in decimal when it has none (any more). */
const char *ifname_label(int ifindex, char *buf);

/* How the cache asks the kernel: if_indextoname(), or a test's stand-in that renames at will. */
typedef char *(*ifname_lookup_fn)(unsigned int ifindex, char *buf);

/*
 * The same, with the time and the lookup given (for tests): a name cached less than
 * IFNAME_CACHE_NS before @now_ns is answered from the cache, else @lookup is asked.
 */
char *ifname_of_index_at(unsigned int ifindex, char *buf, unsigned long long now_ns,
			 ifname_lookup_fn lookup);

#endif /* SIPWATCH_IFNAME_H */
