/* SPDX-License-Identifier: MIT */
/* Process creation. The child shares the engine's memory and the engine
 * thread is suspended until the child has called execve (CLONE_VM |
 * CLONE_VFORK, as posix_spawn does): no page tables are copied, so a spawn
 * costs the same in a 10 MiB engine as in a 10 GiB one. The child runs on
 * its own stack and, between clone and exec, makes raw system calls only.
 *
 * clone3 (Linux 5.3) gives the pidfd atomically with the child; where it is
 * refused (ENOSYS on old kernels, EPERM or ENOSYS under seccomp filters that
 * predate it) glibc's clone() plus pidfd_open() take over. The child is
 * cloned with exit_signal 0, but execve sets it to SIGCHLD (de_thread in
 * fs/exec.c, "we have changed execution domain"), so a waitpid(-1) in the
 * embedding program can reap a program the engine tracks: as__reap then
 * reads the status the kernel kept for the pidfd (Linux 6.15), and where
 * there is none the exit is reported as lost, never as a made-up code. */
#include "async/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The kernel's sigset is 64 bits on every architecture Linux runs on. */
enum {
  STACK_SIZE = 64 * 1024,
  KSIGSET_SIZE = 8,
  UNSHARE_REFUSED = -1, /* not an errno: close_range cannot unshare */
};

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

/* One-time kernel feature probe (a documented global): set when clone3 was
 * refused once, so later spawns go straight to the fallback. */
static volatile int clone3_refused;
/* Likewise: set when close_range refused CLOSE_RANGE_UNSHARE (Linux < 5.9),
 * so children get a copy of the fd table from clone instead. */
static volatile int unshare_refused;
/* Likewise: set when clone3 refused CLONE_CLEAR_SIGHAND (EINVAL before
 * Linux 5.5), so children reset their handlers one signal at a time. */
static volatile int clear_sighand_refused;

/* The child shares the engine's memory (CLONE_VM) and the engine waits
 * for it to exec or exit (CLONE_VFORK), so a failure is reported here, in
 * memory, as glibc's posix_spawn does: no error pipe, and six system calls
 * fewer per spawn than one would cost. */
typedef struct child_ctx_s {
  const as__child_t *c;
  volatile int fail_errno; /* set by the child before it exits */
  volatile int fail_stage;
  /* On the fallback (glibc clone) path also a close-on-exec pipe: memory
   * written by the child is not always the engine's there (valgrind runs
   * a CLONE_VM|CLONE_VFORK child as a fork). -1 on the clone3 path. */
  int errfd;
  int shared_top;      /* > 0: the fd table is the engine's until unshared,
                          keeping only the fds below shared_top (the slots) */
  int slot[3];         /* with shared_top: where the stdio sources are */
  int sighand_cleared; /* cloned with CLONE_CLEAR_SIGHAND */
  int proc_fd;         /* the engine's /proc (O_PATH), or -1 */
  int at_ns_root;      /* the working directory is the container's root */
  pid_t ns_pid;        /* written by the child: its pid in its own namespace */
} child_ctx_t;

#if defined(__x86_64__)
/* clone3 with a new stack cannot return into C: the child would unwind a
 * frame that belongs to the suspended parent. This stub calls fn(arg) on
 * the new stack in the child and exits with its result; in the parent it
 * returns the syscall's result (pid or -errno). r8/r9 survive the syscall
 * in both; rcx and r11 do not. */
long as__clone3_call(struct clone_args *args, size_t size, int (*fn)(void *),
                     void *arg);
__asm__(".text\n"
        ".globl as__clone3_call\n"
        ".hidden as__clone3_call\n"
        ".type as__clone3_call,@function\n"
        "as__clone3_call:\n"
        "  movq %rcx, %r8\n"
        "  movq %rdx, %r9\n"
        "  movl $435, %eax\n"
        "  syscall\n"
        "  testq %rax, %rax\n"
        "  jnz 1f\n"
        "  xorl %ebp, %ebp\n"
        "  movq %r8, %rdi\n"
        "  callq *%r9\n"
        "  movl %eax, %edi\n"
        "  movl $60, %eax\n"
        "  syscall\n"
        "  hlt\n"
        "1:\n"
        "  ret\n"
        ".size as__clone3_call, .-as__clone3_call\n");
#define HAVE_CLONE3_CALL 1
#endif

void as__spawn_use_clone3(int on) { clone3_refused = !on; }

void as__spawn_use_clear_sighand(int on) { clear_sighand_refused = !on; }

int as__spawn_clear_sighand_used(void) {
  return as__spawn_clone3_used() && !clear_sighand_refused;
}

int as__spawn_clone3_used(void) {
#ifdef HAVE_CLONE3_CALL
  return !clone3_refused;
#else
  return 0;
#endif
}

static void spawn_stack_proc_close(as__spawn_stack_t *st) {
  if (st->proc_fd >= 0) {
    close(st->proc_fd);
  }
  st->proc_fd = -1;
}

