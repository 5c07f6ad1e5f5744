/* hcsd's containers: the records and the HTTP handlers of
 * /containers/... (the compute system and main process are ctrrun.c's). */
#include "hcsd/model/ctr_int.h"
#include "hcsd/util.h"

#include <ctype.h>
#include <errno.h>
#include <http_parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- string vectors ---- */

size_t hcsd__strv_len(char *const *v) {
  size_t n = 0;
  while (v != NULL && v[n] != NULL) {
    n++;
  }
  return n;
}

void hcsd__strv_free(char **v) {
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    free(v[i]);
  }
  free(v);
}

char **hcsd__strv_dup(char *const *v) {
  if (v == NULL) {
    return NULL;
  }
  size_t n = hcsd__strv_len(v);
  char **o = calloc(n + 1, sizeof(char *));
  for (size_t i = 0; o != NULL && i < n; i++) {
    o[i] = strdup(v[i]);
  }
  return o;
}

/* A JSON array of strings (or one string) to a vector; NULL for null. */
char **hcsd__strv_from_json(json_t *a) {
  if (json_is_string(a)) {
    char **o = calloc(2, sizeof(char *));
    if (o != NULL) {
      o[0] = strdup(json_string_value(a));
    }
    return o;
  }
  if (!json_is_array(a)) {
    return NULL;
  }
  size_t n = json_array_size(a);
  char **o = calloc(n + 1, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; o != NULL && i < n; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (s != NULL) {
      o[k++] = strdup(s);
    }
  }
  return o;
}

json_t *hcsd__strv_to_json(char *const *v) {
  if (v == NULL) {
    return json_null();
  }
  json_t *a = json_array();
  for (size_t i = 0; v[i] != NULL; i++) {
    json_array_append_new(a, json_string(v[i]));
  }
  return a;
}

/* ---- records ---- */

void hcsd__ctr_ref(hcsd_ctr_t *c) { c->refs++; }

void hcsd__ctr_unref(hcsd_ctr_t *c) {
  if (--c->refs > 0) {
    return;
  }
  hcsd__log_close(c);
  if (c->exec_fd >= 0) {
    close(c->exec_fd);
  }
  free(c->name);
  free(c->image);
  free(c->image_id);
  json_decref(c->config);
  json_decref(c->host_config);
  hcsd__strv_free(c->layers);
  hcsd__strv_free(c->argv);
  hcsd__strv_free(c->env);
  free(c->cwd);
  free(c->user);
  free(c->stop_signal);
  free(c->hostname);
  free(c->net_mode);
  free(c->sandbox);
  free(c->error);
  free(c->endpoint_id);
  free(c->net_name);
  free(c->net_settings);
  while (c->stdin_head != NULL) {
    pend_t *p = c->stdin_head;
    c->stdin_head = p->next;
    free(p);
  }
  as_timer_free(c->stop_timer);
  free(c);
}

void hcsd__ctr_unlink(hcsd_ctr_t *c) {
  for (hcsd_ctr_t **pp = &c->d->ctrs; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      c->d->nctrs--;
      return;
    }
  }
}

const char *hcsd__state_name(const hcsd_ctr_t *c) {
  switch (c->state) {
  case CS_CREATED:
    return "created";
  case CS_RUNNING:
    return "running";
  case CS_EXITED:
    return "exited";
  default:
    return "removing";
  }
}

size_t hcsd_ctrs_count(hcsd_t *d, const char *state) {
  size_t n = 0;
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    n += strcmp(hcsd__state_name(c), state) == 0;
  }
  return n;
}

/* By exact id, then name (with or without '/'), then unique id prefix. */
hcsd_ctr_t *hcsd_ctr_find(hcsd_t *d, const char *ref) {
  if (ref == NULL || ref[0] == '\0') {
    return NULL;
  }
  const char *name = ref[0] == '/' ? ref + 1 : ref;
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (strcmp(c->id, ref) == 0) {
      return c;
    }
  }
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (c->name != NULL && strcmp(c->name, name) == 0) {
      return c;
    }
  }
  hcsd_ctr_t *hit = NULL;
  size_t n = strlen(ref);
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (strncmp(c->id, ref, n) == 0) {
      if (hit != NULL) {
        return NULL;
      }
      hit = c;
    }
  }
  return hit;
}

