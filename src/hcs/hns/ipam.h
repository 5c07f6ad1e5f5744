/* SPDX-License-Identifier: MIT */
/* Addresses and MACs of HNS networks: their syntax, and allocation from a
 * network's Subnets and MacPools against those already in use. IPv4
 * addresses are numbers in host byte order; a MAC is a 48-bit number whose
 * first octet sits in bits 40-47. Pure functions, any thread. */
#ifndef HCS_HCS_IPAM_H
#define HCS_HCS_IPAM_H

#include <stddef.h>
#include <stdint.h>

#define HCS__IPV4_STRLEN 16 /* "255.255.255.255" and the NUL */
#define HCS__MAC_STRLEN 18  /* "00-15-5D-00-00-00" and the NUL */

/* A dotted quad; 1, or 0 when s is not one. */
int hcs__ipv4_parse(const char *s, uint32_t *out);
void hcs__ipv4_format(uint32_t a, char out[HCS__IPV4_STRLEN]);
/* The netmask of a prefix length 0-32. */
uint32_t hcs__ipv4_mask(unsigned len);
/* "a.b.c.d/n", n 0-32 without leading zeros, no host bits set: NULL, or
 * what is wrong ("is not an IPv4 prefix ...", "has host bits set"). */
const char *hcs__ipv4_prefix_parse(const char *s, uint32_t *net, unsigned *len);
/* Whether two prefixes share an address. */
int hcs__ipv4_overlap(uint32_t n1, unsigned l1, uint32_t n2, unsigned l2);

/* "00-15-5D-0A-0B-0C" or "00:15:5d:0a:0b:0c" (one separator throughout,
 * either case), unicast and not all zeros; 1, or 0 when s is not one. */
int hcs__mac_parse(const char *s, uint64_t *out);
/* The HNS form: upper-case, dashes. */
void hcs__mac_format(uint64_t m, char out[HCS__MAC_STRLEN]);
void hcs__mac_bytes(uint64_t m, uint8_t out[6]);

typedef struct hcs__ipam_subnet_s {
  uint32_t net;
  unsigned len; /* 0-30: a subnet holds a gateway and endpoints */
  uint32_t gateway;
} hcs__ipam_subnet_t;

typedef struct hcs__ipam_pool_s {
  uint64_t first, last;
} hcs__ipam_pool_t;

/* The first host address of a subnet: the default gateway. */
uint32_t hcs__ipam_first_host(uint32_t net, unsigned len);
/* Whether a is an address an endpoint of s may have: inside s, neither
 * its network nor its broadcast address, not the gateway. */
int hcs__ipam_usable(const hcs__ipam_subnet_t *s, uint32_t a);
/* The lowest usable address of the subnets, in their order, that is not
 * in used (n of them, any order; sorted in place). 0 with *out and *which
 * (the subnet's index), or -ENOSPC when every address is taken. */
int hcs__ipam_ip_pick(const hcs__ipam_subnet_t *s, size_t ns, uint32_t *used,
                      size_t nused, uint32_t *out, size_t *which);
/* The lowest MAC of the pools, in their order, not in used (sorted in
 * place); 0 or -ENOSPC. */
int hcs__ipam_mac_pick(const hcs__ipam_pool_t *p, size_t np, uint64_t *used,
                       size_t nused, uint64_t *out);
/* The MAC of an endpoint of a network without MacPools: locally
 * administered 02-15 followed by its IPv4 address, unique while the
 * addresses are. */
uint64_t hcs__ipam_mac_of_ip(uint32_t ip);

#endif
