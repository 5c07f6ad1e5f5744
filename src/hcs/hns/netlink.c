/* SPDX-License-Identifier: MIT */
/* rtnetlink requests through libmnl. Each request asks for an ack, so a
 * call returns only once the kernel has applied it (or said why not);
 * answers are read into a buffer large enough for a whole dump batch. */
#include "hcs/hns/netlink.h"

#include "hcs-async.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct hcs__nl_s {
  struct mnl_socket *sock;
  unsigned portid;
  uint32_t seq;
  char req[8192];
  char answer[32768]; /* a dump batch: libmnl's MNL_SOCKET_DUMP_SIZE */
};

static int nl_wrap(struct mnl_socket *sock, hcs__nl_t **out) {
  hcs__nl_t *nl = as_malloc(sizeof(*nl));
  if (nl == NULL) {
    mnl_socket_close(sock);
    return -ENOMEM;
  }
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(sock);
    as_free(nl);
    return -e;
  }
  nl->sock = sock;
  nl->portid = mnl_socket_get_portid(sock);
  nl->seq = 0;
  *out = nl;
  return 0;
}

int hcs__nl_open(hcs__nl_t **out) {
  struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (sock == NULL) {
    return -errno;
  }
  return nl_wrap(sock, out);
}

typedef struct ns_socket_s {
  int nsfd;
  int result; /* the socket, or -errno */
} ns_socket_t;

/* Runs on a thread of its own: the namespace change dies with it. */
static void *ns_socket_main(void *arg) {
  ns_socket_t *a = arg;
  if (setns(a->nsfd, CLONE_NEWNET) != 0) {
    a->result = -errno;
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  a->result = fd >= 0 ? fd : -errno;
  return NULL;
}

int hcs__nl_open_in(int nsfd, hcs__nl_t **out) {
  ns_socket_t a = {.nsfd = nsfd, .result = -EIO};
  pthread_t t;
  int r = pthread_create(&t, NULL, ns_socket_main, &a);
  if (r != 0) {
    return -r;
  }
  pthread_join(t, NULL);
  if (a.result < 0) {
    return a.result;
  }
  struct mnl_socket *sock = mnl_socket_fdopen(a.result);
  if (sock == NULL) {
    int e = errno;
    close(a.result);
    return -e;
  }
  return nl_wrap(sock, out);
}

void hcs__nl_close(hcs__nl_t *nl) {
  if (nl != NULL) {
    mnl_socket_close(nl->sock);
    as_free(nl);
  }
}

struct nlmsghdr *hcs__nl_request(hcs__nl_t *nl, uint16_t type, uint16_t flags) {
  struct nlmsghdr *h = mnl_nlmsg_put_header(nl->req);
  h->nlmsg_type = type;
  h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
  h->nlmsg_seq = ++nl->seq;
  return h;
}

int hcs__nl_talk(hcs__nl_t *nl, struct nlmsghdr *req, hcs__nl_cb cb,
                 void *data) {
  if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0) {
    return -errno;
  }
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl->sock, nl->answer, sizeof(nl->answer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -errno;
    }
    errno = 0;
    int r =
        mnl_cb_run(nl->answer, (size_t)n, req->nlmsg_seq, nl->portid, cb, data);
    if (r == MNL_CB_ERROR) {
      return errno != 0 ? -errno : -EIO;
    }
    if (r == MNL_CB_STOP) {
      return 0;
    }
  }
}

static int name_ok(const char *name) {
  return name != NULL && name[0] != '\0' && strlen(name) < HCS__IFNAMSIZ;
}

static struct ifinfomsg *link_header(struct nlmsghdr *h, int index) {
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = index;
  return ifm;
}

static int index_cb(const struct nlmsghdr *nlh, void *data) {
  if (nlh->nlmsg_type == RTM_NEWLINK) {
    const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
    *(int *)data = ifm->ifi_index;
  }
  return MNL_CB_OK;
}

/* Asks for link name, the answer going to cb. */
static int link_get(hcs__nl_t *nl, const char *name, hcs__nl_cb cb,
                    void *data) {
  if (!name_ok(name)) {
    return -EINVAL;
  }
  struct nlmsghdr *h = hcs__nl_request(nl, RTM_GETLINK, 0);
  link_header(h, 0);
  mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  return hcs__nl_talk(nl, h, cb, data);
}

