/* SPDX-License-Identifier: MIT */
/* hcsd's Docker model: containers, execs, logs, images and networks as
 * plain calls on the engine thread, with no HTTP in sight (the adapter in
 * http/ serves them; tests/test_hcsd_model.c drives them directly).
 *
 * Conventions. A container is named by ref (its id, its name with or
 * without '/', or a unique id prefix), an exec by its whole id. A call
 * that fails returns -1 with e set: its status says the class (400 bad
 * input, 404 no such object, 409 conflict, 500 the host failed; 304 when
 * there is nothing to do, which is no failure) and e->msg what to tell,
 * and its callback never runs. A call that finishes later returns
 * HCSD_PENDING and its done callback runs exactly once, from the loop,
 * never inside the call; a call that returns 0 is finished.
 *
 * Output (attach, exec streams, log follow) goes to a listener: the ops
 * and data its caller registered. The model holds no reference to the
 * caller beyond them. */
#ifndef HCSD_MODEL_H
#define HCSD_MODEL_H

#include "hcsd/body.h"
#include "hcsd/hcsd.h"
#include "hcsd/model/spec.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HCSD_PENDING 1

/* A model call's end: e NULL on success. */
typedef void (*hcsd_done_cb)(const hcsd_err_t *e, void *data);

/* ---- output ---- */

/* A process's output buffer, lent to a listener's on_data: a listener
 * that keeps buf past the call takes a reference, and drops it when done
 * with the bytes. While any reference is held the engine counts the bytes
 * against the stream's cap, so the process waits for the slowest
 * listener that holds its output. */
typedef struct hcsd_hold_s hcsd_hold_t;
void hcsd_hold_ref(hcsd_hold_t *h);
void hcsd_hold_unref(hcsd_hold_t *h);

typedef struct hcsd_out_ops_s {
  /* len > 0 bytes of stream (1 stdout, 2 stderr; 1 for a tty). hold is
   * NULL when buf is lent for the call only (stored log, messages). */
  void (*on_data)(int stream, const char *buf, size_t len, hcsd_hold_t *hold,
                  void *data);
  /* The output is over (exit, or what was asked was sent); the listener
   * is unregistered and its handle gone when this returns. */
  void (*on_end)(void *data);
  /* Input backpressure: stop / resume sending stdin. May be NULL. */
  void (*on_pause)(bool paused, void *data);
} hcsd_out_ops_t;

/* ---- containers ---- */

/* Creates a container from spec (its JSON taken on success) named name
 * (NULL or "": one is made up; a leading '/' is dropped by the caller).
 * HCSD_PENDING, then done(id, e); or -1 (400 bad name, 409 name in use,
 * 500). */
typedef void (*hcsd_created_cb)(const char *id, const hcsd_err_t *e,
                                void *data);
int hcsd_ctr_create(hcsd_t *d, hcsd_ctr_spec_t *spec, const char *name,
                    hcsd_created_cb done, void *data, hcsd_err_t *e);
/* Starts it (after what it is busy with): HCSD_PENDING, done once it runs
 * or failed to (500 with the reason; 304 running already; 404 removed
 * meanwhile); or -1: 404, 304 running. */
int hcsd_ctr_start(hcsd_t *d, const char *ref, hcsd_done_cb done, void *data,
                   hcsd_err_t *e);
/* Stops it: signal (NULL: its StopSignal; a name or number), SIGKILL
 * after secs seconds (0 at once, < 0 never, HCSD_STOP_DEFAULT: its
 * StopTimeout, else 10). HCSD_PENDING, done once it stopped; or -1: 400
 * a signal Linux does not have, 404, 304 not running. */
#define HCSD_STOP_DEFAULT INT_MIN
int hcsd_ctr_stop(hcsd_t *d, const char *ref, const char *signal, int secs,
                  hcsd_done_cb done, void *data, hcsd_err_t *e);
/* Stop as hcsd_ctr_stop, then start: HCSD_PENDING, done once started. */
int hcsd_ctr_restart(hcsd_t *d, const char *ref, const char *signal, int secs,
                     hcsd_done_cb done, void *data, hcsd_err_t *e);
