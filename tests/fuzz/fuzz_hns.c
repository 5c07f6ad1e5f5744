/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the HNS network and endpoint documents. Each input is
 * read as both. An accepted document prints, parses back and prints the
 * same text again; a refused one gets an error and hands nothing back. */
#include "hcs/hns/hns_json.h"

#include <hcs.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void network(const char *text) {
  hcs_hns_network_t *n = (hcs_hns_network_t *)&n;
  hcs_error_t *err = NULL;
  if (hcs__hns_network_parse(text, "fuzz", "", &n, &err) != HCS_OK) {
    if (n != NULL || err == NULL) {
      abort();
    }
    hcs_error_free(err);
    return;
  }
  char *out = hcs_hns_network_json(n);
  hcs_hns_network_t *back = NULL;
  if (out == NULL ||
      hcs__hns_network_parse(out, "fuzz", "", &back, NULL) != HCS_OK) {
    abort();
  }
  char *out2 = hcs_hns_network_json(back);
  if (out2 == NULL || strcmp(out, out2) != 0) {
    abort();
  }
  hcs_free(out);
  hcs_free(out2);
  hcs_hns_network_free(back);
  hcs_hns_network_free(n);
}

static void endpoint(const char *text) {
  hcs_hns_endpoint_t *e = (hcs_hns_endpoint_t *)&e;
  hcs_error_t *err = NULL;
  if (hcs__hns_endpoint_parse(text, "fuzz", "", &e, &err) != HCS_OK) {
    if (e != NULL || err == NULL) {
      abort();
    }
    hcs_error_free(err);
    return;
  }
  char *out = hcs_hns_endpoint_json(e);
  hcs_hns_endpoint_t *back = NULL;
  if (out == NULL ||
      hcs__hns_endpoint_parse(out, "fuzz", "", &back, NULL) != HCS_OK) {
    abort();
  }
  char *out2 = hcs_hns_endpoint_json(back);
  if (out2 == NULL || strcmp(out, out2) != 0 ||
      back->n_nat_policies != e->n_nat_policies ||
      (back->qos_policy == NULL) != (e->qos_policy == NULL)) {
    abort();
  }
  hcs_free(out);
  hcs_free(out2);
  hcs_hns_endpoint_free(back);
  hcs_hns_endpoint_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) {
    return 0;
  }
  memcpy(text, data, size);
  text[size] = '\0';
  network(text);
  endpoint(text);
  free(text);
  return 0;
}
