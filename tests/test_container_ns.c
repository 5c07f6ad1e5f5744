/* SPDX-License-Identifier: MIT */
/* The hcs extension "Namespaces": a system's namespaces joined by path
 * (from a process the test holds in namespaces of its own) or shared with
 * the host, read back from inside its processes; and what cannot be,
 * refused by name. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hcs.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ns_hold.h"
#include "test_ct_util.h"

TestSuite(container_ns, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

/* Creates and starts id on base/root with the fields extra (no HostName:
 * a shared uts namespace takes none). */
static void start_bare(hcs_t *h, const char *id, const char *extra) {
  char cfg[4096];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\"%s}", base,
           extra);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateComputeSystem(h, id, cfg, &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
  cr_assert_eq(hcs_StartComputeSystem(h, id, &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
}

static const char ns_script[] =
    "for n in net ipc uts mnt pid; do readlink /proc/self/ns/$n; done; "
    "hostname";

/* Every type but user joined: each process the system runs is in the
 * holder's namespaces (exec joins the init's, so the init is too), sees
 * its host name, and a shutdown ends the system alone: the joined pid
 * namespace's own pid 1 lives on. */
Test(container_ns, joined_by_path) {
  hcs_t *h = open_hcs(NULL);
  pid_t m;
  pid_t held = ns_hold(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                           CLONE_NEWNS | CLONE_NEWPID,
                       &m);
  cr_assert_gt(m, 0);
  char extra[1024];
  snprintf(extra, sizeof(extra),
           ",\"Namespaces\":[{\"Type\":\"network\",\"Path\":\"/proc/%d/ns/"
           "net\"},{\"Type\":\"ipc\",\"Path\":\"/proc/%d/ns/ipc\"},"
           "{\"Type\":\"uts\",\"Path\":\"/proc/%d/ns/uts\"},"
           "{\"Type\":\"mount\",\"Path\":\"/proc/%d/ns/mnt\"},"
           "{\"Type\":\"pid\",\"Path\":\"/proc/%d/ns/pid_for_children\"}]",
           held, held, held, held, held);
  start_bare(h, "joined", extra);
  char want[512] = "";
  ns_links(held, "net ipc uts mnt", want, sizeof(want));
  ns_links(m, "pid", want, sizeof(want));
  strcat(want, "held\n");
  out_t o;
  run_in(h, "joined", ns_script, NULL, &o);
  cr_expect_eq(o.r.exit_code, 0, "%s", o.text);
  cr_expect_str_eq(o.text, want);
  cr_expect_eq(hcs_ShutdownComputeSystem(h, "joined", 10000, NULL, NULL),
               HCS_OK);
  cr_expect_eq(kill(m, 0), 0, "the joined namespace's pid 1 was killed");
  cr_expect_eq(hcs_DeleteComputeSystem(h, "joined", NULL), HCS_OK);
  ns_unhold(held, m);
  hcs_close(h);
}

/* Whether a mount of the test's namespace lies under path. */
static bool mounted_under(const char *path) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[4096];
  bool found = false;
  while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
    found = strstr(line, path) != NULL;
  }
  if (f != NULL) {
    fclose(f);
  }
  return found;
}

/* The host's mount namespace (Namespaces mount Host): the root is built
 * in the test's namespace under the system's mount point, init and each
 * process are in its root (a chroot: the test's base is not there), with
 * their /proc and Docker's read-only paths, in the service that started
 * it and in one that adopts it, and once the system is deleted nothing
 * of it stays mounted. */
Test(container_ns, host_mount_namespace_is_a_chroot) {
  char state[1024];
  snprintf(state, sizeof(state), "%s/state", base);
  hcs_t *h = open_hcs(state);
  start_bare(h, "hostmnt",
             ",\"Namespaces\":[{\"Type\":\"mount\",\"Host\":true}]");
  char want[512] = "", cmd[512];
  ns_links(getpid(), "mnt", want, sizeof(want));
  strcat(want, "in-its-root\nsys-ro\n/etc\n");
  snprintf(cmd, sizeof(cmd),
           "readlink /proc/self/ns/mnt; test -e %s || echo in-its-root; "
           "grep -q ' /proc/sys ro,' /proc/self/mountinfo && echo sys-ro; "
           "cd /etc && pwd",
           base);
  out_t o;
  run_in(h, "hostmnt", cmd, NULL, &o);
  cr_expect_eq(o.r.exit_code, 0, "%s", o.text);
  cr_expect_str_eq(o.text, want);
  /* So in a service that adopts it. */
  hcs_close(h);
  h = open_hcs(state);
  run_in(h, "hostmnt", cmd, NULL, &o);
  cr_expect_str_eq(o.text, want, "adopted");
  /* The system's mount point is <state>/hostmnt.root (system.c). */
  cr_expect(mounted_under("hostmnt.root"), "its root in the test's namespace");
  cr_expect_eq(hcs_TerminateComputeSystem(h, "hostmnt", 10000, NULL, NULL),
               HCS_OK);
  cr_expect_eq(hcs_DeleteComputeSystem(h, "hostmnt", NULL), HCS_OK);
  cr_expect(!mounted_under("hostmnt.root"), "mounts left of hostmnt");
  hcs_close(h);
}

