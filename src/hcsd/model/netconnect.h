/* SPDX-License-Identifier: MIT */
/* docker network connect and disconnect: POST /networks/{id}/connect and
 * /networks/{id}/disconnect, of a container running or not. */
#ifndef HCSD_MODEL_NETCONNECT_H
#define HCSD_MODEL_NETCONNECT_H

#include "hcsd/model/model.h"

#include <stdbool.h>

/* body: the request's JSON ({"Container", "EndpointConfig"} to connect,
 * {"Container", "Force"} to disconnect). HCSD_PENDING, then done(status,
 * reply) as nets.h words them (200 and no body on success); or -1 with e:
 * 400 a bad body or an EndpointConfig field refused by name, 404 no such
 * container, 409 a container starting or stopping, 500 no networks.
 * Engine thread. */
int hcsd_net_connect(hcsd_t *d, const char *net_ref, const char *body,
                     bool disconnect, hcsd_net_cb done, void *data,
                     hcsd_err_t *e);

#endif
