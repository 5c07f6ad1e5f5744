/* Compute systems and their process records. */
#ifndef HCS_HCS_SYSTEM_H
#define HCS_HCS_SYSTEM_H

#include "hcs/internal.h"

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
};

hcs__system_t *hcs__system_find(hcs_t *hcs, const char *id);
hcs_result_t hcs__system_get(hcs_t *hcs, const char *op, const char *id,
                             hcs__system_t **out, hcs_error_t **err);
void hcs__system_check_stopped(hcs__system_t *s);
/* state.c: records of systems under hcs->state_dir. */
void hcs__state_save(hcs__system_t *s);
void hcs__state_remove(hcs__system_t *s);
hcs_result_t hcs__state_load(hcs_t *hcs, hcs_error_t **err);
const char *hcs__state_name(int state);
hcs__system_t *hcs__system_new(hcs_t *hcs, const char *id, const char *name,
                               const char *config, int is_dummy, int state);
/* container.c: finds the running systems of the records again. */
void hcs__systems_reattach(hcs_t *hcs);
/* The start time of pid (/proc/PID/stat field 22), 0 when gone. */
unsigned long long hcs__proc_start_time(pid_t pid);
/* process.c */
/* User: "uid[:gid]" or "name[:group]" to ids; -EINVAL, -ENOENT. */
int hcs__parse_user(const char *user, uid_t *uid, gid_t *gid);
/* The same, with names looked up in root's /etc/passwd and /etc/group. */
int hcs__parse_user_in(const char *root, const char *user, uid_t *uid,
                       gid_t *gid);
void hcs__system_signal_all(hcs__system_t *s, int sig);
void hcs__system_procs_free(hcs__system_t *s);

#endif
