/* SPDX-License-Identifier: MIT */
/* A running container across services: let go of at hcs_close while it
 * runs on, and adopted again at the next hcs_open from its record (the
 * lock of its id held), or cleaned up if it died meanwhile. */
#include "hcs/system/container.h"

#include "hcs/api/log.h"

#include "hcs/system/procfs.h"

#include <string.h>

/* A record says the system runs: adopt its init if the pid still names
 * the same process (same start time), else the record was stale. A record
 * of a start that never finished: kill what is in its groups, remove them
 * and its root's mount point; it is Created again. */
static void reattach_one(hcs__system_t *s) {
  char why[AS_WHY_MAX] = "";
  int ok = hcs__container_prepare(s, why, sizeof(why)) == 0 && !s->starting &&
           s->init_pid > 0;
  hcs__container_t *ct = s->ct;
  if (ok) {
    as_spawn_opts_t o;
    memset(&o, 0, sizeof(o));
    o.cbs.done_cb = hcs__container_init_done;
    o.data = s;
    ok = as_session_adopt(hcs__loop(s->hcs), s->init_pid, &o, &ct->init) == 0;
  }
  /* Checked after the pidfd exists: from here the pid cannot be reused. */
  if (ok && hcs__proc_start_time(s->init_pid) != s->init_start) {
    as_session_abandon(ct->init);
    ct->init = NULL;
    ok = 0;
  }
  if (!ok) {
    hcs__log(why[0] != '\0' ? HCS_LOG_WARN : HCS_LOG_INFO,
             "compute system %s: %s; it is %s now", s->id,
             why[0] != '\0' ? why
             : s->starting  ? "its start did not finish"
                            : "its init has exited",
             s->starting ? "created" : "stopped");
    /* A group not made (prepare failed first) has no name: killing it
     * would reach the parent, every system's. */
    if (ct != NULL && ct->cg.id[0] != '\0') {
      hcs__cgroup_kill(&ct->cg);
    }
    hcs__container_free(s);
    s->state = s->starting ? HCS__SYS_CREATED : HCS__SYS_STOPPED;
    s->starting = 0;
    s->init_pid = 0;
    (void)hcs__state_save(s);
    return;
  }
  hcs__log(HCS_LOG_INFO, "compute system %s: running, adopted (init pid %d)",
           s->id, (int)s->init_pid);
  ct->init_pid = s->init_pid;
  hcs__container_open_ptmx(ct);
  s->nrunning++;
}

void hcs__system_reattach(hcs__system_t *s) {
  if (!s->is_dummy && s->ct == NULL &&
      (s->state == HCS__SYS_RUNNING || s->starting)) {
    reattach_one(s);
  }
}

void hcs__container_release(hcs__system_t *s) {
  hcs__container_t *ct = s->ct;
  if (ct != NULL && ct->init != NULL && !ct->init_done) {
    as_session_abandon(ct->init);
    ct->init = NULL;
    s->nrunning--;
  }
}
