/* SPDX-License-Identifier: MIT */
/* HNSNetwork and HNSEndpoint as JSON. The field tables (schema.h) give the
 * types, the ranges and the refusal of unknown fields; the checks here add
 * what a table cannot say: address, prefix and MAC syntax, gateways inside
 * their prefix, and the policies decoded by their Type. A document is
 * parsed into a private struct, checked whole, and only then moved into the
 * public struct, so that a refusal hands nothing back. */
#include "hcs/hns/hns_json.h"

#include "hcs-async.h"
#include "hcs/api/id.h"
#include "hcs/api/schema.h"
#include "hcs/hns/ipam.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFF(type, field) offsetof(type, field)
#define OPT(type, json, kind, field)                                           \
  { json, kind, OFF(type, field), 0, 0, 0, 0, NULL }
#define REQ(type, json, kind, field)                                           \
  { json, kind, OFF(type, field), 0, 0, 0, 1, NULL }
#define FIELDS_END                                                             \
  { NULL, 0, 0, 0, 0, 0, 0, NULL }

/* Subnets per network: enough for any real network, and a bound on the
 * pairwise overlap check. */
#define MAX_SUBNETS 256

typedef struct mac_pool_doc_s {
  uint64_t present;
  char *start, *end;
} mac_pool_doc_t;

typedef struct subnet_doc_s {
  uint64_t present;
  char *prefix, *gateway;
} subnet_doc_t;

/* "Id" is the spec's spelling; hcsshim's structs say "ID" on the wire. Both
 * are read (not both at once) and "Id" is printed. */
typedef struct network_doc_s {
  uint64_t present;
  char *id, *id_caps, *name, *type, *policies;
  mac_pool_doc_t *mac_pools;
  size_t n_mac_pools;
  subnet_doc_t *subnets;
  size_t n_subnets;
  char *dns_suffix, *dns_server_list;
} network_doc_t;

typedef struct endpoint_doc_s {
  uint64_t present;
  char *id, *id_caps, *name, *virtual_network, *virtual_network_name;
  char *policies, *mac_address, *ip_address, *gateway_address;
  int64_t prefix_length;
  char *dns_server_list, *dns_suffix;
} endpoint_doc_t;

/* One endpoint policy; NAT and QOS each fill their own fields. */
typedef struct policy_doc_s {
  uint64_t present;
  char *type, *protocol;
  int64_t internal_port, external_port, bandwidth;
} policy_doc_t;

static const hcs__field_t mac_pool_fields[] = {
    REQ(mac_pool_doc_t, "StartMacAddress", HCS__F_STR, start),
    REQ(mac_pool_doc_t, "EndMacAddress", HCS__F_STR, end), FIELDS_END};
static const hcs__schema_t mac_pool_schema = {
    mac_pool_fields, sizeof(mac_pool_doc_t), OFF(mac_pool_doc_t, present)};

static const hcs__field_t subnet_fields[] = {
    REQ(subnet_doc_t, "AddressPrefix", HCS__F_STR, prefix),
    OPT(subnet_doc_t, "GatewayAddress", HCS__F_STR, gateway), FIELDS_END};
static const hcs__schema_t subnet_schema = {subnet_fields, sizeof(subnet_doc_t),
                                            OFF(subnet_doc_t, present)};

#define N network_doc_t
static const hcs__field_t network_fields[] = {
    OPT(N, "Id", HCS__F_STR, id),
    OPT(N, "ID", HCS__F_STR, id_caps),
    OPT(N, "Name", HCS__F_STR, name),
    OPT(N, "Type", HCS__F_STR, type),
    OPT(N, "Policies", HCS__F_RAW, policies),
    {"MacPools", HCS__F_OBJARR, OFF(N, mac_pools), OFF(N, n_mac_pools), 0, 0, 0,
     &mac_pool_schema},
    {"Subnets", HCS__F_OBJARR, OFF(N, subnets), OFF(N, n_subnets), 0, 0, 0,
     &subnet_schema},
    OPT(N, "DNSSuffix", HCS__F_STR, dns_suffix),
    OPT(N, "DNSServerList", HCS__F_STR, dns_server_list),
    FIELDS_END};
