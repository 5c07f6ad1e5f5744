/* SPDX-License-Identifier: MIT */
/* POST /networks/create, GET /networks, GET /networks/{ref} and DELETE
 * /networks/{ref}: the request body checked as moby checks it (unknown
 * fields ignored, the ones hcs cannot honour refused with 400), the
 * answers in moby's shape and words. */
#include "hcsd/model/filters.h"
#include "hcsd/model/netsint.h"
#include "hcsd/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What a create body asks for, borrowed from the parsed body. */
typedef struct create_s {
  const char *name;
  const char *driver;
  bool internal, attachable;
  json_t *labels, *options; /* objects or NULL */
  json_t *config;           /* IPAM.Config: array or NULL */
} create_t;

/* *out is the string at key, or NULL when it is absent or null; 0, or a
 * 400 reply naming the field. */
static int get_string(json_t *o, const char *key, const char **out,
                      char **reply) {
  json_t *v = json_object_get(o, key);
  *out = json_string_value(v);
  if (v != NULL && !json_is_null(v) && *out == NULL) {
    return hcsd__nets_fail(reply, 400, "%s: must be a string", key);
  }
  return 0;
}

static int get_bool(json_t *o, const char *key, bool dflt, bool *out,
                    char **reply) {
  json_t *v = json_object_get(o, key);
  *out = json_is_boolean(v) ? json_is_true(v) : dflt;
  if (v != NULL && !json_is_null(v) && !json_is_boolean(v)) {
    return hcsd__nets_fail(reply, 400, "%s: must be true or false", key);
  }
  return 0;
}

/* Labels and Options: an object of strings, or absent or null. */
static int get_map(json_t *o, const char *key, json_t **out, char **reply) {
  json_t *v = json_object_get(o, key);
  *out = json_is_object(v) ? v : NULL;
  if (v != NULL && !json_is_null(v) && !json_is_object(v)) {
    return hcsd__nets_fail(reply, 400, "%s: must be an object", key);
  }
  const char *k;
  json_t *s;
  json_object_foreach(*out, k, s) {
    if (!json_is_string(s)) {
      return hcsd__nets_fail(reply, 400, "%s.%s: must be a string", key, k);
    }
  }
  return 0;
}

static bool name_valid(const char *s) {
  if (s[0] == '\0' || strlen(s) > 128 || s[0] == '.' || s[0] == '-' ||
      s[0] == '_') {
    return false;
  }
  return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.-")] == '\0';
}

static bool is_predefined_name(const char *s) {
  return strcmp(s, "bridge") == 0 || strcmp(s, "host") == 0 ||
         strcmp(s, "none") == 0 || strcmp(s, "default") == 0;
}

static int check_driver(const char *driver, char **reply) {
  if (strcmp(driver, "bridge") == 0 || strcmp(driver, "nat") == 0) {
    return 0;
  }
  if (strcmp(driver, "host") == 0 || strcmp(driver, "null") == 0) {
    return hcsd__nets_fail(
        reply, 403, "only one instance of \"%s\" network is allowed", driver);
  }
  return hcsd__nets_fail(reply, 400, "plugin \"%s\" not found", driver);
}

/* The swarm and IPv6 fields: accepted at their defaults only. */
static int check_unsupported(json_t *b, char **reply) {
  bool v4, v6, ingress, config_only;
  const char *scope = NULL;
  int r = get_bool(b, "EnableIPv4", true, &v4, reply);
  r = r != 0 ? r : get_bool(b, "EnableIPv6", false, &v6, reply);
  r = r != 0 ? r : get_bool(b, "Ingress", false, &ingress, reply);
  r = r != 0 ? r : get_bool(b, "ConfigOnly", false, &config_only, reply);
  r = r != 0 ? r : get_string(b, "Scope", &scope, reply);
  if (r != 0) {
    return r;
  }
  json_t *from = json_object_get(b, "ConfigFrom");
  const char *from_net = json_string_value(json_object_get(from, "Network"));
  if (!v4 || v6) {
    return hcsd__nets_fail(reply, 400,
                           "hcsd networks are IPv4 only: EnableIPv4 must be "
                           "true and EnableIPv6 false");
  }
  if (ingress || config_only || (from_net != NULL && from_net[0] != '\0')) {
    return hcsd__nets_fail(reply, 400,
                           "Ingress, ConfigOnly and ConfigFrom need swarm "
                           "mode, which hcsd does not have");
  }
  if (scope != NULL && scope[0] != '\0' && strcmp(scope, "local") != 0) {
    return hcsd__nets_fail(
        reply, 400, "Scope: \"%s\" is not supported (\"local\" is)", scope);
  }
  return 0;
}

