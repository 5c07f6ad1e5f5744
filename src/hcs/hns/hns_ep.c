/* SPDX-License-Identifier: MIT */
/* HNS endpoints: the checks of a new endpoint against its network (the
 * address inside a subnet and free, the MAC inside a pool and free, the
 * host ports of its mappings free), the allocation of what it did not
 * ask for, and its veth pair. Every check comes before the kernel is
 * touched, so a refused request changes nothing. */
#include "hcs/hns/hns_store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static hcs_result_t oom(const hcs__hns_ctx_t *c) {
  return hcs__hns_refuse(c, HCS_ERROR_OUTOFMEMORY, ENOMEM, "out of memory");
}

/* Replaces *slot with a copy of text. */
static int set_text(char **slot, const char *text) {
  char *copy = as_strdup(text);
  if (copy == NULL) {
    return -ENOMEM;
  }
  as_free(*slot);
  *slot = copy;
  return 0;
}

static hcs_result_t network_of(const hcs__hns_ctx_t *c, hcs__hns_t *h,
                               const hcs_hns_endpoint_t *e,
                               hcs__hns_net_t **out) {
  hcs__hns_net_t *net = NULL;
  if (e->virtual_network != NULL) {
    net = hcs__hns_net_find(h, e->virtual_network);
    if (net == NULL) {
      return hcs__hns_refuse(c, HCS_ERROR_NOT_FOUND, ENOENT,
                             "VirtualNetwork: no network has id %s",
                             e->virtual_network);
    }
    if (e->virtual_network_name != NULL &&
        strcmp(e->virtual_network_name, net->pub->name) != 0) {
      return hcs__hns_refuse(
          c, HCS_WSAEINVAL, EINVAL,
          "VirtualNetworkName: \"%s\" is not the name of network "
          "%s (\"%s\")",
          e->virtual_network_name, net->pub->id, net->pub->name);
    }
  } else if ((net = hcs__hns_net_find_name(h, e->virtual_network_name)) ==
             NULL) {
    return hcs__hns_refuse(c, HCS_ERROR_NOT_FOUND, ENOENT,
                           "VirtualNetworkName: no network is named \"%s\"",
                           e->virtual_network_name);
  }
  *out = net;
  return HCS_OK;
}

static hcs_result_t identity(const hcs__hns_ctx_t *c, hcs__hns_t *h,
                             hcs_hns_endpoint_t *e) {
  char id[HCS__HNS_ID_MAX];
  if (e->id != NULL) {
    hcs__hns_id_canon(e->id, id);
    if (hcs__hns_ep_find(h, id) != NULL) {
      return hcs__hns_refuse(c, HCS_ERROR_ALREADY_EXISTS, EEXIST,
                             "Id: an endpoint with id %s exists", id);
    }
  } else if (hcs__hns_id_new(id) != 0) {
    return hcs__hns_refuse(c, HCS_ERROR_GEN_FAILURE, errno, "getrandom: %s",
                           strerror(errno));
  }
  if (set_text(&e->id, id) != 0 ||
      (e->name == NULL && set_text(&e->name, id) != 0)) {
    return oom(c);
  }
  return HCS_OK;
}

/* The endpoint's address: the one asked for, checked, or the lowest free
 * one; *which is its subnet. */
static hcs_result_t address(const hcs__hns_ctx_t *c, hcs__hns_t *h,
                            const hcs__hns_net_t *net, hcs_hns_endpoint_t *e,
                            uint32_t *ip, size_t *which) {
  uint32_t *used = as_calloc(h->n_eps + 1, sizeof(*used));
  if (used == NULL) {
    return oom(c);
  }
  size_t n = 0;
  for (size_t i = 0; i < h->n_eps; i++) {
    if (h->eps[i]->net == net) {
      used[n++] = h->eps[i]->ip;
    }
  }
  hcs_result_t r = HCS_OK;
  const char *want = e->ip_address;
  if (want == NULL) {
    if (hcs__ipam_ip_pick(net->subnets, net->n_subnets, used, n, ip, which) !=
        0) {
      r = hcs__hns_refuse(
          c, HCS_ERROR_NO_MORE_ITEMS, ENOSPC,
          "IPAddress: every address of network \"%s\" (%s%s) is taken "
          "(%zu endpoints)",
          net->pub->name, net->pub->subnets[0].address_prefix,
          net->n_subnets > 1 ? ", ..." : "", n);
    }
    as_free(used);
    return r;
  }
  (void)hcs__ipv4_parse(want, ip);
  *which = net->n_subnets;
  for (size_t i = 0; i < net->n_subnets; i++) {
    const hcs__ipam_subnet_t *s = &net->subnets[i];
    if ((*ip & hcs__ipv4_mask(s->len)) == s->net) {
      *which = i;
    }
  }
  if (*which == net->n_subnets) {
    r = hcs__hns_refuse(
        c, HCS_WSAEINVAL, EINVAL,
        "IPAddress: \"%s\" is outside the subnets of network \"%s\" "
        "(%s%s)",
        want, net->pub->name, net->pub->subnets[0].address_prefix,
        net->n_subnets > 1 ? ", ..." : "");
  } else if (!hcs__ipam_usable(&net->subnets[*which], *ip)) {
    r = hcs__hns_refuse(
        c, HCS_WSAEINVAL, EINVAL,
        "IPAddress: \"%s\" is the network, broadcast or gateway "
        "address of %s",
        want, net->pub->subnets[*which].address_prefix);
  }
  for (size_t i = 0; r == HCS_OK && i < h->n_eps; i++) {
    if (h->eps[i]->net == net && h->eps[i]->ip == *ip) {
      r = hcs__hns_refuse(c, HCS_WSAEINVAL, EADDRINUSE,
                          "IPAddress: \"%s\" is in use by endpoint %s", want,
                          h->eps[i]->pub->id);
    }
  }
  as_free(used);
  return r;
}