int hcs__nl_ifindex(hcs__nl_t *nl, const char *name) {
  int index = 0;
  int r = link_get(nl, name, index_cb, &index);
  return r < 0 ? r : index > 0 ? index : -ENODEV;
}

static int master_cb(const struct nlmsghdr *nlh, void *data) {
  if (nlh->nlmsg_type != RTM_NEWLINK) {
    return MNL_CB_OK;
  }
  struct nlattr *a;
  mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
    if (mnl_attr_get_type(a) == IFLA_MASTER &&
        mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
      *(int *)data = (int)mnl_attr_get_u32(a);
    }
  }
  return MNL_CB_OK;
}

int hcs__nl_link_master(hcs__nl_t *nl, const char *name) {
  int master = 0;
  int r = link_get(nl, name, master_cb, &master);
  return r < 0 ? r : master;
}

int hcs__nl_bridge_add(hcs__nl_t *nl, const char *name) {
  if (!name_ok(name)) {
    return -EINVAL;
  }
  struct nlmsghdr *h =
      hcs__nl_request(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  link_header(h, 0);
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(h, info);
  return hcs__nl_talk(nl, h, NULL, NULL);
}

int hcs__nl_veth_add(hcs__nl_t *nl, const char *name, const char *peer,
                     const uint8_t mac[6]) {
  if (!name_ok(name) || !name_ok(peer)) {
    return -EINVAL;
  }
  struct nlmsghdr *h =
      hcs__nl_request(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  link_header(h, 0);
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
  /* The peer is described by an ifinfomsg and its own attributes. */
  struct nlattr *p = mnl_attr_nest_start(h, VETH_INFO_PEER);
  link_header(h, 0);
  mnl_attr_put_strz(h, IFLA_IFNAME, peer);
  mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
  mnl_attr_nest_end(h, p);
  mnl_attr_nest_end(h, data);
  mnl_attr_nest_end(h, info);
  return hcs__nl_talk(nl, h, NULL, NULL);
}

int hcs__nl_link_del(hcs__nl_t *nl, const char *name) {
  if (!name_ok(name)) {
    return -EINVAL;
  }
  struct nlmsghdr *h = hcs__nl_request(nl, RTM_DELLINK, 0);
  link_header(h, 0);
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  return hcs__nl_talk(nl, h, NULL, NULL);
}

int hcs__nl_link_enslave(hcs__nl_t *nl, const char *name, const char *master) {
  int index = hcs__nl_ifindex(nl, name);
  int mindex = index > 0 ? hcs__nl_ifindex(nl, master) : index;
  if (mindex < 0) {
    return mindex;
  }
  struct nlmsghdr *h = hcs__nl_request(nl, RTM_NEWLINK, 0);
  struct ifinfomsg *ifm = link_header(h, index);
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)mindex);
  return hcs__nl_talk(nl, h, NULL, NULL);
}

int hcs__nl_link_up(hcs__nl_t *nl, const char *name) {
  int index = hcs__nl_ifindex(nl, name);
  if (index < 0) {
    return index;
  }
  struct nlmsghdr *h = hcs__nl_request(nl, RTM_NEWLINK, 0);
  struct ifinfomsg *ifm = link_header(h, index);
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  return hcs__nl_talk(nl, h, NULL, NULL);
}

int hcs__nl_link_move(hcs__nl_t *nl, const char *name, int nsfd,
                      const char *newname) {
  if (!name_ok(newname)) {
    return -EINVAL;
  }
  int index = hcs__nl_ifindex(nl, name);
  if (index < 0) {
    return index;
  }
  /* With IFLA_NET_NS_FD, IFLA_IFNAME is the name in the new namespace:
   * moved and renamed in one step, so it never clashes with a host link
   * of the same name. */
  struct nlmsghdr *h = hcs__nl_request(nl, RTM_NEWLINK, 0);
  link_header(h, index);
  mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)nsfd);
  mnl_attr_put_strz(h, IFLA_IFNAME, newname);
  return hcs__nl_talk(nl, h, NULL, NULL);
}

