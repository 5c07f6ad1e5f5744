/* SPDX-License-Identifier: MIT */
/* A container's life on the host: at start an endpoint, a compute system
 * from the image's layers and the sandbox, and the main process as a
 * pumped session whose output goes to ctr_io.c (log, attached clients,
 * followers); at its exit the system and endpoint go, waiters are
 * answered, and an AutoRemove container is removed. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"
#include "hcsd/model/restart.h"
#include "hcsd/model/volumes.h"
#include "hcsd/util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TERMINATE_MS 10000

typedef struct run_s {
  hcsd_ctr_t *c;
  hcsd_done_cb done;
  void *data;
  int status;
  char msg[600];
  char *ep, *net_name, *net_settings;
} run_t;

static void cleanup_begin(hcsd_ctr_t *c);
static void start_failed(run_t *j, int status);

/* ---- start ---- */

/* The compute system's config, or NULL with e set; settings: the
 * endpoint's NetworkSettings (JSON text) or NULL. */
static char *system_config(hcsd_ctr_t *c, const char *ep, const char *settings,
                           hcsd_err_t *e) {
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
    json_object_set_new(o, "EndpointList",
                        hcsd_nets_endpoint_list(c->d->nets, c->id, ep));
  }
  if (strcmp(c->net_mode, "host") == 0) {
    json_object_set_new(o, "HostNetwork", json_true());
  }
  hcsd_spec_system_limits(c->host_config, o);
  char *dir = hcsd__ctr_dir(c->d, c->id);
  size_t n = dir != NULL ? strlen(dir) + 8 : 0;
  char *hosts = dir != NULL ? malloc(n) : NULL;
  json_t *net = settings != NULL ? json_loads(settings, 0, NULL) : NULL;
  int r = -1;
  if (hosts != NULL) {
    snprintf(hosts, n, "%s/hosts", dir);
    hcsd_hosts_t h = {
        .path = hosts,
        .host_net = strcmp(c->net_mode, "host") == 0,
        .ip = json_string_value(json_object_get(net, "IPAddress")),
        .name = c->hostname,
    };
    r = hcsd_spec_system_mounts(c->host_config, &h, o, e);
    r = r == 0 ? hcsd_volumes_system(c->d, c->host_config, o, e) : r;
  } else {
    hcsd_err_set(e, 500, "out of memory");
  }
  json_decref(net);
  free(dir);
  free(hosts);
  char *s = r == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

/* A failed start's endpoint goes. */
static void ep_release(run_t *j) {
  if (j->ep != NULL) {
    (void)hcsd_nets_detach(j->c->d->nets, j->ep);
    free(j->ep);
    j->ep = NULL;
  }
}

static void start_work(void *data) {
  run_t *j = data;
  hcsd_ctr_t *c = j->c;
  hcsd_t *d = c->d;
  if (strcmp(c->net_mode, "host") != 0 && d->nets != NULL) {
    char *err = NULL;
    char *dir = hcsd__ctr_dir(d, c->id), hosts[4096];
    snprintf(hosts, sizeof(hosts), "%s/hosts", dir != NULL ? dir : "");
    free(dir);
    hcsd_nets_ask_t ask = {c->name, c->config, c->host_config, hosts};
    int st = hcsd_nets_attach_with(d->nets, c->net_mode, c->id, &ask, &j->ep,
                                   &j->net_name, &j->net_settings, &err);
    if (st != 0) {
      j->status = st;
      snprintf(j->msg, sizeof(j->msg), "%s",
               err != NULL ? err : "network attach failed");
      free(err);
      return;
    }
  }
  hcsd_err_t ce;
  char *cfg = system_config(c, j->ep, j->net_settings, &ce);
  hcs_error_t *err = NULL;
  if (cfg == NULL) {
    j->status = ce.status;
    snprintf(j->msg, sizeof(j->msg), "%s", ce.msg);
    ep_release(j);
    return;
  }
  /* A system left from an earlier run of this container goes first. */
  (void)hcs_TerminateComputeSystem(d->hcs, c->id, TERMINATE_MS, NULL, NULL);
  (void)hcs_DeleteComputeSystem(d->hcs, c->id, NULL);
  hcs_result_t hr = hcs_CreateComputeSystem(d->hcs, c->id, cfg, &err);
  if (hr == HCS_OK) {
    hr = hcs_StartComputeSystem(d->hcs, c->id, &err);
    if (hr != HCS_OK) {
      (void)hcs_DeleteComputeSystem(d->hcs, c->id, NULL);
    } else if (d->nets != NULL) {
      hcsd_nets_started(d->nets, c->id);
    }
  }
  free(cfg);
  if (hr != HCS_OK) {
    j->status = 500;
    snprintf(j->msg, sizeof(j->msg), "starting the container: %s",
             hcs_error_message(err));
    hcs_error_free(err);
    ep_release(j);
  }
}

