/* SPDX-License-Identifier: MIT */
/* Attachment of HNS endpoints to compute systems, for container start and
 * terminate. Each call takes the HNS lock and talks to the kernel (a few
 * milliseconds); any thread, the engine's included. Namespace work runs on
 * a short-lived thread of its own (netlink.h), never on the caller's. */
#ifndef HCS_HCS_HNS_ATTACH_H
#define HCS_HCS_HNS_ATTACH_H

#include "hcs/api/call.h"

#include <stddef.h>
#include <sys/types.h>

/* Whether the service knows endpoint id (checked when a configuration's
 * EndpointList names it). */
int hcs__hns_endpoint_known(hcs_t *hcs, const char *endpoint_id);

/* Moves the endpoint's own veth end into the network namespace of process
 * netns_pid, named ifname there ("eth0", "eth1", ...; under 16 bytes),
 * with the endpoint's MAC, its address/prefix, up; sets lo up, a default
 * route via the endpoint's gateway (unless the namespace has one already:
 * the first endpoint attached gives it) and the QoS cap, if any, on the
 * moved end. Returns 0, or -errno with words in why (NUL-terminated,
 * whylen > 0): -ENOENT for an unknown endpoint, -EBUSY when it is attached
 * already (to a namespace still alive), -EEXIST when ifname is taken in
 * the namespace, else what the kernel said. On failure the endpoint is
 * left whole on the host, ready for another attempt. */
int hcs__hns_attach(hcs_t *hcs, const char *endpoint_id, pid_t netns_pid,
                    const char *ifname, char *why, size_t whylen);

/* Takes the endpoint back from whatever namespace holds it (its link
 * there disappears) and makes its pair whole on the host again, ready for
 * the next system. Safe on an endpoint that is not attached, unknown, or
 * whose namespace is already gone. */
void hcs__hns_detach(hcs_t *hcs, const char *endpoint_id);

/* The endpoint's DNS settings as resolv.conf text: one "nameserver A"
 * line per address of DNSServerList, then "search D1 D2" from DNSSuffix
 * (the network's values when the endpoint has none); "" when it has
 * neither. 0, -ENOENT (unknown endpoint) or -ENOSPC (n too small; buf
 * then holds ""). */
int hcs__hns_resolv_conf(hcs_t *hcs, const char *endpoint_id, char *buf,
                         size_t n);

#endif
