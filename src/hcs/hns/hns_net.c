/* SPDX-License-Identifier: MIT */
/* HNS networks: what creating one checks (everything, before the kernel
 * is touched), the bridge and its addresses, and a nat network's table.
 * Types: "nat" (a bridge with the gateways on it, masquerading and port
 * mappings) and "internal" (the same without NAT: the endpoints reach each
 * other and the host). The others the HNS knows (transparent, l2bridge,
 * l2tunnel, overlay, ics, private) need a host's physical links or an
 * overlay; they are refused with HCS_ERROR_NOT_SUPPORTED. */
#include "hcs/hns/hns_store.h"
#include "hcs/hns/nat.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static hcs_result_t type_check(const hcs__hns_ctx_t *c, hcs_hns_network_t *n) {
  for (char *p = n->type; *p != '\0'; p++) {
    *p = (char)tolower((unsigned char)*p);
  }
  if (strcmp(n->type, "nat") != 0 && strcmp(n->type, "internal") != 0) {
    return hcs__hns_refuse(
        c, HCS_ERROR_NOT_SUPPORTED, ENOTSUP,
        "Type: \"%s\" networks are not supported by hcs on Linux "
        "(\"nat\" and \"internal\" are)",
        n->type);
  }
  if (n->policies != NULL && strcmp(n->policies, "[]") != 0) {
    return hcs__hns_refuse(
        c, HCS_ERROR_NOT_SUPPORTED, ENOTSUP,
        "Policies: hcs applies no network policies (endpoint "
        "policies NAT and QOS are supported)");
  }
  return HCS_OK;
}

/* Ranges that are no place for a network of endpoints (RFC 6890): a
 * bridge holding one would shadow the host's loopback, take multicast or
 * link-local traffic, or carry addresses the kernel will not route. */
static const struct {
  uint32_t net;
  unsigned len;
  const char *prefix, *what;
} reserved[] = {
    {0x00000000u, 8, "0.0.0.0/8", "\"this network\""},
    {0x7f000000u, 8, "127.0.0.0/8", "loopback"},
    {0xa9fe0000u, 16, "169.254.0.0/16", "link-local"},
    {0xe0000000u, 4, "224.0.0.0/4", "multicast"},
    {0xf0000000u, 4, "240.0.0.0/4", "reserved (with the broadcast address)"},
};

/* The reserved range sub overlaps (its index), or -1. */
static int reserved_range(const hcs__ipam_subnet_t *sub) {
  for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
    if (hcs__ipv4_overlap(sub->net, sub->len, reserved[i].net,
                          reserved[i].len)) {
      return (int)i;
    }
  }
  return -1;
}

/* Fills each missing gateway with the subnet's first host address. */
static hcs_result_t subnets_check(const hcs__hns_ctx_t *c,
                                  hcs_hns_network_t *n) {
  if (n->n_subnets == 0) {
    return hcs__hns_refuse(
        c, HCS_WSAEINVAL, EINVAL,
        "Subnets: a network needs a subnet (AddressPrefix) to give "
        "its endpoints addresses");
  }
  for (size_t i = 0; i < n->n_subnets; i++) {
    hcs_subnet_t *s = &n->subnets[i];
    hcs__ipam_subnet_t sub = {0};
    (void)hcs__ipv4_prefix_parse(s->address_prefix, &sub.net, &sub.len);
    if (sub.len > 30) {
      return hcs__hns_refuse(
          c, HCS_WSAEINVAL, EINVAL,
          "Subnets[%zu].AddressPrefix: \"%s\" leaves no room for a "
          "gateway and endpoints (/30 or wider)",
          i, s->address_prefix);
    }
    int k = reserved_range(&sub);
    if (k >= 0) {
      return hcs__hns_refuse(c, HCS_WSAEINVAL, EINVAL,
                             "Subnets[%zu].AddressPrefix: \"%s\" overlaps "
                             "%s, which is %s",
                             i, s->address_prefix, reserved[k].prefix,
                             reserved[k].what);
    }
    uint32_t gw = hcs__ipam_first_host(sub.net, sub.len);
    if (s->gateway_address == NULL) {
      char text[HCS__IPV4_STRLEN];
      hcs__ipv4_format(gw, text);
      if ((s->gateway_address = as_strdup(text)) == NULL) {
        return hcs__hns_refuse(c, HCS_ERROR_OUTOFMEMORY, ENOMEM,
                               "out of memory");
      }
    }
    (void)hcs__ipv4_parse(s->gateway_address, &gw);
    /* sub.gateway is 0 here: usable() then judges the address alone. */
    if (!hcs__ipam_usable(&sub, gw)) {
      return hcs__hns_refuse(
          c, HCS_WSAEINVAL, EINVAL,
          "Subnets[%zu].GatewayAddress: \"%s\" is the network or "
          "broadcast address of %s",
          i, s->gateway_address, s->address_prefix);
    }
  }
  return HCS_OK;
}

