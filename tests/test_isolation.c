/* SPDX-License-Identifier: MIT */
/* Attacks from inside a container, each run for real as root in a real
 * container: what a hostile process of the container tries, and what it
 * must not get (the engine's memory, the host's /proc, sysctls, devices,
 * network, the image under it). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hcs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_ct_util.h"

static void iso_setup(void) {
  ct_setup();
  char p[1024];
  snprintf(p, sizeof(p), "%s/root/bin/procspy", base);
  copy_file(HCS_TEST_HELPERS_DIR "/procspy", p, 0755);
}

TestSuite(isolation, .init = iso_setup, .fini = ct_teardown, .timeout = 180);

/* Starts args in the system with stdout as a pipe; returns its fd. */
static int start_in(hcs_t *h, const char *id, const char *const *args,
                    uint32_t *pid) {
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = args;
  int out = -1;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, id, false, true, false, &pp,
                                                pid, NULL, &out, NULL, &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
  return out;
}

static void read_all(int fd, char *buf, size_t n) {
  size_t got = 0;
  ssize_t r;
  while (got < n - 1 && (r = read(fd, buf + got, n - 1 - got)) > 0) {
    got += (size_t)r;
  }
  buf[got] = '\0';
  close(fd);
}

/* The exec path's child shares the engine's memory and fd table between
 * its clone and its execve, already in the container's pid namespace. A
 * process of the container that polls the next pids must never get a
 * handle on it (or on init, a fork of the engine): not its memory, not
 * its executable (the host's binary, CVE-2019-5736), not its environment
 * or maps. */
Test(isolation, engine_memory_is_out_of_reach) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "spy", "");
  const char *spy_args[] = {"/bin/procspy", "150000", NULL};
  uint32_t spy_pid;
  int spy_out = start_in(h, "spy", spy_args, &spy_pid);
  const char *true_args[] = {"/bin/true", NULL};
  char seen_path[1024];
  snprintf(seen_path, sizeof(seen_path), "%s/root/tmp/procspy.seen", base);
  /* At least 400 execs, and on until the spy has seen 50 of them come
   * and go (a loaded machine gives it less time), within 20,000. */
  for (int i = 0; i < 20000; i++) {
    if (i >= 400 && i % 100 == 0) {
      FILE *f = fopen(seen_path, "re");
      int so_far = 0;
      if (f != NULL && fscanf(f, "%d", &so_far) != 1) {
        so_far = 0;
      }
      if (f != NULL) {
        fclose(f);
      }
      if (so_far >= 50) {
        break;
      }
    }
    uint32_t pid;
    int out = start_in(h, "spy", true_args, &pid);
    close(out);
    hcs_process_result_t r;
    cr_assert_eq(hcs_WaitForProcessResult(h, "spy", pid, 10000, &r, NULL),
                 HCS_OK);
    cr_assert_eq(r.exit_code, 0);
  }
  char p[1024];
  snprintf(p, sizeof(p), "%s/root/tmp/procspy.stop", base);
  put(p, "");
  char text[1024];
  read_all(spy_out, text, sizeof(text));
  hcs_process_result_t r;
  cr_assert_eq(hcs_WaitForProcessResult(h, "spy", spy_pid, 20000, &r, NULL),
               HCS_OK);
  int hits = -1, seen = -1;
  cr_assert_eq(sscanf(text, "hits %d seen %d", &hits, &seen), 2, "%s", text);
  cr_assert_eq(hits, 0, "a container process reached host code: %s", text);
  /* The spy did watch: it saw execs come and go (before the fix it caught
   * the spawn child in 178 of 384 it saw). */
  cr_assert_geq(seen, 20, "%s", text);
  /* init is a fork of the engine: its executable is the host's. */
  out_t o;
  run_in(h, "spy",
         "cat /proc/1/exe > /dev/null 2>&1 && echo exe; "
         "cat /proc/1/environ > /dev/null 2>&1 && echo environ; "
         "cat /proc/1/maps > /dev/null 2>&1 && echo maps; "
         "readlink /proc/1/fd/0 > /dev/null 2>&1 && echo fd; echo end",
         NULL, &o);
  cr_assert_str_eq(o.text, "end\n");
  stop_system(h, "spy");
  hcs_close(h);
}

/* Host-wide knobs under /proc are read-only and the host kernel's private
 * files are covered (Docker's default masked and read-only paths). */
