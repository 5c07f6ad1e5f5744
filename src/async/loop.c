/* SPDX-License-Identifier: MIT */
/* The loop: a libuv loop plus what every session on it shares (the buffer
 * pool, the spawn stack, /dev/null) and a queue for calls posted from other
 * threads. */
#include "async/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
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
  uv_async_t wake;
  pthread_mutex_t lock; /* guards posts and closing */
  post_t *post_head, *post_tail;
  int closing;
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
  uv_idle_t defer_idle; /* runs deferred calls; started while any wait */
  as__defer_t *defer_head, *defer_tail;
  uv_signal_t sigchld; /* only for children without a pidfd */
  int sigchld_init;
  as__pidw_t pids; /* list head */
  as__list_t sessions;
  size_t nsessions;
  size_t nactive; /* sessions not yet complete: they keep the loop alive */
};

static void wake_cb(uv_async_t *h) {
  as_loop_t *loop = h->data;
  pthread_mutex_lock(&loop->lock);
  post_t *p = loop->post_head;
  loop->post_head = loop->post_tail = NULL;
  pthread_mutex_unlock(&loop->lock);
  while (p != NULL) {
    post_t *next = p->next;
    p->fn(loop, p->data);
    as_free(p);
    p = next;
  }
}

static void epoll_cb(uv_poll_t *p, int status, int events) {
  as_loop_t *loop = p->data;
  (void)status;
  (void)events;
  as__watch_dispatch(loop->epfd);
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

void as__loop_defer(as_loop_t *loop, as__defer_t *d) {
  d->next = NULL;
  if (loop->defer_tail != NULL) {
    loop->defer_tail->next = d;
  } else {
    loop->defer_head = d;
    uv_idle_start(&loop->defer_idle, defer_cb);
  }
  loop->defer_tail = d;
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
  if (uv_loop == NULL) {
    err = uv_loop_init_checked(&loop->own_uv);
    if (err != 0) {
      goto free_pool;
    }
    loop->uv = &loop->own_uv;
    loop->owns_uv = 1;
  } else {
    loop->uv = uv_loop;
  }
  pthread_mutex_init(&loop->lock, NULL);
  err = uv_async_init(loop->uv, &loop->wake, wake_cb);
  if (err != 0) {
    goto close_uv;
  }
  loop->wake.data = loop;
  /* The wake handle alone does not keep the loop alive. */
  uv_unref((uv_handle_t *)&loop->wake);
  err = uv_poll_init(loop->uv, &loop->epoll_poll, loop->epfd);
  if (err != 0) {
    goto close_wake;
  }
  loop->epoll_poll.data = loop;
  err = uv_poll_start(&loop->epoll_poll, UV_READABLE, epoll_cb);
  if (err != 0) {
    goto close_poll;
  }
  /* Live sessions keep the loop alive (as__loop_active), not the set. */
  uv_unref((uv_handle_t *)&loop->epoll_poll);
  uv_idle_init(loop->uv, &loop->defer_idle);
  loop->defer_idle.data = loop;
  *out = loop;
  return 0;

close_poll:
  uv_close((uv_handle_t *)&loop->epoll_poll, NULL);
close_wake:
  uv_close((uv_handle_t *)&loop->wake, NULL);
  uv_run(loop->uv, UV_RUN_NOWAIT);
close_uv:
  pthread_mutex_destroy(&loop->lock);
  if (loop->owns_uv) {
    uv_loop_close(&loop->own_uv);
  }
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

int as_loop_run(as_loop_t *loop, int once) {
  pthread_t prev = atomic_load_explicit(&loop->runner, memory_order_relaxed);
  int was_running = atomic_load_explicit(&loop->running, memory_order_relaxed);
  atomic_store_explicit(&loop->runner, pthread_self(), memory_order_relaxed);
  atomic_store_explicit(&loop->running, 1, memory_order_relaxed);
  int r = uv_run(loop->uv, once ? UV_RUN_NOWAIT : UV_RUN_DEFAULT);
  atomic_store_explicit(&loop->runner, prev, memory_order_relaxed);
  atomic_store_explicit(&loop->running, was_running, memory_order_relaxed);
  return r;
}

void as_loop_stop(as_loop_t *loop) { uv_stop(loop->uv); }

void as_loop_keepalive(as_loop_t *loop, int on) {
  if (on) {
    uv_ref((uv_handle_t *)&loop->wake);
  } else {
    uv_unref((uv_handle_t *)&loop->wake);
  }
}

void as_loop_free(as_loop_t *loop) {
  if (loop == NULL) {
    return;
  }
  pthread_mutex_lock(&loop->lock);
  loop->closing = 1;
  pthread_mutex_unlock(&loop->lock);
  /* Posts that raced with closing still run, so no poster waits forever. */
  wake_cb(&loop->wake);
  uv_close((uv_handle_t *)&loop->wake, NULL);
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
  /* Sent under the lock so that as_loop_free cannot close the handle
   * between the enqueue and the send. */
  uv_async_send(&loop->wake);
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
    uv_ref((uv_handle_t *)&loop->epoll_poll);
  } else if (delta < 0 && --loop->nactive == 0) {
    uv_unref((uv_handle_t *)&loop->epoll_poll);
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
