/* SPDX-License-Identifier: MIT */
/* Seccomp filters (issue 12): the default filter, installed in a child the
 * way the spawn path installs it (no_new_privs, one raw seccomp call),
 * lets a program run (I/O, sockets, fork, execve) and refuses what
 * Docker's default profile refuses: namespaces, mounts, keys, BPF, perf,
 * modules, other ABIs. Docker-format profiles are honoured, or refused
 * with the field named. Every refused call is one that would fail
 * harmlessly if the filter let it through. */
#include "hcs/system/seccomp.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A call made under the filter: its result (< 0 with errno set: failed). */
typedef struct check_s {
  const char *name;
  long (*fn)(void);
  int want; /* the errno expected; 0: success */
} check_t;

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 0 when child pid exits with code, else -1 (EPROTO). */
static long wait_code(long pid, int code) {
  int st;
  if (pid < 0) {
    return -1;
  }
  if (waitpid((pid_t)pid, &st, 0) != (pid_t)pid || !WIFEXITED(st) ||
      WEXITSTATUS(st) != code) {
    errno = EPROTO;
    return -1;
  }
  return 0;
}

/* Installs bpf in a child, runs the checks there and fails the test with
 * every check that went otherwise. */
static void run_checks(const hcs__bpf_t *bpf, const check_t *c, size_t n) {
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    struct sock_fprog prog = {.len = bpf->len, .filter = bpf->insns};
    char line[160];
    close(p[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
      int len = snprintf(line, sizeof(line), "install: errno %d\n", errno);
      (void)!write(p[1], line, (size_t)len);
      _exit(1);
    }
    for (size_t i = 0; i < n; i++) {
      errno = 0;
      int got = c[i].fn() < 0 ? errno : 0;
      if (got != c[i].want) {
        int len = snprintf(line, sizeof(line), "%s: errno %d, wanted %d\n",
                           c[i].name, got, c[i].want);
        (void)!write(p[1], line, (size_t)len);
      }
    }
    _exit(0);
  }
  close(p[1]);
  char out[4096];
  size_t got = 0;
  ssize_t r;
  while ((r = read(p[0], out + got, sizeof(out) - 1 - got)) > 0) {
    got += (size_t)r;
  }
  out[got] = '\0';
  close(p[0]);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: status %#x\n%s", st,
            out);
  cr_assert_str_empty(out, "under the filter:\n%s", out);
}

/* What a program needs */

static long getpid_(void) { return syscall(SYS_getpid); }

static long pipe_io(void) {
  int p[2];
  char c;
  if (pipe(p) != 0) {
    return -1;
  }
  long r = write(p[1], "x", 1) == 1 && read(p[0], &c, 1) == 1 ? 0 : -1;
  close(p[0]);
  close(p[1]);
  return r;
}

/* socket(2) through the raw syscall, so that all 64 bits of the family
 * reach the filter. */
static long sock(uint64_t family, int type) {
  long fd = syscall(SYS_socket, family, type, 0);
  if (fd >= 0) {
    close((int)fd);
  }
  return fd;
}

static long inet(void) { return sock(AF_INET, SOCK_STREAM); }
static long unix_(void) { return sock(AF_UNIX, SOCK_STREAM); }
static long netlink(void) { return sock(AF_NETLINK, SOCK_RAW); }
static long vsock(void) { return sock(AF_VSOCK, SOCK_STREAM); }
static long alg(void) { return sock(AF_ALG, SOCK_SEQPACKET); }
/* The kernel reads an int: this is AF_VSOCK to it. */
static long vsock_high(void) {
  return sock(UINT64_C(1) << 32 | AF_VSOCK, SOCK_STREAM);
}

static long plain_clone(void) {
  long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    _exit(7);
  }
  return wait_code(pid, 7);
}

static long glibc_fork(void) {
  pid_t pid = fork();
  if (pid == 0) {
    _exit(8);
  }
  return wait_code(pid, 8);
}

static long exec_helper(void) {
  pid_t pid = fork();
  if (pid == 0) {
    char *argv[] = {"exiter", "9", NULL};
    char *envp[] = {NULL};
    execve(HCS_TEST_HELPERS_DIR "/exiter", argv, envp);
    _exit(127);
  }
  return wait_code(pid, 9);
}

