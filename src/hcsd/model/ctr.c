/* SPDX-License-Identifier: MIT */
/* hcsd's containers: the records, how a reference finds one, waits and
 * settle callbacks, and create (the calls that change a running container
 * are ctr_ops.c's, its compute system and main process ctr_run.c's, its
 * output ctr_io.c's). */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"
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
    return hcsd__ctr_paused(c) ? "paused" : "running";
  case CS_EXITED:
    return c->restarting ? "restarting" : "exited";
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
  char *wd;         /* Config.WorkingDir, NULL or "" when not given */
  json_t *aliases;  /* --network-alias names, or NULL */
  json_t *networks; /* EndpointsConfig of its other networks, or NULL */
  char **argv;      /* resolved against the image */
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

/* The walk of mkdir_in_root: what is left of the path, the directory
 * reached (an O_PATH fd) and its path from root, which holds no symlink
 * and no "..". */
typedef struct walk_s {
  int root, cur;
  int links;
  char rest[PATH_MAX];
  char at[PATH_MAX];
} walk_t;

/* Moves the walk to w->at, looked up from root with no symlink followed:
 * 0 or -errno. */
static int walk_reopen(walk_t *w) {
  struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
  int fd = w->at[0] == '\0'
               ? dup(w->root)
               : (int)syscall(SYS_openat2, w->root, w->at, &how, sizeof(how));
  if (fd < 0) {
    return -errno;
  }
  close(w->cur);
  w->cur = fd;
  return 0;
}

/* The symlink name in the current directory: its target takes its place
 * at the head of what is left (an absolute one walked from root). */
static int walk_link(walk_t *w, const char *name) {
  char target[PATH_MAX], joined[PATH_MAX];
  ssize_t n = readlinkat(w->cur, name, target, sizeof(target) - 1);
  if (n < 0) {
    return -errno;
  }
  target[n] = '\0';
  if (++w->links > 40 /* the kernel's MAXSYMLINKS */) {
    return -ELOOP;
  }
  if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", target, w->rest) >=
      sizeof(joined)) {
    return -ENAMETOOLONG;
  }
  memcpy(w->rest, joined, sizeof(joined));
  if (target[0] == '/') {
    w->at[0] = '\0';
    return walk_reopen(w);
  }
  return 0;
}

/* One component: "..", a directory entered (made when missing) or a
 * symlink replaced by its target. 0 or -errno. */
static int walk_step(walk_t *w, const char *name) {
  if (strcmp(name, "..") == 0) {
    char *slash = strrchr(w->at, '/');
    *(slash != NULL ? slash : w->at) = '\0'; /* never above root */
    return walk_reopen(w);
  }
  struct stat st;
  if (fstatat(w->cur, name, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
      (errno != ENOENT ||
       (mkdirat(w->cur, name, 0755) != 0 && errno != EEXIST) ||
       fstatat(w->cur, name, &st, AT_SYMLINK_NOFOLLOW) != 0)) {
    return -errno;
  }
  if (S_ISLNK(st.st_mode)) {
    return walk_link(w, name);
  }
  if (!S_ISDIR(st.st_mode)) {
    return -ENOTDIR;
  }
  size_t len = strlen(w->at);
  if (len + strlen(name) + 2 > sizeof(w->at)) {
    return -ENAMETOOLONG;
  }
  int fd = openat(w->cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  close(w->cur);
  w->cur = fd;
  snprintf(w->at + len, sizeof(w->at) - len, "%s%s", len > 0 ? "/" : "", name);
  return 0;
}

/* dir made inside root with its missing parents (0755), as dockerd makes
 * a working directory (its SecureJoin, then MkdirAll): each component is
 * looked at without following it, a symlink's target is walked in its
 * place (an absolute one from root), ".." never climbs above root, so
 * nothing in the image can point the walk outside it. 0 or -errno. */
static int mkdir_in_root(int root, const char *dir) {
  walk_t *w = calloc(1, sizeof(*w));
  if (w == NULL) {
    return -ENOMEM;
  }
  w->root = root;
  w->cur = dup(root);
  int err = w->cur < 0 ? -errno : 0;
  if (err == 0 && (size_t)snprintf(w->rest, sizeof(w->rest), "%s", dir) >=
                      sizeof(w->rest)) {
    err = -ENAMETOOLONG;
  }
  while (err == 0 && w->rest[0] != '\0') {
    char name[NAME_MAX + 1];
    const char *p = w->rest + strspn(w->rest, "/");
    size_t n = strcspn(p, "/");
    if (n > NAME_MAX) {
      err = -ENAMETOOLONG;
      break;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    memmove(w->rest, p + n, strlen(p + n) + 1);
    if (n > 0 && strcmp(name, ".") != 0) {
      err = walk_step(w, name);
    }
  }
  if (w->cur >= 0) {
    close(w->cur);
  }
  free(w);
  return err;
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
  if (j->networks != NULL && j->d->nets != NULL) {
    char *msg = NULL;
    j->status = hcsd_nets_connect_all(j->d->nets, j->networks, c->id, c->name,
                                      c->net_mode, &msg);
    snprintf(j->msg, sizeof(j->msg), "%s", msg != NULL ? msg : "");
    free(msg);
    if (j->status != 0) {
      return;
    }
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
  if (j->status == 0 && j->aliases != NULL && j->d->nets != NULL) {
    hcsd_nets_aliases(j->d->nets, c->id, j->aliases);
  }
  if (j->status != 0 && j->networks != NULL && j->d->nets != NULL) {
    hcsd_nets_forget(j->d->nets, c->id);
  }
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
    /* The image's VOLUME paths: anonymous volumes, as -v /path. */
    hcsd_spec_anon_volumes(img->volumes, c->host_config);
    /* What inspect shows as Config: the resolved values. */
    json_object_set_new(c->config, "Cmd", hcsd__strv_to_json(c->argv));
    json_object_set_new(c->config, "Entrypoint", json_null());
    json_object_set_new(c->config, "Env", hcsd__strv_to_json(c->env));
    json_object_set_new(c->config, "Hostname", json_string(c->hostname));
    json_object_set_new(c->config, "WorkingDir",
                        json_string(wd != NULL ? wd : ""));
    json_object_set_new(c->config, "Image", json_string(c->image));
    hcsd__store_save(c);
    hcsd_event_ctr(c, "create", NULL);
    j->done(c->id, NULL, j->data);
    hcsd__ctr_settled(c);
  }
  hcsd_image_free(j->img);
  hcsd__strv_free(j->argv);
  free(j->wd);
  json_decref(j->aliases);
  json_decref(j->networks);
  free(j);
}

/* The name is free and well formed: 0, or -1 with e set. */
int hcsd__ctr_name_check(hcsd_t *d, const char *name, hcsd_err_t *e) {
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
  if (name != NULL && name[0] != '\0' &&
      hcsd__ctr_name_check(d, name, e) != 0) {
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
  j->aliases = spec->aliases;
  j->networks = spec->networks;
  spec->aliases = spec->networks = NULL;
  const char *wd = json_string_value(json_object_get(c->config, "WorkingDir"));
  j->wd = wd != NULL ? strdup(wd) : NULL;
  if (hcsd_work(d, create_work, create_done, j) != 0) {
    hcsd__ctr_unlink(c);
    hcsd__ctr_unref(c);
    free(j->wd);
    json_decref(j->aliases);
    json_decref(j->networks);
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}
