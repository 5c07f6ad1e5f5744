/* SPDX-License-Identifier: MIT */
/* HNS requests on networks and endpoints, as hcsshim's HNSNetworkRequest,
 * HNSListNetworkRequest and HNSEndpointRequest take them: a method, a path
 * and a JSON body. Every request is validated in full here (the body with
 * the strict parsers of hns_json.c) before the service's lock is taken;
 * the objects behind them live in hns_store.c, hns_net.c and hns_ep.c.
 * The calls run on the caller's thread: netlink and nftables answers are
 * waited for, which the engine thread must never do. */
#include "hcs/hns/hns_json.h"
#include "hcs/hns/hns_store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef enum { HNS_GET, HNS_POST, HNS_DELETE } hns_method_t;

typedef enum {
  HNS_NETWORK,  /* hcs_HNSNetworkRequest: one network */
  HNS_NETWORKS, /* hcs_HNSListNetworkRequest: a list of networks */
  HNS_ENDPOINT, /* hcs_HNSEndpointRequest: one endpoint */
} hns_kind_t;

typedef struct hns_req_s {
  const char *op;
  hns_kind_t kind;
  hcs_t *hcs;
  const char *method_text;
  hns_method_t method;
  const char *path;     /* "" when the caller gave NULL */
  const char *body;     /* NULL or "": none */
  const char *null_out; /* "out: is NULL" when an out-param is NULL */
  char object[160];     /* "id=PATH" once PATH is a valid id, else "" */
  /* The parsed POST body, until a create takes it. */
  hcs_hns_network_t *net_body;
  hcs_hns_endpoint_t *ep_body;
  /* Where the answer goes. */
  hcs_hns_network_t **net_out;
  size_t *n_out;
  hcs_hns_endpoint_t **ep_out;
} hns_req_t;

static int method_parse(const char *m, hns_method_t *out) {
  static const char *const names[] = {"GET", "POST", "DELETE"};
  for (int i = 0; m != NULL && i < 3; i++) {
    if (strcmp(m, names[i]) == 0) {
      *out = (hns_method_t)i;
      return 1;
    }
  }
  return 0;
}

/* What GET, POST or DELETE need of the path and the body: NULL, or what is
 * wrong, the field first. */
static const char *method_problem(const hns_req_t *q) {
  int has_id = q->path[0] != '\0';
  int has_body = q->body != NULL && q->body[0] != '\0';
  switch (q->method) {
  case HNS_GET:
    if (!has_id && q->kind == HNS_NETWORK) {
      return "path: GET of one network needs its id (list networks with "
             "hcs_HNSListNetworkRequest)";
    }
    if (!has_id && q->kind == HNS_ENDPOINT) {
      return "path: GET of an endpoint needs its id";
    }
    return has_body ? "request: GET takes no body" : NULL;
  case HNS_POST:
    if (has_id) {
      return "path: POST creates at \"\" (the service gives the id)";
    }
    return has_body ? NULL
                    : "request: POST needs the object to create, as JSON";
  case HNS_DELETE:
    if (!has_id) {
      return "path: DELETE needs an id";
    }
    return has_body ? "request: DELETE takes no body" : NULL;
  }
  return "method: unknown";
}

/* NULL, or what is wrong with the request's arguments. */
static const char *request_problem(hns_req_t *q) {
  if (q->hcs == NULL) {
    return "hcs: is NULL";
  }
  if (!method_parse(q->method_text, &q->method)) {
    return "method: must be \"GET\", \"POST\" or \"DELETE\"";
  }
  if (q->kind == HNS_NETWORKS && q->method != HNS_GET) {
    return "method: a list request is \"GET\"";
  }
  if (q->path[0] != '\0' && !hcs__hns_id_valid(q->path)) {
    return "path: must be \"\", an id (1-128 of [A-Za-z0-9_.-], not "
           "starting with '.' or '-') or a GUID";
  }
  const char *why = method_problem(q);
  /* DELETE answers nothing: hcsshim passed no output there. */
  return why != NULL ? why : q->method != HNS_DELETE ? q->null_out : NULL;
}

/* Parses a POST body (kept in q) and checks what creating the object
 * needs beyond what a stored object has. */
static hcs_result_t body_check(hns_req_t *q, hcs_error_t **err) {
  const char *missing = NULL;
  hcs_result_t r;
  if (q->kind == HNS_ENDPOINT) {
    r = hcs__hns_endpoint_parse(q->body, q->op, q->object, &q->ep_body, err);
    if (r == HCS_OK && q->ep_body->virtual_network == NULL &&
        q->ep_body->virtual_network_name == NULL) {
      missing = "VirtualNetwork: required to create an endpoint (or "
                "VirtualNetworkName)";
    }
  } else {
    r = hcs__hns_network_parse(q->body, q->op, q->object, &q->net_body, err);
    if (r == HCS_OK && q->net_body->type == NULL) {
      missing = "Type: required to create a network";
    }
  }
  if (missing != NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, q->op, q->object, EINVAL, "%s",
                     missing);
  }
  return r;
}

static hcs_result_t not_found(const hns_req_t *q, const char *what,
                              hcs_error_t **err) {
  return hcs__fail(err, HCS_ERROR_NOT_FOUND, q->op, q->object, ENOENT,
                   "no %s has id %s", what, q->path);
}

static hcs_result_t copy_failed(const hns_req_t *q, hcs_error_t **err) {
  return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, q->op, q->object, ENOMEM,
                   "out of memory copying the answer");
}

