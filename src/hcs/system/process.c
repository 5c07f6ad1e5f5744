/* SPDX-License-Identifier: MIT */
/* Processes in compute systems: the synchronous hcsshim-shaped calls.
 * A record per process holds its engine session (and so its pidfd) until a
 * wait has taken its result, so a pid given to a caller can never name a
 * stranger. The caller gets its ends of the pipes as fds; the engine
 * watches only the exit. hcs_session_start_in makes the same record for a
 * process whose streams the engine pumps; that record goes when the
 * session completes. */
#include "hcs/api/cmdline.h"
#include "hcs/api/opts.h"
#include "hcs/system/container.h"
#include "hcs/system/session.h"
#include "hcs/system/system.h"
#include "hcs/system/user.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct hcs__proc_s {
  hcs__proc_t *hnext;
  hcs__system_t *sys;
  uint32_t pid;
  as_session_t *s;
  int done;
  int console;
  int group;  /* process_group: terminate kills its process group */
  int pumped; /* hcs_session_start_in: the record ends with the session */
  hcs_process_result_t result;
  hcs__waiter_t *waiters;
  /* A process whose session lives on a worker loop (the remote_* calls
   * below): its session is touched on that loop only, by jobs posted in
   * order; the record is loop 0's. refs (loop 0's) counts the record and
   * the session until its end reached loop 0; at 0 the session is
   * released on its loop. gone: the record was dropped first. */
  hcs_t *hcs;
  as_loop_t *loop;
  int remote, refs, gone;
};

typedef struct create_args_s {
  const char *id;
  bool use[3];
  const hcs_process_params_t *params;
  uint32_t pid;
  int fd[3];
  const hcs_session_in_t *pumped; /* hcs_session_start_in */
  as_session_t *session;          /* its session, a reference for it */
  hcs__call_t *call;              /* a call that may end on a worker loop */
  int pending;                    /* the spawn went to a worker loop */
  int may_defer;                  /* the caller is not on the engine thread */
  uint32_t worker;                /* start_in from this worker loop, or 0 */
  struct spawn_job_s *job;        /* then the spawn it runs itself */
} create_args_t;

typedef struct pid_args_s {
  const char *id;
  uint32_t pid;
  uint16_t height, width;
  hcs_process_result_t *result;
} pid_args_t;

static void obj_of(char *buf, size_t n, const char *id, uint32_t pid) {
  snprintf(buf, n, "id=%s pid=%u", id, (unsigned)pid);
}

static hcs__proc_t **bucket(hcs__system_t *s, uint32_t pid) {
  return &s->buckets[(pid * 2654435761u) & (s->nbuckets - 1)];
}

static hcs__proc_t *proc_find(hcs__system_t *s, uint32_t pid) {
  if (s->nbuckets == 0) {
    return NULL;
  }
  for (hcs__proc_t *p = *bucket(s, pid); p != NULL; p = p->hnext) {
    if (p->pid == pid) {
      return p;
    }
  }
  return NULL;
}

static int procs_grow(hcs__system_t *s) {
  size_t n = s->nbuckets != 0 ? s->nbuckets * 2 : 64;
  hcs__proc_t **nb = as_calloc(n, sizeof(*nb));
  if (nb == NULL) {
    return -ENOMEM;
  }
  hcs__proc_t **old = s->buckets;
  size_t oldn = s->nbuckets;
  s->buckets = nb;
  s->nbuckets = n;
  for (size_t i = 0; i < oldn; i++) {
    while (old[i] != NULL) {
      hcs__proc_t *p = old[i];
      old[i] = p->hnext;
      hcs__proc_t **b = bucket(s, p->pid);
      p->hnext = *b;
      *b = p;
    }
  }
  as_free(old);
  return 0;
}

static void proc_unlink(hcs__proc_t *p) {
  hcs__system_t *s = p->sys;
  for (hcs__proc_t **pp = bucket(s, p->pid); *pp != NULL; pp = &(*pp)->hnext) {
    if (*pp == p) {
      *pp = p->hnext;
      s->nprocs--;
      return;
    }
  }
}

static void remote_release(as_loop_t *loop, void *data) {
  hcs__proc_t *p = data;
  (void)loop;
  as_session_unref(p->s);
  as_free(p);
}

/* Drops one of loop 0's references. A local record is the session's only
 * owner: releasing it detaches a session still running (no callback runs
 * any more). A remote one is released on its loop, after every job posted
 * to it before. */
static void proc_put(hcs__proc_t *p) {
  if (--p->refs > 0) {
    return;
  }
  if (!p->remote) {
    as_session_unref(p->s);
    as_free(p);
  } else if (as_loop_post(p->loop, remote_release, p) != 0) {
    abort(); /* worker loops outlive loop 0's records (service.c) */
  }
}

static void proc_free(hcs__proc_t *p) {
  p->gone = 1;
  proc_put(p);
}

