/* SPDX-License-Identifier: MIT */
/* docker update: a container's resources and restart policy changed, as
 * dockerd changes them: a field at its zero value is left as it was, the
 * result is checked as at create, stored in HostConfig, and applied to a
 * running container's cgroups at once (hcs_ModifyComputeSystem). A field
 * hcsd does not honour is refused naming its flag, never stored. */
#include "hcsd/model/ctr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields of an update body hcsd honours: each replaces the
 * HostConfig's when it is not zero. */
static const char *const honoured[] = {
    "Memory",    "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares",
    "PidsLimit", "CpusetCpus", "CpusetMems",        NULL};

/* The others Docker's UpdateConfig has, with the flag of each. */
static const char *const refused[][2] = {
    {"BlkioWeight", "--blkio-weight"},
    {"BlkioWeightDevice", "--blkio-weight-device"},
    {"BlkioDeviceReadBps", "--device-read-bps"},
    {"BlkioDeviceWriteBps", "--device-write-bps"},
    {"BlkioDeviceReadIOps", "--device-read-iops"},
    {"BlkioDeviceWriteIOps", "--device-write-iops"},
    {"CpuPeriod", "--cpu-period"},
    {"CpuQuota", "--cpu-quota"},
    {"CpuRealtimePeriod", "--cpu-rt-period"},
    {"CpuRealtimeRuntime", "--cpu-rt-runtime"},
    {"CgroupParent", "--cgroup-parent"},
    {"Devices", "--device"},
    {"DeviceCgroupRules", "--device-cgroup-rule"},
    {"DeviceRequests", "--gpus"},
    {"KernelMemory", "--kernel-memory"},
    {"KernelMemoryTCP", "--kernel-memory-tcp"},
    {"MemorySwappiness", "--memory-swappiness"},
    {"OomKillDisable", "--oom-kill-disable"},
    {"Ulimits", "--ulimit"},
    {"CpuCount", "--cpu-count"},
    {"CpuPercent", "--cpu-percent"},
    {"IOMaximumIOps", "--io-maxiops"},
    {"IOMaximumBandwidth", "--io-maxbandwidth"},
    {NULL, NULL}};

/* The libhcs limits a running system may change (hcs.h,
 * hcs_ModifyComputeSystem); an integer one absent from the new config
 * is 0, none. */
static const char *const settable[] = {
    "MemoryMaximumInMB", "SwapMaximumInMB",  "MemoryReservationInMB",
    "ProcessorWeight",   "ProcessorMaximum", "PidsMaximum",
    "CpusetCpus",        "CpusetMems",       NULL};

static bool zero(json_t *v) {
  return v == NULL || json_is_null(v) || json_is_false(v) ||
         (json_is_integer(v) && json_integer_value(v) == 0) ||
         (json_is_string(v) && json_string_length(v) == 0) ||
         (json_is_array(v) && json_array_size(v) == 0) ||
         (json_is_object(v) && json_object_size(v) == 0);
}

static bool listed(const char *const *names, const char *k) {
  for (size_t i = 0; names[i] != NULL; i++) {
    if (strcmp(names[i], k) == 0) {
      return true;
    }
  }
  return false;
}

/* Each field of the body hcsd honours or at its zero value: 0, or -1
 * with e naming the first that is neither. */
static int body_check(json_t *b, hcsd_err_t *e) {
  const char *k;
  json_t *v;
  json_object_foreach(b, k, v) {
    if (listed(honoured, k) || strcmp(k, "RestartPolicy") == 0 || zero(v)) {
      continue;
    }
    for (size_t i = 0; refused[i][0] != NULL; i++) {
      if (strcmp(refused[i][0], k) == 0) {
        hcsd_err_set(e, 400, "hcsd does not support docker update %s (%s)",
                     refused[i][1], k);
        return -1;
      }
    }
    hcsd_err_set(e, 400, "hcsd does not support docker update's field %s", k);
    return -1;
  }
  return 0;
}

/* The restart policy of the body, if any, checked as dockerd checks it;
 * *rp NULL when it leaves the policy as it is. */