/* The subnets may not overlap another network's, nor a route the host
 * has (its own links, a VPN): the bridge's route would fight it. */
static hcs_result_t overlap_check(const hcs__hns_ctx_t *c, hcs__hns_t *h,
                                  const hcs__hns_net_t *net) {
  hcs__nl_t *nl = NULL;
  int r = hcs__nl_open(&nl);
  for (size_t i = 0; i < net->n_subnets; i++) {
    const hcs__ipam_subnet_t *s = &net->subnets[i];
    const char *prefix = net->pub->subnets[i].address_prefix;
    for (size_t j = 0; j < h->n_nets; j++) {
      const hcs__hns_net_t *o = h->nets[j];
      for (size_t k = 0; k < o->n_subnets; k++) {
        if (hcs__ipv4_overlap(s->net, s->len, o->subnets[k].net,
                              o->subnets[k].len)) {
          hcs__nl_close(nl);
          return hcs__hns_refuse(
              c, HCS_WSAEINVAL, EINVAL,
              "Subnets[%zu].AddressPrefix: \"%s\" overlaps %s of "
              "network \"%s\" (%s)",
              i, prefix, o->pub->subnets[k].address_prefix, o->pub->name,
              o->pub->id);
        }
      }
    }
    char dev[HCS__IFNAMSIZ];
    r = r == 0 ? hcs__nl_route_overlap(nl, s->net, s->len, dev) : r;
    if (r == 1) {
      hcs__nl_close(nl);
      return hcs__hns_refuse(
          c, HCS_WSAEINVAL, EEXIST,
          "Subnets[%zu].AddressPrefix: \"%s\" overlaps a route of "
          "the host (through %s)",
          i, prefix, dev[0] != '\0' ? dev : "another link");
    }
  }
  hcs__nl_close(nl);
  return r < 0 ? hcs__hns_refuse(c, HCS_ERROR_GEN_FAILURE, -r,
                                 "reading the host's routes (rtnetlink): %s",
                                 strerror(-r))
               : HCS_OK;
}

static hcs_result_t identity_check(const hcs__hns_ctx_t *c, hcs__hns_t *h,
                                   hcs_hns_network_t *n) {
  char id[HCS__HNS_ID_MAX];
  if (n->id != NULL) {
    hcs__hns_id_canon(n->id, id);
    if (hcs__hns_net_find(h, id) != NULL) {
      return hcs__hns_refuse(c, HCS_ERROR_ALREADY_EXISTS, EEXIST,
                             "Id: a network with id %s exists", id);
    }
  } else if (hcs__hns_id_new(id) != 0) {
    return hcs__hns_refuse(c, HCS_ERROR_GEN_FAILURE, errno, "getrandom: %s",
                           strerror(errno));
  }
  as_free(n->id);
  n->id = as_strdup(id);
  if (n->name == NULL) {
    n->name = as_strdup(id);
  }
  if (n->id == NULL || n->name == NULL) {
    return hcs__hns_refuse(c, HCS_ERROR_OUTOFMEMORY, ENOMEM, "out of memory");
  }
  const hcs__hns_net_t *same = hcs__hns_net_find_name(h, n->name);
  if (same != NULL) {
    return hcs__hns_refuse(c, HCS_ERROR_ALREADY_EXISTS, EEXIST,
                           "Name: a network named \"%s\" exists (%s)", n->name,
                           same->pub->id);
  }
  return HCS_OK;
}

