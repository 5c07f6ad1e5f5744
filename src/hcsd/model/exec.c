/* SPDX-License-Identifier: MIT */
/* hcsd's execs: create records what to run; start runs it at once on
 * the engine thread as a pumped process of the container's compute system
 * (no thread hop, no runtime binary), hands its output to its listener
 * and records the exit code before the output ends, so that a client's
 * inspect right after EOF finds it.
 *
 * A non-tty exec's output is raw (as_session_raw) while a listener that
 * can splice takes it: the engine never reads the pipes, the listener
 * moves their pages into its socket, and nothing copies the bytes (docker
 * keeps no log of an exec, so neither does hcsd). A console, or a
 * listener that cannot, keeps the copying path. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"
#include "hcsd/util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STDIN_CAP (1u << 20)

/* Finished execs kept per container (as moby forgets them too): beyond
 * EXEC_KEEP the oldest finished ones go, and those created but never
 * started for EXEC_UNSTARTED_NS. */
#define EXEC_KEEP 1024
#define EXEC_UNSTARTED_NS (300 * INT64_C(1000000000))

/* ---- the daemon's index of execs by id ---- */

static size_t ehash(const char *id) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < 16 && id[i] != '\0'; i++) {
    h = (h ^ (uint8_t)id[i]) * 1099511628211ull;
  }
  return (size_t)h;
}

static void index_add(hcsd_t *d, hcsd_exec_t *e) {
  if (d->nexecs + 1 > d->nebuckets * 2) {
    size_t n = d->nebuckets != 0 ? d->nebuckets * 2 : 1024;
    hcsd_exec_t **nb = calloc(n, sizeof(*nb));
    if (nb != NULL) {
      for (size_t i = 0; i < d->nebuckets; i++) {
        while (d->ebuckets[i] != NULL) {
          hcsd_exec_t *x = d->ebuckets[i];
          d->ebuckets[i] = x->hnext;
          x->hnext = nb[ehash(x->id) & (n - 1)];
          nb[ehash(x->id) & (n - 1)] = x;
        }
      }
      free(d->ebuckets);
      d->ebuckets = nb;
      d->nebuckets = n;
    }
  }
  if (d->nebuckets == 0) {
    return;
  }
  hcsd_exec_t **b = &d->ebuckets[ehash(e->id) & (d->nebuckets - 1)];
  e->hnext = *b;
  *b = e;
  d->nexecs++;
}

static void index_del(hcsd_t *d, hcsd_exec_t *e) {
  if (d->nebuckets == 0) {
    return;
  }
  for (hcsd_exec_t **pp = &d->ebuckets[ehash(e->id) & (d->nebuckets - 1)];
       *pp != NULL; pp = &(*pp)->hnext) {
    if (*pp == e) {
      *pp = e->hnext;
      d->nexecs--;
      return;
    }
  }
}

void hcsd__execs_index_free(hcsd_t *d) {
  free(d->ebuckets);
  d->ebuckets = NULL;
  d->nebuckets = d->nexecs = 0;
}

static void exec_free(hcsd_exec_t *e) {
  if (e->home == NULL) {
    index_del(e->d, e); /* a copy is in no index */
  }
  free(e->ctr_id);
  hcsd__strv_free(e->argv);
  hcsd__strv_free(e->env);
  free(e->user);
  free(e->cwd);
  free(e->fail);
  free(e);
}

/* Adds e to c's records (newest first) and forgets the oldest finished
 * ones beyond EXEC_KEEP. */
static void exec_link(hcsd_ctr_t *c, hcsd_exec_t *e) {
  e->next = c->execs;
  c->execs = e;
  c->nexecs++;
  index_add(c->d, e);
  if (c->nexecs <= EXEC_KEEP || c->nexecs < c->prune_at) {
    return;
  }
  /* One pass down to 3/4 of the bound; when live execs keep the list
   * long, the next pass waits for a quarter of the bound more, so a
   * create costs O(1) amortised. */
  int64_t old = hcsd_now_ns() - EXEC_UNSTARTED_NS;
  size_t kept = 0;
  for (hcsd_exec_t **pp = &c->execs; *pp != NULL;) {
    hcsd_exec_t *x = *pp;
    int stale = x->ended || (!x->started && x->created_ns < old);
    if (kept < EXEC_KEEP * 3 / 4 || !stale || x->running || x->listened ||
        x->remote != NULL) {
      kept++;
      pp = &x->next;
      continue;
    }
    *pp = x->next;
    c->nexecs--;
    exec_free(x);
  }
  c->prune_at = c->nexecs + EXEC_KEEP / 4;
}