static long persona_query(void) { return personality(0xffffffff); }

/* What the default filter refuses */

static long ns_clone(void) {
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    _exit(0);
  }
  return pid < 0 ? -1 : wait_code(pid, 0);
}

static long clone3_(void) { return syscall(SYS_clone3, NULL, 0); }
static long unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long unshare_mnt(void) { return unshare(CLONE_NEWNS); }
static long setns_(void) { return syscall(SYS_setns, -1, 0); }
static long mount_(void) {
  return syscall(SYS_mount, "none", "/nonexistent-hcs-seccomp", "tmpfs", 0,
                 NULL);
}
static long umount_(void) {
  return syscall(SYS_umount2, "/nonexistent-hcs-seccomp", 0);
}
static long pivot_root_(void) { return syscall(SYS_pivot_root, NULL, NULL); }
static long fsopen_(void) { return syscall(SYS_fsopen, NULL, 0); }
static long keyctl_(void) { return syscall(SYS_keyctl, -1, 0, 0, 0, 0); }
static long add_key_(void) {
  return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0);
}
static long bpf_(void) { return syscall(SYS_bpf, -1, NULL, 0); }
static long perf_(void) {
  return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
}
static long init_module_(void) {
  return syscall(SYS_init_module, NULL, 0, NULL);
}
static long kexec_(void) {
  return syscall(SYS_kexec_load, 0, 0, NULL, 0x12345678);
}
static long reboot_(void) { return syscall(SYS_reboot, 0, 0, 0, NULL); }
static long swapon_(void) { return syscall(SYS_swapon, NULL, 0); }
static long acct_(void) { return syscall(SYS_acct, (void *)1); }
static long clock_settime_(void) {
  return syscall(SYS_clock_settime, 999, NULL);
}
static long syslog_(void) { return syscall(SYS_syslog, 9999, NULL, 0); }
static long open_by_handle_(void) {
  return syscall(SYS_open_by_handle_at, -1, NULL, 0);
}
static long userfaultfd_(void) { return syscall(SYS_userfaultfd, 0xffff); }
static long io_uring_(void) { return syscall(SYS_io_uring_setup, 0, NULL); }
static long iopl_(void) {
#ifdef SYS_iopl
  return syscall(SYS_iopl, 4);
#else
  errno = EPERM;
  return -1;
#endif
}
static long persona_norandom(void) { return personality(ADDR_NO_RANDOMIZE); }
/* Past the last syscall the table names: ENOSYS, as runc answers. */
static long future(void) { return syscall(1000, 0, 0, 0); }

