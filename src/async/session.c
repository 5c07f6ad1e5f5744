/* SPDX-License-Identifier: MIT */
/* Sessions: spawn, exit through the pidfd, completion, teardown.
 *
 * A session is complete when its process has exited and every output
 * stream has reached EOF, or when the drain timer that starts at exit runs
 * out first (a grandchild may hold a pipe open); the result then says the
 * output was cut. The engine holds its own reference until the session is
 * complete and all its handles are closed, so the caller may drop its
 * reference at any time, from any callback. */
#include "async/session_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char default_path[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static void session_free(as_session_t *s) {
  as__loop_session_del(s->loop, &s->node);
  for (int i = 0; i < 3; i++) {
    if (s->fds[i] >= 0) {
      close(s->fds[i]);
    }
  }
  if (s->pty_master >= 0) {
    close(s->pty_master);
  }
  as__watch_close(as__loop_epfd(s->loop), &s->exit_w);
  as_free(s->setup_why);
  as_free(s);
}

void as__sref(as_session_t *s) { s->refs++; }

void as__sunref(as_session_t *s) {
  assert(s->refs > 0);
  if (--s->refs == 0) {
    session_free(s);
  }
}

void as_session_ref(as_session_t *s) {
  s->user_refs++;
  s->refs++;
}

void as_session_unref(as_session_t *s) {
  assert(s->user_refs > 0);
  if (--s->user_refs == 0) {
    /* Detached: the engine still drains and reaps, but calls nobody. */
    memset(&s->cbs, 0, sizeof(s->cbs));
    s->out[0].raw_cb = s->out[1].raw_cb = NULL;
  }
  as__sunref(s);
}

static void timer_closed(uv_handle_t *h) { as__sunref(h->data); }

static void session_finish(as_session_t *s, int cut) {
  s->done = 1;
  s->result.output_cut = cut;
  as__loop_active(s->loop, -1);
  as__pump_close(s);
  /* The engine's reference goes in the close callback, a later loop
   * iteration: whatever still points at this session in the current one
   * (a batch of epoll events) stays valid. */
  uv_close((uv_handle_t *)&s->timer, timer_closed);
  if (s->cbs.done_cb != NULL) {
    s->cbs.done_cb(s, &s->result, s->data);
  }
}

void as__session_maybe_done(as_session_t *s) {
  if (s->exited && !s->done && !as__out_open(s)) {
    session_finish(s, 0);
  }
}

static void drain_cb(uv_timer_t *t) {
  as_session_t *s = t->data;
  as__sref(s);
  if (!s->done) {
    as__out_drain_last(s); /* may complete the session, uncut */
  }
  if (!s->done) {
    session_finish(s, 1);
  }
  as__sunref(s);
}

/* status -1: the exit status is lost (reaped by another wait). */
static void set_result(as_session_t *s, int status) {
  as_result_t *r = &s->result;
  r->exit_ms = as_loop_now(s->loop);
  if (r->exec_errno != 0) {
    r->exit_code = AS_EXIT_EXEC_FAILED;
  } else if (status == -1) {
    r->exit_code = AS_EXIT_LOST;
  } else if (WIFSIGNALED(status)) {
    r->signal = WTERMSIG(status);
    r->exit_code = 128 + r->signal;
  } else {
    r->exit_code = WEXITSTATUS(status);
  }
}

static void check_exit(as_session_t *s);

static void lost_check_cb(uv_timer_t *t) { check_exit(t->data); }

/* Checks for the status of a child reaped elsewhere: 1, 2, ... 128 ms
 * apart (the reaper releases the task microseconds after taking it). */
enum { LOST_CHECKS = 8 };

/* The child may have exited: reap it, and on exit report and arm the
 * drain timer. */