static hcsd_ctr_t *find_or_404(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = hcsd_ctr_find(d, ref);
  if (c == NULL || c->state == CS_REMOVING) {
    hcsd_reply_error(r, 404, "No such container: %s", ref);
    return NULL;
  }
  return c;
}

/* ---- waiters ---- */

static void waiter_answer(hcsd_ctr_t *c, waiter_t *w) {
  (void)hcsd_req_on_gone(w->r, NULL, NULL); /* w is answered now */
  char body[96];
  int n = snprintf(body, sizeof(body), "{\"StatusCode\":%d}\n", c->exit_code);
  hcsd_chunked_write(w->r, body, (size_t)n);
  hcsd_chunked_end(w->r);
  hcsd_req_unref(w->r);
  free(w);
}

/* A wait's client that goes holds nothing until the container's end
 * (which, for condition=removed, may never come). */
void hcsd__waiter_gone(hcsd_req_t *r, void *data) {
  waiter_t *w = data;
  for (waiter_t **pp = w->list; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  }
  free(w);
  hcsd_req_unref(r);
}

void hcsd__ctr_wake(hcsd_ctr_t *c) {
  waiter_t **pp = &c->waiters;
  while (*pp != NULL) {
    waiter_t *w = *pp;
    int ready;
    if (c->state == CS_REMOVING) {
      ready = 1; /* every waiter ends with the container */
    } else if (w->cond == W_REMOVED) {
      ready = 0;
    } else if (w->cond == W_NEXT_EXIT) {
      ready = c->exits > w->gen && !c->busy;
    } else {
      ready = c->state != CS_RUNNING && !c->busy;
    }
    if (ready) {
      *pp = w->next;
      waiter_answer(c, w);
    } else {
      pp = &w->next;
    }
  }
}

void hcsd__ctr_add_settle(hcsd_ctr_t *c, int (*fn)(hcsd_ctr_t *, void *),
                          void *data) {
  waiter_t *w = calloc(1, sizeof(*w));
  if (w == NULL) {
    return;
  }
  w->fn = fn;
  w->data = data;
  w->next = c->settle;
  c->settle = w;
}

void hcsd__ctr_settled(hcsd_ctr_t *c) {
  hcsd__ctr_ref(c);
  while (c->settle != NULL && !c->busy) {
    waiter_t *w = c->settle;
    c->settle = w->next;
    w->fn(c, w->data);
    free(w);
  }
  hcsd__ctr_unref(c);
}

/* ---- create ---- */

typedef struct create_s {
  hcsd_t *d;
  hcsd_ctr_done_cb done;
  void *data;
  hcsd_ctr_t *c;
  hcsd_image_t *img;
  int status;
  char msg[512];
} create_t;

static int name_ok(const char *n) {
  if (!isalnum((unsigned char)n[0])) {
    return 0;
  }
  for (const char *p = n; *p != '\0'; p++) {
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') {
      return 0;
    }
  }
  return strlen(n) < 200;
}

static void create_work(void *data) {
  create_t *j = data;
  hcsd_ctr_t *c = j->c;
  if (hcsd_images_resolve(j->d->images, c->image, &j->img) != 0) {
    const char *tag =
        strchr(c->image, ':') != NULL || strncmp(c->image, "sha256:", 7) == 0
            ? ""
            : ":latest";
    j->status = 404;
    snprintf(j->msg, sizeof(j->msg), "No such image: %s%s", c->image, tag);
    return;
  }
  char *home = hcsd__sandbox_home(j->d);
  hcs_driver_info_t info = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = home};
  hcs_error_t *err = NULL;
  const char *base = strrchr(j->img->layers[0], '/');
  hcs_result_t hr = hcs_CreateSandboxLayer(
      &info, c->id, base != NULL ? base + 1 : j->img->layers[0],
      (const char *const *)j->img->layers, &err);
  if (hr != HCS_OK) {
    j->status = 500;
    snprintf(j->msg, sizeof(j->msg), "creating the container's layer: %s",
             hcs_error_message(err));
    hcs_error_free(err);
  } else {
    size_t n = strlen(home) + 70;
    c->sandbox = malloc(n);
    snprintf(c->sandbox, n, "%s/%s", home, c->id);
  }
  free(home);
}

