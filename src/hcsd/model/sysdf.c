/* SPDX-License-Identifier: MIT */
/* sysdf.h: docker system df and the network and build-cache prunes. The
 * df's parts are taken on the engine thread (the containers, the volumes
 * and which containers use them, which images the containers stand on)
 * and measured on the pool: the containers' writable layers by
 * hcsd_ctr_list_sizes, the volumes' data by moby's du, the images by the
 * image store. */
#include "hcsd/model/sysdf.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/filters.h"
#include "hcsd/model/imgint.h"
#include "hcsd/model/imgjob.h"
#include "hcsd/model/nets.h"
#include "hcsd/model/volumes.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { DF_CTR = 1, DF_IMG = 2, DF_VOL = 4, DF_BUILD = 8 };

typedef struct df_job_s {
  hcsd_t *d;
  int want;
  json_t *ctrs; /* the list with sizes, or NULL */
  json_t *vols; /* the volumes, UsageData filled on the pool */
  json_t *refs; /* volume name -> containers using it */
  hcsd_img_users_t users;
  json_t *images; /* from the pool */
  int64_t layers; /* LayersSize */
  hcsd_sys_cb done;
  void *data;
} df_job_t;

static void df_free(df_job_t *j) {
  json_decref(j->ctrs);
  json_decref(j->vols);
  json_decref(j->refs);
  json_decref(j->images);
  hcsd_img_users_free(&j->users);
  free(j);
}

static void df_work(void *data) {
  df_job_t *j = data;
  if ((j->want & DF_IMG) != 0 && j->d->images != NULL) {
    int64_t reclaimable = 0;
    char *text =
        hcsd_images_df_json(j->d->images, &j->users, &j->layers, &reclaimable);
    j->images = text != NULL ? json_loads(text, 0, NULL) : NULL;
    free(text);
  }
  size_t i;
  json_t *v;
  json_array_foreach(j->vols, i, v) {
    const char *mp = json_string_value(json_object_get(v, "Mountpoint"));
    int fd = mp != NULL ? open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    int64_t size = fd >= 0 ? hcsd__dir_bytes(fd) : -1;
    json_int_t refs = json_integer_value(json_object_get(
        j->refs, json_string_value(json_object_get(v, "Name"))));
    json_object_set_new(
        v, "UsageData",
        json_pack("{s:I,s:I}", "Size", (json_int_t)size, "RefCount", refs));
  }
}

static void df_done(void *data) {
  df_job_t *j = data;
  json_t *o = json_pack("{s:I}", "LayersSize", (json_int_t)j->layers);
  json_object_set(o, "Images",
                  (j->want & DF_IMG) != 0 && j->images != NULL ? j->images
                                                               : json_null());
  json_object_set(o, "Containers",
                  (j->want & DF_CTR) != 0 ? j->ctrs : json_null());
  json_object_set(o, "Volumes",
                  (j->want & DF_VOL) != 0 ? j->vols : json_null());
  json_object_set_new(o, "BuildCache",
                      (j->want & DF_BUILD) != 0 ? json_array() : json_null());
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  j->done(text != NULL ? 200 : 500, text != NULL ? text : "out of memory",
          j->data);
  free(text);
  df_free(j);
}

static void df_sized(json_t *list, void *data) {
  df_job_t *j = data;
  j->ctrs = list;
  if (hcsd_work(j->d, df_work, df_done, j) != 0) {
    j->done(500, "out of memory", j->data);
    df_free(j);
  }
}

/* Which containers use each volume (the name's count in j->refs). */
static void count_volume_users(df_job_t *j) {
  for (hcsd_ctr_t *c = j->d->ctrs; c != NULL; c = c->next) {
    json_t *mounts = hcsd_volumes_mounts(j->d, c->host_config);
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m) {
      const char *name = json_string_value(json_object_get(m, "Name"));
      if (name != NULL) {
        json_int_t k = json_integer_value(json_object_get(j->refs, name));
        json_object_set_new(j->refs, name, json_integer(k + 1));
      }
    }
    json_decref(mounts);
  }
}

static int df_types(const char *const *types, size_t n, hcsd_err_t *e) {
  static const char *const names[] = {"container", "image", "volume",
                                      "build-cache"};
  if (n == 0) {
    return DF_CTR | DF_IMG | DF_VOL | DF_BUILD;
  }
  int want = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (k < 4 && strcmp(types[i], names[k]) != 0) {
      k++;
    }
    if (k == 4) {
      hcsd_err_set(e, 400, "unknown object type: %s", types[i]);
      return -1;
    }
    want |= 1 << k;
  }
  return want;
}

