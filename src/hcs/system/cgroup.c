/* SPDX-License-Identifier: MIT */
/* Cgroups v1 and v2 behind the interface of cgroup.h. */
#include "hcs/system/cgroup.h"

#include "hcs-async.h"
#include "hcs/system/devices.h"
#include "hcs/system/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char root[] = "/sys/fs/cgroup";
/* v1 controllers a system may join, when the machine mounts them; the
 * groups of all of them are removed on destroy (cpuacct and blkio are
 * no longer joined, but groups made by earlier versions may remain). */
static const char *const v2_one[] = {"", NULL};
static const char *const v1_ctrls[] = {"memory",  "pids",    "cpu",
                                       "cpuacct", "freezer", "blkio",
                                       "devices", "cpuset",  NULL};

static int is_v2(void) {
  struct statfs sf;
  return statfs(root, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int write_file(const char *dir, const char *file, const char *val) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  ssize_t n = write(fd, val, strlen(val));
  int err = n < 0 ? -errno : 0;
  close(fd);
  return err;
}

static int read_file(const char *dir, const char *file, char *buf, size_t n) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  ssize_t r = read(fd, buf, n - 1);
  close(fd);
  if (r < 0) {
    return -errno;
  }
  buf[r] = '\0';
  return 0;
}

/* cg->id is the group's path under each hierarchy (hcs/<name>, or the
 * configuration's CgroupPath). */
static void group_dir(const hcs__cgroup_t *cg, const char *ctrl, char *buf,
                      size_t n) {
  if (cg->v2) {
    snprintf(buf, n, "%s/%s", root, cg->id);
  } else {
    snprintf(buf, n, "%s/%s/%s", root, ctrl != NULL ? ctrl : "", cg->id);
  }
}

static int cpuset_inherit(const char *parent, const char *dir);

/* Makes base/rel a directory at a time: on v2 each directory above the
 * group hands the controllers down to its children; under v1's cpuset
 * each new one takes its parent's cpus and mems. */
static int make_chain(const char *base, const char *rel, int v2, int cpuset) {
  static const char *const enable[] = {"+memory +pids +cpu", "+cpuset"};
  char cur[512], up[512];
  snprintf(cur, sizeof(cur), "%s", base);
  for (const char *p = rel; *p != '\0';) {
    size_t len = strcspn(p, "/");
    snprintf(up, sizeof(up), "%s", cur);
    /* One write fails whole when one controller is missing: cpuset is
     * asked for apart. */
    for (int i = 0; v2 && i < 2; i++) {
      (void)write_file(up, "cgroup.subtree_control", enable[i]);
    }
    size_t n = strlen(cur);
    snprintf(cur + n, sizeof(cur) - n, "/%.*s", (int)len, p);
    if (mkdir(cur, 0755) != 0 && errno != EEXIST) {
      return -errno;
    }
    int err = cpuset ? cpuset_inherit(up, cur) : 0;
    if (err != 0) {
      return err;
    }
    p += len;
    p += strspn(p, "/");
  }
  return 0;
}

const char *hcs__cgroup_join_file(const hcs__cgroup_t *cg) {
  return cg->v2 ? "cgroup.procs" : "tasks";
}

static int open_procs(hcs__cgroup_t *cg, const char *dir) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, hcs__cgroup_join_file(cg));
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  cg->procs[cg->nprocs++] = fd;
  return 0;
}

typedef struct knob_s {
  const char *ctrl; /* v1 controller */
  const char *file;
  char val[160];
} knob_t;

enum { KNOBS_MAX = 16 };

