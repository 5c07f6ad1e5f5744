/* SPDX-License-Identifier: MIT */
/* HNS as API surface: the strict network and endpoint documents (round
 * trips, one refusal per class of bad input with the field path named),
 * the request rules (methods, paths, bodies), and valid requests that
 * reach the service and are answered there without touching the kernel
 * (unknown ids, unsupported types). Requests that build networks are
 * test_hns_net.c's and test_hns_traffic.c's. */
#include "hcs-async.h"
#include "hcs/hns/hns_json.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <hcs.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char op[] = "hcs::test";

static const char full_network[] =
    "{\"Id\":\"5f0c1a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6\",\"Name\":\"nat\","
    "\"Type\":\"nat\",\"Policies\":[{\"Type\":\"VLAN\",\"VLAN\":10}],"
    "\"MacPools\":[{\"StartMacAddress\":\"00-15-5D-52-C0-00\","
    "\"EndMacAddress\":\"00-15-5D-52-CF-FF\"},{\"StartMacAddress\":"
    "\"00:15:5d:53:00:00\",\"EndMacAddress\":\"00:15:5d:53:00:00\"}],"
    "\"Subnets\":[{\"AddressPrefix\":\"172.20.0.0/16\",\"GatewayAddress\":"
    "\"172.20.0.1\"},{\"AddressPrefix\":\"10.9.8.0/24\"}],"
    "\"DNSSuffix\":\"corp.example.com,example.com\","
    "\"DNSServerList\":\"172.20.0.1,2001:db8::53\"}";

static const char full_endpoint[] =
    "{\"Id\":\"ep-1\",\"Name\":\"web_1\",\"VirtualNetwork\":"
    "\"5f0c1a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6\",\"VirtualNetworkName\":\"nat\","
    "\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\",\"InternalPort\":80,"
    "\"ExternalPort\":8080},{\"Type\":\"QOS\","
    "\"MaximumOutgoingBandwidthInBytes\":1000000},{\"Type\":\"NAT\","
    "\"Protocol\":\"udp\",\"InternalPort\":53,\"ExternalPort\":8080}],"
    "\"MacAddress\":\"00-15-5D-52-C0-0A\",\"IPAddress\":\"172.20.0.10\","
    "\"GatewayAddress\":\"172.20.0.1\",\"PrefixLength\":16,"
    "\"DNSServerList\":\"172.20.0.1\",\"DNSSuffix\":\"example.com\"}";

static bool str_same(const char *a, const char *b) {
  return (a == NULL && b == NULL) ||
         (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool networks_equal(const hcs_hns_network_t *a,
                           const hcs_hns_network_t *b) {
  if (!str_same(a->id, b->id) || !str_same(a->name, b->name) ||
      !str_same(a->type, b->type) || !str_same(a->policies, b->policies) ||
      !str_same(a->dns_suffix, b->dns_suffix) ||
      !str_same(a->dns_server_list, b->dns_server_list) ||
      a->n_mac_pools != b->n_mac_pools || a->n_subnets != b->n_subnets) {
    return false;
  }
  for (size_t i = 0; i < a->n_mac_pools; i++) {
    if (!str_same(a->mac_pools[i].start_mac_address,
                  b->mac_pools[i].start_mac_address) ||
        !str_same(a->mac_pools[i].end_mac_address,
                  b->mac_pools[i].end_mac_address)) {
      return false;
    }
  }
  for (size_t i = 0; i < a->n_subnets; i++) {
    if (!str_same(a->subnets[i].address_prefix, b->subnets[i].address_prefix) ||
        !str_same(a->subnets[i].gateway_address,
                  b->subnets[i].gateway_address)) {
      return false;
    }
  }
  return true;
}

static bool endpoints_equal(const hcs_hns_endpoint_t *a,
                            const hcs_hns_endpoint_t *b) {
  if (!str_same(a->id, b->id) || !str_same(a->name, b->name) ||
      !str_same(a->virtual_network, b->virtual_network) ||
      !str_same(a->virtual_network_name, b->virtual_network_name) ||
      !str_same(a->policies, b->policies) ||
      !str_same(a->mac_address, b->mac_address) ||
      !str_same(a->ip_address, b->ip_address) ||
      !str_same(a->gateway_address, b->gateway_address) ||
      a->prefix_length != b->prefix_length ||
      !str_same(a->dns_server_list, b->dns_server_list) ||
      !str_same(a->dns_suffix, b->dns_suffix) ||
      a->n_nat_policies != b->n_nat_policies ||
      (a->qos_policy == NULL) != (b->qos_policy == NULL)) {
    return false;
  }
  for (size_t i = 0; i < a->n_nat_policies; i++) {
    const hcs_nat_policy_t *x = &a->nat_policies[i], *y = &b->nat_policies[i];
    if (!str_same(x->protocol, y->protocol) ||
        x->internal_port != y->internal_port ||
        x->external_port != y->external_port) {
      return false;
    }
  }
  return a->qos_policy == NULL ||
         a->qos_policy->maximum_outgoing_bandwidth_in_bytes ==
             b->qos_policy->maximum_outgoing_bandwidth_in_bytes;
}

static hcs_hns_network_t *network_ok(const char *doc) {
  hcs_hns_network_t *n = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs__hns_network_parse(doc, op, "", &n, &err), HCS_OK,
               "%s\nrefused: %s", doc, err ? hcs_error_cause(err) : "");
  cr_assert_null(err);
  cr_assert_not_null(n);
  return n;
}

static hcs_hns_endpoint_t *endpoint_ok(const char *doc) {
  hcs_hns_endpoint_t *e = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs__hns_endpoint_parse(doc, op, "", &e, &err), HCS_OK,
               "%s\nrefused: %s", doc, err ? hcs_error_cause(err) : "");
  cr_assert_null(err);
  cr_assert_not_null(e);
  return e;
}