void hcsd__execs_free(hcsd_ctr_t *c) {
  while (c->execs != NULL) {
    hcsd_exec_t *e = c->execs;
    c->execs = e->next;
    if (e->running || e->listened || e->remote != NULL) {
      /* Still streaming: it frees itself at its end. */
      e->c = NULL; /* an orphan */
      continue;
    }
    exec_free(e);
  }
  c->nexecs = 0;
}

hcsd_exec_t *hcsd__exec_find(hcsd_t *d, const char *id, hcsd_ctr_t **ctr) {
  if (d->nebuckets == 0 || strlen(id) != 64) {
    return NULL;
  }
  for (hcsd_exec_t *e = d->ebuckets[ehash(id) & (d->nebuckets - 1)]; e != NULL;
       e = e->hnext) {
    if (strcmp(e->id, id) == 0 && e->c != NULL) {
      if (ctr != NULL) {
        *ctr = e->c;
      }
      return e;
    }
  }
  return NULL;
}

hcsd_exec_t *hcsd__exec_from_json(hcsd_t *d, hcsd_ctr_t *c, json_t *o) {
  const char *id = json_string_value(json_object_get(o, "Id"));
  if (id == NULL || strlen(id) != 64) {
    return NULL;
  }
  hcsd_exec_t *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    return NULL;
  }
  e->d = d;
  memcpy(e->id, id, 65);
  e->c = c;
  e->argv = hcsd__strv_from_json(json_object_get(o, "Argv"));
  e->env = hcsd__strv_from_json(json_object_get(o, "Env"));
  const char *u = json_string_value(json_object_get(o, "User"));
  const char *w = json_string_value(json_object_get(o, "Cwd"));
  e->user = strdup(u != NULL ? u : "");
  e->cwd = strdup(w != NULL ? w : "");
  e->tty = json_is_true(json_object_get(o, "Tty"));
  e->in = json_is_true(json_object_get(o, "In"));
  e->out = json_is_true(json_object_get(o, "Out"));
  e->err = json_is_true(json_object_get(o, "Err"));
  e->detach = json_is_true(json_object_get(o, "Detach"));
  e->exit_code = (int)json_integer_value(json_object_get(o, "ExitCode"));
  e->ended = json_is_true(json_object_get(o, "Ended"));
  e->started = true;
  /* An exec that was running when an earlier hcsd went away: its result
   * is unknown; it is over. */
  if (!e->ended) {
    e->ended = true;
    e->exit_code = 255;
  }
  exec_link(c, e);
  return e;
}

int hcsd_exec_create(hcsd_t *d, const char *ref, hcsd_exec_spec_t *spec,
                     char id[65], hcsd_err_t *err) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, err);
  if (c == NULL) {
    return -1;
  }
  if (c->state != CS_RUNNING || c->main == NULL) {
    hcsd_err_set(err, 409, "container %s is not running", c->id);
    return -1;
  }
  if (hcsd__ctr_paused(c)) {
    hcsd_err_set(err, 409,
                 "Container %s is paused, unpause the container before exec",
                 ref);
    return -1;
  }
  hcsd_exec_t *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    hcsd_err_set(err, 500, "out of memory");
    return -1;
  }
  e->d = d;
  e->created_ns = hcsd_now_ns();
  hcsd_random_id(e->id);
  e->c = c;
  e->argv = spec->argv;
  e->env = spec->env;
  spec->argv = spec->env = NULL;
  e->user = strdup(spec->user != NULL && spec->user[0] != '\0' ? spec->user
                                                               : c->user);
  e->cwd =
      strdup(spec->cwd != NULL && spec->cwd[0] != '\0' ? spec->cwd : c->cwd);
  e->tty = spec->tty;
  e->in = spec->in;
  e->out = spec->out;
  e->err = spec->err;
  e->detach = spec->detach;
  e->rows = spec->rows;
  e->cols = spec->cols;
  exec_link(c, e);
  hcsd_event_exec(c, "exec_create", e->id, e->argv, 0);
  memcpy(id, e->id, 65);
  return 0;
}