int as__spawn_stack_init(as__spawn_stack_t *st) {
  st->slot_top = 0;
  st->proc_fd = -1; /* opened by the first spawn that needs it */
  st->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (st->null_fd < 0) {
    int err = -errno;
    spawn_stack_proc_close(st);
    return err;
  }
  for (int i = 0; i < 3; i++) {
    st->slot[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (st->slot[i] < 0) {
      int err = -errno;
      while (--i >= 0) {
        close(st->slot[i]);
      }
      close(st->null_fd);
      spawn_stack_proc_close(st);
      return err;
    }
    if (st->slot[i] + 1 > st->slot_top) {
      st->slot_top = st->slot[i] + 1;
    }
  }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t size = STACK_SIZE + page;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) {
    int err = -errno;
    for (int i = 0; i < 3; i++) {
      close(st->slot[i]);
    }
    close(st->null_fd);
    spawn_stack_proc_close(st);
    return err;
  }
  if (mprotect(p, page, PROT_NONE) != 0) {
    int err = -errno;
    munmap(p, size);
    for (int i = 0; i < 3; i++) {
      close(st->slot[i]);
    }
    close(st->null_fd);
    spawn_stack_proc_close(st);
    return err;
  }
  st->base = p;
  st->size = size;
  return 0;
}

void as__spawn_stack_free(as__spawn_stack_t *st) {
  for (int i = 0; i < 3 && st->slot_top > 0; i++) {
    close(st->slot[i]);
  }
  if (st->slot_top > 0) {
    close(st->null_fd);
    spawn_stack_proc_close(st);
  }
  st->slot_top = 0;
  if (st->base != NULL) {
    munmap(st->base, st->size);
    st->base = NULL;
  }
}

/* Everything from here to child_main runs in the child: raw syscalls only,
 * no allocation, no locks, no sanitizer runtime. */
#define CHILD_FN __attribute__((no_sanitize("address", "undefined")))

CHILD_FN static long child_sys(long nr, long a, long b, long c) {
  return syscall(nr, a, b, c);
}

/* Reports what failed: the errno and the stage (enum as_stage). */
CHILD_FN static void child_fail(child_ctx_t *ctx, int err, int stage) {
  ctx->fail_stage = stage;
  ctx->fail_errno = err;
  if (ctx->errfd >= 0) {
    int msg[2] = {err, stage};
    (void)child_sys(SYS_write, ctx->errfd, (long)msg, sizeof(msg));
  }
  syscall(SYS_exit_group, 127);
}

/* Installs the child's seccomp filter, or fails the spawn. */
CHILD_FN static void child_seccomp(child_ctx_t *ctx,
                                   const struct sock_fprog *f) {
  if (child_sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)f) != 0) {
    child_fail(ctx, errno, AS_STAGE_SETUP);
  }
}

CHILD_FN static size_t child_strlen(const char *s) {
  size_t n = 0;
  while (s[n] != '\0') {
    n++;
  }
  return n;
}

/* execvpe's search, without allocation: EACCES from any candidate wins over
 * ENOENT; errors that say the file exists but is unusable stop the search. */
CHILD_FN static int child_exec_path(const as__child_t *c) {
  char buf[4096];
  size_t flen = child_strlen(c->file);
  int seen_eacces = 0;
  const char *p = c->path;
  for (;;) {
    const char *end = p;
    while (*end != '\0' && *end != ':') {
      end++;
    }
    size_t dlen = (size_t)(end - p);
    if (dlen + flen + 2 <= sizeof(buf)) {
      size_t n = 0;
      for (size_t i = 0; i < dlen; i++) {
        buf[n++] = p[i];
      }
      if (dlen == 0) {
        buf[n++] = '.';
      }
      buf[n++] = '/';
      for (size_t i = 0; i <= flen; i++) {
        buf[n++] = c->file[i];
      }
      (void)child_sys(SYS_execve, (long)buf, (long)c->argv, (long)c->envp);
      int err = errno;
      if (err == EACCES) {
        seen_eacces = 1;
      } else if (err != ENOENT && err != ENOTDIR && err != ESTALE &&
                 err != ENODEV && err != ETIMEDOUT) {
        return err;
      }
    }
    if (*end == '\0') {
      break;
    }
    p = end + 1;
  }
  return seen_eacces ? EACCES : ENOENT;
}

/* Joins the cgroups (writing 0 to a cgroup.procs moves the writer) and the
 * namespaces of a container. Runs before the fd shuffle: the fds named
 * here are the engine's. The pid namespace was chosen by the parent
 * (pid_for_children), since setns cannot move the caller itself. */
CHILD_FN static int child_join(const as__child_t *c) {
  for (size_t i = 0; i < c->n_cgroup_fds; i++) {
    if (child_sys(SYS_write, c->cgroup_fds[i], (long)"0", 1) != 1) {
      return errno;
    }
  }
  unsigned others = c->ns_flags & ~(unsigned)CLONE_NEWPID;
  if (others != 0 && child_sys(SYS_setns, c->ns_pidfd, (long)others, 0) != 0) {
    return errno;
  }
  return 0;
}

