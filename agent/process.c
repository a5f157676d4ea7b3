// SPDX-License-Identifier: GPL-2.0-only
#include "process.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static struct metric_family *cpu, *rss, *start_time, *open_fds, *max_fds;
static double start_seconds;

/* Boot time (btime in /proc/stat), to turn the start time in clock ticks into Unix seconds. */
static double boot_time(void)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[256];
	double btime = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lf", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

/* Fields 14 (utime), 15 (stime), 22 (starttime) of /proc/self/stat, after the ")" of comm. */
static int read_stat(unsigned long long *utime, unsigned long long *stime,
		     unsigned long long *starttime)
{
	char buf[1024], *p;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* After ") ": state(3) ppid(4) ... utime is the 12th field from state. */
	if (sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
		   "%llu",
		   utime, stime, starttime) != 3)
		return -1;
	return 0;
}

void process_init(struct metrics *reg)
{
	unsigned long long ut, st, start;

	cpu = metrics_counter(reg, "process_cpu_seconds_total",
			      "Total user and system CPU time spent in seconds.", NO_LABELS);
	rss = metrics_gauge(reg, "process_resident_memory_bytes", "Resident memory size in bytes.",
			    NO_LABELS);
	start_time =
	    metrics_gauge(reg, "process_start_time_seconds",
			  "Start time of the process since unix epoch in seconds.", NO_LABELS);
	open_fds =
	    metrics_gauge(reg, "process_open_fds", "Number of open file descriptors.", NO_LABELS);
	max_fds = metrics_gauge(reg, "process_max_fds", "Maximum number of open file descriptors.",
				NO_LABELS);
	if (!read_stat(&ut, &st, &start))
		start_seconds = boot_time() + (double)start / (double)sysconf(_SC_CLK_TCK);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

void process_collect(void)
{
	unsigned long long ut, st, start;
	long pages = 0;
	struct rlimit rl;
	FILE *f;
	int fds;

	if (!read_stat(&ut, &st, &start))
		metric_set(cpu, NO_LABELS, (double)(ut + st) / (double)sysconf(_SC_CLK_TCK));
	f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%*d %ld", &pages) == 1)
			metric_set(rss, NO_LABELS, (double)pages * (double)sysconf(_SC_PAGESIZE));
		fclose(f);
	}
	metric_set(start_time, NO_LABELS, start_seconds);
	fds = count_fds();
	if (fds >= 0)
		metric_set(open_fds, NO_LABELS, fds);
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		metric_set(max_fds, NO_LABELS, (double)rl.rlim_cur);
}
