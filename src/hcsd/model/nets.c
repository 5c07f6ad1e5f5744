/* SPDX-License-Identifier: MIT */
/* hcsd's networks: Docker networks as records of hcsd's (names, ids,
 * labels, options, created times, the endpoints attached) in
 * <dir>/networks.json, each backed by an HNS network of hcs's.
 *
 * Ids: a Docker id is 64 random hex digits; its HNS network has the GUID
 * hcs gives it at creation, kept in the record ("HnsId"), so that the
 * record finds its bridge again. An endpoint's id is 64 random hex digits
 * too (HNS takes it as is): one id for Docker's EndpointID and hcs's
 * EndpointList.
 *
 * Predefined networks: "bridge" (an HNS NAT network made on first attach,
 * on 172.29.0.0/16 when that is free), "host" (the system shares the
 * host's network: hcs's HostNetwork) and "none" (no endpoint: the system's
 * own network namespace holds only loopback).
 *
 * Reload: hcsd_nets_open reads the records back and asks HNS for each
 * network. One HNS lost (its hcs kept no state directory, or someone
 * deleted it) is made again with the same id, type and subnets; endpoints
 * HNS no longer knows are dropped from the records. A network that cannot
 * be made again keeps its record: attach tries again and says why it
 * fails, and remove still works.
 *
 * Locking: one mutex, held across the HNS calls of each request; the
 * calls are milliseconds and hcsd makes them from worker threads. */
#include "hcsd/model/netsint.h"
#include "hcsd/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NETS_FILE "networks.json"

/* ---- small helpers ---- */

static char *vfmt(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
static char *vfmt(const char *fmt, va_list ap) {
  char *s = NULL;
  return vasprintf(&s, fmt, ap) >= 0 ? s : NULL;
}

int hcsd__nets_fail(char **reply, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = vfmt(fmt, ap);
  va_end(ap);
  *reply = hcsd_message_json(text != NULL ? text : "out of memory");
  free(text);
  return status;
}

int hcsd__nets_fail_msg(char **msg, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  *msg = vfmt(fmt, ap);
  va_end(ap);
  return status;
}

char *hcsd__nets_dump(json_t *j) {
  char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return s;
}

int64_t hcsd__nets_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void hcsd__nets_time(int64_t ns, char out[40]) {
  time_t sec = (time_t)(ns / 1000000000);
  struct tm tm;
  gmtime_r(&sec, &tm);
  char day[24];
  strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 40, "%s.%09ldZ", day, (long)(ns % 1000000000));
}

const char *hcsd__nets_why(const hcs_error_t *err) {
  return err != NULL ? hcs_error_cause(err) : "unknown error";
}

/* ---- IPv4 prefixes, for picking a free subnet ---- */

static bool prefix_parse(const char *s, uint32_t *net, unsigned *len) {
  char addr[INET_ADDRSTRLEN];
  const char *slash = s != NULL ? strchr(s, '/') : NULL;
  if (slash == NULL || (size_t)(slash - s) >= sizeof(addr)) {
    return false;
  }
  memcpy(addr, s, (size_t)(slash - s));
  addr[slash - s] = '\0';
  char *end = NULL;
  unsigned long l = strtoul(slash + 1, &end, 10);
  struct in_addr a;
  if (inet_pton(AF_INET, addr, &a) != 1 || end == slash + 1 || *end != '\0' ||
      l > 32) {
    return false;
  }
  *net = ntohl(a.s_addr);
  *len = (unsigned)l;
  return true;
}

static bool prefixes_overlap(const char *a, const char *b) {
  uint32_t na, nb;
  unsigned la, lb;
  if (!prefix_parse(a, &na, &la) || !prefix_parse(b, &nb, &lb)) {
    return false;
  }
  unsigned l = la < lb ? la : lb;
  uint32_t mask = l == 0 ? 0 : ~0u << (32 - l);
  return (na & mask) == (nb & mask);
}

/* Candidate i of the subnets hcsd picks from: 172.18-31.0.0/16 (172.29
 * first for "bridge"), then 192.168.0-255.0/24. NULL past the last. */
static const char *candidate(size_t i, bool for_bridge, char buf[32]) {
  static const unsigned seconds[] = {29, 18, 19, 20, 21, 22, 23,
                                     24, 25, 26, 27, 28, 30, 31};
  size_t first = for_bridge ? 0 : 1, n16 = 14 - first;
  if (i < n16) {
    snprintf(buf, 32, "172.%u.0.0/16", seconds[first + i]);
  } else if (i - n16 < 256) {
    snprintf(buf, 32, "192.168.%zu.0/24", i - n16);
  } else {
    return NULL;
  }
  return buf;
}

