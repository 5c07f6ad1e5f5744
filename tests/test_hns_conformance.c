/* SPDX-License-Identifier: MIT */
/* HNS as hcsshim's callers saw it: ids are upper-case GUIDs and MACs
 * "00-15-5D-xx-xx-xx" whatever form a request used (and an id is found
 * in any form); DELETE takes no output pointer (hcsshim passed none);
 * a refusal reads "HNS failed with error : ...", the text hcsshim made of
 * HNS's answer envelope. Real bridges and pairs: needs root. */
#include "test_hns_util.h"

#include <ctype.h>

TestSuite(hns_conformance, .init = tn_setup, .fini = tn_teardown,
          .timeout = 60);

static void expect_upper_guid(const char *id) {
  cr_assert_not_null(id);
  cr_assert_eq(strlen(id), 36, "%s", id);
  hcs_guid_t g;
  cr_assert_eq(hcs_guid_parse(id, &g, NULL), HCS_OK, "%s", id);
  for (const char *p = id; *p != '\0'; p++) {
    cr_assert(!islower((unsigned char)*p), "%s is not upper-case", id);
  }
}

static void lower(const char *in, char *out, size_t n) {
  size_t i = 0;
  for (; in[i] != '\0' && i + 1 < n; i++) {
    out[i] = (char)tolower((unsigned char)in[i]);
  }
  out[i] = '\0';
}

Test(hns_conformance, ids_and_macs_in_hns_forms) {
  tn_open();
  hcs_hns_network_t *n = NULL;
  hcs_error_t *err = NULL;
  /* No Id: HNS makes one. MACs in another case and separator. */
  hcs_result_t r = hcs_HNSNetworkRequest(
      tn.hcs, "POST", "",
      "{\"Name\":\"confnet\",\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
      "\"10.213.1.0/24\"}],\"MacPools\":[{\"StartMacAddress\":"
      "\"00:15:5d:2a:00:00\",\"EndMacAddress\":\"00-15-5d-2a-00-0f\"}]}",
      &n, &err);
  cr_assert_eq(r, HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  snprintf(tn.nets[tn.n_nets++], sizeof(tn.nets[0]), "%s", n->id);
  expect_upper_guid(n->id);
  cr_assert_str_eq(n->mac_pools[0].start_mac_address, "00-15-5D-2A-00-00");
  cr_assert_str_eq(n->mac_pools[0].end_mac_address, "00-15-5D-2A-00-0F");
  char net[64], net_lower[64];
  snprintf(net, sizeof(net), "%s", n->id);
  lower(net, net_lower, sizeof(net_lower));
  hcs_hns_network_free(n);
  /* Found by any form of its id. */
  n = NULL;
  cr_assert_eq(hcs_HNSNetworkRequest(tn.hcs, "GET", net_lower, NULL, &n, NULL),
               HCS_OK);
  cr_assert_str_eq(n->id, net);
  hcs_hns_network_free(n);

  char body[256];
  snprintf(body, sizeof(body),
           "{\"VirtualNetwork\":\"%s\",\"MacAddress\":\"00:15:5d:2a:00:05\"}",
           net_lower);
  hcs_hns_endpoint_t *e = NULL;
  r = hcs_HNSEndpointRequest(tn.hcs, "POST", "", body, &e, &err);
  cr_assert_eq(r, HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  snprintf(tn.eps[tn.n_eps++], sizeof(tn.eps[0]), "%s", e->id);
  expect_upper_guid(e->id);
  cr_assert_str_eq(e->virtual_network, net);
  cr_assert_str_eq(e->mac_address, "00-15-5D-2A-00-05");
  char ep[64];
  snprintf(ep, sizeof(ep), "%s", e->id);
  hcs_hns_endpoint_free(e);

  /* An Id given in lower case is kept in capitals. */
  static const char given[] = "6f1c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6";
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\",\"Id\":\"%s\"}", net,
           given);
  snprintf(tn.eps[tn.n_eps++], sizeof(tn.eps[0]),
           "6F1C2A3E-1B2C-4D5E-8F90-A1B2C3D4E5F6");
  e = NULL;
  r = hcs_HNSEndpointRequest(tn.hcs, "POST", "", body, &e, &err);
  cr_assert_eq(r, HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  cr_assert_str_eq(e->id, "6F1C2A3E-1B2C-4D5E-8F90-A1B2C3D4E5F6");
  hcs_hns_endpoint_free(e);

  /* DELETE with no output pointer, as hcsshim called it. */
  cr_assert_eq(
      hcs_HNSEndpointRequest(tn.hcs, "DELETE", given, NULL, NULL, &err), HCS_OK,
      "%s", err != NULL ? hcs_error_message(err) : "");
  cr_assert_eq(hcs_HNSEndpointRequest(tn.hcs, "DELETE", ep, NULL, NULL, &err),
               HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  cr_assert_eq(hcs_HNSNetworkRequest(tn.hcs, "DELETE", net, NULL, NULL, &err),
               HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  e = NULL;
  r = hcs_HNSEndpointRequest(tn.hcs, "GET", ep, NULL, &e, &err);
  tn_expect(r, err, HCS_ERROR_NOT_FOUND, "has id");
  n = NULL;
  r = hcs_HNSNetworkRequest(tn.hcs, "GET", net, NULL, &n, &err);
  tn_expect(r, err, HCS_ERROR_NOT_FOUND, "has id");
  /* GET and POST still need somewhere to put their answer. */
  cr_assert_eq(hcs_HNSNetworkRequest(tn.hcs, "GET", net, NULL, NULL, NULL),
               HCS_WSAEINVAL);
  cr_assert(!tn_link_exists("hcs", net), "the bridge stayed");
}

Test(hns_conformance, refusals_read_as_hcsshim_rendered_them) {
  tn_open();
  hcs_hns_network_t *n = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_HNSNetworkRequest(tn.hcs, "GET", "nosuch", NULL, &n, &err),
               HCS_ERROR_NOT_FOUND);
  const char *msg = hcs_error_message(err);
  static const char prefix[] = "HNS failed with error : ";
  cr_assert_eq(strncmp(msg, prefix, sizeof(prefix) - 1), 0, "%s", msg);
  cr_assert_not_null(strstr(msg, hcs_error_cause(err)), "%s", msg);
  cr_assert_not_null(strstr(msg, "(0x490)"), "%s", msg);
  /* The parts are those of any hcs error. */
  cr_assert_str_eq(hcs_error_op(err), "hcs::HNSNetworkRequest");
  cr_assert_str_eq(hcs_error_object(err), "id=nosuch");
  char *json = hcs_error_json(err);
  cr_assert_not_null(strstr(json, "\"Message\":\"HNS failed with error : "),
                     "%s", json);
  hcs_free(json);
  hcs_error_free(err);
  hcs_hns_endpoint_t *e = NULL;
  cr_assert_eq(
      hcs_HNSEndpointRequest(tn.hcs, "POST", "", "{\"Name\":1}", &e, &err),
      HCS_WSAEINVAL);
  cr_assert_eq(strncmp(hcs_error_message(err), prefix, sizeof(prefix) - 1), 0,
               "%s", hcs_error_message(err));
  hcs_error_free(err);
}
