/* Internals of the HCS layer, shared by the files of src/hcs. */
#ifndef HCS_HCS_INTERNAL_H
#define HCS_HCS_INTERNAL_H

#include "hcs-async.h"
#include "hcs.h"

#include <pthread.h>
#include <stdarg.h>

/* error.c: builds an error object and stores it in *err (when err is not
 * NULL); returns code, so that a failing path reads
 * `return hcs__fail(err, CODE, op, obj, errno, "fmt", ...)`. */
hcs_result_t hcs__fail(hcs_error_t **err, hcs_result_t code, const char *op,
                       const char *object, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
hcs_result_t hcs__ok(hcs_error_t **err);

/* service.c: running work on the engine thread. A call's function runs on
 * the engine thread and finishes the call by hcs__call_done(); the caller
 * waits for that. */
typedef struct hcs__call_s hcs__call_t;
typedef void (*hcs__call_fn)(hcs_t *hcs, hcs__call_t *call);
struct hcs__call_s {
  hcs__call_fn fn;
  void *args;
  hcs_result_t result;
  hcs_error_t *err;
  /* the waiting side */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int finished;
  int cancel_ran;
};
/* Runs fn on the engine thread and waits; on the engine thread itself, runs
 * it inline and requires that it finish inline. */
hcs_result_t hcs__call(hcs_t *hcs, hcs__call_fn fn, void *args,
                       hcs_error_t **err);
/* The same, giving up after timeout ms (HCS_TIMEOUT_INFINITE: never): then
 * cancel runs on the engine thread and must finish the call (with
 * HCS_ERROR_TIMEOUT) unless it finished already. Returns whichever result
 * finished the call. On the engine thread, fn must finish inline. */
hcs_result_t hcs__call_timed(hcs_t *hcs, hcs__call_fn fn, void *args,
                             uint32_t timeout, hcs__call_fn cancel,
                             hcs_error_t **err);
void hcs__call_done(hcs__call_t *call, hcs_result_t result, hcs_error_t *err);
as_loop_t *hcs__loop(hcs_t *hcs);
int hcs__on_engine(hcs_t *hcs);

/* session.c: an engine result in the public shape (oom_killed false). */
void hcs__to_result(const as_result_t *r, hcs_process_result_t *out);
/* session.c: the public callbacks of a session, for process.c's pumped
 * processes. setup sets so's data/exit callbacks and extra_size; init
 * stores cb and data once spawned; done hands r to the done callback. */
void hcs__pub_setup(as_spawn_opts_t *so);
void hcs__pub_init(as_session_t *s, const hcs_session_callbacks_t *cb,
                   void *data);
void hcs__pub_done(as_session_t *s, const hcs_process_result_t *r);

/* system.c */
typedef struct hcs__system_s hcs__system_t;

struct hcs_s {
  as_loop_t *loop;
  pthread_t thread;
  int threaded;
  hcs__system_t *systems; /* engine thread only */
  char *state_dir;        /* NULL: records in memory only */
  struct hcs__hns_s *hns; /* networks and endpoints (hns_store.h) */
};

void hcs__systems_terminate_all(hcs_t *hcs);
void hcs__systems_free(hcs_t *hcs);
size_t hcs__systems_running_processes(hcs_t *hcs);

#endif
