/* SPDX-License-Identifier: MIT */
/* Published ports (ports.h). A mapping is an HNS NAT policy of the
 * container's endpoint: libhcs writes it into the network's nftables
 * table (a DNAT of traffic addressed to the host) and takes it out when
 * the endpoint goes at the container's exit.
 *
 * hcsd is IPv4-only, so a binding listens on 0.0.0.0 alone (dockerd adds
 * "::" beside it), and a HostIp other than 0.0.0.0 is refused: HNS's NAT
 * policy has no host address (Windows' dockerd refuses it too).
 *
 * A host port is the host's: one mapping per port and protocol across
 * every container and network (HNS checks it again), and a port that a
 * process of the host listens on is refused, as dockerd's userland proxy
 * fails to bind it. */
#include "hcsd/model/ports.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "80", "80/tcp", "53/udp": the port and whether UDP; false otherwise. */
static bool key_parse(const char *k, unsigned *port, bool *udp) {
  char *end = NULL;
  errno = 0;
  unsigned long p = strtoul(k, &end, 10);
  if (errno != 0 || end == k || k[0] < '0' || k[0] > '9' || p == 0 ||
      p > 65535) {
    return false;
  }
  *port = (unsigned)p;
  *udp = strcmp(end, "/udp") == 0;
  return *end == '\0' || strcmp(end, "/tcp") == 0 || *udp;
}

/* HostPort: "" (any: lo = hi = 0), "N" or "N-M". */
static bool host_port_parse(const char *s, unsigned *lo, unsigned *hi) {
  *lo = *hi = 0;
  if (s == NULL || s[0] == '\0') {
    return true;
  }
  char *end = NULL;
  unsigned long a = strtoul(s, &end, 10), b = a;
  if (end == s || s[0] < '0' || s[0] > '9') {
    return false;
  }
  if (*end == '-') {
    const char *m = end + 1;
    b = strtoul(m, &end, 10);
    if (end == m || m[0] < '0' || m[0] > '9') {
      return false;
    }
  }
  if (*end != '\0' || a == 0 || a > 65535 || b < a || b > 65535) {
    return false;
  }
  *lo = (unsigned)a;
  *hi = (unsigned)b;
  return true;
}

static bool mode_is(const char *nm, const char *what) {
  return nm != NULL && strcmp(nm, what) == 0;
}

static int check_keys(json_t *obj, const char *field, hcsd_err_t *e) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    unsigned port;
    bool udp;
    if (!key_parse(k, &port, &udp)) {
      hcsd_err_set(e, 400,
                   "invalid port \"%s\" in %s: hcsd takes PORT, PORT/tcp or "
                   "PORT/udp (sctp is not supported)",
                   k, field);
      return -1;
    }
  }
  return 0;
}

static int check_binding(const char *k, size_t i, json_t *b, hcsd_err_t *e) {
  const char *ip = json_string_value(json_object_get(b, "HostIp"));
  json_t *hp = json_object_get(b, "HostPort");
  unsigned lo, hi;
  if (!json_is_object(b) || (hp != NULL && !json_is_string(hp))) {
    hcsd_err_set(e, 400,
                 "json: cannot unmarshal the value of "
                 "HostConfig.PortBindings.%s[%zu]",
                 k, i);
    return -1;
  }
  if (ip != NULL && ip[0] != '\0' && strcmp(ip, "0.0.0.0") != 0) {
    hcsd_err_set(e, 400,
                 "hcsd does not support --publish with a host address "
                 "(HostConfig.PortBindings.%s[%zu].HostIp \"%s\"): its port "
                 "mappings listen on every IPv4 address of the host",
                 k, i, ip);
    return -1;
  }
  if (!host_port_parse(json_string_value(hp), &lo, &hi)) {
    hcsd_err_set(e, 400, "invalid hostPort: %s (HostConfig.PortBindings.%s)",
                 json_string_value(hp), k);
    return -1;
  }
  return 0;
}

