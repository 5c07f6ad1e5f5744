/* SPDX-License-Identifier: MIT */
/* The loop: a libuv loop plus what every session on it shares (the buffer
 * pool, the spawn stack, /dev/null) and a queue for calls posted from other
 * threads.
 *
 * Two epoll sets meet here: libuv's (its backend fd: its timers' wake-ups,
 * thread-pool completions, signals, the embedder's handles) and the
 * engine's (epfd: every pipe, pty, pidfd and socket of the sessions, and
 * the eventfd of posts). The kernel lets one set be a member of the
 * other, not both at once (EPOLL_CTL_ADD gives ELOOP), so one of them is
 * nested:
 *
 * - on an embedder's loop, and whenever something other than
 *   as_loop_run's own loop drives the libuv loop (uv_run on as_loop_uv, a
 *   once round), epfd is one polled fd of libuv's (epoll_poll); a wake for
 *   a session costs libuv's epoll_wait and then the engine's;
 * - while as_loop_run runs a loop the engine owns, the nesting is turned
 *   round (run_own): libuv's backend fd is a member of epfd, the thread
 *   blocks in one epoll_wait on epfd with libuv's next timeout, session
 *   events are dispatched from it directly, and libuv gets a round
 *   (uv_run NOWAIT, its own epoll_wait) only when its backend fd is ready
 *   or it has something due: a timer, a closing handle, a pending or idle
 *   callback. A wake that only sessions caused costs one epoll_wait.
 *   A uv_run on as_loop_uv made from a callback of that run sees no
 *   session events (epfd is not in libuv's set then); after as_loop_run
 *   returns, uv_run alone drives everything again. */
#include "async/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <uv.h>

typedef struct post_s {
  struct post_s *next;
  as_post_cb fn;
  void *data;
} post_t;

struct as_loop_s {
  uv_loop_t *uv;
  uv_loop_t own_uv;
  int owns_uv;
  /* Never sent: an active handle whose ref keeps libuv's loop alive for
   * the engine (update_ref). */
  uv_async_t hold;
  pthread_mutex_t lock; /* guards posts, post_signalled and closing */
  post_t *post_head, *post_tail;
  int closing;
  /* Posts wake the loop through an eventfd in epfd, an engine event like
   * any session's: one epoll_wait in run_own, where a uv_async would cost
   * libuv's round too. post_signalled: written and not yet taken. */
  as__watch_t post_w;
  int post_signalled;
  /* Written by the thread in as_loop_run, read by as_loop_on_thread from
   * any thread: atomics, relaxed. A thread only needs to tell whether it
   * is itself the runner; it sees its own writes in order, and a stale
   * value written by another thread never names it. */
  _Atomic pthread_t runner;
  atomic_int running;
  as_bufpool_t *pool;
  as__spawn_stack_t stack;
  int devnull;
  int own_pidns; /* -1 until a spawn into a container needs it */
  int epfd;
  uv_poll_t epoll_poll; /* the engine's epoll set, as one fd of libuv's */
  uv_idle_t defer_idle; /* runs deferred calls while nested; see defer */
  /* run_own: libuv's backend fd in epfd while own_depth > 0; uv_due says
   * it polled ready in this round. stop: as_loop_stop asked run_own to
   * return (libuv's stop flag would be eaten by the uv_run NOWAIT). */
  as__watch_t uv_w;
  int own_depth;
  int uv_due;
  int stop;
  int keepalive;
  as__defer_t *defer_head, *defer_tail;
  uv_signal_t sigchld; /* only for children without a pidfd */
  int sigchld_init;
  as__pidw_t pids; /* list head */
  as__list_t sessions;
  size_t nsessions;
  size_t nactive; /* sessions not yet complete: they keep the loop alive */
};

/* A post after the list is taken finds post_signalled clear and writes
 * again; one that lands between the read and the take is run now and
 * leaves a wake with nothing to do. */
static void run_posts(as_loop_t *loop) {
  pthread_mutex_lock(&loop->lock);
  post_t *p = loop->post_head;
  loop->post_head = loop->post_tail = NULL;
  loop->post_signalled = 0;
  pthread_mutex_unlock(&loop->lock);
  while (p != NULL) {
    post_t *next = p->next;
    p->fn(loop, p->data);
    as_free(p);
    p = next;
  }
}