int hcsd_system_df(hcsd_t *d, const char *const *types, size_t ntypes,
                   hcsd_sys_cb done, void *data, hcsd_err_t *e) {
  int want = df_types(types, ntypes, e);
  if (want < 0) {
    return -1;
  }
  df_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  *j = (df_job_t){.d = d, .want = want, .done = done, .data = data};
  j->refs = json_object();
  hcsd_ctr_list_opts_t o = {.all = true};
  json_t *list = (want & DF_CTR) != 0 ? hcsd_ctr_list(d, &o, e) : json_array();
  json_t *vols = (want & DF_VOL) != 0 ? hcsd_vol_list(d, NULL, e) : NULL;
  j->vols = json_incref(json_object_get(vols, "Volumes"));
  json_decref(vols);
  if (j->vols == NULL) {
    j->vols = json_array();
  }
  count_volume_users(j);
  if (list == NULL || j->refs == NULL || !hcsd_img_users_take(d, &j->users)) {
    json_decref(list);
    df_free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  if (hcsd_ctr_list_sizes(d, list, df_sized, j, e) < 0) {
    json_decref(list);
    df_free(j);
    return -1;
  }
  return HCSD_PENDING;
}

/* ---- the prunes' filters: until, label, label! ---- */

/* until, label and label! read: 0, or -1 with e (400). */
static int prune_filters(const char *text, json_t **f, int64_t *until,
                         bool *has_until, hcsd_err_t *e) {
  static const char *const keys[] = {"until", "label", "label!"};
  char m[300];
  if (hcsd__filters_parse(text, keys, 3, f, m, sizeof(m)) != 0) {
    hcsd_err_set(e, 400, "%s", m);
    return -1;
  }
  json_t *u = json_object_get(*f, "until");
  const char *v = json_string_value(json_array_get(u, 0));
  if (json_array_size(u) > 1 ||
      (v != NULL && !hcsd__img_until(v, (int64_t)time(NULL), until))) {
    if (json_array_size(u) > 1) {
      hcsd_err_set(e, 400, "more than one until filter specified");
    } else {
      hcsd_err_set(e, 400, "failed to parse value as time or duration: \"%s\"",
                   v);
    }
    json_decref(*f);
    *f = NULL;
    return -1;
  }
  *has_until = v != NULL;
  return 0;
}

/* ---- network prune ---- */

typedef struct net_prune_s {
  hcsd_t *d;
  json_t *f;
  int64_t until;
  bool has_until;
  char *reply;
  hcsd_sys_cb done;
  void *data;
} net_prune_t;

static bool net_match(const net_prune_t *p, const json_t *net) {
  return (!p->has_until || hcsd__img_time(json_string_value(
                               json_object_get(net, "Created"))) < p->until) &&
         hcsd__img_labels_pass(p->f, json_object_get(net, "Labels"));
}

static void net_prune_work(void *data) {
  net_prune_t *p = data;
  char *list = NULL;
  int st = hcsd_nets_list(p->d->nets, &list);
  json_t *nets = st == 200 && list != NULL ? json_loads(list, 0, NULL) : NULL;
  free(list);
  json_t *deleted = json_array();
  size_t i;
  json_t *n;
  json_array_foreach(nets, i, n) {
    const char *id = json_string_value(json_object_get(n, "Id"));
    if (id == NULL || !net_match(p, n)) {
      continue;
    }
    char *reply = NULL;
    /* A predefined network (403) or one with endpoints (403) stays. */
    if (hcsd_nets_remove(p->d->nets, id, &reply) / 100 == 2) {
      json_array_append(deleted, json_object_get(n, "Name"));
    }
    free(reply);
  }
  json_decref(nets);
  json_t *o = json_pack("{s:o}", "NetworksDeleted",
                        json_array_size(deleted) > 0
                            ? deleted
                            : (json_decref(deleted), json_null()));
  p->reply = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
}

static void net_prune_done(void *data) {
  net_prune_t *p = data;
  p->done(p->reply != NULL ? 200 : 500,
          p->reply != NULL ? p->reply : "out of memory", p->data);
  free(p->reply);
  json_decref(p->f);
  free(p);
}

int hcsd_networks_prune(hcsd_t *d, const char *filters, hcsd_sys_cb done,
                        void *data, hcsd_err_t *e) {
  if (d->nets == NULL) {
    hcsd_err_set(e, 500, "networks are not available on this host");
    return -1;
  }
  net_prune_t *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  *p = (net_prune_t){.d = d, .done = done, .data = data};
  if (prune_filters(filters, &p->f, &p->until, &p->has_until, e) != 0) {
    free(p);
    return -1;
  }
  if (hcsd_work(d, net_prune_work, net_prune_done, p) != 0) {
    json_decref(p->f);
    free(p);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}

/* ---- container prune ---- */

typedef struct ctr_prune_s {
  hcsd_t *d;
  json_t *ids;    /* the containers that match, then those removed */
  char **uppers;  /* their writable layers */
  int64_t *sizes; /* measured on the pool */
  size_t n, left;
  int64_t reclaimed;
  hcsd_sys_cb done;
  void *data;
} ctr_prune_t;

static void ctr_prune_free(ctr_prune_t *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->uppers[i]);
  }
  free(p->uppers);
  free(p->sizes);
  json_decref(p->ids);
  free(p);
}