Test(isolation, proc_is_masked_and_read_only) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "proc", "");
  out_t o;
  run_in(h, "proc",
         "exec 2>/dev/null; "
         "echo 50 > /proc/sys/fs/lease-break-time && echo wrote-sysctl; "
         "(echo x > /proc/sys/kernel/core_pattern) && echo wrote-core-pattern; "
         "[ -e /proc/sysrq-trigger ] && echo h > /proc/sysrq-trigger && "
         "echo wrote-sysrq; "
         "for f in kcore keys timer_list sched_debug; do "
         "cat /proc/$f | busybox wc -c; done; "
         "grep -c . /proc/self/status > /dev/null && echo proc-works; "
         "echo 1 > /sys/kernel/profiling && echo wrote-sys; "
         "ls /sys/firmware | busybox wc -l",
         NULL, &o);
  cr_assert_str_eq(o.text, "0\n0\n0\n0\nproc-works\n0\n", "%s", o.text);
  /* The host's own view still has them (the test saw something real). */
  cr_assert_eq(access("/proc/timer_list", R_OK), 0);
  char buf[64] = "";
  int fd = open("/proc/sys/fs/lease-break-time", O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  cr_assert_gt(read(fd, buf, sizeof(buf) - 1), 0);
  close(fd);
  cr_assert_neq(atoi(buf), 50, "the host's sysctl was written");
  stop_system(h, "proc");
  hcs_close(h);
}

/* The default seccomp filter: no new user, mount or pid namespace, no
 * mount, no keyring, no kernel modules, while ordinary work goes on; a
 * system may opt out ("unconfined") or bring a profile of its own. */
Test(isolation, default_seccomp_filter) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "sc", "");
  out_t o;
  run_in(h, "sc",
         "busybox unshare -r -m -p -f busybox mount -t proc proc /tmp "
         "2>/dev/null && echo escaped; "
         "busybox unshare -n true 2>/dev/null && echo unshared; "
         "busybox mount -t tmpfs t /tmp 2>/dev/null && echo mounted; "
         "grep Seccomp: /proc/self/status; echo ok | busybox wc -c",
         NULL, &o);
  cr_assert_str_eq(o.text, "Seccomp:\t2\n3\n", "%s", o.text);
  stop_system(h, "sc");

  start_system(h, "scu", ",\"SeccompProfile\":\"unconfined\"");
  run_in(h, "scu", "grep Seccomp: /proc/self/status", NULL, &o);
  cr_assert_str_eq(o.text, "Seccomp:\t0\n", "%s", o.text);
  stop_system(h, "scu");

  /* Everything allowed but mkdir, refused with EACCES. */
  start_system(h, "scp",
               ",\"SeccompProfile\":\"{\\\"defaultAction\\\":"
               "\\\"SCMP_ACT_ALLOW\\\",\\\"syscalls\\\":[{\\\"names\\\":["
               "\\\"mkdir\\\",\\\"mkdirat\\\"],\\\"action\\\":"
               "\\\"SCMP_ACT_ERRNO\\\",\\\"errnoRet\\\":13}]}\"");
  run_in(h, "scp", "mkdir /tmp/d 2>&1; echo ok", NULL, &o);
  cr_assert_not_null(strstr(o.text, "Permission denied"), "%s", o.text);
  stop_system(h, "scp");

  /* A profile that does not compile is refused at create, by name. */
  hcs_error_t *err = NULL;
  char cfg[2048];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\","
           "\"SeccompProfile\":\"{\\\"defaultAction\\\":\\\"SCMP_ACT_NOPE\\\""
           "}\"}",
           base);
  cr_assert_eq(hcs_CreateComputeSystem(h, "bad", cfg, &err), HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_message(err), "SeccompProfile"), "%s",
                     hcs_error_message(err));
  hcs_error_free(err);
  hcs_close(h);
}

/* The host's service: answers the first connection within 60 s with a
 * line, then closes. */
static void *serve_once(void *arg) {
  int srv = *(int *)arg;
  struct pollfd p = {.fd = srv, .events = POLLIN};
  if (poll(&p, 1, 60000) == 1) {
    int c = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) {
      (void)!write(c, "from-host\n", 10);
      close(c);
    }
  }
  return NULL;
}

/* Without endpoints a system has a network of its own with only loopback:
 * no host interfaces, no host loopback services. HostNetwork asks for
 * the host's. */