#undef N
static const hcs__schema_t network_schema = {
    network_fields, sizeof(network_doc_t), OFF(network_doc_t, present)};

#define E endpoint_doc_t
static const hcs__field_t endpoint_fields[] = {
    OPT(E, "Id", HCS__F_STR, id),
    OPT(E, "ID", HCS__F_STR, id_caps),
    OPT(E, "Name", HCS__F_STR, name),
    OPT(E, "VirtualNetwork", HCS__F_STR, virtual_network),
    OPT(E, "VirtualNetworkName", HCS__F_STR, virtual_network_name),
    OPT(E, "Policies", HCS__F_RAW, policies),
    OPT(E, "MacAddress", HCS__F_STR, mac_address),
    OPT(E, "IPAddress", HCS__F_STR, ip_address),
    OPT(E, "GatewayAddress", HCS__F_STR, gateway_address),
    {"PrefixLength", HCS__F_INT, OFF(E, prefix_length), 0, 0, 32, 0, NULL},
    OPT(E, "DNSServerList", HCS__F_STR, dns_server_list),
    OPT(E, "DNSSuffix", HCS__F_STR, dns_suffix),
    FIELDS_END};
#undef E
static const hcs__schema_t endpoint_schema = {
    endpoint_fields, sizeof(endpoint_doc_t), OFF(endpoint_doc_t, present)};

#define P policy_doc_t
#define PORT(json, field)                                                      \
  { json, HCS__F_INT, OFF(P, field), 0, 1, 65535, 1, NULL }
#define QOS_BANDWIDTH                                                          \
  {                                                                            \
    "MaximumOutgoingBandwidthInBytes", HCS__F_INT, OFF(P, bandwidth), 0, 1,    \
        INT64_MAX, 1, NULL                                                     \
  }
static const hcs__field_t nat_fields[] = {
    REQ(P, "Type", HCS__F_STR, type), REQ(P, "Protocol", HCS__F_STR, protocol),
    PORT("InternalPort", internal_port), PORT("ExternalPort", external_port),
    FIELDS_END};
static const hcs__field_t qos_fields[] = {REQ(P, "Type", HCS__F_STR, type),
                                          QOS_BANDWIDTH, FIELDS_END};
#undef PORT
#undef QOS_BANDWIDTH
#undef P
static const hcs__schema_t nat_schema = {nat_fields, sizeof(policy_doc_t),
                                         OFF(policy_doc_t, present)};
static const hcs__schema_t qos_schema = {qos_fields, sizeof(policy_doc_t),
                                         OFF(policy_doc_t, present)};

/* Errors. */

typedef struct ctx_s {
  const char *op;
  const char *object;
  hcs_error_t **err;
} ctx_t;

static hcs_result_t bad(const ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static hcs_result_t bad(const ctx_t *c, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  return hcs__fail(c->err, HCS_WSAEINVAL, c->op, c->object, EINVAL, "%s", why);
}

static hcs_result_t oom(const ctx_t *c) {
  return hcs__fail(c->err, HCS_ERROR_OUTOFMEMORY, c->op, c->object, ENOMEM,
                   "out of memory while parsing");
}

/* Value syntax. */

int hcs__hns_id_valid(const char *s) {
  hcs_guid_t g;
  return hcs__id_valid(s) ||
         (s != NULL && hcs_guid_parse(s, &g, NULL) == HCS_OK);
}

/* Checks each comma-separated item of s with item_ok. */
static int list_ok(const char *s, int (*item_ok)(const char *item, size_t n)) {
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
    if (!item_ok(s, n)) {
      return 0;
    }
    if (comma == NULL) {
      return 1;
    }
    s = comma + 1;
  }
}

static int ip_item_ok(const char *s, size_t n) {
  char text[INET6_ADDRSTRLEN];
  unsigned char bin[16];
  if (n == 0 || n >= sizeof(text)) {
    return 0;
  }
  memcpy(text, s, n);
  text[n] = '\0';
  return inet_pton(AF_INET, text, bin) == 1 ||
         inet_pton(AF_INET6, text, bin) == 1;
}