/* ---- the running exec ---- */

static void exec_data(hcs_session_t *s, int stream, char *buf, size_t len,
                      void *data) {
  hcsd_exec_t *e = data;
  if (len > 0 && e->listened) {
    hcsd_hold_t *h = hcsd__hold_begin(s, stream, buf);
    e->ops.on_data(stream, buf, len, h, e->ops_data);
    hcsd__hold_end(h);
  }
}

static void copy_report(hcsd_exec_t *x, as_post_cb fn);
static void home_ended(as_loop_t *loop, void *data);

static void exec_done(hcs_session_t *s, const hcs_process_result_t *r,
                      void *data) {
  hcsd_exec_t *e = data;
  e->exit_code =
      r->exit_code == HCS_WAIT_ERR_EXEC_FAILED
          ? (r->exec_errno == ENOENT && r->exec_stage == HCS_EXEC_STAGE_PROGRAM
                 ? 127
                 : 126)
          : r->exit_code & 0xff;
  e->running = false;
  e->ended = true;
  e->s = NULL;
  hcs_session_unref(s);
  if (e->home != NULL) {
    copy_report(e, home_ended); /* on_end waits for the record */
    return;
  }
  hcsd_ctr_t *c = e->c;
  if (c != NULL) {
    hcsd__exec_save(e, c);
    hcsd_event_exec(c, "exec_die", e->id, NULL, e->exit_code);
  }
  if (e->listened) {
    e->listened = false;
    e->ops.on_end(e->ops_data);
  }
  if (c == NULL) {
    exec_free(e); /* its container went while it ran */
  }
}

typedef struct ewr_s {
  hcsd_exec_t *e;
  size_t len;
  char data[];
} ewr_t;

static void exec_pause(hcsd_exec_t *e, bool paused) {
  if (e->listened && e->ops.on_pause != NULL) {
    e->ops.on_pause(paused, e->ops_data);
  }
}

static void ewr_done(hcs_session_t *s, int status, void *data) {
  ewr_t *w = data;
  (void)s;
  (void)status;
  hcsd_exec_t *e = w->e;
  e->stdin_queued -= w->len;
  if (e->stdin_queued < STDIN_CAP / 2) {
    exec_pause(e, false);
  }
  free(w);
}

void hcsd_exec_input(hcsd_exec_t *e, const char *buf, size_t len) {
  if (e->s == NULL || !e->in) {
    return;
  }
  if (len == 0) {
    e->stdin_eof = true;
    (void)hcs_session_close_stdin(e->s);
    return;
  }
  ewr_t *w = malloc(sizeof(*w) + len);
  if (w == NULL) {
    return;
  }
  w->e = e;
  w->len = len;
  memcpy(w->data, buf, len);
  e->stdin_queued += len;
  if (hcs_session_write(e->s, w->data, len, ewr_done, w) != 0) {
    e->stdin_queued -= len;
    free(w);
    return;
  }
  if (e->stdin_queued >= STDIN_CAP) {
    exec_pause(e, true);
  }
}

/* Raw output goes back to the copying reader, which drops it when no
 * listener is left. */
static void exec_unraw(hcsd_exec_t *e) {
  if (e->s != NULL && !e->tty) {
    as_session_t *as = hcs_session_engine(e->s);
    (void)as_session_raw(as, HCS_STDOUT, NULL, NULL);
    (void)as_session_raw(as, HCS_STDERR, NULL, NULL);
  }
}

