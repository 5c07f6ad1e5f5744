/* A container's life on the host: at start an endpoint, a compute system
 * from the image's layers and the sandbox, and the main process as a
 * pumped session whose output feeds the log and every attached client;
 * at its exit the system and endpoint go, waiters are answered, and an
 * AutoRemove container is removed. Attach and logs live here too. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STDIN_CAP (1u << 20)
#define TERMINATE_MS 10000

typedef struct run_s {
  hcsd_ctr_t *c;
  hcsd_req_t *r;
  int status;
  char msg[600];
  char *ep, *net_name, *net_settings;
} run_t;

static void cleanup_begin(hcsd_ctr_t *c, hcsd_req_t *r, int status,
                          const char *msg);

/* ---- start ---- */

static char *system_config(hcsd_ctr_t *c, const char *ep) {
  json_t *layers = json_array();
  for (size_t i = 0; c->layers != NULL && c->layers[i] != NULL; i++) {
    hcs_guid_t g;
    char gs[HCS_GUID_STRLEN];
    hcs_NameToGuid(c->layers[i], &g, NULL);
    hcs_guid_ToString(&g, gs);
    json_array_append_new(
        layers, json_pack("{s:s,s:s}", "ID", gs, "Path", c->layers[i]));
  }
  json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:s}", "SystemType", "Container",
                        "Name", c->name, "Layers", layers, "LayerFolderPath",
                        c->sandbox, "HostName", c->hostname);
  if (ep != NULL) {
    json_object_set_new(o, "EndpointList", json_pack("[s]", ep));
  }
  if (strcmp(c->net_mode, "host") == 0) {
    json_object_set_new(o, "HostNetwork", json_true());
  }
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static void start_work(void *data) {
  run_t *j = data;
  hcsd_ctr_t *c = j->c;
  hcsd_t *d = c->d;
  if (strcmp(c->net_mode, "host") != 0 && d->nets != NULL) {
    char *err = NULL;
    int st = hcsd_nets_attach(d->nets, c->net_mode, c->id, &j->ep, &j->net_name,
                              &j->net_settings, &err);
    if (st != 0) {
      j->status = st;
      snprintf(j->msg, sizeof(j->msg), "%s",
               err != NULL ? err : "network attach failed");
      free(err);
      return;
    }
  }
  char *cfg = system_config(c, j->ep);
  hcs_error_t *err = NULL;
  /* A system left from an earlier run of this container goes first. */
  (void)hcs_TerminateComputeSystem(d->hcs, c->id, TERMINATE_MS, NULL, NULL);
  (void)hcs_DeleteComputeSystem(d->hcs, c->id, NULL);
  hcs_result_t hr = hcs_CreateComputeSystem(d->hcs, c->id, cfg, &err);
  if (hr == HCS_OK) {
    hr = hcs_StartComputeSystem(d->hcs, c->id, &err);
    if (hr != HCS_OK) {
      (void)hcs_DeleteComputeSystem(d->hcs, c->id, NULL);
    }
  }
  free(cfg);
  if (hr != HCS_OK) {
    j->status = 500;
    snprintf(j->msg, sizeof(j->msg), "starting the container: %s",
             hcs_error_message(err));
    hcs_error_free(err);
    if (j->ep != NULL) {
      (void)hcsd_nets_detach(d->nets, j->ep);
      free(j->ep);
      j->ep = NULL;
    }
  }
}

/* The container's output to its attached clients and its log followers,
 * each bounded by its own rule (hcsd.h): the attached clients share the
 * session's buffer, which holds the process until the slowest has taken
 * it; a follower gets a copy and is dropped once it is HCSD_OUT_MAX
 * behind, since holding the process for it would stall the container,
 * its log and every other client. */