static void check_exit(as_session_t *s) {
  int wstatus = 0;
  int r = as__reap(s->exit_w.fd, s->pid, &wstatus);
  if (r == 0) {
    return; /* spurious wake-up: still running */
  }
  if (r == -EAGAIN && s->lost_checks < LOST_CHECKS) {
    /* Another wait in this program (a waitpid(-1) of the embedder) took
     * the exit and the kernel has not yet filed its status with the
     * pidfd. The pidfd stays readable: mute it, and look again soon. */
    (void)as__watch_mod(as__loop_epfd(s->loop), &s->exit_w, 0);
    uv_timer_start(&s->timer, lost_check_cb, 1u << s->lost_checks++, 0);
    return;
  }
  if (r < 0) {
    /* The status is gone with the other wait. A process adopted after a
     * restart is documented to end as killed (it was never ours to
     * wait for); a child of ours says its status is lost, never a code
     * it did not give. */
    wstatus = s->adopted ? SIGKILL : -1;
  }
  /* Reaped: the pidfd can name nothing any more, so it goes now. */
  as__watch_close(as__loop_epfd(s->loop), &s->exit_w);
  as__loop_pid_unwatch(s->loop, &s->pidw);
  s->exited = 1;
  set_result(s, wstatus);
  as__sref(s);
  if (s->cbs.exit_cb != NULL) {
    s->cbs.exit_cb(s, &s->result, s->data);
  }
  as__session_maybe_done(s);
  if (!s->done) {
    uv_timer_start(&s->timer, drain_cb, s->drain_ms, 0);
  }
  as__sunref(s);
}

static void exit_cb(as__watch_t *w, uint32_t events) {
  (void)events;
  check_exit((as_session_t *)((char *)w - offsetof(as_session_t, exit_w)));
}

static void pid_exit_cb(as__pidw_t *w) {
  as_session_t *s = (as_session_t *)((char *)w - offsetof(as_session_t, pidw));
  if (!s->exited) {
    check_exit(s);
  }
}

/* The first check of a pid-watched child: it may have exited before the
 * SIGCHLD watch began. */
static void pid_first_check(as__defer_t *d) {
  as_session_t *s =
      (as_session_t *)((char *)d - offsetof(as_session_t, pid_check));
  if (!s->exited) {
    check_exit(s);
  }
  as__sunref(s);
}

/* Watches the exit: the pidfd in the epoll set, or, without pidfds, the
 * pid on SIGCHLD. */
static int watch_exit(as_session_t *s, int pidfd) {
  if (pidfd >= 0) {
    return as__watch_add(as__loop_epfd(s->loop), &s->exit_w, pidfd, EPOLLIN,
                         exit_cb);
  }
  s->pidw.cb = pid_exit_cb;
  as__loop_pid_watch(s->loop, &s->pidw);
  as__sref(s);
  s->pid_check.fn = pid_first_check;
  as__loop_defer(s->loop, &s->pid_check);
  return 0;
}

/* Finds PATH in envp (the child's environment decides where its program is
 * searched, as docker and runc do). */
static const char *env_path(char *const *envp) {
  for (; *envp != NULL; envp++) {
    if (strncmp(*envp, "PATH=", 5) == 0) {
      return *envp + 5;
    }
  }
  return default_path;
}

/* One ioctl, not F_GETFL + F_SETFL: the engine's ends are its own, with no
 * other status flags to keep. */
static int set_nonblock(int fd) {
  int on = 1;
  return ioctl(fd, FIONBIO, &on) != 0 ? -errno : 0;
}

/* Makes the pair of one stream: child[i] goes to the child, mine[i] stays. */
/* What a stream's reads may grow to: read_max rounded down to a pool
 * class, AS_BUF_READ (no growth) when it is 0 or less, except on a socket,
 * which grows to 256 KiB unless read_max says otherwise. A socket wakes its
 * writer as each buffer of its queue is consumed, not when the read ends as
 * a pipe does, so a larger read does not stall the writer there. 2 GiB
 * through a socketpair from 64 KiB writes took 6-8 % less CPU (reader and
 * writer) in 256 KiB reads than in 64 KiB ones, on a 2-core AMD EPYC. */
static size_t stream_read_max(const as_spawn_opts_t *o, int sock) {
  size_t want = o->read_max == 0 && sock ? AS_BUF_READ * 4 : o->read_max;
  return want >= AS_BUF_MAX        ? AS_BUF_MAX
         : want >= AS_BUF_READ * 4 ? AS_BUF_READ * 4
                                   : AS_BUF_READ;
}

