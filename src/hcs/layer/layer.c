/* SPDX-License-Identifier: MIT */
/* Layers: the layer-store calls of the HCS (ActivateLayer ...
 * UnprepareLayer) and their hcs extensions. Each validates its arguments
 * in full, then hands the store (layerstore.c, layerimport.c,
 * layerexport.c) a context naming the call for its errors. */
#include "hcs/layer/layerstore.h"

#include "hcs-async.h"
#include "hcs/api/id.h"
#include "hcs/api/opts.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* What one call takes besides info; what a call lacks stays NULL. */
typedef struct layer_args_s {
  const char *op;
  const char *id_name; /* "id" or "src_id"; NULL: the call takes no id */
  const char *id;
  const char *other_name; /* a second id: "dst_id", "parent", "parent_id" */
  const char *other;
  bool other_optional;     /* NULL or "" allowed: a base layer */
  const char *folder_name; /* "folder" for Export/Import */
  const char *folder;
  const char *const *parents;
  const char *null_out; /* the name of an out-parameter that is NULL */
} layer_args_t;

typedef struct why_s {
  char text[512];
} why_t;

/* Fills w and returns 1, so that a check reads `return say(w, ...)`. */
static int say(why_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int say(why_t *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->text, sizeof(w->text), fmt, ap);
  va_end(ap);
  return 1;
}

/* NULL, or why p is not a path the store can use: absolute, no "." or
 * ".." component (the store must not be steered outside the named
 * folders), and none of the characters overlayfs reads as separators in
 * its mount options (',' between options, ':' between lower dirs, '\' as
 * their escape) nor control characters. */
static const char *path_problem(const char *p) {
  if (p == NULL || p[0] != '/') {
    return "must be an absolute path";
  }
  if (strlen(p) >= PATH_MAX) {
    return "must be shorter than PATH_MAX";
  }
  for (const char *c = p; *c != '\0';) {
    unsigned char ch = (unsigned char)*c;
    if (ch < 0x20 || ch == 0x7f || ch == ',' || ch == ':' || ch == '\\') {
      return "must not hold ',', ':', '\\' or control characters";
    }
    if (ch != '/') {
      c++;
      continue;
    }
    while (*c == '/') {
      c++;
    }
    size_t n = strcspn(c, "/");
    if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
      return "must not have \".\" or \"..\" components";
    }
  }
  return NULL;
}

static int path_bad(why_t *w, const char *name, const char *p) {
  const char *why = path_problem(p);
  if (why == NULL) {
    return 0;
  }
  return p == NULL ? say(w, "%s: %s, not NULL", name, why)
                   : say(w, "%s: %s, not \"%.200s\"", name, why, p);
}

static int id_bad(why_t *w, const char *name, const char *id) {
  if (hcs__id_valid(id)) {
    return 0;
  }
  static const char rule[] =
      "must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'";
  return id == NULL ? say(w, "%s: %s, not NULL", name, rule)
                    : say(w, "%s: %s, not \"%.130s\"", name, rule, id);
}

static int info_bad(why_t *w, const hcs_driver_info_t *info) {
  if (info == NULL) {
    return say(w, "info: is NULL");
  }
  if (info->flavour != HCS_FLAVOUR_DIFF &&
      info->flavour != HCS_FLAVOUR_FILTER) {
    return say(w,
               "info->flavour: must be 0 (HCS_FLAVOUR_DIFF) or 1 "
               "(HCS_FLAVOUR_FILTER), not %d",
               info->flavour);
  }
  return path_bad(w, "info->home_dir", info->home_dir);
}

static int ids_bad(why_t *w, const layer_args_t *a) {
  if (a->id_name != NULL && id_bad(w, a->id_name, a->id)) {
    return 1;
  }
  if (a->other_name == NULL ||
      (a->other_optional && (a->other == NULL || a->other[0] == '\0'))) {
    return 0;
  }
  if (id_bad(w, a->other_name, a->other)) {
    return 1;
  }
  if (strcmp(a->other, a->id) == 0) {
    return say(w, "%s: must differ from %s", a->other_name, a->id_name);
  }
  return 0;
}

static int paths_bad(why_t *w, const layer_args_t *a) {
  if (a->folder_name != NULL && path_bad(w, a->folder_name, a->folder)) {
    return 1;
  }
  for (size_t i = 0; a->parents != NULL && a->parents[i] != NULL; i++) {
    char name[48];
    snprintf(name, sizeof(name), "parent_layer_paths[%zu]", i);
    if (path_bad(w, name, a->parents[i])) {
      return 1;
    }
  }
  return 0;
}

