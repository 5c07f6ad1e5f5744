/* SPDX-License-Identifier: MIT */
/* Seccomp filters: the default one and Docker-format profiles, compiled by
 * libseccomp to classic BPF (see seccomp.h).
 *
 * The default filter is Docker's default profile (moby
 * profiles/seccomp/default.json) as it comes out for a container with
 * Docker's default capabilities on a kernel of 4.8 or later: an allowlist,
 * everything else EPERM; clone only without namespace flags, clone3 ENOSYS
 * (libcs then fall back to clone), socket without AF_ALG and AF_VSOCK,
 * personality only to the values Docker allows. The table below is written
 * for this module, in its own grouping. Where it differs, on purpose:
 *
 * - Only the native ABI. Docker also lists x86 and x32 on x86_64 so that
 *   32-bit programs run; here a syscall made through another ABI (int 0x80,
 *   sysenter, the x32 bit) gets EPERM like any syscall not allowed. A
 *   32-bit socketcall(2) would reach AF_ALG and AF_VSOCK past Docker's
 *   socket rules, and one ABI keeps the filter short.
 * - socket(): Docker allows a family below AF_ALG, AF_ALG + 1 and above
 *   AF_VSOCK, comparing all 64 bits of the argument, while the kernel reads
 *   an int: (1 << 32 | AF_VSOCK) is "above AF_VSOCK" to the filter and
 *   AF_VSOCK to the kernel. Here a family above AF_VSOCK must be below 64
 *   with the upper bits clear (AF_MAX is 46 in Linux 6.x; what is refused
 *   here would have been EAFNOSUPPORT).
 * - Syscalls newer than the table: runc answers ENOSYS for a syscall
 *   number above the highest that its profile names, so that a libc that
 *   tries a new syscall falls back; Docker's filter therefore says ENOSYS,
 *   not EPERM, to them. A six-instruction prefix does the same here, for
 *   the default filter and for profiles whose default action refuses.
 * - Syscalls that Docker allows but that libseccomp 2.5.4 cannot name
 *   (statmount, listmount, mseal, the *xattrat family, uretprobe) are
 *   allowed by number (late_syscalls).
 * - ptrace and process_vm_readv/writev are allowed without Docker's
 *   "kernel 4.8 or later" condition: hcs needs a newer kernel anyway
 *   (pidfds).
 * - The rules Docker keeps for other architectures (arm, s390, ppc,
 *   riscv) are not in the table; built there, names that do not exist on
 *   the native ABI are skipped.
 *
 * Refused because Docker gives them only to capabilities outside the
 * default set: mount, umount2, pivot_root, unshare, setns, clone and
 * clone3 with namespace flags, the new mount API (fsopen, fsmount,
 * fsconfig, fspick, move_mount, open_tree, mount_setattr), bpf,
 * perf_event_open, fanotify_init, lookup_dcookie, quotactl, quotactl_fd,
 * sethostname, setdomainname, syslog, open_by_handle_at, reboot,
 * init_module, finit_module, delete_module, acct, kcmp, pidfd_getfd,
 * process_madvise, iopl, ioperm, settimeofday, clock_settime, vhangup,
 * mbind, get_mempolicy, set_mempolicy, lsm_*. Refused because Docker lists
 * them nowhere: keyctl, add_key, request_key, kexec_load,
 * kexec_file_load, swapon, swapoff, userfaultfd, io_uring_*, move_pages,
 * migrate_pages, _sysctl, uselib, ustat, sysfs, and the unimplemented
 * ones. chroot stays allowed (CAP_SYS_CHROOT is in the default set), and so
 * does name_to_handle_at (Docker allows it; open_by_handle_at, the half
 * that matters, is refused). */
#include "hcs/system/seccomp.h"
#include "hcs/system/seccomp_build.h"

#include "hcs-async.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * The default table */

