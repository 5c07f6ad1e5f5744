/* SPDX-License-Identifier: MIT */
/* Containers and execs: the records shared by ctr.c, ctrrun.c, exec.c and
 * store.c. Engine thread. */
#ifndef HCSD_CTR_INT_H
#define HCSD_CTR_INT_H

#include "hcsd/model/images.h"
#include "hcsd/model/model.h"
#include "hcsd/model/nets.h"
#include "hcsd/util.h"

enum {
  CS_CREATED,
  CS_RUNNING,
  CS_EXITED,
  CS_REMOVING,
};

enum { W_NOT_RUNNING, W_NEXT_EXIT, W_REMOVED };

/* What runs when the container is no longer busy (ctr.c). */
typedef struct settle_s {
  struct settle_s *next;
  int (*fn)(hcsd_ctr_t *c, void *data);
  void *data;
} settle_t;

struct hcsd_wait_s {
  hcsd_wait_t *next;
  hcsd_ctr_t *c;
  int cond;
  int gen; /* the container's exits when the waiter came */
  hcsd_wait_cb done;
  void *data;
};

/* A listener of the container's output: an attached client or a log
 * follower (ctr_io.c). */
struct hcsd_attach_s {
  hcsd_attach_t *next;
  hcsd_ctr_t *c;
  hcsd_out_ops_t ops;
  void *data;
  hcsd_attach_opts_t o;
};

struct hcsd_follow_s {
  hcsd_follow_t *next;
  hcsd_ctr_t *c;
  int streams;
  bool timestamps; /* each line led by the time it was read */
  bool mid[3];     /* per stream: the last byte sent was not a newline */
  hcsd_out_ops_t ops;
  void *data;
};

typedef struct pend_s {
  struct pend_s *next;
  size_t len;
  char data[];
} pend_t;

struct hcsd_exec_s {
  hcsd_exec_t *next;  /* the container's, newest first */
  hcsd_exec_t *hnext; /* the daemon's index by id */
  hcsd_t *d;
  char id[65];
  hcsd_ctr_t *c; /* its container; NULL once the container was removed */
  char **argv;
  char **env; /* extra "K=V" of the exec */
  char *user;
  char *cwd;
  bool tty, in, out, err, detach;
  uint16_t rows, cols;
  bool started, running, ended;
  int64_t created_ns;
  int exit_code;
  int pid;
  hcs_session_t *s;
  bool listened; /* ops set: a listener takes the output */
  hcsd_out_ops_t ops;
  void *ops_data;
  hcsd_pipe_fn on_pipe; /* hcsd_exec_splice */
  int exec_errno;       /* the program could not be run */
  int exec_stage;       /* with it: HCS_EXEC_STAGE_* */
  char *fail;           /* why it could not start (its User), told as
                           output; NULL when it started */
  size_t stdin_queued;
  bool stdin_eof;
  /* hcsd --threads: an attached exec run on a worker loop (exec.c). The
   * record (loop 0's) points to its copy while the worker has it; the
   * copy, to its record, with what it needs of the container. */
  hcsd_exec_t *remote; /* record: its copy */
  hcsd_exec_t *home;   /* copy: its record */
  as_loop_t *rloop;    /* both: the worker's loop */
  char *ctr_id;        /* copy: the container's id and main pid */
  int ctr_pid;
};

