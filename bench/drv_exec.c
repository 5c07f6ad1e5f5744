/* SPDX-License-Identifier: MIT */
/* The exec contenders: r->w->c execs in flight into the contender's
 * running system (exec_env.c), each read to EOF and waited.
 * - hcs: hcs_session_start_in on the engine's loops, as a gateway that
 *   serves its clients on them makes an exec: the bench thread posts a
 *   lane to each engine loop once (C split among them), each loop keeps
 *   its lane's sessions in flight (stdout pumped to EOF, the done
 *   callback with the exit code starts the next) and the bench thread
 *   wakes once, when the last lane is done. No thread hand-off per exec
 *   (a worker loop's start waits for loop 0 to check the system).
 * - hcs sync: hcs_CreateProcessInComputeSystem with stdout piped, the pipe
 *   read to EOF, hcs_WaitForProcessResult, from C threads: the synchronous
 *   calls, each a post to the engine thread and a wake-up back.
 * - crun exec, runc exec: the runtime spawned (posix_spawn) with stdout
 *   and stderr on one pipe, the pipe read to EOF, waitpid, from C threads.
 * In both hcs rows the engine joins the system's namespaces and cgroup
 * itself, with no runtime binary started per exec. An exec's latency runs
 * from the start call (or the spawn) to the done callback (or the return
 * of the wait). Output is counted: nop writes nothing, so any byte is a
 * message from the runtime, kept for the note. */
#include "bench.h"

#include <hcs-async.h>
#include <hcs.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct xctx_s {
  run_t *run;
  contender_t ct;
  exec_env_t *env;
  char *rt_argv[7];       /* crun, runc: RT --root STATE exec ID PROG */
  posix_spawnattr_t attr; /* crun, runc: SIGPIPE back to its default */
  pthread_mutex_t mu;     /* the run's bookkeeping and stop */
  bool stop;              /* a create or spawn failed: start no more */
} xctx_t;

/* What one exec gave. */
typedef struct xres_s {
  int exit_code;
  uint64_t bytes;
  int err;        /* the exec could not be made (negative errno) */
  char text[120]; /* the first output, or why it failed */
} xres_t;

/* Reads fd to EOF, keeping the first bytes in o->text. */
static void drain(int fd, xres_t *o) {
  char buf[4096];
  size_t kept = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    if (o->bytes == 0 && kept == 0) {
      kept = (size_t)n < sizeof(o->text) - 1 ? (size_t)n : sizeof(o->text) - 1;
      memcpy(o->text, buf, kept);
      o->text[kept] = '\0';
      o->text[strcspn(o->text, "\n")] = '\0';
    }
    o->bytes += (uint64_t)n;
  }
  close(fd);
}

static void hcs_failed(xres_t *o, const char *what, hcs_error_t *herr) {
  int en = hcs_error_errno(herr);
  o->err = -(en != 0 ? en : EIO);
  snprintf(o->text, sizeof(o->text), "%s: %s", what,
           herr != NULL ? hcs_error_message(herr) : "failed");
  hcs_error_free(herr);
}

static void exec_hcs(xctx_t *x, xres_t *o) {
  const exec_env_t *e = x->env;
  const char *args[] = {e->prog, NULL};
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = args;
  uint32_t pid;
  int out = -1;
  hcs_error_t *herr = NULL;
  if (hcs_CreateProcessInComputeSystem(e->hcs, e->hcs_id, false, true, false,
                                       &pp, &pid, NULL, &out, NULL,
                                       &herr) != HCS_OK) {
    hcs_failed(o, "create", herr);
    return;
  }
  drain(out, o);
  hcs_process_result_t res;
  if (hcs_WaitForProcessResult(e->hcs, e->hcs_id, pid, HCS_TIMEOUT_INFINITE,
                               &res, &herr) != HCS_OK) {
    hcs_failed(o, "wait", herr);
    return;
  }
  o->exit_code = res.exit_code;
}

