/* SPDX-License-Identifier: MIT */
/* hcsd's start and stop: the stores, the records found again, the socket;
 * at stop the running containers are stopped (as dockerd does without
 * live-restore) before the connections close. */
#include "hcsd/http/http.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"
#include "hcsd/model/images.h"
#include "hcsd/model/nets.h"
#include "hcsd/model/restart.h"
#include "hcsd/model/volumes.h"
#include "hcsd/util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STOP_GRACE_S 10

static int mkdirs(const char *base, const char *sub) {
  char p[4200];
  snprintf(p, sizeof(p), "%s%s%s", base, sub[0] != '\0' ? "/" : "", sub);
  if (mkdir(p, 0700) != 0 && errno != EEXIST) {
    hcsd_log("mkdir %s: %s", p, strerror(errno));
    return -1;
  }
  return 0;
}

/* Records of containers that were running when an earlier hcsd went
 * away: their systems are terminated, they are Exited (255). */
typedef struct fix_s {
  hcsd_ctr_t *c;
} fix_t;

static void fix_work(void *data) {
  fix_t *f = data;
  (void)hcs_TerminateComputeSystem(f->c->d->hcs, f->c->id, 10000, NULL, NULL);
  (void)hcs_DeleteComputeSystem(f->c->d->hcs, f->c->id, NULL);
}

static void fix_done(void *data) {
  fix_t *f = data;
  hcsd_ctr_t *c = f->c;
  c->busy = 0;
  hcsd__store_save(c);
  /* Requests that came while the system was torn down (a start, an rm)
   * parked on busy: they are answered now, as after any cleanup. */
  if (!c->auto_remove || hcsd__ctr_remove(c, NULL, NULL) != 0) {
    hcsd__ctr_wake(c);
    hcsd__ctr_settled(c);
  }
  hcsd__ctr_unref(c);
  free(f);
}

int hcsd_open_stores(hcsd_t *d, hcs_t *hcs, const hcsd_options_t *opt) {
  memset(d, 0, sizeof(*d));
  d->hcs = hcs;
  d->loop = hcs_engine_loop(hcs);
  d->opt = *opt;
  d->state_dir = strdup(opt->state_dir);
  if (asprintf(&d->tmp_dir, "%s/tmp", opt->state_dir) < 0) {
    d->tmp_dir = NULL;
    return -1;
  }
  d->booted = (int64_t)time(NULL);
  d->nworkers = hcs_engine_loops(hcs) - 1;
  d->workers =
      d->nworkers > 0 ? calloc(d->nworkers, sizeof(*d->workers)) : NULL;
  if (d->nworkers > 0 && d->workers == NULL) {
    return -1;
  }
  for (uint32_t i = 0; i < d->nworkers; i++) {
    d->workers[i] =
        (hcsd_worker_t){.d = d, .loop = hcs_engine_loop_at(hcs, i + 1)};
  }
  if (mkdirs(d->state_dir, "") != 0 || mkdirs(d->state_dir, "tmp") != 0 ||
      mkdirs(d->state_dir, "containers") != 0 ||
      mkdirs(d->state_dir, "sandboxes") != 0 ||
      mkdirs(d->state_dir, "images") != 0 ||
      mkdirs(d->state_dir, "networks") != 0) {
    return -1;
  }
  char p[4200];
  char *msg = NULL;
  snprintf(p, sizeof(p), "%s/images", d->state_dir);
  if (hcsd_images_open(p, &d->images, &msg) != 0) {
    hcsd_log("images: %s", msg != NULL ? msg : "cannot open the store");
    free(msg);
    return -1;
  }
  snprintf(p, sizeof(p), "%s/networks", d->state_dir);
  msg = NULL;
  if (hcsd_nets_open(hcs, p, &d->nets, &msg) != 0) {
    hcsd_log("networks unavailable: %s", msg != NULL ? msg : "?");
    free(msg);
    d->nets = NULL;
  }
  if (hcsd_volumes_open(d) != 0) {
    return -1;
  }
  return hcsd__ctrs_load(d);
}

int hcsd_start(hcsd_t *d, hcs_t *hcs, const hcsd_options_t *opt) {
  (void)hcs;
  (void)opt;
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (c->state == CS_RUNNING) {
      c->state = CS_EXITED;
      c->exit_code = 255;
      c->finished_ns = hcsd_now_ns();
      c->exits++;
      fix_t *f = malloc(sizeof(*f));
      if (f != NULL) {
        f->c = c;
        c->busy = 1;
        hcsd__ctr_ref(c);
        if (hcsd_work(d, fix_work, fix_done, f) != 0) {
          fix_done(f);
        }
      }
    } else if (c->state == CS_REMOVING) {
      (void)hcsd__ctr_remove(c, NULL, NULL);
    }
  }
  hcsd__restart_boot(d);
  int r = hcsd__http_listen(d, hcsd_dispatch);
  if (r != 0) {
    hcsd_log("listening on %s: %s", d->opt.socket_path, strerror(-r));
    return -1;
  }
  return 0;
}

/* The workers' connections and execs are gone: the caller is told. */
static void stop_told(as_timer_t *t, void *data) {
  hcsd_t *d = data;
  if (atomic_load(&d->remote) > 0) {
    as_timer_arm(t, 20, stop_told, d);
    return;
  }
  as_timer_free(t);
  if (d->stopped != NULL) {
    d->stopped(d);
  }
}

/* Every container is down: the connections close (the workers' too),
 * and once the workers have let go of them the caller is told. */
static void stop_end(hcsd_t *d) {
  hcsd__http_close_all(d);
  as_timer_t *t;
  if (atomic_load(&d->remote) > 0 && as_timer_new(d->loop, &t) == 0) {
    stop_told(t, d);
    return;
  }
  if (d->stopped != NULL) {
    d->stopped(d);
  }
}

static void stop_poll(as_timer_t *t, void *data) {
  hcsd_t *d = data;
  if (d->loading || d->loads != NULL) {
    as_timer_arm(t, 50, stop_poll, d); /* a docker load, imgnet.c */
    return;
  }
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (c->state == CS_RUNNING || c->busy) {
      as_timer_arm(t, 50, stop_poll, d);
      return;
    }
  }
  as_timer_free(t);
  stop_end(d);
}

void hcsd_stop(hcsd_t *d) {
  if (d->stopping) {
    return;
  }
  d->stopping = 1;
  hcsd__http_stop(d);
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (c->state == CS_RUNNING && c->main != NULL) {
      int sig = hcsd_signal_number(c->stop_signal);
      hcsd__ctr_stop(c, sig != 0 ? sig : SIGTERM, STOP_GRACE_S);
    }
  }
  as_timer_t *t;
  if (as_timer_new(d->loop, &t) != 0) {
    stop_end(d);
    return;
  }
  stop_poll(t, d);
}

void hcsd_free(hcsd_t *d) {
  while (d->ctrs != NULL) {
    hcsd_ctr_t *c = d->ctrs;
    d->ctrs = c->next;
    hcsd__execs_free(c);
    hcsd__ctr_unref(c);
  }
  hcsd__execs_index_free(d);
  hcsd_events_free(d);
  hcsd_images_close(d->images);
  hcsd_nets_close(d->nets);
  free(d->state_dir);
  free(d->tmp_dir);
  free(d->workers);
}