/* The JSON of a and b holds the same members and values. */
static void assert_same_json(const char *a, const char *b) {
  json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
  cr_assert_not_null(ja);
  cr_assert_not_null(jb);
  cr_assert(json_equal(ja, jb), "documents differ:\n%s\n%s", a, b);
  json_decref(ja);
  json_decref(jb);
}

Test(hns_json, network_round_trip_keeps_every_field) {
  hcs_hns_network_t *n = network_ok(full_network);
  cr_assert_str_eq(n->id, "5f0c1a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6");
  cr_assert_str_eq(n->name, "nat");
  cr_assert_str_eq(n->type, "nat");
  cr_assert_str_eq(n->policies, "[{\"Type\":\"VLAN\",\"VLAN\":10}]");
  cr_assert_eq(n->n_mac_pools, 2);
  cr_assert_str_eq(n->mac_pools[0].start_mac_address, "00-15-5D-52-C0-00");
  cr_assert_str_eq(n->mac_pools[1].end_mac_address, "00:15:5d:53:00:00");
  cr_assert_eq(n->n_subnets, 2);
  cr_assert_str_eq(n->subnets[0].address_prefix, "172.20.0.0/16");
  cr_assert_str_eq(n->subnets[0].gateway_address, "172.20.0.1");
  cr_assert_null(n->subnets[1].gateway_address);
  cr_assert_str_eq(n->dns_suffix, "corp.example.com,example.com");
  cr_assert_str_eq(n->dns_server_list, "172.20.0.1,2001:db8::53");

  char *text = hcs_hns_network_json(n);
  cr_assert_not_null(text);
  assert_same_json(full_network, text);
  hcs_hns_network_t *again = network_ok(text);
  cr_assert(networks_equal(n, again));
  char *text2 = hcs_hns_network_json(again);
  cr_assert_str_eq(text, text2);
  hcs_free(text);
  hcs_free(text2);
  hcs_hns_network_free(again);
  hcs_hns_network_free(n);
}

Test(hns_json, endpoint_round_trip_decodes_policies) {
  hcs_hns_endpoint_t *e = endpoint_ok(full_endpoint);
  cr_assert_str_eq(e->id, "ep-1");
  cr_assert_str_eq(e->virtual_network_name, "nat");
  cr_assert_str_eq(e->mac_address, "00-15-5D-52-C0-0A");
  cr_assert_str_eq(e->ip_address, "172.20.0.10");
  cr_assert_str_eq(e->gateway_address, "172.20.0.1");
  cr_assert_eq(e->prefix_length, 16);
  cr_assert_str_eq(e->dns_server_list, "172.20.0.1");
  cr_assert_str_eq(e->dns_suffix, "example.com");
  cr_assert_not_null(e->policies);
  cr_assert_eq(e->n_nat_policies, 2);
  cr_assert_str_eq(e->nat_policies[0].protocol, "tcp");
  cr_assert_eq(e->nat_policies[0].internal_port, 80);
  cr_assert_eq(e->nat_policies[0].external_port, 8080);
  cr_assert_str_eq(e->nat_policies[1].protocol, "udp");
  cr_assert_eq(e->nat_policies[1].internal_port, 53);
  cr_assert_not_null(e->qos_policy);
  cr_assert_eq(e->qos_policy->maximum_outgoing_bandwidth_in_bytes, 1000000);

  char *text = hcs_hns_endpoint_json(e);
  cr_assert_not_null(text);
  assert_same_json(full_endpoint, text);
  hcs_hns_endpoint_t *again = endpoint_ok(text);
  cr_assert(endpoints_equal(e, again));
  char *text2 = hcs_hns_endpoint_json(again);
  cr_assert_str_eq(text, text2);
  hcs_free(text);
  hcs_free(text2);
  hcs_hns_endpoint_free(again);
  hcs_hns_endpoint_free(e);
}

Test(hns_json, empty_objects_round_trip) {
  hcs_hns_network_t *n = network_ok("{}");
  cr_assert_null(n->id);
  cr_assert_null(n->mac_pools);
  cr_assert_null(n->subnets);
  char *text = hcs_hns_network_json(n);
  cr_assert_str_eq(text, "{}");
  hcs_free(text);
  hcs_hns_network_free(n);
  n = network_ok("{\"MacPools\":[],\"Subnets\":[],\"Policies\":[]}");
  cr_assert_eq(n->n_mac_pools, 0);
  cr_assert_null(n->mac_pools);
  cr_assert_str_eq(n->policies, "[]");
  hcs_hns_network_free(n);

  hcs_hns_endpoint_t *e = endpoint_ok("{\"PrefixLength\":0}");
  cr_assert_eq(e->prefix_length, 0); /* 0: not given */
  text = hcs_hns_endpoint_json(e);
  cr_assert_str_eq(text, "{}");
  hcs_free(text);
  hcs_hns_endpoint_free(e);
}

