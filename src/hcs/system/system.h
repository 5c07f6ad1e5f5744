/* SPDX-License-Identifier: MIT */
/* Compute systems and their process records. */
#ifndef HCS_HCS_SYSTEM_H
#define HCS_HCS_SYSTEM_H

#include "hcs/api/call.h"
#include "hcs/api/error.h"

#include <stdio.h>

enum {
  HCS__SYS_CREATED,
  HCS__SYS_RUNNING,
  HCS__SYS_STOPPED,
};

typedef struct hcs__waiter_s {
  struct hcs__waiter_s *next;
  hcs__call_t *call;
} hcs__waiter_t;

typedef struct hcs__proc_s hcs__proc_t;
typedef struct hcs__system_s hcs__system_t;

struct hcs__system_s {
  hcs__system_t *next;
  hcs_t *hcs;
  char *id;
  char *name;
  char *config; /* the configuration, normalized JSON */
  int is_dummy;
  int state;
  int stopping;                /* shutdown or terminate under way */
  hcs__waiter_t *stop_waiters; /* calls waiting for nrunning == 0 */
  hcs__proc_t **buckets;       /* process records by pid */
  size_t nbuckets, nprocs;
  size_t nrunning; /* records whose process has not exited, and init */
  struct hcs__container_s *ct;   /* NULL for a system without isolation */
  pid_t init_pid;                /* from a record: init to find again */
  unsigned long long init_start; /* its start time (clock ticks) */
  int starting; /* a start is under way: the record names its groups and
                   root, for the next open to take back if it dies */
  int paused;   /* Running with its groups frozen (pause.c) */
};

hcs__system_t *hcs__system_find(hcs_t *hcs, const char *id);
hcs_result_t hcs__system_get(hcs_t *hcs, const char *op, const char *id,
                             hcs__system_t **out, hcs_error_t **err);
void hcs__system_check_stopped(hcs__system_t *s);
/* A system not yet in the service's list (hcs__system_link adds it), and
 * its freeing (it must not be in the list). */
hcs__system_t *hcs__system_new(hcs_t *hcs, const char *id, const char *name,
                               const char *config, int is_dummy, int state);
void hcs__system_link(hcs_t *hcs, hcs__system_t *s);
void hcs__system_free(hcs__system_t *s);
/* Where a system keeps files of its own: "<run>/<id><suffix>", run being
 * the state directory (or /run/hcs without one); ".root" is where init
 * mounts its root. */
const char *hcs__system_run_dir(const hcs_t *hcs);
void hcs__system_path(const hcs__system_t *s, const char *suffix, char *buf,
                      size_t n);
/* The path of the system's groups in each hierarchy (system.c). */
void hcs__system_cgroup_name(const hcs__system_t *s, char *buf, size_t n);
/* Takes the lock of id for operation op and brings the system in line
 * with its record (*fd -1 when there is nothing to lock); the caller
 * drops it with hcs__state_unlock. */
hcs_result_t hcs__system_lock(hcs_t *hcs, const char *op, const char *id,
                              int *fd, hcs_error_t **err);
/* pause.c: thaws a paused system (its processes then see what was sent
 * to them meanwhile); nothing for one not paused. */
void hcs__system_thaw(hcs__system_t *s);
/* At hcs_open, after the records are read: adopts the inits of running
 * systems and takes back what callers that died left half-made. */
void hcs__systems_recover(hcs_t *hcs);

/* state.c: records of systems under hcs->state_dir. Without a state
 * directory every call succeeds and does nothing. */
/* Takes the lock of id (waiting for it, or -EWOULDBLOCK when !wait and
 * another holds it); *fd is -1 without a state directory. 0 or -errno. */
int hcs__state_lock(hcs_t *hcs, const char *id, int wait, int *fd);
/* Drops it (and the lock file, once id has no record). fd may be -1. */
void hcs__state_unlock(hcs_t *hcs, const char *id, int fd);
/* The caller holds the lock of the system's id for these four. Writes
 * the record atomically and durably: 0, or -errno with the old record
 * left in place. */
int hcs__state_save(hcs__system_t *s);
/* The same, atomically only: other processes see it at once, and after a
 * crash the disk holds it or the record before (the directory is synced
 * by the next durable write). For a record that a crash makes moot. */
int hcs__state_save_atomic(hcs__system_t *s);
int hcs__state_remove(hcs__system_t *s);
/* The system of id's record, not in the list: 0, -ENOENT, -EINVAL for a
 * malformed record, -ENOMEM. */
int hcs__state_read(hcs_t *hcs, const char *id, hcs__system_t **out);
/* 1 when id's record is of the run that s has in memory (Running, with
 * the same init): a record to overwrite with the end of that run. */
int hcs__state_names_run(const hcs__system_t *s);
/* Reads every record into the service's list (at hcs_open). */
hcs_result_t hcs__state_load(hcs_t *hcs, hcs_error_t **err);
const char *hcs__state_name(int state);
/* At hcs_close: terminate every system, then free them all. */
void hcs__systems_terminate_all(hcs_t *hcs);
void hcs__systems_free(hcs_t *hcs);
/* process.c */
void hcs__system_signal_all(hcs__system_t *s, int sig);
void hcs__system_procs_free(hcs__system_t *s);
size_t hcs__systems_running_processes(hcs_t *hcs);

#endif
