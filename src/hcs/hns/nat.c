/* SPDX-License-Identifier: MIT */
/* nftables rule sets of NAT networks, given to libnftables as ruleset
 * text (nft_run_cmd_from_buffer is the library's interface; no program is
 * run). A network's table, for bridge hcs0a1b2c3d and subnet
 * 10.0.0.0/24 with one mapping, reads:
 *
 *   table ip hcs0a1b2c3d {
 *     chain prerouting {  dnat of host-addressed traffic, from outside
 *       type nat hook prerouting priority -100; policy accept;
 *       fib daddr type local tcp dport 8080 dnat to 10.0.0.2:80
 *     }
 *     chain output {      the same for connections made on the host
 *       type nat hook output priority -100; policy accept;
 *       fib daddr type local tcp dport 8080 dnat to 10.0.0.2:80
 *     }
 *     chain postrouting {
 *       type nat hook postrouting priority 100; policy accept;
 *       ip saddr 10.0.0.0/24 oifname != "hcs0a1b2c3d" masquerade
 *       ip saddr 10.0.0.0/24 ip daddr 10.0.0.0/24 ct status dnat masquerade
 *       ip saddr 127.0.0.0/8 oifname "hcs0a1b2c3d" masquerade
 *     }
 *   }
 *
 * "fib daddr type local" limits the mappings to traffic addressed to the
 * host, so that an endpoint's own connections to port 8080 elsewhere pass
 * untouched. The second masquerade serves an endpoint that reaches another
 * through a host port (the answer must come back through the host); the
 * third, connections from the host's loopback (127.0.0.1:8080), which
 * would otherwise carry a source address the endpoint cannot answer. */
#include "hcs/hns/nat.h"

#include "hcs-async.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* libnftables keeps process-wide state behind its contexts (the
 * allocator of its bignum library, its caches of /etc files), so calls
 * from different services are serialised; one of the few documented
 * mutable globals of the library. */
static pthread_mutex_t nft_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct text_s {
  char *buf;
  size_t len, cap;
  int failed;
} text_t;

static void add(text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add(text_t *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = t->failed ? -1 : vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= t->cap - t->len) {
    t->failed = 1;
    return;
  }
  t->len += (size_t)n;
}

/* Runs ruleset text in one transaction; 0, or -EINVAL with nft's own
 * first line of complaint in why. */
static int nft_run(const char *text, char *why, size_t whylen) {
  pthread_mutex_lock(&nft_lock);
  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == NULL) {
    pthread_mutex_unlock(&nft_lock);
    snprintf(why, whylen, "nftables: cannot make a context");
    return -ENOMEM;
  }
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  int r = nft_run_cmd_from_buffer(ctx, text);
  if (r != 0) {
    const char *e = nft_ctx_get_error_buffer(ctx);
    size_t n = e != NULL ? strcspn(e, "\n") : 0;
    snprintf(why, whylen, "nftables: %.*s", (int)(n < 200 ? n : 200),
             n > 0 ? e : "refused the rules");
  }
  nft_ctx_free(ctx);
  pthread_mutex_unlock(&nft_lock);
  return r != 0 ? -EINVAL : 0;
}

static void chain_maps(text_t *t, const hcs__nat_spec_t *s, const char *name,
                       const char *hook) {
  add(t, "  chain %s {\n    type nat hook %s priority -100; policy accept;\n",
      name, hook);
  for (size_t i = 0; i < s->n_maps; i++) {
    const hcs__nat_map_t *m = &s->maps[i];
    char ip[HCS__IPV4_STRLEN];
    hcs__ipv4_format(m->ip, ip);
    add(t, "    fib daddr type local %s dport %u dnat to %s:%u\n",
        m->udp ? "udp" : "tcp", m->external_port, ip, m->internal_port);
  }
  add(t, "  }\n");
}

int hcs__nat_apply(const hcs__nat_spec_t *s, char *why, size_t whylen) {
  text_t t = {.cap = 1024 + 160 * s->n_subnets + 200 * s->n_maps};
  if ((t.buf = as_malloc(t.cap)) == NULL) {
    snprintf(why, whylen, "out of memory");
    return -ENOMEM;
  }
  /* "add" then "delete" makes the replacement work whether or not the
   * table is there (nft 1.0.6 has no "destroy"). */
  add(&t, "add table ip %s\ndelete table ip %s\ntable ip %s {\n", s->bridge,
      s->bridge, s->bridge);
  chain_maps(&t, s, "prerouting", "prerouting");
  chain_maps(&t, s, "output", "output");
  add(&t, "  chain postrouting {\n    type nat hook postrouting priority 100; "
          "policy accept;\n");
  for (size_t i = 0; i < s->n_subnets; i++) {
    char net[HCS__IPV4_STRLEN];
    hcs__ipv4_format(s->subnets[i].net, net);
    unsigned len = s->subnets[i].len;
    add(&t, "    ip saddr %s/%u oifname != \"%s\" masquerade\n", net, len,
        s->bridge);
    add(&t, "    ip saddr %s/%u ip daddr %s/%u ct status dnat masquerade\n",
        net, len, net, len);
  }
  add(&t, "    ip saddr 127.0.0.0/8 oifname \"%s\" masquerade\n  }\n}\n",
      s->bridge);
  int r = t.failed ? -ENOMEM : nft_run(t.buf, why, whylen);
  if (t.failed) {
    snprintf(why, whylen, "nftables: rule text larger than planned");
  }
  as_free(t.buf);
  return r;
}

int hcs__nat_remove(const char *bridge, char *why, size_t whylen) {
  char text[128];
  snprintf(text, sizeof(text), "add table ip %s\ndelete table ip %s\n", bridge,
           bridge);
  return nft_run(text, why, whylen);
}

static int write_sysctl(const char *path, char *why, size_t whylen) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  int r = fd >= 0 && write(fd, "1\n", 2) == 2 ? 0 : -errno;
  if (fd >= 0 && close(fd) != 0 && r == 0) {
    r = -errno;
  }
  if (r != 0) {
    snprintf(why, whylen, "writing 1 to %s: %s", path, strerror(-r));
  }
  return r;
}

int hcs__nat_sysctls(const char *bridge, char *why, size_t whylen) {
  char path[96];
  snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet",
           bridge);
  int r = write_sysctl("/proc/sys/net/ipv4/ip_forward", why, whylen);
  return r != 0 ? r : write_sysctl(path, why, whylen);
}