static void main_data(hcs_session_t *s, int stream, char *buf, size_t len,
                      void *data) {
  hcsd_ctr_t *c = data;
  if (len == 0) {
    c->out_eofs++;
    return;
  }
  hcsd__ctr_output(c, s, stream, buf, len);
}

static void main_done(hcs_session_t *s, const hcs_process_result_t *r,
                      void *data) {
  hcsd_ctr_t *c = data;
  if (c->state == CS_RUNNING) {
    /* Exited from now on, with its code, while the system is torn down
     * (busy): inspect never shows a running container with an exit
     * code. */
    c->state = CS_EXITED;
    c->exit_code =
        r->exit_code == HCS_WAIT_ERR_EXEC_FAILED ? 127 : r->exit_code & 0xff;
    hcsd_event_ctr_int(c, "die", "exitCode", c->exit_code);
  } /* else a failed start: its code stays */
  c->finished_ns = hcsd_now_ns();
  c->pid = 0;
  c->oom = r->oom_killed;
  c->main = NULL;
  hcs_session_unref(s);
  as_timer_disarm(c->stop_timer);
  cleanup_begin(c);
  hcsd__ctr_unref(c); /* the session's */
}

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

/* The container's env, then HOSTNAME and (with a tty) TERM. */
static char **main_env(const hcsd_ctr_t *c) {
  char **env = hcsd__strv_dup(c->env);
  size_t n = hcsd__strv_len(env);
  char **env2 = realloc(env, (n + 3) * sizeof(char *));
  if (env2 == NULL) {
    return env;
  }
  env = env2;
  char hn[128];
  snprintf(hn, sizeof(hn), "HOSTNAME=%s", c->hostname);
  env[n++] = strdup(hn);
  if (c->tty) {
    env[n++] = strdup("TERM=xterm");
  }
  env[n] = NULL;
  return env;
}

/* The main process in the started system: HCS_OK with *s, or the
 * failure with j->msg set. */
static hcs_result_t main_start(run_t *j, hcs_session_t **s) {
  hcsd_ctr_t *c = j->c;
  char **env = main_env(c);
  hcs_process_params_t pp = {
      .args = (const char *const *)c->argv,
      .environment = (const char *const *)env,
      .working_directory = c->cwd,
      .user = c->user != NULL && c->user[0] != '\0' ? c->user : NULL,
      .emulate_console = c->tty,
      .console_size = {c->rows, c->cols},
  };
  hcs_session_in_t o = {.use_stdin = c->open_stdin,
                        .use_stdout = true,
                        .use_stderr = !c->tty,
                        .cb = {.data = main_data, .done = main_done},
                        .data = c};
  hcs_error_t *err = NULL;
  hcs_result_t hr = hcs_session_start_in(c->d->hcs, c->id, &pp, &o, s, &err);
  hcsd__strv_free(env);
  if (hr != HCS_OK) {
    snprintf(j->msg, sizeof(j->msg), "failed to create task for container: %s",
             hcs_error_message(err));
    hcs_error_free(err);
  }
  return hr;
}

/* The program could not be run (errno ee): the session completes on its
 * own and main_done does the cleanup, keeping this failure's code and
 * message. */
static void main_exec_failed(run_t *j, int ee) {
  hcsd_ctr_t *c = j->c;
  char why[300];
  const char *prog = c->argv[0];
  /* runc's words: a name looked up in PATH is not found, a path is
   * stat'ed. */
  if (ee == ENOENT && strchr(prog, '/') == NULL) {
    snprintf(why, sizeof(why), "executable file not found in $PATH");
  } else if (ee == ENOENT) {
    snprintf(why, sizeof(why), "stat %s: no such file or directory", prog);
  } else {
    snprintf(why, sizeof(why), "%s", strerror(ee));
    why[0] = (char)tolower((unsigned char)why[0]);
  }
  snprintf(j->msg, sizeof(j->msg),
           "failed to create task for container: exec: \"%s\": %s: unknown",
           prog, why);
  hcsd__ctr_ref(c); /* the session's, dropped in main_done */
  c->main = NULL;
  free(c->error);
  c->error = strdup(j->msg);
  c->exit_code = exec_error_code(j->msg);
  hcsd_err_t e;
  hcsd_err_set(&e, 500, "%s", j->msg);
  j->done(&e, j->data);
}

static void main_running(run_t *j, hcs_session_t *s) {
  hcsd_ctr_t *c = j->c;
  hcsd__ctr_ref(c); /* the session's, dropped in main_done */
  c->main = s;
  c->state = CS_RUNNING;
  c->pid = hcs_session_pid(s);
  c->started_ns = hcsd_now_ns();
  c->finished_ns = 0;
  free(c->error);
  c->error = NULL;
  c->busy = 0;
  hcsd__ctr_flush_stdin(c);
  hcsd__store_save(c);
  hcsd_event_ctr(c, "start", NULL);
  j->done(NULL, j->data);
  hcsd__ctr_settled(c);
}