/* Keeps only the capabilities in caps in the bounding set (it needs
 * CAP_SETPCAP, which the drop may remove, so it comes first) and clears
 * the ambient set; the process's own sets follow later (as__capset).
 * Capabilities the kernel knows beyond our headers are dropped too: the
 * loop ends where PR_CAPBSET_DROP says EINVAL. With no_new_privs the
 * bounding set adds no barrier of its own (execve never raises the
 * permitted set then), but a program that reads its CapBnd, or a later
 * capset of the inheritable set, must see the container's set and not
 * the engine's (CVE-2022-29162 class). Each drop costs a prepare_creds /
 * commit_creds pair, which is why spawners (spawner.c) do it once per
 * container. Raw system calls: it runs between clone and exec too. */
CHILD_FN int as__cut_bounding(uint64_t caps) {
  for (long cap = 0; cap < 64; cap++) {
    if ((caps >> cap) & 1) {
      continue;
    }
    if (child_sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0) != 0) {
      if (errno == EINVAL) {
        break;
      }
      return errno;
    }
  }
  if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) !=
          0 &&
      errno != EINVAL) {
    return errno;
  }
  return 0;
}

/* The process's own sets become caps (a root process) or nothing (one that
 * became another user). The inheritable set is inh, empty unless the
 * caller asked for one (as_spawn_opts_t.caps_inheritable): with it, a
 * program carrying inheritable file capabilities gains them at execve
 * (CVE-2022-29162), which is what an OCI config that lists them wants. */
CHILD_FN int as__capset(uint64_t caps, uint64_t inh) {
  struct __user_cap_header_struct hdr = {.version =
                                             _LINUX_CAPABILITY_VERSION_3};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    uint32_t v = (uint32_t)(caps >> (32 * i));
    data[i].effective = data[i].permitted = v;
    data[i].inheritable = (uint32_t)(inh >> (32 * i));
  }
  return child_sys(SYS_capset, (long)&hdr, (long)data, 0) != 0 ? errno : 0;
}

/* The 16 hex digits after key in the text of /proc/PID/status, into
 * *set. 0, or -1 when the line is not there whole. */
CHILD_FN static int child_hex_line(const char *text, size_t len,
                                   const char *key, uint64_t *set) {
  size_t klen = child_strlen(key);
  for (size_t i = 0; i + klen + 16 <= len; i++) {
    size_t k = 0;
    while (k < klen && text[i + k] == key[k]) {
      k++;
    }
    if (k < klen) {
      continue;
    }
    uint64_t v = 0;
    for (const char *h = text + i + klen; h < text + i + klen + 16; h++) {
      int d = *h >= '0' && *h <= '9'   ? *h - '0'
              : *h >= 'a' && *h <= 'f' ? *h - 'a' + 10
                                       : -1;
      if (d < 0) {
        return -1;
      }
      v = v << 4 | (uint64_t)d;
    }
    *set = v;
    return 0;
  }
  return -1;
}

/* The signals the child's own copy of the handlers ignores and catches,
 * as its /proc/PID/status prints them (SigIgn, SigCgt): three system
 * calls where asking sigaction signal by signal takes 64, and race-free,
 * for no other task can change this copy. proc_fd is the engine's /proc,
 * which holds the child under its host pid ("self") whatever namespace it
 * has joined. 0, or -1 when /proc cannot tell (not there, another pid
 * namespace's, no such lines): the caller then asks sigaction. */