/* The memory knobs: the limit, swap beside it, the soft limit. */
static int memory_knobs(const hcs__cgroup_t *cg, const hcs__cgroup_limits_t *l,
                        knob_t *k) {
  int n = 0;
  const int sz = (int)sizeof(k[0].val);
  if (l->memory_bytes > 0) {
    k[n] =
        (knob_t){"memory", cg->v2 ? "memory.max" : "memory.limit_in_bytes", ""};
    snprintf(k[n++].val, sz, "%lld", (long long)l->memory_bytes);
    /* Without swap the limit is the limit; v1 counts memory and swap
     * together (memsw), v2 swap alone. */
    k[n] = (knob_t){"memory",
                    cg->v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                    ""};
    if (l->swap_bytes < 0) {
      snprintf(k[n++].val, sz, "%s", cg->v2 ? "max" : "-1");
    } else {
      snprintf(k[n++].val, sz, "%lld",
               (long long)(l->swap_bytes + (cg->v2 ? 0 : l->memory_bytes)));
    }
  }
  if (l->memory_low_bytes > 0) {
    k[n] = (knob_t){"memory",
                    cg->v2 ? "memory.low" : "memory.soft_limit_in_bytes", ""};
    snprintf(k[n++].val, sz, "%lld", (long long)l->memory_low_bytes);
  }
  return n;
}

/* The limit files to write, in the version's names. */
static int knobs_of(const hcs__cgroup_t *cg, const hcs__cgroup_limits_t *l,
                    knob_t *k) {
  int n = 0;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  const long period = l->cpu_period > 0 ? (long)l->cpu_period : 100000;
  long quota = 0;
  if (l->cpu_quota != 0) {
    quota = (long)l->cpu_quota; /* as given; -1: none */
  } else if (l->cpu_max > 0) {
    quota = period * ncpu * l->cpu_max / 10000;
  } else if (l->cpu_count > 0 && l->cpu_count < ncpu) {
    quota = period * l->cpu_count;
  }
  if (l->cpu_quota == 0 && quota > 0 && quota < 1000) {
    quota = 1000; /* the kernel's floor for a quota */
  }
  n += memory_knobs(cg, l, k);
  const char *const sets[][2] = {{"cpuset.cpus", l->cpuset_cpus},
                                 {"cpuset.mems", l->cpuset_mems}};
  for (int i = 0; i < 2; i++) {
    if (sets[i][1] != NULL && sets[i][1][0] != '\0') {
      k[n] = (knob_t){"cpuset", sets[i][0], ""};
      snprintf(k[n++].val, sizeof(k[0].val), "%s", sets[i][1]);
    }
  }
  if (l->pids > 0) {
    k[n] = (knob_t){"pids", "pids.max", ""};
    snprintf(k[n++].val, sizeof(k[0].val), "%lld", (long long)l->pids);
  }
  if (l->cpu_shares > 0) {
    /* v2: runc's conversion of shares to a weight. */
    long long v = cg->v2 ? 1 + (l->cpu_shares - 2) * 9999 / 262142
                         : (long long)l->cpu_shares;
    k[n] = (knob_t){"cpu", cg->v2 ? "cpu.weight" : "cpu.shares", ""};
    snprintf(k[n++].val, sizeof(k[0].val), "%lld", v);
  } else if (l->cpu_weight > 0) {
    /* v1 shares run 2-262144 (1024 default); v2 weight 1-10000 (100). */
    long long v =
        cg->v2 ? l->cpu_weight : 2 + (long long)l->cpu_weight * 262142 / 10000;
    k[n] = (knob_t){"cpu", cg->v2 ? "cpu.weight" : "cpu.shares", ""};
    snprintf(k[n++].val, sizeof(k[0].val), "%lld", v);
  }
  if (quota != 0 || l->cpu_period > 0) {
    if (cg->v2) {
      k[n] = (knob_t){"cpu", "cpu.max", ""};
      if (quota > 0) {
        snprintf(k[n++].val, sizeof(k[0].val), "%ld %ld", quota, period);
      } else {
        snprintf(k[n++].val, sizeof(k[0].val), "max %ld", period);
      }
    } else {
      k[n] = (knob_t){"cpu", "cpu.cfs_period_us", ""};
      snprintf(k[n++].val, sizeof(k[0].val), "%ld", period);
      if (quota != 0) {
        k[n] = (knob_t){"cpu", "cpu.cfs_quota_us", ""};
        snprintf(k[n++].val, sizeof(k[0].val), "%ld", quota);
      }
    }
  }
  return n;
}

