/* hcsd: the Docker Engine API subset on a unix socket, on hcs's engine
 * loop. Everything here runs on the engine thread, except the blocking
 * work handed to as_loop_work() (image and network calls, compute-system
 * create/start/terminate, layer creation and removal).
 *
 * Modules: http.c (connections, HTTP/1.1 with http-parser, replies,
 * chunked streams, hijack), api.c (routes, ping/version/info, small
 * endpoints), ctr.c (containers: create, start, attach, wait, kill, stop,
 * rm, resize, logs, list, inspect), ctrrun.c (the compute system and the
 * main process of a container), exec.c (exec create/start/resize/json),
 * stream.c (output to hijacked connections with 8-byte framing and
 * backpressure), store.c (records and logs under the state dir),
 * images.c and nets.c (blocking stores, see their headers). */
#ifndef HCSD_HCSD_H
#define HCSD_HCSD_H

#include <hcs-async.h>
#include <hcs.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcsd/model/images.h"
#include "hcsd/model/nets.h"

#define HCSD_API_VERSION "1.50"
#define HCSD_API_MIN "1.24"
#define HCSD_VERSION "28.2.2-hcsd"

typedef struct hcsd_s hcsd_t;
typedef struct hcsd_conn_s hcsd_conn_t;
typedef struct hcsd_req_s hcsd_req_t;
typedef struct hcsd_ctr_s hcsd_ctr_t;
typedef struct hcsd_exec_s hcsd_exec_t;
typedef struct hcsd_stream_s hcsd_stream_t;

typedef struct hcsd_options_s {
  const char *socket_path;
  const char *state_dir;
  int gid;                    /* the socket's group; -1: root's */
  size_t log_max;             /* bytes of log kept per container */
  uint32_t client_timeout_ms; /* no progress on a request: closed */
} hcsd_options_t;

struct hcsd_s {
  hcs_t *hcs;
  as_loop_t *loop; /* hcs_engine_loop(hcs) */
  as_listener_t *listener;
  hcsd_options_t opt;
  char *state_dir;
  char *tmp_dir; /* state_dir/tmp: streamed request bodies */
  hcsd_images_t *images;
  hcsd_nets_t *nets;
  hcsd_ctr_t *ctrs; /* every container, newest first */
  size_t nctrs;
  hcsd_exec_t **ebuckets; /* every exec record by id (exec.c) */
  size_t nebuckets, nexecs;
  hcsd_conn_t *conns; /* every open connection */
  size_t nconns;
  int stopping;
  void (*stopped)(hcsd_t *d); /* hcsd_stop finished */
  int64_t booted;             /* unix seconds */
};

/* Opens the stores and starts listening. Engine thread (before the loop
 * runs, with no_thread). 0 or -1 with a message on stderr. */
int hcsd_start(hcsd_t *d, hcs_t *hcs, const hcsd_options_t *opt);
/* Stops accepting, stops running containers, saves, closes every
 * connection; calls d->stopped when all is done. */
void hcsd_stop(hcsd_t *d);
void hcsd_free(hcsd_t *d);

/* ---- http.c ---- */

struct hcsd_req_s {
  hcsd_conn_t *conn;
  int method;        /* enum http_method */
  char *url;         /* as received */
  char *path;        /* without the /vN.NN prefix, percent-decoded */
  const char *query; /* raw, into url; NULL when none */
  char *body;        /* NUL-terminated */
  size_t body_len;
  int body_fd;      /* -1, or the temp file the body was streamed to */
  bool stream_body; /* the body goes to body_fd */
  char content_type[96];
  bool upgrade; /* Connection: Upgrade + Upgrade: tcp */
  bool keep_alive;
  bool head;      /* HEAD: no body in the reply */
  char *leftover; /* bytes after the request (hijack: stdin) */
  size_t leftover_len;
  void (*gone)(hcsd_req_t *r, void *data); /* hcsd_req_on_gone */
  void *gone_data;
};

/* Query parameter name's value (decoded, malloc'ed), NULL if absent. */
char *hcsd_query(const hcsd_req_t *r, const char *name);
/* 1 when the parameter is present and true ("1", "true", "True"). */
int hcsd_query_bool(const hcsd_req_t *r, const char *name);
/* ?h=ROWS&w=COLS of a resize: 0, or -1 after answering 400. */
int hcsd_query_size(hcsd_req_t *r, uint16_t *rows, uint16_t *cols);

/* One reply per request; each ends the request. body may be NULL. */
void hcsd_reply(hcsd_req_t *r, int status, const char *content_type,
                const char *body, size_t len);