CHILD_FN static int child_sigsets(int proc_fd, uint64_t *ign, uint64_t *cgt) {
  if (proc_fd < 0) {
    return -1;
  }
  long fd =
      child_sys(SYS_openat, proc_fd, (long)"self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  char buf[4096];
  long n = child_sys(SYS_read, fd, (long)buf, sizeof(buf));
  (void)child_sys(SYS_close, fd, 0, 0);
  if (n <= 0) {
    return -1;
  }
  if (child_hex_line(buf, (size_t)n, "\nSigIgn:\t", ign) != 0 ||
      child_hex_line(buf, (size_t)n, "\nSigCgt:\t", cgt) != 0) {
    return -1;
  }
  return 0;
}

/* Handlers of the engine's process must not run here, in its memory:
 * every caught signal goes back to its default before the mask opens. A
 * signal the engine's process ignores stays ignored for a program on the
 * host, as across execve (`nohup hcs run ...`); a container's program
 * starts with every signal at its default, whatever the host process was
 * started with. SIGPIPE is ignored by the engine (as_loop_new), not by
 * the program: it is reset in both. */
CHILD_FN static void child_reset_signals(const child_ctx_t *ctx) {
  /* The kernel's struct sigaction, not glibc's: the handler comes first
   * on every architecture, and all zeroes means SIG_DFL. */
  unsigned long dfl[8] = {0};
  int reset_ignored = ctx->c->ns_flags != 0 || ctx->c->spawner != NULL;
  if (ctx->sighand_cleared && !reset_ignored) {
    /* clone3 has reset the caught ones and kept the ignored ones (see
     * flush_signal_handlers): only SIGPIPE is left, one call instead of
     * one per signal. */
    (void)syscall(SYS_rt_sigaction, SIGPIPE, dfl, NULL, KSIGSET_SIZE);
    return;
  }
  uint64_t ign, cgt;
  if (child_sigsets(ctx->proc_fd, &ign, &cgt) == 0) {
    uint64_t reset =
        cgt | (reset_ignored ? ign : ign & (UINT64_C(1) << (SIGPIPE - 1)));
    for (int sig = 1; sig <= 64; sig++) {
      if ((reset >> (sig - 1)) & 1) {
        (void)syscall(SYS_rt_sigaction, sig, dfl, NULL, KSIGSET_SIZE);
      }
    }
    return;
  }
  for (int sig = 1; sig < NSIG; sig++) {
    unsigned long ksa[8] = {0};
    if (sig == SIGKILL || sig == SIGSTOP ||
        syscall(SYS_rt_sigaction, sig, NULL, ksa, KSIGSET_SIZE) != 0) {
      continue;
    }
    if (ksa[0] != (unsigned long)SIG_DFL &&
        (ksa[0] != (unsigned long)SIG_IGN || sig == SIGPIPE || reset_ignored)) {
      (void)syscall(SYS_rt_sigaction, sig, dfl, NULL, KSIGSET_SIZE);
    }
  }
}

/* Writes the child's oom_score_adj while /proc is one where it is
 * "self": the engine's (before a join), or the container's for a
 * spawner's clone, already in its pid namespace. The fd table may still
 * be the engine's: the fd is closed at once. 0 or an errno. */
CHILD_FN static int child_oom_score_adj(int v) {
  char buf[8], *p = buf + sizeof(buf);
  unsigned u = v < 0 ? (unsigned)-v : (unsigned)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) {
    *--p = '-';
  }
  long fd = child_sys(SYS_openat, AT_FDCWD, (long)"/proc/self/oom_score_adj",
                      O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  long n = child_sys(SYS_write, fd, (long)p, buf + sizeof(buf) - p);
  int err = n < 0 ? errno : 0;
  (void)child_sys(SYS_close, fd, 0, 0);
  return err;
}

CHILD_FN static int child_main(void *arg) {
  child_ctx_t *ctx = arg;
  const as__child_t *c = ctx->c;
  int fd[3] = {c->fd[0], c->fd[1], c->fd[2]};

  child_reset_signals(ctx);
  ctx->ns_pid = (pid_t)syscall(SYS_getpid);
  if (c->set_oom_score_adj) {
    int err = child_oom_score_adj(c->oom_score_adj);
    if (err != 0) {
      child_fail(ctx, err, AS_STAGE_SETUP);
    }
  }
  if (c->n_cgroup_fds != 0 || c->ns_flags != 0) {
    int err = child_join(c);
    if (err != 0) {
      child_fail(ctx, err, AS_STAGE_SETUP);
    }
  }
  /* The container's root, where a mount namespace of its own would have
   * put it: the engine's fd, before the shuffle; no CLONE_FS, so the
   * engine keeps its own root. */
  if (c->set_root && (child_sys(SYS_fchdir, c->root_fd, 0, 0) < 0 ||
                      child_sys(SYS_chroot, (long)".", 0, 0) < 0)) {
    child_fail(ctx, errno, AS_STAGE_SETUP);
  }
  if (ctx->shared_top > 0) {
    /* Our own table at last, holding only the low fds: the copy costs the
     * slots, not the thousands of fds a busy engine has open (Linux 5.9;
     * the sentinel tells the engine to stop asking). */
    if (child_sys(SYS_close_range, ctx->shared_top, ~0U, CLOSE_RANGE_UNSHARE) !=
        0) {
      child_fail(ctx, UNSHARE_REFUSED, AS_STAGE_SETUP);
    }
    fd[0] = ctx->slot[0];
    fd[1] = ctx->slot[1];
    fd[2] = ctx->slot[2];
  }
  if (c->set_caps) {
    int err = as__cut_bounding(c->caps);
    if (err != 0) {
      child_fail(ctx, err, AS_STAGE_SETUP);
    }
  }

  /* Lift every source fd (and the error pipe) above 2 so that placing one
   * cannot overwrite another. */
  for (int i = 0; i < 3; i++) {
    if (fd[i] <= 2 && fd[i] != i) {
      fd[i] = (int)child_sys(SYS_fcntl, fd[i], F_DUPFD_CLOEXEC, 3);
      if (fd[i] < 0) {
        child_fail(ctx, errno, AS_STAGE_SETUP);
      }
    }
  }
  if (ctx->errfd >= 0 && ctx->errfd <= 2) {
    ctx->errfd = (int)child_sys(SYS_fcntl, ctx->errfd, F_DUPFD_CLOEXEC, 3);
  }
  for (int i = 0; i < 3; i++) {
    long r = fd[i] == i ? child_sys(SYS_fcntl, i, F_SETFD, 0)
                        : child_sys(SYS_dup2, fd[i], i, 0);
    if (r < 0) {
      child_fail(ctx, errno, AS_STAGE_SETUP);
    }
  }
  /* Nothing but 0, 1 and 2 (and the error pipe at 3, close-on-exec)
   * survives. On a kernel before 5.9 close_range is missing; every engine
   * fd is close-on-exec from birth, so the loss is fds other code leaked. */
  int keep = 3;
  if (ctx->errfd >= 0) {
    if (ctx->errfd != 3 && syscall(SYS_dup3, ctx->errfd, 3, O_CLOEXEC) < 0) {
      child_fail(ctx, errno, AS_STAGE_SETUP);
    }
    ctx->errfd = 3;
    keep = 4;
  }
  (void)child_sys(SYS_close_range, keep, ~0U, 0);

  if (c->new_pgrp && child_sys(SYS_setpgid, 0, 0, 0) < 0) {
    child_fail(ctx, errno, AS_STAGE_SETUP);
  }
  if (c->ctty) {
    if (child_sys(SYS_setsid, 0, 0, 0) < 0 ||
        child_sys(SYS_ioctl, 0, TIOCSCTTY, 0) < 0) {
      child_fail(ctx, errno, AS_STAGE_SETUP);
    }
  }
  for (size_t i = 0; i < c->n_rlimits; i++) {
    const uint64_t lim[2] = {c->rlimits[i].soft, c->rlimits[i].hard};
    if (syscall(SYS_prlimit64, 0, c->rlimits[i].resource, lim, NULL) != 0) {
      child_fail(ctx, errno, AS_STAGE_SETUP);
    }
  }
  /* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN,
   * which the uid change or the capset below may take away: the filter
   * goes on now, and judges the calls that follow (Docker's profile
   * allows them all). */
  if (!c->no_new_privs && c->seccomp != NULL) {
    child_seccomp(ctx, c->seccomp);
  }
  /* Groups before the uid: once the uid is dropped, setgroups is
   * refused. */
  int keep_caps =
      c->set_ids && c->set_caps && c->user_keeps_caps && c->uid != 0;
  if (keep_caps && syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    child_fail(ctx, errno, AS_STAGE_SETUP);
  }
  if (c->set_ids &&
      (child_sys(SYS_setgroups, (long)c->n_groups, (long)c->groups, 0) < 0 ||
       child_sys(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
       child_sys(SYS_setresuid, c->uid, c->uid, c->uid) < 0)) {
    child_fail(ctx, errno, AS_STAGE_USER);
  }
  /* After the uid change: a root process (or one told to keep them)
   * keeps exactly c->caps, and one that became another user has none
   * left to keep (setresuid cleared its permitted set). */
  if (c->set_caps) {
    int err = as__capset(!c->set_ids || c->uid == 0 || keep_caps ? c->caps : 0,
                         c->caps_inheritable);
    for (long cap = 0; err == 0 && cap < 64; cap++) {
      if (((c->caps_ambient >> cap) & 1) &&
          syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) !=
              0) {
        err = errno;
      }
    }
    if (err != 0) {
      child_fail(ctx, err, AS_STAGE_SETUP);
    }
  }
  if (c->set_umask) {
    (void)child_sys(SYS_umask, c->umask, 0, 0);
  }
  if (c->no_new_privs &&
      syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    child_fail(ctx, errno, AS_STAGE_SETUP);
  }
  /* setns into a mount namespace has just made its root the working
   * directory (mntns_install, setns(2)), here or on the spawner's thread,
   * whose fs_struct the clone copied: chdir("/") would find it again. */
  int at_root = ((c->ns_flags & CLONE_NEWNS) || ctx->at_ns_root) &&
                c->cwd != NULL && c->cwd[0] == '/' && c->cwd[1] == '\0';
  if (c->cwd != NULL && !at_root &&
      child_sys(SYS_chdir, (long)c->cwd, 0, 0) < 0) {
    child_fail(ctx, errno, AS_STAGE_CWD);
  }
  /* A program starts with no signal blocked, whatever the engine thread
   * blocks, as runc and docker give it. */
  unsigned long none = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, KSIGSET_SIZE) < 0) {
    child_fail(ctx, errno, AS_STAGE_SETUP);
  }
  /* Last: from here on the filter judges every call, execve included. */
  if (c->no_new_privs && c->seccomp != NULL) {
    child_seccomp(ctx, c->seccomp);
  }
  int err;
  if (c->path == NULL) {
    (void)child_sys(SYS_execve, (long)c->file, (long)c->argv, (long)c->envp);
    err = errno;
  } else {
    err = child_exec_path(c);
  }
  child_fail(ctx, err, AS_STAGE_EXEC);
  return 127;
}