/* IPAM: the default driver; Config entries of an IPv4 Subnet and
 * optionally its Gateway (HNS checks both). */
static int check_ipam(json_t *b, create_t *c, char **reply) {
  json_t *ipam = json_object_get(b, "IPAM");
  const char *driver = NULL;
  if (ipam == NULL || json_is_null(ipam)) {
    return 0;
  }
  if (!json_is_object(ipam)) {
    return hcsd__nets_fail(reply, 400, "IPAM: must be an object");
  }
  int r = get_string(ipam, "Driver", &driver, reply);
  if (r != 0) {
    return r;
  }
  if (driver != NULL && driver[0] != '\0' && strcmp(driver, "default") != 0) {
    return hcsd__nets_fail(reply, 400, "plugin \"%s\" not found", driver);
  }
  c->config = json_object_get(ipam, "Config");
  if (c->config != NULL && !json_is_null(c->config) &&
      !json_is_array(c->config)) {
    return hcsd__nets_fail(reply, 400, "IPAM.Config: must be an array");
  }
  size_t i;
  json_t *e;
  json_array_foreach(c->config, i, e) {
    const char *subnet = NULL, *gw = NULL, *range = NULL;
    json_t *aux = json_object_get(e, "AuxiliaryAddresses");
    if (!json_is_object(e) || get_string(e, "Subnet", &subnet, reply) != 0 ||
        get_string(e, "Gateway", &gw, reply) != 0 ||
        get_string(e, "IPRange", &range, reply) != 0) {
      free(*reply);
      return hcsd__nets_fail(reply, 400,
                             "IPAM.Config[%zu]: must be an object of strings "
                             "(Subnet, Gateway)",
                             i);
    }
    if (subnet == NULL || subnet[0] == '\0' || strchr(subnet, ':') != NULL) {
      return hcsd__nets_fail(reply, 400,
                             "IPAM.Config[%zu].Subnet: an IPv4 subnet is "
                             "required (hcsd networks are IPv4 only)",
                             i);
    }
    if ((range != NULL && range[0] != '\0') || json_object_size(aux) > 0) {
      return hcsd__nets_fail(reply, 400,
                             "IPAM.Config[%zu]: IPRange and "
                             "AuxiliaryAddresses are not supported by hcsd",
                             i);
    }
  }
  return 0;
}