/* Hands the result to every waiter; the first to get it releases the
 * record. */
static void proc_deliver(hcs__proc_t *p) {
  if (p->waiters == NULL) {
    return;
  }
  while (p->waiters != NULL) {
    hcs__waiter_t *w = p->waiters;
    p->waiters = w->next;
    pid_args_t *a = w->call->args;
    *a->result = p->result;
    hcs__call_done(w->call, HCS_OK, NULL);
    as_free(w);
  }
  proc_unlink(p);
  proc_free(p);
}

typedef struct done_job_s {
  as_session_t *s;
  hcs_process_result_t r;
} done_job_t;

/* A pumped session's done callback, on the session's loop. */
static void remote_pub_done(as_loop_t *loop, void *data) {
  done_job_t *j = data;
  (void)loop;
  hcs__pub_done(j->s, &j->r);
  as_free(j);
}

/* The process's end, on loop 0. */
static void proc_ended(hcs__proc_t *p, const as_result_t *r) {
  hcs__system_t *sys = p->sys;
  hcs__to_result(r, &p->result);
  p->result.oom_killed =
      r->signal == SIGKILL && sys->ct != NULL && hcs__container_take_oom(sys);
  p->done = 1;
  sys->nrunning--;
  if (p->pumped && p->remote) {
    /* Posted before the release of the session (proc_put), so it is
     * still there when the job runs. */
    done_job_t *j = as_malloc(sizeof(*j));
    if (j == NULL) {
      abort(); /* a lost done would leave its caller waiting forever */
    }
    j->s = p->s;
    j->r = p->result;
    if (as_loop_post(p->loop, remote_pub_done, j) != 0) {
      abort();
    }
  } else if (p->pumped) {
    hcs__pub_done(p->s, &p->result);
  }
  if (p->pumped && p->waiters == NULL) {
    proc_unlink(p);
    proc_free(p);
    hcs__system_check_stopped(sys);
    return;
  }
  proc_deliver(p);
  hcs__system_check_stopped(sys);
}

typedef struct ended_msg_s {
  hcs__proc_t *p;
  as_result_t r;
} ended_msg_t;

static void remote_ended(as_loop_t *loop, void *data) {
  ended_msg_t *m = data;
  hcs__proc_t *p = m->p;
  hcs_t *hcs = p->hcs;
  (void)loop;
  if (!p->gone) {
    proc_ended(p, &m->r);
  }
  as_free(m);
  proc_put(p); /* the session's reference */
  hcs__remote_gone(hcs);
}

static void proc_done_cb(as_session_t *s, const as_result_t *r, void *data) {
  hcs__proc_t *p = data;
  (void)s;
  if (!p->remote) {
    proc_ended(p, r);
    return;
  }
  /* On the session's loop: the record is loop 0's. */
  ended_msg_t *m = as_malloc(sizeof(*m));
  if (m == NULL) {
    abort(); /* a lost end would leave the system running forever */
  }
  m->p = p;
  m->r = *r;
  if (as_loop_post(p->hcs->loop, remote_ended, m) != 0) {
    abort();
  }
}

/* Builds argv from the params: Args wins, else CommandLine split by the
 * Windows rules. */
static int params_argv(const hcs_process_params_t *pp, char ***argv) {
  if (pp->args != NULL) {
    size_t n = 0;
    while (pp->args[n] != NULL) {
      n++;
    }
    char **v = as_calloc(n + 1, sizeof(char *));
    if (v == NULL) {
      return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
      if ((v[i] = as_strdup(pp->args[i])) == NULL) {
        hcs__argv_free(v);
        return -ENOMEM;
      }
    }
    *argv = v;
    return 0;
  }
  return hcs__cmdline_split(pp->command_line != NULL ? pp->command_line : "",
                            argv);
}

static void proc_link(hcs__proc_t *p) {
  hcs__system_t *sys = p->sys;
  if (sys->nprocs + 1 > sys->nbuckets) {
    (void)procs_grow(sys); /* a longer chain if not */
  }
  hcs__proc_t **b = bucket(sys, p->pid);
  p->hnext = *b;
  *b = p;
  sys->nprocs++;
  sys->nrunning++;
}

static void take_fds(as_session_t *s, int fd[3]) {
  for (int i = 0; i < 3; i++) {
    int f = as_session_take_fd(s, i);
    fd[i] = f >= 0 ? f : -1;
  }
}

/* The console is stdin and stdout, whatever was asked: the process has no
 * other streams. Unasked ends are closed here. */
static void console_fds(create_args_t *a) {
  if (!a->params->emulate_console) {
    return;
  }
  for (int i = 0; i < 3; i++) {
    if (!a->use[i] && a->fd[i] >= 0) {
      close(a->fd[i]);
      a->fd[i] = -1;
    }
  }
}