static void exec_runtime(xctx_t *x, xres_t *o) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    o->err = -errno;
    snprintf(o->text, sizeof(o->text), "pipe2: %s", strerror(errno));
    return;
  }
  posix_spawn_file_actions_t fa;
  int err = posix_spawn_file_actions_init(&fa);
  if (err == 0) {
    err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  if (err == 0) {
    err = posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  }
  if (err == 0) {
    err = posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  }
  pid_t pid = -1;
  if (err == 0) {
    err = posix_spawn(&pid, x->rt_argv[0], &fa, &x->attr, x->rt_argv, environ);
  }
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (err != 0) {
    close(p[0]);
    o->err = -err;
    snprintf(o->text, sizeof(o->text), "posix_spawn %s: %s", x->rt_argv[0],
             strerror(err));
    return;
  }
  drain(p[0], o);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      o->err = -errno;
      snprintf(o->text, sizeof(o->text), "waitpid: %s", strerror(errno));
      return;
    }
  }
  o->exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Books one exec's result (by the one thread that owns the run at the
 * time); false when the exec was lost, and no more are to start. */
static bool book(run_t *r, sess_t *s, const xres_t *o) {
  if (o->err != 0) {
    /* Not started, or lost: the row shows fewer completed than asked. */
    if (r->res->err == 0) {
      r->res->err = o->err;
      snprintf(r->res->note, sizeof(r->res->note), "%s", o->text);
    }
    return false;
  }
  r->res->bytes += o->bytes;
  if ((o->exit_code != 0 || o->bytes != 0) && r->res->note[0] == '\0') {
    snprintf(r->res->note, sizeof(r->res->note), "exit code %d: %s",
             o->exit_code, o->text);
  }
  work_end(r, s, o->exit_code);
  return true;
}

static void *worker(void *arg) {
  xctx_t *x = arg;
  run_t *r = x->run;
  for (;;) {
    sess_t s;
    pthread_mutex_lock(&x->mu);
    bool go = !x->stop && !exec_env_interrupted() && r->started < r->w->n;
    if (go) {
      work_begin(r, &s);
    }
    pthread_mutex_unlock(&x->mu);
    if (!go) {
      return NULL;
    }
    xres_t o;
    memset(&o, 0, sizeof(o));
    if (x->ct == CT_HCS_SYNC) {
      exec_hcs(x, &o);
    } else {
      exec_runtime(x, &o);
    }
    pthread_mutex_lock(&x->mu);
    if (!book(r, &s, &o)) {
      x->stop = true;
    }
    pthread_mutex_unlock(&x->mu);
  }
}

/* hcs: the lanes' shared run, one lane per engine loop, one exec's slot
 * in a lane. */
typedef struct ashared_s {
  run_t *run;
  /* The run's bookkeeping (work_begin, book) and stop, shared by the
   * lanes; the bench thread waits for lanes to reach 0. */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop; /* a start failed: start no more */
  uint32_t lanes;
} ashared_t;

typedef struct actx_s actx_t;

typedef struct arec_s {
  sess_t s;
  xres_t o;
  actx_t *x;
  struct arec_s *next_free;
} arec_t;

/* A lane: everything but sh is its loop's thread's until the lane ends. */
struct actx_s {
  ashared_t *sh;
  run_t *run;
  exec_env_t *env;
  const char *args[2];
  hcs_process_params_t pp;
  hcs_session_in_t opts;
  arec_t *recs;      /* c slots */
  uint64_t c;        /* this lane's share of the cell's concurrency */
  uint64_t unused;   /* slots never used yet start here */
  arec_t *free_list; /* slots used and free again */
  uint64_t active;   /* sessions started and not yet done */
};