/* Validates a call's arguments in their order and readies its context. */
static hcs_result_t layer_begin(const layer_args_t *a,
                                const hcs_driver_info_t *info,
                                const hcs_layer_options_t *opts, hcs__lctx_t *c,
                                hcs_error_t **err) {
  memset(c, 0, sizeof(*c));
  c->op = a->op;
  c->err = err;
  c->homefd = -1;
  if (a->id_name != NULL && hcs__id_valid(a->id)) {
    snprintf(c->object, sizeof(c->object), "id=%s", a->id);
  }
  why_t w;
  if (info_bad(&w, info) || ids_bad(&w, a) || paths_bad(&w, a) ||
      (a->null_out != NULL && say(&w, "%s: is NULL", a->null_out))) {
    return hcs__fail(err, HCS_WSAEINVAL, a->op, c->object, EINVAL, "%s",
                     w.text);
  }
  c->home = info->home_dir;
  c->flavour = info->flavour;
  c->max_bytes = HCS_LAYER_MAX_BYTES_DEFAULT;
  c->max_entries = HCS_LAYER_MAX_ENTRIES_DEFAULT;
  hcs_layer_options_t o;
  hcs_result_t r = hcs__opts_in(&o, sizeof(o), opts, "hcs_layer_options_t",
                                a->op, c->object, err);
  if (r != HCS_OK) {
    return r;
  }
  if (opts != NULL) {
    opts = &o;
    c->max_bytes = opts->max_bytes != 0 ? opts->max_bytes : c->max_bytes;
    c->max_entries =
        opts->max_entries != 0 ? opts->max_entries : c->max_entries;
    c->progress.cb = opts->progress;
    c->progress.data = opts->data;
  }
  return HCS_OK;
}

static hcs_result_t layer_end(hcs__lctx_t *c, hcs_result_t r) {
  hcs__home_close(c);
  if (r == HCS_OK) {
    c->progress.p.done = true;
    (void)hcs__progress_add(&c->progress, 0, 0, true);
    return hcs__ok(c->err);
  }
  return r;
}

hcs_result_t hcs_ActivateLayer(const hcs_driver_info_t *info, const char *id,
                               hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::ActivateLayer", .id_name = "id", .id = id};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_activate(&c, id, true));
}

hcs_result_t hcs_DeactivateLayer(const hcs_driver_info_t *info, const char *id,
                                 hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::DeactivateLayer", .id_name = "id", .id = id};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_activate(&c, id, false));
}

hcs_result_t hcs_layer_copy(const hcs_driver_info_t *info, const char *src_id,
                            const char *dst_id,
                            const char *const *parent_layer_paths,
                            const hcs_layer_options_t *opts,
                            hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::CopyLayer",
                    .id_name = "src_id",
                    .id = src_id,
                    .other_name = "dst_id",
                    .other = dst_id,
                    .parents = parent_layer_paths};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, opts, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_copy(&c, src_id, dst_id));
}

hcs_result_t hcs_CopyLayer(const hcs_driver_info_t *info, const char *src_id,
                           const char *dst_id,
                           const char *const *parent_layer_paths,
                           hcs_error_t **err) {
  return hcs_layer_copy(info, src_id, dst_id, parent_layer_paths, NULL, err);
}

hcs_result_t hcs_CreateLayer(const hcs_driver_info_t *info, const char *id,
                             const char *parent, hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::CreateLayer",
                    .id_name = "id",
                    .id = id,
                    .other_name = "parent",
                    .other = parent,
                    .other_optional = true};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_create(&c, id, parent));
}

/* A parent given as its folder, as Docker's windowsfilter driver gave
 * CreateSandboxLayer's parentId (layerChain[0], the nearest parent's
 * folder): its last component, the layer's id, into buf. p itself when it
 * is not a clean absolute path (then checked, and refused, as an id). */
static const char *parent_id_of(const char *p, char *buf, size_t cap) {
  if (p == NULL || p[0] != '/' || path_problem(p) != NULL) {
    return p;
  }
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') {
    n--;
  }
  size_t start = n;
  while (start > 0 && p[start - 1] != '/') {
    start--;
  }
  if (start == n) {
    return p; /* "/": no component */
  }
  snprintf(buf, cap, "%.*s", (int)(n - start), p + start);
  return buf;
}

