/* SPDX-License-Identifier: MIT */
/* Compute systems: the registry, states, and shutdown/terminate.
 *
 * With a state directory, several processes may hold the same systems
 * (each hcs command is one; hcsd is another). An operation that changes a
 * system takes the lock of its id (state.c) and first brings its view of
 * that id in line with the record, so that operations on one id happen
 * one after the other, whichever process makes them. */
#include "hcs/system/system.h"

#include "hcs/api/id.h"
#include "hcs/api/log.h"
#include "hcs/hns/hns_attach.h"
#include "hcs/system/config.h"
#include "hcs/system/container.h"

#include <jansson.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

hcs__system_t *hcs__system_find(hcs_t *hcs, const char *id) {
  for (hcs__system_t *s = hcs->systems; s != NULL; s = s->next) {
    if (strcmp(s->id, id) == 0) {
      return s;
    }
  }
  return NULL;
}

/* Looks a system up for operation op, filling *err on failure. */
hcs_result_t hcs__system_get(hcs_t *hcs, const char *op, const char *id,
                             hcs__system_t **out, hcs_error_t **err) {
  if (!hcs__id_valid(id)) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL,
                     "invalid compute system id: 1-128 of [A-Za-z0-9_.-], "
                     "not starting with '.' or '-'");
  }
  hcs__system_t *s = hcs__system_find(hcs, id);
  if (s == NULL) {
    char obj[160];
    snprintf(obj, sizeof(obj), "id=%s", id);
    return hcs__fail(err, HCS_E_SYSTEM_NOT_FOUND, op, obj, ENOENT,
                     "no such compute system");
  }
  *out = s;
  return HCS_OK;
}

typedef struct create_args_s {
  const char *id;
  const char *config;
} create_args_t;

/* Checks the configuration; on success fills *dummy, and *text (the
 * normalized configuration) and *name, which the caller frees. */
static hcs_result_t parse_config(hcs_t *hcs, const char *config,
                                 const char *obj, const char *id, int *dummy,
                                 char **text, char **name, hcs_error_t **err) {
  static const char op[] = "hcs::CreateComputeSystem";
  hcs__config_t cfg;
  hcs_result_t r = hcs__config_parse(config, &cfg, obj, err);
  if (r != HCS_OK) {
    return r;
  }
  *dummy = cfg.is_dummy;
  if (cfg.hv_partition) {
    r = hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, op, obj, ENOTSUP,
                  "HvPartition: Hyper-V isolation does not exist on Linux");
  } else if (!cfg.is_dummy && cfg.volume_path == NULL && cfg.n_layers == 0) {
    r = hcs__fail(err, HCS_WSAEINVAL, op, obj, EINVAL,
                  "a system with isolation needs a root: VolumePath (a "
                  "directory) or Layers");
  } else if (cfg.is_dummy && cfg.endpoint_list != NULL &&
             cfg.endpoint_list[0] != NULL) {
    r = hcs__fail(err, HCS_WSAEINVAL, op, obj, EINVAL,
                  "EndpointList: a system without isolation has the host's "
                  "network");
  } else if (!cfg.is_dummy && geteuid() != 0) {
    r = hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, op, obj, EPERM,
                  "a system with isolation needs root (namespaces, mounts, "
                  "cgroups)");
  }
  for (size_t i = 0; r == HCS_OK && !cfg.is_dummy && cfg.endpoint_list &&
                     cfg.endpoint_list[i] != NULL;
       i++) {
    if (!hcs__hns_endpoint_known(hcs, cfg.endpoint_list[i])) {
      r = hcs__fail(err, HCS_WSAEINVAL, op, obj, ENOENT,
                    "EndpointList[%zu]: no endpoint \"%.64s\" (create it "
                    "with HNSEndpointRequest first)",
                    i, cfg.endpoint_list[i]);
    }
  }
  if (r == HCS_OK) {
    *text = hcs__config_json(&cfg);
    *name = as_strdup(cfg.name != NULL ? cfg.name : id);
    if (*text == NULL || *name == NULL) {
      as_free(*text);
      as_free(*name);
      r = hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, obj, ENOMEM,
                    "configuration text");
    }
  }
  hcs__config_free(&cfg);
  return r;
}

