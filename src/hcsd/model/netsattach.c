/* SPDX-License-Identifier: MIT */
/* Endpoints of containers: at start, an HNS endpoint on the network the
 * container's NetworkMode names (its address and MAC from the network's
 * IPAM), recorded in the network's Containers so that inspect lists it and
 * remove refuses while it is there; at exit, the endpoint deleted. The
 * predefined bridge gets its HNS network here, on first use, and a
 * network whose HNS network was lost is made again. */
#include "hcsd/model/netsint.h"
#include "hcsd/model/ports.h"
#include "hcsd/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "02-15-AC-1D-00-02" as Docker writes it: "02:15:ac:1d:00:02". */
static void mac_docker(const char *hns, char out[18]) {
  snprintf(out, 18, "%s", hns != NULL ? hns : "");
  for (char *p = out; *p != '\0'; p++) {
    *p = *p == '-' ? ':' : (char)tolower((unsigned char)*p);
  }
}

json_t *hcsd__nets_settings(const hcsd_net_t *net, const hcs_hns_endpoint_t *e,
                            json_t *dns, json_t *aliases) {
  char mac[18];
  mac_docker(e != NULL ? e->mac_address : NULL, mac);
  return json_pack(
      "{s:n, s:n, s:o, s:s, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, "
      "s:o}",
      "IPAMConfig", "Links", "Aliases",
      aliases != NULL ? json_incref(aliases) : json_null(), "MacAddress", mac,
      "DriverOpts", "NetworkID", net->id, "EndpointID", e != NULL ? e->id : "",
      "Gateway",
      e != NULL && e->gateway_address != NULL ? e->gateway_address : "",
      "IPAddress", e != NULL && e->ip_address != NULL ? e->ip_address : "",
      "IPPrefixLen", e != NULL ? (int)e->prefix_length : 0, "IPv6Gateway", "",
      "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames",
      dns != NULL ? dns : json_null());
}

/* The entry of Containers for an endpoint: name, the container's. */
static json_t *container_json(const char *name, const hcs_hns_endpoint_t *e) {
  char mac[18], *ipv4 = NULL;
  mac_docker(e->mac_address, mac);
  if (asprintf(&ipv4, "%s/%u", e->ip_address != NULL ? e->ip_address : "",
               (unsigned)e->prefix_length) < 0) {
    return NULL;
  }
  json_t *j =
      json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", name, "EndpointID", e->id,
                "MacAddress", mac, "IPv4Address", ipv4, "IPv6Address", "");
  free(ipv4);
  return j;
}

static hcs_result_t endpoint_delete(hcsd_nets_t *n, const char *id,
                                    hcs_error_t **err) {
  hcs_hns_endpoint_t *none = NULL;
  return hcs_HNSEndpointRequest(n->hcs, "DELETE", id, NULL, &none, err);
}

/* The network's HNS network, made now for the bridge's first endpoint or
 * made again when HNS lost it. 0 or a 500 with *errmsg. */
static int ensure_hns(hcsd_nets_t *n, hcsd_net_t *net, char **errmsg) {
  if (net->hns_id != NULL && hcsd__nets_hns_has(n, net->hns_id)) {
    return 0;
  }
  hcs_error_t *err = NULL;
  hcs_result_t r = net->hns_id == NULL && json_array_size(net->ipam) == 0
                       ? hcsd__nets_hns_make_auto(n, net, &err)
                       : hcsd__nets_hns_make(n, net, NULL, &err);
  if (r != HCS_OK) {
    int st = hcsd__nets_fail_msg(errmsg, 500, "network %s: %s", net->name,
                                 r == HCS_ERROR_NO_MORE_ITEMS
                                     ? "no free subnet among hcsd's defaults"
                                     : hcsd__nets_why(err));
    hcs_error_free(err);
    return st;
  }
  int e = hcsd__nets_save(n);
  return e == 0 ? 0
                : hcsd__nets_fail_msg(errmsg, 500, "saving the networks: %s",
                                      strerror(-e));
}

/* A container starting again on a network it never left (its detach was
 * missed) gets a new endpoint; the old one goes. */
static void drop_stale(hcsd_nets_t *n, hcsd_net_t *net,
                       const char *container_id) {
  json_t *old = json_object_get(net->containers, container_id);
  const char *id = json_string_value(json_object_get(old, "EndpointID"));
  if (id != NULL) {
    (void)endpoint_delete(n, id, NULL);
  }
  json_object_del(net->containers, container_id);
}

