/* SPDX-License-Identifier: MIT */
/* QosPolicy: an endpoint's egress cap, as a tbf qdisc through rtnetlink.
 *
 * Where: on the endpoint's own end of its veth pair, inside the system's
 * network namespace, as its root qdisc. The system's egress is that
 * link's transmit side, so this shapes rather than polices: packets wait
 * in a short queue for tokens, TCP feels it as a slower link and keeps its
 * pace, and a measured rate lands close to the cap. (The alternative, a
 * policer on the ingress of the host's end, drops instead, and TCP
 * through a policer runs well below the rate.) The qdisc is set when the
 * endpoint is attached: a link that changes namespace loses its qdiscs.
 * Systems run without CAP_NET_ADMIN, so they cannot lift it. */
#ifndef HCS_HCS_QOS_H
#define HCS_HCS_QOS_H

#include "hcs/hns/netlink.h"

#include <stdint.h>

/* Caps the transmit side of link name (in nl's namespace) at
 * bytes_per_second. 0 or -errno. */
int hcs__qos_set(hcs__nl_t *nl, const char *name, uint64_t bytes_per_second);

#endif