hcs__system_t *hcs__system_new(hcs_t *hcs, const char *id, const char *name,
                               const char *config, int is_dummy, int state) {
  hcs__system_t *s = as_calloc(1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  s->id = as_strdup(id);
  s->name = as_strdup(name);
  s->config = as_strdup(config);
  if (s->id == NULL || s->name == NULL || s->config == NULL) {
    as_free(s->id);
    as_free(s->name);
    as_free(s->config);
    as_free(s);
    return NULL;
  }
  s->hcs = hcs;
  s->is_dummy = is_dummy;
  s->state = state;
  return s;
}

void hcs__system_link(hcs_t *hcs, hcs__system_t *s) {
  s->next = hcs->systems;
  hcs->systems = s;
}

static void system_unlink(hcs_t *hcs, hcs__system_t *s) {
  for (hcs__system_t **ps = &hcs->systems; *ps != NULL; ps = &(*ps)->next) {
    if (*ps == s) {
      *ps = s->next;
      break;
    }
  }
}

void hcs__system_free(hcs__system_t *s) {
  hcs__system_procs_free(s);
  hcs__container_free(s);
  as_free(s->name);
  as_free(s->config);
  as_free(s->id);
  as_free(s);
}

const char *hcs__system_run_dir(const hcs_t *hcs) {
  return hcs->state_dir != NULL ? hcs->state_dir : "/run/hcs";
}

/* Without a state directory the files live in the shared /run/hcs, named
 * for this process as its cgroups are: two services of one id in two
 * processes must not share a mount point. */
void hcs__system_path(const hcs__system_t *s, const char *suffix, char *buf,
                      size_t n) {
  if (s->hcs->state_dir != NULL) {
    snprintf(buf, n, "%s/%s%s", s->hcs->state_dir, s->id, suffix);
  } else {
    snprintf(buf, n, "/run/hcs/p%d-%s%s", (int)getpid(), s->id, suffix);
  }
}

/* The group's path under each hierarchy: the configuration's CgroupPath
 * once the container is prepared and has one, else hcs/<name>. The name
 * is unique per service: a service with a state directory is known by
 * its hash (so a restart finds the same groups), one without by its pid.
 * Another service's system of the same id never shares a group. */
void hcs__system_cgroup_name(const hcs__system_t *s, char *buf, size_t n) {
  const char *own = s->ct != NULL ? s->ct->cfg.cgroup_path : NULL;
  if (own != NULL) {
    snprintf(buf, n, "%s", own + strspn(own, "/"));
  } else if (s->hcs->state_dir != NULL) {
    hcs_guid_t g = hcs_NewGUID(s->hcs->state_dir);
    snprintf(buf, n, "hcs/%02x%02x%02x%02x-%s", g.b[0], g.b[1], g.b[2], g.b[3],
             s->id);
  } else {
    snprintf(buf, n, "hcs/p%d-%s", (int)getpid(), s->id);
  }
}

/* The files of a system that runs nowhere: its root's mount point and its
 * resolv.conf. */
static void remove_run_files(const hcs__system_t *s) {
  char path[PATH_MAX];
  hcs__system_path(s, ".root", path, sizeof(path));
  (void)rmdir(path);
  hcs__system_path(s, ".resolv.conf", path, sizeof(path));
  (void)unlink(path);
}

/* Something of the system runs in this process, or waits on it: this
 * process's view is then the truth, whatever the record says. */
static int system_live(const hcs__system_t *s) {
  return s->nrunning > 0 || s->stopping || s->stop_waiters != NULL ||
         (s->ct != NULL && s->ct->init != NULL && !s->ct->init_done);
}

static int same_record(const hcs__system_t *a, const hcs__system_t *b) {
  return a->state == b->state && a->starting == b->starting &&
         a->init_pid == b->init_pid && a->init_start == b->init_start &&
         a->is_dummy == b->is_dummy && strcmp(a->config, b->config) == 0;
}

/* Brings the system of id in line with its record, the lock of id held:
 * another process may have created, started, stopped or deleted it since
 * this service read the directory, or died half-way through a start. */
static void system_sync(hcs_t *hcs, const char *id) {
  hcs__system_t *s = hcs__system_find(hcs, id);
  if (hcs->state_dir == NULL || (s != NULL && system_live(s))) {
    return;
  }
  hcs__system_t *disk = NULL;
  int e = hcs__state_read(hcs, id, &disk);
  if (e != 0 && e != -ENOENT) {
    return; /* unreadable: keep what this service knows */
  }
  if (s != NULL && disk != NULL && same_record(s, disk)) {
    hcs__system_free(disk);
  } else {
    if (s != NULL) {
      system_unlink(hcs, s);
      hcs__system_free(s);
    }
    if (disk != NULL) {
      hcs__system_link(hcs, disk);
    }
    s = disk;
  }
  if (s != NULL && !s->is_dummy && s->ct == NULL &&
      (s->state == HCS__SYS_RUNNING || s->starting)) {
    hcs__system_reattach(s);
    /* Paused by another process: its groups say so. */
    s->paused = s->ct != NULL && hcs__cgroup_frozen(&s->ct->cg);
  }
  if (s != NULL && !s->is_dummy && s->ct == NULL) {
    remove_run_files(s);
  }
}

/* Takes the lock of id for an operation and syncs the system (nothing to
 * lock for an invalid id, which the operation refuses). */
hcs_result_t hcs__system_lock(hcs_t *hcs, const char *op, const char *id,
                              int *fd, hcs_error_t **err) {
  *fd = -1;
  if (!hcs__id_valid(id)) {
    return HCS_OK;
  }
  int e = hcs__state_lock(hcs, id, 1, fd);
  if (e != 0) {
    char obj[160];
    snprintf(obj, sizeof(obj), "id=%s", id);
    return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, obj, -e,
                     "locking %s/%s.lock: %s", hcs->state_dir, id,
                     strerror(-e));
  }
  system_sync(hcs, id);
  return HCS_OK;
}