/* One-time kernel feature probe (a documented global): 1 when pidfd_open
 * works, 0 when the kernel (or valgrind) does not know it, -1 unknown. */
static volatile int pidfd_works = -1;

static int pidfd_available(void) {
  if (pidfd_works < 0) {
    long fd = syscall(SYS_pidfd_open, getpid(), 0);
    pidfd_works = fd >= 0 || errno != ENOSYS;
    if (fd >= 0) {
      close((int)fd);
    }
  }
  return pidfd_works;
}

static int clone_fallback(child_ctx_t *ctx, char *top, pid_t *pid, int *pidfd);

#ifdef HAVE_CLONE3_CALL
/* clone3, with CLONE_CLEAR_SIGHAND where the kernel takes it (Linux 5.5):
 * the kernel then resets the child's handlers as it copies them, sparing
 * the child a system call or two per signal. A kernel that predates the
 * flag refuses the whole call with EINVAL; the answer is kept once the
 * same call without it has been taken. */
static long clone3_sighand(struct clone_args *args, child_ctx_t *ctx) {
  if (!clear_sighand_refused) {
    ctx->sighand_cleared = 1;
    args->flags |= CLONE_CLEAR_SIGHAND;
    long r = as__clone3_call(args, sizeof(*args), child_main, ctx);
    if (r != -EINVAL) {
      return r;
    }
    args->flags &= ~CLONE_CLEAR_SIGHAND;
  }
  ctx->sighand_cleared = 0;
  long r = as__clone3_call(args, sizeof(*args), child_main, ctx);
  if (r != -EINVAL && !clear_sighand_refused) {
    clear_sighand_refused = 1;
  }
  return r;
}
#endif

