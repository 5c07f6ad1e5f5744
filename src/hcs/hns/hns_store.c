/* SPDX-License-Identifier: MIT */
/* The HNS records: lookups, the fields derived from a record, and the
 * files in state_dir/hns ("network-ID.json", "endpoint-ID.json", each the
 * object's HNS JSON, read back with the same strict parsers that take a
 * request). On open the kernel is brought back in line with the records:
 * a host that rebooted has lost its bridges, pairs and tables, and a
 * system that died while no hcs was running took its endpoint's pair
 * with its namespace; both are made again. */
#include "hcs/hns/hns_store.h"
#include "hcs/hns/hns_json.h"
#include "hcs/hns/nat.h"

#include "hcs/api/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* A record is a few KiB; a larger file is not one of ours. */
#define RECORD_MAX (1u << 20)

/* HNS gave GUIDs in capitals ("2F8F2B7C-..."), and clients compare the
 * text of ids. */
static void guid_text(const hcs_guid_t *g, char out[HCS_GUID_STRLEN]) {
  hcs_guid_ToString(g, out);
  for (char *p = out; *p != '\0'; p++) {
    *p = (char)toupper((unsigned char)*p);
  }
}

void hcs__hns_id_canon(const char *id, char out[HCS__HNS_ID_MAX]) {
  hcs_guid_t g;
  if (hcs_guid_parse(id, &g, NULL) == HCS_OK) {
    guid_text(&g, out);
  } else {
    snprintf(out, HCS__HNS_ID_MAX, "%s", id);
  }
}

/* Whether stored (an object's id, as a record of any release kept it)
 * and canon (an id in canonical form) name the same object. */
static int id_is(const char *stored, const char *canon) {
  char c[HCS__HNS_ID_MAX];
  hcs__hns_id_canon(stored, c);
  return strcmp(c, canon) == 0;
}

int hcs__hns_id_new(char out[HCS_GUID_STRLEN]) {
  hcs_guid_t g;
  if (getrandom(g.b, sizeof(g.b), 0) != (ssize_t)sizeof(g.b)) {
    return -errno;
  }
  /* Version 4 in the high nibble of the third field (stored
   * little-endian, so its high byte is b[7]); the RFC 4122 variant. */
  g.b[7] = (uint8_t)((g.b[7] & 0x0f) | 0x40);
  g.b[8] = (uint8_t)((g.b[8] & 0x3f) | 0x80);
  guid_text(&g, out);
  return 0;
}

void hcs__hns_link_name(const char *prefix, const char *id,
                        char out[HCS__IFNAMSIZ]) {
  hcs_guid_t g = hcs_NewGUID(id);
  snprintf(out, HCS__IFNAMSIZ, "%.7s%02x%02x%02x%02x", prefix, g.b[0], g.b[1],
           g.b[2], g.b[3]);
}

hcs__hns_net_t *hcs__hns_net_find(hcs__hns_t *h, const char *id) {
  char canon[HCS__HNS_ID_MAX];
  hcs__hns_id_canon(id, canon);
  for (size_t i = 0; i < h->n_nets; i++) {
    if (id_is(h->nets[i]->pub->id, canon)) {
      return h->nets[i];
    }
  }
  return NULL;
}

hcs__hns_net_t *hcs__hns_net_find_name(hcs__hns_t *h, const char *name) {
  for (size_t i = 0; i < h->n_nets; i++) {
    if (strcmp(h->nets[i]->pub->name, name) == 0) {
      return h->nets[i];
    }
  }
  return NULL;
}

hcs__hns_ep_t *hcs__hns_ep_find(hcs__hns_t *h, const char *id) {
  char canon[HCS__HNS_ID_MAX];
  hcs__hns_id_canon(id, canon);
  for (size_t i = 0; i < h->n_eps; i++) {
    if (id_is(h->eps[i]->pub->id, canon)) {
      return h->eps[i];
    }
  }
  return NULL;
}

static int net_derive(hcs__hns_net_t *net) {
  const hcs_hns_network_t *p = net->pub;
  for (size_t i = 0; i < p->n_subnets; i++) {
    hcs__ipam_subnet_t *s = &net->subnets[i];
    if (hcs__ipv4_prefix_parse(p->subnets[i].address_prefix, &s->net,
                               &s->len) != NULL ||
        s->len > 30) {
      return -EINVAL;
    }
    s->gateway = hcs__ipam_first_host(s->net, s->len);
    if (p->subnets[i].gateway_address != NULL &&
        !hcs__ipv4_parse(p->subnets[i].gateway_address, &s->gateway)) {
      return -EINVAL;
    }
  }
  for (size_t i = 0; i < p->n_mac_pools; i++) {
    if (!hcs__mac_parse(p->mac_pools[i].start_mac_address,
                        &net->pools[i].first) ||
        !hcs__mac_parse(p->mac_pools[i].end_mac_address, &net->pools[i].last)) {
      return -EINVAL;
    }
  }
  net->nat = strcasecmp(p->type, "nat") == 0;
  hcs__hns_link_name("hcs", p->id, net->bridge);
  return 0;
}

