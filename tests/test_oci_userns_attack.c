/* SPDX-License-Identifier: MIT */
/* Attacks from an hcs-runc container in a user namespace (linux.uidMappings
 * and gidMappings, e503f2e): its root, with every capability, is host uid
 * HOST_ID and may not touch what host root owns, nor the host's clock,
 * kernel settings, namespaces or processes (a host uts, pid or network
 * namespace beside it is refused). Each case runs the attack in the
 * container and asserts it failed and the host is unchanged; where the
 * outcome differs, it runs the same attack as the container's root
 * without a user namespace too and asserts that it succeeds there, so a
 * case cannot pass without the namespace. Each run checks from outside,
 * in /proc/PID/status, which host uid the container's init has (HOST_ID,
 * or 0 without the namespace). The last cases attack a container in the
 * host's mount namespace (f74ca33): its mounts stay out of the host's
 * peers and are gone after delete, and without CAP_SYS_CHROOT it cannot
 * leave its chroot. */
#include "ns_hold.h"
#include "oci_util.h"

#include <jansson.h>
#include <sys/mount.h>

#define HOST_ID 100000

static char dir[128], root[160], bundle[160], w[160];

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("hcs-runc makes containers: root only");
  }
  snprintf(dir, sizeof(dir), "/tmp/hcs-ocius-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(chmod(dir, 0755), 0);
  snprintf(root, sizeof(root), "%s/root", dir);
  snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
  snprintf(w, sizeof(w), "%s/w", dir);
  cr_assert_eq(mkdir(bundle, 0700), 0);
  /* The host's directory the container gets read-write at /home: host
   * root's, writable by anyone (the device node case needs that). */
  cr_assert_eq(mkdir(w, 0777), 0);
  cr_assert_eq(chmod(w, 0777), 0);
  cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static pid_t held; /* a namespace holder of the test's, or 0 */

static void teardown(void) {
  if (held > 0) {
    ns_unhold(held, 0);
  }
  if (dir[0] != '\0') {
    (void)umount2(dir, MNT_DETACH); /* a case's shared bind of it */
    oci_rm_tree(dir);
  }
}

TestSuite(oci_userns_attack, .init = setup, .fini = teardown, .timeout = 120);

/* Every capability up to CAP_AUDIT_READ: the attacker is root with all
 * of them, in its user namespace or (the controls) not. */
static const char *const all_caps[] = {"CAP_CHOWN",
                                       "CAP_DAC_OVERRIDE",
                                       "CAP_DAC_READ_SEARCH",
                                       "CAP_FOWNER",
                                       "CAP_FSETID",
                                       "CAP_KILL",
                                       "CAP_SETGID",
                                       "CAP_SETUID",
                                       "CAP_SETPCAP",
                                       "CAP_LINUX_IMMUTABLE",
                                       "CAP_NET_BIND_SERVICE",
                                       "CAP_NET_BROADCAST",
                                       "CAP_NET_ADMIN",
                                       "CAP_NET_RAW",
                                       "CAP_IPC_LOCK",
                                       "CAP_IPC_OWNER",
                                       "CAP_SYS_MODULE",
                                       "CAP_SYS_RAWIO",
                                       "CAP_SYS_CHROOT",
                                       "CAP_SYS_PTRACE",
                                       "CAP_SYS_PACCT",
                                       "CAP_SYS_ADMIN",
                                       "CAP_SYS_BOOT",
                                       "CAP_SYS_NICE",
                                       "CAP_SYS_RESOURCE",
                                       "CAP_SYS_TIME",
                                       "CAP_SYS_TTY_CONFIG",
                                       "CAP_MKNOD",
                                       "CAP_LEASE",
                                       "CAP_AUDIT_WRITE",
                                       "CAP_AUDIT_CONTROL",
                                       "CAP_SETFCAP",
                                       "CAP_MAC_OVERRIDE",
                                       "CAP_MAC_ADMIN",
                                       "CAP_SYSLOG",
                                       "CAP_WAKE_ALARM",
                                       "CAP_BLOCK_SUSPEND",
                                       "CAP_AUDIT_READ",
                                       NULL};

typedef struct attack_s {
  const char *script; /* sh -c script, as uid 0 unless uid is set */
  const char *ns;     /* the namespaces but user, NULL for all but user */
  unsigned uid;       /* the process's uid and gid in the container */
  bool sys;           /* a sysfs at /sys */
  const char *drop;   /* a capability the process has not, or NULL */
  bool nocaps;        /* no capabilities at all */
  int proc;           /* 1: no /proc, 2: the host's /proc at /root too */
} attack_t;

static json_t *caps_array(const attack_t *at) {
  json_t *a = json_array();
  for (size_t i = 0; all_caps[i] != NULL && !at->nocaps; i++) {
    if (at->drop == NULL || strcmp(all_caps[i], at->drop) != 0) {
      json_array_append_new(a, json_string(all_caps[i]));
    }
  }
  return a;
}

/* config.json for a: the busybox layer read-only, /proc, a tmpfs /tmp,
 * the host's w read-write at /home, and with userns a user namespace
 * mapping 0-65535 onto HOST_ID. */
static void write_attack(const attack_t *a, bool userns) {
  json_error_t jerr;
  const char *nsj = a->ns != NULL
                        ? a->ns
                        : "[{\"type\": \"mount\"}, {\"type\": \"network\"},"
                          " {\"type\": \"pid\"}, {\"type\": \"ipc\"},"
                          " {\"type\": \"uts\"}]";
  json_t *ns = json_loads(nsj, 0, &jerr);
  cr_assert_not_null(ns, "namespaces: %s", jerr.text);
  if (userns) {
    json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
  }
  json_t *mounts = json_array();
  if (a->proc == 0) {
    json_array_append_new(mounts,
                          json_pack("{s:s, s:s, s:s}", "destination", "/proc",
                                    "type", "proc", "source", "proc"));
  }
  if (a->sys) {
    json_array_append_new(mounts,
                          json_pack("{s:s, s:s, s:s}", "destination", "/sys",
                                    "type", "sysfs", "source", "sysfs"));
  }
  json_array_append_new(mounts,
                        json_pack("{s:s, s:s, s:s}", "destination", "/tmp",
                                  "type", "tmpfs", "source", "tmpfs"));
  json_array_append_new(
      mounts, json_pack("{s:s, s:s, s:s, s:[s]}", "destination", "/home",
                        "type", "bind", "source", w, "options", "rbind"));
  if (a->proc == 2) {
    json_array_append_new(mounts,
                          json_pack("{s:s, s:s, s:s, s:[s]}", "destination",
                                    "/root", "type", "bind", "source", "/proc",
                                    "options", "rbind"));
  }
  json_t *c = json_pack_ex(
      &jerr, 0,
      "{s:s, s:{s:{s:i, s:i}, s:[s,s,s], s:[s], s:s, s:{s:o, s:o, s:o}},"
      " s:{s:s, s:b}, s:o, s:{s:o}}",
      "ociVersion", "1.0.2", "process", "user", "uid", (int)a->uid, "gid",
      (int)a->uid, "args", "sh", "-c", a->script, "env", "PATH=/bin:/usr/bin",
      "cwd", "/", "capabilities", "bounding", caps_array(a), "effective",
      caps_array(a), "permitted", caps_array(a), "root", "path",
      oci_busybox_rootfs(), "readonly", 1, "mounts", mounts, "linux",
      "namespaces", ns);
  cr_assert_not_null(c, "config: %s", jerr.text);
  char maps[256];
  snprintf(maps, sizeof(maps),
           "{\"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\":"
           " %d, \"size\": 65536}], \"gidMappings\": [{\"containerID\": 0,"
           " \"hostID\": %d, \"size\": 65536}]}}",
           HOST_ID, HOST_ID);
  oci_write_config(bundle, c, userns ? maps : NULL);
}

/* The first field of pid's "Uid:" line in its /proc status (-1 if none). */
static long host_uid_of(pid_t pid) {
  char p[64], st[4096];
  snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
  oci_slurp(p, st, sizeof(st));
  const char *u = strstr(st, "\nUid:");
  return u != NULL ? strtol(u + 5, NULL, 10) : -1;
}

/* `hcs-runc create` of the bundle as id, as a shim runs it (the keeper
 * our child); returns the keeper's pid. */
static pid_t create(const char *id) {
  char pidf[200], buf[32];
  snprintf(pidf, sizeof(pidf), "%s/%s.pid", dir, id);
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  const char *const args[] = {"create", "--bundle", bundle, "--pid-file",
                              pidf,     id,         NULL};
  run_t r = oci_run_args(dir, pre, args, id);
  cr_assert_eq(r.status, 0, "create: %s", r.err);
  oci_slurp(pidf, buf, sizeof(buf));
  pid_t keeper = (pid_t)atoi(buf);
  cr_assert_gt(keeper, 0);
  return keeper;
}

/* Runs a in a container (id) with or without a user namespace, as a shim
 * does: create, a check from outside of the host uid of the container's
 * init (state's pid), start, the keeper's end, delete. Returns what the
 * container printed (stdout and stderr, in r). */
static void run_attack(const attack_t *a, bool userns, const char *id,
                       run_t *r) {
  write_attack(a, userns);
  pid_t keeper = create(id);
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  const char *const state[] = {"state", id, NULL};
  run_t s = oci_run_args(dir, pre, state, "state");
  cr_assert_eq(s.status, 0, "state: %s", s.err);
  json_t *j = json_loads(s.out, 0, NULL);
  cr_assert_not_null(j, "state: %s", s.out);
  pid_t init = (pid_t)json_integer_value(json_object_get(j, "pid"));
  json_decref(j);
  long want = userns ? HOST_ID : 0; /* init is the namespace's root */
  cr_assert_eq(host_uid_of(init), want,
               "%s: the container's process %d is host uid %ld, not %ld", id,
               (int)init, host_uid_of(init), want);
  const char *const start[] = {"start", id, NULL};
  s = oci_run_args(dir, pre, start, "start");
  cr_assert_eq(s.status, 0, "start: %s", s.err);
  (void)oci_wait_status(keeper);
  oci_collect(dir, r, id);
  const char *const del[] = {"delete", id, NULL};
  s = oci_run_args(dir, pre, del, "delete");
  cr_expect_eq(s.status, 0, "delete: %s", s.err);
}

/* run_attack, and out holds want: the attack failed in the user
 * namespace, or the control without it succeeded. */
static void expect_attack(const attack_t *a, bool userns, const char *id,
                          const char *want, run_t *r) {
  run_attack(a, userns, id, r);
  cr_expect(strstr(r->out, want) != NULL, "%s%s, want %s: %s%s", id,
            userns ? "" : " (the control, no user namespace)", want, r->out,
            r->err);
}

static void host_file(const char *name, const char *text, mode_t mode) {
  char p[256];
  snprintf(p, sizeof(p), "%s/%s", w, name);
  oci_write_file(p, text);
  cr_assert_eq(chmod(p, mode), 0);
}

static void expect_host_file(const char *name, const char *text) {
  char p[256], got[256];
  snprintf(p, sizeof(p), "%s/%s", w, name);
  oci_slurp(p, got, sizeof(got));
  cr_expect_str_eq(got, text, "host file %s changed", p);
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_expect_eq(st.st_uid, 0, "host file %s: owner now %d", p, (int)st.st_uid);
}

/* Container root writes, truncates, chmods and chowns a file host root
 * owns (0644) in a read-write bind of the host's. */
Test(oci_userns_attack, host_root_file_in_a_bind) {
  attack_t a = {.script = "echo pwned > /home/f; echo write=$?;"
                          " chmod 666 /home/f; echo chmod=$?;"
                          " chown 1:1 /home/f; echo chown=$?"};
  host_file("f", "host\n", 0644);
  run_t r;
  expect_attack(&a, true, "us-file", "write=1\nchmod=1\nchown=1\n", &r);
  expect_host_file("f", "host\n");
  struct stat st;
  char p[256];
  snprintf(p, sizeof(p), "%s/f", w);
  cr_assert_eq(stat(p, &st), 0);
  cr_expect_eq(st.st_mode & 07777, 0644);
  expect_attack(&a, false, "ns-file", "write=0\nchmod=0\nchown=0\n", &r);
}

/* Device nodes in a directory of the host's that anyone may write to: the
 * kernel's CAP_MKNOD is the host user namespace's. */
Test(oci_userns_attack, mknod_in_a_host_directory) {
  attack_t a = {.script = "mknod /home/sda b 8 0; echo block=$?;"
                          " mknod /home/mem c 1 1; echo char=$?"};
  run_t r;
  expect_attack(&a, true, "us-mknod", "block=1\nchar=1\n", &r);
  char p[256];
  snprintf(p, sizeof(p), "%s/sda", w);
  cr_expect_neq(access(p, F_OK), 0, "a device node %s on the host", p);
  snprintf(p, sizeof(p), "%s/mem", w);
  cr_expect_neq(access(p, F_OK), 0, "a device node %s on the host", p);
  expect_attack(&a, false, "ns-mknod", "block=0\nchar=0\n", &r);
}

/* File systems of the host kernel's (debugfs, securityfs, a tracefs):
 * none may be mounted from a user namespace, whatever its root's
 * capabilities. hcs refuses a user namespace with any of the host's
 * namespaces but the cgroup one, so the host's proc and sysfs are out of
 * reach from the start. */
Test(oci_userns_attack, mount_host_kernel_file_systems) {
  attack_t a = {.script = "mkdir /tmp/d /tmp/s /tmp/t;"
                          " mount -t debugfs none /tmp/d; echo debugfs=$?;"
                          " mount -t securityfs none /tmp/s; echo sec=$?;"
                          " mount -t tracefs none /tmp/t; echo trace=$?"};
  run_t r;
  expect_attack(&a, true, "us-mount", "debugfs=1\nsec=1\ntrace=1\n", &r);
  expect_attack(&a, false, "ns-mount", "debugfs=0\nsec=0\ntrace=0\n", &r);
}

static void kernel_script(char *out, size_t n, long limit, long ksm,
                          const char *tail) {
  snprintf(out, n,
           "mount -o remount,rw /proc/sys; mount -o remount,rw /sys;"
           " echo %ld > /proc/sys/kernel/printk_ratelimit; echo sysctl=$?;"
           " echo %ld > /sys/kernel/mm/ksm/run; echo sysfs=$?; %s",
           limit, ksm, tail);
}

/* The settings the host's user namespace owns: a kernel sysctl and a
 * sysfs file (hcs mounts both read-only; the attacker remounts them
 * read-write first, which its mount namespace allows), the clock. The
 * attack writes new values; the control writes the host's own back (the
 * clock is attacked in the user namespace only: the control would move
 * the host's). Not here: loading a module (this kernel has no module
 * support: ENOSYS either way). */
Test(oci_userns_attack, host_kernel_settings) {
  char limit[32], ksm[32];
  oci_slurp("/proc/sys/kernel/printk_ratelimit", limit, sizeof(limit));
  oci_slurp("/sys/kernel/mm/ksm/run", ksm, sizeof(ksm));
  cr_assert(limit[0] != '\0' && ksm[0] != '\0');
  char script[1024];
  kernel_script(script, sizeof(script), atol(limit) + 7,
                atol(ksm) == 0 ? 1L : 0L, "date -s @$(date +%s) >/dev/null");
  attack_t a = {.script = script, .sys = true};
  run_t r;
  expect_attack(&a, true, "us-kernel", "sysctl=1\nsysfs=1\n", &r);
  cr_expect(strstr(r.err, "date: can't set date: Operation not permitted") !=
                NULL,
            "%s", r.err);
  char limit2[32], ksm2[32];
  oci_slurp("/proc/sys/kernel/printk_ratelimit", limit2, sizeof(limit2));
  cr_expect_str_eq(limit2, limit, "printk_ratelimit changed");
  oci_slurp("/sys/kernel/mm/ksm/run", ksm2, sizeof(ksm2));
  cr_expect_str_eq(ksm2, ksm, "ksm/run changed");
  kernel_script(script, sizeof(script), atol(limit), atol(ksm), "");
  expect_attack(&a, false, "ns-kernel", "sysctl=0\nsysfs=0\n", &r);
}

/* The host's /proc bound at /root (an operator's mistake): through it,
 * the namespaces of the test's process (host root's, in the host's
 * namespaces), its environment, and the keeper's
 * environment and memory (ptrace's attach check) are host root's. The
 * keeper is the parent of the container's init, the parent of sh. */
Test(oci_userns_attack, host_processes_through_a_bound_proc) {
  char script[1024];
  snprintf(script, sizeof(script),
           "t=%d; i=$(sed -n 's/^PPid:\t//p' /root/self/status);"
           " k=$(sed -n 's/^PPid:\t//p' /root/$i/status);"
           " test -n \"$k\"; echo found=$?;"
           " nsenter --mount=/root/$t/ns/mnt true; echo setns=$?;"
           " nsenter --net=/root/$t/ns/net true; echo setnet=$?;"
           " cat /root/$t/environ >/dev/null; echo environ=$?;"
           " dd if=/root/$k/mem of=/dev/null bs=1 count=0; echo mem=$?;"
           " cat /root/$k/environ >/dev/null; echo keeper=$?",
           (int)getpid());
  attack_t a = {.script = script, .proc = 2};
  run_t r;
  expect_attack(&a, true, "us-procs",
                "found=0\nsetns=1\nsetnet=1\nenviron=1\nmem=1\n"
                "keeper=1\n",
                &r);
  expect_attack(&a, false, "ns-procs",
                "found=0\nsetns=0\nsetnet=0\nenviron=0\nmem=0\n"
                "keeper=0\n",
                &r);
}

/* A descriptor of the host's mount namespace left open (not
 * close-on-exec) in hcs-runc's caller does not reach the container's
 * process, so there is nothing to setns through, with a user namespace
 * or without (hcs-runc refuses --preserve-fds). */
Test(oci_userns_attack, passed_namespace_descriptor) {
  int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  cr_assert_geq(ns, 0);
  int fd = fcntl(ns, F_DUPFD, 40); /* clear of the shell's own */
  cr_assert_geq(fd, 40);
  close(ns);
  char script[256];
  snprintf(script, sizeof(script),
           "test -e /proc/self/fd/%d; echo seen=$?;"
           " nsenter --mount=/proc/self/fd/%d true; echo setns=$?",
           fd, fd);
  attack_t a = {.script = script};
  run_t r;
  run_attack(&a, true, "us-fd", &r);
  cr_expect_str_eq(r.out, "seen=1\nsetns=1\n", "%s", r.err);
  run_attack(&a, false, "ns-fd", &r);
  cr_expect_str_eq(r.out, "seen=1\nsetns=1\n", "%s", r.err);
  close(fd);
}

/* A set-user-ID program of host root's, run by the container's uid 1000
 * without capabilities: host root has no uid in the namespace, so the
 * bit does nothing and a file only host root may read stays closed. */
Test(oci_userns_attack, setuid_program_of_host_root) {
  char p[256];
  snprintf(p, sizeof(p), "cp %s/hostile %s/probe", HCS_TEST_HELPERS_DIR, w);
  cr_assert_eq(system(p), 0, "%s", p);
  snprintf(p, sizeof(p), "%s/probe", w);
  cr_assert_eq(chown(p, 0, 0), 0);
  cr_assert_eq(chmod(p, 04755), 0);
  host_file("secret", "secret\n", 0600);
  attack_t a = {
      .script = "/home/probe suid /home/secret", .uid = 1000, .nocaps = true};
  run_t r;
  run_attack(&a, true, "us-suid", &r);
  cr_expect_str_eq(r.out, "euid 1000\nopen: Permission denied\n", "%s", r.err);
  run_attack(&a, false, "ns-suid", &r);
  cr_expect_str_eq(r.out, "euid 0\nsecret\n",
                   "the control (no user namespace) did not succeed: %s",
                   r.err);
}

/* The maps are written once, by the engine: the namespace's root cannot
 * write its own again, nor give itself host root. No control: without a
 * user namespace the initial one's maps are as fixed. */
Test(oci_userns_attack, rewrite_its_uid_map) {
  attack_t a = {.script = "echo '0 0 1' > /proc/self/uid_map; echo uid=$?;"
                          " echo '0 0 1' > /proc/self/gid_map; echo gid=$?;"
                          " echo '0 0 1' > /proc/1/uid_map; echo init=$?;"
                          " cat /proc/self/uid_map"};
  run_t r;
  run_attack(&a, true, "us-map", &r);
  char want[256];
  snprintf(want, sizeof(want),
           "uid=1\ngid=1\ninit=1\n         0     %6d      65536\n", HOST_ID);
  cr_expect_str_eq(r.out, want, "%s", r.err);
}

/* The host's uts, pid or network namespace beside a user namespace
 * would let its root name the host, mount the host's proc or sysfs and
 * reach the host's processes: hcs refuses the config at create. */
Test(oci_userns_attack, host_namespace_beside_a_user_namespace) {
  static const char *const left_out[] = {
      "[{\"type\": \"mount\"}, {\"type\": \"network\"},"
      " {\"type\": \"pid\"}, {\"type\": \"ipc\"}]",
      "[{\"type\": \"mount\"}, {\"type\": \"network\"},"
      " {\"type\": \"uts\"}, {\"type\": \"ipc\"}]",
      "[{\"type\": \"mount\"}, {\"type\": \"pid\"},"
      " {\"type\": \"uts\"}, {\"type\": \"ipc\"}]"};
  for (size_t i = 0; i < 3; i++) {
    attack_t a = {.script = "hostname pwned", .ns = left_out[i], .proc = 1};
    write_attack(&a, true);
    const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
    const char *const args[] = {"create", "--bundle", bundle, "hostns", NULL};
    run_t r = oci_run_args(dir, pre, args, "hostns");
    cr_expect_neq(r.status, 0, "%s: create succeeded", left_out[i]);
    cr_expect(strstr(r.err, "a new user namespace needs every other "
                            "namespace new") != NULL,
              "%s", r.err);
  }
}

/* The lines of pid's mountinfo that name needle. */
static size_t mounts_naming(pid_t pid, const char *needle, char *list,
                            size_t n) {
  char p[64], line[1024];
  snprintf(p, sizeof(p), "/proc/%d/mountinfo", (int)pid);
  FILE *f = fopen(p, "re");
  cr_assert_not_null(f, "%s", p);
  size_t found = 0;
  list[0] = '\0';
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strstr(line, needle) != NULL) {
      found++;
      snprintf(list + strlen(list), n - strlen(list), "%s", line);
    }
  }
  fclose(f);
  return found;
}