Test(isolation, own_network_namespace_unless_asked) {
  /* A service of the host's on its loopback, which the system tries. */
  int srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(srv, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sa);
  cr_assert_eq(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(srv, 8), 0);
  cr_assert_eq(getsockname(srv, (struct sockaddr *)&sa, &sl), 0);
  pthread_t server;
  cr_assert_eq(pthread_create(&server, NULL, serve_once, &srv), 0);
  hcs_t *h = open_hcs(NULL);
  start_system(h, "net", "");
  out_t o;
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           "busybox cat /proc/net/dev | busybox tail -n +3 | "
           "busybox cut -d: -f1 | busybox tr -d ' '; "
           "busybox ping -c 1 -W 1 127.0.0.1 > /dev/null 2>&1 && echo lo-up; "
           "busybox nc 127.0.0.1 %d < /dev/null 2>/dev/null",
           (int)ntohs(sa.sin_port));
  run_in(h, "net", cmd, NULL, &o);
  cr_assert_str_eq(o.text, "lo\nlo-up\n", "%s", o.text);
  stop_system(h, "net");
  start_system(h, "hnet", ",\"HostNetwork\":true");
  char self[4096] = "";
  FILE *f = fopen("/proc/net/dev", "re");
  cr_assert_not_null(f);
  size_t n = fread(self, 1, sizeof(self) - 1, f);
  fclose(f);
  self[n] = '\0';
  /* The attack above is real: on the host's network it gets through. */
  run_in(h, "hnet", cmd, NULL, &o);
  cr_assert_not_null(strstr(o.text, "from-host"), "%s", o.text);
  pthread_join(server, NULL);
  close(srv);
  run_in(h, "hnet", "busybox cat /proc/net/dev", NULL, &o);
  /* The same interfaces, counters aside: compare the names. */
  for (char *line = strchr(self, '\n'); line != NULL && line[1] != '\0';
       line = strchr(line + 1, '\n')) {
    char name[64];
    if (sscanf(line + 1, " %63[^:]:", name) == 1 && strstr(name, "|") == NULL) {
      cr_assert_not_null(strstr(o.text, name), "%s missing: %s", name, o.text);
    }
  }
  stop_system(h, "hnet");
  hcs_close(h);
}

/* Only Docker's default devices open (less /dev/console: hcs gives none,
 * so the host's would be the one reached); the cgroup namespace shows
 * the system its own group as the root. */
Test(isolation, devices_and_cgroup_namespace) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "dev", "");
  out_t o;
  run_in(h, "dev",
         "cd /tmp; busybox mknod console c 5 1 && busybox mknod mem c 1 1 && "
         "busybox mknod vda b 254 0 && busybox mknod loop0 b 7 0 && "
         "echo made; for d in console mem vda loop0; do "
         "cat $d > /dev/null 2>&1 < /dev/null && echo opened-$d; done; "
         "echo x > /dev/null && head -c 4 /dev/zero | busybox wc -c; "
         "grep -v ':/$' /proc/self/cgroup | busybox wc -l",
         NULL, &o);
  cr_assert_str_eq(o.text, "made\n4\n0\n", "%s", o.text);
  stop_system(h, "dev");
  hcs_close(h);
}

/* A read-only mapped directory is read-only all the way down: a mount
 * under its host directory too. */
Test(isolation, read_only_mapping_is_recursive) {
  char ro[1024], sub[1100], extra[2048];
  snprintf(ro, sizeof(ro), "%s/ro", base);
  snprintf(sub, sizeof(sub), "%s/ro/sub", base);
  cr_assert_eq(mkdir(ro, 0755), 0);
  cr_assert_eq(mkdir(sub, 0755), 0);
  cr_assert_eq(mount("tmpfs", sub, "tmpfs", 0, "size=64k"), 0, "%s",
               strerror(errno));
  hcs_t *h = open_hcs(NULL);
  snprintf(extra, sizeof(extra),
           ",\"MappedDirectories\":[{\"HostPath\":\"%s\",\"ContainerPath\":"
           "\"/data\",\"ReadOnly\":true}]",
           ro);
  start_system(h, "rro", extra);
  out_t o;
  run_in(h, "rro",
         "touch /data/top 2>/dev/null && echo wrote-top; "
         "touch /data/sub/below 2>/dev/null && echo wrote-sub; "
         "ls /data; echo end",
         NULL, &o);
  cr_assert_str_eq(o.text, "sub\nend\n", "%s", o.text);
  stop_system(h, "rro");
  hcs_close(h);
  cr_assert_eq(umount2(sub, MNT_DETACH), 0);
}

/* A container's program starts with every signal at its default, even
 * those the host process ignores (here SIGHUP and SIGINT, as under nohup
 * or in a background job). */
Test(isolation, signals_start_at_their_defaults) {
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  hcs_t *h = open_hcs(NULL);
  start_system(h, "sig", "");
  out_t o;
  run_in(h, "sig", "exec grep SigIgn /proc/self/status", NULL, &o);
  cr_assert_str_eq(o.text, "SigIgn:\t0000000000000000\n", "%s", o.text);
  stop_system(h, "sig");
  hcs_close(h);
}