/* A DNS name: labels of 1-63 [A-Za-z0-9-], no label starting or ending
 * with '-', at most 253 bytes. These end up in resolv.conf, where anything
 * else (a newline above all) would be read as more configuration. */
static int domain_item_ok(const char *s, size_t n) {
  if (n == 0 || n > 253) {
    return 0;
  }
  size_t label = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') {
        return 0;
      }
      label = 0;
      continue;
    }
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9');
    if ((!alnum && !(c == '-' && label > 0)) || ++label > 63) {
      return 0;
    }
  }
  return label > 0 && s[n - 1] != '-';
}

/* Each checker answers NULL, or what is wrong with the value. */

static const char *id_problem(const char *s) {
  return hcs__hns_id_valid(s) ? NULL
                              : "is not an id (1-128 of [A-Za-z0-9_.-], not "
                                "starting with '.' or '-') or a GUID";
}

static const char *name_problem(const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) {
      return "must not hold control characters";
    }
  }
  return n >= 1 && n <= 256 ? NULL : "must be 1-256 bytes";
}

static const char *type_problem(const char *s) {
  static const char *const types[] = {"nat",      "transparent", "l2bridge",
                                      "l2tunnel", "overlay",     "ics",
                                      "private",  "internal"};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    if (strcasecmp(s, types[i]) == 0) {
      return NULL;
    }
  }
  return "is not a network type (nat, transparent, l2bridge, l2tunnel, "
         "overlay, ics, private, internal)";
}

static const char *mac_problem(const char *s) {
  uint64_t v;
  return hcs__mac_parse(s, &v)
             ? NULL
             : "is not a unicast MAC address (00-15-5D-00-00-01 "
               "or 00:15:5d:00:00:01)";
}

static const char *ipv4_problem(const char *s) {
  uint32_t v;
  return hcs__ipv4_parse(s, &v) ? NULL : "is not an IPv4 address";
}

static const char *servers_problem(const char *s) {
  return list_ok(s, ip_item_ok)
             ? NULL
             : "is not a comma-separated list of IP addresses";
}

static const char *suffix_problem(const char *s) {
  return list_ok(s, domain_item_ok)
             ? NULL
             : "is not a comma-separated list of DNS names";
}

/* The string fields of an object: where each sits in the document and in
 * the public struct, and how its value is checked (NULL: by the table
 * alone). raw fields hold JSON text. */
typedef struct str_field_s {
  const char *name;
  size_t doc_off, pub_off;
  const char *(*problem)(const char *value);
  int raw;
} str_field_t;

#define NS(json, field, check, raw)                                            \
  { json, OFF(network_doc_t, field), OFF(hcs_hns_network_t, field), check, raw }
static const str_field_t network_strs[] = {
    NS("Id", id, id_problem, 0),
    NS("Name", name, name_problem, 0),
    NS("Type", type, type_problem, 0),
    NS("Policies", policies, NULL, 1),
    NS("DNSSuffix", dns_suffix, suffix_problem, 0),
    NS("DNSServerList", dns_server_list, servers_problem, 0),
    {NULL, 0, 0, NULL, 0}};
#undef NS

#define ES(json, field, check, raw)                                            \
  {                                                                            \
    json, OFF(endpoint_doc_t, field), OFF(hcs_hns_endpoint_t, field), check,   \
        raw                                                                    \
  }
static const str_field_t endpoint_strs[] = {
    ES("Id", id, id_problem, 0),
    ES("Name", name, name_problem, 0),
    ES("VirtualNetwork", virtual_network, id_problem, 0),
    ES("VirtualNetworkName", virtual_network_name, name_problem, 0),
    ES("Policies", policies, NULL, 1),
    ES("MacAddress", mac_address, mac_problem, 0),
    ES("IPAddress", ip_address, ipv4_problem, 0),
    ES("GatewayAddress", gateway_address, ipv4_problem, 0),
    ES("DNSServerList", dns_server_list, servers_problem, 0),
    ES("DNSSuffix", dns_suffix, suffix_problem, 0),
    {NULL, 0, 0, NULL, 0}};
#undef ES