/* Allowed whatever their arguments. */
static const char *const allow_any[] = {
    /* Programs, processes, threads. fork and vfork make no namespaces;
     * clone and clone3 have rules of their own below. */
    "execve", "execveat", "fork", "vfork", "exit", "exit_group", "wait4",
    "waitid", "getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid",
    "getsid", "setsid", "set_tid_address", "set_robust_list", "get_robust_list",
    "rseq", "restart_syscall", "prctl", "arch_prctl", "modify_ldt",
    "get_thread_area", "set_thread_area", "uretprobe", "pidfd_open",
    "pidfd_send_signal", "process_mrelease",
    /* Debugging and reading one's own children: ptrace cannot step around
     * seccomp since Linux 4.8, and the kernel's own checks apply. */
    "ptrace", "process_vm_readv", "process_vm_writev",
    /* Signals */
    "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask",
    "rt_sigpending", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigqueueinfo",
    "rt_tgsigqueueinfo", "rt_sigreturn", "sigaltstack", "signalfd", "signalfd4",
    "pause", "alarm",
    /* Clocks, sleeping, timers. adjtimex and clock_adjtime only read
     * without CAP_SYS_TIME. */
    "clock_gettime", "clock_getres", "clock_nanosleep", "clock_adjtime",
    "adjtimex", "gettimeofday", "time", "times", "nanosleep", "getitimer",
    "setitimer", "timer_create", "timer_delete", "timer_settime",
    "timer_gettime", "timer_getoverrun", "timerfd_create", "timerfd_settime",
    "timerfd_gettime",
    /* Memory */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore",
    "msync", "mlock", "mlock2", "mlockall", "munlock", "munlockall",
    "remap_file_pages", "membarrier", "memfd_create", "memfd_secret",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "map_shadow_stack", "mseal",
    /* Futexes */
    "futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
    /* Descriptors and file I/O */
    "open", "openat", "openat2", "creat", "close", "close_range", "dup", "dup2",
    "dup3", "read", "readv", "pread64", "preadv", "preadv2", "write", "writev",
    "pwrite64", "pwritev", "pwritev2", "lseek", "fcntl", "flock", "ioctl",
    "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "fallocate",
    "truncate", "ftruncate", "readahead", "fadvise64", "cachestat", "sendfile",
    "splice", "tee", "vmsplice", "copy_file_range", "pipe", "pipe2", "eventfd",
    "eventfd2", "inotify_init", "inotify_init1", "inotify_add_watch",
    "inotify_rm_watch", "fanotify_mark", "name_to_handle_at",
    /* Paths, directories, metadata */
    "access", "faccessat", "faccessat2", "stat", "lstat", "fstat", "newfstatat",
    "statx", "statfs", "fstatfs", "getcwd", "chdir", "fchdir", "chroot",
    "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link",
    "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "readlink",
    "readlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown",
    "fchownat", "lchown", "umask", "mknod", "mknodat", "utime", "utimes",
    "utimensat", "futimesat", "getdents", "getdents64", "statmount",
    "listmount",
    /* Extended attributes */
    "getxattr", "lgetxattr", "fgetxattr", "getxattrat", "setxattr", "lsetxattr",
    "fsetxattr", "setxattrat", "listxattr", "llistxattr", "flistxattr",
    "listxattrat", "removexattr", "lremovexattr", "fremovexattr",
    "removexattrat",
    /* Waiting for descriptors; Linux AIO. epoll_ctl_old and epoll_wait_old
     * are unimplemented and answer ENOSYS. */
    "select", "pselect6", "poll", "ppoll", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl_old",
    "epoll_wait_old", "io_setup", "io_destroy", "io_submit", "io_cancel",
    "io_getevents", "io_pgetevents",
    /* Sockets; socket() itself has rules of its own below. */
    "socketpair", "bind", "connect", "listen", "accept", "accept4",
    "getsockname", "getpeername", "getsockopt", "setsockopt", "sendto",
    "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg", "shutdown",
    /* System V IPC and POSIX message queues (the system's own namespace) */
    "msgget", "msgctl", "msgsnd", "msgrcv", "semget", "semctl", "semop",
    "semtimedop", "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink",
    "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    /* Scheduling and priorities (raising them needs CAP_SYS_NICE) */
    "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr",
    "sched_setattr", "sched_getparam", "sched_setparam", "sched_getscheduler",
    "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "sched_rr_get_interval", "getpriority", "setpriority", "ioprio_get",
    "ioprio_set", "getcpu",
    /* Credentials: what they may become is the capabilities' business. */
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
    "getgroups", "setuid", "setgid", "setreuid", "setregid", "setresuid",
    "setresgid", "setfsuid", "setfsgid", "setgroups", "capget", "capset",
    /* Limits, usage, system information, randomness */
    "getrlimit", "setrlimit", "prlimit64", "getrusage", "sysinfo", "uname",
    "getrandom",
    /* Confining oneself further */
    "seccomp", "landlock_create_ruleset", "landlock_add_rule",
    "landlock_restrict_self", NULL};