/* Entrypoint + Cmd as docker resolves them against the image. */
static char **resolve_argv(json_t *cfg, const hcsd_image_t *img) {
  json_t *ep = json_object_get(cfg, "Entrypoint");
  json_t *cmd = json_object_get(cfg, "Cmd");
  char **e = json_is_null(ep) || ep == NULL ? hcsd__strv_dup(img->entrypoint)
                                            : hcsd__strv_from_json(ep);
  char **m;
  if (cmd != NULL && !json_is_null(cmd)) {
    m = hcsd__strv_from_json(cmd);
  } else if (ep == NULL || json_is_null(ep)) {
    m = hcsd__strv_dup(img->cmd);
  } else {
    m = NULL;
  }
  size_t ne = hcsd__strv_len(e), nm = hcsd__strv_len(m);
  char **v = calloc(ne + nm + 1, sizeof(char *));
  for (size_t i = 0; v != NULL && i < ne; i++) {
    v[i] = strdup(e[i]);
  }
  for (size_t i = 0; v != NULL && i < nm; i++) {
    v[ne + i] = strdup(m[i]);
  }
  hcsd__strv_free(e);
  hcsd__strv_free(m);
  return v;
}

/* The image's env, then the container's (a later K= wins). */
static char **merge_env(char *const *base, json_t *extra) {
  size_t nb = hcsd__strv_len(base), ne = json_array_size(extra);
  char **v = calloc(nb + ne + 1, sizeof(char *));
  size_t n = 0;
  for (size_t i = 0; v != NULL && i < nb + ne; i++) {
    const char *kv =
        i < nb ? base[i] : json_string_value(json_array_get(extra, i - nb));
    if (kv == NULL) {
      continue;
    }
    size_t kl = strcspn(kv, "=");
    size_t j;
    for (j = 0; j < n; j++) {
      if (strncmp(v[j], kv, kl) == 0 && (v[j][kl] == '=' || v[j][kl] == 0)) {
        break;
      }
    }
    if (j < n) {
      free(v[j]);
      v[j] = strdup(kv);
    } else {
      v[n++] = strdup(kv);
    }
  }
  return v;
}

static void create_done(void *data) {
  create_t *j = data;
  hcsd_ctr_t *c = j->c;
  c->busy = 0;
  if (j->status != 0) {
    hcsd_err_t e = {.status = j->status};
    snprintf(e.msg, sizeof(e.msg), "%s", j->msg);
    hcsd__ctr_unlink(c);
    j->done(c, &e, j->data);
    hcsd__ctr_unref(c);
  } else {
    const hcsd_image_t *img = j->img;
    c->image_id = strdup(img->id);
    c->layers = hcsd__strv_dup(img->layers);
    c->argv = resolve_argv(c->config, img);
    c->env = merge_env(img->env, json_object_get(c->config, "Env"));
    const char *wd =
        json_string_value(json_object_get(c->config, "WorkingDir"));
    c->cwd = strdup(wd != NULL && wd[0] != '\0'
                        ? wd
                        : (img->working_dir != NULL && img->working_dir[0]
                               ? img->working_dir
                               : "/"));
    const char *user = json_string_value(json_object_get(c->config, "User"));
    c->user = strdup(user != NULL && user[0] != '\0'
                         ? user
                         : (img->user != NULL ? img->user : ""));
    const char *ss =
        json_string_value(json_object_get(c->config, "StopSignal"));
    c->stop_signal =
        strdup(ss != NULL && ss[0] != '\0'
                   ? ss
                   : (img->stop_signal != NULL ? img->stop_signal : "SIGTERM"));
    /* What inspect shows as Config: the resolved values. */
    json_object_set_new(c->config, "Cmd", hcsd__strv_to_json(c->argv));
    json_object_set_new(c->config, "Entrypoint", json_null());
    json_object_set_new(c->config, "Env", hcsd__strv_to_json(c->env));
    json_object_set_new(c->config, "Hostname", json_string(c->hostname));
    json_object_set_new(c->config, "WorkingDir",
                        json_string(wd != NULL ? wd : ""));
    json_object_set_new(c->config, "Image", json_string(c->image));
    hcsd__store_save(c);
    j->done(c, NULL, j->data);
    hcsd__ctr_settled(c);
  }
  hcsd_image_free(j->img);
  free(j);
}