static int create_parse(json_t *b, create_t *c, char **reply) {
  if (!json_is_object(b)) {
    return hcsd__nets_fail(reply, 400, "the request body must be an object");
  }
  int r = get_string(b, "Name", &c->name, reply);
  r = r != 0 ? r : get_string(b, "Driver", &c->driver, reply);
  r = r != 0 ? r : get_bool(b, "Internal", false, &c->internal, reply);
  r = r != 0 ? r : get_bool(b, "Attachable", false, &c->attachable, reply);
  r = r != 0 ? r : get_map(b, "Labels", &c->labels, reply);
  r = r != 0 ? r : get_map(b, "Options", &c->options, reply);
  r = r != 0 ? r : check_unsupported(b, reply);
  r = r != 0 ? r : check_ipam(b, c, reply);
  if (r != 0) {
    return r;
  }
  if (c->name == NULL || c->name[0] == '\0') {
    return hcsd__nets_fail(reply, 400, "network name must not be empty");
  }
  if (is_predefined_name(c->name)) {
    return hcsd__nets_fail(
        reply, 403, "operation is not permitted on predefined %s network",
        c->name);
  }
  if (!name_valid(c->name)) {
    return hcsd__nets_fail(reply, 400,
                           "invalid network name \"%s\": only "
                           "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                           c->name);
  }
  if (c->driver == NULL || c->driver[0] == '\0') {
    c->driver = "bridge";
  }
  return check_driver(c->driver, reply);
}

static hcsd_net_t *net_of_create(const create_t *c) {
  char id[65];
  hcsd_random_id(id);
  hcsd_net_t *net = hcsd__net_new(id, c->name, c->driver);
  if (net == NULL) {
    return NULL;
  }
  net->created = hcsd__nets_now();
  net->internal = c->internal;
  net->attachable = c->attachable;
  json_object_update(net->labels, c->labels);
  json_object_update(net->options, c->options);
  size_t i;
  json_t *e;
  json_array_foreach(c->config, i, e) {
    json_t *gw = json_object_get(e, "Gateway");
    gw = json_string_length(gw) > 0 ? gw : NULL;
    json_array_append_new(net->ipam, json_pack("{s:O, s:O*}", "Subnet",
                                               json_object_get(e, "Subnet"),
                                               "Gateway", gw));
  }
  return net;
}

/* The status of an HNS refusal at create. */
static int create_status(hcs_result_t r) {
  switch (r) {
  case HCS_WSAEINVAL:
  case HCS_ERROR_NOT_SUPPORTED:
    return 400;
  case HCS_ERROR_ALREADY_EXISTS:
    return 409;
  default:
    return 500;
  }
}

/* Makes the HNS network and keeps the record (locked). */
static int create_locked(hcsd_nets_t *n, const create_t *c, char **reply) {
  if (hcsd__nets_find_name(n, c->name) != NULL) {
    return hcsd__nets_fail(reply, 409, "network with name %s already exists",
                           c->name);
  }
  hcsd_net_t *net = net_of_create(c);
  if (net == NULL) {
    return hcsd__nets_fail(reply, 500, "out of memory");
  }
  hcs_error_t *err = NULL;
  hcs_result_t hr = json_array_size(net->ipam) > 0
                        ? hcsd__nets_hns_make(n, net, NULL, &err)
                        : hcsd__nets_hns_make_auto(n, net, &err);
  if (hr != HCS_OK) {
    int st =
        hr == HCS_ERROR_NO_MORE_ITEMS
            ? hcsd__nets_fail(reply, 500,
                              "could not find an available, "
                              "non-overlapping IPv4 address pool "
                              "among the defaults to assign to the "
                              "network")
        : hr == HCS_ERROR_ALREADY_EXISTS
            ? hcsd__nets_fail(reply, 409, "network with name %s already exists",
                              c->name)
            : hcsd__nets_fail(reply, create_status(hr), "%s",
                              hcsd__nets_why(err));
    hcs_error_free(err);
    hcsd__net_free(net);
    return st;
  }
  int r = hcsd__nets_add(n, net);
  if (r == 0 && (r = hcsd__nets_save(n)) != 0) {
    (void)hcsd__nets_hns_delete(n, net->hns_id, NULL);
    hcsd__nets_drop(n, net);
    return hcsd__nets_fail(reply, 500, "saving the network: %s", strerror(-r));
  }
  if (r != 0) {
    (void)hcsd__nets_hns_delete(n, net->hns_id, NULL);
    hcsd__net_free(net);
    return hcsd__nets_fail(reply, 500, "out of memory");
  }
  *reply =
      hcsd__nets_dump(json_pack("{s:s, s:s}", "Id", net->id, "Warning", ""));
  return 201;
}

int hcsd_nets_create(hcsd_nets_t *n, const char *body, char **reply) {
  *reply = NULL;
  json_error_t je;
  json_t *b = json_loads(body != NULL ? body : "", 0, &je);
  if (b == NULL) {
    return hcsd__nets_fail(reply, 400, "invalid JSON: %s", je.text);
  }
  create_t c = {0};
  int st = create_parse(b, &c, reply);
  if (st == 0) {
    pthread_mutex_lock(&n->lock);
    st = create_locked(n, &c, reply);
    pthread_mutex_unlock(&n->lock);
  }
  json_decref(b);
  return st;
}

/* A network as moby answers it; Containers filled for inspect only, as
 * moby's list leaves them out. */
static json_t *net_json(const hcsd_net_t *net, bool containers) {
  char created[40];
  hcsd__nets_time(net->created, created);
  return json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:{s:s, s:{}, s:O}, s:b, s:b, "
      "s:b, s:{s:s}, s:b, s:o, s:O, s:O}",
      "Name", net->name, "Id", net->id, "Created", created, "Scope", "local",
      "Driver", net->driver, "EnableIPv4", 1, "EnableIPv6", 0, "IPAM", "Driver",
      "default", "Options", "Config", net->ipam, "Internal", net->internal,
      "Attachable", net->attachable, "Ingress", 0, "ConfigFrom", "Network", "",
      "ConfigOnly", 0, "Containers",
      containers ? json_deep_copy(net->containers) : json_object(), "Options",
      net->options, "Labels", net->labels);
}