static void exec_raw(as_session_t *as, int stream, int fd, size_t n,
                     void *data) {
  hcsd_exec_t *e = data;
  if (e->listened && e->on_pipe(stream, fd, n, as, e->ops_data) == 0) {
    return;
  }
  (void)as_session_raw(as, stream, NULL, NULL);
  as_session_raw_next(as, stream);
}

/* The client left (or detached): the process keeps running, its output
 * is dropped from now on. */
void hcsd_exec_close(hcsd_exec_t *e) {
  e->listened = false;
  exec_unraw(e);
}

/* The environment: the container's, then the exec's, HOSTNAME and (with
 * a tty) TERM; the strings are borrowed (free only the vector). */
static char **exec_env(const hcsd_exec_t *e, const hcsd_ctr_t *c,
                       const char *hn) {
  size_t nc = hcsd__strv_len(c->env), ne = hcsd__strv_len(e->env);
  char **env = calloc(nc + ne + 3, sizeof(char *));
  size_t n = 0;
  for (size_t i = 0; env != NULL && i < nc; i++) {
    env[n++] = c->env[i];
  }
  for (size_t i = 0; env != NULL && i < ne; i++) {
    env[n++] = e->env[i];
  }
  if (env != NULL) {
    env[n++] = (char *)hn;
    if (e->tty) {
      env[n++] = "TERM=xterm";
    }
  }
  return env;
}

/* Runs e in container ctr_id with env (exec_env's). */
static hcs_result_t exec_spawn(hcsd_exec_t *e, const char *ctr_id, char **env,
                               bool attach, hcs_session_t **s,
                               hcs_error_t **err) {
  hcs_process_params_t pp = {
      .args = (const char *const *)e->argv,
      .environment = (const char *const *)env,
      .working_directory = e->cwd,
      .user = e->user != NULL && e->user[0] != '\0' ? e->user : NULL,
      .emulate_console = e->tty,
      .console_size = {e->rows, e->cols},
  };
  hcs_session_in_t o = {.use_stdin = attach && e->in,
                        .use_stdout = attach && (e->out || e->tty),
                        .use_stderr = attach && e->err && !e->tty,
                        .cb = {.data = exec_data, .done = exec_done},
                        .data = e};
  return hcs_session_start_in(e->d->hcs, ctr_id, &pp, &o, s, err);
}

/* The container's passwd (through the root of its main process, pid)
 * has an entry for the user name of n bytes. */
static bool passwd_has(int pid, const char *name, size_t n) {
  char path[64], line[512];
  snprintf(path, sizeof(path), "/proc/%d/root/etc/passwd", pid);
  FILE *f = pid > 0 ? fopen(path, "re") : NULL;
  bool found = false;
  while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
    found = strncmp(line, name, n) == 0 && line[n] == ':';
  }
  if (f != NULL) {
    fclose(f);
  }
  return found;
}

/* The exec's User names no user or group of the container: runc's
 * words for it in e->fail. */
static bool user_unknown(hcsd_exec_t *e, int ctr_pid, hcs_result_t hr,
                         const hcs_error_t *he) {
  const char *m = hcs_error_message(he);
  if (hr != HCS_WSAEINVAL || hcs_error_errno(he) != ENOENT || m == NULL ||
      strstr(m, "User:") == NULL || e->user == NULL) {
    return false;
  }
  /* "user[:group]": the user is looked up first (a numeric one needs no
   * entry); when it is there, the group is at fault. */
  const char *colon = strchr(e->user, ':');
  size_t un = colon != NULL ? (size_t)(colon - e->user) : strlen(e->user);
  bool numeric = un > 0 && strspn(e->user, "0123456789") == un;
  char msg[512];
  if (colon != NULL && (numeric || passwd_has(ctr_pid, e->user, un))) {
    snprintf(msg, sizeof(msg),
             "unable to find group %s: no matching entries in group file",
             colon + 1);
  } else {
    snprintf(msg, sizeof(msg),
             "unable to find user %.*s: no matching entries in passwd file",
             (int)un, e->user);
  }
  free(e->fail);
  e->fail = strdup(msg);
  return e->fail != NULL;
}

