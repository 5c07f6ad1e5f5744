/* SPDX-License-Identifier: MIT */
/* Spawners: a thread per container that has joined it once.
 *
 * Joining a container costs the same for every exec: setns into six
 * namespaces, about 27 bounding-set drops (each a prepare_creds /
 * commit_creds pair), capset, no_new_privs and, above all, a seccomp
 * filter, which the kernel copies, checks and JIT-compiles per install
 * (about 250 us for Docker's default, more than a whole exec cost before).
 * All of these are per-thread state that a clone child inherits. So a
 * spawner thread does them once: it leaves the engine's fs_struct
 * (unshare CLONE_FS, which setns into a mount namespace requires), joins
 * the namespaces (the pid one as pid_for_children), cuts its bounding set,
 * keeps exactly the container's capabilities, sets no_new_privs and
 * installs the filter. Each spawn is then handed to it: it makes the
 * clone, the child starts with all of that in place and only joins the
 * cgroups, places its stdio and execs.
 *
 * The thread shares the engine's memory and fds but is not in the
 * container's pid namespace (setns cannot move a task's own pid), so no
 * process of the container sees it; its children are, until execve, and
 * the engine is undumpable for their sake (spawn.c). The engine thread
 * waits for the clone as it would for its own (CLONE_VFORK): one hand-off
 * more, on a futex word each way. The children are the process's: the
 * engine reaps them through their pidfds from its own thread, and if the
 * spawner exits first they pass to another thread of the process with
 * their exit signal unchanged (0). */
#include "async/internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { SPAWNER_STACK = 128 * 1024 };

/* The hand-off word (a futex): idle, a request posted, or stopping. */
enum { HANDOFF_IDLE = 0, HANDOFF_REQ = 1, HANDOFF_STOP = 2 };

struct as_spawner_s {
  pthread_t thread;
  pthread_mutex_t lock; /* one caller at a time; the setup's wait */
  pthread_cond_t cond;  /* setup_done */
  as_spawner_opts_t o;  /* the seccomp program is borrowed until setup */
  int setup_err;        /* -errno of the join, once setup_done */
  int setup_done;
  int stopping;           /* under lock */
  uint32_t word;          /* HANDOFF_*, read and written atomically */
  as__spawner_req_t *req; /* the clone to make, with HANDOFF_REQ */
};

/* A futex of this process's on an aligned 32-bit word. With the word
 * still at val, the waiter sleeps; a wake from the other side or an
 * EINTR sends it back to look again. */
static void futex_wait(uint32_t *w, uint32_t val) {
  (void)syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(uint32_t *w) {
  (void)syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int join(const as_spawner_opts_t *o) {
  if (unshare(CLONE_FS) != 0 || setns(o->ns_pidfd, (int)o->ns_flags) != 0) {
    return -errno;
  }
  /* The thread's own credentials become a container process's. Without
   * no_new_privs the filter needs CAP_SYS_ADMIN, which the capset takes
   * away: it goes on first (and judges the calls that follow). */
  int early = !o->no_new_privs && o->seccomp != NULL;
  int err = 0;
  if (early &&
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, o->seccomp) != 0) {
    return -errno;
  }
  if (o->set_caps) {
    err = as__cut_bounding(o->caps);
    err = -(err != 0 ? err : as__capset(o->caps, 0));
  }
  if (err == 0 && o->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
    err = -errno;
  }
  if (err == 0 && !early && o->seccomp != NULL &&
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, o->seccomp) != 0) {
    err = -errno;
  }
  return err;
}

/* Each clone costs two wake-ups, one each way, on bare futex words: a
 * mutex and condition variable took nearly twice the system calls, at
 * several microseconds each in a guest. */
