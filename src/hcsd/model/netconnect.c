/* SPDX-License-Identifier: MIT */
/* docker network connect and disconnect (netconnect.h): the body checked
 * and the container found on the engine thread, the networks' records
 * (and a running container's endpoints) changed on the pool (nets.h,
 * netsconn.c). A container starting or stopping (busy) is refused: its
 * endpoints are being made or deleted. */
#include "hcsd/model/netconnect.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"
#include "hcsd/model/spec.h"

#include <stdlib.h>
#include <string.h>

typedef struct conn_job_s {
  hcsd_t *d;
  bool disconnect, running;
  char *net, *cid, *cname, *mode;
  json_t *epc;
  int status;
  char *reply;
  hcsd_net_cb done;
  void *data;
  char *ev; /* the network, as inspect shows it, for its event */
} conn_job_t;

static void conn_free(conn_job_t *j) {
  free(j->net);
  free(j->cid);
  free(j->cname);
  free(j->mode);
  json_decref(j->epc);
  free(j->reply);
  free(j->ev);
  free(j);
}

static void conn_work(void *data) {
  conn_job_t *j = data;
  j->status = j->disconnect
                  ? hcsd_nets_disconnect(j->d->nets, j->net, j->cid, j->cname,
                                         j->mode, j->running, &j->reply)
                  : hcsd_nets_connect(j->d->nets, j->net, j->cid, j->cname,
                                      j->mode, j->epc, j->running, &j->reply);
  if (j->running && j->status >= 200 && j->status < 300 &&
      hcsd_nets_inspect(j->d->nets, j->net, &j->ev) != 200) {
    free(j->ev);
    j->ev = NULL;
  }
}

static void conn_done(void *data) {
  conn_job_t *j = data;
  if (j->ev != NULL) {
    /* As dockerd: told for a running container (a stopped one's is told
     * at its start). */
    hcsd_event_net_of(j->d, j->disconnect ? "disconnect" : "connect", j->ev,
                      j->cid);
  }
  j->done(j->status, j->reply, j->data);
  conn_free(j);
}

/* The body's Container, and EndpointConfig with every field but Aliases
 * at its default (connect) or Force a boolean (disconnect). */
static json_t *body_check(const char *body, bool disconnect, const char **ref,
                          hcsd_err_t *e) {
  json_error_t je;
  json_t *b = json_loads(body != NULL ? body : "", 0, &je);
  if (!json_is_object(b)) {
    json_decref(b);
    hcsd_err_set(e, 400, "invalid JSON in the request body: %s", je.text);
    return NULL;
  }
  *ref = json_string_value(json_object_get(b, "Container"));
  json_t *epc = json_object_get(b, "EndpointConfig");
  json_t *force = json_object_get(b, "Force");
  int r = 0;
  if (*ref == NULL || (*ref)[0] == '\0') {
    hcsd_err_set(e, 400, "Container: a container name or id is required");
    r = -1;
  } else if (!disconnect && epc != NULL && !json_is_null(epc) &&
             !json_is_object(epc)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal the value of EndpointConfig");
    r = -1;
  } else if (disconnect && force != NULL && !json_is_boolean(force)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal the value of Force");
    r = -1;
  } else if (!disconnect && json_is_object(epc)) {
    json_t *rest = json_copy(epc);
    json_object_del(rest, "Aliases");
    r = hcsd_spec_endpoint_check(rest, "EndpointConfig.", e);
    json_decref(rest);
  }
  if (r != 0) {
    json_decref(b);
    return NULL;
  }
  return b;
}

static conn_job_t *conn_job(hcsd_t *d, const char *net_ref, const hcsd_ctr_t *c,
                            json_t *epc) {
  conn_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    return NULL;
  }
  j->d = d;
  j->net = strdup(net_ref);
  j->cid = strdup(c->id);
  j->cname = strdup(c->name);
  j->mode = strdup(c->net_mode);
  j->epc = json_is_object(epc) ? json_deep_copy(epc) : NULL;
  if (j->net == NULL || j->cid == NULL || j->cname == NULL || j->mode == NULL) {
    conn_free(j);
    return NULL;
  }
  return j;
}

int hcsd_net_connect(hcsd_t *d, const char *net_ref, const char *body,
                     bool disconnect, hcsd_net_cb done, void *data,
                     hcsd_err_t *e) {
  if (d->nets == NULL) {
    hcsd_err_set(e, 500, "networks are not available on this host");
    return -1;
  }
  const char *ref = NULL;
  json_t *b = body_check(body, disconnect, &ref, e);
  hcsd_ctr_t *c = b != NULL ? hcsd__ctr_get(d, ref, e) : NULL;
  if (c != NULL && c->busy) {
    hcsd_err_set(e, 409,
                 "container %s is starting or stopping: %s it once it has "
                 "settled",
                 c->name, disconnect ? "disconnect" : "connect");
    c = NULL;
  }
  conn_job_t *j =
      c != NULL ? conn_job(d, net_ref, c, json_object_get(b, "EndpointConfig"))
                : NULL;
  json_decref(b);
  if (c != NULL && j == NULL) {
    hcsd_err_set(e, 500, "out of memory");
  }
  if (j == NULL) {
    return -1;
  }
  j->disconnect = disconnect;
  j->running = c->state == CS_RUNNING;
  j->done = done;
  j->data = data;
  if (hcsd_work(d, conn_work, conn_done, j) != 0) {
    conn_free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}
