/* SPDX-License-Identifier: MIT */
/* Compute systems with isolation, driven through the public API as root:
 * each test builds a busybox root, starts a system on it and checks the
 * effect from inside (what its processes see) and from outside (the
 * host's files, the engine's results). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <hcs.h>
#include <jansson.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "test_ct_util.h"

TestSuite(container, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

Test(container, hostname_pid1_and_process_list) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "ns", "");
  out_t o;
  run_in(h, "ns", "hostname; echo $$; ps -o pid,comm | wc -l; cat /proc/1/comm",
         NULL, &o);
  cr_assert_eq(o.r.exit_code, 0, "%s", o.text);
  char host[64];
  int pid = 0, lines = 0;
  char comm[64];
  cr_assert_eq(sscanf(o.text, "%63s %d %d %63s", host, &pid, &lines, comm), 4,
               "%s", o.text);
  cr_assert_str_eq(host, "box-ns");
  cr_assert_eq((uint32_t)pid, o.pid, "the pid given is the system's own");
  cr_assert_lt(pid, 100, "a private pid namespace numbers from 1");
  /* header, init, sh, ps, wc: nothing of the host */
  cr_assert_leq(lines, 5, "%s", o.text);
  cr_assert_str_eq(comm, "hcs-init");
  stop_system(h, "ns");
  hcs_close(h);
}

Test(container, mapped_directories) {
  hcs_t *h = open_hcs(NULL);
  char rw[1024], ro[1024], extra[2048], path[1200];
  snprintf(rw, sizeof(rw), "%s/rw", base);
  snprintf(ro, sizeof(ro), "%s/ro", base);
  mkdir(rw, 0755);
  mkdir(ro, 0755);
  snprintf(extra, sizeof(extra),
           ",\"MappedDirectories\":[{\"HostPath\":\"%s\",\"ContainerPath\":"
           "\"/data/rw\"},{\"HostPath\":\"%s\",\"ContainerPath\":\"/data/"
           "ro\",\"ReadOnly\":true}]",
           rw, ro);
  start_system(h, "md", extra);
  out_t o;
  run_in(h, "md", "echo written > /data/rw/file && cat /data/rw/file", NULL,
         &o);
  cr_assert_eq(o.r.exit_code, 0, "%s", o.text);
  snprintf(path, sizeof(path), "%s/file", rw);
  char buf[64] = {0};
  int fd = open(path, O_RDONLY);
  cr_assert_geq(fd, 0, "the write did not reach the host");
  cr_assert_gt(read(fd, buf, sizeof(buf) - 1), 0);
  close(fd);
  cr_assert_str_eq(buf, "written\n");
  run_in(h, "md", "touch /data/ro/nope", NULL, &o);
  cr_assert_neq(o.r.exit_code, 0, "a read-only mapping took a write");
  cr_assert_not_null(strstr(o.text, "Read-only"), "%s", o.text);
  snprintf(path, sizeof(path), "%s/nope", ro);
  cr_assert_neq(access(path, F_OK), 0);
  stop_system(h, "md");
  hcs_close(h);
}

Test(container, memory_limit_kills_and_reports) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "mem", ",\"MemoryMaximumInMB\":32");
  out_t o;
  run_in(h, "mem", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done", NULL, &o);
  cr_assert_eq(o.r.exit_code, 137, "%s", o.text);
  cr_assert_eq(o.r.signal, 9);
  cr_assert(o.r.oom_killed, "the kill was not reported as the OOM killer's");
  /* The system survives its hog. */
  run_in(h, "mem", "echo alive", NULL, &o);
  cr_assert_str_eq(o.text, "alive\n");
  cr_assert(!o.r.oom_killed);
  stop_system(h, "mem");
  hcs_close(h);
}

