/* SPDX-License-Identifier: MIT */
/* Published ports: HostConfig.PortBindings and PublishAllPorts (with
 * Config.ExposedPorts) checked at create as dockerd checks them, turned at
 * start into the NAT policies of the container's HNS endpoint (a host
 * port of the daemon's network namespace, DNAT'ed to the endpoint), and
 * shown as dockerd shows them: NetworkSettings.Ports in inspect, Ports in
 * the list. */
#ifndef HCSD_MODEL_PORTS_H
#define HCSD_MODEL_PORTS_H

#include "hcsd/model/spec.h"

#include <jansson.h>
#include <stdbool.h>

/* At create: every key of ExposedPorts and PortBindings is "PORT" or
 * "PORT/tcp" or "PORT/udp"; every binding's HostIp is empty or 0.0.0.0
 * and its HostPort empty, a port or a range; no publishing on network
 * mode (nm) host, none or container:. 0, or -1 with e (400 naming the
 * field). */
int hcsd_ports_check(json_t *config, json_t *hc, const char *nm, hcsd_err_t *e);

/* The host ports taken by the mappings in view (NetworkSettings.Ports of
 * a container, or an object of such keyed by container id when nested is
 * true): whether proto/port is among them. */
bool hcsd__ports_taken(json_t *view, bool nested, bool udp, unsigned port);

/* At start (the networks' lock held): the endpoint's NAT policies
 * (*policies, an array, maybe empty) and NetworkSettings.Ports (*view)
 * for config and hc; each empty HostPort or range resolved to a host port
 * that no mapping of in_use (nested as for hcsd__ports_taken) holds and
 * that nothing on the host is bound to. 0, or 500 with *errmsg (dockerd's
 * words for a port already allocated; ctr names the endpoint there). */
int hcsd__ports_plan(json_t *config, json_t *hc, json_t *in_use,
                     const char *ctr, json_t **policies, json_t **view,
                     char **errmsg);

/* GET /containers/json's Ports for a container's NetworkSettings.Ports:
 * [{"IP","PrivatePort","PublicPort","Type"}], exposed-only ports with no
 * IP and PublicPort. */
json_t *hcsd_ports_list(json_t *view);

#endif