Test(hns_json, hcsshim_id_spelling_is_read) {
  hcs_hns_network_t *n = network_ok("{\"ID\":\"net-1\",\"Type\":\"NAT\"}");
  cr_assert_str_eq(n->id, "net-1");
  cr_assert_str_eq(n->type, "NAT"); /* types compare without case */
  char *text = hcs_hns_network_json(n);
  cr_assert_str_eq(text, "{\"Id\":\"net-1\",\"Type\":\"NAT\"}");
  hcs_free(text);
  hcs_hns_network_free(n);
  hcs_hns_endpoint_t *e = endpoint_ok("{\"ID\":\"{5F0C1A3E-1B2C-4D5E-8F90-"
                                      "A1B2C3D4E5F6}\"}");
  cr_assert_str_eq(e->id, "{5F0C1A3E-1B2C-4D5E-8F90-A1B2C3D4E5F6}");
  hcs_hns_endpoint_free(e);
}

Test(hns_json, protocol_is_read_in_either_case_and_kept_lower) {
  hcs_hns_endpoint_t *e =
      endpoint_ok("{\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"UDP\","
                  "\"InternalPort\":1,\"ExternalPort\":65535}]}");
  cr_assert_str_eq(e->nat_policies[0].protocol, "udp");
  cr_assert_eq(e->nat_policies[0].external_port, 65535);
  cr_assert_null(e->qos_policy);
  hcs_hns_endpoint_free(e);
}

Test(hns_json, decoded_policies_print_when_there_is_no_raw_text) {
  hcs_nat_policy_t nat[] = {
      {.protocol = (char *)"tcp", .internal_port = 80, .external_port = 8080}};
  hcs_qos_policy_t qos = {.maximum_outgoing_bandwidth_in_bytes = 4096};
  hcs_hns_endpoint_t e = {.name = (char *)"x",
                          .nat_policies = nat,
                          .n_nat_policies = 1,
                          .qos_policy = &qos};
  char *text = hcs_hns_endpoint_json(&e);
  cr_assert_not_null(text);
  assert_same_json(text, "{\"Name\":\"x\",\"Policies\":[{\"Type\":\"NAT\","
                         "\"Protocol\":\"tcp\",\"InternalPort\":80,"
                         "\"ExternalPort\":8080},{\"Type\":\"QOS\","
                         "\"MaximumOutgoingBandwidthInBytes\":4096}]}");
  hcs_hns_endpoint_t *back = endpoint_ok(text);
  cr_assert_eq(back->n_nat_policies, 1);
  cr_assert_eq(back->qos_policy->maximum_outgoing_bandwidth_in_bytes, 4096);
  hcs_hns_endpoint_free(back);
  hcs_free(text);
}

Test(hns_json, unprintable_objects_print_as_null) {
  cr_assert_null(hcs_hns_network_json(NULL));
  cr_assert_null(hcs_hns_endpoint_json(NULL));
  hcs_hns_network_t n = {.policies = (char *)"[not json"};
  cr_assert_null(hcs_hns_network_json(&n));
  hcs_hns_endpoint_t e = {.name = (char *)"\xff\xfe"};
  cr_assert_null(hcs_hns_endpoint_json(&e));
}

Test(hns_json, frees_accept_null_and_lists) {
  hcs_hns_network_free(NULL);
  hcs_hns_networks_free(NULL, 3);
  hcs_hns_endpoint_free(NULL);
  /* A list as a list request hands it out: one array of structs, each
   * owning its fields. */
  hcs_hns_network_t *v = as_calloc(2, sizeof(*v));
  cr_assert_not_null(v);
  for (int i = 0; i < 2; i++) {
    hcs_hns_network_t *n = network_ok(full_network);
    v[i] = *n;
    as_free(n);
  }
  hcs_hns_networks_free(v, 2);
}

typedef struct reject_s {
  const char *doc;
  const char *needle; /* must appear in the cause */
} reject_t;

/* Text that is not a JSON object is HCS_E_INVALID_JSON; a document that
 * is one but breaks a field's rule is a bad argument. */
static hcs_result_t want_code(const char *needle) {
  return strstr(needle, "JSON") != NULL ? HCS_E_INVALID_JSON : HCS_WSAEINVAL;
}