/* Does a host process run `sleep SECS`? */
static int sleeper_on_host(const char *secs) {
  char want[32];
  int n = snprintf(want, sizeof(want), "sleep%c%s", '\0', secs) + 1;
  DIR *d = opendir("/proc");
  struct dirent *e;
  int found = 0;
  while (d != NULL && !found && (e = readdir(d)) != NULL) {
    char p[300], buf[64];
    snprintf(p, sizeof(p), "/proc/%s/cmdline", e->d_name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t k = read(fd, buf, sizeof(buf));
      found = k == n && memcmp(buf, want, (size_t)n) == 0;
      close(fd);
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  return found;
}

/* pid, ipc and uts the host's: the processes see the host's, the host's
 * processes and its host name; init is not a pid 1 then, and a shutdown
 * asks the system's processes to stop (through its cgroup: their SIGTERM
 * traps run) and no other. */
Test(container_ns, host_pid_ipc_uts) {
  hcs_t *h = open_hcs(NULL);
  pid_t sentinel = fork();
  cr_assert_geq(sentinel, 0);
  if (sentinel == 0) {
    for (;;) {
      pause();
    }
  }
  start_bare(h, "hostns",
             ",\"Namespaces\":[{\"Type\":\"pid\",\"Host\":true},"
             "{\"Type\":\"ipc\",\"Host\":true},{\"Type\":\"uts\","
             "\"Host\":true}]");
  char want[512] = "", host[128];
  ns_links(getpid(), "ipc uts pid", want, sizeof(want));
  cr_assert_eq(gethostname(host, sizeof(host)), 0);
  strcat(want, host);
  strcat(want, "\n");
  out_t o;
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           "for n in ipc uts pid; do readlink /proc/self/ns/$n; done; "
           "hostname; test -d /proc/%d && echo sees-host-pids; "
           "sleep 7391 >/dev/null 2>&1 & "
           "sh -c 'trap \"echo termed > /tmp/termed; exit 0\" TERM; "
           ": > /tmp/trapped; while :; do sleep 1; done' >/dev/null 2>&1 &",
           (int)sentinel);
  run_in(h, "hostns", cmd, NULL, &o);
  strcat(want, "sees-host-pids\n");
  cr_expect_str_eq(o.text, want);
  cr_expect(sleeper_on_host("7391"), "the container's sleep is not seen");
  /* The shell in the background sets its trap after run_in returns: a
   * shutdown before that would end it by SIGTERM's default. */
  char trapped[512];
  snprintf(trapped, sizeof(trapped), "%s/root/tmp/trapped", base);
  for (int i = 0; i < 100 && access(trapped, F_OK) != 0; i++) {
    usleep(50 * 1000);
  }
  cr_expect_eq(access(trapped, F_OK), 0, "the trap was never set");
  cr_expect_eq(hcs_ShutdownComputeSystem(h, "hostns", 10000, NULL, NULL),
               HCS_OK);
  for (int i = 0; i < 50 && sleeper_on_host("7391"); i++) {
    usleep(100 * 1000);
  }
  cr_expect(!sleeper_on_host("7391"), "the container's sleep outlived it");
  /* A shutdown asks: the shell's trap ran. */
  char termed[512], text[64];
  snprintf(termed, sizeof(termed), "%s/root/tmp/termed", base);
  int fd = open(termed, O_RDONLY | O_CLOEXEC);
  ssize_t k = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
  text[k > 0 ? k : 0] = '\0';
  if (fd >= 0) {
    close(fd);
  }
  cr_expect_str_eq(text, "termed\n");
  cr_expect_eq(kill(sentinel, 0), 0, "a host process was killed");
  cr_expect_eq(hcs_DeleteComputeSystem(h, "hostns", NULL), HCS_OK);
  kill(sentinel, SIGKILL);
  waitpid(sentinel, NULL, 0);
  hcs_close(h);
}

/* A new user namespace (Namespaces user, UidMap, GidMap): the processes
 * are its root, a host uid of the maps; what they make on the host's
 * disk belongs to that uid; /dev's nodes work (bound from the host's). */
Test(container_ns, user_namespace_with_maps) {
  hcs_t *h = open_hcs(NULL);
  /* Its root (host uid 100000) cannot make mount points in the image. */
  const char *const points[] = {"proc", "dev", "sys"};
  for (size_t i = 0; i < 3; i++) {
    char d[512];
    snprintf(d, sizeof(d), "%s/root/%s", base, points[i]);
    cr_assert_eq(mkdir(d, 0755), 0, "%s", d);
  }
  char tmp[512];
  snprintf(tmp, sizeof(tmp), "%s/root/tmp", base);
  cr_assert_eq(chmod(tmp, 01777), 0);
  start_system(h, "userns",
               ",\"Namespaces\":[{\"Type\":\"user\"}],"
               "\"UidMap\":[{\"ContainerID\":0,\"HostID\":100000,"
               "\"Size\":65536}],\"GidMap\":[{\"ContainerID\":0,"
               "\"HostID\":200000,\"Size\":65536}]");
  out_t o;
  run_in(h, "userns",
         "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
         "touch /tmp/by-root && echo x > /dev/null && head -c 1 /dev/zero | "
         "wc -c",
         NULL, &o);
  cr_expect_str_eq(o.text, "         0     100000      65536\n"
                           "         0     200000      65536\n"
                           "0\n0\n1\n");
  run_in(h, "userns", "id -u; touch /tmp/by-user", "1000:1000", &o);
  cr_expect_str_eq(o.text, "1000\n");
  struct stat st;
  char p[512];
  snprintf(p, sizeof(p), "%s/root/tmp/by-root", base);
  cr_assert_eq(stat(p, &st), 0, "%s", p);
  cr_expect_eq(st.st_uid, 100000);
  cr_expect_eq(st.st_gid, 200000);
  snprintf(p, sizeof(p), "%s/root/tmp/by-user", base);
  cr_assert_eq(stat(p, &st), 0, "%s", p);
  cr_expect_eq(st.st_uid, 101000);
  stop_system(h, "userns");
  hcs_close(h);
}

static void refused(hcs_t *h, hcs_result_t code, const char *extra,
                    const char *needle) {
  char cfg[2048];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\"%s}", base,
           extra);
  hcs_error_t *err = NULL;
  cr_expect_eq(hcs_CreateComputeSystem(h, "bad", cfg, &err), code, "%s", extra);
  const char *msg = err != NULL ? hcs_error_message(err) : "";
  cr_expect(strstr(msg, needle) != NULL, "%s: %s", extra, msg);
  hcs_error_free(err);
}