static int clone_child(child_ctx_t *ctx, as__spawn_stack_t *st, pid_t *pid,
                       int *pidfd) {
  char *top = (char *)st->base + st->size;
  int fd = -1;
#ifdef HAVE_CLONE3_CALL
  if (!clone3_refused) {
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD |
                 (ctx->shared_top > 0 ? CLONE_FILES : 0);
    args.pidfd = (uint64_t)(uintptr_t)&fd;
    args.exit_signal = 0;
    args.stack = (uint64_t)(uintptr_t)st->base;
    args.stack_size = st->size;
    long r = clone3_sighand(&args, ctx);
    if (r > 0) {
      *pid = (pid_t)r;
      *pidfd = fd;
      return 0;
    }
    if (r != -ENOSYS && r != -EPERM) {
      return (int)r;
    }
    clone3_refused = 1;
  }
#endif
  ctx->sighand_cleared = 0;
  /* The fallback child gets a copy of the fd table from clone: it takes
   * its stdio from where it is, not through the slots. */
  ctx->shared_top = 0;
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0) {
    return -errno;
  }
  ctx->errfd = ep[1];
  int r = clone_fallback(ctx, top, pid, pidfd);
  close(ep[1]);
  ctx->errfd = -1;
  int msg[2];
  ssize_t n = r == 0 ? read(ep[0], msg, sizeof(msg)) : 0;
  close(ep[0]);
  if (n == (ssize_t)sizeof(msg)) {
    ctx->fail_errno = msg[0];
    ctx->fail_stage = msg[1];
  }
  return r;
}

int as__spawner_clone(as__spawner_req_t *q) {
  /* glibc's clone: the thread's seccomp filter (if any) answers clone3
   * with ENOSYS, and CLONE_PIDFD through clone stores the pidfd at the
   * parent-tid argument (Linux 5.2). No exit signal, as on the engine's
   * own path. */
  int fd = -1;
  int r = clone(q->fn, q->stack_top,
                CLONE_VM | CLONE_VFORK | CLONE_PIDFD | q->flags, q->arg, &fd);
  if (r < 0) {
    return -errno;
  }
  q->pid = r;
  q->pidfd = fd;
  return 0;
}

/* glibc's clone, then pidfd_open; or, with no pidfds at all, SIGCHLD. */
static int clone_fallback(child_ctx_t *ctx, char *top, pid_t *pid, int *pidfd) {
  if (!pidfd_available()) {
    /* No pidfd at all (before Linux 5.3, or valgrind 3.19, which knows
     * neither clone3 nor pidfd_open): the child reports its exit with
     * SIGCHLD and the engine reaps it by pid (loop.c). */
    int r = clone(child_main, top, CLONE_VM | CLONE_VFORK | SIGCHLD, ctx);
    if (r < 0) {
      return -errno;
    }
    *pid = r;
    *pidfd = -1;
    return 0;
  }
  int r = clone(child_main, top, CLONE_VM | CLONE_VFORK, ctx);
  if (r < 0) {
    return -errno;
  }
  *pid = r;
  /* The child has exec'ed or exited and is unreaped, so its pid cannot have
   * been reused yet: pidfd_open names exactly this child. */
  long f = syscall(SYS_pidfd_open, r, 0);
  if (f < 0) {
    int err = -errno;
    int status;
    (void)kill(r, SIGKILL);
    (void)waitpid(r, &status, __WALL);
    return err;
  }
  *pidfd = (int)f;
  return 0;
}