/* The loop a synchronous call's process goes to: each in turn. */
static uint32_t place(hcs_t *hcs) {
  return hcs->nloops < 2 ? 0 : hcs->next_loop++ % hcs->nloops;
}

/* A spawn on a worker loop: the job carries the options (pointing into
 * the caller's params, which live until its call ends, and into the
 * container, which nrunning keeps) and argv; loop 0 links the record and
 * ends the call when the job comes back. */
typedef struct spawn_job_s {
  hcs__proc_t *p;
  as_spawn_opts_t o;
  char **argv;
  create_args_t *a;
  int r;
  uint32_t pid;
  int fd[3];
} spawn_job_t;

static void remote_kill_job(hcs__proc_t *p, int sig, hcs__call_t *call);

static void remote_spawned(as_loop_t *loop, void *data) {
  spawn_job_t *j = data;
  hcs__proc_t *p = j->p;
  hcs__system_t *sys = p->sys;
  create_args_t *a = j->a; /* NULL: a worker's start_in, answered there */
  hcs__call_t *call = a != NULL ? a->call : NULL;
  hcs_t *hcs = p->hcs;
  (void)loop;
  sys->nrunning--; /* the pin of remote_spawn; proc_link counts it again */
  if (j->r != 0 && a == NULL) {
    as_free(p);
    hcs__remote_gone(hcs);
    hcs__system_check_stopped(sys);
  } else if (j->r != 0) {
    hcs_error_t *err = NULL;
    char obj[200];
    snprintf(obj, sizeof(obj), "id=%s", sys->id);
    hcs_result_t r = hcs__fail(
        &err, HCS_ERROR_GEN_FAILURE, "hcs::CreateProcessInComputeSystem", obj,
        -j->r, "starting \"%s\": %s", j->o.file, strerror(-j->r));
    as_free(p);
    hcs__remote_gone(hcs);
    hcs__system_check_stopped(sys);
    hcs__call_done(call, r, err);
  } else {
    p->pid = j->pid;
    proc_link(p);
    if (sys->stopping) {
      /* Terminate or shutdown came while it started: it goes too. */
      remote_kill_job(p, SIGKILL, NULL);
    }
    if (a != NULL) {
      a->pid = p->pid;
      memcpy(a->fd, j->fd, sizeof(a->fd));
      console_fds(a);
      hcs__call_done(call, HCS_OK, NULL);
    }
  }
  hcs__argv_free(j->argv);
  as_free(j);
}

static void remote_spawn_job(as_loop_t *loop, void *data) {
  spawn_job_t *j = data;
  j->r = as_session_spawn(loop, &j->o, &j->p->s);
  if (j->r == 0) {
    j->pid = (uint32_t)as_session_ns_pid(j->p->s);
    take_fds(j->p->s, j->fd);
  }
  if (as_loop_post(j->p->hcs->loop, remote_spawned, j) != 0) {
    abort(); /* loop 0 outlives the worker loops' jobs (service.c) */
  }
}

static hcs_result_t remote_spawn(hcs__proc_t *p, const as_spawn_opts_t *o,
                                 create_args_t *a, char **argv,
                                 hcs_error_t **err) {
  spawn_job_t *j = as_calloc(1, sizeof(*j));
  if (j == NULL) {
    char obj[200];
    snprintf(obj, sizeof(obj), "id=%s", p->sys->id);
    as_free(p);
    return hcs__fail(err, HCS_ERROR_OUTOFMEMORY,
                     "hcs::CreateProcessInComputeSystem", obj, ENOMEM,
                     "allocating the spawn");
  }
  p->remote = 1;
  p->refs = 2; /* the record, and the session until its end comes back */
  j->p = p;
  j->o = *o;
  j->argv = argv;
  j->o.argv = argv;
  if (a->worker != 0) {
    a->job = j; /* the calling worker spawns it (start_in_worker) */
  } else {
    j->a = a;
    if (as_loop_post(p->loop, remote_spawn_job, j) != 0) {
      abort(); /* worker loops run until hcs_close has ended loop 0 */
    }
  }
  /* Running from now on for the system: its container stays whole (and
   * a stop waits) until the job is back. */
  p->sys->nrunning++;
  p->hcs->nremote++;
  a->pending = 1;
  return HCS_OK;
}

typedef struct kill_job_s {
  hcs__proc_t *p;
  int sig;
  hcs__call_t *call;   /* terminate's, or NULL */
  hcs__cgroup_t *cg;   /* the tree to kill first (a group leader's) */
  uint16_t rows, cols; /* a resize instead, when rows != 0 */
  char obj[200];       /* for an error: loop 0 may free the system */
} kill_job_t;

/* terminate_fn's and resize_fn's work, on the session's loop. While the
 * process has not exited its end is not on its way to loop 0, so the
 * system (and its cgroup) stays as it is for the job. */
