/* Containers and execs: the records shared by ctr.c, ctrrun.c, exec.c and
 * store.c. Engine thread. */
#ifndef HCSD_CTR_INT_H
#define HCSD_CTR_INT_H

#include "hcsd/hcsd.h"
#include "hcsd/model/spec.h"

enum {
  CS_CREATED,
  CS_RUNNING,
  CS_EXITED,
  CS_REMOVING,
};

enum { W_NOT_RUNNING, W_NEXT_EXIT, W_REMOVED };

typedef struct waiter_s {
  struct waiter_s *next;
  hcsd_req_t *r;
  struct waiter_s **list; /* a wait's or a follower's: where it is linked */
  int cond;
  int gen; /* the container's exits when the waiter came */
  int (*fn)(hcsd_ctr_t *c, void *data); /* settle callbacks instead of r */
  void *data;
} waiter_t;

typedef struct attach_s {
  struct attach_s *next;
  hcsd_ctr_t *c;
  hcsd_stream_t *st;
  bool in, out, err;
  bool eof_sent;
} attach_t;

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
  hcsd_stream_t *st;
  size_t stdin_queued;
  bool stdin_eof;
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
  attach_t *attached;
  pend_t *stdin_head, *stdin_tail;
  bool stdin_close_pending;
  size_t stdin_queued;
  size_t stdin_pending; /* bytes waiting for the process to exist */
  waiter_t *waiters;
  waiter_t *settle;    /* run when busy ends */
  waiter_t *followers; /* logs -f: cond is 1 stdout | 2 stderr */
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
  int exits; /* exits seen since create */
};

/* ctr.c */
/* A model call's end: e NULL on success. */
typedef void (*hcsd_ctr_done_cb)(hcsd_ctr_t *c, const hcsd_err_t *e,
                                 void *data);
/* Creates a container from spec (its JSON taken on success) named name
 * (NULL or "": one is made up): 0, and done runs once it is made or
 * failed (inside this call only when the work cannot be queued); or -1 with e
 * set (400 bad name, 409 name in use, 500), and done never runs. */
int hcsd_ctr_create(hcsd_t *d, hcsd_ctr_spec_t *spec, const char *name,
                    hcsd_ctr_done_cb done, void *data, hcsd_err_t *e);
void hcsd__ctr_ref(hcsd_ctr_t *c);
void hcsd__ctr_unref(hcsd_ctr_t *c);
const char *hcsd__state_name(const hcsd_ctr_t *c);
/* hcsd_req_on_gone's callback of a wait or a follower (data): it leaves
 * its list, and its request is let go. */
void hcsd__waiter_gone(hcsd_req_t *r, void *data);
/* Completes waiters whose condition holds now. */
void hcsd__ctr_wake(hcsd_ctr_t *c);
/* busy ended: runs the settle callbacks. */
void hcsd__ctr_settled(hcsd_ctr_t *c);
void hcsd__ctr_add_settle(hcsd_ctr_t *c, int (*fn)(hcsd_ctr_t *, void *),
                          void *data);
void hcsd__ctr_unlink(hcsd_ctr_t *c);

/* ctrrun.c */
/* Starts c; reply(r) when started or failed. r may be NULL. */
void hcsd__ctr_start(hcsd_ctr_t *c, hcsd_req_t *r);
/* Removes c (stopped) from disk and memory; r gets 204 when done. */
void hcsd__ctr_remove(hcsd_ctr_t *c, hcsd_req_t *r);
/* Stop: sig, then SIGKILL after t seconds (t < 0: never). */
void hcsd__ctr_stop(hcsd_ctr_t *c, int sig, int t);
void hcsd__ctr_attach_input(hcsd_ctr_t *c, const char *buf, size_t len);
void hcsd__ctr_attach_eof(hcsd_ctr_t *c);

/* store.c */
void hcsd__store_save(hcsd_ctr_t *c);
void hcsd__store_remove_dir(hcsd_t *d, const char *id);
int hcsd__store_load_all(hcsd_t *d);
char *hcsd__ctr_dir(hcsd_t *d, const char *id);
char *hcsd__sandbox_home(hcsd_t *d);
void hcsd__log_append(hcsd_ctr_t *c, int stream, const char *buf, size_t len);
/* The stored log (framed records), malloc'ed, *len its size. */
char *hcsd__log_read(hcsd_ctr_t *c, size_t *len);
/* Appends e's result to the container's execs log (rewritten from the
 * records kept when it has grown to twice their number). */
void hcsd__exec_save(hcsd_exec_t *e, hcsd_ctr_t *c);
/* Reads the execs log back (at load). */
void hcsd__execs_load(hcsd_ctr_t *c);
json_t *hcsd__exec_json(const hcsd_exec_t *e);
void hcsd__log_close(hcsd_ctr_t *c);
hcsd_exec_t *hcsd__exec_from_json(hcsd_t *d, hcsd_ctr_t *c, json_t *o);

/* exec.c */
void hcsd__execs_free(hcsd_ctr_t *c);
void hcsd__execs_index_free(hcsd_t *d);
hcsd_exec_t *hcsd__exec_find(hcsd_t *d, const char *id, hcsd_ctr_t **ctr);
void hcsd__exec_kill_all(hcsd_ctr_t *c);

/* strv helpers (util) */
char **hcsd__strv_from_json(json_t *a);
json_t *hcsd__strv_to_json(char *const *v);
char **hcsd__strv_dup(char *const *v);
void hcsd__strv_free(char **v);
size_t hcsd__strv_len(char *const *v);

#endif
