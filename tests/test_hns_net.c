/* SPDX-License-Identifier: MIT */
/* HNS networks and endpoints through the public requests, on the real
 * kernel: what a network and an endpoint become (a bridge, a veth pair),
 * address and MAC pools that allocate, run out with a clear error and
 * free on delete, every bad request refused with nothing changed, and a
 * service restarted on its state directory that still knows (and mends)
 * its objects. */
#include "test_hns_util.h"

TestSuite(hns_net, .init = tn_setup, .fini = tn_teardown, .timeout = 60);

static size_t network_count(void) {
  hcs_hns_network_t *v = NULL;
  size_t n = 0;
  cr_assert_eq(hcs_HNSListNetworkRequest(tn.hcs, "GET", "", NULL, &v, &n, NULL),
               HCS_OK);
  hcs_hns_networks_free(v, n);
  return n;
}

static void delete_ok(int endpoint, const char *id) {
  hcs_error_t *err = NULL;
  hcs_result_t r;
  if (endpoint) {
    hcs_hns_endpoint_t *e = NULL;
    r = hcs_HNSEndpointRequest(tn.hcs, "DELETE", id, NULL, &e, &err);
    cr_assert_null(e);
  } else {
    hcs_hns_network_t *n = NULL;
    r = hcs_HNSNetworkRequest(tn.hcs, "DELETE", id, NULL, &n, &err);
    cr_assert_null(n);
  }
  cr_assert_eq(r, HCS_OK, "delete %s: %s", id,
               err != NULL ? hcs_error_message(err) : "");
}

static void get_not_found(int endpoint, const char *id) {
  hcs_error_t *err = NULL;
  hcs_result_t r;
  if (endpoint) {
    hcs_hns_endpoint_t *e = NULL;
    r = hcs_HNSEndpointRequest(tn.hcs, "GET", id, NULL, &e, &err);
  } else {
    hcs_hns_network_t *n = NULL;
    r = hcs_HNSNetworkRequest(tn.hcs, "GET", id, NULL, &n, &err);
  }
  tn_expect(r, err, HCS_ERROR_NOT_FOUND, "has id");
}

Test(hns_net, network_and_endpoint_lifecycle) {
  char net[64], ep[64], body[512];
  tn_net(tn_id("life-net", net, sizeof(net)),
         "{\"Name\":\"lifenet\",\"Type\":\"NAT\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.204.1.0/24\",\"GatewayAddress\":"
         "\"10.204.1.254\"}],\"MacPools\":[{\"StartMacAddress\":"
         "\"00-15-5D-11-00-00\",\"EndMacAddress\":\"00-15-5D-11-00-0F\"}],"
         "\"DNSServerList\":\"10.204.1.254\",\"DNSSuffix\":\"life.example\"");
  cr_assert(tn_link_exists("hcs", net), "no bridge for the network");

  hcs_hns_network_t *n = NULL;
  cr_assert_eq(hcs_HNSNetworkRequest(tn.hcs, "GET", net, NULL, &n, NULL),
               HCS_OK);
  cr_assert_str_eq(n->type, "nat");
  cr_assert_str_eq(n->subnets[0].gateway_address, "10.204.1.254");
  hcs_hns_network_free(n);

  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  hcs_hns_endpoint_t *e = tn_ep(tn_id("life-ep", ep, sizeof(ep)), body);
  cr_assert_str_eq(e->ip_address, "10.204.1.1");
  cr_assert_str_eq(e->mac_address, "00-15-5D-11-00-00");
  cr_assert_str_eq(e->gateway_address, "10.204.1.254");
  cr_assert_eq(e->prefix_length, 24);
  cr_assert_str_eq(e->virtual_network, net);
  cr_assert_str_eq(e->virtual_network_name, "lifenet");
  cr_assert_str_eq(e->dns_server_list, "10.204.1.254");
  cr_assert_str_eq(e->dns_suffix, "life.example");
  cr_assert_str_eq(e->name, ep);
  hcs_hns_endpoint_free(e);
  cr_assert(tn_link_exists("hcsv", ep) && tn_link_exists("hcsp", ep));

  e = NULL;
  cr_assert_eq(hcs_HNSEndpointRequest(tn.hcs, "GET", ep, NULL, &e, NULL),
               HCS_OK);
  cr_assert_str_eq(e->ip_address, "10.204.1.1");
  hcs_hns_endpoint_free(e);

  delete_ok(1, ep);
  cr_assert(!tn_link_exists("hcsv", ep) && !tn_link_exists("hcsp", ep));
  get_not_found(1, ep);
  delete_ok(0, net);
  cr_assert(!tn_link_exists("hcs", net), "the bridge stays");
  get_not_found(0, net);
  cr_assert_eq(network_count(), 0);
}

