/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The process holding a socket, by the socket's inode, for incidents (a TCP connection the kernel
 * timed out names the process that held it). The kernel keeps no socket → process index: the
 * answer is in the /proc/PID/fd links, and reading all of them is O(every descriptor on the host)
 * on the event loop, for every incident. So the lookup is bounded:
 *  - the processes that held sockets found before are read first (a PBX's SIP sockets belong to
 *    a handful of processes, so the next lookup usually reads only theirs);
 *  - one lookup reads at most SOCKOWNER_CALL_MAX_FDS descriptors, and all lookups together at
 *    most SOCKOWNER_FDS_PER_SECOND a second (a token bucket, so a burst of timeouts cannot
 *    stall the loop): past that the owner is reported unknown.
 */
#ifndef SIPWATCH_SOCKOWNER_H
#define SIPWATCH_SOCKOWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOCKOWNER_RECENT	 8
#define SOCKOWNER_CALL_MAX_FDS	 10000
#define SOCKOWNER_FDS_PER_SECOND 20000

/* The owner of socket inode @ino: *@pid and its comm in @comm. False when not found in budget. */
bool sockowner_find(uint32_t ino, int *pid, char *comm, size_t comm_len);

/*
 * The same under @proc_root at monotonic time @now_ns, adding the descriptors read to
 * *@fds_read (for tests, which build a /proc of their own).
 */
bool sockowner_find_at(const char *proc_root, uint32_t ino, int *pid, char *comm, size_t comm_len,
		       uint64_t now_ns, unsigned long *fds_read);
/* Forget the recent owners and refill the budget (tests). */
void sockowner_reset(void);

#endif