/* Sends signal (NULL or "": SIGKILL; "KILL", "SIGKILL", "9"...) to its
 * main process: 0 once sent; HCSD_PENDING for SIGKILL, done once it
 * stopped; -1: 404, 400 unknown signal, 409 not running. */
int hcsd_ctr_kill(hcsd_t *d, const char *ref, const char *signal,
                  hcsd_done_cb done, void *data, hcsd_err_t *e);
/* Removes it (force: stops it first): HCSD_PENDING, done once gone; or
 * -1: 404, 409 running without force. */
int hcsd_ctr_remove(hcsd_t *d, const char *ref, bool force, hcsd_done_cb done,
                    void *data, hcsd_err_t *e);

/* Waits for condition (NULL, "" or "not-running", "next-exit",
 * "removed"): 0 with *code the exit code when it holds now; HCSD_PENDING
 * with *w, then done(code) (once removed, any wait ends); -1: 404, 400
 * unknown condition, 500. hcsd_wait_cancel(*w) before done: it never
 * runs. */
typedef struct hcsd_wait_s hcsd_wait_t;
typedef void (*hcsd_wait_cb)(int exit_code, void *data);
int hcsd_ctr_wait(hcsd_t *d, const char *ref, const char *condition,
                  hcsd_wait_cb done, void *data, hcsd_wait_t **w, int *code,
                  hcsd_err_t *e);
void hcsd_wait_cancel(hcsd_wait_t *w);

/* Docker's container JSON (GET /containers/{id}/json), or NULL with e
 * (404). */
json_t *hcsd_ctr_inspect(hcsd_t *d, const char *ref, hcsd_err_t *e);
typedef struct hcsd_ctr_list_opts_s {
  bool all;            /* also those not running */
  long limit;          /* > 0: the newest limit of them, running or not */
  const char *filters; /* the filters' JSON text (moby's), or NULL */
} hcsd_ctr_list_opts_t;
/* Docker's list JSON array (GET /containers/json), newest first; NULL
 * with e: 400 an unknown filter or a value it cannot take, 404 before= or
 * since= naming no container. */
json_t *hcsd_ctr_list(hcsd_t *d, const hcsd_ctr_list_opts_t *o, hcsd_err_t *e);
/* docker ps -s: list (taken) gets each entry's SizeRw and SizeRootFs,
 * measured on the pool: HCSD_PENDING, then done(list) (the receiver's to
 * json_decref); or -1 (500), list untouched. */
typedef void (*hcsd_list_cb)(json_t *list, void *data);
int hcsd_ctr_list_sizes(hcsd_t *d, json_t *list, hcsd_list_cb done, void *data,
                        hcsd_err_t *e);
/* Containers in state ("running", "exited", ...). */
size_t hcsd_ctrs_count(hcsd_t *d, const char *state);
/* The console size, applied now when it runs with a tty. 0, or -1: 404,
 * 400 unless both are 0-65535 (-1 for a size that did not decode). */
int hcsd_ctr_resize(hcsd_t *d, const char *ref, int rows, int cols,
                    hcsd_err_t *e);

/* Freezes / thaws its processes: 0, or -1: 404; 409 not running or
 * paused already (pause); 500 not paused (unpause), or the host failed. */
int hcsd_ctr_pause(hcsd_t *d, const char *ref, hcsd_err_t *e);
int hcsd_ctr_unpause(hcsd_t *d, const char *ref, hcsd_err_t *e);
/* Renames it to name (a leading '/' dropped): 0, or -1: 400 empty, the
 * same name or not well formed, 404, 409 name in use. */
int hcsd_ctr_rename(hcsd_t *d, const char *ref, const char *name,
                    hcsd_err_t *e);
/* ctr_update.c: docker update, the body's non-zero resource fields and
 * RestartPolicy merged into its HostConfig, checked as at create and
 * applied at once to a running container: {"Warnings"}, or NULL with e:
 * 400 a bad body or a field hcsd does not honour (named), 404, 409 busy
 * or a conflict dockerd names, 500 the host refused. */