static const reject_t network_rejects[] = {
    {"[1]", "must be a JSON object"},
    {"{\"Name\":", "not JSON"},
    {"{\"Name\":\"a\",\"Name\":\"b\"}", "not JSON"},
    {"{\"Name\":\"a\\u0000b\"}", "not JSON"},
    {"{\"Bogus\":1}", "Bogus: unknown field"},
    {"{\"SourceMac\":\"00-15-5D-00-00-01\"}", "SourceMac: unknown field"},
    {"{\"Name\":7}", "Name: must be a string"},
    {"{\"Name\":\"\"}", "Name: \"\" must be 1-256 bytes"},
    {"{\"Name\":\"a\\nb\"}", "Name: \"a\nb\" must not hold control"},
    {"{\"Id\":\"a/b\"}", "Id: \"a/b\" is not an id"},
    {"{\"Id\":\"\"}", "Id: \"\" is not an id"},
    {"{\"ID\":\".x\"}", "Id: \".x\" is not an id"},
    {"{\"Id\":\"a\",\"ID\":\"a\"}", "ID: given twice"},
    {"{\"Type\":\"bridge\"}", "Type: \"bridge\" is not a network type"},
    {"{\"Type\":null}", "Type: must be a string"},
    {"{\"Policies\":{}}", "Policies: must be an array"},
    {"{\"Policies\":\"[]\"}", "Policies: must be an array"},
    {"{\"Policies\":[1]}", "Policies[0]: must be an object"},
    {"{\"Policies\":[{\"Type\":\"VLAN\"},{}]}",
     "Policies[1].Type: required field missing"},
    {"{\"Policies\":[{\"Type\":7}]}", "Policies[0].Type: must be a non-empty"},
    {"{\"Policies\":[{\"Type\":\"\"}]}",
     "Policies[0].Type: must be a non-empty"},
    {"{\"MacPools\":{}}", "MacPools: must be an array of objects"},
    {"{\"MacPools\":[\"00-15-5D-00-00-01\"]}",
     "MacPools[0]: must be an object"},
    {"{\"MacPools\":[{\"StartMacAddress\":\"00-15-5D-00-00-01\"}]}",
     "MacPools[0].EndMacAddress: required field missing"},
    {"{\"MacPools\":[{\"StartMacAddress\":\"00-15-5D-00-00-01\","
     "\"EndMacAddress\":\"00-15-5D-00-00-02\",\"Size\":2}]}",
     "MacPools[0].Size: unknown field"},
    {"{\"MacPools\":[{\"StartMacAddress\":\"00-15-5D-00-00\","
     "\"EndMacAddress\":\"00-15-5D-00-00-02\"}]}",
     "MacPools[0].StartMacAddress: \"00-15-5D-00-00\" is not a unicast MAC"},
    {"{\"MacPools\":[{\"StartMacAddress\":\"00-15-5D-00-00-01\","
     "\"EndMacAddress\":\"00-15:5D-00-00-02\"}]}",
     "MacPools[0].EndMacAddress: \"00-15:5D-00-00-02\" is not"},
    {"{\"MacPools\":[{\"StartMacAddress\":\"00-15-5D-00-00-0G\","
     "\"EndMacAddress\":\"00-15-5D-00-00-02\"}]}",
     "MacPools[0].StartMacAddress"},
    {"{\"MacPools\":[{\"StartMacAddress\":\"01-00-5E-00-00-01\","
     "\"EndMacAddress\":\"01-00-5E-00-00-02\"}]}",
     "MacPools[0].StartMacAddress: \"01-00-5E-00-00-01\" is not a unicast"},
    {"{\"MacPools\":[{\"StartMacAddress\":\"00-00-00-00-00-00\","
     "\"EndMacAddress\":\"00-15-5D-00-00-02\"}]}",
     "MacPools[0].StartMacAddress"},
    {"{\"MacPools\":[{\"StartMacAddress\":\"00-15-5D-00-00-01\","
     "\"EndMacAddress\":\"00-15-5D-00-00-01\"},{\"StartMacAddress\":"
     "\"00-15-5D-00-01-00\",\"EndMacAddress\":\"00-15-5D-00-00-FF\"}]}",
     "MacPools[1].EndMacAddress: \"00-15-5D-00-00-FF\" comes before"},
    {"{\"Subnets\":[{}]}", "Subnets[0].AddressPrefix: required field missing"},
    {"{\"Subnets\":[{\"AddressPrefix\":1}]}",
     "Subnets[0].AddressPrefix: must be a string"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0/8\",\"Routes\":[]}]}",
     "Subnets[0].Routes: unknown field"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0/8\"},{\"AddressPrefix\":"
     "\"10.1.0.0/33\"}]}",
     "Subnets[1].AddressPrefix: \"10.1.0.0/33\" is not an IPv4 prefix"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0\"}]}",
     "Subnets[0].AddressPrefix: \"10.0.0.0\" is not an IPv4 prefix"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0/\"}]}",
     "Subnets[0].AddressPrefix"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0/08\"}]}",
     "Subnets[0].AddressPrefix"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0/+8\"}]}",
     "Subnets[0].AddressPrefix"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.256/24\"}]}",
     "Subnets[0].AddressPrefix"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"010.0.0.0/8\"}]}",
     "Subnets[0].AddressPrefix"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"fd00::/64\"}]}",
     "Subnets[0].AddressPrefix"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.1/24\"}]}",
     "Subnets[0].AddressPrefix: \"10.0.0.1/24\" has host bits set"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0/16\"},{\"AddressPrefix\":"
     "\"10.0.1.0/24\"}]}",
     "Subnets[1].AddressPrefix: \"10.0.1.0/24\" overlaps Subnets[0]"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0/24\",\"GatewayAddress\":"
     "\"10.0.1.1\"}]}",
     "Subnets[0].GatewayAddress: \"10.0.1.1\" is outside 10.0.0.0/24"},
    {"{\"Subnets\":[{\"AddressPrefix\":\"10.0.0.0/24\",\"GatewayAddress\":"
     "\"gw\"}]}",
     "Subnets[0].GatewayAddress: \"gw\" is not an IPv4 address"},
    {"{\"DNSServerList\":\"1.1.1.1,,8.8.8.8\"}", "DNSServerList: \"1.1.1.1,,"},
    {"{\"DNSServerList\":\"1.1.1.1 8.8.8.8\"}", "DNSServerList"},
    {"{\"DNSServerList\":\"\"}", "DNSServerList"},
    {"{\"DNSSuffix\":\"a.com\\nnameserver 6.6.6.6\"}",
     "DNSSuffix: \"a.com\nnameserver 6.6.6.6\" is not"},
    {"{\"DNSSuffix\":\"-a.com\"}", "DNSSuffix"},
    {"{\"DNSSuffix\":\"a..com\"}", "DNSSuffix"},
};

