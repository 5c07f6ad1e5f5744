/* SPDX-License-Identifier: MIT */
/* hcsd's containers: the records, how a reference finds one, waits and
 * settle callbacks, and create (the calls that change a running container
 * are ctr_ops.c's, its compute system and main process ctr_run.c's, its
 * output ctr_io.c's). */
#include "hcsd/model/ctr_int.h"
#include "hcsd/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

hcsd_ctr_t *hcsd__ctr_get(hcsd_t *d, const char *ref, hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd_ctr_find(d, ref);
  if (c == NULL || c->state == CS_REMOVING) {
    hcsd_err_set(e, 404, "No such container: %s", ref);
    return NULL;
  }
  return c;
}

/* ---- waits ---- */

static int wait_ready(const hcsd_ctr_t *c, const hcsd_wait_t *w) {
  if (c->state == CS_REMOVING) {
    return 1; /* every wait ends with the container */
  }
  if (w->cond == W_REMOVED) {
    return 0;
  }
  if (w->cond == W_NEXT_EXIT) {
    return c->exits > w->gen && !c->busy;
  }
  return c->state != CS_RUNNING && !c->busy;
}

void hcsd__ctr_wake(hcsd_ctr_t *c) {
  hcsd_wait_t **pp = &c->waiters;
  while (*pp != NULL) {
    hcsd_wait_t *w = *pp;
    if (wait_ready(c, w)) {
      *pp = w->next;
      w->done(c->exit_code, w->data);
      free(w);
    } else {
      pp = &w->next;
    }
  }
}

static int wait_cond(const char *cond, hcsd_err_t *e) {
  if (cond == NULL || cond[0] == '\0' || strcmp(cond, "not-running") == 0) {
    return W_NOT_RUNNING;
  }
  if (strcmp(cond, "next-exit") == 0) {
    return W_NEXT_EXIT;
  }
  if (strcmp(cond, "removed") == 0) {
    return W_REMOVED;
  }
  hcsd_err_set(e, 400, "invalid condition: \"%s\"", cond);
  return -1;
}

int hcsd_ctr_wait(hcsd_t *d, const char *ref, const char *condition,
                  hcsd_wait_cb done, void *data, hcsd_wait_t **out, int *code,
                  hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  int cond = c != NULL ? wait_cond(condition, e) : -1;
  if (cond < 0) {
    return -1;
  }
  hcsd_wait_t *w = calloc(1, sizeof(*w));
  if (w == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  *w = (hcsd_wait_t){
      .c = c, .cond = cond, .gen = c->exits, .done = done, .data = data};
  if (wait_ready(c, w)) {
    free(w);
    *code = c->exit_code;
    return 0;
  }
  w->next = c->waiters;
  c->waiters = w;
  *out = w;
  return HCSD_PENDING;
}

/* A wait whose client went holds nothing until the container's end
 * (which, for condition=removed, may never come). */
void hcsd_wait_cancel(hcsd_wait_t *w) {
  for (hcsd_wait_t **pp = &w->c->waiters; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  }
  free(w);
}

/* ---- settle ---- */

void hcsd__ctr_add_settle(hcsd_ctr_t *c, int (*fn)(hcsd_ctr_t *, void *),
                          void *data) {
  settle_t *w = calloc(1, sizeof(*w));
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
    settle_t *w = c->settle;
    c->settle = w->next;
    w->fn(c, w->data);
    free(w);
  }
  hcsd__ctr_unref(c);
}

/* ---- create ---- */