/* ---- records ---- */

void hcsd__net_free(hcsd_net_t *net) {
  if (net == NULL) {
    return;
  }
  free(net->name);
  free(net->driver);
  free(net->hns_id);
  json_decref(net->labels);
  json_decref(net->options);
  json_decref(net->ipam);
  json_decref(net->containers);
  free(net);
}

hcsd_net_t *hcsd__net_new(const char *id, const char *name,
                          const char *driver) {
  hcsd_net_t *net = calloc(1, sizeof(*net));
  if (net == NULL) {
    return NULL;
  }
  snprintf(net->id, sizeof(net->id), "%s", id);
  net->name = strdup(name);
  net->driver = strdup(driver);
  net->labels = json_object();
  net->options = json_object();
  net->ipam = json_array();
  net->containers = json_object();
  if (net->name == NULL || net->driver == NULL || net->labels == NULL ||
      net->options == NULL || net->ipam == NULL || net->containers == NULL) {
    hcsd__net_free(net);
    return NULL;
  }
  return net;
}

int hcsd__nets_add(hcsd_nets_t *n, hcsd_net_t *net) {
  hcsd_net_t **v = realloc(n->v, (n->n + 1) * sizeof(*v));
  if (v == NULL) {
    return -ENOMEM;
  }
  n->v = v;
  n->v[n->n++] = net;
  return 0;
}

void hcsd__nets_drop(hcsd_nets_t *n, hcsd_net_t *net) {
  for (size_t i = 0; i < n->n; i++) {
    if (n->v[i] == net) {
      memmove(&n->v[i], &n->v[i + 1], (n->n - i - 1) * sizeof(*n->v));
      n->n--;
      hcsd__net_free(net);
      return;
    }
  }
}

hcsd_net_t *hcsd__nets_find_name(hcsd_nets_t *n, const char *name) {
  for (size_t i = 0; i < n->n; i++) {
    if (strcmp(n->v[i]->name, name) == 0) {
      return n->v[i];
    }
  }
  return NULL;
}

hcsd_net_t *hcsd__nets_find(hcsd_nets_t *n, const char *ref,
                            size_t *ambiguous) {
  *ambiguous = 0;
  for (size_t i = 0; i < n->n; i++) {
    if (strcmp(n->v[i]->id, ref) == 0) {
      return n->v[i];
    }
  }
  hcsd_net_t *hit = hcsd__nets_find_name(n, ref);
  size_t len = strlen(ref);
  for (size_t i = 0; hit == NULL && len > 0 && i < n->n; i++) {
    if (strncmp(n->v[i]->id, ref, len) == 0) {
      (*ambiguous)++;
    }
  }
  for (size_t i = 0; hit == NULL && *ambiguous == 1 && i < n->n; i++) {
    if (strncmp(n->v[i]->id, ref, len) == 0) {
      hit = n->v[i];
      *ambiguous = 0;
    }
  }
  return hit;
}

/* ---- the file ---- */

static json_t *net_record(const hcsd_net_t *net) {
  return json_pack("{s:s, s:s, s:s, s:s*, s:I, s:b, s:b, s:b, s:O, s:O, s:O, "
                   "s:O}",
                   "Name", net->name, "Id", net->id, "Driver", net->driver,
                   "HnsId", net->hns_id, "Created", (json_int_t)net->created,
                   "Internal", net->internal, "Attachable", net->attachable,
                   "Predefined", net->predefined, "Labels", net->labels,
                   "Options", net->options, "IPAM", net->ipam, "Containers",
                   net->containers);
}

static int write_all(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, s, len);
    if (w < 0 && errno != EINTR) {
      return -errno;
    }
    if (w > 0) {
      s += w;
      len -= (size_t)w;
    }
  }
  return 0;
}