void hcsd_reply_json(hcsd_req_t *r, int status, json_t *j); /* steals j */
void hcsd_reply_text_json(hcsd_req_t *r, int status, const char *json);
void hcsd_reply_error(hcsd_req_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hcsd_reply_empty(hcsd_req_t *r, int status);

/* Bounded output, the one rule for every reply (README, "Slow and
 * vanished clients"): a whole reply is bounded by its endpoint, and the
 * connection reads no further request while more than a little of it
 * waits for the client. A streamed reply is bounded per connection, in
 * the way its endpoint calls for: attach and exec streams hold the
 * process's output (stream.c), so that the process blocks in write once
 * the engine's cap per stream waits for its slowest attached client, as
 * with dockerd; a chunked reply (logs -f, a wait, the progress of a
 * load) may queue what its endpoint has at hand when it begins (the
 * stored log) and HCSD_OUT_MAX more, then its client is dropped, since
 * holding the container for it would stall the container, its log and
 * every other client. */
#define HCSD_OUT_MAX (8u << 20)

/* A chunked reply: headers now, with first[0..len) as its first chunk
 * (what the endpoint has at hand, not counted against the cap), chunks
 * later, end ends the request. */
void hcsd_chunked_begin(hcsd_req_t *r, int status, const char *content_type,
                        const void *first, size_t len);
/* One chunk of the n pieces. 0, or -1 when the client is gone or was
 * dropped now, being HCSD_OUT_MAX behind: then r's gone callback has run
 * (r may be freed) and r must not be touched again. */
int hcsd_chunked_writev(hcsd_req_t *r, const as_iov_t *iov, int n);
int hcsd_chunked_write(hcsd_req_t *r, const void *buf, size_t len);
void hcsd_chunked_end(hcsd_req_t *r);
/* 1 while the client of r is connected. */
int hcsd_req_alive(const hcsd_req_t *r);
/* Keeps r (and its connection) past its reply / drops it. */
void hcsd_req_ref(hcsd_req_t *r);
void hcsd_req_unref(hcsd_req_t *r);
/* For a request parked until something happens (a wait, a follower):
 * gone(r, data) runs once when r's client goes away or is dropped, or
 * hcsd closes the connection, before r is answered, so that its holder
 * lets go at once of r (hcsd_req_unref) and of what it keeps for it. It
 * may run inside hcsd_chunked_write* on r; it never runs once r is
 * answered. 0, or -1 when the client is gone already (gone never runs). */
int hcsd_req_on_gone(hcsd_req_t *r, void (*gone)(hcsd_req_t *r, void *data),
                     void *data);

/* Hijack: 101 UPGRADED, then the connection belongs to the stream. */
typedef struct hcsd_stream_ops_s {
  /* Bytes from the client (stdin); len 0: the client half-closed. */
  void (*input)(hcsd_stream_t *st, char *buf, size_t len, void *data);
  /* The client is gone (full close or error). */
  void (*gone)(hcsd_stream_t *st, void *data);
} hcsd_stream_ops_t;

/* Takes over r's connection. framed: 8-byte headers on output. The
 * request is over; the stream lives until hcsd_stream_close. Bytes the
 * client sent after the request are delivered to ops->input first. */
hcsd_stream_t *hcsd_hijack(hcsd_req_t *r, bool framed,
                           const hcsd_stream_ops_t *ops, void *data);

/* ---- stream.c ---- */
/* Output from a session's buffer to hijacked streams, without copying:
 * the buffer is held until every stream it was queued on has written it
 * (or gone), so that the process waits for its slowest attached client
 * and the daemon queues nothing more for any. Inside the session's data
 * callback: begin, one to() per stream, end. begin returns NULL when out
 * of memory (to and end accept it: the output is dropped). */
typedef struct hcsd_fan_s hcsd_fan_t;
hcsd_fan_t *hcsd_fan_begin(hcs_session_t *s, int stream, char *buf, size_t len);
void hcsd_fan_to(hcsd_fan_t *f, hcsd_stream_t *st);
void hcsd_fan_end(hcsd_fan_t *f);
/* The same to one stream (stream 1 stdout, 2 stderr). */
void hcsd_stream_out(hcsd_stream_t *st, hcs_session_t *s, int stream, char *buf,
                     size_t len);
/* Copies bytes out (for logs replayed and errors). */
void hcsd_stream_out_copy(hcsd_stream_t *st, int stream, const void *buf,
                          size_t len);
/* Pauses / resumes reading the client's input. */
void hcsd_stream_pause_input(hcsd_stream_t *st, bool paused);
/* Output is complete: flush, shut the write side, close once the client
 * closes (or after a grace period). Detaches ops. Idempotent. */
void hcsd_stream_finish(hcsd_stream_t *st);
int hcsd_stream_alive(const hcsd_stream_t *st);

/* ---- http/router.c ---- */
void hcsd_dispatch(hcsd_t *d, hcsd_req_t *r);

/* ---- ctr.c / ctrrun.c / exec.c ---- */
int hcsd_ctrs_load(hcsd_t *d);
void hcsd_ctrs_stop_all(hcsd_t *d, void (*done)(hcsd_t *d));
void hcsd_ctrs_free(hcsd_t *d);
hcsd_ctr_t *hcsd_ctr_find(hcsd_t *d, const char *ref);

void hcsd_h_ctr_create(hcsd_t *d, hcsd_req_t *r);
void hcsd_h_ctr_list(hcsd_t *d, hcsd_req_t *r);
void hcsd_h_ctr_inspect(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_start(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_attach(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_wait(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_kill(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_stop(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_delete(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_resize(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_logs(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_restart(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_prune(hcsd_t *d, hcsd_req_t *r);
void hcsd_h_exec_create(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_exec_start(hcsd_t *d, hcsd_req_t *r, const char *id);
void hcsd_h_exec_resize(hcsd_t *d, hcsd_req_t *r, const char *id);
void hcsd_h_exec_inspect(hcsd_t *d, hcsd_req_t *r, const char *id);

size_t hcsd_ctrs_count(hcsd_t *d, const char *state);

#endif