static char **slot(void *base, size_t off) {
  return (char **)(void *)((char *)base + off);
}

static const char *cslot(const void *base, size_t off) {
  return *(char *const *)(const void *)((const char *)base + off);
}

static hcs_result_t strs_check(const ctx_t *c, const str_field_t *fields,
                               const void *doc) {
  for (const str_field_t *f = fields; f->name != NULL; f++) {
    const char *v = cslot(doc, f->doc_off);
    const char *why = v != NULL && f->problem != NULL ? f->problem(v) : NULL;
    if (why != NULL) {
      return bad(c, "%s: \"%.64s\" %s", f->name, v, why);
    }
  }
  return HCS_OK;
}

/* Moves the strings from the document into the public struct. */
static void strs_move(const str_field_t *fields, void *doc, void *pub) {
  for (const str_field_t *f = fields; f->name != NULL; f++) {
    *slot(pub, f->pub_off) = *slot(doc, f->doc_off);
    *slot(doc, f->doc_off) = NULL;
  }
}

static void strs_free(const str_field_t *fields, void *pub) {
  for (const str_field_t *f = fields; f->name != NULL; f++) {
    as_free(*slot(pub, f->pub_off));
  }
}

/* Merges "ID" into "Id". */
static hcs_result_t id_merge(const ctx_t *c, char **id, char **id_caps) {
  if (*id != NULL && *id_caps != NULL) {
    return bad(c, "ID: given twice, as \"Id\" and as \"ID\"");
  }
  if (*id_caps != NULL) {
    *id = *id_caps;
    *id_caps = NULL;
  }
  return HCS_OK;
}

/* Policies. */

typedef struct decoded_s {
  hcs_nat_policy_t *nat;
  size_t n_nat;
  hcs_qos_policy_t *qos;
  uint8_t *mapped; /* a bit per (protocol, external port) mapped */
} decoded_t;

static void decoded_free(decoded_t *p) {
  for (size_t i = 0; i < p->n_nat; i++) {
    as_free(p->nat[i].protocol);
  }
  as_free(p->nat);
  as_free(p->qos);
  as_free(p->mapped);
  memset(p, 0, sizeof(*p));
}

static hcs_result_t nat_add(const ctx_t *c, const char *path, policy_doc_t *pd,
                            decoded_t *out) {
  int udp = strcasecmp(pd->protocol, "udp") == 0;
  if (!udp && strcasecmp(pd->protocol, "tcp") != 0) {
    return bad(c, "%s.Protocol: \"%.16s\" is not \"tcp\" or \"udp\"", path,
               pd->protocol);
  }
  size_t bit = (size_t)udp * 65536 + (size_t)pd->external_port;
  if ((out->mapped[bit / 8] >> (bit % 8) & 1) != 0) {
    return bad(c, "%s.ExternalPort: %s port %d is mapped twice", path,
               udp ? "udp" : "tcp", (int)pd->external_port);
  }
  out->mapped[bit / 8] |= (uint8_t)(1u << (bit % 8));
  hcs_nat_policy_t *n = &out->nat[out->n_nat++];
  n->protocol = pd->protocol;
  pd->protocol = NULL;
  for (char *p = n->protocol; *p != '\0'; p++) {
    *p = (char)tolower((unsigned char)*p);
  }
  n->internal_port = (uint16_t)pd->internal_port;
  n->external_port = (uint16_t)pd->external_port;
  return HCS_OK;
}

static hcs_result_t qos_set(const ctx_t *c, const char *path,
                            const policy_doc_t *pd, decoded_t *out) {
  if (out->qos != NULL) {
    return bad(c, "%s: a second QOS policy (an endpoint has one)", path);
  }
  if ((out->qos = as_calloc(1, sizeof(*out->qos))) == NULL) {
    return oom(c);
  }
  out->qos->maximum_outgoing_bandwidth_in_bytes = (uint64_t)pd->bandwidth;
  return HCS_OK;
}