hcs_result_t hcs_CreateSandboxLayer(const hcs_driver_info_t *info,
                                    const char *id, const char *parent_id,
                                    const char *const *parent_layer_paths,
                                    hcs_error_t **err) {
  static const char op[] = "hcs::CreateSandboxLayer";
  char named[PATH_MAX];
  parent_id = parent_id_of(parent_id, named, sizeof(named));
  layer_args_t a = {.op = op,
                    .id_name = "id",
                    .id = id,
                    .other_name = "parent_id",
                    .other = parent_id,
                    .other_optional = true,
                    .parents = parent_layer_paths};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  if (r == HCS_OK) {
    r = hcs__lstore_create_sandbox(&c, id, parent_id, parent_layer_paths);
  }
  return layer_end(&c, r);
}

hcs_result_t hcs_DestroyLayer(const hcs_driver_info_t *info, const char *id,
                              hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::DestroyLayer", .id_name = "id", .id = id};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_destroy(&c, id));
}

hcs_result_t hcs_layer_export(const hcs_driver_info_t *info, const char *id,
                              const char *folder,
                              const char *const *parent_layer_paths,
                              const hcs_layer_options_t *opts,
                              hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::ExportLayer",
                    .id_name = "id",
                    .id = id,
                    .folder_name = "folder",
                    .folder = folder,
                    .parents = parent_layer_paths};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, opts, &c, err);
  if (r == HCS_OK) {
    r = hcs__lstore_export(&c, id, folder, parent_layer_paths);
  }
  return layer_end(&c, r);
}

hcs_result_t hcs_ExportLayer(const hcs_driver_info_t *info, const char *id,
                             const char *folder,
                             const char *const *parent_layer_paths,
                             hcs_error_t **err) {
  return hcs_layer_export(info, id, folder, parent_layer_paths, NULL, err);
}

hcs_result_t hcs_layer_import(const hcs_driver_info_t *info, const char *id,
                              const char *folder,
                              const char *const *parent_layer_paths,
                              const hcs_layer_options_t *opts,
                              hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::ImportLayer",
                    .id_name = "id",
                    .id = id,
                    .folder_name = "folder",
                    .folder = folder,
                    .parents = parent_layer_paths};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, opts, &c, err);
  if (r == HCS_OK) {
    r = hcs__lstore_import(&c, id, folder, parent_layer_paths);
  }
  return layer_end(&c, r);
}

hcs_result_t hcs_ImportLayer(const hcs_driver_info_t *info, const char *id,
                             const char *folder,
                             const char *const *parent_layer_paths,
                             hcs_error_t **err) {
  return hcs_layer_import(info, id, folder, parent_layer_paths, NULL, err);
}

hcs_result_t hcs_GetLayerMountPath(const hcs_driver_info_t *info,
                                   const char *id, char **path,
                                   hcs_error_t **err) {
  if (path != NULL) {
    *path = NULL;
  }
  layer_args_t a = {.op = "hcs::GetLayerMountPath",
                    .id_name = "id",
                    .id = id,
                    .null_out = path == NULL ? "path" : NULL};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_mount_path(&c, id, path));
}

hcs_result_t hcs_GetSharedBaseImages(const hcs_driver_info_t *info, char **json,
                                     hcs_error_t **err) {
  if (json != NULL) {
    *json = NULL;
  }
  layer_args_t a = {.op = "hcs::GetSharedBaseImages",
                    .null_out = json == NULL ? "json" : NULL};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_base_images(&c, json));
}

hcs_result_t hcs_LayerExists(const hcs_driver_info_t *info, const char *id,
                             bool *exists, hcs_error_t **err) {
  if (exists != NULL) {
    *exists = false;
  }
  layer_args_t a = {.op = "hcs::LayerExists",
                    .id_name = "id",
                    .id = id,
                    .null_out = exists == NULL ? "exists" : NULL};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_exists(&c, id, exists));
}

hcs_result_t hcs_PrepareLayer(const hcs_driver_info_t *info, const char *id,
                              const char *const *parent_layer_paths,
                              hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::PrepareLayer",
                    .id_name = "id",
                    .id = id,
                    .parents = parent_layer_paths};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  if (r == HCS_OK) {
    r = hcs__lstore_prepare(&c, id, parent_layer_paths);
  }
  return layer_end(&c, r);
}

hcs_result_t hcs_UnprepareLayer(const hcs_driver_info_t *info, const char *id,
                                hcs_error_t **err) {
  layer_args_t a = {.op = "hcs::UnprepareLayer", .id_name = "id", .id = id};
  hcs__lctx_t c;
  hcs_result_t r = layer_begin(&a, info, NULL, &c, err);
  return layer_end(&c, r != HCS_OK ? r : hcs__lstore_unprepare(&c, id));
}
