/* SPDX-License-Identifier: MIT */
/* /networks...: create, list, inspect, remove, connect and disconnect
 * through the model, whose store words the replies as Docker does. */
#include "hcsd/http/http.h"
#include "hcsd/model/netconnect.h"

#include <http_parser.h>
#include <stdlib.h>
#include <string.h>

static void net_done(int status, const char *reply, void *data) {
  hcsd_req_t *r = data;
  if (reply != NULL) {
    hcsd_reply_text_json(r, status, reply);
  } else {
    hcsd_reply_empty(r, status);
  }
  hcsd_req_unref(r);
}

/* The call the route names, with its argument; -1 for no route. */
static int net_route(hcsd_req_t *r, const char *rest, hcsd_net_op_t *op,
                     const char **arg) {
  *arg = NULL;
  if (rest == NULL && r->method == HTTP_GET) {
    *op = HCSD_NET_LIST;
  } else if (rest != NULL && strcmp(rest, "create") == 0 &&
             r->method == HTTP_POST) {
    *op = HCSD_NET_CREATE;
    *arg = r->body;
  } else if (rest != NULL && strchr(rest, '/') == NULL &&
             (r->method == HTTP_GET || r->method == HTTP_DELETE)) {
    *op = r->method == HTTP_GET ? HCSD_NET_INSPECT : HCSD_NET_REMOVE;
    *arg = rest;
  } else {
    return -1;
  }
  return 0;
}

/* POST /networks/{ref}/connect or /disconnect; false for another path. */
static bool net_connect_route(hcsd_t *d, hcsd_req_t *r, const char *rest) {
  const char *slash = rest != NULL ? strchr(rest, '/') : NULL;
  if (slash == NULL || slash == rest || r->method != HTTP_POST ||
      (strcmp(slash, "/connect") != 0 && strcmp(slash, "/disconnect") != 0)) {
    return false;
  }
  char *ref = strndup(rest, (size_t)(slash - rest));
  hcsd_err_t e;
  if (ref == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return true;
  }
  hcsd_req_ref(r);
  if (hcsd_net_connect(d, ref, r->body, strcmp(slash, "/disconnect") == 0,
                       net_done, r, &e) < 0) {
    hcsd_reply_err(r, &e);
    hcsd_req_unref(r);
  }
  free(ref);
  return true;
}

void hcsd_h_networks(hcsd_t *d, hcsd_req_t *r, const char *rest) {
  hcsd_net_op_t op;
  const char *arg;
  hcsd_err_t e;
  if (net_connect_route(d, r, rest)) {
    return;
  }
  if (net_route(r, rest, &op, &arg) != 0) {
    hcsd_reply_error(r, 404, "page not found");
    return;
  }
  char *filters = op == HCSD_NET_LIST ? hcsd_query(r, "filters") : NULL;
  hcsd_req_ref(r);
  if (hcsd_net_call(d, op, filters != NULL ? filters : arg, net_done, r, &e) <
      0) {
    hcsd_reply_err(r, &e);
    hcsd_req_unref(r);
  }
  free(filters);
}