static void fanout(hcsd_ctr_t *c, hcs_session_t *s, int stream, char *buf,
                   size_t len) {
  hcsd_fan_t *fan = NULL;
  for (attach_t *a = c->attached; a != NULL; a = a->next) {
    if ((stream == HCS_STDOUT && !a->out) ||
        (stream == HCS_STDERR && !a->err) || !hcsd_stream_alive(a->st)) {
      continue;
    }
    if (fan == NULL && (fan = hcsd_fan_begin(s, stream, buf, len)) == NULL) {
      break;
    }
    hcsd_fan_to(fan, a->st);
  }
  hcsd_fan_end(fan);
  uint8_t h[8] = {(uint8_t)stream,
                  0,
                  0,
                  0,
                  (uint8_t)(len >> 24),
                  (uint8_t)(len >> 16),
                  (uint8_t)(len >> 8),
                  (uint8_t)len};
  as_iov_t iov[2] = {{h, 8}, {buf, len}};
  for (waiter_t *f = c->followers, *next; f != NULL; f = next) {
    next = f->next; /* a dropped follower is freed */
    if ((f->cond & stream) != 0) {
      (void)hcsd_chunked_writev(f->r, c->tty ? iov + 1 : iov, c->tty ? 1 : 2);
    }
  }
}

static void main_data(hcs_session_t *s, int stream, char *buf, size_t len,
                      void *data) {
  hcsd_ctr_t *c = data;
  if (len == 0) {
    c->out_eofs++;
    return;
  }
  hcsd__log_append(c, stream, buf, len);
  fanout(c, s, stream, buf, len);
}

static void main_done(hcs_session_t *s, const hcs_process_result_t *r,
                      void *data) {
  hcsd_ctr_t *c = data;
  if (c->state == CS_RUNNING) {
    c->exit_code =
        r->exit_code == HCS_WAIT_ERR_EXEC_FAILED ? 127 : r->exit_code & 0xff;
  } /* else a failed start: its code stays */
  c->oom = r->oom_killed;
  c->main = NULL;
  hcs_session_unref(s);
  as_timer_disarm(c->stop_timer);
  cleanup_begin(c, NULL, 0, NULL);
  hcsd__ctr_unref(c); /* the session's */
}

static void flush_stdin(hcsd_ctr_t *c);

static int exec_error_code(const char *msg) {
  char low[700];
  size_t i;
  for (i = 0; msg[i] != '\0' && i < sizeof(low) - 1; i++) {
    low[i] = (char)tolower((unsigned char)msg[i]);
  }
  low[i] = '\0';
  if (strstr(low, "executable file not found") != NULL ||
      strstr(low, "no such file or directory") != NULL) {
    return 127;
  }
  if (strstr(low, "permission denied") != NULL ||
      strstr(low, "is a directory") != NULL) {
    return 126;
  }
  return 125;
}

static void start_done(void *data) {
  run_t *j = data;
  hcsd_ctr_t *c = j->c;
  hcsd_req_t *r = j->r;
  /* A restart's endpoint replaces the last run's settings. */
  free(c->endpoint_id);
  free(c->net_name);
  free(c->net_settings);
  c->endpoint_id = j->ep;
  c->net_name = j->net_name;
  c->net_settings = j->net_settings;
  if (j->status != 0) {
    cleanup_begin(c, r, j->status, j->msg);
    goto out;
  }
  c->system_up = true;
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = (const char *const *)c->argv;
  char **env = hcsd__strv_dup(c->env);
  size_t n = hcsd__strv_len(env);
  char **env2 = realloc(env, (n + 3) * sizeof(char *));
  if (env2 != NULL) {
    env = env2;
    char hn[128];
    snprintf(hn, sizeof(hn), "HOSTNAME=%s", c->hostname);
    env[n++] = strdup(hn);
    if (c->tty) {
      env[n++] = strdup("TERM=xterm");
    }
    env[n] = NULL;
  }
  pp.environment = (const char *const *)env;
  pp.working_directory = c->cwd;
  pp.user = c->user != NULL && c->user[0] != '\0' ? c->user : NULL;
  pp.emulate_console = c->tty;
  pp.console_size[0] = c->rows;
  pp.console_size[1] = c->cols;
  hcs_session_in_t o = {.use_stdin = c->open_stdin,
                        .use_stdout = true,
                        .use_stderr = !c->tty,
                        .cb = {.data = main_data, .done = main_done},
                        .data = c};
  hcs_error_t *err = NULL;
  hcs_session_t *s = NULL;
  hcs_result_t hr = hcs_session_start_in(c->d->hcs, c->id, &pp, &o, &s, &err);
  hcsd__strv_free(env);
  if (hr != HCS_OK) {
    snprintf(j->msg, sizeof(j->msg), "failed to create task for container: %s",
             hcs_error_message(err));
    hcs_error_free(err);
    cleanup_begin(c, r, 500, j->msg);
    goto out;
  }
  int ee = hcs_session_exec_errno(s);
  if (ee != 0) {
    char why[128];
    snprintf(why, sizeof(why), "%s", strerror(ee));
    why[0] = (char)tolower((unsigned char)why[0]);
    snprintf(j->msg, sizeof(j->msg),
             "failed to create task for container: exec: \"%s\": %s",
             c->argv[0], why);
    /* The session completes on its own: main_done drops it and does the
     * cleanup, keeping this failure's code and message. */
    hcsd__ctr_ref(c);
    c->main = NULL;
    /* main_done will run for this session: let it do the cleanup, with
     * the start's reply and message. */
    c->error = strdup(j->msg);
    c->exit_code = exec_error_code(j->msg);
    hcsd_reply_error(r, 500, "%s", j->msg);
    goto out;
  }
  hcsd__ctr_ref(c); /* the session's, dropped in main_done */
  c->main = s;
  c->state = CS_RUNNING;
  c->pid = hcs_session_pid(s);
  c->started_ns = hcsd_now_ns();
  c->finished_ns = 0;
  free(c->error);
  c->error = NULL;
  c->busy = 0;
  flush_stdin(c);
  hcsd__store_save(c);
  hcsd_reply_empty(r, 204);
  hcsd__ctr_settled(c);
out:
  hcsd_req_unref(r);
  hcsd__ctr_unref(c);
  free(j);
}