static hcs_result_t networks_list(hns_req_t *q, hcs__hns_t *h,
                                  hcs_error_t **err) {
  hcs__hns_net_t *one = NULL;
  if (q->path[0] != '\0' && (one = hcs__hns_net_find(h, q->path)) == NULL) {
    return not_found(q, "network", err);
  }
  size_t n = one != NULL ? 1 : h->n_nets;
  if (n == 0) {
    return HCS_OK;
  }
  hcs_hns_network_t *v = as_calloc(n, sizeof(*v));
  if (v == NULL) {
    return copy_failed(q, err);
  }
  for (size_t i = 0; i < n; i++) {
    hcs_hns_network_t *c =
        hcs__hns_network_copy(one != NULL ? one->pub : h->nets[i]->pub);
    if (c == NULL) {
      hcs_hns_networks_free(v, i);
      return copy_failed(q, err);
    }
    v[i] = *c;
    as_free(c);
  }
  *q->net_out = v;
  *q->n_out = n;
  return HCS_OK;
}

static hcs_result_t network_request(hns_req_t *q, hcs__hns_t *h,
                                    hcs_error_t **err) {
  if (q->method == HNS_POST) {
    hcs_hns_network_t *body = q->net_body;
    q->net_body = NULL;
    return hcs__hns_net_create(h, q->op, body, q->net_out, err);
  }
  hcs__hns_net_t *net = hcs__hns_net_find(h, q->path);
  if (net == NULL) {
    return not_found(q, "network", err);
  }
  if (q->method == HNS_DELETE) {
    return hcs__hns_net_delete(h, q->op, q->object, net, err);
  }
  *q->net_out = hcs__hns_network_copy(net->pub);
  return *q->net_out != NULL ? HCS_OK : copy_failed(q, err);
}

static hcs_result_t endpoint_request(hns_req_t *q, hcs__hns_t *h,
                                     hcs_error_t **err) {
  if (q->method == HNS_POST) {
    hcs_hns_endpoint_t *body = q->ep_body;
    q->ep_body = NULL;
    return hcs__hns_ep_create(h, q->op, body, q->ep_out, err);
  }
  hcs__hns_ep_t *ep = hcs__hns_ep_find(h, q->path);
  if (ep == NULL) {
    return not_found(q, "endpoint", err);
  }
  if (q->method == HNS_DELETE) {
    return hcs__hns_ep_delete(h, q->op, q->object, ep, err);
  }
  *q->ep_out = hcs__hns_endpoint_copy(ep->pub);
  return *q->ep_out != NULL ? HCS_OK : copy_failed(q, err);
}

static hcs_result_t dispatch(hns_req_t *q, hcs_error_t **err) {
  hcs__hns_t *h = q->hcs->hns;
  pthread_mutex_lock(&h->lock);
  hcs_result_t r = q->kind == HNS_NETWORKS  ? networks_list(q, h, err)
                   : q->kind == HNS_NETWORK ? network_request(q, h, err)
                                            : endpoint_request(q, h, err);
  pthread_mutex_unlock(&h->lock);
  return r == HCS_OK ? hcs__ok(err) : r;
}

static hcs_result_t hns_request(hns_req_t *q, hcs_error_t **err) {
  if (q->path == NULL) {
    q->path = "";
  }
  q->object[0] = '\0';
  if (hcs__hns_id_valid(q->path)) {
    snprintf(q->object, sizeof(q->object), "id=%s", q->path);
  }
  const char *why = request_problem(q);
  if (why != NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, q->op, q->object, EINVAL, "%s", why);
  }
  hcs_result_t r = q->method == HNS_POST ? body_check(q, err) : HCS_OK;
  if (r == HCS_OK) {
    r = dispatch(q, err);
  }
  hcs_hns_network_free(q->net_body);
  hcs_hns_endpoint_free(q->ep_body);
  return r;
}

hcs_result_t hcs_HNSNetworkRequest(hcs_t *hcs, const char *method,
                                   const char *path, const char *request,
                                   hcs_hns_network_t **out, hcs_error_t **err) {
  if (out != NULL) {
    *out = NULL;
  }
  hns_req_t q = {.op = "hcs::HNSNetworkRequest",
                 .kind = HNS_NETWORK,
                 .hcs = hcs,
                 .method_text = method,
                 .path = path,
                 .body = request,
                 .null_out = out == NULL ? "out: is NULL" : NULL,
                 .net_out = out};
  return hns_request(&q, err);
}

hcs_result_t hcs_HNSListNetworkRequest(hcs_t *hcs, const char *method,
                                       const char *path, const char *request,
                                       hcs_hns_network_t **out, size_t *n,
                                       hcs_error_t **err) {
  if (out != NULL) {
    *out = NULL;
  }
  if (n != NULL) {
    *n = 0;
  }
  hns_req_t q = {.op = "hcs::HNSListNetworkRequest",
                 .kind = HNS_NETWORKS,
                 .hcs = hcs,
                 .method_text = method,
                 .path = path,
                 .body = request,
                 .null_out = out == NULL ? "out: is NULL"
                             : n == NULL ? "n: is NULL"
                                         : NULL,
                 .net_out = out,
                 .n_out = n};
  return hns_request(&q, err);
}

hcs_result_t hcs_HNSEndpointRequest(hcs_t *hcs, const char *method,
                                    const char *path, const char *request,
                                    hcs_hns_endpoint_t **out,
                                    hcs_error_t **err) {
  if (out != NULL) {
    *out = NULL;
  }
  hns_req_t q = {.op = "hcs::HNSEndpointRequest",
                 .kind = HNS_ENDPOINT,
                 .hcs = hcs,
                 .method_text = method,
                 .path = path,
                 .body = request,
                 .null_out = out == NULL ? "out: is NULL" : NULL,
                 .ep_out = out};
  return hns_request(&q, err);
}
