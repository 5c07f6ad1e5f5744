/* SPDX-License-Identifier: MIT */
/* hcsd's HTTP adapter: requests and their replies, chunked replies,
 * hijacked streams (server.c, stream.c), the routes (router.c) and the
 * handlers that decode a request, call the model and encode its answer
 * (h_ctr.c, h_exec.c, h_image.c, h_net.c). */
#ifndef HCSD_HTTP_H
#define HCSD_HTTP_H

#include "hcsd/hcsd.h"
#include "hcsd/model/model.h"

typedef struct hcsd_req_s hcsd_req_t;
typedef struct hcsd_stream_s hcsd_stream_t;

struct hcsd_req_s {
  hcsd_conn_t *conn;
  int method;        /* enum http_method */
  char *url;         /* as received */
  char *path;        /* without the /vN.NN prefix, percent-decoded */
  const char *query; /* raw, into url; NULL when none */
  char *body;        /* NUL-terminated */
  size_t body_len;
  int body_fd;       /* -1, or the temp file the body was streamed to */
  bool stream_body;  /* the body goes to body_fd */
  hcsd_body_t *live; /* docker load's body, going to its reader */
  char content_type[96];
  bool upgrade; /* Connection: Upgrade + Upgrade: tcp */
  bool keep_alive;
  bool head; /* HEAD: no body in the reply */
  /* Header lines ("Name: value\r\n") the next whole reply adds. */
  const char *extra_head;
  char *leftover; /* bytes after the request (hijack: stdin) */
  size_t leftover_len;
  void (*gone)(hcsd_req_t *r, void *data); /* hcsd_req_on_gone */
  void *gone_data;
};

/* Query parameter name's value (decoded, malloc'ed), NULL if absent. */
char *hcsd_query(const hcsd_req_t *r, const char *name);
/* 1 when the parameter is present and true ("1", "true", "True"). */
int hcsd_query_bool(const hcsd_req_t *r, const char *name);
/* ?h=ROWS&w=COLS of a resize; both -1 when they do not decode. */
void hcsd_req_size(const hcsd_req_t *r, int *rows, int *cols);

/* One reply per request; each ends the request. body may be NULL. */
void hcsd_reply(hcsd_req_t *r, int status, const char *content_type,
                const char *body, size_t len);