void hcsd__ctr_start(hcsd_ctr_t *c, hcsd_req_t *r) {
  run_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return;
  }
  c->busy = 1;
  c->out_eofs = 0;
  j->c = c;
  j->r = r;
  hcsd__ctr_ref(c);
  hcsd_req_ref(r);
  if (hcsd_work(c->d, start_work, start_done, j) != 0) {
    j->status = 500;
    snprintf(j->msg, sizeof(j->msg), "out of memory");
    start_done(j);
  }
}

/* ---- exit / failed start: the system goes, then the waiters ---- */

typedef struct clean_s {
  hcsd_ctr_t *c;
} clean_t;

static void cleanup_work(void *data) {
  clean_t *j = data;
  hcsd_ctr_t *c = j->c;
  (void)hcs_TerminateComputeSystem(c->d->hcs, c->id, TERMINATE_MS, NULL, NULL);
  (void)hcs_DeleteComputeSystem(c->d->hcs, c->id, NULL);
  if (c->endpoint_id != NULL && c->d->nets != NULL) {
    (void)hcsd_nets_detach(c->d->nets, c->endpoint_id);
  }
}

static void cleanup_done(void *data) {
  clean_t *j = data;
  hcsd_ctr_t *c = j->c;
  free(j);
  free(c->endpoint_id);
  c->endpoint_id = NULL;
  c->system_up = false;
  if (c->state == CS_RUNNING) {
    c->state = CS_EXITED;
  }
  c->finished_ns = hcsd_now_ns();
  c->pid = 0;
  c->exits++;
  c->busy = 0;
  hcsd__store_save(c);
  if (c->auto_remove) {
    hcsd__ctr_remove(c, NULL);
  } else {
    hcsd__ctr_wake(c);
    hcsd__ctr_settled(c);
  }
  hcsd__ctr_unref(c);
}

/* Ends the attach streams and log followers, then tears the system down
 * off the engine thread. With r: a failed start, answered with status and
 * msg first. */
static void cleanup_begin(hcsd_ctr_t *c, hcsd_req_t *r, int status,
                          const char *msg) {
  if (r != NULL) {
    free(c->error);
    c->error = strdup(msg);
    c->exit_code = exec_error_code(msg);
    hcsd_reply_error(r, status, "%s", msg);
  }
  while (c->attached != NULL) {
    attach_t *a = c->attached;
    c->attached = a->next;
    hcsd_stream_finish(a->st);
    free(a);
  }
  while (c->followers != NULL) {
    waiter_t *f = c->followers;
    c->followers = f->next;
    hcsd_chunked_end(f->r);
    hcsd_req_unref(f->r);
    free(f);
  }
  c->busy = 1;
  clean_t *j = malloc(sizeof(*j));
  if (j == NULL) {
    return;
  }
  j->c = c;
  hcsd__ctr_ref(c);
  if (hcsd_work(c->d, cleanup_work, cleanup_done, j) != 0) {
    cleanup_done(j);
  }
}