/* The namespace flags that clone(2) may not carry. */
#define NS_FLAGS                                                               \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |  \
   CLONE_NEWNET | CLONE_NEWCGROUP)

/* personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26 with
 * either, and 0xffffffff (a query). */
static const uint64_t personalities[] = {0x0, 0x8, 0x20000, 0x20008,
                                         0xffffffff};

/* Syscalls that libseccomp 2.5.4 may not name, with their numbers. From 424
 * on, every architecture but alpha numbers syscalls alike (the kernel's
 * scripts/syscall.tbl); uretprobe is x86_64's alone. Used when libseccomp
 * does not know the name. */
static const struct {
  const char *name;
  int nr;
} late_syscalls[] = {
    {"cachestat", 451},         {"fchmodat2", 452},
    {"map_shadow_stack", 453},  {"futex_wake", 454},
    {"futex_wait", 455},        {"futex_requeue", 456},
    {"statmount", 457},         {"listmount", 458},
    {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461},  {"mseal", 462},
    {"setxattrat", 463},        {"getxattrat", 464},
    {"listxattrat", 465},       {"removexattrat", 466},
    {"open_tree_attr", 467},    {"file_getattr", 468},
    {"file_setattr", 469},
#if defined(__x86_64__)
    {"uretprobe", 335},
#endif
};

/* Late: found in late_syscalls. */
int hcs__seccomp_resolve(const char *name, int *late) {
  int nr = seccomp_syscall_resolve_name(name);
  *late = nr == __NR_SCMP_ERROR;
  if (nr != __NR_SCMP_ERROR) {
    return nr;
  }
#if !defined(__alpha__)
  for (size_t i = 0; i < sizeof(late_syscalls) / sizeof(late_syscalls[0]);
       i++) {
    if (strcmp(late_syscalls[i].name, name) == 0) {
      return late_syscalls[i].nr;
    }
  }
#endif
  return __NR_SCMP_ERROR;
}

/* ---------------------------------------------------------------------------
 * Building a filter */

int hcs__seccomp_say(hcs__seccomp_build_t *b, int err, const char *fmt, ...) {
  if (b->why != NULL && b->why_len > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->why, b->why_len, fmt, ap);
    va_end(ap);
  }
  return err;
}

static int lets_through(uint32_t act) {
  return act == SCMP_ACT_ALLOW || act == SCMP_ACT_LOG;
}

/* A context for the native ABI with the attributes every filter has. */
static scmp_filter_ctx new_ctx(uint32_t defact, int *err) {
  scmp_filter_ctx ctx = seccomp_init(defact);
  if (ctx == NULL) {
    *err = -ENOMEM;
    return NULL;
  }
  /* A syscall through an ABI the filter does not list gets the default
   * action; under a default that lets syscalls through, EPERM, or int 0x80
   * would step around every rule. */
  uint32_t badarch = lets_through(defact) ? SCMP_ACT_ERRNO(EPERM) : defact;
  if ((*err = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) != 0 ||
      (*err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) != 0 ||
      (*err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badarch)) != 0 ||
      (*err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) != 0) {
    seccomp_release(ctx);
    return NULL;
  }
  return ctx;
}