static int endpoint_make(hcsd_nets_t *n, hcsd_net_t *net,
                         const char *container_id, const char *name,
                         json_t *policies, hcs_hns_endpoint_t **out,
                         char **errmsg) {
  char id[65];
  hcsd_random_id(id);
  char *body = hcsd__nets_dump(
      json_pack("{s:s, s:s, s:s, s:O*}", "Id", id, "Name", container_id,
                "VirtualNetwork", net->hns_id, "Policies",
                json_array_size(policies) > 0 ? policies : NULL));
  if (body == NULL) {
    return hcsd__nets_fail_msg(errmsg, 500, "out of memory");
  }
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_HNSEndpointRequest(n->hcs, "POST", "", body, out, &err);
  free(body);
  if (r != HCS_OK) {
    int st = hcsd__nets_fail_msg(errmsg, 500,
                                 "failed to create endpoint on network %s: %s",
                                 net->name, hcsd__nets_why(err));
    hcs_error_free(err);
    return st;
  }
  json_t *entry = container_json(name, *out);
  int e = entry == NULL ? -ENOMEM
          : json_object_set_new(net->containers, container_id, entry) != 0
              ? -ENOMEM
              : hcsd__nets_save(n);
  if (e != 0) {
    json_object_del(net->containers, container_id);
    (void)endpoint_delete(n, (*out)->id, NULL);
    hcs_hns_endpoint_free(*out);
    *out = NULL;
    return hcsd__nets_fail_msg(errmsg, 500, "saving the networks: %s",
                               strerror(-e));
  }
  return 0;
}

/* The network mode names a network hcsd cannot give, or none. */
static int mode_refused(const char *mode, char **errmsg) {
  if (strncmp(mode, "container:", 10) == 0) {
    return hcsd__nets_fail_msg(
        errmsg, 500, "network mode \"%s\" is not supported by hcsd", mode);
  }
  return 0;
}

/* The endpoint's NAT policies and its view for ask; the view is kept
 * once the endpoint is made. */
static int ports_plan(hcsd_nets_t *n, const char *container_id,
                      const hcsd_nets_ask_t *ask, json_t **policies,
                      json_t **view, char **errmsg) {
  *policies = *view = NULL;
  if (ask == NULL) {
    return 0;
  }
  /* The container's own mappings of a missed detach are not in use. */
  json_t *in_use = json_copy(n->ports);
  json_object_del(in_use, container_id);
  int st = hcsd__ports_plan(ask->config, ask->host_config, in_use,
                            ask->name != NULL ? ask->name : container_id,
                            policies, view, errmsg);
  json_decref(in_use);
  return st;
}

static void ports_keep(hcsd_nets_t *n, const char *container_id, json_t *view) {
  pthread_mutex_lock(&n->plock);
  if (view != NULL) {
    json_object_set_new(n->ports, container_id, view);
  } else {
    json_object_del(n->ports, container_id);
  }
  pthread_mutex_unlock(&n->plock);
}

/* Every alias the container was given on its networks. */
static json_t *aliases_of(hcsd_nets_t *n, const char *cid) {
  json_t *all = json_array();
  json_array_extend(all, json_object_get(n->aliases, cid));
  const char *k;
  json_t *s;
  json_object_foreach(json_object_get(n->extra, cid), k, s) {
    json_array_extend(all, json_object_get(s, "Aliases"));
  }
  return all;
}

static void extra_set(hcsd_nets_t *n, const char *cid, const char *net,
                      json_t *settings) {
  pthread_mutex_lock(&n->plock);
  json_t *mine = json_object_get(n->extra, cid);
  if (mine != NULL && settings != NULL) {
    json_object_set_new(mine, net, settings);
  } else {
    json_decref(settings);
  }
  pthread_mutex_unlock(&n->plock);
}

/* An endpoint on each network the container was connected to beyond
 * its mode's (after that one, so eth0 is its mode's and gives the
 * default route). 0 or a 500 with *errmsg; the ones made stay for the
 * caller to drop. */