static void post_ready_cb(as__watch_t *w, uint32_t events) {
  as_loop_t *loop = (as_loop_t *)((char *)w - offsetof(as_loop_t, post_w));
  uint64_t n;
  (void)events;
  /* Only EAGAIN can fail it (a wake already taken). */
  (void)!read(w->fd, &n, sizeof(n));
  run_posts(loop);
}

static void epoll_cb(uv_poll_t *p, int status, int events) {
  as_loop_t *loop = p->data;
  (void)status;
  (void)events;
  (void)as__watch_dispatch(loop->epfd, 0, NULL, NULL);
}

/* A write to a pipe whose reader is gone must fail with EPIPE, not kill
 * the host: SIGPIPE is ignored process-wide unless the embedder installed
 * a handler, as libuv-based runtimes do. Children get it back at its
 * default (spawn.c). */
static void ignore_sigpipe(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
}

static void defer_cb(uv_idle_t *h) {
  as_loop_t *loop = h->data;
  as__defer_t *d = loop->defer_head;
  loop->defer_head = loop->defer_tail = NULL;
  uv_idle_stop(h);
  /* Calls deferred while these run wait for the next round. */
  while (d != NULL) {
    as__defer_t *next = d->next;
    d->fn(d);
    d = next;
  }
}

/* run_own runs the deferred calls itself after each batch of events; an
 * idle handle would make every libuv round poll with timeout 0. */
void as__loop_defer(as_loop_t *loop, as__defer_t *d) {
  d->next = NULL;
  if (loop->defer_tail != NULL) {
    loop->defer_tail->next = d;
  } else {
    loop->defer_head = d;
    if (loop->own_depth == 0) {
      uv_idle_start(&loop->defer_idle, defer_cb);
    }
  }
  loop->defer_tail = d;
}

/* The hold handle is what keeps libuv's loop alive for the engine: ref'd
 * while keepalive is on or a session is active. The loop's liveness and
 * libuv's next timeout (uv_backend_timeout) then count the engine in
 * either nesting, with no handle of its own per state. */
static void update_ref(as_loop_t *loop) {
  if (loop->keepalive || loop->nactive > 0) {
    uv_ref((uv_handle_t *)&loop->hold);
  } else {
    uv_unref((uv_handle_t *)&loop->hold);
  }
}

static void sigchld_cb(uv_signal_t *h, int sig) {
  as_loop_t *loop = h->data;
  (void)sig;
  for (as__pidw_t *w = loop->pids.next; w != &loop->pids;) {
    as__pidw_t *next = w->next; /* cb may unwatch w */
    w->cb(w);
    w = next;
  }
}

void as__loop_pid_watch(as_loop_t *loop, as__pidw_t *w) {
  if (!loop->sigchld_init) {
    uv_signal_init(loop->uv, &loop->sigchld);
    loop->sigchld.data = loop;
    loop->sigchld_init = 1;
  }
  if (loop->pids.next == &loop->pids) {
    uv_signal_start(&loop->sigchld, sigchld_cb, SIGCHLD);
    uv_unref((uv_handle_t *)&loop->sigchld);
  }
  w->next = &loop->pids;
  w->prev = loop->pids.prev;
  w->prev->next = w;
  loop->pids.prev = w;
}

void as__loop_pid_unwatch(as_loop_t *loop, as__pidw_t *w) {
  if (w->next == NULL || w->next == w) {
    return;
  }
  w->prev->next = w->next;
  w->next->prev = w->prev;
  w->next = w->prev = w;
  if (loop->pids.next == &loop->pids) {
    uv_signal_stop(&loop->sigchld);
  }
}

/* libuv opens a process-wide pipe in the first uv_loop_init of the process
 * (uv__signal_global_once_init) and abort()s when it cannot: with the fd
 * table nearly full, the first loop would kill the host. Until a loop has
 * been made, the fds that call needs (its epoll fd, then that pipe) are
 * first taken and given back here, so a full table is -EMFILE instead.
 * Another thread of the embedder could take them in between; only the
 * first loop of a process is exposed to that. A one-time probe (a
 * documented global), under its lock. */
static pthread_mutex_t uv_first_lock = PTHREAD_MUTEX_INITIALIZER;
static int uv_first_done;