static void remote_kill_run(as_loop_t *loop, void *data) {
  kill_job_t *j = data;
  as_session_t *s = j->p->s;
  int e = 0;
  const char *what = "kill";
  (void)loop;
  if (j->rows != 0) {
    what = "TIOCSWINSZ";
    e = as_session_exited(s, NULL) ? 0 : as_session_resize(s, j->rows, j->cols);
  } else {
    if (j->cg != NULL && !as_session_exited(s, NULL)) {
      (void)hcs__cgroup_kill_tree(j->cg, as_session_pid(s));
      e = as_session_kill_group(s, j->sig);
    }
    if (e == 0) {
      e = as_session_kill(s, j->sig);
      what = "pidfd_send_signal";
    }
  }
  if (j->call != NULL) {
    hcs_error_t *err = NULL;
    hcs_result_t r = HCS_OK;
    if (e != 0) {
      r = hcs__fail(&err, HCS_ERROR_GEN_FAILURE,
                    j->rows != 0 ? "hcs::ResizeConsoleInComputeSystem"
                                 : "hcs::TerminateProcessInComputeSystem",
                    j->obj, -e, "%s: %s", what, strerror(-e));
    }
    hcs__call_done(j->call, r, err);
  }
  as_free(j);
}

static void remote_job(hcs__proc_t *p, kill_job_t *j) {
  if (j == NULL) {
    abort(); /* a kill that cannot be sent would leave it running */
  }
  j->p = p;
  obj_of(j->obj, sizeof(j->obj), p->sys->id, p->pid);
  if (as_loop_post(p->loop, remote_kill_run, j) != 0) {
    abort();
  }
}

static void remote_kill_job(hcs__proc_t *p, int sig, hcs__call_t *call) {
  kill_job_t *j = as_calloc(1, sizeof(*j));
  if (j != NULL) {
    j->sig = sig;
    j->call = call;
    j->cg =
        call != NULL && p->group && p->sys->ct != NULL ? &p->sys->ct->cg : NULL;
  }
  remote_job(p, j);
}

static hcs_result_t spawn_proc(hcs__system_t *sys, create_args_t *a,
                               char **argv, hcs_error_t **err) {
  static const char op[] = "hcs::CreateProcessInComputeSystem";
  const hcs_process_params_t *pp = a->params;
  /* A call that must end inline spawns here, on loop 0; a worker's
   * start_in on the worker's loop. */
  uint32_t slot = a->worker != 0    ? a->worker
                  : a->call != NULL ? place(sys->hcs)
                                    : 0;
  char obj[200];
  snprintf(obj, sizeof(obj), "id=%s", sys->id);
  hcs__proc_t *p = as_calloc(1, sizeof(*p));
  if (p == NULL || (sys->nprocs + 1 > sys->nbuckets && procs_grow(sys) != 0)) {
    as_free(p);
    return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, obj, ENOMEM,
                     "allocating the process record");
  }
  as_spawn_opts_t o;
  memset(&o, 0, sizeof(o));
  o.file = pp->application_name != NULL && pp->application_name[0] != '\0'
               ? pp->application_name
               : argv[0];
  o.argv = argv;
  o.envp = (char *const *)pp->environment;
  o.cwd = pp->working_directory;
  o.flags =
      (a->pumped == NULL ? AS_FDS : 0) | (pp->emulate_console ? AS_PTY : 0);
  for (int i = 0; i < 3; i++) {
    o.stdio[i] = a->use[i] ? AS_STDIO_PIPE : AS_STDIO_NULL;
  }
  o.rows = pp->console_size[0];
  o.cols = pp->console_size[1];
  o.drain_ms = pp->drain_timeout_ms;
  o.new_pgrp = pp->process_group;
  if (hcs__stdio_transport(&o, pp->stdio_transport) != 0) {
    as_free(p);
    return hcs__fail(err, HCS_WSAEINVAL, op, obj, EINVAL, "StdioTransport: %s",
                     pp->emulate_console
                         ? "a console (EmulateConsole) is its own transport"
                         : "must be HCS_STDIO_PIPE or HCS_STDIO_SOCKET");
  }
  if (sys->ct != NULL) {
    const char *why = "";
    int e = hcs__container_exec_opts(sys, &o, pp->user, slot, &why);
    if (e != 0) {
      as_free(p);
      return hcs__fail(err, HCS_WSAEINVAL, op, obj, -e, "%s", why);
    }
  } else if (pp->user != NULL && pp->user[0] != '\0') {
    int e = hcs__parse_user(pp->user, &o.uid, &o.gid);
    if (e != 0) {
      as_free(p);
      return hcs__fail(err, HCS_WSAEINVAL, op, obj, -e, "User: \"%.64s\" %s",
                       pp->user,
                       e == -ENOENT ? "names no user or group on the host"
                                    : "must be uid[:gid] or name[:group]");
    }
    o.set_ids = 1;
  }
  if (a->pumped != NULL) {
    o.stream_cap = a->pumped->stream_cap;
    hcs__pub_setup(&o);
  }
  o.cbs.done_cb = proc_done_cb;
  o.data = p;
  p->sys = sys;
  p->hcs = sys->hcs;
  p->refs = 1;
  p->console = pp->emulate_console;
  p->group = pp->process_group;
  p->loop = sys->hcs->loops[slot];
  if (p->loop != hcs__loop(sys->hcs)) {
    return remote_spawn(p, &o, a, argv, err);
  }
  int r = as_session_spawn(hcs__loop(sys->hcs), &o, &p->s);
  if (r != 0) {
    as_free(p);
    return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, obj, -r,
                     "starting \"%s\": %s", o.file, strerror(-r));
  }
  p->pid = (uint32_t)as_session_ns_pid(p->s);
  proc_link(p);
  a->pid = p->pid;
  if (a->pumped != NULL) {
    p->pumped = 1;
    hcs__pub_init(p->s, &a->pumped->cb, a->pumped->data);
    as_session_ref(p->s);
    a->session = p->s;
    return HCS_OK;
  }
  take_fds(p->s, a->fd);
  console_fds(a);
  return HCS_OK;
}