static int make_stdio(as_session_t *s, const as_spawn_opts_t *o, int child[3],
                      int mine[3]) {
  if (o->flags & AS_PTY) {
    int m, sl;
    int err = as__pty_open(&m, &sl, o->rows, o->cols, o->ptmx);
    if (err != 0) {
      return err;
    }
    child[0] = child[1] = child[2] = sl;
    s->pty_master = m;
    return 0;
  }
  for (int i = 0; i < 3; i++) {
    int mode = o->stdio[i];
    if (mode == AS_STDIO_NULL) {
      child[i] = as__loop_devnull(s->loop);
    } else if (mode == AS_STDIO_FD) {
      if (o->stdio_fd[i] < 0) {
        return -EBADF;
      }
      child[i] = o->stdio_fd[i];
    } else if (mode == AS_STDIO_PIPE) {
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) {
        return -errno;
      }
      child[i] = i == AS_STDIN ? p[0] : p[1];
      mine[i] = i == AS_STDIN ? p[1] : p[0];
    } else if (mode == AS_STDIO_SOCKET && i != AS_STDIN) {
      int p[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0) {
        return -errno;
      }
      child[i] = p[1];
      mine[i] = p[0];
      s->out[i - AS_STDOUT].sock = 1;
      s->out[i - AS_STDOUT].rd_max = stream_read_max(o, 1);
    } else {
      return -EINVAL;
    }
  }
  return 0;
}

static void close_child_ends(const as_spawn_opts_t *o, int child[3]) {
  if (o->flags & AS_PTY) {
    if (child[0] >= 0) {
      close(child[0]);
    }
    return;
  }
  for (int i = 0; i < 3; i++) {
    if ((o->stdio[i] == AS_STDIO_PIPE || o->stdio[i] == AS_STDIO_SOCKET) &&
        child[i] >= 0) {
      close(child[i]);
    }
  }
}

/* Gives the parent's ends their roles: handed out (AS_FDS) or pumped. */
static int place_parent_ends(as_session_t *s, const as_spawn_opts_t *o,
                             int mine[3]) {
  if (o->flags & AS_PTY) {
    int a = fcntl(s->pty_master, F_DUPFD_CLOEXEC, 0);
    int b = fcntl(s->pty_master, F_DUPFD_CLOEXEC, 0);
    if (a < 0 || b < 0) {
      int err = -errno;
      if (a >= 0) {
        close(a);
      }
      return err;
    }
    mine[AS_STDIN] = a;
    mine[AS_STDOUT] = b;
  }
  if (o->flags & AS_FDS) {
    for (int i = 0; i < 3; i++) {
      s->fds[i] = mine[i];
      mine[i] = -1;
    }
    return 0;
  }
  for (int i = 0; i < 3; i++) {
    if (mine[i] >= 0) {
      int err = set_nonblock(mine[i]);
      if (err != 0) {
        return err;
      }
    }
  }
  /* The watches are registered by as__pump_start; until then the fds sit
   * in the watch structs unregistered. */
  s->in.w.fd = mine[AS_STDIN];
  s->out[0].w.fd = mine[AS_STDOUT];
  s->out[1].w.fd = mine[AS_STDERR];
  mine[0] = mine[1] = mine[2] = -1;
  return 0;
}

static as_session_t *session_new(as_loop_t *loop, const as_spawn_opts_t *o) {
  as_session_t *s = as_calloc(1, sizeof(*s) + o->extra_size);
  if (s == NULL) {
    return NULL;
  }
  s->loop = loop;
  s->refs = 2; /* the caller's and the engine's */
  s->user_refs = 1;
  s->flags = o->flags;
  s->exit_w.fd = -1;
  s->pty_master = -1;
  s->in.w.fd = -1;
  for (int i = 0; i < 3; i++) {
    s->fds[i] = -1;
  }
  s->in.s = s;
  for (int i = 0; i < 2; i++) {
    s->out[i].w.fd = -1;
    s->out[i].s = s;
    s->out[i].stream = AS_STDOUT + i;
    s->out[i].rd_size = AS_BUF_READ;
    s->out[i].rd_max = stream_read_max(o, 0);
  }
  s->cap = o->stream_cap != 0 ? o->stream_cap : 1024 * 1024;
  s->drain_ms = o->drain_ms != 0 ? o->drain_ms : AS_DRAIN_DEFAULT_MS;
  s->cbs = o->cbs;
  s->data = o->data;
  s->node.prev = s->node.next = &s->node;
  return s;
}

static void close_mine(int mine[3]) {
  for (int i = 0; i < 3; i++) {
    if (mine[i] >= 0) {
      close(mine[i]);
      mine[i] = -1;
    }
  }
}

/* A failure after the child started: it is killed and reaped here, so no
 * process or zombie outlives the failed call, and no callback runs. */
static void abort_spawned(as_session_t *s, int pidfd) {
  int status;
  (void)as__child_kill(pidfd, s->pid, SIGKILL);
  (void)waitpid(s->pid, &status, __WALL);
  if (pidfd >= 0) {
    close(pidfd);
  }
  s->exit_w.fd = -1;
  as__loop_pid_unwatch(s->loop, &s->pidw);
  for (int i = 0; i < 2; i++) {
    if (s->out[i].w.fd >= 0) {
      as__watch_close(as__loop_epfd(s->loop), &s->out[i].w);
    }
  }
  if (s->in.w.fd >= 0) {
    as__watch_close(as__loop_epfd(s->loop), &s->in.w);
  }
  session_free(s);
}

