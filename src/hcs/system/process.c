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
};

typedef struct create_args_s {
  const char *id;
  bool use[3];
  const hcs_process_params_t *params;
  uint32_t pid;
  int fd[3];
  const hcs_session_in_t *pumped; /* hcs_session_start_in */
  as_session_t *session;          /* its session, a reference for it */
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

static void proc_free(hcs__proc_t *p) {
  as_session_unref(p->s);
  as_free(p);
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

static void proc_done_cb(as_session_t *s, const as_result_t *r, void *data) {
  hcs__proc_t *p = data;
  hcs__system_t *sys = p->sys;
  (void)s;
  hcs__to_result(r, &p->result);
  p->result.oom_killed =
      r->signal == SIGKILL && sys->ct != NULL && hcs__container_take_oom(sys);
  p->done = 1;
  sys->nrunning--;
  if (p->pumped) {
    hcs__pub_done(p->s, &p->result);
    if (p->waiters == NULL) {
      proc_unlink(p);
      proc_free(p);
      hcs__system_check_stopped(sys);
      return;
    }
  }
  proc_deliver(p);
  hcs__system_check_stopped(sys);
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

static hcs_result_t spawn_proc(hcs__system_t *sys, create_args_t *a,
                               char **argv, hcs_error_t **err) {
  static const char op[] = "hcs::CreateProcessInComputeSystem";
  const hcs_process_params_t *pp = a->params;
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
  if (sys->ct != NULL) {
    const char *why = "";
    int e = hcs__container_exec_opts(sys, &o, pp->user, &why);
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
  int r = as_session_spawn(hcs__loop(sys->hcs), &o, &p->s);
  if (r != 0) {
    as_free(p);
    return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, obj, -r,
                     "starting \"%s\": %s", o.file, strerror(-r));
  }
  p->sys = sys;
  p->pid = (uint32_t)as_session_ns_pid(p->s);
  p->console = pp->emulate_console;
  p->group = pp->process_group;
  hcs__proc_t **b = bucket(sys, p->pid);
  p->hnext = *b;
  *b = p;
  sys->nprocs++;
  sys->nrunning++;
  a->pid = p->pid;
  if (a->pumped != NULL) {
    p->pumped = 1;
    hcs__pub_init(p->s, &a->pumped->cb, a->pumped->data);
    as_session_ref(p->s);
    a->session = p->s;
    return HCS_OK;
  }
  for (int i = 0; i < 3; i++) {
    int fd = as_session_take_fd(p->s, i);
    a->fd[i] = fd >= 0 ? fd : -1;
  }
  if (pp->emulate_console) {
    /* The console is stdin and stdout, whatever was asked: the process
     * has no other streams. Unasked ends are closed here. */
    for (int i = 0; i < 3; i++) {
      if (!a->use[i] && a->fd[i] >= 0) {
        close(a->fd[i]);
        a->fd[i] = -1;
      }
    }
  }
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
  hcs__argv_free(argv);
  if (errp != NULL) {
    *errp = err;
  } else {
    hcs_error_free(err);
  }
  return r;
}

static void create_fn(hcs_t *hcs, hcs__call_t *call) {
  hcs_error_t *err = NULL;
  hcs_result_t r = create_proc(hcs, call->args, &err);
  hcs__call_done(call, r, err);
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
  if (!hcs__on_engine(hcs)) {
    return hcs__fail(err, HCS_WSAEINVAL, op, id, EPERM,
                     "hcs_session_start_in: not on the engine thread");
  }
  hcs_process_params_t pp;
  hcs_session_in_t in;
  hcs_result_t r = hcs__opts_in(&pp, sizeof(pp), params, "hcs_process_params_t",
                                op, id, err);
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
                     .pumped = &in};
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
  hcs_result_t r = hcs__opts_in(&pp, sizeof(pp), params, "hcs_process_params_t",
                                op, id, err);
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
                     .fd = {-1, -1, -1}};
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
      (void)as_session_kill(p->s, sig);
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