static hcs_result_t create_proc(hcs_t *hcs, create_args_t *a,
                                hcs_error_t **errp) {
  static const char op[] = "hcs::CreateProcessInComputeSystem";
  hcs_error_t *err = NULL;
  hcs__system_t *sys;
  hcs_result_t r = hcs__system_get(hcs, op, a->id, &sys, &err);
  char obj[200];
  if (r == HCS_OK && (sys->state != HCS__SYS_RUNNING || sys->stopping)) {
    snprintf(obj, sizeof(obj), "id=%s", sys->id);
    r = hcs__fail(&err, HCS_E_INVALID_STATE, op, obj, EINVAL,
                  "the system is not running");
  } else if (r == HCS_OK && sys->paused) {
    snprintf(obj, sizeof(obj), "id=%s", sys->id);
    r = hcs__fail(&err, HCS_E_INVALID_STATE, op, obj, EINVAL,
                  "the system is paused: resume it first");
  }
  char **argv = NULL;
  if (r == HCS_OK) {
    int e = params_argv(a->params, &argv);
    snprintf(obj, sizeof(obj), "id=%s", sys->id);
    if (e != 0) {
      r = hcs__fail(&err, HCS_ERROR_OUTOFMEMORY, op, obj, -e,
                    "splitting the command line");
    } else if (argv[0] == NULL && (a->params->application_name == NULL ||
                                   a->params->application_name[0] == 0)) {
      r = hcs__fail(&err, HCS_WSAEINVAL, op, obj, EINVAL,
                    "CommandLine: empty, and no ApplicationName");
    } else if (argv[0] == NULL) {
      /* ApplicationName alone: argv[0] is the program's name. */
      hcs__argv_free(argv);
      argv = NULL;
      const char *one[2] = {a->params->application_name, NULL};
      hcs_process_params_t copy = *a->params;
      copy.args = one;
      e = params_argv(&copy, &argv);
      if (e != 0) {
        r = hcs__fail(&err, HCS_ERROR_OUTOFMEMORY, op, obj, -e, "argv");
      }
    }
  }
  if (r == HCS_OK) {
    r = spawn_proc(sys, a, argv, &err);
  }
  if (!a->pending) {
    hcs__argv_free(argv); /* else the worker loop's job has it */
  }
  if (errp != NULL) {
    *errp = err;
  } else {
    hcs_error_free(err);
  }
  return r;
}

static void create_fn(hcs_t *hcs, hcs__call_t *call) {
  hcs_error_t *err = NULL;
  create_args_t *a = call->args;
  /* Made from another thread, the call may end later, on a worker loop;
   * made on the engine thread, it must end inline. */
  a->call = a->may_defer ? call : NULL;
  hcs_result_t r = create_proc(hcs, a, &err);
  if (!a->pending) {
    hcs__call_done(call, r, err);
  }
}

static void create_worker_fn(hcs_t *hcs, hcs__call_t *call) {
  hcs_error_t *err = NULL;
  hcs_result_t r = create_proc(hcs, call->args, &err);
  hcs__call_done(call, r, err);
}

/* start_in on worker loop a->worker: loop 0 checks the system and makes
 * the record and the spawn (as for a synchronous call's process placed on
 * that loop), the worker spawns inline, on its own loop, so that the
 * caller has its session when the call returns; loop 0 links the record
 * when the job comes back, before the process's end can reach it. */