/* The pid namespace of a child is its parent thread's pid_for_children:
 * the engine thread moves it into the container's for the clone, and back
 * to its own active one after. */
static int enter_pidns(const as__child_t *c) {
  if (!(c->ns_flags & CLONE_NEWPID)) {
    return 0;
  }
  return setns(c->ns_pidfd, CLONE_NEWPID) != 0 ? -errno : 0;
}

static void leave_pidns(const as__child_t *c) {
  if ((c->ns_flags & CLONE_NEWPID) && setns(c->own_pidns, CLONE_NEWPID) != 0) {
    abort(); /* impossible: a thread may always return to its active ns */
  }
}

int as__spawn(const as__child_t *c, as__spawn_stack_t *st, pid_t *pid,
              int *pidfd, int *exec_errno, int *exec_stage, pid_t *ns_pid) {
  /* A child joining a container shares this process's memory and fd table
   * until execve, and is visible in the container's pid namespace from the
   * clone on. Dumpable is a property of the memory, so it is cleared here
   * for the engine and the child alike: no process of the container can
   * then open /proc/PID/{mem,maps,environ,exe,fd} of either or ptrace them
   * (that takes CAP_SYS_PTRACE, which containers do not get). execve
   * makes the program dumpable again, with its own memory. The engine
   * stays undumpable from here on: no other thread can then clear it
   * while a child is between clone and execve. */
  if (c->ns_flags != 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return -errno;
  }
  /* Where a child that must reset its handlers one by one (it joins a
   * container) reads which ones are set (child_sigsets); without it, it
   * asks sigaction, signal by signal. Opened at the first such spawn, so
   * that a service that never starts one holds no fd for it. */
  if ((c->ns_flags != 0 || c->spawner != NULL) && st->proc_fd < 0) {
    st->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  int r = enter_pidns(c);
  if (r != 0) {
    return r;
  }
  /* The child starts with the mask of the thread that clones it: every
   * signal blocked. A spawner's thread has blocked them all for good
   * (spawner.c), and this thread only waits for it meanwhile. */
  int block = c->spawner == NULL;
  sigset_t all, old;
  sigfillset(&all);
  if (block) {
    pthread_sigmask(SIG_SETMASK, &all, &old);
  }
  child_ctx_t ctx = {.c = c, .errfd = -1, .proc_fd = st->proc_fd};
  int shared = !unshare_refused && !clone3_refused && st->slot_top > 0;
  for (int i = 0; i < 3 && shared; i++) {
    /* The child shares this fd table until it unshares it, keeping only
     * the fds below slot_top: its stdio goes there. dup3 keeps the slots
     * close-on-exec for other threads' children meanwhile. */
    shared = dup3(c->fd[i], st->slot[i], O_CLOEXEC) >= 0;
  }
  if (shared) {
    ctx.shared_top = st->slot_top;
    memcpy(ctx.slot, st->slot, sizeof(ctx.slot));
  }
  if (c->spawner != NULL) {
    ctx.at_ns_root = as__spawner_joined_mnt(c->spawner);
    as__spawner_req_t q = {.fn = child_main,
                           .arg = &ctx,
                           .stack_top = (char *)st->base + st->size,
                           .flags = ctx.shared_top > 0 ? CLONE_FILES : 0};
    r = as__spawner_run(c->spawner, &q);
    *pid = q.pid;
    *pidfd = q.pidfd;
  } else {
    r = clone_child(&ctx, st, pid, pidfd);
  }
  for (int i = 0; i < 3 && st->slot_top > 0; i++) {
    /* The slots let go of the child's pipes, or the engine would hold
     * their write ends open and never see EOF. */
    (void)dup3(st->null_fd, st->slot[i], O_CLOEXEC);
  }
  if (block) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  leave_pidns(c);
  if (r != 0) {
    return r;
  }
  /* CLONE_VFORK: the child has exec'ed, or written what failed and
   * exited, before clone returned here. */
  *exec_errno = ctx.fail_errno;
  *exec_stage = ctx.fail_stage;
  if (*exec_errno == UNSHARE_REFUSED) {
    /* The child did nothing else: reap it and try again with a copied
     * table. */
    int status;
    (void)waitpid(*pid, &status, __WALL);
    if (*pidfd >= 0) {
      close(*pidfd);
    }
    unshare_refused = 1;
    return as__spawn(c, st, pid, pidfd, exec_errno, exec_stage, ns_pid);
  }
  if (ns_pid != NULL) {
    *ns_pid = ctx.ns_pid;
  }
  return 0;
}

/* struct pidfd_info of <linux/pidfd.h> (Linux 6.13), as far as
 * PIDFD_INFO_SIZE_VER0: Debian 12's headers predate it. */
typedef struct pidfd_info0_s {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code; /* a wait status, with PIDFD_INFO_EXIT */
} pidfd_info0_t;
#define PIDFD_INFO_EXIT_ 0x8u
#define PIDFD_GET_INFO_ _IOWR(0xFF, 11, pidfd_info0_t)

/* The wait status of a child that someone else reaped: Linux 6.15 keeps it
 * for the holders of a pidfd once the reaper has released the task. 1 and
 * *status; -EAGAIN when the kernel answers without it (not released yet,
 * or Linux 6.13-6.14, which never has it); -ECHILD when the kernel has no
 * PIDFD_GET_INFO at all. */
static int stolen_status(int pidfd, int *status) {
  pidfd_info0_t info;
  memset(&info, 0, sizeof(info));
  info.mask = PIDFD_INFO_EXIT_;
  if (ioctl(pidfd, PIDFD_GET_INFO_, &info) != 0) {
    return -ECHILD;
  }
  if (!(info.mask & PIDFD_INFO_EXIT_)) {
    return -EAGAIN;
  }
  *status = info.exit_code;
  return 1;
}

int as__reap(int pidfd, pid_t pid, int *status) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  int r = -1;
  errno = EINVAL;
  if (pidfd >= 0) {
    r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | __WALL);
  }
  if (r != 0 && errno == EINVAL) {
    /* Before Linux 5.4 waitid knows no P_PIDFD; the pid is still ours
     * because only this call reaps it. */
    r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | __WALL);
  }
  if (r != 0 && errno == ECHILD && pidfd >= 0) {
    return stolen_status(pidfd, status);
  }
  if (r != 0) {
    return -errno;
  }
  if (si.si_pid == 0) {
    return 0;
  }
  if (si.si_code == CLD_EXITED) {
    *status = W_EXITCODE(si.si_status, 0);
  } else {
    *status = si.si_status & 0x7f;
  }
  return 1;
}