Test(container, pids_limit_stops_a_fork_bomb) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "pids", ",\"PidsMaximum\":16");
  out_t o;
  /* The shell may die of its failed forks; the sleeps it made stay. */
  run_in(h, "pids",
         "for i in $(seq 64); do sleep 30 >/dev/null 2>&1 & done 2>/dev/null",
         NULL, &o);
  /* Counted from the host: the system cannot fork even to count. */
  char *json = NULL;
  cr_assert_eq(hcs_InspectComputeSystem(h, "pids", &json, NULL), HCS_OK);
  json_t *j = json_loads(json, 0, NULL);
  const char *cg = json_string_value(json_object_get(j, "Cgroup"));
  cr_assert_not_null(cg, "%s", json);
  char files[2][1024];
  snprintf(files[0], sizeof(files[0]), "/sys/fs/cgroup/pids/%s/pids.current",
           cg);
  snprintf(files[1], sizeof(files[1]), "/sys/fs/cgroup/%s/pids.current", cg);
  json_decref(j);
  hcs_free(json);
  int procs = -1;
  for (int i = 0; i < 2 && procs < 0; i++) {
    FILE *f = fopen(files[i], "re");
    if (f != NULL) {
      cr_assert_eq(fscanf(f, "%d", &procs), 1);
      fclose(f);
    }
  }
  cr_assert_gt(procs, 8, "the sleeps did not start: %d", procs);
  cr_assert_leq(procs, 16, "more processes than the limit: %d", procs);
  /* The host is unharmed: it still starts processes. */
  cr_assert_eq(system("true"), 0);
  stop_system(h, "pids");
  hcs_close(h);
}

Test(container, fds_capabilities_and_privileges) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "caps", "");
  out_t o;
  run_in(h, "caps", "/bin/fdlist", NULL, &o);
  cr_assert_str_eq(o.text, "0\n1\n2\n", "fds leaked into the system: %s",
                   o.text);
  /* Inheritable empty and the bounding set the container's own
   * (CVE-2022-29162 class); file_caps_and_setuid_gain_nothing shows that
   * nothing outside the default set can be gained. */
  run_in(h, "caps",
         "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' "
         "/proc/self/status",
         NULL, &o);
  cr_assert_not_null(strstr(o.text, "CapInh:\t0000000000000000"), "%s", o.text);
  cr_assert_not_null(strstr(o.text, "CapBnd:\t00000000a80425fb"), "%s", o.text);
  cr_assert_not_null(strstr(o.text, "CapPrm:\t00000000a80425fb"), "%s", o.text);
  cr_assert_not_null(strstr(o.text, "CapEff:\t00000000a80425fb"), "%s", o.text);
  cr_assert_not_null(strstr(o.text, "CapAmb:\t0000000000000000"), "%s", o.text);
  cr_assert_not_null(strstr(o.text, "NoNewPrivs:\t1"), "%s", o.text);
  /* The working directory is the system's root, not the engine's. */
  run_in(h, "caps", "pwd -P; ls -d ./bin/busybox", NULL, &o);
  cr_assert_str_eq(o.text, "/\n./bin/busybox\n");
  run_in(h, "caps", "id -u; id -g; grep -E '^Cap(Inh|Eff)' /proc/self/status",
         "user", &o);
  cr_assert_str_eq(
      o.text,
      "1000\n1000\nCapInh:\t0000000000000000\nCapEff:\t0000000000000000\n");
  stop_system(h, "caps");
  hcs_close(h);
}

/* A copy of busybox at root/dir/busybox. */
static void copy_busybox(const char *dir, mode_t mode) {
  char p[1024];
  snprintf(p, sizeof(p), "%s/root/%s", base, dir);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/root/%s/busybox", base, dir);
  copy_file("/bin/busybox", p, 0755);
  cr_assert_eq(chmod(p, mode), 0); /* after the copy: set-user-ID survives */
}

/* A binary with file capabilities (CAP_SYS_ADMIN, CAP_SYS_MODULE,
 * effective) gives nobody anything, and a set-user-ID root binary does not
 * make a user root. */