static hcs_result_t start_in_worker(hcs_t *hcs, create_args_t *a,
                                    hcs_session_t **out, hcs_error_t **err) {
  hcs_result_t r = hcs__call_from_worker(hcs, create_worker_fn, a, err);
  if (r != HCS_OK) {
    return r;
  }
  spawn_job_t *j = a->job;
  hcs__proc_t *p = j->p;
  j->r = as_session_spawn(p->loop, &j->o, &p->s);
  if (j->r == 0) {
    j->pid = p->pid = (uint32_t)as_session_ns_pid(p->s);
    p->pumped = 1;
    hcs__pub_init(p->s, &a->pumped->cb, a->pumped->data);
    as_session_ref(p->s);
    *out = (hcs_session_t *)(void *)p->s;
    r = hcs__ok(err);
  } else {
    char obj[200];
    snprintf(obj, sizeof(obj), "id=%s", a->id);
    r = hcs__fail(err, HCS_ERROR_GEN_FAILURE,
                  "hcs::CreateProcessInComputeSystem", obj, -j->r,
                  "starting \"%s\": %s", j->o.file, strerror(-j->r));
  }
  if (as_loop_post(hcs->loop, remote_spawned, j) != 0) {
    abort(); /* loop 0 outlives the worker loops' jobs (service.c) */
  }
  return r;
}

/* The worker loop whose thread calls, or 0. */
static uint32_t caller_worker(hcs_t *hcs) {
  as_loop_t *loop = hcs__caller_loop(hcs);
  for (uint32_t i = 1; i < hcs->nloops; i++) {
    if (hcs->loops[i] == loop) {
      return i;
    }
  }
  return 0;
}

hcs_result_t hcs_session_start_in(hcs_t *hcs, const char *id,
                                  const hcs_process_params_t *params,
                                  const hcs_session_in_t *opts,
                                  hcs_session_t **out, hcs_error_t **err) {
  static const char op[] = "hcs::CreateProcessInComputeSystem";
  if (hcs == NULL || params == NULL || opts == NULL || out == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL, "%s is NULL",
                     hcs == NULL      ? "hcs"
                     : params == NULL ? "params"
                     : opts == NULL   ? "opts"
                                      : "out");
  }
  uint32_t worker = caller_worker(hcs);
  if (worker == 0 && !hcs__on_engine(hcs)) {
    return hcs__fail(err, HCS_WSAEINVAL, op, id, EPERM,
                     "hcs_session_start_in: not on an engine loop's thread");
  }
  hcs_process_params_t pp;
  hcs_session_in_t in;
  hcs_result_t r =
      hcs__opts_in_first(&pp, sizeof(pp), HCS__PARAMS_FIRST, params,
                         "hcs_process_params_t", op, id, err);
  if (r != HCS_OK) {
    return r;
  }
  r = hcs__opts_in(&in, sizeof(in), opts, "hcs_session_in_t", op, id, err);
  if (r != HCS_OK) {
    return r;
  }
  create_args_t a = {.id = id,
                     .use = {in.use_stdin || pp.create_stdin_pipe,
                             in.use_stdout || pp.create_stdout_pipe,
                             in.use_stderr || pp.create_stderr_pipe},
                     .params = &pp,
                     .fd = {-1, -1, -1},
                     .pumped = &in,
                     .worker = worker};
  if (worker != 0) {
    return start_in_worker(hcs, &a, out, err);
  }
  r = create_proc(hcs, &a, err);
  if (r == HCS_OK) {
    *out = (hcs_session_t *)(void *)a.session;
    return hcs__ok(err);
  }
  return r;
}

hcs_result_t hcs_CreateProcessInComputeSystem(
    hcs_t *hcs, const char *id, bool use_stdin, bool use_stdout,
    bool use_stderr, const hcs_process_params_t *params, uint32_t *pid,
    int *stdin_fd, int *stdout_fd, int *stderr_fd, hcs_error_t **err) {
  static const char op[] = "hcs::CreateProcessInComputeSystem";
  if (hcs == NULL || params == NULL || pid == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL, "%s is NULL",
                     hcs == NULL      ? "hcs"
                     : params == NULL ? "params"
                                      : "pid");
  }
  hcs_process_params_t pp;
  hcs_result_t r =
      hcs__opts_in_first(&pp, sizeof(pp), HCS__PARAMS_FIRST, params,
                         "hcs_process_params_t", op, id, err);
  if (r != HCS_OK) {
    return r;
  }
  /* hcsshim's ProcessConfig asked for the pipes in the document. */
  use_stdin = use_stdin || pp.create_stdin_pipe;
  use_stdout = use_stdout || pp.create_stdout_pipe;
  use_stderr = use_stderr || pp.create_stderr_pipe;
  if ((use_stdin && stdin_fd == NULL) || (use_stdout && stdout_fd == NULL) ||
      (use_stderr && stderr_fd == NULL)) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL,
                     "a requested stream has no fd out-parameter");
  }
  create_args_t a = {.id = id,
                     .use = {use_stdin, use_stdout, use_stderr},
                     .params = &pp,
                     .fd = {-1, -1, -1},
                     .may_defer = !hcs__on_engine(hcs)};
  r = hcs__call(hcs, create_fn, &a, err);
  if (r != HCS_OK) {
    return r;
  }
  *pid = a.pid;
  int *outs[3] = {stdin_fd, stdout_fd, stderr_fd};
  for (int i = 0; i < 3; i++) {
    if (outs[i] != NULL) {
      *outs[i] = a.fd[i];
    } else if (a.fd[i] >= 0) {
      close(a.fd[i]);
    }
  }
  return HCS_OK;
}