/* ---- stop ---- */

static void stop_timeout(as_timer_t *t, void *data) {
  hcsd_ctr_t *c = data;
  (void)t;
  if (c->main != NULL) {
    (void)hcs_session_kill(c->main, SIGKILL);
  }
}

void hcsd__ctr_stop(hcsd_ctr_t *c, int sig, int t) {
  if (c->main == NULL) {
    return;
  }
  if (t == 0) {
    sig = SIGKILL;
  }
  (void)hcs_session_kill(c->main, sig);
  if (t > 0 && sig != SIGKILL) {
    as_timer_arm(c->stop_timer, (uint64_t)t * 1000, stop_timeout, c);
  }
}

/* ---- remove ---- */

typedef struct rm_s {
  hcsd_ctr_t *c;
  hcsd_req_t *r;
} rm_t;

static void remove_work(void *data) {
  rm_t *j = data;
  hcsd_ctr_t *c = j->c;
  char *home = hcsd__sandbox_home(c->d);
  hcs_driver_info_t info = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = home};
  if (c->sandbox != NULL) {
    (void)hcs_DestroyLayer(&info, c->id, NULL);
  }
  free(home);
  hcsd__store_remove_dir(c->d, c->id);
}

static void remove_done(void *data) {
  rm_t *j = data;
  hcsd_ctr_t *c = j->c;
  hcsd__ctr_unlink(c);
  c->busy = 0;
  hcsd__ctr_wake(c); /* state REMOVING: every waiter ends */
  while (c->settle != NULL) {
    waiter_t *w = c->settle;
    c->settle = w->next;
    w->fn(c, w->data);
    free(w);
  }
  if (j->r != NULL) {
    hcsd_reply_empty(j->r, 204);
    hcsd_req_unref(j->r);
  }
  hcsd__execs_free(c);
  hcsd__ctr_unref(c); /* the list's */
  free(j);
}

void hcsd__ctr_remove(hcsd_ctr_t *c, hcsd_req_t *r) {
  rm_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    if (r != NULL) {
      hcsd_reply_error(r, 500, "out of memory");
    }
    return;
  }
  c->state = CS_REMOVING;
  c->busy = 1;
  j->c = c;
  j->r = r;
  if (r != NULL) {
    hcsd_req_ref(r);
  }
  if (hcsd_work(c->d, remove_work, remove_done, j) != 0) {
    remove_done(j);
  }
}

/* ---- attach ---- */

typedef struct wr_s {
  hcsd_ctr_t *c;
  size_t len;
  char data[];
} wr_t;

static void stdin_pause_all(hcsd_ctr_t *c, bool paused) {
  for (attach_t *a = c->attached; a != NULL; a = a->next) {
    if (a->in) {
      hcsd_stream_pause_input(a->st, paused);
    }
  }
}

static void stdin_written(hcs_session_t *s, int status, void *data) {
  wr_t *w = data;
  (void)s;
  (void)status;
  hcsd_ctr_t *c = w->c;
  c->stdin_queued -= w->len;
  if (c->stdin_queued < STDIN_CAP / 2) {
    stdin_pause_all(c, false);
  }
  free(w);
  hcsd__ctr_unref(c);
}

static void stdin_send(hcsd_ctr_t *c, const char *buf, size_t len) {
  wr_t *w = malloc(sizeof(*w) + len);
  if (w == NULL) {
    return;
  }
  w->c = c;
  w->len = len;
  memcpy(w->data, buf, len);
  hcsd__ctr_ref(c);
  c->stdin_queued += len;
  if (hcs_session_write(c->main, w->data, len, stdin_written, w) != 0) {
    c->stdin_queued -= len;
    free(w);
    hcsd__ctr_unref(c);
    return;
  }
  if (c->stdin_queued >= STDIN_CAP) {
    stdin_pause_all(c, true);
  }
}

