/* SPDX-License-Identifier: MIT */
/* The networks module's insides, shared by nets.c (records, networks.json,
 * HNS networks, open/close), netsapi.c (create, list, inspect, remove) and
 * netsattach.c (endpoints of containers). */
#ifndef HCSD_NETSINT_H
#define HCSD_NETSINT_H

#include "hcsd/model/nets.h"

#include <hcs.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A Docker network. Created at "Created"; a predefined one ("bridge",
 * "host", "none") can be neither made nor removed by a client. */
typedef struct hcsd_net_s {
  char id[65]; /* 64 lower-case hex digits */
  char *name;
  char *driver;    /* "bridge", "nat", "host" or "null" */
  char *hns_id;    /* NULL: no HNS network (host, none, bridge not made yet) */
  int64_t created; /* ns since the epoch */
  bool internal, attachable, predefined;
  json_t *labels, *options; /* objects, as the client gave them */
  json_t *ipam;             /* [{"Subnet","Gateway"}], HNS's answer */
  json_t *containers;       /* container id -> {Name, EndpointID, MacAddress,
                               IPv4Address, IPv6Address}, inspect's form */
} hcsd_net_t;

struct hcsd_nets_s {
  pthread_mutex_t lock; /* every field, networks.json, the HNS calls */
  hcs_t *hcs;
  char *path;     /* <dir>/networks.json */
  hcsd_net_t **v; /* predefined first, then in creation order */
  size_t n;
  /* Container id -> its NetworkSettings.Ports while its endpoint lives:
   * written with both locks held, read under either (plock alone for
   * the engine thread, which must not wait out an HNS call). */
  pthread_mutex_t plock;
  json_t *ports;
  /* Container id -> {Name, Hosts (its hosts file), Aliases} while it has
   * an endpoint: what the others on its user networks call it. */
  json_t *peers;
  /* Container id -> {network name -> NetworkSettings.Networks entry}:
   * the networks it was connected to beyond its NetworkMode's, with
   * their endpoints' settings while it runs. Written with both locks
   * held, like ports. */
  json_t *extra;
  /* Container id -> its --network-alias names on its NetworkMode's
   * network, from create to removal. */
  json_t *aliases;
};

/* Sets *reply to {"message": text} and returns status. */
int hcsd__nets_fail(char **reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets *msg to the text (malloc'ed) and returns status. */
int hcsd__nets_fail_msg(char **msg, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The compact text of j (malloc'ed), which is released; NULL on ENOMEM. */
char *hcsd__nets_dump(json_t *j);
/* An hcs error's cause, or a placeholder for none. */
const char *hcsd__nets_why(const hcs_error_t *err);

/* A record of these fields, empty labels, options, IPAM and containers. */
hcsd_net_t *hcsd__net_new(const char *id, const char *name, const char *driver);
void hcsd__net_free(hcsd_net_t *net);
/* Appends net (the store owns it then); 0 or -ENOMEM. */
int hcsd__nets_add(hcsd_nets_t *n, hcsd_net_t *net);
/* Removes and frees net. */
void hcsd__nets_drop(hcsd_nets_t *n, hcsd_net_t *net);
hcsd_net_t *hcsd__nets_find_name(hcsd_nets_t *n, const char *name);
/* As moby finds a network: a full id, then a name, then a unique id
 * prefix. NULL when none; *ambiguous counts the networks a prefix names
 * when it names more than one. */
hcsd_net_t *hcsd__nets_find(hcsd_nets_t *n, const char *ref, size_t *ambiguous);
/* Writes networks.json (a temporary file renamed over it); 0 or -errno. */
int hcsd__nets_save(hcsd_nets_t *n);

/* Makes net's HNS network (Type "internal" for an internal network, else
 * "nat"; net->hns_id when set, else HNS picks a GUID) on subnet, or on
 * the subnets of net->ipam when subnet is NULL; then keeps HNS's id and
 * subnets (gateways filled) in net. */
hcs_result_t hcsd__nets_hns_make(hcsd_nets_t *n, hcsd_net_t *net,
                                 const char *subnet, hcs_error_t **err);
/* The same on the first subnet of hcsd's candidates that overlaps no
 * other network nor a route of the host: 172.18-31.0.0/16 (172.29 first
 * for the predefined bridge), then 192.168.N.0/24. */
hcs_result_t hcsd__nets_hns_make_auto(hcsd_nets_t *n, hcsd_net_t *net,
                                      hcs_error_t **err);
/* Deletes the HNS network; hcs's result. */
hcs_result_t hcsd__nets_hns_delete(hcsd_nets_t *n, const char *hns_id,
                                   hcs_error_t **err);
/* Whether HNS still knows the network (any answer but NOT_FOUND). */
bool hcsd__nets_hns_has(hcsd_nets_t *n, const char *hns_id);

/* netsattach.c: NetworkSettings.Networks[net] for endpoint e (NULL: not
 * running); dns: DNSNames (taken; NULL: null); aliases: Aliases (NULL:
 * null). */
json_t *hcsd__nets_settings(const hcsd_net_t *net, const hcs_hns_endpoint_t *e,
                            json_t *dns, json_t *aliases);

/* netsattach.c: a running container cid joins net (its record in
 * n->extra made already; the endpoint made and added to its system by
 * hcs_ModifyComputeSystem, the names of net rewritten) or leaves it (the
 * endpoint taken from the system and deleted). 0, or the status with
 * *reply. Locked. */
int hcsd__nets_live_add(hcsd_nets_t *n, hcsd_net_t *net, const char *cid,
                        const char *cname, char **reply);
int hcsd__nets_live_remove(hcsd_nets_t *n, hcsd_net_t *net, const char *cid,
                           char **reply);
/* After live_remove and the record's removal: cid's own hosts file
 * without the network. */
void hcsd__nets_live_left(hcsd_nets_t *n, const char *cid);
/* netshosts.c: the names section of cid's own hosts file rewritten
 * (locked). */
void hcsd__nets_hosts_one(hcsd_nets_t *n, const char *cid);

/* netshosts.c: the names section of the hosts file of each member of
 * net rewritten (locked); nothing for a predefined network. */
void hcsd__nets_hosts_refresh(hcsd_nets_t *n, hcsd_net_t *net);
/* Records what the others call container cid (aliases: an array or
 * NULL; hosts: its hosts file or NULL) and the names it links to (its
 * HostConfig.Links: "container[:alias]", or NULL). Locked. */
void hcsd__nets_hosts_join(hcsd_nets_t *n, const char *cid, const char *name,
                           const char *hosts, json_t *aliases, json_t *links);

/* The RFC 3339 text of ns since the epoch, with nanoseconds, UTC. */
void hcsd__nets_time(int64_t ns, char out[40]);
int64_t hcsd__nets_now(void);

#endif