/* Looks up the record of pid in system id. */
static hcs_result_t proc_get(hcs_t *hcs, const char *op, const pid_args_t *a,
                             hcs__proc_t **out, hcs_error_t **err) {
  *out = NULL;
  hcs__system_t *sys;
  hcs_result_t r = hcs__system_get(hcs, op, a->id, &sys, err);
  if (r != HCS_OK) {
    return r;
  }
  hcs__proc_t *p = proc_find(sys, a->pid);
  if (p == NULL) {
    char obj[200];
    obj_of(obj, sizeof(obj), a->id, a->pid);
    return hcs__fail(err, HCS_ERROR_NOT_FOUND, op, obj, ESRCH,
                     "no such process in the system (or its result was "
                     "already taken)");
  }
  *out = p;
  return HCS_OK;
}

static void wait_fn(hcs_t *hcs, hcs__call_t *call) {
  pid_args_t *a = call->args;
  hcs_error_t *err = NULL;
  hcs__proc_t *p;
  hcs_result_t r =
      proc_get(hcs, "hcs::WaitForProcessInComputeSystem", a, &p, &err);
  if (r != HCS_OK) {
    hcs__call_done(call, r, err);
    return;
  }
  hcs__waiter_t *w = as_calloc(1, sizeof(*w));
  if (w == NULL) {
    char obj[200];
    obj_of(obj, sizeof(obj), a->id, a->pid);
    r = hcs__fail(&err, HCS_ERROR_OUTOFMEMORY,
                  "hcs::WaitForProcessInComputeSystem", obj, ENOMEM, "waiter");
    hcs__call_done(call, r, err);
    return;
  }
  w->call = call;
  w->next = p->waiters;
  p->waiters = w;
  if (p->done) {
    proc_deliver(p);
  }
}

static void wait_cancel(hcs_t *hcs, hcs__call_t *call) {
  pid_args_t *a = call->args;
  hcs__proc_t *p;
  if (proc_get(hcs, "", a, &p, NULL) == HCS_OK) {
    for (hcs__waiter_t **pw = &p->waiters; *pw != NULL; pw = &(*pw)->next) {
      if ((*pw)->call == call) {
        hcs__waiter_t *w = *pw;
        *pw = w->next;
        as_free(w);
        break;
      }
    }
  }
  hcs_error_t *err = NULL;
  char obj[200];
  obj_of(obj, sizeof(obj), a->id, a->pid);
  hcs_result_t r =
      hcs__fail(&err, HCS_WAIT_TIMEOUT, "hcs::WaitForProcessInComputeSystem",
                obj, ETIMEDOUT, "the process is still running");
  hcs__call_done(call, r, err);
}

hcs_result_t hcs_WaitForProcessResult(hcs_t *hcs, const char *id, uint32_t pid,
                                      uint32_t timeout,
                                      hcs_process_result_t *result,
                                      hcs_error_t **err) {
  if (hcs == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::WaitForProcessInComputeSystem",
                     NULL, EINVAL, "hcs is NULL");
  }
  hcs_process_result_t local;
  pid_args_t a = {.id = id, .pid = pid, .result = &local};
  if (hcs__on_engine(hcs)) {
    timeout = 0; /* the engine thread cannot wait for itself */
  }
  hcs_result_t r = hcs__call_timed(hcs, wait_fn, &a, timeout, wait_cancel, err);
  if (r == HCS_OK && result != NULL) {
    *result = local;
  }
  return r;
}

hcs_result_t hcs_WaitForProcessInComputeSystem(hcs_t *hcs, const char *id,
                                               uint32_t pid, uint32_t timeout,
                                               int32_t *exit_code,
                                               hcs_error_t **err) {
  hcs_process_result_t res;
  hcs_result_t r = hcs_WaitForProcessResult(hcs, id, pid, timeout, &res, err);
  if (r == HCS_OK && exit_code != NULL) {
    *exit_code = res.exit_code;
  }
  return r;
}