static hcs_result_t mac(const hcs__hns_ctx_t *c, hcs__hns_t *h,
                        const hcs__hns_net_t *net, const hcs_hns_endpoint_t *e,
                        uint32_t ip, uint64_t *out) {
  uint64_t *used = as_calloc(h->n_eps + 1, sizeof(*used));
  if (used == NULL) {
    return oom(c);
  }
  for (size_t i = 0; i < h->n_eps; i++) {
    used[i] = h->eps[i]->mac;
  }
  hcs_result_t r = HCS_OK;
  if (e->mac_address == NULL && net->n_pools > 0) {
    if (hcs__ipam_mac_pick(net->pools, net->n_pools, used, h->n_eps, out) !=
        0) {
      r = hcs__hns_refuse(
          c, HCS_ERROR_NO_MORE_ITEMS, ENOSPC,
          "MacAddress: every MAC of the MacPools of network \"%s\" is "
          "taken",
          net->pub->name);
    }
    as_free(used);
    return r;
  }
  int in_pool = net->n_pools == 0;
  if (e->mac_address != NULL) {
    (void)hcs__mac_parse(e->mac_address, out);
  } else {
    *out = hcs__ipam_mac_of_ip(ip);
  }
  for (size_t i = 0; i < net->n_pools; i++) {
    in_pool |= *out >= net->pools[i].first && *out <= net->pools[i].last;
  }
  if (!in_pool) {
    r = hcs__hns_refuse(
        c, HCS_WSAEINVAL, EINVAL,
        "MacAddress: \"%s\" is outside the MacPools of network \"%s\"",
        e->mac_address, net->pub->name);
  }
  for (size_t i = 0; r == HCS_OK && i < h->n_eps; i++) {
    if (used[i] == *out) {
      char text[HCS__MAC_STRLEN];
      hcs__mac_format(*out, text);
      r = hcs__hns_refuse(c, HCS_WSAEINVAL, EADDRINUSE,
                          "MacAddress: %s is in use by endpoint %s", text,
                          h->eps[i]->pub->id);
    }
  }
  as_free(used);
  return r;
}

/* Host ports are the host's: one mapping per port and protocol across
 * every network. */
static hcs_result_t ports(const hcs__hns_ctx_t *c, hcs__hns_t *h,
                          const hcs__hns_net_t *net,
                          const hcs_hns_endpoint_t *e) {
  if (e->n_nat_policies > 0 && !net->nat) {
    return hcs__hns_refuse(c, HCS_WSAEINVAL, EINVAL,
                           "Policies: NAT port mappings need a network of Type "
                           "\"nat\"; \"%s\" is \"%s\"",
                           net->pub->name, net->pub->type);
  }
  for (size_t i = 0; i < e->n_nat_policies; i++) {
    const hcs_nat_policy_t *p = &e->nat_policies[i];
    for (size_t j = 0; j < h->n_eps; j++) {
      const hcs_hns_endpoint_t *o = h->eps[j]->pub;
      for (size_t k = 0; k < o->n_nat_policies; k++) {
        if (o->nat_policies[k].external_port == p->external_port &&
            strcmp(o->nat_policies[k].protocol, p->protocol) == 0) {
          return hcs__hns_refuse(
              c, HCS_WSAEINVAL, EADDRINUSE,
              "Policies: host port %s/%u is mapped already, to "
              "endpoint %s",
              p->protocol, p->external_port, o->id);
        }
      }
    }
  }
  return HCS_OK;
}