void hcs__systems_recover(hcs_t *hcs) {
  size_t n = 0, k = 0;
  for (hcs__system_t *s = hcs->systems; s != NULL; s = s->next) {
    n++;
  }
  char **ids = as_calloc(n + 1, sizeof(char *));
  for (hcs__system_t *s = hcs->systems; ids != NULL && s != NULL; s = s->next) {
    if (!s->is_dummy && (s->state == HCS__SYS_RUNNING || s->starting) &&
        (ids[k] = as_strdup(s->id)) != NULL) {
      k++;
    }
  }
  for (size_t i = 0; i < k; i++) {
    hcs__system_t *s = hcs__system_find(hcs, ids[i]);
    int fd = -1;
    /* A start under way holds the lock until it is done, and so does its
     * init child while it sets up, even if the caller died: then the
     * record is known to be final, or left by a dead start. */
    if (s != NULL && hcs__state_lock(hcs, ids[i], 1, &fd) != 0) {
      /* No lock to be had (a directory this process may only read): a
       * running system is adopted all the same; a start is not to be
       * judged, and is seen as Created. */
      if (!s->starting) {
        hcs__system_reattach(s);
        s->paused = s->ct != NULL && hcs__cgroup_frozen(&s->ct->cg);
      }
      s->starting = 0;
    } else if (s != NULL) {
      system_sync(hcs, ids[i]);
    }
    hcs__state_unlock(hcs, ids[i], fd);
    as_free(ids[i]);
  }
  as_free(ids);
}

/* A record could not be written: the call fails, saying why. */
static hcs_result_t record_fail(const hcs__system_t *s, const char *op, int e,
                                hcs_error_t **err) {
  char obj[160];
  snprintf(obj, sizeof(obj), "id=%s", s->id);
  return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, obj, -e,
                   "writing the record %s/%s.json: %s", s->hcs->state_dir,
                   s->id, strerror(-e));
}

/* Creates the system, its lock held. */
static hcs_result_t create_locked(hcs_t *hcs, const create_args_t *a,
                                  hcs_error_t **err) {
  static const char op[] = "hcs::CreateComputeSystem";
  char obj[160];
  snprintf(obj, sizeof(obj), "id=%s", a->id);
  if (hcs__system_find(hcs, a->id) != NULL) {
    return hcs__fail(err, HCS_E_SYSTEM_ALREADY_EXISTS, op, obj, EEXIST,
                     "a compute system with this id exists");
  }
  int dummy = 0;
  char *text = NULL, *name = NULL;
  hcs_result_t r =
      parse_config(hcs, a->config, obj, a->id, &dummy, &text, &name, err);
  if (r != HCS_OK) {
    return r;
  }
  hcs__system_t *s =
      hcs__system_new(hcs, a->id, name, text, dummy, HCS__SYS_CREATED);
  as_free(text);
  as_free(name);
  if (s == NULL) {
    return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, obj, ENOMEM,
                     "allocating the system");
  }
  int e = hcs__state_save(s);
  if (e != 0) {
    r = record_fail(s, op, e, err);
    hcs__system_free(s);
    return r;
  }
  hcs__system_link(hcs, s);
  return HCS_OK;
}

