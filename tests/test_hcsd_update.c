/* SPDX-License-Identifier: MIT */
/* docker update through the real docker CLI: the limits of a running
 * container changed in its cgroups at once (memory, swap, cpus, shares,
 * pids, cpuset) and kept in inspect; a pids limit that bites right after
 * the update; a stopped container's limits applied at its next start;
 * --restart stored as HostConfig.RestartPolicy; the fields hcsd does not
 * honour refused by flag, and dockerd's refusals of bad values. One
 * daemon per test (hcsd_e2e.h). */
#include "hcsd_cgroup.h"

TestSuite(hcsd_update, .init = he_setup, .fini = he_teardown, .timeout = 240);

static void expect_cgroup(int pid, const char *ctrl, const char *file,
                          const char *want) {
  char v[128];
  cr_assert(cgroup_v1_read(pid, ctrl, file, v, sizeof(v)),
            "pid %d has no %s group with %s", pid, ctrl, file);
  cr_assert_str_eq(v, want, "%s/%s", ctrl, file);
}

static int main_pid(const char *name) {
  char pid[32];
  he_docker_line(pid, sizeof(pid), "inspect", "-f", "{{.State.Pid}}", name);
  return atoi(pid);
}

static void expect_inspect(const char *name, const char *fmt,
                           const char *want) {
  char v[256];
  he_docker_line(v, sizeof(v), "inspect", "-f", fmt, name);
  cr_assert_str_eq(v, want, "%s of %s", fmt, name);
}

static void skip_without_v1(void) {
  static const char *const need[] = {
      "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
      "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/pids",
      "/sys/fs/cgroup/cpuset/cpuset.cpus"};
  for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
    if (access(need[i], F_OK) != 0) {
      cr_skip_test("no cgroup v1 hierarchy with %s", need[i]);
    }
  }
}

/* Every honoured limit of a running container, changed at once: the
 * cgroup files (pids and cpu, which it did not join at start, included:
 * its processes are moved there) and inspect. */
Test(hcsd_update, running_container_limits_change_in_place) {
  skip_without_v1();
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "u", "--memory", "32m", "busybox",
               "sleep", "600");
  he_cmd_free(&c);
  int pid = main_pid("u");
  expect_cgroup(pid, "memory", "memory.limit_in_bytes", "33554432");
  he_docker_ok(&c, "update", "--memory", "64m", "--memory-swap", "128m",
               "--memory-reservation", "16m", "--cpus", "0.5", "--cpu-shares",
               "512", "--pids-limit", "50", "--cpuset-cpus", "0", "u");
  cr_assert_str_eq(c.o.p, "u\n");
  he_cmd_free(&c);
  expect_cgroup(pid, "memory", "memory.limit_in_bytes", "67108864");
  expect_cgroup(pid, "memory", "memory.memsw.limit_in_bytes", "134217728");
  expect_cgroup(pid, "memory", "memory.soft_limit_in_bytes", "16777216");
  expect_cgroup(pid, "pids", "pids.max", "50");
  expect_cgroup(pid, "cpuset", "cpuset.cpus", "0");
  char quota[64], period[64], shares[64];
  cr_assert(cgroup_v1_read(pid, "cpu", "cpu.cfs_quota_us", quota, 64));
  cr_assert(cgroup_v1_read(pid, "cpu", "cpu.cfs_period_us", period, 64));
  cr_assert_eq(atoll(quota) * 2, atoll(period), "quota %s period %s", quota,
               period);
  cr_assert(cgroup_v1_read(pid, "cpu", "cpu.shares", shares, 64));
  cr_assert(llabs(atoll(shares) - 512) <= 27, "cpu.shares %s", shares);
  expect_inspect("u",
                 "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} "
                 "{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} "
                 "{{.HostConfig.PidsLimit}} {{.HostConfig.CpusetCpus}}",
                 "67108864 134217728 500000000 512 50 0");
  /* An exec lands in the new groups too. */
  he_docker_ok(&c, "exec", "u", "grep", "Cpus_allowed_list",
               "/proc/self/status");
  he_expect_has(c.o.p, "\t0\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "u");
  he_cmd_free(&c);
  he_end();
}