Test(hns_net, ids_are_given_when_missing_and_guids_match_in_any_form) {
  hcs_hns_network_t *n = NULL;
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_HNSNetworkRequest(
      tn.hcs, "POST", "",
      "{\"Type\":\"internal\",\"Subnets\":[{\"AddressPrefix\":"
      "\"10.204.2.0/24\"}]}",
      &n, &err);
  cr_assert_eq(r, HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  snprintf(tn.nets[tn.n_nets++], sizeof(tn.nets[0]), "%s", n->id);
  hcs_guid_t g;
  cr_assert_eq(hcs_guid_parse(n->id, &g, NULL), HCS_OK, "%s", n->id);
  cr_assert_str_eq(n->name, n->id);
  char braced[64];
  snprintf(braced, sizeof(braced), "{%s}", n->id);
  for (char *p = braced; *p != '\0'; p++) {
    *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
  }
  hcs_hns_network_t *same = NULL;
  cr_assert_eq(hcs_HNSNetworkRequest(tn.hcs, "GET", braced, NULL, &same, NULL),
               HCS_OK);
  cr_assert_str_eq(same->id, n->id);
  hcs_hns_network_free(same);

  char body[256];
  snprintf(body, sizeof(body), "{\"VirtualNetworkName\":\"%s\"}", n->name);
  hcs_hns_endpoint_t *e = NULL;
  cr_assert_eq(hcs_HNSEndpointRequest(tn.hcs, "POST", "", body, &e, NULL),
               HCS_OK);
  snprintf(tn.eps[tn.n_eps++], sizeof(tn.eps[0]), "%s", e->id);
  cr_assert_eq(hcs_guid_parse(e->id, &g, NULL), HCS_OK);
  /* No MacPools: a locally administered MAC made of the address. */
  cr_assert_str_eq(e->mac_address, "02-15-0A-CC-02-02");
  delete_ok(1, e->id);
  delete_ok(0, braced);
  hcs_hns_endpoint_free(e);
  hcs_hns_network_free(n);
}

Test(hns_net, pools_allocate_run_out_and_free_on_delete) {
  char net[64], body[512], id[6][64];
  /* A /29: .1 is the gateway, .2-.6 are endpoints'; 3 MACs. */
  tn_net(tn_id("pool-net", net, sizeof(net)),
         "{\"Name\":\"poolnet\",\"Type\":\"internal\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.204.3.0/29\"}],\"MacPools\":[{"
         "\"StartMacAddress\":\"00-15-5D-22-00-01\",\"EndMacAddress\":"
         "\"00-15-5D-22-00-03\"}]");
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  static const char *const want_mac[] = {
      "00-15-5D-22-00-01", "00-15-5D-22-00-02", "00-15-5D-22-00-03"};
  for (int i = 0; i < 3; i++) {
    char stem[16];
    snprintf(stem, sizeof(stem), "pool-%d", i);
    hcs_hns_endpoint_t *e = tn_ep(tn_id(stem, id[i], sizeof(id[i])), body);
    char ip[16];
    snprintf(ip, sizeof(ip), "10.204.3.%d", i + 2);
    cr_assert_str_eq(e->ip_address, ip);
    cr_assert_str_eq(e->mac_address, want_mac[i]);
    hcs_hns_endpoint_free(e);
  }
  hcs_error_t *err = NULL;
  hcs_hns_endpoint_t *e = NULL;
  hcs_result_t r =
      tn_ep_try(tn_id("pool-3", id[3], sizeof(id[3])), body, &e, &err);
  tn_expect(r, err, HCS_ERROR_NO_MORE_ITEMS, "MacAddress: every MAC");
  cr_assert_null(e);
  cr_assert(!tn_link_exists("hcsv", id[3]));

  /* The freed address and MAC are the next ones handed out. */
  delete_ok(1, id[1]);
  e = tn_ep(id[3], body);
  cr_assert_str_eq(e->ip_address, "10.204.3.3");
  cr_assert_str_eq(e->mac_address, "00-15-5D-22-00-02");
  hcs_hns_endpoint_free(e);

  /* Addresses: a MAC given from the pool's range is free only once. */
  char body2[512];
  snprintf(body2, sizeof(body2),
           "{\"VirtualNetwork\":\"%s\",\"MacAddress\":\"00:15:5d:22:00:02\"",
           net);
  err = NULL;
  r = tn_ep_try(tn_id("pool-4", id[4], sizeof(id[4])), body2, &e, &err);
  tn_expect(r, err, HCS_WSAEINVAL, "MacAddress: 00-15-5D-22-00-02 is in use");
  for (int i = 0; i < 4; i++) {
    if (i != 1) {
      delete_ok(1, id[i]);
    }
  }
  delete_ok(0, net);
}

Test(hns_net, addresses_run_out_with_a_clear_error) {
  char net[64], body[256], id[6][64];
  tn_net(tn_id("ip-net", net, sizeof(net)),
         "{\"Name\":\"ipnet\",\"Type\":\"nat\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.204.4.0/29\"}]");
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  for (int i = 0; i < 5; i++) {
    char stem[16];
    snprintf(stem, sizeof(stem), "ip-%d", i);
    hcs_hns_endpoint_free(tn_ep(tn_id(stem, id[i], sizeof(id[i])), body));
  }
  hcs_error_t *err = NULL;
  hcs_hns_endpoint_t *e = NULL;
  hcs_result_t r =
      tn_ep_try(tn_id("ip-5", id[5], sizeof(id[5])), body, &e, &err);
  tn_expect(r, err, HCS_ERROR_NO_MORE_ITEMS,
            "IPAddress: every address of network \"ipnet\" (10.204.4.0/29) "
            "is taken");
  delete_ok(1, id[4]);
  e = tn_ep(id[5], body);
  cr_assert_str_eq(e->ip_address, "10.204.4.6");
  hcs_hns_endpoint_free(e);
}

/* A request refused with code and needle, after which the service holds
 * what it held before. */
#define REFUSED(call, code, needle)                                            \
  do {                                                                         \
    hcs_error_t *err_ = NULL;                                                  \
    hcs_result_t r_ = (call);                                                  \
    tn_expect(r_, err_, code, needle);                                         \
  } while (0)

Test(hns_net, bad_requests_are_refused_and_change_nothing) {
  char net[64], ep[64], other[64], body[512], hostnet[64];
  hcs_hns_network_t *n = NULL;
  hcs_hns_endpoint_t *e = NULL;
  tn_net(tn_id("bad-net", net, sizeof(net)),
         "{\"Name\":\"badnet\",\"Type\":\"nat\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.204.5.0/24\"}],\"MacPools\":[{"
         "\"StartMacAddress\":\"00-15-5D-33-00-00\",\"EndMacAddress\":"
         "\"00-15-5D-33-00-FF\"}]");
  snprintf(body, sizeof(body),
           "{\"VirtualNetwork\":\"%s\",\"Policies\":[{\"Type\":\"NAT\","
           "\"Protocol\":\"tcp\",\"InternalPort\":80,\"ExternalPort\":%d}]",
           net, 23000 + (int)(getpid() % 4000));
  hcs_hns_endpoint_free(tn_ep(tn_id("bad-ep", ep, sizeof(ep)), body));

  /* A subnet of the host's: a bridge of this test's with an address. */
  hcs__nl_t *nl = NULL;
  char br[HCS__IFNAMSIZ];
  tn_id("bad-host", hostnet, sizeof(hostnet));
  snprintf(tn.nets[tn.n_nets++], sizeof(tn.nets[0]), "%s", hostnet);
  hcs__hns_link_name("hcs", hostnet, br);
  cr_assert_eq(hcs__nl_open(&nl), 0);
  cr_assert_eq(hcs__nl_bridge_add(nl, br), 0);
  cr_assert_eq(hcs__nl_addr_add(nl, br, 0x0acc0601, 24), 0); /* 10.204.6.1 */
  cr_assert_eq(hcs__nl_link_up(nl, br), 0);
  hcs__nl_close(nl);

  tn_id("bad-other", other, sizeof(other));
  REFUSED(tn_net_try(other,
                     "{\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
                     "\"10.204.0.0/16\"}]",
                     &n, &err_),
          HCS_WSAEINVAL,
          "Subnets[0].AddressPrefix: \"10.204.0.0/16\" overlaps "
          "10.204.5.0/24 of network \"badnet\"");
  REFUSED(tn_net_try(other,
                     "{\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
                     "\"10.204.6.128/25\"}]",
                     &n, &err_),
          HCS_WSAEINVAL, "overlaps a route of the host (through hcs");
  REFUSED(tn_net_try(net,
                     "{\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
                     "\"10.204.7.0/24\"}]",
                     &n, &err_),
          HCS_ERROR_ALREADY_EXISTS, "a network with id");
  REFUSED(tn_net_try(other,
                     "{\"Name\":\"badnet\",\"Type\":\"nat\",\"Subnets\":[{"
                     "\"AddressPrefix\":\"10.204.7.0/24\"}]",
                     &n, &err_),
          HCS_ERROR_ALREADY_EXISTS, "Name: a network named \"badnet\"");
  REFUSED(tn_net_try(other,
                     "{\"Type\":\"transparent\",\"Subnets\":[{"
                     "\"AddressPrefix\":\"10.204.7.0/24\"}]",
                     &n, &err_),
          HCS_ERROR_NOT_SUPPORTED, "Type: \"transparent\" networks are not");
  REFUSED(tn_net_try(other, "{\"Type\":\"nat\"", &n, &err_), HCS_WSAEINVAL,
          "Subnets: a network needs a subnet");
  REFUSED(tn_net_try(other,
                     "{\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
                     "\"10.204.7.0/31\"}]",
                     &n, &err_),
          HCS_WSAEINVAL, "leaves no room");
  REFUSED(tn_net_try(other,
                     "{\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
                     "\"10.204.7.0/24\",\"GatewayAddress\":\"10.204.7.255\"}]",
                     &n, &err_),
          HCS_WSAEINVAL, "GatewayAddress: \"10.204.7.255\" is the network");
  REFUSED(tn_net_try(other,
                     "{\"Type\":\"nat\",\"Policies\":[{\"Type\":\"VLAN\"}],"
                     "\"Subnets\":[{\"AddressPrefix\":\"10.204.7.0/24\"}]",
                     &n, &err_),
          HCS_ERROR_NOT_SUPPORTED, "Policies: hcs applies no network");
  cr_assert(!tn_link_exists("hcs", other));

  char ebody[1024], eid[64];
  tn_id("bad-ep2", eid, sizeof(eid));
#define EP_REFUSED(fields, code, needle)                                       \
  do {                                                                         \
    snprintf(ebody, sizeof(ebody), "{\"VirtualNetwork\":\"%s\"%s", net,        \
             fields);                                                          \
    REFUSED(tn_ep_try(eid, ebody, &e, &err_), code, needle);                   \
    cr_assert_null(e);                                                         \
  } while (0)
  EP_REFUSED(",\"IPAddress\":\"10.204.9.5\"", HCS_WSAEINVAL,
             "IPAddress: \"10.204.9.5\" is outside the subnets of network "
             "\"badnet\" (10.204.5.0/24)");
  EP_REFUSED(",\"IPAddress\":\"10.204.5.1\"", HCS_WSAEINVAL,
             "is the network, broadcast or gateway address");
  EP_REFUSED(",\"IPAddress\":\"10.204.5.2\"", HCS_WSAEINVAL,
             "IPAddress: \"10.204.5.2\" is in use by endpoint");
  EP_REFUSED(",\"MacAddress\":\"00-15-5D-34-00-00\"", HCS_WSAEINVAL,
             "MacAddress: \"00-15-5D-34-00-00\" is outside the MacPools");
  EP_REFUSED(",\"PrefixLength\":16", HCS_WSAEINVAL,
             "PrefixLength: 16 is not that of");
  EP_REFUSED(",\"IPAddress\":\"10.204.5.9\",\"GatewayAddress\":\"10.204.5.7\","
             "\"PrefixLength\":24",
             HCS_WSAEINVAL,
             "GatewayAddress: \"10.204.5.7\" is not the gateway");
  char fields[256];
  snprintf(fields, sizeof(fields),
           ",\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"TCP\","
           "\"InternalPort\":81,\"ExternalPort\":%d}]",
           23000 + (int)(getpid() % 4000));
  EP_REFUSED(fields, HCS_WSAEINVAL, "is mapped already, to endpoint");
  EP_REFUSED(",\"VirtualNetworkName\":\"other\"", HCS_WSAEINVAL,
             "VirtualNetworkName: \"other\" is not the name of network");
  REFUSED(tn_ep_try(eid, "{\"VirtualNetwork\":\"nosuch\"", &e, &err_),
          HCS_ERROR_NOT_FOUND, "VirtualNetwork: no network has id nosuch");
  REFUSED(tn_ep_try(eid, "{\"VirtualNetworkName\":\"nosuch\"", &e, &err_),
          HCS_ERROR_NOT_FOUND, "no network is named \"nosuch\"");
  snprintf(ebody, sizeof(ebody), "{\"VirtualNetwork\":\"%s\"", net);
  REFUSED(tn_ep_try(ep, ebody, &e, &err_), HCS_ERROR_ALREADY_EXISTS,
          "an endpoint with id");
  cr_assert(!tn_link_exists("hcsv", eid));

  REFUSED(hcs_HNSNetworkRequest(tn.hcs, "DELETE", net, NULL, &n, &err_),
          HCS_WSAEINVAL, "still has 1 endpoint(s)");
  REFUSED(hcs_HNSNetworkRequest(tn.hcs, "DELETE", "nosuch", NULL, &n, &err_),
          HCS_ERROR_NOT_FOUND, "no network has id nosuch");
  REFUSED(hcs_HNSEndpointRequest(tn.hcs, "DELETE", "nosuch", NULL, &e, &err_),
          HCS_ERROR_NOT_FOUND, "no endpoint has id nosuch");
  REFUSED(hcs_HNSNetworkRequest(tn.hcs, "PUT", net, NULL, &n, &err_),
          HCS_WSAEINVAL, "method: must be");
  cr_assert(tn_link_exists("hcs", net) && tn_link_exists("hcsv", ep));
  cr_assert_eq(network_count(), 1);

  /* Mappings need a nat network. */
  char inet[64];
  tn_net(tn_id("bad-int", inet, sizeof(inet)),
         "{\"Name\":\"badint\",\"Type\":\"internal\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.204.8.0/24\"}]");
  snprintf(ebody, sizeof(ebody),
           "{\"VirtualNetwork\":\"%s\",\"Policies\":[{\"Type\":\"NAT\","
           "\"Protocol\":\"udp\",\"InternalPort\":1,\"ExternalPort\":2}]",
           inet);
  REFUSED(tn_ep_try(eid, ebody, &e, &err_), HCS_WSAEINVAL,
          "NAT port mappings need a network of Type \"nat\"");
  delete_ok(1, ep);
  delete_ok(0, net);
  delete_ok(0, inet);
}

Test(hns_net, a_restarted_service_keeps_and_mends_its_objects) {
  char net[64], e1[64], e2[64], body[512];
  tn_net(tn_id("rs-net", net, sizeof(net)),
         "{\"Name\":\"rsnet\",\"Type\":\"nat\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.204.10.0/24\"}]");
  snprintf(body, sizeof(body),
           "{\"VirtualNetwork\":\"%s\",\"Policies\":[{\"Type\":\"NAT\","
           "\"Protocol\":\"udp\",\"InternalPort\":53,\"ExternalPort\":%d},{"
           "\"Type\":\"QOS\",\"MaximumOutgoingBandwidthInBytes\":100000}]",
           net, 24000 + (int)(getpid() % 4000));
  hcs_hns_endpoint_t *before = tn_ep(tn_id("rs-1", e1, sizeof(e1)), body);
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  hcs_hns_endpoint_free(tn_ep(tn_id("rs-2", e2, sizeof(e2)), body));
  tn_close();

  /* What a reboot or a dead system takes away while no hcs runs. */
  char name[HCS__IFNAMSIZ];
  hcs__nl_t *nl = NULL;
  cr_assert_eq(hcs__nl_open(&nl), 0);
  hcs__hns_link_name("hcsv", e1, name);
  cr_assert_eq(hcs__nl_link_del(nl, name), 0);
  hcs__nl_close(nl);

  tn_open();
  cr_assert_eq(network_count(), 1);
  hcs_hns_endpoint_t *after = NULL;
  cr_assert_eq(hcs_HNSEndpointRequest(tn.hcs, "GET", e1, NULL, &after, NULL),
               HCS_OK);
  char *a = hcs_hns_endpoint_json(before), *b = hcs_hns_endpoint_json(after);
  cr_assert_str_eq(a, b);
  hcs_free(a);
  hcs_free(b);
  hcs_hns_endpoint_free(before);
  hcs_hns_endpoint_free(after);
  cr_assert(tn_link_exists("hcsv", e1) && tn_link_exists("hcsp", e1),
            "the lost pair was not made again");

  /* The allocations are known: the next address is .4, not a taken one. */
  char e3[64];
  hcs_hns_endpoint_t *e = tn_ep(tn_id("rs-3", e3, sizeof(e3)), body);
  cr_assert_str_eq(e->ip_address, "10.204.10.4");
  hcs_hns_endpoint_free(e);

  delete_ok(1, e1);
  delete_ok(1, e2);
  delete_ok(1, e3);
  delete_ok(0, net);
  char hns_dir[128];
  snprintf(hns_dir, sizeof(hns_dir), "%s/hns", tn.dir);
  cr_assert_eq(rmdir(hns_dir), 0, "records are left in %s", hns_dir);
}

Test(hns_net, a_service_without_state_takes_its_networks_down) {
  tn_close();
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&tn.hcs, NULL, &err), HCS_OK);
  char net[64], ep[64], body[256];
  tn_net(tn_id("mem-net", net, sizeof(net)),
         "{\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
         "\"10.204.11.0/24\"}]");
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  hcs_hns_endpoint_free(tn_ep(tn_id("mem-ep", ep, sizeof(ep)), body));
  cr_assert(tn_link_exists("hcs", net) && tn_link_exists("hcsv", ep));
  tn_close();
  cr_assert(!tn_link_exists("hcs", net) && !tn_link_exists("hcsv", ep),
            "links outlive the service that alone knew them");
}