int hcs__hns_nat_sync(hcs__hns_t *h, hcs__hns_net_t *net, char *why,
                      size_t whylen) {
  size_t n = 0;
  for (size_t i = 0; i < h->n_eps; i++) {
    n += h->eps[i]->net == net ? h->eps[i]->pub->n_nat_policies : 0;
  }
  hcs__nat_map_t *maps = as_calloc(n + 1, sizeof(*maps));
  if (maps == NULL) {
    snprintf(why, whylen, "out of memory");
    return -ENOMEM;
  }
  size_t m = 0;
  for (size_t i = 0; i < h->n_eps; i++) {
    const hcs__hns_ep_t *ep = h->eps[i];
    for (size_t j = 0; ep->net == net && j < ep->pub->n_nat_policies; j++) {
      const hcs_nat_policy_t *p = &ep->pub->nat_policies[j];
      maps[m++] = (hcs__nat_map_t){.udp = strcmp(p->protocol, "udp") == 0,
                                   .external_port = p->external_port,
                                   .ip = ep->ip,
                                   .internal_port = p->internal_port};
    }
  }
  hcs__nat_spec_t spec = {.bridge = net->bridge,
                          .subnets = net->subnets,
                          .n_subnets = net->n_subnets,
                          .maps = maps,
                          .n_maps = m};
  int r = hcs__nat_apply(&spec, why, whylen);
  as_free(maps);
  return r;
}

int hcs__hns_net_realize(hcs__hns_t *h, hcs__hns_net_t *net, int fresh,
                         char *why, size_t whylen) {
  hcs__nl_t *nl = NULL;
  int r = hcs__nl_open(&nl);
  if (r != 0) {
    snprintf(why, whylen, "rtnetlink socket: %s", strerror(-r));
    return r;
  }
  r = hcs__nl_bridge_add(nl, net->bridge);
  if (r == -EEXIST && fresh) {
    snprintf(why, whylen,
             "a link named %s exists already (a network of another hcs "
             "state directory with the same id?)",
             net->bridge);
  } else if (r != 0 && r != -EEXIST) {
    snprintf(why, whylen, "creating bridge %s: %s", net->bridge, strerror(-r));
  } else {
    r = 0;
  }
  for (size_t i = 0; r == 0 && i < net->n_subnets; i++) {
    const hcs__ipam_subnet_t *s = &net->subnets[i];
    r = hcs__nl_addr_add(nl, net->bridge, s->gateway, s->len);
    r = r == -EEXIST ? 0 : r;
    if (r != 0) {
      snprintf(why, whylen, "adding %s to %s: %s",
               net->pub->subnets[i].gateway_address, net->bridge, strerror(-r));
    }
  }
  if (r == 0 && (r = hcs__nl_link_up(nl, net->bridge)) != 0) {
    snprintf(why, whylen, "setting %s up: %s", net->bridge, strerror(-r));
  }
  hcs__nl_close(nl);
  if (r == 0 && net->nat) {
    r = hcs__nat_sysctls(net->bridge, why, whylen);
    r = r == 0 ? hcs__hns_nat_sync(h, net, why, whylen) : r;
  }
  return r;
}

int hcs__hns_net_mend(hcs__hns_t *h, hcs__nl_t *nl, hcs__hns_net_t *net,
                      char *why, size_t whylen) {
  int r = hcs__nl_ifindex(nl, net->bridge);
  if (r > 0) {
    return 0;
  }
  if (r != -ENODEV) {
    snprintf(why, whylen, "looking for bridge %s: %s", net->bridge,
             strerror(-r));
    return r;
  }
  /* Deleted behind our back: its ports fell off with it. Every endpoint's
   * host end still here (a running system's, or a pair waiting on the
   * host) becomes a port of the new bridge. */
  r = hcs__hns_net_realize(h, net, 0, why, whylen);
  for (size_t i = 0; r == 0 && i < h->n_eps; i++) {
    const hcs__hns_ep_t *ep = h->eps[i];
    if (ep->net != net || hcs__nl_ifindex(nl, ep->host_if) <= 0) {
      continue;
    }
    r = hcs__nl_link_enslave(nl, ep->host_if, net->bridge);
    if (r != 0) {
      snprintf(why, whylen, "making %s a port of %s again: %s", ep->host_if,
               net->bridge, strerror(-r));
    }
  }
  return r;
}

int hcs__hns_net_unrealize(hcs__hns_net_t *net, char *why, size_t whylen) {
  int r = net->nat ? hcs__nat_remove(net->bridge, why, whylen) : 0;
  hcs__nl_t *nl = NULL;
  int d = hcs__nl_open(&nl);
  d = d == 0 ? hcs__nl_link_del(nl, net->bridge) : d;
  hcs__nl_close(nl);
  if (d != 0 && d != -ENODEV) {
    snprintf(why, whylen, "deleting bridge %s: %s", net->bridge, strerror(-d));
    r = d;
  }
  return r;
}

