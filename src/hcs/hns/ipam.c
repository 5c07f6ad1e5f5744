/* SPDX-License-Identifier: MIT */
/* Address and MAC syntax, and the allocators behind HNS endpoints. An
 * allocation takes the lowest free value, so that a freed address is the
 * next one handed out and a pool's use is easy to read. */
#include "hcs/hns/ipam.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hcs__ipv4_parse(const char *s, uint32_t *out) {
  struct in_addr a;
  if (s == NULL || inet_pton(AF_INET, s, &a) != 1) {
    return 0;
  }
  *out = ntohl(a.s_addr);
  return 1;
}

void hcs__ipv4_format(uint32_t a, char out[HCS__IPV4_STRLEN]) {
  snprintf(out, HCS__IPV4_STRLEN, "%u.%u.%u.%u", a >> 24, a >> 16 & 255,
           a >> 8 & 255, a & 255);
}

uint32_t hcs__ipv4_mask(unsigned len) {
  return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

const char *hcs__ipv4_prefix_parse(const char *s, uint32_t *net,
                                   unsigned *len) {
  static const char syntax[] = "is not an IPv4 prefix (a.b.c.d/n, n 0-32)";
  const char *slash = strchr(s, '/');
  char addr[INET_ADDRSTRLEN];
  if (slash == NULL || (size_t)(slash - s) >= sizeof(addr)) {
    return syntax;
  }
  memcpy(addr, s, (size_t)(slash - s));
  addr[slash - s] = '\0';
  const char *d = slash + 1;
  size_t nd = strlen(d);
  if (!hcs__ipv4_parse(addr, net) || nd == 0 || nd > 2 ||
      strspn(d, "0123456789") != nd || (nd == 2 && d[0] == '0')) {
    return syntax;
  }
  *len = (unsigned)strtoul(d, NULL, 10);
  if (*len > 32) {
    return syntax;
  }
  if ((*net & ~hcs__ipv4_mask(*len)) != 0) {
    return "has host bits set";
  }
  return NULL;
}

int hcs__ipv4_overlap(uint32_t n1, unsigned l1, uint32_t n2, unsigned l2) {
  unsigned len = l1 < l2 ? l1 : l2;
  return ((n1 ^ n2) & hcs__ipv4_mask(len)) == 0;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = (char)tolower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int hcs__mac_parse(const char *s, uint64_t *out) {
  if (s == NULL || strlen(s) != 17 || (s[2] != '-' && s[2] != ':')) {
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < 6; i++) {
    const char *p = s + 3 * i;
    int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
    if (hi < 0 || lo < 0 || (i < 5 && p[2] != s[2])) {
      return 0;
    }
    v = v << 8 | (uint64_t)(hi << 4 | lo);
  }
  /* The group bit is the low bit of the first octet. */
  if (v == 0 || (v >> 40 & 1) != 0) {
    return 0;
  }
  *out = v;
  return 1;
}

void hcs__mac_bytes(uint64_t m, uint8_t out[6]) {
  for (int i = 0; i < 6; i++) {
    out[i] = (uint8_t)(m >> (40 - 8 * i));
  }
}

void hcs__mac_format(uint64_t m, char out[HCS__MAC_STRLEN]) {
  uint8_t b[6];
  hcs__mac_bytes(m, b);
  snprintf(out, HCS__MAC_STRLEN, "%02X-%02X-%02X-%02X-%02X-%02X", b[0], b[1],
           b[2], b[3], b[4], b[5]);
}

uint32_t hcs__ipam_first_host(uint32_t net, unsigned len) {
  return len >= 31 ? net : net + 1;
}

static uint32_t broadcast_of(const hcs__ipam_subnet_t *s) {
  return s->net | ~hcs__ipv4_mask(s->len);
}

int hcs__ipam_usable(const hcs__ipam_subnet_t *s, uint32_t a) {
  return (a & hcs__ipv4_mask(s->len)) == s->net && a != s->net &&
         a != broadcast_of(s) && a != s->gateway;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Walks the candidates of [first, last] in order beside the sorted used
 * list, so a subnet costs its size plus the list, never their product. */
int hcs__ipam_ip_pick(const hcs__ipam_subnet_t *s, size_t ns, uint32_t *used,
                      size_t nused, uint32_t *out, size_t *which) {
  if (nused > 0) {
    qsort(used, nused, sizeof(*used), cmp_u32);
  }
  for (size_t i = 0; i < ns; i++) {
    uint64_t a = s[i].net, last = broadcast_of(&s[i]);
    size_t u = 0;
    for (; a <= last; a++) {
      while (u < nused && used[u] < a) {
        u++;
      }
      if ((u < nused && used[u] == a) ||
          !hcs__ipam_usable(&s[i], (uint32_t)a)) {
        continue;
      }
      *out = (uint32_t)a;
      *which = i;
      return 0;
    }
  }
  return -ENOSPC;
}

int hcs__ipam_mac_pick(const hcs__ipam_pool_t *p, size_t np, uint64_t *used,
                       size_t nused, uint64_t *out) {
  if (nused > 0) {
    qsort(used, nused, sizeof(*used), cmp_u64);
  }
  for (size_t i = 0; i < np; i++) {
    size_t u = 0;
    uint64_t m = p[i].first;
    while (m <= p[i].last) {
      /* A pool may span multicast first octets: each is jumped whole. */
      if ((m >> 40 & 1) != 0) {
        m = ((m >> 40) + 1) << 40;
        continue;
      }
      while (u < nused && used[u] < m) {
        u++;
      }
      if (u >= nused || used[u] != m) {
        *out = m;
        return 0;
      }
      m++;
    }
  }
  return -ENOSPC;
}

uint64_t hcs__ipam_mac_of_ip(uint32_t ip) {
  return (uint64_t)0x0215 << 32 | ip;
}