/* A container in the host's mount namespace (no mount entry; f74ca33),
 * root with every capability, mounts a tmpfs "evil" in its root while
 * the test's directory is a shared mount with a peer in a namespace the
 * test holds: neither that mount nor hcs's own (/proc, /dev, the root)
 * reach the peer, and after delete none is left in the host's nor the
 * peer's. */
Test(oci_userns_attack, host_mount_namespace_mounts_stay_in) {
  cr_assert_eq(mount(dir, dir, NULL, MS_BIND, NULL), 0);
  cr_assert_eq(mount(NULL, dir, NULL, MS_SHARED, NULL), 0);
  pid_t m;
  pid_t peer = held = ns_hold(CLONE_NEWNS, &m);
  attack_t a = {.script = "mkdir /tmp/m; mount -t tmpfs evil /tmp/m;"
                          " echo mount=$?; touch /home/ready;"
                          " while [ ! -e /home/go ]; do sleep 0.05; done",
                .ns = "[{\"type\": \"network\"}, {\"type\": \"pid\"},"
                      " {\"type\": \"ipc\"}, {\"type\": \"uts\"}]"};
  write_attack(&a, false);
  char p[256], list[8192];
  pid_t keeper = create("hm");
  run_t r;
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  const char *const start[] = {"start", "hm", NULL};
  run_t s = oci_run_args(dir, pre, start, "start");
  cr_assert_eq(s.status, 0, "start: %s", s.err);
  snprintf(p, sizeof(p), "%s/ready", w);
  for (int i = 0; i < 200 && access(p, F_OK) != 0; i++) {
    oci_nap_ms(100);
  }
  cr_expect_eq(access(p, F_OK), 0, "the container did not mount in 20 s");
  cr_expect_geq(mounts_naming(getpid(), " evil ", list, sizeof(list)), 1,
                "the container's tmpfs is not in the host's namespace");
  size_t host_n = mounts_naming(getpid(), dir, list, sizeof(list));
  cr_expect_gt(host_n, 1, "hcs's mounts under %s: %s", dir, list);
  cr_expect_eq(mounts_naming(peer, " evil ", list, sizeof(list)), 0,
               "the container's tmpfs reached the peer: %s", list);
  /* The peer may get the bind of the mount point on itself (made in the
   * shared parent before it is made private: the directory it was, with
   * nothing under it), and nothing else but the test's directory. */
  snprintf(p, sizeof(p), "%s/root/hm/hcs/hm.root ", dir);
  size_t self_bind = mounts_naming(peer, p, list, sizeof(list));
  cr_expect_leq(self_bind, 1);
  cr_expect_eq(mounts_naming(peer, dir, list, sizeof(list)), 1 + self_bind,
               "mounts under %s reached the peer:\n%s", dir, list);
  snprintf(p, sizeof(p), "%s/go", w);
  oci_write_file(p, "");
  (void)oci_wait_status(keeper);
  oci_collect(dir, &r, "hm");
  cr_expect_str_eq(r.out, "mount=0\n", "%s", r.err);
  const char *const del[] = {"delete", "hm", NULL};
  s = oci_run_args(dir, pre, del, "delete");
  cr_expect_eq(s.status, 0, "delete: %s", s.err);
  cr_expect_eq(mounts_naming(getpid(), dir, list, sizeof(list)), 1,
               "mounts left under %s after delete:\n%s", dir, list);
  cr_expect_eq(mounts_naming(peer, dir, list, sizeof(list)), 1,
               "mounts left in the peer under %s after delete:\n%s", dir, list);
}