/* A crash leaves the old records or the new ones, never half of them. */
int hcsd__nets_save(hcsd_nets_t *n) {
  json_t *arr = json_array();
  for (size_t i = 0; arr != NULL && i < n->n; i++) {
    if (json_array_append_new(arr, net_record(n->v[i])) != 0) {
      json_decref(arr);
      arr = NULL;
    }
  }
  pthread_mutex_lock(&n->plock);
  char *text = hcsd__nets_dump(json_pack(
      "{s:o*, s:O, s:O, s:O, s:O}", "Networks", arr, "Ports", n->ports, "Peers",
      n->peers, "Extra", n->extra, "Aliases", n->aliases));
  pthread_mutex_unlock(&n->plock);
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", n->path);
  if (text == NULL) {
    return -ENOMEM;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int r = fd < 0 ? -errno : write_all(fd, text, strlen(text));
  free(text);
  if (r == 0 && fsync(fd) != 0) {
    r = -errno;
  }
  if (fd >= 0 && close(fd) != 0 && r == 0) {
    r = -errno;
  }
  if (r == 0 && rename(tmp, n->path) != 0) {
    r = -errno;
  }
  if (r != 0) {
    unlink(tmp);
  }
  return r;
}

static bool is_hex64(const char *s) {
  size_t i = 0;
  while (s[i] != '\0' && isxdigit((unsigned char)s[i]) &&
         !isupper((unsigned char)s[i])) {
    i++;
  }
  return i == 64 && s[i] == '\0';
}

static hcsd_net_t *net_from_record(json_t *rec) {
  const char *name = NULL, *id = NULL, *driver = NULL, *hns = NULL;
  json_int_t created = 0;
  int internal = 0, attachable = 0, predefined = 0;
  json_t *labels = NULL, *options = NULL, *ipam = NULL, *ctrs = NULL;
  if (json_unpack(rec,
                  "{s:s, s:s, s:s, s?s, s:I, s:b, s:b, s:b, s:o, s:o, "
                  "s:o, s:o}",
                  "Name", &name, "Id", &id, "Driver", &driver, "HnsId", &hns,
                  "Created", &created, "Internal", &internal, "Attachable",
                  &attachable, "Predefined", &predefined, "Labels", &labels,
                  "Options", &options, "IPAM", &ipam, "Containers",
                  &ctrs) != 0 ||
      !is_hex64(id) || !json_is_object(labels) || !json_is_object(options) ||
      !json_is_array(ipam) || !json_is_object(ctrs)) {
    return NULL;
  }
  hcsd_net_t *net = hcsd__net_new(id, name, driver);
  if (net == NULL || (hns != NULL && (net->hns_id = strdup(hns)) == NULL)) {
    hcsd__net_free(net);
    return NULL;
  }
  net->created = created;
  net->internal = internal;
  net->attachable = attachable;
  net->predefined = predefined;
  json_object_update(net->labels, labels);
  json_object_update(net->options, options);
  json_array_extend(net->ipam, ipam);
  json_object_update(net->containers, ctrs);
  return net;
}

/* Reads the records back; a missing file is a first start. */
static int nets_load(hcsd_nets_t *n, char **errmsg) {
  json_error_t je;
  json_t *doc = json_load_file(n->path, JSON_REJECT_DUPLICATES, &je);
  if (doc == NULL) {
    if (access(n->path, F_OK) != 0 && errno == ENOENT) {
      return 0;
    }
    return hcsd__nets_fail_msg(errmsg, -1, "%s: %s (line %d)", n->path, je.text,
                               je.line);
  }
  json_t *arr = json_object_get(doc, "Networks");
  if (!json_is_array(arr)) {
    json_decref(doc);
    return hcsd__nets_fail_msg(errmsg, -1, "%s: no Networks array", n->path);
  }
  size_t i;
  json_t *rec;
  json_array_foreach(arr, i, rec) {
    hcsd_net_t *net = net_from_record(rec);
    if (net == NULL || hcsd__nets_add(n, net) != 0) {
      hcsd__net_free(net);
      json_decref(doc);
      return hcsd__nets_fail_msg(
          errmsg, -1, "%s: Networks[%zu] is not a network record", n->path, i);
    }
  }
  json_t *ports = json_object_get(doc, "Ports");
  json_t *peers = json_object_get(doc, "Peers");
  if (json_is_object(ports)) {
    json_object_update(n->ports, ports);
  }
  if (json_is_object(peers)) {
    json_object_update(n->peers, peers);
  }
  json_t *extra = json_object_get(doc, "Extra");
  if (json_is_object(extra)) {
    json_object_update(n->extra, extra);
  }
  json_t *aliases = json_object_get(doc, "Aliases");
  if (json_is_object(aliases)) {
    json_object_update(n->aliases, aliases);
  }
  json_decref(doc);
  return 0;
}

/* ---- HNS ---- */

static void ipam_from_hns(hcsd_net_t *net, const hcs_hns_network_t *h) {
  json_array_clear(net->ipam);
  for (size_t i = 0; i < h->n_subnets; i++) {
    json_array_append_new(net->ipam,
                          json_pack("{s:s, s:s*}", "Subnet",
                                    h->subnets[i].address_prefix, "Gateway",
                                    h->subnets[i].gateway_address));
  }
}

hcs_result_t hcsd__nets_hns_make(hcsd_nets_t *n, hcsd_net_t *net,
                                 const char *subnet, hcs_error_t **err) {
  json_t *subnets = json_array();
  if (subnet != NULL) {
    json_array_append_new(subnets, json_pack("{s:s}", "AddressPrefix", subnet));
  }
  size_t i;
  json_t *c;
  json_array_foreach(subnet == NULL ? net->ipam : NULL, i, c) {
    json_t *gw = json_object_get(c, "Gateway");
    json_array_append_new(subnets, json_pack("{s:O, s:O*}", "AddressPrefix",
                                             json_object_get(c, "Subnet"),
                                             "GatewayAddress", gw));
  }
  char *body = hcsd__nets_dump(json_pack(
      "{s:s*, s:s, s:s, s:o}", "Id", net->hns_id, "Name", net->name, "Type",
      net->internal ? "internal" : "nat", "Subnets", subnets));
  if (body == NULL) {
    *err = NULL;
    return HCS_ERROR_OUTOFMEMORY;
  }
  hcs_hns_network_t *h = NULL;
  hcs_result_t r = hcs_HNSNetworkRequest(n->hcs, "POST", "", body, &h, err);
  free(body);
  if (r == HCS_OK) {
    char *id = strdup(h->id);
    if (id == NULL) {
      (void)hcsd__nets_hns_delete(n, h->id, NULL);
      hcs_hns_network_free(h);
      return HCS_ERROR_OUTOFMEMORY;
    }
    free(net->hns_id);
    net->hns_id = id;
    ipam_from_hns(net, h);
    hcs_hns_network_free(h);
  }
  return r;
}

hcs_result_t hcsd__nets_hns_delete(hcsd_nets_t *n, const char *hns_id,
                                   hcs_error_t **err) {
  hcs_hns_network_t *none = NULL;
  return hcs_HNSNetworkRequest(n->hcs, "DELETE", hns_id, NULL, &none, err);
}

/* The subnets of every HNS network and every record: what a new subnet
 * may not overlap. */
static json_t *subnets_in_use(hcsd_nets_t *n) {
  json_t *used = json_array();
  hcs_hns_network_t *v = NULL;
  size_t nv = 0;
  if (hcs_HNSListNetworkRequest(n->hcs, "GET", "", NULL, &v, &nv, NULL) ==
      HCS_OK) {
    for (size_t i = 0; i < nv; i++) {
      for (size_t j = 0; j < v[i].n_subnets; j++) {
        json_array_append_new(used,
                              json_string(v[i].subnets[j].address_prefix));
      }
    }
    hcs_hns_networks_free(v, nv);
  }
  for (size_t i = 0; i < n->n; i++) {
    size_t k;
    json_t *c;
    json_array_foreach(n->v[i]->ipam, k, c) {
      json_array_append(used, json_object_get(c, "Subnet"));
    }
  }
  return used;
}

static bool overlaps_any(json_t *used, const char *subnet) {
  size_t i;
  json_t *s;
  json_array_foreach(used, i, s) {
    if (prefixes_overlap(json_string_value(s), subnet)) {
      return true;
    }
  }
  return false;
}

/* HNS itself refuses a subnet that overlaps a route of the host; the next
 * candidate is tried then. */
hcs_result_t hcsd__nets_hns_make_auto(hcsd_nets_t *n, hcsd_net_t *net,
                                      hcs_error_t **err) {
  json_t *used = subnets_in_use(n);
  char buf[32];
  const char *s;
  hcs_result_t r = HCS_ERROR_NO_MORE_ITEMS;
  *err = NULL;
  for (size_t i = 0; (s = candidate(i, net->predefined, buf)) != NULL; i++) {
    if (overlaps_any(used, s)) {
      continue;
    }
    hcs_error_free(*err);
    *err = NULL;
    r = hcsd__nets_hns_make(n, net, s, err);
    if (r != HCS_WSAEINVAL ||
        strstr(hcsd__nets_why(*err), "overlaps") == NULL) {
      break;
    }
  }
  json_decref(used);
  if (s == NULL) {
    hcs_error_free(*err);
    *err = NULL;
    r = HCS_ERROR_NO_MORE_ITEMS;
  }
  return r;
}

/* An error of another kind counts as having it: the request that needs
 * the network will say what is wrong. */
bool hcsd__nets_hns_has(hcsd_nets_t *n, const char *hns_id) {
  hcs_hns_network_t *h = NULL;
  hcs_result_t r = hcs_HNSNetworkRequest(n->hcs, "GET", hns_id, NULL, &h, NULL);
  hcs_hns_network_free(h);
  return r != HCS_ERROR_NOT_FOUND;
}

static bool hns_has_endpoint(hcsd_nets_t *n, const char *ep_id) {
  hcs_hns_endpoint_t *e = NULL;
  hcs_result_t r = hcs_HNSEndpointRequest(n->hcs, "GET", ep_id, NULL, &e, NULL);
  hcs_hns_endpoint_free(e);
  return r != HCS_ERROR_NOT_FOUND;
}

/* Brings one record in line with HNS at open (see the top of the file). */
static void reconcile(hcsd_nets_t *n, hcsd_net_t *net) {
  if (net->hns_id == NULL) {
    return;
  }
  if (!hcsd__nets_hns_has(n, net->hns_id)) {
    hcs_error_t *err = NULL;
    (void)hcsd__nets_hns_make(n, net, NULL, &err);
    hcs_error_free(err);
  }
  const char *key;
  void *tmp;
  json_t *ep;
  json_object_foreach_safe(net->containers, tmp, key, ep) {
    const char *id = json_string_value(json_object_get(ep, "EndpointID"));
    if (id == NULL || !hns_has_endpoint(n, id)) {
      /* key is the member's own: it goes with the first delete. */
      json_object_del(n->ports, key);
      json_object_del(net->containers, key);
    }
  }
}

/* ---- open and close ---- */

static int add_predefined(hcsd_nets_t *n) {
  static const char *const names[][2] = {
      {"bridge", "bridge"}, {"host", "host"}, {"none", "null"}};
  for (size_t i = 0; i < 3; i++) {
    if (hcsd__nets_find_name(n, names[i][0]) != NULL) {
      continue;
    }
    char id[65];
    hcsd_random_id(id);
    hcsd_net_t *net = hcsd__net_new(id, names[i][0], names[i][1]);
    if (net == NULL || hcsd__nets_add(n, net) != 0) {
      hcsd__net_free(net);
      return -ENOMEM;
    }
    net->predefined = true;
    net->created = hcsd__nets_now();
    /* Predefined first, in moby's order, as `docker network ls` has them. */
    memmove(&n->v[i + 1], &n->v[i], (n->n - 1 - i) * sizeof(*n->v));
    n->v[i] = net;
  }
  return 0;
}

int hcsd_nets_open(hcs_t *hcs, const char *dir, hcsd_nets_t **out,
                   char **errmsg) {
  *out = NULL;
  *errmsg = NULL;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    return hcsd__nets_fail_msg(errmsg, -1, "mkdir %s: %s", dir,
                               strerror(errno));
  }
  hcsd_nets_t *n = calloc(1, sizeof(*n));
  if (n == NULL || asprintf(&n->path, "%s/" NETS_FILE, dir) < 0) {
    free(n);
    return hcsd__nets_fail_msg(errmsg, -1, "out of memory");
  }
  pthread_mutex_init(&n->lock, NULL);
  pthread_mutex_init(&n->plock, NULL);
  n->hcs = hcs;
  n->ports = json_object();
  n->peers = json_object();
  n->extra = json_object();
  n->aliases = json_object();
  int r = n->ports != NULL && n->peers != NULL && n->extra != NULL &&
                  n->aliases != NULL
              ? nets_load(n, errmsg)
              : hcsd__nets_fail_msg(errmsg, -1, "out of memory");
  if (r == 0 && add_predefined(n) != 0) {
    r = hcsd__nets_fail_msg(errmsg, -1, "out of memory");
  }
  for (size_t i = 0; r == 0 && i < n->n; i++) {
    reconcile(n, n->v[i]);
  }
  if (r == 0 && (r = hcsd__nets_save(n)) != 0) {
    r = hcsd__nets_fail_msg(errmsg, -1, "writing %s: %s", n->path,
                            strerror(-r));
  }
  if (r != 0) {
    hcsd_nets_close(n);
    return -1;
  }
  *out = n;
  return 0;
}

/* The HNS networks stay: they and their endpoints belong to containers
 * that may outlive this hcsd, and the next one finds them by their ids. */
void hcsd_nets_close(hcsd_nets_t *n) {
  if (n == NULL) {
    return;
  }
  for (size_t i = 0; i < n->n; i++) {
    hcsd__net_free(n->v[i]);
  }
  free(n->v);
  free(n->path);
  json_decref(n->ports);
  json_decref(n->peers);
  json_decref(n->extra);
  json_decref(n->aliases);
  pthread_mutex_destroy(&n->plock);
  pthread_mutex_destroy(&n->lock);
  free(n);
}
