/* SPDX-License-Identifier: MIT */
/* Cgroups of compute systems: the one place that knows cgroup v1 and v2.
 * A system's group is hcs/<id> in each controller hierarchy it uses (v1:
 * freezer and memory, pids and cpu when limited) or in the unified
 * hierarchy (v2). */
#ifndef HCS_HCS_CGROUP_H
#define HCS_HCS_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { HCS__CG_MAX_PROCS = 8 };

typedef struct hcs__cgroup_limits_s {
  int64_t memory_bytes;     /* 0: none */
  int64_t pids;             /* 0: none */
  int64_t cpu_weight;       /* 1-10000 (ProcessorWeight); 0: default */
  int64_t cpu_max;          /* 1-10000 of the machine (ProcessorMaximum); 0 */
  int64_t cpu_count;        /* ProcessorCount; 0: all */
  int64_t cpu_shares;       /* v1 shares, 2-262144 (CpuShares); 0: none */
  int64_t cpu_quota;        /* us per period, -1 none (CpuQuota); 0: unset */
  int64_t cpu_period;       /* us (CpuPeriod); 0: the kernel's 100000 */
  int64_t swap_bytes;       /* swap beside memory_bytes: 0 none, -1 unlimited */
  int64_t memory_low_bytes; /* a soft limit (v1 soft_limit, v2 low); 0 */
  const char *cpuset_cpus;  /* cpuset lists; NULL: all */
  const char *cpuset_mems;
} hcs__cgroup_limits_t;

typedef struct hcs__cgroup_s {
  int v2;
  char id[160];
  /* Of each group, O_WRONLY: the file a single-threaded process joins by
   * writing "0" to (hcs__cgroup_join_file). */
  int procs[HCS__CG_MAX_PROCS];
  int nprocs;
  const char *list;  /* v1: the controller whose group lists the members;
                        NULL on v2 (the one group) */
  uint64_t oom_base; /* oom kills counted before the system started */
} hcs__cgroup_t;

/* "tasks" on v1: moving the writer's one thread skips the kernel's global
 * threadgroup lock, whose taking waits for an RCU grace period (10-20 ms,
 * more under load), which cgroup.procs takes to move a whole process;
 * "cgroup.procs" on v2. */
const char *hcs__cgroup_join_file(const hcs__cgroup_t *cg);
/* Creates (or reuses) the groups and applies the limits. 0, or -errno
 * with why (wn bytes) naming the call and the file at fault, as in
 * "write(/sys/fs/cgroup/hcs/ID/memory.max, \"...\")". */
int hcs__cgroup_create(hcs__cgroup_t *cg, const char *id,
                       const hcs__cgroup_limits_t *lim, char *why, size_t wn);
/* Applies lim to the groups of a running system, each field that is set
 * (non-zero, or a string); on v1 a hierarchy not joined before is made
 * and every member moved into it, with the group frozen. 0, or -errno
 * with why as for create. */
int hcs__cgroup_update(hcs__cgroup_t *cg, const hcs__cgroup_limits_t *lim,
                       char *why, size_t wn);
/* Kills every process in the groups (cgroup.kill on v2; on v1 SIGKILL to
 * each listed pid, under the freezer when it is there, until the group is
 * frozen or empty: the members die at the thaw). */
void hcs__cgroup_kill(hcs__cgroup_t *cg);
/* Kills top (a host pid) and every descendant of it among the group's
 * members, all at once with the group frozen, so that none forks, exits
 * or sees another die meanwhile: a tree that left its process group or
 * session still goes. A member reparented away from top's tree (to init)
 * is not reached. The number killed. */
int hcs__cgroup_kill_tree(hcs__cgroup_t *cg, pid_t top);
/* Freezes (on) or thaws the groups and waits until every member is
 * stopped / running again: 0, -ETIMEDOUT, or -errno of the write. */
int hcs__cgroup_freeze(const hcs__cgroup_t *cg, int on);
/* 1 when the groups are frozen. */
int hcs__cgroup_frozen(const hcs__cgroup_t *cg);
/* OOM kills in the system's memory group since it was created. */
uint64_t hcs__cgroup_oom_kills(const hcs__cgroup_t *cg);
/* Number of processes left in the groups (0 once empty), -errno. */
int hcs__cgroup_count(const hcs__cgroup_t *cg);
/* Closes the fds and removes the groups (they must be empty). */
void hcs__cgroup_destroy(hcs__cgroup_t *cg);

#endif
