/* SPDX-License-Identifier: MIT */
/* The HNS service inside hcs: its networks and endpoints, what each is in
 * the kernel, and their records in the state directory.
 *
 * A network is a Linux bridge named "hcs" + 8 hex digits of
 * NewGUID(network id) (11 characters, under IFNAMSIZ), holding each
 * subnet's gateway address; a "nat" network adds an nftables table of the
 * same name (nat.h). An endpoint is a veth pair "hcsv" + 8 hex / "hcsp" +
 * 8 hex of NewGUID(endpoint id): the v end is a port of the bridge, the p
 * end carries the endpoint's MAC and waits in the host namespace until a
 * compute system takes it (hns_attach.h).
 *
 * Threads: the HNS calls run on the caller's thread (never the engine's:
 * netlink and nftables answers take milliseconds) under the service's
 * lock, which every function here expects held. */
#ifndef HCS_HCS_HNS_STORE_H
#define HCS_HCS_HNS_STORE_H

#include "hcs/api/call.h"
#include "hcs/api/error.h"
#include "hcs/hns/ipam.h"
#include "hcs/hns/netlink.h"

#include <sys/types.h>

#define HCS__HNS_ID_MAX 130 /* an id (1-128 bytes, or a braced GUID) */

typedef struct hcs__hns_net_s {
  hcs_hns_network_t *pub; /* the record, as GET answers it */
  char bridge[HCS__IFNAMSIZ];
  hcs__ipam_subnet_t *subnets;
  size_t n_subnets;
  hcs__ipam_pool_t *pools;
  size_t n_pools;
  int nat;            /* Type "nat": masquerading and port mappings */
  size_t n_endpoints; /* endpoints on it: a network with any stays */
} hcs__hns_net_t;

typedef struct hcs__hns_ep_s {
  hcs_hns_endpoint_t *pub;
  hcs__hns_net_t *net;
  char host_if[HCS__IFNAMSIZ], peer_if[HCS__IFNAMSIZ];
  uint32_t ip;
  uint64_t mac;
  /* The process whose namespace holds the p end; -1 when it is held by a
   * namespace found at load time (an attachment made before a restart);
   * 0 when the pair is whole on the host. */
  pid_t attached;
} hcs__hns_ep_t;

typedef struct hcs__hns_s {
  pthread_mutex_t lock;
  char *dir; /* state_dir/hns, or NULL: records in memory only */
  hcs__hns_net_t **nets;
  size_t n_nets;
  hcs__hns_ep_t **eps;
  size_t n_eps;
} hcs__hns_t;

/* Ids. A GUID given in any accepted form is kept as ToString prints it,
 * so that "{5F0C...}" and "5f0c..." name the same object. */
void hcs__hns_id_canon(const char *id, char out[HCS__HNS_ID_MAX]);
/* A new random (version 4) GUID as text; 0 or -errno. */
int hcs__hns_id_new(char out[HCS_GUID_STRLEN]);
/* prefix + 8 hex digits of NewGUID(id): a link name under IFNAMSIZ. */
void hcs__hns_link_name(const char *prefix, const char *id,
                        char out[HCS__IFNAMSIZ]);

/* hns_store.c: lookups (ids in canonical form), membership, records. */
hcs__hns_net_t *hcs__hns_net_find(hcs__hns_t *h, const char *id);
hcs__hns_net_t *hcs__hns_net_find_name(hcs__hns_t *h, const char *name);
hcs__hns_ep_t *hcs__hns_ep_find(hcs__hns_t *h, const char *id);
/* New records over pub (taken on success): the derived fields filled
 * from a checked pub. NULL on ENOMEM or a pub that does not derive. */
