/* SPDX-License-Identifier: MIT */
/* The long layer calls (import, export, copy) on the engine's thread pool:
 * the arguments are copied into a job, the synchronous call runs on a pool
 * thread, and the caller's callback gets its answer on the engine
 * thread. */
#include "hcs/layer/layerstore.h"

#include "hcs/api/call.h"

#include <errno.h>
#include <string.h>

enum { JOB_IMPORT, JOB_EXPORT, JOB_COPY };

typedef struct job_s {
  int kind;
  hcs_driver_info_t info;
  char *home, *id, *other; /* other: the folder, or the copy's dst_id */
  char **parents;          /* NULL: none given */
  hcs_layer_options_t opts;
  hcs_result_t result;
  hcs_error_t *err;
  hcs_layer_done_cb done;
  void *data;
} job_t;

static void job_free(job_t *j) {
  as_free(j->home);
  as_free(j->id);
  as_free(j->other);
  hcs__strv_free(j->parents);
  as_free(j);
}

/* A NULL string stays NULL (the call then names it). */
static int dup_or_null(const char *s, char **out) {
  *out = s != NULL ? as_strdup(s) : NULL;
  return s != NULL && *out == NULL ? -ENOMEM : 0;
}

static void job_run(void *data) {
  job_t *j = data;
  const char *const *parents = (const char *const *)j->parents;
  if (j->kind == JOB_IMPORT) {
    j->result =
        hcs_layer_import(&j->info, j->id, j->other, parents, &j->opts, &j->err);
  } else if (j->kind == JOB_EXPORT) {
    j->result =
        hcs_layer_export(&j->info, j->id, j->other, parents, &j->opts, &j->err);
  } else {
    j->result =
        hcs_layer_copy(&j->info, j->id, j->other, parents, &j->opts, &j->err);
  }
}

static void job_done(as_loop_t *loop, int status, void *data) {
  job_t *j = data;
  (void)loop;
  if (status != 0) {
    static const char *const ops[] = {"hcs::ImportLayer", "hcs::ExportLayer",
                                      "hcs::CopyLayer"};
    j->result = hcs__fail(&j->err, HCS_ERROR_CANCELLED, ops[j->kind], "",
                          -status, "the service ended before the call ran");
  }
  j->done(j->result, j->err, j->data);
  job_free(j);
}

static int job_start(hcs_t *hcs, int kind, const hcs_driver_info_t *info,
                     const char *id, const char *other,
                     const char *const *parents,
                     const hcs_layer_options_t *opts, hcs_layer_done_cb done,
                     void *data) {
  if (hcs == NULL || info == NULL || done == NULL || !hcs__on_engine(hcs)) {
    return -EINVAL;
  }
  job_t *j = as_calloc(1, sizeof(*j));
  if (j == NULL) {
    return -ENOMEM;
  }
  j->kind = kind;
  j->done = done;
  j->data = data;
  /* Checked and read into this library's layout by the call itself. */
  if (opts != NULL) {
    memcpy(&j->opts, opts,
           opts->size != 0 && opts->size < sizeof(j->opts) ? opts->size
                                                           : sizeof(j->opts));
  }
  int err;
  j->info.flavour = info->flavour;
  err = dup_or_null(info->home_dir, &j->home);
  j->info.home_dir = j->home;
  if (err == 0) {
    err = dup_or_null(id, &j->id);
  }
  if (err == 0) {
    err = dup_or_null(other, &j->other);
  }
  if (err == 0 && parents != NULL &&
      (j->parents = hcs__strv_dup(parents)) == NULL) {
    err = -ENOMEM;
  }
  if (err == 0) {
    err = as_loop_work(hcs__loop(hcs), job_run, job_done, j);
  }
  if (err != 0) {
    job_free(j);
  }
  return err;
}

int hcs_layer_import_start(hcs_t *hcs, const hcs_driver_info_t *info,
                           const char *id, const char *folder,
                           const char *const *parent_layer_paths,
                           const hcs_layer_options_t *opts,
                           hcs_layer_done_cb done, void *data) {
  return job_start(hcs, JOB_IMPORT, info, id, folder, parent_layer_paths, opts,
                   done, data);
}

int hcs_layer_export_start(hcs_t *hcs, const hcs_driver_info_t *info,
                           const char *id, const char *folder,
                           const char *const *parent_layer_paths,
                           const hcs_layer_options_t *opts,
                           hcs_layer_done_cb done, void *data) {
  return job_start(hcs, JOB_EXPORT, info, id, folder, parent_layer_paths, opts,
                   done, data);
}

int hcs_layer_copy_start(hcs_t *hcs, const hcs_driver_info_t *info,
                         const char *src_id, const char *dst_id,
                         const char *const *parent_layer_paths,
                         const hcs_layer_options_t *opts,
                         hcs_layer_done_cb done, void *data) {
  return job_start(hcs, JOB_COPY, info, src_id, dst_id, parent_layer_paths,
                   opts, done, data);
}