static int attach_extras(hcsd_nets_t *n, const char *cid, const char *cname,
                         char **errmsg) {
  json_t *want = json_deep_copy(json_object_get(n->extra, cid));
  const char *name;
  json_t *s;
  int st = 0;
  json_object_foreach(want, name, s) {
    hcsd_net_t *net = hcsd__nets_find_name(n, name);
    hcs_hns_endpoint_t *e = NULL;
    if (net == NULL) {
      st = hcsd__nets_fail_msg(errmsg, 500, "network %s not found", name);
    }
    st = st != 0 ? st : ensure_hns(n, net, errmsg);
    if (st == 0) {
      drop_stale(n, net, cid);
      st = endpoint_make(n, net, cid, cname, NULL, &e, errmsg);
    }
    if (st != 0) {
      break;
    }
    json_t *aliases = json_object_get(s, "Aliases");
    json_t *dns = json_pack("[s, s#]", cname, cid, (size_t)12);
    json_array_extend(dns, aliases);
    extra_set(n, cid, name, hcsd__nets_settings(net, e, dns, aliases));
    hcs_hns_endpoint_free(e);
    hcsd__nets_hosts_refresh(n, net);
  }
  json_decref(want);
  return st;
}

/* The extra networks' entries as they are while the container is down. */
static void extras_idle(hcsd_nets_t *n, const char *cid) {
  pthread_mutex_lock(&n->plock);
  const char *k;
  json_t *s;
  json_object_foreach(json_object_get(n->extra, cid), k, s) {
    json_t *idle = json_pack("{s:s, s:s, s:s, s:i, s:s, s:n}", "EndpointID", "",
                             "Gateway", "", "IPAddress", "", "IPPrefixLen", 0,
                             "MacAddress", "", "DNSNames");
    json_object_update(s, idle);
    json_decref(idle);
  }
  pthread_mutex_unlock(&n->plock);
}

/* Deletes the container's endpoint on every network; 0, or -EBUSY
 * (-EIO) for one HNS would not delete, whose record stays. */
static int drop_all(hcsd_nets_t *n, const char *cid) {
  int e = 0;
  for (size_t i = 0; i < n->n; i++) {
    json_t *ep = json_object_get(n->v[i]->containers, cid);
    const char *id = json_string_value(json_object_get(ep, "EndpointID"));
    if (id == NULL) {
      continue;
    }
    hcs_result_t r = endpoint_delete(n, id, NULL);
    if (r == HCS_OK || r == HCS_ERROR_NOT_FOUND) {
      json_object_del(n->v[i]->containers, cid);
      hcsd__nets_hosts_refresh(n, n->v[i]);
    } else {
      /* WSAEINVAL: a running system still holds it. */
      e = r == HCS_WSAEINVAL ? -EBUSY : -EIO;
    }
  }
  ports_keep(n, cid, NULL);
  json_object_del(n->peers, cid);
  extras_idle(n, cid);
  return e;
}

static int attach_locked(hcsd_nets_t *n, const char *mode,
                         const char *container_id, const hcsd_nets_ask_t *ask,
                         char **endpoint_id, char **name, char **settings,
                         char **errmsg) {
  size_t ambiguous = 0;
  hcsd_net_t *net = hcsd__nets_find(n, mode, &ambiguous);
  if (net == NULL) {
    return hcsd__nets_fail_msg(errmsg, 500, "network %s not found", mode);
  }
  /* host and none have no endpoint: the system shares the host's network
   * (HostNetwork) or has one of its own with only loopback. */
  hcs_hns_endpoint_t *e = NULL;
  if (strcmp(net->driver, "host") != 0 && strcmp(net->driver, "null") != 0) {
    int st = ensure_hns(n, net, errmsg);
    if (st != 0) {
      return st;
    }
    drop_stale(n, net, container_id);
    json_t *policies, *view;
    st = ports_plan(n, container_id, ask, &policies, &view, errmsg);
    const char *cname =
        ask != NULL && ask->name != NULL ? ask->name : container_id;
    st = st != 0
             ? st
             : endpoint_make(n, net, container_id, cname, policies, &e, errmsg);
    json_decref(policies);
    if (st != 0) {
      json_decref(view);
      return st;
    }
    ports_keep(n, container_id, view);
    json_t *aliases = aliases_of(n, container_id);
    hcsd__nets_hosts_join(
        n, container_id, cname, ask != NULL ? ask->hosts : NULL, aliases,
        ask != NULL ? json_object_get(ask->host_config, "Links") : NULL);
    json_decref(aliases);
    hcsd__nets_hosts_refresh(n, net);
    if ((st = attach_extras(n, container_id, cname, errmsg)) != 0) {
      hcs_hns_endpoint_free(e);
      (void)drop_all(n, container_id);
      (void)hcsd__nets_save(n);
      return st;
    }
  }
  json_t *dns = NULL;
  json_t *mine = json_object_get(n->aliases, container_id);
  if (e != NULL && !net->predefined && ask != NULL && ask->name != NULL) {
    dns = json_pack("[s, s#]", ask->name, container_id, (size_t)12);
    json_array_extend(dns, mine);
  }
  *settings = hcsd__nets_dump(hcsd__nets_settings(
      net, e, dns, json_array_size(mine) > 0 ? mine : NULL));
  *name = strdup(net->name);
  *endpoint_id = e != NULL ? strdup(e->id) : NULL;
  if (*settings == NULL || *name == NULL ||
      (e != NULL && *endpoint_id == NULL)) {
    if (e != NULL) {
      json_object_del(net->containers, container_id);
      ports_keep(n, container_id, NULL);
      (void)endpoint_delete(n, e->id, NULL);
      (void)hcsd__nets_save(n);
    }
    hcs_hns_endpoint_free(e);
    free(*settings);
    free(*name);
    free(*endpoint_id);
    *settings = *name = *endpoint_id = NULL;
    return hcsd__nets_fail_msg(errmsg, 500, "out of memory");
  }
  hcs_hns_endpoint_free(e);
  return 0;
}