struct hcsd_ctr_s {
  hcsd_ctr_t *next;
  hcsd_t *d;
  int refs;
  char id[65];
  char *name;
  char *image;    /* as given at create */
  char *image_id; /* sha256:... */
  json_t *config; /* the create body's Config part */
  json_t *host_config;
  char **layers; /* the image's layer folders, nearest first */
  char **argv;   /* Entrypoint + Cmd, resolved */
  char **env;    /* image env + create env */
  char *cwd;
  char *user;
  char *stop_signal;
  char *hostname;
  char *net_mode;
  char *sandbox; /* the sandbox layer's folder */
  bool tty, open_stdin, stdin_once, auto_remove;
  bool rm_volumes; /* docker rm -v: its anonymous volumes go with it */
  uint16_t rows, cols;
  int state;
  int busy; /* starting or cleaning up: other changes wait */
  int exit_code;
  char *error;
  bool oom;
  int64_t created_ns, started_ns, finished_ns;
  int pid;
  hcs_session_t *main;
  int out_eofs;
  bool system_up;
  char *endpoint_id, *net_name, *net_settings;
  hcsd_attach_t *attached;
  pend_t *stdin_head, *stdin_tail;
  bool stdin_close_pending;
  size_t stdin_queued;
  size_t stdin_pending; /* bytes waiting for the process to exist */
  hcsd_wait_t *waiters;
  settle_t *settle; /* run when busy ends */
  hcsd_follow_t *followers;
  int log_fd;
  int exec_fd; /* the execs log, open for appending, or -1 */
  size_t log_bytes;
  as_timer_t *stop_timer;
  int stop_kill_sent;
  hcsd_exec_t *execs;
  size_t nexecs;     /* records in execs */
  size_t prune_at;   /* nexecs at which exec.c prunes next */
  size_t exec_lines; /* lines in the execs log on disk */
  int restart_count;
  int exits;      /* exits seen since create */
  bool paused;    /* its system frozen (ctr_pause.c) ... */
  int paused_run; /* ... in the run after this many exits */

  bool restarting;     /* a restart by its policy is due (restart.c) */
  bool manual_stop;    /* the user stopped it: its policy waits */
  uint32_t restart_ms; /* the policy's last backoff */
};

/* ctr.c */
/* A bare record of d (one reference, no id, nothing open but its stop
 * timer), not linked; NULL when out of memory. */
hcsd_ctr_t *hcsd__ctr_alloc(hcsd_t *d);
void hcsd__ctr_ref(hcsd_ctr_t *c);
void hcsd__ctr_unref(hcsd_ctr_t *c);
const char *hcsd__state_name(const hcsd_ctr_t *c);
/* By hcsd_ctr_find's rules, not one being removed; NULL with e 404. */
hcsd_ctr_t *hcsd__ctr_get(hcsd_t *d, const char *ref, hcsd_err_t *e);
hcsd_ctr_t *hcsd_ctr_find(hcsd_t *d, const char *ref);
/* Completes waiters whose condition holds now. */
void hcsd__ctr_wake(hcsd_ctr_t *c);
/* busy ended: runs the settle callbacks. */ /* busy ended: runs the settle
                                              * callbacks (all of them, busy or
                                              * not, when the container is being
                                              * removed). */
void hcsd__ctr_settled(hcsd_ctr_t *c);
void hcsd__ctr_add_settle(hcsd_ctr_t *c, int (*fn)(hcsd_ctr_t *, void *),
                          void *data);
void hcsd__ctr_unlink(hcsd_ctr_t *c);

/* The name is well formed and free: 0, or -1 with e (400, 409). */
int hcsd__ctr_name_check(hcsd_t *d, const char *name, hcsd_err_t *e);

/* ctr_pause.c: c runs with its system frozen. */
bool hcsd__ctr_paused(const hcsd_ctr_t *c);
/* After a signal to a paused c: thawed, so that the signal acts (as
 * dockerd unpauses after it signals). Nothing when not paused. */
void hcsd__ctr_thaw(hcsd_ctr_t *c);

/* ctr_filter.c: GET /containers/json's filters (the query's JSON text;
 * NULL or "": none). 0 with *f, or -1 with e: 400 an unknown key or a
 * value it cannot take, 404 before/since naming no container. */
typedef struct hcsd_ctr_filter_s hcsd_ctr_filter_t;
int hcsd__ctr_filter_new(hcsd_t *d, const char *filters, hcsd_ctr_filter_t **f,
                         hcsd_err_t *e);
