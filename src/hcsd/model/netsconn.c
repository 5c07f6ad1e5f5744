/* SPDX-License-Identifier: MIT */
/* docker network connect and disconnect: the networks a container was
 * connected to beyond its NetworkMode's are recorded (n->extra, with the
 * Aliases asked for), shown in its inspect, and get an endpoint of their
 * own at each start (netsattach.c). A running container gets (loses) the
 * endpoint at once, through hcs_ModifyComputeSystem's network
 * requests. */
#include "hcsd/model/netsint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The network a NetworkMode names; NULL with the reply when it is one no
 * other network may join. */
static hcsd_net_t *mode_net(hcsd_nets_t *n, const char *mode, char **reply,
                            int *st) {
  if (mode == NULL || mode[0] == '\0' || strcmp(mode, "default") == 0) {
    mode = "bridge";
  }
  if (strcmp(mode, "host") == 0 || strncmp(mode, "container:", 10) == 0) {
    *st = hcsd__nets_fail(reply, 400,
                          "container sharing network namespace with another "
                          "container or host cannot be connected to any "
                          "other network");
    return NULL;
  }
  if (strcmp(mode, "none") == 0) {
    *st = hcsd__nets_fail(reply, 400,
                          "container cannot be connected to multiple networks "
                          "with one of the networks in private (none) mode");
    return NULL;
  }
  size_t ambiguous = 0;
  hcsd_net_t *net = hcsd__nets_find(n, mode, &ambiguous);
  if (net == NULL) {
    *st = hcsd__nets_fail(reply, 404, "network %s not found", mode);
  }
  return net;
}

static hcsd_net_t *net_or_fail(hcsd_nets_t *n, const char *ref, char **reply,
                               int *st) {
  size_t ambiguous = 0;
  hcsd_net_t *net = hcsd__nets_find(n, ref, &ambiguous);
  if (net == NULL) {
    *st = hcsd__nets_fail(reply, 404, "network %s not found", ref);
  }
  return net;
}

static int connect_locked(hcsd_nets_t *n, const char *net_ref, const char *cid,
                          const char *cname, const char *mode, json_t *aliases,
                          bool running, char **reply) {
  int st = 0;
  hcsd_net_t *net = net_or_fail(n, net_ref, reply, &st);
  hcsd_net_t *primary = net != NULL ? mode_net(n, mode, reply, &st) : NULL;
  if (primary == NULL) {
    return st;
  }
  if (strcmp(net->driver, "host") == 0 || strcmp(net->driver, "null") == 0) {
    return hcsd__nets_fail(reply, 400,
                           "container cannot be disconnected from host "
                           "network or connected to %s network",
                           net->name);
  }
  json_t *mine = json_object_get(n->extra, cid);
  if (primary == net) {
    /* docker-compose's way with a container it created on its NetworkMode
     * network: dockerd lists that network before the start, so compose
     * disconnects it and connects it again with the service's aliases.
     * hcsd lists none before the start and so gets only the connect,
     * which gives the container those aliases there (none: none). */
    json_t *copy = aliases != NULL ? json_deep_copy(aliases) : json_array();
    int r = copy != NULL ? json_object_set_new(n->aliases, cid, copy) : -1;
    r = r == 0 ? hcsd__nets_save(n) : -ENOMEM;
    return r == 0 ? 200
                  : hcsd__nets_fail(reply, 500, "saving the networks: %s",
                                    strerror(-r));
  }
  if (json_object_get(mine, net->name) != NULL) {
    return hcsd__nets_fail(reply, 403,
                           "endpoint with name %s already exists in network %s",
                           cname, net->name);
  }
  json_t *s = hcsd__nets_settings(net, NULL, NULL, aliases);
  pthread_mutex_lock(&n->plock);
  if (mine == NULL) {
    json_object_set_new(n->extra, cid, mine = json_object());
  }
  int r =
      s != NULL && mine != NULL ? json_object_set_new(mine, net->name, s) : -1;
  pthread_mutex_unlock(&n->plock);
  if (r != 0) {
    return hcsd__nets_fail(reply, 500, "out of memory");
  }
  int st2 = running ? hcsd__nets_live_add(n, net, cid, cname, reply) : 0;
  if (st2 != 0) {
    pthread_mutex_lock(&n->plock);
    json_object_del(mine, net->name);
    if (json_object_size(mine) == 0) {
      json_object_del(n->extra, cid);
    }
    pthread_mutex_unlock(&n->plock);
    return st2;
  }
  r = hcsd__nets_save(n);
  return r == 0 ? 200
                : hcsd__nets_fail(reply, 500, "saving the networks: %s",
                                  strerror(-r));
}