static int restart_of(json_t *b, const hcsd_ctr_t *c, json_t **rp,
                      hcsd_err_t *e) {
  json_t *p = json_object_get(b, "RestartPolicy");
  const char *name = json_string_value(json_object_get(p, "Name"));
  json_int_t max = json_integer_value(json_object_get(p, "MaximumRetryCount"));
  *rp = NULL;
  if (name == NULL || name[0] == '\0') {
    return 0;
  }
  static const char *const names[] = {"no", "always", "unless-stopped",
                                      "on-failure", NULL};
  if (!listed(names, name)) {
    hcsd_err_set(e, 400, "invalid restart policy: unknown policy '%s'", name);
    return -1;
  }
  if (max != 0 && strcmp(name, "on-failure") != 0) {
    hcsd_err_set(e, 400,
                 "invalid restart policy: maximum retry count can only be "
                 "used with 'on-failure'");
    return -1;
  }
  if (max < 0) {
    hcsd_err_set(e, 400,
                 "invalid restart policy: maximum retry count cannot be "
                 "negative");
    return -1;
  }
  if (c->auto_remove && strcmp(name, "no") != 0) {
    hcsd_err_set(e, 409,
                 "Restart policy cannot be updated because AutoRemove is "
                 "enabled for the container");
    return -1;
  }
  *rp = json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount", max);
  return 0;
}

/* The HostConfig that the body makes of c's: a new object, or NULL with
 * e. */
static json_t *merged(json_t *b, const hcsd_ctr_t *c, hcsd_err_t *e) {
  json_t *hc = json_deep_copy(c->host_config);
  for (size_t i = 0; honoured[i] != NULL; i++) {
    json_t *v = json_object_get(b, honoured[i]);
    if (!zero(v)) {
      json_object_set(hc, honoured[i], v);
    }
  }
  json_int_t mem = json_integer_value(json_object_get(hc, "Memory"));
  json_int_t old_swap =
      json_integer_value(json_object_get(c->host_config, "MemorySwap"));
  if (zero(json_object_get(b, "MemorySwap")) &&
      !zero(json_object_get(b, "Memory")) && old_swap > 0 && mem > old_swap) {
    hcsd_err_set(e, 409,
                 "Cannot update container %s: Memory limit should be smaller "
                 "than already set memoryswap limit, update the memoryswap at "
                 "the same time",
                 c->id);
    json_decref(hc);
    return NULL;
  }
  if (hcsd_spec_limits_check(hc, e) != 0) {
    json_decref(hc);
    return NULL;
  }
  return hc;
}

/* Applies hc's limits to c's running system: 0, or -1 with e (500). */
static int apply_live(hcsd_ctr_t *c, json_t *hc, hcsd_err_t *e) {
  json_t *sys = json_object();
  hcsd_spec_system_limits(hc, sys);
  json_t *set = json_object();
  for (size_t i = 0; settable[i] != NULL; i++) {
    json_t *v = json_object_get(sys, settable[i]);
    if (v != NULL) {
      json_object_set(set, settable[i], v);
    } else if (strncmp(settable[i], "Cpuset", 6) != 0) {
      json_object_set_new(set, settable[i], json_integer(0));
    }
  }
  json_t *req = json_pack("{s:s,s:s,s:o}", "ResourcePath", "Limits",
                          "RequestType", "Update", "Settings", set);
  char *text = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  json_decref(sys);
  hcs_error_t *he = NULL;
  hcs_result_t hr = text != NULL
                        ? hcs_ModifyComputeSystem(c->d->hcs, c->id, text, &he)
                        : HCS_ERROR_OUTOFMEMORY;
  free(text);
  if (hr != HCS_OK) {
    hcsd_err_set(e, 500, "Cannot update container %s: %s", c->id,
                 he != NULL ? hcs_error_message(he) : "out of memory");
    hcs_error_free(he);
    return -1;
  }
  return 0;
}

json_t *hcsd_ctr_update(hcsd_t *d, const char *ref, const char *body,
                        size_t len, hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return NULL;
  }
  json_error_t je;
  json_t *b = json_loadb(body != NULL ? body : "", len, 0, &je);
  if (!json_is_object(b)) {
    json_decref(b);
    hcsd_err_set(e, 400, "invalid JSON in the request body: %s", je.text);
    return NULL;
  }
  json_t *rp = NULL, *hc = NULL;
  if (body_check(b, e) != 0 || restart_of(b, c, &rp, e) != 0 ||
      (hc = merged(b, c, e)) == NULL) {
    json_decref(b);
    json_decref(rp);
    return NULL;
  }
  json_decref(b);
  if (c->busy) {
    hcsd_err_set(e, 409,
                 "Cannot update container %s: it is starting or stopping",
                 c->id);
  } else if (c->state == CS_REMOVING) {
    hcsd_err_set(e, 409, "Cannot update container %s: it is being removed",
                 c->id);
  }
  if (c->busy || c->state == CS_REMOVING ||
      (c->state == CS_RUNNING && c->system_up && apply_live(c, hc, e) != 0)) {
    json_decref(hc);
    json_decref(rp);
    return NULL;
  }
  if (rp != NULL) {
    json_object_set_new(hc, "RestartPolicy", rp);
  }
  json_decref(c->host_config);
  c->host_config = hc;
  hcsd__store_save(c);
  return json_pack("{s:n}", "Warnings");
}