/* As dockerd: the exec ended with 126 before it ran; detached, the start
 * fails (500) with why; attached, the start succeeds and the stream tells
 * why (hcsd_exec_listen). */
static int user_failed(hcsd_exec_t *e, hcsd_ctr_t *c, hcsd_exec_t **x,
                       bool *attached, bool *tty, hcsd_err_t *err) {
  e->started = true;
  e->ended = true;
  e->exit_code = 126;
  hcsd__exec_save(e, c);
  if (e->detach) {
    hcsd_err_set(err, 500, "%s", e->fail);
    return -1;
  }
  *x = e;
  *attached = true;
  *tty = e->tty;
  return 0;
}

/* The exec id names, if it may start now (its options applied). */
static hcsd_exec_t *start_check(hcsd_t *d, const char *id,
                                const hcsd_exec_start_opts_t *o,
                                hcsd_ctr_t **cp, hcsd_err_t *err) {
  hcsd_ctr_t *c = NULL;
  hcsd_exec_t *e = hcsd__exec_find(d, id, &c);
  if (e == NULL) {
    hcsd_err_set(err, 404, "No such exec instance: %s", id);
    return NULL;
  }
  if (e->started) {
    hcsd_err_set(err, 409, "Error: Exec command %s is already running", e->id);
    return NULL;
  }
  if (c->state != CS_RUNNING || c->main == NULL) {
    hcsd_err_set(err, 409, "container %s is not running", c->id);
    return NULL;
  }
  if (hcsd__ctr_paused(c)) {
    hcsd_err_set(err, 409,
                 "Container %s is paused, unpause the container before exec",
                 c->id);
    return NULL;
  }
  e->detach = e->detach || o->detach;
  if (o->rows > 0) {
    e->rows = o->rows;
    e->cols = o->cols;
  }
  *cp = c;
  return e;
}

/* A spawn's failure as the start's answer. */
static void spawn_err(hcs_result_t hr, const hcs_error_t *he, hcsd_err_t *err) {
  hcsd_err_set(err,
               hcs_is_not_exist(hr)        ? 404
               : hr == HCS_E_INVALID_STATE ? 409
                                           : 500,
               "OCI runtime exec failed: %s", hcs_error_message(he));
}

int hcsd_exec_start(hcsd_t *d, const char *id, const hcsd_exec_start_opts_t *o,
                    hcsd_exec_t **x, bool *attached, bool *tty,
                    hcsd_err_t *err) {
  hcsd_ctr_t *c = NULL;
  hcsd_exec_t *e = start_check(d, id, o, &c, err);
  if (e == NULL) {
    return -1;
  }
  hcs_error_t *he = NULL;
  hcs_session_t *s = NULL;
  char hn[128];
  snprintf(hn, sizeof(hn), "HOSTNAME=%s", c->hostname);
  char **env = exec_env(e, c, hn);
  hcs_result_t hr = exec_spawn(e, c->id, env, !e->detach, &s, &he);
  free(env);
  if (hr != HCS_OK && user_unknown(e, c->pid, hr, he)) {
    hcs_error_free(he);
    return user_failed(e, c, x, attached, tty, err);
  }
  if (hr != HCS_OK) {
    spawn_err(hr, he, err);
    hcs_error_free(he);
    return -1;
  }
  e->started = true;
  e->running = true;
  e->s = s;
  hcsd_event_exec(c, "exec_start", e->id, e->argv, 0);
  e->pid = hcs_session_pid(s);
  e->exec_errno = hcs_session_exec_errno(s);
  e->exec_stage = hcs_session_exec_stage(s);
  *x = e;
  *attached = !e->detach;
  *tty = e->tty;
  return 0;
}