/* ---- list filters (moby's network ls) ---- */

static const char *const net_keys[] = {"name", "id",    "driver",  "label",
                                       "type", "scope", "dangling"};

/* A value a key cannot take: the status (400) with the reply, else 0. */
static int net_filter_check(const json_t *f, char **reply) {
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(f, "type"), i, s) {
    const char *v = json_string_value(s);
    if (strcmp(v, "custom") != 0 && strcmp(v, "builtin") != 0) {
      return hcsd__nets_fail(reply, 400, "invalid filter: 'type'='%s'", v);
    }
  }
  json_array_foreach(json_object_get(f, "dangling"), i, s) {
    const char *v = json_string_value(s);
    if (strcmp(v, "true") != 0 && strcmp(v, "1") != 0 &&
        strcmp(v, "false") != 0 && strcmp(v, "0") != 0) {
      return hcsd__nets_fail(reply, 400,
                             "invalid value for filter 'dangling', must be "
                             "\"true\" (or \"1\"), or \"false\" (or \"0\")");
    }
  }
  return 0;
}

/* Whether net passes the one value v of key (label: filters.c's). */
static bool net_value_match(const hcsd_net_t *net, const char *key,
                            const char *v) {
  if (strcmp(key, "name") == 0) {
    return hcsd__filters_regex(v, net->name);
  }
  if (strcmp(key, "id") == 0) {
    return hcsd__filters_regex(v, net->id);
  }
  if (strcmp(key, "driver") == 0) {
    return strcmp(net->driver, v) == 0;
  }
  if (strcmp(key, "type") == 0) {
    return strcmp(v, net->predefined ? "builtin" : "custom") == 0;
  }
  if (strcmp(key, "scope") == 0) {
    return strcmp(v, "local") == 0;
  }
  /* dangling: custom networks with no container (moby leaves the
   * predefined ones out either way). */
  bool dangling = !net->predefined && json_object_size(net->containers) == 0;
  bool want = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
  return !net->predefined && dangling == want;
}

/* Keys with AND, one key's values with OR, labels all of them. */
static bool net_filter_match(const json_t *f, const hcsd_net_t *net) {
  if (!hcsd__filters_labels(f, net->labels)) {
    return false;
  }
  const char *key;
  json_t *vals;
  json_object_foreach((json_t *)f, key, vals) {
    if (strcmp(key, "label") == 0) {
      continue;
    }
    bool any = false;
    size_t i;
    json_t *s;
    json_array_foreach(vals, i, s) {
      any = any || net_value_match(net, key, json_string_value(s));
    }
    if (!any && json_array_size(vals) > 0) {
      return false;
    }
  }
  return true;
}

int hcsd_nets_list(hcsd_nets_t *n, char **reply) {
  return hcsd_nets_query(n, NULL, reply);
}

