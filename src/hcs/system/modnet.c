/* SPDX-License-Identifier: MIT */
/* ModifyComputeSystem's network requests (hcsshim's HotAttachEndpoint and
 * HotDetachEndpoint): {"ResourcePath": "Network", "RequestType": "Add" or
 * "Remove", "Settings": {"EndpointId": ID}} on a running container. Add
 * moves the endpoint into init's network namespace as its next free ethN;
 * Remove gives it back to the host's side. The endpoint joins (leaves)
 * the configuration's EndpointList, kept in the system's record, so that
 * stop gives it back with the others and a restarted service knows it. */
#include "hcs/system/container.h"
#include "hcs/system/system.h"

#include "hcs/hns/hns_attach.h"

#include "hcs-async.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char net_op[] = "hcs::ModifyComputeSystem";

/* The configuration with EndpointList changed: ep appended (add) or
 * taken out; *out JSON text (free()). */
static hcs_result_t list_changed(const hcs__system_t *s, const char *ep,
                                 int add, const char *obj, char **out,
                                 hcs_error_t **err) {
  json_t *cfg = json_loads(s->config, 0, NULL);
  json_t *list = json_object_get(cfg, "EndpointList");
  if (!json_is_array(list)) {
    list = json_array();
    json_object_set_new(cfg, "EndpointList", list);
  }
  if (add) {
    json_array_append_new(list, json_string(ep));
  }
  for (size_t i = 0; !add && i < json_array_size(list); i++) {
    if (strcmp(json_string_value(json_array_get(list, i)), ep) == 0) {
      json_array_remove(list, i);
      break;
    }
  }
  *out = cfg != NULL ? json_dumps(cfg, JSON_COMPACT) : NULL;
  json_decref(cfg);
  return *out != NULL ? HCS_OK
                      : hcs__fail(err, HCS_ERROR_OUTOFMEMORY, net_op, obj,
                                  ENOMEM, "the configuration");
}

/* Takes text as the system's configuration (its EndpointList changed by
 * list_changed, the endpoints attached as it says) and saves the
 * record. */
static hcs_result_t config_take(hcs__system_t *s, char *text, const char *obj,
                                hcs_error_t **err) {
  hcs__config_t cfg;
  hcs_result_t r = hcs__config_parse(text, &cfg, obj, err);
  free(text);
  char *norm = r == HCS_OK ? hcs__config_json(&cfg) : NULL;
  if (r == HCS_OK && norm == NULL) {
    hcs__config_free(&cfg);
    r = hcs__fail(err, HCS_ERROR_OUTOFMEMORY, net_op, obj, ENOMEM,
                  "the configuration");
  }
  if (r != HCS_OK) {
    return r;
  }
  as_free(s->config);
  s->config = norm;
  hcs__config_free(&s->ct->cfg);
  s->ct->cfg = cfg;
  int e = hcs__state_save(s);
  return e == 0 ? HCS_OK
                : hcs__fail(err, HCS_ERROR_GEN_FAILURE, net_op, obj, -e,
                            "writing the record: %s", strerror(-e));
}

static size_t list_len(char **v) {
  size_t n = 0;
  while (v != NULL && v[n] != NULL) {
    n++;
  }
  return n;
}

static hcs_result_t net_add(hcs__system_t *s, const char *ep, const char *obj,
                            hcs_error_t **err) {
  hcs__container_t *ct = s->ct;
  size_t n = list_len(ct->cfg.endpoint_list);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(ct->cfg.endpoint_list[i], ep) == 0) {
      return hcs__fail(err, HCS_WSAEINVAL, net_op, obj, EEXIST,
                       "Settings.EndpointId: endpoint %s is attached to the "
                       "system already",
                       ep);
    }
  }
  char *text;
  hcs_result_t r = list_changed(s, ep, 1, obj, &text, err);
  if (r != HCS_OK) {
    return r;
  }
  /* eth<n> may be taken: an endpoint removed before left a gap below. */
  char why[200] = "", ifname[32];
  int e = -EEXIST;
  for (size_t k = n; e == -EEXIST && k < n + 64; k++) {
    snprintf(ifname, sizeof(ifname), "eth%zu", k);
    e = hcs__hns_attach(s->hcs, ep, ct->init_pid, ifname, why, sizeof(why));
  }
  if (e != 0) {
    free(text);
    return hcs__fail(err,
                     e == -ENOENT  ? HCS_ERROR_NOT_FOUND
                     : e == -EBUSY ? HCS_WSAEINVAL
                                   : HCS_ERROR_GEN_FAILURE,
                     net_op, obj, -e, "Settings.EndpointId %s: %s", ep, why);
  }
  r = config_take(s, text, obj, err);
  if (list_len(ct->cfg.endpoint_list) > n) {
    ct->n_attached = n + 1; /* taken, even if the record was not written */
  } else {
    hcs__hns_detach(s->hcs, ep);
  }
  return r;
}

static hcs_result_t net_remove(hcs__system_t *s, const char *ep,
                               const char *obj, hcs_error_t **err) {
  hcs__container_t *ct = s->ct;
  size_t n = list_len(ct->cfg.endpoint_list), i = 0;
  while (i < n && strcmp(ct->cfg.endpoint_list[i], ep) != 0) {
    i++;
  }
  if (i == n) {
    return hcs__fail(err, HCS_WSAEINVAL, net_op, obj, ENOENT,
                     "Settings.EndpointId: endpoint %s is not attached to "
                     "the system",
                     ep);
  }
  char *text;
  hcs_result_t r = list_changed(s, ep, 0, obj, &text, err);
  if (r != HCS_OK) {
    return r;
  }
  hcs__hns_detach(s->hcs, ep);
  size_t attached = ct->n_attached;
  r = config_take(s, text, obj, err);
  /* Taken (even when the record could not be written), the list lost an
   * entry below the attached count; kept, its detach at stop is a
   * no-op. */
  if (list_len(ct->cfg.endpoint_list) < n && i < attached) {
    ct->n_attached = attached - 1;
  }
  return r;
}

static hcs_result_t modify_network(hcs__system_t *s, json_t *req,
                                   const char *obj, hcs_error_t **err) {
  const char *type = json_string_value(json_object_get(req, "RequestType"));
  const char *ep = json_string_value(
      json_object_get(json_object_get(req, "Settings"), "EndpointId"));
  if (type == NULL ||
      (strcmp(type, "Add") != 0 && strcmp(type, "Remove") != 0)) {
    return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, net_op, obj, ENOTSUP,
                     "RequestType: a Network request is \"Add\" or "
                     "\"Remove\"");
  }
  if (ep == NULL || ep[0] == '\0') {
    return hcs__fail(err, HCS_WSAEINVAL, net_op, obj, EINVAL,
                     "Settings.EndpointId: an endpoint id is required");
  }
  if (s->ct->cfg.host_network) {
    return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, net_op, obj, ENOTSUP,
                     "the system shares the host's network (HostNetwork)");
  }
  return strcmp(type, "Add") == 0 ? net_add(s, ep, obj, err)
                                  : net_remove(s, ep, obj, err);
}

hcs_result_t hcs__system_modify_network(hcs__system_t *s, const char *request,
                                        const char *obj, hcs_error_t **err) {
  json_t *req = json_loads(request, 0, NULL);
  hcs_result_t r = modify_network(s, req, obj, err);
  json_decref(req);
  return r;
}