static int uv_loop_init_checked(uv_loop_t *uv) {
  pthread_mutex_lock(&uv_first_lock);
  int err = 0;
  if (!uv_first_done) {
    int p[2] = {-1, -1};
    int third = -1;
    if (pipe2(p, O_CLOEXEC) != 0 ||
        (third = fcntl(p[0], F_DUPFD_CLOEXEC, 0)) < 0) {
      err = -errno;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i] >= 0) {
        close(p[i]);
      }
    }
    if (third >= 0) {
      close(third);
    }
  }
  if (err == 0) {
    err = uv_loop_init(uv);
    uv_first_done |= err == 0;
  }
  pthread_mutex_unlock(&uv_first_lock);
  return err;
}

int as_loop_new(as_loop_t **out, void *uv_loop) {
  static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;
  as_alloc_init();
  pthread_once(&sigpipe_once, ignore_sigpipe);
  as_loop_t *loop = as_calloc(1, sizeof(*loop));
  if (loop == NULL) {
    return -ENOMEM;
  }
  int err;
  loop->sessions.prev = loop->sessions.next = &loop->sessions;
  loop->pids.prev = loop->pids.next = &loop->pids;
  loop->own_pidns = -1;
  loop->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (loop->devnull < 0) {
    err = -errno;
    goto free_loop;
  }
  err = as__watch_set_init(&loop->epfd);
  if (err != 0) {
    goto close_devnull;
  }
  err = as__spawn_stack_init(&loop->stack);
  if (err != 0) {
    goto close_epfd;
  }
  err = as_bufpool_new(&loop->pool);
  if (err != 0) {
    goto free_stack;
  }
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    err = -errno;
    goto free_pool;
  }
  err = as__watch_add(loop->epfd, &loop->post_w, efd, EPOLLIN, post_ready_cb);
  if (err != 0) {
    close(efd);
    goto free_pool;
  }
  if (uv_loop == NULL) {
    err = uv_loop_init_checked(&loop->own_uv);
    if (err != 0) {
      goto close_post;
    }
    loop->uv = &loop->own_uv;
    loop->owns_uv = 1;
  } else {
    loop->uv = uv_loop;
  }
  pthread_mutex_init(&loop->lock, NULL);
  err = uv_async_init(loop->uv, &loop->hold, NULL);
  if (err != 0) {
    goto close_uv;
  }
  uv_unref((uv_handle_t *)&loop->hold);
  err = uv_poll_init(loop->uv, &loop->epoll_poll, loop->epfd);
  if (err != 0) {
    goto close_hold;
  }
  loop->epoll_poll.data = loop;
  err = uv_poll_start(&loop->epoll_poll, UV_READABLE, epoll_cb);
  if (err != 0) {
    goto close_poll;
  }
  /* Live sessions keep the loop alive (update_ref), not the set. */
  uv_unref((uv_handle_t *)&loop->epoll_poll);
  loop->uv_w.fd = -1;
  uv_idle_init(loop->uv, &loop->defer_idle);
  loop->defer_idle.data = loop;
  *out = loop;
  return 0;

close_poll:
  uv_close((uv_handle_t *)&loop->epoll_poll, NULL);
close_hold:
  uv_close((uv_handle_t *)&loop->hold, NULL);
  uv_run(loop->uv, UV_RUN_NOWAIT);
close_uv:
  pthread_mutex_destroy(&loop->lock);
  if (loop->owns_uv) {
    uv_loop_close(&loop->own_uv);
  }
close_post:
  as__watch_close(loop->epfd, &loop->post_w);
free_pool:
  as_bufpool_free(loop->pool);
free_stack:
  as__spawn_stack_free(&loop->stack);
close_epfd:
  close(loop->epfd);
close_devnull:
  close(loop->devnull);
free_loop:
  as_free(loop);
  return err;
}

static void uv_ready_cb(as__watch_t *w, uint32_t events) {
  as_loop_t *loop = (as_loop_t *)((char *)w - offsetof(as_loop_t, uv_w));
  (void)events;
  loop->uv_due = 1;
}

/* After each epoll_wait, before any callback: libuv's clock, which its
 * timers and as_loop_now read, moves only when libuv runs a round; the
 * wait may have slept for long. A vDSO read, no system call. */
static void woke_cb(void *arg) {
  as_loop_t *loop = arg;
  uv_update_time(loop->uv);
}