int hcs__seccomp_build_init(hcs__seccomp_build_t *b, uint32_t defact, char *why,
                            size_t why_len) {
  memset(b, 0, sizeof(*b));
  b->defact = defact;
  b->max_nr = -1;
  b->why = why;
  b->why_len = why_len;
  int r;
  b->ctx = new_ctx(defact, &r);
  return b->ctx == NULL ? hcs__seccomp_say(b, r, "making a filter failed: %s",
                                           strerror(-r))
                        : 0;
}

/* Adds the ABI token (a libseccomp SCMP_ARCH_*) to the filter. */
int hcs__seccomp_build_arch(hcs__seccomp_build_t *b, uint32_t token) {
  uint32_t native = seccomp_arch_native();
  int r = 0;
  if (token == native) {
    return 0;
  }
  if (b->other == NULL) {
    if ((b->other = new_ctx(b->defact, &r)) == NULL) {
      return r;
    }
    if ((r = seccomp_arch_add(b->other, token)) == 0) {
      r = seccomp_arch_remove(b->other, native);
    }
    return r;
  }
  r = seccomp_arch_add(b->other, token);
  return r == -EEXIST ? 0 : r;
}

int hcs__seccomp_build_add(hcs__seccomp_build_t *b, uint32_t act, int nr,
                           int late, unsigned n,
                           const struct scmp_arg_cmp *cmp) {
  int r = seccomp_rule_add_array(b->ctx, act, nr, n, cmp);
  if (r == 0 && b->other != NULL && !late) {
    r = seccomp_rule_add_array(b->other, act, nr, n, cmp);
  }
  if (r == 0 && nr > b->max_nr) {
    b->max_nr = nr;
  }
  return r;
}

/* The ENOSYS prefix (see the top of the file): a syscall of the native ABI
 * numbered above max_nr answers ENOSYS before the filter proper runs. The
 * x32 bit is left to libseccomp, which refuses it unless x32 is listed. */
static unsigned enosys_prefix(struct sock_filter *s, uint32_t arch,
                              uint32_t max_nr) {
  const struct sock_filter p[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, max_nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
  if (s != NULL) {
    memcpy(s, p, sizeof(p));
  }
  return sizeof(p) / sizeof(p[0]);
}

int hcs__seccomp_read_at(int fd, void *dst, size_t size, off_t at) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = pread(fd, (char *)dst + got, size - got, at + (off_t)got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n < 0 ? -errno : -EIO;
    }
    got += (size_t)n;
  }
  return 0;
}

/* Exports the filter as raw BPF (seccomp_export_bpf writes to an fd; 2.5.4
 * has no in-memory form) behind the ENOSYS prefix when one applies, and
 * releases the context. */
int hcs__seccomp_build_finish(hcs__seccomp_build_t *b, hcs__bpf_t *out) {
  int r = 0;
  if (b->other != NULL) {
    r = seccomp_merge(b->ctx, b->other); /* frees other on success only */
    if (r != 0) {
      seccomp_release(b->other);
    }
    b->other = NULL;
  }
  int fd = r != 0 ? -1 : memfd_create("hcs-seccomp", MFD_CLOEXEC);
  if (r == 0) {
    r = fd < 0 ? -errno : seccomp_export_bpf(b->ctx, fd);
  }
  seccomp_release(b->ctx);
  b->ctx = NULL;
  if (r != 0) {
    if (fd >= 0) {
      close(fd);
    }
    return hcs__seccomp_say(b, r, "exporting the filter failed: %s",
                            strerror(-r));
  }
  off_t size = lseek(fd, 0, SEEK_END);
  int prefixed = !lets_through(b->defact) &&
                 b->defact != SCMP_ACT_ERRNO(ENOSYS) && b->max_nr >= 0;
  size_t pre = prefixed ? enosys_prefix(NULL, 0, 0) : 0;
  size_t n = size > 0 ? (size_t)size / sizeof(struct sock_filter) : 0;
  if (size <= 0 || (size_t)size % sizeof(struct sock_filter) != 0) {
    close(fd);
    return hcs__seccomp_say(b, -EIO, "libseccomp exported %lld bytes",
                            (long long)size);
  }
  if (pre + n > BPF_MAXINSNS) {
    close(fd);
    return hcs__seccomp_say(b, -E2BIG,
                            "the filter has %zu instructions, over %d", pre + n,
                            BPF_MAXINSNS);
  }
  struct sock_filter *insns = as_malloc((pre + n) * sizeof(*insns));
  if (insns == NULL) {
    close(fd);
    return hcs__seccomp_say(b, -ENOMEM, "out of memory");
  }
  if (prefixed) {
    enosys_prefix(insns, seccomp_arch_native(), (uint32_t)b->max_nr);
  }
  r = hcs__seccomp_read_at(fd, insns + pre, (size_t)size, 0);
  close(fd);
  if (r != 0) {
    as_free(insns);
    return hcs__seccomp_say(b, r, "reading the exported filter failed: %s",
                            strerror(-r));
  }
  out->insns = insns;
  out->len = (unsigned short)(pre + n);
  return 0;
}