void hcsd_reply_json(hcsd_req_t *r, int status, json_t *j); /* steals j */
void hcsd_reply_text_json(hcsd_req_t *r, int status, const char *json);
void hcsd_reply_error(hcsd_req_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hcsd_reply_empty(hcsd_req_t *r, int status);
/* A model error as its reply: 304 without a body, else {"message"}. */
void hcsd_reply_err(hcsd_req_t *r, const hcsd_err_t *e);

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
/* After a chunk: fn(r, data) runs once, from the completion of a write,
 * when no more than a little of the reply waits for the client, so that
 * a long body is sent as fast as the client takes it and never piles up
 * (a chunk must have been written since the last call). It never runs
 * inside this call, nor once the client is gone (r's gone callback runs
 * instead). */
void hcsd_chunked_on_drain(hcsd_req_t *r, void (*fn)(hcsd_req_t *r, void *data),
                           void *data);
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

/* ---- stream.c ---- */
/* Hijack: 101 UPGRADED, then the connection belongs to the stream. */
typedef struct hcsd_stream_ops_s {
  /* Bytes from the client (stdin); len 0: the client half-closed. */
  void (*input)(hcsd_stream_t *st, char *buf, size_t len, void *data);
  /* The client is gone (full close or error). */
  void (*gone)(hcsd_stream_t *st, void *data);
} hcsd_stream_ops_t;

/* Takes over r's connection. framed: 8-byte headers on output. The
 * request is over; the stream lives until hcsd_stream_finish. Bytes the
 * client sent after the request are delivered to ops->input first (ops
 * may run inside this call). NULL when out of memory: r was answered
 * 500. */
hcsd_stream_t *hcsd_hijack(hcsd_t *d, hcsd_req_t *r, bool framed,
                           const hcsd_stream_ops_t *ops, void *data);

/* Output to a hijacked stream, framed when it is, without copying: with
 * hold (model.h) the buffer is referenced until the socket took it, so
 * that a process waits for its slowest attached client and the daemon
 * queues nothing more for any; without (NULL) it is copied. */
void hcsd_stream_out(hcsd_stream_t *st, int stream, const char *buf, size_t len,
                     hcsd_hold_t *hold);
/* Output moved from a pipe without copies (model.h, on_pipe): len bytes
 * of stream at the head of fd, framed when the stream is, spliced into
 * the socket after what was queued before; as_session_raw_next(s,
 * stream) once they are gone (or the client is). 0, or -1 when the
 * client is gone or out of memory (nothing was queued). */
int hcsd_stream_pipe(hcsd_stream_t *st, int stream, int fd, size_t len,
                     as_session_t *s);
/* Pauses / resumes reading the client's input. */
void hcsd_stream_pause_input(hcsd_stream_t *st, bool paused);
/* Output is complete: flush, shut the write side, close once the client
 * closes (or after a grace period). Detaches ops. Idempotent. */
void hcsd_stream_finish(hcsd_stream_t *st);
int hcsd_stream_alive(const hcsd_stream_t *st);

/* ---- server.c: worker loops (hcsd --threads) ---- */
/* The worker loop the next moved request goes to, in turn; NULL with one
 * loop. */
hcsd_worker_t *hcsd_worker_next(hcsd_t *d);
/* Moves r's connection to worker w: fn(moved, data) runs on w's thread
 * with a request of r's method and URL whose connection is there (the
 * bytes the client sent after r come with it), to be answered there as
 * any request; the connection closes after that answer (or carries the
 * stream it hijacks for). moved is NULL when the worker could not take it
 * (it is closed; fn lets go of data). 0; -1 when r cannot move (replies
 * wait for the client, it is going, hcsd stops, out of memory): r is
 * untouched and still to be answered. Loop 0. */
int hcsd_req_move(hcsd_req_t *r, hcsd_worker_t *w,
                  void (*fn)(hcsd_req_t *moved, void *data), void *data);

/* ---- server.c: the daemon's calls ---- */
/* Listens on d->opt.socket_path; serve(d, r) gets each whole request,
 * which it answers now or later. 0 or -errno. */
int hcsd__http_listen(hcsd_t *d, void (*serve)(hcsd_t *d, hcsd_req_t *r));
/* Stops accepting. */
void hcsd__http_stop(hcsd_t *d);
/* Closes every connection, the workers' too (posted to their loops;
 * d->remote counts down as they go). */
void hcsd__http_close_all(hcsd_t *d);

/* ---- router.c and the handlers ---- */
/* Routes r to its handler: daemon.c gives it to hcsd__http_listen. */
void hcsd_dispatch(hcsd_t *d, hcsd_req_t *r);

/* unsupported.c: what a Docker endpoint hcsd does not serve is for, as
 * the command that calls it ("stats", "volume ls"), or NULL. path is
 * without the version prefix. */
const char *hcsd_unsupported(int method, const char *path);

/* h_ctr.c (attach and logs too) */
void hcsd_h_ctr_create(hcsd_t *d, hcsd_req_t *r);
void hcsd_h_ctr_list(hcsd_t *d, hcsd_req_t *r);
void hcsd_h_ctr_prune(hcsd_t *d, hcsd_req_t *r);
void hcsd_h_ctr_inspect(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_start(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_wait(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_kill(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_stop(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_restart(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_delete(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_resize(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_attach(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_logs(hcsd_t *d, hcsd_req_t *r, const char *ref);
/* h_archive.c: GET, HEAD and PUT /containers/{id}/archive */
void hcsd_h_ctr_archive(hcsd_t *d, hcsd_req_t *r, const char *ref);
/* h_top.c: GET top, POST pause, unpause, rename and update */
void hcsd_h_ctr_top(hcsd_t *d, hcsd_req_t *r, const char *ref);
/* h_events.c: GET /events */
void hcsd_h_events(hcsd_t *d, hcsd_req_t *r);
/* h_stats.c: GET /containers/{id}/stats */
void hcsd_h_ctr_stats(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_pause(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_unpause(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_rename(hcsd_t *d, hcsd_req_t *r, const char *ref);
/* POST update (docker update): {"Warnings"} */
void hcsd_h_ctr_update(hcsd_t *d, hcsd_req_t *r, const char *ref);
/* h_exec.c */
void hcsd_h_exec_create(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_exec_start(hcsd_t *d, hcsd_req_t *r, const char *id);
void hcsd_h_exec_resize(hcsd_t *d, hcsd_req_t *r, const char *id);
void hcsd_h_exec_inspect(hcsd_t *d, hcsd_req_t *r, const char *id);
/* h_image.c: rest is the path after /images/ */
void hcsd_h_images(hcsd_t *d, hcsd_req_t *r, const char *rest);
/* h_volume.c: rest is the path after /volumes/, NULL for /volumes */
void hcsd_h_volumes(hcsd_t *d, hcsd_req_t *r, const char *rest);
/* h_net.c: rest is the path after /networks/, NULL for /networks */
void hcsd_h_networks(hcsd_t *d, hcsd_req_t *r, const char *rest);

#endif