int as__child_kill(int pidfd, pid_t pid, int sig) {
  /* Without a pidfd the pid is safe to signal only because the caller has
   * not reaped the child yet, so the pid cannot have been reused. */
  long r = pidfd >= 0 ? syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0)
                      : kill(pid, sig);
  return r != 0 ? -errno : 0;
}

/* What a failed setup sends back: its errno, then its sentence. */
typedef struct setup_msg_s {
  int err;
  char why[AS_WHY_MAX];
} setup_msg_t;

int as__spawn_fn(int (*fn)(void *arg, int ready_fd, char *why, size_t n),
                 void *arg, unsigned flags, char *why, size_t why_len,
                 pid_t *pid, int *pidfd, int *setup_errno) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0) {
    return -errno;
  }
  /* The child starts with every signal blocked; fn sets its own mask. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int fd = -1;
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&fd;
  args.exit_signal = 0;
  /* Without CLONE_VM this is a fork: the child has its own copy of this
   * stack and may return from the system call into C. */
  long r = syscall(SYS_clone3, &args, sizeof(args));
  if (r < 0 && (errno == ENOSYS || errno == EPERM)) {
    r = syscall(SYS_clone, (long)flags, NULL, NULL, NULL, NULL);
    if (r > 0) {
      fd = (int)syscall(SYS_pidfd_open, r, 0);
    }
  }
  if (r == 0) {
    close(ep[0]);
    setup_msg_t m;
    memset(&m, 0, sizeof(m));
    m.err = fn(arg, ep[1], m.why, sizeof(m.why));
    if (m.err > 0) {
      /* One write of at most PIPE_BUF bytes: it arrives whole. */
      m.why[sizeof(m.why) - 1] = '\0';
      size_t len = offsetof(setup_msg_t, why) + strlen(m.why) + 1;
      ssize_t n;
      do {
        n = write(ep[1], &m, len);
      } while (n < 0 && errno == EINTR);
    }
    _exit(127);
  }
  int err = r < 0 ? -errno : 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(ep[1]);
  if (err != 0) {
    close(ep[0]);
    return err;
  }
  *pid = (pid_t)r;
  *pidfd = fd;
  /* Blocks until fn has finished its setup (it closes ready_fd) or failed:
   * a compute system's start, not the exec hot path. */
  setup_msg_t m;
  ssize_t n;
  do {
    n = read(ep[0], &m, sizeof(m));
  } while (n < 0 && errno == EINTR);
  close(ep[0]);
  *setup_errno = n >= (ssize_t)sizeof(m.err) ? m.err : 0;
  if (*setup_errno != 0 && why_len > 0) {
    size_t got = (size_t)n - offsetof(setup_msg_t, why);
    got = got < why_len ? got : why_len;
    memcpy(why, m.why, got);
    why[got > 0 ? got - 1 : 0] = '\0';
  }
  return 0;
}