int as_session_spawn(as_loop_t *loop, const as_spawn_opts_t *o,
                     as_session_t **out) {
  if (o == NULL || out == NULL || o->read_max > AS_BUF_MAX ||
      (o->set_root && o->spawner != NULL) ||
      (o->child_fn == NULL && (o->file == NULL || o->file[0] == '\0'))) {
    return -EINVAL;
  }
  as_session_t *s = session_new(loop, o);
  if (s == NULL) {
    return -ENOMEM;
  }
  int child[3] = {-1, -1, -1}, mine[3] = {-1, -1, -1};
  char *default_argv[2] = {(char *)o->file, NULL};
  char *const *envp = o->envp != NULL ? o->envp : environ;
  as__child_t c = {
      .file = o->file,
      .path = o->file == NULL || strchr(o->file, '/') != NULL ? NULL
                                                              : env_path(envp),
      .argv = o->argv != NULL ? o->argv : default_argv,
      .envp = envp,
      .cwd = o->cwd,
      .ctty = (o->flags & AS_PTY) != 0,
      .set_ids = o->set_ids,
      .uid = o->uid,
      .gid = o->gid,
      .ns_pidfd = o->ns_pidfd,
      .ns_flags = o->ns_flags,
      .own_pidns = -1,
      .cgroup_fds = o->cgroup_fds,
      .n_cgroup_fds = o->n_cgroup_fds,
      .set_caps = o->set_caps,
      .caps = o->caps,
      .no_new_privs = o->no_new_privs,
      .seccomp = o->seccomp,
      .new_pgrp = o->new_pgrp && !(o->flags & AS_PTY),
      .set_root = o->set_root,
      .root_fd = o->root_fd,
      .spawner = o->spawner,
      .rlimits = o->rlimits,
      .n_rlimits = o->n_rlimits,
      .set_oom_score_adj = o->set_oom_score_adj,
      .oom_score_adj = o->oom_score_adj,
      .caps_inheritable = o->caps_inheritable,
      .caps_ambient = o->caps_ambient,
      .user_keeps_caps = o->user_keeps_caps,
      .groups = o->groups,
      .n_groups = o->n_groups,
      .set_umask = o->set_umask,
      .umask = o->umask,
  };
  if (o->spawner != NULL) {
    /* The spawner's thread has joined and dropped all of that already. */
    c.ns_flags = 0;
    c.set_caps = 0;
    c.no_new_privs = 0;
  }
  if (c.ns_flags & CLONE_NEWPID) {
    c.own_pidns = as__loop_own_pidns(loop);
    if (c.own_pidns < 0) {
      as_free(s);
      return c.own_pidns;
    }
  }
  int pidfd = -1;
  int err = 0;
  if (o->child_fn != NULL) {
    char why[AS_WHY_MAX] = "";
    err = as__spawn_fn(o->child_fn, o->child_arg, o->clone_flags, why,
                       sizeof(why), &s->pid, &pidfd, &s->result.exec_errno);
    s->ns_pid = 1;
    if (err == 0 && s->result.exec_errno != 0 && why[0] != '\0') {
      s->setup_why = as_strdup(why); /* NULL: the errno alone, then */
    }
  } else {
    err = make_stdio(s, o, child, mine);
    if (err == 0) {
      memcpy(c.fd, child, sizeof(c.fd));
      err = as__spawn(&c, as__loop_stack(loop), &s->pid, &pidfd,
                      &s->result.exec_errno, &s->result.exec_stage, &s->ns_pid);
    }
  }
  close_child_ends(o, child);
  s->group = o->child_fn == NULL && (c.new_pgrp || c.ctty);
  if (err != 0) {
    close_mine(mine);
    if (s->pty_master >= 0) {
      close(s->pty_master);
    }
    as_free(s);
    return err;
  }
  as__loop_session_add(loop, &s->node);
  err = place_parent_ends(s, o, mine);
  if (err == 0) {
    err = as__pump_start(s);
  }
  /* Last: without pidfds it cannot fail, and it defers a call that needs
   * the session alive, which the failure path could not wait for. */
  if (err == 0) {
    err = watch_exit(s, pidfd);
  }
  if (err != 0) {
    close_mine(mine);
    abort_spawned(s, pidfd);
    return err;
  }
  uv_timer_init(as_loop_uv(loop), &s->timer);
  s->timer.data = s;
  as__loop_active(loop, +1);
  *out = s;
  return 0;
}