static uint64_t read_oom(const hcs__cgroup_t *cg) {
  char dir[512], buf[1024];
  group_dir(cg, "memory", dir, sizeof(dir));
  if (read_file(dir, cg->v2 ? "memory.events" : "memory.oom_control", buf,
                sizeof(buf)) != 0) {
    return 0;
  }
  const char *p = strstr(buf, "oom_kill ");
  return p != NULL ? strtoull(p + 9, NULL, 10) : 0;
}

static int create_v2(hcs__cgroup_t *cg, char *why, size_t wn) {
  char dir[512];
  group_dir(cg, NULL, dir, sizeof(dir));
  /* Controllers must be enabled from the root down to the parent. */
  int err = make_chain(root, cg->id, 1, 0);
  if (err != 0) {
    snprintf(why, wn, "mkdir(%s)", dir);
    return err;
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    err = -errno;
    snprintf(why, wn, "open(%s)", dir);
    return err;
  }
  err = hcs__devices_v2_attach(fd);
  close(fd);
  if (err != 0) {
    snprintf(why, wn, "bpf(BPF_PROG_ATTACH) of the device program to %s", dir);
    return err;
  }
  err = open_procs(cg, dir);
  if (err != 0) {
    snprintf(why, wn, "open(%s/cgroup.procs)", dir);
  }
  return err;
}

/* Everything denied, then the devices a system may open (devices.h). */
static int devices_v1(const char *dir) {
  int err = write_file(dir, "devices.deny", "a");
  char rule[64];
  for (size_t i = 0; err == 0 && hcs__devices_v1_rule(i, rule, sizeof(rule));
       i++) {
    err = write_file(dir, "devices.allow", rule);
  }
  return err;
}

/* On v1 every hierarchy joined is one cgroup.procs write per exec (a
 * cgroup_attach_task each, about 2 % of an exec's CPU, issue 3), so a
 * system joins only what it uses: freezer, to kill its members without a
 * race; memory, whose oom_kill counter tells an OOM kill from another
 * SIGKILL (global OOM kills are counted there too, limit or not); devices,
 * the only barrier to the host's device nodes; and the
 * hierarchy of each limit it sets (pids, cpu). Nothing reads cpuacct or
 * blkio. The members are listed from the first group joined, freezer when
 * it is there. */
/* A new v1 cpuset group has empty cpus and mems, and a task cannot join
 * it until both are set: each takes its parent's. */
static int cpuset_inherit(const char *parent, const char *dir) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int i = 0; i < 2; i++) {
    char mine[1024], up[1024];
    int e = read_file(dir, files[i], mine, sizeof(mine));
    if (e != 0) {
      return e;
    }
    if (mine[0] != '\n' && mine[0] != '\0') {
      continue;
    }
    e = read_file(parent, files[i], up, sizeof(up));
    if (e == 0) {
      e = write_file(dir, files[i], up);
    }
    if (e != 0) {
      return e;
    }
  }
  return 0;
}

/* Makes the group of controller c (the hcs/ parent too) and opens its
 * cgroup.procs. 0 or -errno with why. */
static int join_v1(hcs__cgroup_t *cg, const char *c, char *why, size_t wn) {
  char base[256], dir[512];
  snprintf(base, sizeof(base), "%s/%s", root, c);
  group_dir(cg, c, dir, sizeof(dir));
  int err = make_chain(base, cg->id, 0, strcmp(c, "cpuset") == 0);
  if (err != 0) {
    snprintf(why, wn, "mkdir(%s) (cpuset.cpus, cpuset.mems)", dir);
    return err;
  }
  if (strcmp(c, "devices") == 0 && (err = devices_v1(dir)) != 0) {
    snprintf(why, wn, "write(%s/devices.deny or devices.allow)", dir);
    return err;
  }
  if ((err = open_procs(cg, dir)) != 0) {
    snprintf(why, wn, "open(%s/tasks)", dir);
    return err;
  }
  if (cg->list == NULL) {
    cg->list = c;
  }
  return 0;
}

static const char *const v1_joined[] = {"freezer", "memory", "devices",
                                        "pids",    "cpu",    "cpuset"};

/* Whether the group of v1 controller c exists. */
static int has_v1(const hcs__cgroup_t *cg, const char *c) {
  char dir[512];
  group_dir(cg, c, dir, sizeof(dir));
  return access(dir, F_OK) == 0;
}