hcs__hns_net_t *hcs__hns_net_new(hcs_hns_network_t *pub) {
  if (pub->id == NULL || pub->name == NULL || pub->type == NULL) {
    return NULL;
  }
  hcs__hns_net_t *net = as_calloc(1, sizeof(*net));
  if (net == NULL) {
    return NULL;
  }
  net->pub = pub;
  net->n_subnets = pub->n_subnets;
  net->n_pools = pub->n_mac_pools;
  net->subnets = as_calloc(pub->n_subnets + 1, sizeof(*net->subnets));
  net->pools = as_calloc(pub->n_mac_pools + 1, sizeof(*net->pools));
  if (net->subnets == NULL || net->pools == NULL || net_derive(net) != 0) {
    net->pub = NULL;
    hcs__hns_net_free(net);
    return NULL;
  }
  return net;
}

hcs__hns_ep_t *hcs__hns_ep_new(hcs_hns_endpoint_t *pub, hcs__hns_net_t *net) {
  hcs__hns_ep_t *ep = as_calloc(1, sizeof(*ep));
  if (ep == NULL) {
    return NULL;
  }
  if (pub->id == NULL || !hcs__ipv4_parse(pub->ip_address, &ep->ip) ||
      !hcs__mac_parse(pub->mac_address, &ep->mac)) {
    as_free(ep);
    return NULL;
  }
  ep->pub = pub;
  ep->net = net;
  hcs__hns_link_name("hcsv", pub->id, ep->host_if);
  hcs__hns_link_name("hcsp", pub->id, ep->peer_if);
  return ep;
}

void hcs__hns_net_free(hcs__hns_net_t *net) {
  if (net != NULL) {
    hcs_hns_network_free(net->pub);
    as_free(net->subnets);
    as_free(net->pools);
    as_free(net);
  }
}

void hcs__hns_ep_free(hcs__hns_ep_t *ep) {
  if (ep != NULL) {
    hcs_hns_endpoint_free(ep->pub);
    as_free(ep);
  }
}

static int grow(void *arrayp, size_t n) {
  void **a = arrayp;
  void *v = as_realloc(*a, (n + 1) * sizeof(void *));
  if (v == NULL) {
    return -ENOMEM;
  }
  *a = v;
  return 0;
}

int hcs__hns_net_add(hcs__hns_t *h, hcs__hns_net_t *net) {
  if (grow(&h->nets, h->n_nets) != 0) {
    return -ENOMEM;
  }
  h->nets[h->n_nets++] = net;
  return 0;
}

void hcs__hns_net_take(hcs__hns_t *h, hcs__hns_net_t *net) {
  for (size_t i = 0; i < h->n_nets; i++) {
    if (h->nets[i] == net) {
      h->nets[i] = h->nets[--h->n_nets];
      return;
    }
  }
}

int hcs__hns_ep_add(hcs__hns_t *h, hcs__hns_ep_t *ep) {
  if (grow(&h->eps, h->n_eps) != 0) {
    return -ENOMEM;
  }
  h->eps[h->n_eps++] = ep;
  ep->net->n_endpoints++;
  return 0;
}

void hcs__hns_ep_take(hcs__hns_t *h, hcs__hns_ep_t *ep) {
  for (size_t i = 0; i < h->n_eps; i++) {
    if (h->eps[i] == ep) {
      h->eps[i] = h->eps[--h->n_eps];
      ep->net->n_endpoints--;
      return;
    }
  }
}

/* Records. */

static void record_path(const hcs__hns_t *h, const char *kind, const char *id,
                        const char *suffix, char *buf, size_t n) {
  snprintf(buf, n, "%s/%s-%s.json%s", h->dir, kind, id, suffix);
}

static int record_write(const hcs__hns_t *h, const char *kind, const char *id,
                        char *text) {
  if (text == NULL) {
    return -ENOMEM;
  }
  char tmp[4096], path[4096];
  record_path(h, kind, id, ".tmp", tmp, sizeof(tmp));
  record_path(h, kind, id, "", path, sizeof(path));
  int r = 0;
  /* Made with the first record, so that a service that never meets a
   * network leaves no trace of HNS in its state directory. */
  if (mkdir(h->dir, 0700) != 0 && errno != EEXIST) {
    r = -errno;
    hcs_free(text);
    return r;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    r = -errno;
  } else {
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    r = w == (ssize_t)len ? 0 : w < 0 ? -errno : -EIO;
    if (r == 0 && fsync(fd) != 0) {
      r = -errno;
    }
    if (close(fd) != 0 && r == 0) {
      r = -errno;
    }
    if (r == 0 && rename(tmp, path) != 0) {
      r = -errno;
    }
    if (r != 0) {
      unlink(tmp);
    }
  }
  hcs_free(text);
  return r;
}