/* The name is free and well formed: 0, or -1 with e set. */
static int name_check(hcsd_t *d, const char *name, hcsd_err_t *e) {
  if (!name_ok(name)) {
    hcsd_err_set(e, 400,
                 "Invalid container name (%s), only "
                 "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                 name);
    return -1;
  }
  for (hcsd_ctr_t *o = d->ctrs; o != NULL; o = o->next) {
    if (o->name != NULL && strcmp(o->name, name) == 0) {
      hcsd_err_set(e, 409,
                   "Conflict. The container name \"/%s\" is already in "
                   "use by container \"%s\". You have to remove (or "
                   "rename) that container to be able to reuse that "
                   "name.",
                   name, o->id);
      return -1;
    }
  }
  return 0;
}

/* A new record from spec (its JSON taken), linked, busy until made. */
static hcsd_ctr_t *ctr_new(hcsd_t *d, hcsd_ctr_spec_t *spec, const char *name) {
  hcsd_ctr_t *c = calloc(1, sizeof(*c));
  if (c == NULL || as_timer_new(d->loop, &c->stop_timer) != 0) {
    free(c);
    return NULL;
  }
  c->d = d;
  c->refs = 1;
  c->log_fd = -1;
  c->exec_fd = -1;
  hcsd_random_id(c->id);
  if (name != NULL && name[0] != '\0') {
    c->name = strdup(name);
  } else if (asprintf(&c->name, "hcs_%.12s", c->id) < 0) {
    c->name = NULL;
  }
  c->image = strdup(spec->image);
  c->host_config = spec->host_config;
  c->config = spec->config;
  spec->host_config = spec->config = NULL;
  c->tty = spec->tty;
  c->open_stdin = spec->open_stdin;
  c->stdin_once = spec->stdin_once;
  c->auto_remove = spec->auto_remove;
  c->rows = spec->rows;
  c->cols = spec->cols;
  const char *hn = spec->hostname;
  c->hostname = strndup(hn != NULL && hn[0] != '\0' ? hn : c->id, 63);
  if (hn == NULL || hn[0] == '\0') {
    c->hostname[12] = '\0';
  }
  c->net_mode = strdup(spec->net_mode);
  c->created_ns = hcsd_now_ns();
  c->state = CS_CREATED;
  c->busy = 1;
  c->next = d->ctrs;
  d->ctrs = c;
  d->nctrs++;
  return c;
}

int hcsd_ctr_create(hcsd_t *d, hcsd_ctr_spec_t *spec, const char *name,
                    hcsd_ctr_done_cb done, void *data, hcsd_err_t *e) {
  if (name != NULL && name[0] != '\0' && name_check(d, name, e) != 0) {
    return -1;
  }
  create_t *j = calloc(1, sizeof(*j));
  hcsd_ctr_t *c = j != NULL ? ctr_new(d, spec, name) : NULL;
  if (c == NULL) {
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  j->d = d;
  j->c = c;
  j->done = done;
  j->data = data;
  if (hcsd_work(d, create_work, create_done, j) != 0) {
    j->status = 500;
    snprintf(j->msg, sizeof(j->msg), "out of memory");
    create_done(j);
  }
  return 0;
}

static void created(hcsd_ctr_t *c, const hcsd_err_t *e, void *data) {
  hcsd_req_t *r = data;
  if (e != NULL) {
    hcsd_reply_error(r, e->status, "%s", e->msg);
  } else {
    hcsd_reply_json(r, 201, json_pack("{s:s,s:[]}", "Id", c->id, "Warnings"));
  }
  hcsd_req_unref(r);
}

void hcsd_h_ctr_create(hcsd_t *d, hcsd_req_t *r) {
  hcsd_ctr_spec_t spec;
  hcsd_err_t e;
  if (hcsd_ctr_spec_decode(r->body, r->body_len, &spec, &e) != 0) {
    hcsd_reply_error(r, e.status, "%s", e.msg);
    return;
  }
  char *name = hcsd_query(r, "name");
  const char *n = name != NULL && name[0] == '/' ? name + 1 : name;
  hcsd_req_ref(r);
  if (hcsd_ctr_create(d, &spec, n, created, r, &e) != 0) {
    hcsd_reply_error(r, e.status, "%s", e.msg);
    hcsd_req_unref(r);
  }
  free(name);
  hcsd_ctr_spec_clear(&spec);
}

/* ---- list, inspect ---- */

static void status_text(const hcsd_ctr_t *c, char *out, size_t n) {
  int64_t now = hcsd_now_ns();
  int64_t since = c->state == CS_RUNNING ? c->started_ns : c->finished_ns;
  int64_t s = (now - since) / 1000000000;
  char ago[64];
  if (s < 1) {
    snprintf(ago, sizeof(ago), "Less than a second");
  } else if (s < 60) {
    snprintf(ago, sizeof(ago), "%lld second%s", (long long)s,
             s == 1 ? "" : "s");
  } else if (s < 3600) {
    snprintf(ago, sizeof(ago), "%lld minute%s", (long long)(s / 60),
             s / 60 == 1 ? "" : "s");
  } else {
    snprintf(ago, sizeof(ago), "%lld hours", (long long)(s / 3600));
  }
  if (c->state == CS_RUNNING) {
    snprintf(out, n, "Up %s", ago);
  } else if (c->state == CS_EXITED && c->finished_ns != 0) {
    snprintf(out, n, "Exited (%d) %s ago", c->exit_code, ago);
  } else if (c->state == CS_REMOVING) {
    snprintf(out, n, "Removal In Progress");
  } else {
    snprintf(out, n, "Created");
  }
}

static char *joined(char *const *v) {
  size_t n = 1;
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    n += strlen(v[i]) + 1;
  }
  char *s = calloc(1, n);
  for (size_t i = 0; s != NULL && v != NULL && v[i] != NULL; i++) {
    if (i > 0) {
      strcat(s, " ");
    }
    strcat(s, v[i]);
  }
  return s;
}

static json_t *networks_json(const hcsd_ctr_t *c) {
  json_t *n = json_object();
  if (c->net_name != NULL && c->net_settings != NULL) {
    json_t *s = json_loads(c->net_settings, 0, NULL);
    if (s != NULL) {
      json_object_set_new(n, c->net_name, s);
    }
  }
  return n;
}

void hcsd_h_ctr_list(hcsd_t *d, hcsd_req_t *r) {
  int all = hcsd_query_bool(r, "all");
  json_t *a = json_array();
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if ((!all && c->state != CS_RUNNING) || (c->busy && c->image_id == NULL)) {
      continue;
    }
    char st[96], nm[256];
    status_text(c, st, sizeof(st));
    snprintf(nm, sizeof(nm), "/%s", c->name);
    char *cmd = joined(c->argv);
    json_array_append_new(
        a,
        json_pack("{s:s,s:[s],s:s,s:s,s:s,s:I,s:[],s:{},s:s,s:s,"
                  "s:{s:s},s:{s:o},s:[]}",
                  "Id", c->id, "Names", nm, "Image", c->image, "ImageID",
                  c->image_id != NULL ? c->image_id : "", "Command",
                  cmd != NULL ? cmd : "", "Created",
                  (json_int_t)(c->created_ns / 1000000000), "Ports", "Labels",
                  "State", hcsd__state_name(c), "Status", st, "HostConfig",
                  "NetworkMode", c->net_mode, "NetworkSettings", "Networks",
                  networks_json(c), "Mounts"));
    free(cmd);
  }
  hcsd_reply_json(r, 200, a);
}

