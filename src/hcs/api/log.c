/* SPDX-License-Identifier: MIT */
/* The library's log callback. It is the process's, not a service's:
 * hcs_open() logs before a service exists, and an embedder wants its
 * messages in one place. One of the few documented globals (STYLE.md):
 * the callback, its data and its level, under a mutex that is also held
 * while the callback runs, so that a replaced callback is known to be
 * done when hcs_set_log_cb() returns. The level is also kept in an atomic
 * so that a message nobody takes costs one load. */
#include "hcs/api/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static hcs_log_cb log_cb;   /* under log_mu */
static void *log_data;      /* under log_mu */
static _Atomic int log_max; /* 0: no callback */

void hcs_set_log_cb(hcs_log_cb cb, hcs_log_level_t max_level, void *data) {
  int max = (int)max_level;
  max = max < HCS_LOG_ERROR ? HCS_LOG_ERROR : max;
  max = max > HCS_LOG_DEBUG ? HCS_LOG_DEBUG : max;
  pthread_mutex_lock(&log_mu);
  log_cb = cb;
  log_data = data;
  atomic_store(&log_max, cb != NULL ? max : 0);
  pthread_mutex_unlock(&log_mu);
}

bool hcs__log_on(hcs_log_level_t level) {
  return (int)level <= atomic_load_explicit(&log_max, memory_order_relaxed);
}

void hcs__log(hcs_log_level_t level, const char *fmt, ...) {
  if (!hcs__log_on(level)) {
    return;
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&log_mu);
  /* Looked at again: the callback may have changed since the check. */
  if (log_cb != NULL && (int)level <= atomic_load(&log_max)) {
    log_cb(level, msg, log_data);
  }
  pthread_mutex_unlock(&log_mu);
}