static const reject_t endpoint_rejects[] = {
    {"[]", "must be a JSON object"},
    {"7", "not JSON"},
    {"{\"Bogus\":true}", "Bogus: unknown field"},
    {"{\"VirtualNetwork\":\"a b\"}", "VirtualNetwork: \"a b\" is not an id"},
    {"{\"VirtualNetworkName\":\"\"}", "VirtualNetworkName: \"\" must be"},
    {"{\"MacAddress\":\"00-15-5D-00-00-0G\"}",
     "MacAddress: \"00-15-5D-00-00-0G\" is not a unicast MAC"},
    {"{\"MacAddress\":\"00-15-5D-00-00-01-02\"}", "MacAddress"},
    {"{\"MacAddress\":\"FF-FF-FF-FF-FF-FF\"}", "MacAddress"},
    {"{\"IPAddress\":\"10.0.0.300\"}",
     "IPAddress: \"10.0.0.300\" is not an IPv4 address"},
    {"{\"IPAddress\":\"::1\"}", "IPAddress: \"::1\" is not an IPv4 address"},
    {"{\"IPAddress\":[10,0,0,1]}", "IPAddress: must be a string"},
    {"{\"GatewayAddress\":\"gw\"}", "GatewayAddress: \"gw\" is not an IPv4"},
    {"{\"PrefixLength\":33}", "PrefixLength: must be within 0-32"},
    {"{\"PrefixLength\":-1}", "PrefixLength: must be within 0-32"},
    {"{\"PrefixLength\":\"24\"}", "PrefixLength: must be an integer"},
    {"{\"PrefixLength\":24.0}", "PrefixLength: must be an integer"},
    {"{\"PrefixLength\":99999999999999999999}", "not JSON"},
    {"{\"IPAddress\":\"10.0.0.2\",\"GatewayAddress\":\"10.0.1.1\","
     "\"PrefixLength\":24}",
     "GatewayAddress: \"10.0.1.1\" is outside 10.0.0.2/24"},
    {"{\"IPAddress\":\"10.0.0.2\",\"GatewayAddress\":\"10.0.0.2\"}",
     "GatewayAddress: \"10.0.0.2\" is the endpoint's own IPAddress"},
    {"{\"DNSServerList\":\"dns.example.com\"}", "DNSServerList"},
    {"{\"Policies\":[[]]}", "Policies[0]: must be an object"},
    {"{\"Policies\":[{\"Type\":\"ACL\"}]}",
     "Policies[0].Type: \"ACL\" is not a policy type (NAT or QOS)"},
    {"{\"Policies\":[{\"Type\":\"nat\"}]}", "Policies[0].Type: \"nat\" is not"},
    {"{\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"sctp\","
     "\"InternalPort\":80,\"ExternalPort\":8080}]}",
     "Policies[0].Protocol: \"sctp\" is not \"tcp\" or \"udp\""},
    {"{\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\","
     "\"InternalPort\":0,\"ExternalPort\":8080}]}",
     "Policies[0].InternalPort: must be within 1-65535"},
    {"{\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\","
     "\"InternalPort\":80,\"ExternalPort\":65536}]}",
     "Policies[0].ExternalPort: must be within 1-65535"},
    {"{\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\","
     "\"InternalPort\":80}]}",
     "Policies[0].ExternalPort: required field missing"},
    {"{\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\","
     "\"InternalPort\":\"80\",\"ExternalPort\":80}]}",
     "Policies[0].InternalPort: must be an integer"},
    {"{\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\","
     "\"InternalPort\":80,\"ExternalPort\":80,"
     "\"MaximumOutgoingBandwidthInBytes\":1}]}",
     "Policies[0].MaximumOutgoingBandwidthInBytes: unknown field"},
    {"{\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\","
     "\"InternalPort\":80,\"ExternalPort\":8080},{\"Type\":\"NAT\","
     "\"Protocol\":\"TCP\",\"InternalPort\":81,\"ExternalPort\":8080}]}",
     "Policies[1].ExternalPort: tcp port 8080 is mapped twice"},
    {"{\"Policies\":[{\"Type\":\"QOS\"}]}",
     "Policies[0].MaximumOutgoingBandwidthInBytes: required field missing"},
    {"{\"Policies\":[{\"Type\":\"QOS\",\"MaximumOutgoingBandwidthInBytes\":0}]"
     "}",
     "Policies[0].MaximumOutgoingBandwidthInBytes: must be within 1-"},
    {"{\"Policies\":[{\"Type\":\"QOS\",\"MaximumOutgoingBandwidthInBytes\":"
     "1.5}]}",
     "Policies[0].MaximumOutgoingBandwidthInBytes: must be an integer"},
    {"{\"Policies\":[{\"Type\":\"QOS\",\"MaximumOutgoingBandwidthInBytes\":1},"
     "{\"Type\":\"QOS\",\"MaximumOutgoingBandwidthInBytes\":2}]}",
     "Policies[1]: a second QOS policy"},
};