json_t *hcsd__ctr_json(hcsd_ctr_t *c);
json_t *hcsd__ctr_json(hcsd_ctr_t *c) {
  char created[40], started[40], finished[40], nm[256];
  hcsd_time_rfc3339(c->created_ns, created);
  hcsd_time_rfc3339(c->started_ns, started);
  hcsd_time_rfc3339(c->finished_ns, finished);
  snprintf(nm, sizeof(nm), "/%s", c->name);
  json_t *args = json_array();
  for (size_t i = 1; c->argv != NULL && c->argv[0] != NULL && c->argv[i]; i++) {
    json_array_append_new(args, json_string(c->argv[i]));
  }
  json_t *execs = json_array();
  for (hcsd_exec_t *e = c->execs; e != NULL; e = e->next) {
    json_array_append_new(execs, json_string(e->id));
  }
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:o,s:{s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:s,"
      "s:s},s:s,s:s,s:i,s:O,s:O,s:{s:o,s:s,s:s},s:[],s:s,s:s,s:o,s:s}",
      "Id", c->id, "Created", created, "Name", nm, "Path",
      c->argv != NULL && c->argv[0] != NULL ? c->argv[0] : "", "Args", args,
      "State", "Status", hcsd__state_name(c), "Running", c->state == CS_RUNNING,
      "Paused", 0, "Restarting", 0, "OOMKilled", c->oom, "Dead", 0, "Removing",
      c->state == CS_REMOVING, "Pid", c->pid, "ExitCode", c->exit_code, "Error",
      c->error != NULL ? c->error : "", "StartedAt", started, "FinishedAt",
      finished, "Image", c->image_id != NULL ? c->image_id : "", "Driver",
      "overlay", "RestartCount", c->restart_count, "Config", c->config,
      "HostConfig", c->host_config, "NetworkSettings", "Networks",
      networks_json(c), "SandboxID", "", "SandboxKey", "", "Mounts", "Platform",
      "linux", "Hostname", c->hostname, "ExecIDs", execs, "LogPath", "");
  return o;
}