/* Turns the nesting round for run_own: epfd leaves libuv's set (uv_poll_stop
 * deletes it from the backend at once), then libuv's backend fd joins
 * epfd. Deferred calls leave the idle handle for run_own's own list. */
static int nest_uv_in_engine(as_loop_t *loop) {
  (void)uv_poll_stop(&loop->epoll_poll);
  int err = as__watch_add(loop->epfd, &loop->uv_w, uv_backend_fd(loop->uv),
                          EPOLLIN, uv_ready_cb);
  if (err != 0) {
    (void)uv_poll_start(&loop->epoll_poll, UV_READABLE, epoll_cb);
    return err;
  }
  (void)uv_idle_stop(&loop->defer_idle);
  return 0;
}

/* Back to the nesting that uv_run on its own expects. libuv adds epfd to
 * its set again in its next round, after the backend fd has left epfd. */
static void nest_engine_in_uv(as_loop_t *loop) {
  as__watch_del(loop->epfd, &loop->uv_w);
  (void)uv_poll_start(&loop->epoll_poll, UV_READABLE, epoll_cb);
  if (loop->defer_head != NULL) {
    uv_idle_start(&loop->defer_idle, defer_cb);
  }
}

/* One round of run_own. The wait is for the engine's events and libuv's
 * backend fd together, bounded by libuv's next timer; zero when deferred
 * calls wait or libuv has something to run now. uv_backend_timeout counts
 * libuv's view of liveness: the hold handle is ref'd while the engine has
 * work (update_ref), so with sessions alone it still gives the next timer
 * and not 0. */
static void own_round(as_loop_t *loop, int nowait) {
  uv_loop_t *uv = loop->uv;
  int timeout = nowait || loop->defer_head != NULL ? 0 : uv_backend_timeout(uv);
  loop->uv_due = 0;
  (void)as__watch_dispatch(loop->epfd, timeout, woke_cb, loop);
  if (loop->defer_head != NULL) {
    defer_cb(&loop->defer_idle);
  }
  if (loop->stop) {
    return;
  }
  /* Due timers, closing handles, pending and idle callbacks show as a zero
   * timeout; a loop with nothing of libuv's alive shows so too, and then
   * uv_run returns at once without polling. */
  if (loop->uv_due || uv_backend_timeout(uv) == 0) {
    (void)uv_run(uv, UV_RUN_NOWAIT);
  }
}

/* as_loop_run on a loop the engine owns: see the top of the file. Nested
 * calls (from a callback) run rounds of the same arrangement. */
static int run_own(as_loop_t *loop, int once) {
  uv_loop_t *uv = loop->uv;
  if (loop->own_depth == 0 && nest_uv_in_engine(loop) != 0) {
    return uv_run(uv, once ? UV_RUN_NOWAIT : UV_RUN_DEFAULT);
  }
  loop->own_depth++;
  if (once) {
    own_round(loop, 1);
  } else {
    while (!loop->stop && (uv_loop_alive(uv) || loop->defer_head != NULL)) {
      own_round(loop, 0);
    }
  }
  loop->stop = 0;
  if (--loop->own_depth == 0) {
    nest_engine_in_uv(loop);
  }
  return uv_loop_alive(uv);
}

int as_loop_run(as_loop_t *loop, int once) {
  pthread_t prev = atomic_load_explicit(&loop->runner, memory_order_relaxed);
  int was_running = atomic_load_explicit(&loop->running, memory_order_relaxed);
  atomic_store_explicit(&loop->runner, pthread_self(), memory_order_relaxed);
  atomic_store_explicit(&loop->running, 1, memory_order_relaxed);
  int r;
  /* A once round outside run_own stays nested: turning the sets round
   * costs four epoll_ctl calls, more than the round saves. */
  if (loop->owns_uv && (!once || loop->own_depth > 0)) {
    r = run_own(loop, once);
  } else {
    r = uv_run(loop->uv, once ? UV_RUN_NOWAIT : UV_RUN_DEFAULT);
    loop->stop = 0;
  }
  atomic_store_explicit(&loop->runner, prev, memory_order_relaxed);
  atomic_store_explicit(&loop->running, was_running, memory_order_relaxed);
  return r;
}

void as_loop_stop(as_loop_t *loop) {
  if (loop->own_depth > 0) {
    loop->stop = 1;
  } else {
    uv_stop(loop->uv);
  }
}