Test(hns_json, network_rejections_name_the_field) {
  for (size_t i = 0; i < sizeof(network_rejects) / sizeof(network_rejects[0]);
       i++) {
    hcs_hns_network_t *n = (hcs_hns_network_t *)&n;
    hcs_error_t *err = NULL;
    hcs_result_t want = want_code(network_rejects[i].needle);
    hcs_result_t r =
        hcs__hns_network_parse(network_rejects[i].doc, op, "x", &n, &err);
    cr_assert_eq(r, want, "case %zu: got 0x%x: %s", i, (unsigned)r,
                 network_rejects[i].doc);
    cr_assert_null(n, "case %zu: *out set on failure", i);
    cr_assert_eq(hcs_error_code(err), want);
    cr_assert_str_eq(hcs_error_op(err), op);
    cr_assert_not_null(strstr(hcs_error_cause(err), network_rejects[i].needle),
                       "case %zu: cause \"%s\" lacks \"%s\"", i,
                       hcs_error_cause(err), network_rejects[i].needle);
    hcs_error_free(err);
  }
}

Test(hns_json, endpoint_rejections_name_the_field) {
  for (size_t i = 0; i < sizeof(endpoint_rejects) / sizeof(endpoint_rejects[0]);
       i++) {
    hcs_hns_endpoint_t *e = (hcs_hns_endpoint_t *)&e;
    hcs_error_t *err = NULL;
    hcs_result_t want = want_code(endpoint_rejects[i].needle);
    hcs_result_t r =
        hcs__hns_endpoint_parse(endpoint_rejects[i].doc, op, "x", &e, &err);
    cr_assert_eq(r, want, "case %zu: got 0x%x: %s", i, (unsigned)r,
                 endpoint_rejects[i].doc);
    cr_assert_null(e, "case %zu: *out set on failure", i);
    cr_assert_eq(hcs_error_code(err), want);
    cr_assert_not_null(strstr(hcs_error_cause(err), endpoint_rejects[i].needle),
                       "case %zu: cause \"%s\" lacks \"%s\"", i,
                       hcs_error_cause(err), endpoint_rejects[i].needle);
    hcs_error_free(err);
  }
}

Test(hns_json, refusals_without_an_error_object) {
  hcs_hns_network_t *n = NULL;
  cr_assert_eq(hcs__hns_network_parse(NULL, op, "", &n, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs__hns_network_parse("{\"Type\":1}", op, "", &n, NULL),
               HCS_WSAEINVAL);
  cr_assert_null(n);
  hcs_hns_endpoint_t *e = NULL;
  cr_assert_eq(hcs__hns_endpoint_parse("{\"Policies\":[{\"Type\":\"QOS\"}]}",
                                       op, "", &e, NULL),
               HCS_WSAEINVAL);
  cr_assert_null(e);
}

Test(hns_json, subnets_are_bounded) {
  size_t cap = 300 * 40 + 32;
  char *doc = malloc(cap);
  cr_assert_not_null(doc);
  size_t len = (size_t)snprintf(doc, cap, "{\"Subnets\":[");
  for (int i = 0; i < 257; i++) {
    len += (size_t)snprintf(doc + len, cap - len,
                            "%s{\"AddressPrefix\":\"10.%d.%d.0/24\"}",
                            i ? "," : "", i / 256, i % 256);
  }
  snprintf(doc + len, cap - len, "]}");
  hcs_hns_network_t *n = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs__hns_network_parse(doc, op, "", &n, &err), HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_cause(err), "Subnets: at most 256"));
  hcs_error_free(err);
  free(doc);
}

Test(hns_json, ids_may_be_guids) {
  cr_assert(hcs__hns_id_valid("net_1"));
  cr_assert(hcs__hns_id_valid("5f0c1a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6"));
  cr_assert(hcs__hns_id_valid("{5f0c1a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6}"));
  cr_assert(!hcs__hns_id_valid("{5f0c1a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6"));
  cr_assert(!hcs__hns_id_valid("{net}"));
  cr_assert(!hcs__hns_id_valid(""));
  cr_assert(!hcs__hns_id_valid(NULL));
}

/* Requests. */

static hcs_t *svc;

static void svc_open(void) {
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&svc, NULL, &err), HCS_OK);
}

static void svc_close(void) { hcs_close(svc); }

typedef enum { NETWORK, LIST, ENDPOINT } kind_t;

static const char *const req_ops[] = {"hcs::HNSNetworkRequest",
                                      "hcs::HNSListNetworkRequest",
                                      "hcs::HNSEndpointRequest"};