static void *spawner_main(void *arg) {
  as_spawner_t *sp = arg;
  int err = join(&sp->o);
  pthread_mutex_lock(&sp->lock);
  sp->setup_err = err;
  sp->setup_done = 1;
  pthread_cond_broadcast(&sp->cond);
  pthread_mutex_unlock(&sp->lock);
  while (err == 0) {
    uint32_t w = __atomic_load_n(&sp->word, __ATOMIC_ACQUIRE);
    if (w == HANDOFF_IDLE) {
      futex_wait(&sp->word, HANDOFF_IDLE);
      continue;
    }
    if (w == HANDOFF_STOP) {
      break;
    }
    as__spawner_req_t *req = sp->req;
    /* Idle again before the caller can see done and post the next. */
    __atomic_store_n(&sp->word, HANDOFF_IDLE, __ATOMIC_RELAXED);
    req->result = as__spawner_clone(req);
    __atomic_store_n(&req->done, 1, __ATOMIC_RELEASE);
    futex_wake((uint32_t *)&req->done);
  }
  return NULL;
}

int as_spawner_new(const as_spawner_opts_t *o, as_spawner_t **out) {
  if (o == NULL || out == NULL || o->ns_pidfd < 0 ||
      (o->ns_flags & ~(unsigned)AS_SPAWNER_NS) != 0) {
    return -EINVAL;
  }
  /* Before any child of the container exists (spawn.c says why). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return -errno;
  }
  as_spawner_t *sp = as_calloc(1, sizeof(*sp));
  if (sp == NULL) {
    return -ENOMEM;
  }
  sp->o = *o;
  pthread_attr_t attr;
  int err = pthread_attr_init(&attr);
  if (err != 0) {
    as_free(sp);
    return -err;
  }
  (void)pthread_attr_setstacksize(&attr, SPAWNER_STACK);
  pthread_mutex_init(&sp->lock, NULL);
  pthread_cond_init(&sp->cond, NULL);
  /* The thread starts with every signal blocked: the engine's handlers
   * are for the engine's threads. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  err = pthread_create(&sp->thread, &attr, spawner_main, sp);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    pthread_cond_destroy(&sp->cond);
    pthread_mutex_destroy(&sp->lock);
    as_free(sp);
    return -err;
  }
  pthread_mutex_lock(&sp->lock);
  while (!sp->setup_done) {
    pthread_cond_wait(&sp->cond, &sp->lock);
  }
  err = sp->setup_err;
  sp->o.seccomp = NULL; /* installed; the caller's again */
  pthread_mutex_unlock(&sp->lock);
  if (err != 0) {
    as_spawner_free(sp);
    return err;
  }
  *out = sp;
  return 0;
}

void as_spawner_free(as_spawner_t *sp) {
  if (sp == NULL) {
    return;
  }
  /* Under the callers' lock: no hand-off is under way. */
  pthread_mutex_lock(&sp->lock);
  sp->stopping = 1;
  __atomic_store_n(&sp->word, HANDOFF_STOP, __ATOMIC_RELEASE);
  futex_wake(&sp->word);
  pthread_mutex_unlock(&sp->lock);
  pthread_join(sp->thread, NULL);
  pthread_cond_destroy(&sp->cond);
  pthread_mutex_destroy(&sp->lock);
  as_free(sp);
}

int as__spawner_joined_mnt(const as_spawner_t *sp) {
  /* The thread never changes its working directory after the join. */
  return (sp->o.ns_flags & CLONE_NEWNS) != 0;
}

int as__spawner_run(as_spawner_t *sp, as__spawner_req_t *req) {
  /* One clone at a time: callers on other loops wait their turn. */
  pthread_mutex_lock(&sp->lock);
  if (sp->stopping) {
    pthread_mutex_unlock(&sp->lock);
    return -ESRCH;
  }
  __atomic_store_n(&req->done, 0, __ATOMIC_RELAXED);
  sp->req = req;
  __atomic_store_n(&sp->word, HANDOFF_REQ, __ATOMIC_RELEASE);
  futex_wake(&sp->word);
  while (__atomic_load_n(&req->done, __ATOMIC_ACQUIRE) == 0) {
    futex_wait((uint32_t *)&req->done, 0);
  }
  pthread_mutex_unlock(&sp->lock);
  return req->result;
}
