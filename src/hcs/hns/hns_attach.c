/* SPDX-License-Identifier: MIT */
/* Endpoints joining compute systems. The p end of the pair moves into the
 * system's namespace under its new name in one rtnetlink request; what is
 * configured there (address, links up, route, QoS) goes through a netlink
 * socket made inside that namespace (hcs__nl_open_in), so no thread of the
 * host changes namespace. */
#include "hcs/hns/hns_attach.h"

#include "hcs/hns/hns_store.h"
#include "hcs/hns/qos.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int hcs__hns_endpoint_known(hcs_t *hcs, const char *endpoint_id) {
  hcs__hns_t *h = hcs->hns;
  if (endpoint_id == NULL) {
    return 0;
  }
  pthread_mutex_lock(&h->lock);
  int known = hcs__hns_ep_find(h, endpoint_id) != NULL;
  pthread_mutex_unlock(&h->lock);
  return known;
}

/* Configures the moved end inside the namespace. */
static int configure_inside(int nsfd, const hcs__hns_ep_t *ep,
                            const char *ifname, char *why, size_t whylen) {
  hcs__nl_t *nl = NULL;
  int r = hcs__nl_open_in(nsfd, &nl);
  if (r != 0) {
    snprintf(why, whylen, "rtnetlink socket in the namespace: %s",
             strerror(-r));
    return r;
  }
  const hcs__ipam_subnet_t *s = NULL;
  for (size_t i = 0; i < ep->net->n_subnets; i++) {
    if ((ep->ip & hcs__ipv4_mask(ep->net->subnets[i].len)) ==
        ep->net->subnets[i].net) {
      s = &ep->net->subnets[i];
    }
  }
  const char *step = "adding the address";
  r = s == NULL ? -EINVAL : hcs__nl_addr_add(nl, ifname, ep->ip, s->len);
  if (r == 0) {
    step = "setting the link up";
    r = hcs__nl_link_up(nl, ifname);
  }
  if (r == 0) {
    step = "setting lo up";
    r = hcs__nl_link_up(nl, "lo");
  }
  if (r == 0) {
    step = "adding the default route";
    r = hcs__nl_route_default(nl, s->gateway);
    r = r == -EEXIST ? 0 : r; /* another endpoint's came first */
  }
  if (r == 0 && ep->pub->qos_policy != NULL) {
    step = "setting the QoS cap (tbf)";
    r = hcs__qos_set(nl, ifname,
                     ep->pub->qos_policy->maximum_outgoing_bandwidth_in_bytes);
  }
  if (r != 0) {
    snprintf(why, whylen, "%s of %s in the namespace: %s", step, ifname,
             strerror(-r));
  }
  hcs__nl_close(nl);
  return r;
}

static int attach_locked(hcs__hns_t *h, hcs__hns_ep_t *ep, pid_t pid,
                         const char *ifname, char *why, size_t whylen) {
  hcs__nl_t *nl = NULL;
  int r = hcs__nl_open(&nl);
  if (r != 0) {
    snprintf(why, whylen, "rtnetlink socket: %s", strerror(-r));
    return r;
  }
  int host = hcs__nl_ifindex(nl, ep->host_if);
  if (ep->attached != 0 && host > 0) {
    snprintf(why, whylen, "endpoint %s is attached already%s", ep->pub->id,
             ep->attached > 0 ? "" : " (since before a restart)");
    hcs__nl_close(nl);
    return -EBUSY;
  }
  /* Not attached, or its namespace died: the pair is made whole, on a
   * bridge made again if it was deleted. */
  r = hcs__hns_net_mend(h, nl, ep->net, why, whylen);
  r = r == 0 ? hcs__hns_ep_pair(nl, ep, why, whylen) : r;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
  int nsfd = r == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  if (r == 0 && nsfd < 0) {
    r = -errno;
    snprintf(why, whylen, "open %s: %s", path, strerror(errno));
  }
  if (r == 0 && (r = hcs__nl_link_move(nl, ep->peer_if, nsfd, ifname)) != 0) {
    snprintf(why, whylen, "moving %s into the namespace of pid %d as %s: %s",
             ep->peer_if, (int)pid, ifname, strerror(-r));
  } else if (r == 0) {
    ep->attached = pid;
    r = configure_inside(nsfd, ep, ifname, why, whylen);
    if (r != 0) {
      char ignored[128];
      (void)hcs__hns_ep_pair(nl, ep, ignored, sizeof(ignored));
    }
  }
  if (nsfd >= 0) {
    close(nsfd);
  }
  hcs__nl_close(nl);
  return r;
}