static void start_done(void *data) {
  run_t *j = data;
  hcsd_ctr_t *c = j->c;
  /* A restart's endpoint replaces the last run's settings. */
  free(c->endpoint_id);
  free(c->net_name);
  free(c->net_settings);
  c->endpoint_id = j->ep;
  c->net_name = j->net_name;
  c->net_settings = j->net_settings;
  if (j->status == 0 && c->endpoint_id != NULL) {
    hcsd_event_net_ctr(c, "connect");
  }
  hcs_session_t *s = NULL;
  if (j->status != 0) {
    start_failed(j, j->status);
  } else {
    c->system_up = true;
    if (main_start(j, &s) != HCS_OK) {
      start_failed(j, 500);
    } else if (hcs_session_exec_errno(s) != 0) {
      main_exec_failed(j, hcs_session_exec_errno(s));
    } else {
      main_running(j, s);
    }
  }
  hcsd__ctr_unref(c);
  free(j);
}

int hcsd__ctr_start(hcsd_ctr_t *c, hcsd_done_cb done, void *data) {
  run_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    return -1;
  }
  j->c = c;
  j->done = done;
  j->data = data;
  if (hcsd_work(c->d, start_work, start_done, j) != 0) {
    free(j);
    return -1;
  }
  c->busy = 1;
  c->out_eofs = 0;
  hcsd__ctr_ref(c);
  return 0;
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
  if (c->endpoint_id != NULL) {
    hcsd_event_net_ctr(c, "disconnect");
  }
  free(c->endpoint_id);
  c->endpoint_id = NULL;
  c->system_up = false;
  c->exits++;
  c->busy = 0;
  (void)hcsd__restart_exit(c);
  hcsd__store_save(c);
  if (c->auto_remove) {
    (void)hcsd__ctr_remove(c, NULL, NULL);
  } else {
    hcsd__ctr_wake(c);
    hcsd__ctr_settled(c);
  }
  hcsd__ctr_unref(c);
}

/* A start that failed (status, j->msg): the container keeps the message
 * and its code, and goes down as at an exit. */
static void start_failed(run_t *j, int status) {
  hcsd_ctr_t *c = j->c;
  free(c->error);
  c->error = strdup(j->msg);
  c->exit_code = exec_error_code(j->msg);
  c->finished_ns = hcsd_now_ns();
  hcsd_err_t e;
  hcsd_err_set(&e, status, "%s", j->msg);
  j->done(&e, j->data);
  cleanup_begin(c);
}

/* Ends the attached clients and log followers, then tears the system
 * down off the engine thread. */
static void cleanup_begin(hcsd_ctr_t *c) {
  hcsd__ctr_output_end(c);
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
    hcsd_event_ctr_int(c, "kill", "signal", SIGKILL);
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
  hcsd_event_ctr_int(c, "kill", "signal", sig);
  /* Paused: the signal acts once thawed (dockerd unpauses after it
   * signals). */
  hcsd__ctr_thaw(c);
  if (t > 0 && sig != SIGKILL) {
    as_timer_arm(c->stop_timer, (uint64_t)t * 1000, stop_timeout, c);
  }
}

/* ---- remove ---- */

typedef struct rm_s {
  hcsd_ctr_t *c;
  hcsd_done_cb done;
  void *data;
} rm_t;

static void remove_work(void *data) {
  rm_t *j = data;
  hcsd_ctr_t *c = j->c;
  char *home = hcsd__sandbox_home(c->d);
  hcs_driver_info_t info = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = home};
  if (c->sandbox != NULL) {
    (void)hcs_DestroyLayer(&info, c->id, NULL);
  }
  if (c->d->nets != NULL) {
    hcsd_nets_forget(c->d->nets, c->id);
  }
  free(home);
  hcsd__store_remove_dir(c->d, c->id);
}

static void remove_done(void *data) {
  rm_t *j = data;
  hcsd_ctr_t *c = j->c;
  hcsd__ctr_unlink(c);
  if (c->rm_volumes || c->auto_remove) {
    hcsd_volumes_anon_remove(c->d, c->host_config);
  }
  hcsd_event_ctr(c, "destroy", NULL);
  c->busy = 0;
  hcsd__ctr_output_end(c); /* attached before it ever ran */
  hcsd__ctr_wake(c);       /* state REMOVING: every waiter ends */
  hcsd__ctr_settled(c);
  if (j->done != NULL) {
    j->done(NULL, j->data);
  }
  hcsd__execs_free(c);
  hcsd__ctr_unref(c); /* the list's */
  free(j);
}

int hcsd__ctr_remove(hcsd_ctr_t *c, hcsd_done_cb done, void *data) {
  rm_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    return -1;
  }
  *j = (rm_t){c, done, data};
  (void)hcsd__restart_cancel(c);
  if (hcsd_work(c->d, remove_work, remove_done, j) != 0) {
    free(j);
    return -1;
  }
  c->state = CS_REMOVING;
  c->busy = 1;
  return 0;
}