bool hcsd__ctr_filter_match(const hcsd_ctr_filter_t *f, const hcsd_ctr_t *c);
/* A status filter lists the containers not running without all=1. */
bool hcsd__ctr_filter_all(const hcsd_ctr_filter_t *f);
void hcsd__ctr_filter_free(hcsd_ctr_filter_t *f);

/* ctr_run.c */
/* Starts c (not busy, not running): 0, then done(e) once it runs or
 * failed to; or -1 (out of memory) and done never runs. */
int hcsd__ctr_start(hcsd_ctr_t *c, hcsd_done_cb done, void *data);
/* Removes c (stopped) from disk and memory: 0, then done (may be NULL)
 * once it is gone; or -1 (out of memory), nothing changed. */
int hcsd__ctr_remove(hcsd_ctr_t *c, hcsd_done_cb done, void *data);
/* Stop: sig (a paused c thawed after it), then SIGKILL after t seconds
 * (t < 0: never). */
void hcsd__ctr_stop(hcsd_ctr_t *c, int sig, int t);

/* ctr_io.c */
/* The main process's output to the log, the attached and the followers. */
void hcsd__ctr_output(hcsd_ctr_t *c, hcs_session_t *s, int stream, char *buf,
                      size_t len);
/* Ends every attached client and follower (exit, removal). */
void hcsd__ctr_output_end(hcsd_ctr_t *c);
/* Stdin kept from before the process existed goes to it now. */
void hcsd__ctr_flush_stdin(hcsd_ctr_t *c);
/* A hold over the session's buffer for listeners (NULL: out of memory,
 * listeners copy); hcsd__hold_end once every listener had it. */
hcsd_hold_t *hcsd__hold_begin(hcs_session_t *s, int stream, char *buf);
void hcsd__hold_end(hcsd_hold_t *h);

/* ctr_size.c: the bytes of the files under the directory fd (taken and
 * closed), as moby's du counts them: sizes, each inode once, no symlink
 * followed, 128 levels at most. */
int64_t hcsd__dir_bytes(int fd);

/* store.c */
void hcsd__store_save(hcsd_ctr_t *c);
void hcsd__store_remove_dir(hcsd_t *d, const char *id);
char *hcsd__ctr_dir(hcsd_t *d, const char *id);
char *hcsd__sandbox_home(hcsd_t *d);
/* A record of the log: an 8-byte frame header (stream, 0, 0, 0, length),
 * or with byte 1 HCSD_LOG_TIMED a 16-byte one whose last 8 bytes are the
 * time the output was read (ns, big-endian); then the bytes. Logs written
 * before the times were kept have only untimed records. */
enum { HCSD_LOG_TIMED = 1 };
void hcsd__log_append(hcsd_ctr_t *c, int stream, const char *buf, size_t len);
/* The stored log (framed records), malloc'ed, *len its size. */
char *hcsd__log_read(hcsd_ctr_t *c, size_t *len);
/* Appends e's result to the container's execs log (rewritten from the
 * records kept when it has grown to twice their number). */
void hcsd__exec_save(hcsd_exec_t *e, hcsd_ctr_t *c);
/* <the container's dir>/execs<sfx> into out. */
void hcsd__execs_path(hcsd_ctr_t *c, char *out, size_t n, const char *sfx);
json_t *hcsd__exec_json(const hcsd_exec_t *e);
void hcsd__log_close(hcsd_ctr_t *c);

/* load.c: every container record found again, newest first in d->ctrs.
 * 0, or -1 when the state dir's path cannot be made. */
int hcsd__ctrs_load(hcsd_t *d);

/* exec.c */
hcsd_exec_t *hcsd__exec_from_json(hcsd_t *d, hcsd_ctr_t *c, json_t *o);
void hcsd__execs_free(hcsd_ctr_t *c);
void hcsd__execs_index_free(hcsd_t *d);
hcsd_exec_t *hcsd__exec_find(hcsd_t *d, const char *id, hcsd_ctr_t **ctr);

#endif