static void ctr_prune_answer(ctr_prune_t *p) {
  json_t *o = json_pack("{s:O,s:I}", "ContainersDeleted",
                        json_array_size(p->ids) > 0 ? p->ids : json_null(),
                        "SpaceReclaimed", (json_int_t)p->reclaimed);
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  p->done(text != NULL ? 200 : 500, text != NULL ? text : "out of memory",
          p->data);
  free(text);
  ctr_prune_free(p);
}

static void ctr_removed(const hcsd_err_t *e, void *data) {
  ctr_prune_t *p = data;
  (void)e; /* a removal cannot fail: what the host keeps is logged */
  if (--p->left == 0) {
    ctr_prune_answer(p);
  }
}

static bool ctr_prunable(const hcsd_ctr_t *c) {
  return c->state != CS_RUNNING && !c->busy && !c->restarting;
}

static void ctr_sizes(void *data) {
  ctr_prune_t *p = data;
  for (size_t i = 0; i < p->n; i++) {
    int fd = p->uppers[i] != NULL
                 ? open(p->uppers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                 : -1;
    p->sizes[i] = fd >= 0 ? hcsd__dir_bytes(fd) : 0;
  }
}

/* Back on the engine thread: those still prunable go. */
static void ctr_remove_measured(void *data) {
  ctr_prune_t *p = data;
  json_t *matched = p->ids;
  p->ids = json_array();
  p->left = 1; /* this call's own, so that no removal answers early */
  for (size_t i = 0; i < p->n; i++) {
    const char *id = json_string_value(json_array_get(matched, i));
    hcsd_ctr_t *c = hcsd_ctr_find(p->d, id);
    if (c != NULL && ctr_prunable(c) &&
        hcsd__ctr_remove(c, ctr_removed, p) == 0) {
      json_array_append_new(p->ids, json_string(id));
      p->reclaimed += p->sizes[i];
      p->left++;
    }
  }
  json_decref(matched);
  ctr_removed(NULL, p);
}

static bool ctr_match(const json_t *f, const hcsd_ctr_t *c, int64_t until,
                      bool has_until) {
  return (!has_until || c->created_ns / 1000000000 < until) &&
         hcsd__img_labels_pass(f, json_object_get(c->config, "Labels"));
}

int hcsd_containers_prune(hcsd_t *d, const char *filters, hcsd_sys_cb done,
                          void *data, hcsd_err_t *e) {
  json_t *f = NULL;
  int64_t until = 0;
  bool has_until = false;
  if (prune_filters(filters, &f, &until, &has_until, e) != 0) {
    return -1;
  }
  ctr_prune_t *p = calloc(1, sizeof(*p));
  bool ok = p != NULL && (p->ids = json_array()) != NULL &&
            (p->uppers = calloc(d->nctrs + 1, sizeof(char *))) != NULL &&
            (p->sizes = calloc(d->nctrs + 1, sizeof(int64_t))) != NULL;
  for (hcsd_ctr_t *c = d->ctrs; ok && c != NULL; c = c->next) {
    if (ctr_prunable(c) && ctr_match(f, c, until, has_until)) {
      json_array_append_new(p->ids, json_string(c->id));
      if (c->sandbox != NULL &&
          asprintf(&p->uppers[p->n], "%s/upper", c->sandbox) < 0) {
        p->uppers[p->n] = NULL;
      }
      p->n++;
    }
  }
  json_decref(f);
  if (ok) {
    p->d = d;
    p->done = done;
    p->data = data;
  }
  if (!ok || hcsd_work(d, ctr_sizes, ctr_remove_measured, p) != 0) {
    if (p != NULL) {
      ctr_prune_free(p);
    }
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}