/* What the answer shows: the address, MAC, prefix and gateway it got, its
 * network by id and name, the network's DNS settings unless its own. */
static hcs_result_t fill(const hcs__hns_ctx_t *c, const hcs__hns_net_t *net,
                         hcs_hns_endpoint_t *e, uint32_t ip, size_t which,
                         uint64_t m) {
  const hcs__ipam_subnet_t *s = &net->subnets[which];
  const hcs_subnet_t *ps = &net->pub->subnets[which];
  if (e->prefix_length != 0 && e->prefix_length != s->len) {
    return hcs__hns_refuse(
        c, HCS_WSAEINVAL, EINVAL,
        "PrefixLength: %u is not that of the endpoint's subnet %s",
        e->prefix_length, ps->address_prefix);
  }
  uint32_t gw = 0;
  if (e->gateway_address != NULL &&
      (!hcs__ipv4_parse(e->gateway_address, &gw) || gw != s->gateway)) {
    return hcs__hns_refuse(
        c, HCS_WSAEINVAL, EINVAL,
        "GatewayAddress: \"%s\" is not the gateway of subnet %s "
        "(%s)",
        e->gateway_address, ps->address_prefix, ps->gateway_address);
  }
  char ipt[HCS__IPV4_STRLEN], mact[HCS__MAC_STRLEN];
  hcs__ipv4_format(ip, ipt);
  hcs__mac_format(m, mact);
  e->prefix_length = (uint8_t)s->len;
  int r = set_text(&e->ip_address, ipt);
  r = r == 0 ? set_text(&e->mac_address, mact) : r;
  r = r == 0 ? set_text(&e->gateway_address, ps->gateway_address) : r;
  r = r == 0 ? set_text(&e->virtual_network, net->pub->id) : r;
  r = r == 0 ? set_text(&e->virtual_network_name, net->pub->name) : r;
  if (r == 0 && e->dns_server_list == NULL &&
      net->pub->dns_server_list != NULL) {
    r = set_text(&e->dns_server_list, net->pub->dns_server_list);
  }
  if (r == 0 && e->dns_suffix == NULL && net->pub->dns_suffix != NULL) {
    r = set_text(&e->dns_suffix, net->pub->dns_suffix);
  }
  return r == 0 ? HCS_OK : oom(c);
}

int hcs__hns_ep_pair(hcs__nl_t *nl, hcs__hns_ep_t *ep, char *why,
                     size_t whylen) {
  int host = hcs__nl_ifindex(nl, ep->host_if);
  int peer = hcs__nl_ifindex(nl, ep->peer_if);
  int r = 0;
  if (host < 0 || peer < 0) {
    /* Half a pair here: the other end is in a namespace (or gone with
     * it). Deleting the half takes the rest along. */
    if (host > 0 || peer > 0) {
      (void)hcs__nl_link_del(nl, host > 0 ? ep->host_if : ep->peer_if);
    }
    uint8_t mac[6];
    hcs__mac_bytes(ep->mac, mac);
    r = hcs__nl_veth_add(nl, ep->host_if, ep->peer_if, mac);
    if (r != 0) {
      snprintf(why, whylen, "creating veth pair %s/%s: %s", ep->host_if,
               ep->peer_if, strerror(-r));
      return r;
    }
  }
  r = hcs__nl_link_enslave(nl, ep->host_if, ep->net->bridge);
  if (r != 0) {
    snprintf(why, whylen, "making %s a port of %s: %s", ep->host_if,
             ep->net->bridge, strerror(-r));
    (void)hcs__nl_link_del(nl, ep->host_if);
  }
  ep->attached = 0;
  return r;
}

/* Creates the pair and, for mappings, rewrites the network's table; on
 * failure takes both back. */
static int realize(hcs__hns_t *h, hcs__hns_ep_t *ep, char *why, size_t n) {
  hcs__nl_t *nl = NULL;
  int r = hcs__nl_open(&nl);
  if (r != 0) {
    snprintf(why, n, "rtnetlink socket: %s", strerror(-r));
    return r;
  }
  if (hcs__nl_ifindex(nl, ep->host_if) > 0 ||
      hcs__nl_ifindex(nl, ep->peer_if) > 0) {
    snprintf(why, n,
             "a link named %s or %s exists already (an endpoint of another "
             "hcs state directory with the same id?)",
             ep->host_if, ep->peer_if);
    hcs__nl_close(nl);
    return -EEXIST;
  }
  r = hcs__hns_net_mend(h, nl, ep->net, why, n);
  r = r == 0 ? hcs__hns_ep_pair(nl, ep, why, n) : r;
  if (r == 0 && (r = hcs__hns_ep_add(h, ep)) != 0) {
    snprintf(why, n, "out of memory");
  }
  if (r == 0 && ep->pub->n_nat_policies > 0 &&
      (r = hcs__hns_nat_sync(h, ep->net, why, n)) != 0) {
    hcs__hns_ep_take(h, ep);
  }
  if (r == 0 && (r = hcs__hns_ep_save(h, ep)) != 0) {
    snprintf(why, n, "writing its record in %s: %s", h->dir, strerror(-r));
    hcs__hns_ep_take(h, ep);
    if (ep->pub->n_nat_policies > 0) {
      char ignored[128];
      (void)hcs__hns_nat_sync(h, ep->net, ignored, sizeof(ignored));
    }
  }
  if (r != 0) {
    (void)hcs__nl_link_del(nl, ep->host_if);
  }
  hcs__nl_close(nl);
  return r;
}