int hcsd_nets_attach(hcsd_nets_t *n, const char *mode, const char *container_id,
                     char **endpoint_id, char **name, char **settings,
                     char **errmsg) {
  return hcsd_nets_attach_with(n, mode, container_id, NULL, endpoint_id, name,
                               settings, errmsg);
}

int hcsd_nets_attach_with(hcsd_nets_t *n, const char *mode,
                          const char *container_id, const hcsd_nets_ask_t *ask,
                          char **endpoint_id, char **name, char **settings,
                          char **errmsg) {
  *endpoint_id = *name = *settings = *errmsg = NULL;
  if (mode == NULL || mode[0] == '\0' || strcmp(mode, "default") == 0) {
    mode = "bridge";
  }
  if (container_id == NULL || container_id[0] == '\0') {
    return hcsd__nets_fail_msg(errmsg, 500, "attach: no container id");
  }
  int st = mode_refused(mode, errmsg);
  if (st != 0) {
    return st;
  }
  pthread_mutex_lock(&n->lock);
  st = attach_locked(n, mode, container_id, ask, endpoint_id, name, settings,
                     errmsg);
  pthread_mutex_unlock(&n->lock);
  return st;
}

/* The container endpoint_id is an endpoint of, into cid; false if none. */
static bool owner_of(hcsd_nets_t *n, const char *endpoint_id, char cid[128]) {
  for (size_t i = 0; i < n->n; i++) {
    const char *key;
    json_t *ep;
    json_object_foreach(n->v[i]->containers, key, ep) {
      const char *id = json_string_value(json_object_get(ep, "EndpointID"));
      if (id != NULL && strcmp(id, endpoint_id) == 0) {
        snprintf(cid, 128, "%s", key);
        return true;
      }
    }
  }
  return false;
}

int hcsd_nets_detach(hcsd_nets_t *n, const char *endpoint_id) {
  if (endpoint_id == NULL || endpoint_id[0] == '\0') {
    return 0;
  }
  pthread_mutex_lock(&n->lock);
  char cid[128];
  int e = 0;
  if (owner_of(n, endpoint_id, cid)) {
    e = drop_all(n, cid);
    int w = hcsd__nets_save(n);
    e = e != 0 ? e : w;
  } else {
    hcs_result_t r = endpoint_delete(n, endpoint_id, NULL);
    e = r == HCS_OK || r == HCS_ERROR_NOT_FOUND ? 0
        : r == HCS_WSAEINVAL                    ? -EBUSY
                                                : -EIO;
  }
  pthread_mutex_unlock(&n->lock);
  return e;
}

json_t *hcsd_nets_endpoint_list(hcsd_nets_t *n, const char *cid,
                                const char *primary) {
  json_t *a = json_array();
  if (primary != NULL) {
    json_array_append_new(a, json_string(primary));
  }
  pthread_mutex_lock(&n->lock);
  for (size_t i = 0; i < n->n; i++) {
    json_t *ep = json_object_get(n->v[i]->containers, cid);
    const char *id = json_string_value(json_object_get(ep, "EndpointID"));
    if (id != NULL && (primary == NULL || strcmp(id, primary) != 0)) {
      json_array_append_new(a, json_string(id));
    }
  }
  pthread_mutex_unlock(&n->lock);
  return a;
}

json_t *hcsd_nets_extra(hcsd_nets_t *n, const char *cid) {
  pthread_mutex_lock(&n->plock);
  json_t *v = json_object_get(n->extra, cid);
  v = v != NULL ? json_deep_copy(v) : json_object();
  pthread_mutex_unlock(&n->plock);
  return v;
}