json_t *hcsd_ctr_update(hcsd_t *d, const char *ref, const char *body,
                        size_t len, hcsd_err_t *e);
/* Its processes as `ps -ef` shows them: {"Titles","Processes"}, or NULL
 * with e: 400 ps_args other than "" or "-ef", 404, 409 not running, 500. */
json_t *hcsd_ctr_top(hcsd_t *d, const char *ref, const char *ps_args,
                     hcsd_err_t *e);

/* ---- logs ---- */

typedef struct hcsd_logs_opts_s {
  int streams;          /* 1 stdout | 2 stderr */
  long tail;            /* the last lines; < 0: all */
  bool follow;          /* then what comes, while it runs */
  bool timestamps;      /* each line led by the time it was read */
  int64_t since, until; /* ns since the epoch, inclusive; 0: no bound. A
                           follow with an until still to come: 400 */
} hcsd_logs_opts_t;
typedef struct hcsd_follow_s hcsd_follow_t;
typedef struct hcsd_logs_s {
  char *buf; /* the stored log asked for (free()): framed unless tty */
  size_t len;
  bool tty;
  hcsd_follow_t *follow; /* with follow while it runs: ops get the rest */
} hcsd_logs_t;
/* 0 with *out, or -1: 404, 400 no stream asked for. */
int hcsd_ctr_logs(hcsd_t *d, const char *ref, const hcsd_logs_opts_t *o,
                  const hcsd_out_ops_t *ops, void *data, hcsd_logs_t *out,
                  hcsd_err_t *e);
/* The follower leaves; its ops are not called again. */
void hcsd_follow_cancel(hcsd_follow_t *f);

/* ---- attach ---- */

typedef struct hcsd_attach_opts_s {
  bool in, out, err;
  bool logs;   /* the stored log first */
  bool stream; /* then the output until its next exit */
} hcsd_attach_opts_t;
typedef struct hcsd_attach_s hcsd_attach_t;
/* An attachment to the container (*tty: its output is raw), not yet
 * listening: 0, or -1: 404, 500. */
int hcsd_ctr_attach(hcsd_t *d, const char *ref, const hcsd_attach_opts_t *o,
                    hcsd_attach_t **a, bool *tty, hcsd_err_t *e);
/* Sends the stored log when asked, then follows the output (on_end at its
 * exit), or ends at once (on_end inside this call) without stream. */
void hcsd_attach_listen(hcsd_attach_t *a, const hcsd_out_ops_t *ops,
                        void *data);
/* The client's stdin (len 0: it closed its side). */
void hcsd_attach_input(hcsd_attach_t *a, const char *buf, size_t len);
/* The client left: a goes, its ops are not called again. */
void hcsd_attach_close(hcsd_attach_t *a);

/* ---- execs ---- */

/* Records an exec into the running container (spec's vectors taken):
 * 0 with id, or -1: 404, 409 not running, 500. */
int hcsd_exec_create(hcsd_t *d, const char *ref, hcsd_exec_spec_t *spec,
                     char id[65], hcsd_err_t *e);
/* Starts it: 0 with *x and *tty; *attached when its streams are to be
 * listened to (hcsd_exec_listen now, or they are dropped), else it runs
 * detached. -1: 404, 409 started already or container not running, 500. */
int hcsd_exec_start(hcsd_t *d, const char *id, const hcsd_exec_start_opts_t *o,
                    hcsd_exec_t **x, bool *attached, bool *tty, hcsd_err_t *e);
/* hcsd --threads: an attached exec run on worker loop `loop`. On loop 0,
 * checked as hcsd_exec_start and marked started: 0 with *x, the copy
 * that loop's thread runs (hcsd_exec_run, else hcsd_exec_abandon), or
 * hcsd_exec_unstart on loop 0 when it cannot get there; 1 when the exec
 * runs detached (call hcsd_exec_start); -1 as hcsd_exec_start. The
 * record learns of the copy's start and end by posts, and the copy's
 * on_end waits until the record has its exit code. */