void hcsd_exec_listen(hcsd_exec_t *e, const hcsd_out_ops_t *ops, void *data) {
  e->ops = *ops;
  e->ops_data = data;
  if (e->fail != NULL) {
    char msg[600];
    snprintf(msg, sizeof(msg), "%s\r\n", e->fail);
    ops->on_data(1, msg, strlen(msg), NULL, data);
    if (e->home != NULL) {
      e->listened = true; /* on_end once the record has its code */
      return;
    }
    ops->on_end(data);
    return;
  }
  e->listened = true;
  int ee = e->exec_errno;
  if (ee == 0) {
    return;
  }
  char msg[600], why[128];
  snprintf(why, sizeof(why), "%s", strerror(ee));
  why[0] = (char)tolower((unsigned char)why[0]);
  if (e->exec_stage == HCS_EXEC_STAGE_CWD) {
    snprintf(msg, sizeof(msg),
             "OCI runtime exec failed: exec failed: unable to start container "
             "process: chdir to cwd (\"%s\") set in config.json failed: %s: "
             "unknown\r\n",
             e->cwd, why);
  } else {
    snprintf(msg, sizeof(msg),
             "OCI runtime exec failed: exec failed: unable to start container "
             "process: exec: \"%s\": %s: unknown\r\n",
             e->argv[0],
             ee == ENOENT ? "executable file not found in $PATH" : why);
  }
  ops->on_data(1, msg, strlen(msg), NULL, data);
}

void hcsd_exec_splice(hcsd_exec_t *e, hcsd_pipe_fn on_pipe) {
  if (e->tty || !e->listened || e->exec_errno != 0 || e->s == NULL) {
    return;
  }
  e->on_pipe = on_pipe;
  /* -EBADF for a stream not asked for: nothing to forward. */
  as_session_t *as = hcs_session_engine(e->s);
  (void)as_session_raw(as, HCS_STDOUT, exec_raw, e);
  (void)as_session_raw(as, HCS_STDERR, exec_raw, e);
}

/* ---- hcsd --threads: an attached exec on a worker loop ----
 *
 * The record stays loop 0's (the index, its container, inspect, the
 * events); the worker runs a copy of it, made at start with what the
 * spawn needs, whose session and stream live on the worker. The two meet
 * by posts only: the copy reports its start and its end (or why it could
 * not start) to the record, and the record, once it has the exit code,
 * releases the copy, whose on_end then ends the stream, so that a client
 * that has seen EOF finds the code in inspect. A resize reaches the
 * copy as a job; the record posts none after it was told of the end, and
 * posts from one thread run in order, so no job finds the copy gone. */

/* An exec that keeps the exec's fields a spawn reads, for loop loop. */
static hcsd_exec_t *copy_new(hcsd_exec_t *e, hcsd_ctr_t *c, as_loop_t *loop) {
  hcsd_exec_t *x = calloc(1, sizeof(*x));
  if (x == NULL) {
    return NULL;
  }
  char hn[128];
  snprintf(hn, sizeof(hn), "HOSTNAME=%s", c->hostname);
  char **env = exec_env(e, c, hn);
  size_t n = hcsd__strv_len(env);
  x->env = env != NULL ? calloc(n + 1, sizeof(char *)) : NULL;
  for (size_t i = 0; x->env != NULL && i < n; i++) {
    x->env[i] = strdup(env[i]);
  }
  free(env);
  x->argv = calloc(hcsd__strv_len(e->argv) + 1, sizeof(char *));
  for (size_t i = 0; x->argv != NULL && e->argv != NULL && e->argv[i] != NULL;
       i++) {
    x->argv[i] = strdup(e->argv[i]);
  }
  x->d = e->d;
  memcpy(x->id, e->id, sizeof(x->id));
  x->user = e->user != NULL ? strdup(e->user) : NULL;
  x->cwd = e->cwd != NULL ? strdup(e->cwd) : NULL;
  x->tty = e->tty;
  x->in = e->in;
  x->out = e->out;
  x->err = e->err;
  x->rows = e->rows;
  x->cols = e->cols;
  x->home = e;
  x->rloop = loop;
  x->ctr_id = strdup(c->id);
  x->ctr_pid = c->pid;
  /* A string that could not be copied leaves a hole: nothing half-made
   * runs. */
  bool whole = x->env != NULL && x->argv != NULL && x->ctr_id != NULL &&
               (e->user == NULL || x->user != NULL) &&
               (e->cwd == NULL || x->cwd != NULL);
  for (size_t i = 0; whole && i < n; i++) {
    whole = x->env[i] != NULL;
  }
  for (size_t i = 0; whole && e->argv != NULL && e->argv[i] != NULL; i++) {
    whole = x->argv[i] != NULL;
  }
  if (!whole) {
    exec_free(x);
    return NULL;
  }
  atomic_fetch_add(&e->d->remote, 1);
  return x;
}

