/* SPDX-License-Identifier: MIT */
/* A network's bridge deleted behind hcs (`ip link del`) is made again with
 * every endpoint's host end a port of it again, running systems' too: at
 * the next open of the state directory, and at the next request that
 * needs the bridge while the service runs. And subnets in ranges no
 * network of endpoints may hold (loopback, multicast, 0.0.0.0/8,
 * link-local, the reserved block with the broadcast address) are refused
 * naming the field. Each test runs in a network namespace of its own, so
 * its bridges and pairs never meet the host's; the "running system" is a
 * child in a namespace of its own holding the endpoint's other end. */
#include "test_hns_util.h"

static void own_netns_setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("HNS networks need root (bridges, veth pairs, nftables)");
  }
  cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
  tn_setup();
}

TestSuite(hns_rebridge, .init = own_netns_setup, .fini = tn_teardown,
          .timeout = 60);

/* The kid holds its namespace (and so the endpoint's p end) until the
 * teardown kills it. */
static int kid_hold(int out, void *arg) {
  (void)out;
  (void)arg;
  for (;;) {
    pause();
  }
  return 0;
}

/* The index of the bridge the endpoint's host end is a port of (0: none). */
static int port_master(const char *ep) {
  char name[HCS__IFNAMSIZ];
  hcs__hns_link_name("hcsv", ep, name);
  hcs__nl_t *nl = NULL;
  cr_assert_eq(hcs__nl_open(&nl), 0);
  int r = hcs__nl_link_master(nl, name);
  hcs__nl_close(nl);
  cr_assert_geq(r, 0, "%s: %s", name, strerror(-r));
  return r;
}

static void delete_bridge(const char *net) {
  char name[HCS__IFNAMSIZ];
  hcs__hns_link_name("hcs", net, name);
  hcs__nl_t *nl = NULL;
  cr_assert_eq(hcs__nl_open(&nl), 0);
  cr_assert_eq(hcs__nl_link_del(nl, name), 0);
  hcs__nl_close(nl);
  cr_assert_eq(tn_link_index("hcs", net), -ENODEV);
}

/* A nat network with an endpoint attached to a kid, as a running system's
 * is; its bridge then deleted behind hcs. */
static void attached_then_bridge_gone(const char *net, const char *ep,
                                      const char *prefix, tn_kid_t *k) {
  char body[256];
  snprintf(body, sizeof(body),
           "{\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":\"%s\"}]",
           prefix);
  tn_net(net, body);
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  hcs_hns_endpoint_free(tn_ep(ep, body));
  tn_kid_start(k, kid_hold, NULL);
  tn_attach(ep, k, "eth0");
  tn_kid_go(k);
  cr_assert_eq(port_master(ep), tn_link_index("hcs", net));
  delete_bridge(net);
  cr_assert_eq(port_master(ep), 0, "the port survived its bridge");
}

Test(hns_rebridge, reopening_makes_the_bridge_with_its_ports) {
  char net[64], ep[64];
  tn_id("rb1-net", net, sizeof(net));
  tn_id("rb1-ep", ep, sizeof(ep));
  tn_kid_t k;
  attached_then_bridge_gone(net, ep, "10.231.1.0/24", &k);
  tn_close();
  tn_open();
  int bridge = tn_link_index("hcs", net);
  cr_assert_gt(bridge, 0, "the bridge was not made again");
  cr_assert_eq(port_master(ep), bridge,
               "the running system's host end is not a port of the new "
               "bridge");
}

Test(hns_rebridge, a_running_service_mends_the_bridge_when_it_needs_it) {
  char net[64], ep[64], ep2[64], body[128];
  tn_id("rb2-net", net, sizeof(net));
  tn_id("rb2-ep", ep, sizeof(ep));
  tn_id("rb2-ep2", ep2, sizeof(ep2));
  tn_kid_t k, k2;
  attached_then_bridge_gone(net, ep, "10.231.2.0/24", &k);
  /* A new endpoint, and a second system taking it. */
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  hcs_hns_endpoint_free(tn_ep(ep2, body));
  int bridge = tn_link_index("hcs", net);
  cr_assert_gt(bridge, 0, "the bridge was not made again");
  cr_assert_eq(port_master(ep), bridge, "the first system's end is off it");
  cr_assert_eq(port_master(ep2), bridge);
  delete_bridge(net);
  tn_kid_start(&k2, kid_hold, NULL);
  tn_attach(ep2, &k2, "eth0");
  tn_kid_go(&k2);
  bridge = tn_link_index("hcs", net);
  cr_assert_gt(bridge, 0, "attach did not make the bridge again");
  cr_assert_eq(port_master(ep), bridge);
  cr_assert_eq(port_master(ep2), bridge);
}

Test(hns_rebridge, subnets_in_reserved_ranges_are_refused) {
  static const struct {
    const char *prefix, *range;
  } cases[] = {
      {"127.0.0.0/8", "127.0.0.0/8"},       {"127.3.4.0/24", "127.0.0.0/8"},
      {"224.1.2.0/24", "224.0.0.0/4"},      {"239.255.0.0/16", "224.0.0.0/4"},
      {"0.0.0.0/8", "0.0.0.0/8"},           {"0.1.2.0/24", "0.0.0.0/8"},
      {"169.254.9.0/24", "169.254.0.0/16"}, {"255.255.255.0/30", "240.0.0.0/4"},
      {"240.0.0.0/24", "240.0.0.0/4"},      {"96.0.0.0/3", "127.0.0.0/8"},
      {"0.0.0.0/0", "0.0.0.0/8"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char id[64], body[256], stem[32];
    snprintf(stem, sizeof(stem), "rb3-%zu", i);
    snprintf(body, sizeof(body),
             "{\"Type\":\"internal\",\"Subnets\":[{\"AddressPrefix\":\"%s\"}]",
             cases[i].prefix);
    hcs_hns_network_t *n = NULL;
    hcs_error_t *err = NULL;
    hcs_result_t r = tn_net_try(tn_id(stem, id, sizeof(id)), body, &n, &err);
    cr_assert_null(n, "%s was accepted", cases[i].prefix);
    char want[128];
    snprintf(want, sizeof(want), "Subnets[0].AddressPrefix: \"%s\" overlaps %s",
             cases[i].prefix, cases[i].range);
    tn_expect(r, err, HCS_WSAEINVAL, want);
    cr_assert_eq(tn_link_index("hcs", id), -ENODEV, "%s left a bridge",
                 cases[i].prefix);
  }
  /* A private range next to them is fine. */
  char id[64];
  tn_net(tn_id("rb3-ok", id, sizeof(id)),
         "{\"Type\":\"internal\",\"Subnets\":[{\"AddressPrefix\":"
         "\"10.231.3.0/24\"}]");
}