Test(container, file_caps_and_setuid_gain_nothing) {
  copy_busybox("fcap", 0755);
  copy_busybox("suid", 04755);
  char p[1024];
  snprintf(p, sizeof(p), "%s/root/fcap/busybox", base);
  struct vfs_cap_data cap;
  memset(&cap, 0, sizeof(cap));
  cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
  cap.data[0].permitted = (1U << CAP_SYS_ADMIN) | (1U << CAP_SYS_MODULE);
  if (setxattr(p, "security.capability", &cap, XATTR_CAPS_SZ_2, 0) != 0) {
    cr_skip_test("no file capabilities on this file system: %s",
                 strerror(errno));
  }
  hcs_t *h = open_hcs(NULL);
  start_system(h, "fc", "");
  out_t o;
  /* A binary whose effective file capabilities lie outside the bounding
   * set is not run at all (EPERM from execve, as under Docker), for root
   * and for another user alike. */
  run_in(h, "fc", "/fcap/busybox grep -E '^Cap(Prm|Eff)' /proc/self/status",
         NULL, &o);
  cr_assert_eq(o.r.exit_code, 126, "%s", o.text);
  cr_assert_not_null(strstr(o.text, "Operation not permitted"), "%s", o.text);
  run_in(h, "fc", "/fcap/busybox grep -E '^Cap(Prm|Eff)' /proc/self/status",
         "user", &o);
  cr_assert_eq(o.r.exit_code, 126, "%s", o.text);
  run_in(h, "fc",
         "/suid/busybox id -u; /suid/busybox grep CapEff /proc/self/status",
         "user", &o);
  cr_assert_str_eq(o.text, "1000\nCapEff:\t0000000000000000\n");
  stop_system(h, "fc");
  hcs_close(h);
}

Test(container, image_symlinks_do_not_reach_the_host) {
  hcs_t *h = open_hcs(NULL);
  char victim[1024], link[1024], dev[1024];
  snprintf(victim, sizeof(victim), "%s/victim", base);
  put(victim, "untouched\n");
  /* /dev/null in the image points at a host file: the system's /dev is
   * its own tmpfs, so writes go to the real null device. */
  snprintf(dev, sizeof(dev), "%s/root/dev", base);
  mkdir(dev, 0755);
  snprintf(link, sizeof(link), "%s/root/dev/null", base);
  cr_assert_eq(symlink(victim, link), 0);
  start_system(h, "sl", "");
  out_t o;
  run_in(h, "sl", "echo overwritten > /dev/null; ls -l /dev/null", NULL, &o);
  cr_assert_eq(o.r.exit_code, 0, "%s", o.text);
  cr_assert_eq(o.text[0], 'c', "not a character device: %s", o.text);
  stop_system(h, "sl");
  char buf[64] = {0};
  int fd = open(victim, O_RDONLY);
  cr_assert_gt(read(fd, buf, sizeof(buf) - 1), 0);
  close(fd);
  cr_assert_str_eq(buf, "untouched\n");
  /* /proc as a symlink to a host directory: refused, nothing mounted. */
  char proc[1024], target[1024];
  snprintf(proc, sizeof(proc), "%s/root/proc", base);
  rmdir(proc);
  snprintf(target, sizeof(target), "%s/target", base);
  mkdir(target, 0755);
  cr_assert_eq(symlink(target, proc), 0);
  char cfg[2048];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\"}", base);
  cr_assert_eq(hcs_CreateComputeSystem(h, "sp", cfg, NULL), HCS_OK);
  hcs_error_t *err = NULL;
  /* init refuses it while setting up: it dies during Start. */
  cr_assert_eq(hcs_StartComputeSystem(h, "sp", &err), HCS_E_UNEXPECTED_EXIT);
  hcs_error_free(err);
  char sub[1200];
  snprintf(sub, sizeof(sub), "%s/self", target);
  cr_assert_neq(access(sub, F_OK), 0, "proc was mounted on the host");
  cr_assert_eq(hcs_DeleteComputeSystem(h, "sp", NULL), HCS_OK);
  hcs_close(h);
}

