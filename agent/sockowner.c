// SPDX-License-Identifier: GPL-2.0-only
#include "sockowner.h"

#include "clock.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int recent[SOCKOWNER_RECENT]; /* most recent first; 0 = empty */
static double tokens = SOCKOWNER_CALL_MAX_FDS;
static uint64_t tokens_ns;
/*
 * Where a walk that ran out of budget stopped (the process it was reading): the next walk goes
 * on from there, in the directory's own order (stable while the directory is unchanged).
 */
static int cursor;

void sockowner_reset(void)
{
	memset(recent, 0, sizeof(recent));
	tokens = SOCKOWNER_CALL_MAX_FDS;
	tokens_ns = 0;
	cursor = 0;
}

static void remember(int pid)
{
	int i;

	for (i = 0; i < SOCKOWNER_RECENT - 1 && recent[i] != pid; i++)
		;
	memmove(recent + 1, recent, (size_t)i * sizeof(recent[0]));
	recent[0] = pid;
}

/*
 * Does process @pid hold @want ("socket:[N]")? Reads at most *@budget of its descriptors, taking
 * them from *@budget. -1 when the process is gone.
 */
static int holds(const char *proc_root, const char *pid, const char *want, long *budget,
		 unsigned long *fds_read)
{
	char path[600], link[64];
	struct dirent *fd;
	DIR *fds;
	int found = 0;

	snprintf(path, sizeof(path), "%s/%s/fd", proc_root, pid);
	fds = opendir(path);
	if (!fds)
		return -1;
	while (!found && *budget > 0 && (fd = readdir(fds))) {
		ssize_t n;

		if (fd->d_name[0] == '.')
			continue;
		(*budget)--;
		(*fds_read)++;
		snprintf(path, sizeof(path), "%s/%s/fd/%s", proc_root, pid, fd->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = !strcmp(link, want);
	}
	closedir(fds);
	return found;
}

static void read_comm(const char *proc_root, int pid, char *comm, size_t comm_len)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, pid);
	comm[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(comm, (int)comm_len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

bool sockowner_find_at(const char *proc_root, uint32_t ino, int *pid, char *comm, size_t comm_len,
		       uint64_t now_ns, unsigned long *fds_read)
{
	char want[32], name[16];
	struct dirent *p;
	long budget;
	int found_pid = 0;
	DIR *proc;

	if (tokens_ns && now_ns > tokens_ns) {
		tokens += (double)(now_ns - tokens_ns) / 1e9 * SOCKOWNER_FDS_PER_SECOND;
		if (tokens > SOCKOWNER_CALL_MAX_FDS)
			tokens = SOCKOWNER_CALL_MAX_FDS;
	}
	tokens_ns = now_ns;
	budget = (long)tokens;
	snprintf(want, sizeof(want), "socket:[%u]", ino);
	for (int i = 0; i < SOCKOWNER_RECENT && recent[i] && !found_pid && budget > 0; i++) {
		snprintf(name, sizeof(name), "%d", recent[i]);
		if (holds(proc_root, name, want, &budget, fds_read) == 1)
			found_pid = recent[i];
	}
	/*
	 * Pass 0: from the cursor's process to the end of the directory; pass 1: from its start
	 * up to the cursor's process. A walk cut short by the budget leaves the cursor at the
	 * process it was reading, so lookups that each read a share still cover every process.
	 */
	for (int pass = 0; pass < 2 && !found_pid && budget > 0; pass++) {
		int start = cursor;
		bool on = pass == 1 || !start; /* reading (pass 0 waits for the cursor's entry) */

		proc = opendir(proc_root);
		while (proc && !found_pid && budget > 0 && (p = readdir(proc))) {
			int n;

			if (p->d_name[0] < '1' || p->d_name[0] > '9')
				continue;
			n = atoi(p->d_name);
			if (n == start && pass == 1)
				break; /* back where pass 0 began */
			on = on || n == start;
			if (!on)
				continue;
			if (holds(proc_root, p->d_name, want, &budget, fds_read) == 1)
				found_pid = n;
			else if (budget <= 0)
				cursor = n;
		}
		if (proc)
			closedir(proc);
		if (!start)
			break; /* pass 0 read the whole directory */
	}
	if (!found_pid && budget > 0)
		cursor = 0; /* a whole walk: start over next time */
	tokens = budget > 0 ? (double)budget + (tokens - (long)tokens) : 0;
	if (!found_pid)
		return false;
	remember(found_pid);
	*pid = found_pid;
	read_comm(proc_root, found_pid, comm, comm_len);
	return true;
}

bool sockowner_find(uint32_t ino, int *pid, char *comm, size_t comm_len)
{
	unsigned long fds_read = 0;

	return sockowner_find_at("/proc", ino, pid, comm, comm_len, monotonic_ns(), &fds_read);
}