static int create_v1(hcs__cgroup_t *cg, const knob_t *k, int nk, char *why,
                     size_t wn) {
  const char *const *ctrls = v1_joined;
  for (size_t i = 0; i < sizeof(v1_joined) / sizeof(v1_joined[0]); i++) {
    const char *c = ctrls[i];
    int use = i < 3; /* freezer, memory and devices: always */
    for (int j = 0; j < nk && !use; j++) {
      use = strcmp(k[j].ctrl, c) == 0;
    }
    char base[256];
    snprintf(base, sizeof(base), "%s/%s", root, c);
    if (!use || access(base, F_OK) != 0) {
      continue; /* not needed, or not mounted here */
    }
    int err = join_v1(cg, c, why, wn);
    if (err != 0) {
      return err;
    }
  }
  return 0;
}

/* Writes the knobs; one that the kernel refuses for the order (v1's
 * memsw below the limit, a limit above memsw) is tried again after the
 * others. 0 or -errno with why. */
static int write_knobs(const hcs__cgroup_t *cg, const knob_t *k, int n,
                       char *why, size_t wn) {
  int failed[KNOBS_MAX], nf = 0, err = 0;
  for (int pass = 0; pass < 2; pass++) {
    int m = pass == 0 ? n : nf;
    nf = 0;
    for (int j = 0; j < m; j++) {
      int i = pass == 0 ? j : failed[j];
      char dir[512];
      group_dir(cg, k[i].ctrl, dir, sizeof(dir));
      err = write_file(dir, k[i].file, k[i].val);
      if (err == -ENOENT &&
          (strcmp(k[i].file, "memory.swap.max") == 0 ||
           strcmp(k[i].file, "memory.memsw.limit_in_bytes") == 0)) {
        err = 0; /* no swap accounting on this kernel */
      }
      if (err != 0 && pass == 0) {
        failed[nf++] = i;
      } else if (err != 0) {
        snprintf(why, wn, "write(%s/%s, \"%s\")", dir, k[i].file, k[i].val);
        return err;
      }
    }
  }
  return 0;
}

int hcs__cgroup_create(hcs__cgroup_t *cg, const char *id,
                       const hcs__cgroup_limits_t *lim, char *why, size_t wn) {
  memset(cg, 0, sizeof(*cg));
  for (int i = 0; i < HCS__CG_MAX_PROCS; i++) {
    cg->procs[i] = -1;
  }
  cg->v2 = is_v2();
  snprintf(cg->id, sizeof(cg->id), "%s", id);
  knob_t k[KNOBS_MAX];
  int n = knobs_of(cg, lim, k);
  int err = cg->v2 ? create_v2(cg, why, wn) : create_v1(cg, k, n, why, wn);
  if (err == 0) {
    err = write_knobs(cg, k, n, why, wn);
  }
  if (err != 0) {
    hcs__cgroup_destroy(cg);
    return err;
  }
  cg->oom_base = read_oom(cg);
  return 0;
}

static int freeze(const hcs__cgroup_t *cg, int on);

/* Moves every member into the new group of v1 controller c, frozen so
 * that none forks past the move: whole processes, through the group's
 * cgroup.procs (its tasks file would move one thread of each). */