#if defined(__x86_64__)
/* getpid through the x32 ABI and through int 0x80 (i386). */
static long x32_getpid(void) { return syscall(0x40000000 | SYS_getpid); }
static long int80_getpid(void) {
  long r;
  __asm__ volatile("int $0x80"
                   : "=a"(r)
                   : "a"(20L)
                   : "memory", "r8", "r9", "r10", "r11");
  if (r < 0 && r > -4096) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

/* Whether this kernel runs int 0x80 (IA32 emulation; off, it is SIGSEGV). */
static int have_int80(void) {
  pid_t pid = fork();
  if (pid == 0) {
    _exit(int80_getpid() == getpid() ? 0 : 1);
  }
  int st;
  return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
#endif

static const hcs__bpf_t *default_filter(void) {
  const hcs__bpf_t *bpf = NULL;
  cr_assert_eq(hcs__seccomp_default(&bpf), 0);
  cr_assert_not_null(bpf);
  cr_assert(bpf->len > 0 && bpf->len <= BPF_MAXINSNS, "len %u", bpf->len);
  return bpf;
}

/* The persistent cache is the machine's: these cases compile profiles
 * of their own and leave it alone (test_seccomp_cache drives it on a
 * directory of its own). */
static void no_cache(void) { cr_assert_eq(hcs__seccomp_cache_set(NULL), 0); }
TestSuite(seccomp, .init = no_cache);

Test(seccomp, default_lets_programs_run) {
  static const check_t checks[] = {
      {"getpid", getpid_, 0},
      {"pipe read/write", pipe_io, 0},
      {"socket(AF_INET)", inet, 0},
      {"socket(AF_UNIX)", unix_, 0},
      {"socket(AF_NETLINK)", netlink, 0},
      {"clone(SIGCHLD)", plain_clone, 0},
      {"fork", glibc_fork, 0},
      {"execve(exiter)", exec_helper, 0},
      {"personality(query)", persona_query, 0},
  };
  run_checks(default_filter(), checks, N(checks));
}

Test(seccomp, default_refuses_what_docker_refuses) {
  static const check_t checks[] = {
    {"clone(CLONE_NEWUSER)", ns_clone, EPERM},
    {"clone3", clone3_, ENOSYS},
    {"setns", setns_, EPERM},
    {"mount", mount_, EPERM},
    {"umount2", umount_, EPERM},
    {"pivot_root", pivot_root_, EPERM},
    {"fsopen", fsopen_, EPERM},
    {"keyctl", keyctl_, EPERM},
    {"add_key", add_key_, EPERM},
    {"bpf", bpf_, EPERM},
    {"perf_event_open", perf_, EPERM},
    {"init_module", init_module_, EPERM},
    {"kexec_load", kexec_, EPERM},
    {"reboot", reboot_, EPERM},
    {"swapon", swapon_, EPERM},
    {"acct", acct_, EPERM},
    {"clock_settime", clock_settime_, EPERM},
    {"syslog", syslog_, EPERM},
    {"open_by_handle_at", open_by_handle_, EPERM},
    {"userfaultfd", userfaultfd_, EPERM},
    {"io_uring_setup", io_uring_, EPERM},
    {"iopl", iopl_, EPERM},
    {"socket(AF_VSOCK)", vsock, EPERM},
    {"socket(AF_ALG)", alg, EPERM},
    {"socket(1 << 32 | AF_VSOCK)", vsock_high, EPERM},
    {"personality(ADDR_NO_RANDOMIZE)", persona_norandom, EPERM},
    {"syscall 1000", future, ENOSYS},
#if defined(__x86_64__)
    {"x32 getpid", x32_getpid, EPERM},
#endif
    /* Last: were they let through, the kernel would refuse much of the
     * above in the new user namespace. */
    {"unshare(CLONE_NEWNS)", unshare_mnt, EPERM},
    {"unshare(CLONE_NEWUSER)", unshare_user, EPERM},
  };
  run_checks(default_filter(), checks, N(checks));
}

Test(seccomp, default_refuses_other_abis) {
#if defined(__x86_64__)
  if (!have_int80()) {
    cr_skip_test("this kernel runs no int 0x80 (IA32 emulation is off)");
  }
  static const check_t checks[] = {{"int 0x80 getpid", int80_getpid, EPERM}};
  run_checks(default_filter(), checks, N(checks));
#else
  cr_skip_test("the int 0x80 check is for x86_64");
#endif
}

Test(seccomp, default_is_compiled_once) {
  const hcs__bpf_t *a = default_filter(), *b = default_filter();
  cr_assert_eq(a, b);
  cr_assert_eq(a->insns, b->insns);
}

/* Profiles in Docker's format */

static void compile(const char *json, uint64_t caps, hcs__bpf_t *out) {
  char why[256];
  int r = hcs__seccomp_from_json(json, caps, out, why, sizeof(why));
  cr_assert_eq(r, 0, "%d: %s", r, why);
  cr_assert(out->len > 0 && out->insns != NULL);
}

static long getcwd_(void) {
  char buf[256];
  return syscall(SYS_getcwd, buf, sizeof(buf));
}
static long prio_self(void) {
  return syscall(SYS_getpriority, PRIO_PROCESS, 0);
}
static long prio_4242(void) {
  return syscall(SYS_getpriority, PRIO_PROCESS, 4242);
}
static long dup_(int fd) {
  long r = syscall(SYS_dup, fd);
  if (r >= 0) {
    close((int)r);
  }
  return r;
}
static long dup_0(void) { return dup_(0); }
static long dup_1000(void) { return dup_(1000); }
static long dup_1001(void) { return dup_(1001); }
static long mseal_(void) { return syscall(462, 0, 0, 0); }

Test(seccomp, profile_rules_are_honoured) {
  /* Allow by default; getcwd refused with its own errno, getpriority for
   * one pid, dup of two fds (two comparisons of one argument: or-ed, as
   * runc does), an unknown name skipped, mseal named although libseccomp
   * 2.5.4 does not know it. */
  const char *json =
      "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
      " {\"names\": [\"no_such_syscall\", \"getcwd\"],"
      "  \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42,"
      "  \"comment\": \"refused\"},"
      " {\"name\": \"getpriority\", \"action\": \"SCMP_ACT_ERRNO\","
      "  \"errnoRet\": 77, \"args\": [{\"index\": 1, \"value\": 4242,"
      "  \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"}]},"
      " {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\","
      "  \"errnoRet\": 78, \"args\": ["
      "  {\"index\": 0, \"value\": 1000, \"op\": \"SCMP_CMP_EQ\"},"
      "  {\"index\": 0, \"value\": 1001, \"op\": \"SCMP_CMP_EQ\"}]},"
      " {\"names\": [\"mseal\"], \"action\": \"SCMP_ACT_ERRNO\","
      "  \"errnoRet\": 79}]}";
  hcs__bpf_t bpf;
  compile(json, HCS__SECCOMP_DOCKER_CAPS, &bpf);
  static const check_t checks[] = {
    {"getpid", getpid_, 0},
    {"getcwd", getcwd_, 42},
    {"getpriority(self)", prio_self, 0},
    {"getpriority(4242)", prio_4242, 77},
    {"dup(0)", dup_0, 0},
    {"dup(1000)", dup_1000, 78},
    {"dup(1001)", dup_1001, 78},
    {"mseal", mseal_, 79},
#if defined(__x86_64__)
    /* Under an allowing default, another ABI is still refused. */
    {"x32 getpid", x32_getpid, EPERM},
#endif
  };
  run_checks(&bpf, checks, N(checks));
  hcs__bpf_free(&bpf);
  cr_assert_null(bpf.insns);
}