void as_loop_keepalive(as_loop_t *loop, int on) {
  loop->keepalive = on != 0;
  update_ref(loop);
}

void as_loop_free(as_loop_t *loop) {
  if (loop == NULL) {
    return;
  }
  pthread_mutex_lock(&loop->lock);
  loop->closing = 1;
  pthread_mutex_unlock(&loop->lock);
  /* Posts that raced with closing still run, so no poster waits forever. */
  run_posts(loop);
  uv_close((uv_handle_t *)&loop->hold, NULL);
  uv_close((uv_handle_t *)&loop->epoll_poll, NULL);
  uv_run(loop->uv, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&loop->defer_idle, NULL);
  if (loop->sigchld_init) {
    uv_close((uv_handle_t *)&loop->sigchld, NULL);
  }
  uv_run(loop->uv, UV_RUN_DEFAULT);
  /* Every session was released before, and its last handle closed in the
   * run above. */
  assert(loop->nsessions == 0);
  if (loop->owns_uv) {
    (void)uv_loop_close(loop->uv);
  }
  pthread_mutex_destroy(&loop->lock);
  as_bufpool_free(loop->pool);
  as__spawn_stack_free(&loop->stack);
  as__watch_close(loop->epfd, &loop->post_w);
  close(loop->epfd);
  close(loop->devnull);
  if (loop->own_pidns >= 0) {
    close(loop->own_pidns);
  }
  as_free(loop);
}

int as_loop_post(as_loop_t *loop, as_post_cb fn, void *data) {
  post_t *p = as_malloc(sizeof(*p));
  if (p == NULL) {
    return -ENOMEM;
  }
  p->next = NULL;
  p->fn = fn;
  p->data = data;
  pthread_mutex_lock(&loop->lock);
  if (loop->closing) {
    pthread_mutex_unlock(&loop->lock);
    as_free(p);
    return -ESHUTDOWN;
  }
  if (loop->post_tail != NULL) {
    loop->post_tail->next = p;
  } else {
    loop->post_head = p;
  }
  loop->post_tail = p;
  /* Written under the lock so that as_loop_free cannot close the eventfd
   * between the enqueue and the write. A full counter (EAGAIN) is a wake
   * already pending. */
  if (!loop->post_signalled) {
    static const uint64_t one = 1;
    loop->post_signalled = 1;
    (void)!write(loop->post_w.fd, &one, sizeof(one));
  }
  pthread_mutex_unlock(&loop->lock);
  return 0;
}

int as_loop_on_thread(const as_loop_t *loop) {
  return atomic_load_explicit(&loop->running, memory_order_relaxed) &&
         pthread_equal(
             atomic_load_explicit(&loop->runner, memory_order_relaxed),
             pthread_self());
}

as_bufpool_t *as_loop_pool(as_loop_t *loop) { return loop->pool; }

void *as_loop_uv(as_loop_t *loop) { return loop->uv; }

uint64_t as_loop_now(as_loop_t *loop) { return uv_now(loop->uv); }

size_t as_loop_sessions(const as_loop_t *loop) { return loop->nsessions; }

void as__loop_session_add(as_loop_t *loop, as__list_t *node) {
  node->next = &loop->sessions;
  node->prev = loop->sessions.prev;
  node->prev->next = node;
  loop->sessions.prev = node;
  loop->nsessions++;
}

void as__loop_session_del(as_loop_t *loop, as__list_t *node) {
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->prev = node->next = node;
  loop->nsessions--;
}

as__spawn_stack_t *as__loop_stack(as_loop_t *loop) { return &loop->stack; }

int as__loop_devnull(as_loop_t *loop) { return loop->devnull; }

int as__loop_epfd(as_loop_t *loop) { return loop->epfd; }

void as__loop_active(as_loop_t *loop, int delta) {
  if (delta > 0 && loop->nactive++ == 0) {
    update_ref(loop);
  } else if (delta < 0 && --loop->nactive == 0) {
    update_ref(loop);
  }
}

as__list_t *as__loop_sessions(as_loop_t *loop) { return &loop->sessions; }

int as__loop_own_pidns(as_loop_t *loop) {
  if (loop->own_pidns < 0) {
    /* The active namespace, not pid_for_children: the one to go back to. */
    int fd = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return -errno;
    }
    loop->own_pidns = fd;
  }
  return loop->own_pidns;
}
