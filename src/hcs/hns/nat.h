/* SPDX-License-Identifier: MIT */
/* NAT for HNS networks through libnftables: masquerading for a network's
 * subnets and the port mappings of its endpoints. Each network's rules
 * live in a table of their own, "table ip NAME" (NAME: the network's
 * bridge), rewritten whole in one nftables transaction, so that nothing
 * outside hcs's tables is ever touched and a half-applied rule set never
 * exists. Calls return 0 or -errno, with words in why. */
#ifndef HCS_HCS_NAT_H
#define HCS_HCS_NAT_H

#include "hcs/hns/ipam.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hcs__nat_map_s {
  int udp; /* 0: tcp */
  uint16_t external_port;
  uint32_t ip;
  uint16_t internal_port;
} hcs__nat_map_t;

typedef struct hcs__nat_spec_s {
  const char *bridge; /* the link and the table's name */
  const hcs__ipam_subnet_t *subnets;
  size_t n_subnets;
  const hcs__nat_map_t *maps;
  size_t n_maps;
} hcs__nat_spec_t;

/* Replaces the network's table with the rules of spec. */
int hcs__nat_apply(const hcs__nat_spec_t *spec, char *why, size_t whylen);
/* Removes the network's table; a table that is not there is no error. */
int hcs__nat_remove(const char *bridge, char *why, size_t whylen);
/* The kernel settings a NAT network needs: IPv4 forwarding (turned on,
 * and never off again: other users may rely on it) and route_localnet
 * on the bridge, so that a mapping reached at 127.0.0.1 may be routed to
 * the endpoint once its destination is rewritten. */
int hcs__nat_sysctls(const char *bridge, char *why, size_t whylen);

#endif