Test(container, shutdown_with_and_without_timeout) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "sd", "");
  out_t o;
  run_in(h, "sd", "sleep 1000 >/dev/null 2>&1 &", NULL, &o);
  cr_assert_eq(hcs_ShutdownComputeSystem(h, "sd", 10000, "test", NULL), HCS_OK);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_ShutdownComputeSystem(h, "sd", 1000, NULL, &err),
               HCS_E_SYSTEM_ALREADY_STOPPED, "a stopped system");
  hcs_error_free(err);
  cr_assert_eq(hcs_TerminateComputeSystem(h, "sd", 1000, NULL, NULL),
               HCS_E_SYSTEM_ALREADY_STOPPED,
               "terminate after exit signals nothing");
  cr_assert_eq(hcs_DeleteComputeSystem(h, "sd", NULL), HCS_OK);

  /* A process that ignores SIGTERM: the shutdown times out, a second one
   * is already in progress, terminate ends it. */
  start_system(h, "st", "");
  run_in(h, "st", "trap '' TERM; sleep 1000 >/dev/null 2>&1 &", NULL, &o);
  /* It says when its trap is set, so the shutdown cannot beat it. */
  const char *args[] = {
      "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done",
      NULL};
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = args;
  uint32_t pid;
  int ready = -1;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "st", false, true, false,
                                                &pp, &pid, NULL, &ready, NULL,
                                                NULL),
               HCS_OK);
  char word[8] = {0};
  cr_assert_eq(read(ready, word, 6), 6);
  cr_assert_str_eq(word, "ready\n");
  close(ready);
  hcs_result_t sr = hcs_ShutdownComputeSystem(h, "st", 300, NULL, &err);
  cr_assert_eq(sr, HCS_WAIT_TIMEOUT, "0x%x: %s", (unsigned)sr,
               err != NULL ? hcs_error_message(err) : "");
  hcs_error_free(err);
  cr_assert_eq(hcs_ShutdownComputeSystem(h, "st", 300, NULL, &err),
               HCS_ERROR_SHUTDOWN_IN_PROGRESS);
  hcs_error_free(err);
  cr_assert_eq(hcs_TerminateComputeSystem(h, "st", 10000, NULL, NULL), HCS_OK);
  int32_t code;
  cr_assert_eq(
      hcs_WaitForProcessInComputeSystem(h, "st", pid, 5000, &code, NULL),
      HCS_OK);
  cr_assert_eq(code, 137, "code %d", code);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "st", NULL), HCS_OK);
  hcs_close(h);
}

Test(container, restart_and_reattach) {
  char state[1024];
  snprintf(state, sizeof(state), "%s/state", base);
  hcs_t *h = open_hcs(state);
  start_system(h, "ra", "");
  out_t o;
  run_in(h, "ra", "sleep 1000 >/dev/null 2>&1 & echo $!", NULL, &o);
  int sleeper = atoi(o.text);
  hcs_close(h); /* the system keeps running */

  h = open_hcs(state);
  char *json = NULL;
  cr_assert_eq(hcs_InspectComputeSystem(h, "ra", &json, NULL), HCS_OK);
  json_t *j = json_loads(json, 0, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(j, "State")), "Running",
                   "%s", json);
  json_decref(j);
  hcs_free(json);
  run_in(h, "ra", "kill -0 $0 && echo still", NULL, &o);
  (void)sleeper;
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "kill -0 %d && echo still", sleeper);
  run_in(h, "ra", cmd, NULL, &o);
  cr_assert_str_eq(o.text, "still\n", "the system's processes were lost");
  cr_assert_eq(hcs_TerminateComputeSystem(h, "ra", 10000, NULL, NULL), HCS_OK);
  hcs_close(h);

  /* A record whose init is gone is found stale and stopped. */
  h = open_hcs(state);
  cr_assert_eq(hcs_InspectComputeSystem(h, "ra", &json, NULL), HCS_OK);
  j = json_loads(json, 0, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(j, "State")), "Stopped",
                   "%s", json);
  json_decref(j);
  hcs_free(json);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "ra", NULL), HCS_OK);
  hcs_close(h);
}

typedef struct many_s {
  hcs_t *h;
  int ok;
  uint32_t pids[10];
} many_t;

static void *exec_ten(void *arg) {
  many_t *m = arg;
  for (int i = 0; i < 10; i++) {
    const char *args[] = {"true", NULL};
    hcs_process_params_t pp;
    memset(&pp, 0, sizeof(pp));
    pp.args = args;
    int32_t code = -1;
    if (hcs_CreateProcessInComputeSystem(m->h, "many", false, false, false, &pp,
                                         &m->pids[i], NULL, NULL, NULL,
                                         NULL) == HCS_OK &&
        hcs_WaitForProcessInComputeSystem(m->h, "many", m->pids[i], 30000,
                                          &code, NULL) == HCS_OK &&
        code == 0) {
      m->ok++;
    }
  }
  return NULL;
}

