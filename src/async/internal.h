/* SPDX-License-Identifier: MIT */
/* Engine internals shared between the files of src/async. */
#ifndef HCS_ASYNC_INTERNAL_H
#define HCS_ASYNC_INTERNAL_H

#include "hcs-async.h"

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* spawn.c: process creation, the one place that knows clone3, clone and
 * pidfd_open. */
typedef struct as__child_s {
  const char *file; /* contains '/' or is searched in path */
  const char *path; /* PATH to search; NULL when file has a '/' */
  char *const *argv;
  char *const *envp;
  const char *cwd; /* NULL: inherit */
  int fd[3];       /* placed at 0, 1, 2 */
  int ctty;        /* setsid() and make fd 0 the controlling terminal */
  int set_ids;     /* drop to uid/gid, with no supplementary groups */
  uid_t uid;
  gid_t gid;
  /* Joining a container: */
  int ns_pidfd;          /* a process whose namespaces to join */
  unsigned ns_flags;     /* CLONE_NEW* to join; 0: none */
  int own_pidns;         /* the engine thread's active pid namespace */
  const int *cgroup_fds; /* cgroup.procs files open for writing */
  size_t n_cgroup_fds;
  int set_caps; /* keep only caps (a bit per capability) */
  uint64_t caps;
  int no_new_privs;
  const struct sock_fprog *seccomp; /* installed last; NULL: none */
  int new_pgrp;                     /* setpgid(0, 0) */
  int set_root;                     /* chroot into root_fd, after joining */
  int root_fd;
  as_spawner_t *spawner; /* clone from this thread (already joined) */
  const as_rlimit_t *rlimits;
  size_t n_rlimits;
  int set_oom_score_adj;
  int oom_score_adj;
  uint64_t caps_inheritable, caps_ambient; /* as_spawn_opts_t says how */
  int user_keeps_caps;
  const gid_t *groups;
  size_t n_groups;
  int set_umask;
  unsigned umask;
} as__child_t;

/* Capabilities of the calling thread, in raw system calls (safe between
 * clone and exec): the bounding set cut to caps and ambient cleared; then
 * permitted and effective set to caps, inheritable to inh. 0 or an
 * errno (positive). */
int as__cut_bounding(uint64_t caps);
int as__capset(uint64_t caps, uint64_t inh);

/* A clone that a spawner thread makes for the engine (spawner.c). */
typedef struct as__spawner_req_s {
  int (*fn)(void *arg);
  void *arg;
  void *stack_top;
  int flags; /* added to CLONE_VM | CLONE_VFORK | CLONE_PIDFD */
  pid_t pid;
  int pidfd;
  int result; /* 0 or -errno */
  int done;
} as__spawner_req_t;
/* On the spawner's thread: the clone itself (spawn.c). */
int as__spawner_clone(as__spawner_req_t *req);
/* From the engine: has the spawner make req's clone and waits for it.
 * 0 or -errno (-ESRCH once the spawner is stopping). */
int as__spawner_run(as_spawner_t *sp, as__spawner_req_t *req);
/* Whether sp's thread joined a mount namespace: its working directory,
 * which its clones copy, is then that namespace's root. */
int as__spawner_joined_mnt(const as_spawner_t *sp);

typedef struct as__spawn_stack_s {
  void *base; /* mmap'ed, a guard page at the bottom */
  size_t size;
  /* Low fd numbers reserved at loop start (on /dev/null) through which a
   * child that shares the engine's fd table takes its stdio; see spawn.c.
   * slot_top is one past the highest. */
  int slot[3];
  int slot_top;
  int null_fd; /* /dev/null, to empty the slots */
  int proc_fd; /* /proc (O_PATH), where children read their signal sets;
                 -1: not opened yet (as__spawn opens it when needed) */
} as__spawn_stack_t;

int as__spawn_stack_init(as__spawn_stack_t *st);
void as__spawn_stack_free(as__spawn_stack_t *st);
/* Starts the child. The engine thread stops until the child has executed
 * its program or failed to (CLONE_VFORK). On return 0, *pid and *pidfd
 * (close-on-exec) name the child and *exec_errno is 0, or the errno of the
 * failed exec (the child then exited and waits to be reaped). */
int as__spawn(const as__child_t *c, as__spawn_stack_t *st, pid_t *pid,
              int *pidfd, int *exec_errno, int *exec_stage, pid_t *ns_pid);
/* Starts a child that runs fn(arg, ready_fd) in new namespaces (flags:
 * CLONE_NEW*), as a fork: its own copy of memory, a single thread, every
 * signal blocked. fn closes ready_fd once set up and never returns then;
 * if it returns, a positive result is the errno of its failed setup. The
 * call returns when fn is set up or failed (*setup_errno). */
int as__spawn_fn(int (*fn)(void *arg, int ready_fd, char *why, size_t n),
                 void *arg, unsigned flags, char *why, size_t why_len,
                 pid_t *pid, int *pidfd, int *setup_errno);
