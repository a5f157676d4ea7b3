/* SPDX-License-Identifier: GPL-2.0-only */
/* The cgroup v2 root, where sipwatch's cgroup programs (fail-fast egress, sockops) attach. */
#ifndef SIPWATCH_CGROUP_H
#define SIPWATCH_CGROUP_H

#include <stddef.h>

/*
 * An O_RDONLY fd on the cgroup v2 root. Found in /proc/mounts (hybrid hierarchies mount it at
 * /sys/fs/cgroup/unified, unified ones at /sys/fs/cgroup). Where this mount namespace has none
 * — `ip netns exec` remounts /sys, hiding it — cgroup2 is mounted on a private directory, opened
 * and detached again at once. @where receives a description for logs. Returns -errno on failure.
 */
int cgroup2_root_open(char *where, size_t len);

#endif