pid_t as_session_pid(const as_session_t *s) { return s->pid; }

pid_t as_session_ns_pid(const as_session_t *s) { return s->ns_pid; }

const char *as_session_setup_why(const as_session_t *s) {
  return s->setup_why != NULL ? s->setup_why : "";
}

int as_session_exec_errno(const as_session_t *s) {
  return s->result.exec_errno;
}

int as_session_exec_stage(const as_session_t *s) {
  return s->result.exec_stage;
}

int as_session_pidfd(const as_session_t *s) {
  return s->exited ? -1 : s->exit_w.fd;
}

void *as_session_data(const as_session_t *s) { return s->data; }

void *as_session_extra(as_session_t *s) { return s->extra; }

int as_session_exited(const as_session_t *s, as_result_t *r) {
  if (s->exited && r != NULL) {
    *r = s->result;
  }
  return s->exited;
}

int as_session_done(const as_session_t *s, as_result_t *r) {
  if (s->done && r != NULL) {
    *r = s->result;
  }
  return s->done;
}

int as_session_take_fd(as_session_t *s, int stream) {
  if (stream < 0 || stream > 2 || s->fds[stream] < 0) {
    return -EBADF;
  }
  int fd = s->fds[stream];
  s->fds[stream] = -1;
  return fd;
}

int as_session_kill(as_session_t *s, int sig) {
  if (s->exited) {
    return 0;
  }
  int err = as__child_kill(s->exit_w.fd, s->pid, sig);
  /* ESRCH: it exited and the exit is not yet reaped; still a no-op. */
  return err == -ESRCH ? 0 : err;
}

int as_session_kill_group(as_session_t *s, int sig) {
  if (!s->group) {
    return -EINVAL;
  }
  /* The group's id is the leader's pid. While the leader is unreaped, or
   * any member lives, that number names our group and nothing else: the
   * kernel keeps a pid in use while it names a group. Once the group is
   * empty the signal finds nothing (ESRCH), which is success here. */
  if (kill(-s->pid, sig) != 0 && errno != ESRCH) {
    return -errno;
  }
  return 0;
}

int as_session_resize(as_session_t *s, uint16_t rows, uint16_t cols) {
  if (s->pty_master < 0) {
    return -ENOTTY;
  }
  if (rows == 0 || cols == 0) {
    return -EINVAL;
  }
  return as__pty_resize(s->pty_master, rows, cols);
}

void as_loop_kill_all(as_loop_t *loop, int sig) {
  as__list_t *head = as__loop_sessions(loop);
  for (as__list_t *n = head->next; n != head; n = n->next) {
    as_session_t *s =
        (as_session_t *)(void *)((char *)n - offsetof(as_session_t, node));
    (void)as_session_kill(s, sig);
  }
}

int as_session_adopt(as_loop_t *loop, pid_t pid, const as_spawn_opts_t *o,
                     as_session_t **out) {
  /* pidfd_open names the process only while the pid is not reused; the
   * caller checks that the pidfd still names its process (start time). */
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    return -errno;
  }
  as_session_t *s = session_new(loop, o);
  if (s == NULL) {
    close(pidfd);
    return -ENOMEM;
  }
  s->pid = pid;
  s->ns_pid = pid;
  s->adopted = 1;
  as__loop_session_add(loop, &s->node);
  int err = watch_exit(s, pidfd);
  if (err != 0) {
    close(pidfd);
    as__loop_session_del(loop, &s->node);
    as_free(s);
    return err;
  }
  uv_timer_init(as_loop_uv(loop), &s->timer);
  s->timer.data = s;
  as__loop_active(loop, +1);
  *out = s;
  return 0;
}

void as_session_abandon(as_session_t *s) {
  if (s->done) {
    as_session_unref(s);
    return;
  }
  /* No callback runs any more, the process is left running, and it is no
   * longer watched: a child of ours is reaped by whoever inherits it. */
  memset(&s->cbs, 0, sizeof(s->cbs));
  as__watch_close(as__loop_epfd(s->loop), &s->exit_w);
  as__loop_pid_unwatch(s->loop, &s->pidw);
  s->exited = 1;
  session_finish(s, 1);
  as_session_unref(s);
}