static void terminate_fn(hcs_t *hcs, hcs__call_t *call) {
  static const char op[] = "hcs::TerminateProcessInComputeSystem";
  pid_args_t *a = call->args;
  hcs_error_t *err = NULL;
  hcs__proc_t *p;
  hcs_result_t r = proc_get(hcs, op, a, &p, &err);
  if (r == HCS_OK && p->remote) {
    if (p->done) {
      hcs__call_done(call, HCS_OK, NULL); /* as a kill after the exit */
      return;
    }
    remote_kill_job(p, SIGKILL, call);
    return;
  }
  if (r == HCS_OK) {
    /* The group first, while its leader is unreaped: its id is then the
     * leader's pid and cannot name a stranger's group. In a container,
     * the whole tree under the leader too, found in its frozen cgroup
     * (what left the group with setsid). */
    int e = 0;
    if (p->group && !as_session_exited(p->s, NULL)) {
      if (p->sys->ct != NULL) {
        (void)hcs__cgroup_kill_tree(&p->sys->ct->cg, as_session_pid(p->s));
      }
      e = as_session_kill_group(p->s, SIGKILL);
    }
    const char *what = "kill";
    if (e == 0) {
      e = as_session_kill(p->s, SIGKILL);
      what = "pidfd_send_signal";
    }
    if (e != 0) {
      char obj[200];
      obj_of(obj, sizeof(obj), a->id, a->pid);
      r = hcs__fail(&err, HCS_ERROR_GEN_FAILURE, op, obj, -e, "%s: %s", what,
                    strerror(-e));
    }
  }
  hcs__call_done(call, r, err);
}

hcs_result_t hcs_TerminateProcessInComputeSystem(hcs_t *hcs, const char *id,
                                                 uint32_t pid,
                                                 hcs_error_t **err) {
  if (hcs == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::TerminateProcessInComputeSystem",
                     NULL, EINVAL, "hcs is NULL");
  }
  pid_args_t a = {.id = id, .pid = pid};
  return hcs__call(hcs, terminate_fn, &a, err);
}

static void resize_fn(hcs_t *hcs, hcs__call_t *call) {
  static const char op[] = "hcs::ResizeConsoleInComputeSystem";
  pid_args_t *a = call->args;
  hcs_error_t *err = NULL;
  hcs__proc_t *p;
  hcs_result_t r = proc_get(hcs, op, a, &p, &err);
  char obj[200];
  obj_of(obj, sizeof(obj), a->id, a->pid);
  if (r == HCS_OK && !p->console) {
    r = hcs__fail(&err, HCS_E_INVALID_STATE, op, obj, ENOTTY,
                  "the process has no console");
  } else if (r == HCS_OK && (a->height == 0 || a->width == 0)) {
    r = hcs__fail(&err, HCS_WSAEINVAL, op, obj, EINVAL,
                  "height and width must be at least 1");
  } else if (r == HCS_OK && !p->done && p->remote) {
    kill_job_t *j = as_calloc(1, sizeof(*j));
    if (j != NULL) {
      j->call = call;
      j->rows = a->height;
      j->cols = a->width;
      remote_job(p, j);
      return;
    }
    r = hcs__fail(&err, HCS_ERROR_OUTOFMEMORY, op, obj, ENOMEM, "resize");
  } else if (r == HCS_OK && !p->done) {
    int e = as_session_resize(p->s, a->height, a->width);
    if (e != 0) {
      r = hcs__fail(&err, HCS_ERROR_GEN_FAILURE, op, obj, -e, "TIOCSWINSZ: %s",
                    strerror(-e));
    }
  }
  hcs__call_done(call, r, err);
}

hcs_result_t hcs_ResizeConsoleInComputeSystem(hcs_t *hcs, const char *id,
                                              uint32_t pid, uint16_t height,
                                              uint16_t width,
                                              hcs_error_t **err) {
  if (hcs == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::ResizeConsoleInComputeSystem",
                     NULL, EINVAL, "hcs is NULL");
  }
  pid_args_t a = {.id = id, .pid = pid, .height = height, .width = width};
  return hcs__call(hcs, resize_fn, &a, err);
}

void hcs__system_signal_all(hcs__system_t *s, int sig) {
  for (size_t i = 0; i < s->nbuckets; i++) {
    for (hcs__proc_t *p = s->buckets[i]; p != NULL; p = p->hnext) {
      if (p->remote) {
        if (!p->done) {
          remote_kill_job(p, sig, NULL);
        }
      } else {
        (void)as_session_kill(p->s, sig);
      }
    }
  }
}

void hcs__system_procs_free(hcs__system_t *s) {
  for (size_t i = 0; i < s->nbuckets; i++) {
    while (s->buckets[i] != NULL) {
      hcs__proc_t *p = s->buckets[i];
      s->buckets[i] = p->hnext;
      while (p->waiters != NULL) {
        hcs__waiter_t *w = p->waiters;
        p->waiters = w->next;
        as_free(w);
      }
      proc_free(p);
    }
  }
  as_free(s->buckets);
  s->buckets = NULL;
  s->nbuckets = s->nprocs = 0;
}

size_t hcs__systems_running_processes(hcs_t *hcs) {
  size_t n = 0;
  for (hcs__system_t *s = hcs->systems; s != NULL; s = s->next) {
    n += s->nrunning;
  }
  return n;
}
