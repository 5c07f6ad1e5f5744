/* SPDX-License-Identifier: MIT */
/* The HNS objects (networks, endpoints) as JSON: strict parsers and the
 * printers behind hcs_hns_network_json / hcs_hns_endpoint_json. */
#ifndef HCS_HCS_HNS_JSON_H
#define HCS_HCS_HNS_JSON_H

#include "hcs/api/error.h"

/* Whether s names an HNS object: an id by the rules of hcs__id_valid, or
 * a GUID in the form hcs_guid_parse reads (braces allowed). */
int hcs__hns_id_valid(const char *s);

/* Parse text as one HNSNetwork / HNSEndpoint. Strict: an unknown field, a
 * wrong type, an out-of-range number, a malformed address, prefix or MAC,
 * or an unknown policy is HCS_WSAEINVAL whose cause starts with the field
 * path ("Subnets[1].AddressPrefix: ..."), reported under op and object.
 * On success *out is a new object (hcs_hns_network_free /
 * hcs_hns_endpoint_free); on failure *out is NULL and nothing is kept. */
hcs_result_t hcs__hns_network_parse(const char *text, const char *op,
                                    const char *object, hcs_hns_network_t **out,
                                    hcs_error_t **err);
hcs_result_t hcs__hns_endpoint_parse(const char *text, const char *op,
                                     const char *object,
                                     hcs_hns_endpoint_t **out,
                                     hcs_error_t **err);

#endif