hcs_result_t hcs__hns_ep_create(hcs__hns_t *h, const char *op,
                                hcs_hns_endpoint_t *req,
                                hcs_hns_endpoint_t **out, hcs_error_t **err) {
  const hcs__hns_ctx_t c = {.op = op, .object = "", .err = err};
  hcs__hns_net_t *net = NULL;
  uint32_t ip = 0;
  uint64_t m = 0;
  size_t which = 0;
  hcs_result_t r = network_of(&c, h, req, &net);
  r = r == HCS_OK ? identity(&c, h, req) : r;
  r = r == HCS_OK ? ports(&c, h, net, req) : r;
  r = r == HCS_OK ? address(&c, h, net, req, &ip, &which) : r;
  r = r == HCS_OK ? mac(&c, h, net, req, ip, &m) : r;
  r = r == HCS_OK ? fill(&c, net, req, ip, which, m) : r;
  if (r != HCS_OK) {
    hcs_hns_endpoint_free(req);
    return r;
  }
  char object[HCS__HNS_ID_MAX + 4];
  snprintf(object, sizeof(object), "id=%s", req->id);
  const hcs__hns_ctx_t ci = {.op = op, .object = object, .err = err};
  hcs__hns_ep_t *ep = hcs__hns_ep_new(req, net);
  if (ep == NULL) {
    hcs_hns_endpoint_free(req);
    return oom(&ci);
  }
  char why[384];
  int e = realize(h, ep, why, sizeof(why));
  if (e != 0) {
    hcs__hns_ep_free(ep);
    return hcs__hns_refuse(
        &ci, e == -EEXIST ? HCS_ERROR_ALREADY_EXISTS : HCS_ERROR_GEN_FAILURE,
        -e, "%s", why);
  }
  if ((*out = hcs__hns_endpoint_copy(ep->pub)) == NULL) {
    return hcs__hns_refuse(&ci, HCS_ERROR_OUTOFMEMORY, ENOMEM,
                           "out of memory (the endpoint was created)");
  }
  return HCS_OK;
}

hcs_result_t hcs__hns_ep_delete(hcs__hns_t *h, const char *op,
                                const char *object, hcs__hns_ep_t *ep,
                                hcs_error_t **err) {
  const hcs__hns_ctx_t c = {.op = op, .object = object, .err = err};
  hcs__nl_t *nl = NULL;
  int r = hcs__nl_open(&nl);
  if (r != 0) {
    return hcs__hns_refuse(&c, HCS_ERROR_GEN_FAILURE, -r,
                           "rtnetlink socket: %s", strerror(-r));
  }
  if (ep->attached != 0 && hcs__nl_ifindex(nl, ep->host_if) > 0) {
    hcs__nl_close(nl);
    if (ep->attached > 0) {
      return hcs__hns_refuse(
          &c, HCS_WSAEINVAL, EBUSY,
          "endpoint is attached to a compute system (pid %d): "
          "terminate the system first",
          (int)ep->attached);
    }
    return hcs__hns_refuse(
        &c, HCS_WSAEINVAL, EBUSY,
        "endpoint is attached to a compute system: terminate the "
        "system first");
  }
  r = hcs__nl_link_del(nl, ep->host_if);
  hcs__nl_close(nl);
  if (r != 0 && r != -ENODEV) {
    return hcs__hns_refuse(&c, HCS_ERROR_GEN_FAILURE, -r,
                           "deleting link %s: %s", ep->host_if, strerror(-r));
  }
  hcs__hns_ep_take(h, ep);
  hcs__hns_ep_forget(h, ep);
  if (ep->pub->n_nat_policies > 0) {
    /* The mapping now points at a free address; a failure here is
     * mended by the next rewrite of the table. */
    char ignored[256];
    (void)hcs__hns_nat_sync(h, ep->net, ignored, sizeof(ignored));
  }
  hcs__hns_ep_free(ep);
  return HCS_OK;
}