int hcsd_ports_check(json_t *config, json_t *hc, const char *nm,
                     hcsd_err_t *e) {
  json_t *exposed = json_object_get(config, "ExposedPorts");
  json_t *pb = json_object_get(hc, "PortBindings");
  bool all = json_is_true(json_object_get(hc, "PublishAllPorts"));
  if ((exposed != NULL && !json_is_null(exposed) && !json_is_object(exposed)) ||
      (pb != NULL && !json_is_null(pb) && !json_is_object(pb))) {
    hcsd_err_set(e, 400, "json: cannot unmarshal the value of %s",
                 json_is_object(pb) || pb == NULL || json_is_null(pb)
                     ? "ExposedPorts"
                     : "HostConfig.PortBindings");
    return -1;
  }
  if (check_keys(exposed, "ExposedPorts", e) != 0 ||
      check_keys(pb, "HostConfig.PortBindings", e) != 0) {
    return -1;
  }
  const char *k;
  json_t *v;
  bool publishes = all;
  json_object_foreach(pb, k, v) {
    if (!json_is_array(v) && !json_is_null(v)) {
      hcsd_err_set(e, 400,
                   "json: cannot unmarshal the value of "
                   "HostConfig.PortBindings.%s",
                   k);
      return -1;
    }
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
      if (check_binding(k, i, b, e) != 0) {
        return -1;
      }
      publishes = true;
    }
  }
  if (publishes && (mode_is(nm, "host") || mode_is(nm, "none") ||
                    (nm != NULL && strncmp(nm, "container:", 10) == 0))) {
    hcsd_err_set(e, 400,
                 "conflicting options: port publishing and the network mode "
                 "\"%s\" (HostConfig.PortBindings, PublishAllPorts): a "
                 "container there has no endpoint to map ports to",
                 nm);
    return -1;
  }
  return 0;
}

/* ---- the mappings in use ---- */

static bool view_has(json_t *view, bool udp, unsigned port) {
  const char *k;
  json_t *arr;
  json_object_foreach(view, k, arr) {
    unsigned p;
    bool u;
    if (!key_parse(k, &p, &u) || u != udp) {
      continue;
    }
    size_t i;
    json_t *b;
    json_array_foreach(arr, i, b) {
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      if (hp != NULL && strtoul(hp, NULL, 10) == port) {
        return true;
      }
    }
  }
  return false;
}

bool hcsd__ports_taken(json_t *view, bool nested, bool udp, unsigned port) {
  if (!nested) {
    return view_has(view, udp, port);
  }
  const char *k;
  json_t *v;
  json_object_foreach(view, k, v) {
    if (view_has(v, udp, port)) {
      return true;
    }
  }
  return false;
}

/* Whether a process of the host holds proto/port on 0.0.0.0 (or any
 * address: bind fails the same). TCP with SO_REUSEADDR, so that a
 * connection in TIME_WAIT does not count. */
static bool host_bound(bool udp, unsigned port) {
  int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (s < 0) {
    return false;
  }
  int one = 1;
  if (!udp) {
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_ANY)};
  bool bound =
      bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == EADDRINUSE;
  close(s);
  return bound;
}

/* The kernel's ephemeral range, where dockerd picks a port for "". */
static void dynamic_range(unsigned *lo, unsigned *hi) {
  *lo = 32768;
  *hi = 60999;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
  unsigned a, b;
  if (f != NULL && fscanf(f, "%u %u", &a, &b) == 2 && a > 0 && a <= b &&
      b <= 65535) {
    *lo = a;
    *hi = b;
  }
  if (f != NULL) {
    fclose(f);
  }
}

typedef struct plan_s {
  json_t *in_use; /* other containers' views, keyed by id */
  json_t *view;   /* this container's, so far */
  json_t *policies;
  const char *ctr;
  char **errmsg;
} plan_t;

static int plan_fail(plan_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int plan_fail(plan_t *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(p->errmsg, fmt, ap) < 0) {
    *p->errmsg = NULL;
  }
  va_end(ap);
  return 500;
}

static bool port_free(plan_t *p, bool udp, unsigned port) {
  return !hcsd__ports_taken(p->in_use, true, udp, port) &&
         !hcsd__ports_taken(p->view, false, udp, port) &&
         !host_bound(udp, port);
}

/* One binding of key (port/proto): a host port from [lo, hi] (the
 * dynamic range for 0), its policy and its entry in the view. */
static int plan_one(plan_t *p, const char *key, unsigned port, bool udp,
                    unsigned lo, unsigned hi) {
  bool any = lo == 0;
  if (any) {
    dynamic_range(&lo, &hi);
  }
  unsigned hp = 0;
  for (unsigned c = lo; hp == 0 && c <= hi; c++) {
    hp = port_free(p, udp, c) ? c : 0;
  }
  const char *proto = udp ? "udp" : "tcp";
  if (hp == 0 && lo == hi &&
      (hcsd__ports_taken(p->in_use, true, udp, lo) ||
       hcsd__ports_taken(p->view, false, udp, lo))) {
    return plan_fail(p,
                     "driver failed programming external connectivity on "
                     "endpoint %s: Bind for 0.0.0.0:%u failed: port is "
                     "already allocated",
                     p->ctr, lo);
  }
  if (hp == 0 && lo == hi) {
    return plan_fail(p,
                     "driver failed programming external connectivity on "
                     "endpoint %s: Error starting userland proxy: listen "
                     "%s4 0.0.0.0:%u: bind: address already in use",
                     p->ctr, proto, lo);
  }
  if (hp == 0) {
    return plan_fail(p,
                     "driver failed programming external connectivity on "
                     "endpoint %s: no free host port in %u-%u for %s",
                     p->ctr, lo, hi, key);
  }
  char text[16];
  snprintf(text, sizeof(text), "%u", hp);
  json_t *arr = json_object_get(p->view, key);
  if (!json_is_array(arr)) {
    json_object_set_new(p->view, key, arr = json_array());
  }
  json_array_append_new(
      arr, json_pack("{s:s, s:s}", "HostIp", "0.0.0.0", "HostPort", text));
  json_array_append_new(p->policies,
                        json_pack("{s:s, s:s, s:i, s:i}", "Type", "NAT",
                                  "Protocol", proto, "InternalPort", (int)port,
                                  "ExternalPort", (int)hp));
  return 0;
}