static void flush_stdin(hcsd_ctr_t *c) {
  while (c->stdin_head != NULL) {
    pend_t *p = c->stdin_head;
    c->stdin_head = p->next;
    if (c->main != NULL && c->open_stdin) {
      stdin_send(c, p->data, p->len);
    }
    free(p);
  }
  c->stdin_tail = NULL;
  if (c->stdin_pending >= STDIN_CAP && c->stdin_queued < STDIN_CAP) {
    stdin_pause_all(c, false);
  }
  c->stdin_pending = 0;
  if (c->stdin_close_pending && c->main != NULL) {
    (void)hcs_session_close_stdin(c->main);
  }
}

void hcsd__ctr_attach_input(hcsd_ctr_t *c, const char *buf, size_t len) {
  if (c->main != NULL && c->state == CS_RUNNING) {
    if (c->open_stdin) {
      stdin_send(c, buf, len);
    }
    return;
  }
  pend_t *p = malloc(sizeof(*p) + len);
  if (p == NULL) {
    return;
  }
  p->next = NULL;
  p->len = len;
  memcpy(p->data, buf, len);
  if (c->stdin_tail != NULL) {
    c->stdin_tail->next = p;
  } else {
    c->stdin_head = p;
  }
  c->stdin_tail = p;
  /* Before the process exists, stdin waits here: bounded, the client's
   * socket holds the rest. */
  c->stdin_pending += len;
  if (c->stdin_pending >= STDIN_CAP) {
    stdin_pause_all(c, true);
  }
}

void hcsd__ctr_attach_eof(hcsd_ctr_t *c) {
  if (!c->stdin_once) {
    return;
  }
  if (c->main != NULL && c->state == CS_RUNNING && c->stdin_head == NULL) {
    (void)hcs_session_close_stdin(c->main);
  } else {
    c->stdin_close_pending = true;
  }
}

static void attach_input(hcsd_stream_t *st, char *buf, size_t len, void *data) {
  attach_t *a = data;
  (void)st;
  if (!a->in) {
    return;
  }
  if (len == 0) {
    hcsd__ctr_attach_eof(a->c);
  } else {
    hcsd__ctr_attach_input(a->c, buf, len);
  }
}

static void attach_gone(hcsd_stream_t *st, void *data) {
  attach_t *a = data;
  hcsd_ctr_t *c = a->c;
  for (attach_t **pp = &c->attached; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == a) {
      *pp = a->next;
      break;
    }
  }
  free(a);
  hcsd_stream_finish(st);
}

void hcsd_h_ctr_attach(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = hcsd_ctr_find(d, ref);
  if (c == NULL || c->state == CS_REMOVING) {
    hcsd_reply_error(r, 404, "No such container: %s", ref);
    return;
  }
  attach_t *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return;
  }
  a->c = c;
  a->in = hcsd_query_bool(r, "stdin");
  a->out = hcsd_query_bool(r, "stdout");
  a->err = hcsd_query_bool(r, "stderr");
  int logs = hcsd_query_bool(r, "logs");
  /* stream=1 follows the container's output until its next exit, also
   * when it is not running yet (docker start -a attaches first); without
   * it, only the stored logs are sent. */
  bool ended = !hcsd_query_bool(r, "stream");
  static const hcsd_stream_ops_t ops = {attach_input, attach_gone};
  a->st = hcsd_hijack(r, !c->tty, &ops, a);
  if (a->st == NULL) {
    free(a);
    return;
  }
  if (logs) {
    size_t n = 0;
    char *log = hcsd__log_read(c, &n);
    for (size_t i = 0; log != NULL && i + 8 <= n;) {
      size_t len = ((size_t)(uint8_t)log[i + 4] << 24) |
                   ((size_t)(uint8_t)log[i + 5] << 16) |
                   ((size_t)(uint8_t)log[i + 6] << 8) | (uint8_t)log[i + 7];
      int stream = log[i];
      if (i + 8 + len > n) {
        break;
      }
      if ((stream == 1 && a->out) || (stream == 2 && a->err)) {
        hcsd_stream_out_copy(a->st, stream, log + i + 8, len);
      }
      i += 8 + len;
    }
    free(log);
  }
  if (ended) {
    hcsd_stream_finish(a->st);
    free(a);
    return;
  }
  a->next = c->attached;
  c->attached = a;
}