int hcsd_nets_connect(hcsd_nets_t *n, const char *net_ref, const char *cid,
                      const char *cname, const char *mode, json_t *epc,
                      bool running, char **reply) {
  *reply = NULL;
  json_t *aliases = json_object_get(epc, "Aliases");
  size_t i;
  json_t *a;
  json_array_foreach(aliases, i, a) {
    if (!json_is_string(a) || json_string_length(a) == 0) {
      return hcsd__nets_fail(reply, 400,
                             "EndpointConfig.Aliases[%zu]: must be a "
                             "name",
                             i);
    }
  }
  if (aliases != NULL && !json_is_array(aliases) && !json_is_null(aliases)) {
    return hcsd__nets_fail(reply, 400,
                           "json: cannot unmarshal the value of "
                           "EndpointConfig.Aliases");
  }
  pthread_mutex_lock(&n->lock);
  int st = connect_locked(n, net_ref, cid, cname, mode,
                          json_array_size(aliases) > 0 ? aliases : NULL,
                          running, reply);
  pthread_mutex_unlock(&n->lock);
  return st;
}

static int disconnect_locked(hcsd_nets_t *n, const char *net_ref,
                             const char *cid, const char *cname,
                             const char *mode, bool running, char **reply) {
  int st = 0;
  hcsd_net_t *net = net_or_fail(n, net_ref, reply, &st);
  if (net == NULL) {
    return st;
  }
  hcsd_net_t *primary = mode_net(n, mode, reply, &st);
  free(*reply);
  *reply = NULL;
  if (primary == net) {
    return hcsd__nets_fail(reply, 400,
                           "hcsd cannot disconnect container %s from network "
                           "%s, the network of its NetworkMode; only from one "
                           "it was connected to",
                           cname, net->name);
  }
  json_t *mine = json_object_get(n->extra, cid);
  if (json_object_get(mine, net->name) == NULL) {
    return hcsd__nets_fail(reply, 403,
                           "container %s is not connected to network %s", cname,
                           net->name);
  }
  int st2 = running ? hcsd__nets_live_remove(n, net, cid, reply) : 0;
  if (st2 != 0) {
    return st2;
  }
  pthread_mutex_lock(&n->plock);
  json_object_del(mine, net->name);
  if (json_object_size(mine) == 0) {
    json_object_del(n->extra, cid);
  }
  pthread_mutex_unlock(&n->plock);
  if (running) {
    hcsd__nets_live_left(n, cid);
  }
  int r = hcsd__nets_save(n);
  return r == 0 ? 200
                : hcsd__nets_fail(reply, 500, "saving the networks: %s",
                                  strerror(-r));
}

int hcsd_nets_disconnect(hcsd_nets_t *n, const char *net_ref, const char *cid,
                         const char *cname, const char *mode, bool running,
                         char **reply) {
  *reply = NULL;
  pthread_mutex_lock(&n->lock);
  int st = disconnect_locked(n, net_ref, cid, cname, mode, running, reply);
  pthread_mutex_unlock(&n->lock);
  return st;
}

int hcsd_nets_connect_all(hcsd_nets_t *n, json_t *networks, const char *cid,
                          const char *cname, const char *mode, char **msg) {
  *msg = NULL;
  const char *net;
  json_t *epc;
  json_object_foreach(networks, net, epc) {
    char *reply = NULL;
    int st = hcsd_nets_connect(n, net, cid, cname, mode, epc, false, &reply);
    if (st != 200) {
      json_t *j = reply != NULL ? json_loads(reply, 0, NULL) : NULL;
      const char *m = json_string_value(json_object_get(j, "message"));
      *msg = strdup(m != NULL ? m : "connecting a network failed");
      json_decref(j);
      free(reply);
      hcsd_nets_forget(n, cid);
      /* No such network is the body's fault here: the CLI takes a 404
       * from create for a missing image and goes to pull it. */
      return st == 404 ? 400 : st;
    }
    free(reply);
  }
  return 0;
}