/* "80" as "80/tcp": the view's keys are always with the protocol. */
static void key_full(const char *k, char out[24]) {
  unsigned port = 0;
  bool udp = false;
  (void)key_parse(k, &port, &udp);
  snprintf(out, 24, "%u/%s", port, udp ? "udp" : "tcp");
}

static int plan_bindings(plan_t *p, json_t *pb) {
  const char *k;
  json_t *v;
  json_object_foreach(pb, k, v) {
    unsigned port;
    bool udp;
    char key[24];
    if (!key_parse(k, &port, &udp)) {
      continue; /* refused at create */
    }
    key_full(k, key);
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
      unsigned lo, hi;
      if (!host_port_parse(json_string_value(json_object_get(b, "HostPort")),
                           &lo, &hi)) {
        continue;
      }
      int st = plan_one(p, key, port, udp, lo, hi);
      if (st != 0) {
        return st;
      }
    }
  }
  return 0;
}

/* Every exposed or bound port has its key; with PublishAllPorts, a port
 * without a binding gets one of the dynamic range. */
static int plan_exposed(plan_t *p, json_t *keys, bool all) {
  const char *k;
  json_t *v;
  json_object_foreach(keys, k, v) {
    unsigned port;
    bool udp;
    char key[24];
    if (!key_parse(k, &port, &udp)) {
      continue;
    }
    key_full(k, key);
    if (json_object_get(p->view, key) != NULL) {
      continue;
    }
    if (all) {
      int st = plan_one(p, key, port, udp, 0, 0);
      if (st != 0) {
        return st;
      }
    } else {
      json_object_set_new(p->view, key, json_null());
    }
  }
  return 0;
}

int hcsd__ports_plan(json_t *config, json_t *hc, json_t *in_use,
                     const char *ctr, json_t **policies, json_t **view,
                     char **errmsg) {
  *errmsg = NULL;
  plan_t p = {.in_use = in_use,
              .view = json_object(),
              .policies = json_array(),
              .ctr = ctr,
              .errmsg = errmsg};
  json_t *pb = json_object_get(hc, "PortBindings");
  bool all = json_is_true(json_object_get(hc, "PublishAllPorts"));
  int st = p.view == NULL || p.policies == NULL ? 500 : 0;
  st = st != 0 ? st : plan_bindings(&p, pb);
  st = st != 0 ? st
               : plan_exposed(&p, json_object_get(config, "ExposedPorts"), all);
  st = st != 0 ? st : plan_exposed(&p, pb, all);
  if (st != 0) {
    json_decref(p.view);
    json_decref(p.policies);
    *policies = *view = NULL;
    if (*errmsg == NULL) {
      *errmsg = strdup("out of memory");
    }
    return 500;
  }
  *policies = p.policies;
  *view = p.view;
  return 0;
}

json_t *hcsd_ports_list(json_t *view) {
  json_t *a = json_array();
  const char *k;
  json_t *arr;
  json_object_foreach(view, k, arr) {
    unsigned port;
    bool udp;
    if (!key_parse(k, &port, &udp)) {
      continue;
    }
    const char *type = udp ? "udp" : "tcp";
    if (json_array_size(arr) == 0) {
      json_array_append_new(
          a, json_pack("{s:i, s:s}", "PrivatePort", (int)port, "Type", type));
    }
    size_t i;
    json_t *b;
    json_array_foreach(arr, i, b) {
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      json_array_append_new(
          a, json_pack("{s:O, s:i, s:i, s:s}", "IP",
                       json_object_get(b, "HostIp"), "PrivatePort", (int)port,
                       "PublicPort", hp != NULL ? atoi(hp) : 0, "Type", type));
    }
  }
  return a;
}