void hcs__seccomp_build_abort(hcs__seccomp_build_t *b) {
  if (b->ctx != NULL) {
    seccomp_release(b->ctx);
    b->ctx = NULL;
  }
  if (b->other != NULL) {
    seccomp_release(b->other);
    b->other = NULL;
  }
}

void hcs__bpf_free(hcs__bpf_t *bpf) {
  as_free(bpf->insns);
  bpf->insns = NULL;
  bpf->len = 0;
}

/* ---------------------------------------------------------------------------
 * The default filter */

/* A comparison of the first argument, all 64 bits of it. */
#define A0(op, a, b) ((struct scmp_arg_cmp){0, (op), (a), (b)})

/* The syscalls Docker's default profile allows only to a process that
 * holds a capability outside the default set, by that capability. */
static const struct {
  int cap;
  const char *const names[24];
} cap_syscalls[] = {
    {CAP_DAC_READ_SEARCH, {"open_by_handle_at", NULL}},
    {CAP_SYS_ADMIN,
     {"bpf",
      "fanotify_init",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "lookup_dcookie",
      "mount",
      "mount_setattr",
      "move_mount",
      "open_tree",
      "perf_event_open",
      "quotactl",
      "quotactl_fd",
      "setdomainname",
      "sethostname",
      "setns",
      "syslog",
      "umount",
      "umount2",
      "unshare",
      NULL}},
    {CAP_SYS_BOOT, {"reboot", NULL}},
    {CAP_SYS_MODULE, {"delete_module", "init_module", "finit_module", NULL}},
    {CAP_SYS_PACCT, {"acct", NULL}},
    {CAP_SYS_PTRACE, {"kcmp", "pidfd_getfd", "process_madvise", NULL}},
    {CAP_SYS_RAWIO, {"iopl", "ioperm", NULL}},
    {CAP_SYS_TIME, {"settimeofday", "stime", "clock_settime", NULL}},
    {CAP_SYS_TTY_CONFIG, {"vhangup", NULL}},
    {CAP_SYS_NICE,
     {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node",
      NULL}},
    {CAP_SYSLOG, {"syslog", NULL}},
    {CAP_BPF, {"bpf", NULL}},
    {CAP_PERFMON, {"perf_event_open", NULL}},
};

/* Whether name was given a rule by an entry of cap_syscalls before
 * entry k that caps holds. */
static int cap_rule_seen(uint64_t caps, size_t k, const char *name) {
  for (size_t i = 0; i < k; i++) {
    for (size_t j = 0;
         (caps >> cap_syscalls[i].cap) & 1 && cap_syscalls[i].names[j] != NULL;
         j++) {
      if (strcmp(cap_syscalls[i].names[j], name) == 0) {
        return 1;
      }
    }
  }
  return 0;
}