Test(container_ns, refused_by_name) {
  hcs_t *h = open_hcs(NULL);
  refused(h, HCS_WSAEINVAL,
          ",\"HostName\":\"x\",\"Namespaces\":[{\"Type\":\"pid\"},"
          "{\"Type\":\"uts\",\"Host\":true}]",
          "Namespaces[1] (uts): not with HostName");
  refused(h, HCS_WSAEINVAL, ",\"Namespaces\":[{\"Type\":\"time\"}]",
          "Namespaces[0] (time): Type");
  refused(h, HCS_WSAEINVAL,
          ",\"Namespaces\":[{\"Type\":\"ipc\"},{\"Type\":\"ipc\"}]",
          "Namespaces[1] (ipc): Type: given twice");
  refused(h, HCS_WSAEINVAL,
          ",\"Namespaces\":[{\"Type\":\"ipc\",\"Path\":\"proc/1/ns/ipc\"}]",
          "Path: must be absolute");
  refused(h, HCS_WSAEINVAL,
          ",\"Namespaces\":[{\"Type\":\"network\",\"Host\":true}]",
          "HostNetwork");
  refused(h, HCS_WSAEINVAL,
          ",\"HostNetwork\":true,\"Namespaces\":[{\"Type\":\"network\"}]",
          "not with HostNetwork");
  refused(h, HCS_ERROR_NOT_SUPPORTED, ",\"Namespaces\":[{\"Type\":\"user\"}]",
          "Namespaces (user): a new user namespace needs UidMap and GidMap");
  refused(h, HCS_ERROR_NOT_SUPPORTED,
          ",\"UidMap\":[{\"ContainerID\":0,\"HostID\":1,\"Size\":1}],"
          "\"GidMap\":[{\"ContainerID\":0,\"HostID\":1,\"Size\":1}],"
          "\"Namespaces\":[{\"Type\":\"user\"},{\"Type\":\"pid\","
          "\"Host\":true}]",
          "needs every other namespace new");
  refused(h, HCS_ERROR_NOT_SUPPORTED,
          ",\"Namespaces\":[{\"Type\":\"user\",\"Path\":\"/proc/1/ns/"
          "user\"}]",
          "Namespaces[0] (user): joining a user namespace");
  /* A path that is no namespace of its type fails the start, naming it. */
  char cfg[512];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\","
           "\"Namespaces\":[{\"Type\":\"ipc\",\"Path\":\"/proc/self/ns/"
           "net\"}]}",
           base);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateComputeSystem(h, "wrong", cfg, &err), HCS_OK);
  cr_expect_neq(hcs_StartComputeSystem(h, "wrong", &err), HCS_OK);
  const char *msg = err != NULL ? hcs_error_message(err) : "";
  cr_expect(strstr(msg, "ipc namespace") != NULL, "%s", msg);
  hcs_error_free(err);
  cr_expect_eq(hcs_DeleteComputeSystem(h, "wrong", NULL), HCS_OK);
  hcs_close(h);
}