/* A pids limit set by update bites the next forks at once. */
Test(hcsd_update, pids_limit_bites_after_update) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "p", "busybox", "sleep", "600");
  he_cmd_free(&c);
  const char *script = "for i in $(seq 20); do sleep 5 & done; wait; "
                       "echo done";
  he_docker_ok(&c, "update", "--pids-limit", "6", "p");
  he_cmd_free(&c);
  he_docker(&c, "exec", "p", "sh", "-c", script);
  cr_assert_neq(c.code, 0, "20 forks went through the limit of 6");
  he_expect_has(c.e.p, "can't fork");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "p");
  he_cmd_free(&c);
  he_end();
}

/* A stopped container's update is kept and applied at its start. */
Test(hcsd_update, stopped_container_gets_its_limits_at_start) {
  skip_without_v1();
  he_cmd_t c;
  he_docker_ok(&c, "create", "--name", "s", "busybox", "sleep", "600");
  he_cmd_free(&c);
  he_docker_ok(&c, "update", "--memory", "48m", "--memory-swap", "-1",
               "--pids-limit", "40", "s");
  he_cmd_free(&c);
  he_docker_ok(&c, "start", "s");
  he_cmd_free(&c);
  int pid = main_pid("s");
  expect_cgroup(pid, "memory", "memory.limit_in_bytes", "50331648");
  expect_cgroup(pid, "pids", "pids.max", "40");
  expect_inspect("s", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}",
                 "50331648 -1");
  he_docker_ok(&c, "rm", "-f", "s");
  he_cmd_free(&c);
  he_end();
}

/* --restart is stored as HostConfig.RestartPolicy (restart.c acts on
 * it); with --rm it is refused as dockerd refuses it. */
Test(hcsd_update, restart_policy_is_stored) {
  he_cmd_t c;
  he_docker_ok(&c, "create", "--name", "r", "busybox", "true");
  he_cmd_free(&c);
  he_docker_ok(&c, "update", "--restart", "on-failure:3", "r");
  he_cmd_free(&c);
  expect_inspect("r",
                 "{{.HostConfig.RestartPolicy.Name}} "
                 "{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
                 "on-failure 3");
  he_docker_ok(&c, "update", "--restart", "always", "r");
  he_cmd_free(&c);
  expect_inspect("r", "{{.HostConfig.RestartPolicy.Name}}", "always");
  he_docker_ok(&c, "create", "--rm", "--name", "ar", "busybox", "true");
  he_cmd_free(&c);
  he_docker_fails(1, "AutoRemove is enabled", "update", "--restart", "always",
                  "ar");
  he_docker_ok(&c, "rm", "r", "ar");
  he_cmd_free(&c);
  he_end();
}

/* What hcsd does not honour is refused by flag, and bad values as
 * dockerd refuses them; nothing is stored. */
Test(hcsd_update, refusals_name_the_flag) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "x", "--memory", "64m",
               "--memory-swap", "96m", "busybox", "sleep", "600");
  he_cmd_free(&c);
  he_docker_fails(1, "hcsd does not support docker update --blkio-weight",
                  "update", "--blkio-weight", "300", "x");
  he_docker_fails(1, "--cpu-period", "update", "--cpu-period", "50000", "x");
  he_docker_fails(1,
                  "Memory limit should be smaller than already set "
                  "memoryswap limit",
                  "update", "--memory", "128m", "x");
  he_docker_fails(1, "Minimum memory limit allowed is 6MB", "update",
                  "--memory", "1m", "--memory-swap", "2m", "x");
  he_docker_fails(1, "Requested CPUs are not available", "update",
                  "--cpuset-cpus", "4095", "x");
  he_docker_fails(1, "No such container", "update", "--memory", "64m",
                  "nosuch");
  expect_inspect("x", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}",
                 "67108864 100663296");
  he_docker_ok(&c, "rm", "-f", "x");
  he_cmd_free(&c);
  he_end();
}
