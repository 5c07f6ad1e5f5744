/* SPDX-License-Identifier: MIT */
/* hcsd's networks: Docker networks over hcs's HNS calls.
 *
 * "bridge" (the default, also what "default" resolves to) is an HNS NAT
 * network hcsd creates on first use; "host" means no network namespace of
 * its own; "none" one of its own with only loopback. Every call is blocking (it
 * makes the synchronous hcs_HNS* calls) and thread-safe: hcsd calls them from
 * as_loop_work() threads, never from the engine thread.
 *
 * Calls that answer an HTTP request return its status and set *reply to
 * the body text (free()): the JSON for a success, {"message":"..."} as
 * Docker words it for a failure, NULL when the status has no body. */
#ifndef HCSD_NETS_H
#define HCSD_NETS_H

#include <hcs.h>

#include <jansson.h>
#include <stdbool.h>

typedef struct hcsd_nets_s hcsd_nets_t;

/* dir: hcsd's directory for its network records (names, labels, created
 * times, the Docker ids of the HNS networks). -1 and *errmsg on failure. */
int hcsd_nets_open(hcs_t *hcs, const char *dir, hcsd_nets_t **out,
                   char **errmsg);
void hcsd_nets_close(hcsd_nets_t *n);

/* POST /networks/create with the request body: 201 {"Id","Warning":""};
 * 409 for a name in use; 400 for bad JSON or options. */
int hcsd_nets_create(hcsd_nets_t *n, const char *body, char **reply);
/* GET /networks: 200 and the array. */
int hcsd_nets_list(hcsd_nets_t *n, char **reply);
/* GET /networks?filters=: 200 and the networks that pass filters (moby's
 * JSON text: name, id, driver, label, type, scope, dangling; NULL: all);
 * 400 for a key or value moby refuses. */
int hcsd_nets_query(hcsd_nets_t *n, const char *filters, char **reply);
/* GET /networks/{name or id or unique id prefix}: 200 or 404. */
int hcsd_nets_inspect(hcsd_nets_t *n, const char *ref, char **reply);
/* DELETE /networks/{ref}: 204, 404, 403 for a predefined network or one
 * with endpoints attached. */
int hcsd_nets_remove(hcsd_nets_t *n, const char *ref, char **reply);

/* At container start: mode is HostConfig.NetworkMode ("", "default",
 * "bridge", "host", a name or an id). Returns 0 with *endpoint_id (the
 * HNS endpoint id for ContainerConfig.EndpointList, free()) or NULL for
 * "host", and *settings the JSON object for
 * NetworkSettings.Networks[*name] (free()), *name the network's name
 * (free()). Else an HTTP status (500 with *errmsg "network n1 not
 * found", or why it failed). */
int hcsd_nets_attach(hcsd_nets_t *n, const char *mode, const char *container_id,
                     char **endpoint_id, char **name, char **settings,
                     char **errmsg);
/* What a container asks of its endpoint beyond the network; the JSON is
 * only read, during the call. */
typedef struct hcsd_nets_ask_s {
  const char *name;    /* the container's name, for messages */
  json_t *config;      /* its Config: ExposedPorts */
  json_t *host_config; /* its HostConfig: PortBindings, PublishAllPorts */
  const char *hosts;   /* its hosts file, where the names of the others on
                          its user networks go; NULL: none */
} hcsd_nets_ask_t;
/* hcsd_nets_attach with the endpoint's port mappings (ports.h) for ask
 * (NULL: none); a port already allocated or bound on the host fails the
 * attach (500, dockerd's words). */
int hcsd_nets_attach_with(hcsd_nets_t *n, const char *mode,
                          const char *container_id, const hcsd_nets_ask_t *ask,
                          char **endpoint_id, char **name, char **settings,
                          char **errmsg);
/* Once the container's system runs (its hosts file written and bound):
 * the names of the others on its user networks written into it. */
void hcsd_nets_started(hcsd_nets_t *n, const char *container_id);
/* NetworkSettings.Ports of the container while its endpoint lives (a new
 * object; {} when it has none). Does not wait for an HNS call: the engine
 * thread may call it. */
json_t *hcsd_nets_ports(hcsd_nets_t *n, const char *container_id);

/* POST /networks/{net_ref}/connect of a container (id cid, named cname,
 * of NetworkMode mode), with the request's EndpointConfig (NULL or an
 * object; Aliases honoured, the rest refused by name): recorded, and made
 * an endpoint at each start after the one of its mode; running: the
 * endpoint made and added to its system now. 200, or 404 (no network),
 * 403 (connected already), 400, 500 (hcs refused). */
int hcsd_nets_connect(hcsd_nets_t *n, const char *net_ref, const char *cid,
                      const char *cname, const char *mode, json_t *epc,
                      bool running, char **reply);
/* At create: hcsd_nets_connect for each network of networks (name ->
 * EndpointConfig). 0, or its status (400 for a network not found) with
 * *msg (malloc'ed) and nothing recorded. */
int hcsd_nets_connect_all(hcsd_nets_t *n, json_t *networks, const char *cid,
                          const char *cname, const char *mode, char **msg);
/* POST /networks/{net_ref}/disconnect: the record goes (running: its
 * endpoint taken from the system and deleted first). 200, or 404, 403
 * (not connected), 400 (the network of its NetworkMode), 500. */
int hcsd_nets_disconnect(hcsd_nets_t *n, const char *net_ref, const char *cid,
                         const char *cname, const char *mode, bool running,
                         char **reply);
/* The container's EndpointList for its system: primary (attach's
 * endpoint) first, then those of its other networks. */
json_t *hcsd_nets_endpoint_list(hcsd_nets_t *n, const char *cid,
                                const char *primary);
/* NetworkSettings.Networks entries of the networks it was connected to
 * (a new object). Does not wait for an HNS call. */
json_t *hcsd_nets_extra(hcsd_nets_t *n, const char *cid);
/* At create: the container's --network-alias names (an array, copied)
 * on the network of its NetworkMode, a user network. */
void hcsd_nets_aliases(hcsd_nets_t *n, const char *cid, json_t *aliases);
/* The container is removed: what was recorded of it goes. */
void hcsd_nets_forget(hcsd_nets_t *n, const char *cid);

/* Deletes the endpoint made by attach, and the container's endpoints on
 * its other networks. Idempotent; 0 or -errno. */
int hcsd_nets_detach(hcsd_nets_t *n, const char *endpoint_id);

#endif