static hcs_result_t policy_decode(const ctx_t *c, const char *path, json_t *e,
                                  const char *type, decoded_t *out) {
  const hcs__schema_t *sc = strcmp(type, "NAT") == 0   ? &nat_schema
                            : strcmp(type, "QOS") == 0 ? &qos_schema
                                                       : NULL;
  if (sc == NULL) {
    return bad(c, "%s.Type: \"%.32s\" is not a policy type (NAT or QOS)", path,
               type);
  }
  policy_doc_t pd;
  memset(&pd, 0, sizeof(pd));
  hcs_result_t r =
      hcs__schema_parse(sc, e, &pd, path, c->op, c->object, c->err);
  if (r == HCS_OK) {
    r = sc == &nat_schema ? nat_add(c, path, &pd, out)
                          : qos_set(c, path, &pd, out);
  }
  hcs__schema_free(sc, &pd);
  return r;
}

/* Checks the Policies text: an array of objects, each with a string Type.
 * With out, each is decoded (NAT, QOS) into out; without, they are kept
 * as they are (network policies are the network machinery's). */
static hcs_result_t policies_check(const ctx_t *c, const char *raw,
                                   decoded_t *out) {
  json_t *a = json_loads(raw, JSON_DECODE_ANY, NULL);
  if (a == NULL) {
    return oom(c);
  }
  size_t n = json_array_size(a);
  hcs_result_t r =
      json_is_array(a) ? HCS_OK : bad(c, "Policies: must be an array");
  if (r == HCS_OK && out != NULL && n > 0) {
    out->nat = as_calloc(n, sizeof(*out->nat));
    out->mapped = as_calloc(2 * 65536 / 8, 1);
    if (out->nat == NULL || out->mapped == NULL) {
      r = oom(c);
    }
  }
  for (size_t i = 0; r == HCS_OK && i < n; i++) {
    char path[40];
    snprintf(path, sizeof(path), "Policies[%zu]", i);
    json_t *e = json_array_get(a, i);
    json_t *t = json_object_get(e, "Type");
    if (!json_is_object(e)) {
      r = bad(c, "%s: must be an object", path);
    } else if (t == NULL) {
      r = bad(c, "%s.Type: required field missing", path);
    } else if (!json_is_string(t) || json_string_length(t) == 0) {
      r = bad(c, "%s.Type: must be a non-empty string", path);
    } else if (out != NULL) {
      r = policy_decode(c, path, e, json_string_value(t), out);
    }
  }
  json_decref(a);
  return r;
}

/* Networks. */

static hcs_result_t mac_check(const ctx_t *c, size_t i, const char *which,
                              const char *v, uint64_t *out) {
  return hcs__mac_parse(v, out) ? HCS_OK
                                : bad(c, "MacPools[%zu].%s: \"%.32s\" %s", i,
                                      which, v, mac_problem(v));
}

static hcs_result_t mac_pools_check(const ctx_t *c, const mac_pool_doc_t *p,
                                    size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint64_t lo = 0, hi = 0;
    hcs_result_t r = mac_check(c, i, "StartMacAddress", p[i].start, &lo);
    if (r == HCS_OK) {
      r = mac_check(c, i, "EndMacAddress", p[i].end, &hi);
    }
    if (r != HCS_OK) {
      return r;
    }
    if (lo > hi) {
      return bad(c,
                 "MacPools[%zu].EndMacAddress: \"%s\" comes before "
                 "StartMacAddress \"%s\"",
                 i, p[i].end, p[i].start);
    }
  }
  return HCS_OK;
}

