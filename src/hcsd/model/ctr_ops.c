/* SPDX-License-Identifier: MIT */
/* The calls that change a container: start, stop, restart, kill, remove
 * and resize. A call that meets a busy container (starting or
 * cleaning up) waits for it to settle and then decides, as dockerd
 * serialises the operations on one container. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"
#include "hcsd/model/restart.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A caller's completion, parked on a settle callback. */
typedef struct op_s {
  hcsd_done_cb done;
  void *data;
  int secs;    /* a stop's */
  bool was_up; /* a restart's: it stopped a running container */
} op_t;

static op_t *op_new(hcsd_done_cb done, void *data, hcsd_err_t *e) {
  op_t *op = malloc(sizeof(*op));
  if (op == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return NULL;
  }
  *op = (op_t){done, data, 0, false};
  return op;
}

/* Ends op with e (NULL: success). */
static void op_end(op_t *op, const hcsd_err_t *e) {
  op->done(e, op->data);
  free(op);
}

static void op_fail(op_t *op, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void op_fail(op_t *op, int status, const char *fmt, ...) {
  hcsd_err_t e = {.status = status};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
  va_end(ap);
  op_end(op, &e);
}

/* ---- start ---- */

static int start_settled(hcsd_ctr_t *c, void *data) {
  op_t *op = data;
  if (c->busy) {
    hcsd__ctr_add_settle(c, start_settled, op);
  } else if (c->state == CS_REMOVING) {
    op_fail(op, 404, "No such container: %s", c->id);
  } else if (c->state == CS_RUNNING) {
    op_fail(op, 304, "%s", "container already started");
  } else if (hcsd__ctr_start(c, op->done, op->data) != 0) {
    op_fail(op, 500, "%s", "out of memory");
  } else {
    free(op);
  }
  return 0;
}

int hcsd_ctr_start(hcsd_t *d, const char *ref, hcsd_done_cb done, void *data,
                   hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  hcsd__restart_user_start(c);
  if (c->busy) {
    op_t *op = op_new(done, data, e);
    if (op == NULL) {
      return -1;
    }
    hcsd__ctr_add_settle(c, start_settled, op);
    return HCSD_PENDING;
  }
  if (c->state == CS_RUNNING) {
    hcsd_err_set(e, 304, "container already started");
    return -1;
  }
  if (hcsd__ctr_start(c, done, data) != 0) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}

/* ---- stop, kill ---- */

static int op_settled(hcsd_ctr_t *c, void *data) {
  (void)c;
  op_end(data, NULL);
  return 0;
}

/* A docker stop is over: dockerd's stop event after the die. */
static int stopped_settled(hcsd_ctr_t *c, void *data) {
  if (c->state != CS_REMOVING) {
    hcsd_event_ctr(c, "stop", NULL);
  }
  op_end(data, NULL);
  return 0;
}

/* fn(c, op) once c, running now and not busy, has exited (or is gone):
 * a settle callback that re-parked itself would run again at once. */
typedef struct exit_park_s {
  hcsd_ctr_t *c;
  int (*fn)(hcsd_ctr_t *c, void *op);
  op_t *op;
} exit_park_t;

static void park_exited(int code, void *data) {
  exit_park_t *p = data;
  (void)code;
  p->fn(p->c, p->op);
  free(p);
}

static void until_exit(hcsd_ctr_t *c, int (*fn)(hcsd_ctr_t *, void *),
                       op_t *op) {
  exit_park_t *p = malloc(sizeof(*p));
  hcsd_wait_t *w;
  hcsd_err_t e;
  int code;
  if (p == NULL) {
    op_fail(op, 500, "%s", "out of memory");
    return;
  }
  *p = (exit_park_t){c, fn, op};
  if (hcsd_ctr_wait(c->d, c->id, "next-exit", park_exited, p, &w, &code, &e) !=
      HCSD_PENDING) {
    free(p);
    fn(c, op); /* removed meanwhile */
  }
}

/* A stop that met a start under way: the container is stopped (its
 * StopSignal) once it runs, and the stop answered at its exit. */
static int stop_settled(hcsd_ctr_t *c, void *data) {
  op_t *op = data;
  if (c->busy) {
    hcsd__ctr_add_settle(c, stop_settled, op);
  } else if (c->state == CS_RUNNING && c->main != NULL) {
    until_exit(c, stopped_settled, op);
    int sig = hcsd_signal_number(c->stop_signal);
    hcsd__ctr_stop(c, sig != 0 ? sig : SIGTERM, op->secs);
  } else {
    op_end(op, NULL);
  }
  return 0;
}

/* A signal asked for (NULL or "": none) that Linux does not have: -1
 * with e 400 in moby's words; else 0. */
static int signal_check(const char *signal, hcsd_err_t *e) {
  if (signal != NULL && signal[0] != '\0' && hcsd_signal_number(signal) == 0) {
    hcsd_err_set(e, 400, "Invalid signal: %s", signal);
    return -1;
  }
  return 0;
}

/* Stops c with signal (NULL or "": its StopSignal; an image's unknown
 * one: SIGTERM), then SIGKILL after secs (HCSD_STOP_DEFAULT: its
 * --stop-timeout, else 10). */
static void stop_with(hcsd_ctr_t *c, const char *signal, int secs) {
  json_t *st = json_object_get(c->config, "StopTimeout");
  if (secs == HCSD_STOP_DEFAULT) {
    secs = json_is_integer(st) ? (int)json_integer_value(st) : 10;
  }
  bool named = signal != NULL && signal[0] != '\0';
  int sig = hcsd_signal_number(named ? signal : c->stop_signal);
  hcsd__ctr_stop(c, sig != 0 ? sig : SIGTERM, secs);
}

int hcsd_ctr_stop(hcsd_t *d, const char *ref, const char *signal, int secs,
                  hcsd_done_cb done, void *data, hcsd_err_t *e) {
  if (signal_check(signal, e) != 0) {
    return -1;
  }
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  bool restarting = c->restarting;
  if (c->state == CS_RUNNING || c->busy || restarting) {
    hcsd__restart_user_stop(c);
  }
  if (restarting && !c->busy) {
    return 0; /* its restart is called off */
  }
  if (c->state != CS_RUNNING && !c->busy) {
    hcsd_err_set(e, 304, "container already stopped");
    return -1;
  }
  op_t *op = op_new(done, data, e);
  if (op == NULL) {
    return -1;
  }
  if (c->state == CS_RUNNING) {
    hcsd__ctr_add_settle(c, stopped_settled, op);
    stop_with(c, signal, secs);
  } else {
    op->secs = secs; /* a start under way: stopped once it runs */
    hcsd__ctr_add_settle(c, stop_settled, op);
  }
  return HCSD_PENDING;
}

/* A number past the last real-time signal: moby parses it, and its kill
 * fails. */
static bool signal_too_big(const char *signal) {
  char *end;
  long n = signal != NULL && signal[0] != '\0' ? strtol(signal, &end, 10) : 0;
  return n > 64 && *end == '\0';
}

int hcsd_ctr_kill(hcsd_t *d, const char *ref, const char *signal,
                  hcsd_done_cb done, void *data, hcsd_err_t *e) {
  /* As moby: the signal is checked before the container is looked up. */
  if (!signal_too_big(signal) && signal_check(signal, e) != 0) {
    return -1;
  }
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  if (c->state != CS_RUNNING || c->main == NULL) {
    hcsd_err_set(e, 409,
                 "cannot kill container: %s: container %s is not running", ref,
                 c->id);
    return -1;
  }
  if (signal_too_big(signal)) {
    hcsd_err_set(e, 500,
                 "Cannot kill container: %s: The linux daemon does not "
                 "support signal %s",
                 ref, signal);
    return -1;
  }
  bool named = signal != NULL && signal[0] != '\0';
  int sig = named ? hcsd_signal_number(signal) : SIGKILL;
  op_t *op = NULL;
  if (sig == SIGKILL && (op = op_new(done, data, e)) == NULL) {
    return -1;
  }
  if (sig == SIGKILL || sig == hcsd_signal_number(c->stop_signal)) {
    hcsd__restart_user_stop(c); /* as moby: the stop signal stops it */
  }
  (void)hcs_session_kill(c->main, sig);
  hcsd_event_ctr_int(c, "kill", "signal", sig);
  hcsd__ctr_thaw(c);
  if (op == NULL) {
    return 0;
  }
  /* As moby: a KILL is answered once the container has stopped. */
  hcsd__ctr_add_settle(c, op_settled, op);
  return HCSD_PENDING;
}

/* ---- restart ---- */

/* docker restart's start: dockerd's restart event once it runs. */
typedef struct restart_op_s {
  hcsd_ctr_t *c;
  hcsd_done_cb done;
  void *data;
} restart_op_t;

static void restart_started(const hcsd_err_t *e, void *data) {
  restart_op_t *r = data;
  if (e == NULL) {
    hcsd_event_ctr(r->c, "restart", NULL);
  }
  r->done(e, r->data);
  hcsd__ctr_unref(r->c);
  free(r);
}

static int restart_start(hcsd_ctr_t *c, hcsd_done_cb done, void *data) {
  restart_op_t *r = malloc(sizeof(*r));
  if (r == NULL) {
    return -1;
  }
  *r = (restart_op_t){c, done, data};
  hcsd__ctr_ref(c);
  c->restart_count++;
  c->manual_stop = false;
  if (hcsd__ctr_start(c, restart_started, r) != 0) {
    hcsd__ctr_unref(c);
    free(r);
    return -1;
  }
  return 0;
}

static int restart_settled(hcsd_ctr_t *c, void *data) {
  op_t *op = data;
  if (c->busy) {
    hcsd__ctr_add_settle(c, restart_settled, op);
  } else if (c->state == CS_RUNNING) {
    /* Started meanwhile (the restart met a start): stopped again. */
    op->was_up = true;
    until_exit(c, restart_settled, op);
    hcsd__ctr_stop(c, SIGKILL, 0);
  } else if (c->state == CS_REMOVING) {
    op_fail(op, 404, "No such container: %s", c->id);
  } else {
    if (op->was_up) {
      hcsd_event_ctr(c, "stop", NULL);
    }
    if (restart_start(c, op->done, op->data) != 0) {
      op_fail(op, 500, "%s", "out of memory");
      return 0;
    }
    free(op);
  }
  return 0;
}

int hcsd_ctr_restart(hcsd_t *d, const char *ref, const char *signal, int secs,
                     hcsd_done_cb done, void *data, hcsd_err_t *e) {
  hcsd_ctr_t *c =
      signal_check(signal, e) == 0 ? hcsd__ctr_get(d, ref, e) : NULL;
  op_t *op = c != NULL ? op_new(done, data, e) : NULL;
  if (op == NULL) {
    return -1;
  }
  hcsd__restart_user_stop(c); /* its stop is no exit for the policy */
  if (c->state == CS_RUNNING || c->busy) {
    hcsd__ctr_add_settle(c, restart_settled, op);
    if (c->state == CS_RUNNING && c->main != NULL) {
      op->was_up = true;
      stop_with(c, signal, secs);
    }
    return HCSD_PENDING;
  }
  free(op);
  if (restart_start(c, done, data) != 0) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}

/* ---- remove ---- */

static int remove_settled(hcsd_ctr_t *c, void *data) {
  op_t *op = data;
  if (c->busy) {
    hcsd__ctr_add_settle(c, remove_settled, op);
  } else if (c->state == CS_RUNNING) {
    /* Started meanwhile (the rm -f met a start): killed, then removed. */
    until_exit(c, remove_settled, op);
    hcsd__ctr_stop(c, SIGKILL, 0);
  } else if (c->state == CS_REMOVING) {
    op_end(op, NULL); /* removed meanwhile */
  } else if (hcsd__ctr_remove(c, op->done, op->data) != 0) {
    op_fail(op, 500, "%s", "out of memory");
  } else {
    free(op);
  }
  return 0;
}

static void running_conflict(const hcsd_ctr_t *c, hcsd_err_t *e) {
  hcsd_err_set(e, 409,
               "cannot remove container \"/%s\": container is running: "
               "stop the container before removing or force remove",
               c->name);
}

/* rm without force of a container busy but not running (its exit being
 * cleaned up, or a start under way): decided once it settles, so that a
 * client that saw it exited can remove it. */
static int remove_unforced_settled(hcsd_ctr_t *c, void *data) {
  op_t *op = data;
  if (c->busy) {
    hcsd__ctr_add_settle(c, remove_unforced_settled, op);
  } else if (c->state == CS_RUNNING) {
    hcsd_err_t e;
    running_conflict(c, &e);
    op_end(op, &e);
  } else {
    remove_settled(c, op);
  }
  return 0;
}

int hcsd_ctr_remove(hcsd_t *d, const char *ref, bool force, hcsd_done_cb done,
                    void *data, hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  if (c->restarting && !force) {
    hcsd_err_set(e, 409,
                 "cannot remove container \"/%s\": container is restarting: "
                 "stop the container before removing or force remove",
                 c->name);
    return -1;
  }
  if (!force && c->busy && c->state != CS_RUNNING) {
    op_t *op = op_new(done, data, e);
    if (op == NULL) {
      return -1;
    }
    hcsd__ctr_add_settle(c, remove_unforced_settled, op);
    return HCSD_PENDING;
  }
  bool up = c->state == CS_RUNNING || c->busy;
  if (up && !force) {
    running_conflict(c, e);
    return -1;
  }
  if (!up) {
    if (hcsd__ctr_remove(c, done, data) != 0) {
      hcsd_err_set(e, 500, "out of memory");
      return -1;
    }
    return HCSD_PENDING;
  }
  op_t *op = op_new(done, data, e);
  if (op == NULL) {
    return -1;
  }
  hcsd__ctr_add_settle(c, remove_settled, op);
  if (c->state == CS_RUNNING) {
    hcsd__ctr_stop(c, SIGKILL, 0);
  }
  return HCSD_PENDING;
}

/* ---- resize ---- */

int hcsd_ctr_resize(hcsd_t *d, const char *ref, int rows, int cols,
                    hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL || hcsd_size_check(rows, cols, e) != 0) {
    return -1;
  }
  c->rows = (uint16_t)rows;
  c->cols = (uint16_t)cols;
  if (c->state == CS_RUNNING && c->main != NULL && c->tty) {
    (void)hcs_session_resize(c->main, c->rows, c->cols);
  }
  return 0;
}
