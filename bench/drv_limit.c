/* SPDX-License-Identifier: MIT */
/* The limit: the tightest loop the kernel allows for the same work, with
 * no event library. One clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) per
 * session gives the child and its pidfd in one system call and copies no
 * page tables; the child makes raw system calls only (dup2 onto 0-2,
 * SIGPIPE back to default, execve).
 *
 * With one session in flight and nothing on stderr the loop is plain
 * blocking calls: read to EOF, then waitid on the pidfd. With more, one
 * epoll set holds every output fd and every pidfd (level-triggered, one
 * read of 64 KiB per ready fd, the way the kernel hands out pipe buffers)
 * and a finished session's slot is refilled at once. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum {
  RBUF = 64 * 1024,
  STACK = 64 * 1024,
  BATCH = 256,
  KIND_EXIT = 3,
  KSIGSET_SIZE = 8,
};

extern char **environ;

typedef struct lchild_s {
  const char *file;
  char *const *argv;
  char *const *envp;
  int fd[3];
  int ctty;
} lchild_t;

typedef struct lrec_s {
  sess_t s;
  pid_t pid;
  int pidfd;
  int fd[3]; /* our ends: stdin (write), stdout or console, stderr */
  int exited, exit_code;
  uint32_t gen; /* tells a stale epoll event from the slot's next user */
  struct lrec_s *next_free;
} lrec_t;

typedef struct lctx_s {
  run_t *run;
  lrec_t *recs;      /* c slots, touched only once used (idle RSS) */
  uint64_t unused;   /* slots never used yet start here */
  lrec_t *free_list; /* slots used and free again */
  int epfd;          /* -1: blocking mode */
  int devnull;
  char *stack;
  int stop;
  char rbuf[RBUF];
} lctx_t;

/* Runs in the child, on the engine-less parent's memory: raw system calls
 * only, and no sanitizer runtime. */
#define CHILD_FN __attribute__((no_sanitize("address", "undefined")))

CHILD_FN static int child_main(void *arg) {
  const lchild_t *c = arg;
  /* The kernel's struct sigaction: all zeroes is SIG_DFL. hcs ignores
   * SIGPIPE in this process; the program must not inherit that. */
  unsigned long dfl[4] = {0};
  (void)syscall(SYS_rt_sigaction, SIGPIPE, dfl, NULL, KSIGSET_SIZE);
  if (c->ctty) {
    (void)syscall(SYS_setsid);
  }
  for (int i = 0; i < 3; i++) {
    /* Every source fd is above 2 (main keeps 0-2 open). */
    if (syscall(SYS_dup2, c->fd[i], i) < 0) {
      syscall(SYS_exit_group, 126);
    }
  }
  if (c->ctty) {
    (void)syscall(SYS_ioctl, 0, TIOCSCTTY, 0);
  }
  syscall(SYS_execve, c->file, c->argv, c->envp);
  syscall(SYS_exit_group, 127);
  return 127;
}