/* In the host's mount namespace without CAP_SYS_CHROOT: the classic
 * escape (chroot into a directory below while the working directory
 * stays above, climb "..", chroot there) is refused and ".." stops at
 * the container's root, so a file of the test's beside the root stays
 * out of reach; the control, with the capability, gets out and reads it
 * (as under runc without a mount namespace). */
Test(oci_userns_attack, host_mount_namespace_chroot_needs_the_cap) {
  char script[512], p[256];
  snprintf(script, sizeof(script),
           "mkdir /tmp/e; /home/escape escape /tmp/e %s/marker;"
           " cat /../../../../..%s/marker; echo dotdot=$?",
           dir, dir);
  snprintf(p, sizeof(p), "cp %s/hostile %s/escape", HCS_TEST_HELPERS_DIR, w);
  cr_assert_eq(system(p), 0, "%s", p);
  snprintf(p, sizeof(p), "%s/marker", dir);
  oci_write_file(p, "host\n");
  attack_t a = {.script = script,
                .ns = "[{\"type\": \"network\"}, {\"type\": \"pid\"},"
                      " {\"type\": \"ipc\"}, {\"type\": \"uts\"}]",
                .drop = "CAP_SYS_CHROOT"};
  run_t r;
  run_attack(&a, false, "hm-chroot", &r);
  cr_expect_str_eq(r.out, "chroot: Operation not permitted\ndotdot=1\n", "%s",
                   r.err);
  a.drop = NULL;
  run_attack(&a, false, "hm-chroot-cap", &r);
  cr_expect_str_eq(r.out, "host\ndotdot=1\n",
                   "the control (CAP_SYS_CHROOT) did not get out: %s", r.err);
}
