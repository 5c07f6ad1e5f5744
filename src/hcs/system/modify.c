/* SPDX-License-Identifier: MIT */
/* ModifyComputeSystem: the resource limits of a running container
 * changed in place (docker update). The request's Settings are merged
 * into the system's configuration, which is checked whole as at create,
 * applied to its cgroups and kept in its record. */
#include "hcs/system/container.h"
#include "hcs/system/system.h"

#include "hcs-async.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char modify_op[] = "hcs::ModifyComputeSystem";

/* The fields of a configuration that a running system may change. */
static const char *const settable[] = {"MemoryMaximumInMB",
                                       "SwapMaximumInMB",
                                       "MemoryReservationInMB",
                                       "ProcessorWeight",
                                       "ProcessorMaximum",
                                       "ProcessorCount",
                                       "CpuShares",
                                       "CpuQuota",
                                       "CpuPeriod",
                                       "PidsMaximum",
                                       "CpusetCpus",
                                       "CpusetMems",
                                       NULL};

/* The system's configuration with request's Settings merged in: *out
 * (JSON text, free()), or the failure. */
static hcs_result_t merged_config(const hcs__system_t *s, const char *request,
                                  const char *obj, char **out,
                                  hcs_error_t **err) {
  json_error_t je;
  json_t *req = json_loads(request, 0, &je);
  json_t *cfg = json_loads(s->config, 0, NULL);
  json_t *set = json_object_get(req, "Settings");
  const char *path = json_string_value(json_object_get(req, "ResourcePath"));
  const char *type = json_string_value(json_object_get(req, "RequestType"));
  hcs_result_t r = HCS_OK;
  *out = NULL;
  if (!json_is_object(req) || !json_is_object(set) || cfg == NULL) {
    r = hcs__fail(err, json_is_object(req) ? HCS_WSAEINVAL : HCS_E_INVALID_JSON,
                  modify_op, obj, EINVAL,
                  "the request must be a JSON object with a Settings object");
    goto done;
  }
  if (path == NULL || strcmp(path, "Limits") != 0 ||
      (type != NULL && strcmp(type, "Update") != 0)) {
    r = hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, modify_op, obj, ENOTSUP,
                  "ResourcePath: hcs changes \"Limits\" (RequestType "
                  "\"Update\") and \"Network\" (\"Add\", \"Remove\") "
                  "only");
    goto done;
  }
  const char *k;
  json_t *v;
  json_object_foreach(set, k, v) {
    size_t i = 0;
    while (settable[i] != NULL && strcmp(settable[i], k) != 0) {
      i++;
    }
    if (settable[i] == NULL) {
      r = hcs__fail(err, HCS_WSAEINVAL, modify_op, obj, EINVAL,
                    "Settings.%.64s: not a limit a running system may change",
                    k);
      goto done;
    }
    json_object_set(cfg, k, v);
  }
  *out = json_dumps(cfg, JSON_COMPACT);
  if (*out == NULL) {
    r = hcs__fail(err, HCS_ERROR_OUTOFMEMORY, modify_op, obj, ENOMEM,
                  "the configuration");
  }
done:
  json_decref(req);
  json_decref(cfg);
  return r;
}

typedef struct modify_args_s {
  const char *id;
  const char *request;
} modify_args_t;

static hcs_result_t modify_running(hcs__system_t *s, const char *request,
                                   hcs_error_t **err) {
  char obj[160];
  snprintf(obj, sizeof(obj), "id=%s", s->id);
  if (s->state != HCS__SYS_RUNNING || s->stopping) {
    return hcs__fail(err, HCS_E_INVALID_STATE, modify_op, obj, EINVAL,
                     "the system is not running");
  }
  if (s->is_dummy || s->ct == NULL) {
    return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, modify_op, obj, ENOTSUP,
                     "a system without isolation has no groups of its own");
  }
  json_t *req = json_loads(request, 0, NULL);
  const char *path = json_string_value(json_object_get(req, "ResourcePath"));
  bool network = path != NULL && strcmp(path, "Network") == 0;
  json_decref(req);
  if (network) {
    return hcs__system_modify_network(s, request, obj, err);
  }
  char *text;
  hcs_result_t r = merged_config(s, request, obj, &text, err);
  if (r != HCS_OK) {
    return r;
  }
  hcs__config_t cfg;
  r = hcs__config_parse(text, &cfg, obj, err);
  free(text);
  if (r != HCS_OK) {
    return r;
  }
  hcs__cgroup_limits_t lim;
  hcs__container_limits(&cfg, &lim);
  char why[1024] = "";
  int e = hcs__cgroup_update(&s->ct->cg, &lim, why, sizeof(why));
  char *norm = e == 0 ? hcs__config_json(&cfg) : NULL;
  if (e != 0 || norm == NULL) {
    hcs__config_free(&cfg);
    return e != 0 ? hcs__fail(err, HCS_ERROR_GEN_FAILURE, modify_op, obj, -e,
                              "%s: %s", why, strerror(-e))
                  : hcs__fail(err, HCS_ERROR_OUTOFMEMORY, modify_op, obj,
                              ENOMEM, "the configuration");
  }
  as_free(s->config);
  s->config = norm;
  hcs__config_free(&s->ct->cfg);
  s->ct->cfg = cfg;
  e = hcs__state_save(s);
  if (e != 0) {
    return hcs__fail(err, HCS_ERROR_GEN_FAILURE, modify_op, obj, -e,
                     "writing the record: %s (the limits are applied)",
                     strerror(-e));
  }
  return HCS_OK;
}

static void modify_fn(hcs_t *hcs, hcs__call_t *call) {
  const modify_args_t *a = call->args;
  hcs_error_t *err = NULL;
  hcs__system_t *s = NULL;
  int lock = -1;
  hcs_result_t r = hcs__system_lock(hcs, modify_op, a->id, &lock, &err);
  if (r == HCS_OK) {
    r = hcs__system_get(hcs, modify_op, a->id, &s, &err);
  }
  if (r == HCS_OK) {
    r = modify_running(s, a->request, &err);
  }
  hcs__state_unlock(hcs, a->id, lock);
  hcs__call_done(call, r, err);
}

hcs_result_t hcs_ModifyComputeSystem(hcs_t *hcs, const char *id,
                                     const char *request, hcs_error_t **err) {
  if (hcs == NULL || id == NULL || request == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, modify_op, NULL, EINVAL, "%s is NULL",
                     hcs == NULL  ? "hcs"
                     : id == NULL ? "id"
                                  : "request");
  }
  modify_args_t a = {.id = id, .request = request};
  return hcs__call(hcs, modify_fn, &a, err);
}
