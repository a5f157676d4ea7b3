// SPDX-License-Identifier: GPL-2.0-only
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int from_mount_table(char *where, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	int fd = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2"))
			continue;
		fd = open(m->mnt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			continue;
		}
		snprintf(where, len, "%s", m->mnt_dir);
		break;
	}
	endmntent(f);
	return fd;
}

static int from_private_mount(char *where, size_t len)
{
	char dir[] = "/tmp/sipwatch-cgroup2.XXXXXX";
	int fd;

	if (!mkdtemp(dir))
		return -errno;
	if (mount("cgroup2", dir, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		fd = -errno;
		rmdir(dir);
		return fd;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	/* The fd keeps the cgroup; the mount itself is not needed any more. */
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	snprintf(where, len, "cgroup2 root (private mount: none visible in this mount namespace)");
	return fd;
}

int cgroup2_root_open(char *where, size_t len)
{
	int fd = from_mount_table(where, len);

	return fd >= 0 ? fd : from_private_mount(where, len);
}