static void create_fn(hcs_t *hcs, hcs__call_t *call) {
  static const char op[] = "hcs::CreateComputeSystem";
  const create_args_t *a = call->args;
  hcs_error_t *err = NULL;
  hcs_result_t r;
  if (!hcs__id_valid(a->id)) {
    r = hcs__fail(&err, HCS_WSAEINVAL, op, NULL, EINVAL,
                  "invalid compute system id: 1-128 of [A-Za-z0-9_.-], not "
                  "starting with '.' or '-'");
    hcs__call_done(call, r, err);
    return;
  }
  int lock;
  r = hcs__system_lock(hcs, op, a->id, &lock, &err);
  if (r == HCS_OK) {
    r = create_locked(hcs, a, &err);
  }
  hcs__state_unlock(hcs, a->id, lock);
  hcs__call_done(call, r, err);
}

hcs_result_t hcs_CreateComputeSystem(hcs_t *hcs, const char *id,
                                     const char *configuration,
                                     hcs_error_t **err) {
  if (hcs == NULL || configuration == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::CreateComputeSystem", NULL,
                     EINVAL, "%s is NULL",
                     hcs == NULL ? "hcs" : "configuration");
  }
  create_args_t a = {.id = id, .config = configuration};
  return hcs__call(hcs, create_fn, &a, err);
}

typedef struct stop_args_s {
  const char *id;
  const char *context;
  int kill;
} stop_args_t;

/* Takes back a start whose record could not say Running: init and all
 * in its groups killed, endpoints given back, the groups and files gone. */
static void start_undo(hcs__system_t *s) {
  hcs__container_t *ct = s->ct;
  hcs__container_signal(s, SIGKILL);
  /* Freed below, before init's exit is seen: its groups are swept now. */
  hcs__cgroup_kill(&ct->cg);
  for (size_t i = 0; i < ct->n_attached; i++) {
    hcs__hns_detach(s->hcs, ct->cfg.endpoint_list[i]);
  }
  ct->n_attached = 0;
  s->nrunning--;
  hcs__container_free(s);
  remove_run_files(s);
  s->state = HCS__SYS_CREATED;
  s->init_pid = 0;
  s->init_start = 0;
}

/* Starts a Created system, its lock held. The record says Running only
 * once everything runs, and names the groups and root (Starting) before
 * any of them exists: a caller that dies at any point leaves a record
 * from which the next open finds all it made. */
static hcs_result_t start_locked(hcs__system_t *s, hcs_error_t **err) {
  static const char op[] = "hcs::StartComputeSystem";
  int e;
  if (s->is_dummy) {
    s->state = HCS__SYS_RUNNING;
    e = hcs__state_save(s);
    if (e != 0) {
      s->state = HCS__SYS_CREATED;
      return record_fail(s, op, e, err);
    }
    return HCS_OK;
  }
  s->starting = 1;
  /* Not synced to the disk: a crash takes the start back whether the disk
   * says Created or Starting (nothing it names outlives a reboot); the
   * record of Running below syncs the directory. */
  e = hcs__state_save_atomic(s);
  if (e != 0) {
    s->starting = 0;
    return record_fail(s, op, e, err);
  }
  hcs_result_t r = hcs__container_start(s, err);
  s->starting = 0;
  if (r != HCS_OK) {
    remove_run_files(s);
    /* If this fails too, the record still says Starting, and the next
     * open takes the start back. */
    (void)hcs__state_save(s);
    return r;
  }
  s->state = HCS__SYS_RUNNING;
  e = hcs__state_save(s);
  if (e != 0) {
    start_undo(s);
    (void)hcs__state_save(s);
    return record_fail(s, op, e, err);
  }
  return HCS_OK;
}