/* Sends a request of kind k; checks nothing was handed back. */
static hcs_result_t request(kind_t k, const char *method, const char *path,
                            const char *body, hcs_error_t **err) {
  hcs_hns_network_t *n = (hcs_hns_network_t *)&n;
  hcs_hns_endpoint_t *e = (hcs_hns_endpoint_t *)&e;
  size_t count = 7;
  hcs_result_t r;
  switch (k) {
  case NETWORK:
    r = hcs_HNSNetworkRequest(svc, method, path, body, &n, err);
    cr_assert_null(n);
    break;
  case LIST:
    r = hcs_HNSListNetworkRequest(svc, method, path, body, &n, &count, err);
    cr_assert_null(n);
    cr_assert_eq(count, 0);
    break;
  default:
    r = hcs_HNSEndpointRequest(svc, method, path, body, &e, err);
    cr_assert_null(e);
    break;
  }
  return r;
}

static void expect_request_refused(kind_t k, const char *method,
                                   const char *path, const char *body,
                                   const char *needle) {
  hcs_error_t *err = NULL;
  hcs_result_t want = want_code(needle);
  hcs_result_t r = request(k, method, path, body, &err);
  cr_assert_eq(r, want, "%s %s \"%s\" got 0x%x", req_ops[k],
               method ? method : "(null)", path ? path : "(null)", (unsigned)r);
  cr_assert_str_eq(hcs_error_op(err), req_ops[k]);
  cr_assert_not_null(strstr(hcs_error_cause(err), needle),
                     "%s: cause \"%s\" lacks \"%s\"", req_ops[k],
                     hcs_error_cause(err), needle);
  hcs_error_free(err);
  cr_assert_eq(request(k, method, path, body, NULL), want);
}

/* A valid request answered by the service with code: the object named,
 * the cause holding needle, nothing handed back. */
static void expect_request_answered(kind_t k, const char *method,
                                    const char *path, const char *body,
                                    const char *object, hcs_result_t code,
                                    const char *needle) {
  hcs_error_t *err = NULL;
  hcs_result_t r = request(k, method, path, body, &err);
  cr_assert_eq(r, code, "%s %s \"%s\": %u %s", req_ops[k], method,
               path ? path : "(null)", (unsigned)r,
               err != NULL ? hcs_error_cause(err) : "");
  cr_assert_eq(hcs_error_code(err), code);
  cr_assert_str_eq(hcs_error_op(err), req_ops[k]);
  cr_assert_str_eq(hcs_error_object(err), object);
  cr_assert_not_null(strstr(hcs_error_cause(err), needle),
                     "cause \"%s\" lacks \"%s\"", hcs_error_cause(err), needle);
  hcs_error_free(err);
  cr_assert_eq(request(k, method, path, body, NULL), code);
}

static const char net_body[] =
    "{\"Name\":\"nat\",\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
    "\"172.20.0.0/16\",\"GatewayAddress\":\"172.20.0.1\"}]}";
static const char ep_body[] =
    "{\"VirtualNetworkName\":\"nat\",\"Policies\":[{\"Type\":\"NAT\","
    "\"Protocol\":\"tcp\",\"InternalPort\":80,\"ExternalPort\":8080}]}";

TestSuite(hns_request, .init = svc_open, .fini = svc_close);

Test(hns_request, valid_requests_reach_the_service) {
  const char guid[] = "{5F0C1A3E-1B2C-4D5E-8F90-A1B2C3D4E5F6}";
  const hcs_result_t nf = HCS_ERROR_NOT_FOUND;
  expect_request_answered(NETWORK, "GET", "net1", NULL, "id=net1", nf,
                          "no network has id net1");
  expect_request_answered(NETWORK, "GET", guid, "",
                          "id={5F0C1A3E-1B2C-4D5E-8F90-A1B2C3D4E5F6}", nf,
                          "no network has id");
  expect_request_answered(
      NETWORK, "POST", "",
      "{\"Type\":\"l2bridge\",\"Subnets\":[{\"AddressPrefix\":"
      "\"172.20.0.0/16\"}]}",
      "", HCS_ERROR_NOT_SUPPORTED, "Type: \"l2bridge\" networks are not");
  expect_request_answered(NETWORK, "POST", NULL, "{\"Type\":\"nat\"}", "",
                          HCS_WSAEINVAL, "Subnets: a network needs a subnet");
  expect_request_answered(NETWORK, "DELETE", "net1", NULL, "id=net1", nf,
                          "no network has id net1");
  expect_request_answered(LIST, "GET", "net1", NULL, "id=net1", nf,
                          "no network has id net1");
  expect_request_answered(ENDPOINT, "GET", "ep1", NULL, "id=ep1", nf,
                          "no endpoint has id ep1");
  expect_request_answered(ENDPOINT, "POST", "", ep_body, "", nf,
                          "VirtualNetworkName: no network is named \"nat\"");
  expect_request_answered(ENDPOINT, "DELETE", "ep1", "", "id=ep1", nf,
                          "no endpoint has id ep1");
  /* An empty service lists nothing. */
  hcs_hns_network_t *v = (hcs_hns_network_t *)&v;
  size_t n = 7;
  cr_assert_eq(hcs_HNSListNetworkRequest(svc, "GET", "", NULL, &v, &n, NULL),
               HCS_OK);
  cr_assert_null(v);
  cr_assert_eq(n, 0);
  cr_assert_eq(hcs_HNSListNetworkRequest(svc, "GET", NULL, "", &v, &n, NULL),
               HCS_OK);
}