void hcsd_h_ctr_inspect(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = find_or_404(d, r, ref);
  if (c != NULL) {
    hcsd_reply_json(r, 200, hcsd__ctr_json(c));
  }
}

/* ---- start, kill, stop, rm, wait, resize ---- */

static int retry_start(hcsd_ctr_t *c, void *data) {
  hcsd_h_ctr_start(c->d, data, c->id);
  hcsd_req_unref(data);
  return 0;
}

void hcsd_h_ctr_start(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = find_or_404(d, r, ref);
  if (c == NULL) {
    return;
  }
  if (c->busy) {
    hcsd_req_ref(r);
    hcsd__ctr_add_settle(c, retry_start, r);
    return;
  }
  if (c->state == CS_RUNNING) {
    hcsd_reply_empty(r, 304);
    return;
  }
  hcsd__ctr_start(c, r);
}

static int stop_reply(hcsd_ctr_t *c, void *data) {
  (void)c;
  hcsd_reply_empty(data, 204);
  hcsd_req_unref(data);
  return 0;
}

void hcsd_h_ctr_kill(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = find_or_404(d, r, ref);
  if (c == NULL) {
    return;
  }
  if (c->state != CS_RUNNING || c->main == NULL) {
    hcsd_reply_error(r, 409,
                     "cannot kill container: %s: container %s is not running",
                     ref, c->id);
    return;
  }
  char *s = hcsd_query(r, "signal");
  int sig = s != NULL && s[0] != '\0' ? hcsd_signal_number(s) : SIGKILL;
  int bad = s != NULL && s[0] != '\0' && sig == 0;
  free(s);
  if (bad) {
    hcsd_reply_empty(r, 204); /* as the spec asks: unknown signals ignored */
    return;
  }
  (void)hcs_session_kill(c->main, sig);
  if (sig == SIGKILL) {
    /* As moby: a KILL is answered once the container has stopped. */
    hcsd_req_ref(r);
    hcsd__ctr_add_settle(c, stop_reply, r);
    return;
  }
  hcsd_reply_empty(r, 204);
}

/* Stops c with the request's signal (default: the image's StopSignal or
 * SIGTERM) and timeout t seconds (default 10), then SIGKILL. */
static void stop_as_asked(hcsd_ctr_t *c, hcsd_req_t *r) {
  char *s = hcsd_query(r, "signal");
  char *t = hcsd_query(r, "t");
  int sig = hcsd_signal_number(s != NULL ? s : c->stop_signal);
  int secs = t != NULL ? atoi(t) : 10;
  free(s);
  free(t);
  hcsd__ctr_stop(c, sig != 0 ? sig : SIGTERM, secs);
}

void hcsd_h_ctr_stop(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = find_or_404(d, r, ref);
  if (c == NULL) {
    return;
  }
  if (c->state != CS_RUNNING) {
    if (c->busy) {
      hcsd_req_ref(r);
      hcsd__ctr_add_settle(c, stop_reply, r);
      return;
    }
    hcsd_reply_empty(r, 304);
    return;
  }
  hcsd_req_ref(r);
  hcsd__ctr_add_settle(c, stop_reply, r);
  stop_as_asked(c, r);
}

static int delete_after(hcsd_ctr_t *c, void *data) {
  hcsd_req_t *r = data;
  if (c->state == CS_RUNNING || c->busy) {
    /* Still up (a stop that did not take): ask again after. */
    hcsd__ctr_add_settle(c, delete_after, r);
    return 0;
  }
  hcsd__ctr_remove(c, r);
  hcsd_req_unref(r);
  return 0;
}