static void start_fn(hcs_t *hcs, hcs__call_t *call) {
  static const char op[] = "hcs::StartComputeSystem";
  hcs_error_t *err = NULL;
  hcs__system_t *s;
  int lock;
  hcs_result_t r = hcs__system_lock(hcs, op, call->args, &lock, &err);
  if (r == HCS_OK) {
    r = hcs__system_get(hcs, op, call->args, &s, &err);
  }
  if (r == HCS_OK && s->state != HCS__SYS_CREATED) {
    char obj[160];
    snprintf(obj, sizeof(obj), "id=%s", s->id);
    r = hcs__fail(&err, HCS_E_INVALID_STATE, op, obj, EINVAL,
                  "the system is %s, not created",
                  s->state == HCS__SYS_RUNNING ? "running" : "stopped");
  }
  if (r == HCS_OK) {
    r = start_locked(s, &err);
  }
  hcs__state_unlock(hcs, call->args, lock);
  hcs__call_done(call, r, err);
}

hcs_result_t hcs_StartComputeSystem(hcs_t *hcs, const char *id,
                                    hcs_error_t **err) {
  if (hcs == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::StartComputeSystem", NULL,
                     EINVAL, "hcs is NULL");
  }
  return hcs__call(hcs, start_fn, (void *)id, err);
}

/* Finishes the calls waiting for the system to empty. */
void hcs__system_check_stopped(hcs__system_t *s) {
  if (s->nrunning != 0 || s->state != HCS__SYS_RUNNING || !s->stopping) {
    return;
  }
  s->state = HCS__SYS_STOPPED;
  s->stopping = 0;
  int fd;
  /* Only over the record of this run: since it began, another process
   * may have seen it stop, deleted it, and made a new system of this id.
   * Not synced to the disk: after a crash a record of Running says
   * Stopped as well (its init is gone). */
  if (hcs__state_lock(s->hcs, s->id, 1, &fd) == 0) {
    int e = hcs__state_names_run(s) ? hcs__state_save_atomic(s) : 0;
    if (e != 0) {
      /* The next open finds the init gone and says Stopped itself. */
      hcs__log(HCS_LOG_WARN, "compute system %s: writing its record: %s", s->id,
               strerror(-e));
    }
    hcs__state_unlock(s->hcs, s->id, fd);
  }
  while (s->stop_waiters != NULL) {
    hcs__waiter_t *w = s->stop_waiters;
    s->stop_waiters = w->next;
    hcs__call_done(w->call, HCS_OK, NULL);
    as_free(w);
  }
}

static void stop_fn(hcs_t *hcs, hcs__call_t *call) {
  const stop_args_t *a = call->args;
  const char *op =
      a->kill ? "hcs::TerminateComputeSystem" : "hcs::ShutdownComputeSystem";
  hcs_error_t *err = NULL;
  hcs__system_t *s;
  int lock;
  /* Not held while the call waits: the end of the run takes it again. */
  hcs_result_t r = hcs__system_lock(hcs, op, a->id, &lock, &err);
  hcs__state_unlock(hcs, a->id, lock);
  if (r == HCS_OK) {
    r = hcs__system_get(hcs, op, a->id, &s, &err);
  }
  if (r != HCS_OK) {
    hcs__call_done(call, r, err);
    return;
  }
  char obj[160];
  snprintf(obj, sizeof(obj), "id=%s", s->id);
  if (s->state != HCS__SYS_RUNNING) {
    /* Stopped: HCS's "already stopped", which callers take as success;
     * never started: not valid in that state. */
    int stopped = s->state == HCS__SYS_STOPPED;
    int ctx = a->context != NULL && a->context[0] != '\0';
    r = hcs__fail(&err,
                  stopped ? HCS_E_SYSTEM_ALREADY_STOPPED : HCS_E_INVALID_STATE,
                  op, obj, stopped ? ESRCH : EINVAL, "the system is %s%s%s",
                  stopped ? "stopped" : "not started", ctx ? "; context: " : "",
                  ctx ? a->context : "");
    hcs__call_done(call, r, err);
    return;
  }
  if (s->stopping && !a->kill) {
    r = hcs__fail(&err, HCS_ERROR_SHUTDOWN_IN_PROGRESS, op, obj, EINPROGRESS,
                  "a shutdown of this system is under way");
    hcs__call_done(call, r, err);
    return;
  }
  hcs__waiter_t *w = as_calloc(1, sizeof(*w));
  if (w == NULL) {
    r = hcs__fail(&err, HCS_ERROR_OUTOFMEMORY, op, obj, ENOMEM, "waiter");
    hcs__call_done(call, r, err);
    return;
  }
  s->stopping = 1;
  w->call = call;
  w->next = s->stop_waiters;
  s->stop_waiters = w;
  if (s->ct != NULL) {
    /* init stops (SIGTERM) or takes down (SIGKILL) the whole namespace. */
    hcs__container_signal(s, a->kill ? SIGKILL : SIGTERM);
    if (a->kill) {
      hcs__system_signal_all(s, SIGKILL);
    }
    /* Paused: the signals are pending, and act once thawed. */
    hcs__system_thaw(s);
  } else {
    hcs__system_signal_all(s, a->kill ? SIGKILL : SIGTERM);
  }
  hcs__system_check_stopped(s);
}

