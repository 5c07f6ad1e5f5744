/* SPDX-License-Identifier: MIT */
/* Fields of /proc/PID/stat (procfs.c). */
#ifndef HCS_HCS_SYSTEM_PROCFS_H
#define HCS_HCS_SYSTEM_PROCFS_H

#include <sys/types.h>

/* Field `field` (numbered from 1, as in proc(5), above 2) of
 * /proc/PID/stat as a number; 0 when the process is gone. */
unsigned long long hcs__proc_stat_field(pid_t pid, int field);
/* The start time of pid (/proc/PID/stat field 22), 0 when gone. */
unsigned long long hcs__proc_start_time(pid_t pid);

#endif