Test(hns_request, methods_are_get_post_delete_exactly) {
  static const char *const bad[] = {NULL,  "",     "get",   "Post",
                                    "PUT", "GET ", "PATCH", "DELETEX"};
  for (kind_t k = NETWORK; k <= ENDPOINT; k++) {
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      expect_request_refused(k, bad[i], "x", NULL, "method: must be");
    }
  }
  expect_request_refused(LIST, "POST", "", net_body, "method: a list request");
  expect_request_refused(LIST, "DELETE", "net1", NULL, "method: a list");
}

Test(hns_request, paths_are_ids_or_guids) {
  static const char *const bad[] = {
      "../x", "a/b", ".x", "-x", "a b", "{net1}", "/networks/net1"};
  for (kind_t k = NETWORK; k <= ENDPOINT; k++) {
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      expect_request_refused(k, "GET", bad[i], NULL, "path: must be \"\"");
      if (k != LIST) {
        expect_request_refused(k, "DELETE", bad[i], NULL, "path: must be");
      }
    }
  }
}

Test(hns_request, each_method_has_its_path_and_body) {
  expect_request_refused(NETWORK, "GET", "", NULL,
                         "path: GET of one network needs its id (list "
                         "networks with hcs_HNSListNetworkRequest)");
  expect_request_refused(NETWORK, "GET", NULL, NULL, "path: GET of one");
  expect_request_refused(ENDPOINT, "GET", "", NULL,
                         "path: GET of an endpoint needs its id");
  for (kind_t k = NETWORK; k <= ENDPOINT; k++) {
    expect_request_refused(k, "GET", "x", "{}", "request: GET takes no body");
    if (k == LIST) {
      continue;
    }
    const char *body = k == NETWORK ? net_body : ep_body;
    expect_request_refused(k, "POST", "x", body, "path: POST creates at \"\"");
    expect_request_refused(k, "POST", "", NULL, "request: POST needs");
    expect_request_refused(k, "POST", "", "", "request: POST needs");
    expect_request_refused(k, "DELETE", "", NULL, "path: DELETE needs an id");
    expect_request_refused(k, "DELETE", "x", "{}",
                           "request: DELETE takes no body");
  }
}

Test(hns_request, post_bodies_are_parsed_strictly) {
  expect_request_refused(NETWORK, "POST", "", "{\"Type\":\"nat\",", "not JSON");
  expect_request_refused(NETWORK, "POST", "",
                         "{\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
                         "\"10.0.0.0/8\"},{\"AddressPrefix\":\"10.0.0.0\"}]}",
                         "Subnets[1].AddressPrefix: \"10.0.0.0\" is not");
  expect_request_refused(NETWORK, "POST", "", "{\"Name\":\"n\"}",
                         "Type: required to create a network");
  expect_request_refused(ENDPOINT, "POST", "",
                         "{\"VirtualNetwork\":\"n\",\"Policies\":[{\"Type\":"
                         "\"NAT\",\"Protocol\":\"tcp\",\"InternalPort\":80}]}",
                         "Policies[0].ExternalPort: required field missing");
  expect_request_refused(ENDPOINT, "POST", "", "{\"Name\":\"e\"}",
                         "VirtualNetwork: required to create an endpoint");
  /* A network body is not an endpoint. */
  expect_request_refused(ENDPOINT, "POST", "", net_body, "Type: unknown field");
}

Test(hns_request, arguments_must_be_given) {
  hcs_error_t *err = NULL;
  hcs_hns_network_t *n = NULL;
  hcs_hns_endpoint_t *e = NULL;
  size_t count = 0;
  cr_assert_eq(hcs_HNSNetworkRequest(NULL, "GET", "x", NULL, &n, &err),
               HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_cause(err), "hcs: is NULL"));
  hcs_error_free(err);
  cr_assert_eq(
      hcs_HNSListNetworkRequest(NULL, "GET", "", NULL, &n, &count, NULL),
      HCS_WSAEINVAL);
  cr_assert_eq(hcs_HNSEndpointRequest(NULL, "GET", "x", NULL, &e, NULL),
               HCS_WSAEINVAL);

  cr_assert_eq(hcs_HNSNetworkRequest(svc, "GET", "x", NULL, NULL, &err),
               HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_cause(err), "out: is NULL"));
  hcs_error_free(err);
  /* DELETE answers nothing: no out is needed (hcsshim passed none). */
  cr_assert_eq(hcs_HNSEndpointRequest(svc, "DELETE", "x", NULL, NULL, &err),
               HCS_ERROR_NOT_FOUND);
  cr_assert_not_null(strstr(hcs_error_cause(err), "no endpoint has id x"));
  hcs_error_free(err);
  cr_assert_eq(
      hcs_HNSListNetworkRequest(svc, "GET", "", NULL, NULL, &count, &err),
      HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_cause(err), "out: is NULL"));
  hcs_error_free(err);
  cr_assert_eq(hcs_HNSListNetworkRequest(svc, "GET", "", NULL, &n, NULL, &err),
               HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_cause(err), "n: is NULL"));
  hcs_error_free(err);
}