/* The MacPools in HNS's form, "00-15-5D-0A-0B-0C", whatever case and
 * separator the request used (the parser checked them). */
static void macs_canon(hcs_hns_network_t *n) {
  for (size_t i = 0; i < n->n_mac_pools; i++) {
    char *const macs[2] = {n->mac_pools[i].start_mac_address,
                           n->mac_pools[i].end_mac_address};
    for (int k = 0; k < 2; k++) {
      uint64_t v;
      if (hcs__mac_parse(macs[k], &v)) {
        hcs__mac_format(v, macs[k]);
      }
    }
  }
}

hcs_result_t hcs__hns_net_create(hcs__hns_t *h, const char *op,
                                 hcs_hns_network_t *req,
                                 hcs_hns_network_t **out, hcs_error_t **err) {
  const hcs__hns_ctx_t c = {.op = op, .object = "", .err = err};
  hcs_result_t r = type_check(&c, req);
  r = r == HCS_OK ? subnets_check(&c, req) : r;
  r = r == HCS_OK ? identity_check(&c, h, req) : r;
  if (r != HCS_OK) {
    hcs_hns_network_free(req);
    return r;
  }
  macs_canon(req);
  char object[HCS__HNS_ID_MAX + 4];
  snprintf(object, sizeof(object), "id=%s", req->id);
  const hcs__hns_ctx_t ci = {.op = op, .object = object, .err = err};
  hcs__hns_net_t *net = hcs__hns_net_new(req);
  if (net == NULL) {
    hcs_hns_network_free(req);
    return hcs__hns_refuse(&ci, HCS_ERROR_OUTOFMEMORY, ENOMEM, "out of memory");
  }
  r = overlap_check(&ci, h, net);
  if (r != HCS_OK) {
    hcs__hns_net_free(net);
    return r;
  }
  char why[384], ignored[256];
  int e = hcs__hns_net_realize(h, net, 1, why, sizeof(why));
  if (e == 0 && (e = hcs__hns_net_save(h, net)) != 0) {
    snprintf(why, sizeof(why), "writing its record in %s: %s", h->dir,
             strerror(-e));
  }
  if (e == 0 && (e = hcs__hns_net_add(h, net)) != 0) {
    hcs__hns_net_forget(h, net);
    snprintf(why, sizeof(why), "out of memory");
  }
  if (e != 0) {
    /* A bridge that was there already is another's: left alone. */
    if (e != -EEXIST) {
      (void)hcs__hns_net_unrealize(net, ignored, sizeof(ignored));
    }
    hcs__hns_net_free(net);
    return hcs__hns_refuse(
        &ci, e == -EEXIST ? HCS_ERROR_ALREADY_EXISTS : HCS_ERROR_GEN_FAILURE,
        -e, "%s", why);
  }
  if ((*out = hcs__hns_network_copy(net->pub)) == NULL) {
    return hcs__hns_refuse(&ci, HCS_ERROR_OUTOFMEMORY, ENOMEM,
                           "out of memory (the network was created)");
  }
  return HCS_OK;
}

hcs_result_t hcs__hns_net_delete(hcs__hns_t *h, const char *op,
                                 const char *object, hcs__hns_net_t *net,
                                 hcs_error_t **err) {
  const hcs__hns_ctx_t c = {.op = op, .object = object, .err = err};
  if (net->n_endpoints > 0) {
    const char *first = "";
    for (size_t i = 0; i < h->n_eps; i++) {
      if (h->eps[i]->net == net) {
        first = h->eps[i]->pub->id;
        break;
      }
    }
    return hcs__hns_refuse(
        &c, HCS_WSAEINVAL, EBUSY,
        "network \"%s\" still has %zu endpoint(s) (%s%s): delete "
        "them first",
        net->pub->name, net->n_endpoints, first,
        net->n_endpoints > 1 ? ", ..." : "");
  }
  char why[384];
  int e = hcs__hns_net_unrealize(net, why, sizeof(why));
  if (e != 0) {
    return hcs__hns_refuse(&c, HCS_ERROR_GEN_FAILURE, -e, "%s", why);
  }
  hcs__hns_net_forget(h, net);
  hcs__hns_net_take(h, net);
  hcs__hns_net_free(net);
  return HCS_OK;
}