static int move_members(hcs__cgroup_t *cg, const char *c, char *why,
                        size_t wn) {
  int err = join_v1(cg, c, why, wn);
  if (err != 0) {
    return err;
  }
  char dir[512], path[1024];
  group_dir(cg, c, dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  int to = open(path, O_WRONLY | O_CLOEXEC);
  if (to < 0) {
    err = -errno;
    snprintf(why, wn, "open(%s)", path);
    return err;
  }
  int frozen = !hcs__cgroup_frozen(cg) && freeze(cg, 1);
  group_dir(cg, cg->list, dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  FILE *f = fopen(path, "re");
  long pid;
  while (f != NULL && err == 0 && fscanf(f, "%ld", &pid) == 1) {
    char v[32];
    int len = snprintf(v, sizeof(v), "%ld", pid);
    if (write(to, v, (size_t)len) < 0 && errno != ESRCH) {
      err = -errno;
      snprintf(why, wn, "moving pid %ld into %s in %s", pid, cg->id, c);
    }
  }
  close(to);
  if (f != NULL) {
    fclose(f);
  }
  if (frozen) {
    (void)freeze(cg, 0);
  }
  return err;
}

int hcs__cgroup_update(hcs__cgroup_t *cg, const hcs__cgroup_limits_t *lim,
                       char *why, size_t wn) {
  knob_t k[KNOBS_MAX];
  int n = knobs_of(cg, lim, k), err = 0;
  for (int i = 0; i < n && err == 0 && !cg->v2; i++) {
    char base[256];
    snprintf(base, sizeof(base), "%s/%s", root, k[i].ctrl);
    if (!has_v1(cg, k[i].ctrl) && access(base, F_OK) == 0) {
      if (cg->nprocs == HCS__CG_MAX_PROCS) {
        snprintf(why, wn, "joining %s: too many hierarchies", k[i].ctrl);
        return -E2BIG;
      }
      err = move_members(cg, k[i].ctrl, why, wn);
    }
  }
  return err != 0 ? err : write_knobs(cg, k, n, why, wn);
}

uint64_t hcs__cgroup_oom_kills(const hcs__cgroup_t *cg) {
  return read_oom(cg) - cg->oom_base;
}

/* Calls fn for each pid listed in the group of ctrl. */
static int each_pid(const hcs__cgroup_t *cg, const char *ctrl,
                    void (*fn)(pid_t pid)) {
  char dir[512], path[1024];
  group_dir(cg, ctrl, dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return -errno;
  }
  int n = 0;
  long pid;
  while (fscanf(f, "%ld", &pid) == 1) {
    if (fn != NULL) {
      fn((pid_t)pid);
    }
    n++;
  }
  fclose(f);
  return n;
}

/* v1 cgroups have no kill file: a pid read from cgroup.procs belongs to a
 * member of the frozen group, which cannot exit and be replaced while it
 * is frozen, so the kill cannot hit a stranger. */
static void kill_pid(pid_t pid) { (void)kill(pid, SIGKILL); }

void hcs__cgroup_kill(hcs__cgroup_t *cg) {
  char dir[512];
  if (cg->v2) {
    group_dir(cg, NULL, dir, sizeof(dir));
    if (write_file(dir, "cgroup.kill", "1") == 0) {
      return;
    }
  }
  const char *ctrl = cg->list;
  /* An empty group (the usual end: init's exit took its pid namespace
   * with it) has no member to fork: nothing to freeze or kill. */
  if (each_pid(cg, ctrl, NULL) <= 0) {
    return;
  }
  group_dir(cg, "freezer", dir, sizeof(dir));
  int frozen = !cg->v2 && write_file(dir, "freezer.state", "FROZEN") == 0;
  for (int round = 0; round < 100; round++) {
    /* A killed member stays in a frozen group until the thaw, so the
     * list never empties under the freezer. Once the group reads FROZEN
     * (not FREEZING) none can fork: one pass over its list then reaches
     * every member, and each dies at the thaw. */
    int settled = frozen && hcs__cgroup_frozen(cg);
    if (each_pid(cg, ctrl, kill_pid) <= 0 || settled) {
      break;
    }
    if (frozen) {
      /* v1 retries a freeze that met a member in a system call. */
      (void)write_file(dir, "freezer.state", "FROZEN");
    }
  }
  if (frozen) {
    (void)write_file(dir, "freezer.state", "THAWED");
  }
}

/* Freezes the group (v1 freezer, v2 cgroup.freeze): its members can
 * neither fork nor exit until thawed, so pids read meanwhile stay theirs.
 * 1 when frozen (thaw after), 0 when it cannot be. */
static int freeze(const hcs__cgroup_t *cg, int on) {
  char dir[512];
  group_dir(cg, cg->v2 ? NULL : "freezer", dir, sizeof(dir));
  return cg->v2
             ? write_file(dir, "cgroup.freeze", on ? "1" : "0") == 0
             : write_file(dir, "freezer.state", on ? "FROZEN" : "THAWED") == 0;
}

int hcs__cgroup_frozen(const hcs__cgroup_t *cg) {
  char dir[512], buf[256];
  group_dir(cg, cg->v2 ? NULL : "freezer", dir, sizeof(dir));
  if (read_file(dir, cg->v2 ? "cgroup.events" : "freezer.state", buf,
                sizeof(buf)) != 0) {
    return 0;
  }
  return cg->v2 ? strstr(buf, "frozen 1") != NULL
                : strncmp(buf, "FROZEN", 6) == 0;
}

int hcs__cgroup_freeze(const hcs__cgroup_t *cg, int on) {
  char dir[512];
  group_dir(cg, cg->v2 ? NULL : "freezer", dir, sizeof(dir));
  int e = cg->v2 ? write_file(dir, "cgroup.freeze", on ? "1" : "0")
                 : write_file(dir, "freezer.state", on ? "FROZEN" : "THAWED");
  /* Freezing settles once every member has stopped (FREEZING, then
   * FROZEN on v1; "frozen 1" in cgroup.events on v2). */
  for (int i = 0; e == 0 && hcs__cgroup_frozen(cg) != on; i++) {
    if (i == 2000) {
      return -ETIMEDOUT;
    }
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, NULL);
    if (!cg->v2 && on) {
      /* v1 retries a freeze that met a member in a system call. */
      e = write_file(dir, "freezer.state", "FROZEN");
    }
  }
  return e;
}

enum { TREE_MAX = 4096 };

int hcs__cgroup_kill_tree(hcs__cgroup_t *cg, pid_t top) {
  /* A group frozen already (paused) stays so. */
  int frozen = !hcs__cgroup_frozen(cg) && freeze(cg, 1);
  char dir[512], path[1024];
  group_dir(cg, cg->list, dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  FILE *f = fopen(path, "re");
  pid_t *pid = as_calloc(TREE_MAX, sizeof(pid_t));
  pid_t *ppid = as_calloc(TREE_MAX, sizeof(pid_t));
  char *in = as_calloc(TREE_MAX, 1);
  int n = 0, killed = 0;
  long v;
  while (f != NULL && pid != NULL && ppid != NULL && in != NULL &&
         n < TREE_MAX && fscanf(f, "%ld", &v) == 1) {
    pid[n] = (pid_t)v;
    ppid[n] = (pid_t)hcs__proc_stat_field(pid[n], 4); /* ppid */
    in[n] = pid[n] == top;
    n++;
  }
  if (f != NULL) {
    fclose(f);
  }
  /* The members whose chain of parents reaches top: a fixed point, the
   * group being small and frozen. */
  for (int grew = 1; grew;) {
    grew = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n && !in[i]; j++) {
        if (in[j] && ppid[i] == pid[j]) {
          in[i] = grew = 1;
        }
      }
    }
  }
  for (int i = 0; i < n; i++) {
    /* Frozen members cannot exit, so each pid is still its member's. top
     * goes with the rest: thawed before its children, it would see them
     * die and exit with a code of its own. */
    if (in[i] && kill(pid[i], SIGKILL) == 0) {
      killed++;
    }
  }
  as_free(pid);
  as_free(ppid);
  as_free(in);
  if (frozen) {
    (void)freeze(cg, 0);
  }
  return killed;
}

int hcs__cgroup_count(const hcs__cgroup_t *cg) {
  return each_pid(cg, cg->list, NULL);
}

void hcs__cgroup_destroy(hcs__cgroup_t *cg) {
  for (int i = 0; i < cg->nprocs; i++) {
    close(cg->procs[i]);
    cg->procs[i] = -1;
  }
  cg->nprocs = 0;
  if (cg->id[0] == '\0') {
    return;
  }
  for (const char *const *c = cg->v2 ? v2_one : v1_ctrls; *c != NULL; c++) {
    char dir[512];
    group_dir(cg, *c, dir, sizeof(dir));
    /* A member that was just killed may take a moment to leave: a few
     * short tries, on the rare path where a system stopped with it. */
    for (int i = 0; i < 50 && rmdir(dir) != 0 && errno == EBUSY; i++) {
      struct timespec ts = {0, 2 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  cg->id[0] = '\0';
}