static void close_fd(int *fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

/* The stdio of one session: child ends in child[], ours in rec->fd[]. */
static int make_stdio(lctx_t *x, lrec_t *rec, int child[3]) {
  const work_t *w = x->run->w;
  if (w->pty) {
    int sl;
    int err = bench_pty_open(&rec->fd[1], &sl, 24, 80);
    child[0] = child[1] = child[2] = sl;
    return err;
  }
  bool use[3] = {w->use_stdin, true, w->use_stderr};
  for (int i = 0; i < 3; i++) {
    if (!use[i]) {
      child[i] = x->devnull;
      continue;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
      return -errno;
    }
    child[i] = i == 0 ? p[0] : p[1];
    rec->fd[i] = i == 0 ? p[1] : p[0];
  }
  return 0;
}

static void close_child_ends(lctx_t *x, int child[3]) {
  for (int i = 0; i < 3; i++) {
    if (child[i] >= 0 && child[i] != x->devnull &&
        (i == 0 || child[i] != child[i - 1])) {
      close(child[i]);
    }
  }
}

static int watch(lctx_t *x, lrec_t *rec, int fd, int kind) {
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.u64 = (uint64_t)rec->gen << 32 | (uint64_t)(rec - x->recs) << 2 |
                (uint64_t)kind;
  return epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static int spawn_rec(lctx_t *x, lrec_t *rec) {
  const work_t *w = x->run->w;
  int child[3] = {-1, -1, -1};
  int err = make_stdio(x, rec, child);
  if (err == 0) {
    lchild_t c = {.file = w->argv[0],
                  .argv = (char *const *)w->argv,
                  .envp = environ,
                  .ctty = w->pty};
    memcpy(c.fd, child, sizeof(c.fd));
    int pidfd = -1;
    pid_t pid =
        clone(child_main, x->stack + STACK,
              CLONE_VM | CLONE_VFORK | CLONE_PIDFD, &c, &pidfd, NULL, NULL);
    if (pid < 0) {
      err = -errno;
    } else {
      rec->pid = pid;
      rec->pidfd = pidfd;
    }
  }
  close_child_ends(x, child);
  if (err == 0 && x->epfd >= 0) {
    for (int i = 1; i < 3 && err == 0; i++) {
      if (rec->fd[i] >= 0) {
        err = watch(x, rec, rec->fd[i], i);
      }
    }
    if (err == 0) {
      err = watch(x, rec, rec->pidfd, KIND_EXIT);
    }
  }
  return err;
}

static void reap(lrec_t *rec) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  while (waitid((idtype_t)P_PIDFD, (id_t)rec->pidfd, &si, WEXITED | __WALL) !=
             0 &&
         errno == EINTR) {
  }
  rec->exit_code =
      si.si_code == CLD_EXITED ? si.si_status : 128 + (si.si_status & 0x7f);
  rec->exited = 1;
  close_fd(&rec->pidfd);
}

static void start_one(lctx_t *x);

static void check_done(lctx_t *x, lrec_t *rec) {
  if (!rec->exited || rec->fd[1] >= 0 || rec->fd[2] >= 0) {
    return;
  }
  close_fd(&rec->fd[0]);
  work_end(x->run, &rec->s, rec->exit_code);
  rec->gen++;
  rec->next_free = x->free_list;
  x->free_list = rec;
  if (x->epfd >= 0) {
    start_one(x);
  }
}

static void send_msg(lctx_t *x, lrec_t *rec) {
  const work_t *w = x->run->w;
  work_sent(x->run, &rec->s);
  /* One small message into an empty pipe: the write cannot block. */
  ssize_t n;
  do {
    n = write(rec->fd[0], work_msg(w), w->msg_len);
  } while (n < 0 && errno == EINTR);
  if (n != (ssize_t)w->msg_len) {
    run_fail(x->run, n < 0 ? -errno : -EIO, "write");
    close_fd(&rec->fd[0]);
  }
}

static void on_readable(lctx_t *x, lrec_t *rec, int stream) {
  ssize_t n = read(rec->fd[stream], x->rbuf, RBUF);
  if (n > 0) {
    uint16_t rows = 0, cols = 0;
    unsigned act = work_data(x->run, &rec->s, (size_t)n, &rows, &cols);
    if (act & ACT_SEND) {
      send_msg(x, rec);
    }
    if (act & ACT_CLOSE_STDIN) {
      close_fd(&rec->fd[0]);
    }
    if (act & ACT_RESIZE) {
      struct winsize ws = {.ws_row = rows, .ws_col = cols};
      if (ioctl(rec->fd[1], TIOCSWINSZ, &ws) != 0) {
        run_fail(x->run, -errno, "TIOCSWINSZ");
      }
    }
    return;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return;
  }
  /* EOF, or EIO from a console master whose slave is gone. */
  close_fd(&rec->fd[stream]);
  check_done(x, rec);
}

static void start_one(lctx_t *x) {
  run_t *r = x->run;
  if (x->stop || r->started >= r->w->n) {
    return;
  }
  lrec_t *rec = x->free_list;
  if (rec != NULL) {
    x->free_list = rec->next_free;
  } else if (x->unused < r->w->c) {
    rec = &x->recs[x->unused++];
  } else {
    return;
  }
  uint32_t gen = rec->gen;
  memset(rec, 0, sizeof(*rec));
  rec->gen = gen;
  rec->pidfd = rec->fd[0] = rec->fd[1] = rec->fd[2] = -1;
  work_begin(r, &rec->s);
  int err = spawn_rec(x, rec);
  if (err != 0) {
    run_fail(r, err, "clone");
    r->started--;
    x->stop = 1;
    if (rec->pidfd >= 0) {
      (void)syscall(SYS_pidfd_send_signal, rec->pidfd, SIGKILL, NULL, 0);
      reap(rec);
    }
    for (int i = 0; i < 3; i++) {
      close_fd(&rec->fd[i]);
    }
    rec->next_free = x->free_list;
    x->free_list = rec;
  }
}

static void run_blocking(lctx_t *x) {
  run_t *r = x->run;
  lrec_t *rec = &x->recs[0];
  while (!x->stop && r->started < r->w->n) {
    start_one(x);
    if (x->stop) {
      break;
    }
    if (work_kick(r)) {
      send_msg(x, rec);
    }
    while (rec->fd[1] >= 0) {
      on_readable(x, rec, 1);
    }
    reap(rec);
    check_done(x, rec);
  }
}

static void run_epoll(lctx_t *x) {
  run_t *r = x->run;
  struct epoll_event ev[BATCH];
  if (r->w->sc == SC_IDLE) {
    work_idle_base(r);
    while (!x->stop && r->started < r->w->n) {
      start_one(x);
    }
    work_idle_up(r, 0);
    for (uint64_t i = 0; i < x->unused; i++) {
      close_fd(&x->recs[i].fd[0]);
    }
  } else {
    for (uint64_t i = 0; i < r->w->c; i++) {
      start_one(x);
    }
    for (uint64_t i = 0; i < x->unused && work_kick(r); i++) {
      if (x->recs[i].fd[0] >= 0) {
        send_msg(x, &x->recs[i]);
      }
    }
  }
  while (r->done < r->started) {
    int n = epoll_wait(x->epfd, ev, BATCH, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      run_fail(r, -errno, "epoll_wait");
      break;
    }
    for (int i = 0; i < n; i++) {
      uint64_t d = ev[i].data.u64;
      lrec_t *rec = &x->recs[(d & 0xffffffffu) >> 2];
      int kind = (int)(d & 3);
      if (rec->gen != (uint32_t)(d >> 32)) {
        continue; /* the session this event was for has ended */
      }
      if (kind == KIND_EXIT) {
        if (rec->pidfd >= 0) {
          reap(rec);
          check_done(x, rec);
        }
      } else if (rec->fd[kind] >= 0) {
        on_readable(x, rec, kind);
      }
    }
  }
}

int drv_limit_run(run_t *r) {
  const work_t *w = r->w;
  lctx_t *x = calloc(1, sizeof(*x));
  if (x == NULL) {
    return -ENOMEM;
  }
  x->run = r;
  x->epfd = -1;
  x->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  x->recs = bench_slab_alloc(w->c * sizeof(*x->recs));
  x->stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  int err = 0;
  if (x->devnull < 0 || x->recs == NULL || x->stack == MAP_FAILED) {
    err = x->devnull < 0 || x->stack == MAP_FAILED ? -errno : -ENOMEM;
  } else if (w->c > 1 || w->use_stderr || w->sc == SC_IDLE) {
    x->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (x->epfd < 0) {
      err = -errno;
    }
  }
  if (err == 0) {
    if (x->epfd >= 0) {
      run_epoll(x);
    } else {
      run_blocking(x);
    }
  } else {
    run_fail(r, err, "setting up");
  }
  if (x->epfd >= 0) {
    close(x->epfd);
  }
  if (x->stack != MAP_FAILED && x->stack != NULL) {
    munmap(x->stack, STACK);
  }
  if (x->devnull >= 0) {
    close(x->devnull);
  }
  bench_slab_free(x->recs, w->c * sizeof(*x->recs));
  free(x);
  return err;
}
