/* SPDX-License-Identifier: MIT */
/* hcsd's networks on real HNS networks: create, list, inspect and remove
 * in Docker's shape and words, bridges that come and go with them,
 * endpoints attached at container start (an address of the subnet, a veth
 * pair) and detached, the predefined networks, records that survive a
 * restart (and networks HNS lost made again), and every refusal's status.
 *
 * Each test runs in a network namespace of its own, made before the hcs
 * service starts (its engine and worker threads inherit it), so nothing
 * here touches the host's network and tests running at once never meet;
 * the namespace, with every bridge, pair and nftables table in it, goes
 * when the test's process exits. */
#include "hcsd/model/nets.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hcs.h>
#include <jansson.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CID1 "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
#define CID2 "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2"

/* The body `docker network create NAME` sends [trace 18]. */
#define CREATE_BODY(name)                                                      \
  "{\"Attachable\":false,\"ConfigFrom\":null,\"ConfigOnly\":false,"            \
  "\"Driver\":\"bridge\",\"IPAM\":{\"Config\":[],\"Driver\":\"default\","      \
  "\"Options\":{}},\"Ingress\":false,\"Internal\":false,\"Labels\":{},"        \
  "\"Name\":\"" name "\",\"Options\":{},\"Scope\":\"\"}"

static struct {
  char dir[64];
  char hcs_dir[96];
  char nets_dir[96];
  hcs_t *hcs;
  hcsd_nets_t *nets;
} t;

static int rm_cb(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void nets_open(void) {
  char *msg = NULL;
  int r = hcsd_nets_open(t.hcs, t.nets_dir, &t.nets, &msg);
  cr_assert_eq(r, 0, "hcsd_nets_open: %s", msg != NULL ? msg : "");
  cr_assert_null(msg);
}

static void nets_close(void) {
  hcsd_nets_close(t.nets);
  t.nets = NULL;
}

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("HNS networks need root (bridges, veth pairs, nftables)");
  }
  if (unshare(CLONE_NEWNET) != 0) {
    cr_skip_test("unshare(CLONE_NEWNET): %s: the tests never touch the "
                 "host's network",
                 strerror(errno));
  }
  memset(&t, 0, sizeof(t));
  strcpy(t.dir, "/tmp/hcsd-nets-XXXXXX");
  cr_assert_not_null(mkdtemp(t.dir), "mkdtemp: %s", strerror(errno));
  snprintf(t.hcs_dir, sizeof(t.hcs_dir), "%s/hcs", t.dir);
  snprintf(t.nets_dir, sizeof(t.nets_dir), "%s/nets", t.dir);
  hcs_options_t o = {.state_dir = t.hcs_dir};
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&t.hcs, &o, &err), HCS_OK, "hcs_open: %s",
               err != NULL ? hcs_error_message(err) : "");
  nets_open();
}