static void copy_free(hcsd_exec_t *x) {
  hcsd_t *d = x->d;
  exec_free(x);
  atomic_fetch_sub(&d->remote, 1);
}

/* The worker: the record has let go; the stream may end. */
static void copy_release(as_loop_t *loop, void *data) {
  hcsd_exec_t *x = data;
  (void)loop;
  if (x->listened) {
    x->listened = false;
    x->ops.on_end(x->ops_data);
  }
  copy_free(x);
}

/* The worker's report to the record (fn on loop 0). A post fails only
 * once loop 0 is being freed, which hcsd_stop's wait for d->remote rules
 * out. */
static void copy_report(hcsd_exec_t *x, as_post_cb fn) {
  (void)as_loop_post(x->d->loop, fn, x);
}

/* Loop 0, at the copy's last report: the record is no longer remote;
 * the copy goes. 1 when the record itself went (its container did). */
static int home_let_go(hcsd_exec_t *x) {
  hcsd_exec_t *e = x->home;
  e->remote = NULL;
  (void)as_loop_post(x->rloop, copy_release, x);
  if (e->c == NULL) {
    exec_free(e); /* its container went while it ran */
    return 1;
  }
  return 0;
}

static void home_started(as_loop_t *loop, void *data) {
  hcsd_exec_t *x = data, *e = x->home;
  (void)loop;
  e->running = true;
  e->pid = x->pid;
  e->exec_errno = x->exec_errno;
  e->exec_stage = x->exec_stage;
  if (e->c != NULL) {
    hcsd_event_exec(e->c, "exec_start", e->id, e->argv, 0);
  }
}

static void home_ended(as_loop_t *loop, void *data) {
  hcsd_exec_t *x = data, *e = x->home;
  (void)loop;
  e->exit_code = x->exit_code;
  e->running = false;
  e->ended = true;
  hcsd_ctr_t *c = e->c;
  if (c != NULL) {
    hcsd__exec_save(e, c);
    hcsd_event_exec(c, "exec_die", e->id, NULL, e->exit_code);
  }
  (void)home_let_go(x);
}

/* The spawn failed (or never ran): the exec may be started again. */
static void home_failed(as_loop_t *loop, void *data) {
  hcsd_exec_t *x = data;
  (void)loop;
  x->home->started = false;
  (void)home_let_go(x);
}

/* Its User is unknown: as user_failed, attached. */
static void home_user(as_loop_t *loop, void *data) {
  hcsd_exec_t *x = data, *e = x->home;
  (void)loop;
  e->started = true;
  e->ended = true;
  e->exit_code = 126;
  free(e->fail);
  e->fail = strdup(x->fail);
  if (e->c != NULL) {
    hcsd__exec_save(e, e->c);
  }
  (void)home_let_go(x);
}

int hcsd_exec_start_on(hcsd_t *d, const char *id,
                       const hcsd_exec_start_opts_t *o, as_loop_t *loop,
                       hcsd_exec_t **x, hcsd_err_t *err) {
  hcsd_ctr_t *c = NULL;
  hcsd_exec_t *e = start_check(d, id, o, &c, err);
  if (e == NULL) {
    return -1;
  }
  if (e->detach) {
    return 1;
  }
  *x = copy_new(e, c, loop);
  if (*x == NULL) {
    hcsd_err_set(err, 500, "out of memory");
    return -1;
  }
  e->started = true; /* a second start is refused meanwhile */
  e->remote = *x;
  e->rloop = loop;
  return 0;
}

void hcsd_exec_unstart(hcsd_exec_t *x) {
  x->home->started = false;
  x->home->remote = NULL;
  copy_free(x);
}