int hcs__hns_attach(hcs_t *hcs, const char *endpoint_id, pid_t netns_pid,
                    const char *ifname, char *why, size_t whylen) {
  hcs__hns_t *h = hcs->hns;
  why[0] = '\0';
  if (endpoint_id == NULL || ifname == NULL || netns_pid <= 0 ||
      ifname[0] == '\0' || strlen(ifname) >= HCS__IFNAMSIZ) {
    snprintf(why, whylen, "attach: bad endpoint id, pid or link name");
    return -EINVAL;
  }
  pthread_mutex_lock(&h->lock);
  hcs__hns_ep_t *ep = hcs__hns_ep_find(h, endpoint_id);
  int r;
  if (ep == NULL) {
    snprintf(why, whylen, "no endpoint has id %s", endpoint_id);
    r = -ENOENT;
  } else {
    r = attach_locked(h, ep, netns_pid, ifname, why, whylen);
  }
  pthread_mutex_unlock(&h->lock);
  return r;
}

void hcs__hns_detach(hcs_t *hcs, const char *endpoint_id) {
  hcs__hns_t *h = hcs->hns;
  if (endpoint_id == NULL) {
    return;
  }
  pthread_mutex_lock(&h->lock);
  hcs__hns_ep_t *ep = hcs__hns_ep_find(h, endpoint_id);
  hcs__nl_t *nl = NULL;
  if (ep != NULL && hcs__nl_open(&nl) == 0) {
    char ignored[256];
    if (ep->attached != 0) {
      /* The p end is in the system's namespace, or went with it. */
      (void)hcs__nl_link_del(nl, ep->host_if);
    }
    (void)hcs__hns_net_mend(h, nl, ep->net, ignored, sizeof(ignored));
    (void)hcs__hns_ep_pair(nl, ep, ignored, sizeof(ignored));
    hcs__nl_close(nl);
  }
  pthread_mutex_unlock(&h->lock);
}

static int append(char *buf, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char *buf, size_t n, size_t *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(buf + *len, n - *len, fmt, ap);
  va_end(ap);
  if (w < 0 || (size_t)w >= n - *len) {
    return -ENOSPC;
  }
  *len += (size_t)w;
  return 0;
}

/* One "nameserver A" line per item of servers; "search D1 D2" for the
 * items of suffixes. Both lists were checked when the endpoint was made:
 * comma-separated, no spaces or newlines. */
static int resolv_text(const hcs_hns_endpoint_t *e, char *buf, size_t n) {
  size_t len = 0;
  int r = 0;
  for (const char *p = e->dns_server_list; r == 0 && p != NULL;) {
    size_t item = strcspn(p, ",");
    r = append(buf, n, &len, "nameserver %.*s\n", (int)item, p);
    p = p[item] == ',' ? p + item + 1 : NULL;
  }
  if (r == 0 && e->dns_suffix != NULL) {
    r = append(buf, n, &len, "search");
    for (const char *p = e->dns_suffix; r == 0 && p != NULL;) {
      size_t item = strcspn(p, ",");
      r = append(buf, n, &len, " %.*s", (int)item, p);
      p = p[item] == ',' ? p + item + 1 : NULL;
    }
    r = r == 0 ? append(buf, n, &len, "\n") : r;
  }
  return r;
}

int hcs__hns_resolv_conf(hcs_t *hcs, const char *endpoint_id, char *buf,
                         size_t n) {
  hcs__hns_t *h = hcs->hns;
  if (n == 0) {
    return -ENOSPC;
  }
  buf[0] = '\0';
  pthread_mutex_lock(&h->lock);
  hcs__hns_ep_t *ep =
      endpoint_id != NULL ? hcs__hns_ep_find(h, endpoint_id) : NULL;
  int r = ep == NULL ? -ENOENT : resolv_text(ep->pub, buf, n);
  pthread_mutex_unlock(&h->lock);
  if (r != 0) {
    buf[0] = '\0';
  }
  return r;
}