void hcsd_h_ctr_delete(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = find_or_404(d, r, ref);
  if (c == NULL) {
    return;
  }
  int force = hcsd_query_bool(r, "force");
  if ((c->state == CS_RUNNING || c->busy) && !force) {
    hcsd_reply_error(r, 409,
                     "cannot remove container \"/%s\": container is running: "
                     "stop the container before removing or force remove",
                     c->name);
    return;
  }
  hcsd_req_ref(r);
  if (c->state == CS_RUNNING || c->busy) {
    hcsd__ctr_add_settle(c, delete_after, r);
    if (c->state == CS_RUNNING) {
      hcsd__ctr_stop(c, SIGKILL, 0);
    }
    return;
  }
  hcsd__ctr_remove(c, r);
  hcsd_req_unref(r);
}

void hcsd_h_ctr_wait(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = find_or_404(d, r, ref);
  if (c == NULL) {
    return;
  }
  char *cond = hcsd_query(r, "condition");
  int w = W_NOT_RUNNING;
  if (cond != NULL && strcmp(cond, "next-exit") == 0) {
    w = W_NEXT_EXIT;
  } else if (cond != NULL && strcmp(cond, "removed") == 0) {
    w = W_REMOVED;
  } else if (cond != NULL && cond[0] != '\0' &&
             strcmp(cond, "not-running") != 0) {
    hcsd_reply_error(r, 400, "invalid condition: \"%s\"", cond);
    free(cond);
    return;
  }
  free(cond);
  waiter_t *wt = calloc(1, sizeof(*wt));
  if (wt == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return;
  }
  /* Headers now: the CLI starts the container only once it has them. */
  hcsd_chunked_begin(r, 200, "application/json", NULL, 0);
  if (hcsd_req_on_gone(r, hcsd__waiter_gone, wt) != 0) {
    free(wt);
    hcsd_chunked_end(r);
    return;
  }
  hcsd_req_ref(r);
  wt->r = r;
  wt->list = &c->waiters;
  wt->cond = w;
  wt->gen = c->exits;
  wt->next = c->waiters;
  c->waiters = wt;
  hcsd__ctr_wake(c);
}

void hcsd_h_ctr_resize(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = find_or_404(d, r, ref);
  if (c == NULL) {
    return;
  }
  uint16_t rows, cols;
  if (hcsd_query_size(r, &rows, &cols) != 0) {
    return;
  }
  c->rows = rows;
  c->cols = cols;
  if (c->state == CS_RUNNING && c->main != NULL && c->tty) {
    (void)hcs_session_resize(c->main, c->rows, c->cols);
  }
  hcsd_reply(r, 200, "text/plain; charset=utf-8", NULL, 0);
}

/* ---- restart, prune ---- */

static int restart_after_stop(hcsd_ctr_t *c, void *data) {
  hcsd_req_t *r = data;
  if (c->state == CS_RUNNING || c->busy) {
    hcsd__ctr_add_settle(c, restart_after_stop, r);
    return 0;
  }
  if (c->state == CS_REMOVING) {
    hcsd_reply_error(r, 404, "No such container: %s", c->id);
    hcsd_req_unref(r);
    return 0;
  }
  c->restart_count++;
  hcsd__ctr_start(c, r);
  hcsd_req_unref(r);
  return 0;
}

/* POST /containers/{id}/restart[?t=N&signal=S]: stop as stop does, then
 * start; 204 once started. */
void hcsd_h_ctr_restart(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_ctr_t *c = find_or_404(d, r, ref);
  if (c == NULL) {
    return;
  }
  hcsd_req_ref(r);
  if (c->state == CS_RUNNING && c->main != NULL) {
    hcsd__ctr_add_settle(c, restart_after_stop, r);
    stop_as_asked(c, r);
    return;
  }
  restart_after_stop(c, r);
}

/* POST /containers/prune: removes every container that is not running;
 * {"ContainersDeleted":[ids],"SpaceReclaimed":0}. Replies once the
 * removals are under way (each finishes on its own). */
void hcsd_h_ctr_prune(hcsd_t *d, hcsd_req_t *r) {
  json_t *ids = json_array();
  for (hcsd_ctr_t *c = d->ctrs, *next; c != NULL; c = next) {
    next = c->next;
    if (c->state != CS_RUNNING && !c->busy) {
      json_array_append_new(ids, json_string(c->id));
      hcsd__ctr_remove(c, NULL);
    }
  }
  hcsd_reply_json(
      r, 200,
      json_pack("{s:o,s:i}", "ContainersDeleted", ids, "SpaceReclaimed", 0));
}