static hcs_result_t subnets_check(const ctx_t *c, const subnet_doc_t *s,
                                  size_t n) {
  uint32_t nets[MAX_SUBNETS];
  unsigned lens[MAX_SUBNETS];
  if (n > MAX_SUBNETS) {
    return bad(c, "Subnets: at most %d subnets", MAX_SUBNETS);
  }
  for (size_t i = 0; i < n; i++) {
    const char *why = hcs__ipv4_prefix_parse(s[i].prefix, &nets[i], &lens[i]);
    if (why != NULL) {
      return bad(c, "Subnets[%zu].AddressPrefix: \"%.64s\" %s", i, s[i].prefix,
                 why);
    }
    for (size_t j = 0; j < i; j++) {
      unsigned len = lens[i] < lens[j] ? lens[i] : lens[j];
      if (((nets[i] ^ nets[j]) & hcs__ipv4_mask(len)) == 0) {
        return bad(c,
                   "Subnets[%zu].AddressPrefix: \"%s\" overlaps "
                   "Subnets[%zu] \"%s\"",
                   i, s[i].prefix, j, s[j].prefix);
      }
    }
    uint32_t gw = 0;
    if (s[i].gateway == NULL) {
      continue;
    }
    if (!hcs__ipv4_parse(s[i].gateway, &gw)) {
      return bad(c,
                 "Subnets[%zu].GatewayAddress: \"%.64s\" is not an IPv4 "
                 "address",
                 i, s[i].gateway);
    }
    if ((gw & hcs__ipv4_mask(lens[i])) != nets[i]) {
      return bad(c, "Subnets[%zu].GatewayAddress: \"%s\" is outside %s", i,
                 s[i].gateway, s[i].prefix);
    }
  }
  return HCS_OK;
}

static hcs_result_t network_build(const ctx_t *c, network_doc_t *d,
                                  hcs_hns_network_t **out) {
  hcs_hns_network_t *n = as_calloc(1, sizeof(*n));
  hcs_mac_pool_t *pools = NULL;
  hcs_subnet_t *subnets = NULL;
  if (d->n_mac_pools > 0) {
    pools = as_calloc(d->n_mac_pools, sizeof(*pools));
  }
  if (d->n_subnets > 0) {
    subnets = as_calloc(d->n_subnets, sizeof(*subnets));
  }
  if (n == NULL || (d->n_mac_pools > 0 && pools == NULL) ||
      (d->n_subnets > 0 && subnets == NULL)) {
    as_free(n);
    as_free(pools);
    as_free(subnets);
    return oom(c);
  }
  strs_move(network_strs, d, n);
  for (size_t i = 0; i < d->n_mac_pools; i++) {
    pools[i].start_mac_address = d->mac_pools[i].start;
    pools[i].end_mac_address = d->mac_pools[i].end;
    d->mac_pools[i].start = d->mac_pools[i].end = NULL;
  }
  for (size_t i = 0; i < d->n_subnets; i++) {
    subnets[i].address_prefix = d->subnets[i].prefix;
    subnets[i].gateway_address = d->subnets[i].gateway;
    d->subnets[i].prefix = d->subnets[i].gateway = NULL;
  }
  n->mac_pools = pools;
  n->n_mac_pools = d->n_mac_pools;
  n->subnets = subnets;
  n->n_subnets = d->n_subnets;
  *out = n;
  return HCS_OK;
}

hcs_result_t hcs__hns_network_parse(const char *text, const char *op,
                                    const char *object, hcs_hns_network_t **out,
                                    hcs_error_t **err) {
  const ctx_t c = {.op = op, .object = object, .err = err};
  *out = NULL;
  as_alloc_init();
  network_doc_t d;
  memset(&d, 0, sizeof(d));
  hcs_result_t r =
      hcs__schema_parse_text(&network_schema, text, &d, op, object, err);
  if (r == HCS_OK) {
    r = id_merge(&c, &d.id, &d.id_caps);
  }
  if (r == HCS_OK) {
    r = strs_check(&c, network_strs, &d);
  }
  if (r == HCS_OK && d.policies != NULL) {
    r = policies_check(&c, d.policies, NULL);
  }
  if (r == HCS_OK) {
    r = mac_pools_check(&c, d.mac_pools, d.n_mac_pools);
  }
  if (r == HCS_OK) {
    r = subnets_check(&c, d.subnets, d.n_subnets);
  }
  if (r == HCS_OK) {
    r = network_build(&c, &d, out);
  }
  hcs__schema_free(&network_schema, &d);
  return r == HCS_OK ? hcs__ok(err) : r;
}

/* Endpoints. */