int hcs__hns_net_save(hcs__hns_t *h, const hcs__hns_net_t *net) {
  return h->dir == NULL ? 0
                        : record_write(h, "network", net->pub->id,
                                       hcs_hns_network_json(net->pub));
}

int hcs__hns_ep_save(hcs__hns_t *h, const hcs__hns_ep_t *ep) {
  return h->dir == NULL ? 0
                        : record_write(h, "endpoint", ep->pub->id,
                                       hcs_hns_endpoint_json(ep->pub));
}

void hcs__hns_net_forget(hcs__hns_t *h, const hcs__hns_net_t *net) {
  char path[4096];
  if (h->dir != NULL) {
    record_path(h, "network", net->pub->id, "", path, sizeof(path));
    unlink(path);
  }
}

void hcs__hns_ep_forget(hcs__hns_t *h, const hcs__hns_ep_t *ep) {
  char path[4096];
  if (h->dir != NULL) {
    record_path(h, "endpoint", ep->pub->id, "", path, sizeof(path));
    unlink(path);
  }
}

hcs_hns_network_t *hcs__hns_network_copy(const hcs_hns_network_t *n) {
  char *text = hcs_hns_network_json(n);
  hcs_hns_network_t *copy = NULL;
  if (text != NULL) {
    (void)hcs__hns_network_parse(text, "hcs", "", &copy, NULL);
  }
  hcs_free(text);
  return copy;
}

hcs_hns_endpoint_t *hcs__hns_endpoint_copy(const hcs_hns_endpoint_t *e) {
  char *text = hcs_hns_endpoint_json(e);
  hcs_hns_endpoint_t *copy = NULL;
  if (text != NULL) {
    (void)hcs__hns_endpoint_parse(text, "hcs", "", &copy, NULL);
  }
  hcs_free(text);
  return copy;
}

/* Loading. */

static char *read_record(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return NULL;
  }
  struct stat st;
  char *text = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      st.st_size < RECORD_MAX &&
      (text = as_malloc((size_t)st.st_size + 1)) != NULL) {
    ssize_t n = read(fd, text, (size_t)st.st_size);
    if (n != st.st_size) {
      as_free(text);
      text = NULL;
    } else {
      text[n] = '\0';
    }
  }
  close(fd);
  return text;
}

/* A record that does not read back (damaged, or from another release) is
 * skipped and left on disk for a human to look at. */
static void load_network(hcs__hns_t *h, const char *text) {
  hcs_hns_network_t *pub = NULL;
  if (hcs__hns_network_parse(text, "hcs::Open", "", &pub, NULL) != HCS_OK) {
    return;
  }
  hcs__hns_net_t *net = NULL;
  if (pub->id == NULL || hcs__hns_net_find(h, pub->id) != NULL ||
      (net = hcs__hns_net_new(pub)) == NULL || hcs__hns_net_add(h, net) != 0) {
    if (net != NULL) {
      hcs__hns_net_free(net);
    } else {
      hcs_hns_network_free(pub);
    }
  }
}

static void load_endpoint(hcs__hns_t *h, const char *text) {
  hcs_hns_endpoint_t *pub = NULL;
  if (hcs__hns_endpoint_parse(text, "hcs::Open", "", &pub, NULL) != HCS_OK) {
    return;
  }
  hcs__hns_net_t *net = pub->virtual_network != NULL
                            ? hcs__hns_net_find(h, pub->virtual_network)
                            : NULL;
  hcs__hns_ep_t *ep = NULL;
  if (net == NULL || pub->id == NULL || hcs__hns_ep_find(h, pub->id) != NULL ||
      (ep = hcs__hns_ep_new(pub, net)) == NULL || hcs__hns_ep_add(h, ep) != 0) {
    if (ep != NULL) {
      hcs__hns_ep_free(ep);
    } else {
      hcs_hns_endpoint_free(pub);
    }
  }
}

static int load_dir(hcs__hns_t *h, const char *kind,
                    void (*load)(hcs__hns_t *h, const char *text)) {
  DIR *d = opendir(h->dir);
  if (d == NULL) {
    return errno == ENOENT ? 0 : -errno;
  }
  size_t nk = strlen(kind);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n > nk + 6 && strncmp(e->d_name, kind, nk) == 0 &&
        e->d_name[nk] == '-' && strcmp(e->d_name + n - 5, ".json") == 0) {
      char path[4096];
      snprintf(path, sizeof(path), "%s/%s", h->dir, e->d_name);
      char *text = read_record(path);
      if (text != NULL) {
        load(h, text);
      }
      as_free(text);
    }
  }
  closedir(d);
  return 0;
}