typedef struct create_s {
  hcsd_t *d;
  hcsd_created_cb done;
  void *data;
  hcsd_ctr_t *c;
  hcsd_image_t *img;
  char *wd;    /* Config.WorkingDir, NULL or "" when not given */
  char **argv; /* resolved against the image */
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

/* Entrypoint + Cmd as docker resolves them against the image: an
 * Entrypoint given (even [""], which `--entrypoint ""` sends to clear the
 * image's) drops the image's Cmd, and [""] itself stands for none. */
static char **resolve_argv(json_t *cfg, const hcsd_image_t *img) {
  json_t *ep = json_object_get(cfg, "Entrypoint");
  json_t *cmd = json_object_get(cfg, "Cmd");
  const char *ep0 = json_string_value(json_array_get(ep, 0));
  bool cleared = json_array_size(ep) == 1 && ep0 != NULL && ep0[0] == '\0';
  char **e = json_is_null(ep) || ep == NULL ? hcsd__strv_dup(img->entrypoint)
             : cleared                      ? NULL
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

/* dir, resolved in root as if root were "/", made with its missing
 * parents (0755): 0 or -errno. Each prefix is looked up by openat2 with
 * RESOLVE_IN_ROOT, so that a symlink in the image (even "/x -> /") is
 * followed inside the root and never out of it. */
static int mkdir_in_root(int root, const char *dir) {
  char prefix[PATH_MAX] = "";
  size_t len = 0;
  int parent = dup(root);
  const char *p = dir;
  while (parent >= 0 && *p != '\0') {
    size_t n = strcspn(p, "/");
    if (n == 0 || (n == 1 && p[0] == '.')) {
      p += n + (p[n] == '/');
      continue;
    }
    if (len + n + 2 > sizeof(prefix)) {
      close(parent);
      return -ENAMETOOLONG;
    }
    char comp[PATH_MAX];
    memcpy(comp, p, n);
    comp[n] = '\0';
    len += (size_t)snprintf(prefix + len, sizeof(prefix) - len, "%s%s",
                            len > 0 ? "/" : "", comp);
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, root, prefix, &how, sizeof(how));
    if (fd < 0 && errno == ENOENT &&
        (mkdirat(parent, comp, 0755) == 0 || errno == EEXIST)) {
      fd = (int)syscall(SYS_openat2, root, prefix, &how, sizeof(how));
    }
    int err = fd < 0 ? -errno : 0;
    close(parent);
    if (err != 0) {
      return err;
    }
    parent = fd;
    p += n + (p[n] == '/');
  }
  if (parent < 0) {
    return -errno;
  }
  close(parent);
  return 0;
}

/* The working directory made in the new sandbox, as dockerd makes it at
 * create: the sandbox's view mounted in hcsd's mount namespace for the
 * time it takes. 0, or -1 with j's error set. */
static int make_workdir(create_t *j, const hcs_driver_info_t *info,
                        const char *wd) {
  hcs_error_t *err = NULL;
  char *path = NULL;
  const char *const *parents = (const char *const *)j->img->layers;
  hcs_result_t hr = hcs_PrepareLayer(info, j->c->id, parents, &err);
  if (hr == HCS_OK) {
    hr = hcs_GetLayerMountPath(info, j->c->id, &path, &err);
    int root = hr == HCS_OK ? open(path, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    int rc = root >= 0 ? mkdir_in_root(root, wd) : -errno;
    if (root >= 0) {
      close(root);
    }
    if (hr == HCS_OK && rc != 0) {
      j->status = 500;
      snprintf(j->msg, sizeof(j->msg),
               "Cannot mkdir: the working directory %.200s: %s", wd,
               strerror(-rc));
    }
    hcs_free(path);
    (void)hcs_UnprepareLayer(info, j->c->id, NULL);
  }
  if (hr != HCS_OK) {
    j->status = 500;
    snprintf(j->msg, sizeof(j->msg),
             "mounting the container's layer for its working directory: %s",
             hcs_error_message(err));
    hcs_error_free(err);
  }
  return j->status != 0 ? -1 : 0;
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
  j->argv = resolve_argv(c->config, j->img);
  if (j->argv == NULL || j->argv[0] == NULL) {
    j->status = 400;
    snprintf(j->msg, sizeof(j->msg), "No command specified");
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
    const char *iwd = j->img->working_dir;
    const char *wd = j->wd != NULL && j->wd[0] != '\0' ? j->wd
                     : iwd != NULL && iwd[0] != '\0'   ? iwd
                                                       : "/";
    if (strcmp(wd, "/") != 0 && make_workdir(j, &info, wd) != 0) {
      (void)hcs_DestroyLayer(&info, c->id, NULL);
      free(c->sandbox);
      c->sandbox = NULL;
    }
  }
  free(home);
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
    j->done(c->id, &e, j->data);
    hcsd__ctr_unref(c);
  } else {
    const hcsd_image_t *img = j->img;
    c->image_id = strdup(img->id);
    c->layers = hcsd__strv_dup(img->layers);
    c->argv = j->argv;
    j->argv = NULL;
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
    j->done(c->id, NULL, j->data);
    hcsd__ctr_settled(c);
  }
  hcsd_image_free(j->img);
  hcsd__strv_free(j->argv);
  free(j->wd);
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

hcsd_ctr_t *hcsd__ctr_alloc(hcsd_t *d) {
  hcsd_ctr_t *c = calloc(1, sizeof(*c));
  if (c == NULL || as_timer_new(d->loop, &c->stop_timer) != 0) {
    free(c);
    return NULL;
  }
  c->d = d;
  c->refs = 1;
  c->log_fd = -1;
  c->exec_fd = -1;
  return c;
}

/* A new record from spec (its JSON taken), linked, busy until made. */
static hcsd_ctr_t *ctr_new(hcsd_t *d, hcsd_ctr_spec_t *spec, const char *name) {
  hcsd_ctr_t *c = hcsd__ctr_alloc(d);
  if (c == NULL) {
    return NULL;
  }
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
                    hcsd_created_cb done, void *data, hcsd_err_t *e) {
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
  const char *wd = json_string_value(json_object_get(c->config, "WorkingDir"));
  j->wd = wd != NULL ? strdup(wd) : NULL;
  if (hcsd_work(d, create_work, create_done, j) != 0) {
    hcsd__ctr_unlink(c);
    hcsd__ctr_unref(c);
    free(j->wd);
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}