int hcsd_exec_start_on(hcsd_t *d, const char *id,
                       const hcsd_exec_start_opts_t *o, as_loop_t *loop,
                       hcsd_exec_t **x, hcsd_err_t *e);
void hcsd_exec_unstart(hcsd_exec_t *x);
/* On x's loop: runs it. 0 with *tty: listen now (hcsd_exec_listen and
 * the calls below work on x as on an attached exec); -1 with e as
 * hcsd_exec_start's (x goes). */
int hcsd_exec_run(hcsd_exec_t *x, bool *tty, hcsd_err_t *e);
/* On x's loop, instead of hcsd_exec_run: x goes, not run. */
void hcsd_exec_abandon(hcsd_exec_t *x);
/* Output to ops until the exec ends (on_end after its exit code is
 * recorded). A program that could not be run is told as stdout here. */
void hcsd_exec_listen(hcsd_exec_t *x, const hcsd_out_ops_t *ops, void *data);
/* Output without copies: n > 0 bytes of stream wait at the head of the
 * pipe fd (hcs-async.h, as_raw_cb); the listener moves them out in order
 * with the rest of its output (spliced into its socket) and then calls
 * as_session_raw_next(s, stream) once. 0; -1 when it cannot take them (it
 * called nothing): that stream goes to on_data from then on. */
typedef int (*hcsd_pipe_fn)(int stream, int fd, size_t n, as_session_t *s,
                            void *data);
/* After hcsd_exec_listen: a non-tty exec's output goes to on_pipe (with
 * the listener's data) instead of on_data while on_pipe takes it. A
 * console, or a program that could not be run, stays on on_data. */
void hcsd_exec_splice(hcsd_exec_t *x, hcsd_pipe_fn on_pipe);
void hcsd_exec_input(hcsd_exec_t *x, const char *buf, size_t len);
/* The client left: the process runs on, its output is dropped. */
void hcsd_exec_close(hcsd_exec_t *x);
json_t *hcsd_exec_inspect(hcsd_t *d, const char *id, hcsd_err_t *e);
/* As hcsd_ctr_resize for an exec's console. */
int hcsd_exec_resize(hcsd_t *d, const char *id, int rows, int cols,
                     hcsd_err_t *e);

/* ---- images and networks (their stores' blocking calls on the pool) ---- */

/* The images in the store. */
size_t hcsd_imgs_count(hcsd_t *d);
/* json: the JSON text (NULL on failure, with e: 404, 500). */
typedef void (*hcsd_json_cb)(const char *json, const hcsd_err_t *e, void *data);
/* filters: moby's JSON text (dangling, reference, label, before, since),
 * or NULL; a bad one ends in done with e (400, 404). */
int hcsd_img_list(hcsd_t *d, const char *filters, hcsd_json_cb done, void *data,
                  hcsd_err_t *e);
int hcsd_img_inspect(hcsd_t *d, const char *ref, hcsd_json_cb done, void *data,
                     hcsd_err_t *e);
/* Loads a `docker save` archive from body as it arrives (taking the
 * consumer's reference, also on failure): line(text) per message (a JSON
 * object text and a newline) as it comes, then done. */
int hcsd_img_load(hcsd_t *d, hcsd_body_t *body, bool quiet,
                  void (*line)(const char *text, void *data),
                  void (*done)(void *data), void *data, hcsd_err_t *e);

/* status and reply as model/nets.h words them (reply NULL: no body). */
typedef void (*hcsd_net_cb)(int status, const char *reply, void *data);
typedef enum {
  HCSD_NET_CREATE,  /* arg: the create body */
  HCSD_NET_LIST,    /* arg: the filters' JSON text, or NULL */
  HCSD_NET_INSPECT, /* arg: the ref */
  HCSD_NET_REMOVE,  /* arg: the ref */
} hcsd_net_op_t;
/* HCSD_PENDING; or -1: 500 no networks on this host. */
int hcsd_net_call(hcsd_t *d, hcsd_net_op_t op, const char *arg,
                  hcsd_net_cb done, void *data, hcsd_err_t *e);

#endif