/* Brings the kernel back in line with the records. Failures leave the
 * records as they are: the next open, or the next request on the object,
 * tries again. */
static void reconcile(hcs__hns_t *h) {
  char why[256];
  hcs__nl_t *nl = NULL;
  int e = hcs__nl_open(&nl);
  if (e != 0) {
    hcs__log(HCS_LOG_WARN, "networks not brought back: netlink: %s",
             strerror(-e));
    return;
  }
  for (size_t i = 0; i < h->n_nets; i++) {
    if (hcs__hns_net_realize(h, h->nets[i], 0, why, sizeof(why)) != 0) {
      hcs__log(HCS_LOG_WARN, "network bridge %s not brought back: %s",
               h->nets[i]->bridge, why);
    }
  }
  for (size_t i = 0; i < h->n_eps; i++) {
    hcs__hns_ep_t *ep = h->eps[i];
    int host = hcs__nl_ifindex(nl, ep->host_if);
    int peer = hcs__nl_ifindex(nl, ep->peer_if);
    if (host > 0 && peer == -ENODEV) {
      /* A namespace holds the p end: a live system's. Its host end is a
       * port of the bridge again, which may be new: one deleted behind
       * hcs was made again above, without its ports. */
      ep->attached = -1;
      (void)hcs__nl_link_enslave(nl, ep->host_if, ep->net->bridge);
    } else if (hcs__hns_ep_pair(nl, ep, why, sizeof(why)) != 0) {
      hcs__log(HCS_LOG_WARN, "endpoint %s not brought back: %s", ep->host_if,
               why);
    }
  }
  for (size_t i = 0; i < h->n_nets; i++) {
    if (h->nets[i]->nat &&
        hcs__hns_nat_sync(h, h->nets[i], why, sizeof(why)) != 0) {
      hcs__log(HCS_LOG_WARN, "network bridge %s: its NAT rules: %s",
               h->nets[i]->bridge, why);
    }
  }
  hcs__nl_close(nl);
}

static void hns_free(hcs__hns_t *h) {
  for (size_t i = 0; i < h->n_eps; i++) {
    hcs__hns_ep_free(h->eps[i]);
  }
  for (size_t i = 0; i < h->n_nets; i++) {
    hcs__hns_net_free(h->nets[i]);
  }
  as_free(h->eps);
  as_free(h->nets);
  as_free(h->dir);
  pthread_mutex_destroy(&h->lock);
  as_free(h);
}

hcs_result_t hcs__hns_open(hcs_t *hcs, hcs_error_t **err) {
  static const char op[] = "hcs::Open";
  hcs__hns_t *h = as_calloc(1, sizeof(*h));
  if (h == NULL) {
    return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, NULL, ENOMEM,
                     "allocating the HNS service");
  }
  pthread_mutex_init(&h->lock, NULL);
  if (hcs->state_dir != NULL) {
    size_t n = strlen(hcs->state_dir) + 5;
    if ((h->dir = as_malloc(n)) == NULL) {
      hns_free(h);
      return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, NULL, ENOMEM,
                       "allocating the HNS state path");
    }
    snprintf(h->dir, n, "%s/hns", hcs->state_dir);
    int r = load_dir(h, "network", load_network);
    r = r == 0 ? load_dir(h, "endpoint", load_endpoint) : r;
    if (r != 0) {
      hcs_result_t hr = hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, NULL, -r,
                                  "opendir %s: %s", h->dir, strerror(-r));
      hns_free(h);
      return hr;
    }
    if (h->n_nets > 0 && geteuid() == 0) {
      reconcile(h);
    }
  }
  hcs->hns = h;
  return HCS_OK;
}

void hcs__hns_close(hcs_t *hcs) {
  hcs__hns_t *h = hcs->hns;
  if (h == NULL) {
    return;
  }
  if (h->dir == NULL && h->n_nets > 0) {
    char why[256];
    hcs__nl_t *nl = NULL;
    if (hcs__nl_open(&nl) == 0) {
      for (size_t i = 0; i < h->n_eps; i++) {
        (void)hcs__nl_link_del(nl, h->eps[i]->host_if);
      }
      hcs__nl_close(nl);
    }
    for (size_t i = 0; i < h->n_nets; i++) {
      (void)hcs__hns_net_unrealize(h->nets[i], why, sizeof(why));
    }
  }
  hns_free(h);
  hcs->hns = NULL;
}

hcs_result_t hcs__hns_refuse(const hcs__hns_ctx_t *c, hcs_result_t code,
                             int errnum, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  return hcs__fail(c->err, code, c->op, c->object, errnum, "%s", why);
}