/* The gateway is another address of the endpoint's own subnet. */
static hcs_result_t endpoint_gateway_check(const ctx_t *c,
                                           const endpoint_doc_t *d) {
  uint32_t ip, gw;
  if (d->ip_address == NULL || d->gateway_address == NULL ||
      !hcs__ipv4_parse(d->ip_address, &ip) ||
      !hcs__ipv4_parse(d->gateway_address, &gw)) {
    return HCS_OK;
  }
  if (ip == gw) {
    return bad(c, "GatewayAddress: \"%s\" is the endpoint's own IPAddress",
               d->gateway_address);
  }
  if (((ip ^ gw) & hcs__ipv4_mask((unsigned)d->prefix_length)) != 0) {
    return bad(c, "GatewayAddress: \"%s\" is outside %s/%d", d->gateway_address,
               d->ip_address, (int)d->prefix_length);
  }
  return HCS_OK;
}

static hcs_result_t endpoint_build(const ctx_t *c, endpoint_doc_t *d,
                                   decoded_t *pol, hcs_hns_endpoint_t **out) {
  hcs_hns_endpoint_t *e = as_calloc(1, sizeof(*e));
  if (e == NULL) {
    return oom(c);
  }
  strs_move(endpoint_strs, d, e);
  e->prefix_length = (uint8_t)d->prefix_length;
  if (pol->n_nat > 0) {
    e->nat_policies = pol->nat;
    e->n_nat_policies = pol->n_nat;
    pol->nat = NULL;
    pol->n_nat = 0;
  }
  e->qos_policy = pol->qos;
  pol->qos = NULL;
  *out = e;
  return HCS_OK;
}

hcs_result_t hcs__hns_endpoint_parse(const char *text, const char *op,
                                     const char *object,
                                     hcs_hns_endpoint_t **out,
                                     hcs_error_t **err) {
  const ctx_t c = {.op = op, .object = object, .err = err};
  *out = NULL;
  as_alloc_init();
  endpoint_doc_t d;
  memset(&d, 0, sizeof(d));
  decoded_t pol;
  memset(&pol, 0, sizeof(pol));
  hcs_result_t r =
      hcs__schema_parse_text(&endpoint_schema, text, &d, op, object, err);
  if (r == HCS_OK) {
    r = id_merge(&c, &d.id, &d.id_caps);
  }
  if (r == HCS_OK) {
    r = strs_check(&c, endpoint_strs, &d);
  }
  if (r == HCS_OK) {
    r = endpoint_gateway_check(&c, &d);
  }
  if (r == HCS_OK && d.policies != NULL) {
    r = policies_check(&c, d.policies, &pol);
  }
  if (r == HCS_OK) {
    r = endpoint_build(&c, &d, &pol, out);
  }
  decoded_free(&pol);
  hcs__schema_free(&endpoint_schema, &d);
  return r == HCS_OK ? hcs__ok(err) : r;
}

/* Freeing. */

static void network_fields_free(hcs_hns_network_t *n) {
  strs_free(network_strs, n);
  for (size_t i = 0; n->mac_pools != NULL && i < n->n_mac_pools; i++) {
    as_free(n->mac_pools[i].start_mac_address);
    as_free(n->mac_pools[i].end_mac_address);
  }
  for (size_t i = 0; n->subnets != NULL && i < n->n_subnets; i++) {
    as_free(n->subnets[i].address_prefix);
    as_free(n->subnets[i].gateway_address);
  }
  as_free(n->mac_pools);
  as_free(n->subnets);
}

void hcs_hns_network_free(hcs_hns_network_t *n) {
  if (n != NULL) {
    network_fields_free(n);
    as_free(n);
  }
}

void hcs_hns_networks_free(hcs_hns_network_t *v, size_t n) {
  for (size_t i = 0; v != NULL && i < n; i++) {
    network_fields_free(&v[i]);
  }
  as_free(v);
}

void hcs_hns_endpoint_free(hcs_hns_endpoint_t *e) {
  if (e == NULL) {
    return;
  }
  strs_free(endpoint_strs, e);
  for (size_t i = 0; e->nat_policies != NULL && i < e->n_nat_policies; i++) {
    as_free(e->nat_policies[i].protocol);
  }
  as_free(e->nat_policies);
  as_free(e->qos_policy);
  as_free(e);
}

/* Printing. A value that cannot be printed (a NULL where the array needs a
 * string, text that is not UTF-8, policies that are not JSON) makes the
 * whole print fail rather than print something that does not read back. */