static void a_finish(actx_t *x) {
  ashared_t *sh = x->sh;
  pthread_mutex_lock(&sh->mu);
  sh->lanes--;
  pthread_cond_signal(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
}

static void a_data(hcs_session_t *s, int stream, char *buf, size_t len,
                   void *data) {
  arec_t *rec = data;
  xres_t *o = &rec->o;
  (void)s;
  (void)stream;
  if (len > 0 && o->bytes == 0) {
    size_t kept = len < sizeof(o->text) - 1 ? len : sizeof(o->text) - 1;
    memcpy(o->text, buf, kept);
    o->text[kept] = '\0';
    o->text[strcspn(o->text, "\n")] = '\0';
  }
  o->bytes += len;
}

static bool a_start_one(actx_t *x);

static void a_done(hcs_session_t *s, const hcs_process_result_t *res,
                   void *data) {
  arec_t *rec = data;
  actx_t *x = rec->x;
  xres_t *o = &rec->o;
  o->exit_code = res->output_cut ? -1 : res->exit_code;
  if (res->exec_errno != 0) {
    snprintf(o->text, sizeof(o->text), "exec %s: %s", x->env->prog,
             strerror(res->exec_errno));
  } else if (res->output_cut) {
    snprintf(o->text, sizeof(o->text), "output cut at the drain timeout");
  }
  hcs_session_unref(s);
  x->active--;
  pthread_mutex_lock(&x->sh->mu);
  if (!book(x->run, &rec->s, o)) {
    x->sh->stop = true;
  }
  pthread_mutex_unlock(&x->sh->mu);
  rec->next_free = x->free_list;
  x->free_list = rec;
  if (!a_start_one(x) && x->active == 0) {
    a_finish(x);
  }
}

/* Starts the next exec if one is due and a slot is free; whether it did. */
static bool a_start_one(actx_t *x) {
  run_t *r = x->run;
  ashared_t *sh = x->sh;
  arec_t *rec = x->free_list;
  if (rec == NULL && x->unused < x->c) {
    rec = &x->recs[x->unused];
  }
  pthread_mutex_lock(&sh->mu);
  bool go = rec != NULL && !sh->stop && !exec_env_interrupted() &&
            r->started < r->w->n;
  if (go) {
    work_begin(r, &rec->s);
  }
  pthread_mutex_unlock(&sh->mu);
  if (!go) {
    return false;
  }
  if (rec == x->free_list) {
    x->free_list = rec->next_free;
  } else {
    x->unused++;
    rec->x = x;
  }
  memset(&rec->o, 0, sizeof(rec->o));
  x->opts.data = rec;
  hcs_session_t *h;
  hcs_error_t *herr = NULL;
  if (hcs_session_start_in(x->env->hcs, x->env->hcs_id, &x->pp, &x->opts, &h,
                           &herr) != HCS_OK) {
    hcs_failed(&rec->o, "hcs_session_start_in", herr);
    pthread_mutex_lock(&sh->mu);
    r->started--;
    (void)book(r, &rec->s, &rec->o);
    sh->stop = true;
    pthread_mutex_unlock(&sh->mu);
    rec->next_free = x->free_list;
    x->free_list = rec;
    return false;
  }
  x->active++;
  return true;
}

/* On a lane's loop: its first execs; the done callbacks keep its share
 * of C in flight from there. */
static void a_kick(as_loop_t *loop, void *data) {
  actx_t *x = data;
  (void)loop;
  for (uint64_t i = 0; i < x->c; i++) {
    if (!a_start_one(x)) {
      break;
    }
  }
  if (x->active == 0) {
    a_finish(x);
  }
}

static int exec_hcs_async(run_t *r) {
  exec_env_t *env = r->w->env;
  uint32_t n = hcs_engine_loops(env->hcs);
  if (n > r->w->c) {
    n = r->w->c > 0 ? (uint32_t)r->w->c : 1;
  }
  ashared_t sh = {.run = r, .lanes = n};
  actx_t *lanes = calloc(n, sizeof(*lanes));
  arec_t *recs = calloc(r->w->c > 0 ? r->w->c : 1, sizeof(*recs));
  int err = lanes == NULL || recs == NULL ? ENOMEM : 0;
  if (err == 0 && (err = pthread_mutex_init(&sh.mu, NULL)) == 0 &&
      (err = pthread_cond_init(&sh.cv, NULL)) != 0) {
    pthread_mutex_destroy(&sh.mu);
  }
  if (err != 0) {
    free(lanes);
    free(recs);
    run_fail(r, -err, "setting up the lanes");
    return r->res->err;
  }
  uint64_t given = 0;
  for (uint32_t i = 0; i < n; i++) {
    actx_t *x = &lanes[i];
    x->sh = &sh;
    x->run = r;
    x->env = env;
    x->args[0] = env->prog;
    x->pp.args = x->args;
    x->opts.use_stdout = true;
    x->opts.cb.data = a_data;
    x->opts.cb.done = a_done;
    x->c = r->w->c / n + (i < r->w->c % n ? 1 : 0);
    x->recs = recs + given;
    given += x->c;
  }
  uint32_t posted = 0;
  for (; posted < n; posted++) {
    err = as_loop_post(hcs_engine_loop_at(env->hcs, posted), a_kick,
                       &lanes[posted]);
    if (err != 0) {
      run_fail(r, err, "hcs_post");
      break;
    }
  }
  pthread_mutex_lock(&sh.mu);
  sh.lanes -= n - posted;
  while (sh.lanes > 0) {
    pthread_cond_wait(&sh.cv, &sh.mu);
  }
  pthread_mutex_unlock(&sh.mu);
  pthread_cond_destroy(&sh.cv);
  pthread_mutex_destroy(&sh.mu);
  free(recs);
  free(lanes);
  return r->res->err;
}

static int ctx_init(xctx_t *x, run_t *r, contender_t ct) {
  memset(x, 0, sizeof(*x));
  x->run = r;
  x->ct = ct;
  x->env = r->w->env;
  if (ct == CT_CRUN || ct == CT_RUNC) {
    int k = ct - CT_CRUN;
    char **a = x->rt_argv;
    a[0] = x->env->rt[k].bin;
    a[1] = "--root";
    a[2] = x->env->rt[k].state;
    a[3] = "exec";
    a[4] = x->env->rt[k].id;
    a[5] = (char *)x->env->prog;
    a[6] = NULL;
  }
  /* hcs_open ignored SIGPIPE in this process; a runtime must not inherit
   * that (hcs gives its own processes the default back). */
  sigset_t dfl;
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  int err = posix_spawnattr_init(&x->attr);
  if (err == 0) {
    err = posix_spawnattr_setsigdefault(&x->attr, &dfl);
  }
  if (err == 0) {
    err = posix_spawnattr_setflags(&x->attr, POSIX_SPAWN_SETSIGDEF);
  }
  if (err == 0) {
    err = pthread_mutex_init(&x->mu, NULL);
  }
  if (err != 0) {
    posix_spawnattr_destroy(&x->attr);
  }
  return -err;
}

int drv_exec_run(run_t *r, contender_t ct) {
  exec_env_t *e = r->w->env;
  if (e == NULL || !e->up[ct]) {
    run_fail(r, -ENODEV, "the contender's system is not running");
    return r->res->err;
  }
  if (ct == CT_HCS) {
    return exec_hcs_async(r);
  }
  xctx_t x;
  int err = ctx_init(&x, r, ct);
  if (err != 0) {
    run_fail(r, err, "setting up the exec threads");
    return err;
  }
  pthread_t *t = calloc(r->w->c > 0 ? r->w->c : 1, sizeof(*t));
  uint64_t nt = 0;
  if (t == NULL) {
    run_fail(r, -ENOMEM, "the exec threads");
  }
  while (t != NULL && nt < r->w->c) {
    err = pthread_create(&t[nt], NULL, worker, &x);
    if (err != 0) {
      pthread_mutex_lock(&x.mu);
      run_fail(r, -err, "pthread_create");
      x.stop = true;
      pthread_mutex_unlock(&x.mu);
      break;
    }
    nt++;
  }
  for (uint64_t i = 0; i < nt; i++) {
    pthread_join(t[i], NULL);
  }
  free(t);
  pthread_mutex_destroy(&x.mu);
  posix_spawnattr_destroy(&x.attr);
  if (r->res->note[0] == '\0' && e->note[ct][0] != '\0') {
    snprintf(r->res->note, sizeof(r->res->note), "%s", e->note[ct]);
  }
  return r->res->err;
}