int hcsd_nets_query(hcsd_nets_t *n, const char *filters, char **reply) {
  json_t *f;
  char msg[300];
  if (hcsd__filters_parse(filters, net_keys,
                          sizeof(net_keys) / sizeof(net_keys[0]), &f, msg,
                          sizeof(msg)) != 0) {
    return hcsd__nets_fail(reply, 400, "%s", msg);
  }
  int st = net_filter_check(f, reply);
  if (st != 0) {
    json_decref(f);
    return st;
  }
  json_t *arr = json_array();
  pthread_mutex_lock(&n->lock);
  for (size_t i = 0; arr != NULL && i < n->n; i++) {
    if (!net_filter_match(f, n->v[i])) {
      continue;
    }
    if (json_array_append_new(arr, net_json(n->v[i], false)) != 0) {
      json_decref(arr);
      arr = NULL;
    }
  }
  pthread_mutex_unlock(&n->lock);
  json_decref(f);
  *reply = hcsd__nets_dump(arr);
  return *reply != NULL ? 200 : hcsd__nets_fail(reply, 500, "out of memory");
}

/* The network ref names, or NULL and the reply (404, or 400 for an
 * ambiguous prefix, as moby). Locked. */
static hcsd_net_t *find_or_fail(hcsd_nets_t *n, const char *ref, char **reply,
                                int *status) {
  size_t ambiguous = 0;
  hcsd_net_t *net = hcsd__nets_find(n, ref != NULL ? ref : "", &ambiguous);
  if (net == NULL && ambiguous > 1) {
    *status = hcsd__nets_fail(
        reply, 400, "network %s is ambiguous (%zu matches found on id prefix)",
        ref, ambiguous);
  } else if (net == NULL) {
    *status = hcsd__nets_fail(reply, 404, "network %s not found",
                              ref != NULL ? ref : "");
  }
  return net;
}

int hcsd_nets_inspect(hcsd_nets_t *n, const char *ref, char **reply) {
  *reply = NULL;
  int st = 200;
  pthread_mutex_lock(&n->lock);
  hcsd_net_t *net = find_or_fail(n, ref, reply, &st);
  if (net != NULL) {
    *reply = hcsd__nets_dump(net_json(net, true));
    st = *reply != NULL ? 200 : hcsd__nets_fail(reply, 500, "out of memory");
  }
  pthread_mutex_unlock(&n->lock);
  return st;
}

static int remove_locked(hcsd_nets_t *n, hcsd_net_t *net, char **reply) {
  if (net->predefined) {
    return hcsd__nets_fail(reply, 403,
                           "%s is a pre-defined network and cannot be removed",
                           net->name);
  }
  if (json_object_size(net->containers) > 0) {
    return hcsd__nets_fail(reply, 403,
                           "error while removing network: network %s id %s "
                           "has active endpoints",
                           net->name, net->id);
  }
  hcs_error_t *err = NULL;
  hcs_result_t hr = net->hns_id != NULL
                        ? hcsd__nets_hns_delete(n, net->hns_id, &err)
                        : HCS_OK;
  if (hr != HCS_OK && hr != HCS_ERROR_NOT_FOUND) {
    int st = hcsd__nets_fail(reply, 500, "error while removing network: %s",
                             hcsd__nets_why(err));
    hcs_error_free(err);
    return st;
  }
  hcs_error_free(err);
  hcsd__nets_drop(n, net);
  int r = hcsd__nets_save(n);
  return r == 0 ? 204
                : hcsd__nets_fail(reply, 500, "saving the networks: %s",
                                  strerror(-r));
}

int hcsd_nets_remove(hcsd_nets_t *n, const char *ref, char **reply) {
  *reply = NULL;
  int st = 0;
  pthread_mutex_lock(&n->lock);
  hcsd_net_t *net = find_or_fail(n, ref, reply, &st);
  if (net != NULL) {
    st = remove_locked(n, net, reply);
  }
  pthread_mutex_unlock(&n->lock);
  return st;
}