Test(seccomp, profile_includes_and_excludes) {
  /* getcwd is refused only for CAP_SYS_ADMIN holders; getpid never (its
   * rule needs a kernel 99.0); dup never (excluded from 2.6 on). */
  const char *json =
      "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
      " {\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\","
      "  \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
      " {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\","
      "  \"includes\": {\"minKernel\": \"99.0\"}},"
      " {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\","
      "  \"excludes\": {\"minKernel\": \"2.6\", \"arches\": [\"s390\"]}}]}";
  hcs__bpf_t bpf;
  compile(json, HCS__SECCOMP_DOCKER_CAPS, &bpf);
  const check_t plain[] = {
      {"getcwd", getcwd_, 0}, {"getpid", getpid_, 0}, {"dup(0)", dup_0, 0}};
  run_checks(&bpf, plain, N(plain));
  hcs__bpf_free(&bpf);
  compile(json, HCS__SECCOMP_DOCKER_CAPS | UINT64_C(1) << CAP_SYS_ADMIN, &bpf);
  const check_t admin[] = {{"getcwd", getcwd_, EPERM}, {"getpid", getpid_, 0}};
  run_checks(&bpf, admin, N(admin));
  hcs__bpf_free(&bpf);
}

Test(seccomp, profile_with_several_abis) {
  /* Docker's own profiles list x86 and x32 beside x86_64 (archMap); rules
   * for syscalls libseccomp cannot name go to the native ABI only. */
  const char *json =
      "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,"
      " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\","
      "  \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]},"
      "  {\"architecture\": \"SCMP_ARCH_AARCH64\","
      "  \"subArchitectures\": [\"SCMP_ARCH_ARM\"]},"
      "  {\"architecture\": \"SCMP_ARCH_LOONGARCH64\","
      "  \"subArchitectures\": null}],"
      " \"syscalls\": [{\"names\": [\"read\", \"write\", \"mseal\","
      "  \"chown32\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
  hcs__bpf_t bpf;
  compile(json, HCS__SECCOMP_DOCKER_CAPS, &bpf);
  hcs__bpf_free(&bpf);
  compile("{\"defaultAction\": \"SCMP_ACT_KILL_PROCESS\","
          " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
          " \"syscalls\": [{\"names\": [\"getxattrat\"],"
          " \"action\": \"SCMP_ACT_ALLOW\"}]}",
          0, &bpf);
  hcs__bpf_free(&bpf);
}