/* Reaps a child whose pidfd polled readable. Returns 1 and the wait status
 * when it had exited, 0 when it is still running, -errno otherwise. When
 * another wait reaped it (or it is not our child), the status comes from
 * the pidfd where the kernel keeps it: -EAGAIN says it may yet come (the
 * reaper has not released the task), -ECHILD that it never will. */
int as__reap(int pidfd, pid_t pid, int *status);
/* Signals an unreaped child: through its pidfd, or by pid where the kernel
 * has no pidfds (pidfd -1). */
int as__child_kill(int pidfd, pid_t pid, int sig);
/* On spawn, *pidfd may be -1: the kernel has no pidfds; the child then
 * signals its exit with SIGCHLD and is watched by pid (as__loop_pid_*). */
/* For tests: with on 0, spawns take the fallback (clone + pidfd_open) as on
 * a kernel that refuses clone3; as__spawn_clone3_used tells which path the
 * next spawn takes. */
void as__spawn_use_clone3(int on);
int as__spawn_clone3_used(void);
/* For tests: with on 0, clone3 is called without CLONE_CLEAR_SIGHAND, as
 * on a kernel before 5.5, and the child resets its handlers itself;
 * as__spawn_clear_sighand_used tells whether the next spawn on the engine's
 * own path (no spawner) has the kernel reset them. */
void as__spawn_use_clear_sighand(int on);
int as__spawn_clear_sighand_used(void);

/* pty.c: console pairs. */
/* ptmx: the multiplexer to open (a container's devpts), NULL for the
 * host's. */
int as__pty_open(int *master, int *slave, uint16_t rows, uint16_t cols,
                 const char *ptmx);
int as__pty_resize(int master, uint16_t rows, uint16_t cols);

/* bufpool.c: one read of at most size bytes (<= AS_BUF_MAX) of fd into a
 * fresh pool buffer, as the pumps and sockets do it; as__read_pooled reads
 * AS_BUF_READ. Returns n > 0 with *buf the caller's (put it back with
 * as_bufpool_put); else no buffer is handed out and the result is 0
 * (EOF), -EAGAIN, -ENOMEM (no buffer; the fd stays readable, so the next
 * wake retries) or another -errno. EINTR is retried. */
ssize_t as__read_pooled(as_bufpool_t *pool, int fd, char **buf);
ssize_t as__read_pooled_n(as_bufpool_t *pool, int fd, size_t size, char **buf);

/* watch.c: the engine's epoll set. */
typedef struct as__watch_s as__watch_t;
typedef void (*as__watch_cb)(as__watch_t *w, uint32_t events);
struct as__watch_s {
  int fd; /* -1 when closed */
  uint32_t events;
  as__watch_cb cb;
};
int as__watch_set_init(int *epfd);
int as__watch_add(int epfd, as__watch_t *w, int fd, uint32_t events,
                  as__watch_cb cb);
/* events 0 keeps the registration but reports nothing. */
int as__watch_mod(int epfd, as__watch_t *w, uint32_t events);
/* Takes w out of the set, then closes its fd. */
void as__watch_close(int epfd, as__watch_t *w);
/* Takes w out of the set and leaves its fd open. */
void as__watch_del(int epfd, as__watch_t *w);
/* Waits at most timeout_ms (-1: no bound; 0: a poll) for events in the
 * set, then calls woke(arg) (unless NULL) and the cb of each ready watch.
 * Returns how many were ready. */
int as__watch_dispatch(int epfd, int timeout_ms, void (*woke)(void *arg),
                       void *arg);

/* loop.c */
/* Deferred calls: run from the loop in a later phase of the same
 * iteration, so that a call can complete its callback "later" without a
 * system call (a write that went through at once, say). */
typedef struct as__defer_s {
  struct as__defer_s *next;
  void (*fn)(struct as__defer_s *d);
} as__defer_t;
void as__loop_defer(as_loop_t *loop, as__defer_t *d);

/* Children without a pidfd: on each SIGCHLD every watched pid's cb runs
 * (it reaps with WNOHANG). A scan, but only on kernels without pidfds. */
typedef struct as__pidw_s {
  struct as__pidw_s *prev, *next;
  void (*cb)(struct as__pidw_s *w);
} as__pidw_t;
void as__loop_pid_watch(as_loop_t *loop, as__pidw_t *w);
void as__loop_pid_unwatch(as_loop_t *loop, as__pidw_t *w);

typedef struct as__list_s {
  struct as__list_s *prev, *next;
} as__list_t;

void as__loop_session_add(as_loop_t *loop, as__list_t *node);
void as__loop_session_del(as_loop_t *loop, as__list_t *node);
as__spawn_stack_t *as__loop_stack(as_loop_t *loop);
/* The fd of the engine's own pid namespace, opened on first use; -errno. */
int as__loop_own_pidns(as_loop_t *loop);
int as__loop_devnull(as_loop_t *loop);
int as__loop_epfd(as_loop_t *loop);
as__list_t *as__loop_sessions(as_loop_t *loop);
/* A session starts (+1) or completes (-1); active sessions keep the loop
 * running. */
void as__loop_active(as_loop_t *loop, int delta);

#endif