static int cap_rules(hcs__seccomp_build_t *b, uint64_t caps) {
  int r = 0;
  for (size_t k = 0; k < sizeof(cap_syscalls) / sizeof(cap_syscalls[0]); k++) {
    for (size_t j = 0; (caps >> cap_syscalls[k].cap) & 1 &&
                       cap_syscalls[k].names[j] != NULL && r == 0;
         j++) {
      const char *name = cap_syscalls[k].names[j];
      int late, nr = hcs__seccomp_resolve(name, &late);
      if (nr != __NR_SCMP_ERROR && !cap_rule_seen(caps, k, name)) {
        r = hcs__seccomp_build_add(b, SCMP_ACT_ALLOW, nr, late, 0, NULL);
      }
    }
  }
  return r;
}

/* caps: the capabilities the filter's processes hold; CAP_SYS_ADMIN
 * lets clone and clone3 make namespaces, as under Docker. */
static int default_rules(hcs__seccomp_build_t *b, uint64_t caps) {
  int r = 0;
  for (size_t i = 0; allow_any[i] != NULL && r == 0; i++) {
    int late, nr = hcs__seccomp_resolve(allow_any[i], &late);
    if (nr != __NR_SCMP_ERROR) {
      r = hcs__seccomp_build_add(b, SCMP_ACT_ALLOW, nr, late, 0, NULL);
    }
  }
  /* clone's flags are its first argument on every ABI but s390's. */
  const struct scmp_arg_cmp no_ns = A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0);
  int admin = (caps >> CAP_SYS_ADMIN) & 1;
  if (r == 0) {
    r = hcs__seccomp_build_add(b, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0,
                               admin ? 0 : 1, &no_ns);
  }
  if (r == 0) {
    r = hcs__seccomp_build_add(b,
                               admin ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(ENOSYS),
                               SCMP_SYS(clone3), 0, 0, NULL);
  }
  if (r == 0) {
    r = cap_rules(b, caps);
  }
  /* socket(2): every family but AF_ALG (38) and AF_VSOCK (40), the upper
   * 32 bits clear; [41, 63] as four masked ranges. */
  const struct scmp_arg_cmp families[] = {
      A0(SCMP_CMP_LT, AF_ALG, 0),
      A0(SCMP_CMP_EQ, AF_ALG + 1, 0),
      A0(SCMP_CMP_EQ, 41, 0),
      A0(SCMP_CMP_MASKED_EQ, ~UINT64_C(1), 42),
      A0(SCMP_CMP_MASKED_EQ, ~UINT64_C(3), 44),
      A0(SCMP_CMP_MASKED_EQ, ~UINT64_C(15), 48),
  };
  _Static_assert(AF_VSOCK == AF_ALG + 2, "socket ranges assume AF_VSOCK 40");
  for (size_t i = 0; i < sizeof(families) / sizeof(families[0]) && r == 0;
       i++) {
    r = hcs__seccomp_build_add(b, SCMP_ACT_ALLOW, SCMP_SYS(socket), 0, 1,
                               &families[i]);
  }
  for (size_t i = 0;
       i < sizeof(personalities) / sizeof(personalities[0]) && r == 0; i++) {
    const struct scmp_arg_cmp eq = A0(SCMP_CMP_EQ, personalities[i], 0);
    r = hcs__seccomp_build_add(b, SCMP_ACT_ALLOW, SCMP_SYS(personality), 0, 1,
                               &eq);
  }
  return r;
}

static hcs__bpf_t default_bpf;
static int default_err;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static int default_for(uint64_t caps, hcs__bpf_t *out) {
  hcs__seccomp_build_t b;
  int r = hcs__seccomp_build_init(&b, SCMP_ACT_ERRNO(EPERM), NULL, 0);
  if (r == 0) {
    r = default_rules(&b, caps);
  }
  if (r == 0) {
    r = hcs__seccomp_build_finish(&b, out);
  }
  hcs__seccomp_build_abort(&b);
  return r;
}

static void default_build(void) {
  default_err = default_for(HCS__SECCOMP_DOCKER_CAPS, &default_bpf);
}

int hcs__seccomp_default_caps(uint64_t caps, hcs__bpf_t *out) {
  return default_for(caps, out);
}

int hcs__seccomp_default(const hcs__bpf_t **out) {
  pthread_once(&default_once, default_build);
  if (default_err != 0) {
    return default_err;
  }
  *out = &default_bpf;
  return 0;
}