int hcs__nl_addr_add(hcs__nl_t *nl, const char *name, uint32_t addr,
                     unsigned len) {
  int index = hcs__nl_ifindex(nl, name);
  if (index < 0) {
    return index;
  }
  struct nlmsghdr *h =
      hcs__nl_request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)len;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (unsigned)index;
  mnl_attr_put_u32(h, IFA_LOCAL, htonl(addr));
  mnl_attr_put_u32(h, IFA_ADDRESS, htonl(addr));
  if (len <= 30) {
    uint32_t bcast = addr | (len == 0 ? UINT32_MAX : UINT32_MAX >> len);
    mnl_attr_put_u32(h, IFA_BROADCAST, htonl(bcast));
  }
  return hcs__nl_talk(nl, h, NULL, NULL);
}

int hcs__nl_route_default(hcs__nl_t *nl, uint32_t gw) {
  struct nlmsghdr *h =
      hcs__nl_request(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(h, RTA_GATEWAY, htonl(gw));
  return hcs__nl_talk(nl, h, NULL, NULL);
}

typedef struct overlap_s {
  uint32_t net;
  unsigned len;
  int found;
  uint32_t oif;
} overlap_t;

static int route_attr_cb(const struct nlattr *a, void *data) {
  const struct nlattr **tb = data;
  int type = mnl_attr_get_type(a);
  if (type <= RTA_MAX && mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
    tb[type] = a;
  }
  return MNL_CB_OK;
}

static int overlap_cb(const struct nlmsghdr *nlh, void *data) {
  overlap_t *o = data;
  const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
  const struct nlattr *tb[RTA_MAX + 1] = {NULL};
  if (nlh->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET ||
      rt->rtm_dst_len == 0 || rt->rtm_type != RTN_UNICAST || o->found) {
    return MNL_CB_OK;
  }
  mnl_attr_parse(nlh, sizeof(*rt), route_attr_cb, tb);
  uint32_t table =
      tb[RTA_TABLE] != NULL ? mnl_attr_get_u32(tb[RTA_TABLE]) : rt->rtm_table;
  if (table != RT_TABLE_MAIN || tb[RTA_DST] == NULL) {
    return MNL_CB_OK;
  }
  uint32_t dst = ntohl(mnl_attr_get_u32(tb[RTA_DST]));
  unsigned len = rt->rtm_dst_len, min = len < o->len ? len : o->len;
  uint32_t mask = min == 0 ? 0 : UINT32_MAX << (32 - min);
  if (((dst ^ o->net) & mask) == 0) {
    o->found = 1;
    o->oif = tb[RTA_OIF] != NULL ? mnl_attr_get_u32(tb[RTA_OIF]) : 0;
  }
  return MNL_CB_OK;
}

static int name_cb(const struct nlmsghdr *nlh, void *data) {
  char *dev = data;
  if (nlh->nlmsg_type != RTM_NEWLINK) {
    return MNL_CB_OK;
  }
  struct nlattr *a;
  mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
    if (mnl_attr_get_type(a) == IFLA_IFNAME &&
        mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0) {
      snprintf(dev, HCS__IFNAMSIZ, "%s", mnl_attr_get_str(a));
    }
  }
  return MNL_CB_OK;
}

int hcs__nl_route_overlap(hcs__nl_t *nl, uint32_t net, unsigned len,
                          char dev[HCS__IFNAMSIZ]) {
  struct nlmsghdr *h = hcs__nl_request(nl, RTM_GETROUTE, NLM_F_DUMP);
  struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
  rt->rtm_family = AF_INET;
  overlap_t o = {.net = net, .len = len};
  int r = hcs__nl_talk(nl, h, overlap_cb, &o);
  dev[0] = '\0';
  if (r < 0 || !o.found) {
    return r < 0 ? r : 0;
  }
  if (o.oif != 0) {
    h = hcs__nl_request(nl, RTM_GETLINK, 0);
    link_header(h, (int)o.oif);
    mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    (void)hcs__nl_talk(nl, h, name_cb, dev);
  }
  return 1;
}