/* ---- logs ---- */

void hcsd_h_ctr_logs(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = hcsd_ctr_find(d, ref);
  if (c == NULL || c->state == CS_REMOVING) {
    hcsd_reply_error(r, 404, "No such container: %s", ref);
    return;
  }
  int want = (hcsd_query_bool(r, "stdout") ? 1 : 0) |
             (hcsd_query_bool(r, "stderr") ? 2 : 0);
  if (want == 0) {
    hcsd_reply_error(r, 400,
                     "You must choose at least one stream (stdout or stderr)");
    return;
  }
  int follow = hcsd_query_bool(r, "follow");
  char *t = hcsd_query(r, "tail");
  char *tend = NULL;
  long tail = t != NULL && t[0] != '\0' && strcmp(t, "all") != 0
                  ? strtol(t, &tend, 10)
                  : -1;
  if (tend != NULL && (*tend != '\0' || tail < 0)) {
    tail = -1; /* as moby: anything but a count is "all" */
  }
  free(t);
  size_t n = 0;
  char *log = hcsd__log_read(c, &n);
  /* The records of the streams asked for. */
  size_t nrec = 0;
  size_t(*rec)[3] = malloc((n / 8 + 1) * sizeof(*rec)); /* off, len, id */
  for (size_t i = 0; log != NULL && rec != NULL && i + 8 <= n;) {
    size_t len = ((size_t)(uint8_t)log[i + 4] << 24) |
                 ((size_t)(uint8_t)log[i + 5] << 16) |
                 ((size_t)(uint8_t)log[i + 6] << 8) | (uint8_t)log[i + 7];
    if (i + 8 + len > n) {
      break;
    }
    if (log[i] & want) {
      rec[nrec][0] = i + 8;
      rec[nrec][1] = len;
      rec[nrec][2] = (size_t)(uint8_t)log[i];
      nrec++;
    }
    i += 8 + len;
  }
  /* --tail N: from just after the newline that ends the N+1-th line from
   * the end (a last line without its newline counts). */
  size_t first = 0, skip = 0;
  if (tail == 0) {
    first = nrec;
  }
  for (size_t i = nrec, lines = 0; tail > 0 && i-- > 0 && first == 0;) {
    for (size_t j = rec[i][1]; j-- > 0;) {
      int last = i == nrec - 1 && j == rec[i][1] - 1;
      if (log[rec[i][0] + j] == '\n' && !last && ++lines == (size_t)tail) {
        first = i;
        skip = j + 1;
        break;
      }
    }
  }
  char *out = malloc(n + 8 * (nrec + 1) + 1);
  size_t o = 0;
  for (size_t i = first; out != NULL && i < nrec; i++) {
    size_t off = rec[i][0] + (i == first ? skip : 0);
    size_t len = rec[i][1] - (i == first ? skip : 0);
    if (len == 0) {
      continue;
    }
    if (!c->tty) {
      uint8_t h[8] = {(uint8_t)rec[i][2],
                      0,
                      0,
                      0,
                      (uint8_t)(len >> 24),
                      (uint8_t)(len >> 16),
                      (uint8_t)(len >> 8),
                      (uint8_t)len};
      memcpy(out + o, h, 8);
      o += 8;
    }
    memcpy(out + o, log + off, len);
    o += len;
  }
  free(rec);
  free(log);
  const char *ct = c->tty ? "application/vnd.docker.raw-stream"
                          : "application/vnd.docker.multiplexed-stream";
  if (follow && (c->state == CS_RUNNING || c->busy)) {
    waiter_t *f = calloc(1, sizeof(*f));
    if (f != NULL) {
      hcsd_chunked_begin(r, 200, ct, out, o);
      free(out);
      if (hcsd_req_on_gone(r, hcsd__waiter_gone, f) != 0) {
        free(f);
        hcsd_chunked_end(r);
        return;
      }
      hcsd_req_ref(r);
      f->r = r;
      f->list = &c->followers;
      f->cond = want;
      f->next = c->followers;
      c->followers = f;
      return;
    }
  }
  hcsd_reply(r, 200, ct, out != NULL ? out : "", o);
  free(out);
}