/* The deadline passed: the call answers HCS_WAIT_TIMEOUT. A shutdown
 * stays pending (a later one answers SHUTDOWN_IN_PROGRESS) and the caller
 * may terminate. */
static void stop_cancel(hcs_t *hcs, hcs__call_t *call) {
  const stop_args_t *a = call->args;
  hcs__system_t *s = hcs__system_find(hcs, a->id);
  for (hcs__waiter_t **pw = s != NULL ? &s->stop_waiters : NULL;
       pw != NULL && *pw != NULL; pw = &(*pw)->next) {
    if ((*pw)->call == call) {
      hcs__waiter_t *w = *pw;
      *pw = w->next;
      as_free(w);
      break;
    }
  }
  hcs_error_t *err = NULL;
  char obj[160];
  snprintf(obj, sizeof(obj), "id=%s", a->id);
  hcs_result_t r = hcs__fail(
      &err, HCS_WAIT_TIMEOUT,
      a->kill ? "hcs::TerminateComputeSystem" : "hcs::ShutdownComputeSystem",
      obj, ETIMEDOUT, "processes still running at the deadline");
  hcs__call_done(call, r, err);
}

static hcs_result_t stop_call(hcs_t *hcs, const char *id, uint32_t timeout,
                              const char *context, int kill,
                              hcs_error_t **err) {
  if (hcs == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL,
                     kill ? "hcs::TerminateComputeSystem"
                          : "hcs::ShutdownComputeSystem",
                     NULL, EINVAL, "hcs is NULL");
  }
  stop_args_t a = {.id = id, .context = context, .kill = kill};
  if (hcs__on_engine(hcs)) {
    timeout = 0;
  }
  return hcs__call_timed(hcs, stop_fn, &a, timeout, stop_cancel, err);
}

hcs_result_t hcs_ShutdownComputeSystem(hcs_t *hcs, const char *id,
                                       uint32_t timeout, const char *context,
                                       hcs_error_t **err) {
  return stop_call(hcs, id, timeout, context, 0, err);
}

hcs_result_t hcs_TerminateComputeSystem(hcs_t *hcs, const char *id,
                                        uint32_t timeout, const char *context,
                                        hcs_error_t **err) {
  return stop_call(hcs, id, timeout, context, 1, err);
}

static void delete_fn(hcs_t *hcs, hcs__call_t *call) {
  static const char op[] = "hcs::DeleteComputeSystem";
  hcs_error_t *err = NULL;
  hcs__system_t *s;
  int lock;
  hcs_result_t r = hcs__system_lock(hcs, op, call->args, &lock, &err);
  if (r == HCS_OK) {
    r = hcs__system_get(hcs, op, call->args, &s, &err);
  }
  char obj[160];
  if (r == HCS_OK && s->state == HCS__SYS_RUNNING) {
    snprintf(obj, sizeof(obj), "id=%s", s->id);
    r = hcs__fail(&err, HCS_E_INVALID_STATE, op, obj, EBUSY,
                  "the system is running: shut it down or terminate it "
                  "first");
  }
  int e = r == HCS_OK ? hcs__state_remove(s) : 0;
  if (e != 0) {
    snprintf(obj, sizeof(obj), "id=%s", s->id);
    r = hcs__fail(&err, HCS_ERROR_GEN_FAILURE, op, obj, -e,
                  "removing the record %s/%s.json: %s", hcs->state_dir, s->id,
                  strerror(-e));
  }
  if (r == HCS_OK) {
    system_unlink(hcs, s);
    if (!s->is_dummy) {
      remove_run_files(s);
    }
    hcs__system_free(s);
  }
  hcs__state_unlock(hcs, call->args, lock);
  hcs__call_done(call, r, err);
}