void hcsd_nets_aliases(hcsd_nets_t *n, const char *cid, json_t *aliases) {
  json_t *copy = json_deep_copy(aliases);
  pthread_mutex_lock(&n->lock);
  if (copy != NULL && json_object_set_new(n->aliases, cid, copy) == 0) {
    (void)hcsd__nets_save(n);
  }
  pthread_mutex_unlock(&n->lock);
}

void hcsd_nets_forget(hcsd_nets_t *n, const char *cid) {
  pthread_mutex_lock(&n->lock);
  pthread_mutex_lock(&n->plock);
  bool had = json_object_del(n->extra, cid) == 0;
  pthread_mutex_unlock(&n->plock);
  had = json_object_del(n->aliases, cid) == 0 || had;
  if (had) {
    (void)hcsd__nets_save(n);
  }
  pthread_mutex_unlock(&n->lock);
}

json_t *hcsd_nets_ports(hcsd_nets_t *n, const char *container_id) {
  pthread_mutex_lock(&n->plock);
  json_t *v = json_object_get(n->ports, container_id);
  v = v != NULL ? json_deep_copy(v) : json_object();
  pthread_mutex_unlock(&n->plock);
  return v;
}

/* hcs_ModifyComputeSystem's network request for endpoint ep of system
 * cid: 0, or a 500 reply with what hcs said. */
static int system_modify(hcsd_nets_t *n, const char *cid, const char *ep,
                         bool add, const char *net, char **reply) {
  char req[256];
  snprintf(req, sizeof(req),
           "{\"ResourcePath\":\"Network\",\"RequestType\":\"%s\","
           "\"Settings\":{\"EndpointId\":\"%s\"}}",
           add ? "Add" : "Remove", ep);
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_ModifyComputeSystem(n->hcs, cid, req, &err);
  int st = r == HCS_OK
               ? 0
               : hcsd__nets_fail(reply, 500, "%s network %s: %s",
                                 add ? "connecting to" : "disconnecting from",
                                 net, hcsd__nets_why(err));
  hcs_error_free(err);
  return st;
}

int hcsd__nets_live_add(hcsd_nets_t *n, hcsd_net_t *net, const char *cid,
                        const char *cname, char **reply) {
  char *msg = NULL;
  hcs_hns_endpoint_t *e = NULL;
  int st = ensure_hns(n, net, &msg);
  if (st == 0) {
    drop_stale(n, net, cid);
    st = endpoint_make(n, net, cid, cname, NULL, &e, &msg);
  }
  if (st != 0) {
    st = hcsd__nets_fail(reply, st, "%s", msg != NULL ? msg : "out of memory");
    free(msg);
    return st;
  }
  if ((st = system_modify(n, cid, e->id, true, net->name, reply)) != 0) {
    json_object_del(net->containers, cid);
    (void)endpoint_delete(n, e->id, NULL);
    hcs_hns_endpoint_free(e);
    (void)hcsd__nets_save(n);
    return st;
  }
  json_t *aliases = json_object_get(
      json_object_get(json_object_get(n->extra, cid), net->name), "Aliases");
  json_t *dns = json_pack("[s, s#]", cname, cid, (size_t)12);
  json_array_extend(dns, aliases);
  extra_set(n, cid, net->name, hcsd__nets_settings(net, e, dns, aliases));
  hcs_hns_endpoint_free(e);
  hcsd__nets_hosts_refresh(n, net);
  return 0;
}

int hcsd__nets_live_remove(hcsd_nets_t *n, hcsd_net_t *net, const char *cid,
                           char **reply) {
  json_t *entry = json_object_get(net->containers, cid);
  const char *id = json_string_value(json_object_get(entry, "EndpointID"));
  if (id == NULL) {
    return 0;
  }
  int st = system_modify(n, cid, id, false, net->name, reply);
  if (st != 0) {
    return st;
  }
  hcs_result_t r = endpoint_delete(n, id, NULL);
  if (r != HCS_OK && r != HCS_ERROR_NOT_FOUND) {
    return hcsd__nets_fail(reply, 500,
                           "disconnecting from network %s: its endpoint "
                           "stays (HNS would not delete it)",
                           net->name);
  }
  json_object_del(net->containers, cid);
  hcsd__nets_hosts_refresh(n, net);
  return 0;
}

void hcsd__nets_live_left(hcsd_nets_t *n, const char *cid) {
  hcsd__nets_hosts_one(n, cid);
}