static int set_str(json_t *o, const char *key, const char *v) {
  return v == NULL ? 0 : json_object_set_new(o, key, json_string(v));
}

static int strs_print(const str_field_t *fields, const void *pub, json_t *o) {
  for (const str_field_t *f = fields; f->name != NULL; f++) {
    const char *v = cslot(pub, f->pub_off);
    if (v != NULL && f->raw &&
        json_object_set_new(o, f->name, json_loads(v, JSON_DECODE_ANY, NULL)) !=
            0) {
      return -1;
    }
    if (!f->raw && set_str(o, f->name, v) != 0) {
      return -1;
    }
  }
  return 0;
}

/* An object of up to two string members (NULL values left out). */
static json_t *pair(const char *k1, const char *v1, const char *k2,
                    const char *v2) {
  json_t *o = json_object();
  if (o != NULL && (set_str(o, k1, v1) != 0 || set_str(o, k2, v2) != 0)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* Takes o; returns its compact text in seam memory, or NULL. */
static char *finish(json_t *o, int failed) {
  char *text = failed == 0 && o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  char *copy = text != NULL ? as_strdup(text) : NULL;
  free(text);
  return copy;
}

char *hcs_hns_network_json(const hcs_hns_network_t *n) {
  if (n == NULL) {
    return NULL;
  }
  as_alloc_init();
  json_t *o = json_object();
  int failed = o == NULL || strs_print(network_strs, n, o) != 0;
  if (!failed && n->n_mac_pools > 0) {
    json_t *a = json_array();
    failed = json_object_set_new(o, "MacPools", a) != 0;
    for (size_t i = 0; !failed && i < n->n_mac_pools; i++) {
      const hcs_mac_pool_t *p = &n->mac_pools[i];
      failed = json_array_append_new(
                   a, pair("StartMacAddress", p->start_mac_address,
                           "EndMacAddress", p->end_mac_address)) != 0;
    }
  }
  if (!failed && n->n_subnets > 0) {
    json_t *a = json_array();
    failed = json_object_set_new(o, "Subnets", a) != 0;
    for (size_t i = 0; !failed && i < n->n_subnets; i++) {
      const hcs_subnet_t *s = &n->subnets[i];
      failed = json_array_append_new(a, pair("AddressPrefix", s->address_prefix,
                                             "GatewayAddress",
                                             s->gateway_address)) != 0;
    }
  }
  return finish(o, failed);
}

/* The decoded policies as HNS policy objects, for an endpoint whose raw
 * policies text is NULL. */
static json_t *decoded_print(const hcs_hns_endpoint_t *e) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < e->n_nat_policies; i++) {
    const hcs_nat_policy_t *p = &e->nat_policies[i];
    if (json_array_append_new(
            a, json_pack("{s:s, s:s, s:i, s:i}", "Type", "NAT", "Protocol",
                         p->protocol, "InternalPort", (int)p->internal_port,
                         "ExternalPort", (int)p->external_port)) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  if (a != NULL && e->qos_policy != NULL &&
      json_array_append_new(
          a, json_pack("{s:s, s:I}", "Type", "QOS",
                       "MaximumOutgoingBandwidthInBytes",
                       (json_int_t)e->qos_policy
                           ->maximum_outgoing_bandwidth_in_bytes)) != 0) {
    json_decref(a);
    return NULL;
  }
  return a;
}

char *hcs_hns_endpoint_json(const hcs_hns_endpoint_t *e) {
  if (e == NULL) {
    return NULL;
  }
  as_alloc_init();
  json_t *o = json_object();
  int failed = o == NULL || strs_print(endpoint_strs, e, o) != 0;
  if (!failed && e->prefix_length != 0) {
    failed = json_object_set_new(o, "PrefixLength",
                                 json_integer(e->prefix_length)) != 0;
  }
  if (!failed && e->policies == NULL &&
      (e->n_nat_policies > 0 || e->qos_policy != NULL)) {
    failed = json_object_set_new(o, "Policies", decoded_print(e)) != 0;
  }
  return finish(o, failed);
}
