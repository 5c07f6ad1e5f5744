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
 * more, under a mutex and condition variable. The children are the
 * process's: the engine reaps them through their pidfds from its own
 * thread, and if the spawner exits first they pass to another thread of
 * the process with their exit signal unchanged (0). */
#include "async/internal.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { SPAWNER_STACK = 128 * 1024 };

struct as_spawner_s {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  as_spawner_opts_t o; /* the seccomp program is borrowed until setup */
  int setup_err;       /* -errno of the join, once setup_done */
  int setup_done;
  int stopping;
  as__spawner_req_t *req; /* the clone to make; NULL when idle */
};

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

static void *spawner_main(void *arg) {
  as_spawner_t *sp = arg;
  int err = join(&sp->o);
  pthread_mutex_lock(&sp->lock);
  sp->setup_err = err;
  sp->setup_done = 1;
  pthread_cond_broadcast(&sp->cond);
  while (err == 0 && !sp->stopping) {
    if (sp->req == NULL) {
      pthread_cond_wait(&sp->cond, &sp->lock);
      continue;
    }
    as__spawner_req_t *req = sp->req;
    pthread_mutex_unlock(&sp->lock);
    req->result = as__spawner_clone(req);
    pthread_mutex_lock(&sp->lock);
    sp->req = NULL;
    req->done = 1;
    pthread_cond_broadcast(&sp->cond);
  }
  pthread_mutex_unlock(&sp->lock);
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
  pthread_mutex_lock(&sp->lock);
  sp->stopping = 1;
  pthread_cond_broadcast(&sp->cond);
  pthread_mutex_unlock(&sp->lock);
  pthread_join(sp->thread, NULL);
  pthread_cond_destroy(&sp->cond);
  pthread_mutex_destroy(&sp->lock);
  as_free(sp);
}

int as__spawner_run(as_spawner_t *sp, as__spawner_req_t *req) {
  req->done = 0;
  pthread_mutex_lock(&sp->lock);
  /* One clone at a time: callers on other loops wait their turn. */
  while (sp->req != NULL && !sp->stopping) {
    pthread_cond_wait(&sp->cond, &sp->lock);
  }
  if (sp->stopping) {
    pthread_mutex_unlock(&sp->lock);
    return -ESRCH;
  }
  sp->req = req;
  pthread_cond_broadcast(&sp->cond);
  while (!req->done) {
    pthread_cond_wait(&sp->cond, &sp->lock);
  }
  pthread_mutex_unlock(&sp->lock);
  return req->result;
}
