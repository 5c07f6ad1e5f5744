/* HNS requests on networks and endpoints, as hcsshim's HNSNetworkRequest,
 * HNSListNetworkRequest and HNSEndpointRequest take them: a method, a path
 * and a JSON body. Every request is validated in full here (the body with
 * the strict parsers of hns_json.c); the machinery behind them (bridges,
 * veth pairs, address allocation) is issue 7's, so a valid request answers
 * HCS_ERROR_CALL_NOT_IMPLEMENTED and never pretends to succeed. */
#include "hcs/hns_json.h"

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
} hns_req_t;

static const char not_built[] = "HNS networks (issue 7) are not built yet";

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
  return why != NULL ? why : q->null_out;
}

/* Parses a POST body and checks what creating the object needs beyond
 * what a stored object has. */
static hcs_result_t body_check(const hns_req_t *q, hcs_error_t **err) {
  const char *missing = NULL;
  hcs_result_t r;
  if (q->kind == HNS_ENDPOINT) {
    hcs_hns_endpoint_t *e = NULL;
    r = hcs__hns_endpoint_parse(q->body, q->op, q->object, &e, err);
    if (r == HCS_OK && e->virtual_network == NULL &&
        e->virtual_network_name == NULL) {
      missing = "VirtualNetwork: required to create an endpoint (or "
                "VirtualNetworkName)";
    }
    hcs_hns_endpoint_free(e);
  } else {
    hcs_hns_network_t *n = NULL;
    r = hcs__hns_network_parse(q->body, q->op, q->object, &n, err);
    if (r == HCS_OK && n->type == NULL) {
      missing = "Type: required to create a network";
    }
    hcs_hns_network_free(n);
  }
  if (missing != NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, q->op, q->object, EINVAL, "%s",
                     missing);
  }
  return r;
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
  if (q->method == HNS_POST) {
    hcs_result_t r = body_check(q, err);
    if (r != HCS_OK) {
      return r;
    }
  }
  return hcs__fail(err, HCS_ERROR_CALL_NOT_IMPLEMENTED, q->op, q->object,
                   ENOSYS, "%s", not_built);
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
                 .null_out = out == NULL ? "out: is NULL" : NULL};
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
                                         : NULL};
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
                 .null_out = out == NULL ? "out: is NULL" : NULL};
  return hns_request(&q, err);
}
