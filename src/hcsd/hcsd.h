/* SPDX-License-Identifier: MIT */
/* hcsd: the Docker Engine API subset on a unix socket, on hcs's engine
 * loop. Everything here runs on the engine thread (loop 0), except the
 * blocking work handed to as_loop_work() (image and network calls,
 * compute-system create/start/terminate, layer creation and removal) and,
 * with --threads, the attached exec streams moved to worker loops
 * (hcsd_worker_t: http/server.c's hcsd_req_move, model/exec.c's copies).
 *
 * Two parts, with the daemon (daemon.c, main.c) above both and util.c
 * below: model/ is the Docker model (containers, execs, logs, images,
 * networks) as plain calls that report an hcsd_err_t (model/model.h);
 * http/ is the adapter that serves it (server.c connections and replies,
 * parse.c requests, router.c routes, h_*.c handlers that decode, call the
 * model and encode, stream.c hijacked streams; http/http.h). The adapter
 * calls the model, never the reverse: output reaches a client through the
 * listener ops the adapter hands the model. */
#ifndef HCSD_HCSD_H
#define HCSD_HCSD_H

#include <hcs-async.h>
#include <hcs.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HCSD_API_VERSION "1.50"
#define HCSD_API_MIN "1.24"
#define HCSD_VERSION "28.2.2-hcsd"

typedef struct hcsd_s hcsd_t;
typedef struct hcsd_conn_s hcsd_conn_t; /* http/server.c's */
struct hcsd_req_s;                      /* http/http.h's hcsd_req_t */
typedef struct hcsd_ctr_s hcsd_ctr_t;
typedef struct hcsd_exec_s hcsd_exec_t;
typedef struct hcsd_images_s hcsd_images_t; /* model/images.h */
typedef struct hcsd_nets_s hcsd_nets_t;     /* model/nets.h */
typedef struct hcsd_worker_s hcsd_worker_t;

typedef struct hcsd_options_s {
  const char *socket_path;
  const char *state_dir;
  int gid;                    /* the socket's group; -1: root's */
  size_t log_max;             /* bytes of log kept per container */
  uint32_t client_timeout_ms; /* no progress on a request: closed */
  int listen_fd; /* socket activation: the listening socket the service
                    manager passed (3 and up), served instead of
                    socket_path; 0: none */
} hcsd_options_t;

/* An engine loop other than loop 0 (hcsd --threads): it carries the
 * attached exec streams moved to it (http/server.c's hcsd_req_move),
 * their connections and their processes' pumps. The model stays on loop
 * 0; the two meet by as_loop_post only. */
struct hcsd_worker_s {
  hcsd_t *d;
  as_loop_t *loop;
  hcsd_conn_t *conns; /* its connections: its thread's */
  bool closing;       /* hcsd is stopping: nothing more comes in */
};

struct hcsd_s {
  hcs_t *hcs;
  as_loop_t *loop; /* hcs_engine_loop(hcs) */
  as_listener_t *listener;
  hcsd_options_t opt;
  char *state_dir;
  char *tmp_dir; /* state_dir/tmp: streamed request bodies */
  hcsd_images_t *images;
  struct img_job_s *loads; /* docker loads waiting their turn (imgnet.c) */
  bool loading;            /* one of them is on the pool */
  hcsd_nets_t *nets;
  hcsd_ctr_t *ctrs; /* every container, newest first */
  size_t nctrs;
  hcsd_exec_t **ebuckets; /* every exec record by id (exec.c) */
  size_t nebuckets, nexecs;
  /* Each whole request (http/router.c's hcsd_dispatch). */
  void (*serve)(hcsd_t *d, struct hcsd_req_s *r);
  hcsd_conn_t *conns; /* every open connection */
  size_t nconns;
  int stopping;
  void (*stopped)(hcsd_t *d); /* hcsd_stop finished */
  int64_t booted;             /* unix seconds */
  hcsd_worker_t *workers;     /* loops 1 to nworkers of the engine */
  uint32_t nworkers;
  uint32_t next_worker; /* round robin over them */
  /* Connections and exec copies alive on the workers: stopping waits
   * for none to be left before the model goes. */
  atomic_size_t remote;

  struct hcsd_events_s *events; /* model/events.c's bus */
};

/* Opens the stores (state_dir made 0700) and finds the records again;
 * the model is usable from here on, with no socket. 0 or -1 with a
 * message on stderr; hcsd_free either way. */
int hcsd_open_stores(hcsd_t *d, hcs_t *hcs, const hcsd_options_t *opt);
/* Opens the stores and starts listening. Engine thread (before the loop
 * runs, with no_thread). 0 or -1 with a message on stderr. */
int hcsd_start(hcsd_t *d, hcs_t *hcs, const hcsd_options_t *opt);
/* Stops accepting, stops running containers, saves, closes every
 * connection; calls d->stopped when all is done. */
void hcsd_stop(hcsd_t *d);
void hcsd_free(hcsd_t *d);

#endif