Test(seccomp, bad_profiles_are_refused_by_field) {
  static const struct {
    const char *json, *why;
  } bad[] = {
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"bogus\": 1}",
       "bogus: unknown field"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\":"
       " [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"foo\": true}]}",
       "syscalls[0].foo: unknown field"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{},"
       " {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\":"
       " [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ABOUT\"}]}]}",
       "syscalls[0].action: required"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
       " {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\":"
       " [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ABOUT\"}]}]}",
       "syscalls[0].args[0].op: unknown operator"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
       " {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\":"
       " [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
       "syscalls[0].args[0].index: must be an integer from 0 to 5"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
       " {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\":"
       " [{\"index\": 0, \"value\": 1, \"valueTwo\": 2,"
       " \"op\": \"SCMP_CMP_EQ\"}]}]}",
       "syscalls[0].args[0].valueTwo: only with SCMP_CMP_MASKED_EQ"},
      {"{\"syscalls\": []}", "defaultAction: required"},
      {"{\"defaultAction\": \"SCMP_ACT_MAYBE\"}",
       "defaultAction: unknown action \"SCMP_ACT_MAYBE\""},
      {"{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}",
       "defaultAction: SCMP_ACT_NOTIFY needs a notify agent"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}",
       "defaultErrnoRet: only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 5000}",
       "defaultErrnoRet: must be an integer from 0 to 4095"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\","
       " \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"]}",
       "flags: not supported"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\"}",
       "listenerPath: not supported"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\":"
       " [\"SCMP_ARCH_X86_64\"], \"archMap\": []}",
       "archMap: given with architectures"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\":"
       " [\"SCMP_ARCH_PDP11\"]}",
       "architectures[0]: unknown architecture \"SCMP_ARCH_PDP11\""},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\":"
       " [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"includes\":"
       " {\"capabilities\": []}}]}",
       "syscalls[0].includes.capabilities: unknown field"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\":"
       " [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"excludes\":"
       " {\"minKernel\": \"4.8.1\"}}]}",
       "syscalls[0].excludes.minKernel: \"4.8.1\" is not"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\":"
       " [\"read\"], \"name\": \"write\", \"action\": \"SCMP_ACT_ERRNO\"}]}",
       "syscalls[0].name: given with names"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\":"
       " \"read\", \"action\": \"SCMP_ACT_ERRNO\"}]}",
       "syscalls[0].names: must be an array of strings"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
       "syscalls: must be an array"},
      {"{\"defaultAction\": ", "not JSON"},
      {"[]", "the profile must be a JSON object"},
  };
  for (size_t i = 0; i < N(bad); i++) {
    hcs__bpf_t bpf = {(void *)1, 1};
    char why[256];
    int r = hcs__seccomp_from_json(bad[i].json, HCS__SECCOMP_DOCKER_CAPS, &bpf,
                                   why, sizeof(why));
    cr_expect_eq(r, -EINVAL, "%s: %d", bad[i].json, r);
    cr_expect_not_null(strstr(why, bad[i].why), "%s\n  said: %s\n  wanted: %s",
                       bad[i].json, why, bad[i].why);
    cr_expect(bpf.insns == NULL && bpf.len == 0);
  }
  /* A short why is cut, and still terminated. */
  hcs__bpf_t bpf;
  char why[8];
  cr_assert_eq(
      hcs__seccomp_from_json("{\"bogus\": 1}", 0, &bpf, why, sizeof(why)),
      -EINVAL);
  cr_assert_eq(strlen(why), sizeof(why) - 1);
  cr_assert_eq(hcs__seccomp_from_json(NULL, 0, &bpf, NULL, 0), -EINVAL);
}
