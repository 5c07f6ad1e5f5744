/* SPDX-License-Identifier: MIT */
/* hcs hns: HNSNetworkRequest, HNSEndpointRequest, HNSListNetworkRequest. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hns_usage(FILE *f) {
  fprintf(f, "usage: hcs [--state-dir DIR] hns [--endpoints | --list] METHOD "
             "PATH [JSON|-]\n"
             "\n"
             "Sends an HNS request: METHOD (GET, POST, DELETE) on "
             "\"/networks/\" + PATH\n"
             "(HNSNetworkRequest), with JSON (- reads it from stdin) as the "
             "body; prints\n"
             "the network that comes back as JSON. GET \"\" lists the "
             "networks.\n"
             "\n"
             "  --endpoints  on \"/endpoints/\" + PATH instead "
             "(HNSEndpointRequest)\n"
             "  --list       HNSListNetworkRequest: prints the networks as a "
             "JSON array\n"
             "\n"
             "Examples: hcs hns GET ID; hcs hns --list GET \"\";\n"
             "  hcs hns POST \"\" '{\"Name\":\"n\",\"Type\":\"nat\",\n"
             "    \"Subnets\":[{\"AddressPrefix\":\"10.88.0.0/24\"}]}';\n"
             "  hcs hns --endpoints POST \"\" '{\"VirtualNetworkName\":\"n\",\n"
             "    \"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\","
             "\"InternalPort\":80,\"ExternalPort\":8080}]}';\n"
             "  hcs hns --endpoints DELETE ID; hcs hns DELETE ID\n"
             "Networks and endpoints live on in the state directory for the "
             "next hcs. Making\n"
             "them needs root (bridges, veth pairs, nftables).\n"
             "Exit status: 0 done, 1 the call failed, 2 usage error.\n");
}

static int print_network(hcs_hns_network_t *n) {
  char *json = hcs_hns_network_json(n);
  if (json == NULL) {
    fprintf(stderr, "hcs hns: out of memory\n");
    return -1;
  }
  cli_print_json(json);
  hcs_free(json);
  return 0;
}

static int print_endpoint(hcs_hns_endpoint_t *e) {
  char *json = hcs_hns_endpoint_json(e);
  if (json == NULL) {
    fprintf(stderr, "hcs hns: out of memory\n");
    return -1;
  }
  cli_print_json(json);
  hcs_free(json);
  return 0;
}

/* Prints v as one JSON array, each network's text as the call gives it. */
static int print_networks(hcs_hns_network_t *v, size_t n) {
  fputs("[", stdout);
  for (size_t i = 0; i < n; i++) {
    char *json = hcs_hns_network_json(&v[i]);
    if (json == NULL) {
      fprintf(stderr, "hcs hns: out of memory\n");
      return -1;
    }
    size_t len = strlen(json);
    while (len > 0 && json[len - 1] == '\n') {
      len--;
    }
    printf("%s%.*s", i > 0 ? ",\n" : "\n", (int)len, json);
    hcs_free(json);
  }
  fputs(n > 0 ? "\n]\n" : "]\n", stdout);
  return 0;
}

enum { HNS_NETWORK, HNS_ENDPOINT, HNS_LIST };

static int hns_call(hcs_t *hcs, int kind, const char *method, const char *path,
                    const char *body) {
  hcs_error_t *err = NULL;
  hcs_result_t r;
  int printed = 0;
  if (kind == HNS_LIST) {
    hcs_hns_network_t *v = NULL;
    size_t n = 0;
    r = hcs_HNSListNetworkRequest(hcs, method, path, body, &v, &n, &err);
    if (r == HCS_OK) {
      printed = print_networks(v, n);
      hcs_hns_networks_free(v, n);
    }
  } else if (kind == HNS_ENDPOINT) {
    hcs_hns_endpoint_t *e = NULL;
    r = hcs_HNSEndpointRequest(hcs, method, path, body, &e, &err);
    if (r == HCS_OK && e != NULL) {
      printed = print_endpoint(e);
      hcs_hns_endpoint_free(e);
    }
  } else {
    hcs_hns_network_t *nw = NULL;
    r = hcs_HNSNetworkRequest(hcs, method, path, body, &nw, &err);
    if (r == HCS_OK && nw != NULL) {
      printed = print_network(nw);
      hcs_hns_network_free(nw);
    }
  }
  if (r != HCS_OK) {
    cli_print_error("hcs hns", err);
    return CLI_FAILED;
  }
  return printed == 0 ? CLI_OK : CLI_FAILED;
}

int cli_hns(const cli_ctx_t *ctx, int argc, char **argv) {
  static const char prog[] = "hcs hns";
  static const struct option longs[] = {{"help", no_argument, 0, 'h'},
                                        {"endpoints", no_argument, 0, 'E'},
                                        {"list", no_argument, 0, 'L'},
                                        {0, 0, 0, 0}};
  int kind = HNS_NETWORK, c;
  optind = 0;
  /* "+": a body such as "-" is an argument, not an option. */
  while ((c = cli_getopt(argc, argv, prog, "+h", longs)) != -1) {
    if (c == 'h') {
      hns_usage(stdout);
      return CLI_OK;
    }
    int want = c == 'E' ? HNS_ENDPOINT : c == 'L' ? HNS_LIST : -1;
    if (want < 0 || (kind != HNS_NETWORK && kind != want)) {
      if (want >= 0) {
        fprintf(stderr, "%s: --endpoints and --list exclude each other\n",
                prog);
      }
      hns_usage(stderr);
      return CLI_USAGE;
    }
    kind = want;
  }
  int n = argc - optind;
  if (n < 2 || n > 3) {
    fprintf(stderr, "%s: expected METHOD PATH [JSON|-]\n", prog);
    hns_usage(stderr);
    return CLI_USAGE;
  }
  const char *method = argv[optind], *path = argv[optind + 1];
  if (kind == HNS_NETWORK && strcmp(method, "GET") == 0 && path[0] == '\0') {
    kind = HNS_LIST; /* GET "" lists, as the HNS service answers it */
  }
  char *body = NULL;
  if (n == 3) {
    if (strcmp(argv[optind + 2], "-") == 0) {
      body = cli_read_text(prog, "-");
    } else if ((body = strdup(argv[optind + 2])) == NULL) {
      fprintf(stderr, "%s: out of memory\n", prog);
    }
    if (body == NULL) {
      return CLI_FAILED;
    }
  }
  hcs_t *hcs;
  int code = CLI_FAILED;
  if (cli_open(ctx, prog, &hcs) == 0) {
    code = hns_call(hcs, kind, method, path, body);
    hcs_close(hcs);
  }
  free(body);
  return code;
}
