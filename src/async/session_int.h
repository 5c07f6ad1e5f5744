/* SPDX-License-Identifier: MIT */
/* The session object, shared by session.c (spawn, exit, completion) and
 * pump.c (output readers and the stdin writer). */
#ifndef HCS_ASYNC_SESSION_INT_H
#define HCS_ASYNC_SESSION_INT_H

#include "async/internal.h"

#include <stddef.h>
#include <uv.h>

typedef struct as_session_s as_session_t;

typedef struct as__wreq_s {
  as__defer_t defer; /* completion of a write that went through at once */
  as_session_t *s;
  struct as__wreq_s *next;
  const char *buf;
  size_t len, off;
  as_write_cb cb;
  void *data;
} as__wreq_t;

typedef struct as__out_s {
  as__watch_t w; /* w.fd is -1 once at EOF and closed */
  as_session_t *s;
  int stream;     /* AS_STDOUT or AS_STDERR */
  int paused;     /* at the cap: not reading */
  int grown;      /* its pipe was enlarged once it proved bulky */
  int sock;       /* a socket (AS_STDIO_SOCKET): no pipe to grow or splice */
  size_t held;    /* bytes of buffers the consumer holds */
  size_t rd_size; /* the next read's size: AS_BUF_READ, more when bulky */
  size_t rd_max;  /* what rd_size may grow to (session.c, stream_read_max) */
  /* Raw mode (raw.c): the consumer takes the bytes from the pipe. */
  as_raw_cb raw_cb;
  void *raw_data;
  int raw_busy;  /* a raw_cb not answered yet (holds a session ref) */
  int muted;     /* off the epoll set: busy, or its answer being checked */
  int close_due; /* the session closed it while busy: closed at the answer */
  as__defer_t raw_defer;
} as__out_t;

typedef struct as__in_s {
  as__watch_t w; /* w.fd is -1 once closed */
  as_session_t *s;
  int close_asked;
  as__wreq_t *head, *tail;
} as__in_t;

struct as_session_s {
  as__list_t node;
  as_loop_t *loop;
  unsigned refs;      /* all: the caller's, held buffers', the engine's */
  unsigned user_refs; /* the caller's */
  unsigned flags;
  int exited, done, freeing;
  int adopted;     /* as_session_adopt: maybe not our child */
  int lost_checks; /* reaped elsewhere: status checks made so far */
  int group;       /* the child leads its own process group (or session) */
  char *setup_why; /* a failed child_fn setup's sentence, or NULL */
  pid_t pid;
  pid_t ns_pid;
  as__watch_t exit_w; /* the pidfd, closed once reaped */
  as__pidw_t pidw;    /* without pidfds: the pid, watched on SIGCHLD */
  as__defer_t pid_check;
  int pty_master;   /* kept for resize; -1 without a console */
  int fds[3];       /* AS_FDS: the caller's ends not yet taken */
  uv_timer_t timer; /* drain timer; its close callback frees */
  as__out_t out[2]; /* stdout, stderr */
  as__in_t in;
  char *cb_buf; /* the buffer lent to the data_cb under way */
  int cb_held;  /* the consumer took it */
  size_t cap;
  uint32_t drain_ms;
  as_result_t result;
  as_session_cbs_t cbs;
  void *data;
  max_align_t extra[]; /* the owner's extra_size bytes */
};

/* session.c */
void as__sref(as_session_t *s);
void as__sunref(as_session_t *s);
void as__session_maybe_done(as_session_t *s);
/* pump.c */
int as__pump_start(as_session_t *s);
/* Closes every stream; queued stdin writes complete with -ECANCELED. */
void as__pump_close(as_session_t *s);
int as__out_open(const as_session_t *s);
/* The stream is at EOF: closes it and tells the data_cb. */
void as__out_eof(as_session_t *s, as__out_t *o);
/* The drain's end: one more read pass over each output stream still open
 * (not paused, not raw), so that an EOF or bytes already waiting are
 * taken before the session is cut. */
void as__out_drain_last(as_session_t *s);
/* raw.c: a raw stream's pipe is ready (events from epoll). */
void as__raw_ready(as_session_t *s, as__out_t *o, uint32_t events);
/* Closes the stream's fd now, or at the answer of a raw_cb under way. */
void as__out_close(as_session_t *s, as__out_t *o);

#endif