static void teardown(void) {
  if (t.nets != NULL) {
    nets_close();
  }
  if (t.hcs != NULL) {
    hcs_close(t.hcs);
  }
  if (t.dir[0] != '\0') {
    nftw(t.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  }
}

TestSuite(hcsd_nets, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers ---- */

/* The reply parsed; the call's status must be want. */
static json_t *reply_json(int status, int want, char **replyp) {
  char *reply = *replyp;
  *replyp = NULL;
  cr_assert_eq(status, want, "status %d, wanted %d: %s", status, want,
               reply != NULL ? reply : "(no body)");
  cr_assert_not_null(reply, "status %d without a body", status);
  json_error_t je;
  json_t *j = json_loads(reply, 0, &je);
  cr_assert_not_null(j, "not JSON (%s): %s", je.text, reply);
  free(reply);
  return j;
}

/* The call failed with want and {"message": text}. */
static void expect_error(int status, int want, char **reply, const char *text) {
  json_t *j = reply_json(status, want, reply);
  cr_assert_eq(json_object_size(j), 1);
  const char *m = json_string_value(json_object_get(j, "message"));
  cr_assert_not_null(m);
  cr_assert_str_eq(m, text);
  json_decref(j);
}

static const char *str(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  cr_assert_not_null(s, "no string %s", key);
  return s;
}

static bool is_hex64(const char *s) {
  return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* Creates a network from body; *id its Docker id. */
static void create_ok(const char *body, char id[65]) {
  char *reply = NULL;
  json_t *j = reply_json(hcsd_nets_create(t.nets, body, &reply), 201, &reply);
  cr_assert_eq(json_object_size(j), 2);
  cr_assert(is_hex64(str(j, "Id")), "Id %s", str(j, "Id"));
  cr_assert_str_eq(str(j, "Warning"), "");
  snprintf(id, 65, "%s", str(j, "Id"));
  json_decref(j);
}

static json_t *inspect_ok(const char *ref) {
  char *reply = NULL;
  return reply_json(hcsd_nets_inspect(t.nets, ref, &reply), 200, &reply);
}

static json_t *list_ok(void) {
  char *reply = NULL;
  json_t *j = reply_json(hcsd_nets_list(t.nets, &reply), 200, &reply);
  cr_assert(json_is_array(j));
  return j;
}

static void remove_ok(const char *ref) {
  char *reply = NULL;
  cr_assert_eq(hcsd_nets_remove(t.nets, ref, &reply), 204, "remove %s: %s", ref,
               reply != NULL ? reply : "");
  cr_assert_null(reply);
}

/* The link hcs derives from an HNS id: prefix + 8 hex digits of
 * hcs_NewGUID(id) (include/hcs.h). */
static void link_name(const char *prefix, const char *id, char out[16]) {
  hcs_guid_t g = hcs_NewGUID(id);
  snprintf(out, 16, "%.7s%02x%02x%02x%02x", prefix, g.b[0], g.b[1], g.b[2],
           g.b[3]);
}

static bool link_exists(const char *prefix, const char *id) {
  char name[16];
  link_name(prefix, id, name);
  return if_nametoindex(name) != 0;
}

/* The HNS network hcsd made for a Docker network (HNS names it alike):
 * its id, or "" when there is none. */
static void hns_id_of(const char *name, char out[64]) {
  hcs_hns_network_t *v = NULL;
  size_t n = 0;
  cr_assert_eq(hcs_HNSListNetworkRequest(t.hcs, "GET", "", NULL, &v, &n, NULL),
               HCS_OK);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (strcmp(v[i].name, name) == 0) {
      snprintf(out, 64, "%s", v[i].id);
    }
  }
  hcs_hns_networks_free(v, n);
}

/* Every field of `docker network ls`'s objects, with its fixed values. */
static void check_shape(json_t *n, const char *driver) {
  static const char *const keys[] = {
      "Name",       "Id",         "Created",    "Scope",
      "Driver",     "EnableIPv4", "EnableIPv6", "IPAM",
      "Internal",   "Attachable", "Ingress",    "ConfigFrom",
      "ConfigOnly", "Containers", "Options",    "Labels"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    cr_assert_not_null(json_object_get(n, keys[i]), "no %s", keys[i]);
  }
  cr_assert_eq(json_object_size(n), sizeof(keys) / sizeof(keys[0]));
  cr_assert(is_hex64(str(n, "Id")));
  cr_assert_str_eq(str(n, "Scope"), "local");
  cr_assert_str_eq(str(n, "Driver"), driver);
  cr_assert(json_is_true(json_object_get(n, "EnableIPv4")));
  cr_assert(json_is_false(json_object_get(n, "EnableIPv6")));
  cr_assert(json_is_false(json_object_get(n, "Ingress")));
  cr_assert(json_is_false(json_object_get(n, "ConfigOnly")));
  json_t *ipam = json_object_get(n, "IPAM");
  cr_assert_str_eq(str(ipam, "Driver"), "default");
  cr_assert(json_is_object(json_object_get(ipam, "Options")));
  cr_assert(json_is_array(json_object_get(ipam, "Config")));
  cr_assert_str_eq(str(json_object_get(n, "ConfigFrom"), "Network"), "");
  cr_assert(json_is_object(json_object_get(n, "Containers")));
  cr_assert(json_is_object(json_object_get(n, "Options")));
  cr_assert(json_is_object(json_object_get(n, "Labels")));
  /* RFC 3339 with nanoseconds, UTC: 2026-11-28T06:43:47.254280000Z */
  const char *c = str(n, "Created");
  cr_assert_eq(strlen(c), 30, "Created %s", c);
  cr_assert(c[4] == '-' && c[10] == 'T' && c[19] == '.' && c[29] == 'Z',
            "Created %s", c);
}

/* Whether a dotted quad lies in prefix "a.b.c.d/n". */
static bool in_subnet(const char *ip, const char *prefix) {
  char net[32];
  unsigned len = 0;
  cr_assert_eq(sscanf(prefix, "%31[0-9.]/%u", net, &len), 2, "%s", prefix);
  struct in_addr a, b;
  cr_assert_eq(inet_pton(AF_INET, ip, &a), 1, "%s", ip);
  cr_assert_eq(inet_pton(AF_INET, net, &b), 1, "%s", net);
  uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
  return (ntohl(a.s_addr) & mask) == (ntohl(b.s_addr) & mask);
}

static const char *subnet_of(json_t *n, size_t i) {
  json_t *c =
      json_array_get(json_object_get(json_object_get(n, "IPAM"), "Config"), i);
  cr_assert_not_null(c, "no IPAM.Config[%zu]", i);
  return str(c, "Subnet");
}

typedef struct attached_s {
  char *endpoint_id, *name;
  json_t *settings;
} attached_t;

static void attach_ok(const char *mode, const char *cid, attached_t *a) {
  char *settings = NULL, *msg = NULL;
  int r = hcsd_nets_attach(t.nets, mode, cid, &a->endpoint_id, &a->name,
                           &settings, &msg);
  cr_assert_eq(r, 0, "attach %s: %d %s", mode, r, msg != NULL ? msg : "");
  cr_assert_null(msg);
  cr_assert_not_null(a->name);
  cr_assert_not_null(settings);
  a->settings = json_loads(settings, 0, NULL);
  cr_assert_not_null(a->settings, "%s", settings);
  free(settings);
}

static void attached_free(attached_t *a) {
  free(a->endpoint_id);
  free(a->name);
  json_decref(a->settings);
}

static void attach_fails(const char *mode, int status, const char *text) {
  char *ep = NULL, *name = NULL, *settings = NULL, *msg = NULL;
  int r = hcsd_nets_attach(t.nets, mode, CID1, &ep, &name, &settings, &msg);
  cr_assert_eq(r, status, "attach %s: %d", mode, r);
  cr_assert_null(ep);
  cr_assert_null(name);
  cr_assert_null(settings);
  cr_assert_not_null(msg);
  cr_assert_not_null(strstr(msg, text), "\"%s\" lacks \"%s\"", msg, text);
  free(msg);
}

/* ---- tests ---- */

Test(hcsd_nets, predefined_networks) {
  json_t *list = list_ok();
  cr_assert_geq(json_array_size(list), 3);
  static const char *const names[][2] = {
      {"bridge", "bridge"}, {"host", "host"}, {"none", "null"}};
  for (size_t i = 0; i < 3; i++) {
    json_t *n = json_array_get(list, i);
    cr_assert_str_eq(str(n, "Name"), names[i][0]);
    check_shape(n, names[i][1]);
    char *reply = NULL;
    expect_error(hcsd_nets_remove(t.nets, names[i][0], &reply), 403, &reply,
                 names[i][0][0] == 'b'
                     ? "bridge is a pre-defined network and cannot be removed"
                 : names[i][0][0] == 'h'
                     ? "host is a pre-defined network and cannot be removed"
                     : "none is a pre-defined network and cannot be removed");
  }
  cr_assert_str_neq(str(json_array_get(list, 0), "Id"),
                    str(json_array_get(list, 1), "Id"));
  /* Removal by id is refused as well. */
  char *reply = NULL;
  expect_error(
      hcsd_nets_remove(t.nets, str(json_array_get(list, 0), "Id"), &reply), 403,
      &reply, "bridge is a pre-defined network and cannot be removed");
  json_decref(list);

  /* "bridge" gets its HNS network on first use, not before. */
  char hid[64];
  hns_id_of("bridge", hid);
  cr_assert_str_eq(hid, "");
  json_t *b = inspect_ok("bridge");
  cr_assert_eq(
      json_array_size(json_object_get(json_object_get(b, "IPAM"), "Config")),
      0);
  json_decref(b);

  expect_error(hcsd_nets_create(t.nets, CREATE_BODY("bridge"), &reply), 403,
               &reply,
               "operation is not permitted on predefined bridge network");
  expect_error(
      hcsd_nets_create(t.nets, "{\"Name\":\"h2\",\"Driver\":\"host\"}", &reply),
      403, &reply, "only one instance of \"host\" network is allowed");
}

Test(hcsd_nets, create_inspect_list_remove) {
  char id[65];
  create_ok(CREATE_BODY("n1"), id);

  char hid[64];
  hns_id_of("n1", hid);
  cr_assert_neq(hid[0], '\0', "no HNS network for n1");
  cr_assert(link_exists("hcs", hid), "no bridge for n1");

  json_t *n = inspect_ok("n1");
  check_shape(n, "bridge");
  cr_assert_str_eq(str(n, "Name"), "n1");
  cr_assert_str_eq(str(n, "Id"), id);
  cr_assert(json_is_false(json_object_get(n, "Internal")));
  cr_assert(json_is_false(json_object_get(n, "Attachable")));
  cr_assert_eq(json_object_size(json_object_get(n, "Containers")), 0);
  json_t *cfg =
      json_array_get(json_object_get(json_object_get(n, "IPAM"), "Config"), 0);
  cr_assert_not_null(cfg, "no IPAM.Config");
  cr_assert(in_subnet(str(cfg, "Gateway"), str(cfg, "Subnet")));
  char subnet[32];
  snprintf(subnet, sizeof(subnet), "%s", str(cfg, "Subnet"));

  /* By full id and by a unique prefix: the same network. */
  char prefix[13];
  memcpy(prefix, id, 12);
  prefix[12] = '\0';
  const char *refs[] = {id, prefix};
  for (size_t i = 0; i < 2; i++) {
    json_t *m = inspect_ok(refs[i]);
    cr_assert_str_eq(str(m, "Id"), id);
    cr_assert_str_eq(str(m, "Created"), str(n, "Created"));
    cr_assert_str_eq(subnet_of(m, 0), subnet);
    json_decref(m);
  }
  json_decref(n);

  json_t *list = list_ok();
  cr_assert_eq(json_array_size(list), 4);
  json_t *e = json_array_get(list, 3);
  check_shape(e, "bridge");
  cr_assert_str_eq(str(e, "Name"), "n1");
  cr_assert_str_eq(str(e, "Id"), id);
  cr_assert_str_eq(subnet_of(e, 0), subnet);
  json_decref(list);

  remove_ok("n1");
  cr_assert(!link_exists("hcs", hid), "the bridge stays after remove");
  hns_id_of("n1", hid);
  cr_assert_str_eq(hid, "");
  char *reply = NULL;
  expect_error(hcsd_nets_inspect(t.nets, "n1", &reply), 404, &reply,
               "network n1 not found");
  char msg[128];
  snprintf(msg, sizeof(msg), "network %s not found", id);
  expect_error(hcsd_nets_inspect(t.nets, id, &reply), 404, &reply, msg);
}

Test(hcsd_nets, not_found_statuses) {
  char *reply = NULL;
  expect_error(hcsd_nets_inspect(t.nets, "nosuch", &reply), 404, &reply,
               "network nosuch not found");
  expect_error(hcsd_nets_remove(t.nets, "nosuch", &reply), 404, &reply,
               "network nosuch not found");
  attach_fails("nosuch", 500, "network nosuch not found");
  cr_assert_eq(hcsd_nets_detach(t.nets, "0123456789abcdef"), 0);
}

Test(hcsd_nets, create_refusals) {
  char id[65], *reply = NULL;
  create_ok(CREATE_BODY("n1"), id);
  expect_error(hcsd_nets_create(t.nets, CREATE_BODY("n1"), &reply), 409, &reply,
               "network with name n1 already exists");

  static const char *const bad[] = {
      "{\"Name\":\"x\",",
      "",
      "[]",
      "{\"Driver\":\"bridge\"}",
      "{\"Name\":\"\"}",
      "{\"Name\":\"a b\"}",
      "{\"Name\":7}",
      "{\"Name\":\"x\",\"Labels\":[]}",
      "{\"Name\":\"x\",\"Labels\":{\"a\":1}}",
      "{\"Name\":\"x\",\"Internal\":\"yes\"}",
      "{\"Name\":\"x\",\"EnableIPv6\":true}",
      "{\"Name\":\"x\",\"Ingress\":true}",
      "{\"Name\":\"x\",\"Scope\":\"swarm\"}",
      "{\"Name\":\"x\",\"IPAM\":{\"Config\":[{\"Subnet\":\"fd00::/64\"}]}}",
      "{\"Name\":\"x\",\"IPAM\":{\"Config\":[{\"Gateway\":\"10.1.1.1\"}]}}",
      ("{\"Name\":\"x\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.1.1.0/24\","
       "\"IPRange\":\"10.1.1.0/25\"}]}}"),
      "{\"Name\":\"x\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.1.1.7/24\"}]}}",
      "{\"Name\":\"x\",\"IPAM\":{\"Config\":[{\"Subnet\":\"nonsense\"}]}}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_t *j =
        reply_json(hcsd_nets_create(t.nets, bad[i], &reply), 400, &reply);
    cr_assert_gt(strlen(str(j, "message")), 0, "body %s", bad[i]);
    json_decref(j);
  }
  expect_error(hcsd_nets_create(
                   t.nets, "{\"Name\":\"x\",\"Driver\":\"overlay\"}", &reply),
               400, &reply, "plugin \"overlay\" not found");
  expect_error(hcsd_nets_create(t.nets,
                                "{\"Name\":\"x\",\"IPAM\":{\"Driver\":"
                                "\"infoblox\"}}",
                                &reply),
               400, &reply, "plugin \"infoblox\" not found");

  /* A subnet that overlaps n1's: refused by HNS, nothing kept. */
  json_t *n1 = inspect_ok("n1");
  char body[256];
  snprintf(body, sizeof(body),
           "{\"Name\":\"x\",\"IPAM\":{\"Config\":[{\"Subnet\":\"%s\"}]}}",
           subnet_of(n1, 0));
  json_decref(n1);
  json_t *j = reply_json(hcsd_nets_create(t.nets, body, &reply), 400, &reply);
  cr_assert_not_null(strstr(str(j, "message"), "overlaps"), "%s",
                     str(j, "message"));
  json_decref(j);

  json_t *list = list_ok();
  cr_assert_eq(json_array_size(list), 4, "a refused create left a record");
  json_decref(list);
}

Test(hcsd_nets, ipam_labels_options_honoured) {
  char id[65];
  create_ok("{\"Name\":\"lan\",\"Driver\":\"nat\",\"Internal\":true,"
            "\"Attachable\":true,\"Labels\":{\"team\":\"net\"},"
            "\"Options\":{\"com.docker.network.driver.mtu\":\"1400\"},"
            "\"IPAM\":{\"Driver\":\"default\",\"Config\":[{\"Subnet\":"
            "\"10.77.0.0/24\",\"Gateway\":\"10.77.0.254\"}]}}",
            id);
  json_t *n = inspect_ok("lan");
  check_shape(n, "nat");
  cr_assert(json_is_true(json_object_get(n, "Internal")));
  cr_assert(json_is_true(json_object_get(n, "Attachable")));
  cr_assert_str_eq(str(json_object_get(n, "Labels"), "team"), "net");
  cr_assert_str_eq(
      str(json_object_get(n, "Options"), "com.docker.network.driver.mtu"),
      "1400");
  json_t *cfg =
      json_array_get(json_object_get(json_object_get(n, "IPAM"), "Config"), 0);
  cr_assert_str_eq(str(cfg, "Subnet"), "10.77.0.0/24");
  cr_assert_str_eq(str(cfg, "Gateway"), "10.77.0.254");
  json_decref(n);

  attached_t a = {0};
  attach_ok("lan", CID1, &a);
  cr_assert_str_eq(a.name, "lan");
  cr_assert_str_eq(str(a.settings, "IPAddress"), "10.77.0.1");
  cr_assert_str_eq(str(a.settings, "Gateway"), "10.77.0.254");
  cr_assert_eq(json_integer_value(json_object_get(a.settings, "IPPrefixLen")),
               24);
  cr_assert_eq(hcsd_nets_detach(t.nets, a.endpoint_id), 0);
  attached_free(&a);
  remove_ok(id);
}

Test(hcsd_nets, picked_subnets_do_not_overlap) {
  char a[65], b[65];
  create_ok(CREATE_BODY("a"), a);
  create_ok(CREATE_BODY("b"), b);
  json_t *na = inspect_ok("a"), *nb = inspect_ok("b");
  const char *sa = subnet_of(na, 0), *sb = subnet_of(nb, 0);
  char neta[32], netb[32];
  cr_assert_eq(sscanf(sa, "%31[0-9.]", neta), 1);
  cr_assert_eq(sscanf(sb, "%31[0-9.]", netb), 1);
  cr_assert(!in_subnet(neta, sb) && !in_subnet(netb, sa), "%s and %s overlap",
            sa, sb);
  json_decref(na);
  json_decref(nb);
}

Test(hcsd_nets, attach_detach) {
  char id[65];
  create_ok(CREATE_BODY("n1"), id);
  json_t *n = inspect_ok("n1");
  char subnet[32], gateway[32];
  snprintf(subnet, sizeof(subnet), "%s", subnet_of(n, 0));
  snprintf(gateway, sizeof(gateway), "%s",
           str(json_array_get(
                   json_object_get(json_object_get(n, "IPAM"), "Config"), 0),
               "Gateway"));
  json_decref(n);

  attached_t a = {0};
  attach_ok("n1", CID1, &a);
  cr_assert_not_null(a.endpoint_id);
  cr_assert(is_hex64(a.endpoint_id), "%s", a.endpoint_id);
  cr_assert_str_eq(a.name, "n1");
  cr_assert(link_exists("hcsv", a.endpoint_id), "no host end of the pair");
  cr_assert(link_exists("hcsp", a.endpoint_id), "no container end");

  json_t *s = a.settings;
  static const char *const nulls[] = {"IPAMConfig", "Links", "Aliases",
                                      "DriverOpts", "DNSNames"};
  for (size_t i = 0; i < 5; i++) {
    cr_assert(json_is_null(json_object_get(s, nulls[i])), "%s", nulls[i]);
  }
  cr_assert_eq(json_object_size(s), 14);
  cr_assert_str_eq(str(s, "NetworkID"), id);
  cr_assert_str_eq(str(s, "EndpointID"), a.endpoint_id);
  cr_assert_str_eq(str(s, "Gateway"), gateway);
  const char *ip = str(s, "IPAddress");
  cr_assert(in_subnet(ip, subnet), "%s outside %s", ip, subnet);
  cr_assert_str_neq(ip, gateway);
  unsigned len = 0;
  cr_assert_eq(sscanf(strchr(subnet, '/'), "/%u", &len), 1);
  cr_assert_eq(json_integer_value(json_object_get(s, "IPPrefixLen")), len);
  const char *mac = str(s, "MacAddress");
  cr_assert_eq(strlen(mac), 17, "%s", mac);
  cr_assert_eq(strspn(mac, "0123456789abcdef:"), 17, "%s", mac);
  cr_assert_str_eq(str(s, "IPv6Gateway"), "");
  cr_assert_str_eq(str(s, "GlobalIPv6Address"), "");
  cr_assert_eq(json_integer_value(json_object_get(s, "GlobalIPv6PrefixLen")),
               0);

  /* A second container: another address. */
  attached_t b = {0};
  attach_ok(id, CID2, &b);
  cr_assert_str_neq(str(b.settings, "IPAddress"), ip);

  n = inspect_ok("n1");
  json_t *ctrs = json_object_get(n, "Containers");
  cr_assert_eq(json_object_size(ctrs), 2);
  json_t *c = json_object_get(ctrs, CID1);
  cr_assert_not_null(c);
  cr_assert_eq(json_object_size(c), 5);
  cr_assert_str_eq(str(c, "Name"), CID1);
  cr_assert_str_eq(str(c, "EndpointID"), a.endpoint_id);
  cr_assert_str_eq(str(c, "MacAddress"), mac);
  char want[64];
  snprintf(want, sizeof(want), "%s/%u", ip, len);
  cr_assert_str_eq(str(c, "IPv4Address"), want);
  cr_assert_str_eq(str(c, "IPv6Address"), "");
  json_decref(n);

  char *reply = NULL, msg[256];
  snprintf(msg, sizeof(msg),
           "error while removing network: network n1 id %s has active "
           "endpoints",
           id);
  expect_error(hcsd_nets_remove(t.nets, "n1", &reply), 403, &reply, msg);

  cr_assert_eq(hcsd_nets_detach(t.nets, a.endpoint_id), 0);
  cr_assert(!link_exists("hcsv", a.endpoint_id), "the pair stays");
  cr_assert_eq(hcsd_nets_detach(t.nets, a.endpoint_id), 0, "not idempotent");
  expect_error(hcsd_nets_remove(t.nets, "n1", &reply), 403, &reply, msg);
  cr_assert_eq(hcsd_nets_detach(t.nets, b.endpoint_id), 0);

  n = inspect_ok("n1");
  cr_assert_eq(json_object_size(json_object_get(n, "Containers")), 0);
  json_decref(n);
  remove_ok("n1");
  attached_free(&a);
  attached_free(&b);
}

Test(hcsd_nets, attach_modes) {
  /* "", "default" and "bridge": the predefined bridge, made now on its
   * preferred subnet (free in this fresh namespace). */
  const char *modes[] = {"", "default", "bridge"};
  const char *cids[] = {CID1, CID2, "c3"};
  attached_t a[3] = {{0}};
  for (size_t i = 0; i < 3; i++) {
    attach_ok(modes[i], cids[i], &a[i]);
    cr_assert_str_eq(a[i].name, "bridge");
    cr_assert(in_subnet(str(a[i].settings, "IPAddress"), "172.29.0.0/16"));
  }
  char hid[64];
  hns_id_of("bridge", hid);
  cr_assert(link_exists("hcs", hid), "no bridge for \"bridge\"");
  json_t *b = inspect_ok("bridge");
  cr_assert_str_eq(subnet_of(b, 0), "172.29.0.0/16");
  cr_assert_eq(json_object_size(json_object_get(b, "Containers")), 3);
  cr_assert_str_eq(str(a[0].settings, "NetworkID"), str(b, "Id"));
  json_decref(b);
  char *reply = NULL;
  expect_error(hcsd_nets_remove(t.nets, "bridge", &reply), 403, &reply,
               "bridge is a pre-defined network and cannot be removed");
  for (size_t i = 0; i < 3; i++) {
    cr_assert_eq(hcsd_nets_detach(t.nets, a[i].endpoint_id), 0);
    attached_free(&a[i]);
  }

  /* host: no endpoint, no namespace of its own. */
  attached_t h = {0};
  attach_ok("host", CID1, &h);
  cr_assert_null(h.endpoint_id);
  cr_assert_str_eq(h.name, "host");
  json_t *hn = inspect_ok("host");
  cr_assert_str_eq(str(h.settings, "NetworkID"), str(hn, "Id"));
  cr_assert_str_eq(str(h.settings, "EndpointID"), "");
  json_decref(hn);
  attached_free(&h);

  /* none: no endpoint either (the system's own namespace, loopback only). */
  attached_t z = {0};
  attach_ok("none", CID1, &z);
  cr_assert_null(z.endpoint_id);
  attached_free(&z);
  attach_fails("container:" CID2, 500, "not supported");
  attach_fails("n9", 500, "network n9 not found");
}

Test(hcsd_nets, records_survive_a_restart) {
  char id[65];
  create_ok("{\"Name\":\"keep\",\"Labels\":{\"k\":\"v\"},\"IPAM\":{\"Config\":"
            "[{\"Subnet\":\"10.88.0.0/24\"}]}}",
            id);
  attached_t a = {0};
  attach_ok("keep", CID1, &a);
  json_t *before = list_ok();
  char hid[64];
  hns_id_of("keep", hid);

  nets_close();
  nets_open();
  json_t *after = list_ok();
  cr_assert_eq(json_array_size(after), json_array_size(before));
  for (size_t i = 0; i < json_array_size(before); i++) {
    json_t *x = json_array_get(before, i), *y = json_array_get(after, i);
    cr_assert(json_equal(x, y), "network %zu changed over the restart", i);
  }
  json_t *n = inspect_ok("keep");
  json_t *c = json_object_get(json_object_get(n, "Containers"), CID1);
  cr_assert_not_null(c, "the attached endpoint was forgotten");
  cr_assert_str_eq(str(c, "EndpointID"), a.endpoint_id);
  json_decref(n);
  char *reply = NULL;
  json_t *j = reply_json(hcsd_nets_remove(t.nets, "keep", &reply), 403, &reply);
  json_decref(j);
  cr_assert_eq(hcsd_nets_detach(t.nets, a.endpoint_id), 0);
  attached_free(&a);

  /* HNS loses the network behind hcsd's back: the next open makes it
   * again, same id, same subnet. */
  hcs_hns_network_t *gone = NULL;
  cr_assert_eq(hcs_HNSNetworkRequest(t.hcs, "DELETE", hid, NULL, &gone, NULL),
               HCS_OK);
  cr_assert(!link_exists("hcs", hid));
  nets_close();
  nets_open();
  cr_assert(link_exists("hcs", hid), "the lost network was not made again");
  n = inspect_ok(id);
  cr_assert_str_eq(str(n, "Name"), "keep");
  cr_assert_str_eq(subnet_of(n, 0), "10.88.0.0/24");
  cr_assert_str_eq(str(json_object_get(n, "Labels"), "k"), "v");
  json_decref(n);
  attach_ok("keep", CID2, &a);
  cr_assert(in_subnet(str(a.settings, "IPAddress"), "10.88.0.0/24"));
  cr_assert_eq(hcsd_nets_detach(t.nets, a.endpoint_id), 0);
  attached_free(&a);
  remove_ok("keep");
  json_decref(before);
  json_decref(after);
}

Test(hcsd_nets, a_damaged_file_is_refused) {
  nets_close();
  char path[160];
  snprintf(path, sizeof(path), "%s/networks.json", t.nets_dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("{\"Networks\":[{\"Name\":1}]}", f);
  fclose(f);
  char *msg = NULL;
  cr_assert_eq(hcsd_nets_open(t.hcs, t.nets_dir, &t.nets, &msg), -1);
  cr_assert_null(t.nets);
  cr_assert_not_null(msg);
  cr_assert_not_null(strstr(msg, "networks.json"), "%s", msg);
  free(msg);
}

typedef struct racer_s {
  char name[16];
  int status;
} racer_t;

static void *racer(void *arg) {
  racer_t *r = arg;
  char body[128], *reply = NULL;
  snprintf(body, sizeof(body), "{\"Name\":\"%s\"}", r->name);
  r->status = hcsd_nets_create(t.nets, body, &reply);
  free(reply);
  return NULL;
}

Test(hcsd_nets, creates_from_many_threads) {
  enum { N = 6 };
  racer_t r[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    snprintf(r[i].name, sizeof(r[i].name), "race%d", i);
    cr_assert_eq(pthread_create(&th[i], NULL, racer, &r[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(r[i].status, 201, "%s: %d", r[i].name, r[i].status);
  }
  json_t *list = list_ok();
  cr_assert_eq(json_array_size(list), 3 + N);
  for (size_t i = 3; i < 3 + N; i++) {
    for (size_t k = i + 1; k < 3 + N; k++) {
      cr_assert_str_neq(subnet_of(json_array_get(list, i), 0),
                        subnet_of(json_array_get(list, k), 0));
    }
  }
  json_decref(list);
}

Test(hcsd_nets, lost_endpoints_are_forgotten_on_open) {
  char id[65];
  create_ok(CREATE_BODY("n1"), id);
  attached_t a = {0};
  attach_ok("n1", CID1, &a);
  hcs_hns_endpoint_t *gone = NULL;
  cr_assert_eq(
      hcs_HNSEndpointRequest(t.hcs, "DELETE", a.endpoint_id, NULL, &gone, NULL),
      HCS_OK);
  nets_close();
  nets_open();
  json_t *n = inspect_ok("n1");
  cr_assert_eq(json_object_size(json_object_get(n, "Containers")), 0);
  json_decref(n);
  cr_assert_eq(hcsd_nets_detach(t.nets, a.endpoint_id), 0);
  attached_free(&a);
  remove_ok("n1");
}