hcs_result_t hcs_DeleteComputeSystem(hcs_t *hcs, const char *id,
                                     hcs_error_t **err) {
  if (hcs == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::DeleteComputeSystem", NULL,
                     EINVAL, "hcs is NULL");
  }
  return hcs__call(hcs, delete_fn, (void *)id, err);
}

void hcs__systems_terminate_all(hcs_t *hcs) {
  for (hcs__system_t *s = hcs->systems; s != NULL; s = s->next) {
    hcs__system_signal_all(s, SIGKILL);
    if (hcs->state_dir != NULL) {
      /* Its record lets the next service on this directory find it. */
      hcs__container_release(s);
    } else {
      hcs__container_signal(s, SIGKILL);
      hcs__system_thaw(s);
    }
  }
}

void hcs__systems_free(hcs_t *hcs) {
  while (hcs->systems != NULL) {
    hcs__system_t *s = hcs->systems;
    hcs->systems = s->next;
    /* Nobody waits any more: the service is closing. */
    while (s->stop_waiters != NULL) {
      hcs__waiter_t *w = s->stop_waiters;
      s->stop_waiters = w->next;
      as_free(w);
    }
    hcs__system_free(s);
  }
}

static json_t *system_json(const hcs__system_t *s, int with_config) {
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:b, s:I}", "Id", s->id, "Name", s->name, "State",
      s->paused && s->state == HCS__SYS_RUNNING ? "Paused"
                                                : hcs__state_name(s->state),
      "IsDummy", s->is_dummy, "Processes", (json_int_t)s->nrunning);
  if (o != NULL && with_config) {
    json_object_set_new(o, "Configuration", json_loads(s->config, 0, NULL));
  }
  if (o != NULL && with_config && s->ct != NULL) {
    json_object_set_new(o, "Cgroup", json_string(s->ct->cg.id));
  }
  return o;
}

/* Hands a JSON value to the caller as seam memory. */
static hcs_result_t give_json(json_t *v, char **out, const char *op,
                              hcs_error_t **err) {
  char *text = v != NULL ? json_dumps(v, JSON_INDENT(2)) : NULL;
  json_decref(v);
  *out = text != NULL ? as_strdup(text) : NULL;
  free(text);
  if (*out == NULL) {
    return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, NULL, ENOMEM,
                     "rendering JSON");
  }
  return hcs__ok(err);
}

typedef struct json_args_s {
  const char *id;
  char **out;
} json_args_t;

static void list_fn(hcs_t *hcs, hcs__call_t *call) {
  json_args_t *a = call->args;
  json_t *arr = json_array();
  for (hcs__system_t *s = hcs->systems; arr != NULL && s != NULL; s = s->next) {
    json_array_append_new(arr, system_json(s, 0));
  }
  hcs_error_t *err = NULL;
  hcs_result_t r = give_json(json_pack("{s:o*}", "Systems", arr), a->out,
                             "hcs::ListComputeSystems", &err);
  hcs__call_done(call, r, err);
}

static void inspect_fn(hcs_t *hcs, hcs__call_t *call) {
  static const char op[] = "hcs::InspectComputeSystem";
  json_args_t *a = call->args;
  hcs_error_t *err = NULL;
  hcs__system_t *s;
  hcs_result_t r = hcs__system_get(hcs, op, a->id, &s, &err);
  if (r == HCS_OK) {
    r = give_json(system_json(s, 1), a->out, op, &err);
  }
  hcs__call_done(call, r, err);
}

hcs_result_t hcs_ListComputeSystems(hcs_t *hcs, char **json,
                                    hcs_error_t **err) {
  if (hcs == NULL || json == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::ListComputeSystems", NULL,
                     EINVAL, "%s is NULL", hcs == NULL ? "hcs" : "json");
  }
  json_args_t a = {.out = json};
  return hcs__call(hcs, list_fn, &a, err);
}

hcs_result_t hcs_InspectComputeSystem(hcs_t *hcs, const char *id, char **json,
                                      hcs_error_t **err) {
  if (hcs == NULL || json == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::InspectComputeSystem", NULL,
                     EINVAL, "%s is NULL", hcs == NULL ? "hcs" : "json");
  }
  json_args_t a = {.id = id, .out = json};
  return hcs__call(hcs, inspect_fn, &a, err);
}