void hcsd_exec_abandon(hcsd_exec_t *x) { copy_report(x, home_failed); }

int hcsd_exec_run(hcsd_exec_t *x, bool *tty, hcsd_err_t *err) {
  hcs_error_t *he = NULL;
  hcs_session_t *s = NULL;
  *tty = x->tty;
  hcs_result_t hr = exec_spawn(x, x->ctr_id, x->env, true, &s, &he);
  if (hr != HCS_OK && user_unknown(x, x->ctr_pid, hr, he)) {
    hcs_error_free(he);
    copy_report(x, home_user);
    return 0;
  }
  if (hr != HCS_OK) {
    spawn_err(hr, he, err);
    hcs_error_free(he);
    copy_report(x, home_failed);
    return -1;
  }
  x->started = true;
  x->running = true;
  x->s = s;
  x->pid = hcs_session_pid(s);
  x->exec_errno = hcs_session_exec_errno(s);
  x->exec_stage = hcs_session_exec_stage(s);
  copy_report(x, home_started);
  return 0;
}

/* A resize from loop 0, run on the copy's loop. */
typedef struct copy_resize_s {
  hcsd_exec_t *x;
  uint16_t rows, cols;
} copy_resize_t;

static void copy_resize_run(as_loop_t *loop, void *data) {
  copy_resize_t *j = data;
  (void)loop;
  if (j->x->s != NULL) {
    (void)hcs_session_resize(j->x->s, j->rows, j->cols);
  }
  free(j);
}

static void copy_resize(hcsd_exec_t *e, uint16_t rows, uint16_t cols) {
  copy_resize_t *j = malloc(sizeof(*j));
  if (j == NULL) {
    return;
  }
  *j = (copy_resize_t){.x = e->remote, .rows = rows, .cols = cols};
  if (as_loop_post(e->rloop, copy_resize_run, j) != 0) {
    free(j);
  }
}

int hcsd_exec_resize(hcsd_t *d, const char *id, int rows, int cols,
                     hcsd_err_t *err) {
  hcsd_exec_t *e = hcsd__exec_find(d, id, NULL);
  if (e == NULL) {
    hcsd_err_set(err, 404, "No such exec instance: %s", id);
    return -1;
  }
  if (hcsd_size_check(rows, cols, err) != 0) {
    return -1;
  }
  e->rows = (uint16_t)rows;
  e->cols = (uint16_t)cols;
  if (e->remote != NULL && e->tty) {
    copy_resize(e, e->rows, e->cols);
  } else if (e->s != NULL && e->tty) {
    (void)hcs_session_resize(e->s, e->rows, e->cols);
  }
  return 0;
}

json_t *hcsd_exec_inspect(hcsd_t *d, const char *id, hcsd_err_t *err) {
  hcsd_ctr_t *c = NULL;
  hcsd_exec_t *e = hcsd__exec_find(d, id, &c);
  if (e == NULL) {
    hcsd_err_set(err, 404, "No such exec instance: %s", id);
    return NULL;
  }
  json_t *args = json_array();
  for (size_t i = 1; e->argv != NULL && e->argv[0] != NULL && e->argv[i]; i++) {
    json_array_append_new(args, json_string(e->argv[i]));
  }
  return json_pack(
      "{s:s,s:b,s:o,s:{s:b,s:s,s:o,s:b,s:s},s:b,s:b,s:b,s:b,s:s,s:s,s:i}", "ID",
      e->id, "Running", e->running, "ExitCode",
      e->ended ? json_integer(e->exit_code) : json_null(), "ProcessConfig",
      "tty", e->tty, "entrypoint",
      e->argv != NULL && e->argv[0] != NULL ? e->argv[0] : "", "arguments",
      args, "privileged", 0, "user", e->user != NULL ? e->user : "",
      "OpenStdin", e->in, "OpenStderr", e->err, "OpenStdout", e->out,
      "CanRemove", 0, "ContainerID", c->id, "DetachKeys", "", "Pid", e->pid);
}