Test(container, hundred_concurrent_execs) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "many", "");
  many_t m[10];
  pthread_t t[10];
  for (int i = 0; i < 10; i++) {
    m[i] = (many_t){.h = h};
    cr_assert_eq(pthread_create(&t[i], NULL, exec_ten, &m[i]), 0);
  }
  int ok = 0;
  for (int i = 0; i < 10; i++) {
    pthread_join(t[i], NULL);
    ok += m[i].ok;
  }
  cr_assert_eq(ok, 100);
  stop_system(h, "many");
  hcs_close(h);
}

Test(container, console_is_the_systems_own_pty) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "tty", "");
  const char *args[] = {"sh", "-c", "stty size; tty", NULL};
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = args;
  pp.emulate_console = true;
  pp.console_size[0] = 31;
  pp.console_size[1] = 97;
  uint32_t pid;
  int in = -1, out = -1;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "tty", true, true, false,
                                                &pp, &pid, &in, &out, NULL,
                                                &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
  char text[256];
  size_t got = 0;
  ssize_t n;
  /* A console master reads EIO once the last slave closes: that is EOF. */
  while ((n = read(out, text + got, sizeof(text) - 1 - got)) > 0) {
    got += (size_t)n;
  }
  text[got] = '\0';
  close(in);
  close(out);
  int32_t code;
  cr_assert_eq(
      hcs_WaitForProcessInComputeSystem(h, "tty", pid, 10000, &code, NULL),
      HCS_OK);
  cr_assert_eq(code, 0, "%s", text);
  cr_assert_not_null(strstr(text, "31 97"), "%s", text);
  /* Its own devpts: the name resolves inside the system. */
  cr_assert_not_null(strstr(text, "/dev/pts/0"), "%s", text);
  stop_system(h, "tty");
  hcs_close(h);
}

/* A setup that fails in the system's init says which step and on what. */
Test(container, a_failed_setup_names_the_step_and_path) {
  hcs_t *h = open_hcs(NULL);
  char cfg[2048];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\","
           "\"MappedDirectories\":[{\"HostPath\":\"%s/no-such-dir\","
           "\"ContainerPath\":\"/data\"}]}",
           base, base);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateComputeSystem(h, "bad", cfg, &err), HCS_OK);
  cr_assert_neq(hcs_StartComputeSystem(h, "bad", &err), HCS_OK);
  const char *msg = hcs_error_message(err);
  cr_assert_not_null(strstr(msg, "MappedDirectories[0]"), "%s", msg);
  cr_assert_not_null(strstr(msg, "no-such-dir"), "%s", msg);
  cr_assert_not_null(strstr(msg, "No such file or directory"), "%s", msg);
  hcs_error_free(err);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "bad", NULL), HCS_OK);
  hcs_close(h);
}

/* Two programs without a state directory may use the same id at once:
 * each system's mount point is its own process's. */
Test(container, one_id_in_two_stateless_programs) {
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = fork();
    cr_assert_geq(kids[k], 0);
    if (kids[k] == 0) {
      int bad = 0;
      for (int round = 0; round < 20 && !bad; round++) {
        hcs_t *h = NULL;
        char cfg[1024];
        snprintf(cfg, sizeof(cfg),
                 "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\"}",
                 base);
        bad = hcs_open(&h, NULL, NULL) != HCS_OK ||
              hcs_CreateComputeSystem(h, "twin", cfg, NULL) != HCS_OK ||
              hcs_StartComputeSystem(h, "twin", NULL) != HCS_OK ||
              hcs_TerminateComputeSystem(h, "twin", 10000, NULL, NULL) !=
                  HCS_OK ||
              hcs_DeleteComputeSystem(h, "twin", NULL) != HCS_OK;
        if (h != NULL) {
          hcs_close(h);
        }
      }
      _exit(bad);
    }
  }
  for (int k = 0; k < 2; k++) {
    int st;
    cr_assert_eq(waitpid(kids[k], &st, 0), kids[k]);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "program %d failed", k);
  }
}