hcs__hns_net_t *hcs__hns_net_new(hcs_hns_network_t *pub);
hcs__hns_ep_t *hcs__hns_ep_new(hcs_hns_endpoint_t *pub, hcs__hns_net_t *net);
void hcs__hns_net_free(hcs__hns_net_t *net);
void hcs__hns_ep_free(hcs__hns_ep_t *ep);
/* Adds to / takes out of the service's lists; add: 0 or -ENOMEM. */
int hcs__hns_net_add(hcs__hns_t *h, hcs__hns_net_t *net);
void hcs__hns_net_take(hcs__hns_t *h, hcs__hns_net_t *net);
int hcs__hns_ep_add(hcs__hns_t *h, hcs__hns_ep_t *ep);
void hcs__hns_ep_take(hcs__hns_t *h, hcs__hns_ep_t *ep);
/* Records: written whole (temporary name, then rename), or removed. A
 * service without a state directory keeps none: 0. */
int hcs__hns_net_save(hcs__hns_t *h, const hcs__hns_net_t *net);
int hcs__hns_ep_save(hcs__hns_t *h, const hcs__hns_ep_t *ep);
void hcs__hns_net_forget(hcs__hns_t *h, const hcs__hns_net_t *net);
void hcs__hns_ep_forget(hcs__hns_t *h, const hcs__hns_ep_t *ep);
/* Deep copies for answers; NULL on ENOMEM. */
hcs_hns_network_t *hcs__hns_network_copy(const hcs_hns_network_t *n);
hcs_hns_endpoint_t *hcs__hns_endpoint_copy(const hcs_hns_endpoint_t *e);

/* service.c's hooks: loads the records and brings the kernel back in line
 * with them (bridges, pairs and tables a reboot or a dead system took
 * away are made again); on close, a service without a state directory
 * takes everything it made down again, since nothing could find it. */
hcs_result_t hcs__hns_open(hcs_t *hcs, hcs_error_t **err);
void hcs__hns_close(hcs_t *hcs);

/* hns_net.c: networks. */
hcs_result_t hcs__hns_net_create(hcs__hns_t *h, const char *op,
                                 hcs_hns_network_t *req,
                                 hcs_hns_network_t **out, hcs_error_t **err);
hcs_result_t hcs__hns_net_delete(hcs__hns_t *h, const char *op,
                                 const char *object, hcs__hns_net_t *net,
                                 hcs_error_t **err);
/* Makes the kernel side of net exist (fresh: it must not exist yet).
 * 0 or -errno with why. */
int hcs__hns_net_realize(hcs__hns_t *h, hcs__hns_net_t *net, int fresh,
                         char *why, size_t whylen);
/* When net's bridge is gone (an `ip link del` behind hcs), makes it
 * again and every endpoint's host end a port of it again. 0 or -errno
 * with why. */
int hcs__hns_net_mend(hcs__hns_t *h, hcs__nl_t *nl, hcs__hns_net_t *net,
                      char *why, size_t whylen);
/* Takes the kernel side down; links or tables already gone are fine. */
int hcs__hns_net_unrealize(hcs__hns_net_t *net, char *why, size_t whylen);
/* Rewrites a nat network's table from its endpoints' mappings. */
int hcs__hns_nat_sync(hcs__hns_t *h, hcs__hns_net_t *net, char *why,
                      size_t whylen);

/* hns_ep.c: endpoints. */
hcs_result_t hcs__hns_ep_create(hcs__hns_t *h, const char *op,
                                hcs_hns_endpoint_t *req,
                                hcs_hns_endpoint_t **out, hcs_error_t **err);
hcs_result_t hcs__hns_ep_delete(hcs__hns_t *h, const char *op,
                                const char *object, hcs__hns_ep_t *ep,
                                hcs_error_t **err);
/* Makes the endpoint's pair whole on the host (again): both ends here,
 * the v end a port of the bridge. 0 or -errno with why. */
int hcs__hns_ep_pair(hcs__nl_t *nl, hcs__hns_ep_t *ep, char *why,
                     size_t whylen);

/* The operation and object a request's refusals name (hns_ep.c,
 * hns_net.c). */
typedef struct hcs__hns_ctx_s {
  const char *op, *object;
  hcs_error_t **err;
} hcs__hns_ctx_t;

/* Fails the request with code, errnum and a formatted cause. */
hcs_result_t hcs__hns_refuse(const hcs__hns_ctx_t *c, hcs_result_t code,
                             int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
